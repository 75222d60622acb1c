/* server/recover.c: setting listing rows from the objects after a crash,
 * for the notes a previous run left in the pending logs (storage/pending.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/kv.h"
#include "../common/log.h"
#include "../replication/expirer.h"
#include "../storage/object.h"
#include "../storage/object_sync.h"
#include "../storage/pending.h"
#include "objops.h"
#include "recover.h"

/* A write in flight at the crash may have reached only some replicas. A
 * read asks two of them, and the replicator soon copies the newest version
 * to all: a listing row set from what a read saw before that copy would
 * then disagree with the object for good. So bring the object's replicas
 * to their newest version now, as the replicator would (no reaping, no
 * draining of handoffs: that stays the replicator's), and list that. */
static void converge_replicas(const struct placement *pl)
{
    struct disk_group *dgs[PLACEMENT_MAX];
    size_t n = 0, n_targets = 0;
    struct objsync_opts o = {0};
    struct objsync_stats st = {0};

    for (size_t i = 0; i < pl->n_dg && i < PLACEMENT_MAX; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        if (i < pl->n_primary)
            n_targets++;    /* usable primaries stay first, as objsync wants */
        dgs[n++] = pl->dg[i];
    }
    char *rel = placement_rel(pl);
    int rc = n ? objsync_hashdir(dgs, n, n_targets, rel, &o, &st) : 0;
    /* A replica left behind is the replicator's to fix; the row still
     * follows what the others hold. */
    if (rc < 0)
        log_warn("msg=\"cannot bring replicas together after a crash\" item=%s err=\"%s\"", rel,
                 err_str(rc));
    free(rel);
}

/* Make the listing row (and the expirer queue entry) of one noted object
 * match what its replicas hold now: the newest version, a tombstone, or
 * (nothing written) no change. */
static int recover_one_as(const struct pending_update *u, struct server *srv, bool relaxed)
{
    struct placement pl, cpl, apl;
    struct object_meta m;

    cluster_locate(srv->cluster, ITEM_OBJECT, u->account, u->container, u->object, &pl);
    cluster_locate(srv->cluster, ITEM_CONTAINER, u->account, u->container, NULL, &cpl);
    cluster_locate(srv->cluster, ITEM_ACCOUNT, u->account, NULL, NULL, &apl);
    converge_replicas(&pl);
    int rc = object_stat(&m, &pl);
    if (rc == 0) {
        /* A POST that changed the content type is listed at its own time. */
        int64_t ts = m.meta_timestamp == u->ts ? u->ts : m.timestamp;
        rc = db_object_put(srv->db, &cpl, &apl, u->container, u->object, ts, m.size,
                           objops_listed_ctype(&m), objops_listed_etag(&m), relaxed);
        /* ...and an X-Delete-At it carries is in the expirer's queue. */
        const char *at_s = kv_get(&m.headers, "X-Delete-At");
        long long at = at_s ? strtoll(at_s, NULL, 10) : 0;
        if (rc == 0 && at > 0)
            rc = expirer_queue_add(srv->cluster, srv->db, at, u->account, u->container,
                                   u->object, m.meta_timestamp);
    } else if (rc == ERR_DELETED) {
        rc = db_object_delete(srv->db, &cpl, &apl, u->container, u->object, m.timestamp,
                              relaxed);
    }
    object_meta_release(&m);
    if (rc == -ENOENT)
        return 0;       /* never written, or its container is gone */
    if (rc < 0)
        log_warn("msg=\"cannot recover listing row\" account=%s container=%s err=\"%s\"",
                 u->account, u->container, err_str(rc));
    return rc;
}

static int recover_one(const struct pending_update *u, void *arg)
{
    return recover_one_as(u, arg, false);
}

void recover_listing_name(const char *name, size_t len, void *arg)
{
    char *s = xstrndup(name, len);
    char *acc = s + (*s == '/'), *con = strchr(acc, '/'), *obj = con ? strchr(con + 1, '/') : NULL;

    if (obj && con > acc && obj > con + 1 && obj[1]) {
        *con++ = '\0';
        *obj++ = '\0';
        /* ts 0: the time of what the replicas hold decides */
        struct pending_update u = {.ts = 0, .account = acc, .container = con, .object = obj};
        (void)recover_one_as(&u, arg, true);   /* journals_open syncs after */
    } else {
        log_warn("msg=\"journal record with a bad object name skipped\"");
    }
    free(s);
}

int recover_listings(struct server *srv)
{
    long n = pending_replay(srv->pending, recover_one, srv);

    if (n > 0)
        log_info("msg=\"listing rows recovered after an unclean stop\" notes=%ld", n);
    if (n > 0 && db_rollup_flush(srv->db, NULL) != 0)
        log_warn("msg=\"account rollup after recovery failed\"");
    return n < 0 ? (int)n : 0;
}
