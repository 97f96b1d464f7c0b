/* test_audit.c - the auditor (audit.h): a simulated history built in memory exactly as the
 * aggregator writes it audits clean; each tamper an attacker with write access could make is
 * named by its exact finding kind and ledger index; the report does not depend on threads. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixtures.h" /* fx_spilling(), fx_run_group_twice() */
#include "audit.h"
#include "codec.h"
#include "journal.h"
#include "ledger.h"
#include "merkle.h"
#include "notary.h"
#include "provenance.h"
#include "registry.h"
#include "simulate.h"
#include "stages.h"
#include "validate.h"

#define NET      "audit-test"
#define SEED     5
#define T0       1790000000000LL
#define CHAINS   3
#define CP_EVERY 10

/* ---- a history as the topics hold it ---- */

typedef struct msg {
    uint8_t *b;
    size_t len;
} msg;

typedef struct list {
    msg *v;
    size_t n, cap;
} list;

static void list_add(list *l, const uint8_t *b, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    l->v[l->n].b = malloc(len ? len : 1);
    assert_non_null(l->v[l->n].b);
    memcpy(l->v[l->n].b, b, len);
    l->v[l->n++].len = len;
}

static void list_free(list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].b);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static list list_copy(const list *l) {
    list c = {0};
    for (size_t i = 0; i < l->n; i++) list_add(&c, l->v[i].b, l->v[i].len);
    return c;
}

typedef struct history {
    list entries, checkpoints, provenance, receipts;
    list attested; /* every attested event offered, in order (for tampering) */
} history;

static void history_free(history *h) {
    list_free(&h->entries);
    list_free(&h->checkpoints);
    list_free(&h->provenance);
    list_free(&h->receipts);
    list_free(&h->attested);
}

static history history_copy(const history *h) {
    return (history){list_copy(&h->entries), list_copy(&h->checkpoints), list_copy(&h->provenance),
                     list_copy(&h->receipts), list_copy(&h->attested)};
}

/* ---- the world: the simulated network's keys and registry ---- */

typedef struct world {
    mt_keypair gov, notary, aggregator, stranger;
    uint64_t forced_version; /* nonzero: the notary attests anything, naming this registry version */
    uint8_t *reg_env;
    size_t reg_len;
    mt_registry *reg;
} world;

static world *world_new(void) {
    world *w = calloc(1, sizeof(*w));
    char err[256];
    assert_non_null(w);
    assert_int_equal(mt_sim_key(SEED, "governance", &w->gov), 0);
    assert_int_equal(mt_sim_key(SEED, "NOTARY-1", &w->notary), 0);
    assert_int_equal(mt_sim_key(SEED, "AGGREGATOR-1", &w->aggregator), 0);
    assert_int_equal(mt_keypair_generate(&w->stranger), 0);
    assert_int_equal(mt_sim_registry(SEED, NET, &w->reg_env, &w->reg_len), 0);
    w->reg = mt_registry_from_envelope(w->reg_env, w->reg_len, "sim", w->gov.pk, NET, err, sizeof(err));
    assert_non_null(w->reg);
    return w;
}

static void world_free(world *w) {
    mt_registry_destroy(w->reg);
    free(w->reg_env);
    free(w);
}

/* ---- a small aggregator: what stages.c writes, without Kafka ---- */

typedef struct agg {
    world *w;
    mt_ledger *l;
    mt_merkle_frontier tree;
    uint64_t cp_size;
    history *h;
    int64_t offset;
} agg;

static void seal(agg *g, const ProtobufCMessage *m, const char *type, list *to) {
    size_t plen, elen;
    uint8_t *p = mt_message_pack(m, &plen), *env = NULL;
    assert_non_null(p);
    assert_int_equal(mt_envelope_seal(&g->w->aggregator, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR, type, p,
                                      plen, &env, &elen),
                     0);
    list_add(to, env, elen);
    free(p);
    free(env);
}

static void checkpoint(agg *g) {
    unsigned char root[32], proot[32];
    mt_merkle_frontier_root(&g->tree, root);
    assert_int_equal(mt_ledger_provenance_root(g->l, proot), 0);
    Mintrace__V1__Checkpoint cp = MINTRACE__V1__CHECKPOINT__INIT;
    cp.network_id = NET;
    cp.tree_size = mt_merkle_frontier_size(&g->tree);
    cp.root = (ProtobufCBinaryData){32, root};
    cp.provenance_root = (ProtobufCBinaryData){32, proot};
    cp.time_ms = T0 + 100000;
    cp.registry_version = mt_ledger_registry_version(g->l);
    seal(g, &cp.base, MT_PAYLOAD_CHECKPOINT, &g->h->checkpoints);
    g->cp_size = cp.tree_size;
}

static void on_decision(void *arg, const mt_decision *d) {
    agg *g = arg;
    uint8_t *entry;
    size_t len;
    unsigned char leaf[32], path[MT_MERKLE_MAX_INCLUSION][32];
    assert_int_equal(mt_journal_entry(d, T0 + 99000, &entry, &len, leaf), 0);
    list_add(&g->h->entries, entry, len);
    free(entry);
    size_t path_len = mt_merkle_newest_path(&g->tree, path);
    mt_merkle_frontier_append(&g->tree, leaf);
    if (d->kind == MT_DECIDED_ACCEPTED) {
        Mintrace__V1__Receipt r = MINTRACE__V1__RECEIPT__INIT;
        ProtobufCBinaryData proof[MT_MERKLE_MAX_INCLUSION];
        r.facility_id = (char *)d->verdict.facility_id;
        r.event_id = (ProtobufCBinaryData){32, (uint8_t *)d->verdict.event_id};
        r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_ACCEPTED;
        r.ledger_index = d->index;
        r.time_ms = T0 + 99000;
        r.tree_size = d->index + 1;
        for (size_t i = 0; i < path_len; i++) proof[i] = (ProtobufCBinaryData){32, path[i]};
        r.n_inclusion_proof = path_len;
        r.inclusion_proof = proof;
        seal(g, &r.base, MT_PAYLOAD_RECEIPT, &g->h->receipts);
    }
    for (size_t i = 0; i < d->n_changed; i++) {
        Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(g->l, d->changed[i]);
        size_t plen;
        uint8_t *p = mt_message_pack(&rec->base, &plen);
        list_add(&g->h->provenance, p, plen);
        free(p);
        mt_prov_record_free(rec);
    }
}

static void agg_offer(agg *g, const uint8_t *att, size_t alen) {
    list_add(&g->h->attested, att, alen);
    assert_int_equal(mt_ledger_offer(g->l, g->w->reg, NET, att, alen, "t.events.attested", 0, g->offset++, on_decision, g), 0);
    mt_ledger_commit(g->l);
    if (mt_merkle_frontier_size(&g->tree) - g->cp_size >= CP_EVERY) checkpoint(g);
}

/* The attested form of a submitted envelope (validate, then the notary). */
static uint8_t *attest(world *w, const uint8_t *env, size_t len, size_t *alen) {
    mt_verdict v;
    uint8_t *att;
    if (w->forced_version) { /* a notary that judges nothing: the attestation made by hand */
        Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, len, env);
        unsigned char id[32], eh[32];
        mt_hash(e->payload.data, e->payload.len, id);
        mt_hash(env, len, eh);
        mintrace__v1__envelope__free_unpacked(e, NULL);
        Mintrace__V1__Attestation a = MINTRACE__V1__ATTESTATION__INIT;
        a.network_id = NET;
        a.event_id = (ProtobufCBinaryData){32, id};
        a.envelope_hash = (ProtobufCBinaryData){32, eh};
        a.notary_time_ms = T0 + 86400000LL * 30;
        a.registry_version = w->forced_version;
        size_t plen, slen;
        uint8_t *p = mt_message_pack(&a.base, &plen), *sealed;
        assert_int_equal(mt_envelope_seal(&w->notary, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY,
                                          MT_PAYLOAD_ATTESTATION, p, plen, &sealed, &slen),
                         0);
        Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
        ae.envelope = (ProtobufCBinaryData){len, (uint8_t *)env};
        ae.attestation = (ProtobufCBinaryData){slen, sealed};
        att = mt_message_pack(&ae.base, alen);
        free(p);
        free(sealed);
        return att;
    }
    assert_int_equal(mt_validate_envelope(w->reg, NET, env, len, T0 + 86400000LL * 30, &v), 0);
    assert_int_equal(mt_notary_attest(&w->notary, w->reg, NET, env, len, T0 + 86400000LL * 30, &att, alen, &v), 0);
    return att;
}

/* A history of `chains` simulated loops starting at t0: a registry entry, then every event. */
static history build(world *w, int chains, int64_t t0) {
    history h = {0};
    agg g = {.w = w, .h = &h};
    g.l = mt_ledger_new(NULL);
    assert_non_null(g.l);
    mt_ledger_set_governance(g.l, w->gov.pk);
    mt_merkle_frontier_init(&g.tree);
    assert_int_equal(mt_ledger_note_registry(g.l, NET, w->reg_env, w->reg_len, "t.registry", 0, 0, on_decision, &g), 0);
    mt_ledger_commit(g.l);
    mt_sim *s = mt_sim_new(SEED, NET, chains, t0);
    uint8_t *env;
    size_t len;
    const char *fac;
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        size_t alen;
        uint8_t *att = attest(w, env, len, &alen);
        agg_offer(&g, att, alen);
        free(att);
        free(env);
    }
    if (g.cp_size != mt_merkle_frontier_size(&g.tree)) checkpoint(&g);
    mt_sim_free(s);
    mt_ledger_free(g.l);
    return h;
}

/* ---- auditing a history ---- */

static mt_audit *audit(world *w, const history *h, const uint8_t *trusted, size_t tlen, int threads, size_t batch) {
    char err[256];
    mt_audit_conf conf = {.network_id = NET, .gov_pk = w->gov.pk, .threads = threads, .batch = batch,
                          .spill = fx_spilling()};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    assert_non_null(a);
    for (size_t i = 0; i < h->checkpoints.n; i++)
        assert_int_equal(mt_audit_checkpoint(a, h->checkpoints.v[i].b, h->checkpoints.v[i].len, "t.checkpoints", 0, (int64_t)i), 0);
    for (size_t i = 0; i < h->provenance.n; i++)
        assert_int_equal(mt_audit_provenance(a, h->provenance.v[i].b, h->provenance.v[i].len, "t.provenance", 0, (int64_t)i), 0);
    if (trusted) assert_int_equal(mt_audit_trusted_checkpoint(a, trusted, tlen, "trusted.cp"), 0);
    for (size_t i = 0; i < h->entries.n; i++)
        assert_int_equal(mt_audit_entry(a, h->entries.v[i].b, h->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    for (size_t i = 0; i < h->receipts.n; i++)
        assert_int_equal(mt_audit_receipt(a, h->receipts.v[i].b, h->receipts.v[i].len, "t.receipts", 0, (int64_t)i, 0), 0);
    assert_true(mt_audit_finish(a) >= 0);
    return a;
}

static void print_findings(const mt_audit *a) {
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    for (size_t i = 0; i < n && i < 8; i++)
        fprintf(stderr, "  finding %zu: %s index %lld rule %s: %s\n", i, f[i].kind, (long long)f[i].index, f[i].rule,
                f[i].detail);
}

/* The first finding is `kind` at `index`. */
static void expect_first(const mt_audit *a, const char *kind, int64_t index) {
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    if (getenv("AUDIT_TEST_VERBOSE")) print_findings(a);
    if (n == 0 || strcmp(f[0].kind, kind) != 0 || f[0].index != index) {
        print_findings(a);
        fail_msg("expected %s at %lld first", kind, (long long)index);
    }
}

/* Some finding is `kind` at `index`. */
static void expect_some(const mt_audit *a, const char *kind, int64_t index) {
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].kind, kind) == 0 && f[i].index == index) return;
    print_findings(a);
    fail_msg("expected %s at %lld", kind, (long long)index);
}

typedef struct fixture {
    world *w;
    history h;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof(*fx));
    fx->w = world_new();
    fx->h = build(fx->w, CHAINS, T0);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    history_free(&fx->h);
    world_free(fx->w);
    free(fx);
    return 0;
}

/* The index of the first accepted-event entry at or after from whose event is of kind. */
static size_t find_event_entry(const history *h, size_t from, int kind) {
    for (size_t i = from; i < h->entries.n; i++) {
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[i].len, h->entries.v[i].b);
        assert_non_null(e);
        int found = 0;
        if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
            Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
            Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
            found = kind < 0 || (int)ev->kind == kind;
            mintrace__v1__batch_event__free_unpacked(ev, NULL);
            mintrace__v1__envelope__free_unpacked(env, NULL);
        }
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        if (found) return i;
    }
    fail_msg("no such event entry");
    return 0;
}

/* Like find_event_entry, or the number of entries when there is none. */
static size_t find_event_entry_or_end(const history *h, size_t from, int kind) {
    for (size_t i = from; i < h->entries.n; i++) {
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[i].len, h->entries.v[i].b);
        int found = 0;
        if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
            Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
            Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
            found = (int)ev->kind == kind;
            mintrace__v1__batch_event__free_unpacked(ev, NULL);
            mintrace__v1__envelope__free_unpacked(env, NULL);
        }
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        if (found) return i;
    }
    return h->entries.n;
}

/* Rewrites entry i's facility envelope through fn (leaf_hash left as it was). */
static void tamper_envelope(history *h, size_t i, void (*fn)(Mintrace__V1__Envelope *env)) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[i].len, h->entries.v[i].b);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    fn(env);
    size_t elen, len;
    uint8_t *eb = mt_message_pack(&env->base, &elen);
    ProtobufCBinaryData old = e->event->envelope;
    e->event->envelope = (ProtobufCBinaryData){elen, eb};
    uint8_t *b = mt_message_pack(&e->base, &len);
    e->event->envelope = old;
    free(h->entries.v[i].b);
    h->entries.v[i] = (msg){b, len};
    free(eb);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
}

static void flip_payload(Mintrace__V1__Envelope *env) {
    /* a byte of the facility id: the event still decodes, and names another facility */
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    assert_non_null(ev);
    size_t n = strlen(ev->facility_id), at = 0;
    for (size_t i = 0; i + n <= env->payload.len && !at; i++)
        if (memcmp(env->payload.data + i, ev->facility_id, n) == 0) at = i + 1;
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    assert_true(at > 0);
    env->payload.data[at] ^= 0x01;
}

static void flip_signature(Mintrace__V1__Envelope *env) {
    env->signatures[0]->sig.data[10] ^= 0x40;
}

/* ---- tests ---- */

/* A history exactly as the aggregator writes it audits clean, every commitment checked. */
static void test_clean(void **state) {
    fixture *fx = *state;
    mt_audit *a = audit(fx->w, &fx->h, NULL, 0, 0, 0);
    print_findings(a);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    const mt_audit_totals *t = mt_audit_get_totals(a);
    assert_int_equal(t->entries, fx->h.entries.n);
    assert_int_equal(t->accepted, CHAINS * 14);
    assert_int_equal(t->registry_versions, 1);
    assert_int_equal(t->checkpoints_verified, fx->h.checkpoints.n);
    assert_int_equal(t->checkpoint_size, fx->h.entries.n);
    assert_int_equal(t->receipts, CHAINS * 14);
    assert_int_equal(t->provenance_records, fx->h.provenance.n);
    assert_true(t->signatures >= 2 * (uint64_t)CHAINS * 14 + fx->h.checkpoints.n);
    const mt_audit_material *m;
    assert_true(mt_audit_materials(a, &m) >= 4);
    const mt_audit_flow *fl;
    assert_true(mt_audit_flows(a, &fl) >= 3);
    size_t cplen;
    assert_non_null(mt_audit_newest_checkpoint(a, &cplen));
    mt_audit_free(a);
}

/* One byte of an accepted event's payload: ALTERED_PAYLOAD at its index, first. */
static void test_altered_payload(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 5, -1);
    tamper_envelope(&h, i, flip_payload);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "ALTERED_PAYLOAD", (int64_t)i);
    mt_audit_free(a);
    history_free(&h);
}

/* One bit of the facility signature: BAD_SIGNATURE at its index. */
static void test_bad_signature(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 7, -1);
    tamper_envelope(&h, i, flip_signature);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "BAD_SIGNATURE", (int64_t)i);
    mt_audit_free(a);
    history_free(&h);
}

/* An entry dropped from the topic: INDEX_GAP at its index. */
static void test_dropped(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = 12;
    free(h.entries.v[i].b);
    memmove(&h.entries.v[i], &h.entries.v[i + 1], (h.entries.n - i - 1) * sizeof(msg));
    h.entries.n--;
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "INDEX_GAP", (int64_t)i);
    /* the receipt of the dropped event names it: the journal holds nothing at its index */
    expect_some(a, "MISSING_EVENT", (int64_t)i);
    mt_audit_free(a);
    history_free(&h);
}

/* Two entries swapped in the topic: REORDERED at the one that came late. */
static void test_swapped(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = 20;
    msg t = h.entries.v[i];
    h.entries.v[i] = h.entries.v[i + 1];
    h.entries.v[i + 1] = t;
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "REORDERED", (int64_t)i);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 1); /* replayed in index order: nothing else */
    mt_audit_free(a);
    history_free(&h);
}

/* An entry written twice: DUPLICATED at its index. */
static void test_duplicated(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = 9;
    list_add(&h.entries, h.entries.v[i].b, h.entries.v[i].len); /* a copy at the end, moved right after i */
    msg again = h.entries.v[h.entries.n - 1];
    memmove(&h.entries.v[i + 2], &h.entries.v[i + 1], (h.entries.n - i - 2) * sizeof(msg));
    h.entries.v[i + 1] = again;
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "DUPLICATED", (int64_t)i);
    mt_audit_free(a);
    history_free(&h);
}

/* Replaces checkpoint i of h by a copy changed by `change` and signed by `by`; returns its size. */
static uint64_t resign_checkpoint(history *h, size_t i, void (*change)(Mintrace__V1__Checkpoint *), const mt_keypair *by) {
    msg *m = &h->checkpoints.v[i];
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, m->len, m->b);
    Mintrace__V1__Checkpoint *cp = mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data);
    uint64_t size = cp->tree_size;
    change(cp);
    size_t plen, elen;
    uint8_t *p = mt_message_pack(&cp->base, &plen), *e2;
    assert_int_equal(mt_envelope_seal(by, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR, MT_PAYLOAD_CHECKPOINT, p,
                                      plen, &e2, &elen),
                     0);
    free(m->b);
    *m = (msg){e2, elen};
    free(p);
    mintrace__v1__checkpoint__free_unpacked(cp, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    return size;
}

static void flip_root(Mintrace__V1__Checkpoint *cp) { cp->root.data[0] ^= 1; }
static void next_registry_version(Mintrace__V1__Checkpoint *cp) { cp->registry_version += 1; }

/* A checkpoint whose root was changed (or signed by a stranger): FORGED_CHECKPOINT. */
static void test_forged_checkpoint(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    uint64_t size = resign_checkpoint(&h, 1, flip_root, &fx->w->stranger);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "FORGED_CHECKPOINT", (int64_t)size - 1);
    mt_audit_free(a);
    history_free(&h);
}

/* A checkpoint the aggregator signed that names another registry version than the journal has
 * in force at its size: FORGED_CHECKPOINT (a verifier trusting it would judge keys wrongly). */
static void test_checkpoint_wrong_registry_version(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    uint64_t size = resign_checkpoint(&h, 1, next_registry_version, &fx->w->aggregator);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "FORGED_CHECKPOINT", (int64_t)size - 1);
    mt_audit_free(a);
    history_free(&h);
}

/* An old checkpoint published again as the newest: ROLLED_BACK_CHECKPOINT. */
static void test_rolled_back_checkpoint(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    list_add(&h.checkpoints, h.checkpoints.v[0].b, h.checkpoints.v[0].len);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "ROLLED_BACK_CHECKPOINT", CP_EVERY - 1);
    mt_audit_free(a);
    history_free(&h);
}

static Mintrace__V1__ProvenanceRecord *record(const msg *m) {
    Mintrace__V1__ProvenanceRecord *r = mintrace__v1__provenance_record__unpack(NULL, m->len, m->b);
    assert_non_null(r);
    return r;
}

/* A provenance record with a mass nobody computed: FORGED_PROVENANCE at its ledger index. */
static void test_forged_provenance(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    msg *m = &h.provenance.v[h.provenance.n / 2];
    Mintrace__V1__ProvenanceRecord *r = record(m);
    int64_t index = (int64_t)r->ledger_index;
    r->mass_mg += 1000;
    size_t len;
    uint8_t *b = mt_message_pack(&r->base, &len);
    free(m->b);
    *m = (msg){b, len};
    mintrace__v1__provenance_record__free_unpacked(r, NULL);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "FORGED_PROVENANCE", index);
    mt_audit_free(a);
    history_free(&h);
}

/* An older true record of a batch published again as its newest: STALE_PROVENANCE. */
static void test_stale_provenance(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    /* the first record of a batch that has a later one */
    size_t i, j = 0;
    for (i = 0; i < h.provenance.n && !j; i++) {
        Mintrace__V1__ProvenanceRecord *r = record(&h.provenance.v[i]);
        for (size_t k = i + 1; k < h.provenance.n && !j; k++) {
            Mintrace__V1__ProvenanceRecord *q = record(&h.provenance.v[k]);
            if (!strcmp(q->batch_id, r->batch_id) && q->ledger_index != r->ledger_index) j = k;
            mintrace__v1__provenance_record__free_unpacked(q, NULL);
        }
        mintrace__v1__provenance_record__free_unpacked(r, NULL);
    }
    assert_true(j > 0);
    list_add(&h.provenance, h.provenance.v[i - 1].b, h.provenance.v[i - 1].len);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 1);
    assert_string_equal(f[0].kind, "STALE_PROVENANCE");
    mt_audit_free(a);
    history_free(&h);
}

/* An accepted event journaled instead as an aggregator rejection: CENSORED at its index. */
static void test_censored(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 15, -1);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h.entries.v[i].len, h.entries.v[i].b);
    size_t blen, len;
    uint8_t *b = mt_message_pack(&e->event->base, &blen), *entry;
    mt_decision d = {.kind = MT_DECIDED_REJECTED, .index = i, .bytes = b, .len = blen, .source_topic = "t"};
    mt_verdict_reject(&d.verdict, MINTRACE__V1__REASON_CODE__REASON_CODE_OVERDRAWN, "not enough left");
    unsigned char leaf[32];
    assert_int_equal(mt_journal_entry(&d, T0, &entry, &len, leaf), 0);
    free(h.entries.v[i].b);
    h.entries.v[i] = (msg){entry, len};
    free(b);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "CENSORED", (int64_t)i);
    const mt_finding *f;
    mt_audit_findings(a, &f);
    assert_string_equal(f[0].rule, "OVERDRAWN");
    mt_audit_free(a);
    history_free(&h);
}

/* Appends, journaled as accepted, the event of entry i changed by fn and made the next event of
 * its facility's chain, signed with the facility's key and attested by the notary: what a
 * writer holding those keys could append. Returns its index. */
static int64_t append_crafted(fixture *fx, history *h, size_t i, void (*fn)(Mintrace__V1__BatchEvent *ev)) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[i].len, h->entries.v[i].b);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    /* the facility's chain head at the end of the history */
    uint64_t seq = 0;
    unsigned char head[32];
    for (size_t k = 0; k < h->entries.n; k++) {
        Mintrace__V1__LedgerEntry *x = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[k].len, h->entries.v[k].b);
        if (x->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
            Mintrace__V1__Envelope *xe = mintrace__v1__envelope__unpack(NULL, x->event->envelope.len, x->event->envelope.data);
            Mintrace__V1__BatchEvent *xv = mintrace__v1__batch_event__unpack(NULL, xe->payload.len, xe->payload.data);
            if (!strcmp(xv->facility_id, ev->facility_id) && xv->seq > seq) {
                seq = xv->seq;
                mt_hash(xe->payload.data, xe->payload.len, head);
            }
            mintrace__v1__batch_event__free_unpacked(xv, NULL);
            mintrace__v1__envelope__free_unpacked(xe, NULL);
        }
        mintrace__v1__ledger_entry__free_unpacked(x, NULL);
    }
    size_t plen, slen, alen, len;
    uint8_t *p, *signed_env, *att, *entry;
    {
        /* changed on a repacked copy, so the unpacked event is freed as it was made */
        Mintrace__V1__BatchEvent *c = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
        c->seq = seq + 1;
        ProtobufCBinaryData old_prev = c->prev;
        c->prev = (ProtobufCBinaryData){32, head};
        char ids[8][160], *orig[8];
        size_t nout = c->n_outputs < 8 ? c->n_outputs : 8;
        for (size_t k = 0; k < nout; k++) { /* new output ids: an id is never made twice */
            snprintf(ids[k], sizeof(ids[k]), "%s-again", c->outputs[k]->batch_id);
            orig[k] = c->outputs[k]->batch_id;
            c->outputs[k]->batch_id = ids[k];
        }
        size_t n_in = c->n_inputs, n_out = c->n_outputs;
        char *in_ids[16];
        for (size_t k = 0; k < n_in && k < 16; k++) in_ids[k] = c->inputs[k]->batch_id;
        fn(c); /* may point strings elsewhere and shorten the lists: all put back below */
        p = mt_message_pack(&c->base, &plen);
        c->n_inputs = n_in;
        c->n_outputs = n_out;
        for (size_t k = 0; k < n_in && k < 16; k++) c->inputs[k]->batch_id = in_ids[k];
        for (size_t k = 0; k < nout; k++) c->outputs[k]->batch_id = orig[k];
        c->prev = old_prev;
        mintrace__v1__batch_event__free_unpacked(c, NULL);
    }
    mt_keypair fk;
    assert_int_equal(mt_sim_key(SEED, ev->facility_id, &fk), 0);
    assert_int_equal(mt_envelope_seal(&fk, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, p, plen,
                                      &signed_env, &slen),
                     0);
    att = attest(fx->w, signed_env, slen, &alen);
    mt_decision d = {.kind = MT_DECIDED_ACCEPTED, .index = h->entries.n, .bytes = att, .len = alen, .source_topic = "t"};
    unsigned char leaf[32];
    assert_int_equal(mt_journal_entry(&d, T0, &entry, &len, leaf), 0);
    int64_t at = (int64_t)h->entries.n;
    list_add(&h->entries, entry, len);
    free(entry), free(att), free(signed_env), free(p);
    mt_keypair_wipe(&fk);
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return at;
}

static void take_twice(Mintrace__V1__BatchEvent *ev) {
    for (size_t k = 0; k < ev->n_inputs; k++) ev->inputs[k]->mass_mg *= 2; /* more than is left, whatever is left */
}

/* A second PROCESS of inputs already used, signed and attested properly but journaled as
 * accepted: DOUBLE_SPEND at its index. */
static void test_double_spend(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    int64_t at = append_crafted(fx, &h, find_event_entry(&h, 0, MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS), take_twice);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "DOUBLE_SPEND", at);
    const mt_finding *f;
    mt_audit_findings(a, &f);
    assert_string_equal(f[0].rule, "OVERDRAWN");
    mt_audit_free(a);
    history_free(&h);
}

/* The batch the last MANUFACTURE made: a second-generation magnet still held (the simulation
 * leaves them in stock). */
static char live_magnet[160];

/* The magnet maker makes its magnets again out of one milligram of a magnet in stock. */
static void from_one_milligram(Mintrace__V1__BatchEvent *ev) {
    assert_true(ev->n_inputs >= 1);
    ev->inputs[0]->batch_id = live_magnet; /* append_crafted puts the original back */
    ev->inputs[0]->mass_mg = 1;
    ev->n_inputs = 1;
    ev->n_outputs = 1;
}

/* Element inflation: magnets with kilograms of Nd out of one milligram of magnet, signed and
 * attested properly but journaled as accepted: INFLATION at its index, ELEMENT_NOT_CONSERVED. */
static void test_inflation(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t last = 0;
    for (size_t i = 0; (i = find_event_entry_or_end(&h, i, MINTRACE__V1__EVENT_KIND__EVENT_KIND_MANUFACTURE)) < h.entries.n; i++)
        last = i;
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h.entries.v[last].len, h.entries.v[last].b);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    snprintf(live_magnet, sizeof(live_magnet), "%s", ev->outputs[0]->batch_id);
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    int64_t at = append_crafted(fx, &h, last, from_one_milligram);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "INFLATION", at);
    const mt_finding *f;
    mt_audit_findings(a, &f);
    assert_string_equal(f[0].rule, "ELEMENT_NOT_CONSERVED");
    mt_audit_free(a);
    history_free(&h);
}

static void no_change(Mintrace__V1__BatchEvent *ev) {
    (void)ev;
}

/* Registry version 2 revokes a refiner's key; an event it signs afterwards, attested by a notary
 * that judged nothing and journaled as accepted: REVOKED_KEY, by the version in force. */
static void test_revoked_key(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 0, MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS);
    /* version 2: the same registry, the PROCESS's facility's keys revoked from T0 + 1 s */
    Mintrace__V1__Envelope *renv = mintrace__v1__envelope__unpack(NULL, fx->w->reg_len, fx->w->reg_env);
    Mintrace__V1__Registry *r = mintrace__v1__registry__unpack(NULL, renv->payload.len, renv->payload.data);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h.entries.v[i].len, h.entries.v[i].b);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    int found = 0;
    for (size_t f = 0; f < r->n_facilities; f++)
        if (!strcmp(r->facilities[f]->facility_id, ev->facility_id))
            for (size_t k = 0; k < r->facilities[f]->n_keys; k++, found++) r->facilities[f]->keys[k]->revoked_at_ms = T0 + 1000;
    assert_true(found > 0);
    r->version = 2;
    uint8_t *reg2;
    size_t reg2_len, len;
    char err[256];
    assert_int_equal(mt_registry_sign(r, &fx->w->gov, &reg2, &reg2_len, err, sizeof(err)), 0);
    mt_decision d = {.kind = MT_DECIDED_REGISTRY, .index = h.entries.n, .bytes = reg2, .len = reg2_len};
    uint8_t *entry;
    unsigned char leaf[32];
    assert_int_equal(mt_journal_entry(&d, T0, &entry, &len, leaf), 0);
    list_add(&h.entries, entry, len);
    free(entry);
    fx->w->forced_version = 2;
    int64_t at = append_crafted(fx, &h, i, no_change);
    fx->w->forced_version = 0;
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "REVOKED_KEY", at);
    const mt_finding *fs;
    /* the facility's earlier events were attested with version 1, where the key stood: fine */
    assert_int_equal(mt_audit_findings(a, &fs), 1);
    assert_string_equal(fs[0].rule, "KEY_REVOKED");
    assert_int_equal(mt_audit_get_totals(a)->registry_versions, 2);
    mt_audit_free(a);
    free(reg2);
    mintrace__v1__batch_event__free_unpacked(ev, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    mintrace__v1__registry__free_unpacked(r, NULL);
    mintrace__v1__envelope__free_unpacked(renv, NULL);
    history_free(&h);
}

/* A truncated copy passes on its own, but not against the checkpoint trusted before, nor
 * against a receipt a producer kept. */
static void test_truncated(void **state) {
    fixture *fx = *state;
    mt_audit *clean = audit(fx->w, &fx->h, NULL, 0, 0, 0);
    size_t tlen;
    const uint8_t *t = mt_audit_newest_checkpoint(clean, &tlen);
    uint8_t *trusted = malloc(tlen);
    memcpy(trusted, t, tlen);
    mt_audit_free(clean);

    history h = history_copy(&fx->h);
    size_t keep = 2 * CP_EVERY; /* the entries and checkpoints up to a checkpoint */
    for (size_t i = keep; i < h.entries.n; i++) free(h.entries.v[i].b);
    h.entries.n = keep;
    for (size_t i = 2; i < h.checkpoints.n; i++) free(h.checkpoints.v[i].b);
    h.checkpoints.n = 2;
    list_free(&h.provenance);
    list_free(&h.receipts);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0); /* self-consistent */
    mt_audit_free(a);

    a = audit(fx->w, &h, trusted, tlen, 0, 0);
    expect_first(a, "TRUNCATED", (int64_t)keep);
    mt_audit_free(a);

    /* a receipt kept by the producer of the last event */
    char err[256];
    mt_audit_conf conf = {.network_id = NET, .gov_pk = fx->w->gov.pk, .spill = fx_spilling()};
    a = mt_audit_new(&conf, err, sizeof(err));
    for (size_t i = 0; i < h.checkpoints.n; i++)
        mt_audit_checkpoint(a, h.checkpoints.v[i].b, h.checkpoints.v[i].len, "t.checkpoints", 0, (int64_t)i);
    for (size_t i = 0; i < h.entries.n; i++) mt_audit_entry(a, h.entries.v[i].b, h.entries.v[i].len, "t.ledger", 0, (int64_t)i);
    const msg *r = &fx->h.receipts.v[fx->h.receipts.n - 1];
    mt_audit_receipt(a, r->b, r->len, "kept/last.receipt", 0, -1, 1);
    mt_audit_finish(a);
    assert_int_equal(mt_audit_findings(a, &f), 1);
    assert_string_equal(f[0].kind, "TRUNCATED");
    assert_string_equal(f[0].topic, "kept/last.receipt");
    mt_audit_free(a);
    free(trusted);
    history_free(&h);
}

/* Another history of the same network (the same keys) is not the one trusted: FORKED. */
static void test_forked(void **state) {
    fixture *fx = *state;
    mt_audit *clean = audit(fx->w, &fx->h, NULL, 0, 0, 0);
    size_t tlen;
    const uint8_t *t = mt_audit_newest_checkpoint(clean, &tlen);
    uint8_t *trusted = malloc(tlen);
    memcpy(trusted, t, tlen);
    mt_audit_free(clean);
    history other = build(fx->w, CHAINS + 1, T0 + 1000); /* longer, and every event differs */
    mt_audit *a = audit(fx->w, &other, trusted, tlen, 0, 0);
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    if (n != 1) print_findings(a);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].kind, "FORKED");
    assert_int_equal(f[0].index, (int64_t)fx->h.entries.n - 1);
    /* and the other history's receipts, kept by producers, are not in this one */
    mt_audit_free(a);
    free(trusted);
    history_free(&other);
}

/* Replaces accepted entry i by the same event re-attested by `notary` after fn changed its
 * envelope: a consistent entry (its leaf recomputed) that only the signatures can refute. */
static void reattest(fixture *fx, history *h, size_t i, const mt_keypair *notary, void (*fn)(Mintrace__V1__Envelope *)) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h->entries.v[i].len, h->entries.v[i].b);
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    if (fn) fn(env);
    size_t elen, alen, len;
    uint8_t *eb = mt_message_pack(&env->base, &elen), *att, *entry;
    mt_verdict v;
    assert_int_equal(mt_notary_attest(notary, fx->w->reg, NET, eb, elen, T0 + 86400000LL * 30, &att, &alen, &v), 0);
    mt_decision d = {.kind = MT_DECIDED_ACCEPTED, .index = i, .bytes = att, .len = alen, .source_topic = "t"};
    unsigned char leaf[32];
    assert_int_equal(mt_journal_entry(&d, T0, &entry, &len, leaf), 0);
    free(h->entries.v[i].b);
    h->entries.v[i] = (msg){entry, len};
    free(eb);
    free(att);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
}

/* A notary that attests a facility signature that does not verify: the ledger accepts it (it
 * trusts validate), the auditor's signature threads do not: BAD_SIGNATURE, and nothing else. */
static void test_bad_facility_signature_attested(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 11, -1);
    reattest(fx, &h, i, &fx->w->notary, flip_signature);
    /* the tree the aggregator signed was of the true entry: drop the commitments, keep the point */
    list_free(&h.checkpoints);
    list_free(&h.receipts);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 2, 5);
    expect_first(a, "BAD_SIGNATURE", (int64_t)i);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 1);
    assert_string_equal(f[0].rule, "BAD_SIGNATURE");
    mt_audit_free(a);
    history_free(&h);
}

/* An attestation whose notary signature was altered after signing: the ledger's offer leaves
 * that one verification to the auditor's threads, which name it: BAD_SIGNATURE, rule
 * BAD_ATTESTATION, at its index, with one thread or several, and nothing else. */
static void test_bad_notary_signature(void **state) {
    fixture *fx = *state;
    for (int threads = 1; threads <= 2; threads++) {
        history h = history_copy(&fx->h);
        size_t i = find_event_entry(&h, 17, -1);
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, h.entries.v[i].len, h.entries.v[i].b);
        Mintrace__V1__Envelope *att =
            mintrace__v1__envelope__unpack(NULL, e->event->attestation.len, e->event->attestation.data);
        att->signatures[0]->sig.data[9] ^= 0x04;
        size_t alen, aelen, len;
        uint8_t *ab = mt_message_pack(&att->base, &alen);
        Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
        ae.envelope = e->event->envelope;
        ae.attestation = (ProtobufCBinaryData){alen, ab};
        uint8_t *aeb = mt_message_pack(&ae.base, &aelen), *entry;
        mt_decision d = {.kind = MT_DECIDED_ACCEPTED, .index = i, .bytes = aeb, .len = aelen, .source_topic = "t"};
        unsigned char leaf[32];
        assert_int_equal(mt_journal_entry(&d, T0, &entry, &len, leaf), 0);
        free(h.entries.v[i].b);
        h.entries.v[i] = (msg){entry, len};
        free(aeb);
        free(ab);
        mintrace__v1__envelope__free_unpacked(att, NULL);
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
        list_free(&h.checkpoints); /* they commit to the true entry: keep the point */
        list_free(&h.receipts);
        mt_audit *a = audit(fx->w, &h, NULL, 0, threads, 5);
        expect_first(a, "BAD_SIGNATURE", (int64_t)i);
        const mt_finding *f;
        if (mt_audit_findings(a, &f) != 1) print_findings(a);
        assert_int_equal(mt_audit_findings(a, &f), 1);
        assert_string_equal(f[0].rule, "BAD_ATTESTATION");
        mt_audit_free(a);
        history_free(&h);
    }
}

/* An attestation signed by a key no registry knows: UNKNOWN_KEY, rule BAD_ATTESTATION. */
static void test_unknown_notary(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 25, -1);
    reattest(fx, &h, i, &fx->w->stranger, NULL);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "UNKNOWN_KEY", (int64_t)i);
    const mt_finding *f;
    mt_audit_findings(a, &f);
    assert_string_equal(f[0].rule, "BAD_ATTESTATION");
    mt_audit_free(a);
    history_free(&h);
}

/* An attestation signed by a facility's key (not a notary's): WRONG_ROLE. */
static void test_notary_wrong_role(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    size_t i = find_event_entry(&h, 25, -1);
    mt_keypair mine;
    assert_int_equal(mt_sim_key(SEED, "IN-IREL-CHAVARA", &mine), 0);
    reattest(fx, &h, i, &mine, NULL);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 0, 0);
    expect_first(a, "WRONG_ROLE", (int64_t)i);
    mt_keypair_wipe(&mine);
    mt_audit_free(a);
    history_free(&h);
}

/* Checkpoints fed after the journal (or after the receipts) are checked against the roots kept
 * for their sizes: the same clean audit, every checkpoint verified. */
static void test_checkpoints_fed_late(void **state) {
    fixture *fx = *state;
    for (int after_receipts = 0; after_receipts <= 1; after_receipts++) {
        char err[256];
        mt_audit_conf conf = {.network_id = NET, .gov_pk = fx->w->gov.pk, .spill = fx_spilling()};
        mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
        const history *h = &fx->h;
        for (size_t i = 0; i < h->entries.n; i++)
            assert_int_equal(mt_audit_entry(a, h->entries.v[i].b, h->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
        if (after_receipts)
            for (size_t i = 0; i < h->receipts.n; i++)
                assert_int_equal(mt_audit_receipt(a, h->receipts.v[i].b, h->receipts.v[i].len, "t.r", 0, (int64_t)i, 0), 0);
        for (size_t i = 0; i < h->checkpoints.n; i++)
            assert_int_equal(mt_audit_checkpoint(a, h->checkpoints.v[i].b, h->checkpoints.v[i].len, "t.cp", 0, (int64_t)i), 0);
        assert_int_equal(mt_audit_finish(a), 0);
        assert_int_equal(mt_audit_get_totals(a)->checkpoints_verified, h->checkpoints.n);
        mt_audit_free(a);
    }
}

/* The report is the same with one thread and many, with batches of any size. */
static void test_deterministic(void **state) {
    fixture *fx = *state;
    history h = history_copy(&fx->h);
    tamper_envelope(&h, find_event_entry(&h, 3, -1), flip_signature);
    tamper_envelope(&h, find_event_entry(&h, 30, -1), flip_payload);
    mt_audit *a = audit(fx->w, &h, NULL, 0, 1, 4096), *b = audit(fx->w, &h, NULL, 0, 4, 7);
    const mt_finding *f, *g;
    size_t n = mt_audit_findings(a, &f);
    assert_int_equal(mt_audit_findings(b, &g), n);
    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(f[i].kind, g[i].kind);
        assert_int_equal(f[i].index, g[i].index);
        assert_string_equal(f[i].detail, g[i].detail);
    }
    mt_audit_free(a);
    mt_audit_free(b);
    history_free(&h);
}

/* ---- the auditor's state on disk ---- */

#define BIG_CHAINS 60 /* 841 entries: more than a rectab's 64 kB write buffer holds (675 entries) */

/* audit(), with the auditor's state spilled to dir (spill) or kept in memory. */
static mt_audit *audit_spilled(world *w, const history *h, const uint8_t *trusted, size_t tlen, int spill,
                               const char *dir) {
    char err[256];
    mt_audit_conf conf = {.network_id = NET, .gov_pk = w->gov.pk, .spill = spill, .spill_dir = dir};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    assert_non_null(a);
    for (size_t i = 0; i < h->checkpoints.n; i++)
        assert_int_equal(mt_audit_checkpoint(a, h->checkpoints.v[i].b, h->checkpoints.v[i].len, "t.checkpoints", 0, (int64_t)i), 0);
    for (size_t i = 0; i < h->provenance.n; i++)
        assert_int_equal(mt_audit_provenance(a, h->provenance.v[i].b, h->provenance.v[i].len, "t.provenance", 0, (int64_t)i), 0);
    if (trusted) assert_int_equal(mt_audit_trusted_checkpoint(a, trusted, tlen, "trusted.cp"), 0);
    for (size_t i = 0; i < h->entries.n; i++)
        assert_int_equal(mt_audit_entry(a, h->entries.v[i].b, h->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    for (size_t i = 0; i < h->receipts.n; i++)
        assert_int_equal(mt_audit_receipt(a, h->receipts.v[i].b, h->receipts.v[i].len, "t.receipts", 0, (int64_t)i, 0), 0);
    assert_true(mt_audit_finish(a) >= 0);
    return a;
}

/* A fresh empty directory for spilled state (rmdir it afterwards: it must still be empty). */
static char *spill_tmpdir(void) {
    char *d = strdup("/tmp/test_audit.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static int dir_is_empty(const char *d) {
    DIR *dp = opendir(d);
    struct dirent *de;
    int n = 0;
    assert_non_null(dp);
    while ((de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(dp);
    return n == 0;
}

/* The same findings, in the same order, word for word. */
static void expect_same_report(const mt_audit *a, const mt_audit *b) {
    const mt_finding *f, *g;
    size_t n = mt_audit_findings(a, &f);
    assert_int_equal(mt_audit_findings(b, &g), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(f[i].kind, g[i].kind);
        assert_int_equal(f[i].index, g[i].index);
        assert_string_equal(f[i].rule, g[i].rule);
        assert_string_equal(f[i].topic, g[i].topic);
        assert_int_equal(f[i].offset, g[i].offset);
        assert_string_equal(f[i].detail, g[i].detail);
    }
    assert_memory_equal(mt_audit_get_totals(a), mt_audit_get_totals(b), sizeof(mt_audit_totals));
}

/* A history longer than the write buffers audits clean with its state on disk, in the spill
 * directory given (where nothing is left: the files are unlinked at once), and the figures
 * say so; kept in memory it is the same audit, with nothing on disk. */
static void test_state_on_disk(void **state) {
    fixture *fx = *state;
    history h = build(fx->w, BIG_CHAINS, T0);
    char *d = spill_tmpdir();
    mt_audit *a = audit_spilled(fx->w, &h, NULL, 0, 1, d);
    assert_true(dir_is_empty(d));
    print_findings(a);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    mt_audit_mem m;
    mt_audit_memory(a, &m);
    assert_true(m.on_disk);
    assert_true(m.entries_disk > 0);
    assert_int_equal(m.entries_disk + m.entries_ram, h.entries.n);
    assert_int_equal(m.records_disk + m.records_ram, h.provenance.n);
    assert_true(m.batches_disk + m.batches_ram > 0);
    assert_true(m.disk_bytes >= m.entries_disk * 97);
    mt_audit *b = audit_spilled(fx->w, &h, NULL, 0, 0, NULL);
    mt_audit_mem mb;
    mt_audit_memory(b, &mb);
    assert_false(mb.on_disk);
    assert_int_equal(mb.entries_disk + mb.records_disk + mb.batches_disk + mb.disk_bytes, 0);
    assert_int_equal(mb.entries_ram, h.entries.n);
    assert_true(mb.ram_bytes >= h.entries.n * 97);
    expect_same_report(a, b);
    mt_audit_free(a);
    mt_audit_free(b);
    assert_int_equal(rmdir(d), 0);
    free(d);
    history_free(&h);
}

/* Replaces receipt i of h by a copy changed by fn and signed by the aggregator. Returns its
 * ledger index. */
static uint64_t resign_receipt(fixture *fx, history *h, size_t i, void (*fn)(Mintrace__V1__Receipt *)) {
    msg *m = &h->receipts.v[i];
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, m->len, m->b);
    Mintrace__V1__Receipt *r = mintrace__v1__receipt__unpack(NULL, env->payload.len, env->payload.data);
    assert_non_null(r);
    uint64_t index = r->ledger_index;
    fn(r);
    size_t plen, elen;
    uint8_t *p = mt_message_pack(&r->base, &plen), *e2;
    assert_int_equal(mt_envelope_seal(&fx->w->aggregator, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR,
                                      MT_PAYLOAD_RECEIPT, p, plen, &e2, &elen),
                     0);
    free(m->b);
    *m = (msg){e2, elen};
    free(p);
    mintrace__v1__receipt__free_unpacked(r, NULL);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    return index;
}

static void flip_proof(Mintrace__V1__Receipt *r) {
    assert_true(r->n_inclusion_proof > 0);
    r->inclusion_proof[0].data[3] ^= 0x10;
}

static void other_event(Mintrace__V1__Receipt *r) {
    r->event_id.data[0] ^= 0x01;
}

/* Audits h, with the receipts of h kept by producers as well, spilled to a fresh directory
 * and in memory: the same report; returns the spilled one. */
static mt_audit *audit_both_ways(fixture *fx, const history *h, const uint8_t *trusted, size_t tlen) {
    char *d = spill_tmpdir();
    mt_audit *a = audit_spilled(fx->w, h, trusted, tlen, 1, d);
    mt_audit *b = audit_spilled(fx->w, h, trusted, tlen, 0, NULL);
    mt_audit_mem m;
    mt_audit_memory(a, &m);
    assert_true(m.on_disk && m.entries_disk > 0);
    expect_same_report(a, b);
    mt_audit_free(b);
    assert_int_equal(rmdir(d), 0);
    free(d);
    return a;
}

/* Receipts of early entries are checked against the leaf and the root at their tree size read
 * back from disk: a true one passes, one whose proof was changed (and signed again by the
 * aggregator) is BAD_RECEIPT, one that names another event is MISSING_EVENT. */
static void test_receipts_against_disk(void **state) {
    fixture *fx = *state;
    history h = build(fx->w, BIG_CHAINS, T0);
    assert_true(h.entries.n > 700);
    mt_audit *a = audit_both_ways(fx, &h, NULL, 0);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    mt_audit_free(a);

    uint64_t bad = resign_receipt(fx, &h, 4, flip_proof);
    uint64_t missing = resign_receipt(fx, &h, 40, other_event);
    assert_true(bad < 100 && missing < 600); /* on disk, not in the write buffer */
    a = audit_both_ways(fx, &h, NULL, 0);
    size_t n = mt_audit_findings(a, &f);
    if (n != 2) print_findings(a);
    assert_int_equal(n, 2);
    assert_string_equal(f[0].kind, "BAD_RECEIPT");
    assert_int_equal(f[0].index, (int64_t)bad);
    assert_string_equal(f[0].rule, "inclusion_proof");
    assert_string_equal(f[1].kind, "MISSING_EVENT");
    assert_int_equal(f[1].index, (int64_t)missing);
    mt_audit_free(a);
    history_free(&h);
}

static void flip_root_big(Mintrace__V1__Checkpoint *cp) { cp->root.data[5] ^= 1; }

/* A trusted checkpoint of an early size is compared with the root read back from disk: the
 * true one passes, a forked one (another root, signed) is FORKED; checkpoints fed after the
 * journal are checked against the roots on disk. */
static void test_roots_from_disk(void **state) {
    fixture *fx = *state;
    history h = build(fx->w, BIG_CHAINS, T0);
    assert_true(h.checkpoints.n > 2);
    msg early = h.checkpoints.v[1]; /* tree size 2 * CP_EVERY */
    mt_audit *a = audit_both_ways(fx, &h, early.b, early.len);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    mt_audit_free(a);

    history forked = history_copy(&h);
    uint64_t size = resign_checkpoint(&forked, 1, flip_root_big, &fx->w->aggregator);
    a = audit_both_ways(fx, &h, forked.checkpoints.v[1].b, forked.checkpoints.v[1].len);
    expect_first(a, "FORKED", (int64_t)size - 1);
    assert_int_equal(mt_audit_findings(a, &f), 1);
    mt_audit_free(a);
    history_free(&forked);

    char *d = spill_tmpdir();
    mt_audit_conf conf = {.network_id = NET, .gov_pk = fx->w->gov.pk, .spill = 1, .spill_dir = d};
    char err[256];
    a = mt_audit_new(&conf, err, sizeof(err));
    assert_non_null(a);
    for (size_t i = 0; i < h.entries.n; i++)
        assert_int_equal(mt_audit_entry(a, h.entries.v[i].b, h.entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    for (size_t i = 0; i < h.checkpoints.n; i++)
        assert_int_equal(mt_audit_checkpoint(a, h.checkpoints.v[i].b, h.checkpoints.v[i].len, "t.cp", 0, (int64_t)i), 0);
    assert_int_equal(mt_audit_finish(a), 0);
    assert_int_equal(mt_audit_get_totals(a)->checkpoints_verified, h.checkpoints.n);
    mt_audit_free(a);
    assert_int_equal(rmdir(d), 0);
    free(d);
    history_free(&h);
}

/* Provenance findings from the state on disk are those (and in the order) of the state in
 * memory: a forged record early, an old record published again late, an altered entry; and a
 * checkpoint published again (it goes back in size: it waits in memory, the others on disk). */
static void test_provenance_from_disk(void **state) {
    fixture *fx = *state;
    history h = build(fx->w, BIG_CHAINS, T0);
    msg *m = &h.provenance.v[7];
    Mintrace__V1__ProvenanceRecord *r = record(m);
    int64_t index = (int64_t)r->ledger_index;
    r->mass_mg += 1000;
    size_t len;
    uint8_t *b = mt_message_pack(&r->base, &len);
    free(m->b);
    *m = (msg){b, len};
    mintrace__v1__provenance_record__free_unpacked(r, NULL);
    list_add(&h.provenance, h.provenance.v[20].b, h.provenance.v[20].len); /* stale, unless it was the last */
    tamper_envelope(&h, find_event_entry(&h, 500, -1), flip_payload);
    list_add(&h.checkpoints, h.checkpoints.v[0].b, h.checkpoints.v[0].len); /* waits in memory */
    mt_audit *a = audit_both_ways(fx, &h, NULL, 0);
    expect_first(a, "FORGED_PROVENANCE", index);
    expect_some(a, "ROLLED_BACK_CHECKPOINT", CP_EVERY - 1);
    mt_audit_mem mem;
    mt_audit_memory(a, &mem);
    assert_int_equal(mem.checkpoints_ram, 1);
    assert_int_equal(mem.checkpoints_disk + mem.checkpoints_ram, h.checkpoints.n);
    mt_audit_free(a);
    history_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_altered_payload),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_dropped),
        cmocka_unit_test(test_swapped),
        cmocka_unit_test(test_duplicated),
        cmocka_unit_test(test_forged_checkpoint),
        cmocka_unit_test(test_checkpoint_wrong_registry_version),
        cmocka_unit_test(test_rolled_back_checkpoint),
        cmocka_unit_test(test_forged_provenance),
        cmocka_unit_test(test_stale_provenance),
        cmocka_unit_test(test_censored),
        cmocka_unit_test(test_double_spend),
        cmocka_unit_test(test_inflation),
        cmocka_unit_test(test_revoked_key),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_forked),
        cmocka_unit_test(test_bad_facility_signature_attested),
        cmocka_unit_test(test_bad_notary_signature),
        cmocka_unit_test(test_unknown_notary),
        cmocka_unit_test(test_notary_wrong_role),
        cmocka_unit_test(test_checkpoints_fed_late),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_state_on_disk),
        cmocka_unit_test(test_receipts_against_disk),
        cmocka_unit_test(test_roots_from_disk),
        cmocka_unit_test(test_provenance_from_disk),
    };
    return fx_run_group_twice("audit", tests, setup, teardown);
}
