/* server/cmd_bench.c: implements `swiftlet bench`, the load generator
 * (tools/bench.h) as a command: its options (parsed here with getopt_long,
 * since main.c hands bench everything after the command word), the run,
 * then the reports. It needs no disk groups: it is a client of any Swift
 * endpoint, the server itself included. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/bench.h"
#include "commands.h"

#define MAX_OBJECT_SIZE 5368709120ULL   /* Swift's max_file_size */

struct bench_outputs {
    const char *csv, *json, *plot;
};

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: swiftlet bench --auth URL --user ACCOUNT:USER --key KEY [--concurrency N]\n"
            "                      [--size BYTES] [--containers N] [--duration S | --requests N]\n"
            "                      [--mix put=70,get=20,head=5,delete=5,list=0] [--rate R]\n"
            "                      [--csv FILE] [--json FILE] [--plot FILE.png] [--prefix NAME]\n"
            "                      [--timeout S] [--quiet]\n"
            "  --auth, --user and --key default to $ST_AUTH, $ST_USER and $ST_KEY.\n"
            "  Defaults: 16 in flight, 4096-byte objects, 1 container, 10 s, the mix above,\n"
            "  --rate 0 (as fast as possible; else total requests/s), prefix swiftlet-bench.\n"
            "  Containers <prefix>-0..N-1 are created first; GET, HEAD and DELETE use objects\n"
            "  the run wrote; list is a container GET with format=json&limit=100.\n"
            "See docs/bench.md.\n");
}

static int bad(const char *opt, const char *want)
{
    fprintf(stderr, "swiftlet bench: %s wants %s\n", opt, want);
    return 2;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool prefix_ok(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && n <= 64 &&
           strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Apply one option; -1 to go on, else an exit code. */
static int bench_opt(int c, const char *arg, struct bench_opts *o, struct bench_outputs *out,
                     bool *have_duration)
{
    uint64_t v;
    char err[256];

    switch (c) {
    case 'a': o->auth_url = arg; break;
    case 'u': o->user = arg; break;
    case 'k': o->key = arg; break;
    case 'n':
        if (!parse_u64(arg, 1, 10000, &v))
            return bad("--concurrency", "a number from 1 to 10000");
        o->concurrency = (unsigned)v;
        break;
    case 's':
        if (!parse_u64(arg, 0, MAX_OBJECT_SIZE, &o->size))
            return bad("--size", "a byte count from 0 to 5368709120");
        break;
    case 'C':
        if (!parse_u64(arg, 1, 1000000, &v))
            return bad("--containers", "a number from 1 to 1000000");
        o->containers = (unsigned)v;
        break;
    case 'd':
        if (!parse_seconds(arg, 0.1, 86400, &o->duration_s))
            return bad("--duration", "seconds from 0.1 to 86400");
        *have_duration = true;
        break;
    case 'r':
        if (!parse_u64(arg, 1, UINT64_MAX / 2, &o->requests))
            return bad("--requests", "a number above 0");
        break;
    case 'm':
        if (bench_mix_parse(arg, o->weights, err, sizeof(err)) != 0) {
            fprintf(stderr, "swiftlet bench: %s\n", err);
            return 2;
        }
        break;
    case 'R':
        if (!parse_seconds(arg, 0, 1e7, &o->rate))
            return bad("--rate", "requests per second, 0 for as fast as possible");
        break;
    case 't':
        if (!parse_seconds(arg, 0.1, 86400, &o->timeout_s))
            return bad("--timeout", "seconds from 0.1 to 86400");
        break;
    case 'p':
        if (!prefix_ok(arg))
            return bad("--prefix", "1 to 64 of A-Z a-z 0-9 . _ -");
        o->prefix = arg;
        break;
    case 'q': o->progress = false; break;
    case 'c': out->csv = arg; break;
    case 'j': out->json = arg; break;
    case 'P': out->plot = arg; break;
    case 'h': bench_usage(stdout); return 0;
    default: bench_usage(stderr); return 2;
    }
    return -1;
}

/* Options into o and out; -1 to go on, else an exit code. */
static int bench_parse(int argc, char **argv, struct bench_opts *o, struct bench_outputs *out)
{
    static const struct option longopts[] = {
        {"auth", required_argument, NULL, 'a'},     {"user", required_argument, NULL, 'u'},
        {"key", required_argument, NULL, 'k'},      {"concurrency", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},     {"containers", required_argument, NULL, 'C'},
        {"duration", required_argument, NULL, 'd'}, {"requests", required_argument, NULL, 'r'},
        {"mix", required_argument, NULL, 'm'},      {"rate", required_argument, NULL, 'R'},
        {"timeout", required_argument, NULL, 't'},  {"prefix", required_argument, NULL, 'p'},
        {"csv", required_argument, NULL, 'c'},      {"json", required_argument, NULL, 'j'},
        {"plot", required_argument, NULL, 'P'},     {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    bool have_duration = false;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
        if ((rc = bench_opt(c, optarg, o, out, &have_duration)) >= 0)
            return rc;
    if (optind < argc) {
        fprintf(stderr, "swiftlet bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (have_duration && o->requests) {
        fprintf(stderr, "swiftlet bench: give --duration or --requests, not both\n");
        return 2;
    }
    if (!o->auth_url || !o->user || !o->key || !*o->auth_url || !*o->user) {
        fprintf(stderr, "swiftlet bench: needs --auth URL, --user ACCOUNT:USER and --key KEY "
                        "(or ST_AUTH, ST_USER, ST_KEY)\n");
        return 2;
    }
    if (out->plot && !bench_have_gnuplot()) {
        fprintf(stderr, "swiftlet bench: --plot needs gnuplot, which is not installed "
                        "(Debian: apt-get install gnuplot-nox)\n");
        return 1;
    }
    return -1;
}

/* Write the files asked for; 0 or 1. */
static int bench_outputs_write(const struct bench_result *res, const struct bench_outputs *out)
{
    int rc = 0, err;

    if (out->csv && (err = bench_write_csv(res, out->csv)) != 0) {
        fprintf(stderr, "swiftlet bench: cannot write '%s': %s\n", out->csv, err_str(err));
        rc = 1;
    }
    if (out->json && (err = bench_write_json(res, out->json)) != 0) {
        fprintf(stderr, "swiftlet bench: cannot write '%s': %s\n", out->json, err_str(err));
        rc = 1;
    }
    if (out->plot && (err = bench_write_plot(res, out->plot)) != 0) {
        fprintf(stderr, "swiftlet bench: cannot draw '%s' with gnuplot: %s\n", out->plot,
                err == -ENOENT ? "gnuplot is not installed" : err_str(err));
        rc = 1;
    }
    return rc;
}

int cmd_bench(struct command_ctx *ctx)
{
    struct bench_opts o;
    struct bench_outputs out = {NULL, NULL, NULL};
    struct bench_result *res = xcalloc(1, sizeof(*res));
    char **argv = xcalloc((size_t)ctx->argc + 2, sizeof(*argv));
    char err[1024];
    int rc;

    bench_opts_init(&o);
    o.auth_url = getenv("ST_AUTH");
    o.user = getenv("ST_USER");
    o.key = getenv("ST_KEY");
    o.progress = true;
    argv[0] = (char *)"swiftlet bench";
    memcpy(argv + 1, ctx->argv, (size_t)ctx->argc * sizeof(*argv));
    rc = bench_parse(ctx->argc + 1, argv, &o, &out);
    if (rc >= 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    if (bench_run(&o, res, err, sizeof(err)) != 0) {
        fprintf(stderr, "swiftlet bench: %s\n", err);
        rc = 1;
        goto out;
    }
    bench_write_table(res, stdout);
    fflush(stdout);
    rc = bench_outputs_write(res, &out);
    bench_result_release(res);
out:
    free(argv);
    free(res);
    return rc;
}
