/* simulate — a deterministic rare-earth supply chain: facilities, keys, and signed events. */
#include "simulate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "event.h"
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

int mt_sim_registry(uint64_t seed, const char *network_id, uint8_t **out, size_t *outlen) {
    Mintrace__V1__FacilityRecord recs[N_FAC], *rp[N_FAC];
    Mintrace__V1__FacilityKey keys[N_FAC], *kp[N_FAC];
    Mintrace__V1__Site sites[N_FAC];
    mt_keypair k[N_FAC], gov;
    for (size_t i = 0; i < N_FAC; i++) {
        const mt_sim_facility *f = &facilities[i];
        if (mt_sim_key(seed, f->id, &k[i])) return -1;
        mintrace__v1__facility_record__init(&recs[i]);
        mintrace__v1__facility_key__init(&keys[i]);
        mintrace__v1__site__init(&sites[i]);
        keys[i].key_id = k[i].key_id;
        keys[i].public_key = (ProtobufCBinaryData){MT_PK_LEN, k[i].pk};
        kp[i] = &keys[i];
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
        recs[i].n_keys = 1;
        recs[i].keys = &kp[i];
        rp[i] = &recs[i];
    }
    Mintrace__V1__Registry r = MINTRACE__V1__REGISTRY__INIT;
    r.network_id = (char *)network_id;
    r.version = 1;
    r.n_facilities = N_FAC;
    r.facilities = rp;
    char err[128];
    int rc = mt_sim_key(seed, "governance", &gov) || mt_registry_sign(&r, &gov, out, outlen, err, sizeof(err));
    for (size_t i = 0; i < N_FAC; i++) mt_keypair_wipe(&k[i]);
    mt_keypair_wipe(&gov);
    return rc ? -1 : 0;
}

/* ---- the events ---- */

typedef struct chainkey { /* a facility's signing chain */
    mt_keypair kp;
    uint64_t seq;
    unsigned char head[MT_HASH_LEN];
} chainkey;

typedef struct loop { /* one closed loop's state between steps */
    int mine, refiner, maker, recycler;
    uint64_t ore, nd, pr, dy, received, ox, ox_nd, ox_pr, ox_dy, mag, mag_nd, mag_pr, sw, sw_nd, sw_pr;
    uint64_t rec, rec_nd, rec_pr;
    unsigned char transfer[MT_HASH_LEN];
} loop;

typedef struct envelope {
    uint8_t *bytes;
    size_t len;
    const char *facility;
} envelope;

struct mt_sim {
    uint64_t seed, rng;
    const char *network_id;
    int64_t time_ms;
    chainkey keys[N_FAC];
    envelope *out;
    size_t n, cap, next;
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

/* Signs ev as facility f (filling network, facility, seq, prev, time, site) and appends it. */
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
    size_t plen;
    uint8_t *payload = mt_message_pack(&ev->base, &plen);
    if (!payload) return -1;
    mt_hash(payload, plen, c->head);
    if (id_out) memcpy(id_out, c->head, MT_HASH_LEN);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        envelope *nv = realloc(s->out, cap * sizeof(*nv));
        if (!nv) {
            free(payload);
            return -1;
        }
        s->out = nv;
        s->cap = cap;
    }
    envelope *e = &s->out[s->n];
    int rc = mt_envelope_seal(&c->kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen,
                              &e->bytes, &e->len);
    free(payload);
    if (rc) return -1;
    e->facility = facilities[f].id;
    s->n++;
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
    char ids[4][64];
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

/* One step of one loop; returns -1 on error. Steps are in the order of the comment above. */
static int step(mt_sim *s, loop *L, int chain, int k) {
    char b[64], b2[64];
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
        return add(s, (size_t)L->mine, &ev, NULL);
    }
    case 1:
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        return transfer(s, (size_t)L->mine, b, L->ore, (size_t)L->refiner, L->transfer);
    case 2: /* transit loss up to 0.1 % */
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        L->received = L->ore - L->ore / 1000000 * rnd(s, 0, 1000);
        return receive(s, (size_t)L->refiner, b, L->received, (size_t)L->mine, L->transfer);
    case 3: { /* separation: 80-90 % of each element into NdPr(+Dy) oxide (metal is 85.7 % of it);
               * element x received < 2^57: the products fit in 64 bits */
        uint64_t y = rnd(s, 800, 900);
        L->ox_nd = (L->nd * L->received / L->ore) * y / 1000;
        L->ox_pr = (L->pr * L->received / L->ore) * y / 1000;
        L->ox_dy = (L->dy * L->received / L->ore) * y / 1000;
        L->ox = (L->ox_nd + L->ox_pr + L->ox_dy) * 1000 / 857;
        snprintf(b, sizeof(b), "%s-ORE-%06d", mine, chain);
        snprintf(b2, sizeof(b2), "%s-OX-%06d", facilities[L->refiner].id, chain);
        ev.kind = K(PROCESS);
        input(&ev, &x, b, L->received);
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
    case 5:
        snprintf(b, sizeof(b), "%s-OX-%06d", facilities[L->refiner].id, chain);
        return receive(s, (size_t)L->maker, b, L->ox, (size_t)L->refiner, L->transfer);
    case 6: { /* magnets (30 % rare earths, 69 % iron, 1 % boron) take 95 % of the RE, swarf 4 % */
        Mintrace__V1__UntrackedInput u[2], *pu[2];
        elems ue[2];
        L->mag_nd = L->ox_nd * 95 / 100, L->mag_pr = L->ox_pr * 95 / 100;
        L->sw_nd = L->ox_nd * 4 / 100, L->sw_pr = L->ox_pr * 4 / 100;
        L->mag = (L->mag_nd + L->mag_pr) * 100 / 30;
        L->sw = (L->sw_nd + L->sw_pr) * 100 / 30;
        snprintf(b, sizeof(b), "%s-OX-%06d", facilities[L->refiner].id, chain);
        ev.kind = K(MANUFACTURE);
        input(&ev, &x, b, L->ox);
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
    case 13: { /* second generation: all recovered oxide into new magnets */
        Mintrace__V1__UntrackedInput u[2], *pu[2];
        elems ue[2];
        uint64_t nd = L->rec_nd * 95 / 100, pr = L->rec_pr * 95 / 100, mag = (nd + pr) * 100 / 30;
        snprintf(b, sizeof(b), "%s-REC-%06d", facilities[L->recycler].id, chain);
        ev.kind = K(MANUFACTURE);
        input(&ev, &x, b, L->rec);
        snprintf(b2, sizeof(b2), "%s-MAG2-%06d", facilities[L->maker].id, chain);
        o = output(&ev, &x, b2, "sintered-NdFeB-magnet", mag);
        el(o, "Nd", nd);
        el(o, "Pr", pr);
        el(o, "Fe", mag * 69 / 100);
        el(o, "B", mag / 100);
        seal_outputs(&x, &ev);
        alloying(&ev, u, pu, ue, mag * 69 / 100, mag / 100);
        return add(s, (size_t)L->maker, &ev, NULL);
    }
    }
    return 0;
}

#define STEPS 14

mt_sim *mt_sim_new(uint64_t seed, const char *network_id, int chains, int64_t start_ms) {
    mt_sim *s = calloc(1, sizeof(*s));
    loop *loops = calloc((size_t)(chains > 0 ? chains : 1), sizeof(*loops));
    if (!s || !loops) goto fail;
    s->seed = s->rng = seed;
    s->network_id = network_id;
    s->time_ms = start_ms;
    for (size_t i = 0; i < N_FAC; i++)
        if (mt_sim_key(seed, facilities[i].id, &s->keys[i].kp)) goto fail;
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
    }
    /* causal order, loops interleaved step by step: each facility's events stay in seq order */
    for (int k = 0; k < STEPS; k++)
        for (int c = 0; c < chains; c++)
            if (step(s, &loops[c], c, k)) goto fail;
    free(loops);
    return s;
fail:
    free(loops);
    mt_sim_free(s);
    return NULL;
}

void mt_sim_free(mt_sim *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->out[i].bytes);
    for (size_t i = 0; i < N_FAC; i++) mt_keypair_wipe(&s->keys[i].kp);
    free(s->out);
    free(s);
}

int mt_sim_next(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility) {
    if (s->next >= s->n) return 0;
    envelope *e = &s->out[s->next++];
    *out = malloc(e->len);
    if (!*out) return -1;
    memcpy(*out, e->bytes, e->len);
    *outlen = e->len;
    *facility = e->facility;
    return 1;
}
