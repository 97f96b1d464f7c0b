/* statetree — the provenance state tree: an RFC 9162 Merkle tree whose leaves change, kept in a file. */
#ifndef MT_STATETREE_H
#define MT_STATETREE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Leaf number p is the state leaf of the p-th batch made (docs/accounting.md, "State root"),
 * and it changes whenever that batch's record does. The tree's nodes live in one file, in the
 * in-order layout (leaf p at slot 2p; the node over leaves [j*2^k, (j+1)*2^k) at slot
 * (2j+1)*2^k - 1), read and written with pread/pwrite: the process keeps only the leaves set
 * since the last root (at most 65,536, then they are written out), so its memory does not grow
 * with the number of batches; the file grows by 64 bytes per batch. A root or a proof costs
 * O(changed leaves x log n) node reads and writes, never a pass over every batch.
 *
 * Hashing is merkle.h's: the same root as mt_merkle_root() over the leaves in position order.
 */
typedef struct mt_state_tree mt_state_tree;

/* A new empty tree in a temporary file under dir (NULL: $TMPDIR, else /tmp), unlinked at once so
 * it vanishes with the process. NULL with err on failure. */
mt_state_tree *mt_state_tree_new(const char *dir, char *err, size_t errlen);
void mt_state_tree_free(mt_state_tree *t); /* accepts NULL */

/* Sets leaf pos (a 32-byte leaf hash). The tree holds max(size, pos + 1) leaves afterwards;
 * every leaf below the size must have been set before the next root or proof. 0, or -1 when
 * out of memory or on an I/O error (the tree is then unusable). */
int mt_state_tree_set(mt_state_tree *t, uint64_t pos, const unsigned char leaf[32]);

/* Forgets the leaves from size on (a ledger transaction that made batches was aborted). */
void mt_state_tree_truncate(mt_state_tree *t, uint64_t size);

/* The number of leaves. */
uint64_t mt_state_tree_size(const mt_state_tree *t);

/* The root over every leaf (the empty tree's root when there are none). 0, or -1 on error. */
int mt_state_tree_root(mt_state_tree *t, unsigned char root[32]);

/* The RFC 9162 inclusion path of leaf pos (room for MT_MERKLE_MAX_INCLUSION hashes, nearest the
 * leaf first). 0, or -1 for pos out of range or on error. */
int mt_state_tree_proof(mt_state_tree *t, uint64_t pos, unsigned char (*path)[32], size_t *path_len);

#endif
