/* server/acl_authz.c: This file implements the request half of
 * server/acl.h: tempauth's authorize() applied to a request (its ACL
 * header checks, the 401/403 answers) and the owner-only handling of the
 * ACL headers in container and account metadata.
 *
 * The container's and the account's ACLs are read from their DBs (one
 * stat on the first usable replica) only when the identity's own rights do
 * not decide, so an owner's request never pays for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "acl.h"
#include "server.h"

/* Where the loaders look. */
struct acl_where {
    struct server *srv;
    const char *account, *container;
};

static char *load_container_acl(void *vctx, bool write)
{
    struct acl_where *w = vctx;
    struct container_stat cs;
    struct placement pl;
    char *acl = NULL;

    cluster_locate(w->srv->cluster, ITEM_CONTAINER, w->account, w->container, NULL, &pl);
    memset(&cs, 0, sizeof(cs));
    kv_init(&cs.meta);
    if (db_container_stat(w->srv->db, &pl, &cs) == 0) {
        const char *v = kv_get(&cs.meta, write ? "X-Container-Write" : "X-Container-Read");
        if (v && v[0])
            acl = xstrdup(v);
    }
    container_stat_release(&cs);
    return acl;
}

static char *load_account_acl(void *vctx)
{
    struct acl_where *w = vctx;
    struct account_stat as;
    struct placement pl;
    char *acl = NULL;

    cluster_locate(w->srv->cluster, ITEM_ACCOUNT, w->account, NULL, NULL, &pl);
    memset(&as, 0, sizeof(as));
    kv_init(&as.meta);
    if (db_account_stat(w->srv->db, &pl, &as) == 0) {
        const char *v = kv_get(&as.meta, ACL_ACCOUNT_SYSMETA);
        if (v && v[0])
            acl = xstrdup(v);
    }
    account_stat_release(&as);
    return acl;
}

static enum acl_verdict decide(struct request *r, const char *account, const char *container,
                               bool object, enum http_method method)
{
    struct acl_where where = {.srv = r->srv, .account = account, .container = container};
    struct acl_query q = {
        .who = &r->who,
        .account = account,
        .container = container != NULL,
        .object = object,
        .method = method,
        .referer = req_header(r, "Referer"),
        .container_acl = load_container_acl,
        .account_acl = load_account_acl,
        .ctx = &where,
    };
    return acl_decide(&q);
}

/* tempauth's denied_response: 403 for a token, 401 (naming the realm)
 * without one. */
static void deny(struct request *r, const char *account)
{
    if (r->who.authenticated) {
        resp_error(r, 403, NULL);
        return;
    }
    resp_error(r, 401, NULL);
    resp_headerf(r, "Www-Authenticate", "Swift realm=\"%s\"", account);
}

/* tempauth refuses a malformed X-Account-Access-Control on any request
 * it authorizes, before deciding anything else. */
static int check_account_acl_header(struct request *r)
{
    const char *v = req_header(r, ACL_ACCOUNT_HEADER);
    struct buf out = BUF_INIT;
    int rc;

    if (!v)
        return 0;
    rc = acl_account_parse(v, &out);
    if (rc)
        resp_text(r, 400, "text/plain; charset=UTF-8", out.data);
    buf_release(&out);
    return rc ? 400 : 0;
}

/* Swift's container controller cleans X-Container-Read/-Write on PUT and
 * POST (after authorizing): 400 with clean_acl's message when invalid. */
static int check_container_acl_headers(struct request *r)
{
    static const char *const names[] = {"X-Container-Read", "X-Container-Write"};

    if (!r->container || r->object || (r->method != M_PUT && r->method != M_POST))
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const char *v = req_header(r, names[i]);
        struct buf out = BUF_INIT;
        int rc = v ? acl_clean(names[i], v, &out) : 0;
        if (rc)
            resp_error(r, 400, out.data);
        buf_release(&out);
        if (rc)
            return 400;
    }
    return 0;
}

int acl_authorize(struct request *r)
{
    enum acl_verdict v;
    int status = check_account_acl_header(r);

    if (status)
        return status;
    /* Swift's copy middleware answers a COPY without a Destination (412)
     * before anything is authorized; the handler does the same */
    if (r->method == M_COPY && r->object && !req_header(r, "Destination"))
        return 0;
    v = decide(r, r->account, r->container, r->object != NULL, r->method);
    if (v == ACL_DENY) {
        deny(r, r->account);
        return r->who.authenticated ? 403 : 401;
    }
    r->who.owner = v == ACL_ALLOW_OWNER;
    return check_container_acl_headers(r);
}

enum acl_verdict acl_check(struct request *r, const char *account, const char *container,
                           bool object, enum http_method method)
{
    return decide(r, account, container, object, method);
}

bool acl_allows_object(struct request *r, const char *account, const char *container,
                       enum http_method method)
{
    if (decide(r, account, container, true, method) != ACL_DENY)
        return true;
    deny(r, account);
    return false;
}

void acl_container_meta(const struct request *r, struct kv_list *meta)
{
    static const char *const names[] = {"X-Container-Read", "X-Container-Write"};

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        const char *v = kv_get(meta, names[i]);
        struct buf out = BUF_INIT;
        if (v && v[0] && acl_clean(names[i], v, &out) == 0)
            kv_set(meta, names[i], out.data);
        buf_release(&out);
    }
    if (!r->who.owner)
        acl_strip_owner_headers(meta);
}

void acl_account_meta(const struct request *r, struct kv_list *meta)
{
    const char *v = req_header(r, ACL_ACCOUNT_HEADER);
    struct buf out = BUF_INIT;

    if (v && r->who.owner && acl_account_parse(v, &out) == 0)
        kv_set(meta, ACL_ACCOUNT_SYSMETA, out.data);
    buf_release(&out);
}

void acl_account_header(struct request *r, const struct kv_list *meta)
{
    const char *v = kv_get(meta, ACL_ACCOUNT_SYSMETA);

    /* an ACL without any key reads as none, as Swift shows it */
    if (r->who.owner && v && v[0] && strcmp(v, "{}") != 0)
        resp_header(r, ACL_ACCOUNT_HEADER, v);
}
