/* server/object.c: implements the object handlers of server/handlers.h
 * (GET, HEAD, PUT, POST, DELETE) with the statuses, headers and bodies of
 * Swift 2.30. COPY and PUT with X-Copy-From live in object_copy.c; ranges
 * and conditionals are the pure functions of range.c.
 *
 * A PUT streams: the writer is opened once the checks pass (before the
 * body is read, as Swift answers 404/411/412/413 before "100 Continue"),
 * each body chunk goes to the replicas, and the fsyncs and listing update
 * run on a worker thread (req_defer). A client that goes away mid-upload
 * only frees the request: state_free aborts the writer, removing its
 * temp files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "../storage/pending.h"
#include "../replication/expirer.h"
#include "byteranges.h"
#include "constraints.h"
#include "dlo.h"
#include "handlers.h"
#include "lostream.h"
#include "mime.h"
#include "object_int.h"
#include "objops.h"
#include "range.h"
#include "server.h"
#include "slo.h"
#include "versioning.h"

#define HTML "text/html; charset=UTF-8"
#define META_PREFIX "X-Object-Meta-"
/* A GET body up to this size is read and its CRC32C checked before the
 * answer, falling back to another replica (http.c sends bodies this small
 * from memory anyway); larger ones are streamed with sendfile unchecked. */
#define GET_VERIFY_MAX (64 * 1024)

/* Swift's object-server allowed_headers: stored with the object, replaced
 * as a set by every PUT and POST (2.30 defaults; X-Static-Large-Object is
 * left to the SLO code). */
static const char *const allowed_headers[] = {
    "Content-Disposition", "Content-Encoding", "X-Delete-At", "X-Object-Manifest",
    "Cache-Control",       "Content-Language", "Expires",     "X-Robots-Tag",
};

/* ---- shared helpers ---- */

void obj_fail(struct request *r, int status)
{
    if (r->method == M_HEAD)
        resp_text(r, status, HTML, "");
    else
        resp_error(r, status, NULL);
}

bool obj_expired(const struct object_meta *m)
{
    int64_t at = objops_delete_at(&m->headers);

    return at && at <= (int64_t)time(NULL);
}

void obj_meta_headers(struct request *r, const struct object_meta *m)
{
    char date[HTTP_DATE_LEN], ts[TS_STRLEN];

    for (size_t i = 0; i < m->headers.n; i++)
        if (strncasecmp(m->headers.items[i].key, "X-Object-Sysmeta-", 17) != 0)
            resp_header(r, m->headers.items[i].key, m->headers.items[i].value);
    http_date(ts_to_time_ceil(m->meta_timestamp), date);
    ts_format(m->meta_timestamp, ts);
    resp_header(r, "Etag", m->etag);
    resp_header(r, "Last-Modified", date);
    resp_header(r, "X-Timestamp", ts);
}

static const char *ctype_of(const struct object_meta *m)
{
    return m->content_type ? m->content_type : "application/octet-stream";
}

static bool header_date(const struct request *r, const char *name, time_t *out)
{
    const char *v = req_header(r, name);
    return v && http_date_parse(v, out) == 0;
}

int obj_conditional(struct request *r, const struct object_meta *m)
{
    struct cond_req c = {
        .if_match = req_header(r, "If-Match"),
        .if_none_match = req_header(r, "If-None-Match"),
    };
    int status;

    c.has_ims = header_date(r, "If-Modified-Since", &c.if_modified_since);
    c.has_ius = header_date(r, "If-Unmodified-Since", &c.if_unmodified_since);
    status = cond_eval(&c, m->etag, ts_to_time_ceil(m->meta_timestamp));
    if (!status)
        return 0;
    obj_meta_headers(r, m);
    if (status == 304) {
        resp_header(r, "Accept-Ranges", "bytes");
        resp_text(r, 304, ctype_of(m), "");
    } else {
        resp_text(r, 412, HTML, "");   /* Swift sends no page here */
    }
    return status;
}

/* The object is missing: 404, or 412 for "If-Match: *" (RFC 7232 3.1). */
static void not_found(struct request *r)
{
    const char *im = req_header(r, "If-Match");

    if (im && etag_list_match(im, "*"))
        resp_text(r, 412, HTML, "");
    else
        obj_fail(r, 404);
}

static void locate_object(const struct request *r, struct placement *pl)
{
    cluster_locate(r->srv->cluster, ITEM_OBJECT, r->account, r->container, r->object, pl);
}

/* swob's config_true_value. */
static bool true_value(const char *v)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    for (size_t i = 0; v && i < ARRAY_SIZE(yes); i++)
        if (strcasecmp(v, yes[i]) == 0)
            return true;
    return false;
}

/* Set "X-Delete-At" in out from the request, or answer 400. X-Delete-After
 * counts from the write's own timestamp ts, as Swift's from the request's
 * X-Timestamp: the expirer deletes an object only when it is older than
 * its X-Delete-At, and time(NULL) (a coarse clock) can lag the timestamp
 * taken just before it by a few milliseconds, across a second boundary. */
static bool delete_headers(struct request *r, struct kv_list *out, int64_t ts)
{
    char msg[128];

    if (check_delete_headers(req_header(r, "X-Delete-After"), req_header(r, "X-Delete-At"),
                             ts / TS_TICKS_PER_SEC, out, msg, sizeof(msg)) == 0)
        return true;
    resp_text(r, 400, "text/plain", msg);
    return false;
}

/* The headers a PUT or POST at ts stores: user metadata and
 * allowed_headers (X-Delete-At comes from delete_headers). 0, or 400
 * answered. */
static bool request_headers(struct request *r, struct kv_list *out, int64_t ts)
{
    struct kv_list meta = KV_LIST_INIT;
    char msg[512];
    bool ok = true;

    collect_meta(r, META_PREFIX, false, &meta);
    for (size_t i = 0; i < meta.n; i++)
        kv_set(out, meta.items[i].key, meta.items[i].value);
    for (size_t i = 0; i < ARRAY_SIZE(allowed_headers); i++) {
        const char *v = req_header(r, allowed_headers[i]);
        if (v && strcmp(allowed_headers[i], "X-Delete-At") != 0)
            kv_set(out, allowed_headers[i], v);
    }
    if (check_metadata(r->srv->cfg, META_PREFIX, out, msg, sizeof(msg)) != 0) {
        resp_text(r, 400, "text/plain", msg);
        ok = false;
    }
    kv_release(&meta);
    return ok && delete_headers(r, out, ts);
}

/* ---- GET / HEAD ---- */

/* The body of a multipart/byteranges answer: rd's fd, read at the
 * body's offset in the file. */
struct fd_body {
    int fd;
    uint64_t base;
};

static ssize_t fd_body_read(void *ctx, uint64_t pos, char *out, size_t max)
{
    const struct fd_body *f = ctx;
    return pread(f->fd, out, max, (off_t)(f->base + pos));
}

static void fd_body_free(void *ctx)
{
    struct fd_body *f = ctx;
    if (f->fd >= 0)
        close(f->fd);
    free(f);
}

/* Answer 206 multipart/byteranges, taking over rd's fd. */
static void send_multipart(struct request *r, struct object_reader *rd,
                           const struct byte_range *rg, size_t n)
{
    struct fd_body *f = xcalloc(1, sizeof(*f));
    struct byteranges_body body = {fd_body_read, fd_body_free, f};

    f->fd = rd->fd;
    f->base = rd->body_offset;
    rd->fd = -1;
    byteranges_respond(r, ctype_of(&rd->meta), rg, n, rd->meta.size, &body);
}

/* Serve rd's body, or the part the Range header asks for. */
static void send_body(struct request *r, struct object_reader *rd)
{
    struct byte_range rg[RANGE_MAX];
    size_t n = 0;
    enum range_result rr = RANGE_IGNORE;
    char cr[80];

    if (r->method == M_GET)
        rr = range_eval(req_header(r, "Range"), rd->meta.size, rg, &n);
    resp_header(r, "Accept-Ranges", "bytes");
    if (rr == RANGE_UNSATISFIABLE) {
        resp_headerf(r, "Content-Range", "bytes */%llu", (unsigned long long)rd->meta.size);
        resp_error(r, 416, NULL);
        resp_header(r, "Content-Type", ctype_of(&rd->meta));
        return;
    }
    resp_header(r, "Content-Type", ctype_of(&rd->meta));
    if (rr == RANGE_PARTIAL && n > 1) {
        send_multipart(r, rd, rg, n);
        return;
    }
    r->status = 200;
    r->resp_offset = rd->body_offset;
    r->resp_len = rd->meta.size;
    if (rr == RANGE_PARTIAL) {
        range_content_range(cr, sizeof(cr), &rg[0], rd->meta.size);
        resp_header(r, "Content-Range", cr);
        r->status = 206;
        r->resp_offset += rg[0].start;
        r->resp_len = rg[0].end - rg[0].start;
    }
    if (r->resp_len > 0 && rd->body && r->resp_len == rd->meta.size) {
        buf_adopt(&r->resp_body, rd->body, rd->meta.size);   /* read and checked */
        rd->body = NULL;
    } else if (r->resp_len > 0 && rd->body) {
        if (buf_append(&r->resp_body, rd->body + (r->resp_offset - rd->body_offset),
                       r->resp_len) != 0)
            abort();   /* GET_VERIFY_MAX bytes; response bodies have no cap */
    } else if (r->resp_len > 0) {   /* http.c sends (or, for HEAD, measures) the fd */
        r->resp_fd = rd->fd;
        rd->fd = -1;
    }
}

static enum step get_start(struct request *r)
{
    struct placement pl;
    struct object_reader rd;
    int rc;

    r->head_only = r->method == M_HEAD;
    locate_object(r, &pl);
    rc = object_open_verified(&rd, &pl, r->head_only ? 0 : GET_VERIFY_MAX);
    if (rc == -ENOENT || rc == ERR_DELETED || (rc == 0 && obj_expired(&rd.meta)))
        not_found(r);
    else if (rc != 0)
        resp_errno(r, rc);
    else if (slo_get(r, &rd) || dlo_get(r, &rd))
        ;   /* a large object: answered by slo.c / dlo.c */
    else if (obj_conditional(r, &rd.meta) == 0) {
        obj_meta_headers(r, &rd.meta);
        send_body(r, &rd);
    }
    object_reader_close(&rd);
    return STEP_RESPOND;
}

const struct handler_ops object_get_ops = {.start = get_start};
const struct handler_ops object_head_ops = {.start = get_start};

/* ---- PUT ---- */

static void put_free(void *p)
{
    struct obj_put *st = p;

    object_writer_abort(st->w);
    lo_stream_free(st->lo_src);
    object_meta_release(&st->meta);
    object_reader_close(&st->src);
    free(st->account);
    free(st->container);
    free(st->object);
    free(st->name);
    free(st->copied_from_account);
    free(st->copied_from);
    free(st->versions);
    free(st);
}

struct obj_put *obj_put_new(struct request *r, const char *account, const char *container,
                            const char *object)
{
    struct obj_put *st = xcalloc(1, sizeof(*st));

    st->account = xstrdup(account);
    st->container = xstrdup(container);
    st->object = xstrdup(object);
    st->name = xasprintf("/%s/%s/%s", account, container, object);
    cluster_locate(r->srv->cluster, ITEM_OBJECT, account, container, object, &st->pl);
    st->ts = ts_now();
    object_meta_init(&st->meta);
    object_meta_init(&st->src.meta);
    st->src.fd = -1;
    r->state = st;
    r->state_free = put_free;
    return st;
}

static bool container_exists(struct request *r, struct obj_put *st)
{
    struct placement cpl;
    struct container_stat cs;
    int rc;

    memset(&cs, 0, sizeof(cs));
    kv_init(&cs.meta);
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, st->account, st->container, NULL, &cpl);
    rc = db_container_stat(r->srv->db, &cpl, &cs);
    if (rc == 0)
        st->versions = versioning_location(&cs.meta, NULL);
    container_stat_release(&cs);
    if (rc == -ENOENT)
        resp_error(r, 404, NULL);
    else if (rc != 0)
        resp_errno(r, rc);
    return rc == 0;
}

/* proxy _update_content_type + check_content_type. */
static bool content_type(struct request *r, struct obj_put *st, const char *base_ctype)
{
    const char *ct = req_header(r, "Content-Type");

    if (true_value(req_header(r, "X-Detect-Content-Type")))
        ct = mime_guess(st->object);
    else if (!ct || !*ct)
        ct = base_ctype ? base_ctype : mime_guess(st->object);
    for (const char *p = strchr(ct, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, "swift_", 6) == 0) {
            resp_error(r, 400, "Invalid Content-Type, swift_* is not a valid parameter name.");
            return false;
        }
    }
    st->meta.content_type = xstrdup(ct);
    return true;
}

/* Body size limits and framing (constraints.check_object_creation). */
static bool put_length(struct request *r)
{
    if (r->has_length && r->content_length > r->srv->cfg->max_file_size) {
        resp_text(r, 413, "text/plain", "Your request is too large.");
        return false;
    }
    if (!r->has_length && !r->chunked) {
        resp_text(r, 411, "text/plain", "Missing Content-Length header.");
        return false;
    }
    return true;
}

/* If-None-Match on PUT: only "*", and 412 when the object exists. */
static bool put_if_none_match(struct request *r, const struct obj_put *st)
{
    const char *inm = req_header(r, "If-None-Match");
    struct object_meta m;
    int rc;

    if (!inm)
        return true;
    if (!etag_list_match(inm, "*")) {
        resp_text(r, 400, "text/plain", "If-None-Match only supports *");
        return false;
    }
    rc = object_stat(&m, &st->pl);
    if (rc == 0 && !obj_expired(&m)) {
        resp_error(r, 412, NULL);
        rc = 1;
    } else if (rc == -ENOENT || rc == ERR_DELETED || rc == 0) {
        rc = 0;
    } else {
        resp_errno(r, rc);
    }
    object_meta_release(&m);
    return rc == 0;
}

/* The ETag the body must have: quotes removed, lower case. */
static void put_expect_etag(struct request *r, struct obj_put *st)
{
    const char *e = req_header(r, "ETag");
    size_t n;

    if (!e)
        return;
    n = strlen(e);
    if (n >= 2 && e[0] == '"' && e[n - 1] == '"') {
        e++;
        n -= 2;
    }
    if (n != 32) {
        st->etag_bad = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        st->expect_etag[i] = (e[i] >= 'A' && e[i] <= 'Z') ? (char)(e[i] - 'A' + 'a') : e[i];
    st->expect_etag[n] = '\0';
}

bool obj_put_prepare(struct request *r, struct obj_put *st, const struct kv_list *base,
                     const char *base_ctype)
{
    int rc;

    if (!container_exists(r, st) || !content_type(r, st, base_ctype))
        return false;
    if (!st->copy && !put_length(r))
        return false;
    if (base)
        kv_copy(&st->meta.headers, base);
    if (!request_headers(r, &st->meta.headers, st->ts) || !put_if_none_match(r, st))
        return false;
    put_expect_etag(r, st);
    if (st->versions &&
        !versioning_put_check(r, st->account, st->versions, st->container, st->object))
        return false;
    rc = object_writer_open(&st->w, &st->pl, st->name, st->ts);
    if (rc != 0) {
        st->w = NULL;
        resp_errno(r, rc);
        return false;
    }
    return true;
}

static enum step put_start(struct request *r)
{
    const char *te = req_header(r, "Transfer-Encoding");
    const char *slo = req_header(r, "X-Static-Large-Object");
    const char *mm = req_query(r, "multipart-manifest");

    if (mm && strcmp(mm, "put") == 0)
        return slo_put_start(r);
    if (!dlo_put_check(r))
        return STEP_RESPOND;
    if (req_header(r, "X-Copy-From"))
        return obj_copy_from_start(r);
    if (te && !r->chunked) {
        resp_text(r, 400, "text/plain", "Invalid Transfer-Encoding header value");
        return STEP_RESPOND;
    }
    if (slo && !(mm && strcmp(mm, "put") == 0)) {
        resp_error(r, 400, "X-Static-Large-Object is a reserved header. To create a static "
                           "large object add query param multipart-manifest=put.");
        return STEP_RESPOND;
    }
    struct obj_put *st = obj_put_new(r, r->account, r->container, r->object);
    return obj_put_prepare(r, st, NULL, NULL) ? STEP_BODY : STEP_RESPOND;
}

static enum step put_body(struct request *r, const char *p, size_t n)
{
    struct obj_put *st = r->state;
    int rc;

    if (slo_put_active(r))
        return slo_put_body(r, p, n);
    if (object_writer_size(st->w) + n > r->srv->cfg->max_file_size) {
        resp_text(r, 413, "text/plain", "Your request is too large.");
        return STEP_RESPOND;
    }
    rc = object_writer_write(st->w, p, n);
    if (rc != 0) {
        resp_errno(r, rc);
        return STEP_RESPOND;
    }
    return STEP_BODY;
}

static enum step put_end(struct request *r)
{
    if (slo_put_active(r))
        return slo_put_end(r);
    req_defer(r, obj_put_commit);
    return STEP_DEFER;
}

enum step obj_put_commit(struct request *r)
{
    struct obj_put *st = r->state;
    char date[HTTP_DATE_LEN];
    int rc;

    /* the current version is archived before the new one commits */
    if (st->versions &&
        !versioning_put(r, st->account, st->versions, st->container, st->object))
        return STEP_RESPOND;   /* req_free aborts the writer */
    rc = st->copy ? obj_copy_stream(st) : 0;

    if (rc == 0 && st->etag_bad)
        rc = ERR_ETAG;
    if (rc != 0)
        object_writer_abort(st->w);
    else
        rc = objops_commit_writer(r->srv, &st->pl, st->account, st->container, st->object, st->ts,
                                  st->w, &st->meta, st->expect_etag[0] ? st->expect_etag : NULL);
    st->w = NULL;   /* freed by abort or commit */
    http_date(ts_to_time_ceil(st->ts), date);
    if (rc != 0) {
        resp_errno(r, rc);
        if (rc == ERR_ETAG)
            resp_header(r, "Last-Modified", date);
        return STEP_RESPOND;
    }
    resp_text(r, 201, HTML, "");
    resp_header(r, "Etag", st->meta.etag);
    resp_header(r, "Last-Modified", date);
    if (st->copy)
        obj_copy_headers(r, st);
    return STEP_RESPOND;
}

const struct handler_ops object_put_ops = {.start = put_start, .body = put_body, .end = put_end};

/* ---- POST ---- */

struct obj_post {
    struct placement pl;
    int64_t ts;
    char *content_type;       /* NULL: keep the stored one */
    struct kv_list headers;
};

static void post_free(void *p)
{
    struct obj_post *st = p;
    free(st->content_type);
    kv_release(&st->headers);
    free(st);
}

static enum step post_work(struct request *r)
{
    struct obj_post *st = r->state;
    struct object_meta m;
    int rc = object_stat(&m, &st->pl);

    if (rc == 0 && obj_expired(&m))
        rc = -ENOENT;
    if (rc == 0)
        slo_post_keep(&m.headers, &st->headers, st->content_type);
    struct pending_note note = {.log = NULL};
    /* Only a new type changes the listing, and only X-Delete-At the queue. */
    if (rc == 0 && (st->content_type || objops_delete_at(&st->headers)))
        pending_note(r->srv->pending, &st->pl, st->ts, r->account, r->container, r->object,
                     &note);
    bool journaled = false;
    if (rc == 0) {
        char *name = xasprintf("/%s/%s/%s", r->account, r->container, r->object);
        rc = object_post(&st->pl, name, st->ts, st->content_type, &st->headers, &journaled);
        free(name);
    }
    if (rc == 0 && st->content_type) {
        /* the listing shows the new type (Swift's fast-POST does too) */
        struct placement cpl, apl;
        cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, &cpl);
        cluster_locate(r->srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, &apl);
        const char *ov = kv_get(&st->headers, OBJOPS_OVERRIDE_CTYPE);
        rc = db_object_put(r->srv->db, &cpl, &apl, r->container, r->object, st->ts, m.size,
                           ov ? ov : st->content_type, objops_listed_etag(&m), journaled);
    }
    if (rc == 0)
        rc = objops_queue_expiry(r->srv, r->account, r->container, r->object,
                                 objops_delete_at(&m.headers), objops_delete_at(&st->headers),
                                 st->ts);
    pending_clear(&note);
    object_meta_release(&m);
    if (rc != 0)
        resp_errno(r, rc);
    else
        resp_error(r, 202, NULL);
    return STEP_RESPOND;
}

static enum step post_start(struct request *r)
{
    struct obj_post *st = xcalloc(1, sizeof(*st));
    const char *ct = req_header(r, "Content-Type");

    kv_init(&st->headers);
    r->state = st;
    r->state_free = post_free;
    if (req_header(r, "X-Static-Large-Object")) {
        resp_error(r, 400, "X-Static-Large-Object is a reserved header. To create a static "
                           "large object add query param multipart-manifest=put.");
        return STEP_RESPOND;
    }
    st->ts = ts_now();
    if (!request_headers(r, &st->headers, st->ts))
        return STEP_RESPOND;
    if (ct && *ct)
        st->content_type = xstrdup(ct);
    locate_object(r, &st->pl);
    req_defer(r, post_work);
    return STEP_DEFER;
}

const struct handler_ops object_post_ops = {.start = post_start};

/* ---- DELETE ---- */

static enum step delete_work(struct request *r)
{
    int rc;

    if (versioning_delete(r))
        return STEP_RESPOND;   /* a versioned container: answered */
    rc = objops_delete(r->srv, r->account, r->container, r->object);
    if (rc != 0)
        resp_errno(r, rc);
    else
        resp_text(r, 204, HTML, "");
    return STEP_RESPOND;
}

static enum step delete_start(struct request *r)
{
    const char *mm = req_query(r, "multipart-manifest");

    if (mm && strcmp(mm, "delete") == 0)
        return slo_delete_start(r);
    req_defer(r, delete_work);
    return STEP_DEFER;
}

const struct handler_ops object_delete_ops = {.start = delete_start};
