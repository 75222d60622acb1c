/* replication/ring.h: which disk groups hold a partition.
 *
 * The ring maps each of the 2^part_power partitions to REPLICAS distinct
 * disk groups, balanced by weight (and spread over zones where zones are
 * configured). It is built once, saved as a versioned text file and loaded
 * at start; a loaded ring is immutable and safe to share between threads.
 * Ring lookups are arithmetic on the loaded table. Rebalancing moves as few
 * partition replicas as it can (ring_build.c).
 *
 * File format (docs/on-disk.md): text, "swiftlet-ring 1", then
 * "version V" (absent in rings written before versions: 0),
 * "part_power N", "replicas 3", a "dg <id> <weight> <zone> <path>" line per
 * disk group, then one "p <part> <id> <id> <id>" line per partition. */
#ifndef SWIFTLET_REPLICATION_RING_H
#define SWIFTLET_REPLICATION_RING_H

#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "../storage/dg.h"

struct ring;

struct ring_device {
    uint32_t id;           /* the disk group id (its identity file) */
    double weight;         /* > 0; relative share of partitions */
    uint32_t zone;         /* failure zone; 0 when not configured */
    const char *path;
};

/* Build a new ring (version 1) for these devices (at least REPLICAS,
 * distinct ids, weights > 0). 0 or -EINVAL. */
int ring_build(struct ring **out, unsigned part_power, const struct ring_device *devs,
               size_t n) WUR;
/* A new ring (old's version + 1, old's part power) for the devices devs,
 * which may add, drop, reweight or re-zone old's devices (matched by id).
 * Moves the fewest partition replicas that balance by weight and the
 * distinct-device and zone rules need; *moved (may be NULL) is how many
 * moved. 0 or -EINVAL (bad devices, as ring_build). */
int ring_rebalance(struct ring **out, const struct ring *old, const struct ring_device *devs,
                   size_t n, size_t *moved) WUR;
/* 0, -ENOENT, -EINVAL (bad format, with a log line saying where). */
int ring_load(struct ring **out, const char *path) WUR;
/* Write atomically (temp + fsync + rename). 0 or -errno. */
int ring_save(const struct ring *r, const char *path) WUR;
void ring_free(struct ring *r);        /* NULL is a no-op */

unsigned ring_part_power(const struct ring *r);
uint64_t ring_version(const struct ring *r);
size_t ring_device_count(const struct ring *r);
const struct ring_device *ring_device(const struct ring *r, size_t i);
/* The index of the device with this id, or -1. */
long ring_device_index(const struct ring *r, uint32_t id);
/* Partitions device i holds a replica of, and how many its weight asks
 * for (its share of all replicas, at most one per partition). */
size_t ring_device_parts(const struct ring *r, size_t i);
double ring_device_want(const struct ring *r, size_t i);

/* The partition of a name hash: its top part_power bits. */
uint32_t ring_part(const struct ring *r, const uint8_t hash[16]);
/* The REPLICAS primary device ids of a partition. */
void ring_primaries(const struct ring *r, uint32_t part, uint32_t out[REPLICAS]);
/* Up to max further device ids, in a fixed order per partition, to use as
 * handoffs when a primary is unusable. Returns how many. */
size_t ring_handoffs(const struct ring *r, uint32_t part, uint32_t *out, size_t max);

#endif
