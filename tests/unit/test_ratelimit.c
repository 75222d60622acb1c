/* tests/unit/test_ratelimit.c: server/ratelimit.c (Swift's size tiers and
 * running-time bucket, the bucket table's forgetting of idle buckets),
 * server/wakeup.c (timers fire in deadline order, and all at once on stop)
 * and the [ratelimit] options of common/config.c. Expected numbers follow
 * swift/common/middleware/ratelimit.py (get_maxrate, _get_sleep_time). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/config.h"
#include "../../common/timefmt.h"
#include "../../server/ratelimit.h"
#include "../../server/wakeup.h"

#define ACC 1000   /* Swift's default clock_accuracy: milliseconds */

static const struct ratelimit_clock swift_clock = {ACC, 5 * ACC, 60.0 * ACC};

/* get_maxrate: below the first tier no limit; between tiers a straight
 * line; past the last tier its rate. */
static void test_tier_interpolation(void **state)
{
    (void)state;
    const struct config_rate t[] = {{10, 200}, {50, 100}, {1000, 20}};
    static const struct {
        uint64_t size;
        double want;
    } cases[] = {
        {0, 0},    {9, 0},       {10, 200},     {30, 150}, {50, 100},
        {525, 60}, {1000, 20},   {999999, 20},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_float_equal(ratelimit_tier_rate(t, 3, cases[i].size, false), cases[i].want, 1e-9);
    assert_float_equal(ratelimit_tier_rate(t, 0, 100, false), 0, 0);
}

/* The default single tier from size 0 limits every container, empty ones
 * too, unless exempt_empty (Swift's `if size:`). */
static void test_tier_default_and_exemption(void **state)
{
    (void)state;
    const struct config_rate t[] = {{0, 100}};

    assert_float_equal(ratelimit_tier_rate(t, 1, 0, false), 100, 0);
    assert_float_equal(ratelimit_tier_rate(t, 1, 7, false), 100, 0);
    assert_float_equal(ratelimit_tier_rate(t, 1, 0, true), 0, 0);
    assert_float_equal(ratelimit_tier_rate(t, 1, 7, true), 100, 0);
}

/* A fresh bucket at 10/s: requests arriving together wait 0, 100, 200 ...
 * ms; the one that would wait 60 s is refused and costs nothing. */
static void test_bucket_running_time(void **state)
{
    (void)state;
    int64_t running = RATELIMIT_FRESH, need, now = 1000000;

    for (int i = 0; i < 600; i++) {
        assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
        assert_int_equal(need, 100 * i);
    }
    int64_t before = running;
    assert_false(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
    assert_int_equal(need, 60000);
    assert_int_equal(running, before);
    /* A minute later the queue has drained: no wait again. */
    assert_true(ratelimit_take(&running, now + 60000, 10, &swift_clock, false, &need));
    assert_int_equal(need, 0);
}

/* Requests at exactly the rate never wait; accepted requests over a long
 * overload run at the configured rate, not more. */
static void test_bucket_rate_is_kept(void **state)
{
    (void)state;
    int64_t running = RATELIMIT_FRESH, need, now = 5000000;
    int accepted = 0;

    for (int i = 0; i < 100; i++) {
        assert_true(ratelimit_take(&running, now + 10 * i, 100, &swift_clock, false, &need));
        assert_int_equal(need, 0);
    }
    /* 10 s of requests every ms (1000/s) against 100/s and max sleep 1 s:
     * those accepted are those the clock can fit, 100 per second (+1 s of
     * queue at the end). */
    struct ratelimit_clock ck = {ACC, 5 * ACC, 1.0 * ACC};
    running = RATELIMIT_FRESH;
    for (int64_t t = 0; t < 10000; t++)
        accepted += ratelimit_take(&running, now + t, 100, &ck, false, &need);
    assert_in_range(accepted, 1000, 1101);
}

/* rate_buffer_seconds: after a pause shorter than the buffer the unused
 * time is caught up in a burst; after a longer pause it starts over. */
static void test_bucket_rate_buffer(void **state)
{
    (void)state;
    int64_t running = RATELIMIT_FRESH, need, now = 1000000;

    assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
    now += 3000;    /* 3 s idle: 30 requests' worth of time unused */
    for (int i = 0; i < 30; i++) {
        assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
        assert_int_equal(need, 0);
    }
    assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
    assert_true(need > 0);
    now += 6000 + 3100;   /* past the queue, then 6 s idle: no credit */
    assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
    assert_int_equal(need, 0);
    assert_true(ratelimit_take(&running, now, 10, &swift_clock, false, &need));
    assert_int_equal(need, 100);
}

/* Reject mode: any wait refuses the request, which then costs nothing. */
static void test_bucket_no_wait(void **state)
{
    (void)state;
    int64_t running = RATELIMIT_FRESH, need, now = 1000000;

    assert_true(ratelimit_take(&running, now, 4, &swift_clock, true, &need));
    for (int i = 0; i < 5; i++) {
        assert_false(ratelimit_take(&running, now + 10 * i, 4, &swift_clock, true, &need));
        assert_int_equal(need, 250 - 10 * i);
    }
    assert_true(ratelimit_take(&running, now + 250, 4, &swift_clock, true, &need));
}

/* The table forgets buckets idle past rate_buffer_seconds, so memory
 * follows the containers written recently; a forgotten bucket answers as
 * the idle one would have. */
static void test_idle_buckets_are_forgotten(void **state)
{
    (void)state;
    struct config cfg;
    config_init(&cfg);
    struct ratelimit *rl = ratelimit_new(&cfg);
    uint64_t t0 = 1000ULL * 1000000000ULL;
    int64_t need;
    char key[64];

    assert_non_null(rl);
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "AUTH_a/c%d", i);
        assert_true(ratelimit_take_key(rl, key, 100, t0, &need));
        assert_int_equal(need, 0);
    }
    assert_int_equal(ratelimit_buckets(rl), 20000);
    assert_true(ratelimit_take_key(rl, "AUTH_a/c0", 100, t0, &need));
    assert_int_equal(need, 10);
    /* 10 s later every bucket is idle: touching the shards sweeps them. */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "AUTH_b/c%d", i);
        assert_true(ratelimit_take_key(rl, key, 100, t0 + 10000000000ULL, &need));
    }
    assert_in_range(ratelimit_buckets(rl), 2000, 2100);
    /* A cap holds even when nothing is idle: 64 shards x 4096. */
    for (int i = 0; i < 300000; i++) {
        snprintf(key, sizeof(key), "AUTH_c/c%d", i);
        assert_true(ratelimit_take_key(rl, key, 100, t0 + 20000000000ULL, &need));
    }
    assert_true(ratelimit_buckets(rl) <= 64 * 4096);
    ratelimit_free(rl);
    config_release(&cfg);
}

static void test_config_options(void **state)
{
    (void)state;
    struct config cfg;
    char err[256];

    config_init(&cfg);
    assert_true(cfg.ratelimit_enabled);
    assert_int_equal(cfg.n_container_ratelimits, 1);
    assert_float_equal(cfg.container_ratelimits[0].rate, 100, 0);
    assert_float_equal(cfg.max_sleep_time_seconds, 60, 0);
    assert_int_equal(cfg.rate_buffer_seconds, 5);
    /* The first tier given replaces the default; tiers stay sorted. */
    assert_int_equal(config_set(&cfg, "ratelimit", "container_ratelimit_1000", "20", err,
                                sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "ratelimit", "container_ratelimit_50", "2.5", err,
                                sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "ratelimit", "container_ratelimit_50", "5", err,
                                sizeof(err)), 0);
    assert_int_equal(cfg.n_container_ratelimits, 2);
    assert_int_equal(cfg.container_ratelimits[0].size, 50);
    assert_float_equal(cfg.container_ratelimits[0].rate, 5, 0);
    assert_int_equal(cfg.container_ratelimits[1].size, 1000);
    assert_int_not_equal(config_set(&cfg, "ratelimit", "container_ratelimit_x", "5", err,
                                    sizeof(err)), 0);
    assert_int_not_equal(config_set(&cfg, "ratelimit", "container_ratelimit_5", "-1", err,
                                    sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "ratelimit", "account_container_ratelimit", "AUTH_a:7",
                                err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "ratelimit", "account_container_ratelimit", "AUTH_a:0",
                                err, sizeof(err)), 0);
    assert_int_equal(cfg.n_account_container_ratelimits, 1);
    assert_float_equal(cfg.account_container_ratelimits[0].rate, 0, 0);
    assert_int_not_equal(config_set(&cfg, "ratelimit", "account_container_ratelimit", "AUTH_a",
                                    err, sizeof(err)), 0);
    assert_int_not_equal(config_set(&cfg, "ratelimit", "mode", "sleep", err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "ratelimit", "enabled", "false", err, sizeof(err)), 0);
    assert_null(ratelimit_new(&cfg));
    config_release(&cfg);
}

struct fired {
    pthread_mutex_t lock;
    int order[8];
    int n;
};

static struct fired fired = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
static int ids[8] = {0, 1, 2, 3, 4, 5, 6, 7};

static void note(void *arg)
{
    pthread_mutex_lock(&fired.lock);
    fired.order[fired.n++] = *(int *)arg;
    pthread_mutex_unlock(&fired.lock);
}

/* Timers fire in deadline order whatever the order they were set in, and
 * stopping fires the ones still waiting at once. The deadlines start half a
 * second out, so a loaded machine that is slow to set them all still sets
 * them before the first is due. */
static void test_wakeup_order_and_stop(void **state)
{
    (void)state;
    struct wakeup *w;
    uint64_t now = mono_ns();
    static const int ms[5] = {550, 510, 530, 520, 540};

    assert_int_equal(wakeup_start(&w), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(wakeup_at(w, now + (uint64_t)ms[i] * 1000000, note, NULL, &ids[i]), 0);
    assert_int_equal(wakeup_at(w, now + 3600ULL * 1000000000ULL, note, NULL, &ids[5]), 0);
    for (int n = 0; n < 5 && mono_ns() - now < 5000000000ULL;) {
        pthread_mutex_lock(&fired.lock);
        n = fired.n;
        pthread_mutex_unlock(&fired.lock);
    }
    assert_int_equal(wakeup_pending(w), 1);
    assert_true(mono_ns() - now >= 550ULL * 1000000);
    int want[5] = {1, 3, 2, 4, 0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(fired.order[i], want[i]);
    wakeup_stop(w);   /* the one an hour away fires now */
    assert_int_equal(fired.n, 6);
    assert_int_equal(fired.order[5], 5);
    assert_int_equal(wakeup_at(w, now, note, NULL, &ids[6]), -ESHUTDOWN);
    wakeup_free(w);
    assert_int_equal(fired.n, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tier_interpolation),
        cmocka_unit_test(test_tier_default_and_exemption),
        cmocka_unit_test(test_bucket_running_time),
        cmocka_unit_test(test_bucket_rate_is_kept),
        cmocka_unit_test(test_bucket_rate_buffer),
        cmocka_unit_test(test_bucket_no_wait),
        cmocka_unit_test(test_idle_buckets_are_forgotten),
        cmocka_unit_test(test_config_options),
        cmocka_unit_test(test_wakeup_order_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
