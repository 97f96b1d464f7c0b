/* test_policy.c - policy files: the shipped ones load, every error names file and line, nothing half-loaded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Parses text as "p.json"; on failure checks the policy was left empty. */
static int parse(const char *text, char *err, size_t size) {
    mt_policy p;
    err[0] = '\0';
    int rc = mt_policy_parse(&p, text, strlen(text), "p.json", err, size);
    if (rc) {
        assert_null(p.rules);
        assert_int_equal(p.n_rules, 0);
        assert_null(p.id);
    }
    mt_policy_release(&p);
    return rc;
}

/* Expects text to be refused with an error starting with want. */
static void refused(const char *text, const char *want) {
    char err[512];
    assert_int_equal(parse(text, err, sizeof(err)), -1);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("error \"%s\", expected it to start with \"%s\"", err, want);
}

#define HEAD "{\"policy_id\": \"p\", \"description\": \"d\",\n \"rules\": [\n"

/* The NdFeB example: Nd+Pr at least 10 % recycled, either class, magnets only. */
static void ndfeb_india_loads(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "deploy/policies/ndfeb-india.json", err, sizeof(err)), 0);
    assert_string_equal(p.id, "ndfeb-india");
    assert_int_equal(p.n_rules, 3);
    const mt_rule *r = mt_policy_rule(&p, "ndpr-recycled-10pct");
    assert_non_null(r);
    assert_int_equal(r->kind, MT_RULE_RECYCLED_SHARE);
    assert_int_equal(r->threshold_ppm, 100000);
    assert_int_equal(r->classes, MT_CLASS_PRE | MT_CLASS_POST);
    assert_int_equal(r->n_elements, 2);
    assert_string_equal(r->elements[0], "Nd");
    assert_string_equal(r->elements[1], "Pr");
    assert_int_equal(r->n_materials, 1);
    assert_string_equal(r->materials[0], "sintered-NdFeB-magnet");
    assert_int_equal(r->severity, MT_SEVERITY_ERROR);
    r = mt_policy_rule(&p, "extract-due-diligence");
    assert_non_null(r);
    assert_int_equal(r->kind, MT_RULE_DOCUMENTS);
    assert_int_equal(r->event_kinds, 1u << 1); /* EXTRACT only */
    assert_int_equal(r->n_documents, 2);
    assert_int_equal(r->require_all, 0);
    assert_null(mt_policy_rule(&p, "nope"));
    mt_policy_release(&p);
}

/* The EU 2031 example: Co 16 %, Li 6 %, Ni 6 %. */
static void eu_batteries_loads(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "deploy/policies/eu-batteries-2031.json", err, sizeof(err)), 0);
    assert_int_equal(p.n_rules, 3);
    assert_int_equal(mt_policy_rule(&p, "co-recycled-16pct")->threshold_ppm, 160000);
    assert_string_equal(mt_policy_rule(&p, "co-recycled-16pct")->elements[0], "Co");
    assert_int_equal(mt_policy_rule(&p, "li-recycled-6pct")->threshold_ppm, 60000);
    assert_int_equal(mt_policy_rule(&p, "ni-recycled-6pct")->threshold_ppm, 60000);
    mt_policy_release(&p);
}

/* The country example: processed in CN at most 0, mined in MM at most 5 %, a TRANSFER document. */
static void country_example_loads(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "deploy/policies/ree-no-conflict-processing.json", err, sizeof(err)), 0);
    const mt_rule *r = mt_policy_rule(&p, "ndpr-not-processed-cn");
    assert_int_equal(r->kind, MT_RULE_COUNTRY_SHARE);
    assert_int_equal(r->processed, 1);
    assert_int_equal(r->threshold_ppm, 0);
    assert_string_equal(r->countries[0], "CN");
    r = mt_policy_rule(&p, "dy-mined-mm-5pct");
    assert_int_equal(r->processed, 0);
    assert_int_equal(r->threshold_ppm, 50000);
    r = mt_policy_rule(&p, "transfer-bill-of-lading");
    assert_int_equal(r->event_kinds, 1u << 7);
    assert_int_equal(r->require_all, 1);
    mt_policy_release(&p);
}

/* A JSON syntax error: jansson's line. */
static void syntax_error_has_line(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"a\",\n   \"kind\" \"recycled_share\"}\n]}", "p.json:4: ");
    refused("{\"policy_id\": \"p\",\n \"policy_id\": \"q\"}", "p.json:2: duplicate object key");
}

/* A value out of range: the line of its member, the rule's index and id. */
static void bad_threshold_has_line(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"ok\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\", "
                 "\"max_ppm\": 0},\n"
                 "  {\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\",\n"
                 "   \"description\": \"d\", \"elements\": [\"Nd\"], \"class\": \"any\",\n"
                 "   \"min_ppm\": 1000001}\n]}",
            "p.json:6: rules[1] \"r\": min_ppm: expected an integer from 1 to 1000000");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\"], \"class\": \"any\",\n   \"min_ppm\": 0}\n]}",
            "p.json:5: rules[0] \"r\": min_ppm:");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"country_share\", \"severity\": \"error\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\"], \"stage\": \"mined\", \"countries\": [\"CN\"],\n   \"max_ppm\": 12.5}\n]}",
            "p.json:5: rules[0] \"r\": max_ppm:");
}

/* A member a rule of that kind does not have (a typo) is refused at its line. */
static void unknown_member_refused(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\"], \"class\": \"any\", \"min_ppm\": 1,\n"
                 "   \"max_ppm\": 5}\n]}",
            "p.json:5: rules[0] \"r\": max_ppm: not a member");
    refused("{\"policy_id\": \"p\", \"description\": \"d\",\n\n \"rulez\": []}", "p.json:3: rulez: not a member of a policy");
}

/* Missing members: the rule's line when the member is absent. */
static void missing_member_refused(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"ok\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\", "
                 "\"max_ppm\": 0},\n\n"
                 "  {\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                 "\"elements\": [\"Nd\"], \"min_ppm\": 1}\n]}",
            "p.json:5: rules[1] \"r\": class: required");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"description\": \"d\", \"max_ppm\": 0}\n]}",
            "p.json:3: rules[0] \"r\": severity: required");
    refused("{\"policy_id\": \"p\", \"description\": \"d\"}", "p.json:1: rules: required");
    refused("{\"policy_id\": \"p\", \"description\": \"d\", \"rules\": []}", "p.json:1: rules: required");
}

/* Two rules with one id: the second one's line. */
static void duplicate_rule_id_refused(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\", "
                 "\"max_ppm\": 0},\n"
                 "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\", "
                 "\"max_ppm\": 0}\n]}",
            "p.json:4: rules[1] \"r\": id: already used by rules[0]");
}

/* Symbols, country codes, event kinds, enumerations. */
static void bad_values_refused(void **state) {
    (void)state;
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\", \"O\"], \"max_ppm\": 0}\n]}",
            "p.json:4: rules[0] \"r\": elements: [1]: \"O\" is not tracked");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"elements\": [\"nd\"], \"max_ppm\": 0}\n]}",
            "p.json:4: rules[0] \"r\": elements: [0]: \"nd\" is not an element symbol");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\", \"Nd\"], \"max_ppm\": 0}\n]}",
            "p.json:4: rules[0] \"r\": elements: \"Nd\" is listed twice");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"country_share\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\"], \"stage\": \"mined\",\n   \"countries\": [\"China\"], \"max_ppm\": 0}\n]}",
            "p.json:5: rules[0] \"r\": countries: [0]: \"China\" is not an ISO 3166-1 alpha-2 code");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"country_share\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"elements\": [\"Nd\"], \"stage\": \"refined\", \"countries\": [\"CN\"], \"max_ppm\": 0}\n]}",
            "p.json:4: rules[0] \"r\": stage: expected \"mined\" or \"processed\"");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"documents\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"event_kinds\": [\"EXTRACT\", \"MINE\"], \"documents\": [\"x\"], \"require\": \"any\"}\n]}",
            "p.json:4: rules[0] \"r\": event_kinds: [1]: expected an event kind");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"documents\", \"severity\": \"info\", \"description\": \"d\",\n"
                 "   \"event_kinds\": [\"EXTRACT\", \"EXTRACT\"], \"documents\": [\"x\"], \"require\": \"any\"}\n]}",
            "p.json:4: rules[0] \"r\": event_kinds: \"EXTRACT\" is listed twice");
    refused("{\"$schema\": 5, \"policy_id\": \"p\", \"description\": \"d\", \"rules\": []}",
            "p.json:1: $schema: expected a string");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"mass_share\", \"severity\": \"info\", \"description\": \"d\"}\n]}",
            "p.json:3: rules[0] \"r\": kind: expected \"recycled_share\"");
    refused(HEAD "  {\"id\": \"r s\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\", "
                 "\"max_ppm\": 0}\n]}",
            "p.json:3: rules[0]: id: expected 1 to 64 characters");
    refused(HEAD "  {\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"critical\", \"description\": \"d\", "
                 "\"max_ppm\": 0}\n]}",
            "p.json:3: rules[0] \"r\": severity: expected \"info\", \"warning\" or \"error\"");
}

/* Lines count right past strings holding brackets, commas, quotes and colons. */
static void lines_survive_tricky_strings(void **state) {
    (void)state;
    refused("{\"policy_id\": \"p\", \"description\": \"a [tricky], \\\"quoted\\\": {text}\",\n \"rules\": [\n"
            "  {\"id\": \"a\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"]},{\\\"id\\\":\","
            " \"max_ppm\": 0},\n"
            "  {\"id\": \"b\", \"kind\": \"chain_complete\", \"severity\": \"info\", \"description\": \"d\",\n"
            "   \"max_ppm\": -1}\n]}",
            "p.json:5: rules[1] \"b\": max_ppm:");
}

/* A file that is not there: its name and why. */
static void missing_file_named(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "/nonexistent/policy.json", err, sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/policy.json: No such file or directory");
    assert_null(p.rules);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ndfeb_india_loads),        cmocka_unit_test(eu_batteries_loads),
        cmocka_unit_test(country_example_loads),    cmocka_unit_test(syntax_error_has_line),
        cmocka_unit_test(bad_threshold_has_line),   cmocka_unit_test(unknown_member_refused),
        cmocka_unit_test(missing_member_refused),   cmocka_unit_test(duplicate_rule_id_refused),
        cmocka_unit_test(bad_values_refused),       cmocka_unit_test(lines_survive_tricky_strings),
        cmocka_unit_test(missing_file_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
