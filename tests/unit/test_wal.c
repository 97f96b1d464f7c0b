/* test_wal.c - the producer's write-ahead file: records survive reopening, torn or corrupt tails
 * are dropped, acknowledgements empty it and keep the chain head (wal.h). */
#include "fixtures.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"

#define KEY_ID "00112233445566778899aabbccddeeff"

/* ---- fixture: a fresh temporary directory ---- */

struct waldir {
    char dir[64];
    char wal[128];   /* dir/KEY_ID.wal */
    char acked[128]; /* dir/KEY_ID.acked */
    mt_wal *w;       /* open in dir, or NULL */
    char err[512];
};

static int setup(void **state)
{
    struct waldir *d = calloc(1, sizeof(*d));
    if (!d) return -1;
    snprintf(d->dir, sizeof(d->dir), "/tmp/mt-test-wal-XXXXXX");
    if (!mkdtemp(d->dir)) return -1;
    snprintf(d->wal, sizeof(d->wal), "%s/%s.wal", d->dir, KEY_ID);
    snprintf(d->acked, sizeof(d->acked), "%s/%s.acked", d->dir, KEY_ID);
    d->w = mt_wal_open(d->dir, KEY_ID, d->err, sizeof(d->err));
    if (!d->w) return -1;
    *state = d;
    return 0;
}

/* Removes every file of dir (one level: the WAL makes no subdirectories but "sub"), then dir. */
static void rm_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    char path[512];
    if (!dp) return;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_type == DT_DIR)
            rm_tree(path);
        else
            unlink(path);
    }
    closedir(dp);
    rmdir(dir);
}

static int teardown(void **state)
{
    struct waldir *d = *state;
    mt_wal_close(d->w);
    rm_tree(d->dir);
    free(d);
    return 0;
}

/* ---- helpers ---- */

/* The event id and envelope of record seq: id all (seq), envelope "envelope <seq>" plus padding. */
static void rec_content(uint64_t seq, unsigned char id[MT_HASH_LEN], char env[64], size_t *len)
{
    memset(id, (int)seq, MT_HASH_LEN);
    *len = (size_t)snprintf(env, 64, "envelope %llu, padded to be long enough", (unsigned long long)seq);
}

static void append(struct waldir *d, uint64_t seq)
{
    unsigned char id[MT_HASH_LEN];
    char env[64];
    size_t len;
    rec_content(seq, id, env, &len);
    if (mt_wal_append(d->w, seq, id, env, len, d->err, sizeof(d->err))) fail_msg("append %llu: %s",
                                                                                  (unsigned long long)seq, d->err);
}

static void reopen(struct waldir *d)
{
    mt_wal_close(d->w);
    d->w = mt_wal_open(d->dir, KEY_ID, d->err, sizeof(d->err));
    if (!d->w) fail_msg("reopen: %s", d->err);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* A record as wal.h documents it, built independently of wal.c (free()). */
static uint8_t *record_bytes(uint64_t seq, size_t *outlen)
{
    unsigned char id[MT_HASH_LEN];
    char env[64];
    size_t len;
    rec_content(seq, id, env, &len);
    size_t n = 4 + 4 + 8 + MT_HASH_LEN + len + MT_HASH_LEN;
    uint8_t *r = malloc(n), *p = r;
    assert_non_null(r);
    memcpy(p, "MTW1", 4), p += 4;
    for (int i = 3; i >= 0; i--) *p++ = (uint8_t)(len >> (8 * i));
    for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(seq >> (8 * i));
    memcpy(p, id, MT_HASH_LEN), p += MT_HASH_LEN;
    memcpy(p, env, len), p += len;
    mt_hash(r, (size_t)(p - r), p);
    *outlen = n;
    return r;
}

static void write_bytes(const char *path, int flags, const void *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static void assert_head(const struct waldir *d, uint64_t seq)
{
    unsigned char id[MT_HASH_LEN], want[MT_HASH_LEN];
    assert_int_equal(mt_wal_head(d->w, id), seq);
    memset(want, (int)seq, sizeof(want)); /* zeros when empty */
    assert_memory_equal(id, want, MT_HASH_LEN);
}

/* ---- tests ---- */

/* A new WAL is empty: head 0 with a zero id, nothing acked, nothing in flight. */
static void test_new_wal_is_empty(void **state)
{
    struct waldir *d = *state;
    size_t n = 99;
    assert_head(d, 0);
    assert_int_equal(mt_wal_acked(d->w), 0);
    mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 0);
    assert_int_equal(file_size(d->wal), 0);
}

/* Opening creates the directory when it is missing. */
static void test_open_creates_directory(void **state)
{
    struct waldir *d = *state;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub", d->dir);
    mt_wal *w = mt_wal_open(sub, KEY_ID, d->err, sizeof(d->err));
    assert_non_null(w);
    mt_wal_close(w);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

/* Appended records survive a reopen: the head and every record, byte for byte. */
static void test_reopen_keeps_head_and_records(void **state)
{
    struct waldir *d = *state;
    for (uint64_t s = 1; s <= 3; s++) append(d, s);
    reopen(d);
    assert_head(d, 3);
    size_t n;
    const mt_wal_record *r = mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char id[MT_HASH_LEN];
        char env[64];
        size_t len;
        rec_content(i + 1, id, env, &len);
        assert_int_equal(r[i].seq, i + 1);
        assert_memory_equal(r[i].event_id, id, MT_HASH_LEN);
        assert_int_equal(r[i].len, len);
        assert_memory_equal(r[i].envelope, env, len);
    }
}

/* The file holds records exactly in the documented format. */
static void test_record_format_as_documented(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    size_t len;
    uint8_t *want = record_bytes(1, &len);
    assert_int_equal(file_size(d->wal), (off_t)len);
    uint8_t *got = malloc(len);
    int fd = open(d->wal, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, got, len), (ssize_t)len);
    close(fd);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
}

/* A record cut short (a crash mid-write) is dropped on open and the file truncated to the last
 * whole record, which is the head. */
static void test_torn_tail_dropped(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    append(d, 2);
    off_t two = file_size(d->wal);
    append(d, 3);
    assert_int_equal(truncate(d->wal, file_size(d->wal) - 5), 0);
    reopen(d);
    assert_head(d, 2);
    size_t n;
    mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 2);
    assert_int_equal(file_size(d->wal), two);
}

/* The seq of a dropped torn record is free again: appending it succeeds and survives. */
static void test_torn_seq_reusable(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    append(d, 2);
    assert_int_equal(truncate(d->wal, file_size(d->wal) - 1), 0);
    reopen(d);
    append(d, 2);
    reopen(d);
    assert_head(d, 2);
}

/* Garbage after the last record is dropped on open. */
static void test_garbage_tail_dropped(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    append(d, 2);
    off_t two = file_size(d->wal);
    static const char junk[] = "MTW1 this is not a record but is long enough to look like one......";
    write_bytes(d->wal, O_APPEND, junk, sizeof(junk));
    reopen(d);
    assert_head(d, 2);
    assert_int_equal(file_size(d->wal), two);
}

/* A whole-length record whose hash does not match (a byte flipped in its middle) is dropped. */
static void test_bad_hash_record_dropped(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    off_t one = file_size(d->wal);
    append(d, 2);
    off_t two = file_size(d->wal);
    uint8_t b;
    off_t mid = one + (two - one) / 2;
    int fd = open(d->wal, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, mid), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, mid), 1);
    close(fd);
    reopen(d);
    assert_head(d, 1);
    assert_int_equal(file_size(d->wal), one);
}

/* A file whose whole records skip a seq is refused, naming the file. */
static void test_out_of_sequence_file_refused(void **state)
{
    struct waldir *d = *state;
    size_t l1, l3;
    uint8_t *r1 = record_bytes(1, &l1), *r3 = record_bytes(3, &l3);
    mt_wal_close(d->w);
    d->w = NULL;
    write_bytes(d->wal, O_TRUNC, r1, l1);
    write_bytes(d->wal, O_APPEND, r3, l3);
    free(r1);
    free(r3);
    d->err[0] = '\0';
    assert_null(mt_wal_open(d->dir, KEY_ID, d->err, sizeof(d->err)));
    assert_non_null(strstr(d->err, d->wal));
    assert_non_null(strstr(d->err, "seq 3"));
}

/* Acknowledging drops records up to that seq from the unacked list, also after a reopen. */
static void test_set_acked_drops_from_unacked(void **state)
{
    struct waldir *d = *state;
    for (uint64_t s = 1; s <= 3; s++) append(d, s);
    assert_int_equal(mt_wal_set_acked(d->w, 2, d->err, sizeof(d->err)), 0);
    assert_int_equal(mt_wal_acked(d->w), 2);
    size_t n;
    const mt_wal_record *r = mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].seq, 3);
    assert_true(file_size(d->wal) > 0);
    reopen(d);
    assert_int_equal(mt_wal_acked(d->w), 2);
    r = mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].seq, 3);
    assert_head(d, 3);
}

/* When every record is acknowledged the .wal file is emptied, and the head survives a reopen
 * from the .acked file alone. */
static void test_all_acked_empties_file_keeps_head(void **state)
{
    struct waldir *d = *state;
    for (uint64_t s = 1; s <= 3; s++) append(d, s);
    assert_int_equal(mt_wal_set_acked(d->w, 3, d->err, sizeof(d->err)), 0);
    assert_int_equal(file_size(d->wal), 0);
    size_t n;
    mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 0);
    reopen(d);
    assert_head(d, 3);
    assert_int_equal(mt_wal_acked(d->w), 3);
    mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 0);
}

/* After the file was emptied, appends continue the chain from the acknowledged head. */
static void test_append_after_emptying_continues_chain(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    assert_int_equal(mt_wal_set_acked(d->w, 1, d->err, sizeof(d->err)), 0);
    reopen(d);
    append(d, 2);
    reopen(d);
    assert_head(d, 2);
    size_t n;
    const mt_wal_record *r = mt_wal_unacked(d->w, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].seq, 2);
}

/* The .acked file is "seq hex\n". */
static void test_acked_file_format(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    append(d, 2);
    assert_int_equal(mt_wal_set_acked(d->w, 2, d->err, sizeof(d->err)), 0);
    char buf[128] = "", want[128], hex[2 * MT_HASH_LEN + 1];
    unsigned char id[MT_HASH_LEN];
    memset(id, 2, sizeof(id));
    mt_hex_encode(id, MT_HASH_LEN, hex);
    snprintf(want, sizeof(want), "2 %s\n", hex);
    FILE *fp = fopen(d->acked, "r");
    assert_non_null(fp);
    assert_true(fread(buf, 1, sizeof(buf) - 1, fp) > 0);
    fclose(fp);
    assert_string_equal(buf, want);
}

/* An append whose seq is not head + 1 fails and leaves the head alone. */
static void test_append_non_consecutive_fails(void **state)
{
    struct waldir *d = *state;
    unsigned char id[MT_HASH_LEN] = {0};
    append(d, 1);
    append(d, 2);
    assert_int_equal(mt_wal_append(d->w, 4, id, "x", 1, d->err, sizeof(d->err)), -1);
    assert_int_equal(mt_wal_append(d->w, 2, id, "x", 1, d->err, sizeof(d->err)), -1);
    assert_non_null(strstr(d->err, d->wal));
    assert_head(d, 2);
    reopen(d);
    assert_head(d, 2);
}

/* The first record of an empty WAL must be seq 1 (head 0 + 1). */
static void test_first_append_must_be_seq_1(void **state)
{
    struct waldir *d = *state;
    unsigned char id[MT_HASH_LEN] = {0};
    assert_int_equal(mt_wal_append(d->w, 5, id, "x", 1, d->err, sizeof(d->err)), -1);
    assert_head(d, 0);
    assert_int_equal(file_size(d->wal), 0);
}

/* A malformed .acked file is refused on open, naming it. */
static void test_malformed_acked_refused(void **state)
{
    struct waldir *d = *state;
    static const char *bad[] = {"garbage\n", "3\n", "3 abcd\n", ""};
    append(d, 1);
    mt_wal_close(d->w);
    d->w = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_bytes(d->acked, O_TRUNC, bad[i], strlen(bad[i]));
        d->err[0] = '\0';
        mt_wal *w = mt_wal_open(d->dir, KEY_ID, d->err, sizeof(d->err));
        if (w) {
            mt_wal_close(w);
            fail_msg(".acked '%s' accepted", bad[i]);
        }
        assert_non_null(strstr(d->err, d->acked));
    }
}

/* An .acked file that exists but cannot be read is refused, not taken for a fresh chain (that
 * would restart the chain at seq 1 after the WAL was emptied). */
static void test_unreadable_acked_refused(void **state)
{
    struct waldir *d = *state;
    mt_wal_close(d->w);
    d->w = NULL;
    assert_int_equal(symlink(d->acked, d->acked), 0); /* opening it fails with ELOOP */
    d->err[0] = '\0';
    mt_wal *w = mt_wal_open(d->dir, KEY_ID, d->err, sizeof(d->err));
    if (w) {
        mt_wal_close(w);
        fail_msg("an unreadable .acked file was ignored");
    }
    assert_non_null(strstr(d->err, d->acked));
}

/* Acknowledging a seq that is not in flight fails; the acked seq is unchanged. */
static void test_set_acked_unknown_seq_refused(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    assert_int_equal(mt_wal_set_acked(d->w, 2, d->err, sizeof(d->err)), -1);
    assert_non_null(strstr(d->err, "not in flight"));
    assert_int_equal(mt_wal_acked(d->w), 0);
}

/* Acknowledging a seq at or below the acked one changes nothing. */
static void test_set_acked_lower_is_noop(void **state)
{
    struct waldir *d = *state;
    append(d, 1);
    append(d, 2);
    assert_int_equal(mt_wal_set_acked(d->w, 2, d->err, sizeof(d->err)), 0);
    assert_int_equal(mt_wal_set_acked(d->w, 1, d->err, sizeof(d->err)), 0);
    assert_int_equal(mt_wal_acked(d->w), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_wal_is_empty),
        T(test_open_creates_directory),
        T(test_reopen_keeps_head_and_records),
        T(test_record_format_as_documented),
        T(test_torn_tail_dropped),
        T(test_torn_seq_reusable),
        T(test_garbage_tail_dropped),
        T(test_bad_hash_record_dropped),
        T(test_out_of_sequence_file_refused),
        T(test_set_acked_drops_from_unacked),
        T(test_all_acked_empties_file_keeps_head),
        T(test_append_after_emptying_continues_chain),
        T(test_acked_file_format),
        T(test_append_non_consecutive_fails),
        T(test_first_append_must_be_seq_1),
        T(test_malformed_acked_refused),
        T(test_unreadable_acked_refused),
        T(test_set_acked_unknown_seq_refused),
        T(test_set_acked_lower_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
