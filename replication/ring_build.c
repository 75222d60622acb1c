/* replication/ring_build.c: This file implements building a ring and
 * rebalancing one: a partition -> disk group table balanced by weight, with
 * the REPLICAS of a partition on distinct devices and, where the zones
 * allow, distinct zones.
 *
 * Building is greedy and deterministic: for each partition and replica it
 * takes, among the zones the partition does not use yet, the one furthest
 * below its share, and in it the device furthest below its weight's share
 * (taking the largest remainders each time keeps zones spread to the last
 * partition); with no such zone left, the device furthest below its share.
 * When the zones cannot give every partition 3 distinct zones (fewer than 3
 * zones, or one zone weighing more than a replica per partition) weight
 * decides and an unused zone only breaks near-ties, so balance stays exact.
 *
 * Rebalancing starts from the old table and moves only what it must: the
 * replicas of removed devices and replicas that break the zone rule are
 * placed again by the same rule as building; then single replicas move
 * from devices above their whole-number target to devices below it, each
 * move taking one off the excess (preferring partitions that have not moved
 * a replica yet, so a partition keeps two of its three holders). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ring_int.h"

void ring_wanted_shares(const struct ring_device *devs, size_t n, size_t nparts, double *want)
{
    bool *capped = xcalloc(n, sizeof(*capped));
    bool again = true;

    while (again) {
        double left = (double)nparts * REPLICAS, wsum = 0;
        for (size_t i = 0; i < n; i++) {
            if (capped[i])
                left -= (double)nparts;
            else
                wsum += devs[i].weight;
        }
        again = false;
        for (size_t i = 0; i < n; i++) {
            if (capped[i])
                continue;
            want[i] = left * devs[i].weight / wsum;
            if (want[i] > (double)nparts) {
                capped[i] = again = true;
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (capped[i])
            want[i] = (double)nparts;
    free(capped);
}

static bool zone_used_by(const struct ring *r, const uint32_t *row, size_t nr, uint32_t zone)
{
    for (size_t k = 0; k < nr; k++)
        if (r->devs[row[k]].zone == zone)
            return true;
    return false;
}

/* Build state: wanted and assigned replicas per device and per zone (the
 * zone figures are indexed by device: zone totals of the device's zone). */
struct build {
    double *want, *zone_want;
    size_t *have;
    bool zones_fit;     /* every partition can get REPLICAS distinct zones */
};

static double zone_left(const struct ring *r, const struct build *b, uint32_t d)
{
    size_t zhave = 0;

    for (size_t i = 0; i < r->ndev; i++)
        if (r->devs[i].zone == r->devs[d].zone)
            zhave += b->have[i];
    return b->zone_want[d] - (double)zhave;
}

/* The device for replica nr of a partition whose first nr are in row
 * (the rule is in the comment at the top of the file). */
static uint32_t pick_device(const struct ring *r, const uint32_t *row, size_t nr,
                            const struct build *b)
{
    uint32_t best = UINT32_MAX;
    double best_zone = 0, best_left = 0;

    for (uint32_t d = 0; d < r->ndev; d++) {
        if (used_by(row, nr, d))
            continue;
        double left = b->want[d] - (double)b->have[d];
        bool new_zone = !zone_used_by(r, row, nr, r->devs[d].zone);
        double zl = b->zones_fit && new_zone && left > 0 ? zone_left(r, b, d) : 0;
        double zone = zl > 0 ? zl : 0;
        /* When zones cannot fit, weight decides and a new zone only breaks
         * ties. */
        if (!b->zones_fit && new_zone && left > 0)
            left += 0.5;
        if (best == UINT32_MAX || zone > best_zone || (zone == best_zone && left > best_left)) {
            best = d;
            best_zone = zone;
            best_left = left;
        }
    }
    return best;
}

/* A zone's share: its devices' shares. Zones fit when there are at least
 * REPLICAS of them and none wants more than one replica per partition. */
static void zone_shares(const struct ring *r, size_t nparts, struct build *b)
{
    size_t zones = 0;

    b->zones_fit = true;
    for (size_t d = 0; d < r->ndev; d++) {
        double w = 0;
        bool first = true;
        for (size_t i = 0; i < r->ndev; i++) {
            if (r->devs[i].zone == r->devs[d].zone) {
                w += b->want[i];
                first = first && i >= d;
            }
        }
        b->zone_want[d] = w;
        zones += first;
        if (w > (double)nparts + 1e-6)
            b->zones_fit = false;
    }
    if (zones < REPLICAS)
        b->zones_fit = false;
}

static int check_devices(unsigned part_power, const struct ring_device *devs, size_t n)
{
    if (part_power > PART_POWER_MAX || n < REPLICAS || n > UINT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!(devs[i].weight > 0) || !devs[i].path || strchr(devs[i].path, '\n'))
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (devs[j].id == devs[i].id)
                return -EINVAL;
    }
    return 0;
}

int ring_build(struct ring **out, unsigned part_power, const struct ring_device *devs, size_t n)
{
    int rc = check_devices(part_power, devs, n);

    *out = NULL;
    if (rc < 0)
        return rc;
    size_t nparts = (size_t)1 << part_power;
    struct ring *r = ring_alloc(part_power, n);
    r->version = 1;
    struct build b = {.want = xcalloc(n, sizeof(double)),
                      .zone_want = xcalloc(n, sizeof(double)),
                      .have = xcalloc(n, sizeof(size_t))};

    for (size_t i = 0; i < n; i++) {
        r->devs[i] = devs[i];
        r->devs[i].path = xstrdup(devs[i].path);
    }
    ring_wanted_shares(devs, n, nparts, b.want);
    zone_shares(r, nparts, &b);
    for (size_t p = 0; p < nparts; p++) {
        uint32_t *row = r->table + p * REPLICAS;
        for (size_t k = 0; k < REPLICAS; k++) {
            row[k] = pick_device(r, row, k, &b);
            b.have[row[k]]++;
        }
    }
    free(b.have);
    free(b.zone_want);
    free(b.want);
    *out = r;
    return 0;
}


/* ---- rebalancing ---- */

#define FREE_SLOT UINT32_MAX

/* Whole-number targets from the wanted shares: floors, then the largest
 * remainders get one more, so they add up to every replica. */
static void integer_targets(const double *want, size_t n, size_t total, double *t)
{
    size_t sum = 0;

    for (size_t i = 0; i < n; i++) {
        t[i] = floor(want[i] + 1e-9);
        sum += (size_t)t[i];
    }
    while (sum < total) {
        size_t best = 0;
        double best_rem = -1;
        for (size_t i = 0; i < n; i++) {
            double rem = want[i] - t[i];
            if (rem > best_rem) {
                best = i;
                best_rem = rem;
            }
        }
        t[best] += 1;
        sum++;
    }
}

/* The assigned entries of a row, compacted into out; returns how many. */
static size_t row_assigned(const uint32_t *row, uint32_t *out)
{
    size_t m = 0;

    for (size_t k = 0; k < REPLICAS; k++)
        if (row[k] != FREE_SLOT)
            out[m++] = row[k];
    return m;
}

/* Partitions in a scattered but fixed order (an odd stride is coprime
 * with the power-of-two count), so a device sheds replicas evenly. */
static size_t part_at(size_t i, size_t nparts)
{
    return (i * 2654435761u) & (nparts - 1);
}

static void release_slot(uint32_t *slot, struct build *b)
{
    b->have[*slot]--;
    *slot = FREE_SLOT;
}

/* Free the second of two replicas of a partition in one zone. */
static void free_zone_clashes(struct ring *r, struct build *b)
{
    size_t nparts = (size_t)1 << r->part_power;

    for (size_t p = 0; p < nparts; p++) {
        uint32_t *row = r->table + p * REPLICAS;
        for (size_t k = 1; k < REPLICAS; k++)
            for (size_t j = 0; j < k && row[k] != FREE_SLOT; j++)
                if (row[j] != FREE_SLOT && r->devs[row[j]].zone == r->devs[row[k]].zone)
                    release_slot(&row[k], b);
    }
}

static void fill_free(struct ring *r, struct build *b, uint8_t *fresh)
{
    size_t nparts = (size_t)1 << r->part_power;

    for (size_t i = 0; i < nparts; i++) {
        uint32_t *row = r->table + part_at(i, nparts) * REPLICAS;
        for (size_t k = 0; k < REPLICAS; k++) {
            if (row[k] != FREE_SLOT)
                continue;
            uint32_t others[REPLICAS];
            size_t m = row_assigned(row, others);
            row[k] = pick_device(r, others, m, b);
            b->have[row[k]]++;
            fresh[(row - r->table) + k] = 1;
        }
    }
}

/* May replica slot k of row move to device u (not in the row, and no zone
 * clash when zones fit)? */
static bool can_take(const struct ring *r, const struct build *b, const uint32_t *row, size_t k,
                     uint32_t u)
{
    if (used_by(row, REPLICAS, u))
        return false;
    if (!b->zones_fit || r->devs[u].zone == r->devs[row[k]].zone)
        return true;
    for (size_t j = 0; j < REPLICAS; j++)
        if (j != k && r->devs[row[j]].zone == r->devs[u].zone)
            return false;
    return true;
}

/* The device below target that slot k of row may move to, furthest below
 * it first; UINT32_MAX when none. */
static uint32_t best_taker(const struct ring *r, const struct build *b, const uint32_t *row,
                           size_t k)
{
    uint32_t best = UINT32_MAX;
    double best_need = 0;

    for (uint32_t u = 0; u < r->ndev; u++) {
        double need = b->want[u] - (double)b->have[u];
        if (need > best_need && can_take(r, b, row, k, u)) {
            best = u;
            best_need = need;
        }
    }
    return best;
}

/* One pass of move_excess over the partitions; the slots it may take:
 * FRESH only slots already placed anew by this rebalance (moving them
 * again costs nothing), UNTOUCHED any slot of a partition that has not
 * moved a replica, ANY any slot. Returns whether anything moved. */
enum excess_pass { FRESH, UNTOUCHED, ANY };

static bool excess_pass(struct ring *r, struct build *b, uint8_t *fresh, enum excess_pass pass)
{
    size_t nparts = (size_t)1 << r->part_power;
    bool moved_any = false;

    for (size_t i = 0; i < nparts; i++) {
        size_t p = part_at(i, nparts);
        uint32_t *row = r->table + p * REPLICAS;
        uint8_t *f = fresh + p * REPLICAS;
        bool touched = f[0] | f[1] | f[2];
        if (pass == UNTOUCHED && touched)
            continue;
        for (size_t k = 0; k < REPLICAS; k++) {
            if ((pass == FRESH && !f[k]) || (double)b->have[row[k]] <= b->want[row[k]])
                continue;
            uint32_t u = best_taker(r, b, row, k);
            if (u == UINT32_MAX)
                continue;
            b->have[row[k]]--;
            b->have[u]++;
            row[k] = u;
            f[k] = 1;
            moved_any = true;
            break;
        }
    }
    return moved_any;
}

/* Move single replicas from devices above target to devices below it:
 * every move takes one replica off the excess, so the count is the least
 * that balance needs. Slots that moved already go first, then partitions
 * that have not moved a replica (a partition keeps two of its holders
 * where that is possible), then any. */
static void move_excess(struct ring *r, struct build *b, uint8_t *fresh)
{
    for (enum excess_pass pass = FRESH; pass <= ANY; pass++)
        for (int round = 0; round < 64 && excess_pass(r, b, fresh, pass); round++)
            ;
}

/* Copy old's table into r, mapping ids to r's indices; a replica on a
 * device r no longer has becomes a free slot. */
static void carry_over(struct ring *r, const struct ring *old, struct build *b)
{
    size_t total = (size_t)REPLICAS << r->part_power;
    long *map = xcalloc(old->ndev, sizeof(*map));

    for (size_t i = 0; i < old->ndev; i++)
        map[i] = ring_device_index(r, old->devs[i].id);
    for (size_t k = 0; k < total; k++) {
        long d = map[old->table[k]];
        r->table[k] = d < 0 ? FREE_SLOT : (uint32_t)d;
        if (d >= 0)
            b->have[d]++;
    }
    free(map);
}

/* Replicas of r that old did not have on the same device. */
static size_t count_moved(const struct ring *r, const struct ring *old)
{
    size_t nparts = (size_t)1 << r->part_power, moved = 0;

    for (size_t p = 0; p < nparts; p++) {
        uint32_t before[REPLICAS];
        for (size_t k = 0; k < REPLICAS; k++) {
            long d = ring_device_index(r, old->devs[old->table[p * REPLICAS + k]].id);
            before[k] = d < 0 ? FREE_SLOT : (uint32_t)d;
        }
        for (size_t k = 0; k < REPLICAS; k++)
            moved += !used_by(before, REPLICAS, r->table[p * REPLICAS + k]);
    }
    return moved;
}

int ring_rebalance(struct ring **out, const struct ring *old, const struct ring_device *devs,
                   size_t n, size_t *moved)
{
    int rc = check_devices(old->part_power, devs, n);

    *out = NULL;
    if (rc < 0)
        return rc;
    size_t nparts = (size_t)1 << old->part_power;
    struct ring *r = ring_alloc(old->part_power, n);
    double *shares = xcalloc(n, sizeof(double));
    struct build b = {.want = xcalloc(n, sizeof(double)),
                      .zone_want = xcalloc(n, sizeof(double)),
                      .have = xcalloc(n, sizeof(size_t))};

    r->version = old->version + 1;
    for (size_t i = 0; i < n; i++) {
        r->devs[i] = devs[i];
        r->devs[i].path = xstrdup(devs[i].path);
    }
    ring_wanted_shares(devs, n, nparts, shares);
    integer_targets(shares, n, nparts * REPLICAS, b.want);
    zone_shares(r, nparts, &b);
    carry_over(r, old, &b);
    if (b.zones_fit)
        free_zone_clashes(r, &b);
    uint8_t *fresh = xcalloc(nparts * REPLICAS, 1);
    fill_free(r, &b, fresh);
    move_excess(r, &b, fresh);
    free(fresh);
    if (moved)
        *moved = count_moved(r, old);
    free(shares);
    free(b.have);
    free(b.zone_want);
    free(b.want);
    *out = r;
    return 0;
}
