/* merkle — RFC 9162 (Certificate Transparency v2) Merkle trees over 32-byte leaf hashes. */
#ifndef MT_MERKLE_H
#define MT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Hashing is RFC 9162 §2.1.1 with SHA-256 (mt_sha256):
 *   MTH({})        = SHA-256()                                  (the empty tree)
 *   MTH({d[0]})    = leaf hash = SHA-256(0x00 | d[0])            (the caller's mt_leaf_hash)
 *   MTH(D[n]), n>1 = SHA-256(0x01 | MTH(D[0:k]) | MTH(D[k:n])),  k = largest power of 2 < n
 * This module only ever sees leaf hashes, never leaf contents: a "leaf" below is the 32-byte
 * SHA-256(0x00 | leaf) of journal.h. Indexes are 0-based, sizes count leaves. Proofs are
 * arrays of 32-byte hashes in RFC 9162 order (the hash nearest the leaf first), so standard
 * CT tooling checks them unchanged.
 */
#define MT_MERKLE_HASH_LEN 32
#define MT_MERKLE_LEVELS   64 /* a tree of up to 2^64 - 1 leaves */
/* Hashes in the longest inclusion proof (tree depth) and the longest consistency proof (one
 * more: the old tree's own subtree root can precede a full path). Size proof buffers by these. */
#define MT_MERKLE_MAX_INCLUSION   64
#define MT_MERKLE_MAX_CONSISTENCY 65

/* The root of the empty tree, SHA-256 of the empty string, as lowercase hex. */
#define MT_MERKLE_EMPTY_ROOT_HEX \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * mt_merkle_frontier is an append-only tree that keeps only its right edge: for every bit i set
 * in size, level[i] is the root of the complete subtree of 2^i leaves that bit stands for (the
 * oldest, largest subtree at the highest bit). Memory is fixed (about 2 KiB) whatever the
 * history. It holds no pointers, so a plain struct copy is a snapshot: copy it before a
 * transaction, assign the copy back on abort.
 */
typedef struct mt_merkle_frontier {
    uint64_t size;                                             /* leaves appended so far */
    unsigned char level[MT_MERKLE_LEVELS][MT_MERKLE_HASH_LEN]; /* valid where bit i of size is 1 */
} mt_merkle_frontier;

/* mt_merkle_node writes SHA-256(0x01 | left | right), an interior node, to out; out may be left
 * or right. */
void mt_merkle_node(const unsigned char left[32], const unsigned char right[32], unsigned char out[32]);

/* mt_merkle_frontier_init makes f the empty tree. No allocation; nothing to release. */
void mt_merkle_frontier_init(mt_merkle_frontier *f);

/* mt_merkle_frontier_append adds leaf_hash as leaf number size (0-based) in O(log n) hashes.
 * Returns 0, or -1 with f unchanged if f or leaf_hash is NULL or the tree already holds
 * 2^64 - 1 leaves. */
int mt_merkle_frontier_append(mt_merkle_frontier *f, const unsigned char leaf_hash[32]);

/* mt_merkle_frontier_size returns how many leaves f holds. */
uint64_t mt_merkle_frontier_size(const mt_merkle_frontier *f);

/* mt_merkle_frontier_root writes MTH of every leaf appended so far to root (the empty tree's
 * root when there are none). Cannot fail. */
void mt_merkle_frontier_root(const mt_merkle_frontier *f, unsigned char root[32]);

/*
 * Over a whole array of leaf hashes, leaves[0..n-1] (for the auditor and `mintrace prove`).
 * Generation hashes each leaf at most once per call (O(n) time) with O(log n) stack and no
 * heap; leaves may be NULL only when n is 0.
 */

/* mt_merkle_root writes MTH(leaves[0..n-1]) to root; n == 0 gives the empty tree's root.
 * Cannot fail. */
void mt_merkle_root(const unsigned char (*leaves)[32], uint64_t n, unsigned char root[32]);

/* mt_merkle_inclusion_proof writes PATH(index, D[n]) (RFC 9162 §2.1.3.1) to path, which must
 * hold MT_MERKLE_MAX_INCLUSION hashes, and its length to *path_len (0 for a one-leaf tree).
 * Returns 0, or -1 with *path_len (if not NULL) set to 0 when index >= n or an argument is
 * NULL. */
int mt_merkle_inclusion_proof(const unsigned char (*leaves)[32], uint64_t n, uint64_t index,
                              unsigned char (*path)[32], size_t *path_len);

/* mt_merkle_consistency_proof writes PROOF(m, D[n]) (RFC 9162 §2.1.4.1) — that the tree of the
 * first m leaves is a prefix of the tree of n — to path, which must hold
 * MT_MERKLE_MAX_CONSISTENCY hashes, and its length to *path_len. m == n and m == 0 give the
 * empty proof (nothing needs proving). Returns 0, or -1 with *path_len (if not NULL) set to 0
 * when m > n or an argument is NULL. */
int mt_merkle_consistency_proof(const unsigned char (*leaves)[32], uint64_t n, uint64_t m,
                                unsigned char (*path)[32], size_t *path_len);

/*
 * Verification needs only the proof, the sizes and the roots (RFC 9162's iterative algorithms).
 * 0 means proven; -1 means not proven: a wrong hash, size, index or path length, a NULL
 * argument. path may be NULL when path_len is 0.
 */

/* mt_merkle_verify_inclusion checks that leaf_hash is leaf number index of the tree of
 * tree_size leaves whose root is root (§2.1.3.2). Fails whenever index >= tree_size. */
int mt_merkle_verify_inclusion(const unsigned char leaf_hash[32], uint64_t index,
                               uint64_t tree_size, const unsigned char (*path)[32],
                               size_t path_len, const unsigned char root[32]);

/* mt_merkle_verify_consistency checks that the tree of size1 leaves with root root1 is a prefix
 * of the tree of size2 leaves with root root2 (§2.1.4.2, for 0 < size1 < size2). The cases the
 * RFC leaves out: size1 > size2 fails; size1 == size2 holds only with an empty path and
 * root1 == root2; size1 == 0 holds only with an empty path and root1 the empty tree's root
 * (and, if size2 is 0 too, root2 the same). */
int mt_merkle_verify_consistency(uint64_t size1, uint64_t size2, const unsigned char root1[32],
                                 const unsigned char root2[32], const unsigned char (*path)[32],
                                 size_t path_len);

#endif /* MT_MERKLE_H */
