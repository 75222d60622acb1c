/* common/hash.c: This file implements MD5, HMAC, SHA-256, CRC32C, random
 * bytes, hex and base64 digits (hash.h). It is the only file that includes
 * OpenSSL (EVP interfaces only) and ISA-L; their 1/0 conventions end here. */
#include "hash.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <isa-l/crc.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct md5 {
    EVP_MD_CTX *ctx;
};

/* Fetched once: OpenSSL 3's implicit fetch on every init is a visible cost
 * for the per-request MD5. */
static EVP_MD *md5_md;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_algorithms(void)
{
    md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!md5_md || !sha256_md || !hmac_mac) {
        fprintf(stderr, "fatal: openssl lacks md5, sha256 or hmac\n");
        abort();
    }
}

static void fetch(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
}

/* An OpenSSL failure on these in-memory operations means no memory or a
 * broken library: neither is recoverable. */
static void check_ossl(int ok, const char *what)
{
    if (ok != 1) {
        fprintf(stderr, "fatal: openssl %s failed\n", what);
        abort();
    }
}

struct md5 *md5_new(void)
{
    struct md5 *m = xmalloc(sizeof(*m));

    fetch();
    m->ctx = EVP_MD_CTX_new();
    if (!m->ctx)
        check_ossl(0, "EVP_MD_CTX_new");
    md5_reset(m);
    return m;
}

void md5_reset(struct md5 *m)
{
    check_ossl(EVP_DigestInit_ex(m->ctx, md5_md, NULL), "md5 init");
}

void md5_update(struct md5 *m, const void *p, size_t n)
{
    check_ossl(EVP_DigestUpdate(m->ctx, p, n), "md5 update");
}

void md5_final(struct md5 *m, uint8_t out[16])
{
    check_ossl(EVP_DigestFinal_ex(m->ctx, out, NULL), "md5 final");
}

void md5_free(struct md5 *m)
{
    if (!m)
        return;
    EVP_MD_CTX_free(m->ctx);
    free(m);
}

void md5_raw(const void *p, size_t n, uint8_t out[16])
{
    fetch();
    check_ossl(EVP_Digest(p, n, out, NULL, md5_md, NULL), "md5");
}

void md5_hex(const void *p, size_t n, char out[33])
{
    uint8_t d[16];

    md5_raw(p, n, d);
    hex_encode(d, sizeof(d), out);
}

void sha256_raw(const void *p, size_t n, uint8_t out[32])
{
    fetch();
    check_ossl(EVP_Digest(p, n, out, NULL, sha256_md, NULL), "sha256");
}

/* ISA-L's crc32_iscsi works on the raw register (no pre/post inversion) and
 * takes an int length; the standard CRC32C inverts on entry and exit, which
 * is also what makes update(update(0, a), b) == update(0, a + b). */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n)
{
    unsigned char *q = (unsigned char *)(uintptr_t)p;   /* ISA-L does not write */
    unsigned int reg = ~crc;

    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;

        reg = crc32_iscsi(q, chunk, reg);
        q += chunk;
        n -= (size_t)chunk;
    }
    return ~reg;
}

static const char *hmac_digest_name(const char *digest, int *len)
{
    if (strcasecmp(digest, "sha1") == 0) {
        *len = 20;
        return "SHA1";
    }
    if (strcasecmp(digest, "sha256") == 0) {
        *len = 32;
        return "SHA256";
    }
    if (strcasecmp(digest, "sha512") == 0) {
        *len = 64;
        return "SHA512";
    }
    return NULL;
}

int hmac_digest(const char *digest, const void *key, size_t keylen, const void *msg,
                size_t msglen, uint8_t out[64])
{
    static const uint8_t empty_key[1];
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx;
    const char *name;
    size_t outlen = 0;
    int len, ok;

    name = hmac_digest_name(digest, &len);
    if (!name)
        return -EINVAL;
    fetch();
    ctx = EVP_MAC_CTX_new(hmac_mac);
    if (!ctx)
        check_ossl(0, "EVP_MAC_CTX_new");
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0);
    params[1] = OSSL_PARAM_construct_end();
    /* A NULL key would mean "keep the previous key"; an empty one is valid. */
    ok = EVP_MAC_init(ctx, keylen ? key : empty_key, keylen, params) == 1 &&
         EVP_MAC_update(ctx, msg, msglen) == 1 && EVP_MAC_final(ctx, out, &outlen, 64) == 1;
    EVP_MAC_CTX_free(ctx);
    check_ossl(ok && outlen == (size_t)len, "hmac");
    return len;
}

int pbkdf2_sha256(const void *secret, size_t secretlen, const uint8_t *salt, size_t saltlen,
                  unsigned iterations, uint8_t *out, size_t outlen)
{
    static const char empty[1] = "";

    fetch();
    if (iterations == 0 || secretlen > INT_MAX || saltlen > INT_MAX || outlen > INT_MAX)
        return -EINVAL;
    /* PKCS5_PBKDF2_HMAC is OpenSSL's one-call PBKDF2 (not deprecated). */
    check_ossl(PKCS5_PBKDF2_HMAC(secretlen ? secret : empty, (int)secretlen, salt, (int)saltlen,
                                 (int)MIN(iterations, (unsigned)INT_MAX), sha256_md, (int)outlen,
                                 out),
               "pbkdf2");
    return 0;
}

bool bytes_equal_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int random_bytes(void *p, size_t n)
{
    unsigned char *q = p;

    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;

        if (RAND_bytes(q, chunk) != 1)
            return -EIO;
        q += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    out[2 * n] = '\0';
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int base64_digit_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Reads exactly 2n characters (either case); what follows them is not
 * looked at, so a caller wanting an exact match checks hex[2n] itself. On
 * failure out may be partly written. */
int hex_decode(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit_value(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_digit_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
