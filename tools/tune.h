/* `mobicl tune`: the autotuner's command line (tools/tune.c). */
#ifndef MOBICL_TOOLS_TUNE_H
#define MOBICL_TOOLS_TUNE_H

/* `mobicl tune ARGS...` (argv after "tune"); returns the exit status. */
int mcl_cli_tune(int argc, char **argv);

#endif
