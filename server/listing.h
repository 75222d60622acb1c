/* server/listing.h: account and container listings as Swift 2.30 formats
 * them, and the parsing of their query parameters.
 *
 * Everything here is pure (no I/O, no request): the handlers (account.c,
 * container.c) feed it query values and storage rows. A listing body is
 * built in a capped struct buf, one storage row at a time, in exactly the
 * bytes Swift's listing_formats middleware and account/container servers
 * produce (JSON key order and escaping, ElementTree's XML, plain lines). */
#ifndef SWIFTLET_SERVER_LISTING_H
#define SWIFTLET_SERVER_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "../storage/meta.h"

enum listing_level { LISTING_ACCOUNT, LISTING_CONTAINER };

/* The body cap of one listing: 10,000 entries of the longest names, with
 * escaping, stay under it. */
#define LISTING_MAX_BODY (64u << 20)

/* Swift's get_listing_content_type. format is the format= query value (NULL
 * when absent), accept the Accept header (NULL when absent). 0 with *out one
 * of "text/plain", "application/json", "application/xml", "text/xml"; or
 * 400 "Invalid Accept header" or 406 (msg: Swift's "Not Acceptable" page).
 * *msg_type is the Content-Type Swift sends the error with. */
int listing_content_type(const char *format, const char *accept, const char **out, char *msg,
                         size_t msglen, const char **msg_type);

/* swob's Accept.best_match over the four listing types (also the bulk
 * and SLO result formats): 0 with *out (NULL when none is acceptable; ""
 * accepts text/plain), or -EINVAL for a malformed header. */
int listing_accept_best(const char *accept, const char **out) WUR;

/* The parameters of one listing request. */
struct listing_params {
    const char *content_type; /* negotiated, as listing_content_type */
    bool can_vary;            /* no format= parameter: answer "Vary: Accept" */
    bool has_path;            /* legacy path=: filter rows with listing_path_skip */
    struct list_query q;      /* strings point into the getter's storage or path_prefix */
    char *path_prefix;        /* owned: path= as a prefix ("a/b/"), or NULL */
};

/* Parse a listing request as Swift does, in Swift's order: content type
 * (format=, Accept), then the UTF-8 of each parameter, then limit (digits
 * only, else ignored; over max_limit is 412 "Maximum limit is N").
 * get(ctx, key) returns a decoded query value or NULL. With head, only the
 * content type is negotiated (Swift's HEAD ignores the rest). path= is only
 * honoured on containers. Returns 0, or a status with msg/msg_type set as
 * listing_content_type does.
 * p is filled either way; release it with listing_params_release. */
int listing_parse(struct listing_params *p, enum listing_level level, bool head, unsigned max_limit,
                  const char *(*get)(void *ctx, const char *key), void *ctx, const char *accept,
                  char *msg, size_t msglen, const char **msg_type);
void listing_params_release(struct listing_params *p);

/* Whether a path= listing leaves this row out: every subdir, the pseudo-dir
 * object itself (name == prefix) and anything deeper than one level. */
bool listing_path_skip(const char *prefix, const struct list_entry *e);

/* Swift's content type clean-up for listings (override_bytes_from_content_type):
 * parameters are re-joined as ";k=v" and swift_bytes=N is removed and, when
 * an integer, replaces *bytes. Appends the result to out; 0 or -E2BIG. */
int listing_clean_content_type(const char *ct, struct buf *out, uint64_t *bytes) WUR;

/* A listing body under construction. */
struct listing_out {
    enum listing_level level;
    int fmt;          /* private: plain, JSON or XML */
    const char *name; /* account or container name (the XML root) */
    size_t count;     /* entries added */
    struct buf body;
};

/* Start a body for content_type ("text/plain", "application/json",
 * "application/xml" or "text/xml"); name is borrowed until finish. */
void listing_out_init(struct listing_out *o, enum listing_level level, const char *content_type,
                      const char *name);
/* Append one row (object, container or subdir); 0 or -E2BIG. */
int listing_out_add(struct listing_out *o, const struct list_entry *e) WUR;
/* Close the body (JSON "]", XML root); 0 or -E2BIG. An empty plain body
 * means the answer is 204. */
int listing_out_finish(struct listing_out *o) WUR;
void listing_out_release(struct listing_out *o);

/* True for Swift's TRUE_VALUES ("true", "1", "yes", "on", "t", "y", any case). */
bool listing_true_value(const char *s);

#endif
