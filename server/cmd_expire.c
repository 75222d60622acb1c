/* server/cmd_expire.c: `swiftlet expire [-c FILE | --data DIR] [--once]`:
 * the expirer (replication/expirer.h) by hand. With --once, one pass that
 * deletes every object whose X-Delete-At has passed, then a summary;
 * without, a pass every [expirer] interval until SIGINT/SIGTERM. Safe while
 * a server runs: the writes are the ones a DELETE makes. */
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "../replication/expirer.h"
#include "commands.h"

static int run_forever(struct cluster *c, struct db_pool *db, unsigned interval)
{
    struct expirer *e;

    command_block_signals();
    if (expirer_start(&e, c, db, interval) != 0) {
        fprintf(stderr, "swiftlet: cannot start the expirer thread\n");
        return 1;
    }
    command_wait_signal();
    expirer_free(e);
    return 0;
}

int cmd_expire(struct command_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    struct cluster *c = NULL;
    struct db_pool *db = NULL;
    struct expirer_stats st = {0};
    int rc = command_open_cluster(ctx, &c);

    if (rc != 0)
        return rc;
    if (db_pool_new(&db, cfg->db_cache, cfg->fsync) != 0) {
        fprintf(stderr, "swiftlet: cannot set up the databases\n");
        rc = 1;
        goto out;
    }
    if (!ctx->once) {
        rc = run_forever(c, db, cfg->expirer_interval);
        goto out;
    }
    rc = expirer_pass(c, db, (int64_t)time(NULL), &st, NULL);
    if (rc != 0)
        fprintf(stderr, "swiftlet: expirer pass failed: %s\n", err_str(rc));
    printf("expire: %llu entries due, %llu objects deleted, %llu stale entries dropped, "
           "%llu kept after errors\n",
           (unsigned long long)st.entries, (unsigned long long)st.expired,
           (unsigned long long)st.stale, (unsigned long long)st.errors);
    rc = rc != 0 || st.errors ? 1 : 0;
out:
    db_pool_free(db);
    cluster_free(c);
    return rc;
}
