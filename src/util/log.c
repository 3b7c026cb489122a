/* log.c - the one logging sink: a timestamp, level and subsystem on every line, text or JSON. */
#include "s3m/log.h"
#include "s3m/util.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

enum s3m_log_level s3m_log_threshold = S3M_LOG_NOTICE;
static bool log_json;
static FILE *log_out;

static const char *const level_names[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};

void s3m_log_setup(enum s3m_log_level level, bool json, FILE *out)
{
    s3m_log_threshold = level;
    log_json = json;
    log_out = out;
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

void s3m_log_emit(enum s3m_log_level level, const char *subsys, const char *fmt, ...)
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
        s3m_buf_adds(&b, "\"}\n");
    } else {
        s3m_buf_printf(&b, "%s.%03ldZ %-6s %s: %s\n", when, ts.tv_nsec / 1000000,
                       level_names[level], subsys, msg);
    }
    FILE *out = log_out ? log_out : stderr;
    fwrite(b.data, 1, b.len, out);
    fflush(out);
    s3m_buf_cleanup(&b);
}
