/* storage/journal_replay.c: the journal's record format and the replay of
 * one journal file (journal.h): what a power cut may have left is read
 * back, checked, and every file that did not reach the disk rewritten. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "fresh.h"
#include "io.h"
#include "journal.h"
#include "object_sync.h"

#define MAGIC "SWJ2"
#define MAGIC_V1 "SWJ1"     /* before journals were shared: no disk group id */
#define HEADER_LEN_V1 16

/* ---- records ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void journal_record_encode(struct buf *out, uint32_t dg_id, const char *path, const char *name,
                           const void *data, size_t len)
{
    size_t plen = strlen(path), nlen = name ? strlen(name) : 0;
    size_t rec = JOURNAL_HEADER_LEN + plen + nlen + len, at = out->len;
    uint8_t h[JOURNAL_HEADER_LEN];

    memcpy(h, MAGIC, 4);
    put_u32(h + 4, (uint32_t)rec);
    put_u32(h + 8, 0);          /* the checksum, once the rest is in place */
    put_u32(h + 12, dg_id);
    h[16] = (uint8_t)plen;
    h[17] = (uint8_t)(plen >> 8);
    h[18] = (uint8_t)nlen;
    h[19] = (uint8_t)(nlen >> 8);
    if (buf_append(out, h, sizeof(h)) < 0 || buf_append(out, path, plen) < 0 ||
        buf_append(out, name ? name : "", nlen) < 0 || buf_append(out, data, len) < 0)
        abort();                /* an uncapped buffer only fails to allocate */
    put_u32((uint8_t *)out->data + at + 8, crc32c_update(0, out->data + at + 12, rec - 12));
}

int journal_record_decode(const uint8_t *p, size_t n, struct journal_record *r)
{
    if (n < 4)
        return memcmp(p, MAGIC, n) == 0 || memcmp(p, MAGIC_V1, n) == 0 ? -EAGAIN : ERR_CORRUPT;
    bool v1 = memcmp(p, MAGIC_V1, 4) == 0;
    size_t hlen = v1 ? HEADER_LEN_V1 : JOURNAL_HEADER_LEN;
    if (!v1 && memcmp(p, MAGIC, 4) != 0)
        return ERR_CORRUPT;
    if (n < hlen)
        return -EAGAIN;
    uint32_t rec = get_u32(p + 4);
    const uint8_t *lens = p + hlen - 4;
    size_t plen = (size_t)lens[0] | (size_t)lens[1] << 8;
    size_t nlen = (size_t)lens[2] | (size_t)lens[3] << 8;
    if (plen == 0 || plen > JOURNAL_PATH_MAX || nlen > JOURNAL_NAME_MAX ||
        rec < hlen + plen + nlen || rec - hlen - plen - nlen > JOURNAL_CONTENT_MAX)
        return ERR_CORRUPT;
    if (n < rec)
        return -EAGAIN;
    if (crc32c_update(0, p + 12, rec - 12) != get_u32(p + 8))
        return ERR_CORRUPT;
    r->rec_len = rec;
    r->has_dg = !v1;
    r->dg_id = v1 ? 0 : get_u32(p + 12);
    r->path = (const char *)p + hlen;
    r->path_len = plen;
    r->name = r->path + plen;
    r->name_len = nlen;
    r->data = (const uint8_t *)r->name + nlen;
    r->len = rec - hlen - plen - nlen;
    return 0;
}

/* ---- replay ---- */

/* A record's path must stay inside the disk group: relative, no "." or
 * ".." component, no empty component, no NUL. */
static bool path_ok(const char *p, size_t n)
{
    if (n == 0 || memchr(p, '\0', n))
        return false;
    for (size_t i = 0; i <= n;) {
        size_t e = i;
        while (e < n && p[e] != '/')
            e++;
        size_t c = e - i;
        if (c == 0 || (c == 1 && p[i] == '.') || (c == 2 && p[i] == '.' && p[i + 1] == '.'))
            return false;
        i = e + 1;
    }
    return true;
}

/* Does the file at path hold exactly len bytes equal to data? */
static bool same_content(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    bool same = false;

    if (fd < 0)
        return false;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len) {
        uint8_t *b = xmalloc(len ? len : 1);
        size_t got = 0;
        ssize_t r = 1;
        while (got < len && (r = pread(fd, b + got, len - got, (off_t)got)) > 0)
            got += (size_t)r;
        same = got == len && memcmp(b, data, len) == 0;
        free(b);
    }
    close(fd);
    return same;
}

/* Write data to target through a synced temp file beside it, renamed over
 * it, and sync the directory; directories missing on the way are made
 * (and synced into their parents). 0, -errno. */
static int rewrite_file(const char *target, const uint8_t *data, size_t len)
{
    char *tmp = xasprintf("%s.journal-tmp", target);
    char *dir = xstrdup(target);
    int rc, fd = -1;

    *strrchr(dir, '/') = '\0';
    if ((rc = objsync_mkdirs(dir)) == 0 &&
        (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        rc = -errno;
    if (rc == 0) {
        for (size_t off = 0; rc == 0 && off < len;) {
            ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
            if (w < 0)
                rc = -errno;
            else
                off += (size_t)w;
        }
        if (rc == 0 && fsync(fd) < 0)
            rc = -errno;
        close(fd);
    }
    if (rc == 0 && rename(tmp, target) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(dir);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

/* Restore the file of one record unless it is in place already. 0 when it
 * was in place, 1 when rewritten, -errno. */
static int restore(const char *root, const struct journal_record *r)
{
    char *rel = xstrndup(r->path, r->path_len);
    char *target = xasprintf("%s/%s", root, rel);
    int rc = 0;

    if (!same_content(target, r->data, r->len)) {
        rc = rewrite_file(target, r->data, r->len);
        if (rc == 0)
            rc = 1;
        else
            log_warn("msg=\"cannot restore file from the journal\" path=%s err=\"%s\"", target,
                     err_str(rc));
    }
    free(target);
    free(rel);
    return rc;
}

/* The disk group a record's file belongs on, or NULL (logged) when it
 * cannot be restored now; *keep is set when a later start could. */
static struct disk_group *record_target(const struct journal_replay *rp,
                                        const struct journal_record *r, bool *keep)
{
    struct disk_group *dg = NULL;

    if (!r->has_dg) {
        dg = rp->home;      /* an SWJ1 record: the file's own disk group */
    } else {
        for (size_t i = 0; i < rp->n_dgs && !dg; i++)
            if (dg_id(rp->dgs[i]) == r->dg_id)
                dg = rp->dgs[i];
    }
    if (!dg) {
        /* no longer configured: its peers hold the other replicas */
        log_warn("msg=\"journal record for an unknown disk group skipped\" dg=%s id=%" PRIu32,
                 dg_path(rp->home), r->dg_id);
    } else if (!dg_usable(dg)) {
        log_warn("msg=\"journal record kept for a disk group not usable now\" dg=%s",
                 dg_path(dg));
        *keep = true;
        dg = NULL;
    }
    return dg;
}

long journal_replay_file(struct journal_replay *rp, int fd)
{
    struct stat st;
    long n = 0;
    int rc = 0;

    if (fstat(fd, &st) < 0)
        return -errno;
    /* Bounded by the checkpoint size plus a batch, so read it whole. */
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *all = xmalloc(size ? size : 1);
    while (got < size) {
        ssize_t r = pread(fd, all + got, size - got, (off_t)got);
        if (r <= 0) {
            rc = r < 0 ? -errno : 0;
            break;
        }
        got += (size_t)r;
    }
    for (size_t off = 0; rc == 0 && off < got;) {
        struct journal_record r;
        if (journal_record_decode(all + off, got - off, &r) != 0)
            break;      /* torn or damaged: nothing after it was acknowledged */
        off += r.rec_len;
        n++;
        if (!path_ok(r.path, r.path_len)) {
            log_warn("msg=\"journal record with a bad path skipped\" dg=%s", dg_path(rp->home));
            continue;
        }
        struct disk_group *dg = record_target(rp, &r, &rp->incomplete);
        int res = dg ? restore(dg_path(dg), &r) : 0;
        if (res < 0) {
            /* that disk group may hold a torn file: no read may trust it alone */
            dg_note_result(dg, res);
            fresh_mark_stale(dg);
            rp->incomplete = true;
        }
        rp->restored += res == 1;
        if (r.name_len > 0 && !memchr(r.name, '\0', r.name_len) &&
            (buf_append(rp->names, r.name, r.name_len) < 0 || buf_appendc(rp->names, '\0') < 0))
            abort();
    }
    free(all);
    return rc < 0 ? rc : n;
}
