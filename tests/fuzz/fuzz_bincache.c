/* libFuzzer harness: the on-disk program binary cache entry validator
 * (mcl_bincache_parse in host/program.c, the check disk_load runs before
 * handing a payload to the driver). No OpenCL device needed. The key the
 * entry must match is taken from the input's header when it is long
 * enough, so that the fuzzer reaches the size and checksum checks. */
#include "internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t key[2] = {0x1234, 0x5678};
    if (size >= 24)
        memcpy(key, data + 8, sizeof key);
    /* an exact-size heap copy: ASan flags any read past the end */
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    const unsigned char *payload = NULL;
    size_t payload_size = 0;
    const char *why = mcl_bincache_parse(buf, size, key[0], key[1], &payload, &payload_size);
    if (!why) {
        if (!payload || payload < buf || payload_size > size || payload + payload_size != buf + size)
            __builtin_trap(); /* the payload must be the tail of the buffer */
    } else if (payload || payload_size) {
        __builtin_trap();
    }
    free(buf);
    return 0;
}
