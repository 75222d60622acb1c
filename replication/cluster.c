/* replication/cluster.c: This file implements opening a cluster: its disk
 * groups, the cluster id they share and the ring that places names on them,
 * and the placement lookup the request path uses.
 *
 * Disk group ids come from their identity files; a new disk group gets its
 * position in the list (1-based) unless another one already holds that id.
 * The cluster id is read from whichever disk groups have one (they must all
 * agree) and made up on the first create.
 *
 * A disk group that cannot be opened (its identity is gone or unreadable:
 * the disk is not mounted or fails) does not stop the start while a write
 * quorum of the others opens: it gets a handle in state DG_MISSING, its id
 * taken from the ring, and nothing is written to it until the health probe
 * finds its identity again. */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/hash.h"
#include "../common/log.h"

struct cluster {
    char id[33];
    struct disk_group **dgs;
    size_t ndg;
    size_t n_open;          /* dgs opened at start (the others start DG_MISSING) */
    char **paths;           /* only while cluster_open runs */
    struct ring *ring;
};

/* What cluster_open learns before opening anything. */
struct cluster_plan {
    char **paths;
    size_t n;
    bool explicit_dgs;      /* listed in the config, not under data_dir */
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
    if (p->n < REPLICAS || p->n > UINT32_MAX / 2)
        return fail(err, errlen, -EINVAL, "need at least %d disk groups, have %zu", REPLICAS,
                    p->n);
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
    p->ids = xcalloc(p->n, sizeof(*p->ids));
    p->has_identity = xcalloc(p->n, sizeof(*p->has_identity));
    p->unavailable = xcalloc(p->n, sizeof(*p->unavailable));
    p->cluster[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        char cl[33], why[256];
        int rc = dg_read_identity(p->paths[i], &p->ids[i], cl);
        if (rc == -ENOENT && create)
            continue;
        if (rc < 0) {
            snprintf(why, sizeof(why), "disk group %s: cannot read identity: %s", p->paths[i],
                     err_str(rc));
            plan_unavailable(p, i, rc, why);
            continue;
        }
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
        if (p->has_identity[i] || p->unavailable[i])
            continue;     /* an unavailable dg's id comes from the ring */
        uint32_t id = (uint32_t)i + 1;
        while (id_taken(p, id))
            id = next++;
        p->ids[i] = id;
        p->has_identity[i] = true;    /* from here on, the id is claimed */
    }
    return 0;
}

static char *ring_path(const struct config *cfg, const struct cluster_plan *p)
{
    if (set(cfg->ring_file))
        return xstrdup(cfg->ring_file);
    if (!p->explicit_dgs)
        return xasprintf("%s/ring.txt", cfg->data_dir);
    /* Next to the disk groups: in the directory holding the first one. */
    char *dir = xstrdup(p->paths[0]);
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

/* The opened dg with this id, or NULL. */
static struct disk_group *dg_by_id(const struct cluster *c, uint32_t id)
{
    for (size_t i = 0; i < c->ndg; i++)
        if (c->dgs[i] && dg_id(c->dgs[i]) == id)
            return c->dgs[i];
    return NULL;
}

/* Give each dg that could not be opened a DG_MISSING handle under the id
 * the ring gives its path. 0 or -EINVAL (the ring does not name it). */
static int open_missing(struct cluster *c, const char *ring_file, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->ndg; i++) {
        const struct ring_device *d = NULL;
        const char *path = c->paths[i];
        if (c->dgs[i])
            continue;
        for (size_t j = 0; j < ring_device_count(c->ring) && !d; j++)
            if (strcmp(ring_device(c->ring, j)->path, path) == 0)
                d = ring_device(c->ring, j);
        if (!d || dg_by_id(c, d->id))
            return fail(err, errlen, -EINVAL,
                        "disk group %s cannot be opened and ring %s does not name it", path,
                        ring_file);
        c->dgs[i] = dg_new_missing(path, d->id, c->id);
        log_warn("msg=\"disk group missing at start\" path=%s id=%" PRIu32, path, d->id);
    }
    return 0;
}

static int build_ring(struct cluster *c, const struct config *cfg, const char *path, char *err,
                      size_t errlen)
{
    struct ring_device *devs = xcalloc(c->ndg, sizeof(*devs));
    int rc;

    for (size_t i = 0; i < c->ndg; i++)
        devs[i] = (struct ring_device){dg_id(c->dgs[i]), 1.0, 0, dg_path(c->dgs[i])};
    rc = ring_build(&c->ring, cfg->part_power, devs, c->ndg);
    free(devs);
    if (rc < 0)
        return fail(err, errlen, rc, "cannot build ring: %s", err_str(rc));
    rc = ring_save(c->ring, path);
    if (rc < 0)
        return fail(err, errlen, rc, "cannot save ring %s: %s", path, err_str(rc));
    log_info("msg=\"ring built\" path=%s part_power=%u disk_groups=%zu", path, cfg->part_power,
             c->ndg);
    return 0;
}

/* Load (or with create, build) the ring and check it names exactly the
 * opened disk groups. */
static int open_ring(struct cluster *c, const struct config *cfg, const struct cluster_plan *p,
                     bool create, char *err, size_t errlen)
{
    char *path = ring_path(cfg, p);
    int rc = ring_load(&c->ring, path);

    if (rc == -ENOENT && create && c->n_open < c->ndg)
        rc = fail(err, errlen, -ENOENT, "cannot build ring %s while a disk group is unavailable",
                  path);
    else if (rc == -ENOENT && create)
        rc = build_ring(c, cfg, path, err, errlen);
    else if (rc < 0)
        rc = fail(err, errlen, rc, "cannot load ring %s: %s", path, err_str(rc));
    if (rc == 0)
        rc = open_missing(c, path, err, errlen);
    if (rc == 0 && ring_device_count(c->ring) != c->ndg)
        rc = fail(err, errlen, -EINVAL, "ring %s has %zu disk groups, %zu are configured", path,
                  ring_device_count(c->ring), c->ndg);
    for (size_t i = 0; rc == 0 && i < c->ndg; i++) {
        const struct ring_device *d = ring_device(c->ring, i);
        if (!dg_by_id(c, d->id))
            rc = fail(err, errlen, -EINVAL, "ring %s names disk group id %" PRIu32
                      " (%s), which is not configured", path, d->id, d->path);
    }
    free(path);
    return rc;
}

int cluster_open(struct cluster **out, const struct config *cfg, unsigned ndg_default, bool create,
                 char *err, size_t errlen)
{
    struct cluster_plan p = {0};
    struct cluster *c = xcalloc(1, sizeof(*c));
    int rc;

    *out = NULL;
    rc = plan_paths(&p, cfg, ndg_default, create, err, errlen);
    if (rc == 0)
        rc = plan_identities(&p, create, cfg->n_disk_groups > 0, err, errlen);
    if (rc < 0)
        goto out_fail;
    memcpy(c->id, p.cluster, 33);
    c->dgs = xcalloc(p.n, sizeof(*c->dgs));
    c->paths = p.paths;
    for (; c->ndg < p.n; c->ndg++) {
        if (p.unavailable[c->ndg])
            continue;
        rc = dg_open(&c->dgs[c->ndg], p.paths[c->ndg], p.ids[c->ndg], c->id, create);
        if (rc < 0) {
            char why[256];
            snprintf(why, sizeof(why), "cannot open disk group %s: %s", p.paths[c->ndg],
                     err_str(rc));
            plan_unavailable(&p, c->ndg, rc, why);
            continue;
        }
        c->n_open++;
    }
    /* A server needs a write quorum to start; a command (status, a --once
     * pass) only needs one disk group to learn the cluster from. */
    if (c->n_open < (create ? QUORUM : 1)) {
        rc = fail(err, errlen, -ENOENT, "%s (%zu of %zu disk groups usable, need %d)", p.why,
                  c->n_open, c->ndg, create ? QUORUM : 1);
        goto out_fail;
    }
    rc = open_ring(c, cfg, &p, create, err, errlen);
    if (rc < 0)
        goto out_fail;
    c->paths = NULL;
    plan_release(&p);
    *out = c;
    return 0;
out_fail:
    c->paths = NULL;
    plan_release(&p);
    cluster_free(c);
    return rc;
}

void cluster_free(struct cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ndg; i++)
        dg_close(c->dgs[i]);
    free(c->dgs);
    ring_free(c->ring);
    free(c);
}

const char *cluster_id(const struct cluster *c)
{
    return c->id;
}

size_t cluster_dg_count(const struct cluster *c)
{
    return c->ndg;
}

struct disk_group *cluster_dg(const struct cluster *c, size_t i)
{
    return i < c->ndg ? c->dgs[i] : NULL;
}

const struct ring *cluster_ring(const struct cluster *c)
{
    return c->ring;
}

void cluster_locate(const struct cluster *c, enum item_kind kind, const char *account,
                    const char *container, const char *object, struct placement *pl)
{
    uint32_t ids[PLACEMENT_MAX];
    size_t n;

    pl->kind = kind;
    name_hash(c->id, account, container, object, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = ring_part(c->ring, pl->hash);
    ring_primaries(c->ring, pl->part, ids);
    n = REPLICAS + ring_handoffs(c->ring, pl->part, ids + REPLICAS, PLACEMENT_MAX - REPLICAS);
    pl->n_dg = 0;
    for (size_t i = 0; i < n; i++) {
        struct disk_group *dg = dg_by_id(c, ids[i]);
        if (dg)
            pl->dg[pl->n_dg++] = dg;
    }
    pl->n_primary = REPLICAS;
}
