/* simulate — a deterministic rare-earth supply chain: facilities, keys, and signed events. */
#include "simulate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "event.h"
#include "provenance.h"
#include "registry.h"

#define K(name) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##name

/* Mines first, by index; chain i uses mine i % N_MINES and the plants of its region. */
static const mt_sim_facility facilities[] = {
    {"NOTARY-1", "NOTARY", "IN", "IN-DL", "mintrace notary"},
    {"AGGREGATOR-1", "AGGREGATOR", "IN", "IN-DL", "mintrace aggregator"},
    {"IN-IREL-CHAVARA", "MINE", "IN", "IN-KL", "IREL Chavara beach-sand monazite"},
    {"IN-IREL-MK", "MINE", "IN", "IN-TN", "IREL Manavalakurichi monazite"},
    {"IN-IREL-CHATRAPUR", "MINE", "IN", "IN-OR", "IREL Chatrapur monazite"},
    {"IN-AP-BHIMUNI", "MINE", "IN", "IN-AP", "Bhimunipatnam beach sands"},
    {"BR-INB-BUENA", "MINE", "BR", "BR-RJ", "INB Buena monazite"},
    {"AU-MTWELD", "MINE", "AU", "AU-WA", "Mount Weld carbonatite"},
    {"CN-BAYAN-OBO", "MINE", "CN", "CN-NM", "Bayan Obo bastnaesite"},
    {"MM-KACHIN", "MINE", "MM", "MM-11", "Kachin ionic clay"},
    {"IN-IREL-OSCOM", "REFINER", "IN", "IN-OR", "IREL OSCOM separation"},
    {"MY-KUANTAN", "REFINER", "MY", "MY-06", "Kuantan separation"},
    {"CN-BAOTOU", "REFINER", "CN", "CN-NM", "Baotou separation"},
    {"IN-MAG-HYD", "MAGNET_MAKER", "IN", "IN-TG", "sintered NdFeB magnets, Telangana"},
    {"JP-MAG-OSAKA", "MAGNET_MAKER", "JP", "JP-27", "sintered NdFeB magnets, Osaka"},
    {"IN-REC-PUNE", "RECYCLER", "IN", "IN-MH", "magnet recycling, Maharashtra"},
    {"JP-REC-KITAKYUSHU", "RECYCLER", "JP", "JP-40", "magnet recycling, Kitakyushu"},
    {"IN-REC-MB", "RECYCLER", "IN", "IN-KA", "magnet recycling under mass balance, Karnataka"},
};
#define N_FAC (sizeof(facilities) / sizeof(facilities[0]))
#define FIRST_MINE 2
#define N_MINES 8

/* Element content of each mine's concentrate, per mille of its mass: Nd, Pr, Dy. */
static const int grade[N_MINES][3] = {{95, 26, 0}, {95, 26, 0}, {90, 25, 0}, {92, 25, 0},
                                      {94, 26, 0}, {110, 30, 1}, {85, 27, 0}, {40, 10, 5}};
static const char *const mineral[N_MINES] = {"monazite", "monazite", "monazite", "monazite",
                                             "monazite", "monazite", "bastnaesite", "ionic-clay"};

size_t mt_sim_facilities(const mt_sim_facility **out) {
    *out = facilities;
    return N_FAC;
}

int mt_sim_key(uint64_t seed, const char *id, mt_keypair *kp) {
    unsigned char buf[256], s[MT_SEED_LEN];
    int n = snprintf((char *)buf, sizeof(buf), "mintrace-sim %llu %s", (unsigned long long)seed, id);
    mt_hash(buf, (size_t)n, s);
    return mt_keypair_from_seed(kp, s);
}

/* Extra keys of one facility, for attacks: "#gap" and "#park" are valid emitters of their own
 * chains, "#revoked" was revoked and "#expired" expired at the epoch's first millisecond. */
#define EXTRA_FAC "IN-REC-PUNE"
#define MB_FAC "IN-REC-MB" /* under mass balance (docs/accounting.md section 7); "#2" is its second emitter */
enum { X_GAP, X_PARK, X_REVOKED, X_EXPIRED, X_MB2, N_EXTRA };
static const char *const extra_name[N_EXTRA] = {"IN-REC-PUNE#gap", "IN-REC-PUNE#park", "IN-REC-PUNE#revoked",
                                                "IN-REC-PUNE#expired", "IN-REC-MB#2"};

int mt_sim_registry(uint64_t seed, const char *network_id, uint8_t **out, size_t *outlen) {
    Mintrace__V1__FacilityRecord recs[N_FAC], *rp[N_FAC];
    Mintrace__V1__FacilityKey keys[N_FAC + N_EXTRA], *kp[N_FAC + N_EXTRA];
    Mintrace__V1__Site sites[N_FAC];
    mt_keypair k[N_FAC + N_EXTRA], gov;
    size_t nk = 0;
    for (size_t i = 0; i < N_FAC; i++) {
        const mt_sim_facility *f = &facilities[i];
        size_t first = nk, idlen = strlen(f->id);
        for (int x = -1; x < N_EXTRA; x++) {
            if (x >= 0 && (strncmp(extra_name[x], f->id, idlen) || extra_name[x][idlen] != '#')) continue;
            if (mt_sim_key(seed, x < 0 ? f->id : extra_name[x], &k[nk])) return -1;
            mintrace__v1__facility_key__init(&keys[nk]);
            keys[nk].key_id = k[nk].key_id;
            keys[nk].public_key = (ProtobufCBinaryData){MT_PK_LEN, k[nk].pk};
            if (x == X_REVOKED) keys[nk].revoked_at_ms = 1;
            if (x == X_EXPIRED) keys[nk].valid_until_ms = 1;
            kp[nk] = &keys[nk];
            nk++;
        }
        mintrace__v1__facility_record__init(&recs[i]);
        mintrace__v1__site__init(&sites[i]);
        sites[i].country = (char *)f->country;
        sites[i].region = (char *)f->region;
        sites[i].name = (char *)f->name;
        char role[64];
        snprintf(role, sizeof(role), "FACILITY_ROLE_%s", f->role);
        recs[i].facility_id = (char *)f->id;
        recs[i].version = 1;
        recs[i].name = (char *)f->name;
        recs[i].role = protobuf_c_enum_descriptor_get_value_by_name(&mintrace__v1__facility_role__descriptor, role)->value;
        recs[i].site = &sites[i];
        if (strcmp(f->id, MB_FAC) == 0) recs[i].accounting_method = MINTRACE__V1__ACCOUNTING_METHOD__ACCOUNTING_METHOD_MASS_BALANCE;
        recs[i].n_keys = nk - first;
        recs[i].keys = &kp[first];
        rp[i] = &recs[i];
    }
    Mintrace__V1__Registry r = MINTRACE__V1__REGISTRY__INIT;
    r.network_id = (char *)network_id;
    r.version = 1;
    r.n_facilities = N_FAC;
    r.facilities = rp;
    char err[128];
    int rc = mt_sim_key(seed, "governance", &gov) || mt_registry_sign(&r, &gov, out, outlen, err, sizeof(err));
    for (size_t i = 0; i < nk; i++) mt_keypair_wipe(&k[i]);
    mt_keypair_wipe(&gov);
    return rc ? -1 : 0;
}

/* ---- the events ---- */

typedef struct chainkey { /* a signing key's chain */
    mt_keypair kp;
    uint64_t seq;
    unsigned char head[MT_HASH_LEN];
} chainkey;

typedef struct loop { /* one closed loop's state between steps */
    int mine, refiner, maker, recycler;
    int attack, returns, correct; /* attack kind or -1; whether magnets come back; a double entry */
    uint64_t ore, nd, pr, dy, received, ox, ox_nd, ox_pr, ox_dy, mag, mag_nd, mag_pr, sw, sw_nd, sw_pr;
    uint64_t rec, rec_nd, rec_pr, eol, eol_nd, eol_pr;
    /* what stays in stock, exactly as the ledger holds it (mt_prov_share() of every take): ore
     * the plant keeps for the next loop's batch, oxide the maker keeps for its second generation */
    uint64_t ore_m, ore_nd, ore_pr, ore_dy, oxl, oxl_nd, oxl_pr;
    uint64_t adv, adv_nd; /* the mine's small batch that attacks use */
    int64_t adv_time;
    size_t extract_env; /* index of the loop's EXTRACT envelope (duplicates copy it) */
    unsigned char transfer[MT_HASH_LEN];
} loop;

typedef struct envelope {
    uint8_t *bytes;
    size_t len;
    const char *facility;
    int expect; /* 0 accepted, -1 duplicate, else the reason code */
} envelope;

#define N_KEYS (N_FAC + N_EXTRA)
struct mt_sim {
    uint64_t seed, rng;
    const char *network_id;
    int64_t time_ms;
    chainkey keys[N_KEYS];
    mt_keypair rogue; /* a key the registry never heard of */
    envelope *out;
    size_t n, cap, next;
    mt_sim_counts counts;
    size_t last_parkwait; /* envelope index + 1 of the last event waiting for the park bound */
    int next_attack;
};

static uint64_t rnd(mt_sim *s, uint64_t lo, uint64_t hi) { /* splitmix64: fixed, portable */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return lo + z % (hi - lo + 1);
}

static size_t fac_index(const char *id) {
    for (size_t i = 0; i < N_FAC; i++)
        if (strcmp(facilities[i].id, id) == 0) return i;
    return 0;
}

#define R(code) MINTRACE__V1__REASON_CODE__REASON_CODE_##code

/* Appends an envelope (taking bytes) submitted under the key `facility`, and counts what the
 * pipeline must decide for it. */
static int append(mt_sim *s, uint8_t *bytes, size_t len, const char *facility, int expect) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        envelope *nv = realloc(s->out, cap * sizeof(*nv));
        if (!nv) {
            free(bytes);
            return -1;
        }
        s->out = nv;
        s->cap = cap;
    }
    s->out[s->n++] = (envelope){bytes, len, facility, expect};
    s->counts.submitted++;
    if (expect == 0)
        s->counts.accepted++;
    else if (expect < 0)
        s->counts.duplicates++;
    else {
        s->counts.rejected++;
        s->counts.by_code[expect]++;
        if (expect == R(CHAIN_GAP) || expect == R(PARK_EXPIRED)) {
            s->counts.park_waiting++;
            s->last_parkwait = s->n;
        }
    }
    return 0;
}

/* Packs ev, seals it with kp as a facility signature and appends it; id_out (may be NULL) gets
 * the event id. */
static int seal(mt_sim *s, const mt_keypair *kp, Mintrace__V1__BatchEvent *ev, const char *key, int expect,
                unsigned char id_out[MT_HASH_LEN]) {
    size_t plen, len;
    uint8_t *payload = mt_message_pack(&ev->base, &plen), *env;
    if (!payload) return -1;
    if (id_out) mt_hash(payload, plen, id_out);
    int rc = mt_envelope_seal(kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen, &env,
                              &len);
    free(payload);
    return rc ? -1 : append(s, env, len, key, expect);
}

/* Signs ev as facility f (filling network, facility, seq, prev, time, site), advances its chain
 * and appends it as an event to be accepted. */
static int add(mt_sim *s, size_t f, Mintrace__V1__BatchEvent *ev, unsigned char id_out[MT_HASH_LEN]) {
    chainkey *c = &s->keys[f];
    Mintrace__V1__Site site = MINTRACE__V1__SITE__INIT;
    site.country = (char *)facilities[f].country;
    site.region = (char *)facilities[f].region;
    ev->network_id = (char *)s->network_id;
    ev->facility_id = (char *)facilities[f].id;
    ev->seq = ++c->seq;
    ev->prev = c->seq == 1 ? (ProtobufCBinaryData){0, NULL} : (ProtobufCBinaryData){MT_HASH_LEN, c->head};
    ev->time_ms = (s->time_ms += 60000);
    ev->site = &site;
    if (seal(s, &c->kp, ev, facilities[f].id, 0, c->head)) return -1; /* prev is packed before head changes */
    if (id_out) memcpy(id_out, c->head, MT_HASH_LEN);
    return 0;
}

/* Small builders: everything lives on the stack of the step that signs it. */
typedef struct elems {
    Mintrace__V1__ElementMass m[4], *p[4];
    size_t n;
} elems;

static void el(elems *e, const char *sym, uint64_t mg) {
    if (!mg) return;
    mintrace__v1__element_mass__init(&e->m[e->n]);
    e->m[e->n].element = (char *)sym;
    e->m[e->n].mass_mg = mg;
    e->p[e->n] = &e->m[e->n];
    e->n++;
}

typedef struct io {
    Mintrace__V1__BatchInput in[2], *pin[2];
    Mintrace__V1__BatchOutput out[2], *pout[2];
    elems oel[2];
    char ids[4][96];
} io;

static void input(Mintrace__V1__BatchEvent *ev, io *x, const char *batch, uint64_t mg) {
    size_t i = ev->n_inputs++;
    mintrace__v1__batch_input__init(&x->in[i]);
    snprintf(x->ids[i], sizeof(x->ids[i]), "%s", batch);
    x->in[i].batch_id = x->ids[i];
    x->in[i].mass_mg = mg;
    x->pin[i] = &x->in[i];
    ev->inputs = x->pin;
}

static elems *output(Mintrace__V1__BatchEvent *ev, io *x, const char *batch, const char *material, uint64_t mg) {
    size_t i = ev->n_outputs++;
    mintrace__v1__batch_output__init(&x->out[i]);
    snprintf(x->ids[2 + i], sizeof(x->ids[2 + i]), "%s", batch);
    x->out[i].batch_id = x->ids[2 + i];
    x->out[i].material = (char *)material;
    x->out[i].mass_mg = mg;
    x->pout[i] = &x->out[i];
    ev->outputs = x->pout;
    x->oel[i].n = 0;
    return &x->oel[i];
}

static void seal_outputs(io *x, Mintrace__V1__BatchEvent *ev) {
    for (size_t i = 0; i < ev->n_outputs; i++) {
        x->out[i].n_elements = x->oel[i].n;
        x->out[i].elements = x->oel[i].p;
    }
}

static int transfer(mt_sim *s, size_t from, const char *batch, uint64_t mg, size_t to, unsigned char id[MT_HASH_LEN]) {
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__TransferDetail t = MINTRACE__V1__TRANSFER_DETAIL__INIT;
    io x;
    ev.kind = K(TRANSFER);
    input(&ev, &x, batch, mg);
    t.destination_facility_id = (char *)facilities[to].id;
    t.carrier = strcmp(facilities[from].country, facilities[to].country) ? "sea freight" : "road";
    ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER;
    ev.transfer = &t;
    return add(s, from, &ev, id);
}

static int receive(mt_sim *s, size_t at, const char *batch, uint64_t mg, size_t from, unsigned char id[MT_HASH_LEN]) {
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__ReceiveDetail r = MINTRACE__V1__RECEIVE_DETAIL__INIT;
    io x;
    ev.kind = K(RECEIVE);
    input(&ev, &x, batch, mg);
    r.transfer_event_id = (ProtobufCBinaryData){MT_HASH_LEN, id};
    r.origin_facility_id = (char *)facilities[from].id;
    ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE;
    ev.receive = &r;
    return add(s, at, &ev, NULL);
}

/* The mass that arrives of mg shipped from one facility to another: a cross-border shipment
 * (sea freight, transhipment) loses lo_x..hi_x ppm, a domestic one lo..hi ppm. */
static uint64_t arrives(mt_sim *s, size_t from, size_t to, uint64_t mg, uint64_t lo, uint64_t hi, uint64_t lo_x,
                        uint64_t hi_x) {
    int cross = strcmp(facilities[from].country, facilities[to].country) != 0;
    return mg - mg / 1000000 * rnd(s, cross ? lo_x : lo, cross ? hi_x : hi);
}

/* Untracked iron and ferroboron for making `fe` mg of iron and `b` mg of boron into magnets. */
static void alloying(Mintrace__V1__BatchEvent *ev, Mintrace__V1__UntrackedInput u[2], Mintrace__V1__UntrackedInput *pu[2],
                     elems ue[2], uint64_t fe, uint64_t b) {
    uint64_t feb_b = b + b / 50 + 1, feb_fe = feb_b * 4;
    mintrace__v1__untracked_input__init(&u[0]);
    mintrace__v1__untracked_input__init(&u[1]);
    ue[0].n = ue[1].n = 0;
    el(&ue[0], "Fe", fe + fe / 100 + 1);
    el(&ue[1], "Fe", feb_fe);
    el(&ue[1], "B", feb_b);
    u[0].material = "electrolytic-iron";
    u[0].mass_mg = fe + fe / 100 + 1;
    u[0].supplier = "an iron supplier";
    u[1].material = "ferroboron";
    u[1].mass_mg = feb_b + feb_fe;
    u[1].supplier = "a ferroboron supplier";
    for (int i = 0; i < 2; i++) {
        u[i].n_elements = ue[i].n;
        u[i].elements = ue[i].p;
        pu[i] = &u[i];
    }
    ev->n_untracked_inputs = 2;
    ev->untracked_inputs = pu;
}

/* Magnets made of oxide (one or two batches) holding nd and pr: 95 % of its rare earths, 30 % of
 * the magnet. */
static int magnets(mt_sim *s, loop *L, const char *from, uint64_t from_mg, const char *from2, uint64_t from2_mg,
                   const char *batch, uint64_t rnd_nd, uint64_t rnd_pr) {
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__UntrackedInput u[2], *pu[2];
    elems ue[2];
    io x;
    uint64_t nd = rnd_nd * 95 / 100, pr = rnd_pr * 95 / 100, mag = (nd + pr) * 100 / 30;
    ev.kind = K(MANUFACTURE);
    input(&ev, &x, from, from_mg);
    if (from2 && from2_mg) input(&ev, &x, from2, from2_mg);
    elems *o = output(&ev, &x, batch, "sintered-NdFeB-magnet", mag);
    el(o, "Nd", nd);
    el(o, "Pr", pr);
    el(o, "Fe", mag * 69 / 100);
    el(o, "B", mag / 100);
    seal_outputs(&x, &ev);
    alloying(&ev, u, pu, ue, mag * 69 / 100, mag / 100);
    return add(s, (size_t)L->maker, &ev, NULL);
}

/* A small EXTRACT of the mine's own; the attacks that need a batch use it. */
static int extract(mt_sim *s, loop *L, const char *batch, uint64_t mass, uint64_t nd, uint64_t pr, uint64_t dy) {
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__ExtractDetail d = MINTRACE__V1__EXTRACT_DETAIL__INIT;
    io x;
    int m = L->mine - FIRST_MINE;
    ev.kind = K(EXTRACT);
    elems *o = output(&ev, &x, batch, "concentrate", mass);
    el(o, "Nd", nd);
    el(o, "Pr", pr);
    el(o, "Dy", dy);
    seal_outputs(&x, &ev);
    d.deposit = (char *)facilities[L->mine].name;
    d.mineral = (char *)mineral[m];
    ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
    ev.extract = &d;
    return add(s, (size_t)L->mine, &ev, NULL);
}

/* ---- attacks: one per adversarial loop, every reason a producer's event can meet in turn ---- */

enum {
    A_DUPLICATE, A_UNDECODABLE_ENVELOPE, A_WRONG_PAYLOAD_TYPE, A_UNDECODABLE_PAYLOAD, A_MISSING_SIGNATURE,
    A_UNKNOWN_KEY, A_BAD_SIGNATURE, A_KEY_FACILITY_MISMATCH, A_KEY_REVOKED, A_KEY_NOT_VALID, A_WRONG_NETWORK,
    A_MALFORMED_EVENT, A_ROLE_NOT_ALLOWED, A_CHAIN_FORK, A_CHAIN_EQUIVOCATION, A_CHAIN_BROKEN_BEFORE, A_UNKNOWN_INPUT,
    A_NOT_CUSTODIAN, A_IN_TRANSIT, A_OVERDRAWN, A_DUPLICATE_BATCH_ID, A_ELEMENT_NOT_CONSERVED, A_TIME_BEFORE_INPUTS,
    A_TIME_IN_FUTURE, A_INVALID_CORRECTION, A_CHAIN_GAP, A_PARK_EXPIRED, A_ALLOCATION_EXCEEDS_OUTPUT,
    A_CREDIT_OVERDRAWN, A_MASS_BALANCE_WRONG_KEY, A_BALANCE_MISMATCH, A_NOT_UNDER_MASS_BALANCE, N_ATTACKS
};

/* A RECYCLE of `kg` kg of untracked end-of-life magnets (post-consumer: 25 % Nd) or of
 * dysprosium-rich swarf bought outside (pre-consumer: 25 % Nd, 1 % Dy) by the mass-balance
 * recycler, 90 % recovered into batch (so only pre-consumer feedstock ever earns Dy credit); alloc_el, when set, allocates alloc mg of that element's credit of
 * class alloc_post (1) or pre (0) to the output. Signed by key (its chain, not advanced unless
 * expect is 0). */
static int mb_recycle(mt_sim *s, size_t key, const char *batch, uint64_t kg, int post, const char *alloc_el,
                      uint64_t alloc, int alloc_post, int expect) {
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__RecycleDetail d = MINTRACE__V1__RECYCLE_DETAIL__INIT;
    Mintrace__V1__RecycledCredit rc = MINTRACE__V1__RECYCLED_CREDIT__INIT, *prc = &rc;
    Mintrace__V1__Site site = MINTRACE__V1__SITE__INIT;
    elems fs = {.n = 0};
    io x;
    size_t f = fac_index(MB_FAC);
    uint64_t mass = kg * 1000000, nd = mass / 4, dy = post ? 0 : mass / 100;
    el(&fs, "Nd", nd);
    el(&fs, "Dy", dy);
    ev.kind = K(RECYCLE);
    elems *o = output(&ev, &x, batch, "NdDy-oxide", (nd + dy) * 9 / 10 * 1000 / 857);
    el(o, "Nd", nd * 9 / 10);
    el(o, "Dy", dy * 9 / 10);
    x.out[0].recycled_class = post ? MINTRACE__V1__RECYCLED_CLASS__RECYCLED_CLASS_POST_CONSUMER
                                   : MINTRACE__V1__RECYCLED_CLASS__RECYCLED_CLASS_PRE_CONSUMER;
    if (alloc_el) {
        rc.element = (char *)alloc_el;
        *(alloc_post ? &rc.post_consumer_mg : &rc.pre_consumer_mg) = alloc;
        x.out[0].n_allocations = 1;
        x.out[0].allocations = &prc;
    }
    seal_outputs(&x, &ev);
    d.feedstock = post ? MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_POST_CONSUMER
                       : MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_PRE_CONSUMER;
    d.untracked_feedstock_mass_mg = mass;
    d.n_untracked_feedstock = fs.n;
    d.untracked_feedstock = fs.p;
    ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE;
    ev.recycle = &d;
    if (expect == 0) return add(s, f, &ev, NULL);
    chainkey *c = &s->keys[key];
    site.country = (char *)facilities[f].country;
    site.region = (char *)facilities[f].region;
    ev.network_id = (char *)s->network_id;
    ev.facility_id = (char *)facilities[f].id;
    ev.seq = c->seq + 1;
    ev.prev = c->seq ? (ProtobufCBinaryData){MT_HASH_LEN, c->head} : (ProtobufCBinaryData){0, NULL};
    ev.time_ms = (s->time_ms += 60000);
    ev.site = &site;
    return seal(s, &c->kp, &ev, MB_FAC, expect, NULL);
}

/* A LOSS of mg of batch, as facility f's next event (seq and prev from its chain, not advanced);
 * the caller may change any field before sealing. */
static void loss(mt_sim *s, Mintrace__V1__BatchEvent *ev, Mintrace__V1__LossDetail *d, Mintrace__V1__Site *site,
                 io *x, size_t f, const char *batch, uint64_t mg, const char *why) {
    chainkey *c = &s->keys[f];
    site->country = (char *)facilities[f].country;
    site->region = (char *)facilities[f].region;
    ev->network_id = (char *)s->network_id;
    ev->facility_id = (char *)facilities[f].id;
    ev->seq = c->seq + 1;
    ev->prev = (ProtobufCBinaryData){MT_HASH_LEN, c->head};
    ev->time_ms = (s->time_ms += 60000);
    ev->site = site;
    ev->kind = K(LOSS);
    input(ev, x, batch, mg);
    d->reason = (char *)why;
    ev->detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_LOSS;
    ev->loss = d;
}

/* Bytes that are an Envelope by a key but not what validate wants: no signature, or another
 * payload type, or a payload that is not a BatchEvent. */
static int odd_envelope(mt_sim *s, const mt_keypair *kp, const char *type, const void *payload, size_t plen,
                        int signed_, const char *key, int expect) {
    uint8_t *env;
    size_t len;
    if (signed_) {
        if (mt_envelope_seal(kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, type, payload, plen, &env, &len))
            return -1;
        return append(s, env, len, key, expect);
    }
    Mintrace__V1__Envelope e = MINTRACE__V1__ENVELOPE__INIT;
    e.payload_type = (char *)type;
    e.payload = (ProtobufCBinaryData){plen, (uint8_t *)payload};
    if (!(env = mt_message_pack(&e.base, &len))) return -1;
    return append(s, env, len, key, expect);
}

/* The attack of loop L; see docs/simulate.md for what each one is and why its code is certain
 * whatever the order in which validate's partitions deliver. */
static int attack(mt_sim *s, loop *L, int chain) {
    size_t m = (size_t)L->mine, r = (size_t)L->refiner;
    const char *mine = facilities[m].id;
    char adv[64], other[96];
    snprintf(adv, sizeof(adv), "%s-ADV-%06d", mine, chain);
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    Mintrace__V1__LossDetail d = MINTRACE__V1__LOSS_DETAIL__INIT;
    Mintrace__V1__Site site = MINTRACE__V1__SITE__INIT;
    io x;
    unsigned char h[MT_HASH_LEN];
    s->counts.attacks++;
    switch (L->attack) {
    case A_DUPLICATE: { /* the loop's EXTRACT again, byte for byte (a producer's retry) */
        const envelope *e = &s->out[L->extract_env];
        uint8_t *copy = malloc(e->len);
        if (!copy) return -1;
        memcpy(copy, e->bytes, e->len);
        return append(s, copy, e->len, e->facility, -1);
    }
    case A_UNDECODABLE_ENVELOPE: {
        uint8_t *junk = malloc(15);
        if (!junk) return -1;
        memcpy(junk, "not an envelope", 15);
        return append(s, junk, 15, mine, R(UNDECODABLE_ENVELOPE));
    }
    case A_WRONG_PAYLOAD_TYPE:
    case A_MISSING_SIGNATURE: {
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        size_t plen;
        uint8_t *p = mt_message_pack(&ev.base, &plen);
        if (!p) return -1;
        int rc = L->attack == A_MISSING_SIGNATURE
                     ? odd_envelope(s, NULL, MT_PAYLOAD_EVENT, p, plen, 0, mine, R(MISSING_SIGNATURE))
                     : odd_envelope(s, &s->keys[m].kp, MT_PAYLOAD_RECEIPT, p, plen, 1, mine, R(WRONG_PAYLOAD_TYPE));
        free(p);
        return rc;
    }
    case A_UNDECODABLE_PAYLOAD:
        return odd_envelope(s, &s->keys[m].kp, MT_PAYLOAD_EVENT, "\xff\xff\xff\xff", 4, 1, mine, R(UNDECODABLE_PAYLOAD));
    case A_UNKNOWN_KEY:
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        return seal(s, &s->rogue, &ev, mine, R(UNKNOWN_KEY), NULL);
    case A_BAD_SIGNATURE: { /* one byte of the signed payload changed on the way */
        loss(s, &ev, &d, &site, &x, m, adv, 1, "tamper-me");
        if (seal(s, &s->keys[m].kp, &ev, mine, R(BAD_SIGNATURE), NULL)) return -1;
        envelope *e = &s->out[s->n - 1];
        for (size_t i = 0; i + 9 <= e->len; i++)
            if (memcmp(e->bytes + i, "tamper-me", 9) == 0) {
                e->bytes[i + 8] = 'E';
                return 0;
            }
        return -1;
    }
    case A_KEY_FACILITY_MISMATCH: /* the mine's key signs an event of the refiner */
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.facility_id = (char *)facilities[r].id;
        ev.seq = 1;
        ev.prev = (ProtobufCBinaryData){0, NULL};
        return seal(s, &s->keys[m].kp, &ev, facilities[r].id, R(KEY_FACILITY_MISMATCH), NULL);
    case A_KEY_REVOKED:
    case A_KEY_NOT_VALID: {
        size_t f = fac_index(EXTRA_FAC);
        int k = L->attack == A_KEY_REVOKED ? X_REVOKED : X_EXPIRED;
        loss(s, &ev, &d, &site, &x, f, adv, 1, "dust");
        ev.seq = 1;
        ev.prev = (ProtobufCBinaryData){0, NULL};
        return seal(s, &s->keys[N_FAC + k].kp, &ev, EXTRA_FAC, k == X_REVOKED ? R(KEY_REVOKED) : R(KEY_NOT_VALID), NULL);
    }
    case A_WRONG_NETWORK:
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.network_id = "another-network";
        return seal(s, &s->keys[m].kp, &ev, mine, R(WRONG_NETWORK), NULL);
    case A_MALFORMED_EVENT: /* a LOSS of 0 mg */
        loss(s, &ev, &d, &site, &x, m, adv, 0, "nothing");
        return seal(s, &s->keys[m].kp, &ev, mine, R(MALFORMED_EVENT), NULL);
    case A_ROLE_NOT_ALLOWED: { /* the separation plant claims to have mined ore */
        Mintrace__V1__ExtractDetail xd = MINTRACE__V1__EXTRACT_DETAIL__INIT;
        loss(s, &ev, &d, &site, &x, r, adv, 1, "");
        ev.kind = K(EXTRACT);
        ev.n_inputs = 0;
        snprintf(other, sizeof(other), "%s-FAKE-ORE-%06d", facilities[r].id, chain);
        output(&ev, &x, other, "concentrate", 1000000);
        seal_outputs(&x, &ev);
        xd.deposit = "none";
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
        ev.extract = &xd;
        return seal(s, &s->keys[r].kp, &ev, facilities[r].id, R(ROLE_NOT_ALLOWED), NULL);
    }
    case A_CHAIN_FORK: /* the next seq, chained to an event that is not the head */
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        mt_hash((const unsigned char *)"fork", 4, h);
        ev.prev = (ProtobufCBinaryData){MT_HASH_LEN, h};
        return seal(s, &s->keys[m].kp, &ev, mine, R(CHAIN_FORK), NULL);
    case A_CHAIN_EQUIVOCATION: /* a different event with the head's seq */
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.seq = s->keys[m].seq;
        return seal(s, &s->keys[m].kp, &ev, mine, R(CHAIN_EQUIVOCATION), NULL);
    case A_CHAIN_BROKEN_BEFORE: /* overdraws, then chains the next event to the rejected one */
    case A_OVERDRAWN:
        loss(s, &ev, &d, &site, &x, m, adv, L->adv + 1, "more than there is");
        if (seal(s, &s->keys[m].kp, &ev, mine, R(OVERDRAWN), h)) return -1;
        if (L->attack == A_OVERDRAWN) return 0;
        ev = (Mintrace__V1__BatchEvent)MINTRACE__V1__BATCH_EVENT__INIT;
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.seq = s->keys[m].seq + 2;
        ev.prev = (ProtobufCBinaryData){MT_HASH_LEN, h};
        return seal(s, &s->keys[m].kp, &ev, mine, R(CHAIN_BROKEN_BEFORE), NULL);
    case A_UNKNOWN_INPUT:
        snprintf(other, sizeof(other), "%s-NO-SUCH-%06d", mine, chain);
        loss(s, &ev, &d, &site, &x, m, other, 1, "dust");
        return seal(s, &s->keys[m].kp, &ev, mine, R(UNKNOWN_INPUT), NULL);
    case A_NOT_CUSTODIAN: /* the plant writes off the mine's batch (made before the ore it received) */
        loss(s, &ev, &d, &site, &x, r, adv, 1, "dust");
        return seal(s, &s->keys[r].kp, &ev, facilities[r].id, R(NOT_CUSTODIAN), NULL);
    case A_IN_TRANSIT: /* ships its batch (never received), then writes some of it off */
        if (transfer(s, m, adv, L->adv, r, h)) return -1;
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        return seal(s, &s->keys[m].kp, &ev, mine, R(IN_TRANSIT), NULL);
    case A_DUPLICATE_BATCH_ID:
    case A_ELEMENT_NOT_CONSERVED: {
        loss(s, &ev, &d, &site, &x, m, adv, L->adv, "");
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL__NOT_SET;
        ev.loss = NULL;
        snprintf(other, sizeof(other), "%s-S", adv);
        elems *o = output(&ev, &x, L->attack == A_DUPLICATE_BATCH_ID ? adv : other, "concentrate", L->adv);
        if (L->attack == A_DUPLICATE_BATCH_ID) {
            Mintrace__V1__ExtractDetail xd = MINTRACE__V1__EXTRACT_DETAIL__INIT;
            ev.kind = K(EXTRACT);
            ev.n_inputs = 0;
            xd.deposit = (char *)facilities[m].name;
            ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
            ev.extract = &xd;
            seal_outputs(&x, &ev);
            return seal(s, &s->keys[m].kp, &ev, mine, R(DUPLICATE_BATCH_ID), NULL);
        }
        ev.kind = K(SPLIT); /* repacking that doubles the neodymium */
        el(o, "Nd", L->adv_nd * 2);
        seal_outputs(&x, &ev);
        return seal(s, &s->keys[m].kp, &ev, mine, R(ELEMENT_NOT_CONSERVED), NULL);
    }
    case A_TIME_BEFORE_INPUTS:
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.time_ms = L->adv_time - 86400000;
        return seal(s, &s->keys[m].kp, &ev, mine, R(TIME_BEFORE_INPUTS), NULL);
    case A_TIME_IN_FUTURE:
        loss(s, &ev, &d, &site, &x, m, adv, 1, "dust");
        ev.time_ms = 4102444800000LL; /* 2100-01-01 */
        return seal(s, &s->keys[m].kp, &ev, mine, R(TIME_IN_FUTURE), NULL);
    case A_INVALID_CORRECTION: {
        Mintrace__V1__CorrectionDetail cd = MINTRACE__V1__CORRECTION_DETAIL__INIT;
        loss(s, &ev, &d, &site, &x, m, adv, 1, "");
        ev.kind = K(CORRECTION);
        ev.n_inputs = 0;
        mt_hash((const unsigned char *)"no such event", 13, h);
        cd.corrected_event_id = (ProtobufCBinaryData){MT_HASH_LEN, h};
        cd.reason = "voids an event nobody made";
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION;
        ev.correction = &cd;
        return seal(s, &s->keys[m].kp, &ev, mine, R(INVALID_CORRECTION), NULL);
    }
    case A_CHAIN_GAP: /* a second emitter of the recycler whose seq 1 never comes */
    case A_PARK_EXPIRED: { /* a RECEIVE of a shipment that never happened */
        size_t f = fac_index(EXTRA_FAC);
        int k = L->attack == A_CHAIN_GAP ? X_GAP : X_PARK;
        Mintrace__V1__ReceiveDetail rd = MINTRACE__V1__RECEIVE_DETAIL__INIT;
        snprintf(other, sizeof(other), "GHOST-%06d", chain);
        loss(s, &ev, &d, &site, &x, f, other, 1000, "dust");
        ev.prev = (ProtobufCBinaryData){0, NULL};
        ev.seq = 1;
        if (k == X_GAP) {
            ev.seq = 1000 + (uint64_t)chain;
            mt_hash((const unsigned char *)other, strlen(other), h);
            ev.prev = (ProtobufCBinaryData){MT_HASH_LEN, h};
        } else {
            ev.kind = K(RECEIVE);
            mt_hash((const unsigned char *)other, strlen(other), h);
            rd.transfer_event_id = (ProtobufCBinaryData){MT_HASH_LEN, h};
            rd.origin_facility_id = (char *)mine;
            ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE;
            ev.receive = &rd;
        }
        return seal(s, &s->keys[N_FAC + k].kp, &ev, EXTRA_FAC, k == X_GAP ? R(CHAIN_GAP) : R(PARK_EXPIRED), NULL);
    }
    case A_NOT_UNDER_MASS_BALANCE: { /* the mine closes a mass-balance period it never had */
        Mintrace__V1__BalanceDetail bd = MINTRACE__V1__BALANCE_DETAIL__INIT;
        loss(s, &ev, &d, &site, &x, m, adv, 1, "");
        ev.kind = K(BALANCE);
        ev.n_inputs = 0;
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_BALANCE;
        ev.balance = &bd;
        return seal(s, &s->keys[m].kp, &ev, mine, R(NOT_UNDER_MASS_BALANCE), NULL);
    }
    case A_ALLOCATION_EXCEEDS_OUTPUT:
    case A_CREDIT_OVERDRAWN:
    case A_MASS_BALANCE_WRONG_KEY:
    case A_BALANCE_MISMATCH: { /* the mass-balance recycler: a good RECYCLE (its period is open,
                                * it earns post-consumer Nd and Dy credit), then the attack */
        size_t f = fac_index(MB_FAC);
        snprintf(other, sizeof(other), "%s-OX-%06d", MB_FAC, chain);
        if (mb_recycle(s, f, other, rnd(s, 50, 200), 1, NULL, 0, 0, 0)) return -1;
        snprintf(other, sizeof(other), "%s-OX-%06d-X", MB_FAC, chain);
        if (L->attack == A_ALLOCATION_EXCEEDS_OUTPUT) /* more Nd credit than the output holds Nd */
            return mb_recycle(s, f, other, 100, 1, "Nd", 25000000ULL * 9 / 10 + 1, 1, R(ALLOCATION_EXCEEDS_OUTPUT));
        if (L->attack == A_CREDIT_OVERDRAWN) /* pre-consumer feedstock earns pre-consumer Dy; post allocated */
            return mb_recycle(s, f, other, 100, 0, "Dy", 1000, 1, R(CREDIT_OVERDRAWN));
        if (L->attack == A_MASS_BALANCE_WRONG_KEY) /* the recycler's second emitter, not the account's key */
            return mb_recycle(s, N_FAC + X_MB2, other, 100, 1, NULL, 0, 0, R(MASS_BALANCE_WRONG_KEY));
        Mintrace__V1__BalanceDetail bd = MINTRACE__V1__BALANCE_DETAIL__INIT;
        Mintrace__V1__RecycledCredit cl = MINTRACE__V1__RECYCLED_CREDIT__INIT, *pcl = &cl;
        loss(s, &ev, &d, &site, &x, f, adv, 1, "");
        ev.kind = K(BALANCE);
        ev.n_inputs = 0;
        cl.element = "Nd";
        cl.post_consumer_mg = 1; /* it earned tonnes' worth of milligrams: not 1 */
        bd.n_closing = 1;
        bd.closing = &pcl;
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_BALANCE;
        ev.balance = &bd;
        return seal(s, &s->keys[f].kp, &ev, MB_FAC, R(BALANCE_MISMATCH), NULL);
    }
    }
    return 0;
}
/* One step of one loop; returns -1 on error. Steps are in the order of the comment above. */
static int step(mt_sim *s, loop *L, loop *prev, int chain, int k) {
    char b[96], b2[96];
    const char *mine = facilities[L->mine].id;
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    io x;
    elems *o;
    switch (k) {
    case 0: { /* EXTRACT */
        Mintrace__V1__ExtractDetail d = MINTRACE__V1__EXTRACT_DETAIL__INIT;
        int m = L->mine - FIRST_MINE;
        L->ore = rnd(s, 800, 1200) * 1000000; /* 0.8 to 1.2 t */
        L->nd = L->ore / 1000 * (uint64_t)grade[m][0];
        L->pr = L->ore / 1000 * (uint64_t)grade[m][1];
        L->dy = L->ore / 1000 * (uint64_t)grade[m][2];
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        ev.kind = K(EXTRACT);
        o = output(&ev, &x, b, "concentrate", L->ore);
        el(o, "Nd", L->nd);
        el(o, "Pr", L->pr);
        el(o, "Dy", L->dy);
        seal_outputs(&x, &ev);
        d.deposit = (char *)facilities[L->mine].name;
        d.mineral = (char *)mineral[m];
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
        ev.extract = &d;
        L->extract_env = s->n;
        if (add(s, (size_t)L->mine, &ev, NULL)) return -1;
        if (L->correct) { /* the weighbridge ticket keyed twice, then voided */
            Mintrace__V1__BatchEvent c = MINTRACE__V1__BATCH_EVENT__INIT;
            Mintrace__V1__CorrectionDetail cd = MINTRACE__V1__CORRECTION_DETAIL__INIT;
            unsigned char id[MT_HASH_LEN];
            snprintf(b2, sizeof(b2), "%s-ORE-%06d-B", mine, chain);
            if (extract(s, L, b2, L->ore, L->nd, L->pr, L->dy)) return -1;
            memcpy(id, s->keys[L->mine].head, MT_HASH_LEN);
            c.kind = K(CORRECTION);
            cd.corrected_event_id = (ProtobufCBinaryData){MT_HASH_LEN, id};
            cd.reason = "weighbridge ticket keyed twice";
            c.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION;
            c.correction = &cd;
            if (add(s, (size_t)L->mine, &c, NULL)) return -1;
            s->counts.corrections++;
        }
        if (L->attack >= 0) { /* 10 kg of the mine's own that attacks may use */
            snprintf(b2, sizeof(b2), "%s-ADV-%06d", mine, chain);
            L->adv = 10000000;
            L->adv_nd = L->adv / 1000 * (uint64_t)grade[m][0];
            L->adv_time = s->time_ms + 60000;
            if (extract(s, L, b2, L->adv, L->adv_nd, 0, 0)) return -1;
        }
        return 0;
    }
    case 1:
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        return transfer(s, (size_t)L->mine, b, L->ore, (size_t)L->refiner, L->transfer);
    case 2: /* transit loss: 0-0.1 % by road or rail, 0.1-0.5 % across borders by sea */
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        L->received = arrives(s, (size_t)L->mine, (size_t)L->refiner, L->ore, 0, 1000, 1000, 5000);
        L->ore_m = L->received; /* the lost part took its share of each element (R2) */
        L->ore_nd = L->nd - mt_prov_share(L->nd, L->ore - L->received, L->ore);
        L->ore_pr = L->pr - mt_prov_share(L->pr, L->ore - L->received, L->ore);
        L->ore_dy = L->dy - mt_prov_share(L->dy, L->ore - L->received, L->ore);
        return receive(s, (size_t)L->refiner, b, L->received, (size_t)L->mine, L->transfer);
    case 3: { /* separation: 80-90 % of each element into NdPr(+Dy) oxide (metal is 85.7 % of it).
               * Half the plants keep 5-30 % of the ore for the next campaign, which blends it
               * with its own ore (two mines, two countries in one oxide). */
        uint64_t y = rnd(s, 800, 900), pct = rnd(s, 0, 1) ? 100 : rnd(s, 70, 95);
        uint64_t t = pct == 100 ? L->ore_m : L->ore_m / 100 * pct;
        uint64_t nd = mt_prov_share(L->ore_nd, t, L->ore_m), pr = mt_prov_share(L->ore_pr, t, L->ore_m),
                 dy = mt_prov_share(L->ore_dy, t, L->ore_m);
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        snprintf(b2, sizeof(b2), "%s-OX-%06d", facilities[L->refiner].id, chain);
        ev.kind = K(PROCESS);
        input(&ev, &x, b, t);
        L->ore_m -= t, L->ore_nd -= nd, L->ore_pr -= pr, L->ore_dy -= dy;
        if (prev && prev->refiner == L->refiner && prev->ore_m) { /* the last campaign's ore, all of it */
            snprintf(b, sizeof(b), "%s-ORE-%06d", facilities[prev->mine].id, chain - 1);
            input(&ev, &x, b, prev->ore_m);
            nd += prev->ore_nd, pr += prev->ore_pr, dy += prev->ore_dy;
            prev->ore_m = prev->ore_nd = prev->ore_pr = prev->ore_dy = 0;
        }
        L->ox_nd = nd * y / 1000, L->ox_pr = pr * y / 1000, L->ox_dy = dy * y / 1000; /* < 2^54 * 1000 */
        L->ox = (L->ox_nd + L->ox_pr + L->ox_dy) * 1000 / 857;
        o = output(&ev, &x, b2, "NdPr-oxide", L->ox);
        el(o, "Nd", L->ox_nd);
        el(o, "Pr", L->ox_pr);
        el(o, "Dy", L->ox_dy);
        seal_outputs(&x, &ev);
        return add(s, (size_t)L->refiner, &ev, NULL);
    }
    case 4:
        snprintf(b, sizeof(b), "%s-OX-%06d", facilities[L->refiner].id, chain);
        return transfer(s, (size_t)L->refiner, b, L->ox, (size_t)L->maker, L->transfer);
    case 5: { /* oxide in drums: nothing lost at home, up to 0.2 % across borders */
        uint64_t got = arrives(s, (size_t)L->refiner, (size_t)L->maker, L->ox, 0, 0, 0, 2000);
        snprintf(b, sizeof(b), "%s-OX-%06d", facilities[L->refiner].id, chain);
        if (receive(s, (size_t)L->maker, b, got, (size_t)L->refiner, L->transfer)) return -1;
        L->ox_nd -= mt_prov_share(L->ox_nd, L->ox - got, L->ox);
        L->ox_pr -= mt_prov_share(L->ox_pr, L->ox - got, L->ox);
        L->ox_dy -= mt_prov_share(L->ox_dy, L->ox - got, L->ox);
        L->ox = got;
        return 0;
    }
    case 6: { /* magnets (30 % rare earths, 69 % iron, 1 % boron) take 95 % of the RE, swarf 4 %;
               * half the makers keep 5-25 % of the oxide to blend with recovered oxide later */
        Mintrace__V1__UntrackedInput u[2], *pu[2];
        elems ue[2];
        uint64_t pct = rnd(s, 0, 1) ? 100 : rnd(s, 75, 95), t = pct == 100 ? L->ox : L->ox / 100 * pct;
        uint64_t nd = mt_prov_share(L->ox_nd, t, L->ox), pr = mt_prov_share(L->ox_pr, t, L->ox);
        L->oxl = L->ox - t, L->oxl_nd = L->ox_nd - nd;
        L->oxl_pr = L->ox_pr - pr;
        L->mag_nd = nd * 95 / 100, L->mag_pr = pr * 95 / 100;
        L->sw_nd = nd * 4 / 100, L->sw_pr = pr * 4 / 100;
        L->mag = (L->mag_nd + L->mag_pr) * 100 / 30;
        L->sw = (L->sw_nd + L->sw_pr) * 100 / 30;
        snprintf(b, sizeof(b), "%s-OX-%06d", facilities[L->refiner].id, chain);
        ev.kind = K(MANUFACTURE);
        input(&ev, &x, b, t);
        snprintf(b, sizeof(b), "%s-MAG-%06d", facilities[L->maker].id, chain);
        o = output(&ev, &x, b, "sintered-NdFeB-magnet", L->mag);
        el(o, "Nd", L->mag_nd);
        el(o, "Pr", L->mag_pr);
        el(o, "Fe", L->mag * 69 / 100);
        el(o, "B", L->mag / 100);
        snprintf(b2, sizeof(b2), "%s-SW-%06d", facilities[L->maker].id, chain);
        o = output(&ev, &x, b2, "magnet-grinding-swarf", L->sw);
        el(o, "Nd", L->sw_nd);
        el(o, "Pr", L->sw_pr);
        el(o, "Fe", L->sw * 69 / 100);
        el(o, "B", L->sw / 100);
        seal_outputs(&x, &ev);
        alloying(&ev, u, pu, ue, (L->mag + L->sw) * 69 / 100, (L->mag + L->sw) / 100);
        return add(s, (size_t)L->maker, &ev, NULL);
    }
    case 7: {
        Mintrace__V1__ExitDetail d = MINTRACE__V1__EXIT_DETAIL__INIT;
        snprintf(b, sizeof(b), "%s-MAG-%06d", facilities[L->maker].id, chain);
        ev.kind = K(EXIT);
        input(&ev, &x, b, L->mag);
        d.product = "EV traction motors";
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXIT;
        ev.exit = &d;
        return add(s, (size_t)L->maker, &ev, NULL);
    }
    case 8:
        snprintf(b, sizeof(b), "%s-SW-%06d", facilities[L->maker].id, chain);
        return transfer(s, (size_t)L->maker, b, L->sw, (size_t)L->recycler, L->transfer);
    case 9:
        snprintf(b, sizeof(b), "%s-SW-%06d", facilities[L->maker].id, chain);
        return receive(s, (size_t)L->recycler, b, L->sw, (size_t)L->maker, L->transfer);
    case 10: { /* 90 % of the swarf's rare earths recovered as oxide */
        Mintrace__V1__RecycleDetail d = MINTRACE__V1__RECYCLE_DETAIL__INIT;
        L->rec_nd = L->sw_nd * 90 / 100, L->rec_pr = L->sw_pr * 90 / 100;
        L->rec = (L->rec_nd + L->rec_pr) * 1000 / 857;
        snprintf(b, sizeof(b), "%s-SW-%06d", facilities[L->maker].id, chain);
        snprintf(b2, sizeof(b2), "%s-REC-%06d", facilities[L->recycler].id, chain);
        ev.kind = K(RECYCLE);
        input(&ev, &x, b, L->sw);
        o = output(&ev, &x, b2, "NdPr-oxide", L->rec);
        el(o, "Nd", L->rec_nd);
        el(o, "Pr", L->rec_pr);
        x.out[0].recycled_class = MINTRACE__V1__RECYCLED_CLASS__RECYCLED_CLASS_PRE_CONSUMER;
        seal_outputs(&x, &ev);
        d.feedstock = MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED;
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE;
        ev.recycle = &d;
        return add(s, (size_t)L->recycler, &ev, NULL);
    }
    case 11:
        snprintf(b, sizeof(b), "%s-REC-%06d", facilities[L->recycler].id, chain);
        return transfer(s, (size_t)L->recycler, b, L->rec, (size_t)L->maker, L->transfer);
    case 12:
        snprintf(b, sizeof(b), "%s-REC-%06d", facilities[L->recycler].id, chain);
        return receive(s, (size_t)L->maker, b, L->rec, (size_t)L->recycler, L->transfer);
    case 13: { /* second generation: all recovered oxide, and the virgin oxide kept, into new magnets */
        char kept[96];
        snprintf(b, sizeof(b), "%s-REC-%06d", facilities[L->recycler].id, chain);
        snprintf(kept, sizeof(kept), "%s-OX-%06d", facilities[L->refiner].id, chain);
        snprintf(b2, sizeof(b2), "%s-MAG2-%06d", facilities[L->maker].id, chain);
        return magnets(s, L, b, L->rec, kept, L->oxl, b2, L->rec_nd + L->oxl_nd, L->rec_pr + L->oxl_pr);
    }
    }
    return 0;
}


/* The magnets of a loop come back years later: the recycler collects end-of-life motors, takes
 * out the magnets and recovers their rare earths, which go into new magnets. The RECYCLE names
 * the EXITed lot as a return (RecycleDetail.returns, ledger rule 13a): the recovered oxide is
 * post-consumer and keeps the lot's mines' countries. */
static int back(mt_sim *s, loop *L, int chain, int k) {
    char b[96], b2[96];
    Mintrace__V1__BatchEvent ev = MINTRACE__V1__BATCH_EVENT__INIT;
    io x;
    snprintf(b, sizeof(b), "%s-EOL-%06d", facilities[L->recycler].id, chain);
    switch (k) {
    case 0: {
        Mintrace__V1__RecycleDetail d = MINTRACE__V1__RECYCLE_DETAIL__INIT;
        Mintrace__V1__ReturnedInput ret = MINTRACE__V1__RETURNED_INPUT__INIT, *pret = &ret;
        Mintrace__V1__Document doc = MINTRACE__V1__DOCUMENT__INIT, *pd = &doc;
        /* 85-98 % of the lot's magnets reach this recycler; 90-95 % of their rare earths
         * recovered; the returned mass holds the ledger's share of the lot's elements (R2) */
        uint64_t got = rnd(s, 850, 980), y = rnd(s, 900, 950);
        uint64_t mag = L->mag * got / 1000;
        uint64_t nd = mt_prov_share(L->mag_nd, mag, L->mag), pr = mt_prov_share(L->mag_pr, mag, L->mag);
        L->eol_nd = nd * y / 1000, L->eol_pr = pr * y / 1000;
        L->eol = (L->eol_nd + L->eol_pr) * 1000 / 857;
        ev.kind = K(RECYCLE);
        elems *o = output(&ev, &x, b, "NdPr-oxide", L->eol);
        el(o, "Nd", L->eol_nd);
        el(o, "Pr", L->eol_pr);
        x.out[0].recycled_class = MINTRACE__V1__RECYCLED_CLASS__RECYCLED_CLASS_POST_CONSUMER;
        seal_outputs(&x, &ev);
        snprintf(b2, sizeof(b2), "%s-MAG-%06d", facilities[L->maker].id, chain);
        ret.batch_id = b2;
        ret.mass_mg = mag;
        doc.kind = "evidence";
        doc.uri = "https://collect.example/end-of-life-ev-motors";
        d.feedstock = MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_TRACKED;
        d.n_returns = 1;
        d.returns = &pret;
        d.n_evidence = 1;
        d.evidence = &pd;
        ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE;
        ev.recycle = &d;
        s->counts.returns++;
        return add(s, (size_t)L->recycler, &ev, NULL);
    }
    case 1: return transfer(s, (size_t)L->recycler, b, L->eol, (size_t)L->maker, L->transfer);
    case 2: return receive(s, (size_t)L->maker, b, L->eol, (size_t)L->recycler, L->transfer);
    case 3:
        snprintf(b2, sizeof(b2), "%s-MAG3-%06d", facilities[L->maker].id, chain);
        return magnets(s, L, b, L->eol, NULL, 0, b2, L->eol_nd, L->eol_pr);
    }
    return 0;
}

#define STEPS 14

mt_sim *mt_sim_new_opts(uint64_t seed, const char *network_id, const mt_sim_opts *o, int64_t start_ms) {
    int chains = o->chains > 0 ? o->chains : 0;
    mt_sim *s = calloc(1, sizeof(*s));
    loop *loops = calloc((size_t)(chains > 0 ? chains : 1), sizeof(*loops));
    if (!s || !loops) goto fail;
    s->seed = s->rng = seed;
    s->network_id = network_id;
    s->time_ms = start_ms;
    for (size_t i = 0; i < N_KEYS; i++)
        if (mt_sim_key(seed, i < N_FAC ? facilities[i].id : extra_name[i - N_FAC], &s->keys[i].kp)) goto fail;
    if (mt_sim_key(seed, "rogue", &s->rogue)) goto fail;
    s->counts.loops = (size_t)chains;
    for (int c = 0; c < chains; c++) { /* plants by region: India, Southeast Asia, China, Japan */
        loop *L = &loops[c];
        L->mine = FIRST_MINE + (int)rnd(s, 0, N_MINES - 1);
        const char *cc = facilities[L->mine].country;
        L->refiner = (int)fac_index(!strcmp(cc, "CN") || !strcmp(cc, "MM") ? "CN-BAOTOU"
                                    : !strcmp(cc, "AU")                  ? "MY-KUANTAN"
                                                                         : "IN-IREL-OSCOM");
        int japan = rnd(s, 0, 3) == 0;
        L->maker = (int)fac_index(japan ? "JP-MAG-OSAKA" : "IN-MAG-HYD");
        L->recycler = (int)fac_index(japan ? "JP-REC-KITAKYUSHU" : "IN-REC-PUNE");
        L->returns = (int)rnd(s, 0, 99) < o->returns_pct;
        L->correct = (int)rnd(s, 0, 99) < o->corrections_pct;
        L->attack = (int)rnd(s, 0, 99) < o->adversarial_pct ? s->next_attack++ % N_ATTACKS : -1;
    }
    /* causal order, loops interleaved step by step: each facility's events stay in seq order;
     * the attacks come after the ore was received (see attack()) */
    int window = o->window > 0 && o->window < chains ? o->window : chains;
    for (int w = 0; w < chains; w += window)
        for (int k = 0; k < STEPS; k++)
            for (int c = w; c < chains && c < w + window; c++)
                if (step(s, &loops[c], c ? &loops[c - 1] : NULL, c, k) || (k == 2 && loops[c].attack >= 0 && attack(s, &loops[c], c))) goto fail;
    s->time_ms += MT_SIM_LIFETIME_MS; /* the motors' service life */
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < chains; c++)
            if (loops[c].returns && back(s, &loops[c], c, k)) goto fail;
    s->counts.park_tail = s->last_parkwait ? s->n - s->last_parkwait : 0;
    free(loops);
    return s;
fail:
    free(loops);
    mt_sim_free(s);
    return NULL;
}

mt_sim *mt_sim_new(uint64_t seed, const char *network_id, int chains, int64_t start_ms) {
    mt_sim_opts o = {.chains = chains};
    return mt_sim_new_opts(seed, network_id, &o, start_ms);
}

void mt_sim_free(mt_sim *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->out[i].bytes);
    for (size_t i = 0; i < N_KEYS; i++) mt_keypair_wipe(&s->keys[i].kp);
    mt_keypair_wipe(&s->rogue);
    free(s->out);
    free(s);
}

void mt_sim_expected(const mt_sim *s, mt_sim_counts *c) { *c = s->counts; }

int64_t mt_sim_end_ms(const mt_sim *s) { return s->time_ms; }

int mt_sim_next_expect(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility, int *expect) {
    if (s->next >= s->n) return 0;
    envelope *e = &s->out[s->next++];
    *out = malloc(e->len);
    if (!*out) return -1;
    memcpy(*out, e->bytes, e->len);
    *outlen = e->len;
    *facility = e->facility;
    if (expect) *expect = e->expect;
    return 1;
}

int mt_sim_next(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility) {
    return mt_sim_next_expect(s, out, outlen, facility, NULL);
}
