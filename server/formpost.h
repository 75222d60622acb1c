/* server/formpost.h: Swift 2.30's formpost middleware: browser uploads as
 * multipart/form-data POSTs, signed with a Temp-URL key instead of a token.
 *
 * formpost.c is the handler: the form's fields (redirect, max_file_size,
 * max_file_count, expires, signature, x_delete_at, x_delete_after) come
 * before its files; each file is streamed into an object named by the
 * request path + its filename as it arrives, never held in memory, and the
 * objects are committed on a worker thread once the body is in.
 * formpost_mime.c is the incremental multipart parser it feeds the body to
 * (pure; unit-tested and fuzzed). */
#ifndef SWIFTLET_SERVER_FORMPOST_H
#define SWIFTLET_SERVER_FORMPOST_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/kv.h"
#include "request.h"

/* Is r a form upload: a POST whose Content-Type is "multipart/form-data"
 * with a boundary? Swift hands every such POST to formpost, at any level,
 * token or not. */
bool formpost_match(const struct request *r);

extern const struct handler_ops formpost_ops;

/* ---- the multipart parser (formpost_mime.c) ---- */

#define FP_BOUNDARY_MAX 256     /* longer boundaries are refused (RFC 2046: 70) */
#define FP_HEADERS_MAX 8192     /* part header bytes kept; the rest is dropped */

/* Callbacks; each returns 0 to go on, anything else stops the parser and
 * is returned by fp_mime_feed/fp_mime_finish (then and on every later call). */
struct fp_mime_ops {
    int (*part_begin)(void *ctx, const struct kv_list *headers);
    int (*part_data)(void *ctx, const char *p, size_t n);
    int (*part_end)(void *ctx);
};

enum fp_mime_state { FPM_PREAMBLE, FPM_HEADERS, FPM_BODY, FPM_AFTER_DELIM, FPM_DONE };

struct fp_mime {
    const struct fp_mime_ops *ops;
    void *ctx;
    char delim[FP_BOUNDARY_MAX + 5];   /* "\r\n--" boundary */
    size_t dlen;
    enum fp_mime_state state;
    int stopped;                       /* the callback result that stopped it */
    struct buf line;                   /* preamble: the line being read */
    struct buf headers;                /* the current part's header block */
    unsigned hdr_match;                /* progress through "\r\n\r\n" */
    char hold[FP_BOUNDARY_MAX + 5];    /* tail that may start a delimiter */
    size_t nhold;
    unsigned after;                    /* bytes after a delimiter seen (of 2) */
    bool last;                         /* the closing "--" followed it */
    bool in_part;                      /* part_begin was called, part_end not yet */
};

/* Parse Swift's way (iter_multipart_mime_documents): blank lines, then a
 * line that is "--boundary" once stripped, then parts separated by
 * "\r\n--boundary" (the two bytes after it skipped; "--" ends the form).
 * Each part's headers end at an empty line. 0, or -EINVAL for a boundary
 * that is empty or over FP_BOUNDARY_MAX. */
int fp_mime_init(struct fp_mime *m, const char *boundary, const struct fp_mime_ops *ops,
                 void *ctx) WUR;
void fp_mime_release(struct fp_mime *m);
/* Feed body bytes. 0; -EBADMSG when the form does not start with its
 * boundary; or a callback's stop value. */
int fp_mime_feed(struct fp_mime *m, const char *p, size_t n);
/* The body has ended: a part still open ends here (as in Swift). */
int fp_mime_finish(struct fp_mime *m);
/* The form's closing boundary was seen: what follows is ignored. */
bool fp_mime_done(const struct fp_mime *m);

/* Swift's parse_content_disposition: the value before ';' (trimmed) into
 * type (cut to typelen), and its attributes (name=value or name="value")
 * added to attrs. Also used for Content-Type. */
void fp_parse_disposition(const char *header, char *type, size_t typelen, struct kv_list *attrs);

#endif
