/* server/auth.c: implements tempauth-style v1.0 users and tokens
 * (server/auth.h). */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/hash.h"
#include "../common/log.h"

struct token {
    char token[AUTH_TOKEN_LEN];
    size_t user_index;
    time_t expires;
    struct token *next;
};

#define TOKEN_BUCKETS 1024

struct auth {
    const struct config *cfg;
    char **accounts;             /* "AUTH_<account>" per config user */
    char **user_names;           /* "account:user" per config user */
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

int auth_new(struct auth **out, const struct config *cfg)
{
    struct auth *a = xcalloc(1, sizeof(*a));
    a->cfg = cfg;
    a->accounts = xcalloc(cfg->n_users + 1, sizeof(char *));
    a->user_names = xcalloc(cfg->n_users + 1, sizeof(char *));
    for (size_t i = 0; i < cfg->n_users; i++) {
        a->accounts[i] = xasprintf("%s%s", cfg->reseller_prefix, cfg->users[i].account);
        a->user_names[i] = xasprintf("%s:%s", cfg->users[i].account, cfg->users[i].user);
    }
    pthread_rwlock_init(&a->lock, NULL);
    *out = a;
    return 0;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < TOKEN_BUCKETS; i++) {
        struct token *t = a->buckets[i];
        while (t) {
            struct token *next = t->next;
            free(t);
            t = next;
        }
    }
    for (size_t i = 0; i < a->cfg->n_users; i++) {
        free(a->accounts[i]);
        free(a->user_names[i]);
    }
    free(a->accounts);
    free(a->user_names);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

/* A valid token this user already holds, so repeated logins share one
 * token as tempauth's do. Caller holds the lock. */
static struct token *find_user_token(struct auth *a, size_t user_index, time_t now)
{
    for (size_t i = 0; i < TOKEN_BUCKETS; i++)
        for (struct token *t = a->buckets[i]; t; t = t->next)
            if (t->user_index == user_index && t->expires > now)
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
            free(dead);
        } else {
            pp = &(*pp)->next;
        }
    }
}

int auth_login(struct auth *a, const char *user, const char *key, char token[AUTH_TOKEN_LEN],
               unsigned *expires_in, char **account_out)
{
    size_t i;
    bool found = false, match = false;
    for (i = 0; i < a->cfg->n_users; i++) {
        if (strcmp(a->user_names[i], user) != 0)
            continue;
        const char *want = a->cfg->users[i].key;
        size_t n = strlen(want);
        found = true;
        match = strlen(key) == n && bytes_equal_ct(want, key, n);
        break;
    }
    if (!match)
        return found ? -EACCES : -ENOENT;

    time_t now = time(NULL);
    pthread_rwlock_wrlock(&a->lock);
    struct token *t = find_user_token(a, i, now);
    if (!t) {
        uint8_t raw[16];
        if (random_bytes(raw, sizeof(raw)) != 0) {
            pthread_rwlock_unlock(&a->lock);
            return -EIO;
        }
        t = xcalloc(1, sizeof(*t));
        memcpy(t->token, "AUTH_tk", 7);
        hex_encode(raw, sizeof(raw), t->token + 7);
        t->user_index = i;
        t->expires = now + (time_t)a->cfg->token_ttl;
        size_t b = token_bucket(t->token);
        prune_bucket(a, b, now);
        t->next = a->buckets[b];
        a->buckets[b] = t;
    }
    memcpy(token, t->token, AUTH_TOKEN_LEN);
    *expires_in = (unsigned)(t->expires - now);
    pthread_rwlock_unlock(&a->lock);
    *account_out = xstrdup(a->accounts[i]);
    return 0;
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
            const struct config_user *u = &a->cfg->users[t->user_index];
            who->authenticated = true;
            who->account = xstrdup(a->accounts[t->user_index]);
            who->user = xstrdup(a->user_names[t->user_index]);
            who->admin = u->admin;
            who->reseller = false;
            rc = 0;
        }
        break;
    }
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

bool auth_allows(const struct identity *who, const char *account)
{
    if (!who->authenticated)
        return false;
    if (who->reseller)
        return true;
    /* tempauth: only the account's admins own it; other users need ACLs. */
    return who->admin && account && strcmp(who->account, account) == 0;
}

void identity_release(struct identity *who)
{
    free(who->account);
    free(who->user);
    memset(who, 0, sizeof(*who));
}
