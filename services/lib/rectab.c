/* rectab — fixed-size records in memory or in an unlinked temporary file (rectab.h). */
#include "rectab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define BUF_BYTES (64 * 1024) /* the write buffer of a table on disk */

struct mt_rectab {
    size_t size;        /* bytes per record */
    int fd;             /* -1: in memory */
    unsigned char *buf; /* records flushed.. count-1 (in memory: all of them) */
    size_t buf_cap;     /* records the buffer holds */
    uint64_t flushed;   /* records in the file */
    uint64_t count;
};

mt_rectab *mt_rectab_open(const char *dir, size_t rec_size, int in_memory, char *err, size_t errlen) {
    mt_rectab *t = calloc(1, sizeof(*t));
    if (!t || !rec_size) {
        snprintf(err, errlen, "%s", t ? "records of no size" : "out of memory");
        free(t);
        return NULL;
    }
    t->size = rec_size;
    t->fd = -1;
    if (in_memory) return t;
    t->fd = mt_temp_file(dir); /* gone when closed, whatever happens to the process */
    if (t->fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", dir && dir[0] ? dir : "$TMPDIR", strerror(errno));
        free(t);
        return NULL;
    }
    t->buf_cap = BUF_BYTES / rec_size ? BUF_BYTES / rec_size : 1;
    t->buf = malloc(t->buf_cap * rec_size);
    if (!t->buf) {
        snprintf(err, errlen, "out of memory");
        mt_rectab_close(t);
        return NULL;
    }
    return t;
}

void mt_rectab_close(mt_rectab *t) {
    if (!t) return;
    if (t->fd >= 0) close(t->fd);
    free(t->buf);
    free(t);
}

int mt_rectab_flush(mt_rectab *t) {
    if (t->fd < 0 || t->count == t->flushed) return 0;
    if (mt_pwrite_all(t->fd, t->buf, (size_t)(t->count - t->flushed) * t->size, t->flushed * t->size)) return -1;
    t->flushed = t->count;
    return 0;
}

int mt_rectab_append(mt_rectab *t, const void *rec) {
    if (t->fd >= 0 && t->count - t->flushed == t->buf_cap && mt_rectab_flush(t)) return -1;
    if (t->fd < 0 && t->count == t->buf_cap) {
        size_t cap = t->buf_cap ? t->buf_cap * 2 : 1024;
        unsigned char *nb = realloc(t->buf, cap * t->size);
        if (!nb) return -1;
        t->buf = nb;
        t->buf_cap = cap;
    }
    memcpy(t->buf + (size_t)(t->count - t->flushed) * t->size, rec, t->size);
    t->count++;
    return 0;
}

int mt_rectab_get(const mt_rectab *t, uint64_t i, void *rec) {
    if (i >= t->count) return -1;
    if (i >= t->flushed) {
        memcpy(rec, t->buf + (size_t)(i - t->flushed) * t->size, t->size);
        return 0;
    }
    return mt_pread_all(t->fd, rec, t->size, i * t->size);
}

int mt_rectab_set(mt_rectab *t, uint64_t i, const void *rec) {
    if (i >= t->count) return -1;
    if (i >= t->flushed) {
        memcpy(t->buf + (size_t)(i - t->flushed) * t->size, rec, t->size);
        return 0;
    }
    return mt_pwrite_all(t->fd, rec, t->size, i * t->size);
}

int mt_rectab_append_many(mt_rectab *t, const void *recs, uint64_t n) {
    const unsigned char *r = recs;
    for (uint64_t k = 0; k < n; k++, r += t->size) /* records are small: a copy each is fine */
        if (mt_rectab_append(t, r)) return -1;
    return 0;
}

int mt_rectab_get_many(const mt_rectab *t, uint64_t i, uint64_t n, void *recs) {
    unsigned char *r = recs;
    if (i > t->count || n > t->count - i) return -1;
    if (i < t->flushed) { /* the part in the file */
        uint64_t k = t->flushed - i < n ? t->flushed - i : n;
        if (mt_pread_all(t->fd, r, (size_t)(k * t->size), i * t->size)) return -1;
        r += k * t->size;
        i += k;
        n -= k;
    }
    if (n) memcpy(r, t->buf + (size_t)(i - t->flushed) * t->size, (size_t)(n * t->size));
    return 0;
}

uint64_t mt_rectab_count(const mt_rectab *t) {
    return t ? t->count : 0;
}

int mt_rectab_on_disk(const mt_rectab *t) {
    return t && t->fd >= 0;
}

uint64_t mt_rectab_ram_bytes(const mt_rectab *t) {
    return t ? (uint64_t)t->buf_cap * t->size + sizeof(*t) : 0;
}

uint64_t mt_rectab_disk_bytes(const mt_rectab *t) {
    return t && t->fd >= 0 ? t->flushed * t->size : 0;
}
