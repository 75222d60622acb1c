/* server/bulk_body.c: implements the bulk result body of bulk_body.h
 * (Swift 2.30's bulk.get_response_body, byte for byte), the Accept
 * negotiation and the quoting of its names, for every bulk-style result. */
#include "bulk_body.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "constraints.h"
#include "listing.h"

int bulk_body_format(const char *accept, const char **out)
{
    return listing_accept_best(accept ? accept : "", out);
}

const char *bulk_body_content_type(const char *format)
{
    return format ? format : "text/html; charset=UTF-8";
}

void bulk_errors_add(struct bulk_errors *e, const char *name, const char *status)
{
    if (e->n == e->alloc) {
        e->alloc = e->alloc ? e->alloc * 2 : 16;
        e->v = xrealloc(e->v, e->alloc * sizeof(*e->v));
    }
    e->v[e->n].name = xstrdup(name);
    e->v[e->n].status = xstrdup(status);
    e->n++;
}

void bulk_errors_quote(struct bulk_errors *e, const char *name, size_t n, const char *status)
{
    struct buf q = BUF_INIT;

    bulk_quote(&q, name, n);
    bulk_errors_add(e, q.data, status);
    buf_release(&q);
}

void bulk_errors_release(struct bulk_errors *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free((char *)e->v[i].name);
        free((char *)e->v[i].status);
    }
    free(e->v);
    e->v = NULL;
    e->n = e->alloc = 0;
}

/* The fields' indexes sorted by key (Python's sorted(dict)). */
static size_t *sorted_fields(const struct bulk_field *f, size_t n)
{
    size_t *ix = xmalloc((n ? n : 1) * sizeof(*ix));

    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && strcmp(f[ix[j - 1]].key, f[i].key) > 0) {
            ix[j] = ix[j - 1];
            j--;
        }
        ix[j] = i;
    }
    return ix;
}

/* A JSON string of s. Bytes that are not UTF-8 are taken as Latin-1 (one
 * code point a byte, "\u00ff" once dumped) rather than dropping the value. */
static json_t *json_text(const char *s)
{
    struct buf u = BUF_INIT;
    json_t *j;

    if (utf8_valid(s, strlen(s)))
        return json_string(s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char two[2] = {(char)(0xc0 | *p >> 6), (char)(0x80 | (*p & 0x3f))};
        if (buf_append(&u, *p < 0x80 ? (const char *)p : two, *p < 0x80 ? 1 : 2) != 0)
            abort();   /* uncapped buffer */
    }
    j = json_string(u.data);
    buf_release(&u);
    return j;
}

/* jansson writes "\u00E9", Python's json "\u00e9". */
static void lower_escapes(char *text)
{
    for (char *p = text; *p; p++) {
        if (*p != '\\')
            continue;
        p++;   /* the escaped character: never the NUL */
        for (int i = 1; *p == 'u' && i <= 4 && p[i]; i++)
            p[i] = (char)tolower((unsigned char)p[i]);
    }
}

static int render_json(struct buf *out, const struct bulk_field *f, size_t nf,
                       const struct bulk_error *e, size_t ne)
{
    json_t *doc = json_object(), *errs = json_array();
    char *text;
    int rc;

    for (size_t i = 0; i < nf; i++)
        json_object_set_new(doc, f[i].key,
                            f[i].str ? json_text(f[i].str) : json_integer(f[i].num));
    for (size_t i = 0; i < ne; i++)
        json_array_append_new(errs, json_pack("[o, o]", json_text(e[i].name),
                                              json_text(e[i].status)));
    json_object_set_new(doc, "Errors", errs);
    /* no indent, no JSON_COMPACT: Python's ", " and ": " separators */
    text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    lower_escapes(text);
    rc = buf_appends(out, text);
    free(text);
    return rc;
}

/* saxutils.escape: & < > only. */
static int xml_text(struct buf *out, const char *s)
{
    int rc = 0;

    for (; rc == 0 && *s; s++)
        rc = *s == '&'   ? buf_appends(out, "&amp;")
             : *s == '<' ? buf_appends(out, "&lt;")
             : *s == '>' ? buf_appends(out, "&gt;")
                         : buf_appendc(out, *s);
    return rc;
}

static int xml_field(struct buf *out, const struct bulk_field *f)
{
    char tag[128];
    size_t i;
    int rc;

    for (i = 0; f->key[i] && i < sizeof(tag) - 1; i++)
        tag[i] = f->key[i] == ' ' ? '_' : (char)((f->key[i] >= 'A' && f->key[i] <= 'Z')
                                                   ? f->key[i] - 'A' + 'a' : f->key[i]);
    tag[i] = '\0';
    rc = buf_appendf(out, "<%s>", tag);
    if (rc == 0)
        rc = f->str ? xml_text(out, f->str) : buf_appendf(out, "%lld", f->num);
    return rc ? rc : buf_appendf(out, "</%s>\n", tag);
}

static int render_xml(struct buf *out, const struct bulk_field *f, size_t nf,
                      const struct bulk_error *e, size_t ne, const char *root)
{
    size_t *ix = sorted_fields(f, nf);
    int rc = buf_appendf(out, "<%s>\n", root);

    for (size_t i = 0; rc == 0 && i < nf; i++)
        rc = xml_field(out, &f[ix[i]]);
    if (rc == 0)
        rc = buf_appends(out, "<errors>\n");
    for (size_t i = 0; rc == 0 && i < ne; i++) {
        rc = buf_appends(out, "<object><name>");
        if (rc == 0)
            rc = xml_text(out, e[i].name);
        if (rc == 0)
            rc = buf_appends(out, "</name><status>");
        if (rc == 0)
            rc = xml_text(out, e[i].status);
        if (rc == 0)
            rc = buf_appends(out, "</status></object>\n");
    }
    if (rc == 0)
        rc = buf_appendf(out, "</errors>\n</%s>\n", root);
    free(ix);
    return rc;
}

static int render_text(struct buf *out, const struct bulk_field *f, size_t nf,
                       const struct bulk_error *e, size_t ne)
{
    size_t *ix = sorted_fields(f, nf);
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < nf; i++) {
        const struct bulk_field *x = &f[ix[i]];
        rc = x->str ? buf_appendf(out, "%s: %s\n", x->key, x->str)
                    : buf_appendf(out, "%s: %lld\n", x->key, x->num);
    }
    if (rc == 0)
        rc = buf_appends(out, "Errors:\n");
    for (size_t i = 0; rc == 0 && i < ne; i++)
        rc = buf_appendf(out, "%s, %s\n", e[i].name, e[i].status);
    free(ix);
    return rc;
}

int bulk_body_render(struct buf *out, const char *format, const struct bulk_field *fields,
                     size_t nfields, const struct bulk_error *errors, size_t nerrors,
                     const char *root_tag)
{
    size_t flen = format ? strlen(format) : 0;

    if (format && strcmp(format, "application/json") == 0)
        return render_json(out, fields, nfields, errors, nerrors);
    if (flen >= 4 && strcmp(format + flen - 4, "/xml") == 0)
        return render_xml(out, fields, nfields, errors, nerrors, root_tag);
    return render_text(out, fields, nfields, errors, nerrors);
}

void bulk_quote(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c && strchr("_.-~/", c));
        if ((safe ? buf_append(out, &s[i], 1) : buf_append(out, e, 3)) != 0)
            abort();   /* out is uncapped */
    }
}
