/* storage/fresh.h: which disk groups hold every acknowledged write.
 *
 * A write is acknowledged once a quorum of its replicas is durable, so one
 * replica may miss it: its disk group was unusable, its write failed, or the
 * process died between replicas. Reads therefore compare two replicas. But
 * a disk group that has missed no write since the replicator last brought
 * it up to date answers alone when it holds the name: its copy is the
 * newest acknowledged state. (That it holds nothing is still checked with a
 * second replica: another process, `swiftlet audit`, may have quarantined
 * the copy.) This module keeps that knowledge per disk group:
 *   - every disk group starts stale (what happened before this process is
 *     unknown: a crash, a wiped disk, writes while it was down);
 *   - a write that leaves a primary without a durable copy marks it stale,
 *     before the write is acknowledged, and so does a quarantine;
 *   - a ring change marks every disk group stale (new primaries do not hold
 *     their partitions yet);
 *   - the replicator takes fresh_generation() when a pass starts and, once
 *     the pass has brought every partition of the disk group up to date,
 *     calls fresh_confirm(): it is current unless a mark came in between.
 * Lock-free (atomics); disk group ids above FRESH_MAX_ID are always stale. */
#ifndef SWIFTLET_STORAGE_FRESH_H
#define SWIFTLET_STORAGE_FRESH_H
#include <stdbool.h>
#include <stdint.h>

#include "dg.h"

#define FRESH_MAX_ID 1023

void fresh_mark_stale(const struct disk_group *dg);
void fresh_mark_all_stale(void);
bool fresh_is_current(const struct disk_group *dg);
uint64_t fresh_generation(const struct disk_group *dg);
/* Current again, unless marked stale since gen was taken. */
void fresh_confirm(const struct disk_group *dg, uint64_t gen);
#endif
