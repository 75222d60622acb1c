/* tools/bench_stats.c: the pure parts of `swiftlet bench`: names of ops and
 * status classes, the --mix parser, the default options and the latency
 * histogram with its percentiles. No I/O here, so all of it is unit-tested
 * (tests/unit/test_bench.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const op_names[BENCH_N_OPS] = {"put", "get", "head", "delete", "list"};
static const char *const status_names[BENCH_N_STATUS] = {"2xx", "404", "498", "429",
                                                         "5xx", "other", "conn_error"};

const char *bench_op_name(enum bench_op op)
{
    return op < BENCH_N_OPS ? op_names[op] : "?";
}

const char *bench_status_name(enum bench_status s)
{
    return s < BENCH_N_STATUS ? status_names[s] : "?";
}

enum bench_status bench_status_class(long http_status, bool conn_error)
{
    if (conn_error || http_status <= 0)
        return BENCH_CONN;
    if (http_status >= 200 && http_status < 300)
        return BENCH_2XX;
    if (http_status == 404)
        return BENCH_404;
    if (http_status == 498)
        return BENCH_498;
    if (http_status == 429)
        return BENCH_429;
    if (http_status >= 500 && http_status < 600)
        return BENCH_5XX;
    return BENCH_OTHER;
}

void bench_opts_init(struct bench_opts *o)
{
    static const unsigned default_mix[BENCH_N_OPS] = {70, 20, 5, 5, 0};

    memset(o, 0, sizeof(*o));
    o->prefix = "swiftlet-bench";
    o->concurrency = 16;
    o->size = 4096;
    o->containers = 1;
    o->duration_s = 10;
    o->timeout_s = 120;
    memcpy(o->weights, default_mix, sizeof(default_mix));
}

/* One "op=weight" item of a mix into weights; seen guards duplicates. */
static int mix_item(const char *item, size_t len, unsigned weights[BENCH_N_OPS],
                    bool seen[BENCH_N_OPS], char *err, size_t errlen)
{
    const char *eq = memchr(item, '=', len);
    if (!eq) {
        snprintf(err, errlen, "bad --mix item '%.*s' (want op=weight)", (int)len, item);
        return -EINVAL;
    }
    size_t nlen = (size_t)(eq - item);
    for (unsigned op = 0; op < BENCH_N_OPS; op++) {
        if (strlen(op_names[op]) != nlen || strncmp(op_names[op], item, nlen) != 0)
            continue;
        char num[16];
        size_t vlen = len - nlen - 1;
        char *end;
        if (vlen == 0 || vlen >= sizeof(num) || strspn(eq + 1, "0123456789") < vlen)
            goto bad_weight;
        memcpy(num, eq + 1, vlen);
        num[vlen] = '\0';
        unsigned long w = strtoul(num, &end, 10);
        if (*end || w > 1000000)
            goto bad_weight;
        if (seen[op]) {
            snprintf(err, errlen, "--mix names '%s' twice", op_names[op]);
            return -EINVAL;
        }
        seen[op] = true;
        weights[op] = (unsigned)w;
        return 0;
    }
    snprintf(err, errlen, "unknown op '%.*s' in --mix (want put, get, head, delete, list)",
             (int)nlen, item);
    return -EINVAL;
bad_weight:
    snprintf(err, errlen, "bad weight in --mix item '%.*s' (want a whole number 0..1000000)",
             (int)len, item);
    return -EINVAL;
}

int bench_mix_parse(const char *s, unsigned weights[BENCH_N_OPS], char *err, size_t errlen)
{
    bool seen[BENCH_N_OPS] = {false};
    unsigned long total = 0;

    memset(weights, 0, sizeof(unsigned) * BENCH_N_OPS);
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ",");
        int rc = mix_item(p, len, weights, seen, err, errlen);
        if (rc)
            return rc;
        p += len;
        if (!*p)
            break;
    }
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        total += weights[op];
    if (total == 0) {
        snprintf(err, errlen, "--mix has no op with a weight above 0");
        return -EINVAL;
    }
    if (weights[BENCH_PUT] == 0 &&
        (weights[BENCH_GET] || weights[BENCH_HEAD] || weights[BENCH_DELETE])) {
        snprintf(err, errlen, "--mix: get, head and delete need put > 0 "
                              "(they use objects this run wrote)");
        return -EINVAL;
    }
    return 0;
}

/* Bucket of a value: exact below 2*SUB, then SUB buckets per power of two. */
static size_t hist_bucket(uint64_t us)
{
    if (us < 2 * BENCH_HIST_SUB)
        return (size_t)us;
    if (us > BENCH_HIST_MAX_US)
        us = BENCH_HIST_MAX_US;
    unsigned e = 63 - (unsigned)__builtin_clzll(us);   /* >= 7 */
    uint64_t m = us >> (e - 6);                        /* 64..127 */
    return 2 * BENCH_HIST_SUB + (size_t)(e - 7) * BENCH_HIST_SUB + (size_t)(m - BENCH_HIST_SUB);
}

/* The largest value that falls in bucket b. */
static uint64_t hist_bucket_top(size_t b)
{
    if (b < 2 * BENCH_HIST_SUB)
        return b;
    size_t k = b - 2 * BENCH_HIST_SUB;
    unsigned e = 7 + (unsigned)(k / BENCH_HIST_SUB);
    uint64_t m = BENCH_HIST_SUB + k % BENCH_HIST_SUB;
    return ((m + 1) << (e - 6)) - 1;
}

void bench_hist_add(struct bench_hist *h, uint64_t us)
{
    h->counts[hist_bucket(us)]++;
    h->n++;
    if (us > h->max_us)
        h->max_us = us;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    for (size_t b = 0; b < BENCH_HIST_BUCKETS; b++)
        dst->counts[b] += src->counts[b];
    dst->n += src->n;
    dst->max_us = MAX(dst->max_us, src->max_us);
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
    if (h->n == 0)
        return 0;
    if (p > 100)
        p = 100;
    /* Nearest rank: the ceil(p/100 * n)-th smallest sample, at least the 1st. */
    /* (the small slack keeps 99 % of 100 samples at rank 99 despite
     * rounding in the floating-point product) */
    double r = p * (double)h->n / 100.0 - 1e-9;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < BENCH_HIST_BUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank)
            return MIN(hist_bucket_top(b), h->max_us);
    }
    return h->max_us;
}

uint64_t bench_count(const struct bench_result *res, unsigned op)
{
    uint64_t n = 0;
    for (unsigned o = 0; o < BENCH_N_OPS; o++)
        if (op == BENCH_N_OPS || op == o)
            for (unsigned s = 0; s < BENCH_N_STATUS; s++)
                n += res->status[o][s];
    return n;
}
