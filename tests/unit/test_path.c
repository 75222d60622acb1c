/* tests/unit/test_path.c: request-target parsing (server/path.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/path.h"

static void test_percent_decode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool plus;
        const char *out;
        size_t len;
    } cases[] = {
        {"abc", false, "abc", 3},
        {"a%20b", false, "a b", 3},
        {"a+b", false, "a+b", 3},
        {"a+b", true, "a b", 3},
        {"%e2%82%AC", false, "\xe2\x82\xac", 3},
        {"%", false, "%", 1},
        {"%4", false, "%4", 2},
        {"%zz", false, "%zz", 3},
        {"x%00y", false, "x\0y", 3},
        {"%2F", false, "/", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 0;
        char *got = percent_decode(cases[i].in, strlen(cases[i].in), cases[i].plus, &len);
        assert_int_equal(len, cases[i].len);
        assert_memory_equal(got, cases[i].out, len);
        assert_int_equal(got[len], '\0');
        free(got);
    }
}

static void test_api_path(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        int status;
        const char *account, *container, *object;
    } cases[] = {
        {"/v1/AUTH_a", 0, "AUTH_a", NULL, NULL},
        {"/v1/AUTH_a/", 0, "AUTH_a", NULL, NULL},
        {"/v1/AUTH_a/c", 0, "AUTH_a", "c", NULL},
        {"/v1/AUTH_a/c/", 0, "AUTH_a", "c", NULL},
        {"/v1/AUTH_a/c/o", 0, "AUTH_a", "c", "o"},
        {"/v1.0/AUTH_a/c/o", 0, "AUTH_a", "c", "o"},
        {"/v1/AUTH_a/c/dir/sub/o", 0, "AUTH_a", "c", "dir/sub/o"},
        {"/v1/AUTH_a/c//o", 0, "AUTH_a", "c", "/o"},
        {"/v1/AUTH_a/c/o%2Fx", 0, "AUTH_a", "c", "o/x"},
        {"/v1/AUTH_a/c%2Fd/o", 0, "AUTH_a", "c", "d/o"},
        {"/v1/AUTH_a/c/%E2%82%AC", 0, "AUTH_a", "c", "\xe2\x82\xac"},
        {"/v1/AUTH_a/c/%FF", 412, NULL, NULL, NULL},
        {"/v1/AUTH_a/c/a%00b", 412, NULL, NULL, NULL},
        {"/v1", 412, NULL, NULL, NULL},
        {"/v1/", 412, NULL, NULL, NULL},
        {"/v2/AUTH_a", 400, NULL, NULL, NULL},
        {"/v1/AUTH_a//o", 404, "AUTH_a", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_path p;
        char msg[128];
        int status = api_path_parse(cases[i].raw, &p, msg, sizeof(msg));
        assert_int_equal(status, cases[i].status);
        if (cases[i].account)
            assert_string_equal(p.account, cases[i].account);
        if (status == 0) {
            if (cases[i].container)
                assert_string_equal(p.container, cases[i].container);
            else
                assert_null(p.container);
            if (cases[i].object)
                assert_string_equal(p.object, cases[i].object);
            else
                assert_null(p.object);
        }
        if (status == 412 && strstr(cases[i].raw, "%"))
            assert_string_equal(msg, "Invalid UTF8 or contains NULL");
        api_path_release(&p);
    }
}

static void test_query_parse(void **state)
{
    (void)state;
    struct kv_list q;
    kv_init(&q);
    query_parse("format=json&prefix=a%2Fb+c&reverse&marker=&limit=10&&x=1=2", &q);
    assert_int_equal(q.n, 6);
    assert_string_equal(kv_get(&q, "format"), "json");
    assert_string_equal(kv_get(&q, "prefix"), "a/b c");
    assert_string_equal(kv_get(&q, "reverse"), "");
    assert_string_equal(kv_get(&q, "marker"), "");
    assert_string_equal(kv_get(&q, "limit"), "10");
    assert_string_equal(kv_get(&q, "x"), "1=2");
    kv_release(&q);

    kv_init(&q);
    query_parse("", &q);
    assert_int_equal(q.n, 0);
    kv_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_api_path),
        cmocka_unit_test(test_query_parse),
    };
    return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
