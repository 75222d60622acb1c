/* replication/expirer.c: This file implements the expirer (expirer.h): the
 * queue of objects with an X-Delete-At, kept in the hidden account
 * ".expiring_objects", and the pass that deletes the objects whose time has
 * come, in a background thread or once (`swiftlet expire --once`).
 *
 * Entries are read in pages of PAGE names and handled outside the listing
 * callback, which must not call back into the DB pool. */
#include "expirer.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/timefmt.h"
#include "../storage/object.h"

#define PAGE 1000
#define EMPTY_ETAG "d41d8cd98f00b204e9800998ecf8427e"
#define QUEUE_CTYPE "application/x-expiring-object"

/* ---- the queue ---- */

static void bucket_name(int64_t delete_at, char out[24])
{
    snprintf(out, 24, "%010" PRId64, delete_at - delete_at % EXPIRER_DIVISOR);
}

static char *entry_name(int64_t delete_at, const char *account, const char *container,
                        const char *object)
{
    return xasprintf("%010" PRId64 "-%s/%s/%s", delete_at, account, container, object);
}

/* The placements of a queue container and of the hidden account. */
static void locate_queue(struct cluster *c, const char *bucket, struct placement *cpl,
                         struct placement *apl)
{
    cluster_locate(c, ITEM_CONTAINER, EXPIRER_ACCOUNT, bucket, NULL, cpl);
    cluster_locate(c, ITEM_ACCOUNT, EXPIRER_ACCOUNT, NULL, NULL, apl);
}

int expirer_queue_add(struct cluster *c, struct db_pool *db, int64_t delete_at,
                      const char *account, const char *container, const char *object, int64_t ts)
{
    struct placement cpl, apl;
    struct kv_list none = KV_LIST_INIT;
    char bucket[24];
    char *name = entry_name(delete_at, account, container, object);
    bool created;
    int rc;

    bucket_name(delete_at, bucket);
    locate_queue(c, bucket, &cpl, &apl);
    rc = db_object_put(db, &cpl, &apl, bucket, name, ts, 0, QUEUE_CTYPE, EMPTY_ETAG, false);
    if (rc == -ENOENT) {
        /* The day's queue container does not exist yet. Its timestamp is
         * the entry's, so a concurrent create of the same bucket merges. */
        rc = db_container_put(db, &cpl, &apl, EXPIRER_ACCOUNT, bucket, ts, &none, 0, &created);
        if (rc == 0)
            rc = db_object_put(db, &cpl, &apl, bucket, name, ts, 0, QUEUE_CTYPE, EMPTY_ETAG, false);
    }
    free(name);
    return rc;
}

int expirer_queue_remove(struct cluster *c, struct db_pool *db, int64_t delete_at,
                         const char *account, const char *container, const char *object,
                         int64_t ts)
{
    struct placement cpl, apl;
    char bucket[24];
    char *name = entry_name(delete_at, account, container, object);
    int rc;

    bucket_name(delete_at, bucket);
    locate_queue(c, bucket, &cpl, &apl);
    rc = db_object_delete(db, &cpl, &apl, bucket, name, ts, false);
    free(name);
    return rc == -ENOENT ? 0 : rc;
}

/* ---- reading the queue ---- */

struct names {
    char **v;
    size_t n;
    int64_t max_at;     /* collect only names whose leading number is <= this */
    bool past_max;      /* a name beyond max_at was seen: the rest are too */
};

static void names_release(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    ns->v = NULL;
    ns->n = 0;
}

/* The 10-digit number a queue name starts with, or -1. */
static int64_t leading_time(const char *s)
{
    int64_t v = 0;

    for (size_t i = 0; i < 10; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int collect(void *ctx, const struct list_entry *e)
{
    struct names *ns = ctx;

    if (e->is_subdir)
        return 0;
    if (leading_time(e->name) > ns->max_at) {
        ns->past_max = true;    /* names sort by their zero-padded time */
        return -ECANCELED;
    }
    if (ns->n % 64 == 0)
        ns->v = xrealloc(ns->v, (ns->n + 64) * sizeof(*ns->v));
    ns->v[ns->n++] = xstrdup(e->name);
    return 0;
}

/* A page of names after marker in a queue container or the hidden
 * account, up to max_at. 0, -ENOENT, -errno. */
static int list_page(struct cluster *c, struct db_pool *db, const char *bucket, const char *marker,
                     int64_t max_at, struct names *out)
{
    struct placement cpl, apl;
    struct list_query q = {.marker = marker, .limit = PAGE};
    int rc;

    *out = (struct names){NULL, 0, max_at, false};
    locate_queue(c, bucket ? bucket : "0", &cpl, &apl);
    rc = bucket ? db_container_list(db, &cpl, &q, collect, out)
                : db_account_list(db, &apl, &q, collect, out);
    return rc == -ECANCELED ? 0 : rc;
}

/* ---- expiring one object ---- */

/* "<delete_at>-<account>/<container>/<object>" into its parts (heap
 * copies of the three names). false for a name we did not write. */
static bool entry_parse(const char *name, int64_t *at, char **a, char **c, char **o)
{
    const char *p = name + 11, *s1, *s2;

    *at = leading_time(name);
    if (*at < 0 || name[10] != '-' || !(s1 = strchr(p, '/')) || !(s2 = strchr(s1 + 1, '/')) ||
        s1 == p || s2 == s1 + 1 || !s2[1])
        return false;
    *a = xstrndup(p, (size_t)(s1 - p));
    *c = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
    *o = xstrdup(s2 + 1);
    return true;
}

/* Does the stored object still expire at `at`? */
static bool delete_at_is(const struct object_meta *m, int64_t at)
{
    const char *v = kv_get(&m->headers, "X-Delete-At");
    char *end;

    if (!v)
        return false;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && x == at;
}

/* Delete the object as a DELETE at timestamp delete_at would. 0 when
 * deleted, 1 when the entry was stale (nothing to do), <0 on error. */
static int expire_object(struct cluster *c, struct db_pool *db, int64_t at, const char *account,
                         const char *container, const char *object)
{
    struct placement pl, cpl, apl;
    struct object_meta m;
    int64_t ts = at * TS_TICKS_PER_SEC;
    int rc;

    cluster_locate(c, ITEM_OBJECT, account, container, object, &pl);
    rc = object_stat(&m, &pl);
    bool expire = rc == 0 && delete_at_is(&m, at) && m.timestamp < ts;
    bool stale = rc == -ENOENT || rc == ERR_DELETED || (rc == 0 && !expire);
    object_meta_release(&m);
    if (!expire && !stale)
        return rc;
    if (expire) {
        char *name = xasprintf("/%s/%s/%s", account, container, object);
        rc = object_delete(&pl, name, ts, NULL);
        free(name);
        if (rc != 0)
            return rc;
    }
    if (expire || rc == -ENOENT || rc == ERR_DELETED) {
        /* A listing row whose object is gone goes too; the timestamp is the
         * expiry's, so a newer row (a later PUT) is left alone. */
        cluster_locate(c, ITEM_CONTAINER, account, container, NULL, &cpl);
        cluster_locate(c, ITEM_ACCOUNT, account, NULL, NULL, &apl);
        int lrc = db_object_delete(db, &cpl, &apl, container, object, ts, false);
        if (lrc != 0 && lrc != -ENOENT)
            return lrc;
    }
    return expire ? 0 : 1;
}

static void handle_entry(struct cluster *c, struct db_pool *db, const char *bucket,
                         const char *entry, struct expirer_stats *st)
{
    char *a = NULL, *ct = NULL, *o = NULL;
    int64_t at;
    int rc = 1;

    st->entries++;
    if (entry_parse(entry, &at, &a, &ct, &o))
        rc = expire_object(c, db, at, a, ct, o);
    if (rc < 0) {
        st->errors++;
        log_warn("msg=\"cannot expire object\" entry=%s err=\"%s\"", entry, err_str(rc));
    } else {
        if (rc == 0) {
            st->expired++;
            log_info("msg=\"object expired\" account=%s container=%s", a, ct);
        } else {
            st->stale++;
        }
        struct placement cpl, apl;
        locate_queue(c, bucket, &cpl, &apl);
        rc = db_object_delete(db, &cpl, &apl, bucket, entry, ts_now(), false);
        if (rc != 0 && rc != -ENOENT)
            log_warn("msg=\"cannot remove expirer entry\" entry=%s err=\"%s\"", entry,
                     err_str(rc));
    }
    free(a);
    free(ct);
    free(o);
}

/* Handle every due entry of one queue container; drop the container once
 * its whole day has passed and it is empty. */
static int run_bucket(struct cluster *c, struct db_pool *db, const char *bucket, int64_t now,
                      struct expirer_stats *st, const atomic_bool *stop)
{
    char *marker = NULL;
    int rc = 0;

    for (;;) {
        struct names ns;
        rc = list_page(c, db, bucket, marker, now, &ns);
        for (size_t i = 0; rc == 0 && i < ns.n; i++) {
            if (stop && atomic_load(stop))
                rc = -ECANCELED;
            else
                handle_entry(c, db, bucket, ns.v[i], st);
        }
        bool more = rc == 0 && ns.n == PAGE && !ns.past_max;
        free(marker);
        marker = more ? xstrdup(ns.v[ns.n - 1]) : NULL;
        names_release(&ns);
        if (!more)
            break;
    }
    free(marker);
    if (rc == 0 && leading_time(bucket) + EXPIRER_DIVISOR <= now) {
        struct placement cpl, apl;
        locate_queue(c, bucket, &cpl, &apl);
        int drc = db_container_delete(db, &cpl, &apl, bucket, ts_now());
        if (drc != 0 && drc != -ENOTEMPTY && drc != -ENOENT)
            log_warn("msg=\"cannot remove expirer container\" bucket=%s err=\"%s\"", bucket,
                     err_str(drc));
    }
    return rc == -ENOENT ? 0 : rc;
}

int expirer_pass(struct cluster *c, struct db_pool *db, int64_t now, struct expirer_stats *st,
                 const atomic_bool *stop)
{
    char *marker = NULL;
    int rc;

    for (;;) {
        struct names ns;
        rc = list_page(c, db, NULL, marker, now, &ns);
        for (size_t i = 0; rc == 0 && i < ns.n; i++)
            rc = run_bucket(c, db, ns.v[i], now, st, stop);
        bool more = rc == 0 && ns.n == PAGE && !ns.past_max;
        free(marker);
        marker = more ? xstrdup(ns.v[ns.n - 1]) : NULL;
        names_release(&ns);
        if (!more)
            break;
    }
    free(marker);
    return rc == -ENOENT ? 0 : rc;    /* no hidden account: nothing queued */
}

/* ---- the background thread ---- */

struct expirer {
    struct cluster *c;
    struct db_pool *db;
    unsigned interval_s;
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
};

static void wait_interval(struct expirer *e)
{
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += e->interval_s;
    pthread_mutex_lock(&e->lock);
    while (!atomic_load(&e->stop) &&
           pthread_cond_timedwait(&e->cond, &e->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&e->lock);
}

static void *expirer_main(void *arg)
{
    struct expirer *e = arg;

    for (wait_interval(e); !atomic_load(&e->stop); wait_interval(e)) {
        struct expirer_stats st = {0};
        int rc = expirer_pass(e->c, e->db, (int64_t)time(NULL), &st, &e->stop);
        if (rc != 0 && rc != -ECANCELED)
            log_warn("msg=\"expirer pass failed\" err=\"%s\"", err_str(rc));
        if (st.entries)
            log_info("msg=\"expirer pass done\" entries=%llu expired=%llu stale=%llu errors=%llu",
                     (unsigned long long)st.entries, (unsigned long long)st.expired,
                     (unsigned long long)st.stale, (unsigned long long)st.errors);
    }
    return NULL;
}

int expirer_start(struct expirer **out, struct cluster *c, struct db_pool *db,
                  unsigned interval_s)
{
    struct expirer *e = xcalloc(1, sizeof(*e));
    pthread_condattr_t ca;
    int rc;

    e->c = c;
    e->db = db;
    e->interval_s = interval_s ? interval_s : 1;
    atomic_init(&e->stop, false);
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = -pthread_create(&e->thread, NULL, expirer_main, e);
    if (rc != 0) {
        pthread_cond_destroy(&e->cond);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void expirer_free(struct expirer *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    atomic_store(&e->stop, true);
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
