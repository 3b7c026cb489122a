/* test_config.c - rclone.conf parsing, ${VAR} expansion, RCLONE_CONFIG_* overrides, env_auth,
 * remote specs and endpoint addressing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/config.h"

/* a fake environment: "NAME=value" strings */
static const char *fake_env[16];

static const char *fake_getenv(const char *name, void *ud)
{
    (void)ud;
    size_t n = strlen(name);
    for (size_t i = 0; fake_env[i]; i++)
        if (!strncmp(fake_env[i], name, n) && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    return NULL;
}

static void set_env(const char *const *vars)
{
    size_t i = 0;
    for (; vars && vars[i]; i++)
        fake_env[i] = vars[i];
    fake_env[i] = NULL;
}

/* The seed runbook's rclone.conf shape, with the envsubst variables left in. */
static const char seed_conf[] = "[safespring-sto2]\n"
                                "type = s3\n"
                                "provider = Ceph\n"
                                "env_auth = false\n"
                                "access_key_id = ${STO2_ACCESS_KEY_ID}\n"
                                "secret_access_key = ${STO2_SECRET_ACCESS_KEY_ID}\n"
                                "endpoint = https://s3.sto2.safedc.net\n"
                                "acl = private\n"
                                "\n"
                                "# the replica site\n"
                                "[safespring-osl1]\n"
                                "type = s3\n"
                                "provider = Ceph\n"
                                "access_key_id = $OSL1_ACCESS_KEY_ID\n"
                                "secret_access_key = $OSL1_SECRET_ACCESS_KEY_ID\n"
                                "endpoint = s3.osl1.safedc.net\n"
                                "region = osl1\n"
                                "force_path_style = false\n";

static void test_seed_config(void **state)
{
    (void)state;
    const char *env[] = {"STO2_ACCESS_KEY_ID=AK2", "STO2_SECRET_ACCESS_KEY_ID=sk2$x",
                         "OSL1_ACCESS_KEY_ID=AK1", "OSL1_SECRET_ACCESS_KEY_ID=sk1", NULL};
    set_env(env);
    struct s3m_config c;
    struct s3m_errinfo ei;
    s3m_config_init(&c);
    assert_int_equal(s3m_config_parse(&c, seed_conf, strlen(seed_conf), "rclone.conf", fake_getenv,
                                      NULL, &ei),
                     S3M_EOK);
    assert_int_equal(c.nremotes, 2);
    const struct s3m_remote *a = s3m_config_find(&c, "safespring-sto2");
    assert_non_null(a);
    assert_string_equal(a->type, "s3");
    assert_string_equal(a->provider, "Ceph");
    assert_string_equal(a->access_key_id, "AK2");
    assert_string_equal(a->secret_access_key, "sk2$x"); /* expanded once, not recursively */
    assert_string_equal(a->endpoint, "https://s3.sto2.safedc.net");
    assert_true(a->force_path_style);
    assert_false(a->env_auth);
    assert_string_equal(a->origin, "rclone.conf:1");
    const struct s3m_remote *b = s3m_config_find(&c, "safespring-osl1");
    assert_string_equal(b->access_key_id, "AK1");
    assert_string_equal(b->region, "osl1");
    assert_false(b->force_path_style);
    assert_int_equal(s3m_remote_check(a, &ei), S3M_EOK);

    struct s3m_endpoint ep;
    assert_int_equal(s3m_endpoint_resolve(a, "velero-tempus", &ep, &ei), S3M_EOK);
    assert_string_equal(ep.host, "s3.sto2.safedc.net");
    assert_string_equal(ep.base_url, "https://s3.sto2.safedc.net");
    assert_string_equal(ep.path_base, "/velero-tempus");
    s3m_endpoint_cleanup(&ep);
    assert_int_equal(s3m_endpoint_resolve(b, "velero-tempus", &ep, &ei), S3M_EOK);
    assert_string_equal(ep.host, "velero-tempus.s3.osl1.safedc.net"); /* virtual-hosted */
    assert_string_equal(ep.base_url, "https://velero-tempus.s3.osl1.safedc.net");
    assert_string_equal(ep.path_base, "");
    s3m_endpoint_cleanup(&ep);
    /* dotted bucket on https cannot be virtual-hosted (certificate): path style */
    assert_int_equal(s3m_endpoint_resolve(b, "a.b.c", &ep, &ei), S3M_EOK);
    assert_string_equal(ep.host, "s3.osl1.safedc.net");
    assert_string_equal(ep.path_base, "/a.b.c");
    s3m_endpoint_cleanup(&ep);
    s3m_config_cleanup(&c);
}

static void test_unset_variable_names_it_not_secret(void **state)
{
    (void)state;
    const char *env[] = {"STO2_ACCESS_KEY_ID=AK2", NULL};
    set_env(env);
    struct s3m_config c;
    struct s3m_errinfo ei;
    s3m_config_init(&c);
    assert_int_equal(s3m_config_parse(&c, seed_conf, strlen(seed_conf), "/etc/rclone.conf",
                                      fake_getenv, NULL, &ei),
                     S3M_ECONFIG);
    assert_non_null(strstr(ei.message, "/etc/rclone.conf:6"));
    assert_non_null(strstr(ei.message, "STO2_SECRET_ACCESS_KEY_ID"));
    assert_non_null(strstr(ei.message, "not set"));
    s3m_config_cleanup(&c);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"type = s3\n", "rclone.conf:1: 'key = value' before any [remote] section"},
        {"[a]\ntype = s3\nsecret_access_key SUPERSECRET\n",
         "rclone.conf:3: expected 'key = value'"},
        {"[a\n", "rclone.conf:1: section header must be [name]"},
        {"[a]\n[a]\n", "rclone.conf:2: remote [a] defined twice"},
        {"[a]\nenv_auth = maybe\n", "rclone.conf:2: env_auth must be true or false"},
        {"[a]\nsecret_access_key = ${BROKEN\n", "rclone.conf:2: secret_access_key refers to "
                                                "environment variable ${...}, which is not set"},
    };
    set_env(NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct s3m_config c;
        struct s3m_errinfo ei;
        s3m_config_init(&c);
        assert_int_equal(s3m_config_parse(&c, cases[i].text, strlen(cases[i].text), "rclone.conf",
                                          fake_getenv, NULL, &ei),
                         S3M_ECONFIG);
        assert_string_equal(ei.message, cases[i].want);
        assert_null(strstr(ei.message, "SUPERSECRET"));
        s3m_config_cleanup(&c);
    }
}

static void test_unknown_keys_comments_bom(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF; comment\n[x]\r\ntype = s3\r\nchunk_size = 64M\r\n"
                        "  upload_concurrency=8  \r\nendpoint = http://127.0.0.1:9000/\r\n"
                        "no_check_certificate = true\n";
    struct s3m_config c;
    struct s3m_errinfo ei;
    s3m_config_init(&c);
    assert_int_equal(s3m_config_parse(&c, text, strlen(text), "f", fake_getenv, NULL, &ei),
                     S3M_EOK);
    assert_int_equal(c.nremotes, 1);
    assert_true(c.remotes[0].no_check_certificate);
    struct s3m_endpoint ep;
    assert_int_equal(s3m_endpoint_resolve(&c.remotes[0], "bkt", &ep, &ei), S3M_EOK);
    assert_string_equal(ep.base_url, "http://127.0.0.1:9000");
    assert_string_equal(ep.path_base, "/bkt");
    s3m_endpoint_cleanup(&ep);
    s3m_config_cleanup(&c);
}

static void test_env_overrides_and_env_auth(void **state)
{
    (void)state;
    const char text[] = "[sto2]\ntype = s3\nendpoint = http://old:1\nenv_auth = true\n";
    char *envp[] = {"RCLONE_CONFIG_STO2_ENDPOINT=http://127.0.0.1:7480",
                    "RCLONE_CONFIG_NEW_REMOTE_TYPE=s3",
                    "RCLONE_CONFIG_NEW_REMOTE_ACCESS_KEY_ID=NEWAK",
                    "RCLONE_CONFIG_NEW_REMOTE_SECRET_ACCESS_KEY=newsk",
                    "RCLONE_CONFIGX=1",
                    "PATH=/bin",
                    NULL};
    const char *env[] = {"AWS_ACCESS_KEY_ID=ENVAK", "AWS_SECRET_ACCESS_KEY=envsk",
                         "AWS_SESSION_TOKEN=tok", "AWS_DEFAULT_REGION=sto2", NULL};
    set_env(env);
    struct s3m_config c;
    struct s3m_errinfo ei;
    s3m_config_init(&c);
    assert_int_equal(s3m_config_parse(&c, text, strlen(text), "f", fake_getenv, NULL, &ei), 0);
    assert_int_equal(s3m_config_apply_env(&c, envp, fake_getenv, NULL, &ei), S3M_EOK);
    const struct s3m_remote *a = s3m_config_find(&c, "sto2");
    assert_string_equal(a->endpoint, "http://127.0.0.1:7480");
    assert_string_equal(a->access_key_id, "ENVAK");
    assert_string_equal(a->secret_access_key, "envsk");
    assert_string_equal(a->session_token, "tok");
    assert_string_equal(a->region, "sto2");
    const struct s3m_remote *n = s3m_config_find(&c, "new_remote");
    assert_non_null(n);
    assert_string_equal(n->type, "s3");
    assert_string_equal(n->access_key_id, "NEWAK");
    assert_string_equal(n->origin, "environment");
    s3m_config_cleanup(&c);
}

static void test_expand(void **state)
{
    (void)state;
    const char *env[] = {"A=1", "B_2=two", "EMPTY=", NULL};
    set_env(env);
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"x${A}y", "x1y"}, {"$A$B_2", "1two"}, {"$$A", "$A"},      {"cost $5", "cost $5"},
        {"${EMPTY}", ""},  {"a$", "a$"},       {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *out = NULL, missing[64];
        assert_int_equal(s3m_config_expand(ok[i].in, fake_getenv, NULL, &out, missing, 64), 0);
        assert_string_equal(out, ok[i].out);
        free(out);
    }
    char *out = NULL, missing[64];
    assert_int_equal(s3m_config_expand("${NOPE}", fake_getenv, NULL, &out, missing, 64),
                     S3M_ECONFIG);
    assert_string_equal(missing, "NOPE");
}

static void test_specs(void **state)
{
    (void)state;
    struct s3m_spec s;
    struct s3m_errinfo ei;
    assert_int_equal(s3m_spec_parse("sto2:", &s, &ei), S3M_EOK);
    assert_string_equal(s.remote, "sto2");
    assert_string_equal(s.bucket, "");
    assert_string_equal(s.prefix, "");
    s3m_spec_cleanup(&s);
    assert_int_equal(s3m_spec_parse("sto2:bucket", &s, &ei), S3M_EOK);
    assert_string_equal(s.bucket, "bucket");
    assert_string_equal(s.prefix, "");
    s3m_spec_cleanup(&s);
    assert_int_equal(s3m_spec_parse("osl1:my-bucket/some/prefix/", &s, &ei), S3M_EOK);
    assert_string_equal(s.remote, "osl1");
    assert_string_equal(s.bucket, "my-bucket");
    assert_string_equal(s.prefix, "some/prefix/");
    s3m_spec_cleanup(&s);
    const char *bad[] = {"nocolon", ":bucket", "r:a", "r:Bad Bucket", "re mote:bucket"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(s3m_spec_parse(bad[i], &s, &ei), S3M_EUSAGE);
        assert_non_null(strstr(ei.message, bad[i]));
    }
}

/* A path names a folder (rclone's REMOTE:BUCKET/PATH): the prefix ends in exactly one '/'.
 * S3 keys are not normalised, so a path with an empty, '.' or '..' segment is refused. */
static void test_spec_folders(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *bucket, *prefix;
    } ok[] = {
        {"r:b00/backup", "b00", "backup/"},
        {"r:b00/backup/", "b00", "backup/"},
        {"r:/b00/backup", "b00", "backup/"}, /* rclone's remote:/bucket */
        {"r:///b00/a/b", "b00", "a/b/"},
        {"r:b00/", "b00", ""},
        {"r:/", "", ""},
        {"r:b00/a.b/..c/.d./x y/%2e", "b00", "a.b/..c/.d./x y/%2e/"},
        {"r:b00/\xc3\xa9t\xc3\xa9", "b00", "\xc3\xa9t\xc3\xa9/"},
    };
    struct s3m_spec s;
    struct s3m_errinfo ei;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(s3m_spec_parse(ok[i].spec, &s, &ei), S3M_EOK);
        assert_string_equal(s.bucket, ok[i].bucket);
        assert_string_equal(s.prefix, ok[i].prefix);
        s3m_spec_cleanup(&s);
    }
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"r:b00//x", "empty segment"},    {"r:b00/x//", "empty segment"},
        {"r:b00/x//y", "empty segment"},  {"r:b00//", "empty segment"},
        {"r:b00/.", "'.' segment"},       {"r:b00/./x", "'.' segment"},
        {"r:b00/x/./", "'.' segment"},    {"r:b00/..", "'..' segment"},
        {"r:b00/a/../b", "'..' segment"}, {"r:b00/a/..", "'..' segment"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(s3m_spec_parse(bad[i].spec, &s, &ei), S3M_EUSAGE);
        assert_non_null(strstr(ei.message, bad[i].spec));
        assert_non_null(strstr(ei.message, bad[i].why));
        assert_null(s.prefix);
    }
    /* a key has at most 1024 bytes: the folder's prefix (with its '/') too */
    char path[1100];
    memset(path, 'a', sizeof(path));
    path[1024] = 0;
    char *p;
    assert_int_equal(s3m_path_folder(path, &p, &ei), S3M_EUSAGE);
    assert_null(p);
    path[1023] = 0;
    assert_int_equal(s3m_path_folder(path, &p, &ei), S3M_EOK);
    assert_int_equal(strlen(p), 1024);
    assert_int_equal(p[1023], '/');
    free(p);
}

static void test_remote_check(void **state)
{
    (void)state;
    struct s3m_remote r = {.name = "x", .type = "drive", .origin = "f:1"};
    struct s3m_errinfo ei;
    assert_int_equal(s3m_remote_check(&r, &ei), S3M_ECONFIG);
    assert_string_equal(ei.message, "remote x (f:1): type is 'drive', s3mirror needs s3");
    r.type = "s3";
    r.access_key_id = "AK";
    assert_int_equal(s3m_remote_check(&r, &ei), S3M_ECONFIG);
    r.env_auth = true;
    r.access_key_id = NULL;
    assert_int_equal(s3m_remote_check(&r, &ei), S3M_ECONFIG);
    assert_non_null(strstr(ei.message, "AWS_ACCESS_KEY_ID"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_config),
        cmocka_unit_test(test_unset_variable_names_it_not_secret),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unknown_keys_comments_bom),
        cmocka_unit_test(test_env_overrides_and_env_auth),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_specs),
        cmocka_unit_test(test_spec_folders),
        cmocka_unit_test(test_remote_check),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
