/* A minimal stand-in for <criterion/criterion.h>, for running a test file
 * under ThreadSanitizer (Criterion's own runner crashes in a TSan process):
 * Test() registers the function, cr_assert prints the message and exits 1,
 * and main() runs every test of the file in order, in-process. Used only by
 * the ThreadSanitizer command in README.md ("Reliability checks"); it
 * supports what tests/test_threads.c uses. */
#ifndef MOBICL_TSAN_CRITERION_H
#define MOBICL_TSAN_CRITERION_H
#include <stdio.h>
#include <stdlib.h>

typedef void (*shim_fn)(void);
static struct {
    const char *name;
    shim_fn fn;
} shim_tests[64];
static int shim_count;

static void shim_register(const char *name, shim_fn fn)
{
    if (shim_count < 64) {
        shim_tests[shim_count].name = name;
        shim_tests[shim_count++].fn = fn;
    }
}

int main(void)
{
    for (int i = 0; i < shim_count; i++) {
        fprintf(stderr, "[RUN ] %s\n", shim_tests[i].name);
        shim_tests[i].fn();
        fprintf(stderr, "[ OK ] %s\n", shim_tests[i].name);
    }
    fprintf(stderr, "%d tests passed\n", shim_count);
    return 0;
}

#define SHIM_CAT_(a, b) a##b
#define SHIM_CAT(a, b) SHIM_CAT_(a, b)
#define Test(suite, name, ...)                                                    \
    static void SHIM_CAT(suite##_, name)(void);                                   \
    __attribute__((constructor)) static void SHIM_CAT(reg_##suite##_, name)(void) \
    {                                                                             \
        shim_register(#suite "/" #name, SHIM_CAT(suite##_, name));                \
    }                                                                             \
    static void SHIM_CAT(suite##_, name)(void)
#define cr_assert(cond, ...)                                                             \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: assertion failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, "" __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                       \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)
#define cr_expect cr_assert
#define cr_log_warn(...) (fprintf(stderr, __VA_ARGS__), fprintf(stderr, "\n"))
#endif
