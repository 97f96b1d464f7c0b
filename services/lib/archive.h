/* archive — the topics an audit needs, in one file: length-prefixed records and a BLAKE2b seal. */
#ifndef MT_ARCHIVE_H
#define MT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto.h"

/*
 * An archive file is (integers big-endian):
 *
 *   header   "mintrace-archive v1\n"                           (20 bytes)
 *   record*  u8 1 | u16 topic length | topic | i32 partition | i64 offset | u32 length | bytes
 *   trailer  u8 0 | u64 record count | 32 bytes BLAKE2b-256 of every byte before the trailer's
 *            hash (the header, every record, the 0 and the count)
 *
 * Records keep each message exactly as read (its topic, partition and offset too), topic by
 * topic in the order written. A reader refuses a file whose seal does not match before it
 * hands out a single record: an archive is either whole or not used.
 */
#define MT_ARCHIVE_MAGIC "mintrace-archive v1\n"

typedef struct mt_archive_writer {
    FILE *fp;
    mt_hash_state h;
    uint64_t records;
    int failed;
} mt_archive_writer;

/* Creates path (it must not exist) and writes the header. Returns 0, or -1 with errstr. */
int mt_archive_create(mt_archive_writer *w, const char *path, char *errstr, size_t errstr_size);
/* Appends one record. Returns 0, or -1 (the file is then unusable; close it). */
int mt_archive_add(mt_archive_writer *w, const char *topic, int32_t partition, int64_t offset, const void *bytes,
                   size_t len);
/* Writes the trailer, fsyncs and closes. Returns 0, or -1 with errstr. */
int mt_archive_close(mt_archive_writer *w, char *errstr, size_t errstr_size);

/* Called for each record; nonzero stops the reading. */
typedef int (*mt_archive_fn)(void *arg, const char *topic, int32_t partition, int64_t offset, const uint8_t *bytes,
                             size_t len);

/* Checks path's seal, then calls fn for every record (in file order) whose topic satisfies
 * want (NULL: every record). Returns 0, or -1 with errstr (unreadable, malformed, or the
 * seal does not match: then fn was never called). */
int mt_archive_read(const char *path, int (*want)(void *arg, const char *topic), mt_archive_fn fn, void *arg,
                    char *errstr, size_t errstr_size);

#endif
