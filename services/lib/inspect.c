/* inspect — any mintrace topic's message as JSON, nested envelopes opened for reading. */
#include "inspect.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"

static const struct {
    const char *topic, *type;
} topic_types[] = {
    {"events.submitted", "mintrace.v1.Envelope"}, {"events.validated", "mintrace.v1.Envelope"},
    {"events.attested", "mintrace.v1.AttestedEvent"}, {"rejected", "mintrace.v1.Rejection"},
    {"ledger", "mintrace.v1.LedgerEntry"},           {"checkpoints", "mintrace.v1.Envelope"},
    {"provenance", "mintrace.v1.ProvenanceRecord"},  {"receipts", "mintrace.v1.Envelope"},
    {"registry", "mintrace.v1.Envelope"},           {"findings", "mintrace.v1.Finding"},
};

const char *mt_inspect_type_of_topic(const char *short_name) {
    for (size_t i = 0; i < sizeof(topic_types) / sizeof(topic_types[0]); i++)
        if (strcmp(topic_types[i].topic, short_name) == 0) return topic_types[i].type;
    if (strncmp(short_name, "receipts.", 9) == 0) return "mintrace.v1.Envelope"; /* a facility's own */
    return NULL;
}

/* Which bytes fields hold a serialized message, and of which type. A NULL type means "the
 * type named by the payload_type field beside it". */
static const struct {
    const char *msg, *field, *type;
} nested[] = {
    {"mintrace.v1.Envelope", "payload", NULL},
    {"mintrace.v1.AttestedEvent", "envelope", "mintrace.v1.Envelope"},
    {"mintrace.v1.AttestedEvent", "attestation", "mintrace.v1.Envelope"},
    {"mintrace.v1.LedgerEntry", "rejection", "mintrace.v1.Rejection"},
    {"mintrace.v1.LedgerEntry", "registry_change", "mintrace.v1.Envelope"},
};

/* Serialized messages nested deeper than this are not opened: real ones nest 2 deep (LedgerEntry >
 * attestation > payload); crafted bytes could nest one level per ~25 bytes, and each level
 * copies the rest. */
#define MAX_NESTING 8

static void open_nested(const ProtobufCMessage *m, json_t *obj, const mt_registry *reg, int depth);

static json_t *decode_msg(const ProtobufCMessageDescriptor *d, const void *bytes, size_t len, int deep,
                          const mt_registry *reg, int depth, char *errstr, size_t errstr_size) {
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, bytes);
    if (!m) {
        snprintf(errstr, errstr_size, "%zu bytes that are not a %s", len, d->name);
        return NULL;
    }
    json_t *j = mt_json_from_message(m, errstr, errstr_size);
    if (j && deep) open_nested(m, j, reg, depth);
    protobuf_c_message_free_unpacked(m, NULL);
    return j;
}

/* Adds "<field>_decoded" for every nested serialized message of m, recursively. */
/* "signatures_verified" of an envelope: true, or why not, per signature. */
static json_t *verify_envelope(const Mintrace__V1__Envelope *env, const mt_registry *reg) {
    json_t *arr = json_array();
    for (size_t i = 0; i < env->n_signatures; i++) {
        const Mintrace__V1__Signature *s = env->signatures[i];
        const mt_registry_key *k = mt_registry_find_key(reg, s->key_id);
        json_t *r;
        if (!k)
            r = json_string("unknown key");
        else if (s->sig.len != MT_SIG_LEN ||
                 mt_verify(k->pk, env->payload_type, env->payload.data, env->payload.len, s->sig.data))
            r = json_string("signature does not verify");
        else
            r = json_true();
        json_array_append_new(arr, r);
    }
    return arr;
}

static void open_nested(const ProtobufCMessage *m, json_t *obj, const mt_registry *reg, int depth) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (reg && d == &mintrace__v1__envelope__descriptor)
        json_object_set_new(obj, "signatures_verified", verify_envelope((const Mintrace__V1__Envelope *)m, reg));
    for (size_t i = 0; i < sizeof(nested) / sizeof(nested[0]); i++) {
        if (strcmp(nested[i].msg, d->name) != 0) continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, nested[i].field);
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof: the union holds something else */
        const ProtobufCBinaryData *bd = (const void *)((const char *)m + f->offset);
        if (!bd->len) continue;
        const char *type = nested[i].type;
        if (!type) {
            const ProtobufCFieldDescriptor *pt = protobuf_c_message_descriptor_get_field_by_name(d, "payload_type");
            type = *(char *const *)((const char *)m + pt->offset);
            unsigned char id[MT_HASH_LEN];
            char hex[2 * MT_HASH_LEN + 1];
            mt_hash(bd->data, bd->len, id);
            mt_hex_encode(id, MT_HASH_LEN, hex);
            json_object_set_new(obj, "event_id", json_string(hex));
        }
        const ProtobufCMessageDescriptor *nd = mt_descriptor_by_name(type);
        if (!nd) continue;
        char err[128], key[64];
        snprintf(key, sizeof(key), "%s_decoded", nested[i].field);
        if (depth >= MAX_NESTING) {
            json_object_set_new(obj, key, json_string("nested too deep: not opened"));
            continue;
        }
        json_t *sub = decode_msg(nd, bd->data, bd->len, 1, reg, depth + 1, err, sizeof(err));
        json_object_set_new(obj, key, sub ? sub : json_string(err));
    }
    /* go down into set sub-messages too (LedgerEntry.event is an AttestedEvent) */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED) continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)((const char *)m + f->offset);
        json_t *jsub = json_object_get(obj, f->name);
        if (sub && jsub) open_nested(sub, jsub, reg, depth);
    }
}

json_t *mt_inspect_decode(const char *type, const void *bytes, size_t len, int deep, const mt_registry *reg,
                          char *errstr, size_t errstr_size) {
    const ProtobufCMessageDescriptor *d = mt_descriptor_by_name(type);
    if (!d) {
        snprintf(errstr, errstr_size, "unknown message type '%s'", type);
        return NULL;
    }
    return decode_msg(d, bytes, len, deep, reg, 0, errstr, errstr_size);
}
