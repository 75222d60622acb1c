/* server/keystone.c: implements server/keystone.h, the v2.0 and v3 login
 * bodies (parsing credentials, rendering tokens and catalogs) with jansson. */
#include "keystone.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* swiftlet serves one Keystone domain. */
#define DOMAIN_ID "default"
#define DOMAIN_NAME "Default"

void login_req_release(struct login_req *q)
{
    free(q->tenant);
    free(q->user);
    free(q->key);
    memset(q, 0, sizeof(*q));
}

/* A string member, or NULL when absent or not a string. */
static const char *member_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Strings holding a NUL cannot be names or keys. */
static bool plain_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static json_t *parse_object(const char *body, size_t len)
{
    json_error_t err;
    /* Duplicate keys are ambiguous credentials: refuse them. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- v2.0 ---- */

static int v2_credentials(const json_t *auth, struct login_req *out)
{
    const json_t *c = json_object_get(auth, "RAX-KSKEY:apiKeyCredentials");
    const char *key_name = "apiKey";
    out->api_key = true;
    if (!c) {
        c = json_object_get(auth, "passwordCredentials");
        key_name = "password";
        out->api_key = false;
    }
    if (!c)
        return 401; /* token, passcode, ...: not a credential swiftlet takes */
    if (!json_is_object(c) || !plain_str(c, "username") || !plain_str(c, key_name))
        return 400;
    out->user = xstrdup(member_str(c, "username"));
    out->key = xstrdup(member_str(c, key_name));
    return 0;
}

int keystone_v2_parse(const char *body, size_t len, struct login_req *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = parse_object(body, len);
    const json_t *auth = root ? json_object_get(root, "auth") : NULL;
    int status = 400;
    if (!json_is_object(auth))
        goto out;
    const char *tenant = member_str(auth, "tenantName");
    if (!tenant)
        tenant = member_str(auth, "tenantId");
    if ((json_object_get(auth, "tenantName") && !plain_str(auth, "tenantName")) ||
        (json_object_get(auth, "tenantId") && !plain_str(auth, "tenantId")))
        goto out;
    status = v2_credentials(auth, out);
    if (status == 0 && tenant && *tenant)
        out->tenant = xstrdup(tenant);
out:
    if (status)
        login_req_release(out);
    json_decref(root);
    return status;
}

/* ---- v3 ---- */

/* A domain object naming swiftlet's one domain (by id or name)? 400 when
 * it is not an object, 401 when it names another domain. */
static int v3_domain(const json_t *d)
{
    if (!json_is_object(d))
        return 400;
    const char *id = member_str(d, "id"), *name = member_str(d, "name");
    if (!id && !name)
        return 400;
    if ((id && strcmp(id, DOMAIN_ID) != 0) || (name && strcmp(name, DOMAIN_NAME) != 0))
        return 401;
    return 0;
}

/* identity.password.user: {name, domain} or {id}; the key. */
static int v3_user(const json_t *identity, struct login_req *out)
{
    const json_t *methods = json_object_get(identity, "methods");
    bool password = false;
    size_t i;
    json_t *m;
    if (!json_is_array(methods))
        return 400;
    json_array_foreach(methods, i, m)
        if (json_is_string(m) && strcmp(json_string_value(m), "password") == 0)
            password = true;
    if (!password)
        return 401; /* token, application credential, ...: not taken here */
    const json_t *pw = json_object_get(identity, "password");
    const json_t *user = json_is_object(pw) ? json_object_get(pw, "user") : NULL;
    if (!json_is_object(user) || !plain_str(user, "password"))
        return 400;
    if (plain_str(user, "name")) {
        int status = v3_domain(json_object_get(user, "domain"));
        if (status)
            return status;
        out->user = xstrdup(member_str(user, "name"));
    } else if (plain_str(user, "id")) {
        out->user = xstrdup(member_str(user, "id")); /* ids are "account:user" */
    } else {
        return 400;
    }
    out->key = xstrdup(member_str(user, "password"));
    return 0;
}

/* scope: absent (the user's own project), {project: {id}} or {project:
 * {name, domain}}. A domain or system scope has no object store: 401. */
static int v3_scope(const json_t *auth, struct login_req *out)
{
    const json_t *scope = json_object_get(auth, "scope");
    if (!scope || json_is_null(scope))
        return 0;
    if (!json_is_object(scope))
        return 400;
    const json_t *project = json_object_get(scope, "project");
    if (!project)
        return 401;
    if (!json_is_object(project))
        return 400;
    if (plain_str(project, "id")) {
        out->tenant = xstrdup(member_str(project, "id"));
        return 0;
    }
    if (!plain_str(project, "name"))
        return 400;
    int status = v3_domain(json_object_get(project, "domain"));
    if (status == 0)
        out->tenant = xstrdup(member_str(project, "name"));
    return status;
}

int keystone_v3_parse(const char *body, size_t len, struct login_req *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = parse_object(body, len);
    const json_t *auth = root ? json_object_get(root, "auth") : NULL;
    const json_t *identity = json_is_object(auth) ? json_object_get(auth, "identity") : NULL;
    int status = json_is_object(identity) ? v3_user(identity, out) : 400;
    if (status == 0)
        status = v3_scope(auth, out);
    if (status)
        login_req_release(out);
    json_decref(root);
    return status;
}

/* ---- answers ---- */

static void iso_utc(time_t t, const char *frac, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, "%sZ", frac);
}

static int dump_into(json_t *doc, struct buf *out)
{
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    buf_reset(out);
    int rc = buf_appends(out, text);
    free(text);
    return rc;
}

/* Keystone role names for what a grant may do (Swift's keystoneauth calls
 * the reseller role ResellerAdmin). */
static const char *role_name(const struct auth_grant *g)
{
    if (g->reseller)
        return "ResellerAdmin";
    if (g->admin)
        return "admin";
    return g->read_only ? "reader" : "member";
}

static json_t *v2_endpoint(const struct auth_grant *g, const struct catalog_urls *c,
                           bool internal)
{
    json_t *e = json_pack("{s:s, s:s, s:s}", "region", c->region, "tenantId", g->account,
                          "publicURL", c->public_url);
    if (internal)
        json_object_set_new(e, "internalURL", json_string(c->internal_url));
    return e;
}

int keystone_v2_render(const struct auth_grant *g, bool api_key, const struct catalog_urls *c,
                       struct buf *out)
{
    char expires[40];
    iso_utc(g->expires, ".000", expires);
    /* Key order matters for the shell recipe (keystone.h): "id" first,
     * "tenant" (with the only other "id") last. */
    json_t *token = json_pack("{s:s, s:s, s:[s], s:{s:s, s:s}}", "id", g->token, "expires",
                              expires, "RAX-AUTH:authenticatedBy", api_key ? "APIKEY" : "PASSWORD",
                              "tenant", "id", g->tenant, "name", g->tenant);
    json_t *files = json_pack("{s:s, s:s, s:[o]}", "name", "cloudFiles", "type", "object-store",
                              "endpoints", v2_endpoint(g, c, true));
    json_t *cdn = json_pack("{s:s, s:s, s:[o]}", "name", "cloudFilesCDN", "type",
                            "rax:object-cdn", "endpoints", v2_endpoint(g, c, false));
    char *user_id = xasprintf("%s:%s", g->tenant, g->user);
    json_t *user = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", user_id, "name", g->user,
                             "RAX-AUTH:defaultRegion", c->region, "roles", "id", role_name(g),
                             "name", role_name(g));
    free(user_id);
    json_t *doc = json_pack("{s:{s:o, s:o, s:[o, o]}}", "access", "token", token, "user", user,
                            "serviceCatalog", files, cdn);
    return doc ? dump_into(doc, out) : -ENOMEM;
}

static json_t *v3_endpoint(const char *iface, const char *url, const char *region)
{
    char *id = xasprintf("swift-%s", iface);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "interface", iface, "region",
                          region, "region_id", region, "url", url);
    free(id);
    return e;
}

int keystone_v3_render(const struct auth_grant *g, const struct catalog_urls *c,
                       struct buf *out)
{
    char expires[40], issued[40];
    iso_utc(g->expires, ".000000", expires);
    iso_utc(time(NULL), ".000000", issued);
    char *user_id = xasprintf("%s:%s", g->tenant, g->user);
    json_t *domain = json_pack("{s:s, s:s}", "id", DOMAIN_ID, "name", DOMAIN_NAME);
    json_t *user = json_pack("{s:s, s:s, s:O, s:n}", "id", user_id, "name", g->user, "domain",
                             domain, "password_expires_at");
    json_t *project = json_pack("{s:s, s:s, s:O}", "id", g->tenant, "name", g->tenant, "domain",
                                domain);
    json_t *endpoints = json_pack("[o, o]", v3_endpoint("public", c->public_url, c->region),
                                  v3_endpoint("internal", c->internal_url, c->region));
    json_t *catalog = json_pack("[{s:o, s:s, s:s, s:s}]", "endpoints", endpoints, "id", "swift",
                                "name", "swift", "type", "object-store");
    json_t *doc = json_pack("{s:{s:[s], s:o, s:o, s:[{s:s, s:s}], s:o, s:s, s:s, s:b}}", "token",
                            "methods", "password", "user", user, "project", project, "roles",
                            "id", role_name(g), "name", role_name(g), "catalog", catalog,
                            "expires_at", expires, "issued_at", issued, "is_domain", 0);
    json_decref(domain);
    free(user_id);
    return doc ? dump_into(doc, out) : -ENOMEM;
}

void keystone_v2_error(int status, bool api_key, struct buf *out)
{
    const char *kind = "badRequest", *msg = "Invalid json request body";
    if (status == 401) {
        kind = "unauthorized";
        msg = api_key ? "Username or api key is invalid."
                      : "Unable to authenticate user with credentials provided.";
    } else if (status >= 500) {
        kind = "identityFault";
        msg = "Service temporarily unavailable.";
    }
    buf_reset(out);
    if (buf_appendf(out, "{\"%s\":{\"code\":%d,\"message\":\"%s\"}}", kind, status, msg) != 0)
        buf_reset(out);
}

void keystone_v3_error(int status, struct buf *out)
{
    const char *title = "Bad Request",
               *msg = "The request you have made is malformed or missing a required field.";
    if (status == 401) {
        title = "Unauthorized";
        msg = "The request you have made requires authentication.";
    } else if (status >= 500) {
        title = "Internal Server Error";
        msg = "An unexpected error prevented the server from fulfilling your request.";
    }
    buf_reset(out);
    if (buf_appendf(out, "{\"error\":{\"code\":%d,\"title\":\"%s\",\"message\":\"%s\"}}", status,
                    title, msg) != 0)
        buf_reset(out);
}
