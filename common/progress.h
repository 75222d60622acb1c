/* common/progress.h: progress of a long operation, for people watching.
 *
 * On a terminal (stderr is a tty) a bar redrawn in place at most 10 times a
 * second; otherwise a plain line every 5 seconds, so logs and CI output stay
 * readable. Not thread-safe: one operation, one reporting thread. */
#ifndef SWIFTLET_COMMON_PROGRESS_H
#define SWIFTLET_COMMON_PROGRESS_H
#include <stdint.h>

struct progress;

/* Start reporting on `what` ("replicating partitions"); total is the number
 * of units expected, 0 when unknown. Returns NULL when quiet is set, and
 * every function below accepts NULL, so callers need no branches. */
struct progress *progress_start(const char *what, uint64_t total, int quiet);
/* done units so far; cheap to call for every unit. */
void progress_update(struct progress *p, uint64_t done);
/* Print the final line ("what: done/total in 1.2 s") and free p. */
void progress_finish(struct progress *p);
#endif
