/* failalloc.h - an allocator that fails the Nth call and counts the blocks still live (test code
 * only; linked into test_allocfail alone: it replaces malloc & co. for the whole binary). */
#ifndef FAILALLOC_H
#define FAILALLOC_H

#include <stdbool.h>
#include <stdio.h>

/* Under AddressSanitizer (which owns malloc) nothing is interposed: the run skips itself. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif

/* Forget what was tracked; track every block from now on and fail the nth allocation call. */
void failalloc_start(long n);
/* Fail nothing more; returns how many allocation calls were made since failalloc_start. */
long failalloc_stop_failing(void);
/* Stop tracking new blocks (frees are still seen); returns how many tracked blocks are live. */
long failalloc_stop_tracking(void);
/* Track new blocks again (after failalloc_stop_tracking), failing none. */
void failalloc_track_again(void);
/* Print who allocated each live block (" symbol in object"); true when one of them was allocated
 * by this binary (our code) rather than a shared library. */
bool failalloc_print_live(FILE *f);

#endif
