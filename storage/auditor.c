/* storage/auditor.c: This file implements the auditor and the quarantine
 * (auditor.h): a paced walk of every disk group's objects/, containers/ and
 * accounts/ trees that checks each file and moves the corrupt ones to
 * <dg>/quarantined/.
 *
 * Pacing follows Swift's ratelimit_sleep: each unit (a file, or a 64 KiB
 * chunk of bytes) pushes a "next allowed" time forward by 1/rate, and the
 * walk sleeps while that time is ahead of the clock. Credit saved while the
 * walk was slowed down elsewhere is capped at one second, so the auditor
 * never bursts. The sleeps wait on a condition variable, so auditor_stop
 * ends a pass within one chunk. */
#include "auditor.h"
#include "fresh.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/progress.h"
#include "../common/timefmt.h"
#include "meta.h"
#include "object.h"

#define NS_PER_S 1000000000ULL
#define PACE_CREDIT_NS NS_PER_S      /* most time a pacer may fall behind */
#define QUARANTINE_TRIES 100         /* ".<n>" suffixes tried for a taken name */

struct pacer {
    uint64_t per_sec;     /* 0: not limited */
    uint64_t next_ns;     /* when the next unit may be read */
};

struct auditor {
    struct disk_group **dgs;
    size_t n_dg;
    struct auditor_opts opts;
    struct pacer bytes, files;
    struct auditor_stats *st;        /* the running pass's counters */
    struct progress *prog;
    uint64_t units_done;

    uint64_t (*now)(void *ctx);
    void (*sleep)(void *ctx, uint64_t ns);
    void *clock_ctx;

    pthread_mutex_t lock;            /* guards stop; cond wakes sleepers */
    pthread_cond_t cond;
    atomic_bool stop;
    bool thread_running;
    pthread_t thread;
    unsigned interval_s;
};

static struct {
    atomic_uint_fast64_t files, bytes, dbs, quarantined, errors;
} totals;

static const char *const kind_dir[] = {"objects", "containers", "accounts"};

void auditor_totals(struct auditor_stats *out)
{
    out->files = atomic_load(&totals.files);
    out->bytes = atomic_load(&totals.bytes);
    out->dbs = atomic_load(&totals.dbs);
    out->quarantined = atomic_load(&totals.quarantined);
    out->errors = atomic_load(&totals.errors);
}

/* ---- quarantine ---- */

/* mkdir that accepts an existing directory. */
static int mkdir_exist_ok(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* Make <dg>/quarantined/<kind>/<hash> and write its path into out. */
static int quarantine_dir(struct disk_group *dg, enum item_kind kind, const char *hash_hex,
                          char out[PATH_MAX])
{
    int rc, n;

    n = snprintf(out, PATH_MAX, "%s/quarantined", dg_path(dg));
    if (n < 0 || n >= PATH_MAX || (rc = mkdir_exist_ok(out)) < 0)
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : rc;
    n = snprintf(out, PATH_MAX, "%s/quarantined/%s", dg_path(dg), kind_dir[kind]);
    if (n < 0 || n >= PATH_MAX || (rc = mkdir_exist_ok(out)) < 0)
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : rc;
    n = snprintf(out, PATH_MAX, "%s/quarantined/%s/%s", dg_path(dg), kind_dir[kind], hash_hex);
    if (n < 0 || n >= PATH_MAX)
        return -ENAMETOOLONG;
    return mkdir_exist_ok(out);
}

/* Link fname into qdir under a free name, then unlink the original: a
 * link never replaces an existing file, so nothing quarantined earlier is
 * lost, and the data is never in neither place. */
static int move_into(int dfd, const char *fname, const char *qdir)
{
    char dst[PATH_MAX];

    for (unsigned i = 0; i < QUARANTINE_TRIES; i++) {
        int n = i ? snprintf(dst, sizeof(dst), "%s/%s.%u", qdir, fname, i)
                  : snprintf(dst, sizeof(dst), "%s/%s", qdir, fname);
        if (n < 0 || (size_t)n >= sizeof(dst))
            return -ENAMETOOLONG;
        if (linkat(dfd, fname, AT_FDCWD, dst, 0) == 0)
            return unlinkat(dfd, fname, 0) == 0 ? 0 : -errno;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Move one file; counted when count is set (a DB's -wal and -shm are part
 * of the DB, not quarantines of their own). */
static int quarantine_move(struct disk_group *dg, enum item_kind kind, const char *hash_hex,
                           int dfd, const char *fname, bool count)
{
    char qdir[PATH_MAX];
    int rc = quarantine_dir(dg, kind, hash_hex, qdir);

    if (rc == 0)
        rc = move_into(dfd, fname, qdir);
    if (rc == 0) {
        /* Make both directory changes durable; a failure here only means
         * the move may be replayed or undone by a crash, never lost data. */
        int qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (qfd >= 0) {
            (void)fsync(qfd);
            close(qfd);
        }
        (void)fsync(dfd);
        fresh_mark_stale(dg);   /* it lacks a copy until the replicator runs */
        if (count)
            atomic_fetch_add(&totals.quarantined, 1);
    }
    if (rc != 0 && rc != -ENOENT)
        dg_note_result(dg, rc);
    return rc;
}

int quarantine_file(struct disk_group *dg, enum item_kind kind, const char *hash_hex, int dfd,
                    const char *fname)
{
    return quarantine_move(dg, kind, hash_hex, dfd, fname, true);
}

/* ---- pacing ---- */

static uint64_t real_now(void *ctx)
{
    (void)ctx;
    return mono_ns();
}

/* Wait ns, or less when auditor_stop is called. */
static void real_sleep(void *ctx, uint64_t ns)
{
    struct auditor *a = ctx;
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t t = (uint64_t)until.tv_sec * NS_PER_S + (uint64_t)until.tv_nsec + ns;
    until.tv_sec = (time_t)(t / NS_PER_S);
    until.tv_nsec = (long)(t % NS_PER_S);
    pthread_mutex_lock(&a->lock);
    while (!atomic_load(&a->stop) &&
           pthread_cond_timedwait(&a->cond, &a->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&a->lock);
}

/* Take units from a pacer, sleeping first if the walk is ahead of the
 * rate. 0, or -ECANCELED once the auditor is asked to stop. */
static int pace(struct auditor *a, struct pacer *p, uint64_t units)
{
    if (p->per_sec) {
        uint64_t now = a->now(a->clock_ctx);
        if (p->next_ns == 0)     /* the first unit: no credit saved yet */
            p->next_ns = now;
        if (now > p->next_ns + PACE_CREDIT_NS)
            p->next_ns = now - PACE_CREDIT_NS;
        if (p->next_ns > now)
            a->sleep(a->clock_ctx, p->next_ns - now);
        p->next_ns += units * NS_PER_S / p->per_sec;
    }
    return atomic_load(&a->stop) ? -ECANCELED : 0;
}

static int pace_bytes(void *ctx, size_t n)
{
    struct auditor *a = ctx;
    int rc = pace(a, &a->bytes, n);

    if (rc == 0) {
        a->st->bytes += n;
        atomic_fetch_add(&totals.bytes, n);
    }
    return rc;
}

static int pace_file(struct auditor *a)
{
    int rc = pace(a, &a->files, 1);

    if (rc == 0) {
        a->st->files++;
        atomic_fetch_add(&totals.files, 1);
    }
    return rc;
}

/* ---- checking one item directory ---- */

static void note_error(struct auditor *a, struct disk_group *dg, const char *dir,
                       const char *fname, int rc)
{
    log_warn("msg=\"audit cannot read file\" dg=%s dir=%s file=%s err=\"%s\"", dg_path(dg), dir,
             fname, err_str(rc));
    dg_note_result(dg, rc);
    a->st->errors++;
    atomic_fetch_add(&totals.errors, 1);
}

static void note_quarantine(struct auditor *a, struct disk_group *dg, enum item_kind kind,
                            const char *hash, const char *fname, int why, int rc)
{
    if (rc == 0)
        a->st->quarantined++;
    log_warn("msg=\"corrupt replica quarantined\" dg=%s kind=%s hash=%s file=%s why=\"%s\"%s%s",
             dg_path(dg), kind_dir[kind], hash, fname, err_str(why), rc ? " move_err=" : "",
             rc ? err_str(rc) : "");
}

/* Check one file of an object hash directory. */
static int audit_object_file(struct auditor *a, struct disk_group *dg, const char *dir,
                             const char *hash, int dfd, const char *fname)
{
    struct object_meta m;
    int64_t ts;
    int rc;

    switch (parse_object_file_name(fname, &ts)) {
    case OBJECT_FILE_DATA:
        if ((rc = pace_file(a)) < 0)
            return rc;
        rc = object_audit_data(dfd, fname, &m, pace_bytes, a);
        object_meta_release(&m);
        break;
    case OBJECT_FILE_META:
        if ((rc = pace_file(a)) < 0)
            return rc;
        rc = object_audit_meta(dfd, fname);
        break;
    case OBJECT_FILE_TS:
        return pace_file(a);    /* an empty file: its name is all there is */
    default:
        return 0;               /* not ours (an operator's note, a lost+found) */
    }
    if (rc == -ECANCELED)
        return rc;
    if (rc == ERR_CORRUPT)
        note_quarantine(a, dg, ITEM_OBJECT, hash, fname, rc,
                        quarantine_file(dg, ITEM_OBJECT, hash, dfd, fname));
    else if (rc < 0 && rc != -ENOENT)   /* ENOENT: superseded meanwhile */
        note_error(a, dg, dir, fname, rc);
    return 0;
}

static int audit_object_dir(struct auditor *a, struct disk_group *dg, const char *dir,
                            const char *hash)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *e;
    DIR *d;
    int rc = 0;

    if (dfd < 0)
        return 0;   /* removed meanwhile */
    d = fdopendir(dup(dfd));
    while (d && rc == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.')
            rc = audit_object_file(a, dg, dir, hash, dfd, e->d_name);
    if (d)
        closedir(d);
    close(dfd);
    return rc;
}

/* Move a DB and its WAL and shared-memory files aside. */
static int quarantine_db(struct auditor *a, struct disk_group *dg, enum item_kind kind,
                         const char *path, const char *dir, const char *hash, const char *fname)
{
    char side[NAME_MAX + 8];
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (dfd < 0)
        return -errno;
    if (a->opts.db)
        db_pool_forget(a->opts.db, path);
    rc = quarantine_move(dg, kind, hash, dfd, fname, true);
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        snprintf(side, sizeof(side), "%s%s", fname, i ? "-shm" : "-wal");
        int r2 = quarantine_move(dg, kind, hash, dfd, side, false);
        if (r2 != 0 && r2 != -ENOENT)
            log_warn("msg=\"cannot quarantine db side file\" dir=%s file=%s err=\"%s\"", dir,
                     side, err_str(r2));
    }
    close(dfd);
    return rc;
}

/* Check the <hash>.db of a container or account directory. */
static int audit_db_dir(struct auditor *a, struct disk_group *dg, enum item_kind kind,
                        const char *dir, const char *hash)
{
    char path[PATH_MAX], fname[40];   /* "<32 hex>.db": is_hash_name checked it */
    struct stat st;
    int rc;

    if (snprintf(fname, sizeof(fname), "%s.db", hash) >= (int)sizeof(fname))
        return 0;
    if (snprintf(path, sizeof(path), "%s/%s", dir, fname) >= (int)sizeof(path) ||
        stat(path, &st) != 0)
        return 0;
    /* A DB costs a file and its size against the rates, but is counted
     * as a DB, not a file. */
    if ((rc = pace(a, &a->files, 1)) < 0 || (rc = pace_bytes(a, (size_t)st.st_size)) < 0)
        return rc;
    rc = db_check_file(path);
    a->st->dbs++;
    atomic_fetch_add(&totals.dbs, 1);
    if (rc == ERR_CORRUPT)
        note_quarantine(a, dg, kind, hash, fname, rc,
                        quarantine_db(a, dg, kind, path, dir, hash, fname));
    else if (rc < 0 && rc != -ENOENT && rc != -EBUSY)
        note_error(a, dg, dir, fname, rc);
    return 0;
}

/* ---- the walk ---- */

static bool is_hash_name(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == 32 && s[n] == '\0';
}

/* Walk <part>/<suffix>/<hash> below root (depth 0 = partitions). */
static int walk(struct auditor *a, struct disk_group *dg, enum item_kind kind, const char *root,
                int depth)
{
    DIR *d = opendir(root);
    struct dirent *e;
    char path[PATH_MAX];
    int rc = 0;

    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : (dg_note_result(dg, -errno), 0);
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof(path), "%s/%s", root, e->d_name) >= (int)sizeof(path))
            continue;
        if (depth < 2)
            rc = walk(a, dg, kind, path, depth + 1);
        else if (is_hash_name(e->d_name))
            rc = kind == ITEM_OBJECT ? audit_object_dir(a, dg, path, e->d_name)
                                     : audit_db_dir(a, dg, kind, path, e->d_name);
        if (depth == 0)
            progress_update(a->prog, ++a->units_done);
    }
    closedir(d);
    return rc;
}

/* Partition directories in one tree, for the progress total. */
static uint64_t count_entries(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *e;
    uint64_t n = 0;

    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static uint64_t count_parts(const struct auditor *a)
{
    char root[PATH_MAX];
    uint64_t n = 0;

    for (size_t i = 0; i < a->n_dg; i++)
        for (size_t k = 0; k < ARRAY_SIZE(kind_dir); k++) {
            snprintf(root, sizeof(root), "%s/%s", dg_path(a->dgs[i]), kind_dir[k]);
            n += count_entries(root);
        }
    return n;
}

int auditor_pass(struct auditor *a, struct auditor_stats *st)
{
    char root[PATH_MAX];
    int rc = 0;

    a->st = st;
    a->units_done = 0;
    a->prog = a->opts.progress ? progress_start("auditing partitions", count_parts(a), 0) : NULL;
    for (size_t i = 0; i < a->n_dg && rc == 0; i++) {
        if (!dg_usable(a->dgs[i]))
            continue;
        for (size_t k = 0; k < ARRAY_SIZE(kind_dir) && rc == 0; k++) {
            snprintf(root, sizeof(root), "%s/%s", dg_path(a->dgs[i]), kind_dir[k]);
            rc = walk(a, a->dgs[i], (enum item_kind)k, root, 0);
        }
    }
    progress_finish(a->prog);
    a->prog = NULL;
    a->st = NULL;
    return rc;
}

/* ---- lifecycle and the background thread ---- */

int auditor_new(struct auditor **out, struct disk_group *const *dgs, size_t n,
                const struct auditor_opts *opts)
{
    struct auditor *a;
    pthread_condattr_t ca;

    if (n == 0 || !opts)
        return -EINVAL;
    a = xcalloc(1, sizeof(*a));
    a->dgs = xmalloc(n * sizeof(*a->dgs));
    memcpy(a->dgs, dgs, n * sizeof(*a->dgs));
    a->n_dg = n;
    a->opts = *opts;
    a->bytes.per_sec = opts->bytes_per_second;
    a->files.per_sec = opts->files_per_second;
    a->now = real_now;
    a->sleep = real_sleep;
    a->clock_ctx = a;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&a->stop, false);
    *out = a;
    return 0;
}

void auditor_set_clock(struct auditor *a, uint64_t (*now)(void *ctx),
                       void (*sleep)(void *ctx, uint64_t ns), void *ctx)
{
    a->now = now;
    a->sleep = sleep;
    a->clock_ctx = ctx;
    a->bytes.next_ns = a->files.next_ns = 0;
}

void auditor_stop(struct auditor *a)
{
    pthread_mutex_lock(&a->lock);
    atomic_store(&a->stop, true);
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static void *auditor_main(void *arg)
{
    struct auditor *a = arg;

    while (!atomic_load(&a->stop)) {
        struct auditor_stats st = {0};
        uint64_t t0 = mono_ns();
        int rc = auditor_pass(a, &st);
        uint64_t took = mono_ns() - t0;
        log_info("msg=\"audit pass %s\" files=%llu bytes=%llu dbs=%llu quarantined=%llu "
                 "errors=%llu seconds=%.1f",
                 rc ? "stopped" : "done", (unsigned long long)st.files,
                 (unsigned long long)st.bytes, (unsigned long long)st.dbs,
                 (unsigned long long)st.quarantined, (unsigned long long)st.errors,
                 (double)took / 1e9);
        uint64_t interval = (uint64_t)a->interval_s * NS_PER_S;
        if (took < interval)
            real_sleep(a, interval - took);
    }
    return NULL;
}

int auditor_start(struct auditor *a, unsigned interval_s)
{
    int rc;

    a->interval_s = interval_s;
    rc = -pthread_create(&a->thread, NULL, auditor_main, a);
    a->thread_running = rc == 0;
    return rc;
}

void auditor_free(struct auditor *a)
{
    if (!a)
        return;
    if (a->thread_running) {
        auditor_stop(a);
        pthread_join(a->thread, NULL);
    }
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a->dgs);
    free(a);
}
