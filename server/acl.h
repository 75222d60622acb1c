/* server/acl.h: access control as Swift's tempauth implements it.
 *
 * Who may do what on a storage URL, given the identity of the token (or
 * none), is decided here:
 *   - a reseller admin reaches every account (and is its owner);
 *   - an account admin ("user = ACCOUNT:USER:KEY:admin") owns its account:
 *     everything except account PUT/DELETE;
 *   - a read-only identity (identity.read_only) may only GET/HEAD, in its
 *     own account or where an ACL lets it read;
 *   - container ACLs (X-Container-Read for GET/HEAD of the container and its
 *     objects, X-Container-Write for object PUT/POST/DELETE) grant access to
 *     other users ("account", "account:user", percent-encoding allowed) and,
 *     for reads, to anonymous requests by Referer (".r:*", ".r:host",
 *     ".r:.domain", ".r:-host" denies); listings need ".rlistings" as well;
 *   - the account ACL (X-Account-Access-Control, JSON {"admin": [...],
 *     "read-write": [...], "read-only": [...]}, stored as account sysmeta)
 *     grants owner rights, container/object writes plus account reads, or
 *     reads.
 * Container PUT/POST/DELETE stay with owners and account-ACL read-write
 * users; only owners see or set the "owner headers" (ACLs, sync and
 * TempURL keys). A denial is 403 with a token and 401 without one.
 *
 * acl.c holds the pure parsers and matchers (unit-tested and fuzzed);
 * acl_authz.c applies them to a request, reading the container's or the
 * account's ACL from its DB only when the identity does not own the
 * path's account. */
#ifndef SWIFTLET_SERVER_ACL_H
#define SWIFTLET_SERVER_ACL_H

#include <stdbool.h>

#include "../common/buf.h"
#include "../common/kv.h"
#include "../common/util.h"
#include "request.h"

/* Where the account ACL lives in the account's metadata (Swift's name). */
#define ACL_ACCOUNT_SYSMETA "X-Account-Sysmeta-Core-Access-Control"
#define ACL_ACCOUNT_HEADER "X-Account-Access-Control"

/* ---- pure functions ---- */

/* Swift's clean_acl(): validate and tidy the value of an X-Container-Read
 * or X-Container-Write header (header: its name; referrers are refused in
 * a name containing "write"). 0 with the cleaned ACL in out (appended), or
 * ERR_BADINPUT with Swift's message in out instead (its 400 body); out
 * must be uncapped. Header
 * bytes are taken as Latin-1, as Swift's WSGI strings are. */
int acl_clean(const char *header, const char *value, struct buf *out) WUR;

/* Swift's referrer_allowed(): do the ".r:" items of acl (a cleaned ACL)
 * let a request with this Referer (NULL: none) in? */
bool acl_referrer_allowed(const char *referer, const char *acl);

/* Does the cleaned container ACL acl let who in? For an object (object
 * true) a matching Referer is enough; for the container itself (its
 * listing) the ACL must also hold ".rlistings". Otherwise one of who's
 * groups (tempauth's: "account", "account:user", and "AUTH_account" for
 * an admin) must be listed. */
bool acl_container_grants(const char *acl, const char *referer, const struct identity *who,
                          bool object);

/* Validate an X-Account-Access-Control value as tempauth does. 0 with the
 * canonical form appended to out (sorted keys, no spaces, ASCII with \u
 * escapes: what Swift returns to owners; "" for an empty value), or
 * ERR_BADINPUT with tempauth's whole 400 body in out instead. */
int acl_account_parse(const char *value, struct buf *out) WUR;

/* What the account ACL (canonical JSON as stored; NULL or "" for none)
 * gives who: the strongest of its lists who belongs to. */
enum acl_role { ACL_ROLE_NONE, ACL_ROLE_READ_ONLY, ACL_ROLE_READ_WRITE, ACL_ROLE_ADMIN };
enum acl_role acl_account_role(const char *acl_json, const struct identity *who);

/* The decision for one request, tempauth's authorize(). The loaders are
 * called only when the identity's own rights do not decide; each returns a
 * heap string (freed by acl_decide) or NULL when there is none. */
struct acl_query {
    const struct identity *who;  /* who->authenticated false: anonymous */
    const char *account;         /* the path's account */
    bool container, object;      /* the path names a container / an object */
    enum http_method method;     /* COPY is judged as a read of its source */
    const char *referer;         /* NULL when not sent */
    char *(*container_acl)(void *ctx, bool write); /* X-Container-Read/-Write */
    char *(*account_acl)(void *ctx);               /* the stored account ACL */
    void *ctx;
};
enum acl_verdict {
    ACL_DENY,         /* 403 with a token, 401 without */
    ACL_ALLOW,        /* allowed, not as an owner */
    ACL_ALLOW_OWNER,  /* allowed as the account's owner (swift_owner) */
};
enum acl_verdict acl_decide(const struct acl_query *q);

/* Is name one of the headers only an account's owner may see or set
 * (Swift's swift_owner_headers: container ACLs, sync, TempURL keys, the
 * account ACL)? */
bool acl_owner_header(const char *name);
/* Remove every owner header from l. */
void acl_strip_owner_headers(struct kv_list *l);

/* ---- the request step (acl_authz.c) ---- */

/* Authorize r (its token, if any, is already checked into r->who): 0, or
 * the answer is set: 400 (a malformed X-Account-Access-Control, or on a
 * container PUT/POST an invalid X-Container-Read/-Write), 401 or 403.
 * Sets r->who.owner. */
int acl_authorize(struct request *r) WUR;

/* The verdict for r (as r->who) on account/container (NULL: the account)
 * and, when object, one of its objects, for method; nothing is answered.
 * For the sub-requests of bulk operations, which authorize each path. */
enum acl_verdict acl_check(struct request *r, const char *account, const char *container,
                           bool object, enum http_method method);

/* May r (as r->who) read (method GET) or write (PUT) an object of
 * account/container? For the other end of a copy. When not, the 401/403
 * answer is set. */
bool acl_allows_object(struct request *r, const char *account, const char *container,
                       enum http_method method);

/* Container PUT/POST: replace the X-Container-Read/-Write values in meta
 * with their cleaned form (acl_authorize already refused invalid ones),
 * and drop the owner headers when r->who is not the owner (Swift ignores
 * them then). */
void acl_container_meta(const struct request *r, struct kv_list *meta);
/* Account POST by the owner: store a sent X-Account-Access-Control (in its
 * canonical form) into meta under ACL_ACCOUNT_SYSMETA. */
void acl_account_meta(const struct request *r, struct kv_list *meta);
/* Account HEAD/GET: add X-Account-Access-Control from the stored meta when
 * r->who is the owner and the ACL is not empty. */
void acl_account_header(struct request *r, const struct kv_list *meta);

#endif
