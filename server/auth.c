/* server/auth.c: implements users and tokens (server/auth.h): logins
 * against the config's users and the users database, and the in-memory
 * token table every API request is checked against. */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../storage/users.h"

/* A token and who it stands for. The identity is copied in, so a token
 * stays valid (until it expires) whatever happens to its user later. */
struct token {
    char token[AUTH_TOKEN_LEN];
    char *tenant;           /* "test" */
    char *user;             /* "tester" */
    bool admin, reseller, read_only;
    time_t expires;
    struct token *next;
};

#define TOKEN_BUCKETS 1024

struct auth {
    const struct config *cfg;
    char *users_path;           /* the users database */
    pthread_rwlock_t lock;
    struct token *buckets[TOKEN_BUCKETS];
};

static size_t token_bucket(const char *token)
{
    /* Tokens are random: a few bytes of them are an even hash already. */
    size_t h = 5381;
    for (const char *p = token; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % TOKEN_BUCKETS;
}

char *auth_users_path(const struct config *cfg)
{
    if (cfg->users_db && *cfg->users_db)
        return xstrdup(cfg->users_db);
    if (cfg->data_dir && *cfg->data_dir)
        return xasprintf("%s/users.db", cfg->data_dir);
    if (cfg->n_disk_groups > 0) {
        /* Beside the first disk group, as the ring file is. */
        const char *dg = cfg->disk_groups[0];
        size_t n = strlen(dg);
        while (n > 1 && dg[n - 1] == '/')
            n--;
        const char *slash = memrchr(dg, '/', n);
        if (!slash)
            return xstrdup("swiftlet-users.db");
        return xasprintf("%.*s/swiftlet-users.db", (int)(slash == dg ? 1 : slash - dg), dg);
    }
    return xstrdup("users.db");
}

int auth_new(struct auth **out, const struct config *cfg)
{
    struct auth *a = xcalloc(1, sizeof(*a));
    a->cfg = cfg;
    a->users_path = auth_users_path(cfg);
    pthread_rwlock_init(&a->lock, NULL);
    *out = a;
    return 0;
}

static void token_free(struct token *t)
{
    free(t->tenant);
    free(t->user);
    free(t);
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < TOKEN_BUCKETS; i++) {
        struct token *t = a->buckets[i];
        while (t) {
            struct token *next = t->next;
            token_free(t);
            t = next;
        }
    }
    free(a->users_path);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

/* ---- checking credentials ---- */

/* The account part of a tenant name: "AUTH_test" and "test" both name
 * account "test". */
static const char *strip_prefix(const struct config *cfg, const char *tenant)
{
    size_t n = strlen(cfg->reseller_prefix);
    if (n && strncmp(tenant, cfg->reseller_prefix, n) == 0 && tenant[n])
        return tenant + n;
    return tenant;
}

static bool key_equal(const char *want, const char *key)
{
    size_t n = strlen(want);
    return strlen(key) == n && bytes_equal_ct(want, key, n);
}

/* Check the config's users; fills who (tenant, user, admin) on a match.
 * 0, -ENOENT, -EACCES. */
static int login_config(const struct config *cfg, const char *account, const char *user,
                        const char *key, struct auth_grant *g)
{
    bool found = false;
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *u = &cfg->users[i];
        if (strcmp(u->user, user) != 0 || (account && strcmp(u->account, account) != 0))
            continue;
        found = true;
        if (!key_equal(u->key, key))
            continue;
        g->tenant = xstrdup(u->account);
        g->user = xstrdup(u->user);
        g->admin = u->admin;
        return 0;
    }
    return found ? -EACCES : -ENOENT;
}

/* Check the users database. 0, -ENOENT, -EACCES, -EIO. */
static int login_db(const char *path, const char *account, const char *user, const char *key,
                    struct auth_grant *g)
{
    struct user_info u;
    int rc = users_verify(path, account, user, key, &u);
    if (rc == -ENOENT || rc == -EACCES)
        return rc;
    if (rc) {
        log_error("msg=\"cannot read the users database\" path=%s err=\"%s\"", path, err_str(rc));
        return -EIO;
    }
    g->tenant = xstrdup(u.account);
    g->user = xstrdup(u.user);
    g->admin = u.role == ROLE_ADMIN || u.role == ROLE_RESELLER;
    g->reseller = u.role == ROLE_RESELLER;
    g->read_only = u.role == ROLE_READ_ONLY;
    return 0;
}

/* ---- tokens ---- */

/* A valid token this user already holds with the same rights, so repeated
 * logins share one token as tempauth's do. Caller holds the lock. */
static struct token *find_user_token(struct auth *a, const struct auth_grant *g, time_t now)
{
    for (size_t i = 0; i < TOKEN_BUCKETS; i++)
        for (struct token *t = a->buckets[i]; t; t = t->next)
            if (t->expires > now && strcmp(t->tenant, g->tenant) == 0 &&
                strcmp(t->user, g->user) == 0 && t->admin == g->admin &&
                t->reseller == g->reseller && t->read_only == g->read_only)
                return t;
    return NULL;
}

/* Drop expired tokens from one bucket. Caller holds the write lock. */
static void prune_bucket(struct auth *a, size_t b, time_t now)
{
    struct token **pp = &a->buckets[b];
    while (*pp) {
        if ((*pp)->expires <= now) {
            struct token *dead = *pp;
            *pp = dead->next;
            token_free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
}

/* A new token for g. Caller holds the write lock. NULL when there is no
 * randomness. */
static struct token *token_new(struct auth *a, const struct auth_grant *g, time_t now)
{
    uint8_t raw[16];
    if (random_bytes(raw, sizeof(raw)) != 0)
        return NULL;
    struct token *t = xcalloc(1, sizeof(*t));
    memcpy(t->token, "AUTH_tk", 7);
    hex_encode(raw, sizeof(raw), t->token + 7);
    t->tenant = xstrdup(g->tenant);
    t->user = xstrdup(g->user);
    t->admin = g->admin;
    t->reseller = g->reseller;
    t->read_only = g->read_only;
    t->expires = now + (time_t)a->cfg->token_ttl;
    size_t b = token_bucket(t->token);
    prune_bucket(a, b, now);
    t->next = a->buckets[b];
    a->buckets[b] = t;
    return t;
}

/* Give g a token (an existing one of the same user, or a new one). */
static int grant_token(struct auth *a, struct auth_grant *g)
{
    time_t now = time(NULL);
    pthread_rwlock_wrlock(&a->lock);
    struct token *t = find_user_token(a, g, now);
    if (!t)
        t = token_new(a, g, now);
    if (t) {
        memcpy(g->token, t->token, AUTH_TOKEN_LEN);
        g->expires = t->expires;
        g->expires_in = (unsigned)(t->expires - now);
    }
    pthread_rwlock_unlock(&a->lock);
    return t ? 0 : -EIO;
}

int auth_login(struct auth *a, const char *account, const char *user, const char *key,
               struct auth_grant *out)
{
    char acct_buf[USERS_NAME_MAX + 1];
    const struct config *cfg = a->cfg;
    memset(out, 0, sizeof(*out));
    if (account)
        account = strip_prefix(cfg, account);
    const char *colon = strchr(user, ':');
    if (colon) {
        /* "test:tester": the account part must agree with the tenant. */
        size_t n = (size_t)(colon - user);
        if (n == 0 || n > USERS_NAME_MAX)
            return -ENOENT;
        memcpy(acct_buf, user, n);
        acct_buf[n] = '\0';
        if (account && strcmp(account, acct_buf) != 0)
            return -ENOENT;
        account = acct_buf;
        user = colon + 1;
    }
    int rc = login_config(cfg, account, user, key, out);
    if (rc == -ENOENT)
        rc = login_db(a->users_path, account, user, key, out);
    if (rc == 0) {
        out->account = xasprintf("%s%s", cfg->reseller_prefix, out->tenant);
        rc = grant_token(a, out);
    }
    if (rc)
        auth_grant_release(out);
    return rc;
}

void auth_grant_release(struct auth_grant *g)
{
    free(g->account);
    free(g->tenant);
    free(g->user);
    memset(g, 0, sizeof(*g));
}

int auth_check(struct auth *a, const char *token, struct identity *who)
{
    if (!token || strncmp(token, "AUTH_tk", 7) != 0 || strlen(token) != AUTH_TOKEN_LEN - 1)
        return -ENOENT;
    time_t now = time(NULL);
    int rc = -ENOENT;
    pthread_rwlock_rdlock(&a->lock);
    for (struct token *t = a->buckets[token_bucket(token)]; t; t = t->next) {
        if (strcmp(t->token, token) != 0)
            continue;
        if (t->expires > now) {
            who->authenticated = true;
            who->account = xasprintf("%s%s", a->cfg->reseller_prefix, t->tenant);
            who->user = xasprintf("%s:%s", t->tenant, t->user);
            who->admin = t->admin;
            who->reseller = t->reseller;
            who->read_only = t->read_only;
            rc = 0;
        }
        break;
    }
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

void identity_release(struct identity *who)
{
    free(who->account);
    free(who->user);
    memset(who, 0, sizeof(*who));
}
