/* storage/users.c: This file implements storage/users.h, the users database.
 *
 * Schema (PRAGMA user_version = 1):
 *   users(account, user, role, salt, hash, iterations, created)
 *     PRIMARY KEY (account, user); salt 16 random bytes; hash 32 bytes of
 *     PBKDF2-HMAC-SHA256(key, salt, iterations).
 * Like meta_sync.c it includes sqlite3.h and uses meta.c's SQL helpers
 * (storage/meta_int.h) to turn SQLite codes into -errno. */
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/hash.h"
#include "meta_int.h"

#define BUSY_TIMEOUT_MS 10000
#define SALT_LEN 16
#define HASH_LEN 32

static atomic_uint iterations = 100000;

static const char *const role_names[] = {
    [ROLE_MEMBER] = "member",
    [ROLE_ADMIN] = "admin",
    [ROLE_READ_ONLY] = "read-only",
    [ROLE_RESELLER] = "reseller",
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS users ("
    " account TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,"
    " salt BLOB NOT NULL, hash BLOB NOT NULL, iterations INTEGER NOT NULL,"
    " created INTEGER NOT NULL, PRIMARY KEY (account, user));"
    "PRAGMA user_version = 1";

void users_set_iterations(unsigned n)
{
    atomic_store(&iterations, n ? n : 1);
}

const char *users_role_name(enum user_role role)
{
    return (unsigned)role < ARRAY_SIZE(role_names) ? role_names[role] : NULL;
}

int users_role_parse(const char *name, enum user_role *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum user_role)i;
            return 0;
        }
    return -EINVAL;
}

/* Names become "account:user" and "AUTH_account" in URLs and logs: printable
 * ASCII without ':', '/', quotes or spaces keeps every one of those forms
 * unambiguous. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > USERS_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p > '~' || strchr(":/\"'\\", *p))
            return false;
    return true;
}

static bool key_ok(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && n <= USERS_KEY_MAX;
}

/* ---- connections ---- */

/* Open path; with create, make the file and its schema when missing. */
static int open_db(const char *path, bool create, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    if (!create && access(path, F_OK) != 0)
        return -errno;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    rc = meta_sql_err(sqlite3_open_v2(path, &db, flags, NULL));
    if (rc < 0)
        goto out_close;
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = meta_exec_sql(db, "PRAGMA journal_mode = WAL");
    if (rc == 0)
        rc = meta_exec_sql(db, "PRAGMA synchronous = FULL");
    int version = 0;
    if (rc == 0)
        rc = meta_user_version(db, &version);
    if (rc == 0 && version == 0)
        rc = create ? meta_exec_sql(db, SCHEMA) : -ENOENT;
    if (rc < 0)
        goto out_close;
    *out = db;
    return 0;
out_close:
    sqlite3_close(db);
    return rc;
}

/* Prepare sql and bind the text arguments (NULL binds NULL) in order. */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, size_t n, const char **args)
{
    int rc = meta_sql_err(sqlite3_prepare_v2(db, sql, -1, st, NULL));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = meta_sql_err(args[i] ? sqlite3_bind_text(*st, (int)i + 1, args[i], -1, SQLITE_STATIC)
                                  : sqlite3_bind_null(*st, (int)i + 1));
    return rc;
}

/* Run one change statement; -ENOENT when it touched no row. */
static int run_change(const char *path, bool create, const char *sql, size_t n,
                      const char **args, const void *blob1, const void *blob2, int64_t num)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int rc = open_db(path, create, &db);
    if (rc)
        return rc;
    rc = prepare(db, sql, &st, n, args);
    if (rc == 0 && blob1)
        rc = meta_sql_err(sqlite3_bind_blob(st, (int)n + 1, blob1, SALT_LEN, SQLITE_STATIC));
    if (rc == 0 && blob2)
        rc = meta_sql_err(sqlite3_bind_blob(st, (int)n + 2, blob2, HASH_LEN, SQLITE_STATIC));
    if (rc == 0 && blob1)
        rc = meta_sql_err(sqlite3_bind_int64(st, (int)n + 3, num));
    if (rc == 0) {
        int s = sqlite3_step(st);
        if ((s & 0xff) == SQLITE_CONSTRAINT)
            rc = -EEXIST;
        else
            rc = meta_sql_err(s);
    }
    if (rc == 0 && sqlite3_changes(db) == 0)
        rc = -ENOENT;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* A new salt and the hash of key with it. */
static int derive_new(const char *key, uint8_t salt[SALT_LEN], uint8_t hash[HASH_LEN],
                      unsigned *iter)
{
    *iter = atomic_load(&iterations);
    int rc = random_bytes(salt, SALT_LEN);
    if (rc == 0)
        rc = pbkdf2_sha256(key, strlen(key), salt, SALT_LEN, *iter, hash, HASH_LEN);
    return rc;
}

/* ---- changes ---- */

int users_add(const char *path, const char *account, const char *user, enum user_role role,
              const char *key)
{
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    unsigned iter;
    if (!name_ok(account) || !name_ok(user) || !key_ok(key) || !users_role_name(role))
        return -EINVAL;
    int rc = derive_new(key, salt, hash, &iter);
    if (rc)
        return rc;
    char created[32];
    snprintf(created, sizeof(created), "%lld", (long long)time(NULL));
    const char *args[] = {account, user, users_role_name(role), created};
    return run_change(path, true,
                      "INSERT INTO users (account, user, role, created, salt, hash, iterations) "
                      "VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER), ?5, ?6, ?7)",
                      4, args, salt, hash, iter);
}

int users_del(const char *path, const char *account, const char *user)
{
    const char *args[] = {account, user};
    return run_change(path, false, "DELETE FROM users WHERE account = ?1 AND user = ?2", 2, args,
                      NULL, NULL, 0);
}

int users_set_key(const char *path, const char *account, const char *user, const char *key)
{
    uint8_t salt[SALT_LEN], hash[HASH_LEN];
    unsigned iter;
    if (!key_ok(key))
        return -EINVAL;
    int rc = derive_new(key, salt, hash, &iter);
    if (rc)
        return rc;
    const char *args[] = {account, user};
    return run_change(path, false,
                      "UPDATE users SET salt = ?3, hash = ?4, iterations = ?5 "
                      "WHERE account = ?1 AND user = ?2",
                      2, args, salt, hash, iter);
}

int users_set_role(const char *path, const char *account, const char *user, enum user_role role)
{
    if (!users_role_name(role))
        return -EINVAL;
    const char *args[] = {account, user, users_role_name(role)};
    return run_change(path, false, "UPDATE users SET role = ?3 WHERE account = ?1 AND user = ?2",
                      3, args, NULL, NULL, 0);
}

/* ---- reading ---- */

static void row_info(sqlite3_stmt *st, struct user_info *u)
{
    const char *acct = (const char *)sqlite3_column_text(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    const char *role = (const char *)sqlite3_column_text(st, 2);
    snprintf(u->account, sizeof(u->account), "%s", acct ? acct : "");
    snprintf(u->user, sizeof(u->user), "%s", name ? name : "");
    if (!role || users_role_parse(role, &u->role) != 0)
        u->role = ROLE_MEMBER; /* an unknown role grants nothing */
    u->created = sqlite3_column_int64(st, 3);
}

int users_list(const char *path, const char *account,
               int (*cb)(void *ctx, const struct user_info *u), void *ctx)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    int rc = open_db(path, false, &db);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    const char *args[] = {account};
    rc = prepare(db,
                 "SELECT account, user, role, created FROM users "
                 "WHERE ?1 IS NULL OR account = ?1 ORDER BY account, user",
                 &st, 1, args);
    while (rc == 0) {
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            rc = meta_sql_err(s);
            break;
        }
        struct user_info u;
        row_info(st, &u);
        rc = cb(ctx, &u);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Does key match this row's salt and hash? */
static bool row_key_matches(sqlite3_stmt *st, const char *key)
{
    uint8_t got[HASH_LEN];
    const void *salt = sqlite3_column_blob(st, 4);
    int salt_len = sqlite3_column_bytes(st, 4);
    const void *hash = sqlite3_column_blob(st, 5);
    int hash_len = sqlite3_column_bytes(st, 5);
    int64_t iter = sqlite3_column_int64(st, 6);
    if (!salt || !hash || hash_len != HASH_LEN || iter < 1 || iter > 100000000)
        return false;
    if (pbkdf2_sha256(key, strlen(key), salt, (size_t)salt_len, (unsigned)iter, got,
                      HASH_LEN) != 0)
        return false;
    return bytes_equal_ct(got, hash, HASH_LEN);
}

int users_verify(const char *path, const char *account, const char *user, const char *key,
                 struct user_info *out)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (strlen(key) > USERS_KEY_MAX)
        return -EACCES;
    int rc = open_db(path, false, &db);
    if (rc)
        return rc;
    const char *args[] = {account, user};
    rc = prepare(db,
                 "SELECT account, user, role, created, salt, hash, iterations FROM users "
                 "WHERE (?1 IS NULL OR account = ?1) AND user = ?2 ORDER BY account",
                 &st, 2, args);
    bool found = false;
    while (rc == 0) {
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            rc = meta_sql_err(s);
            if (rc == 0)
                rc = found ? -EACCES : -ENOENT;
            break;
        }
        found = true;
        if (row_key_matches(st, key)) {
            row_info(st, out);
            break;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
