/* storage/auditor.h: the auditor, which re-reads every replica on the disk
 * groups at a bounded rate and quarantines the corrupt ones, and the
 * quarantine itself (also used by reads that find a bad replica).
 *
 * A pass walks <dg>/objects/<part>/<suffix>/<hash>/ on every disk group:
 * each .data is read whole and its trailer, metadata checksum, body CRC32C
 * and MD5 are verified; each .meta must parse; a .ts must be a tombstone
 * name. Then every container and account DB gets SQLite's quick_check. A
 * corrupt file is moved (never deleted) to
 *     <dg>/quarantined/objects/<hash>/<file>
 *     <dg>/quarantined/containers/<hash>/<hash>.db (+ -wal, -shm)
 *     <dg>/quarantined/accounts/<hash>/<hash>.db
 * and the replicator later restores the replica from a good copy.
 *
 * Reads go through a pacer (bytes and files per second, as Swift's
 * auditor's bytes_per_second / files_per_second), and the pages read are
 * dropped from the page cache afterwards, so a pass costs foreground
 * requests little. An auditor is used by one thread at a time; auditor_stop
 * may be called from any thread. The quarantine functions and
 * auditor_totals are thread-safe. */
#ifndef SWIFTLET_STORAGE_AUDITOR_H
#define SWIFTLET_STORAGE_AUDITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "dg.h"

struct db_pool;
struct auditor;

struct auditor_opts {
    uint64_t bytes_per_second;   /* 0: not limited */
    unsigned files_per_second;   /* 0: not limited */
    struct db_pool *db;          /* a running server's pool (its handle of a
                                    quarantined DB is dropped), or NULL */
    bool progress;               /* report progress on stderr (common/progress.h) */
};

/* What one pass did (also the process-wide totals of auditor_totals). */
struct auditor_stats {
    uint64_t files;          /* object files checked (.data, .meta, .ts) */
    uint64_t bytes;          /* bytes read from them */
    uint64_t dbs;            /* container and account DBs checked */
    uint64_t quarantined;    /* files and DBs moved to quarantined/ */
    uint64_t errors;         /* files that could not be read (EIO, ...) */
};

/* An auditor over n disk groups (the array is copied; the disk groups must
 * outlive it). 0 or -EINVAL. */
int auditor_new(struct auditor **out, struct disk_group *const *dgs, size_t n,
                const struct auditor_opts *opts) WUR;
/* Stops and joins the background thread if one runs. NULL is a no-op. */
void auditor_free(struct auditor *a);

/* One pass over every usable disk group; adds what it did to st (caller
 * zeroes it). 0, or -ECANCELED when auditor_stop was called meanwhile. */
int auditor_pass(struct auditor *a, struct auditor_stats *st) WUR;

/* Run passes in a background thread, one every interval_s seconds (a pass
 * that takes longer is followed by the next at once). 0 or -errno. */
int auditor_start(struct auditor *a, unsigned interval_s) WUR;
/* Ask a running pass or thread to stop soon (it wakes from its pacing
 * sleeps); auditor_free then joins it. */
void auditor_stop(struct auditor *a);

/* For tests: replace the clock and the sleep of the pacer. now returns
 * nanoseconds; sleep is asked to wait ns nanoseconds. */
void auditor_set_clock(struct auditor *a, uint64_t (*now)(void *ctx),
                       void (*sleep)(void *ctx, uint64_t ns), void *ctx);

/* Process-wide totals since start: every pass of every auditor, plus the
 * quarantines made by reads. */
void auditor_totals(struct auditor_stats *out);

/* Move the file fname of the hash directory dfd (on dg) to
 * <dg>/quarantined/<objects|containers|accounts>/<hash_hex>/fname; a name
 * already taken there gets a ".<n>" suffix. Counted in auditor_totals.
 * 0 or -errno. */
int quarantine_file(struct disk_group *dg, enum item_kind kind, const char *hash_hex, int dfd,
                    const char *fname) WUR;

#endif
