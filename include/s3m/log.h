/* s3m/log.h - leveled, format-checked logging to stderr or a file, as text or JSON lines.
 *
 * The level is tested before any formatting. Callers never pass secrets; the config module keeps
 * secrets out of every message it builds. A log file is opened for appending and reopened on
 * SIGHUP (logrotate's "move, then signal" convention). */
#ifndef S3M_LOG_H
#define S3M_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "s3m/err.h"

enum s3m_log_level { S3M_LOG_ERROR, S3M_LOG_WARN, S3M_LOG_NOTICE, S3M_LOG_INFO, S3M_LOG_DEBUG };

extern enum s3m_log_level s3m_log_threshold;

/* Structured fields of a line: JSON lines carry them as members, text lines only in the message.
 * Any member may be NULL. */
struct s3m_log_fields {
    const char *remote, *bucket, *key;
    const struct s3m_errinfo *ei; /* error name, S3 code, HTTP status, request id */
};

/* Set the threshold; json selects JSON lines. path NULL means stderr; otherwise the file is
 * opened for appending (and created 0640), and reopened when SIGHUP arrives. Returns false with
 * errno set when the file cannot be opened. */
bool s3m_log_setup(enum s3m_log_level level, bool json, const char *path);
/* Close the log file, if any. */
void s3m_log_close(void);
/* Parse "error|warn|notice|info|debug". */
bool s3m_log_parse_level(const char *s, enum s3m_log_level *out);
/* A live status line is drawn on stderr: log lines to stderr erase it first (the owner redraws). */
void s3m_log_set_status_line(bool on);
bool s3m_log_to_stderr(void);
void s3m_log_emit(enum s3m_log_level level, const char *subsys, const struct s3m_log_fields *f,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define s3m_log(level, subsys, ...)                                                                \
    do {                                                                                           \
        if ((level) <= s3m_log_threshold)                                                          \
            s3m_log_emit((level), (subsys), NULL, __VA_ARGS__);                                    \
    } while (0)

/* Same, with structured fields (a const struct s3m_log_fields *). */
#define s3m_logf(level, subsys, fields, ...)                                                       \
    do {                                                                                           \
        if ((level) <= s3m_log_threshold)                                                          \
            s3m_log_emit((level), (subsys), (fields), __VA_ARGS__);                                \
    } while (0)

#endif
