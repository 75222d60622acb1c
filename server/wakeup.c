/* server/wakeup.c: implements the timer thread of server/wakeup.h: a binary
 * min-heap of (deadline, function, argument) under one mutex, and a thread
 * that waits on a CLOCK_MONOTONIC condition variable until the earliest
 * deadline, then calls the due functions without holding the lock. */
#include "wakeup.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "../common/timefmt.h"

struct wakeup_entry {
    uint64_t when_ns;
    void (*fire)(void *arg);
    void *arg;
};

struct wakeup {
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* signalled when the earliest deadline changes */
    pthread_t thread;
    struct wakeup_entry *heap;  /* heap[0] is the earliest */
    size_t n, cap;
    bool stopping;
};

static void heap_swap(struct wakeup_entry *h, size_t a, size_t b)
{
    struct wakeup_entry t = h[a];

    h[a] = h[b];
    h[b] = t;
}

static void sift_up(struct wakeup_entry *h, size_t i)
{
    while (i > 0 && h[(i - 1) / 2].when_ns > h[i].when_ns) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct wakeup_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < n && h[l].when_ns < h[m].when_ns)
            m = l;
        if (r < n && h[r].when_ns < h[m].when_ns)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

/* Remove and return the earliest entry. Caller holds the lock, n > 0. */
static struct wakeup_entry heap_pop(struct wakeup *w)
{
    struct wakeup_entry top = w->heap[0];

    w->heap[0] = w->heap[--w->n];
    sift_down(w->heap, w->n, 0);
    return top;
}

static void wait_until(struct wakeup *w, uint64_t when_ns)
{
    uint64_t now = mono_ns();
    struct timespec ts;

    /* mono_ns() counts CLOCK_MONOTONIC, the condition's clock. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t abs_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec +
                      (when_ns > now ? when_ns - now : 0);
    ts.tv_sec = (time_t)(abs_ns / 1000000000ULL);
    ts.tv_nsec = (long)(abs_ns % 1000000000ULL);
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

static void *wakeup_main(void *arg)
{
    struct wakeup *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (w->n && (w->stopping || w->heap[0].when_ns <= mono_ns())) {
            struct wakeup_entry e = heap_pop(w);

            pthread_mutex_unlock(&w->lock);
            e.fire(e.arg);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        if (w->stopping)
            break;
        if (w->n)
            wait_until(w, w->heap[0].when_ns);
        else
            pthread_cond_wait(&w->cond, &w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int wakeup_start(struct wakeup **out)
{
    struct wakeup *w = xcalloc(1, sizeof(*w));
    pthread_condattr_t ca;
    int rc;

    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&w->thread, NULL, wakeup_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return -rc;
    }
    *out = w;
    return 0;
}

int wakeup_at(struct wakeup *w, uint64_t when_ns, void (*fire)(void *arg),
              void (*arm)(void *arg), void *arg)
{
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        return -ESHUTDOWN;
    }
    if (arm)
        arm(arg);
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 64;
        w->heap = xrealloc(w->heap, w->cap * sizeof(*w->heap));
    }
    w->heap[w->n] = (struct wakeup_entry){when_ns, fire, arg};
    sift_up(w->heap, w->n++);
    if (w->heap[0].when_ns == when_ns)
        pthread_cond_signal(&w->cond);   /* a new earliest deadline */
    pthread_mutex_unlock(&w->lock);
    return 0;
}

size_t wakeup_pending(struct wakeup *w)
{
    size_t n;

    pthread_mutex_lock(&w->lock);
    n = w->n;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void wakeup_stop(struct wakeup *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool joined = w->stopping;
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (!joined)
        pthread_join(w->thread, NULL);
}

void wakeup_free(struct wakeup *w)
{
    if (!w)
        return;
    wakeup_stop(w);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->heap);
    free(w);
}
