/* server/container.c: This file implements the container-level Swift API
 * handlers (handlers.h): PUT (create, or merge metadata: 201/202), HEAD and
 * GET (stats, metadata and the object listing), POST (metadata) and DELETE
 * (204, 404, or 409 while objects remain).
 *
 * Besides X-Container-Meta-*, a container keeps the headers Swift's proxy
 * passes through to the container server (ACLs, sync, versioning) under
 * their own names; "" removes a key. Every DB call runs deferred on a
 * worker thread (writes fsync; a listing can be long). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "acl.h"
#include "constraints.h"
#include "handlers.h"
#include "listing.h"
#include "server.h"
#include "versioning.h"

#define CONTAINER_META_PREFIX "X-Container-Meta-"
#define STORAGE_POLICY "Policy-0"

/* Headers stored as they are, with the header that removes each. */
static const struct {
    const char *name, *remove;
} sys_headers[] = {
    {"X-Container-Read", "X-Remove-Container-Read"},
    {"X-Container-Write", "X-Remove-Container-Write"},
    {"X-Container-Sync-To", "X-Remove-Container-Sync-To"},
    {"X-Container-Sync-Key", "X-Remove-Container-Sync-Key"},
};

/* The request state between start() and the deferred work. */
struct container_req {
    struct listing_params lp;
    struct kv_list meta; /* PUT/POST: the keys to merge ("" removes) */
};

static void container_req_free(void *p)
{
    struct container_req *st = p;

    listing_params_release(&st->lp);
    kv_release(&st->meta);
    free(st);
}

static struct container_req *container_req_new(struct request *r)
{
    struct container_req *st = xcalloc(1, sizeof(*st));

    kv_init(&st->meta);
    r->state = st;
    r->state_free = container_req_free;
    return st;
}

static const char *query_get(void *ctx, const char *key)
{
    return req_query(ctx, key);
}


static void locate(struct request *r, struct placement *pl, struct placement *pl_account)
{
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, pl);
    if (pl_account)
        cluster_locate(r->srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, pl_account);
}

/* ------------------------------------------------------------------ */
/* HEAD and GET                                                        */

static void add_stats_headers(struct request *r, const struct container_stat *cs)
{
    char ts[TS_STRLEN], date[HTTP_DATE_LEN];

    resp_headerf(r, "X-Container-Object-Count", "%llu", (unsigned long long)cs->object_count);
    resp_headerf(r, "X-Container-Bytes-Used", "%llu", (unsigned long long)cs->bytes_used);
    ts_format(cs->created_at, ts);
    resp_header(r, "X-Timestamp", ts);
    for (size_t i = 0; i < cs->meta.n; i++)
        if (cs->meta.items[i].value[0])
            resp_header(r, cs->meta.items[i].key, cs->meta.items[i].value);
    http_date(ts_to_time_ceil(cs->put_timestamp), date);
    resp_header(r, "Last-Modified", date);
    resp_header(r, "Accept-Ranges", "bytes");
    resp_header(r, "X-Storage-Policy", STORAGE_POLICY);
}

/* The listing being built, and what path= filters out. */
struct list_ctx {
    struct listing_out out;
    const char *path_prefix; /* NULL without path= */
    unsigned limit;
};

static int list_cb(void *vctx, const struct list_entry *e)
{
    struct list_ctx *ctx = vctx;

    if (ctx->path_prefix && listing_path_skip(ctx->path_prefix, e))
        return 0;
    if (ctx->out.count >= ctx->limit)
        return -ECANCELED; /* path=: enough rows; stop the scan */
    return listing_out_add(&ctx->out, e);
}

/* Run the listing into ctx->out; 0 or an error code. */
static int run_listing(struct request *r, const struct placement *pl, struct list_ctx *ctx)
{
    struct container_req *st = r->state;
    struct list_query q = st->lp.q;
    int rc;

    ctx->limit = q.limit;
    if (q.limit == 0)
        return 0;
    if (st->lp.has_path) {
        /* skipped rows must not use up the limit: count here instead */
        ctx->path_prefix = st->lp.path_prefix;
        q.limit = UINT32_MAX;
    }
    rc = db_container_list(r->srv->db, pl, &q, list_cb, ctx);
    return rc == -ECANCELED ? 0 : rc;
}

static void answer_listing(struct request *r, const struct placement *pl)
{
    struct container_req *st = r->state;
    struct list_ctx ctx = {.path_prefix = NULL};
    int rc;

    resp_headerf(r, "Content-Type", "%s; charset=utf-8", st->lp.content_type);
    if (st->lp.can_vary)
        resp_header(r, "Vary", "Accept");
    if (r->method == M_HEAD) {
        r->status = 204;
        return;
    }
    listing_out_init(&ctx.out, LISTING_CONTAINER, st->lp.content_type, r->container);
    rc = run_listing(r, pl, &ctx);
    if (rc == 0)
        rc = listing_out_finish(&ctx.out);
    if (rc) {
        listing_out_release(&ctx.out);
        resp_errno(r, rc);
        return;
    }
    r->status = ctx.out.body.len ? 200 : 204;
    buf_release(&r->resp_body);
    r->resp_body = ctx.out.body;
}

static enum step container_read_work(struct request *r)
{
    struct container_stat cs;
    struct placement pl;
    int rc;

    locate(r, &pl, NULL);
    memset(&cs, 0, sizeof(cs));
    kv_init(&cs.meta);
    rc = db_container_stat(r->srv->db, &pl, &cs);
    if (rc) {
        resp_errno(r, rc);
    } else {
        add_stats_headers(r, &cs);
        answer_listing(r, &pl);
    }
    container_stat_release(&cs);
    return STEP_RESPOND;
}

static enum step container_read_start(struct request *r)
{
    struct container_req *st = container_req_new(r);
    const char *msg_type;
    char msg[128];
    int status;

    status = listing_parse(&st->lp, LISTING_CONTAINER, r->method == M_HEAD,
                           r->srv->cfg->container_listing_limit, query_get, r,
                           req_header(r, "Accept"), msg, sizeof(msg), &msg_type);
    if (status) {
        resp_fail(r, status, msg, msg_type);
        return STEP_RESPOND;
    }
    req_defer(r, container_read_work);
    return STEP_DEFER;
}

/* ------------------------------------------------------------------ */
/* PUT, POST: metadata                                                 */

/* Check the metadata the request sets and collect what to store into
 * st->meta; false when an error answer is set. */
static bool collect_container_meta(struct request *r, struct container_req *st)
{
    struct kv_list sent = KV_LIST_INIT;
    char msg[256];
    int status;

    /* versioned_writes sits before the proxy's metadata checks */
    if (!versioning_container_meta(r, &st->meta))
        return false;
    collect_meta(r, CONTAINER_META_PREFIX, false, &sent);
    status = check_metadata(r->srv->cfg, CONTAINER_META_PREFIX, &sent, msg, sizeof(msg));
    kv_release(&sent);
    if (status) {
        resp_text(r, status, "text/plain", msg);
        return false;
    }
    for (size_t i = 0; i < ARRAY_SIZE(sys_headers); i++)
        if (req_header(r, sys_headers[i].remove))
            kv_set(&st->meta, sys_headers[i].name, "");
    collect_meta(r, CONTAINER_META_PREFIX, true, &st->meta);
    for (size_t i = 0; i < ARRAY_SIZE(sys_headers); i++) {
        const char *v = req_header(r, sys_headers[i].name);
        if (v)
            kv_set(&st->meta, sys_headers[i].name, v);
    }
    acl_container_meta(r, &st->meta);
    return true;
}

/* The check Swift's container server makes on the metadata it would hold
 * after the merge (cs: the stored state, NULL for a new container); 0 or
 * 400 (answered). */
static int check_merged(struct request *r, const struct container_stat *cs,
                        const struct kv_list *meta)
{
    struct kv_list merged = KV_LIST_INIT;
    char msg[128];
    int status;

    if (cs)
        kv_copy(&merged, &cs->meta);
    for (size_t i = 0; i < meta->n; i++)
        kv_set(&merged, meta->items[i].key, meta->items[i].value);
    status = check_metadata_stored(r->srv->cfg, CONTAINER_META_PREFIX, &merged, msg, sizeof(msg));
    if (status)
        resp_error(r, status, msg);
    kv_release(&merged);
    return status;
}

/* Stat the container for check_merged; true when it exists. */
static bool stat_for_merge(struct request *r, const struct placement *pl, struct container_stat *cs)
{
    memset(cs, 0, sizeof(*cs));
    kv_init(&cs->meta);
    return db_container_stat(r->srv->db, pl, cs) == 0;
}

static enum step container_put_work(struct request *r)
{
    struct container_req *st = r->state;
    struct placement pl, pla;
    struct container_stat cs;
    unsigned limit = r->srv->cfg->max_containers_per_account;
    bool exists, created = false;
    char msg[64];
    int rc;

    locate(r, &pl, &pla);
    exists = stat_for_merge(r, &pl, &cs);
    rc = check_merged(r, exists ? &cs : NULL, &st->meta);
    container_stat_release(&cs);
    if (rc)
        return STEP_RESPOND;
    rc = db_container_put(r->srv->db, &pl, &pla, r->account, r->container, ts_now(), &st->meta,
                          limit, &created);
    if (rc == ERR_LIMIT) {
        /* Swift's proxy answer, byte for byte */
        snprintf(msg, sizeof(msg), "Reached container limit of %u", limit);
        resp_error(r, 403, msg);
    } else if (rc)
        resp_errno(r, rc);
    else
        resp_error(r, created ? 201 : 202, NULL);
    return STEP_RESPOND;
}

static enum step container_put_start(struct request *r)
{
    struct container_req *st = container_req_new(r);
    const char *policy = req_header(r, "X-Storage-Policy");
    char msg[320];
    int status;

    /* Swift's order: metadata, policy, then the name length (which it
     * checks on PUT only: a GET of such a name is a 404) */
    if (!collect_container_meta(r, st))
        return STEP_RESPOND;
    if (policy && strcasecmp(policy, STORAGE_POLICY) != 0) {
        snprintf(msg, sizeof(msg), "Invalid X-Storage-Policy '%.256s'", policy);
        resp_text(r, 400, "text/plain", msg);
        return STEP_RESPOND;
    }
    status = check_names_for(r->srv->cfg, M_PUT, NULL, r->container, NULL, msg, sizeof(msg));
    if (status) {
        resp_error(r, status, msg);
        return STEP_RESPOND;
    }
    req_defer(r, container_put_work);
    return STEP_DEFER;
}

static enum step container_post_work(struct request *r)
{
    struct container_req *st = r->state;
    struct container_stat cs;
    struct placement pl;
    int rc;

    locate(r, &pl, NULL);
    if (!stat_for_merge(r, &pl, &cs)) {
        container_stat_release(&cs);
        resp_errno(r, -ENOENT);
        return STEP_RESPOND;
    }
    rc = check_merged(r, &cs, &st->meta);
    container_stat_release(&cs);
    if (rc)
        return STEP_RESPOND;
    rc = db_container_set_meta(r->srv->db, &pl, ts_now(), &st->meta);
    if (rc)
        resp_errno(r, rc);
    else
        resp_error(r, 204, NULL);
    return STEP_RESPOND;
}

static enum step container_post_start(struct request *r)
{
    struct container_req *st = container_req_new(r);

    if (!collect_container_meta(r, st))
        return STEP_RESPOND;
    req_defer(r, container_post_work);
    return STEP_DEFER;
}

/* ------------------------------------------------------------------ */
/* DELETE                                                              */

static enum step container_delete_work(struct request *r)
{
    struct placement pl, pla;
    int rc;

    locate(r, &pl, &pla);
    rc = db_container_delete(r->srv->db, &pl, &pla, r->container, ts_now());
    if (rc)
        resp_errno(r, rc);
    else
        resp_error(r, 204, NULL);
    return STEP_RESPOND;
}

static enum step container_delete_start(struct request *r)
{
    req_defer(r, container_delete_work);
    return STEP_DEFER;
}

const struct handler_ops container_get_ops = {.start = container_read_start};
const struct handler_ops container_head_ops = {.start = container_read_start};
const struct handler_ops container_put_ops = {.start = container_put_start};
const struct handler_ops container_post_ops = {.start = container_post_start};
const struct handler_ops container_delete_ops = {.start = container_delete_start};
