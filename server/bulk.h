/* server/bulk.h: bulk operations as Swift 2.30's bulk middleware
 * (swift/common/middleware/bulk.py) performs them:
 *
 *   POST or DELETE ?bulk-delete    a text/plain body of newline-separated,
 *                                  %-encoded "/container/object" and
 *                                  "/container" paths of the request's
 *                                  account (objects first, then containers)
 *   PUT ?extract-archive=tar|tar.gz|tar.bz2
 *                                  the body is a tar archive; each regular
 *                                  file becomes an object under the path
 *                                  (account, container or container/prefix),
 *                                  containers are created as needed
 *
 * Both answer 200 at once and report the real outcome in the body
 * ("Response Status", "Response Body", counts and "Errors"; server/bulk_body.h
 * renders it), in the format the Accept header picks (text/plain, application/json, application/xml,
 * text/xml), sending whitespace every yield_frequency seconds while they
 * work so that no proxy or client times out. As in Swift, the bulk step
 * runs before token auth: every path is authorized on its own and a
 * refusal is an entry of "Errors".
 *
 * bulk.c holds the pure parts (the path-list parser, the result, the
 * streamed response); bulk_delete.c and bulk_extract.c the two handlers. */
#ifndef SWIFTLET_SERVER_BULK_H
#define SWIFTLET_SERVER_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "bulk_body.h"
#include "request.h"

/* The handler for r when it is a bulk operation (the method and query
 * decide, at any level of the path), else NULL. r's path is parsed and its
 * names checked; r is not authenticated yet. */
const struct handler_ops *bulk_route(const struct request *r);

/* ---- the bulk-delete path list (pure; unit-tested and fuzzed) ---- */

struct bulk_name {
    char *s;          /* decoded bytes, NUL-terminated; may hold NULs */
    size_t len;
};

/* Swift's get_objs_to_delete(), fed in chunks of any size: the body is
 * taken in reads of max_path bytes (max_object_name_length +
 * max_container_name_length + 2); each line is stripped of ASCII
 * whitespace and %-decoded ("+" stays "+"). An error ends the parse and
 * later input is ignored: 413 when more than max_names lines (empty ones
 * count) arrive, 400 when an unfinished line grows past 2 * max_path. */
struct bulk_parser {
    size_t max_path, max_names;
    struct buf line;          /* Swift's "line": read but not yet split */
    struct buf chunk;         /* bytes of the read in progress (< max_path) */
    struct bulk_name *names;  /* in body order; empty names included */
    size_t n, alloc;
    int status;               /* 0, or 413 / 400 */
};

void bulk_parser_init(struct bulk_parser *p, size_t max_path, size_t max_names);
/* Take n more body bytes: 0, or the error status (also in p->status). */
int bulk_parser_feed(struct bulk_parser *p, const char *data, size_t n);
/* The body is complete: 0 or the error status. */
int bulk_parser_finish(struct bulk_parser *p);
void bulk_parser_release(struct bulk_parser *p);

/* ---- the result ---- */

/* What a bulk delete or extraction came to; bulk_body.h renders it. */
struct bulk_result {
    const char *root;              /* XML root tag: "delete" or "extract" */
    int status;                    /* "Response Status" */
    char *body;                    /* "Response Body" (NULL: "") */
    const char *count_names[2];    /* "Number Deleted", ...; NULL when unused */
    uint64_t counts[2];
    struct bulk_errors errors;     /* quoted names, status lines */
};

/* Swift's status line text for code ("409 Conflict", "500 Internal Error"). */
const char *bulk_status_text(int code);
void bulk_result_release(struct bulk_result *res);
/* Swift's get_response_body(): res in format (from bulk_body_format; NULL:
 * text/plain), appended to out. The XML form carries no declaration (the
 * heartbeat sends it, as Swift does). 0 or -E2BIG. */
int bulk_render_result(struct buf *out, const char *format, const struct bulk_result *res) WUR;

#endif
