/* test_simulate — the simulated chain is deterministic, every event of a plain one is accepted,
 * and with returns, corrections and attacks the pipeline decides exactly what it announced. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger.h"
#include "notary.h"
#include "registry.h"
#include "simulate.h"
#include "validate.h"
#include "sim_pipeline.h"

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

/* Third-generation magnets (made of returned end-of-life magnets) are 100 % post-consumer
 * recycled and keep the mines' countries of the EXITed lots: never XR (mine unknown). Returns
 * how many were checked. */
static int check_third_generation(const mt_ledger *l, int chains) {
    static const char *makers[] = {"IN-MAG-HYD", "JP-MAG-OSAKA"}, *mines[] = {"AU", "BR", "CN", "IN", "MM"};
    int checked = 0;
    for (int c = 0; c < chains; c++)
        for (size_t m = 0; m < 2; m++) {
            char id[96];
            snprintf(id, sizeof(id), "%s-MAG3-%06d", makers[m], c);
            const mt_prov *p = mt_ledger_provenance(l, id);
            if (!p) continue;
            uint64_t nd = mt_prov_sum(p, "Nd", -1, NULL, NULL), mined = 0;
            assert_true(nd > 0);
            assert_int_equal(mt_prov_sum(p, "Nd", MT_PROV_POST_CONSUMER, NULL, NULL), nd);
            assert_int_equal(mt_prov_sum(p, "Nd", -1, MT_PROV_RECOVERED, NULL), 0);
            for (size_t k = 0; k < sizeof(mines) / sizeof(mines[0]); k++) mined += mt_prov_sum(p, "Nd", -1, mines[k], NULL);
            assert_int_equal(mined, nd);
            checked++;
        }
    return checked;
}

/* Every simulated event passes validate and, attested, is accepted by the ledger: the
 * simulator's grades, yields and custody obey every rule. */
static void test_every_event_accepted(void **state) {
    (void)state;
    mt_keypair notary;
    mt_registry *reg = pipe_registry(3, NET, &notary);
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
    mt_keypair_wipe(&notary);
}

static void free_all(uint8_t *a, uint8_t *b) {
    free(a);
    free(b);
}

/* With every option, the same seed still gives the same bytes and expectations; another seed
 * other bytes. */
static void test_same_seed_same_bytes_with_everything(void **state) {
    (void)state;
    mt_sim_opts o = {.chains = 40, .returns_pct = 50, .corrections_pct = 20, .adversarial_pct = 50};
    mt_sim *a = mt_sim_new_opts(11, NET, &o, T0), *b = mt_sim_new_opts(11, NET, &o, T0), *c = mt_sim_new_opts(12, NET, &o, T0);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    mt_sim_counts ca, cb, cc;
    mt_sim_expected(a, &ca), mt_sim_expected(b, &cb), mt_sim_expected(c, &cc);
    assert_memory_equal(&ca, &cb, sizeof(ca));
    uint8_t *x, *y, *z;
    size_t lx, ly, lz, n = 0;
    const char *fx, *fy, *fz;
    int ex, ey, ez, differs = 0, more;
    while (mt_sim_next_expect(a, &x, &lx, &fx, &ex) == 1) {
        assert_int_equal(mt_sim_next_expect(b, &y, &ly, &fy, &ey), 1);
        assert_int_equal(lx, ly);
        assert_memory_equal(x, y, lx);
        assert_string_equal(fx, fy);
        assert_int_equal(ex, ey);
        more = mt_sim_next_expect(c, &z, &lz, &fz, &ez) == 1;
        differs |= !more || lx != lz || memcmp(x, z, lx);
        free_all(x, y);
        if (more) free(z);
        n++;
    }
    assert_int_equal(n, ca.submitted);
    assert_int_equal(mt_sim_next(b, &y, &ly, &fy), 0);
    assert_true(differs);
    assert_true(ca.returns > 0 && ca.corrections > 0 && ca.attacks > 0);
    mt_sim_free(a), mt_sim_free(b), mt_sim_free(c);
}

/* Returns, corrections and an attack of every kind: what the ledger journals is exactly what
 * the simulation announced, code by code (submitted = accepted + rejected + duplicates), and
 * nothing stays parked. */
static void test_adversarial_reconciles(void **state) {
    (void)state;
    mt_keypair notary;
    mt_registry *reg = pipe_registry(5, NET, &notary);
    mt_sim_opts o = {.chains = 120, .returns_pct = 40, .corrections_pct = 10, .adversarial_pct = 60};
    mt_sim *s = mt_sim_new_opts(5, NET, &o, T0);
    assert_non_null(s);
    mt_sim_counts want;
    mt_sim_expected(s, &want);
    /* every code a producer's event can meet, at least once, and duplicates */
    static const int codes[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 20, 21, 22,
                                23, 30, 31, 32, 33, 34, 35, 40, 41, 42, 43, 44, 45, 47, 48, 49};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) assert_true(want.by_code[codes[i]] > 0);
    assert_true(want.duplicates > 0);
    assert_int_equal(want.submitted, want.accepted + want.rejected + want.duplicates);
    assert_true(want.park_tail > 100);
    mt_ledger_conf conf = {.park_max_age = 100};
    mt_ledger *l = mt_ledger_new(&conf);
    uint8_t *env;
    size_t len, n = 0;
    const char *fac;
    pipe_tally t = {0};
    int64_t now = mt_sim_end_ms(s) + 60000;
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        assert_int_equal(pipe_offer(l, reg, &notary, NET, env, len, (int64_t)n++, now, (mt_decision_fn)pipe_count, &t), 0);
        free(env);
    }
    for (int c = 0; c < MT_SIM_CODES; c++)
        if (t.by_code[c] != want.by_code[c]) print_error("code %d: decided %zu, announced %zu\n", c, t.by_code[c], want.by_code[c]);
    assert_int_equal(mt_ledger_parked(l), 0);
    assert_int_equal(t.accepted, want.accepted);
    assert_int_equal(t.duplicates, want.duplicates);
    assert_int_equal(t.rejected, want.rejected);
    for (int c = 0; c < MT_SIM_CODES; c++) assert_int_equal(t.by_code[c], want.by_code[c]);
    assert_int_equal(n, want.submitted);
    assert_int_equal((size_t)check_third_generation(l, o.chains), want.returns);
    mt_sim_free(s);
    mt_ledger_free(l);
    mt_registry_destroy(reg);
    mt_keypair_wipe(&notary);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_every_event_accepted),
        cmocka_unit_test(test_same_seed_same_bytes_with_everything),
        cmocka_unit_test(test_adversarial_reconciles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
