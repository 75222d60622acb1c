/* server/objops.c: implements in-server object and container operations
 * (server/objops.h) on the same storage steps the HTTP handlers take. */
#include "objops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "../replication/expirer.h"
#include "../storage/pending.h"
#include "constraints.h"
#include "mime.h"
#include "range.h"

struct objops_put {
    struct server *srv;
    char *account, *container, *object;
    struct placement pl;
    int64_t ts;
    struct object_writer *w;
};

static void locate(struct server *srv, enum item_kind kind, const char *account,
                   const char *container, const char *object, struct placement *pl)
{
    cluster_locate(srv->cluster, kind, account, container, object, pl);
}

static bool expired(const struct object_meta *m)
{
    int64_t at = objops_delete_at(&m->headers);
    return at && at <= (int64_t)time(NULL);
}

int64_t objops_delete_at(const struct kv_list *headers)
{
    const char *v = kv_get(headers, "X-Delete-At");
    int64_t at;

    return v && py_int(v, strlen(v), &at) && at > 0 ? at : 0;
}

/* An open or stat's result as the handlers see it: a tombstone or an
 * expired object is -ENOENT. */
static int live(int rc, const struct object_meta *m)
{
    return rc == ERR_DELETED || (rc == 0 && expired(m)) ? -ENOENT : rc;
}

int objops_open(struct server *srv, const char *account, const char *container,
                const char *object, struct object_reader *rd)
{
    struct placement pl;

    locate(srv, ITEM_OBJECT, account, container, object, &pl);
    return live(object_open(rd, &pl), &rd->meta);
}

int objops_stat(struct server *srv, const char *account, const char *container,
                const char *object, struct object_meta *m)
{
    struct placement pl;

    locate(srv, ITEM_OBJECT, account, container, object, &pl);
    return live(object_stat(m, &pl), m);
}

int objops_delete(struct server *srv, const char *account, const char *container,
                  const char *object)
{
    struct placement pl, cpl, apl;
    struct object_meta m;
    struct pending_note note;
    int64_t ts = ts_now();
    bool journaled = false;
    char *name;
    int rc;

    rc = objops_stat(srv, account, container, object, &m);
    object_meta_release(&m);
    if (rc != 0)
        return rc;
    locate(srv, ITEM_OBJECT, account, container, object, &pl);
    pending_note(srv->pending, &pl, ts, account, container, object, &note);
    name = xasprintf("/%s/%s/%s", account, container, object);
    rc = object_delete(&pl, name, ts, &journaled);
    free(name);
    if (rc == 0) {
        locate(srv, ITEM_CONTAINER, account, container, NULL, &cpl);
        locate(srv, ITEM_ACCOUNT, account, NULL, NULL, &apl);
        rc = db_object_delete(srv->db, &cpl, &apl, container, object, ts, journaled);
        if (rc == -ENOENT)
            rc = 0;   /* the container went away: nothing left to list */
    }
    pending_clear(&note);
    return rc;
}

int objops_queue_expiry(struct server *srv, const char *account, const char *container,
                        const char *object, int64_t old_at, int64_t new_at, int64_t ts)
{
    int rc = 0;

    if (new_at && new_at != old_at)
        rc = expirer_queue_add(srv->cluster, srv->db, new_at, account, container, object, ts);
    if (rc == 0 && old_at && old_at != new_at)
        rc = expirer_queue_remove(srv->cluster, srv->db, old_at, account, container, object, ts);
    return rc;
}

/* What the listing shows instead of the body's type and MD5 (Swift's
 * container update override sysmeta; an SLO manifest's total size and
 * slo_etag ride on them). */
const char *objops_listed_ctype(const struct object_meta *m)
{
    const char *v = kv_get(&m->headers, OBJOPS_OVERRIDE_CTYPE);
    return v ? v : m->content_type;
}

const char *objops_listed_etag(const struct object_meta *m)
{
    const char *v = kv_get(&m->headers, OBJOPS_OVERRIDE_ETAG);
    return v ? v : m->etag;
}

int objops_commit_writer(struct server *srv, const struct placement *pl, const char *account,
                         const char *container, const char *object, int64_t ts,
                         struct object_writer *w, struct object_meta *meta,
                         const char *expect_etag)
{
    struct placement cpl, apl;
    struct pending_note note;
    int64_t delete_at = objops_delete_at(&meta->headers);
    bool journaled = false;
    int rc;

    /* Noted before the files get their names, cleared once listed. */
    pending_note(srv->pending, pl, ts, account, container, object, &note);
    rc = object_writer_commit(w, meta, expect_etag, &journaled);
    if (rc == 0) {
        locate(srv, ITEM_CONTAINER, account, container, NULL, &cpl);
        locate(srv, ITEM_ACCOUNT, account, NULL, NULL, &apl);
        rc = db_object_put(srv->db, &cpl, &apl, container, object, ts, meta->size,
                           objops_listed_ctype(meta), objops_listed_etag(meta), journaled);
    }
    /* A PUT does not look up what it replaces (old_at 0): the expirer
     * drops an entry whose object no longer carries its time. */
    if (rc == 0 && delete_at)
        rc = objops_queue_expiry(srv, account, container, object, 0, delete_at, ts);
    pending_clear(&note);   /* listed and queued: a crash has nothing to redo */
    return rc;
}

int objops_put_open(struct objops_put **out, struct server *srv, const char *account,
                    const char *container, const char *object, int64_t ts)
{
    struct container_stat cs;
    struct objops_put *p;
    char *name;
    int rc;

    *out = NULL;
    rc = objops_container_stat(srv, account, container, &cs);
    container_stat_release(&cs);
    if (rc != 0)
        return rc;
    p = xcalloc(1, sizeof(*p));
    p->srv = srv;
    p->account = xstrdup(account);
    p->container = xstrdup(container);
    p->object = xstrdup(object);
    p->ts = ts ? ts : ts_now();
    locate(srv, ITEM_OBJECT, account, container, object, &p->pl);
    name = xasprintf("/%s/%s/%s", account, container, object);
    rc = object_writer_open(&p->w, &p->pl, name, p->ts);
    free(name);
    if (rc != 0) {
        objops_put_abort(p);
        return rc;
    }
    *out = p;
    return 0;
}

int objops_put_write(struct objops_put *p, const void *buf, size_t n)
{
    return object_writer_write(p->w, buf, n);
}

void objops_put_abort(struct objops_put *p)
{
    if (!p)
        return;
    object_writer_abort(p->w);
    free(p->account);
    free(p->container);
    free(p->object);
    free(p);
}

int objops_put_commit(struct objops_put *p, const char *content_type,
                      const struct kv_list *headers, const char *expect_etag,
                      struct object_meta *out)
{
    struct object_meta meta;
    int rc;

    object_meta_init(&meta);
    meta.content_type = xstrdup(content_type && *content_type ? content_type
                                                              : mime_guess(p->object));
    if (headers)
        kv_copy(&meta.headers, headers);
    rc = objops_commit_writer(p->srv, &p->pl, p->account, p->container, p->object, p->ts, p->w,
                              &meta, expect_etag);
    p->w = NULL;   /* consumed by the commit */
    objops_put_abort(p);
    if (rc == 0 && out)
        *out = meta;
    else
        object_meta_release(&meta);
    return rc;
}

int objops_put_buffer(struct server *srv, const char *account, const char *container,
                      const char *object, const void *body, size_t len,
                      const char *content_type, const struct kv_list *headers,
                      struct object_meta *out)
{
    struct objops_put *p;
    int rc = objops_put_open(&p, srv, account, container, object, 0);

    if (rc != 0)
        return rc;
    rc = objops_put_write(p, body, len);
    if (rc != 0) {
        objops_put_abort(p);
        return rc;
    }
    return objops_put_commit(p, content_type, headers, NULL, out);
}

int objops_container_stat(struct server *srv, const char *account, const char *container,
                          struct container_stat *out)
{
    struct placement pl;

    memset(out, 0, sizeof(*out));
    kv_init(&out->meta);
    locate(srv, ITEM_CONTAINER, account, container, NULL, &pl);
    return db_container_stat(srv->db, &pl, out);
}

int objops_container_create(struct server *srv, const char *account, const char *container,
                            const struct kv_list *meta, bool *created)
{
    struct placement pl, apl;
    struct kv_list none;
    bool is_new = false;
    int rc;

    kv_init(&none);
    locate(srv, ITEM_CONTAINER, account, container, NULL, &pl);
    locate(srv, ITEM_ACCOUNT, account, NULL, NULL, &apl);
    rc = db_container_put(srv->db, &pl, &apl, account, container, ts_now(), meta ? meta : &none,
                          srv->cfg->max_containers_per_account, &is_new);
    if (created)
        *created = is_new;
    return rc;
}

int objops_container_delete(struct server *srv, const char *account, const char *container)
{
    struct placement pl, apl;

    locate(srv, ITEM_CONTAINER, account, container, NULL, &pl);
    locate(srv, ITEM_ACCOUNT, account, NULL, NULL, &apl);
    return db_container_delete(srv->db, &pl, &apl, container, ts_now());
}

int objops_list(struct server *srv, const char *account, const char *container,
                const struct list_query *q, int (*cb)(void *ctx, const struct list_entry *e),
                void *ctx)
{
    struct placement pl;

    locate(srv, ITEM_CONTAINER, account, container, NULL, &pl);
    return db_container_list(srv->db, &pl, q, cb, ctx);
}
