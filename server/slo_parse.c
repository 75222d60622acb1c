/* server/slo_parse.c: implements slo.h's manifest parser and validator
 * (slo_parse_input), after Swift 2.30's slo.parse_and_validate_input:
 * every entry is checked and every problem reported, one "Index N: ..."
 * line each, in Swift's words and order. */
#include "slo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/util.h"
#include "range.h"

/* ------------------------------------------------------------------ */
/* parsing (parse_and_validate_input)                                  */

void slo_input_free(struct slo_input *in, size_t n)
{
    for (size_t i = 0; in && i < n; i++) {
        free(in[i].path);
        free(in[i].etag);
        free(in[i].range);
        free(in[i].data);
    }
    free(in);
}

/* utils.strict_b64decode: only base64 characters inside the '=' padding,
 * and padding enough for base64.b64decode. */
static bool strict_b64decode(const char *s, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(s), a = 0, b = n, pad, k = 0;
    uint32_t acc = 0;
    unsigned char *o;

    while (a < n && s[a] == '=')
        a++;
    while (b > a && s[b - 1] == '=')
        b--;
    for (size_t i = a; i < b; i++)
        if (base64_digit_value(s[i]) < 0)
            return false;
    pad = n - b;
    if ((b - a) % 4 == 1 || ((b - a) % 4 == 2 && pad < 2) || ((b - a) % 4 == 3 && pad < 1))
        return false;
    o = xmalloc((b - a) / 4 * 3 + 3);
    for (size_t i = a, bits = 0; i < b; i++) {
        acc = acc << 6 | (uint32_t)base64_digit_value(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
        }
    }
    *out = o;
    *outlen = k;
    return true;
}

/* Python's json.dumps of j (", " and ": ", ASCII with lower-case \u
 * escapes, keys in insertion order); consumes j. */
char *slo_json_dumps(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)
                   : NULL;

    json_decref(j);
    if (!text)
        abort();   /* only allocation fails on these documents */
    for (char *p = text; *p; p++)
        if (p[0] == '\\' && p[1]) {
            if (p[1] == 'u')
                for (int i = 2; i < 6 && p[i]; i++)
                    p[i] = (char)((p[i] >= 'A' && p[i] <= 'F') ? p[i] - 'A' + 'a' : p[i]);
            p++;
        }
    return text;
}

/* Python's truth value of a JSON value. */
static bool truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    default:
        return true;
    }
}

/* int(size_bytes): false when Python would raise. */
static bool py_int_value(const json_t *v, int64_t *out)
{
    const char *s;

    switch (json_typeof(v)) {
    case JSON_INTEGER:
        *out = json_integer_value(v);
        return true;
    case JSON_REAL:
        if (json_real_value(v) > 9.2e18 || json_real_value(v) < -9.2e18)
            return false;
        *out = (int64_t)json_real_value(v);
        return true;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = json_is_true(v);
        return true;
    case JSON_STRING:
        s = json_string_value(v);
        return py_int(s, json_string_length(v), out);
    default:
        return false;
    }
}

int slo_range_resolve(const char *spec, uint64_t size, uint64_t *start, uint64_t *end)
{
    char *h = xasprintf("bytes=%s", spec);
    struct byte_range rg[RANGE_MAX];
    size_t n = 0;
    int count = -1;

    if (range_valid(h)) {
        count = 0;
        if (size > 0 && range_eval(h, size, rg, &n) == RANGE_PARTIAL && n > 0) {
            *start = rg[0].start;
            *end = rg[0].end;
            count = (int)n;
        }
    }
    free(h);
    return count;
}

/* The number of comma-separated specs in a valid range. */
static size_t range_count(const char *spec)
{
    size_t n = 1;
    for (; *spec; spec++)
        n += *spec == ',';
    return n;
}

static const char *check_path_segment(const json_t *seg, size_t i, size_t total,
                                      const char *self, struct slo_input *in)
{
    const json_t *path = json_object_get(seg, "path"), *etag = json_object_get(seg, "etag");
    const json_t *size = json_object_get(seg, "size_bytes"), *range = json_object_get(seg, "range");
    const char *p;
    size_t plen;

    if (!json_is_string(path))
        return "\"path\" must be a string";
    if (etag && !json_is_null(etag) && !json_is_string(etag))
        return "\"etag\" must be a string or null (if provided)";
    p = json_string_value(path);
    plen = strlen(p);
    while (plen && p[plen - 1] == '/')
        plen--;
    while (plen && *p == '/') {
        p++;
        plen--;
    }
    if (!memchr(p, '/', plen))
        return "path does not refer to an object. Path must be of the form /container/object.";
    if (size && !json_is_null(size)) {
        if (!py_int_value(size, &in->size))
            return "invalid size_bytes";
        in->has_size = true;
        if (in->size < SLO_MIN_SEGMENT_SIZE && i != total - 1)
            return "too small; each segment must be at least 1 byte.";
    }
    p = json_string_value(path);
    while (*p == '/')
        p++;
    if (strcmp(p, self) == 0)
        return "manifest must not include itself as a segment";
    if (range && truthy(range)) {
        uint64_t a, b;
        if (!json_is_string(range) || slo_range_resolve(json_string_value(range), 0, &a, &b) < 0)
            return "invalid range";
        if (range_count(json_string_value(range)) > 1)
            return "multiple ranges (only one allowed)";
        if (in->has_size && (in->size < 0 || slo_range_resolve(json_string_value(range),
                                                                (uint64_t)in->size, &a, &b) != 1))
            return "unsatisfiable range";
        in->range = xstrdup(json_string_value(range));
    }
    in->path = xstrdup(json_string_value(path));
    if (json_is_string(etag))
        in->etag = xstrdup(json_string_value(etag));
    return NULL;
}

static const char *check_data_segment(const json_t *seg, struct slo_input *in)
{
    const json_t *data = json_object_get(seg, "data");

    if (!json_is_string(data) || strlen(json_string_value(data)) != json_string_length(data) ||
        !strict_b64decode(json_string_value(data), &in->data, &in->data_len))
        return "data must be valid base64";
    if (in->data_len < 1)
        return "too small; each segment must be at least 1 byte.";
    return NULL;
}

/* "extraneous keys" message, or NULL when every key is allowed. */
static char *extraneous(const json_t *seg, bool is_data)
{
    const char **keys = xmalloc((json_object_size(seg) + 1) * sizeof(*keys));
    struct buf b = BUF_INIT;
    const char *k;
    json_t *v;
    size_t n = 0;
    char *out = NULL;

    json_object_foreach((json_t *)seg, k, v) {
        bool ok = is_data ? strcmp(k, "data") == 0
                          : (strcmp(k, "path") == 0 || strcmp(k, "range") == 0 ||
                             strcmp(k, "etag") == 0 || strcmp(k, "size_bytes") == 0);
        if (!ok) {
            size_t j = n++;
            while (j > 0 && strcmp(keys[j - 1], k) > 0) {
                keys[j] = keys[j - 1];
                j--;
            }
            keys[j] = k;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char *q = slo_json_dumps(json_string(keys[i]));
        if (buf_appendf(&b, "%s%s", i ? ", " : "", q) != 0)
            abort();   /* uncapped buffer */
        free(q);
    }
    if (n)
        out = buf_detach(&b, NULL);
    buf_release(&b);
    free(keys);
    return out;
}

static void add_error(struct buf *err, size_t i, const char *msg)
{
    if (buf_appendf(err, "Index %zu: %s\n", i, msg) != 0)
        abort();   /* uncapped buffer */
}

int slo_parse_input(const char *body, size_t len, const char *container, const char *object,
                    struct slo_input **out, size_t *n, struct buf *err)
{
    json_t *doc = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *self = xasprintf("%s/%s", container, object);
    struct slo_input *in = NULL;
    size_t total, data_segs = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!doc) {
        rc = buf_appends(err, "Manifest must be valid JSON.\n");
        goto out_bad;
    }
    if (!json_is_array(doc)) {
        rc = buf_appends(err, "Manifest must be a list.\n");
        goto out_bad;
    }
    total = json_array_size(doc);
    in = xcalloc(total ? total : 1, sizeof(*in));
    for (size_t i = 0; i < total; i++) {
        const json_t *seg = json_array_get(doc, i);
        const char *msg;
        char *extra;
        bool is_data;

        if (!json_is_object(seg)) {
            add_error(err, i, "not a JSON object");
            continue;
        }
        is_data = json_object_get(seg, "data") != NULL;   /* SLO_KEYS: 'data' first */
        if (!is_data && !json_object_get(seg, "path")) {
            add_error(err, i, "expected keys to include one of 'data' or 'path'");
            continue;
        }
        if ((extra = extraneous(seg, is_data))) {
            char *m = xasprintf("extraneous keys %s", extra);
            add_error(err, i, m);
            free(m);
            free(extra);
            continue;
        }
        msg = is_data ? check_data_segment(seg, &in[i])
                      : check_path_segment(seg, i, total, self, &in[i]);
        if (msg)
            add_error(err, i, msg);
        data_segs += is_data;
    }
    if (total && data_segs == total)
        rc = buf_appends(err, "Inline data segments require at least one object-backed "
                              "segment.\n");
    if (err->len == 0) {
        *out = in;
        *n = total;
        json_decref(doc);
        free(self);
        return 0;
    }
    slo_input_free(in, total);
out_bad:
    json_decref(doc);
    free(self);
    return rc ? rc : ERR_BADINPUT;
}

