/* tests/unit/test_range.c: server/range.c and server/mime.c. The expected
 * answers were taken from Swift 2.30 (curl against a real proxy) or from
 * swob's code where noted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../server/mime.h"
#include "../../server/range.h"

#define NOR {0, 0}

struct range_case {
    const char *header;
    uint64_t size;
    enum range_result want;
    size_t n;
    struct byte_range r[4];
};

static const struct range_case range_cases[] = {
    /* single ranges */
    {"bytes=0-3", 12, RANGE_PARTIAL, 1, {{0, 4}}},
    {"bytes=-3", 12, RANGE_PARTIAL, 1, {{9, 12}}},
    {"bytes=5-", 12, RANGE_PARTIAL, 1, {{5, 12}}},
    {"bytes=0-100", 12, RANGE_PARTIAL, 1, {{0, 12}}},
    {"bytes=-100", 12, RANGE_PARTIAL, 1, {{0, 12}}},
    {"bytes=11-", 12, RANGE_PARTIAL, 1, {{11, 12}}},
    {"bytes=0-01", 12, RANGE_PARTIAL, 1, {{0, 2}}},
    {"Bytes=0-1", 12, RANGE_PARTIAL, 1, {{0, 2}}},
    {"bytes= 0-1", 12, RANGE_PARTIAL, 1, {{0, 2}}},
    {"bytes=0-1 ", 12, RANGE_PARTIAL, 1, {{0, 2}}},
    {"b y t e s = 1 0 - 1 1", 12, RANGE_PARTIAL, 1, {{10, 12}}},
    {"bytes=+1-2", 12, RANGE_PARTIAL, 1, {{1, 3}}},   /* Python int() */
    {"bytes=1_0-11", 12, RANGE_PARTIAL, 1, {{10, 12}}},
    {"bytes=0-99999999999999999999999", 12, RANGE_PARTIAL, 1, {{0, 12}}},
    /* several: kept in order, not coalesced */
    {"bytes=0-1,3-4", 12, RANGE_PARTIAL, 2, {{0, 2}, {3, 5}}},
    {"bytes=0-1, 2-3", 12, RANGE_PARTIAL, 2, {{0, 2}, {2, 4}}},
    {"bytes=0-0,0-0", 12, RANGE_PARTIAL, 2, {{0, 1}, {0, 1}}},
    {"bytes=0-1,5-", 12, RANGE_PARTIAL, 2, {{0, 2}, {5, 12}}},
    {"bytes=5-6,0-1", 12, RANGE_PARTIAL, 2, {{5, 7}, {0, 2}}},
    {"bytes=0-1,20-30", 12, RANGE_PARTIAL, 1, {{0, 2}}},   /* unsatisfiable part dropped */
    /* unsatisfiable */
    {"bytes=20-30", 12, RANGE_UNSATISFIABLE, 0, {NOR}},
    {"bytes=12-", 12, RANGE_UNSATISFIABLE, 0, {NOR}},
    {"bytes=-0", 12, RANGE_UNSATISFIABLE, 0, {NOR}},
    {"bytes=20-30,40-50", 12, RANGE_UNSATISFIABLE, 0, {NOR}},
    {"bytes=0-1", 0, RANGE_UNSATISFIABLE, 0, {NOR}},
    /* more than two overlapping pairs */
    {"bytes=0-5,1-6,2-7", 12, RANGE_UNSATISFIABLE, 0, {NOR}},
    {"bytes=0-5,1-6", 12, RANGE_PARTIAL, 2, {{0, 6}, {1, 7}}},
    /* ignored: invalid syntax (200) */
    {NULL, 12, RANGE_IGNORE, 0, {NOR}},
    {"", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=abc", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=3-1", 12, RANGE_IGNORE, 0, {NOR}},
    {"foo=0-1", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=,0-1", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=0-1,", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=0-1,,2-3", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=-", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=1-2-3", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=5", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=--1", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=1-+2", 12, RANGE_IGNORE, 0, {NOR}},   /* end must be isdigit() */
    {"bytes=_1-2", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=1__0-20", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=0-1\t", 12, RANGE_IGNORE, 0, {NOR}},
    {"bytes=\t1-2", 12, RANGE_PARTIAL, 1, {{1, 3}}},   /* int() strips it */
    /* an empty object with a suffix range: 200 with the (empty) body */
    {"bytes=-5", 0, RANGE_IGNORE, 0, {NOR}},
};

static void test_range_eval(void **unused)
{
    (void)unused;
    for (size_t i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
        const struct range_case *c = &range_cases[i];
        struct byte_range out[RANGE_MAX];
        size_t n = 99;
        enum range_result got = range_eval(c->header, c->size, out, &n);
        if (got != c->want || n != c->n)
            fail_msg("case %zu \"%s\": result %d n %zu, want %d n %zu", i,
                     c->header ? c->header : "(null)", got, n, c->want, c->n);
        for (size_t k = 0; k < n; k++)
            if (out[k].start != c->r[k].start || out[k].end != c->r[k].end)
                fail_msg("case %zu \"%s\" range %zu: [%llu,%llu)", i, c->header, k,
                         (unsigned long long)out[k].start, (unsigned long long)out[k].end);
    }
}

static void test_range_limits(void **unused)
{
    (void)unused;
    char h[1024] = "bytes=";
    struct byte_range out[RANGE_MAX];
    size_t n;

    /* 50 ascending ranges are fine, 51 are too many */
    for (int i = 0; i < 51; i++)
        snprintf(h + strlen(h), sizeof(h) - strlen(h), "%s%d-%d", i ? "," : "", 2 * i, 2 * i);
    assert_int_equal(range_eval(h, 1000, out, &n), RANGE_UNSATISFIABLE);
    *strrchr(h, ',') = '\0';
    assert_int_equal(range_eval(h, 1000, out, &n), RANGE_PARTIAL);
    assert_int_equal(n, 50);
    assert_int_equal(out[49].start, 98);
    /* unsatisfiable specs do not count toward the limit */
    strcat(h, ",5000-6000");
    assert_int_equal(range_eval(h, 1000, out, &n), RANGE_PARTIAL);
    assert_int_equal(n, 50);
    /* 7 out of order ranges pass, 8 do not */
    assert_int_equal(range_eval("bytes=20-20,0-0,2-2,4-4,6-6,8-8,10-10", 100, out, &n),
                     RANGE_PARTIAL);
    assert_int_equal(n, 7);
    assert_int_equal(range_eval("bytes=20-20,0-0,2-2,4-4,6-6,8-8,10-10,12-12", 100, out, &n),
                     RANGE_UNSATISFIABLE);
    assert_int_equal(range_eval("bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14", 100, out, &n),
                     RANGE_PARTIAL);
}

static void test_range_valid(void **unused)
{
    (void)unused;
    assert_true(range_valid("bytes=0-0"));
    assert_true(range_valid("bytes=-5,7-"));
    assert_true(range_valid("bytes=100-200"));   /* valid even past the end */
    assert_false(range_valid("bytes=2-1"));
    assert_false(range_valid("bytes 0-1"));
    assert_false(range_valid(NULL));
}

static void test_multipart_length(void **unused)
{
    (void)unused;
    /* Swift's Content-Length for "bytes=0-1,3-4" of a 12-byte text/plain */
    struct byte_range r[2] = {{0, 2}, {3, 5}};
    char cr[80];
    assert_int_equal(range_multipart_length(r, 2, 12, 32, strlen("text/plain")), 230);
    struct byte_range r2[2] = {{0, 2}, {5, 12}};
    assert_int_equal(range_multipart_length(r2, 2, 12, 32, strlen("text/plain")), 236);
    assert_int_equal(range_content_range(cr, sizeof(cr), &r2[1], 12), strlen("bytes 5-11/12"));
    assert_string_equal(cr, "bytes 5-11/12");
}

struct int_case {
    const char *s;
    bool ok;
    int64_t v;
};

static void test_py_int(void **unused)
{
    (void)unused;
    static const struct int_case cases[] = {
        {"0", true, 0},          {"123", true, 123},   {" 42 ", true, 42},
        {"+7", true, 7},         {"-7", true, -7},     {"1_000", true, 1000},
        {"0001", true, 1},       {"\t5\n", true, 5},   {"", false, 0},
        {" ", false, 0},         {"1_", false, 0},     {"_1", false, 0},
        {"1__0", false, 0},      {"1.5", false, 0},    {"abc", false, 0},
        {"+", false, 0},         {"1 2", false, 0},    {"--1", false, 0},
        {"99999999999999999999", true, INT64_MAX},
        {"-99999999999999999999", true, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = -1;
        bool ok = py_int(cases[i].s, strlen(cases[i].s), &v);
        if (ok != cases[i].ok || (ok && v != cases[i].v))
            fail_msg("py_int(\"%s\") = %d %lld", cases[i].s, ok, (long long)v);
    }
}

static void test_etag_match(void **unused)
{
    (void)unused;
    const char *e = "6f5902ac237024bdd0c176cb93063dc4";
    assert_true(etag_list_match(e, e));
    assert_true(etag_list_match("\"6f5902ac237024bdd0c176cb93063dc4\"", e));
    assert_true(etag_list_match("*", e));
    assert_true(etag_list_match("a, b ,\"6f5902ac237024bdd0c176cb93063dc4\"", e));
    assert_true(etag_list_match("x,*", e));
    assert_false(etag_list_match("nope", e));
    assert_false(etag_list_match("", e));
    assert_false(etag_list_match("\"", e));
    assert_false(etag_list_match("W/\"6f5902ac237024bdd0c176cb93063dc4\"", e));
}

struct cond_case {
    const char *im, *inm;
    int ims, ius;   /* offset from last-modified in seconds; 99 = absent */
    int want;
};

static void test_cond_eval(void **unused)
{
    (void)unused;
    const char *e = "abc";
    const time_t lm = 1795776700;
    static const struct cond_case cases[] = {
        {NULL, NULL, 99, 99, 0},
        {NULL, "abc", 99, 99, 304},
        {NULL, "\"abc\"", 99, 99, 304},
        {NULL, "*", 99, 99, 304},
        {NULL, "x", 99, 99, 0},
        {"x", NULL, 99, 99, 412},
        {"abc", NULL, 99, 99, 0},
        {"*", NULL, 99, 99, 0},
        {"x", "*", 99, 99, 304},          /* If-None-Match is checked first */
        {NULL, NULL, 0, 99, 304},         /* not modified since exactly then */
        {NULL, NULL, -1, 99, 0},
        {NULL, NULL, 99, 0, 0},
        {NULL, NULL, 99, -1, 412},
        {NULL, "x", 10, 99, 304},         /* swob checks IMS even with INM */
        {"x", NULL, 10, 99, 412},
        {"abc", NULL, 99, -5, 412},
        {NULL, NULL, 5, -5, 304},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct cond_case *k = &cases[i];
        struct cond_req c = {.if_match = k->im, .if_none_match = k->inm};
        c.has_ims = k->ims != 99;
        c.if_modified_since = lm + k->ims;
        c.has_ius = k->ius != 99;
        c.if_unmodified_since = lm + k->ius;
        int got = cond_eval(&c, e, lm);
        if (got != k->want)
            fail_msg("cond case %zu: %d, want %d", i, got, k->want);
    }
}

static void test_mime_guess(void **unused)
{
    (void)unused;
    static const char *const cases[][2] = {
        {"a.txt", "text/plain"},
        {"a.TXT", "text/plain"},
        {"a.html", "text/html"},
        {"a.HTML", "text/html"},
        {"a.json", "application/json"},
        {"a.jpg", "image/jpeg"},
        {"a.JPG", "image/jpeg"},
        {"a.png", "image/png"},
        {"a.js", "text/javascript"},
        {"a.tar.gz", "application/x-tar"},
        {"a.tgz", "application/x-tar"},
        {"a.tar.bz2", "application/x-tar"},
        {"a.txt.gz", "text/plain"},
        {"a.svgz", "image/svg+xml"},
        {"a.gz", "application/octet-stream"},
        {"a.Z", "application/octet-stream"},
        {"a.GZ", "application/gzip"},   /* not an encoding: case-sensitive */
        {"a.yaml", "application/octet-stream"},
        {"a.exe", "application/x-msdos-program"},
        {"a.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"noext", "application/octet-stream"},
        {".hidden", "application/octet-stream"},
        {"..txt", "application/octet-stream"},
        {"a.", "application/octet-stream"},
        {"dir.d/x", "application/octet-stream"},
        {"dir.d/file.txt", "text/plain"},
        {"file.txt/", "application/octet-stream"},
        {"x/.tar.gz", "application/octet-stream"},
        {"a.averyveryverylongextension", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(mime_guess(cases[i][0]), cases[i][1]) != 0)
            fail_msg("mime_guess(\"%s\") = %s, want %s", cases[i][0], mime_guess(cases[i][0]),
                     cases[i][1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_eval),  cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_range_valid), cmocka_unit_test(test_multipart_length),
        cmocka_unit_test(test_py_int),      cmocka_unit_test(test_etag_match),
        cmocka_unit_test(test_cond_eval),   cmocka_unit_test(test_mime_guess),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
