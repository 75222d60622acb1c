/* storage/object_sync.h: the file-level half of replication: comparing the
 * replicas of object hash directories and making them agree.
 *
 * The replicator (replication/replicator.c) decides which disk groups must
 * hold a partition; this module knows the files. A suffix directory
 * ("<dg>/objects/<part>/<suffix>") is summarised by an MD5 over its hash
 * directories' names and the names of the files that count in each (the
 * newest .data or .ts, and the newest .meta newer than a .data); names embed
 * timestamps, so two replicas with equal suffix hashes hold the same
 * versions. Where they differ, objsync_hashdir() copies the newest version
 * to the replicas that lack it: temp file in <dg>/tmp, fdatasync, rename,
 * directory fsync, with a .data's trailer checksum and body CRC32C verified
 * while it is copied, so a corrupt replica is never spread.
 * All functions are thread-safe; they only touch the paths they are given. */
#ifndef SWIFTLET_STORAGE_OBJECT_SYNC_H
#define SWIFTLET_STORAGE_OBJECT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "dg.h"

/* What one objsync_hashdir (or a whole pass) did; the caller sums them. */
struct objsync_stats {
    uint64_t files_copied;   /* .data, .ts and .meta files installed on a replica */
    uint64_t bytes_copied;
    uint64_t handoffs_moved; /* handoff hash directories emptied after the copy */
    uint64_t reaped;         /* tombstones removed after the reclaim age */
    uint64_t corrupt;        /* source files skipped because they failed verification */
    uint64_t errors;         /* I/O failures */
};

struct objsync_opts {
    /* Tombstones older than this (timestamp ticks) are reaped when reap is
     * set; the caller sets reap only when every primary is present, since a
     * replica that misses the reap would bring the old data back. */
    int64_t reclaim_before;
    bool reap;
    /* Remove the hash directory's files from the sources after the targets
     * (handoffs) once every target holds the newest version. */
    bool drain;
    /* Called after each file is installed, to rate-limit (may be NULL). */
    void (*throttle)(void *ctx, uint64_t bytes);
    void *throttle_ctx;
};

/* The sorted names of the entries of dir (no "." or ".."), as a heap array
 * of heap strings; *n = 0 and *out = NULL when dir does not exist.
 * Free with objsync_names_free. 0 or -errno. */
int objsync_list(const char *dir, char ***out, size_t *n) WUR;
void objsync_names_free(char **names, size_t n);

/* The suffix hash of the object suffix directory dir (see above); a missing
 * directory hashes as an empty one. *reapable is set when some hash
 * directory's newest file is a tombstone older than reclaim_before.
 * 0 or -errno. */
int objsync_suffix_hash(const char *dir, int64_t reclaim_before, uint8_t out[16],
                        bool *reapable) WUR;

/* Bring the hash directory rel ("objects/<part>/<suffix>/<hash>", the same
 * on every disk group) to the newest version found on dg[0..n-1]: each of
 * the targets dg[0..n_targets-1] receives the newest .data or .ts (a .ts
 * wins a tie) and the newest .meta newer than a winning .data, copied from
 * another dg whose copy verifies; then the files it supersedes are removed.
 * See objsync_opts for draining and reaping. 0 when every target holds the
 * newest version (or there is none), else the first error. */
int objsync_hashdir(struct disk_group *const *dg, size_t n, size_t n_targets, const char *rel,
                    const struct objsync_opts *o, struct objsync_stats *st) WUR;

/* Remove dir and its parents up to (not including) stop while they are
 * empty: what a drained handoff or a reaped tombstone leaves behind. */
void objsync_prune(const char *dir, const char *stop);

/* Make path's directory chain exist, fsyncing the parent of every directory
 * created, so a file renamed into it stays reachable after a crash.
 * 0 or -errno. */
int objsync_mkdirs(const char *path) WUR;

#endif
