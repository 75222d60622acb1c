/* storage/meta_sync.c: This file implements meta_sync.h: digests, row merges,
 * copies and tombstone reaping of container and account DB replicas.
 *
 * It knows the schema meta.c creates (docs/on-disk.md) and, like meta.c,
 * includes sqlite3.h; SQLite result codes become -errno in meta.c's
 * meta_sql_err(). It opens its own short-lived connections instead of meta.c's pool so that a
 * separate `swiftlet replicate` process works the same as the server's
 * thread; SQLite's locking (WAL, busy timeout) keeps the two apart, and in
 * one process SQLite shares its locks between connections to one file.
 *
 * A merge is one statement per table, run on the target with the source
 * ATTACHed, inside BEGIN IMMEDIATE: a source row replaces the target's when
 * its timestamp is newer (for objects, a deleted row wins a tie, as a
 * tombstone does on disk). The info rows merge as meta.c merges writes:
 * newest put and delete timestamps, oldest creation, newest value per
 * metadata key. */
#include "meta_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "io.h"
#include "meta_int.h"
#include "object_sync.h"

#define BUSY_TIMEOUT_MS 10000

static atomic_bool sync_full = true;

void dbsync_set_sync(bool on)
{
    atomic_store(&sync_full, on);
}

/* ---- connections and statements ---- */

static int db_open(const char *path, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int rc;

    *out = NULL;
    if (access(path, F_OK) != 0)
        return -errno;
    rc = meta_sql_err(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL));
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = meta_sql_err(sqlite3_exec(db,
                               atomic_load(&sync_full) ? "PRAGMA synchronous = FULL"
                                                       : "PRAGMA synchronous = NORMAL",
                               NULL, NULL, NULL));
    if (rc < 0) {
        sqlite3_close(db);
        return rc;
    }
    /* A DB the server is creating right now has no schema yet (meta.c sets
     * user_version with it): not there yet, like a missing replica. */
    int version = 0;
    if (meta_user_version(db, &version) < 0 || version == 0) {
        sqlite3_close(db);
        return -ENOENT;
    }
    *out = db;
    return 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);

    if (rc != SQLITE_OK)
        log_warn("msg=\"cannot prepare statement\" file=%s err=\"%s\"",
                 sqlite3_db_filename(db, "main"), sqlite3_errmsg(db));
    return meta_sql_err(rc);
}

/* Step a statement without rows to completion and finalize it. */
static int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : meta_sql_err(rc) ? meta_sql_err(rc) : -EINVAL;
}

/* Run one statement with an optional int64 ?1; *changes gets the rows it
 * changed (may be NULL). */
static int run_i64(sqlite3 *db, const char *sql, const int64_t *arg, uint64_t *changes)
{
    sqlite3_stmt *s;
    int rc = prepare(db, sql, &s);

    if (rc < 0)
        return rc;
    if (arg)
        sqlite3_bind_int64(s, 1, *arg);
    rc = run(s);
    if (rc == 0 && changes)
        *changes = (uint64_t)sqlite3_changes(db);
    return rc;
}

/* ---- metadata {key: [value, ts]} ---- */

static json_t *meta_parse(const unsigned char *text)
{
    json_t *o = text ? json_loads((const char *)text, 0, NULL) : NULL;

    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

static char *meta_dump(json_t *o, size_t flags)
{
    char *s = json_dumps(o, JSON_COMPACT | flags);

    json_decref(o);
    if (!s)
        abort(); /* allocation failure, as xmalloc */
    return s;
}

static int64_t meta_ts(json_t *v)
{
    return (int64_t)json_integer_value(json_array_get(v, 1));
}

/* Merge src's keys into dst (newest timestamp per key, names compared
 * without case as header names are); returns dst serialised. */
static char *meta_merge(const unsigned char *dst_text, const unsigned char *src_text)
{
    json_t *dst = meta_parse(dst_text), *src = meta_parse(src_text);
    const char *key;
    json_t *val;

    json_object_foreach(src, key, val) {
        const char *old = NULL;
        for (void *it = json_object_iter(dst); it && !old; it = json_object_iter_next(dst, it))
            if (strcasecmp(json_object_iter_key(it), key) == 0)
                old = json_object_iter_key(it);
        if (old && meta_ts(json_object_get(dst, old)) >= meta_ts(val))
            continue;
        if (old)
            json_object_del(dst, old);
        json_object_set(dst, key, val);
    }
    json_decref(src);
    return meta_dump(dst, 0);
}

/* ---- digests ---- */

static void md5_col(struct md5 *m, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);

    md5_update(m, t ? (const void *)t : "", (size_t)n);
    md5_update(m, "\0", 1);
}

static int digest_info(sqlite3 *db, struct md5 *m)
{
    sqlite3_stmt *s;
    int rc = prepare(db, "SELECT created_at, put_timestamp, delete_timestamp, metadata"
                         " FROM info WHERE id = 0", &s);

    if (rc < 0)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < 3; i++)
            md5_col(m, s, i);
        /* Replicas may hold the keys in different orders. */
        char *meta = meta_dump(meta_parse(sqlite3_column_text(s, 3)), JSON_SORT_KEYS);
        md5_update(m, meta, strlen(meta) + 1);
        free(meta);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : meta_sql_err(rc);
}

static int digest_rows(sqlite3 *db, enum item_kind kind, struct md5 *m)
{
    const char *sql = kind == ITEM_CONTAINER
                          ? "SELECT name, created_at, size, content_type, etag, deleted"
                            " FROM object ORDER BY name"
                          : "SELECT name, put_timestamp, delete_timestamp, deleted"
                            " FROM container ORDER BY name";
    sqlite3_stmt *s;
    int rc = prepare(db, sql, &s);

    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        for (int i = 0; i < sqlite3_column_count(s); i++)
            md5_col(m, s, i);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : meta_sql_err(rc);
}

static const char *reap_sql(enum item_kind kind, bool count)
{
    if (kind == ITEM_CONTAINER)
        return count ? "SELECT count(*) FROM object WHERE deleted = 1 AND created_at < ?1"
                     : "DELETE FROM object WHERE deleted = 1 AND created_at < ?1";
    return count ? "SELECT count(*) FROM container WHERE deleted = 1 AND delete_timestamp < ?1"
                 : "DELETE FROM container WHERE deleted = 1 AND delete_timestamp < ?1";
}

static int count_reapable(sqlite3 *db, enum item_kind kind, int64_t before, uint64_t *out)
{
    sqlite3_stmt *s;
    int rc = prepare(db, reap_sql(kind, true), &s);

    *out = 0;
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, before);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : meta_sql_err(rc);
}

int dbsync_digest(const char *path, enum item_kind kind, int64_t reclaim_before, uint8_t out[16],
                  uint64_t *reapable)
{
    struct md5 *m;
    sqlite3 *db;
    int rc = db_open(path, &db);

    *reapable = 0;
    memset(out, 0, 16);
    if (rc < 0)
        return rc;
    m = md5_new();
    /* One read transaction: a consistent snapshot while a server writes. */
    rc = meta_exec_sql(db, "BEGIN");
    if (rc == 0)
        rc = digest_info(db, m);
    if (rc == 0)
        rc = digest_rows(db, kind, m);
    if (rc == 0)
        rc = count_reapable(db, kind, reclaim_before, reapable);
    (void)meta_exec_sql(db, "COMMIT");
    md5_final(m, out);
    md5_free(m);
    sqlite3_close(db);
    return rc;
}

/* ---- merging ---- */

static const char merge_objects[] =
    "INSERT OR REPLACE INTO main.object"
    " SELECT s.name, s.created_at, s.size, s.content_type, s.etag, s.deleted"
    " FROM src.object s LEFT JOIN main.object m ON m.name = s.name"
    " WHERE m.name IS NULL OR s.created_at > m.created_at"
    " OR (s.created_at = m.created_at AND s.deleted > m.deleted)";

static const char merge_containers[] =
    "INSERT OR REPLACE INTO main.container"
    " SELECT s.name, s.put_timestamp, s.delete_timestamp, s.object_count, s.bytes_used, s.deleted"
    " FROM src.container s LEFT JOIN main.container m ON m.name = s.name"
    " WHERE m.name IS NULL"
    " OR max(s.put_timestamp, s.delete_timestamp) > max(m.put_timestamp, m.delete_timestamp)";

/* The stats follow from the rows, so recounting them keeps the target
 * consistent whatever was merged (meta.c keeps them by increments). */
static const char recount_container[] =
    "UPDATE main.info SET object_count = (SELECT count(*) FROM main.object WHERE deleted = 0),"
    " bytes_used = (SELECT coalesce(sum(size), 0) FROM main.object WHERE deleted = 0)"
    " WHERE id = 0";

static const char recount_account[] =
    "UPDATE main.info SET"
    " container_count = (SELECT count(*) FROM main.container WHERE deleted = 0),"
    " object_count = (SELECT coalesce(sum(object_count), 0) FROM main.container"
    " WHERE deleted = 0),"
    " bytes_used = (SELECT coalesce(sum(bytes_used), 0) FROM main.container WHERE deleted = 0)"
    " WHERE id = 0";

static const char info_both[] =
    "SELECT m.created_at, m.put_timestamp, m.delete_timestamp, m.metadata,"
    " s.created_at, s.put_timestamp, s.delete_timestamp, s.metadata"
    " FROM src.info s LEFT JOIN main.info m ON m.id = s.id WHERE s.id = 0";

static int64_t min_set(int64_t a, int64_t b)
{
    return a <= 0 ? b : b <= 0 ? a : MIN(a, b);
}

/* Merge src's info row into main's (copy it when main has none). */
static int merge_info(sqlite3 *db)
{
    sqlite3_stmt *s, *u;
    int rc = prepare(db, info_both, &s);

    if (rc < 0)
        return rc;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {     /* the source has no info row: nothing to give */
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? 0 : meta_sql_err(rc);
    }
    if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
        sqlite3_finalize(s);
        return run_i64(db, "INSERT INTO main.info SELECT * FROM src.info", NULL, NULL);
    }
    char *meta = meta_merge(sqlite3_column_text(s, 3), sqlite3_column_text(s, 7));
    rc = prepare(db, "UPDATE main.info SET created_at = ?1, put_timestamp = ?2,"
                     " delete_timestamp = ?3, metadata = ?4 WHERE id = 0", &u);
    if (rc == 0) {
        sqlite3_bind_int64(u, 1, min_set(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 4)));
        sqlite3_bind_int64(u, 2, MAX(sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 5)));
        sqlite3_bind_int64(u, 3, MAX(sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 6)));
        sqlite3_bind_text(u, 4, meta, -1, SQLITE_STATIC);
        rc = run(u);
    }
    free(meta);
    sqlite3_finalize(s);
    return rc;
}

static int attach(sqlite3 *db, const char *src)
{
    sqlite3_stmt *s;
    int rc;

    if (access(src, F_OK) != 0)
        return -errno;
    if ((rc = prepare(db, "ATTACH DATABASE ?1 AS src", &s)) < 0)
        return rc;
    sqlite3_bind_text(s, 1, src, -1, SQLITE_STATIC);
    return run(s);
}

int dbsync_merge(const char *dst, const char *src, enum item_kind kind, uint64_t *rows)
{
    sqlite3 *db;
    int rc = db_open(dst, &db);

    *rows = 0;
    if (rc < 0)
        return rc;
    if ((rc = attach(db, src)) < 0)
        goto out_close;
    if ((rc = meta_exec_sql(db, "BEGIN IMMEDIATE")) < 0)
        goto out_detach;
    rc = run_i64(db, kind == ITEM_CONTAINER ? merge_objects : merge_containers, NULL, rows);
    if (rc == 0)
        rc = merge_info(db);
    if (rc == 0)
        rc = run_i64(db, kind == ITEM_CONTAINER ? recount_container : recount_account, NULL,
                     NULL);
    if (rc == 0)
        rc = meta_exec_sql(db, "COMMIT");
    if (rc < 0 && !sqlite3_get_autocommit(db))
        (void)meta_exec_sql(db, "ROLLBACK");
out_detach:
    (void)meta_exec_sql(db, "DETACH DATABASE src");
out_close:
    sqlite3_close(db);
    return rc;
}

/* ---- copying, reaping, removing ---- */

/* The directory part of path as a heap string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

/* Move tmp to dst unless dst exists: renameat2's RENAME_NOREPLACE, or
 * link + unlink where the filesystem lacks it. 0, -EEXIST or -errno. */
static int rename_noreplace(const char *tmp, const char *dst)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(tmp, dst) < 0)
        return -errno;
    return unlink(tmp) < 0 ? -errno : 0;
}

static int vacuum_into(const char *src, const char *tmp)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int rc = db_open(src, &db);

    if (rc < 0)
        return rc;
    rc = prepare(db, "VACUUM INTO ?1", &s);
    if (rc == 0) {
        sqlite3_bind_text(s, 1, tmp, -1, SQLITE_STATIC);
        rc = run(s);
    }
    sqlite3_close(db);
    return rc;
}

int dbsync_copy(const char *dst, const char *src, const char *tmp_dir)
{
    uint8_t r[8];
    char rnd[17];
    char *dir = dir_of(dst), *tmp;
    int rc, fd;

    if (random_bytes(r, sizeof(r)) < 0)
        memset(r, 0, sizeof(r));
    hex_encode(r, sizeof(r), rnd);
    tmp = xasprintf("%s/%s.%s.tmp", tmp_dir, strrchr(dst, '/') ? strrchr(dst, '/') + 1 : dst,
                    rnd);
    rc = objsync_mkdirs(tmp_dir);
    if (rc == 0)
        rc = vacuum_into(src, tmp);
    if (rc == 0) {
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        rc = fd < 0 ? -errno : fsync_fd(fd);
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0)
        rc = objsync_mkdirs(dir);
    if (rc == 0)
        rc = rename_noreplace(tmp, dst);
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

int dbsync_reap(const char *path, enum item_kind kind, int64_t before, uint64_t *rows)
{
    sqlite3 *db;
    int rc = db_open(path, &db);

    *rows = 0;
    if (rc < 0)
        return rc;
    rc = run_i64(db, reap_sql(kind, false), &before, rows);
    sqlite3_close(db);
    return rc;
}

int dbsync_remove(const char *path)
{
    static const char *const ext[] = {"-wal", "-shm"};
    char *dir = dir_of(path);
    int rc = unlink(path) < 0 && errno != ENOENT ? -errno : 0;

    for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(ext); i++) {
        char *p = xasprintf("%s%s", path, ext[i]);
        if (unlink(p) < 0 && errno != ENOENT)
            rc = -errno;
        free(p);
    }
    if (rc == 0)
        rc = fsync_dir(dir);
    free(dir);
    return rc;
}
