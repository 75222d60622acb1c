/* replication/health.h: disk group health for the whole cluster: the
 * background prober, the quorum test behind /healthcheck and the report
 * that /healthcheck?detail and `swiftlet status` print.
 *
 * The request path marks a disk group unusable the moment an I/O call on it
 * fails (dg_note_result) and then skips it; the prober is what brings it
 * back: every interval it runs dg_probe on each disk group (identity check,
 * a small write + fsync + read + unlink in <dg>/tmp, free space), so a
 * failed, full, read-only or missing disk group returns to ok once it is
 * healthy again, and one that vanishes or fills up while idle is noticed. */
#ifndef SWIFTLET_REPLICATION_HEALTH_H
#define SWIFTLET_REPLICATION_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "cluster.h"

struct health;

/* Start the prober thread over the disk groups of c (re-read every round,
 * so disk groups added later are probed too). interval_ms > 0;
 * min_free_pct as for dg_probe. 0 or -errno. */
int health_start(struct health **out, struct cluster *c, unsigned interval_ms,
                 unsigned min_free_pct) WUR;
/* Stop and join the thread; NULL is a no-op. Call before cluster_free. */
void health_stop(struct health *h);

/* Probe every disk group of c once, now (what `swiftlet status` does). */
void health_probe_all(struct cluster *c, unsigned min_free_pct);

/* Disk groups in state ok; a write quorum needs QUORUM of them. */
size_t health_usable(const struct cluster *c);
bool health_quorum(const struct cluster *c);

/* The per-disk-group report as JSON:
 * {"quorum":bool,"usable":n,"disk_groups":[{"id","path","state","free_bytes",
 *  "total_bytes","errors","last_error","last_error_at"}, ...]}
 * or as an aligned text table (one line per disk group, then a summary
 * line). 0 or -E2BIG/-ENOMEM. */
int health_report_json(const struct cluster *c, struct buf *out) WUR;
int health_report_text(const struct cluster *c, struct buf *out) WUR;

#endif
