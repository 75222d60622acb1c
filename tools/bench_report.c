/* tools/bench_report.c: this file implements the reports of `swiftlet
 * bench`: the live progress line, the summary table, the per-second CSV,
 * the JSON document (jansson) and the PNG plot drawn by gnuplot, all from a
 * finished struct bench_result. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}


static uint64_t sum(const uint64_t *v, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i];
    return t;
}

static double per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0;
}

void bench_progress_line(const struct bench_second *s, size_t t, char *out, size_t outlen)
{
    uint64_t total = sum(s->ops, BENCH_N_OPS);
    uint64_t errors = total - s->status[BENCH_2XX];

    snprintf(out, outlen,
             "[%4zus] %6llu req/s  p50 %.1f ms  p99 %.1f ms  errors %llu "
             "(404 %llu, 498 %llu, 429 %llu, 5xx %llu, conn %llu)",
             t, (unsigned long long)total, ms(s->p50_us), ms(s->p99_us),
             (unsigned long long)errors, (unsigned long long)s->status[BENCH_404],
             (unsigned long long)s->status[BENCH_498], (unsigned long long)s->status[BENCH_429],
             (unsigned long long)s->status[BENCH_5XX], (unsigned long long)s->status[BENCH_CONN]);
}

/* "put=70 get=20 ..." */
static void mix_text(const struct bench_opts *o, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned op = 0; op < BENCH_N_OPS && len < outlen; op++)
        len += (size_t)snprintf(out + len, outlen - len, "%s%s=%u", op ? " " : "",
                                bench_op_name(op), o->weights[op]);
}

static void table_row(FILE *out, const char *name, uint64_t n, double elapsed,
                      const struct bench_hist *h, const uint64_t *status)
{
    fprintf(out, "%-7s %9llu %9.1f %8.2f %8.2f %8.2f %8.2f", name, (unsigned long long)n,
            per_s(n, elapsed), ms(bench_hist_percentile(h, 50)), ms(bench_hist_percentile(h, 90)),
            ms(bench_hist_percentile(h, 99)), ms(h->max_us));
    for (unsigned s = 0; s < BENCH_N_STATUS; s++)
        fprintf(out, " %7llu", (unsigned long long)status[s]);
    fputc('\n', out);
}

void bench_write_table(const struct bench_result *res, FILE *out)
{
    const struct bench_opts *o = &res->opts;
    uint64_t total[BENCH_N_STATUS] = {0};
    char mix[128];

    mix_text(o, mix, sizeof(mix));
    fprintf(out, "swiftlet bench: %.1f s%s, %u in flight, %llu-byte objects, %u container%s, "
                 "mix %s, rate %s\n",
            res->elapsed_s, res->interrupted ? " (interrupted)" : "", o->concurrency,
            (unsigned long long)o->size, o->containers, o->containers == 1 ? "" : "s", mix,
            o->rate > 0 ? "capped" : "unlimited");
    if (o->rate > 0)
        fprintf(out, "rate target: %.1f requests/s\n", o->rate);
    fprintf(out, "%-7s %9s %9s %8s %8s %8s %8s", "op", "requests", "req/s", "p50 ms", "p90 ms",
            "p99 ms", "max ms");
    for (unsigned s = 0; s < BENCH_N_STATUS; s++)
        fprintf(out, " %7s", s == BENCH_CONN ? "conn" : bench_status_name(s));
    fputc('\n', out);
    for (unsigned op = 0; op < BENCH_N_OPS; op++) {
        uint64_t n = bench_count(res, op);
        for (unsigned s = 0; s < BENCH_N_STATUS; s++)
            total[s] += res->status[op][s];
        if (n || o->weights[op])
            table_row(out, bench_op_name(op), n, res->elapsed_s, &res->hist[op],
                      res->status[op]);
    }
    table_row(out, "total", bench_count(res, BENCH_N_OPS), res->elapsed_s, &res->all, total);
    fprintf(out, "sent %.1f MB, received %.1f MB of object data\n",
            (double)res->bytes_sent / 1e6, (double)res->bytes_received / 1e6);
}

int bench_write_csv(const struct bench_result *res, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "t");
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        fprintf(f, ",%s_ops", bench_op_name(op));
    fprintf(f, ",total_ops,p50_ms,p99_ms");
    for (unsigned s = 0; s < BENCH_N_STATUS; s++)
        fprintf(f, ",%s", bench_status_name(s));
    fputc('\n', f);
    for (size_t i = 0; i < res->n_seconds; i++) {
        const struct bench_second *s = &res->seconds[i];
        fprintf(f, "%zu", i + 1);
        for (unsigned op = 0; op < BENCH_N_OPS; op++)
            fprintf(f, ",%llu", (unsigned long long)s->ops[op]);
        fprintf(f, ",%llu,%.3f,%.3f", (unsigned long long)sum(s->ops, BENCH_N_OPS),
                ms(s->p50_us), ms(s->p99_us));
        for (unsigned st = 0; st < BENCH_N_STATUS; st++)
            fprintf(f, ",%llu", (unsigned long long)s->status[st]);
        fputc('\n', f);
    }
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static json_t *status_json(const uint64_t *status)
{
    json_t *j = json_object();
    for (unsigned s = 0; s < BENCH_N_STATUS; s++)
        json_object_set_new(j, bench_status_name(s), json_integer((json_int_t)status[s]));
    return j;
}

static json_t *latency_json(const struct bench_hist *h)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "p50", ms(bench_hist_percentile(h, 50)), "p90",
                     ms(bench_hist_percentile(h, 90)), "p99", ms(bench_hist_percentile(h, 99)),
                     "max", ms(h->max_us));
}

static json_t *config_json(const struct bench_opts *o)
{
    json_t *mix = json_object();
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        json_object_set_new(mix, bench_op_name(op), json_integer(o->weights[op]));
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:f, s:o}", "auth_url",
                     o->auth_url, "user", o->user, "prefix", o->prefix, "concurrency",
                     (json_int_t)o->concurrency, "size", (json_int_t)o->size, "containers",
                     (json_int_t)o->containers, "duration_s", o->requests ? 0.0 : o->duration_s,
                     "requests", (json_int_t)o->requests, "rate", o->rate, "mix", mix);
}

static json_t *series_json(const struct bench_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; i < res->n_seconds; i++) {
        const struct bench_second *s = &res->seconds[i];
        json_t *ops = json_object();
        for (unsigned op = 0; op < BENCH_N_OPS; op++)
            json_object_set_new(ops, bench_op_name(op), json_integer((json_int_t)s->ops[op]));
        json_array_append_new(
            a, json_pack("{s:I, s:o, s:I, s:f, s:f, s:f, s:o}", "t", (json_int_t)(i + 1), "ops",
                         ops, "total", (json_int_t)sum(s->ops, BENCH_N_OPS), "p50_ms",
                         ms(s->p50_us), "p99_ms", ms(s->p99_us), "max_ms", ms(s->max_us),
                         "status", status_json(s->status)));
    }
    return a;
}

static json_t *summary_json(const struct bench_result *res)
{
    uint64_t total[BENCH_N_STATUS] = {0};
    uint64_t n = bench_count(res, BENCH_N_OPS);
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        for (unsigned s = 0; s < BENCH_N_STATUS; s++)
            total[s] += res->status[op][s];
    return json_pack("{s:f, s:I, s:f, s:I, s:I, s:b, s:o, s:o}", "elapsed_s",
                     res->elapsed_s, "requests", (json_int_t)n, "req_per_s",
                     per_s(n, res->elapsed_s),
                     "bytes_sent", (json_int_t)res->bytes_sent, "bytes_received",
                     (json_int_t)res->bytes_received, "interrupted", res->interrupted,
                     "latency_ms", latency_json(&res->all), "status", status_json(total));
}

int bench_write_json(const struct bench_result *res, const char *path)
{
    json_t *ops = json_object();
    for (unsigned op = 0; op < BENCH_N_OPS; op++) {
        uint64_t n = bench_count(res, op);
        json_object_set_new(ops, bench_op_name(op),
                            json_pack("{s:I, s:f, s:o, s:o}", "requests", (json_int_t)n,
                                      "req_per_s", per_s(n, res->elapsed_s), "latency_ms",
                                      latency_json(&res->hist[op]), "status",
                                      status_json(res->status[op])));
    }
    json_t *doc = json_pack("{s:o, s:o, s:o, s:o}", "config", config_json(&res->opts),
                            "summary", summary_json(res), "ops", ops, "series",
                            series_json(res));
    int rc = doc && json_dump_file(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) == 0 ? 0 : -EIO;
    json_decref(doc);
    return rc;
}

bool bench_have_gnuplot(void)
{
    const char *path = getenv("PATH");
    char dir[4096];

    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && len < sizeof(dir) - 16) {
            snprintf(dir, sizeof(dir), "%.*s/gnuplot", (int)len, p);
            if (access(dir, X_OK) == 0)
                return true;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return false;
}

/* path as a gnuplot single-quoted string: '' stands for a quote. */
static void put_quoted(FILE *g, const char *path)
{
    fputc('\'', g);
    for (const char *c = path; *c; c++)
        fputs(*c == '\'' ? "''" : (char[2]){*c, '\0'}, g);
    fputc('\'', g);
}

static void plot_script(const struct bench_result *res, const char *path, FILE *g)
{
    fprintf(g, "set terminal pngcairo size 1000,750 noenhanced\nset output ");
    put_quoted(g, path);
    fprintf(g, "\n$data << EOD\n");
    for (size_t i = 0; i < res->n_seconds; i++) {
        const struct bench_second *s = &res->seconds[i];
        fprintf(g, "%zu", i + 1);
        for (unsigned op = 0; op < BENCH_N_OPS; op++)
            fprintf(g, " %llu", (unsigned long long)s->ops[op]);
        fprintf(g, " %llu %.3f %.3f %llu\n", (unsigned long long)sum(s->ops, BENCH_N_OPS),
                ms(s->p50_us), ms(s->p99_us),
                (unsigned long long)(sum(s->ops, BENCH_N_OPS) - s->status[BENCH_2XX]));
    }
    fprintf(g, "EOD\nset multiplot layout 2,1 title 'swiftlet bench: %u in flight, "
               "%llu-byte objects, %u container(s)'\n",
            res->opts.concurrency, (unsigned long long)res->opts.size, res->opts.containers);
    /* fixed margins keep the two time axes aligned whatever the key widths */
    fprintf(g, "set lmargin 10\nset rmargin 14\n");
    fprintf(g, "set grid\nset key outside right\nset xlabel 'time (s)'\nset yrange [0:*]\n"
               "set ylabel 'requests/s'\nplot $data using 1:7 with linespoints lw 2 "
               "title 'total', $data using 1:10 with lines lc rgb 'red' title 'errors'");
    for (unsigned op = 0; op < BENCH_N_OPS; op++)
        if (res->opts.weights[op])
            fprintf(g, ", $data using 1:%u with lines title '%s'", op + 2, bench_op_name(op));
    fprintf(g, "\nset ylabel 'latency (ms)'\nplot $data using 1:8 with linespoints "
               "title 'p50', $data using 1:9 with linespoints title 'p99'\nunset multiplot\n");
}

int bench_write_plot(const struct bench_result *res, const char *path)
{
    if (!bench_have_gnuplot())
        return -ENOENT;
    fflush(NULL);
    FILE *g = popen("gnuplot", "w");
    if (!g)
        return -errno;
    plot_script(res, path, g);
    int st = pclose(g);
    if (st == -1)
        return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}
