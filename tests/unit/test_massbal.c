/* test_massbal.c - the mass-balance rules alone (massbal.h): periods of three calendar months,
 * relabelling, earning net of losses, allocation limits, closing, forfeiting, corrections. The
 * same rules through the ledger, with the worked examples of docs/accounting.md section 7, are
 * in test_ledger.c (test_massbal_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "massbal.h"

#define R(name)  MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define PRE      MT_PROV_PRE_CONSUMER
#define POST     MT_PROV_POST_CONSUMER
#define NONE     MT_PROV_NOT_RECYCLED
#define DAY_MS   86400000LL
#define T_JAN1   1704067200000LL        /* 2024-01-01 00:00 UTC */
#define T_MAR31  (T_JAN1 + 90 * DAY_MS) /* 2024-03-31 */
#define T_APR1   (T_JAN1 + 91 * DAY_MS)
#define T_APR2   (T_JAN1 + 92 * DAY_MS)
#define KEY1     "0123456789abcdef0123456789abcdef"
#define KEY2     "fedcba9876543210fedcba9876543210"

static char err[256];

/* ---- helpers ---- */

/* A BatchEvent from JSON with single quotes for double ones (protobuf_c_message_free_unpacked it). */
static Mintrace__V1__BatchEvent *event(const char *fmt, ...) {
    char json[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof(json), fmt, ap);
    va_end(ap);
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    Mintrace__V1__BatchEvent *ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(
        &mintrace__v1__batch_event__descriptor, json, strlen(json), err, sizeof(err));
    if (!ev) fail_msg("test event refused: %s\n%s", err, json);
    return ev;
}

static void event_free(Mintrace__V1__BatchEvent *ev) {
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

/* Nd cells: not recycled extracted IN (in_mg), not recycled XR (xr_mg), untracked XU (xu_mg),
 * pre-consumer XR (pre_mg); all processed in IN. */
static mt_prov *nd_cells(uint64_t mass, uint64_t in_mg, uint64_t xr_mg, uint64_t xu_mg, uint64_t pre_mg) {
    mt_prov *p = mt_prov_new(0), *part;
    Mintrace__V1__ElementMass el = MINTRACE__V1__ELEMENT_MASS__INIT, *elp[] = {&el};
    el.element = "Nd";
    assert_non_null(p);
    if (in_mg) {
        el.mass_mg = in_mg;
        assert_non_null(part = mt_prov_extract("IN", 0, elp, 1, err, sizeof(err)));
        assert_int_equal(mt_prov_add(&p, part, err, sizeof(err)), 0);
        mt_prov_free(part);
    }
    for (int k = 0; k < 2; k++) {
        uint64_t mg = k ? pre_mg : xr_mg;
        if (!mg) continue;
        el.mass_mg = mg;
        assert_non_null(part = mt_prov_feedstock(PRE, 0, elp, 1, err, sizeof(err)));
        if (!k) mt_prov_reclassify(part, NONE);
        assert_int_equal(mt_prov_set_processing(part, "IN", err, sizeof(err)), 0);
        assert_int_equal(mt_prov_add(&p, part, err, sizeof(err)), 0);
        mt_prov_free(part);
    }
    if (xu_mg) {
        el.mass_mg = xu_mg;
        assert_non_null(part = mt_prov_untracked(0, elp, 1, err, sizeof(err)));
        assert_int_equal(mt_prov_add(&p, part, err, sizeof(err)), 0);
        mt_prov_free(part);
    }
    p->mass_mg = mass;
    assert_int_equal(mt_prov_check(p, err, sizeof(err)), 0);
    return p;
}

/* A registry record: a magnet maker with keys KEY1 and KEY2, under mass balance or not. */
typedef struct fac {
    Mintrace__V1__FacilityRecord rec;
    Mintrace__V1__FacilityKey k[2], *kp[2];
} fac;

static void fac_init(fac *f, int mass_balance) {
    mintrace__v1__facility_record__init(&f->rec);
    f->rec.facility_id = "MB";
    f->rec.role = MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_MAGNET_MAKER;
    f->rec.accounting_method = mass_balance ? MINTRACE__V1__ACCOUNTING_METHOD__ACCOUNTING_METHOD_MASS_BALANCE
                                            : MINTRACE__V1__ACCOUNTING_METHOD__ACCOUNTING_METHOD_PROPORTIONAL;
    for (int i = 0; i < 2; i++) {
        mintrace__v1__facility_key__init(&f->k[i]);
        f->k[i].key_id = i ? KEY2 : KEY1;
        f->kp[i] = &f->k[i];
    }
    f->rec.keys = f->kp;
    f->rec.n_keys = 2;
}

/* The M3 event: OX-R (Nd IN 800 + pre-consumer XR 200) into MAG-A and MAG-B (Nd 450 each),
 * allocating alloc_a / alloc_b mg pre-consumer Nd; claim[] gets the outputs' claims (R3). */
static Mintrace__V1__BatchEvent *m3_event(int alloc_a, int alloc_b, mt_prov *claim[2]) {
    Mintrace__V1__BatchEvent *ev =
        event("{'kind':'MANUFACTURE','facility_id':'MB','inputs':[{'batch_id':'OX-R','mass_mg':1200}],'outputs':["
              "{'batch_id':'MAG-A','material':'magnet','mass_mg':500,'elements':[{'element':'Nd','mass_mg':450}],"
              "'allocations':[{'element':'Nd','pre_consumer_mg':%d}]},"
              "{'batch_id':'MAG-B','material':'magnet','mass_mg':500,'elements':[{'element':'Nd','mass_mg':450}],"
              "'allocations':[{'element':'Nd','pre_consumer_mg':%d}]}]}",
              alloc_a, alloc_b);
    mt_prov *pool = nd_cells(1200, 800, 0, 0, 200);
    mt_prov_output out[2];
    for (int j = 0; j < 2; j++)
        out[j] = (mt_prov_output){ev->outputs[j]->mass_mg, ev->outputs[j]->elements, ev->outputs[j]->n_elements};
    assert_int_equal(mt_prov_split(pool, out, 2, claim, NULL, err, sizeof(err)), 0);
    mt_prov_free(pool);
    return ev;
}

/* Applies ev (claims as given) for facility f signed by key at notary time at; returns the code. */
static mt_reason run(const Mintrace__V1__BatchEvent *ev, mt_prov **claim, const fac *f, const char *key, int64_t at,
                     const mt_massbal_account *acc, const mt_massbal_memo *voided, mt_massbal_result *res) {
    mt_massbal_ctx ctx = {.ev = ev, .key_id = key, .notary_time_ms = at, .facility = f ? &f->rec : NULL,
                          .account = acc, .voided = voided};
    assert_int_equal(mt_massbal_apply(&ctx, claim, res), 0);
    return res->code;
}

#define BAL(a) mt_massbal_balance((a), "Nd", PRE)

/* ---- periods ---- */

/* Three calendar months, same time of day, the day clamped to the month's end. */
static void test_deadline_three_calendar_months(void **state) {
    (void)state;
    static const int64_t cases[][2] = {
        {1704067200000LL, 1711929600000LL}, /* 2024-01-01 -> 2024-04-01 */
        {1711881000000LL, 1719743400000LL}, /* 2024-03-31 10:30 -> 2024-06-30 10:30 */
        {1701302400000LL, 1709164800000LL}, /* 2023-11-30 -> 2024-02-29 (leap year) */
        {1669766400000LL, 1677542400000LL}, /* 2022-11-30 -> 2023-02-28 */
        {1702620000000LL, 1710482400000LL}, /* 2023-12-15 06:00 -> 2024-03-15 06:00 */
        {1725062400000LL, 1732924800000LL}, /* 2024-08-31 -> 2024-11-30 */
        {-43200000LL, 7732800000LL},        /* 1969-12-31 12:00 -> 1970-03-31 12:00 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (mt_massbal_deadline(cases[i][0]) != cases[i][1])
            fail_msg("case %zu: %" PRId64 " -> %" PRId64 ", expected %" PRId64, i, cases[i][0],
                     mt_massbal_deadline(cases[i][0]), cases[i][1]);
}

/* ---- relabelling (M4) ---- */

/* 180 mg relabelled over Nd IN 360 + XR 90 (+ untracked 50, never relabelled): 144 and 36; more
 * than the tracked, not recycled mass is refused and changes nothing. */
static void test_relabel_cuts_by_largest_remainder(void **state) {
    (void)state;
    mt_prov *p = nd_cells(500, 360, 90, 50, 0);
    assert_int_equal(mt_prov_relabel(&p, "Nd", PRE, 180, err, sizeof(err)), 0);
    assert_int_equal(mt_prov_check(p, err, sizeof(err)), 0);
    assert_int_equal(mt_prov_sum(p, "Nd", PRE, "IN", NULL), 144);
    assert_int_equal(mt_prov_sum(p, "Nd", PRE, MT_PROV_RECOVERED, NULL), 36);
    assert_int_equal(mt_prov_sum(p, "Nd", NONE, MT_PROV_UNTRACKED, NULL), 50);
    assert_int_equal(mt_prov_sum(p, "Nd", -1, NULL, NULL), 500);
    assert_int_equal(p->mass_mg, 500);
    mt_prov *before = mt_prov_clone(p);
    assert_int_equal(mt_prov_relabel(&p, "Nd", POST, 271, err, sizeof(err)), -1); /* 270 left */
    assert_true(mt_prov_equal(p, before));
    assert_int_equal(mt_prov_relabel(&p, "Nd", POST, 270, err, sizeof(err)), 0);
    assert_int_equal(mt_prov_sum(p, "Nd", POST, NULL, NULL), 270);
    assert_int_equal(mt_prov_sum(p, "Nd", NONE, NULL, NULL), 50);
    mt_prov_free(before);
    mt_prov_free(p);
}

/* ---- earning and allocating (M2-M4) ---- */

/* M3/M4: the event earns 180 (net of the 20 lost), resets the outputs' claims and relabels the
 * 180 allocated to MAG-A; the period opens at the event, kept by the facility's first key. */
static void test_earns_net_of_losses_and_allocates(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 1);
    mt_prov *claim[2];
    Mintrace__V1__BatchEvent *ev = m3_event(180, 0, claim);
    mt_massbal_ctx ctx = {.ev = ev, .key_id = KEY1, .notary_time_ms = T_JAN1, .facility = &f.rec};
    assert_true(mt_massbal_covers(&ctx));
    mt_massbal_result res;
    assert_int_equal(run(ev, claim, &f, KEY1, T_JAN1, NULL, NULL, &res), 0);
    assert_non_null(res.account);
    assert_true(res.account->open);
    assert_int_equal(res.account->period_start_ms, T_JAN1);
    assert_int_equal(res.account->deadline_ms, T_APR1);
    assert_string_equal(res.account->key_id, KEY1);
    assert_int_equal(BAL(res.account), 0);
    assert_non_null(res.memo);
    assert_int_equal(res.memo->n_earned, 1);
    assert_int_equal(res.memo->credit[0].mg[0], 180);
    assert_int_equal(res.memo->n_allocated, 1);
    assert_int_equal(res.memo->credit[1].mg[0], 180);
    assert_int_equal(mt_prov_sum(claim[0], "Nd", PRE, NULL, NULL), 180);
    assert_int_equal(mt_prov_sum(claim[1], "Nd", PRE, NULL, NULL), 0);
    assert_int_equal(mt_prov_sum(claim[0], "Nd", -1, NULL, NULL), 450);
    mt_massbal_result_release(&res);
    mt_prov_free(claim[0]);
    mt_prov_free(claim[1]);
    event_free(ev);
}

/* 181 mg is CREDIT_OVERDRAWN, 180 + 180 too (never claimed twice), 451 on a 450 mg output
 * ALLOCATION_EXCEEDS_OUTPUT; a rejection hands back no account. */
static void test_allocation_limits(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 1);
    static const int cases[][3] = {{181, 0, R(CREDIT_OVERDRAWN)},
                                   {180, 180, R(CREDIT_OVERDRAWN)},
                                   {451, 0, R(ALLOCATION_EXCEEDS_OUTPUT)},
                                   {0, 180, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mt_prov *claim[2];
        Mintrace__V1__BatchEvent *ev = m3_event(cases[i][0], cases[i][1], claim);
        mt_massbal_result res;
        if ((int)run(ev, claim, &f, KEY1, T_JAN1, NULL, NULL, &res) != cases[i][2])
            fail_msg("case %zu: %s (%s)", i, mt_reason_name(res.code), res.detail);
        if (cases[i][2]) assert_null(res.account);
        else assert_non_null(res.account);
        mt_massbal_result_release(&res);
        mt_prov_free(claim[0]);
        mt_prov_free(claim[1]);
        event_free(ev);
    }
}

/* A facility not under mass balance: its outputs are not covered, and allocations are refused. */
static void test_not_under_mass_balance(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 0);
    mt_prov *claim[2];
    Mintrace__V1__BatchEvent *ev = m3_event(0, 0, claim);
    mt_massbal_ctx ctx = {.ev = ev, .key_id = KEY1, .notary_time_ms = T_JAN1, .facility = &f.rec};
    assert_false(mt_massbal_covers(&ctx));
    mt_massbal_result res;
    assert_int_equal(run(ev, NULL, &f, KEY1, T_JAN1, NULL, NULL, &res), 0);
    assert_null(res.account);
    assert_null(res.memo);
    event_free(ev);
    mt_prov_free(claim[0]);
    mt_prov_free(claim[1]);
    ev = m3_event(1, 0, claim);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_JAN1, NULL, NULL, &res), R(NOT_UNDER_MASS_BALANCE));
    mt_massbal_result_release(&res);
    event_free(ev);
    mt_prov_free(claim[0]);
    mt_prov_free(claim[1]);
}

/* ---- periods (M6) and corrections (M7) ---- */

/* The account after the M3 event allocating alloc_a to MAG-A (memo in *memo when not NULL). */
static mt_massbal_account *after_m3(const fac *f, int alloc_a, mt_massbal_memo **memo) {
    mt_prov *claim[2];
    Mintrace__V1__BatchEvent *ev = m3_event(alloc_a, 0, claim);
    mt_massbal_result res;
    assert_int_equal(run(ev, claim, f, KEY1, T_JAN1, NULL, NULL, &res), 0);
    mt_massbal_account *a = res.account;
    if (memo) *memo = res.memo, res.memo = NULL;
    res.account = NULL;
    mt_massbal_result_release(&res);
    mt_prov_free(claim[0]);
    mt_prov_free(claim[1]);
    event_free(ev);
    return a;
}

static Mintrace__V1__BatchEvent *balance_event(int64_t start, int pre) {
    return event("{'kind':'BALANCE','facility_id':'MB','balance':{'period_start_ms':%" PRId64
                 ",'closing':[{'element':'Nd','pre_consumer_mg':%d}]}}",
                 start, pre);
}

/* M6: a BALANCE stating the account closes the period and carries the balance into a new one
 * opened at the close; a wrong figure or start, another key, or no open period is refused. */
static void test_balance_closes_and_carries(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 1);
    mt_massbal_account *a = after_m3(&f, 100, NULL);
    assert_int_equal(BAL(a), 80);
    mt_massbal_result res;
    Mintrace__V1__BatchEvent *ev = balance_event(T_JAN1, 79);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_MAR31, a, NULL, &res), R(BALANCE_MISMATCH));
    event_free(ev);
    ev = balance_event(T_JAN1 + 1, 80);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_MAR31, a, NULL, &res), R(BALANCE_MISMATCH));
    event_free(ev);
    ev = balance_event(T_JAN1, 80);
    assert_int_equal(run(ev, NULL, &f, KEY2, T_MAR31, a, NULL, &res), R(MASS_BALANCE_WRONG_KEY));
    assert_int_equal(run(ev, NULL, &f, KEY1, T_MAR31, NULL, NULL, &res), R(NOT_UNDER_MASS_BALANCE));
    Mintrace__V1__BatchEvent *any = balance_event(0, 80); /* 0: whichever period is open */
    assert_int_equal(run(any, NULL, &f, KEY1, T_MAR31, a, NULL, &res), 0);
    assert_int_equal(res.account->periods_closed, 1);
    mt_massbal_result_release(&res);
    event_free(any);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_MAR31, a, NULL, &res), 0);
    assert_non_null(res.account);
    assert_true(res.account->open);
    assert_int_equal(res.account->period_start_ms, T_MAR31);
    assert_int_equal(res.account->deadline_ms, T_MAR31 + 91 * DAY_MS);
    assert_int_equal(res.account->periods_closed, 1);
    assert_int_equal(BAL(res.account), 80);
    mt_massbal_result_release(&res);
    /* the registry no longer says mass balance: the account rests, its balance carried */
    fac_init(&f, 0);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_MAR31, a, NULL, &res), 0);
    assert_false(res.account->open);
    assert_int_equal(BAL(res.account), 80);
    mt_massbal_result_release(&res);
    event_free(ev);
    free(a);
}

/* M6: past the deadline a BALANCE is PERIOD_OVERDUE; any event of the account's key forfeits the
 * balance and opens a new period (or, no longer under mass balance, leaves it closed); another
 * key's event changes nothing. */
static void test_overdue_period_forfeited(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 1);
    mt_massbal_account *a = after_m3(&f, 100, NULL);
    mt_massbal_result res;
    Mintrace__V1__BatchEvent *bal = balance_event(T_JAN1, 80);
    assert_int_equal(run(bal, NULL, &f, KEY1, T_APR1, a, NULL, &res), R(PERIOD_OVERDUE));
    event_free(bal);
    Mintrace__V1__BatchEvent *ev =
        event("{'kind':'SPLIT','facility_id':'MB','inputs':[{'batch_id':'X','mass_mg':1}],'outputs':[{'batch_id':'Y',"
              "'material':'m','mass_mg':1}]}");
    assert_int_equal(run(ev, NULL, &f, KEY2, T_APR2, a, NULL, &res), 0);
    assert_null(res.account);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_APR1 - 1, a, NULL, &res), 0); /* not yet */
    assert_null(res.account);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_APR2, a, NULL, &res), 0);
    assert_non_null(res.account);
    assert_int_equal(BAL(res.account), 0);
    assert_int_equal(res.account->n, 0);
    assert_int_equal(res.account->periods_forfeited, 1);
    assert_true(res.account->open);
    assert_int_equal(res.account->period_start_ms, T_APR2);
    mt_massbal_result_release(&res);
    fac_init(&f, 0);
    assert_int_equal(run(ev, NULL, &f, KEY1, T_APR2, a, NULL, &res), 0);
    assert_false(res.account->open);
    assert_int_equal(res.account->periods_forfeited, 1);
    mt_massbal_result_release(&res);
    event_free(ev);
    free(a);
}

/* M7: voiding an event whose credits were allocated since is INVALID_CORRECTION; allocations come
 * back before earnings go, so an event that earned and allocated the same may be voided. */
static void test_correction_after_credits_spent(void **state) {
    (void)state;
    fac f;
    fac_init(&f, 1);
    mt_massbal_memo *memo_a = NULL;
    mt_massbal_account *a = after_m3(&f, 0, &memo_a); /* earned 180, allocated 0 */
    assert_int_equal(BAL(a), 180);
    /* C: virgin oxide made into MAG-C (Nd 790) allocated 180 */
    Mintrace__V1__BatchEvent *c =
        event("{'kind':'MANUFACTURE','facility_id':'MB','inputs':[{'batch_id':'OX-V2','mass_mg':960}],'outputs':["
              "{'batch_id':'MAG-C','material':'magnet','mass_mg':900,'elements':[{'element':'Nd','mass_mg':790}],"
              "'allocations':[{'element':'Nd','pre_consumer_mg':180}]}]}");
    mt_prov *claim_c[1] = {nd_cells(900, 790, 0, 0, 0)};
    mt_massbal_result res;
    assert_int_equal(run(c, claim_c, &f, KEY1, T_JAN1 + 1000, a, NULL, &res), 0);
    mt_massbal_account *a2 = res.account;
    mt_massbal_memo *memo_c = res.memo;
    res.account = NULL, res.memo = NULL;
    assert_int_equal(BAL(a2), 0);
    Mintrace__V1__BatchEvent *corr = event("{'kind':'CORRECTION','facility_id':'MB','correction':{'reason':'typo'}}");
    assert_int_equal(run(corr, NULL, &f, KEY1, T_JAN1 + 2000, a2, memo_a, &res), R(INVALID_CORRECTION));
    assert_int_equal(run(corr, NULL, &f, KEY2, T_JAN1 + 2000, a2, memo_c, &res), R(MASS_BALANCE_WRONG_KEY));
    assert_int_equal(run(corr, NULL, &f, KEY1, T_JAN1 + 2000, a2, memo_c, &res), 0);
    mt_massbal_account *a3 = res.account;
    res.account = NULL;
    assert_int_equal(BAL(a3), 180);
    assert_int_equal(run(corr, NULL, &f, KEY1, T_JAN1 + 3000, a3, memo_a, &res), 0);
    assert_int_equal(BAL(res.account), 0);
    mt_massbal_result_release(&res);
    /* an event that earned and allocated its own 180 can be voided on a balance of 0 */
    mt_massbal_memo *memo_self = NULL;
    mt_massbal_account *a4 = after_m3(&f, 180, &memo_self);
    assert_int_equal(BAL(a4), 0);
    assert_int_equal(run(corr, NULL, &f, KEY1, T_JAN1 + 4000, a4, memo_self, &res), 0);
    assert_int_equal(BAL(res.account), 0);
    mt_massbal_result_release(&res);
    event_free(corr);
    event_free(c);
    mt_prov_free(claim_c[0]);
    free(memo_a), free(memo_c), free(memo_self);
    free(a), free(a2), free(a3), free(a4);
}

/* The record gets the claim's figures and the mass_balance flag; the physical ones stay. */
static void test_record_carries_claim(void **state) {
    (void)state;
    mt_prov *phys = nd_cells(500, 360, 0, 0, 90), *claim = nd_cells(500, 360, 90, 0, 0);
    assert_int_equal(mt_prov_relabel(&claim, "Nd", PRE, 180, err, sizeof(err)), 0);
    Mintrace__V1__ProvenanceRecord *rec = mt_prov_record_new(phys, NULL);
    assert_non_null(rec);
    unsigned char before[32], after[32];
    assert_int_equal(mt_prov_record_commit(rec, before), 0);
    mt_massbal_record(rec, claim);
    assert_int_equal(mt_prov_record_commit(rec, after), 0);
    assert_memory_not_equal(before, after, 32);
    assert_true(rec->mass_balance);
    assert_int_equal(rec->elements[0]->recycled_pre_consumer_mg, 90);
    assert_int_equal(rec->elements[0]->mass_balance_pre_consumer_mg, 180);
    assert_int_equal(rec->elements[0]->mass_balance_post_consumer_mg, 0);
    mt_prov_record_free(rec);
    mt_prov_free(phys);
    mt_prov_free(claim);
}

/* ---- shape (event.c): what validate checks of the new fields ---- */

/* Each event's shape verdict: 0, or MALFORMED_EVENT with a detail naming the field. */
static void test_shape_of_mass_balance_fields(void **state) {
    (void)state;
    static const char *head = "'network_id':'n','facility_id':'MB','seq':1,'time_ms':1,'site':{'country':'IN'}";
    static const char *out = "'outputs':[{'batch_id':'B','material':'m','mass_mg':10,'elements':[{'element':'Nd',"
                             "'mass_mg':5}]%s}]";
    static const struct {
        const char *kind, *rest, *field; /* field NULL: well formed */
    } cases[] = {
        {"BALANCE", "'balance':{'closing':[{'element':'Nd','pre_consumer_mg':80}]}", NULL},
        {"BALANCE", "'balance':{'period_start_ms':1704067200000}", NULL},
        {"BALANCE", "", "detail"},
        {"BALANCE", "'balance':{},'inputs':[{'batch_id':'A','mass_mg':1}]", "inputs"},
        {"BALANCE", "'balance':{},'untracked_inputs':[{'material':'iron','mass_mg':1}]", "inputs"},
        {"BALANCE", "'balance':{},OUT", "outputs"},
        {"BALANCE", "'balance':{'period_start_ms':-1}", "period_start_ms"},
        {"BALANCE", "'balance':{'closing':[{'element':'nd','pre_consumer_mg':1}]}", "balance.closing[0]"},
        {"BALANCE", "'balance':{'closing':[{'element':'Nd'},{'element':'Nd'}]}", "listed twice"},
        {"MANUFACTURE", "'inputs':[{'batch_id':'A','mass_mg':1}],OUT", NULL},
        {"SPLIT", "'inputs':[{'batch_id':'A','mass_mg':1}],OUT", "allocations"},
        {"EXTRACT", "OUT", "allocations"},
        {"PROCESS", "'inputs':[{'batch_id':'A','mass_mg':1}],OUTBAD", "allocations[0]"},
        {"RECYCLE", "'recycle':{'feedstock':'TRACKED'},'inputs':[{'batch_id':'A','mass_mg':1}],OUTTWICE", "listed twice"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char rest[512], o[256];
        const char *r = cases[i].rest, *at = strstr(r, "OUT");
        if (at) {
            const char *alloc = !strncmp(at, "OUTBAD", 6)     ? ",'allocations':[{'element':'nd','pre_consumer_mg':1}]"
                                : !strncmp(at, "OUTTWICE", 8) ? ",'allocations':[{'element':'Nd'},{'element':'Nd'}]"
                                : !strcmp(cases[i].kind, "BALANCE") ? ""
                                                                    : ",'allocations':[{'element':'Nd','pre_consumer_mg':1}]";
            snprintf(o, sizeof(o), out, alloc);
            snprintf(rest, sizeof(rest), "%.*s%s", (int)(at - r), r, o);
        } else {
            snprintf(rest, sizeof(rest), "%s", r);
        }
        Mintrace__V1__BatchEvent *ev = event("{%s,'kind':'%s'%s%s}", head, cases[i].kind, rest[0] ? "," : "", rest);
        mt_verdict v;
        memset(&v, 0, sizeof(v));
        mt_reason got = mt_event_check_shape(ev, &v);
        if (!cases[i].field && got) fail_msg("case %zu (%s): refused: %s", i, cases[i].kind, v.detail);
        if (cases[i].field && (got != R(MALFORMED_EVENT) || !strstr(v.detail, cases[i].field)))
            fail_msg("case %zu (%s): %s '%s', expected MALFORMED_EVENT naming %s", i, cases[i].kind, mt_reason_name(got),
                     v.detail, cases[i].field);
        event_free(ev);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_three_calendar_months),
        cmocka_unit_test(test_relabel_cuts_by_largest_remainder),
        cmocka_unit_test(test_earns_net_of_losses_and_allocates),
        cmocka_unit_test(test_allocation_limits),
        cmocka_unit_test(test_not_under_mass_balance),
        cmocka_unit_test(test_balance_closes_and_carries),
        cmocka_unit_test(test_overdue_period_forfeited),
        cmocka_unit_test(test_correction_after_credits_spent),
        cmocka_unit_test(test_record_carries_claim),
        cmocka_unit_test(test_shape_of_mass_balance_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
