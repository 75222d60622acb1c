/* server/object_copy.c: implements server-side copies, as Swift 2.30's copy
 * middleware does them: COPY with "Destination: <container>/<object>"
 * (and Destination-Account), and PUT with "X-Copy-From" (and
 * X-Copy-From-Account). The source is opened and its conditionals and Range
 * evaluated like a GET; the destination is then written like a PUT whose
 * body is the source (streamed with pread on a worker thread). The source's
 * metadata is kept and the request's merged over it, unless
 * X-Fresh-Metadata is true. */
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../replication/cluster.h"
#include "acl.h"
#include "bulk_body.h"
#include "constraints.h"
#include "dlo.h"
#include "handlers.h"
#include "lostream.h"
#include "object_int.h"
#include "path.h"
#include "range.h"
#include "server.h"

#define HTML "text/html; charset=UTF-8"

/* Where a copy goes or comes from. */
struct copy_ends {
    char *src_account, *src_container, *src_object;
    char *dst_account, *dst_container, *dst_object;
};

static void ends_release(struct copy_ends *e)
{
    free(e->src_account);
    free(e->src_container);
    free(e->src_object);
    free(e->dst_account);
    free(e->dst_container);
    free(e->dst_object);
}

/* wsgi_unquote: %XX decoded ('+' stays), a bad escape kept as is. */
static char *unquote(const char *s)
{
    return percent_decode(s, strlen(s), false, NULL);
}

/* urllib.parse.quote(s, safe='/'), heap string. */
static char *quote(const char *s)
{
    struct buf q = BUF_INIT;

    bulk_quote(&q, s, strlen(s));
    return buf_detach(&q, NULL);
}

/* "<container>/<object>" (leading '/' optional, %-encoded) as Swift's
 * split_path(2, 2, rest_with_last) takes it; false when malformed. */
static bool split_dest(const char *value, char **container, char **object)
{
    char *v = unquote(value), *p = v + (v[0] == '/'), *slash = strchr(p, '/');
    bool ok = slash && slash > p && slash[1];

    if (ok) {
        *container = xstrndup(p, (size_t)(slash - p));
        *object = xstrdup(slash + 1);
    }
    free(v);
    return ok;
}

/* The account named by header (unquoted), or the request's. Whether r
 * may use it is acl_allows_object()'s call. */
static char *other_account(struct request *r, const char *header)
{
    const char *v = req_header(r, header);

    return v && *v ? unquote(v) : xstrdup(r->account);
}

/* Open the source; false with a response set when it cannot be copied. */
static bool open_source(struct request *r, const struct copy_ends *e, struct object_reader *rd)
{
    struct placement pl;
    const char *im = req_header(r, "If-Match");
    int rc;

    cluster_locate(r->srv->cluster, ITEM_OBJECT, e->src_account, e->src_container, e->src_object,
                   &pl);
    rc = object_open(rd, &pl);
    if (rc == 0 && obj_expired(&rd->meta))
        rc = -ENOENT;
    if (rc == -ENOENT || rc == ERR_DELETED) {
        if (im && etag_list_match(im, "*"))
            resp_text(r, 412, HTML, "");
        else
            resp_error(r, 404, NULL);
        return false;
    }
    if (rc != 0) {
        resp_errno(r, rc);
        return false;
    }
    return obj_conditional(r, &rd->meta) == 0;
}

/* The part of the source to copy: a single Range is honoured as Swift
 * does (the copy then carries no source ETag to verify); several ranges
 * copy the whole object. False with 416 set when unsatisfiable. */
static bool source_span(struct request *r, struct obj_put *st)
{
    struct byte_range rg[RANGE_MAX];
    size_t n;
    enum range_result rr = range_eval(req_header(r, "Range"), st->src.meta.size, rg, &n);

    st->src_off = 0;
    st->src_len = st->src.meta.size;
    if (rr == RANGE_UNSATISFIABLE) {
        resp_headerf(r, "Content-Range", "bytes */%llu", (unsigned long long)st->src.meta.size);
        resp_error(r, 416, NULL);
        return false;
    }
    if (rr == RANGE_PARTIAL && n == 1) {
        st->src_off = rg[0].start;
        st->src_len = rg[0].end - rg[0].start;
    }
    return true;
}

/* The headers the copy starts from: the source's, unless fresh. A DLO
 * manifest is copied as a manifest only with multipart-manifest=get. */
static void base_headers(struct request *r, const struct object_meta *src, struct kv_list *out)
{
    const char *mm = req_query(r, "multipart-manifest");
    const char *fresh = req_header(r, "X-Fresh-Metadata");
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};

    for (size_t i = 0; fresh && i < ARRAY_SIZE(yes); i++)
        if (strcasecmp(fresh, yes[i]) == 0)
            return;   /* config_true_value */
    kv_copy(out, &src->headers);
    if (!(mm && strcmp(mm, "get") == 0))
        kv_del(out, "X-Object-Manifest");
}

/* Both ends are known: check, open and defer the copy. */
static enum step copy_run(struct request *r, struct copy_ends *e)
{
    struct object_reader rd;
    struct obj_put *st;
    struct kv_list base = KV_LIST_INIT;
    char *path;
    bool ok;

    if (!open_source(r, e, &rd)) {
        object_reader_close(&rd);
        return STEP_RESPOND;
    }
    st = obj_put_new(r, e->dst_account, e->dst_container, e->dst_object);
    st->copy = true;
    st->src = rd;   /* the state owns the open source from here */
    http_date(ts_to_time_ceil(rd.meta.meta_timestamp), st->src_last_modified);
    st->copied_from_account = quote(e->src_account);
    path = xasprintf("%s/%s", e->src_container, e->src_object);
    st->copied_from = quote(path);
    free(path);
    if (!lo_copy_source(r, st, e->src_account) || !source_span(r, st))
        return STEP_RESPOND;
    base_headers(r, &st->src.meta, &base);
    ok = obj_put_prepare(r, st, &base, st->src.meta.content_type);
    kv_release(&base);
    if (!ok)
        return STEP_RESPOND;
    if (st->src_len == st->src.meta.size && !st->expect_etag[0] && !st->etag_bad)
        memcpy(st->expect_etag, st->src.meta.etag, sizeof(st->expect_etag));
    req_defer(r, obj_put_commit);
    return STEP_DEFER;
}

/* The destination names must pass the same checks as a PUT's. */
static bool check_dest(struct request *r, const struct copy_ends *e)
{
    char msg[256] = "";
    int status = check_names(r->srv->cfg, e->dst_account, e->dst_container, e->dst_object, msg,
                             sizeof(msg));

    if (status == 400)
        resp_text(r, 400, "text/plain", msg);
    else if (status)
        resp_error(r, status, msg[0] ? msg : NULL);
    return status == 0;
}

static enum step copy_start(struct request *r)
{
    const char *dest = req_header(r, "Destination");
    struct copy_ends e = {0};
    enum step s = STEP_RESPOND;
    bool ok;

    if (!dest) {
        resp_error(r, 412, "Destination header required");
        return STEP_RESPOND;
    }
    if (!split_dest(dest, &e.dst_container, &e.dst_object)) {
        resp_error(r, 412, "Destination header must be of the form <container name>/<object name>");
        return STEP_RESPOND;
    }
    e.dst_account = other_account(r, "Destination-Account");
    e.src_account = xstrdup(r->account);
    e.src_container = xstrdup(r->container);
    e.src_object = xstrdup(r->object);
    /* the source was authorized as a read of the path; the copy writes */
    ok = acl_allows_object(r, e.dst_account, e.dst_container, M_PUT);
    if (ok && check_dest(r, &e))
        s = copy_run(r, &e);
    ends_release(&e);
    return s;
}

enum step obj_copy_from_start(struct request *r)
{
    struct copy_ends e = {0};
    enum step s = STEP_RESPOND;
    bool ok;

    if (r->has_length && r->content_length > 0) {
        resp_text(r, 400, "text/plain", "Copy requests require a zero byte body");
        return STEP_RESPOND;
    }
    e.src_account = other_account(r, "X-Copy-From-Account");
    ok = split_dest(req_header(r, "X-Copy-From"), &e.src_container, &e.src_object);
    if (!ok)
        resp_error(r, 412, "X-Copy-From header must be of the form <container name>/<object name>");
    /* the path was authorized as a write; the copy reads its source */
    if (ok)
        ok = acl_allows_object(r, e.src_account, e.src_container, M_GET);
    e.dst_account = xstrdup(r->account);
    e.dst_container = xstrdup(r->container);
    e.dst_object = xstrdup(r->object);
    if (ok)
        s = copy_run(r, &e);
    ends_release(&e);
    return s;
}

/* Stream the copy source into the writer (on the worker thread). */
int obj_copy_stream(struct obj_put *st)
{
    enum { CHUNK = 1 << 20 };
    char *b = xmalloc(CHUNK);
    uint64_t done = 0;
    int rc = 0;

    while (done < st->src_len && rc == 0) {
        size_t want = (size_t)MIN((uint64_t)CHUNK, st->src_len - done);
        ssize_t got = st->lo_src ? lo_stream_read(st->lo_src, st->src_off + done, b, want)
                                 : pread(st->src.fd, b, want,
                                         (off_t)(st->src.body_offset + st->src_off + done));
        if (got <= 0) {
            rc = got < 0 ? -errno : -EIO;
            break;
        }
        rc = object_writer_write(st->w, b, (size_t)got);
        done += (uint64_t)got;
    }
    free(b);
    return rc;
}

/* The 201 of a copy also tells where it came from and the new metadata. */
void obj_copy_headers(struct request *r, const struct obj_put *st)
{
    resp_header(r, "X-Copied-From-Account", st->copied_from_account);
    resp_header(r, "X-Copied-From", st->copied_from);
    resp_header(r, "X-Copied-From-Last-Modified", st->src_last_modified);
    for (size_t i = 0; i < st->meta.headers.n; i++) {
        const struct kv *h = &st->meta.headers.items[i];
        if (strncasecmp(h->key, "X-Object-Meta-", 14) == 0 ||
            strcasecmp(h->key, "X-Delete-At") == 0)
            resp_header(r, h->key, h->value);
    }
}

const struct handler_ops object_copy_ops = {.start = copy_start};
