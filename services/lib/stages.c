/* stages — what validate, sign and aggregate do with one Kafka message (their process()). */
#include "stages.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "event.h"
#include "journal.h"
#include "ledger.h"
#include "map.h"
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
    c->pending_passed = c->pending_rejected = c->pending_duplicates = 0;
}

void mt_stage_txn_committed(void *opaque) {
    mt_stage_ctx *c = opaque;
    c->passed += c->pending_passed;
    c->rejected += c->pending_rejected;
    c->duplicates += c->pending_duplicates;
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

/* ---- aggregate ---- */

/* "topic/partition/offset", the key of the skip set. */
static size_t source_key(char *buf, size_t size, const char *topic, int32_t partition, int64_t offset) {
    int n = snprintf(buf, size, "%s/%d/%lld", topic, (int)partition, (long long)offset);
    return n > 0 && (size_t)n < size ? (size_t)n : size - 1;
}

typedef struct journal_out {
    mt_stage_ctx *c;
    mt_outbox *ob;
} journal_out;

/* One decision of the ledger -> one ledger entry in the outbox (same transaction). */
static void on_decision(void *arg, const mt_decision *d) {
    journal_out *jo = arg;
    mt_stage_ctx *c = jo->c;
    uint8_t *entry;
    size_t len;
    unsigned char leaf[MT_HASH_LEN], key[8];
    if (mt_journal_entry(d, mt_now_ms(), &entry, &len, leaf)) {
        c->failed = 1;
        return;
    }
    mt_journal_key(d->index, key);
    if (mt_outbox_add(jo->ob, c->t_ledger, key, sizeof(key), entry, len)) c->failed = 1;
    free(entry);
    switch (d->kind) {
    case MT_DECIDED_ACCEPTED: c->pending_passed++; break;
    case MT_DECIDED_DUPLICATE: c->pending_duplicates++; break;
    case MT_DECIDED_REJECTED:
        mt_log_kv(MT_LOG_WARN, "rejected", "facility", d->verdict.facility_id, "reason", mt_reason_name(d->verdict.code),
                  "detail", d->verdict.detail, NULL);
        c->pending_rejected++;
        break;
    case MT_NOTED_REJECTION: c->pending_rejected++; break;
    }
}

mt_stage_result mt_aggregate_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    char key[256];
    size_t klen = source_key(key, sizeof(key), topic, rkm->partition, rkm->offset);
    if (c->skip && mt_map_remove(c->skip, key, klen)) return MT_STAGE_OK; /* journaled before a restart */

    journal_out jo = {c, ob};
    int rc = strcmp(topic, c->t_rejected) == 0
                 ? mt_ledger_note_rejection(c->ledger, rkm->payload, rkm->len, topic, rkm->partition, rkm->offset,
                                            on_decision, &jo)
                 : mt_ledger_offer(c->ledger, c->reg, c->network_id, rkm->payload, rkm->len, topic, rkm->partition,
                                   rkm->offset, on_decision, &jo);
    if (rc || c->failed) {
        mt_log_error("aggregate: out of memory journaling %s [%d] @%lld", topic, (int)rkm->partition,
                     (long long)rkm->offset);
        c->failed = 0;
        return MT_STAGE_FATAL;
    }
    return MT_STAGE_OK;
}

void mt_aggregate_txn_begin(void *opaque) {
    mt_stage_ctx *c = opaque;
    mt_stage_txn_begin(c);
    mt_ledger_begin(c->ledger);
}

void mt_aggregate_txn_committed(void *opaque) {
    mt_stage_ctx *c = opaque;
    mt_ledger_commit(c->ledger);
    mt_stage_txn_committed(c);
}

void mt_aggregate_txn_aborted(void *opaque) {
    mt_stage_ctx *c = opaque;
    mt_ledger_abort(c->ledger);
    mt_stage_txn_aborted(c);
}

int64_t mt_aggregate_offset_floor(void *opaque, const char *topic, int32_t partition) {
    mt_stage_ctx *c = opaque;
    return mt_ledger_parked_low_offset(c->ledger, topic, partition);
}

typedef struct replayer {
    mt_stage_ctx *c;
    const rd_kafka_topic_partition_list_t *committed;
    char err[512];
    int failed;
    uint64_t entries;
} replayer;

static int replay_one(void *arg, const rd_kafka_message_t *rkm) {
    replayer *r = arg;
    if (mt_ledger_replay(r->c->ledger, r->c->reg, r->c->network_id, rkm->payload, rkm->len, r->err,
                         sizeof(r->err))) {
        r->failed = 1;
        return 1;
    }
    r->entries++;
    /* an input at or above the committed offset that is journaled already: skip it once */
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, rkm->len, rkm->payload);
    if (!e) return 0;
    for (int i = 0; i < r->committed->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &r->committed->elems[i];
        if (p->partition == e->source_partition && strcmp(p->topic, e->source_topic) == 0 && p->offset >= 0 &&
            e->source_offset >= p->offset) {
            char key[256];
            size_t klen = source_key(key, sizeof(key), e->source_topic, e->source_partition, e->source_offset);
            mt_map_put(r->c->skip, key, klen, r->c); /* any non-NULL value */
        }
    }
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return 0;
}

int mt_aggregate_assigned(void *opaque, rd_kafka_t *producer, const rd_kafka_topic_partition_list_t *parts) {
    mt_stage_ctx *c = opaque;
    (void)producer;
    char err[512];
    int rc = -1;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    /* the group's committed offsets, read by a consumer that never joins the group */
    rd_kafka_conf_t *conf = mt_kafka_conf_new(c->brokers, c->props, err, sizeof(err));
    rd_kafka_t *rk = conf ? mt_kafka_consumer_new(conf, c->group_id, err, sizeof(err)) : NULL;
    rd_kafka_resp_err_t kerr = rk ? rd_kafka_committed(rk, committed, 30000) : RD_KAFKA_RESP_ERR__FAIL;
    if (rk) rd_kafka_destroy(rk);
    if (kerr) {
        mt_log_error("aggregate: cannot read the committed offsets: %s", rk ? rd_kafka_err2str(kerr) : err);
        goto out;
    }
    /* the state is what the journal says: rebuild it from the first entry */
    mt_ledger_free(c->ledger);
    mt_map_free(c->skip, NULL);
    c->ledger = mt_ledger_new(c->ledger_conf);
    c->skip = mt_map_new();
    if (!c->ledger || !c->skip) goto out;
    replayer r = {.c = c, .committed = committed};
    if (mt_kafka_read_topic(c->brokers, c->props, c->t_ledger, RD_KAFKA_OFFSET_BEGINNING, -1, 1, NULL, replay_one, &r,
                            err, sizeof(err))) {
        mt_log_error("aggregate: cannot read %s: %s", c->t_ledger, err);
        goto out;
    }
    if (r.failed) {
        mt_log_error("aggregate: refusing to append to %s: %s", c->t_ledger, r.err);
        goto out;
    }
    mt_ledger_commit(c->ledger);
    mt_log_info("journal replayed: %llu entries, continuing at index %llu; %zu input(s) to skip once",
                (unsigned long long)r.entries, (unsigned long long)mt_ledger_next_index(c->ledger),
                mt_map_count(c->skip));
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}
