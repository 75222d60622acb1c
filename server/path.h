/* server/path.h: parsing request targets: %-decoding, the /v1 API path
 * split as Swift's split_path does it, and query strings.
 *
 * Pure functions over untrusted input; unit-tested in tests/unit/test_path.c
 * and fuzzed by tests/fuzz/fuzz_path.c. */
#ifndef SWIFTLET_SERVER_PATH_H
#define SWIFTLET_SERVER_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/kv.h"

/* Decode %XX (and '+' as a space when plus_space) of s[0..n) into a new
 * heap string; *len_out (may be NULL) gets the decoded length: the result
 * may hold NUL bytes, which callers reject with utf8_valid. Malformed
 * escapes stay as they are, as Python's unquote leaves them. */
char *percent_decode(const char *s, size_t n, bool plus_space, size_t *len_out);

/* The parts of "/v1/account/container/object"; absent parts are NULL. */
struct api_path {
    char *version;
    char *account;
    char *container;
    char *object;
};

/* Split a raw (still %-encoded) path that starts with '/' the way Swift's
 * split_path(path, 1, 4, rest_with_last=True) does, decoding it first.
 * 0, or an HTTP status with a message in msg ("" for the standard page):
 * 412 "Invalid UTF8 or contains NULL", 412 "Bad URL" (no account), 400 (an
 * API version other than v1 / v1.0), 404 (an object with an empty
 * container). out is filled as far as parsing got; release it either way. */
int api_path_parse(const char *raw, struct api_path *out, char *msg, size_t msglen);
void api_path_release(struct api_path *p);

/* Parse "a=1&b=x%20y&c" into out (initialised by the caller), decoding
 * keys and values ('+' is a space); a key without '=' gets "". */
void query_parse(const char *q, struct kv_list *out);

#endif
