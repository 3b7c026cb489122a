/* test_allocfail.c - an allocation-failure run over the pure modules: for each entry point, with
 * realistic input (tests/data), the Nth allocation fails, N = 1, 2, ... until none is left.
 *
 * failalloc.c replaces malloc & co. in this binary, so the failures reach libxml2, OpenSSL and libc
 * as well as our own s3m_malloc. Each N runs in a forked
 * child and ends one of these ways, and only the first three are right:
 *   error  the entry point returned an error (libxml2 reports its out-of-memory), nothing leaked
 *   abort  SIGABRT after "s3mirror: out of memory" (s3m_malloc & co. abort by design, STYLE.md)
 *   same   the failure was absorbed (a cache, a fallback) and the result is the one without it
 *   kept   as same, but a shared library (OpenSSL) keeps a block it allocated during the call,
 *          and further calls do not add to it: that library's own state, not our leak
 *   leak   blocks allocated during the call still live after the caller's cleanup
 *   wrong  success, but a result that differs from the run without a failure
 *   bare   SIGABRT without the out-of-memory message (an abort() that hides the cause)
 *   crash  any other signal (SIGSEGV: a NULL used)
 * KNOWN lists the wrong outcomes found and not yet fixed, each with where it comes from; they
 * are printed, not failed, so the run guards everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s3m/config.h"
#include "s3m/diff.h"
#include "s3m/hash.h"
#include "s3m/layout.h"
#include "s3m/sigv4.h"
#include "s3m/uri.h"
#include "s3m/xml.h"
#include "failalloc.h"
#include "tjson.h"

#include <libxml/xmlerror.h>

#ifndef NO_INTERPOSE
/* ---- scenarios: run() calls the entry point into *st and says error or not and what came
 * out (summary, no allocation); cleanup() frees what run() left ---- */

#define SUMMARY 512
struct scenario {
    const char *name;
    void (*setup)(void);        /* load inputs (not counted) */
    bool (*run)(char *summary); /* true: success */
    void (*cleanup)(void);      /* the caller's cleanup after run, success or not */
};

static char *doc;
static size_t doclen;
static unsigned doc_accept;
static struct s3m_xml_result *xml_res;

static void load(const char *rel)
{
    char path[512];
    free(doc);
    doc = tj_read_file(tj_data_path(rel, path, sizeof(path)), &doclen);
    assert_non_null(doc);
}

static void xml_summary(const struct s3m_xml_result *r, char *s)
{
    const struct s3m_xml_list *l = &r->list;
    snprintf(s, SUMMARY,
             "kind %d root %s: %zu objects (%s..%s), %zu prefixes, %zu buckets, "
             "error %s, %zu deleted, %zu uploads, upload id %s",
             (int)r->kind, r->root, l->nobjects, l->nobjects ? l->objects[0].key : "-",
             l->nobjects ? l->objects[l->nobjects - 1].etag : "-", l->nprefixes,
             r->buckets.nbuckets, r->error.code ? r->error.code : "-", r->del.ndeleted,
             r->uploads.nuploads, r->single.upload_id ? r->single.upload_id : "-");
}

static bool xml_parse_whole(char *s)
{
    struct s3m_errinfo ei = {0};
    if (s3m_xml_parse(doc, doclen, doc_accept, &xml_res, &ei) != S3M_EOK) {
        xml_res = NULL;
        snprintf(s, SUMMARY, "error %s", s3m_err_name(ei.err));
        return false;
    }
    xml_summary(xml_res, s);
    return true;
}

/* the way the client feeds it: the body in pieces as they arrive */
static bool xml_parse_pieces(char *s)
{
    struct s3m_errinfo ei = {0};
    struct s3m_xml_parser *p = s3m_xml_new(doc_accept);
    enum s3m_err err = S3M_EOK;
    for (size_t off = 0; off < doclen && !err; off += 97)
        err = s3m_xml_feed(p, doc + off, doclen - off < 97 ? doclen - off : 97, &ei);
    if (!err)
        err = s3m_xml_finish(p, &xml_res, &ei);
    s3m_xml_free(p);
    if (err) {
        xml_res = NULL;
        snprintf(s, SUMMARY, "error %s", s3m_err_name(err));
        return false;
    }
    xml_summary(xml_res, s);
    return true;
}

static void xml_cleanup(void)
{
    s3m_xml_result_free(xml_res);
    xml_res = NULL;
    xmlResetLastError(); /* libxml2 keeps a copy of its last error: not the call's to free */
}

#define XML_SETUP(fn, file, kinds)                                                                 \
    static void fn(void)                                                                           \
    {                                                                                              \
        load(file);                                                                                \
        doc_accept = kinds;                                                                        \
    }
XML_SETUP(setup_listv2, "s3-xml/aws-docs/listv2-example1-listing-keys.xml", S3M_XML_LIST)
XML_SETUP(setup_listv1, "s3-xml/moto/listv1-delimiter-truncated.xml", S3M_XML_LIST)
XML_SETUP(setup_buckets, "s3-xml/botocore/list-buckets.xml", S3M_XML_BUCKETS)
XML_SETUP(setup_error, "s3-xml/aws-docs/error-nosuchkey.xml", S3M_XML_LIST)
XML_SETUP(setup_delete, "s3-xml/moto/delete-result-with-error.xml", S3M_XML_DELETE)
XML_SETUP(setup_uploads, "s3-xml/moto/list-multipart-uploads.xml", S3M_XML_UPLOADS)
XML_SETUP(setup_initiate, "s3-xml/aws-docs/initiate-multipart-upload.xml", S3M_XML_INITIATE)
XML_SETUP(setup_complete, "s3-xml/aws-docs/complete-multipart-upload.xml",
          S3M_XML_COMPLETE | S3M_XML_ERROR)
XML_SETUP(setup_hostile, "s3-xml/hostile/billion-laughs.xml", S3M_XML_LIST)

/* config: the seed runbook's rclone.conf, the remote it names, its endpoint */
static const char conf[] = "[safespring-sto2]\n"
                           "type = s3\n"
                           "provider = Ceph\n"
                           "access_key_id = ${STO2_ACCESS_KEY_ID}\n"
                           "secret_access_key = ${STO2_SECRET}\n"
                           "endpoint = https://s3.sto2.safedc.net\n"
                           "\n"
                           "# the replica site\n"
                           "[safespring-osl1]\n"
                           "type = s3\n"
                           "provider = Ceph\n"
                           "access_key_id = $OSL1_KEY\n"
                           "secret_access_key = $OSL1_SECRET\n"
                           "endpoint = s3.osl1.safedc.net\n"
                           "region = osl1\n"
                           "force_path_style = false\n";
static struct s3m_config cfg;
static struct s3m_spec spec;
static struct s3m_endpoint ep;

static const char *fake_getenv(const char *name, void *ud)
{
    (void)ud;
    if (!strcmp(name, "STO2_ACCESS_KEY_ID"))
        return "AK2";
    if (!strcmp(name, "STO2_SECRET"))
        return "sk2$x";
    return strstr(name, "OSL1") ? "v-osl1" : NULL;
}

static void nothing(void)
{
}

static bool config_run(char *s)
{
    struct s3m_errinfo ei = {0};
    s3m_config_init(&cfg);
    memset(&spec, 0, sizeof(spec));
    memset(&ep, 0, sizeof(ep));
    if (s3m_config_parse(&cfg, conf, sizeof(conf) - 1, "rclone.conf", fake_getenv, NULL, &ei) ||
        s3m_spec_parse("safespring-osl1:photos/2024/summer", &spec, &ei))
        return snprintf(s, SUMMARY, "error %s", s3m_err_name(ei.err)), false;
    const struct s3m_remote *r = s3m_config_find(&cfg, spec.remote);
    if (!r || s3m_remote_check(r, &ei) || s3m_endpoint_resolve(r, spec.bucket, &ep, &ei))
        return snprintf(s, SUMMARY, "error %s", r ? s3m_err_name(ei.err) : "no remote"), false;
    snprintf(s, SUMMARY, "%zu remotes; %s %s %s %s; %s %s %s %d", cfg.nremotes, r->name,
             r->access_key_id, r->secret_access_key, r->origin, spec.bucket, spec.prefix,
             ep.base_url, ep.virtual_host);
    return true;
}

static void config_cleanup(void)
{
    s3m_endpoint_cleanup(&ep);
    s3m_spec_cleanup(&spec);
    s3m_config_cleanup(&cfg);
}

/* filter: rclone-style rules, then keys matched against them */
static struct s3m_filter flt;
static const char *const filter_keys[] = {"a.jpg",  "photos/2024/x.JPG",   "tmp/1", "b/c/d.txt",
                                          "[x].md", "sub/dir/file.tar.gz", "z"};

static bool filter_run(char *s)
{
    s3m_filter_init(&flt, 1700000000);
    const char *rules[] = {"- tmp/**", "+ *.{jpg,JPG}", "+ [a-c]/**/*.txt", "- /z", "+ **.tar.gz"};
    for (size_t i = 0; i < S3M_ARRAY_LEN(rules); i++)
        if (!s3m_filter_add(&flt, rules[i][0] == '+', rules[i] + 2))
            return snprintf(s, SUMMARY, "error rule %zu", i), false;
    size_t n = 0;
    for (size_t i = 0; i < S3M_ARRAY_LEN(filter_keys); i++)
        n += (size_t)snprintf(s + n, SUMMARY - n, "%d",
                              s3m_filter_match(&flt, filter_keys[i], 10, 0));
    return true;
}

static void filter_cleanup(void)
{
    s3m_filter_cleanup(&flt);
}

/* diff: the merge-join of two sorted listings */
struct arr {
    const struct s3m_entry *e;
    size_t n, pos;
};

static enum s3m_pull arr_peek(void *ctx, struct s3m_entry *e)
{
    struct arr *a = ctx;
    if (a->pos >= a->n)
        return S3M_PULL_END;
    *e = a->e[a->pos];
    return S3M_PULL_ENTRY;
}

static void arr_advance(void *ctx)
{
    ((struct arr *)ctx)->pos++;
}

static bool diff_run(char *s)
{
    static const struct s3m_entry src[] = {{"a", 1, "0cc175b9c0f1b6a831c399e269772661", 1},
                                           {"b", 2, "92eb5ffee6ae2fec3ad71c777531578f", 1},
                                           {"big", 20 << 20, "9b2cf535f27731c974343645a3985328-4",
                                            1},
                                           {"c", 3, "4a8a08f09d37b73795649038408b5f33", 1}};
    static const struct s3m_entry dst[] = {{"b", 2, "92eb5ffee6ae2fec3ad71c777531578f", 1},
                                           {"big", 20 << 20, "aaaaf535f27731c974343645a3985328-4",
                                            1},
                                           {"c", 4, "ffff08f09d37b73795649038408b5f33", 1},
                                           {"d", 1, "8277e0910d750195b448797616e091ad", 1}};
    struct arr a = {src, S3M_ARRAY_LEN(src), 0}, b = {dst, S3M_ARRAY_LEN(dst), 0};
    struct s3m_diff d;
    s3m_diff_init(&d, (struct s3m_stream){arr_peek, arr_advance, &a},
                  (struct s3m_stream){arr_peek, arr_advance, &b}, NULL, S3M_CMP_ETAG);
    struct s3m_diff_item it;
    size_t n = 0;
    enum s3m_pull p;
    while ((p = s3m_diff_next(&d, &it)) == S3M_PULL_ENTRY)
        n += (size_t)snprintf(s + n, SUMMARY - n, "%s:%d%d ", it.src.key ? it.src.key : it.dst.key,
                              (int)it.action, it.needs_head);
    return p == S3M_PULL_END;
}

/* sigv4: the AWS documentation's GET Object example, signed as the client signs */
static struct s3m_sigv4_out sig;
static struct s3m_signer signer;

static bool sigv4_run(char *s)
{
    struct s3m_kv range = {"Range", "bytes=0-9"};
    struct s3m_sigv4_req r = {
        .method = "GET",
        .host = "examplebucket.s3.amazonaws.com",
        .path = "/test.txt",
        .headers = &range,
        .nheaders = 1,
        .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        .amz_date = "20130524T000000Z",
        .region = "us-east-1",
        .service = "s3",
        .add_content_sha256 = true};
    s3m_signer_init(&signer, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    NULL);
    s3m_sigv4_out_init(&sig);
    s3m_sigv4_sign(&signer, &r, &sig);
    snprintf(s, SUMMARY, "%s", sig.signature);
    /* the value the AWS document gives (s3-signing/aws-docs-header-auth.json) */
    return !strcmp(sig.signature,
                   "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void sigv4_cleanup(void)
{
    s3m_sigv4_out_cleanup(&sig);
    s3m_signer_cleanup(&signer);
}

/* layout and hash: a composite ETag from part MD5s, an MD5 context, a base64 */
static bool layout_run(char *s)
{
    const char *md5s[] = {"0cc175b9c0f1b6a831c399e269772661", "92eb5ffee6ae2fec3ad71c777531578f"};
    char etag[S3M_LAYOUT_ETAG_LEN];
    uint64_t sizes[8];
    int n = s3m_layout_uniform(12 << 20, 5 << 20, sizes, 8);
    if (!s3m_layout_etag(md5s, 2, etag))
        return snprintf(s, SUMMARY, "error etag"), false;
    struct s3m_md5_ctx c;
    uint8_t d[S3M_MD5_LEN];
    char hex[33];
    s3m_md5_init(&c);
    s3m_md5_update(&c, "abc", 3);
    s3m_md5_final(&c, d);
    s3m_md5_cleanup(&c);
    s3m_hex(d, sizeof(d), hex);
    snprintf(s, SUMMARY, "%d parts %s %s", n, etag, hex);
    return true;
}

/* uri: encode, decode and normalise into buffers */
static struct s3m_buf ub;

static bool uri_run(char *s)
{
    s3m_buf_init(&ub);
    const char *k = "photos/2024/a b+c&d=é~.jpg";
    s3m_uri_encode(&ub, k, strlen(k), true);
    s3m_buf_addc(&ub, ' ');
    if (!s3m_uri_decode(&ub, "a%20b+c%2Fd", 11, true))
        return snprintf(s, SUMMARY, "error decode"), false;
    s3m_buf_addc(&ub, ' ');
    s3m_uri_normalize_path(&ub, "/a/./b/../c//d");
    snprintf(s, SUMMARY, "%s", s3m_buf_str(&ub));
    return true;
}

static void uri_cleanup(void)
{
    s3m_buf_cleanup(&ub);
}

/* ---- the run ---- */

enum outcome { O_ERROR, O_ABORT, O_SAME, O_KEPT, O_LEAK, O_WRONG, O_BARE, O_CRASH, O_END, O_N };
static const char *const outcome_names[] = {"error", "abort", "same",  "kept", "leak",
                                            "wrong", "bare",  "crash", "end"};

/* Wrong outcomes found by this run and not fixed yet (see the report of issue 14). */
static const struct {
    const char *scenario;
    enum outcome o;
    const char *why;
} KNOWN[] = {
    {"xml", O_BARE, "core/xml.c:493: xmlCreatePushParserCtxt's NULL ends in a bare abort()"},
};

static bool known(const char *name, enum outcome o)
{
    for (size_t i = 0; i < S3M_ARRAY_LEN(KNOWN); i++)
        if (!strncmp(KNOWN[i].scenario, name, strlen(KNOWN[i].scenario)) && KNOWN[i].o == o)
            return true;
    return false;
}

static char expected[SUMMARY];

/* In the child: the run with the Nth allocation failing; the exit code is the outcome. */
static void child(const struct scenario *sc, long n)
{
    char got[SUMMARY] = "";
    failalloc_start(n);
    bool ok = sc->run(got);
    long ncalls = failalloc_stop_failing();
    if (sc->cleanup)
        sc->cleanup();
    long left = failalloc_stop_tracking();
    if (ncalls < n)
        _exit(O_END);
    if (left) {
        fprintf(stderr, "%ld block(s) left (%s), allocated by", left, got);
        bool ours = failalloc_print_live(stderr);
        fprintf(stderr, "\n");
        failalloc_track_again();
        for (int i = 0; i < 3; i++) { /* does it grow call after call? */
            char again[SUMMARY];
            sc->run(again);
            if (sc->cleanup)
                sc->cleanup();
        }
        _exit(!ours && failalloc_stop_tracking() == left && ok && !strcmp(got, expected) ? O_KEPT
                                                                                         : O_LEAK);
    }
    if (!ok)
        _exit(O_ERROR);
    if (strcmp(got, expected)) {
        fprintf(stderr, "got \"%s\"\n", got);
        _exit(O_WRONG);
    }
    _exit(O_SAME);
}

static enum outcome run_once(const struct scenario *sc, long n, char *msg, size_t msglen)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], 2);
        child(sc, n);
    }
    close(pfd[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(pfd[0], msg + got, msglen - 1 - got)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0)
            got += (size_t)r;
    msg[got] = 0;
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (WIFEXITED(st))
        return WEXITSTATUS(st) < O_N ? (enum outcome)WEXITSTATUS(st) : O_CRASH;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
        return strstr(msg, "s3mirror: out of memory") ? O_ABORT : O_BARE;
    snprintf(msg, msglen, "signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    return O_CRASH;
}

static void run_scenario(const struct scenario *sc)
{
    sc->setup();
    /* once without a failure: the expected result, and library state set up (libxml2's and
     * OpenSSL's one-time initialisation is not the call's allocation) */
    expected[0] = 0;
    assert_true(sc->run(expected) || sc->setup == setup_hostile);
    if (sc->cleanup)
        sc->cleanup();
    long count[O_N] = {0};
    bool bad = false;
    long n;
    for (n = 1; n < 200000; n++) {
        char msg[1024];
        enum outcome o = run_once(sc, n, msg, sizeof(msg));
        if (o == O_END)
            break;
        count[o]++;
        if (o >= O_LEAK && count[o] == 1) {
            bool k = known(sc->name, o);
            printf("  %s: allocation %ld: %s%s: %s\n", sc->name, n, outcome_names[o],
                   k ? " (known)" : "", strtok(msg, "\n") ? msg : "");
            bad |= !k;
        } else if (o >= O_LEAK) {
            bad |= !known(sc->name, o);
        }
    }
    printf("allocfail %-14s %5ld allocations:", sc->name, n - 1);
    for (int o = 0; o < O_END; o++)
        if (count[o])
            printf(" %s %ld", outcome_names[o], count[o]);
    printf("\n");
    assert_false(bad);
}

static const struct scenario scenarios[] = {
    {"xml listv2", setup_listv2, xml_parse_whole, xml_cleanup},
    {"xml listv2/97", setup_listv2, xml_parse_pieces, xml_cleanup},
    {"xml listv1", setup_listv1, xml_parse_pieces, xml_cleanup},
    {"xml buckets", setup_buckets, xml_parse_whole, xml_cleanup},
    {"xml error", setup_error, xml_parse_whole, xml_cleanup},
    {"xml delete", setup_delete, xml_parse_pieces, xml_cleanup},
    {"xml uploads", setup_uploads, xml_parse_pieces, xml_cleanup},
    {"xml initiate", setup_initiate, xml_parse_whole, xml_cleanup},
    {"xml complete", setup_complete, xml_parse_whole, xml_cleanup},
    {"xml hostile", setup_hostile, xml_parse_whole, xml_cleanup},
    {"config+remote", nothing, config_run, config_cleanup},
    {"filter", nothing, filter_run, filter_cleanup},
    {"diff", nothing, diff_run, NULL},
    {"sigv4", nothing, sigv4_run, sigv4_cleanup},
    {"layout+hash", nothing, layout_run, NULL},
    {"uri", nothing, uri_run, uri_cleanup},
};

static void test_scenario(void **state)
{
    run_scenario(*state);
}

int main(void)
{
    if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
        printf("allocfail: skipped under valgrind (it replaces the allocator itself)\n");
        return 0;
    }
    struct CMUnitTest tests[S3M_ARRAY_LEN(scenarios)];
    for (size_t i = 0; i < S3M_ARRAY_LEN(scenarios); i++)
        tests[i] = (struct CMUnitTest){scenarios[i].name, test_scenario, NULL, NULL,
                                       (void *)&scenarios[i]};
    int rc = cmocka_run_group_tests_name("allocfail", tests, NULL, NULL);
    free(doc);
    return rc;
}

#else /* under AddressSanitizer, which owns malloc */
int main(void)
{
    printf("allocfail: skipped under AddressSanitizer (it owns the allocator)\n");
    return 0;
}
#endif
