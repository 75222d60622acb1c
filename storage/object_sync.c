/* storage/object_sync.c: This file implements object_sync.h: suffix hashes
 * of object directories and the merge of one hash directory's replicas, for
 * the replicator.
 *
 * The merge follows the rules the reader applies (object_int.h): in a hash
 * directory the newest .data or .ts wins (a .ts wins a tie) and a .meta only
 * counts when newer than a winning .data. A target receives exactly the
 * files that count, through the same atomic steps as a write (temp file in
 * <dg>/tmp, fdatasync, rename, directory fsync); scan_dirfd's cleanup then
 * removes what they supersede. A .data is verified while it is copied (its
 * trailer and metadata checksum before, the body's CRC32C during), and a
 * .meta must parse: a replica that fails is skipped, never copied, and left
 * for the auditor to quarantine. */
#include "object_sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "io.h"
#include "object_int.h"

#define COPY_BUF (256u << 10)

/* ---- directories ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int objsync_list(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = xrealloc(*out, cap * sizeof(char *));
        }
        (*out)[(*n)++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof(char *), cmp_str);
    return 0;
}

void objsync_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int objsync_mkdirs(const char *path)
{
    char *parent, *slash;
    int rc;

    if (mkdir(path, 0755) == 0)
        goto out_sync_parent;
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    parent = xstrdup(path);
    slash = strrchr(parent, '/');
    rc = slash && slash != parent ? (*slash = '\0', objsync_mkdirs(parent)) : -ENOENT;
    free(parent);
    if (rc < 0)
        return rc;
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
out_sync_parent:
    parent = xstrdup(path);
    slash = strrchr(parent, '/');
    rc = 0;
    if (slash && slash != parent) {
        *slash = '\0';
        rc = fsync_dir(parent);
    }
    free(parent);
    return rc;
}

void objsync_prune(const char *dir, const char *stop)
{
    char *p = xstrdup(dir);
    size_t stop_len = strlen(stop);

    while (strlen(p) > stop_len && strncmp(p, stop, stop_len) == 0 && rmdir(p) == 0) {
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
    free(p);
}

/* ---- suffix hashes ---- */

/* Scan the hash directory dir; a missing one scans as empty. 0 or -errno. */
static int scan_path(const char *dir, struct dir_scan *s)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    *s = (struct dir_scan){F_NONE, -1, -1};
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    rc = scan_dirfd(fd, dir, s, false);
    close(fd);
    return rc;
}

/* The files that count in a scanned directory, as a newline-ended list. */
static void counted_names(const struct dir_scan *s, char *out, size_t len)
{
    char a[FILE_NAME_MAX], b[FILE_NAME_MAX] = "";

    out[0] = '\0';
    if (s->kind == F_NONE)
        return;
    file_name(s->newest, s->kind == F_TS ? ".ts" : ".data", a);
    if (s->kind == F_DATA && s->meta > s->newest)
        file_name(s->meta, ".meta", b);
    snprintf(out, len, "%s\n%s%s", a, b, *b ? "\n" : "");
}

int objsync_suffix_hash(const char *dir, int64_t reclaim_before, uint8_t out[16], bool *reapable)
{
    struct md5 *m = md5_new();
    char **names, path[ITEM_PATH_MAX], counted[2 * FILE_NAME_MAX + 2];
    size_t n;
    int rc = objsync_list(dir, &names, &n);

    *reapable = false;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct dir_scan s;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)) {
            rc = -ENAMETOOLONG;
            break;
        }
        if ((rc = scan_path(path, &s)) < 0)
            break;
        if (s.kind == F_NONE)
            continue;   /* an empty directory holds nothing to compare */
        counted_names(&s, counted, sizeof(counted));
        md5_update(m, names[i], strlen(names[i]));
        md5_update(m, "\n", 1);
        md5_update(m, counted, strlen(counted));
        *reapable |= s.kind == F_TS && s.newest < reclaim_before;
    }
    md5_final(m, out);
    md5_free(m);
    objsync_names_free(names, n);
    return rc;
}

/* ---- copying one file ---- */

/* A temp file name on dg for the file fname of hash directory hash. */
static char *sync_tmp_path(const struct disk_group *dg, const char *hash, const char *fname)
{
    uint8_t r[8];
    char rnd[17];

    if (random_bytes(r, sizeof(r)) < 0)
        memset(r, 0, sizeof(r));
    hex_encode(r, sizeof(r), rnd);
    return xasprintf("%s/tmp/%s.%s.%s.tmp", dg_path(dg), hash, fname, rnd);
}

static int open_tmp_file(const struct disk_group *dg, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    if (fd < 0 && errno == ENOENT) {    /* a wiped disk group: tmp/ is gone too */
        char *tmp = xasprintf("%s/tmp", dg_path(dg));
        int rc = objsync_mkdirs(tmp);
        free(tmp);
        if (rc < 0)
            return rc;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    return fd < 0 ? -errno : fd;
}

static int write_full(int fd, const void *p, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, (const char *)p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/* What a source file must prove before a byte of it is pushed. */
struct verify {
    enum file_kind kind;
    int64_t ts;
    uint64_t body_len;   /* F_DATA: bytes covered by crc */
    uint32_t crc;        /* F_DATA: the body CRC32C the metadata promises */
};

/* Check what can be checked before copying: a .data's trailer and metadata
 * checksum (and that it is the version its name says), a .meta's JSON.
 * Returns 0, ERR_CORRUPT or -errno (reading src failed). */
static int verify_start(int fd, struct verify *v)
{
    struct object_meta m;
    struct stat st;
    int rc;

    object_meta_init(&m);
    if (v->kind == F_DATA) {
        rc = data_read_meta(fd, &m);
        if (rc == 0 && m.timestamp != v->ts)
            rc = ERR_CORRUPT;
        v->body_len = m.size;
        v->crc = m.crc32c;
    } else if (v->kind == F_META) {
        rc = fstat(fd, &st) < 0 ? -errno : st.st_size > JSON_MAX ? ERR_CORRUPT : 0;
        char *json = rc == 0 ? xmalloc((size_t)st.st_size + 1) : NULL;
        if (rc == 0)
            rc = pread_full(fd, json, (size_t)st.st_size, 0);
        if (rc == 0)
            rc = post_meta_apply(json, (size_t)st.st_size, v->ts, &m);
        free(json);
    } else {
        rc = 0;     /* a tombstone is empty: nothing to verify */
    }
    object_meta_release(&m);
    return rc;
}

/* Copy src to the open fd, checking a .data body's CRC32C on the way.
 * Returns the bytes copied, ERR_CORRUPT, or -errno with *src_failed telling
 * whether reading (rather than writing) failed. */
static int64_t copy_verified(int src, int dst, const struct verify *v, bool *src_failed)
{
    char *buf = xmalloc(COPY_BUF);
    uint64_t off = 0;
    uint32_t crc = 0;
    int64_t rc = 0;

    *src_failed = false;
    for (;;) {
        ssize_t r = pread(src, buf, COPY_BUF, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *src_failed = r < 0;
            rc = r < 0 ? -errno : 0;
            break;
        }
        if (v->kind == F_DATA && off < v->body_len)
            crc = crc32c_update(crc, buf, (size_t)MIN((uint64_t)r, v->body_len - off));
        if ((rc = write_full(dst, buf, (size_t)r)) < 0)
            break;
        off += (uint64_t)r;
    }
    free(buf);
    if (rc == 0 && v->kind == F_DATA && crc != v->crc)
        rc = ERR_CORRUPT;   /* the body rotted after it was written */
    return rc < 0 ? rc : (int64_t)off;
}

/* Rename the synced temp file into dir as fname and sync dir. */
static int install_tmp(const char *tmp, const char *dir, const char *fname)
{
    char *dst = xasprintf("%s/%s", dir, fname);
    int rc = objsync_mkdirs(dir);

    if (rc == 0 && rename(tmp, dst) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(dir);
    free(dst);
    return rc;
}

/* One copy of the file fname (kind, ts) from the hash directory src_dir to
 * dst_dir on dst_dg. Returns bytes copied, ERR_CORRUPT (src failed to
 * verify), or -errno; *src_failed tells whose I/O failed. */
static int64_t copy_one(const char *src_dir, struct disk_group *dst_dg, const char *dst_dir,
                        const char *hash, const char *fname, const struct verify *vin,
                        bool *src_failed)
{
    struct verify v = *vin;
    char *src_path = xasprintf("%s/%s", src_dir, fname), *tmp = NULL;
    int src = open(src_path, O_RDONLY | O_CLOEXEC), dst = -1;
    int64_t rc = src < 0 ? -errno : verify_start(src, &v);

    *src_failed = rc < 0;
    if (rc < 0)
        goto out;
    tmp = sync_tmp_path(dst_dg, hash, fname);
    if ((dst = open_tmp_file(dst_dg, tmp)) < 0) {
        rc = dst;
        goto out;
    }
    rc = copy_verified(src, dst, &v, src_failed);
    if (rc >= 0) {
        int s = fsync_fd(dst);
        if (s == 0)
            s = install_tmp(tmp, dst_dir, fname);
        rc = s < 0 ? s : rc;
    }
out:
    if (dst >= 0) {
        close(dst);
        if (rc < 0)
            unlink(tmp);
    }
    if (src >= 0)
        close(src);
    free(tmp);
    free(src_path);
    return rc;
}

/* ---- one hash directory ---- */

struct replica {
    struct disk_group *dg;
    char dir[ITEM_PATH_MAX];
    struct dir_scan s;
    int rc;             /* 0, or why this replica could not be scanned */
};

/* The version that wins across the replicas that could be scanned. */
struct winner {
    enum file_kind kind;
    int64_t ts;
    int64_t meta;       /* newest .meta newer than a winning .data; -1 when none */
};

static struct winner pick_winner(const struct replica *r, size_t n)
{
    struct winner w = {F_NONE, -1, -1};

    for (size_t i = 0; i < n; i++) {
        const struct dir_scan *s = &r[i].s;
        if (r[i].rc == 0 && s->kind != F_NONE &&
            (s->newest > w.ts || (s->newest == w.ts && s->kind == F_TS))) {
            w.kind = s->kind;
            w.ts = s->newest;
        }
    }
    for (size_t i = 0; w.kind == F_DATA && i < n; i++)
        if (r[i].rc == 0 && r[i].s.meta > w.ts && r[i].s.meta > w.meta)
            w.meta = r[i].s.meta;
    return w;
}

static void note_io(struct disk_group *dg, int rc, struct objsync_stats *st)
{
    if (rc == ERR_CORRUPT) {
        st->corrupt++;
        return;
    }
    st->errors++;
    dg_note_result(dg, rc);
}

/* Give target t the file (kind, ts) from a replica that has it and whose
 * copy verifies. 0 or the last error. */
static int push_file(struct replica *r, size_t n, size_t t, enum file_kind kind, int64_t ts,
                     const char *hash, const struct objsync_opts *o, struct objsync_stats *st)
{
    char fname[FILE_NAME_MAX];
    struct verify v = {.kind = kind, .ts = ts};
    int rc = -ENOENT;

    file_name(ts, kind == F_DATA ? ".data" : kind == F_TS ? ".ts" : ".meta", fname);
    for (size_t i = 0; i < n; i++) {
        const struct dir_scan *s = &r[i].s;
        bool has = kind == F_META ? s->meta == ts : s->kind == kind && s->newest == ts;
        bool src_failed;
        if (i == t || r[i].rc < 0 || !has)
            continue;
        int64_t got = copy_one(r[i].dir, r[t].dg, r[t].dir, hash, fname, &v, &src_failed);
        if (got >= 0) {
            st->files_copied++;
            st->bytes_copied += (uint64_t)got;
            if (o->throttle)
                o->throttle(o->throttle_ctx, (uint64_t)got);
            return 0;
        }
        rc = (int)got;
        log_warn("msg=\"cannot copy replica\" from=%s to=%s file=%s err=\"%s\"", r[i].dir,
                 r[t].dir, fname, err_str(rc));
        note_io(src_failed || rc == ERR_CORRUPT ? r[i].dg : r[t].dg, rc, st);
        if (!src_failed && rc != ERR_CORRUPT)
            return rc;  /* the target failed: another source will not help */
    }
    return rc;
}

/* Make target t hold the winner, then drop what it supersedes there. */
static int sync_target(struct replica *r, size_t n, size_t t, const struct winner *w,
                       const char *hash, const struct objsync_opts *o, struct objsync_stats *st)
{
    const struct dir_scan *s = &r[t].s;
    int rc = 0;

    if (r[t].rc < 0)
        return r[t].rc;
    if (s->kind != w->kind || s->newest != w->ts)
        rc = push_file(r, n, t, w->kind, w->ts, hash, o, st);
    if (rc == 0 && w->meta >= 0 && s->meta != w->meta)
        rc = push_file(r, n, t, F_META, w->meta, hash, o, st);
    if (rc == 0) {
        struct dir_scan after;
        int fd = open(r[t].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            if (scan_dirfd(fd, r[t].dir, &after, true) < 0)    /* leftovers cost only space */
                log_warn("msg=\"cannot clean directory\" dir=%s", r[t].dir);
            close(fd);
        }
    }
    return rc;
}

/* Unlink the files of dir no newer than upto (what was seen when the
 * directory was scanned; anything newer arrived since and stays), then
 * remove the directory when that emptied it. Returns files removed. */
static unsigned remove_upto(const char *dir, int64_t upto)
{
    char **names;
    size_t n;
    unsigned removed = 0;

    if (objsync_list(dir, &names, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ts;
        char *p;
        if (parse_name(names[i], &ts) == F_NONE || ts > upto)
            continue;
        p = xasprintf("%s/%s", dir, names[i]);
        if (unlink(p) == 0)
            removed++;
        else if (errno != ENOENT)
            log_warn("msg=\"cannot remove file\" path=%s err=\"%s\"", p, err_str(-errno));
        free(p);
    }
    objsync_names_free(names, n);
    (void)rmdir(dir);
    return removed;
}

static int scan_all(struct replica *r, struct disk_group *const *dg, size_t n, const char *rel)
{
    for (size_t i = 0; i < n; i++) {
        r[i].dg = dg[i];
        r[i].s = (struct dir_scan){F_NONE, -1, -1};
        if ((size_t)snprintf(r[i].dir, sizeof(r[i].dir), "%s/%s", dg_path(dg[i]), rel) >=
            sizeof(r[i].dir))
            return -ENAMETOOLONG;
        r[i].rc = scan_path(r[i].dir, &r[i].s);
        if (r[i].rc < 0)
            dg_note_result(dg[i], r[i].rc);
    }
    return 0;
}

int objsync_hashdir(struct disk_group *const *dg, size_t n, size_t n_targets, const char *rel,
                    const struct objsync_opts *o, struct objsync_stats *st)
{
    struct replica r[PLACEMENT_MAX];
    const char *hash = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    int rc = 0;

    if (n > PLACEMENT_MAX || n_targets > n)
        return -EINVAL;
    if ((rc = scan_all(r, dg, n, rel)) < 0)
        return rc;
    struct winner w = pick_winner(r, n);
    if (w.kind == F_NONE)
        return 0;
    if (o->reap && w.kind == F_TS && w.ts < o->reclaim_before) {
        for (size_t i = 0; i < n; i++)
            if (r[i].rc == 0)
                (void)remove_upto(r[i].dir, w.ts);
        st->reaped++;
        return 0;
    }
    for (size_t t = 0; t < n_targets; t++) {
        int trc = sync_target(r, n, t, &w, hash, o, st);
        rc = rc ? rc : trc;
    }
    if (rc < 0 || !o->drain)
        return rc;
    for (size_t i = n_targets; i < n; i++)
        if (r[i].rc == 0 && r[i].s.kind != F_NONE) {
            (void)remove_upto(r[i].dir, MAX(w.ts, w.meta));
            st->handoffs_moved++;
        }
    return 0;
}
