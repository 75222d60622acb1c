/* storage/object.h: objects as self-describing files on disk groups.
 *
 * Layout of one replica (docs/on-disk.md):
 *     <dg>/objects/<part>/<suffix>/<hash>/<timestamp>.data   body + metadata
 *     <dg>/objects/<part>/<suffix>/<hash>/<timestamp>.ts     tombstone
 *     <dg>/objects/<part>/<suffix>/<hash>/<timestamp>.meta   metadata of a POST
 * A .data file is the body at offset 0 (so GET can sendfile it), then the
 * metadata as JSON, then a fixed 24-byte trailer:
 *     "SWLTOBJ1" | u64 body length | u32 JSON length | u32 CRC32C of the JSON
 * (little endian). The JSON holds name, timestamp, size, etag, crc32c (of
 * the body), content_type and headers. Any one replica can rebuild a
 * listing row. The newest timestamp in a directory wins; older files are
 * removed when a newer one lands.
 *
 * Writes are atomic: temp file in <dg>/tmp → write → fdatasync → rename →
 * fsync of the directory. A reader never sees a partial file. A commit costs
 * two parallel sync rounds whatever the replica count: the data files
 * together, then (after every rename) every changed directory together.
 * object.c, object_read.c and object_write.c implement this header.
 * All functions are thread-safe; a writer or reader is used by one thread. */
#ifndef SWIFTLET_STORAGE_OBJECT_H
#define SWIFTLET_STORAGE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/kv.h"
#include "../common/util.h"
#include "dg.h"

struct object_meta {
    char *name;              /* "/account/container/object" */
    int64_t timestamp;       /* of the .data (or of the tombstone) */
    int64_t meta_timestamp;  /* of the newest .meta applied; == timestamp if none */
    uint64_t size;
    char etag[33];           /* MD5 of the body, lower-case hex */
    uint32_t crc32c;         /* of the body */
    char *content_type;
    /* Headers stored with the object, keyed by HTTP header name:
     * X-Object-Meta-*, Content-Disposition, Content-Encoding, X-Delete-At,
     * X-Object-Manifest, ... The server decides what goes here. */
    struct kv_list headers;
};

void object_meta_init(struct object_meta *m);
void object_meta_release(struct object_meta *m);

/* ---- writing ---- */

struct object_writer;

/* Start a write of name (the "/a/c/o" string stored in the file) at
 * timestamp ts: opens a temp file on each of the first REPLICAS usable disk
 * groups of pl (primaries first, handoffs after). Fails with ERR_QUORUM when
 * fewer than QUORUM temp files could be made. */
int object_writer_open(struct object_writer **out, const struct placement *pl, const char *name,
                       int64_t ts) WUR;
/* Append body bytes to every replica; MD5 and CRC32C are computed on the fly.
 * 0, or ERR_QUORUM once fewer than QUORUM replicas are still healthy. */
int object_writer_write(struct object_writer *w, const void *p, size_t n) WUR;
uint64_t object_writer_size(const struct object_writer *w);
/* The MD5 of what was written so far is only known at commit. */

/* Finish: check expect_etag (lower-case hex, may be NULL) against the body's
 * MD5 (ERR_ETAG, nothing is stored), write the metadata trailer, fdatasync
 * all replicas in parallel, rename into place, fsync the directories (or,
 * for a small file, one synced journal record per replica instead: see
 * journal.h). meta supplies content_type and headers; commit fills in name,
 * timestamp, size, etag and crc32c. 0 when at least QUORUM replicas are
 * durable, else ERR_QUORUM (and what was renamed stays: newer-wins makes
 * it harmless). The writer is freed in every case.
 *
 * These writes set *journaled (when not NULL) to whether the journals made
 * the files durable: the write's listing rows may then be committed
 * relaxed (meta.h), since a replay relists the name. */
int object_writer_commit(struct object_writer *w, struct object_meta *meta,
                         const char *expect_etag, bool *journaled) WUR;
/* Give up: remove the temp files and free the writer. NULL is a no-op. */
void object_writer_abort(struct object_writer *w);

/* ---- reading ---- */

struct object_reader {
    int fd;                   /* the .data file, open O_RDONLY; -1 when closed */
    uint64_t body_offset;     /* where the body starts in fd (0 today) */
    struct object_meta meta;  /* .meta already applied */
    struct disk_group *dg;    /* the replica being served */
    char *body;               /* object_open_verified: the whole body, its
                                 CRC32C checked, NUL-terminated (heap, so
                                 buf_adopt can take it); NULL otherwise */
};

/* Find the newest version among the usable disk groups of pl and open it.
 * 0; -ENOENT when no replica has anything; ERR_DELETED when the newest is a
 * tombstone (meta.timestamp is the tombstone's); -EIO when every replica
 * holding data was unreadable. A replica whose trailer or metadata fails
 * its checksum is quarantined (auditor.h) and another copy of the newest
 * version is looked for on every replica before an older one is served. */
/* r is initialised in every case: call object_reader_close afterwards
 * whatever the result. */
int object_open(struct object_reader *r, const struct placement *pl) WUR;
/* As object_open, and when the newest body is at most verify_max bytes,
 * read it into r->body and check its CRC32C before answering: a replica
 * whose body fails is quarantined (auditor.h) and another copy of the same
 * version is used. So a GET of a small object never sends corrupt bytes;
 * a larger body is streamed from the file unchecked (the auditor's job). */
int object_open_verified(struct object_reader *r, const struct placement *pl,
                         uint64_t verify_max) WUR;
/* Metadata only (HEAD): the same choice, without keeping the fd open.
 * m is initialised in every case; release it with object_meta_release. */
int object_stat(struct object_meta *m, const struct placement *pl) WUR;
void object_reader_close(struct object_reader *r);

/* Validate one .data file (trailer, JSON checksum and, with check_body, the
 * body's CRC32C and MD5) and fill m (initialised in every case), for the
 * auditor and fsck. 0, ERR_CORRUPT, -errno. */
int object_check_file(const char *path, bool check_body, struct object_meta *m) WUR;
/* The auditor's check of <dfd>/fname, a .data: as object_check_file with
 * check_body, plus the JSON timestamp must match the file name, and
 * pace(ctx, n) is called before each chunk of n bytes is read (a negative
 * return stops the check and is returned). The pages read are dropped from
 * the page cache. 0, ERR_CORRUPT, -errno. */
int object_audit_data(int dfd, const char *fname, struct object_meta *m,
                      int (*pace)(void *ctx, size_t n), void *ctx) WUR;
/* The auditor's check of a .meta: it must parse. 0, ERR_CORRUPT, -errno. */
int object_audit_meta(int dfd, const char *fname) WUR;

/* What a file name in a hash directory is ("<ts>.data", "<ts>.ts",
 * "<ts>.meta"), and its timestamp; OBJECT_FILE_OTHER for anything else. */
enum object_file { OBJECT_FILE_OTHER = 0, OBJECT_FILE_DATA, OBJECT_FILE_TS, OBJECT_FILE_META };
enum object_file parse_object_file_name(const char *name, int64_t *ts);

/* ---- deleting and metadata updates ---- */

/* Write a tombstone at ts on the usable replicas of name
 * ("/account/container/object"); 0 or ERR_QUORUM. */
int object_delete(const struct placement *pl, const char *name, int64_t ts,
                  bool *journaled) WUR;
/* Write a .meta at ts for name that replaces the stored headers (and the
 * content type when content_type is not NULL). 0, -ENOENT/ERR_DELETED when
 * there is no object, ERR_QUORUM. */
int object_post(const struct placement *pl, const char *name, int64_t ts,
                const char *content_type, const struct kv_list *headers, bool *journaled) WUR;

/* Remove every file in <dg>/tmp (at start, when no upload can be running). */
void object_clean_tmp(struct disk_group *dg);

#endif
