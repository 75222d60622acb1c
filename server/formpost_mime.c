/* server/formpost_mime.c: implements the incremental multipart/form-data
 * parser of server/formpost.h, with the rules of Swift's
 * iter_multipart_mime_documents and parse_mime_headers.
 *
 * The body arrives in chunks of any size. Each chunk is scanned for the
 * delimiter "\r\n--boundary"; a tail that could be the start of one is held
 * back (at most the delimiter's length) until the next chunk decides. Part
 * bodies are handed on as they come, so memory stays bounded by the
 * delimiter, the header cap and one chunk whatever the form holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formpost.h"

static const char HDR_END[] = "\r\n\r\n";

int fp_mime_init(struct fp_mime *m, const char *boundary, const struct fp_mime_ops *ops,
                 void *ctx)
{
    size_t n = strlen(boundary);

    memset(m, 0, sizeof(*m));
    buf_init(&m->line, FP_BOUNDARY_MAX + 8);
    buf_init(&m->headers, FP_HEADERS_MAX);
    if (n == 0 || n > FP_BOUNDARY_MAX)
        return -EINVAL;
    m->ops = ops;
    m->ctx = ctx;
    memcpy(m->delim, "\r\n--", 4);
    memcpy(m->delim + 4, boundary, n);
    m->dlen = n + 4;
    m->state = FPM_PREAMBLE;
    return 0;
}

void fp_mime_release(struct fp_mime *m)
{
    buf_release(&m->line);
    buf_release(&m->headers);
}

bool fp_mime_done(const struct fp_mime *m)
{
    return m->state == FPM_DONE;
}

static int stop(struct fp_mime *m, int rc)
{
    if (rc != 0) {
        m->stopped = rc;
        m->state = FPM_DONE;
    }
    return rc;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The preamble line (readline of at most "--boundary" + 2 bytes) is
 * complete: blank lines are skipped, then it must be the boundary. */
static int preamble_line(struct fp_mime *m)
{
    const char *s = m->line.data;
    size_t n = m->line.len;

    if (n == 2 && s[0] == '\r' && s[1] == '\n') {
        buf_reset(&m->line);
        return 0;
    }
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    bool ok = n == m->dlen - 2 && memcmp(s, m->delim + 2, n) == 0;
    buf_reset(&m->line);
    if (!ok)
        return stop(m, -EBADMSG);
    m->state = FPM_HEADERS;
    m->hdr_match = 2;   /* a part that starts with "\r\n" has no headers */
    return 0;
}

/* Bytes of the preamble; returns how many were used. */
static size_t feed_preamble(struct fp_mime *m, const char *p, size_t n, int *rc)
{
    size_t max = m->dlen - 2 + 2, i = 0;

    while (i < n && m->state == FPM_PREAMBLE) {
        char c = p[i++];
        if (buf_appendc(&m->line, c) != 0)
            abort();   /* the line never exceeds max (< the cap) */
        if (c == '\n' || m->line.len == max) {
            *rc = preamble_line(m);
            if (*rc)
                break;
        }
    }
    return i;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* "Name: value" lines (continuations folded in) of the header block. */
static void parse_headers(const char *s, size_t n, struct kv_list *out)
{
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        size_t len = nl ? (size_t)(nl - s) : n;
        const char *colon = memchr(s, ':', len);
        const char *line = s;

        s += len + (nl ? 1 : 0);
        n -= len + (nl ? 1 : 0);
        if ((line[0] == ' ' || line[0] == '\t') && out->n > 0 && len > 0) {
            const char *v = line;
            size_t vn = len;
            trim(&v, &vn);
            struct kv *last = &out->items[out->n - 1];
            char *joined = xasprintf("%s %.*s", last->value, (int)vn, v);
            free(last->value);
            last->value = joined;
            continue;
        }
        if (!colon)
            continue;
        const char *k = line, *v = colon + 1;
        size_t kn = (size_t)(colon - line), vn = len - kn - 1;
        trim(&k, &kn);
        trim(&v, &vn);
        char *key = xstrndup(k, kn), *value = xstrndup(v, vn);
        kv_add(out, key, value);
        free(key);
        free(value);
    }
}

static int begin_part(struct fp_mime *m)
{
    struct kv_list h = KV_LIST_INIT;
    int rc;

    parse_headers(m->headers.data ? m->headers.data : "", m->headers.len, &h);
    buf_reset(&m->headers);
    m->state = FPM_BODY;
    m->in_part = true;
    rc = m->ops->part_begin(m->ctx, &h);
    kv_release(&h);
    return stop(m, rc);
}

/* Content of the current part (never a delimiter). */
static int content(struct fp_mime *m, const char *p, size_t n)
{
    while (n > 0 && m->state == FPM_HEADERS) {
        char c = *p++;
        n--;
        if (m->headers.len < FP_HEADERS_MAX && buf_appendc(&m->headers, c) != 0)
            abort();   /* under the cap by the test above */
        if (c == HDR_END[m->hdr_match])
            m->hdr_match++;
        else
            m->hdr_match = c == '\r' ? 1 : 0;
        if (m->hdr_match == 4) {
            int rc = begin_part(m);
            if (rc)
                return rc;
        }
    }
    if (n > 0 && m->state == FPM_BODY)
        return stop(m, m->ops->part_data(m->ctx, p, n));
    return 0;
}

/* The current part ends (a delimiter, or the end of the body). */
static int end_part(struct fp_mime *m)
{
    int rc = 0;

    if (m->state == FPM_HEADERS)
        rc = begin_part(m);   /* a part without a blank line: all headers */
    if (rc == 0 && m->in_part) {
        m->in_part = false;
        rc = stop(m, m->ops->part_end(m->ctx));
    }
    return rc;
}

/* The longest tail of p[0..n) that is a proper prefix of the delimiter. */
static size_t delim_tail(const struct fp_mime *m, const char *p, size_t n)
{
    size_t max = n < m->dlen - 1 ? n : m->dlen - 1;

    for (size_t k = max; k > 0; k--)
        if (memcmp(p + n - k, m->delim, k) == 0)
            return k;
    return 0;
}

/* Scan w[0..n) (held tail + new bytes) in the part states. */
static int scan(struct fp_mime *m, const char *w, size_t n)
{
    size_t off = 0;
    int rc = 0;

    while (off < n && rc == 0) {
        if (m->state == FPM_DONE)
            return m->stopped;
        if (m->state == FPM_AFTER_DELIM) {
            if (w[off] == '-' && (m->after == 0 || m->last))
                m->last = true;
            else
                m->last = false;
            off++;
            if (++m->after == 2) {
                m->state = m->last ? FPM_DONE : FPM_HEADERS;
                m->hdr_match = 2;
            }
            continue;
        }
        const char *d = memmem(w + off, n - off, m->delim, m->dlen);
        if (!d) {
            size_t keep = delim_tail(m, w + off, n - off);
            rc = content(m, w + off, n - off - keep);
            if (rc == 0 && m->state != FPM_DONE) {
                memcpy(m->hold, w + n - keep, keep);
                m->nhold = keep;
            }
            return rc;
        }
        rc = content(m, w + off, (size_t)(d - (w + off)));
        if (rc == 0)
            rc = end_part(m);
        if (rc == 0) {
            m->state = FPM_AFTER_DELIM;
            m->after = 0;
            m->last = false;
        }
        off = (size_t)(d - w) + m->dlen;
    }
    return rc;
}

int fp_mime_feed(struct fp_mime *m, const char *p, size_t n)
{
    int rc = 0;

    if (m->state == FPM_DONE)
        return m->stopped;
    if (m->state == FPM_PREAMBLE) {
        size_t used = feed_preamble(m, p, n, &rc);
        if (rc)
            return rc;
        p += used;
        n -= used;
    }
    if (n == 0 || m->state == FPM_DONE)
        return m->state == FPM_DONE ? m->stopped : 0;
    /* The held tail goes first; a small window covers any delimiter that
     * starts in it, then the rest is scanned in place. */
    if (m->nhold > 0) {
        char win[2 * (FP_BOUNDARY_MAX + 5)];
        size_t take = n < m->dlen ? n : m->dlen, held = m->nhold;
        memcpy(win, m->hold, held);
        memcpy(win + held, p, take);
        m->nhold = 0;
        const char *d = memmem(win, held + take, m->delim, m->dlen);
        if (d && (size_t)(d - win) < held) {
            size_t used = (size_t)(d - win) + m->dlen - held;
            rc = scan(m, win, (size_t)(d - win) + m->dlen);
            return rc ? rc : fp_mime_feed(m, p + used, n - used);
        }
        if (!d && take == n) {
            /* Everything is in the window: it decides, and may hold again. */
            return scan(m, win, held + take);
        }
        rc = content(m, win, held);   /* no delimiter starts in the held bytes */
        if (rc)
            return rc;
    }
    return scan(m, p, n);
}

int fp_mime_finish(struct fp_mime *m)
{
    int rc;

    switch (m->state) {
    case FPM_DONE:
        return m->stopped;
    case FPM_PREAMBLE:
        if (m->line.len == 0)
            return stop(m, -EBADMSG);
        rc = preamble_line(m);
        if (rc == 0 && m->state == FPM_PREAMBLE)
            rc = stop(m, -EBADMSG);   /* blank lines only */
        else if (rc == 0)
            m->state = FPM_DONE;      /* a boundary and nothing else: no parts */
        return rc;
    case FPM_HEADERS:
    case FPM_BODY:
        rc = content(m, m->hold, m->nhold);
        m->nhold = 0;
        if (rc == 0)
            rc = end_part(m);
        if (rc == 0)
            m->state = FPM_DONE;
        return rc;
    case FPM_AFTER_DELIM:
        m->state = FPM_DONE;
        return 0;
    }
    return 0;
}

void fp_parse_disposition(const char *header, char *type, size_t typelen, struct kv_list *attrs)
{
    const char *semi = strchr(header, ';');
    const char *t = header, *a = semi ? semi + 1 : "";
    size_t tn = semi ? (size_t)(semi - header) : strlen(header);

    while (tn > 0 && is_space(*t)) {
        t++;
        tn--;
    }
    while (tn > 0 && is_space(t[tn - 1]))
        tn--;
    if (tn >= typelen)
        tn = typelen - 1;
    memcpy(type, t, tn);
    type[tn] = '\0';
    while (is_space(*a))
        a++;
    /* ATTRIBUTES_RE: (\w+)=(".*?"|[^";]+)(; ?|$), matched repeatedly. */
    for (;;) {
        const char *k = a;
        while ((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') || (*a >= '0' && *a <= '9') ||
               *a == '_' || (unsigned char)*a >= 0x80)
            a++;
        if (a == k || *a != '=')
            return;
        size_t kn = (size_t)(a - k);
        const char *v = ++a, *end;
        if (*v == '"') {
            end = strchr(v + 1, '"');
            if (!end)
                end = NULL;
            else
                end++;
        } else {
            end = v + strcspn(v, "\";");
            if (end == v)
                end = NULL;
        }
        if (!end || (*end && *end != ';'))
            return;
        /* the value without its surrounding quotes (Python's strip('"')) */
        const char *vs = v, *ve = end;
        while (vs < ve && *vs == '"')
            vs++;
        while (ve > vs && ve[-1] == '"')
            ve--;
        char *key = xstrndup(k, kn), *value = xstrndup(vs, (size_t)(ve - vs));
        kv_set(attrs, key, value);
        free(key);
        free(value);
        a = end;
        if (*a == ';') {
            a++;
            if (*a == ' ')
                a++;
        }
    }
}
