/* s3m/log.h - leveled, format-checked logging to stderr or a file, as text or JSON lines.
 *
 * The level is tested before any formatting. Callers never pass secrets; the config module keeps
 * secrets out of every message it builds. */
#ifndef S3M_LOG_H
#define S3M_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum s3m_log_level { S3M_LOG_ERROR, S3M_LOG_WARN, S3M_LOG_NOTICE, S3M_LOG_INFO, S3M_LOG_DEBUG };

extern enum s3m_log_level s3m_log_threshold;

/* Set the threshold; json selects JSON lines. out NULL means stderr. */
void s3m_log_setup(enum s3m_log_level level, bool json, FILE *out);
/* Parse "error|warn|notice|info|debug". */
bool s3m_log_parse_level(const char *s, enum s3m_log_level *out);
void s3m_log_emit(enum s3m_log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define s3m_log(level, subsys, ...)                                                               \
    do {                                                                                          \
        if ((level) <= s3m_log_threshold)                                                         \
            s3m_log_emit((level), (subsys), __VA_ARGS__);                                         \
    } while (0)

#endif
