/* comply — a policy's rules against batches: provenance records and ledger events in, findings out. */
#ifndef MT_COMPLY_H
#define MT_COMPLY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "policy.h"

/*
 * Share rules (recycled_share, country_share, chain_complete) are judged on a batch's
 * ProvenanceRecord alone: measured = the relevant milligrams of the rule's elements, basis =
 * their total; the verdict compares measured * 1,000,000 with threshold_ppm * basis in 128-bit
 * integers, so it is exact (no floating point decides anything). Documents rules are judged on
 * the ledger: a batch fails when an event of the listed kinds in its lineage (the event that
 * made it, the events that made what went into that, and so on back to mines and recyclers, and
 * custody moves of the batch itself) lacks the documents.
 */

/* One verdict. Pointers are into the record or event judged (valid while it lives) and the
 * policy. */
typedef struct mt_finding {
    const char *batch_id;
    const char *material;
    const mt_rule *rule;
    int pass;
    uint64_t ledger_index;
    uint64_t measured_mg, basis_mg; /* saturated at UINT64_MAX (the verdict is not) */
    uint64_t measured_ppm;          /* floor(measured * 10^6 / basis), for display */
    char detail[320];
} mt_finding;

typedef void (*mt_finding_fn)(void *arg, const mt_finding *f);

/* 1 when the rule applies to a batch of this material (its materials list is empty or names it). */
int mt_rule_applies(const mt_rule *r, const char *material);

/* Judges rec by every share rule of p that applies to its material, calling fn for each
 * verdict in the policy's rule order. No verdict for a rule whose elements the batch does not
 * hold (basis 0), and none at all for a record of mass 0 (a batch used up: its last figures
 * stand). Returns how many verdicts. */
size_t mt_comply_record(const mt_policy *p, const Mintrace__V1__ProvenanceRecord *rec, mt_finding_fn fn, void *arg);

/* The documents state: for every batch, per documents rule, the nearest lineage event found
 * lacking. Its changes follow commits (begin, commit, abort), like the ledger's. */
typedef struct mt_comply_docs mt_comply_docs;

/* A new state for p (which must outlive it); NULL when out of memory. */
mt_comply_docs *mt_comply_docs_new(const mt_policy *p);
void mt_comply_docs_free(mt_comply_docs *d);

/* Applies one accepted event journaled at index (events must come in ledger order): every
 * output gets its verdict by each documents rule that applies to its material; for an event
 * without outputs of a listed kind (TRANSFER, RECEIVE, ...) lacking the documents, each batch it
 * moves that was clean fails from now on. fn is called for each verdict. Returns how many, or
 * -1 when out of memory now or at an earlier commit (the state is then incomplete: the caller
 * stops, and a restart rebuilds it from the journal). */
int mt_comply_docs_event(mt_comply_docs *d, const Mintrace__V1__BatchEvent *ev, uint64_t index, mt_finding_fn fn,
                         void *arg);

/* Applies one ledger topic message (a LedgerEntry): accepted events as above, everything else
 * ignored. -1 on undecodable bytes or out of memory. */
int mt_comply_docs_entry(mt_comply_docs *d, const void *entry, size_t len, mt_finding_fn fn, void *arg);

void mt_comply_docs_begin(mt_comply_docs *d);
void mt_comply_docs_commit(mt_comply_docs *d);
void mt_comply_docs_abort(mt_comply_docs *d);

/* The Finding message of f (a new buffer, free()) and its topic key "<batch id>#<rule id>"
 * (a new string, free()). NULL / -1 when out of memory. */
int mt_finding_pack(const mt_policy *p, const mt_finding *f, uint8_t **val, size_t *vlen, char **key);

#endif
