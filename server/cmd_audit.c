/* server/cmd_audit.c: `swiftlet audit [-c FILE | --data DIR] [--once]`:
 * the auditor (storage/auditor.h) by hand. With --once, one pass over every
 * disk group with progress and a summary; without, passes every
 * [auditor] interval until SIGINT/SIGTERM. Safe while a server runs on the
 * same disk groups: it only reads, and moves corrupt files aside. */
#include <signal.h>
#include <stdio.h>

#include "../common/log.h"
#include "../storage/auditor.h"
#include "commands.h"

static void print_summary(const struct auditor_stats *st)
{
    printf("audit: %llu files checked (%llu bytes), %llu databases, %llu quarantined, "
           "%llu unreadable\n",
           (unsigned long long)st->files, (unsigned long long)st->bytes,
           (unsigned long long)st->dbs, (unsigned long long)st->quarantined,
           (unsigned long long)st->errors);
}

/* Run the auditor thread until SIGINT or SIGTERM. */
static int run_forever(struct auditor *a, unsigned interval)
{
    command_block_signals();
    if (auditor_start(a, interval) != 0) {
        fprintf(stderr, "swiftlet: cannot start the auditor thread\n");
        return 1;
    }
    command_wait_signal();
    return 0;
}

int cmd_audit(struct command_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    struct cluster *c = NULL;
    struct auditor *a = NULL;
    struct disk_group *dgs[64];
    struct auditor_stats st = {0};
    int rc = command_open_cluster(ctx, &c);

    if (rc != 0)
        return rc;
    size_t n = MIN(cluster_dg_count(c), ARRAY_SIZE(dgs));
    for (size_t i = 0; i < n; i++)
        dgs[i] = cluster_dg(c, i);
    struct auditor_opts opts = {
        .bytes_per_second = cfg->auditor_bytes_per_second,
        .files_per_second = cfg->auditor_files_per_second,
        .progress = ctx->once,
    };
    if (auditor_new(&a, dgs, n, &opts) != 0) {
        rc = 1;
        goto out;
    }
    if (ctx->once) {
        rc = auditor_pass(a, &st) == 0 ? 0 : 1;
        print_summary(&st);
    } else {
        rc = run_forever(a, cfg->auditor_interval);
    }
out:
    auditor_free(a);
    cluster_free(c);
    return rc;
}
