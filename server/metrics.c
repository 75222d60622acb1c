/* server/metrics.c: implements the Prometheus counters (server/metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "../replication/cluster.h"
#include "../storage/auditor.h"
#include "../storage/dg.h"

/* Status classes we count one by one; everything else lands in "other". */
static const int tracked_status[] = {100, 200, 201, 202, 204, 206, 304, 400, 401, 403, 404, 405,
                                     409, 411, 412, 413, 416, 422, 429, 498, 499, 500, 503, 507};
#define N_STATUS (ARRAY_SIZE(tracked_status) + 1)
#define N_METHOD (M_OTHER + 1)

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define N_BUCKET (ARRAY_SIZE(latency_bounds) + 1)

static const char *const method_names[N_METHOD] = {"GET",    "HEAD", "PUT",     "POST",
                                                   "DELETE", "COPY", "OPTIONS", "OTHER"};

struct metrics {
    atomic_uint_fast64_t requests[N_METHOD][N_STATUS];
    atomic_uint_fast64_t latency[N_BUCKET];
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_count;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t rl_delayed, rl_delay_us, rl_498, rl_429;   /* server/ratelimit.c */
};

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(tracked_status); i++)
        if (tracked_status[i] == status)
            return i;
    return N_STATUS - 1;
}

void metrics_observe(struct metrics *m, enum http_method method, int status, uint64_t duration_ns,
                     uint64_t bytes_in, uint64_t bytes_out)
{
    size_t mi = (size_t)method < N_METHOD ? (size_t)method : M_OTHER;
    atomic_fetch_add_explicit(&m->requests[mi][status_index(status)], 1, memory_order_relaxed);
    double secs = (double)duration_ns / 1e9;
    size_t b = 0;
    while (b < ARRAY_SIZE(latency_bounds) && secs > latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us, duration_ns / 1000, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_in, bytes_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_out, bytes_out, memory_order_relaxed);
}

void metrics_ratelimit(struct metrics *m, int status, uint64_t delay_ns)
{
    if (status == 0) {
        atomic_fetch_add_explicit(&m->rl_delayed, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&m->rl_delay_us, delay_ns / 1000, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(status == 429 ? &m->rl_429 : &m->rl_498, 1,
                                  memory_order_relaxed);
    }
}

static uint64_t load(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static int render_requests(const struct metrics *m, struct buf *out)
{
    int rc = buf_appends(out, "# HELP swiftlet_requests_total Requests answered, by verb and "
                              "status.\n# TYPE swiftlet_requests_total counter\n");
    for (size_t mi = 0; mi < N_METHOD && rc == 0; mi++)
        for (size_t si = 0; si < N_STATUS && rc == 0; si++) {
            uint64_t n = load(&m->requests[mi][si]);
            if (!n)
                continue;
            if (si < ARRAY_SIZE(tracked_status))
                rc = buf_appendf(out, "swiftlet_requests_total{method=\"%s\",status=\"%d\"} %llu\n",
                                 method_names[mi], tracked_status[si], (unsigned long long)n);
            else
                rc = buf_appendf(out,
                                 "swiftlet_requests_total{method=\"%s\",status=\"other\"} %llu\n",
                                 method_names[mi], (unsigned long long)n);
        }
    return rc;
}

static int render_latency(const struct metrics *m, struct buf *out)
{
    int rc = buf_appends(out, "# HELP swiftlet_request_duration_seconds Time from request "
                              "headers to the end of the response.\n"
                              "# TYPE swiftlet_request_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t b = 0; b < ARRAY_SIZE(latency_bounds) && rc == 0; b++) {
        cumulative += load(&m->latency[b]);
        rc = buf_appendf(out, "swiftlet_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                         latency_bounds[b], (unsigned long long)cumulative);
    }
    cumulative += load(&m->latency[N_BUCKET - 1]);
    if (rc == 0)
        rc = buf_appendf(out,
                         "swiftlet_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                         "swiftlet_request_duration_seconds_sum %.6f\n"
                         "swiftlet_request_duration_seconds_count %llu\n",
                         (unsigned long long)cumulative, (double)load(&m->latency_sum_us) / 1e6,
                         (unsigned long long)load(&m->latency_count));
    return rc;
}

static int render_disk_groups(const struct cluster *c, struct buf *out)
{
    int rc = buf_appends(out, "# HELP swiftlet_disk_group_up 1 when the disk group is usable.\n"
                              "# TYPE swiftlet_disk_group_up gauge\n"
                              "# HELP swiftlet_disk_group_free_bytes Free bytes on the disk "
                              "group's filesystem.\n# TYPE swiftlet_disk_group_free_bytes gauge\n"
                              "# HELP swiftlet_disk_group_size_bytes Size of the disk group's "
                              "filesystem.\n# TYPE swiftlet_disk_group_size_bytes gauge\n"
                              "# HELP swiftlet_disk_group_errors_total I/O errors seen on the "
                              "disk group.\n# TYPE swiftlet_disk_group_errors_total counter\n");
    for (size_t i = 0; c && i < cluster_dg_count(c) && rc == 0; i++) {
        struct disk_group *dg = cluster_dg(c, i);
        uint64_t free_b = 0, total_b = 0;
        struct dg_health h;
        dg_health(dg, &h);
        /* A missing dg's path may be an empty mount point on another disk. */
        if (h.state == DG_MISSING || dg_space(dg, &free_b, &total_b) != 0)
            free_b = total_b = 0;
        rc = buf_appendf(out,
                         "swiftlet_disk_group_up{dg=\"%u\",state=\"%s\"} %d\n"
                         "swiftlet_disk_group_free_bytes{dg=\"%u\"} %llu\n"
                         "swiftlet_disk_group_size_bytes{dg=\"%u\"} %llu\n"
                         "swiftlet_disk_group_errors_total{dg=\"%u\"} %llu\n",
                         dg_id(dg), dg_state_name(h.state), h.state == DG_OK ? 1 : 0, dg_id(dg),
                         (unsigned long long)free_b, dg_id(dg), (unsigned long long)total_b,
                         dg_id(dg), (unsigned long long)h.errors);
    }
    return rc;
}

/* The auditor's process-wide counters (storage/auditor.h). */
static int render_auditor(struct buf *out)
{
    struct auditor_stats t;

    auditor_totals(&t);
    return buf_appendf(
        out,
        "# HELP swiftlet_auditor_files_total Object files the auditor checked.\n"
        "# TYPE swiftlet_auditor_files_total counter\nswiftlet_auditor_files_total %llu\n"
        "# HELP swiftlet_auditor_bytes_total Bytes the auditor read.\n"
        "# TYPE swiftlet_auditor_bytes_total counter\nswiftlet_auditor_bytes_total %llu\n"
        "# HELP swiftlet_auditor_dbs_total Container and account DBs the auditor checked.\n"
        "# TYPE swiftlet_auditor_dbs_total counter\nswiftlet_auditor_dbs_total %llu\n"
        "# HELP swiftlet_auditor_errors_total Files the auditor could not read.\n"
        "# TYPE swiftlet_auditor_errors_total counter\nswiftlet_auditor_errors_total %llu\n"
        "# HELP swiftlet_quarantined_total Corrupt replicas moved to quarantined/ (by the "
        "auditor or a read).\n"
        "# TYPE swiftlet_quarantined_total counter\nswiftlet_quarantined_total %llu\n",
        (unsigned long long)t.files, (unsigned long long)t.bytes, (unsigned long long)t.dbs,
        (unsigned long long)t.errors, (unsigned long long)t.quarantined);
}

int metrics_render(const struct metrics *m, const struct cluster *c, struct buf *out)
{
    int rc = render_requests(m, out);
    if (rc == 0)
        rc = render_latency(m, out);
    if (rc == 0)
        rc = buf_appendf(out,
                         "# HELP swiftlet_bytes_in_total Request body bytes received.\n"
                         "# TYPE swiftlet_bytes_in_total counter\nswiftlet_bytes_in_total %llu\n"
                         "# HELP swiftlet_bytes_out_total Response body bytes sent.\n"
                         "# TYPE swiftlet_bytes_out_total counter\nswiftlet_bytes_out_total %llu\n",
                         (unsigned long long)load(&m->bytes_in),
                         (unsigned long long)load(&m->bytes_out));
    if (rc == 0)
        rc = buf_appendf(
            out,
            "# HELP swiftlet_ratelimit_delayed_total Writes the rate limiter delayed.\n"
            "# TYPE swiftlet_ratelimit_delayed_total counter\nswiftlet_ratelimit_delayed_total %llu\n"
            "# HELP swiftlet_ratelimit_delay_seconds_total Time writes waited for the rate limiter.\n"
            "# TYPE swiftlet_ratelimit_delay_seconds_total counter\n"
            "swiftlet_ratelimit_delay_seconds_total %.6f\n"
            "# HELP swiftlet_ratelimit_rejected_total Writes the rate limiter refused, by status.\n"
            "# TYPE swiftlet_ratelimit_rejected_total counter\n"
            "swiftlet_ratelimit_rejected_total{status=\"498\"} %llu\n"
            "swiftlet_ratelimit_rejected_total{status=\"429\"} %llu\n",
            (unsigned long long)load(&m->rl_delayed), (double)load(&m->rl_delay_us) / 1e6,
            (unsigned long long)load(&m->rl_498), (unsigned long long)load(&m->rl_429));
    if (rc == 0)
        rc = render_disk_groups(c, out);
    if (rc == 0)
        rc = render_auditor(out);
    return rc;
}
