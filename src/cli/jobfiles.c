/* jobfiles.c - what an unattended job leaves around it: a lock so two runs of one job never
 * overlap (flock: a dead holder's lock vanishes with it), and a Prometheus textfile with the
 * outcome, written atomically (temp file + rename) for node_exporter's textfile collector. */
#include "cli.h"
#include "s3m/hash.h"
#include "s3m/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int s3m_job_lock(const char *path, const char *src, const char *dst, int *fd_out)
{
    char def[4096];
    if (!path) { /* default: one lock per (SRC, DST) pair */
        char key[2048], hex[65];
        snprintf(key, sizeof(key), "%s\n%s", src, dst);
        s3m_sha256_hex(key, strlen(key), hex);
        const char *dir = getenv("XDG_RUNTIME_DIR");
        snprintf(def, sizeof(def), "%s/s3mirror-%.16s.lock", dir && *dir ? dir : "/tmp", hex);
        path = def;
    }
    /* the default lives in a shared /tmp: a symbolic link planted there must not make us
     * open (and truncate) a file of someone else's choosing */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    struct stat st;
    if (fd < 0 && errno == ELOOP) {
        fprintf(stderr, "s3mirror: error: lock file %s is a symbolic link: refusing to use it\n",
                path);
        return S3M_EXIT_USAGE;
    }
    if (fd < 0) {
        fprintf(stderr, "s3mirror: error: lock file %s: %s\n", path, strerror(errno));
        return S3M_EXIT_USAGE;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        fprintf(stderr,
                "s3mirror: error: lock file %s is not a regular file: refusing to use "
                "it\n",
                path);
        close(fd);
        return S3M_EXIT_USAGE;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        if (n > 0)
            pid[n] = 0;
        s3m_trim(pid);
        fprintf(stderr,
                "s3mirror: error: another run of this job holds %s (pid %s): not "
                "starting\n",
                path, *pid ? pid : "?");
        close(fd);
        return S3M_EXIT_LOCKED;
    }
    char me[32];
    int n = snprintf(me, sizeof(me), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, me, (size_t)n, 0) != n)
        (void)0; /* the pid is informational only */
    *fd_out = fd;
    return 0;
}

/* the previous run's last-success time for these labels, to carry over a failed run */
static double previous_success(const char *path, const char *labels)
{
    FILE *f = fopen(path, "r");
    double v = 0;
    if (!f)
        return 0;
    char line[4096], want[2200];
    snprintf(want, sizeof(want), "s3mirror_last_success_timestamp_seconds{%s} ", labels);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, want, strlen(want)))
            v = strtod(line + strlen(want), NULL);
    fclose(f);
    return v;
}

static void label_value(struct s3m_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            s3m_buf_addc(b, '\\');
        if (*v == '\n')
            s3m_buf_adds(b, "\\n");
        else
            s3m_buf_addc(b, *v);
    }
}

/* One gauge with its HELP and TYPE lines; value is already formatted. */
static void gauge(struct s3m_buf *m, const char *name, const char *help, const char *labels,
                  const char *value)
{
    s3m_buf_printf(m, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n", name, help, name, name, labels,
                   value);
}

static void gauge_f(struct s3m_buf *m, const char *name, const char *help, const char *labels,
                    double v)
{
    char value[64];
    snprintf(value, sizeof(value), "%.3f", v);
    gauge(m, name, help, labels, value);
}

static void gauge_u(struct s3m_buf *m, const char *name, const char *help, const char *labels,
                    uint64_t v)
{
    char value[32];
    snprintf(value, sizeof(value), "%" PRIu64, v);
    gauge(m, name, help, labels, value);
}

/* Objects and bytes per action: one gauge each, a series per action. */
static void per_action(struct s3m_buf *m, const char *labels, const struct s3m_job_result *r)
{
    static const char *const actions[] = {"copy", "update", "delete", "skip"};
    s3m_buf_adds(m, "# HELP s3mirror_last_run_objects Objects per action in the last run.\n"
                    "# TYPE s3mirror_last_run_objects gauge\n");
    for (int i = 0; i < 4; i++)
        s3m_buf_printf(m, "s3mirror_last_run_objects{%s,action=\"%s\"} %" PRIu64 "\n", labels,
                       actions[i], r->objects[i]);
    s3m_buf_adds(m, "# HELP s3mirror_last_run_bytes Bytes per action in the last run.\n"
                    "# TYPE s3mirror_last_run_bytes gauge\n");
    for (int i = 0; i < 4; i++)
        s3m_buf_printf(m, "s3mirror_last_run_bytes{%s,action=\"%s\"} %" PRIu64 "\n", labels,
                       actions[i], r->bytes[i]);
}

/* The run's outcome as a state set (one series per outcome, 1 for the run's), and what a
 * cut-off run left: "cut off" is not "failed". */
static void outcome(struct s3m_buf *m, const char *labels, const struct s3m_job_result *r)
{
    static const char *const outcomes[] = {"success", "cut_off", "interrupted", "failed"};
    s3m_buf_adds(m, "# HELP s3mirror_last_run_outcome How the last run ended (success, cut_off "
                    "by --max-duration, interrupted by a signal, failed).\n"
                    "# TYPE s3mirror_last_run_outcome gauge\n");
    for (size_t i = 0; i < S3M_ARRAY_LEN(outcomes); i++)
        s3m_buf_printf(m, "s3mirror_last_run_outcome{%s,outcome=\"%s\"} %d\n", labels, outcomes[i],
                       r->outcome && !strcmp(r->outcome, outcomes[i]));
    gauge_u(m, "s3mirror_last_run_left_objects",
            "Copies and updates a cut-off run left for the next run.", labels, r->left_objects);
    gauge_u(m, "s3mirror_last_run_left_bytes", "Bytes of those.", labels, r->left_bytes);
}

/* What each endpoint cost: a series per endpoint (source, destination) of each gauge. */
static void per_endpoint(struct s3m_buf *m, const char *labels, const struct s3m_job_result *r)
{
    static const char *const names[][2] = {
        {"s3mirror_last_run_requests", "Requests sent to the endpoint (retries included)."},
        {"s3mirror_last_run_connections", "Connections opened to the endpoint."},
        {"s3mirror_last_run_tls_handshakes", "TLS handshakes of those connections."},
        {"s3mirror_last_run_tls_resumed", "TLS handshakes that resumed an earlier session."},
    };
    for (size_t g = 0; g < S3M_ARRAY_LEN(names); g++) {
        s3m_buf_printf(m, "# HELP %s %s\n# TYPE %s gauge\n", names[g][0], names[g][1], names[g][0]);
        for (int e = 0; e < 2; e++) {
            const uint64_t v[] = {r->endpoint[e].requests, r->endpoint[e].connections,
                                  r->endpoint[e].tls_handshakes, r->endpoint[e].tls_resumed};
            s3m_buf_printf(m, "%s{%s,endpoint=\"%s\"} %" PRIu64 "\n", names[g][0], labels,
                           e ? "destination" : "source", v[g]);
        }
    }
}

/* the labels of every series: src, dst and (with --shard) shard */
static void series_labels(struct s3m_buf *l, const char *src, const char *dst, const char *shard)
{
    s3m_buf_adds(l, "src=\"");
    label_value(l, src);
    s3m_buf_adds(l, "\",dst=\"");
    label_value(l, dst);
    if (shard) {
        s3m_buf_adds(l, "\",shard=\"");
        label_value(l, shard);
    }
    s3m_buf_adds(l, "\"");
}

void s3m_job_metrics_render(struct s3m_buf *m, const char *src, const char *dst, const char *shard,
                            const struct s3m_job_result *r, double last_ok)
{
    struct s3m_buf l;
    s3m_buf_init(&l);
    series_labels(&l, src, dst, shard);
    const char *L = s3m_buf_str(&l);
    gauge_f(m, "s3mirror_last_run_start_timestamp_seconds", "Start of the last run.", L, r->start);
    gauge_f(m, "s3mirror_last_run_end_timestamp_seconds", "End of the last run.", L, r->end);
    if (last_ok >= 0)
        gauge_f(m, "s3mirror_last_success_timestamp_seconds",
                "End of the last run that succeeded (exit 0 or 9).", L, last_ok);
    gauge_f(m, "s3mirror_last_run_duration_seconds", "Duration of the last run.", L,
            r->end - r->start);
    gauge_u(m, "s3mirror_last_run_exit_code", "Exit code of the last run.", L,
            (uint64_t)r->exit_code);
    per_action(m, L, r);
    gauge_u(m, "s3mirror_last_run_errors", "Objects or listings that failed.", L, r->errors);
    gauge_u(m, "s3mirror_last_run_retries", "Requests retried in the last run.", L, r->retries);
    outcome(m, L, r);
    per_endpoint(m, L, r);
    s3m_buf_cleanup(&l);
}

int s3m_job_metrics(const char *path, const char *src, const char *dst, const char *shard,
                    const struct s3m_job_result *r)
{
    struct s3m_buf l, m;
    s3m_buf_init(&l);
    s3m_buf_init(&m);
    series_labels(&l, src, dst, shard);
    /* a failed run carries over the previous file's last success (0: none yet) */
    double last_ok = s3m_exit_success(r->exit_code) ? r->end
                                                    : previous_success(path, s3m_buf_str(&l));
    s3m_job_metrics_render(&m, src, dst, shard, r, last_ok);
    int rc = 0;
    if (!s3m_file_replace(path, m.data, m.len)) {
        fprintf(stderr, "s3mirror: error: cannot write metrics file %s: %s\n", path,
                strerror(errno));
        rc = S3M_EXIT_ERROR;
    }
    s3m_buf_cleanup(&l);
    s3m_buf_cleanup(&m);
    return rc;
}
