/* server/cmd_status.c: implements `swiftlet status [-c FILE | --data DIR]`:
 * probe each disk group now (the same probe the server runs; its file name
 * is unique, so this is safe while a server runs on the same disk groups),
 * then print one line per disk group and whether writes have a quorum. */
#include <stdio.h>

#include "../common/buf.h"
#include "../replication/health.h"
#include "commands.h"

int cmd_status(struct command_ctx *ctx)
{
    struct cluster *c;
    struct buf out = BUF_INIT;
    int rc = command_open_cluster(ctx, &c);

    if (rc != 0)
        return rc;
    if (ctx->argc > 0) {
        fprintf(stderr, "swiftlet: status takes no arguments\n");
        cluster_free(c);
        return 2;
    }
    health_probe_all(c, ctx->cfg->health_min_free_percent);
    if (health_report_text(c, &out) == 0)
        fputs(out.data, stdout);
    rc = health_quorum(c) ? 0 : 1;
    buf_release(&out);
    cluster_free(c);
    return rc;
}
