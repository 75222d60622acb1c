/* server/bulk_body.h: the result body of Swift's bulk operations
 * (bulk.get_response_body), shared by bulk delete, extract archive and the
 * SLO manifest PUT and DELETE: a few "Key: value" fields and a list of
 * errors (quoted name, status), rendered in the negotiated format:
 *
 *   text/plain        "Key: value\n" per field sorted by key, "Errors:\n",
 *                     then "name, status\n" per error
 *   application/json  {"Key": value, ..., "Errors": [[name, status], ...]}
 *                     in the fields' order, Python's separators
 *   .../xml           <root_tag>\n<key_lowercase>v</key_lowercase>\n ...
 *                     <errors>\n<object><name>..</name><status>..</status>
 *                     </object>\n</errors>\n</root_tag>\n (no declaration)
 */
#ifndef SWIFTLET_SERVER_BULK_BODY_H
#define SWIFTLET_SERVER_BULK_BODY_H

#include <stddef.h>

#include "../common/buf.h"
#include "../common/util.h"

/* One field: a string (str != NULL) or an integer (num, when str is NULL). */
struct bulk_field {
    const char *key;
    const char *str;
    long long num;
};

/* One failed item: its URL-quoted name and a status ("404 Not Found") or
 * message. */
struct bulk_error {
    const char *name;
    const char *status;
};

/* A growing list of errors that owns its strings. Zero-initialised storage
 * is an empty list. */
struct bulk_errors {
    struct bulk_error *v;
    size_t n, alloc;
};

/* Append copies of name (already quoted: bulk_quote) and status. */
void bulk_errors_add(struct bulk_errors *e, const char *name, const char *status);
/* Append the failure of the item named by n raw bytes (quoted here, as
 * bulk_quote does) with a copy of status. */
void bulk_errors_quote(struct bulk_errors *e, const char *name, size_t n, const char *status);
/* Free the strings and the array; the list is left empty and reusable. */
void bulk_errors_release(struct bulk_errors *e);

/* swob's req.accept.best_match(["text/plain", "application/json",
 * "application/xml", "text/xml"]): 0 with *out (NULL when nothing is
 * acceptable), or -EINVAL with *out NULL for a malformed Accept (Swift then
 * falls back, caller's choice). accept may be NULL (absent: text/plain). */
int bulk_body_format(const char *accept, const char **out) WUR;

/* The Content-Type of a bulk result body in format: format itself, or for
 * NULL (nothing acceptable: Swift reports "406 Not Acceptable" in a
 * text/plain body) swob's default, "text/html; charset=UTF-8". */
const char *bulk_body_content_type(const char *format);

/* Append the body to out. format NULL renders text/plain. 0 or -E2BIG. */
int bulk_body_render(struct buf *out, const char *format, const struct bulk_field *fields,
                     size_t nfields, const struct bulk_error *errors, size_t nerrors,
                     const char *root_tag) WUR;

/* urllib's quote(s, safe='/') of n bytes (NULs included), appended to out,
 * which must be uncapped: how bulk results name items. */
void bulk_quote(struct buf *out, const char *s, size_t n);

#endif
