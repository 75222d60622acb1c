/* common/kv.h: an ordered list of key/value strings.
 *
 * Used for metadata (object, container and account metadata as Swift stores
 * it: header names as keys) and response headers. Keys compare
 * case-insensitively, as HTTP header names do. Small lists; lookups are
 * linear. */
#ifndef SWIFTLET_COMMON_KV_H
#define SWIFTLET_COMMON_KV_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct kv {
    char *key;
    char *value;
};

struct kv_list {
    struct kv *items;
    size_t n, alloc;
};

#define KV_LIST_INIT {NULL, 0, 0}

void kv_init(struct kv_list *l);
void kv_release(struct kv_list *l);
/* Append a copy (duplicates allowed). */
void kv_add(struct kv_list *l, const char *key, const char *value);
/* Append key and value themselves (heap strings the list now owns). */
void kv_add_owned(struct kv_list *l, char *key, char *value);
/* Replace the value of the first key (case-insensitive) or append. */
void kv_set(struct kv_list *l, const char *key, const char *value);
/* Value of the first matching key (case-insensitive) or NULL. */
const char *kv_get(const struct kv_list *l, const char *key);
/* Remove every entry with this key; returns how many were removed. */
size_t kv_del(struct kv_list *l, const char *key);
void kv_copy(struct kv_list *dst, const struct kv_list *src);   /* dst is initialised */

/* A JSON object {"key": "value", ...} (jansson) from and to a list.
 * kv_to_json returns a heap string; kv_from_json: 0 or -EINVAL (dst is
 * initialised on entry and left initialised on failure). */
char *kv_to_json(const struct kv_list *l);
int kv_from_json(struct kv_list *dst, const char *json, size_t len) WUR;

#endif
