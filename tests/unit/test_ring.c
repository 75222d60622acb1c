/* tests/unit/test_ring.c: unit tests of replication/ring.c and
 * replication/cluster.c: balance for equal, unequal and capped weights,
 * distinct devices and zones per partition, the partition of a hash,
 * handoffs, the file round trip and its rejection of bad files, and
 * cluster_open creating then reopening the same placements. */
#include <errno.h>
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

#include "../../common/config.h"
#include "../../common/log.h"
#include "../../replication/cluster.h"
#include "../../replication/ring.h"

static char root[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int make_root(void **state)
{
    (void)state;
    strcpy(root, "/tmp/swiftlet-ring-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
    (void)state;
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static size_t dev_index(const struct ring *r, uint32_t id)
{
    for (size_t i = 0; i < ring_device_count(r); i++)
        if (ring_device(r, i)->id == id)
            return i;
    fail_msg("unknown device id %u", id);
    return 0;
}

/* Replicas per device, and checks every partition has distinct devices
 * (and, with zones, REPLICAS distinct zones). */
static void tally(const struct ring *r, size_t *count, bool zones)
{
    size_t nparts = (size_t)1 << ring_part_power(r);

    memset(count, 0, ring_device_count(r) * sizeof(*count));
    for (uint32_t p = 0; p < nparts; p++) {
        uint32_t ids[REPLICAS];
        ring_primaries(r, p, ids);
        for (size_t a = 0; a < REPLICAS; a++) {
            size_t ia = dev_index(r, ids[a]);
            count[ia]++;
            for (size_t b = 0; b < a; b++) {
                size_t ib = dev_index(r, ids[b]);
                assert_int_not_equal(ia, ib);
                if (zones)
                    assert_int_not_equal(ring_device(r, ia)->zone, ring_device(r, ib)->zone);
            }
        }
    }
}

static void test_build_balance(void **state)
{
    static const struct {
        unsigned pp;
        size_t n;
        double w[8];
        uint32_t zone[8];
        double want_share[8];   /* of all replicas; 0: from the weights */
        bool zones;
    } cases[] = {
        {8, 4, {1, 1, 1, 1}, {0}, {0}, false},
        {10, 6, {1, 1, 2, 2, 3, 3}, {0}, {0}, false},
        {10, 5, {100, 100, 100, 100, 100}, {0}, {0}, false},
        {4, 3, {1, 5, 9}, {0}, {1. / 3, 1. / 3, 1. / 3}, false},
        /* capped: the heavy device cannot hold two replicas of a part */
        {10, 4, {10, 1, 1, 1}, {0}, {1. / 3, 2. / 9, 2. / 9, 2. / 9}, false},
        {8, 6, {1, 1, 1, 1, 1, 1}, {1, 1, 2, 2, 3, 3}, {0}, true},
        {9, 8, {1, 2, 1, 2, 1, 2, 1, 2}, {1, 1, 2, 2, 3, 3, 4, 4}, {0}, true},
        /* zone 3 outweighs a replica per partition: weight wins */
        {10, 6, {1, 1, 1, 1, 1, 3}, {1, 1, 2, 2, 3, 3},
         {2. / 15, 2. / 15, 2. / 15, 2. / 15, 2. / 15, 1. / 3}, false},
    };
    (void)state;

    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        struct ring_device devs[8];
        size_t count[8];
        double wsum = 0;
        struct ring *r;

        for (size_t i = 0; i < cases[c].n; i++) {
            devs[i] = (struct ring_device){(uint32_t)(10 + i), cases[c].w[i], cases[c].zone[i],
                                           "/x"};
            wsum += cases[c].w[i];
        }
        assert_int_equal(ring_build(&r, cases[c].pp, devs, cases[c].n), 0);
        tally(r, count, cases[c].zones);
        double total = (double)(REPLICAS << cases[c].pp);
        for (size_t i = 0; i < cases[c].n; i++) {
            double share = cases[c].want_share[0] ? cases[c].want_share[i] : cases[c].w[i] / wsum;
            double want = share * total;
            double off = (double)count[i] - want;
            if (off > 0.02 * want + 1 || -off > 0.02 * want + 1)
                fail_msg("case %zu dev %zu: %zu replicas, want %.1f", c, i, count[i], want);
        }
        /* Deterministic: the same input builds the same ring. */
        struct ring *r2;
        assert_int_equal(ring_build(&r2, cases[c].pp, devs, cases[c].n), 0);
        for (uint32_t p = 0; p < (1u << cases[c].pp); p++) {
            uint32_t a[REPLICAS], b[REPLICAS];
            ring_primaries(r, p, a);
            ring_primaries(r2, p, b);
            assert_memory_equal(a, b, sizeof(a));
        }
        ring_free(r2);
        ring_free(r);
    }
}

static void test_build_rejects(void **state)
{
    struct ring_device devs[4] = {{1, 1, 0, "/a"}, {2, 1, 0, "/b"}, {3, 1, 0, "/c"}, {4, 1, 0, "/d"}};
    struct ring *r = (struct ring *)1;
    (void)state;

    assert_int_equal(ring_build(&r, 8, devs, 2), -EINVAL);
    assert_null(r);
    devs[3].id = 1;
    assert_int_equal(ring_build(&r, 8, devs, 4), -EINVAL);
    devs[3].id = 4;
    devs[2].weight = 0;
    assert_int_equal(ring_build(&r, 8, devs, 4), -EINVAL);
    devs[2].weight = 1;
    assert_int_equal(ring_build(&r, 25, devs, 4), -EINVAL);
    assert_int_equal(ring_build(&r, 0, devs, 4), 0);
    assert_int_equal(ring_part(r, (const uint8_t[16]){0xff, 0xff, 0xff, 0xff}), 0);
    ring_free(r);
    ring_free(NULL);
}

static void test_part_and_handoffs(void **state)
{
    static const struct {
        unsigned pp;
        uint8_t h[4];
        uint32_t part;
    } cases[] = {
        {8, {0xff, 0, 0, 0}, 255}, {10, {0x01, 0x80, 0, 0}, 6},
        {4, {0x7f, 0xff, 0xff, 0xff}, 7}, {16, {0xab, 0xcd, 0xef, 0x01}, 0xabcd},
    };
    struct ring_device devs[6];
    (void)state;

    for (size_t i = 0; i < 6; i++)
        devs[i] = (struct ring_device){(uint32_t)(i + 1), 1, 0, "/d"};
    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        struct ring *r;
        uint8_t h[16] = {0};
        memcpy(h, cases[c].h, 4);
        assert_int_equal(ring_build(&r, cases[c].pp, devs, 6), 0);
        assert_int_equal(ring_part(r, h), cases[c].part);

        uint32_t prim[REPLICAS], hand[8], hand2[8];
        ring_primaries(r, cases[c].part, prim);
        assert_int_equal(ring_handoffs(r, cases[c].part, hand, 8), 3);
        assert_int_equal(ring_handoffs(r, cases[c].part, hand2, 2), 2);
        assert_memory_equal(hand, hand2, 2 * sizeof(uint32_t));
        for (size_t a = 0; a < 3; a++) {
            for (size_t b = 0; b < REPLICAS; b++)
                assert_int_not_equal(hand[a], prim[b]);
            for (size_t b = 0; b < a; b++)
                assert_int_not_equal(hand[a], hand[b]);
        }
        ring_free(r);
    }
}

static void test_save_load(void **state)
{
    struct ring_device devs[5] = {
        {3, 1, 1, "/srv/a"}, {7, 2.5, 1, "/srv/b c"}, {9, 1, 2, "/srv/c"},
        {11, 0.75, 2, "/srv/d"}, {12, 1, 3, "/srv/e"},
    };
    struct ring *r, *l;
    (void)state;

    char *path = xasprintf("%s/ring.txt", root);
    assert_int_equal(ring_build(&r, 6, devs, 5), 0);
    assert_int_equal(ring_save(r, path), 0);
    assert_int_equal(ring_load(&l, path), 0);
    assert_int_equal(ring_part_power(l), 6);
    assert_int_equal(ring_device_count(l), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(ring_device(l, i)->id, devs[i].id);
        assert_true(ring_device(l, i)->weight == devs[i].weight);
        assert_int_equal(ring_device(l, i)->zone, devs[i].zone);
        assert_string_equal(ring_device(l, i)->path, devs[i].path);
    }
    assert_null(ring_device(l, 5));
    for (uint32_t p = 0; p < 64; p++) {
        uint32_t a[REPLICAS], b[REPLICAS], ha[4], hb[4];
        ring_primaries(r, p, a);
        ring_primaries(l, p, b);
        assert_memory_equal(a, b, sizeof(a));
        assert_int_equal(ring_handoffs(r, p, ha, 4), ring_handoffs(l, p, hb, 4));
        assert_memory_equal(ha, hb, 2 * sizeof(uint32_t));
    }
    ring_free(l);
    ring_free(r);
    free(path);
}

static void test_load_bad(void **state)
{
    static const char *const hdr = "swiftlet-ring 1\npart_power 1\nreplicas 3\n"
                                   "dg 1 1 0 /a\ndg 2 1 0 /b\ndg 3 1 0 /c\n";
    static const struct {
        const char *what;
        const char *head;   /* NULL: hdr */
        const char *body;
    } cases[] = {
        {"empty", "", ""},
        {"bad magic", "swiftlet-ring 2\n", ""},
        {"no partitions", NULL, ""},
        {"missing partition", NULL, "p 0 1 2 3\n"},
        {"partition out of range", NULL, "p 0 1 2 3\np 2 1 2 3\n"},
        {"repeated partition", NULL, "p 0 1 2 3\np 0 1 2 3\np 1 1 2 3\n"},
        {"unknown id", NULL, "p 0 1 2 3\np 1 1 2 4\n"},
        {"repeated id", NULL, "p 0 1 2 3\np 1 1 2 2\n"},
        {"short partition", NULL, "p 0 1 2 3\np 1 1 2\n"},
        {"garbage line", NULL, "p 0 1 2 3\nhello\np 1 1 2 3\n"},
        {"two replicas", "swiftlet-ring 1\npart_power 1\nreplicas 2\ndg 1 1 0 /a\n", ""},
        {"zero weight", "swiftlet-ring 1\npart_power 1\nreplicas 3\ndg 1 0 0 /a\n", ""},
        {"dg without path", "swiftlet-ring 1\npart_power 1\nreplicas 3\ndg 1 1 0\n", ""},
        {"two dgs", "swiftlet-ring 1\npart_power 1\nreplicas 3\ndg 1 1 0 /a\ndg 2 1 0 /b\n",
         "p 0 1 2 1\n"},
        {"duplicate dg", "swiftlet-ring 1\npart_power 1\nreplicas 3\ndg 1 1 0 /a\ndg 1 1 0 /b\n",
         ""},
        {"huge part power", "swiftlet-ring 1\npart_power 40\nreplicas 3\n", ""},
    };
    struct ring *r;
    (void)state;

    char *path = xasprintf("%s/bad.ring", root);
    assert_int_equal(ring_load(&r, path), -ENOENT);
    for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
        FILE *f = fopen(path, "w");
        fputs(cases[c].head ? cases[c].head : hdr, f);
        fputs(cases[c].body, f);
        fclose(f);
        if (ring_load(&r, path) != -EINVAL)
            fail_msg("%s: accepted", cases[c].what);
        assert_null(r);
    }
    /* The well-formed version of the same file loads. */
    FILE *f = fopen(path, "w");
    fprintf(f, "%sp 1 3 2 1\np 0 1 2 3\n", hdr);
    fclose(f);
    assert_int_equal(ring_load(&r, path), 0);
    uint32_t ids[REPLICAS];
    ring_primaries(r, 1, ids);
    assert_int_equal(ids[0], 3);
    ring_free(r);
    free(path);
}

/* Placements of some names, as "dgpath dgpath ..." lines. */
static char *placements(const struct cluster *c)
{
    static const char *const names[][3] = {
        {"AUTH_a", NULL, NULL}, {"AUTH_a", "c", NULL}, {"AUTH_a", "c", "o"},
        {"AUTH_b", "photos", "2024/01/x.jpg"}, {"AUTH_b", "c", "o"},
    };
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        struct placement pl;
        enum item_kind k = names[i][2] ? ITEM_OBJECT : names[i][1] ? ITEM_CONTAINER : ITEM_ACCOUNT;
        cluster_locate(c, k, names[i][0], names[i][1], names[i][2], &pl);
        assert_int_equal(pl.n_primary, REPLICAS);
        assert_int_equal(pl.n_dg, cluster_dg_count(c));
        assert_int_equal(pl.part, ring_part(cluster_ring(c), pl.hash));
        len += (size_t)snprintf(out + len, cap - len, "%s %u:", pl.hash_hex, pl.part);
        for (size_t j = 0; j < pl.n_dg; j++)
            len += (size_t)snprintf(out + len, cap - len, " %s", dg_path(pl.dg[j]));
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    return out;
}

static void test_cluster_open(void **state)
{
    struct config cfg;
    struct cluster *c;
    char err[256], id[33];
    (void)state;

    config_init(&cfg);
    char *data = xasprintf("%s/data", root);
    assert_int_equal(config_set(&cfg, "storage", "data_dir", data, err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "storage", "part_power", "6", err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &cfg, 4, false, err, sizeof(err)), -ENOENT);
    assert_int_equal(cluster_open(&c, &cfg, 2, true, err, sizeof(err)), -EINVAL);
    assert_int_equal(cluster_open(&c, &cfg, 4, true, err, sizeof(err)), 0);
    assert_int_equal(cluster_dg_count(c), 4);
    assert_int_equal(strlen(cluster_id(c)), 32);
    assert_int_equal(ring_part_power(cluster_ring(c)), 6);
    memcpy(id, cluster_id(c), 33);
    char *first = placements(c);
    cluster_free(c);
    cluster_free(NULL);

    char *ring = xasprintf("%s/ring.txt", data);
    assert_int_equal(access(ring, F_OK), 0);
    assert_int_equal(cluster_open(&c, &cfg, 4, false, err, sizeof(err)), 0);
    assert_string_equal(cluster_id(c), id);
    char *second = placements(c);
    assert_string_equal(first, second);
    cluster_free(c);

    /* The same disk groups listed explicitly, in another order: ids come
     * from the identities, so placements do not change. */
    struct config ex;
    config_init(&ex);
    for (int i = 4; i >= 1; i--) {
        char *p = xasprintf("%s/dg%d", data, i);
        assert_int_equal(config_set(&ex, "storage", "disk_group", p, err, sizeof(err)), 0);
        free(p);
    }
    assert_int_equal(config_set(&ex, "storage", "ring_file", ring, err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &ex, 0, false, err, sizeof(err)), 0);
    char *third = placements(c);
    assert_string_equal(first, third);
    cluster_free(c);
    free(third);
    free(second);
    free(first);

    /* Without ring_file, the ring is next to the first disk group. */
    assert_int_equal(config_set(&ex, "storage", "ring_file", "", err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &ex, 0, false, err, sizeof(err)), -ENOENT);
    assert_int_equal(cluster_open(&c, &ex, 0, true, err, sizeof(err)), 0);
    cluster_free(c);
    char *ring2 = xasprintf("%s/swiftlet.ring", data);
    assert_int_equal(access(ring2, F_OK), 0);

    /* A disk group of another cluster is refused. */
    struct disk_group *dg;
    char *alien = xasprintf("%s/dg5", data);
    assert_int_equal(dg_open(&dg, alien, 5, "fedcba9876543210fedcba9876543210", true), 0);
    dg_close(dg);
    assert_int_equal(config_set(&ex, "storage", "disk_group", alien, err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &ex, 0, true, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cluster"));

    /* A ring that does not name the configured disk groups is refused. */
    assert_int_equal(cluster_open(&c, &cfg, 3, false, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "ring"));

    free(alien);
    free(ring2);
    free(ring);
    free(data);
    config_release(&ex);
    config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_balance),
        cmocka_unit_test(test_build_rejects),
        cmocka_unit_test(test_part_and_handoffs),
        cmocka_unit_test_setup_teardown(test_save_load, make_root, remove_root),
        cmocka_unit_test_setup_teardown(test_load_bad, make_root, remove_root),
        cmocka_unit_test_setup_teardown(test_cluster_open, make_root, remove_root),
    };

    log_min_level = LOG_OFF;    /* the bad-file cases log on purpose */
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
