/* libFuzzer harness: the tuning database parser (mcl_tunedb_parse in
 * host/tunedb.c) on arbitrary bytes. No OpenCL device needed. */
#include "internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mcl_tunedb *db = NULL;
    char why[256];
    mcl_status st = mcl_tunedb_parse((const char *)data, size, &db, why, sizeof why);
    if (st == MCL_STATUS_OK) {
        if (!db)
            __builtin_trap(); /* success must yield a database */
        /* touch every entry: keys are NUL-terminated strings */
        for (size_t i = 0; i < db->n; i++)
            if (strlen(db->e[i].key) > size)
                __builtin_trap();
        mcl_tunedb_free(db);
    } else if (db) {
        __builtin_trap(); /* failure must leave *db NULL */
    }
    return 0;
}
