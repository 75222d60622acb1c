/* server/byteranges.h: the 206 multipart/byteranges answer to a GET with
 * several ranges, as swob's Response._response_iter builds it: for each
 * range "--B\r\nContent-Type: T\r\nContent-Range: V\r\n\r\n" + its bytes +
 * "\r\n", then "--B--", B a random 32-hex-digit boundary.
 *
 * The part headers are built once into memory; the body bytes are pulled
 * from the caller's reader as the client takes them, so a plain object
 * (an fd) and a large object (its segment stream) share one assembly. */
#ifndef SWIFTLET_SERVER_BYTERANGES_H
#define SWIFTLET_SERVER_BYTERANGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "range.h"
#include "request.h"

/* How the answer reads the body it slices: up to max bytes at pos (an
 * offset in the body) into buf; bytes, or -1 on an error (the connection
 * is dropped). free releases ctx (NULL: nothing to release). */
struct byteranges_body {
    ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*free)(void *ctx);
    void *ctx;
};

/* Answer r with status 206 and the multipart/byteranges body of the n
 * (1..RANGE_MAX) ranges rg of a body of size bytes whose Content-Type is
 * ctype. The Content-Type header becomes multipart/byteranges; other
 * headers already set stay. r takes body over (its free runs when the
 * response is done). */
void byteranges_respond(struct request *r, const char *ctype, const struct byte_range *rg,
                        size_t n, uint64_t size, const struct byteranges_body *body);

#endif
