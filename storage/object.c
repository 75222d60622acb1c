/* storage/object.c: This file implements objects as self-describing files
 * on disk groups: the streaming replica writer, the reader that picks the
 * newest replica, tombstones, .meta updates and the hash-directory cleanup
 * ("newest wins", as Swift's hash_cleanup_listdir).
 *
 * Only the hash of a name becomes a path, so no object name can escape its
 * directory. A .data file is written in <dg>/tmp, synced, renamed into its
 * hash directory and the directory synced, so a reader sees a whole file or
 * none. Directories created on the way are synced into their parents too. */
#include "object.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "io.h"

#define TRAILER_LEN 24
#define TRAILER_MAGIC "SWLTOBJ1"
#define JSON_MAX (4u << 20)        /* cap on a metadata JSON we will read */

struct object_writer {
    struct placement pl;
    char *name;
    int64_t ts;
    size_t n;                       /* replicas opened */
    struct disk_group *dg[REPLICAS];
    int fd[REPLICAS];
    char *tmp[REPLICAS];
    bool noted[REPLICAS];           /* failure already reported to the dg */
    struct fanout *fo;
    struct md5 *md5;
    uint32_t crc;
    uint64_t size;
};

void object_meta_init(struct object_meta *m)
{
    memset(m, 0, sizeof(*m));
    kv_init(&m->headers);
}

void object_meta_release(struct object_meta *m)
{
    free(m->name);
    free(m->content_type);
    kv_release(&m->headers);
    object_meta_init(m);
}

/* ---- small file helpers ---- */

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* pread exactly n bytes; 0, -EIO at a short file, -errno. */
static int pread_full(int fd, void *p, size_t n, uint64_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = write(fd, (const char *)p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path. */
static int fsync_parent(char *path)
{
    char *slash = strrchr(path, '/');
    int rc;

    if (!slash || slash == path)
        return 0;
    *slash = '\0';
    rc = fsync_dir(path);
    *slash = '/';
    return rc;
}

/* mkdir -p that makes each directory it creates durable in its parent.
 * path is modified temporarily. 0 or -errno. */
static int mkdir_durable(char *path)
{
    if (mkdir(path, 0755) == 0)
        return fsync_parent(path);
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;

    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return -ENOENT;
    *slash = '\0';
    int rc = mkdir_durable(path);
    *slash = '/';
    if (rc < 0)
        return rc;
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    /* Also after losing a race: the winner may not have synced yet. */
    return fsync_parent(path);
}

/* "<dg>/tmp/<hash>.<ts>.<random>.tmp"; heap string. */
static char *tmp_path(const struct disk_group *dg, const char *hash_hex, int64_t ts)
{
    char t[TS_STRLEN], rnd[17];
    uint8_t r[8];

    if (random_bytes(r, sizeof(r)) < 0)
        memset(r, 0, sizeof(r));
    hex_encode(r, sizeof(r), rnd);
    ts_format(ts, t);
    return xasprintf("%s/tmp/%s.%s.%s.tmp", dg_path(dg), hash_hex, t, rnd);
}

/* Open a new temp file on dg; the fd, or -errno (reported to the dg). */
static int open_tmp(struct disk_group *dg, const char *hash_hex, int64_t ts, char **path_out)
{
    char *path = tmp_path(dg, hash_hex, ts);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0) {
        int rc = -errno;
        log_warn("msg=\"cannot create temp file\" path=%s err=\"%s\"", path, err_str(rc));
        dg_note_result(dg, rc);
        free(path);
        return rc;
    }
    *path_out = path;
    return fd;
}

/* ---- the files of one hash directory ---- */

enum file_kind { F_NONE = 0, F_DATA, F_TS, F_META };

/* "<ts>.data" | "<ts>.ts" | "<ts>.meta" -> kind and timestamp. */
static enum file_kind parse_name(const char *name, int64_t *ts)
{
    static const struct {
        const char *ext;
        enum file_kind kind;
    } exts[] = {{".data", F_DATA}, {".ts", F_TS}, {".meta", F_META}};
    size_t len = strlen(name);
    char t[TS_STRLEN + 8];

    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        size_t el = strlen(exts[i].ext);
        if (len <= el || len - el >= sizeof(t) || strcmp(name + len - el, exts[i].ext) != 0)
            continue;
        memcpy(t, name, len - el);
        t[len - el] = '\0';
        return ts_parse(t, ts) == 0 ? exts[i].kind : F_NONE;
    }
    return F_NONE;
}

/* What a hash directory holds: its newest .data or .ts, and newest .meta. */
struct dir_scan {
    enum file_kind kind;    /* F_DATA, F_TS or F_NONE */
    int64_t newest;         /* timestamp of that file; -1 when none */
    int64_t meta;           /* newest .meta; -1 when none */
};

/* Is this file superseded by what the scan found? */
static bool obsolete(const struct dir_scan *s, enum file_kind k, int64_t ts)
{
    if (k == F_DATA || k == F_TS)
        return ts < s->newest || (ts == s->newest && k != s->kind);
    if (k == F_META)
        return s->kind != F_DATA || ts <= s->newest || ts < s->meta;
    return false;
}

/* Scan dir; with clean, also unlink what newer files supersede.
 * 0, -ENOENT, -errno. */
static int scan_dir(const char *dir, struct dir_scan *s, bool clean)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t ts;

    *s = (struct dir_scan){F_NONE, -1, -1};
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        enum file_kind k = parse_name(e->d_name, &ts);
        if ((k == F_DATA || k == F_TS) &&
            (ts > s->newest || (ts == s->newest && k == F_TS))) {
            s->newest = ts;
            s->kind = k;
        } else if (k == F_META && ts > s->meta) {
            s->meta = ts;
        }
    }
    if (clean) {
        rewinddir(d);
        while ((e = readdir(d))) {
            enum file_kind k = parse_name(e->d_name, &ts);
            if (k != F_NONE && obsolete(s, k, ts) && unlinkat(dirfd(d), e->d_name, 0) < 0)
                log_warn("msg=\"cannot remove old file\" dir=%s file=%s err=\"%s\"", dir,
                         e->d_name, err_str(-errno));
        }
    }
    closedir(d);
    return 0;
}

/* Move a synced temp file into the item's hash directory as fname, make it
 * durable and remove what it supersedes. 0 or -errno (reported to dg). */
static int install(struct disk_group *dg, const struct placement *pl, const char *tmp,
                   const char *fname)
{
    char *dir = placement_dir(pl, dg);
    char *dst = xasprintf("%s/%s", dir, fname);
    struct dir_scan s;
    int rc = mkdir_durable(dir);

    if (rc == 0 && rename(tmp, dst) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc == 0)
        (void)scan_dir(dir, &s, true);
    if (rc < 0) {
        log_warn("msg=\"cannot install file\" path=%s err=\"%s\"", dst, err_str(rc));
        dg_note_result(dg, rc);
    }
    free(dst);
    free(dir);
    return rc;
}

/* ---- metadata JSON ---- */

/* A string, or {"hex": ...} for bytes that are not UTF-8 (JSON cannot hold
 * them, and HTTP header values may be any bytes). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);

    if (!j) {
        size_t n = strlen(s);
        char *hex = xmalloc(2 * n + 1);
        hex_encode((const uint8_t *)s, n, hex);
        j = json_pack("{s:s}", "hex", hex);
        free(hex);
    }
    return j;
}

/* The inverse of jstr; NULL when v is neither form. */
static char *jstr_get(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    const char *hex = json_string_value(json_object_get(v, "hex"));
    if (!hex || strlen(hex) % 2)
        return NULL;
    size_t n = strlen(hex) / 2;
    char *s = xmalloc(n + 1);
    if (hex_decode(hex, (uint8_t *)s, n) < 0 || memchr(s, '\0', n)) {
        free(s);
        return NULL;
    }
    s[n] = '\0';
    return s;
}

static json_t *headers_json(const struct kv_list *h)
{
    json_t *o = json_object();

    for (size_t i = 0; i < h->n; i++) {
        if (json_object_set_new(o, h->items[i].key, jstr(h->items[i].value)) < 0)
            log_warn("msg=\"header name not stored: not utf-8\"");
    }
    return o;
}

/* Replace dst with the headers object v. 0 or ERR_CORRUPT. */
static int headers_from_json(struct kv_list *dst, const json_t *v)
{
    const char *k;
    json_t *val;

    if (!json_is_object(v))
        return ERR_CORRUPT;
    kv_release(dst);
    kv_init(dst);
    json_object_foreach((json_t *)v, k, val) {
        char *s = jstr_get(val);
        if (!s)
            return ERR_CORRUPT;
        kv_add(dst, k, s);
        free(s);
    }
    return 0;
}

static char *json_dump_str(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    if (!s)
        abort();    /* allocation failure: as xmalloc */
    return s;
}

static char *data_json(const struct object_meta *m)
{
    char t[TS_STRLEN];
    json_t *o;

    ts_format(m->timestamp, t);
    o = json_pack("{s:o,s:s,s:I,s:s,s:I,s:o}", "name", jstr(m->name), "timestamp", t, "size",
                  (json_int_t)m->size, "etag", m->etag, "crc32c", (json_int_t)m->crc32c,
                  "headers", headers_json(&m->headers));
    if (!o)
        abort();
    if (m->content_type)
        json_object_set_new(o, "content_type", jstr(m->content_type));
    return json_dump_str(o);
}

static bool is_hex32(const char *s)
{
    uint8_t b[16];

    return s && strlen(s) == 32 && hex_decode(s, b, 16) == 0;
}

/* Parse a .data's JSON into m (initialised). 0 or ERR_CORRUPT. */
static int data_meta_parse(const char *p, size_t n, uint64_t body_len, struct object_meta *m)
{
    json_t *o = json_loadb(p, n, 0, NULL);
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    const char *etag = json_string_value(json_object_get(o, "etag"));
    json_t *size = json_object_get(o, "size"), *crc = json_object_get(o, "crc32c");
    json_t *ct = json_object_get(o, "content_type");
    int rc = ERR_CORRUPT;

    if (!o || !ts || ts_parse(ts, &m->timestamp) < 0 || !is_hex32(etag) ||
        !json_is_integer(size) || (uint64_t)json_integer_value(size) != body_len ||
        !json_is_integer(crc))
        goto out;
    m->name = jstr_get(json_object_get(o, "name"));
    if (!m->name || (ct && !(m->content_type = jstr_get(ct))))
        goto out;
    m->meta_timestamp = m->timestamp;
    m->size = body_len;
    memcpy(m->etag, etag, 33);
    m->crc32c = (uint32_t)json_integer_value(crc);
    rc = headers_from_json(&m->headers, json_object_get(o, "headers"));
out:
    json_decref(o);
    return rc;
}

/* ---- reading one .data ---- */

/* Validate the trailer and JSON of an open .data; fill m.
 * 0, ERR_CORRUPT, -errno. */
static int data_read_meta(int fd, struct object_meta *m)
{
    uint8_t tr[TRAILER_LEN];
    struct stat st;
    int rc;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size < TRAILER_LEN)
        return ERR_CORRUPT;
    rc = pread_full(fd, tr, TRAILER_LEN, (uint64_t)st.st_size - TRAILER_LEN);
    if (rc < 0)
        return rc;
    uint64_t body_len = get_le(tr + 8, 8);
    uint32_t json_len = (uint32_t)get_le(tr + 16, 4);
    uint32_t json_crc = (uint32_t)get_le(tr + 20, 4);
    if (memcmp(tr, TRAILER_MAGIC, 8) != 0 || json_len > JSON_MAX ||
        body_len > (uint64_t)st.st_size ||
        body_len + json_len + TRAILER_LEN != (uint64_t)st.st_size)
        return ERR_CORRUPT;

    char *json = xmalloc(json_len + 1);
    rc = pread_full(fd, json, json_len, body_len);
    if (rc == 0 && crc32c_update(0, json, json_len) != json_crc)
        rc = ERR_CORRUPT;
    if (rc == 0)
        rc = data_meta_parse(json, json_len, body_len, m);
    free(json);
    return rc;
}

/* Open dir/<ts>.data and read its metadata. The fd, or ERR_CORRUPT/-errno. */
static int data_open(const char *dir, int64_t ts, struct object_meta *m)
{
    char t[TS_STRLEN];
    char *path;
    int fd, rc;

    ts_format(ts, t);
    path = xasprintf("%s/%s.data", dir, t);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    rc = fd < 0 ? -errno : data_read_meta(fd, m);
    if (rc == 0 && m->timestamp != ts)
        rc = ERR_CORRUPT;
    if (rc < 0) {
        log_warn("msg=\"unreadable replica\" path=%s err=\"%s\"", path, err_str(rc));
        if (fd >= 0)
            close(fd);
        fd = rc;
    }
    free(path);
    return fd;
}

/* Re-read a whole body and compare its CRC32C and MD5 with m. */
static int data_check_body(int fd, const struct object_meta *m)
{
    char *chunk = xmalloc(1 << 16);
    struct md5 *md5 = md5_new();
    uint32_t crc = 0;
    uint8_t d[16];
    char etag[33];
    int rc = 0;

    for (uint64_t off = 0; off < m->size && rc == 0;) {
        size_t n = (size_t)MIN((uint64_t)1 << 16, m->size - off);
        rc = pread_full(fd, chunk, n, off);
        crc = crc32c_update(crc, chunk, n);
        md5_update(md5, chunk, n);
        off += n;
    }
    md5_final(md5, d);
    hex_encode(d, 16, etag);
    if (rc == 0 && (crc != m->crc32c || strcmp(etag, m->etag) != 0))
        rc = ERR_CORRUPT;
    md5_free(md5);
    free(chunk);
    return rc;
}

int object_check_file(const char *path, bool check_body, struct object_meta *m)
{
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

    object_meta_init(m);
    if (fd < 0)
        return -errno;
    rc = data_read_meta(fd, m);
    if (rc == 0 && check_body)
        rc = data_check_body(fd, m);
    close(fd);
    return rc;
}

/* ---- .meta files ---- */

static char *post_json(int64_t ts, const char *content_type, const struct kv_list *headers)
{
    char t[TS_STRLEN];
    json_t *o;

    ts_format(ts, t);
    o = json_pack("{s:s,s:o}", "timestamp", t, "headers", headers_json(headers));
    if (!o)
        abort();
    if (content_type)
        json_object_set_new(o, "content_type", jstr(content_type));
    return json_dump_str(o);
}

/* Apply dir/<ts>.meta to m. 0, ERR_CORRUPT, -errno. */
static int meta_apply(const char *dir, int64_t ts, struct object_meta *m)
{
    char t[TS_STRLEN], *buf = NULL;
    struct kv_list h = KV_LIST_INIT;
    json_t *o = NULL;
    struct stat st;
    int rc;

    ts_format(ts, t);
    char *path = xasprintf("%s/%s.meta", dir, t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -errno;
    rc = fstat(fd, &st) < 0 ? -errno : st.st_size > JSON_MAX ? ERR_CORRUPT : 0;
    if (rc == 0) {
        buf = xmalloc((size_t)st.st_size + 1);
        rc = pread_full(fd, buf, (size_t)st.st_size, 0);
    }
    close(fd);
    if (rc == 0 && !(o = json_loadb(buf, (size_t)st.st_size, 0, NULL)))
        rc = ERR_CORRUPT;
    if (rc == 0)
        rc = headers_from_json(&h, json_object_get(o, "headers"));
    json_t *ct = json_object_get(o, "content_type");
    char *ctype = ct ? jstr_get(ct) : NULL;
    if (rc == 0 && ct && !ctype)
        rc = ERR_CORRUPT;
    if (rc == 0) {
        kv_release(&m->headers);
        m->headers = h;
        kv_init(&h);
        if (ctype) {
            free(m->content_type);
            m->content_type = ctype;
            ctype = NULL;
        }
        m->meta_timestamp = ts;
    }
    free(ctype);
    kv_release(&h);
    json_decref(o);
    free(buf);
    return rc;
}

/* ---- writing ---- */

static void writer_free(struct object_writer *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->fd[i] >= 0)
            close(w->fd[i]);
        if (w->tmp[i])
            unlink(w->tmp[i]);
        free(w->tmp[i]);
    }
    fanout_free(w->fo);
    md5_free(w->md5);
    free(w->name);
    free(w);
}

/* Report newly failed replicas to their disk groups. */
static void note_failures(struct object_writer *w)
{
    for (size_t i = 0; i < w->n; i++) {
        int err = fanout_result(w->fo, i);
        if (err && !w->noted[i]) {
            w->noted[i] = true;
            log_warn("msg=\"replica write failed\" path=%s err=\"%s\"", w->tmp[i], err_str(err));
            dg_note_result(w->dg[i], err);
        }
    }
}

int object_writer_open(struct object_writer **out, const struct placement *pl, const char *name,
                       int64_t ts)
{
    struct object_writer *w = xcalloc(1, sizeof(*w));

    *out = NULL;
    w->pl = *pl;
    w->name = xstrdup(name);
    w->ts = ts;
    for (size_t i = 0; i < pl->n_dg && w->n < REPLICAS; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        int fd = open_tmp(pl->dg[i], pl->hash_hex, ts, &w->tmp[w->n]);
        if (fd < 0)
            continue;
        w->dg[w->n] = pl->dg[i];
        w->fd[w->n++] = fd;
    }
    if (w->n < QUORUM || fanout_new(&w->fo, w->fd, w->n) < 0) {
        writer_free(w);
        return ERR_QUORUM;
    }
    w->md5 = md5_new();
    *out = w;
    return 0;
}

int object_writer_write(struct object_writer *w, const void *p, size_t n)
{
    int healthy = fanout_write(w->fo, p, n);

    md5_update(w->md5, p, n);
    w->crc = crc32c_update(w->crc, p, n);
    w->size += n;
    note_failures(w);
    return healthy < QUORUM ? ERR_QUORUM : 0;
}

uint64_t object_writer_size(const struct object_writer *w)
{
    return w->size;
}

void object_writer_abort(struct object_writer *w)
{
    if (w)
        writer_free(w);
}

/* Fill in what commit knows about the body. */
static void meta_fill(const struct object_writer *w, struct object_meta *m, const char *etag)
{
    free(m->name);
    m->name = xstrdup(w->name);
    m->timestamp = w->ts;
    m->meta_timestamp = w->ts;
    m->size = w->size;
    memcpy(m->etag, etag, 33);
    m->crc32c = w->crc;
}

/* Append the JSON and trailer to every healthy replica and sync them. */
static void write_footer(struct object_writer *w, const struct object_meta *m)
{
    char *json = data_json(m);
    size_t jlen = strlen(json);
    uint8_t tr[TRAILER_LEN];

    memcpy(tr, TRAILER_MAGIC, 8);
    put_le(tr + 8, w->size, 8);
    put_le(tr + 16, jlen, 4);
    put_le(tr + 20, crc32c_update(0, json, jlen), 4);
    (void)fanout_write(w->fo, json, jlen);
    (void)fanout_write(w->fo, tr, TRAILER_LEN);
    (void)fanout_sync(w->fo);
    note_failures(w);
    free(json);
}

int object_writer_commit(struct object_writer *w, struct object_meta *meta,
                         const char *expect_etag)
{
    char etag[33], t[TS_STRLEN], *fname;
    uint8_t d[16];
    int durable = 0;

    md5_final(w->md5, d);
    hex_encode(d, 16, etag);
    if (expect_etag && strcasecmp(expect_etag, etag) != 0) {
        writer_free(w);
        return ERR_ETAG;
    }
    meta_fill(w, meta, etag);
    write_footer(w, meta);
    ts_format(w->ts, t);
    fname = xasprintf("%s.data", t);
    for (size_t i = 0; i < w->n; i++) {
        if (fanout_result(w->fo, i) != 0)
            continue;
        close(w->fd[i]);
        w->fd[i] = -1;
        if (install(w->dg[i], &w->pl, w->tmp[i], fname) == 0) {
            durable++;
            free(w->tmp[i]);
            w->tmp[i] = NULL;
        }
    }
    free(fname);
    writer_free(w);
    return durable >= QUORUM ? 0 : ERR_QUORUM;
}

/* ---- reading ---- */

struct replica {
    struct disk_group *dg;
    char *dir;
    struct dir_scan s;
};

/* Scan the hash directory on every usable dg of pl; keep those with files,
 * newest .data/.ts first (primaries first among equals). */
static size_t gather(const struct placement *pl, struct replica *out)
{
    size_t n = 0;

    for (size_t i = 0; i < pl->n_dg && i < PLACEMENT_MAX; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        struct replica r = {pl->dg[i], placement_dir(pl, pl->dg[i]), {F_NONE, -1, -1}};
        int rc = scan_dir(r.dir, &r.s, false);
        if (rc < 0 || (r.s.kind == F_NONE && r.s.meta < 0)) {
            if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR)
                dg_note_result(r.dg, rc);
            free(r.dir);
            continue;
        }
        size_t j = n++;
        for (; j > 0 && out[j - 1].s.newest < r.s.newest; j--)
            out[j] = out[j - 1];
        out[j] = r;
    }
    return n;
}

static void replicas_free(struct replica *reps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(reps[i].dir);
}

/* Apply the newest readable .meta newer than the chosen .data. */
static void apply_newest_meta(struct replica *reps, size_t n, struct object_meta *m)
{
    int64_t tried = INT64_MAX;

    for (;;) {
        int64_t best = -1;
        for (size_t i = 0; i < n; i++)
            if (reps[i].s.meta > best && reps[i].s.meta < tried)
                best = reps[i].s.meta;
        if (best <= m->timestamp)
            return;
        for (size_t i = 0; i < n; i++)
            if (reps[i].s.meta == best && meta_apply(reps[i].dir, best, m) == 0)
                return;
        tried = best;
    }
}

static void reader_init(struct object_reader *r)
{
    r->fd = -1;
    r->body_offset = 0;
    r->dg = NULL;
    object_meta_init(&r->meta);
}

/* Open the first readable .data, newest first. */
static int open_newest(struct object_reader *r, struct replica *reps, size_t n)
{
    if (n == 0 || reps[0].s.kind == F_NONE)
        return -ENOENT;
    if (reps[0].s.kind == F_TS) {
        r->meta.timestamp = r->meta.meta_timestamp = reps[0].s.newest;
        return ERR_DELETED;
    }
    for (size_t i = 0; i < n && reps[i].s.kind == F_DATA; i++) {
        int fd = data_open(reps[i].dir, reps[i].s.newest, &r->meta);
        if (fd == -EIO)
            dg_note_result(reps[i].dg, fd);
        if (fd < 0) {
            object_meta_release(&r->meta);
            continue;
        }
        r->fd = fd;
        r->dg = reps[i].dg;
        apply_newest_meta(reps, n, &r->meta);
        return 0;
    }
    return -EIO;
}

int object_open(struct object_reader *r, const struct placement *pl)
{
    struct replica reps[PLACEMENT_MAX];
    size_t n;
    int rc;

    reader_init(r);
    n = gather(pl, reps);
    rc = open_newest(r, reps, n);
    replicas_free(reps, n);
    return rc;
}

int object_stat(struct object_meta *m, const struct placement *pl)
{
    struct object_reader r;
    int rc = object_open(&r, pl);

    *m = r.meta;
    object_meta_init(&r.meta);
    object_reader_close(&r);
    return rc;
}

void object_reader_close(struct object_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    object_meta_release(&r->meta);
}

/* ---- deleting and metadata updates ---- */

/* Write an empty <ts>.ts into the item's directory on dg. */
static int tombstone_write(struct disk_group *dg, const struct placement *pl, int64_t ts)
{
    char t[TS_STRLEN];
    char *dir = placement_dir(pl, dg);
    char *path = NULL;
    struct dir_scan s;
    int rc = mkdir_durable(dir);

    ts_format(ts, t);
    path = xasprintf("%s/%s.ts", dir, t);
    if (rc == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        rc = fd < 0 ? -errno : fsync_fd(fd);
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc == 0)
        (void)scan_dir(dir, &s, true);
    if (rc < 0) {
        log_warn("msg=\"cannot write tombstone\" path=%s err=\"%s\"", path, err_str(rc));
        dg_note_result(dg, rc);
    }
    free(path);
    free(dir);
    return rc;
}

int object_delete(const struct placement *pl, const char *name, int64_t ts)
{
    size_t ok = 0;

    (void)name;     /* the tombstone is empty: the directory names the item */
    /* A disk group that fails here is marked unusable; the next handoff
     * takes its place, as for a write. */
    for (size_t i = 0; i < pl->n_dg && ok < REPLICAS; i++) {
        if (dg_usable(pl->dg[i]))
            ok += tombstone_write(pl->dg[i], pl, ts) == 0;
    }
    return ok >= QUORUM ? 0 : ERR_QUORUM;
}

/* Write text to a new temp file on dg and sync it; the temp path or NULL. */
static char *tmp_write(struct disk_group *dg, const struct placement *pl, int64_t ts,
                       const char *text)
{
    char *path = NULL;
    int fd = open_tmp(dg, pl->hash_hex, ts, &path);
    int rc;

    if (fd < 0)
        return NULL;
    rc = write_full(fd, text, strlen(text));
    if (rc == 0)
        rc = fsync_fd(fd);
    close(fd);
    if (rc < 0) {
        dg_note_result(dg, rc);
        unlink(path);
        free(path);
        return NULL;
    }
    return path;
}

int object_post(const struct placement *pl, int64_t ts, const char *content_type,
                const struct kv_list *headers)
{
    struct object_meta m;
    size_t ok = 0;
    char t[TS_STRLEN];
    int rc = object_stat(&m, pl);

    if (rc < 0) {
        object_meta_release(&m);
        return rc;
    }
    /* Only the newest .meta is applied, so it carries the content type in
     * force (an earlier POST may have changed it) when none is given. */
    char *json = post_json(ts, content_type ? content_type : m.content_type, headers);
    object_meta_release(&m);
    ts_format(ts, t);
    char *fname = xasprintf("%s.meta", t);
    for (size_t i = 0; i < pl->n_dg && ok < REPLICAS; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        char *tmp = tmp_write(pl->dg[i], pl, ts, json);
        if (tmp && install(pl->dg[i], pl, tmp, fname) == 0)
            ok++;
        else if (tmp)
            unlink(tmp);
        free(tmp);
    }
    free(fname);
    free(json);
    return ok >= QUORUM ? 0 : ERR_QUORUM;
}

void object_clean_tmp(struct disk_group *dg)
{
    char *dir = xasprintf("%s/tmp", dg_path(dg));
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        free(dir);
        return;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0)
            log_warn("msg=\"cannot remove temp file\" dir=%s file=%s err=\"%s\"", dir, e->d_name,
                     err_str(-errno));
    }
    closedir(d);
    free(dir);
}
