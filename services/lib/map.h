/* map — a hash table from byte-string keys to pointers (open addressing, SipHash). */
#ifndef MT_MAP_H
#define MT_MAP_H

#include <stddef.h>

typedef struct mt_map mt_map;

/* A new empty map, or NULL when out of memory. */
mt_map *mt_map_new(void);

/* Frees the map; free_value (may be NULL) is called on every value. Accepts NULL. */
void mt_map_free(mt_map *m, void (*free_value)(void *));

/* The value under key, or NULL. */
void *mt_map_get(const mt_map *m, const void *key, size_t klen);

/* Sets key (copied) to value; returns the value it replaced (NULL if none). On out of memory
 * returns value itself and the map is unaltered: callers that must know check mt_map_get. */
void *mt_map_put(mt_map *m, const void *key, size_t klen, void *value);

/* Removes key; returns its value, or NULL if it was not there. */
void *mt_map_remove(mt_map *m, const void *key, size_t klen);

size_t mt_map_count(const mt_map *m);

/* Calls fn for every entry, in no particular order (sort the results where order shows).
 * fn must not change the map. */
void mt_map_foreach(const mt_map *m, void (*fn)(void *arg, const void *key, size_t klen, void *value), void *arg);

#endif
