/* storage/users.h: the users database (accounts' users, roles and hashed
 * keys) that `swiftlet user` manages and the server checks logins against.
 *
 * One SQLite file (WAL, synchronous FULL: it is small and rarely written,
 * and a lost user would lock its owner out), by default <data_dir>/users.db
 * (docs/on-disk.md). A user is (account, user name) with one role and one
 * key. Keys are never stored: only a random 16-byte salt, the iteration
 * count and PBKDF2-HMAC-SHA256(key, salt) are, and a login compares the
 * derived bytes in constant time. Nothing here ever returns a key or its
 * hash to the caller.
 *
 * Every call opens its own short-lived connection, so a server sees users
 * that `swiftlet user add` wrote a moment ago from another process, and two
 * processes never share a handle. All functions are thread-safe. */
#ifndef SWIFTLET_STORAGE_USERS_H
#define SWIFTLET_STORAGE_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"

/* What a user may do (struct identity in server/request.h). */
enum user_role {
    ROLE_MEMBER,      /* no rights of its own: reaches containers through ACLs */
    ROLE_ADMIN,       /* owns its account (tempauth's .admin) */
    ROLE_READ_ONLY,   /* may read (GET, HEAD) its own account */
    ROLE_RESELLER,    /* reseller admin: every account */
};

#define USERS_NAME_MAX 256      /* longest account or user name accepted */
#define USERS_KEY_MAX 1024      /* longest key accepted */

struct user_info {
    char account[USERS_NAME_MAX + 1];   /* "test" (no reseller prefix) */
    char user[USERS_NAME_MAX + 1];      /* "tester" */
    enum user_role role;
    int64_t created;                    /* Unix time */
};

/* "admin", "member", "read-only", "reseller"; NULL for an unknown value. */
const char *users_role_name(enum user_role role);
/* 0, or -EINVAL for an unknown name. */
int users_role_parse(const char *name, enum user_role *out) WUR;

/* Add a user with key (hashed here). Creates the file and its schema when
 * missing. 0, -EEXIST, -EINVAL (bad name or key), -errno. */
int users_add(const char *path, const char *account, const char *user, enum user_role role,
              const char *key) WUR;
/* 0, -ENOENT (no such user or no file), -errno. */
int users_del(const char *path, const char *account, const char *user) WUR;
int users_set_key(const char *path, const char *account, const char *user, const char *key) WUR;
int users_set_role(const char *path, const char *account, const char *user,
                   enum user_role role) WUR;

/* Call cb for each user (of account, or all when account is NULL) in
 * (account, user) order; cb returns 0 to go on, anything else stops the walk
 * and is returned. 0 when there is no file. */
int users_list(const char *path, const char *account,
               int (*cb)(void *ctx, const struct user_info *u), void *ctx) WUR;

/* Check a login: the user named user (in account, or in any account when
 * account is NULL) whose key is key. The first match wins, in account
 * order. Fills out on success. 0, -ENOENT (no such user, or no file),
 * -EACCES (a user of that name exists but the key differs), -errno. */
int users_verify(const char *path, const char *account, const char *user, const char *key,
                 struct user_info *out) WUR;

/* For tests: the PBKDF2 iteration count used for new keys (default 100000,
 * at least 1). */
void users_set_iterations(unsigned n);

#endif
