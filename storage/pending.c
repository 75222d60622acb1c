/* storage/pending.c: the pending logs of listing updates (pending.h): notes
 * appended per disk group, counted per generation until cleared, replayed
 * and deleted at start. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "journal.h"
#include "pending.h"

/* Uncleared notes of one generation of one log. */
struct gen_count {
    uint64_t gen;
    unsigned n;
};

struct pending_log {
    struct disk_group *dg;
    pthread_mutex_t lock;
    int fd;                     /* the current generation; -1 until first use */
    uint64_t gen, size;
    struct gen_count *gens;     /* generations with uncleared notes, current included */
    size_t n_gens, cap_gens;
};

struct pending {
    size_t n;
    struct pending_log logs[];
};

static char *log_path(const struct disk_group *dg, uint64_t gen)
{
    return xasprintf("%s/pending-%" PRIu64 ".log", dg_path(dg), gen);
}

struct pending *pending_new(struct disk_group *const *dgs, size_t n)
{
    struct pending *p = xcalloc(1, sizeof(*p) + n * sizeof(p->logs[0]));

    p->n = n;
    for (size_t i = 0; i < n; i++) {
        p->logs[i].dg = dgs[i];
        p->logs[i].fd = -1;
        pthread_mutex_init(&p->logs[i].lock, NULL);
    }
    return p;
}

static struct gen_count *gen_find(struct pending_log *l, uint64_t gen)
{
    for (size_t i = 0; i < l->n_gens; i++)
        if (l->gens[i].gen == gen)
            return &l->gens[i];
    return NULL;
}

static void gen_remove(struct pending_log *l, struct gen_count *g)
{
    *g = l->gens[--l->n_gens];
}

static void unlink_gen(const struct pending_log *l, uint64_t gen)
{
    char *path = log_path(l->dg, gen);

    if (unlink(path) < 0 && errno != ENOENT)
        log_warn("msg=\"cannot remove pending log\" path=%s err=\"%s\"", path, err_str(-errno));
    free(path);
}

/* Start a new generation (the old one stays until its notes are cleared).
 * Called with the lock held. 0 or -errno. */
static int log_rotate(struct pending_log *l)
{
    uint64_t gen = (uint64_t)ts_now();

    if (gen <= l->gen)
        gen = l->gen + 1;
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
        struct gen_count *g = gen_find(l, l->gen);
        if (g && g->n == 0) {
            gen_remove(l, g);
            unlink_gen(l, l->gen);
        }
    }
    char *path = log_path(l->dg, gen);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : 0;
    if (rc < 0)
        log_warn("msg=\"cannot open pending log\" path=%s err=\"%s\"", path, err_str(rc));
    free(path);
    if (rc < 0)
        return rc;
    if (l->n_gens == l->cap_gens) {
        l->cap_gens = l->cap_gens ? 2 * l->cap_gens : 4;
        l->gens = xrealloc(l->gens, l->cap_gens * sizeof(*l->gens));
    }
    l->gens[l->n_gens++] = (struct gen_count){gen, 0};
    l->fd = fd;
    l->gen = gen;
    l->size = 0;
    return 0;
}

void pending_free(struct pending *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        struct pending_log *l = &p->logs[i];
        if (l->fd >= 0)
            close(l->fd);
        for (size_t j = 0; j < l->n_gens; j++)
            if (l->gens[j].n == 0)
                unlink_gen(l, l->gens[j].gen);
        free(l->gens);
        pthread_mutex_destroy(&l->lock);
    }
    free(p);
}

/* ---- the line format ---- */

static bool needs_escape(unsigned char c)
{
    return c <= 0x20 || c == '%' || c == 0x7f;
}

static int field_append(struct buf *b, const char *s)
{
    int rc = 0;

    for (const unsigned char *c = (const unsigned char *)s; *c && rc == 0; c++)
        rc = needs_escape(*c) ? buf_appendf(b, "%%%02X", *c) : buf_appendc(b, (char)*c);
    return rc;
}

char *pending_line_encode(int64_t ts, const char *account, const char *container,
                          const char *object)
{
    struct buf b;
    int rc;

    buf_init(&b, 0);        /* no cap: the appends cannot fail */
    rc = buf_appendf(&b, "%" PRId64 "\t", ts);
    rc |= field_append(&b, account);
    rc |= buf_appendc(&b, '\t');
    rc |= field_append(&b, container);
    rc |= buf_appendc(&b, '\t');
    rc |= field_append(&b, object);
    rc |= buf_appendf(&b, "\t%08" PRIx32, crc32c_update(0, b.data, b.len));
    if (rc != 0)
        log_error("msg=\"pending line too long\"");
    return buf_detach(&b, NULL);
}

/* Decode the percent-encoded field [p, end) into a heap string; NULL when
 * it is malformed or empty. */
static char *field_decode(const char *p, const char *end)
{
    char *out = xmalloc((size_t)(end - p) + 1), *o = out;

    while (p < end) {
        if (*p == '%') {
            int hi = end - p >= 3 ? hex_digit_value(p[1]) : -1;
            int lo = hi >= 0 ? hex_digit_value(p[2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            *o++ = (char)(hi << 4 | lo);
            p += 3;
        } else if (needs_escape((unsigned char)*p)) {
            goto bad;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    if (o == out)
        goto bad;
    return out;
bad:
    free(out);
    return NULL;
}

void pending_update_release(struct pending_update *u)
{
    free(u->account);
    free(u->container);
    free(u->object);
    u->account = u->container = u->object = NULL;
}

int pending_line_decode(const char *line, size_t len, struct pending_update *u)
{
    const char *tab[4], *end = line + len;
    size_t n = 0;

    memset(u, 0, sizeof(*u));
    for (const char *p = line; p < end && n <= 4; p++)
        if (*p == '\t') {
            if (n == 4)
                return ERR_CORRUPT;
            tab[n++] = p;
        }
    if (n != 4 || end - tab[3] != 9)
        return ERR_CORRUPT;
    uint32_t crc = 0;
    for (const char *p = tab[3] + 1; p < end; p++) {
        int v = hex_digit_value(*p);
        if (v < 0)
            return ERR_CORRUPT;
        crc = crc << 4 | (uint32_t)v;
    }
    if (crc != crc32c_update(0, line, (size_t)(tab[3] - line)))
        return ERR_CORRUPT;
    char *ts_end;
    char ts_s[24];
    size_t ts_len = (size_t)(tab[0] - line);
    if (ts_len == 0 || ts_len >= sizeof(ts_s))
        return ERR_CORRUPT;
    memcpy(ts_s, line, ts_len);
    ts_s[ts_len] = '\0';
    u->ts = strtoll(ts_s, &ts_end, 10);
    u->account = field_decode(tab[0] + 1, tab[1]);
    u->container = field_decode(tab[1] + 1, tab[2]);
    u->object = field_decode(tab[2] + 1, tab[3]);
    if (*ts_end || u->ts <= 0 || !u->account || !u->container || !u->object) {
        pending_update_release(u);
        return ERR_CORRUPT;
    }
    return 0;
}

/* ---- notes ---- */

static struct pending_log *log_for(struct pending *p, const struct placement *pl)
{
    for (size_t i = 0; i < pl->n_dg; i++) {
        if (!dg_usable(pl->dg[i]))
            continue;
        for (size_t j = 0; j < p->n; j++)
            if (p->logs[j].dg == pl->dg[i])
                return &p->logs[j];
    }
    return NULL;
}

void pending_note(struct pending *p, const struct placement *pl, int64_t ts, const char *account,
                  const char *container, const char *object, struct pending_note *note)
{
    struct pending_log *l = log_for(p, pl);
    char *line = pending_line_encode(ts, account, container, object);
    size_t len = strlen(line);
    int rc = 0;

    note->log = NULL;
    note->hold = journal_hold();
    note->held = true;
    line[len++] = '\n';     /* replaces the NUL; the length says where it ends */
    if (!l) {
        free(line);
        return;
    }
    pthread_mutex_lock(&l->lock);
    if (l->fd < 0 || l->size >= PENDING_ROTATE)
        rc = log_rotate(l);
    if (rc == 0) {
        ssize_t w = write(l->fd, line, len);
        rc = w == (ssize_t)len ? 0 : w < 0 ? -errno : -EIO;
    }
    if (rc == 0) {
        l->size += len;
        gen_find(l, l->gen)->n++;
        note->log = l;
        note->gen = l->gen;
    }
    pthread_mutex_unlock(&l->lock);
    if (rc < 0)
        log_warn("msg=\"cannot note a pending listing update\" dg=%s err=\"%s\"", dg_path(l->dg),
                 err_str(rc));
    free(line);
}

void pending_clear(struct pending_note *note)
{
    struct pending_log *l = note->log;

    if (note->held)
        journal_release(note->hold);
    note->held = false;
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    struct gen_count *g = gen_find(l, note->gen);
    if (g && --g->n == 0 && g->gen != l->gen) {
        gen_remove(l, g);
        unlink_gen(l, note->gen);
    }
    pthread_mutex_unlock(&l->lock);
    note->log = NULL;
}

/* ---- replay ---- */

/* Read a whole file into a heap buffer. 0 or -errno. */
static int read_file(int dfd, const char *name, char **out, size_t *len)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    *len = (size_t)st.st_size;
    *out = xmalloc(*len + 1);
    for (size_t done = 0; done < *len;) {
        ssize_t r = read(fd, *out + done, *len - done);
        if (r <= 0) {
            *len = done;    /* shorter than fstat said: use what is there */
            break;
        }
        done += (size_t)r;
    }
out:
    close(fd);
    return rc;
}

static long replay_file(int dfd, const char *name, int (*apply)(const struct pending_update *, void *),
                        void *arg)
{
    char *data = NULL;
    size_t len = 0;
    long n = 0, bad = 0;
    int rc = read_file(dfd, name, &data, &len);

    if (rc < 0)
        return rc;
    for (size_t at = 0; at < len;) {
        char *nl = memchr(data + at, '\n', len - at);
        size_t l = nl ? (size_t)(nl - (data + at)) : len - at;
        struct pending_update u;
        if (pending_line_decode(data + at, l, &u) == 0) {
            if (apply(&u, arg) < 0)
                bad++;
            n++;
            pending_update_release(&u);
        }
        at += l + 1;
    }
    free(data);
    if (bad)
        log_warn("msg=\"pending listing updates failed\" file=%s failed=%ld", name, bad);
    return n;
}

long pending_replay(struct pending *p, int (*apply)(const struct pending_update *u, void *arg),
                    void *arg)
{
    long total = 0;

    for (size_t i = 0; i < p->n; i++) {
        const char *dir = dg_path(p->logs[i].dg);
        DIR *d = opendir(dir);
        struct dirent *e;
        if (!d)
            continue;   /* a disk group that is not there has nothing to give */
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (strncmp(e->d_name, "pending-", 8) != 0 || l < 12 ||
                strcmp(e->d_name + l - 4, ".log") != 0)
                continue;
            long n = replay_file(dirfd(d), e->d_name, apply, arg);
            if (n < 0) {
                log_warn("msg=\"cannot read pending log\" dir=%s file=%s err=\"%s\"", dir,
                         e->d_name, err_str((int)n));
                continue;
            }
            total += n;
            if (unlinkat(dirfd(d), e->d_name, 0) < 0)
                log_warn("msg=\"cannot remove pending log\" dir=%s file=%s", dir, e->d_name);
        }
        closedir(d);
    }
    return total;
}
