/* test_ledger_spill.c - the ledger spilled to disk (mt_ledger_spill): RAM bounded by the live batches, same decisions. */
#include "fixtures.h"

#include <inttypes.h>
#include <stdio.h>

#include "journal.h"
#include "ledger.h"
#include "sim_pipeline.h"

#define NET      FX_NETWORK
#define TOPIC    "mt.events.attested"
#define T_EVENT  FX_T_EARLY
#define T_NOTARY (T_EVENT + 60 * 1000LL)
#define T_RETURN (T_EVENT + 3600 * 1000LL) /* a return comes back an hour after its EXIT */
#define LIVE     40                         /* batches the mine holds at once in the long history */

/* ---- the fixture: one world, two ledgers fed the same stream (spilled, and all in RAM) ---- */

typedef struct chain {
    const mt_keypair *kp;
    const char *facility;
    uint64_t seq;
    unsigned char prev[MT_HASH_LEN];
} chain;

/* One attested event: its bytes and its id. */
typedef struct msg {
    uint8_t *att;
    size_t att_len;
    unsigned char id[MT_HASH_LEN];
} msg;

/* What a ledger decided: kinds, codes and journal entries, in order. */
typedef struct decided {
    mt_decision_kind kind[64];
    mt_reason code[64];
    uint64_t first_index[64];
    size_t n;
    uint8_t **entries;
    size_t *lens, n_entries, cap;
} decided;

typedef struct st {
    fx_world *w;
    mt_ledger *l, *ram; /* spilled, and the same stream in RAM */
    decided dl, dram;
    chain mine, refiner, recycler;
} st;

static int setup(void **state) {
    st *t = calloc(1, sizeof(*t));
    char err[256];
    assert_non_null(t);
    t->w = fx_world_new();
    assert_non_null(t->l = mt_ledger_new(NULL));
    assert_int_equal(mt_ledger_spill(t->l, NULL, err, sizeof(err)), 0);
    assert_non_null(t->ram = mt_ledger_new(NULL));
    t->mine = (chain){.kp = &t->w->mine, .facility = FX_MINE};
    t->refiner = (chain){.kp = &t->w->refiner, .facility = FX_REFINER};
    t->recycler = (chain){.kp = &t->w->recycler, .facility = FX_RECYCLER};
    *state = t;
    return 0;
}

static void decided_free(decided *d) {
    for (size_t i = 0; i < d->n_entries; i++) free(d->entries[i]);
    free(d->entries);
    free(d->lens);
}

static int teardown(void **state) {
    st *t = *state;
    mt_ledger_free(t->l);
    mt_ledger_free(t->ram);
    decided_free(&t->dl);
    decided_free(&t->dram);
    fx_world_free(t->w);
    free(t);
    return 0;
}

static void record(void *arg, const mt_decision *d) {
    decided *r = arg;
    if (r->n < 64) {
        r->kind[r->n] = d->kind;
        r->code[r->n] = d->verdict.code;
        r->first_index[r->n] = d->first_index;
    }
    r->n++;
    if (r->n_entries == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        assert_non_null(r->entries = realloc(r->entries, r->cap * sizeof(*r->entries)));
        assert_non_null(r->lens = realloc(r->lens, r->cap * sizeof(*r->lens)));
    }
    unsigned char leaf[MT_HASH_LEN];
    assert_int_equal(mt_journal_entry(d, T_NOTARY + 1000, &r->entries[r->n_entries], &r->lens[r->n_entries], leaf), 0);
    r->n_entries++;
}

/* The next event of chain c from JSON (single quotes for double ones): seq, prev, network,
 * facility, time and site are filled in, ref is the RECEIVE's or CORRECTION's event. */
__attribute__((format(printf, 4, 5))) static msg next(st *t, chain *c, const unsigned char *ref, const char *fmt, ...) {
    char json[2048], err[256] = "";
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(json, sizeof(json), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    for (char *p = json; *p; p++)
        if (*p == '\'') *p = '"';
    Mintrace__V1__BatchEvent *ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(
        &mintrace__v1__batch_event__descriptor, json, strlen(json), err, sizeof(err));
    if (!ev) fail_msg("%s: %s", err, json);
    char *net0 = ev->network_id, *fac0 = ev->facility_id;
    Mintrace__V1__Site site = MINTRACE__V1__SITE__INIT, *site0 = ev->site;
    ProtobufCBinaryData ref0 = {0, NULL}, *refp = NULL;
    site.country = "IN";
    ev->network_id = NET;
    ev->facility_id = (char *)c->facility;
    ev->seq = c->seq + 1;
    ev->prev = c->seq ? (ProtobufCBinaryData){MT_HASH_LEN, c->prev} : (ProtobufCBinaryData){0, NULL};
    if (!ev->time_ms) ev->time_ms = T_EVENT;
    if (!ev->site) ev->site = &site;
    if (ref && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE) refp = &ev->receive->transfer_event_id;
    if (ref && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION) refp = &ev->correction->corrected_event_id;
    if (refp) {
        ref0 = *refp;
        *refp = (ProtobufCBinaryData){MT_HASH_LEN, (uint8_t *)ref};
    }
    size_t plen;
    uint8_t *payload = mt_message_pack(&ev->base, &plen);
    ev->network_id = net0;
    ev->facility_id = fac0;
    ev->prev = (ProtobufCBinaryData){0, NULL};
    ev->site = site0;
    if (refp) *refp = ref0;
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    assert_non_null(payload);
    msg m = {0};
    mt_hash(payload, plen, m.id);
    size_t elen;
    uint8_t *env = fx_seal(c->kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen, &elen);
    free(payload);
    m.att = fx_attest(t->w, &t->w->notary, env, elen, T_RETURN + 60000, &m.att_len);
    free(env);
    c->seq++;
    memcpy(c->prev, m.id, MT_HASH_LEN);
    return m;
}

/* Offers m to both ledgers, each in its own committed transaction (as the aggregator does); the
 * decisions must agree. Returns the spilled ledger's first decision. */
static mt_decision_kind offer(st *t, msg m) {
    size_t a = t->dl.n, b = t->dram.n;
    mt_ledger_begin(t->l);
    assert_int_equal(mt_ledger_offer(t->l, t->w->reg, NET, m.att, m.att_len, TOPIC, 0, 1, record, &t->dl), 0);
    mt_ledger_commit(t->l);
    mt_ledger_begin(t->ram);
    assert_int_equal(mt_ledger_offer(t->ram, t->w->reg, NET, m.att, m.att_len, TOPIC, 0, 1, record, &t->dram), 0);
    mt_ledger_commit(t->ram);
    free(m.att);
    assert_int_equal(t->dl.n - a, t->dram.n - b);
    assert_true(t->dl.n > a);
    for (size_t i = a, j = b; i < t->dl.n && i < 64; i++, j++) {
        assert_int_equal(t->dl.kind[i], t->dram.kind[j]);
        assert_int_equal(t->dl.code[i], t->dram.code[j]);
        assert_memory_equal(t->dl.entries[i], t->dram.entries[j], t->dl.lens[i]);
    }
    t->dl.n = t->dram.n = 0; /* kinds and codes: the last offer's only */
    return t->dl.kind[0];
}

#define ACCEPTED(t, m) assert_int_equal(offer(t, m), MT_DECIDED_ACCEPTED)
#define REJECTED(t, m, why)                                                                                    \
    do {                                                                                                       \
        assert_int_equal(offer(t, m), MT_DECIDED_REJECTED);                                                    \
        assert_int_equal(t->dl.code[0], MINTRACE__V1__REASON_CODE__REASON_CODE_##why);                         \
    } while (0)

static msg extract(st *t, const char *id) {
    return next(t, &t->mine, NULL,
                "{'kind':'EXTRACT','extract':{'deposit':'Chavara'},'outputs':[{'batch_id':'%s','material':'ore',"
                "'mass_mg':1000000,'elements':[{'element':'Nd','mass_mg':100000},{'element':'Pr','mass_mg':30000}]}]}",
                id);
}

static msg transfer(st *t, chain *c, const char *id, const char *dest) {
    return next(t, c, NULL,
                "{'kind':'TRANSFER','inputs':[{'batch_id':'%s','mass_mg':1000000}],'transfer':{'destination_facility_id':"
                "'%s'}}",
                id, dest);
}

static msg receive(st *t, chain *c, const msg *tr, const char *id, const char *from) {
    return next(t, c, tr->id,
                "{'kind':'RECEIVE','inputs':[{'batch_id':'%s','mass_mg':1000000}],'receive':{'origin_facility_id':'%s'}}",
                id, from);
}

static msg exit_all(st *t, chain *c, const char *id) {
    return next(t, c, NULL, "{'kind':'EXIT','inputs':[{'batch_id':'%s','mass_mg':1000000}],'exit':{'product':'motor'}}",
                id);
}

static msg loss(st *t, chain *c, const char *id, int mass) {
    return next(t, c, NULL, "{'kind':'LOSS','inputs':[{'batch_id':'%s','mass_mg':%d}],'loss':{'reason':'spill'}}", id,
                mass);
}

/* The recycler returns mass mg of the EXITed batch id, recovering `out` with Nd nd. */
static msg recycle_return(st *t, const char *id, int mass, const char *out, int nd) {
    return next(t, &t->recycler, NULL,
                "{'kind':'RECYCLE','time_ms':%lld,'recycle':{'feedstock':'TRACKED','returns':[{'batch_id':'%s',"
                "'mass_mg':%d}]},'outputs':[{'batch_id':'%s','material':'Nd-oxide','mass_mg':%d,'elements':[{'element':"
                "'Nd','mass_mg':%d}]}]}",
                (long long)T_RETURN, id, mass, out, nd + nd / 4 + 1, nd);
}

/* Both ledgers hold the same record of batch id, and the same provenance root. */
static void same_state(st *t, const char *id) {
    Mintrace__V1__ProvenanceRecord *a = mt_ledger_provenance_record(t->l, id), *b = mt_ledger_provenance_record(t->ram, id);
    assert_non_null(a);
    assert_non_null(b);
    size_t la, lb;
    uint8_t *pa = mt_message_pack(&a->base, &la), *pb = mt_message_pack(&b->base, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
    mt_prov_record_free(a);
    mt_prov_record_free(b);
    unsigned char ra[MT_HASH_LEN], rb[MT_HASH_LEN];
    assert_int_equal(mt_ledger_provenance_root(t->l, ra), 0);
    assert_int_equal(mt_ledger_provenance_root(t->ram, rb), 0);
    assert_memory_equal(ra, rb, MT_HASH_LEN);
}

static mt_ledger_stats_t stats(const mt_ledger *l) {
    mt_ledger_stats_t s;
    mt_ledger_stats(l, &s);
    return s;
}

/* ---- the tests ---- */

/* Thousands of batches made and spent, LIVE held at any time: the spilled ledger's maps stay at
 * the live batches while the RAM ledger's grow with history, and every decision is the same. */
static void test_long_history_bounded(void **state) {
    st *t = *state;
    enum { N = 1500 };
    char id[32], old[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "ORE-%d", i);
        ACCEPTED(t, extract(t, id));
        if (i < LIVE) continue;
        snprintf(old, sizeof(old), "ORE-%d", i - LIVE); /* to the refiner, received, sold out */
        msg tr = transfer(t, &t->mine, old, FX_REFINER);
        msg rc = receive(t, &t->refiner, &tr, old, FX_MINE);
        ACCEPTED(t, tr);
        ACCEPTED(t, rc);
        ACCEPTED(t, exit_all(t, &t->refiner, old));
        if (i % 500 == 0) {
            mt_ledger_stats_t s = stats(t->l);
            assert_true(s.batches <= LIVE + 1);
            assert_true(s.prov <= LIVE + 1);
            assert_int_equal(s.events + s.takes + s.ctakes + s.memos + s.exited, 0);
            assert_int_equal(s.spilled_batches, (uint64_t)(i + 1 - LIVE));
        }
    }
    mt_ledger_stats_t s = stats(t->l), r = stats(t->ram);
    print_message("after %d batches made, %d live: spilled ledger %zu batches and %zu events in RAM (%" PRIu64
                  " bytes), %" PRIu64 " entries on disk (%" PRIu64 " bytes); RAM ledger %zu batches, %zu events (%" PRIu64
                  " bytes)\n",
                  N, LIVE, s.batches, s.events, s.ram_bytes, s.store_entries, s.store_disk_bytes, r.batches, r.events,
                  r.ram_bytes);
    assert_int_equal(s.batches, LIVE);
    assert_int_equal(s.prov, LIVE);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.spilled_batches, N - LIVE);
    assert_int_equal(s.spilled_exited, N - LIVE);
    assert_int_equal(s.spilled_events, N + 3 * (N - LIVE));
    assert_int_equal(s.store_errors, 0);
    assert_int_equal(r.batches, N);
    assert_true(r.ram_bytes > 10 * s.ram_bytes);
    same_state(t, "ORE-0");
    same_state(t, "ORE-1499");
    /* the live batches are in RAM: the inventory needs nothing from the store */
    assert_non_null(mt_ledger_provenance(t->l, "ORE-1499"));
}

/* A CORRECTION of a LOSS gives the mass back to a spent (spilled) batch: it comes back to RAM,
 * and can be spent again. */
static void test_correction_revives_spilled_batch(void **state) {
    st *t = *state;
    ACCEPTED(t, extract(t, "ORE-A"));
    msg lost = loss(t, &t->mine, "ORE-A", 1000000);
    unsigned char lost_id[MT_HASH_LEN];
    memcpy(lost_id, lost.id, MT_HASH_LEN);
    ACCEPTED(t, lost);
    mt_ledger_stats_t s = stats(t->l);
    assert_int_equal(s.batches, 0);
    assert_int_equal(s.spilled_batches, 1);
    assert_int_equal(s.spilled_takes, 1);
    ACCEPTED(t, next(t, &t->mine, lost_id, "{'kind':'CORRECTION','correction':{'reason':'typo'}}"));
    s = stats(t->l);
    assert_int_equal(s.batches, 1); /* live again: in RAM */
    assert_int_equal(s.spilled_batches, 0);
    assert_int_equal(s.spilled_takes, 0); /* the LOSS can no longer be corrected */
    assert_int_equal(mt_ledger_provenance(t->l, "ORE-A")->mass_mg, 1000000);
    same_state(t, "ORE-A");
    ACCEPTED(t, loss(t, &t->mine, "ORE-A", 400000));
    REJECTED(t, loss(t, &t->mine, "ORE-A", 700000), OVERDRAWN);
    same_state(t, "ORE-A");
}

/* The same event again, long after it was decided and spilled: a duplicate of its first entry. */
static void test_duplicate_of_spilled_event(void **state) {
    st *t = *state;
    msg e = extract(t, "ORE-D");
    msg again = {.att = malloc(e.att_len), .att_len = e.att_len};
    assert_non_null(again.att);
    memcpy(again.att, e.att, e.att_len);
    ACCEPTED(t, e);
    ACCEPTED(t, loss(t, &t->mine, "ORE-D", 1000000));
    assert_int_equal(stats(t->l).events, 0);
    assert_int_equal(offer(t, again), MT_DECIDED_DUPLICATE);
    assert_int_equal(t->dl.first_index[0], 0);
    assert_int_equal(stats(t->l).events, 0); /* read back, and gone again at commit: nothing changed */
}

/* A RECEIVE of a TRANSFER whose record went to the store; a second one is refused. */
static void test_receive_of_spilled_transfer(void **state) {
    st *t = *state;
    ACCEPTED(t, extract(t, "ORE-T"));
    msg tr = transfer(t, &t->mine, "ORE-T", FX_REFINER);
    msg rc = receive(t, &t->refiner, &tr, "ORE-T", FX_MINE);
    msg rc2 = receive(t, &t->refiner, &tr, "ORE-T", FX_MINE);
    ACCEPTED(t, tr);
    for (int i = 0; i < 20; i++) { /* other history in between */
        char id[16];
        snprintf(id, sizeof(id), "FILL-%d", i);
        ACCEPTED(t, extract(t, id));
    }
    mt_ledger_stats_t s = stats(t->l);
    assert_int_equal(s.events, 0);
    assert_true(s.spilled_events >= 22);
    assert_int_equal(s.batches, 21); /* in transit is live */
    ACCEPTED(t, rc);
    REJECTED(t, rc2, OVERDRAWN);
    same_state(t, "ORE-T");
}

/* A RECYCLE returns part of the exited stock of a batch whose EXIT was spilled long ago. */
static void test_return_of_spilled_exited_stock(void **state) {
    st *t = *state;
    ACCEPTED(t, extract(t, "ORE-X"));
    ACCEPTED(t, exit_all(t, &t->mine, "ORE-X"));
    mt_ledger_stats_t s = stats(t->l);
    assert_int_equal(s.exited + s.batches, 0);
    assert_int_equal(s.spilled_exited, 1);
    assert_int_equal(mt_ledger_exited(t->l, "ORE-X")->mass_mg, 1000000);
    ACCEPTED(t, recycle_return(t, "ORE-X", 600000, "REC-1", 50000));
    assert_int_equal(mt_ledger_exited(t->l, "ORE-X")->mass_mg, 400000);
    chain before = t->recycler; /* the recycler goes on from before the event refused */
    REJECTED(t, recycle_return(t, "ORE-X", 500000, "REC-2", 10000), RETURN_EXCEEDS_EXIT);
    t->recycler = before;
    ACCEPTED(t, recycle_return(t, "ORE-X", 400000, "REC-3", 30000));
    assert_int_equal(mt_ledger_exited(t->l, "ORE-X")->mass_mg, 0);
    assert_int_equal(mt_ledger_exited(t->ram, "ORE-X")->mass_mg, 0);
    same_state(t, "REC-1");
    same_state(t, "REC-3");
}

/* A history replayed into a new spilled ledger (a restart), then a transaction touching spilled
 * values aborted: the state is as it was, and the same offers decide the same again. */
static void test_abort_after_reload(void **state) {
    st *t = *state;
    ACCEPTED(t, extract(t, "ORE-1"));
    ACCEPTED(t, extract(t, "ORE-2"));
    msg lost = loss(t, &t->mine, "ORE-1", 1000000);
    unsigned char lost_id[MT_HASH_LEN];
    memcpy(lost_id, lost.id, MT_HASH_LEN);
    ACCEPTED(t, lost);
    ACCEPTED(t, exit_all(t, &t->mine, "ORE-2"));
    /* the restart: replay the journal into a new spilled ledger, one committed entry at a time */
    mt_ledger *l2 = mt_ledger_new(NULL);
    char err[256];
    assert_non_null(l2);
    assert_int_equal(mt_ledger_spill(l2, NULL, err, sizeof(err)), 0);
    for (size_t i = 0; i < t->dl.n_entries; i++) {
        mt_ledger_begin(l2);
        if (mt_ledger_replay(l2, t->w->reg, NET, t->dl.entries[i], t->dl.lens[i], err, sizeof(err)))
            fail_msg("replay of entry %zu: %s", i, err);
        mt_ledger_commit(l2);
    }
    mt_ledger_free(t->l);
    t->l = l2;
    mt_ledger_stats_t before = stats(t->l);
    assert_int_equal(before.batches, 0);
    assert_int_equal(before.spilled_batches, 2);
    unsigned char root0[MT_HASH_LEN], root1[MT_HASH_LEN];
    assert_int_equal(mt_ledger_provenance_root(t->l, root0), 0);
    /* a transaction that revives ORE-1, returns part of ORE-2 and makes a batch: aborted */
    msg fix = next(t, &t->mine, lost_id, "{'kind':'CORRECTION','correction':{'reason':'typo'}}");
    msg ret = recycle_return(t, "ORE-2", 300000, "REC-9", 20000);
    uint64_t next_index = mt_ledger_next_index(t->l);
    decided scratch = {0};
    mt_ledger_begin(t->l);
    assert_int_equal(mt_ledger_offer(t->l, t->w->reg, NET, fix.att, fix.att_len, TOPIC, 0, 1, record, &scratch), 0);
    assert_int_equal(mt_ledger_offer(t->l, t->w->reg, NET, ret.att, ret.att_len, TOPIC, 0, 1, record, &scratch), 0);
    assert_int_equal(scratch.kind[0], MT_DECIDED_ACCEPTED);
    assert_int_equal(scratch.kind[1], MT_DECIDED_ACCEPTED);
    assert_int_equal(mt_ledger_provenance(t->l, "ORE-1")->mass_mg, 1000000);
    mt_ledger_abort(t->l);
    decided_free(&scratch);
    assert_int_equal(mt_ledger_next_index(t->l), next_index);
    assert_int_equal(mt_ledger_provenance(t->l, "ORE-1")->mass_mg, 0);
    assert_int_equal(mt_ledger_exited(t->l, "ORE-2")->mass_mg, 1000000);
    assert_null(mt_ledger_provenance(t->l, "REC-9"));
    assert_int_equal(mt_ledger_provenance_root(t->l, root1), 0);
    assert_memory_equal(root0, root1, MT_HASH_LEN);
    mt_ledger_begin(t->l);
    mt_ledger_commit(t->l); /* what the aborted reads brought back goes back to the store */
    mt_ledger_stats_t after = stats(t->l);
    assert_int_equal(after.batches, 0);
    assert_int_equal(after.spilled_batches, 2);
    assert_int_equal(after.spilled_exited, 1);
    /* the same offers, kept this time: the same decisions as the RAM ledger's */
    ACCEPTED(t, fix);
    ACCEPTED(t, ret);
    same_state(t, "ORE-1");
    same_state(t, "REC-9");
    assert_int_equal(stats(t->l).batches, 2); /* ORE-1 live again, REC-9 made */
}

/* A spill is for a new ledger only, and a store in a missing folder is an error. */
static void test_spill_refused(void **state) {
    st *t = *state;
    char err[256] = "";
    assert_int_equal(mt_ledger_spill(t->l, NULL, err, sizeof(err)), -1); /* spills already */
    ACCEPTED(t, extract(t, "ORE-R"));
    assert_int_equal(mt_ledger_spill(t->ram, NULL, err, sizeof(err)), -1); /* not new */
    assert_non_null(strstr(err, "new"));
    mt_ledger *l = mt_ledger_new(NULL);
    assert_non_null(l);
    assert_int_equal(mt_ledger_spill(l, "/nonexistent/mintrace", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/mintrace"));
    mt_ledger_free(l);
}

/* ---- a simulated network, with aborts, against the RAM ledger ---- */

typedef struct seen {
    mt_decision_kind kind[8];
    uint64_t index[8];
    mt_reason code[8];
    size_t n;
    char changed[128]; /* a batch the last accepted event changed */
} seen;

static void note(void *arg, const mt_decision *d) {
    seen *s = arg;
    if (s->n < 8) {
        s->kind[s->n] = d->kind;
        s->index[s->n] = d->index;
        s->code[s->n] = d->verdict.code;
    }
    s->n++;
    if (d->n_changed) snprintf(s->changed, sizeof(s->changed), "%s", d->changed[d->n_changed - 1]);
}

/* Offers one envelope to a ledger in a transaction that is aborted and offered again (abort),
 * then committed. */
static seen offer_sim(mt_ledger *l, const mt_registry *reg, const mt_keypair *notary, const uint8_t *env, size_t len,
                      int64_t n, int64_t now, int abort) {
    seen s = {0};
    mt_ledger_begin(l);
    assert_int_equal(pipe_offer(l, reg, notary, "spill-sim", env, len, n, now, note, &s), 0);
    if (abort) {
        mt_ledger_abort(l);
        memset(&s, 0, sizeof(s));
        mt_ledger_begin(l);
        assert_int_equal(pipe_offer(l, reg, notary, "spill-sim", env, len, n, now, note, &s), 0);
    }
    mt_ledger_commit(l);
    return s;
}

static void same_record(mt_ledger *a, mt_ledger *b, const char *id) {
    Mintrace__V1__ProvenanceRecord *ra = mt_ledger_provenance_record(a, id), *rb = mt_ledger_provenance_record(b, id);
    assert_true((ra == NULL) == (rb == NULL));
    if (ra) {
        size_t la, lb;
        uint8_t *pa = mt_message_pack(&ra->base, &la), *pb = mt_message_pack(&rb->base, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(pa, pb, la);
        free(pa);
        free(pb);
    }
    mt_prov_record_free(ra);
    mt_prov_record_free(rb);
}

/* A simulated network with returns, corrections and attacks, every fifth transaction aborted
 * and offered again, the record of a changed batch read between transactions (from the store,
 * for a spent one): the spilled ledger decides exactly as the RAM ledger, entry by entry. */
static void test_simulated_stream_with_aborts(void **state) {
    (void)state;
    mt_keypair notary;
    mt_registry *reg = pipe_registry(11, "spill-sim", &notary);
    mt_sim_opts o = {.chains = 250, .returns_pct = 40, .corrections_pct = 10, .adversarial_pct = 10};
    mt_sim *sim = mt_sim_new_opts(11, "spill-sim", &o, 1600000000000LL);
    assert_non_null(sim);
    mt_sim_counts want;
    mt_sim_expected(sim, &want);
    int64_t now = mt_sim_end_ms(sim) + 60000;
    mt_ledger_conf conf = {.park_max_age = want.park_tail / 2 > 50 ? want.park_tail / 2 : 50};
    mt_ledger *l = mt_ledger_new(&conf), *ram = mt_ledger_new(&conf);
    char err[256];
    assert_non_null(l);
    assert_non_null(ram);
    assert_int_equal(mt_ledger_spill(l, NULL, err, sizeof(err)), 0);
    uint8_t *env;
    size_t len, n = 0;
    const char *fac;
    while (mt_sim_next(sim, &env, &len, &fac) == 1) {
        int abort = n % 5 == 3;
        seen a = offer_sim(l, reg, &notary, env, len, (int64_t)n, now, abort);
        seen b = offer_sim(ram, reg, &notary, env, len, (int64_t)n, now, abort);
        free(env);
        n++;
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n && i < 8; i++) {
            assert_int_equal(a.kind[i], b.kind[i]);
            assert_int_equal(a.index[i], b.index[i]);
            assert_int_equal(a.code[i], b.code[i]);
        }
        if (a.changed[0]) same_record(l, ram, a.changed);
    }
    assert_int_equal(mt_ledger_next_index(l), mt_ledger_next_index(ram));
    assert_int_equal(mt_ledger_parked(l), mt_ledger_parked(ram));
    unsigned char ra[MT_HASH_LEN], rb[MT_HASH_LEN];
    assert_int_equal(mt_ledger_provenance_root(l, ra), 0);
    assert_int_equal(mt_ledger_provenance_root(ram, rb), 0);
    assert_memory_equal(ra, rb, MT_HASH_LEN);
    mt_ledger_stats_t s, r;
    mt_ledger_stats(l, &s);
    mt_ledger_stats(ram, &r);
    print_message("%zu envelopes: spilled ledger %zu batches and %zu events in RAM, %" PRIu64
                  " entries on disk; RAM ledger %zu batches, %zu events\n",
                  n, s.batches, s.events, s.store_entries, r.batches, r.events);
    assert_true(s.batches < r.batches);
    assert_int_equal(s.events, 0);
    assert_int_equal(s.store_errors, 0);
    mt_ledger_free(l);
    mt_ledger_free(ram);
    mt_sim_free(sim);
    mt_registry_destroy(reg);
    mt_keypair_wipe(&notary);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_long_history_bounded),
        T(test_correction_revives_spilled_batch),
        T(test_duplicate_of_spilled_event),
        T(test_receive_of_spilled_transfer),
        T(test_return_of_spilled_exited_stock),
        T(test_abort_after_reload),
        T(test_spill_refused),
        cmocka_unit_test(test_simulated_stream_with_aborts),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
