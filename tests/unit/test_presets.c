/* test_presets.c - the --layout presets against key names taken from each tool's own
 * description of its repository (restic doc/design.rst, kopia's source, Velero's object store
 * layout, Elasticsearch's blobstore javadoc, WAL-G's and pgBackRest's docs and source; see
 * docs/backup-repositories.md). Expected tiers follow the tools' write order: what points to
 * other objects lands after them. Detection: signatures, negatives and ambiguous buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "s3m/diff.h"
#include "s3m/presets.h"
#include "s3m/tiers.h"

#define EXCL -1 /* excluded: never mirrored */

struct expect {
    const char *key;
    int tier;
};

static void check_preset(const char *name, const struct expect *e, unsigned ntiers)
{
    struct s3m_tiers t;
    struct s3m_filter f;
    char err[256];
    s3m_tiers_init(&t);
    s3m_filter_init(&f, 0);
    assert_true(s3m_preset_apply(name, &t, &f, err, sizeof(err)));
    assert_int_equal(t.ntiers, ntiers);
    for (; e->key; e++) {
        int got = s3m_filter_match_name(&f, e->key) ? (int)s3m_tiers_of(&t, e->key) : EXCL;
        if (got != e->tier)
            fail_msg("%s: %s: tier %d, expected %d", name, e->key, got, e->tier);
    }
    s3m_filter_cleanup(&f);
    s3m_tiers_cleanup(&t);
}

/* restic design.rst, "Repository Layout", "S3 Legacy Layout", "Locks", "Read and Write
 * Ordering": packs, then indexes, then snapshots; locks are not repository content */
static void test_restic(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"config", 0},
        {"keys/b02de829beeb3c01a63e6b25cbd421a98fef144f03b9a02e46eff9e2ca3f0bd7", 0},
        {"data/21/2159dd48f8a24f33c307b750592773f8b71ff8d11452132a7b2e2a6a01611be1", 0},
        {"data/73/73d04e6125cf3c28a299cc2f3cca3b78ceac396e4fcf9575e34536b26782413c", 0},
        {"index/c38f5fb68307c6a3e3aa945d556e325dc38f5fb68307c6a3e3aa945d556e325d", 1},
        {"index/ca171b1b7394d90d330b265d90f506f9984043b342525f019788f97e745c71fd", 1},
        {"snapshots/22a5af1bdc6e616f8a29579458c49627e01b32210d09adb288d1ecda7c5711ec", 2},
        {"locks/5d4e0e8b0e1e0f4f2b2e0b0a3c3d6e1f7a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", EXCL},
        /* the S3 legacy layout: singular names, packs directly below data/ */
        {"data/2159dd48f8a24f33c307b750592773f8b71ff8d11452132a7b2e2a6a01611be1", 0},
        {"key/b02de829beeb3c01a63e6b25cbd421a98fef144f03b9a02e46eff9e2ca3f0bd7", 0},
        {"snapshot/22a5af1bdc6e616f8a29579458c49627e01b32210d09adb288d1ecda7c5711ec", 2},
        {"lock/5d4e0e8b0e1e0f4f2b2e0b0a3c3d6e1f7a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", EXCL},
        /* only at the repository's root */
        {"data/index/x", 0},
        {NULL, 0},
    };
    check_preset("restic", e, 2);
}

/* kopia: p/q packs are data; index blobs (n, xn, xs, xr) make their contents visible; epoch
 * markers xe (whose storage timestamps decide which index blobs count), deletion watermarks xw,
 * compaction logs m and cleanup blobs l come after the index blobs */
static void test_kopia(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"kopia.repository", 0},
        {"kopia.blobcfg", 0},
        {"kopia.maintenance", 0},
        {"kopia.reserve", 0},                    /* the storage reserve (repo/storagereserve) */
        {"kopia.repository.backup.20261201", 0}, /* the format blob kept by an upgrade */
        {"p0a1b2c3d4e5f60718293a4b5c6d7e8f9-s1a2b3c4d5e6f7a8b-c1", 0},
        {"q9f8e7d6c5b4a39281706f5e4d3c2b1a0-s1a2b3c4d5e6f7a8b-c1", 0},
        {"s1a2b3c4d5e6f7a8b", 0}, /* session marker */
        {"_log_20261201050000_3f2a_1764565200_1764565260_1_0123456789abcdef", 0},
        {"xn0_4f2b9c1e7a8d6b5c3a2e1f0d9c8b7a6e-s1a2b3c4d5e6f7a8b-c1", 1},
        {"xn12_4f2b9c1e7a8d6b5c3a2e1f0d9c8b7a6e-s1a2b3c4d5e6f7a8b-c1", 1},
        {"xs3_7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f-1-1", 1},
        {"xr0_6_7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f-1-1", 1},
        {"n4f2b9c1e7a8d6b5c3a2e1f0d9c8b7a6e-s1a2b3c4d5e6f7a8b-c1", 1}, /* legacy index */
        {"xe0", 2},
        {"xe13", 2},
        {"xw1764565200", 2},
        {"m1b2c3d4e5f6a7b8c-s1a2b3c4d5e6f7a8b-c1", 2},
        {NULL, 0},
    };
    check_preset("kopia", e, 2);
}

/* Velero: backups/<name>/ (velero-backup.json is what the sync controller takes as a backup),
 * restores/<name>/, kopia/<namespace>/ and restic/<namespace>/ repositories */
static void test_velero(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"backups/nightly-20261201050000/velero-backup.json", 3},
        {"backups/nightly-20261201050000/nightly-20261201050000.tar.gz", 0},
        {"backups/nightly-20261201050000/nightly-20261201050000-logs.gz", 0},
        {"backups/nightly-20261201050000/nightly-20261201050000-podvolumebackups.json.gz", 0},
        {"backups/nightly-20261201050000/nightly-20261201050000-volumesnapshots.json.gz", 0},
        {"backups/nightly-20261201050000/nightly-20261201050000-resource-list.json.gz", 0},
        {"backups/nightly-20261201050000/nightly-20261201050000-csi-volumesnapshots.json.gz", 0},
        {"restores/r1/restore-r1-logs.gz", 0},
        {"metadata/revision", 0},
        {"kopia/monitoring/kopia.repository", 0},
        {"kopia/monitoring/p0a1b2c3d4e5f60718293a4b5c6d7e8f9-s1a2b3c4d5e6f7a8b-c1", 0},
        {"kopia/monitoring/q9f8e7d6c5b4a39281706f5e4d3c2b1a0-s1a2b3c4d5e6f7a8b-c1", 0},
        {"kopia/monitoring/xn3_4f2b9c1e7a8d6b5c3a2e1f0d9c8b7a6e-s1a2b3c4d5e6f7a8b-c1", 1},
        {"kopia/monitoring/xe3", 2},
        {"restic/monitoring/config", 0},
        {"restic/monitoring/data/ab/abcdef0123456789", 0},
        {"restic/monitoring/index/abcdef0123456789", 1},
        {"restic/monitoring/snapshots/abcdef0123456789", 2},
        {"restic/monitoring/locks/abcdef0123456789", EXCL},
        {"locks/abcdef0123456789", 0}, /* not a repository's lock */
        /* a location with a prefix (BackupStorageLocation objectStorage.prefix) */
        {"workload-cluster/backups/b1/velero-backup.json", 3},
        {"workload-cluster/backups/b1/b1.tar.gz", 0},
        {"workload-cluster/kopia/monitoring/xn3_4f2b9c1e-s1a2b3c4d5e6f7a8b-c1", 1},
        {"workload-cluster/kopia/monitoring/xe3", 2},
        {"workload-cluster/restic/monitoring/locks/abcdef0123456789", EXCL},
        /* a backup named "kopia" is not a repository */
        {"backups/kopia/kopia.tar.gz", 0},
        {"backups/kopia/velero-backup.json", 3},
        {NULL, 0},
    };
    check_preset("velero", e, 3);
}

/* Elasticsearch's blobstore javadoc: segments __*, then the shard's snap-*.dat, then its
 * index-N; index metadata at the start; the root snap-*.dat, then index-N, then index.latest */
static void test_elasticsearch(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"indices/Ac1342-B_x/0/__1", 0},
        {"indices/Ac1342-B_x/0/__VPO5oDMVT5y4Akv8T_AO_A", 0},
        {"indices/Ac1342-B_x/1/__R8JvZAHlSMyMXyZc2SS8Zg", 0},
        {"indices/Ac1342-B_x/meta-20131010.dat", 1},
        {"indices/Ac1342-B_x/0/snap-20131010.dat", 1},
        {"meta-20131010.dat", 1},
        {"indices/Ac1342-B_x/0/index-123", 2},
        {"indices/Ac1342-B_x/0/index-Lq5hx2VUQ0GbXrGGvV8sfA", 2}, /* a UUID generation */
        {"snap-20131010.dat", 2},
        {"index-7", 3},
        {"incompatible-snapshots", 3},
        {"index.latest", 4},
        {"tests-Dsx8GkTqRB6nH1b7mAcb2A/master.dat", EXCL},
        {"tests-Dsx8GkTqRB6nH1b7mAcb2A/data-vVb3F3mPQxqT0Y8b5p4b9w.dat", EXCL},
        {NULL, 0},
    };
    check_preset("elasticsearch", e, 4);
}

/* WAL-G: a base backup counts once its sentinel exists; WAL segments are data */
static void test_walg(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"basebackups_005/base_000000010000000000000002_backup_stop_sentinel.json", 1},
        /* a delta names its base (DeltaFrom): its sentinel after the full ones */
        {"basebackups_005/"
         "base_000000010000000000000009_D_000000010000000000000002_backup_stop_sentinel.json",
         2},
        {"basebackups_005/base_000000010000000000000002/metadata.json", 0},
        {"basebackups_005/base_000000010000000000000002/tar_partitions/part_1.tar.lz4", 0},
        {"basebackups_005/base_000000010000000000000002/tar_partitions/pg_control.tar.lz4", 0},
        {"basebackups_005/base_000000010000000000000002/files_metadata.json", 0},
        {"wal_005/000000010000000000000001.lz4", 0},
        {"wal_005/00000002.history.lz4", 0},
        /* Spilo (Zalando's postgres-operator): spilo/<cluster>/wal/<version>/ in one bucket */
        {"spilo/acid-main/wal/14/basebackups_005/"
         "base_000000010000000000000002_backup_stop_sentinel.json",
         1},
        {"spilo/acid-main/wal/14/basebackups_005/base_000000010000000000000002/tar_partitions/"
         "part_1.tar.lz4",
         0},
        {"spilo/acid-main/wal/14/wal_005/000000010000000000000001.lz4", 0},
        /* WAL-E's layout, which WAL-G kept: the same sentinel */
        {"basebackups_005/base_000000010000000000000002_00000040_backup_stop_sentinel.json", 1},
        {"basebackups_005/base_000000010000000000000002_00000040/extended_version.txt", 0},
        {NULL, 0},
    };
    check_preset("wal-g", e, 2);
}

/* pgBackRest: files, then backup.manifest.copy, backup.manifest, then the info files */
static void test_pgbackrest(void **state)
{
    (void)state;
    static const struct expect e[] = {
        {"backup/demo/20261201-050000F/pg_data/PG_VERSION.gz", 0},
        {"backup/demo/20261201-050000F/pg_data/base/1/1259.gz", 0},
        {"backup/demo/20261201-050000F/bundle/1", 0},
        {"backup/demo/20261201-050000F/backup.manifest.copy", 1},
        {"backup/demo/20261201-050000F/backup.manifest", 2},
        {"backup/demo/20261201-050000F_20261202-050000I/backup.manifest", 2},
        {"backup/demo/backup.history/2026/20261201-050000F.manifest.gz", 0},
        {"backup/demo/backup.info", 3},
        {"backup/demo/backup.info.copy", 3},
        {"archive/demo/archive.info", 0}, /* restore reads it */
        {"archive/demo/archive.info.copy", 0},
        {"archive/demo/16-1/0000000100000000/"
         "000000010000000000000001-7ff2b7d9c5a1e6f0b3c4d2e8a9f1b0c7d6e5a4b3.gz",
         0},
        {"archive/demo/16-1/00000002.history", 0},
        /* as pgBackRest 2.45 wrote them (a full and an incremental backup, posix repository) */
        {"archive/demo/15-1/0000000100000000/000000010000000000000002.00000028.backup", 0},
        {"backup/demo/20261202-034017F_20261202-034035I/backup.manifest.copy", 1},
        {"backup/demo/backup.history/2026/20261202-034017F_20261202-034035I.manifest.gz", 0},
        /* repo1-path /var/lib/pgbackrest (the default) on S3 */
        {"var/lib/pgbackrest/backup/demo/20261201-050000F/pg_data/PG_VERSION.gz", 0},
        {"var/lib/pgbackrest/backup/demo/20261201-050000F/backup.manifest", 2},
        {"var/lib/pgbackrest/backup/demo/backup.info", 3},
        {"var/lib/pgbackrest/archive/demo/archive.info", 0},
        /* a file of the database named like a manifest stays data */
        {"backup/demo/20261201-050000F/pg_data/backup.manifest", 0},
        {NULL, 0},
    };
    check_preset("pgbackrest", e, 3);
}

static void test_apply_appends_and_excludes_first(void **state)
{
    (void)state;
    struct s3m_tiers t;
    struct s3m_filter f;
    char err[256];
    s3m_tiers_init(&t);
    s3m_filter_init(&f, 0);
    /* --copy-last '*.manifest' --include '**' --layout restic */
    assert_true(s3m_tiers_add(&t, 1, "*.manifest"));
    assert_true(s3m_filter_add(&f, true, "**"));
    assert_true(s3m_preset_apply("restic", &t, &f, err, sizeof(err)));
    assert_int_equal(t.ntiers, 3); /* restic's two tiers after the one already there */
    assert_int_equal(s3m_tiers_of(&t, "x.manifest"), 1);
    assert_int_equal(s3m_tiers_of(&t, "index/abc"), 2);
    assert_int_equal(s3m_tiers_of(&t, "snapshots/abc"), 3);
    assert_false(f.rules[0].include); /* the excludes come before --include '**' */
    assert_false(s3m_filter_match_name(&f, "locks/abc"));
    assert_true(s3m_filter_match_name(&f, "data/ab/abc"));
    assert_true(f.rules[f.nrules - 1].include);
    s3m_filter_cleanup(&f);
    s3m_tiers_cleanup(&t);

    /* the CLI's order: --layout velero, then --copy-last '*.manifest' one tier after it */
    s3m_tiers_init(&t);
    s3m_filter_init(&f, 0);
    assert_true(s3m_preset_apply("velero", &t, &f, err, sizeof(err)));
    assert_true(s3m_tiers_add(&t, t.ntiers + 1, "*.manifest"));
    assert_int_equal(t.ntiers, 4);
    assert_int_equal(s3m_tiers_of(&t, "backups/b1/velero-backup.json"), 3);
    assert_int_equal(s3m_tiers_of(&t, "x/y.manifest"), 4);
    assert_int_equal(f.nrules, 2); /* restic's two lock globs under restic/<ns>/ */
    s3m_filter_cleanup(&f);
    s3m_tiers_cleanup(&t);
}

static void test_apply_unknown(void **state)
{
    (void)state;
    struct s3m_tiers t;
    struct s3m_filter f;
    char err[256] = "";
    s3m_tiers_init(&t);
    s3m_filter_init(&f, 0);
    assert_false(s3m_preset_apply("borg", &t, &f, err, sizeof(err)));
    assert_non_null(strstr(err, "borg"));
    assert_false(s3m_preset_apply("auto", &t, &f, err, sizeof(err))); /* the CLI's, not a table */
    assert_false(s3m_preset_apply("Restic", &t, &f, err, sizeof(err)));
    assert_int_equal(t.nglobs, 0);
    assert_int_equal(f.nrules, 0);
    assert_null(s3m_preset_summary("borg"));
    size_t n = 0;
    for (; s3m_preset_names[n]; n++)
        assert_non_null(s3m_preset_summary(s3m_preset_names[n]));
    assert_int_equal(n, 6);
    s3m_filter_cleanup(&f);
    s3m_tiers_cleanup(&t);
}

struct detect_case {
    const char *names[10];
    const char *want; /* NULL: nothing, or more than one */
    size_t ncand;
};

static void test_detect(void **state)
{
    (void)state;
    static const struct detect_case cases[] = {
        {{"config", "data/", "index/", "keys/", "locks/", "snapshots/"}, "restic", 1},
        {{"config", "data/", "index/", "key/", "lock/", "snapshot/"}, "restic", 1},
        {{"config", "keys/"}, "restic", 1}, /* just after restic init */
        {{"_log_20261201050000_3f2a", "kopia.blobcfg", "kopia.maintenance", "kopia.repository",
          "p0a1b2c3", "q9f8e7d6", "xe0", "xn0_4f2b9c1e"},
         "kopia",
         1},
        {{"backups/", "kopia/", "metadata/", "restores/"}, "velero", 1},
        {{"backups/", "restic/"}, "velero", 1},
        {{"backups/"}, "velero", 1},
        {{"index-12", "index.latest", "indices/", "meta-x.dat", "snap-x.dat"}, "elasticsearch", 1},
        {{"index-0", "indices/"}, "elasticsearch", 1},
        {{"index.latest"}, "elasticsearch", 1},
        {{"basebackups_005/", "wal_005/"}, "wal-g", 1},
        {{"wal_005/"}, "wal-g", 1},
        {{"archive/", "backup/"}, "pgbackrest", 1},
        /* nothing fits */
        {{NULL}, NULL, 0},
        {{"config"}, NULL, 0},
        {{"keys/", "data/", "index/"}, NULL, 0},
        {{"config", "keys"}, NULL, 0}, /* an object "keys", not the directory */
        {{"indices/"}, NULL, 0},
        {{"index-x", "indices/"}, NULL, 0},
        {{"index-", "indices/"}, NULL, 0},
        {{"index-12"}, NULL, 0},
        {{"backup/"}, NULL, 0},
        {{"archive/"}, NULL, 0},
        {{"kopia/"}, NULL, 0},
        {{"basebackups_004/"}, NULL, 0},
        {{"20261201T050000Z.manifest", "20261201T050000Z.meta", "20261201T050000Z.s1.tar.gz"},
         NULL,
         0}, /* influxd backup: no preset, --copy-last '*.manifest' */
        /* more than one fits: ambiguous */
        {{"backups/", "config", "keys/"}, NULL, 2},
        {{"backups/", "kopia.repository"}, NULL, 2},
        {{"basebackups_005/", "index.latest"}, NULL, 2},
        {{"archive/", "backup/", "backups/"}, NULL, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct detect_case *c = &cases[i];
        size_t n = 0;
        while (n < 10 && c->names[n])
            n++;
        const char *got = s3m_preset_detect(c->names, n);
        if (c->want ? !got || strcmp(got, c->want) : got != NULL)
            fail_msg("case %zu: detected %s, expected %s", i, got ? got : "(none)",
                     c->want ? c->want : "(none)");
        const char *cand[6];
        assert_int_equal(s3m_preset_candidates(c->names, n, cand, 6), c->ncand);
        if (c->want)
            assert_string_equal(cand[0], c->want);
    }
    /* the candidates of an ambiguous bucket, in s3m_preset_names order, bounded by max */
    const char *const both[] = {"backups/", "config", "keys/"};
    const char *cand[1] = {NULL};
    assert_int_equal(s3m_preset_candidates(both, 3, cand, 1), 2);
    assert_string_equal(cand[0], "restic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restic),
        cmocka_unit_test(test_kopia),
        cmocka_unit_test(test_velero),
        cmocka_unit_test(test_elasticsearch),
        cmocka_unit_test(test_walg),
        cmocka_unit_test(test_pgbackrest),
        cmocka_unit_test(test_apply_appends_and_excludes_first),
        cmocka_unit_test(test_apply_unknown),
        cmocka_unit_test(test_detect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
