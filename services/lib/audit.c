/* audit — the independent verifier: replays the journal with the ledger's own rules and names
 * every way the published history differs from what the signatures and the rules allow. */
#include "audit.h"
#include "audit_submitted.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "journal.h"
#include "map.h"
#include "merkle.h"
#include "notary.h"
#include "provenance.h"
#include "rectab.h"
#include "store.h"
#include "validate.h"

#define R(name)    MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define K(name)    MINTRACE__V1__EVENT_KIND__EVENT_KIND_##name
#define ROLE(name) MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_##name

#define REORDER_WINDOW 4096      /* entries held while an earlier index is awaited */
#define MAX_JUMP       (1u << 24) /* an index this far ahead is not a gap but garbage */

/* What the auditor keeps of every entry: its recomputed leaf, the root of the tree that ends
 * with it (receipts prove inclusion against it), and what it is about (for receipts). 97 bytes,
 * kept in a rectab: on disk (the spill directory) when the audit spills, else in memory. */
enum { E_MISSING = 0, E_EVENT = 1, E_REJECTION = 2, E_REGISTRY = 3, E_DUPLICATE = 4, E_UNDECODABLE = 5 };
typedef struct entry_rec {
    unsigned char leaf[32], root[32], subject[32];
    uint8_t kind;
} entry_rec;

/* the figures docs/auditing.md and the report's schema give */
_Static_assert(sizeof(entry_rec) == 97, "entry_rec is 97 bytes");

/* A location: where a message was read. */
typedef struct where {
    char topic[200];
    int32_t partition;
    int64_t offset;
} where;

/* A signed checkpoint, being checked. */
typedef struct pending_cp {
    uint64_t size;
    const uint8_t *env;
    size_t len;
    where at;
} pending_cp;

/* A signed checkpoint waiting for the replay to reach its size (a rectab row; its envelope is
 * in another rectab, at env_off). Checked in order of size, then arrival. */
typedef struct cp_row {
    uint64_t size, arrival, env_off;
    uint32_t env_len, topic; /* in a->topics */
    int32_t partition;
    int64_t offset;
} cp_row;

/* A published provenance record, by its number in topic order (a rectab row): compared with
 * the recomputed record when the replay changes its batch at its ledger index. */
typedef struct pub_row {
    uint64_t batch; /* the batch's number (batch_row) */
    uint64_t index;
    unsigned char commit[32];
    uint8_t matched;
    uint32_t topic; /* in a->topics */
    int32_t partition;
    int64_t offset;
} pub_row;

/* One batch, by its number in the order first met (a rectab row): its figures as the replay
 * last changed them, and its newest published record. */
typedef struct batch_row {
    uint64_t final_index;
    uint64_t tail; /* the newest published record's number + 1; 0: none published */
    unsigned char final_commit[32];
    unsigned char tail_commit[32]; /* the newest published record's */
    uint8_t has_final, forged;
} batch_row;
_Static_assert(sizeof(pub_row) == 72 && sizeof(batch_row) == 88 && sizeof(cp_row) == 48, "rows as documented");

/* One entry of a batch of work for the signature threads (and the finding the serial replay
 * made of it, so the most specific finding per entry wins, in entry order). */
typedef struct slot {
    uint64_t index;
    where at;
    char event_id[65], facility[128];
    const char *kind_a; /* the replay's finding, or NULL */
    char rule_a[48], detail_a[300];
    /* facility signature check: the submitted envelope, judged as at notary time */
    uint8_t *env;
    size_t env_len;
    const mt_registry *reg;
    int64_t at_ms;
    uint8_t *att; /* the notary's attestation envelope, its signature to verify with notary_pk */
    size_t att_len;
    unsigned char notary_pk[MT_PK_LEN];
    const char *kind_b;
    char rule_b[48], detail_b[300];
} slot;

/* One receipt to check. */
typedef struct rslot {
    uint8_t *env;
    size_t len;
    where at;
    int kept;
    int ahead;    /* a published receipt of an entry past the audited journal's end */
    int ioerr;    /* the entry records could not be read back */
    mt_finding f; /* f.kind NULL: fine */
} rslot;

typedef struct work work;
typedef struct thread_arg {
    work *w;
    int t;
} thread_arg;

struct work { /* a batch handed to the threads */
    slot *s;
    size_t n, cap;
    rslot *r;
    size_t nr, capr;
    const mt_registry *newest; /* receipts: the registry their aggregator key is looked up in */
    const mt_registry *fallback;
    const char *network_id;
    int threads;
    pthread_t tid[64];
    int running, started;
    uint64_t sigs[64];
    thread_arg args[64];
    struct mt_audit *a;
};

/* ---- kv: byte keys to byte values, in an mt_store (on disk) or an mt_map (in memory) ---- */

typedef struct kvt {
    mt_store *st; /* on disk, or NULL */
    mt_map *m;    /* in memory */
    uint64_t bytes; /* keys and values held in memory */
} kvt;

typedef struct kv_val {
    size_t len;
    unsigned char b[];
} kv_val;

static kvt *kv_open(const char *dir, int in_memory, char *err, size_t errlen) {
    kvt *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!in_memory) {
        if (!(k->st = mt_store_open(dir, err, errlen))) {
            free(k);
            return NULL;
        }
        return k;
    }
    if (!(k->m = mt_map_new())) {
        free(k);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return k;
}

static void kv_close(kvt *k) {
    if (!k) return;
    mt_store_close(k->st);
    mt_map_free(k->m, free);
    free(k);
}

/* 1 found (*val malloc'd), 0 absent, -1 error. Serial use only (the store is one thread's). */
static int kv_get(const kvt *k, const void *key, size_t klen, void **val, size_t *vlen) {
    if (k->st) return mt_store_get(k->st, key, klen, val, vlen);
    const kv_val *v = mt_map_get(k->m, key, klen);
    if (!v) return 0;
    unsigned char *c = malloc(v->len ? v->len : 1);
    if (!c) return -1;
    memcpy(c, v->b, v->len);
    *val = c;
    *vlen = v->len;
    return 1;
}

static int kv_put(kvt *k, const void *key, size_t klen, const void *val, size_t vlen) {
    if (k->st) return mt_store_put(k->st, key, klen, val, vlen);
    kv_val *v = malloc(sizeof(*v) + vlen);
    if (!v) return -1;
    v->len = vlen;
    memcpy(v->b, val, vlen);
    kv_val *old = mt_map_put(k->m, key, klen, v);
    if (old == v) {
        free(v);
        return -1;
    }
    if (old) k->bytes -= old->len;
    else k->bytes += klen;
    k->bytes += vlen;
    free(old);
    return 0;
}

static uint64_t kv_count(const kvt *k) {
    return k->st ? mt_store_count(k->st) : mt_map_count(k->m);
}

static int kv_on_disk(const kvt *k) {
    return k->st != NULL;
}

/* bytes in process memory: keys, values and the table's slots (an estimate); the store holds
 * a few hundred bytes */
static uint64_t kv_ram_bytes(const kvt *k) {
    return k->st ? 512 : k->bytes + kv_count(k) * (sizeof(kv_val) + 48);
}

static uint64_t kv_disk_bytes(const kvt *k) {
    return k->st ? mt_store_disk_bytes(k->st) : 0;
}

struct mt_audit {
    mt_audit_conf conf;
    char network_id[128];
    unsigned char gov_pk[MT_PK_LEN];
    mt_ledger *l;
    mt_merkle_frontier tree;
    mt_rectab *recs; /* entry_rec by ledger index */
    uint64_t n_recs;
    uint64_t next; /* the index the next entry must have */
    mt_map *stash; /* index (8 bytes) -> stashed entry, arrived early */
    uint64_t stash_low;
    /* commitments */
    /* checkpoints: in topic order they come by growing size, so those that do not go back
     * (cp_rows, on disk) are already sorted; those that go back, each a finding, wait in memory
     * (cp_side, sorted when needed); the two are merged as the replay reaches their sizes */
    mt_rectab *cp_rows, *cp_bytes;
    uint64_t cp_next, n_cps;
    cp_row *cp_side;
    size_t n_side, cap_side, side_next;
    int side_sorted;
    uint64_t cp_max_size; /* largest size seen in topic order (rollback) */
    uint8_t *trusted;
    size_t trusted_len;
    char trusted_src[200];
    uint8_t *newest_cp;
    size_t newest_cp_len;
    uint64_t newest_cp_size;
    /* provenance: rows in rectabs, looked up through kv (both on disk with conf.spill):
     *   'b' batch id -> batch number (8 bytes)     'n' batch number -> batch id
     *   'p' batch number, ledger index (8 + 8 bytes) -> the numbers of the records published
     *   for that batch at that index */
    kvt *kv;
    mt_rectab *pubs;    /* pub_row by number */
    mt_rectab *batches; /* batch_row by number */
    char **topics;      /* the topics provenance records were read from */
    size_t n_topics;
    uint64_t n_pub;
    /* findings */
    mt_finding *f;
    size_t n_f, cap_f;
    uint64_t seq;
    uint64_t first_gap; /* lowest index missing from the journal (UINT64_MAX: none) */
    uint64_t first_bad; /* lowest index of an entry the replay found wrong (UINT64_MAX: none) */
    uint64_t explained; /* commitments that differ only because of an entry already named */
    mt_map *taint;      /* key id / batch id / event id hex -> root index (uint64_t*) */
    /* work for the threads: the batch being filled, and the one running */
    work w[2];
    int cur;
    int journal_ended, finished;
    mt_audit_totals totals;
    mt_audit_material *mats;
    size_t n_mats;
    mt_audit_flow *flows;
    size_t n_flows;
    size_t max_batch_bytes, batch_bytes;
    int oom;
    mt_audit_sub *sub; /* events.submitted's account (audit_submitted.c) */
};

/* ---- findings ---- */

static mt_finding *add_finding(mt_audit *a, const char *kind, int64_t index, const where *at, const char *rule,
                               const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static mt_finding *add_finding(mt_audit *a, const char *kind, int64_t index, const where *at, const char *rule,
                               const char *fmt, ...) {
    if (a->n_f == a->cap_f) {
        size_t cap = a->cap_f ? a->cap_f * 2 : 64;
        mt_finding *nf = realloc(a->f, cap * sizeof(*nf));
        if (!nf) {
            a->oom = 1;
            return NULL;
        }
        a->f = nf;
        a->cap_f = cap;
    }
    mt_finding *f = &a->f[a->n_f++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->index = index;
    f->offset = -1;
    if (at) {
        snprintf(f->topic, sizeof(f->topic), "%s", at->topic);
        f->partition = at->partition;
        f->offset = at->offset;
    }
    snprintf(f->rule, sizeof(f->rule), "%s", rule ? rule : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
    f->seq = a->seq++;
    return f;
}

static void where_set(where *w, const char *topic, int32_t partition, int64_t offset) {
    snprintf(w->topic, sizeof(w->topic), "%s", topic ? topic : "");
    w->partition = partition;
    w->offset = offset;
}

static void slot_set_a(slot *s, const char *kind, const char *rule, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void slot_set_a(slot *s, const char *kind, const char *rule, const char *fmt, ...) {
    if (s->kind_a) return; /* the first, most specific, stands */
    s->kind_a = kind;
    snprintf(s->rule_a, sizeof(s->rule_a), "%s", rule ? rule : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail_a, sizeof(s->detail_a), fmt, ap);
    va_end(ap);
}

/* ---- the parallel part: facility signatures of a batch, receipts ---- */

static const char *kind_of_key_reason(mt_reason code) {
    switch ((int)code) {
    case R(UNKNOWN_KEY):
    case R(UNKNOWN_FACILITY): return "UNKNOWN_KEY";
    case R(KEY_FACILITY_MISMATCH):
    case R(ROLE_NOT_ALLOWED): return "WRONG_ROLE";
    case R(KEY_REVOKED):
    case R(KEY_NOT_VALID): return "REVOKED_KEY";
    case R(BAD_SIGNATURE):
    case R(MISSING_SIGNATURE): return "BAD_SIGNATURE";
    default: return "RULE_VIOLATION";
    }
}

static void check_slot(work *w, slot *s, uint64_t *sigs) {
    if (!s->env) return;
    mt_verdict v;
    if (!s->reg) {
        s->kind_b = "UNKNOWN_KEY";
        snprintf(s->rule_b, sizeof(s->rule_b), "registry");
        snprintf(s->detail_b, sizeof(s->detail_b), "no registry version to judge the facility signature with");
        return;
    }
    (*sigs)++;
    if (mt_validate_envelope(s->reg, w->network_id, s->env, s->env_len, s->at_ms, &v) != 0) {
        s->kind_b = kind_of_key_reason(v.code);
        snprintf(s->rule_b, sizeof(s->rule_b), "%s", mt_reason_name(v.code));
        snprintf(s->detail_b, sizeof(s->detail_b), "facility envelope: %s", v.detail);
        return;
    }
    /* the notary's signature: the ledger checked everything else about the attestation */
    Mintrace__V1__Envelope *att = s->att ? mintrace__v1__envelope__unpack(NULL, s->att_len, s->att) : NULL;
    if (!att) return;
    (*sigs)++;
    if (att->n_signatures != 1 || att->signatures[0]->sig.len != MT_SIG_LEN ||
        mt_verify(s->notary_pk, att->payload_type, att->payload.data, att->payload.len, att->signatures[0]->sig.data)) {
        s->kind_b = "BAD_SIGNATURE";
        snprintf(s->rule_b, sizeof(s->rule_b), "BAD_ATTESTATION");
        snprintf(s->detail_b, sizeof(s->detail_b), "notary attestation: the notary's signature does not verify");
    }
    mintrace__v1__envelope__free_unpacked(att, NULL);
}

/* Verifies an aggregator-signed envelope (checkpoint, receipt) with the registry's aggregator
 * keys, valid at t_ms. Returns 0, or -1 with why. */
static int aggregator_verify(const mt_registry *reg, const Mintrace__V1__Envelope *env, const char *type, int64_t t_ms,
                             char *why, size_t why_size) {
    if (strcmp(env->payload_type, type) != 0) {
        snprintf(why, why_size, "payload type is %.60s, not %s", env->payload_type, type);
        return -1;
    }
    if (env->n_signatures != 1 || env->signatures[0]->sig.len != MT_SIG_LEN ||
        env->signatures[0]->role != MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR) {
        snprintf(why, why_size, "not one aggregator signature");
        return -1;
    }
    const char *kid = env->signatures[0]->key_id;
    const mt_registry_key *k = reg ? mt_registry_find_key(reg, kid) : NULL;
    if (!k) {
        snprintf(why, why_size, "key %.40s is not in the registry", kid);
        return -1;
    }
    if (k->facility->role != ROLE(AGGREGATOR)) {
        snprintf(why, why_size, "key %s is not an aggregator's (it is %s's)", kid, k->facility->facility_id);
        return -1;
    }
    char kv[200];
    if (mt_registry_key_valid_at(k, t_ms, kv, sizeof(kv))) {
        snprintf(why, why_size, "aggregator %s", kv);
        return -1;
    }
    if (mt_verify(k->pk, type, env->payload.data, env->payload.len, env->signatures[0]->sig.data)) {
        snprintf(why, why_size, "aggregator signature by %s does not verify", kid);
        return -1;
    }
    return 0;
}

static void rfind(mt_finding *f, const char *kind, int64_t index, const char *rule, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void rfind(mt_finding *f, const char *kind, int64_t index, const char *rule, const char *fmt, ...) {
    if (f->kind) return;
    f->kind = kind;
    f->index = index;
    snprintf(f->rule, sizeof(f->rule), "%s", rule);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
}

/* A receipt: signed by the aggregator, about the entry the journal holds at its index, with an
 * inclusion proof against the recomputed tree. Reads only what the finished replay left. */
static void check_receipt(work *w, rslot *rs, uint64_t *sigs) {
    const mt_audit *a = w->a;
    mt_finding *f = &rs->f;
    memset(f, 0, sizeof(*f));
    f->index = -1;
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, rs->len, rs->env);
    Mintrace__V1__Receipt *r = env ? mintrace__v1__receipt__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    char why[300];
    if (!r) {
        rfind(f, "BAD_RECEIPT", -1, "decode", "not a signed Receipt envelope");
        goto out;
    }
    if (r->event_id.len == MT_HASH_LEN) mt_hex_encode(r->event_id.data, MT_HASH_LEN, f->event_id);
    snprintf(f->facility, sizeof(f->facility), "%s", r->facility_id);
    int64_t idx = (int64_t)r->ledger_index;
    (*sigs)++;
    if (aggregator_verify(w->newest ? w->newest : w->fallback, env, MT_PAYLOAD_RECEIPT, r->time_ms, why, sizeof(why))) {
        rfind(f, "BAD_RECEIPT", idx, "signature", "%s", why);
        goto out;
    }
    if (r->ledger_index >= a->n_recs && !rs->kept) {
        /* a receipt topic read after the ledger may already hold receipts of newer entries on a
         * live cluster: not evidence (kept receipts and checkpoints are) */
        rs->ahead = 1;
        goto out;
    }
    if (r->ledger_index >= a->n_recs) {
        rfind(f, "TRUNCATED", idx, "receipt",
              "a %s receipt names ledger index %" PRIu64 "; the journal holds %" PRIu64 " entries",
              rs->kept ? "kept" : "published", r->ledger_index, a->n_recs);
        goto out;
    }
    entry_rec rec, at_size;
    const entry_rec *e = &rec;
    if (mt_rectab_get(a->recs, r->ledger_index, &rec)) {
        rs->ioerr = 1;
        goto out;
    }
    int want = r->status == MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_ACCEPTED    ? E_EVENT
               : r->status == MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_DUPLICATE ? E_DUPLICATE
               : r->status == MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_REJECTED  ? E_REJECTION
                                                                                    : -1;
    int same_subject = r->event_id.len != MT_HASH_LEN || memcmp(e->subject, r->event_id.data, MT_HASH_LEN) == 0;
    if (want < 0 || e->kind != want || !same_subject) {
        rfind(f, "MISSING_EVENT", idx, mt_enum_name(&mintrace__v1__receipt_status__descriptor, r->status),
              "the receipt says event %.16s... was %s at index %" PRId64 "; the journal holds %s there",
              f->event_id, mt_enum_name(&mintrace__v1__receipt_status__descriptor, r->status), idx,
              e->kind == E_MISSING ? "nothing" : !same_subject ? "another event" : "another kind of entry");
        goto out;
    }
    unsigned char path[MT_MERKLE_MAX_INCLUSION][32];
    size_t n = r->n_inclusion_proof;
    int ok = n <= MT_MERKLE_MAX_INCLUSION && r->tree_size > r->ledger_index && r->tree_size <= a->n_recs;
    for (size_t i = 0; ok && i < n; i++) {
        if (r->inclusion_proof[i].len != 32) ok = 0;
        else memcpy(path[i], r->inclusion_proof[i].data, 32);
    }
    if (ok && mt_rectab_get(a->recs, r->tree_size - 1, &at_size)) {
        rs->ioerr = 1;
        goto out;
    }
    if (!ok || mt_merkle_verify_inclusion(e->leaf, r->ledger_index, r->tree_size, (const unsigned char(*)[32])path, n,
                                          at_size.root)) {
        if (ok && a->first_bad < r->tree_size) goto out; /* the tree differs because of an entry already named */
        rfind(f, "BAD_RECEIPT", idx, "inclusion_proof",
              "its inclusion proof (tree size %" PRIu64 ") does not lead to the recomputed root", r->tree_size);
        goto out;
    }
out:
    if (f->kind) {
        snprintf(f->topic, sizeof(f->topic), "%s", rs->at.topic);
        f->partition = rs->at.partition;
        f->offset = rs->at.offset;
    }
    if (r) mintrace__v1__receipt__free_unpacked(r, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
}

static void *worker(void *p) {
    thread_arg *ta = p;
    work *w = ta->w;
    uint64_t sigs = 0;
    for (size_t i = (size_t)ta->t; i < w->n; i += (size_t)w->threads) check_slot(w, &w->s[i], &sigs);
    for (size_t i = (size_t)ta->t; i < w->nr; i += (size_t)w->threads) check_receipt(w, &w->r[i], &sigs);
    w->sigs[ta->t] = sigs;
    return NULL;
}

static void work_start(mt_audit *a, int which) {
    work *w = &a->w[which];
    w->a = a;
    w->network_id = a->network_id;
    w->threads = a->conf.threads;
    w->started = 0;
    for (int t = 0; t < w->threads; t++) {
        w->args[t] = (thread_arg){w, t};
        w->sigs[t] = 0;
    }
    for (int t = 0; t < w->threads; t++) {
        if (pthread_create(&w->tid[t], NULL, worker, &w->args[t]) != 0) break;
        w->started++;
    }
    for (int t = w->started; t < w->threads; t++) worker(&w->args[t]); /* no thread: do it here */
    w->running = 1;
}

/* Waits for a running batch and turns its slots into findings, in entry order. */
static void work_join(mt_audit *a, int which) {
    work *w = &a->w[which];
    if (!w->running) return;
    for (int t = 0; t < w->started; t++) pthread_join(w->tid[t], NULL);
    for (int t = 0; t < w->threads; t++) a->totals.signatures += w->sigs[t];
    w->running = 0;
    for (size_t i = 0; i < w->n; i++) {
        slot *s = &w->s[i];
        const char *kind = s->kind_a;
        const char *rule = s->rule_a, *detail = s->detail_a;
        /* a bad facility signature is more specific than what the rules made of the bytes,
         * except for an altered payload (which also breaks the signature) */
        if (s->kind_b && (!kind || strcmp(kind, "ALTERED_PAYLOAD") != 0)) {
            kind = s->kind_b;
            rule = s->rule_b;
            detail = s->detail_b;
        }
        if (kind) {
            mt_finding *f = add_finding(a, kind, (int64_t)s->index, &s->at, rule, "%s", detail);
            if (f) {
                snprintf(f->event_id, sizeof(f->event_id), "%s", s->event_id);
                snprintf(f->facility, sizeof(f->facility), "%s", s->facility);
                f->seq = 0; /* an entry's own finding comes first at its index, whenever it was joined */
            }
        }
        free(s->env);
        free(s->att);
        s->env = s->att = NULL;
    }
    w->n = 0;
    for (size_t i = 0; i < w->nr; i++) {
        rslot *rs = &w->r[i];
        a->totals.receipts_ahead += (uint64_t)rs->ahead;
        if (rs->ioerr) a->oom = 1;
        if (rs->f.kind) {
            mt_finding *f = add_finding(a, rs->f.kind, rs->f.index, &rs->at, rs->f.rule, "%s", rs->f.detail);
            if (f) {
                snprintf(f->event_id, sizeof(f->event_id), "%s", rs->f.event_id);
                snprintf(f->facility, sizeof(f->facility), "%s", rs->f.facility);
            }
        }
        free(rs->env);
    }
    w->nr = 0;
}

/* The batch being filled is full (or the journal ended): start it, after the one before. */
static void work_flush(mt_audit *a) {
    int other = 1 - a->cur;
    work_join(a, other);
    if (a->w[a->cur].n || a->w[a->cur].nr) {
        if (a->batch_bytes > a->max_batch_bytes) a->max_batch_bytes = a->batch_bytes;
        a->batch_bytes = 0;
        work_start(a, a->cur);
        a->cur = other;
    }
}

static void work_drain(mt_audit *a) {
    work_flush(a);
    work_join(a, 1 - a->cur);
    work_join(a, a->cur);
}

static slot *new_slot(mt_audit *a, uint64_t index, const where *at) {
    work *w = &a->w[a->cur];
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        slot *ns = realloc(w->s, cap * sizeof(*ns));
        if (!ns) {
            a->oom = 1;
            return NULL;
        }
        w->s = ns;
        w->cap = cap;
    }
    slot *s = &w->s[w->n++];
    memset(s, 0, sizeof(*s));
    s->index = index;
    s->at = *at;
    a->batch_bytes += sizeof(*s);
    return s;
}

/* ---- taint: what depends on an entry already named ---- */

static void taint_put(mt_audit *a, const char *key, uint64_t root) {
    if (mt_map_get(a->taint, key, strlen(key))) return;
    uint64_t *v = malloc(sizeof(*v));
    if (!v) {
        a->oom = 1;
        return;
    }
    *v = root;
    if (mt_map_put(a->taint, key, strlen(key), v) == v) {
        free(v);
        a->oom = 1;
    }
}

/* The root index an event depends on (its chain, an input, or its transfer), or -1. */
static int64_t taint_of(const mt_audit *a, const mt_attested *at) {
    const uint64_t *v = NULL;
    if (at->env && at->env->n_signatures) v = mt_map_get(a->taint, at->env->signatures[0]->key_id,
                                                         strlen(at->env->signatures[0]->key_id));
    for (size_t i = 0; !v && at->ev && i < at->ev->n_inputs; i++)
        v = mt_map_get(a->taint, at->ev->inputs[i]->batch_id, strlen(at->ev->inputs[i]->batch_id));
    if (!v && at->ev && at->ev->kind == K(RECEIVE) && at->ev->receive && at->ev->receive->transfer_event_id.len == 32) {
        char hex[65];
        mt_hex_encode(at->ev->receive->transfer_event_id.data, 32, hex);
        v = mt_map_get(a->taint, hex, strlen(hex));
    }
    if (!v && at->ev && at->ev->kind == K(CORRECTION) && at->ev->correction &&
        at->ev->correction->corrected_event_id.len == 32) {
        char hex[65];
        mt_hex_encode(at->ev->correction->corrected_event_id.data, 32, hex);
        v = mt_map_get(a->taint, hex, strlen(hex));
    }
    return v ? (int64_t)*v : -1;
}

static void taint_event(mt_audit *a, const mt_attested *at, uint64_t root) {
    if (at->env && at->env->n_signatures) taint_put(a, at->env->signatures[0]->key_id, root);
    if (!at->ev) return;
    for (size_t i = 0; i < at->ev->n_outputs; i++) taint_put(a, at->ev->outputs[i]->batch_id, root);
    for (size_t i = 0; i < at->ev->n_inputs; i++) taint_put(a, at->ev->inputs[i]->batch_id, root);
    char hex[65];
    mt_hex_encode(at->event_id, 32, hex);
    taint_put(a, hex, root);
}

/* ---- the replay ---- */

/* What the ledger decided about one offer (the auditor's ledger never parks for long: an offer
 * that parks is undone). */
typedef struct capture {
    int n;
    mt_decision_kind kind;
    uint64_t index, first_index;
    mt_verdict verdict;
    char **changed;
    size_t n_changed;
    int oom;
} capture;

static void capture_fn(void *arg, const mt_decision *d) {
    capture *c = arg;
    if (c->n++) return;
    c->kind = d->kind;
    c->index = d->index;
    c->first_index = d->first_index;
    c->verdict = d->verdict;
    if (d->n_changed) {
        c->changed = calloc(d->n_changed, sizeof(char *));
        if (!c->changed) {
            c->oom = 1;
            return;
        }
        for (size_t i = 0; i < d->n_changed; i++) {
            c->changed[i] = strdup(d->changed[i]);
            if (!c->changed[i]) c->oom = 1;
        }
        c->n_changed = d->n_changed;
    }
}

static void capture_release(capture *c) {
    for (size_t i = 0; i < c->n_changed; i++) free(c->changed[i]);
    free(c->changed);
    memset(c, 0, sizeof(*c));
}

static const mt_registry *registry_now(const mt_audit *a) {
    const mt_registry *r = mt_ledger_registry(a->l, 0);
    return r ? r : a->conf.registry;
}

/* Makes the ledger's next index pass `index` when the entry there could not be replayed (its
 * state is left as if the entry were not there). */
static void advance(mt_audit *a, uint64_t index) {
    if (mt_ledger_next_index(a->l) != index) return;
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    Mintrace__V1__Duplicate d = MINTRACE__V1__DUPLICATE__INIT;
    e.index = index;
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE;
    e.duplicate = &d;
    size_t len;
    uint8_t *b = mt_message_pack(&e.base, &len);
    char err[256];
    if (!b || mt_ledger_replay(a->l, a->conf.registry, a->network_id, b, len, err, sizeof(err))) a->oom = 1;
    mt_ledger_commit(a->l);
    free(b);
}

/* The rules' own decision on attested bytes at the ledger's next index, undone afterwards. */
static int judge_only(mt_audit *a, const uint8_t *bytes, size_t len, const where *at, capture *cap) {
    memset(cap, 0, sizeof(*cap));
    mt_ledger_begin(a->l);
    int rc = mt_ledger_offer(a->l, a->conf.registry, a->network_id, bytes, len, at->topic, at->partition, at->offset,
                             capture_fn, cap);
    mt_ledger_abort(a->l);
    a->totals.signatures++; /* the notary's */
    return rc || cap->oom ? -1 : 0;
}

static const char *kind_of_rule(mt_reason code) {
    switch ((int)code) {
    case R(OVERDRAWN):
    case R(NOT_CUSTODIAN):
    case R(IN_TRANSIT): return "DOUBLE_SPEND";
    case R(ELEMENT_NOT_CONSERVED): return "INFLATION";
    case R(UNKNOWN_KEY):
    case R(UNKNOWN_FACILITY):
    case R(KEY_FACILITY_MISMATCH):
    case R(ROLE_NOT_ALLOWED):
    case R(KEY_REVOKED):
    case R(KEY_NOT_VALID): return kind_of_key_reason(code);
    default: return "RULE_VIOLATION";
    }
}

/* Why the notary attestation did not open: whose key, valid or not, or the signature. */
static const char *attestation_kind(const mt_audit *a, const mt_attested *at) {
    if (!at->att_env || !at->att) return "BAD_SIGNATURE";
    const mt_registry *reg = mt_ledger_registry(a->l, at->att->registry_version);
    if (!reg) reg = registry_now(a);
    const mt_registry_key *k = reg ? mt_registry_find_key(reg, at->att_env->signatures[0]->key_id) : NULL;
    if (!k) return "UNKNOWN_KEY";
    if (k->facility->role != ROLE(NOTARY)) return "WRONG_ROLE";
    char why[200];
    if (mt_registry_key_valid_at(k, at->att->notary_time_ms, why, sizeof(why))) return "REVOKED_KEY";
    return "BAD_SIGNATURE";
}

static void add_material(mt_audit *a, const Mintrace__V1__ProvenanceRecord *rec) {
    mt_audit_material *m = NULL;
    for (size_t i = 0; i < a->n_mats && !m; i++)
        if (strcmp(a->mats[i].material, rec->material) == 0) m = &a->mats[i];
    if (!m) {
        mt_audit_material *nm = realloc(a->mats, (a->n_mats + 1) * sizeof(*nm));
        if (!nm) {
            a->oom = 1;
            return;
        }
        a->mats = nm;
        m = &a->mats[a->n_mats++];
        memset(m, 0, sizeof(*m));
        snprintf(m->material, sizeof(m->material), "%s", rec->material);
    }
    m->batches++;
    m->mass_mg += rec->mass_mg;
    for (size_t i = 0; i < rec->n_elements; i++) {
        const Mintrace__V1__ElementProvenance *ep = rec->elements[i];
        mt_audit_element *e = NULL;
        for (size_t j = 0; j < m->n_elements && !e; j++)
            if (strcmp(m->elements[j].element, ep->element) == 0) e = &m->elements[j];
        if (!e && m->n_elements < MT_AUDIT_MAX_ELEMENTS) {
            e = &m->elements[m->n_elements++];
            snprintf(e->element, sizeof(e->element), "%s", ep->element);
        }
        if (!e) continue;
        e->total_mg += ep->total_mg;
        e->pre_mg += ep->recycled_pre_consumer_mg;
        e->post_mg += ep->recycled_post_consumer_mg;
        e->untracked_mg += ep->untracked_mg;
        e->unattributed_mg += ep->unattributed_mg;
        for (size_t k = 0; k < ep->n_extraction; k++) {
            mt_audit_country *c = NULL;
            for (size_t j = 0; j < e->n_extraction && !c; j++)
                if (strcmp(e->extraction[j].country, ep->extraction[k]->country) == 0) c = &e->extraction[j];
            if (!c && e->n_extraction < MT_AUDIT_MAX_COUNTRIES) {
                c = &e->extraction[e->n_extraction++];
                snprintf(c->country, sizeof(c->country), "%s", ep->extraction[k]->country);
            }
            if (c) c->mg += ep->extraction[k]->mass_mg;
        }
    }
}

static int role_of(const mt_registry *reg, const char *facility) {
    const Mintrace__V1__FacilityRecord *f = reg ? mt_registry_find_facility(reg, facility) : NULL;
    return f ? (int)f->role : 0;
}

static void add_flow(mt_audit *a, int from, int to, uint64_t mg) {
    for (size_t i = 0; i < a->n_flows; i++)
        if (a->flows[i].from_role == from && a->flows[i].to_role == to) {
            a->flows[i].transfers++;
            a->flows[i].mass_mg += mg;
            return;
        }
    mt_audit_flow *nf = realloc(a->flows, (a->n_flows + 1) * sizeof(*nf));
    if (!nf) {
        a->oom = 1;
        return;
    }
    a->flows = nf;
    a->flows[a->n_flows++] = (mt_audit_flow){from, to, 1, mg};
}

/* ---- provenance records: published ones, and the replay's ---- */

static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) b[i] = (unsigned char)v;
}

/* The number of batch id (a new one when create and it was never met): 1, 0 (absent), -1. */
static int batch_number(mt_audit *a, const char *id, int create, uint64_t *no) {
    size_t idlen = strlen(id), vlen;
    char *key = malloc(idlen + 1);
    void *v = NULL;
    if (!key) return -1;
    key[0] = 'b';
    memcpy(key + 1, id, idlen);
    int rc = kv_get(a->kv, key, idlen + 1, &v, &vlen);
    if (rc == 1 && vlen == 8) memcpy(no, v, 8);
    else if (rc == 1) rc = -1;
    free(v);
    if (rc == 0 && create) {
        unsigned char nkey[9];
        batch_row br;
        memset(&br, 0, sizeof(br));
        *no = mt_rectab_count(a->batches);
        nkey[0] = 'n';
        put_u64(nkey + 1, *no);
        rc = mt_rectab_append(a->batches, &br) || kv_put(a->kv, key, idlen + 1, no, 8) ||
                     kv_put(a->kv, nkey, sizeof(nkey), id, idlen)
                 ? -1
                 : 1;
    }
    free(key);
    return rc;
}

/* The batch id of a number (malloc'd), or NULL. */
static char *batch_id_of(const mt_audit *a, uint64_t no) {
    unsigned char nkey[9];
    void *v = NULL;
    size_t vlen;
    nkey[0] = 'n';
    put_u64(nkey + 1, no);
    if (kv_get(a->kv, nkey, sizeof(nkey), &v, &vlen) != 1) return NULL;
    char *id = malloc(vlen + 1);
    if (id) {
        memcpy(id, v, vlen);
        id[vlen] = '\0';
    }
    free(v);
    return id;
}

static void pub_key(unsigned char key[17], uint64_t batch, uint64_t index) {
    key[0] = 'p';
    put_u64(key + 1, batch);
    put_u64(key + 9, index);
}

/* The replay changed batch id at its ledger index: the records published for that batch at that
 * index with the same figures are matched; the batch's final figures are these. */
static int replay_changed(mt_audit *a, const char *id, const Mintrace__V1__ProvenanceRecord *rec,
                          const unsigned char commit[32]) {
    uint64_t no;
    if (batch_number(a, id, 1, &no) != 1) return -1;
    unsigned char key[17];
    void *v = NULL;
    size_t vlen;
    pub_key(key, no, rec->ledger_index);
    int rc = kv_get(a->kv, key, sizeof(key), &v, &vlen);
    if (rc < 0) return -1;
    for (size_t i = 0; rc == 1 && i + 8 <= vlen; i += 8) {
        uint64_t n;
        pub_row pr;
        memcpy(&n, (unsigned char *)v + i, 8);
        if (mt_rectab_get(a->pubs, n, &pr)) rc = -1;
        else if (!pr.matched && memcmp(pr.commit, commit, 32) == 0) {
            pr.matched = 1;
            if (mt_rectab_set(a->pubs, n, &pr)) rc = -1;
        }
    }
    free(v);
    if (rc < 0) return -1;
    batch_row br;
    if (mt_rectab_get(a->batches, no, &br)) return -1;
    br.has_final = 1;
    br.final_index = rec->ledger_index;
    memcpy(br.final_commit, commit, 32);
    return mt_rectab_set(a->batches, no, &br);
}

/* An accepted event is applied: compare the provenance records published for what it changed,
 * remember the final figures, count materials and flows. */
static void after_accept(mt_audit *a, const mt_attested *at, const capture *cap) {
    for (size_t i = 0; i < cap->n_changed; i++) {
        const char *id = cap->changed[i];
        Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(a->l, id);
        unsigned char commit[32];
        if (!rec || mt_prov_record_commit(rec, commit) || replay_changed(a, id, rec, commit)) {
            mt_prov_record_free(rec);
            a->oom = 1;
            return;
        }
        mt_prov_record_free(rec);
    }
    const Mintrace__V1__BatchEvent *ev = at->ev;
    for (size_t i = 0; i < ev->n_outputs; i++) {
        Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(a->l, ev->outputs[i]->batch_id);
        if (rec) add_material(a, rec);
        mt_prov_record_free(rec);
    }
    if (ev->kind == K(TRANSFER) && ev->transfer) {
        const mt_registry *reg = mt_ledger_registry(a->l, at->att->registry_version);
        if (!reg) reg = registry_now(a);
        uint64_t mg = 0;
        for (size_t i = 0; i < ev->n_inputs; i++) mg += ev->inputs[i]->mass_mg;
        add_flow(a, role_of(reg, ev->facility_id), role_of(reg, ev->transfer->destination_facility_id), mg);
    }
}

static void bad(mt_audit *a, uint64_t index) {
    if (index < a->first_bad) a->first_bad = index;
}

/* An accepted event: the rules must accept it, here; its facility signature goes to the threads. */
static void judge_event(mt_audit *a, slot *s, const Mintrace__V1__LedgerEntry *e, entry_rec *er) {
    size_t blen;
    uint8_t *b = mt_message_pack(&e->event->base, &blen);
    mt_attested at;
    mt_verdict v;
    er->kind = E_EVENT;
    if (!b) {
        a->oom = 1;
        return;
    }
    int dec = mt_attested_open_verified(b, blen, &at, &v);
    if (v.has_event_id) {
        memcpy(er->subject, v.event_id, 32);
        mt_hex_encode(v.event_id, 32, s->event_id);
    }
    snprintf(s->facility, sizeof(s->facility), "%s", v.facility_id);
    if (at.ae && at.ae->envelope.len) {
        unsigned char sub[32], st[32];
        mt_hash(at.ae->attestation.data, at.ae->attestation.len, st);
        if (!v.has_event_id) memset(sub, 0, 32);
        else memcpy(sub, v.event_id, 32);
        mt_leaf_hash(e->index, MT_LEAF_EVENT, sub, st, er->leaf);
    }
    if (dec) {
        slot_set_a(s, "ALTERED_PAYLOAD", mt_reason_name(v.code), "journaled event does not decode: %s", v.detail);
        bad(a, e->index);
        advance(a, e->index);
        goto out;
    }
    unsigned char env_hash[32];
    mt_hash(at.ae->envelope.data, at.ae->envelope.len, env_hash);
    if (at.att->event_id.len != 32 || memcmp(at.att->event_id.data, at.event_id, 32) != 0) {
        /* name the event the notary attested: the one that should be here */
        if (at.att->event_id.len == 32) mt_hex_encode(at.att->event_id.data, 32, s->event_id);
        slot_set_a(s, "ALTERED_PAYLOAD", "event_id", "the payload is not the one the notary attested (its id differs)");
    }
    else if (at.att->envelope_hash.len != 32 || memcmp(at.att->envelope_hash.data, env_hash, 32) != 0)
        slot_set_a(s, "BAD_SIGNATURE", "envelope_hash",
                   "the facility's signatures are not the ones the notary attested (the envelope hash differs)");

    capture cap = {0};
    mt_ledger_begin(a->l);
    mt_ledger_set_caller_verifies_notary(a->l, 1); /* the notary's signature: in the slot, on all cores */
    int rc = mt_ledger_offer(a->l, a->conf.registry, a->network_id, b, blen, s->at.topic, s->at.partition,
                             s->at.offset, capture_fn, &cap);
    mt_ledger_set_caller_verifies_notary(a->l, 0);
    if (rc || cap.oom) {
        mt_ledger_abort(a->l);
        a->oom = 1;
        capture_release(&cap);
        goto out;
    }
    if (cap.n == 1 && cap.kind == MT_DECIDED_ACCEPTED && cap.index == e->index && !s->kind_a) {
        mt_ledger_commit(a->l);
        a->totals.accepted++;
        after_accept(a, &at, &cap);
        /* the facility signature, judged as the notary's registry version stood at its time */
        const mt_registry *reg = mt_ledger_registry(a->l, at.att->registry_version);
        s->reg = reg ? reg : mt_ledger_registry(a->l, 0) ? NULL : a->conf.registry;
        s->at_ms = at.att->notary_time_ms;
        s->env = malloc(at.ae->envelope.len ? at.ae->envelope.len : 1);
        if (!s->env) a->oom = 1;
        else memcpy(s->env, at.ae->envelope.data, at.ae->envelope.len);
        s->env_len = at.ae->envelope.len;
        a->batch_bytes += s->env_len;
        /* the notary key the ledger judged the attestation with (the version it names) */
        const mt_registry *nreg = mt_ledger_registry(a->l, 0) ? reg : a->conf.registry;
        const mt_registry_key *nk = nreg ? mt_registry_find_key(nreg, at.att_env->signatures[0]->key_id) : NULL;
        if (nk) {
            memcpy(s->notary_pk, nk->pk, MT_PK_LEN);
            s->att = malloc(at.ae->attestation.len ? at.ae->attestation.len : 1);
            if (!s->att) a->oom = 1;
            else memcpy(s->att, at.ae->attestation.data, at.ae->attestation.len);
            s->att_len = at.ae->attestation.len;
            a->batch_bytes += s->att_len;
        } else { /* the ledger found it: this cannot happen; say so rather than skip a check */
            slot_set_a(s, "BAD_SIGNATURE", "BAD_ATTESTATION", "notary key %s not found to verify with",
                       at.att_env->signatures[0]->key_id);
        }
        capture_release(&cap);
        goto out;
    }
    mt_ledger_abort(a->l);
    advance(a, e->index);
    bad(a, e->index);
    int64_t root = taint_of(a, &at);
    if (s->kind_a) {
        /* already named by its bytes */
    } else if (root >= 0) {
        slot_set_a(s, "FOLLOWS_FINDING", cap.n ? mt_reason_name(cap.verdict.code) : "parked",
                   "depends on entry %" PRId64 ", already named: %s", root,
                   cap.n ? cap.verdict.detail : "the rules would wait for what it depends on");
    } else if (cap.n == 0 && a->first_gap < e->index) {
        slot_set_a(s, "FOLLOWS_FINDING", "parked",
                   "the rules would wait for what it depends on: missing since the gap at entry %" PRIu64,
                   a->first_gap);
    } else if (cap.n == 0) {
        slot_set_a(s, "REORDERED", "parked",
                   "journaled before what it depends on (its chain predecessor, its TRANSFER or its registry "
                   "version): the rules would make it wait");
    } else if (cap.kind == MT_DECIDED_DUPLICATE) {
        slot_set_a(s, "DUPLICATED", "duplicate", "accepted again: the same event was decided at entry %" PRIu64,
                   cap.first_index);
    } else if (cap.kind == MT_DECIDED_ACCEPTED) {
        slot_set_a(s, "RULE_VIOLATION", "index", "the rules accept it, but not at this index");
    } else if (cap.verdict.code == R(BAD_ATTESTATION)) {
        slot_set_a(s, attestation_kind(a, &at), "BAD_ATTESTATION", "notary attestation: %s", cap.verdict.detail);
    } else {
        slot_set_a(s, kind_of_rule(cap.verdict.code), mt_reason_name(cap.verdict.code),
                   "journaled as accepted, but the rules reject it: %s", cap.verdict.detail);
    }
    taint_event(a, &at, root >= 0 ? (uint64_t)root : cap.n == 0 && a->first_gap < e->index ? a->first_gap : e->index);
    capture_release(&cap);
out:
    mt_attested_release(&at);
    free(b);
}

/* Whether a registry version (or the fallback) journaled so far rejects a validate/sign
 * rejection's original envelope: if none does, it was censored. */
static int some_registry_rejects(mt_audit *a, const Mintrace__V1__Rejection *r) {
    uint64_t newest = mt_ledger_registry_version(a->l);
    mt_verdict v;
    for (uint64_t ver = newest; ver >= 1; ver--) {
        const mt_registry *reg = mt_ledger_registry(a->l, ver);
        if (!reg) continue;
        a->totals.signatures++;
        if (mt_validate_envelope(reg, a->network_id, r->original.data, r->original.len, r->time_ms, &v)) return 1;
    }
    if (a->conf.registry) {
        a->totals.signatures++;
        if (mt_validate_envelope(a->conf.registry, a->network_id, r->original.data, r->original.len, r->time_ms, &v))
            return 1;
    }
    return newest == 0 && !a->conf.registry; /* nothing to judge with: do not accuse */
}

static void judge_rejection(mt_audit *a, slot *s, const Mintrace__V1__LedgerEntry *e, const uint8_t *entry_bytes,
                            size_t entry_len, entry_rec *er) {
    er->kind = E_REJECTION;
    a->totals.rejected++;
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data);
    if (!r) {
        slot_set_a(s, "ALTERED_PAYLOAD", "decode", "journaled rejection is not a Rejection");
        bad(a, e->index);
        advance(a, e->index);
        return;
    }
    unsigned char sub[32], st[32];
    mt_hash(r->original.data, r->original.len, sub);
    mt_hash(e->rejection.data, e->rejection.len, st);
    mt_leaf_hash(e->index, MT_LEAF_REJECTION, sub, st, er->leaf);
    if (r->event_id.len == 32) {
        memcpy(er->subject, r->event_id.data, 32);
        mt_hex_encode(r->event_id.data, 32, s->event_id);
    }
    snprintf(s->facility, sizeof(s->facility), "%s", r->facility_id);
    const char *code = mt_reason_name(r->code);
    if (r->stage == MINTRACE__V1__STAGE__STAGE_AGGREGATE) {
        capture cap;
        Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, r->original.len, r->original.data);
        if (ae) {
            mintrace__v1__attested_event__free_unpacked(ae, NULL);
            if (judge_only(a, r->original.data, r->original.len, &s->at, &cap)) a->oom = 1;
            else if (cap.n && cap.kind == MT_DECIDED_ACCEPTED) {
                slot_set_a(s, "CENSORED", code, "rejected as %s (%.120s), but the rules accept it here", code,
                           r->detail);
                /* what follows it in its chain is judged against the rejection, as journaled */
                mt_attested at;
                mt_verdict v;
                if (mt_attested_open_verified(r->original.data, r->original.len, &at, &v) == 0)
                    taint_event(a, &at, e->index);
                mt_attested_release(&at);
                bad(a, e->index);
            }
            capture_release(&cap);
        }
    } else if (!some_registry_rejects(a, r)) {
        slot_set_a(s, "CENSORED", code,
                   "rejected by %s as %s (%.120s), but it verifies with every registry version in force",
                   mt_enum_name(&mintrace__v1__stage__descriptor, r->stage), code, r->detail);
        bad(a, e->index);
    }
    mintrace__v1__rejection__free_unpacked(r, NULL);
    char err[300];
    if (mt_ledger_replay(a->l, a->conf.registry, a->network_id, entry_bytes, entry_len, err, sizeof(err))) {
        if (!a->oom) slot_set_a(s, "RULE_VIOLATION", code, "%s", err);
        bad(a, e->index);
        advance(a, e->index);
    }
    mt_ledger_commit(a->l);
}

static void judge_duplicate(mt_audit *a, slot *s, const Mintrace__V1__LedgerEntry *e, const uint8_t *entry_bytes,
                            size_t entry_len, entry_rec *er) {
    er->kind = E_DUPLICATE;
    a->totals.duplicates++;
    const Mintrace__V1__Duplicate *d = e->duplicate;
    unsigned char st[32];
    mt_hash(d->attested.data, d->attested.len, st);
    if (d->event_id.len == 32) {
        memcpy(er->subject, d->event_id.data, 32);
        mt_hex_encode(d->event_id.data, 32, s->event_id);
    }
    mt_leaf_hash(e->index, MT_LEAF_DUPLICATE, er->subject, st, er->leaf);
    capture cap;
    if (judge_only(a, d->attested.data, d->attested.len, &s->at, &cap)) {
        a->oom = 1;
    } else if (cap.n && cap.kind == MT_DECIDED_ACCEPTED) {
        slot_set_a(s, "CENSORED", "duplicate",
                   "journaled as a duplicate of entry %" PRIu64 ", but the event was never decided: the rules accept it",
                   d->first_index);
        bad(a, e->index);
    } else if (!cap.n || cap.kind != MT_DECIDED_DUPLICATE || cap.first_index != d->first_index ||
               d->event_id.len != 32 || memcmp(d->event_id.data, cap.verdict.event_id, 32) != 0) {
        slot_set_a(s, "RULE_VIOLATION", "duplicate", "journaled as a duplicate of entry %" PRIu64 ", which it is not",
                   d->first_index);
        bad(a, e->index);
    }
    snprintf(s->facility, sizeof(s->facility), "%s", cap.verdict.facility_id);
    capture_release(&cap);
    char err[300];
    if (mt_ledger_replay(a->l, a->conf.registry, a->network_id, entry_bytes, entry_len, err, sizeof(err)))
        advance(a, e->index);
    mt_ledger_commit(a->l);
}

static void judge_registry(mt_audit *a, slot *s, const Mintrace__V1__LedgerEntry *e, const uint8_t *entry_bytes,
                           size_t entry_len, entry_rec *er) {
    er->kind = E_REGISTRY;
    Mintrace__V1__Envelope *env =
        mintrace__v1__envelope__unpack(NULL, e->registry_change.len, e->registry_change.data);
    unsigned char sub[32] = {0}, st[32];
    if (env) mt_hash(env->payload.data, env->payload.len, sub);
    mt_hash(e->registry_change.data, e->registry_change.len, st);
    mt_leaf_hash(e->index, MT_LEAF_REGISTRY, sub, st, er->leaf);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    char err[300];
    a->totals.signatures++; /* the governance key's */
    if (mt_ledger_replay(a->l, a->conf.registry, a->network_id, entry_bytes, entry_len, err, sizeof(err))) {
        slot_set_a(s, "FORGED_REGISTRY", "BAD_REGISTRY", "%s", err);
        bad(a, e->index);
        advance(a, e->index);
    } else {
        a->totals.registry_versions++;
    }
    mt_ledger_commit(a->l);
}

/* ---- checkpoints ---- */

static int by_size(const void *x, const void *y) {
    const cp_row *p = x, *q = y;
    if (p->size != q->size) return p->size < q->size ? -1 : 1;
    return p->arrival < q->arrival ? -1 : p->arrival > q->arrival;
}

/* A checkpoint against the tree of its size: the replay is there now (past_end 0), or it is past
 * the journal's end (1), or it passed that size before the checkpoint was fed (2: the root is
 * the one stored for that size; the provenance root cannot be recomputed any more). */
static void check_checkpoint(mt_audit *a, pending_cp *p, int past_end) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, p->len, p->env);
    Mintrace__V1__Checkpoint *cp = env ? mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    int64_t idx = p->size ? (int64_t)p->size - 1 : -1;
    char why[300];
    if (!cp) {
        add_finding(a, "FORGED_CHECKPOINT", idx, &p->at, "decode", "not a signed Checkpoint envelope");
        goto out;
    }
    a->totals.signatures++;
    if (aggregator_verify(registry_now(a), env, MT_PAYLOAD_CHECKPOINT, cp->time_ms, why, sizeof(why))) {
        add_finding(a, "FORGED_CHECKPOINT", idx, &p->at, "signature", "checkpoint at tree size %" PRIu64 ": %s",
                    cp->tree_size, why);
        goto out;
    }
    if (strcmp(cp->network_id, a->network_id) != 0) {
        add_finding(a, "FORGED_CHECKPOINT", idx, &p->at, "network", "checkpoint is for network '%.60s'",
                    cp->network_id);
        goto out;
    }
    if (past_end == 1) {
        add_finding(a, "TRUNCATED", idx, &p->at, "checkpoint",
                    "a signed checkpoint covers %" PRIu64 " entries; the journal holds %" PRIu64, cp->tree_size,
                    a->n_recs);
        goto out;
    }
    unsigned char root[32], proot[32];
    if (past_end == 2 && cp->tree_size == 0) mt_merkle_root(NULL, 0, root);
    else if (past_end == 2) {
        entry_rec er;
        if (mt_rectab_get(a->recs, cp->tree_size - 1, &er)) {
            a->oom = 1;
            goto out;
        }
        memcpy(root, er.root, 32);
    }
    else mt_merkle_frontier_root(&a->tree, root);
    int explained = a->first_bad < cp->tree_size;
    if (cp->root.len != 32 || memcmp(cp->root.data, root, 32) != 0) {
        if (explained) a->explained++;
        else
            add_finding(a, "FORKED", idx, &p->at, "root",
                        "the signed checkpoint at tree size %" PRIu64 " has another root than the journal: the "
                        "history was rewritten after it was signed",
                        cp->tree_size);
        goto out;
    }
    if (cp->provenance_root.len == 32 && past_end != 2) {
        if (mt_ledger_provenance_root(a->l, proot)) {
            a->oom = 1;
            goto out;
        }
        if (memcmp(cp->provenance_root.data, proot, 32) != 0) {
            if (explained) a->explained++;
            else
                add_finding(a, "FORGED_PROVENANCE", idx, &p->at, "provenance_root",
                            "the checkpoint at tree size %" PRIu64 " commits to provenance the journal does not give",
                            cp->tree_size);
            goto out;
        }
    }
    if (past_end != 2 && cp->registry_version != mt_ledger_registry_version(a->l)) {
        if (explained) a->explained++;
        else
            add_finding(a, "FORGED_CHECKPOINT", idx, &p->at, "registry_version",
                        "the checkpoint at tree size %" PRIu64 " names registry version %" PRIu64
                        "; the journal has version %" PRIu64 " in force there",
                        cp->tree_size, cp->registry_version, mt_ledger_registry_version(a->l));
        goto out;
    }
    a->totals.checkpoints_verified++;
    if (!a->newest_cp || cp->tree_size >= a->newest_cp_size) {
        free(a->newest_cp);
        a->newest_cp = malloc(p->len);
        if (!a->newest_cp) a->oom = 1;
        else memcpy(a->newest_cp, p->env, p->len);
        a->newest_cp_len = p->len;
        a->newest_cp_size = cp->tree_size;
        a->totals.checkpoint_size = cp->tree_size;
        memcpy(a->totals.checkpoint_root, root, 32);
    }
out:
    if (cp) mintrace__v1__checkpoint__free_unpacked(cp, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
}

/* The checkpoint to check next (the smallest size, then the first to arrive): 1 with *r, 0 if
 * none waits, -1 on a read error. *side says where it is. */
static int cp_peek(mt_audit *a, cp_row *r, int *side) {
    if (!a->side_sorted) {
        if (a->n_side > a->side_next)
            qsort(a->cp_side + a->side_next, a->n_side - a->side_next, sizeof(*a->cp_side), by_size);
        a->side_sorted = 1;
    }
    int has_main = a->cp_next < mt_rectab_count(a->cp_rows), has_side = a->side_next < a->n_side;
    if (has_main && mt_rectab_get(a->cp_rows, a->cp_next, r)) return -1;
    if (!has_main && !has_side) return 0;
    *side = !has_main || (has_side && by_size(&a->cp_side[a->side_next], r) < 0);
    if (*side) *r = a->cp_side[a->side_next];
    return 1;
}

static void topic_where(const mt_audit *a, uint32_t topic, int32_t partition, int64_t offset, where *w) {
    where_set(w, topic < a->n_topics ? a->topics[topic] : "", partition, offset);
}

/* Checks the checkpoint cp_peek gave, its envelope read back. */
static void cp_check_next(mt_audit *a, const cp_row *r, int side, int past_end) {
    if (side) a->side_next++;
    else a->cp_next++;
    pending_cp p = {.size = r->size, .len = r->env_len};
    uint8_t *env = malloc(r->env_len ? r->env_len : 1);
    if (!env || mt_rectab_get_many(a->cp_bytes, r->env_off, r->env_len, env)) {
        free(env);
        a->oom = 1;
        return;
    }
    p.env = env;
    topic_where(a, r->topic, r->partition, r->offset, &p.at);
    check_checkpoint(a, &p, past_end);
    free(env);
}

static void check_checkpoints_at_size(mt_audit *a) {
    uint64_t size = mt_merkle_frontier_size(&a->tree);
    cp_row r;
    int side, got;
    /* fed before the entries, every checkpoint is met at its own size (size 0 at the start); one
     * fed later is checked against the root stored for its size */
    while (!a->oom && (got = cp_peek(a, &r, &side)) == 1 && r.size <= size)
        cp_check_next(a, &r, side, r.size == size ? 0 : 2);
    if (got < 0) a->oom = 1;
}

/* ---- entries ---- */

static void store_rec(mt_audit *a, entry_rec *er) {
    mt_merkle_frontier_append(&a->tree, er->leaf);
    mt_merkle_frontier_root(&a->tree, er->root);
    if (mt_rectab_append(a->recs, er)) {
        a->oom = 1; /* disk full, or out of memory */
        return;
    }
    a->n_recs++;
    a->totals.entries++;
}

/* One entry at the index the journal is at. */
static void process_entry(mt_audit *a, const Mintrace__V1__LedgerEntry *e, const uint8_t *bytes, size_t len,
                          const where *at) {
    if (a->n_recs == 0) check_checkpoints_at_size(a); /* a checkpoint of the empty tree */
    slot *s = new_slot(a, e->index, at);
    if (!s) return;
    entry_rec er;
    memset(&er, 0, sizeof(er));
    switch (e->entry_case) {
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT: judge_event(a, s, e, &er); break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION: judge_rejection(a, s, e, bytes, len, &er); break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE: judge_registry(a, s, e, bytes, len, &er); break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE: judge_duplicate(a, s, e, bytes, len, &er); break;
    default:
        er.kind = E_UNDECODABLE;
        slot_set_a(s, "ALTERED_PAYLOAD", "decode", "a ledger entry of no known kind");
        bad(a, e->index);
        advance(a, e->index);
    }
    if (!s->kind_a && (e->leaf_hash.len != 32 || memcmp(e->leaf_hash.data, er.leaf, 32) != 0)) {
        slot_set_a(s, "ALTERED_PAYLOAD", "leaf_hash", "the entry's bytes do not give the leaf hash it carries");
        bad(a, e->index);
    }
    store_rec(a, &er);
    if (mt_audit_sub_entry(a->sub, e)) a->oom = 1;
    a->next = e->index + 1;
    check_checkpoints_at_size(a);
    work *w = &a->w[a->cur];
    if (w->n >= a->conf.batch) work_flush(a);
}

/* Entries missing for good: named once, their places left empty. */
static void fill_gap(mt_audit *a, uint64_t upto) {
    where none = {.offset = -1};
    add_finding(a, "INDEX_GAP", (int64_t)a->next, &none, "index",
                upto - a->next == 1 ? "entry %" PRIu64 " is missing from the journal"
                                    : "entries %" PRIu64 " to %" PRIu64 " are missing from the journal",
                a->next, upto - 1);
    bad(a, a->next);
    if (a->next < a->first_gap) a->first_gap = a->next;
    while (a->next < upto && !a->oom) {
        entry_rec er;
        memset(&er, 0, sizeof(er));
        advance(a, a->next);
        store_rec(a, &er);
        a->next++;
        check_checkpoints_at_size(a);
    }
}

typedef struct stashed {
    size_t len;
    where at;
    uint8_t bytes[];
} stashed;

static void find_low(void *arg, const void *key, size_t klen, void *value) {
    (void)value;
    uint64_t k;
    memcpy(&k, key, klen < sizeof(k) ? klen : sizeof(k));
    if (k < *(uint64_t *)arg) *(uint64_t *)arg = k;
}

static uint64_t stash_low(const mt_audit *a) {
    uint64_t low = UINT64_MAX;
    mt_map_foreach(a->stash, find_low, &low);
    return low;
}

static void process_bytes(mt_audit *a, const uint8_t *bytes, size_t len, const where *at, int reordered);

/* Processes stashed entries that are due now. */
static void drain_stash(mt_audit *a) {
    stashed *st;
    while (!a->oom && (st = mt_map_remove(a->stash, &a->next, sizeof(a->next))) != NULL) {
        process_bytes(a, st->bytes, st->len, &st->at, 0);
        free(st);
    }
}

static void leaf_of(const Mintrace__V1__LedgerEntry *e, unsigned char leaf[32]) {
    memset(leaf, 0, 32);
    if (e->leaf_hash.len == 32) memcpy(leaf, e->leaf_hash.data, 32);
}

/* The event an entry is about (hex id, facility), as far as its bytes say. */
static void entry_event(const Mintrace__V1__LedgerEntry *e, mt_finding *f) {
    if (!f) return;
    const ProtobufCBinaryData *id = NULL;
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE) id = &e->duplicate->event_id;
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        size_t blen;
        uint8_t *b = mt_message_pack(&e->event->base, &blen);
        mt_attested at;
        mt_verdict v;
        if (b && mt_attested_open_verified(b, blen, &at, &v) == 0) {
            mt_hex_encode(at.event_id, 32, f->event_id);
            snprintf(f->facility, sizeof(f->facility), "%s", at.ev->facility_id);
        }
        mt_attested_release(&at);
        free(b);
    } else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION) {
        Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data);
        if (r && r->event_id.len == 32) mt_hex_encode(r->event_id.data, 32, f->event_id);
        if (r) snprintf(f->facility, sizeof(f->facility), "%s", r->facility_id);
        if (r) mintrace__v1__rejection__free_unpacked(r, NULL);
    }
    if (id && id->len == 32) mt_hex_encode(id->data, 32, f->event_id);
}

static void process_bytes(mt_audit *a, const uint8_t *bytes, size_t len, const where *at, int reordered) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, bytes);
    if (!e) {
        add_finding(a, "ALTERED_PAYLOAD", -1, at, "decode", "a message of the ledger topic is not a LedgerEntry");
        return;
    }
    if (e->index < a->next) {
        unsigned char leaf[32];
        leaf_of(e, leaf);
        entry_rec rec;
        const entry_rec *er = e->index < a->n_recs && mt_rectab_get(a->recs, e->index, &rec) == 0 ? &rec : NULL;
        if (er && memcmp(leaf, er->leaf, 32) == 0)
            entry_event(e, add_finding(a, "DUPLICATED", (int64_t)e->index, at, "index",
                                       "entry %" PRIu64 " appears again (the same entry, a second time)", e->index));
        else
            entry_event(e, add_finding(a, "FORKED", (int64_t)e->index, at, "index",
                                       "a second, different entry claims index %" PRIu64, e->index));
        goto out;
    }
    if (e->index > a->next) {
        if (e->index - a->next > MAX_JUMP) {
            add_finding(a, "INDEX_GAP", (int64_t)a->next, at, "index",
                        "an entry claims index %" PRIu64 " while the journal is at %" PRIu64 ": ignored", e->index,
                        a->next);
            goto out;
        }
        if (mt_map_get(a->stash, &e->index, sizeof(e->index))) {
            entry_event(e, add_finding(a, "DUPLICATED", (int64_t)e->index, at, "index", "entry %" PRIu64 " appears twice",
                                       e->index));
            goto out;
        }
        stashed *st = malloc(sizeof(*st) + len);
        if (!st) {
            a->oom = 1;
            goto out;
        }
        st->len = len;
        st->at = *at;
        memcpy(st->bytes, bytes, len);
        if (mt_map_put(a->stash, &e->index, sizeof(e->index), st) == st) {
            free(st);
            a->oom = 1;
        }
        if (mt_map_count(a->stash) > REORDER_WINDOW) {
            fill_gap(a, stash_low(a));
            drain_stash(a);
        }
        goto out;
    }
    if (reordered) {
        entry_event(e, add_finding(a, "REORDERED", (int64_t)e->index, at, "index",
                                   "entry %" PRIu64 " comes after entries with higher indexes in the ledger topic",
                                   e->index));
        bad(a, e->index);
    }
    process_entry(a, e, bytes, len, at);
out:
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
}

int mt_audit_entry(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                   int64_t offset) {
    where at;
    where_set(&at, topic, partition, offset);
    process_bytes(a, bytes, len, &at, mt_map_count(a->stash) > 0);
    drain_stash(a);
    return a->oom ? -1 : 0;
}

/* ---- the end of the journal ---- */

static void journal_end(mt_audit *a) {
    if (a->journal_ended) return;
    a->journal_ended = 1;
    while (mt_map_count(a->stash) && !a->oom) {
        fill_gap(a, stash_low(a));
        drain_stash(a);
    }
    if (a->n_recs == 0) check_checkpoints_at_size(a);
    cp_row r;
    int side, got;
    while (!a->oom && (got = cp_peek(a, &r, &side)) == 1) cp_check_next(a, &r, side, 1);
    if (got < 0) a->oom = 1;
    work_drain(a);
    if (mt_rectab_flush(a->recs) || mt_rectab_flush(a->cp_rows) || mt_rectab_flush(a->cp_bytes)) a->oom = 1;
    a->totals.tree_size = mt_merkle_frontier_size(&a->tree);
    mt_merkle_frontier_root(&a->tree, a->totals.root);

    if (a->trusted) { /* the history must extend what was trusted before */
        where src;
        where_set(&src, a->trusted_src, 0, -1);
        Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, a->trusted_len, a->trusted);
        Mintrace__V1__Checkpoint *cp = env ? mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data) : NULL;
        char why[300];
        entry_rec trec;
        memset(&trec, 0, sizeof(trec));
        if (!cp) {
            add_finding(a, "FORGED_CHECKPOINT", -1, &src, "trusted", "the trusted checkpoint does not decode");
        } else if (a->totals.signatures++,
                   aggregator_verify(registry_now(a), env, MT_PAYLOAD_CHECKPOINT, cp->time_ms, why, sizeof(why))) {
            add_finding(a, "FORGED_CHECKPOINT", (int64_t)cp->tree_size - 1, &src, "trusted", "trusted checkpoint: %s",
                        why);
        } else if (cp->tree_size > a->n_recs) {
            add_finding(a, "TRUNCATED", (int64_t)a->n_recs, &src, "trusted",
                        "the trusted checkpoint covers %" PRIu64 " entries; the journal now holds %" PRIu64,
                        cp->tree_size, a->n_recs);
        } else if (cp->tree_size && mt_rectab_get(a->recs, cp->tree_size - 1, &trec)) {
            a->oom = 1;
        } else if (cp->root.len != 32 ||
                   memcmp(cp->root.data, cp->tree_size ? trec.root : trec.subject, 32) != 0) {
            if (cp->tree_size == 0) {
                unsigned char empty[32];
                mt_merkle_root(NULL, 0, empty);
                if (cp->root.len != 32 || memcmp(cp->root.data, empty, 32) != 0)
                    add_finding(a, "FORKED", -1, &src, "trusted", "the trusted empty checkpoint has a wrong root");
            } else {
                add_finding(a, "FORKED", (int64_t)cp->tree_size - 1, &src, "trusted",
                            "the journal's first %" PRIu64 " entries are not the ones of the trusted checkpoint: "
                            "the history forked",
                            cp->tree_size);
            }
        }
        if (cp) mintrace__v1__checkpoint__free_unpacked(cp, NULL);
        if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    /* receipts are checked against the newest registry, by threads that only read */
    a->w[0].newest = a->w[1].newest = mt_ledger_registry(a->l, 0);
    a->w[0].fallback = a->w[1].fallback = a->conf.registry;
}

int mt_audit_receipt(mt_audit *a, const uint8_t *env, size_t len, const char *topic, int32_t partition,
                     int64_t offset, int kept) {
    journal_end(a);
    work *w = &a->w[a->cur];
    if (w->nr == w->capr) {
        size_t cap = w->capr ? w->capr * 2 : 256;
        rslot *nr = realloc(w->r, cap * sizeof(*nr));
        if (!nr) return -1;
        w->r = nr;
        w->capr = cap;
    }
    rslot *rs = &w->r[w->nr];
    memset(rs, 0, sizeof(*rs));
    rs->env = malloc(len ? len : 1);
    if (!rs->env) return -1;
    memcpy(rs->env, env, len);
    rs->len = len;
    rs->kept = kept;
    where_set(&rs->at, topic, partition, offset);
    w->nr++;
    a->batch_bytes += sizeof(*rs) + len;
    a->totals.receipts++;
    if (kept) a->totals.kept_receipts++;
    if (w->nr >= a->conf.batch) work_flush(a);
    return 0;
}

/* ---- commitments ---- */

/* The number of a topic name in a->topics (an audit reads a handful), or -1. */
static int intern_topic(mt_audit *a, const char *topic, uint32_t *no) {
    const char *t = topic ? topic : "";
    for (*no = 0; *no < a->n_topics; (*no)++)
        if (strcmp(a->topics[*no], t) == 0) return 0;
    char **nt = realloc(a->topics, (a->n_topics + 1) * sizeof(*nt));
    if (!nt) return -1;
    a->topics = nt;
    if (!(a->topics[a->n_topics] = strdup(t))) return -1;
    a->n_topics++;
    return 0;
}

int mt_audit_checkpoint(mt_audit *a, const uint8_t *env, size_t len, const char *topic, int32_t partition,
                        int64_t offset) {
    pending_cp p = {.env = env, .len = len};
    where_set(&p.at, topic, partition, offset);
    Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, len, env);
    Mintrace__V1__Checkpoint *cp = e ? mintrace__v1__checkpoint__unpack(NULL, e->payload.len, e->payload.data) : NULL;
    p.size = cp ? cp->tree_size : 0;
    int back = p.size < a->cp_max_size; /* in topic order, a smaller tree than before */
    if (cp && cp->tree_size < a->cp_max_size)
        add_finding(a, "ROLLED_BACK_CHECKPOINT", (int64_t)cp->tree_size - 1, &p.at, "order",
                    "a checkpoint of tree size %" PRIu64 " follows one of size %" PRIu64 " in the checkpoints topic",
                    cp->tree_size, a->cp_max_size);
    if (cp && cp->tree_size > a->cp_max_size) a->cp_max_size = cp->tree_size;
    if (cp) mintrace__v1__checkpoint__free_unpacked(cp, NULL);
    if (e) mintrace__v1__envelope__free_unpacked(e, NULL);
    uint64_t arrival = a->n_cps++;
    a->totals.checkpoints++;
    if (a->journal_ended) { /* checked here, whatever its place */
        check_checkpoint(a, &p, p.size > a->n_recs ? 1 : p.size == a->n_recs ? 0 : 2);
        return a->oom ? -1 : 0;
    }
    cp_row r = {.size = p.size, .arrival = arrival, .env_off = mt_rectab_count(a->cp_bytes),
                .env_len = (uint32_t)len, .partition = partition, .offset = offset};
    if (len > UINT32_MAX || intern_topic(a, topic, &r.topic) || mt_rectab_append_many(a->cp_bytes, env, len))
        return -1;
    if (!back) {
        if (mt_rectab_append(a->cp_rows, &r)) return -1;
    } else { /* a finding already (rolled back, or it does not decode): kept in memory */
        if (a->n_side == a->cap_side) {
            size_t cap = a->cap_side ? a->cap_side * 2 : 16;
            cp_row *ns = realloc(a->cp_side, cap * sizeof(*ns));
            if (!ns) return -1;
            a->cp_side = ns;
            a->cap_side = cap;
        }
        a->cp_side[a->n_side++] = r;
        a->side_sorted = 0;
    }
    if (a->n_recs) check_checkpoints_at_size(a); /* fed late: checked at once */
    return a->oom ? -1 : 0;
}

int mt_audit_trusted_checkpoint(mt_audit *a, const uint8_t *env, size_t len, const char *source) {
    free(a->trusted);
    a->trusted = malloc(len ? len : 1);
    if (!a->trusted) return -1;
    memcpy(a->trusted, env, len);
    a->trusted_len = len;
    snprintf(a->trusted_src, sizeof(a->trusted_src), "%s", source ? source : "trusted checkpoint");
    return 0;
}

int mt_audit_provenance(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                        int64_t offset) {
    where at;
    where_set(&at, topic, partition, offset);
    Mintrace__V1__ProvenanceRecord *rec = mintrace__v1__provenance_record__unpack(NULL, len, bytes);
    if (!rec || !rec->batch_id[0]) {
        add_finding(a, "FORGED_PROVENANCE", -1, &at, "decode", "a message of the provenance topic is not a record");
        if (rec) mintrace__v1__provenance_record__free_unpacked(rec, NULL);
        return a->oom ? -1 : 0;
    }
    pub_row pr;
    memset(&pr, 0, sizeof(pr));
    pr.index = rec->ledger_index;
    pr.partition = partition;
    pr.offset = offset;
    int rc = mt_prov_record_commit(rec, pr.commit) || batch_number(a, rec->batch_id, 1, &pr.batch) != 1 ? -1 : 0;
    if (!rc && intern_topic(a, topic, &pr.topic)) rc = -1;
    uint64_t no = mt_rectab_count(a->pubs);
    if (!rc && mt_rectab_append(a->pubs, &pr)) rc = -1;
    /* findable by batch and index; the batch's newest */
    unsigned char key[17];
    void *v = NULL;
    size_t vlen = 0;
    pub_key(key, pr.batch, pr.index);
    int got = rc ? -1 : kv_get(a->kv, key, sizeof(key), &v, &vlen);
    unsigned char *nv = got >= 0 ? malloc(vlen + 8) : NULL;
    if (!nv) rc = -1;
    else {
        if (vlen) memcpy(nv, v, vlen);
        memcpy(nv + vlen, &no, 8);
        if (kv_put(a->kv, key, sizeof(key), nv, vlen + 8)) rc = -1;
    }
    free(nv);
    free(v);
    batch_row br;
    if (!rc && mt_rectab_get(a->batches, pr.batch, &br)) rc = -1;
    if (!rc) {
        br.tail = no + 1;
        memcpy(br.tail_commit, pr.commit, 32);
        if (mt_rectab_set(a->batches, pr.batch, &br)) rc = -1;
    }
    if (!rc) {
        a->n_pub++;
        a->totals.provenance_records++;
    }
    mintrace__v1__provenance_record__free_unpacked(rec, NULL);
    return rc;
}

/* ---- the end ---- */

/* A provenance finding before it is added: they come out in bytewise order of batch id, each
 * batch's forged records in topic order, then its stale one (the order they had when every
 * batch was a list in memory). */
typedef struct prov_find {
    char *id;
    uint64_t order; /* the record's number; UINT64_MAX: stale */
    const char *kind;
    int64_t index;
    int has_at;
    where at;
    char detail[300];
} prov_find;

static int by_batch_then_order(const void *x, const void *y) {
    const prov_find *p = x, *q = y;
    int c = strcmp(p->id, q->id);
    if (c) return c;
    return p->order < q->order ? -1 : p->order > q->order;
}

static prov_find *prov_find_add(mt_audit *a, prov_find **v, size_t *n, size_t *cap, uint64_t batch) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        prov_find *nv = realloc(*v, c * sizeof(*nv));
        if (!nv) return NULL;
        *v = nv;
        *cap = c;
    }
    prov_find *pf = &(*v)[*n];
    memset(pf, 0, sizeof(*pf));
    pf->id = batch_id_of(a, batch);
    if (!pf->id) return NULL;
    (*n)++;
    return pf;
}

static void row_where(const mt_audit *a, const pub_row *pr, where *w) {
    topic_where(a, pr->topic, pr->partition, pr->offset, w);
}

/* Reads rows in order, 512 at a time. */
typedef struct scan {
    const mt_rectab *t;
    size_t size;
    unsigned char *buf;
    uint64_t first, n;
} scan;

static int scan_get(scan *sc, uint64_t i, void *row) {
    if (i < sc->first || i >= sc->first + sc->n) {
        uint64_t count = mt_rectab_count(sc->t);
        if (i >= count) return -1;
        sc->first = i;
        sc->n = count - i < 512 ? count - i : 512;
        if (mt_rectab_get_many(sc->t, i, sc->n, sc->buf)) {
            sc->n = 0;
            return -1;
        }
    }
    memcpy(row, sc->buf + (size_t)(i - sc->first) * sc->size, sc->size);
    return 0;
}

/* Every published record matched the recomputation as of its index; the newest record of each
 * batch is its final state. Two passes over the rows (on disk or not); what is kept in memory
 * is the findings. */
static void check_provenance(mt_audit *a) {
    if (!a->n_pub) return; /* nothing published, or not given: nothing to compare */
    prov_find *v = NULL;
    size_t n = 0, cap = 0;
    int err = mt_rectab_flush(a->pubs) || mt_rectab_flush(a->batches);
    uint64_t np = mt_rectab_count(a->pubs), nb = mt_rectab_count(a->batches);
    scan sp = {a->pubs, sizeof(pub_row), malloc(512 * sizeof(pub_row)), 0, 0};
    scan sb = {a->batches, sizeof(batch_row), malloc(512 * sizeof(batch_row)), 0, 0};
    if (!sp.buf || !sb.buf) err = 1;
    for (uint64_t i = 0; i < np && !err; i++) { /* forged: published, never met by the replay */
        pub_row pr;
        batch_row br;
        if (scan_get(&sp, i, &pr)) {
            err = 1;
            break;
        }
        if (pr.matched) continue;
        if (mt_rectab_get(a->batches, pr.batch, &br)) {
            err = 1;
            break;
        }
        if (!br.forged) {
            br.forged = 1;
            if (mt_rectab_set(a->batches, pr.batch, &br)) err = 1;
        }
        if (a->first_bad <= pr.index) {
            a->explained++;
            continue;
        }
        prov_find *pf = prov_find_add(a, &v, &n, &cap, pr.batch);
        if (!pf) {
            err = 1;
            break;
        }
        pf->order = i;
        pf->kind = "FORGED_PROVENANCE";
        pf->index = (int64_t)pr.index;
        pf->has_at = 1;
        row_where(a, &pr, &pf->at);
        snprintf(pf->detail, sizeof(pf->detail),
                 "the record of batch %.100s as of index %" PRIu64 " is not what the journal gives", pf->id, pr.index);
    }
    for (uint64_t b = 0; b < nb && !err; b++) { /* stale: the newest record is not the final state */
        batch_row br;
        pub_row pr;
        if (scan_get(&sb, b, &br)) {
            err = 1;
            break;
        }
        if (!br.has_final || br.forged || a->first_bad <= br.final_index) continue;
        if (br.tail && memcmp(br.tail_commit, br.final_commit, 32) == 0) continue;
        if (br.tail && mt_rectab_get(a->pubs, br.tail - 1, &pr)) {
            err = 1;
            break;
        }
        prov_find *pf = prov_find_add(a, &v, &n, &cap, b);
        if (!pf) {
            err = 1;
            break;
        }
        pf->order = UINT64_MAX;
        pf->kind = "STALE_PROVENANCE";
        pf->index = (int64_t)br.final_index;
        if (!br.tail) {
            snprintf(pf->detail, sizeof(pf->detail),
                     "batch %.100s changed at index %" PRIu64 " and no record of it was published", pf->id,
                     br.final_index);
        } else {
            pf->has_at = 1;
            row_where(a, &pr, &pf->at);
            snprintf(pf->detail, sizeof(pf->detail),
                     "the newest record of batch %.100s reflects index %" PRIu64 "; the batch changed at %" PRIu64,
                     pf->id, pr.index, br.final_index);
        }
    }
    free(sp.buf);
    free(sb.buf);
    if (err) a->oom = 1;
    if (n) qsort(v, n, sizeof(*v), by_batch_then_order);
    for (size_t i = 0; i < n; i++) {
        add_finding(a, v[i].kind, v[i].index, v[i].has_at ? &v[i].at : NULL, "record", "%s", v[i].detail);
        free(v[i].id);
    }
    free(v);
}

static int by_finding(const void *x, const void *y) {
    const mt_finding *f = x, *g = y;
    uint64_t fi = f->index < 0 ? UINT64_MAX : (uint64_t)f->index, gi = g->index < 0 ? UINT64_MAX : (uint64_t)g->index;
    if (fi != gi) return fi < gi ? -1 : 1;
    return f->seq < g->seq ? -1 : f->seq > g->seq;
}

long mt_audit_finish(mt_audit *a) {
    if (a->finished) return (long)a->n_f;
    journal_end(a);
    work_drain(a);
    check_provenance(a);
    if (mt_rectab_flush(a->pubs) || mt_rectab_flush(a->batches)) a->oom = 1; /* the figures: all on disk */
    const mt_finding *sf;
    long ns = mt_audit_sub_finish(a->sub, &sf);
    if (ns < 0) a->oom = 1;
    for (long i = 0; i < ns; i++) {
        where at;
        where_set(&at, sf[i].topic, sf[i].partition, sf[i].offset);
        mt_finding *f = add_finding(a, sf[i].kind, sf[i].index, &at, sf[i].rule, "%s", sf[i].detail);
        if (f) {
            snprintf(f->event_id, sizeof(f->event_id), "%s", sf[i].event_id);
            snprintf(f->facility, sizeof(f->facility), "%s", sf[i].facility);
        }
    }
    if (a->n_f) qsort(a->f, a->n_f, sizeof(*a->f), by_finding); /* a->f is NULL without findings */
    a->finished = 1;
    return a->oom ? -1 : (long)a->n_f;
}

/* ---- life ---- */

mt_audit *mt_audit_new(const mt_audit_conf *conf, char *errstr, size_t errstr_size) {
    if (!conf || !conf->network_id || !conf->gov_pk) {
        snprintf(errstr, errstr_size, "an audit needs the network id and the governance public key");
        return NULL;
    }
    mt_audit *a = calloc(1, sizeof(*a));
    if (!a) goto oom;
    a->conf = *conf;
    snprintf(a->network_id, sizeof(a->network_id), "%s", conf->network_id);
    a->conf.network_id = a->network_id;
    memcpy(a->gov_pk, conf->gov_pk, MT_PK_LEN);
    a->conf.gov_pk = a->gov_pk;
    if (a->conf.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a->conf.threads = n > 0 ? (int)n : 1;
    }
    if (a->conf.threads > 64) a->conf.threads = 64;
    if (!a->conf.batch) a->conf.batch = 4096;
    a->first_bad = a->first_gap = UINT64_MAX;
    a->l = mt_ledger_new(conf->ledger_conf);
    a->stash = mt_map_new();
    a->taint = mt_map_new();
    if (!a->l || !a->stash || !a->taint) goto oom;
    /* what grows with history: on disk in the spill directory with conf.spill */
    if ((conf->spill && mt_ledger_spill(a->l, conf->spill_dir, errstr, errstr_size)) ||
        !(a->recs = mt_rectab_open(conf->spill_dir, sizeof(entry_rec), !conf->spill, errstr, errstr_size)) ||
        !(a->pubs = mt_rectab_open(conf->spill_dir, sizeof(pub_row), !conf->spill, errstr, errstr_size)) ||
        !(a->batches = mt_rectab_open(conf->spill_dir, sizeof(batch_row), !conf->spill, errstr, errstr_size)) ||
        !(a->cp_rows = mt_rectab_open(conf->spill_dir, sizeof(cp_row), !conf->spill, errstr, errstr_size)) ||
        !(a->cp_bytes = mt_rectab_open(conf->spill_dir, 1, !conf->spill, errstr, errstr_size)) ||
        !(a->kv = kv_open(conf->spill_dir, !conf->spill, errstr, errstr_size))) {
        mt_audit_free(a);
        return NULL;
    }
    mt_ledger_set_governance(a->l, a->gov_pk);
    mt_ledger_commit(a->l);
    mt_merkle_frontier_init(&a->tree);
    if (!(a->sub = mt_audit_sub_new(conf->ledger_conf ? conf->ledger_conf->park_max_age : 0, conf->spill_dir))) goto oom;
    return a;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    mt_audit_free(a);
    return NULL;
}

void mt_audit_free(mt_audit *a) {
    if (!a) return;
    for (int i = 0; i < 2; i++) {
        work_join(a, i);
        for (size_t j = 0; j < a->w[i].n; j++) free(a->w[i].s[j].env);
        for (size_t j = 0; j < a->w[i].nr; j++) free(a->w[i].r[j].env);
        free(a->w[i].s);
        free(a->w[i].r);
    }
    mt_audit_sub_free(a->sub);
    mt_ledger_free(a->l);
    mt_map_free(a->stash, free);
    kv_close(a->kv);
    mt_rectab_close(a->pubs);
    mt_rectab_close(a->batches);
    for (size_t i = 0; i < a->n_topics; i++) free(a->topics[i]);
    free(a->topics);
    mt_map_free(a->taint, free);
    mt_rectab_close(a->cp_rows);
    mt_rectab_close(a->cp_bytes);
    free(a->cp_side);
    mt_rectab_close(a->recs);
    free(a->trusted);
    free(a->newest_cp);
    free(a->f);
    free(a->mats);
    free(a->flows);
    free(a);
}

size_t mt_audit_findings(const mt_audit *a, const mt_finding **out) {
    *out = a->f;
    return a->n_f;
}

const mt_audit_totals *mt_audit_get_totals(const mt_audit *a) {
    return &a->totals;
}

size_t mt_audit_materials(const mt_audit *a, const mt_audit_material **out) {
    *out = a->mats;
    return a->n_mats;
}

size_t mt_audit_flows(const mt_audit *a, const mt_audit_flow **out) {
    *out = a->flows;
    return a->n_flows;
}

const uint8_t *mt_audit_newest_checkpoint(const mt_audit *a, size_t *len) {
    *len = a->newest_cp_len;
    return a->newest_cp;
}

mt_audit_sub *mt_audit_sub_of(const mt_audit *a) {
    return a->sub;
}

uint64_t mt_audit_progress(const mt_audit *a) {
    return a->totals.entries;
}

static void tab_counts(const mt_rectab *t, size_t size, uint64_t *ram, uint64_t *disk) {
    *disk = mt_rectab_disk_bytes(t) / size;
    *ram = mt_rectab_count(t) - *disk;
}

void mt_audit_memory(const mt_audit *a, mt_audit_mem *m) {
    memset(m, 0, sizeof(*m));
    m->on_disk = mt_rectab_on_disk(a->recs) || kv_on_disk(a->kv);
    tab_counts(a->recs, sizeof(entry_rec), &m->entries_ram, &m->entries_disk);
    tab_counts(a->pubs, sizeof(pub_row), &m->records_ram, &m->records_disk);
    tab_counts(a->batches, sizeof(batch_row), &m->batches_ram, &m->batches_disk);
    tab_counts(a->cp_rows, sizeof(cp_row), &m->checkpoints_ram, &m->checkpoints_disk);
    m->checkpoints_ram += a->n_side;
    m->keys = kv_count(a->kv);
    m->ram_bytes = mt_rectab_ram_bytes(a->recs) + mt_rectab_ram_bytes(a->pubs) + mt_rectab_ram_bytes(a->batches) +
                   mt_rectab_ram_bytes(a->cp_rows) + mt_rectab_ram_bytes(a->cp_bytes) +
                   a->cap_side * sizeof(cp_row) + kv_ram_bytes(a->kv);
    m->disk_bytes = mt_rectab_disk_bytes(a->recs) + mt_rectab_disk_bytes(a->pubs) +
                    mt_rectab_disk_bytes(a->batches) + mt_rectab_disk_bytes(a->cp_rows) +
                    mt_rectab_disk_bytes(a->cp_bytes) + kv_disk_bytes(a->kv);
    m->work_bytes = a->max_batch_bytes > a->batch_bytes ? a->max_batch_bytes : a->batch_bytes;
    mt_ledger_stats_t st;
    mt_ledger_stats(a->l, &st);
    m->live_batches = st.batches;
    m->ledger_ram_bytes = st.ram_bytes;
    m->ledger_disk_bytes = st.store_disk_bytes;
}
