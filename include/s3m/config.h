/* s3m/config.h - rclone.conf remotes, environment overrides, and remote specs.
 *
 * An existing rclone setup works unchanged: INI sections with `type = s3`, the same keys, the
 * same RCLONE_CONFIG_<REMOTE>_<KEY> variables. In addition `${VAR}` / `$VAR` in values are
 * expanded from the environment, so no envsubst step (and no secret temp file) is needed.
 * Secrets never appear in error messages: errors name the file, line and key, never a value. */
#ifndef S3M_CONFIG_H
#define S3M_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "s3m/err.h"

struct s3m_remote {
    char *name;
    char *type;     /* "s3" */
    char *provider; /* "AWS", "Ceph", "Other", ... */
    char *access_key_id;
    char *secret_access_key; /* wiped on free */
    char *session_token;     /* wiped on free */
    bool env_auth;
    char *region;
    char *endpoint; /* "https://host[:port]" or "host"; empty for AWS */
    char *location_constraint;
    bool force_path_style;
    bool no_check_certificate;
    char *origin; /* "file:line" of the section, or "environment" */
};

struct s3m_config {
    struct s3m_remote *remotes;
    size_t nremotes;
    char *path; /* file read, NULL when none */
};

/* Environment lookup; tests pass their own. */
typedef const char *(*s3m_getenv_cb)(const char *name, void *ud);

void s3m_config_init(struct s3m_config *c);
void s3m_config_cleanup(struct s3m_config *c);

/* Parse rclone.conf text; `file` names it in errors. Values are expanded with getenv. */
enum s3m_err s3m_config_parse(struct s3m_config *c, const char *text, size_t len, const char *file,
                              s3m_getenv_cb getenv_cb, void *ud, struct s3m_errinfo *ei);
/* Apply RCLONE_CONFIG_<REMOTE>_<KEY>=value entries of envp (NULL-terminated "K=V" strings), then
 * env_auth credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION / AWS_DEFAULT_REGION). */
enum s3m_err s3m_config_apply_env(struct s3m_config *c, char *const *envp, s3m_getenv_cb getenv_cb,
                                  void *ud, struct s3m_errinfo *ei);
/* Find and load the config: explicit path, $RCLONE_CONFIG, $S3MIRROR_CONFIG, then
 * $XDG_CONFIG_HOME/rclone/rclone.conf, ~/.config/rclone/rclone.conf, ~/.rclone.conf.
 * A missing explicit file is an error; no file at all is not (remotes may come from env). */
enum s3m_err s3m_config_load(struct s3m_config *c, const char *explicit_path,
                             struct s3m_errinfo *ei);
/* The remote called name, or NULL. */
const struct s3m_remote *s3m_config_find(const struct s3m_config *c, const char *name);
/* Check that a remote can be used for S3 (type, keys, endpoint). */
enum s3m_err s3m_remote_check(const struct s3m_remote *r, struct s3m_errinfo *ei);

/* Expand ${VAR} and $VAR in value ($$ is a literal $). An unset variable is an error naming it. */
enum s3m_err s3m_config_expand(const char *value, s3m_getenv_cb getenv_cb, void *ud, char **out,
                               char *missing, size_t missinglen);

/* "remote:bucket/path" parsed. bucket "" means every bucket of the remote. The path names a
 * folder, as in rclone: prefix is "" (the whole bucket) or the path with exactly one '/' at
 * its end ("b/backup" and "b/backup/" both give "backup/"), so that every user of the prefix
 * (listing, key mapping, filters, sweep, shards) sees keys inside the folder only. */
struct s3m_spec {
    char *remote;
    char *bucket;
    char *prefix;
};
/* Leading '/' before the bucket are dropped ("remote:/bucket"); a path with an empty segment
 * ("b//x", "b/x//") or a '.' or '..' segment is a usage error (keys are not normalised). */
enum s3m_err s3m_spec_parse(const char *s, struct s3m_spec *out, struct s3m_errinfo *ei);
/* The key prefix of the folder a path (what follows "bucket/") names: "" for "", else the path
 * with one trailing '/' ("a/b" and "a/b/" -> "a/b/"). S3M_EUSAGE, with the reason in ei, for an
 * empty, '.' or '..' segment or a path over 1023 bytes. *prefix is malloc'd. */
enum s3m_err s3m_path_folder(const char *path, char **prefix, struct s3m_errinfo *ei);
void s3m_spec_cleanup(struct s3m_spec *s);
/* Whether a bucket name is acceptable (3-63 chars of a-z 0-9 . - _, also upper-case for legacy). */
bool s3m_bucket_name_ok(const char *b);

/* Where requests for a bucket go. */
struct s3m_endpoint {
    bool https;
    char *host;      /* host[:port] as in the Host header (default port dropped) */
    char *base_url;  /* "scheme://host[:port]" */
    char *path_base; /* "" or "/bucket" (path style) */
    bool virtual_host;
};
/* Resolve the endpoint of remote r for bucket (NULL or "" for service-level requests). */
enum s3m_err s3m_endpoint_resolve(const struct s3m_remote *r, const char *bucket,
                                  struct s3m_endpoint *out, struct s3m_errinfo *ei);
void s3m_endpoint_cleanup(struct s3m_endpoint *e);

#endif
