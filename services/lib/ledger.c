/* ledger — the rules of the journal: one order, chains, custody, balances; state follows commits. */
#include "ledger.h"
#include "merkle.h"
#include "statetree.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "massbal.h"
#include "provenance.h"
#include "store.h"

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define K(name) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##name
#define MAX_EL 24 /* elements per batch */

/* Mass-weighted shares multiply two 64-bit masses: the 128-bit product is exact where a double
 * would round (DESIGN: no floating point in accounting). GCC and clang both have it on 64-bit
 * targets; this is the one place it is named. */
typedef unsigned __int128 u128;
#define ID_MAX 128

/* ---- state: every value is one malloc'd block starting with its size, so the undo log can
 * clone and free any of them the same way ---- */

typedef struct element {
    char sym[4];
    uint64_t mg; /* at creation */
} element;

typedef struct batch {
    size_t size;
    char id[ID_MAX], material[64], holder[ID_MAX], transit_to[ID_MAX];
    uint64_t mass_mg, created_mass_mg;
    int64_t created_time_ms;
    unsigned char created_by[MT_HASH_LEN];
    int touched; /* consumed, moved or received since it was created */
    int voided;
    int recycler_own; /* an output of a RECYCLE (or a SPLIT/MERGE of such) still in its maker's custody */
    int holder_role;  /* registry role of the holder (of the destination while in transit) */
    int64_t exited_time_ms; /* the time of its latest EXIT (0: never EXITed) */
    uint64_t returned_mg;   /* mass of its exited stock that standing RECYCLEs returned */
    uint64_t position;                     /* its leaf in the state tree: batches made before it */
    uint64_t prov_index;                   /* the ledger index its provenance last changed at */
    unsigned char prov_commit[MT_HASH_LEN]; /* mt_prov_record_commit() of its record at prov_index */
    int n_el;
    element el[MAX_EL];
} batch;

/* What an accepted event took from each input (mt_prov blocks, one after the other), kept while
 * a CORRECTION of it is possible, so the correction gives back exactly what was taken. */
typedef struct takes {
    size_t size;
    size_t n;
    unsigned char blocks[];
} takes;

typedef struct take {
    char batch[ID_MAX];
    uint64_t mass_mg;
} take;

typedef struct evrec { /* every decided event, by event id */
    size_t size;
    uint64_t index;
    int accepted, voided, received, kind;
    char facility[ID_MAX], key_id[MT_KEY_ID_LEN + 1], dest[ID_MAX];
    uint64_t seq;
    int64_t time_ms;
    int n_in, n_out, n_ret;
    take t[]; /* n_in inputs taken, then n_out outputs created, then (RECYCLE) n_ret returns */
} evrec;

typedef struct chain {
    size_t size;
    uint64_t head_seq;
    unsigned char head_id[MT_HASH_LEN];
} chain;

typedef struct parked {
    size_t size;
    uint64_t arrival, since_index;
    char topic[160];
    int32_t partition;
    int64_t offset;
    char waits[200];
    int gap;      /* what it waits for: WAIT_TRANSFER, WAIT_SEQ or WAIT_EXIT */
    int verified; /* its notary signature was checked when it parked: not again */
    size_t len;
    uint8_t bytes[];
} parked;

typedef struct undo {
    mt_map *map;
    void *key;
    size_t klen;
    void *old; /* NULL: the key was absent */
} undo;

struct mt_ledger {
    mt_ledger_conf conf;
    mt_map *batches, *events, *chains, *parked;
    mt_map *prov;  /* batch id -> mt_prov: what it holds now, cell by cell */
    mt_map *takes; /* event id -> takes, while the event can still be corrected */
    mt_map *exited; /* batch id -> mt_prov: what EXITs took out of it and no RECYCLE returned yet */
    /* mass balance (massbal.h), in the same undo log */
    mt_map *claims;   /* batch id -> mt_prov: its recycled claim, for batches under mass balance */
    mt_map *ctakes;   /* event id -> takes of the claims, while the event can still be corrected */
    mt_map *accounts; /* facility id -> mt_massbal_account */
    mt_map *memos;    /* event id -> mt_massbal_memo, while the event can still be corrected */
    uint64_t next_index, arrivals;
    uint64_t made;       /* batches made: the next one's state position */
    mt_state_tree *tree; /* the provenance state tree (statetree.h), leaf = batch position */
    int caller_verifies_notary; /* mt_ledger_set_caller_verifies_notary(): the auditor's parallel pass */
    undo *log;
    size_t n_log, cap_log;
    uint64_t txn_next_index, txn_arrivals, txn_made;
    int oom;
    /* the registry versions journaled, oldest first, and the governance key in force */
    mt_registry **regs;
    size_t n_regs, cap_regs, txn_n_regs;
    unsigned char gov_pk[MT_PK_LEN], txn_gov_pk[MT_PK_LEN];
    int have_gov, txn_have_gov;
    /* what the last offer judged with, so a noted rejection can release parked events too */
    const mt_registry *fallback;
    const char *network_id;
    /* mt_ledger_spill(): what history makes large, on disk (NULL: everything in RAM) */
    struct spill *sp;
};

static void *clone(const void *v) {
    size_t size = *(const size_t *)v;
    void *c = malloc(size);
    if (c) memcpy(c, v, size);
    return c;
}

/* ---- spilling (mt_ledger_spill): values history makes large and that are rarely read again
 * live in a store on disk, keyed by a one-byte tag of their map and their key. Only
 * mt_ledger_commit() writes the store, so abort stays exact. After a commit a key is in its map
 * or in the store, never both. Between commits, every key read from the store or written has
 * flags in sp->pending, and for such a key the map alone is the truth (the store may hold an
 * older copy, or the same one: read back and unchanged, it leaves RAM at commit without a
 * write). ---- */

#define TAG_BATCH 'b'
#define TAG_PROV 'p'
#define TAG_CLAIM 'c'
#define TAG_EVENT 'e'
#define TAG_TAKES 't'
#define TAG_CTAKES 'k'
#define TAG_MEMO 'm'
#define TAG_EXITED 'x'

typedef struct spill {
    mt_store *store;
    mt_map *pending;    /* tagged key -> its flags (a pointer: non-NULL), since the last commit */
    uint64_t stored[8]; /* entries in the store per tag, in the order of spill_tags */
    uint64_t io_errors;
} spill;

static const char spill_tags[8] = {TAG_BATCH, TAG_PROV, TAG_CLAIM, TAG_EVENT, TAG_TAKES, TAG_CTAKES, TAG_MEMO, TAG_EXITED};
#define FAULTED 1 /* read back from the store: the store holds a copy */
#define DIRTY 2   /* written (or restored by an abort): the map holds the truth */
#define ABSENT 4  /* looked for in the store, not there */

/* The tag of a map whose values spill, or 0. */
static char tag_of(const mt_ledger *l, const mt_map *m) {
    if (!l->sp) return 0;
    if (m == l->batches) return TAG_BATCH;
    if (m == l->prov) return TAG_PROV;
    if (m == l->claims) return TAG_CLAIM;
    if (m == l->events) return TAG_EVENT;
    if (m == l->takes) return TAG_TAKES;
    if (m == l->ctakes) return TAG_CTAKES;
    if (m == l->memos) return TAG_MEMO;
    if (m == l->exited) return TAG_EXITED;
    return 0;
}

static mt_map *map_of(const mt_ledger *l, char tag) {
    switch (tag) {
    case TAG_BATCH: return l->batches;
    case TAG_PROV: return l->prov;
    case TAG_CLAIM: return l->claims;
    case TAG_EVENT: return l->events;
    case TAG_TAKES: return l->takes;
    case TAG_CTAKES: return l->ctakes;
    case TAG_MEMO: return l->memos;
    case TAG_EXITED: return l->exited;
    default: return NULL;
    }
}

/* A store I/O error is handled as out of memory: the transaction must be aborted. Reads reach
 * the store from const queries too; a ledger is always malloc'd, never itself const. */
static void spill_failed(const mt_ledger *l) {
    l->sp->io_errors++;
    ((mt_ledger *)l)->oom = 1;
}

/* tag + key in buf (room for 256 bytes) or a malloc'd block (free it when not buf); NULL when
 * out of memory. */
static unsigned char *tagged(char tag, const void *key, size_t klen, unsigned char *buf) {
    unsigned char *t = klen < 256 ? buf : malloc(klen + 1);
    if (!t) return NULL;
    t[0] = (unsigned char)tag;
    memcpy(t + 1, key, klen);
    return t;
}

/* Values go to disk with their runs of zero bytes (most of the fixed-size ids) as a zero byte and
 * the run's length: a batch of ~970 bytes takes ~200. Returns the packed bytes (malloc'd), or NULL. */
static unsigned char *pack_zeros(const unsigned char *v, size_t n, size_t *len) {
    unsigned char *p = malloc(2 * n + 1);
    size_t k = 0;
    for (size_t i = 0; p && i < n;) {
        if (v[i]) {
            p[k++] = v[i++];
            continue;
        }
        size_t run = 1;
        while (i + run < n && run < 255 && !v[i + run]) run++;
        p[k++] = 0;
        p[k++] = (unsigned char)run;
        i += run;
    }
    *len = k;
    return p;
}

/* The value pack_zeros() packed (malloc'd), or NULL when the bytes are not such a value. */
static void *unpack_zeros(const unsigned char *p, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            len++;
        } else if (i + 1 < n && p[i + 1]) {
            len += p[++i];
        } else {
            return NULL;
        }
    }
    unsigned char *v = len >= sizeof(size_t) ? malloc(len) : NULL;
    for (size_t i = 0, k = 0; v && i < n; i++) {
        if (p[i]) {
            v[k++] = p[i];
        } else {
            memset(v + k, 0, p[i + 1]);
            k += p[++i];
        }
    }
    if (v && *(size_t *)v != len) { /* not one of ours: cannot be */
        free(v);
        v = NULL;
    }
    return v;
}

/* The store's count per tag follows its puts and deletes. */
static int stored_put(spill *sp, const unsigned char *tkey, size_t tlen, const void *v, size_t vlen) {
    uint64_t before = mt_store_count(sp->store);
    size_t plen;
    unsigned char *packed = pack_zeros(v, vlen, &plen);
    int rc = packed ? mt_store_put(sp->store, tkey, tlen, packed, plen) : -1;
    free(packed);
    if (rc) return -1;
    for (int i = 0; i < 8; i++)
        if (spill_tags[i] == (char)tkey[0]) sp->stored[i] += mt_store_count(sp->store) - before;
    return 0;
}

static int stored_del(spill *sp, const unsigned char *tkey, size_t tlen) {
    int rc = mt_store_del(sp->store, tkey, tlen);
    for (int i = 0; rc == 1 && i < 8; i++)
        if (spill_tags[i] == (char)tkey[0]) sp->stored[i]--;
    return rc < 0 ? -1 : 0;
}

/* A value read from the store (a malloc'd copy, or NULL: absent or error). */
static void *spilled_value(const mt_ledger *l, char tag, const void *key, size_t klen) {
    unsigned char buf[256], *tk = tagged(tag, key, klen, buf);
    void *packed = NULL, *v = NULL;
    size_t plen = 0;
    int rc = tk ? mt_store_get(l->sp->store, tk, klen + 1, &packed, &plen) : -1;
    if (tk != buf) free(tk);
    if (rc == 1 && !(v = unpack_zeros(packed, plen))) rc = -1; /* out of memory (or not ours: cannot be) */
    free(packed);
    if (rc < 0) spill_failed(l);
    return rc == 1 ? v : NULL;
}

static uintptr_t flags_of(const spill *sp, const unsigned char *tk, size_t tlen) {
    return (uintptr_t)mt_map_get(sp->pending, tk, tlen);
}

/* Adds flags to a pending key. Returns 0, or -1 when out of memory. */
static int add_flags(spill *sp, const unsigned char *tk, size_t tlen, uintptr_t flags) {
    void *v = (void *)(flags_of(sp, tk, tlen) | flags);
    return mt_map_put(sp->pending, tk, tlen, v) == v && mt_map_get(sp->pending, tk, tlen) != v ? -1 : 0;
}

/* The value under key in map: every read of a map that spills comes here. A key with flags has
 * its truth in the map; any other is looked for in the store, and a value found there is copied
 * back into the map (FAULTED: the store keeps it). An absence is remembered until the commit
 * (ABSENT), which alone changes the store. */
static void *lookup(const mt_ledger *l, mt_map *map, const void *key, size_t klen) {
    void *v = mt_map_get(map, key, klen);
    char tag = v ? 0 : tag_of(l, map);
    if (!tag) return v;
    unsigned char buf[256], *tk = tagged(tag, key, klen, buf);
    if (!tk || flags_of(l->sp, tk, klen + 1)) {
        if (!tk) ((mt_ledger *)l)->oom = 1;
        if (tk != buf) free(tk);
        return NULL;
    }
    v = spilled_value(l, tag, key, klen);
    if (v && mt_map_put(map, key, klen, v) == v) {
        free(v);
        v = NULL;
        ((mt_ledger *)l)->oom = 1;
    } else if (add_flags(l->sp, tk, klen + 1, v ? FAULTED : ABSENT)) {
        ((mt_ledger *)l)->oom = 1;
    }
    if (tk != buf) free(tk);
    return v;
}

/* Marks key of map (if it spills) DIRTY: its value in the map, or its absence, is the truth. */
static void mark_dirty(mt_ledger *l, const mt_map *map, const void *key, size_t klen) {
    char tag = tag_of(l, map);
    if (!tag) return;
    unsigned char buf[256], *tk = tagged(tag, key, klen, buf);
    if (!tk || add_flags(l->sp, tk, klen + 1, DIRTY)) l->oom = 1;
    if (tk && tk != buf) free(tk);
}

/* Whether a batch must stay in RAM: it holds mass, or it is in transit. */
static int live(const batch *b) {
    return b->mass_mg > 0 || b->transit_to[0];
}

/* Whether an entry goes to the store at commit: every value of an event-keyed map and every
 * exited stock; a batch and its provenance and claim once the batch is spent (a batch not in
 * RAM is in the store, hence spent). */
static int should_spill(const mt_ledger *l, char tag, const void *key, size_t klen) {
    if (tag == TAG_BATCH || tag == TAG_PROV || tag == TAG_CLAIM) {
        const batch *b = mt_map_get(l->batches, key, klen);
        return !b || !live(b);
    }
    return 1;
}

typedef struct pend {
    const unsigned char *tkey;
    size_t tlen;
    uintptr_t flags;
} pend;

typedef struct pend_list {
    pend *v;
    size_t n;
} pend_list;

static void pend_one(void *arg, const void *key, size_t klen, void *value) {
    pend_list *pl = arg;
    pl->v[pl->n++] = (pend){key, klen, (uintptr_t)value};
}

/* Moves the value under tk (tag + key) from its map to the store. 0, or -1 on an I/O error. */
static int spill_out(mt_ledger *l, mt_map *map, const unsigned char *tk, size_t tlen, int write) {
    void *cur = mt_map_get(map, tk + 1, tlen - 1);
    if (write && stored_put(l->sp, tk, tlen, cur, *(const size_t *)cur)) return -1;
    mt_map_remove(map, tk + 1, tlen - 1);
    free(cur);
    return 0;
}

/* A spent batch leaves with its provenance and claim, even those not changed with it (they are
 * in RAM alone). */
static int spill_companions(mt_ledger *l, const unsigned char *tk, size_t tlen) {
    unsigned char buf[256], *ck = tagged(TAG_PROV, tk + 1, tlen - 1, buf);
    int rc = ck ? 0 : -1;
    for (int i = 0; ck && i < 2 && !rc; i++) {
        ck[0] = i ? TAG_CLAIM : TAG_PROV;
        mt_map *map = map_of(l, (char)ck[0]);
        if (!flags_of(l->sp, ck, tlen) && mt_map_get(map, tk + 1, tlen - 1)) rc = spill_out(l, map, ck, tlen, 1);
    }
    if (ck && ck != buf) free(ck);
    return rc;
}

/* One pending key at commit: the value goes to the store, or stays in RAM alone. Returns 0, or
 * -1 on an I/O error (the key stays pending). */
static int settle(mt_ledger *l, const pend *p) {
    char tag = (char)p->tkey[0];
    mt_map *map = map_of(l, tag);
    const unsigned char *key = p->tkey + 1;
    size_t klen = p->tlen - 1;
    if (!map) return 0;
    int in_store = (p->flags & FAULTED) != 0; /* else: never there, or looked for and absent */
    if (!mt_map_get(map, key, klen)) /* absent: removed, or an absence looked up */
        return in_store ? stored_del(l->sp, p->tkey, p->tlen) : 0;
    if (!should_spill(l, tag, key, klen)) /* it stays in RAM, alone */
        return in_store ? stored_del(l->sp, p->tkey, p->tlen) : 0;
    if (spill_out(l, map, p->tkey, p->tlen, (p->flags & DIRTY) || !in_store)) return -1;
    return tag == TAG_BATCH ? spill_companions(l, p->tkey, p->tlen) : 0;
}

/* At commit: every key read back or changed since the last commit is settled. */
static void spill_commit(mt_ledger *l) {
    spill *sp = l->sp;
    size_t n = mt_map_count(sp->pending);
    if (!n) return;
    pend_list pl = {malloc(n * sizeof(pend)), 0};
    mt_map *next = mt_map_new();
    if (!pl.v || !next) { /* out of memory: everything stays pending */
        free(pl.v);
        mt_map_free(next, NULL);
        return;
    }
    mt_map_foreach(sp->pending, pend_one, &pl);
    for (size_t i = 0; i < pl.n; i++)
        if (settle(l, &pl.v[i])) {
            sp->io_errors++;
            mt_map_put(next, pl.v[i].tkey, pl.v[i].tlen, (void *)(pl.v[i].flags | DIRTY)); /* again next commit */
        }
    free(pl.v);
    mt_map_free(sp->pending, NULL);
    sp->pending = next;
}

static void spill_free(mt_ledger *l) {
    if (!l->sp) return;
    mt_store_close(l->sp->store);
    mt_map_free(l->sp->pending, NULL);
    free(l->sp);
    l->sp = NULL;
}

int mt_ledger_spill(mt_ledger *l, const char *dir, char *err, size_t errlen) {
    if (l->sp || l->next_index || l->n_log || mt_map_count(l->batches) || mt_map_count(l->events)) {
        snprintf(err, errlen, "spill: the ledger must be new (call it before the first offer or replay)");
        return -1;
    }
    spill *sp = calloc(1, sizeof(*sp));
    if (!sp || !(sp->pending = mt_map_new())) {
        free(sp);
        snprintf(err, errlen, "spill: out of memory");
        return -1;
    }
    mt_state_tree *tree = NULL;
    if (!(sp->store = mt_store_open(dir, err, errlen)) || !(tree = mt_state_tree_new(dir, err, errlen))) {
        mt_store_close(sp->store);
        mt_map_free(sp->pending, NULL);
        free(sp);
        return -1;
    }
    mt_state_tree_free(l->tree); /* empty: the ledger is new; its file moves to dir too */
    l->tree = tree;
    l->sp = sp;
    return 0;
}

/* Records that key held old (NULL: was absent) before this transaction changed it. */
static int log_undo(mt_ledger *l, mt_map *map, const void *key, size_t klen, void *old) {
    if (l->n_log == l->cap_log) {
        size_t cap = l->cap_log ? l->cap_log * 2 : 64;
        undo *nl = realloc(l->log, cap * sizeof(*nl));
        if (!nl) return -1;
        l->log = nl;
        l->cap_log = cap;
    }
    void *k = malloc(klen);
    if (!k) return -1;
    memcpy(k, key, klen);
    l->log[l->n_log++] = (undo){map, k, klen, old};
    mark_dirty(l, map, key, klen); /* from now on the map holds its truth */
    return 0;
}

/* Sets key to value (taking it) and remembers what was there, for mt_ledger_abort(). */
static void put(mt_ledger *l, mt_map *map, const void *key, size_t klen, void *value) {
    if (log_undo(l, map, key, klen, lookup(l, map, key, klen))) {
        l->oom = 1;
        free(value);
        return;
    }
    if (mt_map_put(map, key, klen, value) == value) { /* the map could not grow */
        free(l->log[--l->n_log].key);
        l->oom = 1;
        free(value);
    }
}

/* A writable copy of the value under key (the old one stays in the undo log), or NULL. */
static void *writable(mt_ledger *l, mt_map *map, const void *key, size_t klen) {
    void *cur = lookup(l, map, key, klen);
    if (!cur) return NULL;
    void *c = clone(cur);
    if (!c) {
        l->oom = 1;
        return NULL;
    }
    put(l, map, key, klen, c);
    return l->oom ? NULL : c;
}

/* Removes key, remembering its value for mt_ledger_abort(). */
static void remove_undoable(mt_ledger *l, mt_map *map, const void *key, size_t klen) {
    void *cur = lookup(l, map, key, klen);
    if (!cur) return;
    if (log_undo(l, map, key, klen, cur)) {
        l->oom = 1;
        return;
    }
    mt_map_remove(map, key, klen);
}

/* Sets b's leaf in the state tree from its record's commitment. */
static void set_leaf(mt_ledger *l, const batch *b) {
    unsigned char leaf[MT_HASH_LEN];
    if (mt_prov_state_leaf(b->id, b->prov_commit, leaf) || mt_state_tree_set(l->tree, b->position, leaf)) l->oom = 1;
}

void mt_ledger_begin(mt_ledger *l) {
    mt_ledger_commit(l);
}

void mt_ledger_commit(mt_ledger *l) {
    if (l->sp) spill_commit(l);
    for (size_t i = 0; i < l->n_log; i++) {
        free(l->log[i].old);
        free(l->log[i].key);
    }
    l->n_log = 0;
    l->txn_next_index = l->next_index;
    l->txn_arrivals = l->arrivals;
    l->txn_made = l->made;
    l->txn_n_regs = l->n_regs;
    memcpy(l->txn_gov_pk, l->gov_pk, MT_PK_LEN);
    l->txn_have_gov = l->have_gov;
    l->oom = 0;
}

void mt_ledger_abort(mt_ledger *l) {
    while (l->n_log) {
        undo *u = &l->log[--l->n_log];
        void *cur = u->old ? mt_map_put(u->map, u->key, u->klen, u->old) : mt_map_remove(u->map, u->key, u->klen);
        free(cur);
        mark_dirty(l, u->map, u->key, u->klen); /* the value restored may differ from the store's */
        free(u->key);
        if (u->map == l->batches && u->old) set_leaf(l, u->old); /* its leaf as it was */
    }
    mt_state_tree_truncate(l->tree, l->txn_made); /* batches the transaction made are gone */
    l->made = l->txn_made;
    l->next_index = l->txn_next_index;
    l->arrivals = l->txn_arrivals;
    while (l->n_regs > l->txn_n_regs) mt_registry_destroy(l->regs[--l->n_regs]);
    memcpy(l->gov_pk, l->txn_gov_pk, MT_PK_LEN);
    l->have_gov = l->txn_have_gov;
    l->oom = 0;
}

mt_ledger *mt_ledger_new(const mt_ledger_conf *conf) {
    mt_ledger *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->conf = conf ? *conf : (mt_ledger_conf){0};
    if (!l->conf.tolerance_ppm) l->conf.tolerance_ppm = 5000;
    if (!l->conf.max_skew_ms) l->conf.max_skew_ms = 5 * 60 * 1000;
    if (!l->conf.park_max) l->conf.park_max = 10000;
    if (!l->conf.park_max_age) l->conf.park_max_age = 100000;
    l->batches = mt_map_new();
    l->events = mt_map_new();
    l->chains = mt_map_new();
    l->parked = mt_map_new();
    l->prov = mt_map_new();
    l->takes = mt_map_new();
    l->exited = mt_map_new();
    l->claims = mt_map_new();
    l->ctakes = mt_map_new();
    l->accounts = mt_map_new();
    l->memos = mt_map_new();
    char err[300];
    l->tree = mt_state_tree_new(NULL, err, sizeof(err));
    if (!l->tree || !l->batches || !l->events || !l->chains || !l->parked || !l->prov || !l->takes || !l->exited || !l->claims ||
        !l->ctakes || !l->accounts || !l->memos) {
        mt_ledger_free(l);
        return NULL;
    }
    return l;
}

void mt_ledger_free(mt_ledger *l) {
    if (!l) return;
    spill_free(l);
    mt_ledger_commit(l);
    free(l->log);
    mt_map_free(l->batches, free);
    mt_map_free(l->events, free);
    mt_map_free(l->chains, free);
    mt_map_free(l->parked, free);
    mt_map_free(l->prov, free);
    mt_map_free(l->takes, free);
    mt_map_free(l->exited, free);
    mt_map_free(l->claims, free);
    mt_map_free(l->ctakes, free);
    mt_map_free(l->accounts, free);
    mt_map_free(l->memos, free);
    for (size_t i = 0; i < l->n_regs; i++) mt_registry_destroy(l->regs[i]);
    free(l->regs);
    mt_state_tree_free(l->tree);
    free(l);
}

void mt_ledger_set_caller_verifies_notary(mt_ledger *l, int on) { l->caller_verifies_notary = on; }

void mt_ledger_set_governance(mt_ledger *l, const unsigned char gov_pk[MT_PK_LEN]) {
    memcpy(l->gov_pk, gov_pk, MT_PK_LEN);
    l->have_gov = 1;
    memcpy(l->txn_gov_pk, gov_pk, MT_PK_LEN);
    l->txn_have_gov = 1;
}

uint64_t mt_ledger_registry_version(const mt_ledger *l) {
    return l->n_regs ? mt_registry_version(l->regs[l->n_regs - 1]) : 0;
}

/* The registry version an AttestedEvent was attested with, read without verifying anything
 * (mt_attested_open verifies, with that version). -1 if the bytes do not say. */
static int attested_version(const uint8_t *bytes, size_t len, uint64_t *version) {
    Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, len, bytes);
    Mintrace__V1__Envelope *env = ae ? mintrace__v1__envelope__unpack(NULL, ae->attestation.len, ae->attestation.data) : NULL;
    Mintrace__V1__Attestation *att = env ? mintrace__v1__attestation__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    int rc = att ? 0 : -1;
    if (att) *version = att->registry_version;
    if (att) mintrace__v1__attestation__free_unpacked(att, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    if (ae) mintrace__v1__attested_event__free_unpacked(ae, NULL);
    return rc;
}

uint64_t mt_ledger_next_index(const mt_ledger *l) {
    return l->next_index;
}

static batch *get_batch(const mt_ledger *l, const char *id) {
    return lookup(l, l->batches, id, strlen(id));
}

static evrec *get_event(const mt_ledger *l, const unsigned char id[MT_HASH_LEN]) {
    return lookup(l, l->events, id, MT_HASH_LEN);
}

static const mt_prov *get_prov(const mt_ledger *l, const char *id) {
    return lookup(l, l->prov, id, strlen(id));
}

static const mt_prov *get_claim(const mt_ledger *l, const char *id) {
    return lookup(l, l->claims, id, strlen(id));
}

/* What an event took (takes) or took of the claims (ctakes), while it can be corrected. */
static const takes *get_takes(const mt_ledger *l, mt_map *map, const unsigned char id[MT_HASH_LEN]) {
    return lookup(l, map, id, MT_HASH_LEN);
}

/* The exited stock of batch id: the cells its standing EXITs took, less what standing RECYCLEs
 * returned (rule 13a of docs/ledger.md); NULL when no standing EXIT took anything from it. */
static const mt_prov *get_exited(const mt_ledger *l, const char *id) {
    return lookup(l, l->exited, id, strlen(id));
}

/* The returns of a RECYCLE (RecycleDetail.returns), or none. */
static size_t n_returns(const Mintrace__V1__BatchEvent *ev) {
    return ev->kind == K(RECYCLE) && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE
               ? ev->recycle->n_returns
               : 0;
}

/* Element sym in `mass` milligrams of batch id: the share a take of that mass gets of what the
 * batch holds now (mt_prov_share(), docs/accounting.md R2), so the check and the provenance agree. */
static uint64_t element_in(const mt_ledger *l, const char *id, const char *sym, uint64_t mass) {
    const mt_prov *p = get_prov(l, id);
    if (!p || mass > p->mass_mg) return 0;
    return mt_prov_share(mt_prov_sum(p, sym, -1, NULL, NULL), mass, p->mass_mg);
}

/* Oxygen, hydrogen, carbon and nitrogen come and go with oxides, hydrides and carbonates. */
static int tracked(const char *sym) {
    return strcmp(sym, "O") && strcmp(sym, "H") && strcmp(sym, "C") && strcmp(sym, "N");
}

/* A 128-bit sum for a message: 64 bits, or the largest 64-bit value past them. */
static uint64_t saturate(u128 x) {
    return x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
}

static uint64_t sum_el(Mintrace__V1__ElementMass **el, size_t n, const char *sym) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(el[i]->element, sym) == 0) s += el[i]->mass_mg;
    return s;
}

/* ---- deciding ---- */

typedef enum { DECIDE_ACCEPT, DECIDE_REJECT, DECIDE_PARK } outcome;

typedef struct judged {
    outcome out;
    mt_verdict v;
    char waits[200];
    int gap;
} judged;

static outcome reject(judged *j, mt_reason code, const char *fmt, ...) {
    va_list ap;
    j->out = DECIDE_REJECT;
    j->v.code = code;
    va_start(ap, fmt);
    vsnprintf(j->v.detail, sizeof(j->v.detail), fmt, ap);
    va_end(ap);
    return DECIDE_REJECT;
}

/* What a parked event waits for, and the code it is rejected with when that does not come in time. */
#define WAIT_TRANSFER 0 /* its TRANSFER, or a registry version: PARK_EXPIRED */
#define WAIT_SEQ 1      /* an earlier seq of its chain: CHAIN_GAP */
#define WAIT_EXIT 2     /* an EXIT of a batch it returns (rule 13a): NOT_EXITED */

static outcome park(judged *j, int gap, const char *fmt, ...) {
    va_list ap;
    j->out = DECIDE_PARK;
    j->gap = gap;
    va_start(ap, fmt);
    vsnprintf(j->waits, sizeof(j->waits), fmt, ap);
    va_end(ap);
    return DECIDE_PARK;
}

/* The element conservation rule of a transforming event: for every tracked element an output
 * declares, outputs <= inputs + tolerance, where inputs are the tracked inputs' shares and
 * whatever entered legitimately (untracked inputs, untracked recycling feedstock). */
static outcome check_elements(const mt_ledger *l, const Mintrace__V1__BatchEvent *ev, judged *j) {
    for (size_t o = 0; o < ev->n_outputs; o++)
        for (size_t e = 0; e < ev->outputs[o]->n_elements; e++) {
            const char *sym = ev->outputs[o]->elements[e]->element;
            if (!tracked(sym)) continue;
            int seen = 0; /* each element once */
            for (size_t p = 0; p < o && !seen; p++) seen = sum_el(ev->outputs[p]->elements, ev->outputs[p]->n_elements, sym) > 0;
            for (size_t q = 0; q < e && !seen; q++) seen = strcmp(ev->outputs[o]->elements[q]->element, sym) == 0;
            if (seen) continue;
            u128 out = 0, in = 0; /* sums of 64-bit masses: they must not wrap into a small number */
            for (size_t p = 0; p < ev->n_outputs; p++) out += sum_el(ev->outputs[p]->elements, ev->outputs[p]->n_elements, sym);
            for (size_t i = 0; i < ev->n_inputs; i++)
                in += element_in(l, ev->inputs[i]->batch_id, sym, ev->inputs[i]->mass_mg);
            for (size_t r = 0; r < n_returns(ev); r++) { /* returned EXITed material counts as input */
                const mt_prov *st = get_exited(l, ev->recycle->returns[r]->batch_id);
                uint64_t m = ev->recycle->returns[r]->mass_mg;
                if (st && m <= st->mass_mg) in += mt_prov_share(mt_prov_sum(st, sym, -1, NULL, NULL), m, st->mass_mg);
            }
            for (size_t u = 0; u < ev->n_untracked_inputs; u++)
                in += sum_el(ev->untracked_inputs[u]->elements, ev->untracked_inputs[u]->n_elements, sym);
            /* untracked feedstock enters only a RECYCLE of untracked feedstock */
            if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE &&
                ev->recycle->feedstock != MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED)
                in += sum_el(ev->recycle->untracked_feedstock, ev->recycle->n_untracked_feedstock, sym);
            u128 allowed = in + in * l->conf.tolerance_ppm / 1000000;
            if (out > allowed)
                return reject(j, R(ELEMENT_NOT_CONSERVED),
                              "%s: outputs hold %" PRIu64 " mg, inputs %" PRIu64 " mg (+%u ppm tolerance)", sym,
                              saturate(out), saturate(in), l->conf.tolerance_ppm);
        }
    return DECIDE_ACCEPT;
}

/* Rule 13a (docs/ledger.md): a RECYCLE may return end-of-life material of any EXITed batch, at
 * most what its EXITs took out and nothing returned yet, dated after its latest EXIT. Whoever
 * EXITed it: the products went to end users, and any recycler may collect them. */
static outcome judge_returns(const mt_ledger *l, const Mintrace__V1__BatchEvent *ev, judged *j) {
    for (size_t r = 0; r < n_returns(ev); r++) {
        const Mintrace__V1__ReturnedInput *ri = ev->recycle->returns[r];
        const mt_prov *st = get_exited(l, ri->batch_id);
        const batch *b = get_batch(l, ri->batch_id);
        /* another facility's EXIT may still be on its way (validation runs in parallel): wait */
        if (!st || !b) return park(j, WAIT_EXIT, "waits for an EXIT of batch %s", ri->batch_id);
        if (ri->mass_mg > st->mass_mg)
            return reject(j, R(RETURN_EXCEEDS_EXIT), "%" PRIu64 " mg of %s returned, %" PRIu64 " mg of it can come back",
                          ri->mass_mg, ri->batch_id, st->mass_mg);
        if (ev->time_ms < b->exited_time_ms)
            return reject(j, R(TIME_BEFORE_INPUTS), "batch %s was EXITed at %" PRId64 ", after this return", ri->batch_id,
                          b->exited_time_ms);
    }
    return DECIDE_ACCEPT;
}

/* Judges an opened, attested event against the registry and the state; changes nothing. */
static outcome judge(const mt_ledger *l, const mt_registry *reg, const mt_attested *a, judged *j) {
    const Mintrace__V1__BatchEvent *ev = a->ev;
    const Mintrace__V1__Envelope *env = a->env;
    const char *fac = ev->facility_id;
    int kind = ev->kind;

    /* who: the registry the notary judged with (one registry for now), at the notary's time */
    const mt_registry_key *key = mt_registry_find_key(reg, env->signatures[0]->key_id);
    if (!key) return reject(j, R(UNKNOWN_KEY), "key %.40s is not in the registry", env->signatures[0]->key_id);
    if (strcmp(key->facility->facility_id, fac) != 0)
        return reject(j, R(KEY_FACILITY_MISMATCH), "key %s belongs to %s", key->key_id, key->facility->facility_id);
    char why[sizeof(j->v.detail)]; /* not j->v.detail itself: reject() would print it onto itself */
    int krc = mt_registry_key_valid_at(key, a->att->notary_time_ms, why, sizeof(why));
    if (krc) return reject(j, (mt_reason)krc, "%s", why);
    if (!mt_role_allows(key->facility->role, ev->kind))
        return reject(j, R(ROLE_NOT_ALLOWED), "%s is a %s and may not emit %s", fac,
                      mt_enum_name(&mintrace__v1__facility_role__descriptor, key->facility->role),
                      mt_enum_name(&mintrace__v1__event_kind__descriptor, kind));
    if (ev->time_ms > a->att->notary_time_ms + l->conf.max_skew_ms)
        return reject(j, R(TIME_IN_FUTURE), "event time %" PRId64 " is past notary time %" PRId64 " + %" PRId64 " ms",
                      ev->time_ms, a->att->notary_time_ms, l->conf.max_skew_ms);

    /* the chain of this signing key */
    const chain *c = mt_map_get(l->chains, key->key_id, strlen(key->key_id));
    uint64_t head = c ? c->head_seq : 0;
    if (ev->prev.len == MT_HASH_LEN) {
        const evrec *p = get_event(l, ev->prev.data);
        if (p && !p->accepted)
            return reject(j, R(CHAIN_BROKEN_BEFORE), "follows seq %" PRIu64 " of key %s, which was rejected", p->seq,
                          key->key_id);
    }
    if (ev->seq <= head)
        return reject(j, R(CHAIN_EQUIVOCATION), "seq %" PRIu64 " of key %s is taken by another event", ev->seq,
                      key->key_id);
    if (ev->seq > head + 1)
        return park(j, WAIT_SEQ, "seq %" PRIu64 " of key %s waits for seq %" PRIu64, ev->seq, key->key_id, head + 1);
    if (ev->seq > 1 && (!c || memcmp(ev->prev.data, c->head_id, MT_HASH_LEN) != 0))
        return reject(j, R(CHAIN_FORK), "prev of seq %" PRIu64 " is not the id of seq %" PRIu64 " of key %s", ev->seq,
                      head, key->key_id);

    /* what it consumes or moves */
    if (kind == K(RECEIVE)) {
        const evrec *t = get_event(l, ev->receive->transfer_event_id.data);
        if (!t) return park(j, WAIT_TRANSFER, "RECEIVE waits for its TRANSFER");
        if (!t->accepted || t->kind != K(TRANSFER) || t->voided)
            return reject(j, R(UNKNOWN_INPUT), "the event received is not an accepted, standing TRANSFER");
        if (strcmp(t->dest, fac) != 0) return reject(j, R(NOT_CUSTODIAN), "the transfer goes to %s", t->dest);
        if (t->received) return reject(j, R(OVERDRAWN), "that transfer was received already");
        if ((size_t)t->n_in != ev->n_inputs)
            return reject(j, R(MALFORMED_EVENT), "a RECEIVE names every batch of its transfer (%d)", t->n_in);
        for (size_t i = 0; i < ev->n_inputs; i++) {
            const take *tk = NULL;
            for (int k = 0; k < t->n_in; k++)
                if (strcmp(t->t[k].batch, ev->inputs[i]->batch_id) == 0) tk = &t->t[k];
            if (!tk) return reject(j, R(UNKNOWN_INPUT), "batch %s is not in that transfer", ev->inputs[i]->batch_id);
            if (ev->inputs[i]->mass_mg > tk->mass_mg)
                return reject(j, R(OVERDRAWN), "received %" PRIu64 " mg of %s, %" PRIu64 " mg were sent",
                              ev->inputs[i]->mass_mg, tk->batch, tk->mass_mg);
            if (ev->time_ms < t->time_ms) return reject(j, R(TIME_BEFORE_INPUTS), "received before it was sent");
        }
    } else {
        for (size_t i = 0; i < ev->n_inputs; i++) {
            const char *id = ev->inputs[i]->batch_id;
            const batch *b = get_batch(l, id);
            if (!b || b->voided) return reject(j, R(UNKNOWN_INPUT), "batch %s does not exist", id);
            if (b->transit_to[0])
                return reject(j, R(IN_TRANSIT), "batch %s is in transit to %s", id, b->transit_to);
            if (strcmp(b->holder, fac) != 0) return reject(j, R(NOT_CUSTODIAN), "batch %s is held by %s", id, b->holder);
            if (ev->inputs[i]->mass_mg > b->mass_mg)
                return reject(j, R(OVERDRAWN), "%" PRIu64 " mg taken from %s, which has %" PRIu64 " mg",
                              ev->inputs[i]->mass_mg, id, b->mass_mg);
            if (kind == K(TRANSFER) && ev->inputs[i]->mass_mg != b->mass_mg)
                return reject(j, R(MALFORMED_EVENT), "a TRANSFER moves whole batches (SPLIT first): %s has %" PRIu64 " mg",
                              id, b->mass_mg);
            if (ev->time_ms < b->created_time_ms)
                return reject(j, R(TIME_BEFORE_INPUTS), "batch %s was made at %" PRId64 ", after this event", id,
                              b->created_time_ms);
        }
    }
    if (kind == K(RECYCLE) && ev->recycle->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED &&
        ev->n_inputs == 0 && ev->recycle->n_returns == 0)
        return reject(j, R(MALFORMED_EVENT), "RECYCLE of tracked scrap names its input batches or returns");
    if (kind == K(RECYCLE) && judge_returns(l, ev, j) != DECIDE_ACCEPT) return j->out;
    if (kind == K(RECYCLE) && ev->recycle->feedstock != MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED &&
        ev->recycle->untracked_feedstock_mass_mg == 0)
        return reject(j, R(MALFORMED_EVENT), "RECYCLE of untracked feedstock states its mass");
    if (kind == K(RECYCLE) && ev->recycle->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED &&
        (ev->recycle->untracked_feedstock_mass_mg || ev->recycle->n_untracked_feedstock))
        return reject(j, R(MALFORMED_EVENT), "RECYCLE of tracked scrap declares untracked feedstock");
    if ((kind == K(EXTRACT) || kind == K(PROCESS) || kind == K(RECYCLE)) && ev->site &&
        (!strcmp(ev->site->country, MT_PROV_UNATTRIBUTED) || !strcmp(ev->site->country, MT_PROV_UNTRACKED) ||
         !strcmp(ev->site->country, MT_PROV_RECOVERED)))
        return reject(j, R(MALFORMED_EVENT), "site.country %s is a provenance code, not a country", ev->site->country);

    /* what it creates */
    for (size_t o = 0; o < ev->n_outputs; o++)
        if (get_batch(l, ev->outputs[o]->batch_id))
            return reject(j, R(DUPLICATE_BATCH_ID), "batch id %s was used before", ev->outputs[o]->batch_id);
    if (kind == K(PROCESS) || kind == K(MANUFACTURE) || kind == K(RECYCLE) || kind == K(SPLIT) || kind == K(MERGE)) {
        if (check_elements(l, ev, j) == DECIDE_REJECT) return DECIDE_REJECT;
    }
    if (kind == K(SPLIT) || kind == K(MERGE)) {
        u128 in = 0, out = 0; /* sums of 64-bit masses: they must not wrap into a small number */
        for (size_t i = 0; i < ev->n_inputs; i++) in += ev->inputs[i]->mass_mg;
        for (size_t o = 0; o < ev->n_outputs; o++) out += ev->outputs[o]->mass_mg;
        if (out > in + in * l->conf.tolerance_ppm / 1000000)
            return reject(j, R(ELEMENT_NOT_CONSERVED), "repacking makes %" PRIu64 " mg of %" PRIu64 " mg", saturate(out),
                          saturate(in));
    }

    /* what it voids */
    if (kind == K(CORRECTION)) {
        const evrec *x = get_event(l, ev->correction->corrected_event_id.data);
        if (!x || !x->accepted) return reject(j, R(INVALID_CORRECTION), "the corrected event was never accepted");
        if (strcmp(x->facility, fac) != 0)
            return reject(j, R(INVALID_CORRECTION), "the corrected event is %s's, not %s's", x->facility, fac);
        if (x->voided) return reject(j, R(INVALID_CORRECTION), "that event was voided already");
        if (x->kind == K(RECEIVE) || x->kind == K(CORRECTION))
            return reject(j, R(INVALID_CORRECTION), "a %s cannot be voided",
                          mt_enum_name(&mintrace__v1__event_kind__descriptor, x->kind));
        if (x->received) return reject(j, R(INVALID_CORRECTION), "that transfer was received already");
        for (int k = 0; x->kind == K(EXIT) && k < x->n_in; k++) {
            const batch *b = get_batch(l, x->t[k].batch);
            if (b && b->returned_mg)
                return reject(j, R(INVALID_CORRECTION), "material EXITed from %s came back already (%" PRIu64 " mg)",
                              b->id, b->returned_mg);
        }
        for (int k = x->n_in; k < x->n_in + x->n_out; k++) {
            const batch *b = get_batch(l, x->t[k].batch);
            if (!b || b->touched || b->mass_mg != b->created_mass_mg)
                return reject(j, R(INVALID_CORRECTION), "output %s was used already", x->t[k].batch);
        }
    }
    j->out = DECIDE_ACCEPT;
    return DECIDE_ACCEPT;
}

/* ---- provenance effects of an accepted event (docs/accounting.md section 3) ---- */

typedef struct effects {
    size_t n_left, n_out, n_taken;
    mt_prov **left;  /* the inputs after the event (CORRECTION: the voided event's inputs) */
    mt_prov **out;   /* the outputs (CORRECTION: the voided event's outputs, now empty) */
    mt_prov **taken; /* what each input gave, kept for a CORRECTION */
    /* mass balance: the same for the claims (massbal.h); an entry NULL leaves that batch's
     * claim as it is (a batch has a claim only from a mass-balance event on) */
    size_t n_cleft, n_cout, n_ctaken;
    mt_prov **cleft, **cout, **ctaken;
    mt_massbal_result mb; /* the account after the event, and what it earned and allocated */
    /* returns (rule 13a): the exited stocks this event changes (EXIT: its inputs'; RECYCLE: its
     * returns'; CORRECTION: the voided event's); a NULL stock is removed: nothing EXITed stands */
    size_t n_stock;
    char (*stock_id)[ID_MAX];
    mt_prov **stock;
} effects;

static void free_provs(mt_prov **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) mt_prov_free(v[i]);
    free(v);
}

static void effects_free(effects *fx) {
    free_provs(fx->left, fx->n_left);
    free_provs(fx->out, fx->n_out);
    free_provs(fx->taken, fx->n_taken);
    free_provs(fx->cleft, fx->n_cleft);
    free_provs(fx->cout, fx->n_cout);
    free_provs(fx->ctaken, fx->n_ctaken);
    mt_massbal_result_release(&fx->mb);
    free_provs(fx->stock, fx->n_stock);
    free(fx->stock_id);
    memset(fx, 0, sizeof(*fx));
}

static int oom_text(const char *err) {
    return strstr(err, "out of memory") != NULL;
}

/* A CORRECTION's claims: the voided event's claim takes go back to the inputs that have a claim,
 * its outputs' claims (if any) are emptied. */
static int correction_claims(const mt_ledger *l, const evrec *x, const unsigned char *xid, effects *fx, char *err,
                             size_t errsize) {
    const takes *tk = get_takes(l, l->ctakes, xid);
    fx->cleft = calloc((size_t)x->n_in + 1, sizeof(mt_prov *));
    fx->cout = calloc((size_t)x->n_out + 1, sizeof(mt_prov *));
    if (!fx->cleft || !fx->cout) return -2;
    fx->n_cleft = (size_t)x->n_in;
    fx->n_cout = (size_t)x->n_out;
    const unsigned char *blk = tk ? tk->blocks : NULL;
    for (int k = 0; k < x->n_in; k++) {
        const mt_prov *part = tk && (size_t)k < tk->n ? (const mt_prov *)blk : NULL;
        if (part) blk += part->size;
        const mt_prov *cur = get_claim(l, x->t[k].batch);
        if (!cur) continue;
        if (!(fx->cleft[k] = mt_prov_clone(cur))) return -2;
        if (x->kind == K(TRANSFER) || !part) continue;
        if (mt_prov_add(&fx->cleft[k], part, err, errsize)) return oom_text(err) ? -2 : -1;
    }
    for (int k = 0; k < x->n_out; k++)
        if (get_claim(l, x->t[x->n_in + k].batch) && !(fx->cout[k] = mt_prov_new(0))) return -2;
    return 0;
}

/* The claims of an event's batches (massbal.h), computed as their provenance is, from the inputs'
 * claims (an input without one: its provenance), when an input has a claim or the event is under
 * mass balance; in[] is the provenance pass's, whose batches this changes. */
static int compute_claims(const mt_ledger *l, const Mintrace__V1__BatchEvent *ev, const mt_massbal_ctx *mb,
                          mt_prov_input *in, effects *fx, char *err, size_t errsize) {
    size_t ni = ev->n_inputs, no = ev->n_outputs;
    int need = mt_massbal_covers(mb);
    for (size_t i = 0; i < ni && !need; i++) need = get_claim(l, ev->inputs[i]->batch_id) != NULL;
    if (!need) return 0;
    for (size_t i = 0; i < ni; i++) {
        const mt_prov *c = get_claim(l, ev->inputs[i]->batch_id);
        if (c) in[i].batch = c;
    }
    size_t nr = n_returns(ev); /* in[] holds them too: their claim is their exited stock */
    fx->cleft = calloc(ni + nr + 1, sizeof(mt_prov *));
    fx->cout = calloc(no + 1, sizeof(mt_prov *));
    fx->ctaken = calloc(ni + 1, sizeof(mt_prov *));
    if (!fx->cleft || !fx->cout || !fx->ctaken) return -2;
    if (mt_prov_apply(ev, in, fx->cleft, fx->cout, err, errsize)) return oom_text(err) ? -2 : -1;
    for (size_t r = ni; r < ni + nr; r++) { /* exited stocks have no claim */
        mt_prov_free(fx->cleft[r]);
        fx->cleft[r] = NULL;
    }
    fx->n_cleft = ni;
    fx->n_cout = no;
    for (size_t i = 0; i < ni; i++)
        if (!get_claim(l, ev->inputs[i]->batch_id)) { /* it has no claim: it gets none */
            mt_prov_free(fx->cleft[i]);
            fx->cleft[i] = NULL;
        }
    if (fx->n_taken) {
        for (size_t i = 0; i < ni; i++) {
            if (mt_prov_take(in[i].batch, ev->inputs[i]->mass_mg, &fx->ctaken[i], NULL, err, errsize))
                return oom_text(err) ? -2 : -1;
            fx->n_ctaken++;
        }
    }
    return 0;
}

/* Block k of an event's takes, or NULL. */
static const mt_prov *take_part(const takes *tk, size_t k) {
    if (!tk || k >= tk->n) return NULL;
    const unsigned char *blk = tk->blocks;
    for (size_t i = 0; i < k; i++) blk += ((const mt_prov *)blk)->size;
    return (const mt_prov *)blk;
}

/* Room for n exited stocks in fx. Returns 0, or -2 when out of memory. */
static int stocks_alloc(effects *fx, size_t n) {
    fx->stock = calloc(n + 1, sizeof(*fx->stock));
    fx->stock_id = calloc(n + 1, sizeof(*fx->stock_id));
    if (!fx->stock || !fx->stock_id) return -2;
    fx->n_stock = n;
    return 0;
}

/* Rule 13a: the exited stocks an event changes. EXIT adds what it took; a CORRECTION of an EXIT
 * takes it back out (judge() saw that none of it came back); a CORRECTION of a RECYCLE gives
 * what its returns took back to the stocks. (A RECYCLE's own returns: mt_prov_apply().) */
static int compute_stocks(const mt_ledger *l, const Mintrace__V1__BatchEvent *ev, effects *fx, char *err,
                          size_t errsize) {
    const evrec *x = ev->kind == K(CORRECTION) ? get_event(l, ev->correction->corrected_event_id.data) : NULL;
    const takes *tk = x ? get_takes(l, l->takes, ev->correction->corrected_event_id.data) : NULL;
    if (ev->kind == K(EXIT) || (x && x->kind == K(EXIT))) {
        if (stocks_alloc(fx, x ? (size_t)x->n_in : ev->n_inputs)) return -2;
        for (size_t k = 0; k < fx->n_stock; k++) {
            const char *id = x ? x->t[k].batch : ev->inputs[k]->batch_id;
            const mt_prov *part = x ? take_part(tk, k) : fx->taken[k], *cur = get_exited(l, id);
            snprintf(fx->stock_id[k], ID_MAX, "%s", id);
            if (!part) {
                snprintf(err, errsize, "provenance: what the EXIT took from %s is not known", id);
                return -1;
            }
            fx->stock[k] = cur ? mt_prov_clone(cur) : mt_prov_new(0);
            if (!fx->stock[k]) return -2;
            if (x ? mt_prov_sub(&fx->stock[k], part, err, errsize) : mt_prov_add(&fx->stock[k], part, err, errsize))
                return oom_text(err) ? -2 : -1;
            if (x && fx->stock[k]->mass_mg == 0) { /* nothing EXITed stands: it was never EXITed */
                mt_prov_free(fx->stock[k]);
                fx->stock[k] = NULL;
            }
        }
    } else if (x && x->kind == K(RECYCLE) && x->n_ret) {
        if (stocks_alloc(fx, (size_t)x->n_ret)) return -2;
        for (size_t r = 0; r < fx->n_stock; r++) {
            const char *id = x->t[x->n_in + x->n_out + r].batch;
            const mt_prov *part = take_part(tk, (size_t)x->n_in + r), *cur = get_exited(l, id);
            snprintf(fx->stock_id[r], ID_MAX, "%s", id);
            if (!part || !cur) {
                snprintf(err, errsize, "provenance: what the RECYCLE returned of %s is not known", id);
                return -1;
            }
            if (!(fx->stock[r] = mt_prov_clone(cur))) return -2;
            if (mt_prov_add(&fx->stock[r], part, err, errsize)) return oom_text(err) ? -2 : -1;
        }
    }
    return 0;
}

/* Computes the provenance effects of an event judge() accepted, changing nothing. Returns 0,
 * -1 when the provenance rules refuse it (err says why: the event is then rejected as
 * MALFORMED_EVENT, so the ledger and the provenance always agree), or -2 when out of memory. */
static int compute_effects(const mt_ledger *l, const Mintrace__V1__BatchEvent *ev, const mt_massbal_ctx *mb,
                           effects *fx, char *err, size_t errsize) {
    int kind = ev->kind;
    memset(fx, 0, sizeof(*fx));
    if (kind == K(CORRECTION)) {
        const evrec *x = get_event(l, ev->correction->corrected_event_id.data);
        const takes *tk = get_takes(l, l->takes, ev->correction->corrected_event_id.data);
        fx->left = calloc((size_t)x->n_in + 1, sizeof(mt_prov *));
        fx->out = calloc((size_t)x->n_out + 1, sizeof(mt_prov *));
        if (!fx->left || !fx->out) goto oom;
        const unsigned char *blk = tk ? tk->blocks : NULL;
        for (int k = 0; k < x->n_in; k++) {
            const mt_prov *cur = get_prov(l, x->t[k].batch);
            if (!cur || !(fx->left[fx->n_left] = mt_prov_clone(cur))) goto oom;
            fx->n_left++;
            if (x->kind == K(TRANSFER)) continue; /* nothing was taken: it comes back from transit */
            if (!tk || (size_t)k >= tk->n) {
                snprintf(err, errsize, "provenance: what %s gave to the corrected event is not known", x->t[k].batch);
                effects_free(fx);
                return -1;
            }
            const mt_prov *part = (const mt_prov *)blk;
            if (mt_prov_add(&fx->left[k], part, err, errsize)) {
                int rc = oom_text(err) ? -2 : -1;
                effects_free(fx);
                return rc;
            }
            blk += part->size;
        }
        for (int k = 0; k < x->n_out; k++) {
            if (!(fx->out[fx->n_out] = mt_prov_new(0))) goto oom;
            fx->n_out++;
        }
        int crc = correction_claims(l, x, ev->correction->corrected_event_id.data, fx, err, errsize);
        if (crc == 0) crc = compute_stocks(l, ev, fx, err, errsize);
        if (crc == -2) goto oom;
        if (crc) effects_free(fx);
        return crc;
    }
    size_t ni = ev->n_inputs, no = ev->n_outputs, nr = n_returns(ev);
    mt_prov_input *in = calloc(ni + nr + 1, sizeof(*in));
    fx->left = calloc(ni + nr + 1, sizeof(mt_prov *));
    fx->out = calloc(no + 1, sizeof(mt_prov *));
    fx->taken = calloc(ni + nr + 1, sizeof(mt_prov *));
    if (!in || !fx->left || !fx->out || !fx->taken) {
        free(in);
        goto oom;
    }
    for (size_t i = 0; i < ni; i++) {
        const batch *b = get_batch(l, ev->inputs[i]->batch_id);
        in[i].batch = get_prov(l, ev->inputs[i]->batch_id);
        /* docs/accounting.md D1/D2: the recycler's own in-process material keeps its class;
         * tracked scrap that never left the system is pre-consumer. Material back after an
         * EXIT is not an input: it is a return (below), post-consumer. */
        in[i].recycle = b && b->recycler_own && strcmp(b->holder, ev->facility_id) == 0 ? MT_PROV_RECYCLE_KEEP
                                                                                         : MT_PROV_RECYCLE_PRE;
    }
    for (size_t r = 0; r < nr; r++) { /* material back after an EXIT: post-consumer (rule 13a) */
        in[ni + r].batch = get_exited(l, ev->recycle->returns[r]->batch_id);
        in[ni + r].recycle = MT_PROV_RECYCLE_POST;
    }
    int rc = mt_prov_apply(ev, in, fx->left, fx->out, err, errsize);
    if (rc) {
        free(in);
        rc = oom_text(err) ? -2 : -1;
        effects_free(fx);
        return rc;
    }
    fx->n_left = ni;
    fx->n_out = no;
    if (nr && stocks_alloc(fx, nr)) {
        for (size_t r = 0; r < nr; r++) mt_prov_free(fx->left[ni + r]);
        free(in);
        goto oom;
    }
    for (size_t r = 0; r < nr; r++) { /* the returns' stocks after the event */
        snprintf(fx->stock_id[r], ID_MAX, "%s", ev->recycle->returns[r]->batch_id);
        fx->stock[r] = fx->left[ni + r];
        fx->left[ni + r] = NULL;
    }
    if (kind == K(PROCESS) || kind == K(MANUFACTURE) || kind == K(RECYCLE) || kind == K(SPLIT) || kind == K(MERGE) ||
        kind == K(LOSS) || kind == K(EXIT)) {
        for (size_t i = 0; i < ni; i++) {
            if (mt_prov_take(in[i].batch, ev->inputs[i]->mass_mg, &fx->taken[i], NULL, err, errsize)) {
                free(in);
                rc = oom_text(err) ? -2 : -1;
                effects_free(fx);
                return rc;
            }
            fx->n_taken++;
        }
        for (size_t r = 0; r < nr; r++) { /* what each return took, for a CORRECTION */
            if (mt_prov_take(in[ni + r].batch, ev->recycle->returns[r]->mass_mg, &fx->taken[ni + r], NULL, err,
                             errsize)) {
                free(in);
                rc = oom_text(err) ? -2 : -1;
                effects_free(fx);
                return rc;
            }
            fx->n_taken++;
        }
    }
    if (kind == K(EXIT)) {
        rc = compute_stocks(l, ev, fx, err, errsize);
        if (rc) {
            free(in);
            if (rc == -2) goto oom;
            effects_free(fx);
            return rc;
        }
    }
    rc = compute_claims(l, ev, mb, in, fx, err, errsize);
    free(in);
    if (rc == -2) goto oom;
    if (rc) effects_free(fx);
    return rc;
oom:
    effects_free(fx);
    snprintf(err, errsize, "out of memory");
    return -2;
}

/* Sets batch id's claim to c (taking it; NULL: unchanged), before set_prov() commits to it. */
static void set_claim(mt_ledger *l, const char *id, mt_prov *c) {
    if (c) put(l, l->claims, id, strlen(id), c);
}

/* An event's takes (mt_prov blocks one after the other) as one value, or NULL. */
static takes *takes_block(mt_prov **v, size_t n) {
    size_t size = sizeof(takes);
    for (size_t i = 0; i < n; i++) size += v[i]->size;
    takes *tk = calloc(1, size);
    if (!tk) return NULL;
    tk->size = size;
    tk->n = n;
    unsigned char *w = tk->blocks;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, v[i], v[i]->size);
        w += v[i]->size;
    }
    return tk;
}

/* The event can no longer be corrected (or just was): forget what it took, claims and credits. */
static void forget_correction(mt_ledger *l, const unsigned char id[MT_HASH_LEN]) {
    remove_undoable(l, l->takes, id, MT_HASH_LEN);
    remove_undoable(l, l->ctakes, id, MT_HASH_LEN);
    remove_undoable(l, l->memos, id, MT_HASH_LEN);
}

/* Sets batch id's provenance to p (taking it) and its record's index, holder role and
 * commitment. */
static void set_prov(mt_ledger *l, const mt_registry *reg, const char *id, mt_prov *p, uint64_t index) {
    put(l, l->prov, id, strlen(id), p);
    batch *b = writable(l, l->batches, id, strlen(id));
    if (!b || l->oom) return;
    const char *holder = b->transit_to[0] ? b->transit_to : b->holder;
    const Mintrace__V1__FacilityRecord *f = reg ? mt_registry_find_facility(reg, holder) : NULL;
    b->holder_role = f ? (int)f->role : 0;
    b->prov_index = index;
    Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(l, id);
    if (!rec || mt_prov_record_commit(rec, b->prov_commit)) l->oom = 1;
    mt_prov_record_free(rec);
    if (!l->oom) set_leaf(l, b);
}

/* Applies an accepted event's effects. */
static void apply(mt_ledger *l, const mt_registry *reg, const mt_attested *a, uint64_t index, effects *fx) {
    const Mintrace__V1__BatchEvent *ev = a->ev;
    const char *fac = ev->facility_id, *key_id = a->env->signatures[0]->key_id;
    int kind = ev->kind;
    const evrec *t = kind == K(RECEIVE) ? get_event(l, ev->receive->transfer_event_id.data) : NULL;

    for (size_t i = 0; i < ev->n_inputs; i++) {
        const char *id = ev->inputs[i]->batch_id;
        batch *b = writable(l, l->batches, id, strlen(id));
        if (!b) return;
        if (kind != K(RECEIVE)) /* its maker can no longer be corrected: forget what it took */
            forget_correction(l, b->created_by);
        b->touched = 1;
        if (kind == K(TRANSFER)) {
            b->recycler_own = 0; /* it left its custody */
            snprintf(b->transit_to, sizeof(b->transit_to), "%s", ev->transfer->destination_facility_id);
        } else if (kind == K(RECEIVE)) {
            snprintf(b->holder, sizeof(b->holder), "%s", fac);
            b->transit_to[0] = '\0';
            b->mass_mg = ev->inputs[i]->mass_mg; /* the difference was lost in transit */
        } else {
            b->mass_mg -= ev->inputs[i]->mass_mg;
        }
        if (kind == K(EXIT) && ev->time_ms > b->exited_time_ms) b->exited_time_ms = ev->time_ms;
    }
    for (size_t r = 0; r < n_returns(ev); r++) { /* rule 13a: returned from the exited stock */
        const Mintrace__V1__ReturnedInput *ri = ev->recycle->returns[r];
        batch *b = writable(l, l->batches, ri->batch_id, strlen(ri->batch_id));
        if (!b) return;
        b->returned_mg += ri->mass_mg;
    }
    if (t) {
        evrec *tw = writable(l, l->events, ev->receive->transfer_event_id.data, MT_HASH_LEN);
        if (tw) tw->received = 1;
    }
    for (size_t o = 0; o < ev->n_outputs; o++) {
        const Mintrace__V1__BatchOutput *out = ev->outputs[o];
        batch *b = calloc(1, sizeof(*b));
        if (!b) {
            l->oom = 1;
            return;
        }
        b->size = sizeof(*b);
        snprintf(b->id, sizeof(b->id), "%s", out->batch_id);
        snprintf(b->material, sizeof(b->material), "%s", out->material);
        snprintf(b->holder, sizeof(b->holder), "%s", fac);
        b->mass_mg = b->created_mass_mg = out->mass_mg;
        b->position = l->made++;
        b->created_time_ms = ev->time_ms;
        memcpy(b->created_by, a->event_id, MT_HASH_LEN);
        if (kind == K(RECYCLE)) {
            b->recycler_own = 1;
        } else if (kind == K(SPLIT) || kind == K(MERGE)) {
            b->recycler_own = ev->n_inputs > 0;
            for (size_t i = 0; i < ev->n_inputs; i++) {
                const batch *in = get_batch(l, ev->inputs[i]->batch_id);
                if (!in || !in->recycler_own) b->recycler_own = 0;
            }
        }
        for (size_t e = 0; e < out->n_elements && b->n_el < MAX_EL; e++) {
            snprintf(b->el[b->n_el].sym, sizeof(b->el[0].sym), "%s", out->elements[e]->element);
            b->el[b->n_el++].mg = out->elements[e]->mass_mg;
        }
        put(l, l->batches, b->id, strlen(b->id), b);
    }
    if (kind == K(CORRECTION)) {
        const unsigned char *xid = ev->correction->corrected_event_id.data;
        evrec *x = writable(l, l->events, xid, MT_HASH_LEN);
        if (!x) return;
        x->voided = 1;
        for (int k = 0; k < x->n_in; k++) { /* what it took goes back */
            batch *b = writable(l, l->batches, x->t[k].batch, strlen(x->t[k].batch));
            if (!b) return;
            if (x->kind == K(TRANSFER))
                b->transit_to[0] = '\0';
            else
                b->mass_mg += x->t[k].mass_mg;
        }
        for (int k = x->n_in; k < x->n_in + x->n_out; k++) { /* what it made is void; its ids stay used */
            batch *b = writable(l, l->batches, x->t[k].batch, strlen(x->t[k].batch));
            if (!b) return;
            b->voided = 1;
            b->mass_mg = 0;
        }
        for (int k = x->n_in + x->n_out; k < x->n_in + x->n_out + x->n_ret; k++) { /* returnable again */
            batch *b = writable(l, l->batches, x->t[k].batch, strlen(x->t[k].batch));
            if (!b) return;
            b->returned_mg -= x->t[k].mass_mg;
        }
    }

    chain *c = calloc(1, sizeof(*c));
    if (!c) {
        l->oom = 1;
        return;
    }
    c->size = sizeof(*c);
    c->head_seq = ev->seq;
    memcpy(c->head_id, a->event_id, MT_HASH_LEN);
    put(l, l->chains, key_id, strlen(key_id), c);

    size_t n = ev->n_inputs + ev->n_outputs + n_returns(ev);
    evrec *r = calloc(1, sizeof(*r) + n * sizeof(take));
    if (!r) {
        l->oom = 1;
        return;
    }
    r->size = sizeof(*r) + n * sizeof(take);
    r->index = index;
    r->accepted = 1;
    r->kind = kind;
    r->seq = ev->seq;
    r->time_ms = ev->time_ms;
    snprintf(r->facility, sizeof(r->facility), "%s", fac);
    snprintf(r->key_id, sizeof(r->key_id), "%s", key_id);
    if (kind == K(TRANSFER)) snprintf(r->dest, sizeof(r->dest), "%s", ev->transfer->destination_facility_id);
    r->n_in = (int)ev->n_inputs;
    r->n_out = (int)ev->n_outputs;
    for (size_t i = 0; i < ev->n_inputs; i++) {
        snprintf(r->t[i].batch, ID_MAX, "%s", ev->inputs[i]->batch_id);
        r->t[i].mass_mg = ev->inputs[i]->mass_mg;
    }
    for (size_t o = 0; o < ev->n_outputs; o++) {
        snprintf(r->t[ev->n_inputs + o].batch, ID_MAX, "%s", ev->outputs[o]->batch_id);
        r->t[ev->n_inputs + o].mass_mg = ev->outputs[o]->mass_mg;
    }
    r->n_ret = (int)n_returns(ev);
    for (int k = 0; k < r->n_ret; k++) {
        snprintf(r->t[r->n_in + r->n_out + k].batch, ID_MAX, "%s", ev->recycle->returns[k]->batch_id);
        r->t[r->n_in + r->n_out + k].mass_mg = ev->recycle->returns[k]->mass_mg;
    }
    put(l, l->events, a->event_id, MT_HASH_LEN, r);

    /* provenance follows the same undo log */
    if (kind == K(CORRECTION)) {
        const evrec *x = get_event(l, ev->correction->corrected_event_id.data);
        for (size_t k = 0; x && k < fx->n_left && !l->oom; k++) {
            if (k < fx->n_cleft) set_claim(l, x->t[k].batch, fx->cleft[k]), fx->cleft[k] = NULL;
            set_prov(l, reg, x->t[k].batch, fx->left[k], index);
            fx->left[k] = NULL;
        }
        for (size_t k = 0; x && k < fx->n_out && !l->oom; k++) {
            if (k < fx->n_cout) set_claim(l, x->t[x->n_in + k].batch, fx->cout[k]), fx->cout[k] = NULL;
            set_prov(l, reg, x->t[x->n_in + k].batch, fx->out[k], index);
            fx->out[k] = NULL;
        }
        forget_correction(l, ev->correction->corrected_event_id.data);
    } else {
        for (size_t i = 0; i < fx->n_left && !l->oom; i++) {
            if (i < fx->n_cleft) set_claim(l, ev->inputs[i]->batch_id, fx->cleft[i]), fx->cleft[i] = NULL;
            set_prov(l, reg, ev->inputs[i]->batch_id, fx->left[i], index);
            fx->left[i] = NULL;
        }
        for (size_t o = 0; o < fx->n_out && !l->oom; o++) {
            if (o < fx->n_cout) set_claim(l, ev->outputs[o]->batch_id, fx->cout[o]), fx->cout[o] = NULL;
            set_prov(l, reg, ev->outputs[o]->batch_id, fx->out[o], index);
            fx->out[o] = NULL;
        }
        takes *tk = fx->n_taken && !l->oom ? takes_block(fx->taken, fx->n_taken) : NULL;
        if (tk) put(l, l->takes, a->event_id, MT_HASH_LEN, tk);
        else if (fx->n_taken) l->oom = 1;
        tk = fx->n_ctaken && !l->oom ? takes_block(fx->ctaken, fx->n_ctaken) : NULL;
        if (tk) put(l, l->ctakes, a->event_id, MT_HASH_LEN, tk);
        else if (fx->n_ctaken) l->oom = 1;
    }
    /* rule 13a: the exited stocks, in the same undo log */
    for (size_t k = 0; k < fx->n_stock && !l->oom; k++) {
        const char *id = fx->stock_id[k];
        if (fx->stock[k])
            put(l, l->exited, id, strlen(id), fx->stock[k]);
        else
            remove_undoable(l, l->exited, id, strlen(id));
        fx->stock[k] = NULL;
    }
    /* mass balance: the facility's account and what this event earned and allocated */
    if (fx->mb.account && !l->oom) {
        put(l, l->accounts, fac, strlen(fac), fx->mb.account);
        fx->mb.account = NULL;
    }
    if (fx->mb.memo && !l->oom) {
        put(l, l->memos, a->event_id, MT_HASH_LEN, fx->mb.memo);
        fx->mb.memo = NULL;
    }
}

/* Remembers a rejected event (by id, with its key and seq when they can be read), so an exact
 * resubmission is a duplicate and its successors are CHAIN_BROKEN_BEFORE. */
static void record_rejected(mt_ledger *l, const unsigned char id[MT_HASH_LEN], const char *key_id, uint64_t seq,
                            uint64_t index) {
    if (get_event(l, id)) return;
    evrec *r = calloc(1, sizeof(*r));
    if (!r) {
        l->oom = 1;
        return;
    }
    r->size = sizeof(*r);
    r->index = index;
    r->seq = seq;
    snprintf(r->key_id, sizeof(r->key_id), "%s", key_id ? key_id : "");
    put(l, l->events, id, MT_HASH_LEN, r);
}

static void emit(mt_ledger *l, mt_decision *d, mt_decision_fn fn, void *arg) {
    d->index = l->next_index++;
    fn(arg, d);
}

/* Opens an attested event with the registry version it was attested with (journaled; or,
 * before any is, the fallback). Returns 0 (a opened, *reg_used set), 1 when that version is
 * not journaled yet (j says so: the event must wait), or 2 when it cannot be judged (v says
 * why: journal a rejection). Release a in every case. */
static int open_event(const mt_ledger *l, const mt_registry *fallback, const char *network_id, const uint8_t *bytes,
                      size_t len, int verified, mt_attested *a, mt_verdict *v, const mt_registry **reg_used,
                      judged *j) {
    const mt_registry *reg = fallback;
    memset(a, 0, sizeof(*a));
    if (l->n_regs) {
        uint64_t version = 0;
        reg = NULL;
        if (attested_version(bytes, len, &version) == 0) {
            for (size_t i = 0; i < l->n_regs && !reg; i++)
                if (mt_registry_version(l->regs[i]) == version) reg = l->regs[i];
            if (!reg && version > mt_ledger_registry_version(l)) {
                memset(j, 0, sizeof(*j));
                park(j, WAIT_TRANSFER, "attested with registry version %" PRIu64 ", not journaled yet", version);
                return 1;
            }
        }
        if (!reg) {
            memset(v, 0, sizeof(*v));
            mt_verdict_reject(v, R(BAD_ATTESTATION), "attested with registry version %" PRIu64 ", never journaled",
                              version);
            return 2;
        }
    }
    if (!reg) {
        mt_verdict_reject(v, R(BAD_ATTESTATION), "no registry to judge with");
        return 2;
    }
    *reg_used = reg;
    /* a parked event was verified when it parked: re-checking its signature at every release
     * pass would cost a verification per parked event per decision */
    if (verified) return mt_attested_open_verified(bytes, len, a, v) ? 2 : 0;
    if (l->caller_verifies_notary) return mt_attested_open_unsigned(reg, network_id, bytes, len, a, v) ? 2 : 0;
    return mt_attested_open(reg, network_id, bytes, len, a, v) ? 2 : 0;
}

/* Decides one opened event: a decision through fn, or parked (returns 1). */
static int decide(mt_ledger *l, const mt_registry *reg, const mt_attested *a, mt_decision *d, judged *j,
                  mt_decision_fn fn, void *arg) {
    const evrec *dup = get_event(l, a->event_id);
    memcpy(d->verdict.event_id, a->event_id, MT_HASH_LEN);
    d->verdict.has_event_id = 1;
    snprintf(d->verdict.facility_id, sizeof(d->verdict.facility_id), "%s", a->ev->facility_id);
    if (dup) {
        d->kind = MT_DECIDED_DUPLICATE;
        d->first_index = dup->index;
        emit(l, d, fn, arg);
        return 0;
    }
    memset(j, 0, sizeof(*j));
    if (judge(l, reg, a, j) == DECIDE_PARK) return 1;
    effects fx;
    if (j->out == DECIDE_ACCEPT) {
        char err[sizeof(j->v.detail) - 16];
        const char *fac = a->ev->facility_id;
        mt_massbal_ctx mb = {.ev = a->ev,
                             .key_id = a->env->signatures[0]->key_id,
                             .notary_time_ms = a->att->notary_time_ms,
                             .facility = mt_registry_find_facility(reg, fac),
                             .account = mt_map_get(l->accounts, fac, strlen(fac)),
                             .voided = a->ev->kind == K(CORRECTION)
                                           ? lookup(l, l->memos, a->ev->correction->corrected_event_id.data, MT_HASH_LEN)
                                           : NULL};
        int prc = compute_effects(l, a->ev, &mb, &fx, err, sizeof(err));
        if (prc == 0 && mt_massbal_apply(&mb, mt_massbal_covers(&mb) ? fx.cout : NULL, &fx.mb) < 0) {
            effects_free(&fx);
            prc = -2;
        }
        if (prc == -2) {
            l->oom = 1;
            return 0;
        }
        if (prc == -1) reject(j, R(MALFORMED_EVENT), "provenance: %s", err);
        if (prc == 0 && fx.mb.code) {
            reject(j, fx.mb.code, "%s", fx.mb.detail);
            effects_free(&fx);
        }
    }
    if (j->out == DECIDE_ACCEPT) {
        /* the batches whose provenance this decision changes */
        const evrec *x = a->ev->kind == K(CORRECTION) ? get_event(l, a->ev->correction->corrected_event_id.data) : NULL;
        size_t n = x ? (size_t)(x->n_in + x->n_out) : a->ev->n_inputs + a->ev->n_outputs;
        const char **changed = calloc(n + 1, sizeof(*changed));
        if (!changed) {
            effects_free(&fx);
            l->oom = 1;
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            changed[i] = x ? x->t[i].batch
                           : i < a->ev->n_inputs ? a->ev->inputs[i]->batch_id
                                                 : a->ev->outputs[i - a->ev->n_inputs]->batch_id;
        d->kind = MT_DECIDED_ACCEPTED;
        apply(l, reg, a, l->next_index, &fx);
        effects_free(&fx);
        d->changed = changed;
        d->n_changed = n;
        emit(l, d, fn, arg);
        d->changed = NULL;
        d->n_changed = 0;
        free(changed);
        return 0;
    }
    d->kind = MT_DECIDED_REJECTED;
    d->verdict.code = j->v.code;
    memcpy(d->verdict.detail, j->v.detail, sizeof(d->verdict.detail));
    record_rejected(l, a->event_id, a->env->signatures[0]->key_id, a->ev->seq, l->next_index);
    emit(l, d, fn, arg);
    return 0;
}

static int park_event(mt_ledger *l, const judged *j, int verified, const uint8_t *bytes, size_t len,
                      const char *topic, int32_t partition, int64_t offset) {
    parked *p = calloc(1, sizeof(*p) + len);
    if (!p) return -1;
    p->size = sizeof(*p) + len;
    p->arrival = l->arrivals++;
    p->since_index = l->next_index;
    snprintf(p->topic, sizeof(p->topic), "%s", topic ? topic : "");
    p->partition = partition;
    p->offset = offset;
    snprintf(p->waits, sizeof(p->waits), "%s", j->waits);
    p->gap = j->gap;
    p->verified = verified;
    p->len = len;
    memcpy(p->bytes, bytes, len);
    put(l, l->parked, &p->arrival, sizeof(p->arrival), p);
    return l->oom ? -1 : 0;
}

/* The parked events, oldest first. */
typedef struct parked_list {
    parked **v;
    size_t n;
} parked_list;

static void collect(void *arg, const void *key, size_t klen, void *value) {
    (void)key;
    (void)klen;
    parked_list *pl = arg;
    pl->v[pl->n++] = value;
}

static int by_arrival(const void *a, const void *b) {
    const parked *x = *(parked *const *)a, *y = *(parked *const *)b;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

static int parked_sorted(const mt_ledger *l, parked_list *pl) {
    pl->n = 0;
    pl->v = malloc((mt_map_count(l->parked) + 1) * sizeof(*pl->v));
    if (!pl->v) return -1;
    mt_map_foreach(l->parked, collect, pl);
    qsort(pl->v, pl->n, sizeof(*pl->v), by_arrival);
    return 0;
}

/* Re-offers parked events until none can be decided; then expires the ones past the bounds. */
static int release_parked(mt_ledger *l, const mt_registry *reg, const char *network_id, mt_decision_fn fn, void *arg) {
    for (int progress = 1; progress && mt_map_count(l->parked);) {
        progress = 0;
        parked_list pl;
        if (parked_sorted(l, &pl)) return -1;
        for (size_t i = 0; i < pl.n && !progress; i++) {
            parked *p = pl.v[i];
            mt_attested a;
            mt_verdict v;
            judged j;
            const mt_registry *used = NULL;
            int opened = open_event(l, reg, network_id, p->bytes, p->len, p->verified, &a, &v, &used, &j);
            if (opened == 1) { /* its registry version is still to come */
                mt_attested_release(&a);
                continue;
            }
            if (opened == 2) { /* judged now, and refused: it leaves the buffer as a rejection */
                parked *keep = clone(p);
                mt_attested_release(&a);
                if (!keep) {
                    free(pl.v);
                    return -1;
                }
                remove_undoable(l, l->parked, &keep->arrival, sizeof(keep->arrival));
                mt_decision d = {.kind = MT_DECIDED_REJECTED, .verdict = v, .bytes = keep->bytes, .len = keep->len,
                                 .source_topic = keep->topic, .source_partition = keep->partition,
                                 .source_offset = keep->offset};
                emit(l, &d, fn, arg);
                free(keep);
                progress = 1;
                continue;
            }
            /* the decision's bytes must outlive the parked entry, which decide() may remove */
            parked *keep = clone(p);
            if (!keep) {
                mt_attested_release(&a);
                free(pl.v);
                return -1;
            }
            mt_decision d = {.bytes = keep->bytes, .len = keep->len, .source_topic = keep->topic,
                             .source_partition = keep->partition, .source_offset = keep->offset};
            uint64_t arrival = p->arrival;
            /* judge first without changing anything: only a decided event leaves the buffer */
            memset(&j, 0, sizeof(j));
            if (get_event(l, a.event_id) || judge(l, used, &a, &j) != DECIDE_PARK) {
                remove_undoable(l, l->parked, &arrival, sizeof(arrival));
                decide(l, used, &a, &d, &j, fn, arg);
                progress = 1;
            }
            mt_attested_release(&a);
            free(keep);
        }
        free(pl.v);
        if (l->oom) return -1;
    }
    /* expiry: too old, or too many (oldest first) */
    parked_list pl;
    if (parked_sorted(l, &pl)) return -1;
    size_t over = pl.n > l->conf.park_max ? pl.n - l->conf.park_max : 0;
    for (size_t i = 0; i < pl.n; i++) {
        parked *p = pl.v[i];
        if (i >= over && l->next_index - p->since_index <= l->conf.park_max_age) continue;
        parked *keep = clone(p);
        if (!keep) break;
        remove_undoable(l, l->parked, &keep->arrival, sizeof(keep->arrival));
        mt_attested a;
        mt_verdict v;
        mt_decision d = {.kind = MT_DECIDED_REJECTED, .bytes = keep->bytes, .len = keep->len,
                         .source_topic = keep->topic, .source_partition = keep->partition,
                         .source_offset = keep->offset};
        const mt_registry *used = NULL;
        judged jw;
        if (open_event(l, reg, network_id, keep->bytes, keep->len, keep->verified, &a, &v, &used, &jw) == 0) {
            memcpy(d.verdict.event_id, a.event_id, MT_HASH_LEN);
            d.verdict.has_event_id = 1;
            snprintf(d.verdict.facility_id, sizeof(d.verdict.facility_id), "%s", a.ev->facility_id);
        }
        mt_attested_release(&a);
        d.verdict.code = keep->gap == WAIT_SEQ    ? R(CHAIN_GAP)
                         : keep->gap == WAIT_EXIT ? R(NOT_EXITED)
                                                  : R(PARK_EXPIRED);
        snprintf(d.verdict.detail, sizeof(d.verdict.detail), "%s, and it did not come in time", keep->waits);
        /* not remembered as rejected: once what it waited for arrives, the same bytes may come again */
        emit(l, &d, fn, arg);
        free(keep);
    }
    free(pl.v);
    return l->oom ? -1 : 0;
}

int mt_ledger_offer(mt_ledger *l, const mt_registry *reg, const char *network_id, const uint8_t *bytes, size_t len,
                    const char *topic, int32_t partition, int64_t offset, mt_decision_fn fn, void *arg) {
    l->fallback = reg;
    l->network_id = network_id;
    mt_attested a;
    mt_decision d = {.bytes = bytes, .len = len, .source_topic = topic, .source_partition = partition,
                     .source_offset = offset};
    judged j;
    const mt_registry *used = NULL;
    int opened = open_event(l, reg, network_id, bytes, len, 0, &a, &d.verdict, &used, &j);
    if (opened == 1) {
        mt_attested_release(&a);
        if (park_event(l, &j, 0, bytes, len, topic, partition, offset)) return -1;
        return release_parked(l, reg, network_id, fn, arg);
    }
    if (opened == 2) {
        /* a bad attestation is never remembered by event id: a forged one must not block the
         * real event */
        mt_attested_release(&a);
        d.kind = MT_DECIDED_REJECTED;
        emit(l, &d, fn, arg);
        return l->oom ? -1 : 0;
    }
    int parked_now = decide(l, used, &a, &d, &j, fn, arg);
    mt_attested_release(&a);
    if (parked_now && park_event(l, &j, 1, bytes, len, topic, partition, offset)) return -1;
    return release_parked(l, reg, network_id, fn, arg);
}

/* Reads key id and seq of the event inside a submitted envelope, if it is one. */
static int envelope_chain(const uint8_t *bytes, size_t len, char key_id[MT_KEY_ID_LEN + 1], uint64_t *seq) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, len, bytes);
    Mintrace__V1__BatchEvent *ev =
        env && env->n_signatures ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    int ok = ev != NULL;
    if (ok) {
        snprintf(key_id, MT_KEY_ID_LEN + 1, "%s", env->signatures[0]->key_id);
        *seq = ev->seq;
    }
    if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return ok ? 0 : -1;
}

int mt_ledger_note_rejection(mt_ledger *l, const uint8_t *bytes, size_t len, const char *topic, int32_t partition,
                             int64_t offset, mt_decision_fn fn, void *arg) {
    mt_decision d = {.bytes = bytes, .len = len, .source_topic = topic, .source_partition = partition,
                     .source_offset = offset};
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, len, bytes);
    if (r && r->code == MINTRACE__V1__REASON_CODE__REASON_CODE_UNSPECIFIED) { /* not a Rejection any stage makes */
        mintrace__v1__rejection__free_unpacked(r, NULL);
        r = NULL;
    }
    if (!r) { /* garbage on the rejected topic is itself journaled as a rejection */
        d.kind = MT_DECIDED_REJECTED;
        mt_verdict_reject(&d.verdict, R(UNDECODABLE_ENVELOPE), "message on the rejected topic is not a Rejection");
        emit(l, &d, fn, arg);
        return l->oom ? -1 : 0;
    }
    char key_id[MT_KEY_ID_LEN + 1];
    uint64_t seq;
    if (r->event_id.len == MT_HASH_LEN && envelope_chain(r->original.data, r->original.len, key_id, &seq) == 0)
        record_rejected(l, r->event_id.data, key_id, seq, l->next_index);
    mintrace__v1__rejection__free_unpacked(r, NULL);
    d.kind = MT_NOTED_REJECTION;
    emit(l, &d, fn, arg);
    if (l->oom) return -1;
    /* a parked successor of the rejected event is decided now (CHAIN_BROKEN_BEFORE) */
    return l->network_id && mt_map_count(l->parked) ? release_parked(l, l->fallback, l->network_id, fn, arg) : 0;
}

int mt_ledger_note_registry(mt_ledger *l, const char *network_id, const uint8_t *bytes, size_t len, const char *topic,
                            int32_t partition, int64_t offset, mt_decision_fn fn, void *arg) {
    mt_decision d = {.bytes = bytes, .len = len, .source_topic = topic, .source_partition = partition,
                     .source_offset = offset};
    char err[256] = "no governance key is configured";
    mt_registry *reg = l->have_gov ? mt_registry_from_envelope(bytes, len, "registry", l->gov_pk, network_id, err,
                                                               sizeof(err))
                                   : NULL;
    uint64_t last = mt_ledger_registry_version(l);
    if (reg && l->n_regs && mt_registry_version(reg) != last + 1) {
        snprintf(err, sizeof(err), "version %" PRIu64 " does not follow version %" PRIu64, mt_registry_version(reg),
                 last);
        mt_registry_destroy(reg);
        reg = NULL;
    }
    if (reg && l->n_regs == l->cap_regs) {
        size_t cap = l->cap_regs ? l->cap_regs * 2 : 8;
        mt_registry **nr = realloc(l->regs, cap * sizeof(*nr));
        if (!nr) {
            mt_registry_destroy(reg);
            return -1;
        }
        l->regs = nr;
        l->cap_regs = cap;
    }
    if (!reg) {
        d.kind = MT_DECIDED_REJECTED;
        mt_verdict_reject(&d.verdict, R(BAD_REGISTRY), "%s", err);
        emit(l, &d, fn, arg);
        return l->oom ? -1 : 0;
    }
    l->regs[l->n_regs++] = reg;
    /* governance rotation: the version after this one is signed by the key it names */
    const Mintrace__V1__Registry *r = mt_registry_snapshot(reg);
    if (r->next_governance_public_key.len == MT_PK_LEN) memcpy(l->gov_pk, r->next_governance_public_key.data, MT_PK_LEN);
    d.kind = MT_DECIDED_REGISTRY;
    emit(l, &d, fn, arg);
    return release_parked(l, NULL, network_id, fn, arg);
}

/* ---- replay ---- */

typedef struct replay_check {
    uint64_t want_index;
    mt_decision_kind want;
    int ok;
    char why[256];
} replay_check;

static void check_decision(void *arg, const mt_decision *d) {
    replay_check *rc = arg;
    if (d->index != rc->want_index || d->kind != rc->want) {
        rc->ok = 0;
        snprintf(rc->why, sizeof(rc->why), "entry %" PRIu64 ": the rules decide %d at %" PRIu64 " (%s: %.120s)",
                 rc->want_index, (int)d->kind, d->index, mt_reason_name(d->verdict.code), d->verdict.detail);
    }
}

int mt_ledger_replay(mt_ledger *l, const mt_registry *reg, const char *network_id, const uint8_t *entry, size_t len,
                     char *errstr, size_t errstr_size) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, entry);
    if (!e) {
        snprintf(errstr, errstr_size, "journal entry %" PRIu64 " is not a LedgerEntry", l->next_index);
        return -1;
    }
    int rc = -1;
    if (e->index != l->next_index) {
        snprintf(errstr, errstr_size, "journal entry has index %" PRIu64 ", expected %" PRIu64, e->index, l->next_index);
        goto out;
    }
    replay_check chk = {.want_index = e->index, .ok = 1};
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        size_t blen;
        uint8_t *b = mt_message_pack(&e->event->base, &blen);
        mt_attested a;
        mt_decision d = {.bytes = b, .len = blen};
        judged j;
        chk.want = MT_DECIDED_ACCEPTED;
        const mt_registry *used = NULL;
        int opened = b ? open_event(l, reg, network_id, b, blen, 0, &a, &d.verdict, &used, &j) : 2;
        if (opened == 1) {
            snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": accepted, but %s", e->index, j.waits);
        } else if (opened == 2) {
            snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": %s", e->index, d.verdict.detail);
        } else if (decide(l, used, &a, &d, &j, check_decision, &chk) == 1) {
            snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": accepted, but %s", e->index, j.waits);
        } else if (!chk.ok) {
            snprintf(errstr, errstr_size, "%s", chk.why);
        } else {
            rc = 0;
        }
        mt_attested_release(&a);
        free(b);
    } else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION) {
        Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data);
        if (r && r->stage == MINTRACE__V1__STAGE__STAGE_AGGREGATE) {
            /* the aggregator's own verdict on attested bytes: remember the event, except a
             * park expiry or an attestation that did not open (bad, or for another network):
             * those may legitimately come again, and mt_ledger_offer() forgets them too */
            Mintrace__V1__AttestedEvent *ae = mintrace__v1__attested_event__unpack(NULL, r->original.len, r->original.data);
            char key_id[MT_KEY_ID_LEN + 1];
            uint64_t seq;
            if (ae && r->event_id.len == MT_HASH_LEN && r->code != R(CHAIN_GAP) && r->code != R(PARK_EXPIRED) &&
                r->code != R(NOT_EXITED) && r->code != R(BAD_ATTESTATION) && r->code != R(WRONG_NETWORK) &&
                envelope_chain(ae->envelope.data, ae->envelope.len, key_id, &seq) == 0)
                record_rejected(l, r->event_id.data, key_id, seq, l->next_index);
            if (ae) mintrace__v1__attested_event__free_unpacked(ae, NULL);
            l->next_index++;
            rc = 0;
        } else {
            chk.want = MT_NOTED_REJECTION;
            rc = mt_ledger_note_rejection(l, e->rejection.data, e->rejection.len, "", 0, 0, check_decision, &chk);
            if (!r) { /* garbage, journaled by the aggregator: an index and nothing else */
                rc = 0;
            } else if (!chk.ok) {
                snprintf(errstr, errstr_size, "%s", chk.why);
                rc = -1;
            }
        }
        if (r) mintrace__v1__rejection__free_unpacked(r, NULL);
    } else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE) {
        chk.want = MT_DECIDED_REGISTRY;
        rc = mt_ledger_note_registry(l, network_id, e->registry_change.data, e->registry_change.len, "", 0, 0,
                                     check_decision, &chk);
        if (rc == 0 && !chk.ok) {
            snprintf(errstr, errstr_size, "%s", chk.why);
            rc = -1;
        }
    } else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE) {
        l->next_index++;
        rc = 0;
    } else {
        snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": an entry of a kind this version does not know",
                 e->index);
    }
out:
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    if (l->oom) rc = -1;
    return rc;
}

/* ---- queries ---- */

size_t mt_ledger_parked(const mt_ledger *l) {
    return mt_map_count(l->parked);
}

typedef struct low_q {
    const char *topic;
    int32_t partition;
    int64_t low;
} low_q;

static void low_one(void *arg, const void *key, size_t klen, void *value) {
    (void)key;
    (void)klen;
    low_q *q = arg;
    const parked *p = value;
    if (p->partition == q->partition && strcmp(p->topic, q->topic) == 0 && (q->low < 0 || p->offset < q->low))
        q->low = p->offset;
}

int64_t mt_ledger_parked_low_offset(const mt_ledger *l, const char *topic, int32_t partition) {
    low_q q = {topic, partition, -1};
    mt_map_foreach(l->parked, low_one, &q);
    return q.low;
}

typedef struct inv_q {
    const char *facility;
    void (*fn)(void *arg, const mt_holding *h);
    void *arg;
} inv_q;

static void inv_one(void *arg, const void *key, size_t klen, void *value) {
    (void)key;
    (void)klen;
    inv_q *q = arg;
    const batch *b = value;
    if (b->voided || b->mass_mg == 0) return;
    if (strcmp(b->holder, q->facility) && strcmp(b->transit_to, q->facility)) return;
    mt_holding h = {b->id, b->material, b->holder, b->transit_to[0] ? b->transit_to : NULL, b->mass_mg};
    q->fn(q->arg, &h);
}

void mt_ledger_inventory(const mt_ledger *l, const char *facility_id, void (*fn)(void *arg, const mt_holding *h),
                         void *arg) {
    inv_q q = {facility_id, fn, arg};
    mt_map_foreach(l->batches, inv_one, &q);
}

/* ---- provenance ---- */

const mt_prov *mt_ledger_provenance(const mt_ledger *l, const char *batch_id) {
    return get_prov(l, batch_id);
}

const mt_prov *mt_ledger_exited(const mt_ledger *l, const char *batch_id) {
    return get_exited(l, batch_id);
}

Mintrace__V1__ProvenanceRecord *mt_ledger_provenance_record(const mt_ledger *l, const char *batch_id) {
    const batch *b = get_batch(l, batch_id);
    const mt_prov *p = get_prov(l, batch_id);
    if (!b || !p) return NULL;
    mt_prov_meta meta = {.batch_id = b->id,
                         .material = b->material,
                         .holder_facility_id = b->transit_to[0] ? b->transit_to : b->holder,
                         .ledger_index = b->prov_index,
                         .state_position = b->position,
                         .in_transit = b->transit_to[0] != '\0',
                         .holder_role = (Mintrace__V1__FacilityRole)b->holder_role};
    Mintrace__V1__ProvenanceRecord *rec = mt_prov_record_new(p, &meta);
    const mt_prov *claim = get_claim(l, batch_id);
    if (rec && claim) mt_massbal_record(rec, claim);
    return rec;
}

const mt_prov *mt_ledger_claim(const mt_ledger *l, const char *batch_id) {
    return get_claim(l, batch_id);
}

const mt_massbal_account *mt_ledger_account(const mt_ledger *l, const char *facility_id) {
    return mt_map_get(l->accounts, facility_id, strlen(facility_id));
}

int mt_ledger_provenance_root(const mt_ledger *l, unsigned char out[MT_HASH_LEN]) {
    return mt_state_tree_root(l->tree, out);
}

int mt_ledger_provenance_proof(const mt_ledger *l, const char *batch_id, uint64_t *leaf_index, uint64_t *leaf_count,
                               unsigned char (*path)[MT_HASH_LEN], size_t *path_len) {
    const batch *b = get_batch(l, batch_id);
    if (!b) return 1;
    *leaf_index = b->position;
    *leaf_count = mt_state_tree_size(l->tree);
    return mt_state_tree_proof(l->tree, b->position, path, path_len);
}

/* ---- what the state costs ---- */

typedef struct bytes_q {
    uint64_t bytes;
} bytes_q;

static void bytes_one(void *arg, const void *key, size_t klen, void *value) {
    (void)key;
    bytes_q *q = arg;
    q->bytes += klen + *(const size_t *)value;
}

void mt_ledger_stats(const mt_ledger *l, mt_ledger_stats_t *st) {
    memset(st, 0, sizeof(*st));
    mt_map *const maps[] = {l->batches, l->prov, l->claims, l->events, l->takes, l->ctakes,
                            l->memos,   l->exited, l->chains, l->parked, l->accounts};
    size_t *const counts[] = {&st->batches, &st->prov,   &st->claims, &st->events, &st->takes,   &st->ctakes,
                              &st->memos,   &st->exited, &st->chains, &st->parked, &st->accounts};
    bytes_q q = {0};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        *counts[i] = mt_map_count(maps[i]);
        mt_map_foreach(maps[i], bytes_one, &q);
    }
    st->ram_bytes = q.bytes;
    if (!l->sp) return;
    uint64_t *const stored[] = {&st->spilled_batches, &st->spilled_prov,  &st->spilled_claims, &st->spilled_events,
                                &st->spilled_takes,   &st->spilled_ctakes, &st->spilled_memos,  &st->spilled_exited};
    for (int i = 0; i < 8; i++) *stored[i] = l->sp->stored[i];
    st->store_entries = mt_store_count(l->sp->store);
    st->store_disk_bytes = mt_store_disk_bytes(l->sp->store);
    st->store_errors = l->sp->io_errors;
}

/* ---- for the auditor ---- */

const mt_registry *mt_ledger_registry(const mt_ledger *l, uint64_t version) {
    for (size_t i = l->n_regs; i-- > 0;)
        if (!version || mt_registry_version(l->regs[i]) == version) return l->regs[i];
    return NULL;
}
