/* storage/object_write.c: This file implements writing objects: the
 * streaming replica writer, tombstones (object_delete), .meta updates
 * (object_post) and the commit they share.
 *
 * A replica's body is written to an unnamed file (O_TMPFILE) made in the
 * object's own hash directory, which is created when the write opens. Its
 * name appears only when the commit links it into place. Two writes never
 * share a directory lock this way, nothing crosses directories (a rename
 * between directories takes a filesystem-wide lock), and a crash leaves no
 * temp file behind: the kernel frees an unnamed file. Filesystems without
 * O_TMPFILE get a named temp file in <dg>/tmp, renamed into place.
 *
 * A commit costs two parallel sync rounds whatever the number of replicas:
 *   1. fdatasync of every replica's new file together (fanout_sync);
 *   2. once every replica's file is linked (or renamed) into its hash
 *      directory, fsync of what changed together (fsync_many): the hash
 *      directories, the parent of each directory created on the way, and a
 *      linked file itself (its link count is inode metadata).
 * The order keeps the guarantees: a file gets its name only after its data
 * is durable, so a crash at any point shows a whole file or none; a replica
 * counts as durable only once round 2 has synced its entry and every
 * directory above it that was new; the superseded files are removed only
 * after that. A tombstone is empty, so it has no round 1: the new file and
 * the directories are synced in the same round.
 *
 * Where this process owns a journal on every replica's disk group
 * (journal.h), a file of at most JOURNAL_CONTENT_MAX bytes takes neither
 * round: its whole content is appended as one record per replica to that
 * disk group's journal (one per filesystem), synced in a group commit with
 * other writes, and only then is the file
 * named. The name and the directories reach the disk at the journal's next
 * checkpoint, and until then the journal can rewrite the file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "fresh.h"
#include "io.h"
#include "journal.h"
#include "object_int.h"

/* Directories a commit may create above a file: hash, suffix, partition and
 * the "objects" top (which dg_open made); a deeper chain is synced at once. */
#define NEW_DIRS_MAX 4
#define INSTALL_FDS (2 + NEW_DIRS_MAX)

/* One file being made durable in one replica's hash directory. */
struct install {
    struct disk_group *dg;
    const char *tmp;        /* synced temp file to rename, or NULL */
    int body_fd;            /* synced O_TMPFILE to link, or -1 */
    int rc;                 /* 0 while this replica is still on its way */
    int dfd;                /* the hash directory */
    int file_fd;            /* the new file once named (linked or created), else -1 */
    /* The directories created: each one's parent is dir cut at
     * parent_len[j], opened and synced in round 2 only (a journaled file
     * needs neither: the journal can make them again). */
    size_t parent_len[NEW_DIRS_MAX];
    size_t n_parent;
    char dir[ITEM_PATH_MAX];
};

struct object_writer {
    struct placement pl;
    char *name;
    int64_t ts;
    size_t n;                       /* replicas opened */
    struct install in[REPLICAS];    /* each replica's hash directory */
    int fd[REPLICAS];               /* its body: O_TMPFILE, or the temp file tmp[i] */
    char *tmp[REPLICAS];            /* NULL for an O_TMPFILE */
    bool noted[REPLICAS];           /* failure already reported to the dg */
    struct fanout *fo;
    struct md5 *md5;
    uint32_t crc;
    uint64_t size;
};

/* ---- temp files ---- */

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
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

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

/* ---- directories ---- */

/* Remember that the directory path (a prefix of in->dir) was just created
 * (by us, or by a racing writer after we saw it missing: that one may not
 * have synced yet), so its entry in the parent must be synced in round 2.
 * 0 or -errno. */
static int note_new_dir(struct install *in, char *path)
{
    char *slash = strrchr(path, '/');
    int rc = 0;

    if (!slash || slash == path)
        return 0;
    if (in->n_parent == NEW_DIRS_MAX) {
        *slash = '\0';
        rc = fsync_dir(path);       /* deeper than any layout makes: sync now */
        *slash = '/';
    } else {
        in->parent_len[in->n_parent++] = (size_t)(slash - path);
    }
    return rc;
}

/* mkdir -p that records each directory it creates (note_new_dir). path is
 * modified temporarily. 0 or -errno. */
static int mkdir_noted(struct install *in, char *path)
{
    if (mkdir(path, 0755) == 0)
        return note_new_dir(in, path);
    if (errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;

    char *slash = strrchr(path, '/');
    /* Never make <dg>/objects: dg_open did, so without it the disk is not
     * mounted and this would write to the empty mount point. */
    if (!slash || (size_t)(slash - path) <= strlen(dg_path(in->dg)) + strlen("/objects"))
        return -ENOENT;
    *slash = '\0';
    int rc = mkdir_noted(in, path);
    *slash = '/';
    if (rc < 0)
        return rc;
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return note_new_dir(in, path);
}

/* ---- the commit: prepare each replica, sync all, finish each ---- */

static void install_init(struct install *in, struct disk_group *dg)
{
    in->dg = dg;
    in->tmp = NULL;
    in->body_fd = -1;
    in->rc = 0;
    in->dfd = -1;
    in->file_fd = -1;
    in->n_parent = 0;
    in->dir[0] = '\0';
}

/* Make the hash directory (noting what was created) and open it.
 * Sets and returns in->rc. */
static int install_open_dir(struct install *in, const struct item_dirs *dirs)
{
    int rc = item_dir(dirs, in->dg, in->dir);

    if (rc == 0)
        rc = mkdir_noted(in, in->dir);
    if (rc == 0 && (in->dfd = open(in->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = -errno;
    in->rc = rc;
    return rc;
}

/* Give the unnamed file fd the name fname in directory dfd. linkat with
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc path works for anyone.
 * 0 or -errno (-EEXIST when fname is taken). */
static int link_tmpfile(int fd, int dfd, const char *fname)
{
    char proc[40];

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, dfd, fname, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* Put fname in the open hash directory: link the unnamed body, rename the
 * temp file, or create the empty file. Nothing is synced yet. Sets and
 * returns in->rc. */
static int install_place(struct install *in, const char *fname)
{
    int rc = in->rc;

    if (rc == 0 && in->body_fd >= 0) {
        rc = link_tmpfile(in->body_fd, in->dfd, fname);
        if (rc == -EEXIST)     /* same timestamp again: the newer write wins */
            rc = unlinkat(in->dfd, fname, 0) < 0 ? -errno
                                                 : link_tmpfile(in->body_fd, in->dfd, fname);
        if (rc == 0) {
            in->file_fd = in->body_fd;
            in->body_fd = -1;
        }
    } else if (rc == 0 && in->tmp) {
        if (renameat(AT_FDCWD, in->tmp, in->dfd, fname) < 0)
            rc = -errno;
    } else if (rc == 0 &&
               (in->file_fd = openat(in->dfd, fname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                     0644)) < 0) {
        rc = -errno;
    }
    in->rc = rc;
    return rc;
}

/* Round 2: fsync every fd of every replica still on its way, in parallel;
 * a replica fails with the first error among its own fds. */
static void install_sync(struct install *ins, size_t n)
{
    int fds[REPLICAS * INSTALL_FDS] = {0}, res[REPLICAS * INSTALL_FDS];
    size_t owner[REPLICAS * INSTALL_FDS], k = 0, k_parents;
    char parent[ITEM_PATH_MAX];

    for (size_t i = 0; i < n && i < REPLICAS; i++) {
        struct install *in = &ins[i];
        for (size_t j = 0; j < in->n_parent && in->rc == 0; j++) {
            memcpy(parent, in->dir, in->parent_len[j]);
            parent[in->parent_len[j]] = '\0';
            fds[k] = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fds[k] < 0)
                in->rc = -errno;
            else
                owner[k++] = i;
        }
    }
    k_parents = k;
    for (size_t i = 0; i < n && i < REPLICAS; i++) {
        struct install *in = &ins[i];
        if (in->rc < 0)
            continue;
        if (in->file_fd >= 0)
            fds[k] = in->file_fd, owner[k++] = i;
        fds[k] = in->dfd, owner[k++] = i;
    }
    if (fsync_many(fds, k, res) != 0) {
        for (size_t j = 0; j < k; j++) {
            if (res[j] < 0 && ins[owner[j]].rc == 0)
                ins[owner[j]].rc = res[j];
        }
    }
    for (size_t j = 0; j < k_parents; j++)
        close(fds[j]);
}

static void install_close(struct install *in)
{
    if (in->file_fd >= 0)
        close(in->file_fd);
    if (in->body_fd >= 0)
        close(in->body_fd);
    if (in->dfd >= 0)
        close(in->dfd);
    in->n_parent = 0;
    in->file_fd = in->body_fd = in->dfd = -1;
}

/* Remove what the new file supersedes (only now that it is durable),
 * report a failure, close every fd. Returns in->rc. */
static int install_finish(struct install *in, const char *fname)
{
    struct dir_scan s;
    /* A hash directory this write created held nothing to supersede (and a
     * concurrent writer of the same name cleans up after itself). */
    bool created = in->n_parent > 0;
    int rc = in->rc == 0 && !created ? scan_dirfd(in->dfd, in->dir, &s, true) : 0;

    if (rc < 0)     /* the new file is durable: leftovers are only space */
        log_warn("msg=\"cannot clean directory\" dir=%s err=\"%s\"", in->dir, err_str(rc));
    if (in->rc < 0) {
        log_warn("msg=\"cannot install file\" dir=%s file=%s err=\"%s\"", in->dir, fname,
                 err_str(in->rc));
        dg_note_result(in->dg, in->rc);
    }
    install_close(in);
    return in->rc;
}

/* Mark every primary of pl that did not get a durable copy stale
 * (fresh.h), so reads stop trusting it alone. Called once the durable
 * copies are in place and before the write is acknowledged. */
static void mark_missed(const struct placement *pl, const struct install *ins, size_t n)
{
    for (size_t p = 0; p < pl->n_primary && p < pl->n_dg; p++) {
        bool has = false;
        for (size_t i = 0; i < n && !has; i++)
            has = ins[i].dg == pl->dg[p] && ins[i].rc == 0;
        if (!has)
            fresh_mark_stale(pl->dg[p]);
    }
}

/* Round 2 (unless the journal made the files durable) and the cleanup for
 * n prepared replicas of pl; the number durable. */
static size_t install_all(const struct placement *pl, struct install *ins, size_t n,
                          const char *fname, bool journaled)
{
    size_t ok = 0;

    if (!journaled)
        install_sync(ins, n);
    for (size_t i = 0; i < n; i++)
        ok += install_finish(&ins[i], fname) == 0;
    mark_missed(pl, ins, n);
    return ok;
}

/* ---- the journal ---- */

/* Can the n replicas of ins skip the sync rounds for a file of len bytes?
 * Only when every one has a journal: one synced record covers no more than
 * the disk group it names. */
static bool journal_fits(const struct install *ins, size_t n, size_t len)
{
    if (len > JOURNAL_CONTENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!dg_journal(ins[i].dg))
            return false;
    return true;
}

/* Append fname's content (data, len bytes) to the journal of every replica
 * still on its way, all together; a replica whose record fails fails. The
 * caller holds the checkpoint (journal_hold) until the files are named: a
 * checkpoint that synced before the name existed must not drop the record. */
static void journal_records(struct install *ins, size_t n, const char *fname, const char *name,
                            const void *data, size_t len)
{
    struct journal_append a[REPLICAS];
    char *path[REPLICAS];
    size_t k = 0, owner[REPLICAS];

    for (size_t i = 0; i < n && i < REPLICAS; i++) {
        if (ins[i].rc < 0)
            continue;
        /* in->dir is "<dg>/objects/...": the record names it from "objects" */
        path[k] = xasprintf("%s/%s", ins[i].dir + strlen(dg_path(ins[i].dg)) + 1, fname);
        a[k] = (struct journal_append){.dg = ins[i].dg, .path = path[k],
                                       .name = name, .data = data, .len = len};
        owner[k++] = i;
    }
    journal_append_wait(a, k);
    for (size_t i = 0; i < k; i++) {
        if (a[i].rc < 0)
            ins[owner[i]].rc = a[i].rc;
        free(path[i]);
    }
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
        install_close(&w->in[i]);
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
            log_warn("msg=\"replica write failed\" dir=%s err=\"%s\"", w->in[i].dir,
                     err_str(err));
            dg_note_result(w->in[i].dg, err);
        }
    }
}

/* Open replica w->n's body on in's disk group: an unnamed file in the hash
 * directory, or where the filesystem has none, a temp file in <dg>/tmp.
 * Opened for reading too: a journaled commit reads the file back. The fd,
 * or -errno. */
static int body_open(struct object_writer *w, struct install *in)
{
    int fd = openat(in->dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd >= 0 ? fd : -errno;
    return open_tmp(in->dg, w->pl.hash_hex, w->ts, &w->tmp[w->n]);
}

/* A body file and the hash directory on the first REPLICAS usable dgs of pl
 * where they can be made; NULL when fewer than QUORUM. */
static struct object_writer *writer_new(const struct placement *pl, int64_t ts)
{
    struct object_writer *w = xcalloc(1, sizeof(*w));
    struct item_dirs dirs;

    w->pl = *pl;
    w->ts = ts;
    item_dirs_init(&dirs, pl);
    for (size_t i = 0; i < pl->n_dg && w->n < REPLICAS; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        struct install *in = &w->in[w->n];
        install_init(in, pl->dg[i]);
        int fd = install_open_dir(in, &dirs) == 0 ? body_open(w, in) : in->rc;
        if (fd < 0) {
            log_warn("msg=\"cannot create replica file\" dir=%s err=\"%s\"", in->dir,
                     err_str(fd));
            dg_note_result(in->dg, fd);
            install_close(in);
            continue;
        }
        w->fd[w->n++] = fd;
    }
    item_dirs_release(&dirs);
    if (w->n < QUORUM || fanout_new(&w->fo, w->fd, w->n) < 0) {
        writer_free(w);
        return NULL;
    }
    return w;
}

/* Both rounds for what was written: sync the bodies, name the healthy ones
 * fname, sync the directories; or for a small file, journal it and name it.
 * The number of replicas durable; *journaled tells which way. */
static size_t writer_install(struct object_writer *w, const char *fname, bool *journaled)
{
    struct install ins[REPLICAS];
    size_t n = 0, len = fanout_offset(w->fo);
    void *content = NULL;

    note_failures(w);
    if (journal_fits(w->in, w->n, len)) {
        /* The record carries the file as written: read it back from the
         * page cache of a healthy replica. */
        for (size_t i = 0; i < w->n && !content; i++) {
            if (fanout_result(w->fo, i) != 0)
                continue;
            content = xmalloc(len ? len : 1);
            if (pread_full(w->fd[i], content, len, 0) < 0) {
                free(content);
                content = NULL;
                break;      /* the sync rounds will report it */
            }
        }
    }
    if (!content)
        (void)fanout_sync(w->fo);
    note_failures(w);
    for (size_t i = 0; i < w->n; i++) {
        if (fanout_result(w->fo, i) != 0)
            continue;
        /* The install takes over the replica's fds and temp file. */
        ins[n] = w->in[i];
        w->in[i].n_parent = 0;
        w->in[i].dfd = -1;
        if (w->tmp[i]) {
            close(w->fd[i]);
            ins[n].tmp = w->tmp[i];
        } else {
            ins[n].body_fd = w->fd[i];
        }
        w->fd[i] = -1;
        n++;
    }
    uint64_t hold = journal_hold();
    if (content)
        journal_records(ins, n, fname, w->name, content, len);
    free(content);
    *journaled = content != NULL;
    for (size_t i = 0, k = 0; i < w->n; i++) {
        if (fanout_result(w->fo, i) != 0)
            continue;
        if (install_place(&ins[k], fname) == 0 && w->tmp[i]) {
            free(w->tmp[i]);    /* renamed: nothing left to remove */
            w->tmp[i] = NULL;
        }
        ins[k++].tmp = NULL;
    }
    journal_release(hold);
    return install_all(&w->pl, ins, n, fname, *journaled);
}

int object_writer_open(struct object_writer **out, const struct placement *pl, const char *name,
                       int64_t ts)
{
    struct object_writer *w = writer_new(pl, ts);

    *out = NULL;
    if (!w)
        return ERR_QUORUM;
    w->name = xstrdup(name);
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

/* Append the JSON and trailer to every healthy replica, in one write. */
static void write_footer(struct object_writer *w, const struct object_meta *m)
{
    char *json = data_json(m);
    size_t jlen = strlen(json);
    char *foot = xrealloc(json, jlen + TRAILER_LEN);
    uint8_t *tr = (uint8_t *)foot + jlen;

    memcpy(tr, TRAILER_MAGIC, 8);
    put_le(tr + 8, w->size, 8);
    put_le(tr + 16, jlen, 4);
    put_le(tr + 20, crc32c_update(0, foot, jlen), 4);
    (void)fanout_write(w->fo, foot, jlen + TRAILER_LEN);
    free(foot);
}

int object_writer_commit(struct object_writer *w, struct object_meta *meta,
                         const char *expect_etag, bool *journaled)
{
    bool j = false;

    char etag[33], fname[FILE_NAME_MAX];
    uint8_t d[16];
    size_t durable;

    md5_final(w->md5, d);
    hex_encode(d, 16, etag);
    if (expect_etag && strcasecmp(expect_etag, etag) != 0) {
        writer_free(w);
        return ERR_ETAG;
    }
    meta_fill(w, meta, etag);
    write_footer(w, meta);
    file_name(w->ts, ".data", fname);
    durable = writer_install(w, fname, &j);
    writer_free(w);
    if (journaled)
        *journaled = j;
    return durable >= QUORUM ? 0 : ERR_QUORUM;
}

/* ---- deleting and metadata updates ---- */

int object_delete(const struct placement *pl, const char *name, int64_t ts, bool *journaled_out)
{
    struct install ins[REPLICAS];
    struct item_dirs dirs;
    char fname[FILE_NAME_MAX];
    size_t n = 0, ok;
    bool journaled;

    file_name(ts, ".ts", fname);
    item_dirs_init(&dirs, pl);
    /* A disk group that fails here is marked unusable and the next handoff
     * takes its place, as for a write. */
    for (size_t i = 0; i < pl->n_dg && n < REPLICAS; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        install_init(&ins[n], pl->dg[i]);
        if (install_open_dir(&ins[n], &dirs) == 0 &&
            (dg_journal(pl->dg[i]) || install_place(&ins[n], fname) == 0))
            n++;
        else
            (void)install_finish(&ins[n], fname);
    }
    item_dirs_release(&dirs);
    /* With journals the tombstones are named only once their records are
     * synced (a failure there fails the replica, without a handoff). */
    journaled = journal_fits(ins, n, 0);
    if (journaled) {
        uint64_t hold = journal_hold();
        journal_records(ins, n, fname, name, "", 0);
        for (size_t i = 0; i < n; i++)
            (void)install_place(&ins[i], fname);
        journal_release(hold);
    } else {
        for (size_t i = 0; i < n; i++)
            if (ins[i].file_fd < 0 && ins[i].rc == 0)
                (void)install_place(&ins[i], fname);
    }
    ok = install_all(pl, ins, n, fname, journaled);
    if (journaled_out)
        *journaled_out = journaled;
    return ok >= QUORUM ? 0 : ERR_QUORUM;
}

int object_post(const struct placement *pl, const char *name, int64_t ts,
                const char *content_type, const struct kv_list *headers, bool *journaled)
{
    bool j = false;

    struct object_writer *w;
    struct object_meta m;
    char fname[FILE_NAME_MAX];
    size_t ok;
    int rc = object_stat(&m, pl);

    if (rc < 0) {
        object_meta_release(&m);
        return rc;
    }
    /* Only the newest .meta is applied, so it carries the content type in
     * force (an earlier POST may have changed it) when none is given. */
    char *json = post_json(ts, content_type ? content_type : m.content_type, headers);
    object_meta_release(&m);
    w = writer_new(pl, ts);
    if (!w) {
        free(json);
        return ERR_QUORUM;
    }
    w->name = xstrdup(name);
    (void)fanout_write(w->fo, json, strlen(json));
    note_failures(w);
    free(json);
    file_name(ts, ".meta", fname);
    ok = writer_install(w, fname, &j);
    writer_free(w);
    if (journaled)
        *journaled = j;
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
