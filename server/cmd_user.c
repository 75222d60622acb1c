/* server/cmd_user.c: This file implements `swiftlet user`: adding, listing,
 * deleting users of the users database (storage/users.h) and changing
 * their keys and roles.
 *
 * Keys never appear on the command line (where `ps` and shell histories
 * would show them): `add` and `set-key` read the key as one line from
 * standard input when it is not a terminal, and otherwise make up a random
 * one and print it once. `list` prints names and roles, never a secret.
 * A running server reads the database at each login, so changes apply to
 * the next login; tokens already handed out stay valid until they expire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/hash.h"
#include "../storage/users.h"
#include "auth.h"
#include "commands.h"

static const char user_usage[] =
    "usage: swiftlet user [-c FILE | --data DIR] add ACCOUNT:USER [ROLE]\n"
    "       swiftlet user [-c FILE | --data DIR] list [ACCOUNT]\n"
    "       swiftlet user [-c FILE | --data DIR] del ACCOUNT:USER\n"
    "       swiftlet user [-c FILE | --data DIR] set-key ACCOUNT:USER\n"
    "       swiftlet user [-c FILE | --data DIR] set-role ACCOUNT:USER ROLE\n"
    "ROLE: admin (the default: owns its account), member (reaches containers through\n"
    "ACLs only), read-only (reads its account), reseller (every account).\n"
    "add and set-key read the key from standard input, or print a new random one when\n"
    "standard input is a terminal.\n";

static int usage_error(const char *msg)
{
    fprintf(stderr, "swiftlet user: %s\n%s", msg, user_usage);
    return 2;
}

/* Split "account:user" into its two halves (in buf). */
static int split_name(const char *spec, char *buf, size_t len, const char **account,
                      const char **user)
{
    if (snprintf(buf, len, "%s", spec) >= (int)len)
        return -EINVAL;
    char *colon = strchr(buf, ':');
    if (!colon || colon == buf || !colon[1])
        return -EINVAL;
    *colon = '\0';
    *account = buf;
    *user = colon + 1;
    return 0;
}

/* The key from standard input (one line), or a new random one (printed).
 * 0 or an exit code. */
static int read_key(char *key, size_t len)
{
    if (!isatty(STDIN_FILENO)) {
        if (!fgets(key, (int)len, stdin) || !key[0]) {
            fprintf(stderr, "swiftlet user: no key on standard input\n");
            return 1;
        }
        key[strcspn(key, "\r\n")] = '\0';
        if (!key[0]) {
            fprintf(stderr, "swiftlet user: the key is empty\n");
            return 1;
        }
        return 0;
    }
    uint8_t raw[18];
    if (random_bytes(raw, sizeof(raw)) != 0) {
        fprintf(stderr, "swiftlet user: no randomness for a key\n");
        return 1;
    }
    hex_encode(raw, sizeof(raw), key);
    printf("key: %s\n", key);
    return 0;
}

static int report(int rc, const char *what, const char *spec)
{
    if (rc == 0)
        return 0;
    if (rc == -ENOENT)
        fprintf(stderr, "swiftlet user: no user %s\n", spec);
    else if (rc == -EEXIST)
        fprintf(stderr, "swiftlet user: user %s exists already\n", spec);
    else if (rc == -EINVAL)
        fprintf(stderr, "swiftlet user: bad name or key for %s (names: printable, no ':' '/' "
                        "quotes or spaces; keys: 1 to %d bytes)\n", spec, USERS_KEY_MAX);
    else
        fprintf(stderr, "swiftlet user: cannot %s %s: %s\n", what, spec, err_str(rc));
    return 1;
}

static int print_user(void *ctx, const struct user_info *u)
{
    (void)ctx;
    char when[32];
    time_t t = (time_t)u->created;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s:%s %s created=%s\n", u->account, u->user, users_role_name(u->role), when);
    return 0;
}

/* The file holds key hashes: only its owner may read it, and when root
 * runs the command, that owner is the one of the directory (the server's
 * user), so the server can still open it. */
static void secure_file(const char *path)
{
    struct stat st;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    if (geteuid() == 0 && stat(slash ? dir : ".", &st) == 0 &&
        chown(path, st.st_uid, st.st_gid) != 0)
        perror("swiftlet user: chown");
    free(dir);
    if (chmod(path, 0600) != 0 && errno != ENOENT)
        perror("swiftlet user: chmod");
}

/* The verbs, on path; argv[0] is the verb. */
static int run_verb(const char *path, int argc, char **argv)
{
    char names[2 * USERS_NAME_MAX + 2], key[USERS_KEY_MAX + 2];
    const char *account = NULL, *user = NULL, *verb = argv[0];
    enum user_role role = ROLE_ADMIN;
    int rc;

    if (strcmp(verb, "list") == 0) {
        if (argc > 2)
            return usage_error("list takes at most an account");
        return report(users_list(path, argc == 2 ? argv[1] : NULL, print_user, NULL), "list",
                      path);
    }
    if (argc < 2 || split_name(argv[1], names, sizeof(names), &account, &user) != 0)
        return usage_error("name the user as ACCOUNT:USER");
    bool with_role = strcmp(verb, "set-role") == 0 || (strcmp(verb, "add") == 0 && argc == 3);
    if (argc > (with_role ? 3 : 2) || (strcmp(verb, "set-role") == 0 && argc != 3))
        return usage_error("wrong number of arguments");
    if (with_role && users_role_parse(argv[2], &role) != 0)
        return usage_error("unknown role");
    if (strcmp(verb, "add") == 0) {
        if ((rc = read_key(key, sizeof(key))) != 0)
            return rc;
        rc = users_add(path, account, user, role, key);
    } else if (strcmp(verb, "set-key") == 0) {
        if ((rc = read_key(key, sizeof(key))) != 0)
            return rc;
        rc = users_set_key(path, account, user, key);
    } else if (strcmp(verb, "set-role") == 0) {
        rc = users_set_role(path, account, user, role);
    } else if (strcmp(verb, "del") == 0) {
        rc = users_del(path, account, user);
    } else {
        return usage_error("unknown verb");
    }
    memset(key, 0, sizeof(key));
    if (rc == 0)
        secure_file(path);
    return report(rc, verb, argv[1]);
}

int cmd_user(struct command_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    if (ctx->argc < 1)
        return usage_error("name a verb");
    if (!*cfg->data_dir && cfg->n_disk_groups == 0 && !*cfg->users_db)
        return usage_error("give -c FILE or --data DIR");
    /* A fresh data directory: `user add` may come before the first start. */
    if (*cfg->data_dir && mkdir(cfg->data_dir, 0755) != 0 && errno != EEXIST) {
        perror("swiftlet user: mkdir");
        return 1;
    }
    char *path = auth_users_path(cfg);
    int rc = run_verb(path, ctx->argc, ctx->argv);
    free(path);
    return rc;
}
