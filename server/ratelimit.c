/* server/ratelimit.c: implements per-container write throttling
 * (server/ratelimit.h): Swift's size tiers and running-time buckets, a
 * sharded hash table of buckets that forgets idle ones, and the decision
 * for one request. */
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "../storage/meta.h"
#include "metrics.h"
#include "request.h"
#include "server.h"

#define N_SHARDS 64          /* independent locks */
#define N_HEADS 512          /* hash chains per shard */
#define SHARD_MAX 4096       /* buckets per shard before the least due one goes */

struct rl_bucket {
    struct rl_bucket *next;
    uint64_t hash;
    int64_t running;         /* Swift's running time, in clock ticks */
    char key[];              /* "account/container", or "account" */
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_bucket *heads[N_HEADS];
    size_t count;
    int64_t last_sweep;      /* ticks */
};

struct ratelimit {
    const struct config *cfg;
    struct ratelimit_clock clock;
    bool reject;             /* mode reject: 429 instead of waiting */
    bool needs_size;         /* the rate depends on the object count */
    struct rl_shard shards[N_SHARDS];
};

double ratelimit_tier_rate(const struct config_rate *tiers, size_t n, uint64_t size,
                           bool exempt_empty)
{
    size_t i;

    if (exempt_empty && size == 0)
        return 0;
    for (i = 0; i < n && tiers[i].size <= size; i++)
        ;
    if (i == 0)
        return 0;   /* below the first tier */
    const struct config_rate *t = &tiers[i - 1];
    if (i == n)
        return t->rate;
    double slope = (tiers[i].rate - t->rate) / (double)(tiers[i].size - t->size);
    return (double)(size - t->size) * slope + t->rate;
}

bool ratelimit_take(int64_t *running, int64_t now, double rate, const struct ratelimit_clock *ck,
                    bool no_wait, int64_t *need)
{
    /* Swift: time_per_request_m = int(round(clock_accuracy / max_rate)). */
    int64_t per_req = (int64_t)((double)ck->accuracy / rate + 0.5);

    *running += per_req;
    *need = 0;
    if (now - *running > ck->buffer_ticks)
        *running = now + per_req;   /* idle for long: start over, no burst */
    else if (*running - now - per_req > 0)
        *need = *running - now - per_req;
    if ((no_wait && *need > 0) || ck->max_sleep_ticks - (double)*need <= (double)ck->accuracy * 0.01) {
        *running -= per_req;        /* a refused request uses no time */
        return false;
    }
    return true;
}

static int64_t ticks_of(const struct ratelimit *rl, uint64_t ns)
{
    int64_t acc = rl->clock.accuracy;

    return (int64_t)(ns / 1000000000u) * acc + (int64_t)(ns % 1000000000u) * acc / 1000000000;
}

static uint64_t hash_key(const char *key)
{
    uint64_t h = 14695981039346656037ULL;   /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* Drop the buckets of shard s that are idle (a fresh bucket would behave
 * the same); if none is and the shard is full, drop the least due one. */
static void shard_sweep(struct ratelimit *rl, struct rl_shard *s, int64_t now)
{
    struct rl_bucket **least = NULL;

    s->last_sweep = now;
    for (size_t i = 0; i < N_HEADS; i++) {
        for (struct rl_bucket **pp = &s->heads[i]; *pp;) {
            struct rl_bucket *b = *pp;

            if (now - b->running > rl->clock.buffer_ticks) {
                *pp = b->next;
                free(b);
                s->count--;
                continue;
            }
            if (!least || b->running < (*least)->running)
                least = pp;
            pp = &b->next;
        }
    }
    if (s->count >= SHARD_MAX && least) {
        struct rl_bucket *b = *least;

        *least = b->next;
        free(b);
        s->count--;
    }
}

/* The bucket of key in s, created when missing. Caller holds s->lock. */
static struct rl_bucket *shard_get(struct ratelimit *rl, struct rl_shard *s, const char *key,
                                   uint64_t h, int64_t now)
{
    struct rl_bucket **head = &s->heads[(h / N_SHARDS) % N_HEADS];

    for (struct rl_bucket *b = *head; b; b = b->next)
        if (b->hash == h && strcmp(b->key, key) == 0)
            return b;
    if (s->count >= SHARD_MAX || now - s->last_sweep > rl->clock.accuracy)
        shard_sweep(rl, s, now);
    size_t len = strlen(key);
    struct rl_bucket *b = xmalloc(sizeof(*b) + len + 1);
    memcpy(b->key, key, len + 1);
    b->hash = h;
    b->running = RATELIMIT_FRESH;
    b->next = *head;
    *head = b;
    s->count++;
    return b;
}

bool ratelimit_take_key(struct ratelimit *rl, const char *key, double rate, uint64_t now_ns,
                        int64_t *need)
{
    uint64_t h = hash_key(key);
    struct rl_shard *s = &rl->shards[h % N_SHARDS];
    int64_t now = ticks_of(rl, now_ns);
    bool ok;

    pthread_mutex_lock(&s->lock);
    struct rl_bucket *b = shard_get(rl, s, key, h, now);
    ok = ratelimit_take(&b->running, now, rate, &rl->clock, rl->reject, need);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

size_t ratelimit_buckets(struct ratelimit *rl)
{
    size_t n = 0;

    for (size_t i = 0; i < N_SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].lock);
        n += rl->shards[i].count;
        pthread_mutex_unlock(&rl->shards[i].lock);
    }
    return n;
}

struct ratelimit *ratelimit_new(const struct config *cfg)
{
    if (!cfg->ratelimit_enabled)
        return NULL;
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    const struct config_rate *t = cfg->container_ratelimits;
    size_t n = cfg->n_container_ratelimits;

    rl->cfg = cfg;
    rl->clock.accuracy = cfg->clock_accuracy;
    rl->clock.buffer_ticks = (int64_t)cfg->rate_buffer_seconds * cfg->clock_accuracy;
    rl->clock.max_sleep_ticks = cfg->max_sleep_time_seconds * cfg->clock_accuracy;
    rl->reject = strcmp(cfg->ratelimit_mode, "reject") == 0;
    /* One tier from size 0 and no exemption: no need to count objects. */
    rl->needs_size = cfg->exempt_empty_containers || n > 1 || (n == 1 && t[0].size > 0);
    for (size_t i = 0; i < N_SHARDS; i++) {
        pthread_mutex_init(&rl->shards[i].lock, NULL);
        rl->shards[i].last_sweep = INT64_MIN / 4;
    }
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < N_SHARDS; i++) {
        for (size_t h = 0; h < N_HEADS; h++) {
            for (struct rl_bucket *b = rl->shards[i].heads[h], *next; b; b = next) {
                next = b->next;
                free(b);
            }
        }
        pthread_mutex_destroy(&rl->shards[i].lock);
    }
    free(rl);
}

/* The container's object count as its DB has it; 0 when it has none. */
static uint64_t container_size(const struct request *r)
{
    struct placement pl;
    struct container_stat cs;
    uint64_t n;

    memset(&cs, 0, sizeof(cs));
    kv_init(&cs.meta);
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, &pl);
    n = db_container_stat(r->srv->db, &pl, &cs) == 0 ? cs.object_count : 0;
    container_stat_release(&cs);
    return n;
}

/* The per-container rate for an object write in r's container. */
static double container_rate(const struct ratelimit *rl, const struct request *r)
{
    const struct config *c = rl->cfg;
    uint64_t size = rl->needs_size ? container_size(r) : 0;

    if (c->exempt_empty_containers && size == 0)
        return 0;
    for (size_t i = 0; i < c->n_account_container_ratelimits; i++)
        if (strcmp(c->account_container_ratelimits[i].account, r->account) == 0)
            return c->account_container_ratelimits[i].rate;
    return ratelimit_tier_rate(c->container_ratelimits, c->n_container_ratelimits, size, false);
}

/* Answer a refused request: 498 as Swift, or 429 with Retry-After. */
static void refuse(struct ratelimit *rl, struct request *r, int64_t need)
{
    if (rl->reject) {
        int64_t secs = (need + rl->clock.accuracy - 1) / rl->clock.accuracy;

        resp_text(r, 429, "text/html; charset=UTF-8",
                  "<html><h1>Too Many Requests</h1><p>The client has sent too many requests in "
                  "a given amount of time.</p></html>");
        resp_headerf(r, "Retry-After", "%lld", (long long)(secs > 0 ? secs : 1));
    } else {
        log_error("msg=\"returning 498 for %s to %s/%s/%s: ratelimit (max sleep) %.2f\" tx=%s",
                  r->method_name, r->account, r->container ? r->container : "",
                  r->object ? r->object : "", (double)need / (double)rl->clock.accuracy,
                  r->trans_id);
        resp_text(r, 498, "text/html; charset=UTF-8", "Slow down");
    }
    metrics_ratelimit(r->srv->metrics, r->status, 0);
}

/* The bucket key and rate of r: object writes count against their
 * container, container PUT/DELETE against their account (as Swift's
 * get_ratelimitable_key_tuples); rate 0 for anything else. */
static double key_of(const struct ratelimit *rl, const struct request *r, char *key, size_t max)
{
    bool write = r->method == M_PUT || r->method == M_DELETE;

    if (r->object && (write || r->method == M_POST || r->method == M_COPY)) {
        snprintf(key, max, "%s/%s", r->account, r->container);
        return container_rate(rl, r);
    }
    if (!r->object && write) {
        snprintf(key, max, "%s", r->account);
        return rl->cfg->account_ratelimit;
    }
    return 0;
}

bool ratelimit_admit(struct ratelimit *rl, struct request *r, uint64_t *wait_ns)
{
    int64_t need;

    *wait_ns = 0;
    if (!rl || !r->account || !r->container)
        return true;
    size_t max = strlen(r->account) + strlen(r->container) + 2;
    char *key = xmalloc(max);
    double rate = key_of(rl, r, key, max);
    bool ok = rate <= 0 || ratelimit_take_key(rl, key, rate, mono_ns(), &need);
    free(key);
    if (!ok) {
        refuse(rl, r, need);
        return false;
    }
    if (rate <= 0)
        return true;
    if (need <= 0)
        return true;
    double secs = (double)need / (double)rl->clock.accuracy;
    if (rl->cfg->log_sleep_time_seconds > 0 && secs > rl->cfg->log_sleep_time_seconds)
        log_warn("msg=\"ratelimit sleep log: %.3f for %s/%s/%s\" tx=%s", secs, r->account,
                 r->container, r->object ? r->object : "", r->trans_id);
    *wait_ns = (uint64_t)need * 1000000000u / (uint64_t)rl->clock.accuracy;
    metrics_ratelimit(r->srv->metrics, 0, *wait_ns);
    return true;
}
