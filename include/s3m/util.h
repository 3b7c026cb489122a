/* s3m/util.h - allocation, growable buffers and small string helpers.
 *
 * Out of memory aborts: callers never check s3m_malloc & co. Buffers are always NUL-terminated. */
#ifndef S3M_UTIL_H
#define S3M_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define S3M_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *s3m_malloc(size_t n);
void *s3m_calloc(size_t n, size_t size);
void *s3m_realloc(void *p, size_t n);
/* A library's allocation failed (OpenSSL, libxml2): says so, as s3m_malloc does, and aborts. */
_Noreturn void s3m_oom(const char *what);
char *s3m_strdup(const char *s);
char *s3m_strndup(const char *s, size_t n);
/* Overwrite n bytes with zeros in a way the compiler keeps (for secrets). */
void s3m_wipe(void *p, size_t n);
/* Free a secret string after wiping it. NULL is a no-op. */
void s3m_free_secret(char *s);

/* Growable byte buffer, always NUL-terminated (data[len] == 0 once anything was added). */
struct s3m_buf {
    char *data;
    size_t len;
    size_t cap;
};

void s3m_buf_init(struct s3m_buf *b);
void s3m_buf_cleanup(struct s3m_buf *b);
void s3m_buf_reset(struct s3m_buf *b);
void s3m_buf_reserve(struct s3m_buf *b, size_t extra);
void s3m_buf_add(struct s3m_buf *b, const void *p, size_t n);
void s3m_buf_adds(struct s3m_buf *b, const char *s);
void s3m_buf_addc(struct s3m_buf *b, char c);
void s3m_buf_printf(struct s3m_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give the buffer's string to the caller (never NULL) and reset the buffer. */
char *s3m_buf_detach(struct s3m_buf *b);
/* The content as a C string ("" when empty). */
const char *s3m_buf_str(const struct s3m_buf *b);

/* A bump allocator: many small strings freed at once (a listing page). */
struct s3m_arena {
    struct s3m_arena_block *head;
    size_t used_total;
};
void s3m_arena_init(struct s3m_arena *a);
void s3m_arena_cleanup(struct s3m_arena *a);
void *s3m_arena_alloc(struct s3m_arena *a, size_t n);
char *s3m_arena_strndup(struct s3m_arena *a, const char *s, size_t n);

/* Append s as the inside of a JSON string (quotes, backslashes and control bytes escaped). */
void s3m_json_escape(struct s3m_buf *b, const char *s);
/* Write s to f as a quoted JSON string. */
void s3m_json_fput(FILE *f, const char *s);
/* Value of a hex digit, -1 if c is none. */
int s3m_hexval(char c);

/* ASCII helpers, locale independent. */
int s3m_strcasecmp(const char *a, const char *b);
bool s3m_str_starts(const char *s, const char *prefix);
bool s3m_str_ends(const char *s, const char *suffix);
/* Parse a decimal unsigned 64-bit number: all of s, no sign, no overflow. */
bool s3m_parse_u64(const char *s, uint64_t *out);
/* Parse true/false/1/0/yes/no (case-insensitive). */
bool s3m_parse_bool(const char *s, bool *out);
/* Trim ASCII white space at both ends, in place; returns s. */
char *s3m_trim(char *s);

/* A bounded sample of a stream of keys, evenly spaced (sample.c). */
struct s3m_sample {
    char **keys;
    size_t n, cap;
    uint64_t stride, seen;
};
void s3m_sample_init(struct s3m_sample *s, size_t cap);
void s3m_sample_add(struct s3m_sample *s, const char *key);
/* parts-1 keys splitting what was seen into parts of about equal count (sorted; distinct: drop
 * repeats, which a stream with fewer keys than parts has); *out and its strings are the
 * caller's. */
size_t s3m_sample_bounds(struct s3m_sample *s, size_t parts, bool distinct, char ***out);
void s3m_sample_cleanup(struct s3m_sample *s);
/* Sort keys (in place) and pick parts-1 of them that split them into parts of about equal
 * count, as s3m_sample_bounds does; *out and its strings are the caller's. Each is cut before
 * its first control character (below 0x20), which servers may echo unescaped in XML; a key
 * that starts with one is dropped when distinct, else kept whole. Never decreasing. */
size_t s3m_keys_split(char **keys, size_t n, size_t parts, bool distinct, char ***out);

/* Replace path by data atomically (a temporary file beside it, then rename); false with errno
 * set on failure, the old file left as it was (file.c). */
bool s3m_file_replace(const char *path, const void *data, size_t len);
/* A run's spill file (the delete list, the waiting copies): *shared, made here by its first user
 * (an unlinked temporary file, gone with the process whatever happens), or with shared NULL a
 * file of the caller's own (*own). The caller's region starts at its end (*start); the users
 * write one after the other, so one descriptor serves any number of buckets. NULL with errno
 * set on failure (file.c). */
FILE *s3m_spill_region(FILE **shared, bool *own, long long *start);

#endif
