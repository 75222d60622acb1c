/* tests/unit/test_constraints.c: unit tests of server/constraints.c: the
 * UTF-8 validator, name checks (per verb), metadata collection and every
 * branch of Swift's check_metadata, with Swift 2.30's messages.
 *
 * collect_meta reads headers through req_headers_each, which http.c
 * implements over libmicrohttpd; this file provides its own over a table
 * of headers, so the test needs no connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../server/constraints.h"

/* ---- a request's headers, for collect_meta ---- */

static const char *const *test_headers; /* name, value, name, value, ..., NULL */

int req_headers_each(const struct request *r,
                     int (*cb)(void *ctx, const char *name, const char *value), void *ctx)
{
    (void)r;
    for (size_t i = 0; test_headers && test_headers[i]; i += 2) {
        int rc = cb(ctx, test_headers[i], test_headers[i + 1]);
        if (rc)
            return rc;
    }
    return 0;
}

static struct config cfg;

static int setup(void **state)
{
    (void)state;
    config_init(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    config_release(&cfg);
    return 0;
}

/* ---- UTF-8 ---- */

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t n;
        bool valid;
    } cases[] = {
        {"", 0, true},
        {"abc", 3, true},
        {"\xc3\xbc", 2, true},         /* U+00FC */
        {"\xc2\x80", 2, true},         /* U+0080, smallest 2-byte */
        {"\xe2\x82\xac", 3, true},     /* U+20AC */
        {"\xe0\xa0\x80", 3, true},     /* U+0800, smallest 3-byte */
        {"\xed\x9f\xbf", 3, true},     /* U+D7FF, just below surrogates */
        {"\xee\x80\x80", 3, true},     /* U+E000, just above */
        {"\xef\xbf\xbf", 3, true},     /* U+FFFF */
        {"\xf0\x90\x80\x80", 4, true}, /* U+10000 */
        {"\xf0\x9f\x98\x80", 4, true}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, true}, /* U+10FFFF */
        {"a\0b", 3, false},            /* NUL */
        {"\0", 1, false},
        {"\xc0\x80", 2, false},                 /* overlong NUL */
        {"\xc1\xbf", 2, false},                 /* overlong */
        {"\xe0\x80\xaf", 3, false},             /* overlong '/' */
        {"\xe0\x9f\xbf", 3, false},             /* overlong */
        {"\xf0\x8f\xbf\xbf", 4, false},         /* overlong */
        {"\xed\xa0\x80", 3, false},             /* U+D800 surrogate */
        {"\xed\xbf\xbf", 3, false},             /* U+DFFF surrogate */
        {"\xed\xa0\xbd\xed\xb8\x80", 6, false}, /* CESU-8 pair */
        {"\xf4\x90\x80\x80", 4, false},         /* U+110000 */
        {"\xf5\x80\x80\x80", 4, false},
        {"\xff", 1, false},
        {"\xfe", 1, false},
        {"\x80", 1, false}, /* stray continuation */
        {"a\xbf", 2, false},
        {"\xc3", 1, false}, /* truncated */
        {"\xe2\x82", 2, false},
        {"\xf0\x9f\x98", 3, false},
        {"\xc3\x28", 2, false}, /* bad continuation */
        {"\xe2\x28\xa1", 3, false},
        {"\xf0\x9f\x28\x80", 4, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (utf8_valid(cases[i].s, cases[i].n) != cases[i].valid)
            fail_msg("case %zu: want %s", i, cases[i].valid ? "valid" : "invalid");
}

/* ---- names ---- */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_check_names(void **state)
{
    char *a257 = repeat('a', 257), *c256 = repeat('c', 256), *c257 = repeat('c', 257);
    char *o1024 = repeat('o', 1024), *o1025 = repeat('o', 1025);
    const struct {
        const char *a, *c, *o;
        int status;
        const char *msg;
    } cases[] = {
        {"AUTH_test", NULL, NULL, 0, ""},
        {"AUTH_test", c256, o1024, 0, ""},
        {a257, NULL, NULL, 400, "Account name length of 257 longer than 256"},
        {"AUTH_test", c257, NULL, 400, "Container name length of 257 longer than 256"},
        {"AUTH_test", "c", o1025, 400, "Object name length of 1025 longer than 1024"},
        {"AUTH_test", "c\xff", NULL, 412, "Invalid UTF8 or contains NULL"},
        {"AUTH_test", "c", "o\xed\xa0\x80", 412, "Invalid UTF8 or contains NULL"},
        {"AUTH_\xc0\xaf", NULL, NULL, 412, "Invalid UTF8 or contains NULL"},
        /* UTF-8 is checked before lengths */
        {a257, c257, "\xff", 412, "Invalid UTF8 or contains NULL"},
        {"AUTH_test", "\xc3\xbc", "\xf0\x9f\x98\x80", 0, ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[128] = "";
        int status = check_names(&cfg, cases[i].a, cases[i].c, cases[i].o, msg, sizeof(msg));

        if (status != cases[i].status)
            fail_msg("case %zu: status %d, want %d", i, status, cases[i].status);
        assert_string_equal(msg, cases[i].msg);
    }
    free(a257), free(c256), free(c257), free(o1024), free(o1025);
}

/* Swift 2.30 checks container and object name lengths on PUT only (a GET
 * of a long name is a 404) and the account name length on account requests. */
static void test_check_names_for(void **state)
{
    char *a257 = repeat('a', 257), *c257 = repeat('c', 257), *o1025 = repeat('o', 1025);
    const struct {
        enum http_method m;
        const char *a, *c, *o;
        int status;
    } cases[] = {
        {M_PUT, "AUTH_test", c257, NULL, 400},    {M_GET, "AUTH_test", c257, NULL, 0},
        {M_HEAD, "AUTH_test", c257, NULL, 0},     {M_POST, "AUTH_test", c257, NULL, 0},
        {M_DELETE, "AUTH_test", c257, NULL, 0},   {M_PUT, "AUTH_test", "c", o1025, 400},
        {M_GET, "AUTH_test", "c", o1025, 0},      {M_POST, "AUTH_test", "c", o1025, 0},
        {M_DELETE, "AUTH_test", "c", o1025, 0},   {M_GET, a257, NULL, NULL, 400},
        {M_HEAD, a257, NULL, NULL, 400},          {M_POST, a257, NULL, NULL, 400},
        {M_GET, "AUTH_test", "c\xff", NULL, 412}, {M_DELETE, "AUTH_test", "c", "\xff", 412},
        {M_HEAD, "\xff", NULL, NULL, 412},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char msg[128] = "";
        int status =
            check_names_for(&cfg, cases[i].m, cases[i].a, cases[i].c, cases[i].o, msg, sizeof(msg));

        if (status != cases[i].status)
            fail_msg("case %zu: status %d, want %d", i, status, cases[i].status);
    }
    free(a257), free(c257), free(o1025);
}

/* ---- Title-Case ---- */

static void test_title_case(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"x-object-meta-foo", "X-Object-Meta-Foo"},
        {"X-CONTAINER-META-UPPER", "X-Container-Meta-Upper"},
        {"x-container-meta-foo1bar", "X-Container-Meta-Foo1Bar"},
        {"x-container-meta-a_b", "X-Container-Meta-A-B"},
        {"x-container-meta-it's", "X-Container-Meta-It'S"},
        {"content-type", "Content-Type"},
        {"", ""},
        {"9x", "9X"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];

        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        header_title_case(buf);
        assert_string_equal(buf, cases[i].out);
    }
}

/* ---- collect_meta ---- */

static void test_collect_meta(void **state)
{
    static const char *const headers[] = {
        "x-container-meta-color",
        "blue",
        "X-Remove-Container-Meta-Color",
        "x", /* a value beats a removal */
        "X-Remove-Container-Meta-Old",
        "1",
        "X-Container-Meta-Two",
        "1",
        "x-container-meta-two",
        "2", /* the later one wins */
        "X-Object-Meta-Other",
        "o",
        "X-Container-Read",
        ".r:*",
        NULL,
    };
    struct kv_list l;

    (void)state;
    test_headers = headers;
    kv_init(&l);
    collect_meta(NULL, "X-Container-Meta-", false, &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].key, "X-Container-Meta-Color");
    assert_string_equal(l.items[0].value, "blue");
    assert_string_equal(l.items[1].key, "X-Container-Meta-Two");
    assert_string_equal(l.items[1].value, "2");
    kv_release(&l);

    kv_init(&l);
    collect_meta(NULL, "X-Container-Meta-", true, &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(kv_get(&l, "X-Container-Meta-Color"), "blue");
    assert_string_equal(kv_get(&l, "X-Container-Meta-Old"), "");
    assert_string_equal(kv_get(&l, "X-Container-Meta-Two"), "2");
    kv_release(&l);
    test_headers = NULL;
}

/* ---- check_metadata ---- */

struct meta_case {
    const char *prefix;
    int n;                   /* items generated: key<i> = value */
    const char *key, *value; /* one extra item (NULL: none) */
    int status;
    const char *msg;
};

static void run_meta_case(size_t idx, const struct meta_case *c, const char *name_prefix)
{
    struct kv_list l;
    char msg[512] = "", key[300];
    int status;

    kv_init(&l);
    kv_add(&l, "Content-Type", "text/plain"); /* not metadata: ignored */
    for (int i = 0; i < c->n; i++) {
        snprintf(key, sizeof(key), "%sK%d", name_prefix, i);
        kv_add(&l, key, "v");
    }
    if (c->key)
        kv_add(&l, c->key, c->value);
    status = check_metadata(&cfg, c->prefix, &l, msg, sizeof(msg));
    if (status != c->status)
        fail_msg("case %zu: status %d (%s), want %d", idx, status, msg, c->status);
    if (c->msg)
        assert_string_equal(msg, c->msg);
    kv_release(&l);
}

static void test_check_metadata(void **state)
{
    char *k128 = repeat('k', 128), *k129 = repeat('k', 129), *v256 = repeat('v', 256);
    char *v257 = repeat('v', 257), *v8193 = repeat('v', 8193);
    char name128[200], name129[200], msg129[300], big[8300];
    const char *cp = "X-Container-Meta-", *op = "X-Object-Meta-", *ap = "X-Account-Meta-";

    (void)state;
    snprintf(name128, sizeof(name128), "X-Container-Meta-%s", k128);
    snprintf(name129, sizeof(name129), "X-Container-Meta-%s", k129);
    snprintf(msg129, sizeof(msg129), "Metadata name too long: x-container-meta-%s", k129);
    snprintf(big, sizeof(big), "Header value too long: X-Container-Meta-Big");
    {
        const struct meta_case cases[] = {
            {cp, 0, NULL, NULL, 0, NULL},
            {cp, 0, "X-Container-Meta-Color", "blue", 0, NULL},
            {cp, 0, "X-Container-Meta-Empty", "", 0, NULL},
            {cp, 0, "X-Container-Meta-", "v", 400, "Metadata name cannot be empty"},
            {cp, 0, name128, "v", 0, NULL},
            {cp, 0, name129, "v", 400, msg129},
            {cp, 0, "X-Container-Meta-Foo", v256, 0, NULL},
            {cp, 0, "X-Container-Meta-Foo", v257, 400,
             "Metadata value longer than 256: x-container-meta-Foo"},
            {cp, 0, "X-Container-Meta-Big", v8193, 400, big},
            {cp, 90, NULL, NULL, 0, NULL},
            {cp, 91, NULL, NULL, 400, "Too many metadata items; max 90"},
            /* 90 items of ~260 bytes exceed 4096 overall first */
            {cp, 0, "X-Container-Meta-Bad", "\xff", 400, "Metadata must be valid UTF-8"},
            {cp, 0, "X-Container-Meta-B\xc3", "v", 400, "Metadata must be valid UTF-8"},
            {ap, 0, "X-Account-Meta-Bad", "\xed\xa0\x80", 400, "Metadata must be valid UTF-8"},
            /* objects do not require UTF-8 metadata */
            {op, 0, "X-Object-Meta-Bad", "\xff", 0, NULL},
            /* another level's metadata is not counted */
            {op, 0, "X-Container-Meta-", "v", 0, NULL},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            run_meta_case(i, &cases[i],
                          strcmp(cases[i].prefix, cp) == 0   ? cp
                          : strcmp(cases[i].prefix, op) == 0 ? op
                                                             : ap);
    }
    free(k128), free(k129), free(v256), free(v257), free(v8193);
}

/* Overall size: 17 items of 16 + 240 = 256 bytes is 4352 > 4096; the
 * 16th (4096) is still fine. */
static void test_check_metadata_size(void **state)
{
    char *v240 = repeat('v', 240), key[64], msg[128];
    struct kv_list l;
    int status = 0;

    (void)state;
    kv_init(&l);
    for (int i = 0; i < 17 && status == 0; i++) {
        snprintf(key, sizeof(key), "X-Account-Meta-%016d", i);
        kv_add(&l, key, v240);
        status = check_metadata(&cfg, "X-Account-Meta-", &l, msg, sizeof(msg));
        if (i < 15)
            assert_int_equal(status, 0);
    }
    assert_int_equal(status, 400);
    assert_int_equal(l.n, 17);
    assert_string_equal(msg, "Total metadata too large; max 4096");
    kv_release(&l);
    free(v240);
}

static void test_check_metadata_stored(void **state)
{
    struct kv_list l;
    char key[64], msg[128] = "";

    (void)state;
    kv_init(&l);
    for (int i = 0; i < 90; i++) {
        snprintf(key, sizeof(key), "X-Container-Meta-K%d", i);
        kv_add(&l, key, "v");
    }
    kv_add(&l, "X-Container-Read", ".r:*");     /* not counted */
    kv_add(&l, "X-Container-Meta-Removed", ""); /* removed: not counted */
    assert_int_equal(check_metadata_stored(&cfg, "X-Container-Meta-", &l, msg, sizeof(msg)), 0);
    kv_add(&l, "X-Container-Meta-One-More", "v");
    assert_int_equal(check_metadata_stored(&cfg, "X-Container-Meta-", &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "Too many metadata items; max 90");
    kv_release(&l);

    kv_init(&l);
    kv_add(&l, "X-Account-Meta-A", "");
    for (int i = 0; i < 16; i++) {
        char v[300];

        memset(v, 'v', 250);
        v[250] = '\0';
        snprintf(key, sizeof(key), "X-Account-Meta-%06d", i);
        kv_add(&l, key, v);
    }
    /* 16 * (6 + 250) = 4096: fine; one more byte is not */
    assert_int_equal(check_metadata_stored(&cfg, "X-Account-Meta-", &l, msg, sizeof(msg)), 0);
    kv_set(&l, "X-Account-Meta-A", "x");
    assert_int_equal(check_metadata_stored(&cfg, "X-Account-Meta-", &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "Total metadata too large; max 4096");
    kv_release(&l);
}

/* X-Delete-After wins over X-Delete-At, both are Python ints, the result
 * must lie in the future and is clamped to ten digits. */
static void test_check_delete_headers(void **state)
{
    struct kv_list l;
    char msg[128];
    const int64_t now = 1700000000;

    (void)state;
    kv_init(&l);
    assert_int_equal(check_delete_headers(NULL, NULL, now, &l, msg, sizeof(msg)), 0);
    assert_null(kv_get(&l, "X-Delete-At"));
    assert_int_equal(check_delete_headers(" 1_0 ", "5", now, &l, msg, sizeof(msg)), 0);
    assert_string_equal(kv_get(&l, "X-Delete-At"), "1700000010");
    assert_int_equal(check_delete_headers(NULL, "1700000001", now, &l, msg, sizeof(msg)), 0);
    assert_string_equal(kv_get(&l, "X-Delete-At"), "1700000001");
    assert_int_equal(check_delete_headers("99999999999999999999", NULL, now, &l, msg, sizeof(msg)),
                     0);
    assert_string_equal(kv_get(&l, "X-Delete-At"), "9999999999");
    assert_int_equal(check_delete_headers(NULL, "42", now, &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "X-Delete-At in past");
    assert_int_equal(check_delete_headers("0", NULL, now, &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "X-Delete-After in past");
    assert_int_equal(check_delete_headers("x", NULL, now, &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "Non-integer X-Delete-After");
    assert_int_equal(check_delete_headers(NULL, "1.5", now, &l, msg, sizeof(msg)), 400);
    assert_string_equal(msg, "Non-integer X-Delete-At");
    assert_int_equal(check_delete_headers(NULL, "00042", now - 100000, &l, msg, sizeof(msg)), 400);
    kv_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_check_names),
        cmocka_unit_test(test_check_names_for),
        cmocka_unit_test(test_title_case),
        cmocka_unit_test(test_collect_meta),
        cmocka_unit_test(test_check_metadata),
        cmocka_unit_test(test_check_metadata_size),
        cmocka_unit_test(test_check_metadata_stored),
        cmocka_unit_test(test_check_delete_headers),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
