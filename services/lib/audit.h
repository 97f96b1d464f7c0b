/* audit — the independent verifier: replays the journal with the ledger's own rules and names
 * every way the published history differs from what the signatures and the rules allow. */
#ifndef MT_AUDIT_H
#define MT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "registry.h"

/*
 * An auditor trusts no service. Fed the topics a deployment published, it
 *   - checks every entry's index (ledger indexes, never Kafka offsets) and recomputes its
 *     Merkle leaf from the bytes it journals;
 *   - re-decides every entry with a fresh mt_ledger (ledger.c's rules, the registry versions
 *     journaled in the same order, notary signatures checked there) and re-judges every
 *     rejection: a valid event that was rejected is CENSORED;
 *   - verifies every facility signature against the registry version the notary attested with,
 *     at the notary's time (rotation and revocation honoured), on all cores;
 *   - recomputes the RFC 9162 tree and the provenance of every batch, and compares each signed
 *     checkpoint (size, root, provenance root, aggregator signature), each published provenance
 *     record (as of its ledger index) and each receipt (signature, status, inclusion proof);
 *   - checks a trusted checkpoint kept from an earlier audit (truncation, fork).
 *
 * Order of feeding: the commitments first — checkpoints (mt_audit_checkpoint), provenance
 * records (mt_audit_provenance), a trusted checkpoint — each in its topic's order; then the
 * ledger entries in topic order (mt_audit_entry); then receipts (mt_audit_receipt); then
 * mt_audit_finish(). Commitments are checked the moment the replay reaches the tree size or
 * ledger index they name, so the replay never has to go back (a checkpoint fed later is checked
 * against the root kept for its size, without its provenance root; a provenance record fed
 * after the replay passed its index cannot be checked and is reported as forged). Findings come out sorted by
 * ledger index, then in the order they were found: the same input gives the same report
 * whatever the number of threads.
 */

/* One thing wrong, located. kind is a stable code (docs/auditing.md lists them all). */
typedef struct mt_finding {
    const char *kind;     /* "ALTERED_PAYLOAD", "CENSORED", ... (static string) */
    int64_t index;        /* the ledger index it concerns, -1 if none */
    char event_id[65];    /* hex, "" if none */
    char facility[128];   /* "" if unknown */
    char rule[48];        /* the ledger reason code or check that failed, "" if none */
    char topic[200];      /* where the offending message was read, "" if nowhere */
    int32_t partition;
    int64_t offset;       /* -1 if none */
    char detail[300];     /* one line for people */
    uint64_t seq;         /* discovery order, the tie-break of the sort */
} mt_finding;

typedef struct mt_audit_conf {
    const char *network_id;
    const unsigned char *gov_pk;        /* the trust root: signer of the first registry version */
    const mt_registry *registry;        /* judges events before any version is journaled (may be NULL) */
    const mt_ledger_conf *ledger_conf;  /* NULL = the defaults (must match the aggregator's) */
    int threads;                        /* signature checkers; 0 = every online core */
    size_t batch;                       /* entries verified per parallel batch; 0 = 4096 */
    int spill;                          /* the ledger keeps spent state on disk (mt_ledger_spill) */
    const char *spill_dir;              /* ... in temporary files here; NULL = $TMPDIR or /tmp */
} mt_audit_conf;

/* Per-material figures, summed over the batches made in the audited history (as made). */
#define MT_AUDIT_MAX_ELEMENTS  12
#define MT_AUDIT_MAX_COUNTRIES 12
typedef struct mt_audit_country {
    char country[4];
    uint64_t mg;
} mt_audit_country;
typedef struct mt_audit_element {
    char element[4];
    uint64_t total_mg, pre_mg, post_mg, untracked_mg, unattributed_mg;
    size_t n_extraction;
    mt_audit_country extraction[MT_AUDIT_MAX_COUNTRIES];
} mt_audit_element;
typedef struct mt_audit_material {
    char material[64];
    uint64_t batches, mass_mg;
    size_t n_elements;
    mt_audit_element elements[MT_AUDIT_MAX_ELEMENTS];
} mt_audit_material;

/* Mass moved by accepted TRANSFERs from one facility role to another. */
typedef struct mt_audit_flow {
    int from_role, to_role; /* Mintrace__V1__FacilityRole */
    uint64_t transfers, mass_mg;
} mt_audit_flow;

typedef struct mt_audit_totals {
    uint64_t entries, accepted, rejected, duplicates, registry_versions;
    uint64_t checkpoints, checkpoints_verified, provenance_records, receipts, kept_receipts;
    uint64_t receipts_ahead;  /* published receipts of entries written after the journal was read */
    uint64_t signatures;      /* signatures verified (facility, notary, aggregator) */
    uint64_t tree_size;       /* leaves recomputed */
    unsigned char root[32];   /* their root */
    uint64_t checkpoint_size; /* the newest checkpoint that verified: its size (0 = none) */
    unsigned char checkpoint_root[32];
} mt_audit_totals;

typedef struct mt_audit mt_audit;

/* A new auditor, or NULL with errstr (out of memory, no network id or governance key, a spill
 * file that cannot be made). With conf->spill, what the auditor itself keeps that grows with the
 * length of history (a row per journal entry, published provenance record, batch, checkpoint)
 * goes to temporary files in conf->spill_dir too, unlinked at once; without, it is in memory. */
mt_audit *mt_audit_new(const mt_audit_conf *conf, char *errstr, size_t errstr_size);
void mt_audit_free(mt_audit *a);

/* The commitments. Bytes are copied where kept. Return 0, or -1 when out of memory. */
int mt_audit_checkpoint(mt_audit *a, const uint8_t *env, size_t len, const char *topic, int32_t partition,
                        int64_t offset);
int mt_audit_provenance(mt_audit *a, const uint8_t *rec, size_t len, const char *topic, int32_t partition,
                        int64_t offset);
/* The checkpoint envelope this auditor (or a witness) trusted before: the history must extend it. */
int mt_audit_trusted_checkpoint(mt_audit *a, const uint8_t *env, size_t len, const char *source);

/* One message of the ledger topic, in topic order. Returns 0, or -1 when out of memory. */
int mt_audit_entry(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                   int64_t offset);

/* One receipt envelope: from a receipts topic (kept = 0), or kept by a producer (kept = 1; it
 * must be included in the audited history). The first call ends the journal. */
int mt_audit_receipt(mt_audit *a, const uint8_t *env, size_t len, const char *topic, int32_t partition,
                     int64_t offset, int kept);

/* Ends the audit: the last checks (stale provenance, checkpoints past the end). Returns the
 * number of findings, or -1 when out of memory. */
long mt_audit_finish(mt_audit *a);

/* The findings, sorted (valid until mt_audit_free). */
size_t mt_audit_findings(const mt_audit *a, const mt_finding **out);
const mt_audit_totals *mt_audit_get_totals(const mt_audit *a);
size_t mt_audit_materials(const mt_audit *a, const mt_audit_material **out);
size_t mt_audit_flows(const mt_audit *a, const mt_audit_flow **out);

/* The newest checkpoint envelope that verified (signature, size, root, provenance root): the
 * next audit's trusted checkpoint. NULL when none did. */
const uint8_t *mt_audit_newest_checkpoint(const mt_audit *a, size_t *len);

/* Entries processed so far (for a progress bar). */
uint64_t mt_audit_progress(const mt_audit *a);

/* What the auditor itself holds, besides the ledger it replays (docs/auditing.md, "Cost,
 * measured"). What grows with the length of history is in the spill directory (on_disk), or in
 * memory when the audit was told not to spill. */
typedef struct mt_audit_mem {
    int on_disk;
    uint64_t entries_ram, entries_disk; /* journal entries: leaf, root at that size, subject (97 B) */
    uint64_t records_ram, records_disk; /* published provenance records (72 B, and their index) */
    uint64_t batches_ram, batches_disk; /* batches: final figures, newest record (88 B, and their ids) */
    uint64_t checkpoints_ram, checkpoints_disk; /* signed checkpoints (48 B and the envelope); in
                                                 * memory: only those that went back in size */
    uint64_t keys;                      /* lookups by batch id and by batch and index */
    uint64_t ram_bytes;                 /* bytes of the above in memory (write buffers when on disk) */
    uint64_t disk_bytes;                /* bytes of the above on disk */
    uint64_t work_bytes;                /* the largest batch of work in flight (bounded by conf.batch) */
    /* the ledger the auditor replays (mt_ledger_stats): what grows with the live batches */
    uint64_t live_batches;      /* batches in its memory: with spill, those holding mass or in transit */
    uint64_t ledger_ram_bytes;  /* keys and values of its maps in memory */
    uint64_t ledger_disk_bytes; /* its store and state tree on disk (0 without spill) */
} mt_audit_mem;

/* Fills m with the auditor's memory figures so far. */
void mt_audit_memory(const mt_audit *a, mt_audit_mem *m);

#endif
