/* storage/meta_int.h: internals shared by meta.c (SQLite) and meta_commit.c
 * (the group commit of replicated writes). Nothing outside storage/meta*.c
 * and storage/users.c (which borrows the SQL helpers) includes this.
 *
 * A replicated write that may run in parallel (object rows, for now) is a
 * commit_req holding one commit_op per replica. commit_submit() queues each
 * op on its disk group; a writer thread of that disk group takes every op
 * pending for one DB, runs them in one transaction (one WAL sync) through
 * meta_batch_run() and completes them. So the replicas commit in parallel on
 * their disk groups, and concurrent writes to one DB share a commit. */
#ifndef SWIFTLET_STORAGE_META_INT_H
#define SWIFTLET_STORAGE_META_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dg.h"

struct db_pool;
struct db_handle;
struct commit;
struct commit_req;

/* Work done on one replica inside a transaction: 0 or a negative code. */
typedef int replica_fn(struct db_handle *h, void *arg);

/* One write to one replica. fn and arg are set by the submitter; rc and
 * opened by the writer thread before it marks the op done. */
struct commit_op {
    replica_fn *fn;
    void *arg;
    int rc;
    bool opened; /* the DB could be opened */
    bool done;   /* guarded by req->lock */
    struct commit_req *req;
    struct commit_op *next; /* in its DB's pending list */
};

/* What the submitter sees of one op when it stops waiting. */
struct commit_result {
    int rc;
    bool opened, done;
};

/* A write to the REPLICAS copies of one DB. Heap-allocated by the submitter
 * (usually embedded first in a larger struct holding the ops' args), since a
 * writer may finish an op after the submitter has returned; destroy frees
 * it when the last reference goes. */
struct commit_req {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned refs; /* the submitter + each op not yet done */
    size_t n_ops, n_done, n_ok;
    struct placement pl; /* names the DB; op[i] goes to dg[i] */
    struct disk_group *dg[REPLICAS];
    struct commit_op op[REPLICAS];
    bool relaxed; /* may commit without a WAL sync (db_object_put) */
    /* Called by the writer thread after op committed, before the
     * submitter is told (NULL: nothing to do). */
    void (*committed)(struct db_pool *p, struct commit_req *r, struct commit_op *op);
    void (*destroy)(struct commit_req *r);
};

/* ---- meta_commit.c ---- */

/* The per-pool group-commit state; writer threads start on first use. */
struct commit *commit_new(struct db_pool *p);
/* Run every queued op to completion, stop the writer threads and free c.
 * No new op may be submitted. NULL is a no-op. */
void commit_free(struct commit *c);
/* Transactions committed by the writer threads so far. */
uint64_t commit_count(const struct commit *c);

/* Set up r for n (<= REPLICAS) ops on dg[0..n-1], each running fn; the
 * caller then sets op[i].arg and calls commit_submit. One reference is the
 * submitter's. */
void commit_req_init(struct commit_req *r, const struct placement *pl, struct disk_group *const *dg,
                     size_t n, replica_fn *fn);
/* Queue every op of r on its disk group's writers. */
void commit_submit(struct commit *c, struct commit_req *r);
/* Wait until every op is done, or until QUORUM ops succeeded and the rest
 * did not finish within grace_ms more; copy each op's outcome to res. */
void commit_wait(struct commit_req *r, unsigned grace_ms, struct commit_result *res);
/* Drop the submitter's reference (r may be freed). */
void commit_req_put(struct commit_req *r);

/* ---- meta.c, called by the writer threads ---- */

/* Run ops (a list through next, all for the DB of pl on dg) in one
 * BEGIN IMMEDIATE ... COMMIT, each op in its own savepoint so one op's
 * error leaves the others' changes in. Sets each op's rc and opened, and
 * notes failed replicas on dg. Returns 0 when the transaction committed
 * (even if some ops returned an error), else the error every op got. */
int meta_batch_run(struct db_pool *p, const struct placement *pl, struct disk_group *dg,
                   struct commit_op *ops);

/* A SQLite result code as 0 or -errno (ERR_CORRUPT for a damaged file). */
int meta_sql_err(int sqlite_rc);
/* Run SQL without rows, logging a failure with the file's name. 0 or -errno. */
struct sqlite3;
int meta_exec_sql(struct sqlite3 *db, const char *sql);
/* PRAGMA user_version: 0 until the schema has been created. 0 or -errno. */
int meta_user_version(struct sqlite3 *db, int *version);

#endif
