/* test_store.c - the on-disk key-value table (store.h): put/get/del, growth, collisions, a model check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "store.h"

static mt_store *open_store(void) {
    char err[256];
    mt_store *s = mt_store_open(NULL, err, sizeof(err));
    if (!s) fail_msg("%s", err);
    return s;
}

/* key's value must be exactly want (wlen bytes). */
static void expect(mt_store *s, const void *key, size_t klen, const void *want, size_t wlen) {
    void *v = NULL;
    size_t vlen = 0;
    assert_int_equal(mt_store_get(s, key, klen, &v, &vlen), 1);
    assert_int_equal(vlen, wlen);
    if (wlen) assert_memory_equal(v, want, wlen);
    free(v);
}

static void test_put_get_del_replace(void **state) {
    (void)state;
    mt_store *s = open_store();
    assert_int_equal(mt_store_count(s), 0);
    assert_int_equal(mt_store_get(s, "a", 1, NULL, NULL), 0);
    assert_int_equal(mt_store_put(s, "a", 1, "one", 3), 0);
    assert_int_equal(mt_store_put(s, "b", 1, "two", 3), 0);
    assert_int_equal(mt_store_count(s), 2);
    expect(s, "a", 1, "one", 3);
    expect(s, "b", 1, "two", 3);
    uint64_t disk = mt_store_disk_bytes(s);
    assert_int_equal(mt_store_put(s, "a", 1, "uno!", 4), 0); /* replaced: appended */
    assert_true(mt_store_disk_bytes(s) > disk);
    assert_int_equal(mt_store_count(s), 2);
    expect(s, "a", 1, "uno!", 4);
    assert_int_equal(mt_store_del(s, "a", 1), 1);
    assert_int_equal(mt_store_del(s, "a", 1), 0);
    assert_int_equal(mt_store_get(s, "a", 1, NULL, NULL), 0);
    assert_int_equal(mt_store_count(s), 1);
    assert_int_equal(mt_store_put(s, "a", 1, "", 0), 0); /* back, empty */
    expect(s, "a", 1, "", 0);
    assert_int_equal(mt_store_put(s, "", 0, "empty key", 9), 0);
    expect(s, "", 0, "empty key", 9);
    assert_int_equal(mt_store_count(s), 3);
    unsigned char big[5000]; /* longer than what a lookup reads with the key */
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (unsigned char)(i * 7);
    assert_int_equal(mt_store_put(s, "big", 3, big, sizeof(big)), 0);
    expect(s, "big", 3, big, sizeof(big));
    mt_store_close(s);
    mt_store_close(NULL);
}

static void test_membership_only(void **state) {
    (void)state;
    mt_store *s = open_store();
    assert_int_equal(mt_store_put(s, "k", 1, "value", 5), 0);
    size_t vlen = 0;
    assert_int_equal(mt_store_get(s, "k", 1, NULL, &vlen), 1);
    assert_int_equal(vlen, 5);
    assert_int_equal(mt_store_get(s, "k", 1, NULL, NULL), 1);
    assert_int_equal(mt_store_get(s, "K", 1, NULL, NULL), 0);
    mt_store_close(s);
}

static void test_bad_dir(void **state) {
    (void)state;
    char err[256] = "";
    assert_null(mt_store_open("/nonexistent/mintrace/dir", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/mintrace/dir"));
}

static void test_binary_keys(void **state) {
    (void)state;
    mt_store *s = open_store();
    unsigned char k1[] = {0, 0, 0}, k2[] = {0, 0}, k3[] = {0, 1, 0}, v[] = {0, 0xff, 0};
    assert_int_equal(mt_store_put(s, k1, sizeof(k1), v, sizeof(v)), 0);
    assert_int_equal(mt_store_put(s, k2, sizeof(k2), "2", 1), 0);
    assert_int_equal(mt_store_put(s, k3, sizeof(k3), "3", 1), 0);
    expect(s, k1, sizeof(k1), v, sizeof(v));
    expect(s, k2, sizeof(k2), "2", 1);
    expect(s, k3, sizeof(k3), "3", 1);
    assert_int_equal(mt_store_get(s, k1, 1, NULL, NULL), 0);
    /* a key longer than the comparison buffer, differing only at its end */
    unsigned char big[1000] = {0}, big2[1000] = {0};
    big2[999] = 1;
    assert_int_equal(mt_store_put(s, big, sizeof(big), "big", 3), 0);
    assert_int_equal(mt_store_get(s, big2, sizeof(big2), NULL, NULL), 0);
    assert_int_equal(mt_store_put(s, big2, sizeof(big2), "big2", 4), 0);
    expect(s, big, sizeof(big), "big", 3);
    expect(s, big2, sizeof(big2), "big2", 4);
    mt_store_close(s);
}

/* Keys that share hashes (3 bits: 8 distinct) and so home slots: the full key decides. */
static void test_colliding_keys(void **state) {
    (void)state;
    mt_store *s = open_store();
    mt_store_test_hash_bits(s, 3);
    char k[32], v[32];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof(k), "key-%d", i), m = snprintf(v, sizeof(v), "value-%d", i);
        assert_int_equal(mt_store_put(s, k, (size_t)n, v, (size_t)m), 0);
    }
    for (int i = 0; i < 300; i += 2) {
        int n = snprintf(k, sizeof(k), "key-%d", i);
        assert_int_equal(mt_store_del(s, k, (size_t)n), 1);
    }
    assert_int_equal(mt_store_count(s), 150);
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof(k), "key-%d", i), m = snprintf(v, sizeof(v), "value-%d", i);
        if (i % 2)
            expect(s, k, (size_t)n, v, (size_t)m);
        else
            assert_int_equal(mt_store_get(s, k, (size_t)n, NULL, NULL), 0);
    }
    for (int i = 0; i < 300; i += 2) { /* back into the graves */
        int n = snprintf(k, sizeof(k), "key-%d", i), m = snprintf(v, sizeof(v), "again-%d", i);
        assert_int_equal(mt_store_put(s, k, (size_t)n, v, (size_t)m), 0);
        expect(s, k, (size_t)n, v, (size_t)m);
    }
    assert_int_equal(mt_store_count(s), 300);
    mt_store_close(s);
}

/* 200,000 keys: the index doubles a dozen times; every key is still found, and the disk holds them. */
static void test_many_keys(void **state) {
    (void)state;
    mt_store *s = open_store();
    enum { N = 200000 };
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = i * 2654435761u;
        assert_int_equal(mt_store_put(s, &i, sizeof(i), &v, sizeof(v)), 0);
    }
    assert_int_equal(mt_store_count(s), N);
    assert_true(mt_store_disk_bytes(s) >= (uint64_t)N * (8 + 4 + 4));
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = i * 2654435761u;
        expect(s, &i, sizeof(i), &v, sizeof(v));
    }
    for (uint32_t i = N; i < N + 1000; i++) assert_int_equal(mt_store_get(s, &i, sizeof(i), NULL, NULL), 0);
    mt_store_close(s);
}

/* ---- random operations against mt_map as the model ---- */

typedef struct blob {
    size_t len;
    unsigned char b[];
} blob;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void) { /* xorshift64: the same sequence every run */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct check_q {
    mt_store *s;
    size_t n;
} check_q;

static void check_one(void *arg, const void *key, size_t klen, void *value) {
    check_q *q = arg;
    const blob *b = value;
    expect(q->s, key, klen, b->b, b->len);
    q->n++;
}

static void test_random_against_map(void **state) {
    (void)state;
    mt_store *s = open_store();
    mt_map *m = mt_map_new();
    assert_non_null(m);
    for (int op = 0; op < 50000; op++) {
        unsigned char key[6] = {0};
        size_t klen = 1 + next() % 5;
        for (size_t i = 0; i < klen; i++) key[i] = (unsigned char)(next() % 4); /* few keys, many zeros */
        uint64_t what = next() % 10;
        if (what < 5) {
            size_t vlen = next() % 600;
            blob *b = malloc(sizeof(*b) + vlen + 1);
            assert_non_null(b);
            b->len = vlen;
            for (size_t i = 0; i < vlen; i++) b->b[i] = (unsigned char)next();
            assert_int_equal(mt_store_put(s, key, klen, b->b, b->len), 0);
            free(mt_map_put(m, key, klen, b));
        } else if (what < 8) {
            blob *b = mt_map_get(m, key, klen);
            if (b)
                expect(s, key, klen, b->b, b->len);
            else
                assert_int_equal(mt_store_get(s, key, klen, NULL, NULL), 0);
        } else {
            blob *b = mt_map_remove(m, key, klen);
            assert_int_equal(mt_store_del(s, key, klen), b ? 1 : 0);
            free(b);
        }
        assert_int_equal(mt_store_count(s), mt_map_count(m));
    }
    check_q q = {s, 0};
    mt_map_foreach(m, check_one, &q);
    assert_int_equal(q.n, mt_store_count(s));
    mt_map_free(m, free);
    mt_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del_replace),
        cmocka_unit_test(test_membership_only),
        cmocka_unit_test(test_bad_dir),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_colliding_keys),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_random_against_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
