/* cmd_tamper — mintrace x-tamper: a TEST TOOL, not a user command (hidden from the command list).
 * It plays an attacker with write access: copies the topics an audit reads from one topic
 * prefix to another (--topic-prefix) with the Kafka producer API, making one change on the way,
 * so tests/e2e/test_audit.sh can show that `mintrace audit` names it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "event.h"
#include "journal.h"
#include "kafka.h"
#include "log.h"
#include "notary.h"
#include "service.h"

/* One message as read: where, its key and value. */
typedef struct tmsg {
    char topic[200];
    int32_t partition;
    uint8_t *key, *val;
    size_t klen, vlen;
} tmsg;

typedef struct tlist {
    tmsg *v;
    size_t n, cap;
} tlist;

static int tlist_add(tlist *l, const char *topic, int32_t partition, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        tmsg *nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv) return -1;
        l->v = nv;
        l->cap = cap;
    }
    tmsg *m = &l->v[l->n];
    snprintf(m->topic, sizeof(m->topic), "%s", topic);
    m->partition = partition;
    m->key = malloc(klen + 1);
    m->val = malloc(vlen + 1);
    if (!m->key || !m->val) return -1;
    if (klen) memcpy(m->key, key, klen);
    if (vlen) memcpy(m->val, val, vlen);
    m->klen = klen;
    m->vlen = vlen;
    l->n++;
    return 0;
}

static void tlist_remove(tlist *l, size_t i) {
    free(l->v[i].key);
    free(l->v[i].val);
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(tmsg));
    l->n--;
}

static void tlist_free(tlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].val);
    }
    free(l->v);
}

static int tlist_copy(tlist *dst, const tlist *src) {
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++) {
        const tmsg *m = &src->v[i];
        if (tlist_add(dst, m->topic, m->partition, m->key, m->klen, m->val, m->vlen)) return -1;
    }
    return 0;
}

static void set_val(tmsg *m, uint8_t *val, size_t len) {
    free(m->val);
    m->val = val;
    m->vlen = len;
}

static int collect(void *arg, const rd_kafka_message_t *rkm) {
    return tlist_add(arg, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->key, rkm->key_len, rkm->payload,
                     rkm->len)
               ? 1
               : 0;
}

/* The topics copied: the four the audit reads, and (for the submitted modes only, so other
 * copies cost the shared broker no more partitions) events.submitted and rejected. */
enum { P_CP, P_PROV, P_LEDGER, P_RECEIPTS, P_SUB, P_REJ, P_N };
static const char *part_names[P_N] = {"checkpoints", "provenance", "ledger", "receipts", "events.submitted", "rejected"};

/* ---- reading what entries are ---- */

static Mintrace__V1__LedgerEntry *entry_at(const tlist *l, size_t i) {
    return mintrace__v1__ledger_entry__unpack(NULL, l->v[i].vlen, l->v[i].val);
}

/* The first entry at or after from that journals an accepted event; (size_t)-1 if none. */
static size_t event_entry_from(const tlist *l, size_t from) {
    for (size_t i = from; i < l->n; i++) {
        Mintrace__V1__LedgerEntry *e = entry_at(l, i);
        int ok = e && e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
        if (e) mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        if (ok) return i;
    }
    return (size_t)-1;
}

/* Says which event the change concerns (the test greps these words). */
static void say_event(const char *what, size_t index, const uint8_t *attested, size_t len) {
    mt_attested a;
    mt_verdict v;
    char hex[65] = "";
    if (mt_attested_open_verified(attested, len, &a, &v) == 0) mt_hex_encode(a.event_id, 32, hex);
    printf("tamper: %s at index %zu event %s facility %s\n", what, index, hex, a.ev ? a.ev->facility_id : "?");
    mt_attested_release(&a);
}

/* Rewrites entry i's submitted envelope (or, when payload, its event) through the attacker's
 * hands; the rest of the entry (its stored leaf hash too) is left as it was. */
static int rewrite_event(tlist *l, size_t i, int payload) {
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    size_t blen;
    uint8_t *b = mt_message_pack(&e->event->base, &blen);
    say_event(payload ? "payload altered" : "signature altered", i, b, blen);
    free(b);
    uint8_t *newpay = NULL;
    ProtobufCBinaryData orig = env->payload; /* the unpacker's: given back before it frees env */
    if (payload) { /* one more milligram in the first output, or in the first input */
        Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
        if (ev->n_outputs) ev->outputs[0]->mass_mg += 1;
        else if (ev->n_inputs) ev->inputs[0]->mass_mg += 1;
        else ev->time_ms += 1;
        size_t plen;
        newpay = mt_message_pack(&ev->base, &plen);
        env->payload = (ProtobufCBinaryData){plen, newpay};
        mintrace__v1__batch_event__free_unpacked(ev, NULL);
    } else {
        env->signatures[0]->sig.data[7] ^= 0x10;
    }
    size_t elen, len;
    uint8_t *eb = mt_message_pack(&env->base, &elen);
    env->payload = orig;
    ProtobufCBinaryData old = e->event->envelope;
    e->event->envelope = (ProtobufCBinaryData){elen, eb};
    uint8_t *nb = mt_message_pack(&e->base, &len);
    e->event->envelope = old;
    set_val(&l->v[i], nb, len);
    free(eb);
    free(newpay);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return 0;
}

/* Entry i (an accepted event) journaled instead as the aggregator's OVERDRAWN rejection. */
static int censor(tlist *l, size_t i) {
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    size_t blen, len;
    uint8_t *b = mt_message_pack(&e->event->base, &blen), *nb;
    say_event("censored", i, b, blen);
    mt_attested a;
    mt_decision d = {.kind = MT_DECIDED_REJECTED, .index = i, .bytes = b, .len = blen,
                     .source_topic = e->source_topic, .source_partition = e->source_partition,
                     .source_offset = e->source_offset};
    if (mt_attested_open_verified(b, blen, &a, &d.verdict) == 0) {
        memcpy(d.verdict.event_id, a.event_id, 32);
        d.verdict.has_event_id = 1;
        snprintf(d.verdict.facility_id, sizeof(d.verdict.facility_id), "%s", a.ev->facility_id);
    }
    mt_attested_release(&a);
    d.verdict.code = MINTRACE__V1__REASON_CODE__REASON_CODE_OVERDRAWN;
    snprintf(d.verdict.detail, sizeof(d.verdict.detail), "not enough left");
    unsigned char leaf[32];
    int rc = mt_journal_entry(&d, mt_now_ms(), &nb, &len, leaf);
    if (!rc) set_val(&l->v[i], nb, len);
    free(b);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc;
}

static uint64_t index_of_receipt(const tmsg *m) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, m->vlen, m->val);
    Mintrace__V1__Receipt *r = env ? mintrace__v1__receipt__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    uint64_t i = r ? r->ledger_index : UINT64_MAX;
    if (r) mintrace__v1__receipt__free_unpacked(r, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return i;
}

static uint64_t size_of_checkpoint(const tmsg *m) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, m->vlen, m->val);
    Mintrace__V1__Checkpoint *c = env ? mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    uint64_t n = c ? c->tree_size : UINT64_MAX;
    if (c) mintrace__v1__checkpoint__free_unpacked(c, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return n;
}

static uint64_t index_of_record(const tmsg *m) {
    Mintrace__V1__ProvenanceRecord *r = mintrace__v1__provenance_record__unpack(NULL, m->vlen, m->val);
    uint64_t i = r ? r->ledger_index : UINT64_MAX;
    if (r) mintrace__v1__provenance_record__free_unpacked(r, NULL);
    return i;
}

/* Keeps what a history of its first n entries shows (an attacker who cut the topics there). */
static void cut(tlist *p, size_t n) {
    for (size_t i = p[P_LEDGER].n; i-- > n;) tlist_remove(&p[P_LEDGER], i);
    for (size_t i = p[P_CP].n; i-- > 0;)
        if (size_of_checkpoint(&p[P_CP].v[i]) > n) tlist_remove(&p[P_CP], i);
    for (size_t i = p[P_RECEIPTS].n; i-- > 0;)
        if (index_of_receipt(&p[P_RECEIPTS].v[i]) >= n) tlist_remove(&p[P_RECEIPTS], i);
    for (size_t i = p[P_PROV].n; i-- > 0;)
        if (index_of_record(&p[P_PROV].v[i]) >= n) tlist_remove(&p[P_PROV], i);
}

/* Cut at n, then as many exact resubmissions of the last event before n as make the history
 * longer than it was: every entry follows the rules, yet it is another history. */
static int fork_at(tlist *p, size_t n) {
    size_t was = p[P_LEDGER].n, ev = (size_t)-1;
    for (size_t i = 0; i < n; i++)
        if (event_entry_from(&p[P_LEDGER], i) == i) ev = i;
    if (ev == (size_t)-1) return -1;
    Mintrace__V1__LedgerEntry *e = entry_at(&p[P_LEDGER], ev);
    size_t blen;
    uint8_t *b = mt_message_pack(&e->event->base, &blen);
    cut(p, n);
    tmsg tmpl = p[P_LEDGER].v[0];
    int rc = 0;
    for (size_t i = n; i <= was && !rc; i++) {
        mt_decision d = {.kind = MT_DECIDED_DUPLICATE, .index = i, .first_index = ev, .bytes = b, .len = blen,
                         .source_topic = e->source_topic};
        mt_attested a;
        if (mt_attested_open_verified(b, blen, &a, &d.verdict) == 0) {
            memcpy(d.verdict.event_id, a.event_id, 32);
            d.verdict.has_event_id = 1;
        }
        mt_attested_release(&a);
        uint8_t *nb;
        size_t len;
        unsigned char leaf[32], key[8];
        mt_journal_key(i, key);
        rc = mt_journal_entry(&d, mt_now_ms(), &nb, &len, leaf) ||
             tlist_add(&p[P_LEDGER], tmpl.topic, tmpl.partition, key, 8, nb, len);
        free(nb);
    }
    printf("tamper: forked at index %zu: %zu entries after it are resubmissions of entry %zu\n", n, was + 1 - n, ev);
    free(b);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc;
}

static int forge_checkpoint(tlist *l) {
    if (!l->n) return -1;
    tmsg *m = &l->v[l->n - 1];
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, m->vlen, m->val);
    Mintrace__V1__Checkpoint *c = mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data);
    c->root.data[0] ^= 1;
    mt_keypair kp;
    size_t plen, elen;
    uint8_t *p = mt_message_pack(&c->base, &plen), *out = NULL;
    int rc = mt_keypair_generate(&kp) || mt_envelope_seal(&kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR,
                                                         MT_PAYLOAD_CHECKPOINT, p, plen, &out, &elen);
    if (!rc) set_val(m, out, elen);
    printf("tamper: checkpoint at tree size %" PRIu64 " given another root, signed by an unknown key\n", c->tree_size);
    mt_keypair_wipe(&kp);
    free(p);
    mintrace__v1__checkpoint__free_unpacked(c, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

/* The record at position i republished with one more kilogram (or, stale: an older record of
 * a batch published again as its newest). */
static int provenance(tlist *l, size_t i, int stale) {
    if (i >= l->n) return -1;
    Mintrace__V1__ProvenanceRecord *r = mintrace__v1__provenance_record__unpack(NULL, l->v[i].vlen, l->v[i].val);
    if (stale) { /* the first record of a batch that has a later one with another index */
        for (; i < l->n; i++) {
            mintrace__v1__provenance_record__free_unpacked(r, NULL);
            r = mintrace__v1__provenance_record__unpack(NULL, l->v[i].vlen, l->v[i].val);
            int later = 0;
            for (size_t k = i + 1; k < l->n && !later; k++) {
                Mintrace__V1__ProvenanceRecord *q = mintrace__v1__provenance_record__unpack(NULL, l->v[k].vlen, l->v[k].val);
                later = !strcmp(q->batch_id, r->batch_id) && q->ledger_index != r->ledger_index;
                mintrace__v1__provenance_record__free_unpacked(q, NULL);
            }
            if (later) break;
        }
        if (i == l->n) return -1;
    } else {
        r->mass_mg += 1000000;
    }
    size_t len;
    uint8_t *b = mt_message_pack(&r->base, &len);
    tmsg m = l->v[i];
    int rc = tlist_add(l, m.topic, m.partition, m.key, m.klen, b, len);
    printf("tamper: %s record of batch %s at index %" PRIu64 " published last\n", stale ? "an older" : "a forged",
           r->batch_id, r->ledger_index);
    free(b);
    mintrace__v1__provenance_record__free_unpacked(r, NULL);
    return rc;
}

/* Writes the receipts of entries at or after from into dir as <index>.receipt (what their
 * producers would have kept). */
static int keep_receipts(const tlist *l, size_t from, const char *dir) {
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t idx = index_of_receipt(&l->v[i]);
        if (idx == UINT64_MAX || idx < from) continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%06" PRIu64 ".receipt", dir, idx);
        FILE *fp = fopen(path, "wb");
        if (!fp || fwrite(l->v[i].val, 1, l->v[i].vlen, fp) != l->v[i].vlen || fclose(fp)) {
            mt_log_error("%s: %s", path, strerror(errno));
            return -1;
        }
        n++;
    }
    printf("tamper: %zu receipts from index %zu kept in %s\n", n, from, dir);
    return 0;
}

typedef struct delivery {
    int errors;
} delivery;

static void on_delivery(void *arg, const rd_kafka_message_t *rkm) {
    if (rkm->err) ((delivery *)arg)->errors++;
}

/* Produces every message under the new prefix, same partition and key, in list order. */
/* Creates the copy's four topics (those the audit reads; every facility's receipts go into the
 * shared receipts topic, keyed by facility as the aggregator keys them): a copy costs the
 * shared broker a few partitions, not the whole topic set. Existing topics are fine. */
static int create_copy_topics(rd_kafka_t *rk, const char *to_prefix, const int partitions[P_N], int n_topics) {
    rd_kafka_NewTopic_t *nt[P_N];
    char err[512], name[300];
    for (int p = 0; p < n_topics; p++) {
        snprintf(name, sizeof(name), "%s%s", to_prefix, part_names[p]);
        nt[p] = rd_kafka_NewTopic_new(name, partitions[p], 1, err, sizeof(err));
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n_topics, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
    int rc = ev ? 0 : -1;
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            mt_log_error("%s: %s", rd_kafka_topic_result_name(tr[i]), rd_kafka_err2str(e));
            rc = -1;
        }
    }
    if (!ev) mt_log_error("%s: creating topics timed out", to_prefix);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    for (int p = 0; p < n_topics; p++) rd_kafka_NewTopic_destroy(nt[p]);
    return rc;
}

/* Deletes every topic whose name starts with prefix (the copies, once a test is done). */
static int delete_topics(const mt_service *s, const char *prefix) {
    char err[512];
    rd_kafka_conf_t *conf = mt_kafka_conf_new(mt_config_get(s->cfg, "brokers"), mt_config_kafka_props(s->cfg), err,
                                              sizeof(err));
    rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err)) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    if (!rk || rd_kafka_metadata(rk, 1, NULL, &md, 30000)) {
        mt_log_error("cannot list topics");
        if (rk) rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_DeleteTopic_t **del = calloc((size_t)md->topic_cnt + 1, sizeof(*del));
    size_t n = 0, pl = strlen(prefix);
    for (int i = 0; del && i < md->topic_cnt; i++)
        if (pl && !strncmp(md->topics[i].topic, prefix, pl)) del[n++] = rd_kafka_DeleteTopic_new(md->topics[i].topic);
    int rc = del ? 0 : -1;
    if (n) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopics(rk, del, n, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 60000);
        if (!ev || rd_kafka_event_error(ev)) rc = -1;
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
    }
    for (size_t i = 0; i < n; i++) rd_kafka_DeleteTopic_destroy(del[i]);
    free(del);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    printf("tamper: %zu topics %s%s* deleted\n", n, rc ? "(not all) " : "", prefix);
    return rc;
}

static int write_copy(const mt_service *s, const char *from_prefix, const char *to_prefix, tlist *parts,
                      const int partitions[P_N], int n_topics) {
    char err[512];
    delivery dl = {0};
    mt_kafka_dr_hook hook = {on_delivery, &dl};
    rd_kafka_conf_t *conf = mt_kafka_conf_new(mt_config_get(s->cfg, "brokers"), mt_config_kafka_props(s->cfg), err,
                                              sizeof(err));
    if (!conf) return -1;
    rd_kafka_conf_set_opaque(conf, &hook);
    rd_kafka_t *rk = mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err));
    if (!rk) {
        mt_log_error("%s", err);
        return -1;
    }
    size_t fl = strlen(from_prefix), n = 0;
    int rc = create_copy_topics(rk, to_prefix, partitions, n_topics);
    for (int p = 0; p < n_topics && !rc; p++)
        for (size_t i = 0; i < parts[p].n && !rc; i++) {
            tmsg *m = &parts[p].v[i];
            char topic[300];
            snprintf(topic, sizeof(topic), "%s%s", to_prefix, p == P_RECEIPTS ? "receipts" : m->topic + fl);
            int32_t partition = p == P_RECEIPTS ? RD_KAFKA_PARTITION_UA : m->partition;
            rd_kafka_resp_err_t kerr;
            while ((kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                             RD_KAFKA_V_KEY(m->key, m->klen), RD_KAFKA_V_VALUE(m->val, m->vlen),
                                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 100);
            if (kerr) {
                mt_log_error("%s: %s", topic, rd_kafka_err2str(kerr));
                rc = -1;
            }
            n++;
        }
    if (rd_kafka_flush(rk, 30000) || dl.errors) {
        mt_log_error("%d messages not delivered", dl.errors);
        rc = -1;
    }
    rd_kafka_destroy(rk);
    if (!rc) printf("tamper: %zu messages copied to %s*\n", n, to_prefix);
    return rc;
}

/* The entry index of the first (or, last, the last) accepted event of kind at or after from;
 * (size_t)-1 if none. */
static size_t entry_of_kind(const tlist *l, size_t from, int kind, int last) {
    size_t found = (size_t)-1;
    for (size_t i = from; i < l->n; i++) {
        Mintrace__V1__LedgerEntry *e = entry_at(l, i);
        if (e && e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
            Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
            Mintrace__V1__BatchEvent *ev = env ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
            if (ev && (int)ev->kind == kind) found = i;
            if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
            if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
        }
        if (e) mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        if (found != (size_t)-1 && !last) break;
    }
    return found;
}

/* An AttestedEvent of a submitted envelope signed by `notary` as a notary: by mt_notary_attest
 * (which judges the facility key), or, with a forced registry version, made by hand (a notary
 * that judges nothing). New buffer in *out. */
static int attest_as(const mt_service *s, const mt_keypair *notary, const uint8_t *env, size_t len,
                     uint64_t forced_version, uint8_t **out, size_t *outlen) {
    const char *net = mt_config_get(s->cfg, "network.id");
    if (!forced_version) {
        mt_verdict v;
        int rc = mt_notary_attest(notary, s->reg, net, env, len, mt_now_ms(), out, outlen, &v);
        if (rc) mt_log_error("attest: %s", v.detail);
        return rc ? -1 : 0;
    }
    Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, len, env);
    if (!e) return -1;
    unsigned char id[32], eh[32];
    mt_hash(e->payload.data, e->payload.len, id);
    mt_hash(env, len, eh);
    mintrace__v1__envelope__free_unpacked(e, NULL);
    Mintrace__V1__Attestation a = MINTRACE__V1__ATTESTATION__INIT;
    a.network_id = (char *)net;
    a.event_id = (ProtobufCBinaryData){32, id};
    a.envelope_hash = (ProtobufCBinaryData){32, eh};
    a.notary_time_ms = mt_now_ms();
    a.registry_version = forced_version;
    size_t plen, slen;
    uint8_t *p = mt_message_pack(&a.base, &plen), *sealed = NULL;
    int rc = !p || mt_envelope_seal(notary, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY, MT_PAYLOAD_ATTESTATION, p,
                                    plen, &sealed, &slen);
    if (!rc) {
        Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
        ae.envelope = (ProtobufCBinaryData){len, (uint8_t *)env};
        ae.attestation = (ProtobufCBinaryData){slen, sealed};
        *out = mt_message_pack(&ae.base, outlen);
        rc = *out ? 0 : -1;
    }
    free(p);
    free(sealed);
    return rc;
}

static int load_key(const char *dir, const char *name, mt_keypair *kp) {
    char path[4096], err[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (mt_keypair_load(kp, path, err, sizeof(err)) == 0) return 0;
    mt_log_error("%s", err);
    return -1;
}

/* Journals bytes (an AttestedEvent, or for kind REGISTRY an envelope) as decided at index. */
static int journal_as(tlist *l, size_t index, mt_decision_kind kind, const uint8_t *bytes, size_t len, int replace) {
    mt_decision d = {.kind = kind, .index = index, .bytes = bytes, .len = len, .source_topic = ""};
    uint8_t *entry;
    size_t elen;
    unsigned char leaf[32], key[8];
    mt_journal_key(index, key);
    if (mt_journal_entry(&d, mt_now_ms(), &entry, &elen, leaf)) return -1;
    int rc = 0;
    if (replace) {
        set_val(&l->v[index], entry, elen);
    } else {
        tmsg tmpl = l->v[0];
        rc = tlist_add(l, tmpl.topic, tmpl.partition, key, 8, entry, elen);
        free(entry);
    }
    return rc;
}

typedef void (*event_change)(Mintrace__V1__BatchEvent *ev, void *arg);

/* The event of entry i, changed by fn and made the next event of its facility's key chain with
 * new output ids, signed with the facility's key (from dir), attested by the notary's (by hand
 * with a forced registry version when forced_version), journaled as accepted after the last
 * entry: what a writer holding those keys could append. */
static int append_event(const mt_service *s, tlist *l, size_t i, const char *dir, event_change fn, void *arg,
                        uint64_t forced_version, const char *label) {
    if (i == (size_t)-1 || !dir) return -1;
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    /* the chain head of the key */
    uint64_t seq = 0;
    unsigned char head[32] = {0};
    for (size_t k = 0; k < l->n; k++) {
        Mintrace__V1__LedgerEntry *x = entry_at(l, k);
        if (x && x->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
            Mintrace__V1__Envelope *xe = mintrace__v1__envelope__unpack(NULL, x->event->envelope.len, x->event->envelope.data);
            Mintrace__V1__BatchEvent *xv = mintrace__v1__batch_event__unpack(NULL, xe->payload.len, xe->payload.data);
            if (!strcmp(xe->signatures[0]->key_id, env->signatures[0]->key_id) && xv->seq > seq) {
                seq = xv->seq;
                mt_hash(xe->payload.data, xe->payload.len, head);
            }
            mintrace__v1__batch_event__free_unpacked(xv, NULL);
            mintrace__v1__envelope__free_unpacked(xe, NULL);
        }
        if (x) mintrace__v1__ledger_entry__free_unpacked(x, NULL);
    }
    /* the change, on the unpacked event; every pointer it moves is put back before it is freed */
    ProtobufCBinaryData old_prev = ev->prev;
    size_t n_in = ev->n_inputs, n_out = ev->n_outputs, nout = n_out < 8 ? n_out : 8, nin = n_in < 16 ? n_in : 16;
    char ids[8][200], *orig_out[8], *orig_in[16];
    for (size_t k = 0; k < nin; k++) orig_in[k] = ev->inputs[k]->batch_id;
    for (size_t k = 0; k < nout; k++) {
        snprintf(ids[k], sizeof(ids[k]), "%s-AGAIN", ev->outputs[k]->batch_id);
        orig_out[k] = ev->outputs[k]->batch_id;
        ev->outputs[k]->batch_id = ids[k];
    }
    ev->seq = seq + 1;
    ev->prev = (ProtobufCBinaryData){32, head};
    fn(ev, arg);
    size_t plen, slen = 0, alen = 0;
    uint8_t *p = mt_message_pack(&ev->base, &plen), *signed_env = NULL, *att = NULL;
    ev->n_inputs = n_in;
    ev->n_outputs = n_out;
    for (size_t k = 0; k < nin; k++) ev->inputs[k]->batch_id = orig_in[k];
    for (size_t k = 0; k < nout; k++) ev->outputs[k]->batch_id = orig_out[k];
    ev->prev = old_prev;
    mt_keypair fk, nk;
    int rc = !p || load_key(dir, ev->facility_id, &fk);
    if (!rc) rc = load_key(dir, "NOTARY-1", &nk);
    if (!rc)
        rc = mt_envelope_seal(&fk, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, p, plen,
                              &signed_env, &slen) ||
             attest_as(s, &nk, signed_env, slen, forced_version, &att, &alen);
    if (!rc) {
        say_event(label, l->n, att, alen);
        rc = journal_as(l, l->n, MT_DECIDED_ACCEPTED, att, alen, 0);
    }
    mt_keypair_wipe(&fk);
    mt_keypair_wipe(&nk);
    free(p), free(signed_env), free(att);
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc;
}

static void take_twice(Mintrace__V1__BatchEvent *ev, void *arg) {
    (void)arg;
    for (size_t k = 0; k < ev->n_inputs; k++) ev->inputs[k]->mass_mg *= 2; /* more than is left */
}

static void from_one_milligram(Mintrace__V1__BatchEvent *ev, void *arg) {
    if (!ev->n_inputs) return;
    ev->inputs[0]->batch_id = arg; /* a magnet still in stock */
    ev->inputs[0]->mass_mg = 1;
    ev->n_inputs = 1;
    ev->n_outputs = ev->n_outputs ? 1 : 0;
}

static void no_change(Mintrace__V1__BatchEvent *ev, void *arg) {
    (void)ev;
    (void)arg;
}

/* The last MANUFACTURE made again by its magnet maker out of one milligram of what it made
 * (a magnet still in stock): kilograms of Nd out of nothing. */
static int inflation(const mt_service *s, tlist *l, const char *dir) {
    size_t i = entry_of_kind(l, 0, MINTRACE__V1__EVENT_KIND__EVENT_KIND_MANUFACTURE, 1);
    if (i == (size_t)-1) return -1;
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    char made[200];
    snprintf(made, sizeof(made), "%s", ev->n_outputs ? ev->outputs[0]->batch_id : "");
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return append_event(s, l, i, dir, from_one_milligram, made, 0, "inflation");
}

/* A registry version 2, signed by the governance key (from dir), that revokes the keys of the
 * first PROCESS's facility a second ago; then that facility's next event, attested with
 * version 2 by a notary that judged nothing, journaled as accepted. */
static int revoked_key(const mt_service *s, tlist *l, size_t from, const char *dir) {
    size_t i = entry_of_kind(l, from, MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS, 0);
    if (i == (size_t)-1 || !dir || !s->reg) return -1;
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    size_t rlen, elen;
    uint8_t *rb = mt_message_pack(&mt_registry_snapshot(s->reg)->base, &rlen), *reg2 = NULL;
    Mintrace__V1__Registry *r = rb ? mintrace__v1__registry__unpack(NULL, rlen, rb) : NULL;
    mt_keypair gov;
    char err[512];
    int rc = !r || load_key(dir, "governance", &gov);
    if (!rc) {
        for (size_t f = 0; f < r->n_facilities; f++)
            if (!strcmp(r->facilities[f]->facility_id, ev->facility_id))
                for (size_t k = 0; k < r->facilities[f]->n_keys; k++) r->facilities[f]->keys[k]->revoked_at_ms = mt_now_ms() - 1000;
        r->version++;
        rc = mt_registry_sign(r, &gov, &reg2, &elen, err, sizeof(err));
        if (rc) mt_log_error("%s", err);
        mt_keypair_wipe(&gov);
    }
    uint64_t version = r ? r->version : 0;
    if (!rc) {
        printf("tamper: registry version %" PRIu64 " revoking %s's keys at index %zu\n", version, ev->facility_id, l->n);
        rc = journal_as(l, l->n, MT_DECIDED_REGISTRY, reg2, elen, 0);
    }
    if (!rc) rc = append_event(s, l, i, dir, no_change, NULL, version, "revoked key");
    free(rb);
    free(reg2);
    if (r) mintrace__v1__registry__free_unpacked(r, NULL);
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc;
}

/* Entry i's event attested again, by a key of no registry (unknown) or by its own facility's
 * key signing as a notary (wrong role); the entry is journaled again at its index. */
static int reattest(const mt_service *s, tlist *l, size_t i, const char *dir, int unknown) {
    if (i == (size_t)-1) return -1;
    Mintrace__V1__LedgerEntry *e = entry_at(l, i);
    size_t blen, alen;
    uint8_t *b = mt_message_pack(&e->event->base, &blen), *att = NULL;
    mt_attested a;
    mt_verdict v;
    mt_keypair kp;
    int rc = !b || mt_attested_open_verified(b, blen, &a, &v);
    if (!rc) rc = unknown ? mt_keypair_generate(&kp) : (!dir || load_key(dir, a.ev->facility_id, &kp));
    if (!rc) rc = attest_as(s, &kp, e->event->envelope.data, e->event->envelope.len, 0, &att, &alen);
    if (!rc) {
        say_event(unknown ? "attested by an unknown key" : "attested by a facility key", i, att, alen);
        rc = journal_as(l, i, MT_DECIDED_ACCEPTED, att, alen, 1);
    }
    mt_keypair_wipe(&kp);
    mt_attested_release(&a);
    free(b);
    free(att);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc;
}

/* The submitted message at list position i: its partition and its offset in the copy. */
static int64_t copy_offset(const tlist *l, size_t i) {
    int64_t o = 0;
    for (size_t j = 0; j < i; j++) o += l->v[j].partition == l->v[i].partition;
    return o;
}

/* Inserts m as list position at (same partition as the message before it: it follows it there). */
static int insert_at(tlist *l, size_t at, const tmsg *m, const uint8_t *val, size_t vlen) {
    if (tlist_add(l, m->topic, m->partition, m->key, m->klen, val, vlen)) return -1;
    tmsg x = l->v[l->n - 1];
    memmove(&l->v[at + 1], &l->v[at], (l->n - 1 - at) * sizeof(tmsg));
    l->v[at] = x;
    return 0;
}

/* The facility a submitted envelope's event names, or "" (not an event). */
static void facility_of(const tmsg *m, char *out, size_t size) {
    Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, m->vlen, m->val);
    Mintrace__V1__BatchEvent *ev = e ? mintrace__v1__batch_event__unpack(NULL, e->payload.len, e->payload.data) : NULL;
    snprintf(out, size, "%s", ev && ev->facility_id ? ev->facility_id : "");
    if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
    if (e) mintrace__v1__envelope__free_unpacked(e, NULL);
}

/* A message in events.submitted that no stage judged, from submitted message n on: garbage
 * (event 0), or (event 1) a second copy of an event whose facility has a later event in the
 * same partition, its bytes made new by an unknown field the signature does not cover (the same
 * event: it would be a duplicate). Written right after that message, in its partition. */
static int unjudged(tlist *l, size_t n, int event) {
    char fac[128], other[128];
    for (size_t i = n; i < l->n; i++) {
        facility_of(&l->v[i], fac, sizeof(fac));
        if (!fac[0]) continue;
        int later = 0;
        for (size_t j = i + 1; j < l->n && !later; j++) {
            if (l->v[j].partition != l->v[i].partition) continue;
            facility_of(&l->v[j], other, sizeof(other));
            later = !strcmp(fac, other);
        }
        if (!later) continue;
        static const uint8_t garbage[] = "\xff\xfe not an envelope: written by x-tamper";
        size_t len = event ? l->v[i].vlen + 2 : sizeof(garbage) - 1;
        uint8_t *b = malloc(len);
        if (!b) return -1;
        if (event) {
            memcpy(b, l->v[i].val, l->v[i].vlen);
            b[l->v[i].vlen] = 0x78; /* field 15, varint 1: unknown to Envelope */
            b[l->v[i].vlen + 1] = 0x01;
        } else {
            memcpy(b, garbage, len);
        }
        tmsg m = l->v[i];
        int rc = insert_at(l, i + 1, &m, b, len);
        free(b);
        if (rc) return -1;
        char id[65] = "";
        if (event) {
            Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, l->v[i].vlen, l->v[i].val);
            unsigned char h[32];
            mt_hash(e->payload.data, e->payload.len, h);
            mt_hex_encode(h, 32, id);
            mintrace__v1__envelope__free_unpacked(e, NULL);
        }
        printf("tamper: unjudged %s at submitted partition %d offset %" PRId64 " facility %s event %s\n",
               event ? "event" : "garbage", (int)m.partition, copy_offset(l, i + 1), fac, event ? id : "-");
        return 0;
    }
    return -1;
}

/* One copy: the change MODE (with N, DIR) to the lists, written under to_prefix. */
static int apply_one(const mt_service *s, const char *from, const char *to_prefix, const char *mode, size_t n,
                     const char *dir, tlist *parts, const int partitions[P_N]) {
    tlist *L = &parts[P_LEDGER];
    int bad = 0, n_topics = P_RECEIPTS + 1;
    if (!strcmp(mode, "keep-receipts")) {
        return !dir || keep_receipts(&parts[P_RECEIPTS], n, dir) ? MT_EXIT_FAIL : MT_EXIT_OK;
    } else if (!strcmp(mode, "copy")) {
    } else if (!strcmp(mode, "submitted-copy")) {
        n_topics = P_N;
    } else if (!strcmp(mode, "unjudged-garbage") || !strcmp(mode, "unjudged-event")) {
        n_topics = P_N;
        bad = unjudged(&parts[P_SUB], n, mode[9] == 'e');
    } else if (!strcmp(mode, "alter-payload") || !strcmp(mode, "bad-signature")) {
        size_t i = event_entry_from(L, n);
        bad = i == (size_t)-1 || rewrite_event(L, i, mode[0] == 'a');
    } else if (!strcmp(mode, "double-spend")) {
        bad = append_event(s, L, entry_of_kind(L, n, MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS, 0),
                           mt_config_get(s->cfg, "tamper.keys"), take_twice, NULL, 0, "double spend");
    } else if (!strcmp(mode, "inflation")) {
        bad = inflation(s, L, mt_config_get(s->cfg, "tamper.keys"));
    } else if (!strcmp(mode, "revoked-key")) {
        bad = revoked_key(s, L, n, mt_config_get(s->cfg, "tamper.keys"));
    } else if (!strcmp(mode, "unknown-notary") || !strcmp(mode, "wrong-role")) {
        bad = reattest(s, L, event_entry_from(L, n), mt_config_get(s->cfg, "tamper.keys"), mode[0] == 'u');
    } else if (!strcmp(mode, "censor")) {
        size_t i = event_entry_from(L, n);
        bad = i == (size_t)-1 || censor(L, i);
    } else if (!strcmp(mode, "drop") && n < L->n) {
        printf("tamper: entry %zu dropped\n", n);
        tlist_remove(L, n);
    } else if (!strcmp(mode, "swap") && n + 1 < L->n) {
        tmsg x = L->v[n];
        L->v[n] = L->v[n + 1];
        L->v[n + 1] = x;
        printf("tamper: entries %zu and %zu swapped\n", n, n + 1);
    } else if (!strcmp(mode, "duplicate") && n < L->n) {
        tmsg m = L->v[n];
        bad = tlist_add(L, m.topic, m.partition, m.key, m.klen, m.val, m.vlen);
        if (!bad) { /* right after the original */
            tmsg x = L->v[L->n - 1];
            memmove(&L->v[n + 2], &L->v[n + 1], (L->n - n - 2) * sizeof(tmsg));
            L->v[n + 1] = x;
        }
        printf("tamper: entry %zu written twice\n", n);
    } else if (!strcmp(mode, "forge-checkpoint")) {
        bad = forge_checkpoint(&parts[P_CP]);
    } else if (!strcmp(mode, "rollback-checkpoint") && parts[P_CP].n) {
        tmsg m = parts[P_CP].v[0];
        bad = tlist_add(&parts[P_CP], m.topic, m.partition, m.key, m.klen, m.val, m.vlen);
        printf("tamper: the first checkpoint (tree size %" PRIu64 ") published again, last\n", size_of_checkpoint(&m));
    } else if (!strcmp(mode, "forge-provenance")) {
        bad = provenance(&parts[P_PROV], n, 0);
    } else if (!strcmp(mode, "stale-provenance")) {
        bad = provenance(&parts[P_PROV], 0, 1);
    } else if (!strcmp(mode, "truncate") && n < L->n) {
        printf("tamper: truncated to %zu entries (of %zu)\n", n, L->n);
        cut(parts, n);
    } else if (!strcmp(mode, "fork") && n < L->n) {
        bad = fork_at(parts, n);
    } else {
        mt_log_error("unknown mode '%s' or N out of range", mode);
        return MT_EXIT_USAGE;
    }
    if (bad) {
        mt_log_error("%s: could not make the change", mode);
        return MT_EXIT_FAIL;
    }
    return write_copy(s, from, to_prefix, parts, partitions, n_topics) ? MT_EXIT_FAIL : MT_EXIT_OK;
}

int cmd_x_tamper(int argc, char **argv) {
    static const mt_option opts[] = {
        {"from", 'F', 1, "tamper.from", "the topic prefix to copy from"},
        {"keys", 'K', 1, "tamper.keys", "the directory of the facilities', notary's and governance keys"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace x-tamper",
                             "--from PREFIX  TO_PREFIX:MODE[:N[:DIR]]...   (a test tool: copies the audit's topics "
                             "under each TO_PREFIX with one change each)\n"
                             "modes: copy, alter-payload N, bad-signature N, drop N, swap N, duplicate N, censor N,\n"
                             "       forge-checkpoint, rollback-checkpoint, forge-provenance N, stale-provenance,\n"
                             "       truncate N, fork N, unknown-notary N; with --keys: double-spend N, inflation,\n"
                             "       revoked-key N, wrong-role N;\n"
                             "       submitted-copy, unjudged-garbage N, unjudged-event N (events.submitted and\n"
                             "       rejected copied too; a message after submitted message N that no stage judged);\n"
                             "       keep-receipts N DIR (writes files, copies nothing); delete (every\n"
                             "       topic named PREFIX*: the copies, when a test is done)\n"
                             "A copy has the four topics the audit reads (every facility's receipts in the shared one),\n"
                             "and for the submitted modes events.submitted and rejected.",
                             opts, MT_NEED_BROKERS | MT_NEED_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    const char *from = mt_config_get(s.cfg, "tamper.from");
    if (!from || s.argi >= argc) {
        mt_log_error("give --from PREFIX and a MODE");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    int only_delete = 1;
    for (int a = s.argi; a < argc; a++) {
        const char *colon = strchr(argv[a], ':');
        if (!colon || strcmp(colon + 1, "delete") != 0) only_delete = 0;
    }
    if (only_delete) { /* PREFIX:delete...: nothing to read */
        rc = MT_EXIT_OK;
        for (int a = s.argi; a < argc; a++) {
            char prefix[300];
            snprintf(prefix, sizeof(prefix), "%.*s", (int)(strchr(argv[a], ':') - argv[a]), argv[a]);
            if (delete_topics(&s, prefix)) rc = MT_EXIT_FAIL;
        }
        mt_service_release(&s);
        return rc;
    }
    tlist parts[P_N] = {{0}};
    int partitions[P_N] = {1, 3, 1, 3, 6, 1}; /* the copy's topics get the source's counts */
    int exists[P_N] = {1, 1, 1, 1, 0, 0};     /* submitted and rejected are read where they are */
    char err[512], t[P_N][200];
    rc = MT_EXIT_FAIL;
    /* every topic of the source set, the per-facility receipts topics too */
    rd_kafka_conf_t *conf = mt_kafka_conf_new(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg), err,
                                              sizeof(err));
    rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err)) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    if (!rk || rd_kafka_metadata(rk, 1, NULL, &md, 30000)) {
        mt_log_error("cannot list topics");
        if (rk) rd_kafka_destroy(rk);
        goto out;
    }
    const char **rt = calloc((size_t)md->topic_cnt + 2, sizeof(char *));
    size_t nrt = 0;
    for (int p = 0; p < P_N; p++) snprintf(t[p], sizeof(t[p]), "%s%s", from, part_names[p]);
    for (int i = 0; i < md->topic_cnt; i++)
        for (int p = 0; p < P_N; p++)
            if (!strcmp(md->topics[i].topic, t[p]) && md->topics[i].partition_cnt > 0) {
                partitions[p] = md->topics[i].partition_cnt;
                exists[p] = 1;
            }
    for (int i = 0; rt && i < md->topic_cnt; i++) {
        const char *name = md->topics[i].topic;
        size_t pl = strlen(t[P_RECEIPTS]);
        if (!strcmp(name, t[P_RECEIPTS]) || (!strncmp(name, t[P_RECEIPTS], pl) && name[pl] == '.'))
            rt[nrt++] = strdup(name);
    }
    int failed = !rt;
    for (int p = 0; p < P_N && !failed; p++) {
        const char *one[] = {t[p]};
        if (!exists[p]) continue;
        failed = mt_kafka_read_topics(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                                      p == P_RECEIPTS ? rt : one, p == P_RECEIPTS ? nrt : 1, &mt_run, collect,
                                      &parts[p], err, sizeof(err));
    }
    for (size_t i = 0; i < nrt; i++) free((void *)rt[i]);
    free(rt);
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (failed) {
        mt_log_error("cannot read the source topics: %s", err);
        goto out;
    }
    rc = MT_EXIT_OK;
    for (int a = s.argi; a < argc && rc == MT_EXIT_OK; a++) {
        /* PREFIX:MODE[:N[:DIR]] */
        char spec[1024], *fields[4] = {0};
        snprintf(spec, sizeof(spec), "%s", argv[a]);
        char *save = NULL, *tok = strtok_r(spec, ":", &save);
        for (int k = 0; k < 4 && tok; k++, tok = strtok_r(NULL, ":", &save)) fields[k] = tok;
        if (!fields[1]) {
            mt_log_error("%s: give PREFIX:MODE[:N[:DIR]]", argv[a]);
            rc = MT_EXIT_USAGE;
            break;
        }
        tlist copy[P_N];
        int ok = 1;
        for (int p = 0; p < P_N; p++) ok &= tlist_copy(&copy[p], &parts[p]) == 0;
        if (ok) rc = apply_one(&s, from, fields[0], fields[1], fields[2] ? strtoull(fields[2], NULL, 10) : 0, fields[3],
                               copy, partitions);
        else rc = MT_EXIT_FAIL;
        for (int p = 0; p < P_N; p++) tlist_free(&copy[p]);
    }
out:
    for (int p = 0; p < P_N; p++) tlist_free(&parts[p]);
    mt_service_release(&s);
    return rc;
}
