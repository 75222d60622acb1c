/* storage/journal.c: the small-write journals (journal.h): records queued
 * by request threads and written and synced in groups by one committer
 * thread per disk group; journal files rotated, synced with syncfs and
 * deleted by one checkpointer thread; replayed at open (the record format
 * and the replay of one file are in journal_replay.c).
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

/* A journal file rotated out, deleted once a checkpoint has synced. */
struct old_file {
    int fd;
    uint64_t gen;
};

struct journal {
    struct disk_group *dg;
    int lock_fd;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;       /* the queue and stop */
    pthread_cond_t wake;
    struct journal_append *head, *tail;
    bool stop;
    pthread_mutex_t io;         /* the current file */
    int fd;
    bool dir_synced;            /* the file's directory entry is on disk */
    uint64_t gen, size;
    uint64_t first_ns;          /* when its oldest record was synced */
    struct old_file *old;       /* the checkpointer's */
    size_t n_old;
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

/* Create generation gen's empty file. Its directory entry is synced by
 * the committer before the first record in it counts (dir_synced), so a
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

/* Replay every journal file of j's disk group, oldest first, appending
 * names; the files stay until the caller has synced. Sets j->gen past the
 * newest. 0 or -errno. */
static int replay_dg(struct journal *j, struct buf *names, uint64_t **gens, size_t *n_gens)
{
    unsigned long restored_all = 0;
    long records = 0;
    int rc = 0;

    *gens = list_gens(j->dg, n_gens);
    for (size_t i = 0; i < *n_gens && rc == 0; i++) {
        char *path = gen_path(j->dg, (*gens)[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned long restored = 0;
        if (fd < 0) {
            rc = -errno;
        } else {
            long n = journal_replay_file(j->dg, fd, names, &restored);
            close(fd);
            if (n < 0)
                rc = (int)n;
            else
                records += n, restored_all += restored;
        }
        if (rc < 0)
            log_warn("msg=\"cannot replay journal file\" path=%s err=\"%s\"", path, err_str(rc));
        free(path);
        j->gen = (*gens)[i] + 1;
    }
    if (records > 0)
        log_info("msg=\"journal replayed\" dg=%s records=%ld restored=%lu", dg_path(j->dg),
                 records, restored_all);
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

/* Write the batch's records at the current file's end and sync them. */
static int write_batch(struct journal *j, struct journal_append *batch)
{
    int rc = 0;

    buf_reset(&j->batch);
    for (struct journal_append *a = batch; a; a = a->next)
        journal_record_encode(&j->batch, a->path, a->name, a->data, a->len);
    pthread_mutex_lock(&j->io);
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
    if (rc == 0 && !j->dir_synced && (rc = fsync_dir(dg_path(j->dg))) == 0)
        j->dir_synced = true;
    if (rc == 0) {
        if (j->size == 0)
            j->first_ns = mono_ns();
        j->size += j->batch.len;
    } else if (ftruncate(j->fd, (off_t)j->size) < 0) {
        /* no later record may follow half of this batch */
        log_warn("msg=\"cannot cut the journal\" dg=%s err=\"%s\"", dg_path(j->dg),
                 err_str(-errno));
    }
    pthread_mutex_unlock(&j->io);
    if (rc < 0) {
        log_warn("msg=\"journal write failed\" dg=%s err=\"%s\"", dg_path(j->dg), err_str(rc));
        dg_note_result(j->dg, rc);
    }
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
        struct journal *j = a[i].j;
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

/* Move j's records to a new file, so the checkpoint can delete the old one
 * while writes go on. A journal with nothing new keeps its file. */
static void rotate(struct journal *j)
{
    pthread_mutex_lock(&j->io);
    if (j->size > 0) {
        int fd = create_gen(j->dg, j->gen + 1);
        if (fd < 0) {
            log_warn("msg=\"cannot start a journal file\" dg=%s err=\"%s\"", dg_path(j->dg),
                     err_str(fd));
            dg_note_result(j->dg, fd);
            j->first_ns = mono_ns();    /* try again one interval later, not every tick */
        } else {
            j->old = xrealloc(j->old, (j->n_old + 1) * sizeof(*j->old));
            j->old[j->n_old++] = (struct old_file){.fd = j->fd, .gen = j->gen};
            j->fd = fd;
            j->dir_synced = false;
            j->gen++;
            j->size = 0;
        }
    }
    pthread_mutex_unlock(&j->io);
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
    for (size_t i = 0; i < js->n; i++) {
        struct journal *j = js->j[i];
        for (size_t k = 0; k < j->n_old; k++) {
            close(j->old[k].fd);
            unlink_gen(j->dg, j->old[k].gen);
        }
        j->n_old = 0;
    }
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
    if (j->lock_fd >= 0)
        close(j->lock_fd);     /* drops the flock */
    buf_release(&j->batch);
    pthread_cond_destroy(&j->wake);
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->io);
    free(j);
}

/* Take dg's journal lock. NULL when another process owns it or it cannot
 * be made (logged). */
static struct journal *journal_take(struct disk_group *dg)
{
    char *path = xasprintf("%s/" LOCK_FILE, dg_path(dg));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;

    if (rc < 0) {
        log_warn("msg=\"no journal: small writes sync file by file\" dg=%s err=\"%s\"",
                 dg_path(dg), rc == -EWOULDBLOCK ? "owned by another process" : err_str(rc));
        if (fd >= 0)
            close(fd);
        free(path);
        return NULL;
    }
    free(path);
    struct journal *j = xcalloc(1, sizeof(*j));
    j->dg = dg;
    j->lock_fd = fd;
    j->fd = -1;
    buf_init(&j->batch, 0);
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->io, NULL);
    pthread_cond_init(&j->wake, NULL);
    return j;
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

int journals_open(struct journals **out, struct disk_group *const *dgs, size_t n,
                  unsigned checkpoint_ms, journal_name_fn *on_name, void *arg)
{
    struct journals *js = xcalloc(1, sizeof(*js));
    uint64_t **gens = xcalloc(n ? n : 1, sizeof(*gens));
    size_t *n_gens = xcalloc(n ? n : 1, sizeof(*n_gens));
    struct buf names;
    int rc = 0;

    *out = NULL;
    buf_init(&names, 0);
    js->checkpoint_ns = (uint64_t)checkpoint_ms * 1000000u;
    js->j = xcalloc(n ? n : 1, sizeof(*js->j));
    js->all = xcalloc(n ? n : 1, sizeof(*js->all));
    pthread_mutex_init(&js->lock, NULL);
    pthread_cond_init(&js->wake, NULL);
    /* Every disk group's files first: a name's replicas span three. A disk
     * group whose replay fails is marked and gets no journal this run; its
     * files stay for the next start, and its replicas' peers serve. */
    for (size_t i = 0; i < n; i++) {
        js->all[js->n_all++] = dgs[i];
        struct journal *j = dg_usable(dgs[i]) ? journal_take(dgs[i]) : NULL;
        if (!j)
            continue;
        int res = replay_dg(j, &names, &gens[js->n], &n_gens[js->n]);
        if (res < 0) {
            /* some of its files may be torn: no read may trust it alone */
            dg_note_result(j->dg, res);
            fresh_mark_stale(j->dg);
            free(gens[js->n]);
            gens[js->n] = NULL;
            journal_free(j);
            continue;
        }
        js->j[js->n++] = j;
    }
    /* The listings once every file is back; then everything restored or
     * relisted is synced before the old files go (after a failed sync they
     * stay, and the next start replays them again: harmless). */
    relist(&names, on_name, arg);
    bool synced = names.len == 0 || sync_filesystems(js) == 0;
    size_t kept = 0;
    for (size_t i = 0; i < js->n; i++) {
        struct journal *j = js->j[i];
        for (size_t k = 0; synced && k < n_gens[i]; k++)
            unlink_gen(j->dg, gens[i][k]);
        free(gens[i]);
        j->fd = create_gen(j->dg, j->gen);
        if (j->fd < 0) {
            log_warn("msg=\"no journal: cannot start its file\" dg=%s err=\"%s\"",
                     dg_path(j->dg), err_str(j->fd));
            dg_note_result(j->dg, j->fd);
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
    free(gens);
    free(n_gens);
    buf_release(&names);
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
        dg_set_journal(js->j[i]->dg, js->j[i]);
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
        dg_set_journal(js->j[i]->dg, NULL);
    /* Nothing is in flight: the last checkpoint empties every journal, and
     * the files can go (a failed sync leaves them for the next start). */
    checkpoint_all(js);
    bool clean = true;
    for (size_t i = 0; i < js->n; i++)
        clean = clean && js->j[i]->n_old == 0;
    for (size_t i = 0; i < js->n; i++) {
        struct journal *j = js->j[i];
        struct disk_group *dg = j->dg;
        uint64_t gen = j->gen;
        bool empty = clean && j->size == 0;
        journal_free(j);
        js->j[i] = NULL;
        if (empty)
            unlink_gen(dg, gen);
    }
    free_set(js);
}
