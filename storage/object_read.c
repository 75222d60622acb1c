/* storage/object_read.c: This file implements reading objects: the choice of
 * the newest version among the replicas of a name (newest .data or .ts wins,
 * then the newest .meta newer than it is applied), object_open/object_stat,
 * and the auditor's check of one .data file.
 *
 * A GET is a handful of system calls per replica: open the hash directory,
 * getdents64 it into a stack buffer (no DIR, no stat), and only for the
 * chosen replica openat + fstat + one pread of the tail, which holds the
 * trailer and, for the usual small metadata, the JSON too. Files are opened
 * relative to the directory fd, so no path is walked twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "fresh.h"
#include "object_int.h"

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
    r->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
         * partitions (fresh.h): what it holds, or that it holds nothing,
         * is the answer. */
        if (want == QUORUM && i < pl->n_primary && answered == 0 && (holds || rc == -ENOENT) &&
            fresh_is_current(r.dg))
            want = 1;
        if (holds)
            answered++;
        else if (rc == -ENOENT && want == 1 && answered == 0)
            break;
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

/* Open <ts>.data in the replica's directory and read its metadata.
 * The fd, or ERR_CORRUPT/-errno. */
static int data_open(const struct replica *r, struct object_meta *m)
{
    char fname[FILE_NAME_MAX];
    int fd, rc;

    file_name(r->s.newest, ".data", fname);
    fd = openat(r->dfd, fname, O_RDONLY | O_CLOEXEC);
    rc = fd < 0 ? -errno : data_read_meta(fd, m);
    if (rc == 0 && m->timestamp != r->s.newest)
        rc = ERR_CORRUPT;
    if (rc < 0) {
        log_unreadable(r, fname, rc);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

/* Apply the replica's <ts>.meta to m. 0, ERR_CORRUPT, -errno. */
static int meta_apply(const struct replica *r, int64_t ts, struct object_meta *m)
{
    char fname[FILE_NAME_MAX], small[TAIL_READ], *buf = small;
    struct stat st;
    int rc;

    file_name(ts, ".meta", fname);
    int fd = openat(r->dfd, fname, O_RDONLY | O_CLOEXEC);
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
    if (rc < 0)
        log_unreadable(r, fname, rc);
    if (buf != small)
        free(buf);
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
    object_meta_init(&r->meta);
}

/* Open the first readable .data, newest first. */
static int open_newest(struct object_reader *r, const struct replica *reps, size_t n)
{
    if (n == 0 || reps[0].s.kind == F_NONE)
        return -ENOENT;
    if (reps[0].s.kind == F_TS) {
        r->meta.timestamp = r->meta.meta_timestamp = reps[0].s.newest;
        return ERR_DELETED;
    }
    for (size_t i = 0; i < n && reps[i].s.kind == F_DATA; i++) {
        int fd = data_open(&reps[i], &r->meta);
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
    n = gather(pl, reps, QUORUM);
    rc = open_newest(r, reps, n);
    replicas_close(reps, n);
    if (rc == -EIO) {
        /* Every copy the quorum showed was unreadable: try them all. */
        reader_init(r);
        n = gather(pl, reps, PLACEMENT_MAX);
        rc = open_newest(r, reps, n);
        replicas_close(reps, n);
    }
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

/* ---- the auditor's check ---- */

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
