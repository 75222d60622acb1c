/* tests/unit/test_common.c: unit tests for common/ (buf, hash, timefmt, kv,
 * log, util, config). Table-driven where there is a table to drive. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../common/hash.h"
#include "../../common/kv.h"
#include "../../common/log.h"
#include "../../common/timefmt.h"
#include "../../common/util.h"

/* ---- buf ---------------------------------------------------------------- */

static void test_buf_empty_and_nul(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.len, 3);
    assert_int_equal(b.data[3], '\0');
    assert_int_equal(buf_appendc(&b, 'd'), 0);
    assert_int_equal(buf_appends(&b, "ef"), 0);
    assert_string_equal(b.data, "abcdef");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_true(b.alloc > 0);   /* memory kept */
    buf_release(&b);
    assert_int_equal(b.alloc, 0);
    assert_string_equal(b.data, "");
}

static void test_buf_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);   /* exactly the cap */
    assert_int_equal(buf_appendc(&b, 'x'), -E2BIG);
    assert_int_equal(buf_append(&b, "xy", 2), -E2BIG);
    assert_int_equal(buf_appendf(&b, "%d", 7), -E2BIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");   /* unchanged, still terminated */
    buf_reset(&b);
    assert_int_equal(buf_appendf(&b, "%s", "0123456789A"), -E2BIG);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_appendf(&b, "%s", "01234"), 0);
    assert_int_equal(buf_appendf(&b, "%s", "567890"), -E2BIG);   /* fits alloc, not cap */
    assert_string_equal(b.data, "01234");
    assert_true(b.alloc <= 11);   /* never reserves past the cap */
    buf_release(&b);
}

static void test_buf_appendf_growth(void **state)
{
    struct buf b = BUF_INIT;
    char expect[16];
    size_t off = 0, len;
    char *s;

    (void)state;
    for (int i = 0; i < 2000; i++)
        assert_int_equal(buf_appendf(&b, "%d,", i), 0);
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(expect, sizeof(expect), "%d,", i);

        assert_memory_equal(b.data + off, expect, (size_t)n);
        off += (size_t)n;
    }
    assert_int_equal(b.len, off);
    assert_int_equal(b.data[off], '\0');
    assert_int_equal(buf_appendf(&b, "%0500d", 1), 0);   /* one big jump */
    assert_int_equal(b.len, off + 500);
    s = buf_detach(&b, &len);
    assert_int_equal(len, off + 500);
    assert_int_equal(s[len - 1], '1');
    assert_int_equal(s[len], '\0');
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    free(s);
    s = buf_detach(&b, NULL);   /* empty buffer still gives a heap string */
    assert_string_equal(s, "");
    free(s);
}

/* buf_adopt takes a heap block as the contents (a GET's checked body is
 * handed to the response that way, without a copy); appending grows it. */
static void test_buf_adopt(void **state)
{
    struct buf b;
    char *block = xmalloc(6);
    (void)state;

    memcpy(block, "hello", 6);
    buf_init(&b, 0);
    assert_int_equal(buf_appends(&b, "old"), 0);
    buf_adopt(&b, block, 5);
    assert_ptr_equal(b.data, block);
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_appends(&b, ", world"), 0);
    assert_string_equal(b.data, "hello, world");
    buf_release(&b);
}

/* ---- hash --------------------------------------------------------------- */

static const struct {
    const char *in;
    const char *md5;
} md5_cases[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

static void test_md5_vectors(void **state)
{
    struct md5 *m = md5_new();

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(md5_cases); i++) {
        const char *in = md5_cases[i].in;
        size_t n = strlen(in);
        uint8_t raw[16];
        char hex[33];

        md5_hex(in, n, hex);
        assert_string_equal(hex, md5_cases[i].md5);
        /* incremental, byte by byte, on a reused context */
        md5_reset(m);
        for (size_t j = 0; j < n; j++)
            md5_update(m, in + j, 1);
        md5_final(m, raw);
        hex_encode(raw, 16, hex);
        assert_string_equal(hex, md5_cases[i].md5);
    }
    md5_free(m);
    md5_free(NULL);
}

static void test_crc32c(void **state)
{
    static const char msg[] = "The quick brown fox jumps over the lazy dog";
    uint8_t zeros[32], ones[32];
    size_t n = strlen(msg);
    uint32_t whole;

    (void)state;
    assert_int_equal(crc32c_update(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_update(0, "", 0), 0);
    memset(zeros, 0, sizeof(zeros));
    memset(ones, 0xff, sizeof(ones));
    assert_int_equal(crc32c_update(0, zeros, 32), 0x8A9136AAu);   /* RFC 3720 B.4 */
    assert_int_equal(crc32c_update(0, ones, 32), 0x62A8AB43u);
    whole = crc32c_update(0, msg, n);
    for (size_t split = 0; split <= n; split++)
        assert_int_equal(crc32c_update(crc32c_update(0, msg, split), msg + split, n - split),
                         whole);
}

static const struct {
    const char *digest;
    const char *key;   /* NULL: 20 bytes of 0x0b */
    const char *msg;
    const char *mac;
} hmac_cases[] = {
    /* RFC 2202 */
    {"sha1", NULL, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"sha1", "Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    /* RFC 4231 */
    {"sha256", NULL, "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"sha256", "Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"sha512", NULL, "Hi There",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"sha512", "Jefe", "what do ya want for nothing?",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
};

static void test_hmac_vectors(void **state)
{
    uint8_t key0b[20], out[64];
    char hex[129];

    (void)state;
    memset(key0b, 0x0b, sizeof(key0b));
    for (size_t i = 0; i < ARRAY_SIZE(hmac_cases); i++) {
        const void *key = hmac_cases[i].key ? (const void *)hmac_cases[i].key : key0b;
        size_t keylen = hmac_cases[i].key ? strlen(hmac_cases[i].key) : sizeof(key0b);
        int n = hmac_digest(hmac_cases[i].digest, key, keylen, hmac_cases[i].msg,
                            strlen(hmac_cases[i].msg), out);

        assert_int_equal(n, (int)strlen(hmac_cases[i].mac) / 2);
        hex_encode(out, (size_t)n, hex);
        assert_string_equal(hex, hmac_cases[i].mac);
    }
    assert_int_equal(hmac_digest("md5", "k", 1, "m", 1, out), -EINVAL);
    assert_int_equal(hmac_digest("sha256", "", 0, "", 0, out), 32);   /* empty key is valid */
}

/* The alphabet in order, and every other byte (padding, the URL-safe
 * "-_", NUL) rejected. */
static void test_base64_digit_value(void **state)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int valid = 0;

    (void)state;
    for (int i = 0; i < 64; i++)
        assert_int_equal(base64_digit_value(tab[i]), i);
    for (int c = -128; c < 128; c++)
        valid += base64_digit_value((char)c) >= 0;
    assert_int_equal(valid, 64);
    assert_int_equal(base64_digit_value('='), -1);
    assert_int_equal(base64_digit_value('-'), -1);
    assert_int_equal(base64_digit_value('_'), -1);
}

static void test_sha256_hex_random(void **state)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    uint8_t d[32], back[6], r1[32], r2[32];
    char hex[65];

    (void)state;
    sha256_raw("abc", 3, d);
    hex_encode(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    hex_encode(bytes, sizeof(bytes), hex);
    assert_string_equal(hex, "00017f80abff");
    assert_int_equal(hex_decode(hex, back, sizeof(back)), 0);
    assert_memory_equal(back, bytes, sizeof(bytes));
    assert_int_equal(hex_decode("00017F80ABFF", back, sizeof(back)), 0);
    assert_memory_equal(back, bytes, sizeof(bytes));
    assert_int_equal(hex_decode("0g", back, 1), -EINVAL);
    assert_int_equal(hex_decode("0", back, 1), -EINVAL);   /* too short */
    assert_int_equal(hex_decode(" 0", back, 1), -EINVAL);

    assert_true(bytes_equal_ct("abcd", "abcd", 4));
    assert_false(bytes_equal_ct("abcd", "abce", 4));
    assert_int_equal(random_bytes(r1, sizeof(r1)), 0);
    assert_int_equal(random_bytes(r2, sizeof(r2)), 0);
    assert_false(bytes_equal_ct(r1, r2, sizeof(r1)));
}

/* ---- timefmt ------------------------------------------------------------ */

static const struct {
    const char *in;
    int rc;
    int64_t ts;
} ts_parse_cases[] = {
    {"123", 0, 12300000},
    {"123.4", 0, 12340000},
    {"0000000123.45678", 0, 12345678},
    {"1700000000.12345", 0, 170000000012345LL},
    {"1700000000.12345_0000000000000001", 0, 170000000012345LL},
    {"1700000000.12345_00000000000000ff", 0, 170000000012345LL},
    {"1.000004", 0, 100000},   /* Swift rounds to 5 decimals */
    {"1.000005", 0, 100001},
    {"1.999999", 0, 200000},
    {".5", 0, 50000},
    {"0", 0, 0},
    {"", -EINVAL, 0},
    {".", -EINVAL, 0},
    {"abc", -EINVAL, 0},
    {"-1", -EINVAL, 0},
    {"+1", -EINVAL, 0},
    {"1.2.3", -EINVAL, 0},
    {"1 ", -EINVAL, 0},
    {"12a", -EINVAL, 0},
    {"1_", -EINVAL, 0},
    {"1_xyz", -EINVAL, 0},
    {"1_00000000000000001", -EINVAL, 0},   /* 17 hex digits */
    {"99999999999999999999", -EINVAL, 0},
};

static void test_ts_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ts_parse_cases); i++) {
        int64_t ts = -1;
        int rc = ts_parse(ts_parse_cases[i].in, &ts);

        if (rc != ts_parse_cases[i].rc)
            fail_msg("ts_parse(\"%s\") = %d", ts_parse_cases[i].in, rc);
        if (rc == 0 && ts != ts_parse_cases[i].ts)
            fail_msg("ts_parse(\"%s\") -> %lld", ts_parse_cases[i].in, (long long)ts);
    }
}

static void test_ts_format_roundtrip(void **state)
{
    static const int64_t values[] = {0, 1, 99999, 100000, 170000000012345LL,
                                     999999999999999LL};
    char s[TS_STRLEN];

    (void)state;
    ts_format(0, s);
    assert_string_equal(s, "0000000000.00000");
    ts_format(170000000000012LL, s);
    assert_string_equal(s, "1700000000.00012");
    ts_format(-5, s);
    assert_string_equal(s, "0000000000.00000");
    ts_format(INT64_MAX, s);
    assert_string_equal(s, "9999999999.99999");
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        int64_t back;

        ts_format(values[i], s);
        assert_int_equal(strlen(s), TS_STRLEN - 1);
        assert_int_equal(ts_parse(s, &back), 0);
        assert_int_equal(back, values[i]);
    }
    assert_int_equal(ts_to_time_ceil(100000), 1);
    assert_int_equal(ts_to_time_ceil(100001), 2);
    assert_int_equal(ts_to_time_ceil(170000000000001LL), 1700000001);
}

#define TS_THREADS 4
#define TS_CALLS 20000

static void *ts_worker(void *arg)
{
    int64_t *out = arg;

    for (int i = 0; i < TS_CALLS; i++)
        out[i] = ts_now();
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static void test_ts_now_unique(void **state)
{
    int64_t *all = calloc(TS_THREADS * TS_CALLS, sizeof(int64_t));
    pthread_t th[TS_THREADS];
    int64_t wall;

    (void)state;
    assert_non_null(all);
    wall = (int64_t)time(NULL) * TS_TICKS_PER_SEC;
    for (int t = 0; t < TS_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, ts_worker, all + t * TS_CALLS), 0);
    for (int t = 0; t < TS_THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < TS_THREADS; t++) {   /* increasing within each thread */
        for (int i = 1; i < TS_CALLS; i++)
            assert_true(all[t * TS_CALLS + i] > all[t * TS_CALLS + i - 1]);
    }
    qsort(all, TS_THREADS * TS_CALLS, sizeof(int64_t), cmp_i64);
    for (int i = 1; i < TS_THREADS * TS_CALLS; i++)
        assert_true(all[i] != all[i - 1]);   /* unique across threads */
    assert_true(all[0] >= wall);
    assert_true(all[0] < wall + 10 * TS_TICKS_PER_SEC);
    free(all);
}

static void test_http_date(void **state)
{
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", 0},     /* IMF-fixdate */
        {"Sunday, 06-Nov-94 08:49:37 GMT", 0},    /* RFC 850 */
        {"Sun Nov  6 08:49:37 1994", 0},          /* asctime */
        {"Sun Nov 06 08:49:37 1994", 0},
        {"Sun, 06 Nov 1994 08:49:37 UTC", -EINVAL},
        {"Sun, 06 Nov 1994 08:49:37 GMT junk", -EINVAL},
        {"Sun, 32 Nov 1994 08:49:37 GMT", -EINVAL},
        {"Sun, 06 Foo 1994 08:49:37 GMT", -EINVAL},
        {"Sun, 06 Nov 1994 24:49:37 GMT", -EINVAL},
        {"", -EINVAL},
        {"yesterday", -EINVAL},
        {"784111777", -EINVAL},
    };
    char s[HTTP_DATE_LEN];
    time_t t;

    (void)state;
    http_date(784111777, s);
    assert_string_equal(s, "Sun, 06 Nov 1994 08:49:37 GMT");
    /* The hand-made digits agree with strftime (C locale) across the range
     * timestamps take. */
    for (time_t u = 0; u < 10000000000LL; u += 86400 * 97 + 3607) {
        char want[64];
        struct tm tm;

        gmtime_r(&u, &tm);
        strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        http_date(u, s);
        assert_string_equal(s, want);
    }
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        t = 0;
        if (http_date_parse(cases[i].in, &t) != cases[i].rc)
            fail_msg("http_date_parse(\"%s\")", cases[i].in);
        if (cases[i].rc == 0 && t != 784111777)
            fail_msg("http_date_parse(\"%s\") -> %lld", cases[i].in, (long long)t);
    }
    assert_int_equal(http_date_parse("Thursday, 01-Jan-70 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(http_date_parse("Friday, 27-Nov-26 10:00:00 GMT", &t), 0);
    http_date(t, s);
    assert_string_equal(s, "Fri, 27 Nov 2026 10:00:00 GMT");
    assert_int_equal(http_date_parse(s, &t), 0);   /* round trip */
    http_date(t, s);
    assert_string_equal(s, "Fri, 27 Nov 2026 10:00:00 GMT");
}

static void test_iso_time(void **state)
{
    char s[ISO_TIME_LEN];
    time_t t;

    (void)state;
    assert_int_equal(http_date_parse("Fri, 27 Nov 2026 10:00:00 GMT", &t), 0);
    iso_time((int64_t)t * TS_TICKS_PER_SEC + 12345, s);
    assert_string_equal(s, "2026-11-27T10:00:00.123450");
    iso_time(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00.000000");
    assert_true(mono_ns() > 0);
}

/* ---- kv ----------------------------------------------------------------- */

static void test_kv_basic(void **state)
{
    struct kv_list l = KV_LIST_INIT, c;

    (void)state;
    kv_set(&l, "X-Object-Meta-Color", "red");
    kv_set(&l, "x-object-meta-color", "blue");   /* replaces, keeps first key */
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].key, "X-Object-Meta-Color");
    assert_string_equal(kv_get(&l, "X-OBJECT-META-COLOR"), "blue");
    kv_add(&l, "Dup", "1");
    kv_add(&l, "dup", "2");
    assert_int_equal(l.n, 3);
    assert_string_equal(kv_get(&l, "DUP"), "1");   /* first match */
    assert_null(kv_get(&l, "missing"));
    kv_init(&c);
    kv_copy(&c, &l);
    assert_int_equal(kv_del(&l, "dup"), 2);
    assert_int_equal(kv_del(&l, "dup"), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(c.n, 3);   /* the copy is independent */
    assert_string_equal(c.items[2].value, "2");
    kv_release(&l);
    kv_release(&c);
    assert_int_equal(l.n, 0);
}

static void test_kv_json_roundtrip(void **state)
{
    static const char *const pairs[][2] = {
        {"Content-Type", "text/plain"},
        {"X-Object-Meta-Quote", "say \"hi\"\\ \t\n"},
        {"X-Object-Meta-Utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"X-Object-Meta-Latin1", "caf\xe9 \xff\x80"},           /* not UTF-8 */
        {"X-Object-Meta-Esc", "\xf4\x8f\xbc\x80"},               /* U+10FF00 itself */
        {"X-Object-Meta-\xe9", "key is latin-1"},
        {"Empty", ""},
    };
    struct kv_list l = KV_LIST_INIT, back = KV_LIST_INIT;
    char *json;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(pairs); i++)
        kv_add(&l, pairs[i][0], pairs[i][1]);
    json = kv_to_json(&l);
    assert_non_null(json);
    assert_int_equal(kv_from_json(&back, json, strlen(json)), 0);
    assert_int_equal(back.n, l.n);
    for (size_t i = 0; i < l.n; i++) {   /* same bytes, same order */
        assert_string_equal(back.items[i].key, pairs[i][0]);
        assert_string_equal(back.items[i].value, pairs[i][1]);
    }
    free(json);
    kv_release(&back);
    json = kv_to_json(&back);
    assert_string_equal(json, "{}");
    free(json);
    kv_release(&l);
}

static void test_kv_json_bad(void **state)
{
    static const char *const bad[] = {
        "", "not json", "[]", "[\"a\"]", "\"str\"", "42", "null",
        "{\"a\": 1}", "{\"a\": null}", "{\"a\": [\"b\"]}", "{\"a\": {}}",
        "{\"a\": \"b\"", "{\"a\": \"b\\u0000c\"}",
    };
    struct kv_list l = KV_LIST_INIT;

    (void)state;
    kv_add(&l, "keep", "me");
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (kv_from_json(&l, bad[i], strlen(bad[i])) != -EINVAL)
            fail_msg("kv_from_json accepted %s", bad[i]);
        assert_int_equal(l.n, 1);   /* entries from before are kept, none added */
    }
    /* a partly good object adds nothing */
    {
        static const char partly[] = "{\"x\": \"1\", \"y\": 2}";

        assert_int_equal(kv_from_json(&l, partly, strlen(partly)), -EINVAL);
    }
    assert_int_equal(l.n, 1);
    assert_string_equal(kv_get(&l, "keep"), "me");
    /* length is honoured: trailing bytes past len are not read */
    assert_int_equal(kv_from_json(&l, "{\"x\": \"1\"}garbage", 10), 0);
    assert_string_equal(kv_get(&l, "x"), "1");
    kv_release(&l);
}

/* ---- log and util ------------------------------------------------------- */

static void test_log_quote(void **state)
{
    char small[8], out[64];

    (void)state;
    assert_string_equal(log_quote(out, sizeof(out), "plain"), "\"plain\"");
    assert_string_equal(log_quote(out, sizeof(out), "a \"b\" \\c\n\x01"),
                        "\"a \\\"b\\\" \\\\c\\n\\x01\"");
    assert_string_equal(log_quote(out, sizeof(out), NULL), "\"\"");
    assert_string_equal(log_quote(small, sizeof(small), "abcdefghij"), "\"abcde\"");
    assert_string_equal(log_quote(small, sizeof(small), "abcd\"e"), "\"abcd\"");   /* no half escape */
    assert_string_equal(log_quote(small, 2, "abc"), "");
}

static void test_log_write_one_line(void **state)
{
    enum log_level lvl, saved = log_min_level;
    int fds[2], saved_fd;
    char line[512];
    ssize_t n;

    (void)state;
    assert_int_equal(log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, LOG_DEBUG);
    assert_int_equal(log_level_parse("WARN", &lvl), 0);
    assert_int_equal(lvl, LOG_WARN);
    assert_int_equal(log_level_parse("off", &lvl), 0);
    assert_int_equal(lvl, LOG_OFF);
    assert_int_equal(log_level_parse("loud", &lvl), -EINVAL);

    assert_int_equal(pipe(fds), 0);
    saved_fd = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    log_min_level = LOG_INFO;
    log_debug("msg=hidden");
    log_warn("msg=\"disk slow\" path=%s", "/dg1");
    dup2(saved_fd, STDERR_FILENO);
    close(saved_fd);
    close(fds[1]);
    n = read(fds[0], line, sizeof(line) - 1);
    close(fds[0]);
    log_min_level = saved;
    assert_true(n > 0);
    line[n] = '\0';
    /* time=2026-11-27T10:00:00.123Z level=warn ... */
    assert_int_equal(strncmp(line, "time=", 5), 0);
    assert_int_equal(line[9], '-');
    assert_int_equal(line[15], 'T');
    assert_int_equal(line[24], '.');
    assert_int_equal(line[28], 'Z');
    assert_string_equal(line + 29, " level=warn msg=\"disk slow\" path=/dg1\n");
}

static void test_util(void **state)
{
    char *s;

    (void)state;
    assert_string_equal(err_str(-ENOENT), "No such file or directory");
    assert_string_equal(err_str(ENOENT), "No such file or directory");
    assert_string_equal(err_str(ERR_QUORUM), "fewer than a quorum of replicas succeeded");
    assert_non_null(err_str(-99999));
    s = xasprintf("%s-%d", "a", 42);
    assert_string_equal(s, "a-42");
    free(s);
    s = xstrndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
}

/* ---- config ------------------------------------------------------------- */

/* Write text to a new temp file; the caller unlinks and frees the path. */
static char *write_temp(const char *text)
{
    char *path = xstrdup("/tmp/swiftlet-test-conf-XXXXXX");
    int fd = mkstemp(path);
    size_t n = strlen(text);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_config_defaults(void **state)
{
    struct config c;

    (void)state;
    config_init(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.workers, 64);
    assert_string_equal(c.log_level, "info");
    assert_true(c.access_log);
    assert_int_equal(c.token_ttl, 86400);
    assert_string_equal(c.data_dir, "");
    assert_int_equal(c.n_disk_groups, 0);
    assert_int_equal(c.part_power, 10);
    assert_string_equal(c.ring_file, "");
    assert_string_equal(c.io_mode, "auto");
    assert_true(c.fsync);
    assert_int_equal(c.db_cache, 1024);
    assert_int_equal(c.max_file_size, 5368709122ULL);
    assert_int_equal(c.max_meta_name_length, 128);
    assert_int_equal(c.max_meta_value_length, 256);
    assert_int_equal(c.max_meta_count, 90);
    assert_int_equal(c.max_meta_overall_size, 4096);
    assert_int_equal(c.max_header_size, 8192);
    assert_int_equal(c.max_object_name_length, 1024);
    assert_int_equal(c.container_listing_limit, 10000);
    assert_int_equal(c.account_listing_limit, 10000);
    assert_int_equal(c.max_account_name_length, 256);
    assert_int_equal(c.max_container_name_length, 256);
    assert_int_equal(c.extra_header_count, 0);
    assert_int_equal(c.n_users, 0);
    assert_string_equal(c.reseller_prefix, "AUTH_");
    config_release(&c);
}

static const char good_ini[] =
    "; comment\n"
    "[server]\n"
    "listen = 127.0.0.1:9999\n"
    "threads = 4\n"
    "access_log = no\n"
    "log_level = debug\n"
    "\n"
    "[storage]\n"
    "disk_group = /tmp/dg1\n"
    "disk_group = /tmp/dg2\n"
    "disk_group = /tmp/dg3\n"
    "part_power = 12\n"
    "io = sync\n"
    "fsync = false\n"
    "[swift-constraints]\n"
    "max_file_size = 10737418240\n"
    "max_meta_count = 100\n"
    "[auth]\n"
    "user = test:tester:testing:admin\n"
    "user = acct:bob:s3cr:et\n"
    "reseller_prefix = KEY_\n";

static void test_config_load(void **state)
{
    char *path = write_temp(good_ini);
    struct config c;
    char err[256] = "";

    (void)state;
    config_init(&c);
    if (config_load(&c, path, err, sizeof(err)) != 0)
        fail_msg("config_load: %s", err);
    assert_string_equal(c.listen, "127.0.0.1:9999");
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.workers, 64);   /* untouched keys keep defaults */
    assert_false(c.access_log);
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.n_disk_groups, 3);
    assert_string_equal(c.disk_groups[0], "/tmp/dg1");
    assert_string_equal(c.disk_groups[2], "/tmp/dg3");
    assert_int_equal(c.part_power, 12);
    assert_string_equal(c.io_mode, "sync");
    assert_false(c.fsync);
    assert_int_equal(c.max_file_size, 10737418240ULL);
    assert_int_equal(c.max_meta_count, 100);
    assert_int_equal(c.n_users, 2);
    assert_string_equal(c.users[0].account, "test");
    assert_string_equal(c.users[0].user, "tester");
    assert_string_equal(c.users[0].key, "testing");
    assert_true(c.users[0].admin);
    assert_string_equal(c.users[1].account, "acct");
    assert_string_equal(c.users[1].user, "bob");
    assert_string_equal(c.users[1].key, "s3cr:et");   /* ':' inside a key */
    assert_false(c.users[1].admin);
    assert_string_equal(c.reseller_prefix, "KEY_");
    config_release(&c);
    unlink(path);
    free(path);
}

static const struct {
    const char *ini;
    const char *msg;   /* expected after "PATH:" */
} bad_ini_cases[] = {
    {"[server]\nthreads = 2\nbogus = 1\n", "3: unknown key 'bogus' in [server]"},
    {"[nosuch]\nkey = 1\n", "2: unknown key 'key' in [nosuch]"},
    {"listen = x\n", "1: unknown key 'listen' in []"},
    {"[storage]\npart_power = 3\n", "2: invalid value '3' for key 'part_power'"},
    {"[storage]\npart_power = 21\n", "2: invalid value '21'"},
    {"[storage]\n\n\npart_power = ten\n", "4: invalid value 'ten'"},
    {"[storage]\npart_power = -5\n", "2: invalid value '-5'"},
    {"[server]\nthreads = 99999999999999999999999\n", "2: invalid value"},
    {"[server]\nworkers = 0\n", "2: invalid value '0' for key 'workers' in [server]"},
    {"[storage]\nio = fast\n", "2: invalid value 'fast' for key 'io' in [storage]: expected one of"},
    {"[server]\nlog_level = chatty\n", "2: invalid value 'chatty'"},
    {"[server]\naccess_log = maybe\n", "2: invalid value 'maybe' for key 'access_log'"},
    {"[storage]\ndisk_group =\n", "2: empty value for key 'disk_group'"},
    {"[auth]\nuser = onlyaccount:user\n", "2: invalid value for key 'user' in [auth]"},
    {"[server]\nthreads 4\n", "2: syntax error"},
    {"[server\n", "1: syntax error"},
    {"[server]\nthreads = 1\nnope = 1\nalso = 2\n", "3: unknown key 'nope'"},   /* first only */
};

static void test_config_load_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_ini_cases); i++) {
        char *path = write_temp(bad_ini_cases[i].ini);
        char err[512] = "", *want = xasprintf("%s:%s", path, bad_ini_cases[i].msg);
        struct config c;
        int rc;

        config_init(&c);
        rc = config_load(&c, path, err, sizeof(err));
        if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: rc %d err \"%s\", want \"%s\"", i, rc, err, want);
        config_release(&c);
        unlink(path);
        free(path);
        free(want);
    }
}

/* inih reads lines into a fixed buffer: a longer line is an error at its
 * own line, not a silently cut value, and later line numbers stay right. */
static void test_config_long_lines(void **state)
{
    struct buf ini = BUF_INIT;
    char err[512] = "", *path, *want;
    struct config c;
    int rc;

    (void)state;
    assert_int_equal(buf_appends(&ini, "[storage]\ndisk_group = /tmp/"), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(buf_appendc(&ini, 'a'), 0);
    assert_int_equal(buf_appends(&ini, "\npart_power = 11\n"), 0);
    path = write_temp(ini.data);
    config_init(&c);
    rc = config_load(&c, path, err, sizeof(err));
    want = xasprintf("%s:2: line longer than", path);
    assert_int_equal(rc, -EINVAL);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("err \"%s\"", err);
    assert_int_equal(c.n_disk_groups, 0);   /* nothing truncated was applied */
    config_release(&c);
    unlink(path);
    free(path);
    free(want);

    /* a long-ish line that fits, last line without a newline */
    buf_reset(&ini);
    assert_int_equal(buf_appends(&ini, "[storage]\ndisk_group = /"), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(buf_appendc(&ini, 'b'), 0);
    assert_int_equal(buf_appends(&ini, "\npart_power = 11"), 0);
    path = write_temp(ini.data);
    config_init(&c);
    if (config_load(&c, path, err, sizeof(err)) != 0)
        fail_msg("config_load: %s", err);
    assert_int_equal(c.n_disk_groups, 1);
    assert_int_equal(strlen(c.disk_groups[0]), 151);
    assert_int_equal(c.part_power, 11);
    config_release(&c);
    unlink(path);
    free(path);
    buf_release(&ini);
}

static void test_config_missing_file_and_set(void **state)
{
    struct config c;
    char err[256] = "";

    (void)state;
    config_init(&c);
    assert_int_equal(config_load(&c, "/tmp/swiftlet-no-such-file.conf", err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/tmp/swiftlet-no-such-file.conf"));
    assert_int_equal(config_set(&c, "server", "threads", "8", err, sizeof(err)), 0);
    assert_int_equal(c.threads, 8);
    assert_int_equal(config_set(&c, "storage", "disk_group", "/a", err, sizeof(err)), 0);
    assert_int_equal(config_set(&c, "storage", "disk_group", "/b", err, sizeof(err)), 0);
    assert_int_equal(c.n_disk_groups, 2);
    assert_int_equal(config_set(&c, "server", "nope", "1", err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown key 'nope' in [server]");
    assert_int_equal(config_set(&c, "storage", "part_power", "30", err, sizeof(err)), -EINVAL);
    assert_int_equal(c.part_power, 10);   /* a rejected value changes nothing */
    assert_int_equal(config_set(&c, "auth", "user", "bad", err, sizeof(err)), -EINVAL);
    assert_null(strstr(err, "bad"));   /* keys are never echoed */
    config_release(&c);
}

static void test_config_users(void **state)
{
    static const struct {
        const char *spec;
        int rc;
        const char *account, *user, *key;
        bool admin;
    } cases[] = {
        {"a:u:k", 0, "a", "u", "k", false},
        {"a:u:k:admin", 0, "a", "u", "k", true},
        {"a:u:k:x", 0, "a", "u", "k:x", false},
        {"a:u::admin", 0, "a", "u", ":admin", false},   /* the key is ":admin" */
        {"a:u:admin", 0, "a", "u", "admin", false},
        {"a:u", -EINVAL, NULL, NULL, NULL, false},
        {"a::k", -EINVAL, NULL, NULL, NULL, false},
        {":u:k", -EINVAL, NULL, NULL, NULL, false},
        {"a:u:", -EINVAL, NULL, NULL, NULL, false},
        {"", -EINVAL, NULL, NULL, NULL, false},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct config c;

        config_init(&c);
        assert_int_equal(config_add_user(&c, cases[i].spec), cases[i].rc);
        if (cases[i].rc == 0) {
            assert_int_equal(c.n_users, 1);
            assert_string_equal(c.users[0].account, cases[i].account);
            assert_string_equal(c.users[0].user, cases[i].user);
            assert_string_equal(c.users[0].key, cases[i].key);
            assert_int_equal(c.users[0].admin, cases[i].admin);
        } else {
            assert_int_equal(c.n_users, 0);
        }
        config_release(&c);
    }
}

static void test_config_user_replace(void **state)
{
    struct config c;

    (void)state;
    config_init(&c);
    assert_int_equal(config_add_user(&c, "a:u:k1"), 0);
    assert_int_equal(config_add_user(&c, "a:v:k2"), 0);
    assert_int_equal(config_add_user(&c, "a:u:k3:admin"), 0);   /* same a:u replaces */
    assert_int_equal(c.n_users, 2);
    assert_string_equal(c.users[0].key, "k3");
    assert_true(c.users[0].admin);
    config_release(&c);
}

static char *dump_to_string(const struct config *c)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);

    assert_non_null(f);
    config_dump(c, f);
    fclose(f);
    return s;
}

static void test_config_dump_roundtrip(void **state)
{
    struct config a, b, d;
    char err[256] = "", *ini = write_temp(good_ini), *dump1, *dump2, *path;

    (void)state;
    config_init(&a);
    assert_int_equal(config_load(&a, ini, err, sizeof(err)), 0);
    dump1 = dump_to_string(&a);
    path = write_temp(dump1);
    config_init(&b);
    if (config_load(&b, path, err, sizeof(err)) != 0)
        fail_msg("dump does not load back: %s\n%s", err, dump1);
    dump2 = dump_to_string(&b);
    assert_string_equal(dump1, dump2);
    assert_int_equal(b.n_disk_groups, 3);
    assert_int_equal(b.n_users, 2);
    assert_string_equal(b.users[1].key, "s3cr:et");
    assert_false(b.fsync);
    free(dump2);
    unlink(path);
    free(path);

    /* the defaults dump and load back too (no users, no disk groups) */
    config_init(&d);
    free(dump1);
    dump1 = dump_to_string(&d);
    path = write_temp(dump1);
    config_release(&d);
    config_init(&d);
    assert_int_equal(config_load(&d, path, err, sizeof(err)), 0);
    dump2 = dump_to_string(&d);
    assert_string_equal(dump1, dump2);
    free(dump1);
    free(dump2);
    unlink(path);
    free(path);
    unlink(ini);
    free(ini);
    config_release(&a);
    config_release(&b);
    config_release(&d);
}

static void test_config_docs(void **state)
{
    static const char *const must[] = {
        "## [server]", "## [storage]", "## [swift-constraints]", "## [auth]",
        "| key | default | meaning |", "| `listen` | `127.0.0.1:8080` |",
        "| `part_power` | `10` |", "| `max_file_size` | `5368709122` |",
        "| `disk_group` |", "| `user` |", "| `reseller_prefix` | `AUTH_` |",
    };
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);

    (void)state;
    assert_non_null(f);
    config_write_docs(f);
    fclose(f);
    for (size_t i = 0; i < ARRAY_SIZE(must); i++) {
        if (!strstr(s, must[i]))
            fail_msg("docs lack \"%s\"", must[i]);
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_empty_and_nul),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_buf_appendf_growth),
        cmocka_unit_test(test_buf_adopt),
        cmocka_unit_test(test_md5_vectors),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_sha256_hex_random),
        cmocka_unit_test(test_base64_digit_value),
        cmocka_unit_test(test_ts_parse),
        cmocka_unit_test(test_ts_format_roundtrip),
        cmocka_unit_test(test_ts_now_unique),
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_iso_time),
        cmocka_unit_test(test_kv_basic),
        cmocka_unit_test(test_kv_json_roundtrip),
        cmocka_unit_test(test_kv_json_bad),
        cmocka_unit_test(test_log_quote),
        cmocka_unit_test(test_log_write_one_line),
        cmocka_unit_test(test_util),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_load),
        cmocka_unit_test(test_config_load_errors),
        cmocka_unit_test(test_config_long_lines),
        cmocka_unit_test(test_config_missing_file_and_set),
        cmocka_unit_test(test_config_users),
        cmocka_unit_test(test_config_user_replace),
        cmocka_unit_test(test_config_dump_roundtrip),
        cmocka_unit_test(test_config_docs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
