/* test_inspect.c - topic messages as JSON with nested envelopes opened and signatures checked
 * (inspect.h). */
#include "fixtures.h"

#include <stdio.h>

#include "inspect.h"
#include "journal.h"

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define LEDGER_ENTRY "mintrace.v1.LedgerEntry"

static int setup(void **state)
{
    *state = fx_world_new();
    return 0;
}

static int teardown(void **state)
{
    fx_world_free(*state);
    return 0;
}

/* A LedgerEntry at index 5 journaling a good EXTRACT of FX_MINE attested at FX_T_NOW (free()). */
static uint8_t *event_entry(const fx_world *w, size_t *len, unsigned char event_id[MT_HASH_LEN])
{
    size_t elen, alen;
    uint8_t *env = fx_good_envelope(w, &elen);
    uint8_t *ae = fx_attest(w, &w->notary, env, elen, FX_T_NOW, &alen);
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open(w->reg, FX_NETWORK, ae, alen, &a, &v), 0);
    if (event_id) memcpy(event_id, a.event_id, MT_HASH_LEN);
    uint8_t *entry = mt_journal_event_entry(5, &a, len);
    assert_non_null(entry);
    mt_attested_release(&a);
    free(ae);
    free(env);
    return entry;
}

/* A LedgerEntry at index 6 journaling a BAD_SIGNATURE Rejection (free()). */
static uint8_t *rejection_entry(size_t *len)
{
    mt_verdict v = {0};
    size_t rlen;
    mt_verdict_reject(&v, R(BAD_SIGNATURE), "does not verify");
    snprintf(v.facility_id, sizeof(v.facility_id), "%s", FX_MINE);
    uint8_t *rej = mt_rejection_pack(&v, MINTRACE__V1__STAGE__STAGE_VALIDATE, "orig", 4, "mintrace.events.submitted",
                                     0, 1, FX_T_NOW, &rlen);
    uint8_t *entry = mt_journal_rejection_entry(6, rej, rlen, len);
    assert_non_null(entry);
    free(rej);
    return entry;
}

static json_t *decode(const char *type, const void *bytes, size_t len, int deep, const mt_registry *reg)
{
    char err[256] = "";
    json_t *j = mt_inspect_decode(type, bytes, len, deep, reg, err, sizeof(err));
    if (!j) fail_msg("decode refused: %s", err);
    return j;
}

/* The object at a dotted path ("event.envelope_decoded"), which must exist. */
static json_t *at(json_t *j, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        j = json_object_get(j, k);
        if (!j) fail_msg("no '%s' in path %s", k, path);
    }
    return j;
}

/* Every topic of schemas/topics.json has a type, the one its "value" names first. */
static void test_type_of_every_topic(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file("schemas/topics.json", 0, &jerr);
    if (!root) fail_msg("schemas/topics.json: %s (run from the repository root)", jerr.text);
    json_t *topics = json_object_get(root, "topics"), *t;
    size_t i;
    assert_true(json_array_size(topics) > 0);
    json_array_foreach(topics, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *value = json_string_value(json_object_get(t, "value"));
        assert_non_null(name);
        assert_non_null(value);
        const char *type = mt_inspect_type_of_topic(name);
        if (!type) fail_msg("topic %s has no type", name);
        size_t n = strlen(type);
        if (strncmp(value, type, n) != 0 || (value[n] != '\0' && value[n] != ' '))
            fail_msg("topic %s: inspect says %s, topics.json says '%s'", name, type, value);
        assert_non_null(mt_descriptor_by_name(type));
    }
    json_decref(root);
}

/* An unknown topic (or one with its prefix) has no type. */
static void test_type_of_unknown_topic(void **state)
{
    (void)state;
    assert_null(mt_inspect_type_of_topic("nope"));
    assert_null(mt_inspect_type_of_topic("mintrace.ledger"));
    assert_null(mt_inspect_type_of_topic(""));
}

/* deep opens event.envelope_decoded.payload_decoded and adds the envelope's event_id. */
static void test_deep_opens_event_payload(void **state)
{
    fx_world *w = *state;
    size_t len;
    unsigned char id[MT_HASH_LEN];
    char hex[2 * MT_HASH_LEN + 1];
    uint8_t *entry = event_entry(w, &len, id);
    json_t *j = decode(LEDGER_ENTRY, entry, len, 1, NULL);
    assert_int_equal(json_integer_value(at(j, "index")), 5);
    assert_string_equal(json_string_value(at(j, "event.envelope_decoded.payload_decoded.facility_id")), FX_MINE);
    assert_string_equal(json_string_value(at(j, "event.envelope_decoded.payload_decoded.kind")), "EVENT_KIND_EXTRACT");
    mt_hex_encode(id, MT_HASH_LEN, hex);
    assert_string_equal(json_string_value(at(j, "event.envelope_decoded.event_id")), hex);
    assert_null(json_object_get(at(j, "event.envelope_decoded"), "signatures_verified")); /* no registry */
    json_decref(j);
    free(entry);
}

/* deep opens the attestation too: notary time and registry version. */
static void test_deep_opens_attestation(void **state)
{
    fx_world *w = *state;
    size_t len;
    uint8_t *entry = event_entry(w, &len, NULL);
    json_t *j = decode(LEDGER_ENTRY, entry, len, 1, NULL);
    json_t *att = at(j, "event.attestation_decoded.payload_decoded");
    assert_int_equal(json_integer_value(at(att, "notary_time_ms")), FX_T_NOW);
    assert_int_equal(json_integer_value(at(att, "registry_version")), FX_REG_VERSION);
    json_decref(j);
    free(entry);
}

/* Without deep, nested bytes stay base64 and nothing is added. */
static void test_shallow_leaves_bytes(void **state)
{
    fx_world *w = *state;
    size_t len;
    uint8_t *entry = event_entry(w, &len, NULL);
    json_t *j = decode(LEDGER_ENTRY, entry, len, 0, w->reg);
    assert_true(json_is_string(at(j, "event.envelope")));
    assert_null(json_object_get(at(j, "event"), "envelope_decoded"));
    assert_null(json_object_get(at(j, "event"), "attestation_decoded"));
    json_decref(j);
    free(entry);
}

/* With a registry, good facility and notary signatures are [true]. */
static void test_signatures_verified_true(void **state)
{
    fx_world *w = *state;
    size_t len;
    uint8_t *entry = event_entry(w, &len, NULL);
    json_t *j = decode(LEDGER_ENTRY, entry, len, 1, w->reg);
    json_t *sv = at(j, "event.envelope_decoded.signatures_verified");
    assert_int_equal(json_array_size(sv), 1);
    assert_true(json_is_true(json_array_get(sv, 0)));
    sv = at(j, "event.attestation_decoded.signatures_verified");
    assert_int_equal(json_array_size(sv), 1);
    assert_true(json_is_true(json_array_get(sv, 0)));
    json_decref(j);
    free(entry);
}

/* With a registry, a signature that does not verify is given its reason. */
static void test_signatures_verified_bad_signature(void **state)
{
    fx_world *w = *state;
    size_t len;
    uint8_t *bytes = fx_good_envelope(w, &len);
    Mintrace__V1__Envelope *env = fx_envelope_open(bytes, len);
    free(bytes);
    fx_flip_bit(env->signatures[0]->sig.data, 5, 1);
    bytes = fx_envelope_repack(env, &len);
    json_t *j = decode("mintrace.v1.Envelope", bytes, len, 1, w->reg);
    json_t *sv = at(j, "signatures_verified");
    assert_int_equal(json_array_size(sv), 1);
    assert_string_equal(json_string_value(json_array_get(sv, 0)), "signature does not verify");
    json_decref(j);
    free(bytes);
}

/* With a registry, a signature by a key it lacks is "unknown key". */
static void test_signatures_verified_unknown_key(void **state)
{
    fx_world *w = *state;
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    size_t len;
    uint8_t *bytes = fx_seal_event(&w->stranger, &e.ev, &len);
    json_t *j = decode("mintrace.v1.Envelope", bytes, len, 1, w->reg);
    assert_string_equal(json_string_value(json_array_get(at(j, "signatures_verified"), 0)), "unknown key");
    json_decref(j);
    free(bytes);
}

/* A rejection entry (the other oneof member) opens the Rejection and leaves event alone. */
static void test_rejection_entry_decodes(void **state)
{
    fx_world *w = *state;
    size_t len;
    uint8_t *entry = rejection_entry(&len);
    json_t *j = decode(LEDGER_ENTRY, entry, len, 1, w->reg);
    assert_null(json_object_get(j, "event"));
    assert_null(json_object_get(j, "event_decoded"));
    assert_string_equal(json_string_value(at(j, "rejection_decoded.code")), "REASON_CODE_BAD_SIGNATURE");
    assert_string_equal(json_string_value(at(j, "rejection_decoded.facility_id")), FX_MINE);
    assert_string_equal(json_string_value(at(j, "rejection_decoded.original")), "b3JpZw=="); /* "orig" */
    json_decref(j);
    free(entry);
}

/* A registry-change entry opens the governance envelope and its Registry. */
static void test_registry_change_entry_decodes(void **state)
{
    fx_world *w = *state;
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = 3;
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE;
    e.registry_change = (ProtobufCBinaryData){w->reg_env_len, w->reg_env};
    size_t len;
    uint8_t *bytes = mt_message_pack(&e.base, &len);
    json_t *j = decode(LEDGER_ENTRY, bytes, len, 1, NULL);
    assert_int_equal(json_integer_value(at(j, "registry_change_decoded.payload_decoded.version")), FX_REG_VERSION);
    assert_int_equal(json_array_size(at(j, "registry_change_decoded.payload_decoded.facilities")), 4);
    json_decref(j);
    free(bytes);
}

/* Nested bytes that do not decode are described in place; the outer message still decodes. */
static void test_undecodable_nested_bytes_described(void **state)
{
    (void)state;
    Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
    ae.envelope = (ProtobufCBinaryData){3, (uint8_t *)"\xff\xff\xff"};
    size_t len;
    uint8_t *bytes = mt_message_pack(&ae.base, &len);
    json_t *j = decode("mintrace.v1.AttestedEvent", bytes, len, 1, NULL);
    const char *s = json_string_value(at(j, "envelope_decoded"));
    assert_non_null(s);
    assert_non_null(strstr(s, "not a mintrace.v1.Envelope"));
    assert_null(json_object_get(j, "attestation_decoded")); /* empty bytes: nothing to open */
    json_decref(j);
    free(bytes);
}

/* levels Envelopes, each the payload of the next, type mintrace.v1.Envelope (free()). */
static uint8_t *nested_envelopes(int levels, size_t *len)
{
    uint8_t *buf = NULL;
    *len = 0;
    for (int i = 0; i < levels; i++) {
        Mintrace__V1__Envelope env = MINTRACE__V1__ENVELOPE__INIT;
        env.payload_type = "mintrace.v1.Envelope";
        env.payload = (ProtobufCBinaryData){*len, buf};
        size_t n;
        uint8_t *next = mt_message_pack(&env.base, &n);
        free(buf);
        buf = next;
        *len = n;
    }
    return buf;
}

/* Envelopes nested in envelopes are opened only to a bounded depth: crafted bytes cannot make
 * inspect recurse (and re-copy the message) once per few bytes. */
static void test_nesting_depth_bounded(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = nested_envelopes(64, &len);
    json_t *j = decode("mintrace.v1.Envelope", bytes, len, 1, NULL), *cur = j;
    int depth = 0;
    while (json_is_object(json_object_get(cur, "payload_decoded"))) {
        cur = json_object_get(cur, "payload_decoded");
        depth++;
    }
    assert_true(depth >= 2); /* what real messages need: LedgerEntry > attestation > payload */
    assert_true(depth < 63);
    const char *why = json_string_value(json_object_get(cur, "payload_decoded"));
    assert_non_null(why);
    assert_non_null(strstr(why, "deep"));
    json_decref(j);
    free(bytes);
}

/* Undecodable bytes: NULL with the type in errstr. */
static void test_undecodable_refused(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(mt_inspect_decode(LEDGER_ENTRY, "\xff\xff\xff", 3, 1, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, LEDGER_ENTRY));
}

/* An unknown type: NULL naming it. */
static void test_unknown_type_refused(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(mt_inspect_decode("mintrace.v1.Nope", "", 0, 1, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "mintrace.v1.Nope"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_type_of_every_topic),
        T(test_type_of_unknown_topic),
        T(test_deep_opens_event_payload),
        T(test_deep_opens_attestation),
        T(test_shallow_leaves_bytes),
        T(test_signatures_verified_true),
        T(test_signatures_verified_bad_signature),
        T(test_signatures_verified_unknown_key),
        T(test_rejection_entry_decodes),
        T(test_registry_change_entry_decodes),
        T(test_undecodable_nested_bytes_described),
        T(test_nesting_depth_bounded),
        T(test_undecodable_refused),
        T(test_unknown_type_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
