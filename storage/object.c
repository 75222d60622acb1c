/* storage/object.c: This file implements what the parts of the object
 * module share (object_int.h): the metadata record, the .data trailer and
 * its metadata JSON, the .meta JSON, and the scan of a hash directory with
 * its "newest wins" cleanup (as Swift's hash_cleanup_listdir).
 * object_write.c has the writer, tombstones and .meta updates; object_read.c
 * the reader that picks the newest replica.
 *
 * Only the hash of a name becomes a path, so no object name can escape its
 * directory. */
#include "object_int.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"

#define DENTS_BUF 8192      /* a hash directory holds a handful of files */

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

/* ---- small I/O helpers ---- */

void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int pread_full(int fd, void *p, size_t n, uint64_t off)
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

void item_dirs_init(struct item_dirs *d, const struct placement *pl)
{
    d->first = NULL;
    d->rel = "";
    if (pl->n_dg == 0)
        return;
    d->first = placement_dir(pl, pl->dg[0]);
    d->rel = d->first + strlen(dg_path(pl->dg[0]));
}

void item_dirs_release(struct item_dirs *d)
{
    free(d->first);
    d->first = NULL;
}

int item_dir(const struct item_dirs *d, const struct disk_group *dg, char out[ITEM_PATH_MAX])
{
    const char *base = dg_path(dg);
    size_t bl = strlen(base), rl = strlen(d->rel);

    if (bl + rl >= ITEM_PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(out, base, bl);
    memcpy(out + bl, d->rel, rl + 1);
    return 0;
}

/* ---- the files of one hash directory ---- */

enum file_kind parse_name(const char *name, int64_t *ts)
{
    static const struct {
        const char *ext;
        size_t len;
        enum file_kind kind;
    } exts[] = {{".data", 5, F_DATA}, {".ts", 3, F_TS}, {".meta", 5, F_META}};
    size_t len = strlen(name);
    char t[TS_STRLEN + 8];

    if (name[0] < '0' || name[0] > '9')     /* ".", "..", anything foreign */
        return F_NONE;
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        size_t el = exts[i].len;
        if (len <= el || len - el >= sizeof(t) || memcmp(name + len - el, exts[i].ext, el) != 0)
            continue;
        memcpy(t, name, len - el);
        t[len - el] = '\0';
        return ts_parse(t, ts) == 0 ? exts[i].kind : F_NONE;
    }
    return F_NONE;
}

void file_name(int64_t ts, const char *ext, char *out)
{
    char t[TS_STRLEN];

    ts_format(ts, t);
    snprintf(out, FILE_NAME_MAX, "%s%s", t, ext);
}

/* Is this file superseded by what the scan found? */
static bool obsolete(const struct dir_scan *s, enum file_kind k, int64_t ts)
{
    if (k == F_DATA || k == F_TS)
        return ts < s->newest || (ts == s->newest && k != s->kind);
    if (k == F_META)
        return s->kind != F_DATA || ts <= s->newest || ts < s->meta;
    return false;
}

static void scan_entries(const char *buf, size_t n, struct dir_scan *s)
{
    for (size_t off = 0; off < n;) {
        const struct dirent64 *e = (const struct dirent64 *)(const void *)(buf + off);
        int64_t ts;
        enum file_kind k = parse_name(e->d_name, &ts);

        if ((k == F_DATA || k == F_TS) && (ts > s->newest || (ts == s->newest && k == F_TS))) {
            s->newest = ts;
            s->kind = k;
        } else if (k == F_META && ts > s->meta) {
            s->meta = ts;
        }
        off += e->d_reclen;
    }
}

static void clean_entries(int dfd, const char *dir, const char *buf, size_t n,
                          const struct dir_scan *s)
{
    for (size_t off = 0; off < n;) {
        const struct dirent64 *e = (const struct dirent64 *)(const void *)(buf + off);
        int64_t ts;
        enum file_kind k = parse_name(e->d_name, &ts);

        if (k != F_NONE && obsolete(s, k, ts) && unlinkat(dfd, e->d_name, 0) < 0)
            log_warn("msg=\"cannot remove old file\" dir=%s file=%s err=\"%s\"",
                     dir ? dir : "?", e->d_name, err_str(-errno));
        off += e->d_reclen;
    }
}

int scan_dirfd(int dfd, const char *dir, struct dir_scan *s, bool clean)
{
    _Alignas(struct dirent64) char buf[DENTS_BUF];
    ssize_t n;
    size_t chunks = 0, last = 0;

    *s = (struct dir_scan){F_NONE, -1, -1};
    /* Read to the end: only a 0 return proves there is nothing newer. */
    while ((n = getdents64(dfd, buf, sizeof(buf))) > 0) {
        scan_entries(buf, (size_t)n, s);
        chunks++;
        last = (size_t)n;
    }
    if (n < 0)
        return -errno;
    if (!clean)
        return 0;
    if (chunks == 1) {      /* the usual case: buf still holds the whole directory */
        clean_entries(dfd, dir, buf, last, s);
        return 0;
    }
    if (lseek(dfd, 0, SEEK_SET) < 0)
        return -errno;
    while ((n = getdents64(dfd, buf, sizeof(buf))) > 0)
        clean_entries(dfd, dir, buf, (size_t)n, s);
    return n < 0 ? -errno : 0;
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

char *data_json(const struct object_meta *m)
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

char *post_json(int64_t ts, const char *content_type, const struct kv_list *headers)
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

bool is_hex32(const char *s)
{
    uint8_t b[16];

    return s && strlen(s) == 32 && hex_decode(s, b, 16) == 0;
}

int data_meta_parse(const char *p, size_t n, uint64_t body_len, struct object_meta *m)
{
    return data_meta_decode(p, n, body_len, m) == 0 ? 0 : data_meta_parse_json(p, n, body_len, m);
}

int data_meta_parse_json(const char *p, size_t n, uint64_t body_len, struct object_meta *m)
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

int post_meta_apply(const char *p, size_t n, int64_t ts, struct object_meta *m)
{
    struct kv_list h = KV_LIST_INIT;
    json_t *o = json_loadb(p, n, 0, NULL);
    json_t *ct = json_object_get(o, "content_type");
    char *ctype = NULL;
    int rc = o ? headers_from_json(&h, json_object_get(o, "headers")) : ERR_CORRUPT;

    if (rc == 0 && ct && !(ctype = jstr_get(ct)))
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
    return rc;
}

/* ---- reading one .data's metadata ---- */

/* Check the JSON (at json, json_len bytes) against the trailer's CRC and
 * parse it. */
static int data_json_check(const char *json, uint32_t json_len, uint32_t json_crc,
                           uint64_t body_len, struct object_meta *m)
{
    if (crc32c_update(0, json, json_len) != json_crc)
        return ERR_CORRUPT;
    return data_meta_parse(json, json_len, body_len, m);
}

/* The trailer tr of a .data of size bytes: where its JSON ends (the body
 * length), the JSON's length and CRC. 0 or ERR_CORRUPT. */
static int trailer_parse(const uint8_t *tr, uint64_t size, uint64_t *body_len, uint32_t *json_len,
                         uint32_t *json_crc)
{
    *body_len = get_le(tr + 8, 8);
    *json_len = (uint32_t)get_le(tr + 16, 4);
    *json_crc = (uint32_t)get_le(tr + 20, 4);
    if (memcmp(tr, TRAILER_MAGIC, 8) != 0 || *json_len > JSON_MAX || *body_len > size ||
        *body_len + *json_len + TRAILER_LEN != size)
        return ERR_CORRUPT;
    return 0;
}

/* data_read_meta for a file of size bytes (> TRAILER_LEN): one pread of
 * the tail, and of the JSON too when it does not fit there. */
static int read_meta_tail(int fd, uint64_t size, struct object_meta *m)
{
    uint8_t tail[TAIL_READ];
    uint64_t body_len;
    uint32_t json_len, json_crc;
    size_t want = (size_t)MIN(size, (uint64_t)TAIL_READ);
    /* One read for trailer and JSON together: the JSON is usually small. */
    int rc = pread_full(fd, tail, want, size - want);

    if (rc < 0)
        return rc;
    const uint8_t *tr = tail + want - TRAILER_LEN;
    if (trailer_parse(tr, size, &body_len, &json_len, &json_crc) < 0)
        return ERR_CORRUPT;
    if ((size_t)json_len + TRAILER_LEN <= want)
        return data_json_check((const char *)tr - json_len, json_len, json_crc, body_len, m);

    char *json = xmalloc((size_t)json_len + 1);
    rc = pread_full(fd, json, json_len, body_len);
    if (rc == 0)
        rc = data_json_check(json, json_len, json_crc, body_len, m);
    free(json);
    return rc;
}

/* The size of the open .data fd: 0, ERR_CORRUPT (too short), -errno. */
static int data_size(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size < TRAILER_LEN)
        return ERR_CORRUPT;
    *size = (uint64_t)st.st_size;
    return 0;
}

int data_read_meta(int fd, struct object_meta *m)
{
    uint64_t size;
    int rc = data_size(fd, &size);

    return rc < 0 ? rc : read_meta_tail(fd, size, m);
}

int data_read_small(int fd, uint64_t max, struct object_meta *m, char **body)
{
    uint64_t size, body_len;
    uint32_t json_len, json_crc;
    int rc = data_size(fd, &size);

    *body = NULL;
    if (rc < 0)
        return rc;
    if (size > max)     /* the body may still be small: the caller reads it */
        return read_meta_tail(fd, size, m);

    char *file = xmalloc((size_t)size);
    rc = pread_full(fd, file, (size_t)size, 0);
    if (rc == 0)
        rc = trailer_parse((const uint8_t *)file + size - TRAILER_LEN, size, &body_len, &json_len,
                           &json_crc);
    if (rc == 0)
        rc = data_json_check(file + body_len, json_len, json_crc, body_len, m);
    if (rc == 0 && crc32c_update(0, file, body_len) != m->crc32c)
        rc = ERR_CORRUPT;
    if (rc < 0) {
        free(file);
        return rc;
    }
    file[body_len] = '\0';   /* the JSON's first byte, parsed already */
    *body = file;
    return 0;
}
