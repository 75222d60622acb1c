/* storage/io.h: writing the same bytes to several files at once.
 *
 * One object PUT writes each body chunk to its 2 or 3 replica temp files and
 * ends with an fdatasync of every file. Chunks are written with pwrite (a
 * buffered write only copies into the page cache; io_uring would hand it to
 * a worker thread, which measured twice as slow). The syncs, which wait for
 * the disk, are one io_uring submission that the kernel runs in parallel;
 * the fallback does fdatasync in turn behind the same interface. io.c is
 * the only file that includes liburing.h.
 *
 * A fanout is used by one thread at a time (one per request). Each file has
 * its own result: a failure of one replica does not fail the others, and the
 * caller decides whether a quorum is left. */
#ifndef SWIFTLET_STORAGE_IO_H
#define SWIFTLET_STORAGE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/util.h"

#define FANOUT_MAX 8

enum io_mode { IO_AUTO = 0, IO_URING, IO_SYNC };

/* Choose the process-wide mode once at start ("auto" tries io_uring and
 * falls back when it cannot be set up, e.g. under seccomp or valgrind; the
 * env var SWIFTLET_IO=sync forces the fallback). 0 or -EINVAL. */
int io_global_init(const char *mode) WUR;
/* The mode in force after io_global_init: IO_URING or IO_SYNC. */
enum io_mode io_mode_in_use(void);
/* With off ([storage] fsync = false, throwaway test data) fanout_sync and
 * fsync_dir return at once without syncing. On by default. */
void io_set_fsync(bool on);

struct fanout;

/* A fanout over n (<= FANOUT_MAX) open file descriptors, writing from
 * offset 0. The fds stay owned by the caller. */
int fanout_new(struct fanout **out, const int *fds, size_t n) WUR;
void fanout_free(struct fanout *f);    /* NULL is a no-op */

/* Append n bytes to every file still healthy. Files whose write fails are
 * marked failed (see fanout_result) and skipped afterwards. Returns the
 * number of files still healthy (>= 0). */
int fanout_write(struct fanout *f, const void *p, size_t n);
/* fdatasync every healthy file in parallel; returns files still healthy. */
int fanout_sync(struct fanout *f);
/* 0 while file i is healthy, else the -errno that failed it. */
int fanout_result(const struct fanout *f, size_t i);
/* Mark file i failed with err (e.g. the caller's own check failed). */
void fanout_fail(struct fanout *f, size_t i, int err);
uint64_t fanout_offset(const struct fanout *f);

/* fsync a directory by path (after a rename into it). 0 or -errno. */
int fsync_dir(const char *path) WUR;
/* fsync one open file (small files: tombstones, .meta, the ring). 0 or -errno.
 * Like fanout_sync and fsync_dir, a no-op while io_set_fsync(false). */
int fsync_fd(int fd) WUR;
/* fsync n open fds (files or directories) together: one io_uring submission
 * per up to 16 fds, which the kernel runs in parallel, so n syncs cost about
 * one device round trip instead of n; in turn on the synchronous path.
 * results[i] (n entries, caller's storage) gets fd i's 0 or -errno. Returns
 * 0 when every fd synced, else the first failure's -errno. A no-op (all 0)
 * while io_set_fsync(false). */
int fsync_many(const int *fds, size_t n, int *results) WUR;

#endif
