/* server/wakeup.h: call a function at a given time, from one timer thread.
 *
 * http.c uses it to resume a connection it suspended while a write waits
 * out its rate limit (server/ratelimit.h): a waiting request costs one heap
 * entry (24 bytes) and holds no thread. Entries live in a binary min-heap
 * ordered by deadline; the thread sleeps on a condition variable until the
 * earliest one. */
#ifndef SWIFTLET_SERVER_WAKEUP_H
#define SWIFTLET_SERVER_WAKEUP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

struct wakeup;

/* Start the timer thread. 0 or -errno. */
int wakeup_start(struct wakeup **out) WUR;
/* Call fire(arg) on the timer thread at mono_ns() >= when_ns. arm(arg), when
 * not NULL, runs under the queue's lock before the entry can fire (suspend
 * the connection there, so the resume cannot come first). -ESHUTDOWN once
 * wakeup_stop has begun: then neither arm nor fire is called. */
int wakeup_at(struct wakeup *w, uint64_t when_ns, void (*fire)(void *arg),
              void (*arm)(void *arg), void *arg) WUR;
/* Entries waiting now. */
size_t wakeup_pending(struct wakeup *w);
/* Fire every waiting entry at once (a server that stops must not leave a
 * connection suspended) and stop the thread; later wakeup_at calls answer
 * -ESHUTDOWN, so threads that may still call it are safe until
 * wakeup_free. NULL is a no-op. */
void wakeup_stop(struct wakeup *w);
/* Free a stopped (or never used) timer; nobody may call wakeup_at any more.
 * NULL is a no-op. */
void wakeup_free(struct wakeup *w);

#endif
