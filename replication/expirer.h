/* replication/expirer.h: removing objects whose X-Delete-At has passed.
 *
 * As in Swift, the queue of objects to expire is a hidden account,
 * ".expiring_objects", held in ordinary container and account DBs (so it
 * has three replicas, quorum writes, and is replicated like any listing):
 *     container  "<bucket>"  = delete_at rounded down to a day (10 digits)
 *     object     "<delete_at>-<account>/<container>/<object>"  (10 digits)
 * A PUT or POST that sets X-Delete-At adds an entry; a POST that changes
 * or removes it removes the old entry. A pass lists the buckets that have
 * started, takes the entries whose time has come, and deletes each object
 * the way a DELETE does (tombstones on the replicas, the listing row marked
 * deleted) -- but only if the object still carries that X-Delete-At, so an
 * entry left behind by an overwrite never deletes the newer object. The
 * tombstone's timestamp is the delete_at itself, so a PUT that lands after
 * that moment is newer and survives even a race with the expirer.
 * All functions are thread-safe. */
#ifndef SWIFTLET_REPLICATION_EXPIRER_H
#define SWIFTLET_REPLICATION_EXPIRER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"
#include "../storage/meta.h"
#include "cluster.h"

#define EXPIRER_ACCOUNT ".expiring_objects"
#define EXPIRER_DIVISOR 86400     /* seconds of delete_at per queue container */

/* Record (at timestamp ts) that /account/container/object expires at
 * delete_at (seconds since the epoch). 0 or ERR_QUORUM/-errno. */
int expirer_queue_add(struct cluster *c, struct db_pool *db, int64_t delete_at,
                      const char *account, const char *container, const char *object,
                      int64_t ts) WUR;
/* Remove that entry (at timestamp ts, newer than the add). 0, or an error;
 * an entry that was never there is fine. */
int expirer_queue_remove(struct cluster *c, struct db_pool *db, int64_t delete_at,
                         const char *account, const char *container, const char *object,
                         int64_t ts) WUR;

struct expirer_stats {
    uint64_t entries;     /* queue entries whose time had come */
    uint64_t expired;     /* objects deleted */
    uint64_t stale;       /* entries dropped: object gone or its X-Delete-At changed */
    uint64_t errors;      /* entries kept for the next pass (a replica failed) */
};

/* One pass: every entry with delete_at <= now (seconds). stop, when not
 * NULL, is polled between entries. Adds to st (caller zeroes it).
 * 0, or -ECANCELED when stopped. */
int expirer_pass(struct cluster *c, struct db_pool *db, int64_t now, struct expirer_stats *st,
                 const atomic_bool *stop) WUR;

/* A background thread running a pass every interval_s seconds. */
struct expirer;
int expirer_start(struct expirer **out, struct cluster *c, struct db_pool *db,
                  unsigned interval_s) WUR;
/* Stop and join the thread. NULL is a no-op. */
void expirer_free(struct expirer *e);

#endif
