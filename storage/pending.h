/* storage/pending.h: listing updates in flight, so a crash cannot leave a
 * listing that disagrees with the objects.
 *
 * An object write makes its files durable first and commits its listing
 * rows second. A process killed between the two would leave an object its
 * container does not list (or lists with an old ETag). So before the files
 * are written, the write notes its name in a pending log on a disk group,
 * and clears the note once the rows are committed. At the next start every
 * note still in a log is replayed (server/recover.c): the object's replicas
 * are brought to their newest version, and the listing row is set from it
 * (newest wins, so replaying twice, or replaying a write that did finish,
 * changes nothing).
 *
 * Files: <dg>/pending-<generation>.log, one line per note:
 *     <ts> TAB <account> TAB <container> TAB <object> TAB <crc32c> LF
 * names percent-encoded where they hold bytes below 0x21 or '%'. A log
 * grows to PENDING_ROTATE bytes, then the next generation starts; a
 * finished generation whose notes are all cleared is deleted.
 *
 * The notes are written, not synced: they cover a process crash (kill -9,
 * OOM), where the page cache survives. After a power cut an unacknowledged
 * write may stay unlisted; an acknowledged one never is, since its rows
 * were committed (and synced) before the answer. Thread-safe. */
#ifndef SWIFTLET_STORAGE_PENDING_H
#define SWIFTLET_STORAGE_PENDING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "dg.h"

#define PENDING_ROTATE (4u << 20)

struct pending;

/* The pending logs of these disk groups (the array is copied; the disk
 * groups must outlive the result). Nothing is opened until first use. */
struct pending *pending_new(struct disk_group *const *dgs, size_t n);
/* Close every log and delete the ones whose notes are all cleared (a clean
 * stop leaves nothing to replay). NULL is a no-op. */
void pending_free(struct pending *p);

/* A note in flight; pending_clear releases it. It also holds the journal
 * checkpoint (journal_hold): the write's journal records stay until its
 * listing rows are in. */
struct pending_note {
    struct pending_log *log;    /* NULL when nothing was written */
    uint64_t gen;
    uint64_t hold;
    bool held;                  /* hold is taken (pending_note was called) */
};

/* Note the write at ts of /account/container/object on the first usable
 * disk group of pl. Never fails the write: without a usable log it is only
 * logged, and note->log is NULL. */
void pending_note(struct pending *p, const struct placement *pl, int64_t ts, const char *account,
                  const char *container, const char *object, struct pending_note *note);
/* The rows are committed (or the write failed): the note is no longer
 * needed. A NULL log is a no-op. */
void pending_clear(struct pending_note *note);

/* One note read back from a log. */
struct pending_update {
    int64_t ts;
    char *account, *container, *object;
};

/* Call apply for every intact note in the logs left on the disk groups
 * (torn or damaged lines are skipped), then delete those logs. Call once
 * at start, before any pending_note. apply's errors are counted, not
 * fatal. Returns the number of notes replayed, or -errno. */
long pending_replay(struct pending *p, int (*apply)(const struct pending_update *u, void *arg),
                    void *arg);

/* Encode and decode one note line (without the LF); for the fuzzer and
 * tests. encode returns a heap string; decode fills u (heap strings, free
 * with pending_update_release) and returns 0 or ERR_CORRUPT. */
char *pending_line_encode(int64_t ts, const char *account, const char *container,
                          const char *object);
int pending_line_decode(const char *line, size_t len, struct pending_update *u) WUR;
void pending_update_release(struct pending_update *u);
#endif
