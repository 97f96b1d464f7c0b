/* archive — the topics an audit needs, in one file: length-prefixed records and a BLAKE2b seal. */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC_LEN (sizeof(MT_ARCHIVE_MAGIC) - 1)
#define MAX_RECORD (1u << 30) /* a record larger than this is a malformed file, not a message */

static void be(unsigned char *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t unbe(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static int put(mt_archive_writer *w, const void *p, size_t n) {
    if (w->failed || (n && fwrite(p, 1, n, w->fp) != n)) {
        w->failed = 1;
        return -1;
    }
    mt_hash_update(&w->h, p, n);
    return 0;
}

int mt_archive_create(mt_archive_writer *w, const char *path, char *errstr, size_t errstr_size) {
    memset(w, 0, sizeof(*w));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || !(w->fp = fdopen(fd, "wb"))) {
        snprintf(errstr, errstr_size, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    mt_hash_init(&w->h);
    if (put(w, MT_ARCHIVE_MAGIC, MAGIC_LEN)) {
        snprintf(errstr, errstr_size, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int mt_archive_add(mt_archive_writer *w, const char *topic, int32_t partition, int64_t offset, const void *bytes,
                   size_t len) {
    size_t tl = strlen(topic);
    if (tl > 0xffff || len > MAX_RECORD) return w->failed = 1, -1;
    unsigned char h[1 + 2];
    h[0] = 1;
    be(h + 1, tl, 2);
    unsigned char loc[4 + 8 + 4];
    be(loc, (uint32_t)partition, 4);
    be(loc + 4, (uint64_t)offset, 8);
    be(loc + 12, len, 4);
    if (put(w, h, sizeof(h)) || put(w, topic, tl) || put(w, loc, sizeof(loc)) || put(w, bytes, len)) return -1;
    w->records++;
    return 0;
}

int mt_archive_close(mt_archive_writer *w, char *errstr, size_t errstr_size) {
    unsigned char t[1 + 8], seal[MT_HASH_LEN];
    t[0] = 0;
    be(t + 1, w->records, 8);
    int rc = put(w, t, sizeof(t));
    mt_hash_final(&w->h, seal);
    if (!rc && fwrite(seal, 1, sizeof(seal), w->fp) != sizeof(seal)) rc = -1;
    if (!rc && (fflush(w->fp) || fsync(fileno(w->fp)))) rc = -1;
    if (fclose(w->fp)) rc = -1;
    w->fp = NULL;
    if (rc || w->failed) {
        snprintf(errstr, errstr_size, "cannot write the archive: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* One pass over the file: checks its structure and seal, and (when fn) hands out records. */
static int pass(FILE *fp, const char *path, int (*want)(void *, const char *), mt_archive_fn fn, void *arg,
                char *errstr, size_t errstr_size) {
    mt_hash_state h;
    unsigned char magic[MAGIC_LEN], head[3], loc[16], t[8], seal[MT_HASH_LEN], got[MT_HASH_LEN];
    char topic[0x10000];
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint64_t n = 0;
    int rc = -1;
    mt_hash_init(&h);
    if (fread(magic, 1, MAGIC_LEN, fp) != MAGIC_LEN || memcmp(magic, MT_ARCHIVE_MAGIC, MAGIC_LEN) != 0) {
        snprintf(errstr, errstr_size, "%s: not a mintrace archive (v1)", path);
        return -1;
    }
    mt_hash_update(&h, magic, MAGIC_LEN);
    for (;;) {
        if (fread(head, 1, 1, fp) != 1) goto truncated;
        mt_hash_update(&h, head, 1);
        if (head[0] == 0) break;
        if (head[0] != 1 || fread(head + 1, 1, 2, fp) != 2) goto malformed;
        size_t tl = (size_t)unbe(head + 1, 2);
        if (fread(topic, 1, tl, fp) != tl || fread(loc, 1, sizeof(loc), fp) != sizeof(loc)) goto truncated;
        topic[tl] = '\0';
        size_t len = (size_t)unbe(loc + 12, 4);
        if (len > MAX_RECORD) goto malformed;
        if (len > cap) {
            uint8_t *nb = realloc(buf, len);
            if (!nb) {
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
            cap = len;
        }
        if (len && fread(buf, 1, len, fp) != len) goto truncated;
        mt_hash_update(&h, head + 1, 2);
        mt_hash_update(&h, topic, tl);
        mt_hash_update(&h, loc, sizeof(loc));
        mt_hash_update(&h, buf, len);
        n++;
        if (fn && (!want || want(arg, topic)) &&
            fn(arg, topic, (int32_t)unbe(loc, 4), (int64_t)unbe(loc + 4, 8), buf, len)) {
            rc = 0;
            goto out;
        }
    }
    if (fread(t, 1, 8, fp) != 8 || fread(seal, 1, sizeof(seal), fp) != sizeof(seal)) goto truncated;
    mt_hash_update(&h, t, 8);
    mt_hash_final(&h, got);
    if (unbe(t, 8) != n || memcmp(got, seal, sizeof(seal)) != 0) {
        snprintf(errstr, errstr_size, "%s: the archive's seal does not match its content (altered or damaged)", path);
        goto out;
    }
    if (fgetc(fp) != EOF) goto malformed;
    rc = 0;
    goto out;
truncated:
    snprintf(errstr, errstr_size, "%s: truncated after %" PRIu64 " records", path, n);
    goto out;
malformed:
    snprintf(errstr, errstr_size, "%s: malformed after %" PRIu64 " records", path, n);
out:
    free(buf);
    return rc;
}

int mt_archive_read(const char *path, int (*want)(void *arg, const char *topic), mt_archive_fn fn, void *arg,
                    char *errstr, size_t errstr_size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = pass(fp, path, NULL, NULL, NULL, errstr, errstr_size); /* the seal first */
    if (rc == 0 && fn) {
        rewind(fp);
        rc = pass(fp, path, want, fn, arg, errstr, errstr_size);
    }
    fclose(fp);
    return rc;
}
