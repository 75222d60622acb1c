/* server/object_int.h: what object.c and object_copy.c share; private to
 * those two files (the public surface is server/handlers.h).
 *
 * A PUT and a copy are the same write: a struct obj_put is the request's
 * handler state, and obj_put_commit() (a req_defer work) streams the copy
 * source when there is one, commits the replicas, records the listing row
 * and answers 201. */
#ifndef SWIFTLET_SERVER_OBJECT_INT_H
#define SWIFTLET_SERVER_OBJECT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/kv.h"
#include "../common/timefmt.h"
#include "../storage/object.h"
#include "request.h"

struct lo_stream;

struct obj_put {
    char *account, *container, *object;   /* the object written (owned) */
    char *name;                           /* "/account/container/object" */
    struct placement pl;
    int64_t ts;
    struct object_writer *w;              /* NULL until opened, after commit */
    struct object_meta meta;              /* content_type and headers to store */
    char expect_etag[33];                 /* "" when the client sent none */
    bool etag_bad;                        /* an ETag no MD5 can match */
    char *versions;                       /* archive container (versioning.h), or NULL */

    /* a copy: the source, open, and what the 201 reports */
    bool copy;
    struct object_reader src;
    uint64_t src_off, src_len;
    char *copied_from_account;            /* quoted, as Swift sends them */
    char *copied_from;
    char src_last_modified[HTTP_DATE_LEN];
    struct lo_stream *lo_src;             /* a large object source: its concatenation */
};

/* A new write of account/container/object at ts_now(), installed as r's
 * handler state (freed, and the writer aborted, by req_free). */
struct obj_put *obj_put_new(struct request *r, const char *account, const char *container,
                            const char *object);

/* The checks Swift makes before reading a PUT body, in its order, and the
 * metadata to store: container exists, Content-Type (given, the copy
 * source's base_ctype, or guessed), X-Delete-At/After, user metadata
 * merged over base (the copy source's headers, NULL for none),
 * If-None-Match, ETag. Then opens the writer. On false a response is set. */
bool obj_put_prepare(struct request *r, struct obj_put *st, const struct kv_list *base,
                     const char *base_ctype);

/* req_defer work: (copy the source,) commit, listing row, 201. */
enum step obj_put_commit(struct request *r);

/* The stored headers, ETag, Last-Modified, X-Timestamp of m. */
void obj_meta_headers(struct request *r, const struct object_meta *m);
/* X-Delete-At of m has passed: the object is gone for every verb. */
bool obj_expired(const struct object_meta *m);
/* Answer an error status with Swift's page (an empty body for HEAD). */
void obj_fail(struct request *r, int status);
/* Evaluate the conditional headers against m: 0, or the 304/412 answer
 * has been set (with the object's headers, as Swift sends them). */
int obj_conditional(struct request *r, const struct object_meta *m);

/* Entry point for PUT with X-Copy-From (object_copy.c). */
enum step obj_copy_from_start(struct request *r);
/* Copy st's source span into its writer (worker thread). 0 or -errno /
 * the writer's error. */
int obj_copy_stream(struct obj_put *st);
/* The 201 of a copy: X-Copied-From*, and the new object's metadata. */
void obj_copy_headers(struct request *r, const struct obj_put *st);

#endif
