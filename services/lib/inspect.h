/* inspect — any mintrace topic's message as JSON, nested envelopes opened for reading. */
#ifndef MT_INSPECT_H
#define MT_INSPECT_H

#include <jansson.h>
#include <stddef.h>

#include "registry.h"

/* The message type carried by a topic, by its short name ("ledger"), or NULL if unknown. */
const char *mt_inspect_type_of_topic(const char *short_name);

/* Decodes bytes of message type `type` ("mintrace.v1.LedgerEntry") into JSON. With deep, every
 * nested serialized Envelope, AttestedEvent, Attestation, Rejection or payload is decoded too,
 * under a "<field>_decoded" key beside the bytes, and envelopes get an "event_id" (hex
 * BLAKE2b-256 of their payload). With a registry (may be NULL), every envelope also gets
 * "signatures_verified": one entry per signature, true when it verifies with the registry key
 * of its key_id, else the reason. NULL with errstr on undecodable bytes. */
json_t *mt_inspect_decode(const char *type, const void *bytes, size_t len, int deep, const mt_registry *reg,
                          char *errstr, size_t errstr_size);

#endif
