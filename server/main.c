/* server/main.c: the swiftlet command line: `serve`, `--ephemeral` and the
 * small informational commands. It builds the shared server state, starts
 * the HTTP front end, and runs periodic housekeeping until SIGINT/SIGTERM. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "../replication/expirer.h"
#include "../storage/auditor.h"
#include "../replication/replicator.h"
#include "../replication/health.h"
#include "../storage/io.h"
#include "../storage/journal.h"
#include "../storage/meta.h"
#include "../storage/object.h"
#include "../storage/pending.h"
#include "auth.h"
#include "commands.h"
#include "http.h"
#include "info.h"
#include "metrics.h"
#include "ratelimit.h"
#include "recover.h"
#include "server.h"

struct options {
    const char *config_file;
    const char *data_dir;
    const char *listen;
    unsigned disk_groups;
    bool ephemeral;
    bool print_connect;
    bool dump_config;
    bool once;
    bool no_ratelimit;
    const char *command;     /* "serve" unless another command is named */
    int n_args;              /* positional arguments after the command */
    char **args;
};

/* The commands besides serve (server/commands.h); one line each. */
static const struct command {
    const char *name;
    int (*run)(struct command_ctx *ctx);
} commands[] = {
    {"ring", cmd_ring},
    {"audit", cmd_audit},
    {"expire", cmd_expire},
    {"replicate", cmd_replicate},
    {"status", cmd_status},
    {"bench", cmd_bench},
    {"user", cmd_user},
    {NULL, NULL},
};

static const struct command *command_find(const char *name)
{
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: swiftlet serve [-c FILE] [--data DIR] [--disk-groups N] [--listen HOST:PORT]\n"
            "                      [--user ACCOUNT:USER:KEY[:admin]]... [--log-level LEVEL]\n"
            "                      [--no-ratelimit]\n"
            "       swiftlet --ephemeral [--listen 127.0.0.1:PORT] [--disk-groups N] [--user ...]\n"
            "       swiftlet ring [-c FILE | --data DIR] [add|remove|reweight|zone|rebalance ...]\n"
            "       swiftlet audit|expire [-c FILE | --data DIR] [--once]\n"
            "       swiftlet status [-c FILE | --data DIR]   health of each disk group\n"
            "       swiftlet replicate [-c FILE | --data DIR] [--once]\n"
            "       swiftlet user [-c FILE | --data DIR] add|list|del|set-key|set-role ...\n"
            "       swiftlet bench --auth URL --user ACCOUNT:USER --key KEY [...] (bench --help)\n"
            "       swiftlet --dump-config [-c FILE] | --config-docs | --version | --help\n"
            "\n"
            "  serve          run from an INI config (-c) or a data directory (--data) whose\n"
            "                 N disk groups (default 3) are created on first start\n"
            "  --ephemeral    a throwaway server for tests: temporary data deleted on exit,\n"
            "                 user test:tester key testing; prints export ST_AUTH=... lines\n"
            "  --print-connect  print the auth URL and client examples once serving\n"
            "  --no-ratelimit   no per-container write limit ([ratelimit] enabled = false)\n"
            "  replicate      restore missing replicas and move handoffs home (--once: one pass)\n"
            "See docs/getting-started.md and docs/config.md.\n");
}

static int die(const char *msg)
{
    fprintf(stderr, "swiftlet: %s\n", msg);
    return 2;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Parse argv into opts and cfg; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, struct options *opts, struct config *cfg)
{
    enum { OPT_DATA = 256, OPT_DG, OPT_LISTEN, OPT_USER, OPT_EPHEMERAL, OPT_PRINT, OPT_DUMP,
           OPT_DOCS, OPT_VERSION, OPT_LOG, OPT_ONCE, OPT_NO_RL };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, OPT_DATA},
        {"disk-groups", required_argument, NULL, OPT_DG},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"user", required_argument, NULL, OPT_USER},
        {"ephemeral", no_argument, NULL, OPT_EPHEMERAL},
        {"print-connect", no_argument, NULL, OPT_PRINT},
        {"dump-config", no_argument, NULL, OPT_DUMP},
        {"config-docs", no_argument, NULL, OPT_DOCS},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"once", no_argument, NULL, OPT_ONCE},
        {"no-ratelimit", no_argument, NULL, OPT_NO_RL},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* Users and listen from flags override the file, so collect them first
     * and apply them after the file is loaded. */
    const char *users[64];
    size_t n_users = 0;
    const char *log_level = NULL;
    int c;
    /* bench parses its own options (server/cmd_bench.c): it gets every
     * argument after the command word, unseen by the getopt below. */
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        opts->command = argv[1];
        opts->n_args = argc - 2;
        opts->args = argv + 2;
        return -1;
    }
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opts->config_file = optarg; break;
        case OPT_DATA: opts->data_dir = optarg; break;
        case OPT_DG: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 3 || n > 64)
                return die("--disk-groups must be a number from 3 to 64");
            opts->disk_groups = (unsigned)n;
            break;
        }
        case OPT_LISTEN: opts->listen = optarg; break;
        case OPT_USER:
            if (n_users == ARRAY_SIZE(users))
                return die("too many --user options");
            users[n_users++] = optarg;
            break;
        case OPT_EPHEMERAL: opts->ephemeral = true; break;
        case OPT_PRINT: opts->print_connect = true; break;
        case OPT_DUMP: opts->dump_config = true; break;
        case OPT_DOCS: config_write_docs(stdout); return 0;
        case OPT_LOG: log_level = optarg; break;
        case OPT_ONCE: opts->once = true; break;
        case OPT_NO_RL: opts->no_ratelimit = true; break;
        case OPT_VERSION: printf("swiftlet %s\n", SWIFTLET_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    opts->command = optind < argc ? argv[optind++] : "serve";
    opts->n_args = argc - optind;
    opts->args = argv + optind;
    if (strcmp(opts->command, "serve") == 0 ? opts->n_args > 0 : !command_find(opts->command)) {
        fprintf(stderr, "swiftlet: unknown command '%s'\n",
                opts->n_args > 0 && strcmp(opts->command, "serve") == 0 ? opts->args[0]
                                                                     : opts->command);
        usage(stderr);
        return 2;
    }
    char err[512];
    if (opts->config_file && config_load(cfg, opts->config_file, err, sizeof(err)) != 0)
        return die(err);
    for (size_t i = 0; i < n_users; i++)
        if (config_add_user(cfg, users[i]) != 0) {
            fprintf(stderr, "swiftlet: bad --user '%s' (want ACCOUNT:USER:KEY[:admin])\n",
                    users[i]);
            return 2;
        }
    if (opts->listen && config_set(cfg, "server", "listen", opts->listen, err, sizeof(err)) != 0)
        return die(err);
    if (opts->data_dir && config_set(cfg, "storage", "data_dir", opts->data_dir, err,
                                     sizeof(err)) != 0)
        return die(err);
    if (log_level && config_set(cfg, "server", "log_level", log_level, err, sizeof(err)) != 0)
        return die(err);
    if (opts->no_ratelimit)
        cfg->ratelimit_enabled = false;
    return -1;
}

/* Host part of "HOST:PORT" as a client would write it in a URL. */
static char *url_host(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    char *host = xstrndup(listen, colon ? (size_t)(colon - listen) : strlen(listen));
    if (!*host || strcmp(host, "0.0.0.0") == 0) {
        free(host);
        return xstrdup("127.0.0.1");
    }
    if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0) {
        free(host);
        return xstrdup("[::1]");
    }
    if (strchr(host, ':') && host[0] != '[') {
        char *b = xasprintf("[%s]", host);
        free(host);
        return b;
    }
    return host;
}

static void print_connect(const struct server *srv, const struct options *opts,
                          const char *data_dir)
{
    const struct config *cfg = srv->cfg;
    const char *u = cfg->n_users ? cfg->users[0].account : "test";
    const char *un = cfg->n_users ? cfg->users[0].user : "tester";
    const char *k = cfg->n_users ? cfg->users[0].key : "testing";
    printf("swiftlet %s ready on %s (%s%s)\n", SWIFTLET_VERSION, srv->storage_url_base,
           opts->ephemeral ? "ephemeral data in " : "data in ", data_dir);
    printf("auth URL: %s/auth/v1.0  user: %s:%s  key: %s\n", srv->storage_url_base, u, un, k);
    printf("export ST_AUTH=%s/auth/v1.0 ST_USER=%s:%s ST_KEY=%s\n", srv->storage_url_base, u, un,
           k);
    /* The same user through Rackspace / Keystone v2.0 and Keystone v3. */
    printf("auth v2.0: %s/v2.0  username: %s  apiKey (or password): %s  tenant: %s\n",
           srv->storage_url_base, un, k, u);
    printf("auth v3: %s/v3  user: %s  domain: Default  password: %s  project: %s  "
           "project domain: Default\n", srv->storage_url_base, un, k, u);
    if (opts->print_connect) {
        printf("\ntry:\n  swift -A %s/auth/v1.0 -U %s:%s -K %s stat\n", srv->storage_url_base, u,
               un, k);
        printf("  curl -i -H 'X-Auth-User: %s:%s' -H 'X-Auth-Key: %s' %s/auth/v1.0\n", u, un, k,
               srv->storage_url_base);
        printf("  curl -s -X POST -H 'Content-Type: application/json' -d '{\"auth\": "
               "{\"RAX-KSKEY:apiKeyCredentials\": {\"username\": \"%s\", \"apiKey\": \"%s\"}}}' "
               "%s/v2.0/tokens\n", un, k, srv->storage_url_base);
        printf("  swift --auth-version 3 --os-auth-url %s/v3 --os-username %s --os-password %s "
               "--os-project-name %s --os-user-domain-name Default --os-project-domain-name "
               "Default stat\n", srv->storage_url_base, un, k, u);
        printf("  curl -i -H \"X-Auth-Token: $TOKEN\" -X PUT %s/v1/%s%s/photos\n",
               srv->storage_url_base, cfg->reseller_prefix, u);
        printf("stop with Ctrl-C\n");
    }
    fflush(stdout);
}

/* Wait for SIGINT/SIGTERM, rolling container stats up into accounts and
 * picking up a changed ring file once a second meanwhile. */
static void run_until_signal(struct server *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (;;) {
        struct timespec tick = {.tv_sec = 1, .tv_nsec = 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            log_info("msg=\"stopping\" signal=%d", sig);
            return;
        }
        int rc = db_rollup_flush(srv->db, NULL);
        if (rc)
            log_warn("msg=\"account rollup failed\" err=\"%s\"", err_str(rc));
        (void)cluster_reload(srv->cluster); /* a changed ring file; logs itself */
    }
}

/* The auditor thread of serve, or NULL when [auditor] enabled = false. */
static struct auditor *start_auditor(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    struct disk_group *dgs[64];
    size_t n = MIN(cluster_dg_count(srv->cluster), ARRAY_SIZE(dgs));
    struct auditor_opts o = {cfg->auditor_bytes_per_second, cfg->auditor_files_per_second,
                             srv->db, false};
    struct auditor *a = NULL;

    for (size_t i = 0; i < n; i++)
        dgs[i] = cluster_dg(srv->cluster, i);
    if (cfg->auditor && (auditor_new(&a, dgs, n, &o) != 0 ||
                         auditor_start(a, cfg->auditor_interval) != 0))
        log_warn("msg=\"cannot start the auditor\"");
    return a;
}

/* Put this thread, and so every thread it starts later, under SCHED_BATCH.
 *
 * Why: a small PUT passes through several of our threads (HTTP, worker,
 * journal committers, DB writers), each handing over with a wake-up. Under
 * the default policy every such wake-up may preempt the waker at once,
 * which then runs again a moment later only to block: measured on a 4 KiB
 * PUT load, ~20 context switches per request, the scheduler ~19% of the
 * server's CPU. A SCHED_BATCH thread that is woken does not preempt: it
 * runs when the waker blocks (or at the next tick), and the switches per
 * PUT fell by a quarter. Priorities are unchanged (nice stays what it
 * was); a client on the same machine still preempts the server when woken.
 * An error is only logged: the server works the same, a little slower. */
static void use_batch_scheduling(void)
{
    struct sched_param sp = {.sched_priority = 0};

    if (sched_setscheduler(0, SCHED_BATCH, &sp) != 0)
        log_warn("msg=\"cannot use SCHED_BATCH\" err=\"%s\"", err_str(-errno));
}

static int serve(struct config *cfg, struct options *opts)
{
    char err[512];
    char *tmp_dir = NULL;
    int rc = 1;

    if (opts->ephemeral) {
        const char *t = getenv("TMPDIR");
        tmp_dir = xasprintf("%s/swiftlet-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp_dir)) {
            perror("swiftlet: mkdtemp");
            free(tmp_dir);
            return 1;
        }
        if (config_set(cfg, "storage", "data_dir", tmp_dir, err, sizeof(err)) != 0)
            return die(err);
        if (cfg->n_users == 0 && config_add_user(cfg, "test:tester:testing:admin") != 0)
            return die("cannot add the default user");
        /* The data is deleted on exit, so syncing it to the platter buys
         * nothing: a test suite gets a faster server instead. */
        cfg->fsync = false;
        /* Nor is there anything to heal in data that lives as long as the
         * process: no background replication passes. */
        cfg->replicator_enabled = false;
    }
    if (!*cfg->data_dir && cfg->n_disk_groups == 0)
        return die("nothing to serve: give -c FILE (with disk_group entries) or --data DIR");
    enum log_level lvl;
    if (log_level_parse(cfg->log_level, &lvl) == 0)
        log_min_level = lvl;
    if (io_global_init(cfg->io_mode) != 0)
        return die("bad io mode (want auto, uring or sync)");
    io_set_fsync(cfg->fsync);
    if (cfg->batch_scheduling)
        use_batch_scheduling();

    /* Every thread inherits this mask; the main thread takes the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct server srv = {.cfg = cfg, .started_ns = mono_ns()};
    if (cluster_open(&srv.cluster, cfg, opts->disk_groups ? opts->disk_groups : 3, true, err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "swiftlet: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < cluster_dg_count(srv.cluster); i++)
        if (dg_usable(cluster_dg(srv.cluster, i)))   /* never touch a dg without its identity */
            object_clean_tmp(cluster_dg(srv.cluster, i));
    if (db_pool_new(&srv.db, cfg->db_cache, cfg->fsync) != 0 || auth_new(&srv.auth, cfg) != 0) {
        fprintf(stderr, "swiftlet: cannot set up the databases or users\n");
        goto out;
    }
    struct disk_group *dgs[64];
    size_t ndg = cluster_dg_count(srv.cluster);
    for (size_t i = 0; i < ndg && i < ARRAY_SIZE(dgs); i++)
        dgs[i] = cluster_dg(srv.cluster, i);
    srv.pending = pending_new(dgs, MIN(ndg, ARRAY_SIZE(dgs)));
    /* Before anything reads the disk groups: replaying the journals may
     * rewrite files, and relists their names. */
    if (cfg->journal && cfg->fsync &&
        journals_open(&srv.journals, dgs, MIN(ndg, ARRAY_SIZE(dgs)), cfg->journal_checkpoint_ms,
                      recover_listing_name, &srv) != 0) {
        fprintf(stderr, "swiftlet: cannot start the journals (see the log)\n");
        goto out;
    }
    if (recover_listings(&srv) != 0)
        log_warn("msg=\"listing recovery incomplete\"");
    srv.metrics = metrics_new();
    srv.ratelimit = ratelimit_new(cfg);
    struct http_server *hs = NULL;
    struct health *health = NULL;
    /* Logins hand out URLs built on storage_url_base: set it before the
     * first request can arrive, unless the kernel picks the port (":0"). */
    char *host = url_host(cfg->listen);
    const char *port = strrchr(cfg->listen, ':');
    if (port && strcmp(port, ":0") != 0)
        srv.storage_url_base = xasprintf("http://%s%s", host, port);
    int hrc = http_start(&hs, &srv, cfg->listen);
    if (hrc != 0) {
        free(host);
        fprintf(stderr, "swiftlet: cannot listen on %s: %s\n", cfg->listen, err_str(hrc));
        goto out;
    }
    if (!srv.storage_url_base)
        srv.storage_url_base = xasprintf("http://%s:%u", host, http_port(hs));
    free(host);
    if (health_start(&health, srv.cluster, cfg->health_probe_interval_ms,
                     cfg->health_min_free_percent) != 0)
        log_warn("msg=\"cannot start the disk group prober\"");
    log_info("msg=\"serving\" url=%s disk_groups=%zu io=%s", srv.storage_url_base,
             cluster_dg_count(srv.cluster), io_mode_in_use() == IO_URING ? "uring" : "sync");
    if (opts->ephemeral || opts->print_connect)
        print_connect(&srv, opts, cfg->data_dir);

    struct auditor *aud = start_auditor(&srv);
    struct expirer *exp = NULL;
    if (cfg->expirer && expirer_start(&exp, srv.cluster, srv.db, cfg->expirer_interval) != 0)
        log_warn("msg=\"cannot start the expirer\"");
    struct replicator *repl = NULL;
    if (cfg->replicator_enabled && replicator_start(&repl, srv.cluster, cfg) != 0)
        log_warn("msg=\"cannot start the replicator\"");
    run_until_signal(&srv);
    replicator_stop(repl);
    auditor_free(aud);
    expirer_free(exp);
    http_stop(hs);
    health_stop(health);
    if (db_rollup_flush(srv.db, NULL) != 0)
        log_warn("msg=\"final account rollup failed\"");
    rc = 0;
out:
    free(srv.storage_url_base);
    metrics_free(srv.metrics);
    ratelimit_free(srv.ratelimit);
    pending_free(srv.pending);
    auth_free(srv.auth);
    db_pool_free(srv.db);
    journals_close(srv.journals);
    cluster_free(srv.cluster);
    if (tmp_dir) {
        nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(tmp_dir);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct options opts = {0};
    config_init(&cfg);
    int rc = parse_args(argc, argv, &opts, &cfg);
    if (rc < 0) {
        if (opts.dump_config) {
            config_dump(&cfg, stdout);
            rc = 0;
        } else if (strcmp(opts.command, "serve") != 0) {
            struct command_ctx ctx = {&cfg, opts.disk_groups, opts.once, opts.n_args, opts.args};
            rc = command_find(opts.command)->run(&ctx);
        } else {
            rc = serve(&cfg, &opts);
        }
    }
    config_release(&cfg);
    return rc;
}
