/* server/bulk_body.c: implements the bulk result body of bulk_body.h
 * (Swift 2.30's bulk.get_response_body, byte for byte). */
#include "bulk_body.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "listing.h"

int bulk_body_format(const char *accept, const char **out)
{
    return listing_accept_best(accept ? accept : "", out);
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

static int render_json(struct buf *out, const struct bulk_field *f, size_t nf,
                       const struct bulk_error *e, size_t ne)
{
    json_t *doc = json_object(), *errs = json_array();
    char *text;
    int rc;

    for (size_t i = 0; i < nf; i++)
        json_object_set_new(doc, f[i].key,
                            f[i].str ? json_string(f[i].str) : json_integer(f[i].num));
    for (size_t i = 0; i < ne; i++)
        json_array_append_new(errs, json_pack("[s, s]", e[i].name, e[i].status));
    json_object_set_new(doc, "Errors", errs);
    /* no indent, no JSON_COMPACT: Python's ", " and ": " separators */
    text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
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

char *bulk_quote_path(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(3 * strlen(s) + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("_.-~/", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
