/* storage/meta.h: container and account databases (SQLite, WAL).
 *
 * One SQLite DB per container and per account, on each of the REPLICAS disk
 * groups the placement names:
 *     <dg>/containers/<part>/<suffix>/<hash>/<hash>.db
 *     <dg>/accounts/<part>/<suffix>/<hash>/<hash>.db
 * A container DB lists its objects (name, timestamp, size, content type,
 * etag, deleted flag) and keeps its stats and metadata; an account DB lists
 * its containers with their counts. Writes go to every usable replica and
 * succeed on a quorum; reads use the first usable replica that has the DB.
 * Rows carry timestamps and the newest wins, so replicas can be merged.
 *
 * meta.c is the only file that includes sqlite3.h. Handles are kept open in
 * a pool (LRU, bounded), statements are prepared once per handle. All
 * functions are thread-safe.
 *
 * Object counts roll up into the account lazily: db_object_put/delete mark
 * the container dirty, and db_rollup_flush() writes the dirty containers'
 * stats into their account DBs (a background tick calls it, and an account
 * HEAD/GET calls it for its account first, so the counts a client sees are
 * current). */
#ifndef SWIFTLET_STORAGE_META_H
#define SWIFTLET_STORAGE_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/kv.h"
#include "../common/util.h"
#include "dg.h"

struct db_pool;

/* max_open: handles kept open (> 0, else -EINVAL); sync: PRAGMA synchronous
 * FULL (else NORMAL). */
int db_pool_new(struct db_pool **out, unsigned max_open, bool sync) WUR;
/* Lets the object row writes still in flight finish, flushes the pending
 * rollups, then closes every handle; no other thread may use the pool any
 * more. NULL is a no-op. */
void db_pool_free(struct db_pool *p);
/* Transactions the pool's group commit has committed so far (object row
 * writes: concurrent writes to one DB share one), for tests and metrics. */
uint64_t db_pool_commits(const struct db_pool *p);

/* Stop using the DB file at path (a full "<dir>/<hash>.db" path): the pool
 * forgets its handle, which closes once its last user is done, and the next
 * request opens the path afresh. For the auditor, before it quarantines a
 * DB. A path the pool does not hold is a no-op. */
void db_pool_forget(struct db_pool *p, const char *path);
/* Open the DB file at path read-only and run PRAGMA quick_check (for the
 * auditor; safe while a server writes it). 0, ERR_CORRUPT (not a database,
 * or the check found damage), -EBUSY, -ENOENT, -errno. */
int db_check_file(const char *path) WUR;

/* Metadata with per-key timestamps lives inside the DB; callers see plain
 * header-name -> value lists. Setting a key to "" removes it. */

struct container_stat {
    int64_t created_at;        /* X-Timestamp: when first created */
    int64_t put_timestamp;
    int64_t delete_timestamp;
    uint64_t object_count;
    uint64_t bytes_used;
    struct kv_list meta;       /* X-Container-Meta-*, X-Container-Read, ... */
};

struct account_stat {
    int64_t created_at;
    int64_t put_timestamp;
    uint64_t container_count;
    uint64_t object_count;
    uint64_t bytes_used;
    struct kv_list meta;       /* X-Account-Meta-*, ... */
};

void container_stat_release(struct container_stat *s);
void account_stat_release(struct account_stat *s);

/* ---- accounts ---- */

/* Create the account DB if it does not exist (auto-create on first use).
 * created tells whether it was new. 0 or ERR_QUORUM. */
int db_account_put(struct db_pool *p, const struct placement *pl, const char *account, int64_t ts,
                   bool *created) WUR;
/* 0, -ENOENT, -EIO. */
int db_account_stat(struct db_pool *p, const struct placement *pl, struct account_stat *out) WUR;
/* Merge metadata (newest per key wins; "" removes). 0, -ENOENT, ERR_QUORUM. */
int db_account_set_meta(struct db_pool *p, const struct placement *pl, int64_t ts,
                        const struct kv_list *meta) WUR;

/* ---- containers ---- */

/* Create the container DB on every replica, or revive a deleted one, or
 * (when it exists) merge meta into it. created is true when it did not exist
 * or was deleted. Also records the container in the account DB
 * (pl_account). 0 or ERR_QUORUM, or ERR_LIMIT when max_containers > 0 and the
 * account already holds that many containers (checked atomically with the
 * insert, so concurrent creates never overshoot). Concurrent calls for one
 * account share one account-DB transaction per replica. */
int db_container_put(struct db_pool *p, const struct placement *pl,
                     const struct placement *pl_account, const char *account,
                     const char *container, int64_t ts, const struct kv_list *meta,
                     uint64_t max_containers, bool *created) WUR;
/* 0; -ENOENT when it never existed or is deleted; -EIO. */
int db_container_stat(struct db_pool *p, const struct placement *pl, struct container_stat *out) WUR;
int db_container_set_meta(struct db_pool *p, const struct placement *pl, int64_t ts,
                          const struct kv_list *meta) WUR;
/* Delete an empty container and remove it from the account listing.
 * 0, -ENOENT, -ENOTEMPTY, ERR_QUORUM. */
int db_container_delete(struct db_pool *p, const struct placement *pl,
                        const struct placement *pl_account, const char *container, int64_t ts) WUR;

/* ---- listing rows of objects ---- */

/* Record (or, with a newer timestamp, replace) the listing row of an object.
 * Older timestamps than the stored row are ignored (returns 0). Marks the
 * container dirty for the rollup into pl_account. 0, -ENOENT (no container),
 * ERR_QUORUM. The replicas are written in parallel and concurrent writes to
 * one container share a commit; it returns once every replica committed, or
 * once a quorum did and the last is still not done a second later (that one
 * still completes in the background).
 *
 * relaxed: the object's write went through the journals (journal.h), whose
 * replay relists the name after a power cut, so the row's commit need not
 * sync the WAL; the journal checkpoint syncs it. A commit shared with
 * any other write syncs, as before. */
int db_object_put(struct db_pool *p, const struct placement *pl,
                  const struct placement *pl_account, const char *container, const char *name,
                  int64_t ts, uint64_t size, const char *content_type, const char *etag,
                  bool relaxed) WUR;
/* Mark the row deleted at ts (a tombstone row, newest wins). */
int db_object_delete(struct db_pool *p, const struct placement *pl,
                     const struct placement *pl_account, const char *container, const char *name,
                     int64_t ts, bool relaxed) WUR;

/* Write the stats of dirty containers into their account DBs; account NULL
 * flushes all, else only that account's. 0 or the first error. */
int db_rollup_flush(struct db_pool *p, const char *account);

/* ---- listings ---- */

struct list_query {
    const char *prefix;       /* NULL or "" for none */
    const char *marker;       /* names > marker (< marker when reverse) */
    const char *end_marker;   /* names < end_marker (> when reverse) */
    const char *delimiter;    /* one character or NULL; rolls names up into subdirs */
    bool reverse;
    unsigned limit;           /* at most this many entries (subdirs count) */
};

struct list_entry {
    const char *name;          /* object / container name, or the subdir */
    bool is_subdir;            /* only name is set */
    int64_t timestamp;         /* object: its timestamp; container: put timestamp */
    uint64_t bytes;            /* object size, or container bytes used */
    uint64_t count;            /* container: object count (0 for objects) */
    const char *content_type;  /* objects only */
    const char *etag;          /* objects only */
};

/* Call cb for each entry in UTF-8 byte order (memcmp), as Swift lists.
 * cb returns 0 to go on or a negative value to stop (returned as is). cb
 * runs while the DB's handle is held: it must not call back into the pool.
 * The strings of an entry are valid only during the call.
 * 0, -ENOENT (no such container/account), -EIO. */
int db_container_list(struct db_pool *p, const struct placement *pl, const struct list_query *q,
                      int (*cb)(void *ctx, const struct list_entry *e), void *ctx) WUR;
int db_account_list(struct db_pool *p, const struct placement *pl, const struct list_query *q,
                    int (*cb)(void *ctx, const struct list_entry *e), void *ctx) WUR;

#endif
