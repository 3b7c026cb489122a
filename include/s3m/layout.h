/* s3m/layout.h - multipart part layouts and the ETags they give. Pure code: no I/O.
 *
 * A multipart ETag is "<hex MD5 of the concatenated binary part MD5s>-<part count>", so it
 * depends on where the parts end, not only on the bytes. A copy reproduces it only with the
 * source's own layout: learned part by part where the server tells part sizes, else guessed. */
#ifndef S3M_LAYOUT_H
#define S3M_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3M_LAYOUT_MAX_PARTS 10000
/* room for "<32 hex>-10000" and its NUL */
#define S3M_LAYOUT_ETAG_LEN 40

/* Whether n learned part sizes can be the layout of a size-byte object: 1..10000 parts, each
 * part non-empty, together exactly size bytes. */
bool s3m_layout_check(uint64_t size, const uint64_t *sizes, int n);

/* Parts of `part_size` bytes (the last one shorter) for size bytes: the number of parts, and
 * their sizes in sizes[0..max) when sizes is not NULL. 0 when part_size is 0 or more than
 * 10000 parts would be needed; a 0-byte object is one empty part. */
int s3m_layout_uniform(uint64_t size, uint64_t part_size, uint64_t *sizes, int max);

/* The multipart ETag of n parts whose MD5s (32 hex digits each) are md5s[0..n), without
 * quotes, into out. False (out empty) when n is out of range or an MD5 is malformed. */
bool s3m_layout_etag(const char *const *md5s, int n, char out[S3M_LAYOUT_ETAG_LEN]);

#endif
