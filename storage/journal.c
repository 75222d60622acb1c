/* storage/journal.c: the small-write journals (journal.h), one per
 * filesystem: records queued by request threads and written and synced in
 * groups by one committer thread per journal; journal files rotated, synced
 * with syncfs and deleted by one checkpointer thread; replayed at open (the
 * record format and the replay of one file are in journal_replay.c).
 *
 * Locking: a journal's lock guards its queue and stop flag; its io lock
 * guards the current file (fd, generation, size), held by the committer
 * for a whole write and sync, and by the checkpointer to rotate. The
 * holds have their own lock. No thread holds two of them at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "fresh.h"
#include "io.h"
#include "journal.h"

#define LOCK_FILE "journal.lock"
#define FILE_PREFIX "journal-"
#define TICK_NS (100u * 1000 * 1000)    /* the checkpointer looks every 100 ms */

/* A request thread waiting for its records, which may sit on several
 * journals. */
struct journal_waiter {
    pthread_mutex_t lock;
    pthread_cond_t done;
    size_t left;
};

/* A journal file rotated out (or left after a failed write), deleted once
 * a checkpoint has synced. */
struct old_file {
    struct disk_group *dg;      /* the directory it is in */
    int fd;
    uint64_t gen;
};

struct journal {
    dev_t dev;                  /* the filesystem */
    struct disk_group **dgs;    /* its disk groups whose journal lock is held */
    int *lock_fds;
    size_t n_dgs;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       /* the queue and stop */
    pthread_cond_t wake;
    struct journal_append *head, *tail;
    bool stop;
    pthread_mutex_t io;         /* the current file and the old ones */
    size_t home;                /* dgs[home] holds the current file */
    int fd;                     /* the current file, or -1 when none could start */
    bool dir_synced;            /* the file's directory entry is on disk */
    uint64_t gen, next_gen, size;
    uint64_t first_ns;          /* when its oldest record was synced */
    struct old_file *old;
    size_t n_old;
    size_t n_old_due;           /* the first n_old_due go at this checkpoint */
    struct buf batch;           /* the committer's */
};

struct journals {
    struct journal **j;
    size_t n;
    struct disk_group **all;    /* every disk group: a checkpoint syncs each filesystem */
    size_t n_all;
    uint64_t checkpoint_ns;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       /* stop */
    pthread_cond_t wake;
    bool stop;
};

/* ---- holds ---- */

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_drained = PTHREAD_COND_INITIALIZER;
static uint64_t hold_epoch;
static uint64_t held[2];        /* by epoch parity: only two are ever live */

uint64_t journal_hold(void)
{
    pthread_mutex_lock(&hold_lock);
    uint64_t e = hold_epoch;
    held[e & 1]++;
    pthread_mutex_unlock(&hold_lock);
    return e;
}

void journal_release(uint64_t e)
{
    pthread_mutex_lock(&hold_lock);
    if (--held[e & 1] == 0)
        pthread_cond_broadcast(&hold_drained);
    pthread_mutex_unlock(&hold_lock);
}

/* Start a new epoch and wait until every hold of the old one is released. */
static void holds_drain(void)
{
    pthread_mutex_lock(&hold_lock);
    uint64_t e = hold_epoch++;
    while (held[e & 1] > 0)
        pthread_cond_wait(&hold_drained, &hold_lock);
    pthread_mutex_unlock(&hold_lock);
}

/* ---- journal files ---- */

static char *gen_path(const struct disk_group *dg, uint64_t gen)
{
    return xasprintf("%s/" FILE_PREFIX "%" PRIu64, dg_path(dg), gen);
}

/* Create generation gen's empty file in dg. Its directory entry is synced
 * by the committer before the first record in it counts (dir_synced), so a
 * start or a rotation waits for no sync. The fd, or -errno. */
static int create_gen(const struct disk_group *dg, uint64_t gen)
{
    char *path = gen_path(dg, gen);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : fd;

    free(path);
    return rc;
}

static void unlink_gen(const struct disk_group *dg, uint64_t gen)
{
    char *path = gen_path(dg, gen);

    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("msg=\"cannot remove journal file\" path=%s err=\"%s\"", path, err_str(-errno));
    free(path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The generations of the journal files in dg, sorted; *n of them. */
static uint64_t *list_gens(const struct disk_group *dg, size_t *n)
{
    DIR *d = opendir(dg_path(dg));
    struct dirent *e;
    uint64_t *g = NULL;
    size_t cap = 0;

    *n = 0;
    while (d && (e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0)
            continue;
        const char *num = e->d_name + strlen(FILE_PREFIX);
        unsigned long long v = strtoull(num, &end, 10);
        if (*num < '0' || *num > '9' || *end)
            continue;
        if (*n == cap)
            g = xrealloc(g, (cap = cap ? 2 * cap : 8) * sizeof(*g));
        g[(*n)++] = v;
    }
    if (d)
        closedir(d);
    if (*n > 1)
        qsort(g, *n, sizeof(*g), cmp_u64);
    return g;
}

/* Start the journal's next file (io lock held): in its home disk group, or
 * with move_on (the home just failed) in the next usable member after it;
 * the file it replaces waits for a checkpoint. 0, or the last error when
 * no member could take it (the current file stays). */
static int start_file(struct journal *j, bool move_on)
{
    int rc = -EIO;      /* no usable member */

    for (size_t k = move_on ? 1 : 0; k < j->n_dgs + (move_on ? 1 : 0); k++) {
        size_t at = (j->home + k) % j->n_dgs;
        struct disk_group *dg = j->dgs[at];
        if (!dg_usable(dg))
            continue;
        int fd = create_gen(dg, j->next_gen);
        if (fd < 0) {
            log_warn("msg=\"cannot start a journal file\" dg=%s err=\"%s\"", dg_path(dg),
                     err_str(fd));
            dg_note_result(dg, fd);
            rc = fd;
            continue;
        }
        if (j->fd >= 0) {
            j->old = xrealloc(j->old, (j->n_old + 1) * sizeof(*j->old));
            j->old[j->n_old++] =
                (struct old_file){.dg = j->dgs[j->home], .fd = j->fd, .gen = j->gen};
        }
        j->home = at;
        j->fd = fd;
        j->gen = j->next_gen++;
        j->dir_synced = false;
        j->size = 0;
        return 0;
    }
    return rc;
}

/* ---- the committer ---- */

static void finish(struct journal_append *a, int rc)
{
    struct journal_waiter *w = a->waiter;

    a->rc = rc;
    pthread_mutex_lock(&w->lock);
    if (--w->left == 0)
        pthread_cond_signal(&w->done);
    pthread_mutex_unlock(&w->lock);
}

/* Write the encoded batch at the current file's end and sync it (io lock
 * held). 0 or -errno; a failed batch is cut off again. */
static int append_synced(struct journal *j)
{
    struct disk_group *home = j->dgs[j->home];
    int rc = 0;

    for (size_t off = 0; rc == 0 && off < j->batch.len;) {
        ssize_t w = pwrite(j->fd, j->batch.data + off, j->batch.len - off,
                           (off_t)(j->size + off));
        if (w < 0)
            rc = -errno;
        else
            off += (size_t)w;
    }
    if (rc == 0 && fdatasync(j->fd) < 0)
        rc = -errno;
    /* A record in a file a power cut could unname is not synced yet. */
    if (rc == 0 && !j->dir_synced && (rc = fsync_dir(dg_path(home))) == 0)
        j->dir_synced = true;
    if (rc == 0) {
        if (j->size == 0)
            j->first_ns = mono_ns();
        j->size += j->batch.len;
    } else if (ftruncate(j->fd, (off_t)j->size) < 0) {
        /* no later record may follow half of this batch */
        log_warn("msg=\"cannot cut the journal\" dg=%s err=\"%s\"", dg_path(home),
                 err_str(-errno));
    }
    return rc;
}

/* Write the batch's records and sync them. A failure is its home disk
 * group's: it is marked, and the batch goes again to the next member, so
 * the other disk groups of the filesystem keep their journal. */
static int write_batch(struct journal *j, struct journal_append *batch)
{
    buf_reset(&j->batch);
    for (struct journal_append *a = batch; a; a = a->next)
        journal_record_encode(&j->batch, dg_id(a->dg), a->path, a->name, a->data, a->len);
    pthread_mutex_lock(&j->io);
    int rc = j->fd >= 0 ? 0 : start_file(j, false);
    for (size_t tries = 1; rc == 0; tries++) {
        struct disk_group *home = j->dgs[j->home];
        if ((rc = append_synced(j)) == 0)
            break;
        log_warn("msg=\"journal write failed\" dg=%s err=\"%s\"", dg_path(home), err_str(rc));
        dg_note_result(home, rc);
        if (tries < j->n_dgs && start_file(j, true) == 0)
            rc = 0;
        else
            break;
    }
    pthread_mutex_unlock(&j->io);
    return rc;
}

static void *committer(void *arg)
{
    struct journal *j = arg;

    (void)pthread_setname_np(pthread_self(), "journal");
    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!j->head && !j->stop)
            pthread_cond_wait(&j->wake, &j->lock);
        if (!j->head)
            break;      /* stopping, and the queue is drained */
        struct journal_append *batch = j->head;
        j->head = j->tail = NULL;
        pthread_mutex_unlock(&j->lock);
        int rc = write_batch(j, batch);
        while (batch) {
            struct journal_append *next = batch->next;
            finish(batch, rc);      /* batch may be gone once finished */
            batch = next;
        }
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

void journal_append_wait(struct journal_append *a, size_t n)
{
    struct journal_waiter w = {.left = n};

    if (n == 0)
        return;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.done, NULL);
    for (size_t i = 0; i < n; i++) {
        struct journal *j = dg_journal(a[i].dg);
        a[i].waiter = &w;
        a[i].next = NULL;
        pthread_mutex_lock(&j->lock);
        if (j->tail)
            j->tail->next = &a[i];
        else
            j->head = &a[i];
        j->tail = &a[i];
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
    }
    pthread_mutex_lock(&w.lock);
    while (w.left > 0)
        pthread_cond_wait(&w.done, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_cond_destroy(&w.done);
    pthread_mutex_destroy(&w.lock);
}

/* ---- checkpoints ---- */

/* Move j's records to a new file, so the checkpoint can delete the old
 * ones while writes go on; the files given up so far are the ones this
 * checkpoint deletes (one the committer gives up after this only held
 * records of writes that may still hold the checkpoint). A journal with
 * nothing new keeps its file. */
static void rotate(struct journal *j)
{
    pthread_mutex_lock(&j->io);
    if ((j->size > 0 || j->fd < 0) && start_file(j, false) < 0)
        j->first_ns = mono_ns();    /* try again one interval later, not every tick */
    j->n_old_due = j->n_old;
    pthread_mutex_unlock(&j->io);
}

/* Delete the files rotate marked due, now that a checkpoint synced. */
static void drop_old(struct journal *j)
{
    pthread_mutex_lock(&j->io);
    size_t n = j->n_old_due;
    struct old_file *due = NULL;
    if (n > 0) {    /* j->old is NULL until a first file is given up */
        due = xmalloc(n * sizeof(*due));
        memcpy(due, j->old, n * sizeof(*due));
        memmove(j->old, j->old + n, (j->n_old - n) * sizeof(*j->old));
        j->n_old -= n;
        j->n_old_due = 0;
    }
    pthread_mutex_unlock(&j->io);
    for (size_t k = 0; k < n; k++) {
        close(due[k].fd);
        unlink_gen(due[k].dg, due[k].gen);
    }
    free(due);
}

/* syncfs once per filesystem holding a disk group. 0 or the first error. */
static int sync_filesystems(struct journals *js)
{
    dev_t *seen = xcalloc(js->n_all ? js->n_all : 1, sizeof(*seen));
    size_t n_seen = 0;
    int first = 0;

    for (size_t i = 0; i < js->n_all; i++) {
        struct stat st;
        int fd = open(dg_path(js->all[i]), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool dup = false;
        int rc = fd < 0 || fstat(fd, &st) < 0 ? -errno : 0;
        for (size_t k = 0; rc == 0 && k < n_seen && !dup; k++)
            dup = seen[k] == st.st_dev;
        if (rc == 0 && !dup) {
            if (syncfs(fd) < 0)
                rc = -errno;
            else
                seen[n_seen++] = st.st_dev;     /* only a sync that worked covers the rest */
        }
        if (fd >= 0)
            close(fd);
        /* A disk group that is not usable holds nothing a record needs. */
        if (rc < 0 && dg_usable(js->all[i])) {
            log_warn("msg=\"journal checkpoint cannot sync\" dg=%s err=\"%s\"",
                     dg_path(js->all[i]), err_str(rc));
            dg_note_result(js->all[i], rc);
            if (first == 0)
                first = rc;
        }
    }
    free(seen);
    return first;
}

/* Rotate every journal, wait until the writes that used the old files are
 * listed, sync every filesystem, delete the old files. On a failed sync
 * the old files stay for the next checkpoint. */
static void checkpoint_all(struct journals *js)
{
    for (size_t i = 0; i < js->n; i++)
        rotate(js->j[i]);
    holds_drain();
    if (sync_filesystems(js) != 0)
        return;
    for (size_t i = 0; i < js->n; i++)
        drop_old(js->j[i]);
}

static bool checkpoint_due(struct journals *js)
{
    bool due = false;

    for (size_t i = 0; i < js->n && !due; i++) {
        struct journal *j = js->j[i];
        pthread_mutex_lock(&j->io);
        due = j->n_old > 0 || j->size >= JOURNAL_CHECKPOINT_BYTES ||
              (j->size > 0 && mono_ns() - j->first_ns >= js->checkpoint_ns);
        pthread_mutex_unlock(&j->io);
    }
    return due;
}

static void *checkpointer(void *arg)
{
    struct journals *js = arg;

    (void)pthread_setname_np(pthread_self(), "checkpointer");
    pthread_mutex_lock(&js->lock);
    while (!js->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += TICK_NS;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&js->wake, &js->lock, &until);
        if (js->stop)
            break;
        pthread_mutex_unlock(&js->lock);
        if (checkpoint_due(js))
            checkpoint_all(js);
        pthread_mutex_lock(&js->lock);
    }
    pthread_mutex_unlock(&js->lock);
    return NULL;
}

/* ---- open and close ---- */

static void journal_free(struct journal *j)
{
    if (!j)
        return;
    if (j->started) {
        pthread_mutex_lock(&j->lock);
        j->stop = true;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        pthread_join(j->thread, NULL);
    }
    for (size_t k = 0; k < j->n_old; k++)
        close(j->old[k].fd);
    free(j->old);
    if (j->fd >= 0)
        close(j->fd);
    for (size_t i = 0; i < j->n_dgs; i++)
        close(j->lock_fds[i]);     /* drops the flock */
    free(j->lock_fds);
    free(j->dgs);
    buf_release(&j->batch);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->io);
    free(j);
}

/* Take dg's journal lock: the fd holding it, or -1 when another process
 * owns it or it cannot be made (logged). */
static int lock_dg(struct disk_group *dg)
{
    char *path = xasprintf("%s/" LOCK_FILE, dg_path(dg));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;

    free(path);
    if (rc < 0) {
        log_warn("msg=\"no journal: small writes sync file by file\" dg=%s err=\"%s\"",
                 dg_path(dg), rc == -EWOULDBLOCK ? "owned by another process" : err_str(rc));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Add dg (locked at lock_fd) to the journal of its filesystem in js,
 * making that journal when it is the first. */
static void join_journal(struct journals *js, struct disk_group *dg, int lock_fd, dev_t dev)
{
    struct journal *j = NULL;

    for (size_t i = 0; i < js->n && !j; i++)
        if (js->j[i]->dev == dev)
            j = js->j[i];
    if (!j) {
        j = xcalloc(1, sizeof(*j));
        j->dev = dev;
        j->fd = -1;
        buf_init(&j->batch, 0);
        pthread_mutex_init(&j->lock, NULL);
        pthread_mutex_init(&j->io, NULL);
        pthread_cond_init(&j->wake, NULL);
        js->j[js->n++] = j;
    }
    j->dgs = xrealloc(j->dgs, (j->n_dgs + 1) * sizeof(*j->dgs));
    j->lock_fds = xrealloc(j->lock_fds, (j->n_dgs + 1) * sizeof(*j->lock_fds));
    j->dgs[j->n_dgs] = dg;
    j->lock_fds[j->n_dgs++] = lock_fd;
}

/* Drop the members that are not usable (their replay failed): they sync
 * file by file this run. */
static void drop_unusable(struct journal *j)
{
    size_t kept = 0;

    for (size_t i = 0; i < j->n_dgs; i++) {
        if (dg_usable(j->dgs[i])) {
            j->lock_fds[kept] = j->lock_fds[i];
            j->dgs[kept++] = j->dgs[i];
        } else {
            close(j->lock_fds[i]);
        }
    }
    j->n_dgs = kept;
}

static void free_set(struct journals *js)
{
    for (size_t i = 0; i < js->n; i++)
        journal_free(js->j[i]);
    free(js->j);
    free(js->all);
    pthread_cond_destroy(&js->wake);
    pthread_mutex_destroy(&js->lock);
    free(js);
}

/* Hand each name in names (NUL-separated) to on_name once. */
static void relist(struct buf *names, journal_name_fn *on_name, void *arg)
{
    size_t n = 0;
    char **list = NULL;

    for (size_t off = 0; off < names->len; off += strlen(names->data + off) + 1) {
        list = xrealloc(list, (n + 1) * sizeof(*list));
        list[n++] = names->data + off;
    }
    if (n > 1)
        qsort(list, n, sizeof(*list), cmp_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(list[i], list[i - 1]) != 0)
            on_name(list[i], strlen(list[i]), arg);
    free(list);
}

/* A journal file found at open. */
struct found_file {
    struct disk_group *dg;
    uint64_t gen;
    bool keep;      /* a record in it still has to be restored */
};

/* Replay every journal file in j's disk groups, oldest first per disk
 * group, appending names and the files to *found (n_found); each record
 * goes to the disk group it names. Sets j->next_gen past every file seen. */
static void replay_journal(struct journals *js, struct journal *j, struct buf *names,
                           struct found_file **found, size_t *n_found)
{
    for (size_t m = 0; m < j->n_dgs; m++) {
        struct disk_group *dg = j->dgs[m];
        size_t n_gens;
        uint64_t *gens = list_gens(dg, &n_gens);
        unsigned long restored = 0;
        long records = 0;
        for (size_t i = 0; i < n_gens; i++) {
            char *path = gen_path(dg, gens[i]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            struct journal_replay rp = {.dgs = js->all, .n_dgs = js->n_all, .home = dg,
                                        .names = names};
            long n = fd < 0 ? -errno : journal_replay_file(&rp, fd);
            if (fd >= 0)
                close(fd);
            if (n < 0) {
                /* its records may be what a torn file needs: no read may trust dg alone */
                log_warn("msg=\"cannot replay journal file\" path=%s err=\"%s\"", path,
                         err_str((int)n));
                dg_note_result(dg, (int)n);
                fresh_mark_stale(dg);
            } else {
                records += n;
                restored += rp.restored;
            }
            *found = xrealloc(*found, (*n_found + 1) * sizeof(**found));
            (*found)[(*n_found)++] =
                (struct found_file){.dg = dg, .gen = gens[i], .keep = n < 0 || rp.incomplete};
            if (gens[i] >= j->next_gen)
                j->next_gen = gens[i] + 1;
            free(path);
        }
        if (records > 0)
            log_info("msg=\"journal replayed\" dg=%s records=%ld restored=%lu", dg_path(dg),
                     records, restored);
        free(gens);
    }
}

int journals_open(struct journals **out, struct disk_group *const *dgs, size_t n,
                  unsigned checkpoint_ms, journal_name_fn *on_name, void *arg)
{
    struct journals *js = xcalloc(1, sizeof(*js));
    struct found_file *found = NULL;
    size_t n_found = 0;
    struct buf names;
    int rc = 0;

    *out = NULL;
    buf_init(&names, 0);
    js->checkpoint_ns = (uint64_t)checkpoint_ms * 1000000u;
    js->j = xcalloc(n ? n : 1, sizeof(*js->j));
    js->all = xcalloc(n ? n : 1, sizeof(*js->all));
    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->wake, NULL);
    /* One journal per filesystem, of the disk groups this process owns. */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        js->all[js->n_all++] = dgs[i];
        int lock_fd = dg_usable(dgs[i]) ? lock_dg(dgs[i]) : -1;
        if (lock_fd < 0)
            continue;
        if (fstat(lock_fd, &st) < 0) {
            log_warn("msg=\"no journal: small writes sync file by file\" dg=%s err=\"%s\"",
                     dg_path(dgs[i]), err_str(-errno));
            close(lock_fd);
            continue;
        }
        join_journal(js, dgs[i], lock_fd, st.st_dev);
    }
    /* Every file first (a name's replicas span three disk groups, and a
     * shared file holds records of each), then the listings, then a sync
     * of everything restored or relisted before the files go. After a
     * failed sync they stay, and the next start replays them again:
     * harmless. */
    for (size_t i = 0; i < js->n; i++)
        replay_journal(js, js->j[i], &names, &found, &n_found);
    relist(&names, on_name, arg);
    bool synced = names.len == 0 || sync_filesystems(js) == 0;
    for (size_t i = 0; i < n_found; i++)
        if (synced && !found[i].keep)
            unlink_gen(found[i].dg, found[i].gen);
    free(found);
    buf_release(&names);
    size_t kept = 0;
    for (size_t i = 0; i < js->n; i++) {
        struct journal *j = js->j[i];
        drop_unusable(j);
        int res = j->n_dgs > 0 ? start_file(j, false) : -ENODEV;
        if (res < 0) {
            if (res != -ENODEV)
                log_warn("msg=\"no journal: cannot start its file\" dg=%s err=\"%s\"",
                         dg_path(j->dgs[0]), err_str(res));
            journal_free(j);
            continue;
        }
        js->j[kept++] = j;
        if (rc == 0) {
            rc = -pthread_create(&j->thread, NULL, committer, j);
            j->started = rc == 0;
        }
    }
    js->n = kept;
    if (rc == 0) {
        rc = -pthread_create(&js->thread, NULL, checkpointer, js);
        js->started = rc == 0;
    }
    if (rc < 0) {
        log_warn("msg=\"cannot start the journals\" err=\"%s\"", err_str(rc));
        free_set(js);
        return rc;
    }
    for (size_t i = 0; i < js->n; i++)
        for (size_t m = 0; m < js->j[i]->n_dgs; m++)
            dg_set_journal(js->j[i]->dgs[m], js->j[i]);
    *out = js;
    return 0;
}

void journals_close(struct journals *js)
{
    if (!js)
        return;
    if (js->started) {
        pthread_mutex_lock(&js->lock);
        js->stop = true;
        pthread_cond_signal(&js->wake);
        pthread_mutex_unlock(&js->lock);
        pthread_join(js->thread, NULL);
    }
    for (size_t i = 0; i < js->n; i++)
        for (size_t m = 0; m < js->j[i]->n_dgs; m++)
            dg_set_journal(js->j[i]->dgs[m], NULL);
    /* Nothing is in flight: the last checkpoint empties every journal, and
     * the files can go (a failed sync leaves them for the next start). */
    checkpoint_all(js);
    bool clean = true;
    for (size_t i = 0; i < js->n; i++)
        clean = clean && js->j[i]->n_old == 0;
    for (size_t i = 0; i < js->n; i++) {
        struct journal *j = js->j[i];
        struct disk_group *home = j->dgs[j->home];
        uint64_t gen = j->gen;
        bool empty = clean && j->fd >= 0 && j->size == 0;
        journal_free(j);
        js->j[i] = NULL;
        if (empty)
            unlink_gen(home, gen);
    }
    free_set(js);
}
