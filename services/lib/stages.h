/* stages — what validate, sign and aggregate do with one Kafka message (their process()). */
#ifndef MT_STAGES_H
#define MT_STAGES_H

#include <stdint.h>

#include "kafka.h"
#include "merkle.h"
#include "registry.h"

/* Everything a stage's process() needs; one per running stage. */
typedef struct mt_stage_ctx {
    const mt_registry *reg;
    const char *network_id;
    const mt_keypair *key;   /* sign: the notary key; aggregate: the aggregator key */
    struct mt_registry_follower *follow; /* validate, sign: newer registry versions (may be NULL) */
    const char *brokers;     /* aggregate: to replay the journal when assigned */
    const char *const *props;
    const char *group_id;    /* aggregate: its consumer group, for the committed offsets */
    const struct mt_ledger_conf *ledger_conf; /* aggregate: NULL = defaults */
    const char *spill_dir;   /* aggregate: the ledger keeps spent state in files here (mt_ledger_spill); NULL: in RAM */
    const char *prefix;
    char t_submitted[160], t_validated[160], t_attested[160], t_rejected[160], t_ledger[160], t_checkpoints[160],
        t_receipts[160], t_registry[160], t_provenance[160];
    const unsigned char *gov_pk; /* aggregate: the governance key the first registry version is signed by */
    /* aggregate: the ledger (its state follows commits), and the input messages a restart
     * reads again although they were journaled before the crash (skipped whenever read) */
    struct mt_ledger *ledger;
    struct mt_map *skip;
    struct mt_map *receipt_topics; /* the per-facility receipts topics that exist */
    int failed;
    /* aggregate: the journal's Merkle tree and the last checkpoint, with their values when
     * the open transaction began (restored on abort) */
    mt_merkle_frontier tree, tree_at_begin;
    uint64_t cp_size, cp_size_at_begin;
    int64_t cp_ms, cp_ms_at_begin;
    uint64_t cp_every;       /* a checkpoint at least every this many entries (default 1000) */
    int64_t cp_every_ms;     /* ... or this often when entries were added (default 1000 ms) */
    /* counters of committed work (for the final log line) */
    uint64_t passed, rejected, duplicates, pending_passed, pending_rejected, pending_duplicates;
} mt_stage_ctx;

/* Fills the topic names from the prefix ("mintrace."). */
void mt_stage_ctx_topics(mt_stage_ctx *ctx, const char *prefix);

/* validate, sign: idle(): a registry version that arrived while the input was quiet takes
 * effect (and is logged "in force") now, not with the next message. */
void mt_stage_follow_registry(void *ctx);

/* validate: events.submitted -> events.validated, or a Rejection -> rejected. */
mt_stage_result mt_validate_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* sign: events.validated -> events.attested (notary attestation), or a Rejection. */
mt_stage_result mt_sign_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* aggregate: events.attested and rejected -> ledger, one entry each, gap-free indexes. */
mt_stage_result mt_aggregate_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* aggregate: on assignment (after init_transactions fenced any older writer), rebuilds the
 * ledger by replaying the journal and notes which inputs at or above the group's committed
 * offsets were journaled already (a crash between the two must not journal them twice). */
int mt_aggregate_assigned(void *ctx, rd_kafka_t *producer, const rd_kafka_topic_partition_list_t *parts);

/* aggregate: transaction hooks (the ledger's state follows commits) and the offset floor (the
 * parking buffer's oldest input). */
void mt_aggregate_txn_begin(void *ctx);
void mt_aggregate_txn_committed(void *ctx);
void mt_aggregate_txn_aborted(void *ctx);
int64_t mt_aggregate_offset_floor(void *ctx, const char *topic, int32_t partition);

/* aggregate: a signed checkpoint (tree size, root) joins the transaction when enough entries
 * or time passed since the last, and always when closing with entries not yet covered. */
mt_stage_result mt_aggregate_before_commit(void *ctx, mt_outbox *ob, int closing);

/* The audit path of the newest leaf of a tree of f's size + 1, from f (the tree before that
 * leaf was appended): RFC 9162 order, nearest sibling first. Returns how many hashes. */
size_t mt_merkle_newest_path(const mt_merkle_frontier *f, unsigned char path[MT_MERKLE_MAX_INCLUSION][32]);

/* Transaction hooks shared by the stages: counters (and the journal index) follow commits. */
void mt_stage_txn_begin(void *ctx);
void mt_stage_txn_committed(void *ctx);
void mt_stage_txn_aborted(void *ctx);

#endif
