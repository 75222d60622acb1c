/* server/versioning.h: legacy object versioning, as Swift 2.30's
 * versioned_writes middleware does it (legacy mode, not object_versioning).
 *
 * A container names an archive container in X-Versions-Location (stack
 * mode) or X-History-Location (history mode); swiftlet stores that header
 * as container metadata under its own name, one of the two at a time, the
 * value as the client sent it (URL-encoded). Then:
 *
 *   PUT (and COPY) onto an object that exists first copies it to
 *   <archive>/<len(name) as %03x><name>/<its X-Timestamp>, and writes the new
 *   one only when that copy committed (412 when the archive refuses it,
 *   e.g. it does not exist; 503 on a storage failure).
 *   DELETE in stack mode copies the newest archived version back over the
 *   object and deletes that version (404 once nothing is left); in history
 *   mode it archives the object, writes a zero-byte delete marker
 *   (application/x-deleted;swift_versions_deleted=1) and deletes it.
 *
 * Every storage step goes through server/objops.h; the object hooks run on
 * worker threads (after req_defer). */
#ifndef SWIFTLET_SERVER_VERSIONING_H
#define SWIFTLET_SERVER_VERSIONING_H

#include <stdbool.h>

#include "../common/kv.h"
#include "request.h"

#define VERSIONING_DELETE_MARKER "application/x-deleted;swift_versions_deleted=1"

/* Container PUT/POST: turn the request's X-Versions-Location,
 * X-History-Location and X-Remove-{Versions,History}-Location into the
 * keys to merge into the container's metadata (meta; "" removes a key).
 * False with Swift's answer set: 400 when both locations are given, 412
 * for a location holding '/'. */
bool versioning_container_meta(struct request *r, struct kv_list *meta);

/* The archive container a container's metadata names, decoded and cut at
 * its first '/' as Swift does, or NULL when it is not versioned; *history
 * (may be NULL) tells the mode. The caller frees the result. */
char *versioning_location(const struct kv_list *container_meta, bool *history);

/* Object PUT, before the body is read (HTTP thread; two short reads):
 * when the object exists and the archive container does not, answer 412
 * now, as Swift does before "100 Continue". True to go on. */
bool versioning_put_check(struct request *r, const char *account, const char *archive,
                          const char *container, const char *object);

/* Object PUT or COPY commit (worker thread), before the new object is
 * committed: archive the current account/container/object (if any) into
 * archive. True to go on; false with 412/503 answered. */
bool versioning_put(struct request *r, const char *account, const char *archive,
                    const char *container, const char *object);

/* Object DELETE (worker thread). When r's container is versioned, do the
 * whole delete of its mode and answer it (true); false when it is not
 * versioned (nothing done: the caller deletes as usual). */
bool versioning_delete(struct request *r);

/* The same delete without a request (bulk delete's sub-deletes, which
 * pass through versioned writes in Swift's pipeline too). *versioned tells
 * whether the container is versioned (when false nothing was done: delete
 * as usual). Returns 0 or the error: of an archive step when
 * *archive_failed (Swift answers 412 for a client error, else 503), else
 * of the final delete (-ENOENT: nothing to delete). */
/* The status Swift answers when an archive step fails with rc: 412 for
 * what the client can fix (a missing archive container, a name too long),
 * else 503. */
int versioning_error_status(int rc);

int versioning_delete_object(struct server *srv, const char *account, const char *container,
                             const char *object, bool *versioned, bool *archive_failed) WUR;

#endif
