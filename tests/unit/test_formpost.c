/* tests/unit/test_formpost.c: the incremental multipart parser of FormPost
 * (server/formpost.h): every form is fed whole, byte by byte and in
 * uneven chunks, and must give the same parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/formpost.h"

/* What the callbacks saw, as text: "[headers]{body}" per part. */
struct rec {
    struct buf out;
    int stop_at_part;     /* > 0: part_begin of that part returns 7 */
    int parts;
};

static int rec_begin(void *ctx, const struct kv_list *h)
{
    struct rec *r = ctx;

    r->parts++;
    assert_int_equal(buf_appendc(&r->out, '['), 0);
    for (size_t i = 0; i < h->n; i++)
        assert_int_equal(buf_appendf(&r->out, "%s=%s;", h->items[i].key, h->items[i].value), 0);
    assert_int_equal(buf_appends(&r->out, "]{"), 0);
    return r->parts == r->stop_at_part ? 7 : 0;
}

static int rec_data(void *ctx, const char *p, size_t n)
{
    struct rec *r = ctx;
    assert_true(n > 0);
    assert_int_equal(buf_append(&r->out, p, n), 0);
    return 0;
}

static int rec_end(void *ctx)
{
    struct rec *r = ctx;
    assert_int_equal(buf_appendc(&r->out, '}'), 0);
    return 0;
}

static const struct fp_mime_ops rec_ops = {rec_begin, rec_data, rec_end};

/* Parse form in chunks of step bytes (0: whole); returns the result code
 * and fills out with the record. */
static int parse(const char *boundary, const char *form, size_t len, size_t step, int stop_at,
                 char *out, size_t outlen)
{
    struct fp_mime m;
    struct rec r = {.stop_at_part = stop_at};
    int rc;

    buf_init(&r.out, 0);
    assert_int_equal(fp_mime_init(&m, boundary, &rec_ops, &r), 0);
    rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = step ? step : len;
        if (n > len - off)
            n = len - off;
        rc = fp_mime_feed(&m, form + off, n);
        off += n;
    }
    if (rc == 0)
        rc = fp_mime_finish(&m);
    snprintf(out, outlen, "%s", r.out.data);
    buf_release(&r.out);
    fp_mime_release(&m);
    return rc;
}

static void check_all_splits(const char *boundary, const char *form, int want_rc,
                             const char *want)
{
    static const size_t steps[] = {0, 1, 2, 3, 5, 7, 13, 64};
    char got[2048];

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int rc = parse(boundary, form, strlen(form), steps[i], 0, got, sizeof(got));
        if (rc != want_rc || strcmp(got, want) != 0)
            fail_msg("step %zu: rc %d (want %d)\n got: %s\nwant: %s", steps[i], rc, want_rc, got,
                     want);
    }
}

static void test_forms(void **state)
{
    (void)state;
    static const struct {
        const char *form;
        int rc;
        const char *want;
    } cases[] = {
        /* two fields and a file */
        {"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\n"
         "Content-Type: text/plain\r\n\r\nhello\r\nworld\r\n--XyZ--\r\n",
         0,
         "[Content-Disposition=form-data; name=\"a\";]{1}"
         "[Content-Disposition=form-data; name=\"b\";]{two}"
         "[Content-Disposition=form-data; name=\"f\"; filename=\"x.txt\";Content-Type=text/plain;]"
         "{hello\r\nworld}"},
        /* blank lines before the first boundary; trailing garbage ignored */
        {"\r\n\r\n--XyZ\r\nA: 1\r\n\r\nv\r\n--XyZ--junk--XyZ\r\nB: 2\r\n\r\nw", 0, "[A=1;]{v}"},
        /* a body that holds pieces of the delimiter */
        {"--XyZ\r\nA: 1\r\n\r\n\r\n--Xy\r\n-\r\r\n--XyZ--", 0,
         "[A=1;]{\r\n--Xy\r\n-\r}"},
        /* no headers; empty body */
        {"--XyZ\r\n\r\nbody\r\n--XyZ\r\n\r\n\r\n--XyZ--", 0, "[]{body}[]{}"},
        /* header continuation and spaces */
        {"--XyZ\r\nA:   x\r\n  y \r\nB:z\r\n\r\nq\r\n--XyZ--", 0, "[A=x y;B=z;]{q}"},
        /* the body ends without a closing boundary: the part ends there */
        {"--XyZ\r\nA: 1\r\n\r\nunterminated\r\n--X", 0, "[A=1;]{unterminated\r\n--X}"},
        /* a part that ends inside its headers: all headers, no body */
        {"--XyZ\r\nA: 1\r\n--XyZ--", 0, "[A=1;]{}"},
        /* not a form */
        {"garbage", -EBADMSG, ""},
        {"", -EBADMSG, ""},
        {"\r\n\r\n", -EBADMSG, ""},
        {"--XyZZ\r\n", -EBADMSG, ""},
        {"--XyZ", 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_all_splits("XyZ", cases[i].form, cases[i].rc, cases[i].want);
}

static void test_binary_body(void **state)
{
    (void)state;
    /* A large body with NULs and CRLFs, fed in uneven chunks. */
    size_t n = 100000;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)((i * 7919) % 251);
    body[500] = '\r';
    body[501] = '\n';
    body[502] = '-';
    const char *head = "--b0und\r\nContent-Disposition: form-data; name=f; filename=z\r\n\r\n";
    const char *tail = "\r\n--b0und--\r\n";
    size_t len = strlen(head) + n + strlen(tail);
    char *form = malloc(len);
    memcpy(form, head, strlen(head));
    memcpy(form + strlen(head), body, n);
    memcpy(form + strlen(head) + n, tail, strlen(tail));

    static const size_t steps[] = {0, 1, 4093, 65536};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        struct fp_mime m;
        struct rec r = {0};
        buf_init(&r.out, 0);
        assert_int_equal(fp_mime_init(&m, "b0und", &rec_ops, &r), 0);
        for (size_t off = 0; off < len;) {
            size_t k = steps[s] ? steps[s] : len;
            if (k > len - off)
                k = len - off;
            assert_int_equal(fp_mime_feed(&m, form + off, k), 0);
            off += k;
        }
        assert_int_equal(fp_mime_finish(&m), 0);
        const char *open = strchr(r.out.data, '{');
        assert_non_null(open);
        assert_int_equal(r.out.len - (size_t)(open + 1 - r.out.data), n + 1);
        assert_memory_equal(open + 1, body, n);
        buf_release(&r.out);
        fp_mime_release(&m);
    }
    free(body);
    free(form);
}

static void test_stop(void **state)
{
    (void)state;
    const char *form = "--B\r\nA: 1\r\n\r\nx\r\n--B\r\nA: 2\r\n\r\ny\r\n--B\r\nA: 3\r\n\r\nz\r\n--B--";
    char got[256];

    /* part_begin of the second part stops the parser; it stays stopped */
    assert_int_equal(parse("B", form, strlen(form), 0, 2, got, sizeof(got)), 7);
    assert_string_equal(got, "[A=1;]{x}[A=2;]{");
    assert_int_equal(parse("B", form, strlen(form), 1, 2, got, sizeof(got)), 7);
    assert_string_equal(got, "[A=1;]{x}[A=2;]{");
}

static void test_bad_boundary(void **state)
{
    (void)state;
    struct fp_mime m;
    char big[FP_BOUNDARY_MAX + 2];

    assert_int_equal(fp_mime_init(&m, "", &rec_ops, NULL), -EINVAL);
    fp_mime_release(&m);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fp_mime_init(&m, big, &rec_ops, NULL), -EINVAL);
    fp_mime_release(&m);
}

static void test_disposition(void **state)
{
    (void)state;
    static const struct {
        const char *in, *type, *attrs;
    } cases[] = {
        {"form-data; name=\"f\"; filename=\"a b.txt\"", "form-data", "name=f;filename=a b.txt;"},
        {"multipart/form-data; boundary=XyZ", "multipart/form-data", "boundary=XyZ;"},
        {"multipart/form-data;boundary=\"q;r\"", "multipart/form-data", "boundary=q;r;"},
        {"  attachment  ", "attachment", ""},
        {"form-data; name=a;  filename=b", "form-data", "name=a;"},   /* two spaces stop it */
        {"form-data; =x; name=a", "form-data", ""},
        {"", "", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct kv_list attrs = KV_LIST_INIT;
        char type[32], got[256] = "";
        fp_parse_disposition(cases[i].in, type, sizeof(type), &attrs);
        assert_string_equal(type, cases[i].type);
        for (size_t j = 0; j < attrs.n; j++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s=%s;", attrs.items[j].key,
                     attrs.items[j].value);
        assert_string_equal(got, cases[i].attrs);
        kv_release(&attrs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),        cmocka_unit_test(test_binary_body),
        cmocka_unit_test(test_stop),         cmocka_unit_test(test_bad_boundary),
        cmocka_unit_test(test_disposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
