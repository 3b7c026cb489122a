/* common.c - what every command needs: logging setup, the config, the loop, clients for
 * remotes, and turning errors into one clear line and an exit code. */
#include "cli.h"
#include "s3m/log.h"
#include "s3m/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int s3m_cli_exit_code(enum s3m_err err)
{
    switch (err) {
    case S3M_EOK: return S3M_EXIT_OK;
    case S3M_EUSAGE:
    case S3M_EINVAL:
    case S3M_ECONFIG:
    case S3M_ENOREMOTE: return S3M_EXIT_USAGE;
    case S3M_ENOTFOUND: return S3M_EXIT_NOTFOUND;
    case S3M_ENET:
    case S3M_ETIMEOUT: return S3M_EXIT_TEMPORARY;
    case S3M_EAUTH:
    case S3M_ETLS: return S3M_EXIT_FATAL;
    default: return S3M_EXIT_ERROR;
    }
}

int s3m_cli_exit_code_ei(const struct s3m_errinfo *ei)
{
    /* a server error or throttling that outlasted the retries: a later run may well work */
    if (ei->err == S3M_ES3 && ei->http_status != 501 && s3m_s3_retryable(ei->http_status, ei->code))
        return S3M_EXIT_TEMPORARY;
    return s3m_cli_exit_code(ei->err);
}

int s3m_cli_fail(const char *context, const struct s3m_errinfo *ei)
{
    char detail[900];
    s3m_errinfo_str(ei, detail, sizeof(detail));
    fprintf(stderr, "s3mirror: error: %s: %s\n", context, detail);
    /* with --log-file the log gets the error too; on stderr once is enough */
    struct s3m_log_fields lf = {NULL, NULL, NULL, ei};
    s3m_logf(s3m_log_to_stderr() ? S3M_LOG_DEBUG : S3M_LOG_ERROR, "cli", &lf, "%s: %s", context,
             detail);
    return s3m_cli_exit_code_ei(ei);
}

int s3m_cli_log_setup(struct s3m_opts *o)
{
    enum s3m_log_level lvl = S3M_LOG_NOTICE;
    if (o->log_level && !s3m_log_parse_level(o->log_level, &lvl)) {
        fprintf(stderr, "s3mirror: error: --log-level: unknown level '%s'\n", o->log_level);
        return S3M_EXIT_USAGE;
    }
    if (!o->log_level) {
        int v = o->verbose - o->quiet;
        lvl = v >= 2 ? S3M_LOG_DEBUG
            : v == 1 ? S3M_LOG_INFO
            : v < 0  ? S3M_LOG_ERROR
                     : S3M_LOG_NOTICE;
    }
    bool json = false;
    if (o->log_format && strcmp(o->log_format, "text")) {
        if (strcmp(o->log_format, "json")) {
            fprintf(stderr, "s3mirror: error: --log-format: expected text or json\n");
            return S3M_EXIT_USAGE;
        }
        json = true;
    }
    if (!s3m_log_setup(lvl, json, o->log_file)) {
        fprintf(stderr, "s3mirror: error: --log-file: cannot open '%s': %s\n", o->log_file,
                strerror(errno));
        return S3M_EXIT_USAGE;
    }
    return 0;
}

int s3m_cli_transfers(const struct s3m_opts *o)
{
    return o->transfers ? (int)o->transfers : S3M_DEFAULT_TRANSFERS;
}

int s3m_env_init(struct s3m_env *e, struct s3m_opts *o)
{
    memset(e, 0, sizeof(*e));
    e->o = o;
    s3m_config_init(&e->cfg);
    int rc = s3m_cli_log_setup(o);
    if (!rc)
        rc = s3m_cli_limits_check(e);
    if (rc)
        return rc;
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    if (s3m_config_load(&e->cfg, o->config, &ei))
        return s3m_cli_fail("config", &ei);
    long transfers = s3m_cli_transfers(o);
    struct s3m_loop_opts lo = {
        .max_host_connections = o->connections ? o->connections : transfers + 8,
        .max_total_connections = 2 * (o->connections ? o->connections : transfers + 8),
    };
    if (s3m_loop_init(&e->loop, &lo)) {
        fprintf(stderr, "s3mirror: error: cannot initialise the event loop\n");
        return S3M_EXIT_ERROR;
    }
    e->loop_ready = true;
    s3m_cli_limits_start(e);
    return 0;
}

void s3m_env_cleanup(struct s3m_env *e)
{
    if (e->loop_ready)
        s3m_loop_cleanup(&e->loop);
    s3m_config_cleanup(&e->cfg);
    s3m_log_close();
}

int s3m_env_client(struct s3m_env *e, const char *remote, struct s3m_s3 *c)
{
    struct s3m_errinfo ei;
    s3m_errinfo_clear(&ei);
    const struct s3m_remote *r = s3m_config_find(&e->cfg, remote);
    if (!r) {
        s3m_errinfo_set(&ei, S3M_ENOREMOTE, "no remote '%s' in %s or the environment", remote,
                        e->cfg.path ? e->cfg.path : "(no config file found)");
        return s3m_cli_fail("config", &ei);
    }
    struct s3m_s3_opts so;
    s3m_s3_opts_default(&so);
    if (e->o->attempts)
        so.attempts = (int)e->o->attempts;
    if (e->o->contimeout_s)
        so.http.connect_timeout_ms = e->o->contimeout_s * 1000;
    if (e->o->timeout_s)
        so.http.low_speed_time_s = e->o->timeout_s;
    so.http.ca_file = e->o->ca_file;
    so.tps = e->tps;
    so.tps_burst = e->tps_burst;
    if (s3m_s3_init(c, &e->loop, r, &so, &ei))
        return s3m_cli_fail("config", &ei);
    return 0;
}
