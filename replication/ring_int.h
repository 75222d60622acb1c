/* replication/ring_int.h: the ring's insides, shared by ring.c (the file
 * and the lookups) and ring_build.c (building and rebalancing). Not part of
 * the public surface: everything else uses ring.h. */
#ifndef SWIFTLET_REPLICATION_RING_INT_H
#define SWIFTLET_REPLICATION_RING_INT_H

#include <stdbool.h>

#include "ring.h"

#define PART_POWER_MAX 24

struct ring {
    unsigned part_power;
    uint64_t version;            /* grows by one with every change */
    size_t ndev;
    struct ring_device *devs;    /* paths are heap copies */
    uint32_t *table;             /* [part * REPLICAS + r] = device index */
};

/* A ring with zeroed table and devices (the caller fills both). */
struct ring *ring_alloc(unsigned part_power, size_t ndev);

/* Each device's wanted number of replicas (see ring_build.c). */
void ring_wanted_shares(const struct ring_device *devs, size_t n, size_t nparts, double *want);

static inline bool used_by(const uint32_t *row, size_t nr, uint32_t d)
{
    for (size_t k = 0; k < nr; k++)
        if (row[k] == d)
            return true;
    return false;
}

#endif
