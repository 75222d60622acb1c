/* server/ratelimit.h: per-container write throttling, after OpenStack
 * Swift's ratelimit middleware (swift/common/middleware/ratelimit.py).
 *
 * Object PUT/POST/DELETE/COPY are limited per container at a rate that
 * depends on the container's object count (container_ratelimit_<N> tiers,
 * linear between tiers, as Swift's interpret_conf_limits/get_maxrate);
 * container PUT/DELETE per account at account_ratelimit. Each limited key
 * has Swift's "running time" bucket: every request advances it by
 * clock_accuracy / rate ticks and waits until it is due. A wait reaching
 * max_sleep_time_seconds is answered 498 "Slow down" (mode swift); in mode
 * reject any wait is answered 429 with Retry-After instead. Reads are never
 * limited. Buckets idle longer than rate_buffer_seconds are forgotten (a
 * forgotten bucket behaves exactly like an idle one), so memory follows the
 * number of recently written containers, with a hard cap. */
#ifndef SWIFTLET_SERVER_RATELIMIT_H
#define SWIFTLET_SERVER_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/util.h"

struct ratelimit;
struct request;

/* Build a limiter from cfg's [ratelimit] section; cfg must outlive it.
 * NULL when the section has enabled = false. */
struct ratelimit *ratelimit_new(const struct config *cfg);
void ratelimit_free(struct ratelimit *rl);   /* NULL is a no-op */

/* Decide on an API request whose handler is known and whose caller is
 * authenticated. true: go on after *wait_ns nanoseconds (0: at once);
 * false: the answer (498 or 429) is set on r. rl NULL: always true, 0. */
bool ratelimit_admit(struct ratelimit *rl, struct request *r, uint64_t *wait_ns);

/* ---- the parts, for tests ---- */

/* Writes per second allowed in a container of size objects under tiers
 * (sorted by size): the rate of the last tier at or below size,
 * interpolated linearly towards the next one; 0 (no limit) below the first
 * tier, and for size 0 when exempt_empty (Swift's behaviour). */
double ratelimit_tier_rate(const struct config_rate *tiers, size_t n, uint64_t size,
                           bool exempt_empty);

/* The clock settings of Swift's _get_sleep_time. */
struct ratelimit_clock {
    int64_t accuracy;        /* ticks per second (clock_accuracy) */
    int64_t buffer_ticks;    /* rate_buffer_seconds * accuracy */
    double max_sleep_ticks;  /* max_sleep_time_seconds * accuracy */
};

/* A bucket never used (or forgotten): its running time is long past. */
#define RATELIMIT_FRESH (INT64_MIN / 4)

/* One request against the bucket whose running time is *running at time
 * now (ticks) for rate requests per second: *need = ticks to wait. true:
 * the request is counted and goes on after *need; false: refused (the wait
 * would reach max_sleep_ticks, or no_wait and a wait is needed) and not
 * counted. */
bool ratelimit_take(int64_t *running, int64_t now, double rate, const struct ratelimit_clock *ck,
                    bool no_wait, int64_t *need);

/* ratelimit_take on the limiter's bucket for key at time now_ns
 * (mono_ns()); creates and forgets buckets as needed. */
bool ratelimit_take_key(struct ratelimit *rl, const char *key, double rate, uint64_t now_ns,
                        int64_t *need);
/* Buckets held now. */
size_t ratelimit_buckets(struct ratelimit *rl);

#endif
