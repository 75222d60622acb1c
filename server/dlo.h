/* server/dlo.h: dynamic large objects, as Swift 2.30's dlo middleware. An
 * object stored with "X-Object-Manifest: <container>/<prefix>" is, for GET
 * and HEAD (without ?multipart-manifest=get), the concatenation of the
 * objects listed in <container> under <prefix>, in listing order, with the
 * quoted MD5 of their concatenated ETags as its ETag. */
#ifndef SWIFTLET_SERVER_DLO_H
#define SWIFTLET_SERVER_DLO_H

#include <stdbool.h>

#include "../storage/object.h"
#include "lostream.h"
#include "object_int.h"
#include "request.h"

/* PUT: a present X-Object-Manifest must be "<container>/<prefix>"; false
 * with Swift's 400 set otherwise. */
bool dlo_put_check(struct request *r);

/* GET/HEAD of an open object: true when rd is a DLO manifest and the
 * answer (the concatenation) is set. */
bool dlo_get(struct request *r, struct object_reader *rd);

/* The segments of a manifest value (as stored, %-encoded allowed) in
 * account: 0 with *out (free it) and etag (lower-case hex of the MD5 of
 * their ETags; "" when the listing was longer than one page, as Swift
 * then keeps the manifest's), -ENOENT when the container is missing,
 * -EINVAL for a malformed value. Blocks on the database. */
int dlo_open(struct server *srv, const char *account, const char *manifest,
             struct lo_stream **out, char etag[33]) WUR;

/* A copy whose source is a large object copies the concatenation (SLO or
 * DLO), unless ?multipart-manifest=get: st->lo_src is set and the source's
 * size, etag and manifest headers adjusted. False with a response set
 * when the copy cannot go on. */
bool lo_copy_source(struct request *r, struct obj_put *st, const char *src_account);

#endif
