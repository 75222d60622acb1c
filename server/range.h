/* server/range.h: HTTP Range and conditional GET/HEAD requests, evaluated
 * exactly as Swift 2.30's swob does (swob.Range, swob.Match and
 * Response._get_conditional_response_status).
 *
 * Pure functions: no I/O, no allocation, no globals. Every function has
 * unit tests (tests/unit/test_range.c) and the Range parser a libFuzzer
 * target (tests/fuzz/fuzz_range.c). */
#ifndef SWIFTLET_SERVER_RANGE_H
#define SWIFTLET_SERVER_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* swob's limits on "egregious" multi-range requests (RFC 7233 6.1): more
 * than RANGE_MAX satisfiable ranges, more than RANGE_MAX_OVERLAPS
 * overlapping pairs, or RANGE_MAX_NONASCENDING or more ranges out of order
 * make the request unsatisfiable (416). */
#define RANGE_MAX 50
#define RANGE_MAX_OVERLAPS 2
#define RANGE_MAX_NONASCENDING 8

/* One satisfiable range, half-open: bytes [start, end) of the object. */
struct byte_range {
    uint64_t start;
    uint64_t end;
};

enum range_result {
    RANGE_IGNORE,          /* no header, or one swob ignores: serve 200 */
    RANGE_PARTIAL,         /* serve 206 with the n ranges in out */
    RANGE_UNSATISFIABLE,   /* 416 with "Content-Range: bytes * /size" */
};

/* Whether header is a syntactically valid Range value as swob.Range
 * accepts it ("bytes=" case-insensitive, spaces removed, every spec
 * "a-b", "a-" or "-b" with a <= b). NULL or "" is not valid. */
bool range_valid(const char *header);

/* Resolve header against an object of size bytes, as swob's
 * Range.ranges_for_length and Response._response_iter do: an invalid
 * header, or satisfiable ranges on an empty object, is RANGE_IGNORE; no
 * satisfiable range or an egregious set is RANGE_UNSATISFIABLE; else
 * RANGE_PARTIAL with *n (1..RANGE_MAX) ranges in out, in request order and
 * not coalesced (swob does not merge them either). */
enum range_result range_eval(const char *header, uint64_t size, struct byte_range out[RANGE_MAX],
                             size_t *n);

/* The Content-Range value "bytes <start>-<end - 1>/<size>" into out;
 * returns the length written (out holds 64 bytes at least). */
size_t range_content_range(char *out, size_t outlen, const struct byte_range *r, uint64_t size);

/* The exact length of the multipart/byteranges body swob sends for these
 * ranges:  for each part "--B\r\nContent-Type: T\r\nContent-Range: V\r\n\r\n"
 * + bytes + "\r\n", then "--B--". */
uint64_t range_multipart_length(const struct byte_range *r, size_t n, uint64_t size,
                                size_t boundary_len, size_t content_type_len);

/* Python's int() on s[0..n): surrounding whitespace, one optional sign,
 * decimal digits with single '_' between them. Saturates at INT64_MIN /
 * INT64_MAX (Python has no limit; callers clamp anyway). Returns false
 * when int() would raise ValueError. Used for Range bounds and
 * X-Delete-At / X-Delete-After. */
bool py_int(const char *s, size_t n, int64_t *out);

/* ---- conditional requests ---- */

/* swob.Match: whether the If-Match / If-None-Match value header (a list
 * of comma-separated, optionally quoted tags) contains etag or "*". */
bool etag_list_match(const char *header, const char *etag);

/* The conditional headers of a GET/HEAD, dates already parsed (has_* is
 * false when the header is absent or not a valid HTTP date, which swob
 * ignores). */
struct cond_req {
    const char *if_match;          /* NULL when absent */
    const char *if_none_match;
    bool has_ims;
    time_t if_modified_since;
    bool has_ius;
    time_t if_unmodified_since;
};

/* swob's order for an existing object with this etag (unquoted hex) and
 * Last-Modified (whole seconds): If-None-Match hit 304, If-Match miss 412,
 * If-Modified-Since not older 304, If-Unmodified-Since older 412; else 0
 * (serve the object). */
int cond_eval(const struct cond_req *c, const char *etag, time_t last_modified);

#endif
