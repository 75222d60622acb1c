/* tests/unit/test_bench.c: the pure parts of `swiftlet bench`
 * (tools/bench_stats.c): the --mix parser, the status classes and the
 * latency histogram's nearest-rank percentiles, exact below 128 µs and
 * within 1/64 above. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/bench.h"

struct mix_case {
    const char *in;
    int rc;
    unsigned w[BENCH_N_OPS];    /* put get head delete list */
    const char *err;            /* a substring of the message when rc != 0 */
};

static const struct mix_case mix_cases[] = {
    {"put=70,get=20,head=5,delete=5,list=0", 0, {70, 20, 5, 5, 0}, NULL},
    {"put=1", 0, {1, 0, 0, 0, 0}, NULL},
    {"list=3", 0, {0, 0, 0, 0, 3}, NULL},
    {"delete=1,put=2", 0, {2, 0, 0, 1, 0}, NULL},
    {"put=0,list=1", 0, {0, 0, 0, 0, 1}, NULL},
    {"put=1000000", 0, {1000000, 0, 0, 0, 0}, NULL},
    {"put=007", 0, {7, 0, 0, 0, 0}, NULL},
    {"", -22, {0}, "bad --mix item"},
    {"put", -22, {0}, "bad --mix item"},
    {"put=", -22, {0}, "bad weight"},
    {"put=-1", -22, {0}, "bad weight"},
    {"put=1.5", -22, {0}, "bad weight"},
    {"put=1000001", -22, {0}, "bad weight"},
    {"put=99999999999999999999", -22, {0}, "bad weight"},
    {"put=1,", -22, {0}, "bad --mix item"},
    {",put=1", -22, {0}, "bad --mix item"},
    {"put=1,,get=1", -22, {0}, "bad --mix item"},
    {"post=1", -22, {0}, "unknown op 'post'"},
    {"PUT=1", -22, {0}, "unknown op 'PUT'"},
    {"put=1,put=2", -22, {0}, "names 'put' twice"},
    {"put=0,get=0", -22, {0}, "no op with a weight above 0"},
    {"get=1", -22, {0}, "need put > 0"},
    {"put=0,head=1,list=1", -22, {0}, "need put > 0"},
    {"delete=5", -22, {0}, "need put > 0"},
};

static void test_mix_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mix_cases) / sizeof(mix_cases[0]); i++) {
        const struct mix_case *c = &mix_cases[i];
        unsigned w[BENCH_N_OPS];
        char err[256] = "";
        int rc = bench_mix_parse(c->in, w, err, sizeof(err));
        if (rc != c->rc)
            fail_msg("mix '%s': rc %d, want %d (%s)", c->in, rc, c->rc, err);
        if (rc == 0) {
            for (unsigned op = 0; op < BENCH_N_OPS; op++)
                if (w[op] != c->w[op])
                    fail_msg("mix '%s': %s=%u, want %u", c->in, bench_op_name(op), w[op],
                             c->w[op]);
        } else if (!strstr(err, c->err)) {
            fail_msg("mix '%s': message '%s' lacks '%s'", c->in, err, c->err);
        }
    }
}

static void test_default_mix_parses(void **state)
{
    (void)state;
    struct bench_opts o;
    unsigned w[BENCH_N_OPS];
    char err[128];
    bench_opts_init(&o);
    /* The documented default is what --mix of the same text gives. */
    assert_int_equal(bench_mix_parse("put=70,get=20,head=5,delete=5,list=0", w, err,
                                     sizeof(err)), 0);
    assert_memory_equal(w, o.weights, sizeof(w));
    assert_int_equal(o.concurrency, 16);
    assert_int_equal(o.containers, 1);
}

static void test_status_class(void **state)
{
    (void)state;
    static const struct {
        long code;
        bool conn;
        enum bench_status want;
    } cases[] = {
        {200, false, BENCH_2XX}, {201, false, BENCH_2XX}, {204, false, BENCH_2XX},
        {299, false, BENCH_2XX}, {404, false, BENCH_404}, {498, false, BENCH_498},
        {429, false, BENCH_429}, {500, false, BENCH_5XX}, {503, false, BENCH_5XX},
        {599, false, BENCH_5XX}, {401, false, BENCH_OTHER}, {409, false, BENCH_OTHER},
        {301, false, BENCH_OTHER}, {100, false, BENCH_OTHER}, {600, false, BENCH_OTHER},
        {0, false, BENCH_CONN},  {0, true, BENCH_CONN},    {200, true, BENCH_CONN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (bench_status_class(cases[i].code, cases[i].conn) != cases[i].want)
            fail_msg("status %ld conn %d: got %s, want %s", cases[i].code, cases[i].conn,
                     bench_status_name(bench_status_class(cases[i].code, cases[i].conn)),
                     bench_status_name(cases[i].want));
    assert_string_equal(bench_status_name(BENCH_CONN), "conn_error");
    assert_string_equal(bench_op_name(BENCH_DELETE), "delete");
}

static struct bench_hist *hist_new(void)
{
    return calloc(1, sizeof(struct bench_hist));
}

static void test_percentile_empty_and_single(void **state)
{
    (void)state;
    struct bench_hist *h = hist_new();
    assert_int_equal(bench_hist_percentile(h, 50), 0);
    assert_int_equal(bench_hist_percentile(h, 100), 0);
    bench_hist_add(h, 12345);
    /* one sample: every percentile is that sample (capped at the max) */
    assert_int_equal(bench_hist_percentile(h, 0.1), 12345);
    assert_int_equal(bench_hist_percentile(h, 50), 12345);
    assert_int_equal(bench_hist_percentile(h, 100), 12345);
    assert_int_equal(h->n, 1);
    assert_int_equal(h->max_us, 12345);
    free(h);
}

static void test_percentile_exact_small(void **state)
{
    (void)state;
    struct bench_hist *h = hist_new();
    /* 1..100 in a shuffled order: nearest rank gives p exactly */
    for (unsigned i = 0; i < 100; i++)
        bench_hist_add(h, 1 + (i * 37) % 100);
    assert_int_equal(bench_hist_percentile(h, 50), 50);
    assert_int_equal(bench_hist_percentile(h, 90), 90);
    assert_int_equal(bench_hist_percentile(h, 99), 99);
    assert_int_equal(bench_hist_percentile(h, 99.5), 100);
    assert_int_equal(bench_hist_percentile(h, 100), 100);
    assert_int_equal(bench_hist_percentile(h, 1), 1);
    assert_int_equal(bench_hist_percentile(h, 0.5), 1);
    free(h);
}

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    struct bench_hist *h = hist_new();
    /* 10 samples: p50 is the 5th, p90 the 9th, p91..p100 the 10th */
    for (unsigned v = 10; v <= 100; v += 10)
        bench_hist_add(h, v);
    assert_int_equal(bench_hist_percentile(h, 50), 50);
    assert_int_equal(bench_hist_percentile(h, 51), 60);
    assert_int_equal(bench_hist_percentile(h, 90), 90);
    assert_int_equal(bench_hist_percentile(h, 91), 100);
    assert_int_equal(bench_hist_percentile(h, 99), 100);
    free(h);
}

/* Large values: the answer is the top of the sample's bucket, never below
 * the true value, never more than 1/64 above it, never above the max. */
static void test_percentile_relative_error(void **state)
{
    (void)state;
    struct bench_hist *h = hist_new();
    uint64_t *v = calloc(1000, sizeof(*v));
    uint64_t x = 1;
    for (size_t i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = 128 + (x >> 33) % 5000000;   /* 128 µs .. 5 s */
        bench_hist_add(h, v[i]);
    }
    for (size_t i = 1; i < 1000; i++)     /* insertion sort: the true order */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    static const double ps[] = {1, 10, 50, 90, 99, 99.9, 100};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        size_t rank = (size_t)(ps[i] * 10 + 0.999);   /* ceil(p / 100 * 1000) */
        uint64_t want = v[rank - 1], got = bench_hist_percentile(h, ps[i]);
        if (got < want || got > want + want / 64)
            fail_msg("p%g: got %llu, true %llu", ps[i], (unsigned long long)got,
                     (unsigned long long)want);
    }
    assert_int_equal(bench_hist_percentile(h, 100), v[999]);
    assert_int_equal(h->max_us, v[999]);
    free(v);
    free(h);
}

static void test_hist_merge_and_clamp(void **state)
{
    (void)state;
    struct bench_hist *a = hist_new(), *b = hist_new();
    for (unsigned i = 1; i <= 50; i++)
        bench_hist_add(a, i);
    for (unsigned i = 51; i <= 100; i++)
        bench_hist_add(b, i);
    bench_hist_merge(a, b);
    assert_int_equal(a->n, 100);
    assert_int_equal(a->max_us, 100);
    assert_int_equal(bench_hist_percentile(a, 50), 50);
    assert_int_equal(bench_hist_percentile(a, 75), 75);
    /* a value past the top bucket is counted there and kept as the max */
    bench_hist_add(b, UINT64_MAX);
    assert_int_equal(b->max_us, UINT64_MAX);
    assert_true(bench_hist_percentile(b, 100) >= BENCH_HIST_MAX_US - BENCH_HIST_MAX_US / 64);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_parse),
        cmocka_unit_test(test_default_mix_parses),
        cmocka_unit_test(test_status_class),
        cmocka_unit_test(test_percentile_empty_and_single),
        cmocka_unit_test(test_percentile_exact_small),
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_percentile_relative_error),
        cmocka_unit_test(test_hist_merge_and_clamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
