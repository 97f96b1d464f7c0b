/* sim_pipeline.h — drives simulated envelopes through validate, the notary and the ledger as
 * the services do (a stage's rejection goes to the ledger as a Rejection), without Kafka.
 * Included by the unit tests that need it; everything is static. */
#ifndef MT_TEST_SIM_PIPELINE_H
#define MT_TEST_SIM_PIPELINE_H

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "ledger.h"
#include "notary.h"
#include "registry.h"
#include "simulate.h"
#include "validate.h"

/* What the ledger decided, entry by entry, counted as `mintrace journal` counts them. */
typedef struct pipe_tally {
    size_t accepted, rejected, duplicates, by_code[MT_SIM_CODES];
} pipe_tally;

static inline void pipe_count(pipe_tally *t, const mt_decision *d) {
    if (d->kind == MT_DECIDED_ACCEPTED) {
        t->accepted++;
    } else if (d->kind == MT_DECIDED_DUPLICATE) {
        t->duplicates++;
    } else if (d->kind == MT_DECIDED_REJECTED) {
        t->rejected++;
        t->by_code[d->verdict.code < MT_SIM_CODES ? d->verdict.code : 0]++;
    } else if (d->kind == MT_NOTED_REJECTION) {
        Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, d->len, d->bytes);
        t->rejected++;
        t->by_code[r && (unsigned)r->code < MT_SIM_CODES ? r->code : 0]++;
        if (r) mintrace__v1__rejection__free_unpacked(r, NULL);
    }
}

/* The simulated network of seed: its registry (verified with the seed's governance key) and,
 * in *notary, the notary's key pair (mt_keypair_wipe() it). */
static inline mt_registry *pipe_registry(uint64_t seed, const char *net, mt_keypair *notary) {
    uint8_t *regb;
    size_t regl;
    mt_keypair gov;
    char err[256];
    assert_int_equal(mt_sim_registry(seed, net, &regb, &regl), 0);
    assert_int_equal(mt_sim_key(seed, "governance", &gov), 0);
    assert_int_equal(mt_sim_key(seed, "NOTARY-1", notary), 0);
    mt_registry *reg = mt_registry_from_envelope(regb, regl, "sim", gov.pk, net, err, sizeof(err));
    if (!reg) fail_msg("simulated registry refused: %s", err);
    free(regb); /* the registry keeps a copy */
    mt_keypair_wipe(&gov);
    return reg;
}

/* One submitted envelope (the n-th) through validate, sign and the ledger at notary time now;
 * the ledger's decisions go to fn. Returns 0, or -1 when out of memory. */
static inline int pipe_offer(mt_ledger *l, const mt_registry *reg, const mt_keypair *notary, const char *net,
                      const uint8_t *env, size_t len, int64_t n, int64_t now, mt_decision_fn fn, void *arg) {
    mt_verdict v;
    uint8_t *att = NULL, *rej;
    size_t alen, rlen;
    Mintrace__V1__Stage stage = MINTRACE__V1__STAGE__STAGE_VALIDATE;
    int rc;
    if (mt_validate_envelope(reg, net, env, len, now, &v) == 0) {
        stage = MINTRACE__V1__STAGE__STAGE_SIGN;
        if (mt_notary_attest(notary, reg, net, env, len, now, &att, &alen, &v) == 0) {
            rc = mt_ledger_offer(l, reg, net, att, alen, "events.attested", 0, n, fn, arg);
            free(att);
            return rc;
        }
    }
    if (!(rej = mt_rejection_pack(&v, stage, env, len, "events.submitted", 0, n, now, &rlen))) return -1;
    rc = mt_ledger_note_rejection(l, rej, rlen, "rejected", 0, n, fn, arg);
    free(rej);
    return rc;
}

#endif
