/* replication/health.c: This file implements the disk group prober thread,
 * the quorum test of /healthcheck and the health report (replication/health.h).
 *
 * One thread probes the disk groups in turn. A probe blocks on its disk, so
 * a stuck disk group delays the probes of the others but never a request:
 * requests only read the state (an atomic) that probes set. */
#include "health.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"

struct health {
    struct cluster *c;
    unsigned interval_ms;
    unsigned min_free_pct;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
};

void health_probe_all(struct cluster *c, unsigned min_free_pct)
{
    for (size_t i = 0; i < cluster_dg_count(c); i++)
        (void)dg_probe(cluster_dg(c, i), min_free_pct);
}

static void *health_main(void *arg)
{
    struct health *h = arg;

    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += h->interval_ms / 1000;
        until.tv_nsec += (long)(h->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
            ;
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->lock);
        health_probe_all(h->c, h->min_free_pct);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int health_start(struct health **out, struct cluster *c, unsigned interval_ms,
                 unsigned min_free_pct)
{
    struct health *h;
    int rc;

    *out = NULL;
    if (interval_ms == 0)
        return -EINVAL;
    h = xcalloc(1, sizeof(*h));
    h->c = c;
    h->interval_ms = interval_ms;
    h->min_free_pct = min_free_pct;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    rc = pthread_create(&h->thread, NULL, health_main, h);
    if (rc != 0) {
        pthread_cond_destroy(&h->wake);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return -rc;
    }
    *out = h;
    return 0;
}

void health_stop(struct health *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

size_t health_usable(const struct cluster *c)
{
    size_t n = 0;

    for (size_t i = 0; i < cluster_dg_count(c); i++)
        n += dg_usable(cluster_dg(c, i));
    return n;
}

bool health_quorum(const struct cluster *c)
{
    return health_usable(c) >= QUORUM;
}

/* ---- the report ---- */

/* One disk group's line of the report, as both renderings use it. */
struct dg_line {
    const struct disk_group *dg;
    struct dg_health h;
    uint64_t free_b, total_b;
};

static void dg_line_get(const struct disk_group *dg, struct dg_line *l)
{
    l->dg = dg;
    dg_health(dg, &l->h);
    /* A missing dg is not statted: its path may be the root filesystem's
     * empty mount point, whose numbers would mislead. */
    if (l->h.state == DG_MISSING || dg_space(dg, &l->free_b, &l->total_b) != 0)
        l->free_b = l->total_b = 0;
}

static json_t *dg_json(const struct dg_line *l)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(dg_id(l->dg)));
    json_object_set_new(o, "path", json_string(dg_path(l->dg)));
    json_object_set_new(o, "state", json_string(dg_state_name(l->h.state)));
    json_object_set_new(o, "free_bytes", json_integer((json_int_t)l->free_b));
    json_object_set_new(o, "total_bytes", json_integer((json_int_t)l->total_b));
    json_object_set_new(o, "errors", json_integer((json_int_t)l->h.errors));
    json_object_set_new(o, "last_error",
                        l->h.last_error ? json_string(err_str(l->h.last_error)) : json_null());
    json_object_set_new(o, "last_error_at", json_integer(l->h.last_error_at));
    return o;
}

int health_report_json(const struct cluster *c, struct buf *out)
{
    json_t *doc = json_object(), *list = json_array();
    size_t usable = health_usable(c);
    int rc = 0;

    json_object_set_new(doc, "quorum", json_boolean(usable >= QUORUM));
    json_object_set_new(doc, "usable", json_integer((json_int_t)usable));
    for (size_t i = 0; i < cluster_dg_count(c); i++) {
        struct dg_line l;
        dg_line_get(cluster_dg(c, i), &l);
        json_array_append_new(list, dg_json(&l));
    }
    json_object_set_new(doc, "disk_groups", list);
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(1));
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    rc = buf_appends(out, text);
    if (rc == 0)
        rc = buf_appendc(out, '\n');
    free(text);
    return rc;
}

int health_report_text(const struct cluster *c, struct buf *out)
{
    size_t usable = health_usable(c);
    int rc = buf_appendf(out, "%-4s %-9s %10s %10s %7s  %-24s %s\n", "id", "state", "free_mb",
                         "total_mb", "errors", "last_error", "path");

    for (size_t i = 0; i < cluster_dg_count(c) && rc == 0; i++) {
        struct dg_line l;
        dg_line_get(cluster_dg(c, i), &l);
        rc = buf_appendf(out, "%-4" PRIu32 " %-9s %10" PRIu64 " %10" PRIu64 " %7" PRIu64
                              "  %-24s %s\n",
                         dg_id(l.dg), dg_state_name(l.h.state), l.free_b >> 20, l.total_b >> 20,
                         l.h.errors, l.h.last_error ? err_str(l.h.last_error) : "-",
                         dg_path(l.dg));
    }
    if (rc == 0)
        rc = buf_appendf(out, "%zu of %zu disk groups usable: %s\n", usable, cluster_dg_count(c),
                         usable >= QUORUM ? "writes have a quorum" : "NO WRITE QUORUM");
    return rc;
}
