/* tests/fuzz/fuzz_names.c: libFuzzer target for the name and metadata
 * checks of server/constraints.h: utf8_valid on raw bytes (NULs included),
 * check_names / check_names_for on "account\ncontainer\nobject", Title-Case
 * and check_metadata on the same bytes as a header name and value.
 *
 * Beyond "no crash", it asserts the contract: a name that is not valid
 * UTF-8 is always 412, and every answer is 0, 400 or 412 with a message. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/constraints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Split s in place at the first two '\n' into up to three names. */
static void split3(char *s, char *part[3])
{
    part[0] = s;
    part[1] = part[2] = NULL;
    for (int i = 1; i < 3; i++) {
        char *nl = strchr(part[i - 1], '\n');
        if (!nl)
            return;
        *nl = '\0';
        part[i] = nl + 1;
    }
}

static void check_one(const struct config *cfg, char *part[3])
{
    static const enum http_method methods[] = {M_GET, M_HEAD, M_PUT, M_POST, M_DELETE};
    bool bad = false;
    char msg[256];

    for (int i = 0; i < 3; i++)
        if (part[i] && !utf8_valid(part[i], strlen(part[i])))
            bad = true;
    msg[0] = '\0';
    int status = check_names(cfg, part[0], part[1], part[2], msg, sizeof(msg));
    assert(status == 0 || status == 400 || status == 412);
    assert(!bad || status == 412);
    assert(status == 0 || msg[0]);
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
        int s2 = check_names_for(cfg, methods[m], part[0], part[1], part[2], msg, sizeof(msg));
        assert(s2 == 0 || s2 == 400 || s2 == 412);
        assert(bad == (s2 == 412));
    }
}

static void check_meta(const struct config *cfg, const char *s)
{
    char *name = malloc(strlen(s) + 32), msg[512];
    struct kv_list l;

    strcpy(name, "x-container-meta-");
    strcat(name, s);
    header_title_case(name);
    assert(strncmp(name, "X-Container-Meta-", 17) == 0);
    kv_init(&l);
    kv_add(&l, name, s);
    kv_add(&l, "X-Account-Meta-Other", s);
    int status = check_metadata(cfg, "X-Container-Meta-", &l, msg, sizeof(msg));
    assert(status == 0 || status == 400);
    status = check_metadata_stored(cfg, "X-Container-Meta-", &l, msg, sizeof(msg));
    assert(status == 0 || status == 400);
    kv_release(&l);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg;
    static bool init;
    char *s, *part[3];

    if (!init) {
        config_init(&cfg);
        init = true;
    }
    (void)utf8_valid((const char *)data, size);
    s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    check_meta(&cfg, s);
    split3(s, part);
    check_one(&cfg, part);
    free(s);
    return 0;
}
