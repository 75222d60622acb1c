/* tests/unit/test_acl.c: ACL parsing and the tempauth decision
 * (server/acl.h). The expected messages are the ones Swift 2.30's
 * acl.py and tempauth.py produce for the same input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/acl.h"

static void test_clean(void **state)
{
    (void)state;
    static const struct {
        const char *header, *in;
        int rc;
        const char *out;
    } cases[] = {
        {"X-Container-Read", "bob, sue", 0, "bob,sue"},
        {"X-Container-Read", "bob , sue", 0, "bob,sue"},
        {"X-Container-Read", "bob,,,sue", 0, "bob,sue"},
        {"X-Container-Read", ".referrer : *", 0, ".r:*"},
        {"X-Container-Read", ".ref:*.example.com", 0, ".r:.example.com"},
        {"X-Container-Read", ".r:*, .rlistings", 0, ".r:*,.rlistings"},
        {"X-Container-Read", ".r:-thief.com", 0, ".r:-thief.com"},
        {"X-Container-Read", ".r: - *.thief.com", 0, ".r:-.thief.com"},
        {"X-Container-Read", "a:b:c", 0, "a:b:c"},
        {"X-Container-Read", "acct:user", 0, "acct:user"},
        {"X-Container-Read", " , ", 0, ""},
        {"X-Container-Read", "", 0, ""},
        {"X-Container-Read", ".r:", ERR_BADINPUT,
         "No host/domain value after referrer designation in ACL: '.r:'"},
        {"X-Container-Read", ".r:-", ERR_BADINPUT,
         "No host/domain value after referrer designation in ACL: '.r:-'"},
        {"X-Container-Read", ".r:*.", ERR_BADINPUT,
         "No host/domain value after referrer designation in ACL: '.r:*.'"},
        {"X-Container-Read", ".x:y", ERR_BADINPUT, "Unknown designator '.x' in ACL: '.x:y'"},
        {"X-Container-Read", ".rlistings:foo", ERR_BADINPUT,
         "Unknown designator '.rlistings' in ACL: '.rlistings:foo'"},
        {"X-Container-Write", ".r:*", ERR_BADINPUT, "Referrers not allowed in write ACL: '.r:*'"},
        {"X-Container-Write", "a, .x:b", ERR_BADINPUT, "Unknown designator '.x' in ACL: '.x:b'"},
        /* Python's repr: the other quote, escapes, Latin-1 characters */
        {"X-Container-Read", ".x:\x01'", ERR_BADINPUT,
         "Unknown designator '.x' in ACL: \".x:\\x01'\""},
        {"X-Container-Read", ".x:\xc3\xa9", ERR_BADINPUT,
         "Unknown designator '.x' in ACL: '.x:\xc3\x83\xc2\xa9'"},
        {"X-Container-Read", ".x:\\\x85", ERR_BADINPUT,
         "Unknown designator '.x' in ACL: '.x:\\\\'"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf out = BUF_INIT;
        int rc = acl_clean(cases[i].header, cases[i].in, &out);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(out.data, cases[i].out);
        buf_release(&out);
    }
}

static void test_referrer(void **state)
{
    (void)state;
    static const struct {
        const char *referer, *acl;
        bool allowed;
    } cases[] = {
        {NULL, ".r:*", true},
        {"http://x.com/", ".r:*", true},
        {NULL, "bob", false},
        {"http://www.example.com/x", ".r:.example.com,.r:-bad.example.com", true},
        {"http://bad.example.com/", ".r:.example.com,.r:-bad.example.com", false},
        {"http://other.com/", ".r:.example.com", false},
        {"www.example.com", ".r:.example.com", false},
        {"http://WWW.Example.COM:80/", ".r:.example.com", true},
        {"//a.example.com/", ".r:.example.com", true},
        {"http://u:p@host.com/", ".r:host.com", true},
        {"http://[::1]:80/", ".r:::1", true},
        {"http://x.com/", ".r:*,.r:-x.com", false},
        {"http://x.com/", ".r:-x.com,.r:*", true},
        {"http://example.com/", ".r:.example.com", false},
        {NULL, ".r:unknown", true},
        {"", ".r:-unknown,.r:*", true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(acl_referrer_allowed(cases[i].referer, cases[i].acl), cases[i].allowed);
}

static struct identity user(const char *account, const char *name, bool admin)
{
    struct identity w = {.authenticated = true, .admin = admin};
    w.account = (char *)account;
    w.user = (char *)name;
    return w;
}

static void test_container_grants(void **state)
{
    (void)state;
    struct identity anon = {.authenticated = false};
    struct identity t2 = user("AUTH_test2", "test2:tester2", true);
    struct identity t3 = user("AUTH_test", "test:tester3", false);

    assert_true(acl_container_grants(".r:*", NULL, &anon, true));
    assert_false(acl_container_grants(".r:*", NULL, &anon, false)); /* no listing */
    assert_true(acl_container_grants(".r:*,.rlistings", NULL, &anon, false));
    assert_false(acl_container_grants(".rlistings", NULL, &anon, false));
    assert_false(acl_container_grants("test2", NULL, &anon, true));
    assert_true(acl_container_grants("test2", NULL, &t2, true));
    assert_true(acl_container_grants("test2", NULL, &t2, false)); /* groups list too */
    assert_true(acl_container_grants("test2:tester2", NULL, &t2, true));
    assert_true(acl_container_grants("test2%3Atester2", NULL, &t2, true));
    assert_true(acl_container_grants("AUTH_test2", NULL, &t2, true)); /* an admin's group */
    assert_false(acl_container_grants("AUTH_test", NULL, &t3, true)); /* not an admin */
    assert_true(acl_container_grants("x,test:tester3", NULL, &t3, true));
    assert_false(acl_container_grants("*", NULL, &t2, true)); /* not a wildcard in tempauth */
    assert_false(acl_container_grants("test2:tester", NULL, &t2, true));
    assert_false(acl_container_grants("", NULL, &t2, true));
    assert_false(acl_container_grants(NULL, NULL, &t2, true));
}

static void test_account_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"", 0, ""},
        {"{}", 0, "{}"},
        {"{\"read-write\": [\"b\"], \"admin\": [\"a\", \"c\"]}", 0,
         "{\"admin\":[\"a\",\"c\"],\"read-write\":[\"b\"]}"},
        {"{\"read-only\":[\"x\\u00e9\\ud83d\\ude00/\\\"\"]}", 0,
         "{\"read-only\":[\"x\\u00e9\\ud83d\\ude00/\\\"\"]}"},
        {"{\"admin\":[\"\xc3\xa9\"]}", 0, "{\"admin\":[\"\\u00c3\\u00a9\"]}"},
        {"{bad", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Syntax error in input ('{bad')\n\nInput: {bad\n"},
        {"[]", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Syntax error in input ('[]')\n\nInput: []\n"},
        {"it's", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Syntax error in input (\"it's\")\n\nInput: it's\n"},
        {"a\tb", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Syntax error in input ('a\\tb')\n\nInput: a\tb\n"},
        {"\xc3\xa9{", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Syntax error in input ('\xc3\xa9{')\n\n"
         "Input: \xc3\x83\xc2\xa9{\n"},
        {"{\"foo\":[]}", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Key \"foo\" not recognized\n\nInput: {\"foo\":[]}\n"},
        {"{\"zz\":1, \"admin\":3}", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Key \"zz\" not recognized\n\n"
         "Input: {\"zz\":1, \"admin\":3}\n"},
        {"{\"admin\":\"x\"}", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Value for key \"admin\" must be a list\n\n"
         "Input: {\"admin\":\"x\"}\n"},
        {"{\"read-only\":[null]}", ERR_BADINPUT,
         "X-Account-Access-Control invalid: Elements of \"read-only\" list must be strings\n\n"
         "Input: {\"read-only\":[null]}\n"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf out = BUF_INIT;
        int rc = acl_account_parse(cases[i].in, &out);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(out.data, cases[i].out);
        buf_release(&out);
    }
}

static void test_account_role(void **state)
{
    (void)state;
    struct identity t2 = user("AUTH_test2", "test2:tester2", true);
    struct identity anon = {.authenticated = false};
    const char *acl = "{\"admin\":[\"x\"],\"read-only\":[\"test2\"],\"read-write\":[\"test2:tester2\"]}";

    assert_int_equal(acl_account_role(acl, &t2), ACL_ROLE_READ_WRITE);
    assert_int_equal(acl_account_role("{\"admin\":[\"AUTH_test2\"]}", &t2), ACL_ROLE_ADMIN);
    assert_int_equal(acl_account_role("{\"read-only\":[\"test2\"]}", &t2), ACL_ROLE_READ_ONLY);
    assert_int_equal(acl_account_role("{\"read-only\":[\"test3\"]}", &t2), ACL_ROLE_NONE);
    assert_int_equal(acl_account_role(acl, &anon), ACL_ROLE_NONE);
    assert_int_equal(acl_account_role("", &t2), ACL_ROLE_NONE);
    assert_int_equal(acl_account_role(NULL, &t2), ACL_ROLE_NONE);
    assert_int_equal(acl_account_role("not json", &t2), ACL_ROLE_NONE);
}

/* ---- the decision, with loaders that count their calls ---- */

struct fake {
    const char *read_acl, *write_acl, *account_acl;
    int container_loads, account_loads;
};

static char *fake_container(void *ctx, bool write)
{
    struct fake *f = ctx;
    const char *v = write ? f->write_acl : f->read_acl;
    f->container_loads++;
    return v ? strdup(v) : NULL;
}

static char *fake_account(void *ctx)
{
    struct fake *f = ctx;
    f->account_loads++;
    return f->account_acl ? strdup(f->account_acl) : NULL;
}

/* The verdict for who doing method on /AUTH_test[/c[/o]] (level 0, 1, 2). */
static enum acl_verdict run(const struct identity *who, enum http_method m, int level,
                            struct fake *f, const char *referer)
{
    struct acl_query q = {
        .who = who,
        .account = "AUTH_test",
        .container = level >= 1,
        .object = level == 2,
        .method = m,
        .referer = referer,
        .container_acl = fake_container,
        .account_acl = fake_account,
        .ctx = f,
    };
    return acl_decide(&q);
}

static void test_decide_owner(void **state)
{
    (void)state;
    struct identity admin = user("AUTH_test", "test:tester", true);
    struct identity reseller = user("AUTH_ops", "ops:root", false);
    struct fake f = {0};

    reseller.reseller = true;
    for (int level = 0; level <= 2; level++) {
        assert_int_equal(run(&admin, M_GET, level, &f, NULL), ACL_ALLOW_OWNER);
        assert_int_equal(run(&admin, M_POST, level, &f, NULL), ACL_ALLOW_OWNER);
        assert_int_equal(run(&reseller, M_DELETE, level, &f, NULL), ACL_ALLOW_OWNER);
        assert_int_equal(run(&reseller, M_PUT, level, &f, NULL), ACL_ALLOW_OWNER);
    }
    assert_int_equal(run(&admin, M_PUT, 1, &f, NULL), ACL_ALLOW_OWNER);
    /* owners never cost a DB read */
    assert_int_equal(f.container_loads + f.account_loads, 0);
    /* account PUT/DELETE are not an admin's */
    assert_int_equal(run(&admin, M_PUT, 0, &f, NULL), ACL_DENY);
    assert_int_equal(run(&admin, M_DELETE, 0, &f, NULL), ACL_DENY);
}

static void test_decide_read_only(void **state)
{
    (void)state;
    struct identity ro = user("AUTH_test", "test:viewer", false);
    struct identity ro_other = user("AUTH_test2", "test2:viewer", false);
    struct fake f = {.write_acl = "test2", .account_acl = "{\"read-write\":[\"test2\"]}"};

    ro.read_only = ro_other.read_only = true;
    for (int level = 0; level <= 2; level++) {
        assert_int_equal(run(&ro, M_GET, level, &f, NULL), ACL_ALLOW);
        assert_int_equal(run(&ro, M_HEAD, level, &f, NULL), ACL_ALLOW);
        assert_int_equal(run(&ro, M_POST, level, &f, NULL), ACL_DENY);
        assert_int_equal(run(&ro, M_DELETE, level, &f, NULL), ACL_DENY);
        assert_int_equal(run(&ro, M_PUT, level, &f, NULL), ACL_DENY);
        /* an ACL granting writes does not lift the read-only role */
        assert_int_equal(run(&ro_other, M_PUT, level, &f, NULL), ACL_DENY);
    }
    /* read-only admins own their account for reads only */
    ro.admin = true;
    assert_int_equal(run(&ro, M_GET, 0, &f, NULL), ACL_ALLOW_OWNER);
    assert_int_equal(run(&ro, M_POST, 0, &f, NULL), ACL_DENY);
    ro.reseller = true;
    assert_int_equal(run(&ro, M_DELETE, 2, &f, NULL), ACL_DENY);
}

static void test_decide_container_acl(void **state)
{
    (void)state;
    struct identity anon = {.authenticated = false};
    struct identity t2 = user("AUTH_test2", "test2:tester2", true);
    struct fake f = {.read_acl = ".r:*", .write_acl = "test2"};

    assert_int_equal(run(&anon, M_GET, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&anon, M_HEAD, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&anon, M_GET, 1, &f, NULL), ACL_DENY); /* no .rlistings */
    assert_int_equal(run(&anon, M_PUT, 2, &f, NULL), ACL_DENY);
    assert_int_equal(run(&anon, M_GET, 0, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_PUT, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_POST, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_DELETE, 2, &f, NULL), ACL_ALLOW);
    /* the write ACL never reaches the container itself */
    assert_int_equal(run(&t2, M_PUT, 1, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_POST, 1, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_DELETE, 1, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_POST, 0, &f, NULL), ACL_DENY);
    /* COPY reads its source */
    f.read_acl = "test2";
    f.write_acl = NULL;
    assert_int_equal(run(&t2, M_COPY, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_PUT, 2, &f, NULL), ACL_DENY);
    /* referrers */
    f.read_acl = ".r:.example.com,.r:-bad.example.com";
    assert_int_equal(run(&anon, M_GET, 2, &f, "http://www.example.com/"), ACL_ALLOW);
    assert_int_equal(run(&anon, M_GET, 2, &f, "http://bad.example.com/"), ACL_DENY);
    assert_int_equal(run(&anon, M_GET, 2, &f, NULL), ACL_DENY);
    /* OPTIONS passes, as in tempauth */
    assert_int_equal(run(&anon, M_OPTIONS, 1, &f, NULL), ACL_ALLOW);
}

static void test_decide_account_acl(void **state)
{
    (void)state;
    struct identity t2 = user("AUTH_test2", "test2:tester2", true);
    struct identity anon = {.authenticated = false};
    struct fake f = {.account_acl = "{\"admin\":[\"test2\"]}"};

    assert_int_equal(run(&t2, M_POST, 0, &f, NULL), ACL_ALLOW_OWNER);
    assert_int_equal(run(&t2, M_DELETE, 1, &f, NULL), ACL_ALLOW_OWNER);
    assert_int_equal(run(&anon, M_GET, 0, &f, NULL), ACL_DENY);
    f.account_acl = "{\"read-write\":[\"test2:tester2\"]}";
    assert_int_equal(run(&t2, M_GET, 0, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_POST, 0, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_PUT, 1, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_DELETE, 1, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_PUT, 2, &f, NULL), ACL_ALLOW);
    f.account_acl = "{\"read-only\":[\"test2\"]}";
    assert_int_equal(run(&t2, M_GET, 0, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_HEAD, 1, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_GET, 2, &f, NULL), ACL_ALLOW);
    assert_int_equal(run(&t2, M_PUT, 1, &f, NULL), ACL_DENY);
    assert_int_equal(run(&t2, M_POST, 2, &f, NULL), ACL_DENY);
    f.account_acl = "{\"admin\":[]}";
    assert_int_equal(run(&t2, M_GET, 0, &f, NULL), ACL_DENY);
}

static void test_owner_headers(void **state)
{
    (void)state;
    struct kv_list l = KV_LIST_INIT;

    kv_add(&l, "x-container-read", ".r:*");
    kv_add(&l, "X-Container-Meta-Color", "blue");
    kv_add(&l, "X-Container-Meta-Temp-URL-Key", "secret");
    kv_add(&l, "X-Account-Access-Control", "{}");
    kv_add(&l, "X-Container-Sync-Key", "k");
    assert_true(acl_owner_header("X-CONTAINER-WRITE"));
    assert_false(acl_owner_header("X-Container-Meta-Color"));
    acl_strip_owner_headers(&l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].key, "X-Container-Meta-Color");
    kv_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_referrer),
        cmocka_unit_test(test_container_grants),
        cmocka_unit_test(test_account_parse),
        cmocka_unit_test(test_account_role),
        cmocka_unit_test(test_decide_owner),
        cmocka_unit_test(test_decide_read_only),
        cmocka_unit_test(test_decide_container_acl),
        cmocka_unit_test(test_decide_account_acl),
        cmocka_unit_test(test_owner_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
