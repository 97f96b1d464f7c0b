/* test_stages.c - what the pipeline decides about one message: event rules and rejections
 * (event.h), validation (validate.h), notary attestation (notary.h), journal entries and leaves
 * (journal.h, journal_text.h) and the stages' process() functions (stages.h), without Kafka. */
#include "fixtures.h"

#include <stdio.h>

#include <sodium.h>

#include "journal.h"
#include "journal_text.h"
#include "ledger.h"
#include "log.h"
#include "stages.h"
#include "validate.h"

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define KIND(k) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##k
#define STAGE(s) MINTRACE__V1__STAGE__STAGE_##s
#define PREFIX "mintrace."

/* ---- fixtures: a producer handle with no brokers (group), a world and a stage (per test) ---- */

struct kafka {
    rd_kafka_t *rk; /* offline: only gives topic handles their names */
    rd_kafka_topic_t *submitted, *validated, *attested, *rejected;
};

struct fx {
    struct kafka *k;
    fx_world *w;
    mt_stage_ctx ctx;
    mt_outbox *ob;
    FILE *log; /* the library's log lines go here */
    char *logbuf;
    size_t loglen;
};

static int group_setup(void **state)
{
    struct kafka *k = calloc(1, sizeof(*k));
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!k || !conf) return -1;
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr)); /* no "no brokers" notice */
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)); /* takes conf */
    if (!k->rk) return -1;
    k->submitted = rd_kafka_topic_new(k->rk, PREFIX "events.submitted", NULL);
    k->validated = rd_kafka_topic_new(k->rk, PREFIX "events.validated", NULL);
    k->attested = rd_kafka_topic_new(k->rk, PREFIX "events.attested", NULL);
    k->rejected = rd_kafka_topic_new(k->rk, PREFIX "rejected", NULL);
    if (!k->submitted || !k->validated || !k->attested || !k->rejected) return -1;
    *state = k;
    return 0;
}

static int group_teardown(void **state)
{
    struct kafka *k = *state;
    rd_kafka_topic_destroy(k->submitted);
    rd_kafka_topic_destroy(k->validated);
    rd_kafka_topic_destroy(k->attested);
    rd_kafka_topic_destroy(k->rejected);
    rd_kafka_destroy(k->rk);
    free(k);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    f->k = *state;
    f->w = fx_world_new();
    f->ctx.reg = f->w->reg;
    f->ctx.network_id = FX_NETWORK;
    f->ctx.key = &f->w->notary;
    mt_stage_ctx_topics(&f->ctx, PREFIX);
    f->ctx.ledger = fx_ledger_new(NULL);
    f->ob = mt_outbox_new();
    f->log = open_memstream(&f->logbuf, &f->loglen);
    if (!f->ctx.ledger || !f->ob || !f->log) return -1;
    mt_log_set_stream(f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mt_log_set_stream(NULL);
    fclose(f->log);
    free(f->logbuf);
    mt_outbox_destroy(f->ob);
    mt_ledger_free(f->ctx.ledger);
    fx_world_free(f->w);
    free(f);
    return 0;
}

/* ---- helpers ---- */

/* A Kafka message as a consumer would hand it over. */
static rd_kafka_message_t kmsg(rd_kafka_topic_t *rkt, int32_t partition, int64_t offset, const char *key,
                               const void *val, size_t len)
{
    rd_kafka_message_t m;
    memset(&m, 0, sizeof(m));
    m.rkt = rkt;
    m.partition = partition;
    m.offset = offset;
    m.key = (void *)key;
    m.key_len = key ? strlen(key) : 0;
    m.payload = (void *)val;
    m.len = len;
    return m;
}

struct out {
    const char *topic;
    const void *key, *val;
    size_t klen, vlen;
};

static struct out outbox_at(const mt_outbox *ob, size_t i)
{
    struct out o;
    assert_int_equal(mt_outbox_get(ob, i, &o.topic, &o.key, &o.klen, &o.val, &o.vlen), 0);
    return o;
}

static void assert_key(const struct out *o, const char *key)
{
    assert_int_equal(o->klen, strlen(key));
    assert_memory_equal(o->key, key, o->klen);
}

static Mintrace__V1__Rejection *rejection_of(const void *bytes, size_t len)
{
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, len, bytes);
    assert_non_null(r);
    return r;
}

/* The i-th outbox message, checked to be a ledger entry at index, decoded (free_unpacked). */
static Mintrace__V1__LedgerEntry *ledger_at(const struct fx *f, size_t i, uint64_t index)
{
    struct out o = outbox_at(f->ob, i);
    unsigned char key[8];
    assert_string_equal(o.topic, f->ctx.t_ledger);
    mt_journal_key(index, key);
    assert_int_equal(o.klen, 8);
    assert_memory_equal(o.key, key, 8);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, o.vlen, o.val);
    assert_non_null(e);
    assert_int_equal(e->index, index);
    return e;
}

/* Judges bytes at FX_T_NOW. */
static mt_reason judge(const struct fx *f, const void *bytes, size_t len, mt_verdict *v)
{
    return mt_validate_envelope(f->w->reg, FX_NETWORK, bytes, len, FX_T_NOW, v);
}

/* Seals e by kp, judges it at t and checks the reason and that the detail names want. */
static void assert_judged(const struct fx *f, const fx_event *e, const mt_keypair *kp, int64_t t, mt_reason code,
                          const char *want)
{
    size_t len;
    mt_verdict v;
    uint8_t *env = fx_seal_event(kp, &e->ev, &len);
    mt_reason got = mt_validate_envelope(f->w->reg, FX_NETWORK, env, len, t, &v);
    free(env);
    if (got != code || v.code != code)
        fail_msg("judged %s (%s), expected %s", mt_reason_name(got), v.detail, mt_reason_name(code));
    if (want && !strstr(v.detail, want)) fail_msg("detail '%s' does not name '%s'", v.detail, want);
}

static void assert_malformed(const struct fx *f, const fx_event *e, const char *field)
{
    assert_judged(f, e, &f->w->mine, FX_T_NOW, R(MALFORMED_EVENT), field);
}

/* A well-formed EXTRACT of FX_MINE, sealed by the mine key and attested by the notary. */
static uint8_t *good_attested(const struct fx *f, size_t *len)
{
    size_t elen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, len);
    free(env);
    return ae;
}

/* A Rejection as validate would write it of original (free()). */
static uint8_t *some_rejection(mt_reason code, const void *original, size_t olen, size_t *len)
{
    mt_verdict v = {0};
    mt_verdict_reject(&v, code, "signature by key k does not verify");
    snprintf(v.facility_id, sizeof(v.facility_id), "%s", FX_MINE);
    uint8_t *r = mt_rejection_pack(&v, STAGE(VALIDATE), original, olen, PREFIX "events.submitted", 3, 42,
                                   FX_T_NOW, len);
    assert_non_null(r);
    return r;
}

/* ==== event.c ==== */

/* Reason names drop the REASON_CODE_ prefix; an unknown code is "UNKNOWN". */
static void test_reason_name(void **state)
{
    (void)state;
    assert_string_equal(mt_reason_name(R(BAD_SIGNATURE)), "BAD_SIGNATURE");
    assert_string_equal(mt_reason_name(R(BAD_ATTESTATION)), "BAD_ATTESTATION");
    assert_string_equal(mt_reason_name((mt_reason)9999), "UNKNOWN");
}

/* mt_rejection_pack keeps every field, the original bytes byte for byte. */
static void test_rejection_pack_round_trip(void **state)
{
    (void)state;
    static const uint8_t orig[] = {0, 1, 2, 0xff, 0x80};
    mt_verdict v = {0};
    mt_verdict_reject(&v, R(UNKNOWN_KEY), "key %s is unknown", "abc");
    memset(v.event_id, 0xab, MT_HASH_LEN);
    v.has_event_id = 1;
    snprintf(v.facility_id, sizeof(v.facility_id), "F-1");
    size_t len;
    uint8_t *bytes = mt_rejection_pack(&v, STAGE(SIGN), orig, sizeof(orig), "t.x", 4, 77, 1234, &len);
    Mintrace__V1__Rejection *r = rejection_of(bytes, len);
    assert_int_equal(r->code, R(UNKNOWN_KEY));
    assert_string_equal(r->detail, "key abc is unknown");
    assert_int_equal(r->stage, STAGE(SIGN));
    assert_int_equal(r->original.len, sizeof(orig));
    assert_memory_equal(r->original.data, orig, sizeof(orig));
    assert_string_equal(r->source_topic, "t.x");
    assert_int_equal(r->source_partition, 4);
    assert_int_equal(r->source_offset, 77);
    assert_int_equal(r->event_id.len, MT_HASH_LEN);
    assert_memory_equal(r->event_id.data, v.event_id, MT_HASH_LEN);
    assert_string_equal(r->facility_id, "F-1");
    assert_int_equal(r->time_ms, 1234);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    free(bytes);
}

/* mt_envelope_seal signs PAE(type, payload) with the key, naming its key id and role. */
static void test_envelope_seal_verifies(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *bytes = fx_seal(&f->w->mine, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, "abc", 3,
                             &len);
    Mintrace__V1__Envelope *env = fx_envelope_open(bytes, len);
    assert_string_equal(env->payload_type, MT_PAYLOAD_EVENT);
    assert_int_equal(env->n_signatures, 1);
    assert_string_equal(env->signatures[0]->key_id, f->w->mine.key_id);
    assert_int_equal(env->signatures[0]->role, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY);
    assert_int_equal(env->signatures[0]->sig.len, MT_SIG_LEN);
    assert_int_equal(mt_verify(f->w->mine.pk, MT_PAYLOAD_EVENT, "abc", 3, env->signatures[0]->sig.data), 0);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    free(bytes);
}

/* ==== validate.c ==== */

/* A good event is accepted with its event id (BLAKE2b-256 of the payload) and facility. */
static void test_validate_accepts_good_event(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len;
    uint8_t *env = fx_seal_event(&f->w->mine, &e.ev, &len);
    unsigned char id[MT_HASH_LEN];
    fx_event_id(&e.ev, id);
    mt_verdict v;
    assert_int_equal(judge(f, env, len, &v), 0);
    assert_int_equal(v.code, 0);
    assert_true(v.has_event_id);
    assert_memory_equal(v.event_id, id, MT_HASH_LEN);
    assert_string_equal(v.facility_id, FX_MINE);
    free(env);
}

/* A TRANSFER (inputs, prev, detail) by a mine is accepted too. */
static void test_validate_accepts_transfer(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_transfer(&e, FX_MINE);
    assert_judged(f, &e, &f->w->mine, FX_T_NOW, 0, NULL);
}

/* A key with a validity window is accepted inside it. */
static void test_validate_accepts_key_inside_window(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    assert_judged(f, &e, &f->w->mine_window, FX_T_NOW, 0, NULL);
}

/* Bytes that are not an Envelope: UNDECODABLE_ENVELOPE, no event id. */
static void test_validate_undecodable_envelope(void **state)
{
    struct fx *f = *state;
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x7f};
    mt_verdict v;
    assert_int_equal(judge(f, junk, sizeof(junk), &v), R(UNDECODABLE_ENVELOPE));
    assert_false(v.has_event_id);
    assert_string_equal(v.facility_id, "");
}

/* An envelope of another payload type: WRONG_PAYLOAD_TYPE, naming it. */
static void test_validate_wrong_payload_type(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t plen, len;
    uint8_t *payload = fx_event_pack(&e.ev, &plen);
    uint8_t *env = fx_seal(&f->w->mine, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_ATTESTATION,
                           payload, plen, &len);
    mt_verdict v;
    assert_int_equal(judge(f, env, len, &v), R(WRONG_PAYLOAD_TYPE));
    assert_non_null(strstr(v.detail, MT_PAYLOAD_ATTESTATION));
    free(payload);
    free(env);
}

/* A BatchEvent envelope whose payload does not decode: UNDECODABLE_PAYLOAD, with the event id of
 * the payload bytes all the same. */
static void test_validate_undecodable_payload(void **state)
{
    struct fx *f = *state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    size_t len;
    uint8_t *env = fx_seal(&f->w->mine, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, junk,
                           sizeof(junk), &len);
    unsigned char id[MT_HASH_LEN];
    mt_hash(junk, sizeof(junk), id);
    mt_verdict v;
    assert_int_equal(judge(f, env, len, &v), R(UNDECODABLE_PAYLOAD));
    assert_true(v.has_event_id);
    assert_memory_equal(v.event_id, id, MT_HASH_LEN);
    free(env);
}

/* An event naming another network: WRONG_NETWORK, facility filled. */
static void test_validate_wrong_network(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.ev.network_id = "other-net";
    size_t len;
    uint8_t *env = fx_seal_event(&f->w->mine, &e.ev, &len);
    mt_verdict v;
    assert_int_equal(judge(f, env, len, &v), R(WRONG_NETWORK));
    assert_non_null(strstr(v.detail, "other-net"));
    assert_string_equal(v.facility_id, FX_MINE);
    free(env);
}

/* seq 0: MALFORMED_EVENT naming seq. */
static void test_validate_malformed_seq_zero(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.ev.seq = 0;
    assert_malformed(f, &e, "seq");
}

/* prev set while seq is 1: MALFORMED_EVENT naming prev. */
static void test_validate_malformed_prev_with_seq_1(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    memset(e.prev, 1, sizeof(e.prev));
    e.ev.prev = (ProtobufCBinaryData){MT_HASH_LEN, e.prev};
    assert_malformed(f, &e, "prev");
}

/* seq 2 without prev: MALFORMED_EVENT naming prev. */
static void test_validate_malformed_seq_2_without_prev(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_transfer(&e, FX_MINE);
    e.ev.prev = (ProtobufCBinaryData){0, NULL};
    assert_malformed(f, &e, "prev");
}

/* No site country: MALFORMED_EVENT naming site.country. */
static void test_validate_malformed_missing_country(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.site.country = "";
    assert_malformed(f, &e, "site.country");
}

/* EXTRACT with inputs: MALFORMED_EVENT naming inputs. */
static void test_validate_malformed_extract_with_inputs(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.in[0].batch_id = "ORE-1";
    e.in[0].mass_mg = 1000;
    e.ev.n_inputs = 1;
    assert_malformed(f, &e, "inputs");
}

/* TRANSFER without its detail: MALFORMED_EVENT naming detail. */
static void test_validate_malformed_transfer_without_detail(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_transfer(&e, FX_MINE);
    e.ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL__NOT_SET;
    e.ev.transfer = NULL;
    assert_malformed(f, &e, "detail");
}

/* An element symbol not written as IUPAC does ("nd"): MALFORMED_EVENT naming the element. */
static void test_validate_malformed_element_symbol(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.el[0].element = "nd";
    assert_malformed(f, &e, "outputs[0].elements[0]");
}

/* Element masses summing beyond the batch mass: MALFORMED_EVENT. */
static void test_validate_malformed_elements_exceed_mass(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.el[1].mass_mg = e.out[0].mass_mg - e.el[0].mass_mg + 1;
    assert_malformed(f, &e, "exceed");
}

/* An unknown kind: MALFORMED_EVENT naming kind. */
static void test_validate_malformed_unknown_kind(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.ev.kind = (Mintrace__V1__EventKind)99;
    e.ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL__NOT_SET;
    assert_malformed(f, &e, "kind");
}

/* An envelope without signatures: MISSING_SIGNATURE. */
static void test_validate_missing_signature(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t plen, len;
    uint8_t *payload = fx_event_pack(&e.ev, &plen);
    Mintrace__V1__Envelope env = MINTRACE__V1__ENVELOPE__INIT;
    env.payload_type = MT_PAYLOAD_EVENT;
    env.payload = (ProtobufCBinaryData){plen, payload};
    uint8_t *bytes = mt_message_pack(&env.base, &len);
    mt_verdict v;
    assert_int_equal(judge(f, bytes, len, &v), R(MISSING_SIGNATURE));
    free(bytes);
    free(payload);
}

/* A first signature in another role than FACILITY: MISSING_SIGNATURE. */
static void test_validate_first_signature_not_facility(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *bytes = fx_good_envelope(f->w, &len);
    Mintrace__V1__Envelope *env = fx_envelope_open(bytes, len);
    free(bytes);
    env->signatures[0]->role = MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY;
    bytes = fx_envelope_repack(env, &len);
    mt_verdict v;
    assert_int_equal(judge(f, bytes, len, &v), R(MISSING_SIGNATURE));
    free(bytes);
}

/* A key the registry does not know: UNKNOWN_KEY, naming it. */
static void test_validate_unknown_key(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    assert_judged(f, &e, &f->w->stranger, FX_T_NOW, R(UNKNOWN_KEY), f->w->stranger.key_id);
}

/* A key of another facility than the event names: KEY_FACILITY_MISMATCH, naming both. */
static void test_validate_key_facility_mismatch(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    assert_judged(f, &e, &f->w->refiner, FX_T_NOW, R(KEY_FACILITY_MISMATCH), FX_REFINER);
}

/* A key revoked before the time of judgement: KEY_REVOKED. */
static void test_validate_key_revoked(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    assert_judged(f, &e, &f->w->mine_revoked, FX_T_NOW, R(KEY_REVOKED), f->w->mine_revoked.key_id);
}

/* A key outside its validity window: KEY_NOT_VALID. */
static void test_validate_key_not_valid(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    assert_judged(f, &e, &f->w->mine_window, FX_T_EARLY, R(KEY_NOT_VALID), f->w->mine_window.key_id);
}

/* A refiner emitting EXTRACT: ROLE_NOT_ALLOWED, naming role and kind. */
static void test_validate_role_not_allowed(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_REFINER);
    assert_judged(f, &e, &f->w->refiner, FX_T_NOW, R(ROLE_NOT_ALLOWED), "EVENT_KIND_EXTRACT");
}

/* One bit of the payload flipped (the event still decodes and is well formed): BAD_SIGNATURE. */
static void test_validate_bad_signature_payload_bit(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *bytes = fx_good_envelope(f->w, &len);
    Mintrace__V1__Envelope *env = fx_envelope_open(bytes, len);
    free(bytes);
    fx_flip_bit(env->payload.data, fx_find(env->payload.data, env->payload.len, "Chavara beach"), 0); /* C -> B */
    bytes = fx_envelope_repack(env, &len);
    mt_verdict v;
    assert_int_equal(judge(f, bytes, len, &v), R(BAD_SIGNATURE));
    assert_non_null(strstr(v.detail, f->w->mine.key_id));
    free(bytes);
}

/* One bit of the signature flipped: BAD_SIGNATURE. */
static void test_validate_bad_signature_sig_bit(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *bytes = fx_good_envelope(f->w, &len);
    Mintrace__V1__Envelope *env = fx_envelope_open(bytes, len);
    free(bytes);
    fx_flip_bit(env->signatures[0]->sig.data, 17, 3);
    bytes = fx_envelope_repack(env, &len);
    mt_verdict v;
    assert_int_equal(judge(f, bytes, len, &v), R(BAD_SIGNATURE));
    free(bytes);
}

/* Cheap rules come first: a malformed event by an unknown key is MALFORMED_EVENT. */
static void test_validate_shape_before_key(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.ev.seq = 0;
    assert_judged(f, &e, &f->w->stranger, FX_T_NOW, R(MALFORMED_EVENT), "seq");
}

/* ==== notary.c ==== */

/* attest then open: the attestation names the event id, the envelope hash, the notary time and
 * the registry version, and opens with the event decoded. */
static void test_notary_attest_open_round_trip(void **state)
{
    struct fx *f = *state;
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    unsigned char env_hash[MT_HASH_LEN], id[MT_HASH_LEN];
    mt_hash(env, elen, env_hash);
    Mintrace__V1__Envelope *e = fx_envelope_open(env, elen);
    mt_hash(e->payload.data, e->payload.len, id);
    mintrace__v1__envelope__free_unpacked(e, NULL);

    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    assert_memory_equal(a.event_id, id, MT_HASH_LEN);
    assert_int_equal(a.att->event_id.len, MT_HASH_LEN);
    assert_memory_equal(a.att->event_id.data, id, MT_HASH_LEN);
    assert_int_equal(a.att->envelope_hash.len, MT_HASH_LEN);
    assert_memory_equal(a.att->envelope_hash.data, env_hash, MT_HASH_LEN);
    assert_int_equal(a.att->notary_time_ms, FX_T_NOW);
    assert_int_equal(a.att->registry_version, FX_REG_VERSION);
    assert_string_equal(a.att->network_id, FX_NETWORK);
    assert_string_equal(a.att_env->signatures[0]->key_id, f->w->notary.key_id);
    assert_string_equal(a.ev->facility_id, FX_MINE);
    assert_string_equal(v.facility_id, FX_MINE);
    assert_int_equal(a.ae->envelope.len, elen);
    assert_memory_equal(a.ae->envelope.data, env, elen); /* byte for byte as submitted */
    unsigned char ah[MT_HASH_LEN];
    mt_hash(a.ae->attestation.data, a.ae->attestation.len, ah);
    assert_memory_equal(a.attestation_hash, ah, MT_HASH_LEN);
    mt_attested_release(&a);
    free(ae);
    free(env);
}

/* Opens ae and checks the verdict is want, detail naming what (may be NULL). */
static void assert_open_refused(const struct fx *f, const char *network, const void *ae, size_t len, mt_reason want,
                                const char *what)
{
    mt_attested a;
    mt_verdict v;
    int rc = mt_attested_open(f->w->reg, network, ae, len, &a, &v);
    mt_attested_release(&a);
    if (rc != (int)want || v.code != want)
        fail_msg("open gave %s (%s), expected %s", mt_reason_name((mt_reason)rc), v.detail, mt_reason_name(want));
    if (what && !strstr(v.detail, what)) fail_msg("detail '%s' does not name '%s'", v.detail, what);
}

/* An attestation signed by a key that is not a notary's: BAD_ATTESTATION. */
static void test_notary_open_refuses_non_notary_key(void **state)
{
    struct fx *f = *state;
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->mine, env, elen, FX_T_NOW, &alen); /* a facility key as notary */
    assert_open_refused(f, FX_NETWORK, ae, alen, R(BAD_ATTESTATION), "not a notary key");
    free(ae);
    free(env);
}

/* An attestation signed by a notary key revoked before the attested time: BAD_ATTESTATION. */
static void test_notary_open_refuses_revoked_notary(void **state)
{
    struct fx *f = *state;
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary_revoked, env, elen, FX_T_NOW, &alen);
    assert_open_refused(f, FX_NETWORK, ae, alen, R(BAD_ATTESTATION), "revoked");
    free(ae);
    free(env);
}

/* One bit flipped in the attestation's signed payload: BAD_ATTESTATION. */
static void test_notary_open_refuses_flipped_attestation_bit(void **state)
{
    struct fx *f = *state;
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *bytes = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, alen, bytes);
    free(bytes);
    assert_non_null(ae);
    Mintrace__V1__Envelope *att = fx_envelope_open(ae->attestation.data, ae->attestation.len);
    /* the last byte is registry_version's varint (7): 7 -> 6 still decodes */
    fx_flip_bit(att->payload.data, att->payload.len - 1, 0);
    size_t l;
    uint8_t *att_bytes = fx_envelope_repack(att, &l);
    free(ae->attestation.data);
    ae->attestation = (ProtobufCBinaryData){l, att_bytes};
    bytes = mt_message_pack(&ae->base, &alen);
    mintrace__v1__attested_event__free_unpacked(ae, NULL);
    assert_open_refused(f, FX_NETWORK, bytes, alen, R(BAD_ATTESTATION), "does not verify");
    free(bytes);
    free(env);
}

/* The attestation of one envelope put beside another: BAD_ATTESTATION. */
static void test_notary_open_refuses_swapped_attestation(void **state)
{
    struct fx *f = *state;
    fx_event e2;
    fx_event_transfer(&e2, FX_MINE);
    size_t l1, l2, a1len, a2len;
    uint8_t *env1 = fx_good_envelope(f->w, &l1), *env2 = fx_seal_event(&f->w->mine, &e2.ev, &l2);
    uint8_t *a1 = fx_attest(f->w, &f->w->notary, env1, l1, FX_T_NOW, &a1len);
    uint8_t *a2 = fx_attest(f->w, &f->w->notary, env2, l2, FX_T_NOW, &a2len);
    Mintrace__V1__AttestedEvent *ae1 = mintrace__v1__attested_event__unpack(NULL, a1len, a1);
    Mintrace__V1__AttestedEvent *ae2 = mintrace__v1__attested_event__unpack(NULL, a2len, a2);
    Mintrace__V1__AttestedEvent swapped = MINTRACE__V1__ATTESTED_EVENT__INIT;
    swapped.envelope = ae1->envelope;
    swapped.attestation = ae2->attestation;
    size_t slen;
    uint8_t *s = mt_message_pack(&swapped.base, &slen);
    assert_open_refused(f, FX_NETWORK, s, slen, R(BAD_ATTESTATION), "another envelope");
    free(s);
    mintrace__v1__attested_event__free_unpacked(ae1, NULL);
    mintrace__v1__attested_event__free_unpacked(ae2, NULL);
    free(a1);
    free(a2);
    free(env1);
    free(env2);
}

/* The attestation of an envelope put beside another envelope of the same event (same payload,
 * one more signature): BAD_ATTESTATION, the envelope hash differs. */
static void test_notary_open_refuses_same_event_other_envelope(void **state)
{
    struct fx *f = *state;
    size_t elen, alen, l2;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *a = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    Mintrace__V1__Envelope *e = fx_envelope_open(env, elen);
    Mintrace__V1__Signature extra = MINTRACE__V1__SIGNATURE__INIT, **sigs = calloc(2, sizeof(*sigs));
    unsigned char sig[MT_SIG_LEN] = {0};
    extra.key_id = (char *)f->w->refiner.key_id;
    extra.sig = (ProtobufCBinaryData){MT_SIG_LEN, sig};
    extra.role = MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY;
    sigs[0] = e->signatures[0];
    sigs[1] = &extra;
    Mintrace__V1__Signature **orig = e->signatures;
    e->signatures = sigs;
    e->n_signatures = 2;
    uint8_t *env2 = mt_message_pack(&e->base, &l2);
    e->signatures = orig;
    e->n_signatures = 1;
    free(sigs);
    mintrace__v1__envelope__free_unpacked(e, NULL);
    Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, alen, a);
    assert_non_null(ae);
    Mintrace__V1__AttestedEvent swapped = MINTRACE__V1__ATTESTED_EVENT__INIT;
    swapped.envelope = (ProtobufCBinaryData){l2, env2};
    swapped.attestation = ae->attestation;
    size_t slen;
    uint8_t *s = mt_message_pack(&swapped.base, &slen);
    assert_open_refused(f, FX_NETWORK, s, slen, R(BAD_ATTESTATION), "another envelope");
    free(s);
    mintrace__v1__attested_event__free_unpacked(ae, NULL);
    free(env2);
    free(a);
    free(env);
}

/* An attestation for another network than the reader's: WRONG_NETWORK. */
static void test_notary_open_refuses_wrong_network(void **state)
{
    struct fx *f = *state;
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    assert_open_refused(f, "other-net", ae, alen, R(WRONG_NETWORK), FX_NETWORK);
    free(ae);
    free(env);
}

/* Bytes that are not an AttestedEvent of a BatchEvent envelope: UNDECODABLE_ENVELOPE. */
static void test_notary_open_refuses_garbage(void **state)
{
    struct fx *f = *state;
    static const uint8_t junk[] = {0x0a, 0x03, 'x', 'y', 'z'}; /* envelope = "xyz" */
    assert_open_refused(f, FX_NETWORK, junk, sizeof(junk), R(UNDECODABLE_ENVELOPE), NULL);
    assert_open_refused(f, FX_NETWORK, "\xff\xff", 2, R(UNDECODABLE_ENVELOPE), NULL);
}

/* attest refuses a facility key revoked at notary time: KEY_REVOKED with id and facility. */
static void test_notary_attest_refuses_revoked_key(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len, olen = 0;
    uint8_t *env = fx_seal_event(&f->w->mine_revoked, &e.ev, &len), *out = (uint8_t *)1;
    unsigned char id[MT_HASH_LEN];
    fx_event_id(&e.ev, id);
    mt_verdict v;
    int rc = mt_notary_attest(&f->w->notary, f->w->reg, FX_NETWORK, env, len, FX_T_NOW, &out, &olen, &v);
    assert_int_equal(rc, R(KEY_REVOKED));
    assert_int_equal(v.code, R(KEY_REVOKED));
    assert_null(out);
    assert_true(v.has_event_id);
    assert_memory_equal(v.event_id, id, MT_HASH_LEN);
    assert_string_equal(v.facility_id, FX_MINE);
    free(env);
}

/* The same key is attested before its revocation: validity is judged at notary time. */
static void test_notary_attest_judges_at_notary_time(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len, olen;
    uint8_t *env = fx_seal_event(&f->w->mine_revoked, &e.ev, &len);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, len, FX_T_REVOKED - 1, &olen);
    free(ae);
    free(env);
}

/* attest refuses an envelope signed by a key the registry lacks: UNKNOWN_KEY. */
static void test_notary_attest_refuses_unknown_key(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len, olen;
    uint8_t *env = fx_seal_event(&f->w->stranger, &e.ev, &len), *out;
    mt_verdict v;
    assert_int_equal(mt_notary_attest(&f->w->notary, f->w->reg, FX_NETWORK, env, len, FX_T_NOW, &out, &olen, &v),
                     R(UNKNOWN_KEY));
    free(env);
}

/* ==== journal.c ==== */

/* The leaf hash is SHA-256(0x00 | 0x01 | u64be index | type | subject | statement). */
static void test_leaf_hash_known_answer(void **state)
{
    (void)state;
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN], got[MT_HASH_LEN], want[MT_HASH_LEN];
    unsigned char buf[1 + MT_LEAF_LEN] = {0x00, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 2};
    for (int i = 0; i < MT_HASH_LEN; i++) {
        subject[i] = (unsigned char)i;
        statement[i] = (unsigned char)(0xff - i);
    }
    memcpy(buf + 11, subject, MT_HASH_LEN);
    memcpy(buf + 11 + MT_HASH_LEN, statement, MT_HASH_LEN);
    crypto_hash_sha256(want, buf, sizeof(buf));
    mt_leaf_hash(0x0102030405060708ULL, MT_LEAF_REJECTION, subject, statement, got);
    assert_memory_equal(got, want, MT_HASH_LEN);
}

/* Changing any input of the leaf changes its hash. */
static void test_leaf_hash_depends_on_every_input(void **state)
{
    (void)state;
    unsigned char s[MT_HASH_LEN] = {1}, t[MT_HASH_LEN] = {2}, s2[MT_HASH_LEN] = {1}, t2[MT_HASH_LEN] = {2};
    unsigned char base[MT_HASH_LEN], h[MT_HASH_LEN];
    s2[31] = 1;
    t2[31] = 1;
    mt_leaf_hash(7, MT_LEAF_EVENT, s, t, base);
    mt_leaf_hash(8, MT_LEAF_EVENT, s, t, h);
    assert_memory_not_equal(h, base, MT_HASH_LEN);
    mt_leaf_hash(7, MT_LEAF_REJECTION, s, t, h);
    assert_memory_not_equal(h, base, MT_HASH_LEN);
    mt_leaf_hash(7, MT_LEAF_EVENT, s2, t, h);
    assert_memory_not_equal(h, base, MT_HASH_LEN);
    mt_leaf_hash(7, MT_LEAF_EVENT, s, t2, h);
    assert_memory_not_equal(h, base, MT_HASH_LEN);
    mt_leaf_hash(7, MT_LEAF_EVENT, t, s, h); /* subject and statement are not interchangeable */
    assert_memory_not_equal(h, base, MT_HASH_LEN);
    mt_leaf_hash(7, MT_LEAF_EVENT, s, t, h);
    assert_memory_equal(h, base, MT_HASH_LEN);
}

/* The ledger key is the index, 8 bytes big-endian. */
static void test_journal_key_big_endian(void **state)
{
    (void)state;
    unsigned char key[8];
    static const unsigned char want[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    static const unsigned char one[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    mt_journal_key(0x0102030405060708ULL, key);
    assert_memory_equal(key, want, 8);
    mt_journal_key(1, key);
    assert_memory_equal(key, one, 8);
}

/* An event entry decodes as a LedgerEntry with its index, leaf hash and the attested bytes. */
static void test_journal_event_entry_decodes(void **state)
{
    struct fx *f = *state;
    size_t alen, len;
    uint8_t *ae = good_attested(f, &alen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    uint8_t *bytes = mt_journal_event_entry(5, &a, &len);
    assert_non_null(bytes);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, bytes);
    assert_non_null(e);
    assert_int_equal(e->index, 5);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT);
    unsigned char statement[MT_HASH_LEN], leaf[MT_HASH_LEN];
    mt_hash(a.ae->attestation.data, a.ae->attestation.len, statement);
    mt_leaf_hash(5, MT_LEAF_EVENT, a.event_id, statement, leaf);
    assert_int_equal(e->leaf_hash.len, MT_HASH_LEN);
    assert_memory_equal(e->leaf_hash.data, leaf, MT_HASH_LEN);
    assert_int_equal(e->event->envelope.len, a.ae->envelope.len);
    assert_memory_equal(e->event->envelope.data, a.ae->envelope.data, a.ae->envelope.len);
    assert_int_equal(e->event->attestation.len, a.ae->attestation.len);
    assert_memory_equal(e->event->attestation.data, a.ae->attestation.data, a.ae->attestation.len);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    mt_attested_release(&a);
    free(bytes);
    free(ae);
}

/* A rejection entry keeps the Rejection byte for byte; its leaf commits to the original and to
 * those bytes. */
static void test_journal_rejection_entry_keeps_bytes(void **state)
{
    (void)state;
    size_t rlen, len;
    uint8_t *rej = some_rejection(R(BAD_SIGNATURE), "orig", 4, &rlen);
    uint8_t *bytes = mt_journal_rejection_entry(9, rej, rlen, &len);
    assert_non_null(bytes);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, bytes);
    assert_non_null(e);
    assert_int_equal(e->index, 9);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION);
    assert_int_equal(e->rejection.len, rlen);
    assert_memory_equal(e->rejection.data, rej, rlen);
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN], leaf[MT_HASH_LEN];
    mt_hash("orig", 4, subject);
    mt_hash(rej, rlen, statement);
    mt_leaf_hash(9, MT_LEAF_REJECTION, subject, statement, leaf);
    assert_memory_equal(e->leaf_hash.data, leaf, MT_HASH_LEN);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    free(bytes);
    free(rej);
}

/* Bytes that are not a Rejection make no rejection entry. */
static void test_journal_rejection_entry_refuses_garbage(void **state)
{
    (void)state;
    size_t len;
    assert_null(mt_journal_rejection_entry(0, "\xff\xff\xff", 3, &len));
}

/* ==== journal_text.c ==== */

/* The text of a memstream, after a flush. */
static const char *text_of(FILE *fp, char **buf)
{
    fflush(fp);
    return *buf;
}

/* An accepted entry is one line: index, facility, kind, seq, id prefix, outputs in kg. */
static void test_describe_accepted_line(void **state)
{
    struct fx *f = *state;
    size_t alen, len, tlen;
    char *text = NULL;
    FILE *fp = open_memstream(&text, &tlen);
    uint8_t *ae = good_attested(f, &alen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    uint8_t *entry = mt_journal_event_entry(0, &a, &len);
    mt_journal_tally t = {0};
    assert_int_equal(mt_journal_describe(fp, entry, len, &t), 0);
    char hex[2 * MT_HASH_LEN + 1];
    mt_hex_encode(a.event_id, 6, hex);
    const char *s = text_of(fp, &text);
    assert_non_null(strstr(s, "       0  accepted  " FX_MINE));
    assert_non_null(strstr(s, " EXTRACT "));
    assert_non_null(strstr(s, "seq 1 "));
    assert_non_null(strstr(s, hex));
    assert_non_null(strstr(s, "out: MON-0001 5000.123 kg monazite-concentrate\n"));
    assert_int_equal(strchr(s, '\n') - s + 1, (long)strlen(s)); /* one line */
    assert_int_equal(t.accepted, 1);
    assert_int_equal(t.next_index, 1);
    fclose(fp);
    free(text);
    free(entry);
    mt_attested_release(&a);
    free(ae);
}

/* A transfer's line shows its inputs and destination. */
static void test_describe_transfer_line(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_transfer(&e, FX_MINE);
    size_t elen, alen, len, tlen;
    char *text = NULL;
    FILE *fp = open_memstream(&text, &tlen);
    uint8_t *env = fx_seal_event(&f->w->mine, &e.ev, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    uint8_t *entry = mt_journal_event_entry(0, &a, &len);
    mt_journal_tally t = {0};
    assert_int_equal(mt_journal_describe(fp, entry, len, &t), 0);
    const char *s = text_of(fp, &text);
    assert_non_null(strstr(s, " TRANSFER "));
    assert_non_null(strstr(s, "in: MON-0001 1000.000 kg"));
    assert_non_null(strstr(s, "to " FX_REFINER "\n"));
    fclose(fp);
    free(text);
    free(entry);
    mt_attested_release(&a);
    free(ae);
    free(env);
}

/* An accepted event of a kind the reader does not know is shown as "?" (its name is not read
 * past the end of "?"). */
static void test_describe_unknown_kind(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    e.ev.kind = (Mintrace__V1__EventKind)99; /* the notary does not judge the shape */
    size_t elen, alen, len, tlen;
    char *text = NULL, kind[32] = "";
    FILE *fp = open_memstream(&text, &tlen);
    uint8_t *env = fx_seal_event(&f->w->mine, &e.ev, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->notary, env, elen, FX_T_NOW, &alen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    uint8_t *entry = mt_journal_event_entry(0, &a, &len);
    mt_journal_tally t = {0};
    assert_int_equal(mt_journal_describe(fp, entry, len, &t), 0);
    /* index, "accepted", facility, kind */
    assert_int_equal(sscanf(text_of(fp, &text), "%*s %*s %*s %31s", kind), 1);
    assert_string_equal(kind, "?");
    fclose(fp);
    free(text);
    free(entry);
    mt_attested_release(&a);
    free(ae);
    free(env);
}

/* A rejection's line shows the facility, stage, reason, detail and where it was read. */
static void test_describe_rejection_line(void **state)
{
    (void)state;
    size_t rlen, len, tlen;
    char *text = NULL;
    FILE *fp = open_memstream(&text, &tlen);
    uint8_t *rej = some_rejection(R(BAD_SIGNATURE), "orig", 4, &rlen);
    uint8_t *entry = mt_journal_rejection_entry(0, rej, rlen, &len);
    mt_journal_tally t = {0};
    assert_int_equal(mt_journal_describe(fp, entry, len, &t), 0);
    const char *s = text_of(fp, &text);
    assert_non_null(strstr(s, "       0  REJECTED  " FX_MINE));
    assert_non_null(strstr(s, "by VALIDATE"));
    assert_non_null(strstr(s, "BAD_SIGNATURE: signature by key k does not verify"));
    assert_non_null(strstr(s, "(" PREFIX "events.submitted [3] @42)\n"));
    assert_int_equal(t.rejected, 1);
    assert_int_equal(t.by_reason[R(BAD_SIGNATURE)], 1);
    fclose(fp);
    free(text);
    free(entry);
    free(rej);
}

/* A duplicate entry is described as one, naming the entry that decided the original; it is
 * counted as a duplicate, neither accepted nor rejected, and the tally says so. */
static void test_describe_duplicate_line(void **state)
{
    (void)state;
    unsigned char id[MT_HASH_LEN], leaf[MT_HASH_LEN] = {0};
    char hex[2 * MT_HASH_LEN + 1];
    memset(id, 0xab, sizeof(id));
    mt_hex_encode(id, 6, hex);
    Mintrace__V1__Duplicate dup = MINTRACE__V1__DUPLICATE__INIT;
    dup.event_id = (ProtobufCBinaryData){MT_HASH_LEN, id};
    dup.first_index = 3;
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = 7;
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE;
    e.duplicate = &dup;
    size_t len, tlen;
    uint8_t *bytes = mt_message_pack(&e.base, &len);
    char *text = NULL;
    FILE *fp = open_memstream(&text, &tlen);
    mt_journal_tally t = {.next_index = 7};
    assert_int_equal(mt_journal_describe(fp, bytes, len, &t), 0);
    char want[128];
    snprintf(want, sizeof(want), "       7  duplicate %s… was decided at 3\n", hex);
    assert_string_equal(text_of(fp, &text), want);
    assert_int_equal(t.entries, 1);
    assert_int_equal(t.duplicates, 1);
    assert_int_equal(t.accepted + t.rejected, 0);
    fclose(fp);
    free(text);
    text = NULL;
    fp = open_memstream(&text, &tlen);
    mt_journal_tally_print(fp, &t);
    assert_string_equal(text_of(fp, &text), "journal: 1 entries: 0 accepted, 0 rejected, 1 duplicate\n");
    fclose(fp);
    free(text);
    free(bytes);
}

/* The tally line counts entries, outcomes and rejections by reason. */
static void test_tally_line(void **state)
{
    struct fx *f = *state;
    size_t alen, rlen, l0, l1, l2, tlen;
    char *text = NULL;
    uint8_t *ae = good_attested(f, &alen);
    uint8_t *rej = some_rejection(R(BAD_SIGNATURE), "orig", 4, &rlen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    uint8_t *e0 = mt_journal_event_entry(0, &a, &l0);
    uint8_t *e1 = mt_journal_rejection_entry(1, rej, rlen, &l1);
    uint8_t *e2 = mt_journal_event_entry(2, &a, &l2);
    FILE *sink = fopen("/dev/null", "w"), *fp = open_memstream(&text, &tlen);
    mt_journal_tally t = {0};
    mt_journal_describe(sink, e0, l0, &t);
    mt_journal_describe(sink, e1, l1, &t);
    mt_journal_describe(sink, e2, l2, &t);
    mt_journal_tally_print(fp, &t);
    assert_string_equal(text_of(fp, &text), "journal: 3 entries: 2 accepted, 1 rejected (BAD_SIGNATURE 1)\n");
    assert_int_equal(t.gaps, 0);
    fclose(sink);
    fclose(fp);
    free(text);
    free(e0);
    free(e1);
    free(e2);
    mt_attested_release(&a);
    free(ae);
    free(rej);
}

/* An index that is not the next one is counted as a gap and named in the tally. */
static void test_tally_counts_index_gaps(void **state)
{
    (void)state;
    size_t rlen, l0, l2, tlen;
    char *text = NULL;
    uint8_t *rej = some_rejection(R(UNKNOWN_KEY), "x", 1, &rlen);
    uint8_t *e0 = mt_journal_rejection_entry(0, rej, rlen, &l0);
    uint8_t *e2 = mt_journal_rejection_entry(2, rej, rlen, &l2);
    FILE *sink = fopen("/dev/null", "w"), *fp = open_memstream(&text, &tlen);
    mt_journal_tally t = {0};
    mt_journal_describe(sink, e0, l0, &t);
    mt_journal_describe(sink, e2, l2, &t);
    assert_int_equal(t.gaps, 1);
    assert_int_equal(t.next_index, 3);
    mt_journal_tally_print(fp, &t);
    assert_string_equal(text_of(fp, &text), "journal: 2 entries: 0 accepted, 2 rejected (UNKNOWN_KEY 2); 1 index gap(s)!\n");
    fclose(sink);
    fclose(fp);
    free(text);
    free(e0);
    free(e2);
    free(rej);
}

/* Bytes that are not a LedgerEntry: -1, a line saying so, counted as undecodable. */
static void test_describe_undecodable(void **state)
{
    (void)state;
    size_t tlen;
    char *text = NULL;
    FILE *fp = open_memstream(&text, &tlen);
    mt_journal_tally t = {0};
    assert_int_equal(mt_journal_describe(fp, "\xff\xff\xff", 3, &t), -1);
    assert_non_null(strstr(text_of(fp, &text), "3 bytes that are not a LedgerEntry"));
    assert_int_equal(t.entries, 1);
    assert_int_equal(t.undecodable, 1);
    fclose(fp);
    free(text);
}

/* ==== stages.c ==== */

/* The topic names get the prefix. */
static void test_stage_topics_prefixed(void **state)
{
    (void)state;
    mt_stage_ctx c;
    mt_stage_ctx_topics(&c, "p.");
    assert_string_equal(c.t_submitted, "p.events.submitted");
    assert_string_equal(c.t_validated, "p.events.validated");
    assert_string_equal(c.t_attested, "p.events.attested");
    assert_string_equal(c.t_rejected, "p.rejected");
    assert_string_equal(c.t_ledger, "p.ledger");
}

/* validate passes a good envelope to events.validated, unchanged, keyed by facility. */
static void test_validate_process_good_to_validated(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *env = fx_good_envelope(f->w, &len);
    rd_kafka_message_t m = kmsg(f->k->submitted, 2, 10, "whatever", env, len);
    assert_int_equal(mt_validate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), 1);
    struct out o = outbox_at(f->ob, 0);
    assert_string_equal(o.topic, f->ctx.t_validated);
    assert_key(&o, FX_MINE);
    assert_int_equal(o.vlen, len);
    assert_memory_equal(o.val, env, len);
    assert_int_equal(f->ctx.pending_passed, 1);
    free(env);
}

/* validate writes a bad envelope's Rejection to rejected: the original bytes, where they were
 * read, the reason and the facility as key. */
static void test_validate_process_bad_to_rejected(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len;
    uint8_t *env = fx_seal_event(&f->w->stranger, &e.ev, &len);
    rd_kafka_message_t m = kmsg(f->k->submitted, 4, 1234, "kafka-key", env, len);
    assert_int_equal(mt_validate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), 1);
    struct out o = outbox_at(f->ob, 0);
    assert_string_equal(o.topic, f->ctx.t_rejected);
    assert_key(&o, FX_MINE);
    Mintrace__V1__Rejection *r = rejection_of(o.val, o.vlen);
    assert_int_equal(r->code, R(UNKNOWN_KEY));
    assert_int_equal(r->stage, STAGE(VALIDATE));
    assert_int_equal(r->original.len, len);
    assert_memory_equal(r->original.data, env, len);
    assert_string_equal(r->source_topic, PREFIX "events.submitted");
    assert_int_equal(r->source_partition, 4);
    assert_int_equal(r->source_offset, 1234);
    assert_string_equal(r->facility_id, FX_MINE);
    assert_int_equal(r->event_id.len, MT_HASH_LEN);
    assert_true(r->time_ms > FX_T_NOW);
    assert_int_equal(f->ctx.pending_rejected, 1);
    assert_int_equal(f->ctx.pending_passed, 0);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    free(env);
    assert_non_null(strstr(text_of(f->log, &f->logbuf), "UNKNOWN_KEY")); /* and logs it */
}

/* A rejection of bytes with no facility in them is keyed by the original Kafka key. */
static void test_validate_process_undecodable_keeps_kafka_key(void **state)
{
    struct fx *f = *state;
    rd_kafka_message_t m = kmsg(f->k->submitted, 0, 7, "kafka-key", "\xff\xff\xff", 3);
    assert_int_equal(mt_validate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    struct out o = outbox_at(f->ob, 0);
    assert_string_equal(o.topic, f->ctx.t_rejected);
    assert_key(&o, "kafka-key");
    Mintrace__V1__Rejection *r = rejection_of(o.val, o.vlen);
    assert_int_equal(r->code, R(UNDECODABLE_ENVELOPE));
    mintrace__v1__rejection__free_unpacked(r, NULL);
}

/* sign emits an AttestedEvent of the envelope to events.attested, attested now by its key. */
static void test_sign_process_emits_attested_event(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *env = fx_good_envelope(f->w, &len);
    rd_kafka_message_t m = kmsg(f->k->validated, 1, 3, FX_MINE, env, len);
    int64_t before = mt_now_ms();
    assert_int_equal(mt_sign_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    int64_t after = mt_now_ms();
    assert_int_equal(mt_outbox_count(f->ob), 1);
    struct out o = outbox_at(f->ob, 0);
    assert_string_equal(o.topic, f->ctx.t_attested);
    assert_key(&o, FX_MINE);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(f->w->reg, FX_NETWORK, o.val, o.vlen, &a, &v), 0);
    assert_string_equal(a.att_env->signatures[0]->key_id, f->w->notary.key_id);
    assert_in_range(a.att->notary_time_ms, before, after);
    assert_memory_equal(a.ae->envelope.data, env, len);
    mt_attested_release(&a);
    free(env);
}

/* sign rejects an envelope whose key is revoked at notary time, as stage SIGN. */
static void test_sign_process_revoked_to_rejected(void **state)
{
    struct fx *f = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len;
    uint8_t *env = fx_seal_event(&f->w->mine_revoked, &e.ev, &len);
    rd_kafka_message_t m = kmsg(f->k->validated, 0, 5, FX_MINE, env, len);
    assert_int_equal(mt_sign_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), 1);
    struct out o = outbox_at(f->ob, 0);
    assert_string_equal(o.topic, f->ctx.t_rejected);
    assert_key(&o, FX_MINE);
    Mintrace__V1__Rejection *r = rejection_of(o.val, o.vlen);
    assert_int_equal(r->code, R(KEY_REVOKED));
    assert_int_equal(r->stage, STAGE(SIGN));
    assert_string_equal(r->source_topic, PREFIX "events.validated");
    assert_int_equal(r->source_offset, 5);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    free(env);
}

/* Feeds aggregate a good attested event (the same each time: a duplicate after the first) and
 * a rejection, n messages in turn. */
static void feed_aggregate(struct fx *f, int n)
{
    size_t alen, rlen;
    uint8_t *ae = good_attested(f, &alen);
    uint8_t *rej = some_rejection(R(BAD_SIGNATURE), "orig", 4, &rlen);
    for (int i = 0; i < n; i++) {
        rd_kafka_message_t m = i % 2 ? kmsg(f->k->rejected, 0, i, FX_MINE, rej, rlen)
                                     : kmsg(f->k->attested, 0, i, FX_MINE, ae, alen);
        assert_int_equal(mt_aggregate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    }
    free(ae);
    free(rej);
}

/* aggregate journals attested events and rejections at gap-free indexes within a transaction. */
static void test_aggregate_gap_free_indexes(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    static const int want[] = {MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT, MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION,
                               MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE};
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 3);
    assert_int_equal(mt_outbox_count(f->ob), 4); /* the accepted EXTRACT also puts its batch's provenance */
    static const size_t pos[] = {0, 2, 3};
    for (uint64_t i = 0; i < 3; i++) {
        Mintrace__V1__LedgerEntry *e = ledger_at(f, pos[i], i);
        assert_int_equal(e->entry_case, want[i]);
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    }
    assert_int_equal(f->ctx.passed + f->ctx.rejected, 0); /* nothing committed yet */
}

/* After an abort the same indexes are used again and the event is new again: state follows
 * commits. */
static void test_aggregate_abort_reuses_indexes(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 2);
    mt_aggregate_txn_aborted(&f->ctx);
    assert_int_equal(mt_ledger_next_index(f->ctx.ledger), 0);
    assert_int_equal(f->ctx.pending_passed + f->ctx.pending_rejected, 0);
    mt_outbox_clear(f->ob);
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 2);
    Mintrace__V1__LedgerEntry *e = ledger_at(f, 0, 0);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT); /* not a duplicate */
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    mintrace__v1__ledger_entry__free_unpacked(ledger_at(f, 2, 1), NULL); /* 1: the provenance record */
    assert_int_equal(f->ctx.passed + f->ctx.rejected, 0);
}

/* An accepted event puts the provenance record of every batch it changed on the provenance
 * topic, keyed by batch id, in the same transaction; the state root is built from its commitment. */
static void test_aggregate_emits_provenance(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL;
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 1);
    assert_int_equal(mt_outbox_count(f->ob), 2);
    struct out o = outbox_at(f->ob, 1);
    assert_string_equal(o.topic, f->ctx.t_provenance);
    assert_key(&o, "MON-0001");
    Mintrace__V1__ProvenanceRecord *r = mintrace__v1__provenance_record__unpack(NULL, o.vlen, o.val);
    assert_non_null(r);
    assert_string_equal(r->batch_id, "MON-0001");
    assert_int_equal(r->ledger_index, 0);
    assert_string_equal(r->holder_facility_id, FX_MINE);
    assert_false(r->in_transit);
    assert_true(r->n_elements > 0);
    for (size_t e = 0; e < r->n_elements; e++) {
        uint64_t sum = 0;
        for (size_t k = 0; k < r->elements[e]->n_extraction; k++) sum += r->elements[e]->extraction[k]->mass_mg;
        assert_int_equal(sum, r->elements[e]->total_mg);
        assert_int_equal(r->elements[e]->recycled_pre_consumer_mg + r->elements[e]->recycled_post_consumer_mg, 0);
    }
    /* one batch: the root is its leaf, SHA-256(0x00 | len | id | SHA-256(the published bytes)) */
    unsigned char c[MT_HASH_LEN], c2[MT_HASH_LEN], root[MT_HASH_LEN], want[MT_HASH_LEN];
    mt_sha256(o.val, o.vlen, c);
    assert_int_equal(mt_prov_record_commit(r, c2), 0);
    assert_memory_equal(c, c2, MT_HASH_LEN);
    uint8_t buf[1 + 4 + 8 + MT_HASH_LEN] = {0, 0, 0, 0, 8, 'M', 'O', 'N', '-', '0', '0', '0', '1'};
    memcpy(buf + 13, c, MT_HASH_LEN);
    mt_sha256(buf, sizeof(buf), want);
    assert_int_equal(mt_ledger_provenance_root(f->ctx.ledger, root), 0);
    assert_memory_equal(root, want, MT_HASH_LEN);
    mintrace__v1__provenance_record__free_unpacked(r, NULL);
}

/* After a commit the indexes continue, the ledger remembers the event, and the counters count
 * the committed work. */
static void test_aggregate_commit_continues_indexes(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 2);
    mt_aggregate_txn_committed(&f->ctx);
    assert_int_equal(mt_ledger_next_index(f->ctx.ledger), 2);
    assert_int_equal(f->ctx.passed, 1);
    assert_int_equal(f->ctx.rejected, 1);
    mt_outbox_clear(f->ob);
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 1);
    Mintrace__V1__LedgerEntry *e = ledger_at(f, 0, 2);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
}

/* A rejection read from the rejected topic is journaled byte for byte, with where it was read. */
static void test_aggregate_journals_rejection_verbatim(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    size_t rlen;
    uint8_t *rej = some_rejection(R(BAD_SIGNATURE), "orig", 4, &rlen);
    rd_kafka_message_t m = kmsg(f->k->rejected, 0, 17, FX_MINE, rej, rlen);
    mt_aggregate_txn_begin(&f->ctx);
    assert_int_equal(mt_aggregate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    Mintrace__V1__LedgerEntry *e = ledger_at(f, 0, 0);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION);
    assert_int_equal(e->rejection.len, rlen);
    assert_memory_equal(e->rejection.data, rej, rlen);
    assert_string_equal(e->source_topic, PREFIX "rejected");
    assert_int_equal(e->source_offset, 17);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    free(rej);
}

/* Garbage on the rejected topic is journaled as a rejection of it, not dropped. */
static void test_aggregate_journals_garbage_on_rejected(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    rd_kafka_message_t m = kmsg(f->k->rejected, 0, 99, NULL, junk, sizeof(junk));
    mt_aggregate_txn_begin(&f->ctx);
    assert_int_equal(mt_aggregate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), 1);
    Mintrace__V1__LedgerEntry *e = ledger_at(f, 0, 0);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION);
    Mintrace__V1__Rejection *r = rejection_of(e->rejection.data, e->rejection.len);
    assert_int_equal(r->code, R(UNDECODABLE_ENVELOPE));
    assert_int_equal(r->stage, STAGE(AGGREGATE));
    assert_int_equal(r->original.len, sizeof(junk));
    assert_memory_equal(r->original.data, junk, sizeof(junk));
    assert_string_equal(r->source_topic, PREFIX "rejected");
    assert_int_equal(r->source_offset, 99);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    assert_int_equal(f->ctx.pending_rejected, 1);
}

/* An attested event whose attestation fails is journaled as the aggregator's own rejection,
 * straight to the ledger (nothing to the rejected topic). */
static void test_aggregate_journals_bad_attestation(void **state)
{
    struct fx *f = *state;
    f->ctx.key = NULL; /* receipts: test_aggregate_receipt_* */
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(f->w, &elen);
    uint8_t *ae = fx_attest(f->w, &f->w->mine, env, elen, FX_T_NOW, &alen); /* not a notary */
    rd_kafka_message_t m = kmsg(f->k->attested, 0, 8, FX_MINE, ae, alen);
    mt_aggregate_txn_begin(&f->ctx);
    assert_int_equal(mt_aggregate_process(&f->ctx, &m, f->ob), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), 1);
    Mintrace__V1__LedgerEntry *e = ledger_at(f, 0, 0);
    assert_int_equal(e->entry_case, MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION);
    Mintrace__V1__Rejection *r = rejection_of(e->rejection.data, e->rejection.len);
    assert_int_equal(r->code, R(BAD_ATTESTATION));
    assert_int_equal(r->stage, STAGE(AGGREGATE));
    assert_string_equal(r->facility_id, FX_MINE);
    assert_memory_equal(r->original.data, ae, alen);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    free(ae);
    free(env);
}

/* The ledger entry at index among the outbox's messages (receipts interleave with them). */
static Mintrace__V1__LedgerEntry *ledger_entry_at(const struct fx *f, uint64_t index)
{
    for (size_t i = 0; i < mt_outbox_count(f->ob); i++) {
        struct out o = outbox_at(f->ob, i);
        if (strcmp(o.topic, f->ctx.t_ledger) != 0) continue;
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, o.vlen, o.val);
        assert_non_null(e);
        if (e->index == index) return e;
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    }
    fail_msg("no ledger entry %llu in the outbox", (unsigned long long)index);
    return NULL;
}

/* aggregate sends each facility a receipt signed by the aggregator whose inclusion proof
 * verifies against the journal's root, and a checkpoint over that root when closing. */
static void test_aggregate_receipt_and_checkpoint(void **state)
{
    struct fx *f = *state;
    f->ctx.cp_every = 1000000; /* only the closing checkpoint */
    f->ctx.cp_every_ms = 3600000;
    f->ctx.cp_ms = mt_now_ms(); /* a checkpoint was just written */
    mt_aggregate_txn_begin(&f->ctx);
    feed_aggregate(f, 3);
    unsigned char root[32];
    mt_merkle_frontier_root(&f->ctx.tree, root);
    size_t receipts = 0;
    for (size_t i = 0; i < mt_outbox_count(f->ob); i++) {
        struct out o = outbox_at(f->ob, i);
        if (strcmp(o.topic, f->ctx.t_receipts) != 0) continue;
        receipts++;
        assert_key(&o, FX_MINE);
        Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, o.vlen, o.val);
        assert_non_null(env);
        assert_string_equal(env->payload_type, MT_PAYLOAD_RECEIPT);
        assert_int_equal(mt_verify(f->ctx.key->pk, env->payload_type, env->payload.data, env->payload.len,
                                   env->signatures[0]->sig.data), 0);
        Mintrace__V1__Receipt *r = mintrace__v1__receipt__unpack(NULL, env->payload.len, env->payload.data);
        assert_non_null(r);
        assert_string_equal(r->facility_id, FX_MINE);
        assert_int_equal(r->tree_size, r->ledger_index + 1);
        /* the proof is against the tree that ends with this entry: rebuild that tree's root */
        Mintrace__V1__LedgerEntry *e = ledger_entry_at(f, r->ledger_index);
        unsigned char path[64][32], sub_root[32];
        for (size_t k = 0; k < r->n_inclusion_proof; k++) memcpy(path[k], r->inclusion_proof[k].data, 32);
        mt_merkle_frontier sub;
        mt_merkle_frontier_init(&sub);
        for (uint64_t k = 0; k <= r->ledger_index; k++) {
            Mintrace__V1__LedgerEntry *ek = ledger_entry_at(f, k);
            mt_merkle_frontier_append(&sub, ek->leaf_hash.data);
            mintrace__v1__ledger_entry__free_unpacked(ek, NULL);
        }
        mt_merkle_frontier_root(&sub, sub_root);
        assert_int_equal(mt_merkle_verify_inclusion(e->leaf_hash.data, r->ledger_index, r->tree_size,
                                                    (const unsigned char(*)[32])path, r->n_inclusion_proof, sub_root),
                         0);
        path[0][0] ^= 1; /* a flipped bit fails (when there is a path at all) */
        if (r->n_inclusion_proof)
            assert_int_not_equal(mt_merkle_verify_inclusion(e->leaf_hash.data, r->ledger_index, r->tree_size,
                                                            (const unsigned char(*)[32])path, r->n_inclusion_proof,
                                                            sub_root),
                                 0);
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        mintrace__v1__receipt__free_unpacked(r, NULL);
        mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    assert_int_equal(receipts, 3); /* the noted rejection names FX_MINE too */
    size_t before = mt_outbox_count(f->ob);
    assert_int_equal(mt_aggregate_before_commit(&f->ctx, f->ob, 0), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), before); /* not yet: too few entries, too soon */
    assert_int_equal(mt_aggregate_before_commit(&f->ctx, f->ob, 1), MT_STAGE_OK);
    assert_int_equal(mt_outbox_count(f->ob), before + 1);
    struct out o = outbox_at(f->ob, before);
    assert_string_equal(o.topic, f->ctx.t_checkpoints);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, o.vlen, o.val);
    Mintrace__V1__Checkpoint *cp = mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data);
    assert_int_equal(cp->tree_size, 3);
    assert_memory_equal(cp->root.data, root, 32);
    mintrace__v1__checkpoint__free_unpacked(cp, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* event.c */
        T(test_reason_name),
        T(test_rejection_pack_round_trip),
        T(test_envelope_seal_verifies),
        /* validate.c */
        T(test_validate_accepts_good_event),
        T(test_validate_accepts_transfer),
        T(test_validate_accepts_key_inside_window),
        T(test_validate_undecodable_envelope),
        T(test_validate_wrong_payload_type),
        T(test_validate_undecodable_payload),
        T(test_validate_wrong_network),
        T(test_validate_malformed_seq_zero),
        T(test_validate_malformed_prev_with_seq_1),
        T(test_validate_malformed_seq_2_without_prev),
        T(test_validate_malformed_missing_country),
        T(test_validate_malformed_extract_with_inputs),
        T(test_validate_malformed_transfer_without_detail),
        T(test_validate_malformed_element_symbol),
        T(test_validate_malformed_elements_exceed_mass),
        T(test_validate_malformed_unknown_kind),
        T(test_validate_missing_signature),
        T(test_validate_first_signature_not_facility),
        T(test_validate_unknown_key),
        T(test_validate_key_facility_mismatch),
        T(test_validate_key_revoked),
        T(test_validate_key_not_valid),
        T(test_validate_role_not_allowed),
        T(test_validate_bad_signature_payload_bit),
        T(test_validate_bad_signature_sig_bit),
        T(test_validate_shape_before_key),
        /* notary.c */
        T(test_notary_attest_open_round_trip),
        T(test_notary_open_refuses_non_notary_key),
        T(test_notary_open_refuses_revoked_notary),
        T(test_notary_open_refuses_flipped_attestation_bit),
        T(test_notary_open_refuses_swapped_attestation),
        T(test_notary_open_refuses_same_event_other_envelope),
        T(test_notary_open_refuses_wrong_network),
        T(test_notary_open_refuses_garbage),
        T(test_notary_attest_refuses_revoked_key),
        T(test_notary_attest_judges_at_notary_time),
        T(test_notary_attest_refuses_unknown_key),
        /* journal.c */
        T(test_leaf_hash_known_answer),
        T(test_leaf_hash_depends_on_every_input),
        T(test_journal_key_big_endian),
        T(test_journal_event_entry_decodes),
        T(test_journal_rejection_entry_keeps_bytes),
        T(test_journal_rejection_entry_refuses_garbage),
        /* journal_text.c */
        T(test_describe_accepted_line),
        T(test_describe_transfer_line),
        T(test_describe_unknown_kind),
        T(test_describe_rejection_line),
        T(test_describe_duplicate_line),
        T(test_tally_line),
        T(test_tally_counts_index_gaps),
        T(test_describe_undecodable),
        /* stages.c */
        T(test_stage_topics_prefixed),
        T(test_validate_process_good_to_validated),
        T(test_validate_process_bad_to_rejected),
        T(test_validate_process_undecodable_keeps_kafka_key),
        T(test_sign_process_emits_attested_event),
        T(test_sign_process_revoked_to_rejected),
        T(test_aggregate_gap_free_indexes),
        T(test_aggregate_receipt_and_checkpoint),
        T(test_aggregate_abort_reuses_indexes),
        T(test_aggregate_emits_provenance),
        T(test_aggregate_commit_continues_indexes),
        T(test_aggregate_journals_rejection_verbatim),
        T(test_aggregate_journals_garbage_on_rejected),
        T(test_aggregate_journals_bad_attestation),
    };
    return fx_run_group_twice("stages", tests, group_setup, group_teardown);
}
