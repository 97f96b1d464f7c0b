/* test_provenance.c - the proportional method (provenance.h): every worked example of
 * docs/accounting.md with its numbers, the rounding rule, random takes and splits that must add
 * up exactly, determinism, records and their commitment, and the failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "provenance.h"

#define KIND(k) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##k
#define FEED(f) MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_##f

#define NONE MT_PROV_NOT_RECYCLED
#define PREC MT_PROV_PRE_CONSUMER
#define POSTC MT_PROV_POST_CONSUMER

/* The figures of docs/accounting.md, as sums over a provenance's cells. */
#define TOTAL(p, el)     mt_prov_sum((p), (el), -1, NULL, NULL)
#define PRE(p, el)       mt_prov_sum((p), (el), PREC, NULL, NULL)
#define POST(p, el)      mt_prov_sum((p), (el), POSTC, NULL, NULL)
#define EXT(p, el, cc)   mt_prov_sum((p), (el), -1, (cc), NULL)
#define PROC(p, el, cc)  mt_prov_sum((p), (el), -1, NULL, (cc))
#define UNTRACKED(p, el) EXT((p), (el), MT_PROV_UNTRACKED)
#define UNATTR(p, el)    EXT((p), (el), MT_PROV_UNATTRIBUTED)
/* One cell, by its whole key. */
#define CELL(p, el, cls, ext, proc) mt_prov_sum((p), (el), (cls), (ext), (proc))

static char err[256];

/* Asserts p holds every invariant of provenance.h, printing which one it breaks. */
static void checked(const mt_prov *p) {
    assert_non_null(p);
    if (mt_prov_check(p, err, sizeof(err))) fail_msg("mt_prov_check: %s", err);
}

/* ---- element lists: up to 8 (symbol, mg) pairs ---- */

typedef struct els {
    Mintrace__V1__ElementMass m[8];
    Mintrace__V1__ElementMass *p[8];
    size_t n;
} els;

static void els_add(els *e, const char *sym, uint64_t mg) {
    mintrace__v1__element_mass__init(&e->m[e->n]);
    e->m[e->n].element = (char *)sym;
    e->m[e->n].mass_mg = mg;
    e->p[e->n] = &e->m[e->n];
    e->n++;
}

/* An element list of one or two elements (s2 NULL for one). */
static els *els2(els *e, const char *s1, uint64_t m1, const char *s2, uint64_t m2) {
    memset(e, 0, sizeof(*e));
    els_add(e, s1, m1);
    if (s2) els_add(e, s2, m2);
    return e;
}

static mt_prov *extract(const char *cc, uint64_t mass, const char *s1, uint64_t m1, const char *s2, uint64_t m2) {
    els e;
    els2(&e, s1, m1, s2, m2);
    mt_prov *p = mt_prov_extract(cc, mass, e.p, e.n, err, sizeof(err));
    if (!p) fail_msg("mt_prov_extract: %s", err);
    checked(p);
    return p;
}

/* Adds part into *acc and frees part. */
static void add(mt_prov **acc, mt_prov *part) {
    if (mt_prov_add(acc, part, err, sizeof(err))) fail_msg("mt_prov_add: %s", err);
    mt_prov_free(part);
    checked(*acc);
}

/* A batch extracted in cc holding mg of el, reclassified to cls (NONE: not). */
static mt_prov *piece(const char *cc, const char *el, uint64_t mg, mt_prov_class cls) {
    mt_prov *p = extract(cc, mg, el, mg, NULL, 0);
    if (cls != NONE) mt_prov_reclassify(p, cls);
    return p;
}

static void take(const mt_prov *b, uint64_t mg, mt_prov **taken, mt_prov **left) {
    if (mt_prov_take(b, mg, taken, left, err, sizeof(err))) fail_msg("mt_prov_take: %s", err);
    if (taken) checked(*taken);
    if (left) checked(*left);
}

/* ---- events, for mt_prov_apply(): a builder whose pointers point into itself ---- */

typedef struct evb {
    Mintrace__V1__BatchEvent ev;
    Mintrace__V1__Site site;
    Mintrace__V1__BatchInput in[4], *inp[4];
    Mintrace__V1__BatchOutput out[4], *outp[4];
    els oel[4];
    Mintrace__V1__UntrackedInput un[2], *unp[2];
    els uel[2];
    Mintrace__V1__RecycleDetail rec;
    els fel;
    mt_prov_input pin[4];
} evb;

static void evb_init(evb *b, Mintrace__V1__EventKind kind, const char *country) {
    memset(b, 0, sizeof(*b));
    mintrace__v1__batch_event__init(&b->ev);
    mintrace__v1__site__init(&b->site);
    b->site.country = (char *)country;
    b->ev.site = &b->site;
    b->ev.kind = kind;
    b->ev.inputs = b->inp;
    b->ev.outputs = b->outp;
    b->ev.untracked_inputs = b->unp;
}

static void evb_in(evb *b, const mt_prov *batch, uint64_t mg, mt_prov_recycle rc) {
    size_t i = b->ev.n_inputs++;
    mintrace__v1__batch_input__init(&b->in[i]);
    b->in[i].batch_id = "B";
    b->in[i].mass_mg = mg;
    b->inp[i] = &b->in[i];
    b->pin[i] = (mt_prov_input){batch, rc};
}

static void evb_out(evb *b, uint64_t mass, const char *s1, uint64_t m1, const char *s2, uint64_t m2) {
    size_t i = b->ev.n_outputs++;
    mintrace__v1__batch_output__init(&b->out[i]);
    b->out[i].batch_id = "O";
    b->out[i].material = "m";
    b->out[i].mass_mg = mass;
    els2(&b->oel[i], s1, m1, s2, m2);
    b->out[i].elements = b->oel[i].p;
    b->out[i].n_elements = b->oel[i].n;
    b->outp[i] = &b->out[i];
}

static void evb_untracked(evb *b, uint64_t mass, const char *s1, uint64_t m1) {
    size_t i = b->ev.n_untracked_inputs++;
    mintrace__v1__untracked_input__init(&b->un[i]);
    b->un[i].material = "bought";
    b->un[i].mass_mg = mass;
    els2(&b->uel[i], s1, m1, NULL, 0);
    b->un[i].elements = b->uel[i].p;
    b->un[i].n_elements = b->uel[i].n;
    b->unp[i] = &b->un[i];
}

/* RECYCLE detail; s1 NULL for tracked feedstock only. */
static void evb_recycle(evb *b, Mintrace__V1__FeedstockClass fc, uint64_t mass, const char *s1, uint64_t m1) {
    mintrace__v1__recycle_detail__init(&b->rec);
    b->rec.feedstock = fc;
    if (s1) {
        els2(&b->fel, s1, m1, NULL, 0);
        b->rec.untracked_feedstock = b->fel.p;
        b->rec.n_untracked_feedstock = b->fel.n;
        b->rec.untracked_feedstock_mass_mg = mass;
    }
    b->ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE;
    b->ev.recycle = &b->rec;
}

/* Applies the event; left[] and out[] get the results, each checked. */
static void run(evb *b, mt_prov **left, mt_prov **out) {
    if (mt_prov_apply(&b->ev, b->pin, left, out, err, sizeof(err))) fail_msg("mt_prov_apply: %s", err);
    for (size_t i = 0; i < b->ev.n_inputs; i++) checked(left[i]);
    for (size_t j = 0; j < b->ev.n_outputs; j++) checked(out[j]);
}

static void free_n(mt_prov **v, size_t n) {
    for (size_t i = 0; i < n; i++) mt_prov_free(v[i]);
}

/* ======================= the rounding rule (docs/accounting.md section 2) ======================= */

/* R2: 1,000 mg holding Nd 333, taken 500 + 500, gives 167 + 166 = 333. */
static void test_rounding_take_half_twice(void **state) {
    (void)state;
    mt_prov *b = extract("IN", 1000, "Nd", 333, NULL, 0), *t1, *l1, *t2, *l2;
    assert_int_equal(mt_prov_share(333, 500, 1000), 167);
    take(b, 500, &t1, &l1);
    assert_int_equal(TOTAL(t1, "Nd"), 167);
    assert_int_equal(t1->mass_mg, 500);
    assert_int_equal(TOTAL(l1, "Nd"), 166);
    assert_int_equal(l1->mass_mg, 500);
    take(l1, 500, &t2, &l2);
    assert_int_equal(TOTAL(t2, "Nd"), 166);
    assert_int_equal(l2->mass_mg, 0);
    assert_int_equal(l2->n, 0);
    /* the parts give back exactly the whole */
    mt_prov *sum = NULL;
    add(&sum, t1);
    add(&sum, t2);
    add(&sum, l2);
    assert_true(mt_prov_equal(sum, b));
    mt_prov_free(sum);
    mt_prov_free(l1);
    mt_prov_free(b);
}

/* R1: cutting 2 of Nd BR 1 + IN 2 gives BR 1, IN 1 (largest remainder: BR's 2/3 beats IN's 1/3). */
static void test_rounding_cut_largest_remainder(void **state) {
    (void)state;
    mt_prov *b = piece("BR", "Nd", 1, NONE), *t, *l;
    add(&b, piece("IN", "Nd", 2, NONE));
    assert_int_equal(b->mass_mg, 3);
    take(b, 2, &t, &l);
    assert_int_equal(EXT(t, "Nd", "BR"), 1);
    assert_int_equal(EXT(t, "Nd", "IN"), 1);
    assert_int_equal(EXT(l, "Nd", "BR"), 0);
    assert_int_equal(EXT(l, "Nd", "IN"), 1);
    free_n((mt_prov *[]){b, t, l}, 3);
}

/* R1 tie: cutting 1 of BR 1 + IN 1 gives BR, the earlier cell in canonical order. */
static void test_rounding_tie_goes_to_earlier_cell(void **state) {
    (void)state;
    mt_prov *b = piece("IN", "Nd", 1, NONE), *t, *l;
    add(&b, piece("BR", "Nd", 1, NONE));
    take(b, 1, &t, &l);
    assert_int_equal(EXT(t, "Nd", "BR"), 1);
    assert_int_equal(EXT(l, "Nd", "IN"), 1);
    free_n((mt_prov *[]){b, t, l}, 3);
}

/* R3: pool BR 3 + IN 7 over A (5) and B (3): A = BR 2, IN 3; B = BR 1, IN 2; loss IN 2. */
static void test_split_cuts_in_order(void **state) {
    (void)state;
    mt_prov *pool = piece("BR", "Nd", 3, NONE), *parts[2], *loss;
    add(&pool, piece("IN", "Nd", 7, NONE));
    els a, b;
    mt_prov_output out[2] = {{5, els2(&a, "Nd", 5, NULL, 0)->p, 1}, {3, els2(&b, "Nd", 3, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(pool, out, 2, parts, &loss, err, sizeof(err)), 0);
    checked(parts[0]);
    checked(parts[1]);
    checked(loss);
    assert_int_equal(EXT(parts[0], "Nd", "BR"), 2);
    assert_int_equal(EXT(parts[0], "Nd", "IN"), 3);
    assert_int_equal(EXT(parts[1], "Nd", "BR"), 1);
    assert_int_equal(EXT(parts[1], "Nd", "IN"), 2);
    assert_int_equal(EXT(loss, "Nd", "BR"), 0);
    assert_int_equal(EXT(loss, "Nd", "IN"), 2);
    assert_int_equal(loss->mass_mg, 2);
    free_n((mt_prov *[]){pool, parts[0], parts[1], loss}, 4);
}

/* Cells, not lists: 1 mg pre-consumer + 1 mg untracked, take 1: never both claims in 1 mg. */
static void test_cells_keep_lists_consistent(void **state) {
    (void)state;
    els e;
    mt_prov *b = piece("IN", "Nd", 1, PREC), *t, *l;
    add(&b, mt_prov_untracked(1, els2(&e, "Nd", 1, NULL, 0)->p, 1, err, sizeof(err)));
    take(b, 1, &t, &l);
    assert_int_equal(TOTAL(t, "Nd"), 1);
    assert_true(PRE(t, "Nd") + UNTRACKED(t, "Nd") <= TOTAL(t, "Nd"));
    assert_true(PRE(l, "Nd") + UNTRACKED(l, "Nd") <= TOTAL(l, "Nd"));
    /* the tie goes to the earlier cell: not recycled (XU) before pre-consumer */
    assert_int_equal(UNTRACKED(t, "Nd"), 1);
    assert_int_equal(PRE(l, "Nd"), 1);
    free_n((mt_prov *[]){b, t, l}, 3);
}

/* ======================= decisions (docs/accounting.md section 4) ======================= */

/* D1: swarf fed back into the maker's own MANUFACTURE stays not recycled. */
static void test_in_process_scrap_not_recycled(void **state) {
    (void)state;
    mt_prov *swarf = extract("IN", 400, "Nd", 125, NULL, 0), *ox = extract("IN", 1050, "Nd", 900, NULL, 0);
    mt_prov *l[2], *o[1];
    evb b;
    evb_init(&b, KIND(MANUFACTURE), "IN");
    evb_in(&b, swarf, 400, MT_PROV_RECYCLE_UNSET);
    evb_in(&b, ox, 1050, MT_PROV_RECYCLE_UNSET);
    evb_out(&b, 1300, "Nd", 1000, NULL, 0);
    run(&b, l, o);
    assert_int_equal(TOTAL(o[0], "Nd"), 1000);
    assert_int_equal(PRE(o[0], "Nd") + POST(o[0], "Nd"), 0);
    free_n((mt_prov *[]){swarf, ox, l[0], l[1], o[0]}, 5);
}

/* D1: the recycler's own residue fed into its next RECYCLE keeps its class (KEEP). */
static void test_recycler_residue_keeps_class(void **state) {
    (void)state;
    mt_prov *o[2], *o2[1], *l2[1], *o3[1], *l3[1];
    evb b;
    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(UNTRACKED_POST_CONSUMER), 1000, "Nd", 250);
    evb_out(&b, 230, "Nd", 200, NULL, 0); /* REC-P */
    evb_out(&b, 300, "Nd", 40, NULL, 0);  /* RES-P */
    run(&b, NULL, o);
    assert_int_equal(POST(o[0], "Nd"), 200);
    assert_int_equal(EXT(o[0], "Nd", MT_PROV_RECOVERED), 200);
    assert_int_equal(PROC(o[0], "Nd", "IN"), 200);
    assert_int_equal(UNTRACKED(o[0], "Nd"), 0);
    assert_int_equal(POST(o[1], "Nd"), 40);

    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, o[1], 300, MT_PROV_RECYCLE_KEEP);
    evb_out(&b, 40, "Nd", 36, NULL, 0); /* REC-P2 */
    run(&b, l2, o2);
    assert_int_equal(POST(o2[0], "Nd"), 36);
    assert_int_equal(PRE(o2[0], "Nd"), 0);

    /* what the "tracked scrap is pre-consumer" rule would have made of it */
    b.pin[0].recycle = MT_PROV_RECYCLE_PRE;
    run(&b, l3, o3);
    assert_int_equal(PRE(o3[0], "Nd"), 36);
    assert_int_equal(POST(o3[0], "Nd"), 0);
    free_n((mt_prov *[]){o[0], o[1], o2[0], l2[0], o3[0], l3[0]}, 6);
}

/* D2: RECYCLE resets the class: post-consumer swarf comes back pre-consumer, a pre-consumer
 * magnet back from an end user post-consumer; extraction is kept. */
static void test_recycle_resets_class(void **state) {
    (void)state;
    mt_prov *swarf = piece("IN", "Nd", 40, POSTC), *mag = piece("IN", "Nd", 30, PREC), *l[1], *o[1];
    add(&swarf, piece("IN", "Nd", 60, NONE));
    add(&mag, piece("IN", "Nd", 70, NONE));
    evb b;
    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, swarf, 100, MT_PROV_RECYCLE_PRE);
    evb_out(&b, 95, "Nd", 90, NULL, 0);
    run(&b, l, o);
    assert_int_equal(PRE(o[0], "Nd"), 90);
    assert_int_equal(POST(o[0], "Nd"), 0);
    assert_int_equal(EXT(o[0], "Nd", "IN"), 90);
    free_n((mt_prov *[]){l[0], o[0]}, 2);

    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, mag, 100, MT_PROV_RECYCLE_POST);
    evb_out(&b, 95, "Nd", 90, NULL, 0);
    run(&b, l, o);
    assert_int_equal(POST(o[0], "Nd"), 90);
    assert_int_equal(PRE(o[0], "Nd"), 0);
    free_n((mt_prov *[]){swarf, mag, l[0], o[0]}, 4);
}

/* D3: recovered from tracked scrap keeps its mine (IN); from untracked feedstock, XR. */
static void test_recovered_origin(void **state) {
    (void)state;
    mt_prov *swarf = extract("IN", 400, "Nd", 125, NULL, 0), *l[1], *o[1], *op[1];
    evb b;
    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, swarf, 400, MT_PROV_RECYCLE_PRE);
    evb_out(&b, 120, "Nd", 100, NULL, 0); /* REC-1 */
    run(&b, l, o);
    assert_int_equal(EXT(o[0], "Nd", "IN"), 100);
    assert_int_equal(PRE(o[0], "Nd"), 100);
    assert_int_equal(PROC(o[0], "Nd", "IN"), 100);

    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(UNTRACKED_POST_CONSUMER), 1000, "Nd", 250);
    evb_out(&b, 230, "Nd", 200, NULL, 0); /* REC-P */
    run(&b, NULL, op);
    assert_int_equal(EXT(op[0], "Nd", MT_PROV_RECOVERED), 200);
    assert_int_equal(POST(op[0], "Nd"), 200);
    assert_int_equal(UNTRACKED(op[0], "Nd"), 0);
    free_n((mt_prov *[]){swarf, l[0], o[0], op[0]}, 4);
}

/* D4: mined in BR (processed BR), refined in EE (EE), magnet made in JP (still EE); iron XU. */
static void test_processing_is_last_processing_step(void **state) {
    (void)state;
    mt_prov *ore = extract("BR", 1000, "Nd", 100, NULL, 0), *l[1], *ox[1], *l2[1], *mag[1];
    assert_int_equal(PROC(ore, "Nd", "BR"), 100);
    evb b;
    evb_init(&b, KIND(PROCESS), "EE");
    evb_in(&b, ore, 1000, MT_PROV_RECYCLE_UNSET);
    evb_out(&b, 105, "Nd", 90, NULL, 0);
    run(&b, l, ox);
    assert_int_equal(PROC(ox[0], "Nd", "EE"), 90);
    assert_int_equal(EXT(ox[0], "Nd", "BR"), 90);

    evb_init(&b, KIND(MANUFACTURE), "JP");
    evb_in(&b, ox[0], 105, MT_PROV_RECYCLE_UNSET);
    evb_untracked(&b, 300, "Fe", 300);
    evb_out(&b, 380, "Nd", 80, "Fe", 290);
    run(&b, l2, mag);
    assert_int_equal(PROC(mag[0], "Nd", "EE"), 80);
    assert_int_equal(PROC(mag[0], "Nd", "JP"), 0);
    assert_int_equal(EXT(mag[0], "Nd", "BR"), 80);
    assert_int_equal(PROC(mag[0], "Fe", MT_PROV_UNTRACKED), 290);
    free_n((mt_prov *[]){ore, l[0], ox[0], l2[0], mag[0]}, 5);
}

/* D5: untracked iron enters XU and not recycled; recycled with the swarf it becomes pre-consumer
 * and stays untracked; an untracked reagent of the RECYCLE itself stays not recycled. */
static void test_untracked_inputs(void **state) {
    (void)state;
    mt_prov *ox = extract("IN", 2100, "Nd", 1800, NULL, 0), *l[1], *o[2], *l2[1], *o2[2], *l3[1], *o3[1];
    evb b;
    evb_init(&b, KIND(MANUFACTURE), "IN");
    evb_in(&b, ox, 1050, MT_PROV_RECYCLE_UNSET);
    evb_untracked(&b, 2000, "Fe", 2000);
    evb_out(&b, 2300, "Nd", 750, "Fe", 1600); /* MAG-1 */
    evb_out(&b, 400, "Nd", 125, "Fe", 200);   /* SWARF-1 */
    run(&b, l, o);
    assert_int_equal(UNTRACKED(o[0], "Fe"), 1600);
    assert_int_equal(EXT(o[0], "Fe", MT_PROV_UNTRACKED), 1600);
    assert_int_equal(PROC(o[0], "Fe", MT_PROV_UNTRACKED), 1600);
    assert_int_equal(PRE(o[0], "Fe") + POST(o[0], "Fe"), 0);

    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, o[1], 400, MT_PROV_RECYCLE_PRE);
    evb_out(&b, 120, "Nd", 100, NULL, 0); /* REC-1 */
    evb_out(&b, 190, "Fe", 180, NULL, 0); /* IRON-1 */
    run(&b, l2, o2);
    assert_int_equal(TOTAL(o2[1], "Fe"), 180);
    assert_int_equal(PRE(o2[1], "Fe"), 180);
    assert_int_equal(UNTRACKED(o2[1], "Fe"), 180);
    assert_int_equal(PROC(o2[1], "Fe", "IN"), 180);

    /* a reagent holding Nd 25 added to the recycling of Nd 125: 120 out = 100 pre + 20 untracked */
    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, o[1], 400, MT_PROV_RECYCLE_PRE);
    evb_untracked(&b, 50, "Nd", 25);
    evb_out(&b, 140, "Nd", 120, NULL, 0);
    run(&b, l3, o3);
    assert_int_equal(PRE(o3[0], "Nd"), 100);
    assert_int_equal(UNTRACKED(o3[0], "Nd"), 20);
    assert_int_equal(CELL(o3[0], "Nd", NONE, MT_PROV_UNTRACKED, "IN"), 20);
    free_n((mt_prov *[]){ox, l[0], o[0], o[1], l2[0], o2[0], o2[1], l3[0], o3[0]}, 9);
}

/* D6: outputs declaring 603 + 402 of a 1,000 pool: 600 + 3 XA and 400 + 2 XA; XA stays XA. */
static void test_tolerance_is_unattributed(void **state) {
    (void)state;
    mt_prov *pool = extract("IN", 1000, "Nd", 1000, NULL, 0), *parts[2], *loss;
    els a, b;
    mt_prov_output out[2] = {{700, els2(&a, "Nd", 603, NULL, 0)->p, 1}, {470, els2(&b, "Nd", 402, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(pool, out, 2, parts, &loss, err, sizeof(err)), 0);
    checked(parts[0]);
    checked(parts[1]);
    assert_int_equal(TOTAL(parts[0], "Nd"), 603);
    assert_int_equal(EXT(parts[0], "Nd", "IN"), 600);
    assert_int_equal(EXT(parts[0], "Nd", MT_PROV_UNATTRIBUTED), 3);
    assert_int_equal(PROC(parts[0], "Nd", "IN"), 600);
    assert_int_equal(PROC(parts[0], "Nd", MT_PROV_UNATTRIBUTED), 3);
    assert_int_equal(UNATTR(parts[0], "Nd"), 3);
    assert_int_equal(EXT(parts[1], "Nd", "IN"), 400);
    assert_int_equal(UNATTR(parts[1], "Nd"), 2);
    assert_int_equal(loss->n, 0);
    assert_int_equal(loss->mass_mg, 0);
    /* downstream: processed elsewhere, recycled: the 3 mg stay unattributed, not recycled */
    assert_int_equal(mt_prov_set_processing(parts[0], "CN", err, sizeof(err)), 0);
    mt_prov_reclassify(parts[0], PREC);
    checked(parts[0]);
    assert_int_equal(PROC(parts[0], "Nd", "CN"), 600);
    assert_int_equal(PROC(parts[0], "Nd", MT_PROV_UNATTRIBUTED), 3);
    assert_int_equal(PRE(parts[0], "Nd"), 600);
    free_n((mt_prov *[]){pool, parts[0], parts[1], loss}, 4);
}

/* D8: a magnet made of 30 % pre-consumer oxide is 30 % pre-consumer. */
static void test_recycled_share_propagates(void **state) {
    (void)state;
    mt_prov *ox = extract("IN", 360, "Nd", 300, NULL, 0), *l[1], *o[1];
    mt_prov_reclassify(ox, PREC);
    add(&ox, extract("IN", 840, "Nd", 700, NULL, 0));
    assert_int_equal(ox->mass_mg, 1200);
    evb b;
    evb_init(&b, KIND(MANUFACTURE), "IN");
    evb_in(&b, ox, 1200, MT_PROV_RECYCLE_UNSET);
    evb_out(&b, 1000, "Nd", 900, NULL, 0);
    run(&b, l, o);
    assert_int_equal(PRE(o[0], "Nd"), 270);
    free_n((mt_prov *[]){ox, l[0], o[0]}, 3);
}

/* D9: 10,000 mg sent, 9,990 received: 1 mg Nd lost in transit. TRANSFER changes nothing. */
static void test_transit_loss(void **state) {
    (void)state;
    mt_prov *ore = extract("BR", 10000, "Nd", 1000, NULL, 0), *moving[1], *got[1];
    evb b;
    evb_init(&b, KIND(TRANSFER), "BR");
    evb_in(&b, ore, 10000, MT_PROV_RECYCLE_UNSET);
    run(&b, moving, NULL);
    assert_true(mt_prov_equal(moving[0], ore));
    evb_init(&b, KIND(RECEIVE), "IN");
    evb_in(&b, moving[0], 9990, MT_PROV_RECYCLE_UNSET);
    run(&b, got, NULL);
    assert_int_equal(got[0]->mass_mg, 9990);
    assert_int_equal(TOTAL(got[0], "Nd"), 999);
    free_n((mt_prov *[]){ore, moving[0], got[0]}, 3);
}

/* D9: a CORRECTION gives a take back: the batch is byte for byte what it was. */
static void test_correction_gives_takes_back(void **state) {
    (void)state;
    mt_prov *b = extract("IN", 1000, "Nd", 333, NULL, 0), *t, *l;
    take(b, 500, &t, &l);
    assert_int_equal(TOTAL(t, "Nd"), 167);
    add(&l, t);
    assert_true(mt_prov_equal(l, b));
    free_n((mt_prov *[]){b, l}, 2);
}

/* M3: credits earned are the recycled mass the proportional split gives the outputs: 180, not
 * 200 (the 20 mg lost with the process loss earn nothing). */
static void test_mass_balance_credit_net_of_losses(void **state) {
    (void)state;
    mt_prov *ox = piece("IN", "Nd", 200, PREC), *parts[2], *loss;
    add(&ox, piece("IN", "Nd", 800, NONE));
    els a, b;
    mt_prov_output out[2] = {{500, els2(&a, "Nd", 450, NULL, 0)->p, 1}, {500, els2(&b, "Nd", 450, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(ox, out, 2, parts, &loss, err, sizeof(err)), 0);
    assert_int_equal(PRE(parts[0], "Nd"), 90);
    assert_int_equal(PRE(parts[1], "Nd"), 90);
    assert_int_equal(PRE(parts[0], "Nd") + PRE(parts[1], "Nd"), 180);
    assert_int_equal(PRE(loss, "Nd"), 20);
    free_n((mt_prov *[]){ox, parts[0], parts[1], loss}, 4);
}

/* ======================= the two chains (docs/accounting.md section 5) ======================= */

/* Mine (IN) -> refiner (IN) -> magnet maker (IN) -> recycler (IN, pre-consumer swarf) -> magnet
 * maker again: MAG-2 is Nd 800 with 80 pre-consumer, all extracted and processed in IN. */
static void test_closed_loop_in(void **state) {
    (void)state;
    evb b;
    mt_prov *ore[1], *ore_l[1], *ox1[1], *l3[1], *o3[2], *moving[1], *got[1], *l4[1], *rec1[1], *l5[2], *o5[2];

    /* 1 EXTRACT */
    evb_init(&b, KIND(EXTRACT), "IN");
    evb_out(&b, 20000, "Nd", 2000, NULL, 0);
    run(&b, NULL, ore);
    assert_int_equal(CELL(ore[0], "Nd", NONE, "IN", "IN"), 2000);

    /* 2 PROCESS */
    evb_init(&b, KIND(PROCESS), "IN");
    evb_in(&b, ore[0], 20000, MT_PROV_RECYCLE_UNSET);
    evb_out(&b, 2100, "Nd", 1800, NULL, 0);
    run(&b, ore_l, ox1);
    assert_int_equal(ore_l[0]->mass_mg, 0);
    assert_int_equal(ore_l[0]->n, 0);
    assert_int_equal(CELL(ox1[0], "Nd", NONE, "IN", "IN"), 1800);

    /* 3 MANUFACTURE: 1,050 mg of OX-1 (Nd 900) + 2,000 mg untracked iron -> MAG-1, SWARF-1 */
    evb_init(&b, KIND(MANUFACTURE), "IN");
    evb_in(&b, ox1[0], 1050, MT_PROV_RECYCLE_UNSET);
    evb_untracked(&b, 2000, "Fe", 2000);
    evb_out(&b, 2300, "Nd", 750, "Fe", 1600);
    evb_out(&b, 400, "Nd", 125, "Fe", 200);
    run(&b, l3, o3);
    assert_int_equal(l3[0]->mass_mg, 1050);
    assert_int_equal(TOTAL(l3[0], "Nd"), 900);
    assert_int_equal(CELL(o3[0], "Nd", NONE, "IN", "IN"), 750);
    assert_int_equal(CELL(o3[0], "Fe", NONE, MT_PROV_UNTRACKED, MT_PROV_UNTRACKED), 1600);
    assert_int_equal(CELL(o3[1], "Nd", NONE, "IN", "IN"), 125);

    /* 4 SWARF-1 to the recycler, then RECYCLE as pre-consumer scrap -> REC-1 */
    evb_init(&b, KIND(TRANSFER), "IN");
    evb_in(&b, o3[1], 400, MT_PROV_RECYCLE_UNSET);
    run(&b, moving, NULL);
    evb_init(&b, KIND(RECEIVE), "IN");
    evb_in(&b, moving[0], 400, MT_PROV_RECYCLE_UNSET);
    run(&b, got, NULL);
    assert_true(mt_prov_equal(got[0], o3[1]));
    evb_init(&b, KIND(RECYCLE), "IN");
    evb_recycle(&b, FEED(TRACKED), 0, NULL, 0);
    evb_in(&b, got[0], 400, MT_PROV_RECYCLE_PRE);
    evb_out(&b, 120, "Nd", 100, NULL, 0);
    run(&b, l4, rec1);
    assert_int_equal(TOTAL(rec1[0], "Nd"), 100);
    assert_int_equal(CELL(rec1[0], "Nd", PREC, "IN", "IN"), 100);
    assert_int_equal(TOTAL(rec1[0], "Fe"), 0);

    /* 5 MANUFACTURE: REC-1 + the rest of OX-1 + 2,000 mg untracked iron -> MAG-2, SWARF-2 */
    evb_init(&b, KIND(MANUFACTURE), "IN");
    evb_in(&b, rec1[0], 120, MT_PROV_RECYCLE_UNSET);
    evb_in(&b, l3[0], 1050, MT_PROV_RECYCLE_UNSET);
    evb_untracked(&b, 2000, "Fe", 2000);
    evb_out(&b, 2500, "Nd", 800, "Fe", 1700);
    evb_out(&b, 450, "Nd", 150, "Fe", 200);
    run(&b, l5, o5);
    mt_prov *mag2 = o5[0], *swarf2 = o5[1];
    assert_int_equal(TOTAL(mag2, "Nd"), 800);
    assert_int_equal(CELL(mag2, "Nd", NONE, "IN", "IN"), 720);
    assert_int_equal(CELL(mag2, "Nd", PREC, "IN", "IN"), 80);
    assert_int_equal(PRE(mag2, "Nd"), 80);
    assert_int_equal(POST(mag2, "Nd"), 0);
    assert_int_equal(EXT(mag2, "Nd", "IN"), 800);
    assert_int_equal(PROC(mag2, "Nd", "IN"), 800);
    assert_int_equal(TOTAL(mag2, "Fe"), 1700);
    assert_int_equal(UNTRACKED(mag2, "Fe"), 1700);
    assert_int_equal(PROC(mag2, "Fe", MT_PROV_UNTRACKED), 1700);
    assert_int_equal(CELL(swarf2, "Nd", NONE, "IN", "IN"), 135);
    assert_int_equal(CELL(swarf2, "Nd", PREC, "IN", "IN"), 15);
    assert_int_equal(l5[0]->mass_mg, 0);
    assert_int_equal(l5[1]->mass_mg, 0);

    free_n((mt_prov *[]){ore[0], ore_l[0], ox1[0], l3[0], o3[0], o3[1], moving[0], got[0], l4[0], rec1[0], l5[0],
                         l5[1], mag2, swarf2},
           14);
}

/* Indian and Brazilian ore refined together in IN, a magnet made in JP: MAG-JP is Nd 850 =
 * BR 284 + IN 566, processed in IN. */
static void test_mixed_in_br(void **state) {
    (void)state;
    mt_prov *ore_in = extract("IN", 20000, "Nd", 2000, NULL, 0), *ore_br = extract("BR", 10000, "Nd", 1000, NULL, 0);
    mt_prov *pool = NULL, *t, *parts[2], *loss;

    /* 2 PROCESS in IN, with the primitives, to see the loss */
    take(ore_in, 20000, &t, NULL);
    add(&pool, t);
    take(ore_br, 10000, &t, NULL);
    add(&pool, t);
    assert_int_equal(mt_prov_set_processing(pool, "IN", err, sizeof(err)), 0);
    els a, b;
    mt_prov_output out[2] = {{2100, els2(&a, "Nd", 1800, NULL, 0)->p, 1}, {1050, els2(&b, "Nd", 900, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(pool, out, 2, parts, &loss, err, sizeof(err)), 0);
    mt_prov *oxm1 = parts[0], *oxm2 = parts[1];
    assert_int_equal(EXT(oxm1, "Nd", "BR"), 600);
    assert_int_equal(EXT(oxm1, "Nd", "IN"), 1200);
    assert_int_equal(EXT(oxm2, "Nd", "BR"), 300);
    assert_int_equal(EXT(oxm2, "Nd", "IN"), 600);
    assert_int_equal(EXT(loss, "Nd", "BR"), 100);
    assert_int_equal(EXT(loss, "Nd", "IN"), 200);
    assert_int_equal(PROC(oxm1, "Nd", "IN"), 1800);
    assert_int_equal(PROC(oxm1, "Nd", "BR"), 0);

    /* the take of 1,000 mg: 857 = BR 286 + IN 571; OX-M1 keeps 943 = BR 314 + IN 629 */
    mt_prov *tk, *kept;
    take(oxm1, 1000, &tk, &kept);
    assert_int_equal(EXT(tk, "Nd", "BR"), 286);
    assert_int_equal(EXT(tk, "Nd", "IN"), 571);
    assert_int_equal(EXT(kept, "Nd", "BR"), 314);
    assert_int_equal(EXT(kept, "Nd", "IN"), 629);
    assert_int_equal(kept->mass_mg, 1100);

    /* 3 MANUFACTURE in JP, as the aggregator would run it */
    mt_prov *l[1], *mag[1];
    evb e;
    evb_init(&e, KIND(MANUFACTURE), "JP");
    evb_in(&e, oxm1, 1000, MT_PROV_RECYCLE_UNSET);
    evb_untracked(&e, 1500, "Fe", 1500);
    evb_out(&e, 2300, "Nd", 850, "Fe", 1400);
    run(&e, l, mag);
    assert_true(mt_prov_equal(l[0], kept));
    assert_int_equal(TOTAL(mag[0], "Nd"), 850);
    assert_int_equal(EXT(mag[0], "Nd", "BR"), 284);
    assert_int_equal(EXT(mag[0], "Nd", "IN"), 566);
    assert_int_equal(PROC(mag[0], "Nd", "IN"), 850);
    assert_int_equal(PROC(mag[0], "Nd", "JP"), 0);
    assert_int_equal(PRE(mag[0], "Nd") + POST(mag[0], "Nd"), 0);
    assert_int_equal(UNTRACKED(mag[0], "Fe"), 1400);

    /* and the JP loss, with the primitives: BR 2, IN 5 */
    mt_prov *jp_pool = mt_prov_clone(tk), *jp_parts[1], *jp_loss;
    els m;
    mt_prov_output jp_out[1] = {{2300, els2(&m, "Nd", 850, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(jp_pool, jp_out, 1, jp_parts, &jp_loss, err, sizeof(err)), 0);
    assert_int_equal(EXT(jp_loss, "Nd", "BR"), 2);
    assert_int_equal(EXT(jp_loss, "Nd", "IN"), 5);
    assert_int_equal(EXT(jp_parts[0], "Nd", "BR"), 284);

    free_n((mt_prov *[]){ore_in, ore_br, pool, oxm1, oxm2, loss, tk, kept, l[0], mag[0], jp_pool, jp_parts[0],
                         jp_loss},
           13);
}

/* ======================= publishing ======================= */

/* A batch with elements and countries out of order, tolerance and untracked mass. */
static mt_prov *sample_batch(void) {
    els e;
    mt_prov *p = piece("IN", "Pr", 50, NONE);
    add(&p, piece("IN", "Nd", 566, NONE));
    add(&p, piece("BR", "Nd", 284, PREC));
    add(&p, mt_prov_untracked(1400, els2(&e, "Fe", 1400, "B", 20)->p, 2, err, sizeof(err)));
    add(&p, mt_prov_feedstock(POSTC, 30, els2(&e, "Nd", 30, NULL, 0)->p, 1, err, sizeof(err)));
    assert_int_equal(mt_prov_set_processing(p, "CN", err, sizeof(err)), 0);
    /* 5 mg of Nd unattributed, the way it arises: an output declaring more than the pool */
    mt_prov *none = mt_prov_new(0), *xa[1];
    mt_prov_output o[1] = {{5, els2(&e, "Nd", 5, NULL, 0)->p, 1}};
    assert_int_equal(mt_prov_split(none, o, 1, xa, NULL, err, sizeof(err)), 0);
    add(&p, xa[0]);
    mt_prov_free(none);
    return p;
}

static uint64_t list_sum(Mintrace__V1__CountryMass **l, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        s += l[i]->mass_mg;
        assert_true(l[i]->mass_mg > 0);
        if (i) assert_true(strcmp(l[i - 1]->country, l[i]->country) < 0);
    }
    return s;
}

/* The record: elements sorted by symbol, countries by code, every list sums to its total. */
static void test_record_sorted_and_summing(void **state) {
    (void)state;
    mt_prov *p = sample_batch();
    mt_prov_meta meta = {.batch_id = "MAG-JP", .material = "sintered-magnet", .holder_facility_id = "MAGNET-JP",
                         .ledger_index = 42, .in_transit = 1};
    Mintrace__V1__ProvenanceRecord *rec = mt_prov_record_new(p, &meta);
    assert_non_null(rec);
    assert_string_equal(rec->batch_id, "MAG-JP");
    assert_string_equal(rec->material, "sintered-magnet");
    assert_int_equal(rec->ledger_index, 42);
    assert_true(rec->in_transit);
    assert_int_equal(rec->mass_mg, p->mass_mg);
    assert_int_equal(rec->n_elements, 4);
    const char *want[] = {"B", "Fe", "Nd", "Pr"};
    for (size_t i = 0; i < rec->n_elements; i++) {
        const Mintrace__V1__ElementProvenance *ep = rec->elements[i];
        assert_string_equal(ep->element, want[i]);
        assert_int_equal(list_sum(ep->extraction, ep->n_extraction), ep->total_mg);
        assert_int_equal(list_sum(ep->processing, ep->n_processing), ep->total_mg);
        assert_true(ep->recycled_pre_consumer_mg + ep->recycled_post_consumer_mg + ep->unattributed_mg <= ep->total_mg);
    }
    const Mintrace__V1__ElementProvenance *nd = rec->elements[2];
    assert_int_equal(nd->total_mg, 566 + 284 + 30 + 5);
    assert_int_equal(nd->recycled_pre_consumer_mg, 284);
    assert_int_equal(nd->recycled_post_consumer_mg, 30);
    assert_int_equal(nd->unattributed_mg, 5);
    assert_int_equal(nd->untracked_mg, 0);
    assert_int_equal(nd->n_extraction, 4); /* BR, IN, XA, XR */
    assert_string_equal(nd->extraction[0]->country, "BR");
    assert_int_equal(nd->extraction[0]->mass_mg, 284);
    assert_string_equal(nd->extraction[1]->country, "IN");
    assert_string_equal(nd->extraction[2]->country, "XA");
    assert_string_equal(nd->extraction[3]->country, "XR");
    assert_int_equal(nd->extraction[3]->mass_mg, 30);
    assert_int_equal(nd->n_processing, 2); /* CN, XA */
    assert_int_equal(nd->processing[0]->mass_mg, 880);
    assert_int_equal(rec->elements[1]->untracked_mg, 1400);
    mt_prov_record_free(rec);

    /* an empty batch: no elements */
    mt_prov *empty = mt_prov_new(0);
    rec = mt_prov_record_new(empty, NULL);
    assert_non_null(rec);
    assert_int_equal(rec->n_elements, 0);
    assert_string_equal(rec->batch_id, "");
    mt_prov_record_free(rec);
    mt_prov_free(empty);
    mt_prov_free(p);
}

/* The commitment is SHA-256 of the serialized record; equal figures, equal commitments; one mg
 * moved from one country to another changes it. */
static void test_record_commitment(void **state) {
    (void)state;
    mt_prov *p = sample_batch(), *q = sample_batch();
    mt_prov_meta meta = {.batch_id = "MAG-JP", .ledger_index = 7};
    Mintrace__V1__ProvenanceRecord *a = mt_prov_record_new(p, &meta), *b = mt_prov_record_new(q, &meta);
    unsigned char ha[MT_HASH_LEN], hb[MT_HASH_LEN], want[MT_HASH_LEN];
    assert_int_equal(mt_prov_record_commit(a, ha), 0);
    assert_int_equal(mt_prov_record_commit(b, hb), 0);
    assert_memory_equal(ha, hb, MT_HASH_LEN);
    size_t len;
    uint8_t *bytes = mt_message_pack(&a->base, &len);
    assert_non_null(bytes);
    mt_sha256(bytes, len, want);
    assert_memory_equal(ha, want, MT_HASH_LEN);
    free(bytes);
    mt_prov_record_free(b);

    /* move 1 mg of Nd from IN to BR */
    mt_prov *tk;
    take(q, q->mass_mg, &tk, NULL);
    for (size_t i = 0; i < tk->n; i++)
        if (!strcmp(tk->cell[i].element, "Nd") && !strcmp(tk->cell[i].extraction, "IN")) tk->cell[i].mg--;
    add(&tk, piece("BR", "Nd", 1, NONE));
    tk->mass_mg = p->mass_mg;
    b = mt_prov_record_new(tk, &meta);
    assert_int_equal(mt_prov_record_commit(b, hb), 0);
    assert_memory_not_equal(ha, hb, MT_HASH_LEN);
    mt_prov_record_free(a);
    mt_prov_record_free(b);
    free_n((mt_prov *[]){p, q, tk}, 3);
}

/* ======================= random takes and splits ======================= */

static uint64_t rng_state;

/* splitmix64: a fixed seed, the same sequence on every machine. */
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) {
    return n ? rnd() % n : 0;
}

/* A mass of a random magnitude: a few mg up to 2^50. */
static uint64_t rnd_mass(void) {
    static const uint64_t top[] = {4, 100, 100000, 1ULL << 32, 1ULL << 50};
    return below(top[below(5)]);
}

static const char *const ELS[] = {"B", "Dy", "Fe", "Nd", "Pr"};
static const char *const CCS[] = {"BR", "CN", "IN", "MM"};

/* A random cell of a reachable kind: mined (any class, any processing), untracked (any class,
 * processed XU or somewhere), recovered from outside (recycled), or unattributed. */
static mt_prov *rnd_cell(void) {
    const char *el = ELS[below(5)];
    uint64_t mg = rnd_mass() + 1;
    els e;
    els2(&e, el, mg, NULL, 0);
    mt_prov *p = NULL;
    switch (below(6)) {
    case 0:
    case 1:
    case 2: p = mt_prov_extract(CCS[below(4)], mg, e.p, 1, err, sizeof(err)); break;
    case 3: p = mt_prov_untracked(mg, e.p, 1, err, sizeof(err)); break;
    case 4: p = mt_prov_feedstock(below(2) ? PREC : POSTC, mg, e.p, 1, err, sizeof(err)); break;
    default: {
        mt_prov *none = mt_prov_new(0);
        mt_prov_output o[1] = {{mg, e.p, 1}};
        assert_int_equal(mt_prov_split(none, o, 1, &p, NULL, err, sizeof(err)), 0);
        mt_prov_free(none);
        return p;
    }
    }
    assert_non_null(p);
    if (below(2)) mt_prov_reclassify(p, below(2) ? PREC : POSTC);
    if (below(2)) assert_int_equal(mt_prov_set_processing(p, CCS[below(4)], err, sizeof(err)), 0);
    return p;
}

static mt_prov *rnd_batch(void) {
    mt_prov *b = mt_prov_new(0);
    for (size_t k = 1 + below(10); k; k--) add(&b, rnd_cell());
    if (below(3) == 0) b->mass_mg = rnd_mass(); /* a mass unrelated to its element content */
    return b;
}

/* Takes random parts until nothing is left: the parts always add up to the batch exactly, each
 * take's element content is mt_prov_share() of what the batch held then. */
static void random_takes(const mt_prov *batch) {
    mt_prov *cur = mt_prov_clone(batch), *sum = mt_prov_new(0);
    for (int round = 0; cur->mass_mg && round < 8; round++) {
        uint64_t m = round == 7 || below(4) == 0 ? cur->mass_mg : below(cur->mass_mg + 1);
        mt_prov *t, *l;
        take(cur, m, &t, &l);
        for (size_t e = 0; e < 5; e++)
            assert_int_equal(TOTAL(t, ELS[e]), mt_prov_share(TOTAL(cur, ELS[e]), m, cur->mass_mg));
        /* determinism: the same take again gives the same bytes */
        mt_prov *t2, *l2;
        take(cur, m, &t2, &l2);
        assert_true(mt_prov_equal(t, t2));
        assert_true(mt_prov_equal(l, l2));
        free_n((mt_prov *[]){t2, l2, cur}, 3);
        add(&sum, t);
        cur = l;
    }
    add(&sum, cur);
    assert_true(mt_prov_equal(sum, batch));
    mt_prov_free(sum);
}

/* Splits over random outputs: each output holds what it declares; per cell, outputs + loss ==
 * pool, except unattributed mass, which grows by exactly the declared excess. */
static void random_split(const mt_prov *pool) {
    size_t n_out = 1 + below(4);
    els decl[4];
    mt_prov_output out[4];
    for (size_t j = 0; j < n_out; j++) {
        memset(&decl[j], 0, sizeof(decl[j]));
        for (size_t e = 0; e < 5; e++) {
            if (below(3) == 0) continue;
            uint64_t have = TOTAL(pool, ELS[e]);
            /* mostly within the pool, sometimes beyond it (tolerance), sometimes from nothing */
            uint64_t d = below(4) ? below(have / n_out + 2) : below(have / n_out + have / 100 + 3);
            els_add(&decl[j], ELS[e], d);
        }
        out[j] = (mt_prov_output){rnd_mass(), decl[j].p, decl[j].n};
    }
    mt_prov *parts[4], *loss, *parts2[4], *loss2;
    assert_int_equal(mt_prov_split(pool, out, n_out, parts, &loss, err, sizeof(err)), 0);
    assert_int_equal(mt_prov_split(pool, out, n_out, parts2, &loss2, err, sizeof(err)), 0);
    checked(loss);
    assert_true(mt_prov_equal(loss, loss2));
    for (size_t j = 0; j < n_out; j++) {
        checked(parts[j]);
        assert_true(mt_prov_equal(parts[j], parts2[j]));
        assert_int_equal(parts[j]->mass_mg, out[j].mass_mg);
    }
    for (size_t e = 0; e < 5; e++) {
        const char *el = ELS[e];
        uint64_t have = TOTAL(pool, el), want = 0;
        for (size_t j = 0; j < n_out; j++) {
            uint64_t d = 0;
            for (size_t k = 0; k < decl[j].n; k++)
                if (!strcmp(decl[j].m[k].element, el)) d += decl[j].m[k].mass_mg;
            assert_int_equal(TOTAL(parts[j], el), d);
            want += d;
        }
        uint64_t excess = want > have ? want - have : 0, got_xa = UNATTR(loss, el);
        for (size_t j = 0; j < n_out; j++) got_xa += UNATTR(parts[j], el);
        assert_int_equal(got_xa, UNATTR(pool, el) + excess);
        assert_int_equal(TOTAL(loss, el), want >= have ? 0 : have - want);
    }
    for (size_t i = 0; i < pool->n; i++) { /* every other cell is conserved exactly */
        const mt_prov_cell *c = &pool->cell[i];
        if (!strcmp(c->extraction, MT_PROV_UNATTRIBUTED)) continue;
        uint64_t s = CELL(loss, c->element, c->recycled, c->extraction, c->processing);
        for (size_t j = 0; j < n_out; j++) s += CELL(parts[j], c->element, c->recycled, c->extraction, c->processing);
        assert_int_equal(s, c->mg);
    }
    /* and nothing else appeared */
    mt_prov *all = NULL;
    for (size_t j = 0; j < n_out; j++) add(&all, parts[j]);
    add(&all, loss);
    for (size_t i = 0; i < all->n; i++) {
        const mt_prov_cell *c = &all->cell[i];
        assert_true(!strcmp(c->extraction, MT_PROV_UNATTRIBUTED) ||
                    CELL(pool, c->element, c->recycled, c->extraction, c->processing) == c->mg);
    }
    mt_prov_free(all);
    free_n(parts2, n_out);
    mt_prov_free(loss2);
}

/* Property test: a few thousand random batches, takes, splits, reclassifications. */
static void test_property_random_splits(void **state) {
    (void)state;
    rng_state = 20260101;
    for (int it = 0; it < 3000; it++) {
        mt_prov *b = rnd_batch();
        checked(b);
        random_takes(b);
        random_split(b);
        /* RECYCLE and PROCESS change labels, never totals, never extraction */
        mt_prov *c = mt_prov_clone(b);
        mt_prov_reclassify(c, below(2) ? PREC : POSTC);
        assert_int_equal(mt_prov_set_processing(c, CCS[below(4)], err, sizeof(err)), 0);
        checked(c);
        for (size_t e = 0; e < 5; e++) {
            assert_int_equal(TOTAL(c, ELS[e]), TOTAL(b, ELS[e]));
            assert_int_equal(PRE(c, ELS[e]) + POST(c, ELS[e]) + UNATTR(c, ELS[e]), TOTAL(c, ELS[e]));
            for (size_t k = 0; k < 4; k++) assert_int_equal(EXT(c, ELS[e], CCS[k]), EXT(b, ELS[e], CCS[k]));
        }
        mt_prov_free(c);
        mt_prov_free(b);
    }
}

/* ======================= failures ======================= */

/* Every refusal leaves its outputs untouched and says why. */
static void test_refusals(void **state) {
    (void)state;
    mt_prov *b = extract("IN", 100, "Nd", 10, NULL, 0), *sentinel = (mt_prov *)&err, *t = sentinel, *l = sentinel;
    assert_int_equal(mt_prov_take(b, 101, &t, &l, err, sizeof(err)), -1);
    assert_ptr_equal(t, sentinel);
    assert_ptr_equal(l, sentinel);
    assert_non_null(strstr(err, "101"));

    els e;
    els2(&e, "Nd", 1, NULL, 0);
    assert_null(mt_prov_extract("XA", 1, e.p, 1, err, sizeof(err)));
    assert_null(mt_prov_extract("in", 1, e.p, 1, err, sizeof(err)));
    assert_null(mt_prov_extract("IND", 1, e.p, 1, err, sizeof(err)));
    assert_null(mt_prov_feedstock(NONE, 1, e.p, 1, err, sizeof(err)));
    assert_int_equal(mt_prov_set_processing(b, "XU", err, sizeof(err)), -1);
    els2(&e, "nd", 1, NULL, 0);
    assert_null(mt_prov_extract("IN", 1, e.p, 1, err, sizeof(err)));
    mt_prov_output o[1] = {{1, e.p, 1}};
    mt_prov *parts[1] = {sentinel};
    assert_int_equal(mt_prov_split(b, o, 1, parts, NULL, err, sizeof(err)), -1);
    assert_ptr_equal(parts[0], sentinel);

    /* O, H, C, N are not kept */
    els2(&e, "O", 50, "Nd", 5);
    mt_prov *ox = mt_prov_extract("IN", 55, e.p, 2, err, sizeof(err));
    checked(ox);
    assert_int_equal(ox->n, 1);
    mt_prov_free(ox);

    /* a sum past 2^64 leaves the accumulator as it was */
    mt_prov *big = extract("IN", UINT64_MAX, "Nd", UINT64_MAX, NULL, 0), *acc = mt_prov_clone(big);
    assert_int_equal(mt_prov_add(&acc, big, err, sizeof(err)), -1);
    assert_true(mt_prov_equal(acc, big));
    mt_prov *other = piece("BR", "Nd", 1, NONE); /* another cell, same element: the total overflows */
    other->mass_mg = 0;
    assert_int_equal(mt_prov_add(&acc, other, err, sizeof(err)), -1);
    assert_true(mt_prov_equal(acc, big));
    free_n((mt_prov *[]){big, acc, other}, 3);

    /* RECYCLE without a decided class, RECEIVE of more than was sent, CORRECTION */
    mt_prov *lv[1] = {sentinel}, *ov[1] = {sentinel};
    evb ev;
    evb_init(&ev, KIND(RECYCLE), "IN");
    evb_recycle(&ev, FEED(TRACKED), 0, NULL, 0);
    evb_in(&ev, b, 100, MT_PROV_RECYCLE_UNSET);
    evb_out(&ev, 5, "Nd", 5, NULL, 0);
    assert_int_equal(mt_prov_apply(&ev.ev, ev.pin, lv, ov, err, sizeof(err)), -1);
    assert_ptr_equal(lv[0], sentinel);
    assert_ptr_equal(ov[0], sentinel);
    evb_init(&ev, KIND(RECYCLE), "IN");
    evb_recycle(&ev, FEED(TRACKED), 10, "Nd", 5); /* untracked feedstock declared as tracked */
    evb_out(&ev, 5, "Nd", 5, NULL, 0);
    assert_int_equal(mt_prov_apply(&ev.ev, ev.pin, lv, ov, err, sizeof(err)), -1);
    evb_init(&ev, KIND(RECEIVE), "IN");
    evb_in(&ev, b, 101, MT_PROV_RECYCLE_UNSET);
    assert_int_equal(mt_prov_apply(&ev.ev, ev.pin, lv, ov, err, sizeof(err)), -1);
    evb_init(&ev, KIND(CORRECTION), "IN");
    assert_int_equal(mt_prov_apply(&ev.ev, ev.pin, lv, ov, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mt_prov_add"));
    evb_init(&ev, KIND(PROCESS), "XA");
    evb_in(&ev, b, 100, MT_PROV_RECYCLE_UNSET);
    evb_out(&ev, 5, "Nd", 5, NULL, 0);
    assert_int_equal(mt_prov_apply(&ev.ev, ev.pin, lv, ov, err, sizeof(err)), -1);
    assert_ptr_equal(lv[0], sentinel);
    mt_prov_free(b);
}

/* mt_prov_check names each broken invariant. */
static void test_check_finds_broken_invariants(void **state) {
    (void)state;
    mt_prov *p = piece("BR", "Nd", 3, NONE);
    add(&p, piece("IN", "Nd", 7, NONE));
    mt_prov *q = mt_prov_clone(p);
    mt_prov_cell c = q->cell[0];
    q->cell[0] = q->cell[1];
    q->cell[1] = c;
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1); /* order */
    memcpy(q, p, p->size);
    q->cell[0].mg = 0;
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1); /* zero cell */
    memcpy(q, p, p->size);
    memcpy(q->cell[1].extraction, "XA", 3);
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1); /* XA extraction, IN processing */
    memcpy(q->cell[1].processing, "XA", 3);
    q->cell[1].recycled = PREC;
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1); /* recycled unattributed */
    q->cell[1].recycled = NONE;
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), 0);
    memcpy(q->cell[1].element, "O", 2);
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1); /* O is not kept */
    memcpy(q, p, p->size);
    q->cell[0].reserved[2] = 1;
    assert_int_equal(mt_prov_check(q, err, sizeof(err)), -1);
    free_n((mt_prov *[]){p, q}, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_take_half_twice),
        cmocka_unit_test(test_rounding_cut_largest_remainder),
        cmocka_unit_test(test_rounding_tie_goes_to_earlier_cell),
        cmocka_unit_test(test_split_cuts_in_order),
        cmocka_unit_test(test_cells_keep_lists_consistent),
        cmocka_unit_test(test_in_process_scrap_not_recycled),
        cmocka_unit_test(test_recycler_residue_keeps_class),
        cmocka_unit_test(test_recycle_resets_class),
        cmocka_unit_test(test_recovered_origin),
        cmocka_unit_test(test_processing_is_last_processing_step),
        cmocka_unit_test(test_untracked_inputs),
        cmocka_unit_test(test_tolerance_is_unattributed),
        cmocka_unit_test(test_recycled_share_propagates),
        cmocka_unit_test(test_transit_loss),
        cmocka_unit_test(test_correction_gives_takes_back),
        cmocka_unit_test(test_mass_balance_credit_net_of_losses),
        cmocka_unit_test(test_closed_loop_in),
        cmocka_unit_test(test_mixed_in_br),
        cmocka_unit_test(test_record_sorted_and_summing),
        cmocka_unit_test(test_record_commitment),
        cmocka_unit_test(test_property_random_splits),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_check_finds_broken_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
