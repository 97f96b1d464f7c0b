/* test_epcis — the EPCIS 2.0 export: exact decimals, identifiers, times, and how each journaled
 * event becomes an EPCIS event (whole journal and one batch's lineage). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"
#include "epcis.h"
#include "event.h"

#define NET "epcis-test"

/* ---- decimals ---- */

/* Kilograms from milligrams: exact, no exponent, no trailing zeros. */
static void test_kg_exact_decimal(void **state) {
    (void)state;
    static const struct {
        uint64_t mg;
        const char *kg;
    } cases[] = {
        {0, "0"},         {1, "0.000001"},           {10, "0.00001"},     {999999, "0.999999"},
        {1000000, "1"},   {1500000, "1.5"},          {1234567891, "1234.567891"},
        {2000000000, "2000"}, {UINT64_MAX, "18446744073709.551615"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(mt_epcis_kg(cases[i].mg, buf, sizeof(buf)), strlen(cases[i].kg));
        assert_string_equal(buf, cases[i].kg);
    }
    assert_int_equal(mt_epcis_kg(1234567891, buf, 6), 0); /* too small: nothing half written */
    assert_string_equal(buf, "");
}

/* Parses a JSON number's text as an exact count of millionths (mg from kg): digits, an
 * optional fraction and an optional exponent, as jansson may write them. -1 if not exact. */
static int64_t millionths(const char *s) {
    int64_t digits = 0;
    int scale = 0, seen_point = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            seen_point = 1;
            continue;
        }
        digits = digits * 10 + (*s - '0');
        if (seen_point) scale--;
    }
    if (*s) scale += atoi(s + 1);
    for (scale += 6; scale > 0; scale--) digits *= 10;
    for (; scale < 0; scale++) {
        if (digits % 10) return -1;
        digits /= 10;
    }
    return digits;
}

/* The quantity text in the dumped document is exactly mg / 10^6 kg for every mass up to 15
 * digits (through the double jansson holds); beyond, an MGM integer. */
static void test_quantity_dumps_exactly(void **state) {
    (void)state;
    uint64_t mgs[400] = {1, 7, 99, 100, 101, 1000, 123456, 1000001, 1234567891, 100000000000000ULL,
                         123456789012345ULL, 999999999999999ULL};
    size_t n = 12;
    for (uint64_t x = 88172645463325252ULL; n < 400; n++) { /* xorshift: masses of every size */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        mgs[n] = x % (1ULL << (n % 50)) + 1;
        if (mgs[n] > MT_EPCIS_KGM_MAX_MG) mgs[n] %= MT_EPCIS_KGM_MAX_MG;
    }
    for (size_t i = 0; i < n; i++) {
        const char *uom;
        json_t *o = json_pack("{s:o}", "q", mt_epcis_quantity(mgs[i], &uom));
        assert_string_equal(uom, "KGM");
        char *text = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&text, &len);
        assert_int_equal(mt_epcis_dump(o, fp), 0);
        fclose(fp);
        char *num = strchr(text, ':') + 1;
        while (*num == ' ') num++;
        num[strcspn(num, "\n }")] = '\0';
        if (millionths(num) != (int64_t)mgs[i]) fail_msg("%llu mg written as %s kg", (unsigned long long)mgs[i], num);
        free(text);
        json_decref(o);
    }
    const char *uom;
    json_t *q = mt_epcis_quantity(MT_EPCIS_KGM_MAX_MG + 1, &uom);
    assert_string_equal(uom, "MGM");
    assert_true(json_is_integer(q));
    assert_int_equal(json_integer_value(q), (json_int_t)(MT_EPCIS_KGM_MAX_MG + 1));
    json_decref(q);
}

/* ---- identifiers and times ---- */

/* eventID: a version-8 UUID of the id's first 16 bytes. */
static void test_event_id_uuid(void **state) {
    (void)state;
    unsigned char id[MT_HASH_LEN];
    char out[46];
    for (int i = 0; i < MT_HASH_LEN; i++) id[i] = (unsigned char)i;
    mt_epcis_event_id(id, out);
    assert_string_equal(out, "urn:uuid:00010203-0405-8607-8809-0a0b0c0d0e0f");
    memset(id, 0xff, sizeof(id));
    mt_epcis_event_id(id, out);
    assert_string_equal(out, "urn:uuid:ffffffff-ffff-8fff-bfff-ffffffffffff");
}

/* Everything but unreserved characters is percent-encoded, so any batch id makes a valid URI. */
static void test_urn_percent_encodes(void **state) {
    (void)state;
    json_t *j = mt_epcis_urn("batch", "net 1", "A/B:\xc3\xbc-x.y_z~");
    assert_string_equal(json_string_value(j), "urn:mintrace:batch:net%201:A%2FB%3A%C3%BC-x.y_z~");
    json_decref(j);
}

/* RFC 3339 UTC with milliseconds, before 1970 too; years past 9999 are refused. */
static void test_time_format(void **state) {
    (void)state;
    char out[32];
    assert_int_equal(mt_epcis_time(0, out), 0);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    assert_int_equal(mt_epcis_time(-1, out), 0);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    assert_int_equal(mt_epcis_time(1700000002500LL, out), 0);
    assert_string_equal(out, "2023-11-14T22:13:22.500Z");
    assert_int_equal(mt_epcis_time(253402300800000LL, out), -1); /* 10000-01-01 */
    assert_string_equal(out, "");
}

/* ---- a small journal ---- */

typedef struct journal {
    mt_keypair mine, other, refiner, notary;
    unsigned char id[8][MT_HASH_LEN]; /* event ids by ledger index */
    mt_epcis *x;
} journal;

/* Journals the event of json (kind overridden when kind > 0) at index, signed by kp and
 * attested at notary_ms; its id goes to j->id[index]. */
static void add_event(journal *j, uint64_t index, const mt_keypair *kp, const char *json, int kind, int64_t notary_ms) {
    char err[256];
    Mintrace__V1__BatchEvent *ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(
        &mintrace__v1__batch_event__descriptor, json, strlen(json), err, sizeof(err));
    if (!ev) fail_msg("%s: %s", json, err);
    if (kind > 0) ev->kind = (Mintrace__V1__EventKind)kind;
    size_t plen, elen, alen, aelen, len;
    uint8_t *payload = mt_message_pack(&ev->base, &plen), *env = NULL, *att_env = NULL;
    mt_hash(payload, plen, j->id[index]);
    assert_int_equal(mt_envelope_seal(kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload,
                                      plen, &env, &elen),
                     0);
    unsigned char env_hash[MT_HASH_LEN];
    mt_hash(env, elen, env_hash);
    Mintrace__V1__Attestation att = MINTRACE__V1__ATTESTATION__INIT;
    att.network_id = NET;
    att.event_id = (ProtobufCBinaryData){MT_HASH_LEN, j->id[index]};
    att.envelope_hash = (ProtobufCBinaryData){MT_HASH_LEN, env_hash};
    att.notary_time_ms = notary_ms;
    att.registry_version = 3;
    uint8_t *att_bytes = mt_message_pack(&att.base, &alen);
    assert_int_equal(mt_envelope_seal(&j->notary, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY,
                                      MT_PAYLOAD_ATTESTATION, att_bytes, alen, &att_env, &aelen),
                     0);
    Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
    ae.envelope = (ProtobufCBinaryData){elen, env};
    ae.attestation = (ProtobufCBinaryData){aelen, att_env};
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = index;
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
    e.event = &ae;
    uint8_t *bytes = mt_message_pack(&e.base, &len);
    if (mt_epcis_add(j->x, bytes, len, err, sizeof(err))) fail_msg("add %llu: %s", (unsigned long long)index, err);
    free(bytes);
    free(att_bytes);
    free(att_env);
    free(env);
    free(payload);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static char *b64id(const unsigned char id[MT_HASH_LEN]) {
    static char buf[8][64];
    static int next;
    char *b = buf[next++ % 8];
    mt_base64_encode(id, MT_HASH_LEN, b, 64);
    return b;
}

#define T0 1700000000000LL

/* Index 0 a registry version (not exported); 1 EXTRACT, 2 TRANSFER, 3 RECEIVE, 4 PROCESS with
 * untracked reagent; 5 another mine's EXTRACT, 6 its CORRECTION. */
static int setup(void **state) {
    journal *j = calloc(1, sizeof(*j));
    unsigned char seed[MT_SEED_LEN];
    for (int k = 0; k < 4; k++) {
        memset(seed, k + 1, sizeof(seed));
        mt_keypair_from_seed(k == 0 ? &j->mine : k == 1 ? &j->other : k == 2 ? &j->refiner : &j->notary, seed);
    }
    j->x = mt_epcis_new();
    Mintrace__V1__LedgerEntry reg = MINTRACE__V1__LEDGER_ENTRY__INIT;
    reg.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE;
    reg.registry_change = (ProtobufCBinaryData){3, (uint8_t *)"reg"};
    size_t len;
    uint8_t *bytes = mt_message_pack(&reg.base, &len);
    char err[256], json[1024];
    assert_int_equal(mt_epcis_add(j->x, bytes, len, err, sizeof(err)), 0);
    free(bytes);
    add_event(j, 1, &j->mine,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"MINE\",\"seq\":1,\"time_ms\":1700000000000,"
              "\"kind\":\"EXTRACT\",\"site\":{\"country\":\"IN\",\"region\":\"IN-KL\"},"
              "\"extract\":{\"deposit\":\"beach sands\",\"licence\":\"L-1\",\"mineral\":\"monazite\"},"
              "\"outputs\":[{\"batch_id\":\"ORE-1\",\"material\":\"monazite\",\"mass_mg\":1234567891,"
              "\"elements\":[{\"element\":\"Nd\",\"mass_mg\":111111111}]}]}",
              0, T0 + 100);
    add_event(j, 2, &j->mine,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"MINE\",\"seq\":2,\"time_ms\":1700000060000,"
              "\"kind\":\"TRANSFER\",\"site\":{\"country\":\"IN\"},\"inputs\":[{\"batch_id\":\"ORE-1\","
              "\"mass_mg\":1234567891}],\"transfer\":{\"destination_facility_id\":\"REFINER\",\"carrier\":\"rail\"}}",
              0, T0 + 60100);
    snprintf(json, sizeof(json),
             "{\"network_id\":\"" NET "\",\"facility_id\":\"REFINER\",\"seq\":1,\"time_ms\":1700000120000,"
             "\"kind\":\"RECEIVE\",\"site\":{\"country\":\"IN\"},\"inputs\":[{\"batch_id\":\"ORE-1\","
             "\"mass_mg\":1234000000}],\"receive\":{\"transfer_event_id\":\"%s\",\"origin_facility_id\":\"MINE\"}}",
             b64id(j->id[2]));
    add_event(j, 3, &j->refiner, json, 0, T0 + 120100);
    add_event(j, 4, &j->refiner,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"REFINER\",\"seq\":2,\"time_ms\":1700000180000,"
              "\"kind\":\"PROCESS\",\"site\":{\"country\":\"IN\"},\"inputs\":[{\"batch_id\":\"ORE-1\","
              "\"mass_mg\":1234000000}],\"untracked_inputs\":[{\"material\":\"hydrochloric acid\",\"mass_mg\":5000}],"
              "\"outputs\":[{\"batch_id\":\"OX-1\",\"material\":\"Nd-oxide\",\"mass_mg\":120000000,"
              "\"elements\":[{\"element\":\"Nd\",\"mass_mg\":100000000}]},{\"batch_id\":\"OX-2\","
              "\"material\":\"Nd-oxide\",\"mass_mg\":500}]}",
              0, T0 + 180100);
    add_event(j, 5, &j->other,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"OTHER\",\"seq\":1,\"time_ms\":1700000200000,"
              "\"kind\":\"EXTRACT\",\"site\":{\"country\":\"BR\"},\"outputs\":[{\"batch_id\":\"ORE-2\","
              "\"material\":\"monazite\",\"mass_mg\":7}]}",
              0, T0 + 200100);
    snprintf(json, sizeof(json),
             "{\"network_id\":\"" NET "\",\"facility_id\":\"OTHER\",\"seq\":2,\"prev\":\"%s\",\"time_ms\":1700000300000,"
             "\"kind\":\"CORRECTION\",\"site\":{\"country\":\"BR\"},\"correction\":{\"corrected_event_id\":\"%s\","
             "\"reason\":\"wrong pit\"}}",
             b64id(j->id[5]), b64id(j->id[5]));
    add_event(j, 6, &j->other, json, 0, T0 + 300100);
    *state = j;
    return 0;
}

static int teardown(void **state) {
    journal *j = *state;
    mt_epcis_free(j->x);
    free(j);
    return 0;
}

static json_t *events_of(json_t *doc) { return json_object_get(json_object_get(doc, "epcisBody"), "eventList"); }

static const char *str(json_t *o, const char *path) { /* "a.b" */
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    o = json_object_get(o, path);
    return json_is_string(o) ? json_string_value(o) : "(absent)";
}

static const char *eid(const journal *j, int index) {
    static char out[8][46];
    mt_epcis_event_id(j->id[index], out[index]);
    return out[index];
}

/* The dumped text of a quantityElement's quantity, e.g. "1234.567891". */
static void assert_quantity(json_t *q, const char *batch, const char *kg) {
    char want[128];
    snprintf(want, sizeof(want), "urn:mintrace:batch:" NET ":%s", batch);
    assert_string_equal(str(q, "epcClass"), want);
    assert_string_equal(str(q, "uom"), "KGM");
    char *text = json_dumps(json_object_get(q, "quantity"), JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    assert_string_equal(text, kg);
    free(text);
}

/* Every kind maps as docs/epcis.md says: EXTRACT an ObjectEvent ADD with ILMD, TRANSFER and
 * RECEIVE ObjectEvents OBSERVE shipping/receiving with parties, PROCESS a TransformationEvent
 * with tracked and untracked inputs, a CORRECTION the voided event again with errorDeclaration. */
static void test_journal_maps_every_kind(void **state) {
    journal *j = *state;
    char err[256];
    json_t *doc = mt_epcis_document(j->x, NULL, T0 + 999000, err, sizeof(err));
    if (!doc) fail_msg("%s", err);
    assert_string_equal(str(doc, "type"), "EPCISDocument");
    assert_string_equal(str(doc, "schemaVersion"), "2.0");
    assert_string_equal(str(doc, "creationDate"), "2023-11-14T22:29:59.000Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "@context"), 0)), MT_EPCIS_CONTEXT);
    assert_string_equal(str(json_array_get(json_object_get(doc, "@context"), 1), MT_EPCIS_NS_PREFIX), MT_EPCIS_NS_IRI);
    assert_int_equal(json_integer_value(json_object_get(doc, "mintrace:journalEntries")), 7);
    json_t *evs = events_of(doc);
    assert_int_equal(json_array_size(evs), 6);

    json_t *e = json_array_get(evs, 0); /* EXTRACT */
    assert_string_equal(str(e, "type"), "ObjectEvent");
    assert_string_equal(str(e, "action"), "ADD");
    assert_string_equal(str(e, "eventID"), eid(j, 1));
    assert_string_equal(str(e, "eventTime"), "2023-11-14T22:13:20.000Z");
    assert_string_equal(str(e, "recordTime"), "2023-11-14T22:13:20.100Z");
    assert_string_equal(str(e, "eventTimeZoneOffset"), "+00:00");
    assert_string_equal(str(e, "bizLocation.id"), "urn:mintrace:facility:" NET ":MINE");
    assert_string_equal(str(e, "ilmd.cbvmda:countryOfOrigin"), "IN");
    assert_string_equal(str(e, "ilmd.mintrace:mine"), "MINE");
    assert_string_equal(str(e, "ilmd.mintrace:deposit"), "beach sands");
    assert_quantity(json_array_get(json_object_get(e, "quantityList"), 0), "ORE-1", "1234.567891");
    assert_int_equal(json_integer_value(json_object_get(e, "mintrace:ledgerIndex")), 1);
    json_t *out0 = json_array_get(json_object_get(e, "mintrace:outputs"), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(out0, "mintrace:elements"), 0),
                                                        "mintrace:massMg")),
                     111111111);
    json_t *sigs = json_object_get(e, "mintrace:signatures");
    assert_int_equal(json_array_size(sigs), 2);
    assert_string_equal(str(json_array_get(sigs, 0), "mintrace:keyId"), j->mine.key_id);
    assert_string_equal(str(json_array_get(sigs, 0), "mintrace:role"), "FACILITY");
    assert_string_equal(str(json_array_get(sigs, 1), "mintrace:keyId"), j->notary.key_id);

    e = json_array_get(evs, 1); /* TRANSFER */
    assert_string_equal(str(e, "action"), "OBSERVE");
    assert_string_equal(str(e, "bizStep"), "shipping");
    assert_string_equal(str(e, "disposition"), "in_transit");
    assert_string_equal(str(json_array_get(json_object_get(e, "sourceList"), 0), "source"),
                        "urn:mintrace:facility:" NET ":MINE");
    assert_string_equal(str(json_array_get(json_object_get(e, "destinationList"), 0), "destination"),
                        "urn:mintrace:facility:" NET ":REFINER");
    assert_string_equal(str(e, "mintrace:carrier"), "rail");

    e = json_array_get(evs, 2); /* RECEIVE: the mass received */
    assert_string_equal(str(e, "bizStep"), "receiving");
    assert_quantity(json_array_get(json_object_get(e, "quantityList"), 0), "ORE-1", "1234.0");
    assert_string_equal(str(e, "mintrace:transferEventID"), eid(j, 2));

    e = json_array_get(evs, 3); /* PROCESS */
    assert_string_equal(str(e, "type"), "TransformationEvent");
    assert_null(json_object_get(e, "action"));
    json_t *in = json_object_get(e, "inputQuantityList"), *out = json_object_get(e, "outputQuantityList");
    assert_int_equal(json_array_size(in), 2);
    assert_quantity(json_array_get(in, 0), "ORE-1", "1234.0");
    assert_string_equal(str(json_array_get(in, 1), "epcClass"), "urn:mintrace:untracked:" NET ":hydrochloric%20acid");
    assert_int_equal(json_array_size(out), 2);
    assert_quantity(json_array_get(out, 0), "OX-1", "120.0");
    assert_quantity(json_array_get(out, 1), "OX-2", "0.0005");
    assert_non_null(json_object_get(e, "transformationID"));

    e = json_array_get(evs, 5); /* CORRECTION: a copy of 5, declared in error */
    assert_string_equal(str(e, "eventID"), eid(j, 5));
    assert_string_equal(str(e, "eventTime"), str(json_array_get(evs, 4), "eventTime"));
    assert_string_equal(str(e, "recordTime"), "2023-11-14T22:18:20.100Z");
    assert_string_equal(str(e, "errorDeclaration.declarationTime"), "2023-11-14T22:18:20.000Z");
    assert_string_equal(str(e, "errorDeclaration.reason"), "did_not_occur");
    assert_string_equal(str(e, "errorDeclaration.mintrace:correctionEventID"), eid(j, 6));
    assert_string_equal(str(e, "errorDeclaration.mintrace:reason"), "wrong pit");
    assert_null(json_object_get(json_array_get(evs, 4), "errorDeclaration"));
    json_decref(doc);
}

/* --batch: the making of the batch and its ancestors and their moves, nothing else; a voided
 * lot's lineage is its event and the declaration; an unknown batch is an error. */
static void test_lineage_selects_ancestry(void **state) {
    journal *j = *state;
    char err[256];
    json_t *doc = mt_epcis_document(j->x, "OX-2", T0, err, sizeof(err));
    if (!doc) fail_msg("%s", err);
    json_t *evs = events_of(doc);
    assert_int_equal(json_array_size(evs), 4);
    for (int i = 0; i < 4; i++) assert_string_equal(str(json_array_get(evs, i), "eventID"), eid(j, i + 1));
    assert_string_equal(str(doc, "mintrace:lineageOf"), "OX-2");
    json_decref(doc);

    doc = mt_epcis_document(j->x, "ORE-2", T0, err, sizeof(err));
    evs = events_of(doc);
    assert_int_equal(json_array_size(evs), 2);
    assert_null(json_object_get(json_array_get(evs, 0), "errorDeclaration"));
    assert_non_null(json_object_get(json_array_get(evs, 1), "errorDeclaration"));
    json_decref(doc);

    assert_null(mt_epcis_document(j->x, "NOPE", T0, err, sizeof(err)));
    assert_string_equal(err, "NOPE: no event of the journal made this batch");
}

/* Bytes that are not a LedgerEntry, and an event kind with no mapping, are errors with a reason,
 * never silently skipped. */
static void test_errors_are_reported(void **state) {
    journal *j = *state;
    char err[256];
    assert_int_equal(mt_epcis_add(j->x, "\xff\xff\xff", 3, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a LedgerEntry"));
    add_event(j, 7, &j->mine,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"MINE\",\"seq\":3,\"time_ms\":1700000000000,"
              "\"kind\":\"LOSS\",\"site\":{\"country\":\"IN\"}}",
              99, T0);
    assert_null(mt_epcis_document(j->x, NULL, T0, err, sizeof(err)));
    assert_string_equal(err, "journal entry 7: event kind 99 has no EPCIS mapping");
}

/* A RECYCLE's returns (EXITed batches back as end-of-life scrap) are inputs of its
 * TransformationEvent, and listed in its mintrace:recycle extension. */
static void test_recycle_returns_are_inputs(void **state) {
    journal *j = *state;
    char err[256];
    add_event(j, 7, &j->refiner,
              "{\"network_id\":\"" NET "\",\"facility_id\":\"REFINER\",\"seq\":3,\"time_ms\":1700000400000,"
              "\"kind\":\"RECYCLE\",\"site\":{\"country\":\"JP\"},\"recycle\":{\"feedstock\":\"TRACKED\","
              "\"returns\":[{\"batch_id\":\"OX-1\",\"mass_mg\":1000000}]},\"outputs\":[{\"batch_id\":\"REC-1\","
              "\"material\":\"Nd-oxide\",\"mass_mg\":900000}]}",
              0, T0 + 400100);
    json_t *doc = mt_epcis_document(j->x, NULL, T0 + 999000, err, sizeof(err));
    if (!doc) fail_msg("%s", err);
    json_t *evs = events_of(doc), *e = NULL;
    for (size_t i = 0; i < json_array_size(evs); i++)
        if (json_integer_value(json_object_get(json_array_get(evs, i), "mintrace:ledgerIndex")) == 7)
            e = json_array_get(evs, i);
    assert_non_null(e);
    assert_string_equal(str(e, "type"), "TransformationEvent");
    json_t *in = json_object_get(e, "inputQuantityList");
    assert_int_equal(json_array_size(in), 1);
    assert_quantity(json_array_get(in, 0), "OX-1", "1.0");
    json_t *ret = json_object_get(json_object_get(e, "mintrace:recycle"), "mintrace:returns");
    assert_int_equal(json_array_size(ret), 1);
    assert_string_equal(str(json_array_get(ret, 0), "mintrace:batch"), "OX-1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ret, 0), "mintrace:massMg")), 1000000);
    json_decref(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kg_exact_decimal),
        cmocka_unit_test(test_quantity_dumps_exactly),
        cmocka_unit_test(test_event_id_uuid),
        cmocka_unit_test(test_urn_percent_encodes),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test_setup_teardown(test_journal_maps_every_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lineage_selects_ancestry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_are_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recycle_returns_are_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
