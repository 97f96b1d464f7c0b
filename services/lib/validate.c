/* validate — the stateless check of a submitted envelope: shape, key, facility, signature. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name

mt_reason mt_validate_envelope(const mt_registry *reg, const char *network_id, const void *bytes, size_t len,
                               int64_t now_ms, mt_verdict *v) {
    Mintrace__V1__Envelope *env = NULL;
    Mintrace__V1__BatchEvent *ev = NULL;
    memset(v, 0, sizeof(*v));

    env = mintrace__v1__envelope__unpack(NULL, len, bytes);
    if (!env) {
        mt_verdict_reject(v, R(UNDECODABLE_ENVELOPE), "%zu bytes that are not a mintrace.v1.Envelope", len);
        goto done;
    }
    if (strcmp(env->payload_type, MT_PAYLOAD_EVENT) != 0) {
        mt_verdict_reject(v, R(WRONG_PAYLOAD_TYPE), "payload type '%.64s', expected %s", env->payload_type,
                          MT_PAYLOAD_EVENT);
        goto done;
    }
    mt_hash(env->payload.data, env->payload.len, v->event_id);
    v->has_event_id = 1;
    ev = mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data);
    if (!ev) {
        mt_verdict_reject(v, R(UNDECODABLE_PAYLOAD), "payload is not a decodable mintrace.v1.BatchEvent");
        goto done;
    }
    snprintf(v->facility_id, sizeof(v->facility_id), "%s", ev->facility_id);
    if (strcmp(ev->network_id, network_id) != 0) {
        mt_verdict_reject(v, R(WRONG_NETWORK), "event is for network '%.64s', this is '%.64s'", ev->network_id,
                          network_id);
        goto done;
    }
    if (mt_event_check_shape(ev, v)) goto done;

    if (env->n_signatures == 0 || env->signatures[0]->role != MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY ||
        env->signatures[0]->sig.len != MT_SIG_LEN) {
        mt_verdict_reject(v, R(MISSING_SIGNATURE), "the first signature must be a 64-byte facility signature");
        goto done;
    }
    const Mintrace__V1__Signature *sig = env->signatures[0];
    const mt_registry_key *key = mt_registry_find_key(reg, sig->key_id);
    if (!key) {
        mt_verdict_reject(v, R(UNKNOWN_KEY), "key %.64s is not in registry version %llu", sig->key_id,
                          (unsigned long long)mt_registry_version(reg));
        goto done;
    }
    if (strcmp(key->facility->facility_id, ev->facility_id) != 0) {
        mt_verdict_reject(v, R(KEY_FACILITY_MISMATCH), "key %s belongs to %s, the event names %s", key->key_id,
                          key->facility->facility_id, ev->facility_id);
        goto done;
    }
    int rc = mt_registry_key_valid_at(key, now_ms, v->detail, sizeof(v->detail));
    if (rc) {
        v->code = (mt_reason)rc;
        goto done;
    }
    if (!mt_role_allows(key->facility->role, ev->kind)) {
        mt_verdict_reject(v, R(ROLE_NOT_ALLOWED), "%s is a %s and may not emit %s", ev->facility_id,
                          mt_enum_name(&mintrace__v1__facility_role__descriptor, key->facility->role),
                          mt_enum_name(&mintrace__v1__event_kind__descriptor, ev->kind));
        goto done;
    }
    if (mt_verify(key->pk, env->payload_type, env->payload.data, env->payload.len, sig->sig.data)) {
        mt_verdict_reject(v, R(BAD_SIGNATURE), "signature by key %s does not verify", key->key_id);
        goto done;
    }
done:
    if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return v->code;
}
