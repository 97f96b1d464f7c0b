/* event — the rules every stage shares about envelopes and events: types, shape, verdicts. */
#include "event.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *mt_reason_name(mt_reason code) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mintrace__v1__reason_code__descriptor, (int)code);
    return v ? v->name + strlen("REASON_CODE_") : "UNKNOWN";
}

const char *mt_enum_name(const ProtobufCEnumDescriptor *desc, int value) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return v ? v->name : "?";
}

mt_reason mt_verdict_reject(mt_verdict *v, mt_reason code, const char *fmt, ...) {
    va_list ap;
    v->code = code;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);
    return code;
}

#define MALFORMED MINTRACE__V1__REASON_CODE__REASON_CODE_MALFORMED_EVENT

/* An id a human typed: 1..127 printable ASCII characters, no spaces. */
static int id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 127) return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~') return 0;
    return 1;
}

/* An element symbol: one capital letter, then at most two small ones ("Nd", "B", "Uue"). */
static int element_ok(const char *s) {
    if (!isupper((unsigned char)s[0])) return 0;
    for (size_t i = 1; s[i]; i++)
        if (i > 2 || !islower((unsigned char)s[i])) return 0;
    return 1;
}

static mt_reason check_elements(Mintrace__V1__ElementMass **el, size_t n, uint64_t total, const char *where,
                                mt_verdict *v) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!element_ok(el[i]->element))
            return mt_verdict_reject(v, MALFORMED, "%s.elements[%zu]: '%s' is not an element symbol", where, i,
                                     el[i]->element);
        for (size_t k = 0; k < i; k++)
            if (strcmp(el[k]->element, el[i]->element) == 0)
                return mt_verdict_reject(v, MALFORMED, "%s.elements: %s is listed twice", where, el[i]->element);
        if (el[i]->mass_mg > total || sum + el[i]->mass_mg > total)
            return mt_verdict_reject(v, MALFORMED, "%s: element masses exceed the total mass %llu mg", where,
                                     (unsigned long long)total);
        sum += el[i]->mass_mg;
    }
    return 0;
}

/* Mass-balance credits (allocations, a closing balance): known element symbols, each once. */
static mt_reason check_credits(Mintrace__V1__RecycledCredit **c, size_t n, const char *where, const char *field,
                               mt_verdict *v) {
    for (size_t i = 0; i < n; i++) {
        if (!element_ok(c[i]->element))
            return mt_verdict_reject(v, MALFORMED, "%s.%s[%zu]: '%s' is not an element symbol", where, field, i,
                                     c[i]->element);
        for (size_t k = 0; k < i; k++)
            if (strcmp(c[k]->element, c[i]->element) == 0)
                return mt_verdict_reject(v, MALFORMED, "%s.%s: %s is listed twice", where, field, c[i]->element);
    }
    return 0;
}

static mt_reason check_document(const Mintrace__V1__Document *d, const char *where, mt_verdict *v) {
    if (!d->kind[0] || !d->uri[0]) return mt_verdict_reject(v, MALFORMED, "%s: kind and uri are required", where);
    if (d->sha256.len != 0 && d->sha256.len != 32)
        return mt_verdict_reject(v, MALFORMED, "%s.sha256: %zu bytes, not 32", where, d->sha256.len);
    return 0;
}

/* Which detail a kind carries (0 = none). */
static uint32_t detail_for_kind(Mintrace__V1__EventKind k) {
    switch (k) {
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT: return MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_TRANSFER: return MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE: return MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECYCLE: return MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION: return MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXIT: return MINTRACE__V1__BATCH_EVENT__DETAIL_EXIT;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_LOSS: return MINTRACE__V1__BATCH_EVENT__DETAIL_LOSS;
    case MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE: return MINTRACE__V1__BATCH_EVENT__DETAIL_BALANCE;
    default: return 0;
    }
}

mt_reason mt_event_check_shape(const Mintrace__V1__BatchEvent *ev, mt_verdict *v) {
    typedef Mintrace__V1__EventKind K;
    K kind = ev->kind;
    char where[64];

    if (!id_ok(ev->facility_id)) return mt_verdict_reject(v, MALFORMED, "facility_id: missing or not a plain id");
    if (kind <= MINTRACE__V1__EVENT_KIND__EVENT_KIND_UNSPECIFIED ||
        kind > MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE)
        return mt_verdict_reject(v, MALFORMED, "kind: missing or unknown (%d)", (int)kind);
    if (ev->seq == 0) return mt_verdict_reject(v, MALFORMED, "seq: missing (chains start at 1)");
    if (ev->seq == 1 && ev->prev.len != 0) return mt_verdict_reject(v, MALFORMED, "prev: must be empty when seq is 1");
    if (ev->seq > 1 && ev->prev.len != MT_HASH_LEN)
        return mt_verdict_reject(v, MALFORMED, "prev: %zu bytes, need the 32-byte id of event %llu", ev->prev.len,
                                 (unsigned long long)(ev->seq - 1));
    if (ev->time_ms <= 0) return mt_verdict_reject(v, MALFORMED, "time_ms: missing");
    if (!ev->site || strlen(ev->site->country) != 2 || !isupper((unsigned char)ev->site->country[0]) ||
        !isupper((unsigned char)ev->site->country[1]))
        return mt_verdict_reject(v, MALFORMED, "site.country: need an ISO 3166-1 alpha-2 code");

    uint32_t want = detail_for_kind(kind);
    if (ev->detail_case != MINTRACE__V1__BATCH_EVENT__DETAIL__NOT_SET && ev->detail_case != want)
        return mt_verdict_reject(v, MALFORMED, "detail: does not belong to this kind of event");
    if ((kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_TRANSFER || kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE ||
         kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION || kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECYCLE ||
         kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE) &&
        ev->detail_case != want)
        return mt_verdict_reject(v, MALFORMED, "detail: this kind of event needs its detail");

    /* Which kinds consume and which create. */
    int need_inputs = kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT && kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECYCLE &&
                      kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION && kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE;
    int no_outputs = kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_TRANSFER || kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE ||
                     kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_LOSS ||
                     kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXIT || kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_CORRECTION ||
                     kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE;
    if (need_inputs && ev->n_inputs == 0) return mt_verdict_reject(v, MALFORMED, "inputs: this kind of event consumes batches");
    if (kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_EXTRACT && ev->n_inputs)
        return mt_verdict_reject(v, MALFORMED, "inputs: EXTRACT creates from the ground and consumes nothing");
    if (no_outputs && ev->n_outputs) return mt_verdict_reject(v, MALFORMED, "outputs: this kind of event creates no batch");
    if (kind == MINTRACE__V1__EVENT_KIND__EVENT_KIND_BALANCE && (ev->n_inputs || ev->n_untracked_inputs))
        return mt_verdict_reject(v, MALFORMED, "inputs: a BALANCE moves credits, not material");
    if (!no_outputs && ev->n_outputs == 0) return mt_verdict_reject(v, MALFORMED, "outputs: this kind of event creates batches");

    for (size_t i = 0; i < ev->n_inputs; i++) {
        if (!id_ok(ev->inputs[i]->batch_id))
            return mt_verdict_reject(v, MALFORMED, "inputs[%zu].batch_id: missing or not a plain id", i);
        if (ev->inputs[i]->mass_mg == 0) return mt_verdict_reject(v, MALFORMED, "inputs[%zu].mass_mg: must be > 0", i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(ev->inputs[k]->batch_id, ev->inputs[i]->batch_id) == 0)
                return mt_verdict_reject(v, MALFORMED, "inputs: batch %s is listed twice", ev->inputs[i]->batch_id);
    }
    for (size_t i = 0; i < ev->n_outputs; i++) {
        const Mintrace__V1__BatchOutput *o = ev->outputs[i];
        snprintf(where, sizeof(where), "outputs[%zu]", i);
        if (!id_ok(o->batch_id)) return mt_verdict_reject(v, MALFORMED, "%s.batch_id: missing or not a plain id", where);
        if (!o->material[0]) return mt_verdict_reject(v, MALFORMED, "%s.material: missing", where);
        if (o->mass_mg == 0) return mt_verdict_reject(v, MALFORMED, "%s.mass_mg: must be > 0", where);
        for (size_t k = 0; k < i; k++)
            if (strcmp(ev->outputs[k]->batch_id, o->batch_id) == 0)
                return mt_verdict_reject(v, MALFORMED, "outputs: batch %s is created twice", o->batch_id);
        if (check_elements(o->elements, o->n_elements, o->mass_mg, where, v)) return v->code;
        if (o->n_allocations && kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_PROCESS &&
            kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_MANUFACTURE && kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECYCLE)
            return mt_verdict_reject(v, MALFORMED, "%s.allocations: only outputs of PROCESS, MANUFACTURE and RECYCLE", where);
        if (check_credits(o->allocations, o->n_allocations, where, "allocations", v)) return v->code;
    }
    for (size_t i = 0; i < ev->n_untracked_inputs; i++) {
        const Mintrace__V1__UntrackedInput *u = ev->untracked_inputs[i];
        snprintf(where, sizeof(where), "untracked_inputs[%zu]", i);
        if (!u->material[0] || u->mass_mg == 0)
            return mt_verdict_reject(v, MALFORMED, "%s: material and a mass > 0 are required", where);
        if (check_elements(u->elements, u->n_elements, u->mass_mg, where, v)) return v->code;
        if (u->document && check_document(u->document, where, v)) return v->code;
    }
    for (size_t i = 0; i < ev->n_documents; i++) {
        snprintf(where, sizeof(where), "documents[%zu]", i);
        if (check_document(ev->documents[i], where, v)) return v->code;
    }
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER && !id_ok(ev->transfer->destination_facility_id))
        return mt_verdict_reject(v, MALFORMED, "transfer.destination_facility_id: missing");
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE && ev->receive->transfer_event_id.len != MT_HASH_LEN)
        return mt_verdict_reject(v, MALFORMED, "receive.transfer_event_id: need the 32-byte id of the TRANSFER");
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION &&
        ev->correction->corrected_event_id.len != MT_HASH_LEN)
        return mt_verdict_reject(v, MALFORMED, "correction.corrected_event_id: need a 32-byte event id");
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE &&
        ev->recycle->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNSPECIFIED)
        return mt_verdict_reject(v, MALFORMED, "recycle.feedstock: missing");
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE) /* returned EXITed material */
        for (size_t i = 0; i < ev->recycle->n_returns; i++) {
            const Mintrace__V1__ReturnedInput *r = ev->recycle->returns[i];
            if (!id_ok(r->batch_id))
                return mt_verdict_reject(v, MALFORMED, "recycle.returns[%zu].batch_id: missing or not a plain id", i);
            if (r->mass_mg == 0) return mt_verdict_reject(v, MALFORMED, "recycle.returns[%zu].mass_mg: must be > 0", i);
            for (size_t k = 0; k < i; k++)
                if (strcmp(ev->recycle->returns[k]->batch_id, r->batch_id) == 0)
                    return mt_verdict_reject(v, MALFORMED, "recycle.returns: batch %s is listed twice", r->batch_id);
        }
    if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_BALANCE) {
        if (ev->balance->period_start_ms < 0)
            return mt_verdict_reject(v, MALFORMED, "balance.period_start_ms: negative");
        if (check_credits(ev->balance->closing, ev->balance->n_closing, "balance", "closing", v)) return v->code;
    }
    return 0;
}

uint8_t *mt_rejection_pack(const mt_verdict *v, Mintrace__V1__Stage stage, const void *original, size_t len,
                           const char *topic, int32_t partition, int64_t offset, int64_t now_ms,
                           size_t *outlen) {
    Mintrace__V1__Rejection r = MINTRACE__V1__REJECTION__INIT;
    r.code = v->code;
    r.detail = (char *)v->detail;
    r.stage = stage;
    r.original = (ProtobufCBinaryData){len, (uint8_t *)original};
    r.source_topic = (char *)(topic ? topic : "");
    r.source_partition = partition;
    r.source_offset = offset;
    if (v->has_event_id) r.event_id = (ProtobufCBinaryData){MT_HASH_LEN, (uint8_t *)v->event_id};
    r.facility_id = (char *)v->facility_id;
    r.time_ms = now_ms;
    return mt_message_pack(&r.base, outlen);
}

int mt_envelope_seal(const mt_keypair *kp, Mintrace__V1__SignerRole role, const char *payload_type,
                     const void *payload, size_t len, uint8_t **out, size_t *outlen) {
    unsigned char sig[MT_SIG_LEN];
    if (mt_sign(kp, payload_type, payload, len, sig)) return -1;
    Mintrace__V1__Signature s = MINTRACE__V1__SIGNATURE__INIT, *sp = &s;
    s.key_id = (char *)kp->key_id;
    s.sig = (ProtobufCBinaryData){MT_SIG_LEN, sig};
    s.role = role;
    Mintrace__V1__Envelope env = MINTRACE__V1__ENVELOPE__INIT;
    env.payload_type = (char *)payload_type;
    env.payload = (ProtobufCBinaryData){len, (uint8_t *)payload};
    env.n_signatures = 1;
    env.signatures = &sp;
    *out = mt_message_pack(&env.base, outlen);
    return *out ? 0 : -1;
}
