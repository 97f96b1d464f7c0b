/* stages — what validate, sign and aggregate do with one Kafka message (their process()). */
#ifndef MT_STAGES_H
#define MT_STAGES_H

#include <stdint.h>

#include "kafka.h"
#include "registry.h"

/* Everything a stage's process() needs; one per running stage. */
typedef struct mt_stage_ctx {
    const mt_registry *reg;
    const char *network_id;
    const mt_keypair *key;   /* sign: the notary key */
    const char *brokers;     /* aggregate: to replay the journal when assigned */
    const char *const *props;
    const char *group_id;    /* aggregate: its consumer group, for the committed offsets */
    const struct mt_ledger_conf *ledger_conf; /* aggregate: NULL = defaults */
    char t_submitted[160], t_validated[160], t_attested[160], t_rejected[160], t_ledger[160];
    /* aggregate: the ledger (its state follows commits), and the input messages a restart
     * reads again although they were journaled before the crash (skipped once each) */
    struct mt_ledger *ledger;
    struct mt_map *skip;
    int failed;
    /* counters of committed work (for the final log line) */
    uint64_t passed, rejected, duplicates, pending_passed, pending_rejected, pending_duplicates;
} mt_stage_ctx;

/* Fills the topic names from the prefix ("mintrace."). */
void mt_stage_ctx_topics(mt_stage_ctx *ctx, const char *prefix);

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

/* Transaction hooks shared by the stages: counters (and the journal index) follow commits. */
void mt_stage_txn_begin(void *ctx);
void mt_stage_txn_committed(void *ctx);
void mt_stage_txn_aborted(void *ctx);

#endif
