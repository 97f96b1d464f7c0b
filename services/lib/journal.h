/* journal — the ledger's entries and their Merkle leaves (RFC 9162 hashing). */
#ifndef MT_JOURNAL_H
#define MT_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "ledger.h"
#include "notary.h"

/*
 * A leaf is 74 bytes:
 *   u8 version (1) | u64 index (big-endian) | u8 type | 32-byte subject | 32-byte statement
 * type 1, an accepted event: subject = event id, statement = BLAKE2b-256 of the attestation
 *   envelope bytes;
 * type 2, a rejection: subject = BLAKE2b-256 of the original bytes, statement = BLAKE2b-256 of
 *   the serialized Rejection as journaled;
 * type 3, a registry version: subject = BLAKE2b-256 of the Registry payload, statement =
 *   BLAKE2b-256 of the governance-signed envelope bytes;
 * type 4, a duplicate: subject = event id, statement = BLAKE2b-256 of the resubmitted
 *   AttestedEvent bytes.
 * leaf hash = SHA-256(0x00 | leaf); interior node = SHA-256(0x01 | left | right) (RFC 9162).
 */
#define MT_LEAF_LEN 74
enum { MT_LEAF_EVENT = 1, MT_LEAF_REJECTION = 2, MT_LEAF_REGISTRY = 3, MT_LEAF_DUPLICATE = 4 };

void mt_leaf_hash(uint64_t index, int type, const unsigned char subject[MT_HASH_LEN],
                  const unsigned char statement[MT_HASH_LEN], unsigned char out[MT_HASH_LEN]);

/* A LedgerEntry journaling an accepted, attested event at index; new buffer (free()). */
uint8_t *mt_journal_event_entry(uint64_t index, const mt_attested *a, size_t *outlen);

/* A LedgerEntry journaling the serialized Rejection rej (len bytes) at index; NULL if rej is
 * not a decodable Rejection or on out of memory. */
uint8_t *mt_journal_rejection_entry(uint64_t index, const void *rej, size_t len, size_t *outlen);

/* The LedgerEntry for any decision of the ledger, with its source and leaf hash; new buffer
 * (free()) in *out. A rejection the ledger decided becomes a Rejection by the aggregator
 * stage, decided at now_ms. leaf receives the leaf hash. Returns 0, or -1 when out of memory
 * or when the bytes of an accepted event do not decode (a bug upstream). */
int mt_journal_entry(const mt_decision *d, int64_t now_ms, uint8_t **out, size_t *outlen,
                     unsigned char leaf[MT_HASH_LEN]);

/* Recomputes the leaf hash of a journaled entry from what it carries (not from its leaf_hash
 * field): what an auditor or a proof verifier trusts. Returns 0, or -1 when the entry carries
 * nothing a leaf can be made of (no oneof set, undecodable envelope or rejection). */
int mt_journal_leaf_of(const Mintrace__V1__LedgerEntry *e, unsigned char leaf[MT_HASH_LEN]);

/* The ledger topic's key for an index: 8 bytes, big-endian. */
void mt_journal_key(uint64_t index, unsigned char key[8]);

#endif
