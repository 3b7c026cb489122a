/* log.c - the one logging sink: a timestamp, level and subsystem on every line, text or JSON. */
#include "s3m/log.h"
#include "s3m/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum s3m_log_level s3m_log_threshold = S3M_LOG_NOTICE;
static bool log_json;
static FILE *log_out; /* NULL: stderr */
static char *log_path;
static bool status_line; /* a live status line is on stderr */
static volatile sig_atomic_t reopen_wanted;

static const char *const level_names[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};

static void on_sighup(int sig)
{
    (void)sig;
    reopen_wanted = 1;
}

static FILE *open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f)
        close(fd);
    return f;
}

bool s3m_log_setup(enum s3m_log_level level, bool json, const char *path)
{
    s3m_log_threshold = level;
    log_json = json;
    s3m_log_close();
    if (!path)
        return true;
    if (!(log_out = open_append(path)))
        return false;
    log_path = s3m_strdup(path);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sighup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    return true;
}

void s3m_log_close(void)
{
    if (log_out)
        fclose(log_out);
    log_out = NULL;
    free(log_path);
    log_path = NULL;
}

bool s3m_log_parse_level(const char *s, enum s3m_log_level *out)
{
    for (size_t i = 0; i < S3M_ARRAY_LEN(level_names); i++) {
        if (!s3m_strcasecmp(s, level_names[i])) {
            *out = (enum s3m_log_level)i;
            return true;
        }
    }
    return false;
}

void s3m_log_set_status_line(bool on)
{
    status_line = on;
}

bool s3m_log_to_stderr(void)
{
    return !log_out;
}

/* After SIGHUP: the old file was moved away; write on in a new one at the same path. If that
 * fails, keep writing to the old one and say so there. */
static void maybe_reopen(void)
{
    if (!reopen_wanted || !log_path)
        return;
    reopen_wanted = 0;
    FILE *f = open_append(log_path);
    if (!f) {
        fprintf(log_out, "s3mirror: cannot reopen log file %s: %s\n", log_path, strerror(errno));
        return;
    }
    fclose(log_out);
    log_out = f;
}

static void json_str(struct s3m_buf *b, const char *name, const char *v)
{
    if (!v || !*v)
        return;
    s3m_buf_printf(b, ",\"%s\":\"", name);
    s3m_json_escape(b, v);
    s3m_buf_addc(b, '"');
}

void s3m_log_emit(enum s3m_log_level level, const char *subsys, const struct s3m_log_fields *f,
                  const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    struct s3m_buf b;
    s3m_buf_init(&b);
    if (log_json) {
        s3m_buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"subsys\":\"", when,
                       ts.tv_nsec / 1000000, level_names[level]);
        s3m_json_escape(&b, subsys);
        s3m_buf_adds(&b, "\",\"msg\":\"");
        s3m_json_escape(&b, msg);
        s3m_buf_addc(&b, '"');
        if (f) {
            json_str(&b, "remote", f->remote);
            json_str(&b, "bucket", f->bucket);
            json_str(&b, "key", f->key);
            if (f->ei && f->ei->err) {
                json_str(&b, "error", s3m_err_name(f->ei->err));
                json_str(&b, "code", f->ei->code);
                if (f->ei->http_status)
                    s3m_buf_printf(&b, ",\"http_status\":%d", f->ei->http_status);
                json_str(&b, "request_id", f->ei->request_id);
            }
        }
        s3m_buf_adds(&b, "}\n");
    } else {
        s3m_buf_printf(&b, "%s.%03ldZ %-6s %s: %s\n", when, ts.tv_nsec / 1000000,
                       level_names[level], subsys, msg);
    }
    maybe_reopen();
    FILE *out = log_out ? log_out : stderr;
    if (!log_out && status_line)
        fputs("\r\033[K", stderr);
    fwrite(b.data, 1, b.len, out);
    fflush(out);
    s3m_buf_cleanup(&b);
}
