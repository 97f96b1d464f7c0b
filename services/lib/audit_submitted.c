/* audit_submitted — the audit's account of events.submitted: every message a producer
 * submitted must be judged in the journal, and one that no stage ever judged is named. */
#include "audit_submitted.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "event.h"
#include "map.h"
#include "store.h"

#define PARK_MAX_AGE_DEFAULT 100000 /* ledger.c's default park_max_age */

/* How an identity was journaled: accepted, duplicate, rejected by the aggregator (RT_GAP: as
 * CHAIN_GAP, having waited for its chain predecessor), by validate, by sign, by another stage. */
enum { RT_ACC = 1, RT_DUP = 2, RT_AGG = 4, RT_GAP = 8, RT_VAL = 16, RT_SIGN = 32, RT_OTHER = 64 };
/* The ways that show the aggregator opened the event (its registry version journaled) after
 * reading every earlier message of its facility's validated partition. */
#define RT_WITNESS (RT_ACC | RT_DUP | RT_GAP)

/* What the journal holds of one identity ('h' + 32 bytes in the store). */
typedef struct idv {
    uint64_t min_index, max_index; /* where it was journaled (the lowest and highest copy) */
    uint32_t count;                /* journal entries not yet matched by a submitted message */
    uint32_t seen;                 /* submitted messages with these bytes, so far */
    uint32_t routes;               /* RT_*: how its entries were journaled */
    uint32_t pad;
} idv;

/* A decided event the ledger remembers by id ('e' + 32 bytes): accepted, or rejected by a stage. */
typedef struct evv {
    uint64_t index, seq;
    uint32_t accepted, pad;
    char key_id[40]; /* the key whose chain it is in (accepted events) */
} evv;

/* A submitted message no journal entry accounts for. */
typedef struct cand {
    unsigned char hash[32];
    size_t part;             /* index into parts */
    int64_t offset;
    int garbage;             /* validate cannot pass it: not an envelope of a BatchEvent naming a facility */
    int ambiguous;           /* the same bytes were submitted more than once */
    int64_t deps;            /* the highest index of what it depends on; -1 none; INT64_MAX not all journaled */
    char event_id[65], facility[128];
    /* in the rejected topic */
    int64_t rej_offset;
    int32_t rej_partition;
    char rej_topic[200], rej_what[120];
    /* a later event of its facility on its partition that proves it reached the aggregator */
    int64_t wit_offset;
    uint64_t wit_index, wit_after; /* its index, and the entries the journal holds after it */
    unsigned char wit_hash[32];
} cand;

typedef struct part { /* a partition of events.submitted (or of rejected) */
    char topic[200];
    int32_t partition;
    int64_t low, high;
    int64_t last_judged; /* highest offset of a judged message (-1 none) */
    unsigned char last_judged_hash[32];
    size_t open;         /* candidates of it still looking for a witness */
} part;

typedef struct src { /* how far the aggregator read each of its inputs, as the journal shows */
    char topic[200];
    int32_t partition;
    int64_t max_offset;
} src;

typedef struct ilist {
    size_t *v;
    size_t n, cap;
} ilist;

struct mt_audit_sub {
    int enabled;
    char *dir;
    mt_store *st;
    uint64_t after;
    uint64_t last_index;
    int any_entry;
    src *srcs;
    size_t n_srcs;
    part *parts, *rparts;
    size_t n_parts, n_rparts;
    cand *c;
    size_t n_c, cap_c;
    mt_map *by_hash; /* 32-byte hash -> size_t* (index into c + 1) */
    mt_map *open;    /* "partition/facility" -> ilist* of candidates */
    mt_audit_sub_totals t;
    mt_finding *f;
    size_t n_f;
    int failed;
};

/* ---- life ---- */

mt_audit_sub *mt_audit_sub_new(uint64_t unjudged_after, const char *spill_dir) {
    mt_audit_sub *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->enabled = 1;
    s->after = unjudged_after ? unjudged_after : PARK_MAX_AGE_DEFAULT;
    s->dir = spill_dir ? strdup(spill_dir) : NULL;
    s->by_hash = mt_map_new();
    s->open = mt_map_new();
    if ((spill_dir && !s->dir) || !s->by_hash || !s->open) {
        mt_audit_sub_free(s);
        return NULL;
    }
    return s;
}

static void free_ilist(void *v) {
    ilist *l = v;
    free(l->v);
    free(l);
}

void mt_audit_sub_free(mt_audit_sub *s) {
    if (!s) return;
    mt_store_close(s->st);
    mt_map_free(s->by_hash, free);
    mt_map_free(s->open, free_ilist);
    free(s->dir);
    free(s->srcs);
    free(s->parts);
    free(s->rparts);
    free(s->c);
    free(s->f);
    free(s);
}

int mt_audit_submitted_conf(mt_audit *a, int enabled, const char *spill_dir, uint64_t unjudged_after) {
    mt_audit_sub *s = mt_audit_sub_of(a);
    s->enabled = enabled;
    if (unjudged_after) s->after = unjudged_after;
    free(s->dir);
    s->dir = spill_dir ? strdup(spill_dir) : NULL;
    return spill_dir && !s->dir ? -1 : 0;
}

static int store(mt_audit_sub *s) {
    if (s->st) return 0;
    char err[256];
    if (!(s->st = mt_store_open(s->dir, err, sizeof(err)))) s->failed = 1;
    return s->st ? 0 : -1;
}

static int get_rec(mt_audit_sub *s, char tag, const unsigned char id[32], void *rec, size_t size) {
    unsigned char key[33];
    key[0] = (unsigned char)tag;
    memcpy(key + 1, id, 32);
    void *v = NULL;
    size_t vlen = 0;
    int rc = mt_store_get(s->st, key, sizeof(key), &v, &vlen);
    if (rc < 0) s->failed = 1;
    if (rc == 1 && vlen == size) memcpy(rec, v, size);
    else rc = rc == 1 ? 0 : rc;
    free(v);
    return rc;
}

static void put_rec(mt_audit_sub *s, char tag, const unsigned char id[32], const void *rec, size_t size) {
    unsigned char key[33];
    key[0] = (unsigned char)tag;
    memcpy(key + 1, id, 32);
    if (mt_store_put(s->st, key, sizeof(key), rec, size)) s->failed = 1;
}

/* ---- the journal ---- */

static void saw_source(mt_audit_sub *s, const char *topic, int32_t partition, int64_t offset) {
    if (!topic || !topic[0]) return;
    for (size_t i = 0; i < s->n_srcs; i++)
        if (s->srcs[i].partition == partition && strcmp(s->srcs[i].topic, topic) == 0) {
            if (offset > s->srcs[i].max_offset) s->srcs[i].max_offset = offset;
            return;
        }
    src *n = realloc(s->srcs, (s->n_srcs + 1) * sizeof(*n));
    if (!n) {
        s->failed = 1;
        return;
    }
    s->srcs = n;
    snprintf(n[s->n_srcs].topic, sizeof(n[s->n_srcs].topic), "%s", topic);
    n[s->n_srcs].partition = partition;
    n[s->n_srcs].max_offset = offset;
    s->n_srcs++;
}

static void journaled(mt_audit_sub *s, const unsigned char hash[32], uint64_t index, uint32_t route) {
    idv r;
    if (get_rec(s, 'h', hash, &r, sizeof(r)) != 1) {
        memset(&r, 0, sizeof(r));
        r.min_index = index;
    }
    if (index < r.min_index) r.min_index = index;
    if (index > r.max_index) r.max_index = index;
    r.count++;
    r.routes |= route;
    put_rec(s, 'h', hash, &r, sizeof(r));
}

/* The ledger remembers a decided event by id (the first decision wins, as get_event does). */
static void remember(mt_audit_sub *s, const unsigned char id[32], uint64_t index, uint64_t seq, int accepted,
                     const char *key_id) {
    evv r;
    if (get_rec(s, 'e', id, &r, sizeof(r)) != 0) return;
    memset(&r, 0, sizeof(r));
    r.index = index;
    r.seq = seq;
    r.accepted = (uint32_t)accepted;
    snprintf(r.key_id, sizeof(r.key_id), "%s", key_id ? key_id : "");
    put_rec(s, 'e', id, &r, sizeof(r));
}

/* The facility envelope inside attested bytes: its hash, and (accepted) the event it carries. */
static int attested_envelope(const uint8_t *b, size_t len, unsigned char hash[32]) {
    Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, len, b);
    if (!ae) return -1;
    mt_hash(ae->envelope.data, ae->envelope.len, hash);
    mintrace__v1__attested_event__free_unpacked(ae, NULL);
    return 0;
}

/* Envelope -> BatchEvent, as far as validate would need them (NULL when validate must refuse). */
static Mintrace__V1__BatchEvent *open_event(const uint8_t *b, size_t len, Mintrace__V1__Envelope **envp) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, len, b);
    Mintrace__V1__BatchEvent *ev = NULL;
    if (env && env->n_signatures && env->payload_type && strcmp(env->payload_type, MT_PAYLOAD_EVENT) == 0)
        ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    if (ev && (!ev->facility_id || !ev->facility_id[0])) {
        mintrace__v1__batch_event__free_unpacked(ev, NULL);
        ev = NULL;
    }
    if (!ev && env) {
        mintrace__v1__envelope__free_unpacked(env, NULL);
        env = NULL;
    }
    *envp = env;
    return ev;
}

int mt_audit_sub_entry(mt_audit_sub *s, const Mintrace__V1__LedgerEntry *e) {
    if (!s->enabled) return 0;
    if (store(s)) return -1;
    s->last_index = e->index;
    s->any_entry = 1;
    saw_source(s, e->source_topic, e->source_partition, e->source_offset);
    unsigned char h[32];
    switch (e->entry_case) {
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT: {
        const ProtobufCBinaryData *eb = &e->event->envelope;
        mt_hash(eb->data, eb->len, h);
        journaled(s, h, e->index, RT_ACC);
        Mintrace__V1__Envelope *env;
        Mintrace__V1__BatchEvent *ev = open_event(eb->data, eb->len, &env);
        if (ev) {
            unsigned char id[32];
            mt_hash(env->payload.data, env->payload.len, id);
            remember(s, id, e->index, ev->seq, 1, env->signatures[0]->key_id);
            mintrace__v1__batch_event__free_unpacked(ev, NULL);
            mintrace__v1__envelope__free_unpacked(env, NULL);
        }
        break;
    }
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE:
        if (attested_envelope(e->duplicate->attested.data, e->duplicate->attested.len, h) == 0)
            journaled(s, h, e->index, RT_DUP);
        break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION: {
        Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data);
        if (!r) break;
        if (r->stage == MINTRACE__V1__STAGE__STAGE_AGGREGATE) {
            if (attested_envelope(r->original.data, r->original.len, h)) mt_hash(r->original.data, r->original.len, h);
            journaled(s, h, e->index, r->code == MINTRACE__V1__REASON_CODE__REASON_CODE_CHAIN_GAP ? RT_GAP : RT_AGG);
        } else {
            mt_hash(r->original.data, r->original.len, h);
            journaled(s, h, e->index,
                      r->stage == MINTRACE__V1__STAGE__STAGE_VALIDATE ? RT_VAL
                      : r->stage == MINTRACE__V1__STAGE__STAGE_SIGN   ? RT_SIGN
                                                                      : RT_OTHER);
            /* a stage's rejection of an event is remembered by the ledger (note_rejection) */
            Mintrace__V1__Envelope *env;
            Mintrace__V1__BatchEvent *ev = r->event_id.len == 32 ? open_event(r->original.data, r->original.len, &env)
                                                                  : NULL;
            if (ev) {
                remember(s, r->event_id.data, e->index, ev->seq, 0, env->signatures[0]->key_id);
                mintrace__v1__batch_event__free_unpacked(ev, NULL);
                mintrace__v1__envelope__free_unpacked(env, NULL);
            }
        }
        mintrace__v1__rejection__free_unpacked(r, NULL);
        break;
    }
    default: break;
    }
    return s->failed ? -1 : 0;
}

/* ---- events.submitted ---- */

static size_t part_of(mt_audit_sub *s, part **v, size_t *n, const char *topic, int32_t partition) {
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].partition == partition && strcmp((*v)[i].topic, topic) == 0) return i;
    part *np = realloc(*v, (*n + 1) * sizeof(*np));
    if (!np) {
        s->failed = 1;
        return (size_t)-1;
    }
    *v = np;
    part *p = &np[*n];
    memset(p, 0, sizeof(*p));
    snprintf(p->topic, sizeof(p->topic), "%s", topic ? topic : "");
    p->partition = partition;
    p->low = -1;
    p->high = -1;
    p->last_judged = -1;
    return (*n)++;
}

int mt_audit_submitted_partition(mt_audit *a, const char *topic, int32_t partition, int64_t low, int64_t high) {
    mt_audit_sub *s = mt_audit_sub_of(a);
    size_t i = part_of(s, &s->parts, &s->n_parts, topic, partition);
    if (i == (size_t)-1) return -1;
    s->parts[i].low = low;
    s->parts[i].high = high;
    s->t.read = 1;
    snprintf(s->t.topic, sizeof(s->t.topic), "%s", topic);
    return 0;
}

static void open_key(char *key, size_t size, size_t pi, const char *facility) {
    snprintf(key, size, "%zu/%s", pi, facility);
}

/* A later judged message of a facility on a partition: the witness its open candidates wait for. */
static void witness(mt_audit_sub *s, size_t pi, const char *facility, int64_t offset, const unsigned char hash[32],
                    const idv *r, uint64_t n) {
    char key[200];
    open_key(key, sizeof(key), pi, facility);
    ilist *l = mt_map_get(s->open, key, strlen(key));
    for (size_t i = 0; l && i < l->n;) {
        cand *c = &s->c[l->v[i]];
        /* nothing it waits for was missing when the later event was decided, and the journal went on */
        if (c->deps < (int64_t)r->min_index && n > r->max_index && n - 1 - r->max_index >= s->after) {
            c->wit_offset = offset;
            c->wit_index = r->max_index;
            c->wit_after = n - 1 - r->max_index;
            memcpy(c->wit_hash, hash, 32);
            l->v[i] = l->v[--l->n];
            s->parts[pi].open--;
        } else {
            i++;
        }
    }
}

/* What an event waits for in the ledger: its chain predecessor and, a RECEIVE, its TRANSFER.
 * The highest journal index of those, -1 for none, INT64_MAX when one is not journaled. */
static int64_t deps_of(mt_audit_sub *s, const Mintrace__V1__Envelope *env, const Mintrace__V1__BatchEvent *ev) {
    int64_t deps = -1;
    evv r;
    if (ev->seq > 1) {
        /* decided without waiting: the predecessor was rejected (CHAIN_BROKEN_BEFORE) or accepted
         * in the same key's chain with a seq that leaves no gap (its head is at least seq - 1) */
        if (ev->prev.len != 32 || get_rec(s, 'e', ev->prev.data, &r, sizeof(r)) != 1 ||
            (r.accepted && (r.seq + 1 < ev->seq || strcmp(r.key_id, env->signatures[0]->key_id) != 0)))
            return INT64_MAX;
        if ((int64_t)r.index > deps) deps = (int64_t)r.index;
    }
    if (ev->kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE) {
        if (!ev->receive || ev->receive->transfer_event_id.len != 32 ||
            get_rec(s, 'e', ev->receive->transfer_event_id.data, &r, sizeof(r)) != 1)
            return INT64_MAX;
        if ((int64_t)r.index > deps) deps = (int64_t)r.index;
    }
    return deps;
}

static int add_cand(mt_audit_sub *s, const unsigned char hash[32], size_t pi, int64_t offset, const uint8_t *b,
                    size_t len, int seen_before) {
    if (s->n_c == s->cap_c) {
        size_t cap = s->cap_c ? s->cap_c * 2 : 64;
        cand *nc = realloc(s->c, cap * sizeof(*nc));
        if (!nc) return -1;
        s->c = nc;
        s->cap_c = cap;
    }
    size_t ci = s->n_c;
    cand *c = &s->c[ci];
    memset(c, 0, sizeof(*c));
    memcpy(c->hash, hash, 32);
    c->part = pi;
    c->offset = offset;
    c->rej_offset = -1;
    c->wit_offset = -1;
    c->ambiguous = seen_before;
    Mintrace__V1__Envelope *env;
    Mintrace__V1__BatchEvent *ev = open_event(b, len, &env);
    c->garbage = ev == NULL;
    c->deps = INT64_MAX;
    if (ev) {
        unsigned char id[32];
        mt_hash(env->payload.data, env->payload.len, id);
        mt_hex_encode(id, 32, c->event_id);
        snprintf(c->facility, sizeof(c->facility), "%s", ev->facility_id);
        c->deps = deps_of(s, env, ev);
        mintrace__v1__batch_event__free_unpacked(ev, NULL);
        mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    size_t *slot = mt_map_get(s->by_hash, hash, 32);
    if (slot) { /* a second unmatched copy: which one is missing cannot be told */
        s->c[*slot - 1].ambiguous = 1;
        c->ambiguous = 1;
    } else {
        slot = malloc(sizeof(*slot));
        if (!slot) return -1;
        *slot = ci + 1;
        if (mt_map_put(s->by_hash, hash, 32, slot) == slot) {
            free(slot);
            return -1;
        }
    }
    s->n_c++;
    if (!c->garbage && c->deps != INT64_MAX) {
        char key[200];
        open_key(key, sizeof(key), pi, c->facility);
        ilist *l = mt_map_get(s->open, key, strlen(key));
        if (!l) {
            l = calloc(1, sizeof(*l));
            if (!l || mt_map_put(s->open, key, strlen(key), l) == l) {
                free(l);
                return -1;
            }
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 8;
            size_t *nv = realloc(l->v, cap * sizeof(*nv));
            if (!nv) return -1;
            l->v = nv;
            l->cap = cap;
        }
        l->v[l->n++] = ci;
        s->parts[pi].open++;
    }
    return 0;
}

int mt_audit_submitted(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                       int64_t offset) {
    mt_audit_sub *s = mt_audit_sub_of(a);
    if (!s->enabled) return 0;
    if (store(s)) return -1;
    size_t pi = part_of(s, &s->parts, &s->n_parts, topic, partition);
    if (pi == (size_t)-1) return -1;
    if (!s->t.read) {
        s->t.read = 1;
        snprintf(s->t.topic, sizeof(s->t.topic), "%s", topic);
    }
    s->t.submitted++;
    uint64_t n = s->any_entry ? s->last_index + 1 : 0;
    unsigned char h[32];
    mt_hash(bytes, len, h);
    idv r;
    int found = get_rec(s, 'h', h, &r, sizeof(r));
    if (found != 1) memset(&r, 0, sizeof(r));
    int seen_before = r.seen > 0;
    r.seen++;
    if (r.count > 0) { /* judged */
        r.count--;
        s->t.judged++;
        if (offset > s->parts[pi].last_judged) {
            s->parts[pi].last_judged = offset;
            memcpy(s->parts[pi].last_judged_hash, h, 32);
        }
        /* a later event of the same facility that the aggregator opened: the same way through the stages */
        if (s->parts[pi].open && (r.routes & ~(uint32_t)RT_WITNESS) == 0) {
            Mintrace__V1__Envelope *env;
            Mintrace__V1__BatchEvent *ev = open_event(bytes, len, &env);
            if (ev) {
                witness(s, pi, ev->facility_id, offset, h, &r, n);
                mintrace__v1__batch_event__free_unpacked(ev, NULL);
                mintrace__v1__envelope__free_unpacked(env, NULL);
            }
        }
    } else if (add_cand(s, h, pi, offset, bytes, len, seen_before)) {
        s->failed = 1;
    }
    put_rec(s, 'h', h, &r, sizeof(r));
    return s->failed ? -1 : 0;
}

/* ---- the rejected topic ---- */

int mt_audit_rejected_partition(mt_audit *a, const char *topic, int32_t partition, int64_t low, int64_t high) {
    mt_audit_sub *s = mt_audit_sub_of(a);
    size_t i = part_of(s, &s->rparts, &s->n_rparts, topic, partition);
    if (i == (size_t)-1) return -1;
    s->rparts[i].low = low;
    s->rparts[i].high = high;
    return 0;
}

int mt_audit_rejected(mt_audit *a, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                      int64_t offset) {
    mt_audit_sub *s = mt_audit_sub_of(a);
    if (!s->enabled || !s->n_c) return 0;
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, len, bytes);
    if (!r) return 0;
    unsigned char h[32];
    mt_hash(r->original.data, r->original.len, h);
    size_t *slot = mt_map_get(s->by_hash, h, 32);
    cand *c = slot ? &s->c[*slot - 1] : NULL;
    if (c && c->rej_offset < 0) {
        c->rej_offset = offset;
        c->rej_partition = partition;
        snprintf(c->rej_topic, sizeof(c->rej_topic), "%s", topic);
        snprintf(c->rej_what, sizeof(c->rej_what), "%s as %s", mt_enum_name(&mintrace__v1__stage__descriptor, r->stage),
                 mt_reason_name(r->code));
    }
    mintrace__v1__rejection__free_unpacked(r, NULL);
    return 0;
}

/* ---- the verdict ---- */

static void finding(mt_audit_sub *s, const cand *c, const char *rule, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void finding(mt_audit_sub *s, const cand *c, const char *rule, const char *fmt, ...) {
    mt_finding *nf = realloc(s->f, (s->n_f + 1) * sizeof(*nf));
    if (!nf) {
        s->failed = 1;
        return;
    }
    s->f = nf;
    mt_finding *f = &nf[s->n_f++];
    memset(f, 0, sizeof(*f));
    f->kind = "UNJUDGED";
    f->index = -1;
    snprintf(f->event_id, sizeof(f->event_id), "%s", c->event_id);
    snprintf(f->facility, sizeof(f->facility), "%s", c->facility);
    snprintf(f->rule, sizeof(f->rule), "%s", rule);
    snprintf(f->topic, sizeof(f->topic), "%s", s->parts[c->part].topic);
    f->partition = s->parts[c->part].partition;
    f->offset = c->offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
    va_end(ap);
}

/* How far the journal shows the aggregator read a partition of its input (-1: nothing of it). */
static int64_t read_up_to(const mt_audit_sub *s, const char *topic, int32_t partition) {
    for (size_t i = 0; i < s->n_srcs; i++)
        if (s->srcs[i].partition == partition && strcmp(s->srcs[i].topic, topic) == 0) return s->srcs[i].max_offset;
    return -1;
}

/* The rejected topic was read from its start: a rejection not in it was never written. */
static int rejected_whole(const mt_audit_sub *s) {
    if (!s->n_rparts) return 0;
    for (size_t i = 0; i < s->n_rparts; i++)
        if (s->rparts[i].low != 0) return 0;
    return 1;
}

/* One unmatched message: UNJUDGED (a finding) when nothing in flight can explain it, else pending. */
static int judge(mt_audit_sub *s, const cand *c) {
    const part *p = &s->parts[c->part];
    if (c->ambiguous) {
        s->t.ambiguous++;
        return 0;
    }
    if (c->rej_offset >= 0) {
        /* a stage rejected it; the aggregator journals every rejection, in topic order, at once */
        int64_t upto = read_up_to(s, c->rej_topic, c->rej_partition);
        if (upto <= c->rej_offset) return 0;
        finding(s, c, "rejection_not_journaled",
                "rejected by %s (%.150s [%d] @%" PRId64 "), but the journal went past it (to @%" PRId64
                ") without journaling it",
                c->rej_what, c->rej_topic, (int)c->rej_partition, c->rej_offset, upto);
        return 1;
    }
    if (!rejected_whole(s)) return 0; /* a rejection of it may be where the audit could not look */
    /* a later message counts only when every copy of its bytes was judged: with a copy unmatched,
     * the one journaled may be that copy, and this one still in flight */
    if (c->garbage && p->last_judged > c->offset && !mt_map_get(s->by_hash, p->last_judged_hash, 32)) {
        /* validate passed over it (a later message of its partition was judged) and could only
         * reject it, yet no rejection of it was written */
        finding(s, c, "submitted_not_journaled",
                "not an event validate could pass; validate went past it (offset %" PRId64
                " of this partition was judged) and the rejected topic holds no rejection of it",
                p->last_judged);
        return 1;
    }
    if (!c->garbage && c->wit_offset >= 0 && !mt_map_get(s->by_hash, c->wit_hash, 32)) {
        finding(s, c, "submitted_not_journaled",
                "no stage's decision about it was journaled: the later event of %.60s at offset %" PRId64
                " was decided at index %" PRIu64 " with nothing this one waits for missing, the journal holds %" PRIu64
                " entries after it (the bound is %" PRIu64 "), and the rejected topic holds no rejection of it",
                c->facility, c->wit_offset, c->wit_index, c->wit_after, s->after);
        return 1;
    }
    return 0;
}

long mt_audit_sub_finish(mt_audit_sub *s, const mt_finding **out) {
    *out = NULL;
    if (!s->enabled || !s->t.read) return 0;
    s->t.unjudged_after = s->after;
    s->t.rejected_read = rejected_whole(s);
    s->t.pending = s->t.unjudged = 0;
    s->t.cut_partitions = 0;
    s->t.cut_messages = 0;
    s->t.cut[0] = '\0';
    for (size_t i = 0; i < s->n_parts; i++) {
        const part *p = &s->parts[i];
        if (p->low > 0) {
            size_t used = strlen(s->t.cut);
            snprintf(s->t.cut + used, sizeof(s->t.cut) - used, "%s%d@%" PRId64, used ? ", " : "", (int)p->partition,
                     p->low);
            s->t.cut_partitions++;
            s->t.cut_messages += (uint64_t)p->low;
        }
    }
    for (size_t i = 0; i < s->n_c; i++) {
        if (judge(s, &s->c[i])) s->t.unjudged++;
        else s->t.pending++;
    }
    *out = s->f;
    return s->failed ? -1 : (long)s->n_f;
}

const mt_audit_sub_totals *mt_audit_submitted_totals(const mt_audit *a) {
    return &mt_audit_sub_of(a)->t;
}
