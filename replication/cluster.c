/* replication/cluster.c: This file implements opening a cluster: its disk
 * groups, the cluster id they share and the ring that places names on them,
 * and the placement lookup the request path uses.
 *
 * Once a ring file exists it is the list of disk groups: they are opened by
 * the paths and ids it names (`swiftlet ring add` puts new ones there), and
 * disk groups listed in a config must all be in it. Before that, the config
 * (or data_dir/dg1..N) says which to create, and a new disk group gets its
 * position in the list (1-based) unless another one already holds that id.
 * The cluster id is read from whichever disk groups have one (they must all
 * agree) and made up on the first create.
 *
 * A disk group that cannot be opened (its identity is gone or unreadable:
 * the disk is not mounted or fails; or it holds another id than the ring
 * gives it) does not stop the start while a write quorum of the others
 * opens (one is enough for a command that does not serve): it gets a
 * handle in state DG_MISSING under the ring's id, nothing is written to it,
 * and the health probe brings it back when its identity is in place again.
 * Before the first ring there is no id to give it, so it fails the open.
 * Under data_dir the directories are our own: a server recreates one that
 * lost its identity (a wiped disk group) and the replicator refills it.
 *
 * A running server calls cluster_reload about once a second: a changed ring
 * file is loaded, disk groups it newly names are opened, and the new ring is
 * published with one atomic pointer store. A new disk group that cannot be
 * opened keeps that ring out until a later call can open it; one that is
 * missing already has its handle and is left to the health probe. Rings and disk groups are never
 * freed before cluster_free, so a request that looked up a placement in the
 * old ring keeps valid pointers. The previous rings (CLUSTER_HISTORY of
 * them) stay in the placement as handoffs right after the primaries: until
 * the replicator has moved a partition, its data is on the old holders. */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../storage/fresh.h"

#define CLUSTER_DG_MAX 1024     /* disk groups one process can open */
#define CLUSTER_HISTORY 3       /* previous rings whose holders are handoffs */

/* What cluster_locate reads: immutable once published. */
struct cluster_view {
    struct ring *ring;                          /* owned: the current ring */
    const struct ring *prev[CLUSTER_HISTORY];   /* newest first, borrowed */
    size_t nprev;
    struct cluster_view *older;                 /* retired views, kept alive */
};

struct cluster {
    char id[33];
    struct disk_group **dgs;          /* CLUSTER_DG_MAX slots, filled in order */
    _Atomic size_t ndg;               /* slots published so far */
    _Atomic(struct cluster_view *) view;
    char *ring_path;
    struct stat seen;                 /* the ring file as last looked at */
    uint64_t failed_version;          /* logged once: a ring that cannot be used */
};

/* What cluster_open learns before opening anything. */
struct cluster_plan {
    char **paths;
    size_t n;
    bool explicit_dgs;      /* listed in the config, not under data_dir */
    bool ids_from_ring;     /* paths and ids are the existing ring's */
    uint32_t *ids;
    bool *has_identity;
    int *unavailable;       /* 0, or why this dg cannot be opened (-errno) */
    char cluster[33];
    char why[256];          /* the first unavailable dg, for the error message */
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) PRINTF_LIKE(4, 5);

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool set(const char *s)
{
    return s && *s;
}

static void plan_release(struct cluster_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->paths[i]);
    free(p->paths);
    free(p->ids);
    free(p->has_identity);
    free(p->unavailable);
}

/* Mark dg i unavailable; its message is kept for when too few are left. */
static void plan_unavailable(struct cluster_plan *p, size_t i, int rc, const char *why)
{
    p->unavailable[i] = rc < 0 ? rc : -EIO;
    log_warn("msg=\"disk group unavailable\" path=%s err=\"%s\"", p->paths[i], why);
    if (!p->why[0])
        snprintf(p->why, sizeof(p->why), "%s", why);
}

static int plan_paths(struct cluster_plan *p, const struct config *cfg, unsigned ndg_default,
                      bool create, char *err, size_t errlen)
{
    if (cfg->n_disk_groups > 0) {
        p->n = cfg->n_disk_groups;
        p->explicit_dgs = true;
        p->paths = xcalloc(p->n, sizeof(char *));
        for (size_t i = 0; i < p->n; i++)
            p->paths[i] = xstrdup(cfg->disk_groups[i]);
    } else if (set(cfg->data_dir)) {
        if (create && mkdir(cfg->data_dir, 0755) < 0 && errno != EEXIST)
            return fail(err, errlen, -errno, "cannot create data dir %s: %s", cfg->data_dir,
                        err_str(-errno));
        p->n = ndg_default;
        p->paths = xcalloc(p->n ? p->n : 1, sizeof(char *));
        for (size_t i = 0; i < p->n; i++)
            p->paths[i] = xasprintf("%s/dg%zu", cfg->data_dir, i + 1);
    } else {
        return fail(err, errlen, -EINVAL, "no disk groups and no data dir configured");
    }
    if (p->n < REPLICAS || p->n > CLUSTER_DG_MAX)
        return fail(err, errlen, -EINVAL, "need at least %d disk groups, have %zu", REPLICAS,
                    p->n);
    return 0;
}

static bool same_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    while (la > 1 && a[la - 1] == '/')
        la--;
    while (lb > 1 && b[lb - 1] == '/')
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

/* The disk groups of an existing ring; configured ones must be in it. */
static int plan_from_ring(struct cluster_plan *p, const struct ring *r, const struct config *cfg,
                          const char *ring, char *err, size_t errlen)
{
    p->n = ring_device_count(r);
    p->explicit_dgs = cfg->n_disk_groups > 0;
    p->ids_from_ring = true;
    p->paths = xcalloc(p->n, sizeof(char *));
    p->ids = xcalloc(p->n, sizeof(*p->ids));
    for (size_t i = 0; i < p->n; i++) {
        p->paths[i] = xstrdup(ring_device(r, i)->path);
        p->ids[i] = ring_device(r, i)->id;
    }
    for (size_t j = 0; j < cfg->n_disk_groups; j++) {
        bool found = false;
        for (size_t i = 0; i < p->n && !found; i++)
            found = same_path(cfg->disk_groups[j], p->paths[i]);
        if (!found)
            return fail(err, errlen, -EINVAL,
                        "disk group %s is configured but not in ring %s: add it with "
                        "`swiftlet ring add %s`",
                        cfg->disk_groups[j], ring, cfg->disk_groups[j]);
    }
    if (p->n > CLUSTER_DG_MAX)
        return fail(err, errlen, -EINVAL, "ring %s names more than %d disk groups", ring,
                    CLUSTER_DG_MAX);
    return 0;
}

static bool id_taken(const struct cluster_plan *p, uint32_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->has_identity[i] && p->ids[i] == id)
            return true;
    return false;
}

/* Read existing identities; agree on the cluster id; give ids to new dgs. */
static int plan_identities(struct cluster_plan *p, bool create, bool explicit_paths, char *err,
                           size_t errlen)
{
    if (!p->ids)
        p->ids = xcalloc(p->n, sizeof(*p->ids));
    p->has_identity = xcalloc(p->n, sizeof(*p->has_identity));
    p->unavailable = xcalloc(p->n, sizeof(*p->unavailable));
    p->cluster[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        char cl[33], why[256];
        uint32_t id;
        int rc = dg_read_identity(p->paths[i], &id, cl);
        if (rc == -ENOENT && create)
            continue;
        if (rc < 0) {
            snprintf(why, sizeof(why), "disk group %s: cannot read identity: %s", p->paths[i],
                     err_str(rc));
            plan_unavailable(p, i, rc, why);
            continue;
        }
        if (p->ids_from_ring && id != p->ids[i]) {
            snprintf(why, sizeof(why), "disk group %s has id %" PRIu32 " but the ring says %"
                     PRIu32 ": is the right disk mounted there?", p->paths[i], id, p->ids[i]);
            plan_unavailable(p, i, -EINVAL, why);
            continue;
        }
        p->ids[i] = id;
        if (id_taken(p, p->ids[i]))
            return fail(err, errlen, -EINVAL, "disk group %s: id %" PRIu32 " used twice",
                        p->paths[i], p->ids[i]);
        if (p->cluster[0] && strcmp(p->cluster, cl) != 0)
            return fail(err, errlen, -EINVAL, "disk group %s belongs to cluster %s, not %s",
                        p->paths[i], cl, p->cluster);
        memcpy(p->cluster, cl, 33);
        p->has_identity[i] = true;
    }
    /* Disk groups listed in a config are mounts: one without an identity
     * while its siblings have theirs is most likely a disk that is not
     * mounted, and initialising the empty mount point would put data on the
     * root filesystem. Under --data the directories are our own. */
    for (size_t i = 0; explicit_paths && p->cluster[0] && i < p->n; i++) {
        char why[256];
        if (p->has_identity[i] || p->unavailable[i])
            continue;
        snprintf(why, sizeof(why),
                 "disk group %s has no identity file while the others belong to cluster %s: is "
                 "its disk mounted?",
                 p->paths[i], p->cluster);
        plan_unavailable(p, i, -ENOENT, why);
    }
    if (!p->cluster[0]) {
        uint8_t r[16];
        if (random_bytes(r, sizeof(r)) < 0)
            return fail(err, errlen, -EIO, "cannot make a cluster id: no randomness");
        hex_encode(r, sizeof(r), p->cluster);
    }
    uint32_t next = 1;
    for (size_t i = 0; i < p->n; i++) {
        if (p->has_identity[i] || p->ids_from_ring || p->unavailable[i])
            continue;     /* cluster_open refuses an unavailable dg without a ring */
        uint32_t id = (uint32_t)i + 1;
        while (id_taken(p, id))
            id = next++;
        p->ids[i] = id;
        p->has_identity[i] = true;    /* from here on, the id is claimed */
    }
    return 0;
}

char *cluster_ring_path(const struct config *cfg)
{
    if (set(cfg->ring_file))
        return xstrdup(cfg->ring_file);
    if (cfg->n_disk_groups == 0)
        return xasprintf("%s/ring.txt", cfg->data_dir);
    /* Next to the disk groups: in the directory holding the first one. */
    char *dir = xstrdup(cfg->disk_groups[0]);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    char *slash = strrchr(dir, '/');
    char *path = !slash ? xstrdup("swiftlet.ring")
                 : slash == dir ? xstrdup("/swiftlet.ring")
                 : xasprintf("%.*s/swiftlet.ring", (int)(slash - dir), dir);
    free(dir);
    return path;
}

/* The dg handle with this id (also one in state DG_MISSING), or NULL. */
static struct disk_group *dg_by_id(const struct cluster *c, uint32_t id)
{
    size_t n = atomic_load_explicit(&((struct cluster *)c)->ndg, memory_order_acquire);

    /* Slots are filled before ndg publishes them; the NULL check keeps a
     * lookup safe should a slot ever be published without a handle. */
    for (size_t i = 0; i < n; i++)
        if (c->dgs[i] && dg_id(c->dgs[i]) == id)
            return c->dgs[i];
    return NULL;
}

static size_t dg_count(const struct cluster *c)
{
    return atomic_load_explicit(&((struct cluster *)c)->ndg, memory_order_acquire);
}

static struct cluster_view *view_of(const struct cluster *c)
{
    return atomic_load_explicit(&((struct cluster *)c)->view, memory_order_acquire);
}

static void view_publish(struct cluster *c, struct ring *r)
{
    struct cluster_view *old = view_of(c), *v = xcalloc(1, sizeof(*v));

    v->ring = r;
    v->older = old;
    if (old) {
        v->prev[v->nprev++] = old->ring;
        for (size_t i = 0; i < old->nprev && v->nprev < CLUSTER_HISTORY; i++)
            v->prev[v->nprev++] = old->prev[i];
    }
    atomic_store_explicit(&c->view, v, memory_order_release);
}

static int build_ring(struct ring **out, const struct cluster *c, const struct config *cfg,
                      const char *path, char *err, size_t errlen)
{
    size_t n = dg_count(c);
    struct ring_device *devs = xcalloc(n, sizeof(*devs));
    int rc;

    for (size_t i = 0; i < n; i++)
        devs[i] = (struct ring_device){dg_id(c->dgs[i]), 1.0, 0, dg_path(c->dgs[i])};
    rc = ring_build(out, cfg->part_power, devs, n);
    free(devs);
    if (rc < 0)
        return fail(err, errlen, rc, "cannot build ring: %s", err_str(rc));
    rc = ring_save(*out, path);
    if (rc < 0)
        return fail(err, errlen, rc, "cannot save ring %s: %s", path, err_str(rc));
    log_info("msg=\"ring built\" path=%s part_power=%u disk_groups=%zu", path, cfg->part_power,
             n);
    return 0;
}

/* Open the planned disk groups in order, each unavailable one as a
 * DG_MISSING handle. A server (create) needs a write quorum to start; a
 * command (status, a --once pass) only one disk group to work from.
 * Without a ring (building) every one must open: the ring is made from
 * their ids. 0 or -errno with err set. */
static int open_dgs(struct cluster *c, struct cluster_plan *p, bool create, bool building,
                    char *err, size_t errlen)
{
    size_t n_open = 0, need = create ? QUORUM : 1;

    for (size_t i = 0; i < p->n; i++) {
        int rc = p->unavailable[i];
        if (rc == 0) {
            rc = dg_open(&c->dgs[i], p->paths[i], p->ids[i], c->id, create);
            if (rc < 0) {
                char why[256];
                snprintf(why, sizeof(why), "cannot open disk group %s: %s", p->paths[i],
                         err_str(rc));
                plan_unavailable(p, i, rc, why);
            }
        }
        if (rc == 0) {
            n_open++;
        } else {
            c->dgs[i] = dg_new_missing(p->paths[i], p->ids[i], c->id);
            log_warn("msg=\"disk group missing at start\" path=%s id=%" PRIu32, p->paths[i],
                     p->ids[i]);
        }
        atomic_store_explicit(&c->ndg, i + 1, memory_order_release);
    }
    if (n_open < need)
        return fail(err, errlen, -ENOENT, "%s (%zu of %zu disk groups usable, need %zu)", p->why,
                    n_open, p->n, need);
    if (building && n_open < p->n)
        return fail(err, errlen, -ENOENT, "%s (cannot build ring %s without it)", p->why,
                    c->ring_path);
    return 0;
}

/* Read the ring file (when there is one) and plan which disk groups to
 * open: the ring's, or before the first ring the configured ones. */
static int plan(struct cluster_plan *p, struct ring **ring, const struct config *cfg,
                unsigned ndg_default, bool create, const char *path, char *err, size_t errlen)
{
    int rc;

    if (cfg->n_disk_groups == 0 && !set(cfg->data_dir))
        return fail(err, errlen, -EINVAL, "no disk groups and no data dir configured");
    rc = ring_load(ring, path);
    if (rc == 0)
        rc = plan_from_ring(p, *ring, cfg, path, err, errlen);
    else if (rc == -ENOENT && create)
        rc = plan_paths(p, cfg, ndg_default, create, err, errlen);
    else
        rc = fail(err, errlen, rc, "cannot load ring %s: %s", path, err_str(rc));
    if (rc == 0)
        rc = plan_identities(p, create, cfg->n_disk_groups > 0, err, errlen);
    return rc;
}

int cluster_open(struct cluster **out, const struct config *cfg, unsigned ndg_default, bool create,
                 char *err, size_t errlen)
{
    struct cluster_plan p = {0};
    struct cluster *c = xcalloc(1, sizeof(*c));
    struct ring *ring = NULL;
    int rc;

    *out = NULL;
    c->dgs = xcalloc(CLUSTER_DG_MAX, sizeof(*c->dgs));
    c->ring_path = cluster_ring_path(cfg);
    stat(c->ring_path, &c->seen); /* before the load: a change meanwhile is seen later */
    rc = plan(&p, &ring, cfg, ndg_default, create, c->ring_path, err, errlen);
    if (rc < 0)
        goto out_fail;
    memcpy(c->id, p.cluster, 33);
    rc = open_dgs(c, &p, create, !ring, err, errlen);
    if (rc < 0)
        goto out_fail;
    if (!ring) {
        rc = build_ring(&ring, c, cfg, c->ring_path, err, errlen);
        stat(c->ring_path, &c->seen);
    }
    if (rc < 0)
        goto out_fail;
    view_publish(c, ring);
    plan_release(&p);
    *out = c;
    return 0;
out_fail:
    ring_free(ring);
    plan_release(&p);
    cluster_free(c);
    return rc;
}

void cluster_free(struct cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < dg_count(c); i++)
        dg_close(c->dgs[i]);
    free(c->dgs);
    for (struct cluster_view *v = view_of(c), *older; v; v = older) {
        older = v->older;
        ring_free(v->ring);
        free(v);
    }
    free(c->ring_path);
    free(c);
}

/* ---- picking up a changed ring ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Open the disk groups r names that are not open yet. 0 or -errno. */
static int open_new_dgs(struct cluster *c, const struct ring *r, bool log_it)
{
    for (size_t i = 0; i < ring_device_count(r); i++) {
        const struct ring_device *d = ring_device(r, i);
        struct disk_group *dg;
        if (dg_by_id(c, d->id))
            continue;
        size_t n = dg_count(c);
        int rc = n < CLUSTER_DG_MAX ? dg_open(&dg, d->path, d->id, c->id, false) : -E2BIG;
        if (rc < 0) {
            if (log_it)
                log_error("msg=\"cannot open disk group of new ring\" path=%s id=%" PRIu32
                          " ring_version=%" PRIu64 " err=\"%s\"",
                          d->path, d->id, ring_version(r), err_str(rc));
            return rc;
        }
        c->dgs[n] = dg;
        atomic_store_explicit(&c->ndg, n + 1, memory_order_release);
        log_info("msg=\"disk group added\" path=%s id=%" PRIu32, d->path, d->id);
    }
    return 0;
}

int cluster_reload(struct cluster *c)
{
    const struct ring *cur = view_of(c)->ring;
    struct ring *r;
    struct stat st;
    int rc;

    if (stat(c->ring_path, &st) < 0 || same_file(&st, &c->seen))
        return 0;
    rc = ring_load(&r, c->ring_path);
    if (rc < 0) {
        c->seen = st; /* logged by ring_load; tried again once the file changes */
        return rc == -ENOENT ? 0 : rc;
    }
    bool log_it = ring_version(r) != c->failed_version;
    if (ring_version(r) == ring_version(cur)) {
        c->seen = st;
        ring_free(r);
        return 0;
    }
    if (ring_part_power(r) != ring_part_power(cur)) {
        if (log_it)
            log_error("msg=\"ring ignored: part power differs\" path=%s part_power=%u want=%u",
                      c->ring_path, ring_part_power(r), ring_part_power(cur));
        rc = -EINVAL;
    } else {
        rc = open_new_dgs(c, r, log_it);
    }
    if (rc < 0) {
        /* Try again next time (a disk may get mounted), logging once. */
        c->failed_version = ring_version(r);
        ring_free(r);
        return rc;
    }
    c->seen = st;
    log_info("msg=\"ring loaded\" path=%s version=%" PRIu64 " previous=%" PRIu64
             " disk_groups=%zu", c->ring_path, ring_version(r), ring_version(cur),
             ring_device_count(r));
    /* New primaries do not hold their partitions until the replicator has
     * moved them: no disk group answers a read alone until then. */
    fresh_mark_all_stale();
    view_publish(c, r);
    return 1;
}

/* ---- lookups ---- */

const char *cluster_id(const struct cluster *c)
{
    return c->id;
}

size_t cluster_dg_count(const struct cluster *c)
{
    return dg_count(c);
}

struct disk_group *cluster_dg(const struct cluster *c, size_t i)
{
    return i < dg_count(c) ? c->dgs[i] : NULL;
}

const struct ring *cluster_ring(const struct cluster *c)
{
    return view_of(c)->ring;
}

/* Append the disk group of id to pl unless it is there already or full. */
static void add_dg(const struct cluster *c, struct placement *pl, uint32_t id)
{
    struct disk_group *dg = dg_by_id(c, id);

    if (!dg || pl->n_dg == PLACEMENT_MAX)
        return;
    for (size_t i = 0; i < pl->n_dg; i++)
        if (pl->dg[i] == dg)
            return;
    pl->dg[pl->n_dg++] = dg;
}

void cluster_locate(const struct cluster *c, enum item_kind kind, const char *account,
                    const char *container, const char *object, struct placement *pl)
{
    const struct cluster_view *v = view_of(c);
    uint32_t ids[PLACEMENT_MAX];
    size_t n;

    pl->kind = kind;
    name_hash(c->id, account, container, object, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = ring_part(v->ring, pl->hash);
    pl->n_dg = 0;
    ring_primaries(v->ring, pl->part, ids);
    for (size_t i = 0; i < REPLICAS; i++)
        add_dg(c, pl, ids[i]);
    pl->n_primary = pl->n_dg;
    /* The previous rings' holders next: a moved partition's data is there
     * until the replicator has pushed it to the new primaries. */
    for (size_t h = 0; h < v->nprev; h++) {
        ring_primaries(v->prev[h], pl->part, ids);
        for (size_t i = 0; i < REPLICAS; i++)
            add_dg(c, pl, ids[i]);
    }
    n = ring_handoffs(v->ring, pl->part, ids, PLACEMENT_MAX);
    for (size_t i = 0; i < n; i++)
        add_dg(c, pl, ids[i]);
}
