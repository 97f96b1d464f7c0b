/* ledger — the rules of the journal: one order, chains, custody, balances; state follows commits. */
#ifndef MT_LEDGER_H
#define MT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "massbal.h"
#include "provenance.h"
#include "notary.h"
#include "registry.h"

/*
 * The ledger decides, in the order events reach it, whether each attested event is accepted,
 * rejected (with a reason code), an exact duplicate, or parked until what it depends on arrives.
 * It is pure logic: no Kafka, no clock (times come from the events and attestations), so the
 * aggregator, the tests and the auditor all run the same code and get the same answers.
 *
 * State follows commits: every change made since mt_ledger_begin() is undone by
 * mt_ledger_abort() and kept by mt_ledger_commit(). Rules and codes: docs/ledger.md.
 */

typedef struct mt_ledger_conf {
    uint32_t tolerance_ppm;   /* element measurement tolerance (default 5000 = 0.5 %) */
    int64_t max_skew_ms;      /* event time may run ahead of notary time by this much (default 5 min) */
    size_t park_max;          /* events parked at most at once (default 10000) */
    uint64_t park_max_age;    /* entries journaled while one waits, at most (default 100000) */
} mt_ledger_conf;

typedef enum {
    MT_DECIDED_ACCEPTED = 1,
    MT_DECIDED_REJECTED = 2,  /* an event the ledger rejected: journal a Rejection */
    MT_DECIDED_DUPLICATE = 3, /* an exact resubmission: journal a Duplicate */
    MT_NOTED_REJECTION = 4,   /* another stage's rejection read from the rejected topic */
    MT_DECIDED_REGISTRY = 5,  /* a new registry version: journal it (registry_change) */
} mt_decision_kind;

/* One journal entry the ledger decided; the caller journals it at `index`. */
typedef struct mt_decision {
    mt_decision_kind kind;
    uint64_t index;             /* gap-free journal index */
    mt_verdict verdict;         /* for REJECTED: code, detail, event id, facility */
    uint64_t first_index;       /* for DUPLICATE: the entry that decided the original */
    const uint8_t *bytes;       /* the AttestedEvent (or, for NOTED_REJECTION, Rejection) bytes */
    size_t len;
    const char *source_topic;   /* where the bytes were read */
    int32_t source_partition;
    int64_t source_offset;
    /* for ACCEPTED: the batches whose provenance this event changed (inputs, outputs; for a
     * CORRECTION the voided event's inputs and outputs), valid during the call only */
    const char *const *changed;
    size_t n_changed;
} mt_decision;

typedef void (*mt_decision_fn)(void *arg, const mt_decision *d);

typedef struct mt_ledger mt_ledger;

/* A new empty ledger; conf may be NULL for the defaults. NULL (errno set) when out of memory or
 * when the file of its provenance state tree (statetree.h) cannot be made in $TMPDIR or /tmp. */
mt_ledger *mt_ledger_new(const mt_ledger_conf *conf);
void mt_ledger_free(mt_ledger *l);

/* Transactions: begin before offering, then commit (keep) or abort (undo everything offered
 * since begin, including the index and the parking buffer). */
void mt_ledger_begin(mt_ledger *l);
void mt_ledger_commit(mt_ledger *l);
void mt_ledger_abort(mt_ledger *l);

/* For the auditor only, which verifies every notary signature itself on all cores: while on,
 * offers check everything about an attestation but its Ed25519 signature. Off by default; a
 * service that journals must never turn it on. */
void mt_ledger_set_caller_verifies_notary(mt_ledger *l, int on);

/* The trust root: the governance public key the first registry version must be signed by.
 * Later versions are signed by the key in force: a registry that names a
 * next_governance_public_key hands governance to that key for the version after it. Until a
 * registry version is journaled, offers are judged with the registry passed to them. */
void mt_ledger_set_governance(mt_ledger *l, const unsigned char gov_pk[MT_PK_LEN]);

/* Notes a message of the registry topic (a governance-signed Registry envelope). A valid next
 * version is journaled (MT_DECIDED_REGISTRY) and from then on judges every event attested with
 * that version; anything else is journaled as a BAD_REGISTRY rejection. Events attested with
 * a version not journaled yet wait in the parking buffer. Returns -1 when out of memory. */
int mt_ledger_note_registry(mt_ledger *l, const char *network_id, const uint8_t *bytes, size_t len, const char *topic,
                            int32_t partition, int64_t offset, mt_decision_fn fn, void *arg);

/* The newest journaled registry version, or 0. */
uint64_t mt_ledger_registry_version(const mt_ledger *l);

/* Offers one message of events.attested (bytes as read, and where). Decisions (this event's,
 * and those of parked events it releases) go to fn in journal order; a parked event produces
 * none until it is decided. reg judges roles and key validity. Returns 0, or -1 when out of
 * memory (the transaction must then be aborted). */
int mt_ledger_offer(mt_ledger *l, const mt_registry *reg, const char *network_id, const uint8_t *bytes, size_t len,
                    const char *topic, int32_t partition, int64_t offset, mt_decision_fn fn, void *arg);

/* Notes a message of the rejected topic (a Rejection from validate or sign): it is journaled,
 * and if it names an event of a chain, events that follow it are rejected as
 * CHAIN_BROKEN_BEFORE. Garbage is journaled as an aggregator rejection of those bytes. */
int mt_ledger_note_rejection(mt_ledger *l, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                             int64_t offset, mt_decision_fn fn, void *arg);

/* Rebuilds state from one journaled LedgerEntry (replay after a restart, or an audit).
 * Returns 0, or -1 with errstr when the entry does not follow (index gap, or an event the
 * rules would not accept now: the journal and the rules disagree). */
int mt_ledger_replay(mt_ledger *l, const mt_registry *reg, const char *network_id, const uint8_t *entry, size_t len,
                     char *errstr, size_t errstr_size);

/* The next journal index. */
uint64_t mt_ledger_next_index(const mt_ledger *l);

/* How many events wait in the parking buffer, and the lowest source offset of the given
 * topic/partition among them (-1 if none): an input offset below it must not be committed,
 * or a crash would lose the parked event. */
size_t mt_ledger_parked(const mt_ledger *l);
int64_t mt_ledger_parked_low_offset(const mt_ledger *l, const char *topic, int32_t partition);

/* What a facility holds, for `mintrace inventory`: fn gets each live batch (mass > 0) it holds
 * or that is in transit to or from it. */
typedef struct mt_holding {
    const char *batch_id, *material, *holder, *in_transit_to;
    uint64_t mass_mg;
} mt_holding;
void mt_ledger_inventory(const mt_ledger *l, const char *facility_id, void (*fn)(void *arg, const mt_holding *h),
                         void *arg);

/* ---- provenance (docs/accounting.md), kept as the ledger applies events ---- */

/* What batch_id holds now, cell by cell, or NULL for an unknown batch. Valid until the next
 * change to the ledger. */
const mt_prov *mt_ledger_provenance(const mt_ledger *l, const char *batch_id);

/* The exited stock of batch_id (docs/ledger.md rule 13a): the cells its standing EXITs took out
 * of the system, less what standing RECYCLEs returned (mass_mg: what may still come back); NULL
 * when no standing EXIT took anything from it. Valid until the next change to the ledger. */
const mt_prov *mt_ledger_exited(const mt_ledger *l, const char *batch_id);

/* The ProvenanceRecord of batch_id as of the last entry that changed it (ledger_index), for
 * the provenance topic; NULL for an unknown batch or out of memory. mt_prov_record_free() it. */
Mintrace__V1__ProvenanceRecord *mt_ledger_provenance_record(const mt_ledger *l, const char *batch_id);

/* Mass balance (massbal.h): the recycled claim of batch_id when a facility under mass balance
 * made it or an ancestor (NULL otherwise: its claim is its provenance), and a facility's credit
 * account (NULL: it never had one). Valid until the next change to the ledger. */
const mt_prov *mt_ledger_claim(const mt_ledger *l, const char *batch_id);
const mt_massbal_account *mt_ledger_account(const mt_ledger *l, const char *facility_id);

/* The provenance state root (Checkpoint.provenance_root): the RFC 9162 Merkle root over every
 * batch ever made, in the order they were made (ProvenanceRecord.state_position), each leaf
 * mt_prov_state_leaf() of the id and the mt_prov_record_commit() of its latest record
 * (docs/accounting.md, "State root"). O(batches changed since the last root x log batches).
 * Returns 0, or -1 when out of memory or on an I/O error of the tree's file. */
int mt_ledger_provenance_root(const mt_ledger *l, unsigned char out[MT_HASH_LEN]);

/* The inclusion proof of batch_id's latest record in that tree: its leaf index, the number of
 * leaves, and the path (room for MT_MERKLE_MAX_INCLUSION hashes). Returns 0, 1 for an unknown
 * batch, or -1 when out of memory. */
int mt_ledger_provenance_proof(const mt_ledger *l, const char *batch_id, uint64_t *leaf_index, uint64_t *leaf_count,
                               unsigned char (*path)[MT_HASH_LEN], size_t *path_len);
/* The journaled registry version `version` (0: the newest), or NULL if it was never journaled.
 * Valid while the version stays journaled (an abort drops versions of its transaction). */
const mt_registry *mt_ledger_registry(const mt_ledger *l, uint64_t version);

#endif
