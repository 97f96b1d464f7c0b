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
    const char *brokers;     /* aggregate: to read the ledger's tail when assigned */
    const char *const *props;
    char t_submitted[160], t_validated[160], t_attested[160], t_rejected[160], t_ledger[160];
    /* aggregate: the journal's next index and what the open transaction adds to it
     * (state follows commits: pending is applied on commit, dropped on abort) */
    uint64_t next_index, pending;
    /* counters since start, of committed work (for the final log line) */
    uint64_t passed, rejected, pending_passed, pending_rejected;
} mt_stage_ctx;

/* Fills the topic names from the prefix ("mintrace."). */
void mt_stage_ctx_topics(mt_stage_ctx *ctx, const char *prefix);

/* validate: events.submitted -> events.validated, or a Rejection -> rejected. */
mt_stage_result mt_validate_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* sign: events.validated -> events.attested (notary attestation), or a Rejection. */
mt_stage_result mt_sign_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* aggregate: events.attested and rejected -> ledger, one entry each, gap-free indexes. */
mt_stage_result mt_aggregate_process(void *ctx, const rd_kafka_message_t *rkm, mt_outbox *ob);

/* aggregate: on assignment (after init_transactions fenced any older writer), reads the last
 * committed ledger entry and continues from its index + 1. */
int mt_aggregate_assigned(void *ctx, rd_kafka_t *producer, const rd_kafka_topic_partition_list_t *parts);

/* Transaction hooks shared by the stages: counters (and the journal index) follow commits. */
void mt_stage_txn_begin(void *ctx);
void mt_stage_txn_committed(void *ctx);
void mt_stage_txn_aborted(void *ctx);

#endif
