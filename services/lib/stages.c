/* stages — what validate, sign and aggregate do with one Kafka message (their process()). */
#include "stages.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "event.h"
#include "journal.h"
#include "log.h"
#include "notary.h"
#include "validate.h"

void mt_stage_ctx_topics(mt_stage_ctx *c, const char *prefix) {
    snprintf(c->t_submitted, sizeof(c->t_submitted), "%sevents.submitted", prefix);
    snprintf(c->t_validated, sizeof(c->t_validated), "%sevents.validated", prefix);
    snprintf(c->t_attested, sizeof(c->t_attested), "%sevents.attested", prefix);
    snprintf(c->t_rejected, sizeof(c->t_rejected), "%srejected", prefix);
    snprintf(c->t_ledger, sizeof(c->t_ledger), "%sledger", prefix);
}

void mt_stage_txn_begin(void *opaque) {
    mt_stage_ctx *c = opaque;
    c->pending = c->pending_passed = c->pending_rejected = 0;
}

void mt_stage_txn_committed(void *opaque) {
    mt_stage_ctx *c = opaque;
    c->next_index += c->pending;
    c->passed += c->pending_passed;
    c->rejected += c->pending_rejected;
    mt_stage_txn_begin(c);
}

void mt_stage_txn_aborted(void *opaque) {
    mt_stage_txn_begin(opaque); /* the same messages come again */
}

/* Logs a rejection with where it was read, and emits it to the rejected topic. */
static mt_stage_result reject(mt_stage_ctx *c, Mintrace__V1__Stage stage, const rd_kafka_message_t *rkm,
                              const mt_verdict *v, mt_outbox *ob) {
    size_t len;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    uint8_t *rej = mt_rejection_pack(v, stage, rkm->payload, rkm->len, topic, rkm->partition, rkm->offset,
                                     mt_now_ms(), &len);
    if (!rej) return MT_STAGE_FATAL;
    char part[16], off[24];
    snprintf(part, sizeof(part), "%d", (int)rkm->partition);
    snprintf(off, sizeof(off), "%lld", (long long)rkm->offset);
    mt_log_kv(MT_LOG_WARN, "rejected", "topic", topic, "partition", part, "offset", off, "facility",
              v->facility_id, "reason", mt_reason_name(v->code), "detail", v->detail, NULL);
    /* key: the facility when known, else the original key, so one facility's story stays in order */
    const void *key = v->facility_id[0] ? v->facility_id : rkm->key;
    size_t klen = v->facility_id[0] ? strlen(v->facility_id) : rkm->key_len;
    int rc = mt_outbox_add(ob, c->t_rejected, key, klen, rej, len);
    free(rej);
    c->pending_rejected++;
    return rc ? MT_STAGE_FATAL : MT_STAGE_OK;
}

mt_stage_result mt_validate_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    mt_verdict v;
    if (mt_validate_envelope(c->reg, c->network_id, rkm->payload, rkm->len, mt_now_ms(), &v))
        return reject(c, MINTRACE__V1__STAGE__STAGE_VALIDATE, rkm, &v, ob);
    c->pending_passed++;
    /* the bytes go on exactly as submitted: they are what was signed */
    return mt_outbox_add(ob, c->t_validated, v.facility_id, strlen(v.facility_id), rkm->payload, rkm->len)
               ? MT_STAGE_FATAL
               : MT_STAGE_OK;
}

mt_stage_result mt_sign_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    mt_verdict v;
    uint8_t *out;
    size_t len;
    int rc = mt_notary_attest(c->key, c->reg, c->network_id, rkm->payload, rkm->len, mt_now_ms(), &out, &len, &v);
    if (rc < 0) {
        mt_log_error("cannot attest: %s", v.detail);
        return MT_STAGE_FATAL;
    }
    if (rc > 0) return reject(c, MINTRACE__V1__STAGE__STAGE_SIGN, rkm, &v, ob);
    c->pending_passed++;
    rc = mt_outbox_add(ob, c->t_attested, v.facility_id, strlen(v.facility_id), out, len);
    free(out);
    return rc ? MT_STAGE_FATAL : MT_STAGE_OK;
}

static mt_stage_result journal(mt_stage_ctx *c, uint8_t *entry, size_t len, mt_outbox *ob) {
    if (!entry) return MT_STAGE_FATAL;
    unsigned char key[8];
    mt_journal_key(c->next_index + c->pending, key);
    int rc = mt_outbox_add(ob, c->t_ledger, key, sizeof(key), entry, len);
    free(entry);
    if (rc) return MT_STAGE_FATAL;
    c->pending++;
    return MT_STAGE_OK;
}

mt_stage_result mt_aggregate_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    uint64_t index = c->next_index + c->pending;
    size_t len;
    const char *topic = rd_kafka_topic_name(rkm->rkt);

    if (strcmp(topic, c->t_rejected) == 0) {
        uint8_t *entry = mt_journal_rejection_entry(index, rkm->payload, rkm->len, &len);
        if (entry) {
            c->pending_rejected++;
            return journal(c, entry, len, ob);
        }
        /* Garbage on the rejected topic is itself journaled as a rejection, never dropped. */
        mt_verdict v = {0};
        mt_verdict_reject(&v, MINTRACE__V1__REASON_CODE__REASON_CODE_UNDECODABLE_ENVELOPE,
                          "message on the rejected topic is not a Rejection");
        uint8_t *rej = mt_rejection_pack(&v, MINTRACE__V1__STAGE__STAGE_AGGREGATE, rkm->payload, rkm->len, topic,
                                         rkm->partition, rkm->offset, mt_now_ms(), &len);
        if (!rej) return MT_STAGE_FATAL;
        entry = mt_journal_rejection_entry(index, rej, len, &len);
        free(rej);
        c->pending_rejected++;
        return journal(c, entry, len, ob);
    }

    mt_attested a;
    mt_verdict v;
    uint8_t *entry;
    if (mt_attested_open(c->reg, c->network_id, rkm->payload, rkm->len, &a, &v)) {
        /* The aggregator's own rejections go straight into the journal (not to the rejected
         * topic, which it reads: that would journal them twice). */
        uint8_t *rej = mt_rejection_pack(&v, MINTRACE__V1__STAGE__STAGE_AGGREGATE, rkm->payload, rkm->len, topic,
                                         rkm->partition, rkm->offset, mt_now_ms(), &len);
        mt_attested_release(&a);
        if (!rej) return MT_STAGE_FATAL;
        mt_log_kv(MT_LOG_WARN, "rejected", "topic", topic, "facility", v.facility_id, "reason",
                  mt_reason_name(v.code), "detail", v.detail, NULL);
        entry = mt_journal_rejection_entry(index, rej, len, &len);
        free(rej);
        c->pending_rejected++;
        return journal(c, entry, len, ob);
    }
    entry = mt_journal_event_entry(index, &a, &len);
    mt_attested_release(&a);
    c->pending_passed++;
    return journal(c, entry, len, ob);
}

int mt_aggregate_assigned(void *opaque, rd_kafka_t *producer, const rd_kafka_topic_partition_list_t *parts) {
    mt_stage_ctx *c = opaque;
    (void)producer;
    (void)parts;
    void *val = NULL;
    size_t len = 0;
    int found = 0;
    char err[512];
    if (mt_kafka_last_message(c->brokers, c->props, c->t_ledger, 0, 30000, &val, &len, &found, err, sizeof(err))) {
        mt_log_error("cannot read the ledger's tail: %s", err);
        return -1;
    }
    c->next_index = 0;
    if (found) {
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, val);
        free(val);
        if (!e) {
            mt_log_error("the last message of %s is not a LedgerEntry: refusing to append after it", c->t_ledger);
            return -1;
        }
        c->next_index = e->index + 1;
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    }
    mt_stage_txn_begin(c);
    mt_log_info("journal continues at index %llu", (unsigned long long)c->next_index);
    return 0;
}
