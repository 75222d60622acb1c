/* replication/cluster.h: the disk groups, the ring and the cluster id,
 * opened together; answers "where does this name live".
 *
 * This is the only thing the request path asks of replication: a placement
 * (the item's hash, partition and its disk groups, primaries first, then
 * handoffs) computed by arithmetic on the loaded ring. Thread-safe after
 * cluster_open. */
#ifndef SWIFTLET_REPLICATION_CLUSTER_H
#define SWIFTLET_REPLICATION_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/config.h"
#include "../common/util.h"
#include "../storage/dg.h"
#include "ring.h"

struct cluster;

/* Open the disk groups of cfg (cfg->disk_groups, or with none listed,
 * cfg->data_dir/dg1..dgN with N = ndg_default, created with create) and load
 * the ring (cfg->ring_file; when empty, <data_dir>/ring.txt, or with disk
 * groups listed, swiftlet.ring in the directory holding the first one),
 * building (weight 1 each, zone 0, cfg->part_power) and saving it when it
 * does not exist yet and create is set. Every disk group must carry the same
 * cluster id (made up on the first create) and the ring must name exactly
 * the opened disk groups. On error a message is written to err.
 * A disk group that cannot be opened (no identity, or one that does not
 * match; I/O errors) gets a handle in state DG_MISSING with the id the ring
 * gives its path, and nothing is written to it; with create (a server
 * starting) at least QUORUM disk groups must open, else at least one.
 * 0, -ENOENT, -EINVAL, -errno. */
int cluster_open(struct cluster **out, const struct config *cfg, unsigned ndg_default, bool create,
                 char *err, size_t errlen) WUR;
void cluster_free(struct cluster *c);       /* NULL is a no-op */

const char *cluster_id(const struct cluster *c);    /* 32 hex digits */
size_t cluster_dg_count(const struct cluster *c);
struct disk_group *cluster_dg(const struct cluster *c, size_t i);
const struct ring *cluster_ring(const struct cluster *c);

/* Fill pl for an account (container == object == NULL), a container
 * (object == NULL) or an object. */
void cluster_locate(const struct cluster *c, enum item_kind kind, const char *account,
                    const char *container, const char *object, struct placement *pl);

#endif
