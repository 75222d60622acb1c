/* tools/bench.h: `swiftlet bench`, a load generator that speaks the Swift
 * API to any endpoint (v1 auth), for measuring a client pattern against the
 * limits of a server (swiftlet's own, Cloud Files, Swift).
 *
 * tools/ is a client: it sits on common/ only and never on the server's
 * layers, and tools/bench_run.c is the only file that talks to libcurl.
 * The statistics (latency histogram, percentiles, status classes) and the
 * mix parser are pure functions with unit tests (tests/unit/test_bench.c);
 * bench_run() drives the requests; the bench_write_* functions report. */
#ifndef SWIFTLET_TOOLS_BENCH_H
#define SWIFTLET_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/util.h"

enum bench_op { BENCH_PUT, BENCH_GET, BENCH_HEAD, BENCH_DELETE, BENCH_LIST, BENCH_N_OPS };

/* How a response is counted: by HTTP status, or a connection error (no
 * HTTP answer at all: refused, reset, timed out). */
enum bench_status {
    BENCH_2XX, BENCH_404, BENCH_498, BENCH_429, BENCH_5XX, BENCH_OTHER, BENCH_CONN,
    BENCH_N_STATUS
};

/* "put", "get", "head", "delete", "list". */
const char *bench_op_name(enum bench_op op);
/* "2xx", "404", "498", "429", "5xx", "other", "conn_error". */
const char *bench_status_name(enum bench_status s);
/* The class of an HTTP status; conn_error wins over the status. */
enum bench_status bench_status_class(long http_status, bool conn_error);

/* Parse a mix such as "put=70,get=20,head=5,delete=5,list=0" into weights
 * (relative, they need not add up to 100; ops not named get 0). Each op at
 * most once, weights 0..1000000, at least one weight above 0, and get, head
 * and delete need put > 0 since they use objects the run wrote. On error
 * writes a message to err and returns -EINVAL; weights is then undefined. */
int bench_mix_parse(const char *s, unsigned weights[BENCH_N_OPS], char *err, size_t errlen) WUR;

/* A log-linear latency histogram in microseconds: exact below 128 µs,
 * within 1/64 (1.6 %) above, up to BENCH_HIST_MAX_US (larger values are
 * counted there). Plain data: zero it to initialise, copy it freely. */
#define BENCH_HIST_SUB 64
#define BENCH_HIST_MAX_EXP 40
#define BENCH_HIST_BUCKETS (2 * BENCH_HIST_SUB + (BENCH_HIST_MAX_EXP - 6) * BENCH_HIST_SUB)
#define BENCH_HIST_MAX_US ((1ULL << (BENCH_HIST_MAX_EXP + 1)) - 1)
struct bench_hist {
    uint64_t n;
    uint64_t max_us;
    uint64_t counts[BENCH_HIST_BUCKETS];
};

void bench_hist_add(struct bench_hist *h, uint64_t us);
/* Add every sample of src to dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The nearest-rank percentile p (0 < p <= 100): the smallest recorded
 * value v such that at least p % of the samples are <= v, as the top of
 * its bucket and never above the maximum. 0 when the histogram is empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

/* What to run. bench_opts_init() sets the documented defaults. */
struct bench_opts {
    const char *auth_url;       /* v1 auth: GET with X-Auth-User / X-Auth-Key */
    const char *user;           /* ACCOUNT:USER */
    const char *key;
    const char *prefix;         /* containers are <prefix>-0 .. <prefix>-(N-1) */
    unsigned concurrency;       /* requests in flight at once */
    uint64_t size;              /* bytes per PUT */
    unsigned containers;
    double duration_s;          /* run this long, unless requests > 0 */
    uint64_t requests;          /* or this many requests (0: use duration) */
    double rate;                /* total requests/s target; 0: as fast as possible */
    double timeout_s;           /* per request */
    unsigned weights[BENCH_N_OPS];
    bool progress;              /* live progress line on stderr */
};
void bench_opts_init(struct bench_opts *o);

/* One second of the run: requests that completed in it. */
struct bench_second {
    uint64_t ops[BENCH_N_OPS];
    uint64_t status[BENCH_N_STATUS];
    uint64_t p50_us, p99_us, max_us;
};

/* The outcome of a run; plain data filled by bench_run(). */
struct bench_result {
    struct bench_opts opts;
    double elapsed_s;                        /* from the first request to the last answer */
    uint64_t bytes_sent, bytes_received;     /* object bodies only */
    uint64_t status[BENCH_N_OPS][BENCH_N_STATUS];
    struct bench_hist hist[BENCH_N_OPS];
    struct bench_hist all;
    struct bench_second *seconds;
    size_t n_seconds;
    bool interrupted;                        /* stopped early by SIGINT/SIGTERM */
};

/* Authenticate, create the containers, then run the mix until the
 * duration or request count is reached (or SIGINT/SIGTERM), waiting for the
 * requests in flight, which count in the last second. On success fills
 * *res (release it with bench_result_release) and returns 0. On failure
 * (bad credentials, unreachable endpoint, a container that cannot be
 * created) writes a message to err and returns a negative errno. */
int bench_run(const struct bench_opts *o, struct bench_result *res, char *err,
              size_t errlen) WUR;
void bench_result_release(struct bench_result *res);

/* Totals over ops; op BENCH_N_OPS means every op. */
uint64_t bench_count(const struct bench_result *res, unsigned op);

/* The progress line for second t (1-based) of a run in progress. */
void bench_progress_line(const struct bench_second *s, size_t t, char *out, size_t outlen);
/* The summary table for people. */
void bench_write_table(const struct bench_result *res, FILE *out);
/* One row per second: t, ops/s per op, total, p50/p99 ms, status counts.
 * 0 or -errno (the file could not be written). */
int bench_write_csv(const struct bench_result *res, const char *path) WUR;
/* {"config", "summary", "ops", "series"}; 0 or -errno. */
int bench_write_json(const struct bench_result *res, const char *path) WUR;
/* Throughput and latency over time as a PNG drawn by gnuplot. 0, -ENOENT
 * when gnuplot is not installed, or another -errno. */
int bench_write_plot(const struct bench_result *res, const char *path) WUR;
/* Whether a gnuplot executable is on PATH. */
bool bench_have_gnuplot(void);

#endif
