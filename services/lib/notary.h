/* notary — the countersigning step: attest a validated envelope with the notary's time and key. */
#ifndef MT_NOTARY_H
#define MT_NOTARY_H

#include "event.h"
#include "registry.h"

/* Attests one envelope of events.validated at notary time now_ms. Re-judges the facility key's
 * validity at now_ms against reg (the clock of record is the notary's, not validate's), then
 * signs an Attestation {network, event id, envelope hash, now_ms, registry version} and packs
 * an AttestedEvent into *out (free()). Returns 0; or a reason code > 0 with v filled (the
 * caller writes a rejection); or -1 on an internal error (out of memory), v->detail says. It
 * does not re-verify the facility signature: validate did, and the auditor will. */
int mt_notary_attest(const mt_keypair *notary, const mt_registry *reg, const char *network_id, const void *bytes,
                     size_t len, int64_t now_ms, uint8_t **out, size_t *outlen, mt_verdict *v);

/* An AttestedEvent opened and checked: every part decoded, ids computed. */
typedef struct mt_attested {
    Mintrace__V1__AttestedEvent *ae;
    Mintrace__V1__Envelope *env;       /* the facility envelope */
    Mintrace__V1__BatchEvent *ev;
    Mintrace__V1__Envelope *att_env;   /* the notary envelope */
    Mintrace__V1__Attestation *att;
    unsigned char event_id[MT_HASH_LEN];
    unsigned char attestation_hash[MT_HASH_LEN]; /* BLAKE2b-256 of ae->attestation bytes */
} mt_attested;

/* Opens bytes of events.attested: decodes all parts and checks the notary signature (a key of a
 * NOTARY facility in reg, valid at the attested time) and that the attestation names this very
 * envelope and network. Returns 0, or a reason code with v filled (BAD_ATTESTATION and its
 * detail, or UNDECODABLE_*). Release a with mt_attested_release() either way. */
int mt_attested_open(const mt_registry *reg, const char *network_id, const void *bytes, size_t len, mt_attested *a,
                     mt_verdict *v);

/* mt_attested_open() without the one Ed25519 verification of the notary's signature, which the
 * caller does itself (the auditor, on all cores): every other check is made. Never for a caller
 * that does not verify that signature. */
int mt_attested_open_unsigned(const mt_registry *reg, const char *network_id, const void *bytes, size_t len,
                              mt_attested *a, mt_verdict *v);

/* Opens bytes that mt_attested_open() already accepted in this process (the ledger's parked
 * events): decodes and computes ids, verifies nothing. Never for bytes from outside. */
int mt_attested_open_verified(const void *bytes, size_t len, mt_attested *a, mt_verdict *v);

void mt_attested_release(mt_attested *a);

#endif
