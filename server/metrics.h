/* server/metrics.h: counters for GET /metrics (Prometheus text format).
 *
 * Requests by verb and status, a latency histogram, bytes in and out; the
 * disk group gauges are read when the page is rendered. Counters are
 * relaxed atomics: one request costs a few uncontended increments. */
#ifndef SWIFTLET_SERVER_METRICS_H
#define SWIFTLET_SERVER_METRICS_H

#include <stdint.h>

#include "../common/buf.h"
#include "request.h"

struct metrics;
struct cluster;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);     /* NULL is a no-op */
/* Count one finished request. */
void metrics_observe(struct metrics *m, enum http_method method, int status, uint64_t duration_ns,
                     uint64_t bytes_in, uint64_t bytes_out);
/* Count a write the rate limiter delayed by delay_ns (status 0) or refused
 * (status 498 or 429). */
void metrics_ratelimit(struct metrics *m, int status, uint64_t delay_ns);
/* Render everything (and the disk groups of c) into out. */
int metrics_render(const struct metrics *m, const struct cluster *c, struct buf *out) WUR;

#endif
