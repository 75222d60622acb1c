/* common/buf.c: This file implements struct buf, the growable, capped,
 * always NUL-terminated byte buffer (buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared by every empty buffer so that data is never NULL without an
 * allocation; it is never written to except with its own '\0'. */
char buf_empty_[1];

void buf_init(struct buf *b, size_t max)
{
    b->data = buf_empty_;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    if (b->alloc)
        free(b->data);
    buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

/* Make room for extra more bytes plus the NUL. Fails with -E2BIG (and
 * leaves the buffer unchanged) when len + extra would pass the cap. */
static int buf_grow(struct buf *b, size_t extra)
{
    size_t want, alloc;

    if (extra > SIZE_MAX - 1 - b->len)
        return -E2BIG;
    want = b->len + extra;
    if (b->max && want > b->max)
        return -E2BIG;
    if (want + 1 <= b->alloc)
        return 0;
    alloc = b->alloc < 64 ? 64 : b->alloc;
    while (alloc < want + 1)
        alloc = alloc > SIZE_MAX / 2 ? want + 1 : alloc * 2;
    /* Never reserve far past the cap: the cap is what a client controls. */
    if (b->max && alloc > b->max + 1)
        alloc = b->max + 1;
    if (b->alloc) {
        b->data = xrealloc(b->data, alloc);
    } else {
        b->data = xmalloc(alloc);
        b->data[0] = '\0';
    }
    b->alloc = alloc;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    rc = buf_grow(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_appends(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_appendc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    size_t avail;
    int n, rc;

    /* First try into the spare room; measure and grow only if needed. */
    avail = b->alloc ? b->alloc - b->len : 0;
    va_copy(ap2, ap);
    n = vsnprintf(avail ? b->data + b->len : NULL, avail, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        if (b->alloc)
            b->data[b->len] = '\0';
        return -EINVAL;
    }
    if ((size_t)n < avail) {
        if (b->max && b->len + (size_t)n > b->max) {
            b->data[b->len] = '\0';
            return -E2BIG;
        }
        b->len += (size_t)n;
        return 0;
    }
    if (b->alloc)
        b->data[b->len] = '\0';
    rc = buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    va_copy(ap2, ap);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return 0;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_adopt(struct buf *b, char *data, size_t len)
{
    buf_release(b);
    b->data = data;
    b->len = len;
    b->alloc = len + 1;
}

char *buf_detach(struct buf *b, size_t *len_out)
{
    char *s = b->alloc ? b->data : xstrdup("");

    if (len_out)
        *len_out = b->len;
    buf_init(b, b->max);
    return s;
}
