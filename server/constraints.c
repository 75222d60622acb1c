/* server/constraints.c: This file implements Swift's request constraints
 * (constraints.h): UTF-8 and length checks of names, collection and checks
 * of user metadata, X-Delete-At / X-Delete-After, and Swift's Title-Case
 * of header names.
 *
 * Lengths are byte lengths, as Swift measures them on WSGI strings (one
 * Latin-1 character per byte). The messages are Swift 2.30's, byte for byte,
 * because clients and test suites match on them. */
#include "constraints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "range.h"

/* Length of the UTF-8 sequence starting at s (n bytes available), or 0 when
 * it is invalid: overlong forms, surrogates, code points past U+10FFFF,
 * truncated sequences and stray continuation bytes all fail. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..U+DFFF are surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t len;

        if (p[i] == 0)
            return false;
        len = utf8_seq_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

static int name_utf8(const char *name, char *msg, size_t msglen)
{
    if (name && !utf8_valid(name, strlen(name))) {
        snprintf(msg, msglen, "Invalid UTF8 or contains NULL");
        return 412;
    }
    return 0;
}

/* Characters (code points) in valid UTF-8: the bytes that start one. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* 400 with Swift's "<What> name length of N longer than MAX" when name is
 * longer than max characters (Swift counts code points, not bytes). */
static int name_length(const char *what, const char *name, unsigned max, char *msg, size_t msglen)
{
    size_t n = name ? utf8_chars(name) : 0;

    if (n > max) {
        snprintf(msg, msglen, "%s name length of %zu longer than %u", what, n, max);
        return 400;
    }
    return 0;
}

static int names_utf8(const char *account, const char *container, const char *object, char *msg,
                      size_t msglen)
{
    int status = name_utf8(account, msg, msglen);

    if (!status)
        status = name_utf8(container, msg, msglen);
    if (!status)
        status = name_utf8(object, msg, msglen);
    return status;
}

int check_names(const struct config *c, const char *account, const char *container,
                const char *object, char *msg, size_t msglen)
{
    int status = names_utf8(account, container, object, msg, msglen);

    if (!status)
        status = name_length("Account", account, c->max_account_name_length, msg, msglen);
    if (!status)
        status = name_length("Container", container, c->max_container_name_length, msg, msglen);
    if (!status)
        status = name_length("Object", object, c->max_object_name_length, msg, msglen);
    return status;
}

int check_names_for(const struct config *c, enum http_method m, const char *account,
                    const char *container, const char *object, char *msg, size_t msglen)
{
    int status = names_utf8(account, container, object, msg, msglen);

    if (!status && !container)
        status = name_length("Account", account, c->max_account_name_length, msg, msglen);
    if (!status && m == M_PUT && container && !object)
        status = name_length("Container", container, c->max_container_name_length, msg, msglen);
    if (!status && m == M_PUT && object)
        status = name_length("Object", object, c->max_object_name_length, msg, msglen);
    return status;
}

void header_title_case(char *name)
{
    bool prev_letter = false;

    for (char *p = name; *p; p++) {
        char ch = *p;
        bool upper = ch >= 'A' && ch <= 'Z', lower = ch >= 'a' && ch <= 'z';

        if (ch == '_')
            *p = '-'; /* the WSGI environ spells '-' as '_' */
        if (upper && prev_letter)
            *p = (char)(ch - 'A' + 'a');
        else if (lower && !prev_letter)
            *p = (char)(ch - 'a' + 'A');
        prev_letter = upper || lower;
    }
}

struct collect_ctx {
    const char *prefix; /* "X-Container-Meta-" */
    char remove[64];    /* "X-Remove-Container-Meta-" */
    bool removals;      /* this pass collects the X-Remove-* headers */
    struct kv_list *out;
};

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int collect_cb(void *vctx, const char *name, const char *value)
{
    struct collect_ctx *ctx = vctx;
    char *key;

    if (!ctx->removals && has_prefix_ci(name, ctx->prefix)) {
        key = xstrdup(name);
        header_title_case(key);
        kv_set(ctx->out, key, value);
        free(key);
    } else if (ctx->removals && has_prefix_ci(name, ctx->remove)) {
        key = xasprintf("%s%s", ctx->prefix, name + strlen(ctx->remove));
        header_title_case(key);
        kv_set(ctx->out, key, "");
        free(key);
    }
    return 0;
}

void collect_meta(const struct request *r, const char *prefix, bool removals, struct kv_list *out)
{
    struct collect_ctx ctx = {.prefix = prefix, .removals = true, .out = out};

    /* Swift's transfer_headers applies every X-Remove-* first and then the
     * values sent, so a value beats a removal of the same key whatever the
     * header order. "X-Container-Meta-" -> "X-Remove-Container-Meta-". */
    if (removals && strncasecmp(prefix, "X-", 2) == 0) {
        snprintf(ctx.remove, sizeof(ctx.remove), "X-Remove-%s", prefix + 2);
        (void)req_headers_each(r, collect_cb, &ctx);
    }
    ctx.removals = false;
    (void)req_headers_each(r, collect_cb, &ctx);
}

/* Is this prefix an account or container one (whose metadata must be
 * UTF-8), rather than an object one? */
static bool prefix_needs_utf8(const char *prefix)
{
    return strncasecmp(prefix, "X-Object-", 9) != 0;
}

/* The lower-case form of prefix, as Swift prints it in messages. */
static void prefix_lower(const char *prefix, char *out, size_t outlen)
{
    size_t i = 0;

    for (; prefix[i] && i + 1 < outlen; i++) {
        char ch = prefix[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[i] = '\0';
}

/* The checks of one metadata item (name without prefix); 0 or 400. */
static int check_meta_item(const struct config *c, const char *prefix, const char *key,
                           const char *name, const char *value, char *msg, size_t msglen)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    char lp[64];

    if (vlen > c->max_header_size) {
        snprintf(msg, msglen, "Header value too long: %.*s", (int)c->max_meta_name_length, key);
        return 400;
    }
    if (nlen == 0) {
        snprintf(msg, msglen, "Metadata name cannot be empty");
        return 400;
    }
    if (prefix_needs_utf8(prefix) &&
        (!utf8_valid(name, nlen) || (vlen && !utf8_valid(value, vlen)))) {
        snprintf(msg, msglen, "Metadata must be valid UTF-8");
        return 400;
    }
    prefix_lower(prefix, lp, sizeof(lp));
    if (nlen > c->max_meta_name_length) {
        snprintf(msg, msglen, "Metadata name too long: %s%s", lp, name);
        return 400;
    }
    if (vlen > c->max_meta_value_length) {
        snprintf(msg, msglen, "Metadata value longer than %u: %s%s", c->max_meta_value_length, lp,
                 name);
        return 400;
    }
    return 0;
}

static int check_meta_totals(const struct config *c, size_t count, size_t size, char *msg,
                             size_t msglen)
{
    if (count > c->max_meta_count) {
        snprintf(msg, msglen, "Too many metadata items; max %u", c->max_meta_count);
        return 400;
    }
    if (size > c->max_meta_overall_size) {
        snprintf(msg, msglen, "Total metadata too large; max %u", c->max_meta_overall_size);
        return 400;
    }
    return 0;
}

int check_metadata(const struct config *c, const char *prefix, const struct kv_list *meta,
                   char *msg, size_t msglen)
{
    size_t plen = strlen(prefix), count = 0, size = 0;

    for (size_t i = 0; i < meta->n; i++) {
        const char *key = meta->items[i].key, *value = meta->items[i].value;
        int status;

        if (!has_prefix_ci(key, prefix))
            continue;
        status = check_meta_item(c, prefix, key, key + plen, value, msg, msglen);
        if (status)
            return status;
        /* Swift checks the running totals after each item, so the first
         * item past a limit is the one reported. */
        count++;
        size += strlen(key + plen) + strlen(value);
        status = check_meta_totals(c, count, size, msg, msglen);
        if (status)
            return status;
    }
    return 0;
}

int check_metadata_stored(const struct config *c, const char *prefix, const struct kv_list *merged,
                          char *msg, size_t msglen)
{
    size_t plen = strlen(prefix), count = 0, size = 0;

    for (size_t i = 0; i < merged->n; i++) {
        const char *key = merged->items[i].key, *value = merged->items[i].value;

        if (!value[0] || !has_prefix_ci(key, prefix))
            continue;
        count++;
        size += strlen(key + plen) + strlen(value);
    }
    return check_meta_totals(c, count, size, msg, msglen);
}

int check_delete_headers(const char *after, const char *at, int64_t now, struct kv_list *out,
                         char *msg, size_t msglen)
{
    const char *name = after ? "X-Delete-After" : "X-Delete-At";
    const char *value = after ? after : at;
    char norm[24];
    int64_t v;

    if (!value)
        return 0;
    if (!py_int(value, strlen(value), &v)) {
        snprintf(msg, msglen, "Non-integer %s", name);
        return 400;
    }
    if (after)
        v = v > INT64_MAX - now ? INT64_MAX : now + v;
    if (v <= now) {
        snprintf(msg, msglen, "%s in past", name);
        return 400;
    }
    /* utils.normalize_delete_at_timestamp */
    snprintf(norm, sizeof(norm), "%010lld", (long long)MIN(v, 9999999999LL));
    kv_set(out, "X-Delete-At", norm);
    return 0;
}
