/* common/buf.h: a growable byte buffer with a hard size cap.
 *
 * Modelled on git's strbuf and curl's dynbuf: data is never NULL and is
 * always NUL-terminated (so it can be used as a C string when it holds
 * text), and a buffer whose size a client controls is given a cap so that
 * no request can make the server allocate without bound. Appending past the
 * cap fails with -E2BIG and leaves the buffer unchanged. */
#ifndef SWIFTLET_COMMON_BUF_H
#define SWIFTLET_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

struct buf {
    char *data;     /* never NULL; data[len] == '\0' */
    size_t len;
    size_t alloc;   /* 0 while data points at a shared empty string */
    size_t max;     /* cap on len; 0 means no cap */
};

#define BUF_INIT {.data = buf_empty_, .len = 0, .alloc = 0, .max = 0}
extern char buf_empty_[1];

/* Initialise caller storage; max is the cap on len (0: none). */
void buf_init(struct buf *b, size_t max);
/* Free the memory; the buffer is left empty and reusable. */
void buf_release(struct buf *b);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n) WUR;   /* 0, -E2BIG */
int buf_appends(struct buf *b, const char *s) WUR;            /* 0, -E2BIG */
int buf_appendc(struct buf *b, char c) WUR;                   /* 0, -E2BIG */
int buf_appendf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3) WUR;
int buf_vappendf(struct buf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0) WUR;
/* Make the heap block data, len + 1 bytes with data[len] == '\0', the
 * buffer's contents, freeing what it held; the cap is not checked. */
void buf_adopt(struct buf *b, char *data, size_t len);
/* Take ownership of the heap string (never NULL); the buffer becomes empty. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
