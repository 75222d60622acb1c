/* server/objops.h: object and container operations for code inside the
 * server that acts on other objects than the one its request names: large
 * objects (segments), bulk delete, archive extraction, versioning, FormPost.
 *
 * Each call takes the same steps as the HTTP handler for that verb (pending
 * note, replicas, listing row, expirer queue), without a request, so a
 * feature never re-implements durability. Every call blocks on disk and
 * database I/O: call them from a req_defer() work function or a streamed
 * body's read callback, never from start()/body() on an HTTP thread.
 *
 * Names are decoded (as struct request holds them); account is the storage
 * account ("AUTH_test"). Errors are as the handlers see them: -ENOENT
 * (missing, deleted or expired), ERR_QUORUM, -ENOTEMPTY, ERR_LIMIT,
 * ERR_ETAG, -errno; resp_errno() maps each to Swift's status. */
#ifndef SWIFTLET_SERVER_OBJOPS_H
#define SWIFTLET_SERVER_OBJOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/kv.h"
#include "../common/util.h"
#include "../storage/meta.h"
#include "../storage/object.h"
#include "server.h"

/* ---- objects ---- */

/* Open the newest live version of account/container/object for reading
 * (rd->fd, rd->meta). rd is initialised in every case: close it with
 * object_reader_close(). An expired object (X-Delete-At passed) is
 * -ENOENT. */
int objops_open(struct server *srv, const char *account, const char *container,
                const char *object, struct object_reader *rd) WUR;
/* The metadata only (m initialised in every case; release it). */
int objops_stat(struct server *srv, const char *account, const char *container,
                const char *object, struct object_meta *m) WUR;

/* Delete the object now: tombstone on the replicas, then its listing row.
 * 0, -ENOENT when there is nothing live to delete. */
int objops_delete(struct server *srv, const char *account, const char *container,
                  const char *object) WUR;

struct objops_put;

/* Start writing account/container/object at ts (0: now). Checks that the
 * container exists (-ENOENT otherwise). */
int objops_put_open(struct objops_put **out, struct server *srv, const char *account,
                    const char *container, const char *object, int64_t ts) WUR;
/* Append body bytes. */
int objops_put_write(struct objops_put *p, const void *buf, size_t n) WUR;
/* Finish: store content_type (NULL: guessed from the name) and headers (the
 * stored headers: X-Object-Meta-*, X-Delete-At, X-Static-Large-Object, ...;
 * NULL for none), check expect_etag (lower-case hex, NULL for none:
 * ERR_ETAG on a mismatch), commit the replicas, record the listing row and
 * queue X-Delete-At. On 0 out (may be NULL) holds the stored metadata
 * (release it). p is freed in every case. */
int objops_put_commit(struct objops_put *p, const char *content_type,
                      const struct kv_list *headers, const char *expect_etag,
                      struct object_meta *out) WUR;
/* Give up a write: nothing becomes visible. NULL is a no-op. */
void objops_put_abort(struct objops_put *p);

/* Store a whole small body in one call (open, write, commit). */
int objops_put_buffer(struct server *srv, const char *account, const char *container,
                      const char *object, const void *body, size_t len,
                      const char *content_type, const struct kv_list *headers,
                      struct object_meta *out) WUR;

/* Stored headers that replace the content type and etag of the object's
 * listing row (Swift's container update override sysmeta). Headers named
 * X-Object-Sysmeta-* are never shown to clients. */
#define OBJOPS_OVERRIDE_CTYPE "X-Object-Sysmeta-Container-Update-Override-Content-Type"
#define OBJOPS_OVERRIDE_ETAG "X-Object-Sysmeta-Container-Update-Override-Etag"

/* The content type and etag m's listing row shows (the overrides, else
 * its own). */
const char *objops_listed_ctype(const struct object_meta *m);
const char *objops_listed_etag(const struct object_meta *m);

/* The commit step object.c's PUT shares with objops_put_commit: commit w
 * (consumed in every case) with meta at ts, record the listing row and
 * queue meta's X-Delete-At, under a pending note (storage/pending.h). */
int objops_commit_writer(struct server *srv, const struct placement *pl, const char *account,
                         const char *container, const char *object, int64_t ts,
                         struct object_writer *w, struct object_meta *meta,
                         const char *expect_etag) WUR;
/* Keep the expirer's queue in step with a write at ts that changed the
 * object's X-Delete-At from old_at to new_at (0: none). */
int objops_queue_expiry(struct server *srv, const char *account, const char *container,
                        const char *object, int64_t old_at, int64_t new_at, int64_t ts) WUR;
/* The X-Delete-At in headers, or 0 when there is none. */
int64_t objops_delete_at(const struct kv_list *headers);

/* ---- containers ---- */

/* 0 and out filled (release it), or -ENOENT. */
int objops_container_stat(struct server *srv, const char *account, const char *container,
                          struct container_stat *out) WUR;
/* Create the container (merging meta, NULL for none, when it exists), as a
 * container PUT does, including the account's container limit (ERR_LIMIT).
 * created (may be NULL) tells whether it is new. */
int objops_container_create(struct server *srv, const char *account, const char *container,
                            const struct kv_list *meta, bool *created) WUR;
/* Delete an empty container: 0, -ENOENT, -ENOTEMPTY. */
int objops_container_delete(struct server *srv, const char *account,
                            const char *container) WUR;
/* List a container's objects (storage/meta.h's db_container_list: cb must
 * not call back into objops or the DB pool). */
int objops_list(struct server *srv, const char *account, const char *container,
                const struct list_query *q, int (*cb)(void *ctx, const struct list_entry *e),
                void *ctx) WUR;

#endif
