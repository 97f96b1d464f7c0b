/* comply — a policy's rules against batches: provenance records and ledger events in, findings out. */
#include "comply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

typedef unsigned __int128 u128;

#define PPM 1000000u

static int listed(char *const *v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return 1;
    return 0;
}

int mt_rule_applies(const mt_rule *r, const char *material) {
    return r->n_materials == 0 || listed(r->materials, r->n_materials, material ? material : "");
}

static uint64_t sat64(u128 v) { return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v; }

/* "Nd+Pr" (or "all elements") into buf. */
static void element_names(const mt_rule *r, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    if (r->n_elements == 0) snprintf(buf, size, "all elements");
    for (size_t i = 0; i < r->n_elements && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "+" : "", r->elements[i]);
}

static void country_names(const mt_rule *r, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_countries && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", r->countries[i]);
}

static u128 country_sum(Mintrace__V1__CountryMass *const *v, size_t n, const mt_rule *r) {
    u128 s = 0;
    for (size_t i = 0; i < n; i++)
        if (listed(r->countries, r->n_countries, v[i]->country)) s += v[i]->mass_mg;
    return s;
}

/* Judges one share rule; 0 when it has no verdict (basis 0). */
static int judge_share(const mt_rule *r, const Mintrace__V1__ProvenanceRecord *rec, mt_finding *f) {
    u128 measured = 0, basis = 0;
    for (size_t i = 0; i < rec->n_elements; i++) {
        const Mintrace__V1__ElementProvenance *e = rec->elements[i];
        if (r->n_elements && !listed(r->elements, r->n_elements, e->element)) continue;
        basis += e->total_mg;
        switch (r->kind) {
        case MT_RULE_RECYCLED_SHARE:
            if (r->classes & MT_CLASS_PRE) measured += e->recycled_pre_consumer_mg;
            if (r->classes & MT_CLASS_POST) measured += e->recycled_post_consumer_mg;
            break;
        case MT_RULE_COUNTRY_SHARE:
            measured += r->processed ? country_sum(e->processing, e->n_processing, r)
                                     : country_sum(e->extraction, e->n_extraction, r);
            break;
        case MT_RULE_CHAIN_COMPLETE: measured += (u128)e->unattributed_mg + e->untracked_mg; break;
        case MT_RULE_DOCUMENTS: return 0;
        }
    }
    if (basis == 0) return 0;
    /* measured and basis < 2^72 (at most 2^8 elements of < 2^64 mg), times 10^6 < 2^92: exact */
    u128 lhs = measured * PPM, rhs = (u128)r->threshold_ppm * basis;
    f->pass = r->kind == MT_RULE_RECYCLED_SHARE ? lhs >= rhs : lhs <= rhs;
    f->measured_mg = sat64(measured);
    f->basis_mg = sat64(basis);
    f->measured_ppm = sat64(lhs / basis);
    f->ledger_index = rec->ledger_index;
    char el[128], co[128];
    element_names(r, el, sizeof(el));
    const char *what = "";
    switch (r->kind) {
    case MT_RULE_RECYCLED_SHARE:
        what = r->classes == MT_CLASS_PRE    ? "recycled pre-consumer"
               : r->classes == MT_CLASS_POST ? "recycled post-consumer"
                                             : "recycled (pre- and post-consumer)";
        break;
    case MT_RULE_COUNTRY_SHARE:
        country_names(r, co, sizeof(co));
        what = r->processed ? "processed in " : "mined in ";
        break;
    case MT_RULE_CHAIN_COMPLETE: what = "not traced to a registered mine or recycler (unattributed + untracked)"; break;
    case MT_RULE_DOCUMENTS: break;
    }
    snprintf(f->detail, sizeof(f->detail), "%s %s%s: %" PRIu64 " of %" PRIu64 " mg = %" PRIu64 " ppm, %s %" PRIu32 " ppm",
             el, what, r->kind == MT_RULE_COUNTRY_SHARE ? co : "", f->measured_mg, f->basis_mg, f->measured_ppm,
             r->kind == MT_RULE_RECYCLED_SHARE ? "minimum" : "maximum", r->threshold_ppm);
    return 1;
}

size_t mt_comply_record(const mt_policy *p, const Mintrace__V1__ProvenanceRecord *rec, mt_finding_fn fn, void *arg) {
    size_t n = 0;
    if (rec->mass_mg == 0) return 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        const mt_rule *r = &p->rules[i];
        if (r->kind == MT_RULE_DOCUMENTS || !mt_rule_applies(r, rec->material)) continue;
        mt_finding f = {.batch_id = rec->batch_id, .material = rec->material, .rule = r};
        if (!judge_share(r, rec, &f)) continue;
        fn(arg, &f);
        n++;
    }
    return n;
}

/* ---- documents ---- */

/* What the state knows of a batch: its material and, per rule of the policy, 0 when its
 * lineage is clean by that rule, else 1 + the ledger index of the nearest event lacking. */
typedef struct doc_batch {
    char *material;
    uint64_t lack[];
} doc_batch;

struct mt_comply_docs {
    const mt_policy *p;
    mt_map *committed, *pending; /* batch id -> doc_batch */
    int broken;                  /* a commit ran out of memory: the state is incomplete */
};

static void doc_batch_free(void *v) {
    doc_batch *b = v;
    if (b) free(b->material);
    free(b);
}

mt_comply_docs *mt_comply_docs_new(const mt_policy *p) {
    mt_comply_docs *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->p = p;
    d->committed = mt_map_new();
    d->pending = mt_map_new();
    if (!d->committed || !d->pending) {
        mt_comply_docs_free(d);
        return NULL;
    }
    return d;
}

void mt_comply_docs_free(mt_comply_docs *d) {
    if (!d) return;
    mt_map_free(d->committed, doc_batch_free);
    mt_map_free(d->pending, doc_batch_free);
    free(d);
}

static const doc_batch *doc_get(const mt_comply_docs *d, const char *id) {
    const doc_batch *b = d->pending ? mt_map_get(d->pending, id, strlen(id)) : NULL;
    return b ? b : mt_map_get(d->committed, id, strlen(id));
}

/* A new pending entry for id (a copy of what is known, or clean); NULL when out of memory. */
static doc_batch *doc_put(mt_comply_docs *d, const char *id, const char *material) {
    if (!d->pending && !(d->pending = mt_map_new())) return NULL; /* a commit or abort ran out of memory */
    doc_batch *b = mt_map_get(d->pending, id, strlen(id));
    if (b) return b;
    const doc_batch *old = mt_map_get(d->committed, id, strlen(id));
    b = calloc(1, sizeof(*b) + d->p->n_rules * sizeof(uint64_t));
    if (!b || !(b->material = strdup(old ? old->material : material ? material : ""))) {
        doc_batch_free(b);
        return NULL;
    }
    if (old) memcpy(b->lack, old->lack, d->p->n_rules * sizeof(uint64_t));
    if (mt_map_put(d->pending, id, strlen(id), b) == b) {
        doc_batch_free(b);
        return NULL;
    }
    return b;
}

/* 1 when ev carries the documents r asks for (a document counts when pinned by its SHA-256). */
static int has_documents(const mt_rule *r, const Mintrace__V1__BatchEvent *ev) {
    size_t found = 0;
    for (size_t k = 0; k < r->n_documents; k++) {
        int has = 0;
        for (size_t i = 0; i < ev->n_documents && !has; i++)
            has = strcmp(ev->documents[i]->kind, r->documents[k]) == 0 && ev->documents[i]->sha256.len == 32;
        found += (size_t)has;
    }
    return r->require_all ? found == r->n_documents : found > 0;
}

static void doc_finding(const mt_rule *r, const char *batch, const char *material, uint64_t lack, uint64_t index,
                        mt_finding_fn fn, void *arg) {
    mt_finding f = {.batch_id = batch, .material = material, .rule = r, .pass = lack == 0, .basis_mg = 1};
    f.ledger_index = lack ? lack - 1 : index;
    f.measured_mg = f.measured_ppm = lack ? 1 : 0;
    if (lack) f.measured_ppm = PPM;
    char kinds[200] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->n_documents && used < sizeof(kinds); i++)
        used += (size_t)snprintf(kinds + used, sizeof(kinds) - used, "%s%s", i ? (r->require_all ? " and " : " or ") : "",
                                 r->documents[i]);
    if (lack)
        snprintf(f.detail, sizeof(f.detail), "the event at ledger index %" PRIu64 " in its lineage has no %s", lack - 1,
                 kinds);
    else
        snprintf(f.detail, sizeof(f.detail), "every event of the listed kinds in its lineage has %s", kinds);
    fn(arg, &f);
}

int mt_comply_docs_event(mt_comply_docs *d, const Mintrace__V1__BatchEvent *ev, uint64_t index, mt_finding_fn fn,
                         void *arg) {
    const mt_policy *p = d->p;
    int n = 0, any = 0;
    for (size_t r = 0; r < p->n_rules; r++) any |= p->rules[r].kind == MT_RULE_DOCUMENTS;
    if (d->broken) return -1; /* only a rebuild from the journal can repair it */
    if (!any || ev->kind <= 0 || ev->kind > 31) return 0;
    for (size_t o = 0; o < ev->n_outputs; o++)
        if (!doc_put(d, ev->outputs[o]->batch_id, ev->outputs[o]->material)) return -1;
    for (size_t r = 0; r < p->n_rules; r++) {
        const mt_rule *rule = &p->rules[r];
        if (rule->kind != MT_RULE_DOCUMENTS) continue;
        int lacking = (rule->event_kinds >> ev->kind & 1) && !has_documents(rule, ev);
        if (ev->n_outputs) {
            /* an output's lineage: this event, else the nearest lacking event behind its inputs */
            uint64_t lack = lacking ? index + 1 : 0;
            for (size_t i = 0; i < ev->n_inputs && !lacking; i++) {
                const doc_batch *in = doc_get(d, ev->inputs[i]->batch_id);
                if (in && in->lack[r] > lack) lack = in->lack[r];
            }
            /* returned EXITed material is lineage too (docs/accounting.md D2) */
            for (size_t i = 0; ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE && !lacking &&
                               i < ev->recycle->n_returns;
                 i++) {
                const doc_batch *in = doc_get(d, ev->recycle->returns[i]->batch_id);
                if (in && in->lack[r] > lack) lack = in->lack[r];
            }
            for (size_t o = 0; o < ev->n_outputs; o++) {
                const Mintrace__V1__BatchOutput *out = ev->outputs[o];
                doc_batch *b = doc_put(d, out->batch_id, out->material);
                b->lack[r] = lack;
                if (mt_rule_applies(rule, out->material)) {
                    doc_finding(rule, out->batch_id, out->material, lack, index, fn, arg);
                    n++;
                }
            }
        } else if (lacking) { /* a custody move or write-off without the documents: the batch moved */
            for (size_t i = 0; i < ev->n_inputs; i++) {
                const char *id = ev->inputs[i]->batch_id;
                const doc_batch *was = doc_get(d, id);
                if (was && was->lack[r]) continue; /* failing already: its finding stands */
                doc_batch *b = doc_put(d, id, NULL);
                if (!b) return -1;
                b->lack[r] = index + 1;
                if (mt_rule_applies(rule, b->material)) {
                    doc_finding(rule, id, b->material, b->lack[r], index, fn, arg);
                    n++;
                }
            }
        }
    }
    return n;
}

int mt_comply_docs_entry(mt_comply_docs *d, const void *entry, size_t len, mt_finding_fn fn, void *arg) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, entry);
    if (!e) return -1;
    int rc = 0;
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
        Mintrace__V1__BatchEvent *ev = env ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
        rc = ev ? mt_comply_docs_event(d, ev, e->index, fn, arg) : -1;
        if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
        if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return rc < 0 ? -1 : rc;
}

void mt_comply_docs_begin(mt_comply_docs *d) { mt_comply_docs_abort(d); }

static void move_one(void *arg, const void *key, size_t klen, void *value) {
    mt_comply_docs *d = arg;
    doc_batch *old = mt_map_put(d->committed, key, klen, value);
    if (old == value) d->broken = 1; /* out of memory: value was not stored */
    doc_batch_free(old);
}

void mt_comply_docs_commit(mt_comply_docs *d) {
    if (d->pending) mt_map_foreach(d->pending, move_one, d);
    mt_map_free(d->pending, NULL);
    d->pending = mt_map_new();
}

void mt_comply_docs_abort(mt_comply_docs *d) {
    mt_map_free(d->pending, doc_batch_free);
    d->pending = mt_map_new();
}

/* ---- the wire ---- */

int mt_finding_pack(const mt_policy *p, const mt_finding *f, uint8_t **val, size_t *vlen, char **key) {
    Mintrace__V1__Finding m = MINTRACE__V1__FINDING__INIT;
    m.batch_id = (char *)f->batch_id;
    m.rule_id = f->rule->id;
    m.policy_id = p->id;
    m.rule_kind = (Mintrace__V1__RuleKind)f->rule->kind;
    m.status = f->pass ? MINTRACE__V1__FINDING_STATUS__FINDING_STATUS_PASS : MINTRACE__V1__FINDING_STATUS__FINDING_STATUS_FAIL;
    m.severity = (Mintrace__V1__Severity)f->rule->severity;
    m.ledger_index = f->ledger_index;
    m.material = (char *)(f->material ? f->material : "");
    m.measured_mg = f->measured_mg;
    m.basis_mg = f->basis_mg;
    m.measured_ppm = f->measured_ppm;
    m.threshold_ppm = f->rule->kind == MT_RULE_DOCUMENTS ? 0 : f->rule->threshold_ppm;
    m.detail = (char *)f->detail;
    size_t klen = strlen(f->batch_id) + 1 + strlen(f->rule->id);
    *key = malloc(klen + 1);
    *val = mt_message_pack(&m.base, vlen);
    if (!*key || !*val) {
        free(*key);
        free(*val);
        *key = NULL;
        *val = NULL;
        return -1;
    }
    snprintf(*key, klen + 1, "%s#%s", f->batch_id, f->rule->id);
    return 0;
}
