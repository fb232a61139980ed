/* libFuzzer harness: the ONNX importer (mcl_onnx_load_memory in
 * graph/onnx.c) on arbitrary bytes: protobuf decoding, graph checks, shape
 * folding. No OpenCL device needed (loading builds a graph only). External
 * data is disabled (base_dir NULL): the fuzzer must not read files. */
#include "mobicl_onnx.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcl_graph *g = NULL;
    mcl_status st = mcl_onnx_load_memory(data, size, NULL, NULL, &g);
    if (st == MCL_STATUS_OK && !g)
        __builtin_trap();
    if (st != MCL_STATUS_OK && g)
        __builtin_trap();
    mcl_graph_destroy(g);
    return 0;
}
