/* common/kv.c: This file implements the ordered key/value list used for
 * metadata and headers, and its JSON form (kv.h).
 *
 * Header values are bytes, not necessarily UTF-8 (Swift passes Latin-1
 * bytes through unchanged), but JSON strings must be UTF-8. So that any
 * byte string survives kv_to_json -> kv_from_json exactly, a byte that is
 * not part of valid UTF-8 is written as the code point U+10FF00 + byte
 * (supplementary private use area); a genuine code point in U+10FF00..
 * U+10FFFF is escaped the same way byte by byte, so decoding is unambiguous.
 * Valid UTF-8 outside that tiny range is stored as is. */
#include "kv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "buf.h"

#define KV_ESC_BASE 0x10FF00u

void kv_init(struct kv_list *l)
{
    l->items = NULL;
    l->n = 0;
    l->alloc = 0;
}

void kv_release(struct kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    kv_init(l);
}

void kv_add_owned(struct kv_list *l, char *key, char *value)
{
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? l->alloc * 2 : 8;
        l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
    }
    l->items[l->n].key = key;
    l->items[l->n].value = value;
    l->n++;
}

void kv_add(struct kv_list *l, const char *key, const char *value)
{
    kv_add_owned(l, xstrdup(key), xstrdup(value));
}

void kv_set(struct kv_list *l, const char *key, const char *value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->items[i].key, key) == 0) {
            char *v = xstrdup(value);

            free(l->items[i].value);
            l->items[i].value = v;
            return;
        }
    }
    kv_add(l, key, value);
}

const char *kv_get(const struct kv_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    }
    return NULL;
}

size_t kv_del(struct kv_list *l, const char *key)
{
    size_t kept = 0, removed = 0;

    for (size_t i = 0; i < l->n; i++) {
        if (strcasecmp(l->items[i].key, key) == 0) {
            free(l->items[i].key);
            free(l->items[i].value);
            removed++;
        } else {
            l->items[kept++] = l->items[i];
        }
    }
    l->n = kept;
    return removed;
}

void kv_copy(struct kv_list *dst, const struct kv_list *src)
{
    for (size_t i = 0; i < src->n; i++)
        kv_add(dst, src->items[i].key, src->items[i].value);
}

/* Length of the valid UTF-8 sequence at s (1..4) and its code point, or 0
 * when s does not start one (overlongs, surrogates and > U+10FFFF count as
 * invalid, as jansson's own check does). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t v, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, v = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, v = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];

    /* Only called with code points >= U+10FF00: always 4 bytes. */
    u[0] = (char)(0xf0 | cp >> 18);
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    if (buf_append(b, u, sizeof(u)))
        abort();   /* uncapped buffer: cannot fail */
}

/* Bytes -> JSON-safe UTF-8 (see the file comment). */
static json_t *json_from_bytes(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    struct buf b = BUF_INIT;
    json_t *j;

    while (*p) {
        uint32_t cp;
        size_t n = utf8_seq(p, &cp);

        if (n && cp < KV_ESC_BASE) {
            if (buf_append(&b, p, n))
                abort();
            p += n;
            continue;
        }
        if (n == 0)
            n = 1;
        for (size_t i = 0; i < n; i++)
            put_utf8(&b, KV_ESC_BASE + p[i]);
        p += n;
    }
    j = json_stringn(b.data, b.len);
    buf_release(&b);
    return j;
}

/* The reverse of json_from_bytes; -EINVAL for an embedded NUL. */
static int bytes_from_json(const json_t *j, char **out)
{
    const unsigned char *p = (const unsigned char *)json_string_value(j);
    size_t len = json_string_length(j), i = 0;
    struct buf b = BUF_INIT;

    while (i < len) {
        uint32_t cp;
        size_t n = utf8_seq(p + i, &cp);

        if (n == 0 || cp == 0) {   /* jansson validated it: only NUL lands here */
            buf_release(&b);
            return -EINVAL;
        }
        if (cp >= KV_ESC_BASE) {
            if (buf_appendc(&b, (char)(cp - KV_ESC_BASE)))
                abort();
        } else if (buf_append(&b, p + i, n)) {
            abort();
        }
        i += n;
    }
    *out = buf_detach(&b, NULL);
    return 0;
}

char *kv_to_json(const struct kv_list *l)
{
    json_t *obj = json_object();
    char *s;

    if (!obj)
        abort();
    for (size_t i = 0; i < l->n; i++) {
        json_t *k = json_from_bytes(l->items[i].key);
        json_t *v = json_from_bytes(l->items[i].value);

        if (!k || !v || json_object_set_new(obj, json_string_value(k), v))
            abort();   /* only on OOM: the strings are valid UTF-8 */
        json_decref(k);
    }
    s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!s)
        abort();
    return s;
}

/* Keys in the object are UTF-8 C strings (json_object_foreach); unescape
 * them through a temporary string value. */
static int add_pair(struct kv_list *dst, const char *jkey, const json_t *jval)
{
    json_t *tmp;
    char *key = NULL, *value = NULL;
    int rc = -EINVAL;

    if (!json_is_string(jval))
        return -EINVAL;
    tmp = json_string(jkey);
    if (!tmp)
        return -EINVAL;
    if (bytes_from_json(tmp, &key) || bytes_from_json(jval, &value))
        goto out;
    kv_add(dst, key, value);
    rc = 0;
out:
    free(key);
    free(value);
    json_decref(tmp);
    return rc;
}

int kv_from_json(struct kv_list *dst, const char *json, size_t len)
{
    size_t first = dst->n;   /* entries already there are kept on failure */
    json_error_t jerr;
    json_t *obj, *val;
    const char *key;
    int rc = 0;

    obj = json_loadb(json, len, 0, &jerr);
    if (!obj)
        return -EINVAL;
    if (!json_is_object(obj)) {
        rc = -EINVAL;
        goto out_decref;
    }
    json_object_foreach(obj, key, val) {
        rc = add_pair(dst, key, val);
        if (rc)
            break;
    }
    if (rc) {
        while (dst->n > first) {
            dst->n--;
            free(dst->items[dst->n].key);
            free(dst->items[dst->n].value);
        }
    }
out_decref:
    json_decref(obj);
    return rc;
}
