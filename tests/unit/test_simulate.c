/* test_simulate — the simulated chain is deterministic and every event of it is accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger.h"
#include "notary.h"
#include "registry.h"
#include "simulate.h"
#include "validate.h"

#define NET "sim-test"
#define T0 1790000000000LL

/* The same seed gives the same bytes; another seed other bytes. */
static void test_same_seed_same_bytes(void **state) {
    (void)state;
    mt_sim *a = mt_sim_new(7, NET, 5, T0), *b = mt_sim_new(7, NET, 5, T0), *c = mt_sim_new(8, NET, 5, T0);
    assert_non_null(a);
    uint8_t *x, *y, *z;
    size_t lx, ly, lz;
    const char *fx, *fy, *fz;
    int differs = 0, n = 0;
    while (mt_sim_next(a, &x, &lx, &fx) == 1) {
        assert_int_equal(mt_sim_next(b, &y, &ly, &fy), 1);
        assert_int_equal(mt_sim_next(c, &z, &lz, &fz), 1);
        assert_int_equal(lx, ly);
        assert_memory_equal(x, y, lx);
        differs |= lx != lz || memcmp(x, z, lx);
        free(x), free(y), free(z);
        n++;
    }
    assert_int_equal(n, 5 * 14);
    assert_true(differs);
    mt_sim_free(a), mt_sim_free(b), mt_sim_free(c);
}

typedef struct tally {
    int accepted, other;
} tally;

static void count(void *arg, const mt_decision *d) {
    tally *t = arg;
    if (d->kind == MT_DECIDED_ACCEPTED)
        t->accepted++;
    else
        t->other++;
}

/* Every simulated event passes validate and, attested, is accepted by the ledger: the
 * simulator's grades, yields and custody obey every rule. */
static void test_every_event_accepted(void **state) {
    (void)state;
    uint8_t *regb;
    size_t regl;
    mt_keypair gov, notary;
    char err[256];
    assert_int_equal(mt_sim_registry(3, NET, &regb, &regl), 0);
    assert_int_equal(mt_sim_key(3, "governance", &gov), 0);
    assert_int_equal(mt_sim_key(3, "NOTARY-1", &notary), 0);
    mt_registry *reg = mt_registry_from_envelope(regb, regl, "sim", gov.pk, NET, err, sizeof(err));
    assert_non_null(reg);
    mt_ledger *l = mt_ledger_new(NULL);
    mt_sim *s = mt_sim_new(3, NET, 40, T0);
    assert_non_null(s);
    uint8_t *env, *att;
    size_t len, alen;
    const char *fac;
    tally t = {0};
    int n = 0;
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        mt_verdict v;
        assert_int_equal(mt_validate_envelope(reg, NET, env, len, T0 + 86400000LL * 30, &v), 0);
        assert_string_equal(v.facility_id, fac);
        assert_int_equal(mt_notary_attest(&notary, reg, NET, env, len, T0 + 86400000LL * 30, &att, &alen, &v), 0);
        assert_int_equal(mt_ledger_offer(l, reg, NET, att, alen, "t", 0, n, count, &t), 0);
        free(att);
        free(env);
        n++;
    }
    assert_int_equal(t.other, 0);
    assert_int_equal(t.accepted, n);
    assert_int_equal(mt_ledger_parked(l), 0);
    mt_sim_free(s);
    mt_ledger_free(l);
    mt_registry_destroy(reg);
    free(regb);
    mt_keypair_wipe(&gov);
    mt_keypair_wipe(&notary);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_every_event_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
