/* tests/faultinject/faultinject.c: This file implements a test-only fault
 * injector for swiftlet, loaded with LD_PRELOAD (build/libfaultinject.so,
 * never installed). See tests/faultinject/README.md.
 *
 * The env var SWIFTLET_FAULTS names a control file of lines
 *     <disk group directory> <fault>
 * with fault one of eio, enospc, erofs, vanish, delay=<ms>, ok. Calls on
 * paths under a listed directory (the directory itself included), and on
 * file descriptors opened on such paths, fail or sleep as the fault says.
 * The file is re-read when its mtime changes (checked at most every 50 ms),
 * so a test injects and heals faults while the server runs.
 *
 * It wraps the libc calls swiftlet, SQLite and libmicrohttpd make on files
 * (open*, read/write families, fsync, rename, unlink, mkdir, stat families,
 * link, sendfile, opendir/readdir, getdents64, ...) and keeps an fd -> path
 * table. io_uring submissions bypass libc, so io_uring_queue_init* fail
 * while the shim is loaded and swiftlet uses its pwrite/fdatasync path.
 * Calls libc makes internally (e.g. fopen's open) are not seen. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 32
#define MAX_FDS 8192
#define SLOT_PATH 512
#define RECHECK_NS 50000000LL
#define FD_LOCKS 64

enum fault { FI_OK = 0, FI_EIO, FI_ENOSPC, FI_EROFS, FI_VANISH, FI_DELAY };

/* What a call does to the file system, which decides the errno a fault
 * gives it. */
enum op { OP_READ, OP_OPEN_WRITE, OP_WRITE, OP_CREATE, OP_REMOVE, OP_SYNC, OP_META };

struct rule {
    char dir[PATH_MAX];
    size_t len;
    enum fault f;
    unsigned delay_ms;
};

struct rules {
    size_t n;
    struct rule r[MAX_RULES];
};

static _Atomic(struct rules *) g_rules;
static pthread_mutex_t g_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic long long g_next_check;
static struct timespec g_mtime;
static bool g_have_file;

/* fd -> the path it was opened on; "" when not tracked. */
static char g_fd_path[MAX_FDS][SLOT_PATH];
static pthread_mutex_t g_fd_lock[FD_LOCKS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#define REAL(name) real_##name
#define DECL(ret, name, ...) static ret (*real_##name)(__VA_ARGS__)

DECL(int, open, const char *, int, ...);
DECL(int, open64, const char *, int, ...);
DECL(int, openat, int, const char *, int, ...);
DECL(int, openat64, int, const char *, int, ...);
DECL(int, creat, const char *, mode_t);
DECL(int, creat64, const char *, mode_t);
DECL(int, close, int);
DECL(int, dup, int);
DECL(int, dup2, int, int);
DECL(int, dup3, int, int, int);
DECL(ssize_t, read, int, void *, size_t);
DECL(ssize_t, pread, int, void *, size_t, off_t);
DECL(ssize_t, pread64, int, void *, size_t, off_t);
DECL(ssize_t, readv, int, const struct iovec *, int);
DECL(ssize_t, preadv, int, const struct iovec *, int, off_t);
DECL(ssize_t, write, int, const void *, size_t);
DECL(ssize_t, pwrite, int, const void *, size_t, off_t);
DECL(ssize_t, pwrite64, int, const void *, size_t, off_t);
DECL(ssize_t, writev, int, const struct iovec *, int);
DECL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
DECL(ssize_t, pwritev64, int, const struct iovec *, int, off_t);
DECL(ssize_t, pwritev2, int, const struct iovec *, int, off_t, int);
DECL(int, fsync, int);
DECL(int, fdatasync, int);
DECL(int, syncfs, int);
DECL(int, ftruncate, int, off_t);
DECL(int, ftruncate64, int, off_t);
DECL(int, fallocate, int, int, off_t, off_t);
DECL(int, fallocate64, int, int, off_t, off_t);
DECL(int, posix_fallocate, int, off_t, off_t);
DECL(int, rename, const char *, const char *);
DECL(int, renameat, int, const char *, int, const char *);
DECL(int, renameat2, int, const char *, int, const char *, unsigned);
DECL(int, link, const char *, const char *);
DECL(int, linkat, int, const char *, int, const char *, int);
DECL(int, unlink, const char *);
DECL(int, unlinkat, int, const char *, int);
DECL(int, rmdir, const char *);
DECL(int, mkdir, const char *, mode_t);
DECL(int, mkdirat, int, const char *, mode_t);
DECL(int, stat, const char *, struct stat *);
DECL(int, stat64, const char *, struct stat64 *);
DECL(int, lstat, const char *, struct stat *);
DECL(int, lstat64, const char *, struct stat64 *);
DECL(int, fstat, int, struct stat *);
DECL(int, fstat64, int, struct stat64 *);
DECL(int, fstatat, int, const char *, struct stat *, int);
DECL(int, fstatat64, int, const char *, struct stat64 *, int);
DECL(int, statx, int, const char *, int, unsigned, struct statx *);
DECL(int, access, const char *, int);
DECL(int, faccessat, int, const char *, int, int);
DECL(ssize_t, sendfile, int, int, off_t *, size_t);
DECL(ssize_t, sendfile64, int, int, off_t *, size_t);
DECL(ssize_t, copy_file_range, int, off_t *, int, off_t *, size_t, unsigned);
DECL(DIR *, opendir, const char *);
DECL(DIR *, fdopendir, int);
DECL(int, closedir, DIR *);
DECL(struct dirent *, readdir, DIR *);
DECL(struct dirent64 *, readdir64, DIR *);
DECL(ssize_t, getdents64, int, void *, size_t);

static void *next_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

#define LOAD(name) real_##name = next_sym(#name)

static void load_all(void)
{
    for (size_t i = 0; i < FD_LOCKS; i++)
        pthread_mutex_init(&g_fd_lock[i], NULL);
    LOAD(open); LOAD(open64); LOAD(openat); LOAD(openat64); LOAD(creat); LOAD(creat64);
    LOAD(close); LOAD(dup); LOAD(dup2); LOAD(dup3);
    LOAD(read); LOAD(pread); LOAD(pread64); LOAD(readv); LOAD(preadv);
    LOAD(write); LOAD(pwrite); LOAD(pwrite64); LOAD(writev); LOAD(pwritev); LOAD(pwritev64);
    LOAD(pwritev2); LOAD(fsync); LOAD(fdatasync); LOAD(syncfs); LOAD(ftruncate); LOAD(ftruncate64);
    LOAD(fallocate); LOAD(fallocate64); LOAD(posix_fallocate);
    LOAD(rename); LOAD(renameat); LOAD(renameat2); LOAD(link); LOAD(linkat);
    LOAD(unlink); LOAD(unlinkat); LOAD(rmdir); LOAD(mkdir); LOAD(mkdirat);
    LOAD(stat); LOAD(stat64); LOAD(lstat); LOAD(lstat64); LOAD(fstat); LOAD(fstat64);
    LOAD(fstatat); LOAD(fstatat64); LOAD(statx); LOAD(access); LOAD(faccessat);
    LOAD(sendfile); LOAD(sendfile64); LOAD(copy_file_range);
    LOAD(opendir); LOAD(fdopendir); LOAD(closedir); LOAD(readdir); LOAD(readdir64);
    LOAD(getdents64);
}

static void init(void)
{
    pthread_once(&g_once, load_all);
}

__attribute__((constructor)) static void faultinject_ctor(void)
{
    init();
}

/* ---- the control file ---- */

static long long now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static bool parse_fault(const char *s, struct rule *r)
{
    r->delay_ms = 0;
    if (strcmp(s, "eio") == 0)
        r->f = FI_EIO;
    else if (strcmp(s, "enospc") == 0)
        r->f = FI_ENOSPC;
    else if (strcmp(s, "erofs") == 0)
        r->f = FI_EROFS;
    else if (strcmp(s, "vanish") == 0)
        r->f = FI_VANISH;
    else if (strcmp(s, "ok") == 0)
        r->f = FI_OK;
    else if (strncmp(s, "delay=", 6) == 0) {
        r->f = FI_DELAY;
        r->delay_ms = (unsigned)strtoul(s + 6, NULL, 10);
    } else
        return false;
    return true;
}

/* Parse the control file (read with the real calls) into a new table. */
static struct rules *rules_read(const char *path)
{
    struct rules *rs = calloc(1, sizeof(*rs));
    char text[16384];
    int fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : REAL(read)(fd, text, sizeof(text) - 1);

    if (fd >= 0)
        REAL(close)(fd);
    if (!rs || n < 0)
        return rs;
    text[n] = '\0';
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && rs->n < MAX_RULES;
         line = strtok_r(NULL, "\n", &save)) {
        char dir[PATH_MAX], fault[64];
        struct rule *r = &rs->r[rs->n];
        if (line[0] == '#' || sscanf(line, "%4095s %63s", dir, fault) != 2 ||
            !parse_fault(fault, r))
            continue;
        size_t len = strlen(dir);
        while (len > 1 && dir[len - 1] == '/')
            dir[--len] = '\0';
        memcpy(r->dir, dir, len + 1);
        r->len = len;
        rs->n++;
    }
    return rs;
}

/* Re-read the control file when its mtime changed, at most every 50 ms.
 * Old tables are kept (never freed): a thread may still be reading one. */
static struct rules *rules_get(void)
{
    long long now = now_ns();
    const char *path = getenv("SWIFTLET_FAULTS");

    if (!path || !*path)
        return NULL;
    if (now >= atomic_load_explicit(&g_next_check, memory_order_relaxed) &&
        pthread_mutex_trylock(&g_reload_lock) == 0) {
        struct stat st;
        bool have = REAL(stat)(path, &st) == 0;
        if (have != g_have_file || (have && (st.st_mtim.tv_sec != g_mtime.tv_sec ||
                                             st.st_mtim.tv_nsec != g_mtime.tv_nsec))) {
            struct rules *rs = have ? rules_read(path) : calloc(1, sizeof(*rs));
            if (rs)
                atomic_store(&g_rules, rs);
            g_have_file = have;
            if (have)
                g_mtime = st.st_mtim;
        }
        atomic_store(&g_next_check, now + RECHECK_NS);
        pthread_mutex_unlock(&g_reload_lock);
    }
    return atomic_load(&g_rules);
}

/* The rule covering path, or NULL. */
static const struct rule *rule_for(const char *path)
{
    struct rules *rs;

    if (!path || path[0] != '/' || !(rs = rules_get()))
        return NULL;
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->r[i];
        if (r->f != FI_OK && strncmp(path, r->dir, r->len) == 0 &&
            (path[r->len] == '/' || path[r->len] == '\0'))
            return r;
    }
    return NULL;
}

/* ---- fd -> path ---- */

static void fd_set_path(int fd, const char *path)
{
    if (fd < 0 || fd >= MAX_FDS)
        return;
    pthread_mutex_t *l = &g_fd_lock[fd % FD_LOCKS];
    pthread_mutex_lock(l);
    if (!path || strlen(path) >= SLOT_PATH)
        g_fd_path[fd][0] = '\0';
    else
        strcpy(g_fd_path[fd], path);
    pthread_mutex_unlock(l);
}

/* Copy fd's path into out (SLOT_PATH bytes); false when not tracked. */
static bool fd_get_path(int fd, char *out)
{
    if (fd < 0 || fd >= MAX_FDS)
        return false;
    pthread_mutex_t *l = &g_fd_lock[fd % FD_LOCKS];
    pthread_mutex_lock(l);
    strcpy(out, g_fd_path[fd]);
    pthread_mutex_unlock(l);
    return out[0] != '\0';
}

/* The absolute form of (dirfd, name) into out; false when unknown. */
static bool resolve(int dirfd, const char *name, char *out, size_t len)
{
    char base[SLOT_PATH > PATH_MAX ? SLOT_PATH : PATH_MAX];

    if (!name)
        return false;
    if (name[0] == '/') {
        snprintf(out, len, "%s", name);
        return true;
    }
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof(base)))
            return false;
    } else if (!fd_get_path(dirfd, base)) {
        return false;
    }
    if (name[0] == '\0')
        snprintf(out, len, "%s", base);
    else
        snprintf(out, len, "%s/%s", base, name);
    return true;
}

/* ---- deciding a call's fate ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* 0 to let the call run, else the errno it fails with. path_op: the call
 * names a path (vanish answers ENOENT), else it works on an open fd. */
static int fate(const struct rule *r, enum op op, bool path_op)
{
    if (!r)
        return 0;
    switch (r->f) {
    case FI_OK:
        return 0;
    case FI_DELAY:
        sleep_ms(r->delay_ms);
        return 0;
    case FI_EIO:
        return EIO;
    case FI_VANISH:
        return path_op ? ENOENT : EIO;
    case FI_ENOSPC:
        return op == OP_WRITE || op == OP_CREATE ? ENOSPC : 0;
    case FI_EROFS:
        return op == OP_WRITE || op == OP_CREATE || op == OP_REMOVE || op == OP_OPEN_WRITE
                   ? EROFS
                   : 0;
    }
    return 0;
}

static int path_fate(int dirfd, const char *name, enum op op)
{
    char p[PATH_MAX];

    init();
    if (!resolve(dirfd, name, p, sizeof(p)))
        return 0;
    return fate(rule_for(p), op, true);
}

static int fd_fate(int fd, enum op op)
{
    char p[SLOT_PATH];

    init();
    if (!fd_get_path(fd, p))
        return 0;
    return fate(rule_for(p), op, false);
}

static enum op open_op(int flags)
{
    if (flags & O_CREAT)
        return OP_CREATE;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        return OP_OPEN_WRITE;     /* a full disk still opens files for writing */
    return OP_READ;
}

#define FAIL_IF(expr, ret)                                                                         \
    do {                                                                                           \
        int e_ = (expr);                                                                           \
        if (e_) {                                                                                  \
            errno = e_;                                                                            \
            return ret;                                                                            \
        }                                                                                          \
    } while (0)

/* ---- opening and closing ---- */

static mode_t va_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

static int track_open(int fd, int dirfd, const char *name)
{
    char p[PATH_MAX];

    if (fd >= 0)
        fd_set_path(fd, resolve(dirfd, name, p, sizeof(p)) ? p : NULL);
    return fd;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    FAIL_IF(path_fate(AT_FDCWD, path, open_op(flags)), -1);
    return track_open(REAL(open)(path, flags, mode), AT_FDCWD, path);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    FAIL_IF(path_fate(AT_FDCWD, path, open_op(flags)), -1);
    return track_open(REAL(open64)(path, flags, mode), AT_FDCWD, path);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    FAIL_IF(path_fate(dirfd, path, open_op(flags)), -1);
    return track_open(REAL(openat)(dirfd, path, flags, mode), dirfd, path);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    FAIL_IF(path_fate(dirfd, path, open_op(flags)), -1);
    return track_open(REAL(openat64)(dirfd, path, flags, mode), dirfd, path);
}

int creat(const char *path, mode_t mode)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_CREATE), -1);
    return track_open(REAL(creat)(path, mode), AT_FDCWD, path);
}

int creat64(const char *path, mode_t mode)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_CREATE), -1);
    return track_open(REAL(creat64)(path, mode), AT_FDCWD, path);
}

int close(int fd)
{
    init();
    fd_set_path(fd, NULL);
    return REAL(close)(fd);
}

static int track_dup(int oldfd, int newfd)
{
    char p[SLOT_PATH];

    if (newfd >= 0)
        fd_set_path(newfd, fd_get_path(oldfd, p) ? p : NULL);
    return newfd;
}

int dup(int fd)
{
    init();
    return track_dup(fd, REAL(dup)(fd));
}

int dup2(int fd, int fd2)
{
    init();
    return track_dup(fd, REAL(dup2)(fd, fd2));
}

int dup3(int fd, int fd2, int flags)
{
    init();
    return track_dup(fd, REAL(dup3)(fd, fd2, flags));
}

/* ---- data ---- */

ssize_t read(int fd, void *p, size_t n)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(read)(fd, p, n);
}

ssize_t pread(int fd, void *p, size_t n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(pread)(fd, p, n, off);
}

ssize_t pread64(int fd, void *p, size_t n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(pread64)(fd, p, n, off);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(readv)(fd, iov, n);
}

ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(preadv)(fd, iov, n, off);
}

ssize_t write(int fd, const void *p, size_t n)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(write)(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(pwrite)(fd, p, n, off);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(pwrite64)(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(writev)(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(pwritev)(fd, iov, n, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(pwritev64)(fd, iov, n, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(pwritev2)(fd, iov, n, off, flags);
}

int fsync(int fd)
{
    FAIL_IF(fd_fate(fd, OP_SYNC), -1);
    return REAL(fsync)(fd);
}

int fdatasync(int fd)
{
    FAIL_IF(fd_fate(fd, OP_SYNC), -1);
    return REAL(fdatasync)(fd);
}

/* The journal's checkpoint syncs a disk group's filesystem through an fd
 * of its directory: the fault of that directory applies. */
int syncfs(int fd)
{
    FAIL_IF(fd_fate(fd, OP_SYNC), -1);
    return REAL(syncfs)(fd);
}

int ftruncate(int fd, off_t len)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(ftruncate)(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(ftruncate64)(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(fallocate)(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
    FAIL_IF(fd_fate(fd, OP_WRITE), -1);
    return REAL(fallocate64)(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    int e = fd_fate(fd, OP_WRITE);

    return e ? e : REAL(posix_fallocate)(fd, off, len);    /* returns the error */
}

ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    FAIL_IF(fd_fate(in, OP_READ), -1);
    return REAL(sendfile)(out, in, off, n);
}

ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
    FAIL_IF(fd_fate(in, OP_READ), -1);
    return REAL(sendfile64)(out, in, off, n);
}

ssize_t copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t n, unsigned fl)
{
    FAIL_IF(fd_fate(in, OP_READ), -1);
    FAIL_IF(fd_fate(out, OP_WRITE), -1);
    return REAL(copy_file_range)(in, in_off, out, out_off, n, fl);
}

/* ---- names ---- */

int rename(const char *a, const char *b)
{
    FAIL_IF(path_fate(AT_FDCWD, a, OP_CREATE), -1);
    FAIL_IF(path_fate(AT_FDCWD, b, OP_CREATE), -1);
    return REAL(rename)(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
    FAIL_IF(path_fate(da, a, OP_CREATE), -1);
    FAIL_IF(path_fate(db, b, OP_CREATE), -1);
    return REAL(renameat)(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned fl)
{
    FAIL_IF(path_fate(da, a, OP_CREATE), -1);
    FAIL_IF(path_fate(db, b, OP_CREATE), -1);
    return REAL(renameat2)(da, a, db, b, fl);
}

int link(const char *a, const char *b)
{
    FAIL_IF(path_fate(AT_FDCWD, a, OP_READ), -1);
    FAIL_IF(path_fate(AT_FDCWD, b, OP_CREATE), -1);
    return REAL(link)(a, b);
}

int linkat(int da, const char *a, int db, const char *b, int fl)
{
    FAIL_IF(path_fate(da, a, OP_READ), -1);
    FAIL_IF(path_fate(db, b, OP_CREATE), -1);
    return REAL(linkat)(da, a, db, b, fl);
}

int unlink(const char *path)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_REMOVE), -1);
    return REAL(unlink)(path);
}

int unlinkat(int dirfd, const char *path, int fl)
{
    FAIL_IF(path_fate(dirfd, path, OP_REMOVE), -1);
    return REAL(unlinkat)(dirfd, path, fl);
}

int rmdir(const char *path)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_REMOVE), -1);
    return REAL(rmdir)(path);
}

/* A full or read-only filesystem still answers EEXIST for a directory
 * that exists, as the kernel looks the name up first. */
static int mkdir_fate(int dirfd, const char *path)
{
    struct stat st;
    int e = path_fate(dirfd, path, OP_CREATE);

    if ((e == ENOSPC || e == EROFS) && REAL(fstatat)(dirfd, path, &st, 0) == 0)
        return EEXIST;
    return e;
}

int mkdir(const char *path, mode_t mode)
{
    FAIL_IF(mkdir_fate(AT_FDCWD, path), -1);
    return REAL(mkdir)(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    FAIL_IF(mkdir_fate(dirfd, path), -1);
    return REAL(mkdirat)(dirfd, path, mode);
}

/* ---- metadata ---- */

int stat(const char *path, struct stat *st)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_META), -1);
    return REAL(stat)(path, st);
}

int stat64(const char *path, struct stat64 *st)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_META), -1);
    return REAL(stat64)(path, st);
}

int lstat(const char *path, struct stat *st)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_META), -1);
    return REAL(lstat)(path, st);
}

int lstat64(const char *path, struct stat64 *st)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_META), -1);
    return REAL(lstat64)(path, st);
}

int fstat(int fd, struct stat *st)
{
    FAIL_IF(fd_fate(fd, OP_META), -1);
    return REAL(fstat)(fd, st);
}

int fstat64(int fd, struct stat64 *st)
{
    FAIL_IF(fd_fate(fd, OP_META), -1);
    return REAL(fstat64)(fd, st);
}

int fstatat(int dirfd, const char *path, struct stat *st, int fl)
{
    FAIL_IF(path_fate(dirfd, path, OP_META), -1);
    return REAL(fstatat)(dirfd, path, st, fl);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int fl)
{
    FAIL_IF(path_fate(dirfd, path, OP_META), -1);
    return REAL(fstatat64)(dirfd, path, st, fl);
}

int statx(int dirfd, const char *path, int fl, unsigned mask, struct statx *st)
{
    FAIL_IF(path_fate(dirfd, path, OP_META), -1);
    return REAL(statx)(dirfd, path, fl, mask, st);
}

int access(const char *path, int mode)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_META), -1);
    return REAL(access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int fl)
{
    FAIL_IF(path_fate(dirfd, path, OP_META), -1);
    return REAL(faccessat)(dirfd, path, mode, fl);
}

/* ---- directories ---- */

DIR *opendir(const char *path)
{
    FAIL_IF(path_fate(AT_FDCWD, path, OP_READ), NULL);
    DIR *d = REAL(opendir)(path);
    if (d)
        track_open(dirfd(d), AT_FDCWD, path);
    return d;
}

DIR *fdopendir(int fd)
{
    FAIL_IF(fd_fate(fd, OP_READ), NULL);
    return REAL(fdopendir)(fd);
}

int closedir(DIR *d)
{
    init();
    fd_set_path(dirfd(d), NULL);
    return REAL(closedir)(d);
}

struct dirent *readdir(DIR *d)
{
    FAIL_IF(fd_fate(dirfd(d), OP_READ), NULL);
    return REAL(readdir)(d);
}

struct dirent64 *readdir64(DIR *d)
{
    FAIL_IF(fd_fate(dirfd(d), OP_READ), NULL);
    return REAL(readdir64)(d);
}

ssize_t getdents64(int fd, void *buf, size_t n)
{
    FAIL_IF(fd_fate(fd, OP_READ), -1);
    return REAL(getdents64)(fd, buf, n);
}

/* ---- io_uring: its submissions bypass libc, so none is allowed ---- */

struct io_uring;
struct io_uring_params;

int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
                               struct io_uring_params *p);

int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
    (void)entries;
    (void)ring;
    (void)flags;
    return -ENOSYS;
}

int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
                               struct io_uring_params *p)
{
    (void)entries;
    (void)ring;
    (void)p;
    return -ENOSYS;
}
