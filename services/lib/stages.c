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
#include "provenance.h"
#include "registry_follow.h"
#include "validate.h"

void mt_stage_ctx_topics(mt_stage_ctx *c, const char *prefix) {
    snprintf(c->t_submitted, sizeof(c->t_submitted), "%sevents.submitted", prefix);
    snprintf(c->t_validated, sizeof(c->t_validated), "%sevents.validated", prefix);
    snprintf(c->t_attested, sizeof(c->t_attested), "%sevents.attested", prefix);
    snprintf(c->t_rejected, sizeof(c->t_rejected), "%srejected", prefix);
    snprintf(c->t_ledger, sizeof(c->t_ledger), "%sledger", prefix);
    snprintf(c->t_checkpoints, sizeof(c->t_checkpoints), "%scheckpoints", prefix);
    snprintf(c->t_receipts, sizeof(c->t_receipts), "%sreceipts", prefix);
    snprintf(c->t_registry, sizeof(c->t_registry), "%sregistry", prefix);
    snprintf(c->t_provenance, sizeof(c->t_provenance), "%sprovenance", prefix);
    c->prefix = prefix;
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

void mt_stage_follow_registry(void *opaque) {
    mt_stage_ctx *c = opaque;
    if (c->follow) c->reg = mt_registry_follower_poll(c->follow);
}

mt_stage_result mt_validate_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    mt_verdict v;
    if (c->follow) c->reg = mt_registry_follower_poll(c->follow);
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
    if (c->follow) c->reg = mt_registry_follower_poll(c->follow); /* the version it attests */
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

size_t mt_merkle_newest_path(const mt_merkle_frontier *f, unsigned char path[MT_MERKLE_MAX_INCLUSION][32]) {
    size_t n = 0;
    for (int i = 0; i < MT_MERKLE_LEVELS; i++)
        if (f->size >> i & 1) memcpy(path[n++], f->level[i], 32);
    return n;
}

/* Seals a message with the aggregator key into the outbox; -1 when out of memory. */
static int seal_to(mt_stage_ctx *c, mt_outbox *ob, const char *topic, const void *key, size_t klen,
                   const ProtobufCMessage *m, const char *type) {
    size_t plen, elen;
    uint8_t *payload = mt_message_pack(m, &plen), *env = NULL;
    int rc = !payload || mt_envelope_seal(c->key, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR, type, payload, plen,
                                          &env, &elen) ||
             mt_outbox_add(ob, topic, key, klen, env, elen);
    free(payload);
    free(env);
    return rc ? -1 : 0;
}

/* The receipt a facility gets for a decision about its event, signed by the aggregator, on
 * its own receipts topic when it has one (ACLs keep facilities apart), else the shared one. */
static int send_receipt(mt_stage_ctx *c, mt_outbox *ob, const mt_decision *d,
                        unsigned char path[MT_MERKLE_MAX_INCLUSION][32], size_t path_len) {
    Mintrace__V1__Receipt r = MINTRACE__V1__RECEIPT__INIT;
    Mintrace__V1__Rejection *rej = NULL;
    ProtobufCBinaryData proof[MT_MERKLE_MAX_INCLUSION];
    const char *facility = d->verdict.facility_id;
    r.event_id = (ProtobufCBinaryData){d->verdict.has_event_id ? MT_HASH_LEN : 0, (uint8_t *)d->verdict.event_id};
    r.ledger_index = d->index;
    r.reason = d->verdict.code;
    r.detail = (char *)d->verdict.detail;
    switch (d->kind) {
    case MT_DECIDED_REGISTRY: return 0; /* nobody's event: no receipt */
    case MT_DECIDED_ACCEPTED: r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_ACCEPTED; break;
    case MT_DECIDED_DUPLICATE: r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_DUPLICATE; break;
    case MT_DECIDED_REJECTED: r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_REJECTED; break;
    case MT_NOTED_REJECTION:
        rej = mintrace__v1__rejection__unpack(NULL, d->len, d->bytes);
        if (!rej) return 0;
        r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_REJECTED;
        facility = rej->facility_id;
        r.event_id = rej->event_id;
        r.reason = rej->code;
        r.detail = rej->detail;
        break;
    }
    int rc = 0;
    if (!facility[0]) goto out; /* nobody to tell: the bytes named no facility */
    r.facility_id = (char *)facility;
    r.time_ms = mt_now_ms();
    r.tree_size = d->index + 1;
    for (size_t i = 0; i < path_len; i++) proof[i] = (ProtobufCBinaryData){32, path[i]};
    r.n_inclusion_proof = path_len;
    r.inclusion_proof = proof;
    char topic[300];
    snprintf(topic, sizeof(topic), "%s.%s", c->t_receipts, facility);
    const char *dest = c->receipt_topics && mt_map_get(c->receipt_topics, topic, strlen(topic)) ? topic : c->t_receipts;
    rc = seal_to(c, ob, dest, facility, strlen(facility), &r.base, MT_PAYLOAD_RECEIPT);
out:
    if (rej) mintrace__v1__rejection__free_unpacked(rej, NULL);
    return rc;
}

/* One decision of the ledger -> its ledger entry, its leaf in the tree and its receipt, all
 * in the outbox (the same transaction). */
static void on_decision(void *arg, const mt_decision *d) {
    journal_out *jo = arg;
    mt_stage_ctx *c = jo->c;
    uint8_t *entry;
    size_t len;
    unsigned char leaf[MT_HASH_LEN], key[8], path[MT_MERKLE_MAX_INCLUSION][32];
    if (mt_journal_entry(d, mt_now_ms(), &entry, &len, leaf)) {
        c->failed = 1;
        return;
    }
    mt_journal_key(d->index, key);
    if (mt_outbox_add(jo->ob, c->t_ledger, key, sizeof(key), entry, len)) c->failed = 1;
    free(entry);
    size_t path_len = mt_merkle_newest_path(&c->tree, path);
    mt_merkle_frontier_append(&c->tree, leaf);
    if (c->key && send_receipt(c, jo->ob, d, path, path_len)) c->failed = 1;
    /* every batch whose provenance changed: its record, keyed by batch id (compacted topic), so
     * a batch whose mass reached 0 keeps its final record */
    for (size_t i = 0; i < d->n_changed && !c->failed; i++) {
        Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(c->ledger, d->changed[i]);
        size_t plen;
        uint8_t *p = rec ? mt_message_pack(&rec->base, &plen) : NULL;
        if (!p || mt_outbox_add(jo->ob, c->t_provenance, d->changed[i], strlen(d->changed[i]), p, plen)) c->failed = 1;
        free(p);
        mt_prov_record_free(rec);
    }
    switch (d->kind) {
    case MT_DECIDED_ACCEPTED: c->pending_passed++; break;
    case MT_DECIDED_DUPLICATE: c->pending_duplicates++; break;
    case MT_DECIDED_REJECTED:
        mt_log_kv(MT_LOG_WARN, "rejected", "facility", d->verdict.facility_id, "reason", mt_reason_name(d->verdict.code),
                  "detail", d->verdict.detail, NULL);
        c->pending_rejected++;
        break;
    case MT_NOTED_REJECTION: c->pending_rejected++; break;
    case MT_DECIDED_REGISTRY:
        mt_log_info("registry version %llu journaled at index %llu",
                    (unsigned long long)mt_ledger_registry_version(c->ledger), (unsigned long long)d->index);
        break;
    }
}

mt_stage_result mt_aggregate_before_commit(void *opaque, mt_outbox *ob, int closing) {
    mt_stage_ctx *c = opaque;
    uint64_t size = mt_merkle_frontier_size(&c->tree);
    int64_t now = mt_now_ms();
    uint64_t every = c->cp_every ? c->cp_every : 1000;
    int64_t every_ms = c->cp_every_ms ? c->cp_every_ms : 1000;
    if (!c->key || size == c->cp_size) return MT_STAGE_OK;
    if (!closing && size - c->cp_size < every && now - c->cp_ms < every_ms) return MT_STAGE_OK;
    unsigned char root[MT_HASH_LEN], proot[MT_HASH_LEN], key[8];
    mt_merkle_frontier_root(&c->tree, root);
    if (c->ledger && mt_ledger_provenance_root(c->ledger, proot)) return MT_STAGE_FATAL;
    Mintrace__V1__Checkpoint cp = MINTRACE__V1__CHECKPOINT__INIT;
    cp.network_id = (char *)c->network_id;
    cp.tree_size = size;
    cp.root = (ProtobufCBinaryData){MT_HASH_LEN, root};
    if (c->ledger) cp.provenance_root = (ProtobufCBinaryData){MT_HASH_LEN, proot};
    cp.time_ms = now;
    /* the version journaled at this size (what an auditor's replay has in force), not the file's */
    cp.registry_version = c->ledger ? mt_ledger_registry_version(c->ledger) : mt_registry_version(c->reg);
    mt_journal_key(size, key);
    if (seal_to(c, ob, c->t_checkpoints, key, sizeof(key), &cp.base, MT_PAYLOAD_CHECKPOINT)) return MT_STAGE_FATAL;
    c->cp_size = size;
    c->cp_ms = now;
    return MT_STAGE_OK;
}

mt_stage_result mt_aggregate_process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    mt_stage_ctx *c = opaque;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    char key[256];
    size_t klen = source_key(key, sizeof(key), topic, rkm->partition, rkm->offset);
    /* journaled before a restart; kept, not removed: an aborted transaction re-reads it too */
    if (c->skip && mt_map_get(c->skip, key, klen)) return MT_STAGE_OK;

    journal_out jo = {c, ob};
    int rc;
    if (strcmp(topic, c->t_rejected) == 0)
        rc = mt_ledger_note_rejection(c->ledger, rkm->payload, rkm->len, topic, rkm->partition, rkm->offset, on_decision,
                                      &jo);
    else if (strcmp(topic, c->t_registry) == 0)
        rc = mt_ledger_note_registry(c->ledger, c->network_id, rkm->payload, rkm->len, topic, rkm->partition,
                                     rkm->offset, on_decision, &jo);
    else
        rc = mt_ledger_offer(c->ledger, c->reg, c->network_id, rkm->payload, rkm->len, topic, rkm->partition,
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
    c->tree_at_begin = c->tree;
    c->cp_size_at_begin = c->cp_size;
    c->cp_ms_at_begin = c->cp_ms;
}

void mt_aggregate_txn_committed(void *opaque) {
    mt_stage_ctx *c = opaque;
    mt_ledger_commit(c->ledger);
    mt_stage_txn_committed(c);
}

void mt_aggregate_txn_aborted(void *opaque) {
    mt_stage_ctx *c = opaque;
    mt_ledger_abort(c->ledger);
    c->tree = c->tree_at_begin;
    c->cp_size = c->cp_size_at_begin;
    c->cp_ms = c->cp_ms_at_begin;
    mt_stage_txn_aborted(c);
}

int64_t mt_aggregate_offset_floor(void *opaque, const char *topic, int32_t partition) {
    mt_stage_ctx *c = opaque;
    return mt_ledger_parked_low_offset(c->ledger, topic, partition);
}

/* The per-facility receipts topics the cluster has ("<prefix>receipts.<facility>"). */
static int list_receipt_topics(mt_stage_ctx *c) {
    char err[512];
    const struct rd_kafka_metadata *md;
    rd_kafka_conf_t *conf = mt_kafka_conf_new(c->brokers, c->props, err, sizeof(err));
    rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err)) : NULL;
    rd_kafka_resp_err_t kerr = rk ? rd_kafka_metadata(rk, 1, NULL, &md, 10000) : RD_KAFKA_RESP_ERR__FAIL;
    if (kerr) {
        mt_log_error("aggregate: cannot list topics: %s", rk ? rd_kafka_err2str(kerr) : err);
        if (rk) rd_kafka_destroy(rk);
        return -1;
    }
    mt_map_free(c->receipt_topics, NULL);
    c->receipt_topics = mt_map_new();
    size_t plen = strlen(c->t_receipts);
    for (int i = 0; c->receipt_topics && i < md->topic_cnt; i++) {
        const char *t = md->topics[i].topic;
        if (strncmp(t, c->t_receipts, plen) == 0 && t[plen] == '.') mt_map_put(c->receipt_topics, t, strlen(t), c);
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return c->receipt_topics ? 0 : -1;
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
    mt_ledger_commit(r->c->ledger); /* entry by entry: a spilling ledger sends what is spent to disk as it goes */
    r->entries++;
    /* an input at or above the committed offset that is journaled already: skip it once */
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, rkm->len, rkm->payload);
    if (!e) return 0;
    if (e->leaf_hash.len == MT_HASH_LEN) mt_merkle_frontier_append(&r->c->tree, e->leaf_hash.data);
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
    if (c->spill_dir && mt_ledger_spill(c->ledger, c->spill_dir, err, sizeof(err))) {
        mt_log_error("aggregate: %s", err);
        goto out;
    }
    if (c->spill_dir) mt_log_info("aggregate: spent batches and decided events go to unlinked files in %s", c->spill_dir);
    if (c->gov_pk) mt_ledger_set_governance(c->ledger, c->gov_pk);
    mt_merkle_frontier_init(&c->tree);
    c->cp_size = 0; /* the next commit checkpoints what the journal holds */
    c->cp_ms = 0;
    if (list_receipt_topics(c)) goto out;
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
