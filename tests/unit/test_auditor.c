/* tests/unit/test_auditor.c: unit tests of storage/auditor.c and the
 * verified read of storage/object_read.c, on temporary disk groups: good
 * replicas pass; a flipped body byte, a flipped trailer byte, a truncated
 * .data, a bad .meta and a damaged DB are quarantined (and nothing else);
 * the pacer's rate, checked on a fake clock by how much time it asked to
 * sleep; a stopped auditor; a GET-style open that skips a corrupt replica,
 * and one whose trailer is bad. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/hash.h"
#include "../../common/kv.h"
#include "../../common/log.h"
#include "../../common/timefmt.h"
#include "../../storage/auditor.h"
#include "../../storage/dg.h"
#include "../../storage/io.h"
#include "../../storage/meta.h"
#include "../../storage/object.h"

#define NDG 3
#define CLUSTER "0123456789abcdef0123456789abcdef"

static char root[64];
static struct disk_group *dgs[NDG];

/* ---- helpers ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void placement_for(struct placement *pl, enum item_kind kind, const char *obj)
{
    memset(pl, 0, sizeof(*pl));
    pl->kind = kind;
    name_hash(CLUSTER, "AUTH_test", kind == ITEM_ACCOUNT ? NULL : "c",
              kind == ITEM_OBJECT ? obj : NULL, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = 7;
    for (size_t i = 0; i < NDG; i++)
        pl->dg[i] = dgs[i];
    pl->n_dg = pl->n_primary = NDG;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131 + seed * 7) & 0xff);
}

/* Store object obj (n bytes, pattern seed) on all three disk groups, with
 * one metadata value of meta_len bytes (none when 0). */
static void put_meta(struct placement *pl, const char *obj, size_t n, unsigned seed,
                     size_t meta_len)
{
    struct object_writer *w;
    struct object_meta m;
    uint8_t *body = malloc(n ? n : 1);

    placement_for(pl, ITEM_OBJECT, obj);
    fill(body, n, seed);
    assert_int_equal(object_writer_open(&w, pl, "/AUTH_test/c/o", ts_now()), 0);
    assert_int_equal(object_writer_write(w, body, n), 0);
    object_meta_init(&m);
    if (meta_len) {
        char *v = malloc(meta_len + 1);
        memset(v, 'm', meta_len);
        v[meta_len] = '\0';
        kv_add(&m.headers, "X-Object-Meta-Big", v);
        free(v);
    }
    assert_int_equal(object_writer_commit(w, &m, NULL, NULL), 0);
    object_meta_release(&m);
    free(body);
}

/* Store object obj (n bytes, pattern seed) on all three disk groups. */
static void put(struct placement *pl, const char *obj, size_t n, unsigned seed)
{
    put_meta(pl, obj, n, seed, 0);
}

/* Path of the single file ending in ext in pl's directory on dg i. */
static char *file_of(const struct placement *pl, size_t i, const char *ext)
{
    char *dir = placement_dir(pl, dgs[i]);
    char cmd[512], line[512];
    snprintf(cmd, sizeof(cmd), "ls %s/*%s 2>/dev/null", dir, ext);
    FILE *f = popen(cmd, "r");
    char *got = f && fgets(line, sizeof(line), f) ? strndup(line, strcspn(line, "\n")) : NULL;
    if (f)
        pclose(f);
    free(dir);
    assert_non_null(got);
    return got;
}

static void flip_byte(const char *path, off_t off_from_end_or_start, bool from_end)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    uint8_t b;

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    off_t off = from_end ? st.st_size - 1 - off_from_end_or_start : off_from_end_or_start;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* Files quarantined on dg i for the hash of pl. */
static int quarantined_on(const struct placement *pl, size_t i, const char *kind)
{
    char cmd[512], line[64];
    snprintf(cmd, sizeof(cmd), "ls %s/quarantined/%s/%s 2>/dev/null | wc -l", dg_path(dgs[i]),
             kind, pl->hash_hex);
    FILE *f = popen(cmd, "r");
    int n = f && fgets(line, sizeof(line), f) ? atoi(line) : -1;
    if (f)
        pclose(f);
    return n;
}

static struct auditor *new_auditor(uint64_t bps, unsigned fps)
{
    struct auditor *a;
    struct auditor_opts o = {.bytes_per_second = bps, .files_per_second = fps};

    assert_int_equal(auditor_new(&a, dgs, NDG, &o), 0);
    return a;
}

static struct auditor_stats pass(uint64_t bps, unsigned fps)
{
    struct auditor *a = new_auditor(bps, fps);
    struct auditor_stats st = {0};

    assert_int_equal(auditor_pass(a, &st), 0);
    auditor_free(a);
    return st;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
    (void)state;
    log_min_level = LOG_ERROR;
    if (io_global_init("sync") != 0)
        return -1;
    strcpy(root, "/tmp/swiftlet-audit-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    for (size_t i = 0; i < NDG; i++) {
        char *p = xasprintf("%s/dg%zu", root, i + 1);
        int rc = dg_open(&dgs[i], p, (uint32_t)i + 1, CLUSTER, true);
        free(p);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDG; i++)
        dg_close(dgs[i]);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- tests ---- */

static void test_good_files_pass(void **state)
{
    struct placement a, b;
    (void)state;

    put(&a, "a", 1000, 1);
    put(&b, "b", 200000, 2);
    struct auditor_stats st = pass(0, 0);
    assert_int_equal(st.files, 6);
    assert_int_equal(st.bytes, 3 * (1000 + 200000));
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(st.errors, 0);
    for (size_t i = 0; i < NDG; i++)
        assert_int_equal(quarantined_on(&a, i, "objects"), 0);
}

/* One kind of damage to dg 1's replica: only that file is quarantined. */
static void damaged_replica_is_quarantined(void (*damage)(const char *path))
{
    struct placement pl;
    struct auditor_stats before, after;

    put(&pl, "victim", 5000, 3);
    char *path = file_of(&pl, 1, ".data");
    damage(path);
    auditor_totals(&before);
    struct auditor_stats st = pass(0, 0);
    auditor_totals(&after);
    assert_int_equal(st.files, 3);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(after.quarantined - before.quarantined, 1);
    assert_int_equal(access(path, F_OK), -1);            /* moved, */
    assert_int_equal(quarantined_on(&pl, 1, "objects"), 1);   /* not deleted */
    assert_int_equal(quarantined_on(&pl, 0, "objects"), 0);
    assert_int_equal(quarantined_on(&pl, 2, "objects"), 0);
    /* The good replicas are still read; a second pass finds nothing new. */
    st = pass(0, 0);
    assert_int_equal(st.files, 2);
    assert_int_equal(st.quarantined, 0);
    free(path);
}

static void flip_body(const char *path)
{
    flip_byte(path, 10, false);
}

static void flip_trailer(const char *path)
{
    flip_byte(path, 0, true);    /* the last byte: the JSON's CRC32C */
}

static void truncate_file(const char *path)
{
    assert_int_equal(truncate(path, 4000), 0);
}

static void test_flipped_body_byte(void **state)
{
    (void)state;
    damaged_replica_is_quarantined(flip_body);
}

static void test_flipped_trailer_byte(void **state)
{
    (void)state;
    damaged_replica_is_quarantined(flip_trailer);
}

static void test_truncated_file(void **state)
{
    (void)state;
    damaged_replica_is_quarantined(truncate_file);
}

static void test_bad_meta(void **state)
{
    struct placement pl;
    struct kv_list h = KV_LIST_INIT;
    (void)state;

    put(&pl, "posted", 10, 4);
    kv_add(&h, "X-Object-Meta-A", "b");
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", ts_now(), NULL, &h, NULL), 0);
    kv_release(&h);
    char *path = file_of(&pl, 2, ".meta");
    assert_int_equal(truncate(path, 5), 0);
    struct auditor_stats st = pass(0, 0);
    assert_int_equal(st.files, 6);   /* 3 .data + 3 .meta */
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(quarantined_on(&pl, 2, "objects"), 1);
    free(path);
}

static void test_damaged_db(void **state)
{
    struct placement pl;
    struct db_pool *p;
    bool created;
    (void)state;

    placement_for(&pl, ITEM_ACCOUNT, NULL);
    assert_int_equal(db_pool_new(&p, 8, false), 0);
    assert_int_equal(db_account_put(p, &pl, "AUTH_test", ts_now(), &created), 0);
    db_pool_free(p);
    struct auditor_stats st = pass(0, 0);
    assert_int_equal(st.dbs, 3);
    assert_int_equal(st.quarantined, 0);

    char *path = file_of(&pl, 0, ".db");
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage, not sqlite", 19, 0), 19);
    close(fd);
    st = pass(0, 0);
    assert_int_equal(st.dbs, 3);
    assert_int_equal(st.quarantined, 1);
    char *q = xasprintf("%s/quarantined/accounts/%s/%s.db", dg_path(dgs[0]), pl.hash_hex,
                        pl.hash_hex);
    assert_int_equal(access(q, F_OK), 0);     /* with its -wal and -shm, if any */
    assert_int_equal(access(path, F_OK), -1);
    free(q);
    free(path);
}

/* ---- pacing, on a fake clock ---- */

struct fake_clock {
    uint64_t now;
    uint64_t sleeps;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, uint64_t ns)
{
    struct fake_clock *c = ctx;
    c->now += ns;
    c->sleeps++;
}

static void test_byte_rate(void **state)
{
    struct placement a, b;
    struct fake_clock clk = {1000000000000ULL, 0};
    (void)state;

    put(&a, "r1", 300000, 5);
    put(&b, "r2", 100000, 6);
    struct auditor *au = new_auditor(1000000, 0);   /* 1 MB/s */
    struct auditor_stats st = {0};
    auditor_set_clock(au, fake_now, fake_sleep, &clk);
    assert_int_equal(auditor_pass(au, &st), 0);
    auditor_free(au);
    /* 1.2 MB read at 1 MB/s: the pass must have waited 1.2 s, less the
     * last 64 KiB chunk (paced before it is read, so not waited for). */
    uint64_t elapsed = clk.now - 1000000000000ULL;
    assert_int_equal(st.bytes, 1200000);
    assert_true(elapsed >= 1200000000ULL - 65536000ULL);
    assert_true(elapsed <= 1200000000ULL);
    assert_true(clk.sleeps >= 15);   /* in chunks, not one burst at the end */
}

static void test_file_rate(void **state)
{
    struct placement pl;
    struct fake_clock clk = {5000000000ULL, 0};
    (void)state;

    for (unsigned i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "f%u", i);
        put(&pl, name, 10, i);
    }
    struct auditor *au = new_auditor(0, 10);       /* 10 files/s */
    struct auditor_stats st = {0};
    auditor_set_clock(au, fake_now, fake_sleep, &clk);
    assert_int_equal(auditor_pass(au, &st), 0);
    auditor_free(au);
    assert_int_equal(st.files, 12);
    assert_int_equal(clk.now - 5000000000ULL, 1100000000ULL);   /* 11 gaps of 0.1 s */
}

static void test_stop(void **state)
{
    struct placement pl;
    (void)state;

    put(&pl, "s", 10, 1);
    struct auditor *au = new_auditor(0, 0);
    struct auditor_stats st = {0};
    auditor_stop(au);
    assert_int_equal(auditor_pass(au, &st), -ECANCELED);
    assert_int_equal(st.files, 0);
    auditor_free(au);
}

/* ---- a GET's verified open ---- */

static void test_verified_open_falls_back(void **state)
{
    struct placement pl;
    struct object_reader r;
    uint8_t want[3000];
    (void)state;

    put(&pl, "get", sizeof(want), 9);
    fill(want, sizeof(want), 9);
    char *path = file_of(&pl, 0, ".data");
    flip_body(path);
    /* An unverified open serves the first replica, corrupt or not. */
    assert_int_equal(object_open(&r, &pl), 0);
    assert_null(r.body);
    object_reader_close(&r);
    assert_int_equal(object_open_verified(&r, &pl, 65536), 0);
    assert_non_null(r.body);
    assert_memory_equal(r.body, want, sizeof(want));
    assert_true(r.dg != dgs[0]);
    object_reader_close(&r);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(quarantined_on(&pl, 0, "objects"), 1);
    /* Larger than verify_max: not read, not checked. */
    assert_int_equal(object_open_verified(&r, &pl, 100), 0);
    assert_null(r.body);
    object_reader_close(&r);
    free(path);
}

/* A small body in a file its metadata makes larger than verify_max (so
 * not read whole: storage/object_int.h data_read_small) is still read and
 * checked. */
static void test_verified_open_much_metadata(void **state)
{
    struct placement pl;
    struct object_reader r;
    uint8_t want[50];
    (void)state;

    put_meta(&pl, "bigmeta", sizeof(want), 4, 6000);
    fill(want, sizeof(want), 4);
    char *path = file_of(&pl, 0, ".data");
    flip_body(path);
    assert_int_equal(object_open_verified(&r, &pl, 100), 0);
    assert_non_null(r.body);
    assert_memory_equal(r.body, want, sizeof(want));
    assert_int_equal(r.body[sizeof(want)], '\0');
    assert_true(r.dg != dgs[0]);
    object_reader_close(&r);
    assert_int_equal(quarantined_on(&pl, 0, "objects"), 1);
    free(path);
}

/* A read leaves the access times alone: with relatime the first read of
 * a new file (or of its directory) would write its inode. */
static void test_read_keeps_atime(void **state)
{
    struct placement pl;
    struct object_reader r;
    struct stat st;
    const struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_nsec = UTIME_OMIT}};
    char *path[NDG], *dir[NDG];
    (void)state;

    put(&pl, "atime", 300, 6);
    for (size_t i = 0; i < NDG; i++) {
        path[i] = file_of(&pl, i, ".data");
        dir[i] = placement_dir(&pl, dgs[i]);
        /* older than the mtimes: relatime would update both */
        assert_int_equal(utimensat(AT_FDCWD, path[i], old, 0), 0);
        assert_int_equal(utimensat(AT_FDCWD, dir[i], old, 0), 0);
    }
    assert_int_equal(object_open_verified(&r, &pl, 65536), 0);
    object_reader_close(&r);
    assert_int_equal(object_open(&r, &pl), 0);
    object_reader_close(&r);
    for (size_t i = 0; i < NDG; i++) {
        assert_int_equal(stat(path[i], &st), 0);
        assert_int_equal(st.st_atim.tv_sec, 1000000000);
        assert_int_equal(stat(dir[i], &st), 0);
        assert_int_equal(st.st_atim.tv_sec, 1000000000);
        free(dir[i]);
        free(path[i]);
    }
}

/* Every replica bad: -EIO, and each is quarantined as it is met. */
static void test_verified_open_all_bad(void **state)
{
    struct placement pl;
    struct object_reader r;
    (void)state;

    put(&pl, "allbad", 100, 2);
    for (size_t i = 0; i < NDG; i++) {
        char *path = file_of(&pl, i, ".data");
        flip_body(path);
        free(path);
    }
    assert_int_equal(object_open_verified(&r, &pl, 65536), -EIO);   /* the last copy met */
    object_reader_close(&r);
    for (size_t i = 0; i < NDG; i++)
        assert_int_equal(quarantined_on(&pl, i, "objects"), 1);
}

/* A replica whose metadata fails its checksum is quarantined by any open. */
static void test_open_quarantines_bad_trailer(void **state)
{
    struct placement pl;
    struct object_reader r;
    (void)state;

    put(&pl, "trailer", 100, 3);
    char *path = file_of(&pl, 0, ".data");
    flip_trailer(path);
    assert_int_equal(object_open(&r, &pl), 0);
    assert_true(r.dg != dgs[0]);
    object_reader_close(&r);
    assert_int_equal(quarantined_on(&pl, 0, "objects"), 1);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_files_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_body_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_trailer_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_open_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_open_much_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_keeps_atime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_open_all_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_quarantines_bad_trailer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
