/* server/byteranges.c: implements the multipart/byteranges stream of
 * byteranges.h: a table of parts, each either text (part headers, CRLFs,
 * the closing boundary, held in one buffer) or a span of the body, read
 * through the caller's reader. */
#include "byteranges.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/util.h"

struct br_part {
    uint64_t pos, len;   /* where it sits in the answer */
    bool text;
    uint64_t off;        /* offset in text, or in the body */
};

struct br_stream {
    struct byteranges_body body;
    struct buf text;
    struct br_part part[3 * RANGE_MAX + 1];
    size_t n;
    uint64_t total;
};

static void part_add(struct br_stream *m, bool text, uint64_t off, uint64_t len)
{
    struct br_part *p = &m->part[m->n++];

    p->pos = m->total;
    p->len = len;
    p->text = text;
    p->off = off;
    m->total += len;
}

/* Close a text part started when the text was start bytes long. */
static void part_text(struct br_stream *m, size_t start, int rc)
{
    if (rc != 0)
        abort();   /* the text buffer has no cap */
    part_add(m, true, start, m->text.len - start);
}

static ssize_t br_read(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct br_stream *m = ctx;
    size_t i = 0;

    while (i < m->n && pos >= m->part[i].pos + m->part[i].len)
        i++;
    if (i == m->n)
        return 0;
    const struct br_part *p = &m->part[i];
    size_t n = (size_t)MIN((uint64_t)max, p->pos + p->len - pos);
    if (p->text) {
        memcpy(out, m->text.data + p->off + (pos - p->pos), n);
        return (ssize_t)n;
    }
    ssize_t got = m->body.read(m->body.ctx, p->off + (pos - p->pos), out, n);
    return got > 0 ? got : -1;   /* a short body is an error, not an end */
}

static void br_free(void *ctx)
{
    struct br_stream *m = ctx;

    if (m->body.free)
        m->body.free(m->body.ctx);
    buf_release(&m->text);
    free(m);
}

void byteranges_respond(struct request *r, const char *ctype, const struct byte_range *rg,
                        size_t n, uint64_t size, const struct byteranges_body *body)
{
    struct br_stream *m = xcalloc(1, sizeof(*m));
    uint8_t rnd[16];
    char boundary[33], cr[80];
    size_t at;

    if (random_bytes(rnd, sizeof(rnd)) != 0)
        memset(rnd, 0x5a, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), boundary);
    buf_init(&m->text, 0);
    m->body = *body;
    for (size_t i = 0; i < n; i++) {
        at = m->text.len;
        range_content_range(cr, sizeof(cr), &rg[i], size);
        part_text(m, at,
                  buf_appendf(&m->text, "--%s\r\nContent-Type: %s\r\nContent-Range: %s\r\n\r\n",
                              boundary, ctype, cr));
        part_add(m, false, rg[i].start, rg[i].end - rg[i].start);
        at = m->text.len;
        part_text(m, at, buf_appends(&m->text, "\r\n"));
    }
    at = m->text.len;
    part_text(m, at, buf_appendf(&m->text, "--%s--", boundary));
    r->status = 206;
    resp_headerf(r, "Content-Type", "multipart/byteranges;boundary=%s", boundary);
    r->stream_read = br_read;
    r->stream_free = br_free;
    r->stream_ctx = m;
    r->stream_len = m->total;
}
