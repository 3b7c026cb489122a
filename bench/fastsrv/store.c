/* store.c - the buckets of bench/fastsrv: synthetic ones (listings generated from an index, never
 * stored), writable ones (a sorted array of the metadata of what was uploaded), the generated
 * content every object's bytes come from, its cached ETags, and multipart uploads in progress. */
#include "fastsrv.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char *fs_pattern;
uint64_t fs_listing_keys;
static struct fs_bucket *buckets;

uint64_t fs_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

size_t fs_key_offset(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(fs_mix(h) % FS_VARIANTS) * 1021;
}

void fs_pattern_init(void)
{
    fs_pattern = malloc(2 * FS_PAT_LEN);
    if (!fs_pattern)
        abort();
    uint64_t s = 42;
    for (size_t i = 0; i + 8 <= FS_PAT_LEN; i += 8) {
        s = fs_mix(s);
        memcpy(fs_pattern + i, &s, 8);
    }
    for (size_t i = FS_PAT_LEN & ~(size_t)7; i < FS_PAT_LEN; i++)
        fs_pattern[i] = (unsigned char)fs_mix(i);
    memcpy(fs_pattern + FS_PAT_LEN, fs_pattern, FS_PAT_LEN);
}

void fs_md5_hex(const unsigned char md5[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md5[i]);
}

void fs_content_md5(size_t voff, uint64_t off, uint64_t len, unsigned char out[16])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    size_t pos = (size_t)((voff + off) % FS_PAT_LEN);
    while (len) {
        size_t n = len < FS_PAT_LEN ? (size_t)len : FS_PAT_LEN;
        EVP_DigestUpdate(md, fs_pattern + pos, n);
        pos = (pos + n) % FS_PAT_LEN;
        len -= n;
    }
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

int fs_content_equal(size_t voff, uint64_t off, const char *buf, size_t len)
{
    size_t pos = (size_t)((voff + off) % FS_PAT_LEN);
    while (len) {
        size_t n = len < FS_PAT_LEN ? len : FS_PAT_LEN;
        if (memcmp(buf, fs_pattern + pos, n))
            return 0;
        buf += n;
        len -= n;
        pos = (pos + n) % FS_PAT_LEN;
    }
    return 1;
}

/* MD5s and ETags of generated content, by (pattern position, size, part size): a big object
 * is hashed once, and so is each part of it (an upload of the same bytes needs no MD5 again) */
struct etag_slot {
    size_t pos;
    uint64_t size, part_size;
    unsigned char md5[16];
    char etag[48];
    int used;
};
#define CACHE_SLOTS (1u << 15)
static struct etag_slot *cache;
static unsigned cache_used;

static struct etag_slot *cache_slot(size_t pos, uint64_t size, uint64_t ps, int *hit)
{
    if (!cache)
        cache = calloc(CACHE_SLOTS, sizeof(*cache));
    if (cache_used > CACHE_SLOTS / 2) { /* full: start again */
        memset(cache, 0, CACHE_SLOTS * sizeof(*cache));
        cache_used = 0;
    }
    unsigned h = (unsigned)fs_mix(pos * 31 + size * 7 + ps) & (CACHE_SLOTS - 1);
    struct etag_slot *s = &cache[h];
    for (; s->used; h = (h + 1) & (CACHE_SLOTS - 1), s = &cache[h])
        if (s->pos == pos && s->size == size && s->part_size == ps) {
            *hit = 1;
            return s;
        }
    *s = (struct etag_slot){.pos = pos, .size = size, .part_size = ps, .used = 1};
    cache_used++;
    *hit = 0;
    return s;
}

void fs_content_md5_cached(size_t voff, uint64_t off, uint64_t len, unsigned char out[16])
{
    int hit;
    struct etag_slot *s = cache_slot((size_t)((voff + off) % FS_PAT_LEN), len, 0, &hit);
    if (!hit) {
        fs_content_md5(voff, off, len, s->md5);
        fs_md5_hex(s->md5, s->etag);
    }
    memcpy(out, s->md5, 16);
}

static void content_etag(size_t voff, uint64_t size, uint64_t ps, char out[48])
{
    int hit;
    unsigned char md5[16];
    if (!ps) {
        fs_content_md5_cached(voff, 0, size, md5);
        fs_md5_hex(md5, out);
        return;
    }
    struct etag_slot *s = cache_slot(voff, size, ps, &hit);
    if (!hit) { /* MD5 of the concatenated binary part MD5s, "-N" */
        unsigned n = (unsigned)((size + ps - 1) / ps);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_DigestInit_ex(md, EVP_md5(), NULL);
        for (unsigned i = 0; i < n; i++) {
            uint64_t len = i + 1 < n ? ps : size - (uint64_t)i * ps;
            fs_content_md5_cached(voff, (uint64_t)i * ps, len, md5);
            EVP_DigestUpdate(md, md5, 16);
        }
        EVP_DigestFinal_ex(md, s->md5, NULL);
        EVP_MD_CTX_free(md);
        fs_md5_hex(s->md5, s->etag);
        snprintf(s->etag + 32, 16, "-%u", n);
    }
    memcpy(out, s->etag, 48);
}

struct fs_bucket *fs_bucket_declare(const char *spec)
{
    struct fs_bucket *b = calloc(1, sizeof(*b));
    char name[64];
    unsigned long long count = 0, size = 0, ps = 0;
    int n = sscanf(spec, "%63[^:]:%llu:%llu:%llu", name, &count, &size, &ps);
    if (n < 3 || (n == 4 && ps && ps < 5 * 1024 * 1024 && ps < size) ||
        (ps && (size + ps - 1) / ps > FS_MAX_PARTS)) {
        free(b);
        return NULL;
    }
    snprintf(b->name, sizeof(b->name), "%s", name);
    b->kind = FS_SYNTH;
    b->count = count;
    b->size = size;
    b->part_size = ps && ps < size ? ps : 0;
    b->next = buckets;
    buckets = b;
    return b;
}

struct fs_bucket *fs_bucket_get(const char *name)
{
    for (struct fs_bucket *b = buckets; b; b = b->next)
        if (!strcmp(b->name, name))
            return b;
    struct fs_bucket *b = calloc(1, sizeof(*b));
    snprintf(b->name, sizeof(b->name), "%s", name);
    b->kind = fs_listing_keys ? FS_LISTING : !strncmp(name, "sink-", 5) ? FS_SINK : FS_WRITABLE;
    b->count = fs_listing_keys;
    b->next = buckets;
    buckets = b;
    return b;
}

struct fs_bucket *fs_bucket_first(void)
{
    return buckets;
}

uint64_t fs_bucket_count(const struct fs_bucket *b)
{
    return b->kind == FS_SYNTH || b->kind == FS_LISTING ? b->count : b->n;
}

const char *fs_bucket_key(const struct fs_bucket *b, uint64_t i, char buf[32])
{
    if (b->kind == FS_WRITABLE || b->kind == FS_SINK)
        return b->objs[i]->key;
    snprintf(buf, 32, "key%010" PRIu64, i);
    return buf;
}

void fs_bucket_obj(const struct fs_bucket *b, uint64_t i, struct fs_obj *o)
{
    char kb[32];
    if (b->kind == FS_WRITABLE || b->kind == FS_SINK) {
        *o = b->objs[i]->o;
        return;
    }
    memset(o, 0, sizeof(*o));
    o->voff = fs_key_offset(fs_bucket_key(b, i, kb));
    if (b->kind == FS_LISTING) { /* listsrv's sizes and ETags: nothing is transferred there */
        o->size = 1024 + fs_mix(i) % 4096;
        snprintf(o->etag, sizeof(o->etag), "%016" PRIx64 "%016" PRIx64, fs_mix(i * 2 + 1),
                 fs_mix(i * 2 + 2));
        return;
    }
    o->size = b->size;
    o->part_size = b->part_size;
    o->nparts = b->part_size ? (unsigned)((b->size + b->part_size - 1) / b->part_size) : 0;
    content_etag(o->voff, o->size, o->part_size, o->etag);
}

uint64_t fs_bucket_find_ge(const struct fs_bucket *b, const char *s)
{
    uint64_t lo = 0, hi = fs_bucket_count(b);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        char kb[32];
        if (strcmp(fs_bucket_key(b, mid, kb), s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int fs_bucket_lookup(const struct fs_bucket *b, const char *key, struct fs_obj *o)
{
    uint64_t i = fs_bucket_find_ge(b, key);
    char kb[32];
    if (i >= fs_bucket_count(b) || strcmp(fs_bucket_key(b, i, kb), key))
        return 0;
    fs_bucket_obj(b, i, o);
    return 1;
}

void fs_bucket_put(struct fs_bucket *b, const char *key, const struct fs_obj *o)
{
    size_t i = (size_t)fs_bucket_find_ge(b, key);
    size_t kl = strlen(key);
    if (i < b->n && !strcmp(b->objs[i]->key, key)) {
        b->objs[i]->o = *o;
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->objs = realloc(b->objs, b->cap * sizeof(*b->objs));
        if (!b->objs)
            abort();
    }
    struct fs_entry *e = malloc(sizeof(*e) + kl + 1);
    e->o = *o;
    memcpy(e->key, key, kl + 1);
    memmove(b->objs + i + 1, b->objs + i, (b->n - i) * sizeof(*b->objs));
    b->objs[i] = e;
    b->n++;
}

void fs_bucket_delete(struct fs_bucket *b, const char *key)
{
    if (b->kind != FS_WRITABLE && b->kind != FS_SINK)
        return;
    size_t i = (size_t)fs_bucket_find_ge(b, key);
    if (i >= b->n || strcmp(b->objs[i]->key, key))
        return;
    free(b->objs[i]);
    memmove(b->objs + i, b->objs + i + 1, (b->n - i - 1) * sizeof(*b->objs));
    b->n--;
}

void fs_bucket_warm(const struct fs_bucket *b)
{
    struct fs_obj o;
    for (uint64_t i = 0; i < b->count && i < 100000; i++)
        fs_bucket_obj(b, i, &o);
}

/* multipart uploads: a growing array indexed by id */
static struct fs_upload **uploads;
static unsigned nuploads;

struct fs_upload *fs_upload_new(struct fs_bucket *b, const char *key)
{
    struct fs_upload *u = calloc(1, sizeof(*u));
    u->id = nuploads;
    u->b = b;
    u->key = strdup(key);
    u->voff = fs_key_offset(key);
    if ((nuploads & (nuploads - 1)) == 0 || nuploads == 0) {
        uploads = realloc(uploads, (nuploads ? 2 * nuploads : 1) * sizeof(*uploads));
        if (!uploads)
            abort();
    }
    uploads[nuploads++] = u;
    return u;
}

struct fs_upload *fs_upload_find(const char *id)
{
    char *end;
    unsigned long n = strtoul(id, &end, 10);
    if (*id < '0' || *id > '9' || *end || n >= nuploads)
        return NULL;
    return uploads[n];
}

void fs_upload_free(struct fs_upload *u)
{
    uploads[u->id] = NULL;
    free(u->key);
    free(u->parts);
    free(u);
}

struct fs_upload *fs_upload_each(unsigned *cursor)
{
    while (*cursor < nuploads)
        if (uploads[(*cursor)++])
            return uploads[*cursor - 1];
    return NULL;
}

void fs_upload_part(struct fs_upload *u, unsigned n, const struct fs_part *p)
{
    if (n > u->cap) {
        unsigned cap = u->cap ? u->cap : 16;
        while (cap < n)
            cap *= 2;
        u->parts = realloc(u->parts, cap * sizeof(*u->parts));
        memset(u->parts + u->cap, 0, (cap - u->cap) * sizeof(*u->parts));
        u->cap = cap;
    }
    u->parts[n - 1] = *p;
}
