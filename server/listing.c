/* server/listing.c: This file implements the listing formats and listing
 * query parsing of listing.h, after Swift 2.30's listing_formats.py,
 * swob.Accept, request_helpers.get_param/constrain_req_limit and the
 * account/container servers' JSON.
 *
 * The byte-level details matter because clients parse and compare these
 * bodies: JSON is Python's json.dumps (", " and ": " separators, ASCII only
 * with lower-case \u escapes and surrogate pairs), XML is ElementTree's
 * serialisation (self-closing "<x />" for empty elements, &quot; and
 * &#10; only in attributes), plain is one name per line. */
#include "listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/timefmt.h"
#include "constraints.h"

enum { FMT_PLAIN, FMT_JSON, FMT_XML };

/* ------------------------------------------------------------------ */
/* Accept negotiation (swob.Accept)                                    */

static const char *const listing_types[] = {"text/plain", "application/json", "application/xml",
                                            "text/xml"};

/* Python's \s on a Latin-1 header string, ASCII part. */
static bool is_ws(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* RFC 2616 token character (swob's token class; bytes >= 0x80 are allowed). */
static bool is_tchar(unsigned char c)
{
    return c > 0x20 && c != 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
    while (i < n && is_ws((unsigned char)s[i]))
        i++;
    return i;
}

static size_t skip_token(const char *s, size_t i, size_t n)
{
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

/* A quoted-string starting at s[i] == '"'; the index after it, or 0. */
static size_t skip_quoted(const char *s, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '"')
            return i + 1;
        if (s[i] == '\\') {
            if (i + 1 >= n || s[i + 1] == '\n')
                return 0;
            i++;
        }
    }
    return 0;
}

/* One accept-extension (ws ";" ws token ws "=" ws (token | quoted)) at i;
 * the index after it, or 0 when there is none. */
static size_t match_extension(const char *s, size_t i, size_t n)
{
    size_t j;

    i = skip_ws(s, i, n);
    if (i >= n || s[i] != ';')
        return 0;
    i = skip_ws(s, i + 1, n);
    j = skip_token(s, i, n);
    if (j == i)
        return 0;
    i = skip_ws(s, j, n);
    if (i >= n || s[i] != '=')
        return 0;
    i = skip_ws(s, i + 1, n);
    if (i < n && s[i] == '"')
        return skip_quoted(s, i, n);
    j = skip_token(s, i, n);
    return j == i ? 0 : j;
}

/* Python's float() on a stripped string, minus underscores and hex (which
 * it rejects anyway). false when it would raise ValueError. */
static bool py_float(const char *s, size_t n, double *out)
{
    char tmp[64], *end;
    size_t i = 0, digits = 0;

    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tmp[i] == '+' || tmp[i] == '-')
        i++;
    if (strcasecmp(tmp + i, "inf") && strcasecmp(tmp + i, "infinity") &&
        strcasecmp(tmp + i, "nan")) {
        for (; tmp[i] >= '0' && tmp[i] <= '9'; i++)
            digits++;
        if (tmp[i] == '.')
            for (i++; tmp[i] >= '0' && tmp[i] <= '9'; i++)
                digits++;
        if (!digits)
            return false;
        if (tmp[i] == 'e' || tmp[i] == 'E') {
            i++;
            if (tmp[i] == '+' || tmp[i] == '-')
                i++;
            if (!(tmp[i] >= '0' && tmp[i] <= '9'))
                return false;
            while (tmp[i] >= '0' && tmp[i] <= '9')
                i++;
        }
        if (tmp[i])
            return false;
    }
    *out = strtod(tmp, &end);
    return *end == '\0';
}

/* Trim Python-style whitespace from [*b, *e). */
static void trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && is_ws((unsigned char)s[*b]))
        (*b)++;
    while (*e > *b && is_ws((unsigned char)s[*e - 1]))
        (*e)--;
}

/* swob's parameter handling: split on ';', each non-blank part must be
 * exactly "name=value"; a second q is an error. */
static bool accept_quality(const char *s, size_t n, double *q)
{
    bool seen_q = false;
    size_t i = 0;

    *q = 1.0;
    while (i <= n) {
        size_t end = i, b = i, e, eq;

        while (end < n && s[end] != ';')
            end++;
        e = end;
        trim(s, &b, &e);
        if (b < e) {
            const char *p = memchr(s + b, '=', e - b);
            size_t nb = b, ne, vb, ve = e;

            if (!p || memchr(p + 1, '=', (size_t)(s + e - (p + 1))))
                return false;
            eq = (size_t)(p - s);
            ne = eq;
            vb = eq + 1;
            trim(s, &nb, &ne);
            trim(s, &vb, &ve);
            if (ne - nb == 1 && s[nb] == 'q') {
                if (seen_q || !py_float(s + vb, ve - vb, q))
                    return false;
                seen_q = true;
            }
        }
        i = end + 1;
    }
    return true;
}

struct accept_type {
    const char *type, *subtype; /* into the header */
    size_t tlen, slen;
    double q;
    bool exact; /* no '*' in type or subtype */
};

/* Parse one comma-separated piece of an Accept header. */
static bool accept_piece(const char *s, size_t n, struct accept_type *t)
{
    size_t i = skip_ws(s, 0, n), j, k;

    j = skip_token(s, i, n);
    if (j == i || j >= n || s[j] != '/')
        return false;
    t->type = s + i;
    t->tlen = j - i;
    k = skip_token(s, j + 1, n);
    if (k == j + 1)
        return false;
    t->subtype = s + j + 1;
    t->slen = k - j - 1;
    for (i = k; skip_ws(s, i, n) < n;) {
        i = match_extension(s, i, n);
        if (!i)
            return false;
    }
    t->exact = !(t->tlen == 1 && t->type[0] == '*') && !(t->slen == 1 && t->subtype[0] == '*');
    return accept_quality(s + k, n - k, &t->q);
}

static bool part_matches(const char *pat, size_t plen, const char *opt, size_t olen)
{
    if (plen == 1 && pat[0] == '*')
        return olen > 0;
    return plen == olen && memcmp(pat, opt, olen) == 0;
}

static bool type_matches(const struct accept_type *t, const char *option)
{
    const char *slash = strchr(option, '/');

    return part_matches(t->type, t->tlen, option, (size_t)(slash - option)) &&
           part_matches(t->subtype, t->slen, slash + 1, strlen(slash + 1));
}

/* Stable sort by (q, exact) descending, as Python's sort(reverse=True). */
static void sort_types(struct accept_type *t, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct accept_type x = t[i];
        size_t j = i;

        while (j > 0 && (t[j - 1].q < x.q || (t[j - 1].q == x.q && !t[j - 1].exact && x.exact))) {
            t[j] = t[j - 1];
            j--;
        }
        t[j] = x;
    }
}

/* swob.Accept.best_match over the listing types: 0 with *out (NULL when
 * nothing is acceptable), or -EINVAL for a malformed header. */
static int accept_best(const char *accept, const char **out)
{
    struct accept_type *types = NULL;
    size_t n = 0, alloc = 0, len = strlen(accept);
    int rc = 0;

    *out = NULL;
    for (size_t i = 0; len && i <= len;) {
        const char *comma = memchr(accept + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - accept) : len;

        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            types = xrealloc(types, alloc * sizeof(*types));
        }
        if (!accept_piece(accept + i, end - i, &types[n])) {
            rc = -EINVAL;
            goto out_free;
        }
        n++;
        i = end + 1;
    }
    if (n == 0) {
        *out = listing_types[0];
        goto out_free;
    }
    sort_types(types, n);
    for (size_t i = 0; i < n && !*out; i++)
        for (size_t o = 0; o < ARRAY_SIZE(listing_types) && !*out; o++)
            if (type_matches(&types[i], listing_types[o]))
                *out = listing_types[o];
out_free:
    free(types);
    return rc;
}

int listing_content_type(const char *format, const char *accept, const char **out, char *msg,
                         size_t msglen, const char **msg_type)
{
    msg[0] = '\0';
    *msg_type = "text/html; charset=UTF-8";
    if (format && format[0]) {
        if (!utf8_valid(format, strlen(format))) {
            snprintf(msg, msglen, "\"format\" parameter not valid UTF-8");
            *msg_type = "text/plain";
            return 400;
        }
        /* format= replaces the Accept header with its type */
        if (strcasecmp(format, "json") == 0)
            accept = "application/json";
        else if (strcasecmp(format, "xml") == 0)
            accept = "application/xml";
        else
            accept = "text/plain";
    }
    if (accept_best(accept ? accept : "", out) != 0) {
        snprintf(msg, msglen, "Invalid Accept header");
        return 400;
    }
    if (*out)
        return 0;
    snprintf(msg, msglen,
             "<html><h1>Not Acceptable</h1><p>The resource is not available in a "
             "format acceptable to your browser.</p></html>");
    return 406;
}

/* ------------------------------------------------------------------ */
/* Query parameters                                                    */

bool listing_true_value(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};

    for (size_t i = 0; s && i < ARRAY_SIZE(yes); i++)
        if (strcasecmp(s, yes[i]) == 0)
            return true;
    return false;
}

/* The parameters whose UTF-8 Swift checks, in its order, per level. */
static const char *const container_utf8_params[] = {
    "marker", "end_marker", "prefix", "delimiter", "path",
    "format", "reverse",    "states", "includes",  "limit"};
static const char *const account_utf8_params[] = {"prefix", "delimiter", "reverse",
                                                  "limit",  "marker",    "end_marker"};

static int param_utf8(const char *name, const char *value, char *msg, size_t msglen)
{
    if (value && value[0] && !utf8_valid(value, strlen(value))) {
        snprintf(msg, msglen, "\"%s\" parameter not valid UTF-8", name);
        return 400;
    }
    return 0;
}

/* constrain_req_limit: digits only (else the default), over max is 412. */
static int parse_limit(const char *given, unsigned max, unsigned *limit, char *msg, size_t msglen)
{
    size_t n;

    *limit = max;
    if (!given || !given[0] || strspn(given, "0123456789") != strlen(given))
        return 0;
    while (given[0] == '0' && given[1])
        given++;
    n = strlen(given);
    if (n > 9 || strtoul(given, NULL, 10) > max) {
        snprintf(msg, msglen, "Maximum limit is %u", max);
        return 412;
    }
    *limit = (unsigned)strtoul(given, NULL, 10);
    return 0;
}

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Check every parameter's UTF-8 in Swift's order; the limit check comes
 * where Swift makes it (after its own UTF-8 check). */
static int check_params(struct listing_params *p, enum listing_level level, unsigned max_limit,
                        const char *(*get)(void *ctx, const char *key), void *ctx, char *msg,
                        size_t msglen, const char **msg_type)
{
    const char *const *names =
        level == LISTING_CONTAINER ? container_utf8_params : account_utf8_params;
    size_t count = level == LISTING_CONTAINER ? ARRAY_SIZE(container_utf8_params)
                                              : ARRAY_SIZE(account_utf8_params);

    /* The container checks run in the proxy (text/plain); the account ones
     * in the account server, whose errors reach the client as HTML. */
    for (size_t i = 0; i < count; i++) {
        int status = param_utf8(names[i], get(ctx, names[i]), msg, msglen);

        if (status) {
            *msg_type = level == LISTING_CONTAINER ? "text/plain" : "text/html; charset=UTF-8";
            return status;
        }
        if (strcmp(names[i], "limit") == 0) {
            *msg_type = "text/html; charset=UTF-8";
            status = parse_limit(get(ctx, "limit"), max_limit, &p->q.limit, msg, msglen);
            if (status)
                return status;
        }
    }
    return 0;
}

/* path=: prefix "<path without trailing slashes>/" (or "" for an empty
 * path), as ContainerBroker.list_objects_iter. Swift also sets delimiter
 * "/" but lists a pseudo-dir object ("a/b/" under path=a) while skipping
 * what lies below it; a storage delimiter would roll that object into a
 * subdir, so the rows are scanned without one and listing_path_skip()
 * filters them. */
static void apply_path(struct listing_params *p, const char *path)
{
    size_t n = strlen(path);

    while (n > 0 && path[n - 1] == '/')
        n--;
    p->has_path = true;
    p->path_prefix = n || path[0] ? xasprintf("%.*s/", (int)n, path) : xstrdup("");
    p->q.prefix = p->path_prefix;
    p->q.delimiter = NULL;
}

int listing_parse(struct listing_params *p, enum listing_level level, bool head, unsigned max_limit,
                  const char *(*get)(void *ctx, const char *key), void *ctx, const char *accept,
                  char *msg, size_t msglen, const char **msg_type)
{
    const char *format = get(ctx, "format"), *path;
    int status;

    memset(p, 0, sizeof(*p));
    p->q.limit = max_limit;
    p->can_vary = format == NULL;
    status = listing_content_type(format, accept, &p->content_type, msg, msglen, msg_type);
    if (status || head)
        return status;
    status = check_params(p, level, max_limit, get, ctx, msg, msglen, msg_type);
    if (status)
        return status;
    p->q.prefix = nonempty(get(ctx, "prefix"));
    p->q.marker = nonempty(get(ctx, "marker"));
    p->q.end_marker = nonempty(get(ctx, "end_marker"));
    p->q.delimiter = nonempty(get(ctx, "delimiter"));
    p->q.reverse = listing_true_value(get(ctx, "reverse"));
    path = level == LISTING_CONTAINER ? get(ctx, "path") : NULL;
    if (path)
        apply_path(p, path);
    return 0;
}

void listing_params_release(struct listing_params *p)
{
    free(p->path_prefix);
    p->path_prefix = NULL;
}

bool listing_path_skip(const char *prefix, const struct list_entry *e)
{
    size_t plen = strlen(prefix);
    const char *slash;

    if (e->is_subdir || strcmp(e->name, prefix) == 0)
        return true;
    /* "a/b/c" under "a/" is deeper; "a/b/" (a trailing slash) is not */
    slash = strncmp(e->name, prefix, plen) == 0 ? strchr(e->name + plen, '/') : NULL;
    return slash && slash[1] != '\0';
}

/* ------------------------------------------------------------------ */
/* Content type clean-up (override_bytes_from_content_type)            */

/* One _rfc_extension_pattern match at i: sets the key and value ranges
 * and returns the index after the match, or 0. */
static size_t match_ct_param(const char *s, size_t i, size_t n, size_t kv[4])
{
    size_t j;

    i = skip_ws(s, i, n);
    if (i >= n || s[i] != ';')
        return 0;
    i = skip_ws(s, i + 1, n);
    j = skip_token(s, i, n);
    if (j == i)
        return 0;
    kv[0] = i;
    kv[1] = j;
    kv[2] = kv[3] = j; /* no value */
    i = skip_ws(s, j, n);
    if (i < n && s[i] == '=') {
        size_t v = skip_ws(s, i + 1, n), e = 0;

        if (v < n && s[v] == '"')
            e = skip_quoted(s, v, n);
        else if (skip_token(s, v, n) > v)
            e = skip_token(s, v, n);
        if (e) {
            kv[2] = v;
            kv[3] = e;
            return e;
        }
    }
    return i;
}

/* Python int() on a swift_bytes value; false when it would raise. */
static bool parse_swift_bytes(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (i < n && s[i] == '+')
        i++;
    if (i == n)
        return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

int listing_clean_content_type(const char *ct, struct buf *out, uint64_t *bytes)
{
    const char *semi = strchr(ct, ';');
    size_t n = strlen(ct), i, sb[2] = {0, 0};
    bool has_sb = false;
    int rc;

    if (!semi)
        return buf_appends(out, ct);
    rc = buf_append(out, ct, (size_t)(semi - ct));
    /* findall: try a match at every position, continue after each one */
    for (i = (size_t)(semi - ct); rc == 0 && i < n;) {
        size_t kv[4], next = match_ct_param(ct, i, n, kv);

        if (!next) {
            i++;
            continue;
        }
        i = next;
        if (kv[1] - kv[0] == 11 && memcmp(ct + kv[0], "swift_bytes", 11) == 0) {
            has_sb = true; /* the last one counts */
            sb[0] = kv[2];
            sb[1] = kv[3];
            continue;
        }
        rc = buf_appendf(out, ";%.*s=%.*s", (int)(kv[1] - kv[0]), ct + kv[0], (int)(kv[3] - kv[2]),
                         ct + kv[2]);
    }
    if (has_sb)
        (void)parse_swift_bytes(ct + sb[0], sb[1] - sb[0], bytes);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writers                                                             */

/* Decode one code point of possibly invalid UTF-8; an invalid byte comes
 * back as itself (Latin-1), as Swift would see a WSGI string. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    size_t want = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;

    *len = 1;
    if (s[0] < 0x80 || want > n || !utf8_valid((const char *)s, want))
        return s[0];
    *len = want;
    if (want == 4)
        return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
               (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    if (want == 3)
        return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
}

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it. */
static int json_str(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    int rc = buf_appendc(b, '"');

    for (size_t i = 0; rc == 0 && i < n;) {
        size_t len;
        uint32_t cp = utf8_next(p + i, n - i, &len);

        i += len;
        if (cp == '"' || cp == '\\')
            rc = buf_appendf(b, "\\%c", (char)cp);
        else if (cp >= 0x20 && cp < 0x7f)
            rc = buf_appendc(b, (char)cp);
        else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f')
            rc = buf_appendf(b, "\\%c",
                             cp == '\n'   ? 'n'
                             : cp == '\r' ? 'r'
                             : cp == '\t' ? 't'
                             : cp == '\b' ? 'b'
                                          : 'f');
        else if (cp < 0x10000)
            rc = buf_appendf(b, "\\u%04x", (unsigned)cp);
        else
            rc = buf_appendf(b, "\\u%04x\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
                             (unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    }
    return rc ? rc : buf_appendc(b, '"');
}

/* ElementTree's escaping: text escapes & < >; attributes also " and
 * the whitespace characters \r \n \t. */
static int xml_esc(struct buf *b, const char *s, bool attr)
{
    int rc = 0;

    for (; rc == 0 && *s; s++) {
        switch (*s) {
        case '&':
            rc = buf_appends(b, "&amp;");
            break;
        case '<':
            rc = buf_appends(b, "&lt;");
            break;
        case '>':
            rc = buf_appends(b, "&gt;");
            break;
        case '"':
            rc = attr ? buf_appends(b, "&quot;") : buf_appendc(b, '"');
            break;
        case '\r':
            rc = attr ? buf_appends(b, "&#13;") : buf_appendc(b, '\r');
            break;
        case '\n':
            rc = attr ? buf_appends(b, "&#10;") : buf_appendc(b, '\n');
            break;
        case '\t':
            rc = attr ? buf_appends(b, "&#09;") : buf_appendc(b, '\t');
            break;
        default:
            rc = buf_appendc(b, *s);
            break;
        }
    }
    return rc;
}

/* <tag>text</tag>, or <tag /> for empty text, as ElementTree writes it. */
static int xml_elem(struct buf *b, const char *tag, const char *text)
{
    int rc;

    if (!text[0])
        return buf_appendf(b, "<%s />", tag);
    rc = buf_appendf(b, "<%s>", tag);
    if (rc == 0)
        rc = xml_esc(b, text, false);
    return rc ? rc : buf_appendf(b, "</%s>", tag);
}

static int xml_elem_u64(struct buf *b, const char *tag, uint64_t v)
{
    return buf_appendf(b, "<%s>%llu</%s>", tag, (unsigned long long)v, tag);
}

/* An object row's fields after Swift's clean-up. */
struct obj_row {
    struct buf ct;
    uint64_t bytes;
    char modified[ISO_TIME_LEN];
    struct buf hash;          /* the etag without its slo_etag parameter */
    struct buf slo_etag;      /* the SLO's etag, quoted; empty for none */
};

/* slo.py's handle_container_listing: an SLO manifest's row carries
 * "<manifest md5>; slo_etag=<etag>" (the etag of the whole object); the
 * parameter moves to its own key. Other parameters stay in the hash. */
static int split_slo_etag(const char *etag, struct buf *hash, struct buf *slo)
{
    const char *semi = strchr(etag, ';'), *p;
    int rc;

    if (!semi || !strstr(semi, "slo_etag="))
        return buf_appends(hash, etag);
    p = semi;
    while (p > etag && p[-1] == ' ')
        p--;
    rc = buf_append(hash, etag, (size_t)(p - etag));
    for (p = semi; rc == 0 && p && *p == ';';) {
        const char *k = p + 1, *end = strchr(k, ';');
        size_t n;
        while (*k == ' ')
            k++;
        n = end ? (size_t)(end - k) : strlen(k);
        while (n && k[n - 1] == ' ')
            n--;
        if (n > 9 && memcmp(k, "slo_etag=", 9) == 0)
            rc = buf_appendf(slo, "\"%.*s\"", (int)(n - 9), k + 9);
        else if (n)
            rc = buf_appendf(hash, "; %.*s", (int)n, k);
        p = end;
    }
    return rc;
}

static int obj_row_init(struct obj_row *row, const struct list_entry *e)
{
    int rc;

    buf_init(&row->ct, 0);
    buf_init(&row->hash, 0);
    buf_init(&row->slo_etag, 0);
    row->bytes = e->bytes;
    iso_time(e->timestamp, row->modified);
    rc = split_slo_etag(e->etag ? e->etag : "", &row->hash, &row->slo_etag);
    return rc ? rc : listing_clean_content_type(e->content_type ? e->content_type : "", &row->ct,
                                                &row->bytes);
}

static int json_object_row(struct buf *b, const struct list_entry *e, const struct obj_row *row)
{
    int rc = buf_appendf(b, "{\"bytes\": %llu, \"hash\": ", (unsigned long long)row->bytes);

    if (rc == 0)
        rc = json_str(b, row->hash.len ? row->hash.data : "");
    if (rc == 0)
        rc = buf_appends(b, ", \"name\": ");
    if (rc == 0)
        rc = json_str(b, e->name);
    if (rc == 0)
        rc = buf_appends(b, ", \"content_type\": ");
    if (rc == 0)
        rc = json_str(b, row->ct.data);
    if (rc == 0)
        rc = buf_appendf(b, ", \"last_modified\": \"%s\"", row->modified);
    if (rc == 0 && row->slo_etag.len) {
        rc = buf_appends(b, ", \"slo_etag\": ");
        if (rc == 0)
            rc = json_str(b, row->slo_etag.data);
    }
    return rc ? rc : buf_appendc(b, '}');
}

static int xml_object_row(struct buf *b, const struct list_entry *e, const struct obj_row *row)
{
    int rc = buf_appends(b, "<object>");

    if (rc == 0)
        rc = xml_elem(b, "name", e->name);
    if (rc == 0)
        rc = xml_elem(b, "hash", row->hash.len ? row->hash.data : "");
    if (rc == 0)
        rc = xml_elem_u64(b, "bytes", row->bytes);
    if (rc == 0)
        rc = xml_elem(b, "content_type", row->ct.data);
    if (rc == 0)
        rc = xml_elem(b, "last_modified", row->modified);
    return rc ? rc : buf_appends(b, "</object>");
}

static int add_object(struct listing_out *o, const struct list_entry *e)
{
    struct obj_row row;
    int rc = obj_row_init(&row, e);

    if (rc == 0)
        rc = o->fmt == FMT_JSON ? json_object_row(&o->body, e, &row)
                                : xml_object_row(&o->body, e, &row);
    buf_release(&row.ct);
    buf_release(&row.hash);
    buf_release(&row.slo_etag);
    return rc;
}

static int add_container(struct listing_out *o, const struct list_entry *e)
{
    char modified[ISO_TIME_LEN];
    int rc;

    iso_time(e->timestamp, modified);
    if (o->fmt == FMT_JSON) {
        rc = buf_appends(&o->body, "{\"name\": ");
        if (rc == 0)
            rc = json_str(&o->body, e->name);
        return rc ? rc
                  : buf_appendf(&o->body,
                                ", \"count\": %llu, \"bytes\": %llu, "
                                "\"last_modified\": \"%s\"}",
                                (unsigned long long)e->count, (unsigned long long)e->bytes,
                                modified);
    }
    rc = buf_appends(&o->body, "<container>");
    if (rc == 0)
        rc = xml_elem(&o->body, "name", e->name);
    if (rc == 0)
        rc = xml_elem_u64(&o->body, "count", e->count);
    if (rc == 0)
        rc = xml_elem_u64(&o->body, "bytes", e->bytes);
    if (rc == 0)
        rc = xml_elem(&o->body, "last_modified", modified);
    return rc ? rc : buf_appends(&o->body, "</container>\n");
}

static int add_subdir(struct listing_out *o, const struct list_entry *e)
{
    int rc;

    if (o->fmt == FMT_JSON) {
        rc = buf_appends(&o->body, "{\"subdir\": ");
        if (rc == 0)
            rc = json_str(&o->body, e->name);
        return rc ? rc : buf_appendc(&o->body, '}');
    }
    rc = buf_appends(&o->body, "<subdir name=\"");
    if (rc == 0)
        rc = xml_esc(&o->body, e->name, true);
    /* Swift's account XML has no <name> child in a subdir */
    if (o->level == LISTING_ACCOUNT)
        return rc ? rc : buf_appends(&o->body, "\" />\n");
    if (rc == 0)
        rc = buf_appends(&o->body, "\">");
    if (rc == 0)
        rc = xml_elem(&o->body, "name", e->name);
    return rc ? rc : buf_appends(&o->body, "</subdir>");
}

void listing_out_init(struct listing_out *o, enum listing_level level, const char *content_type,
                      const char *name)
{
    o->level = level;
    o->fmt = strcmp(content_type, "application/json") == 0 ? FMT_JSON
             : strstr(content_type, "/xml")                ? FMT_XML
                                                           : FMT_PLAIN;
    o->name = name;
    o->count = 0;
    buf_init(&o->body, LISTING_MAX_BODY);
}

/* The opening bytes, written before the first entry or at finish. */
static int open_body(struct listing_out *o, bool empty)
{
    int rc;

    if (o->fmt == FMT_JSON)
        return buf_appendc(&o->body, '[');
    if (o->fmt == FMT_PLAIN)
        return 0;
    rc = buf_appendf(&o->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s name=\"",
                     o->level == LISTING_ACCOUNT ? "account" : "container");
    if (rc == 0)
        rc = xml_esc(&o->body, o->name, true);
    if (rc)
        return rc;
    if (o->level == LISTING_ACCOUNT)
        return buf_appends(&o->body, "\">\n");
    /* an empty container element is self-closing */
    return buf_appends(&o->body, empty ? "\" />" : "\">");
}

int listing_out_add(struct listing_out *o, const struct list_entry *e)
{
    size_t mark = o->body.len;
    int rc = 0;

    if (o->count == 0)
        rc = open_body(o, false);
    else if (o->fmt == FMT_JSON)
        rc = buf_appends(&o->body, ", ");
    if (rc == 0 && o->fmt == FMT_PLAIN)
        rc = buf_appendf(&o->body, "%s\n", e->name);
    else if (rc == 0 && e->is_subdir)
        rc = add_subdir(o, e);
    else if (rc == 0)
        rc = o->level == LISTING_ACCOUNT ? add_container(o, e) : add_object(o, e);
    if (rc) {
        /* leave the body as it was: a whole entry or nothing */
        if (o->body.len != mark) {
            o->body.len = mark;
            o->body.data[mark] = '\0';
        }
        return rc;
    }
    o->count++;
    return 0;
}

int listing_out_finish(struct listing_out *o)
{
    int rc = 0;

    if (o->count == 0)
        rc = open_body(o, true);
    if (rc)
        return rc;
    if (o->fmt == FMT_JSON)
        return buf_appendc(&o->body, ']');
    if (o->fmt == FMT_XML && (o->level == LISTING_ACCOUNT || o->count > 0))
        return buf_appendf(&o->body, "</%s>",
                           o->level == LISTING_ACCOUNT ? "account" : "container");
    return 0;
}

void listing_out_release(struct listing_out *o)
{
    buf_release(&o->body);
}

int listing_accept_best(const char *accept, const char **out)
{
    return accept_best(accept, out);
}
