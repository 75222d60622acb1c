/* server/request.h: one HTTP request as the handlers see it.
 *
 * server/http.c (the only file that includes microhttpd.h) fills a struct
 * request when the headers are in, authenticates it, looks up the handler
 * in the (level, verb) table and drives it:
 *
 *   start(r)           headers are in. Returns STEP_RESPOND (a response is
 *                      set; any body is discarded), STEP_BODY (deliver the
 *                      body to body()), or STEP_DEFER after req_defer().
 *   body(r, p, n)      a chunk of the body (Content-Length or chunked).
 *                      STEP_BODY to go on, STEP_RESPOND to stop early.
 *   end(r)             the body is complete: STEP_RESPOND or STEP_DEFER.
 *
 * req_defer(r, work) suspends the connection and runs work(r) on a worker
 * thread (for fsyncs and database writes, so a slow disk never stalls the
 * HTTP threads); work returns STEP_RESPOND and the response is sent. Only
 * one of start/body/end/work runs at a time for a request, so handlers need
 * no locking of their own state.
 *
 * Each request owns its memory; everything is freed in one place
 * (req_free, from MHD's completion callback), including the handler's
 * state through state_free. */
#ifndef SWIFTLET_SERVER_REQUEST_H
#define SWIFTLET_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/buf.h"
#include "../common/kv.h"
#include "../common/util.h"

struct server;
struct tempurl_grant;

enum http_method { M_GET, M_HEAD, M_PUT, M_POST, M_DELETE, M_COPY, M_OPTIONS, M_OTHER };

enum step { STEP_RESPOND, STEP_BODY, STEP_DEFER };

/* Who the request is authenticated as (tempauth-style). */
struct identity {
    bool authenticated;
    char *account;        /* "AUTH_test": the account the token belongs to */
    char *user;           /* "test:tester" */
    bool admin;           /* account admin (.admin) */
    bool reseller;        /* reseller admin: every account */
    bool read_only;       /* may only read (GET, HEAD) in its own account */
    bool owner;           /* swift_owner of the path's account: sees and sets
                             ACLs and keys (set by acl_authorize) */
};

struct request {
    struct server *srv;
    void *conn;                  /* http.c's connection; opaque */

    /* ---- the request, set by http.c before start() ---- */
    enum http_method method;
    const char *method_name;     /* as sent ("GET", "COPY", ...) */
    char trans_id[40];           /* "tx<21 hex>-<10 hex unix time>" */
    char *raw_path;              /* as sent, still %-encoded, no query */
    char *version;               /* "v1" or "v1.0" for API paths */
    char *account;               /* decoded; NULL when absent */
    char *container;
    char *object;
    uint64_t content_length;     /* when has_length */
    bool has_length;
    bool chunked;                /* Transfer-Encoding: chunked */
    uint64_t start_ns;           /* mono_ns() when the headers arrived */
    struct identity who;
    struct tempurl_grant *tempurl;   /* set when a TempURL authorized it (server/tempurl.h) */

    /* ---- the response, set by the handler ---- */
    int status;                  /* 0 until set */
    struct kv_list resp_headers; /* besides those http.c adds (Date, X-Trans-Id, ...) */
    struct buf resp_body;        /* sent when no fd or stream is set */
    bool head_only;              /* HEAD: send headers (Content-Length kept), no body */
    int resp_fd;                 /* >= 0: send resp_len bytes from resp_offset (sendfile); http.c closes it */
    uint64_t resp_offset;
    uint64_t resp_len;
    /* A streamed body: read(ctx, pos, buf, max) returns bytes (> 0), 0 at
     * the end, or -1 on an error (the connection is then closed). len is the
     * Content-Length, or UINT64_MAX when unknown (chunked). */
    ssize_t (*stream_read)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
    uint64_t stream_len;

    /* ---- accounting (http.c) ---- */
    uint64_t bytes_in;
    uint64_t bytes_out;

    /* ---- the handler's own state ---- */
    void *state;
    void (*state_free)(void *state);
};

/* ---- reading the request ---- */

/* The first value of header name (case-insensitive), or NULL. */
const char *req_header(const struct request *r, const char *name);
/* Call cb for each header in the order received; cb returns 0 to go on. */
int req_headers_each(const struct request *r, int (*cb)(void *ctx, const char *name,
                                                        const char *value),
                     void *ctx);
/* The decoded value ('+' and %XX) of query parameter key: NULL when absent,
 * "" when present without a value. */
const char *req_query(const struct request *r, const char *key);
/* The whole raw query string (without '?'), "" when none. */
const char *req_query_string(const struct request *r);

/* ---- answering ---- */

void resp_header(struct request *r, const char *name, const char *value);
void resp_headerf(struct request *r, const char *name, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Set status and a body with a Content-Type. */
void resp_text(struct request *r, int status, const char *content_type, const char *body);
/* Swift's HTML error page for status (e.g. 404 "<html><h1>Not Found</h1>
 * <p>The resource could not be found.</p></html>"), or with body text/plain
 * style explanation when body is not NULL (as Swift's constraint errors). */
void resp_error(struct request *r, int status, const char *body);
/* An error with Swift's message msg as the body in content_type, or, when
 * msg is NULL or "", the standard page. Like Swift, a HEAD gets no body for
 * a standard page (and none for a 406). */
void resp_fail(struct request *r, int status, const char *msg, const char *content_type);
/* Map an error code (errno / project code) to Swift's status and answer it.
 * -ENOENT/ERR_DELETED 404, ERR_QUORUM 503, ERR_ETAG 422, -ENOTEMPTY 409,
 * -E2BIG 413, -ENOSPC 507, ERR_BADINPUT 400, others 500 (logged). */
void resp_errno(struct request *r, int err);

/* Run work on a worker thread; the caller's hook then returns STEP_DEFER. */
void req_defer(struct request *r, enum step (*work)(struct request *r));

/* ---- a response produced while it is sent (bulk operations) ----
 *
 * stream_read may also return STREAM_AGAIN: no bytes yet. It must then
 * have called req_stream_pause(r), under the lock its producer takes to
 * call req_stream_resume(r), so a resume never comes before the pause. */
#define STREAM_AGAIN (-2)
/* Only from inside stream_read: hold the connection until resumed. */
void req_stream_pause(struct request *r);
/* Any thread: a paused stream goes on (stream_read is called again). */
void req_stream_resume(struct request *r);
/* From end(), with status and a streamed body set (stream_read,
 * stream_len UINT64_MAX): send the response while work(r) runs on a worker
 * thread, producing the bytes stream_read hands out; then return
 * STEP_RESPOND. work and stream_read run concurrently (the handler locks
 * its own state). The request (and its state) is freed only once work has
 * returned and the response is done; work should stop early when
 * req_cancelled(r) (the client went away). */
void req_stream_work(struct request *r, void (*work)(struct request *r));
/* The response of a req_stream_work request can no longer be delivered. */
bool req_cancelled(const struct request *r);

/* The handler table entry for one (level, verb). */
struct handler_ops {
    enum step (*start)(struct request *r);
    enum step (*body)(struct request *r, const char *p, size_t n);
    enum step (*end)(struct request *r);
};

#endif
