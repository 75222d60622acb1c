/* tools/bench_run.c: this file implements the requests of `swiftlet bench`
 * and is the only file that talks to libcurl. v1 auth and the container
 * creates are plain blocking requests; the mix runs on one curl multi
 * handle in this one thread: opts->concurrency easy handles ("slots"), each
 * restarted with a new request as soon as its answer is in, so connections
 * stay alive and in flight without a thread per connection. A --rate
 * target schedules the n-th request at t0 + n / rate.
 *
 * GET, HEAD and DELETE pick objects this run wrote: every PUT that got a
 * 2xx joins the "alive" set (swap-remove array, O(1) add and remove); a
 * DELETE takes its object out when it starts (and puts it back if it was
 * not deleted), and only one no read is in flight on, so the reads of a
 * run never 404 on its own deletes. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/timefmt.h"
#include "bench.h"

#define NS_PER_S 1000000000ULL
#define URL_MAX 1024
#define BODY_MAX (1u << 20)    /* bodies repeat a 1 MiB pattern */
#define POLL_MAX_MS 100

struct bench_obj {
    uint32_t container;
    int32_t alive_pos;      /* index in engine.alive, -1 when not alive */
    uint32_t readers;       /* GET/HEAD in flight */
};

struct slot {
    struct engine *e;
    CURL *easy;
    enum bench_op op;
    uint64_t target;        /* object id, or container index for list */
    uint64_t start_ns;
    uint64_t up_off, rx;
    char url[URL_MAX];
};

struct engine {
    const struct bench_opts *o;
    struct bench_result *res;
    CURLM *multi;
    struct curl_slist *headers;
    char *storage_url, *token;
    char *body;
    size_t body_len;
    char run_id[16];
    struct slot *slots;
    unsigned *free_slots, n_free;
    struct bench_obj *objs;
    size_t n_objs, cap_objs;
    uint64_t *alive;
    size_t n_alive, cap_alive;
    uint64_t rng, weight_total;
    struct bench_second cur;
    struct bench_hist sec_hist;     /* latencies of the current second */
    size_t cap_seconds;
    bool tty;
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* xorshift64*: fast, and good enough to pick ops and objects. */
static uint64_t rnd(struct engine *e)
{
    e->rng ^= e->rng >> 12;
    e->rng ^= e->rng << 25;
    e->rng ^= e->rng >> 27;
    return e->rng * 2685821657736338717ULL;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *ud)
{
    struct slot *s = ud;
    (void)p;
    if (s)
        s->rx += size * n;
    return size * n;
}

static size_t body_cb(char *p, size_t size, size_t n, void *ud)
{
    struct slot *s = ud;
    const struct engine *e = s->e;
    size_t want = MIN(size * n, (size_t)(e->o->size - s->up_off));
    size_t done = 0;
    while (done < want) {
        size_t off = (size_t)((s->up_off + done) % e->body_len);
        size_t k = MIN(want - done, e->body_len - off);
        memcpy(p + done, e->body + off, k);
        done += k;
    }
    s->up_off += done;
    return done;
}

/* Rewind for curl, which resends a body when a kept-alive connection turns
 * out to have been closed before any answer (as every client does). */
static int body_seek_cb(void *ud, curl_off_t offset, int origin)
{
    struct slot *s = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > s->e->o->size)
        return CURL_SEEKFUNC_CANTSEEK;
    s->up_off = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t no_body_cb(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)size, (void)n, (void)ud;
    return 0;
}

static const char *find_header(CURL *c, const char *name)
{
    struct curl_header *h;
    return curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK ? h->value : NULL;
}

/* v1 auth: storage URL and token into e. */
static int bench_auth(struct engine *e, char *err, size_t errlen)
{
    const struct bench_opts *o = e->o;
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char line[1024];
    int rc = 0;

    snprintf(line, sizeof(line), "X-Auth-User: %s", o->user);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-Auth-Key: %s", o->key);
    hdr = curl_slist_append(hdr, line);
    curl_easy_setopt(c, CURLOPT_URL, o->auth_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    const char *url = cc == CURLE_OK ? find_header(c, "X-Storage-Url") : NULL;
    const char *tok = cc == CURLE_OK ? find_header(c, "X-Auth-Token") : NULL;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "cannot reach the auth URL %s: %s", o->auth_url,
                 curl_easy_strerror(cc));
        rc = -ECONNREFUSED;
    } else if (code < 200 || code > 299) {
        snprintf(err, errlen, "authentication failed: %s answered %ld for user '%s' "
                 "(check --user and --key)", o->auth_url, code, o->user);
        rc = -EACCES;
    } else if (!url || !tok || strlen(url) > URL_MAX / 2) {
        snprintf(err, errlen, "%s answered %ld without a usable X-Storage-Url and "
                 "X-Auth-Token (is it a v1 auth URL?)", o->auth_url, code);
        rc = -EPROTO;
    } else {
        e->storage_url = xstrdup(url);
        e->token = xstrdup(tok);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}

/* PUT each container once, on one kept-alive connection. */
static int create_containers(struct engine *e, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    char url[URL_MAX];
    int rc = 0;

    for (unsigned i = 0; i < e->o->containers && !stop_requested; i++) {
        snprintf(url, sizeof(url), "%s/%s-%u", e->storage_url, e->o->prefix, i);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, no_body_cb);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(e->o->timeout_s * 1000));
        CURLcode cc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (cc != CURLE_OK || code < 200 || code > 299) {
            snprintf(err, errlen, "cannot create container %s-%u: %s", e->o->prefix, i,
                     cc != CURLE_OK ? curl_easy_strerror(cc) : "");
            if (cc == CURLE_OK)
                snprintf(err + strlen(err), errlen - strlen(err), "HTTP %ld", code);
            rc = -EIO;
            break;
        }
    }
    curl_easy_cleanup(c);
    return rc;
}

static void alive_add(struct engine *e, uint64_t id)
{
    if (e->n_alive == e->cap_alive) {
        e->cap_alive = e->cap_alive ? 2 * e->cap_alive : 1024;
        e->alive = xrealloc(e->alive, e->cap_alive * sizeof(*e->alive));
    }
    e->objs[id].alive_pos = (int32_t)e->n_alive;
    e->alive[e->n_alive++] = id;
}

static void alive_remove(struct engine *e, uint64_t id)
{
    size_t pos = (size_t)e->objs[id].alive_pos;
    uint64_t last = e->alive[--e->n_alive];
    e->alive[pos] = last;
    e->objs[last].alive_pos = (int32_t)pos;
    e->objs[id].alive_pos = -1;
}

/* A new object in a random container: its id. */
static uint64_t new_object(struct engine *e)
{
    if (e->n_objs == e->cap_objs) {
        e->cap_objs = e->cap_objs ? 2 * e->cap_objs : 4096;
        e->objs = xrealloc(e->objs, e->cap_objs * sizeof(*e->objs));
    }
    e->objs[e->n_objs] = (struct bench_obj){(uint32_t)(rnd(e) % e->o->containers), -1, 0};
    return e->n_objs++;
}

/* An alive object for a DELETE with no read in flight, so the run's own
 * reads never 404; false when a few random picks find none. */
static bool pick_victim(struct engine *e, uint64_t *id)
{
    for (int tries = 0; tries < 8; tries++) {
        *id = e->alive[rnd(e) % e->n_alive];
        if (e->objs[*id].readers == 0)
            return true;
    }
    return false;
}

/* Choose the next op by weight and its target; reads and deletes become
 * PUTs while nothing (or nothing idle, for a delete) is written yet. */
static void choose(struct engine *e, struct slot *s)
{
    uint64_t r = rnd(e) % e->weight_total;
    unsigned op = 0;
    while (r >= e->o->weights[op])
        r -= e->o->weights[op++];
    if (op != BENCH_PUT && op != BENCH_LIST && e->n_alive == 0)
        op = BENCH_PUT;
    if (op == BENCH_DELETE && !pick_victim(e, &s->target))
        op = BENCH_PUT;
    s->op = (enum bench_op)op;
    switch (s->op) {
    case BENCH_PUT: s->target = new_object(e); break;
    case BENCH_LIST: s->target = rnd(e) % e->o->containers; break;
    case BENCH_DELETE: alive_remove(e, s->target); break;
    default:
        s->target = e->alive[rnd(e) % e->n_alive];
        e->objs[s->target].readers++;
        break;
    }
}

static void slot_url(const struct engine *e, struct slot *s)
{
    if (s->op == BENCH_LIST) {
        snprintf(s->url, sizeof(s->url), "%s/%s-%u?format=json&limit=100", e->storage_url,
                 e->o->prefix, (unsigned)s->target);
        return;
    }
    snprintf(s->url, sizeof(s->url), "%s/%s-%u/%s-%llu", e->storage_url, e->o->prefix,
             (unsigned)e->objs[s->target].container, e->run_id, (unsigned long long)s->target);
}

/* Set the easy handle of s up for its op and hand it to the multi handle. */
static void slot_start(struct engine *e, struct slot *s, uint64_t now)
{
    CURL *c = s->easy;

    choose(e, s);
    slot_url(e, s);
    s->start_ns = now;
    s->up_off = s->rx = 0;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers);
    curl_easy_setopt(c, CURLOPT_PRIVATE, s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(e->o->timeout_s * 1000));
    switch (s->op) {
    case BENCH_PUT:
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, body_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, s);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, body_seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, s);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)e->o->size);
        break;
    case BENCH_HEAD: curl_easy_setopt(c, CURLOPT_NOBODY, 1L); break;
    case BENCH_DELETE: curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
    default: break;
    }
    curl_multi_add_handle(e->multi, c);
}

/* Count the answer of s and update the alive set. */
static void record(struct engine *e, struct slot *s, long code, bool conn_error, uint64_t now)
{
    struct bench_result *res = e->res;
    enum bench_status st = bench_status_class(code, conn_error);
    uint64_t us = (now - s->start_ns) / 1000;

    res->status[s->op][st]++;
    bench_hist_add(&res->hist[s->op], us);
    bench_hist_add(&res->all, us);
    bench_hist_add(&e->sec_hist, us);
    e->cur.ops[s->op]++;
    e->cur.status[st]++;
    if (s->op == BENCH_PUT && !conn_error)
        res->bytes_sent += s->up_off;
    if (s->op == BENCH_GET)
        res->bytes_received += s->rx;
    if (s->op == BENCH_PUT && st == BENCH_2XX)
        alive_add(e, s->target);
    else if (s->op == BENCH_GET || s->op == BENCH_HEAD)
        e->objs[s->target].readers--;
    else if (s->op == BENCH_DELETE && st != BENCH_2XX && st != BENCH_404)
        alive_add(e, s->target);   /* not deleted (or not known to be): still readable */
}

/* Close the current second: its percentiles, then start the next. */
static void close_second(struct engine *e)
{
    struct bench_result *res = e->res;

    e->cur.p50_us = bench_hist_percentile(&e->sec_hist, 50);
    e->cur.p99_us = bench_hist_percentile(&e->sec_hist, 99);
    e->cur.max_us = e->sec_hist.max_us;
    if (res->n_seconds == e->cap_seconds) {
        e->cap_seconds = e->cap_seconds ? 2 * e->cap_seconds : 64;
        res->seconds = xrealloc(res->seconds, e->cap_seconds * sizeof(*res->seconds));
    }
    res->seconds[res->n_seconds++] = e->cur;
    memset(&e->cur, 0, sizeof(e->cur));
    memset(&e->sec_hist, 0, sizeof(e->sec_hist));
}

/* The live progress line on stderr: redrawn each second on a terminal,
 * a plain line every 5 seconds otherwise. */
static void show_progress(const struct engine *e)
{
    const struct bench_result *res = e->res;
    char line[256];

    if (!e->o->progress || res->n_seconds == 0)
        return;
    bench_progress_line(&res->seconds[res->n_seconds - 1], res->n_seconds, line, sizeof(line));
    if (e->tty)
        fprintf(stderr, "\r\033[K%s", line);
    else if (res->n_seconds % 5 == 0)
        fprintf(stderr, "%s\n", line);
}

/* Collect the finished transfers and free their slots. */
static void harvest(struct engine *e, unsigned *in_flight)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *c = m->easy_handle;
        CURLcode result = m->data.result;
        char *priv = NULL;
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(e->multi, c);
        struct slot *s = (struct slot *)(void *)priv;
        record(e, s, code, result != CURLE_OK, mono_ns());
        e->free_slots[e->n_free++] = (unsigned)(s - e->slots);
        (*in_flight)--;
    }
}

/* Start every request that is due: a free slot, the request budget and
 * the rate schedule allow it. Returns when the next one is due (0: as soon
 * as a slot frees). */
static uint64_t start_due(struct engine *e, uint64_t t0, uint64_t now, uint64_t *issued,
                          unsigned *in_flight)
{
    const struct bench_opts *o = e->o;

    while (e->n_free > 0 && (!o->requests || *issued < o->requests)) {
        if (o->rate > 0) {
            uint64_t due = t0 + (uint64_t)((double)*issued * (double)NS_PER_S / o->rate);
            if (due > now)
                return due;
        }
        slot_start(e, &e->slots[e->free_slots[--e->n_free]], now);
        (*issued)++;
        (*in_flight)++;
    }
    return 0;
}

static int poll_ms(uint64_t now, uint64_t next_tick, uint64_t next_due)
{
    uint64_t wake = next_tick;
    if (next_due && next_due < wake)
        wake = next_due;
    if (wake <= now)
        return 0;
    uint64_t ms = (wake - now + 999999) / 1000000;
    return (int)MIN(ms, (uint64_t)POLL_MAX_MS);
}

/* The timed run. Seconds close on the clock, except the last one, which
 * stays open for the answers to the requests in flight at the end. */
static void run_loop(struct engine *e)
{
    const struct bench_opts *o = e->o;
    uint64_t t0 = mono_ns();
    uint64_t end = o->requests ? UINT64_MAX : t0 + (uint64_t)(o->duration_s * NS_PER_S);
    uint64_t next_tick = t0 + NS_PER_S, issued = 0;
    unsigned in_flight = 0;
    bool stopping = false;

    for (;;) {
        uint64_t now = mono_ns(), next_due = 0;
        while (now >= next_tick && next_tick < end) {
            close_second(e);
            show_progress(e);
            next_tick += NS_PER_S;
        }
        if (now >= end || (o->requests && issued >= o->requests) || stop_requested)
            stopping = true;
        e->res->interrupted = stop_requested;
        if (!stopping)
            next_due = start_due(e, t0, now, &issued, &in_flight);
        else if (in_flight == 0)
            break;
        int running;
        curl_multi_perform(e->multi, &running);
        harvest(e, &in_flight);
        /* a slot just freed with nothing holding it back: start at once */
        bool more = !stopping && e->n_free > 0 && !next_due &&
                    !(o->requests && issued >= o->requests);
        if (!more)
            curl_multi_poll(e->multi, NULL, 0, poll_ms(mono_ns(), next_tick, next_due), NULL);
    }
    uint64_t last_ops = 0;
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        last_ops += e->cur.ops[op];
    if (last_ops || e->res->n_seconds == 0)
        close_second(e);
    show_progress(e);
    if (o->progress && e->tty)
        fputc('\n', stderr);
    e->res->elapsed_s = (double)(mono_ns() - t0) / NS_PER_S;
}

static void engine_init(struct engine *e, const struct bench_opts *o, struct bench_result *res)
{
    memset(res, 0, sizeof(*res));
    res->opts = *o;
    e->o = &res->opts;
    e->res = res;
    e->rng = (mono_ns() ^ ((uint64_t)getpid() << 32)) | 1;
    snprintf(e->run_id, sizeof(e->run_id), "%08llx", (unsigned long long)(rnd(e) >> 32));
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        e->weight_total += o->weights[op];
    e->body_len = (size_t)MAX(MIN(o->size, (uint64_t)BODY_MAX), 1);
    e->body = xmalloc(e->body_len);
    for (size_t i = 0; i < e->body_len; i++)
        e->body[i] = (char)(rnd(e) >> 56);
    e->tty = isatty(STDERR_FILENO);
}

/* The multi handle, the shared headers and one easy handle per slot. */
static void engine_start(struct engine *e)
{
    unsigned n = e->o->concurrency;
    char line[URL_MAX];

    snprintf(line, sizeof(line), "X-Auth-Token: %s", e->token);
    e->headers = curl_slist_append(NULL, line);
    /* no 100-continue round trip before each body */
    e->headers = curl_slist_append(e->headers, "Expect:");
    e->multi = curl_multi_init();
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)n);
    e->slots = xcalloc(n, sizeof(*e->slots));
    e->free_slots = xcalloc(n, sizeof(*e->free_slots));
    for (unsigned i = 0; i < n; i++) {
        e->slots[i].e = e;
        e->slots[i].easy = curl_easy_init();
        e->free_slots[e->n_free++] = n - 1 - i;
    }
}

static void engine_release(struct engine *e)
{
    for (unsigned i = 0; e->slots && i < e->o->concurrency; i++)
        curl_easy_cleanup(e->slots[i].easy);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    curl_slist_free_all(e->headers);
    free(e->slots);
    free(e->free_slots);
    free(e->objs);
    free(e->alive);
    free(e->body);
    free(e->storage_url);
    free(e->token);
}

int bench_run(const struct bench_opts *o, struct bench_result *res, char *err, size_t errlen)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    struct sigaction sa = {.sa_handler = on_stop_signal}, old_int, old_term;
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(e);
        return -ENOMEM;
    }
    engine_init(e, o, res);
    stop_requested = 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = bench_auth(e, err, errlen);
    if (rc == 0) {
        engine_start(e);
        rc = create_containers(e, err, errlen);
    }
    if (rc == 0)
        run_loop(e);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    engine_release(e);
    free(e);
    curl_global_cleanup();
    if (rc)
        bench_result_release(res);
    return rc;
}

void bench_result_release(struct bench_result *res)
{
    free(res->seconds);
    res->seconds = NULL;
    res->n_seconds = 0;
}
