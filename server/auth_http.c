/* server/auth_http.c: implements the login endpoints of server/auth.h:
 * Swift v1.0 (GET /auth/v1.0), Rackspace / Keystone v2.0 (POST
 * /v2.0/tokens) and Keystone v3 (POST /v3/auth/tokens).
 *
 * v2.0 and v3 read a JSON body into a capped buffer (AUTH_BODY_MAX: a
 * login is a few hundred bytes; anything larger, and any body that is not
 * JSON, is a 400 and never a crash; see AUTH_DRAIN_MAX). The login itself runs on a worker
 * thread (req_defer): it may read the users database and derive a PBKDF2
 * hash. Every attempt is logged with the user and tenant, never the key
 * or the token. */
#include "auth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "keystone.h"
#include "server.h"

#define AUTH_BODY_MAX (16 * 1024)
/* A body over AUTH_BODY_MAX is still read (and dropped) up to this size, so
 * the client, still sending, gets its 400 instead of a reset connection;
 * beyond it the connection is cut short. */
#define AUTH_DRAIN_MAX (1024 * 1024)

enum api { API_V1, API_V2, API_V3 };

static const char *const api_names[] = {"v1.0", "v2.0", "v3"};

/* One login request. */
struct login {
    enum api api;
    struct buf body;
    bool too_big;          /* the body passed AUTH_BODY_MAX */
    struct login_req q;
};

static void login_free(void *p)
{
    struct login *l = p;
    buf_release(&l->body);
    login_req_release(&l->q);
    free(l);
}

static struct login *login_new(struct request *r, enum api api)
{
    struct login *l = xcalloc(1, sizeof(*l));
    l->api = api;
    buf_init(&l->body, AUTH_BODY_MAX);
    r->state = l;
    r->state_free = login_free;
    return l;
}

static void log_attempt(const struct request *r, const struct login *l, int rc)
{
    char user_q[128], tenant_q[128];
    log_info("msg=\"%s\" tx=%s api=%s user=%s tenant=%s%s", rc == 0 ? "login" : "login refused",
             r->trans_id, api_names[l->api], log_quote(user_q, sizeof(user_q), l->q.user),
             log_quote(tenant_q, sizeof(tenant_q), l->q.tenant ? l->q.tenant : "-"),
             rc == 0 ? "" : rc == -EIO ? " why=error" : " why=credentials");
}

/* ---- v1.0 ---- */

/* 401 as tempauth answers it: the realm names the account asked for,
 * unless the key was wrong. */
static enum step v1_refuse(struct request *r, const char *user, int rc)
{
    resp_error(r, rc == -EIO ? 503 : 401, NULL);
    const char *colon = user ? strchr(user, ':') : NULL;
    if (rc == -ENOENT && colon)
        resp_headerf(r, "Www-Authenticate", "Swift realm=\"%.*s\"", (int)MIN(colon - user, 256),
                     user);
    else
        resp_header(r, "Www-Authenticate", "Swift realm=\"unknown\"");
    return STEP_RESPOND;
}

static enum step v1_work(struct request *r)
{
    struct login *l = r->state;
    struct auth_grant g;
    /* v1.0 names users "account:user". */
    int rc = strchr(l->q.user, ':') ? auth_login(r->srv->auth, NULL, l->q.user, l->q.key, &g)
                                    : -ENOENT;
    log_attempt(r, l, rc);
    if (rc != 0)
        return v1_refuse(r, l->q.user, rc);
    resp_error(r, 200, NULL);
    resp_header(r, "X-Auth-Token", g.token);
    resp_header(r, "X-Storage-Token", g.token);
    resp_headerf(r, "X-Auth-Token-Expires", "%u", g.expires_in);
    resp_headerf(r, "X-Storage-Url", "%s/v1/%s", r->srv->storage_url_base, g.account);
    auth_grant_release(&g);
    return STEP_RESPOND;
}

static enum step v1_start(struct request *r)
{
    if (r->method != M_GET && r->method != M_HEAD) {
        resp_error(r, 405, NULL);
        resp_header(r, "Allow", "GET, HEAD");
        return STEP_RESPOND;
    }
    const char *user = req_header(r, "X-Auth-User");
    const char *key = req_header(r, "X-Auth-Key");
    if (!user)
        user = req_header(r, "X-Storage-User");
    if (!key)
        key = req_header(r, "X-Storage-Pass");
    if (!user || !key) {
        char user_q[128];
        log_info("msg=\"login refused\" tx=%s api=v1.0 user=%s tenant=- why=credentials",
                 r->trans_id, log_quote(user_q, sizeof(user_q), user ? user : ""));
        return v1_refuse(r, user, -ENOENT);
    }
    struct login *l = login_new(r, API_V1);
    l->q.user = xstrdup(user);
    l->q.key = xstrdup(key);
    req_defer(r, v1_work);
    return STEP_DEFER;
}

static const struct handler_ops v1_ops = {v1_start, NULL, NULL};

/* ---- v2.0 and v3 ---- */

static void json_error(struct request *r, const struct login *l, int status)
{
    struct buf body = BUF_INIT;
    if (l->api == API_V2)
        keystone_v2_error(status, l->q.api_key, &body);
    else
        keystone_v3_error(status, &body);
    resp_text(r, status, "application/json", body.data);
    if (status == 401 && l->api == API_V3)
        resp_headerf(r, "WWW-Authenticate", "Keystone uri=\"%s/v3\"", r->srv->storage_url_base);
    buf_release(&body);
}

static int render(struct request *r, const struct login *l, const struct auth_grant *g)
{
    const struct config *cfg = r->srv->cfg;
    char *pub = xasprintf("%s/v1/%s", r->srv->storage_url_base, g->account);
    char *internal = *cfg->internal_url ? xasprintf("%s/v1/%s", cfg->internal_url, g->account)
                                        : xstrdup(pub);
    struct catalog_urls c = {pub, internal, cfg->region};
    int rc = l->api == API_V2 ? keystone_v2_render(g, l->q.api_key, &c, &r->resp_body)
                              : keystone_v3_render(g, &c, &r->resp_body);
    free(pub);
    free(internal);
    return rc;
}

static enum step token_work(struct request *r)
{
    struct login *l = r->state;
    struct auth_grant g;
    int rc = auth_login(r->srv->auth, l->q.tenant, l->q.user, l->q.key, &g);
    log_attempt(r, l, rc);
    if (rc != 0) {
        json_error(r, l, rc == -EIO ? 503 : 401);
        return STEP_RESPOND;
    }
    rc = render(r, l, &g);
    if (rc == 0) {
        r->status = l->api == API_V2 ? 200 : 201;
        resp_header(r, "Content-Type", "application/json");
        if (l->api == API_V3)
            resp_header(r, "X-Subject-Token", g.token);
    } else {
        resp_errno(r, rc);
    }
    auth_grant_release(&g);
    return STEP_RESPOND;
}

/* JSON, or no Content-Type at all (curl -d without -H sends a form type:
 * that is a wrong content type, as Keystone treats it). */
static bool json_type(const char *ct)
{
    if (!ct)
        return true;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

static enum step token_start(struct request *r, enum api api)
{
    struct login *l = login_new(r, api);
    if (r->method != M_POST) {
        resp_error(r, 405, NULL);
        resp_header(r, "Allow", "POST");
        return STEP_RESPOND;
    }
    if (!json_type(req_header(r, "Content-Type")) ||
        (r->has_length && r->content_length > AUTH_DRAIN_MAX)) {
        log_info("msg=\"login refused\" tx=%s api=%s why=body", r->trans_id, api_names[api]);
        json_error(r, l, 400);
        return STEP_RESPOND;
    }
    return STEP_BODY;
}

static enum step v2_start(struct request *r)
{
    return token_start(r, API_V2);
}

static enum step v3_start(struct request *r)
{
    return token_start(r, API_V3);
}

static enum step token_body(struct request *r, const char *p, size_t n)
{
    struct login *l = r->state;
    if (!l->too_big && buf_append(&l->body, p, n) != 0)
        l->too_big = true;
    if (!l->too_big || r->bytes_in <= AUTH_DRAIN_MAX)
        return STEP_BODY;
    log_info("msg=\"login refused\" tx=%s api=%s why=body", r->trans_id, api_names[l->api]);
    json_error(r, l, 400);
    return STEP_RESPOND;
}

static enum step token_end(struct request *r)
{
    struct login *l = r->state;
    int status = 400;
    if (!l->too_big)
        status = l->api == API_V2 ? keystone_v2_parse(l->body.data, l->body.len, &l->q)
                                  : keystone_v3_parse(l->body.data, l->body.len, &l->q);
    if (status) {
        log_info("msg=\"login refused\" tx=%s api=%s why=%s", r->trans_id, api_names[l->api],
                 status == 400 ? "body" : "method");
        json_error(r, l, status);
        return STEP_RESPOND;
    }
    req_defer(r, token_work);
    return STEP_DEFER;
}

static const struct handler_ops v2_ops = {v2_start, token_body, token_end};
static const struct handler_ops v3_ops = {v3_start, token_body, token_end};

const struct handler_ops *auth_route(const char *path)
{
    if (strcmp(path, "/auth/v1.0") == 0 || strcmp(path, "/auth/v1") == 0 ||
        strcmp(path, "/auth/v1.0/") == 0)
        return &v1_ops;
    if (strcmp(path, "/v2.0/tokens") == 0 || strcmp(path, "/v2.0/tokens/") == 0)
        return &v2_ops;
    if (strcmp(path, "/v3/auth/tokens") == 0 || strcmp(path, "/v3/auth/tokens/") == 0)
        return &v3_ops;
    return NULL;
}
