/* common/timefmt.h: Swift timestamps and HTTP / ISO 8601 dates.
 *
 * A Swift timestamp is seconds since the epoch with 5 decimals
 * ("1700000000.12345"); we keep it as an int64 count of 10 µs ticks so it
 * compares exactly and orders the newest-wins rule everywhere. */
#ifndef SWIFTLET_COMMON_TIMEFMT_H
#define SWIFTLET_COMMON_TIMEFMT_H

#include <stdint.h>
#include <time.h>

#include "util.h"

#define TS_TICKS_PER_SEC 100000LL
#define TS_STRLEN 17        /* "1700000000.12345" + NUL (10 integer digits) */
#define HTTP_DATE_LEN 30    /* "Fri, 27 Nov 2026 10:00:00 GMT" + NUL */
#define ISO_TIME_LEN 27     /* "2026-11-27T10:00:00.123450" + NUL */

/* The current time as a timestamp; strictly increasing within the process
 * (two calls never return the same tick), so two writes in one process
 * always order. */
int64_t ts_now(void);
/* "%010lld.%05lld" like Swift's Timestamp.normal. */
void ts_format(int64_t ts, char out[TS_STRLEN]);
/* Accepts "123", "123.4", "0000000123.45678" and Swift's internal form with
 * an "_<hex offset>" suffix (the offset is ignored). 0 or -EINVAL. */
int ts_parse(const char *s, int64_t *out) WUR;
/* Whole seconds, rounded up like Swift's Last-Modified (ceil). */
time_t ts_to_time_ceil(int64_t ts);

/* RFC 7231 IMF-fixdate in GMT. */
void http_date(time_t t, char out[HTTP_DATE_LEN]);
/* Parse IMF-fixdate, RFC 850 or asctime dates; 0 or -EINVAL. */
int http_date_parse(const char *s, time_t *out) WUR;
/* Swift listing "last_modified": "2026-11-27T10:00:00.123450" (UTC, 6 decimals). */
void iso_time(int64_t ts, char out[ISO_TIME_LEN]);

/* Monotonic clock in nanoseconds (durations, rate limits). */
uint64_t mono_ns(void);

#endif
