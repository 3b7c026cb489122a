/* sample.c - a bounded, evenly spaced sample of a sorted stream of keys, for key boundaries.
 *
 * Every stride-th key is kept; when the sample is full, every other kept key is dropped and the
 * stride doubles, so the sample stays evenly spaced over everything seen, in O(cap) memory. */
#include "s3m/util.h"

#include <stdlib.h>
#include <string.h>

void s3m_sample_init(struct s3m_sample *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    s->cap = cap < 2 ? 2 : cap;
    s->keys = s3m_calloc(s->cap, sizeof(char *));
    s->stride = 1;
}

void s3m_sample_add(struct s3m_sample *s, const char *key)
{
    if (s->seen++ % s->stride)
        return;
    if (s->n == s->cap) {
        size_t k = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (i % 2 == 0)
                s->keys[k++] = s->keys[i];
            else
                free(s->keys[i]);
        }
        s->n = k;
        s->stride *= 2;
        if ((s->seen - 1) % s->stride)
            return;
    }
    s->keys[s->n++] = s3m_strdup(key);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A boundary we choose ourselves is sent to servers as start-after, and some (moto) echo it in
 * the listing's XML unescaped, where a control character makes the page unreadable. Any key
 * makes a correct split, so cut it before its first byte below 0x20: the cut key is a prefix
 * of the key, still in order (those bytes sort below every other), never more than the key.
 * A key starting with one is left whole (cut, it would be empty); it sorts before the rest. */
static char *bound_dup(const char *k)
{
    size_t n = 0;
    while (k[n] && (unsigned char)k[n] >= 0x20)
        n++;
    return s3m_strndup(k, n ? n : strlen(k));
}

size_t s3m_keys_split(char **keys, size_t n, size_t parts, bool distinct, char ***out)
{
    *out = NULL;
    if (parts < 2 || !n)
        return 0;
    qsort(keys, n, sizeof(char *), cmp_key);
    char **b = s3m_calloc(parts, sizeof(char *));
    size_t nb = 0;
    for (size_t i = 1; i < parts; i++) {
        char *k = bound_dup(keys[i * n / parts]);
        if (distinct && (!*k || (unsigned char)*k < 0x20 || (nb && strcmp(k, b[nb - 1]) <= 0)))
            free(k); /* a repeat, or one that could not be cut: fewer ranges */
        else
            b[nb++] = k;
    }
    *out = b;
    return nb;
}

size_t s3m_sample_bounds(struct s3m_sample *s, size_t parts, bool distinct, char ***out)
{
    return s3m_keys_split(s->keys, s->n, parts, distinct, out); /* fed out of order by ranges */
}

void s3m_sample_cleanup(struct s3m_sample *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->keys[i]);
    free(s->keys);
    memset(s, 0, sizeof(*s));
}
