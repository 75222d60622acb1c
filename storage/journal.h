/* storage/journal.h: the disk groups' small-write journals, so one sync
 * makes many small object writes durable, listing rows included.
 *
 * Why: made durable one by one, a new small file costs an fdatasync of its
 * body and fsyncs of its name and of every directory made for it, and its
 * listing row a WAL sync on each container DB replica. Where each sync is a
 * device flush (the virtual disks this runs on), those flushes, not the
 * bytes, cap the rate of small writes (~9 flushes per 4 KiB PUT).
 *
 * With journals, a small file's whole content goes into an append-only
 * journal on each replica's disk group first. One committer thread per disk
 * group writes everything queued in one pwrite and one fdatasync (a group
 * commit), and only then does the file get its name, unsynced. The listing
 * row of a journaled write is committed without a WAL sync (the DB's
 * "relaxed" commits, meta.h). Every checkpoint_ms a checkpointer starts a
 * new journal file on every disk group, waits for the writes that used the
 * old files to finish their listing rows (journal_hold), syncs every disk
 * group's filesystem (syncfs: one flush for everything since the last
 * checkpoint) and deletes the old files.
 *
 * The guarantee stays the one of the sync-per-file path: a write answered
 * 2xx survives a power cut. A file that has a name but may not be on disk,
 * or a listing row that may not be, always has a synced record. At the next
 * start journals_open rewrites every file whose content on disk differs
 * from its record (torn, missing, never written back) and hands each
 * record's object name to a callback that sets its listing row from the
 * replicas, before anything reads the disk groups. Replaying an older
 * record next to a newer file is harmless: the newest file of a hash
 * directory wins and the next write there removes the rest.
 *
 * Only the process serving requests owns the journals (an exclusive flock
 * on <dg>/journal.lock); other processes (the replicate and audit commands)
 * keep syncing file by file.
 *
 * Files: <dg>/journal-<generation>, a sequence of records, little-endian:
 *     "SWJ1"  u32 record length  u32 crc32c of the rest
 *     u16 path length  u16 name length
 *     path (relative to the disk group)  name ("/account/container/object",
 *     or empty)  content
 * A torn or damaged record ends the replay of its file: nothing after it
 * was acknowledged. */
#ifndef SWIFTLET_STORAGE_JOURNAL_H
#define SWIFTLET_STORAGE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/util.h"
#include "dg.h"

#define JOURNAL_CONTENT_MAX (64u << 10)     /* larger files sync on their own */
#define JOURNAL_PATH_MAX 1024
#define JOURNAL_NAME_MAX 4096
#define JOURNAL_HEADER_LEN 16
#define JOURNAL_CHECKPOINT_BYTES (32u << 20)    /* checkpoint early past this */

struct journal;         /* one disk group's */
struct journals;        /* every journal of the process, and the checkpointer */

/* Called at open for each object name the replayed records hold (once per
 * name), once every journal's files are restored; its errors are logged by
 * the callee. Every filesystem is synced after the last call, so it may
 * commit relaxed (meta.h). */
typedef void journal_name_fn(const char *name, size_t len, void *arg);

/* Take the journal of each of the n disk groups (skipping any that is not
 * usable, or that another process owns: those sync file by file), replay
 * what a previous run left, attach each journal to its disk group
 * (dg_set_journal), and start the committers and the checkpointer. A disk
 * group whose replay fails is marked failed (dg_note_result) and keeps its
 * files for the next start. dgs must hold every disk group whose
 * filesystem keeps DBs too: a checkpoint syncs all of them. 0, or -errno
 * when no thread could start (nothing is left attached then). */
int journals_open(struct journals **out, struct disk_group *const *dgs, size_t n,
                  unsigned checkpoint_ms, journal_name_fn *on_name, void *arg) WUR;
/* Checkpoint, stop every thread, detach and close: a clean stop leaves no
 * journal file. No write may be in flight. NULL is a no-op. */
void journals_close(struct journals *js);

/* A write holds the checkpoint from before its first record until its
 * listing rows are committed: records go only once the writes that made
 * them are listed. Cheap; works (and is a no-op) without journals. */
uint64_t journal_hold(void);
void journal_release(uint64_t hold);

/* One record to append; journal_append_wait fills rc. */
struct journal_append {
    struct journal *j;
    const char *path;       /* relative to the disk group: "objects/..." */
    const char *name;       /* "/account/container/object", or NULL */
    const void *data;
    size_t len;             /* <= JOURNAL_CONTENT_MAX */
    int rc;                 /* out: 0 once synced, or -errno */
    /* the committer's */
    struct journal_append *next;
    struct journal_waiter *waiter;
};
/* Queue every record (each on its own journal, or several on one) and
 * return once each is synced or failed. A failure is also reported to the
 * disk group. */
void journal_append_wait(struct journal_append *a, size_t n);

/* Replay one journal file (open at fd) of dg: rewrite, synced, each file
 * whose content differs from its record, from the start up to the first
 * damaged record, and append each record's name (NUL-terminated) to names.
 * The number of records read, or -errno; *restored counts the files
 * rewritten. For journals_open and tests. */
long journal_replay_file(struct disk_group *dg, int fd, struct buf *names,
                         unsigned long *restored);

/* The record bytes, appended to out. */
void journal_record_encode(struct buf *out, const char *path, const char *name, const void *data,
                           size_t len);
/* A decoded record: pointers into the bytes decoded, not terminated. */
struct journal_record {
    size_t rec_len;
    const char *path, *name;
    size_t path_len, name_len;
    const uint8_t *data;
    size_t len;
};
/* Decode the record at p (n bytes available): 0, ERR_CORRUPT for a damaged
 * record, -EAGAIN when n is too short for the whole record. */
int journal_record_decode(const uint8_t *p, size_t n, struct journal_record *r) WUR;

#endif
