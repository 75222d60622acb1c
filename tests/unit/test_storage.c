/* tests/unit/test_storage.c: unit tests of storage/dg.c, storage/io.c and
 * storage/object*.c: disk group identity and state, the name hash, the
 * replica fan-out and fsync_many in both I/O modes, and objects (round trip,
 * ETag check, newest wins, tombstones, .meta, corrupt replicas, quorum, temp
 * files, the batched commit with a failing rename, directories it creates,
 * metadata larger than one tail read, single-replica reads of current disk
 * groups).
 * The object tests run twice: once with io_uring (when the kernel allows
 * it) and once with the pwrite fallback. */
#include <dirent.h>
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
#include "../../storage/dg.h"
#include "../../storage/fresh.h"
#include "../../storage/io.h"
#include "../../storage/object.h"

#define NDG 5
#define CLUSTER "0123456789abcdef0123456789abcdef"
#define OTHER_CLUSTER "fedcba9876543210fedcba9876543210"

static char root[64];
static struct disk_group *dgs[NDG];

/* ---- helpers ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *p)
{
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_root(void)
{
    strcpy(root, "/tmp/swiftlet-test-XXXXXX");
    assert_non_null(mkdtemp(root));
}

/* Regular files in dir (0 when it does not exist). */
static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] != '.' && l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void placement_for(struct placement *pl, const char *obj, size_t n_dg)
{
    memset(pl, 0, sizeof(*pl));
    pl->kind = ITEM_OBJECT;
    name_hash(CLUSTER, "AUTH_test", "c", obj, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = 7;
    for (size_t i = 0; i < n_dg; i++)
        pl->dg[i] = dgs[i];
    pl->n_dg = n_dg;
    pl->n_primary = REPLICAS;
}

static int count_on(const struct placement *pl, size_t i, const char *suffix)
{
    char *dir = placement_dir(pl, dgs[i]);
    int n = count_files(dir, suffix);

    free(dir);
    return n;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* Write an object of n bytes (pattern seed) at ts; returns commit's code. */
static int put(const struct placement *pl, int64_t ts, size_t n, unsigned seed,
               const char *ctype, const char *expect)
{
    struct object_writer *w;
    struct object_meta m;
    uint8_t *body = malloc(n ? n : 1);
    int rc;

    fill(body, n, seed);
    rc = object_writer_open(&w, pl, "/AUTH_test/c/o", ts);
    if (rc < 0) {
        free(body);
        return rc;
    }
    /* Odd chunk sizes, as a client's body arrives. */
    for (size_t off = 0; off < n;) {
        size_t c = MIN(n - off, (size_t)65521);
        assert_int_equal(object_writer_write(w, body + off, c), 0);
        off += c;
    }
    assert_int_equal(object_writer_size(w), n);
    object_meta_init(&m);
    m.content_type = ctype ? strdup(ctype) : NULL;
    kv_add(&m.headers, "X-Object-Meta-Color", "blue");
    kv_add(&m.headers, "X-Object-Meta-Raw", "caf\xe9");  /* not UTF-8 */
    rc = object_writer_commit(w, &m, expect, NULL);
    if (rc == 0) {
        char etag[33];
        md5_hex(body, n, etag);
        assert_string_equal(m.etag, etag);
        assert_int_equal(m.size, n);
        assert_int_equal(m.crc32c, crc32c_update(0, body, n));
        assert_int_equal(m.timestamp, ts);
        assert_string_equal(m.name, "/AUTH_test/c/o");
    }
    object_meta_release(&m);
    free(body);
    return rc;
}

/* Read the object through object_open and compare with the pattern. */
static void expect_body(const struct placement *pl, size_t n, unsigned seed)
{
    struct object_reader r;
    uint8_t *want = malloc(n + 1), *got = malloc(n + 1);

    fill(want, n, seed);
    assert_int_equal(object_open(&r, pl), 0);
    assert_true(r.fd >= 0);
    assert_int_equal(r.meta.size, n);
    assert_int_equal(pread(r.fd, got, n, (off_t)r.body_offset), (ssize_t)n);
    assert_memory_equal(got, want, n);
    object_reader_close(&r);
    free(want);
    free(got);
}

/* ---- fixtures ---- */

static int setup_dgs(void)
{
    make_root();
    for (size_t i = 0; i < NDG; i++) {
        char *p = xasprintf("%s/dg%zu", root, i + 1);
        if (dg_open(&dgs[i], p, (uint32_t)i + 1, CLUSTER, true) != 0)
            return -1;
        free(p);
    }
    return 0;
}

static int setup_uring(void **state)
{
    (void)state;
    if (io_global_init("auto") != 0)
        return -1;
    return setup_dgs();
}

static int setup_sync(void **state)
{
    (void)state;
    if (io_global_init("sync") != 0)
        return -1;
    return setup_dgs();
}

static int teardown_dgs(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDG; i++) {
        dg_close(dgs[i]);
        dgs[i] = NULL;
    }
    rm_rf(root);
    return 0;
}

/* Every object test starts with healthy disk groups. */
static int reset_states(void **state)
{
    (void)state;
    for (size_t i = 0; i < NDG; i++)
        dg_set_state(dgs[i], DG_OK);
    return 0;
}

/* ---- disk groups ---- */

static void test_dg_create_reopen_mismatch(void **state)
{
    struct disk_group *dg;
    char cl[33];
    (void)state;

    make_root();
    char *p = xasprintf("%s/a/b/dg", root);
    assert_int_equal(dg_open(&dg, p, 4, CLUSTER, false), -ENOENT);
    assert_int_equal(dg_open(&dg, p, 4, "not-hex", true), -EINVAL);
    assert_int_equal(dg_open(&dg, p, 4, CLUSTER, true), 0);
    assert_string_equal(dg_path(dg), p);
    assert_int_equal(dg_id(dg), 4);
    assert_true(dg_usable(dg));
    dg_close(dg);

    const char *sub[] = {"objects", "containers", "accounts", "tmp", "quarantined"};
    for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
        struct stat st;
        char *d = xasprintf("%s/%s", p, sub[i]);
        assert_int_equal(stat(d, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        free(d);
    }
    assert_int_equal(dg_read_cluster(p, cl), 0);
    assert_string_equal(cl, CLUSTER);

    assert_int_equal(dg_open(&dg, p, 4, CLUSTER, false), 0);
    dg_close(dg);
    /* Mounted in the wrong place: refused even with create. */
    assert_int_equal(dg_open(&dg, p, 5, CLUSTER, true), -EINVAL);
    assert_int_equal(dg_open(&dg, p, 4, OTHER_CLUSTER, true), -EINVAL);
    assert_null(dg);

    /* A damaged identity file is refused. */
    char *id = xasprintf("%s/.swiftlet-dg", p);
    FILE *f = fopen(id, "w");
    fputs("garbage\n", f);
    fclose(f);
    assert_int_equal(dg_open(&dg, p, 4, CLUSTER, false), -EINVAL);
    assert_int_equal(dg_read_cluster(p, cl), -EINVAL);
    free(id);
    free(p);
    rm_rf(root);
}

static void test_dg_state(void **state)
{
    static const struct {
        int rc;
        enum dg_state want;
        const char *name;
    } cases[] = {
        {-EIO, DG_ERROR, "error"},   {-ENOSPC, DG_FULL, "full"}, {-EROFS, DG_READONLY, "readonly"},
        {-ENOENT, DG_OK, "ok"},      {-EPERM, DG_OK, "ok"},      {0, DG_OK, "ok"},
    };
    struct disk_group *dg;
    uint64_t fr, tot;
    (void)state;

    make_root();
    assert_int_equal(dg_open(&dg, root, 1, CLUSTER, true), 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        dg_set_state(dg, DG_OK);
        dg_note_result(dg, cases[i].rc);
        assert_int_equal(dg_state(dg), cases[i].want);
        assert_string_equal(dg_state_name(dg_state(dg)), cases[i].name);
        assert_int_equal(dg_usable(dg), cases[i].want == DG_OK);
    }
    /* The first failure sticks: it names the cause. */
    dg_set_state(dg, DG_OK);
    dg_note_result(dg, -ENOSPC);
    dg_note_result(dg, -EIO);
    assert_int_equal(dg_state(dg), DG_FULL);
    assert_int_equal(dg_space(dg, &fr, &tot), 0);
    assert_true(tot > 0 && fr <= tot);
    dg_close(dg);
    rm_rf(root);
}

static void test_name_hash(void **state)
{
    uint8_t a[16], b[16], want[16];
    struct placement pl = {.kind = ITEM_CONTAINER, .part = 1023};
    (void)state;

    name_hash(CLUSTER, "AUTH_a", "c", "o/x", a);
    name_hash(CLUSTER, "AUTH_a", "c", "o/x", b);
    assert_memory_equal(a, b, 16);
    md5_raw(CLUSTER "/AUTH_a/c/o/x", strlen(CLUSTER "/AUTH_a/c/o/x"), want);
    assert_memory_equal(a, want, 16);
    /* Keyed: another cluster hashes the same name elsewhere. */
    name_hash(OTHER_CLUSTER, "AUTH_a", "c", "o/x", b);
    assert_memory_not_equal(a, b, 16);
    /* Account, container and object levels differ. */
    name_hash(CLUSTER, "AUTH_a", NULL, NULL, a);
    md5_raw(CLUSTER "/AUTH_a", strlen(CLUSTER "/AUTH_a"), want);
    assert_memory_equal(a, want, 16);
    name_hash(CLUSTER, "AUTH_a", "c", NULL, b);
    assert_memory_not_equal(a, b, 16);
    /* A name longer than name_hash's stack buffer hashes the same way. */
    char *long_obj = malloc(3001), *joined;
    memset(long_obj, 'x', 3000);
    long_obj[3000] = '\0';
    joined = xasprintf("%s/AUTH_a/c/%s", CLUSTER, long_obj);
    name_hash(CLUSTER, "AUTH_a", "c", long_obj, a);
    md5_raw(joined, strlen(joined), want);
    assert_memory_equal(a, want, 16);
    free(long_obj);
    free(joined);

    memcpy(pl.hash, b, 16);
    hex_encode(b, 16, pl.hash_hex);
    make_root();
    struct disk_group *dg;
    assert_int_equal(dg_open(&dg, root, 1, CLUSTER, true), 0);
    char *dir = placement_dir(&pl, dg);
    char *want_dir = xasprintf("%s/containers/1023/%s/%s", root, pl.hash_hex + 29, pl.hash_hex);
    assert_string_equal(dir, want_dir);
    char *rel = placement_rel(&pl);     /* the same path, below the dg */
    assert_string_equal(rel, want_dir + strlen(root) + 1);
    free(rel);
    free(dir);
    free(want_dir);
    dg_close(dg);
    rm_rf(root);
}

/* ---- fan-out ---- */

static void fanout_case(const char *mode)
{
    const size_t big = 3 * 1024 * 1024 + 17;
    uint8_t *buf = malloc(big), *back = malloc(big);
    int fds[4];
    struct fanout *f;

    assert_int_equal(io_global_init(mode), 0);
    make_root();
    for (int i = 0; i < 2; i++) {
        char *p = xasprintf("%s/f%d", root, i);
        fds[i] = open(p, O_RDWR | O_CREAT | O_EXCL, 0644);
        assert_true(fds[i] >= 0);
        free(p);
    }
    fds[2] = open("/dev/full", O_WRONLY);   /* every write: ENOSPC */
    char *ro = xasprintf("%s/f0", root);
    fds[3] = open(ro, O_RDONLY);             /* every write: EBADF */
    free(ro);
    assert_int_equal(fanout_new(&f, fds, 4), 0);
    fill(buf, big, 3);
    assert_int_equal(fanout_write(f, buf, 1000), 2);
    assert_int_equal(fanout_result(f, 0), 0);
    assert_int_equal(fanout_result(f, 1), 0);
    assert_int_equal(fanout_result(f, 2), -ENOSPC);
    assert_int_equal(fanout_result(f, 3), -EBADF);
    assert_int_equal(fanout_write(f, buf + 1000, big - 1000), 2);
    assert_int_equal(fanout_write(f, buf, 0), 2);
    assert_int_equal(fanout_offset(f), big);
    assert_int_equal(fanout_sync(f), 2);
    fanout_fail(f, 1, -EIO);
    assert_int_equal(fanout_result(f, 1), -EIO);
    assert_int_equal(fanout_write(f, "x", 1), 1);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        assert_int_equal(fstat(fds[i], &st), 0);
        assert_int_equal(st.st_size, i == 0 ? big + 1 : big);
        assert_int_equal(pread(fds[i], back, big, 0), (ssize_t)big);
        assert_memory_equal(back, buf, big);
    }
    fanout_free(f);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    assert_int_equal(fsync_dir(root), 0);
    assert_int_equal(fsync_dir("/nonexistent/dir"), -ENOENT);
    rm_rf(root);
    free(buf);
    free(back);
}

static void test_fanout_modes(void **state)
{
    struct fanout *f;
    int fd = 0;
    (void)state;

    assert_int_equal(io_global_init("bogus"), -EINVAL);
    assert_int_equal(fanout_new(&f, &fd, 0), -EINVAL);
    fanout_case("sync");
    assert_int_equal(io_mode_in_use(), IO_SYNC);
    fanout_case("auto");
    printf("auto io mode: %s\n", io_mode_in_use() == IO_URING ? "io_uring" : "sync");
    setenv("SWIFTLET_IO", "sync", 1);
    assert_int_equal(io_global_init("uring"), 0);
    assert_int_equal(io_mode_in_use(), IO_SYNC);
    unsetenv("SWIFTLET_IO");
}

static void fsync_many_case(const char *mode)
{
    int fds[20], res[20], p[2];

    assert_int_equal(io_global_init(mode), 0);
    make_root();
    char *f = xasprintf("%s/file", root);
    fds[0] = open(root, O_RDONLY | O_DIRECTORY);
    fds[1] = open(f, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_int_equal(pipe(p), 0);
    fds[2] = p[0];                          /* fsync of a pipe: EINVAL */
    fds[3] = fds[0];
    assert_true(fds[0] >= 0 && fds[1] >= 0);
    res[0] = 99;
    assert_int_equal(fsync_many(fds, 0, res), 0);
    assert_int_equal(res[0], 99);           /* n == 0 touches nothing */
    assert_int_equal(fsync_many(fds, 4, res), -EINVAL);
    assert_int_equal(res[0], 0);
    assert_int_equal(res[1], 0);
    assert_int_equal(res[2], -EINVAL);
    assert_int_equal(res[3], 0);
    /* More fds than one submission holds; the failure is still found. */
    for (int i = 4; i < 20; i++)
        fds[i] = fds[i % 2];
    fds[19] = p[1];
    assert_int_equal(fsync_many(fds, 20, res), -EINVAL);
    for (int i = 0; i < 20; i++)
        assert_int_equal(res[i], i == 2 || i == 19 ? -EINVAL : 0);
    /* With syncing off nothing is synced, so nothing fails. */
    io_set_fsync(false);
    assert_int_equal(fsync_many(fds, 20, res), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(res[i], 0);
    io_set_fsync(true);
    close(fds[0]);
    close(fds[1]);
    close(p[0]);
    close(p[1]);
    free(f);
    rm_rf(root);
}

static void test_fsync_many(void **state)
{
    (void)state;
    fsync_many_case("sync");
    fsync_many_case("auto");
}

/* ---- objects ---- */

static void test_object_round_trip(void **state)
{
    struct placement pl;
    struct object_reader r;
    char tmpdir[128];
    (void)state;

    placement_for(&pl, "round-trip", NDG);
    int64_t ts = ts_now();
    assert_int_equal(put(&pl, ts, 300000, 1, "text/plain", NULL), 0);
    for (size_t i = 0; i < NDG; i++)
        assert_int_equal(count_on(&pl, i, ".data"), i < REPLICAS);
    for (size_t i = 0; i < NDG; i++) {
        snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dg_path(dgs[i]));
        assert_int_equal(count_files(tmpdir, ""), 0);
    }
    expect_body(&pl, 300000, 1);
    assert_int_equal(object_open(&r, &pl), 0);
    assert_string_equal(r.meta.name, "/AUTH_test/c/o");
    assert_string_equal(r.meta.content_type, "text/plain");
    assert_int_equal(r.meta.timestamp, ts);
    assert_int_equal(r.meta.meta_timestamp, ts);
    assert_string_equal(kv_get(&r.meta.headers, "x-object-meta-color"), "blue");
    assert_string_equal(kv_get(&r.meta.headers, "X-Object-Meta-Raw"), "caf\xe9");
    assert_non_null(r.dg);
    object_reader_close(&r);

    /* The auditor's check of one replica, body included. */
    struct object_meta m;
    char t[TS_STRLEN], *dir = placement_dir(&pl, dgs[1]);
    ts_format(ts, t);
    char *path = xasprintf("%s/%s.data", dir, t);
    assert_int_equal(object_check_file(path, true, &m), 0);
    assert_int_equal(m.size, 300000);
    object_meta_release(&m);
    free(path);
    free(dir);

    /* An empty body and a correct expected ETag. */
    placement_for(&pl, "empty", NDG);
    assert_int_equal(put(&pl, ts_now(), 0, 0, NULL, "D41D8CD98F00B204E9800998ECF8427E"), 0);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_int_equal(m.size, 0);
    assert_null(m.content_type);
    assert_string_equal(m.etag, "d41d8cd98f00b204e9800998ecf8427e");
    object_meta_release(&m);
}

static void test_object_etag_mismatch(void **state)
{
    struct placement pl;
    struct object_reader r;
    char tmpdir[128];
    (void)state;

    placement_for(&pl, "etag", NDG);
    assert_int_equal(put(&pl, ts_now(), 5000, 2, NULL, "00000000000000000000000000000000"),
                     ERR_ETAG);
    for (size_t i = 0; i < NDG; i++) {
        assert_int_equal(count_on(&pl, i, ""), 0);
        snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dg_path(dgs[i]));
        assert_int_equal(count_files(tmpdir, ""), 0);
    }
    assert_int_equal(object_open(&r, &pl), -ENOENT);
    object_reader_close(&r);
}

static void test_object_newest_wins(void **state)
{
    struct placement pl;
    struct object_reader r;
    (void)state;

    placement_for(&pl, "newest", NDG);
    int64_t t1 = ts_now();
    assert_int_equal(put(&pl, t1, 1000, 1, NULL, NULL), 0);
    /* dg1 misses the second version, which goes to a handoff instead. */
    dg_set_state(dgs[0], DG_ERROR);
    int64_t t2 = ts_now();
    assert_int_equal(put(&pl, t2, 2000, 2, NULL, NULL), 0);
    assert_int_equal(count_on(&pl, 3, ".data"), 1);
    assert_int_equal(count_on(&pl, 4, ".data"), 0);
    dg_set_state(dgs[0], DG_OK);
    /* Old files were cleaned up where the new one landed. */
    assert_int_equal(count_on(&pl, 0, ".data"), 1);
    assert_int_equal(count_on(&pl, 1, ".data"), 1);
    expect_body(&pl, 2000, 2);
    assert_int_equal(object_open(&r, &pl), 0);
    assert_int_equal(r.meta.timestamp, t2);
    assert_ptr_not_equal(r.dg, dgs[0]);
    object_reader_close(&r);

    /* An older write landing late does not win, and is cleaned away. */
    assert_int_equal(put(&pl, t1 - 5, 10, 9, NULL, NULL), 0);
    expect_body(&pl, 2000, 2);
    assert_int_equal(count_on(&pl, 1, ".data"), 1);
}

static void test_object_tombstone(void **state)
{
    struct placement pl;
    struct object_reader r;
    struct object_meta m;
    (void)state;

    placement_for(&pl, "tomb", NDG);
    assert_int_equal(put(&pl, ts_now(), 100, 1, NULL, NULL), 0);
    int64_t td = ts_now();
    assert_int_equal(object_delete(&pl, "/AUTH_test/c/tomb", td, NULL), 0);
    assert_int_equal(object_open(&r, &pl), ERR_DELETED);
    assert_int_equal(r.meta.timestamp, td);
    assert_int_equal(r.fd, -1);
    object_reader_close(&r);
    assert_int_equal(object_stat(&m, &pl), ERR_DELETED);
    object_meta_release(&m);
    for (size_t i = 0; i < REPLICAS; i++) {
        assert_int_equal(count_on(&pl, i, ".ts"), 1);
        assert_int_equal(count_on(&pl, i, ".data"), 0);
    }
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", ts_now(), NULL, &m.headers, NULL), ERR_DELETED);
    /* A newer write brings it back and removes the tombstones. */
    assert_int_equal(put(&pl, ts_now(), 50, 4, NULL, NULL), 0);
    expect_body(&pl, 50, 4);
    assert_int_equal(count_on(&pl, 0, ".ts"), 0);
}

static void test_object_meta_applied(void **state)
{
    struct placement pl;
    struct object_meta m;
    struct kv_list h = KV_LIST_INIT;
    (void)state;

    placement_for(&pl, "meta", NDG);
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", ts_now(), NULL, &h, NULL), -ENOENT);
    int64_t t1 = ts_now();
    assert_int_equal(put(&pl, t1, 10, 1, "text/plain", NULL), 0);
    kv_add(&h, "X-Object-Meta-Shape", "round");
    int64_t t2 = ts_now();
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", t2, "image/png", &h, NULL), 0);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_int_equal(m.timestamp, t1);
    assert_int_equal(m.meta_timestamp, t2);
    assert_string_equal(m.content_type, "image/png");
    assert_string_equal(kv_get(&m.headers, "X-Object-Meta-Shape"), "round");
    assert_null(kv_get(&m.headers, "X-Object-Meta-Color"));   /* replaced */
    object_meta_release(&m);

    /* A later POST without a content type keeps the one in force. */
    kv_set(&h, "X-Object-Meta-Shape", "square");
    int64_t t3 = ts_now();
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", t3, NULL, &h, NULL), 0);
    assert_int_equal(count_on(&pl, 0, ".meta"), 1);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_int_equal(m.meta_timestamp, t3);
    assert_string_equal(m.content_type, "image/png");
    assert_string_equal(kv_get(&m.headers, "X-Object-Meta-Shape"), "square");
    object_meta_release(&m);

    /* A new PUT supersedes the .meta files. */
    assert_int_equal(put(&pl, ts_now(), 10, 1, "text/plain", NULL), 0);
    assert_int_equal(count_on(&pl, 0, ".meta"), 0);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_string_equal(m.content_type, "text/plain");
    assert_int_equal(m.meta_timestamp, m.timestamp);
    object_meta_release(&m);
    kv_release(&h);
}

/* Damage the .data of replica i: flip a byte at off from the end (off > 0)
 * or truncate to len (off == 0). */
static void damage(const struct placement *pl, size_t i, int64_t ts, off_t off, off_t len)
{
    char t[TS_STRLEN], *dir = placement_dir(pl, dgs[i]);
    ts_format(ts, t);
    char *path = xasprintf("%s/%s.data", dir, t);
    int fd = open(path, O_RDWR);
    struct stat st;
    uint8_t b;

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    if (off > 0) {
        assert_int_equal(pread(fd, &b, 1, st.st_size - off), 1);
        b ^= 0x5a;
        assert_int_equal(pwrite(fd, &b, 1, st.st_size - off), 1);
    } else {
        assert_int_equal(ftruncate(fd, len), 0);
    }
    close(fd);
    free(path);
    free(dir);
}

static void test_object_corrupt_fallback(void **state)
{
    struct placement pl;
    struct object_reader r;
    struct object_meta m;
    (void)state;

    placement_for(&pl, "corrupt", NDG);
    int64_t ts = ts_now();
    assert_int_equal(put(&pl, ts, 4096, 5, NULL, NULL), 0);
    damage(&pl, 0, ts, 1, 0);           /* the JSON checksum */
    assert_int_equal(object_open(&r, &pl), 0);
    assert_ptr_equal(r.dg, dgs[1]);
    object_reader_close(&r);
    assert_true(dg_usable(dgs[0]));     /* corruption is no disk failure */
    damage(&pl, 1, ts, 0, 100);         /* truncated */
    expect_body(&pl, 4096, 5);
    damage(&pl, 2, ts, 30, 0);          /* inside the JSON */
    /* Every copy is now quarantined: no replica holds the name, which is
     * what a Swift object server answers for a quarantined object too. */
    assert_int_equal(object_open(&r, &pl), -ENOENT);
    object_reader_close(&r);

    /* Each bad replica was quarantined (storage/auditor.h) when met. */
    char t[TS_STRLEN], *dir = placement_dir(&pl, dgs[2]);
    ts_format(ts, t);
    char *path = xasprintf("%s/%s.data", dir, t);
    assert_int_equal(object_check_file(path, false, &m), -ENOENT);
    object_meta_release(&m);
    free(path);
    path = xasprintf("%s/quarantined/objects/%s/%s.data", dg_path(dgs[2]), pl.hash_hex, t);
    assert_int_equal(object_check_file(path, false, &m), ERR_CORRUPT);
    object_meta_release(&m);
    free(path);
    free(dir);
}

static void test_object_quorum(void **state)
{
    struct placement pl;
    struct object_writer *w;
    struct object_meta m;
    (void)state;

    placement_for(&pl, "quorum", REPLICAS);     /* no handoffs */
    dg_set_state(dgs[0], DG_ERROR);
    assert_int_equal(put(&pl, ts_now(), 100, 1, NULL, NULL), 0);   /* 2 of 3 */
    dg_set_state(dgs[2], DG_FULL);
    assert_int_equal(object_writer_open(&w, &pl, "/AUTH_test/c/quorum", ts_now()), ERR_QUORUM);
    object_meta_init(&m);
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", ts_now(), NULL, &m.headers, NULL), ERR_QUORUM);
    /* One healthy replica still serves reads. */
    expect_body(&pl, 100, 1);
    /* A delete without quorum fails, but the one tombstone it wrote is
     * newest and wins (newest-wins makes a partial write harmless). */
    assert_int_equal(object_delete(&pl, "/AUTH_test/c/quorum", ts_now(), NULL), ERR_QUORUM);
    assert_int_equal(object_stat(&m, &pl), ERR_DELETED);
    object_meta_release(&m);
}

static void test_object_tmp_failure_uses_handoff(void **state)
{
    struct placement pl;
    (void)state;

    placement_for(&pl, "handoff", NDG);
    /* A file where dg2's hash directory belongs: its replica cannot be
     * opened there, so the first handoff takes its place. */
    char *blk = placement_dir(&pl, dgs[1]);
    char *cmd = xasprintf("mkdir -p \"$(dirname '%s')\" && touch '%s'", blk, blk);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(put(&pl, ts_now(), 10, 1, NULL, NULL), 0);
    assert_int_equal(unlink(blk), 0);
    assert_int_equal(count_on(&pl, 1, ".data"), 0);
    assert_int_equal(count_on(&pl, 3, ".data"), 1);
    expect_body(&pl, 10, 1);
    free(cmd);
    free(blk);
}

static void test_object_tmp_cleanup(void **state)
{
    struct placement pl;
    struct object_writer *w;
    char tmpdir[128];
    (void)state;

    placement_for(&pl, "abort", NDG);
    assert_int_equal(object_writer_open(&w, &pl, "/AUTH_test/c/abort", ts_now()), 0);
    assert_int_equal(object_writer_write(w, "abc", 3), 0);
    /* The body being written has no name anywhere (O_TMPFILE)... */
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dg_path(dgs[0]));
    assert_int_equal(count_files(tmpdir, ""), 0);
    assert_int_equal(count_on(&pl, 0, ""), 0);
    object_writer_abort(w);
    object_writer_abort(NULL);
    /* ...so an abandoned upload leaves nothing behind. */
    for (size_t i = 0; i < NDG; i++)
        assert_int_equal(count_on(&pl, i, ""), 0);
    assert_int_equal(count_files(tmpdir, ""), 0);
    /* Named temp files (filesystems without O_TMPFILE) are removed at start. */
    for (int i = 0; i < 3; i++) {
        char *p = xasprintf("%s/left%d.tmp", tmpdir, i);
        close(open(p, O_WRONLY | O_CREAT, 0644));
        free(p);
    }
    assert_int_equal(count_files(tmpdir, ""), 3);
    object_clean_tmp(dgs[0]);
    assert_int_equal(count_files(tmpdir, ""), 0);
}

/* Put a directory where replica i's <ts>.data would go, so its rename fails
 * (EISDIR) after its data was synced. */
static char *block_rename(const struct placement *pl, size_t i, int64_t ts)
{
    char t[TS_STRLEN], *dir = placement_dir(pl, dgs[i]);
    ts_format(ts, t);
    char *blk = xasprintf("%s/%s.data", dir, t);
    char *cmd = xasprintf("mkdir -p '%s'", blk);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
    return blk;
}

static bool is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void assert_no_tmp(void)
{
    char tmpdir[128];

    for (size_t i = 0; i < NDG; i++) {
        snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dg_path(dgs[i]));
        assert_int_equal(count_files(tmpdir, ""), 0);
    }
}

static void test_object_commit_rename_fails(void **state)
{
    struct placement pl;
    (void)state;

    /* One replica's rename fails: the other two make the quorum. */
    placement_for(&pl, "rename-fails", NDG);
    int64_t ts = ts_now();
    char *blk = block_rename(&pl, 1, ts);
    assert_int_equal(put(&pl, ts, 7000, 3, NULL, NULL), 0);
    assert_int_equal(count_on(&pl, 0, ".data"), 1);
    assert_int_equal(count_on(&pl, 2, ".data"), 1);
    assert_true(is_dir(blk));               /* nothing was renamed over it */
    assert_int_equal(count_on(&pl, 3, ".data"), 0);     /* no handoff at commit */
    assert_no_tmp();
    expect_body(&pl, 7000, 3);
    assert_true(dg_usable(dgs[1]));         /* EISDIR is not a disk failure */
    assert_int_equal(rmdir(blk), 0);
    free(blk);

    /* Two fail: no quorum; the one renamed replica stays and is served
     * (newest wins makes it harmless), and no temp file is left. */
    placement_for(&pl, "rename-fails-2", NDG);
    ts = ts_now();
    char *b0 = block_rename(&pl, 0, ts), *b2 = block_rename(&pl, 2, ts);
    assert_int_equal(put(&pl, ts, 100, 4, NULL, NULL), ERR_QUORUM);
    assert_int_equal(count_on(&pl, 1, ".data"), 1);
    assert_no_tmp();
    assert_int_equal(rmdir(b0), 0);
    assert_int_equal(rmdir(b2), 0);
    expect_body(&pl, 100, 4);
    free(b0);
    free(b2);
}

/* Every level the commit creates exists afterwards on the replicas written,
 * and only there, for each kind of file. */
static void test_object_commit_creates_dirs(void **state)
{
    static const char *const ops[] = {"put", "post", "delete"};
    struct placement pl;
    struct object_meta m;
    (void)state;

    for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
        placement_for(&pl, ops[k], NDG);
        pl.part = 900 + (uint32_t)k;        /* partition directory not there yet */
        if (k == 1)
            assert_int_equal(put(&pl, ts_now(), 10, 1, NULL, NULL), 0);
        object_meta_init(&m);
        int rc = k == 0   ? put(&pl, ts_now(), 10, 1, NULL, NULL)
                 : k == 1 ? object_post(&pl, "/AUTH_test/c/o", ts_now(), "text/x", &m.headers, NULL)
                          : object_delete(&pl, "/AUTH_test/c/delete", ts_now(), NULL);
        assert_int_equal(rc, 0);
        for (size_t i = 0; i < NDG; i++) {
            char *dir = placement_dir(&pl, dgs[i]);
            char *suffix = xstrdup(dir);
            *strrchr(suffix, '/') = '\0';
            char *part = xstrdup(suffix);
            *strrchr(part, '/') = '\0';
            assert_int_equal(is_dir(dir), i < REPLICAS);
            assert_int_equal(is_dir(suffix), i < REPLICAS);
            assert_int_equal(is_dir(part), i < REPLICAS);
            free(part);
            free(suffix);
            free(dir);
        }
        const char *ext = k == 0 ? ".data" : k == 1 ? ".meta" : ".ts";
        for (size_t i = 0; i < REPLICAS; i++)
            assert_int_equal(count_on(&pl, i, ext), 1);
        assert_no_tmp();
        rc = object_stat(&m, &pl);
        assert_int_equal(rc, k == 2 ? ERR_DELETED : 0);
        if (k == 1)
            assert_string_equal(m.content_type, "text/x");
        object_meta_release(&m);
    }
}

/* A .data whose JSON is larger than one tail read, and a large .meta: both
 * still read back (the reader's second read path). */
static void test_object_big_metadata(void **state)
{
    struct placement pl;
    struct object_writer *w;
    struct object_meta m;
    struct kv_list h = KV_LIST_INIT;
    char *big = malloc(9001);
    (void)state;

    memset(big, 'v', 9000);
    big[9000] = '\0';
    placement_for(&pl, "big-meta", NDG);
    assert_int_equal(object_writer_open(&w, &pl, "/AUTH_test/c/big-meta", ts_now()), 0);
    assert_int_equal(object_writer_write(w, "xyz", 3), 0);
    object_meta_init(&m);
    kv_add(&m.headers, "X-Object-Meta-Big", big);
    assert_int_equal(object_writer_commit(w, &m, NULL, NULL), 0);
    object_meta_release(&m);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_string_equal(kv_get(&m.headers, "X-Object-Meta-Big"), big);
    assert_int_equal(m.size, 3);
    object_meta_release(&m);

    big[5000] = '\0';
    kv_add(&h, "X-Object-Meta-Post", big);
    assert_int_equal(object_post(&pl, "/AUTH_test/c/o", ts_now(), NULL, &h, NULL), 0);
    assert_int_equal(object_stat(&m, &pl), 0);
    assert_string_equal(kv_get(&m.headers, "X-Object-Meta-Post"), big);
    assert_null(kv_get(&m.headers, "X-Object-Meta-Big"));
    object_meta_release(&m);
    kv_release(&h);
    free(big);
}

/* Every disk group confirmed current, as a replication pass without errors
 * leaves them (storage/fresh.h). */
static void confirm_all(void)
{
    for (size_t i = 0; i < NDG; i++)
        fresh_confirm(dgs[i], fresh_generation(dgs[i]));
}

/* A write that misses a primary marks it stale, so a read that reaches it
 * first still compares it with a second replica and finds the newer
 * version (without the mark, the current primary would answer alone with
 * the old one). */
static void test_fresh_missed_write_marks_stale(void **state)
{
    struct placement pl;
    int64_t t1 = ts_now();
    (void)state;

    placement_for(&pl, "fresh-missed", NDG);
    assert_int_equal(put(&pl, t1, 100, 1, NULL, NULL), 0);
    confirm_all();
    assert_true(fresh_is_current(dgs[0]));
    dg_set_state(dgs[0], DG_ERROR);                     /* primary 1 is down */
    assert_int_equal(put(&pl, t1 + 10, 200, 2, NULL, NULL), 0);
    assert_int_equal(count_on(&pl, 3, ".data"), 1);     /* on the handoff */
    dg_set_state(dgs[0], DG_OK);                        /* back, holding v1 */
    assert_false(fresh_is_current(dgs[0]));
    assert_true(fresh_is_current(dgs[1]));
    expect_body(&pl, 200, 2);
    /* Once replication confirms it again (here by hand: it would first
     * have copied v2 there), it answers alone. */
    confirm_all();
    expect_body(&pl, 100, 1);       /* the old copy: proof of a one-replica read */
}

/* A current primary that holds nothing is not trusted alone: another
 * process may have quarantined its copy. */
static void test_fresh_empty_primary_not_trusted(void **state)
{
    struct placement pl;
    (void)state;

    placement_for(&pl, "fresh-empty", NDG);
    assert_int_equal(put(&pl, ts_now(), 50, 3, NULL, NULL), 0);
    confirm_all();
    char *dir = placement_dir(&pl, dgs[0]);
    char *cmd = xasprintf("rm -f '%s'/*.data", dir);
    assert_int_equal(system(cmd), 0);
    expect_body(&pl, 50, 3);
    free(cmd);
    free(dir);
}

/* Marks taken after a generation was read make its confirmation void. */
static void test_fresh_confirm_races_a_mark(void **state)
{
    (void)state;
    confirm_all();
    uint64_t gen = fresh_generation(dgs[2]);
    fresh_mark_stale(dgs[2]);
    fresh_confirm(dgs[2], gen);
    assert_false(fresh_is_current(dgs[2]));
    fresh_mark_all_stale();
    assert_false(fresh_is_current(dgs[0]));
}

#define OBJECT_TESTS                                                                               \
    cmocka_unit_test_setup(test_object_round_trip, reset_states),                                 \
        cmocka_unit_test_setup(test_object_etag_mismatch, reset_states),                          \
        cmocka_unit_test_setup(test_object_newest_wins, reset_states),                            \
        cmocka_unit_test_setup(test_object_tombstone, reset_states),                              \
        cmocka_unit_test_setup(test_object_meta_applied, reset_states),                           \
        cmocka_unit_test_setup(test_object_corrupt_fallback, reset_states),                       \
        cmocka_unit_test_setup(test_object_quorum, reset_states),                                 \
        cmocka_unit_test_setup(test_object_tmp_failure_uses_handoff, reset_states),               \
        cmocka_unit_test_setup(test_object_tmp_cleanup, reset_states),                            \
        cmocka_unit_test_setup(test_object_commit_rename_fails, reset_states),                    \
        cmocka_unit_test_setup(test_object_commit_creates_dirs, reset_states),                    \
        cmocka_unit_test_setup(test_object_big_metadata, reset_states),                           \
        cmocka_unit_test_setup(test_fresh_missed_write_marks_stale, reset_states),                \
        cmocka_unit_test_setup(test_fresh_empty_primary_not_trusted, reset_states),               \
        cmocka_unit_test_setup(test_fresh_confirm_races_a_mark, reset_states)

int main(void)
{
    const struct CMUnitTest basics[] = {
        cmocka_unit_test(test_dg_create_reopen_mismatch),
        cmocka_unit_test(test_dg_state),
        cmocka_unit_test(test_name_hash),
        cmocka_unit_test(test_fanout_modes),
        cmocka_unit_test(test_fsync_many),
    };
    const struct CMUnitTest objects_uring[] = {OBJECT_TESTS};
    const struct CMUnitTest objects_sync[] = {OBJECT_TESTS};
    int rc = 0;

    log_min_level = LOG_OFF;    /* failures are provoked on purpose */
    rc |= cmocka_run_group_tests_name("storage", basics, NULL, NULL);
    rc |= cmocka_run_group_tests_name("objects (auto io)", objects_uring, setup_uring, teardown_dgs);
    rc |= cmocka_run_group_tests_name("objects (sync io)", objects_sync, setup_sync, teardown_dgs);
    return rc;
}
