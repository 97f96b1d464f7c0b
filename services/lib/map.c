/* map — a hash table from byte-string keys to pointers (open addressing, SipHash). */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

typedef struct slot {
    uint64_t hash;
    void *key; /* NULL: empty; TOMBSTONE: removed */
    size_t klen;
    void *value;
} slot;

struct mt_map {
    slot *slots;
    size_t cap;   /* a power of two */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
};

static char tombstone_mark;
#define TOMBSTONE ((void *)&tombstone_mark)

mt_map *mt_map_new(void) {
    mt_map *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof(slot));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void mt_map_free(mt_map *m, void (*free_value)(void *)) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key || m->slots[i].key == TOMBSTONE) continue;
        free(m->slots[i].key);
        if (free_value) free_value(m->slots[i].value);
    }
    free(m->slots);
    free(m);
}

/* The slot holding key, or (when absent) the slot to insert it in. */
static slot *find(const mt_map *m, uint64_t h, const void *key, size_t klen) {
    slot *grave = NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        slot *s = &m->slots[i];
        if (!s->key) return grave ? grave : s;
        if (s->key == TOMBSTONE) {
            if (!grave) grave = s;
        } else if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0) {
            return s;
        }
    }
}

/* Rehashes without the tombstones: doubled when more than half the slots are live, else at the
 * same size (a map with churn and a steady count must not grow with history). */
static int grow(mt_map *m) {
    size_t cap = (m->count + 1) * 2 > m->cap ? m->cap * 2 : m->cap;
    slot *old = m->slots, *ns = calloc(cap, sizeof(slot));
    if (!ns) return -1;
    size_t oldcap = m->cap;
    m->slots = ns;
    m->cap = cap;
    m->used = m->count;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE) continue;
        for (size_t j = old[i].hash & (cap - 1);; j = (j + 1) & (cap - 1))
            if (!ns[j].key) {
                ns[j] = old[i];
                break;
            }
    }
    free(old);
    return 0;
}

void *mt_map_get(const mt_map *m, const void *key, size_t klen) {
    slot *s = find(m, mt_shorthash(key, klen), key, klen);
    return s->key && s->key != TOMBSTONE ? s->value : NULL;
}

void *mt_map_put(mt_map *m, const void *key, size_t klen, void *value) {
    if ((m->used + 1) * 4 >= m->cap * 3 && grow(m)) return value;
    uint64_t h = mt_shorthash(key, klen);
    slot *s = find(m, h, key, klen);
    if (s->key && s->key != TOMBSTONE) {
        void *old = s->value;
        s->value = value;
        return old;
    }
    void *k = malloc(klen ? klen : 1);
    if (!k) return value;
    memcpy(k, key, klen);
    if (!s->key) m->used++;
    *s = (slot){h, k, klen, value};
    m->count++;
    return NULL;
}

void *mt_map_remove(mt_map *m, const void *key, size_t klen) {
    slot *s = find(m, mt_shorthash(key, klen), key, klen);
    if (!s->key || s->key == TOMBSTONE) return NULL;
    void *v = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
    return v;
}

size_t mt_map_count(const mt_map *m) {
    return m->count;
}

void mt_map_foreach(const mt_map *m, void (*fn)(void *arg, const void *key, size_t klen, void *value), void *arg) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE) fn(arg, m->slots[i].key, m->slots[i].klen, m->slots[i].value);
}
