/* OpenCL fault injection and object tracking for tests (host/clapi.h seam).
 *
 * fi_install() replaces the library's OpenCL function table with wrappers
 * over the real one. Every call through the table is numbered 1, 2, ...
 * (over all functions); fi_arm(n) makes call n fail with an error that
 * function can really return (clCreateBuffer: CL_MEM_OBJECT_ALLOCATION_FAILURE,
 * clBuildProgram: CL_BUILD_PROGRAM_FAILURE, clEnqueue*: CL_OUT_OF_RESOURCES
 * or CL_INVALID_COMMAND_QUEUE, clCreateContext: CL_OUT_OF_HOST_MEMORY, ...).
 * A failing create returns NULL and creates nothing; a failing clFinish or
 * clWaitForEvents still waits (no work is left in flight); a failing release
 * still releases (a destructor's error cannot be acted on; counting it as
 * a leak would blame the library for the injector).
 *
 * Every OpenCL object handed out (context, queue, program, kernel, mem,
 * event: creates, retains and the events of enqueues) is tracked with its
 * reference count, so a test can check that everything created was
 * released (fi_live() == 0) and that nothing was released more often than
 * it was created or retained (fi_bad_releases() == 0).
 *
 * Thread-safe (one mutex): the thread tests use the tracker too. */
#ifndef MOBICL_TEST_FAULTINJ_H
#define MOBICL_TEST_FAULTINJ_H

#include <stddef.h>

#include "mobicl.h"

typedef enum fi_kind { FI_CONTEXT, FI_QUEUE, FI_PROGRAM, FI_KERNEL, FI_MEM, FI_EVENT, FI_KINDS } fi_kind;

/* Install the wrappers (NULL table: returns -1 and leaves things as they
 * were). fi_uninstall restores the real table. */
int fi_install(void);
void fi_uninstall(void);

/* Counters and the armed failure to zero; the tracked objects are kept
 * (call fi_forget to drop them, e.g. after a test leaked on purpose). */
void fi_reset(void);
void fi_forget(void);
/* Fail call number n (1-based; 0 = none). */
void fi_arm(long n);
/* Calls made since fi_reset. */
long fi_calls(void);
/* Calls of one function (by name, e.g. "clCreateBuffer") since fi_reset. */
long fi_calls_of(const char *fn);
/* While paused, calls are neither numbered nor failed (objects are still
 * tracked): for a test's own checks between the steps it sweeps. */
void fi_pause(int on);
/* Poison mode (off by default): every buffer created without host data
 * starts filled with NaN bit patterns (0xffffffff) instead of whatever
 * memory it got, so a kernel that reads memory nothing wrote (a padding
 * lane, a tail past a tensor's end) turns a checked output into NaN. */
void fi_poison(int on);
/* Record which function each call is (off by default); fi_trace_fn(i)
 * names call i (1-based) since fi_reset, "" if not recorded. */
void fi_trace(int on);
const char *fi_trace_fn(long call);
/* Whether the armed call happened, and which function it was / its error. */
int fi_fired(void);
const char *fi_fired_fn(void);
cl_int fi_fired_error(void);

/* Live objects (references held) of a kind, or of all kinds. */
long fi_live(fi_kind k);
long fi_live_total(void);
/* Objects created (not retains) of a kind since fi_reset. */
long fi_created(fi_kind k);
/* Releases of handles that were not live (double releases, foreign ones). */
long fi_bad_releases(void);
const char *fi_kind_name(fi_kind k);
/* "mem 3, kernel 1" for the live objects ("" if none). */
void fi_describe_live(char *buf, size_t n);

#endif
