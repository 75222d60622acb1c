/* server/commands.c: what the non-serve commands share: opening the
 * cluster they work on. */
#include <signal.h>
#include <stdio.h>

#include "../common/log.h"
#include "../storage/io.h"
#include "commands.h"

int command_open_cluster(const struct command_ctx *ctx, struct cluster **out)
{
    const struct config *cfg = ctx->cfg;
    char err[512];
    enum log_level lvl;

    if (!*cfg->data_dir && cfg->n_disk_groups == 0) {
        fprintf(stderr, "swiftlet: give -c FILE (with disk_group entries) or --data DIR\n");
        return 2;
    }
    if (log_level_parse(cfg->log_level, &lvl) == 0)
        log_min_level = lvl;
    if (io_global_init(cfg->io_mode) != 0) {
        fprintf(stderr, "swiftlet: bad io mode (want auto, uring or sync)\n");
        return 2;
    }
    io_set_fsync(cfg->fsync);
    if (cluster_open(out, cfg, ctx->disk_groups ? ctx->disk_groups : 3, false, err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "swiftlet: %s\n", err);
        return 1;
    }
    return 0;
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void command_block_signals(void)
{
    sigset_t set;

    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void command_wait_signal(void)
{
    sigset_t set;
    int sig;

    stop_signals(&set);
    sigwait(&set, &sig);
}
