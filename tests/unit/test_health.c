/* tests/unit/test_health.c: unit tests of disk group health: the state
 * transitions of dg_note_result and dg_probe (error, full, readonly, missing
 * and back to ok), the error counters, missing handles that never write,
 * a write that refuses to recreate the objects/ directory of an unmounted
 * disk group, cluster_open with an unavailable disk group (no identity, the
 * wrong id) and cluster_reload around one, and the prober thread and report
 * of replication/health.c. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "../../common/config.h"
#include "../../common/hash.h"
#include "../../common/log.h"
#include "../../common/timefmt.h"
#include "../../replication/cluster.h"
#include "../../replication/health.h"
#include "../../storage/dg.h"
#include "../../storage/io.h"
#include "../../storage/object.h"

#define CLUSTER "0123456789abcdef0123456789abcdef"
#define OTHER_CLUSTER "fedcba9876543210fedcba9876543210"

static char root[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup_root(void **state)
{
    (void)state;
    strcpy(root, "/tmp/swiftlet-health-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown_root(void **state)
{
    (void)state;
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static struct disk_group *open_dg(const char *name, uint32_t id)
{
    struct disk_group *dg;
    char *p = xasprintf("%s/%s", root, name);

    assert_int_equal(dg_open(&dg, p, id, CLUSTER, true), 0);
    free(p);
    return dg;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---- state transitions ---- */

static void test_note_result_and_probe_back(void **state)
{
    struct disk_group *dg = open_dg("a", 1);
    struct dg_health h;
    static const struct {
        int rc;
        enum dg_state want;
    } cases[] = {
        {-EIO, DG_ERROR}, {-ENOSPC, DG_FULL}, {-EROFS, DG_READONLY},
    };
    (void)state;

    dg_health(dg, &h);
    assert_int_equal(h.state, DG_OK);
    assert_int_equal(h.errors, 0);
    assert_int_equal(h.last_error, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dg_note_result(dg, cases[i].rc);
        assert_int_equal(dg_state(dg), cases[i].want);
        assert_false(dg_usable(dg));
        dg_note_result(dg, -EIO);         /* the first cause stays */
        assert_int_equal(dg_state(dg), cases[i].want);
        dg_health(dg, &h);
        assert_int_equal(h.errors, 2 * (i + 1));
        assert_int_equal(h.last_error, -EIO);
        assert_true(h.last_error_at >= (int64_t)time(NULL) - 5);
        /* healthy again: the probe brings it back */
        assert_int_equal(dg_probe(dg, 0), DG_OK);
        assert_true(dg_usable(dg));
    }
    /* answers about items are not disk failures */
    dg_note_result(dg, -ENOENT);
    dg_note_result(dg, 0);
    assert_int_equal(dg_state(dg), DG_OK);
    dg_close(dg);
}

static void test_probe_identity(void **state)
{
    struct disk_group *dg = open_dg("b", 2);
    char *ident = xasprintf("%s/.swiftlet-dg", dg_path(dg));
    char *moved = xasprintf("%s/moved", root);
    (void)state;

    /* gone (the disk is not mounted): missing, and back when it returns */
    assert_int_equal(rename(ident, moved), 0);
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    assert_false(dg_usable(dg));
    assert_int_equal(rename(moved, ident), 0);
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    /* another disk group's or another cluster's disk: missing */
    write_file(ident, "id=9\ncluster=" CLUSTER "\n");
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    write_file(ident, "id=2\ncluster=" OTHER_CLUSTER "\n");
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    write_file(ident, "garbage");
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    write_file(ident, "id=2\ncluster=" CLUSTER "\n");
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    free(moved);
    free(ident);
    dg_close(dg);
}

static void test_probe_write_and_space(void **state)
{
    struct disk_group *dg = open_dg("c", 3);
    char *tmp = xasprintf("%s/tmp", dg_path(dg));
    struct dg_health h;
    (void)state;

    /* a probe leaves nothing behind */
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    assert_int_equal(entries(tmp), 0);
    /* the probe file cannot be made: not ok, counted as an error */
    assert_int_equal(rmdir(tmp), 0);
    write_file(tmp, "not a directory");
    assert_int_not_equal(dg_probe(dg, 0), DG_OK);
    dg_health(dg, &h);
    assert_true(h.errors >= 1);
    assert_int_equal(unlink(tmp), 0);
    /* a missing subdirectory is remade once the identity is right */
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    assert_int_equal(entries(tmp), 0);
    /* under the free-space reserve: full (a reserve of 100% cannot be met
     * by a filesystem holding anything; a fresh CI disk may be 99% free) */
    assert_int_equal(dg_probe(dg, 100), DG_FULL);
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    free(tmp);
    dg_close(dg);
}

static void test_missing_handle_never_writes(void **state)
{
    char *nowhere = xasprintf("%s/not-mounted", root);
    struct disk_group *dg = dg_new_missing(nowhere, 4, CLUSTER);
    (void)state;

    assert_int_equal(dg_state(dg), DG_MISSING);
    assert_false(dg_usable(dg));
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    assert_int_equal(access(nowhere, F_OK), -1);     /* nothing created */
    assert_int_equal(mkdir(nowhere, 0755), 0);         /* an empty mount point */
    assert_int_equal(dg_probe(dg, 0), DG_MISSING);
    assert_int_equal(entries(nowhere), 0);
    dg_close(dg);
    /* the disk is mounted again: its identity is there, and it comes back */
    struct disk_group *real = open_dg("not-mounted", 4);
    dg_close(real);
    dg = dg_new_missing(nowhere, 4, CLUSTER);
    assert_int_equal(dg_probe(dg, 0), DG_OK);
    dg_close(dg);
    free(nowhere);
}

/* A disk unmounted between two probes: the request path still thinks the
 * dg is ok, but a tombstone (no temp file) must not recreate objects/ on
 * the empty mount point; the handoff takes the replica. */
static void test_write_never_remakes_objects_dir(void **state)
{
    struct disk_group *d[4];
    struct placement pl;
    struct object_meta m;
    char *objects;
    (void)state;

    for (size_t i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof(name), "w%zu", i);
        d[i] = open_dg(name, (uint32_t)(10 + i));
    }
    memset(&pl, 0, sizeof(pl));
    pl.kind = ITEM_OBJECT;
    name_hash(CLUSTER, "AUTH_test", "c", "o", pl.hash);
    hex_encode(pl.hash, 16, pl.hash_hex);
    pl.part = 3;
    for (size_t i = 0; i < 4; i++)
        pl.dg[i] = d[i];
    pl.n_dg = 4;
    pl.n_primary = REPLICAS;
    objects = xasprintf("%s/objects", dg_path(d[0]));
    assert_int_equal(rmdir(objects), 0);
    assert_int_equal(object_delete(&pl, "/AUTH_test/c/o", ts_now(), NULL), 0);
    assert_int_equal(access(objects, F_OK), -1);
    object_meta_init(&m);
    assert_int_equal(object_stat(&m, &pl), ERR_DELETED);    /* on the 3 others */
    object_meta_release(&m);
    for (size_t i = 0; i < 4; i++)
        dg_close(d[i]);
    free(objects);
}

/* ---- the cluster: start with a disk group missing ---- */

static void conf_with(struct config *cfg, const char *dir, size_t n)
{
    char err[256];

    config_init(cfg);
    for (size_t i = 0; i < n; i++) {
        char *p = xasprintf("%s/%s/disk%zu", root, dir, i);
        assert_int_equal(config_set(cfg, "storage", "disk_group", p, err, sizeof(err)), 0);
        free(p);
    }
    assert_int_equal(config_set(cfg, "storage", "part_power", "4", err, sizeof(err)), 0);
}

static void test_cluster_opens_with_missing(void **state)
{
    struct config cfg;
    struct cluster *c;
    char err[512], *ident;
    (void)state;

    conf_with(&cfg, "cl", 3);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    assert_int_equal(health_usable(c), 3);
    cluster_free(c);
    /* disk 1 is not mounted: start without it, write nothing there */
    ident = xasprintf("%s/.swiftlet-dg", cfg.disk_groups[1]);
    assert_int_equal(unlink(ident), 0);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    assert_int_equal(dg_state(cluster_dg(c, 1)), DG_MISSING);
    assert_int_equal(dg_id(cluster_dg(c, 1)), 2);    /* from the ring */
    assert_int_equal(access(ident, F_OK), -1);
    assert_int_equal(health_usable(c), 2);
    assert_true(health_quorum(c));
    struct buf out = BUF_INIT;
    assert_int_equal(health_report_text(c, &out), 0);
    assert_non_null(strstr(out.data, "missing"));
    assert_non_null(strstr(out.data, "2 of 3 disk groups usable"));
    buf_reset(&out);
    assert_int_equal(health_report_json(c, &out), 0);
    assert_non_null(strstr(out.data, "\"state\": \"missing\""));
    buf_release(&out);
    cluster_free(c);
    /* two of three: a server cannot start, a command still opens */
    char *ident2 = xasprintf("%s/.swiftlet-dg", cfg.disk_groups[2]);
    assert_int_equal(unlink(ident2), 0);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "is its disk mounted?"));
    assert_int_equal(cluster_open(&c, &cfg, 3, false, err, sizeof(err)), 0);
    assert_false(health_quorum(c));
    cluster_free(c);
    free(ident2);
    free(ident);
    config_release(&cfg);
}

/* A running server that started with a disk group missing picks up a new
 * ring: the missing handle stays (placements still name it, by state it is
 * skipped), a new disk group that cannot be opened yet keeps the old ring
 * until it can, and the prober brings the missing one back. */
static void test_reload_with_missing(void **state)
{
    struct config cfg;
    struct cluster *c;
    struct disk_group *dg;
    struct ring *next;
    struct ring_device devs[4];
    char err[512];
    (void)state;

    conf_with(&cfg, "rl", 3);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    cluster_free(c);
    char *ident = xasprintf("%s/.swiftlet-dg", cfg.disk_groups[1]);
    char *saved = xasprintf("%s/saved-identity", root);
    assert_int_equal(rename(ident, saved), 0);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    assert_int_equal(dg_state(cluster_dg(c, 1)), DG_MISSING);

    /* the ring names a 4th disk group before it exists: not used yet */
    char *path4 = xasprintf("%s/rl/disk3", root), *ring = cluster_ring_path(&cfg);
    for (size_t i = 0; i < 3; i++)
        devs[i] = *ring_device(cluster_ring(c), i);
    devs[3] = (struct ring_device){4, 1, 0, path4};
    assert_int_equal(ring_rebalance(&next, cluster_ring(c), devs, 4, NULL), 0);
    assert_int_equal(ring_save(next, ring), 0);
    assert_true(cluster_reload(c) < 0);
    assert_int_equal(ring_version(cluster_ring(c)), 1);
    assert_int_equal(cluster_dg_count(c), 3);
    /* once it exists (`swiftlet ring add`), the retry picks the ring up */
    assert_int_equal(dg_open(&dg, path4, 4, cluster_id(c), true), 0);
    dg_close(dg);
    assert_int_equal(cluster_reload(c), 1);
    assert_int_equal(ring_version(cluster_ring(c)), 2);
    assert_int_equal(cluster_dg_count(c), 4);
    assert_int_equal(dg_id(cluster_dg(c, 3)), 4);
    assert_int_equal(dg_state(cluster_dg(c, 1)), DG_MISSING);
    assert_int_equal(access(ident, F_OK), -1);
    bool named = false;
    for (int i = 0; i < 100 && !named; i++) {
        struct placement pl;
        char name[16];
        snprintf(name, sizeof(name), "o%d", i);
        cluster_locate(c, ITEM_OBJECT, "AUTH_a", "c", name, &pl);
        for (size_t k = 0; k < pl.n_dg; k++)
            named |= pl.dg[k] == cluster_dg(c, 1);
    }
    assert_true(named);
    assert_int_equal(health_usable(c), 3);

    assert_int_equal(rename(saved, ident), 0);
    assert_int_equal(dg_probe(cluster_dg(c, 1), 0), DG_OK);
    assert_int_equal(health_usable(c), 4);
    ring_free(next);
    cluster_free(c);
    free(ring);
    free(path4);
    free(saved);
    free(ident);
    config_release(&cfg);
}

/* A disk group holding another id than the ring gives it (a disk mounted in
 * the wrong place) is missing too, and is not written to. */
static void test_wrong_id_is_missing(void **state)
{
    struct config cfg;
    struct cluster *c;
    char err[512];
    (void)state;

    conf_with(&cfg, "wi", 3);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    char *ident = xasprintf("%s/.swiftlet-dg", cfg.disk_groups[2]);
    char *text = xasprintf("id=7\ncluster=%s\n", cluster_id(c));
    cluster_free(c);
    write_file(ident, text);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    assert_int_equal(dg_state(cluster_dg(c, 2)), DG_MISSING);
    assert_int_equal(dg_id(cluster_dg(c, 2)), 3);
    assert_int_equal(dg_probe(cluster_dg(c, 2), 0), DG_MISSING);
    assert_int_equal(health_usable(c), 2);
    cluster_free(c);
    free(text);
    free(ident);
    config_release(&cfg);
}

static void test_prober_thread_brings_back(void **state)
{
    struct config cfg;
    struct cluster *c;
    struct health *h;
    char err[512];
    (void)state;

    conf_with(&cfg, "pr", 3);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    dg_note_result(cluster_dg(c, 0), -EIO);
    dg_note_result(cluster_dg(c, 2), -ENOSPC);
    assert_false(health_quorum(c));
    assert_int_equal(health_start(&h, c, 20, 0), 0);
    for (int i = 0; i < 500 && health_usable(c) < 3; i++)
        usleep(10000);
    assert_int_equal(health_usable(c), 3);
    health_stop(h);
    health_stop(NULL);
    assert_int_equal(health_start(&h, c, 0, 0), -EINVAL);
    cluster_free(c);
    config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note_result_and_probe_back),
        cmocka_unit_test(test_probe_identity),
        cmocka_unit_test(test_probe_write_and_space),
        cmocka_unit_test(test_missing_handle_never_writes),
        cmocka_unit_test(test_write_never_remakes_objects_dir),
        cmocka_unit_test(test_cluster_opens_with_missing),
        cmocka_unit_test(test_reload_with_missing),
        cmocka_unit_test(test_wrong_id_is_missing),
        cmocka_unit_test(test_prober_thread_brings_back),
    };

    log_min_level = LOG_OFF;    /* failures are provoked on purpose */
    if (io_global_init("sync") != 0)
        return 1;
    return cmocka_run_group_tests_name("health", tests, setup_root, teardown_root);
}
