/* tests/unit/test_auth.c: v1.0 users and tokens (server/auth.h) and the
 * Prometheus rendering (server/metrics.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/config.h"
#include "../../server/auth.h"
#include "../../server/metrics.h"

static void make_config(struct config *cfg, unsigned ttl)
{
    config_init(cfg);
    cfg->token_ttl = ttl;
    assert_int_equal(config_add_user(cfg, "test:tester:testing:admin"), 0);
    assert_int_equal(config_add_user(cfg, "test:reader:secret"), 0);
    assert_int_equal(config_add_user(cfg, "other:boss:pw:admin"), 0);
}

static void test_login(void **state)
{
    (void)state;
    struct config cfg;
    make_config(&cfg, 3600);
    struct auth *a;
    assert_int_equal(auth_new(&a, &cfg), 0);

    static const struct {
        const char *account, *user, *key;
        int rc;
    } cases[] = {
        {NULL, "test:tester", "testing", 0},
        {NULL, "test:tester", "testing2", -EACCES},
        {NULL, "test:tester", "testin", -EACCES},
        {NULL, "test:tester", "", -EACCES},
        {NULL, "test:nobody", "testing", -ENOENT},
        {NULL, "test:reader", "secret", 0},
        {NULL, "other:boss", "pw", 0},
        /* v2.0 / v3 style: a bare user name, the tenant apart or not at all */
        {NULL, "tester", "testing", 0},
        {"test", "tester", "testing", 0},
        {"AUTH_test", "tester", "testing", 0},
        {"other", "tester", "testing", -ENOENT},
        {"other", "test:tester", "testing", -ENOENT},
        {"test", "test:tester", "testing", 0},
        {NULL, "boss", "pw", 0},
        {NULL, "boss", "testing", -EACCES},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct auth_grant g;
        int rc = auth_login(a, cases[i].account, cases[i].user, cases[i].key, &g);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(strlen(g.token), AUTH_TOKEN_LEN - 1);
            assert_memory_equal(g.token, "AUTH_tk", 7);
            assert_true(g.expires_in > 3590 && g.expires_in <= 3600);
            assert_memory_equal(g.account, "AUTH_", 5);
            assert_string_equal(g.account + 5, g.tenant);
            auth_grant_release(&g);
        }
    }
    auth_free(a);
    config_release(&cfg);
}

static void test_token_identity_and_reuse(void **state)
{
    (void)state;
    struct config cfg;
    make_config(&cfg, 3600);
    struct auth *a;
    assert_int_equal(auth_new(&a, &cfg), 0);
    struct auth_grant g1, g2, g3;
    assert_int_equal(auth_login(a, NULL, "test:tester", "testing", &g1), 0);
    assert_string_equal(g1.account, "AUTH_test");
    /* tempauth hands the same token out again while it is valid, whichever
     * API the user logs in with */
    assert_int_equal(auth_login(a, "test", "tester", "testing", &g2), 0);
    assert_string_equal(g1.token, g2.token);
    assert_int_equal(auth_login(a, NULL, "test:reader", "secret", &g3), 0);
    assert_string_not_equal(g1.token, g3.token);
    char t1[AUTH_TOKEN_LEN], t3[AUTH_TOKEN_LEN];
    memcpy(t1, g1.token, sizeof(t1));
    memcpy(t3, g3.token, sizeof(t3));
    auth_grant_release(&g1);
    auth_grant_release(&g2);
    auth_grant_release(&g3);

    struct identity who = {0};
    assert_int_equal(auth_check(a, t1, &who), 0);
    assert_true(who.authenticated);
    assert_true(who.admin);
    assert_string_equal(who.account, "AUTH_test");
    assert_string_equal(who.user, "test:tester");
    identity_release(&who);

    /* a non-admin user owns nothing without ACLs, as in tempauth (acl.c) */
    assert_int_equal(auth_check(a, t3, &who), 0);
    assert_false(who.admin);
    assert_string_equal(who.account, "AUTH_test");
    identity_release(&who);

    static const char *const bad[] = {"", "AUTH_tk", "AUTH_tk0000", "garbage",
                                      "AUTH_tk00000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_check(a, bad[i], &who), -ENOENT);
    assert_int_equal(auth_check(a, NULL, &who), -ENOENT);
    auth_free(a);
    config_release(&cfg);
}

static void test_token_expiry(void **state)
{
    (void)state;
    struct config cfg;
    /* Expiry counts whole seconds: a TTL of 2 keeps a token valid for at
     * least 1 s (a TTL of 1 could end the moment after the login, on a
     * second boundary), and 3 s later it has surely expired. */
    make_config(&cfg, 2);
    struct auth *a;
    assert_int_equal(auth_new(&a, &cfg), 0);
    struct auth_grant g1, g2;
    assert_int_equal(auth_login(a, NULL, "test:tester", "testing", &g1), 0);
    const char *t1 = g1.token;
    struct identity who = {0};
    assert_int_equal(auth_check(a, t1, &who), 0);
    identity_release(&who);
    sleep(3);
    assert_int_equal(auth_check(a, t1, &who), -ENOENT);
    /* a new login after expiry gets a new token */
    assert_int_equal(auth_login(a, NULL, "test:tester", "testing", &g2), 0);
    const char *t2 = g2.token;
    assert_string_not_equal(t1, t2);
    assert_int_equal(auth_check(a, t2, &who), 0);
    identity_release(&who);
    auth_grant_release(&g1);
    auth_grant_release(&g2);
    auth_free(a);
    config_release(&cfg);
}

static void test_metrics_render(void **state)
{
    (void)state;
    struct metrics *m = metrics_new();
    metrics_observe(m, M_GET, 200, 2000000, 0, 4096);
    metrics_observe(m, M_GET, 200, 300000, 0, 4096);
    metrics_observe(m, M_PUT, 201, 7000000, 4096, 0);
    metrics_observe(m, M_PUT, 599, 7000000, 10, 0);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(metrics_render(m, NULL, &out), 0);
    assert_non_null(strstr(out.data, "swiftlet_requests_total{method=\"GET\",status=\"200\"} 2\n"));
    assert_non_null(strstr(out.data, "swiftlet_requests_total{method=\"PUT\",status=\"201\"} 1\n"));
    assert_non_null(strstr(out.data, "swiftlet_requests_total{method=\"PUT\",status=\"other\"} 1\n"));
    assert_non_null(strstr(out.data, "swiftlet_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(out.data, "swiftlet_request_duration_seconds_bucket{le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(out.data, "swiftlet_request_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(out.data, "swiftlet_request_duration_seconds_count 4\n"));
    assert_non_null(strstr(out.data, "swiftlet_bytes_in_total 4106\n"));
    assert_non_null(strstr(out.data, "swiftlet_bytes_out_total 8192\n"));
    buf_release(&out);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_token_identity_and_reuse),
        cmocka_unit_test(test_token_expiry),
        cmocka_unit_test(test_metrics_render),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
