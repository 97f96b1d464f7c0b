/* store — a key-value table in files, for state that history makes large and that is rarely read again. */
#ifndef MT_STORE_H
#define MT_STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Two files: an append-only data file of records (u32 klen, u32 vlen, key, value) and an
 * open-addressing hash index of fixed 16-byte slots (64-bit keyed hash, 64-bit data offset;
 * linear probing, doubled when more than half full). Every access is a pread or pwrite: the
 * process holds a few hundred bytes however many entries the store has, and the kernel's page
 * cache does the caching. A negative lookup is usually one pread of 8 slots, a hit one more of
 * the record (its first KiB: key and, usually, value). The index is rebuilt through 64 KiB of
 * pages, so a doubling costs a pread and a pwrite per 4 KiB, not per entry.
 *
 * The disk grows with writes: a put of an existing key appends a new record and repoints its
 * slot, a delete only marks the slot, and the dead records stay in the data file (no
 * compaction). Both files are unlinked as soon as they are made, so they vanish with the
 * process (or with mt_store_close()). One thread at a time.
 */

typedef struct mt_store mt_store;

/* A new temporary file under dir (NULL or "": $TMPDIR, else /tmp), open for reading and writing
 * and already unlinked, so it vanishes with the process: its descriptor, or -1 with errno. Every
 * file mintrace keeps state in (the store, the auditor's rows, the provenance state tree) is one. */
int mt_temp_file(const char *dir);

/* n bytes at offset off, read or written whole (retrying short transfers and EINTR): 0, or -1
 * with errno (EIO for a read past the end of the file). */
int mt_pread_all(int fd, void *buf, size_t n, uint64_t off);
int mt_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* New empty store in two temporary files under dir (NULL: $TMPDIR or /tmp), unlinked at once so
 * they vanish with the process. NULL with err on failure. */
mt_store *mt_store_open(const char *dir, char *err, size_t errlen);

/* Closes both files (their space is freed) and frees the store. Accepts NULL. */
void mt_store_close(mt_store *s);

/* Sets key to the value bytes (copied), replacing any. 0, or -1 on an I/O error (errno). */
int mt_store_put(mt_store *s, const void *key, size_t klen, const void *val, size_t vlen);

/* 1 found: *val is a malloc'd copy (caller frees), *vlen its length; 0 absent; -1 error. val may
 * be NULL (membership only). */
int mt_store_get(mt_store *s, const void *key, size_t klen, void **val, size_t *vlen);

/* 1 removed, 0 absent, -1 error. */
int mt_store_del(mt_store *s, const void *key, size_t klen);

/* Live entries. */
uint64_t mt_store_count(const mt_store *s);

/* The size of both files, dead records included. */
uint64_t mt_store_disk_bytes(const mt_store *s);

/* For tests only: keeps just the low `bits` bits of every key hash (0: all 64), so that distinct
 * keys share hashes and the full-key comparison is exercised. Call on an empty store. */
void mt_store_test_hash_bits(mt_store *s, unsigned bits);

#endif
