/* server/cmd_replicate.c: `swiftlet replicate [-c FILE | --data DIR] [--once]`:
 * run replication passes over the disk groups from outside the server (safe
 * while it runs), with progress on stderr and a summary on stdout. Without
 * --once it repeats a pass every [replicator] interval until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "../common/log.h"
#include "../common/progress.h"
#include "../common/timefmt.h"
#include "../replication/replicator.h"
#include "../storage/meta_sync.h"
#include "commands.h"

static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void print_summary(const struct replicator_stats *st, double secs)
{
    printf("replication pass: %.1f s\n"
           "  partitions checked  %llu\n"
           "  suffixes synced     %llu\n"
           "  files copied        %llu (%llu bytes)\n"
           "  dbs created         %llu\n"
           "  db rows merged      %llu\n"
           "  handoffs moved      %llu\n"
           "  tombstones reaped   %llu\n"
           "  corrupt skipped     %llu\n"
           "  errors              %llu\n",
           secs, (unsigned long long)st->partitions, (unsigned long long)st->suffixes_synced,
           (unsigned long long)st->files_copied, (unsigned long long)st->bytes_copied,
           (unsigned long long)st->dbs_created, (unsigned long long)st->rows_merged,
           (unsigned long long)st->handoffs_moved, (unsigned long long)st->reaped,
           (unsigned long long)st->corrupt, (unsigned long long)st->errors);
    fflush(stdout);
}

/* One pass with a progress display; 0 when it met no error. */
static int one_pass(struct cluster *c, const struct config *cfg)
{
    struct replicator_stats st = {0};
    struct progress *prog = progress_start("replicating partitions",
                                           replicator_count_partitions(c), 0);
    uint64_t t0 = mono_ns();
    int rc = replicator_pass(c, cfg, prog, &stop_requested, &st);

    progress_finish(prog);
    print_summary(&st, (double)(mono_ns() - t0) / 1e9);
    if (rc < 0)
        fprintf(stderr, "swiftlet: replication met errors (first: %s)\n", err_str(rc));
    return rc;
}

/* Sleep secs seconds unless a signal asks to stop first. */
static void pause_between(unsigned secs)
{
    for (unsigned i = 0; i < secs * 10 && !atomic_load(&stop_requested); i++) {
        struct timespec t = {0, 100000000L};
        nanosleep(&t, NULL);
    }
}

int cmd_replicate(struct command_ctx *ctx)
{
    struct cluster *c = NULL;
    int rc;

    if (ctx->argc > 0) {
        fprintf(stderr, "usage: swiftlet replicate [-c FILE | --data DIR] [--once]\n");
        return 2;
    }
    if ((rc = command_open_cluster(ctx, &c)) != 0)
        return rc;
    dbsync_set_sync(ctx->cfg->fsync);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    do {
        rc = one_pass(c, ctx->cfg) < 0 ? 1 : 0;
        if (!ctx->once)
            pause_between(ctx->cfg->replicator_interval);
    } while (!ctx->once && !atomic_load(&stop_requested));
    cluster_free(c);
    return rc;
}
