/* bench/meta_bench.c: This file implements a micro-benchmark of the object
 * row writes of storage/meta.c (db_object_put), without HTTP or object
 * files: T threads put rows into C containers (thread i into container
 * i % C) on 3 disk groups under a temp directory, for S seconds, with
 * PRAGMA synchronous=FULL unless told otherwise. Prints puts/s, latency
 * percentiles and the commits the group commit made.
 *
 * Not built by make; build it by hand, e.g.:
 *   cc -std=c11 -D_GNU_SOURCE -O2 -I. bench/meta_bench.c common/[a-z]*.c \
 *      storage/dg.c storage/io.c storage/meta.c storage/meta_commit.c \
 *      -o build/meta_bench -lpthread $(pkg-config --cflags --libs \
 *      sqlite3 jansson libcrypto liburing inih libisal libarchive)
 *   build/meta_bench [-t threads] [-c containers] [-s seconds] [-n] [-d dir]
 * (-n: synchronous=NORMAL). */
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/timefmt.h"
#include "../storage/dg.h"
#include "../storage/meta.h"

#define NDG 3
#define CLUSTER "0123456789abcdef0123456789abcdef"
#define ACCOUNT "AUTH_bench"
#define MAX_LAT 2000000

/* Lets the same file build against a meta.c without the counter. */
#pragma weak db_pool_commits

struct bench {
    struct disk_group *dg[NDG];
    struct db_pool *pool;
    struct placement pla;
    struct placement *plc;
    unsigned threads, containers, seconds;
    atomic_bool stop;
    atomic_uint_fast64_t n_ok, n_err;
    uint32_t *lat_us; /* one per put, up to MAX_LAT */
    atomic_uint_fast64_t n_lat;
};

static void place(struct bench *b, struct placement *pl, const char *container)
{
    memset(pl, 0, sizeof(*pl));
    pl->kind = container ? ITEM_CONTAINER : ITEM_ACCOUNT;
    name_hash(CLUSTER, ACCOUNT, container, NULL, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = pl->hash[0];
    for (size_t i = 0; i < NDG; i++)
        pl->dg[i] = b->dg[i];
    pl->n_dg = pl->n_primary = NDG;
}

struct worker {
    struct bench *b;
    unsigned id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    const struct placement *pl = &b->plc[w->id % b->containers];
    char name[64];

    for (uint64_t i = 0; !atomic_load(&b->stop); i++) {
        snprintf(name, sizeof(name), "obj-%u-%llu", w->id, (unsigned long long)i);
        uint64_t t0 = mono_ns();
        int rc = db_object_put(b->pool, pl, &b->pla, "c", name, (int64_t)(1000 + i), 4096,
                               "application/octet-stream", "d41d8cd98f00b204e9800998ecf8427e", false);
        uint64_t us = (mono_ns() - t0) / 1000;
        atomic_fetch_add(rc == 0 ? &b->n_ok : &b->n_err, 1);
        uint64_t k = atomic_fetch_add(&b->n_lat, 1);
        if (k < MAX_LAT)
            b->lat_us[k] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
    return NULL;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;

    return a < c ? -1 : a > c;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(struct bench *b, const char *root, bool sync)
{
    bool created;

    for (int i = 0; i < NDG; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/dg%d", root, i);
        if (dg_open(&b->dg[i], path, (uint32_t)i + 1, CLUSTER, true) != 0)
            return -1;
    }
    if (db_pool_new(&b->pool, 256, sync) != 0)
        return -1;
    place(b, &b->pla, NULL);
    if (db_account_put(b->pool, &b->pla, ACCOUNT, 1, &created) != 0)
        return -1;
    b->plc = calloc(b->containers, sizeof(*b->plc));
    for (unsigned i = 0; i < b->containers; i++) {
        char name[32];
        snprintf(name, sizeof(name), "c%u", i);
        place(b, &b->plc[i], name);
        if (db_container_put(b->pool, &b->plc[i], &b->pla, ACCOUNT, name, 2, NULL, 0, &created))
            return -1;
    }
    return 0;
}

static void report(struct bench *b, double secs, uint64_t commits0)
{
    uint64_t n = atomic_load(&b->n_lat), ok = atomic_load(&b->n_ok);

    n = n < MAX_LAT ? n : MAX_LAT;
    qsort(b->lat_us, n, sizeof(*b->lat_us), cmp_u32);
    printf("threads=%u containers=%u secs=%.1f puts=%llu errors=%llu puts/s=%.0f", b->threads,
           b->containers, secs, (unsigned long long)ok, (unsigned long long)atomic_load(&b->n_err),
           (double)ok / secs);
    if (n)
        printf(" p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", b->lat_us[n / 2] / 1000.0,
               b->lat_us[n * 99 / 100] / 1000.0, b->lat_us[n - 1] / 1000.0);
    if (db_pool_commits) {
        uint64_t commits = db_pool_commits(b->pool) - commits0;
        printf(" commits=%llu rows/commit=%.2f", (unsigned long long)commits,
               commits ? 3.0 * (double)ok / (double)commits : 0.0);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct bench b = {.threads = 32, .containers = 16, .seconds = 5};
    char root[256] = "/tmp";
    bool sync = true;
    int opt;

    while ((opt = getopt(argc, argv, "t:c:s:nd:")) != -1) {
        if (opt == 't')
            b.threads = (unsigned)atoi(optarg);
        else if (opt == 'c')
            b.containers = (unsigned)atoi(optarg);
        else if (opt == 's')
            b.seconds = (unsigned)atoi(optarg);
        else if (opt == 'n')
            sync = false;
        else if (opt == 'd')
            snprintf(root, sizeof(root), "%s", optarg);
        else
            return 2;
    }
    if (!b.threads || !b.containers)
        return 2;
    strncat(root, "/meta-bench-XXXXXX", sizeof(root) - strlen(root) - 1);
    if (!mkdtemp(root) || setup(&b, root, sync) != 0) {
        fprintf(stderr, "meta_bench: setup failed in %s\n", root);
        return 1;
    }
    b.lat_us = calloc(MAX_LAT, sizeof(*b.lat_us));
    pthread_t *th = calloc(b.threads, sizeof(*th));
    struct worker *w = calloc(b.threads, sizeof(*w));
    uint64_t commits0 = db_pool_commits ? db_pool_commits(b.pool) : 0;
    uint64_t t0 = mono_ns();
    for (unsigned i = 0; i < b.threads; i++) {
        w[i] = (struct worker){&b, i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    sleep(b.seconds);
    atomic_store(&b.stop, true);
    for (unsigned i = 0; i < b.threads; i++)
        pthread_join(th[i], NULL);
    report(&b, (double)(mono_ns() - t0) / 1e9, commits0);
    db_pool_free(b.pool);
    for (int i = 0; i < NDG; i++)
        dg_close(b.dg[i]);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(th);
    free(w);
    free(b.plc);
    free(b.lat_us);
    return 0;
}
