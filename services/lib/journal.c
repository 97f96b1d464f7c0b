/* journal — the ledger's entries and their Merkle leaves (RFC 9162 hashing). */
#include "journal.h"

#include <stdlib.h>
#include <string.h>

void mt_journal_key(uint64_t index, unsigned char key[8]) {
    for (int i = 7; i >= 0; i--, index >>= 8) key[i] = (unsigned char)index;
}

void mt_leaf_hash(uint64_t index, int type, const unsigned char subject[MT_HASH_LEN],
                  const unsigned char statement[MT_HASH_LEN], unsigned char out[MT_HASH_LEN]) {
    unsigned char buf[1 + MT_LEAF_LEN];
    buf[0] = 0x00; /* RFC 9162 leaf prefix */
    buf[1] = 1;    /* leaf version */
    mt_journal_key(index, buf + 2);
    buf[10] = (unsigned char)type;
    memcpy(buf + 11, subject, MT_HASH_LEN);
    memcpy(buf + 11 + MT_HASH_LEN, statement, MT_HASH_LEN);
    mt_sha256(buf, sizeof(buf), out);
}

uint8_t *mt_journal_event_entry(uint64_t index, const mt_attested *a, size_t *outlen) {
    unsigned char leaf[MT_HASH_LEN];
    mt_leaf_hash(index, MT_LEAF_EVENT, a->event_id, a->attestation_hash, leaf);
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = index;
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
    e.event = a->ae;
    return mt_message_pack(&e.base, outlen);
}

uint8_t *mt_journal_rejection_entry(uint64_t index, const void *rej, size_t len, size_t *outlen) {
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, len, rej);
    if (!r) return NULL;
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN], leaf[MT_HASH_LEN];
    mt_hash(r->original.data, r->original.len, subject);
    mt_hash(rej, len, statement);
    mt_leaf_hash(index, MT_LEAF_REJECTION, subject, statement, leaf);
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = index;
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION;
    e.rejection = (ProtobufCBinaryData){len, (uint8_t *)rej};
    mintrace__v1__rejection__free_unpacked(r, NULL);
    return mt_message_pack(&e.base, outlen);
}
