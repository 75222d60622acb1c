/* server/path.c: implements request-target parsing (server/path.h). */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "constraints.h"

char *percent_decode(const char *s, size_t n, bool plus_space, size_t *len_out)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_digit_value(s[i + 1])) >= 0 &&
            (lo = hex_digit_value(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_space && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    if (len_out)
        *len_out = o;
    return out;
}

int api_path_parse(const char *raw, struct api_path *out, char *msg, size_t msglen)
{
    size_t n;
    char *path = percent_decode(raw, strlen(raw), false, &n);
    int status = 0;
    msg[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (!utf8_valid(path, n)) {
        snprintf(msg, msglen, "Invalid UTF8 or contains NULL");
        status = 412;
        goto out;
    }
    char *parts[4] = {NULL, NULL, NULL, NULL};
    char *p = path[0] == '/' ? path + 1 : path;
    for (int i = 0; i < 4 && p; i++) {
        /* The fourth part keeps its slashes: object names may hold them. */
        char *slash = i < 3 ? strchr(p, '/') : NULL;
        if (slash)
            *slash = '\0';
        parts[i] = p;
        p = slash ? slash + 1 : NULL;
    }
    out->version = xstrdup(parts[0]);
    if (strcmp(parts[0], "v1") != 0 && strcmp(parts[0], "v1.0") != 0) {
        status = 400;
        goto out;
    }
    if (!parts[1] || !*parts[1]) {
        snprintf(msg, msglen, "Bad URL");
        status = 412;
        goto out;
    }
    out->account = xstrdup(parts[1]);
    if (parts[2] && *parts[2])
        out->container = xstrdup(parts[2]);
    if (parts[3] && *parts[3]) {
        if (!out->container) {
            status = 404;
            goto out;
        }
        out->object = xstrdup(parts[3]);
    }
out:
    free(path);
    return status;
}

void api_path_release(struct api_path *p)
{
    free(p->version);
    free(p->account);
    free(p->container);
    free(p->object);
    memset(p, 0, sizeof(*p));
}

void query_parse(const char *q, struct kv_list *out)
{
    const char *p = q;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t klen = eq ? (size_t)(eq - p) : n;
            char *k = percent_decode(p, klen, true, NULL);
            char *v = eq ? percent_decode(eq + 1, n - klen - 1, true, NULL) : xstrdup("");
            kv_add(out, k, v);
            free(k);
            free(v);
        }
        p += n + (amp ? 1 : 0);
    }
}
