/* Subcommands of the mobicl command line. */
#ifndef MOBICL_TOOLS_RUN_H
#define MOBICL_TOOLS_RUN_H

/* `mobicl run ARGS...` (argv after "run"); returns the exit status. */
int mcl_cli_run(int argc, char **argv);
/* `mobicl bench ARGS...` (tools/bench.c). */
int mcl_cli_bench(int argc, char **argv);

#endif
