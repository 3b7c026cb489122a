/* failalloc.c - malloc, calloc, realloc and free replaced for the whole test binary (glibc
 * allows it: they call __libc_*), failing the Nth allocation call and tracking each block handed
 * out with its caller, so that a test can count what a call left behind. Not under
 * AddressSanitizer, which owns the allocator (test_allocfail skips itself there). */
#include "failalloc.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef NO_INTERPOSE

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);

static int tracking;        /* record the blocks handed out (their frees are always seen) */
static long calls, fail_at; /* count allocation calls; the fail_at-th fails (0: none) */
static long live;           /* tracked blocks not freed yet */
#define TRACK_SLOTS (1 << 17)
static void *slot[TRACK_SLOTS];
static void *caller[TRACK_SLOTS]; /* who allocated it: named when it leaks */
#define TOMB ((void *)1)

static size_t hash_ptr(void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 2654435761u) & (TRACK_SLOTS - 1);
}

static void track(void *p, void *by)
{
    if (!tracking || !p)
        return;
    for (size_t i = hash_ptr(p), k = 0; k < TRACK_SLOTS; i = (i + 1) & (TRACK_SLOTS - 1), k++)
        if (!slot[i] || slot[i] == TOMB) {
            slot[i] = p;
            caller[i] = by;
            live++;
            return;
        }
    abort(); /* the table is full: make it larger */
}

static bool untrack(void *p)
{
    if (!p || !live)
        return false;
    for (size_t i = hash_ptr(p), k = 0; k < TRACK_SLOTS && slot[i];
         i = (i + 1) & (TRACK_SLOTS - 1), k++)
        if (slot[i] == p) {
            slot[i] = TOMB;
            live--;
            return true;
        }
    return false;
}

static bool should_fail(void)
{
    if (!fail_at)
        return false;
    return ++calls == fail_at;
}

void *malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __libc_malloc(n);
    track(p, __builtin_return_address(0));
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __libc_calloc(n, size);
    track(p, __builtin_return_address(0));
    return p;
}

void *realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    void *q = __libc_realloc(p, n);
    if (q || !n) {
        bool was = untrack(p);
        if (q && (was || !p))
            track(q, __builtin_return_address(0));
    }
    return q;
}

void free(void *p)
{
    untrack(p);
    __libc_free(p);
}

void failalloc_start(long n)
{
    memset(slot, 0, sizeof(slot));
    live = 0;
    tracking = 1;
    calls = 0;
    fail_at = n;
}

long failalloc_stop_failing(void)
{
    fail_at = 0;
    return calls;
}

long failalloc_stop_tracking(void)
{
    tracking = 0;
    return live;
}

void failalloc_track_again(void)
{
    tracking = 1;
}

bool failalloc_print_live(FILE *f)
{
    bool ours = false;
    for (size_t i = 0; i < TRACK_SLOTS; i++)
        if (slot[i] && slot[i] != TOMB) {
            Dl_info di;
            bool found = dladdr(caller[i], &di);
            const char *obj = found && di.dli_fname ? strrchr(di.dli_fname, '/') : NULL;
            ours |= !obj || !strstr(obj, ".so");
            fprintf(f, " %s in %s", found && di.dli_sname ? di.dli_sname : "?",
                    obj ? obj + 1 : "?");
        }
    return ours;
}
#endif
