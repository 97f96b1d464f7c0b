/* test_merkle.c - RFC 9162 Merkle trees (merkle.h): known answers, proofs, tampering, frontier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "crypto.h"
#include "merkle.h"

typedef unsigned char node[32];

#define POOL 300 /* leaves every test draws from: pool[i] = SHA-256(0x00 | "mt" | i) */
static node pool[POOL];

/* ---- an independent reference, written straight from RFC 9162 §2.1 (recursive, small n) ---- */

static void ref_leaf_hash(const void *data, size_t len, node out)
{
    unsigned char buf[64];

    assert_true(len < sizeof(buf));
    buf[0] = 0x00;
    memcpy(buf + 1, data, len);
    mt_sha256(buf, 1 + len, out);
}

static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;

    while (n - k > k)
        k *= 2;
    return k;
}

static void ref_mth(const node *d, uint64_t n, node out)
{
    unsigned char buf[65];

    if (n == 0) {
        mt_sha256("", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, d[0], 32);
        return;
    }
    uint64_t k = ref_split(n);
    buf[0] = 0x01;
    ref_mth(d, k, buf + 1);
    ref_mth(d + k, n - k, buf + 33);
    mt_sha256(buf, sizeof(buf), out);
}

/* ref_path is PATH(m, D[n]) with, in dirs, which side each hash sits ('L' left, 'R' right).
 * With d NULL it gives only the shape (dirs and length), for any n. */
static void ref_path(uint64_t m, const node *d, uint64_t n, node *out, char *dirs, size_t *len)
{
    if (n <= 1)
        return;
    uint64_t k = ref_split(n);
    if (m < k) {
        ref_path(m, d, k, out, dirs, len);
        if (d != NULL)
            ref_mth(d + k, n - k, out[*len]);
        dirs[(*len)++] = 'R';
    } else {
        ref_path(m - k, d ? d + k : NULL, n - k, out, dirs, len);
        if (d != NULL)
            ref_mth(d, k, out[*len]);
        dirs[(*len)++] = 'L';
    }
}

/* ref_subproof is SUBPROOF(m, D[n], b); 'S' marks the old tree's subtree hash that starts it. */
static void ref_subproof(uint64_t m, const node *d, uint64_t n, int b, node *out, char *dirs,
                         size_t *len)
{
    if (m == n) {
        if (!b) {
            if (d != NULL)
                ref_mth(d, n, out[*len]);
            dirs[(*len)++] = 'S';
        }
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        ref_subproof(m, d, k, b, out, dirs, len);
        if (d != NULL)
            ref_mth(d + k, n - k, out[*len]);
        dirs[(*len)++] = 'R';
    } else {
        ref_subproof(m - k, d ? d + k : NULL, n - k, 0, out, dirs, len);
        if (d != NULL)
            ref_mth(d, k, out[*len]);
        dirs[(*len)++] = 'L';
    }
}

/* same_inclusion_shape: would PATH(i, D[n2]) have the very sides and length of PATH(i, D[n1])?
 * A verifier then does the same hashing for both sizes and cannot tell them apart. */
static int same_inclusion_shape(uint64_t i, uint64_t n1, uint64_t n2)
{
    char a[MT_MERKLE_MAX_INCLUSION + 1], b[MT_MERKLE_MAX_INCLUSION + 1];
    size_t la = 0, lb = 0;

    if (i >= n1 || i >= n2)
        return 0;
    ref_path(i, NULL, n1, NULL, a, &la);
    ref_path(i, NULL, n2, NULL, b, &lb);
    return la == lb && memcmp(a, b, la) == 0;
}

/* same_consistency_shape is the same for PROOF(m1, D[n1]) and PROOF(m2, D[n2]), 0 < m < n. */
static int same_consistency_shape(uint64_t m1, uint64_t n1, uint64_t m2, uint64_t n2)
{
    char a[MT_MERKLE_MAX_CONSISTENCY + 1], b[MT_MERKLE_MAX_CONSISTENCY + 1];
    size_t la = 0, lb = 0;

    if (!(m1 > 0 && m1 < n1 && m2 > 0 && m2 < n2))
        return 0;
    ref_subproof(m1, NULL, n1, 1, NULL, a, &la);
    ref_subproof(m2, NULL, n2, 1, NULL, b, &lb);
    return la == lb && memcmp(a, b, la) == 0;
}

static void hex_node(const char *hex, node out)
{
    assert_int_equal(mt_hex_decode(hex, out, 32), 0);
}

static void fill_leaves(node *d, size_t n, unsigned char salt)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char in[4] = { salt, 't', (unsigned char)(i >> 8), (unsigned char)i };
        ref_leaf_hash(in, sizeof(in), d[i]);
    }
}

static int group_setup(void **state)
{
    (void)state;
    fill_leaves(pool, POOL, 'm');
    return 0;
}

/* ---- the RFC 6962 / 9162 reference tree (certificate-transparency, transparency-dev) ---- */

static const char *const ct_inputs[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const ct_roots[8] = { /* MTH of the first 1..8 inputs */
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct ct_proof {
    uint64_t a, n;      /* inclusion: leaf index, size; consistency: old size, new size */
    size_t len;
    const char *hash[3];
};

/* transparency-dev/merkle proof/verify_test.go (its leaf numbers are 1-based; these are not) */
static const struct ct_proof ct_inclusion[] = {
    { 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
    { 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
    { 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
    { 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static const struct ct_proof ct_consistency[] = {
    { 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                 "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
    { 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
    { 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                 "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
    { 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                 "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                 "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

static void ct_leaves(node leaves[8])
{
    for (int i = 0; i < 8; i++) {
        unsigned char in[16];
        size_t len = strlen(ct_inputs[i]) / 2;

        assert_int_equal(mt_hex_decode(ct_inputs[i], in, len), 0);
        ref_leaf_hash(in, len, leaves[i]);
    }
}

/* The empty tree's root is SHA-256 of the empty string, from the array and the frontier. */
static void test_empty_root_is_sha256_of_nothing(void **state)
{
    node want, got;
    mt_merkle_frontier f;
    (void)state;

    hex_node("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
    hex_node(MT_MERKLE_EMPTY_ROOT_HEX, got);
    assert_memory_equal(got, want, 32);
    mt_merkle_root(NULL, 0, got);
    assert_memory_equal(got, want, 32);
    mt_merkle_frontier_init(&f);
    assert_int_equal(mt_merkle_frontier_size(&f), 0);
    mt_merkle_frontier_root(&f, got);
    assert_memory_equal(got, want, 32);
}

/* The published CT roots for sizes 1..8 equal the RFC-recursive reference, the array root and
 * the frontier root. */
static void test_reference_tree_roots(void **state)
{
    node leaves[8], want, ref, got;
    mt_merkle_frontier f;
    (void)state;

    ct_leaves(leaves);
    mt_merkle_frontier_init(&f);
    for (uint64_t n = 1; n <= 8; n++) {
        hex_node(ct_roots[n - 1], want);
        ref_mth(leaves, n, ref);
        assert_memory_equal(ref, want, 32);
        mt_merkle_root(leaves, n, got);
        assert_memory_equal(got, want, 32);
        assert_int_equal(mt_merkle_frontier_append(&f, leaves[n - 1]), 0);
        mt_merkle_frontier_root(&f, got);
        assert_memory_equal(got, want, 32);
    }
}

/* The published inclusion proofs of the reference tree are generated byte for byte and verify. */
static void test_reference_tree_inclusion_proofs(void **state)
{
    node leaves[8], root, path[MT_MERKLE_MAX_INCLUSION], want;
    size_t len;
    (void)state;

    ct_leaves(leaves);
    for (size_t v = 0; v < sizeof(ct_inclusion) / sizeof(ct_inclusion[0]); v++) {
        const struct ct_proof *p = &ct_inclusion[v];

        hex_node(ct_roots[p->n - 1], root);
        assert_int_equal(mt_merkle_inclusion_proof(leaves, p->n, p->a, path, &len), 0);
        assert_int_equal(len, p->len);
        for (size_t j = 0; j < len; j++) {
            hex_node(p->hash[j], want);
            assert_memory_equal(path[j], want, 32);
        }
        assert_int_equal(mt_merkle_verify_inclusion(leaves[p->a], p->a, p->n, path, len, root), 0);
    }
}

/* The published consistency proofs of the reference tree are generated byte for byte and
 * verify. */
static void test_reference_tree_consistency_proofs(void **state)
{
    node leaves[8], root1, root2, path[MT_MERKLE_MAX_CONSISTENCY], want;
    size_t len;
    (void)state;

    ct_leaves(leaves);
    for (size_t v = 0; v < sizeof(ct_consistency) / sizeof(ct_consistency[0]); v++) {
        const struct ct_proof *p = &ct_consistency[v];

        hex_node(ct_roots[p->a - 1], root1);
        hex_node(ct_roots[p->n - 1], root2);
        assert_int_equal(mt_merkle_consistency_proof(leaves, p->n, p->a, path, &len), 0);
        assert_int_equal(len, p->len);
        for (size_t j = 0; j < len; j++) {
            hex_node(p->hash[j], want);
            assert_memory_equal(path[j], want, 32);
        }
        assert_int_equal(mt_merkle_verify_consistency(p->a, p->n, root1, root2, path, len), 0);
    }
}

/* ---- the frontier ---- */

/* After each append, for every n from 0 to 300, the frontier's root is mt_merkle_root's and the
 * reference's. */
static void test_frontier_root_equals_array_root(void **state)
{
    node want, ref, got;
    mt_merkle_frontier f;
    (void)state;

    mt_merkle_frontier_init(&f);
    for (uint64_t n = 0; n <= POOL; n++) {
        if (n > 0)
            assert_int_equal(mt_merkle_frontier_append(&f, pool[n - 1]), 0);
        assert_int_equal(mt_merkle_frontier_size(&f), n);
        mt_merkle_root(pool, n, want);
        ref_mth(pool, n, ref);
        assert_memory_equal(want, ref, 32);
        mt_merkle_frontier_root(&f, got);
        assert_memory_equal(got, want, 32);
    }
}

/* A frontier copied by value is a snapshot: restoring it after appends undoes them exactly. */
static void test_frontier_snapshot_restore_by_value(void **state)
{
    node other[3], want, got;
    mt_merkle_frontier f, snap;
    (void)state;

    fill_leaves(other, 3, 'x');
    mt_merkle_frontier_init(&f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(mt_merkle_frontier_append(&f, pool[i]), 0);
    snap = f; /* before the transaction */
    for (int i = 0; i < 3; i++)
        assert_int_equal(mt_merkle_frontier_append(&f, other[i]), 0);
    assert_int_equal(mt_merkle_frontier_size(&f), 8);
    assert_int_equal(mt_merkle_frontier_size(&snap), 5);
    mt_merkle_root(pool, 5, want);
    mt_merkle_frontier_root(&snap, got);
    assert_memory_equal(got, want, 32);

    f = snap; /* abort */
    mt_merkle_frontier_root(&f, got);
    assert_memory_equal(got, want, 32);
    for (int i = 5; i < 9; i++)
        assert_int_equal(mt_merkle_frontier_append(&f, pool[i]), 0);
    mt_merkle_root(pool, 9, want);
    mt_merkle_frontier_root(&f, got);
    assert_memory_equal(got, want, 32);
}

/* A full frontier (2^64 - 1 leaves) refuses another leaf and stays unchanged. */
static void test_frontier_append_fails_when_full(void **state)
{
    mt_merkle_frontier f, before;
    (void)state;

    mt_merkle_frontier_init(&f);
    f.size = UINT64_MAX;
    memset(f.level, 0x5a, sizeof(f.level));
    before = f;
    assert_int_equal(mt_merkle_frontier_append(&f, pool[0]), -1);
    assert_memory_equal(&f, &before, sizeof(f));
    assert_int_equal(mt_merkle_frontier_append(NULL, pool[0]), -1);
    assert_int_equal(mt_merkle_frontier_append(&before, NULL), -1);
}

/* ---- inclusion ---- */

/* Every index of every tree of 1..70 leaves gets the reference PATH, which verifies. */
static void test_inclusion_proofs_verify_for_every_index(void **state)
{
    node root, path[MT_MERKLE_MAX_INCLUSION], ref[MT_MERKLE_MAX_INCLUSION];
    char dirs[MT_MERKLE_MAX_INCLUSION];
    size_t len, ref_len;
    (void)state;

    for (uint64_t n = 1; n <= 70; n++) {
        mt_merkle_root(pool, n, root);
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(mt_merkle_inclusion_proof(pool, n, i, path, &len), 0);
            ref_len = 0;
            ref_path(i, pool, n, ref, dirs, &ref_len);
            assert_int_equal(len, ref_len);
            if (len > 0)
                assert_memory_equal(path, ref, len * 32);
            assert_int_equal(mt_merkle_verify_inclusion(pool[i], i, n, path, len, root), 0);
        }
    }
}

/* An inclusion proof fails with another leaf, index, root, any flipped path bit, a path one
 * hash short or long; another size fails unless its path has the same shape (a proof cannot
 * tell such sizes apart: the signed tree head binds the size to the root). */
static void test_inclusion_proof_fails_when_tampered(void **state)
{
    node root, bad, path[MT_MERKLE_MAX_INCLUSION + 1];
    size_t len;
    (void)state;

    for (uint64_t n = 1; n <= 70; n++) {
        mt_merkle_root(pool, n, root);
        for (uint64_t i = 0; i < n; i++) {
            const unsigned char *leaf = pool[i];

            assert_int_equal(mt_merkle_inclusion_proof(pool, n, i, path, &len), 0);

            memcpy(bad, leaf, 32);
            bad[31] ^= 1;
            assert_int_equal(mt_merkle_verify_inclusion(bad, i, n, path, len, root), -1);
            assert_int_equal(mt_merkle_verify_inclusion(pool[(i + 1) % POOL], i, n, path, len,
                                                        root), -1);

            const uint64_t idx[] = { i - 1, i + 1, i ^ 1, i ^ 2, n, UINT64_MAX };
            for (size_t k = 0; k < sizeof(idx) / sizeof(idx[0]); k++)
                if (idx[k] != i)
                    assert_int_equal(mt_merkle_verify_inclusion(leaf, idx[k], n, path, len, root),
                                     -1);

            const uint64_t sizes[] = { 0, n - 1, n + 1, n / 2, 2 * n, UINT64_MAX };
            for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                int want = same_inclusion_shape(i, n, sizes[k]) ? 0 : -1;
                assert_int_equal(mt_merkle_verify_inclusion(leaf, i, sizes[k], path, len, root),
                                 want);
            }

            memcpy(bad, root, 32);
            bad[0] ^= 0x80;
            assert_int_equal(mt_merkle_verify_inclusion(leaf, i, n, path, len, bad), -1);

            for (size_t j = 0; j < len; j++) {
                path[j][j % 32] ^= 8;
                assert_int_equal(mt_merkle_verify_inclusion(leaf, i, n, path, len, root), -1);
                path[j][j % 32] ^= 8;
            }
            if (len > 0)
                assert_int_equal(mt_merkle_verify_inclusion(leaf, i, n, path, len - 1, root), -1);
            memcpy(path[len], root, 32);
            assert_int_equal(mt_merkle_verify_inclusion(leaf, i, n, path, len + 1, root), -1);
            assert_int_equal(mt_merkle_verify_inclusion(leaf, i, n, path, len, root), 0);
        }
    }
}

/* Leaf 0's proof in a 3-leaf tree also verifies as a 4-leaf tree under the same root: proofs
 * bind the path's shape, so the size must come from a signed tree head. */
static void test_inclusion_proof_does_not_bind_size_alone(void **state)
{
    node root, path[MT_MERKLE_MAX_INCLUSION];
    size_t len;
    (void)state;

    mt_merkle_root(pool, 3, root);
    assert_int_equal(mt_merkle_inclusion_proof(pool, 3, 0, path, &len), 0);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 4, path, len, root), 0);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 5, path, len, root), -1);
}

/* Inclusion proof generation refuses an index outside the tree and NULL arguments. */
static void test_inclusion_proof_rejects_bad_arguments(void **state)
{
    node path[MT_MERKLE_MAX_INCLUSION];
    size_t len = 99;
    (void)state;

    assert_int_equal(mt_merkle_inclusion_proof(pool, 5, 5, path, &len), -1);
    assert_int_equal(len, 0);
    len = 99;
    assert_int_equal(mt_merkle_inclusion_proof(pool, 0, 0, path, &len), -1);
    assert_int_equal(len, 0);
    assert_int_equal(mt_merkle_inclusion_proof(NULL, 5, 0, path, &len), -1);
    assert_int_equal(mt_merkle_inclusion_proof(pool, 5, 0, NULL, &len), -1);
    assert_int_equal(mt_merkle_inclusion_proof(pool, 5, 0, path, NULL), -1);
}

/* A one-leaf tree's proof is empty and its root is the leaf hash; NULL arguments fail. */
static void test_inclusion_single_leaf_tree(void **state)
{
    node root, path[MT_MERKLE_MAX_INCLUSION];
    size_t len = 99;
    (void)state;

    mt_merkle_root(pool, 1, root);
    assert_memory_equal(root, pool[0], 32);
    assert_int_equal(mt_merkle_inclusion_proof(pool, 1, 0, path, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 1, NULL, 0, root), 0);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 0, NULL, 0, root), -1);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 1, NULL, 1, root), -1);
    assert_int_equal(mt_merkle_verify_inclusion(NULL, 0, 1, NULL, 0, root), -1);
    assert_int_equal(mt_merkle_verify_inclusion(pool[0], 0, 1, NULL, 0, NULL), -1);
}

/* ---- consistency ---- */

/* For all 1 <= m <= n <= 40 the proof is the reference PROOF(m, D[n]) and verifies. */
static void test_consistency_proofs_verify_for_all_sizes(void **state)
{
    node roots[41], path[MT_MERKLE_MAX_CONSISTENCY], ref[MT_MERKLE_MAX_CONSISTENCY];
    char dirs[MT_MERKLE_MAX_CONSISTENCY];
    size_t len, ref_len;
    (void)state;

    for (uint64_t n = 0; n <= 40; n++)
        mt_merkle_root(pool, n, roots[n]);
    for (uint64_t n = 1; n <= 40; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            assert_int_equal(mt_merkle_consistency_proof(pool, n, m, path, &len), 0);
            ref_len = 0;
            if (m < n)
                ref_subproof(m, pool, n, 1, ref, dirs, &ref_len);
            assert_int_equal(len, ref_len);
            if (len > 0)
                assert_memory_equal(path, ref, len * 32);
            assert_int_equal(mt_merkle_verify_consistency(m, n, roots[m], roots[n], path, len), 0);
        }
    }
}

/* A consistency proof fails with a changed root, swapped roots, any flipped path bit, a path
 * one hash short or long or empty; changed sizes fail unless the proof has the same shape. */
static void test_consistency_proof_fails_when_tampered(void **state)
{
    node roots[41], bad, path[MT_MERKLE_MAX_CONSISTENCY + 1];
    size_t len;
    (void)state;

    for (uint64_t n = 0; n <= 40; n++)
        mt_merkle_root(pool, n, roots[n]);
    for (uint64_t n = 1; n <= 40; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            const unsigned char *r1 = roots[m], *r2 = roots[n];

            assert_int_equal(mt_merkle_consistency_proof(pool, n, m, path, &len), 0);

            memcpy(bad, r1, 32);
            bad[7] ^= 2;
            assert_int_equal(mt_merkle_verify_consistency(m, n, bad, r2, path, len), -1);
            memcpy(bad, r2, 32);
            bad[7] ^= 2;
            assert_int_equal(mt_merkle_verify_consistency(m, n, r1, bad, path, len), -1);
            if (m < n)
                assert_int_equal(mt_merkle_verify_consistency(m, n, r2, r1, path, len), -1);

            const uint64_t s1[] = { 0, m - 1, m + 1, m ^ 2, n, n + 1 };
            for (size_t k = 0; k < sizeof(s1) / sizeof(s1[0]); k++) {
                if (s1[k] == m)
                    continue;
                int want = same_consistency_shape(m, n, s1[k], n) ? 0 : -1;
                assert_int_equal(mt_merkle_verify_consistency(s1[k], n, r1, r2, path, len), want);
            }
            const uint64_t s2[] = { 0, m, n - 1, n + 1, n / 2, 2 * n, UINT64_MAX };
            for (size_t k = 0; k < sizeof(s2) / sizeof(s2[0]); k++) {
                if (s2[k] == n)
                    continue;
                int want = same_consistency_shape(m, n, m, s2[k]) ? 0 : -1;
                assert_int_equal(mt_merkle_verify_consistency(m, s2[k], r1, r2, path, len), want);
            }

            for (size_t j = 0; j < len; j++) {
                path[j][31 - j % 32] ^= 16;
                assert_int_equal(mt_merkle_verify_consistency(m, n, r1, r2, path, len), -1);
                path[j][31 - j % 32] ^= 16;
            }
            if (len > 0) {
                assert_int_equal(mt_merkle_verify_consistency(m, n, r1, r2, path, len - 1), -1);
                assert_int_equal(mt_merkle_verify_consistency(m, n, r1, r2, NULL, 0), -1);
            }
            memcpy(path[len], r2, 32);
            assert_int_equal(mt_merkle_verify_consistency(m, n, r1, r2, path, len + 1), -1);
            assert_int_equal(mt_merkle_verify_consistency(m, n, r1, r2, path, len), 0);
        }
    }
}

/* A history with one old leaf rewritten is not consistent with the original old root, whichever
 * tree the proof comes from. */
static void test_consistency_fails_for_rewritten_history(void **state)
{
    node forged[40], a_roots[41], b_root1, b_root2, path[MT_MERKLE_MAX_CONSISTENCY];
    size_t len;
    (void)state;

    for (uint64_t m = 0; m <= 40; m++)
        mt_merkle_root(pool, m, a_roots[m]);
    for (uint64_t n = 2; n <= 40; n++) {
        for (uint64_t m = 1; m < n; m++) {
            const uint64_t rewritten[] = { 0, m / 2, m - 1 };
            for (size_t k = 0; k < 3; k++) {
                memcpy(forged, pool, n * 32);
                forged[rewritten[k]][0] ^= 1;
                mt_merkle_root(forged, m, b_root1);
                mt_merkle_root(forged, n, b_root2);

                /* the forger's own proof against the old root the auditor kept */
                assert_int_equal(mt_merkle_consistency_proof(forged, n, m, path, &len), 0);
                assert_int_equal(mt_merkle_verify_consistency(m, n, b_root1, b_root2, path, len),
                                 0);
                assert_int_equal(mt_merkle_verify_consistency(m, n, a_roots[m], b_root2, path,
                                                              len), -1);
                /* the honest proof against the forged new root */
                assert_int_equal(mt_merkle_consistency_proof(pool, n, m, path, &len), 0);
                assert_int_equal(mt_merkle_verify_consistency(m, n, a_roots[m], b_root2, path,
                                                              len), -1);
            }
        }
    }
}

/* The sizes RFC 9162 leaves out: old > new fails; equal sizes need equal roots and no path;
 * size 0 needs the empty root and no path. */
static void test_consistency_edge_sizes(void **state)
{
    node empty, r3, r5, path[MT_MERKLE_MAX_CONSISTENCY];
    size_t len = 99;
    (void)state;

    mt_merkle_root(NULL, 0, empty);
    mt_merkle_root(pool, 3, r3);
    mt_merkle_root(pool, 5, r5);
    memcpy(path[0], r3, 32);

    assert_int_equal(mt_merkle_verify_consistency(5, 3, r5, r3, NULL, 0), -1);
    assert_int_equal(mt_merkle_verify_consistency(3, 3, r3, r3, NULL, 0), 0);
    assert_int_equal(mt_merkle_verify_consistency(3, 3, r3, r5, NULL, 0), -1);
    assert_int_equal(mt_merkle_verify_consistency(3, 3, r3, r3, path, 1), -1);
    assert_int_equal(mt_merkle_verify_consistency(0, 5, empty, r5, NULL, 0), 0);
    assert_int_equal(mt_merkle_verify_consistency(0, 5, r3, r5, NULL, 0), -1);
    assert_int_equal(mt_merkle_verify_consistency(0, 5, empty, r5, path, 1), -1);
    assert_int_equal(mt_merkle_verify_consistency(0, 0, empty, empty, NULL, 0), 0);
    assert_int_equal(mt_merkle_verify_consistency(0, 0, empty, r3, NULL, 0), -1);
    assert_int_equal(mt_merkle_verify_consistency(3, 5, r3, r5, NULL, 0), -1);
    assert_int_equal(mt_merkle_verify_consistency(3, 5, NULL, r5, path, 1), -1);
    assert_int_equal(mt_merkle_verify_consistency(3, 5, r3, NULL, path, 1), -1);

    assert_int_equal(mt_merkle_consistency_proof(pool, 5, 0, path, &len), 0);
    assert_int_equal(len, 0);
}

/* Consistency proof generation refuses an old size beyond the new one and NULL arguments. */
static void test_consistency_proof_rejects_bad_arguments(void **state)
{
    node path[MT_MERKLE_MAX_CONSISTENCY];
    size_t len = 99;
    (void)state;

    assert_int_equal(mt_merkle_consistency_proof(pool, 5, 6, path, &len), -1);
    assert_int_equal(len, 0);
    assert_int_equal(mt_merkle_consistency_proof(NULL, 5, 2, path, &len), -1);
    assert_int_equal(mt_merkle_consistency_proof(pool, 5, 2, NULL, &len), -1);
    assert_int_equal(mt_merkle_consistency_proof(pool, 5, 2, path, NULL), -1);
}

/* The longest proofs of a tree of 2^64 - 1 leaves fit the documented bounds exactly. */
static void test_proof_length_bounds(void **state)
{
    char dirs[MT_MERKLE_MAX_CONSISTENCY + 1];
    size_t len = 0;
    (void)state;

    ref_path(0, NULL, UINT64_MAX, NULL, dirs, &len);
    assert_int_equal(len, MT_MERKLE_MAX_INCLUSION);
    len = 0;
    ref_subproof(3, NULL, UINT64_MAX, 1, NULL, dirs, &len);
    assert_int_equal(len, MT_MERKLE_MAX_CONSISTENCY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_root_is_sha256_of_nothing),
        cmocka_unit_test(test_reference_tree_roots),
        cmocka_unit_test(test_reference_tree_inclusion_proofs),
        cmocka_unit_test(test_reference_tree_consistency_proofs),
        cmocka_unit_test(test_frontier_root_equals_array_root),
        cmocka_unit_test(test_frontier_snapshot_restore_by_value),
        cmocka_unit_test(test_frontier_append_fails_when_full),
        cmocka_unit_test(test_inclusion_proofs_verify_for_every_index),
        cmocka_unit_test(test_inclusion_proof_fails_when_tampered),
        cmocka_unit_test(test_inclusion_proof_does_not_bind_size_alone),
        cmocka_unit_test(test_inclusion_proof_rejects_bad_arguments),
        cmocka_unit_test(test_inclusion_single_leaf_tree),
        cmocka_unit_test(test_consistency_proofs_verify_for_all_sizes),
        cmocka_unit_test(test_consistency_proof_fails_when_tampered),
        cmocka_unit_test(test_consistency_fails_for_rewritten_history),
        cmocka_unit_test(test_consistency_edge_sizes),
        cmocka_unit_test(test_consistency_proof_rejects_bad_arguments),
        cmocka_unit_test(test_proof_length_bounds),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
