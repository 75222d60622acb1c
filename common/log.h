/* common/log.h: logfmt lines on stderr.
 *
 * Every line is "time=<RFC 3339 UTC, ms> level=<lvl> <fields>" written with a
 * single write(2) so concurrent threads never interleave. The macros check
 * the level before evaluating their arguments (as redis' serverLog does).
 * Messages are lower case, name the subject, then what failed, then why:
 *     log_error("msg=\"cannot open disk group\" path=%s err=\"%s\"", p, err_str(rc));
 * Never pass a token or key to these functions. */
#ifndef SWIFTLET_COMMON_LOG_H
#define SWIFTLET_COMMON_LOG_H

#include <stddef.h>

#include "util.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

extern enum log_level log_min_level;

void log_write(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Parse "debug|info|warn|error|off"; 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out) WUR;

/* Quote s for a logfmt value into dst ("..." with \" \\ and control bytes
 * escaped, truncated to fit). Returns dst. */
const char *log_quote(char *dst, size_t dstlen, const char *s);

#define log_at_(lvl, ...)                                                                          \
    do {                                                                                           \
        if ((lvl) >= log_min_level)                                                                \
            log_write((lvl), __VA_ARGS__);                                                         \
    } while (0)
#define log_debug(...) log_at_(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_at_(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_at_(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at_(LOG_ERROR, __VA_ARGS__)

#endif
