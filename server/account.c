/* server/account.c: This file implements the account-level Swift API
 * handlers (handlers.h): HEAD and GET (stats, metadata and the container
 * listing) and POST (metadata).
 *
 * Accounts are auto-created as Swift's account_autocreate does: a HEAD or
 * GET of an account that has no DB yet answers as an empty account (without
 * creating one), and a POST or a container PUT creates the DB. Every DB call
 * runs deferred on a worker thread: the rollup flush and metadata writes
 * fsync, and a listing can be long. */
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

#define ACCOUNT_META_PREFIX "X-Account-Meta-"
#define SYSMETA_PREFIX "X-Account-Sysmeta-" /* never shown as it is */

/* The request state between start() and the deferred work. */
struct account_req {
    struct listing_params lp;
    struct kv_list meta; /* POST: the keys to merge ("" removes) */
};

static void account_req_free(void *p)
{
    struct account_req *st = p;

    listing_params_release(&st->lp);
    kv_release(&st->meta);
    free(st);
}

static struct account_req *account_req_new(struct request *r)
{
    struct account_req *st = xcalloc(1, sizeof(*st));

    kv_init(&st->meta);
    r->state = st;
    r->state_free = account_req_free;
    return st;
}

static const char *query_get(void *ctx, const char *key)
{
    return req_query(ctx, key);
}


static void add_stats_headers(struct request *r, const struct account_stat *as, bool fake)
{
    char ts[TS_STRLEN];

    resp_headerf(r, "X-Account-Container-Count", "%llu", (unsigned long long)as->container_count);
    resp_headerf(r, "X-Account-Object-Count", "%llu", (unsigned long long)as->object_count);
    resp_headerf(r, "X-Account-Bytes-Used", "%llu", (unsigned long long)as->bytes_used);
    ts_format(as->created_at, ts);
    resp_header(r, "X-Timestamp", ts);
    if (fake) {
        /* only the fake account shows it: the proxy drops the real one */
        ts_format(as->put_timestamp, ts);
        resp_header(r, "X-Put-Timestamp", ts);
        return;
    }
    if (as->container_count > 0) {
        resp_headerf(r, "X-Account-Storage-Policy-Policy-0-Container-Count", "%llu",
                     (unsigned long long)as->container_count);
        resp_headerf(r, "X-Account-Storage-Policy-Policy-0-Object-Count", "%llu",
                     (unsigned long long)as->object_count);
        resp_headerf(r, "X-Account-Storage-Policy-Policy-0-Bytes-Used", "%llu",
                     (unsigned long long)as->bytes_used);
    }
    for (size_t i = 0; i < as->meta.n; i++)
        if (as->meta.items[i].value[0] &&
            strncasecmp(as->meta.items[i].key, SYSMETA_PREFIX, strlen(SYSMETA_PREFIX)) != 0)
            resp_header(r, as->meta.items[i].key, as->meta.items[i].value);
    acl_account_header(r, &as->meta);
    resp_header(r, "Accept-Ranges", "bytes");
}

static int list_cb(void *ctx, const struct list_entry *e)
{
    return listing_out_add(ctx, e);
}

/* The listing body (GET) or nothing (HEAD), with Swift's status: 200, or
 * 204 for an empty plain listing. A HEAD of the fake account is 200 because
 * Swift negotiates it as a JSON "[]" before formatting. */
static void answer_listing(struct request *r, const struct placement *pl, bool fake)
{
    struct account_req *st = r->state;
    struct listing_out out;
    int rc = 0;

    resp_headerf(r, "Content-Type", "%s; charset=utf-8", st->lp.content_type);
    if (st->lp.can_vary)
        resp_header(r, "Vary", "Accept");
    if (r->method == M_HEAD) {
        r->status = fake ? 200 : 204;
        return;
    }
    listing_out_init(&out, LISTING_ACCOUNT, st->lp.content_type, r->account);
    if (!fake && st->lp.q.limit > 0)
        rc = db_account_list(r->srv->db, pl, &st->lp.q, list_cb, &out);
    if (rc == 0)
        rc = listing_out_finish(&out);
    if (rc) {
        listing_out_release(&out);
        resp_errno(r, rc);
        return;
    }
    r->status = out.body.len ? 200 : 204;
    buf_release(&r->resp_body);
    r->resp_body = out.body;
}

static enum step account_read_work(struct request *r)
{
    struct server *srv = r->srv;
    struct account_stat as;
    struct placement pl;
    bool fake = false;
    int rc;

    rc = db_rollup_flush(srv->db, r->account);
    if (rc)
        log_warn("msg=\"account rollup failed\" tx=%s err=\"%s\"", r->trans_id, err_str(rc));
    cluster_locate(srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, &pl);
    memset(&as, 0, sizeof(as));
    kv_init(&as.meta);
    rc = db_account_stat(srv->db, &pl, &as);
    if (rc == -ENOENT) {
        /* account_autocreate: an empty account that is not stored yet */
        fake = true;
        as.created_at = as.put_timestamp = ts_now();
    } else if (rc) {
        resp_errno(r, rc);
        return STEP_RESPOND;
    }
    add_stats_headers(r, &as, fake);
    answer_listing(r, &pl, fake);
    account_stat_release(&as);
    return STEP_RESPOND;
}

static enum step account_read_start(struct request *r)
{
    struct account_req *st = account_req_new(r);
    const char *msg_type;
    char msg[128];
    int status;

    status = listing_parse(&st->lp, LISTING_ACCOUNT, r->method == M_HEAD,
                           r->srv->cfg->account_listing_limit, query_get, r,
                           req_header(r, "Accept"), msg, sizeof(msg), &msg_type);
    if (status) {
        resp_fail(r, status, msg, msg_type);
        return STEP_RESPOND;
    }
    req_defer(r, account_read_work);
    return STEP_DEFER;
}

/* The check Swift's account server makes on the metadata it would hold
 * after merging this POST; 0 or 400 (answered). */
static int check_merged(struct request *r, const struct placement *pl, const struct kv_list *meta)
{
    struct account_stat as;
    char msg[128];
    int status = 0;

    memset(&as, 0, sizeof(as));
    kv_init(&as.meta);
    if (db_account_stat(r->srv->db, pl, &as) != 0) {
        account_stat_release(&as); /* new account: only the request's keys */
        kv_init(&as.meta);
    }
    for (size_t i = 0; i < meta->n; i++)
        kv_set(&as.meta, meta->items[i].key, meta->items[i].value);
    status = check_metadata_stored(r->srv->cfg, ACCOUNT_META_PREFIX, &as.meta, msg, sizeof(msg));
    if (status)
        resp_error(r, status, msg);
    account_stat_release(&as);
    return status;
}

static enum step account_post_work(struct request *r)
{
    struct account_req *st = r->state;
    struct server *srv = r->srv;
    struct placement pl;
    int64_t ts = ts_now();
    bool created;
    int rc;

    cluster_locate(srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, &pl);
    if (check_merged(r, &pl, &st->meta))
        return STEP_RESPOND;
    rc = db_account_set_meta(srv->db, &pl, ts, &st->meta);
    if (rc == -ENOENT) {
        /* account_autocreate: a POST to a new account creates it */
        rc = db_account_put(srv->db, &pl, r->account, ts, &created);
        if (rc == 0)
            rc = db_account_set_meta(srv->db, &pl, ts, &st->meta);
    }
    if (rc) {
        resp_errno(r, rc);
        return STEP_RESPOND;
    }
    resp_error(r, 204, NULL);
    return STEP_RESPOND;
}

static enum step account_post_start(struct request *r)
{
    struct account_req *st = account_req_new(r);
    struct kv_list sent = KV_LIST_INIT;
    char msg[256];
    int status;

    collect_meta(r, ACCOUNT_META_PREFIX, false, &sent);
    status = check_metadata(r->srv->cfg, ACCOUNT_META_PREFIX, &sent, msg, sizeof(msg));
    kv_release(&sent);
    if (status) {
        resp_text(r, status, "text/plain", msg);
        return STEP_RESPOND;
    }
    collect_meta(r, ACCOUNT_META_PREFIX, true, &st->meta);
    acl_account_meta(r, &st->meta);
    req_defer(r, account_post_work);
    return STEP_DEFER;
}

const struct handler_ops account_get_ops = {.start = account_read_start};
const struct handler_ops account_head_ops = {.start = account_read_start};
const struct handler_ops account_post_ops = {.start = account_post_start};
