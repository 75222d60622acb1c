/* common/log.c: This file implements logfmt logging to stderr (log.h): one
 * line per call, emitted with a single write(2) so that lines from
 * concurrent threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_INFO;

/* Longer lines are cut; the newline always survives. */
#define LOG_LINE_MAX 4096

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

/* "2026-11-27T10:00:00.123Z" into out; returns its length. */
static size_t format_now(char *out, size_t outlen)
{
    struct timespec now;
    struct tm tm;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(now.tv_nsec / 1000000) % 1000);
    return n < 0 ? 0 : MIN((size_t)n, outlen - 1);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    char stamp[96];
    size_t len, cap = sizeof(line) - 1;   /* keep one byte for '\n' */
    va_list ap;
    int n;

    if (level < LOG_DEBUG || level >= LOG_OFF)
        return;
    format_now(stamp, sizeof(stamp));
    n = snprintf(line, cap, "time=%s level=%s ", stamp, level_names[level]);
    len = n < 0 ? 0 : MIN((size_t)n, cap - 1);
    va_start(ap, fmt);
    n = vsnprintf(line + len, cap - len, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += MIN((size_t)n, cap - len - 1);
    line[len++] = '\n';
    /* One write per line; a short write to stderr is not worth a retry loop
     * that could interleave with other threads. */
    if (write(STDERR_FILENO, line, len) < 0) {
        /* stderr is gone: nowhere to report it */
    }
}

/* The escape for byte c, or NULL when it is written as is. */
static const char *escape_of(unsigned char c, char tmp[5])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(tmp, 5, "\\x%02x", c);
        return tmp;
    }
    return NULL;
}

const char *log_quote(char *dst, size_t dstlen, const char *s)
{
    size_t o = 0;
    char tmp[5];

    if (dstlen < 3) {
        if (dstlen)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (; s && *s; s++) {
        const char *esc = escape_of((unsigned char)*s, tmp);
        size_t n = esc ? strlen(esc) : 1;

        if (o + n + 2 > dstlen)   /* room for the closing quote and NUL */
            break;
        if (esc)
            memcpy(dst + o, esc, n);
        else
            dst[o] = *s;
        o += n;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}
