/* storage/object_meta_decode.c: implements data_meta_decode (object_int.h),
 * the fast path for reading a .data's metadata JSON.
 *
 * Every GET and HEAD parses that JSON. jansson builds a tree of objects
 * and strings for it (a hash table, an allocation per key and value, a
 * lexer that takes one character at a time), then data_meta_parse_json
 * copies what it needs out of the tree: perf put that at 8-9% of the
 * server's CPU for a 4 KiB GET. The JSON is ours, though, and nearly always
 * in the form data_json writes: one flat object of known keys, ASCII
 * strings with short escapes, small unsigned integers, a flat "headers"
 * object. This decoder reads that form straight into an object_meta.
 *
 * It is deliberately narrow: anything it does not fully understand (a
 * non-ASCII byte, a \u escape, an unknown or repeated key, a number that
 * is not a plain unsigned integer, a value in the {"hex": ...} form of
 * jstr, a missing field, a corrupt document) makes it decline, and jansson
 * decides. So it never has to be right about the corner cases of JSON, only
 * to agree with jansson where it answers; fuzz_meta_decode checks that
 * agreement on every input it accepts. */
#include "object_int.h"

#include <stdlib.h>
#include <string.h>

#include "../common/util.h"

#define DIGITS_MAX 18   /* any such number fits json_int_t, as in jansson */

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* The next token is ch: consume it. */
static bool eat(struct cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string of printable ASCII with the two-character escapes, as a heap
 * copy; NULL (declined) for anything else. */
static char *string_take(struct cursor *c)
{
    size_t escapes = 0;
    const char *s, *q;

    if (!eat(c, '"'))
        return NULL;
    for (s = q = c->p; q < c->end && *q != '"'; q++) {
        unsigned char b = (unsigned char)*q;
        if (b < 0x20 || b >= 0x80)
            return NULL;
        if (b == '\\') {
            if (++q == c->end)
                return NULL;
            escapes++;
        }
    }
    if (q == c->end)
        return NULL;

    char *out = xmalloc((size_t)(q - s) - escapes + 1), *o = out;
    for (const char *r = s; r < q; r++) {
        if (*r != '\\') {
            *o++ = *r;
            continue;
        }
        switch (*++r) {
        case '"': case '\\': case '/': *o++ = *r; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        default:            /* a \u escape, or not JSON at all */
            free(out);
            return NULL;
        }
    }
    *o = '\0';
    c->p = q + 1;
    return out;
}

/* An unsigned integer of at most DIGITS_MAX digits, no leading zero, not
 * followed by a fraction or exponent. */
static bool uint_take(struct cursor *c, uint64_t *v)
{
    const char *s;
    uint64_t x = 0;

    skip_ws(c);
    for (s = c->p; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        if (c->p - s == DIGITS_MAX)
            return false;
        x = x * 10 + (uint64_t)(*c->p - '0');
    }
    if (c->p == s || (c->p - s > 1 && *s == '0'))
        return false;
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return false;
    *v = x;
    return true;
}

/* The "headers" object: string values only, no key twice (jansson would
 * keep the last value at the first one's place; data_json never writes
 * that, so decline rather than imitate it). */
static bool headers_take(struct cursor *c, struct kv_list *h)
{
    if (!eat(c, '{'))
        return false;
    if (eat(c, '}'))
        return true;
    do {
        char *key = string_take(c), *value = NULL;
        bool ok = key && eat(c, ':') && (value = string_take(c));

        for (size_t i = 0; ok && i < h->n; i++)
            ok = strcmp(h->items[i].key, key) != 0;
        if (!ok) {
            free(key);
            free(value);
            return false;
        }
        kv_add_owned(h, key, value);
    } while (eat(c, ','));
    return eat(c, '}');
}

enum field {
    F_NAME = 1, F_TIMESTAMP = 2, F_SIZE = 4, F_ETAG = 8, F_CRC = 16, F_HEADERS = 32,
    F_CONTENT_TYPE = 64,
    F_REQUIRED = F_NAME | F_TIMESTAMP | F_SIZE | F_ETAG | F_CRC | F_HEADERS,
};

/* The field a key names, 0 for none. Keys hold no escapes in data_json's
 * output, so a key with one is declined too. */
static unsigned key_take(struct cursor *c)
{
    static const struct {
        const char *key;
        enum field f;
    } keys[] = {{"name", F_NAME},   {"timestamp", F_TIMESTAMP}, {"size", F_SIZE},
                {"etag", F_ETAG},   {"crc32c", F_CRC},          {"headers", F_HEADERS},
                {"content_type", F_CONTENT_TYPE}};
    const char *s, *q;

    if (!eat(c, '"'))
        return 0;
    s = c->p;
    q = memchr(s, '"', (size_t)(c->end - s));
    if (!q)
        return 0;
    c->p = q + 1;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (strlen(keys[i].key) == (size_t)(q - s) && memcmp(keys[i].key, s, (size_t)(q - s)) == 0)
            return keys[i].f;
    }
    return 0;
}

int data_meta_decode(const char *p, size_t n, uint64_t body_len, struct object_meta *out)
{
    struct cursor c = {p, p + n};
    struct object_meta m;
    char *ts = NULL, *etag = NULL;
    uint64_t size = 0, crc = 0;
    unsigned seen = 0;
    bool ok = eat(&c, '{');

    object_meta_init(&m);
    while (ok) {
        unsigned f = key_take(&c);

        ok = f && !(seen & f) && eat(&c, ':');
        seen |= f;
        if (!ok)
            break;
        switch (f) {
        case F_NAME: ok = (m.name = string_take(&c)) != NULL; break;
        case F_TIMESTAMP: ok = (ts = string_take(&c)) != NULL; break;
        case F_SIZE: ok = uint_take(&c, &size); break;
        case F_ETAG: ok = (etag = string_take(&c)) != NULL; break;
        case F_CRC: ok = uint_take(&c, &crc); break;
        case F_HEADERS: ok = headers_take(&c, &m.headers); break;
        case F_CONTENT_TYPE: ok = (m.content_type = string_take(&c)) != NULL; break;
        }
        if (ok && !eat(&c, ','))
            break;
    }
    ok = ok && eat(&c, '}');
    skip_ws(&c);
    ok = ok && c.p == c.end && (seen & F_REQUIRED) == F_REQUIRED &&
         ts_parse(ts, &m.timestamp) == 0 && is_hex32(etag) && size == body_len;
    if (ok) {
        m.meta_timestamp = m.timestamp;
        m.size = body_len;
        memcpy(m.etag, etag, 33);
        m.crc32c = (uint32_t)crc;
        object_meta_release(out);
        *out = m;
    } else {
        object_meta_release(&m);
    }
    free(ts);
    free(etag);
    return ok ? 0 : -1;
}
