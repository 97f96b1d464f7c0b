/* proof — inclusion proofs anyone checks offline: an entry of the journal, or a batch's
 * provenance record, against a checkpoint signed by the aggregator. */
#ifndef MT_PROOF_H
#define MT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto.h"
#include "merkle.h"
#include "mintrace/v1/ledger.pb-c.h"

/*
 * A proof is one JSON object (docs/proofs.md):
 *   {"mintrace_proof": 1, "kind": "event" | "state",
 *    "checkpoint": base64 of the aggregator-signed Checkpoint envelope, as published,
 *    "path": [hex of each RFC 9162 audit-path hash, the one nearest the leaf first],
 *    kind "event": "entry": base64 of the LedgerEntry, as published on the ledger topic;
 *    kind "state": "record": base64 of the ProvenanceRecord, as published on the provenance
 *                  topic, "leaf_index": its position among the batches, "leaf_count": how many}
 * Everything a verifier needs is inside, except the aggregator's public key, which it must get
 * from somewhere it trusts (the registry, or the operator).
 */
enum { MT_PROOF_EVENT = 1, MT_PROOF_STATE = 2 };

typedef struct mt_proof {
    int kind;
    uint8_t *checkpoint; /* Envelope bytes (owned) */
    size_t checkpoint_len;
    uint8_t *item; /* LedgerEntry (event) or ProvenanceRecord (state) bytes (owned) */
    size_t item_len;
    uint64_t leaf_index, leaf_count; /* state only: the entry's own index and the checkpoint's size say it for events */
    unsigned char path[MT_MERKLE_MAX_INCLUSION][MT_MERKLE_HASH_LEN];
    size_t path_len;
} mt_proof;

/* What a verified proof proves. Decoded messages are owned: mt_proof_result_release(). */
typedef struct mt_proof_result {
    Mintrace__V1__Checkpoint *cp;
    Mintrace__V1__LedgerEntry *entry;     /* kind event */
    Mintrace__V1__ProvenanceRecord *rec;  /* kind state */
    char key_id[MT_KEY_ID_LEN + 1];       /* the aggregator key that signed the checkpoint */
} mt_proof_result;

/* The proof as JSON (new reference), or NULL when out of memory. */
json_t *mt_proof_to_json(const mt_proof *p);

/* Reads a proof from JSON into p (mt_proof_release() it, also on failure). Returns 0, or -1
 * with errstr naming the member that is missing or malformed. */
int mt_proof_from_json(const json_t *j, mt_proof *p, char *errstr, size_t errstr_size);

/* Checks p with nothing but agg_pk: the checkpoint's aggregator signature, the leaf recomputed
 * from the entry's or record's bytes, and the audit path up to the checkpoint's journal root
 * (event) or provenance root (state). Returns 0 with *r filled, or -1 with errstr saying which
 * step failed. */
int mt_proof_verify(const mt_proof *p, const unsigned char agg_pk[MT_PK_LEN], mt_proof_result *r, char *errstr,
                    size_t errstr_size);

void mt_proof_release(mt_proof *p);
void mt_proof_result_release(mt_proof_result *r);

#endif
