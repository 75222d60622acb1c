/* storage/journal.h: the small-write journals, so one sync makes many
 * small object writes durable, listing rows included.
 *
 * Why: made durable one by one, a new small file costs an fdatasync of its
 * body and fsyncs of its name and of every directory made for it, and its
 * listing row a WAL sync on each container DB replica. Where each sync is a
 * device flush (the virtual disks this runs on), those flushes, not the
 * bytes, cap the rate of small writes (~9 flushes per 4 KiB PUT).
 *
 * With journals, a small file's whole content goes into an append-only
 * journal first, one record per replica. There is one journal per
 * filesystem: disk groups that share one (st_dev) share its journal, so
 * the three replicas of a write to one disk (tests, `make run`, a small
 * box) take one sync, not three; disk groups on their own disks keep their
 * own. One committer thread per journal writes everything queued in one
 * pwrite and one fdatasync (a group commit), and only then does each file
 * get its name, unsynced. The listing row of a journaled write is
 * committed without a WAL sync (the DB's "relaxed" commits, meta.h). Every
 * checkpoint_ms a checkpointer starts a new journal file for every
 * journal, waits for the writes that used the old files to finish their
 * listing rows (journal_hold), syncs every disk group's filesystem
 * (syncfs: one flush for everything since the last checkpoint) and deletes
 * the old files.
 *
 * A shared journal's file lives in one of its disk groups (its home: the
 * first usable one). When a write there fails, that disk group is marked
 * (dg_note_result) and the journal moves to the next usable one and writes
 * the batch again, so one failing disk group fails only its own replicas,
 * as with journals of their own.
 *
 * The guarantee stays the one of the sync-per-file path: a write answered
 * 2xx survives a power cut. A file that has a name but may not be on disk,
 * or a listing row that may not be, always has a synced record. At the next
 * start journals_open reads every journal file of every disk group, rewrites
 * every file whose content on disk differs from its record (torn, missing,
 * never written back) on the disk group the record names, and hands each
 * record's object name to a callback that sets its listing row from the
 * replicas, before anything reads the disk groups. Replaying an older
 * record next to a newer file is harmless: the newest file of a hash
 * directory wins and the next write there removes the rest. A journal file
 * holding a record that could not be restored (its disk group not usable
 * now, or the rewrite failed) is kept for the next start.
 *
 * Only the process serving requests owns the journals (an exclusive flock
 * on <dg>/journal.lock of every member); other processes (the replicate
 * and audit commands) keep syncing file by file.
 *
 * Files: <dg>/journal-<generation>, a sequence of records, little-endian:
 *     "SWJ2"  u32 record length  u32 crc32c of the rest
 *     u32 disk group id  u16 path length  u16 name length
 *     path (relative to the disk group)  name ("/account/container/object",
 *     or empty)  content
 * A torn or damaged record ends the replay of its file: nothing after it
 * was acknowledged. Records "SWJ1" (a file left by an older swiftlet) have
 * no disk group id and belong to the file's own disk group. */
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
#define JOURNAL_HEADER_LEN 20
#define JOURNAL_CHECKPOINT_BYTES (32u << 20)    /* checkpoint early past this */

struct journal;         /* one filesystem's */
struct journals;        /* every journal of the process, and the checkpointer */

/* Called at open for each object name the replayed records hold (once per
 * name), once every journal's files are restored; its errors are logged by
 * the callee. Every filesystem is synced after the last call, so it may
 * commit relaxed (meta.h). */
typedef void journal_name_fn(const char *name, size_t len, void *arg);

/* Take the journal lock of each of the n disk groups (skipping any that is
 * not usable, or that another process owns: those sync file by file),
 * replay what a previous run left, attach one journal per filesystem to
 * each of its disk groups (dg_set_journal), and start the committers and
 * the checkpointer. A disk group whose files cannot be read or restored is
 * marked (dg_note_result, fresh_mark_stale) and the files stay for the
 * next start. dgs must hold every disk group whose filesystem keeps DBs
 * too: a checkpoint syncs all of them. 0, or -errno when no thread could
 * start (nothing is left attached then). */
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
    struct disk_group *dg;  /* the file's, which has a journal (dg_journal) */
    const char *path;       /* relative to the disk group: "objects/..." */
    const char *name;       /* "/account/container/object", or NULL */
    const void *data;
    size_t len;             /* <= JOURNAL_CONTENT_MAX */
    int rc;                 /* out: 0 once synced, or -errno */
    /* the committer's */
    struct journal_append *next;
    struct journal_waiter *waiter;
};
/* Queue every record (on its disk group's journal: several may share one)
 * and return once each is synced or failed. A failure is also reported to
 * the disk groups it concerns. */
void journal_append_wait(struct journal_append *a, size_t n);

/* The replay of one journal file: where its records go, and what came of it. */
struct journal_replay {
    struct disk_group *const *dgs;  /* every disk group, found by a record's id */
    size_t n_dgs;
    struct disk_group *home;        /* the file's (an SWJ1 record's disk group) */
    struct buf *names;              /* out: each record's name, NUL-terminated */
    unsigned long restored;         /* out: files rewritten */
    bool incomplete;                /* out: a record could not be restored now */
};
/* Replay one journal file (open at fd): rewrite, synced, each file whose
 * content differs from its record, from the start up to the first damaged
 * record, and append each record's name to rp->names. A record whose disk
 * group is not usable, or whose file cannot be rewritten (that disk group
 * is then marked), sets rp->incomplete. The number of records read, or
 * -errno when the file cannot be read. For journals_open and tests. */
long journal_replay_file(struct journal_replay *rp, int fd);

/* The record bytes, appended to out. */
void journal_record_encode(struct buf *out, uint32_t dg_id, const char *path, const char *name,
                           const void *data, size_t len);
/* A decoded record: pointers into the bytes decoded, not terminated. */
struct journal_record {
    size_t rec_len;
    bool has_dg;        /* false in an SWJ1 record */
    uint32_t dg_id;
    const char *path, *name;
    size_t path_len, name_len;
    const uint8_t *data;
    size_t len;
};
/* Decode the record at p (n bytes available): 0, ERR_CORRUPT for a damaged
 * record, -EAGAIN when n is too short for the whole record. */
int journal_record_decode(const uint8_t *p, size_t n, struct journal_record *r) WUR;

#endif
