/* test_registry.c - loading a governance-signed registry, its refusals, look-ups, key validity
 * and the role table (registry.h). */
#include "fixtures.h"

#include <stdio.h>
#include <unistd.h>

#define ROLE(r) MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_##r
#define KIND(k) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##k
#define REASON(r) MINTRACE__V1__REASON_CODE__REASON_CODE_##r

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

/* Loads w->reg_env as the registry of network (NULL = any); returns NULL with err filled. */
static mt_registry *load(const fx_world *w, const char *network, char *err, size_t errsize)
{
    err[0] = '\0';
    return mt_registry_from_envelope(w->reg_env, w->reg_env_len, "test.reg", w->gov.pk, network, err, errsize);
}

/* Signs w->msg again and checks the registry is refused with a message containing want. */
static void assert_refused(fx_world *w, const char *want)
{
    char err[512];
    fx_world_sign(w);
    mt_registry *r = load(w, FX_NETWORK, err, sizeof(err));
    if (r) {
        mt_registry_destroy(r);
        fail_msg("registry accepted, expected a refusal naming '%s'", want);
    }
    if (!strstr(err, want)) fail_msg("error '%s' does not contain '%s'", err, want);
    assert_non_null(strstr(err, "test.reg")); /* errors name the source */
}

/* A properly signed registry loads, with its version, facilities and keys. */
static void test_signed_registry_loads(void **state)
{
    fx_world *w = *state;
    char err[256];
    mt_registry *r = load(w, FX_NETWORK, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(mt_registry_version(r), FX_REG_VERSION);
    assert_non_null(mt_registry_find_facility(r, FX_NOTARY));
    assert_non_null(mt_registry_find_key(r, w->recycler.key_id));
    mt_registry_destroy(r);
}

/* With network_id NULL the registry's network is not checked. */
static void test_null_network_accepts_any(void **state)
{
    fx_world *w = *state;
    char err[256];
    mt_registry *r = load(w, NULL, err, sizeof(err));
    assert_non_null(r);
    mt_registry_destroy(r);
}

/* A registry signed by another key is refused, naming the governance key id expected. */
static void test_other_signer_refused(void **state)
{
    fx_world *w = *state;
    char err[512] = "";
    free(w->reg_env);
    w->reg_env = NULL;
    assert_int_equal(mt_registry_sign(&w->msg.reg, &w->stranger, &w->reg_env, &w->reg_env_len, err, sizeof(err)), 0);
    mt_registry *r = load(w, FX_NETWORK, err, sizeof(err));
    assert_null(r);
    assert_non_null(strstr(err, w->gov.key_id));
    assert_null(strstr(err, w->stranger.key_id));
}

/* A governance signature made in another role than GOVERNANCE does not count. */
static void test_governance_key_in_other_role_refused(void **state)
{
    fx_world *w = *state;
    char err[512];
    size_t plen;
    uint8_t *payload = mt_message_pack(&w->msg.reg.base, &plen);
    free(w->reg_env);
    w->reg_env = fx_seal(&w->gov, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_REGISTRY, payload, plen,
                         &w->reg_env_len);
    free(payload);
    assert_null(load(w, FX_NETWORK, err, sizeof(err)));
    assert_non_null(strstr(err, "no valid signature"));
}

/* A registry for another network is refused, naming both networks. */
static void test_wrong_network_refused(void **state)
{
    fx_world *w = *state;
    char err[512];
    assert_null(load(w, "other-net", err, sizeof(err)));
    assert_non_null(strstr(err, "'" FX_NETWORK "'"));
    assert_non_null(strstr(err, "'other-net'"));
}

/* An envelope whose payload type is not mintrace.v1.Registry is refused, even if well signed. */
static void test_wrong_payload_type_refused(void **state)
{
    fx_world *w = *state;
    char err[512];
    size_t plen;
    uint8_t *payload = mt_message_pack(&w->msg.reg.base, &plen);
    free(w->reg_env);
    w->reg_env = fx_seal(&w->gov, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_GOVERNANCE, MT_PAYLOAD_EVENT, payload, plen,
                         &w->reg_env_len);
    free(payload);
    assert_null(load(w, FX_NETWORK, err, sizeof(err)));
    assert_non_null(strstr(err, "payload type"));
    assert_non_null(strstr(err, MT_PAYLOAD_EVENT));
}

/* A signed payload that is not a decodable Registry is refused. */
static void test_undecodable_payload_refused(void **state)
{
    fx_world *w = *state;
    char err[512];
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    free(w->reg_env);
    w->reg_env = fx_seal(&w->gov, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_GOVERNANCE, MT_PAYLOAD_REGISTRY, junk,
                         sizeof(junk), &w->reg_env_len);
    assert_null(load(w, FX_NETWORK, err, sizeof(err)));
    assert_non_null(strstr(err, "not a decodable Registry"));
}

/* A key whose key_id does not match its public key is refused. */
static void test_key_id_mismatch_refused(void **state)
{
    fx_world *w = *state;
    w->msg.fac[1].key[0].key_id = (char *)w->mine.key_id; /* REFINER's key under MINE's id */
    assert_refused(w, "does not match its public key");
}

/* A public key that is not 32 bytes is refused. */
static void test_short_public_key_refused(void **state)
{
    fx_world *w = *state;
    w->msg.fac[1].key[0].public_key.len = MT_PK_LEN - 1;
    assert_refused(w, "public_key is 31 bytes");
}

/* The same key listed under two facilities is refused, naming the key. */
static void test_key_listed_twice_refused(void **state)
{
    fx_world *w = *state;
    char want[128];
    fx_facility_add_key(&w->msg.fac[1], &w->mine, 0, 0, 0);
    snprintf(want, sizeof(want), "key %s is listed twice", w->mine.key_id);
    assert_refused(w, want);
}

/* The same facility listed twice (with different keys) is refused, naming the facility. */
static void test_facility_listed_twice_refused(void **state)
{
    fx_world *w = *state;
    fx_facility *f = fx_registry_add_facility(&w->msg, FX_REFINER, ROLE(TRADER));
    fx_facility_add_key(f, &w->stranger, 0, 0, 0);
    assert_refused(w, "facility " FX_REFINER " is listed twice");
}

/* A facility without an id is refused. */
static void test_facility_without_id_refused(void **state)
{
    fx_world *w = *state;
    w->msg.fac[3].rec.facility_id = "";
    assert_refused(w, "has no facility_id");
}

/* Bytes that are not an Envelope are refused. */
static void test_garbage_refused(void **state)
{
    fx_world *w = *state;
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x7f, 0x00};
    char err[512] = "";
    assert_null(mt_registry_from_envelope(junk, sizeof(junk), "junk.reg", w->gov.pk, FX_NETWORK, err, sizeof(err)));
    assert_non_null(strstr(err, "junk.reg"));
    assert_non_null(strstr(err, "not a serialized"));
}

/* mt_registry_load reads the envelope from a file. */
static void test_load_from_file(void **state)
{
    fx_world *w = *state;
    char path[] = "/tmp/mt-test-registry-XXXXXX", err[512] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, w->reg_env, w->reg_env_len), (ssize_t)w->reg_env_len);
    close(fd);
    mt_registry *r = mt_registry_load(path, w->gov.pk, FX_NETWORK, err, sizeof(err));
    unlink(path);
    if (!r) fail_msg("%s", err);
    assert_int_equal(mt_registry_version(r), FX_REG_VERSION);
    mt_registry_destroy(r);
}

/* mt_registry_load of a missing file fails naming the file. */
static void test_load_missing_file_names_it(void **state)
{
    fx_world *w = *state;
    char err[512] = "";
    assert_null(mt_registry_load("/nonexistent/mt.reg", w->gov.pk, FX_NETWORK, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/mt.reg"));
}

/* find_key returns the key with its public key and facility. */
static void test_find_key_hit(void **state)
{
    fx_world *w = *state;
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->refiner.key_id);
    assert_non_null(k);
    assert_string_equal(k->key_id, w->refiner.key_id);
    assert_memory_equal(k->pk, w->refiner.pk, MT_PK_LEN);
    assert_string_equal(k->facility->facility_id, FX_REFINER);
    assert_int_equal(k->facility->role, ROLE(REFINER));
}

/* find_key of an id the registry lacks is NULL. */
static void test_find_key_miss(void **state)
{
    fx_world *w = *state;
    assert_null(mt_registry_find_key(w->reg, w->stranger.key_id));
    assert_null(mt_registry_find_key(w->reg, w->gov.key_id));
    assert_null(mt_registry_find_key(w->reg, ""));
}

/* find_facility returns the record of that id. */
static void test_find_facility_hit(void **state)
{
    fx_world *w = *state;
    const Mintrace__V1__FacilityRecord *f = mt_registry_find_facility(w->reg, FX_MINE);
    assert_non_null(f);
    assert_string_equal(f->facility_id, FX_MINE);
    assert_int_equal(f->role, ROLE(MINE));
    assert_int_equal(f->n_keys, 3);
}

/* find_facility of an unknown id is NULL. */
static void test_find_facility_miss(void **state)
{
    fx_world *w = *state;
    assert_null(mt_registry_find_facility(w->reg, "NO-SUCH-FACILITY"));
    assert_null(mt_registry_find_facility(w->reg, "IN-MINE"));
}

/* A revoked key is refused (KEY_REVOKED) at revoked_at_ms and after, and named in the detail. */
static void test_revoked_key_refused_from_revocation(void **state)
{
    fx_world *w = *state;
    char err[256] = "";
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->mine_revoked.key_id);
    assert_non_null(k);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_REVOKED, err, sizeof(err)), REASON(KEY_REVOKED));
    assert_non_null(strstr(err, w->mine_revoked.key_id));
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_REVOKED + 1, err, sizeof(err)), REASON(KEY_REVOKED));
    assert_int_equal(mt_registry_key_valid_at(k, INT64_MAX, err, sizeof(err)), REASON(KEY_REVOKED));
}

/* A revoked key is still valid before its revocation time. */
static void test_revoked_key_valid_before_revocation(void **state)
{
    fx_world *w = *state;
    char err[256];
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->mine_revoked.key_id);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_REVOKED - 1, err, sizeof(err)), 0);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_EARLY, err, sizeof(err)), 0);
}

/* A key with a window is KEY_NOT_VALID before valid_from and from valid_until on. */
static void test_key_outside_window_not_valid(void **state)
{
    fx_world *w = *state;
    char err[256];
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->mine_window.key_id);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_FROM - 1, err, sizeof(err)), REASON(KEY_NOT_VALID));
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_UNTIL, err, sizeof(err)), REASON(KEY_NOT_VALID));
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_UNTIL + 1, err, sizeof(err)), REASON(KEY_NOT_VALID));
}

/* A key with a window is valid in [valid_from, valid_until). */
static void test_key_inside_window_valid(void **state)
{
    fx_world *w = *state;
    char err[256];
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->mine_window.key_id);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_FROM, err, sizeof(err)), 0);
    assert_int_equal(mt_registry_key_valid_at(k, FX_T_UNTIL - 1, err, sizeof(err)), 0);
}

/* A key without window or revocation is valid at any time. */
static void test_plain_key_always_valid(void **state)
{
    fx_world *w = *state;
    char err[256];
    const mt_registry_key *k = mt_registry_find_key(w->reg, w->mine.key_id);
    assert_int_equal(mt_registry_key_valid_at(k, 1, err, sizeof(err)), 0);
    assert_int_equal(mt_registry_key_valid_at(k, INT64_MAX, err, sizeof(err)), 0);
}

/* The role table: transforming kinds tied to one role, moves open to every holder. */
static void test_role_allows_table(void **state)
{
    (void)state;
    assert_true(mt_role_allows(ROLE(MINE), KIND(EXTRACT)));
    assert_false(mt_role_allows(ROLE(REFINER), KIND(EXTRACT)));
    assert_true(mt_role_allows(ROLE(REFINER), KIND(PROCESS)));
    assert_false(mt_role_allows(ROLE(MINE), KIND(PROCESS)));
    assert_true(mt_role_allows(ROLE(MAGNET_MAKER), KIND(MANUFACTURE)));
    assert_true(mt_role_allows(ROLE(RECYCLER), KIND(RECYCLE)));
    assert_false(mt_role_allows(ROLE(MINE), KIND(RECYCLE)));
    assert_true(mt_role_allows(ROLE(TRADER), KIND(TRANSFER)));
    assert_true(mt_role_allows(ROLE(MINE), KIND(TRANSFER)));
    assert_false(mt_role_allows(ROLE(NOTARY), KIND(TRANSFER)));
    assert_false(mt_role_allows(ROLE(AGGREGATOR), KIND(RECEIVE)));
    assert_false(mt_role_allows(ROLE(UNSPECIFIED), KIND(TRANSFER)));
    assert_false(mt_role_allows(ROLE(MINE), KIND(UNSPECIFIED)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_registry_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_network_accepts_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_signer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_governance_key_in_other_role_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_network_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_payload_type_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_payload_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_id_mismatch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_public_key_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_listed_twice_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facility_listed_twice_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facility_without_id_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing_file_names_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_key_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_key_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_facility_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_facility_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_refused_from_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_key_valid_before_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_outside_window_not_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_inside_window_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_key_always_valid, setup, teardown),
        cmocka_unit_test(test_role_allows_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
