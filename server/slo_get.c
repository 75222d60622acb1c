/* server/slo_get.c: implements the read side of slo.h after Swift 2.30's
 * SloGetContext and handle_multipart_delete: GET/HEAD of a manifest serve
 * the concatenation of its segments (nested manifests expanded, ranges
 * across segment boundaries, multipart/byteranges), with the large
 * object's quoted etag and size; ?multipart-manifest=get serves the
 * manifest itself (format=raw: as it was PUT); ?multipart-manifest=delete
 * deletes every segment, the nested manifests and the manifest, answering
 * in the bulk delete format. */
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
#include "bulk_body.h"
#include "lostream.h"
#include "objops.h"
#include "range.h"
#include "server.h"

/* A stored manifest is at most this big (a PUT caps the input at 8 MiB;
 * the stored form is a little larger). */
#define MANIFEST_READ_MAX (64u << 20)

/* The whole body of an open manifest (rd->body when already read). */
static int read_manifest(const struct object_reader *rd, char **out, size_t *len)
{
    char *b;
    ssize_t got;

    *out = NULL;
    if (rd->meta.size > MANIFEST_READ_MAX)
        return -EFBIG;
    b = xmalloc(rd->meta.size + 1);
    if (rd->body) {
        memcpy(b, rd->body, rd->meta.size);
    } else {
        got = pread(rd->fd, b, rd->meta.size, (off_t)rd->body_offset);
        if (got != (ssize_t)rd->meta.size) {
            free(b);
            return -EIO;
        }
    }
    b[rd->meta.size] = '\0';
    *out = b;
    *len = rd->meta.size;
    return 0;
}

/* "/container/object" split; false when malformed. */
static bool split_name(const char *name, char **cont, char **obj)
{
    const char *slash;

    while (*name == '/')
        name++;
    slash = strchr(name, '/');
    if (!slash || slash == name || !slash[1])
        return false;
    *cont = xstrndup(name, (size_t)(slash - name));
    *obj = xstrdup(slash + 1);
    return true;
}

/* The bytes one manifest entry contributes, and where they start in its
 * segment. */
static uint64_t entry_span(const json_t *e, uint64_t *first)
{
    const json_t *range = json_object_get(e, "range");
    unsigned long long a, b;

    *first = 0;
    if (json_is_string(range) && sscanf(json_string_value(range), "%llu-%llu", &a, &b) == 2 &&
        b >= a) {
        *first = a;
        return b - a + 1;
    }
    return (uint64_t)json_integer_value(json_object_get(e, "bytes"));
}

static int expand(struct server *srv, const char *account, const char *json, size_t len,
                  uint64_t off, uint64_t want, int depth, struct lo_stream *s);

/* A nested manifest: its bytes [off, off + want) are appended. */
static int expand_sub(struct server *srv, const char *account, const char *name, uint64_t off,
                      uint64_t want, int depth, struct lo_stream *s)
{
    struct object_reader rd;
    char *cont = NULL, *obj = NULL, *json = NULL;
    size_t len = 0;
    int rc;

    if (depth >= SLO_MAX_DEPTH)
        return -ELOOP;
    if (!split_name(name, &cont, &obj))
        return -EINVAL;
    rc = objops_open(srv, account, cont, obj, &rd);
    if (rc == 0 && !slo_is_manifest(&rd.meta))
        rc = -EINVAL;
    if (rc == 0)
        rc = read_manifest(&rd, &json, &len);
    object_reader_close(&rd);
    if (rc == 0)
        rc = expand(srv, account, json, len, off, want, depth + 1, s);
    free(json);
    free(cont);
    free(obj);
    return rc;
}

/* One entry (its span [first, first + n) of the segment) into s, limited
 * to [skip, skip + take) of that span. */
static int add_entry(struct server *srv, const char *account, const json_t *e, uint64_t first,
                     uint64_t skip, uint64_t take, int depth, struct lo_stream *s)
{
    const json_t *data = json_object_get(e, "data");
    const char *name = json_string_value(json_object_get(e, "name"));
    char *cont, *obj;

    if (json_is_string(data)) {
        /* stored normalised by the PUT: plain base64 */
        const char *b64 = json_string_value(data);
        size_t n = strlen(b64);
        unsigned char *raw = xmalloc(n / 4 * 3 + 3);
        size_t k = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n && b64[i] != '='; i++) {
            int v = base64_digit_value(b64[i]);
            acc = acc << 6 | (uint32_t)(v < 0 ? 0 : v);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                raw[k++] = (unsigned char)(acc >> bits);
            }
        }
        if (skip + take <= k)
            lo_stream_add_data(s, raw + skip, (size_t)take);
        free(raw);
        return skip + take <= k ? 0 : -EINVAL;
    }
    if (!name)
        return -EINVAL;
    if (json_is_true(json_object_get(e, "sub_slo")))
        return expand_sub(srv, account, name, first + skip, take, depth, s);
    if (!split_name(name, &cont, &obj))
        return -EINVAL;
    lo_stream_add_segment(s, cont, obj, first + skip, take,
                          json_string_value(json_object_get(e, "hash")),
                          (uint64_t)json_integer_value(json_object_get(e, "bytes")));
    free(cont);
    free(obj);
    return 0;
}

/* Append the bytes [off, off + want) of the large object a manifest json
 * describes (want UINT64_MAX: to its end). */
static int expand(struct server *srv, const char *account, const char *json, size_t len,
                  uint64_t off, uint64_t want, int depth, struct lo_stream *s)
{
    json_t *doc = json_loadb(json, len, 0, NULL);
    uint64_t pos = 0;
    size_t i;
    json_t *e;
    int rc = 0;

    if (!json_is_array(doc)) {
        json_decref(doc);
        return -EINVAL;
    }
    json_array_foreach(doc, i, e) {
        uint64_t first, n = entry_span(e, &first);
        const json_t *data = json_object_get(e, "data");

        if (json_is_string(data)) {
            size_t dl = strlen(json_string_value(data));
            size_t pad = dl && json_string_value(data)[dl - 1] == '='
                             ? (dl > 1 && json_string_value(data)[dl - 2] == '=' ? 2 : 1)
                             : 0;
            n = dl / 4 * 3 - pad;
        }
        if (want == 0 || rc != 0)
            break;
        if (pos + n <= off) {
            pos += n;
            continue;
        }
        uint64_t skip = off > pos ? off - pos : 0;
        uint64_t take = MIN(n - skip, want);
        rc = add_entry(srv, account, e, first, skip, take, depth, s);
        want -= take;
        pos += n;
    }
    json_decref(doc);
    return rc;
}

int slo_open(struct server *srv, const char *account, const struct object_reader *rd,
             struct lo_stream **out)
{
    char *json = NULL;
    size_t len;
    int rc = read_manifest(rd, &json, &len);

    *out = lo_stream_new(srv, account);
    if (rc == 0)
        rc = expand(srv, account, json, len, 0, UINT64_MAX, 0, *out);
    free(json);
    if (rc != 0) {
        lo_stream_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- GET / HEAD ---- */

/* convert_segment_listing: the manifest as it was PUT. */
static char *raw_manifest(const char *json, size_t len)
{
    json_t *doc = json_loadb(json, len, 0, NULL), *e, *out = json_array();
    size_t i;
    char *text;

    json_array_foreach(doc, i, e) {
        json_t *o = json_object();
        if (json_object_get(e, "data")) {
            json_object_set(o, "data", json_object_get(e, "data"));
        } else {
            json_object_set(o, "etag", json_object_get(e, "hash"));
            json_object_set(o, "path", json_object_get(e, "name"));
            if (json_object_get(e, "range"))
                json_object_set(o, "range", json_object_get(e, "range"));
            json_object_set(o, "size_bytes", json_object_get(e, "bytes"));
        }
        json_array_append_new(out, o);
    }
    json_decref(doc);
    /* sort_keys=True: the keys above are already in order */
    text = json_dumps(out, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(out);
    return text ? text : xstrdup("[]");
}

/* ?multipart-manifest=get of a manifest. */
static void manifest_get(struct request *r, struct object_reader *rd)
{
    const char *fmt = req_query(r, "format");
    char *json = NULL, *raw, etag[33];
    size_t len;
    int rc = read_manifest(rd, &json, &len);

    if (rc != 0) {
        resp_errno(r, rc);
        return;
    }
    obj_meta_headers(r, &rd->meta);
    resp_header(r, "Accept-Ranges", "bytes");
    if (fmt && strcmp(fmt, "raw") == 0) {
        raw = raw_manifest(json, len);
        md5_hex(raw, strlen(raw), etag);
        resp_text(r, 200, rd->meta.content_type ? rd->meta.content_type
                                                : "application/octet-stream", raw);
        resp_header(r, "Etag", etag);
        free(raw);
    } else {
        resp_text(r, 200, "application/json; charset=utf-8", json);
    }
    free(json);
}

/* The concatenation of manifest rd: true when an answer is set. */
static void large_get(struct request *r, struct object_reader *rd)
{
    const char *etag = kv_get(&rd->meta.headers, SLO_SYSMETA_ETAG);
    const char *size = kv_get(&rd->meta.headers, SLO_SYSMETA_SIZE);
    const char *ctype = rd->meta.content_type ? rd->meta.content_type : "application/octet-stream";
    struct lo_stream *s = NULL;
    int rc;

    obj_meta_headers(r, &rd->meta);
    resp_headerf(r, "Etag", "\"%s\"", etag ? etag : "");
    resp_header(r, "X-Manifest-Etag", rd->meta.etag);
    if (lo_stream_conditional(r, etag ? etag : "", &rd->meta))
        return;
    if (r->method == M_HEAD && size) {
        resp_text(r, 200, ctype, "");
        resp_header(r, "Accept-Ranges", "bytes");
        resp_header(r, "Content-Length", size);
        return;
    }
    rc = slo_open(r->srv, r->account, rd, &s);
    if (rc == 0 && r->method == M_GET)
        rc = lo_stream_check_first(s);
    if (rc != 0) {
        log_error("msg=\"unusable SLO\" tx=%s err=%s", r->trans_id, err_str(rc));
        lo_stream_free(s);
        kv_del(&r->resp_headers, "Etag");
        resp_error(r, 409, NULL);
        return;
    }
    lo_stream_respond(r, s, ctype, true);
}

bool slo_get(struct request *r, struct object_reader *rd)
{
    const char *mm = req_query(r, "multipart-manifest");

    if (!slo_is_manifest(&rd->meta))
        return false;
    if (mm && strcmp(mm, "get") == 0)
        manifest_get(r, rd);
    else
        large_get(r, rd);
    return true;
}

/* ---- POST ---- */

void slo_post_keep(const struct kv_list *old, struct kv_list *new_headers,
                   const char *new_ctype)
{
    const char *size = kv_get(old, SLO_SYSMETA_SIZE);

    for (size_t i = 0; i < old->n; i++) {
        const struct kv *h = &old->items[i];
        if (strcasecmp(h->key, "X-Static-Large-Object") == 0 ||
            strncasecmp(h->key, "X-Object-Sysmeta-", 17) == 0)
            kv_set(new_headers, h->key, h->value);
    }
    if (new_ctype && size && kv_get(old, OBJOPS_OVERRIDE_CTYPE)) {
        char *v = xasprintf("%s;swift_bytes=%s", new_ctype, size);
        kv_set(new_headers, OBJOPS_OVERRIDE_CTYPE, v);
        free(v);
    }
}

/* ---- DELETE ?multipart-manifest=delete ---- */

struct del_item {
    char *name;          /* "/container/object" */
    bool sub_slo;        /* a manifest whose segments go first */
    int err_code;        /* 0, or why it cannot be deleted */
    const char *err_msg;
};

struct del_queue {
    struct del_item *it;
    size_t head, n, alloc;
};

static void queue_push(struct del_queue *q, const char *name, bool sub_slo)
{
    if (q->n == q->alloc) {
        q->alloc = q->alloc ? 2 * q->alloc : 32;
        q->it = xrealloc(q->it, q->alloc * sizeof(*q->it));
    }
    q->it[q->n++] = (struct del_item){xstrdup(name), sub_slo, 0, NULL};
}

/* get_slo_segments: queue the entries of manifest it (0), or set its error. */
static void queue_segments(struct request *r, struct del_queue *q, struct del_item *it)
{
    struct object_reader rd;
    char *cont = NULL, *obj = NULL, *json = NULL;
    size_t len, i;
    json_t *doc = NULL, *e;
    int rc = split_name(it->name, &cont, &obj) ? 0 : -ENOENT;

    if (rc == 0)
        rc = objops_open(r->srv, r->account, cont, obj, &rd);
    else
        object_meta_init(&rd.meta), rd.fd = -1, rd.body = NULL;
    if (rc == -ENOENT) {
        it->err_code = 404;
        it->err_msg = "SLO manifest not found";
    } else if (rc != 0) {
        it->err_code = 500;
        it->err_msg = "Unable to load SLO manifest or segment.";
    } else if (!slo_is_manifest(&rd.meta)) {
        it->err_code = 400;
        it->err_msg = "Not an SLO manifest";
    } else if (read_manifest(&rd, &json, &len) != 0 ||
               !(doc = json_loadb(json, len, 0, NULL)) || !json_is_array(doc)) {
        it->err_code = 500;
        it->err_msg = "Unable to load SLO manifest";
    } else {
        json_array_foreach(doc, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            if (name)   /* inline data has nothing to delete */
                queue_push(q, name, json_is_true(json_object_get(e, "sub_slo")));
        }
    }
    json_decref(doc);   /* NULL is a no-op */
    object_reader_close(&rd);
    free(json);
    free(cont);
    free(obj);
}

struct del_result {
    long long deleted, not_found;
    const char *status;          /* "Response Status" */
    const char *body;            /* "Response Body" */
    struct bulk_errors failed;
};

static void add_failed(struct del_result *res, const char *name, const char *status)
{
    bulk_errors_quote(&res->failed, name, strlen(name), status);
}

/* Delete one item (not a pending manifest). */
static void delete_item(struct request *r, struct del_result *res, const struct del_item *it,
                        bool *bad_gateway)
{
    char *cont, *obj;
    int rc;

    if (it->err_code == 404) {
        res->not_found++;
        return;
    }
    if (it->err_code) {
        add_failed(res, it->name, it->err_msg);
        return;
    }
    if (!split_name(it->name, &cont, &obj)) {
        res->not_found++;
        return;
    }
    rc = objops_delete(r->srv, r->account, cont, obj);
    if (rc == 0) {
        res->deleted++;
    } else if (rc == -ENOENT) {
        res->not_found++;
    } else {
        add_failed(res, it->name, rc == ERR_QUORUM ? "503 Service Unavailable"
                                                   : "500 Internal Error");
        *bad_gateway = true;
    }
    free(cont);
    free(obj);
}

/* get_segments_to_delete_iter + handle_delete_iter. */
static void run_delete(struct request *r, struct del_result *res)
{
    struct del_queue q = {0};
    bool bad_gateway = false;
    char *self = xasprintf("/%s/%s", r->container, r->object);

    queue_push(&q, self, true);
    free(self);
    while (q.head < q.n) {
        struct del_item it;
        if (q.n - q.head > (size_t)SLO_MAX_SEGMENTS * 10) {
            res->status = "400 Bad Request";
            res->body = "Too many buffered slo segments to delete.";
            break;
        }
        it = q.it[q.head++];
        if (it.sub_slo) {
            /* its segments first, then the manifest itself */
            queue_segments(r, &q, &it);
            it.sub_slo = false;
            queue_push(&q, it.name, false);
            q.it[q.n - 1].err_code = it.err_code;
            q.it[q.n - 1].err_msg = it.err_msg;
        } else {
            delete_item(r, res, &it, &bad_gateway);
        }
        free(it.name);
    }
    for (; q.head < q.n; q.head++)
        free(q.it[q.head].name);
    free(q.it);
    if (res->body)
        return;
    if (res->failed.n)
        res->status = bad_gateway ? "502 Bad Gateway" : "400 Bad Request";
    else if (!res->deleted && !res->not_found) {
        res->status = "400 Bad Request";
        res->body = "Invalid bulk delete.";
    }
}

static enum step delete_work(struct request *r)
{
    const char *fmt = r->state;
    struct del_result res = {0, 0, "200 OK", NULL, {0}};
    struct buf b = BUF_INIT;

    if (fmt)
        run_delete(r, &res);
    else
        res.status = "406 Not Acceptable";
    struct bulk_field f[] = {
        {"Response Status", res.status, 0},
        {"Response Body", res.body ? res.body : "", 0},
        {"Number Deleted", NULL, res.deleted},
        {"Number Not Found", NULL, res.not_found},
    };
    if (bulk_body_render(&b, fmt, f, ARRAY_SIZE(f), res.failed.v, res.failed.n, "delete") != 0)
        abort();   /* uncapped buffer */
    resp_text(r, 200, bulk_body_content_type(fmt), b.data);
    buf_release(&b);
    bulk_errors_release(&res.failed);
    r->state = NULL;
    return STEP_RESPOND;
}

enum step slo_delete_start(struct request *r)
{
    const char *fmt = NULL;

    if (bulk_body_format(req_header(r, "Accept"), &fmt) != 0)
        fmt = NULL;   /* Swift ignores a malformed Accept: 406 in the body */
    r->state = (void *)fmt;   /* a static string: no state_free */
    req_defer(r, delete_work);
    return STEP_DEFER;
}
