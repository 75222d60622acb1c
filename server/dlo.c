/* server/dlo.c: implements dynamic large objects (dlo.h) after Swift
 * 2.30's dlo.py, and the copy of a large object (copy.py: the source is
 * read through the SLO and DLO views). The segment listing is paged
 * (container_listing_limit entries a page) and kept as names, sizes and
 * etags only; the bodies stream through lostream.h. */
#include "dlo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "objops.h"
#include "path.h"
#include "range.h"
#include "server.h"
#include "slo.h"

/* Pages of a segment listing followed at most (10,000 entries each). */
#define DLO_MAX_PAGES 10000

bool dlo_put_check(struct request *r)
{
    const char *v = req_header(r, "X-Object-Manifest");
    const char *slash;

    if (!v)
        return true;
    slash = strchr(v, '/');
    if (slash && slash > v && slash[1] && slash[1] != '/' && !strchr(v, '?') && !strchr(v, '&'))
        return true;
    resp_error(r, 400, "X-Object-Manifest must be in the format container/prefix");
    return false;
}

/* wsgi_unquote: %XX decoded ('+' stays), a bad escape kept as is. */
static char *unquote(const char *s)
{
    return percent_decode(s, strlen(s), false, NULL);
}

struct seg_list {
    char **name;
    uint64_t *bytes;
    size_t n, alloc;
    struct md5 *md5;
    char *last;           /* the page's last name: the next marker */
};

static int collect(void *ctx, const struct list_entry *e)
{
    struct seg_list *l = ctx;

    if (e->is_subdir)
        return 0;
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 64;
        l->name = xrealloc(l->name, l->alloc * sizeof(*l->name));
        l->bytes = xrealloc(l->bytes, l->alloc * sizeof(*l->bytes));
    }
    l->name[l->n] = xstrdup(e->name);
    l->bytes[l->n] = e->bytes;
    l->n++;
    free(l->last);
    l->last = xstrdup(e->name);
    if (e->etag) {
        /* normalize_etag: one pair of quotes off */
        size_t n = strlen(e->etag);
        const char *p = e->etag;
        if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
            p++;
            n -= 2;
        }
        md5_update(l->md5, p, n);
    }
    return 0;
}

int dlo_open(struct server *srv, const char *account, const char *manifest,
             struct lo_stream **out, char etag[33])
{
    char *v = unquote(manifest), *slash = strchr(v, '/');
    struct seg_list l = {0};
    struct list_query q = {0};
    unsigned limit = srv->cfg->container_listing_limit;
    size_t pages = 0, before;
    uint8_t raw[16];
    int rc = 0;

    *out = NULL;
    etag[0] = '\0';
    if (!slash || slash == v) {
        free(v);
        return -EINVAL;
    }
    *slash = '\0';
    l.md5 = md5_new();
    q.prefix = slash + 1;
    q.limit = limit;
    do {
        before = l.n;
        q.marker = l.last;
        rc = objops_list(srv, account, v, &q, collect, &l);
    } while (rc == 0 && l.n - before >= limit && ++pages < DLO_MAX_PAGES);
    md5_final(l.md5, raw);
    md5_free(l.md5);
    if (rc == 0) {
        if (l.n < limit)
            hex_encode(raw, 16, etag);
        *out = lo_stream_new(srv, account);
        for (size_t i = 0; i < l.n; i++)
            lo_stream_add_segment(*out, v, l.name[i], 0, l.bytes[i], NULL, UINT64_MAX);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.name[i]);
    free(l.name);
    free(l.bytes);
    free(l.last);
    free(v);
    return rc;
}

bool dlo_get(struct request *r, struct object_reader *rd)
{
    const char *manifest = kv_get(&rd->meta.headers, "X-Object-Manifest");
    const char *mm = req_query(r, "multipart-manifest");
    const char *ctype = rd->meta.content_type ? rd->meta.content_type : "application/octet-stream";
    struct lo_stream *s;
    char etag[33];
    int rc;

    if (!manifest || (mm && strcmp(mm, "get") == 0))
        return false;
    rc = dlo_open(r->srv, r->account, manifest, &s, etag);
    if (rc == -ENOENT || rc == -EINVAL) {
        obj_fail(r, 404);
        return true;
    }
    if (rc != 0) {
        resp_errno(r, rc);
        return true;
    }
    obj_meta_headers(r, &rd->meta);
    if (etag[0])
        resp_headerf(r, "Etag", "\"%s\"", etag);
    if (lo_stream_conditional(r, etag[0] ? etag : rd->meta.etag, &rd->meta)) {
        lo_stream_free(s);
        return true;
    }
    if (r->method == M_GET && lo_stream_check_first(s) != 0) {
        lo_stream_free(s);
        kv_del(&r->resp_headers, "Etag");
        resp_error(r, 409, NULL);
        return true;
    }
    r->head_only = r->method == M_HEAD;
    lo_stream_respond(r, s, ctype, false);
    return true;
}

/* ---- copy ---- */

/* Strip what makes the copy a manifest (copy.py's exclude_headers). */
static void drop_manifest_headers(struct kv_list *h)
{
    static const char *const drop[] = {"X-Static-Large-Object", "X-Object-Manifest",
                                       SLO_SYSMETA_ETAG, SLO_SYSMETA_SIZE,
                                       OBJOPS_OVERRIDE_ETAG, OBJOPS_OVERRIDE_CTYPE};
    for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
        kv_del(h, drop[i]);
}

bool lo_copy_source(struct request *r, struct obj_put *st, const char *src_account)
{
    const char *mm = req_query(r, "multipart-manifest");
    const char *manifest = kv_get(&st->src.meta.headers, "X-Object-Manifest");
    struct lo_stream *s = NULL;
    char etag[33];
    int rc;

    if (mm && strcmp(mm, "get") == 0)
        return true;   /* the manifest itself */
    if (slo_is_manifest(&st->src.meta))
        rc = slo_open(r->srv, src_account, &st->src, &s);
    else if (manifest)
        rc = dlo_open(r->srv, src_account, manifest, &s, etag);
    else
        return true;
    if (rc == 0 && lo_stream_len(s) > r->srv->cfg->max_file_size) {
        lo_stream_free(s);
        resp_text(r, 413, "text/plain", "Your request is too large.");
        return false;
    }
    if (rc != 0) {
        lo_stream_free(s);
        resp_errno(r, rc == -EINVAL ? -ENOENT : rc);
        return false;
    }
    st->lo_src = s;
    st->src.meta.size = lo_stream_len(s);
    st->src.meta.etag[0] = '\0';   /* the copy's MD5 is only known as it is written */
    drop_manifest_headers(&st->src.meta.headers);
    return true;
}
