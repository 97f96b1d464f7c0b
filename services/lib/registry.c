/* registry — who takes part, in which role, with which keys: a governance-signed snapshot. */
#include "registry.h"

#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_registry {
    uint8_t *bytes; /* the envelope as read (kept: env points into it) */
    Mintrace__V1__Envelope *env;
    Mintrace__V1__Registry *reg;
    mt_registry_key *keys; /* sorted by key_id */
    size_t n_keys;
    const Mintrace__V1__FacilityRecord **facilities; /* sorted by facility_id */
    size_t n_facilities;
};

static int key_cmp(const void *a, const void *b) {
    return strcmp(((const mt_registry_key *)a)->key_id, ((const mt_registry_key *)b)->key_id);
}

static int facility_cmp(const void *a, const void *b) {
    const Mintrace__V1__FacilityRecord *const *fa = a, *const *fb = b;
    return strcmp((*fa)->facility_id, (*fb)->facility_id);
}

void mt_registry_destroy(mt_registry *r) {
    if (!r) return;
    free(r->keys);
    free(r->facilities);
    if (r->reg) mintrace__v1__registry__free_unpacked(r->reg, NULL);
    if (r->env) mintrace__v1__envelope__free_unpacked(r->env, NULL);
    free(r->bytes);
    free(r);
}

/* Checks and indexes the decoded registry: every key well formed and its id matching its
 * public key, no duplicate facility or key. */
static int registry_index(mt_registry *r, const char *source, char *errstr, size_t errstr_size) {
    Mintrace__V1__Registry *reg = r->reg;
    size_t nk = 0;
    for (size_t i = 0; i < reg->n_facilities; i++) nk += reg->facilities[i]->n_keys;
    r->keys = calloc(nk ? nk : 1, sizeof(*r->keys));
    r->facilities = calloc(reg->n_facilities ? reg->n_facilities : 1, sizeof(*r->facilities));
    if (!r->keys || !r->facilities) {
        snprintf(errstr, errstr_size, "%s: out of memory", source);
        return -1;
    }
    for (size_t i = 0; i < reg->n_facilities; i++) {
        const Mintrace__V1__FacilityRecord *f = reg->facilities[i];
        if (!f->facility_id[0]) {
            snprintf(errstr, errstr_size, "%s: facility %zu has no facility_id", source, i);
            return -1;
        }
        r->facilities[r->n_facilities++] = f;
        for (size_t k = 0; k < f->n_keys; k++) {
            const Mintrace__V1__FacilityKey *fk = f->keys[k];
            char id[MT_KEY_ID_LEN + 1];
            if (fk->public_key.len != MT_PK_LEN) {
                snprintf(errstr, errstr_size, "%s: facility %s key %zu: public_key is %zu bytes, not %d",
                         source, f->facility_id, k, fk->public_key.len, MT_PK_LEN);
                return -1;
            }
            mt_key_id(fk->public_key.data, id);
            if (strcmp(id, fk->key_id) != 0) {
                snprintf(errstr, errstr_size, "%s: facility %s: key_id '%s' does not match its public key (%s)",
                         source, f->facility_id, fk->key_id, id);
                return -1;
            }
            r->keys[r->n_keys++] = (mt_registry_key){fk->key_id, fk->public_key.data, fk, f};
        }
    }
    qsort(r->keys, r->n_keys, sizeof(*r->keys), key_cmp);
    qsort(r->facilities, r->n_facilities, sizeof(*r->facilities), facility_cmp);
    for (size_t i = 1; i < r->n_keys; i++)
        if (strcmp(r->keys[i - 1].key_id, r->keys[i].key_id) == 0) {
            snprintf(errstr, errstr_size, "%s: key %s is listed twice", source, r->keys[i].key_id);
            return -1;
        }
    for (size_t i = 1; i < r->n_facilities; i++)
        if (strcmp(r->facilities[i - 1]->facility_id, r->facilities[i]->facility_id) == 0) {
            snprintf(errstr, errstr_size, "%s: facility %s is listed twice", source, r->facilities[i]->facility_id);
            return -1;
        }
    return 0;
}

mt_registry *mt_registry_from_envelope(const void *bytes, size_t len, const char *source,
                                       const unsigned char gov_pk[MT_PK_LEN], const char *network_id,
                                       char *errstr, size_t errstr_size) {
    mt_registry *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->bytes = malloc(len ? len : 1);
    if (!r->bytes) goto fail;
    memcpy(r->bytes, bytes, len);
    r->env = mintrace__v1__envelope__unpack(NULL, len, r->bytes);
    if (!r->env) {
        snprintf(errstr, errstr_size, "%s: not a serialized mintrace.v1.Envelope", source);
        goto fail;
    }
    if (strcmp(r->env->payload_type, MT_PAYLOAD_REGISTRY) != 0) {
        snprintf(errstr, errstr_size, "%s: payload type is '%s', not %s", source, r->env->payload_type,
                 MT_PAYLOAD_REGISTRY);
        goto fail;
    }
    int signed_ok = 0;
    for (size_t i = 0; i < r->env->n_signatures && !signed_ok; i++) {
        const Mintrace__V1__Signature *s = r->env->signatures[i];
        signed_ok = s->role == MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_GOVERNANCE && s->sig.len == MT_SIG_LEN &&
                    mt_verify(gov_pk, r->env->payload_type, r->env->payload.data, r->env->payload.len,
                              s->sig.data) == 0;
    }
    if (!signed_ok) {
        char id[MT_KEY_ID_LEN + 1];
        mt_key_id(gov_pk, id);
        snprintf(errstr, errstr_size, "%s: no valid signature by the governance key %s", source, id);
        goto fail;
    }
    r->reg = mintrace__v1__registry__unpack(NULL, r->env->payload.len, r->env->payload.data);
    if (!r->reg) {
        snprintf(errstr, errstr_size, "%s: signed payload is not a decodable Registry", source);
        goto fail;
    }
    if (network_id && strcmp(r->reg->network_id, network_id) != 0) {
        snprintf(errstr, errstr_size, "%s: registry is for network '%s', this service runs '%s'", source,
                 r->reg->network_id, network_id);
        goto fail;
    }
    if (registry_index(r, source, errstr, errstr_size)) goto fail;
    return r;
fail:
    mt_registry_destroy(r);
    return NULL;
}

mt_registry *mt_registry_load(const char *path, const unsigned char gov_pk[MT_PK_LEN],
                              const char *network_id, char *errstr, size_t errstr_size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errstr, errstr_size, "%s: %m", path);
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(fp);
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) break;
    }
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr) {
        free(buf);
        snprintf(errstr, errstr_size, "%s: read error", path);
        return NULL;
    }
    mt_registry *r = mt_registry_from_envelope(buf, len, path, gov_pk, network_id, errstr, errstr_size);
    free(buf);
    return r;
}

int mt_registry_sign(const Mintrace__V1__Registry *r, const mt_keypair *gov, uint8_t **out, size_t *outlen,
                     char *errstr, size_t errstr_size) {
    size_t plen;
    uint8_t *payload = mt_message_pack(&r->base, &plen);
    int rc = payload ? mt_envelope_seal(gov, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_GOVERNANCE, MT_PAYLOAD_REGISTRY,
                                        payload, plen, out, outlen)
                     : -1;
    free(payload);
    if (rc) snprintf(errstr, errstr_size, "cannot sign the registry: out of memory");
    return rc;
}

const mt_registry_key *mt_registry_find_key(const mt_registry *r, const char *key_id) {
    mt_registry_key probe = {.key_id = key_id};
    return bsearch(&probe, r->keys, r->n_keys, sizeof(*r->keys), key_cmp);
}

const Mintrace__V1__FacilityRecord *mt_registry_find_facility(const mt_registry *r, const char *facility_id) {
    Mintrace__V1__FacilityRecord probe = {.facility_id = (char *)facility_id};
    const Mintrace__V1__FacilityRecord *pp = &probe;
    const Mintrace__V1__FacilityRecord **hit = bsearch(&pp, r->facilities, r->n_facilities,
                                                       sizeof(*r->facilities), facility_cmp);
    return hit ? *hit : NULL;
}

const Mintrace__V1__Registry *mt_registry_snapshot(const mt_registry *r) {
    return r->reg;
}

uint64_t mt_registry_version(const mt_registry *r) {
    return r->reg->version;
}

int mt_registry_key_valid_at(const mt_registry_key *k, int64_t t_ms, char *errstr, size_t errstr_size) {
    const Mintrace__V1__FacilityKey *fk = k->key;
    if (fk->revoked_at_ms && t_ms >= fk->revoked_at_ms) {
        snprintf(errstr, errstr_size, "key %s of %s was revoked at %lld, event attested at %lld", k->key_id,
                 k->facility->facility_id, (long long)fk->revoked_at_ms, (long long)t_ms);
        return MINTRACE__V1__REASON_CODE__REASON_CODE_KEY_REVOKED;
    }
    if ((fk->valid_from_ms && t_ms < fk->valid_from_ms) || (fk->valid_until_ms && t_ms >= fk->valid_until_ms)) {
        snprintf(errstr, errstr_size, "key %s of %s is valid in [%lld, %lld), event attested at %lld", k->key_id,
                 k->facility->facility_id, (long long)fk->valid_from_ms, (long long)fk->valid_until_ms,
                 (long long)t_ms);
        return MINTRACE__V1__REASON_CODE__REASON_CODE_KEY_NOT_VALID;
    }
    return 0;
}

int mt_role_allows(Mintrace__V1__FacilityRole role, Mintrace__V1__EventKind kind) {
    /* Every holder may move, repack, write off, sell out and correct what it holds; only the
     * transforming kinds are tied to a role. */
    switch (kind) {
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT: return role == MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_MINE;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS: return role == MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_REFINER;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_MANUFACTURE:
        return role == MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_MAGNET_MAKER;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECYCLE: return role == MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_RECYCLER;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_SPLIT:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_MERGE:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_TRANSFER:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_LOSS:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXIT:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION:
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE: /* the ledger refuses it from a facility not under mass balance */
        return role >= MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_MINE &&
               role <= MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_TRADER;
    default: return 0;
    }
}
