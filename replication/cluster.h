/* replication/cluster.h: the disk groups, the ring and the cluster id,
 * opened together; answers "where does this name live".
 *
 * This is the only thing the request path asks of replication: a placement
 * (the item's hash, partition and its disk groups, primaries first, then
 * handoffs) computed by arithmetic on the loaded ring. Thread-safe after
 * cluster_open; cluster_reload swaps in a changed ring file while requests
 * run (one thread calls it). */
#ifndef SWIFTLET_REPLICATION_CLUSTER_H
#define SWIFTLET_REPLICATION_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/config.h"
#include "../common/util.h"
#include "../storage/dg.h"
#include "ring.h"

struct cluster;

/* Load the ring (cluster_ring_path) and open the disk groups it names; the
 * disk groups listed in cfg must all be among them. Without a ring file and
 * with create, open (creating them) the disk groups of cfg
 * (cfg->disk_groups, or with none listed, cfg->data_dir/dg1..dgN with
 * N = ndg_default), then build (weight 1 each, zone 0, cfg->part_power) and
 * save the ring. Every disk group must carry the same cluster id (made up on
 * the first create). On error a message is written to err.
 * A disk group that cannot be opened (no identity where its siblings have
 * one, or one that does not match the ring's id; I/O errors) gets a handle
 * in state DG_MISSING with the id the ring gives its path, and nothing is
 * written to it (the health probe brings it back); with create (a server
 * starting) at least QUORUM disk groups must open, else at least one, or
 * -ENOENT with err naming the first that failed. Under data_dir (not
 * listed in cfg) and with create, a disk group without an identity is
 * recreated instead.
 * Before the first ring every disk group must open: the ring is built from
 * their ids. 0, -ENOENT, -EINVAL, -errno. */
int cluster_open(struct cluster **out, const struct config *cfg, unsigned ndg_default, bool create,
                 char *err, size_t errlen) WUR;
void cluster_free(struct cluster *c);       /* NULL is a no-op */

/* The ring file of cfg: cfg->ring_file; when empty, <data_dir>/ring.txt, or
 * with disk groups listed, swiftlet.ring in the directory holding the first
 * one. A heap string. */
char *cluster_ring_path(const struct config *cfg);

/* Pick up a changed ring file (cheap when unchanged: one stat): load it,
 * open the disk groups it newly names (they must exist: `swiftlet ring add`
 * creates them) and publish it for cluster_locate. The previous ring stays
 * readable by requests that still use it, and its holders stay in
 * placements as handoffs. A disk group it names that has a handle already
 * (also a DG_MISSING one) is not reopened; a new one that cannot be opened
 * keeps the new ring out until a later call can open it. Call from one
 * thread. 1 when a new ring was published, 0 when nothing changed, -errno
 * when the new ring cannot be used (logged once; the current one stays). */
int cluster_reload(struct cluster *c);

const char *cluster_id(const struct cluster *c);    /* 32 hex digits */
/* Every disk group opened: the ring's, and those earlier rings named (a
 * removed disk group stays open until exit; its data is still read). The
 * count only grows; a handle stays valid until cluster_free. */
size_t cluster_dg_count(const struct cluster *c);
struct disk_group *cluster_dg(const struct cluster *c, size_t i);
/* The current ring; it stays valid until cluster_free. */
const struct ring *cluster_ring(const struct cluster *c);

/* Fill pl for an account (container == object == NULL), a container
 * (object == NULL) or an object: the current ring's primaries, then the
 * primaries of the previous rings this process loaded (newest first), then
 * the ring's handoffs, each disk group once, at most PLACEMENT_MAX. */
void cluster_locate(const struct cluster *c, enum item_kind kind, const char *account,
                    const char *container, const char *object, struct placement *pl);

#endif
