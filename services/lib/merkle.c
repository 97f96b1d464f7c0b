/* merkle — RFC 9162 Merkle tree hashes, inclusion and consistency proofs, and their checks. */
#include "merkle.h"

#include <string.h>

#include "crypto.h"

_Static_assert(MT_MERKLE_HASH_LEN == MT_HASH_LEN, "mt_sha256 writes one Merkle hash");

typedef unsigned char mt_node[MT_MERKLE_HASH_LEN];

void mt_merkle_node(const unsigned char left[32], const unsigned char right[32], unsigned char out[32])
{
    unsigned char buf[1 + 2 * MT_MERKLE_HASH_LEN];

    buf[0] = 0x01; /* RFC 9162 interior node prefix */
    memcpy(buf + 1, left, MT_MERKLE_HASH_LEN);
    memcpy(buf + 1 + MT_MERKLE_HASH_LEN, right, MT_MERKLE_HASH_LEN);
    mt_sha256(buf, sizeof(buf), out);
}

/* split returns k, the largest power of 2 smaller than n (RFC 9162's split point); n > 1. */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;

    while (k < n - k) /* 2k < n, without overflowing 2k */
        k <<= 1;
    return k;
}

/* empty_root writes MTH({}) = SHA-256 of the empty string. */
static void empty_root(unsigned char *out)
{
    static const unsigned char nothing[1];

    mt_sha256(nothing, 0, out);
}

static int is_power_of_2(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* reverse_path turns a path gathered from the root down into RFC order (leaf end first). */
static void reverse_path(unsigned char (*path)[32], size_t len)
{
    mt_node tmp;

    for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
        memcpy(tmp, path[i], sizeof(tmp));
        memcpy(path[i], path[j - 1], sizeof(tmp));
        memcpy(path[j - 1], tmp, sizeof(tmp));
    }
}

/* ---- the frontier ---- */

void mt_merkle_frontier_init(mt_merkle_frontier *f)
{
    memset(f, 0, sizeof(*f));
}

int mt_merkle_frontier_append(mt_merkle_frontier *f, const unsigned char leaf_hash[32])
{
    mt_node h;
    unsigned i;

    if (f == NULL || leaf_hash == NULL || f->size == UINT64_MAX)
        return -1;
    /* Binary increment: each carry merges two complete subtrees of 2^i leaves into one of
     * 2^(i+1), the older one on the left. The levels it passes become stale (their bits clear). */
    memcpy(h, leaf_hash, sizeof(h));
    for (i = 0; (f->size >> i) & 1; i++)
        mt_merkle_node(f->level[i], h, h);
    memcpy(f->level[i], h, sizeof(h));
    f->size++;
    return 0;
}

uint64_t mt_merkle_frontier_size(const mt_merkle_frontier *f)
{
    return f->size;
}

void mt_merkle_frontier_root(const mt_merkle_frontier *f, unsigned char root[32])
{
    mt_node acc;
    unsigned i;

    if (f->size == 0) {
        empty_root(root);
        return;
    }
    /* The smallest subtree is the rightmost; each larger one joins it from the left, exactly
     * as RFC 9162's recursion splits off the largest power of 2 first. */
    for (i = 0; !((f->size >> i) & 1); i++)
        ;
    memcpy(acc, f->level[i], sizeof(acc));
    for (i++; i < MT_MERKLE_LEVELS; i++)
        if ((f->size >> i) & 1)
            mt_merkle_node(f->level[i], acc, acc);
    memcpy(root, acc, sizeof(acc));
}

/* ---- over an array of leaves ---- */

void mt_merkle_root(const unsigned char (*leaves)[32], uint64_t n, unsigned char root[32])
{
    mt_merkle_frontier f;

    /* Streaming the leaves through a frontier is MTH in n - 1 node hashes and O(log n) memory. */
    mt_merkle_frontier_init(&f);
    for (uint64_t i = 0; i < n; i++)
        mt_merkle_frontier_append(&f, leaves[i]);
    mt_merkle_frontier_root(&f, root);
}

int mt_merkle_inclusion_proof(const unsigned char (*leaves)[32], uint64_t n, uint64_t index,
                              unsigned char (*path)[32], size_t *path_len)
{
    uint64_t lo = 0, size = n, k;
    size_t len = 0;

    if (path_len != NULL)
        *path_len = 0;
    if (leaves == NULL || path == NULL || path_len == NULL || index >= n)
        return -1;
    /* Walk PATH's recursion down from the root, collecting the sibling subtree at each split;
     * the siblings of the subtrees we leave cover disjoint leaves, so this is O(n) in all. */
    while (size > 1) {
        k = split(size);
        if (index < k) {
            mt_merkle_root(leaves + lo + k, size - k, path[len++]);
            size = k;
        } else {
            mt_merkle_root(leaves + lo, k, path[len++]);
            lo += k;
            index -= k;
            size -= k;
        }
    }
    reverse_path(path, len);
    *path_len = len;
    return 0;
}

int mt_merkle_consistency_proof(const unsigned char (*leaves)[32], uint64_t n, uint64_t m,
                                unsigned char (*path)[32], size_t *path_len)
{
    uint64_t lo = 0, size = n, k;
    size_t len = 0;
    int whole = 1; /* SUBPROOF's b: the subtree we are in is a subtree of the old tree too */

    if (path_len != NULL)
        *path_len = 0;
    if (leaves == NULL || path == NULL || path_len == NULL || m > n)
        return -1;
    if (m == 0 || m == n)
        return 0;
    /* SUBPROOF(m, D[lo:lo+size], whole), unrolled from the root down. */
    while (m != size) {
        k = split(size);
        if (m <= k) {
            mt_merkle_root(leaves + lo + k, size - k, path[len++]);
            size = k;
        } else {
            mt_merkle_root(leaves + lo, k, path[len++]);
            lo += k;
            m -= k;
            size -= k;
            whole = 0;
        }
    }
    /* The old tree ends exactly at this subtree; unless the verifier already holds its root
     * (the old root itself), the subtree's hash starts the proof. */
    if (!whole)
        mt_merkle_root(leaves + lo, size, path[len++]);
    reverse_path(path, len);
    *path_len = len;
    return 0;
}

/* ---- verification ---- */

int mt_merkle_verify_inclusion(const unsigned char leaf_hash[32], uint64_t index,
                               uint64_t tree_size, const unsigned char (*path)[32],
                               size_t path_len, const unsigned char root[32])
{
    uint64_t fn, sn;
    mt_node r;

    if (leaf_hash == NULL || root == NULL || (path == NULL && path_len > 0))
        return -1;
    if (index >= tree_size)
        return -1;
    fn = index;
    sn = tree_size - 1;
    memcpy(r, leaf_hash, sizeof(r));
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0)
            return -1; /* path longer than the tree is deep */
        if ((fn & 1) || fn == sn) {
            mt_merkle_node(path[i], r, r);
            /* a right edge node of an unbalanced tree has no sibling on the levels it skips */
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            mt_merkle_node(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return (sn == 0 && memcmp(r, root, sizeof(r)) == 0) ? 0 : -1;
}

int mt_merkle_verify_consistency(uint64_t size1, uint64_t size2, const unsigned char root1[32],
                                 const unsigned char root2[32], const unsigned char (*path)[32],
                                 size_t path_len)
{
    uint64_t fn, sn;
    mt_node fr, sr;
    size_t i = 0;

    if (root1 == NULL || root2 == NULL || (path == NULL && path_len > 0))
        return -1;
    if (size1 > size2)
        return -1;
    if (size1 == 0) {
        mt_node empty;

        empty_root(empty);
        if (path_len != 0 || memcmp(root1, empty, sizeof(empty)) != 0)
            return -1;
        return (size2 > 0 || memcmp(root2, empty, sizeof(empty)) == 0) ? 0 : -1;
    }
    if (size1 == size2)
        return (path_len == 0 && memcmp(root1, root2, MT_MERKLE_HASH_LEN) == 0) ? 0 : -1;
    if (path_len == 0)
        return -1;

    /* §2.1.4.2: when size1 is a power of 2 the old root is itself a node of the new tree and
     * starts the path (the RFC prepends it); otherwise the proof's first hash is that node. */
    if (is_power_of_2(size1))
        memcpy(fr, root1, sizeof(fr));
    else
        memcpy(fr, path[i++], sizeof(fr));
    memcpy(sr, fr, sizeof(sr));
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < path_len; i++) {
        if (sn == 0)
            return -1; /* path longer than the new tree is deep */
        if ((fn & 1) || fn == sn) {
            mt_merkle_node(path[i], fr, fr);
            mt_merkle_node(path[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            mt_merkle_node(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return -1;
    return (memcmp(fr, root1, sizeof(fr)) == 0 && memcmp(sr, root2, sizeof(sr)) == 0) ? 0 : -1;
}
