/* test_comply.c - policy rules against records and events: each kind passes and fails at its exact boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comply.h"

/* ---- building records ---- */

typedef struct elem {
    Mintrace__V1__ElementProvenance e;
    Mintrace__V1__CountryMass ex[4], pr[4], *pex[4], *ppr[4];
} elem;

typedef struct rec {
    Mintrace__V1__ProvenanceRecord r;
    elem el[4];
    Mintrace__V1__ElementProvenance *pel[4];
} rec;

static void rec_init(rec *x, const char *batch, const char *material, uint64_t index) {
    memset(x, 0, sizeof(*x));
    mintrace__v1__provenance_record__init(&x->r);
    x->r.batch_id = (char *)batch;
    x->r.material = (char *)material;
    x->r.ledger_index = index;
    x->r.mass_mg = 1; /* any mass: the rules look at the elements */
    x->r.elements = x->pel;
}

/* Adds an element: total, pre-, post-consumer, unattributed, untracked; returns it for countries. */
static elem *add_el(rec *x, const char *sym, uint64_t total, uint64_t pre, uint64_t post, uint64_t unattr,
                    uint64_t untracked) {
    elem *e = &x->el[x->r.n_elements];
    mintrace__v1__element_provenance__init(&e->e);
    e->e.element = (char *)sym;
    e->e.total_mg = total;
    e->e.recycled_pre_consumer_mg = pre;
    e->e.recycled_post_consumer_mg = post;
    e->e.unattributed_mg = unattr;
    e->e.untracked_mg = untracked;
    e->e.extraction = e->pex;
    e->e.processing = e->ppr;
    x->pel[x->r.n_elements++] = &e->e;
    return e;
}

static void add_country(elem *e, int processing, const char *cc, uint64_t mg) {
    size_t *n = processing ? &e->e.n_processing : &e->e.n_extraction;
    Mintrace__V1__CountryMass *c = processing ? &e->pr[*n] : &e->ex[*n];
    mintrace__v1__country_mass__init(c);
    c->country = (char *)cc;
    c->mass_mg = mg;
    (processing ? e->ppr : e->pex)[(*n)++] = c;
}

/* ---- collecting findings ---- */

typedef struct got {
    mt_finding f[8];
    size_t n;
} got;

static void collect(void *arg, const mt_finding *f) {
    got *g = arg;
    assert_true(g->n < 8);
    g->f[g->n++] = *f;
}

static mt_policy load(const char *text) {
    mt_policy p;
    char err[512];
    if (mt_policy_parse(&p, text, strlen(text), "t.json", err, sizeof(err))) fail_msg("%s", err);
    return p;
}

/* Judges rec by the one-rule policy; returns the number of findings, the first in *f. */
static size_t judge(const char *rule_json, const rec *x, mt_finding *f) {
    char text[2048];
    snprintf(text, sizeof(text), "{\"policy_id\": \"t\", \"description\": \"d\", \"rules\": [%s]}", rule_json);
    mt_policy p = load(text);
    got g = {0};
    size_t n = mt_comply_record(&p, &x->r, collect, &g);
    assert_int_equal(n, g.n);
    if (n) {
        *f = g.f[0];
        f->rule = NULL; /* the policy goes now */
    }
    mt_policy_release(&p);
    return n;
}

#define NDPR_10 \
    "{\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", " \
    "\"materials\": [\"magnet\"], \"elements\": [\"Nd\", \"Pr\"], \"class\": \"any\", \"min_ppm\": 100000}"

/* Nd+Pr 10 %: 100 of 1,000 mg passes, 99 fails; pre and post both count. */
static void recycled_share_boundary(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    rec_init(&x, "MAG-1", "magnet", 7);
    add_el(&x, "Nd", 700, 70, 0, 0, 0);
    add_el(&x, "Pr", 300, 0, 30, 0, 0);
    add_el(&x, "Fe", 5000, 5000, 0, 0, 0); /* not listed: never counted */
    assert_int_equal(judge(NDPR_10, &x, &f), 1);
    assert_true(f.pass);
    assert_int_equal(f.measured_mg, 100);
    assert_int_equal(f.basis_mg, 1000);
    assert_int_equal(f.measured_ppm, 100000);
    assert_int_equal(f.ledger_index, 7);
    assert_string_equal(f.batch_id, "MAG-1");
    x.el[1].e.recycled_post_consumer_mg = 29;
    assert_int_equal(judge(NDPR_10, &x, &f), 1);
    assert_false(f.pass);
    assert_int_equal(f.measured_mg, 99);
    assert_int_equal(f.measured_ppm, 99000);
    assert_non_null(strstr(f.detail, "99 of 1000 mg"));
}

/* class pre_consumer counts only pre-consumer mass, post_consumer only post. */
static void recycled_share_class(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    rec_init(&x, "MAG-1", "magnet", 1);
    add_el(&x, "Nd", 1000, 60, 50, 0, 0);
    const char *pre = "{\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                      "\"elements\": [\"Nd\"], \"class\": \"pre_consumer\", \"min_ppm\": 60000}";
    const char *post = "{\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                       "\"elements\": [\"Nd\"], \"class\": \"post_consumer\", \"min_ppm\": 60000}";
    assert_int_equal(judge(pre, &x, &f), 1);
    assert_true(f.pass);
    assert_int_equal(f.measured_mg, 60);
    assert_int_equal(judge(post, &x, &f), 1);
    assert_false(f.pass);
    assert_int_equal(f.measured_mg, 50);
}

/* Beyond double precision: 3e18 mg at 333,333 ppm needs exactly 999,999e12 mg; one less fails. */
static void recycled_share_exact_in_128_bits(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    const char *r = "{\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                    "\"elements\": [\"Co\"], \"class\": \"any\", \"min_ppm\": 333333}";
    rec_init(&x, "CELL-1", "ev-battery", 1);
    add_el(&x, "Co", 3000000000000000000ull, 999999000000000000ull, 0, 0, 0);
    assert_int_equal(judge(r, &x, &f), 1);
    assert_true(f.pass);
    x.el[0].e.recycled_pre_consumer_mg--;
    assert_int_equal(judge(r, &x, &f), 1);
    assert_false(f.pass);
    /* two elements near 2^64 each: the sum needs more than 64 bits and the verdict is still exact */
    const char *two = "{\"id\": \"r\", \"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                      "\"elements\": [\"Co\", \"Ni\"], \"class\": \"any\", \"min_ppm\": 500000}";
    rec_init(&x, "CELL-2", "ev-battery", 1);
    add_el(&x, "Co", UINT64_MAX, UINT64_MAX, 0, 0, 0);
    add_el(&x, "Ni", UINT64_MAX, 0, 0, 0, 0);
    assert_int_equal(judge(two, &x, &f), 1);
    assert_true(f.pass); /* exactly 50 % */
    assert_int_equal(f.basis_mg, UINT64_MAX); /* saturated for display */
    x.el[0].e.recycled_pre_consumer_mg--;
    assert_int_equal(judge(two, &x, &f), 1);
    assert_false(f.pass);
}

/* Processed in CN at most 0: 1 mg fails; mined in MM at most 5 %: 50 of 1,000 passes, 51 fails. */
static void country_share_boundary(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    const char *cn = "{\"id\": \"r\", \"kind\": \"country_share\", \"severity\": \"error\", \"description\": \"d\", "
                     "\"elements\": [\"Nd\"], \"stage\": \"processed\", \"countries\": [\"CN\", \"MM\"], \"max_ppm\": 0}";
    const char *mm = "{\"id\": \"r\", \"kind\": \"country_share\", \"severity\": \"error\", \"description\": \"d\", "
                     "\"elements\": [\"Dy\"], \"stage\": \"mined\", \"countries\": [\"MM\"], \"max_ppm\": 50000}";
    rec_init(&x, "OX-1", "NdPr-oxide", 3);
    elem *nd = add_el(&x, "Nd", 1000, 0, 0, 0, 0);
    add_country(nd, 0, "CN", 1000); /* mined in CN: the processed rule must not look there */
    add_country(nd, 1, "IN", 1000);
    elem *dy = add_el(&x, "Dy", 1000, 0, 0, 0, 0);
    add_country(dy, 0, "IN", 950);
    add_country(dy, 0, "MM", 50);
    add_country(dy, 1, "MM", 1000); /* processed in MM: the mined rule must not look there */
    assert_int_equal(judge(cn, &x, &f), 1);
    assert_true(f.pass);
    assert_int_equal(f.measured_mg, 0);
    nd->pr[0].mass_mg = 999;
    add_country(nd, 1, "MM", 1);
    assert_int_equal(judge(cn, &x, &f), 1);
    assert_false(f.pass);
    assert_int_equal(f.measured_mg, 1);
    assert_int_equal(judge(mm, &x, &f), 1);
    assert_true(f.pass);
    assert_int_equal(f.measured_mg, 50);
    assert_int_equal(f.measured_ppm, 50000);
    dy->ex[0].mass_mg = 949;
    dy->ex[1].mass_mg = 51;
    assert_int_equal(judge(mm, &x, &f), 1);
    assert_false(f.pass);
    assert_int_equal(f.measured_ppm, 51000);
}

/* Unattributed + untracked over all elements, or the listed ones; a max of 1/3 at its edge. */
static void chain_complete_boundary(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    const char *all0 = "{\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"error\", \"description\": \"d\", "
                       "\"max_ppm\": 0}";
    const char *nd0 = "{\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"error\", \"description\": \"d\", "
                      "\"elements\": [\"Nd\"], \"max_ppm\": 0}";
    const char *third = "{\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"error\", \"description\": \"d\", "
                        "\"max_ppm\": 333334}";
    const char *under = "{\"id\": \"r\", \"kind\": \"chain_complete\", \"severity\": \"error\", \"description\": \"d\", "
                        "\"max_ppm\": 333333}";
    rec_init(&x, "MAG-1", "magnet", 9);
    add_el(&x, "Nd", 1000, 0, 0, 0, 0);
    add_el(&x, "Fe", 500, 0, 0, 0, 500);
    assert_int_equal(judge(all0, &x, &f), 1);
    assert_false(f.pass);
    assert_int_equal(f.measured_mg, 500);
    assert_int_equal(f.basis_mg, 1500);
    assert_int_equal(judge(nd0, &x, &f), 1);
    assert_true(f.pass);
    x.el[0].e.unattributed_mg = 1; /* one mg of tolerance is a gap too */
    assert_int_equal(judge(nd0, &x, &f), 1);
    assert_false(f.pass);
    x.el[0].e.unattributed_mg = 0;
    assert_int_equal(judge(third, &x, &f), 1); /* 500e6 <= 333334 * 1500 */
    assert_true(f.pass);
    assert_int_equal(judge(under, &x, &f), 1); /* 500e6 > 333333 * 1500 */
    assert_false(f.pass);
}

/* No verdict for another material, for elements the batch lacks, or for a used-up batch. */
static void no_verdict_when_not_applicable(void **state) {
    (void)state;
    rec x;
    mt_finding f;
    rec_init(&x, "OX-1", "NdPr-oxide", 1);
    add_el(&x, "Nd", 1000, 0, 0, 0, 0);
    assert_int_equal(judge(NDPR_10, &x, &f), 0); /* materials: magnet */
    rec_init(&x, "MAG-1", "magnet", 1);
    add_el(&x, "Fe", 1000, 0, 0, 0, 0);
    assert_int_equal(judge(NDPR_10, &x, &f), 0); /* no Nd, no Pr */
    rec_init(&x, "MAG-1", "magnet", 1);
    add_el(&x, "Nd", 1000, 0, 0, 0, 0);
    x.r.mass_mg = 0;
    assert_int_equal(judge(NDPR_10, &x, &f), 0); /* used up: the last figures stand */
    x.r.mass_mg = 1;
    assert_int_equal(judge(NDPR_10, &x, &f), 1);
}

/* Every share rule of a policy in order; documents rules are not judged on records. */
static void record_judged_by_every_rule(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "deploy/policies/ndfeb-india.json", err, sizeof(err)), 0);
    rec x;
    rec_init(&x, "MAG2-1", "sintered-NdFeB-magnet", 12);
    add_el(&x, "Nd", 800, 80, 0, 0, 0);
    add_el(&x, "Pr", 200, 20, 0, 0, 0);
    add_el(&x, "Fe", 2000, 0, 0, 0, 2000);
    got g = {0};
    assert_int_equal(mt_comply_record(&p, &x.r, collect, &g), 2);
    assert_string_equal(g.f[0].rule->id, "ndpr-recycled-10pct");
    assert_true(g.f[0].pass);
    assert_string_equal(g.f[1].rule->id, "ndpr-traced");
    assert_true(g.f[1].pass); /* the untracked iron is not Nd or Pr */
    mt_policy_release(&p);
}

/* ---- documents ---- */

typedef struct event {
    Mintrace__V1__BatchEvent ev;
    Mintrace__V1__BatchInput in[4], *pin[4];
    Mintrace__V1__BatchOutput out[4], *pout[4];
    Mintrace__V1__Document doc[4], *pdoc[4];
} event;

static uint8_t HASH[32] = {1};

static void ev_init(event *e, Mintrace__V1__EventKind kind) {
    memset(e, 0, sizeof(*e));
    mintrace__v1__batch_event__init(&e->ev);
    e->ev.kind = kind;
    e->ev.inputs = e->pin;
    e->ev.outputs = e->pout;
    e->ev.documents = e->pdoc;
}

static void ev_in(event *e, const char *batch) {
    Mintrace__V1__BatchInput *i = &e->in[e->ev.n_inputs];
    mintrace__v1__batch_input__init(i);
    i->batch_id = (char *)batch;
    i->mass_mg = 1;
    e->pin[e->ev.n_inputs++] = i;
}

static void ev_out(event *e, const char *batch, const char *material) {
    Mintrace__V1__BatchOutput *o = &e->out[e->ev.n_outputs];
    mintrace__v1__batch_output__init(o);
    o->batch_id = (char *)batch;
    o->material = (char *)material;
    o->mass_mg = 1;
    e->pout[e->ev.n_outputs++] = o;
}

static void ev_doc(event *e, const char *kind, int hashed) {
    Mintrace__V1__Document *d = &e->doc[e->ev.n_documents];
    mintrace__v1__document__init(d);
    d->kind = (char *)kind;
    d->uri = "https://example.org/doc";
    if (hashed) d->sha256 = (ProtobufCBinaryData){32, HASH};
    e->pdoc[e->ev.n_documents++] = d;
}

#define K(x) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##x
#define DD_ANY                                                                                                   \
    "{\"policy_id\": \"t\", \"description\": \"d\", \"rules\": [{\"id\": \"dd\", \"kind\": \"documents\", "   \
    "\"severity\": \"warning\", \"description\": \"d\", \"event_kinds\": [\"EXTRACT\"], "                       \
    "\"documents\": [\"due-diligence-report\", \"certificate\"], \"require\": \"any\"}]}"

/* An EXTRACT with a hashed certificate passes; without any, or with an unhashed one, it fails
 * at its own index; the oxide made from both fails at the lacking one's index. */
static void documents_extract_and_lineage(void **state) {
    (void)state;
    mt_policy p = load(DD_ANY);
    mt_comply_docs *d = mt_comply_docs_new(&p);
    event e;
    got g = {0};
    mt_comply_docs_begin(d);
    ev_init(&e, K(EXTRACT));
    ev_out(&e, "ORE-A", "ore");
    ev_doc(&e, "certificate", 1);
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 10, collect, &g), 1);
    assert_true(g.f[0].pass);
    assert_int_equal(g.f[0].ledger_index, 10);
    assert_int_equal(g.f[0].measured_mg, 0);
    ev_init(&e, K(EXTRACT));
    ev_out(&e, "ORE-B", "ore");
    ev_doc(&e, "due-diligence-report", 0); /* not pinned by a hash: does not count */
    ev_doc(&e, "assay", 1);
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 11, collect, &g), 1);
    assert_false(g.f[1].pass);
    assert_int_equal(g.f[1].ledger_index, 11);
    assert_int_equal(g.f[1].measured_mg, 1);
    assert_string_equal(g.f[1].batch_id, "ORE-B");
    assert_non_null(strstr(g.f[1].detail, "ledger index 11"));
    ev_init(&e, K(PROCESS)); /* not a listed kind: judged by its lineage only */
    ev_in(&e, "ORE-A");
    ev_in(&e, "ORE-B");
    ev_out(&e, "OX-1", "oxide");
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 12, collect, &g), 1);
    assert_false(g.f[2].pass);
    assert_int_equal(g.f[2].ledger_index, 11);
    ev_init(&e, K(PROCESS));
    ev_in(&e, "ORE-A");
    ev_out(&e, "OX-2", "oxide");
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 13, collect, &g), 1);
    assert_true(g.f[3].pass);
    assert_int_equal(g.f[3].ledger_index, 13);
    mt_comply_docs_commit(d);
    mt_comply_docs_free(d);
    mt_policy_release(&p);
}

/* require all: one of two documents is not enough. */
static void documents_require_all(void **state) {
    (void)state;
    const char *text = "{\"policy_id\": \"t\", \"description\": \"d\", \"rules\": [{\"id\": \"dd\", \"kind\": "
                       "\"documents\", \"severity\": \"error\", \"description\": \"d\", \"event_kinds\": [\"EXTRACT\", "
                       "\"RECYCLE\"], \"documents\": [\"licence\", \"assay\"], \"require\": \"all\"}]}";
    mt_policy p = load(text);
    mt_comply_docs *d = mt_comply_docs_new(&p);
    event e;
    got g = {0};
    ev_init(&e, K(RECYCLE));
    ev_out(&e, "REC-1", "oxide");
    ev_doc(&e, "licence", 1);
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 1, collect, &g), 1);
    assert_false(g.f[0].pass);
    ev_doc(&e, "assay", 1);
    e.out[0].batch_id = "REC-2";
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 2, collect, &g), 1);
    assert_true(g.f[1].pass);
    mt_comply_docs_free(d);
    mt_policy_release(&p);
}

/* A TRANSFER without its bill of lading fails the batch it moves, once; materials filter. */
static void documents_on_custody_moves(void **state) {
    (void)state;
    const char *text = "{\"policy_id\": \"t\", \"description\": \"d\", \"rules\": [{\"id\": \"bol\", \"kind\": "
                       "\"documents\", \"severity\": \"info\", \"description\": \"d\", \"materials\": [\"magnet\"], "
                       "\"event_kinds\": [\"TRANSFER\"], \"documents\": [\"bill-of-lading\"], \"require\": \"all\"}]}";
    mt_policy p = load(text);
    mt_comply_docs *d = mt_comply_docs_new(&p);
    event e;
    got g = {0};
    ev_init(&e, K(MANUFACTURE));
    ev_out(&e, "MAG-1", "magnet");
    ev_out(&e, "SW-1", "swarf");
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 1, collect, &g), 1); /* only the magnet is judged */
    assert_true(g.f[0].pass);
    assert_string_equal(g.f[0].batch_id, "MAG-1");
    ev_init(&e, K(TRANSFER));
    ev_in(&e, "MAG-1");
    ev_doc(&e, "bill-of-lading", 1);
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 2, collect, &g), 0); /* documented: nothing changes */
    ev_init(&e, K(TRANSFER));
    ev_in(&e, "MAG-1");
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 3, collect, &g), 1);
    assert_false(g.f[1].pass);
    assert_int_equal(g.f[1].ledger_index, 3);
    assert_string_equal(g.f[1].material, "magnet");
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 4, collect, &g), 0); /* failing already */
    mt_comply_docs_free(d);
    mt_policy_release(&p);
}

/* State follows commits: an aborted event's outputs are forgotten, a committed one's kept. */
static void documents_state_follows_commits(void **state) {
    (void)state;
    mt_policy p = load(DD_ANY);
    mt_comply_docs *d = mt_comply_docs_new(&p);
    event e, m;
    got g = {0};
    mt_comply_docs_begin(d);
    ev_init(&e, K(EXTRACT));
    ev_out(&e, "ORE-B", "ore"); /* no documents: fails */
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 5, collect, &g), 1);
    mt_comply_docs_abort(d);
    ev_init(&m, K(PROCESS));
    ev_in(&m, "ORE-B");
    ev_out(&m, "OX-1", "oxide");
    assert_int_equal(mt_comply_docs_event(d, &m.ev, 6, collect, &g), 1);
    assert_true(g.f[1].pass); /* ORE-B's failure was aborted: unknown, clean */
    mt_comply_docs_abort(d);
    assert_int_equal(mt_comply_docs_event(d, &e.ev, 5, collect, &g), 1);
    mt_comply_docs_commit(d);
    mt_comply_docs_begin(d);
    assert_int_equal(mt_comply_docs_event(d, &m.ev, 6, collect, &g), 1);
    assert_false(g.f[3].pass);
    assert_int_equal(g.f[3].ledger_index, 5);
    mt_comply_docs_free(d);
    mt_policy_release(&p);
}

/* A ledger entry's bytes: accepted events are applied, anything else ignored, garbage refused. */
static void documents_from_ledger_entries(void **state) {
    (void)state;
    mt_policy p = load(DD_ANY);
    mt_comply_docs *d = mt_comply_docs_new(&p);
    event e;
    got g = {0};
    ev_init(&e, K(EXTRACT));
    ev_out(&e, "ORE-A", "ore");
    size_t evlen, envlen, aelen;
    uint8_t *evb = mt_message_pack(&e.ev.base, &evlen);
    Mintrace__V1__Envelope env = MINTRACE__V1__ENVELOPE__INIT;
    env.payload = (ProtobufCBinaryData){evlen, evb};
    uint8_t *envb = mt_message_pack(&env.base, &envlen);
    Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
    ae.envelope = (ProtobufCBinaryData){envlen, envb};
    Mintrace__V1__LedgerEntry le = MINTRACE__V1__LEDGER_ENTRY__INIT;
    le.index = 42;
    le.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
    le.event = &ae;
    uint8_t *leb = mt_message_pack(&le.base, &aelen);
    assert_int_equal(mt_comply_docs_entry(d, leb, aelen, collect, &g), 1);
    assert_false(g.f[0].pass);
    assert_int_equal(g.f[0].ledger_index, 42);
    le.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION;
    le.rejection = (ProtobufCBinaryData){3, (uint8_t *)"abc"};
    free(leb);
    leb = mt_message_pack(&le.base, &aelen);
    assert_int_equal(mt_comply_docs_entry(d, leb, aelen, collect, &g), 0);
    assert_int_equal(mt_comply_docs_entry(d, "\xff\xff\xff", 3, collect, &g), -1);
    free(leb);
    free(envb);
    free(evb);
    mt_comply_docs_free(d);
    mt_policy_release(&p);
}

/* The wire: key "<batch>#<rule>", every field as judged. */
static void finding_packs(void **state) {
    (void)state;
    mt_policy p;
    char err[512];
    assert_int_equal(mt_policy_load(&p, "deploy/policies/ndfeb-india.json", err, sizeof(err)), 0);
    mt_finding f = {.batch_id = "MAG-1", .material = "sintered-NdFeB-magnet", .rule = &p.rules[0], .pass = 0,
                    .ledger_index = 77, .measured_mg = 99, .basis_mg = 1000, .measured_ppm = 99000};
    snprintf(f.detail, sizeof(f.detail), "why");
    uint8_t *val;
    size_t vlen;
    char *key;
    assert_int_equal(mt_finding_pack(&p, &f, &val, &vlen, &key), 0);
    assert_string_equal(key, "MAG-1#ndpr-recycled-10pct");
    Mintrace__V1__Finding *m = mintrace__v1__finding__unpack(NULL, vlen, val);
    assert_non_null(m);
    assert_string_equal(m->batch_id, "MAG-1");
    assert_string_equal(m->rule_id, "ndpr-recycled-10pct");
    assert_string_equal(m->policy_id, "ndfeb-india");
    assert_int_equal(m->rule_kind, MINTRACE__V1__RULE_KIND__RULE_KIND_RECYCLED_SHARE);
    assert_int_equal(m->status, MINTRACE__V1__FINDING_STATUS__FINDING_STATUS_FAIL);
    assert_int_equal(m->severity, MINTRACE__V1__SEVERITY__SEVERITY_ERROR);
    assert_int_equal(m->ledger_index, 77);
    assert_int_equal(m->measured_mg, 99);
    assert_int_equal(m->basis_mg, 1000);
    assert_int_equal(m->measured_ppm, 99000);
    assert_int_equal(m->threshold_ppm, 100000);
    assert_string_equal(m->material, "sintered-NdFeB-magnet");
    assert_string_equal(m->detail, "why");
    mintrace__v1__finding__free_unpacked(m, NULL);
    free(val);
    free(key);
    mt_policy_release(&p);
}

/* A batch that failed and now passes (here: a tiny batch whose rounding moved on a loss, R1) gets a
 * PASS under the same key, so the compacted topic keeps the PASS. */
static void pass_after_fail_same_key(void **state) {
    (void)state;
    mt_policy p = load("{\"policy_id\": \"t\", \"description\": \"d\", \"rules\": [{\"id\": \"r\", "
                       "\"kind\": \"recycled_share\", \"severity\": \"error\", \"description\": \"d\", "
                       "\"elements\": [\"Nd\"], \"class\": \"any\", \"min_ppm\": 400000}]}");
    rec x;
    got g = {0};
    rec_init(&x, "MAG-T", "magnet", 20);
    add_el(&x, "Nd", 3, 1, 0, 0, 0); /* 1 of 3: 333,333 ppm */
    assert_int_equal(mt_comply_record(&p, &x.r, collect, &g), 1);
    x.r.ledger_index = 21;
    x.el[0].e.total_mg = 2; /* a loss took the not-recycled mg: 1 of 2 */
    assert_int_equal(mt_comply_record(&p, &x.r, collect, &g), 1);
    assert_false(g.f[0].pass);
    assert_true(g.f[1].pass);
    uint8_t *v0, *v1;
    size_t l0, l1;
    char *k0, *k1;
    assert_int_equal(mt_finding_pack(&p, &g.f[0], &v0, &l0, &k0), 0);
    assert_int_equal(mt_finding_pack(&p, &g.f[1], &v1, &l1, &k1), 0);
    assert_string_equal(k0, k1);
    Mintrace__V1__Finding *m = mintrace__v1__finding__unpack(NULL, l1, v1);
    assert_int_equal(m->status, MINTRACE__V1__FINDING_STATUS__FINDING_STATUS_PASS);
    assert_int_equal(m->ledger_index, 21);
    mintrace__v1__finding__free_unpacked(m, NULL);
    free(v0);
    free(v1);
    free(k0);
    free(k1);
    mt_policy_release(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recycled_share_boundary),
        cmocka_unit_test(recycled_share_class),
        cmocka_unit_test(recycled_share_exact_in_128_bits),
        cmocka_unit_test(country_share_boundary),
        cmocka_unit_test(chain_complete_boundary),
        cmocka_unit_test(no_verdict_when_not_applicable),
        cmocka_unit_test(record_judged_by_every_rule),
        cmocka_unit_test(documents_extract_and_lineage),
        cmocka_unit_test(documents_require_all),
        cmocka_unit_test(documents_on_custody_moves),
        cmocka_unit_test(documents_state_follows_commits),
        cmocka_unit_test(documents_from_ledger_entries),
        cmocka_unit_test(finding_packs),
        cmocka_unit_test(pass_after_fail_same_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
