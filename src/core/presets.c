/* presets.c - the "--layout" presets: per backup tool, which keys point to others (copied in
 * later tiers, deleted first) and which must not be mirrored at all; and the detection of a
 * layout from the top-level names of a bucket ("--layout auto").
 *
 * Every rule below comes from the tool's own description of its repository (cited per preset;
 * the same sources, with sections, are in docs/backup-repositories.md). Tier 0 is everything no
 * rule names: the data. A rule's tier is relative: applied after N tiers already there (from
 * --copy-last), tier k becomes N + k.
 *
 * Anchoring: restic, kopia and Elasticsearch name their files data/, index/, p*, index-N, names
 * too common to look for anywhere but at the repository's root, so their rules start with '/'
 * and the job's prefix must be that root. Velero's, WAL-G's and pgBackRest's names are their
 * own (backups/<b>/velero-backup.json, basebackups_005/, backup/<stanza>/backup.info), so their
 * rules match at any depth: one job mirrors a bucket holding several repositories under their
 * prefixes (Spilo's spilo/<cluster>/wal/<version>/, a Velero location's prefix). */
#include "s3m/presets.h"
#include "s3m/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXCLUDE 0 /* a rule's tier 0: never mirrored */

struct rule {
    unsigned tier; /* 1.. (ascending within a table), or EXCLUDE */
    const char *glob;
};

/* restic, References > Design (https://restic.readthedocs.io/en/stable/100_references.html,
 * doc/design.rst), sections "Repository Layout", "S3 Legacy Layout", "Locks" and "Read and
 * Write Ordering": "First, pack files ... Then the indexes which reference blobs in these
 * already written pack files. And finally the corresponding snapshots"; "a pack must be removed
 * from the referencing index before it is deleted". locks/ holds the locks of running commands,
 * which on a mirror would only block or mislead. The S3 legacy layout: key/, lock/, snapshot/. */
static const struct rule restic_rules[] = {
    {EXCLUDE, "/locks/**"}, {EXCLUDE, "/lock/**"}, {1, "/index/**"},
    {2, "/snapshots/**"},   {2, "/snapshot/**"},   {0, NULL},
};

/* kopia, Architecture (https://kopia.io/docs/advanced/architecture/, "Content-Addressable Block
 * Storage": contents go into packs, found through index blobs) and, for the names, its source:
 * repo/content/content_manager.go (p data packs, q metadata packs: manifests, directories),
 * repo/content/indexblob (n legacy index, m compaction log, l cleanup),
 * internal/epoch/epoch_manager.go (xn uncompacted, xs single-epoch and xr range-compacted index
 * blobs, xe epoch markers, xw deletion watermarks). Index after packs. Markers last: a reader
 * drops the uncompacted index blobs of epoch N written after the marker of N + 2 by the
 * storage's timestamps (refreshAttemptLocked), which on a replica are the copy's. The format
 * blobs (kopia.repository, kopia.blobcfg, kopia.maintenance), s* sessions and _log* are tier 0. */
static const struct rule kopia_rules[] = {
    {1, "/n*"}, {1, "/xn*"}, {1, "/xs*"}, {1, "/xr*"}, {2, "/m*"},
    {2, "/l*"}, {2, "/xe*"}, {2, "/xw*"}, {0, NULL},
};

/* Velero, pkg/persistence/object_store_layout.go (backups/<b>/velero-backup.json, <b>.tar.gz,
 * ...), How Velero works > Object storage sync (https://velero.io/docs/main/how-velero-works/:
 * a backup found in the bucket becomes a Backup, read from its velero-backup.json) and File
 * System Backup (https://velero.io/docs/main/file-system-backup/: one repository per namespace,
 * bucket/kopia/<ns>; restic/<ns> before 1.10). The repositories as above; velero-backup.json
 * after the volume data its pod-volume backups name is visible in them. */
static const struct rule velero_rules[] = {
    {EXCLUDE, "restic/*/locks/**"},
    {EXCLUDE, "restic/*/lock/**"},
    {1, "kopia/*/n*"},
    {1, "kopia/*/xn*"},
    {1, "kopia/*/xs*"},
    {1, "kopia/*/xr*"},
    {1, "restic/*/index/**"},
    {2, "kopia/*/m*"},
    {2, "kopia/*/l*"},
    {2, "kopia/*/xe*"},
    {2, "kopia/*/xw*"},
    {2, "restic/*/snapshots/**"},
    {2, "restic/*/snapshot/**"},
    {3, "backups/*/velero-backup.json"},
    {0, NULL},
};

/* Elasticsearch, the javadoc of org.elasticsearch.repositories.blobstore (server/src/main/java/
 * org/elasticsearch/repositories/blobstore/package-info.java in github.com/elastic/elasticsearch,
 * "Getting the Repository's RepositoryData", "Creating a Snapshot"): segment files __* in
 * indices/<id>/<shard>/, then the shard's snap-<uuid>.dat, then its index-<gen>; index and
 * global metadata meta-*.dat at the start; to finalise, the root snap-<uuid>.dat, then the root
 * index-N (readers list index-* and take the highest N), then index.latest. Verification writes
 * tests-<seed>/ and removes it (BlobStoreRepository.TESTS_FILE). OpenSearch keeps this layout. */
static const struct rule elasticsearch_rules[] = {
    {EXCLUDE, "/tests-*/**"},
    {1, "/indices/*/*/snap-*.dat"},
    {1, "/indices/*/meta-*.dat"},
    {1, "/meta-*.dat"},
    {2, "/indices/*/*/index-*"},
    {2, "/snap-*.dat"},
    {3, "/index-*"},
    {3, "/incompatible-snapshots"},
    {4, "/index.latest"},
    {0, NULL},
};

/* WAL-G, utility/utility.go (basebackups_005/, wal_005/, _backup_stop_sentinel.json),
 * internal/backup_util.go (backups are found through their sentinels) and its own copier,
 * Storage tools > "transfer backups" (https://github.com/wal-g/wal-g/blob/master/docs/
 * StorageTools.md; internal/storagetools/transfer/backup_file_lister.go: the sentinel "will be
 * copied to the target storage only after" the data files, which "will be deleted only after
 * it"). WAL-E wrote the same names; Spilo keeps them under spilo/<cluster>/wal/<version>/. */
static const struct rule walg_rules[] = {
    {1, "basebackups_005/*_backup_stop_sentinel.json"},
    /* a delta's sentinel names the backup it is based on (DeltaFrom): after the full ones (a
     * delta of a delta is in the same tier as its base: see docs/backup-repositories.md) */
    {2, "basebackups_005/*_D_*_backup_stop_sentinel.json"},
    {0, NULL},
};

/* pgBackRest, User Guide > Concepts > Backup, S3 Support (https://pgbackrest.org/user-guide.html)
 * and its source: src/command/backup/backup.c (backup.manifest.copy saved at the start, for
 * resume; backup.manifest when complete, then backup.info), src/info/infoBackup.c (a backup
 * counts when its backup.manifest exists: infoBackupLoadFileReconstruct; info files are
 * written as FILE then FILE.copy); archive/<stanza>/archive.info names the database whose WAL
 * is in archive/<stanza>/<version>-<id>/: written at stanza-create, read by every restore
 * (archive-get), it is data of tier 0 (with it in the last tier a stop would leave backups a
 * restore cannot use). */
static const struct rule pgbackrest_rules[] = {
    {1, "backup/*/*/backup.manifest.copy"},
    {2, "backup/*/*/backup.manifest"},
    {3, "backup/*/backup.info"},
    {3, "backup/*/backup.info.copy"},
    {0, NULL},
};

struct preset {
    const char *name;
    const struct rule *rules;
    const char *summary;
};

static const struct preset presets[] = {
    {"restic", restic_rules,
     "restic: data/, keys/, config -> index/ -> snapshots/; locks/ never copied"},
    {"kopia", kopia_rules,
     "kopia: packs p*, q* -> index blobs n*, xn*, xs*, xr* -> markers xe*, xw*, logs m*, l*"},
    {"velero", velero_rules,
     "velero: backup files, kopia/ and restic/ data -> their indexes -> their snapshots and "
     "markers -> backups/*/velero-backup.json; restic locks never copied"},
    {"elasticsearch", elasticsearch_rules,
     "elasticsearch: indices/ segments __* -> shard snap-*, meta-* -> shard index-*, snap-*.dat "
     "-> index-N -> index.latest; tests-*/ never copied"},
    {"wal-g", walg_rules,
     "wal-g: basebackups_005/<name>/ and wal_005/ -> full backups' *_backup_stop_sentinel.json -> "
     "delta backups' (*_D_*)"},
    {"pgbackrest", pgbackrest_rules,
     "pgbackrest: backup files and archive/ WAL -> backup.manifest.copy -> backup.manifest -> "
     "backup.info(.copy)"},
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

const char *const s3m_preset_names[] = {"restic", "kopia",      "velero", "elasticsearch",
                                        "wal-g",  "pgbackrest", NULL};

static const struct preset *find(const char *name)
{
    for (size_t i = 0; i < NPRESETS; i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

const char *s3m_preset_summary(const char *name)
{
    const struct preset *p = find(name);
    return p ? p->summary : NULL;
}

/* move the last k rules of f to the front, in their order */
static void rules_to_front(struct s3m_filter *f, size_t k)
{
    if (!k || k == f->nrules)
        return;
    struct s3m_filter_rule *tmp = s3m_malloc(k * sizeof(*tmp));
    memcpy(tmp, f->rules + f->nrules - k, k * sizeof(*tmp));
    memmove(f->rules + k, f->rules, (f->nrules - k) * sizeof(*tmp));
    memcpy(f->rules, tmp, k * sizeof(*tmp));
    free(tmp);
}

bool s3m_preset_apply(const char *name, struct s3m_tiers *t, struct s3m_filter *f, char *err,
                      size_t n)
{
    const struct preset *p = find(name);
    if (!p) {
        snprintf(err, n,
                 "unknown layout '%s' (known: restic, kopia, velero, elasticsearch, wal-g, "
                 "pgbackrest, auto)",
                 name);
        return false;
    }
    unsigned base = t->ntiers, top = 0;
    for (const struct rule *r = p->rules; r->glob; r++)
        top = r->tier > top ? r->tier : top;
    if (base + top > S3M_TIERS_MAX) {
        snprintf(err, n, "layout '%s' needs %u more tiers: more than %u in all", name, top,
                 S3M_TIERS_MAX);
        return false;
    }
    size_t nexcl = 0;
    for (const struct rule *r = p->rules; r->glob; r++) {
        bool ok = r->tier == EXCLUDE ? s3m_filter_add(f, false, r->glob)
                                     : s3m_tiers_add(t, base + r->tier, r->glob);
        if (!ok) /* the tables are well formed and in ascending tiers: a bug, not bad input */
            abort();
        nexcl += r->tier == EXCLUDE;
    }
    rules_to_front(f, nexcl);
    return true;
}

/* ---- detection ----
 *
 * Each tool's signature in the top-level names of its repository, from the same sources: what
 * the tool itself creates at the root and nothing else would. */

static bool has(const char *const *names, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], want))
            return true;
    return false;
}

/* a root RepositoryData blob of Elasticsearch: "index-" and a generation number */
static bool has_es_generation(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = names[i];
        if (strncmp(s, "index-", 6) || !s[6])
            continue;
        s += 6;
        while (*s >= '0' && *s <= '9')
            s++;
        if (!*s)
            return true;
    }
    return false;
}

static bool fits(const char *name, const char *const *names, size_t n)
{
    if (!strcmp(name, "restic")) /* "config" and the key files (key/ in the S3 legacy layout) */
        return has(names, n, "config") && (has(names, n, "keys/") || has(names, n, "key/"));
    if (!strcmp(name, "kopia"))
        return has(names, n, "kopia.repository");
    if (!strcmp(name, "velero"))
        return has(names, n, "backups/");
    if (!strcmp(name, "elasticsearch"))
        return has(names, n, "index.latest") ||
               (has(names, n, "indices/") && has_es_generation(names, n));
    if (!strcmp(name, "wal-g"))
        return has(names, n, "basebackups_005/") || has(names, n, "wal_005/");
    if (!strcmp(name, "pgbackrest"))
        return has(names, n, "backup/") && has(names, n, "archive/");
    return false;
}

size_t s3m_preset_candidates(const char *const *names, size_t n, const char **out, size_t max)
{
    size_t found = 0;
    for (size_t i = 0; s3m_preset_names[i]; i++) {
        if (!fits(s3m_preset_names[i], names, n))
            continue;
        if (found < max)
            out[found] = s3m_preset_names[i];
        found++;
    }
    return found;
}

const char *s3m_preset_detect(const char *const *names, size_t n)
{
    const char *one = NULL;
    return s3m_preset_candidates(names, n, &one, 1) == 1 ? one : NULL;
}
