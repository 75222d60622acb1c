/* tests/unit/test_pending.c: unit tests of storage/pending.c: the note line
 * format (round trip, escaping, damage detected), and the logs' life cycle
 * (notes replayed after a crash, cleared generations deleted, rotation,
 * nothing left after a clean stop). */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/log.h"
#include "../../storage/dg.h"
#include "../../storage/pending.h"

#define CLUSTER "0123456789abcdef0123456789abcdef"
#define NDG 2

static char root[64];
static struct disk_group *dgs[NDG];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/swiftlet-pending-XXXXXX");
    assert_non_null(mkdtemp(root));
    for (int i = 0; i < NDG; i++) {
        char *p = xasprintf("%s/dg%d", root, i + 1);
        assert_int_equal(dg_open(&dgs[i], p, (uint32_t)i + 1, CLUSTER, true), 0);
        free(p);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NDG; i++)
        dg_close(dgs[i]);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* pending-*.log files in dg i. */
static int count_logs(int i)
{
    DIR *d = opendir(dg_path(dgs[i]));
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "pending-", 8) == 0;
    closedir(d);
    return n;
}

static void placement_on(struct placement *pl, int first)
{
    memset(pl, 0, sizeof(*pl));
    pl->n_dg = NDG;
    for (int i = 0; i < NDG; i++)
        pl->dg[i] = dgs[(first + i) % NDG];
}

static void test_line_round_trip(void **state)
{
    static const char *objects[] = {"o", "a b\tc\nd", "100%", "ünï/cöde", "\x7f\x01"};
    (void)state;

    for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++) {
        char *line = pending_line_encode(1234567, "AUTH_t", "c 1", objects[i]);
        struct pending_update u;
        assert_null(strchr(line, '\n'));
        assert_int_equal(pending_line_decode(line, strlen(line), &u), 0);
        assert_int_equal(u.ts, 1234567);
        assert_string_equal(u.account, "AUTH_t");
        assert_string_equal(u.container, "c 1");
        assert_string_equal(u.object, objects[i]);
        pending_update_release(&u);
        free(line);
    }
}

static void test_line_damage(void **state)
{
    char *line = pending_line_encode(42, "AUTH_t", "c", "obj");
    size_t n = strlen(line);
    struct pending_update u;
    (void)state;

    /* every single-byte change and every truncation is caught */
    for (size_t i = 0; i < n; i++) {
        char saved = line[i];
        line[i] = saved == 'x' ? 'y' : 'x';
        assert_int_equal(pending_line_decode(line, n, &u), ERR_CORRUPT);
        line[i] = saved;
        assert_int_equal(pending_line_decode(line, i, &u), ERR_CORRUPT);
    }
    assert_int_equal(pending_line_decode("", 0, &u), ERR_CORRUPT);
    assert_int_equal(pending_line_decode("1\t\t\t\t00000000", 14, &u), ERR_CORRUPT);
    free(line);
}

struct seen {
    int n;
    char names[8][32];
};

static int collect(const struct pending_update *u, void *arg)
{
    struct seen *s = arg;
    if (s->n < 8)
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", u->object);
    s->n++;
    return 0;
}

static void test_crash_replays_uncleared(void **state)
{
    struct placement pl;
    struct pending_note a, b;
    struct seen s = {0};
    (void)state;

    placement_on(&pl, 0);
    struct pending *p = pending_new(dgs, NDG);
    pending_note(p, &pl, 10, "AUTH_t", "c", "done", &a);
    pending_note(p, &pl, 11, "AUTH_t", "c", "in-flight", &b);
    assert_non_null(a.log);
    pending_clear(&a);
    assert_int_equal(count_logs(0), 1);
    /* A crash: the process ends without pending_free. The next start
     * replays what the log holds (the cleared note too: replays are
     * idempotent), then removes the log. */
    struct pending *p2 = pending_new(dgs, NDG);
    assert_int_equal(pending_replay(p2, collect, &s), 2);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[1], "in-flight");
    assert_int_equal(count_logs(0), 0);
    pending_free(p2);
    pending_clear(&b);      /* the old handle still works; its file is gone */
    pending_free(p);
    assert_int_equal(count_logs(0), 0);
}

static void test_clean_stop_and_unusable_dg(void **state)
{
    struct placement pl;
    struct pending_note a;
    struct seen s = {0};
    (void)state;

    placement_on(&pl, 0);
    struct pending *p = pending_new(dgs, NDG);
    dg_set_state(dgs[0], DG_ERROR);     /* the note goes to the next usable one */
    pending_note(p, &pl, 10, "AUTH_t", "c", "o", &a);
    dg_set_state(dgs[0], DG_OK);
    assert_int_equal(count_logs(0), 0);
    assert_int_equal(count_logs(1), 1);
    pending_clear(&a);
    pending_free(p);                    /* a clean stop leaves nothing */
    assert_int_equal(count_logs(1), 0);
    p = pending_new(dgs, NDG);
    assert_int_equal(pending_replay(p, collect, &s), 0);
    pending_free(p);
}

static void test_rotation_deletes_cleared_generations(void **state)
{
    struct placement pl;
    struct pending_note keep, n;
    char big[1024];
    (void)state;

    placement_on(&pl, 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct pending *p = pending_new(dgs, NDG);
    pending_note(p, &pl, 1, "AUTH_t", "c", "kept", &keep);
    /* Fill past PENDING_ROTATE with notes cleared at once. */
    for (unsigned i = 0; i < PENDING_ROTATE / 1000 + 10; i++) {
        pending_note(p, &pl, 2 + i, "AUTH_t", "c", big, &n);
        pending_clear(&n);
    }
    assert_int_equal(count_logs(0), 2);     /* the first is held by `keep` */
    pending_clear(&keep);
    assert_int_equal(count_logs(0), 1);     /* only the current one */
    pending_free(p);
    assert_int_equal(count_logs(0), 0);
}

int main(void)
{
    log_min_level = LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_round_trip),
        cmocka_unit_test(test_line_damage),
        cmocka_unit_test_setup_teardown(test_crash_replays_uncleared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_stop_and_unusable_dg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_deletes_cleared_generations, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
