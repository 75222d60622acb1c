/* tests/unit/test_docs.c: docs/config.md is exactly what the option table
 * generates (`make docs-config`), so the reference never drifts from the
 * code. Run from the repository root, as `make unit` does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    size_t got;
    while ((got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            p = realloc(p, cap *= 2);
    }
    *len = n;
    return p;
}

static void test_config_md_in_sync(void **state)
{
    (void)state;
    FILE *f = fopen("docs/config.md", "rb");
    assert_non_null(f);
    size_t have_len;
    char *have = read_all(f, &have_len);
    fclose(f);

    char *want = NULL;
    size_t want_len = 0;
    FILE *m = open_memstream(&want, &want_len);
    config_write_docs(m);
    fclose(m);

    if (have_len != want_len || memcmp(have, want, have_len) != 0)
        fail_msg("docs/config.md is out of date: run `make docs-config`");
    free(have);
    free(want);
}

static void test_every_key_documented(void **state)
{
    (void)state;
    /* The dump of a default config names every key; each must appear in the
     * reference as `key`. */
    char *dump = NULL, *docs = NULL;
    size_t dump_len = 0, docs_len = 0;
    struct config cfg;
    config_init(&cfg);
    FILE *m = open_memstream(&dump, &dump_len);
    config_dump(&cfg, m);
    fclose(m);
    m = open_memstream(&docs, &docs_len);
    config_write_docs(m);
    fclose(m);
    size_t keys = 0;
    for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strstr(line, " = ");
        if (line[0] == '[' || line[0] == '#' || line[0] == ';' || !eq)
            continue;
        char want[128];
        snprintf(want, sizeof(want), "`%.*s`", (int)(eq - line), line);
        if (!strstr(docs, want))
            fail_msg("key %s is missing from the reference", want);
        keys++;
    }
    assert_true(keys > 20);
    free(dump);
    free(docs);
    config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_md_in_sync),
        cmocka_unit_test(test_every_key_documented),
    };
    return cmocka_run_group_tests_name("docs", tests, NULL, NULL);
}
