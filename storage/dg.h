/* storage/dg.h: disk groups, and the placement of one name on them.
 *
 * A disk group is a directory (normally its own mount) laid out as
 * docs/on-disk.md describes:
 *     <dg>/.swiftlet-dg      identity: "id=<n>\ncluster=<32 hex>\n"
 *     <dg>/objects/ containers/ accounts/ tmp/ quarantined/
 * The cluster id also keys the name hash, so names hash differently in every
 * cluster and no client can aim many names at one partition.
 * Disk group handles are created at start and live until exit; their state
 * is updated from any thread (atomics), so they are safe to share. */
#ifndef SWIFTLET_STORAGE_DG_H
#define SWIFTLET_STORAGE_DG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

#define REPLICAS 3
#define QUORUM 2
#define PLACEMENT_MAX 8     /* primaries + handoffs a placement may list */

struct disk_group;

enum dg_state { DG_OK = 0, DG_ERROR, DG_FULL, DG_READONLY, DG_MISSING };

/* Open the disk group at path. With create, a missing directory tree and
 * identity file are created with this id and cluster (32 hex digits). An
 * existing identity must match id and cluster: a disk group mounted in the
 * wrong place is refused (-EINVAL) rather than written to.
 * 0, -ENOENT (no identity and !create), -EINVAL, -errno. */
int dg_open(struct disk_group **out, const char *path, uint32_t id, const char *cluster,
            bool create) WUR;
void dg_close(struct disk_group *dg);                /* NULL is a no-op */
/* A handle for a disk group that cannot be opened (no identity: its disk is
 * not mounted, or a different one is; or it fails I/O), in state DG_MISSING
 * so the request path skips it. Nothing is created or written until a probe
 * (dg_probe) finds the identity id/cluster in place. Always succeeds. */
struct disk_group *dg_new_missing(const char *path, uint32_t id, const char *cluster);

/* Read "cluster=" from an existing disk group's identity file into
 * out (33 bytes). 0, -ENOENT, -EINVAL. */
int dg_read_cluster(const char *path, char out[33]) WUR;
/* Read both fields of an existing identity file. 0, -ENOENT, -EINVAL. */
int dg_read_identity(const char *path, uint32_t *id, char cluster[33]) WUR;

const char *dg_path(const struct disk_group *dg);
/* The small-write journal (journal.h) this process owns on dg, or NULL:
 * writes then sync each file. Set once, before any thread writes; the
 * journal is the setter's to close. */
struct journal;
struct journal *dg_journal(const struct disk_group *dg);
void dg_set_journal(struct disk_group *dg, struct journal *j);
uint32_t dg_id(const struct disk_group *dg);
enum dg_state dg_state(const struct disk_group *dg);
const char *dg_state_name(enum dg_state s);      /* "ok", "error", "full", ... */
bool dg_usable(const struct disk_group *dg);     /* state == DG_OK */
/* Record the outcome of an I/O call on this disk group: -EIO, -ENOSPC,
 * -EROFS move it out of DG_OK and count as errors (dg_health); other
 * results are ignored. */
void dg_note_result(struct disk_group *dg, int rc);

/* A disk group's health as /healthcheck?detail and `swiftlet status` show
 * it. last_error is 0 or -errno, last_error_at unix seconds (0: never). */
struct dg_health {
    enum dg_state state;
    uint64_t errors;
    int last_error;
    int64_t last_error_at;
};
void dg_health(const struct disk_group *dg, struct dg_health *out);

/* Check the disk group now and set its state from what is found: the
 * identity file must hold this dg's id and cluster (else DG_MISSING; the
 * subdirectories are remade only then), a small probe file in <dg>/tmp
 * must write, fsync, read back and unlink (EIO -> DG_ERROR, ENOSPC ->
 * DG_FULL, EROFS -> DG_READONLY), and the filesystem must have at least
 * min_free_pct percent free (else DG_FULL). Blocks on the disk; safe while
 * requests (and other processes: the probe file name is unique) use the dg.
 * Returns the new state. */
enum dg_state dg_probe(struct disk_group *dg, unsigned min_free_pct);
/* Set the state outright (an operator or the replicator bringing a repaired
 * disk group back, tests simulating a failure). */
void dg_set_state(struct disk_group *dg, enum dg_state s);
/* Free and total bytes of the filesystem; 0 or -errno. */
int dg_space(const struct disk_group *dg, uint64_t *free_bytes, uint64_t *total_bytes) WUR;

/* What the kind of item is, which picks the top-level directory. */
enum item_kind { ITEM_OBJECT, ITEM_CONTAINER, ITEM_ACCOUNT };

/* Where one name lives: its hash, partition and the disk groups holding it
 * (the ring fills dg[]: primaries first, then handoffs). */
struct placement {
    enum item_kind kind;
    uint8_t hash[16];
    char hash_hex[33];
    uint32_t part;
    struct disk_group *dg[PLACEMENT_MAX];
    size_t n_dg;        /* entries in dg[] */
    size_t n_primary;   /* the first n_primary entries are primaries (REPLICAS) */
};

/* The keyed hash of a name: MD5(cluster || "/account[/container[/object]]").
 * container and object may be NULL. */
void name_hash(const char *cluster, const char *account, const char *container,
               const char *object, uint8_t out[16]);

/* The directory of an item on a disk group:
 * "<dg>/<objects|containers|accounts>/<part>/<last 3 hex of hash>/<hash>".
 * Returns a heap string. */
char *placement_dir(const struct placement *pl, const struct disk_group *dg);
/* The same path relative to every disk group's root:
 * "<objects|containers|accounts>/<part>/<suffix>/<hash>". Heap string. */
char *placement_rel(const struct placement *pl);

#endif
