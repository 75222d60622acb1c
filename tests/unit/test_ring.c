/* tests/unit/test_ring.c: unit tests of replication/ring.c and
 * replication/cluster.c: balance for equal, unequal and capped weights,
 * distinct devices and zones per partition, the partition of a hash,
 * handoffs, the file round trip and its rejection of bad files,
 * cluster_open creating then reopening the same placements, rebalancing
 * (moves near the minimum, distinct devices and zones, balance, reweight,
 * remove, versions) and cluster_reload picking up a changed ring. */
#include <errno.h>
#include <math.h>
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

    /* A configured disk group the ring does not name is refused. */
    struct disk_group *dg;
    char *alien = xasprintf("%s/dg5", data);
    assert_int_equal(dg_open(&dg, alien, 5, "fedcba9876543210fedcba9876543210", true), 0);
    dg_close(dg);
    assert_int_equal(config_set(&ex, "storage", "disk_group", alien, err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &ex, 0, true, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "swiftlet ring add"));

    /* Before there is a ring, a disk group of another cluster is refused. */
    char *other = xasprintf("%s/other.ring", root);
    assert_int_equal(config_set(&ex, "storage", "ring_file", other, err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &ex, 0, true, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cluster"));
    assert_int_equal(access(other, F_OK), -1);
    free(other);

    /* Once the ring exists it names the disk groups: --disk-groups only
     * matters for the first start. */
    assert_int_equal(cluster_open(&c, &cfg, 3, false, err, sizeof(err)), 0);
    assert_int_equal(cluster_dg_count(c), 4);
    cluster_free(c);

    free(alien);
    free(ring2);
    free(ring);
    free(data);
    config_release(&ex);
    config_release(&cfg);
}

/* Largest |replicas - wanted| / wanted over the devices, in percent. */
static double worst_balance(const struct ring *r)
{
    double worst = 0;

    for (size_t i = 0; i < ring_device_count(r); i++) {
        double want = ring_device_want(r, i);
        double off = fabs((double)ring_device_parts(r, i) - want) / want * 100;
        worst = off > worst ? off : worst;
    }
    return worst;
}

/* Replicas that differ between a and b, counted by hand. */
static size_t diff_count(const struct ring *a, const struct ring *b, size_t *max_per_part)
{
    size_t n = 0;

    *max_per_part = 0;
    for (uint32_t p = 0; p < (1u << ring_part_power(a)); p++) {
        uint32_t x[REPLICAS], y[REPLICAS];
        size_t here = 0;
        ring_primaries(a, p, x);
        ring_primaries(b, p, y);
        for (size_t k = 0; k < REPLICAS; k++) {
            bool found = false;
            for (size_t j = 0; j < REPLICAS; j++)
                found = found || x[j] == y[k];
            here += !found;
        }
        n += here;
        *max_per_part = here > *max_per_part ? here : *max_per_part;
    }
    return n;
}

/* Rebalance r to devs, check the rules and the move count, replace r. */
static void step(struct ring **r, const struct ring_device *devs, size_t n, bool zones,
                 double min_moves, const char *what)
{
    struct ring *next;
    size_t moved, count[16], max_part;

    assert_int_equal(ring_rebalance(&next, *r, devs, n, &moved), 0);
    assert_int_equal(ring_version(next), ring_version(*r) + 1);
    assert_int_equal(ring_part_power(next), ring_part_power(*r));
    tally(next, count, zones);
    assert_int_equal(moved, diff_count(*r, next, &max_part));
    /* The lower bound ignores that a group holds one replica per partition
     * at most, which can cost a few percent more when a share nears that. */
    if ((double)moved > min_moves * 1.06 + 3)
        fail_msg("%s: moved %zu, the minimum is %.1f", what, moved, min_moves);
    if (worst_balance(next) > 1.0)
        fail_msg("%s: balance off by %.2f%%", what, worst_balance(next));
    print_message("%s: moved %zu (lower bound %.1f), balance within %.2f%%\n", what, moved,
                  min_moves, worst_balance(next));
    ring_free(*r);
    *r = next;
}

static void test_rebalance_add_remove(void **state)
{
    struct ring_device devs[6];
    struct ring *r;
    size_t total = REPLICAS << 10, max_part;
    (void)state;

    for (size_t i = 0; i < 6; i++)
        devs[i] = (struct ring_device){(uint32_t)(i + 1), 1, 0, "/d"};
    assert_int_equal(ring_build(&r, 10, devs, 3), 0);
    assert_int_equal(ring_version(r), 1);
    /* A 4th group takes a quarter of all replicas, a 5th a fifth: exactly
     * what must move. No partition loses two holders in one step. */
    struct ring *before = r;
    assert_int_equal(ring_rebalance(&r, before, devs, 4, NULL), 0);
    assert_int_equal(diff_count(before, r, &max_part), total / 4);
    assert_int_equal(max_part, 1);
    ring_free(r);
    r = before;
    step(&r, devs, 4, false, total / 4.0, "add 4th");
    step(&r, devs, 5, false, total / 5.0, "add 5th");
    /* Nothing to do: nothing moves. */
    step(&r, devs, 5, false, 0, "again");
    /* Reweight: 5's share grows from 1/5 to 1.25/5.25. */
    devs[4].weight = 1.25;
    step(&r, devs, 5, false, total * (1.25 / 5.25 - 1 / 5.0), "reweight");
    size_t held = ring_device_parts(r, 2);
    /* Remove id 3: exactly its replicas move, none stays on it. */
    struct ring_device less[4] = {devs[0], devs[1], devs[3], devs[4]};
    step(&r, less, 4, false, (double)held, "remove");
    assert_int_equal(ring_device_index(r, 3), -1);
    ring_free(r);

    /* Bad device lists are refused as by ring_build. */
    assert_int_equal(ring_build(&r, 8, devs, 3), 0);
    assert_int_equal(ring_rebalance(&before, r, devs, 2, NULL), -EINVAL);
    assert_null(before);
    ring_free(r);
}

static void test_rebalance_zones(void **state)
{
    struct ring_device devs[8];
    struct ring *r;
    size_t total = REPLICAS << 10;
    (void)state;

    for (size_t i = 0; i < 8; i++)
        devs[i] = (struct ring_device){(uint32_t)(i + 1), 1, (uint32_t)(i / 2 + 1), "/d"};
    /* Zones 1, 2, 3 with two groups each, then a 4th zone of two. */
    assert_int_equal(ring_build(&r, 10, devs, 6), 0);
    step(&r, devs, 7, true, total / 7.0, "add in zone 4");
    step(&r, devs, 8, true, total / 8.0 * 8 / 8, "second in zone 4");
    /* Moving group 8 from zone 4 to a zone of its own: only the
     * partitions it shares with zone 4's other group clash, and those
     * were none, so nothing moves; moving it into zone 3 (which then
     * weighs more than a replica per partition) leaves weight in charge. */
    devs[7].zone = 5;
    step(&r, devs, 8, true, 0, "own zone");
    devs[7].zone = 3;
    step(&r, devs, 8, false, 0, "zone 3");
    ring_free(r);
}

static void test_version_round_trip(void **state)
{
    struct ring_device devs[4] = {{1, 1, 0, "/a"}, {2, 1, 0, "/b"}, {3, 1, 0, "/c"},
                                  {4, 2, 0, "/d"}};
    struct ring *r, *r2, *l;
    char *path = xasprintf("%s/ring.txt", root);
    (void)state;

    assert_int_equal(ring_build(&r, 6, devs, 3), 0);
    assert_int_equal(ring_rebalance(&r2, r, devs, 4, NULL), 0);
    assert_int_equal(ring_save(r2, path), 0);
    assert_int_equal(ring_load(&l, path), 0);
    assert_int_equal(ring_version(l), 2);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ring_device_parts(l, i), ring_device_parts(r2, i));
    ring_free(l);
    /* A ring written before versions existed loads as version 0. */
    FILE *f = fopen(path, "w");
    fputs("swiftlet-ring 1\npart_power 0\nreplicas 3\ndg 1 1 0 /a\ndg 2 1 0 /b\n"
          "dg 3 1 0 /c\np 0 1 2 3\n", f);
    fclose(f);
    assert_int_equal(ring_load(&l, path), 0);
    assert_int_equal(ring_version(l), 0);
    ring_free(l);
    ring_free(r2);
    ring_free(r);
    free(path);
}

static void test_cluster_reload(void **state)
{
    struct config cfg;
    struct cluster *c;
    char err[256];
    (void)state;

    config_init(&cfg);
    char *data = xasprintf("%s/data", root);
    assert_int_equal(config_set(&cfg, "storage", "data_dir", data, err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "storage", "part_power", "6", err, sizeof(err)), 0);
    assert_int_equal(cluster_open(&c, &cfg, 3, true, err, sizeof(err)), 0);
    assert_int_equal(cluster_reload(c), 0);
    const struct ring *old = cluster_ring(c);

    /* A 4th disk group, made as `swiftlet ring add` makes it. */
    struct disk_group *dg;
    char *path4 = xasprintf("%s/extra/dg4", root);
    assert_int_equal(dg_open(&dg, path4, 4, cluster_id(c), true), 0);
    dg_close(dg);
    struct ring_device devs[4];
    for (size_t i = 0; i < 3; i++)
        devs[i] = *ring_device(old, i);
    devs[3] = (struct ring_device){4, 1, 0, path4};
    struct ring *next;
    char *ring = cluster_ring_path(&cfg);
    assert_int_equal(ring_rebalance(&next, old, devs, 4, NULL), 0);
    assert_int_equal(ring_save(next, ring), 0);
    assert_int_equal(cluster_reload(c), 1);
    assert_int_equal(cluster_reload(c), 0);
    assert_int_equal(cluster_dg_count(c), 4);
    assert_int_equal(ring_version(cluster_ring(c)), 2);

    /* Placements: the new primaries, then the old holders that lost the
     * partition. */
    size_t moved_parts = 0;
    for (int i = 0; i < 200; i++) {
        struct placement pl;
        char name[16];
        snprintf(name, sizeof(name), "o%d", i);
        cluster_locate(c, ITEM_OBJECT, "AUTH_a", "c", name, &pl);
        uint32_t now[REPLICAS], before[REPLICAS];
        ring_primaries(next, pl.part, now);
        ring_primaries(old, pl.part, before);
        assert_int_equal(pl.n_primary, REPLICAS);
        assert_int_equal(pl.n_dg, 4);
        for (size_t k = 0; k < REPLICAS; k++)
            assert_int_equal(dg_id(pl.dg[k]), now[k]);
        bool moved = false;
        for (size_t k = 0; k < REPLICAS; k++)
            if (before[k] == dg_id(pl.dg[REPLICAS]))
                moved = true;
        moved_parts += moved;
        assert_true(moved || dg_id(pl.dg[REPLICAS]) == 4);
    }
    assert_true(moved_parts > 100); /* 3/4 of partitions moved a replica */

    /* A ring naming a disk group that cannot be opened is not used. */
    struct ring *bad;
    devs[3] = (struct ring_device){5, 1, 0, "/nonexistent/dg5"};
    assert_int_equal(ring_rebalance(&bad, next, devs, 4, NULL), 0);
    assert_int_equal(ring_save(bad, ring), 0);
    assert_true(cluster_reload(c) < 0);
    assert_int_equal(ring_version(cluster_ring(c)), 2);
    ring_free(bad);
    ring_free(next);
    cluster_free(c);
    free(ring);
    free(path4);
    free(data);
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
        cmocka_unit_test(test_rebalance_add_remove),
        cmocka_unit_test(test_rebalance_zones),
        cmocka_unit_test_setup_teardown(test_version_round_trip, make_root, remove_root),
        cmocka_unit_test_setup_teardown(test_cluster_reload, make_root, remove_root),
    };

    log_min_level = LOG_OFF;    /* the bad-file cases log on purpose */
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
