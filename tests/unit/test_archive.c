/* test_archive.c - archive files (archive.h): what is written is read back record for record;
 * a file altered, cut or extended is refused before any record is handed out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive.h"

typedef struct seen {
    int n;
    char topics[8][64];
    int32_t partition[8];
    int64_t offset[8];
    size_t len[8];
    uint8_t first[8];
} seen;

static int on_record(void *arg, const char *topic, int32_t partition, int64_t offset, const uint8_t *b, size_t len) {
    seen *s = arg;
    if (s->n < 8) {
        snprintf(s->topics[s->n], sizeof(s->topics[0]), "%s", topic);
        s->partition[s->n] = partition;
        s->offset[s->n] = offset;
        s->len[s->n] = len;
        s->first[s->n] = len ? b[0] : 0;
    }
    s->n++;
    return 0;
}

static int only_ledger(void *arg, const char *topic) {
    (void)arg;
    return strstr(topic, "ledger") != NULL;
}

/* A file of three records in a fresh temporary path; returns its path (free()). */
static char *write_three(void) {
    char *path = strdup("/tmp/mt-test-archive-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* mt_archive_create refuses an existing file */
    mt_archive_writer w;
    char err[256];
    uint8_t big[5000];
    memset(big, 0xab, sizeof(big));
    assert_int_equal(mt_archive_create(&w, path, err, sizeof(err)), 0);
    assert_int_equal(mt_archive_add(&w, "mt.checkpoints", 0, 7, "\x01\x02", 2), 0);
    assert_int_equal(mt_archive_add(&w, "mt.ledger", 0, 123456789012LL, big, sizeof(big)), 0);
    assert_int_equal(mt_archive_add(&w, "mt.receipts.IN-MINE", 2, 0, "", 0), 0);
    assert_int_equal(mt_archive_close(&w, err, sizeof(err)), 0);
    return path;
}

static long file_size(const char *path) {
    FILE *fp = fopen(path, "rb");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fclose(fp);
    return n;
}

/* Every record comes back with its topic, partition, offset and bytes; a filter selects. */
static void test_round_trip(void **state) {
    (void)state;
    char *path = write_three(), err[256];
    seen s = {0};
    assert_int_equal(mt_archive_read(path, NULL, on_record, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.topics[1], "mt.ledger");
    assert_int_equal(s.offset[1], 123456789012LL);
    assert_int_equal(s.len[1], 5000);
    assert_int_equal(s.first[1], 0xab);
    assert_int_equal(s.partition[2], 2);
    assert_int_equal(s.len[2], 0);
    seen l = {0};
    assert_int_equal(mt_archive_read(path, only_ledger, on_record, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.topics[0], "mt.ledger");
    /* never overwritten */
    mt_archive_writer w;
    assert_int_equal(mt_archive_create(&w, path, err, sizeof(err)), -1);
    unlink(path);
    free(path);
}

/* One byte changed anywhere: refused, and no record was handed out. */
static void test_altered_refused(void **state) {
    (void)state;
    char *path = write_three(), err[256];
    long size = file_size(path);
    long at[] = {30, 100, size - 40, size - 1};
    for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
        FILE *fp = fopen(path, "r+b");
        fseek(fp, at[k], SEEK_SET);
        int c = fgetc(fp);
        fseek(fp, at[k], SEEK_SET);
        fputc(c ^ 0x04, fp);
        fclose(fp);
        seen s = {0};
        assert_int_equal(mt_archive_read(path, NULL, on_record, &s, err, sizeof(err)), -1);
        assert_int_equal(s.n, 0);
        fp = fopen(path, "r+b"); /* put it back */
        fseek(fp, at[k], SEEK_SET);
        fputc(c, fp);
        fclose(fp);
    }
    seen s = {0};
    assert_int_equal(mt_archive_read(path, NULL, on_record, &s, err, sizeof(err)), 0);
    unlink(path);
    free(path);
}

/* Cut short or with bytes appended: refused with a reason. */
static void test_cut_or_extended_refused(void **state) {
    (void)state;
    char *path = write_three(), err[256] = "";
    long size = file_size(path);
    assert_int_equal(truncate(path, size - 10), 0);
    seen s = {0};
    assert_int_equal(mt_archive_read(path, NULL, on_record, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(s.n, 0);
    unlink(path);
    free(path);
    path = write_three();
    FILE *fp = fopen(path, "ab");
    fputs("more", fp);
    fclose(fp);
    assert_int_equal(mt_archive_read(path, NULL, on_record, &s, err, sizeof(err)), -1);
    assert_int_equal(s.n, 0);
    assert_int_equal(mt_archive_read("/nonexistent/x.arc", NULL, on_record, &s, err, sizeof(err)), -1);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_altered_refused),
        cmocka_unit_test(test_cut_or_extended_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
