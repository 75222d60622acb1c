/* storage/meta.c: This file implements the container and account databases
 * of meta.h on SQLite: the handle pool, the replicated (quorum) writes, the
 * per-key timestamped metadata, the lazy rollup of container stats into
 * accounts and Swift's listing algorithm.
 *
 * It is the only file that includes sqlite3.h; SQLite result codes are turned
 * into -errno values in meta_sql_err() and nowhere else.
 *
 * Object rows are written through the group commit of meta_commit.c: the
 * replicas commit in parallel, and concurrent writes to one container DB
 * share one transaction and one WAL sync (meta_batch_run below). Other
 * writes, rare and order-sensitive, go replica after replica.
 *
 * Locking: the pool lock guards the handle table, the LRU list and the
 * reference counts; each handle has its own mutex, held by the one thread
 * using its sqlite3* (opened with SQLITE_OPEN_NOMUTEX). A thread never holds
 * two handle mutexes at once, and never holds the pool lock while it waits
 * for a handle mutex or talks to SQLite, so no lock order can deadlock and a
 * slow fsync on one DB does not stall requests for other DBs.
 *
 * Every DB has a single-row "info" table (id = 0) carrying its stats, kept
 * up to date in the same transaction as each row change so a stat is one
 * indexed read. Metadata is a JSON object {key: [value, ts]}; values are
 * stored in the byte-preserving form of kv_to_json (common/kv.c). */
#include "meta.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../common/log.h"
#include "io.h"
#include "meta_int.h"

#define SCHEMA_VERSION 1
#define SCHEMA_VERSION_SQL "PRAGMA user_version = 1" /* keep in step */
#define BUSY_TIMEOUT_MS 10000
#define DIRTY_BUCKETS 256
#define ERR_NODB (-ENODATA) /* internal: a DB file without its info row */
/* Once a quorum of an object row's replicas committed, how long to wait for
 * the last one before answering (Swift's container_update_timeout): long
 * enough that a listing right after a PUT normally sees it on every replica,
 * short enough that a stalled disk group does not stall the requests. */
#define QUORUM_GRACE_MS 1000

/* ---- schema and statements ---- */

static const char container_schema[] =
    "CREATE TABLE object ("
    " name TEXT PRIMARY KEY COLLATE BINARY, created_at INTEGER NOT NULL,"
    " size INTEGER NOT NULL, content_type TEXT NOT NULL, etag TEXT NOT NULL,"
    " deleted INTEGER NOT NULL) WITHOUT ROWID;"
    /* Listings skip tombstones through this index instead of scanning them. */
    "CREATE INDEX object_live ON object (name) WHERE deleted = 0;"
    "CREATE TABLE info ("
    " id INTEGER PRIMARY KEY CHECK (id = 0), account TEXT NOT NULL, container TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, put_timestamp INTEGER NOT NULL,"
    " delete_timestamp INTEGER NOT NULL, object_count INTEGER NOT NULL,"
    " bytes_used INTEGER NOT NULL, metadata TEXT NOT NULL);";

static const char account_schema[] =
    "CREATE TABLE container ("
    " name TEXT PRIMARY KEY COLLATE BINARY, put_timestamp INTEGER NOT NULL,"
    " delete_timestamp INTEGER NOT NULL, object_count INTEGER NOT NULL,"
    " bytes_used INTEGER NOT NULL, deleted INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX container_live ON container (name) WHERE deleted = 0;"
    "CREATE TABLE info ("
    " id INTEGER PRIMARY KEY CHECK (id = 0), account TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, put_timestamp INTEGER NOT NULL,"
    " delete_timestamp INTEGER NOT NULL, container_count INTEGER NOT NULL,"
    " object_count INTEGER NOT NULL, bytes_used INTEGER NOT NULL, metadata TEXT NOT NULL);";

/* Listing statements come in 8 variants, indexed by list_variant(). */
enum stmt {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_INFO_META,
    ST_C_INFO_GET,
    ST_C_INFO_INSERT,
    ST_C_INFO_PUT,
    ST_C_INFO_DELETE,
    ST_C_INFO_ADD,
    ST_C_OBJ_GET,
    ST_C_OBJ_PUT,
    ST_A_INFO_GET,
    ST_A_INFO_INSERT,
    ST_A_INFO_ADD,
    ST_A_CONT_GET,
    ST_A_CONT_PUT,
    ST_A_CONT_COUNTS,
    ST_C_LIST,
    ST_A_LIST = ST_C_LIST + 8,
    ST_COUNT = ST_A_LIST + 8,
};

#define UPPER " AND name < ?2"
#define C_LIST(lo, up, ord)                                                                        \
    "SELECT name, created_at, size, 0, content_type, etag FROM object"                             \
    " WHERE deleted = 0 AND name " lo " ?1" up " ORDER BY name " ord " LIMIT ?3"
#define A_LIST(lo, up, ord)                                                                        \
    "SELECT name, put_timestamp, bytes_used, object_count, NULL, NULL FROM container"              \
    " WHERE deleted = 0 AND name " lo " ?1" up " ORDER BY name " ord " LIMIT ?3"
#define LIST_VARIANTS(M)                                                                           \
    M(">", "", "ASC"), M(">=", "", "ASC"), M(">", UPPER, "ASC"), M(">=", UPPER, "ASC"),            \
        M(">", "", "DESC"), M(">=", "", "DESC"), M(">", UPPER, "DESC"), M(">=", UPPER, "DESC")

/* Both info SELECTs return the same columns so one reader serves both. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT op",
    [ST_RELEASE] = "RELEASE op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO op",
    [ST_INFO_META] = "UPDATE info SET metadata = ?1 WHERE id = 0",
    [ST_C_INFO_GET] = "SELECT account, container, created_at, put_timestamp, delete_timestamp, 0,"
                      " object_count, bytes_used, metadata FROM info WHERE id = 0",
    [ST_C_INFO_INSERT] = "INSERT INTO info VALUES (0, ?1, ?2, ?3, ?3, 0, 0, 0, ?4)",
    [ST_C_INFO_PUT] = "UPDATE info SET put_timestamp = ?1, metadata = ?2 WHERE id = 0",
    [ST_C_INFO_DELETE] = "UPDATE info SET delete_timestamp = ?1, metadata = ?2 WHERE id = 0",
    [ST_C_INFO_ADD] = "UPDATE info SET object_count = object_count + ?1,"
                      " bytes_used = bytes_used + ?2 WHERE id = 0",
    [ST_C_OBJ_GET] = "SELECT created_at, size, deleted FROM object WHERE name = ?1",
    [ST_C_OBJ_PUT] = "INSERT OR REPLACE INTO object VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_A_INFO_GET] = "SELECT account, NULL, created_at, put_timestamp, delete_timestamp,"
                      " container_count, object_count, bytes_used, metadata FROM info WHERE id = 0",
    [ST_A_INFO_INSERT] = "INSERT INTO info VALUES (0, ?1, ?2, ?2, 0, 0, 0, 0, '{}')",
    [ST_A_INFO_ADD] =
        "UPDATE info SET container_count = container_count + ?1,"
        " object_count = object_count + ?2, bytes_used = bytes_used + ?3 WHERE id = 0",
    [ST_A_CONT_GET] = "SELECT put_timestamp, delete_timestamp, object_count, bytes_used, deleted"
                      " FROM container WHERE name = ?1",
    [ST_A_CONT_PUT] = "INSERT OR REPLACE INTO container VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_A_CONT_COUNTS] = "UPDATE container SET object_count = ?2, bytes_used = ?3 WHERE name = ?1",
    [ST_C_LIST] = LIST_VARIANTS(C_LIST),
    [ST_A_LIST] = LIST_VARIANTS(A_LIST),
};

/* ---- pool ---- */

struct db_handle {
    char *path;
    uint64_t hash; /* of path */
    enum item_kind kind;
    sqlite3 *db;                  /* NULL until opened (or when opening failed) */
    sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use, kept until close */
    pthread_mutex_t lock;         /* held by the one thread using db */
    bool relaxed;                 /* synchronous = NORMAL set for relaxed batches */
    /* Guarded by the pool lock: */
    unsigned refs; /* threads holding or waiting for the handle */
    bool linked;   /* in the table and the LRU list */
    struct db_handle *hash_next;
    struct db_handle *lru_prev, *lru_next;
};

/* A container whose stats changed since the last rollup into its account. */
struct dirty {
    struct placement pl, pl_account;
    char *account, *container;
    struct dirty *next;
};

struct db_pool {
    pthread_mutex_t lock;
    pthread_mutex_t flush_lock; /* one rollup at a time, so none writes stale counts */
    unsigned max_open, n_open;
    bool sync;
    size_t n_buckets; /* power of two */
    struct db_handle **buckets;
    struct db_handle *lru_head, *lru_tail; /* head: most recently used */
    struct dirty *dirty[DIRTY_BUCKETS];
    struct commit *commit;
    pthread_mutex_t link_lock;    /* guards links */
    struct link_queue *links;     /* accounts with container creates queued */
};

/* Translate a SQLite result code into 0 or -errno (the one place that does;
 * meta_sync.c uses it too). */
int meta_sql_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return ERR_CORRUPT;
    case SQLITE_IOERR:
        return -EIO;
    default: /* SQLITE_ERROR, MISUSE, CONSTRAINT...: a bug or a foreign file */
        return -EINVAL;
    }
}

static uint64_t path_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int db_pool_new(struct db_pool **out, unsigned max_open, bool sync)
{
    struct db_pool *p;

    *out = NULL;
    if (max_open == 0)
        return -EINVAL;
    p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->flush_lock, NULL);
    pthread_mutex_init(&p->link_lock, NULL);
    p->max_open = max_open;
    p->sync = sync;
    p->n_buckets = 64;
    while (p->n_buckets < 2 * (size_t)max_open)
        p->n_buckets *= 2;
    p->buckets = xcalloc(p->n_buckets, sizeof(*p->buckets));
    p->commit = commit_new(p);
    *out = p;
    return 0;
}

/* Finalize and close; the caller made sure nobody else can reach h. */
static void handle_close(struct db_handle *h)
{
    for (size_t i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(h->stmt[i]);
    if (h->db && sqlite3_close(h->db) != SQLITE_OK)
        log_error("msg=\"cannot close db\" path=%s err=\"%s\"", h->path, sqlite3_errmsg(h->db));
    pthread_mutex_destroy(&h->lock);
    free(h->path);
    free(h);
}

static void dirty_free(struct dirty *d)
{
    free(d->account);
    free(d->container);
    free(d);
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    /* Writes a request stopped waiting for still complete (and mark their
     * containers dirty) before the last rollup. */
    commit_free(p->commit);
    /* The dirty set lives in memory only: write it out on a clean stop. */
    if (db_rollup_flush(p, NULL) < 0)
        log_warn("msg=\"rollup at shutdown incomplete\"");
    while (p->lru_head) {
        struct db_handle *h = p->lru_head;
        p->lru_head = h->lru_next;
        handle_close(h);
    }
    for (size_t i = 0; i < DIRTY_BUCKETS; i++)
        while (p->dirty[i]) {
            struct dirty *d = p->dirty[i];
            p->dirty[i] = d->next;
            dirty_free(d);
        }
    free(p->buckets);
    pthread_mutex_destroy(&p->link_lock);
    pthread_mutex_destroy(&p->flush_lock);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The functions below up to handle_acquire need the pool lock held. */

static struct db_handle *table_find(struct db_pool *p, const char *path, uint64_t hash)
{
    struct db_handle *h = p->buckets[hash & (p->n_buckets - 1)];

    while (h && (h->hash != hash || strcmp(h->path, path) != 0))
        h = h->hash_next;
    return h;
}

static void lru_unlink(struct db_pool *p, struct db_handle *h)
{
    if (h->lru_prev)
        h->lru_prev->lru_next = h->lru_next;
    else
        p->lru_head = h->lru_next;
    if (h->lru_next)
        h->lru_next->lru_prev = h->lru_prev;
    else
        p->lru_tail = h->lru_prev;
    h->lru_prev = h->lru_next = NULL;
}

static void lru_push(struct db_pool *p, struct db_handle *h)
{
    h->lru_next = p->lru_head;
    if (p->lru_head)
        p->lru_head->lru_prev = h;
    else
        p->lru_tail = h;
    p->lru_head = h;
}

static void table_insert(struct db_pool *p, struct db_handle *h)
{
    struct db_handle **b = &p->buckets[h->hash & (p->n_buckets - 1)];

    h->hash_next = *b;
    *b = h;
    lru_push(p, h);
    h->linked = true;
    p->n_open++;
}

static void table_remove(struct db_pool *p, struct db_handle *h)
{
    struct db_handle **b = &p->buckets[h->hash & (p->n_buckets - 1)];

    while (*b != h)
        b = &(*b)->hash_next;
    *b = h->hash_next;
    lru_unlink(p, h);
    h->linked = false;
    p->n_open--;
}

/* Unlink idle handles from the LRU end while the pool is over max_open and
 * return them as a list (through hash_next) for the caller to close after
 * dropping the lock: closing checkpoints the WAL, which may fsync. */
static struct db_handle *evict_locked(struct db_pool *p)
{
    struct db_handle *victims = NULL, *h = p->lru_tail;

    while (h && p->n_open > p->max_open) {
        struct db_handle *prev = h->lru_prev;
        if (h->refs == 0) {
            table_remove(p, h);
            h->hash_next = victims;
            victims = h;
        }
        h = prev;
    }
    return victims;
}

static void close_list(struct db_handle *h)
{
    while (h) {
        struct db_handle *next = h->hash_next;
        handle_close(h);
        h = next;
    }
}

/* Drop a reference taken by handle_acquire (the handle mutex is not held). */
static void handle_unref(struct db_pool *p, struct db_handle *h)
{
    struct db_handle *victims;
    bool orphan;

    pthread_mutex_lock(&p->lock);
    orphan = --h->refs == 0 && !h->linked;
    victims = evict_locked(p);
    pthread_mutex_unlock(&p->lock);
    if (orphan)
        handle_close(h);
    close_list(victims);
}

static void handle_release(struct db_pool *p, struct db_handle *h)
{
    pthread_mutex_unlock(&h->lock);
    handle_unref(p, h);
}

/* ---- opening a DB ---- */

/* mkdir -p that fsyncs the parent of every directory it creates, so a new
 * DB stays reachable after a crash. 0 or -errno. */
static int mkdir_p_sync(const char *dir)
{
    struct stat st;
    char *parent, *slash;
    int rc;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    if (errno != ENOENT)
        return -errno;
    parent = xstrdup(dir);
    slash = strrchr(parent, '/');
    /* Never make a dg's containers/ or accounts/: dg_open did, so without
     * it the disk is not mounted and this would write to the mount point. */
    if (!slash || slash == parent || strcmp(slash, "/containers") == 0 ||
        strcmp(slash, "/accounts") == 0) {
        rc = -ENOENT;
        goto out_free;
    }
    *slash = '\0';
    rc = mkdir_p_sync(parent);
    if (rc == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(parent);
out_free:
    free(parent);
    return rc;
}

int meta_exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        log_error("msg=\"sql failed\" file=%s err=\"%s\"", sqlite3_db_filename(db, "main"),
                  msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
    }
    return meta_sql_err(rc);
}

int meta_user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

    if (rc != SQLITE_OK)
        return meta_sql_err(rc);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : meta_sql_err(rc);
}

/* Create the schema of a new DB (user_version 0) in one transaction; refuse
 * a DB written by a newer version. */
static int schema_ensure(sqlite3 *db, enum item_kind kind)
{
    int v, rc = meta_user_version(db, &v);

    if (rc < 0 || v == SCHEMA_VERSION)
        return rc;
    if (v > SCHEMA_VERSION) {
        log_error("msg=\"db schema is newer than this program\" file=%s version=%d",
                  sqlite3_db_filename(db, "main"), v);
        return -EPROTO;
    }
    if ((rc = meta_exec_sql(db, "BEGIN IMMEDIATE")) < 0)
        return rc;
    rc = meta_user_version(db, &v); /* another process may have won the race */
    if (rc == 0 && v == 0)
        rc = meta_exec_sql(db, kind == ITEM_ACCOUNT ? account_schema : container_schema);
    if (rc == 0 && v == 0)
        rc = meta_exec_sql(db, SCHEMA_VERSION_SQL);
    if (rc == 0)
        return meta_exec_sql(db, "COMMIT");
    (void)meta_exec_sql(db, "ROLLBACK");
    return rc;
}

static int handle_open(struct db_pool *p, struct db_handle *h, const char *dir, bool create)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    bool fresh = false;
    sqlite3 *db = NULL;
    int rc;

    if (create) {
        if ((rc = mkdir_p_sync(dir)) < 0)
            return rc;
        flags |= SQLITE_OPEN_CREATE;
        fresh = access(h->path, F_OK) != 0;
    }
    rc = meta_sql_err(sqlite3_open_v2(h->path, &db, flags, NULL));
    if (rc < 0)
        goto out_close;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = meta_exec_sql(db, "PRAGMA journal_mode = WAL");
    if (rc == 0)
        rc = meta_exec_sql(db, p->sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    h->relaxed = false;
    /* SQLite's default page cache is 2 MiB per handle; with up to db_cache
     * handles open that is gigabytes. 512 KiB still holds the index pages a
     * 10,000-entry listing walks. */
    if (rc == 0)
        rc = meta_exec_sql(db, "PRAGMA cache_size = -512");
    if (rc == 0)
        rc = schema_ensure(db, h->kind);
    if (rc == 0 && fresh)
        rc = fsync_dir(dir); /* the new file's directory entry */
    if (rc == 0) {
        h->db = db;
        return 0;
    }
out_close:
    sqlite3_close(db);
    return rc;
}

static struct db_handle *handle_new(char *path, uint64_t hash, enum item_kind kind)
{
    struct db_handle *h = xcalloc(1, sizeof(*h));

    h->path = xstrdup(path);
    h->hash = hash;
    h->kind = kind;
    h->refs = 1;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

/* Open (or create) the DB of pl on dg, or find it open in the pool; on
 * success the handle is returned locked and the caller must handle_release
 * it. 0, -ENOENT (no DB and !create), -errno. */
static int handle_acquire(struct db_pool *p, const struct placement *pl, struct disk_group *dg,
                          bool create, struct db_handle **out)
{
    char *dir = placement_dir(pl, dg);
    char *path = xasprintf("%s/%s.db", dir, pl->hash_hex);
    uint64_t hash = path_hash(path);
    struct db_handle *h;
    int rc = 0;

    if (!create && access(path, F_OK) != 0) {
        rc = -errno;
        goto out_free;
    }
    for (;;) {
        pthread_mutex_lock(&p->lock);
        h = table_find(p, path, hash);
        if (h) {
            h->refs++;
            lru_unlink(p, h);
            lru_push(p, h);
            pthread_mutex_unlock(&p->lock);
            pthread_mutex_lock(&h->lock);
            if (h->db)
                break;
            handle_release(p, h); /* its opener failed and unlinked it: retry */
            continue;
        }
        h = handle_new(path, hash, pl->kind);
        pthread_mutex_lock(&h->lock);
        table_insert(p, h);
        struct db_handle *victims = evict_locked(p);
        pthread_mutex_unlock(&p->lock);
        close_list(victims);
        rc = handle_open(p, h, dir, create);
        if (rc == 0)
            break;
        pthread_mutex_lock(&p->lock);
        table_remove(p, h);
        pthread_mutex_unlock(&p->lock);
        handle_release(p, h);
        goto out_free;
    }
    *out = h;
out_free:
    free(path);
    free(dir);
    return rc;
}

void db_pool_forget(struct db_pool *p, const char *path)
{
    uint64_t hash = path_hash(path);
    struct db_handle *h;
    bool idle = false;

    pthread_mutex_lock(&p->lock);
    h = table_find(p, path, hash);
    if (h) {
        table_remove(p, h);     /* its last user closes it (handle_unref) */
        idle = h->refs == 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (idle)
        handle_close(h);
}

int db_check_file(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = meta_sql_err(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL));

    if (rc == 0) {
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
        rc = meta_sql_err(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL));
    }
    if (rc == 0) {
        int step = sqlite3_step(st);
        const unsigned char *res = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        /* quick_check answers one row "ok", or rows naming the damage */
        rc = step != SQLITE_ROW ? meta_sql_err(step) : (res && strcmp((const char *)res, "ok") == 0)
                                                      ? 0
                                                      : ERR_CORRUPT;
        if (rc == -EINVAL)      /* SQLITE_ERROR from a file that is no DB */
            rc = ERR_CORRUPT;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* ---- statements ---- */

static int st_get(struct db_handle *h, enum stmt id, sqlite3_stmt **out)
{
    *out = NULL; /* set on every path, so no caller reads it uninitialised */
    if (!h->stmt[id]) {
        int rc = sqlite3_prepare_v3(h->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &h->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            log_error("msg=\"cannot prepare statement\" path=%s id=%d err=\"%s\"", h->path, (int)id,
                      sqlite3_errmsg(h->db));
            return meta_sql_err(rc);
        }
    }
    *out = h->stmt[id];
    return 0;
}

/* Reset and unbind: bindings are SQLITE_STATIC, so they must not outlive
 * the caller's strings. */
static void st_reset(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Step a statement that returns no row, then reset it. */
static int st_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    st_reset(s);
    return rc == SQLITE_DONE ? 0 : meta_sql_err(rc) ? meta_sql_err(rc) : -EINVAL;
}

/* Step a statement that returns at most one row: 1 with a row (the caller
 * reads it, then calls st_reset), 0 without (already reset), or -errno. */
static int st_row(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    st_reset(s);
    return rc == SQLITE_DONE ? 0 : meta_sql_err(rc);
}

static int st_exec(struct db_handle *h, enum stmt id)
{
    sqlite3_stmt *s;
    int rc = st_get(h, id, &s);

    return rc < 0 ? rc : st_done(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

static char *col_strdup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? xstrdup((const char *)t) : NULL;
}

/* ---- metadata: {key: [value, ts]} ---- */

static json_t *meta_load(const char *text)
{
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;

    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

/* Serialise and free o. */
static char *meta_dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    if (!s)
        abort(); /* only on allocation failure */
    return s;
}

/* The stored key matching key case-insensitively (header names), or NULL. */
static const char *meta_find(json_t *o, const char *key)
{
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        if (strcasecmp(json_object_iter_key(it), key) == 0)
            return json_object_iter_key(it);
    return NULL;
}

/* Set key to v at ts unless a newer or equal timestamp is stored; takes the
 * reference to v. */
static void meta_set(json_t *o, const char *key, json_t *v, int64_t ts)
{
    const char *old = meta_find(o, key);

    if (old) {
        if (json_integer_value(json_array_get(json_object_get(o, old), 1)) >= ts) {
            json_decref(v);
            return;
        }
        json_object_del(o, old); /* the new spelling of the name replaces it */
    }
    json_object_set_new(o, key, json_pack("[oI]", v, (json_int_t)ts));
}

/* The stored metadata with meta (set at ts) merged in; a heap string. */
static char *meta_merge(const char *text, const struct kv_list *meta, int64_t ts)
{
    json_t *o = meta_load(text), *in = NULL;

    if (meta && meta->n) {
        char *s = kv_to_json(meta); /* its string form keeps any bytes */
        in = json_loads(s, 0, NULL);
        free(s);
    }
    for (void *it = json_object_iter(in); it; it = json_object_iter_next(in, it))
        meta_set(o, json_object_iter_key(it), json_incref(json_object_iter_value(it)), ts);
    json_decref(in);
    return meta_dump(o);
}

/* Every key set to "" at ts (a deleted container loses its metadata). */
static char *meta_clear(const char *text, int64_t ts)
{
    json_t *o = meta_load(text), *keys = json_array();

    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it))
        json_array_append_new(keys, json_string(json_object_iter_key(it)));
    for (size_t i = 0; i < json_array_size(keys); i++)
        meta_set(o, json_string_value(json_array_get(keys, i)), json_string(""), ts);
    json_decref(keys);
    return meta_dump(o);
}

/* The keys with non-empty values into out (initialised). */
static void meta_export(const char *text, struct kv_list *out)
{
    json_t *o = meta_load(text), *flat = json_object();

    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        json_t *val = json_array_get(json_object_iter_value(it), 0);
        if (json_string_length(val) > 0)
            json_object_set(flat, json_object_iter_key(it), val);
    }
    json_decref(o);
    char *s = meta_dump(flat);
    if (kv_from_json(out, s, strlen(s)) < 0)
        log_error("msg=\"stored metadata is not valid\" json_len=%zu", strlen(s));
    free(s);
}

/* ---- the info row ---- */

struct info {
    char *account, *container;
    int64_t created_at, put_ts, delete_ts;
    int64_t container_count, object_count, bytes_used;
    char *meta;
};

static void info_release(struct info *in)
{
    free(in->account);
    free(in->container);
    free(in->meta);
    memset(in, 0, sizeof(*in));
}

static bool info_deleted(const struct info *in)
{
    return in->delete_ts > in->put_ts;
}

/* Read the info row. 0, ERR_NODB (a DB without one), -errno. */
static int info_get(struct db_handle *h, struct info *out)
{
    sqlite3_stmt *s;
    int rc = st_get(h, h->kind == ITEM_ACCOUNT ? ST_A_INFO_GET : ST_C_INFO_GET, &s);

    memset(out, 0, sizeof(*out));
    if (rc < 0 || (rc = st_row(s)) <= 0)
        return rc < 0 ? rc : ERR_NODB;
    out->account = col_strdup(s, 0);
    out->container = col_strdup(s, 1);
    out->created_at = sqlite3_column_int64(s, 2);
    out->put_ts = sqlite3_column_int64(s, 3);
    out->delete_ts = sqlite3_column_int64(s, 4);
    out->container_count = sqlite3_column_int64(s, 5);
    out->object_count = sqlite3_column_int64(s, 6);
    out->bytes_used = sqlite3_column_int64(s, 7);
    out->meta = col_strdup(s, 8);
    st_reset(s);
    return 0;
}

/* Read the info row of a live container. 0, -ENOENT, -errno. */
static int info_get_live(struct db_handle *h, struct info *out)
{
    int rc = info_get(h, out);

    if (rc == ERR_NODB || (rc == 0 && info_deleted(out))) {
        info_release(out);
        return -ENOENT;
    }
    return rc;
}

static int info_set_meta(struct db_handle *h, const char *json)
{
    sqlite3_stmt *s;
    int rc = st_get(h, ST_INFO_META, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, json);
    return st_done(s);
}

/* ---- replicated writes and reads ---- */

/* Errors that are an answer about the item rather than a failed replica. */
static bool is_answer(int rc)
{
    return rc == -ENOENT || rc == -ENOTEMPTY || rc == ERR_LIMIT;
}

/* Errors that mean the replica (its disk or its file) failed. */
static bool is_failure(int rc)
{
    return rc == -EIO || rc == -ENOSPC || rc == -EROFS || rc == ERR_CORRUPT || rc == -EBUSY ||
           rc == -ENOMEM || rc == -EINVAL || rc == -EPROTO || rc == -EACCES;
}

/* The disk groups a write goes to: the first REPLICAS usable entries. */
static size_t write_targets(const struct placement *pl, struct disk_group **out)
{
    size_t n = 0;

    for (size_t i = 0; i < pl->n_dg && n < REPLICAS; i++)
        if (dg_usable(pl->dg[i]))
            out[n++] = pl->dg[i];
    return n;
}

static bool db_exists(const struct placement *pl, const struct disk_group *dg)
{
    char *dir = placement_dir(pl, dg);
    char *path = xasprintf("%s/%s.db", dir, pl->hash_hex);
    bool yes = access(path, F_OK) == 0;

    free(path);
    free(dir);
    return yes;
}

/* The disk groups a DB write goes to: the first REPLICAS usable entries of
 * pl that hold the DB, so that after a ring change, when a DB may sit only
 * on the previous holders (listed after the primaries) until the replicator
 * has moved it, rows still reach it and no empty copy is made on a new
 * primary to shadow it. With fewer than a quorum holding it, the first
 * usable entries without it fill the list up (where a create makes it). */
static size_t db_targets(const struct placement *pl, struct disk_group **out)
{
    size_t n = 0;

    for (size_t i = 0; i < pl->n_dg && n < REPLICAS; i++)
        if (dg_usable(pl->dg[i]) && db_exists(pl, pl->dg[i]))
            out[n++] = pl->dg[i];
    bool pad = n < QUORUM;

    for (size_t i = 0; pad && i < pl->n_dg && n < REPLICAS; i++) {
        bool listed = false;
        for (size_t j = 0; j < n; j++)
            listed = listed || out[j] == pl->dg[i];
        if (!listed && dg_usable(pl->dg[i]))
            out[n++] = pl->dg[i];
    }
    return n;
}

static void replica_failed(const struct placement *pl, struct disk_group *dg, int rc)
{
    dg_note_result(dg, rc);
    log_warn("msg=\"db replica failed\" dg=%s hash=%s err=\"%s\"", dg_path(dg), pl->hash_hex,
             err_str(rc));
}

/* Run fn in one transaction (BEGIN IMMEDIATE when it writes) on the DB of pl
 * on dg. *opened tells whether the DB could be opened. */
static int replica_run(struct db_pool *p, const struct placement *pl, struct disk_group *dg,
                       bool create, bool write, replica_fn *fn, void *arg, bool *opened)
{
    struct db_handle *h = NULL;
    int rc = handle_acquire(p, pl, dg, create, &h);

    *opened = rc == 0;
    if (rc < 0)
        return rc;
    rc = st_exec(h, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN);
    if (rc == 0) {
        rc = fn(h, arg);
        if (rc == 0)
            rc = st_exec(h, ST_COMMIT);
        if (rc < 0 && !sqlite3_get_autocommit(h->db))
            (void)st_exec(h, ST_ROLLBACK);
    }
    handle_release(p, h);
    return rc;
}

/* Apply fn on the DB targets of pl. 0 when a quorum committed; the
 * answer (is_answer) of the first replica that could be opened; -ENOENT when
 * no replica has the DB; else ERR_QUORUM. */
static int replicas_write(struct db_pool *p, const struct placement *pl, bool create,
                          replica_fn *fn, void *arg)
{
    struct disk_group *dg[REPLICAS];
    size_t n = db_targets(pl, dg), ok = 0, opened_n = 0, missing = 0;
    bool opened;

    if (n < QUORUM)
        return ERR_QUORUM;
    for (size_t i = 0; i < n; i++) {
        int rc = replica_run(p, pl, dg[i], create, true, fn, arg, &opened);
        opened_n += opened;
        if (rc == 0) {
            ok++;
        } else if (is_answer(rc) && opened && opened_n == 1) {
            return rc;
        } else if (rc == -ENOENT) {
            missing++;
        } else if (!is_answer(rc)) {
            replica_failed(pl, dg[i], rc);
        }
    }
    if (ok >= QUORUM)
        return 0;
    return missing == n ? -ENOENT : ERR_QUORUM;
}

/* Run fn on the first usable replica that has the DB (its info row).
 * Falls back to the next replica on a missing DB, and on a failure as long
 * as *no_retry (when given) is still false. 0, fn's answer, -ENOENT, -EIO. */
static int replica_read(struct db_pool *p, const struct placement *pl, replica_fn *fn, void *arg,
                        const bool *no_retry)
{
    int err = -ENOENT;
    bool opened;

    for (size_t i = 0; i < pl->n_dg; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        int rc = replica_run(p, pl, pl->dg[i], false, false, fn, arg, &opened);
        if ((rc == -ENOENT && !opened) || rc == ERR_NODB)
            continue;
        /* Anything else but a failed replica is the answer (or a listing
         * callback asking to stop). */
        if (!is_failure(rc) || (no_retry && *no_retry))
            return rc;
        replica_failed(pl, pl->dg[i], rc);
        err = -EIO;
    }
    return err;
}

/* ---- group-committed writes (the writer side is meta_commit.c) ---- */

/* Run one op in its own savepoint. 0 when the transaction is still on
 * (whatever op->rc is), else the error that ended it. */
static int batch_op(struct db_handle *h, struct commit_op *op)
{
    int rc = st_exec(h, ST_SAVEPOINT);

    if (rc < 0)
        return op->rc = rc;
    op->rc = op->fn(h, op->arg);
    if (op->rc == 0)
        return st_exec(h, ST_RELEASE);
    if (sqlite3_get_autocommit(h->db))
        return op->rc; /* SQLite rolled the whole transaction back */
    rc = st_exec(h, ST_ROLLBACK_TO);
    return rc < 0 ? rc : st_exec(h, ST_RELEASE);
}

int meta_batch_run(struct db_pool *p, const struct placement *pl, struct disk_group *dg,
                   struct commit_op *ops)
{
    struct db_handle *h = NULL;
    int rc = handle_acquire(p, pl, dg, false, &h);
    bool opened = rc == 0;

    if (opened) {
        /* A batch of relaxed writes only (meta.h) commits without a WAL
         * sync; any other write in it needs the sync, for all of them. */
        bool relaxed = p->sync;
        for (struct commit_op *op = ops; op && relaxed; op = op->next)
            relaxed = op->req->relaxed;
        if (relaxed != h->relaxed && p->sync) {
            rc = meta_exec_sql(h->db, relaxed ? "PRAGMA synchronous = NORMAL"
                                              : "PRAGMA synchronous = FULL");
            if (rc == 0)
                h->relaxed = relaxed;
        }
        if (rc == 0)
            rc = st_exec(h, ST_BEGIN_IMMEDIATE);
        for (struct commit_op *op = ops; op && rc == 0; op = op->next)
            rc = batch_op(h, op);
        if (rc == 0)
            rc = st_exec(h, ST_COMMIT);
        if (rc < 0 && !sqlite3_get_autocommit(h->db))
            (void)st_exec(h, ST_ROLLBACK);
        handle_release(p, h);
    }
    if (rc < 0 && rc != -ENOENT && !is_answer(rc))
        replica_failed(pl, dg, rc);
    for (struct commit_op *op = ops; op; op = op->next) {
        op->opened = opened;
        if (rc < 0)
            op->rc = rc; /* rolled back, ops that had succeeded too */
        else if (op->rc < 0 && op->rc != -ENOENT && !is_answer(op->rc))
            replica_failed(pl, dg, op->rc);
    }
    return rc;
}

/* The outcome of a group-committed write, as replicas_write decides it:
 * 0 on a quorum; else (every op done) the answer of the first replica that
 * could be opened, -ENOENT when none has the DB, or ERR_QUORUM. A quorum
 * wins over one replica's answer, since the replicas ran at once. */
static int replicas_outcome(const struct commit_result *res, size_t n)
{
    size_t ok = 0, opened_n = 0, missing = 0;

    for (size_t i = 0; i < n; i++)
        ok += res[i].done && res[i].rc == 0;
    if (ok >= QUORUM)
        return 0;
    for (size_t i = 0; i < n; i++) {
        opened_n += res[i].opened;
        if (is_answer(res[i].rc) && res[i].opened && opened_n == 1)
            return res[i].rc;
        missing += res[i].rc == -ENOENT;
    }
    return missing == n ? -ENOENT : ERR_QUORUM;
}

/* Submit r (its ops' args set) to the write targets dg[0..n-1] in parallel
 * and wait for the outcome; drops the submitter's reference to r. */
static int replicas_commit(struct db_pool *p, struct commit_req *r)
{
    struct commit_result res[REPLICAS];
    size_t n = r->n_ops;

    commit_submit(p->commit, r);
    commit_wait(r, QUORUM_GRACE_MS, res);
    commit_req_put(r);
    return replicas_outcome(res, n);
}

uint64_t db_pool_commits(const struct db_pool *p)
{
    return commit_count(p->commit);
}

/* ---- accounts ---- */

/* Insert the info row of a new account DB; *created tells whether it did. */
static int account_ensure(struct db_handle *h, const char *account, int64_t ts, bool *created)
{
    struct info in;
    sqlite3_stmt *s;
    int rc = info_get(h, &in);

    info_release(&in);
    *created = rc == ERR_NODB;
    if (rc != ERR_NODB)
        return rc;
    if ((rc = st_get(h, ST_A_INFO_INSERT, &s)) < 0)
        return rc;
    bind_text(s, 1, account);
    sqlite3_bind_int64(s, 2, ts);
    return st_done(s);
}

struct account_put {
    const char *account;
    int64_t ts;
    unsigned n_created, n_done;
};

static int account_put_apply(struct db_handle *h, void *arg)
{
    struct account_put *a = arg;
    bool created;
    int rc = account_ensure(h, a->account, a->ts, &created);

    a->n_created += rc == 0 && created;
    a->n_done += rc == 0;
    return rc;
}

int db_account_put(struct db_pool *p, const struct placement *pl, const char *account, int64_t ts,
                   bool *created)
{
    struct account_put a = {.account = account, .ts = ts};
    int rc = replicas_write(p, pl, true, account_put_apply, &a);

    *created = rc == 0 && a.n_created * 2 > a.n_done;
    return rc;
}

static int account_stat_read(struct db_handle *h, void *arg)
{
    struct account_stat *out = arg;
    struct info in;
    int rc = info_get(h, &in);

    if (rc < 0)
        return rc;
    out->created_at = in.created_at;
    out->put_timestamp = in.put_ts;
    out->container_count = (uint64_t)in.container_count;
    out->object_count = (uint64_t)in.object_count;
    out->bytes_used = (uint64_t)in.bytes_used;
    kv_release(&out->meta);
    meta_export(in.meta, &out->meta);
    info_release(&in);
    return 0;
}

int db_account_stat(struct db_pool *p, const struct placement *pl, struct account_stat *out)
{
    memset(out, 0, sizeof(*out));
    kv_init(&out->meta);
    return replica_read(p, pl, account_stat_read, out, NULL);
}

void account_stat_release(struct account_stat *s)
{
    kv_release(&s->meta);
}

struct set_meta {
    int64_t ts;
    const struct kv_list *meta;
};

/* Merge metadata into a live account or container. */
static int set_meta_apply(struct db_handle *h, void *arg)
{
    struct set_meta *a = arg;
    struct info in;
    int rc = info_get_live(h, &in);

    if (rc < 0)
        return rc;
    char *json = meta_merge(in.meta, a->meta, a->ts);
    rc = info_set_meta(h, json);
    free(json);
    info_release(&in);
    return rc;
}

int db_account_set_meta(struct db_pool *p, const struct placement *pl, int64_t ts,
                        const struct kv_list *meta)
{
    struct set_meta a = {.ts = ts, .meta = meta};

    return replicas_write(p, pl, false, set_meta_apply, &a);
}

/* The row of one container in an account DB. */
struct account_row {
    bool exists, deleted;
    int64_t put_ts, delete_ts, object_count, bytes_used;
};

static int account_row_get(struct db_handle *h, const char *name, struct account_row *r)
{
    sqlite3_stmt *s;
    int rc = st_get(h, ST_A_CONT_GET, &s);

    memset(r, 0, sizeof(*r));
    if (rc < 0)
        return rc;
    bind_text(s, 1, name);
    if ((rc = st_row(s)) <= 0)
        return rc;
    r->exists = true;
    r->put_ts = sqlite3_column_int64(s, 0);
    r->delete_ts = sqlite3_column_int64(s, 1);
    r->object_count = sqlite3_column_int64(s, 2);
    r->bytes_used = sqlite3_column_int64(s, 3);
    r->deleted = sqlite3_column_int64(s, 4) != 0;
    st_reset(s);
    return 0;
}

static int account_row_put(struct db_handle *h, const char *name, const struct account_row *r)
{
    sqlite3_stmt *s;
    int rc = st_get(h, ST_A_CONT_PUT, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, r->put_ts);
    sqlite3_bind_int64(s, 3, r->delete_ts);
    sqlite3_bind_int64(s, 4, r->object_count);
    sqlite3_bind_int64(s, 5, r->bytes_used);
    sqlite3_bind_int(s, 6, r->deleted);
    return st_done(s);
}

/* Add to the account totals. */
static int account_add(struct db_handle *h, int64_t containers, int64_t objects, int64_t bytes)
{
    sqlite3_stmt *s;
    int rc;

    if (containers == 0 && objects == 0 && bytes == 0)
        return 0;
    if ((rc = st_get(h, ST_A_INFO_ADD, &s)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, containers);
    sqlite3_bind_int64(s, 2, objects);
    sqlite3_bind_int64(s, 3, bytes);
    return st_done(s);
}

struct account_link {
    const char *account, *container;
    int64_t ts;
    uint64_t max_containers; /* 0: no limit */
};

/* Insert or revive the container's row; when it is new and the account
 * already holds a->max_containers containers, ERR_LIMIT and no change. */
static int account_link_apply(struct db_handle *h, const struct account_link *a)
{
    struct account_row r;
    struct info in;
    bool created;
    int rc = account_ensure(h, a->account, a->ts, &created);

    if (rc == 0)
        rc = account_row_get(h, a->container, &r);
    if (rc < 0)
        return rc;
    if (r.exists && !r.deleted) {
        if (a->ts <= r.put_ts)
            return 0;
        r.put_ts = a->ts;
        return account_row_put(h, a->container, &r);
    }
    if (a->max_containers > 0) {
        if ((rc = info_get(h, &in)) < 0)
            return rc;
        bool full = (uint64_t)in.container_count >= a->max_containers;
        info_release(&in);
        if (full)
            return ERR_LIMIT;
    }
    int64_t delete_ts = r.delete_ts;
    r = (struct account_row){.exists = true, .put_ts = a->ts, .delete_ts = delete_ts};
    rc = account_row_put(h, a->container, &r);
    return rc < 0 ? rc : account_add(h, 1, 0, 0);
}

/* ---- container creates, batched per account ----
 *
 * Each create records the container in its account DB and checks the limit
 * there. One by one, every create would cost a transaction (a WAL fsync) on
 * each replica of the account DB, one replica after the other, and with many
 * clients creating containers in one account the account DB would be the
 * bottleneck (about 100 creates/s). So creates for one account queue up, and
 * the first waiting thread (the leader) records every queued link in a single
 * transaction per replica while the next batch gathers behind it.
 *
 * This is also what keeps the limit exact under concurrency, and why it lives
 * here rather than in the group commit of meta_commit.c (whose replicas
 * commit in parallel, in an order that may differ between replicas): the
 * batches of one account run one at a time, the replicas one after the other
 * in the same order, and each link is checked against the count its
 * transaction sees (earlier links of the batch included). The first replica
 * that commits a batch decides; the later ones apply the links it accepted
 * without checking, so they agree with it even when their own counts differ
 * (a replica that missed creates while its disk group was down). */

struct link_waiter {
    const struct account_link *link;
    int rc;    /* set by the leader, guarded by link_lock */
    bool done;
    pthread_cond_t cond;
    struct link_waiter *next;
};

/* The creates waiting for one account DB. */
struct link_queue {
    uint8_t hash[16]; /* of the account DB's placement */
    bool busy;        /* a leader is writing a batch */
    struct link_waiter *head, **tail;
    struct link_queue *next;
};

struct link_batch {
    struct link_waiter **w;
    size_t n;
    bool decided; /* a replica committed: rc[] holds its answers */
    int *rc;      /* per link: the deciding replica's answer */
    int *cur;     /* per link: the answer of the replica being written */
};

/* Record the batch's links on one replica, each in its own savepoint. A
 * refused link (ERR_LIMIT) leaves the others in; a failure ends the
 * transaction. */
static int link_batch_apply(struct db_handle *h, void *arg)
{
    struct link_batch *b = arg;

    for (size_t i = 0; i < b->n; i++) {
        struct account_link a = *b->w[i]->link;
        if (b->decided && b->rc[i] < 0) {
            b->cur[i] = b->rc[i];
            continue;
        }
        if (b->decided)
            a.max_containers = 0; /* decided: follow, do not check again */
        int rc = st_exec(h, ST_SAVEPOINT);
        if (rc < 0)
            return rc;
        b->cur[i] = account_link_apply(h, &a);
        if (b->cur[i] < 0 && !is_answer(b->cur[i]))
            return b->cur[i];
        if (b->cur[i] < 0)
            rc = st_exec(h, ST_ROLLBACK_TO);
        if (rc == 0)
            rc = st_exec(h, ST_RELEASE);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Write the batch to the account DB's replicas, in order (as replicas_write
 * does). 0 when a quorum committed (b->rc then holds each link's answer),
 * else ERR_QUORUM. */
static int link_batch_write(struct db_pool *p, const struct placement *pl, struct link_batch *b)
{
    struct disk_group *dg[REPLICAS];
    size_t n = db_targets(pl, dg), ok = 0;
    bool opened;

    if (n < QUORUM)
        return ERR_QUORUM;
    for (size_t i = 0; i < n; i++) {
        int rc = replica_run(p, pl, dg[i], true, true, link_batch_apply, b, &opened);
        if (rc < 0) {
            if (rc != -ENOENT)
                replica_failed(pl, dg[i], rc);
            continue;
        }
        ok++;
        if (!b->decided)
            memcpy(b->rc, b->cur, b->n * sizeof(*b->rc));
        b->decided = true;
    }
    return ok >= QUORUM ? 0 : ERR_QUORUM;
}

/* The queue of pl's account DB, made when there is none. link_lock held. */
static struct link_queue *link_queue_get(struct db_pool *p, const struct placement *pl)
{
    struct link_queue *q = p->links;

    while (q && memcmp(q->hash, pl->hash, sizeof(q->hash)) != 0)
        q = q->next;
    if (!q) {
        q = xcalloc(1, sizeof(*q));
        memcpy(q->hash, pl->hash, sizeof(q->hash));
        q->tail = &q->head;
        q->next = p->links;
        p->links = q;
    }
    return q;
}

static void link_queue_drop(struct db_pool *p, struct link_queue *q)
{
    struct link_queue **pp = &p->links;

    while (*pp != q)
        pp = &(*pp)->next;
    *pp = q->next;
    free(q);
}

/* As the leader: take every queued link of q, write them as one batch
 * (without link_lock), answer each waiter and hand over to the next one
 * queued meanwhile. Called and returns with link_lock held. */
static void link_lead(struct db_pool *p, const struct placement *pl, struct link_queue *q)
{
    struct link_batch b = {.n = 0};
    size_t i = 0;

    q->busy = true;
    for (struct link_waiter *w = q->head; w; w = w->next)
        b.n++;
    b.w = xcalloc(b.n, sizeof(*b.w));
    b.rc = xcalloc(b.n, sizeof(*b.rc));
    b.cur = xcalloc(b.n, sizeof(*b.cur));
    for (struct link_waiter *w = q->head; w; w = w->next)
        b.w[i++] = w;
    q->head = NULL;
    q->tail = &q->head;
    pthread_mutex_unlock(&p->link_lock);
    int rc = link_batch_write(p, pl, &b);
    pthread_mutex_lock(&p->link_lock);
    for (i = 0; i < b.n; i++) {
        b.w[i]->rc = rc < 0 ? rc : b.rc[i];
        b.w[i]->done = true;
        pthread_cond_signal(&b.w[i]->cond);
    }
    q->busy = false;
    if (q->head)
        pthread_cond_signal(&q->head->cond); /* the next leader */
    else
        link_queue_drop(p, q);
    free(b.w);
    free(b.rc);
    free(b.cur);
}

/* Record a container in its account DB (pl), batched with the concurrent
 * creates of that account. 0, ERR_LIMIT, ERR_QUORUM. */
static int account_link(struct db_pool *p, const struct placement *pl,
                        const struct account_link *link)
{
    struct link_waiter me = {.link = link};

    pthread_cond_init(&me.cond, NULL);
    pthread_mutex_lock(&p->link_lock);
    struct link_queue *q = link_queue_get(p, pl);
    *q->tail = &me;
    q->tail = &me.next;
    /* q stays allocated while me is queued in it (not yet done) */
    while (!me.done && q->busy)
        pthread_cond_wait(&me.cond, &p->link_lock);
    if (!me.done)
        link_lead(p, pl, q);
    pthread_mutex_unlock(&p->link_lock);
    pthread_cond_destroy(&me.cond);
    return me.rc;
}

struct account_unlink {
    const char *container;
    int64_t ts;
};

/* Mark the container's row deleted and take its counts off the totals. */
static int account_unlink_apply(struct db_handle *h, void *arg)
{
    struct account_unlink *a = arg;
    struct account_row r;
    int rc = account_row_get(h, a->container, &r);

    if (rc < 0 || !r.exists || r.deleted || a->ts <= r.put_ts)
        return rc;
    int64_t objects = r.object_count, bytes = r.bytes_used;
    r.deleted = true;
    r.delete_ts = a->ts;
    r.object_count = r.bytes_used = 0;
    rc = account_row_put(h, a->container, &r);
    return rc < 0 ? rc : account_add(h, -1, -objects, -bytes);
}

struct account_counts {
    const char *container;
    int64_t object_count, bytes_used;
};

/* The rollup: copy a container's counts into its row and the totals. */
static int account_counts_apply(struct db_handle *h, void *arg)
{
    struct account_counts *a = arg;
    struct account_row r;
    sqlite3_stmt *s;
    int rc = account_row_get(h, a->container, &r);

    if (rc < 0 || !r.exists || r.deleted)
        return rc;
    if (r.object_count == a->object_count && r.bytes_used == a->bytes_used)
        return 0;
    if ((rc = st_get(h, ST_A_CONT_COUNTS, &s)) < 0)
        return rc;
    bind_text(s, 1, a->container);
    sqlite3_bind_int64(s, 2, a->object_count);
    sqlite3_bind_int64(s, 3, a->bytes_used);
    if ((rc = st_done(s)) < 0)
        return rc;
    return account_add(h, 0, a->object_count - r.object_count, a->bytes_used - r.bytes_used);
}

/* ---- containers ---- */

struct container_put {
    const char *account, *container;
    int64_t ts;
    const struct kv_list *meta;
    unsigned n_created, n_done;
};

static int container_insert(struct db_handle *h, struct container_put *a)
{
    sqlite3_stmt *s;
    char *json = meta_merge(NULL, a->meta, a->ts);
    int rc = st_get(h, ST_C_INFO_INSERT, &s);

    if (rc == 0) {
        bind_text(s, 1, a->account);
        bind_text(s, 2, a->container);
        sqlite3_bind_int64(s, 3, a->ts);
        bind_text(s, 4, json);
        rc = st_done(s);
    }
    free(json);
    return rc;
}

/* Create, revive (a deleted container keeps its created_at, as Swift's
 * does) or update the put timestamp and metadata. */
static int container_put_apply(struct db_handle *h, void *arg)
{
    struct container_put *a = arg;
    struct info in;
    sqlite3_stmt *s;
    int rc = info_get(h, &in);

    if (rc == ERR_NODB) {
        rc = container_insert(h, a);
        a->n_created += rc == 0;
        a->n_done += rc == 0;
        return rc;
    }
    if (rc < 0 || (rc = st_get(h, ST_C_INFO_PUT, &s)) < 0)
        goto out_release;
    char *json = meta_merge(in.meta, a->meta, a->ts);
    sqlite3_bind_int64(s, 1, MAX(in.put_ts, a->ts));
    bind_text(s, 2, json);
    rc = st_done(s);
    free(json);
    a->n_created += rc == 0 && info_deleted(&in);
    a->n_done += rc == 0;
out_release:
    info_release(&in);
    return rc;
}

int db_container_put(struct db_pool *p, const struct placement *pl,
                     const struct placement *pl_account, const char *account, const char *container,
                     int64_t ts, const struct kv_list *meta, uint64_t max_containers, bool *created)
{
    struct account_link link = {account, container, ts, max_containers};
    struct container_put put = {.account = account, .container = container, .ts = ts, .meta = meta};
    struct disk_group *dg[REPLICAS];
    int rc;

    *created = false;
    if (write_targets(pl, dg) < QUORUM || write_targets(pl_account, dg) < QUORUM)
        return ERR_QUORUM;
    /* The account first: when it is full, nothing is created. */
    rc = account_link(p, pl_account, &link);
    if (rc < 0)
        return rc;
    rc = replicas_write(p, pl, true, container_put_apply, &put);
    *created = rc == 0 && put.n_created * 2 > put.n_done;
    return rc;
}

static int container_stat_read(struct db_handle *h, void *arg)
{
    struct container_stat *out = arg;
    struct info in;
    int rc = info_get(h, &in);

    if (rc < 0)
        return rc;
    if (info_deleted(&in)) {
        info_release(&in);
        return -ENOENT;
    }
    out->created_at = in.created_at;
    out->put_timestamp = in.put_ts;
    out->delete_timestamp = in.delete_ts;
    out->object_count = (uint64_t)in.object_count;
    out->bytes_used = (uint64_t)in.bytes_used;
    kv_release(&out->meta);
    meta_export(in.meta, &out->meta);
    info_release(&in);
    return 0;
}

int db_container_stat(struct db_pool *p, const struct placement *pl, struct container_stat *out)
{
    memset(out, 0, sizeof(*out));
    kv_init(&out->meta);
    return replica_read(p, pl, container_stat_read, out, NULL);
}

void container_stat_release(struct container_stat *s)
{
    kv_release(&s->meta);
}

int db_container_set_meta(struct db_pool *p, const struct placement *pl, int64_t ts,
                          const struct kv_list *meta)
{
    struct set_meta a = {.ts = ts, .meta = meta};

    return replicas_write(p, pl, false, set_meta_apply, &a);
}

static int container_delete_apply(struct db_handle *h, void *arg)
{
    const int64_t *ts = arg;
    struct info in;
    sqlite3_stmt *s;
    int rc = info_get_live(h, &in);

    if (rc < 0)
        return rc;
    if (in.object_count > 0) {
        rc = -ENOTEMPTY;
        goto out_release;
    }
    if ((rc = st_get(h, ST_C_INFO_DELETE, &s)) < 0)
        goto out_release;
    char *json = meta_clear(in.meta, *ts); /* as Swift's delete_db does */
    sqlite3_bind_int64(s, 1, *ts);
    bind_text(s, 2, json);
    rc = st_done(s);
    free(json);
out_release:
    info_release(&in);
    return rc;
}

static void dirty_forget(struct db_pool *p, const struct placement *pl);

int db_container_delete(struct db_pool *p, const struct placement *pl,
                        const struct placement *pl_account, const char *container, int64_t ts)
{
    struct account_unlink un = {container, ts};
    int rc = replicas_write(p, pl, false, container_delete_apply, &ts);

    if (rc < 0)
        return rc;
    dirty_forget(p, pl);
    /* The container is gone either way; a stale account row is the
     * replicator's to fix, as Swift's async pending updates are. */
    rc = replicas_write(p, pl_account, false, account_unlink_apply, &un);
    if (rc < 0)
        log_warn("msg=\"cannot remove container from account\" hash=%s err=\"%s\"",
                 pl_account->hash_hex, err_str(rc));
    return 0;
}

/* ---- object rows ---- */

struct object_change {
    const char *name;
    int64_t ts;
    uint64_t size;
    const char *content_type, *etag;
    bool deleted;
    bool relaxed;   /* db_object_put's */
};

/* One replica's view of the change: the container's names are read from its
 * DB (its own record is authoritative), for the rollup. */
struct object_out {
    const struct object_change *c;
    char *account, *container;
};

/* An object row write in flight; owns copies of everything, since a writer
 * may finish the last replica after the request returned. */
struct object_req {
    struct commit_req r; /* first: the commit callbacks cast back */
    struct placement pl_account;
    struct object_change c;
    struct object_out out[REPLICAS];
};

static int object_row_put(struct db_handle *h, const struct object_change *c)
{
    sqlite3_stmt *s;
    int rc = st_get(h, ST_C_OBJ_PUT, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, c->name);
    sqlite3_bind_int64(s, 2, c->ts);
    sqlite3_bind_int64(s, 3, c->deleted ? 0 : (int64_t)c->size);
    bind_text(s, 4, c->deleted ? "" : c->content_type);
    bind_text(s, 5, c->deleted ? "" : c->etag);
    sqlite3_bind_int(s, 6, c->deleted);
    return st_done(s);
}

static int container_add(struct db_handle *h, int64_t objects, int64_t bytes)
{
    sqlite3_stmt *s;
    int rc;

    if (objects == 0 && bytes == 0)
        return 0;
    if ((rc = st_get(h, ST_C_INFO_ADD, &s)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, objects);
    sqlite3_bind_int64(s, 2, bytes);
    return st_done(s);
}

/* Replace the object's row when ts is newer, keeping the counts in step. */
static int object_apply(struct db_handle *h, void *arg)
{
    struct object_out *o = arg;
    const struct object_change *c = o->c;
    bool old_live = false;
    int64_t old_size = 0;
    struct info in;
    sqlite3_stmt *s;
    int rc = info_get_live(h, &in);

    if (rc < 0)
        return rc;
    if (!o->account) {
        o->account = in.account;
        o->container = in.container;
        in.account = in.container = NULL;
    }
    info_release(&in);
    if ((rc = st_get(h, ST_C_OBJ_GET, &s)) < 0)
        return rc;
    bind_text(s, 1, c->name);
    if ((rc = st_row(s)) < 0)
        return rc;
    if (rc == 1) {
        bool newer = sqlite3_column_int64(s, 0) >= c->ts;
        old_size = sqlite3_column_int64(s, 1);
        old_live = sqlite3_column_int(s, 2) == 0;
        st_reset(s);
        if (newer)
            return 0; /* the stored row is newer: this write is ignored */
    }
    if ((rc = object_row_put(h, c)) < 0)
        return rc;
    return container_add(h, (int64_t)!c->deleted - (int64_t)old_live,
                         (c->deleted ? 0 : (int64_t)c->size) - (old_live ? old_size : 0));
}

static void dirty_mark(struct db_pool *p, const struct placement *pl,
                       const struct placement *pl_account, const char *account,
                       const char *container);

/* Each replica marks the container dirty once its row is in, so a replica
 * committing late is rolled up too. */
static void object_committed(struct db_pool *p, struct commit_req *r, struct commit_op *op)
{
    struct object_req *q = (struct object_req *)r;
    struct object_out *o = op->arg;

    if (o->account)
        dirty_mark(p, &r->pl, &q->pl_account, o->account, o->container);
}

static void object_req_destroy(struct commit_req *r)
{
    struct object_req *q = (struct object_req *)r;

    for (size_t i = 0; i < REPLICAS; i++) {
        free(q->out[i].account);
        free(q->out[i].container);
    }
    free((char *)q->c.name);
    free((char *)q->c.content_type);
    free((char *)q->c.etag);
    free(q);
}

static int object_change(struct db_pool *p, const struct placement *pl,
                         const struct placement *pl_account, const struct object_change *c)
{
    struct disk_group *dg[REPLICAS];
    size_t n = db_targets(pl, dg);
    struct object_req *q;

    if (n < QUORUM)
        return ERR_QUORUM;
    q = xcalloc(1, sizeof(*q));
    commit_req_init(&q->r, pl, dg, n, object_apply);
    q->r.committed = object_committed;
    q->r.destroy = object_req_destroy;
    q->r.relaxed = c->relaxed;
    q->pl_account = *pl_account;
    q->c = *c;
    q->c.name = xstrdup(c->name);
    q->c.content_type = c->content_type ? xstrdup(c->content_type) : NULL;
    q->c.etag = c->etag ? xstrdup(c->etag) : NULL;
    for (size_t i = 0; i < n; i++) {
        q->out[i].c = &q->c;
        q->r.op[i].arg = &q->out[i];
    }
    return replicas_commit(p, &q->r);
}

int db_object_put(struct db_pool *p, const struct placement *pl, const struct placement *pl_account,
                  const char *container, const char *name, int64_t ts, uint64_t size,
                  const char *content_type, const char *etag, bool relaxed)
{
    struct object_change c = {.name = name,
                              .ts = ts,
                              .size = size,
                              .content_type = content_type,
                              .etag = etag,
                              .relaxed = relaxed};

    (void)container; /* the container DB knows its own name */
    return object_change(p, pl, pl_account, &c);
}

int db_object_delete(struct db_pool *p, const struct placement *pl,
                     const struct placement *pl_account, const char *container, const char *name,
                     int64_t ts, bool relaxed)
{
    struct object_change c = {.name = name, .ts = ts, .deleted = true, .relaxed = relaxed};

    (void)container; /* the container DB knows its own name */
    return object_change(p, pl, pl_account, &c);
}

/* ---- rollup ---- */

static size_t dirty_bucket(const struct placement *pl)
{
    return ((size_t)pl->hash[0] << 8 | pl->hash[1]) % DIRTY_BUCKETS;
}

static void dirty_mark(struct db_pool *p, const struct placement *pl,
                       const struct placement *pl_account, const char *account,
                       const char *container)
{
    struct dirty **b = &p->dirty[dirty_bucket(pl)], *d;

    pthread_mutex_lock(&p->lock);
    for (d = *b; d; d = d->next)
        if (memcmp(d->pl.hash, pl->hash, sizeof(pl->hash)) == 0)
            break;
    if (!d) {
        d = xcalloc(1, sizeof(*d));
        d->pl = *pl;
        d->pl_account = *pl_account;
        d->account = xstrdup(account);
        d->container = xstrdup(container);
        d->next = *b;
        *b = d;
    }
    pthread_mutex_unlock(&p->lock);
}

static void dirty_forget(struct db_pool *p, const struct placement *pl)
{
    struct dirty **b = &p->dirty[dirty_bucket(pl)], *d = NULL;

    pthread_mutex_lock(&p->lock);
    for (; *b; b = &(*b)->next)
        if (memcmp((*b)->pl.hash, pl->hash, sizeof(pl->hash)) == 0) {
            d = *b;
            *b = d->next;
            break;
        }
    pthread_mutex_unlock(&p->lock);
    if (d)
        dirty_free(d);
}

/* Detach the dirty entries of account (all when NULL) into a list. */
static struct dirty *dirty_take(struct db_pool *p, const char *account)
{
    struct dirty *taken = NULL;

    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < DIRTY_BUCKETS; i++)
        for (struct dirty **b = &p->dirty[i]; *b;) {
            struct dirty *d = *b;
            if (account && strcmp(d->account, account) != 0) {
                b = &d->next;
                continue;
            }
            *b = d->next;
            d->next = taken;
            taken = d;
        }
    pthread_mutex_unlock(&p->lock);
    return taken;
}

static int counts_read(struct db_handle *h, void *arg)
{
    struct account_counts *a = arg;
    struct info in;
    int rc = info_get_live(h, &in);

    if (rc < 0)
        return rc;
    a->object_count = in.object_count;
    a->bytes_used = in.bytes_used;
    info_release(&in);
    return 0;
}

/* One dirty container on its way into its account. */
struct rollup_item {
    struct dirty *d;
    struct account_counts a;
};

static int rollup_cmp(const void *x, const void *y)
{
    const struct rollup_item *a = x, *b = y;

    return memcmp(a->d->pl_account.hash, b->d->pl_account.hash, sizeof(a->d->pl_account.hash));
}

struct rollup_batch {
    struct rollup_item *items;
    size_t n;
};

/* Copy every container's counts of the batch into its account row. */
static int rollup_batch_apply(struct db_handle *h, void *arg)
{
    const struct rollup_batch *b = arg;

    for (size_t i = 0; i < b->n; i++) {
        int rc = account_counts_apply(h, &b->items[i].a);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Read the counts of the dirty containers of list into items; returns how
 * many are left to write (deleted ones are dropped, failed ones marked
 * dirty again with *first set). */
static size_t rollup_read(struct db_pool *p, struct dirty *list, struct rollup_item *items,
                          int *first)
{
    size_t n = 0;

    for (struct dirty *d = list, *next; d; d = next) {
        next = d->next;
        items[n] = (struct rollup_item){.d = d, .a = {.container = d->container}};
        int rc = replica_read(p, &d->pl, counts_read, &items[n].a, NULL);
        if (rc == 0) {
            n++;
            continue;
        }
        if (rc != -ENOENT) { /* -ENOENT: deleted meanwhile, its row went with it */
            *first = *first ? *first : rc;
            dirty_mark(p, &d->pl, &d->pl_account, d->account, d->container); /* retry later */
        }
        dirty_free(d);
    }
    return n;
}

/* Write items[0..n-1], all of one account, in one transaction per replica. */
static int rollup_write(struct db_pool *p, struct rollup_item *items, size_t n)
{
    struct rollup_batch b = {items, n};
    int rc = replicas_write(p, &items[0].d->pl_account, false, rollup_batch_apply, &b);

    for (size_t i = 0; i < n; i++) {
        struct dirty *d = items[i].d;
        if (rc < 0 && rc != -ENOENT)
            dirty_mark(p, &d->pl, &d->pl_account, d->account, d->container); /* retry later */
        dirty_free(d);
    }
    return rc == -ENOENT ? 0 : rc;
}

int db_rollup_flush(struct db_pool *p, const char *account)
{
    struct rollup_item *items;
    size_t n = 0;
    int first = 0;

    pthread_mutex_lock(&p->flush_lock);
    struct dirty *list = dirty_take(p, account);
    for (struct dirty *d = list; d; d = d->next)
        n++;
    items = xcalloc(n ? n : 1, sizeof(*items));
    n = rollup_read(p, list, items, &first);
    qsort(items, n, sizeof(*items), rollup_cmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && rollup_cmp(&items[i], &items[j]) == 0; j++)
            ;
        int rc = rollup_write(p, items + i, j - i);
        first = first ? first : rc;
    }
    free(items);
    pthread_mutex_unlock(&p->flush_lock);
    return first;
}

/* ---- listings ---- */

/* The smallest string greater than every string starting with s (its last
 * byte incremented, trailing 0xff bytes dropped first); NULL when there is
 * none (s is all 0xff). */
static char *prefix_end(const char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (unsigned char)s[n - 1] == 0xff)
        n--;
    if (n == 0)
        return NULL;
    char *e = xstrndup(s, n);
    e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
    return e;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

/* The state of Swift's list_objects_iter / list_containers_iter loop. In
 * reverse the markers are swapped, as Swift does: marker is then the lower
 * bound (the client's end_marker). */
struct list_state {
    const struct list_query *q;
    enum stmt base;
    char *marker, *end_marker, *orig_marker;
    const char *prefix; /* NULL: none; "" when only a delimiter was given */
    char *end_prefix;
    bool force_gte; /* the next lower bound is inclusive (after a subdir) */
    unsigned n;     /* entries emitted */
    int (*cb)(void *ctx, const struct list_entry *e);
    void *ctx;
    bool emitted;
};

static void list_state_init(struct list_state *s, const struct list_query *q, enum stmt base)
{
    memset(s, 0, sizeof(*s));
    s->q = q;
    s->base = base;
    s->marker = dup_or_null(q->reverse ? q->end_marker : q->marker);
    s->end_marker = dup_or_null(q->reverse ? q->marker : q->end_marker);
    s->orig_marker = dup_or_null(s->marker);
    s->prefix = q->prefix && *q->prefix ? q->prefix : NULL;
    if (q->delimiter && *q->delimiter && !s->prefix)
        s->prefix = "";
    if (s->prefix && *s->prefix)
        s->end_prefix = prefix_end(s->prefix);
}

static void list_state_release(struct list_state *s)
{
    free(s->marker);
    free(s->end_marker);
    free(s->orig_marker);
    free(s->end_prefix);
}

/* Pick the statement variant and bind the bounds of the next query the way
 * Swift builds its WHERE clause. */
static int list_prepare(struct db_handle *h, struct list_state *s, unsigned want,
                        sqlite3_stmt **out)
{
    bool pfx = s->prefix && *s->prefix, gte = true;
    const char *lower = "", *upper = NULL;

    if (s->end_marker && (!pfx || !s->end_prefix || strcmp(s->end_marker, s->end_prefix) < 0))
        upper = s->end_marker;
    else if (pfx)
        upper = s->end_prefix;
    if (s->force_gte)
        lower = s->marker;
    else if (s->marker && (!pfx || strcmp(s->marker, s->prefix) >= 0))
        lower = s->marker, gte = false;
    else if (pfx)
        lower = s->prefix;
    s->force_gte = false;

    int rc = st_get(h, s->base + (gte ? 1 : 0) + (upper ? 2 : 0) + (s->q->reverse ? 4 : 0), out);
    if (rc < 0)
        return rc;
    bind_text(*out, 1, lower);
    if (upper)
        bind_text(*out, 2, upper);
    sqlite3_bind_int64(*out, 3, want);
    return 0;
}

static int list_emit(struct list_state *s, const struct list_entry *e)
{
    s->n++;
    s->emitted = true;
    return s->cb(s->ctx, e);
}

static int list_emit_row(struct list_state *s, sqlite3_stmt *st)
{
    struct list_entry e = {
        .name = (const char *)sqlite3_column_text(st, 0),
        .timestamp = sqlite3_column_int64(st, 1),
        .bytes = (uint64_t)sqlite3_column_int64(st, 2),
        .count = (uint64_t)sqlite3_column_int64(st, 3),
        .content_type = (const char *)sqlite3_column_text(st, 4),
        .etag = (const char *)sqlite3_column_text(st, 5),
    };

    return list_emit(s, &e);
}

/* A row whose name has the delimiter after the prefix: emit the subdir
 * (unless it is the marker the client resumes from) and move the bound past
 * every name under it. Returns 1 when no name can follow. */
static int list_subdir(struct list_state *s, const char *name, size_t len)
{
    char *dir = xstrndup(name, len);
    int rc = 0;

    if (s->q->reverse) {
        free(s->end_marker);
        s->end_marker = xstrdup(dir);
    } else {
        free(s->marker);
        s->marker = prefix_end(dir);
        s->force_gte = true;
        if (!s->marker)
            rc = 1;
    }
    if (!s->orig_marker || strcmp(dir, s->orig_marker) != 0) {
        struct list_entry e = {.name = dir, .is_subdir = true};
        int cb_rc = list_emit(s, &e);
        rc = cb_rc < 0 ? cb_rc : rc;
    }
    free(dir);
    return rc;
}

static void list_set_bound(struct list_state *s, const char *name)
{
    char **bound = s->q->reverse ? &s->end_marker : &s->marker;

    free(*bound);
    *bound = xstrdup(name);
}

/* One query of at most want rows. Returns 1 to query again (after a
 * subdir), 0 when done, or a negative code. */
static int list_page(struct db_handle *h, struct list_state *s, unsigned want)
{
    const char *delim = s->q->delimiter && *s->q->delimiter ? s->q->delimiter : NULL;
    size_t plen = s->prefix ? strlen(s->prefix) : 0;
    bool again = false;
    sqlite3_stmt *st;
    int step = SQLITE_DONE, rc = list_prepare(h, s, want, &st);

    if (rc < 0)
        return rc;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *d = delim ? strstr(name + plen, delim) : NULL;
        if (d) {
            rc = list_subdir(s, name, (size_t)(d - name) + strlen(delim));
            again = rc == 0;
            break;
        }
        list_set_bound(s, name);
        if ((rc = list_emit_row(s, st)) < 0)
            break;
    }
    st_reset(st);
    if (rc < 0)
        return rc;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return meta_sql_err(step) ? meta_sql_err(step) : -EINVAL;
    return again;
}

static int list_run(struct db_handle *h, struct list_state *s)
{
    int rc = 1;

    while (rc == 1 && s->n < s->q->limit)
        rc = list_page(h, s, s->q->limit - s->n);
    return rc < 0 ? rc : 0;
}

struct list_job {
    const struct list_query *q;
    enum stmt base;
    int (*cb)(void *ctx, const struct list_entry *e);
    void *ctx;
    bool emitted;
};

static int list_apply(struct db_handle *h, void *arg)
{
    struct list_job *j = arg;
    struct list_state s;
    struct info in;
    int rc = h->kind == ITEM_ACCOUNT ? info_get(h, &in) : info_get_live(h, &in);

    if (rc < 0)
        return rc;
    info_release(&in);
    list_state_init(&s, j->q, j->base);
    s.cb = j->cb;
    s.ctx = j->ctx;
    rc = list_run(h, &s);
    j->emitted = s.emitted;
    list_state_release(&s);
    return rc;
}

int db_container_list(struct db_pool *p, const struct placement *pl, const struct list_query *q,
                      int (*cb)(void *ctx, const struct list_entry *e), void *ctx)
{
    struct list_job j = {q, ST_C_LIST, cb, ctx, false};

    return replica_read(p, pl, list_apply, &j, &j.emitted);
}

int db_account_list(struct db_pool *p, const struct placement *pl, const struct list_query *q,
                    int (*cb)(void *ctx, const struct list_entry *e), void *ctx)
{
    struct list_job j = {q, ST_A_LIST, cb, ctx, false};

    return replica_read(p, pl, list_apply, &j, &j.emitted);
}
