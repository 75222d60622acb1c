/* server/acl.c: This file implements the pure half of server/acl.h: Swift's
 * ACL syntax (swift/common/middleware/acl.py: clean_acl, parse_acl,
 * referrer_allowed), tempauth's X-Account-Access-Control checks, and
 * tempauth's authorize() decision over an identity.
 *
 * Swift handles header values as WSGI strings, one character per byte
 * (Latin-1), and writes its messages with Python's repr(); both are
 * reproduced here so the 400 bodies match Swift's byte for byte. */
#include "acl.h"

#include <assert.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "path.h"

/* The buffers of this file are uncapped (callers pass uncapped ones), so
 * appending cannot fail: memory exhaustion aborts inside buf. */
static void putmem(struct buf *b, const void *p, size_t n)
{
    int rc = buf_append(b, p, n);
    assert(rc == 0);
    (void)rc;
}

static void putstr(struct buf *b, const char *s)
{
    putmem(b, s, strlen(s));
}

static void putch(struct buf *b, char c)
{
    putmem(b, &c, 1);
}

static void PRINTF_LIKE(2, 3) putfmt(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vappendf(b, fmt, ap);
    va_end(ap);
    assert(rc == 0);
    (void)rc;
}

/* ------------------------------------------------------------------ */
/* Python's repr() of a str                                           */

/* str.isprintable() for a code point past ASCII: the separators, format
 * and control characters, surrogates and private use are not. */
static bool py_printable(uint32_t cp)
{
    if (cp <= 0xa0 || cp == 0xad || cp == 0x1680 || cp == 0x3000 || cp == 0xfeff)
        return false;
    if ((cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
        (cp >= 0x205f && cp <= 0x2064) || (cp >= 0xd800 && cp <= 0xf8ff) ||
        (cp >= 0xfff9 && cp <= 0xfffb) || cp == 0xfffe || cp == 0xffff || cp > 0x10ffff)
        return false;
    return true;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
    char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    putmem(out, b, n);
}

/* The next code point of s[*i..n): strict UTF-8, or with utf8 false (or
 * on a bad sequence) one byte, a bad byte b as Python's surrogateescape
 * U+DC00+b. */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *i, bool utf8)
{
    unsigned char c = s[*i];
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 1;
    uint32_t cp;

    if (!utf8 || c < 0x80) {
        (*i)++;
        return c;
    }
    if (len == 1 || *i + len > n)
        goto bad;
    cp = len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
    for (size_t k = 1; k < len; k++) {
        if ((s[*i + k] & 0xc0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[*i + k] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        goto bad;
    *i += len;
    return cp;
bad:
    (*i)++;
    return 0xdc00u + c;
}

/* Append repr(s) as Python 3 writes it; utf8: s is decoded as UTF-8 (as
 * wsgi_to_str does), else each byte is one character (a WSGI string). */
static void py_repr(struct buf *out, const char *s, bool utf8)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

    putch(out, q);
    while (i < n) {
        uint32_t cp = next_cp(u, n, &i, utf8);
        if (cp == (uint32_t)q || cp == '\\')
            putfmt(out, "\\%c", (char)cp);
        else if (cp == '\t' || cp == '\n' || cp == '\r')
            putstr(out, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r");
        else if (cp >= 0x20 && cp < 0x7f)
            putch(out, (char)cp);
        else if (cp >= 0x7f && py_printable(cp))
            put_utf8(out, cp);
        else if (cp <= 0xff)
            putfmt(out, "\\x%02x", (unsigned)cp);
        else if (cp <= 0xffff)
            putfmt(out, "\\u%04x", (unsigned)cp);
        else
            putfmt(out, "\\U%08x", (unsigned)cp);
    }
    putch(out, q);
}

/* The bytes of s taken as Latin-1 characters, in UTF-8. */
static void latin1_to_utf8(struct buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        put_utf8(out, *p);
}

/* ------------------------------------------------------------------ */
/* Container ACLs (acl.py)                                            */

/* str.isspace() of a Latin-1 character. */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) || c == 0x85 ||
           c == 0xa0;
}

/* str.strip() of s[0..*n): returns the start, updates *n. */
static const char *strip(const char *s, size_t *n)
{
    while (*n && py_space((unsigned char)s[0])) {
        s++;
        (*n)--;
    }
    while (*n && py_space((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* A ValueError of clean_acl: fmt holds one or two %s for repr()s. */
static int clean_error(struct buf *out, const char *fmt, const char *a, size_t alen,
                       const char *b, size_t blen)
{
    char *sa = xstrndup(a, alen), *sb = b ? xstrndup(b, blen) : NULL;
    const char *mark = strstr(fmt, "%s");

    buf_reset(out);
    putmem(out, fmt, (size_t)(mark - fmt));
    py_repr(out, sa, false);
    if (sb) {
        const char *mark2 = strstr(mark + 2, "%s");
        putmem(out, mark + 2, (size_t)(mark2 - mark - 2));
        py_repr(out, sb, false);
    }
    free(sa);
    free(sb);
    return ERR_BADINPUT;
}

/* One "designator:value" item of clean_acl (first starts with '.'). */
static int clean_designated(const char *header, const char *raw, size_t rawlen, const char *first,
                            size_t flen, const char *second, size_t slen, struct buf *out)
{
    bool negate = false;

    if (!span_eq(first, flen, ".r") && !span_eq(first, flen, ".ref") &&
        !span_eq(first, flen, ".referer") && !span_eq(first, flen, ".referrer"))
        return clean_error(out, "Unknown designator %s in ACL: %s", first, flen, raw, rawlen);
    if (strcasestr(header, "write"))
        return clean_error(out, "Referrers not allowed in write ACL: %s", raw, rawlen, NULL, 0);
    if (slen && second[0] == '-') {
        negate = true;
        second++;
        slen--;
        second = strip(second, &slen);
    }
    if (slen && !span_eq(second, slen, "*") && second[0] == '*') {
        second++;
        slen--;
        second = strip(second, &slen);
    }
    if (!slen || span_eq(second, slen, "."))
        return clean_error(out, "No host/domain value after referrer designation in ACL: %s", raw,
                           rawlen, NULL, 0);
    putstr(out, negate ? ".r:-" : ".r:");
    putmem(out, second, slen);
    return 0;
}

int acl_clean(const char *header, const char *value, struct buf *out)
{
    size_t start = out->len;
    const char *p = value;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *raw = strip(p, &n), *colon = memchr(raw, ':', n);
        size_t before = out->len;

        if (n && before > start)
            putch(out, ',');
        if (n && colon) {
            size_t flen = (size_t)(colon - raw), slen = n - flen - 1;
            const char *first = strip(raw, &flen), *second = strip(colon + 1, &slen);
            if (flen && first[0] == '.') {
                if (clean_designated(header, raw, n, first, flen, second, slen, out) != 0)
                    return ERR_BADINPUT;
            } else {
                putmem(out, raw, n);
            }
        } else if (n) {
            putmem(out, raw, n);
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Call cb for each item of a cleaned ACL (split on ','); stops when cb
 * returns true and returns true then. */
static bool acl_each(const char *acl, bool (*cb)(void *ctx, const char *item, size_t n), void *ctx)
{
    for (const char *p = acl; p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (cb(ctx, p, n))
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* urlparse(referer).hostname, lower case, into host (NUL-terminated);
 * false when there is none. */
static bool referer_host(const char *ref, char *host, size_t hostlen)
{
    const char *colon = strchr(ref, ':'), *p = ref, *end, *at, *h, *hend;
    size_t n;

    if (colon && colon > ref && ((ref[0] | 0x20) >= 'a' && (ref[0] | 0x20) <= 'z') &&
        strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
            (size_t)(colon - ref))
        p = colon + 1;
    if (strncmp(p, "//", 2) != 0)
        return false;
    p += 2;
    end = p + strcspn(p, "/?#");
    for (at = end; at > p && at[-1] != '@'; at--)
        ;
    h = at;
    if (*h == '[') {
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend)
            return false;
        h++;
    } else {
        hend = memchr(h, ':', (size_t)(end - h));
        if (!hend)
            hend = end;
    }
    n = (size_t)(hend - h);
    if (n == 0 || n >= hostlen)
        return false;
    for (size_t i = 0; i < n; i++)
        host[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
    host[n] = '\0';
    return true;
}

struct referer_ctx {
    const char *rhost;
    bool allow;
};

static bool host_matches(const char *m, size_t mlen, const char *rhost)
{
    size_t rlen = strlen(rhost);

    if (span_eq(m, mlen, rhost))
        return true;
    return mlen && m[0] == '.' && rlen >= mlen && memcmp(rhost + rlen - mlen, m, mlen) == 0;
}

static bool referer_item(void *vctx, const char *item, size_t n)
{
    struct referer_ctx *ctx = vctx;

    if (n < 3 || memcmp(item, ".r:", 3) != 0)
        return false;
    item += 3;
    n -= 3;
    if (n && item[0] == '-') {
        if (host_matches(item + 1, n - 1, ctx->rhost))
            ctx->allow = false;
    } else if (span_eq(item, n, "*") || host_matches(item, n, ctx->rhost)) {
        ctx->allow = true;
    }
    return false;
}

bool acl_referrer_allowed(const char *referer, const char *acl)
{
    char host[256];
    struct referer_ctx ctx = {.rhost = "unknown", .allow = false};

    if (!acl)
        return false;
    if (referer && referer_host(referer, host, sizeof(host)))
        ctx.rhost = host;
    acl_each(acl, referer_item, &ctx);
    return ctx.allow;
}

/* tempauth's groups of an identity: "account", "account:user", and the
 * storage account for an admin. n_out: how many (up to 3). */
static size_t identity_groups(const struct identity *who, char *groups[3])
{
    size_t n = 0;
    const char *colon;

    if (!who->authenticated || !who->user)
        return 0;
    colon = strchr(who->user, ':');
    if (colon)
        groups[n++] = xstrndup(who->user, (size_t)(colon - who->user));
    groups[n++] = xstrdup(who->user);
    if (who->admin && who->account)
        groups[n++] = xstrdup(who->account);
    return n;
}

struct group_ctx {
    char **groups;
    size_t n;
    bool rlistings;
};

static bool group_item(void *vctx, const char *item, size_t n)
{
    struct group_ctx *ctx = vctx;
    size_t dlen;
    char *d;
    bool hit = false;

    if (n >= 3 && memcmp(item, ".r:", 3) == 0)
        return false;
    if (span_eq(item, n, ".rlistings"))
        ctx->rlistings = true;
    d = percent_decode(item, n, false, &dlen);
    for (size_t i = 0; i < ctx->n && !hit; i++)
        hit = strlen(ctx->groups[i]) == dlen && memcmp(ctx->groups[i], d, dlen) == 0;
    free(d);
    return hit;
}

bool acl_container_grants(const char *acl, const char *referer, const struct identity *who,
                          bool object)
{
    char *groups[3];
    struct group_ctx ctx = {.groups = groups, .n = 0, .rlistings = false};
    bool hit;

    if (!acl || !acl[0])
        return false;
    ctx.n = identity_groups(who, groups);
    hit = acl_each(acl, group_item, &ctx);
    if (!hit && acl_referrer_allowed(referer, acl))
        hit = object || ctx.rlistings;
    for (size_t i = 0; i < ctx.n; i++)
        free(groups[i]);
    return hit;
}

/* ------------------------------------------------------------------ */
/* The account ACL (tempauth's X-Account-Access-Control)               */

static const char *const account_keys[] = {"admin", "read-write", "read-only"};

/* json.dumps(s) with ensure_ascii, s being n bytes of UTF-8. */
static void json_quote(struct buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    putch(out, '"');
    while (i < n) {
        uint32_t cp = next_cp(u, n, &i, true);
        if (cp == '"' || cp == '\\')
            putfmt(out, "\\%c", (char)cp);
        else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f')
            putstr(out, cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : cp == '\t' ? "\\t"
                                                                   : cp == '\b' ? "\\b" : "\\f");
        else if (cp >= 0x20 && cp < 0x7f)
            putch(out, (char)cp);
        else if (cp < 0x10000)
            putfmt(out, "\\u%04x", (unsigned)cp);
        else
            putfmt(out, "\\u%04x\\u%04x", 0xd800u + ((cp - 0x10000) >> 10),
                              0xdc00u + ((cp - 0x10000) & 0x3ff));
    }
    putch(out, '"');
}

/* tempauth's complaint about a parsed value, or NULL when it is fine. */
static const char *account_acl_error(json_t *doc, struct buf *why)
{
    const char *key;
    json_t *v;

    if (!json_is_object(doc))
        return "syntax";
    json_object_foreach(doc, key, v) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(account_keys); i++)
            known = known || strcmp(key, account_keys[i]) == 0;
        if (!known) {
            putstr(why, "Key ");
            json_quote(why, key, strlen(key));
            putstr(why, " not recognized");
            return why->data;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(account_keys); i++) {
        json_t *list = json_object_get(doc, account_keys[i]), *e;
        size_t k;
        if (!list)
            continue;
        if (!json_is_array(list)) {
            putfmt(why, "Value for key \"%s\" must be a list", account_keys[i]);
            return why->data;
        }
        json_array_foreach(list, k, e) {
            if (!json_is_string(e)) {
                putfmt(why, "Elements of \"%s\" list must be strings", account_keys[i]);
                return why->data;
            }
        }
    }
    return NULL;
}

/* format_acl(version=2): keys sorted, compact, ASCII. */
static void account_acl_format(json_t *doc, struct buf *out)
{
    static const char *const sorted[] = {"admin", "read-only", "read-write"};
    bool first = true;

    putch(out, '{');
    for (size_t i = 0; i < ARRAY_SIZE(sorted); i++) {
        json_t *list = json_object_get(doc, sorted[i]), *e;
        size_t k;
        if (!list)
            continue;
        putfmt(out, "%s\"%s\":[", first ? "" : ",", sorted[i]);
        first = false;
        json_array_foreach(list, k, e) {
            if (k)
                putch(out, ',');
            json_quote(out, json_string_value(e), json_string_length(e));
        }
        putch(out, ']');
    }
    putch(out, '}');
}

int acl_account_parse(const char *value, struct buf *out)
{
    struct buf text = BUF_INIT, why = BUF_INIT;
    const char *err;
    json_t *doc;

    if (!value[0])
        return 0;
    /* Swift parses the header as a WSGI string: one character per byte */
    latin1_to_utf8(&text, value);
    doc = json_loadb(text.data, text.len, JSON_ALLOW_NUL, NULL);
    err = doc ? account_acl_error(doc, &why) : "syntax";
    if (!err)
        account_acl_format(doc, out);
    json_decref(doc);
    if (err) {
        putstr(out, "X-Account-Access-Control invalid: ");
        if (err == why.data) {
            putstr(out, err);
        } else {
            putstr(out, "Syntax error in input (");
            py_repr(out, value, true);
            putch(out, ')');
        }
        putstr(out, "\n\nInput: ");
        putmem(out, text.data, text.len);
        putch(out, '\n');
    }
    buf_release(&text);
    buf_release(&why);
    return err ? ERR_BADINPUT : 0;
}

/* Does the JSON list name one of groups? */
static bool list_has(json_t *list, char **groups, size_t n)
{
    size_t k;
    json_t *e;

    json_array_foreach(list, k, e) {
        if (!json_is_string(e))
            continue;
        for (size_t i = 0; i < n; i++)
            if (json_string_length(e) == strlen(groups[i]) &&
                memcmp(json_string_value(e), groups[i], strlen(groups[i])) == 0)
                return true;
    }
    return false;
}

enum acl_role acl_account_role(const char *acl_json, const struct identity *who)
{
    static const struct {
        const char *key;
        enum acl_role role;
    } order[] = {{"admin", ACL_ROLE_ADMIN},
                 {"read-write", ACL_ROLE_READ_WRITE},
                 {"read-only", ACL_ROLE_READ_ONLY}};
    enum acl_role role = ACL_ROLE_NONE;
    char *groups[3];
    size_t n;
    json_t *doc;

    if (!acl_json || !acl_json[0] || !who->authenticated)
        return ACL_ROLE_NONE;
    doc = json_loads(acl_json, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return ACL_ROLE_NONE;
    }
    n = identity_groups(who, groups);
    for (size_t i = 0; i < ARRAY_SIZE(order) && role == ACL_ROLE_NONE; i++) {
        json_t *list = json_object_get(doc, order[i].key);
        if (json_is_array(list) && list_has(list, groups, n))
            role = order[i].role;
    }
    for (size_t i = 0; i < n; i++)
        free(groups[i]);
    json_decref(doc);
    return role;
}

/* ------------------------------------------------------------------ */
/* The decision (tempauth's authorize)                                */

static bool is_read(enum http_method m)
{
    return m == M_GET || m == M_HEAD || m == M_COPY;
}

/* What the identity's own rights decide: DENY for a read-only identity's
 * write, ALLOW_OWNER for a reseller or the account's admin, ALLOW for a
 * read-only identity reading its own account; -1 when they do not. */
static int own_rights(const struct acl_query *q)
{
    const struct identity *w = q->who;
    bool own = w->authenticated && w->account && q->account && strcmp(w->account, q->account) == 0;

    if (!w->authenticated)
        return -1;
    if (w->read_only && !is_read(q->method) && q->method != M_OPTIONS)
        return ACL_DENY;
    if (w->reseller)
        return ACL_ALLOW_OWNER;
    if (own && w->admin && ((q->method != M_PUT && q->method != M_DELETE) || q->container))
        return ACL_ALLOW_OWNER;
    if (own && w->read_only && is_read(q->method))
        return ACL_ALLOW;
    return -1;
}

/* The container's ACL, where Swift's proxy consults one: the read ACL for
 * GET/HEAD of a container or object, the write ACL for object writes. */
static bool container_acl_grants(const struct acl_query *q)
{
    bool read = is_read(q->method), grants;
    char *acl;

    if (!q->container || (!q->object && !read) || !q->container_acl)
        return false;
    acl = q->container_acl(q->ctx, !read);
    grants = acl && acl_container_grants(acl, q->referer, q->who, q->object);
    free(acl);
    return grants;
}

static enum acl_verdict account_acl_grants(const struct acl_query *q)
{
    enum acl_role role;
    char *acl;

    if (!q->who->authenticated || !q->account_acl)
        return ACL_DENY;
    acl = q->account_acl(q->ctx);
    role = acl_account_role(acl, q->who);
    free(acl);
    if (role == ACL_ROLE_ADMIN)
        return ACL_ALLOW_OWNER;
    if (role == ACL_ROLE_READ_WRITE && (q->container || is_read(q->method)))
        return ACL_ALLOW;
    if (role == ACL_ROLE_READ_ONLY && is_read(q->method))
        return ACL_ALLOW;
    return ACL_DENY;
}

enum acl_verdict acl_decide(const struct acl_query *q)
{
    int own = own_rights(q);

    if (own >= 0)
        return (enum acl_verdict)own;
    if (q->method == M_OPTIONS)
        return ACL_ALLOW;
    if (container_acl_grants(q))
        return ACL_ALLOW;
    return account_acl_grants(q);
}

/* ------------------------------------------------------------------ */
/* Owner headers                                                      */

static const char *const owner_headers[] = {
    "X-Container-Read",
    "X-Container-Write",
    "X-Container-Sync-Key",
    "X-Container-Sync-To",
    "X-Account-Meta-Temp-URL-Key",
    "X-Account-Meta-Temp-URL-Key-2",
    "X-Container-Meta-Temp-URL-Key",
    "X-Container-Meta-Temp-URL-Key-2",
    ACL_ACCOUNT_HEADER,
};

bool acl_owner_header(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(owner_headers); i++)
        if (strcasecmp(name, owner_headers[i]) == 0)
            return true;
    return false;
}

void acl_strip_owner_headers(struct kv_list *l)
{
    for (size_t i = 0; i < ARRAY_SIZE(owner_headers); i++)
        kv_del(l, owner_headers[i]);
}
