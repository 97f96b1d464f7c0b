/* statetree — the provenance state tree: an RFC 9162 Merkle tree whose leaves change, kept in a file. */
#include "statetree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "merkle.h"
#include "store.h"

#define HASH 32
#define MAX_PENDING 8192 /* leaves set since the last flush, at most (384 kB) */

typedef struct pending {
    uint64_t pos, seq; /* seq: the order of the sets, so the last one of a leaf wins */
    unsigned char leaf[HASH];
} pending;

struct mt_state_tree {
    int fd;
    uint64_t size;
    pending *p;
    size_t n, cap;
    uint64_t seq;
    uint64_t *lv; /* positions changed at the level being recomputed (flush's work array) */
    size_t cap_lv;
    int broken; /* an I/O error happened: every later call fails */
};

/* The file slot of the node over leaves [j * 2^k, (j + 1) * 2^k). */
static uint64_t slot(unsigned k, uint64_t j) {
    return ((2 * j + 1) << k) - 1;
}

static int rd(mt_state_tree *t, unsigned k, uint64_t j, unsigned char out[HASH]) {
    if (mt_pread_all(t->fd, out, HASH, slot(k, j) * HASH)) {
        t->broken = 1;
        return -1;
    }
    return 0;
}

static int wr(mt_state_tree *t, unsigned k, uint64_t j, const unsigned char h[HASH]) {
    if (mt_pwrite_all(t->fd, h, HASH, slot(k, j) * HASH)) {
        t->broken = 1;
        return -1;
    }
    return 0;
}

mt_state_tree *mt_state_tree_new(const char *dir, char *err, size_t errlen) {
    mt_state_tree *t = calloc(1, sizeof(*t));
    if (!t || (t->fd = mt_temp_file(dir)) < 0) {
        snprintf(err, errlen, "state tree file in %s: %s", dir && *dir ? dir : "$TMPDIR",
                 t ? strerror(errno) : "out of memory");
        free(t);
        return NULL;
    }
    return t;
}

void mt_state_tree_free(mt_state_tree *t) {
    if (!t) return;
    close(t->fd);
    free(t->p);
    free(t->lv);
    free(t);
}

uint64_t mt_state_tree_size(const mt_state_tree *t) {
    return t->size;
}

static int by_pos(const void *a, const void *b) {
    const pending *x = a, *y = b;
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the pending leaves and recomputes every complete node above them, level by level. */
static int flush(mt_state_tree *t) {
    if (t->broken) return -1;
    if (!t->n) return 0;
    if (t->cap_lv < t->n) {
        uint64_t *lv = realloc(t->lv, t->n * sizeof(*lv));
        if (!lv) return -1;
        t->lv = lv;
        t->cap_lv = t->n;
    }
    qsort(t->p, t->n, sizeof(*t->p), by_pos);
    size_t m = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i].pos >= t->size) continue; /* truncated away */
        if (i + 1 < t->n && t->p[i + 1].pos == t->p[i].pos) continue; /* a later set wins */
        if (wr(t, 0, t->p[i].pos, t->p[i].leaf)) return -1;
        t->lv[m++] = t->p[i].pos;
    }
    t->n = 0;
    for (unsigned k = 0; m && k < 63; k++) {
        size_t up = 0;
        for (size_t i = 0; i < m; i++) {
            uint64_t q = t->lv[i] >> 1;
            if (up && t->lv[up - 1] == q) continue;
            if (((q + 1) << (k + 1)) > t->size) continue; /* not complete: computed when asked */
            unsigned char l[HASH], r[HASH];
            if (rd(t, k, 2 * q, l) || rd(t, k, 2 * q + 1, r)) return -1;
            mt_merkle_node(l, r, l);
            if (wr(t, k + 1, q, l)) return -1;
            t->lv[up++] = q;
        }
        m = up;
    }
    return 0;
}

int mt_state_tree_set(mt_state_tree *t, uint64_t pos, const unsigned char leaf[32]) {
    if (t->broken || pos >= (UINT64_C(1) << 58)) return -1;
    if (t->n == MAX_PENDING && flush(t)) return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        pending *p = realloc(t->p, cap * sizeof(*p));
        if (!p) return -1;
        t->p = p;
        t->cap = cap;
    }
    pending *e = &t->p[t->n++];
    e->pos = pos;
    e->seq = t->seq++;
    memcpy(e->leaf, leaf, HASH);
    if (pos >= t->size) t->size = pos + 1;
    return 0;
}

void mt_state_tree_truncate(mt_state_tree *t, uint64_t size) {
    if (size < t->size) t->size = size;
}

/* MTH of leaves [lo, hi), lo a multiple of the largest power of 2 not above hi - lo (as RFC
 * 9162's recursion makes them): a stored node when complete, else its two halves. */
static int range_hash(mt_state_tree *t, uint64_t lo, uint64_t hi, unsigned char out[HASH]) {
    uint64_t w = hi - lo;
    if ((w & (w - 1)) == 0) {
        unsigned k = 0;
        while ((UINT64_C(1) << k) < w) k++;
        return rd(t, k, lo >> k, out);
    }
    uint64_t half = 1;
    while (half < w - half) half <<= 1;
    unsigned char r[HASH];
    if (range_hash(t, lo, lo + half, out) || range_hash(t, lo + half, hi, r)) return -1;
    mt_merkle_node(out, r, out);
    return 0;
}

int mt_state_tree_root(mt_state_tree *t, unsigned char root[32]) {
    if (flush(t)) return -1;
    if (!t->size) {
        mt_sha256("", 0, root);
        return 0;
    }
    return range_hash(t, 0, t->size, root);
}

int mt_state_tree_proof(mt_state_tree *t, uint64_t pos, unsigned char (*path)[32], size_t *path_len) {
    if (pos >= t->size || flush(t)) return -1;
    /* RFC 9162 PATH(m, D[lo:hi]), top down: the sibling at each split, then reversed so the hash
     * nearest the leaf comes first. */
    uint64_t lo = 0, hi = t->size;
    size_t n = 0;
    while (hi - lo > 1) {
        uint64_t half = 1;
        while (half < hi - lo - half) half <<= 1;
        if (pos < lo + half) {
            if (range_hash(t, lo + half, hi, path[n++])) return -1;
            hi = lo + half;
        } else {
            if (range_hash(t, lo, lo + half, path[n++])) return -1;
            lo += half;
        }
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char tmp[HASH];
        memcpy(tmp, path[i], HASH);
        memcpy(path[i], path[n - 1 - i], HASH);
        memcpy(path[n - 1 - i], tmp, HASH);
    }
    *path_len = n;
    return 0;
}
