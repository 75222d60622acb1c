/* server/commands.h: the swiftlet commands other than `serve`.
 *
 * `swiftlet <command> [-c FILE | --data DIR] [--once] [ARGS...]` finds the
 * command in main.c's table and calls it with the loaded configuration and
 * the positional arguments that follow the command word. Every command
 * works on the same disk groups as `serve` and is safe to run while a
 * server runs on them. Each command lives in its own file. */
#ifndef SWIFTLET_SERVER_COMMANDS_H
#define SWIFTLET_SERVER_COMMANDS_H
#include <stdbool.h>
#include "../common/config.h"
#include "../replication/cluster.h"
#include "../storage/meta.h"

struct command_ctx {
    struct config *cfg;       /* loaded from -c FILE and flags */
    unsigned disk_groups;     /* --disk-groups, 0 when not given */
    bool once;                /* --once: one pass, then exit */
    int argc;                 /* positional arguments after the command word */
    char **argv;
};

/* Open the disk groups and ring of ctx->cfg as `serve` does, without
 * creating anything, and set the I/O mode and fsync from the config.
 * On error prints a message to stderr. 0, or an exit code (1 or 2). */
int command_open_cluster(const struct command_ctx *ctx, struct cluster **out);

/* Block SIGINT and SIGTERM in the calling thread, before it starts the
 * threads of a command that runs until stopped (they inherit the mask),
 * then wait for one of them. */
void command_block_signals(void);
void command_wait_signal(void);

/* Each returns the process exit code: 0 success, 1 failure, 2 usage. */
int cmd_ring(struct command_ctx *ctx);    /* server/cmd_ring.c */
int cmd_audit(struct command_ctx *ctx);     /* server/cmd_audit.c */
int cmd_expire(struct command_ctx *ctx);    /* server/cmd_expire.c */

/* `replicate [--once]`: replication passes (cmd_replicate.c). */
int cmd_replicate(struct command_ctx *ctx);

/* `swiftlet status`: probe every disk group and print its state, free
 * space and errors; 0 when a write quorum is usable, else 1. */
int cmd_status(struct command_ctx *ctx);

/* `swiftlet bench --auth URL ...`: the load generator (tools/bench.h);
 * parses its own options from ctx->argv (cmd_bench.c). */
int cmd_bench(struct command_ctx *ctx);

/* `swiftlet user add|list|del|set-key|set-role ...`: the users database
 * (cmd_user.c). */
int cmd_user(struct command_ctx *ctx);
#endif
