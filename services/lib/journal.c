/* journal — the ledger's entries and their Merkle leaves (RFC 9162 hashing). */
#include "journal.h"

#include <stdlib.h>
#include <string.h>

void mt_journal_key(uint64_t index, unsigned char key[8]) {
    for (int i = 7; i >= 0; i--, index >>= 8) key[i] = (unsigned char)index;
}

void mt_leaf_hash(uint64_t index, int type, const unsigned char subject[MT_HASH_LEN],
                  const unsigned char statement[MT_HASH_LEN], unsigned char out[MT_HASH_LEN]) {
    unsigned char buf[1 + MT_LEAF_LEN];
    buf[0] = 0x00; /* RFC 9162 leaf prefix */
    buf[1] = 1;    /* leaf version */
    mt_journal_key(index, buf + 2);
    buf[10] = (unsigned char)type;
    memcpy(buf + 11, subject, MT_HASH_LEN);
    memcpy(buf + 11 + MT_HASH_LEN, statement, MT_HASH_LEN);
    mt_sha256(buf, sizeof(buf), out);
}

uint8_t *mt_journal_event_entry(uint64_t index, const mt_attested *a, size_t *outlen) {
    unsigned char leaf[MT_HASH_LEN];
    mt_leaf_hash(index, MT_LEAF_EVENT, a->event_id, a->attestation_hash, leaf);
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = index;
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
    e.event = a->ae;
    return mt_message_pack(&e.base, outlen);
}

uint8_t *mt_journal_rejection_entry(uint64_t index, const void *rej, size_t len, size_t *outlen) {
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, len, rej);
    if (!r) return NULL;
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN], leaf[MT_HASH_LEN];
    mt_hash(r->original.data, r->original.len, subject);
    mt_hash(rej, len, statement);
    mt_leaf_hash(index, MT_LEAF_REJECTION, subject, statement, leaf);
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    e.index = index;
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION;
    e.rejection = (ProtobufCBinaryData){len, (uint8_t *)rej};
    mintrace__v1__rejection__free_unpacked(r, NULL);
    return mt_message_pack(&e.base, outlen);
}

static void set_source(Mintrace__V1__LedgerEntry *e, const mt_decision *d) {
    e->source_topic = (char *)(d->source_topic ? d->source_topic : "");
    e->source_partition = d->source_partition;
    e->source_offset = d->source_offset;
}

int mt_journal_entry(const mt_decision *d, int64_t now_ms, uint8_t **out, size_t *outlen,
                     unsigned char leaf[MT_HASH_LEN]) {
    Mintrace__V1__LedgerEntry e = MINTRACE__V1__LEDGER_ENTRY__INIT;
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN];
    uint8_t *rej = NULL;
    Mintrace__V1__AttestedEvent *ae = NULL;
    Mintrace__V1__Envelope *env = NULL;
    Mintrace__V1__Duplicate dup = MINTRACE__V1__DUPLICATE__INIT;
    int rc = -1;
    *out = NULL;
    e.index = d->index;
    set_source(&e, d);

    switch (d->kind) {
    case MT_DECIDED_ACCEPTED:
        ae = mintrace__v1__attested_event__unpack(NULL, d->len, d->bytes);
        env = ae ? mintrace__v1__envelope__unpack(NULL, ae->envelope.len, ae->envelope.data) : NULL;
        if (!env) goto done;
        mt_hash(env->payload.data, env->payload.len, subject);
        mt_hash(ae->attestation.data, ae->attestation.len, statement);
        mt_leaf_hash(d->index, MT_LEAF_EVENT, subject, statement, leaf);
        e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT;
        e.event = ae;
        break;
    case MT_DECIDED_DUPLICATE:
        mt_hash(d->bytes, d->len, statement);
        memcpy(subject, d->verdict.event_id, MT_HASH_LEN);
        if (!d->verdict.has_event_id) { /* the ledger always knows it; recompute to be safe */
            ae = mintrace__v1__attested_event__unpack(NULL, d->len, d->bytes);
            env = ae ? mintrace__v1__envelope__unpack(NULL, ae->envelope.len, ae->envelope.data) : NULL;
            if (!env) goto done;
            mt_hash(env->payload.data, env->payload.len, subject);
        }
        mt_leaf_hash(d->index, MT_LEAF_DUPLICATE, subject, statement, leaf);
        dup.event_id = (ProtobufCBinaryData){MT_HASH_LEN, subject};
        dup.first_index = d->first_index;
        dup.attested = (ProtobufCBinaryData){d->len, (uint8_t *)d->bytes};
        e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE;
        e.duplicate = &dup;
        break;
    case MT_DECIDED_REGISTRY:
        env = mintrace__v1__envelope__unpack(NULL, d->len, d->bytes);
        if (!env) goto done;
        mt_hash(env->payload.data, env->payload.len, subject);
        mt_hash(d->bytes, d->len, statement);
        mt_leaf_hash(d->index, MT_LEAF_REGISTRY, subject, statement, leaf);
        e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE;
        e.registry_change = (ProtobufCBinaryData){d->len, (uint8_t *)d->bytes};
        break;
    case MT_DECIDED_REJECTED:
    case MT_NOTED_REJECTION: {
        const uint8_t *rb = d->bytes;
        size_t rlen = d->len;
        if (d->kind == MT_DECIDED_REJECTED) {
            rej = mt_rejection_pack(&d->verdict, MINTRACE__V1__STAGE__STAGE_AGGREGATE, d->bytes, d->len,
                                    d->source_topic, d->source_partition, d->source_offset, now_ms, &rlen);
            if (!rej) goto done;
            rb = rej;
            mt_hash(d->bytes, d->len, subject);
        } else {
            Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, d->len, d->bytes);
            if (!r) goto done;
            mt_hash(r->original.data, r->original.len, subject);
            mintrace__v1__rejection__free_unpacked(r, NULL);
        }
        mt_hash(rb, rlen, statement);
        mt_leaf_hash(d->index, MT_LEAF_REJECTION, subject, statement, leaf);
        e.entry_case = MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION;
        e.rejection = (ProtobufCBinaryData){rlen, (uint8_t *)rb};
        break;
    }
    }
    e.leaf_hash = (ProtobufCBinaryData){MT_HASH_LEN, leaf};
    *out = mt_message_pack(&e.base, outlen);
    rc = *out ? 0 : -1;
done:
    free(rej);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    if (ae) mintrace__v1__attested_event__free_unpacked(ae, NULL);
    return rc;
}

int mt_journal_leaf_of(const Mintrace__V1__LedgerEntry *e, unsigned char leaf[MT_HASH_LEN]) {
    unsigned char subject[MT_HASH_LEN], statement[MT_HASH_LEN];
    Mintrace__V1__Envelope *env = NULL;
    Mintrace__V1__Rejection *r = NULL;
    int type;
    switch (e->entry_case) {
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT:
        env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
        if (!env) return -1;
        mt_hash(env->payload.data, env->payload.len, subject);
        mt_hash(e->event->attestation.data, e->event->attestation.len, statement);
        type = MT_LEAF_EVENT;
        break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE: {
        if (e->duplicate->event_id.len != MT_HASH_LEN) return -1;
        memcpy(subject, e->duplicate->event_id.data, MT_HASH_LEN);
        mt_hash(e->duplicate->attested.data, e->duplicate->attested.len, statement);
        type = MT_LEAF_DUPLICATE;
        break;
    }
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_REGISTRY_CHANGE:
        env = mintrace__v1__envelope__unpack(NULL, e->registry_change.len, e->registry_change.data);
        if (!env) return -1;
        mt_hash(env->payload.data, env->payload.len, subject);
        mt_hash(e->registry_change.data, e->registry_change.len, statement);
        type = MT_LEAF_REGISTRY;
        break;
    case MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION:
        r = mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data);
        if (!r) return -1;
        mt_hash(r->original.data, r->original.len, subject);
        mt_hash(e->rejection.data, e->rejection.len, statement);
        mintrace__v1__rejection__free_unpacked(r, NULL);
        type = MT_LEAF_REJECTION;
        break;
    default:
        return -1;
    }
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    mt_leaf_hash(e->index, type, subject, statement, leaf);
    return 0;
}
