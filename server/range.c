/* server/range.c: implements server/range.h, the Range header and the
 * conditional-request rules of Swift 2.30's swob, quirks included (spaces
 * anywhere are dropped, Python int() accepts '+' and '_', overlapping or
 * repeated ranges are served as sent). */
#include "range.h"

#include "../common/util.h"

#include <stdio.h>
#include <string.h>

/* ---- Python int() ---- */

/* Characters str.strip() and int() treat as whitespace in a latin-1
 * decoded header (WSGI hands headers over that way). */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 ||
           c == 0xa0;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* A view of s[0..n) that can hide every ' ' (swob removes them from the
 * whole Range value before parsing). */
struct cursor {
    const char *s;
    size_t n, i;
    bool drop_spaces;
};

static int cur_peek(const struct cursor *c, size_t ahead)
{
    for (size_t i = c->i; i < c->n; i++) {
        if (c->drop_spaces && c->s[i] == ' ')
            continue;
        if (ahead-- == 0)
            return (unsigned char)c->s[i];
    }
    return -1;
}

static void cur_next(struct cursor *c)
{
    while (c->i < c->n && c->drop_spaces && c->s[c->i] == ' ')
        c->i++;
    if (c->i < c->n)
        c->i++;
}

static void cur_skip_ws(struct cursor *c)
{
    int ch;
    while ((ch = cur_peek(c, 0)) >= 0 && py_space((unsigned char)ch))
        cur_next(c);
}

static bool py_int_(const char *s, size_t n, bool drop_spaces, int64_t *out)
{
    struct cursor c = {s, n, 0, drop_spaces};
    uint64_t v = 0, limit;
    bool neg = false, big = false;
    int ch;

    cur_skip_ws(&c);
    ch = cur_peek(&c, 0);
    if (ch == '+' || ch == '-') {
        neg = ch == '-';
        cur_next(&c);
    }
    if (!is_digit(cur_peek(&c, 0)))
        return false;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while ((ch = cur_peek(&c, 0)) >= 0) {
        if (ch == '_' && is_digit(cur_peek(&c, 1))) {
            cur_next(&c);
            continue;
        }
        if (!is_digit(ch))
            break;
        unsigned d = (unsigned)(ch - '0');
        if (big || v > (limit - d) / 10)
            big = true;
        else
            v = v * 10 + d;
        cur_next(&c);
    }
    cur_skip_ws(&c);
    if (cur_peek(&c, 0) >= 0)
        return false;
    if (big)
        v = limit;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

bool py_int(const char *s, size_t n, int64_t *out)
{
    return py_int_(s, n, false, out);
}

/* ---- Range ---- */

/* One byte-range-spec as swob.Range keeps it: None is "absent". */
struct spec {
    bool has_start, has_end;
    uint64_t start, end;
};

/* end.isdigit() on the spec's end (spaces already gone), then int(). */
static bool parse_end(const char *s, size_t n, uint64_t *out, bool *present)
{
    struct cursor c = {s, n, 0, true};
    uint64_t v = 0;
    int ch;

    *present = cur_peek(&c, 0) >= 0;
    while ((ch = cur_peek(&c, 0)) >= 0) {
        if (!is_digit(ch))
            return false;
        unsigned d = (unsigned)(ch - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        cur_next(&c);
    }
    *out = v;
    return true;
}

/* Parse the spec s[0..n) (between commas, spaces still in). */
static bool parse_spec(const char *s, size_t n, struct spec *sp)
{
    const char *dash = memchr(s, '-', n);
    struct cursor c = {s, dash ? (size_t)(dash - s) : 0, 0, true};
    int64_t start;

    if (!dash)
        return false;
    sp->has_start = cur_peek(&c, 0) >= 0;
    if (sp->has_start) {
        if (!py_int_(s, (size_t)(dash - s), true, &start) || start < 0)
            return false;
        sp->start = (uint64_t)start;
    }
    if (!parse_end(dash + 1, n - (size_t)(dash + 1 - s), &sp->end, &sp->has_end))
        return false;
    if (sp->has_end)
        return !sp->has_start || sp->end >= sp->start;
    return sp->has_start;
}

/* Skip "bytes=" (case-insensitive, spaces ignored); NULL when absent. */
static const char *skip_unit(const char *h)
{
    static const char unit[] = "bytes=";
    size_t k = 0;

    for (; *h && k < sizeof(unit) - 1; h++) {
        if (*h == ' ')
            continue;
        char ch = *h >= 'A' && *h <= 'Z' ? (char)(*h - 'A' + 'a') : *h;
        if (ch != unit[k++])
            return NULL;
    }
    return k == sizeof(unit) - 1 ? h : NULL;
}

/* Call cb for each spec of a valid header; false when any is invalid
 * (then the header is ignored as a whole, so nothing may be used). */
static bool each_spec(const char *header, void (*cb)(void *ctx, const struct spec *sp),
                      void *ctx)
{
    const char *p = header ? skip_unit(header) : NULL;

    if (!p)
        return false;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct spec sp;
        if (!parse_spec(p, len, &sp))
            return false;
        if (cb)
            cb(ctx, &sp);
        if (!comma)
            return true;
        p = comma + 1;
    }
}

bool range_valid(const char *header)
{
    return each_spec(header, NULL, NULL);
}

struct resolve {
    uint64_t size;
    struct byte_range *out;
    size_t n;       /* satisfiable ranges seen (may pass RANGE_MAX) */
};

/* Range.ranges_for_length for one spec. */
static void resolve_one(void *vctx, const struct spec *sp)
{
    struct resolve *rs = vctx;
    struct byte_range br;

    if (!sp->has_start) {
        if (sp->end == 0)
            return;   /* "bytes=-0" */
        br.start = sp->end > rs->size ? 0 : rs->size - sp->end;
        br.end = rs->size;
    } else {
        if (sp->start >= rs->size)
            return;
        br.start = sp->start;
        br.end = !sp->has_end || sp->end >= rs->size ? rs->size : sp->end + 1;
    }
    if (rs->n < RANGE_MAX)
        rs->out[rs->n] = br;
    rs->n++;
}

static bool overlap(const struct byte_range *a, const struct byte_range *b)
{
    return (a->start < b->start && b->start < a->end) || (a->start < b->end && b->end < a->end) ||
           (b->start < a->start && a->start < b->end) || (b->start < a->end && a->end < b->end);
}

/* swob's DoS guard over the resolved ranges. */
static bool egregious(const struct byte_range *r, size_t n)
{
    size_t overlaps = 0;
    bool ascending = true;

    if (n > RANGE_MAX)
        return true;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (overlap(&r[i], &r[j]) && ++overlaps > RANGE_MAX_OVERLAPS)
                return true;
    for (size_t i = 0; i + 1 < n && ascending; i++)
        ascending = r[i].start < r[i + 1].start ||
                    (r[i].start == r[i + 1].start && r[i].end <= r[i + 1].end);
    return !ascending && n >= RANGE_MAX_NONASCENDING;
}

enum range_result range_eval(const char *header, uint64_t size, struct byte_range out[RANGE_MAX],
                             size_t *n)
{
    struct resolve rs = {size, out, 0};

    *n = 0;
    if (!each_spec(header, resolve_one, &rs))
        return RANGE_IGNORE;
    if (rs.n == 0 || egregious(out, rs.n))
        return RANGE_UNSATISFIABLE;
    if (size == 0)
        return RANGE_IGNORE;   /* only suffix ranges of an empty body: 200 */
    *n = rs.n;
    return RANGE_PARTIAL;
}

size_t range_content_range(char *out, size_t outlen, const struct byte_range *r, uint64_t size)
{
    int len = snprintf(out, outlen, "bytes %llu-%llu/%llu", (unsigned long long)r->start,
                       (unsigned long long)(r->end - 1), (unsigned long long)size);
    return len < 0 ? 0 : MIN((size_t)len, outlen ? outlen - 1 : 0);
}

uint64_t range_multipart_length(const struct byte_range *r, size_t n, uint64_t size,
                                size_t boundary_len, size_t content_type_len)
{
    /* "--" B "\r\n" "Content-Type: " T "\r\n" "Content-Range: " V "\r\n" "\r\n" ... "\r\n" */
    uint64_t fixed = 2 + boundary_len + 2 + 14 + content_type_len + 2 + 15 + 2 + 2 + 2;
    uint64_t total = boundary_len + 4;   /* "--" B "--" */
    char cr[80];

    for (size_t i = 0; i < n; i++)
        total += fixed + range_content_range(cr, sizeof(cr), &r[i], size) +
                 (r[i].end - r[i].start);
    return total;
}

/* ---- conditional requests ---- */

/* Does the tag t[0..n) (already stripped) equal etag after swob's
 * normalize_etag (one pair of surrounding quotes removed)? */
static bool tag_equals(const char *t, size_t n, const char *etag, size_t elen)
{
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
        t++;
        n -= 2;
    }
    return n == elen && memcmp(t, etag, n) == 0;
}

bool etag_list_match(const char *header, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = header;

    if (elen >= 2 && etag[0] == '"' && etag[elen - 1] == '"') {
        etag++;
        elen -= 2;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        while (p < e && py_space((unsigned char)*p))
            p++;
        while (e > p && py_space((unsigned char)e[-1]))
            e--;
        size_t n = (size_t)(e - p);
        if ((n == 1 && *p == '*') || (n > 0 && tag_equals(p, n, etag, elen)))
            return true;
        if (!comma)
            return false;
        p = comma + 1;
    }
}

int cond_eval(const struct cond_req *c, const char *etag, time_t last_modified)
{
    bool have_etag = etag && *etag;

    if (have_etag && c->if_none_match && etag_list_match(c->if_none_match, etag))
        return 304;
    if (have_etag && c->if_match && !etag_list_match(c->if_match, etag))
        return 412;
    if (c->has_ims && last_modified <= c->if_modified_since)
        return 304;
    if (c->has_ius && last_modified > c->if_unmodified_since)
        return 412;
    return 0;
}
