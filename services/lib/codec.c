/* codec — protobuf messages <-> bytes <-> JSON, generic over protobuf-c's descriptors. */
#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* A JSON path under construction, for error messages: "outputs[1].elements[0].mass_mg". */
typedef struct path {
    char buf[256];
    size_t len;
} path;

static size_t path_push_field(path *p, const char *name) {
    size_t old = p->len;
    int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "%s%s", p->len ? "." : "", name);
    if (n > 0) p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n : sizeof(p->buf) - 1;
    return old;
}

static size_t path_push_index(path *p, size_t i) {
    size_t old = p->len;
    int n = snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "[%zu]", i);
    if (n > 0) p->len = p->len + (size_t)n < sizeof(p->buf) ? p->len + (size_t)n : sizeof(p->buf) - 1;
    return old;
}

static void path_pop(path *p, size_t old) {
    p->len = old;
    p->buf[old] = '\0';
}

static void fail(char *errstr, size_t errstr_size, const path *p, const char *fmt, ...) {
    if (!errstr || !errstr_size) return;
    int n = snprintf(errstr, errstr_size, "%s: ", p && p->len ? p->buf : "(top)");
    if (n < 0 || (size_t)n >= errstr_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr + n, errstr_size - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* message -> JSON                                                                              */

static json_t *int64_to_json(int64_t v) {
    if (v > MT_JSON_MAX_SAFE_INT || v < -MT_JSON_MAX_SAFE_INT) {
        char s[32];
        snprintf(s, sizeof(s), "%" PRId64, v);
        return json_string(s);
    }
    return json_integer((json_int_t)v);
}

static json_t *uint64_to_json(uint64_t v) {
    if (v > (uint64_t)MT_JSON_MAX_SAFE_INT) {
        char s[32];
        snprintf(s, sizeof(s), "%" PRIu64, v);
        return json_string(s);
    }
    return json_integer((json_int_t)v);
}

static json_t *message_to_json(const ProtobufCMessage *msg, path *p, char *errstr, size_t errstr_size);

/* One value of a field (an element when repeated) at ptr, as JSON. */
static json_t *value_to_json(const ProtobufCFieldDescriptor *f, const void *ptr, path *p,
                             char *errstr, size_t errstr_size) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)ptr);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)ptr);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return int64_to_json(*(const int64_t *)ptr);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return uint64_to_json(*(const uint64_t *)ptr);
    case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)ptr);
    case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)ptr);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)ptr);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)ptr;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)ptr;
        json_t *j = json_string(s ? s : "");
        if (!j) fail(errstr, errstr_size, p, "string is not valid UTF-8");
        return j;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = ptr;
        size_t b64_len = sodium_base64_ENCODED_LEN(bd->len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(b64_len);
        if (!b64) return NULL;
        sodium_bin2base64(b64, b64_len, bd->data, bd->len, sodium_base64_VARIANT_ORIGINAL);
        json_t *j = json_string(b64);
        free(b64);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)ptr;
        if (!sub) return json_object();
        return message_to_json(sub, p, errstr, errstr_size);
    }
    }
    fail(errstr, errstr_size, p, "unsupported field type %d", (int)f->type);
    return NULL;
}

static size_t value_size(const ProtobufCFieldDescriptor *f) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* Whether a proto3 implicit-presence value is its default (and so is not written). */
static int value_is_default(const ProtobufCFieldDescriptor *f, const void *ptr) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)ptr;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)ptr)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)ptr == NULL;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)ptr == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)ptr == 0;
    default: {
        static const unsigned char zero[8];
        return memcmp(ptr, zero, value_size(f)) == 0;
    }
    }
}

static json_t *message_to_json(const ProtobufCMessage *msg, path *p, char *errstr, size_t errstr_size) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    json_t *obj = json_object();
    if (!obj) return NULL;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        const void *ptr = base + f->offset;
        json_t *val = NULL;
        size_t mark = path_push_field(p, f->name);

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0) {
                path_pop(p, mark);
                continue;
            }
            const char *arr = *(char *const *)ptr;
            val = json_array();
            for (size_t k = 0; val && k < n; k++) {
                size_t m2 = path_push_index(p, k);
                json_t *e = value_to_json(f, arr + k * value_size(f), p, errstr, errstr_size);
                path_pop(p, m2);
                if (!e || json_array_append_new(val, e)) {
                    json_decref(val);
                    val = NULL;
                }
            }
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) {
                path_pop(p, mark);
                continue;
            }
            val = value_to_json(f, ptr, p, errstr, errstr_size);
        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
                path_pop(p, mark);
                continue;
            }
            val = value_to_json(f, ptr, p, errstr, errstr_size);
        } else {
            if (value_is_default(f, ptr)) {
                path_pop(p, mark);
                continue;
            }
            val = value_to_json(f, ptr, p, errstr, errstr_size);
        }
        path_pop(p, mark);
        if (!val || json_object_set_new(obj, f->name, val)) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *mt_json_from_message(const ProtobufCMessage *msg, char *errstr, size_t errstr_size) {
    path p = {.len = 0};
    p.buf[0] = '\0';
    if (errstr && errstr_size) errstr[0] = '\0';
    json_t *j = message_to_json(msg, &p, errstr, errstr_size);
    if (!j && errstr && errstr_size && !errstr[0]) snprintf(errstr, errstr_size, "out of memory");
    return j;
}

char *mt_message_to_json_text(const ProtobufCMessage *msg, char *errstr, size_t errstr_size) {
    json_t *j = mt_json_from_message(msg, errstr, errstr_size);
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s && errstr && errstr_size) snprintf(errstr, errstr_size, "out of memory");
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON -> message                                                                              */

static ProtobufCMessage *message_from_json(const ProtobufCMessageDescriptor *d, const json_t *j,
                                           path *p, char *errstr, size_t errstr_size);

/* Reads an integer from a JSON number (|v| <= 2^53) or a decimal string (proto3's form for
 * 64-bit values) and checks it lies in [min, max]. */
static int json_to_int(const json_t *j, int is_signed, int64_t min, uint64_t max, int64_t *sv,
                       uint64_t *uv, path *p, char *errstr, size_t errstr_size) {
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if (v > MT_JSON_MAX_SAFE_INT || v < -MT_JSON_MAX_SAFE_INT) {
            fail(errstr, errstr_size, p,
                 "%lld is beyond 2^53 and may have been rounded by a JSON writer; "
                 "write it as a decimal string",
                 (long long)v);
            return -1;
        }
        if (is_signed) {
            if (v < min || (v > 0 && (uint64_t)v > max)) goto range;
            *sv = v;
        } else {
            if (v < 0 || (uint64_t)v > max) goto range;
            *uv = (uint64_t)v;
        }
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *end;
        errno = 0;
        if (!*s || (*s != '-' && (*s < '0' || *s > '9'))) goto notint;
        if (is_signed) {
            long long v = strtoll(s, &end, 10);
            if (*end || errno) goto notint;
            if (v < min || (v > 0 && (uint64_t)v > max)) goto range;
            *sv = v;
        } else {
            if (*s == '-') goto range;
            unsigned long long v = strtoull(s, &end, 10);
            if (*end || errno) goto notint;
            if (v > max) goto range;
            *uv = v;
        }
        return 0;
    }
notint:
    fail(errstr, errstr_size, p, "expected an integer");
    return -1;
range:
    fail(errstr, errstr_size, p, "integer out of range for this field");
    return -1;
}

static int base64_decode(const char *s, ProtobufCBinaryData *out) {
    size_t len = strlen(s);
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    static const int variants[] = {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                                   sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        size_t bin_len;
        const char *endp;
        if (sodium_base642bin(buf, len ? len : 1, s, len, NULL, &bin_len, &endp, variants[i]) == 0 &&
            endp == s + len) {
            out->data = buf;
            out->len = bin_len;
            return 0;
        }
    }
    free(buf);
    return -1;
}

/* Finds an enum value by full name, by name without the enum's prefix, or by number. */
static int json_to_enum(const ProtobufCEnumDescriptor *ed, const json_t *j, int *out, path *p,
                        char *errstr, size_t errstr_size) {
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        if (v >= INT32_MIN && v <= INT32_MAX && protobuf_c_enum_descriptor_get_value(ed, (int)v)) {
            *out = (int)v;
            return 0;
        }
        fail(errstr, errstr_size, p, "%lld is not a value of %s", (long long)v, ed->name);
        return -1;
    }
    if (!json_is_string(j)) {
        fail(errstr, errstr_size, p, "expected a %s name", ed->name);
        return -1;
    }
    const char *s = json_string_value(j);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
    /* "EXTRACT" for "EVENT_KIND_EXTRACT": exactly the name after the enum's prefix, which is
     * the name of its zero value less "UNSPECIFIED" (buf's rule: "EVENT_KIND_UNSPECIFIED"). */
    const ProtobufCEnumValue *zero = protobuf_c_enum_descriptor_get_value(ed, 0);
    size_t plen = zero ? strlen(zero->name) : 0;
    if (plen > 11 && strcmp(zero->name + plen - 11, "UNSPECIFIED") == 0) {
        plen -= 11;
        for (unsigned i = 0; !ev && i < ed->n_values; i++)
            if (strncmp(ed->values[i].name, zero->name, plen) == 0 && strcmp(ed->values[i].name + plen, s) == 0)
                ev = &ed->values[i];
    }
    if (!ev) {
        fail(errstr, errstr_size, p, "'%s' is not a value of %s", s, ed->name);
        return -1;
    }
    *out = ev->value;
    return 0;
}

/* Stores one JSON value into ptr (a field, or an element of a repeated field). */
static int value_from_json(const ProtobufCFieldDescriptor *f, const json_t *j, void *ptr, path *p,
                           char *errstr, size_t errstr_size) {
    int64_t sv = 0;
    uint64_t uv = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (json_to_int(j, 1, INT32_MIN, INT32_MAX, &sv, &uv, p, errstr, errstr_size)) return -1;
        *(int32_t *)ptr = (int32_t)sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (json_to_int(j, 0, 0, UINT32_MAX, &sv, &uv, p, errstr, errstr_size)) return -1;
        *(uint32_t *)ptr = (uint32_t)uv;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (json_to_int(j, 1, INT64_MIN, INT64_MAX, &sv, &uv, p, errstr, errstr_size)) return -1;
        *(int64_t *)ptr = sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (json_to_int(j, 0, 0, UINT64_MAX, &sv, &uv, p, errstr, errstr_size)) return -1;
        *(uint64_t *)ptr = uv;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(j)) {
            fail(errstr, errstr_size, p, "expected a number");
            return -1;
        }
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)ptr = (float)json_number_value(j);
        else
            *(double *)ptr = json_number_value(j);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(j)) {
            fail(errstr, errstr_size, p, "expected true or false");
            return -1;
        }
        *(protobuf_c_boolean *)ptr = json_is_true(j);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return json_to_enum(f->descriptor, j, (int *)ptr, p, errstr, errstr_size);
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(j)) {
            fail(errstr, errstr_size, p, "expected a string");
            return -1;
        }
        char *s = strdup(json_string_value(j));
        if (!s) return -1;
        *(char **)ptr = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(j) || base64_decode(json_string_value(j), ptr)) {
            fail(errstr, errstr_size, p, "expected base64 bytes");
            return -1;
        }
        return 0;
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = message_from_json(f->descriptor, j, p, errstr, errstr_size);
        if (!sub) return -1;
        *(ProtobufCMessage **)ptr = sub;
        return 0;
    }
    }
    fail(errstr, errstr_size, p, "unsupported field type");
    return -1;
}

static ProtobufCMessage *message_from_json(const ProtobufCMessageDescriptor *d, const json_t *j,
                                           path *p, char *errstr, size_t errstr_size) {
    if (!json_is_object(j)) {
        fail(errstr, errstr_size, p, "expected an object (%s)", d->name);
        return NULL;
    }
    ProtobufCMessage *msg = malloc(d->sizeof_message);
    if (!msg) return NULL;
    d->message_init(msg);
    char *base = (char *)msg;
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)j, key, val) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        size_t mark = path_push_field(p, key);
        if (!f) {
            fail(errstr, errstr_size, p, "no such field in %s", d->name);
            goto fail;
        }
        if (json_is_null(val)) { /* proto3: null means default */
            path_pop(p, mark);
            continue;
        }
        void *ptr = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!json_is_array(val)) {
                fail(errstr, errstr_size, p, "expected an array");
                goto fail;
            }
            size_t n = json_array_size(val);
            char *arr = calloc(n ? n : 1, value_size(f));
            if (!arr) goto fail;
            *(void **)ptr = arr;
            for (size_t k = 0; k < n; k++) {
                size_t m2 = path_push_index(p, k);
                if (value_from_json(f, json_array_get(val, k), arr + k * value_size(f), p, errstr,
                                    errstr_size))
                    goto fail;
                /* count only filled elements, so a failure frees exactly what was set */
                *(size_t *)(base + f->quantifier_offset) = k + 1;
                path_pop(p, m2);
            }
        } else {
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                uint32_t *oneof_case = (uint32_t *)(base + f->quantifier_offset);
                if (*oneof_case) {
                    fail(errstr, errstr_size, p, "another member of the same oneof is set");
                    goto fail;
                }
            }
            if (value_from_json(f, val, ptr, p, errstr, errstr_size)) goto fail;
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)(base + f->quantifier_offset) = f->id;
            else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
                     f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
                *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        }
        path_pop(p, mark);
    }
    return msg;
fail:
    protobuf_c_message_free_unpacked(msg, NULL);
    return NULL;
}

ProtobufCMessage *mt_json_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                     char *errstr, size_t errstr_size) {
    path p = {.len = 0};
    p.buf[0] = '\0';
    if (errstr && errstr_size) errstr[0] = '\0';
    ProtobufCMessage *m = message_from_json(desc, json, &p, errstr, errstr_size);
    if (!m && errstr && errstr_size && !errstr[0]) snprintf(errstr, errstr_size, "out of memory");
    return m;
}

ProtobufCMessage *mt_json_text_to_message(const ProtobufCMessageDescriptor *desc, const char *text,
                                          size_t len, char *errstr, size_t errstr_size) {
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    ProtobufCMessage *m = mt_json_to_message(desc, j, errstr, errstr_size);
    json_decref(j);
    return m;
}

/* ------------------------------------------------------------------------------------------ */

uint8_t *mt_message_pack(const ProtobufCMessage *msg, size_t *lenp) {
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return NULL;
    *lenp = protobuf_c_message_pack(msg, buf);
    return buf;
}

const ProtobufCMessageDescriptor *mt_descriptor_by_name(const char *full_name) {
    static const ProtobufCMessageDescriptor *const all[] = {
        &mintrace__v1__envelope__descriptor,         &mintrace__v1__attestation__descriptor,
        &mintrace__v1__attested_event__descriptor,   &mintrace__v1__batch_event__descriptor,
        &mintrace__v1__rejection__descriptor,        &mintrace__v1__ledger_entry__descriptor,
        &mintrace__v1__receipt__descriptor,          &mintrace__v1__checkpoint__descriptor,
        &mintrace__v1__provenance_record__descriptor, &mintrace__v1__facility_record__descriptor,
        &mintrace__v1__registry__descriptor,         &mintrace__v1__finding__descriptor,
    };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, full_name) == 0) return all[i];
    return NULL;
}
