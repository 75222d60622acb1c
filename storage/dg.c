/* storage/dg.c: This file implements disk groups (open, create, identity,
 * health state and its probe, free space), the keyed name hash and the
 * directory of an item on a disk group.
 *
 * The identity file is written atomically (temp + fsync + rename + fsync of
 * the directory) so a crash never leaves a disk group without one. The state
 * is an atomic int: request threads report I/O errors with dg_note_result
 * while others read dg_usable without a lock. */
#include "dg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "io.h"

#define IDENTITY_FILE ".swiftlet-dg"
#define IDENTITY_MAX 256
#define PROBE_LEN 512

struct disk_group {
    char *path;
    uint32_t id;
    char cluster[33];
    _Atomic int state;      /* enum dg_state */
    _Atomic uint64_t errors;
    _Atomic int last_error;
    _Atomic int64_t last_error_at;
    struct journal *journal;    /* set before serving, or never */
};

static const char *const subdirs[] = {"objects", "containers", "accounts", "tmp", "quarantined"};

static bool is_cluster_id(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Parse "id=<n>\ncluster=<32 hex>\n". 0 or -EINVAL. */
static int identity_parse(const char *text, uint32_t *id, char cluster[33])
{
    unsigned long long n;
    char c[40];

    if (sscanf(text, "id=%llu\ncluster=%39s", &n, c) != 2 || n > UINT32_MAX || !is_cluster_id(c))
        return -EINVAL;
    *id = (uint32_t)n;
    memcpy(cluster, c, 33);
    return 0;
}

/* Read and parse the identity file of the disk group at path.
 * 0, -ENOENT, -EINVAL, -errno. */
static int identity_read(const char *path, uint32_t *id, char cluster[33])
{
    char *file = xasprintf("%s/" IDENTITY_FILE, path);
    char text[IDENTITY_MAX];
    int rc = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        rc = -errno;
        goto out_free;
    }
    ssize_t n = read(fd, text, sizeof(text) - 1);
    if (n < 0) {
        rc = -errno;
        goto out_close;
    }
    text[n] = '\0';
    rc = identity_parse(text, id, cluster);
    if (rc < 0)
        log_error("msg=\"bad disk group identity\" path=%s", file);
out_close:
    close(fd);
out_free:
    free(file);
    return rc;
}

/* Write the identity file atomically. 0 or -errno. */
static int identity_write(const char *path, uint32_t id, const char *cluster)
{
    char *tmp = xasprintf("%s/" IDENTITY_FILE ".tmp", path);
    char *file = xasprintf("%s/" IDENTITY_FILE, path);
    char *text = xasprintf("id=%" PRIu32 "\ncluster=%s\n", id, cluster);
    size_t len = strlen(text);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        rc = -errno;
        goto out_free;
    }
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
        rc = errno ? -errno : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, file) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fsync_dir(path);
    if (rc < 0)
        unlink(tmp);
out_free:
    free(text);
    free(file);
    free(tmp);
    return rc;
}

/* mkdir -p path (no durability needed: the identity fsync covers the tree
 * root, and object writes fsync the directories they create). */
static int mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    int rc = 0;

    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        *s = '/';
        if (rc < 0)
            goto out;
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        rc = -errno;
out:
    free(p);
    return rc;
}

static int make_subdirs(const char *path)
{
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
        char *d = xasprintf("%s/%s", path, subdirs[i]);
        int rc = (mkdir(d, 0755) < 0 && errno != EEXIST) ? -errno : 0;

        free(d);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Check an existing identity, or create one when create is set. */
static int identity_check(const char *path, uint32_t id, const char *cluster, bool create)
{
    uint32_t have_id;
    char have_cluster[33];
    int rc = identity_read(path, &have_id, have_cluster);

    if (rc == -ENOENT && create)
        return identity_write(path, id, cluster);
    if (rc < 0)
        return rc;
    if (have_id != id || strcmp(have_cluster, cluster) != 0) {
        log_error("msg=\"disk group identity mismatch\" path=%s id=%" PRIu32 " want_id=%" PRIu32
                  " cluster=%s want_cluster=%s",
                  path, have_id, id, have_cluster, cluster);
        return -EINVAL;
    }
    return 0;
}

static struct disk_group *dg_new(const char *path, uint32_t id, const char *cluster,
                                 enum dg_state state);

int dg_open(struct disk_group **out, const char *path, uint32_t id, const char *cluster,
            bool create)
{
    int rc;

    *out = NULL;
    if (!cluster || !is_cluster_id(cluster))
        return -EINVAL;
    if (create && (rc = mkdir_p(path)) < 0)
        return rc;
    rc = identity_check(path, id, cluster, create);
    if (rc < 0)
        return rc;
    rc = make_subdirs(path);
    if (rc < 0)
        return rc;

    *out = dg_new(path, id, cluster, DG_OK);
    return 0;
}

static struct disk_group *dg_new(const char *path, uint32_t id, const char *cluster,
                                 enum dg_state state)
{
    struct disk_group *dg = xcalloc(1, sizeof(*dg));

    dg->path = xstrdup(path);
    dg->id = id;
    snprintf(dg->cluster, sizeof(dg->cluster), "%s", cluster);
    atomic_init(&dg->state, (int)state);
    atomic_init(&dg->errors, 0);
    atomic_init(&dg->last_error, 0);
    atomic_init(&dg->last_error_at, 0);
    return dg;
}

struct disk_group *dg_new_missing(const char *path, uint32_t id, const char *cluster)
{
    return dg_new(path, id, cluster, DG_MISSING);
}

void dg_close(struct disk_group *dg)
{
    if (!dg)
        return;
    free(dg->path);
    free(dg);
}

int dg_read_cluster(const char *path, char out[33])
{
    uint32_t id;

    return identity_read(path, &id, out);
}

int dg_read_identity(const char *path, uint32_t *id, char cluster[33])
{
    return identity_read(path, id, cluster);
}

const char *dg_path(const struct disk_group *dg)
{
    return dg->path;
}

uint32_t dg_id(const struct disk_group *dg)
{
    return dg->id;
}

enum dg_state dg_state(const struct disk_group *dg)
{
    return (enum dg_state)atomic_load_explicit(&dg->state, memory_order_relaxed);
}

const char *dg_state_name(enum dg_state s)
{
    switch (s) {
    case DG_OK:
        return "ok";
    case DG_ERROR:
        return "error";
    case DG_FULL:
        return "full";
    case DG_READONLY:
        return "readonly";
    case DG_MISSING:
        return "missing";
    }
    return "unknown";
}

bool dg_usable(const struct disk_group *dg)
{
    return dg && dg_state(dg) == DG_OK;
}

static void record_error(struct disk_group *dg, int rc)
{
    atomic_fetch_add(&dg->errors, 1);
    atomic_store(&dg->last_error, rc);
    atomic_store(&dg->last_error_at, (int64_t)time(NULL));
}

void dg_note_result(struct disk_group *dg, int rc)
{
    int want;
    int ok = DG_OK;

    switch (rc) {
    case -EIO:
        want = DG_ERROR;
        break;
    case -ENOSPC:
        want = DG_FULL;
        break;
    case -EROFS:
        want = DG_READONLY;
        break;
    default:
        return;
    }
    record_error(dg, rc);
    /* Only the first failure is recorded and logged: it names the cause. */
    if (atomic_compare_exchange_strong(&dg->state, &ok, want))
        log_error("msg=\"disk group unusable\" path=%s id=%" PRIu32 " state=%s err=\"%s\"",
                  dg->path, dg->id, dg_state_name((enum dg_state)want), err_str(rc));
}

void dg_set_state(struct disk_group *dg, enum dg_state s)
{
    atomic_store(&dg->state, (int)s);
}

void dg_health(const struct disk_group *dg, struct dg_health *out)
{
    out->state = dg_state(dg);
    out->errors = atomic_load(&dg->errors);
    out->last_error = atomic_load(&dg->last_error);
    out->last_error_at = atomic_load(&dg->last_error_at);
}

/* The state an I/O error puts a disk group in. */
static enum dg_state state_of(int rc)
{
    switch (rc) {
    case -ENOSPC:
    case -EDQUOT:
        return DG_FULL;
    case -EROFS:
        return DG_READONLY;
    case -ENOENT:
    case -ENOTDIR:
        return DG_MISSING;
    default:
        return DG_ERROR;
    }
}

/* Write, sync, read back and remove a small file in <dg>/tmp. Its name is
 * unique to this process and call, so probes of a server and of `swiftlet
 * status` never meet. 0 or -errno. */
static int probe_io(const struct disk_group *dg)
{
    static _Atomic unsigned long seq;
    uint8_t want[PROBE_LEN], got[PROBE_LEN];
    unsigned long n = atomic_fetch_add(&seq, 1);
    int rc = 0;

    memset(want, 0x5a, sizeof(want));
    memcpy(want, &n, sizeof(n));
    char *path = xasprintf("%s/tmp/.probe.%ld.%lu", dg->path, (long)getpid(), n);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out_free;
    }
    if (pwrite(fd, want, sizeof(want), 0) != (ssize_t)sizeof(want) || fdatasync(fd) < 0)
        rc = errno ? -errno : -ENOSPC;
    else if (pread(fd, got, sizeof(got), 0) != (ssize_t)sizeof(got))
        rc = errno ? -errno : -EIO;
    else if (memcmp(want, got, sizeof(want)) != 0)
        rc = -EIO;
    close(fd);
    if (unlink(path) < 0 && rc == 0)
        rc = -errno;
out_free:
    free(path);
    return rc;
}

/* What a probe finds; errors found count as the dg's errors. */
static enum dg_state probe_state(struct disk_group *dg, unsigned min_free_pct)
{
    uint32_t id;
    char cluster[33];
    uint64_t free_b = 0, total_b = 0;
    int rc = identity_read(dg->path, &id, cluster);

    if (rc == -ENOENT || rc == -ENOTDIR || rc == -EINVAL ||
        (rc == 0 && (id != dg->id || strcmp(cluster, dg->cluster) != 0)))
        return DG_MISSING;  /* not mounted, or not this disk: never write */
    if (rc == 0)
        rc = make_subdirs(dg->path);
    if (rc == 0)
        rc = probe_io(dg);
    if (rc < 0) {
        record_error(dg, rc);
        return state_of(rc);
    }
    if (min_free_pct && dg_space(dg, &free_b, &total_b) == 0 &&
        free_b < total_b / 100 * min_free_pct)
        return DG_FULL;
    return DG_OK;
}

enum dg_state dg_probe(struct disk_group *dg, unsigned min_free_pct)
{
    enum dg_state now = probe_state(dg, min_free_pct);
    enum dg_state was = (enum dg_state)atomic_exchange(&dg->state, (int)now);

    if (now == DG_OK && was != DG_OK)
        log_info("msg=\"disk group back\" path=%s id=%" PRIu32 " was=%s", dg->path, dg->id,
                 dg_state_name(was));
    else if (now != was)
        log_error("msg=\"disk group unusable\" path=%s id=%" PRIu32 " state=%s was=%s",
                  dg->path, dg->id, dg_state_name(now), dg_state_name(was));
    return now;
}

int dg_space(const struct disk_group *dg, uint64_t *free_bytes, uint64_t *total_bytes)
{
    struct statvfs st;

    if (statvfs(dg->path, &st) < 0)
        return -errno;
    *free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    *total_bytes = (uint64_t)st.f_blocks * st.f_frsize;
    return 0;
}

void name_hash(const char *cluster, const char *account, const char *container,
               const char *object, uint8_t out[16])
{
    /* One digest call over "cluster/account[/container[/object]]": every
     * request hashes its name, and a context per call with an update per
     * part cost 2% of a small GET. Names fit the stack buffer unless the
     * limits are raised far beyond Swift's. */
    const char *parts[] = {cluster, account, container, container ? object : NULL};
    char stack[2048], *s = stack;
    size_t len = 0;

    for (size_t i = 0; i < ARRAY_SIZE(parts) && parts[i]; i++)
        len += strlen(parts[i]) + 1;
    if (len > sizeof(stack))
        s = xmalloc(len);
    len = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts) && parts[i]; i++) {
        size_t n = strlen(parts[i]);
        if (i > 0)
            s[len++] = '/';
        memcpy(s + len, parts[i], n);
        len += n;
    }
    md5_raw(s, len, out);
    if (s != stack)
        free(s);
}

static const char *const item_top[] = {
    [ITEM_OBJECT] = "objects", [ITEM_CONTAINER] = "containers", [ITEM_ACCOUNT] = "accounts"};

char *placement_dir(const struct placement *pl, const struct disk_group *dg)
{
    return xasprintf("%s/%s/%" PRIu32 "/%s/%s", dg->path, item_top[pl->kind], pl->part,
                     pl->hash_hex + 29, pl->hash_hex);
}

char *placement_rel(const struct placement *pl)
{
    return xasprintf("%s/%" PRIu32 "/%s/%s", item_top[pl->kind], pl->part, pl->hash_hex + 29,
                     pl->hash_hex);
}

struct journal *dg_journal(const struct disk_group *dg)
{
    return dg->journal;
}

void dg_set_journal(struct disk_group *dg, struct journal *j)
{
    dg->journal = j;
}
