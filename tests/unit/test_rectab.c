/* test_rectab.c - fixed-size records (rectab.h): the same reads and writes on disk (across the
 * write buffer and the file) as in memory, nothing left in the directory, the figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "rectab.h"

typedef struct rec {
    uint64_t n;
    unsigned char fill[89]; /* 97 bytes: an odd size, like the auditor's entry records */
} rec;

static rec make(uint64_t n) {
    rec r;
    memset(&r, 0, sizeof(r));
    r.n = n;
    for (size_t i = 0; i < sizeof(r.fill); i++) r.fill[i] = (unsigned char)(n * 31 + i);
    return r;
}

static int dir_entries(const char *d) {
    DIR *dp = opendir(d);
    struct dirent *de;
    int n = 0;
    assert_non_null(dp);
    while ((de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(dp);
    return n;
}

/* 10,000 records (15 write buffers): every one reads back, wherever it is; overwrites land. */
static void run(int in_memory) {
    char d[] = "/tmp/test_rectab.XXXXXX", err[256];
    assert_non_null(mkdtemp(d));
    mt_rectab *t = mt_rectab_open(d, sizeof(rec), in_memory, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(dir_entries(d), 0); /* unlinked at once */
    assert_int_equal(mt_rectab_on_disk(t), !in_memory);
    const uint64_t n = 10000;
    for (uint64_t i = 0; i < n; i++) {
        rec r = make(i);
        assert_int_equal(mt_rectab_append(t, &r), 0);
        if (i % 997 == 0) { /* read an early one while appending */
            rec g;
            assert_int_equal(mt_rectab_get(t, i / 2, &g), 0);
            rec want = make(i / 2);
            assert_memory_equal(&g, &want, sizeof(g));
        }
    }
    assert_int_equal(mt_rectab_count(t), n);
    if (!in_memory) {
        assert_true(mt_rectab_disk_bytes(t) > 0 && mt_rectab_disk_bytes(t) <= n * sizeof(rec));
        assert_true(mt_rectab_ram_bytes(t) < 70 * 1024);
    } else {
        assert_int_equal(mt_rectab_disk_bytes(t), 0);
        assert_true(mt_rectab_ram_bytes(t) >= n * sizeof(rec));
    }
    /* overwrite one in the file and the last (in the buffer) */
    rec x = make(123456), y = make(654321), g;
    assert_int_equal(mt_rectab_set(t, 5, &x), 0);
    assert_int_equal(mt_rectab_set(t, n - 1, &y), 0);
    assert_int_equal(mt_rectab_flush(t), 0);
    assert_int_equal(mt_rectab_disk_bytes(t), in_memory ? 0 : n * sizeof(rec));
    for (uint64_t i = 0; i < n; i++) {
        rec want = i == 5 ? x : i == n - 1 ? y : make(i);
        assert_int_equal(mt_rectab_get(t, i, &g), 0);
        assert_memory_equal(&g, &want, sizeof(g));
    }
    assert_int_equal(mt_rectab_get(t, n, &g), -1);
    assert_int_equal(mt_rectab_set(t, n, &g), -1);
    mt_rectab_close(t);
    assert_int_equal(rmdir(d), 0);
}

static void test_on_disk(void **state) {
    (void)state;
    run(0);
}

static void test_in_memory(void **state) {
    (void)state;
    run(1);
}

/* Byte blobs (1-byte records) read back across the buffer and the file. */
static void test_blobs(void **state) {
    (void)state;
    for (int in_memory = 0; in_memory <= 1; in_memory++) {
        char err[256];
        mt_rectab *t = mt_rectab_open(NULL, 1, in_memory, err, sizeof(err));
        assert_non_null(t);
        unsigned char b[300];
        uint64_t offs[1000];
        for (int k = 0; k < 1000; k++) { /* 300 kB: the first blobs end up in the file */
            memset(b, k & 0xff, sizeof(b));
            b[0] = (unsigned char)(k >> 8);
            offs[k] = mt_rectab_count(t);
            assert_int_equal(mt_rectab_append_many(t, b, 100 + (uint64_t)(k % 200)), 0);
        }
        for (int k = 0; k < 1000; k++) {
            unsigned char g[300];
            size_t len = 100 + (size_t)(k % 200);
            assert_int_equal(mt_rectab_get_many(t, offs[k], len, g), 0);
            assert_int_equal(g[0], (unsigned char)(k >> 8));
            for (size_t i = 1; i < len; i++) assert_int_equal(g[i], k & 0xff);
        }
        unsigned char g[4];
        assert_int_equal(mt_rectab_get_many(t, mt_rectab_count(t) - 2, 4, g), -1);
        mt_rectab_close(t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_disk),
        cmocka_unit_test(test_in_memory),
        cmocka_unit_test(test_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
