/* s3m/presets.h - repository-layout presets ("--layout NAME"): for a backup tool's repository,
 * the tiers that copy what points to data after the data, and the excludes for files that must
 * not be mirrored (a restic lock). Pure code: no I/O.
 *
 * Each preset is written from the tool's own published description of its layout; the sources
 * are cited beside the table in src/core/presets.c and in docs/backup-repositories.md. Globs
 * are relative to the job's prefix, which must be the repository's root. */
#ifndef S3M_PRESETS_H
#define S3M_PRESETS_H

#include "s3m/diff.h"
#include "s3m/tiers.h"

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated names: "restic","kopia","velero","elasticsearch","wal-g","pgbackrest" ("auto"
 * is the CLI's). */
extern const char *const s3m_preset_names[];

/* Append the preset's tiers after those already in t, and its exclude rules to f (put FIRST in
 * f's rule list, so that no --include can bring them back). false (+err) for an unknown name;
 * then t and f are unchanged. */
bool s3m_preset_apply(const char *name, struct s3m_tiers *t, struct s3m_filter *f, char *err,
                      size_t n);

/* From the top-level names under the prefix (keys, and common prefixes ending in '/'), as a
 * delimiter listing gives them (up to a few thousand): the preset that fits, or NULL (none fits,
 * or more than one does). */
const char *s3m_preset_detect(const char *const *names, size_t n);

/* The same, every preset whose signature is present, in s3m_preset_names order: how many there
 * are; the first max of them go to out (so the CLI can say "both restic and velero"). */
size_t s3m_preset_candidates(const char *const *names, size_t n, const char **out, size_t max);

/* One line on the preset (for --help / logs: what goes in which tier); NULL for an unknown name. */
const char *s3m_preset_summary(const char *name);

#endif
