/* server/slo.c: implements the SLO manifest PUT of slo.h, after Swift
 * 2.30's handle_multipart_put: the body is validated (slo_parse.c), every
 * segment is looked at (HEAD, through the SLO view so a nested manifest
 * reports its total size and etag), problems are reported in the bulk
 * result format, and the manifest is stored in Swift's JSON with the large
 * object's etag and size in sysmeta. With heartbeat=on the answer is "202 Accepted" at once, a
 * space, and the real status in the result body. */
#include "slo.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "bulk_body.h"
#include "objops.h"
#include "range.h"
#include "server.h"

#define HTML "text/html; charset=UTF-8"

/* ------------------------------------------------------------------ */
/* PUT ?multipart-manifest=put (handle_multipart_put)                  */

bool slo_is_manifest(const struct object_meta *m)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    const char *v = kv_get(&m->headers, "X-Static-Large-Object");

    for (size_t i = 0; v && i < ARRAY_SIZE(yes); i++)
        if (strcasecmp(v, yes[i]) == 0)
            return true;
    return false;
}

struct slo_put {
    struct obj_put *put;              /* object.c's write: checks done, writer open */
    void (*put_free)(void *);
    struct buf body;                  /* the manifest as sent (capped) */
    struct slo_input *in;
    size_t n;
    const char *fmt;                  /* result format */
    bool heartbeat;
    char client_etag[33];             /* "" when none */
    bool client_etag_bad;
    /* heartbeat: the result, after a leading space */
    struct buf result;
    bool built;
};

static void slo_put_free(void *p)
{
    struct slo_put *sp = p;

    sp->put_free(sp->put);
    buf_release(&sp->body);
    buf_release(&sp->result);
    slo_input_free(sp->in, sp->n);
    free(sp);
}

/* What the manifest PUT came to, for either way of answering. */
struct slo_result {
    int status;                       /* 201, 400, 422, or an error status */
    const char *status_line;          /* "201 Created" */
    struct bulk_errors problems;
    char etag[35];                    /* quoted slo etag */
    char last_modified[HTTP_DATE_LEN];
};

static void add_problem(struct slo_result *res, const char *path, const char *status)
{
    bulk_errors_quote(&res->problems, path, strlen(path), status);
}

/* The status line Swift would give an error code. */
static const char *status_line(int rc)
{
    switch (rc) {
    case -ENOENT:
    case ERR_DELETED:
        return "404 Not Found";
    case ERR_QUORUM:
        return "503 Service Unavailable";
    case -ENOSPC:
        return "507 Insufficient Storage";
    default:
        return "500 Internal Error";
    }
}

static int status_of_line(const char *line)
{
    return atoi(line);
}

/* A segment as a HEAD through the SLO view sees it. */
struct seg_head {
    uint64_t size;
    char etag[33];
    bool sub_slo;
    char *content_type;
    char last_modified[32];   /* "%Y-%m-%dT%H:%M:%S.000000" */
};

static int head_segment(struct server *srv, const char *account, const char *path,
                        struct seg_head *h)
{
    struct object_meta m;
    char *cont, *obj;
    const char *slash;
    int rc;

    while (*path == '/')
        path++;
    slash = strchr(path, '/');
    cont = xstrndup(path, (size_t)(slash - path));
    obj = xstrdup(slash + 1);
    rc = objops_stat(srv, account, cont, obj, &m);
    if (rc == 0) {
        const char *e = kv_get(&m.headers, SLO_SYSMETA_ETAG);
        const char *sz = kv_get(&m.headers, SLO_SYSMETA_SIZE);
        time_t t = ts_to_time_ceil(m.meta_timestamp);
        struct tm tm;

        h->sub_slo = slo_is_manifest(&m) && e && sz;
        h->size = h->sub_slo ? strtoull(sz, NULL, 10) : m.size;
        snprintf(h->etag, sizeof(h->etag), "%s", h->sub_slo ? e : m.etag);
        h->content_type = xstrdup(m.content_type ? m.content_type : "application/octet-stream");
        gmtime_r(&t, &tm);
        strftime(h->last_modified, sizeof(h->last_modified), "%Y-%m-%dT%H:%M:%S.000000", &tm);
    }
    object_meta_release(&m);
    free(cont);
    free(obj);
    return rc;
}

static char *b64encode(const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* validate_seg_dict: one path segment against its HEAD. Returns its
 * stored entry; *len is the bytes it contributes. */
static json_t *validate_segment(struct slo_result *res, const struct slo_input *in, bool last,
                                const struct seg_head *h, uint64_t *len)
{
    uint64_t a = 0, b = 0;
    char range[48] = "";
    const char *p = in->path;
    char *name;
    json_t *e;

    *len = h->size;
    if (in->range) {
        int cnt = slo_range_resolve(in->range, h->size, &a, &b);
        if (cnt < 1)
            add_problem(res, in->path, "Unsatisfiable Range");
        else if (!(a == 0 && b == h->size)) {
            snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)a,
                     (unsigned long long)(b - 1));
            *len = b - a;
        }
    }
    if (*len < SLO_MIN_SEGMENT_SIZE && !last)
        add_problem(res, in->path, "Too small; each segment must be at least 1 byte.");
    if (in->has_size && (in->size < 0 || (uint64_t)in->size != h->size))
        add_problem(res, in->path, "Size Mismatch");
    if (in->etag && strcmp(in->etag, h->etag) != 0)
        add_problem(res, in->path, "Etag Mismatch");
    while (*p == '/')
        p++;
    name = xasprintf("/%s", p);
    e = json_object();
    json_object_set_new(e, "name", json_string(name));
    free(name);
    json_object_set_new(e, "bytes", json_integer((json_int_t)h->size));
    json_object_set_new(e, "hash", json_string(h->etag));
    json_object_set_new(e, "content_type", json_string(h->content_type));
    json_object_set_new(e, "last_modified", json_string(h->last_modified));
    if (range[0])
        json_object_set_new(e, "range", json_string(range));
    if (h->sub_slo)
        json_object_set_new(e, "sub_slo", json_true());
    return e;
}

/* The large object's etag: MD5 over each entry's part (inline data: the
 * MD5 of its bytes; a range: "<hash>:<range>;"). */
static void slo_etag_of(const json_t *doc, const struct slo_input *in, char out[33])
{
    struct md5 *md5 = md5_new();
    uint8_t raw[16];
    char hex[33];
    size_t i;
    json_t *e;

    json_array_foreach(doc, i, e) {
        const json_t *range = json_object_get(e, "range");
        const char *hash = json_string_value(json_object_get(e, "hash"));
        if (!in[i].path) {
            md5_hex(in[i].data, in[i].data_len, hex);
            md5_update(md5, hex, 32);
        } else if (range) {
            char *part = xasprintf("%s:%s;", hash, json_string_value(range));
            md5_update(md5, part, strlen(part));
            free(part);
        } else {
            md5_update(md5, hash, strlen(hash));
        }
    }
    md5_final(md5, raw);
    md5_free(md5);
    hex_encode(raw, 16, out);
}

/* Store the manifest json (the validated segments) as the object. */
static int store_manifest(struct request *r, struct slo_put *sp, const char *json,
                          const char *slo_etag, uint64_t total)
{
    struct obj_put *st = sp->put;
    char md5json[33], *v;
    int rc;

    md5_hex(json, strlen(json), md5json);
    rc = object_writer_write(st->w, json, strlen(json));
    if (rc != 0) {
        object_writer_abort(st->w);
        st->w = NULL;
        return rc;
    }
    kv_set(&st->meta.headers, "X-Static-Large-Object", "True");
    kv_set(&st->meta.headers, SLO_SYSMETA_ETAG, slo_etag);
    v = xasprintf("%llu", (unsigned long long)total);
    kv_set(&st->meta.headers, SLO_SYSMETA_SIZE, v);
    free(v);
    v = xasprintf("%s; slo_etag=%s", md5json, slo_etag);
    kv_set(&st->meta.headers, OBJOPS_OVERRIDE_ETAG, v);
    free(v);
    v = xasprintf("%s;swift_bytes=%llu", st->meta.content_type, (unsigned long long)total);
    kv_set(&st->meta.headers, OBJOPS_OVERRIDE_CTYPE, v);
    free(v);
    rc = objops_commit_writer(r->srv, &st->pl, st->account, st->container, st->object, st->ts,
                              st->w, &st->meta, md5json);
    st->w = NULL;   /* consumed */
    return rc;
}

/* HEAD each distinct segment once and validate every index that names
 * it (Swift's path2indices: problems are reported path by path). */
static uint64_t head_all(struct request *r, struct slo_put *sp, struct slo_result *res,
                         json_t **entries)
{
    uint64_t total = 0, len;

    for (size_t i = 0; i < sp->n; i++) {
        struct seg_head h = {0};
        bool seen = false;
        int rc;

        if (!sp->in[i].path) {
            char *enc = b64encode(sp->in[i].data, sp->in[i].data_len);
            entries[i] = json_pack("{s:s}", "data", enc);
            free(enc);
            total += sp->in[i].data_len;
            continue;
        }
        for (size_t j = 0; j < i && !seen; j++)
            seen = sp->in[j].path && strcmp(sp->in[j].path, sp->in[i].path) == 0;
        if (seen)
            continue;
        rc = head_segment(r->srv, r->account, sp->in[i].path, &h);
        for (size_t j = i; j < sp->n; j++) {
            if (!sp->in[j].path || strcmp(sp->in[j].path, sp->in[i].path) != 0)
                continue;
            if (rc != 0) {
                add_problem(res, sp->in[j].path, status_line(rc));
                continue;
            }
            entries[j] = validate_segment(res, &sp->in[j], j == sp->n - 1, &h, &len);
            total += len;
        }
        free(h.content_type);
    }
    return total;
}

/* HEAD every segment, validate, store: fills res. */
static void build_manifest(struct request *r, struct slo_put *sp, struct slo_result *res)
{
    json_t **entries = xcalloc(sp->n + 1, sizeof(*entries));
    json_t *doc = json_array();
    uint64_t total = head_all(r, sp, res, entries);
    char slo_etag[33];
    char *json;
    int rc;

    for (size_t i = 0; i < sp->n; i++)
        json_array_append_new(doc, entries[i] ? entries[i] : json_null());
    free(entries);
    if (res->problems.n) {
        res->status = 400;
        res->status_line = "400 Bad Request";
        json_decref(doc);
        return;
    }
    slo_etag_of(doc, sp->in, slo_etag);
    snprintf(res->etag, sizeof(res->etag), "\"%s\"", slo_etag);
    if (sp->client_etag_bad || (sp->client_etag[0] && strcmp(sp->client_etag, slo_etag))) {
        res->status = 422;
        res->status_line = "422 Unprocessable Entity";
        json_decref(doc);
        return;
    }
    json = slo_json_dumps(doc);
    rc = store_manifest(r, sp, json, slo_etag, total);
    free(json);
    res->status_line = rc ? status_line(rc) : "201 Created";
    res->status = status_of_line(res->status_line);
    http_date(ts_to_time_ceil(sp->put->ts), res->last_modified);
}

/* The heartbeat's final body (after the 202 and the spaces). */
static void render_heartbeat(struct slo_put *sp, const struct slo_result *res)
{
    struct bulk_field f[4];
    size_t n = 0;

    f[n++] = (struct bulk_field){"Response Status", res->status_line, 0};
    if (res->status == 201) {
        f[n++] = (struct bulk_field){"Etag", res->etag, 0};
        f[n++] = (struct bulk_field){"Last Modified", res->last_modified, 0};
        f[n++] = (struct bulk_field){"Response Body", "", 0};
    } else if (res->status == 400) {
        f[n++] = (struct bulk_field){"Response Body",
                                     "Bad Request\nThe server could not comply with the request "
                                     "since it is either malformed or otherwise incorrect.",
                                     0};
    } else if (res->status == 422) {
        f[n++] = (struct bulk_field){"Response Body",
                                     "Unprocessable Entity\nUnable to process the contained "
                                     "instructions",
                                     0};
    } else {
        f[n++] = (struct bulk_field){"Response Body", "", 0};
    }
    if (buf_appends(&sp->result, "\r\n\r\n") != 0 ||
        bulk_body_render(&sp->result, sp->fmt, f, n, res->problems.v, res->problems.n, "upload"))
        abort();   /* uncapped buffer */
}

static ssize_t heartbeat_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct request *r = ctx;
    struct slo_put *sp = r->state;

    if (pos == 0) {
        buf[0] = ' ';   /* sent at once: the client knows the PUT is alive */
        return 1;
    }
    if (!sp->built) {
        struct slo_result res = {0};
        build_manifest(r, sp, &res);
        render_heartbeat(sp, &res);
        bulk_errors_release(&res.problems);
        sp->built = true;
    }
    if (pos - 1 >= sp->result.len)
        return 0;
    size_t n = (size_t)MIN((uint64_t)max, sp->result.len - (pos - 1));
    memcpy(buf, sp->result.data + (pos - 1), n);
    return (ssize_t)n;
}

static enum step put_work(struct request *r)
{
    struct slo_put *sp = r->state;
    struct slo_result res = {0};

    build_manifest(r, sp, &res);
    if (res.status == 201) {
        resp_text(r, 201, HTML, "");
        resp_header(r, "Etag", res.etag);
        resp_header(r, "Last-Modified", res.last_modified);
    } else if (res.status == 400) {
        struct buf b = BUF_INIT;
        if (bulk_body_render(&b, sp->fmt, NULL, 0, res.problems.v, res.problems.n, "upload"))
            abort();   /* uncapped buffer */
        resp_text(r, 400, sp->fmt, b.data);
        buf_release(&b);
    } else {
        resp_error(r, res.status, NULL);
    }
    bulk_errors_release(&res.problems);
    return STEP_RESPOND;
}

enum step slo_put_body(struct request *r, const char *p, size_t n)
{
    struct slo_put *sp = r->state;
    size_t room = SLO_MAX_MANIFEST_SIZE - sp->body.len;

    /* Swift reads max_manifest_size bytes and ignores the rest */
    if (buf_append(&sp->body, p, MIN(n, room)) != 0)
        abort();   /* capped by the MIN above */
    return STEP_BODY;
}

enum step slo_put_end(struct request *r)
{
    struct slo_put *sp = r->state;
    struct buf err = BUF_INIT;
    size_t paths = 0;

    if (slo_parse_input(sp->body.data, sp->body.len, r->container, r->object, &sp->in, &sp->n,
                        &err) != 0) {
        resp_text(r, 400, "text/plain", err.data);
        buf_release(&err);
        return STEP_RESPOND;
    }
    buf_release(&err);
    for (size_t i = 0; i < sp->n; i++)
        paths += sp->in[i].path != NULL;
    if (paths > SLO_MAX_SEGMENTS) {
        resp_error(r, 413, "Number of object-backed segments must be <= 1000");
        return STEP_RESPOND;
    }
    if (!sp->heartbeat) {
        req_defer(r, put_work);
        return STEP_DEFER;
    }
    r->status = 202;   /* NB: not 201, the result is in the body */
    resp_header(r, "Content-Type", sp->fmt);
    r->stream_read = heartbeat_read;
    r->stream_ctx = r;
    r->stream_len = UINT64_MAX;
    return STEP_RESPOND;
}

/* "Destination"-style "<container>/<object>", leading '/' optional. */
static bool split_source(const char *v, char **cont, char **obj)
{
    const char *slash;

    while (*v == '/')
        v++;
    slash = strchr(v, '/');
    if (!slash || slash == v || !slash[1])
        return false;
    *cont = xstrndup(v, (size_t)(slash - v));
    *obj = xstrdup(slash + 1);
    return true;
}

/* PUT ?multipart-manifest=put with X-Copy-From: Swift's copy middleware
 * runs first, so the source's body is the manifest the SLO code reads. */
static enum step copy_from_manifest(struct request *r, struct slo_put *sp)
{
    struct object_reader rd;
    char *cont = NULL, *obj = NULL;
    uint64_t n;
    ssize_t got;
    int rc;

    if (r->has_length && r->content_length > 0) {
        resp_text(r, 400, "text/plain", "Copy requests require a zero byte body");
        return STEP_RESPOND;
    }
    if (!split_source(req_header(r, "X-Copy-From"), &cont, &obj)) {
        resp_error(r, 412, "X-Copy-From header must be of the form <container name>/<object name>");
        return STEP_RESPOND;
    }
    rc = objops_open(r->srv, r->account, cont, obj, &rd);
    n = rc == 0 ? MIN(rd.meta.size, (uint64_t)SLO_MAX_MANIFEST_SIZE) : 0;
    if (rc == 0) {
        char *b = xmalloc(n + 1);
        got = pread(rd.fd, b, n, (off_t)rd.body_offset);
        rc = got == (ssize_t)n && buf_append(&sp->body, b, n) == 0 ? 0 : -EIO;
        free(b);
        /* copy.py sends the source's ETag along, checked against the SLO's */
        memcpy(sp->client_etag, rd.meta.etag, sizeof(sp->client_etag));
    }
    object_reader_close(&rd);
    free(cont);
    free(obj);
    if (rc != 0) {
        resp_errno(r, rc);
        return STEP_RESPOND;
    }
    return slo_put_end(r);
}

enum step slo_put_start(struct request *r)
{
    const char *hb = req_query(r, "heartbeat");
    struct slo_put *sp;
    struct obj_put *st;

    if (!r->has_length && !r->chunked && !req_header(r, "X-Copy-From")) {
        resp_error(r, 411, NULL);
        return STEP_RESPOND;
    }
    if (r->has_length && r->content_length > SLO_MAX_MANIFEST_SIZE) {
        resp_error(r, 413, "Manifest File > 8388608 bytes");
        return STEP_RESPOND;
    }
    st = obj_put_new(r, r->account, r->container, r->object);
    sp = xcalloc(1, sizeof(*sp));
    sp->put = st;
    sp->put_free = r->state_free;
    buf_init(&sp->body, SLO_MAX_MANIFEST_SIZE);
    buf_init(&sp->result, 0);
    r->state = sp;
    r->state_free = slo_put_free;
    if (!obj_put_prepare(r, st, NULL, NULL))
        return STEP_RESPOND;
    /* The ETag a client sends is the large object's, not the manifest's. */
    memcpy(sp->client_etag, st->expect_etag, sizeof(sp->client_etag));
    sp->client_etag_bad = st->etag_bad;
    st->expect_etag[0] = '\0';
    st->etag_bad = false;
    if (bulk_body_format(req_header(r, "Accept"), &sp->fmt) != 0 || !sp->fmt)
        sp->fmt = "text/plain";
    sp->heartbeat = hb && (strcasecmp(hb, "true") == 0 || strcmp(hb, "1") == 0 ||
                           strcasecmp(hb, "yes") == 0 || strcasecmp(hb, "on") == 0 ||
                           strcasecmp(hb, "t") == 0 || strcasecmp(hb, "y") == 0);
    if (req_header(r, "X-Copy-From"))
        return copy_from_manifest(r, sp);
    return STEP_BODY;
}

bool slo_put_active(const struct request *r)
{
    return r->state_free == slo_put_free;
}
