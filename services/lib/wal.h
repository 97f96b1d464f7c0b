/* wal — a producer's write-ahead file: every signed envelope, kept until it is confirmed. */
#ifndef MT_WAL_H
#define MT_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/*
 * One file per signing key, DIR/<key_id>.wal, append-only. A record is
 *   "MTW1" | u32 length of envelope (big-endian) | u64 seq (big-endian) | 32-byte event id |
 *   envelope bytes | 32-byte BLAKE2b-256 of everything before it in the record
 * and is fsync()ed before the envelope is handed to Kafka. A record cut short by a crash fails
 * its hash and is dropped on open (it was never sent, so its seq is free again). The chain head
 * (last seq, last event id) is the last whole record. DIR/<key_id>.acked holds the highest seq
 * Kafka confirmed and its event id ("seq hex\n", replaced atomically); records above it are
 * resent, byte for byte, after a restart: a resend is a duplicate the ledger recognises, never
 * an equivocation. When every record is confirmed the WAL is emptied and .acked alone carries
 * the head, so the file holds what is in flight, not history. (Once receipts exist, a record
 * is released by its receipt rather than by Kafka's acknowledgement.)
 */

typedef struct mt_wal_record {
    uint64_t seq;
    unsigned char event_id[MT_HASH_LEN];
    uint8_t *envelope; /* owned by the wal */
    size_t len;
} mt_wal_record;

typedef struct mt_wal mt_wal;

/* Opens (creating DIR and the files if needed) the WAL of key_id. Reads every whole record,
 * truncates a torn tail. NULL on error, errstr names the file. */
mt_wal *mt_wal_open(const char *dir, const char *key_id, char *errstr, size_t errstr_size);
void mt_wal_close(mt_wal *w);

/* The chain head: last seq (0 when empty) and its event id (zeros when empty). */
uint64_t mt_wal_head(const mt_wal *w, unsigned char event_id[MT_HASH_LEN]);

/* Appends one record and fsyncs it. seq must be head + 1. */
int mt_wal_append(mt_wal *w, uint64_t seq, const unsigned char event_id[MT_HASH_LEN], const void *envelope,
                  size_t len, char *errstr, size_t errstr_size);

/* The highest seq Kafka confirmed, and recording a new one (atomically: tmp file + rename). */
uint64_t mt_wal_acked(const mt_wal *w);
int mt_wal_set_acked(mt_wal *w, uint64_t seq, char *errstr, size_t errstr_size);

/* Moves the chain head back to (seq, event_id) after the ledger rejected event seq + 1: the
 * next event reuses seq + 1 (a rejected seq is not used, so this is no equivocation). Records
 * above seq are dropped from the file. Recorded atomically in the .acked file. */
int mt_wal_rewind(mt_wal *w, uint64_t seq, const unsigned char event_id[MT_HASH_LEN], char *errstr,
                  size_t errstr_size);

/* Records not yet confirmed (seq > acked), in seq order; *n receives how many. Pointers stay
 * valid until the next append or close. */
const mt_wal_record *mt_wal_unacked(const mt_wal *w, size_t *n);

#endif
