/* tests/unit/test_bulk.c: the pure parts of server/bulk.h: the bulk-delete
 * path-list parser (Swift's get_objs_to_delete, its reads of max_path
 * bytes and its limits), quoting, and the result body in its formats. The
 * expected answers were taken from Swift 2.30.1. */
#include <setjmp.h>
#include <stdarg.h>
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
    buf_release(&b);
}

static void test_render(void **state)
{
    (void)state;
    struct bulk_result res = {.root = "delete", .status = 400,
                              .count_names = {"Number Deleted", "Number Not Found"},
                              .counts = {2, 1}};
    struct buf b;

    bulk_result_error(&res, "/c<&>", 409);
    buf_init(&b, 0);
    bulk_render_result(&b, BULK_PLAIN, &res);
    assert_string_equal(b.data, "Number Deleted: 2\nNumber Not Found: 1\nResponse Body: \n"
                                "Response Status: 400 Bad Request\nErrors:\n"
                                "/c<&>, 409 Conflict\n");
    buf_reset(&b);
    bulk_render_result(&b, BULK_JSON, &res);
    assert_string_equal(b.data, "{\"Response Status\": \"400 Bad Request\", \"Response Body\": "
                                "\"\", \"Number Deleted\": 2, \"Number Not Found\": 1, "
                                "\"Errors\": [[\"/c<&>\", \"409 Conflict\"]]}");
    buf_reset(&b);
    res.body = strdup("a<b");
    bulk_render_result(&b, BULK_XML, &res);
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
    static const struct {
        const char *accept;
        bool ok;
        const char *ctype;
        enum bulk_format fmt;
    } cases[] = {
        {NULL, true, "text/plain", BULK_PLAIN},
        {"*/*", true, "text/plain", BULK_PLAIN},
        {"application/json", true, "application/json", BULK_JSON},
        {"text/xml", true, "text/xml", BULK_XML},
        {"image/png;q=1, application/xml;q=0.5", true, "application/xml", BULK_XML},
        {"image/png", false, "text/html; charset=UTF-8", BULK_PLAIN},
        {"garbage", false, "text/html; charset=UTF-8", BULK_PLAIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum bulk_format fmt;
        const char *ctype;
        assert_int_equal(bulk_accept(cases[i].accept, &fmt, &ctype), cases[i].ok);
        assert_string_equal(ctype, cases[i].ctype);
        assert_int_equal(fmt, cases[i].fmt);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_names),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
