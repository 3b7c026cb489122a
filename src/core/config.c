/* config.c - rclone.conf reader, ${VAR} expansion, RCLONE_CONFIG_* and env_auth overrides.
 *
 * Pure except s3m_config_load (which reads one file). Messages name file:line and key only:
 * values may be secrets. */
#include "s3m/config.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CONFIG_BYTES (4u << 20)

void s3m_config_init(struct s3m_config *c)
{
    memset(c, 0, sizeof(*c));
}

static void remote_free(struct s3m_remote *r)
{
    free(r->name);
    free(r->type);
    free(r->provider);
    free(r->access_key_id);
    s3m_free_secret(r->secret_access_key);
    s3m_free_secret(r->session_token);
    free(r->region);
    free(r->endpoint);
    free(r->location_constraint);
    free(r->origin);
}

void s3m_config_cleanup(struct s3m_config *c)
{
    for (size_t i = 0; i < c->nremotes; i++)
        remote_free(&c->remotes[i]);
    free(c->remotes);
    free(c->path);
    s3m_config_init(c);
}

const struct s3m_remote *s3m_config_find(const struct s3m_config *c, const char *name)
{
    for (size_t i = 0; i < c->nremotes; i++)
        if (!strcmp(c->remotes[i].name, name))
            return &c->remotes[i];
    return NULL;
}

static struct s3m_remote *find_ci(struct s3m_config *c, const char *name)
{
    for (size_t i = 0; i < c->nremotes; i++)
        if (!s3m_strcasecmp(c->remotes[i].name, name))
            return &c->remotes[i];
    return NULL;
}

static struct s3m_remote *add_remote(struct s3m_config *c, const char *name, const char *origin)
{
    c->remotes = s3m_realloc(c->remotes, (c->nremotes + 1) * sizeof(*c->remotes));
    struct s3m_remote *r = &c->remotes[c->nremotes++];
    memset(r, 0, sizeof(*r));
    r->name = s3m_strdup(name);
    r->origin = s3m_strdup(origin);
    r->force_path_style = true; /* rclone's default */
    return r;
}

/* ---- ${VAR} expansion ---- */

static bool name_char(char c, bool first)
{
    return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

enum s3m_err s3m_config_expand(const char *v, s3m_getenv_cb getenv_cb, void *ud, char **out,
                               char *missing, size_t missinglen)
{
    struct s3m_buf b;
    s3m_buf_init(&b);
    s3m_buf_adds(&b, "");
    for (const char *p = v; *p;) {
        if (p[0] != '$') {
            s3m_buf_addc(&b, *p++);
            continue;
        }
        if (p[1] == '$') {
            s3m_buf_addc(&b, '$');
            p += 2;
            continue;
        }
        const char *start, *end;
        bool braced = p[1] == '{';
        start = p + (braced ? 2 : 1);
        end = start;
        while (name_char(*end, end == start))
            end++;
        if (end == start || (braced && *end != '}')) {
            if (braced) { /* "${" without a valid name and "}" */
                snprintf(missing, missinglen, "%s", "${...}");
                s3m_buf_cleanup(&b);
                return S3M_ECONFIG;
            }
            s3m_buf_addc(&b, *p++); /* a lone '$' stays literal */
            continue;
        }
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
        const char *val = getenv_cb(name, ud);
        if (!val) {
            snprintf(missing, missinglen, "%s", name);
            s3m_wipe(b.data, b.len);
            s3m_buf_cleanup(&b);
            return S3M_ECONFIG;
        }
        s3m_buf_adds(&b, val);
        p = end + (braced ? 1 : 0);
    }
    *out = s3m_buf_detach(&b);
    return S3M_EOK;
}

/* ---- setting one key ---- */

static enum s3m_err set_key(struct s3m_remote *r, const char *key, const char *value,
                            const char *where, struct s3m_errinfo *ei)
{
    char **str = NULL;
    bool *flag = NULL;
    if (!strcmp(key, "type"))
        str = &r->type;
    else if (!strcmp(key, "provider"))
        str = &r->provider;
    else if (!strcmp(key, "access_key_id"))
        str = &r->access_key_id;
    else if (!strcmp(key, "secret_access_key"))
        str = &r->secret_access_key;
    else if (!strcmp(key, "session_token"))
        str = &r->session_token;
    else if (!strcmp(key, "region"))
        str = &r->region;
    else if (!strcmp(key, "endpoint"))
        str = &r->endpoint;
    else if (!strcmp(key, "location_constraint"))
        str = &r->location_constraint;
    else if (!strcmp(key, "env_auth"))
        flag = &r->env_auth;
    else if (!strcmp(key, "force_path_style"))
        flag = &r->force_path_style;
    else if (!strcmp(key, "no_check_certificate"))
        flag = &r->no_check_certificate;
    if (str) {
        bool secret = str == &r->secret_access_key || str == &r->session_token;
        if (secret)
            s3m_free_secret(*str);
        else
            free(*str);
        *str = s3m_strdup(value);
    } else if (flag) {
        if (!s3m_parse_bool(value, flag))
            return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: %s must be true or false", where, key);
    } else {
        s3m_log(S3M_LOG_DEBUG, "config", "%s: key %s ignored (not used by s3mirror)", where, key);
    }
    return S3M_EOK;
}

/* ---- the INI parser ---- */

static enum s3m_err parse_line(struct s3m_config *c, struct s3m_remote **cur, char *line,
                               const char *file, int lineno, s3m_getenv_cb getenv_cb, void *ud,
                               struct s3m_errinfo *ei)
{
    char where[512];
    snprintf(where, sizeof(where), "%s:%d", file, lineno);
    s3m_trim(line);
    if (!*line || *line == '#' || *line == ';')
        return S3M_EOK;
    if (*line == '[') {
        char *end = strchr(line, ']');
        if (!end || end[1])
            return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: section header must be [name]", where);
        *end = 0;
        char *name = s3m_trim(line + 1);
        if (!*name || strchr(name, ':') || strchr(name, ' '))
            return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: invalid remote name in section header",
                                   where);
        if (s3m_config_find(c, name))
            return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: remote [%s] defined twice", where, name);
        *cur = add_remote(c, name, where);
        return S3M_EOK;
    }
    char *eq = strchr(line, '=');
    if (!eq)
        return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: expected 'key = value'", where);
    if (!*cur)
        return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: 'key = value' before any [remote] section",
                               where);
    *eq = 0;
    char *key = s3m_trim(line), *raw = s3m_trim(eq + 1);
    if (!*key)
        return s3m_errinfo_set(ei, S3M_ECONFIG, "%s: empty key name", where);
    char *value = NULL, missing[256];
    if (s3m_config_expand(raw, getenv_cb, ud, &value, missing, sizeof(missing)))
        return s3m_errinfo_set(ei, S3M_ECONFIG,
                               "%s: %s refers to environment variable %s, which is not set", where,
                               key, missing);
    enum s3m_err err = set_key(*cur, key, value, where, ei);
    s3m_wipe(value, strlen(value));
    free(value);
    return err;
}

enum s3m_err s3m_config_parse(struct s3m_config *c, const char *text, size_t len, const char *file,
                              s3m_getenv_cb getenv_cb, void *ud, struct s3m_errinfo *ei)
{
    struct s3m_remote *cur = NULL;
    enum s3m_err err = S3M_EOK;
    int lineno = 0;
    size_t i = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        i = 3;
    while (i < len && !err) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        if (memchr(text + i, 0, j - i))
            return s3m_errinfo_set(ei, S3M_ECONFIG, "%s:%d: NUL byte in config", file, lineno);
        char *line = s3m_strndup(text + i, j - i);
        err = parse_line(c, &cur, line, file, lineno, getenv_cb, ud, ei);
        s3m_wipe(line, strlen(line));
        free(line);
        i = j + 1;
    }
    return err;
}

/* ---- environment ---- */

static const char *const env_keys[] = {
    "TYPE",
    "PROVIDER",
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "ENV_AUTH",
    "REGION",
    "ENDPOINT",
    "LOCATION_CONSTRAINT",
    "FORCE_PATH_STYLE",
    "NO_CHECK_CERTIFICATE",
};

enum s3m_err s3m_config_apply_env(struct s3m_config *c, char *const *envp, s3m_getenv_cb getenv_cb,
                                  void *ud, struct s3m_errinfo *ei)
{
    static const char pfx[] = "RCLONE_CONFIG_";
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        if (!eq || strncmp(e, pfx, sizeof(pfx) - 1))
            continue;
        const char *rest = e + sizeof(pfx) - 1;
        size_t restlen = (size_t)(eq - rest);
        for (size_t k = 0; k < S3M_ARRAY_LEN(env_keys); k++) {
            size_t kl = strlen(env_keys[k]);
            if (restlen <= kl + 1 || rest[restlen - kl - 1] != '_' ||
                strncmp(rest + restlen - kl, env_keys[k], kl))
                continue;
            char name[256], key[64];
            snprintf(name, sizeof(name), "%.*s", (int)(restlen - kl - 1), rest);
            for (char *p = name; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            snprintf(key, sizeof(key), "%s", env_keys[k]);
            for (char *p = key; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            struct s3m_remote *r = find_ci(c, name);
            if (!r)
                r = add_remote(c, name, "environment");
            char where[300];
            snprintf(where, sizeof(where), "environment %.*s", (int)(eq - e), e);
            enum s3m_err err = set_key(r, key, eq + 1, where, ei);
            if (err)
                return err;
            break;
        }
    }
    for (size_t i = 0; i < c->nremotes; i++) {
        struct s3m_remote *r = &c->remotes[i];
        if (!r->env_auth)
            continue;
        const char *ak = getenv_cb("AWS_ACCESS_KEY_ID", ud);
        const char *sk = getenv_cb("AWS_SECRET_ACCESS_KEY", ud);
        const char *tok = getenv_cb("AWS_SESSION_TOKEN", ud);
        const char *reg = getenv_cb("AWS_REGION", ud);
        if (!reg)
            reg = getenv_cb("AWS_DEFAULT_REGION", ud);
        if ((!r->access_key_id || !*r->access_key_id) && ak && sk) {
            set_key(r, "access_key_id", ak, "", ei);
            set_key(r, "secret_access_key", sk, "", ei);
            if (tok)
                set_key(r, "session_token", tok, "", ei);
        }
        if ((!r->region || !*r->region) && reg)
            set_key(r, "region", reg, "", ei);
    }
    return S3M_EOK;
}

static const char *real_getenv(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

static enum s3m_err read_file(const char *path, char **out, size_t *outlen, struct s3m_errinfo *ei)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return s3m_errinfo_set(ei, S3M_ECONFIG, "cannot open config %s: %s", path, strerror(errno));
    struct s3m_buf b;
    s3m_buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > MAX_CONFIG_BYTES) {
            fclose(f);
            s3m_buf_cleanup(&b);
            return s3m_errinfo_set(ei, S3M_ECONFIG, "config %s is larger than %u bytes", path,
                                   MAX_CONFIG_BYTES);
        }
        s3m_buf_add(&b, chunk, n);
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        s3m_buf_cleanup(&b);
        return s3m_errinfo_set(ei, S3M_ECONFIG, "cannot read config %s", path);
    }
    *outlen = b.len;
    *out = s3m_buf_detach(&b);
    return S3M_EOK;
}

static char *default_path(void)
{
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
    char path[4096];
    struct stat st;
    if (xdg && *xdg) {
        snprintf(path, sizeof(path), "%s/rclone/rclone.conf", xdg);
        if (!stat(path, &st))
            return s3m_strdup(path);
    }
    if (home && *home) {
        snprintf(path, sizeof(path), "%s/.config/rclone/rclone.conf", home);
        if (!stat(path, &st))
            return s3m_strdup(path);
        snprintf(path, sizeof(path), "%s/.rclone.conf", home);
        if (!stat(path, &st))
            return s3m_strdup(path);
    }
    return NULL;
}

enum s3m_err s3m_config_load(struct s3m_config *c, const char *explicit_path,
                             struct s3m_errinfo *ei)
{
    extern char **environ;
    const char *p = explicit_path;
    if (!p || !*p)
        p = getenv("RCLONE_CONFIG");
    if (!p || !*p)
        p = getenv("S3MIRROR_CONFIG");
    c->path = p && *p ? s3m_strdup(p) : default_path();
    if (c->path) {
        char *text = NULL;
        size_t len = 0;
        enum s3m_err err = read_file(c->path, &text, &len, ei);
        if (err)
            return err;
        err = s3m_config_parse(c, text, len, c->path, real_getenv, NULL, ei);
        s3m_wipe(text, len);
        free(text);
        if (err)
            return err;
        s3m_log(S3M_LOG_DEBUG, "config", "read %s: %zu remotes", c->path, c->nremotes);
    }
    return s3m_config_apply_env(c, environ, real_getenv, NULL, ei);
}

enum s3m_err s3m_remote_check(const struct s3m_remote *r, struct s3m_errinfo *ei)
{
    if (!r->type || strcmp(r->type, "s3"))
        return s3m_errinfo_set(ei, S3M_ECONFIG, "remote %s (%s): type is '%s', s3mirror needs s3",
                               r->name, r->origin, r->type ? r->type : "(unset)");
    bool has_ak = r->access_key_id && *r->access_key_id;
    bool has_sk = r->secret_access_key && *r->secret_access_key;
    if (has_ak != has_sk)
        return s3m_errinfo_set(ei, S3M_ECONFIG,
                               "remote %s (%s): access_key_id and secret_access_key must be set "
                               "together",
                               r->name, r->origin);
    if (!has_ak && r->env_auth)
        return s3m_errinfo_set(ei, S3M_ECONFIG,
                               "remote %s (%s): env_auth is true but AWS_ACCESS_KEY_ID / "
                               "AWS_SECRET_ACCESS_KEY are not set",
                               r->name, r->origin);
    return S3M_EOK;
}
