/* rectab — a table of fixed-size records numbered 0, 1, 2, …: in memory, or in an unlinked
 * temporary file (pwrite/pread at number × size) with a small write buffer, so that a table of
 * any length costs constant process memory. The auditor keeps its per-entry and per-record
 * state in such tables (audit.c). */
#ifndef MT_RECTAB_H
#define MT_RECTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt_rectab mt_rectab;

/* A new empty table of rec_size-byte records. On disk (in_memory 0): a temporary file under
 * dir (NULL: $TMPDIR, else /tmp), unlinked at once, so nothing is left behind whatever happens
 * to the process. Returns NULL with err (cannot create the file, out of memory). */
mt_rectab *mt_rectab_open(const char *dir, size_t rec_size, int in_memory, char *err, size_t errlen);

/* Closes the file (its space is freed) or frees the memory. Accepts NULL. */
void mt_rectab_close(mt_rectab *t);

/* Appends a record; its number is the count before. Returns 0, or -1 (out of memory, disk full). */
int mt_rectab_append(mt_rectab *t, const void *rec);

/* Appends n records (a blob, with 1-byte records). Returns 0, or -1. */
int mt_rectab_append_many(mt_rectab *t, const void *recs, uint64_t n);

/* Copies records i .. i + n - 1 into recs. Returns 0, or -1 (past the count, read error). */
int mt_rectab_get_many(const mt_rectab *t, uint64_t i, uint64_t n, void *recs);

/* Copies record i into rec. Returns 0, or -1 (i not below the count, read error). Concurrent
 * calls are safe as long as nothing appends or sets meanwhile. */
int mt_rectab_get(const mt_rectab *t, uint64_t i, void *rec);

/* Overwrites record i (below the count). Returns 0, or -1. */
int mt_rectab_set(mt_rectab *t, uint64_t i, const void *rec);

/* Writes the buffered records to the file (nothing to do in memory). Returns 0, or -1. */
int mt_rectab_flush(mt_rectab *t);

/* Records in the table. */
uint64_t mt_rectab_count(const mt_rectab *t);

/* Whether the table is on disk. */
int mt_rectab_on_disk(const mt_rectab *t);

/* Bytes of the table held in process memory (the buffer, or every record in memory). */
uint64_t mt_rectab_ram_bytes(const mt_rectab *t);

/* Bytes written to the file (0 in memory). */
uint64_t mt_rectab_disk_bytes(const mt_rectab *t);

#endif
