/* tests/unit/test_bulk.c: the pure parts of server/bulk.h and
 * server/bulk_body.h: the bulk-delete path-list parser (Swift's
 * get_objs_to_delete, its reads of max_path bytes and its limits), quoting,
 * the Accept negotiation, and the result body in its formats, for bulk
 * operations and the SLO manifest PUT and DELETE alike. The expected
 * answers were taken from Swift 2.30.1 (bulk.get_response_body). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/bulk.h"

#define MAXP 1282   /* 1024 + 256 + 2 */

/* Parse body fed in pieces of step bytes; the status. */
static int parse(struct bulk_parser *p, const char *body, size_t len, size_t step, size_t max)
{
    bulk_parser_init(p, MAXP, max);
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        if (bulk_parser_feed(p, body + i, n))
            break;
    }
    return bulk_parser_finish(p);
}

static void test_parse_names(void **state)
{
    (void)state;
    static const char body[] = "/c/o\n  /c/a%20b \r\n\n%2Fc%2Fd+e\n/c/%FF%00x\n/c/%zz\n  tail  ";
    static const struct {
        const char *s;
        size_t len;
    } want[] = {{"/c/o", 4}, {"/c/a b", 6}, {"", 0}, {"/c/d+e", 6},
                {"/c/\xff\0x", 6}, {"/c/%zz", 6}, {"tail", 4}};
    static const size_t steps[] = {1, 3, 7, sizeof(body)};

    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
        struct bulk_parser p;
        assert_int_equal(parse(&p, body, sizeof(body) - 1, steps[k], 10000), 0);
        assert_int_equal(p.n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < p.n; i++) {
            assert_int_equal(p.names[i].len, want[i].len);
            assert_memory_equal(p.names[i].s, want[i].s, want[i].len);
        }
        bulk_parser_release(&p);
    }
}

static void test_parse_limits(void **state)
{
    (void)state;
    struct bulk_parser p;
    char *body = malloc(20000);

    /* more lines than allowed (empty lines count); an empty last one does not */
    memset(body, '\n', 4);
    assert_int_equal(parse(&p, body, 4, 4, 3), 413);
    bulk_parser_release(&p);
    assert_int_equal(parse(&p, "\n\n\nx", 4, 1, 3), 413);
    bulk_parser_release(&p);
    assert_int_equal(parse(&p, "\n\n\n  ", 5, 2, 3), 0);
    assert_int_equal(p.n, 3);
    bulk_parser_release(&p);

    /* a line longer than two reads is refused... */
    memset(body, 'a', 3000);
    body[3000] = '\n';
    assert_int_equal(parse(&p, body, 3001, 1000, 10000), 400);
    bulk_parser_release(&p);
    /* ...but not at the end of the body, where no read follows */
    assert_int_equal(parse(&p, body, 2000, 500, 10000), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.names[0].len, 2000);
    bulk_parser_release(&p);
    /* a line of max_path always fits, wherever it starts */
    for (size_t off = 0; off < 3; off++) {
        memset(body, '\n', off);
        memset(body + off, 'b', MAXP);
        memcpy(body + off + MAXP, "\nx\n", 3);
        assert_int_equal(parse(&p, body, off + MAXP + 3, 4096, 10000), 0);
        assert_int_equal(p.n, off + 2);
        bulk_parser_release(&p);
    }
    free(body);
}

static void test_quote(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    bulk_quote(&b, "/c/a b&%\xff\0~_.-", 14);
    assert_string_equal(b.data, "/c/a%20b%26%25%FF%00~_.-");
    buf_reset(&b);
    bulk_quote(&b, "/c/a b+\xc3\xa9", 9);
    assert_string_equal(b.data, "/c/a%20b%2B%C3%A9");
    buf_release(&b);
}

static void test_render(void **state)
{
    (void)state;
    struct bulk_result res = {.root = "delete", .status = 400,
                              .count_names = {"Number Deleted", "Number Not Found"},
                              .counts = {2, 1}};
    struct buf b;

    bulk_errors_add(&res.errors, "/c<&>", bulk_status_text(409));
    buf_init(&b, 0);
    assert_int_equal(bulk_render_result(&b, NULL, &res), 0);
    assert_string_equal(b.data, "Number Deleted: 2\nNumber Not Found: 1\nResponse Body: \n"
                                "Response Status: 400 Bad Request\nErrors:\n"
                                "/c<&>, 409 Conflict\n");
    buf_reset(&b);
    assert_int_equal(bulk_render_result(&b, "application/json", &res), 0);
    assert_string_equal(b.data, "{\"Response Status\": \"400 Bad Request\", \"Response Body\": "
                                "\"\", \"Number Deleted\": 2, \"Number Not Found\": 1, "
                                "\"Errors\": [[\"/c<&>\", \"409 Conflict\"]]}");
    buf_reset(&b);
    res.body = strdup("a<b");
    assert_int_equal(bulk_render_result(&b, "application/xml", &res), 0);
    assert_string_equal(b.data, "<delete>\n<number_deleted>2</number_deleted>\n"
                                "<number_not_found>1</number_not_found>\n"
                                "<response_body>a&lt;b</response_body>\n"
                                "<response_status>400 Bad Request</response_status>\n"
                                "<errors>\n<object><name>/c&lt;&amp;&gt;</name>"
                                "<status>409 Conflict</status></object>\n</errors>\n"
                                "</delete>\n");
    buf_release(&b);
    bulk_result_release(&res);
    assert_string_equal(bulk_status_text(500), "500 Internal Error");
}

static void test_accept(void **state)
{
    (void)state;
    /* format: what the body renders as (NULL: nothing acceptable, the
     * "406 Not Acceptable" in text/plain); ctype: the Content-Type */
    static const struct {
        const char *accept;
        bool ok;
        const char *ctype;
        const char *format;
    } cases[] = {
        {NULL, true, "text/plain", "text/plain"},
        {"*/*", true, "text/plain", "text/plain"},
        {"application/json", true, "application/json", "application/json"},
        {"text/xml", true, "text/xml", "text/xml"},
        {"image/png;q=1, application/xml;q=0.5", true, "application/xml", "application/xml"},
        {"application/json;q=0.9, text/xml", true, "text/xml", "text/xml"},
        {"image/png", false, "text/html; charset=UTF-8", NULL},
        {"garbage", false, "text/html; charset=UTF-8", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *fmt = "unset";
        int rc = bulk_body_format(cases[i].accept, &fmt);
        assert_int_equal(rc == 0 && fmt != NULL, cases[i].ok);
        assert_string_equal(bulk_body_content_type(fmt), cases[i].ctype);
        if (cases[i].format)
            assert_string_equal(fmt, cases[i].format);
        else
            assert_null(fmt);
    }
    /* a valid header that names nothing acceptable is no error */
    const char *fmt = "unset";
    assert_int_equal(bulk_body_format("image/png", &fmt), 0);
    assert_null(fmt);
}

/* The renderer with any fields (the SLO DELETE's, with a message for a
 * status), in the three formats. */
static void test_bulk_body(void **state)
{
    struct bulk_field f[] = {
        {"Response Status", "400 Bad Request", 0},
        {"Response Body", "", 0},
        {"Number Deleted", NULL, 2},
        {"Number Not Found", NULL, 0},
    };
    struct bulk_error e[] = {{"/c/a%20b", "Not an SLO manifest"}, {"/c/<x>", "409 Conflict"}};
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(bulk_body_render(&b, "text/plain", f, 4, e, 2, "delete"), 0);
    assert_string_equal(b.data, "Number Deleted: 2\nNumber Not Found: 0\nResponse Body: \n"
                                "Response Status: 400 Bad Request\nErrors:\n"
                                "/c/a%20b, Not an SLO manifest\n/c/<x>, 409 Conflict\n");
    buf_reset(&b);
    assert_int_equal(bulk_body_render(&b, "application/json", f, 4, e, 1, "delete"), 0);
    assert_string_equal(b.data, "{\"Response Status\": \"400 Bad Request\", \"Response Body\": "
                                "\"\", \"Number Deleted\": 2, \"Number Not Found\": 0, "
                                "\"Errors\": [[\"/c/a%20b\", \"Not an SLO manifest\"]]}");
    buf_reset(&b);
    assert_int_equal(bulk_body_render(&b, "text/xml", f, 4, e + 1, 1, "delete"), 0);
    assert_string_equal(b.data, "<delete>\n<number_deleted>2</number_deleted>\n"
                                "<number_not_found>0</number_not_found>\n"
                                "<response_body></response_body>\n"
                                "<response_status>400 Bad Request</response_status>\n"
                                "<errors>\n<object><name>/c/&lt;x&gt;</name><status>409 "
                                "Conflict</status></object>\n</errors>\n</delete>\n");
    /* bytes that are not UTF-8 are not dropped: one code point a byte */
    struct bulk_field bad = {"Response Body", "a\xff\xc3\xa9", 0};
    buf_reset(&b);
    assert_int_equal(bulk_body_render(&b, "application/json", &bad, 1, NULL, 0, "delete"), 0);
    assert_string_equal(b.data, "{\"Response Body\": \"a\\u00ff\\u00c3\\u00a9\", \"Errors\": []}");
    buf_release(&b);
}

/* An error list owns copies of what it is given. */
static void test_errors(void **state)
{
    struct bulk_errors e = {0};
    char name[] = "/c/a%20b";

    (void)state;
    bulk_errors_add(&e, name, "404 Not Found");
    name[1] = 'x';
    assert_int_equal(e.n, 1);
    assert_string_equal(e.v[0].name, "/c/a%20b");
    assert_string_equal(e.v[0].status, "404 Not Found");
    bulk_errors_release(&e);
    assert_int_equal(e.n, 0);
    assert_null(e.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_bulk_body),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
