/* codec — protobuf messages <-> bytes <-> JSON, generic over protobuf-c's descriptors. */
#ifndef MT_CODEC_H
#define MT_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "mintrace/v1/comply.pb-c.h"
#include "mintrace/v1/envelope.pb-c.h"
#include "mintrace/v1/event.pb-c.h"
#include "mintrace/v1/ledger.pb-c.h"
#include "mintrace/v1/registry.pb-c.h"

/*
 * The JSON form is proto3's JSON mapping with the proto field names (snake_case), so any
 * protobuf library parses it (Python's json_format, Java's JsonFormat):
 *   - fields at their default value are omitted (a set oneof member is always written);
 *   - enums are written by name ("EVENT_KIND_EXTRACT"); read by name, by the name without
 *     the enum's prefix ("EXTRACT"), or by number;
 *   - bytes are standard base64 with padding (URL-safe and unpadded are read too);
 *   - 64-bit integers are JSON numbers up to 2^53 and decimal strings beyond (as proto3
 *     writes them); a JSON *number* beyond 2^53 is refused on input, never rounded;
 *   - floats are refused for integer fields, unknown fields are refused (a typo never
 *     silently drops a value).
 * Errors name the JSON path of the offending value ("outputs[1].elements[0].mass_mg").
 * A new proto field needs no new code here.
 */

#define MT_JSON_MAX_SAFE_INT 9007199254740992LL /* 2^53 */

/* The message as a new JSON object. On error NULL is returned and errstr says why. */
json_t *mt_json_from_message(const ProtobufCMessage *msg, char *errstr, size_t errstr_size);

/* A new message of type desc from a JSON object; free it with protobuf_c_message_free_unpacked
 * (msg, NULL). On error NULL is returned and errstr names the path and the reason. */
ProtobufCMessage *mt_json_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                     char *errstr, size_t errstr_size);

/* Parses JSON text of length len into a new message of type desc. Errors name line and column
 * for syntax, the path for content. */
ProtobufCMessage *mt_json_text_to_message(const ProtobufCMessageDescriptor *desc, const char *text,
                                          size_t len, char *errstr, size_t errstr_size);

/* The message as compact JSON text (malloc'd, NUL-terminated; free()). NULL on error. */
char *mt_message_to_json_text(const ProtobufCMessage *msg, char *errstr, size_t errstr_size);

/* Serializes msg into a new malloc'd buffer; *lenp gets its length. NULL on out of memory. */
uint8_t *mt_message_pack(const ProtobufCMessage *msg, size_t *lenp);

/* Finds a mintrace message descriptor by full name ("mintrace.v1.BatchEvent"), or NULL. */
const ProtobufCMessageDescriptor *mt_descriptor_by_name(const char *full_name);

#endif
