/* replication/replicator.h: the replicator, which makes every partition's
 * replicas agree and brings handoffs home.
 *
 * One pass walks every partition directory of every kind (objects/,
 * containers/, accounts/) found on a usable disk group. For each it asks the
 * CURRENT ring (cluster_ring) for the partition's primaries, compares their
 * per-suffix hashes (storage/object_sync.h; for DBs, digests of their rows,
 * storage/meta_sync.h) and, where they differ or a non-primary disk group
 * (a handoff) holds the partition, merges: the newest version of each
 * object, and every DB row, goes to every usable primary; then the handoff's
 * copy is removed once all primaries hold it. Tombstones older than the
 * reclaim age are reaped when every primary is usable. Unusable disk groups
 * (dg_usable) are skipped and retried on the next pass. Copies are
 * rate-limited ([replicator] files_per_second, bytes_per_second).
 *
 * Everything a pass changes goes through atomic renames and SQLite
 * transactions, so a pass is safe beside a running server, in the server's
 * thread (replicator_start) or in `swiftlet replicate`. */
#ifndef SWIFTLET_REPLICATION_REPLICATOR_H
#define SWIFTLET_REPLICATION_REPLICATOR_H

#include <stdatomic.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/progress.h"
#include "../common/util.h"
#include "cluster.h"

struct replicator_stats {
    uint64_t partitions;        /* partition directories checked */
    uint64_t suffixes_synced;   /* suffixes whose replicas differed */
    uint64_t files_copied;      /* object files installed on a replica */
    uint64_t bytes_copied;
    uint64_t dbs_created;       /* DB replicas created from a good one */
    uint64_t rows_merged;       /* DB rows applied to a replica */
    uint64_t handoffs_moved;    /* items removed from a handoff once home */
    uint64_t reaped;            /* tombstones (.ts files, deleted DB rows) reaped */
    uint64_t corrupt;           /* corrupt source replicas skipped */
    uint64_t errors;
};

/* The partition directories a pass would visit (for a progress total). */
uint64_t replicator_count_partitions(struct cluster *c);

/* Run one pass with cfg's [replicator] settings, adding to st (zero it
 * first). prog (may be NULL) gets one unit per partition directory; stop
 * (may be NULL) ends the pass early once set. 0 when the pass met no error,
 * else the first error; the pass goes on after an error either way. */
int replicator_pass(struct cluster *c, const struct config *cfg, struct progress *prog,
                    const atomic_bool *stop, struct replicator_stats *st) WUR;

/* The background replicator of `serve`: a thread running a pass every
 * cfg->replicator_interval seconds (the first after one interval). c and cfg
 * must outlive it. 0 or -errno. */
struct replicator;
int replicator_start(struct replicator **out, struct cluster *c, const struct config *cfg) WUR;
/* Ask the thread to stop (a running pass ends at its next partition or
 * file), wait for it and free r. NULL is a no-op. */
void replicator_stop(struct replicator *r);
/* Passes completed so far. */
uint64_t replicator_passes(const struct replicator *r);

#endif
