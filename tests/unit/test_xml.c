/* test_xml.c - the S3 XML reader against every document of tests/data/s3-xml and its
 * expected values (NAME.expected.json), fed whole and in small chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/xml.h"
#include "tjson.h"

static const char *cur_doc;
static int n_docs, n_parse, n_error, n_reject;

static void eq_str(const struct tj *exp, const char *key, const char *got)
{
    const struct tj *v = tj_get(exp, key);
    if (!v)
        return; /* field not described for this document */
    if (v->type == TJ_NULL) {
        if (got)
            fail_msg("%s: %s: expected null, got \"%s\"", cur_doc, key, got);
        return;
    }
    if (!got)
        fail_msg("%s: %s: expected \"%s\", got null", cur_doc, key, v->str);
    if (strcmp(got, v->str))
        fail_msg("%s: %s: expected \"%s\", got \"%s\"", cur_doc, key, v->str, got);
}

static void eq_int(const struct tj *exp, const char *key, int64_t got)
{
    const struct tj *v = tj_get(exp, key);
    if (!v)
        return;
    int64_t want = v->type == TJ_NULL ? -1 : (int64_t)v->num;
    if (want != got)
        fail_msg("%s: %s: expected %lld, got %lld", cur_doc, key, (long long)want, (long long)got);
}

static void eq_bool(const struct tj *exp, const char *key, bool got)
{
    const struct tj *v = tj_get(exp, key);
    if (v && v->type == TJ_BOOL && v->b != got)
        fail_msg("%s: %s: expected %d, got %d", cur_doc, key, v->b, got);
}

static void eq_count(const struct tj *arr, size_t got, const char *what)
{
    size_t want = arr ? arr->n : 0;
    if (want != got)
        fail_msg("%s: %s: expected %zu entries, got %zu", cur_doc, what, want, got);
}

static void check_list(const struct tj *e, const struct s3m_xml_list *l)
{
    eq_int(e, "list_version", l->version);
    eq_str(e, "name", l->name);
    eq_str(e, "prefix", l->prefix);
    eq_str(e, "delimiter", l->delimiter);
    eq_int(e, "max_keys", l->max_keys);
    eq_str(e, "encoding_type", l->encoding_type);
    eq_bool(e, "is_truncated", l->is_truncated);
    eq_int(e, "key_count", l->key_count);
    eq_str(e, "continuation_token", l->continuation_token);
    eq_str(e, "next_continuation_token", l->next_continuation_token);
    eq_str(e, "start_after", l->start_after);
    eq_str(e, "marker", l->marker);
    eq_str(e, "next_marker", l->next_marker);
    const struct tj *objs = tj_get(e, "objects");
    eq_count(objs, l->nobjects, "objects");
    for (size_t i = 0; i < l->nobjects; i++) {
        const struct tj *o = objs->items[i];
        const struct s3m_xml_object *g = &l->objects[i];
        eq_str(o, "key", g->key);
        eq_int(o, "size", (int64_t)g->size);
        eq_str(o, "etag", g->etag);
        eq_str(o, "last_modified", g->last_modified);
        eq_str(o, "storage_class", g->storage_class);
        eq_str(o, "owner_id", g->owner_id);
        eq_str(o, "key_in_document", g->key_raw);
        if (!tj_get(o, "owner_id") && g->owner_id)
            fail_msg("%s: unexpected owner_id", cur_doc);
    }
    const struct tj *cps = tj_get(e, "common_prefixes");
    eq_count(cps, l->nprefixes, "common_prefixes");
    for (size_t i = 0; i < l->nprefixes; i++)
        if (strcmp(cps->items[i]->str, l->common_prefixes[i]))
            fail_msg("%s: common prefix %zu: %s != %s", cur_doc, i, cps->items[i]->str,
                     l->common_prefixes[i]);
}

static void check_sizes(const struct tj *e, const struct s3m_xml_list *l)
{
    /* a 5 TiB size and 64-bit sizes must survive exactly (num is a double: exact below 2^53) */
    const struct tj *objs = tj_get(e, "objects");
    for (size_t i = 0; objs && i < objs->n; i++)
        assert_true((double)l->objects[i].size == tj_get(objs->items[i], "size")->num);
}

static void check_buckets(const struct tj *e, const struct s3m_xml_buckets *b)
{
    eq_str(e, "owner_id", b->owner_id);
    eq_str(e, "owner_display_name", b->owner_display_name);
    eq_str(e, "continuation_token", b->continuation_token);
    const struct tj *bs = tj_get(e, "buckets");
    eq_count(bs, b->nbuckets, "buckets");
    for (size_t i = 0; i < b->nbuckets; i++) {
        eq_str(bs->items[i], "name", b->buckets[i].name);
        eq_str(bs->items[i], "creation_date", b->buckets[i].creation_date);
    }
}

static void check_error(const struct tj *e, const struct s3m_xml_error *x)
{
    const struct tj *er = tj_get(e, "error");
    assert_non_null(er);
    eq_str(er, "code", x->code);
    eq_str(er, "message", x->message);
    eq_str(er, "request_id", x->request_id);
    eq_str(er, "host_id", x->host_id);
    eq_str(er, "resource", x->resource);
    eq_str(er, "bucket_name", x->bucket_name);
    eq_str(er, "key", x->key);
    const struct tj *other = tj_get(er, "other_fields");
    eq_count(other, x->nother, "other_fields");
    for (size_t i = 0; i < x->nother; i++)
        assert_string_equal(other->items[i]->str, x->other_fields[i]);
}

static void check_deleted(const struct tj *arr, const struct s3m_xml_deleted *d, size_t n,
                          const char *what)
{
    eq_count(arr, n, what);
    for (size_t i = 0; i < n; i++) {
        const struct tj *x = arr->items[i];
        eq_str(x, "key", d[i].key);
        eq_str(x, "version_id", d[i].version_id);
        eq_str(x, "code", d[i].code);
        eq_str(x, "message", d[i].message);
        eq_str(x, "delete_marker_version_id", d[i].delete_marker_version_id);
        const struct tj *dm = tj_get(x, "delete_marker");
        if (dm && dm->type == TJ_BOOL)
            assert_string_equal(d[i].delete_marker, dm->b ? "true" : "false");
    }
}

static void check_uploads(const struct tj *e, const struct s3m_xml_uploads *u)
{
    eq_str(e, "bucket", u->bucket);
    eq_bool(e, "is_truncated", u->is_truncated);
    eq_str(e, "key_marker", u->key_marker);
    eq_str(e, "upload_id_marker", u->upload_id_marker);
    eq_str(e, "next_key_marker", u->next_key_marker);
    eq_str(e, "next_upload_id_marker", u->next_upload_id_marker);
    eq_int(e, "max_uploads", u->max_uploads);
    const struct tj *ups = tj_get(e, "uploads");
    eq_count(ups, u->nuploads, "uploads");
    for (size_t i = 0; i < u->nuploads; i++) {
        eq_str(ups->items[i], "key", u->uploads[i].key);
        eq_str(ups->items[i], "upload_id", u->uploads[i].upload_id);
        eq_str(ups->items[i], "initiated", u->uploads[i].initiated);
        eq_str(ups->items[i], "storage_class", u->uploads[i].storage_class);
    }
    eq_count(tj_get(e, "common_prefixes"), u->nprefixes, "common_prefixes");
}

static unsigned kind_of_root(const char *root)
{
    static const struct {
        const char *root;
        unsigned kind;
    } map[] = {
        {"ListBucketResult", S3M_XML_LIST},
        {"ListAllMyBucketsResult", S3M_XML_BUCKETS},
        {"InitiateMultipartUploadResult", S3M_XML_INITIATE},
        {"CompleteMultipartUploadResult", S3M_XML_COMPLETE},
        {"CompleteMultipartUploadResponse", S3M_XML_COMPLETE},
        {"CopyObjectResult", S3M_XML_COPY},
        {"CopyPartResult", S3M_XML_COPY},
        {"DeleteResult", S3M_XML_DELETE},
        {"ListMultipartUploadsResult", S3M_XML_UPLOADS},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].root, root))
            return map[i].kind;
    return S3M_XML_LIST; /* error documents: as the reply to a listing */
}

/* parse whole, or fed in chunks of `chunk` bytes */
static enum s3m_err parse(const char *data, size_t len, unsigned accept, size_t chunk,
                          struct s3m_xml_result **res, struct s3m_errinfo *ei)
{
    if (!chunk)
        return s3m_xml_parse(data, len, accept, res, ei);
    struct s3m_xml_parser *p = s3m_xml_new(accept);
    enum s3m_err err = S3M_EOK;
    for (size_t off = 0; off < len && !err; off += chunk)
        err = s3m_xml_feed(p, data + off, len - off < chunk ? len - off : chunk, ei);
    if (!err)
        err = s3m_xml_finish(p, res, ei);
    else
        *res = NULL;
    s3m_xml_free(p);
    return err;
}

static void run_doc(const char *dir, const char *name, size_t chunk)
{
    char path[2048];
    size_t len, elen;
    snprintf(path, sizeof(path), "%s/%s.xml", dir, name);
    char *data = tj_read_file(path, &len);
    snprintf(path, sizeof(path), "%s/%s.expected.json", dir, name);
    char *etext = tj_read_file(path, &elen);
    assert_non_null(data);
    assert_non_null(etext);
    struct tj *e = tj_parse(etext, elen);
    cur_doc = name;
    const char *expect = tj_str(e, "expect");
    const char *root = tj_str(e, "root");
    assert_int_equal((size_t)tj_get(e, "bytes")->num, len);
    unsigned accept = root ? kind_of_root(root) : S3M_XML_LIST;
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    enum s3m_err err = parse(data, len, accept, chunk, &r, &ei);
    if (!strcmp(expect, "reject")) {
        if (!err)
            fail_msg("%s: accepted a document that must be refused", name);
        assert_null(r);
        assert_true(ei.message[0] != 0); /* a clear error */
        if (!chunk) {
            n_reject++;
            print_message("  %-45s refused: %s\n", name, ei.message);
        }
    } else {
        if (err)
            fail_msg("%s: refused a valid document: %s", name, ei.message);
        assert_string_equal(r->root, root);
        eq_str(e, "namespace", r->namespace_uri);
        if (!strcmp(expect, "error-document")) {
            assert_int_equal(r->kind, S3M_XML_ERROR);
            check_error(e, &r->error);
            n_error += !chunk;
        } else {
            assert_int_equal(r->kind, accept);
            n_parse += !chunk;
            switch (r->kind) {
            case S3M_XML_LIST: check_list(e, &r->list), check_sizes(e, &r->list); break;
            case S3M_XML_BUCKETS: check_buckets(e, &r->buckets); break;
            case S3M_XML_DELETE:
                check_deleted(tj_get(e, "deleted"), r->del.deleted, r->del.ndeleted, "deleted");
                check_deleted(tj_get(e, "errors"), r->del.errors, r->del.nerrors, "errors");
                break;
            case S3M_XML_UPLOADS: check_uploads(e, &r->uploads); break;
            default:
                eq_str(e, "location", r->single.location);
                eq_str(e, "bucket", r->single.bucket);
                eq_str(e, "key", r->single.key);
                eq_str(e, "upload_id", r->single.upload_id);
                eq_str(e, "etag", r->single.etag);
                eq_str(e, "last_modified", r->single.last_modified);
            }
        }
    }
    n_docs += !chunk;
    s3m_xml_result_free(r);
    tj_free(e);
    free(data);
    free(etext);
}

static void run_all(size_t chunk)
{
    static const char *const dirs[] = {"aws-docs", "botocore", "moto", "quirks", "hostile"};
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char rel[256], dir[1024];
        snprintf(rel, sizeof(rel), "s3-xml/%s", dirs[d]);
        tj_data_path(rel, dir, sizeof(dir));
        DIR *dh = opendir(dir);
        assert_non_null(dh);
        struct dirent *ent;
        while ((ent = readdir(dh))) {
            const char *suffix = ".expected.json";
            size_t n = strlen(ent->d_name), sl = strlen(suffix);
            if (n <= sl || strcmp(ent->d_name + n - sl, suffix))
                continue;
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)(n - sl), ent->d_name);
            run_doc(dir, name, chunk);
        }
        closedir(dh);
    }
}

static void test_corpus_whole(void **state)
{
    (void)state;
    run_all(0);
    print_message("s3-xml: %d documents: %d parsed, %d error documents, %d refused\n", n_docs,
                  n_parse, n_error, n_reject);
    assert_int_equal(n_docs, 69);
}

static void test_corpus_chunked(void **state)
{
    (void)state;
    run_all(7); /* the push parser must give the same answers when fed in small pieces */
    run_all(1000);
}

/* ListObjectsV2 page with the right root must be refused when another kind was asked for */
static void test_wrong_kind(void **state)
{
    (void)state;
    const char doc[] = "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
                       "</ListBucketResult>";
    struct s3m_xml_result *r;
    struct s3m_errinfo ei;
    assert_int_equal(s3m_xml_parse(doc, sizeof(doc) - 1, S3M_XML_DELETE, &r, &ei), S3M_EXML);
    assert_int_equal(s3m_xml_parse(doc, sizeof(doc) - 1, S3M_XML_LIST, &r, &ei), S3M_EOK);
    s3m_xml_result_free(r);
}

/* A listing page is complete only when it says so: without <IsTruncated> it is refused, as
 * it is with two of them or with a value other than true/false; fed whole or byte by byte. */
static enum s3m_err parse_list(const char *doc, size_t piece, struct s3m_xml_result **r,
                               struct s3m_errinfo *ei)
{
    struct s3m_xml_parser *p = s3m_xml_new(S3M_XML_LIST);
    size_t len = strlen(doc);
    enum s3m_err err = S3M_EOK;
    for (size_t off = 0; !err && off < len; off += piece)
        err = s3m_xml_feed(p, doc + off, len - off < piece ? len - off : piece, ei);
    if (!err)
        err = s3m_xml_finish(p, r, ei);
    else
        *r = NULL;
    s3m_xml_free(p);
    return err;
}

static void test_list_is_truncated_required(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "<ListBucketResult><Name>b</Name><KeyCount>1</KeyCount><Contents><Key>a</Key>"
        "<Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><NextContinuationToken>t"
        "</NextContinuationToken></ListBucketResult>",
        "<ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><IsTruncated>false"
        "</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Name>b</Name><IsTruncated>yes</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Name>b</Name><IsTruncated></IsTruncated></ListBucketResult>",
    };
    for (size_t piece = 1; piece <= 4096; piece *= 64) {
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
            struct s3m_xml_result *r;
            struct s3m_errinfo ei;
            if (parse_list(refused[i], piece, &r, &ei) != S3M_EXML)
                fail_msg("document %zu (pieces of %zu) was accepted", i, piece);
            assert_null(r);
            if (i < 2)
                assert_non_null(strstr(ei.message, "IsTruncated"));
        }
    }
}

/* an empty truncated page is a valid document (the lister decides whether it progresses) */
static void test_list_empty_truncated_page(void **state)
{
    (void)state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>"
                       "<Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount>"
                       "<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
                       "<ContinuationToken>tok</ContinuationToken>"
                       "<NextContinuationToken>tok</NextContinuationToken></ListBucketResult>";
    for (size_t piece = 1; piece <= 4096; piece *= 64) {
        struct s3m_xml_result *r;
        struct s3m_errinfo ei;
        assert_int_equal(parse_list(doc, piece, &r, &ei), S3M_EOK);
        assert_true(r->list.is_truncated);
        assert_int_equal(r->list.nobjects, 0);
        assert_string_equal(r->list.next_continuation_token, "tok");
        assert_string_equal(r->list.continuation_token, "tok");
        s3m_xml_result_free(r);
    }
    const char done[] = "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
                        "</ListBucketResult>";
    struct s3m_xml_result *r;
    struct s3m_errinfo ei;
    assert_int_equal(parse_list(done, 7, &r, &ei), S3M_EOK);
    assert_false(r->list.is_truncated);
    s3m_xml_result_free(r);
}

/* moto echoes StartAfter (and other request fields) unencoded under EncodingType=url: an echo
 * that does not decode is kept as sent and the page parses; keys stay strictly decoded */
static void test_list_undecodable_echoes(void **state)
{
    (void)state;
    const char doc[] = "<ListBucketResult><Name>b</Name><Prefix>a%b/</Prefix>"
                       "<StartAfter>a%b/c%zz</StartAfter><Marker>%</Marker>"
                       "<Delimiter>%G</Delimiter><KeyCount>1</KeyCount>"
                       "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                       "<Contents><Key>a%25b%2Fd+e</Key><Size>1</Size></Contents>"
                       "<CommonPrefixes><Prefix>a%25b%2Fs%2F</Prefix></CommonPrefixes>"
                       "</ListBucketResult>";
    for (size_t piece = 1; piece <= 4096; piece *= 64) {
        struct s3m_xml_result *r;
        struct s3m_errinfo ei;
        assert_int_equal(parse_list(doc, piece, &r, &ei), S3M_EOK);
        assert_string_equal(r->list.start_after, "a%b/c%zz");
        assert_string_equal(r->list.prefix, "a%b/");
        assert_string_equal(r->list.marker, "%");
        assert_string_equal(r->list.delimiter, "%G");
        assert_int_equal(r->list.nobjects, 1);
        assert_string_equal(r->list.objects[0].key, "a%b/d e");
        assert_int_equal(r->list.nprefixes, 1);
        assert_string_equal(r->list.common_prefixes[0], "a%b/s/");
        s3m_xml_result_free(r);
    }
    /* a key (or a common prefix, or NextMarker) that does not decode still fails the page */
    static const char *const bad[] = {
        "<Contents><Key>a%b</Key><Size>1</Size></Contents>",
        "<CommonPrefixes><Prefix>a%b/</Prefix></CommonPrefixes>",
        "<NextMarker>a%b</NextMarker>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char d[512];
        snprintf(d, sizeof(d),
                 "<ListBucketResult><Name>b</Name><EncodingType>url</EncodingType>"
                 "<IsTruncated>false</IsTruncated>%s</ListBucketResult>",
                 bad[i]);
        struct s3m_xml_result *r;
        struct s3m_errinfo ei;
        assert_int_equal(parse_list(d, 4096, &r, &ei), S3M_EXML);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_whole),
        cmocka_unit_test(test_corpus_chunked),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_list_is_truncated_required),
        cmocka_unit_test(test_list_empty_truncated_page),
        cmocka_unit_test(test_list_undecodable_echoes),
    };
    return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
