/* tests/unit/test_journal.c: unit tests of storage/journal.c: the record
 * format (round trip, damage and truncation detected), the replay (missing
 * and torn files rewritten, intact ones left, paths outside the disk group
 * refused, a torn tail ignored, names handed on), and the journals' life
 * cycle (disk groups on one filesystem share a journal, records tagged
 * with their disk group are synced into journal-<gen>, a clean close leaves
 * nothing, a file left by a crash is replayed at open onto the disk groups
 * its records name, older SWJ1 files too, one whose replay is incomplete is
 * kept, one owner per disk group, a checkpoint waits for the writes that
 * hold it, the file moves off a disk group that is not usable). */
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
#include "../../common/hash.h"
#include "../../common/log.h"
#include "../../storage/dg.h"
#include "../../storage/journal.h"

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
    strcpy(root, "/tmp/swiftlet-journal-XXXXXX");
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

/* journal-* files in dg i. */
static int count_files(int i)
{
    DIR *d = opendir(dg_path(dgs[i]));
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "journal-", 8) == 0;
    closedir(d);
    return n;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Leave b's records as dg i's journal-<gen>, as a crash would; release b.
 * The file's path (heap). */
static char *leave_journal(int i, int gen, struct buf *b)
{
    char *path = xasprintf("%s/journal-%d", dg_path(dgs[i]), gen);

    write_file(path, b->data, b->len);
    buf_release(b);
    return path;
}

/* The content of dg i's file rel, or NULL; *n its length. */
static char *read_rel(int i, const char *rel, size_t *n)
{
    char *path = xasprintf("%s/%s", dg_path(dgs[i]), rel);
    FILE *f = fopen(path, "rb");
    char *b = NULL;

    free(path);
    if (!f)
        return NULL;
    b = xmalloc(1 << 16);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static void test_record_round_trip(void **state)
{
    struct buf b;
    struct journal_record r;

    (void)state;
    buf_init(&b, 0);
    journal_record_encode(&b, 1, "objects/1/abc/def/1.data", "/a/c/o", "body", 4);
    assert_int_equal(journal_record_decode((uint8_t *)b.data, b.len, &r), 0);
    assert_int_equal(r.rec_len, b.len);
    assert_int_equal(r.path_len, strlen("objects/1/abc/def/1.data"));
    assert_memory_equal(r.path, "objects/1/abc/def/1.data", r.path_len);
    assert_int_equal(r.name_len, 6);
    assert_memory_equal(r.name, "/a/c/o", 6);
    assert_int_equal(r.len, 4);
    assert_memory_equal(r.data, "body", 4);
    /* Every prefix is too short, never a record. */
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(journal_record_decode((uint8_t *)b.data, n, &r), -EAGAIN);
    /* Any flipped byte is caught. */
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x20;
        assert_int_not_equal(journal_record_decode((uint8_t *)b.data, b.len, &r), 0);
        b.data[i] ^= 0x20;
    }
    /* A record without a name, and an empty content (a tombstone). */
    buf_reset(&b);
    journal_record_encode(&b, 1, "objects/2/x/y/2.ts", NULL, "", 0);
    assert_int_equal(journal_record_decode((uint8_t *)b.data, b.len, &r), 0);
    assert_int_equal(r.name_len, 0);
    assert_int_equal(r.len, 0);
    buf_release(&b);
}

static void test_replay_restores(void **state)
{
    struct buf b, names;
    size_t n;
    char *got;

    (void)state;
    buf_init(&b, 0);
    buf_init(&names, 0);
    journal_record_encode(&b, 1, "objects/9/aaa/h1/1.data", "/a/c/missing", "missing body", 12);
    journal_record_encode(&b, 1, "objects/9/aaa/h2/1.data", "/a/c/torn", "whole body", 10);
    journal_record_encode(&b, 1, "objects/9/aaa/h3/1.data", "/a/c/intact", "intact", 6);
    journal_record_encode(&b, 1, "../escape", "/a/c/bad", "x", 1);
    journal_record_encode(&b, 1, "objects/9/aaa/h4/1.ts", "/a/c/deleted", "", 0);
    size_t whole = b.len;
    journal_record_encode(&b, 1, "objects/9/aaa/h5/1.data", "/a/c/torn-tail", "never acked", 11);
    b.len -= 3;     /* the last record was cut by the crash */

    /* torn: written back only partly; intact: on disk already */
    char *dir2 = xasprintf("%s/objects/9/aaa/h2", dg_path(dgs[0]));
    char *dir3 = xasprintf("%s/objects/9/aaa/h3", dg_path(dgs[0]));
    char *mk = xasprintf("mkdir -p %s %s", dir2, dir3);
    assert_int_equal(system(mk), 0);
    char *p2 = xasprintf("%s/1.data", dir2), *p3 = xasprintf("%s/1.data", dir3);
    write_file(p2, "whole\0\0\0\0\0", 10);
    write_file(p3, "intact", 6);
    struct stat before;
    assert_int_equal(stat(p3, &before), 0);

    char *jpath = xasprintf("%s/journal-test", root);
    write_file(jpath, b.data, b.len);
    int fd = open(jpath, O_RDONLY);
    assert_true(fd >= 0);
    struct journal_replay rp = {.dgs = dgs, .n_dgs = NDG, .home = dgs[0], .names = &names};
    assert_int_equal(journal_replay_file(&rp, fd), 5);
    close(fd);
    assert_true(whole < b.len);
    assert_int_equal(rp.restored, 3);     /* missing, torn, and the tombstone */
    assert_false(rp.incomplete);

    got = read_rel(0, "objects/9/aaa/h1/1.data", &n);
    assert_non_null(got);
    assert_int_equal(n, 12);
    assert_memory_equal(got, "missing body", 12);
    free(got);
    got = read_rel(0, "objects/9/aaa/h2/1.data", &n);
    assert_int_equal(n, 10);
    assert_memory_equal(got, "whole body", 10);
    free(got);
    got = read_rel(0, "objects/9/aaa/h4/1.ts", &n);
    assert_non_null(got);
    assert_int_equal(n, 0);
    free(got);
    struct stat after;
    assert_int_equal(stat(p3, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);     /* left alone */
    assert_null(read_rel(0, "objects/9/aaa/h5/1.data", &n));
    char *esc = xasprintf("%s/escape", root);
    assert_int_equal(access(esc, F_OK), -1);

    /* Names of every intact record with a path inside, in order. */
    const char *want[] = {"/a/c/missing", "/a/c/torn", "/a/c/intact", "/a/c/deleted"};
    size_t off = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(names.data + off, want[i]);
        off += strlen(want[i]) + 1;
    }
    assert_int_equal(off, names.len);

    unlink(jpath);
    free(esc);
    free(jpath);
    free(p2);
    free(p3);
    free(mk);
    free(dir2);
    free(dir3);
    buf_release(&b);
    buf_release(&names);
}

struct seen {
    int n;
    char last[64];
};

static void on_name(const char *name, size_t len, void *arg)
{
    struct seen *s = arg;
    s->n++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)len, name);
}

static void append_one(int dg, const char *rel, const char *name, const char *body)
{
    struct journal_append a = {.dg = dgs[dg], .path = rel, .name = name,
                                .data = body, .len = strlen(body)};
    assert_non_null(dg_journal(dgs[dg]));
    journal_append_wait(&a, 1);
    assert_int_equal(a.rc, 0);
}

static void test_life_cycle(void **state)
{
    struct journals *js, *other;
    struct seen seen = {0};
    size_t n;

    (void)state;
    /* A long interval: nothing is checkpointed while the test looks. Both
     * disk groups are on one filesystem: they share one journal, whose
     * file is in the first. */
    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    assert_int_equal(seen.n, 0);
    for (int i = 0; i < NDG; i++)
        assert_non_null(dg_journal(dgs[i]));
    assert_ptr_equal(dg_journal(dgs[0]), dg_journal(dgs[1]));
    assert_int_equal(count_files(0), 1);
    assert_int_equal(count_files(1), 0);
    /* Another owner is refused: its disk groups sync file by file. */
    struct journal *mine = dg_journal(dgs[0]);
    assert_int_equal(journals_open(&other, dgs, NDG, 1000, on_name, &seen), 0);
    assert_ptr_equal(dg_journal(dgs[0]), mine);
    journals_close(other);
    assert_ptr_equal(dg_journal(dgs[0]), mine);

    /* Both replicas' records go into the one file, tagged with their disk
     * group. */
    append_one(0, "objects/1/a/b/1.data", "/a/c/one", "one");
    append_one(1, "objects/1/a/b/1.data", "/a/c/one", "one");
    char *gen0 = xasprintf("%s/journal-0", dg_path(dgs[0]));
    size_t len;
    uint8_t *rec = (uint8_t *)read_rel(0, "journal-0", &len);
    assert_non_null(rec);
    struct journal_record r;
    assert_int_equal(journal_record_decode(rec, len, &r), 0);
    assert_true(r.has_dg);
    assert_int_equal(r.dg_id, dg_id(dgs[0]));
    assert_int_equal(journal_record_decode(rec + r.rec_len, len - r.rec_len, &r), 0);
    assert_int_equal(r.dg_id, dg_id(dgs[1]));
    assert_int_equal(count_files(1), 0);
    free(rec);

    /* A clean close checkpoints and leaves no journal file. */
    journals_close(js);
    for (int i = 0; i < NDG; i++) {
        assert_null(dg_journal(dgs[i]));
        assert_int_equal(count_files(i), 0);
    }

    /* A crash left a record whose file never reached the disk. */
    struct buf b;
    buf_init(&b, 0);
    journal_record_encode(&b, dg_id(dgs[1]), "objects/1/a/c/2.data", "/a/c/two", "two", 3);
    char *left = leave_journal(0, 5, &b);
    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.last, "/a/c/two");
    char *got = read_rel(1, "objects/1/a/c/2.data", &n);     /* on the disk group it names */
    assert_non_null(got);
    assert_int_equal(n, 3);
    assert_memory_equal(got, "two", 3);
    free(got);
    assert_null(read_rel(0, "objects/1/a/c/2.data", &n));
    assert_int_equal(access(left, F_OK), -1);  /* replayed, synced, gone */
    char *next = xasprintf("%s/journal-6", dg_path(dgs[0]));
    assert_int_equal(access(next, F_OK), 0);   /* appends go after it */
    journals_close(js);

    free(next);
    free(left);
    free(gen0);
}

/* An SWJ1 record, as a swiftlet before shared journals wrote it: no disk
 * group id, so it belongs to the disk group whose file holds it. */
static void encode_v1(struct buf *out, const char *path, const char *name, const char *data)
{
    size_t plen = strlen(path), nlen = strlen(name), len = strlen(data);
    uint32_t rec = (uint32_t)(16 + plen + nlen + len);
    uint8_t h[16] = {'S', 'W', 'J', '1'};
    size_t at = out->len;

    for (int i = 0; i < 4; i++)
        h[4 + i] = (uint8_t)(rec >> (8 * i));
    h[12] = (uint8_t)plen, h[13] = (uint8_t)(plen >> 8);
    h[14] = (uint8_t)nlen, h[15] = (uint8_t)(nlen >> 8);
    assert_int_equal(buf_append(out, h, 16), 0);
    assert_int_equal(buf_append(out, path, plen), 0);
    assert_int_equal(buf_append(out, name, nlen), 0);
    assert_int_equal(buf_append(out, data, len), 0);
    uint32_t crc = crc32c_update(0, out->data + at + 12, rec - 12);
    for (int i = 0; i < 4; i++)
        out->data[at + 8 + i] = (char)(crc >> (8 * i));
}

static void test_replay_of_older_files(void **state)
{
    struct journals *js;
    struct seen seen = {0};
    struct buf b;
    size_t n;

    (void)state;
    /* A file left in the second disk group by an older swiftlet, whose
     * journals were one per disk group. */
    buf_init(&b, 0);
    encode_v1(&b, "objects/4/a/b/1.data", "/a/c/old", "old format");
    char *left = leave_journal(1, 2, &b);
    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    assert_int_equal(seen.n, 1);
    char *got = read_rel(1, "objects/4/a/b/1.data", &n);
    assert_non_null(got);
    assert_int_equal(n, 10);
    assert_memory_equal(got, "old format", 10);
    free(got);
    assert_int_equal(access(left, F_OK), -1);
    /* the next file goes past every generation seen */
    char *next = xasprintf("%s/journal-3", dg_path(dgs[0]));
    assert_int_equal(access(next, F_OK), 0);
    journals_close(js);
    free(next);
    free(left);
}

static void test_record_waits_for_its_disk_group(void **state)
{
    struct journals *js;
    struct seen seen = {0};
    struct buf b;
    size_t n;

    (void)state;
    /* A record for a disk group that is not usable at this start is kept
     * for a start where it is; one for a disk group no longer configured
     * is dropped. */
    buf_init(&b, 0);
    journal_record_encode(&b, dg_id(dgs[1]), "objects/5/a/b/1.data", "/a/c/later", "later", 5);
    journal_record_encode(&b, 99, "objects/5/a/b/2.data", "/a/c/gone", "gone", 4);
    char *left = leave_journal(0, 1, &b);
    dg_set_state(dgs[1], DG_ERROR);
    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    assert_null(read_rel(1, "objects/5/a/b/1.data", &n));
    assert_int_equal(access(left, F_OK), 0);
    assert_null(dg_journal(dgs[1]));      /* not usable: no journal */
    assert_non_null(dg_journal(dgs[0]));
    journals_close(js);
    assert_int_equal(access(left, F_OK), 0);

    dg_set_state(dgs[1], DG_OK);
    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    char *got = read_rel(1, "objects/5/a/b/1.data", &n);
    assert_non_null(got);
    assert_int_equal(n, 5);
    free(got);
    for (int i = 0; i < NDG; i++)
        assert_null(read_rel(i, "objects/5/a/b/2.data", &n));
    assert_int_equal(access(left, F_OK), -1);
    journals_close(js);
    free(left);
}

static void test_replay_failure_keeps_files(void **state)
{
    struct journals *js;
    struct seen seen = {0};
    struct buf b;

    (void)state;
    /* A record whose file cannot be put back (a regular file stands where
     * its directory must go): the file stays for the next start, and the
     * journal goes on. */
    char *blocker = xasprintf("%s/objects/7", dg_path(dgs[0]));
    write_file(blocker, "x", 1);
    buf_init(&b, 0);
    journal_record_encode(&b, dg_id(dgs[0]), "objects/7/a/b/1.data", "/a/c/stuck", "stuck", 5);
    char *left = leave_journal(0, 3, &b);

    assert_int_equal(journals_open(&js, dgs, NDG, 3600 * 1000, on_name, &seen), 0);
    assert_non_null(dg_journal(dgs[0]));
    assert_int_equal(access(left, F_OK), 0);
    journals_close(js);
    assert_int_equal(access(left, F_OK), 0);
    assert_int_equal(count_files(0), 1);
    free(left);
    free(blocker);
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_checkpoint_waits_for_holds(void **state)
{
    struct journals *js;
    struct seen seen = {0};

    (void)state;
    assert_int_equal(journals_open(&js, dgs, NDG, 10, on_name, &seen), 0);
    char *gen0 = xasprintf("%s/journal-0", dg_path(dgs[0]));

    /* A write holds the checkpoint from before its record until it is
     * listed: its file rotates out but is not deleted meanwhile. */
    uint64_t hold = journal_hold();
    append_one(0, "objects/3/a/b/1.data", "/a/c/held", "held");
    sleep_ms(400);
    assert_int_equal(access(gen0, F_OK), 0);
    journal_release(hold);
    int waited = 0;
    while (access(gen0, F_OK) == 0 && waited < 30000) {
        sleep_ms(20);
        waited += 20;
    }
    assert_int_equal(access(gen0, F_OK), -1);
    journals_close(js);
    for (int i = 0; i < NDG; i++)
        assert_int_equal(count_files(i), 0);
    free(gen0);
}

static void test_file_moves_off_an_unusable_disk_group(void **state)
{
    struct journals *js;
    struct seen seen = {0};

    (void)state;
    assert_int_equal(journals_open(&js, dgs, NDG, 10, on_name, &seen), 0);
    append_one(1, "objects/3/a/b/1.data", "/a/c/one", "one");
    /* The first disk group fails: the next file starts in the second,
     * and the journal goes on for it. */
    dg_set_state(dgs[0], DG_ERROR);
    int waited = 0;
    while (count_files(1) == 0 && waited < 30000) {
        sleep_ms(20);
        waited += 20;
    }
    assert_int_equal(count_files(1), 1);
    append_one(1, "objects/3/a/b/2.data", "/a/c/two", "two");
    dg_set_state(dgs[0], DG_OK);
    journals_close(js);
    for (int i = 0; i < NDG; i++)
        assert_int_equal(count_files(i), 0);
}

int main(void)
{
    log_min_level = LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test_setup_teardown(test_replay_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_life_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_of_older_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_waits_for_its_disk_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_failure_keeps_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_moves_off_an_unusable_disk_group, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_waits_for_holds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
