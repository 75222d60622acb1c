/* tests/fuzz/fuzz_acl.c: libFuzzer target for the ACL parsers, whose input
 * is client headers: X-Container-Read/-Write (clean, referrer and group
 * matching) and X-Account-Access-Control (validation, canonical form, and
 * the role lookup that reads the stored form back). The first byte picks
 * the header kind; the rest up to the first newline is the value, what
 * follows is the Referer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void container_acl(const char *header, const char *value, const char *referer)
{
    struct identity who = {.authenticated = true, .admin = true};
    struct buf out = BUF_INIT;

    who.account = (char *)"AUTH_test";
    who.user = (char *)"test:tester";
    if (acl_clean(header, value, &out) == 0) {
        /* (cleaning is not idempotent in Swift either: ".r:**." cleans to
         * ".r:*.", which is refused) */
        (void)acl_referrer_allowed(referer, out.data);
        (void)acl_container_grants(out.data, referer, &who, true);
        who.authenticated = false;
        (void)acl_container_grants(out.data, referer, &who, false);
    }
    buf_release(&out);
}

static void account_acl(const char *value)
{
    struct identity who = {.authenticated = true};
    struct buf out = BUF_INIT;

    who.account = (char *)"AUTH_test";
    who.user = (char *)"test:tester";
    if (acl_account_parse(value, &out) == 0) {
        struct buf again = BUF_INIT;
        /* the canonical form parses to itself */
        if (acl_account_parse(out.data, &again) != 0 || strcmp(again.data, out.data) != 0)
            abort();
        buf_release(&again);
        (void)acl_account_role(out.data, &who);
    }
    buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *nl;

    if (size < 1)
        return 0;
    s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    switch (data[0] % 3) {
    case 0:
        container_acl("X-Container-Read", s, nl ? nl + 1 : NULL);
        break;
    case 1:
        container_acl("X-Container-Write", s, nl ? nl + 1 : NULL);
        break;
    default:
        account_acl(s);
        break;
    }
    free(s);
    return 0;
}
