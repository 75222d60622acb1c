/* tests/fuzz/fuzz_formpost.c: libFuzzer target for the FormPost multipart
 * parser (server/formpost.h) and the TempURL signature parser
 * (server/tempurl.h). The first byte picks the chunk size the body is fed
 * in; the parts must come out the same as when the body is fed whole, and
 * bounded by the input (nothing invented, memory bounded). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/formpost.h"
#include "../../server/tempurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    struct buf out;
};

static int rec_begin(void *ctx, const struct kv_list *h)
{
    struct rec *r = ctx;
    if (buf_appendc(&r->out, '[') != 0)
        abort();
    for (size_t i = 0; i < h->n; i++)
        if (buf_appendf(&r->out, "%s=%s;", h->items[i].key, h->items[i].value) != 0)
            abort();
    return buf_appendc(&r->out, '{') == 0 ? 0 : 1;
}

static int rec_data(void *ctx, const char *p, size_t n)
{
    struct rec *r = ctx;
    if (n == 0)
        abort();   /* never an empty chunk */
    return buf_append(&r->out, p, n) == 0 ? 0 : 1;
}

static int rec_end(void *ctx)
{
    struct rec *r = ctx;
    return buf_appendc(&r->out, '}') == 0 ? 0 : 1;
}

static const struct fp_mime_ops ops = {rec_begin, rec_data, rec_end};

static int run(const char *form, size_t len, size_t step, struct rec *r)
{
    struct fp_mime m;
    int rc;

    buf_init(&r->out, 0);
    if (fp_mime_init(&m, "XyZ", &ops, r) != 0)
        abort();
    rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = step < len - off ? step : len - off;
        rc = fp_mime_feed(&m, form + off, n);
        off += n;
    }
    if (rc == 0)
        rc = fp_mime_finish(&m);
    fp_mime_release(&m);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec whole, chunked;
    size_t step;
    char *s;

    if (size < 1)
        return 0;
    step = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    int a = run((const char *)data, size, size ? size : 1, &whole);
    int b = run((const char *)data, size, step, &chunked);
    if (a != b || whole.out.len != chunked.out.len ||
        memcmp(whole.out.data, chunked.out.data, whole.out.len) != 0)
        abort();
    buf_release(&whole.out);
    buf_release(&chunked.out);

    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char digest[8], hex[129], type[32];
    if (tempurl_parse_sig(s, digest, hex) == 0 && strlen(hex) > 128)
        abort();
    struct kv_list attrs = KV_LIST_INIT;
    fp_parse_disposition(s, type, sizeof(type), &attrs);
    kv_release(&attrs);
    (void)tempurl_parse_expires(s);
    free(s);
    return 0;
}
