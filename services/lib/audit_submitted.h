/* audit_submitted — the audit's account of events.submitted: every message a producer
 * submitted must be judged in the journal, and one that no stage ever judged is named. */
#ifndef MT_AUDIT_SUBMITTED_H
#define MT_AUDIT_SUBMITTED_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "codec.h"

/*
 * Identity: BLAKE2b-256 of the submitted message's bytes. Every stage passes those bytes on
 * unchanged: validate forwards them to events.validated, the notary wraps them as
 * AttestedEvent.envelope, and a Rejection (validate's, sign's) carries them as `original` (the
 * aggregator's carries the attested bytes, whose envelope is them). So a journal entry accounts
 * for a submitted message when the envelope it journals (accepted, duplicate, aggregator
 * rejection) or the original bytes of a noted Rejection hash to the same identity; garbage that
 * is not an envelope is matched by the hash of its bytes the same way. Identical bytes
 * submitted k times need k entries (exactly-once: each copy is judged once).
 *
 * Order of feeding: the journal (the replay calls mt_audit_sub_entry for each entry), then
 * events.submitted (mt_audit_submitted_partition, mt_audit_submitted), then the rejected topic
 * (mt_audit_rejected_partition, mt_audit_rejected), read after the journal; then
 * mt_audit_finish(). An unmatched message is UNJUDGED only when the pipeline's ordering
 * guarantees show it is not in flight (docs/auditing.md, "Every submitted message is judged");
 * else it is pending.
 *
 * The identities of the journal go to an on-disk table (store.h) as the replay passes, so the
 * memory held is per unmatched submitted message, not per journal entry.
 */

/* The account of events.submitted. */
typedef struct mt_audit_sub_totals {
    int read;                /* events.submitted was read (some partition was given) */
    int rejected_read;       /* the rejected topic was read whole (from offset 0, after the journal) */
    uint64_t submitted;      /* messages read = judged + pending + unjudged */
    uint64_t judged, pending, unjudged;
    uint64_t ambiguous;      /* of pending: the same bytes submitted more than once, one copy unmatched */
    uint64_t unjudged_after; /* the rule's bound (entries past the later event's index) */
    int cut_partitions;      /* partitions whose low watermark is above 0 (retention deleted the start) */
    uint64_t cut_messages;   /* the offsets before those watermarks (not judged) */
    char cut[256];           /* "p@low, ..." of those partitions */
    char topic[200];         /* the submitted topic as read */
} mt_audit_sub_totals;

typedef struct mt_audit_sub mt_audit_sub;

/* A new account (NULL when out of memory). unjudged_after: the bound of the rule (0: the
 * ledger's default park_max_age). The on-disk table is opened under spill_dir (NULL: $TMPDIR)
 * at the first journal entry. */
mt_audit_sub *mt_audit_sub_new(uint64_t unjudged_after, const char *spill_dir);
void mt_audit_sub_free(mt_audit_sub *s);

/* The replay's hook: one journal entry at its index. Returns 0, or -1 (out of memory, disk). */
int mt_audit_sub_entry(mt_audit_sub *s, const Mintrace__V1__LedgerEntry *e);

/* Ends the account (after the rejected topic) and returns the number of its findings, which
 * are in *out (valid until mt_audit_sub_free); -1 when out of memory or the disk failed. */
long mt_audit_sub_finish(mt_audit_sub *s, const mt_finding **out);

/* ---- the auditor's side (defined in audit.c and audit_submitted.c) ---- */

/* The auditor's account (never NULL for an auditor that was made). */
mt_audit_sub *mt_audit_sub_of(const mt_audit *a);

/* Before the first journal entry: enabled 0 skips the account (nothing recorded: --no-submitted);
 * spill_dir for the on-disk table (NULL: $TMPDIR); unjudged_after as for mt_audit_sub_new.
 * Returns 0, or -1 when out of memory. */
int mt_audit_submitted_conf(mt_audit *a, int enabled, const char *spill_dir, uint64_t unjudged_after);

/* One partition of events.submitted and its watermarks (low > 0: retention deleted the start). */
int mt_audit_submitted_partition(mt_audit *a, const char *topic, int32_t partition, int64_t low, int64_t high);

/* One message of events.submitted, in partition order. Returns 0, or -1 (out of memory, disk). */
int mt_audit_submitted(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                       int64_t offset);

/* One partition of the rejected topic, read after the journal, and its watermarks. */
int mt_audit_rejected_partition(mt_audit *a, const char *topic, int32_t partition, int64_t low, int64_t high);

/* One message of the rejected topic: where an unmatched submitted message's rejection is. */
int mt_audit_rejected(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                      int64_t offset);

/* The account (after mt_audit_finish). */
const mt_audit_sub_totals *mt_audit_submitted_totals(const mt_audit *a);

#endif
