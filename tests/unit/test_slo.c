/* tests/unit/test_slo.c: the SLO manifest parser and validator of
 * server/slo.c (slo_parse_input, slo_range_resolve). Expected texts are
 * Swift 2.30's (parse_and_validate_input). The bulk result body the SLO
 * PUT and DELETE answer with is tested in test_bulk.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../server/slo.h"

/* Parse body for manifest c/o; returns the error text ("" when valid). */
static char *parse(const char *body, struct slo_input **in, size_t *n)
{
    struct buf err = BUF_INIT;
    int rc = slo_parse_input(body, strlen(body), "c", "o", in, n, &err);

    assert_int_equal(rc == 0, err.len == 0);
    return buf_detach(&err, NULL);
}

static void expect_error(const char *body, const char *want)
{
    struct slo_input *in;
    size_t n;
    char *got = parse(body, &in, &n);

    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", body, got, want);
    assert_null(in);
    free(got);
}

static void test_valid_manifest(void **state)
{
    struct slo_input *in;
    size_t n;
    char *err = parse("[{\"path\": \"/s/a\", \"etag\": \"e1\", \"size_bytes\": \"12\"},"
                      " {\"path\": \"s/b\", \"range\": \"-3\", \"etag\": null},"
                      " {\"data\": \"eHl6\"}, {\"path\": \"/s/c\", \"size_bytes\": 0}]",
                      &in, &n);
    (void)state;
    assert_string_equal(err, "");
    free(err);
    assert_int_equal(n, 4);
    assert_string_equal(in[0].path, "/s/a");
    assert_string_equal(in[0].etag, "e1");
    assert_true(in[0].has_size);
    assert_int_equal(in[0].size, 12);
    assert_null(in[1].etag);
    assert_string_equal(in[1].range, "-3");
    assert_false(in[1].has_size);
    assert_null(in[2].path);
    assert_int_equal(in[2].data_len, 3);
    assert_memory_equal(in[2].data, "xyz", 3);
    /* a last segment may be empty */
    assert_true(in[3].has_size);
    assert_int_equal(in[3].size, 0);
    slo_input_free(in, n);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "Manifest must be valid JSON.\n");
    expect_error("[1,", "Manifest must be valid JSON.\n");
    expect_error("{}", "Manifest must be a list.\n");
    expect_error("\"x\"", "Manifest must be a list.\n");
    expect_error("[5]", "Index 0: not a JSON object\n");
    expect_error("[{\"foo\": 1}]", "Index 0: expected keys to include one of 'data' or 'path'\n");
    expect_error("[{\"path\": \"/c/x\", \"z\": 1, \"\\u00e9\": 2}]",
                 "Index 0: extraneous keys \"z\", \"\\u00e9\"\n");
    expect_error("[{\"data\": \"eHl6\", \"path\": \"/c/x\"}, {\"path\": \"/c/y\"}]",
                 "Index 0: extraneous keys \"path\"\n");
    expect_error("[{\"path\": [1]}]", "Index 0: \"path\" must be a string\n");
    expect_error("[{\"path\": \"/c/x\", \"etag\": 1}]",
                 "Index 0: \"etag\" must be a string or null (if provided)\n");
    expect_error("[{\"path\": \"//x//\"}]",
                 "Index 0: path does not refer to an object. Path must be of the form "
                 "/container/object.\n");
    expect_error("[{\"path\": \"/c/x\", \"size_bytes\": [1]}]", "Index 0: invalid size_bytes\n");
    expect_error("[{\"path\": \"/c/x\", \"size_bytes\": \"1.5\"}]",
                 "Index 0: invalid size_bytes\n");
    expect_error("[{\"path\": \"/c/x\", \"size_bytes\": 0}, {\"path\": \"/c/y\"}]",
                 "Index 0: too small; each segment must be at least 1 byte.\n");
    expect_error("[{\"path\": \"/c/o\"}]",
                 "Index 0: manifest must not include itself as a segment\n");
    expect_error("[{\"path\": \"/c/x\", \"range\": \"a-b\"}]", "Index 0: invalid range\n");
    expect_error("[{\"path\": \"/c/x\", \"range\": 5}]", "Index 0: invalid range\n");
    expect_error("[{\"path\": \"/c/x\", \"range\": \"0-1,3-4\"}]",
                 "Index 0: multiple ranges (only one allowed)\n");
    expect_error("[{\"path\": \"/c/x\", \"range\": \"9-\", \"size_bytes\": 5}]",
                 "Index 0: unsatisfiable range\n");
    expect_error("[{\"path\": \"/c/x\"}, {\"data\": \"a b\"}]",
                 "Index 1: data must be valid base64\n");
    expect_error("[{\"path\": \"/c/x\"}, {\"data\": \"eHl\"}]",
                 "Index 1: data must be valid base64\n");
    expect_error("[{\"path\": \"/c/x\"}, {\"data\": \"==\"}]",
                 "Index 1: too small; each segment must be at least 1 byte.\n");
    expect_error("[{\"data\": \"eHl6\"}]",
                 "Inline data segments require at least one object-backed segment.\n");
    /* every error is reported, in index order */
    expect_error("[5, {\"path\": 1}, {\"path\": \"/c/x\"}, {\"path\": \"x\"}]",
                 "Index 0: not a JSON object\nIndex 1: \"path\" must be a string\n"
                 "Index 3: path does not refer to an object. Path must be of the form "
                 "/container/object.\n");
}

static void test_range_resolve(void **state)
{
    uint64_t a = 0, b = 0;

    (void)state;
    assert_int_equal(slo_range_resolve("1-3", 7, &a, &b), 1);
    assert_int_equal(a, 1);
    assert_int_equal(b, 4);
    assert_int_equal(slo_range_resolve("-2", 7, &a, &b), 1);
    assert_int_equal(a, 5);
    assert_int_equal(slo_range_resolve("3-100", 7, &a, &b), 1);
    assert_int_equal(b, 7);
    assert_int_equal(slo_range_resolve("9-", 7, &a, &b), 0);
    assert_int_equal(slo_range_resolve("0-", 0, &a, &b), 0);
    assert_int_equal(slo_range_resolve("x", 7, &a, &b), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_manifest),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_range_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
