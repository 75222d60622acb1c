/* storage/meta_sync.h: replicating container and account databases, for the
 * replicator.
 *
 * The replicas of one DB (docs/on-disk.md) converge by merging rows: every
 * object row (container DB) or container row (account DB), deleted ones
 * included, and every metadata key carries a timestamp, and the newest wins
 * as in meta.c. A merge runs in one SQLite transaction on the target with
 * the source ATTACHed, so it is safe while a server writes to either; the
 * stats in the target's info row are recomputed from its rows in the same
 * transaction. A missing replica is created from a good one with
 * VACUUM INTO a temp file, fsync, and a rename that never replaces a DB that
 * appeared meanwhile.
 *
 * These work on DB files by path with their own SQLite connections (not
 * meta.c's pool), so a `swiftlet replicate` process and the server can run
 * them side by side. All functions are thread-safe. */
#ifndef SWIFTLET_STORAGE_META_SYNC_H
#define SWIFTLET_STORAGE_META_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "dg.h"

/* Set once at start: PRAGMA synchronous FULL (else NORMAL) on the
 * connections below, as the pool's [storage] fsync. On by default. */
void dbsync_set_sync(bool on);

/* A digest of what replication compares in one DB replica: its info row's
 * timestamps and metadata (keys sorted) and every row's name, timestamps and
 * deleted flag (and for objects, size, type and etag). Counts are left out:
 * they follow from the rows. *reapable gets the number of deleted rows older
 * than reclaim_before. 0, -ENOENT (no such file), -errno. */
int dbsync_digest(const char *path, enum item_kind kind, int64_t reclaim_before, uint8_t out[16],
                  uint64_t *reapable) WUR;

/* Merge the rows, metadata and timestamps of src into dst (both existing
 * DBs of the same item): rows newer in src replace dst's, keys newer in src
 * replace dst's. *rows gets the rows changed in dst. 0, -ENOENT, -errno. */
int dbsync_merge(const char *dst, const char *src, enum item_kind kind, uint64_t *rows) WUR;

/* Create the DB dst (which should not exist) as a copy of src, through
 * tmp_dir (on dst's filesystem). -EEXIST when a DB appeared at dst
 * meanwhile (merge into it instead); 0 or -errno. */
int dbsync_copy(const char *dst, const char *src, const char *tmp_dir) WUR;

/* Delete the deleted rows older than before; *rows gets how many. */
int dbsync_reap(const char *path, enum item_kind kind, int64_t before, uint64_t *rows) WUR;

/* Remove a DB file and its -wal and -shm, and sync the directory (a
 * handoff replica once the primaries hold its rows). 0 or -errno. */
int dbsync_remove(const char *path) WUR;

#endif
