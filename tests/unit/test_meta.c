/* tests/unit/test_meta.c: unit tests of storage/meta.c on real disk groups
 * in a temp directory: container and account create/stat/revive, metadata
 * merging, object rows and counts, delete, Swift's listing algorithm (the
 * expected results were produced by Swift 2.30's own ContainerBroker),
 * quorum, read fallback, the container limit under concurrency, the rollup,
 * the handle pool under eviction, and the group commit of object rows (many
 * writers into one container, a replica lost or stalled mid-way). */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
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

#include "../../common/buf.h"
#include "../../common/hash.h"
#include "../../common/kv.h"
#include "../../storage/dg.h"
#include "../../storage/meta.h"

#define NDG 4
#define CLUSTER "0123456789abcdef0123456789abcdef"
#define ACCOUNT "AUTH_test"

struct fx {
    char root[64];
    struct disk_group *dg[NDG];
    struct db_pool *pool;
    struct placement pla; /* the account, on dg 0 1 2 + handoff 3 */
};

/* ---- fixture and helpers ---- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void place(struct fx *f, struct placement *pl, const char *container, const int *idx,
                  size_t n)
{
    memset(pl, 0, sizeof(*pl));
    pl->kind = container ? ITEM_CONTAINER : ITEM_ACCOUNT;
    name_hash(CLUSTER, ACCOUNT, container, NULL, pl->hash);
    hex_encode(pl->hash, 16, pl->hash_hex);
    pl->part = pl->hash[0];
    for (size_t i = 0; i < n; i++)
        pl->dg[i] = f->dg[idx[i]];
    pl->n_dg = n;
    pl->n_primary = n < REPLICAS ? n : REPLICAS;
}

static const int order_default[] = {0, 1, 2, 3};

static void place_c(struct fx *f, struct placement *pl, const char *container)
{
    place(f, pl, container, order_default, 4);
}

static int fx_setup_max(void **state, unsigned max_open)
{
    struct fx *f = calloc(1, sizeof(*f));

    strcpy(f->root, "/tmp/swiftlet-meta-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    for (int i = 0; i < NDG; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/dg%d", f->root, i);
        assert_int_equal(dg_open(&f->dg[i], path, (uint32_t)i + 1, CLUSTER, true), 0);
    }
    assert_int_equal(db_pool_new(&f->pool, max_open, false), 0);
    place_c(f, &f->pla, NULL);
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_max(state, 64);
}

static int fx_setup_small(void **state)
{
    return fx_setup_max(state, 2);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    db_pool_free(f->pool);
    for (int i = 0; i < NDG; i++)
        dg_close(f->dg[i]);
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int put_container(struct fx *f, const struct placement *pl, const char *name, int64_t ts,
                         const struct kv_list *meta, bool *created)
{
    return db_container_put(f->pool, pl, &f->pla, ACCOUNT, name, ts, meta, 0, created);
}

static void make_container(struct fx *f, struct placement *pl, const char *name, int64_t ts)
{
    bool created;

    place_c(f, pl, name);
    assert_int_equal(put_container(f, pl, name, ts, NULL, &created), 0);
    assert_true(created);
}

/* Passes "c" as the container name whatever pl is: meta.c must take the
 * name from the container DB itself (the rollup test relies on that). */
static void put_object(struct fx *f, const struct placement *pl, const char *name, int64_t ts,
                       uint64_t size)
{
    assert_int_equal(db_object_put(f->pool, pl, &f->pla, "c", name, ts, size, "text/plain",
                                   "d41d8cd98f00b204e9800998ecf8427e", false),
                     0);
}

static char *db_path(const struct placement *pl, const struct disk_group *dg)
{
    char *dir = placement_dir(pl, dg);
    char *path = xasprintf("%s/%s.db", dir, pl->hash_hex);

    free(dir);
    return path;
}

/* Listing results as "name|name|..." (subdirs keep their trailing delimiter). */
struct collect {
    struct buf out;
    unsigned subdirs;
    struct list_entry last;
    int stop_after; /* > 0: return -42 after that many entries */
    int seen;
};

static int collect_cb(void *ctx, const struct list_entry *e)
{
    struct collect *c = ctx;

    if (c->out.len)
        assert_int_equal(buf_appendc(&c->out, '|'), 0);
    assert_int_equal(buf_appends(&c->out, e->name), 0);
    c->subdirs += e->is_subdir;
    c->last = *e;
    c->last.name = NULL;
    c->last.content_type = c->last.etag = NULL;
    if (!e->is_subdir && e->content_type)
        assert_string_equal(e->content_type, "text/plain");
    if (c->stop_after > 0 && ++c->seen == c->stop_after)
        return -42;
    return 0;
}

/* ---- containers and accounts ---- */

static void test_account_put_stat(void **state)
{
    struct fx *f = *state;
    struct account_stat st;
    bool created;

    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), -ENOENT);
    account_stat_release(&st);
    assert_int_equal(db_account_put(f->pool, &f->pla, ACCOUNT, 100, &created), 0);
    assert_true(created);
    assert_int_equal(db_account_put(f->pool, &f->pla, ACCOUNT, 200, &created), 0);
    assert_false(created);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.created_at, 100);
    assert_int_equal(st.container_count, 0);
    assert_int_equal(st.meta.n, 0);
    account_stat_release(&st);
}

static void test_container_create_stat_revive(void **state)
{
    struct fx *f = *state;
    struct kv_list meta = KV_LIST_INIT;
    struct container_stat st;
    struct account_stat ast;
    struct placement pl;
    bool created;

    place_c(f, &pl, "c");
    assert_int_equal(db_container_stat(f->pool, &pl, &st), -ENOENT);
    container_stat_release(&st);
    kv_add(&meta, "X-Container-Meta-Color", "blue");
    assert_int_equal(put_container(f, &pl, "c", 1000, &meta, &created), 0);
    assert_true(created);
    /* The DB is on the three primaries, not on the handoff. */
    for (int i = 0; i < NDG; i++) {
        char *path = db_path(&pl, f->dg[i]);
        assert_int_equal(access(path, F_OK) == 0, i < 3);
        free(path);
    }
    assert_int_equal(put_container(f, &pl, "c", 1100, NULL, &created), 0); /* 202 */
    assert_false(created);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.created_at, 1000);
    assert_int_equal(st.put_timestamp, 1100);
    assert_int_equal(st.object_count, 0);
    assert_string_equal(kv_get(&st.meta, "x-container-meta-color"), "blue");
    container_stat_release(&st);

    assert_int_equal(db_container_delete(f->pool, &pl, &f->pla, "c", 1200), 0);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), -ENOENT);
    container_stat_release(&st);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.container_count, 0);
    account_stat_release(&ast);

    /* Revived: created again, created_at kept (as Swift), metadata gone. */
    assert_int_equal(put_container(f, &pl, "c", 1300, NULL, &created), 0);
    assert_true(created);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.created_at, 1000);
    assert_int_equal(st.put_timestamp, 1300);
    assert_int_equal(st.meta.n, 0);
    container_stat_release(&st);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.container_count, 1);
    account_stat_release(&ast);
    kv_release(&meta);
}

struct meta_step {
    int64_t ts;
    const char *key, *value;
};

static void test_metadata_merge(void **state)
{
    static const struct meta_step steps[] = {
        {100, "X-Container-Meta-A", "1"},
        {100, "X-Container-Meta-B", "2"},
        {90, "x-container-meta-a", "older"}, /* older: ignored */
        {110, "x-container-meta-a", "new"},  /* newer, other case: wins */
        {120, "X-Container-Meta-B", ""},     /* removed */
        {115, "X-Container-Meta-B", "late"}, /* older than the removal */
        {130, "X-Container-Meta-Bin", "\xff\xfe latin-1 \xe9"},
    };
    struct fx *f = *state;
    struct container_stat st;
    struct account_stat ast;
    struct placement pl;

    make_container(f, &pl, "c", 50);
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        struct kv_list m = KV_LIST_INIT;
        kv_add(&m, steps[i].key, steps[i].value);
        assert_int_equal(db_container_set_meta(f->pool, &pl, steps[i].ts, &m), 0);
        assert_int_equal(db_account_set_meta(f->pool, &f->pla, steps[i].ts, &m), 0);
        kv_release(&m);
    }
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.meta.n, 2);
    assert_string_equal(kv_get(&st.meta, "X-Container-Meta-A"), "new");
    assert_null(kv_get(&st.meta, "X-Container-Meta-B"));
    assert_string_equal(kv_get(&st.meta, "X-Container-Meta-Bin"), "\xff\xfe latin-1 \xe9");
    container_stat_release(&st);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.meta.n, 2);
    assert_string_equal(kv_get(&ast.meta, "X-Container-Meta-A"), "new");
    account_stat_release(&ast);

    struct placement missing;
    struct kv_list m = KV_LIST_INIT;
    kv_add(&m, "X-Container-Meta-A", "x");
    place_c(f, &missing, "nope");
    assert_int_equal(db_container_set_meta(f->pool, &missing, 200, &m), -ENOENT);
    kv_release(&m);
}

/* ---- object rows ---- */

struct obj_step {
    bool del;
    const char *name;
    int64_t ts;
    uint64_t size;
    uint64_t want_count, want_bytes;
};

static void test_object_rows(void **state)
{
    static const struct obj_step steps[] = {
        {false, "o1", 10, 10, 1, 10}, {false, "o2", 11, 5, 2, 15},
        {false, "o1", 9, 20, 2, 15},                              /* older: ignored */
        {false, "o1", 10, 20, 2, 15},                             /* same timestamp: ignored */
        {false, "o1", 12, 20, 2, 25},                             /* newer: replaces */
        {true, "o2", 13, 0, 1, 20},   {true, "o2", 14, 0, 1, 20}, /* deleting a tombstone */
        {false, "o2", 12, 7, 1, 20},                              /* older than the tombstone */
        {true, "o3", 15, 0, 1, 20},  /* tombstone for an unknown name */
        {false, "o3", 14, 3, 1, 20}, /* ...which wins over an older put */
        {false, "o3", 16, 3, 2, 23},
    };
    struct fx *f = *state;
    struct container_stat st;
    struct placement pl;
    int rc;

    make_container(f, &pl, "c", 1);
    for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
        const struct obj_step *s = &steps[i];
        if (s->del)
            rc = db_object_delete(f->pool, &pl, &f->pla, "c", s->name, s->ts, false);
        else
            rc = db_object_put(f->pool, &pl, &f->pla, "c", s->name, s->ts, s->size, "text/plain",
                               "etag", false);
        assert_int_equal(rc, 0);
        assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
        assert_int_equal(st.object_count, s->want_count);
        assert_int_equal(st.bytes_used, s->want_bytes);
        container_stat_release(&st);
    }

    struct collect c = {.out = BUF_INIT};
    struct list_query q = {.limit = 100};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &c), 0);
    assert_string_equal(c.out.data, "o1|o3");
    assert_int_equal(c.last.bytes, 3);
    assert_int_equal(c.last.timestamp, 16);
    buf_release(&c.out);

    struct placement missing;
    place_c(f, &missing, "nope");
    assert_int_equal(db_object_put(f->pool, &missing, &f->pla, "nope", "x", 1, 1, "a/b", "e", false),
                     -ENOENT);
}

static void test_delete_not_empty(void **state)
{
    struct fx *f = *state;
    struct placement pl;

    make_container(f, &pl, "c", 1);
    put_object(f, &pl, "o", 2, 4);
    assert_int_equal(db_container_delete(f->pool, &pl, &f->pla, "c", 3), -ENOTEMPTY);
    assert_int_equal(db_object_delete(f->pool, &pl, &f->pla, "c", "o", 4, false), 0);
    assert_int_equal(db_container_delete(f->pool, &pl, &f->pla, "c", 5), 0);
    assert_int_equal(db_container_delete(f->pool, &pl, &f->pla, "c", 6), -ENOENT);
    /* Objects cannot be added to a deleted container. */
    assert_int_equal(db_object_put(f->pool, &pl, &f->pla, "c", "p", 7, 1, "a/b", "e", false), -ENOENT);
    struct collect c = {.out = BUF_INIT};
    struct list_query q = {.limit = 10};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &c), -ENOENT);
    buf_release(&c.out);
}

/* ---- listings ---- */

struct list_case {
    const char *prefix, *marker, *end_marker, *delimiter;
    bool reverse;
    unsigned limit;
    const char *want;
};

/* Expected results from Swift 2.30's ContainerBroker.list_objects_iter on
 * the same names. */
static const struct list_case list_cases[] = {
    {NULL, NULL, NULL, NULL, false, 10000,
     "a|a/b|a/c|a/d/e|ab|b|b/|b/x|c-x|c/1|c/2/3|\xc3\xa9|\xc3\xa9/1|\xc3\xb8"},
    {NULL, NULL, NULL, NULL, false, 3, "a|a/b|a/c"},
    {NULL, "a/c", NULL, NULL, false, 10000,
     "a/d/e|ab|b|b/|b/x|c-x|c/1|c/2/3|\xc3\xa9|\xc3\xa9/1|\xc3\xb8"},
    {NULL, NULL, "b/", NULL, false, 10000, "a|a/b|a/c|a/d/e|ab|b"},
    {NULL, "a", "c", NULL, false, 10000, "a/b|a/c|a/d/e|ab|b|b/|b/x"},
    {"a", NULL, NULL, NULL, false, 10000, "a|a/b|a/c|a/d/e|ab"},
    {"a/", NULL, NULL, NULL, false, 10000, "a/b|a/c|a/d/e"},
    {"zz", NULL, NULL, NULL, false, 10000, ""},
    {NULL, NULL, NULL, "/", false, 10000, "a|a/|ab|b|b/|c-x|c/|\xc3\xa9|\xc3\xa9/|\xc3\xb8"},
    {NULL, NULL, NULL, "/", false, 3, "a|a/|ab"},
    {NULL, "a/", NULL, "/", false, 10000, "ab|b|b/|c-x|c/|\xc3\xa9|\xc3\xa9/|\xc3\xb8"},
    {NULL, "b", NULL, "/", false, 10000, "b/|c-x|c/|\xc3\xa9|\xc3\xa9/|\xc3\xb8"},
    {"a/", NULL, NULL, "/", false, 10000, "a/b|a/c|a/d/"},
    {"a", NULL, NULL, "/", false, 10000, "a|a/|ab"},
    {"c/", NULL, NULL, "/", false, 10000, "c/1|c/2/"},
    {NULL, NULL, NULL, "-", false, 10000,
     "a|a/b|a/c|a/d/e|ab|b|b/|b/x|c-|c/1|c/2/3|\xc3\xa9|\xc3\xa9/1|\xc3\xb8"},
    {NULL, NULL, NULL, NULL, true, 10000,
     "\xc3\xb8|\xc3\xa9/1|\xc3\xa9|c/2/3|c/1|c-x|b/x|b/|b|ab|a/d/e|a/c|a/b|a"},
    {NULL, NULL, NULL, NULL, true, 2, "\xc3\xb8|\xc3\xa9/1"},
    {NULL, "b", NULL, NULL, true, 10000, "ab|a/d/e|a/c|a/b|a"},
    {NULL, NULL, "b", NULL, true, 10000, "\xc3\xb8|\xc3\xa9/1|\xc3\xa9|c/2/3|c/1|c-x|b/x|b/"},
    {"a/", NULL, NULL, NULL, true, 10000, "a/d/e|a/c|a/b"},
    {NULL, NULL, NULL, "/", true, 10000, "\xc3\xb8|\xc3\xa9/|\xc3\xa9|c/|c-x|b/|b|ab|a/|a"},
    {"a/", NULL, NULL, "/", true, 10000, "a/d/|a/c|a/b"},
    {NULL, "c", NULL, "/", true, 10000, "b/|b|ab|a/|a"},
    {NULL, NULL, "a/", "/", true, 10000, "\xc3\xb8|\xc3\xa9/|\xc3\xa9|c/|c-x|b/|b|ab"},
    {"a", "0", NULL, NULL, false, 10000, "a|a/b|a/c|a/d/e|ab"},
    {"a", NULL, "zzz", NULL, false, 10000, "a|a/b|a/c|a/d/e|ab"},
    {"\xc3\xa9", NULL, NULL, NULL, false, 10000, "\xc3\xa9|\xc3\xa9/1"},
    {NULL, NULL, NULL, NULL, false, 0, ""},
    /* Beyond Swift's cases: a prefix ending in 0xff, and all 0xff. */
    {"\xc3\xff", NULL, NULL, NULL, false, 10000, ""},
    {"\xff", NULL, NULL, NULL, false, 10000, ""},
};

static const char *const list_names[] = {
    "a",   "a/b", "a/c", "a/d/e", "ab",       "b",        "b/",
    "b/x", "c-x", "c/1", "c/2/3", "\xc3\xa9", "\xc3\xb8", "\xc3\xa9/1",
};

static void run_list_cases(struct fx *f, const struct placement *pl, bool account)
{
    for (size_t i = 0; i < ARRAY_SIZE(list_cases); i++) {
        const struct list_case *lc = &list_cases[i];
        struct list_query q = {lc->prefix,    lc->marker,  lc->end_marker,
                               lc->delimiter, lc->reverse, lc->limit};
        struct collect c = {.out = BUF_INIT};
        int rc = account ? db_account_list(f->pool, pl, &q, collect_cb, &c)
                         : db_container_list(f->pool, pl, &q, collect_cb, &c);
        if (rc != 0 || strcmp(c.out.data, lc->want) != 0)
            print_error("case %zu: got \"%s\" rc %d\n", i, c.out.data, rc);
        assert_int_equal(rc, 0);
        assert_string_equal(c.out.data, lc->want);
        buf_release(&c.out);
    }
}

static void test_container_listing(void **state)
{
    struct fx *f = *state;
    struct placement pl;

    make_container(f, &pl, "c", 1);
    for (size_t i = 0; i < ARRAY_SIZE(list_names); i++)
        put_object(f, &pl, list_names[i], 10 + (int64_t)i, 1);
    /* Tombstones are never listed. */
    put_object(f, &pl, "a/zz", 100, 1);
    assert_int_equal(db_object_delete(f->pool, &pl, &f->pla, "c", "a/zz", 101, false), 0);
    run_list_cases(f, &pl, false);

    /* Subdirs are flagged; a callback can stop the listing. */
    struct list_query q = {.delimiter = "/", .limit = 100};
    struct collect c = {.out = BUF_INIT};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &c), 0);
    assert_int_equal(c.subdirs, 4);
    buf_release(&c.out);
    struct collect stop = {.out = BUF_INIT, .stop_after = 2};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &stop), -42);
    assert_string_equal(stop.out.data, "a|a/");
    buf_release(&stop.out);
}

static void test_account_listing(void **state)
{
    struct fx *f = *state;

    for (size_t i = 0; i < ARRAY_SIZE(list_names); i++) {
        struct placement pl;
        make_container(f, &pl, list_names[i], 10 + (int64_t)i);
    }
    /* A deleted container is not listed. */
    struct placement gone;
    make_container(f, &gone, "a/zz", 100);
    assert_int_equal(db_container_delete(f->pool, &gone, &f->pla, "a/zz", 101), 0);
    run_list_cases(f, &f->pla, true);

    struct list_query q = {.prefix = "ab", .limit = 10};
    struct collect c = {.out = BUF_INIT};
    assert_int_equal(db_account_list(f->pool, &f->pla, &q, collect_cb, &c), 0);
    assert_string_equal(c.out.data, "ab");
    assert_int_equal(c.last.timestamp, 14);
    buf_release(&c.out);
}

/* ---- replicas ---- */

/* After a ring change a container DB sits on the previous holders (listed
 * after the new primaries) until the replicator moves it: reads, listings
 * and row updates find it there, and no empty copy is made on the new
 * primary that would hide it. */
static void test_db_on_previous_holders(void **state)
{
    static const int before[] = {3, 0, 1, 2};   /* old ring: dg 3, 0, 1 */
    static const int after[] = {2, 0, 1, 3};    /* new ring: dg 2, 0, 1, then 3 */
    struct fx *f = *state;
    struct placement old_pl, pl;
    struct container_stat st;
    bool created;

    place(f, &old_pl, "moved", before, 4);
    assert_int_equal(put_container(f, &old_pl, "moved", 10, NULL, &created), 0);
    place(f, &pl, "moved", after, 4);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    container_stat_release(&st);
    /* The container PUT and the row reach the three holders (dg 0, 1 and
     * 3), and make no new copy on dg 2. */
    assert_int_equal(put_container(f, &pl, "moved", 11, NULL, &created), 0);
    assert_false(created);
    put_object(f, &pl, "o1", 12, 5);
    char *on_new = db_path(&pl, f->dg[2]);
    assert_int_equal(access(on_new, F_OK), -1);
    free(on_new);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.object_count, 1);
    container_stat_release(&st);
    struct collect c = {.out = BUF_INIT};
    struct list_query q = {.limit = 10};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &c), 0);
    assert_string_equal(c.out.data, "o1");
    buf_release(&c.out);
    /* The old holders that are no primaries any more got the row too. */
    place(f, &old_pl, "moved", (const int[]){3}, 1);
    assert_int_equal(db_container_stat(f->pool, &old_pl, &st), 0);
    assert_int_equal(st.object_count, 1);
    container_stat_release(&st);
}

static void test_quorum(void **state)
{
    static const int three[] = {0, 1, 2};
    struct fx *f = *state;
    struct placement pl, pl3;
    struct container_stat st;
    bool created;

    /* One primary down: the handoff takes the write. */
    place_c(f, &pl, "c");
    dg_note_result(f->dg[1], -EIO);
    assert_false(dg_usable(f->dg[1]));
    assert_int_equal(put_container(f, &pl, "c", 1, NULL, &created), 0);
    char *on_handoff = db_path(&pl, f->dg[3]);
    assert_int_equal(access(on_handoff, F_OK), 0);
    free(on_handoff);
    put_object(f, &pl, "o", 2, 3);

    /* Two of three down and no handoff: no quorum, and nothing written. */
    dg_note_result(f->dg[2], -EIO);
    place(f, &pl3, "d", three, 3);
    assert_int_equal(put_container(f, &pl3, "d", 3, NULL, &created), ERR_QUORUM);
    assert_false(created);
    char *on_0 = db_path(&pl3, f->dg[0]);
    assert_int_equal(access(on_0, F_OK), -1);
    free(on_0);
    place(f, &pl3, "c", three, 3);
    assert_int_equal(db_object_put(f->pool, &pl3, &f->pla, "c", "p", 4, 1, "a/b", "e", false), ERR_QUORUM);
    assert_int_equal(db_container_delete(f->pool, &pl3, &f->pla, "c", 5), ERR_QUORUM);
    /* Reads still work from the one usable replica. */
    assert_int_equal(db_container_stat(f->pool, &pl3, &st), 0);
    assert_int_equal(st.object_count, 1);
    container_stat_release(&st);
}

static void test_read_fallback(void **state)
{
    static const int handoff_first[] = {3, 0, 1};
    struct fx *f = *state;
    struct container_stat st;
    struct placement pl, other;

    make_container(f, &pl, "c", 1);
    put_object(f, &pl, "o", 2, 9);
    /* dg 3 has no DB: the next replica answers. */
    place(f, &other, "c", handoff_first, 3);
    assert_int_equal(db_container_stat(f->pool, &other, &st), 0);
    assert_int_equal(st.bytes_used, 9);
    container_stat_release(&st);

    /* The first replica's file is gone (with a fresh pool, so no handle is
     * cached): the second answers, listing too. */
    db_pool_free(f->pool);
    assert_int_equal(db_pool_new(&f->pool, 8, true), 0);
    char *path = db_path(&pl, f->dg[0]);
    assert_int_equal(unlink(path), 0);
    free(path);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.object_count, 1);
    container_stat_release(&st);
    struct list_query q = {.limit = 10};
    struct collect c = {.out = BUF_INIT};
    assert_int_equal(db_container_list(f->pool, &pl, &q, collect_cb, &c), 0);
    assert_string_equal(c.out.data, "o");
    buf_release(&c.out);

    /* No replica has it. */
    struct placement none;
    place(f, &none, "c", handoff_first, 1);
    assert_int_equal(db_container_stat(f->pool, &none, &st), -ENOENT);
    container_stat_release(&st);
}

/* ---- the container limit under concurrency ---- */

#define LIMIT_THREADS 8
#define LIMIT_PER_THREAD 10
#define LIMIT_MAX 25

struct limit_arg {
    struct fx *f;
    int id;
    int ok, limited;
};

static void *limit_thread(void *p)
{
    struct limit_arg *a = p;

    for (int i = 0; i < LIMIT_PER_THREAD; i++) {
        char name[32];
        struct placement pl;
        bool created;
        snprintf(name, sizeof(name), "t%d-%d", a->id, i);
        place_c(a->f, &pl, name);
        int rc = db_container_put(a->f->pool, &pl, &a->f->pla, ACCOUNT, name, 10 + i, NULL,
                                  LIMIT_MAX, &created);
        if (rc == 0)
            a->ok++;
        else if (rc == ERR_LIMIT)
            a->limited++;
    }
    return NULL;
}

static int count_cb(void *ctx, const struct list_entry *e)
{
    (void)e;
    ++*(int *)ctx;
    return 0;
}

static void test_max_containers_concurrent(void **state)
{
    struct fx *f = *state;
    struct limit_arg args[LIMIT_THREADS];
    pthread_t th[LIMIT_THREADS];
    int ok = 0, limited = 0, listed = 0;

    for (int i = 0; i < LIMIT_THREADS; i++) {
        args[i] = (struct limit_arg){.f = f, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, limit_thread, &args[i]), 0);
    }
    for (int i = 0; i < LIMIT_THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
        limited += args[i].limited;
    }
    assert_int_equal(ok, LIMIT_MAX);
    assert_int_equal(limited, LIMIT_THREADS * LIMIT_PER_THREAD - LIMIT_MAX);

    struct account_stat st;
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.container_count, LIMIT_MAX);
    account_stat_release(&st);
    struct list_query q = {.limit = 1000};
    assert_int_equal(db_account_list(f->pool, &f->pla, &q, count_cb, &listed), 0);
    assert_int_equal(listed, LIMIT_MAX);

    /* Each replica of the account DB on its own holds the same LIMIT_MAX
     * rows: the batches ran in one order on all of them, and the later
     * replicas followed the first one's decisions. */
    for (size_t k = 0; k < REPLICAS; k++) {
        struct placement one;
        int n_one = 0;
        place(f, &one, NULL, &order_default[k], 1);
        assert_int_equal(db_account_stat(f->pool, &one, &st), 0);
        assert_int_equal(st.container_count, LIMIT_MAX);
        account_stat_release(&st);
        assert_int_equal(db_account_list(f->pool, &one, &q, count_cb, &n_one), 0);
        assert_int_equal(n_one, LIMIT_MAX);
    }

    /* An existing container at the limit is still accepted (202). */
    struct collect c = {.out = BUF_INIT};
    q.limit = 1;
    assert_int_equal(db_account_list(f->pool, &f->pla, &q, collect_cb, &c), 0);
    struct placement pl;
    bool created;
    place_c(f, &pl, c.out.data);
    assert_int_equal(
        db_container_put(f->pool, &pl, &f->pla, ACCOUNT, c.out.data, 99, NULL, LIMIT_MAX, &created),
        0);
    assert_false(created);
    buf_release(&c.out);
}

/* ---- rollup ---- */

static void test_rollup(void **state)
{
    struct fx *f = *state;
    struct placement c1, c2;
    struct account_stat st;

    make_container(f, &c1, "c1", 1);
    make_container(f, &c2, "c2", 2);
    put_object(f, &c1, "x", 10, 100);
    put_object(f, &c1, "y", 11, 20);
    put_object(f, &c2, "z", 12, 3);

    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.object_count, 0); /* not rolled up yet */
    account_stat_release(&st);
    assert_int_equal(db_rollup_flush(f->pool, "AUTH_other"), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.object_count, 0);
    account_stat_release(&st);

    assert_int_equal(db_rollup_flush(f->pool, ACCOUNT), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.container_count, 2);
    assert_int_equal(st.object_count, 3);
    assert_int_equal(st.bytes_used, 123);
    account_stat_release(&st);

    struct list_query q = {.prefix = "c1", .limit = 10};
    struct collect c = {.out = BUF_INIT};
    assert_int_equal(db_account_list(f->pool, &f->pla, &q, collect_cb, &c), 0);
    assert_string_equal(c.out.data, "c1");
    assert_int_equal(c.last.count, 2);
    assert_int_equal(c.last.bytes, 120);
    buf_release(&c.out);

    /* Shrinking works too, and a flush with nothing dirty is a no-op. */
    assert_int_equal(db_object_delete(f->pool, &c1, &f->pla, "c1", "x", 13, false), 0);
    assert_int_equal(db_rollup_flush(f->pool, NULL), 0);
    assert_int_equal(db_rollup_flush(f->pool, NULL), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.object_count, 2);
    assert_int_equal(st.bytes_used, 23);
    account_stat_release(&st);

    /* Deleting a container takes its (rolled up) counts off the account. */
    assert_int_equal(db_object_delete(f->pool, &c2, &f->pla, "c2", "z", 14, false), 0);
    assert_int_equal(db_container_delete(f->pool, &c2, &f->pla, "c2", 15), 0);
    assert_int_equal(db_rollup_flush(f->pool, NULL), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.container_count, 1);
    assert_int_equal(st.object_count, 1);
    assert_int_equal(st.bytes_used, 20);
    account_stat_release(&st);
}

/* A clean shutdown writes out the pending rollups. */
static void test_rollup_at_pool_free(void **state)
{
    struct fx *f = *state;
    struct account_stat st;
    struct placement pl;

    make_container(f, &pl, "c", 1);
    put_object(f, &pl, "o", 2, 42);
    db_pool_free(f->pool);
    assert_int_equal(db_pool_new(&f->pool, 8, false), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &st), 0);
    assert_int_equal(st.object_count, 1);
    assert_int_equal(st.bytes_used, 42);
    account_stat_release(&st);
}

/* ---- the pool ---- */

#define PUT_THREADS 4
#define PUT_PER_THREAD 40

struct put_arg {
    struct fx *f;
    const struct placement *pl;
    int id, failed;
};

static void *put_thread(void *p)
{
    struct put_arg *a = p;

    for (int i = 0; i < PUT_PER_THREAD; i++) {
        char name[32];
        snprintf(name, sizeof(name), "o-%d-%d", a->id, i);
        if (db_object_put(a->f->pool, a->pl, &a->f->pla, "c", name, 10 + i, 2, "text/plain", "e", false) !=
            0)
            a->failed++;
        if (i % 8 == 0 && db_rollup_flush(a->f->pool, ACCOUNT) != 0)
            a->failed++;
    }
    return NULL;
}

/* Many threads writing one container through a pool smaller than the
 * replica count, so handles are evicted and reopened under contention. */
static void test_pool_concurrent_puts(void **state)
{
    struct fx *f = *state; /* max_open = 2 */
    struct put_arg args[PUT_THREADS];
    pthread_t th[PUT_THREADS];
    struct container_stat st;
    struct account_stat ast;
    struct placement pl;

    make_container(f, &pl, "c", 1);
    for (int i = 0; i < PUT_THREADS; i++) {
        args[i] = (struct put_arg){.f = f, .pl = &pl, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, put_thread, &args[i]), 0);
    }
    for (int i = 0; i < PUT_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.object_count, PUT_THREADS * PUT_PER_THREAD);
    assert_int_equal(st.bytes_used, 2 * PUT_THREADS * PUT_PER_THREAD);
    container_stat_release(&st);
    assert_int_equal(db_rollup_flush(f->pool, NULL), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.object_count, PUT_THREADS * PUT_PER_THREAD);
    account_stat_release(&ast);
}

static void test_pool_eviction(void **state)
{
    struct fx *f = *state; /* max_open = 2 */
    struct placement pl[6];
    struct container_stat st;

    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "e%d", i);
        make_container(f, &pl[i], name, 1 + i);
        put_object(f, &pl[i], "o", 10, (uint64_t)i);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 6; i++) {
            assert_int_equal(db_container_stat(f->pool, &pl[i], &st), 0);
            assert_int_equal(st.bytes_used, (uint64_t)i);
            container_stat_release(&st);
        }
}

/* ---- group commit ---- */

static int fx_setup_sync(void **state)
{
    struct fx *f;
    int rc = fx_setup_max(state, 64);

    f = *state;
    db_pool_free(f->pool); /* PRAGMA synchronous=FULL, as a server with fsync on */
    assert_int_equal(db_pool_new(&f->pool, 64, true), 0);
    return rc;
}

/* The placement of name with replica first_dg read first. */
static void place_from(struct fx *f, struct placement *pl, const char *name, int first_dg)
{
    int order[3] = {first_dg, (first_dg + 1) % 3, (first_dg + 2) % 3};

    place(f, pl, name, order, 3);
}

static void assert_replica_counts(struct fx *f, const char *name, int dg, uint64_t count,
                                  uint64_t bytes)
{
    struct container_stat st;
    struct placement pl;
    int listed = 0;

    place_from(f, &pl, name, dg);
    assert_int_equal(db_container_stat(f->pool, &pl, &st), 0);
    assert_int_equal(st.object_count, count);
    assert_int_equal(st.bytes_used, bytes);
    container_stat_release(&st);
    struct list_query q = {.limit = 100000};
    assert_int_equal(db_container_list(f->pool, &pl, &q, count_cb, &listed), 0);
    assert_int_equal(listed, (int)count);
}

#define GC_THREADS 16
#define GC_PER_THREAD 24

struct gc_arg {
    struct fx *f;
    const struct placement *pl;
    int id, failed;
};

/* Each thread puts its names (size i + 1), overwrites every other one with
 * a newer row of size 7, sends an older write that must lose, and deletes
 * every fourth name: GC_PER_THREAD * 3 / 4 live rows of known sizes. */
static void *gc_thread(void *p)
{
    struct gc_arg *a = p;
    struct db_pool *pool = a->f->pool;
    const struct placement *pla = &a->f->pla;

    for (int i = 0; i < GC_PER_THREAD; i++) {
        char name[32];
        snprintf(name, sizeof(name), "o-%02d-%02d", a->id, i);
        a->failed += db_object_put(pool, a->pl, pla, "c", name, 100 + i, (uint64_t)i + 1,
                                   "text/plain", "e", false) != 0;
        if (i % 2 == 0)
            a->failed +=
                db_object_put(pool, a->pl, pla, "c", name, 200 + i, 7, "text/plain", "e", false) != 0;
        a->failed += db_object_put(pool, a->pl, pla, "c", name, 50, 1000, "text/plain", "e", false) != 0;
        if (i % 4 == 3)
            a->failed += db_object_delete(pool, a->pl, pla, "c", name, 300 + i, false) != 0;
    }
    return NULL;
}

static void gc_expected(uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    for (int i = 0; i < GC_PER_THREAD; i++) {
        if (i % 4 == 3)
            continue;
        *count += GC_THREADS;
        *bytes += GC_THREADS * (i % 2 == 0 ? 7 : (uint64_t)i + 1);
    }
}

/* Many threads writing one container: every row lands on every replica
 * with exact counts, newest wins, and the writes share commits. */
static void test_group_commit_one_container(void **state)
{
    struct fx *f = *state; /* synchronous=FULL */
    struct gc_arg args[GC_THREADS];
    pthread_t th[GC_THREADS];
    struct account_stat ast;
    struct placement pl;
    uint64_t count, bytes, ops = 0;

    make_container(f, &pl, "c", 1);
    uint64_t commits0 = db_pool_commits(f->pool);
    for (int i = 0; i < GC_THREADS; i++) {
        args[i] = (struct gc_arg){.f = f, .pl = &pl, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    uint64_t commits = db_pool_commits(f->pool) - commits0;
    for (int i = 0; i < GC_PER_THREAD; i++)
        ops += (uint64_t)GC_THREADS * (2 + (i % 2 == 0) + (i % 4 == 3));
    ops *= REPLICAS;
    print_message("group commit: %llu row writes in %llu commits\n", (unsigned long long)ops,
                  (unsigned long long)commits);
    assert_true(commits > 0);
    assert_true(commits < ops);

    gc_expected(&count, &bytes);
    for (int dg = 0; dg < REPLICAS; dg++)
        assert_replica_counts(f, "c", dg, count, bytes);
    assert_int_equal(db_rollup_flush(f->pool, ACCOUNT), 0);
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.object_count, count);
    assert_int_equal(ast.bytes_used, bytes);
    account_stat_release(&ast);
}

struct midway_arg {
    struct fx *f;
    const struct placement *pl;
    int id, failed;
    volatile int *progress;
};

static void *midway_thread(void *p)
{
    struct midway_arg *a = p;

    for (int i = 0; i < GC_PER_THREAD; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m-%02d-%02d", a->id, i);
        a->failed += db_object_put(a->f->pool, a->pl, &a->f->pla, "c", name, 10 + i, 3,
                                   "text/plain", "e", false) != 0;
        __atomic_add_fetch(a->progress, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* A primary becomes unusable while many writes are in flight: none fails,
 * the handoff takes over, and the replicas that stayed up have every row. */
static void test_group_commit_replica_lost(void **state)
{
    struct fx *f = *state;
    struct midway_arg args[GC_THREADS];
    pthread_t th[GC_THREADS];
    volatile int progress = 0;
    struct placement pl;

    make_container(f, &pl, "c", 1);
    for (int i = 0; i < GC_THREADS; i++) {
        args[i] = (struct midway_arg){.f = f, .pl = &pl, .id = i, .progress = &progress};
        assert_int_equal(pthread_create(&th[i], NULL, midway_thread, &args[i]), 0);
    }
    while (__atomic_load_n(&progress, __ATOMIC_SEQ_CST) < GC_THREADS * GC_PER_THREAD / 3)
        usleep(1000);
    dg_note_result(f->dg[1], -EIO);
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failed, 0);
    }
    assert_false(dg_usable(f->dg[1]));
    assert_replica_counts(f, "c", 0, GC_THREADS * GC_PER_THREAD, 3 * GC_THREADS * GC_PER_THREAD);
    assert_replica_counts(f, "c", 2, GC_THREADS * GC_PER_THREAD, 3 * GC_THREADS * GC_PER_THREAD);
    /* The handoff has no container DB (object rows never create one): the
     * two replicas left carried the quorum. */
    char *on_handoff = db_path(&pl, f->dg[3]);
    assert_int_equal(access(on_handoff, F_OK), -1);
    free(on_handoff);

    /* Then a second one: no quorum, and the answer comes (no hang). */
    dg_note_result(f->dg[2], -EIO);
    dg_note_result(f->dg[3], -EIO);
    assert_int_equal(db_object_put(f->pool, &pl, &f->pla, "c", "late", 99, 1, "a/b", "e", false),
                     ERR_QUORUM);
}

/* ---- a stalled replica ---- */

struct stall {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool holding, release;
};

/* A listing callback runs while its DB's handle is held: waiting in it
 * stalls every writer of that replica, as a hung disk would. */
static int stall_cb(void *ctx, const struct list_entry *e)
{
    struct stall *s = ctx;

    (void)e;
    pthread_mutex_lock(&s->lock);
    s->holding = true;
    pthread_cond_broadcast(&s->cond);
    while (!s->release)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return -1; /* one entry is enough */
}

struct stall_arg {
    struct fx *f;
    struct stall *s;
};

static void *stall_thread(void *p)
{
    struct stall_arg *a = p;
    struct placement pl;
    struct list_query q = {.limit = 1};

    place_from(a->f, &pl, "c", 2);
    assert_int_equal(db_container_list(a->f->pool, &pl, &q, stall_cb, a->s), -1);
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* With one replica stalled, a write answers once the quorum committed and
 * a grace period passed; the stalled replica catches up when it comes
 * back, and the pool drains such writes when it is freed. */
static void test_group_commit_stalled_replica(void **state)
{
    struct fx *f = *state;
    struct stall s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct stall_arg a = {f, &s};
    struct placement pl;
    pthread_t th;

    make_container(f, &pl, "c", 1);
    put_object(f, &pl, "a", 2, 1);
    assert_int_equal(pthread_create(&th, NULL, stall_thread, &a), 0);
    pthread_mutex_lock(&s.lock);
    while (!s.holding)
        pthread_cond_wait(&s.cond, &s.lock);
    pthread_mutex_unlock(&s.lock);

    uint64_t t0 = now_ms();
    put_object(f, &pl, "b", 3, 10);
    put_object(f, &pl, "c", 4, 100);
    uint64_t took = now_ms() - t0;
    print_message("two puts with a stalled replica took %llu ms\n", (unsigned long long)took);
    assert_true(took >= 900); /* each waited for the stalled one a while... */
    /* ...but both answered while it was still stalled. */
    assert_replica_counts(f, "c", 0, 3, 111);
    assert_replica_counts(f, "c", 1, 3, 111);

    pthread_mutex_lock(&s.lock);
    s.release = true;
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    pthread_join(th, NULL);
    /* The stalled replica's writes land; freeing the pool waits for them. */
    db_pool_free(f->pool);
    assert_int_equal(db_pool_new(&f->pool, 64, false), 0);
    assert_replica_counts(f, "c", 2, 3, 111);
    struct account_stat ast;
    assert_int_equal(db_account_stat(f->pool, &f->pla, &ast), 0);
    assert_int_equal(ast.object_count, 3);
    account_stat_release(&ast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_account_put_stat, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_container_create_stat_revive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_metadata_merge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_object_rows, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_not_empty, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_container_listing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_account_listing, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_quorum, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_on_previous_holders, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_fallback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_max_containers_concurrent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollup, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollup_at_pool_free, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pool_eviction, fx_setup_small, fx_teardown),
        cmocka_unit_test_setup_teardown(test_pool_concurrent_puts, fx_setup_small, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_one_container, fx_setup_sync,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_replica_lost, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_stalled_replica, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
