/* server/lostream.c: implements the large-object body stream of
 * lostream.h: pieces located by binary search on their start offsets, the
 * current segment kept open between reads, and the Range answers (single,
 * multipart/byteranges through byteranges.c, 416) over the
 * concatenation. */
#include "lostream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "byteranges.h"
#include "objops.h"
#include "range.h"

struct lo_piece {
    uint64_t pos;             /* where it starts in the concatenation */
    uint64_t len;
    char *container, *object; /* NULL for inline data */
    uint64_t off;             /* offset in the segment's body */
    char etag[33];            /* "" unchecked */
    uint64_t size;            /* UINT64_MAX unchecked */
    char *data;               /* inline bytes */
};

struct lo_stream {
    struct server *srv;
    char *account;
    struct lo_piece *p;
    size_t n, alloc;
    uint64_t total;
    size_t cur;               /* the piece rd holds open; n when none */
    struct object_reader rd;
};

struct lo_stream *lo_stream_new(struct server *srv, const char *account)
{
    struct lo_stream *s = xcalloc(1, sizeof(*s));

    s->srv = srv;
    s->account = xstrdup(account);
    s->rd.fd = -1;
    object_meta_init(&s->rd.meta);
    return s;
}

static void close_current(struct lo_stream *s)
{
    object_reader_close(&s->rd);
    s->rd.fd = -1;
    object_meta_init(&s->rd.meta);
    s->cur = s->n;
}

void lo_stream_free(struct lo_stream *s)
{
    if (!s)
        return;
    object_reader_close(&s->rd);
    for (size_t i = 0; i < s->n; i++) {
        free(s->p[i].container);
        free(s->p[i].object);
        free(s->p[i].data);
    }
    free(s->p);
    free(s->account);
    free(s);
}

static struct lo_piece *add_piece(struct lo_stream *s, uint64_t len)
{
    struct lo_piece *p;

    if (s->n == s->alloc) {
        s->alloc = s->alloc ? 2 * s->alloc : 16;
        s->p = xrealloc(s->p, s->alloc * sizeof(*s->p));
    }
    p = &s->p[s->n++];
    memset(p, 0, sizeof(*p));
    p->pos = s->total;
    p->len = len;
    p->size = UINT64_MAX;
    s->total += len;
    s->cur = s->n;   /* nothing open yet; keeps cur == n meaning "none" */
    return p;
}

void lo_stream_add_segment(struct lo_stream *s, const char *container, const char *object,
                           uint64_t off, uint64_t len, const char *etag, uint64_t size)
{
    struct lo_piece *p;

    if (len == 0)
        return;   /* nothing to read: an empty segment is never opened */
    p = add_piece(s, len);
    p->container = xstrdup(container);
    p->object = xstrdup(object);
    p->off = off;
    p->size = size;
    if (etag)
        snprintf(p->etag, sizeof(p->etag), "%s", etag);
}

void lo_stream_add_data(struct lo_stream *s, const void *data, size_t len)
{
    struct lo_piece *p;

    if (len == 0)
        return;
    p = add_piece(s, len);
    p->data = xmalloc(len);
    memcpy(p->data, data, len);
}

uint64_t lo_stream_len(const struct lo_stream *s)
{
    return s->total;
}

size_t lo_stream_count(const struct lo_stream *s)
{
    return s->n;
}

/* Open piece i's segment into s->rd and check it against the manifest. */
static int open_piece(struct lo_stream *s, size_t i)
{
    const struct lo_piece *p = &s->p[i];
    int rc;

    close_current(s);
    rc = objops_open(s->srv, s->account, p->container, p->object, &s->rd);
    if (rc == 0 && p->etag[0] && strcmp(p->etag, s->rd.meta.etag) != 0)
        rc = ERR_ETAG;
    if (rc == 0 && p->size != UINT64_MAX && p->size != s->rd.meta.size)
        rc = ERR_ETAG;
    if (rc == 0 && p->off + p->len > s->rd.meta.size)
        rc = -EIO;   /* a DLO segment that shrank since the listing */
    if (rc != 0) {
        log_error("msg=\"large object segment unusable\" account=%s segment=%s/%s err=%s",
                  s->account, p->container, p->object, err_str(rc));
        close_current(s);
        return rc;
    }
    s->cur = i;
    return 0;
}

int lo_stream_check_first(struct lo_stream *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i].container)
            return open_piece(s, i);
    return 0;
}

static size_t find_piece(const struct lo_stream *s, uint64_t pos)
{
    size_t lo = 0, hi = s->n;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->p[mid].pos <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

ssize_t lo_stream_read(struct lo_stream *s, uint64_t pos, char *buf, size_t max)
{
    const struct lo_piece *p;
    size_t i, n;
    ssize_t got;

    if (pos >= s->total)
        return 0;
    i = (s->cur < s->n && pos >= s->p[s->cur].pos && pos < s->p[s->cur].pos + s->p[s->cur].len)
            ? s->cur
            : find_piece(s, pos);
    p = &s->p[i];
    n = (size_t)MIN((uint64_t)max, p->pos + p->len - pos);
    if (p->data) {
        memcpy(buf, p->data + (pos - p->pos), n);
        return (ssize_t)n;
    }
    if (s->cur != i && open_piece(s, i) != 0)
        return -1;
    got = pread(s->rd.fd, buf, n, (off_t)(s->rd.body_offset + p->off + (pos - p->pos)));
    if (got <= 0) {
        log_error("msg=\"short read of a large object segment\" segment=%s/%s", p->container,
                  p->object);
        return -1;
    }
    if (pos + (uint64_t)got == p->pos + p->len)
        close_current(s);   /* done with it: hold no fd between segments */
    return got;
}

/* ---- answering ---- */

int lo_stream_conditional(struct request *r, const char *etag, const struct object_meta *m)
{
    struct cond_req c = {
        .if_match = req_header(r, "If-Match"),
        .if_none_match = req_header(r, "If-None-Match"),
    };
    const char *v;
    int status;

    v = req_header(r, "If-Modified-Since");
    c.has_ims = v && http_date_parse(v, &c.if_modified_since) == 0;
    v = req_header(r, "If-Unmodified-Since");
    c.has_ius = v && http_date_parse(v, &c.if_unmodified_since) == 0;
    status = cond_eval(&c, etag, ts_to_time_ceil(m->meta_timestamp));
    if (status == 304) {
        resp_header(r, "Accept-Ranges", "bytes");
        resp_text(r, 304, m->content_type ? m->content_type : "application/octet-stream", "");
    } else if (status) {
        resp_text(r, 412, "text/html; charset=UTF-8", "");
    }
    return status;
}

static ssize_t whole_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    return lo_stream_read(ctx, pos, buf, max);
}

static void whole_free(void *ctx)
{
    lo_stream_free(ctx);
}

/* One range: the stream shifted by start. */
struct lo_slice {
    struct lo_stream *s;
    uint64_t start;
};

static ssize_t slice_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct lo_slice *sl = ctx;
    return lo_stream_read(sl->s, sl->start + pos, buf, max);
}

static void slice_free(void *ctx)
{
    struct lo_slice *sl = ctx;
    lo_stream_free(sl->s);
    free(sl);
}

void lo_stream_respond(struct request *r, struct lo_stream *s, const char *ctype, bool multi)
{
    struct byte_range rg[RANGE_MAX];
    size_t n = 0;
    enum range_result rr = RANGE_IGNORE;
    char cr[80];

    if (r->method == M_GET)
        rr = range_eval(req_header(r, "Range"), s->total, rg, &n);
    if (rr == RANGE_PARTIAL && n > 1 && !multi)
        rr = RANGE_IGNORE;   /* dlo.py: several ranges get the whole object */
    resp_header(r, "Accept-Ranges", "bytes");
    if (rr == RANGE_UNSATISFIABLE) {
        resp_headerf(r, "Content-Range", "bytes */%llu", (unsigned long long)s->total);
        resp_error(r, 416, NULL);
        resp_header(r, "Content-Type", ctype);
        lo_stream_free(s);
        return;
    }
    if (rr == RANGE_PARTIAL && n > 1) {
        struct byteranges_body body = {whole_read, whole_free, s};
        byteranges_respond(r, ctype, rg, n, s->total, &body);
        return;
    }
    resp_header(r, "Content-Type", ctype);
    r->status = 200;
    if (rr == RANGE_PARTIAL) {
        struct lo_slice *sl = xcalloc(1, sizeof(*sl));
        range_content_range(cr, sizeof(cr), &rg[0], s->total);
        resp_header(r, "Content-Range", cr);
        r->status = 206;
        sl->s = s;
        sl->start = rg[0].start;
        r->stream_read = slice_read;
        r->stream_free = slice_free;
        r->stream_ctx = sl;
        r->stream_len = rg[0].end - rg[0].start;
        return;
    }
    r->stream_read = whole_read;
    r->stream_free = whole_free;
    r->stream_ctx = s;
    r->stream_len = s->total;
}
