/* server/auth.h: users, keys and tokens (Swift tempauth's v1.0 model).
 *
 * Users come from the config (`user = ACCOUNT:USER:KEY[:admin]`, --user).
 * A login hands out a random token "AUTH_tk<32 hex>" (128 bits) valid for
 * token_ttl seconds; like tempauth, a user who logs in again while a token
 * is valid gets the same token with the remaining lifetime. Tokens are
 * checked in memory (a hash table under a read-write lock), never with a
 * query. Keys are compared in constant time. */
#ifndef SWIFTLET_SERVER_AUTH_H
#define SWIFTLET_SERVER_AUTH_H

#include <stdint.h>

#include "../common/config.h"
#include "../common/util.h"
#include "request.h"

#define AUTH_TOKEN_LEN 40    /* "AUTH_tk" + 32 hex + NUL */

struct auth;

int auth_new(struct auth **out, const struct config *cfg) WUR;
void auth_free(struct auth *a);            /* NULL is a no-op */

/* Check "account:user" and key. On success fill token (AUTH_TOKEN_LEN),
 * the seconds it has left, and the storage account ("AUTH_<account>").
 * 0, -ENOENT (no such user) or -EACCES (wrong key). */
int auth_login(struct auth *a, const char *user, const char *key, char token[AUTH_TOKEN_LEN],
               unsigned *expires_in, char **account_out) WUR;
/* Fill who (heap strings; free with identity_release) from a token.
 * 0, -ENOENT (unknown or expired). */
int auth_check(struct auth *a, const char *token, struct identity *who) WUR;
/* May who operate on account (a storage account name "AUTH_x")? */
bool auth_allows(const struct identity *who, const char *account);
void identity_release(struct identity *who);

#endif
