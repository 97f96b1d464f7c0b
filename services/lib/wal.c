/* wal — a producer's write-ahead file: every signed envelope, kept until it is confirmed. */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC "MTW1"
#define WAL_HDR (4 + 4 + 8 + MT_HASH_LEN)

struct mt_wal {
    char *path;        /* DIR/<key_id>.wal */
    char *acked_path;  /* DIR/<key_id>.acked */
    int fd;
    mt_wal_record *recs; /* the records not yet acknowledged, in order */
    size_t n, cap;
    uint64_t acked;
    uint64_t head_seq; /* the chain head: the last whole record */
    unsigned char head_id[MT_HASH_LEN];
};

static void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static int push_record(mt_wal *w, uint64_t seq, const unsigned char *id, const void *env, size_t len) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        mt_wal_record *r = realloc(w->recs, cap * sizeof(*r));
        if (!r) return -1;
        w->recs = r;
        w->cap = cap;
    }
    mt_wal_record *r = &w->recs[w->n];
    r->envelope = malloc(len ? len : 1);
    if (!r->envelope) return -1;
    memcpy(r->envelope, env, len);
    r->len = len;
    r->seq = seq;
    memcpy(r->event_id, id, MT_HASH_LEN);
    w->n++;
    w->head_seq = seq;
    memcpy(w->head_id, id, MT_HASH_LEN);
    return 0;
}

/* Frees the records Kafka has confirmed: memory follows what is in flight, not history. */
static void drop_acked(mt_wal *w) {
    size_t i = 0;
    while (i < w->n && w->recs[i].seq <= w->acked) free(w->recs[i++].envelope);
    if (i) memmove(w->recs, w->recs + i, (w->n - i) * sizeof(*w->recs));
    w->n -= i;
}

void mt_wal_close(mt_wal *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    for (size_t i = 0; i < w->n; i++) free(w->recs[i].envelope);
    free(w->recs);
    free(w->path);
    free(w->acked_path);
    free(w);
}

/* Reads the whole file and keeps every record whose hash checks; returns the length of the
 * valid prefix, or -1 on a read error or a record out of sequence. */
static off_t wal_scan(mt_wal *w, char *errstr, size_t errstr_size) {
    struct stat st;
    if (fstat(w->fd, &st)) return -1;
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return -1;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(w->fd, buf + got, size - got, (off_t)got);
        if (r <= 0) {
            free(buf);
            snprintf(errstr, errstr_size, "%s: read error", w->path);
            return -1;
        }
        got += (size_t)r;
    }
    size_t off = 0;
    while (size - off >= WAL_HDR + MT_HASH_LEN) {
        const uint8_t *p = buf + off;
        if (memcmp(p, WAL_MAGIC, 4)) break;
        uint32_t len = get_be32(p + 4);
        if (size - off < WAL_HDR + (size_t)len + MT_HASH_LEN) break;
        unsigned char h[MT_HASH_LEN];
        mt_hash(p, WAL_HDR + len, h);
        if (memcmp(h, p + WAL_HDR + len, MT_HASH_LEN)) break;
        uint64_t seq = get_be64(p + 8);
        uint64_t want = w->head_seq ? w->head_seq + 1 : seq;
        if (seq != want) {
            free(buf);
            snprintf(errstr, errstr_size, "%s: record at byte %zu has seq %llu, expected %llu", w->path, off,
                     (unsigned long long)seq, (unsigned long long)want);
            return -1;
        }
        if (push_record(w, seq, p + 16, p + WAL_HDR, len)) {
            free(buf);
            return -1;
        }
        off += WAL_HDR + len + MT_HASH_LEN;
    }
    free(buf);
    return (off_t)off;
}

mt_wal *mt_wal_open(const char *dir, const char *key_id, char *errstr, size_t errstr_size) {
    mt_wal *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->fd = -1;
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(errstr, errstr_size, "%s: cannot create: %s", dir, strerror(errno));
        goto fail;
    }
    if (asprintf(&w->path, "%s/%s.wal", dir, key_id) < 0 || asprintf(&w->acked_path, "%s/%s.acked", dir, key_id) < 0) {
        w->path = w->acked_path = NULL;
        goto fail;
    }
    w->fd = open(w->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        snprintf(errstr, errstr_size, "%s: %s", w->path, strerror(errno));
        goto fail;
    }
    off_t valid = wal_scan(w, errstr, errstr_size);
    if (valid < 0) goto fail;
    struct stat st;
    if (fstat(w->fd, &st) == 0 && st.st_size > valid) {
        /* a torn tail: the crash came before fsync returned, so it was never sent */
        if (ftruncate(w->fd, valid) || fsync(w->fd)) {
            snprintf(errstr, errstr_size, "%s: cannot truncate a torn tail: %s", w->path, strerror(errno));
            goto fail;
        }
    }
    FILE *fp = fopen(w->acked_path, "r");
    if (!fp && errno != ENOENT) { /* taking it for absent would restart the chain at seq 1 */
        snprintf(errstr, errstr_size, "%s: %s", w->acked_path, strerror(errno));
        goto fail;
    }
    if (fp) {
        unsigned long long a = 0;
        char hex[2 * MT_HASH_LEN + 2] = "";
        unsigned char id[MT_HASH_LEN];
        int got = fscanf(fp, "%llu %65s", &a, hex);
        fclose(fp);
        if (got != 2 || mt_hex_decode(hex, id, MT_HASH_LEN)) {
            snprintf(errstr, errstr_size, "%s: malformed (want: seq event-id-hex)", w->acked_path);
            goto fail;
        }
        w->acked = a;
        if (a > w->head_seq) { /* the WAL was emptied after everything was confirmed */
            w->head_seq = a;
            memcpy(w->head_id, id, MT_HASH_LEN);
        }
    }
    drop_acked(w);
    return w;
fail:
    mt_wal_close(w);
    return NULL;
}

uint64_t mt_wal_head(const mt_wal *w, unsigned char event_id[MT_HASH_LEN]) {
    memcpy(event_id, w->head_id, MT_HASH_LEN);
    return w->head_seq;
}

int mt_wal_append(mt_wal *w, uint64_t seq, const unsigned char event_id[MT_HASH_LEN], const void *envelope,
                  size_t len, char *errstr, size_t errstr_size) {
    if (seq != w->head_seq + 1) { /* also when empty: a chain starts at 1 */
        snprintf(errstr, errstr_size, "%s: seq %llu does not follow the head", w->path, (unsigned long long)seq);
        return -1;
    }
    size_t total = WAL_HDR + len + MT_HASH_LEN;
    uint8_t *rec = malloc(total);
    if (!rec) return -1;
    memcpy(rec, WAL_MAGIC, 4);
    put_be32(rec + 4, (uint32_t)len);
    put_be64(rec + 8, seq);
    memcpy(rec + 16, event_id, MT_HASH_LEN);
    memcpy(rec + WAL_HDR, envelope, len);
    mt_hash(rec, WAL_HDR + len, rec + WAL_HDR + len);
    size_t done = 0;
    while (done < total) {
        ssize_t n = write(w->fd, rec + done, total - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(errstr, errstr_size, "%s: write: %s", w->path, strerror(errno));
            free(rec);
            return -1;
        }
        done += (size_t)n;
    }
    free(rec);
    if (fdatasync(w->fd)) {
        snprintf(errstr, errstr_size, "%s: fdatasync: %s", w->path, strerror(errno));
        return -1;
    }
    return push_record(w, seq, event_id, envelope, len);
}

uint64_t mt_wal_acked(const mt_wal *w) {
    return w->acked;
}

/* Writes "seq hex" to the .acked file atomically (tmp + rename). */
static int write_acked(mt_wal *w, uint64_t seq, const unsigned char *id, char *errstr, size_t errstr_size) {
    char *tmp, hex[2 * MT_HASH_LEN + 1];
    mt_hex_encode(id, MT_HASH_LEN, hex);
    if (asprintf(&tmp, "%s.tmp", w->acked_path) < 0) return -1;
    FILE *fp = fopen(tmp, "w");
    int ok = fp && fprintf(fp, "%llu %s\n", (unsigned long long)seq, hex) > 0 && fflush(fp) == 0 &&
             fsync(fileno(fp)) == 0;
    if (fp && fclose(fp)) ok = 0;
    if (!ok || rename(tmp, w->acked_path)) {
        snprintf(errstr, errstr_size, "%s: cannot record acknowledgement: %s", w->acked_path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int mt_wal_set_acked(mt_wal *w, uint64_t seq, char *errstr, size_t errstr_size) {
    if (seq <= w->acked) return 0;
    const unsigned char *id = NULL;
    for (size_t i = 0; i < w->n; i++)
        if (w->recs[i].seq == seq) id = w->recs[i].event_id;
    if (!id) {
        snprintf(errstr, errstr_size, "%s: seq %llu is not in flight", w->path, (unsigned long long)seq);
        return -1;
    }
    if (write_acked(w, seq, id, errstr, errstr_size)) return -1;
    w->acked = seq;
    drop_acked(w);
    /* Nothing in flight: the .acked file holds the head, so the WAL can start over. */
    if (w->n == 0 && (ftruncate(w->fd, 0) || fsync(w->fd))) {
        snprintf(errstr, errstr_size, "%s: cannot truncate: %s", w->path, strerror(errno));
        return -1;
    }
    return 0;
}

int mt_wal_rewind(mt_wal *w, uint64_t seq, const unsigned char event_id[MT_HASH_LEN], char *errstr,
                  size_t errstr_size) {
    if (seq > w->head_seq) {
        snprintf(errstr, errstr_size, "%s: cannot rewind forward to seq %llu", w->path, (unsigned long long)seq);
        return -1;
    }
    for (size_t i = 0; i < w->n; i++)
        if (w->recs[i].seq <= seq) { /* it would be lost: Kafka has not confirmed it */
            snprintf(errstr, errstr_size, "%s: seq %llu is not confirmed yet: flush first", w->path,
                     (unsigned long long)w->recs[i].seq);
            return -1;
        }
    /* the file goes first (empty), then the .acked head: a crash between the two leaves a head
     * at or after the rewound one, never a record of a dropped seq */
    if (ftruncate(w->fd, 0) || fsync(w->fd)) {
        snprintf(errstr, errstr_size, "%s: cannot truncate: %s", w->path, strerror(errno));
        return -1;
    }
    if (write_acked(w, seq, event_id, errstr, errstr_size)) return -1;
    for (size_t i = 0; i < w->n; i++) free(w->recs[i].envelope);
    w->n = 0;
    w->acked = seq;
    w->head_seq = seq;
    memcpy(w->head_id, event_id, MT_HASH_LEN);
    return 0;
}

const mt_wal_record *mt_wal_unacked(const mt_wal *w, size_t *n) {
    *n = w->n;
    return w->recs;
}
