/* storage/object_int.h: what the parts of the object module share, and
 * nothing else includes: the on-disk format (trailer, file names), the scan
 * of a hash directory and the metadata JSON. object.c implements these;
 * object_read.c and object_write.c implement object.h on top of them. */
#ifndef SWIFTLET_STORAGE_OBJECT_INT_H
#define SWIFTLET_STORAGE_OBJECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/timefmt.h"
#include "object.h"

#define TRAILER_LEN 24
#define TRAILER_MAGIC "SWLTOBJ1"
#define JSON_MAX (4u << 20)        /* cap on a metadata JSON we will read */
#define TAIL_READ 4096             /* one pread of a .data's tail: JSON + trailer */
#define ITEM_PATH_MAX 1024         /* "<dg>/objects/<part>/<suffix>/<hash>" */

/* ---- small I/O helpers ---- */

void put_le(uint8_t *p, uint64_t v, size_t n);
uint64_t get_le(const uint8_t *p, size_t n);
/* pread exactly n bytes; 0, -EIO at a short file, -errno. */
int pread_full(int fd, void *p, size_t n, uint64_t off) WUR;

/* Write the item directory of pl on every dg into out without an allocation
 * per dg: item_dirs_init once, then item_dir per dg. The layout stays
 * placement_dir's. 0, or -ENAMETOOLONG. */
struct item_dirs {
    char *first;         /* placement_dir of the first dg */
    const char *rel;     /* the part after the dg's path, "/objects/..." */
};
void item_dirs_init(struct item_dirs *d, const struct placement *pl);
void item_dirs_release(struct item_dirs *d);
int item_dir(const struct item_dirs *d, const struct disk_group *dg, char out[ITEM_PATH_MAX]) WUR;

/* ---- the files of one hash directory ---- */

enum file_kind { F_NONE = 0, F_DATA, F_TS, F_META };

/* What a hash directory holds: its newest .data or .ts, and newest .meta. */
struct dir_scan {
    enum file_kind kind;    /* F_DATA, F_TS or F_NONE */
    int64_t newest;         /* timestamp of that file; -1 when none */
    int64_t meta;           /* newest .meta; -1 when none */
};

/* "<ts>.data" | "<ts>.ts" | "<ts>.meta" -> kind and timestamp. */
enum file_kind parse_name(const char *name, int64_t *ts);
/* "<ts><ext>" into out (TS_STRLEN + 8 bytes). */
void file_name(int64_t ts, const char *ext, char *out);
#define FILE_NAME_MAX (TS_STRLEN + 8)

/* Scan the open directory dfd (from its start: the caller has not read it
 * yet) with getdents64 into a stack buffer (no DIR, no stat); with clean,
 * also unlink what newer files supersede. dir names it in log lines (may be
 * NULL). 0 or -errno. */
int scan_dirfd(int dfd, const char *dir, struct dir_scan *s, bool clean) WUR;

/* ---- metadata JSON ---- */

char *data_json(const struct object_meta *m);     /* heap string */
char *post_json(int64_t ts, const char *content_type, const struct kv_list *headers);
/* Parse a .data's JSON into m (initialised). 0 or ERR_CORRUPT.
 * data_meta_decode answers first; jansson (data_meta_parse_json) decides
 * whatever it declines. */
int data_meta_parse(const char *p, size_t n, uint64_t body_len, struct object_meta *m) WUR;
int data_meta_parse_json(const char *p, size_t n, uint64_t body_len, struct object_meta *m) WUR;
/* The fast path (object_meta_decode.c): the JSON as data_json writes it
 * for ASCII names and header values, decoded without building a jansson
 * tree. 0 with m filled exactly as data_meta_parse_json would fill it, or
 * -1, m untouched, for anything else: other input, unusual but valid JSON
 * and corrupt JSON alike, which the caller hands to jansson. */
int data_meta_decode(const char *p, size_t n, uint64_t body_len, struct object_meta *m) WUR;
/* 32 hex digits, as an ETag is stored. */
bool is_hex32(const char *s);
/* Apply a .meta's JSON to m (headers, content type, meta_timestamp = ts).
 * m is unchanged on failure. 0 or ERR_CORRUPT. */
int post_meta_apply(const char *p, size_t n, int64_t ts, struct object_meta *m) WUR;

/* Validate the trailer and JSON of an open .data and fill m, reading the
 * tail in one pread when JSON + trailer fit in TAIL_READ bytes.
 * 0, ERR_CORRUPT, -errno. */
int data_read_meta(int fd, struct object_meta *m) WUR;
/* As data_read_meta, but a file of at most max bytes is read whole, in one
 * pread, its body checked against its CRC32C and handed back: *body is a
 * heap buffer of more than m->size bytes, body[m->size] == '\0'. For a
 * larger file *body is NULL (its body may still be at most max bytes).
 * 0, ERR_CORRUPT (metadata or body), -errno. */
int data_read_small(int fd, uint64_t max, struct object_meta *m, char **body) WUR;

#endif
