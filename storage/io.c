/* storage/io.c: This file implements the replica fan-out: the same bytes
 * appended to several files, and an fdatasync of all of them, each run in
 * parallel with io_uring or in turn with pwrite/fdatasync; and fsync_many,
 * the same parallel sync over any set of fds (the directories of a commit).
 *
 * It is the only file that includes liburing.h.
 *
 * Ring ownership: one small io_uring per thread, created lazily on the
 * thread's first fan-out and torn down by a pthread key destructor when the
 * thread exits. Each round is one io_uring_enter that submits and waits. Every fanout_write/fanout_sync call waits for all of its
 * completions before returning, so a ring never holds work between calls;
 * that is what makes a per-thread ring safe even when a fanout's writes and
 * its sync run on different threads (e.g. the sync on a worker). It costs no
 * ring setup per request, unlike a per-fanout ring.
 *
 * A thread whose ring cannot be created (RLIMIT_MEMLOCK on old kernels,
 * seccomp) uses the synchronous path for good; so does the whole process when
 * io_global_init chose IO_SYNC. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"

#define RING_DEPTH 16   /* >= FANOUT_MAX: one SQE per file per call */

static _Atomic int g_mode = IO_AUTO;
static atomic_bool g_fsync = true;

static _Thread_local struct io_uring tl_ring;
static _Thread_local int tl_ring_state;     /* 0 untried, 1 ready, -1 unusable */
static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;

struct fanout {
    int fds[FANOUT_MAX];
    int err[FANOUT_MAX];
    size_t n;
    uint64_t off;
};

static void ring_destroy(void *p)
{
    io_uring_queue_exit(p);
}

static void ring_key_init(void)
{
    if (pthread_key_create(&ring_key, ring_destroy) != 0)
        abort();
}

/* Can this process set up a ring at all? */
static bool uring_probe(void)
{
    struct io_uring r;

    if (io_uring_queue_init(4, &r, 0) < 0)
        return false;
    io_uring_queue_exit(&r);
    return true;
}

int io_global_init(const char *mode)
{
    const char *env = getenv("SWIFTLET_IO");
    enum io_mode want;

    if (!mode || strcmp(mode, "auto") == 0)
        want = IO_AUTO;
    else if (strcmp(mode, "uring") == 0)
        want = IO_URING;
    else if (strcmp(mode, "sync") == 0)
        want = IO_SYNC;
    else
        return -EINVAL;
    if (env && strcmp(env, "sync") == 0)
        want = IO_SYNC;
    if (want != IO_SYNC && !uring_probe()) {
        if (want == IO_URING)
            log_warn("msg=\"io_uring unavailable, using pwrite/fdatasync\"");
        want = IO_SYNC;
    }
    atomic_store(&g_mode, want == IO_SYNC ? IO_SYNC : IO_URING);
    return 0;
}

enum io_mode io_mode_in_use(void)
{
    if (atomic_load(&g_mode) == IO_AUTO && io_global_init("auto") < 0)
        return IO_SYNC;
    return (enum io_mode)atomic_load(&g_mode);
}

void io_set_fsync(bool on)
{
    atomic_store(&g_fsync, on);
}

/* This thread's ring, or NULL when the synchronous path must be used. */
static struct io_uring *thread_ring(void)
{
    if (io_mode_in_use() != IO_URING || tl_ring_state < 0)
        return NULL;
    if (tl_ring_state == 0) {
        pthread_once(&ring_key_once, ring_key_init);
        int rc = io_uring_queue_init(RING_DEPTH, &tl_ring, 0);
        if (rc < 0) {
            log_warn("msg=\"cannot create io_uring, thread uses pwrite\" err=\"%s\"", err_str(rc));
            tl_ring_state = -1;
            return NULL;
        }
        pthread_setspecific(ring_key, &tl_ring);
        tl_ring_state = 1;
    }
    return &tl_ring;
}

/* Give up on this thread's ring after a failed submit: later calls use the
 * synchronous path. */
static void thread_ring_drop(void)
{
    pthread_setspecific(ring_key, NULL);
    io_uring_queue_exit(&tl_ring);
    tl_ring_state = -1;
}

int fanout_new(struct fanout **out, const int *fds, size_t n)
{
    if (n == 0 || n > FANOUT_MAX)
        return -EINVAL;
    struct fanout *f = xcalloc(1, sizeof(*f));
    memcpy(f->fds, fds, n * sizeof(*fds));
    f->n = n;
    *out = f;
    return 0;
}

void fanout_free(struct fanout *f)
{
    free(f);
}

static int healthy(const struct fanout *f)
{
    int h = 0;

    for (size_t i = 0; i < f->n; i++)
        h += f->err[i] == 0;
    return h;
}

/* One completion of a write: advance done[i] or fail file i. Transient
 * results (-EINTR, -EAGAIN) leave done[i] so the rest is resubmitted. */
static void write_result(struct fanout *f, size_t i, int res, size_t *done)
{
    if (res == -EINTR || res == -EAGAIN)
        return;
    if (res < 0)
        f->err[i] = res;
    else if (res == 0)
        f->err[i] = -EIO;   /* no progress on a regular file: never loop */
    else
        done[i] += (size_t)res;
}

/* Wait for count completions; the kernel still reads the caller's buffer
 * until then, so there is no early way out. */
static void reap(struct io_uring *ring, size_t count, void (*cb)(void *, size_t, int), void *ctx)
{
    for (size_t k = 0; k < count; k++) {
        struct io_uring_cqe *cqe;
        int rc;

        while ((rc = io_uring_wait_cqe(ring, &cqe)) == -EINTR)
            ;
        if (rc < 0) {
            log_error("msg=\"io_uring wait failed\" err=\"%s\"", err_str(rc));
            abort();
        }
        cb(ctx, (size_t)cqe->user_data, cqe->res);
        io_uring_cqe_seen(ring, cqe);
    }
}

/* Append n bytes to every healthy file with pwrite, finishing short writes. */
static void write_sync(struct fanout *f, const char *p, size_t n, size_t *done)
{
    for (size_t i = 0; i < f->n; i++) {
        while (!f->err[i] && done[i] < n) {
            ssize_t w = pwrite(f->fds[i], p + done[i], n - done[i], (off_t)(f->off + done[i]));
            write_result(f, i, w < 0 ? -errno : (int)w, done);
        }
    }
}

int fanout_write(struct fanout *f, const void *p, size_t n)
{
    size_t done[FANOUT_MAX] = {0};

    /* Chunks are small (a request body piece); cap so res fits an int. */
    if (n > (1u << 30)) {
        int h = 0;
        for (size_t off = 0; off < n; off += (1u << 30))
            h = fanout_write(f, (const char *)p + off, MIN(n - off, (size_t)1 << 30));
        return h;
    }
    if (n == 0)
        return healthy(f);
    /* Buffered writes go through pwrite even in io_uring mode: the kernel
     * cannot do them without blocking, so io_uring hands each one to a
     * worker thread, and measured that way a 256 MiB PUT ran at half the
     * speed (84 vs 159 MB/s) and small PUTs paid for the thread hand-offs.
     * The syncs, which do block for long, still run in parallel there. */
    write_sync(f, p, n, done);
    f->off += n;
    return healthy(f);
}

static void sync_cb(void *ctx, size_t i, int res)
{
    struct fanout *f = ctx;

    if (res < 0)
        f->err[i] = res;
}

static int sync_uring(struct io_uring *ring, struct fanout *f)
{
    size_t pending = 0;

    for (size_t i = 0; i < f->n; i++) {
        if (f->err[i])
            continue;
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        io_uring_prep_fsync(sqe, f->fds[i], IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(sqe, i);
        pending++;
    }
    if (pending == 0)
        return 0;
    int rc = io_uring_submit_and_wait(ring, pending);
    if (rc != (int)pending) {
        if (rc > 0)
            reap(ring, (size_t)rc, sync_cb, f);
        return -1;   /* a second fdatasync of the same file is harmless */
    }
    reap(ring, pending, sync_cb, f);
    return 0;
}

static void sync_sync(struct fanout *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (!f->err[i] && fdatasync(f->fds[i]) < 0)
            f->err[i] = -errno;
    }
}

int fanout_sync(struct fanout *f)
{
    struct io_uring *ring;

    if (!atomic_load(&g_fsync))
        return healthy(f);
    ring = thread_ring();
    if (!ring || sync_uring(ring, f) < 0) {
        if (ring)
            thread_ring_drop();
        sync_sync(f);
    }
    return healthy(f);
}

int fanout_result(const struct fanout *f, size_t i)
{
    return i < f->n ? f->err[i] : -EINVAL;
}

void fanout_fail(struct fanout *f, size_t i, int err)
{
    if (i < f->n && f->err[i] == 0)
        f->err[i] = err < 0 ? err : -EIO;
}

uint64_t fanout_offset(const struct fanout *f)
{
    return f->off;
}

int fsync_dir(const char *path)
{
    int rc = 0;

    if (!atomic_load(&g_fsync))
        return 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int fsync_fd(int fd)
{
    if (!atomic_load(&g_fsync))
        return 0;
    return fsync(fd) < 0 ? -errno : 0;
}

struct many_ctx {
    int *results;
};

static void many_cb(void *ctx, size_t i, int res)
{
    struct many_ctx *m = ctx;

    m->results[i] = res < 0 ? res : 0;
}

/* One submission of n (<= RING_DEPTH) full fsyncs; -1 when the ring failed
 * (the caller syncs the chunk again in turn: a second fsync is harmless). */
static int many_uring(struct io_uring *ring, const int *fds, size_t n, int *results)
{
    struct many_ctx ctx = {results};

    for (size_t i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        io_uring_prep_fsync(sqe, fds[i], 0);
        io_uring_sqe_set_data64(sqe, i);
    }
    int rc = io_uring_submit_and_wait(ring, n);
    if (rc != (int)n) {
        log_warn("msg=\"io_uring submit failed\" err=\"%s\"", err_str(rc < 0 ? rc : -EIO));
        if (rc > 0)
            reap(ring, (size_t)rc, many_cb, &ctx);
        return -1;
    }
    reap(ring, n, many_cb, &ctx);
    return 0;
}

int fsync_many(const int *fds, size_t n, int *results)
{
    struct io_uring *ring;
    int first = 0;

    memset(results, 0, n * sizeof(*results));
    if (!atomic_load(&g_fsync) || n == 0)
        return 0;
    ring = thread_ring();
    for (size_t off = 0; off < n; off += RING_DEPTH) {
        size_t k = MIN(n - off, (size_t)RING_DEPTH);
        if (ring && many_uring(ring, fds + off, k, results + off) < 0) {
            thread_ring_drop();
            ring = NULL;
        }
        for (size_t i = off; !ring && i < off + k; i++)
            results[i] = fsync(fds[i]) < 0 ? -errno : 0;
    }
    for (size_t i = 0; i < n && first == 0; i++)
        first = results[i];
    return first;
}
