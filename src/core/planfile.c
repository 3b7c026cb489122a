/* planfile.c - the plan file of `apply`: a strict reader of format 1 (a tiny JSON reader for
 * flat objects, the header, the action lines, the trailer and its SHA-256), the header and
 * trailer writers, and the gate that compares the run's decisions with what the plan saw. */
#include "s3m/planfile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- a JSON reader for one line: a flat object of strings, numbers, booleans and arrays of
 * strings, exactly as our writers make them (JSON's own grammar, nothing looser) ---- */

struct jp {
    const char *p, *end;
    const char *err; /* the first syntax error */
};

enum jtype { J_STR, J_U64, J_BOOL, J_STRS };

struct jfield {
    const char *name;
    enum jtype type;
    void *out;    /* char **, uint64_t *, bool *, char *** */
    size_t *nout; /* J_STRS: the count */
    bool seen;
};

static bool jfail(struct jp *j, const char *what)
{
    if (!j->err)
        j->err = what;
    return false;
}

static void jws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static bool jeat(struct jp *j, char c)
{
    jws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static void utf8(struct s3m_buf *b, uint32_t c)
{
    if (c < 0x80) {
        s3m_buf_addc(b, (char)c);
    } else if (c < 0x800) {
        s3m_buf_addc(b, (char)(0xc0 | c >> 6));
        s3m_buf_addc(b, (char)(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
        s3m_buf_addc(b, (char)(0xe0 | c >> 12));
        s3m_buf_addc(b, (char)(0x80 | (c >> 6 & 0x3f)));
        s3m_buf_addc(b, (char)(0x80 | (c & 0x3f)));
    } else {
        s3m_buf_addc(b, (char)(0xf0 | c >> 18));
        s3m_buf_addc(b, (char)(0x80 | (c >> 12 & 0x3f)));
        s3m_buf_addc(b, (char)(0x80 | (c >> 6 & 0x3f)));
        s3m_buf_addc(b, (char)(0x80 | (c & 0x3f)));
    }
}

static bool hex4(struct jp *j, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = j->p < j->end ? s3m_hexval(*j->p) : -1;
        if (h < 0)
            return jfail(j, "malformed \\u escape");
        *v = *v << 4 | (uint32_t)h;
        j->p++;
    }
    return true;
}

/* \uXXXX (a surrogate pair as one code point); \u0000 cannot be in a C string: refused */
static bool junicode(struct jp *j, struct s3m_buf *b)
{
    uint32_t c, lo;
    if (!hex4(j, &c))
        return false;
    if (c >= 0xdc00 && c <= 0xdfff)
        return jfail(j, "lone low surrogate");
    if (c >= 0xd800 && c <= 0xdbff) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
            return jfail(j, "lone high surrogate");
        j->p += 2;
        if (!hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return jfail(j, "malformed surrogate pair");
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (!c)
        return jfail(j, "NUL byte in a string");
    utf8(b, c);
    return true;
}

static bool jescape(struct jp *j, struct s3m_buf *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (j->p >= j->end)
        return jfail(j, "unterminated string");
    char c = *j->p++;
    if (c == 'u')
        return junicode(j, b);
    const char *at = strchr(from, c);
    if (!c || !at)
        return jfail(j, "unknown escape in a string");
    s3m_buf_addc(b, to[at - from]);
    return true;
}

/* a string into b (reset first); raw bytes from 0x20 on are kept as they are */
static bool jstr(struct jp *j, struct s3m_buf *b)
{
    s3m_buf_reset(b);
    if (!jeat(j, '"'))
        return jfail(j, "a string expected");
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20)
            return jfail(j, "control byte in a string");
        if (c == '\\') {
            if (!jescape(j, b))
                return false;
        } else {
            s3m_buf_addc(b, (char)c);
        }
    }
    if (j->p >= j->end)
        return jfail(j, "unterminated string");
    j->p++;
    return true;
}

/* an unsigned decimal integer (no sign, fraction, exponent or leading zero) */
static bool ju64(struct jp *j, uint64_t *v)
{
    jws(j);
    const char *s = j->p;
    *v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned d = (unsigned)(*j->p++ - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return jfail(j, "number too large");
        *v = *v * 10 + d;
    }
    if (j->p == s || (*s == '0' && j->p - s > 1))
        return jfail(j, "an unsigned integer expected");
    if (j->p < j->end && strchr(".eE-+", *j->p))
        return jfail(j, "an unsigned integer expected");
    return true;
}

static bool jword(struct jp *j, const char *w)
{
    size_t n = strlen(w);
    jws(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
        return false;
    j->p += n;
    return true;
}

static bool jbool(struct jp *j, bool *v)
{
    if (jword(j, "true"))
        return *v = true;
    if (jword(j, "false"))
        return !(*v = false);
    return jfail(j, "true or false expected");
}

static bool jstrs(struct jp *j, struct jfield *f, struct s3m_buf *b)
{
    char ***v = f->out;
    if (!jeat(j, '['))
        return jfail(j, "an array expected");
    if (jeat(j, ']'))
        return true;
    do {
        if (*f->nout >= S3M_PLANFILE_MAX_ARGS)
            return jfail(j, "too many arguments");
        if (!jstr(j, b))
            return false;
        *v = s3m_realloc(*v, (*f->nout + 1) * sizeof(char *));
        (*v)[(*f->nout)++] = s3m_strdup(s3m_buf_str(b));
    } while (jeat(j, ','));
    return jeat(j, ']') || jfail(j, "',' or ']' expected");
}

/* a member this reader does not know: any scalar, or an array of scalars */
static bool jskip(struct jp *j, struct s3m_buf *b)
{
    uint64_t u;
    bool t;
    jws(j);
    if (j->p < j->end && *j->p == '"')
        return jstr(j, b);
    if (jeat(j, '[')) {
        if (jeat(j, ']'))
            return true;
        do
            if (!jskip(j, b))
                return false;
        while (jeat(j, ','));
        return jeat(j, ']') || jfail(j, "',' or ']' expected");
    }
    return jword(j, "null") || (j->p < j->end && *j->p == 't'   ? jbool(j, &t)
                                : j->p < j->end && *j->p == 'f' ? jbool(j, &t)
                                                                : ju64(j, &u));
}

static bool jvalue(struct jp *j, struct jfield *f, struct s3m_buf *b)
{
    switch (f->type) {
    case J_STR:
        if (!jstr(j, b))
            return false;
        *(char **)f->out = s3m_strdup(s3m_buf_str(b));
        return true;
    case J_U64: return ju64(j, f->out);
    case J_BOOL: return jbool(j, f->out);
    case J_STRS: return jstrs(j, f, b);
    }
    return false;
}

/* one member "name": value, into the field it names (each at most once) */
static bool jmember(struct jp *j, struct jfield *f, size_t nf, struct s3m_buf *name,
                    struct s3m_buf *b)
{
    if (!jstr(j, name) || !(jeat(j, ':') || jfail(j, "':' expected")))
        return false;
    struct jfield *at = NULL;
    for (size_t i = 0; i < nf; i++)
        if (!strcmp(f[i].name, s3m_buf_str(name)))
            at = &f[i];
    if (!at)
        return jskip(j, b);
    if (at->seen)
        return jfail(j, "a member twice");
    at->seen = true;
    return jvalue(j, at, b);
}

/* one object filling the fields it names, then the end of the line */
static bool jobject(struct jp *j, struct jfield *f, size_t nf)
{
    struct s3m_buf name, b;
    s3m_buf_init(&name);
    s3m_buf_init(&b);
    bool ok = jeat(j, '{') || jfail(j, "'{' expected");
    if (ok && !jeat(j, '}')) {
        do
            ok = jmember(j, f, nf, &name, &b);
        while (ok && jeat(j, ','));
        ok = ok && (jeat(j, '}') || jfail(j, "',' or '}' expected"));
    }
    jws(j);
    if (ok && j->p != j->end)
        ok = jfail(j, "text after the object");
    s3m_buf_cleanup(&name);
    s3m_buf_cleanup(&b);
    return ok;
}

/* ---- reading a plan ---- */

static bool refuse(struct s3m_planfile *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bool refuse(struct s3m_planfile *p, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, sizeof(p->err), fmt, ap);
        va_end(ap);
        p->failed = true;
    }
    return false;
}

void s3m_planfile_init(struct s3m_planfile *p)
{
    memset(p, 0, sizeof(*p));
    s3m_sha256_init(&p->sha);
    s3m_buf_init(&p->pending);
}

static void entry_free(struct s3m_planfile_entry *e)
{
    free(e->bucket);
    free(e->key);
    free(e->src_etag);
    free(e->dst_etag);
}

void s3m_planfile_cleanup(struct s3m_planfile *p)
{
    char hex[65];
    if (p->sha.evp)
        s3m_sha256_final_hex(&p->sha, hex);
    for (size_t i = 0; i < p->n; i++)
        entry_free(&p->e[i]);
    for (size_t i = 0; i < p->nargs; i++)
        free(p->args[i]);
    free(p->args);
    free(p->e);
    free(p->version);
    free(p->created);
    s3m_buf_cleanup(&p->pending);
    memset(p, 0, sizeof(*p));
}

const char *s3m_planfile_error(const struct s3m_planfile *p)
{
    return p->err;
}

static bool header(struct s3m_planfile *p, struct jp *j)
{
    uint64_t format = 0;
    struct jfield f[] = {{"s3mirror_plan", J_U64, &format, NULL, false},
                         {"version", J_STR, &p->version, NULL, false},
                         {"created", J_STR, &p->created, NULL, false},
                         {"dry_run", J_BOOL, &p->dry_run, NULL, false},
                         {"args", J_STRS, &p->args, &p->nargs, false}};
    if (!jobject(j, f, S3M_ARRAY_LEN(f)))
        return refuse(p, "line 1: not a plan header: %s", j->err);
    for (size_t i = 0; i < S3M_ARRAY_LEN(f); i++)
        if (!f[i].seen)
            return refuse(p, "line 1: the plan header has no \"%s\"", f[i].name);
    if (format != S3M_PLANFILE_FORMAT)
        return refuse(p, "line 1: plan format %" PRIu64 " (this s3mirror reads format %d)", format,
                      S3M_PLANFILE_FORMAT);
    if (p->nargs < 3)
        return refuse(p, "line 1: the plan header's args do not name a command, SRC and DST");
    return true;
}

static bool act_of(const char *name, enum s3m_plan_act *act)
{
    static const struct {
        const char *name;
        enum s3m_plan_act act;
    } acts[] = {{"copy", S3M_PLAN_COPY},       {"update", S3M_PLAN_UPDATE},
                {"delete", S3M_PLAN_DELETE},   {"skip", S3M_PLAN_SKIP},
                {"exclude", S3M_PLAN_EXCLUDE}, {"abort-upload", S3M_PLAN_ABORT_UPLOAD},
                {"refuse", S3M_PLAN_REFUSE}}; /* --immutable: read, never kept (as skip) */
    for (size_t i = 0; i < S3M_ARRAY_LEN(acts); i++)
        if (name && !strcmp(name, acts[i].name))
            return (*act = acts[i].act), true;
    return false;
}

/* an action line: copies, updates and deletes are kept, with the ETags each needs */
static bool action(struct s3m_planfile *p, struct jp *j, uint64_t line)
{
    struct s3m_planfile_entry e = {0};
    char *name = NULL, *why = NULL;
    struct jfield f[] = {{"action", J_STR, &name, NULL, false},
                         {"bucket", J_STR, &e.bucket, NULL, false},
                         {"key", J_STR, &e.key, NULL, false},
                         {"size", J_U64, &e.size, NULL, false},
                         {"src_etag", J_STR, &e.src_etag, NULL, false},
                         {"dst_etag", J_STR, &e.dst_etag, NULL, false},
                         {"dst_size", J_U64, &e.dst_size, NULL, false},
                         {"why", J_STR, &why, NULL, false}};
    bool ok = jobject(j, f, S3M_ARRAY_LEN(f));
    if (!ok)
        refuse(p, "line %" PRIu64 ": malformed: %s", line, j->err);
    else if (!f[0].seen || !f[1].seen || !f[2].seen || !f[3].seen)
        ok = refuse(p, "line %" PRIu64 ": an action line needs action, bucket, key and size", line);
    else if (!act_of(name, &e.act))
        ok = refuse(p, "line %" PRIu64 ": unknown action \"%s\"", line, name);
    else if ((e.act == S3M_PLAN_COPY || e.act == S3M_PLAN_UPDATE) && !e.src_etag)
        ok = refuse(p, "line %" PRIu64 ": a %s without the source ETag it saw", line, name);
    else if ((e.act == S3M_PLAN_DELETE || e.act == S3M_PLAN_UPDATE) && !e.dst_etag)
        ok = refuse(p, "line %" PRIu64 ": a %s without the destination ETag it saw", line, name);
    else if (e.act == S3M_PLAN_UPDATE && !f[6].seen)
        ok = refuse(p, "line %" PRIu64 ": an update without the destination size", line);
    free(name);
    free(why);
    if (ok && (e.act == S3M_PLAN_COPY || e.act == S3M_PLAN_UPDATE || e.act == S3M_PLAN_DELETE)) {
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 64;
            p->e = s3m_realloc(p->e, p->cap * sizeof(*p->e));
        }
        p->e[p->n++] = e;
    } else {
        entry_free(&e);
    }
    return ok;
}

/* a line before the trailer: hashed, then read (the first error is kept, and said only once
 * the checksum matched: an edited plan is called edited, not malformed) */
static void content(struct s3m_planfile *p, const char *s, size_t len)
{
    s3m_sha256_update(&p->sha, s, len);
    p->lines++;
    if (p->failed)
        return;
    struct jp j = {s, s + len - 1, NULL}; /* without its '\n' */
    if (p->lines == 1)
        header(p, &j);
    else
        action(p, &j, p->lines);
}

bool s3m_planfile_feed(struct s3m_planfile *p, const char *line, size_t len)
{
    if (p->have_pending) {
        struct s3m_buf *b = &p->pending;
        if (!b->len || b->data[b->len - 1] != '\n') /* only the last line may lack one */
            return refuse(p, "line %" PRIu64 ": no end of line", p->lines + 1);
        content(p, b->data, b->len);
    }
    if (len > S3M_PLANFILE_MAX_LINE)
        return refuse(p, "line %" PRIu64 ": longer than %u bytes", p->lines + 1,
                      S3M_PLANFILE_MAX_LINE);
    s3m_buf_reset(&p->pending);
    s3m_buf_add(&p->pending, line, len);
    p->have_pending = true;
    return true;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct s3m_planfile_entry *x = a, *y = b;
    int c = strcmp(x->bucket, y->bucket);
    return c ? c : strcmp(x->key, y->key);
}

static bool trailer(struct s3m_planfile *p)
{
    struct s3m_buf *b = &p->pending;
    char *sha = NULL, hex[65];
    uint64_t lines = 0;
    struct jfield f[] = {{"sha256", J_STR, &sha, NULL, false},
                         {"lines", J_U64, &lines, NULL, false}};
    bool nl = p->have_pending && b->len && b->data[b->len - 1] == '\n';
    static const char none[1] = "";
    struct jp j = {nl ? b->data : none, nl ? b->data + b->len - 1 : none, NULL};
    bool ok = nl && jobject(&j, f, 2) && f[0].seen && f[1].seen;
    s3m_sha256_final_hex(&p->sha, hex);
    if (!ok)
        refuse(p, "no checksum line at the end: the plan is truncated, unfinished or edited");
    else if (strcmp(sha, hex) || lines != p->lines)
        ok = refuse(p, "checksum mismatch: the plan was edited or damaged since it was written");
    free(sha);
    return ok;
}

bool s3m_planfile_finish(struct s3m_planfile *p)
{
    bool read_error = p->failed;
    char first[sizeof(p->err)];
    snprintf(first, sizeof(first), "%s", p->err);
    p->failed = false;
    if (!trailer(p))
        return false; /* the checksum's verdict comes first */
    if (read_error) {
        snprintf(p->err, sizeof(p->err), "%s", first);
        return !(p->failed = true);
    }
    if (!p->lines)
        return refuse(p, "line 1: no plan header");
    qsort(p->e, p->n, sizeof(*p->e), entry_cmp);
    for (size_t i = 1; i < p->n; i++)
        if (!entry_cmp(&p->e[i - 1], &p->e[i]))
            return refuse(p, "%s/%s has two actions in the plan", p->e[i].bucket, p->e[i].key);
    return true;
}

/* ---- writing ---- */

static void jput(struct s3m_buf *b, const char *s)
{
    s3m_buf_addc(b, '"');
    s3m_json_escape(b, s);
    s3m_buf_addc(b, '"');
}

void s3m_planfile_header(struct s3m_buf *b, const char *version, const char *created, bool dry_run,
                         const char *const *args, size_t nargs)
{
    s3m_buf_printf(b, "{\"s3mirror_plan\":%d,\"version\":", S3M_PLANFILE_FORMAT);
    jput(b, version);
    s3m_buf_adds(b, ",\"created\":");
    jput(b, created);
    s3m_buf_printf(b, ",\"dry_run\":%s,\"args\":[", dry_run ? "true" : "false");
    for (size_t i = 0; i < nargs; i++) {
        if (i)
            s3m_buf_addc(b, ',');
        jput(b, args[i]);
    }
    s3m_buf_adds(b, "]}\n");
}

void s3m_planfile_trailer(struct s3m_buf *b, const char *sha256, uint64_t lines)
{
    s3m_buf_printf(b, "{\"sha256\":\"%s\",\"lines\":%" PRIu64 "}\n", sha256, lines);
}

/* ---- the gate ---- */

static struct s3m_planfile_entry *find(struct s3m_planfile *p, const char *bucket, const char *key)
{
    struct s3m_planfile_entry k = {.bucket = (char *)bucket, .key = (char *)key};
    return p->n ? bsearch(&k, p->e, p->n, sizeof(*p->e), entry_cmp) : NULL;
}

static bool is_action(enum s3m_plan_act act)
{
    return act == S3M_PLAN_COPY || act == S3M_PLAN_UPDATE || act == S3M_PLAN_DELETE;
}

static bool same(const char *plan, const char *now)
{
    return plan && now && !strcmp(plan, now);
}

/* the objects the plan saw against those listed now: "" when the same */
static void compare_seen(const struct s3m_planfile_entry *e, const struct s3m_plan_action *a,
                         char *why, size_t n)
{
    const char *se = a->seen.src_etag, *de = a->seen.dst_etag;
    uint64_t dsize = e->act == S3M_PLAN_DELETE ? a->size : a->seen.dst_size;
    uint64_t pdsize = e->act == S3M_PLAN_DELETE ? e->size : e->dst_size;
    *why = 0;
    if (e->act != S3M_PLAN_DELETE && !same(e->src_etag, se))
        snprintf(why, n, "source ETag was %s, now %s", e->src_etag, se ? se : "none");
    else if (e->act != S3M_PLAN_DELETE && e->size != a->size)
        snprintf(why, n, "source size was %" PRIu64 ", now %" PRIu64, e->size, a->size);
    else if (e->act != S3M_PLAN_COPY && !same(e->dst_etag, de))
        snprintf(why, n, "destination ETag was %s, now %s", e->dst_etag, de ? de : "none");
    else if (e->act != S3M_PLAN_COPY && pdsize != dsize)
        snprintf(why, n, "destination size was %" PRIu64 ", now %" PRIu64, pdsize, dsize);
}

enum s3m_gate s3m_planfile_gate(struct s3m_planfile *p, const char *bucket,
                                const struct s3m_plan_action *a, char *why, size_t n)
{
    struct s3m_planfile_entry *e = find(p, bucket, a->key);
    const char *now = s3m_plan_act_name(a->act);
    if (!e && !is_action(a->act))
        return S3M_GATE_NONE;
    if (e)
        e->met = true;
    if (!e)
        snprintf(why, n, "a new difference the plan does not have: %s (%s)", now, a->why);
    else if (a->act == S3M_PLAN_EXCLUDE)
        snprintf(why, n, "the plan's %s: the object is now excluded", s3m_plan_act_name(e->act));
    else if (!is_action(a->act))
        snprintf(why, n, "the plan's %s: nothing to do now (%s)", s3m_plan_act_name(e->act),
                 a->why ? a->why : "the same on both sides");
    else if (e->act != a->act)
        snprintf(why, n, "the plan's %s: now a %s (%s)", s3m_plan_act_name(e->act), now, a->why);
    else
        compare_seen(e, a, why, n);
    if (!*why)
        return S3M_GATE_PASS;
    p->changed++;
    return S3M_GATE_CHANGED;
}

const struct s3m_planfile_entry *s3m_planfile_unmet(const struct s3m_planfile *p, size_t *cursor)
{
    while (*cursor < p->n)
        if (!p->e[(*cursor)++].met)
            return &p->e[*cursor - 1];
    return NULL;
}

void s3m_planfile_report(FILE *f, bool json, const char *key, const char *why)
{
    if (json) {
        fputs("{\"type\":\"changed\",\"key\":", f);
        s3m_json_fput(f, key);
        fputs(",\"why\":", f);
        s3m_json_fput(f, why);
        fputs("}\n", f);
        return;
    }
    fprintf(f, "%-6s %12s ", "changed", "-");
    s3m_plan_key_text(f, key);
    fprintf(f, "  (%s)\n", why);
}
