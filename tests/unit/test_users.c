/* tests/unit/test_users.c: the users database (storage/users.h), PBKDF2
 * (common/hash.h), and logins against it through server/auth.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/config.h"
#include "../../common/hash.h"
#include "../../server/auth.h"
#include "../../storage/users.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/swiftlet-users-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/users.db", dir);
    users_set_iterations(1000); /* fast tests; the stored count is per row */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[160];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static void test_pbkdf2_vector(void **state)
{
    (void)state;
    /* RFC 7914 section 11's PBKDF2-HMAC-SHA256 vector (c = 1), first 32 bytes. */
    uint8_t out[32];
    char hex[65];
    assert_int_equal(pbkdf2_sha256("passwd", 6, (const uint8_t *)"salt", 4, 1, out, 32), 0);
    hex_encode(out, 32, hex);
    assert_string_equal(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    assert_int_equal(pbkdf2_sha256("x", 1, (const uint8_t *)"s", 1, 0, out, 32), -EINVAL);
}

static int count_cb(void *ctx, const struct user_info *u)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static void test_users_crud(void **state)
{
    (void)state;
    struct user_info u;
    int n = 0;
    /* no file yet: nothing listed, nobody logs in */
    assert_int_equal(users_list(path, NULL, count_cb, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(users_verify(path, NULL, "alice", "k1", &u), -ENOENT);
    assert_int_equal(users_del(path, "test", "alice"), -ENOENT);

    assert_int_equal(users_add(path, "test", "alice", ROLE_MEMBER, "k1"), 0);
    assert_int_equal(users_add(path, "test", "alice", ROLE_ADMIN, "k2"), -EEXIST);
    assert_int_equal(users_add(path, "other", "alice", ROLE_READ_ONLY, "k3"), 0);
    assert_int_equal(users_add(path, "bad:name", "x", ROLE_ADMIN, "k"), -EINVAL);
    assert_int_equal(users_add(path, "test", "with space", ROLE_ADMIN, "k"), -EINVAL);
    assert_int_equal(users_add(path, "test", "empty", ROLE_ADMIN, ""), -EINVAL);

    assert_int_equal(users_verify(path, "test", "alice", "k1", &u), 0);
    assert_string_equal(u.account, "test");
    assert_int_equal(u.role, ROLE_MEMBER);
    assert_int_equal(users_verify(path, "test", "alice", "k3", &u), -EACCES);
    /* no account given: the user whose key matches, in account order */
    assert_int_equal(users_verify(path, NULL, "alice", "k3", &u), 0);
    assert_string_equal(u.account, "other");
    assert_int_equal(u.role, ROLE_READ_ONLY);
    assert_int_equal(users_verify(path, NULL, "alice", "nope", &u), -EACCES);
    assert_int_equal(users_verify(path, NULL, "bob", "k1", &u), -ENOENT);

    assert_int_equal(users_set_key(path, "test", "alice", "k9"), 0);
    assert_int_equal(users_verify(path, "test", "alice", "k1", &u), -EACCES);
    assert_int_equal(users_verify(path, "test", "alice", "k9", &u), 0);
    assert_int_equal(users_set_key(path, "test", "nobody", "k9"), -ENOENT);
    assert_int_equal(users_set_role(path, "test", "alice", ROLE_RESELLER), 0);
    assert_int_equal(users_verify(path, "test", "alice", "k9", &u), 0);
    assert_int_equal(u.role, ROLE_RESELLER);

    n = 0;
    assert_int_equal(users_list(path, "test", count_cb, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(users_list(path, NULL, count_cb, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(users_del(path, "test", "alice"), 0);
    assert_int_equal(users_verify(path, "test", "alice", "k9", &u), -ENOENT);

    /* keys are stored hashed: the file never holds one */
    assert_int_equal(users_add(path, "test", "carol", ROLE_ADMIN, "Sup3rSecretKey"), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char data[1 << 20];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    assert_null(memmem(data, len, "Sup3rSecretKey", 14));
}

static void test_roles(void **state)
{
    (void)state;
    enum user_role r;
    static const char *const names[] = {"admin", "member", "read-only", "reseller"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(users_role_parse(names[i], &r), 0);
        assert_string_equal(users_role_name(r), names[i]);
    }
    assert_int_equal(users_role_parse("root", &r), -EINVAL);
    assert_null(users_role_name((enum user_role)42));
}

/* Logins through server/auth.h see database users (roles become the
 * identity's flags) besides config users, and the config wins a tie. */
static void test_auth_with_db(void **state)
{
    (void)state;
    struct config cfg;
    config_init(&cfg);
    free(cfg.users_db);
    cfg.users_db = strdup(path);
    assert_int_equal(config_add_user(&cfg, "test:tester:testing:admin"), 0);
    assert_int_equal(users_add(path, "test", "tester", ROLE_READ_ONLY, "dbkey"), 0);
    assert_int_equal(users_add(path, "test", "ro", ROLE_READ_ONLY, "k"), 0);
    assert_int_equal(users_add(path, "big", "boss", ROLE_RESELLER, "k"), 0);
    assert_int_equal(users_add(path, "test", "m", ROLE_MEMBER, "k"), 0);
    struct auth *a;
    assert_int_equal(auth_new(&a, &cfg), 0);
    struct auth_grant g;
    struct identity who = {0};

    assert_int_equal(auth_login(a, NULL, "test:tester", "testing", &g), 0);
    auth_grant_release(&g);
    assert_int_equal(auth_login(a, NULL, "test:tester", "dbkey", &g), -EACCES);

    assert_int_equal(auth_login(a, "test", "ro", "k", &g), 0);
    assert_int_equal(auth_check(a, g.token, &who), 0);
    assert_true(who.read_only);
    assert_false(who.admin);
    assert_string_equal(who.account, "AUTH_test");
    identity_release(&who);
    auth_grant_release(&g);

    assert_int_equal(auth_login(a, NULL, "boss", "k", &g), 0);
    assert_string_equal(g.account, "AUTH_big");
    assert_int_equal(auth_check(a, g.token, &who), 0);
    assert_true(who.reseller);
    assert_string_equal(who.user, "big:boss");
    identity_release(&who);
    auth_grant_release(&g);

    assert_int_equal(auth_login(a, "AUTH_test", "m", "k", &g), 0);
    assert_int_equal(auth_check(a, g.token, &who), 0);
    assert_false(who.admin || who.read_only || who.reseller);
    identity_release(&who);
    auth_grant_release(&g);

    /* a user deleted from the database cannot log in any more */
    assert_int_equal(users_del(path, "test", "m"), 0);
    assert_int_equal(auth_login(a, "test", "m", "k", &g), -ENOENT);
    auth_free(a);
    config_release(&cfg);
}

static void test_users_path(void **state)
{
    (void)state;
    struct config cfg;
    config_init(&cfg);
    char err[256];
    assert_int_equal(config_set(&cfg, "storage", "data_dir", "/srv/data", err, sizeof(err)), 0);
    char *p = auth_users_path(&cfg);
    assert_string_equal(p, "/srv/data/users.db");
    free(p);
    config_release(&cfg);
    config_init(&cfg);
    assert_int_equal(config_set(&cfg, "storage", "disk_group", "/srv/swiftlet/dg1/", err,
                                sizeof(err)), 0);
    p = auth_users_path(&cfg);
    assert_string_equal(p, "/srv/swiftlet/swiftlet-users.db");
    free(p);
    assert_int_equal(config_set(&cfg, "auth", "users_db", "/etc/u.db", err, sizeof(err)), 0);
    p = auth_users_path(&cfg);
    assert_string_equal(p, "/etc/u.db");
    free(p);
    config_release(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pbkdf2_vector),
        cmocka_unit_test_setup_teardown(test_users_crud, setup, teardown),
        cmocka_unit_test(test_roles),
        cmocka_unit_test_setup_teardown(test_auth_with_db, setup, teardown),
        cmocka_unit_test(test_users_path),
    };
    return cmocka_run_group_tests_name("users", tests, NULL, NULL);
}
