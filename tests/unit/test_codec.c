/* test_codec — protobuf <-> JSON mapping: round trips, proto3 rules, limits, error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "codec.h"

static const char *EVENT_JSON =
    "{\"network_id\":\"mintrace-dev\",\"facility_id\":\"IN-IREL-CHAVARA\",\"seq\":3,"
    "\"prev\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\"time_ms\":1790000000000,"
    "\"kind\":\"EVENT_KIND_PROCESS\","
    "\"inputs\":[{\"batch_id\":\"MON-1\",\"mass_mg\":1000000000}],"
    "\"outputs\":[{\"batch_id\":\"NDPR-1\",\"material\":\"NdPr-oxide\",\"mass_mg\":250000000,"
    "\"elements\":[{\"element\":\"Nd\",\"mass_mg\":150000000},{\"element\":\"Pr\",\"mass_mg\":50000000}]}],"
    "\"site\":{\"country\":\"IN\",\"region\":\"IN-KL\"},"
    "\"documents\":[{\"kind\":\"assay\",\"uri\":\"https://lab.example/a/1\"}]}";

static Mintrace__V1__BatchEvent *parse_event(const char *text, char *err, size_t errlen) {
    return (Mintrace__V1__BatchEvent *)mt_json_text_to_message(&mintrace__v1__batch_event__descriptor, text,
                                                               strlen(text), err, errlen);
}

/* JSON -> message fills every field, nested messages and repeated ones included. */
static void test_json_to_message_fields(void **state) {
    (void)state;
    char err[256];
    Mintrace__V1__BatchEvent *ev = parse_event(EVENT_JSON, err, sizeof(err));
    assert_non_null(ev);
    assert_string_equal(ev->facility_id, "IN-IREL-CHAVARA");
    assert_int_equal(ev->seq, 3);
    assert_int_equal(ev->prev.len, 32);
    assert_int_equal(ev->prev.data[31], 31);
    assert_int_equal(ev->time_ms, 1790000000000LL);
    assert_int_equal(ev->kind, MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS);
    assert_int_equal(ev->n_inputs, 1);
    assert_int_equal(ev->inputs[0]->mass_mg, 1000000000ULL);
    assert_int_equal(ev->n_outputs, 1);
    assert_int_equal(ev->outputs[0]->n_elements, 2);
    assert_string_equal(ev->outputs[0]->elements[1]->element, "Pr");
    assert_string_equal(ev->site->region, "IN-KL");
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* JSON -> message -> protobuf bytes -> message -> JSON gives the same JSON object back. */
static void test_round_trip_json_bytes_json(void **state) {
    (void)state;
    char err[256];
    Mintrace__V1__BatchEvent *ev = parse_event(EVENT_JSON, err, sizeof(err));
    assert_non_null(ev);
    size_t len;
    uint8_t *buf = mt_message_pack(&ev->base, &len);
    assert_non_null(buf);
    Mintrace__V1__BatchEvent *ev2 = mintrace__v1__batch_event__unpack(NULL, len, buf);
    assert_non_null(ev2);
    json_t *a = json_loads(EVENT_JSON, 0, NULL);
    json_t *b = mt_json_from_message(&ev2->base, err, sizeof(err));
    assert_non_null(b);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(buf);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    protobuf_c_message_free_unpacked(&ev2->base, NULL);
}

/* Default values are omitted from JSON, a set oneof member is written even when empty. */
static void test_defaults_omitted_oneof_written(void **state) {
    (void)state;
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__LossDetail loss = MINTRACE__V1__LOSS_DETAIL__INIT;
    ev.facility_id = "F";
    ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_LOSS;
    ev.loss = &loss;
    char err[128];
    char *s = mt_message_to_json_text(&ev.base, err, sizeof(err));
    assert_non_null(s);
    assert_string_equal(s, "{\"facility_id\":\"F\",\"loss\":{}}");
    free(s);
}

/* A JSON number beyond 2^53 is refused with its path, never rounded. */
static void test_number_beyond_2_53_refused(void **state) {
    (void)state;
    char err[256];
    const char *j = "{\"outputs\":[{\"batch_id\":\"x\"},{\"elements\":[{\"mass_mg\":9007199254740993}]}]}";
    assert_null(parse_event(j, err, sizeof(err)));
    assert_non_null(strstr(err, "outputs[1].elements[0].mass_mg"));
    assert_non_null(strstr(err, "2^53"));
}

/* 2^53 itself is accepted as a number; larger values are accepted as decimal strings and written back as strings. */
static void test_large_values_as_strings(void **state) {
    (void)state;
    char err[256];
    Mintrace__V1__BatchEvent *ev = parse_event("{\"seq\":9007199254740992}", err, sizeof(err));
    assert_non_null(ev);
    assert_int_equal(ev->seq, 9007199254740992ULL);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    ev = parse_event("{\"seq\":\"18446744073709551615\"}", err, sizeof(err));
    assert_non_null(ev);
    assert_true(ev->seq == UINT64_MAX);
    char *s = mt_message_to_json_text(&ev->base, err, sizeof(err));
    assert_string_equal(s, "{\"seq\":\"18446744073709551615\"}");
    free(s);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* Negative values, fractions and out-of-range strings are refused for unsigned fields. */
static void test_bad_integers_refused(void **state) {
    (void)state;
    char err[256];
    assert_null(parse_event("{\"seq\":-1}", err, sizeof(err)));
    assert_non_null(strstr(err, "seq"));
    assert_null(parse_event("{\"seq\":1.5}", err, sizeof(err)));
    assert_null(parse_event("{\"seq\":\"18446744073709551616\"}", err, sizeof(err)));
    assert_null(parse_event("{\"seq\":\"12abc\"}", err, sizeof(err)));
}

/* Unknown fields are refused with their path (a typo never drops a value silently). */
static void test_unknown_field_refused(void **state) {
    (void)state;
    char err[256];
    assert_null(parse_event("{\"site\":{\"contry\":\"IN\"}}", err, sizeof(err)));
    assert_non_null(strstr(err, "site.contry"));
}

/* Enums are read by full name, short name or number, and unknown names are refused. */
static void test_enum_names(void **state) {
    (void)state;
    char err[256];
    Mintrace__V1__BatchEvent *ev = parse_event("{\"kind\":\"EXTRACT\"}", err, sizeof(err));
    assert_non_null(ev);
    assert_int_equal(ev->kind, MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    ev = parse_event("{\"kind\":8}", err, sizeof(err));
    assert_non_null(ev);
    assert_int_equal(ev->kind, MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    assert_null(parse_event("{\"kind\":\"SMELT\"}", err, sizeof(err)));
    assert_non_null(strstr(err, "kind"));
    assert_null(parse_event("{\"kind\":99}", err, sizeof(err)));
    /* only the exact name after the prefix: no tails, no other case */
    assert_null(parse_event("{\"kind\":\"extract\"}", err, sizeof(err)));
    assert_null(parse_event("{\"outputs\":[{\"recycled_class\":\"CONSUMER\"}]}", err, sizeof(err)));
    assert_null(parse_event("{\"kind\":\"KIND_EXTRACT\"}", err, sizeof(err)));
}

/* Two members of one oneof are refused. */
static void test_two_oneof_members_refused(void **state) {
    (void)state;
    char err[256];
    assert_null(parse_event("{\"loss\":{},\"exit\":{}}", err, sizeof(err)));
    assert_non_null(strstr(err, "oneof"));
}

/* Bad base64 and wrong JSON types are refused with their path; syntax errors give line and column. */
static void test_type_errors(void **state) {
    (void)state;
    char err[256];
    assert_null(parse_event("{\"prev\":\"not base64!\"}", err, sizeof(err)));
    assert_non_null(strstr(err, "prev"));
    assert_null(parse_event("{\"inputs\":{}}", err, sizeof(err)));
    assert_non_null(strstr(err, "inputs"));
    assert_null(parse_event("{\"facility_id\":5}", err, sizeof(err)));
    assert_null(parse_event("{\"site\":[]}", err, sizeof(err)));
    assert_null(parse_event("{\"seq\":1,}", err, sizeof(err)));
    assert_non_null(strstr(err, "line 1"));
    assert_null(parse_event("{\"seq\":1,\"seq\":2}", err, sizeof(err)));
}

/* URL-safe unpadded base64 is read too. */
static void test_base64_variants(void **state) {
    (void)state;
    char err[256];
    Mintrace__V1__BatchEvent *ev = parse_event("{\"prev\":\"-_8\"}", err, sizeof(err));
    assert_non_null(ev);
    assert_int_equal(ev->prev.len, 2);
    assert_int_equal(ev->prev.data[0], 0xfb);
    assert_int_equal(ev->prev.data[1], 0xff);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* Every mintrace message type is found by its full name. */
static void test_descriptor_by_name(void **state) {
    (void)state;
    assert_ptr_equal(mt_descriptor_by_name("mintrace.v1.BatchEvent"), &mintrace__v1__batch_event__descriptor);
    assert_ptr_equal(mt_descriptor_by_name("mintrace.v1.Checkpoint"), &mintrace__v1__checkpoint__descriptor);
    assert_null(mt_descriptor_by_name("mintrace.v1.Nope"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_to_message_fields),
        cmocka_unit_test(test_round_trip_json_bytes_json),
        cmocka_unit_test(test_defaults_omitted_oneof_written),
        cmocka_unit_test(test_number_beyond_2_53_refused),
        cmocka_unit_test(test_large_values_as_strings),
        cmocka_unit_test(test_bad_integers_refused),
        cmocka_unit_test(test_unknown_field_refused),
        cmocka_unit_test(test_enum_names),
        cmocka_unit_test(test_two_oneof_members_refused),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_base64_variants),
        cmocka_unit_test(test_descriptor_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
