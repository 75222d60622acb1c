/* server/slo.h: static large objects, as Swift 2.30's slo middleware.
 *
 * A manifest is stored as an ordinary object whose body is Swift's JSON
 * (one {"name", "bytes", "hash", "content_type", "last_modified", "range"?,
 * "sub_slo"?} or {"data"} per segment) with "X-Static-Large-Object:
 * True" and the large object's etag and size in sysmeta; its listing row
 * shows the total size (swift_bytes) and the slo_etag. A GET or HEAD
 * serves the concatenation (lostream.h); ?multipart-manifest=get serves
 * the manifest (format=raw: as it was PUT); ?multipart-manifest=delete
 * deletes the segments, nested manifests and the manifest.
 *
 * slo_parse.c: the PUT manifest parser; slo.c: the PUT handler;
 * slo_get.c: GET/HEAD, the copy source and DELETE. */
#ifndef SWIFTLET_SERVER_SLO_H
#define SWIFTLET_SERVER_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../storage/object.h"
#include "object_int.h"
#include "request.h"

/* Swift's defaults, reported in /info's "slo" section. */
#define SLO_MAX_SEGMENTS 1000
#define SLO_MAX_MANIFEST_SIZE (8u << 20)
#define SLO_MIN_SEGMENT_SIZE 1
#define SLO_YIELD_FREQUENCY 10
/* How deep manifests may nest (SloGetContext.max_slo_recursion_depth). */
#define SLO_MAX_DEPTH 10

#define SLO_SYSMETA_ETAG "X-Object-Sysmeta-Slo-Etag"
#define SLO_SYSMETA_SIZE "X-Object-Sysmeta-Slo-Size"

/* One segment of a PUT manifest after parse_and_validate_input. */
struct slo_input {
    char *path;            /* "/container/object" as given; NULL for data */
    char *etag;            /* NULL: absent or null */
    bool has_size;
    int64_t size;
    char *range;           /* "M-N", "M-" or "-N" as given; NULL for none */
    unsigned char *data;   /* inline segment (decoded), data_len bytes */
    size_t data_len;
};

/* Parse and validate a PUT manifest body for container/object (the
 * manifest may not name itself), as slo.parse_and_validate_input: 0 with
 * *out and *n (free with slo_input_free), or ERR_BADINPUT with Swift's 400 body
 * in err ("Manifest must be valid JSON.\n", "Index 0: ...\n" lines). */
int slo_parse_input(const char *body, size_t len, const char *container, const char *object,
                    struct slo_input **out, size_t *n, struct buf *err) WUR;
void slo_input_free(struct slo_input *in, size_t n);

/* How many ranges spec ("M-N" ...) resolves to on a size-byte object, as
 * swob's Range("bytes=" + spec).ranges_for_length; the first in *start,
 * *end (exclusive). -1 when spec is not a valid range. */
int slo_range_resolve(const char *spec, uint64_t size, uint64_t *start, uint64_t *end);

/* Python's json.dumps of j (", " and ": ", ASCII with lower-case \u
 * escapes, keys in insertion order): what Swift stores and reports.
 * Consumes j. */
struct json_t;
char *slo_json_dumps(struct json_t *j);

/* Whether m is an SLO manifest (X-Static-Large-Object is true). */
bool slo_is_manifest(const struct object_meta *m);

/* ---- handler hooks (object.c, object_copy.c) ---- */

/* PUT ?multipart-manifest=put: start, and (while slo_put_active says the
 * request is one) the body and end steps object.c's PUT hands on. */
enum step slo_put_start(struct request *r);
bool slo_put_active(const struct request *r);
enum step slo_put_body(struct request *r, const char *p, size_t n);
enum step slo_put_end(struct request *r);
/* GET/HEAD of an open object: true when rd is an SLO manifest and the
 * answer is set (the concatenation, or the manifest itself). */
bool slo_get(struct request *r, struct object_reader *rd);
/* DELETE ?multipart-manifest=delete. */
enum step slo_delete_start(struct request *r);
/* The concatenation of the open manifest rd in account: 0 with *out (free
 * it), or -errno (-ELOOP: nested too deep, -EINVAL: malformed). */
struct lo_stream;
int slo_open(struct server *srv, const char *account, const struct object_reader *rd,
             struct lo_stream **out) WUR;
/* A POST keeps what only a manifest PUT may set: copies the
 * X-Static-Large-Object and sysmeta headers of old into new; a new
 * content type (NULL: none) goes into the listing override with the
 * large object's size. */
void slo_post_keep(const struct kv_list *old, struct kv_list *new_headers,
                   const char *new_ctype);

#endif
