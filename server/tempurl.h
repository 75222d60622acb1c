/* server/tempurl.h: Swift's tempurl middleware (2.30): object requests
 * signed with a key of the account or container instead of a token.
 *
 * A request whose query carries temp_url_sig or temp_url_expires is checked
 * here before token auth (server/http.c route_api): the signature is an
 * HMAC-SHA1/256/512 of "METHOD\nEXPIRES\nPATH" (PATH "prefix:/v1/a/c/p"
 * for temp_url_prefix URLs), in hex or as "<digest>:<base64>", keyed with
 * X-Account-Meta-Temp-URL-Key(-2) or X-Container-Meta-Temp-URL-Key(-2).
 * Signatures are compared in constant time. A request that passes is
 * granted that one object path; its response is then filtered as Swift
 * filters it (tempurl_filter_response). The same filter hides the key
 * headers from everyone but the account's owner. */
#ifndef SWIFTLET_SERVER_TEMPURL_H
#define SWIFTLET_SERVER_TEMPURL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

/* What a valid TempURL grants; owned by the request (r->tempurl). */
struct tempurl_grant {
    int64_t expires;          /* Unix time the URL expires */
    char *filename;           /* the filename query parameter, or NULL */
    bool inline_disposition;  /* the inline query parameter was given */
    bool account_scope;       /* signed with an account key (else a container key) */
    char *account, *container;
};

/* Check r's TempURL. 0: the request carries none (authenticate it as
 * usual); 1: valid, r->tempurl is set and no token is needed; -1: the
 * answer is set (401 with Swift's body, or 400 for a header a TempURL may
 * not send). Reads the account and container metadata (short DB reads). */
int tempurl_check(struct request *r);

/* May r's TempURL reach account/container (a copy source, a segment)?
 * An account key reaches the whole account, a container key its container. */
bool tempurl_allows(const struct request *r, const char *account, const char *container);

/* Last touch on an API response before it is sent: for a TempURL request
 * remove X-Object-Meta-* (except X-Object-Meta-Public-*) and, on a 2xx GET
 * or HEAD, set Content-Disposition and Expires; for anyone but the
 * account's owner remove the Temp-URL-Key headers. */
void tempurl_filter_response(struct request *r);

/* Is r made by the account's owner (its admin, or a reseller admin)?
 * Only owners see the Temp-URL-Key headers, as in Swift (swift_owner). */
bool tempurl_owner(const struct request *r);

void tempurl_grant_free(struct tempurl_grant *g);   /* NULL is a no-op */

/* ---- pure helpers (unit tests, formpost.c) ---- */

/* Swift's extract_digest_and_algorithm: "<hex>" (40, 64 or 128 digits:
 * sha1, sha256, sha512) or "<digest>:<base64>" (standard or URL-safe,
 * padding optional). Fills digest ("sha1", ...; only the names Swift
 * allows) and hex (the signature as lower-case hex, as Swift compares it;
 * a hex signature is kept as given). 0 or -EINVAL. */
int tempurl_parse_sig(const char *sig, char digest[8], char hex[129]);

/* temp_url_expires as Swift reads it: Python int() or ISO 8601
 * "%Y-%m-%dT%H:%M:%SZ". 0 when it is neither. */
int64_t tempurl_parse_expires(const char *s);

/* Does the lower-case hex HMAC of msg under any of keys (digest name)
 * equal hex? Constant time per key. */
bool tempurl_hmac_match(const char *digest, const char *const *keys, size_t nkeys,
                        const char *msg, size_t msglen, const char *hex);

/* Swift's disposition_format: `TYPE; filename="Q1"; filename*=UTF-8''Q2`
 * (Q1 percent-quoted keeping ' ' and '/', Q2 keeping '/'). Heap string. */
char *tempurl_disposition(const char *type, const char *filename);

#endif
