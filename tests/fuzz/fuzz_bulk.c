/* tests/fuzz/fuzz_bulk.c: libFuzzer target for the bulk-delete path-list
 * parser of server/bulk.c. The first byte picks the size of the pieces the
 * body is fed in; the rest is the body. Checks what the parser promises:
 * the same names whatever the pieces, a line count within the limit, each
 * name NUL-terminated and no longer than its line, and the quoting of every
 * name only from the safe set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/bulk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(struct bulk_parser *p, const char *body, size_t n, size_t step)
{
    bulk_parser_init(p, 64, 50);
    for (size_t i = 0; i < n; i += step)
        if (bulk_parser_feed(p, body + i, n - i < step ? n - i : step))
            break;
    return bulk_parser_finish(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 97 + 1;
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    struct bulk_parser a, b;

    int ra = run(&a, body, n, step);
    int rb = run(&b, body, n, n ? n : 1);
    if (ra != rb || (ra != 0 && ra != 400 && ra != 413))
        abort();
    if (ra == 0) {
        if (a.n != b.n || a.n > 50)
            abort();
        for (size_t i = 0; i < a.n; i++) {
            if (a.names[i].len != b.names[i].len || a.names[i].s[a.names[i].len] != '\0' ||
                memcmp(a.names[i].s, b.names[i].s, a.names[i].len) != 0 ||
                a.names[i].len > n)
                abort();
            struct buf q;
            buf_init(&q, 0);
            bulk_quote(&q, a.names[i].s, a.names[i].len);
            for (size_t k = 0; k < q.len; k++)
                if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/%",
                           q.data[k]) == NULL || q.data[k] == '\0')
                    abort();
            buf_release(&q);
        }
    }
    bulk_parser_release(&a);
    bulk_parser_release(&b);
    return 0;
}
