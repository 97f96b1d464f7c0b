/* passport — a product passport for one batch: its proven provenance figures as JSON. */
#ifndef MT_PASSPORT_H
#define MT_PASSPORT_H

#include <stddef.h>

#include <jansson.h>

#include "mintrace/v1/ledger.pb-c.h"

/*
 * The passport (docs/proofs.md, "Passports") says what the provenance record says, in the
 * names product-passport readers know: identity, material, mass, per element the recycled
 * content pre- and post-consumer (BatteryPass's recycledContent: recycledMaterial,
 * preConsumerShare, postConsumerShare, in percent), extraction and processing shares, the
 * chain-of-custody model, and the checkpoint the figures are proven against. Every figure is
 * computed from the record's integers, so a verifier recomputes the passport from the proven
 * record and compares: a passport whose figures were edited does not verify.
 */

/* The passport of rec as proven against cp; proof (a mt_proof_to_json() object, stolen; may be
 * NULL) is embedded as "proof". NULL when out of memory. */
json_t *mt_passport_new(const Mintrace__V1__ProvenanceRecord *rec, const Mintrace__V1__Checkpoint *cp, json_t *proof);

/* Checks that passport shows exactly what rec and cp say (every member but "proof", no more,
 * no fewer). Returns 0, or -1 with errstr naming the first member that differs. */
int mt_passport_check(const json_t *passport, const Mintrace__V1__ProvenanceRecord *rec,
                      const Mintrace__V1__Checkpoint *cp, char *errstr, size_t errstr_size);

#endif
