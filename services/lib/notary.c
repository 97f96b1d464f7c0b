/* notary — the countersigning step: attest a validated envelope with the notary's time and key. */
#include "notary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name

int mt_notary_attest(const mt_keypair *notary, const mt_registry *reg, const char *network_id, const void *bytes,
                     size_t len, int64_t now_ms, uint8_t **out, size_t *outlen, mt_verdict *v) {
    int rc = -1;
    uint8_t *att_bytes = NULL, *att_env_bytes = NULL;
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, len, bytes);
    memset(v, 0, sizeof(*v));
    *out = NULL;
    if (!env || strcmp(env->payload_type, MT_PAYLOAD_EVENT) != 0 || env->n_signatures == 0) {
        /* validate never passes such bytes on; if they arrive here, someone wrote the topic */
        rc = mt_verdict_reject(v, R(UNDECODABLE_ENVELOPE), "not a signed BatchEvent envelope");
        goto done;
    }
    mt_hash(env->payload.data, env->payload.len, v->event_id);
    v->has_event_id = 1;
    const mt_registry_key *key = mt_registry_find_key(reg, env->signatures[0]->key_id);
    if (!key) {
        rc = mt_verdict_reject(v, R(UNKNOWN_KEY), "key %.64s is not in registry version %llu",
                               env->signatures[0]->key_id, (unsigned long long)mt_registry_version(reg));
        goto done;
    }
    snprintf(v->facility_id, sizeof(v->facility_id), "%s", key->facility->facility_id);
    int krc = mt_registry_key_valid_at(key, now_ms, v->detail, sizeof(v->detail));
    if (krc) {
        v->code = (mt_reason)krc;
        rc = krc;
        goto done;
    }

    unsigned char env_hash[MT_HASH_LEN];
    mt_hash(bytes, len, env_hash);
    Mintrace__V1__Attestation att = MINTRACE__V1__ATTESTATION__INIT;
    att.network_id = (char *)network_id;
    att.event_id = (ProtobufCBinaryData){MT_HASH_LEN, v->event_id};
    att.envelope_hash = (ProtobufCBinaryData){MT_HASH_LEN, env_hash};
    att.notary_time_ms = now_ms;
    att.registry_version = mt_registry_version(reg);
    size_t att_len, att_env_len;
    att_bytes = mt_message_pack(&att.base, &att_len);
    if (!att_bytes || mt_envelope_seal(notary, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY, MT_PAYLOAD_ATTESTATION,
                                       att_bytes, att_len, &att_env_bytes, &att_env_len))
        goto oom;

    Mintrace__V1__AttestedEvent ae = MINTRACE__V1__ATTESTED_EVENT__INIT;
    ae.envelope = (ProtobufCBinaryData){len, (uint8_t *)bytes};
    ae.attestation = (ProtobufCBinaryData){att_env_len, att_env_bytes};
    *out = mt_message_pack(&ae.base, outlen);
    if (!*out) goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(v->detail, sizeof(v->detail), "out of memory");
    rc = -1;
done:
    free(att_bytes);
    free(att_env_bytes);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

void mt_attested_release(mt_attested *a) {
    if (!a) return;
    if (a->att) mintrace__v1__attestation__free_unpacked(a->att, NULL);
    if (a->att_env) mintrace__v1__envelope__free_unpacked(a->att_env, NULL);
    if (a->ev) mintrace__v1__batch_event__free_unpacked(a->ev, NULL);
    if (a->env) mintrace__v1__envelope__free_unpacked(a->env, NULL);
    if (a->ae) mintrace__v1__attested_event__free_unpacked(a->ae, NULL);
    memset(a, 0, sizeof(*a));
}

/* Decodes every part of an AttestedEvent and computes its ids; verifies nothing. */
static int attested_decode(const void *bytes, size_t len, mt_attested *a, mt_verdict *v) {
    memset(a, 0, sizeof(*a));
    memset(v, 0, sizeof(*v));
    a->ae = mintrace__v1__attested_event__unpack(NULL, len, bytes);
    if (!a->ae) return mt_verdict_reject(v, R(UNDECODABLE_ENVELOPE), "not a mintrace.v1.AttestedEvent");
    a->env = mintrace__v1__envelope__unpack(NULL, a->ae->envelope.len, a->ae->envelope.data);
    if (!a->env || strcmp(a->env->payload_type, MT_PAYLOAD_EVENT) != 0)
        return mt_verdict_reject(v, R(UNDECODABLE_ENVELOPE), "attested envelope is not a BatchEvent envelope");
    mt_hash(a->env->payload.data, a->env->payload.len, a->event_id);
    memcpy(v->event_id, a->event_id, MT_HASH_LEN);
    v->has_event_id = 1;
    a->ev = mintrace__v1__batch_event__unpack(NULL, a->env->payload.len, a->env->payload.data);
    if (!a->ev) return mt_verdict_reject(v, R(UNDECODABLE_PAYLOAD), "attested payload is not a BatchEvent");
    snprintf(v->facility_id, sizeof(v->facility_id), "%s", a->ev->facility_id);

    mt_hash(a->ae->attestation.data, a->ae->attestation.len, a->attestation_hash);
    a->att_env = mintrace__v1__envelope__unpack(NULL, a->ae->attestation.len, a->ae->attestation.data);
    if (!a->att_env || strcmp(a->att_env->payload_type, MT_PAYLOAD_ATTESTATION) != 0 || a->att_env->n_signatures != 1 ||
        a->att_env->signatures[0]->role != MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_NOTARY ||
        a->att_env->signatures[0]->sig.len != MT_SIG_LEN)
        return mt_verdict_reject(v, R(BAD_ATTESTATION), "attestation is not one notary-signed Attestation envelope");
    a->att = mintrace__v1__attestation__unpack(NULL, a->att_env->payload.len, a->att_env->payload.data);
    if (!a->att) return mt_verdict_reject(v, R(BAD_ATTESTATION), "attestation payload is not decodable");
    return 0;
}

int mt_attested_open_verified(const void *bytes, size_t len, mt_attested *a, mt_verdict *v) {
    return attested_decode(bytes, len, a, v);
}

/* mt_attested_open, with the notary's signature checked here or (check_sig 0) by the caller. */
static int attested_open(const mt_registry *reg, const char *network_id, const void *bytes, size_t len, mt_attested *a,
                         mt_verdict *v, int check_sig) {
    int rc = attested_decode(bytes, len, a, v);
    if (rc) return rc;
    const Mintrace__V1__Signature *s = a->att_env->signatures[0];
    const mt_registry_key *key = mt_registry_find_key(reg, s->key_id);
    if (!key || key->facility->role != MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_NOTARY)
        return mt_verdict_reject(v, R(BAD_ATTESTATION), "attestation key %.64s is not a notary key of the registry",
                                 s->key_id);
    char why[200];
    if (mt_registry_key_valid_at(key, a->att->notary_time_ms, why, sizeof(why)))
        return mt_verdict_reject(v, R(BAD_ATTESTATION), "notary %s", why);
    if (check_sig &&
        mt_verify(key->pk, a->att_env->payload_type, a->att_env->payload.data, a->att_env->payload.len, s->sig.data))
        return mt_verdict_reject(v, R(BAD_ATTESTATION), "notary signature by %s does not verify", key->key_id);

    unsigned char env_hash[MT_HASH_LEN];
    mt_hash(a->ae->envelope.data, a->ae->envelope.len, env_hash);
    if (a->att->event_id.len != MT_HASH_LEN || memcmp(a->att->event_id.data, a->event_id, MT_HASH_LEN) ||
        a->att->envelope_hash.len != MT_HASH_LEN || memcmp(a->att->envelope_hash.data, env_hash, MT_HASH_LEN))
        return mt_verdict_reject(v, R(BAD_ATTESTATION), "attestation is for another envelope");
    if (strcmp(a->att->network_id, network_id) != 0)
        return mt_verdict_reject(v, R(WRONG_NETWORK), "attestation is for network '%.64s'", a->att->network_id);
    return 0;
}

int mt_attested_open(const mt_registry *reg, const char *network_id, const void *bytes, size_t len, mt_attested *a,
                     mt_verdict *v) {
    return attested_open(reg, network_id, bytes, len, a, v, 1);
}

int mt_attested_open_unsigned(const mt_registry *reg, const char *network_id, const void *bytes, size_t len,
                              mt_attested *a, mt_verdict *v) {
    return attested_open(reg, network_id, bytes, len, a, v, 0);
}
