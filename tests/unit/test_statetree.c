/* test_statetree.c - the provenance state tree (statetree.h) against merkle.h's array functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "merkle.h"
#include "statetree.h"

typedef unsigned char node[32];

static void leaf_of(uint64_t i, uint64_t version, node out) {
    uint64_t v[2] = {i, version};
    mt_sha256(v, sizeof(v), out);
}

static mt_state_tree *new_tree(void) {
    char err[256];
    mt_state_tree *t = mt_state_tree_new(NULL, err, sizeof(err));
    assert_non_null(t);
    return t;
}

/* The tree's root, and every leaf's proof, agree with the array functions over the same leaves. */
static void check_against_array(mt_state_tree *t, node *leaves, uint64_t n, int all_proofs) {
    node want, got;
    assert_int_equal(mt_state_tree_size(t), n);
    mt_merkle_root((const node *)leaves, n, want);
    assert_int_equal(mt_state_tree_root(t, got), 0);
    assert_memory_equal(got, want, 32);
    for (uint64_t i = 0; i < n; i += all_proofs ? 1 : 1 + n / 7) {
        node path[MT_MERKLE_MAX_INCLUSION], ref[MT_MERKLE_MAX_INCLUSION];
        size_t len = 0, ref_len = 0;
        assert_int_equal(mt_state_tree_proof(t, i, path, &len), 0);
        assert_int_equal(mt_merkle_inclusion_proof((const node *)leaves, n, i, ref, &ref_len), 0);
        assert_int_equal(len, ref_len);
        assert_memory_equal(path, ref, len * 32);
        assert_int_equal(mt_merkle_verify_inclusion(leaves[i], i, n, (const node *)path, len, want), 0);
    }
}

static void test_empty_and_small(void **state) {
    (void)state;
    mt_state_tree *t = new_tree();
    node leaves[40];
    check_against_array(t, leaves, 0, 1);
    node path[MT_MERKLE_MAX_INCLUSION];
    size_t len;
    assert_int_equal(mt_state_tree_proof(t, 0, path, &len), -1); /* no such leaf */
    for (uint64_t n = 1; n <= 40; n++) {
        leaf_of(n - 1, 0, leaves[n - 1]);
        assert_int_equal(mt_state_tree_set(t, n - 1, leaves[n - 1]), 0);
        check_against_array(t, leaves, n, 1);
    }
    mt_state_tree_free(t);
}

/* Leaves change in any order, several times between roots, and the last value set wins. */
static void test_changes_in_any_order(void **state) {
    (void)state;
    enum { N = 3000 };
    node *leaves = calloc(N, sizeof(node));
    assert_non_null(leaves);
    mt_state_tree *t = new_tree();
    srand(7);
    uint64_t n = 0;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 50 && n < N; k++, n++) { /* batches made */
            leaf_of(n, 0, leaves[n]);
            assert_int_equal(mt_state_tree_set(t, n, leaves[n]), 0);
        }
        for (int k = 0; k < 120; k++) { /* batches changed, old and new */
            uint64_t i = (uint64_t)rand() % n;
            leaf_of(i, (uint64_t)round * 1000 + (uint64_t)k, leaves[i]);
            assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
        }
        check_against_array(t, leaves, n, round == 3);
    }
    mt_state_tree_free(t);
    free(leaves);
}

/* An aborted transaction: leaves past the old size forgotten, changed leaves set back; the
 * positions are made again with other leaves. */
static void test_truncate_and_regrow(void **state) {
    (void)state;
    enum { N = 700 };
    node leaves[N];
    mt_state_tree *t = new_tree();
    for (uint64_t i = 0; i < 500; i++) {
        leaf_of(i, 0, leaves[i]);
        assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
    }
    node root;
    assert_int_equal(mt_state_tree_root(t, root), 0);
    /* the transaction: 200 new batches, 3 old ones changed; a root taken inside it */
    node changed;
    for (uint64_t i = 500; i < 700; i++) {
        leaf_of(i, 1, changed);
        assert_int_equal(mt_state_tree_set(t, i, changed), 0);
    }
    for (uint64_t i = 10; i < 13; i++) {
        leaf_of(i, 1, changed);
        assert_int_equal(mt_state_tree_set(t, i, changed), 0);
    }
    assert_int_equal(mt_state_tree_root(t, changed), 0);
    /* abort */
    mt_state_tree_truncate(t, 500);
    for (uint64_t i = 10; i < 13; i++) assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
    node again;
    assert_int_equal(mt_state_tree_root(t, again), 0);
    assert_memory_equal(again, root, 32);
    /* made again, differently */
    for (uint64_t i = 500; i < 700; i++) {
        leaf_of(i, 2, leaves[i]);
        assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
    }
    check_against_array(t, leaves, N, 1);
    mt_state_tree_free(t);
}

/* More leaves set between two roots than the tree keeps in memory: they are written out on the way. */
static void test_many_leaves(void **state) {
    (void)state;
    enum { N = 70000 };
    node *leaves = calloc(N, sizeof(node));
    assert_non_null(leaves);
    mt_state_tree *t = new_tree();
    for (uint64_t i = 0; i < N; i++) {
        leaf_of(i, 0, leaves[i]);
        assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
    }
    for (uint64_t i = 0; i < N; i += 3) {
        leaf_of(i, 1, leaves[i]);
        assert_int_equal(mt_state_tree_set(t, i, leaves[i]), 0);
    }
    check_against_array(t, leaves, N, 0);
    mt_state_tree_free(t);
    free(leaves);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_small),
        cmocka_unit_test(test_changes_in_any_order),
        cmocka_unit_test(test_truncate_and_regrow),
        cmocka_unit_test(test_many_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
