/* server/lostream.h: the body of a large object (SLO or DLO) as one
 * stream: an ordered list of pieces, each a span of a segment object or
 * inline bytes, read through the request's stream_read callback.
 *
 * Segments are opened lazily, one at a time, when the reader reaches them
 * (objops_open, on the HTTP thread that pulls the body), and read with
 * pread into MHD's buffer: memory stays constant whatever the object's
 * size. A segment whose ETag or size no longer matches what the manifest
 * recorded ends the body with an error (the connection is closed, as Swift
 * drops it); lo_stream_check_first() lets the handler answer 409 instead
 * when the first segment is already wrong. */
#ifndef SWIFTLET_SERVER_LOSTREAM_H
#define SWIFTLET_SERVER_LOSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../storage/object.h"
#include "request.h"

struct lo_stream;

/* An empty stream over segments in account (copied). */
struct lo_stream *lo_stream_new(struct server *srv, const char *account);
void lo_stream_free(struct lo_stream *s);   /* NULL is a no-op */

/* Append len bytes from offset off of container/object. etag (lower-case
 * hex, NULL: unchecked) and size (UINT64_MAX: unchecked) are what the
 * segment must still be when it is opened. */
void lo_stream_add_segment(struct lo_stream *s, const char *container, const char *object,
                           uint64_t off, uint64_t len, const char *etag, uint64_t size);
/* Append inline bytes (copied). */
void lo_stream_add_data(struct lo_stream *s, const void *data, size_t len);

uint64_t lo_stream_len(const struct lo_stream *s);
size_t lo_stream_count(const struct lo_stream *s);

/* Open and check the first segment: 0, or -ENOENT / ERR_ETAG / -errno. */
int lo_stream_check_first(struct lo_stream *s) WUR;

/* Read up to max bytes at pos of the concatenation: bytes, 0 at the end,
 * -1 on an error (logged). Sequential reads keep one segment open. */
ssize_t lo_stream_read(struct lo_stream *s, uint64_t pos, char *buf, size_t max);

/* A large object's conditional headers (If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since) against its etag (unquoted hex;
 * SLO and DLO each compute their own) and m's Last-Modified: 0, or the
 * 304 (m's Content-Type) or 412 answer has been set. */
int lo_stream_conditional(struct request *r, const char *etag, const struct object_meta *m);

/* Answer r with s as the body (r takes s over in every case): the whole
 * (200), the single range the Range header asks for (206), several ranges
 * as multipart/byteranges when multi is true (SLO) or the whole otherwise
 * (DLO), or 416. ctype is the Content-Type. Headers already set stay. */
void lo_stream_respond(struct request *r, struct lo_stream *s, const char *ctype, bool multi);

#endif
