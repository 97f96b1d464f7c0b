/* event — the rules every stage shares about envelopes and events: types, shape, verdicts. */
#ifndef MT_EVENT_H
#define MT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

#define MT_PAYLOAD_EVENT       "mintrace.v1.BatchEvent"
#define MT_PAYLOAD_ATTESTATION "mintrace.v1.Attestation"
#define MT_PAYLOAD_CHECKPOINT  "mintrace.v1.Checkpoint"
#define MT_PAYLOAD_RECEIPT     "mintrace.v1.Receipt"

typedef Mintrace__V1__ReasonCode mt_reason;

/* What a stage decided about one message. code 0 means accepted. */
typedef struct mt_verdict {
    mt_reason code;
    char detail[256];
    unsigned char event_id[MT_HASH_LEN]; /* valid when has_event_id */
    int has_event_id;
    char facility_id[128]; /* from the event, else empty */
} mt_verdict;

/* The reason code's short name ("BAD_SIGNATURE") for logs and docs. */
const char *mt_reason_name(mt_reason code);

/* The name of an enum value ("FACILITY_ROLE_MINE"), or "?" for a value the enum lacks. */
const char *mt_enum_name(const ProtobufCEnumDescriptor *desc, int value);

/* Sets v to a rejection with code and a printf-formatted detail; returns code. */
mt_reason mt_verdict_reject(mt_verdict *v, mt_reason code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Checks the shape of a decoded event (fields present and well formed, kind and detail
 * consistent, masses positive, element symbols plausible). Returns 0, or
 * REASON_CODE_MALFORMED_EVENT with the field named in v->detail. Stateless: ledger rules
 * (custody, balances, chains) are not judged here. */
mt_reason mt_event_check_shape(const Mintrace__V1__BatchEvent *ev, mt_verdict *v);

/* Packs a Rejection of the original bytes read at topic/partition/offset into a new buffer
 * (free()). NULL on out of memory. */
uint8_t *mt_rejection_pack(const mt_verdict *v, Mintrace__V1__Stage stage, const void *original, size_t len,
                           const char *topic, int32_t partition, int64_t offset, int64_t now_ms,
                           size_t *outlen);

/* Wraps payload in an Envelope signed by kp in role; the serialized envelope goes to *out
 * (free()). Returns 0, or -1 when out of memory. */
int mt_envelope_seal(const mt_keypair *kp, Mintrace__V1__SignerRole role, const char *payload_type,
                     const void *payload, size_t len, uint8_t **out, size_t *outlen);

/* Wall-clock time, Unix milliseconds. */
int64_t mt_now_ms(void);

#endif
