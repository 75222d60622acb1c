/* server/keystone.h: the bodies of Rackspace / Keystone v2.0 and Keystone v3
 * logins: parsing the credentials out of a request body, and rendering the
 * token answer with its service catalog, or the error body.
 *
 * Pure functions (no I/O), so the parsers can be unit-tested and fuzzed;
 * server/auth_http.c drives them. Parsers take untrusted bytes of a length
 * the caller has already capped.
 *
 * The answers follow Rackspace Cloud Identity (v2.0: access.token,
 * access.user with RAX-AUTH:defaultRegion, access.serviceCatalog with
 * cloudFiles / object-store and cloudFilesCDN / rax:object-cdn) and
 * Keystone (v3: token.catalog, expires_at, user, project, roles). The v2.0
 * token object puts "id" within five lines of "token" and every other "id"
 * further away once pretty-printed, whether or not keys are sorted, so the
 * Cloud Files documentation's recipe
 *     python -mjson.tool | grep -A5 token | grep id | cut -d '"' -f4
 * yields exactly the token. */
#ifndef SWIFTLET_SERVER_KEYSTONE_H
#define SWIFTLET_SERVER_KEYSTONE_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "auth.h"

/* Credentials from a login body. Heap strings; release with
 * login_req_release. */
struct login_req {
    char *tenant;           /* tenantName / tenantId / project; NULL: any */
    char *user;             /* "tester" (or "test:tester") */
    char *key;              /* apiKey or password */
    bool api_key;           /* v2.0: RAX-KSKEY:apiKeyCredentials (else password) */
};
void login_req_release(struct login_req *q);

/* Parse a v2.0 body ({"auth": {"RAX-KSKEY:apiKeyCredentials" |
 * "passwordCredentials": {...}, "tenantName" | "tenantId": ...}}).
 * 0; 400 for a body that is not such JSON or lacks a field; 401 for a kind
 * of credential swiftlet does not take (token, passcode, ...). */
int keystone_v2_parse(const char *body, size_t len, struct login_req *out) WUR;
/* Parse a v3 body (password method; user by name + domain or by id;
 * optional project scope by id or name + domain). 0, 400, or 401 (another
 * method, another domain, a domain scope). */
int keystone_v3_parse(const char *body, size_t len, struct login_req *out) WUR;

/* Where the catalog points: full storage URLs of the account. */
struct catalog_urls {
    const char *public_url;     /* "http://127.0.0.1:8080/v1/AUTH_test" */
    const char *internal_url;   /* ServiceNet endpoint */
    const char *region;
};

/* The 200 body of a v2.0 login, the 201 body of a v3 login. 0 or -E2BIG
 * (out's cap). */
int keystone_v2_render(const struct auth_grant *g, bool api_key, const struct catalog_urls *c,
                       struct buf *out) WUR;
int keystone_v3_render(const struct auth_grant *g, const struct catalog_urls *c,
                       struct buf *out) WUR;

/* Error bodies as Rackspace (v2.0: {"unauthorized": {"code": 401,
 * "message": ...}}, {"badRequest": ...}) and Keystone v3 ({"error":
 * {"code", "title", "message"}}) send them. */
void keystone_v2_error(int status, bool api_key, struct buf *out);
void keystone_v3_error(int status, struct buf *out);

#endif
