/* server/cmd_ring.c: This file implements `swiftlet ring`: showing the ring
 * and changing it (add, remove, reweight, zone, rebalance).
 *
 * Every change rebalances at once and writes the next version of the ring
 * file atomically; a running server picks it up within a second
 * (cluster_reload). The ring file is the list of disk groups: `add` creates
 * the new disk group's directories and identity file and names it there,
 * and the config's disk_group lines are not rewritten (serve accepts a ring
 * naming more disk groups than the config lists). Changes hold an exclusive
 * lock on <ring>.lock, so two operators cannot lose each other's change. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../common/log.h"
#include "../replication/ring.h"
#include "commands.h"

static const char ring_usage[] =
    "usage: swiftlet ring [-c FILE | --data DIR]                 show the ring\n"
    "       swiftlet ring [-c FILE | --data DIR] add PATH [WEIGHT [ZONE]]\n"
    "       swiftlet ring [-c FILE | --data DIR] remove ID\n"
    "       swiftlet ring [-c FILE | --data DIR] reweight ID WEIGHT\n"
    "       swiftlet ring [-c FILE | --data DIR] zone ID ZONE\n"
    "       swiftlet ring [-c FILE | --data DIR] rebalance\n"
    "Each change rebalances at once; a running server picks it up within a second.\n";

/* The state of one `swiftlet ring` run. */
struct ring_cmd {
    char *path;              /* the ring file */
    struct ring *ring;       /* as loaded */
    struct ring_device *devs;
    size_t n;                /* devices in devs (a change edits this list) */
};

static int usage_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "swiftlet ring: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", ring_usage);
    return 2;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_weight(const char *s, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
        return false;
    *out = v;
    return true;
}

/* The index in rc->devs of the device named by the ID argument, or -1
 * after printing why. */
static long device_arg(const struct ring_cmd *rc, const char *arg)
{
    uint32_t id;

    if (!parse_u32(arg, &id)) {
        usage_error("'%s' is not a disk group id", arg);
        return -1;
    }
    for (size_t i = 0; i < rc->n; i++)
        if (rc->devs[i].id == id)
            return (long)i;
    fprintf(stderr, "swiftlet ring: no disk group with id %s in the ring (see `swiftlet ring`)\n",
            arg);
    return -1;
}

static void show(const struct ring_cmd *rc)
{
    const struct ring *r = rc->ring;
    size_t n = ring_device_count(r);

    printf("ring %s\n", rc->path);
    printf("version %" PRIu64 ", part power %u (%zu partitions), %d replicas, %zu disk groups\n",
           ring_version(r), ring_part_power(r), (size_t)1 << ring_part_power(r), REPLICAS, n);
    printf("%6s %10s %6s %11s %9s  %s\n", "id", "weight", "zone", "partitions", "balance",
           "path");
    for (size_t i = 0; i < n; i++) {
        const struct ring_device *d = ring_device(r, i);
        size_t parts = ring_device_parts(r, i);
        double want = ring_device_want(r, i);
        printf("%6" PRIu32 " %10.2f %6" PRIu32 " %11zu %+8.2f%%  %s\n", d->id, d->weight,
               d->zone, parts, want > 0 ? ((double)parts - want) / want * 100 : 0.0, d->path);
    }
}

/* Rebalance to rc->devs and save. 0, or an exit code. */
static int commit(struct ring_cmd *rc, const char *what, bool skip_if_unmoved)
{
    struct ring *next;
    size_t moved, total = (size_t)REPLICAS << ring_part_power(rc->ring);
    int err = ring_rebalance(&next, rc->ring, rc->devs, rc->n, &moved);

    if (err < 0) {
        fprintf(stderr, "swiftlet ring: cannot rebalance: %s\n", err_str(err));
        return 1;
    }
    if (skip_if_unmoved && moved == 0) {
        printf("ring version %" PRIu64 " is balanced; nothing to move\n", ring_version(rc->ring));
        ring_free(next);
        return 0;
    }
    err = ring_save(next, rc->path);
    if (err < 0) {
        fprintf(stderr, "swiftlet ring: cannot write %s: %s\n", rc->path, err_str(err));
        ring_free(next);
        return 1;
    }
    printf("%s; moved %zu of %zu partition replicas; ring version %" PRIu64 "\n", what, moved,
           total, ring_version(next));
    ring_free(next);
    return 0;
}

/* The cluster id, from the first ring disk group whose identity reads. */
static int cluster_of(const struct ring_cmd *rc, char cluster[33])
{
    for (size_t i = 0; i < rc->n; i++)
        if (dg_read_cluster(rc->devs[i].path, cluster) == 0)
            return 0;
    fprintf(stderr, "swiftlet ring: no disk group of the ring has a readable identity file\n");
    return 1;
}

static char *absolute(const char *path)
{
    char cwd[4096];
    char *abs = path[0] == '/' || !getcwd(cwd, sizeof(cwd)) ? xstrdup(path)
                                                            : xasprintf("%s/%s", cwd, path);
    size_t len = strlen(abs);

    while (len > 1 && abs[len - 1] == '/')
        abs[--len] = '\0';
    return abs;
}

/* The id for a new disk group at path: the one its identity file has when
 * it was in this cluster before, else one more than the largest. 0 or an
 * exit code. */
static int new_id(const struct ring_cmd *rc, const char *path, const char *cluster, uint32_t *id)
{
    char theirs[33];
    uint32_t max = 0;

    for (size_t i = 0; i < rc->n; i++) {
        if (strcmp(rc->devs[i].path, path) == 0) {
            fprintf(stderr, "swiftlet ring: %s is in the ring already (id %" PRIu32 ")\n", path,
                    rc->devs[i].id);
            return 1;
        }
        max = MAX(max, rc->devs[i].id);
    }
    *id = max + 1;
    if (dg_read_identity(path, id, theirs) < 0) {
        *id = max + 1;
        return max < UINT32_MAX ? 0 : 1;
    }
    if (strcmp(theirs, cluster) != 0) {
        fprintf(stderr, "swiftlet ring: %s belongs to cluster %s, not %s\n", path, theirs,
                cluster);
        return 1;
    }
    for (size_t i = 0; i < rc->n; i++) {
        if (rc->devs[i].id == *id) {
            fprintf(stderr, "swiftlet ring: %s has id %" PRIu32 ", which %s has in the ring\n",
                    path, *id, rc->devs[i].path);
            return 1;
        }
    }
    return 0;
}

static int do_add(struct ring_cmd *rc, int argc, char **argv)
{
    struct ring_device d = {.weight = 1, .zone = 0};
    char cluster[33], *what;
    struct disk_group *dg;
    int rc_exit, err;

    if (argc < 2 || argc > 4)
        return usage_error("%s takes PATH [WEIGHT [ZONE]]", "add");
    if (argc > 2 && !parse_weight(argv[2], &d.weight))
        return usage_error("'%s' is not a weight (a number above 0)", argv[2]);
    if (argc > 3 && !parse_u32(argv[3], &d.zone))
        return usage_error("'%s' is not a zone (a number from 0)", argv[3]);
    if (!argv[1][0] || strchr(argv[1], '\n'))
        return usage_error("'%s' is not a usable path", argv[1]);
    char *path = absolute(argv[1]);
    rc_exit = cluster_of(rc, cluster);
    if (rc_exit == 0)
        rc_exit = new_id(rc, path, cluster, &d.id);
    if (rc_exit != 0)
        goto out;
    err = dg_open(&dg, path, d.id, cluster, true);
    if (err < 0) {
        fprintf(stderr, "swiftlet ring: cannot create disk group %s: %s\n", path, err_str(err));
        rc_exit = 1;
        goto out;
    }
    dg_close(dg);
    d.path = path;
    rc->devs[rc->n++] = d;
    what = xasprintf("added disk group %" PRIu32 " at %s (weight %g, zone %" PRIu32 ")", d.id,
                     path, d.weight, d.zone);
    rc_exit = commit(rc, what, false);
    free(what);
out:
    free(path);
    return rc_exit;
}

static int do_remove(struct ring_cmd *rc, int argc, char **argv)
{
    if (argc != 2)
        return usage_error("%s takes one disk group ID", "remove");
    long i = device_arg(rc, argv[1]);
    if (i < 0)
        return 2;
    if (rc->n <= REPLICAS) {
        fprintf(stderr, "swiftlet ring: cannot remove a disk group: the ring needs at least %d\n",
                REPLICAS);
        return 1;
    }
    char *what = xasprintf("removed disk group %s (%s); its data moves to the others as the "
                           "replicator runs", argv[1], rc->devs[i].path);
    memmove(&rc->devs[i], &rc->devs[i + 1], (rc->n - (size_t)i - 1) * sizeof(*rc->devs));
    rc->n--;
    int rc_exit = commit(rc, what, false);
    free(what);
    return rc_exit;
}

/* reweight ID WEIGHT and zone ID ZONE. */
static int do_set(struct ring_cmd *rc, int argc, char **argv, bool weight)
{
    double w = 0;
    uint32_t zone = 0;

    if (argc != 3)
        return usage_error("%s takes ID %s", argv[0], weight ? "WEIGHT" : "ZONE");
    long i = device_arg(rc, argv[1]);
    if (i < 0)
        return 2;
    if (weight && !parse_weight(argv[2], &w))
        return usage_error("'%s' is not a weight (a number above 0)", argv[2]);
    if (!weight && !parse_u32(argv[2], &zone))
        return usage_error("'%s' is not a zone (a number from 0)", argv[2]);
    if (weight)
        rc->devs[i].weight = w;
    else
        rc->devs[i].zone = zone;
    char *what = xasprintf("disk group %s: %s %s", argv[1], weight ? "weight" : "zone", argv[2]);
    int rc_exit = commit(rc, what, false);
    free(what);
    return rc_exit;
}

static int run(struct ring_cmd *rc, int argc, char **argv)
{
    const char *sub = argc > 0 ? argv[0] : NULL;

    if (!sub) {
        show(rc);
        return 0;
    }
    if (strcmp(sub, "add") == 0)
        return do_add(rc, argc, argv);
    if (strcmp(sub, "remove") == 0)
        return do_remove(rc, argc, argv);
    if (strcmp(sub, "reweight") == 0 || strcmp(sub, "zone") == 0)
        return do_set(rc, argc, argv, sub[0] == 'r');
    if (strcmp(sub, "rebalance") == 0)
        return argc == 1 ? commit(rc, "rebalanced", true)
                         : usage_error("%s takes no arguments", sub);
    return usage_error("unknown subcommand '%s'", sub);
}

/* Take the lock of a change. The fd (closing it unlocks), or -1 after
 * printing why. */
static int lock_ring(const char *path)
{
    char *lock = xasprintf("%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        fprintf(stderr, "swiftlet ring: cannot lock %s: %s\n", lock, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(lock);
    return fd;
}

int cmd_ring(struct command_ctx *ctx)
{
    struct ring_cmd rc = {0};
    int lock = -1, rc_exit = 1, err;

    if (!*ctx->cfg->data_dir && ctx->cfg->n_disk_groups == 0)
        return usage_error("%s", "give -c FILE (with disk_group entries) or --data DIR");
    rc.path = cluster_ring_path(ctx->cfg);
    err = ring_load(&rc.ring, rc.path);
    if (err == 0 && ctx->argc > 0) {
        /* A change works on the ring as it is once the lock is held. */
        ring_free(rc.ring);
        rc.ring = NULL;
        if ((lock = lock_ring(rc.path)) < 0)
            goto out;
        err = ring_load(&rc.ring, rc.path);
    }
    if (err < 0) {
        fprintf(stderr, "swiftlet ring: cannot load %s: %s%s\n", rc.path, err_str(err),
                err == -ENOENT ? " (`swiftlet serve` creates the ring on its first start)" : "");
        goto out;
    }
    rc.n = ring_device_count(rc.ring);
    rc.devs = xcalloc(rc.n + 1, sizeof(*rc.devs));
    for (size_t i = 0; i < rc.n; i++)
        rc.devs[i] = *ring_device(rc.ring, i);
    rc_exit = run(&rc, ctx->argc, ctx->argv);
out:
    if (lock >= 0)
        close(lock);
    free(rc.devs);
    ring_free(rc.ring);
    free(rc.path);
    return rc_exit;
}
