/* tests/unit/test_tempurl.c: the pure parts of TempURL (server/tempurl.h):
 * signature forms, expiry forms, HMAC matching, Content-Disposition, and
 * which responses keep the Temp-URL-Key headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/hash.h"
#include "../../server/tempurl.h"

static void test_parse_sig(void **state)
{
    (void)state;
    char digest[8], hex[129];
    /* HMAC-SHA256("k", "m") in hex and base64 forms */
    uint8_t mac[64];
    char want[129];
    assert_int_equal(hmac_digest("sha256", "k", 1, "m", 1, mac), 32);
    hex_encode(mac, 32, want);

    static const struct {
        const char *sig;
        int rc;
        const char *digest;
    } cases[] = {
        {"da39a3ee5e6b4b0d3255bfef95601890afd80709", 0, "sha1"},
        {"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", 0, "sha1"},
        {"da39a3ee5e6b4b0d3255bfef95601890afd8070", -EINVAL, NULL},
        {"za39a3ee5e6b4b0d3255bfef95601890afd80709", -EINVAL, NULL},
        {"", -EINVAL, NULL},
        {"md5:AAAA", -EINVAL, NULL},
        {"SHA1:AAAA", -EINVAL, NULL},
        {"sha1:A", -EINVAL, NULL},          /* 4n+1 characters */
        {"sha1:AA=A", -EINVAL, NULL},       /* '=' inside */
        {"sha1:AA!A", -EINVAL, NULL},
        {"sha1:", 0, "sha1"},               /* decodes to nothing: never matches */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(tempurl_parse_sig(cases[i].sig, digest, hex), cases[i].rc);
        if (cases[i].rc == 0)
            assert_string_equal(digest, cases[i].digest);
    }
    /* 128 hex digits is sha512 */
    char h512[129];
    memset(h512, 'a', 128);
    h512[128] = '\0';
    assert_int_equal(tempurl_parse_sig(h512, digest, hex), 0);
    assert_string_equal(digest, "sha512");

    /* standard and URL-safe base64, with and without padding */
    char b64[64], sig[80];
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        uint32_t v = (uint32_t)mac[i] << 16 | (i + 1 < 32 ? (uint32_t)mac[i + 1] << 8 : 0) |
                     (i + 2 < 32 ? mac[i + 2] : 0);
        b64[o++] = tbl[v >> 18 & 63];
        b64[o++] = tbl[v >> 12 & 63];
        b64[o++] = i + 1 < 32 ? tbl[v >> 6 & 63] : '=';
        b64[o++] = i + 2 < 32 ? tbl[v & 63] : '=';
    }
    b64[o] = '\0';
    snprintf(sig, sizeof(sig), "sha256:%s", b64);
    assert_int_equal(tempurl_parse_sig(sig, digest, hex), 0);
    assert_string_equal(hex, want);
    sig[strlen(sig) - 1] = '\0';   /* padding dropped */
    assert_int_equal(tempurl_parse_sig(sig, digest, hex), 0);
    assert_string_equal(hex, want);
    for (char *p = sig; *p; p++)   /* URL-safe alphabet */
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    assert_int_equal(tempurl_parse_sig(sig, digest, hex), 0);
    assert_string_equal(hex, want);
}

static void test_parse_expires(void **state)
{
    (void)state;
    assert_int_equal(tempurl_parse_expires("1323479485"), 1323479485);
    assert_int_equal(tempurl_parse_expires(" +1_323_479_485 "), 1323479485);
    assert_int_equal(tempurl_parse_expires("2011-12-10T01:11:25Z"), 1323479485);
    assert_int_equal(tempurl_parse_expires("2011-12-10T01:11:25"), 0);
    assert_int_equal(tempurl_parse_expires("2011-12-10T01:11:25Zx"), 0);
    assert_int_equal(tempurl_parse_expires("soon"), 0);
    assert_int_equal(tempurl_parse_expires(""), 0);
    assert_int_equal(tempurl_parse_expires("-5"), -5);
}

static void test_hmac_match(void **state)
{
    (void)state;
    const char *msg = "GET\n1323479485\n/v1/AUTH_account/container/object";
    const char *keys[] = {"other", "mykey"};
    uint8_t mac[64];
    char hex[129];
    int n = hmac_digest("sha1", "mykey", 5, msg, strlen(msg), mac);
    hex_encode(mac, (size_t)n, hex);
    assert_true(tempurl_hmac_match("sha1", keys, 2, msg, strlen(msg), hex));
    assert_false(tempurl_hmac_match("sha1", keys, 1, msg, strlen(msg), hex));
    assert_false(tempurl_hmac_match("sha256", keys, 2, msg, strlen(msg), hex));
    hex[39] = hex[39] == '0' ? '1' : '0';
    assert_false(tempurl_hmac_match("sha1", keys, 2, msg, strlen(msg), hex));
    hex[38] = '\0';
    assert_false(tempurl_hmac_match("sha1", keys, 2, msg, strlen(msg), hex));
}

static void test_disposition(void **state)
{
    (void)state;
    char *d = tempurl_disposition("attachment", "my file \xc3\xa4/x~.pdf");
    assert_string_equal(d, "attachment; filename=\"my file %C3%A4/x~.pdf\"; "
                           "filename*=UTF-8''my%20file%20%C3%A4/x~.pdf");
    free(d);
    d = tempurl_disposition("inline", "a\"b\n");
    assert_string_equal(d, "inline; filename=\"a%22b%0A\"; filename*=UTF-8''a%22b%0A");
    free(d);
}

/* The key headers stay for the account's owner only. */
static void test_owner_filter(void **state)
{
    (void)state;
    static const struct {
        bool authenticated, admin, reseller;
        const char *account;
        bool keeps;
    } cases[] = {
        {true, true, false, "AUTH_test", true},     /* the account's admin */
        {true, false, true, "AUTH_x", true},        /* a reseller admin */
        {true, false, false, "AUTH_test", false},   /* a user of the account */
        {true, true, false, "AUTH_other", false},   /* another account's admin */
        {false, false, false, NULL, false},         /* anonymous (ACL, TempURL) */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct request r;
        memset(&r, 0, sizeof(r));
        r.account = (char *)"AUTH_test";
        r.status = 204;
        r.who.authenticated = cases[i].authenticated;
        r.who.admin = cases[i].admin;
        r.who.reseller = cases[i].reseller;
        r.who.account = (char *)cases[i].account;
        kv_init(&r.resp_headers);
        kv_add(&r.resp_headers, "X-Account-Meta-Temp-Url-Key", "a");
        kv_add(&r.resp_headers, "X-Container-Meta-Temp-Url-Key-2", "b");
        kv_add(&r.resp_headers, "X-Container-Meta-Color", "c");
        tempurl_filter_response(&r);
        assert_int_equal(tempurl_owner(&r), cases[i].keeps);
        assert_int_equal(kv_get(&r.resp_headers, "X-Account-Meta-Temp-Url-Key") != NULL,
                         cases[i].keeps);
        assert_int_equal(kv_get(&r.resp_headers, "X-Container-Meta-Temp-Url-Key-2") != NULL,
                         cases[i].keeps);
        assert_string_equal(kv_get(&r.resp_headers, "X-Container-Meta-Color"), "c");
        kv_release(&r.resp_headers);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sig),  cmocka_unit_test(test_parse_expires),
        cmocka_unit_test(test_hmac_match), cmocka_unit_test(test_disposition),
        cmocka_unit_test(test_owner_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
