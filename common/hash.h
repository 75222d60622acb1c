/* common/hash.h: MD5, HMAC, SHA-256, CRC32C, random bytes, hex and base64 digits.
 *
 * common/hash.c is the only file that talks to OpenSSL (EVP interfaces only;
 * the legacy MD5_* calls are deprecated in OpenSSL 3) and to ISA-L. */
#ifndef SWIFTLET_COMMON_HASH_H
#define SWIFTLET_COMMON_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Incremental MD5 (ETags). */
struct md5;
struct md5 *md5_new(void);
void md5_update(struct md5 *m, const void *p, size_t n);
/* Write the digest; the context can be reused only after md5_reset. */
void md5_final(struct md5 *m, uint8_t out[16]);
void md5_reset(struct md5 *m);
void md5_free(struct md5 *m);                     /* NULL is a no-op */
/* One-shot MD5 of p as 32 lower-case hex digits + NUL. */
void md5_hex(const void *p, size_t n, char out[33]);
void md5_raw(const void *p, size_t n, uint8_t out[16]);

/* CRC32C (Castagnoli) as iSCSI computes it; start with crc = 0. */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);

/* HMAC with "sha1", "sha256" or "sha512"; returns the digest length
 * (20/32/64) or -EINVAL for an unknown digest name. out must hold 64 bytes. */
int hmac_digest(const char *digest, const void *key, size_t keylen, const void *msg,
                size_t msglen, uint8_t out[64]) WUR;
void sha256_raw(const void *p, size_t n, uint8_t out[32]);

/* PBKDF2-HMAC-SHA256 of secret with salt (stored key hashes); fills outlen
 * bytes. 0 or -EINVAL (zero iterations, absurd lengths). */
int pbkdf2_sha256(const void *secret, size_t secretlen, const uint8_t *salt, size_t saltlen,
                  unsigned iterations, uint8_t *out, size_t outlen) WUR;

/* Constant-time comparison of two equal-length byte strings. */
bool bytes_equal_ct(const void *a, const void *b, size_t n);

/* Cryptographically random bytes; 0 or -EIO. */
int random_bytes(void *p, size_t n) WUR;

/* Lower-case hex of n bytes into out (2n + 1 bytes with the NUL). */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);
/* The value of one base64 digit (RFC 4648's standard alphabet, "+/"),
 * or -1 ('=' included: padding is the caller's business). */
int base64_digit_value(char c);
/* Decode 2n hex digits into n bytes; 0 or -EINVAL. */
int hex_decode(const char *hex, uint8_t *out, size_t n) WUR;

#endif
