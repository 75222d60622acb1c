/* tests/unit/test_replicator.c: unit tests of replication/replicator.c with
 * storage/object_sync.c and storage/meta_sync.c on a real cluster of four
 * temporary disk groups: a missing replica restored byte for byte, an older
 * version replaced by a newer one, a tombstone winning over older data, a
 * newer .meta spread, a corrupt replica never copied, a handoff moved home
 * and removed, DB rows and metadata merged both ways, a missing DB replica
 * created, tombstones and deleted rows reaped after the reclaim age but not
 * before, and the background thread healing on its own. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/config.h"
#include "../../common/kv.h"
#include "../../common/timefmt.h"
#include "../../replication/cluster.h"
#include "../../replication/replicator.h"
#include "../../storage/io.h"
#include "../../storage/meta.h"
#include "../../storage/meta_sync.h"
#include "../../storage/object.h"

#define NDG 4

struct fx {
    char root[64];
    struct config cfg;
    struct cluster *c;
    struct db_pool *pool;
};

/* ---- fixture and helpers ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];

    strcpy(f->root, "/tmp/swiftlet-repl-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    config_init(&f->cfg);
    assert_int_equal(config_set(&f->cfg, "storage", "data_dir", f->root, err, sizeof(err)), 0);
    assert_int_equal(config_set(&f->cfg, "storage", "part_power", "4", err, sizeof(err)), 0);
    assert_int_equal(config_set(&f->cfg, "replicator", "files_per_second", "0", err, sizeof(err)),
                     0);
    assert_int_equal(config_set(&f->cfg, "replicator", "bytes_per_second", "0", err, sizeof(err)),
                     0);
    f->cfg.fsync = false;
    io_set_fsync(false);
    dbsync_set_sync(false);
    assert_int_equal(cluster_open(&f->c, &f->cfg, NDG, true, err, sizeof(err)), 0);
    assert_int_equal(db_pool_new(&f->pool, 64, false), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    db_pool_free(f->pool);
    cluster_free(f->c);
    config_release(&f->cfg);
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct replicator_stats pass(struct fx *f)
{
    struct replicator_stats st = {0};

    assert_int_equal(replicator_pass(f->c, &f->cfg, NULL, NULL, &st), 0);
    return st;
}

static void locate(struct fx *f, const char *obj, struct placement *pl)
{
    cluster_locate(f->c, obj ? ITEM_OBJECT : ITEM_CONTAINER, "AUTH_test", "c", obj, pl);
}

/* The placement limited to its primaries: a write with one of them down
 * then lands on two replicas only, as with three disk groups. */
static struct placement primaries_only(const struct placement *pl)
{
    struct placement p = *pl;

    p.n_dg = REPLICAS;
    return p;
}

static void put_body(const struct placement *pl, int64_t ts, const char *body)
{
    struct object_writer *w;
    struct object_meta m;

    object_meta_init(&m);
    assert_int_equal(object_writer_open(&w, pl, "/AUTH_test/c/o", ts), 0);
    assert_int_equal(object_writer_write(w, body, strlen(body)), 0);
    assert_int_equal(object_writer_commit(w, &m, NULL, NULL), 0);
    object_meta_release(&m);
}

static char *file_on(const struct placement *pl, size_t i, int64_t ts, const char *ext)
{
    char *dir = placement_dir(pl, pl->dg[i]), t[TS_STRLEN];
    char *p;

    ts_format(ts, t);
    p = xasprintf("%s/%s%s", dir, t, ext);
    free(dir);
    return p;
}

static bool exists_on(const struct placement *pl, size_t i, int64_t ts, const char *ext)
{
    char *p = file_on(pl, i, ts, ext);
    bool ok = access(p, F_OK) == 0;

    free(p);
    return ok;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    char *buf = calloc(1, 1 << 16);

    assert_non_null(fp);
    *n = fread(buf, 1, 1 << 16, fp);
    fclose(fp);
    return buf;
}

static void rm_dir_of(const struct placement *pl, size_t i)
{
    char *dir = placement_dir(pl, pl->dg[i]);

    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static bool dir_on(const struct placement *pl, size_t i)
{
    char *dir = placement_dir(pl, pl->dg[i]);
    struct stat st;
    bool ok = stat(dir, &st) == 0;

    free(dir);
    return ok;
}

/* ---- objects ---- */

static void test_missing_replica_restored(void **state)
{
    struct fx *f = *state;
    struct placement pl;
    int64_t ts = ts_now();
    size_t n0, n2;

    locate(f, "o", &pl);
    put_body(&pl, ts, "the body of o");
    rm_dir_of(&pl, 2);
    assert_false(exists_on(&pl, 2, ts, ".data"));

    struct replicator_stats st = pass(f);
    assert_int_equal(st.files_copied, 1);
    assert_true(exists_on(&pl, 2, ts, ".data"));
    char *p0 = file_on(&pl, 0, ts, ".data"), *p2 = file_on(&pl, 2, ts, ".data");
    char *a = slurp(p0, &n0), *b = slurp(p2, &n2);
    assert_int_equal(n0, n2);
    assert_memory_equal(a, b, n0);
    free(a), free(b), free(p0), free(p2);
    /* In sync now: a second pass compares and copies nothing. */
    st = pass(f);
    assert_int_equal(st.files_copied, 0);
    assert_int_equal(st.suffixes_synced, 0);
}

static void test_newer_replaces_older(void **state)
{
    struct fx *f = *state;
    struct placement pl, p3;
    int64_t t1 = ts_now(), t2 = t1 + 100;
    struct object_reader r;

    locate(f, "o", &pl);
    p3 = primaries_only(&pl);
    put_body(&pl, t1, "old");
    dg_set_state(pl.dg[1], DG_ERROR);
    put_body(&p3, t2, "new body");
    dg_set_state(pl.dg[1], DG_OK);
    assert_true(exists_on(&pl, 1, t1, ".data"));

    pass(f);
    for (size_t i = 0; i < REPLICAS; i++) {
        assert_true(exists_on(&pl, i, t2, ".data"));
        assert_false(exists_on(&pl, i, t1, ".data"));
    }
    /* Only the repaired replica answers a read now: it has the new body. */
    struct placement only = pl;
    only.dg[0] = pl.dg[1];
    only.n_dg = 1;
    assert_int_equal(object_open(&r, &only), 0);
    assert_int_equal(r.meta.size, strlen("new body"));
    object_reader_close(&r);
}

static void test_tombstone_wins(void **state)
{
    struct fx *f = *state;
    struct placement pl, p3;
    int64_t t1 = ts_now(), t2 = t1 + 100;
    struct object_meta m;

    locate(f, "o", &pl);
    p3 = primaries_only(&pl);
    put_body(&pl, t1, "doomed");
    dg_set_state(pl.dg[0], DG_ERROR);
    assert_int_equal(object_delete(&p3, "/AUTH_test/c/o", t2, NULL), 0);
    dg_set_state(pl.dg[0], DG_OK);

    pass(f);
    for (size_t i = 0; i < REPLICAS; i++) {
        assert_true(exists_on(&pl, i, t2, ".ts"));
        assert_false(exists_on(&pl, i, t1, ".data"));
    }
    assert_int_equal(object_stat(&m, &pl), ERR_DELETED);
    object_meta_release(&m);
}

static void test_meta_spread(void **state)
{
    struct fx *f = *state;
    struct placement pl, p3;
    int64_t t1 = ts_now(), t2 = t1 + 100;
    struct kv_list h = KV_LIST_INIT;

    locate(f, "o", &pl);
    p3 = primaries_only(&pl);
    put_body(&pl, t1, "body");
    kv_add(&h, "X-Object-Meta-Color", "blue");
    dg_set_state(pl.dg[2], DG_ERROR);
    assert_int_equal(object_post(&p3, "/AUTH_test/c/o", t2, NULL, &h, NULL), 0);
    dg_set_state(pl.dg[2], DG_OK);
    kv_release(&h);

    pass(f);
    for (size_t i = 0; i < REPLICAS; i++) {
        assert_true(exists_on(&pl, i, t1, ".data"));
        assert_true(exists_on(&pl, i, t2, ".meta"));
    }
}

static void test_corrupt_source_not_spread(void **state)
{
    struct fx *f = *state;
    struct placement pl;
    int64_t ts = ts_now();

    locate(f, "o", &pl);
    put_body(&pl, ts, "a body that will rot on disk");
    rm_dir_of(&pl, 1);
    rm_dir_of(&pl, 2);
    char *p = file_on(&pl, 0, ts, ".data");
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 3), 1);     /* inside the body: only its CRC tells */
    close(fd);
    free(p);

    struct replicator_stats st = pass(f);
    assert_true(st.corrupt >= 2);
    assert_int_equal(st.files_copied, 0);
    assert_false(exists_on(&pl, 1, ts, ".data"));
    assert_false(exists_on(&pl, 2, ts, ".data"));
}

static void test_handoff_moved_home(void **state)
{
    struct fx *f = *state;
    struct placement pl;
    int64_t ts = ts_now();

    locate(f, "o", &pl);
    assert_int_equal(pl.n_dg, NDG);
    dg_set_state(pl.dg[1], DG_ERROR);
    put_body(&pl, ts, "written while a primary was down");
    assert_true(exists_on(&pl, 3, ts, ".data"));    /* the handoff took it */
    assert_false(exists_on(&pl, 1, ts, ".data"));

    /* While the primary is still down the handoff keeps its copy. */
    struct replicator_stats st = pass(f);
    assert_int_equal(st.handoffs_moved, 0);
    assert_true(exists_on(&pl, 3, ts, ".data"));

    dg_set_state(pl.dg[1], DG_OK);
    st = pass(f);
    assert_int_equal(st.handoffs_moved, 1);
    for (size_t i = 0; i < REPLICAS; i++)
        assert_true(exists_on(&pl, i, ts, ".data"));
    assert_false(dir_on(&pl, 3));
    /* Not even the partition directory is left on the handoff. */
    char *pdir = xasprintf("%s/objects/%u", dg_path(pl.dg[3]), (unsigned)pl.part);
    struct stat sb;
    assert_int_not_equal(stat(pdir, &sb), 0);
    free(pdir);
}

static void test_reclaim_age_reaps(void **state)
{
    struct fx *f = *state;
    struct placement pl, fresh;
    int64_t old = ts_now() - 3600 * TS_TICKS_PER_SEC, now = ts_now();

    f->cfg.reclaim_age = 60;
    locate(f, "o", &pl);
    locate(f, "fresh", &fresh);
    put_body(&pl, old - 100, "gone long ago");
    assert_int_equal(object_delete(&pl, "/AUTH_test/c/o", old, NULL), 0);
    assert_int_equal(object_delete(&fresh, "/AUTH_test/c/fresh", now, NULL), 0);

    struct replicator_stats st = pass(f);
    assert_int_equal(st.reaped, 1);
    for (size_t i = 0; i < REPLICAS; i++) {
        assert_false(exists_on(&pl, i, old, ".ts"));
        assert_false(dir_on(&pl, i));
        assert_true(exists_on(&fresh, i, now, ".ts"));
    }
}

static void test_no_reap_while_primary_down(void **state)
{
    struct fx *f = *state;
    struct placement pl;
    int64_t old = ts_now() - 3600 * TS_TICKS_PER_SEC;

    f->cfg.reclaim_age = 60;
    locate(f, "o", &pl);
    assert_int_equal(object_delete(&pl, "/AUTH_test/c/o", old, NULL), 0);
    dg_set_state(pl.dg[2], DG_ERROR);
    struct replicator_stats st = pass(f);
    dg_set_state(pl.dg[2], DG_OK);
    assert_int_equal(st.reaped, 0);
    assert_true(exists_on(&pl, 0, old, ".ts"));
}

/* ---- databases ---- */

static char *db_file(const struct placement *pl, size_t i)
{
    char *dir = placement_dir(pl, pl->dg[i]);
    char *p = xasprintf("%s/%s.db", dir, pl->hash_hex);

    free(dir);
    return p;
}

struct names {
    char buf[512];
};

static int collect(void *ctx, const struct list_entry *e)
{
    struct names *n = ctx;

    strncat(n->buf, e->name, sizeof(n->buf) - strlen(n->buf) - 2);
    strcat(n->buf, ",");
    return 0;
}

/* The listing of replica i alone, read through a fresh pool. */
static void list_replica(const struct placement *pl, size_t i, struct names *out)
{
    struct db_pool *p;
    struct placement one = *pl;
    struct list_query q = {.limit = 100};

    one.dg[0] = pl->dg[i];
    one.n_dg = 1;
    memset(out, 0, sizeof(*out));
    assert_int_equal(db_pool_new(&p, 4, false), 0);
    assert_int_equal(db_container_list(p, &one, &q, collect, out), 0);
    db_pool_free(p);
}

static void stat_replica(const struct placement *pl, size_t i, struct container_stat *st)
{
    struct db_pool *p;
    struct placement one = *pl;

    one.dg[0] = pl->dg[i];
    one.n_dg = 1;
    assert_int_equal(db_pool_new(&p, 4, false), 0);
    assert_int_equal(db_container_stat(p, &one, st), 0);
    db_pool_free(p);
}

static void make_container(struct fx *f, struct placement *pl, struct placement *pla)
{
    bool created;

    locate(f, NULL, pl);
    cluster_locate(f->c, ITEM_ACCOUNT, "AUTH_test", NULL, NULL, pla);
    assert_int_equal(db_container_put(f->pool, pl, pla, "AUTH_test", "c", ts_now(), NULL, 0,
                                      &created),
                     0);
}

static void row(struct fx *f, const struct placement *pl, const struct placement *pla,
                const char *name, int64_t ts, uint64_t size, bool deleted)
{
    if (deleted)
        assert_int_equal(db_object_delete(f->pool, pl, pla, "c", name, ts, false), 0);
    else
        assert_int_equal(db_object_put(f->pool, pl, pla, "c", name, ts, size, "text/plain",
                                       "d41d8cd98f00b204e9800998ecf8427e", false),
                         0);
}

static void test_db_rows_merged_both_ways(void **state)
{
    struct fx *f = *state;
    struct placement pl, pla, p3;
    struct kv_list meta = KV_LIST_INIT;
    struct container_stat cs;
    struct names n;
    int64_t t = ts_now();

    make_container(f, &pl, &pla);
    p3 = primaries_only(&pl);
    row(f, &pl, &pla, "gone", t + 1, 5, false);
    dg_set_state(pl.dg[0], DG_ERROR);
    row(f, &p3, &pla, "a", t + 2, 10, false);      /* on replicas 1 and 2 */
    row(f, &p3, &pla, "gone", t + 3, 0, true);
    dg_set_state(pl.dg[0], DG_OK);
    dg_set_state(pl.dg[2], DG_ERROR);
    row(f, &p3, &pla, "b", t + 4, 20, false);      /* on replicas 0 and 1 */
    kv_add(&meta, "X-Container-Meta-Color", "blue");
    assert_int_equal(db_container_set_meta(f->pool, &p3, t + 5, &meta), 0);
    dg_set_state(pl.dg[2], DG_OK);
    kv_release(&meta);

    struct replicator_stats st = pass(f);
    assert_true(st.rows_merged >= 3);
    for (size_t i = 0; i < REPLICAS; i++) {
        list_replica(&pl, i, &n);
        assert_string_equal(n.buf, "a,b,");
        stat_replica(&pl, i, &cs);
        assert_int_equal(cs.object_count, 2);
        assert_int_equal(cs.bytes_used, 30);
        assert_int_equal(cs.meta.n, 1);
        assert_string_equal(cs.meta.items[0].value, "blue");
        container_stat_release(&cs);
    }
    /* The replicas agree now: digests are equal and a pass merges nothing. */
    uint8_t d[REPLICAS][16];
    for (size_t i = 0; i < REPLICAS; i++) {
        char *p = db_file(&pl, i);
        uint64_t reap;
        assert_int_equal(dbsync_digest(p, ITEM_CONTAINER, 0, d[i], &reap), 0);
        free(p);
    }
    assert_memory_equal(d[0], d[1], 16);
    assert_memory_equal(d[0], d[2], 16);
    st = pass(f);
    assert_int_equal(st.rows_merged, 0);
    assert_int_equal(st.suffixes_synced, 0);
}

static void test_db_replica_created(void **state)
{
    struct fx *f = *state;
    struct placement pl, pla;
    struct names n;
    int64_t t = ts_now();

    make_container(f, &pl, &pla);
    row(f, &pl, &pla, "x", t + 1, 1, false);
    row(f, &pl, &pla, "y", t + 2, 2, false);
    db_pool_free(f->pool);     /* no handle may keep the removed file alive */
    assert_int_equal(db_pool_new(&f->pool, 64, false), 0);
    rm_dir_of(&pl, 1);

    struct replicator_stats st = pass(f);
    assert_int_equal(st.dbs_created, 1);
    list_replica(&pl, 1, &n);
    assert_string_equal(n.buf, "x,y,");
}

static void test_db_handoff_moved_home(void **state)
{
    struct fx *f = *state;
    struct placement pl, pla;
    struct names n;
    bool created;

    locate(f, NULL, &pl);
    cluster_locate(f->c, ITEM_ACCOUNT, "AUTH_test", NULL, NULL, &pla);
    dg_set_state(pl.dg[2], DG_ERROR);
    assert_int_equal(db_container_put(f->pool, &pl, &pla, "AUTH_test", "c", ts_now(), NULL, 0,
                                      &created),
                     0);
    row(f, &pl, &pla, "h", ts_now(), 3, false);
    char *hp = db_file(&pl, 3);
    assert_int_equal(access(hp, F_OK), 0);
    db_pool_free(f->pool);
    assert_int_equal(db_pool_new(&f->pool, 64, false), 0);
    dg_set_state(pl.dg[2], DG_OK);

    struct replicator_stats st = pass(f);
    assert_true(st.handoffs_moved >= 1);
    assert_int_not_equal(access(hp, F_OK), 0);
    free(hp);
    for (size_t i = 0; i < REPLICAS; i++) {
        list_replica(&pl, i, &n);
        assert_string_equal(n.buf, "h,");
    }
}

static void test_db_rows_reaped(void **state)
{
    struct fx *f = *state;
    struct placement pl, pla;
    int64_t old = ts_now() - 3600 * TS_TICKS_PER_SEC;
    uint8_t d[16];
    uint64_t reapable;

    make_container(f, &pl, &pla);
    row(f, &pl, &pla, "old", old, 1, false);
    row(f, &pl, &pla, "old", old + 1, 0, true);
    row(f, &pl, &pla, "new", ts_now(), 0, true);
    char *p = db_file(&pl, 0);
    assert_int_equal(dbsync_digest(p, ITEM_CONTAINER, ts_now() - 60 * TS_TICKS_PER_SEC, d,
                                   &reapable),
                     0);
    assert_int_equal(reapable, 1);

    f->cfg.reclaim_age = 60;
    struct replicator_stats st = pass(f);
    assert_true(st.reaped >= REPLICAS);     /* the row on each replica */
    assert_int_equal(dbsync_digest(p, ITEM_CONTAINER, ts_now() - 60 * TS_TICKS_PER_SEC, d,
                                   &reapable),
                     0);
    assert_int_equal(reapable, 0);
    free(p);
}

/* ---- the background thread ---- */

static void test_background_thread_heals(void **state)
{
    struct fx *f = *state;
    struct placement pl;
    struct replicator *r;
    int64_t ts = ts_now();

    f->cfg.replicator_interval = 1;
    locate(f, "o", &pl);
    put_body(&pl, ts, "heal me");
    rm_dir_of(&pl, 0);
    assert_int_equal(replicator_start(&r, f->c, &f->cfg), 0);
    for (int i = 0; i < 100 && !exists_on(&pl, 0, ts, ".data"); i++) {
        struct timespec t = {0, 50000000L};
        nanosleep(&t, NULL);
    }
    assert_true(exists_on(&pl, 0, ts, ".data"));
    replicator_stop(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_replica_restored, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_newer_replaces_older, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tombstone_wins, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_meta_spread, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_source_not_spread, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_handoff_moved_home, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_age_reaps, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_reap_while_primary_down, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_rows_merged_both_ways, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_replica_created, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_handoff_moved_home, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_rows_reaped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_background_thread_heals, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
