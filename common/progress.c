/* common/progress.c: a progress bar on a terminal, periodic lines elsewhere. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "timefmt.h"
#include "util.h"

#define BAR_WIDTH 30
#define TTY_INTERVAL_NS (100 * 1000000ull)
#define LINE_INTERVAL_NS (5000 * 1000000ull)

struct progress {
    char *what;
    uint64_t total, done;
    uint64_t started_ns, shown_ns;
    bool tty;
};

struct progress *progress_start(const char *what, uint64_t total, int quiet)
{
    if (quiet)
        return NULL;
    struct progress *p = xmalloc(sizeof(*p));
    p->what = xstrdup(what);
    p->total = total;
    p->done = 0;
    p->started_ns = p->shown_ns = mono_ns();
    p->tty = isatty(STDERR_FILENO) == 1;
    return p;
}

static void show(const struct progress *p, bool final)
{
    double secs = (double)(mono_ns() - p->started_ns) / 1e9;

    if (p->tty && p->total) {
        char bar[BAR_WIDTH + 1];
        size_t fill = (size_t)(BAR_WIDTH * (p->done > p->total ? 1.0
                                                               : (double)p->done / (double)p->total));
        memset(bar, '#', fill);
        memset(bar + fill, '.', BAR_WIDTH - fill);
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r%s [%s] %llu/%llu %.1f s%s", p->what, bar,
                (unsigned long long)p->done, (unsigned long long)p->total, secs,
                final ? "\n" : "");
    } else if (p->total) {
        fprintf(stderr, "%s: %llu/%llu (%.0f%%) %.1f s\n", p->what, (unsigned long long)p->done,
                (unsigned long long)p->total, 100.0 * (double)p->done / (double)p->total, secs);
    } else {
        fprintf(stderr, "%s%s: %llu %.1f s%s", p->tty && !final ? "\r" : "", p->what,
                (unsigned long long)p->done, secs, p->tty && !final ? "" : "\n");
    }
    fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p)
        return;
    p->done = done;
    uint64_t now = mono_ns();
    if (now - p->shown_ns < (p->tty ? TTY_INTERVAL_NS : LINE_INTERVAL_NS))
        return;
    p->shown_ns = now;
    show(p, false);
}

void progress_finish(struct progress *p)
{
    if (!p)
        return;
    show(p, true);
    free(p->what);
    free(p);
}
