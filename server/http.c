/* server/http.c: implements the HTTP front end (server/http.h) and the
 * request API handlers use (server/request.h) on top of libmicrohttpd.
 *
 * Threads: MHD runs a pool of epoll threads that parse requests, deliver
 * body chunks and send responses (GETs go out with sendfile). Anything
 * that may block on a disk (fsync, SQLite writes) is deferred: the
 * connection is suspended, the work runs on one of our worker threads, and
 * the connection is resumed with its response. So a slow fsync never stalls
 * the other connections of an MHD thread.
 *
 * Per request the phases are:
 *   NEW -> (start) -> BODY -> (end) -> READY -> QUEUED
 *              \-> DEFERRED -> READY      \-> DEFERRED -> READY
 * A request whose response is decided before its body has arrived moves to
 * READY and the rest of the body is discarded. A write the rate limiter
 * delays (server/ratelimit.h) goes NEW -> THROTTLED -> WOKEN -> (start):
 * suspended, with no thread, until a timer (server/wakeup.h) resumes it. */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/health.h"
#include "acl.h"
#include "auth.h"
#include "bulk.h"
#include "constraints.h"
#include "handlers.h"
#include "info.h"
#include "metrics.h"
#include "formpost.h"
#include "path.h"
#include "ratelimit.h"
#include "tempurl.h"
#include "wakeup.h"

/* Bodies up to this size are read and sent with their headers in one write;
 * larger ones go out with sendfile, never through user space. */
#define SMALL_BODY_MAX (64 * 1024)

enum phase { PH_NEW, PH_BODY, PH_DEFER_PENDING, PH_DEFERRED, PH_READY, PH_QUEUED,
             PH_THROTTLED, PH_WOKEN };

struct http_conn {
    struct request req;
    struct http_server *hs;
    struct MHD_Connection *mhd;
    char *uri;                     /* raw request target, with the query */
    const char *query;             /* points into uri after '?', or "" */
    struct kv_list query_params;   /* decoded, parsed on first use */
    bool query_parsed;
    const struct handler_ops *ops;
    enum phase phase;
    enum step (*work)(struct request *r);
    struct http_conn *next_job;    /* worker queue link */
    uint64_t wake_ns;              /* PH_THROTTLED: mono_ns() to start at */
    /* req_stream_work: the producer, and (under hs->lock) whether it is
     * queued or running, and whether MHD is done with the connection; the
     * last of the two to finish frees the request. */
    void (*stream_work)(struct request *r);
    bool stream_started;           /* MHD thread only */
    bool job_active;
    bool completed;
};

struct http_server {
    struct server *srv;
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_t *workers;
    size_t n_workers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct http_conn *queue_head, *queue_tail;
    bool stopping;
    struct wakeup *timer;          /* resumes rate-limited requests */
};

/* ------------------------------------------------------------------ */
/* request API (server/request.h)                                     */

static struct http_conn *conn_of(const struct request *r)
{
    return (struct http_conn *)r->conn;
}

const char *req_header(const struct request *r, const char *name)
{
    return MHD_lookup_connection_value(conn_of(r)->mhd, MHD_HEADER_KIND, name);
}

struct header_walk {
    int (*cb)(void *ctx, const char *name, const char *value);
    void *ctx;
    int rc;
};

static enum MHD_Result header_walk_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct header_walk *w = cls;
    w->rc = w->cb(w->ctx, key, value ? value : "");
    return w->rc == 0 ? MHD_YES : MHD_NO;
}

int req_headers_each(const struct request *r,
                     int (*cb)(void *ctx, const char *name, const char *value), void *ctx)
{
    struct header_walk w = {cb, ctx, 0};
    MHD_get_connection_values(conn_of(r)->mhd, MHD_HEADER_KIND, header_walk_cb, &w);
    return w.rc;
}

static void parse_query(struct http_conn *hc)
{
    hc->query_parsed = true;
    query_parse(hc->query, &hc->query_params);
}

const char *req_query(const struct request *r, const char *key)
{
    struct http_conn *hc = conn_of(r);
    if (!hc->query_parsed)
        parse_query(hc);
    /* Query keys are case-sensitive, unlike headers. */
    for (size_t i = 0; i < hc->query_params.n; i++)
        if (strcmp(hc->query_params.items[i].key, key) == 0)
            return hc->query_params.items[i].value;
    return NULL;
}

const char *req_query_string(const struct request *r)
{
    return conn_of(r)->query;
}

void resp_header(struct request *r, const char *name, const char *value)
{
    kv_set(&r->resp_headers, name, value);
}

void resp_headerf(struct request *r, const char *name, const char *fmt, ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    kv_set(&r->resp_headers, name, value);
}

void resp_text(struct request *r, int status, const char *content_type, const char *body)
{
    r->status = status;
    kv_set(&r->resp_headers, "Content-Type", content_type);
    buf_reset(&r->resp_body);
    if (buf_appends(&r->resp_body, body) != 0)
        log_error("msg=\"response body over its cap\" tx=%s", r->trans_id);
}

struct status_page {
    int status;
    const char *reason;
    const char *text;
};

/* Swift's (webob's) standard pages, for the statuses it sends. */
static const struct status_page status_pages[] = {
    {200, "OK", NULL},
    {201, "Created", NULL},
    {202, "Accepted", "The request is accepted for processing."},
    {204, "No Content", NULL},
    {206, "Partial Content", NULL},
    {304, "Not Modified", NULL},
    {400, "Bad Request",
     "The server could not comply with the request since it is either malformed or otherwise "
     "incorrect."},
    {401, "Unauthorized",
     "This server could not verify that you are authorized to access the document you "
     "requested."},
    {403, "Forbidden", "Access was denied to this resource."},
    {404, "Not Found", "The resource could not be found."},
    {405, "Method Not Allowed", "The method is not allowed for this resource."},
    {408, "Request Timeout", "The server has waited too long for the request to be sent by the "
                             "client."},
    {406, "Not Acceptable", "The resource could not be generated suitable to the request's Accept "
                            "header."},
    {409, "Conflict", "There was a conflict when trying to complete your request."},
    {411, "Length Required", "Content-Length header required."},
    {412, "Precondition Failed", "A precondition for this request was not met."},
    {413, "Request Entity Too Large", "The body of your request was too large for this server."},
    {414, "Request URI Too Long", "The request URI was too long for this server."},
    {416, "Requested Range Not Satisfiable", "The Range requested is not available."},
    {422, "Unprocessable Entity", "Unable to process the contained instructions"},
    {499, "Client Disconnect", "The client was disconnected during request."},
    {500, "Internal Error", "The server has either erred or is incapable of performing the "
                            "requested operation."},
    {503, "Service Unavailable", "The server is currently unavailable. Please try again at a "
                                 "later time."},
    {507, "Insufficient Storage", "There was not enough space to save the resource. Drive: "
                                  "unknown"},
};

static const struct status_page *status_page(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(status_pages); i++)
        if (status_pages[i].status == status)
            return &status_pages[i];
    return NULL;
}

void resp_error(struct request *r, int status, const char *body)
{
    if (body) {
        resp_text(r, status, "text/html; charset=UTF-8", body);
        return;
    }
    const struct status_page *p = status_page(status);
    char page[512];
    if (r->method == M_HEAD)
        page[0] = '\0'; /* webob sends HEAD error pages without a body */
    else if (p && p->text)
        snprintf(page, sizeof(page), "<html><h1>%s</h1><p>%s</p></html>", p->reason, p->text);
    else
        page[0] = '\0';
    resp_text(r, status, "text/html; charset=UTF-8", page);
}

void resp_fail(struct request *r, int status, const char *msg, const char *content_type)
{
    if (!msg || !msg[0]) {
        resp_error(r, status, NULL);
        return;
    }
    resp_text(r, status, content_type, msg);
    if (r->method == M_HEAD && status == 406)
        buf_reset(&r->resp_body);
}

void resp_errno(struct request *r, int err)
{
    switch (err) {
    case -ENOENT:
    case ERR_DELETED:
        resp_error(r, 404, NULL);
        return;
    case ERR_QUORUM:
    case -EIO:
        log_error("msg=\"storage failed\" tx=%s err=\"%s\"", r->trans_id, err_str(err));
        resp_error(r, 503, NULL);
        return;
    case ERR_ETAG:
        resp_error(r, 422, NULL);
        return;
    case -ENOTEMPTY:
        resp_error(r, 409, NULL);
        return;
    case -E2BIG:
        resp_error(r, 413, NULL);
        return;
    case -ENOSPC:
        resp_error(r, 507, NULL);
        return;
    case ERR_BADINPUT:
        resp_error(r, 400, NULL);
        return;
    default:
        log_error("msg=\"request failed\" tx=%s err=\"%s\"", r->trans_id, err_str(err));
        resp_error(r, 500, NULL);
        return;
    }
}

void req_defer(struct request *r, enum step (*work)(struct request *r))
{
    struct http_conn *hc = conn_of(r);
    hc->work = work;
    hc->phase = PH_DEFER_PENDING;
}

void req_stream_pause(struct request *r)
{
    MHD_suspend_connection(conn_of(r)->mhd);
}

void req_stream_resume(struct request *r)
{
    struct http_conn *hc = conn_of(r);
    pthread_mutex_lock(&hc->hs->lock);
    if (!hc->completed)
        MHD_resume_connection(hc->mhd);
    pthread_mutex_unlock(&hc->hs->lock);
}

void req_stream_work(struct request *r, void (*work)(struct request *r))
{
    conn_of(r)->stream_work = work;
}

bool req_cancelled(const struct request *r)
{
    struct http_conn *hc = conn_of(r);
    pthread_mutex_lock(&hc->hs->lock);
    bool gone = hc->completed;
    pthread_mutex_unlock(&hc->hs->lock);
    return gone;
}

/* ------------------------------------------------------------------ */
/* worker pool                                                        */

static void request_free(struct http_conn *hc);

/* Run a req_stream_work producer; free the request when MHD finished
 * with it meanwhile. */
static void run_stream_work(struct http_conn *hc)
{
    struct http_server *hs = hc->hs;
    hc->stream_work(&hc->req);
    pthread_mutex_lock(&hs->lock);
    hc->job_active = false;
    bool gone = hc->completed;
    pthread_mutex_unlock(&hs->lock);
    if (gone)
        request_free(hc);
}

static void *worker_main(void *arg)
{
    struct http_server *hs = arg;
    pthread_mutex_lock(&hs->lock);
    for (;;) {
        while (!hs->queue_head && !hs->stopping)
            pthread_cond_wait(&hs->cond, &hs->lock);
        if (!hs->queue_head)
            break;
        struct http_conn *hc = hs->queue_head;
        hs->queue_head = hc->next_job;
        if (!hs->queue_head)
            hs->queue_tail = NULL;
        pthread_mutex_unlock(&hs->lock);

        if (hc->stream_work) {
            run_stream_work(hc); /* hc may be gone now */
            pthread_mutex_lock(&hs->lock);
            continue;
        }
        enum step s = hc->work(&hc->req);
        if (s != STEP_RESPOND || hc->req.status == 0) {
            log_error("msg=\"deferred work left no response\" tx=%s", hc->req.trans_id);
            resp_error(&hc->req, 500, NULL);
        }
        hc->work = NULL;
        hc->phase = PH_READY;
        MHD_resume_connection(hc->mhd);

        pthread_mutex_lock(&hs->lock);
    }
    pthread_mutex_unlock(&hs->lock);
    return NULL;
}

/* Append hc to the worker queue and wake a worker; hs->lock is held. */
static void queue_push(struct http_server *hs, struct http_conn *hc)
{
    if (hs->queue_tail)
        hs->queue_tail->next_job = hc;
    else
        hs->queue_head = hc;
    hs->queue_tail = hc;
    pthread_cond_signal(&hs->cond);
}

static void enqueue_work(struct http_conn *hc)
{
    struct http_server *hs = hc->hs;
    hc->next_job = NULL;
    pthread_mutex_lock(&hs->lock);
    bool stopping = hs->stopping;
    if (!stopping) {
        hc->phase = PH_DEFERRED;
        /* Suspend before the job becomes visible: a worker may resume it
         * as soon as the lock is released. */
        MHD_suspend_connection(hc->mhd);
        queue_push(hs, hc);
    }
    pthread_mutex_unlock(&hs->lock);
    if (stopping) {
        /* No workers are left to take it: finish it here. */
        if (hc->work(&hc->req) != STEP_RESPOND || hc->req.status == 0)
            resp_error(&hc->req, 500, NULL);
        hc->phase = PH_READY;
    }
}

/* Queue the producer of a streamed response that is already queued; the
 * connection is not suspended (MHD sends what stream_read hands out). */
static void enqueue_stream_work(struct http_conn *hc)
{
    struct http_server *hs = hc->hs;
    hc->next_job = NULL;
    pthread_mutex_lock(&hs->lock);
    bool stopping = hs->stopping;
    hc->job_active = true;
    if (!stopping) {
        queue_push(hs, hc);
    }
    pthread_mutex_unlock(&hs->lock);
    if (stopping)
        run_stream_work(hc); /* no workers left: here, before MHD sends */
}

/* ------------------------------------------------------------------ */
/* responses                                                          */

static ssize_t stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_conn *hc = cls;
    ssize_t n = hc->req.stream_read(hc->req.stream_ctx, pos, buf, max);
    if (n > 0) {
        hc->req.bytes_out += (uint64_t)n;
        return n;
    }
    if (n == STREAM_AGAIN)
        return 0; /* paused by stream_read until req_stream_resume */
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static ssize_t no_body_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The body length a HEAD answer announces: what a GET would send. */
static uint64_t head_length(struct request *r)
{
    if (r->resp_fd >= 0)
        return r->resp_len;
    if (r->stream_read)
        return r->stream_len;
    return r->resp_body.len;
}

static struct MHD_Response *build_response(struct http_conn *hc)
{
    struct request *r = &hc->req;
    struct MHD_Response *resp;
    bool manual_length = false;

    if (r->status == 204 || r->status == 304) {
        /* MHD sends no length for these; Swift sends "Content-Length: 0"
         * with its 204s. */
        kv_del(&r->resp_headers, "Content-Length");
        if (r->status == 204)
            kv_set(&r->resp_headers, "Content-Length", "0");
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        manual_length = r->status == 204;
    } else if (r->method == M_HEAD || r->head_only) {
        /* A response of the length a GET would send, whose reader MHD
         * never calls for HEAD: it announces the object's length. */
        const char *set = kv_get(&r->resp_headers, "Content-Length");
        uint64_t n = set ? strtoull(set, NULL, 10) : head_length(r);
        kv_del(&r->resp_headers, "Content-Length");
        resp = MHD_create_response_from_callback(n, 4096, no_body_cb, NULL, NULL);
    } else if (r->resp_fd >= 0 && r->resp_len <= SMALL_BODY_MAX) {
        /* A small body goes out in the same write as the headers: sendfile
         * would cost a second send and a second TCP segment, which for a
         * 4 KiB object is most of the work of the whole GET. */
        char *body = xmalloc(r->resp_len ? r->resp_len : 1);
        ssize_t got = pread(r->resp_fd, body, r->resp_len, (off_t)r->resp_offset);
        if (got != (ssize_t)r->resp_len) {
            log_error("msg=\"short read of a small body\" tx=%s", r->trans_id);
            free(body);
            return NULL;
        }
        resp = MHD_create_response_from_buffer(r->resp_len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(body);
        r->bytes_out = r->resp_len;
    } else if (r->resp_fd >= 0) {
        resp = MHD_create_response_from_fd_at_offset64(r->resp_len, r->resp_fd, r->resp_offset);
        if (resp) {
            r->resp_fd = -1; /* MHD closes it */
            r->bytes_out = r->resp_len;
        }
    } else if (r->stream_read) {
        resp = MHD_create_response_from_callback(
            r->stream_len == UINT64_MAX ? MHD_SIZE_UNKNOWN : r->stream_len, 256 * 1024, stream_cb,
            hc, NULL);
    } else {
        /* Copied, not detached: a response set in the middle of a body is
         * built again when MHD refuses it there (queue_response), and must
         * still have its body then. */
        resp = MHD_create_response_from_buffer(r->resp_body.len, r->resp_body.data,
                                               MHD_RESPMEM_MUST_COPY);
        r->bytes_out = r->resp_body.len;
    }
    if (!resp)
        return NULL;
    tempurl_filter_response(r);
    if (manual_length)
        MHD_set_response_options(resp, MHD_RF_INSANITY_HEADER_CONTENT_LENGTH, MHD_RO_END);
    if (!kv_get(&r->resp_headers, "Content-Type"))
        kv_set(&r->resp_headers, "Content-Type", "text/html; charset=UTF-8");
    if (!r->who.owner)
        acl_strip_owner_headers(&r->resp_headers); /* Swift's swift_owner_headers */
    for (size_t i = 0; i < r->resp_headers.n; i++) {
        const struct kv *h = &r->resp_headers.items[i];
        if (!manual_length && strcasecmp(h->key, "Content-Length") == 0)
            continue;
        MHD_add_response_header(resp, h->key, h->value);
    }
    MHD_add_response_header(resp, "X-Trans-Id", r->trans_id);
    MHD_add_response_header(resp, "X-Openstack-Request-Id", r->trans_id);
    return resp;
}

/* Queue the response; false when MHD does not take it at this point (in
 * the middle of a body), so the caller tries again at the end. */
static bool queue_response(struct http_conn *hc)
{
    struct MHD_Response *resp = build_response(hc);
    if (!resp) {
        log_error("msg=\"cannot build response\" tx=%s", hc->req.trans_id);
        return false;
    }
    enum MHD_Result ok = MHD_queue_response(hc->mhd, (unsigned)hc->req.status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES)
        hc->phase = PH_QUEUED;
    return ok == MHD_YES;
}

/* ------------------------------------------------------------------ */
/* routing                                                            */

static enum http_method method_of(const char *m)
{
    static const char *const names[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "COPY", "OPTIONS"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(m, names[i]) == 0)
            return (enum http_method)i;
    return M_OTHER;
}

/* Transaction ids need to be unique, not secret: a per-thread xorshift
 * generator seeded from the system's randomness costs nanoseconds, where
 * asking OpenSSL per request showed up in GET profiles. */
static uint64_t trans_id_random(void)
{
    static _Thread_local uint64_t state[2];
    if (!state[0] && !state[1]) {
        if (random_bytes(state, sizeof(state)) != 0 || (!state[0] && !state[1]))
            state[0] = mono_ns() | 1;
    }
    uint64_t x = state[0], y = state[1];
    state[0] = y;
    x ^= x << 23;
    state[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return state[1] + y;
}

/* v as exactly `digits` lower-case hex digits; the end. */
static char *put_hex(char *out, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        out[i] = "0123456789abcdef"[v & 15];
    return out + digits;
}

static void make_trans_id(char out[40])
{
    /* Swift's form: "tx" + 21 hex digits + "-" + 10 hex digits of time.
     * Written by hand: snprintf here was 1% of a small GET. */
    uint64_t a = trans_id_random(), b = trans_id_random();
    char *o = out;

    *o++ = 't';
    *o++ = 'x';
    o = put_hex(o, a, 16);
    o = put_hex(o, b, 5);
    *o++ = '-';
    o = put_hex(o, (uint64_t)time(NULL), 10);
    *o = '\0';
}

static enum step answer_info(struct request *r)
{
    if (r->method == M_OPTIONS) {
        resp_error(r, 200, NULL);
        resp_header(r, "Allow", "HEAD, GET, OPTIONS");
        return STEP_RESPOND;
    }
    if (r->method != M_GET && r->method != M_HEAD) {
        resp_error(r, 405, NULL);
        resp_header(r, "Allow", "OPTIONS, HEAD, GET");
        return STEP_RESPOND;
    }
    r->status = 200;
    resp_header(r, "Content-Type", "application/json; charset=UTF-8");
    if (info_render(r->srv, &r->resp_body) != 0)
        resp_error(r, 500, NULL);
    return STEP_RESPOND;
}

/* 200 "OK" while a write quorum of disk groups is usable, else 503; with
 * ?detail, the per-disk-group report (replication/health.h) as JSON. */
static enum step answer_healthcheck(struct request *r)
{
    const struct cluster *c = r->srv->cluster;
    bool ok = !c || health_quorum(c);

    if (!req_query(r, "detail") || !c) {
        resp_text(r, ok ? 200 : 503, "text/plain", ok ? "OK" : "NO WRITE QUORUM");
        return STEP_RESPOND;
    }
    r->status = ok ? 200 : 503;
    resp_header(r, "Content-Type", "application/json; charset=UTF-8");
    if (health_report_json(c, &r->resp_body) != 0)
        resp_error(r, 500, NULL);
    return STEP_RESPOND;
}

static enum step answer_metrics(struct request *r)
{
    r->status = 200;
    resp_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    if (metrics_render(r->srv->metrics, r->srv->cluster, &r->resp_body) != 0)
        resp_error(r, 500, NULL);
    return STEP_RESPOND;
}

/* Authenticate the token of an API request and authorize the request
 * (server/acl.h); false when the answer (400, 401 or 403) is already set.
 * A token that is sent but not valid is 401 even where an ACL would let
 * an anonymous request in, as tempauth answers its own tokens. */
static bool authorize(struct request *r)
{
    const char *token = req_header(r, "X-Auth-Token");
    if (!token)
        token = req_header(r, "X-Storage-Token");
    if (token && auth_check(r->srv->auth, token, &r->who) != 0) {
        resp_error(r, 401, NULL);
        resp_headerf(r, "Www-Authenticate", "Swift realm=\"%s\"", r->account);
        return false;
    }
    return acl_authorize(r) == 0;
}

static enum step route_api(struct http_conn *hc, const char *path)
{
    struct request *r = &hc->req;
    char msg[256] = "";
    struct api_path ap;
    int status = api_path_parse(path, &ap, msg, sizeof(msg));
    r->version = ap.version;
    r->account = ap.account;
    r->container = ap.container;
    r->object = ap.object;
    if (status == 0)
        status = check_names_for(r->srv->cfg, r->method, r->account, r->container, r->object, msg,
                                 sizeof(msg));
    if (status == 400 && msg[0] && r->object) {
        /* Swift sends only the object name length error as text/plain. */
        resp_text(r, 400, "text/plain", msg);
        return STEP_RESPOND;
    }
    if (status) {
        resp_error(r, status, msg[0] ? msg : NULL);
        return STEP_RESPOND;
    }
    enum api_level level = r->object ? LEVEL_OBJECT : r->container ? LEVEL_CONTAINER
                                                                   : LEVEL_ACCOUNT;
    if (r->method == M_OPTIONS && !req_header(r, "Origin")) {
        resp_error(r, 200, NULL);
        /* Swift's copy middleware adds COPY to an object's OPTIONS answer
         * (but not to the Allow of a 405). */
        resp_header(r, "Allow", level == LEVEL_OBJECT ? "DELETE, OPTIONS, HEAD, POST, PUT, GET, COPY"
                                                      : handler_allow(level));
        return STEP_RESPOND;
    }
    /* Bulk operations run before token auth, as Swift's bulk middleware
     * (ahead of tempauth and tempurl in its pipeline): they authorize each
     * path they touch (server/bulk.h). */
    if ((hc->ops = bulk_route(r)) != NULL)
        return hc->ops->start(r);
    /* TempURL and FormPost requests carry no token (server/tempurl.h, formpost.h). */
    int tempurl = tempurl_check(r);
    if (tempurl < 0)
        return STEP_RESPOND;
    if (formpost_match(r)) {
        hc->ops = &formpost_ops;
        return hc->ops->start(r);
    }
    if (!tempurl && !authorize(r))
        return STEP_RESPOND;
    if (level == LEVEL_ACCOUNT && (r->method == M_PUT || r->method == M_DELETE)) {
        /* Creating and deleting accounts is for reseller admins. */
        resp_error(r, 403, NULL);
        return STEP_RESPOND;
    }
    hc->ops = handler_lookup(level, r->method);
    if (!hc->ops) {
        resp_error(r, 405, NULL);
        resp_header(r, "Allow", handler_allow(level));
        return STEP_RESPOND;
    }
    uint64_t wait_ns;
    if (!ratelimit_admit(r->srv->ratelimit, r, &wait_ns))
        return STEP_RESPOND;
    if (wait_ns > 0) {
        hc->wake_ns = mono_ns() + wait_ns;
        hc->phase = PH_THROTTLED;
        return STEP_DEFER;
    }
    return hc->ops->start(r);
}

static enum step route(struct http_conn *hc)
{
    struct request *r = &hc->req;
    char *path = xstrndup(hc->uri, (size_t)(hc->query - hc->uri) - (*hc->query ? 1 : 0));
    enum step s;
    const struct handler_ops *login = auth_route(path); /* v1.0, v2.0 and v3 logins */
    if (login) {
        hc->ops = login;
        s = login->start(r);
    } else if (strcmp(path, "/info") == 0) {
        s = answer_info(r);
    } else if (strcmp(path, "/healthcheck") == 0) {
        s = answer_healthcheck(r);
    } else if (strcmp(path, "/metrics") == 0) {
        s = answer_metrics(r);
    } else if (strncmp(path, "/v1", 3) == 0 && (path[3] == '/' || strncmp(path + 3, ".0/", 3) == 0)) {
        r->raw_path = xstrdup(path);
        s = route_api(hc, path);
    } else if (strncmp(path, "/v", 2) == 0 && strchr(path + 1, '/') && path[2] != '1') {
        resp_error(r, 400, NULL); /* an API version we do not speak */
        s = STEP_RESPOND;
    } else if (strcmp(path, "/") == 0) {
        resp_error(r, 404, NULL);
        s = STEP_RESPOND;
    } else {
        resp_error(r, 412, "Bad URL"); /* Swift's answer to any other path */
        s = STEP_RESPOND;
    }
    if (!r->raw_path)
        r->raw_path = path;
    else
        free(path);
    return s;
}

/* ------------------------------------------------------------------ */
/* MHD callbacks                                                      */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mhd)
{
    struct http_conn *hc = xcalloc(1, sizeof(*hc));
    hc->hs = cls;
    hc->mhd = mhd;
    hc->uri = xstrdup(uri);
    char *q = strchr(hc->uri, '?');
    hc->query = q ? q + 1 : hc->uri + strlen(hc->uri);
    kv_init(&hc->query_params);
    struct request *r = &hc->req;
    r->srv = hc->hs->srv;
    r->conn = hc;
    r->resp_fd = -1;
    r->start_ns = mono_ns();
    kv_init(&r->resp_headers);
    buf_init(&r->resp_body, 0);
    make_trans_id(r->trans_id);
    return hc;
}

static void setup_request(struct http_conn *hc, const char *method)
{
    struct request *r = &hc->req;
    r->method = method_of(method);
    r->method_name = method;
    const char *cl = req_header(r, "Content-Length");
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && *end == '\0' && cl[0] != '-') {
            r->content_length = v;
            r->has_length = true;
        }
    }
    const char *te = req_header(r, "Transfer-Encoding");
    r->chunked = te && strcasecmp(te, "chunked") == 0;
    if (r->chunked)
        r->has_length = false;
}

/* Apply a handler's step to the phase machine. */
static void apply_step(struct http_conn *hc, enum step s)
{
    if (hc->phase == PH_DEFER_PENDING || hc->phase == PH_THROTTLED)
        return; /* req_defer() was called, or the rate limiter delays it */
    if (s == STEP_BODY) {
        hc->phase = PH_BODY;
        return;
    }
    if (s == STEP_DEFER || hc->req.status == 0) {
        log_error("msg=\"handler returned no response\" tx=%s", hc->req.trans_id);
        resp_error(&hc->req, 500, NULL);
    }
    hc->phase = PH_READY;
}

static void throttle_arm(void *arg)
{
    struct http_conn *hc = arg;
    MHD_suspend_connection(hc->mhd);
}

static void throttle_fire(void *arg)
{
    struct http_conn *hc = arg;
    hc->phase = PH_WOKEN;
    MHD_resume_connection(hc->mhd);
}

/* Suspend a delayed request until its time; MHD then repeats its first
 * call, where on_request starts the handler. false when the server is
 * stopping: the caller starts it at once. */
static bool throttle(struct http_conn *hc)
{
    return wakeup_at(hc->hs->timer, hc->wake_ns, throttle_fire, throttle_arm, hc) == 0;
}

static void start_after_wait(struct http_conn *hc)
{
    hc->phase = PH_NEW;
    apply_step(hc, hc->ops->start(&hc->req));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mhd, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    struct http_conn *hc = *con_cls;
    struct request *r = &hc->req;

    bool first_call = hc->phase == PH_NEW && !r->method_name;
    if (first_call) {
        setup_request(hc, method);
        apply_step(hc, route(hc));
        if (hc->phase == PH_THROTTLED) {
            if (throttle(hc))
                return MHD_YES;    /* suspended until its time */
            start_after_wait(hc);  /* the server is stopping */
        }
    } else if (hc->phase == PH_WOKEN) {
        /* Resumed after its wait, MHD repeats its first call. */
        first_call = true;
        start_after_wait(hc);
    } else if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->bytes_in += n;
        if (hc->phase == PH_BODY) {
            enum step s = hc->ops->body(r, upload_data, n);
            if (s != STEP_BODY)
                apply_step(hc, s == STEP_DEFER ? STEP_RESPOND : s);
        }
        /* Past BODY the rest is discarded. */
        if (hc->phase != PH_READY)
            return MHD_YES;
    } else if (hc->phase == PH_BODY) {
        apply_step(hc, hc->ops->end ? hc->ops->end(r) : STEP_RESPOND);
    }

    /* Work deferred by start() of a request without a body waits for
     * MHD's next call, when the request is complete: a response queued
     * from there keeps the connection alive. */
    bool body_expected = (r->has_length && r->content_length > 0) || r->chunked ||
                         req_header(r, "Transfer-Encoding");
    if (hc->phase == PH_DEFER_PENDING && (!first_call || body_expected)) {
        enqueue_work(hc);
        if (hc->phase != PH_READY)
            return MHD_YES;
    }
    /* A response decided before the body arrived is sent at once (MHD then
     * closes the connection rather than read a body nobody wants); one for
     * a request without a body waits for MHD's next call, so the
     * connection stays alive. */
    if (hc->phase == PH_READY && (!first_call || body_expected))
        queue_response(hc);
    if (hc->stream_work && hc->phase == PH_QUEUED && !hc->stream_started) {
        hc->stream_started = true;
        enqueue_stream_work(hc);
    }
    (void)mhd;
    return MHD_YES;
}

static void access_log(struct http_conn *hc, enum MHD_RequestTerminationCode toe)
{
    struct request *r = &hc->req;
    int status = r->status;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && hc->phase != PH_QUEUED)
        status = 499; /* the client went away first, as Swift logs it */
    uint64_t dur = mono_ns() - r->start_ns;
    metrics_observe(r->srv->metrics, r->method, status, dur, r->bytes_in, r->bytes_out);
    if (!r->srv->cfg->access_log)
        return;
    char path_q[1200];
    log_info("msg=access tx=%s account=%s method=%s path=%s status=%d bytes_in=%llu "
             "bytes_out=%llu duration_ms=%.3f",
             r->trans_id, r->account ? r->account : "-", r->method_name ? r->method_name : "-",
             log_quote(path_q, sizeof(path_q), r->raw_path ? r->raw_path : hc->uri), status,
             (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, (double)dur / 1e6);
}

static void request_free(struct http_conn *hc)
{
    struct request *r = &hc->req;
    if (r->state_free && r->state)
        r->state_free(r->state);
    if (r->stream_free && r->stream_ctx)
        r->stream_free(r->stream_ctx);
    if (r->resp_fd >= 0)
        close(r->resp_fd);
    identity_release(&r->who);
    tempurl_grant_free(r->tempurl);
    kv_release(&r->resp_headers);
    buf_release(&r->resp_body);
    free(r->raw_path);
    free(r->version);
    free(r->account);
    free(r->container);
    free(r->object);
    kv_release(&hc->query_params);
    free(hc->uri);
    free(hc);
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mhd;
    struct http_conn *hc = *con_cls;
    if (!hc)
        return;
    access_log(hc, toe);
    *con_cls = NULL;
    pthread_mutex_lock(&hc->hs->lock);
    hc->completed = true;
    bool producing = hc->job_active;
    pthread_mutex_unlock(&hc->hs->lock);
    if (!producing)
        request_free(hc); /* else the producer frees it when it returns */
}

static size_t unescape_nothing(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    /* We decode paths and queries ourselves (NUL bytes and '+' need care). */
    return strlen(s);
}

/* ------------------------------------------------------------------ */
/* start and stop                                                     */

static int parse_listen(const char *where, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(where, ':');
    if (!colon || (size_t)(colon - where) >= sizeof(host))
        return -EINVAL;
    memcpy(host, where, (size_t)(colon - where));
    host[colon - where] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai) != 0 || !ai)
        return -EINVAL;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int open_listener(const char *where, int *fd_out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = parse_listen(where, &ss, &len);
    if (rc)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int http_start(struct http_server **out, struct server *srv, const char *where)
{
    const struct config *cfg = srv->cfg;
    int fd = -1;
    int rc = open_listener(where, &fd);
    if (rc)
        return rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    struct wakeup *timer;
    rc = wakeup_start(&timer);
    if (rc) {
        close(fd);
        return rc;
    }

    struct http_server *hs = xcalloc(1, sizeof(*hs));
    hs->timer = timer;
    hs->srv = srv;
    hs->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    pthread_mutex_init(&hs->lock, NULL);
    pthread_cond_init(&hs->cond, NULL);
    hs->n_workers = cfg->workers ? cfg->workers : 64;
    hs->workers = xcalloc(hs->n_workers, sizeof(pthread_t));
    for (size_t i = 0; i < hs->n_workers; i++)
        pthread_create(&hs->workers[i], NULL, worker_main, hs);

    /* Each connection's request line and headers live in an MHD pool of
     * this size, which MHD zeroes between the requests of a keep-alive
     * connection: measured, at 64 KiB that memset was 4% of a 4 KiB GET.
     * 32 KiB still holds far more than Swift's limits let a request carry
     * (8 KiB per header, 4 KiB of metadata in all). */
    const size_t conn_memory = 32 * 1024;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg->threads ? cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 2);
    hs->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_TURBO,
        0, NULL, NULL, on_request, hs, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK, on_uri, hs,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, hs, MHD_OPTION_UNESCAPE_CALLBACK,
        unescape_nothing, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!hs->daemon) {
        close(fd);
        http_stop(hs);
        return -EIO;
    }
    *out = hs;
    return 0;
}

uint16_t http_port(const struct http_server *h)
{
    return h->port;
}

void http_stop(struct http_server *hs)
{
    if (!hs)
        return;
    /* Delayed writes start now, and workers finish the jobs they hold
     * (resuming their connections) before the daemon stops: MHD must not
     * stop with suspended connections. */
    wakeup_stop(hs->timer);
    pthread_mutex_lock(&hs->lock);
    hs->stopping = true;
    pthread_cond_broadcast(&hs->cond);
    pthread_mutex_unlock(&hs->lock);
    for (size_t i = 0; i < hs->n_workers; i++)
        pthread_join(hs->workers[i], NULL);
    if (hs->daemon)
        MHD_stop_daemon(hs->daemon);
    wakeup_free(hs->timer);   /* MHD threads may call wakeup_at until here */
    pthread_mutex_destroy(&hs->lock);
    pthread_cond_destroy(&hs->cond);
    free(hs->workers);
    free(hs);
}
