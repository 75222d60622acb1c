/* storage/fresh.c: per disk group, a mark generation and the generation the
 * replicator last confirmed (fresh.h). Current means the two are equal. */
#include <stdatomic.h>

#include "fresh.h"

/* Index: disk group id. Marks start at 1 and confirmations at 0: stale. */
static _Atomic uint64_t marked[FRESH_MAX_ID + 1];
static _Atomic uint64_t confirmed[FRESH_MAX_ID + 1];

static uint64_t mark_of(uint32_t id)
{
    /* 0 is never a mark: the first one read is 1 */
    return atomic_load(&marked[id]) + 1;
}

void fresh_mark_stale(const struct disk_group *dg)
{
    uint32_t id = dg_id(dg);

    if (id <= FRESH_MAX_ID)
        atomic_fetch_add(&marked[id], 1);
}

void fresh_mark_all_stale(void)
{
    for (uint32_t id = 0; id <= FRESH_MAX_ID; id++)
        atomic_fetch_add(&marked[id], 1);
}

bool fresh_is_current(const struct disk_group *dg)
{
    uint32_t id = dg_id(dg);

    return id <= FRESH_MAX_ID && atomic_load(&confirmed[id]) == mark_of(id);
}

uint64_t fresh_generation(const struct disk_group *dg)
{
    uint32_t id = dg_id(dg);

    return id <= FRESH_MAX_ID ? mark_of(id) : 0;
}

void fresh_confirm(const struct disk_group *dg, uint64_t gen)
{
    uint32_t id = dg_id(dg);

    /* A mark after gen was taken makes mark_of() differ, so the store below
     * confirms an old generation and the disk group stays stale. */
    if (id <= FRESH_MAX_ID && gen != 0)
        atomic_store(&confirmed[id], gen);
}
