/* replication/replicator.c: This file implements the replicator of
 * replicator.h: the pass over partitions, the comparison of suffix hashes,
 * the DB replica merge, the rate limit and the background thread.
 *
 * Per partition directory found on a usable disk group:
 *   targets  = the partition's primaries in the current ring that are usable;
 *   handoffs = the other usable disk groups that hold the partition;
 *   sources  = targets, then handoffs.
 * A suffix is merged when a handoff holds it, when the targets' suffix
 * hashes differ, or when it holds a tombstone past the reclaim age. Merging
 * happens per item (one hash directory): objects through objsync_hashdir,
 * DBs through replicate_db below. A handoff gives up its copy only when
 * every primary is usable and holds the item, and tombstones are reaped
 * only then: a primary that is down would otherwise bring the old data back
 * when it returns. */
#include "replicator.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../storage/fresh.h"
#include "../storage/meta_sync.h"
#include "../storage/object_sync.h"

#define SLEEP_SLICE_NS (100 * 1000000ull)   /* a stop request waits at most this */
#define NS_PER_SEC 1000000000ull

static const char *const kind_dirs[] = {
    [ITEM_OBJECT] = "objects", [ITEM_CONTAINER] = "containers", [ITEM_ACCOUNT] = "accounts"};
static const enum item_kind kinds[] = {ITEM_ACCOUNT, ITEM_CONTAINER, ITEM_OBJECT};

/* One pass in progress. */
struct pass {
    struct cluster *c;
    const struct config *cfg;
    const atomic_bool *stop;
    struct replicator_stats *st;
    int64_t reclaim_before;
    int first_err;
    uint64_t t0_ns, files, bytes;   /* the rate limit's account */
};

/* One partition of one kind being replicated. */
struct part {
    enum item_kind kind;
    uint32_t part;
    struct disk_group *dg[PLACEMENT_MAX];   /* targets, then handoffs */
    size_t n, n_targets;
    bool all_primaries;                     /* every primary is a target */
};

static bool stopping(const struct pass *p)
{
    return p->stop && atomic_load(p->stop);
}

static void fail(struct pass *p, int rc)
{
    p->st->errors++;
    if (!p->first_err)
        p->first_err = rc;
}

/* ---- rate limit ---- */

/* Sleep until files and bytes so far fit the configured rates. */
static void throttle(void *ctx, uint64_t bytes)
{
    struct pass *p = ctx;
    uint64_t need = 0, fps = p->cfg->replicator_files_per_second;
    uint64_t bps = p->cfg->replicator_bytes_per_second;

    p->files++;
    p->bytes += bytes;
    if (fps)
        need = p->files * NS_PER_SEC / fps;
    if (bps)
        need = MAX(need, (uint64_t)((double)p->bytes / (double)bps * 1e9));
    while (!stopping(p)) {
        uint64_t now = mono_ns() - p->t0_ns;
        if (now >= need)
            break;
        uint64_t ns = MIN(need - now, SLEEP_SLICE_NS);
        struct timespec ts = {(time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC)};
        nanosleep(&ts, NULL);
    }
}

/* ---- paths ---- */

static char *kind_path(const struct disk_group *dg, enum item_kind kind)
{
    return xasprintf("%s/%s", dg_path(dg), kind_dirs[kind]);
}

static char *part_path(const struct disk_group *dg, const struct part *pt, const char *rest)
{
    return xasprintf("%s/%s/%u%s%s", dg_path(dg), kind_dirs[pt->kind], (unsigned)pt->part,
                     rest ? "/" : "", rest ? rest : "");
}

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "123" -> 123; false for anything that is not a partition number. */
static bool parse_part(const char *s, uint32_t *out)
{
    uint64_t v = 0;

    if (!*s || strlen(s) > 9)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = (uint32_t)v;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The partitions of kind present on any usable disk group, sorted, unique. */
static uint32_t *list_parts(struct cluster *c, enum item_kind kind, size_t *n_out)
{
    uint32_t *parts = NULL;
    size_t n = 0, cap = 0;

    for (size_t i = 0; i < cluster_dg_count(c); i++) {
        struct disk_group *dg = cluster_dg(c, i);
        char *dir, **names;
        size_t nn;
        if (!dg_usable(dg))
            continue;
        dir = kind_path(dg, kind);
        if (objsync_list(dir, &names, &nn) < 0)
            nn = 0, names = NULL;
        for (size_t j = 0; j < nn; j++) {
            uint32_t v;
            if (!parse_part(names[j], &v))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                parts = xrealloc(parts, cap * sizeof(*parts));
            }
            parts[n++] = v;
        }
        objsync_names_free(names, nn);
        free(dir);
    }
    if (n)
        qsort(parts, n, sizeof(*parts), cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || parts[u - 1] != parts[i])
            parts[u++] = parts[i];
    *n_out = u;
    return parts;
}

uint64_t replicator_count_partitions(struct cluster *c)
{
    uint64_t total = 0;

    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
        size_t n;
        free(list_parts(c, kinds[k], &n));
        total += n;
    }
    return total;
}

/* ---- who holds a partition ---- */

static struct disk_group *dg_with_id(struct cluster *c, uint32_t id)
{
    for (size_t i = 0; i < cluster_dg_count(c); i++)
        if (dg_id(cluster_dg(c, i)) == id)
            return cluster_dg(c, i);
    return NULL;
}

/* Fill pt's targets and handoffs from the current ring. false when the
 * partition is outside the ring (a ring with another part power). */
static bool part_plan(struct cluster *c, struct part *pt)
{
    const struct ring *ring = cluster_ring(c);
    uint32_t ids[REPLICAS];
    bool primary[PLACEMENT_MAX * 8] = {false};
    size_t ndg = cluster_dg_count(c);

    if (pt->part >= (1u << ring_part_power(ring)) || ndg > ARRAY_SIZE(primary))
        return false;
    ring_primaries(ring, pt->part, ids);
    pt->n = pt->n_targets = 0;
    for (size_t k = 0; k < REPLICAS; k++) {
        struct disk_group *dg = dg_with_id(c, ids[k]);
        for (size_t i = 0; dg && i < ndg; i++)
            primary[i] |= cluster_dg(c, i) == dg;
        if (dg && dg_usable(dg))
            pt->dg[pt->n++] = dg;
    }
    pt->n_targets = pt->n;
    pt->all_primaries = pt->n_targets == REPLICAS;
    for (size_t i = 0; i < ndg && pt->n < PLACEMENT_MAX; i++) {
        struct disk_group *dg = cluster_dg(c, i);
        if (primary[i] || !dg_usable(dg))
            continue;
        char *dir = part_path(dg, pt, NULL);
        if (is_dir(dir))
            pt->dg[pt->n++] = dg;
        free(dir);
    }
    return true;
}

/* ---- DB items ---- */

struct db_replica {
    char *path;
    bool exists;
    uint8_t digest[16];
    uint64_t reapable;
};

static void db_scan(struct pass *p, const struct part *pt, const char *rel_hash, const char *hash,
                    struct db_replica *r)
{
    for (size_t i = 0; i < pt->n; i++) {
        r[i].path = xasprintf("%s/%s/%s.db", dg_path(pt->dg[i]), rel_hash, hash);
        int rc = dbsync_digest(r[i].path, pt->kind, p->reclaim_before, r[i].digest,
                               &r[i].reapable);
        r[i].exists = rc == 0;
        if (rc < 0 && rc != -ENOENT) {
            log_warn("msg=\"cannot read db replica\" path=%s err=\"%s\"", r[i].path,
                     err_str(rc));
            dg_note_result(pt->dg[i], rc);
            fail(p, rc);
        }
    }
}

/* Does the item need work: a replica missing or different, a handoff, or
 * rows to reap? */
static bool db_needs_sync(const struct part *pt, const struct db_replica *r, size_t hub)
{
    for (size_t i = 0; i < pt->n; i++) {
        if (i >= pt->n_targets && r[i].exists)
            return true;
        if (i < pt->n_targets &&
            (!r[i].exists || memcmp(r[i].digest, r[hub].digest, 16) != 0 ||
             (pt->all_primaries && r[i].reapable)))
            return true;
    }
    return false;
}

/* Merge src into dst (dst_dg's replica), counting. */
static int db_merge(struct pass *p, struct disk_group *dst_dg, const char *dst, const char *src,
                    enum item_kind kind)
{
    uint64_t rows = 0;
    int rc = dbsync_merge(dst, src, kind, &rows);

    if (rc < 0) {
        log_warn("msg=\"cannot merge db replica\" from=%s to=%s err=\"%s\"", src, dst,
                 err_str(rc));
        dg_note_result(dst_dg, rc);
        fail(p, rc);
        return rc;
    }
    p->st->rows_merged += rows;
    throttle(p, 0);
    return 0;
}

/* Give target t the hub's rows: a copy when it has no replica. */
static int db_push(struct pass *p, const struct part *pt, struct db_replica *r, size_t t,
                   size_t hub)
{
    struct stat st;

    if (r[t].exists)
        return db_merge(p, pt->dg[t], r[t].path, r[hub].path, pt->kind);
    char *tmp = xasprintf("%s/tmp", dg_path(pt->dg[t]));
    int rc = dbsync_copy(r[t].path, r[hub].path, tmp);
    free(tmp);
    if (rc == -EEXIST)      /* the server created it meanwhile */
        return db_merge(p, pt->dg[t], r[t].path, r[hub].path, pt->kind);
    if (rc < 0) {
        log_warn("msg=\"cannot copy db replica\" from=%s to=%s err=\"%s\"", r[hub].path,
                 r[t].path, err_str(rc));
        dg_note_result(pt->dg[t], rc);
        fail(p, rc);
        return rc;
    }
    p->st->dbs_created++;
    throttle(p, stat(r[t].path, &st) == 0 ? (uint64_t)st.st_size : 0);
    r[t].exists = true;
    return 0;
}

/* Reap old deleted rows on every primary, then drop the handoffs' copies. */
static void db_finish(struct pass *p, const struct part *pt, struct db_replica *r,
                      const char *rel_hash)
{
    bool reap = false;

    for (size_t t = 0; t < pt->n_targets; t++)
        reap |= r[t].reapable > 0;
    for (size_t t = 0; reap && t < pt->n_targets; t++) {
        uint64_t rows = 0;
        int rc = dbsync_reap(r[t].path, pt->kind, p->reclaim_before, &rows);
        if (rc < 0)
            fail(p, rc);
        p->st->reaped += rows;
    }
    for (size_t i = pt->n_targets; i < pt->n; i++) {
        if (!r[i].exists)
            continue;
        int rc = dbsync_remove(r[i].path);
        if (rc < 0) {
            fail(p, rc);
            continue;
        }
        char *dir = xasprintf("%s/%s", dg_path(pt->dg[i]), rel_hash);
        char *stop = kind_path(pt->dg[i], pt->kind);
        objsync_prune(dir, stop);
        free(stop);
        free(dir);
        p->st->handoffs_moved++;
    }
}

/* Bring one DB's replicas together through a hub: the first target holding
 * it (else a handoff) takes every other replica's rows, then gives its
 * union to every target. */
static void replicate_db(struct pass *p, const struct part *pt, const char *rel_hash,
                         const char *hash)
{
    struct db_replica r[PLACEMENT_MAX] = {0};
    size_t hub = pt->n;
    bool hub_changed = false;
    int rc = 0;

    db_scan(p, pt, rel_hash, hash, r);
    for (size_t i = 0; i < pt->n && hub == pt->n; i++)
        if (r[i].exists)
            hub = i;
    if (hub == pt->n || !db_needs_sync(pt, r, hub))
        goto out_free;
    for (size_t i = 0; i < pt->n && rc == 0; i++)
        if (i != hub && r[i].exists && memcmp(r[i].digest, r[hub].digest, 16) != 0) {
            rc = db_merge(p, pt->dg[hub], r[hub].path, r[i].path, pt->kind);
            hub_changed = true;
        }
    for (size_t t = 0; t < pt->n_targets && rc == 0; t++)
        if (t != hub && (hub_changed || !r[t].exists || memcmp(r[t].digest, r[hub].digest, 16)))
            rc = db_push(p, pt, r, t, hub);
    if (rc == 0 && pt->all_primaries)
        db_finish(p, pt, r, rel_hash);
out_free:
    for (size_t i = 0; i < pt->n; i++)
        free(r[i].path);
}

/* The suffix hash of a DB suffix directory: each DB's name and digest. */
static int db_suffix_hash(struct pass *p, const char *dir, enum item_kind kind, uint8_t out[16],
                          bool *reapable)
{
    struct md5 *m = md5_new();
    char **names;
    size_t n;
    int rc = objsync_list(dir, &names, &n);

    *reapable = false;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *path = xasprintf("%s/%s/%s.db", dir, names[i], names[i]);
        uint8_t d[16];
        uint64_t reap;
        int drc = dbsync_digest(path, kind, p->reclaim_before, d, &reap);
        free(path);
        if (drc == -ENOENT)
            continue;
        rc = drc;
        md5_update(m, names[i], strlen(names[i]) + 1);
        md5_update(m, d, sizeof(d));
        *reapable |= reap > 0;
    }
    md5_final(m, out);
    md5_free(m);
    objsync_names_free(names, n);
    return rc;
}

/* ---- suffixes ---- */

/* Do the targets' suffix hashes differ (or is there something to reap)? */
static bool suffix_differs(struct pass *p, const struct part *pt, const char *suffix)
{
    uint8_t first[16], h[16];
    bool reapable, any_reap = false;

    for (size_t t = 0; t < pt->n_targets; t++) {
        char *dir = part_path(pt->dg[t], pt, suffix);
        int rc = pt->kind == ITEM_OBJECT
                     ? objsync_suffix_hash(dir, p->reclaim_before, h, &reapable)
                     : db_suffix_hash(p, dir, pt->kind, h, &reapable);
        free(dir);
        if (rc < 0) {
            dg_note_result(pt->dg[t], rc);
            fail(p, rc);
            return false;   /* this target is broken: nothing to compare against */
        }
        any_reap |= reapable;
        if (t == 0)
            memcpy(first, h, 16);
        else if (memcmp(first, h, 16) != 0)
            return true;
    }
    return any_reap && pt->all_primaries;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The union of the entries of rel (under each source's partition). */
static void union_names(const struct part *pt, const char *rel, char ***out, size_t *n_out)
{
    char **all = NULL;
    size_t n = 0;

    for (size_t i = 0; i < pt->n; i++) {
        char *dir = part_path(pt->dg[i], pt, rel), **names;
        size_t nn;
        if (objsync_list(dir, &names, &nn) < 0)
            nn = 0, names = NULL;
        free(dir);
        all = xrealloc(all, (n + nn + 1) * sizeof(char *));
        if (nn)
            memcpy(all + n, names, nn * sizeof(char *));
        n += nn;
        free(names);
    }
    size_t u = 0;
    if (n)
        qsort(all, n, sizeof(char *), cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (u > 0 && strcmp(all[u - 1], all[i]) == 0) {
            free(all[i]);
            continue;
        }
        all[u++] = all[i];
    }
    *out = all;
    *n_out = u;
}

static void replicate_suffix(struct pass *p, const struct part *pt, const char *suffix)
{
    struct objsync_opts o = {.reclaim_before = p->reclaim_before,
                             .reap = pt->all_primaries,
                             .drain = pt->all_primaries,
                             .throttle = throttle,
                             .throttle_ctx = p};
    struct objsync_stats os = {0};
    char **hashes;
    size_t n;

    p->st->suffixes_synced++;
    union_names(pt, suffix, &hashes, &n);
    for (size_t i = 0; i < n && !stopping(p); i++) {
        char *rel = xasprintf("%s/%u/%s/%s", kind_dirs[pt->kind], (unsigned)pt->part, suffix,
                              hashes[i]);
        if (pt->kind == ITEM_OBJECT) {
            int rc = objsync_hashdir(pt->dg, pt->n, pt->n_targets, rel, &o, &os);
            /* A corrupt source is counted, not an error: the auditor's. */
            if (rc < 0 && rc != ERR_CORRUPT && !p->first_err)
                p->first_err = rc;
        } else {
            replicate_db(p, pt, rel, hashes[i]);
        }
        free(rel);
    }
    objsync_names_free(hashes, n);
    p->st->files_copied += os.files_copied;
    p->st->bytes_copied += os.bytes_copied;
    p->st->handoffs_moved += os.handoffs_moved;
    p->st->reaped += os.reaped;
    p->st->corrupt += os.corrupt;
    p->st->errors += os.errors;
}

/* ---- partitions ---- */

static void replicate_part(struct pass *p, enum item_kind kind, uint32_t part)
{
    struct part pt = {.kind = kind, .part = part};
    char **suffixes;
    size_t n;

    if (!part_plan(p->c, &pt)) {
        log_warn("msg=\"partition outside the ring skipped\" kind=%s part=%u", kind_dirs[kind],
                 (unsigned)part);
        return;
    }
    if (pt.n_targets == 0)
        return;     /* no primary is usable: retried next pass */
    union_names(&pt, NULL, &suffixes, &n);
    for (size_t i = 0; i < n && !stopping(p); i++) {
        bool handoff = false;
        for (size_t h = pt.n_targets; h < pt.n && !handoff; h++) {
            char *dir = part_path(pt.dg[h], &pt, suffixes[i]);
            handoff = is_dir(dir);
            free(dir);
        }
        if (handoff || suffix_differs(p, &pt, suffixes[i]))
            replicate_suffix(p, &pt, suffixes[i]);
    }
    /* A drained handoff keeps no empty directories. */
    for (size_t h = pt.n_targets; pt.all_primaries && h < pt.n; h++)
        for (size_t i = 0; i < n; i++) {
            char *dir = part_path(pt.dg[h], &pt, suffixes[i]), *stop = kind_path(pt.dg[h], kind);
            objsync_prune(dir, stop);
            free(stop);
            free(dir);
        }
    objsync_names_free(suffixes, n);
}

int replicator_pass(struct cluster *c, const struct config *cfg, struct progress *prog,
                    const atomic_bool *stop, struct replicator_stats *st)
{
    struct pass p = {.c = c, .cfg = cfg, .stop = stop, .st = st, .t0_ns = mono_ns()};
    uint64_t done = 0;

    /* Taken before anything is compared: a write that misses a disk group
     * after this point marks it again, and the confirmation below fails. */
    size_t ndg = cluster_dg_count(c);
    uint64_t *gen = xcalloc(ndg ? ndg : 1, sizeof(*gen));
    for (size_t i = 0; i < ndg; i++)
        gen[i] = dg_usable(cluster_dg(c, i)) ? fresh_generation(cluster_dg(c, i)) : 0;

    p.reclaim_before = ts_now() - (int64_t)cfg->reclaim_age * TS_TICKS_PER_SEC;
    for (size_t k = 0; k < ARRAY_SIZE(kinds) && !stopping(&p); k++) {
        size_t n;
        uint32_t *parts = list_parts(c, kinds[k], &n);
        for (size_t i = 0; i < n && !stopping(&p); i++) {
            replicate_part(&p, kinds[k], parts[i]);
            st->partitions++;
            progress_update(prog, ++done);
        }
        free(parts);
    }
    /* A whole pass without an error brought every usable disk group up to
     * date: reads may trust it alone again (storage/fresh.h). */
    if (!stopping(&p) && !p.first_err && !st->errors)
        for (size_t i = 0; i < ndg; i++)
            if (gen[i] && dg_usable(cluster_dg(c, i)))
                fresh_confirm(cluster_dg(c, i), gen[i]);
    free(gen);
    return p.first_err ? p.first_err : st->errors ? -EIO : 0;
}

/* ---- the background thread ---- */

struct replicator {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;    /* signalled on stop */
    atomic_bool stop;
    atomic_uint_fast64_t passes;
    struct cluster *c;
    const struct config *cfg;
};

/* Wait up to secs or until stop; true when stopping. */
static bool wait_interval(struct replicator *r, unsigned secs)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += secs;
    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->stop) &&
           pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&r->lock);
    return atomic_load(&r->stop);
}

static void log_pass(const struct replicator_stats *st, uint64_t ns, int rc)
{
    log_info("msg=\"replication pass done\" partitions=%llu suffixes_synced=%llu files_copied=%llu"
             " bytes_copied=%llu dbs_created=%llu rows_merged=%llu handoffs_moved=%llu"
             " reaped=%llu corrupt_skipped=%llu errors=%llu ms=%llu%s%s%s",
             (unsigned long long)st->partitions, (unsigned long long)st->suffixes_synced,
             (unsigned long long)st->files_copied, (unsigned long long)st->bytes_copied,
             (unsigned long long)st->dbs_created, (unsigned long long)st->rows_merged,
             (unsigned long long)st->handoffs_moved, (unsigned long long)st->reaped,
             (unsigned long long)st->corrupt, (unsigned long long)st->errors,
             (unsigned long long)(ns / 1000000), rc ? " err=\"" : "", rc ? err_str(rc) : "",
             rc ? "\"" : "");
}

static void *replicator_main(void *arg)
{
    struct replicator *r = arg;

    /* A pass lists every hash directory of every disk group: measured, a
     * third of the server's CPU while it runs beside a GET load. At the
     * default niceness the request threads come first; idle, it runs at
     * full speed. (Linux: the niceness of a thread is its own.) */
    (void)pthread_setname_np(pthread_self(), "replicator");
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), (int)r->cfg->replicator_nice) < 0)
        log_warn("msg=\"cannot lower the replicator's priority\" err=\"%s\"", err_str(-errno));

    /* The first pass starts at once, as Swift's replicator does: until a
     * pass confirms them, every disk group is stale (storage/fresh.h) and
     * every read asks two replicas. */
    for (unsigned wait = 0; !wait_interval(r, wait); wait = r->cfg->replicator_interval) {
        struct replicator_stats st = {0};
        uint64_t t0 = mono_ns();
        int rc = replicator_pass(r->c, r->cfg, NULL, &r->stop, &st);
        log_pass(&st, mono_ns() - t0, rc);
        atomic_fetch_add(&r->passes, 1);
    }
    return NULL;
}

int replicator_start(struct replicator **out, struct cluster *c, const struct config *cfg)
{
    struct replicator *r = xcalloc(1, sizeof(*r));
    pthread_condattr_t ca;
    int rc;

    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&r->stop, false);
    atomic_init(&r->passes, 0);
    r->c = c;
    r->cfg = cfg;
    dbsync_set_sync(cfg->fsync);
    rc = -pthread_create(&r->thread, NULL, replicator_main, r);
    if (rc < 0) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void replicator_stop(struct replicator *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

uint64_t replicator_passes(const struct replicator *r)
{
    return atomic_load(&r->passes);
}
