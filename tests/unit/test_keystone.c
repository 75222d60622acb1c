/* tests/unit/test_keystone.c: the v2.0 and v3 login bodies
 * (server/keystone.h): parsing credentials, rendering tokens and catalogs,
 * error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../../server/keystone.h"

struct parse_case {
    const char *body;
    int status;
    const char *tenant, *user, *key;
    bool api_key;
};

static void run_cases(const struct parse_case *c, size_t n,
                      int (*parse)(const char *, size_t, struct login_req *))
{
    for (size_t i = 0; i < n; i++) {
        struct login_req q;
        int status = parse(c[i].body, strlen(c[i].body), &q);
        if (status != c[i].status)
            fail_msg("case %zu (%s): status %d, want %d", i, c[i].body, status, c[i].status);
        if (status != 0) {
            assert_null(q.user);
            assert_null(q.key);
            continue;
        }
        if (c[i].tenant)
            assert_string_equal(q.tenant, c[i].tenant);
        else
            assert_null(q.tenant);
        assert_string_equal(q.user, c[i].user);
        assert_string_equal(q.key, c[i].key);
        assert_int_equal(q.api_key, c[i].api_key);
        login_req_release(&q);
    }
}

static void test_v2_parse(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"{\"auth\":{\"RAX-KSKEY:apiKeyCredentials\":{\"username\":\"tester\",\"apiKey\":\"k\"}}}",
         0, NULL, "tester", "k", true},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"tester\",\"password\":\"p\"},"
         "\"tenantName\":\"test\"}}",
         0, "test", "tester", "p", false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\",\"password\":\"p\"},"
         "\"tenantId\":\"AUTH_test\"}}",
         0, "AUTH_test", "u", "p", false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\",\"password\":\"p\"},"
         "\"tenantName\":\"\"}}",
         0, NULL, "u", "p", false},
        /* a kind of credential swiftlet does not take: 401, so clients fall back */
        {"{\"auth\":{\"token\":{\"id\":\"x\"},\"tenantName\":\"test\"}}", 401, NULL, NULL, NULL, false},
        {"{\"auth\":{\"RAX-AUTH:passcodeCredentials\":{\"passcode\":\"1\"}}}", 401, NULL, NULL, NULL, false},
        {"{\"auth\":{}}", 401, NULL, NULL, NULL, false},
        /* malformed: 400 */
        {"", 400, NULL, NULL, NULL, false},
        {"{", 400, NULL, NULL, NULL, false},
        {"[]", 400, NULL, NULL, NULL, false},
        {"\"auth\"", 400, NULL, NULL, NULL, false},
        {"{\"auth\":[]}", 400, NULL, NULL, NULL, false},
        {"{\"nope\":{}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\"}}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"password\":\"p\"}}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":1,\"password\":\"p\"}}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":\"x\"}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"RAX-KSKEY:apiKeyCredentials\":{\"username\":\"u\",\"password\":\"p\"}}}",
         400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\",\"password\":\"p\"},"
         "\"tenantName\":7}}",
         400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\\u0000x\",\"password\":\"p\"}}}",
         400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"passwordCredentials\":{\"username\":\"u\",\"username\":\"v\","
         "\"password\":\"p\"}}}",
         400, NULL, NULL, NULL, false},
    };
    run_cases(cases, ARRAY_SIZE(cases), keystone_v2_parse);
}

#define V3_USER(user, extra)                                                                       \
    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":" user "}}" extra   \
    "}}"

static void test_v3_parse(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {V3_USER("{\"name\":\"tester\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":{\"project\":{\"name\":\"test\",\"domain\":{\"name\":\"Default\"}}}"),
         0, "test", "tester", "p", false},
        {V3_USER("{\"name\":\"tester\",\"domain\":{\"id\":\"default\"},\"password\":\"p\"}",
                 ",\"scope\":{\"project\":{\"id\":\"test\"}}"),
         0, "test", "tester", "p", false},
        {V3_USER("{\"id\":\"test:tester\",\"password\":\"p\"}", ""), 0, NULL, "test:tester", "p", false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":null"),
         0, NULL, "t", "p", false},
        /* another domain, another method, a domain scope: 401 */
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Other\"},\"password\":\"p\"}", ""), 401, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"id\":\"x\"},\"password\":\"p\"}", ""), 401, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":{\"domain\":{\"id\":\"default\"}}"),
         401, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":{\"project\":{\"name\":\"test\",\"domain\":{\"name\":\"X\"}}}"),
         401, NULL, NULL, NULL, false},
        {"{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{\"id\":\"x\"}}}}", 401, NULL, NULL, NULL, false},
        /* malformed: 400 */
        {"", 400, NULL, NULL, NULL, false},
        {"null", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"identity\":{\"methods\":\"password\"}}}", 400, NULL, NULL, NULL, false},
        {"{\"auth\":{\"identity\":{\"methods\":[\"password\"]}}}", 400, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"password\":\"p\"}", ""), 400, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"}}", ""), 400, NULL, NULL, NULL, false},
        {V3_USER("{\"password\":\"p\"}", ""), 400, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":{\"project\":{\"name\":\"test\"}}"),
         400, NULL, NULL, NULL, false},
        {V3_USER("{\"name\":\"t\",\"domain\":{\"name\":\"Default\"},\"password\":\"p\"}",
                 ",\"scope\":[]"),
         400, NULL, NULL, NULL, false},
    };
    run_cases(cases, ARRAY_SIZE(cases), keystone_v3_parse);
}

static struct auth_grant grant(void)
{
    struct auth_grant g = {.expires = time(NULL) + 3600, .expires_in = 3600, .admin = true};
    strcpy(g.token, "AUTH_tk0123456789abcdef0123456789abcdef");
    g.account = (char *)"AUTH_test";
    g.tenant = (char *)"test";
    g.user = (char *)"tester";
    return g;
}

static const struct catalog_urls urls = {"http://pub/v1/AUTH_test", "http://snet/v1/AUTH_test",
                                         "DFW"};

static json_t *rendered(struct buf *b)
{
    json_t *doc = json_loads(b->data, 0, NULL);
    assert_non_null(doc);
    return doc;
}

static void test_v2_render(void **state)
{
    (void)state;
    struct auth_grant g = grant();
    struct buf b = BUF_INIT;
    assert_int_equal(keystone_v2_render(&g, true, &urls, &b), 0);
    json_t *doc = rendered(&b);
    json_t *access = json_object_get(doc, "access");
    json_t *token = json_object_get(access, "token");
    assert_string_equal(json_string_value(json_object_get(token, "id")), g.token);
    assert_non_null(json_string_value(json_object_get(token, "expires")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(token, "tenant"), "id")),
                        "test");
    json_t *user = json_object_get(access, "user");
    assert_string_equal(json_string_value(json_object_get(user, "RAX-AUTH:defaultRegion")), "DFW");
    json_t *cat = json_object_get(access, "serviceCatalog");
    assert_int_equal(json_array_size(cat), 2);
    json_t *files = json_array_get(cat, 0), *cdn = json_array_get(cat, 1);
    assert_string_equal(json_string_value(json_object_get(files, "name")), "cloudFiles");
    assert_string_equal(json_string_value(json_object_get(files, "type")), "object-store");
    json_t *ep = json_array_get(json_object_get(files, "endpoints"), 0);
    assert_string_equal(json_string_value(json_object_get(ep, "publicURL")), urls.public_url);
    assert_string_equal(json_string_value(json_object_get(ep, "internalURL")), urls.internal_url);
    assert_string_equal(json_string_value(json_object_get(ep, "region")), "DFW");
    assert_string_equal(json_string_value(json_object_get(ep, "tenantId")), "AUTH_test");
    assert_string_equal(json_string_value(json_object_get(cdn, "type")), "rax:object-cdn");
    json_decref(doc);
    buf_release(&b);
}

static void test_v3_render(void **state)
{
    (void)state;
    struct auth_grant g = grant();
    g.admin = false;
    g.read_only = true;
    struct buf b = BUF_INIT;
    assert_int_equal(keystone_v3_render(&g, &urls, &b), 0);
    json_t *doc = rendered(&b);
    json_t *token = json_object_get(doc, "token");
    assert_non_null(json_string_value(json_object_get(token, "expires_at")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(token, "project"), "id")),
                        "test");
    assert_string_equal(json_string_value(json_object_get(json_object_get(token, "user"), "name")),
                        "tester");
    json_t *role = json_array_get(json_object_get(token, "roles"), 0);
    assert_string_equal(json_string_value(json_object_get(role, "name")), "reader");
    json_t *svc = json_array_get(json_object_get(token, "catalog"), 0);
    assert_string_equal(json_string_value(json_object_get(svc, "type")), "object-store");
    json_t *eps = json_object_get(svc, "endpoints");
    assert_int_equal(json_array_size(eps), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 0), "interface")),
                        "public");
    assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 0), "url")),
                        urls.public_url);
    assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 1), "interface")),
                        "internal");
    assert_string_equal(json_string_value(json_object_get(json_array_get(eps, 1), "url")),
                        urls.internal_url);
    json_decref(doc);
    buf_release(&b);
}

static void test_errors(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    keystone_v2_error(401, true, &b);
    assert_string_equal(b.data,
                        "{\"unauthorized\":{\"code\":401,\"message\":\"Username or api key is "
                        "invalid.\"}}");
    keystone_v2_error(401, false, &b);
    assert_non_null(strstr(b.data, "\"unauthorized\":{\"code\":401"));
    keystone_v2_error(400, false, &b);
    assert_non_null(strstr(b.data, "{\"badRequest\":{\"code\":400,"));
    keystone_v3_error(401, &b);
    json_t *doc = rendered(&b);
    json_t *err = json_object_get(doc, "error");
    assert_int_equal(json_integer_value(json_object_get(err, "code")), 401);
    assert_string_equal(json_string_value(json_object_get(err, "title")), "Unauthorized");
    json_decref(doc);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_parse),  cmocka_unit_test(test_v3_parse),
        cmocka_unit_test(test_v2_render), cmocka_unit_test(test_v3_render),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("keystone", tests, NULL, NULL);
}
