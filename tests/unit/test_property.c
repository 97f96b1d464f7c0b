/* test_property — properties of the ledger's provenance over random supply-chain graphs of
 * MT_PROPERTY_EVENTS events (default 100,000) driven through validate, the notary and the real
 * mt_ledger, then replayed twice from the journal entries they produced.
 *
 * The graphs are simulations (services/lib/simulate.c) with a seed, share of returns,
 * corrections and attacks drawn per graph: mines of eight countries, three separation plants,
 * two magnet makers, two recyclers, cross-border transit losses, pre-consumer swarf loops,
 * post-consumer scrap coming back, corrections and every kind of attack. For every accepted
 * event, every batch it changed is checked:
 *   P1 tracked element mass never grows except through EXTRACT, untracked feedstock, declared
 *      untracked inputs and the unattributed bucket; a CORRECTION changes it by exactly minus
 *      what the event it voids changed. Tracked mass is what the batches hold plus the exited
 *      stocks (mt_ledger_exited()): an EXIT moves mass from a batch into its stock, a tracked
 *      return moves it back out into a RECYCLE's outputs, so neither is growth, and a return
 *      that drew more than the stock gave up would show as growth;
 *   P2 recycled (pre + post) <= total, per element;
 *   P3 origin (extraction country), processing country, and buckets (recycled class; and
 *      unattributed + untracked <= total) each sum exactly to the element total, in the
 *      published record and in the cells;
 * and at the end of each graph:
 *   P4 two replays of its journal give byte-identical provenance records for every batch, the
 *      same as the live ledger's, and the same provenance root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "codec.h"
#include "journal.h"
#include "map.h"
#include "sim_pipeline.h"

#define NET "property"
#define T0 1600000000000LL
#define MAX_EL 16

typedef struct totals { /* one batch (or one change) per element, indexed by prop.sym */
    int64_t mg[MAX_EL], unattributed[MAX_EL];
} totals;

typedef struct prop { /* one graph's run */
    mt_ledger *l;
    char sym[MAX_EL][4];
    int n_sym;
    mt_map *seen;   /* batch id -> totals as of the last change the test saw */
    mt_map *deltas; /* event id -> totals: what an accepted event changed (for its CORRECTION) */
    mt_map *stocks; /* EXITed batch id -> totals of its exited stock as of the last change seen */
    uint8_t **entries;
    size_t *lens, n_entries, cap_entries;
    int64_t now;
    pipe_tally tally;
    size_t checked_batches, checked_events;
    size_t mixed_origin, mixed_recycled; /* records blending two mines' countries; recycled and not */
    int failed;
} prop;

static int sym_index(prop *p, const char *el) {
    for (int i = 0; i < p->n_sym; i++)
        if (strcmp(p->sym[i], el) == 0) return i;
    assert_true(p->n_sym < MAX_EL);
    snprintf(p->sym[p->n_sym], sizeof(p->sym[0]), "%s", el);
    return p->n_sym++;
}

static void add_elements(prop *p, int64_t *mg, Mintrace__V1__ElementMass *const *el, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (mt_prov_element_tracked(el[i]->element)) mg[sym_index(p, el[i]->element)] += (int64_t)el[i]->mass_mg;
}

/* A batch's totals now, from its cells; P3 on its cells. */
static void cell_totals(prop *p, const mt_prov *pv, totals *t) {
    memset(t, 0, sizeof(*t));
    if (!pv) return;
    int64_t cls[MAX_EL] = {0};
    for (size_t i = 0; i < pv->n; i++) {
        const mt_prov_cell *c = &pv->cell[i];
        int k = sym_index(p, c->element);
        t->mg[k] += (int64_t)c->mg;
        if (strcmp(c->extraction, "XA") == 0) t->unattributed[k] += (int64_t)c->mg;
        assert_true(c->recycled <= 2);
        cls[k] += (int64_t)c->mg;
    }
    for (int k = 0; k < p->n_sym; k++) assert_true(cls[k] == t->mg[k]);
}

/* P2 and P3 on the published record of a batch, against its cells. */
static void check_record(prop *p, const char *id, const totals *cells) {
    Mintrace__V1__ProvenanceRecord *r = mt_ledger_provenance_record(p->l, id);
    assert_non_null(r);
    int64_t seen_total = 0, cells_total = 0;
    for (size_t e = 0; e < r->n_elements; e++) {
        const Mintrace__V1__ElementProvenance *ep = r->elements[e];
        uint64_t ex = 0, pr = 0;
        for (size_t i = 0; i < ep->n_extraction; i++) ex += ep->extraction[i]->mass_mg;
        for (size_t i = 0; i < ep->n_processing; i++) pr += ep->processing[i]->mass_mg;
        assert_true(ep->recycled_pre_consumer_mg + ep->recycled_post_consumer_mg <= ep->total_mg); /* P2 */
        assert_true(ep->unattributed_mg + ep->untracked_mg <= ep->total_mg);
        assert_true(ex == ep->total_mg); /* P3 */
        p->mixed_origin += ep->n_extraction > 1 && strcmp(ep->element, "Nd") == 0;
        p->mixed_recycled += strcmp(ep->element, "Nd") == 0 && ep->recycled_pre_consumer_mg + ep->recycled_post_consumer_mg &&
                             ep->recycled_pre_consumer_mg + ep->recycled_post_consumer_mg < ep->total_mg;
        assert_true(pr == ep->total_mg);
        assert_true((int64_t)ep->total_mg == cells->mg[sym_index(p, ep->element)]);
        assert_true((int64_t)ep->unattributed_mg == cells->unattributed[sym_index(p, ep->element)]);
        seen_total += (int64_t)ep->total_mg;
    }
    for (int k = 0; k < p->n_sym; k++) cells_total += cells->mg[k];
    assert_true(seen_total == cells_total); /* no element in the cells that the record lacks */
    mt_prov_record_free(r);
    p->checked_batches++;
}

/* What enters the tracked mass legitimately with ev: EXTRACT outputs, declared untracked inputs,
 * untracked RECYCLE feedstock. */
static void entering(prop *p, const Mintrace__V1__BatchEvent *ev, int64_t *mg) {
    if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT)
        for (size_t o = 0; o < ev->n_outputs; o++) add_elements(p, mg, ev->outputs[o]->elements, ev->outputs[o]->n_elements);
    for (size_t u = 0; u < ev->n_untracked_inputs; u++)
        add_elements(p, mg, ev->untracked_inputs[u]->elements, ev->untracked_inputs[u]->n_elements);
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE)
        add_elements(p, mg, ev->recycle->untracked_feedstock, ev->recycle->n_untracked_feedstock);
}

/* Adds to delta how batch id's exited stock changed since the test last looked. */
static void stock_delta(prop *p, const char *id, totals *delta) {
    totals now, *before = mt_map_get(p->stocks, id, strlen(id));
    cell_totals(p, mt_ledger_exited(p->l, id), &now);
    for (int k = 0; k < p->n_sym; k++) {
        delta->mg[k] += now.mg[k] - (before ? before->mg[k] : 0);
        delta->unattributed[k] += now.unattributed[k] - (before ? before->unattributed[k] : 0);
    }
    if (!before) {
        assert_non_null(before = malloc(sizeof(*before)));
        mt_map_put(p->stocks, id, strlen(id), before);
    }
    *before = now;
}

typedef struct rescan_q {
    prop *p;
    totals *delta;
} rescan_q;

static void rescan_one(void *arg, const void *key, size_t klen, void *value) {
    (void)value;
    rescan_q *q = arg;
    char id[256];
    snprintf(id, sizeof(id), "%.*s", (int)klen, (const char *)key);
    stock_delta(q->p, id, q->delta);
}

static void on_accepted(prop *p, const mt_decision *d) {
    mt_attested a;
    mt_verdict v;
    assert_int_equal(mt_attested_open_verified(d->bytes, d->len, &a, &v), 0);
    Mintrace__V1__BatchEvent *ev = a.ev;
    totals delta = {0};
    for (size_t i = 0; i < d->n_changed; i++) {
        const char *id = d->changed[i];
        int again = 0;
        for (size_t j = 0; j < i; j++) again |= strcmp(d->changed[j], id) == 0;
        if (again) continue;
        totals now, *before = mt_map_get(p->seen, id, strlen(id));
        cell_totals(p, mt_ledger_provenance(p->l, id), &now);
        check_record(p, id, &now);
        for (int k = 0; k < p->n_sym; k++) {
            delta.mg[k] += now.mg[k] - (before ? before->mg[k] : 0);
            delta.unattributed[k] += now.unattributed[k] - (before ? before->unattributed[k] : 0);
        }
        if (!before) {
            assert_non_null(before = malloc(sizeof(*before)));
            mt_map_put(p->seen, id, strlen(id), before);
        }
        *before = now;
    }
    /* the exited stocks it changed: an EXIT's inputs', a RECYCLE's returns'; a CORRECTION may
     * change any the test saw (the voided event's) */
    if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXIT)
        for (size_t i = 0; i < ev->n_inputs; i++) stock_delta(p, ev->inputs[i]->batch_id, &delta);
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE)
        for (size_t r = 0; r < ev->recycle->n_returns; r++) stock_delta(p, ev->recycle->returns[r]->batch_id, &delta);
    if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION) {
        rescan_q q = {p, &delta};
        mt_map_foreach(p->stocks, rescan_one, &q);
    }
    if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION) { /* P1: exactly undone */
        totals *voided = mt_map_get(p->deltas, ev->correction->corrected_event_id.data, MT_HASH_LEN);
        assert_non_null(voided);
        for (int k = 0; k < p->n_sym; k++) assert_true(delta.mg[k] == -voided->mg[k]);
    } else { /* P1: growth only where matter legitimately enters */
        int64_t in[MAX_EL] = {0};
        entering(p, ev, in);
        for (int k = 0; k < p->n_sym; k++)
            if (delta.mg[k] - delta.unattributed[k] > in[k]) {
                print_error("%s seq %llu: %s grew by %lld mg, %lld entered\n", ev->facility_id,
                            (unsigned long long)ev->seq, p->sym[k], (long long)delta.mg[k], (long long)in[k]);
                p->failed = 1;
            }
        totals *keep = malloc(sizeof(*keep));
        assert_non_null(keep);
        *keep = delta;
        free(mt_map_put(p->deltas, a.event_id, MT_HASH_LEN, keep));
    }
    p->checked_events++;
    mt_attested_release(&a);
}

static void on_decision(void *arg, const mt_decision *d) {
    prop *p = arg;
    pipe_count(&p->tally, d);
    uint8_t *entry;
    size_t len;
    unsigned char leaf[MT_HASH_LEN];
    assert_int_equal(mt_journal_entry(d, p->now, &entry, &len, leaf), 0);
    if (p->n_entries == p->cap_entries) {
        p->cap_entries = p->cap_entries ? p->cap_entries * 2 : 1024;
        assert_non_null(p->entries = realloc(p->entries, p->cap_entries * sizeof(*p->entries)));
        assert_non_null(p->lens = realloc(p->lens, p->cap_entries * sizeof(*p->lens)));
    }
    p->entries[p->n_entries] = entry;
    p->lens[p->n_entries++] = len;
    if (d->kind == MT_DECIDED_ACCEPTED) on_accepted(p, d);
}

typedef struct replayed {
    mt_ledger *l;
    const mt_ledger *live;
    size_t compared;
} replayed;

static uint8_t *record_bytes(const mt_ledger *l, const char *id, size_t *len) {
    Mintrace__V1__ProvenanceRecord *r = mt_ledger_provenance_record(l, id);
    assert_non_null(r);
    uint8_t *b = mt_message_pack(&r->base, len);
    assert_non_null(b);
    mt_prov_record_free(r);
    return b;
}

static void compare_batch(void *arg, const void *key, size_t klen, void *value) {
    replayed *r = arg;
    char id[256];
    (void)value;
    assert_true(klen < sizeof(id));
    memcpy(id, key, klen);
    id[klen] = '\0';
    size_t la, lb;
    uint8_t *a = record_bytes(r->live, id, &la), *b = record_bytes(r->l, id, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
    r->compared++;
}

/* A new ledger, spilled to disk (mt_ledger_spill) when spill is set. */
static mt_ledger *new_ledger(const mt_ledger_conf *conf, int spill) {
    mt_ledger *l = mt_ledger_new(conf);
    char err[256];
    assert_non_null(l);
    if (spill && mt_ledger_spill(l, NULL, err, sizeof(err))) fail_msg("%s", err);
    return l;
}

/* A new ledger that replayed every entry of p (spilled when spill is set, committing each
 * entry as a restart does). */
static mt_ledger *replay(const prop *p, const mt_registry *reg, int spill) {
    mt_ledger *l = new_ledger(NULL, spill);
    char err[256];
    for (size_t i = 0; i < p->n_entries; i++) {
        if (mt_ledger_replay(l, reg, NET, p->entries[i], p->lens[i], err, sizeof(err))) {
            print_error("replay of entry %zu: %s\n", i, err);
            fail();
        }
        if (spill) mt_ledger_commit(l);
    }
    return l;
}

static double seconds_since(struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double d = (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
    *t = now;
    return d;
}

/* One graph of about `events` events from seed; returns how many were submitted. */
static size_t run_graph(uint64_t seed, size_t events) {
    mt_keypair notary;
    mt_registry *reg = pipe_registry(seed, NET, &notary);
    /* the graph's shape from its seed: returns 0-60 %, corrections 0-10 %, attacks 0-10 % */
    mt_sim_opts o = {.chains = (int)(events / 16 < 50 ? 50 : events / 16), .returns_pct = (int)(seed * 37 % 61),
                     .corrections_pct = (int)(seed * 13 % 11), .adversarial_pct = (int)(seed * 7 % 11)};
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    mt_sim *s = mt_sim_new_opts(seed, NET, &o, T0);
    assert_non_null(s);
    double t_sim = seconds_since(&t), t_pipe, t_replay;
    mt_sim_counts want;
    mt_sim_expected(s, &want);
    prop p = {.now = mt_sim_end_ms(s) + 60000};
    /* parked attacks expire well before the stream ends; legitimate waits are a few entries */
    mt_ledger_conf conf = {.park_max_age = want.park_tail / 2 > 50 ? want.park_tail / 2 : 50};
    /* odd seeds judge with a ledger spilled to disk: the simulation's tally below must hold all the same */
    p.l = new_ledger(&conf, seed % 2);
    assert_non_null(p.seen = mt_map_new());
    assert_non_null(p.deltas = mt_map_new());
    assert_non_null(p.stocks = mt_map_new());
    uint8_t *env;
    size_t len, n = 0;
    const char *fac;
    mt_ledger_begin(p.l);
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        assert_int_equal(pipe_offer(p.l, reg, &notary, NET, env, len, (int64_t)n++, p.now, on_decision, &p), 0);
        free(env);
        if (n % 1000 == 0) mt_ledger_commit(p.l), mt_ledger_begin(p.l);
    }
    mt_ledger_commit(p.l);
    t_pipe = seconds_since(&t);
    assert_false(p.failed);
    /* the stream was what the simulation announced, and all of it was decided */
    assert_int_equal(mt_ledger_parked(p.l), 0);
    assert_int_equal(p.tally.accepted, want.accepted);
    assert_int_equal(p.tally.rejected, want.rejected);
    assert_int_equal(p.tally.duplicates, want.duplicates);
    assert_int_equal(p.n_entries, want.submitted);
    /* P4: two replays, byte-identical records and roots */
    unsigned char root_live[MT_HASH_LEN], root_a[MT_HASH_LEN], root_b[MT_HASH_LEN];
    /* one replay in RAM, one spilled to disk: byte-identical records and roots either way */
    replayed ra = {.l = replay(&p, reg, 0), .live = p.l}, rb = {.l = replay(&p, reg, 1), .live = ra.l};
    mt_map_foreach(p.seen, compare_batch, &ra);
    mt_map_foreach(p.seen, compare_batch, &rb);
    assert_int_equal(ra.compared, mt_map_count(p.seen));
    assert_int_equal(mt_ledger_provenance_root(p.l, root_live), 0);
    assert_int_equal(mt_ledger_provenance_root(ra.l, root_a), 0);
    assert_int_equal(mt_ledger_provenance_root(rb.l, root_b), 0);
    assert_memory_equal(root_a, root_b, MT_HASH_LEN);
    assert_memory_equal(root_live, root_a, MT_HASH_LEN);
    t_replay = seconds_since(&t);
    /* the graphs blend: Nd from several countries, and recycled with virgin Nd, in one batch */
    assert_true(p.mixed_origin > 0);
    assert_true(p.mixed_recycled > 0);
    print_message("graph seed %llu: %zu events (%zu loops, %zu returns, %zu corrections, %zu attacks), "
                  "records with Nd of several countries %zu, of recycled and virgin Nd %zu, "
                  "%zu accepted checked, %zu batch records checked, %zu batches replayed twice; seconds: "
                  "simulate and sign %.1f, validate + notary + ledger + checks %.1f, two replays %.1f\n",
                  (unsigned long long)seed, n, want.loops, want.returns, want.corrections, want.attacks, p.mixed_origin,
                  p.mixed_recycled,
                  p.checked_events, p.checked_batches, ra.compared, t_sim, t_pipe, t_replay);
    mt_ledger_free(ra.l);
    mt_ledger_free(rb.l);
    for (size_t i = 0; i < p.n_entries; i++) free(p.entries[i]);
    free(p.entries);
    free(p.lens);
    mt_map_free(p.seen, free);
    mt_map_free(p.deltas, free);
    mt_map_free(p.stocks, free);
    mt_ledger_free(p.l);
    mt_sim_free(s);
    mt_registry_destroy(reg);
    mt_keypair_wipe(&notary);
    return n;
}

/* Graphs of up to 25,000 events each, new seeds, until MT_PROPERTY_EVENTS were checked. */
static void test_properties_hold(void **state) {
    (void)state;
    const char *env = getenv("MT_PROPERTY_EVENTS");
    size_t want = env && *env ? strtoull(env, NULL, 10) : 100000, done = 0;
    assert_true(want > 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t seed = 1; done < want; seed++) {
        size_t left = want - done;
        done += run_graph(seed, left < 25000 ? left : 25000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("%zu events in %.1f s\n", done, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    assert_true(done >= want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_properties_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
