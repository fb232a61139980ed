/* mobicl — command line. `mobicl info` lists the OpenCL platforms and
 * devices with what the kernels care about; `mobicl run` builds, plans and
 * runs a network (tools/run.c); `mobicl tune` tunes kernels into a tuning
 * database (tools/tune.c). */
#include "mobicl.h"
#include "run.h"
#include "tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: mobicl <command>\n"
               "commands:\n"
               "  run       build, plan and run a network: mobicl run --model shufflenet_v2_x1_0 (--help for options)\n"
               "  tune      tune kernel parameters into a tuning database: mobicl tune --model shufflenet_v2_x1_0 --budget 60s\n"
               "  bench     per-block latency table for architecture search: mobicl bench --lut --out lut.csv;\n"
               "            mobicl bench --predict mnasnet1_0 --table lut.csv compares its sum with the measured network\n"
               "  info      list OpenCL platforms and devices, and the device mobicl picks\n"
               "  version   print the library version\n"
               "environment: MOBICL_DEVICE=<index|name substring> picks the device;\n"
               "             MOBICL_TUNING_DB=FILE is the tuning database contexts load\n");
}

static int cmd_info(void)
{
    size_t n = 0;
    mcl_status st = mcl_device_list(NULL, 0, &n);
    if (st != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl info: %s\n", mcl_last_error());
        return 1;
    }
    mcl_device_info *d = calloc(n ? n : 1, sizeof *d);
    if (!d || mcl_device_list(d, n, &n) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl info: %s\n", d ? mcl_last_error() : "out of memory");
        free(d);
        return 1;
    }
    printf("mobicl %s: %zu OpenCL device(s)\n", MCL_VERSION_STRING, n);
    for (size_t i = 0; i < n; i++) {
        printf("\n[%zu] %s\n", i, d[i].name);
        printf("    platform            %u: %s\n", d[i].platform_index, d[i].platform_name);
        printf("    vendor              %s\n", d[i].vendor);
        printf("    type                %s\n", d[i].is_gpu ? "GPU" : "other (CPU/accelerator)");
        printf("    device version      %s\n", d[i].device_version);
        printf("    driver version      %s\n", d[i].driver_version);
        printf("    OpenCL C            %s\n", d[i].opencl_c_version);
        printf("    compute units       %u @ %u MHz\n", d[i].compute_units, d[i].max_clock_mhz);
        printf("    max work-group      %zu (item sizes %zu x %zu x %zu)\n", d[i].max_work_group_size,
               d[i].max_work_item_sizes[0], d[i].max_work_item_sizes[1], d[i].max_work_item_sizes[2]);
        printf("    local memory        %llu KiB\n", (unsigned long long)(d[i].local_mem_bytes / 1024));
        printf("    global memory       %llu MiB (max alloc %llu MiB)\n",
               (unsigned long long)(d[i].global_mem_bytes >> 20), (unsigned long long)(d[i].max_alloc_bytes >> 20));
        printf("    fp16                %s\n", d[i].has_fp16 ? "yes" : "no");
        printf("    images              %s\n", d[i].has_images ? "yes" : "no");
        printf("    float vector width  %u (preferred)\n", d[i].preferred_vector_width_float);
    }
    free(d);
    mcl_context *ctx = NULL;
    mcl_context_options opt = {0};
    if (mcl_context_create(&opt, &ctx) != MCL_STATUS_OK) {
        fprintf(stderr, "mobicl info: cannot create a context: %s\n", mcl_last_error());
        return 1;
    }
    const mcl_device_info *ci = mcl_context_device_info(ctx);
    printf("\nselected: [%u] %s, channel block %u\n", ci->device_index, ci->name, mcl_context_block(ctx));
    mcl_context_destroy(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "info"))
        return cmd_info();
    if (!strcmp(argv[1], "run"))
        return mcl_cli_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "tune"))
        return mcl_cli_tune(argc - 2, argv + 2);
    if (!strcmp(argv[1], "bench"))
        return mcl_cli_bench(argc - 2, argv + 2);
    if (!strcmp(argv[1], "version")) {
        printf("mobicl %s\n", MCL_VERSION_STRING);
        return 0;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "mobicl: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
