/* server/constraints.h: Swift's request constraints as pure functions.
 *
 * Names, metadata and listing parameters are checked before any work, with
 * the status codes and message bodies of Swift 2.30's constraints.py (so
 * clients that match on them keep working). No I/O, no globals: each
 * function has unit tests and the parsers have libFuzzer targets. */
#ifndef SWIFTLET_SERVER_CONSTRAINTS_H
#define SWIFTLET_SERVER_CONSTRAINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"
#include "../common/kv.h"
#include "request.h"

/* Valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF) and no
 * NUL byte: Swift's check_utf8. */
bool utf8_valid(const char *s, size_t n);

/* Check the decoded account/container/object names of a request (each
 * may be NULL). 0, or an HTTP status (400, 412) with Swift's message in
 * msg (e.g. "Object name length of 1025 longer than 1024"). Every length
 * is checked, as for a PUT; see check_names_for for Swift's per-verb rule. */
int check_names(const struct config *c, const char *account, const char *container,
                const char *object, char *msg, size_t msglen);

/* check_names as Swift 2.30 applies it per verb: invalid UTF-8 or a NUL in
 * any name is 412 "Invalid UTF8 or contains NULL" for every verb; an account
 * name that is too long is 400 on account requests; container and object
 * names that are too long are 400 only on a PUT of that level (a GET, HEAD,
 * POST or DELETE of such a name is left to answer 404, as Swift does).
 * All these bodies are sent as "text/html; charset=UTF-8" by Swift, except
 * the object PUT length error, which is "text/plain". */
int check_names_for(const struct config *c, enum http_method m, const char *account,
                    const char *container, const char *object, char *msg, size_t msglen);

/* Collect the request headers whose names start with prefix
 * (case-insensitive, e.g. "X-Object-Meta-") into out with the name in
 * Swift's Title-Case ("X-Object-Meta-Color"). With removals, the
 * "X-Remove-<Level>-Meta-<k>" headers are added as "<prefix><k>" = "".
 * A later header for the same key replaces an earlier one, and a value
 * sent beats a removal of the same key (Swift applies removals first).
 * out is initialised by the caller. */
void collect_meta(const struct request *r, const char *prefix, bool removals, struct kv_list *out);

/* Swift's check_metadata over the metadata a request sets (prefix is the
 * "X-<Level>-Meta-" in use): empty name, name/value lengths, count and
 * overall size, UTF-8 (account and container only). Pass the list collected
 * without removals (Swift does not count X-Remove-* headers). 0 or 400 with
 * the message in msg; Swift sends these as "text/plain". */
int check_metadata(const struct config *c, const char *prefix, const struct kv_list *meta,
                   char *msg, size_t msglen);

/* The check Swift's account and container servers make on the metadata a
 * DB holds after a PUT/POST merged into it (all "X-<Level>-Meta-*" keys
 * with non-empty values): count and overall size. 0 or 400 with msg; Swift
 * sends these as "text/html; charset=UTF-8". */
int check_metadata_stored(const struct config *c, const char *prefix, const struct kv_list *merged,
                          char *msg, size_t msglen);

/* Swift's check_delete_headers on a PUT's X-Delete-After and X-Delete-At
 * values (NULL when absent; After wins) at time now: with neither, 0 and
 * out untouched; with a valid one, 0 and out's "X-Delete-At" set to the
 * normalised time (ten digits, at most 9999999999); else 400 with Swift's
 * message in msg ("Non-integer X-Delete-After", "X-Delete-At in past",
 * ...; sent as "text/plain"). */
int check_delete_headers(const char *after, const char *at, int64_t now, struct kv_list *out,
                         char *msg, size_t msglen);

/* Title-Case a header name in place as Swift's WSGI layer does
 * (str.title() after '_' -> '-'): a letter is upper case when it follows a
 * non-letter, else lower case ("x-object-meta-foo1bar" ->
 * "X-Object-Meta-Foo1Bar", "x-container-meta-a_b" -> "X-Container-Meta-A-B"). */
void header_title_case(char *name);

#endif
