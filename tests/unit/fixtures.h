/* fixtures.h - shared unit-test helpers: an in-memory governance-signed registry, well-formed
 * BatchEvents and their signed envelopes. Header only (static inline): every tests/unit/test_*.c
 * links alone with the library. */
#ifndef MT_TEST_FIXTURES_H
#define MT_TEST_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "ledger.h"
#include "notary.h"
#include "registry.h"

#define FX_NETWORK     "mt-test"
#define FX_REG_VERSION 7

#define FX_MINE     "IN-MINE-A"    /* role MINE: keys mine, mine_revoked, mine_window */
#define FX_REFINER  "IN-REFINER-B" /* role REFINER: key refiner */
#define FX_NOTARY   "NOTARY-1"     /* role NOTARY: keys notary, notary_revoked */
#define FX_RECYCLER "RECYCLER-R"   /* role RECYCLER: key recycler */

/* Times, Unix ms. Every key without a window is valid at any of them; the real clock (which the
 * stages use) is long after FX_T_UNTIL. */
#define FX_T_REVOKED 1700000001000LL /* mine_revoked and notary_revoked are revoked from here on */
#define FX_T_FROM    1700000002000LL /* mine_window is valid in [FX_T_FROM, FX_T_UNTIL) */
#define FX_T_UNTIL   1700000003000LL
#define FX_T_NOW     1700000002500LL /* inside the window, after the revocations */
#define FX_T_EARLY   1700000000000LL /* before everything */

/* ---- a Registry message built in place (it points into itself: never copy it) ---- */

#define FX_MAX_FACILITIES 8
#define FX_MAX_KEYS       4

typedef struct fx_facility {
    Mintrace__V1__FacilityRecord rec;
    Mintrace__V1__Site site;
    Mintrace__V1__FacilityKey key[FX_MAX_KEYS];
    Mintrace__V1__FacilityKey *keyp[FX_MAX_KEYS];
} fx_facility;

typedef struct fx_registry_msg {
    Mintrace__V1__Registry reg;
    fx_facility fac[FX_MAX_FACILITIES];
    Mintrace__V1__FacilityRecord *facp[FX_MAX_FACILITIES];
} fx_registry_msg;

static inline void fx_registry_msg_init(fx_registry_msg *m, const char *network_id, uint64_t version)
{
    memset(m, 0, sizeof(*m));
    mintrace__v1__registry__init(&m->reg);
    m->reg.network_id = (char *)network_id;
    m->reg.version = version;
    m->reg.facilities = m->facp;
}

static inline fx_facility *fx_registry_add_facility(fx_registry_msg *m, const char *facility_id,
                                                    Mintrace__V1__FacilityRole role)
{
    assert_true(m->reg.n_facilities < FX_MAX_FACILITIES);
    fx_facility *f = &m->fac[m->reg.n_facilities];
    mintrace__v1__facility_record__init(&f->rec);
    mintrace__v1__site__init(&f->site);
    f->site.country = "IN";
    f->rec.facility_id = (char *)facility_id;
    f->rec.version = 1;
    f->rec.name = (char *)facility_id;
    f->rec.role = role;
    f->rec.site = &f->site;
    f->rec.keys = f->keyp;
    m->facp[m->reg.n_facilities++] = &f->rec;
    return f;
}

/* Adds kp's public key to f with a validity window and a revocation time (0 = none). */
static inline Mintrace__V1__FacilityKey *fx_facility_add_key(fx_facility *f, const mt_keypair *kp, int64_t valid_from,
                                                             int64_t valid_until, int64_t revoked_at)
{
    assert_true(f->rec.n_keys < FX_MAX_KEYS);
    Mintrace__V1__FacilityKey *k = &f->key[f->rec.n_keys];
    mintrace__v1__facility_key__init(k);
    k->key_id = (char *)kp->key_id;
    k->public_key = (ProtobufCBinaryData){MT_PK_LEN, (uint8_t *)kp->pk};
    k->valid_from_ms = valid_from;
    k->valid_until_ms = valid_until;
    k->revoked_at_ms = revoked_at;
    f->keyp[f->rec.n_keys++] = k;
    return k;
}

/* ---- the world: keys, the registry message, its signed envelope, the loaded registry ---- */

typedef struct fx_world {
    mt_keypair gov, mine, mine_revoked, mine_window, refiner, notary, notary_revoked, recycler;
    mt_keypair stranger; /* in no registry */
    fx_registry_msg msg;
    uint8_t *reg_env; /* the governance-signed registry envelope */
    size_t reg_env_len;
    mt_registry *reg;
} fx_world;

/* Fills w->msg with the standard registry (see FX_MINE ...) for network_id. */
static inline void fx_world_registry_msg(fx_world *w, const char *network_id)
{
    fx_registry_msg_init(&w->msg, network_id, FX_REG_VERSION);
    fx_facility *f = fx_registry_add_facility(&w->msg, FX_MINE, MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_MINE);
    fx_facility_add_key(f, &w->mine, 0, 0, 0);
    fx_facility_add_key(f, &w->mine_revoked, 0, 0, FX_T_REVOKED);
    fx_facility_add_key(f, &w->mine_window, FX_T_FROM, FX_T_UNTIL, 0);
    f = fx_registry_add_facility(&w->msg, FX_REFINER, MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_REFINER);
    fx_facility_add_key(f, &w->refiner, 0, 0, 0);
    f = fx_registry_add_facility(&w->msg, FX_NOTARY, MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_NOTARY);
    fx_facility_add_key(f, &w->notary, 0, 0, 0);
    fx_facility_add_key(f, &w->notary_revoked, 0, 0, FX_T_REVOKED);
    f = fx_registry_add_facility(&w->msg, FX_RECYCLER, MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_RECYCLER);
    fx_facility_add_key(f, &w->recycler, 0, 0, 0);
}

/* Signs w->msg with w->gov into w->reg_env (replacing any earlier one). */
static inline void fx_world_sign(fx_world *w)
{
    char err[256] = "";
    free(w->reg_env);
    w->reg_env = NULL;
    assert_int_equal(mt_registry_sign(&w->msg.reg, &w->gov, &w->reg_env, &w->reg_env_len, err, sizeof(err)), 0);
}

static inline fx_world *fx_world_new(void)
{
    fx_world *w = calloc(1, sizeof(*w));
    char err[256] = "";
    assert_non_null(w);
    mt_keypair *kps[] = {&w->gov,    &w->mine,           &w->mine_revoked, &w->mine_window, &w->refiner,
                         &w->notary, &w->notary_revoked, &w->recycler,     &w->stranger};
    for (size_t i = 0; i < sizeof(kps) / sizeof(kps[0]); i++) assert_int_equal(mt_keypair_generate(kps[i]), 0);
    fx_world_registry_msg(w, FX_NETWORK);
    fx_world_sign(w);
    w->reg = mt_registry_from_envelope(w->reg_env, w->reg_env_len, "fixture", w->gov.pk, FX_NETWORK, err,
                                       sizeof(err));
    if (!w->reg) fail_msg("fixture registry refused: %s", err);
    return w;
}

static inline void fx_world_free(fx_world *w)
{
    if (!w) return;
    mt_registry_destroy(w->reg);
    free(w->reg_env);
    mt_keypair *kps[] = {&w->gov,    &w->mine,           &w->mine_revoked, &w->mine_window, &w->refiner,
                         &w->notary, &w->notary_revoked, &w->recycler,     &w->stranger};
    for (size_t i = 0; i < sizeof(kps) / sizeof(kps[0]); i++) mt_keypair_wipe(kps[i]);
    free(w);
}

/* ---- BatchEvents built in place (they point into themselves: never copy one) ---- */

typedef struct fx_event {
    Mintrace__V1__BatchEvent ev;
    Mintrace__V1__Site site;
    Mintrace__V1__ExtractDetail extract;
    Mintrace__V1__TransferDetail transfer;
    Mintrace__V1__BatchInput in[2], *inp[2];
    Mintrace__V1__BatchOutput out[2], *outp[2];
    Mintrace__V1__ElementMass el[3], *elp[3];
    unsigned char prev[MT_HASH_LEN];
} fx_event;

static inline void fx_event_base(fx_event *e, const char *facility_id, Mintrace__V1__EventKind kind)
{
    memset(e, 0, sizeof(*e));
    mintrace__v1__batch_event__init(&e->ev);
    mintrace__v1__site__init(&e->site);
    e->site.country = "IN";
    e->site.region = "IN-KL";
    e->site.name = "Chavara";
    e->ev.network_id = FX_NETWORK;
    e->ev.facility_id = (char *)facility_id;
    e->ev.seq = 1;
    e->ev.time_ms = FX_T_EARLY;
    e->ev.kind = kind;
    e->ev.site = &e->site;
    e->ev.inputs = e->inp;
    e->ev.outputs = e->outp;
    for (int i = 0; i < 2; i++) {
        mintrace__v1__batch_input__init(&e->in[i]);
        mintrace__v1__batch_output__init(&e->out[i]);
        e->inp[i] = &e->in[i];
        e->outp[i] = &e->out[i];
    }
    for (int i = 0; i < 3; i++) {
        mintrace__v1__element_mass__init(&e->el[i]);
        e->elp[i] = &e->el[i];
    }
}

/* A well-formed EXTRACT (seq 1) by facility_id: one output MON-0001, 5000.123456 kg of monazite
 * holding 300 kg Nd and 100 kg Pr, from the Chavara deposit. */
static inline void fx_event_extract(fx_event *e, const char *facility_id)
{
    fx_event_base(e, facility_id, MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT);
    e->out[0].batch_id = "MON-0001";
    e->out[0].material = "monazite-concentrate";
    e->out[0].mass_mg = 5000123456ULL; /* 5000.123456 kg */
    e->el[0].element = "Nd";
    e->el[0].mass_mg = 300000000ULL;
    e->el[1].element = "Pr";
    e->el[1].mass_mg = 100000000ULL;
    e->out[0].elements = e->elp;
    e->out[0].n_elements = 2;
    e->ev.n_outputs = 1;
    mintrace__v1__extract_detail__init(&e->extract);
    e->extract.deposit = "Chavara beach sands";
    e->extract.licence = "KL-ML-42";
    e->extract.mineral = "monazite";
    e->ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
    e->ev.extract = &e->extract;
}

/* A well-formed TRANSFER (seq 2, prev all 0x11) by facility_id of 1 t of MON-0001 to FX_REFINER. */
static inline void fx_event_transfer(fx_event *e, const char *facility_id)
{
    fx_event_base(e, facility_id, MINTRACE__V1__EVENT_KIND__EVENT_KIND_TRANSFER);
    e->ev.seq = 2;
    memset(e->prev, 0x11, sizeof(e->prev));
    e->ev.prev = (ProtobufCBinaryData){MT_HASH_LEN, e->prev};
    e->in[0].batch_id = "MON-0001";
    e->in[0].mass_mg = 1000000000ULL;
    e->ev.n_inputs = 1;
    mintrace__v1__transfer_detail__init(&e->transfer);
    e->transfer.destination_facility_id = FX_REFINER;
    e->transfer.carrier = "KL-TRUCK-7";
    e->ev.detail_case = MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER;
    e->ev.transfer = &e->transfer;
}

/* The serialized event (free()); *len gets its length. */
static inline uint8_t *fx_event_pack(const Mintrace__V1__BatchEvent *ev, size_t *len)
{
    uint8_t *p = mt_message_pack(&ev->base, len);
    assert_non_null(p);
    return p;
}

/* The event id of ev as it would be signed: BLAKE2b-256 of its serialized bytes. */
static inline void fx_event_id(const Mintrace__V1__BatchEvent *ev, unsigned char id[MT_HASH_LEN])
{
    size_t len;
    uint8_t *p = fx_event_pack(ev, &len);
    mt_hash(p, len, id);
    free(p);
}

/* An Envelope of payload_type with payload, signed by kp in role (free()). */
static inline uint8_t *fx_seal(const mt_keypair *kp, Mintrace__V1__SignerRole role, const char *payload_type,
                               const void *payload, size_t plen, size_t *len)
{
    uint8_t *out = NULL;
    assert_int_equal(mt_envelope_seal(kp, role, payload_type, payload, plen, &out, len), 0);
    assert_non_null(out);
    return out;
}

/* ev packed and sealed in an Envelope signed by kp as a facility (free()). */
static inline uint8_t *fx_seal_event(const mt_keypair *kp, const Mintrace__V1__BatchEvent *ev, size_t *len)
{
    size_t plen;
    uint8_t *payload = fx_event_pack(ev, &plen);
    uint8_t *out = fx_seal(kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen, len);
    free(payload);
    return out;
}

/* A well-formed EXTRACT of FX_MINE signed by w->mine (free()). */
static inline uint8_t *fx_good_envelope(const fx_world *w, size_t *len)
{
    fx_event e;
    fx_event_extract(&e, FX_MINE);
    return fx_seal_event(&w->mine, &e.ev, len);
}

/* ---- editing serialized envelopes ---- */

/* The envelope decoded, for a test to change; fx_envelope_repack() packs it again. */
static inline Mintrace__V1__Envelope *fx_envelope_open(const void *bytes, size_t len)
{
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, len, bytes);
    assert_non_null(env);
    return env;
}

/* Packs env into a new buffer (free()) and frees env. */
static inline uint8_t *fx_envelope_repack(Mintrace__V1__Envelope *env, size_t *len)
{
    uint8_t *p = mt_message_pack(&env->base, len);
    assert_non_null(p);
    mintrace__v1__envelope__free_unpacked(env, NULL);
    return p;
}

/* Flips one bit of the byte at p[i]. */
static inline void fx_flip_bit(void *p, size_t i, int bit)
{
    ((unsigned char *)p)[i] ^= (unsigned char)(1u << bit);
}

/* The offset of needle in hay (which must hold it). */
static inline size_t fx_find(const void *hay, size_t len, const char *needle)
{
    const unsigned char *hit = memmem(hay, len, needle, strlen(needle));
    assert_non_null(hit);
    return (size_t)(hit - (const unsigned char *)hay);
}

/* An AttestedEvent of the submitted envelope bytes, attested by notary at now_ms (free()). */
static inline uint8_t *fx_attest(const fx_world *w, const mt_keypair *notary, const void *env, size_t env_len,
                                 int64_t now_ms, size_t *len)
{
    uint8_t *out = NULL;
    mt_verdict v;
    int rc = mt_notary_attest(notary, w->reg, FX_NETWORK, env, env_len, now_ms, &out, len, &v);
    if (rc != 0) fail_msg("attest refused (%d): %s", rc, v.detail);
    assert_non_null(out);
    return out;
}

/* ---- ledgers: the same tests with and without spilling to disk ---- */

/* Whether MT_TEST_SPILL is set (and not "0"): ledgers spill to a store under $TMPDIR
 * (mt_ledger_spill), so a test run both ways checks that spilling changes no decision, record or
 * root. */
static inline int fx_spilling(void)
{
    const char *on = getenv("MT_TEST_SPILL");
    return on && *on && strcmp(on, "0") != 0;
}

/* A new ledger (NULL when out of memory), spilled when fx_spilling(). */
static inline mt_ledger *fx_ledger_new(const mt_ledger_conf *conf)
{
    mt_ledger *l = mt_ledger_new(conf);
    char err[256];
    if (l && fx_spilling() && mt_ledger_spill(l, NULL, err, sizeof(err)) != 0) {
        mt_ledger_free(l);
        return NULL;
    }
    return l;
}

/* Runs a group of tests twice: ledgers in RAM, then spilled (fx_spilling()). */
#define fx_run_group_twice(name, tests, setup, teardown)                                                   \
    (unsetenv("MT_TEST_SPILL"), cmocka_run_group_tests_name(name, tests, setup, teardown)) |               \
        (setenv("MT_TEST_SPILL", "1", 1),                                                                  \
         cmocka_run_group_tests_name(name ", spilled to disk", tests, setup, teardown))

#endif /* MT_TEST_FIXTURES_H */
