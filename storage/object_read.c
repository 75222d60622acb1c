/* storage/object_read.c: This file implements reading objects: the choice of
 * the newest version among the replicas of a name (newest .data or .ts wins,
 * then the newest .meta newer than it is applied), object_open/object_stat,
 * the check of a small body before a GET answers (a corrupt replica is
 * quarantined and another copy used), and the auditor's checks of one file.
 *
 * A GET is a handful of system calls per replica: open the hash directory,
 * getdents64 it into a stack buffer (no DIR, no stat), and only for the
 * chosen replica openat + fstat + one pread: of the tail, which holds the
 * trailer and, for the usual small metadata, the JSON too; or, for a GET of
 * a small object, of the whole file, body included. Files are opened
 * relative to the directory fd, so no path is walked twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "auditor.h"
#include "fresh.h"
#include "object_int.h"

/* openat without updating the access time: the first read of a new file
 * or directory would otherwise dirty its inode (relatime), a write per
 * object for nothing; reads, the auditor's too, never use atime.
 * O_NOATIME needs the file's owner, which the server is, but a tree
 * copied in by someone else is read anyway. */
static int open_noatime(int dfd, const char *path, int flags)
{
    int fd = openat(dfd, path, flags | O_NOATIME);

    if (fd < 0 && errno == EPERM)
        fd = openat(dfd, path, flags);
    return fd;
}

/* One replica's hash directory, open while the choice is made. */
struct replica {
    struct disk_group *dg;
    int dfd;
    struct dir_scan s;
};

/* Open and scan the hash directory of one dg. 0, or -errno (-ENOENT when
 * the replica holds nothing). */
static int replica_scan(struct replica *r, const struct item_dirs *dirs)
{
    char dir[ITEM_PATH_MAX];
    int rc = item_dir(dirs, r->dg, dir);

    if (rc < 0)
        return rc;
    r->dfd = open_noatime(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->dfd < 0)
        return -errno;
    rc = scan_dirfd(r->dfd, dir, &r->s, false);
    if (rc == 0 && r->s.kind == F_NONE && r->s.meta < 0)
        rc = -ENOENT;
    if (rc < 0) {
        close(r->dfd);
        r->dfd = -1;
    }
    return rc;
}

/* Scan the hash directory on the usable dgs of pl, in placement order,
 * until `want` of them turned out to hold files for the name; keep those,
 * newest .data/.ts first (primaries first among equals). A current primary
 * (fresh.h) asked first is enough on its own.
 *
 * Two replicas that hold files are enough to see the newest version: a
 * write succeeds on QUORUM of REPLICAS, and two quorums of three always
 * share a replica. A replica holding nothing (a wiped or replaced disk, a
 * name never written, a partition the ring just moved there) or only a
 * .meta does not count, so the others are asked, down to the handoffs and
 * the previous ring's holders; a read that
 * finds no readable copy asks every replica (want = PLACEMENT_MAX). */
static size_t gather(const struct placement *pl, struct replica *out, size_t want)
{
    struct item_dirs dirs;
    size_t n = 0, answered = 0;

    item_dirs_init(&dirs, pl);
    for (size_t i = 0; i < pl->n_dg && i < PLACEMENT_MAX && answered < want; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        struct replica r = {pl->dg[i], -1, {F_NONE, -1, -1}};
        int rc = replica_scan(&r, &dirs);
        /* a lone .meta does not show the newest version */
        bool holds = rc == 0 && r.s.kind != F_NONE;
        /* A current primary holds every acknowledged write of its
         * partitions (fresh.h): the version it holds is the newest. That
         * it holds nothing is not trusted alone: an audit run by another
         * process may have just quarantined its copy. */
        if (want == QUORUM && i < pl->n_primary && answered == 0 && holds &&
            fresh_is_current(r.dg))
            want = 1;
        if (holds)
            answered++;
        if (rc < 0) {
            if (rc != -ENOENT && rc != -ENOTDIR)
                dg_note_result(r.dg, rc);
            continue;
        }
        size_t j = n++;
        for (; j > 0 && out[j - 1].s.newest < r.s.newest; j--)
            out[j] = out[j - 1];
        out[j] = r;
    }
    item_dirs_release(&dirs);
    return n;
}

static void replicas_close(struct replica *reps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(reps[i].dfd);
}

static void log_unreadable(const struct replica *r, const char *fname, int rc)
{
    log_warn("msg=\"unreadable replica\" dg=%s file=%s err=\"%s\"", dg_path(r->dg), fname,
             err_str(rc));
}

/* Open <ts>.data in the replica's directory and read its metadata; with
 * verify_max, a small file whole, its body checked into *body (else NULL).
 * The fd, or ERR_CORRUPT/-errno. */
static int data_open(const struct replica *r, struct object_meta *m, uint64_t verify_max,
                     char **body)
{
    char fname[FILE_NAME_MAX];
    int fd, rc;

    *body = NULL;
    file_name(r->s.newest, ".data", fname);
    fd = open_noatime(r->dfd, fname, O_RDONLY | O_CLOEXEC);
    rc = fd < 0 ? -errno
         : verify_max ? data_read_small(fd, verify_max, m, body)
                      : data_read_meta(fd, m);
    if (rc == 0 && m->timestamp != r->s.newest)
        rc = ERR_CORRUPT;
    if (rc < 0) {
        log_unreadable(r, fname, rc);
        free(*body);
        *body = NULL;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

/* Read the .meta <dfd>/fname (of timestamp ts) and apply it to m.
 * 0, ERR_CORRUPT, -errno. */
static int meta_read(int dfd, const char *fname, int64_t ts, struct object_meta *m)
{
    char small[TAIL_READ], *buf = small;
    struct stat st;
    int rc;

    int fd = openat(dfd, fname, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = fstat(fd, &st) < 0 ? -errno : st.st_size > JSON_MAX ? ERR_CORRUPT : 0;
    if (rc == 0 && (size_t)st.st_size > sizeof(small))
        buf = xmalloc((size_t)st.st_size);
    if (rc == 0)
        rc = pread_full(fd, buf, (size_t)st.st_size, 0);
    close(fd);
    if (rc == 0)
        rc = post_meta_apply(buf, (size_t)st.st_size, ts, m);
    if (buf != small)
        free(buf);
    return rc;
}

/* Apply the replica's <ts>.meta to m. 0, ERR_CORRUPT, -errno. */
static int meta_apply(const struct replica *r, int64_t ts, struct object_meta *m)
{
    char fname[FILE_NAME_MAX];
    int rc;

    file_name(ts, ".meta", fname);
    rc = meta_read(r->dfd, fname, ts, m);
    if (rc < 0)
        log_unreadable(r, fname, rc);
    return rc;
}

/* Apply the newest readable .meta newer than the chosen .data. */
static void apply_newest_meta(const struct replica *reps, size_t n, struct object_meta *m)
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
            if (reps[i].s.meta == best && meta_apply(&reps[i], best, m) == 0)
                return;
        tried = best;
    }
}

static void reader_init(struct object_reader *r)
{
    r->fd = -1;
    r->body_offset = 0;
    r->dg = NULL;
    r->body = NULL;
    object_meta_init(&r->meta);
}

/* Read the whole body of the open .data fd into a heap buffer and check its
 * CRC32C against m. 0, ERR_CORRUPT, -errno; *out is set only on 0. */
static int body_read_verified(int fd, const struct object_meta *m, char **out)
{
    char *body = xmalloc(m->size + 1);
    int rc = pread_full(fd, body, m->size, 0);

    body[m->size] = '\0';

    if (rc == 0 && crc32c_update(0, body, m->size) != m->crc32c)
        rc = ERR_CORRUPT;
    if (rc < 0) {
        free(body);
        return rc;
    }
    *out = body;
    return 0;
}

/* The replica's newest .data failed a checksum (metadata, or the body when
 * it was read): move it aside so no reader meets it again, and leave the
 * restore to the replicator. */
static void quarantine_bad(const struct replica *rep, const struct placement *pl)
{
    char fname[FILE_NAME_MAX];
    int rc;

    file_name(rep->s.newest, ".data", fname);
    rc = quarantine_file(rep->dg, ITEM_OBJECT, pl->hash_hex, rep->dfd, fname);
    log_warn("msg=\"corrupt replica quarantined by a read\" dg=%s hash=%s file=%s err=\"%s\"",
             dg_path(rep->dg), pl->hash_hex, fname, rc ? err_str(rc) : "checksum mismatch");
}

/* How open_newest chooses. */
struct open_how {
    const struct placement *pl;
    uint64_t verify_max;     /* check bodies up to this size (0: none) */
    bool same_version;       /* only copies of the newest version will do */
};

/* Open the first readable .data, newest first. */
static int open_newest(struct object_reader *r, const struct replica *reps, size_t n,
                       const struct open_how *how)
{
    if (n == 0 || reps[0].s.kind == F_NONE)
        return -ENOENT;
    if (reps[0].s.kind == F_TS) {
        r->meta.timestamp = r->meta.meta_timestamp = reps[0].s.newest;
        return ERR_DELETED;
    }
    for (size_t i = 0; i < n && reps[i].s.kind == F_DATA; i++) {
        if (how->same_version && reps[i].s.newest != reps[0].s.newest)
            break;
        int fd = data_open(&reps[i], &r->meta, how->verify_max, &r->body);
        /* a small body the file's metadata made too big to read whole */
        if (fd >= 0 && how->verify_max && !r->body && r->meta.size <= how->verify_max) {
            int rc = body_read_verified(fd, &r->meta, &r->body);
            if (rc < 0) {
                close(fd);
                fd = rc;
            }
        }
        if (fd == ERR_CORRUPT)
            quarantine_bad(&reps[i], how->pl);
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

int object_open_verified(struct object_reader *r, const struct placement *pl,
                         uint64_t verify_max)
{
    struct replica reps[PLACEMENT_MAX];
    struct open_how how = {pl, verify_max, true};
    size_t n;
    int rc;

    reader_init(r);
    n = gather(pl, reps, QUORUM);
    rc = open_newest(r, reps, n, &how);
    replicas_close(reps, n);
    if (rc == -EIO) {
        /* Every copy of the newest version the quorum showed was bad: ask
         * every replica, and settle for an older version only if no disk
         * group has a good copy of the newest. */
        reader_init(r);
        n = gather(pl, reps, PLACEMENT_MAX);
        rc = open_newest(r, reps, n, &how);
        how.same_version = false;
        if (rc == -EIO)
            rc = open_newest(r, reps, n, &how);
        replicas_close(reps, n);
    }
    return rc;
}

int object_open(struct object_reader *r, const struct placement *pl)
{
    return object_open_verified(r, pl, 0);
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
    free(r->body);
    r->body = NULL;
    object_meta_release(&r->meta);
}

/* ---- the auditor's checks ---- */

#define AUDIT_CHUNK ((size_t)1 << 16)

static int no_pace(void *ctx, size_t n)
{
    (void)ctx;
    (void)n;
    return 0;
}

/* Re-read a whole body, pacing each chunk, and compare its CRC32C and MD5
 * with m. */
static int data_check_body(int fd, const struct object_meta *m, int (*pace)(void *, size_t),
                           void *ctx)
{
    char *chunk = xmalloc(AUDIT_CHUNK);
    struct md5 *md5 = md5_new();
    uint32_t crc = 0;
    uint8_t d[16];
    char etag[33];
    int rc = 0;

    for (uint64_t off = 0; off < m->size && rc == 0;) {
        size_t n = (size_t)MIN((uint64_t)AUDIT_CHUNK, m->size - off);
        rc = pace(ctx, n);
        if (rc == 0)
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
        rc = data_check_body(fd, m, no_pace, NULL);
    close(fd);
    return rc;
}

int object_audit_data(int dfd, const char *fname, struct object_meta *m,
                      int (*pace)(void *ctx, size_t n), void *ctx)
{
    int64_t ts;
    int rc, fd = open_noatime(dfd, fname, O_RDONLY | O_CLOEXEC);

    object_meta_init(m);
    if (fd < 0)
        return -errno;
    rc = parse_name(fname, &ts) == F_DATA ? data_read_meta(fd, m) : -EINVAL;
    if (rc == 0 && m->timestamp != ts)
        rc = ERR_CORRUPT;
    if (rc == 0)
        rc = data_check_body(fd, m, pace ? pace : no_pace, ctx);
    /* The auditor reads everything once: keep the page cache for the
     * objects clients read. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    return rc;
}

int object_audit_meta(int dfd, const char *fname)
{
    struct object_meta m;
    int64_t ts;
    int rc;

    if (parse_name(fname, &ts) != F_META)
        return -EINVAL;
    object_meta_init(&m);
    rc = meta_read(dfd, fname, ts, &m);
    object_meta_release(&m);
    return rc;
}

enum object_file parse_object_file_name(const char *name, int64_t *ts)
{
    switch (parse_name(name, ts)) {
    case F_DATA: return OBJECT_FILE_DATA;
    case F_TS: return OBJECT_FILE_TS;
    case F_META: return OBJECT_FILE_META;
    default: return OBJECT_FILE_OTHER;
    }
}
