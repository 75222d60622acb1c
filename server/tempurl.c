/* server/tempurl.c: implements Swift 2.30's tempurl middleware
 * (server/tempurl.h): signature parsing and checking against the account
 * and container keys, the headers a TempURL may not send, and the response
 * rules (Content-Disposition, Expires, no private object metadata). */
#include "tempurl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/hash.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../replication/cluster.h"
#include "range.h"
#include "server.h"

#define INVALID_BODY "401 Unauthorized: Temp URL invalid\n"

/* The methods a TempURL may be used with (Swift's default `methods`). */
static const char *const tu_methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE"};

/* Headers that would let a TempURL upload reach other data (Swift's
 * DISALLOWED_INCOMING_HEADERS). */
static const char *const disallowed_headers[] = {"X-Object-Manifest", "X-Symlink-Target",
                                                 "X-Copy-From"};

static const char *const key_headers[] = {
    "X-Account-Meta-Temp-Url-Key", "X-Account-Meta-Temp-Url-Key-2",
    "X-Container-Meta-Temp-Url-Key", "X-Container-Meta-Temp-Url-Key-2"};

/* ---- pure helpers ---- */

/* Swift's strict_b64decode(s + "=="), after its URL-safe translation:
 * only base64 characters before the trailing '=', and never 4n+1 of them.
 * Decodes at most max bytes; returns the length or -EINVAL. */
static int b64_decode(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s), len = 0;
    uint32_t acc = 0;
    int bits = 0;
    bool urlsafe = (strpbrk(s, "-_") != NULL) && !strpbrk(s, "+/");

    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (urlsafe)
            c = c == '-' ? '+' : c == '_' ? '/' : c;
        int v = base64_digit_value(c);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len == max)
                return -EINVAL;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return (int)len;
}

int tempurl_parse_sig(const char *sig, char digest[8], char hex[129])
{
    const char *colon = strchr(sig, ':');
    size_t n;

    if (colon) {
        uint8_t raw[64];
        size_t dn = (size_t)(colon - sig);
        if ((dn != 4 || strncmp(sig, "sha1", 4) != 0) &&
            (dn != 6 || (strncmp(sig, "sha256", 6) != 0 && strncmp(sig, "sha512", 6) != 0)))
            return -EINVAL;
        int len = b64_decode(colon + 1, raw, sizeof(raw));
        if (len < 0)
            return -EINVAL;
        memcpy(digest, sig, dn);
        digest[dn] = '\0';
        hex_encode(raw, (size_t)len, hex);
        return 0;
    }
    n = strlen(sig);
    if (n != 40 && n != 64 && n != 128)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (hex_digit_value(sig[i]) < 0)
            return -EINVAL;
    strcpy(digest, n == 40 ? "sha1" : n == 64 ? "sha256" : "sha512");
    memcpy(hex, sig, n + 1);
    return 0;
}

int64_t tempurl_parse_expires(const char *s)
{
    int64_t v;
    struct tm tm;
    const char *end;

    if (py_int(s, strlen(s), &v))
        return v;
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return 0;
    return (int64_t)timegm(&tm);
}

bool tempurl_hmac_match(const char *digest, const char *const *keys, size_t nkeys,
                        const char *msg, size_t msglen, const char *hex)
{
    size_t hlen = strlen(hex);
    bool match = false;

    for (size_t i = 0; i < nkeys; i++) {
        uint8_t mac[64];
        char mhex[129];
        int len = hmac_digest(digest, keys[i], strlen(keys[i]), msg, msglen, mac);
        if (len < 0)
            return false;
        hex_encode(mac, (size_t)len, mhex);
        /* Lengths are public (they follow from the digest name). */
        if (hlen == (size_t)len * 2 && bytes_equal_ct(mhex, hex, hlen))
            match = true;
    }
    return match;
}

/* Python's urllib.parse.quote(s, safe): keep letters, digits, "_.-~" and
 * the safe characters; %XX (upper case) for every other byte. */
static void quote_into(struct buf *b, const char *s, const char *safe)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int rc;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("_.-~", *p) || strchr(safe, *p))
            rc = buf_append(b, (const char *)p, 1);
        else
            rc = buf_appendf(b, "%%%02X", *p);
        if (rc != 0)
            abort();   /* the buffer has no cap */
    }
}

char *tempurl_disposition(const char *type, const char *filename)
{
    struct buf b;

    buf_init(&b, 0);
    if (buf_appendf(&b, "%s; filename=\"", type) != 0)
        abort();
    quote_into(&b, filename, " /");
    if (buf_appends(&b, "\"; filename*=UTF-8''") != 0)
        abort();
    quote_into(&b, filename, "/");
    return buf_detach(&b, NULL);
}

/* ---- the check ---- */

void tempurl_grant_free(struct tempurl_grant *g)
{
    if (!g)
        return;
    free(g->filename);
    free(g->account);
    free(g->container);
    free(g);
}

static void invalid(struct request *r)
{
    resp_error(r, 401, r->method == M_HEAD ? NULL : INVALID_BODY);
    resp_header(r, "Www-Authenticate", "Swift realm=\"unknown\"");
}

/* The keys set on the account, then on the container; at most 4. */
static size_t collect_keys(struct request *r, struct kv_list *keys)
{
    struct placement pl;
    struct account_stat as;
    struct container_stat cs;
    size_t n_account = 0;

    memset(&as, 0, sizeof(as));
    memset(&cs, 0, sizeof(cs));
    kv_init(&as.meta);
    kv_init(&cs.meta);
    cluster_locate(r->srv->cluster, ITEM_ACCOUNT, r->account, NULL, NULL, &pl);
    if (db_account_stat(r->srv->db, &pl, &as) == 0) {
        for (size_t i = 0; i < 2; i++) {
            const char *v = kv_get(&as.meta, key_headers[i]);
            if (v && *v)
                kv_add(keys, "account", v);
        }
    }
    n_account = keys->n;
    cluster_locate(r->srv->cluster, ITEM_CONTAINER, r->account, r->container, NULL, &pl);
    if (db_container_stat(r->srv->db, &pl, &cs) == 0) {
        for (size_t i = 2; i < 4; i++) {
            const char *v = kv_get(&cs.meta, key_headers[i]);
            if (v && *v)
                kv_add(keys, "container", v);
        }
    }
    account_stat_release(&as);
    container_stat_release(&cs);
    return n_account;
}

static bool method_allowed(const struct request *r)
{
    for (size_t i = 0; i < ARRAY_SIZE(tu_methods); i++)
        if (strcmp(r->method_name, tu_methods[i]) == 0)
            return true;
    return false;
}

/* The object a TempURL may name: "/v1/a/c/o" with o not only slashes. */
static bool object_path(const struct request *r)
{
    if (!r->version || strcmp(r->version, "v1") != 0 || !r->container || !r->object)
        return false;
    return r->object[strspn(r->object, "/")] != '\0';
}

/* Which scope's key matched hex for the methods to try; 0 none, 1 account,
 * 2 container. */
static int match_scope(const struct kv_list *keys, size_t n_account, const char *digest,
                       const char *const *methods, size_t n_methods, int64_t expires,
                       const char *path, const char *hex)
{
    int scope = 0;

    for (size_t m = 0; m < n_methods; m++) {
        char *msg = xasprintf("%s\n%lld\n%s", methods[m], (long long)expires, path);
        for (size_t k = 0; k < keys->n; k++) {
            const char *key = keys->items[k].value;
            if (tempurl_hmac_match(digest, &key, 1, msg, strlen(msg), hex) && !scope)
                scope = k < n_account ? 1 : 2;
        }
        free(msg);
    }
    return scope;
}

static bool disallowed_header(struct request *r)
{
    if (r->method == M_GET || r->method == M_HEAD)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(disallowed_headers); i++) {
        if (req_header(r, disallowed_headers[i])) {
            char msg[96];
            snprintf(msg, sizeof(msg), "The header '%s' is not allowed in this tempurl",
                     disallowed_headers[i]);
            resp_error(r, 400, msg);
            return true;
        }
    }
    return false;
}

static void grant(struct request *r, int64_t expires, int scope)
{
    struct tempurl_grant *g = xcalloc(1, sizeof(*g));
    const char *filename = req_query(r, "filename");

    g->expires = expires;
    g->filename = filename && *filename ? xstrdup(filename) : NULL;
    g->inline_disposition = req_query(r, "inline") != NULL;
    g->account_scope = scope == 1;
    g->account = xstrdup(r->account);
    g->container = xstrdup(r->container);
    r->tempurl = g;
}

int tempurl_check(struct request *r)
{
    const char *sig = req_query(r, "temp_url_sig");
    const char *exp = req_query(r, "temp_url_expires");
    const char *prefix = req_query(r, "temp_url_prefix");
    static const char *const head_methods[] = {"HEAD", "GET", "POST", "PUT"};
    struct kv_list keys = KV_LIST_INIT;
    char digest[8], hex[129];
    int64_t expires;
    int scope = 0;

    if (!sig && !exp)
        return 0;
    expires = exp ? tempurl_parse_expires(exp) : 0;
    if (expires < (int64_t)time(NULL))
        expires = 0;
    /* IP-restricted URLs are not supported: refusing them is the safe side. */
    if (!sig || !*sig || !expires || tempurl_parse_sig(sig, digest, hex) != 0 ||
        !method_allowed(r) || !object_path(r) || req_query(r, "temp_url_ip_range"))
        goto out_invalid;
    if (prefix && strncmp(r->object, prefix, strlen(prefix)) != 0)
        goto out_invalid;
    size_t n_account = collect_keys(r, &keys);
    if (keys.n == 0)
        goto out_invalid;
    char *path = prefix ? xasprintf("prefix:/v1/%s/%s/%s", r->account, r->container, prefix)
                        : xasprintf("/v1/%s/%s/%s", r->account, r->container, r->object);
    if (r->method == M_HEAD)
        scope = match_scope(&keys, n_account, digest, head_methods, ARRAY_SIZE(head_methods),
                            expires, path, hex);
    else
        scope = match_scope(&keys, n_account, digest, &r->method_name, 1, expires, path, hex);
    free(path);
    kv_release(&keys);
    if (!scope)
        goto out_invalid;
    if (disallowed_header(r))
        return -1;
    grant(r, expires, scope);
    return 1;

out_invalid:
    kv_release(&keys);
    invalid(r);
    return -1;
}

bool tempurl_allows(const struct request *r, const char *account, const char *container)
{
    const struct tempurl_grant *g = r->tempurl;

    if (!g || !account || strcmp(g->account, account) != 0)
        return false;
    return g->account_scope || (container && strcmp(g->container, container) == 0);
}

/* ---- responses ---- */

bool tempurl_owner(const struct request *r)
{
    const struct identity *w = &r->who;

    if (!w->authenticated)
        return false;
    return w->reseller || (w->admin && w->account && r->account &&
                           strcmp(w->account, r->account) == 0);
}

/* Swift's outgoing_remove_headers x-object-meta-* with the exception
 * outgoing_allow_headers x-object-meta-public-*. */
static void drop_private_meta(struct request *r)
{
    struct kv_list *h = &r->resp_headers;
    size_t j = 0;

    for (size_t i = 0; i < h->n; i++) {
        const char *k = h->items[i].key;
        if (strncasecmp(k, "X-Object-Meta-", 14) == 0 &&
            strncasecmp(k, "X-Object-Meta-Public-", 21) != 0) {
            free(h->items[i].key);
            free(h->items[i].value);
            continue;
        }
        h->items[j++] = h->items[i];
    }
    h->n = j;
}

static void set_disposition(struct request *r, const struct tempurl_grant *g)
{
    char *value = NULL;
    char date[HTTP_DATE_LEN];

    if (g->inline_disposition)
        value = g->filename ? tempurl_disposition("inline", g->filename) : xstrdup("inline");
    else if (g->filename)
        value = tempurl_disposition("attachment", g->filename);
    else if (!kv_get(&r->resp_headers, "Content-Disposition")) {
        /* basename of the path, trailing slashes ignored */
        size_t n = strlen(r->object);
        while (n > 0 && r->object[n - 1] == '/')
            n--;
        size_t start = n;
        while (start > 0 && r->object[start - 1] != '/')
            start--;
        char *base = xstrndup(r->object + start, n - start);
        value = tempurl_disposition("attachment", base);
        free(base);
    }
    if (value)
        kv_set(&r->resp_headers, "Content-Disposition", value);
    free(value);
    http_date((time_t)g->expires, date);
    kv_set(&r->resp_headers, "Expires", date);
}

void tempurl_filter_response(struct request *r)
{
    if (!r->account)
        return;
    if (!tempurl_owner(r))
        for (size_t i = 0; i < ARRAY_SIZE(key_headers); i++)
            kv_del(&r->resp_headers, key_headers[i]);
    if (!r->tempurl)
        return;
    drop_private_meta(r);
    if ((r->method == M_GET || r->method == M_HEAD) && r->status >= 200 && r->status < 300)
        set_disposition(r, r->tempurl);
}
