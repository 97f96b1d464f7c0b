/* store — a key-value table in files, for state that history makes large and that is rarely read again. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOT_EMPTY 0    /* an index slot's offset: never used */
#define SLOT_GRAVE 1    /* an index slot's offset: removed (probing goes on past it) */
#define DATA_START 16   /* the data file's header: real offsets are never EMPTY or GRAVE */
#define FIRST_SLOTS 64  /* a new index: 1 KiB */
#define PROBE_SLOTS 8   /* slots read per pread while probing: 128 bytes */
#define SCAN_SLOTS 4096 /* slots read per pread while rebuilding: 64 KiB */
#define PAGE_SLOTS 256  /* while rebuilding, the new index is written through a cache of pages of 4 KiB */
#define CACHE_PAGES 16  /* ... 64 KiB of them */
#define HEAD 8          /* a record's header: u32 klen, u32 vlen */
#define FIRST_READ 1024 /* bytes read at a record: its header, key and (usually) all its value */

typedef struct slot {
    uint64_t hash;
    uint64_t off; /* in the data file, or SLOT_EMPTY / SLOT_GRAVE */
} slot;

struct mt_store {
    int dfd, ifd;       /* data file, index file */
    char *dir;          /* where a rebuilt index goes */
    unsigned char hkey[crypto_shorthash_KEYBYTES];
    uint64_t hash_mask; /* all ones, but for mt_store_test_hash_bits() */
    uint64_t cap;       /* index slots, a power of two */
    uint64_t count;     /* live entries */
    uint64_t used;      /* live entries and graves */
    uint64_t data_end;  /* where the next record goes */
    unsigned char rec[FIRST_READ]; /* the first bytes of the record key_at() read last */
    size_t rec_len;
};

/* Reads exactly n bytes at off; a short read (past the end) is EIO. */
int mt_pread_all(int fd, void *buf, size_t n, uint64_t off) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int mt_pwrite_all(int fd, const void *buf, size_t n, uint64_t off) {
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Reads up to n bytes at off (fewer at the end of the file): how many, or -1. */
static ssize_t pread_upto(int fd, void *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (unsigned char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* A new file under dir, already unlinked; -1 with errno on failure. */
int mt_temp_file(const char *dir) {
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir) + sizeof("/mintrace-state.XXXXXX");
    char *path = malloc(n);
    if (!path) return -1;
    snprintf(path, n, "%s/mintrace-state.XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    int e = errno;
    free(path);
    errno = e;
    return fd;
}

/* An empty index of cap slots (a sparse file reads as zeros: every slot empty). */
static int new_index(const char *dir, uint64_t cap) {
    int fd = mt_temp_file(dir);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)(cap * sizeof(slot)))) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static uint64_t key_hash(const mt_store *s, const void *key, size_t klen) {
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h = 0;
    crypto_shorthash(out, key, (unsigned long long)klen, s->hkey);
    for (int i = 0; i < 8; i++) h = h << 8 | out[i];
    return h & s->hash_mask;
}

mt_store *mt_store_open(const char *dir, char *err, size_t errlen) {
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    mt_store *s = calloc(1, sizeof(*s));
    if (!s || sodium_init() < 0 || !(s->dir = strdup(dir))) {
        snprintf(err, errlen, "store: out of memory");
        free(s);
        return NULL;
    }
    s->dfd = s->ifd = -1;
    randombytes_buf(s->hkey, sizeof(s->hkey));
    s->hash_mask = UINT64_MAX;
    s->cap = FIRST_SLOTS;
    s->data_end = DATA_START;
    static const char magic[DATA_START] = "mintrace store";
    if ((s->dfd = mt_temp_file(dir)) < 0 || mt_pwrite_all(s->dfd, magic, sizeof(magic), 0) ||
        (s->ifd = new_index(dir, s->cap)) < 0) {
        snprintf(err, errlen, "store: a temporary file in %s: %s", dir, strerror(errno));
        mt_store_close(s);
        return NULL;
    }
    return s;
}

void mt_store_close(mt_store *s) {
    if (!s) return;
    if (s->dfd >= 0) close(s->dfd);
    if (s->ifd >= 0) close(s->ifd);
    free(s->dir);
    free(s);
}

/* Whether the record at off has this key: 1 yes (*vlen its value's length), 0 no, -1 error. Its
 * first FIRST_READ bytes stay in s->rec (one pread: mt_store_get() finds most values there). */
static int key_at(mt_store *s, uint64_t off, const void *key, size_t klen, size_t *vlen) {
    unsigned char buf[256];
    uint32_t head[2];
    ssize_t got = pread_upto(s->dfd, s->rec, sizeof(s->rec), off);
    s->rec_len = got > 0 ? (size_t)got : 0;
    if (got < 0) return -1;
    if (s->rec_len < HEAD) {
        errno = EIO;
        return -1;
    }
    memcpy(head, s->rec, HEAD);
    if (head[0] != klen) return 0;
    *vlen = head[1];
    size_t done = klen < s->rec_len - HEAD ? klen : s->rec_len - HEAD;
    if (memcmp(s->rec + HEAD, key, done)) return 0;
    while (done < klen) { /* a long key: the rest, a buffer at a time */
        size_t n = klen - done < sizeof(buf) ? klen - done : sizeof(buf);
        if (mt_pread_all(s->dfd, buf, n, off + HEAD + done)) return -1;
        if (memcmp(buf, (const unsigned char *)key + done, n)) return 0;
        done += n;
    }
    return 1;
}

/* Probes for key. Returns 1 found (*at its slot, *off its record, *vlen), 0 absent (*at the
 * slot to insert it in, *was_empty whether that slot was never used), -1 error. */
static int find(mt_store *s, uint64_t h, const void *key, size_t klen, uint64_t *at, uint64_t *off,
                size_t *vlen, int *was_empty) {
    slot run[PROBE_SLOTS];
    uint64_t grave = UINT64_MAX, i = h & (s->cap - 1), seen = 0;
    while (seen < s->cap) {
        uint64_t n = s->cap - i < PROBE_SLOTS ? s->cap - i : PROBE_SLOTS;
        if (mt_pread_all(s->ifd, run, n * sizeof(slot), i * sizeof(slot))) return -1;
        for (uint64_t k = 0; k < n; k++, seen++) {
            if (run[k].off == SLOT_EMPTY) {
                *at = grave != UINT64_MAX ? grave : i + k;
                *was_empty = grave == UINT64_MAX;
                return 0;
            }
            if (run[k].off == SLOT_GRAVE) {
                if (grave == UINT64_MAX) grave = i + k;
                continue;
            }
            if (run[k].hash != h) continue;
            int rc = key_at(s, run[k].off, key, klen, vlen);
            if (rc < 0) return -1;
            if (rc) {
                *at = i + k;
                *off = run[k].off;
                return 1;
            }
        }
        i = (i + n) & (s->cap - 1);
    }
    if (grave == UINT64_MAX) { /* cannot happen: the index is at most half full */
        errno = EIO;
        return -1;
    }
    *at = grave;
    *was_empty = 0;
    return 0;
}

/* The new index while it is rebuilt: pages of it in memory, written back when evicted (least
 * recently used) or at the end. A scan of the old index in slot order places entries in two
 * nearly ascending runs (home slot i of the old index is i or i + old cap in the new one), so a
 * few pages see every write: a pread and a pwrite per page, not per entry. */
typedef struct pages {
    int fd;
    uint64_t cap, page_slots;
    uint64_t first[CACHE_PAGES]; /* the first slot of each cached page; UINT64_MAX: none */
    uint64_t used[CACHE_PAGES], clock;
    int dirty[CACHE_PAGES];
    slot *data; /* CACHE_PAGES pages of page_slots */
} pages;

static int page_out(pages *pc, int p) {
    if (!pc->dirty[p]) return 0;
    pc->dirty[p] = 0;
    return mt_pwrite_all(pc->fd, pc->data + p * pc->page_slots, pc->page_slots * sizeof(slot), pc->first[p] * sizeof(slot));
}

/* Slot i of the new index, in the cache (NULL on an I/O error). */
static slot *page_slot(pages *pc, uint64_t i) {
    uint64_t first = i - i % pc->page_slots;
    int p = 0;
    for (int k = 0; k < CACHE_PAGES; k++) {
        if (pc->first[k] == first) {
            pc->used[k] = ++pc->clock;
            return pc->data + k * pc->page_slots + (i - first);
        }
        if (pc->used[k] < pc->used[p]) p = k;
    }
    if (pc->first[p] != UINT64_MAX && page_out(pc, p)) return NULL;
    pc->first[p] = UINT64_MAX;
    if (mt_pread_all(pc->fd, pc->data + p * pc->page_slots, pc->page_slots * sizeof(slot), first * sizeof(slot)))
        return NULL;
    pc->first[p] = first;
    pc->used[p] = ++pc->clock;
    return pc->data + p * pc->page_slots + (i - first);
}

/* Puts a slot into the new index, which holds no graves and the key of none. */
static int place(pages *pc, const slot *sl) {
    for (uint64_t i = sl->hash & (pc->cap - 1), seen = 0; seen < pc->cap; i = (i + 1) & (pc->cap - 1), seen++) {
        slot *x = page_slot(pc, i);
        if (!x) return -1;
        if (x->off == SLOT_EMPTY) {
            *x = *sl;
            pc->dirty[(x - pc->data) / pc->page_slots] = 1;
            return 0;
        }
    }
    errno = EIO;
    return -1;
}

/* Rebuilds the index with cap slots and no graves: a sequential scan of the old one into a new
 * unlinked file. */
static int rebuild(mt_store *s, uint64_t cap) {
    pages pc = {.fd = -1, .cap = cap, .page_slots = cap < PAGE_SLOTS ? cap : PAGE_SLOTS};
    slot *buf = malloc(SCAN_SLOTS * sizeof(slot));
    pc.data = malloc(CACHE_PAGES * pc.page_slots * sizeof(slot));
    for (int k = 0; k < CACHE_PAGES; k++) pc.first[k] = UINT64_MAX;
    if (!buf || !pc.data || (pc.fd = new_index(s->dir, cap)) < 0) goto fail;
    for (uint64_t i = 0; i < s->cap; i += SCAN_SLOTS) {
        uint64_t n = s->cap - i < SCAN_SLOTS ? s->cap - i : SCAN_SLOTS;
        if (mt_pread_all(s->ifd, buf, n * sizeof(slot), i * sizeof(slot))) goto fail;
        for (uint64_t k = 0; k < n; k++)
            if (buf[k].off != SLOT_EMPTY && buf[k].off != SLOT_GRAVE && place(&pc, &buf[k])) goto fail;
    }
    for (int k = 0; k < CACHE_PAGES; k++)
        if (pc.first[k] != UINT64_MAX && page_out(&pc, k)) goto fail;
    free(buf);
    free(pc.data);
    close(s->ifd);
    s->ifd = pc.fd;
    s->cap = cap;
    s->used = s->count;
    return 0;
fail:;
    int e = errno;
    free(buf);
    free(pc.data);
    if (pc.fd >= 0) close(pc.fd);
    errno = e ? e : ENOMEM;
    return -1;
}

int mt_store_put(mt_store *s, const void *key, size_t klen, const void *val, size_t vlen) {
    if (klen > UINT32_MAX || vlen > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    if ((s->used + 1) * 2 > s->cap) { /* past half full: double (or only drop the graves) */
        uint64_t cap = s->cap;
        while ((s->count + 1) * 4 > cap) cap *= 2;
        if (rebuild(s, cap)) return -1;
    }
    uint64_t h = key_hash(s, key, klen), at, old;
    size_t oldlen;
    int was_empty = 0;
    int found = find(s, h, key, klen, &at, &old, &oldlen, &was_empty);
    if (found < 0) return -1;
    unsigned char *rec = malloc(HEAD + klen + vlen);
    if (!rec) return -1;
    uint32_t head[2] = {(uint32_t)klen, (uint32_t)vlen};
    memcpy(rec, head, HEAD);
    if (klen) memcpy(rec + HEAD, key, klen);
    if (vlen) memcpy(rec + HEAD + klen, val, vlen);
    slot sl = {h, s->data_end};
    int rc = mt_pwrite_all(s->dfd, rec, HEAD + klen + vlen, s->data_end);
    free(rec);
    if (rc || mt_pwrite_all(s->ifd, &sl, sizeof(sl), at * sizeof(slot))) return -1;
    s->data_end += HEAD + klen + vlen;
    if (!found) {
        s->count++;
        if (was_empty) s->used++;
    }
    return 0;
}

int mt_store_get(mt_store *s, const void *key, size_t klen, void **val, size_t *vlen) {
    uint64_t at, off;
    size_t len = 0;
    int was_empty;
    int found = find(s, key_hash(s, key, klen), key, klen, &at, &off, &len, &was_empty);
    if (found <= 0 || !val) {
        if (found == 1 && vlen) *vlen = len;
        return found;
    }
    void *v = malloc(len ? len : 1);
    if (!v) return -1;
    size_t have = s->rec_len > HEAD + klen ? s->rec_len - HEAD - klen : 0; /* read with the key */
    if (have > len) have = len;
    if (have) memcpy(v, s->rec + HEAD + klen, have);
    if (len > have && mt_pread_all(s->dfd, (unsigned char *)v + have, len - have, off + HEAD + klen + have)) {
        int e = errno;
        free(v);
        errno = e;
        return -1;
    }
    *val = v;
    if (vlen) *vlen = len;
    return 1;
}

int mt_store_del(mt_store *s, const void *key, size_t klen) {
    uint64_t h = key_hash(s, key, klen), at, off;
    size_t len;
    int was_empty;
    int found = find(s, h, key, klen, &at, &off, &len, &was_empty);
    if (found <= 0) return found;
    slot sl = {h, SLOT_GRAVE};
    if (mt_pwrite_all(s->ifd, &sl, sizeof(sl), at * sizeof(slot))) return -1;
    s->count--;
    return 1;
}

uint64_t mt_store_count(const mt_store *s) {
    return s->count;
}

uint64_t mt_store_disk_bytes(const mt_store *s) {
    return s->data_end + s->cap * sizeof(slot);
}

void mt_store_test_hash_bits(mt_store *s, unsigned bits) {
    s->hash_mask = bits && bits < 64 ? ((uint64_t)1 << bits) - 1 : UINT64_MAX;
}
