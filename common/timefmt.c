/* common/timefmt.c: This file implements Swift timestamps (int64 ticks of
 * 10 µs), HTTP dates and the ISO 8601 form of listings (timefmt.h). Names of
 * days and months are spelled here rather than taken from the C locale. */
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const wkday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const weekday_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                             "Thursday", "Friday", "Saturday"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The last value ts_now() handed out, shared by all threads. */
static _Atomic int64_t ts_last;

int64_t ts_now(void)
{
    struct timespec now;
    int64_t t, last;

    clock_gettime(CLOCK_REALTIME, &now);
    t = (int64_t)now.tv_sec * TS_TICKS_PER_SEC + now.tv_nsec / 10000;
    last = atomic_load(&ts_last);
    /* Take max(clock, last + 1); retry if another thread got there first. */
    for (;;) {
        int64_t next = t > last ? t : last + 1;

        if (atomic_compare_exchange_weak(&ts_last, &last, next))
            return next;
    }
}

/* Copy a formatted string into a fixed-size output, cutting if needed (the
 * inputs are clamped so it never is; this keeps -Wformat-truncation quiet). */
static void copy_out(char *out, size_t outlen, const char *s)
{
    size_t n = strnlen(s, outlen - 1);

    memcpy(out, s, n);
    out[n] = '\0';
}

/* v as exactly `width` decimal digits, zero-padded (v < 10^width); the
 * end. ts_format and http_date run several times per request, and snprintf
 * showed up in profiles of small GETs. */
static char *put_digits(char *out, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return out + width;
}

/* Timestamps are clamped to 0 .. 9999999999.99999 (10 integer digits). */
void ts_format(int64_t ts, char out[TS_STRLEN])
{
    char *o;

    if (ts < 0)
        ts = 0;
    if (ts > 10000000000LL * TS_TICKS_PER_SEC - 1)
        ts = 10000000000LL * TS_TICKS_PER_SEC - 1;
    o = put_digits(out, (uint64_t)(ts / TS_TICKS_PER_SEC), 10);
    *o++ = '.';
    o = put_digits(o, (uint64_t)(ts % TS_TICKS_PER_SEC), 5);
    *o = '\0';
}

/* "_<1..16 hex digits>" to the end of the string. */
static bool valid_offset(const char *s)
{
    size_t n = 0;

    if (*s++ != '_')
        return false;
    for (; isxdigit((unsigned char)*s); s++)
        n++;
    return *s == '\0' && n >= 1 && n <= 16;
}

/* Swift rounds to 5 decimals (round(float(x), 5)); we round on the sixth
 * decimal, half up, and ignore the rest. Integer part: at most 12 digits so
 * no value can overflow. */
int ts_parse(const char *s, int64_t *out)
{
    int64_t secs = 0, frac = 0;
    int int_digits = 0, frac_digits = 0, round_digit = 0;

    for (; isdigit((unsigned char)*s); s++) {
        if (++int_digits > 12 && secs == 0 && *s == '0') {
            int_digits--;   /* leading zeros do not count */
            continue;
        }
        if (int_digits > 12)
            return -EINVAL;
        secs = secs * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++) {
            frac_digits++;
            if (frac_digits <= 5)
                frac = frac * 10 + (*s - '0');
            else if (frac_digits == 6)
                round_digit = *s - '0';
        }
    }
    if (int_digits + frac_digits == 0)
        return -EINVAL;
    if (*s != '\0' && !valid_offset(s))
        return -EINVAL;
    for (int i = frac_digits; i < 5; i++)
        frac *= 10;
    *out = secs * TS_TICKS_PER_SEC + frac + (round_digit >= 5);
    return 0;
}

time_t ts_to_time_ceil(int64_t ts)
{
    if (ts <= 0)
        return (time_t)(ts / TS_TICKS_PER_SEC);
    return (time_t)((ts + TS_TICKS_PER_SEC - 1) / TS_TICKS_PER_SEC);
}

void http_date(time_t t, char out[HTTP_DATE_LEN])
{
    struct tm tm;
    char tmp[96];

    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));     /* beyond the calendar: say 1900 */
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", wkday_names[tm.tm_wday],
                 tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        copy_out(out, HTTP_DATE_LEN, tmp);
        return;
    }
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    char *o = out;
    memcpy(o, wkday_names[tm.tm_wday], 3);
    o[3] = ',';
    o[4] = ' ';
    o = put_digits(o + 5, (uint64_t)tm.tm_mday, 2);
    *o++ = ' ';
    memcpy(o, month_names[tm.tm_mon], 3);
    o[3] = ' ';
    o = put_digits(o + 4, (uint64_t)(tm.tm_year + 1900), 4);
    *o++ = ' ';
    o = put_digits(o, (uint64_t)tm.tm_hour, 2);
    *o++ = ':';
    o = put_digits(o, (uint64_t)tm.tm_min, 2);
    *o++ = ':';
    o = put_digits(o, (uint64_t)tm.tm_sec, 2);
    memcpy(o, " GMT", 5);
}

/* A tiny cursor-based scanner for the three HTTP date forms. Each helper
 * advances *p on success and returns false (without a partial advance that
 * matters) on mismatch. */
static bool scan_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);

    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool scan_name(const char **p, const char *const *names, size_t count, int *out)
{
    for (size_t i = 0; i < count; i++) {
        size_t n = strlen(names[i]);

        if (strncasecmp(*p, names[i], n) == 0 && !isalpha((unsigned char)(*p)[n])) {
            *p += n;
            *out = (int)i;
            return true;
        }
    }
    return false;
}

/* Exactly min..max digits. */
static bool scan_num(const char **p, int min, int max, int *out)
{
    int n = 0, v = 0;

    while (n < max && isdigit((unsigned char)(*p)[n])) {
        v = v * 10 + ((*p)[n] - '0');
        n++;
    }
    if (n < min)
        return false;
    *p += n;
    *out = v;
    return true;
}

/* "HH:MM:SS" */
static bool scan_clock(const char **p, struct tm *tm)
{
    return scan_num(p, 2, 2, &tm->tm_hour) && scan_lit(p, ":") &&
           scan_num(p, 2, 2, &tm->tm_min) && scan_lit(p, ":") && scan_num(p, 2, 2, &tm->tm_sec);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf(const char *p, struct tm *tm)
{
    int wd;

    return scan_name(&p, wkday_names, 7, &wd) && scan_lit(&p, ", ") &&
           scan_num(&p, 2, 2, &tm->tm_mday) && scan_lit(&p, " ") &&
           scan_name(&p, month_names, 12, &tm->tm_mon) && scan_lit(&p, " ") &&
           scan_num(&p, 4, 4, &tm->tm_year) && scan_lit(&p, " ") && scan_clock(&p, tm) &&
           scan_lit(&p, " GMT") && *p == '\0';
}

/* "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years as Python's email.utils
 * reads them (Swift parses dates with it): 69..99 -> 19xx, else 20xx. */
static bool parse_rfc850(const char *p, struct tm *tm)
{
    int wd;

    if (!(scan_name(&p, weekday_names, 7, &wd) && scan_lit(&p, ", ") &&
          scan_num(&p, 2, 2, &tm->tm_mday) && scan_lit(&p, "-") &&
          scan_name(&p, month_names, 12, &tm->tm_mon) && scan_lit(&p, "-") &&
          scan_num(&p, 2, 2, &tm->tm_year) && scan_lit(&p, " ") && scan_clock(&p, tm) &&
          scan_lit(&p, " GMT") && *p == '\0'))
        return false;
    tm->tm_year += tm->tm_year > 68 ? 1900 : 2000;
    return true;
}

/* "Sun Nov  6 08:49:37 1994" */
static bool parse_asctime(const char *p, struct tm *tm)
{
    int wd;

    if (!(scan_name(&p, wkday_names, 7, &wd) && scan_lit(&p, " ") &&
          scan_name(&p, month_names, 12, &tm->tm_mon) && scan_lit(&p, " ")))
        return false;
    if (*p == ' ')
        p++;
    return scan_num(&p, 1, 2, &tm->tm_mday) && scan_lit(&p, " ") && scan_clock(&p, tm) &&
           scan_lit(&p, " ") && scan_num(&p, 4, 4, &tm->tm_year) && *p == '\0';
}

int http_date_parse(const char *s, time_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (!parse_imf(s, &tm)) {
        memset(&tm, 0, sizeof(tm));
        if (!parse_rfc850(s, &tm)) {
            memset(&tm, 0, sizeof(tm));
            if (!parse_asctime(s, &tm))
                return -EINVAL;
        }
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -EINVAL;
    tm.tm_year -= 1900;
    *out = timegm(&tm);
    return 0;
}

void iso_time(int64_t ts, char out[ISO_TIME_LEN])
{
    time_t secs;
    struct tm tm;
    char tmp[96];

    if (ts < 0)
        ts = 0;
    secs = (time_t)(ts / TS_TICKS_PER_SEC);
    gmtime_r(&secs, &tm);
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts % TS_TICKS_PER_SEC) * 10);
    copy_out(out, ISO_TIME_LEN, tmp);
}

uint64_t mono_ns(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}
