/* server/auth.h: users, keys and tokens, and the three login endpoints.
 *
 * Users come from two places: the config (`user = ACCOUNT:USER:KEY[:admin]`,
 * --user; plain keys, as tempauth keeps them) and the users database
 * (storage/users.h, managed with `swiftlet user`; hashed keys), which is
 * read at each login so a running server sees users added a moment ago.
 * A config user wins over a database user of the same name.
 *
 * A login hands out a random token "AUTH_tk<32 hex>" (128 bits) valid for
 * token_ttl seconds; like tempauth, a user who logs in again while a token
 * is valid gets the same token with the remaining lifetime. Tokens are
 * checked in memory (a hash table under a read-write lock), never with a
 * query, and do not depend on how the user logged in: a token from v1.0,
 * v2.0 or v3 works on the storage URL alike. Keys are compared in constant
 * time. Neither keys nor tokens are ever logged.
 *
 * The login endpoints (auth_http.c): Swift v1.0 (GET /auth/v1.0 with
 * X-Auth-User / X-Auth-Key), Rackspace / Keystone v2.0 (POST /v2.0/tokens)
 * and Keystone v3 (POST /v3/auth/tokens). Logins run on a worker thread:
 * the users database and PBKDF2 must not stall an HTTP thread. */
#ifndef SWIFTLET_SERVER_AUTH_H
#define SWIFTLET_SERVER_AUTH_H

#include <stdint.h>
#include <time.h>

#include "../common/config.h"
#include "../common/util.h"
#include "request.h"

#define AUTH_TOKEN_LEN 40    /* "AUTH_tk" + 32 hex + NUL */

struct auth;

/* A successful login. account, user and tenant are heap strings; release
 * with auth_grant_release. */
struct auth_grant {
    char token[AUTH_TOKEN_LEN];
    unsigned expires_in;      /* seconds left */
    time_t expires;           /* Unix time */
    char *account;            /* storage account "AUTH_test" */
    char *tenant;             /* "test": the account without reseller prefix */
    char *user;               /* "tester" */
    bool admin, reseller, read_only;
};

int auth_new(struct auth **out, const struct config *cfg) WUR;
void auth_free(struct auth *a);            /* NULL is a no-op */

/* The users database file for cfg: [auth] users_db, else <data_dir>/users.db,
 * else swiftlet-users.db beside the first disk group. Heap string. */
char *auth_users_path(const struct config *cfg);

/* Check user and key. account is the tenant ("test" or "AUTH_test") or
 * NULL for any; user is "tester" or "test:tester" (then the account part
 * must agree with account). Blocks on the users database: call from a
 * worker thread. 0, -ENOENT (no such user), -EACCES (wrong key), -EIO. */
int auth_login(struct auth *a, const char *account, const char *user, const char *key,
               struct auth_grant *out) WUR;
void auth_grant_release(struct auth_grant *g);

/* Fill who (heap strings; free with identity_release) from a token.
 * 0, -ENOENT (unknown or expired). */
int auth_check(struct auth *a, const char *token, struct identity *who) WUR;
void identity_release(struct identity *who);

/* The login endpoint for path (a request path without its query), or NULL
 * when path is none of them. http.c calls its start() from route(). */
const struct handler_ops *auth_route(const char *path);

#endif
