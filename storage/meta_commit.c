/* storage/meta_commit.c: This file implements the group commit of meta.c's
 * replicated writes (meta_int.h): one queue and a few writer threads per
 * disk group, and the requests a submitter waits on.
 *
 * Why: with PRAGMA synchronous=FULL every commit costs a WAL sync, and the
 * filesystem batches concurrent syncs into one journal commit while it
 * serialises sequential ones. So the replicas of a write run in parallel
 * (one writer per disk group), and all the writes pending for one DB when a
 * writer gets to it share one transaction.
 *
 * Locking: the commit lock guards the list of queues; a queue's lock guards
 * its DB table, its run list and each pending list; a request's lock guards
 * its done flags and counts. None is held while talking to SQLite, and no
 * thread holds two of them at once. A DB is run by at most one writer at a
 * time (running), so writers never queue up behind one DB's handle mutex
 * while other DBs wait; what arrives for it meanwhile is its next batch.
 *
 * Shutdown: commit_free lets the writers drain their queues (writes whose
 * submitter stopped waiting still complete) and joins them. */
#include "meta_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/util.h"

/* Most DBs of one disk group committing at once; more lets the filesystem
 * batch more syncs into one journal commit. */
#ifndef WRITERS_PER_DG
#define WRITERS_PER_DG 8
#endif
#define DB_BUCKETS 64 /* power of two */

/* The writes pending for one DB on one disk group. */
struct wdb {
    struct placement pl; /* kind and hash name the DB */
    struct commit_op *head, **tail;
    bool queued;  /* in the run list */
    bool running; /* a writer is committing its previous batch */
    struct wdb *hash_next, *run_next;
};

/* One disk group's queue and writer threads. */
struct wq {
    struct commit *c;
    struct disk_group *dg;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* writers wait here for a runnable DB */
    struct wdb *buckets[DB_BUCKETS];
    struct wdb *run_head, **run_tail;
    unsigned n_runnable, n_threads, n_idle;
    bool stopping;
    pthread_t threads[WRITERS_PER_DG];
    struct wq *next;
};

struct commit {
    struct db_pool *pool;
    pthread_mutex_t lock; /* guards queues */
    struct wq *queues;
    atomic_uint_fast64_t n_commits;
};

struct commit *commit_new(struct db_pool *p)
{
    struct commit *c = xcalloc(1, sizeof(*c));

    c->pool = p;
    pthread_mutex_init(&c->lock, NULL);
    atomic_init(&c->n_commits, 0);
    return c;
}

uint64_t commit_count(const struct commit *c)
{
    return (uint64_t)atomic_load(&((struct commit *)c)->n_commits);
}

/* ---- requests ---- */

void commit_req_init(struct commit_req *r, const struct placement *pl, struct disk_group *const *dg,
                     size_t n, replica_fn *fn)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &attr);
    pthread_condattr_destroy(&attr);
    r->refs = (unsigned)n + 1;
    r->n_ops = n;
    r->n_done = r->n_ok = 0;
    r->relaxed = false;
    r->pl = *pl;
    for (size_t i = 0; i < n; i++) {
        r->dg[i] = dg[i];
        r->op[i] = (struct commit_op){.fn = fn, .req = r};
    }
}

static void req_unref_locked_out(struct commit_req *r)
{
    bool last = --r->refs == 0;

    pthread_mutex_unlock(&r->lock);
    if (last) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        r->destroy(r);
    }
}

void commit_req_put(struct commit_req *r)
{
    pthread_mutex_lock(&r->lock);
    req_unref_locked_out(r);
}

/* A writer finished op: run the hook, tell the submitter, drop the op's
 * reference. */
static void op_complete(struct db_pool *p, struct commit_op *op)
{
    struct commit_req *r = op->req;

    if (op->rc == 0 && r->committed)
        r->committed(p, r, op);
    pthread_mutex_lock(&r->lock);
    op->done = true;
    r->n_done++;
    r->n_ok += op->rc == 0;
    pthread_cond_broadcast(&r->cond);
    req_unref_locked_out(r);
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void commit_wait(struct commit_req *r, unsigned grace_ms, struct commit_result *res)
{
    struct timespec deadline;
    bool have_deadline = false;

    pthread_mutex_lock(&r->lock);
    while (r->n_done < r->n_ops) {
        if (r->n_ok < QUORUM) {
            pthread_cond_wait(&r->cond, &r->lock);
            continue;
        }
        if (!have_deadline) {
            deadline_after(&deadline, grace_ms);
            have_deadline = true;
        }
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
            break;
    }
    /* An op not done is being written by its writer: read only done ones. */
    for (size_t i = 0; i < r->n_ops; i++) {
        res[i].done = r->op[i].done;
        res[i].rc = res[i].done ? r->op[i].rc : 0;
        res[i].opened = res[i].done && r->op[i].opened;
    }
    pthread_mutex_unlock(&r->lock);
}

/* ---- the writers ---- */

static size_t db_bucket(const struct placement *pl)
{
    return ((size_t)pl->hash[0] << 8 | pl->hash[1]) & (DB_BUCKETS - 1);
}

static void run_push(struct wq *q, struct wdb *d)
{
    d->run_next = NULL;
    *q->run_tail = d;
    q->run_tail = &d->run_next;
    d->queued = true;
    q->n_runnable++;
}

static struct wdb *run_pop(struct wq *q)
{
    struct wdb *d = q->run_head;

    q->run_head = d->run_next;
    if (!q->run_head)
        q->run_tail = &q->run_head;
    d->queued = false;
    q->n_runnable--;
    return d;
}

static void wdb_forget(struct wq *q, struct wdb *d)
{
    struct wdb **b = &q->buckets[db_bucket(&d->pl)];

    while (*b != d)
        b = &(*b)->hash_next;
    *b = d->hash_next;
    free(d);
}

/* Commit one batch of d's ops, with q unlocked. */
static void run_batch(struct wq *q, struct wdb *d, struct commit_op *ops)
{
    if (meta_batch_run(q->c->pool, &d->pl, q->dg, ops) == 0)
        atomic_fetch_add(&q->c->n_commits, 1);
    while (ops) {
        struct commit_op *next = ops->next; /* ops may be freed once complete */
        op_complete(q->c->pool, ops);
        ops = next;
    }
}

/* Commit the batch of the first runnable DB, with q locked on entry and
 * on return (unlocked meanwhile). False when nothing was runnable. */
static bool writer_step(struct wq *q)
{
    if (!q->run_head)
        return false;
    struct wdb *d = run_pop(q);
    struct commit_op *ops = d->head;
    d->head = NULL;
    d->tail = &d->head;
    d->running = true;
    pthread_mutex_unlock(&q->lock);
    run_batch(q, d, ops);
    pthread_mutex_lock(&q->lock);
    d->running = false;
    if (d->head)
        run_push(q, d); /* what arrived meanwhile is its next batch */
    else
        wdb_forget(q, d);
    return true;
}

/* Take runnable DBs until the queue stops and is drained. */
static void *writer_main(void *arg)
{
    struct wq *q = arg;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->run_head && !q->stopping) {
            q->n_idle++;
            pthread_cond_wait(&q->cond, &q->lock);
            q->n_idle--;
        }
        if (!writer_step(q))
            break; /* stopping, and drained */
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

/* The queue of dg, created on first use. */
static struct wq *wq_get(struct commit *c, struct disk_group *dg)
{
    struct wq *q;

    pthread_mutex_lock(&c->lock);
    for (q = c->queues; q && q->dg != dg; q = q->next)
        ;
    if (!q) {
        q = xcalloc(1, sizeof(*q));
        q->c = c;
        q->dg = dg;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        q->run_tail = &q->run_head;
        q->next = c->queues;
        c->queues = q;
    }
    pthread_mutex_unlock(&c->lock);
    return q;
}

static struct wdb *wdb_get(struct wq *q, const struct placement *pl)
{
    struct wdb **b = &q->buckets[db_bucket(pl)], *d;

    for (d = *b; d; d = d->hash_next)
        if (d->pl.kind == pl->kind && memcmp(d->pl.hash, pl->hash, sizeof(pl->hash)) == 0)
            return d;
    d = xcalloc(1, sizeof(*d));
    d->pl = *pl;
    d->tail = &d->head;
    d->hash_next = *b;
    *b = d;
    return d;
}

/* Start one more writer when the runnable DBs outnumber the idle writers.
 * Called with q locked. False only when q has no writer at all. */
static bool wq_staff(struct wq *q)
{
    if (q->n_runnable > q->n_idle && q->n_threads < WRITERS_PER_DG) {
        int rc = pthread_create(&q->threads[q->n_threads], NULL, writer_main, q);
        if (rc == 0)
            q->n_threads++;
        else
            log_error("msg=\"cannot start db writer\" dg=%s err=\"%s\"", dg_path(q->dg),
                      err_str(-rc));
    }
    pthread_cond_signal(&q->cond);
    return q->n_threads > 0;
}

static void wq_push(struct wq *q, struct commit_op *op, const struct placement *pl)
{
    pthread_mutex_lock(&q->lock);
    struct wdb *d = wdb_get(q, pl);
    op->next = NULL;
    *d->tail = op;
    d->tail = &op->next;
    if (!d->queued && !d->running)
        run_push(q, d);
    if (!wq_staff(q))
        while (writer_step(q)) /* no writer could start: be one, rather than hang */
            ;
    pthread_mutex_unlock(&q->lock);
}

void commit_submit(struct commit *c, struct commit_req *r)
{
    for (size_t i = 0; i < r->n_ops; i++)
        wq_push(wq_get(c, r->dg[i]), &r->op[i], &r->pl);
}

void commit_free(struct commit *c)
{
    if (!c)
        return;
    for (struct wq *q = c->queues; q; q = q->next) {
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
    }
    while (c->queues) {
        struct wq *q = c->queues;
        c->queues = q->next;
        for (unsigned i = 0; i < q->n_threads; i++)
            pthread_join(q->threads[i], NULL);
        pthread_cond_destroy(&q->cond);
        pthread_mutex_destroy(&q->lock);
        free(q);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}
