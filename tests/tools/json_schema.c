/* json_schema — writes the JSON Schemas (draft 2020-12) of mintrace's JSON forms.
 *
 *   json_schema DIR               writes DIR/<Message>.schema.json for every top-level message
 *   json_schema --parse MSG FILE  reads FILE with the codec as MSG ("BatchEvent" or
 *                                 "mintrace.v1.BatchEvent"); prints the codec's own JSON of it
 *                                 and exits 0, or prints why it was refused and exits 1
 *                                 (tests/schemas/validate.mjs checks the codec and the schemas
 *                                 agree on every example)
 *
 * The schemas are derived from protobuf-c's message descriptors (the generated code of
 * proto/mintrace/v1/), so they describe exactly the fields the codec knows, and they
 * encode the rules of services/lib/codec.h (proto3's JSON mapping with the proto field names).
 * tests/lint.sh regenerates them and compares with schemas/: the files there are the reviewed
 * contract and must never be edited by hand. Output is deterministic: properties in field-number
 * order, $defs sorted by name, 2-space indent, one trailing newline.
 *
 * What is checked, and where the schema is stricter or looser than the codec, is stated in
 * every file's root description (DESCRIPTION below), so a reader of the schema needs nothing
 * else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "codec.h"

/* The messages that travel on their own (topic values, envelope payloads) plus Signature, which
 * third parties assemble by hand. Every message or enum they reference lands in their $defs. */
static const ProtobufCMessageDescriptor *const TOP[] = {
    &mintrace__v1__envelope__descriptor,          &mintrace__v1__signature__descriptor,
    &mintrace__v1__attestation__descriptor,       &mintrace__v1__attested_event__descriptor,
    &mintrace__v1__batch_event__descriptor,       &mintrace__v1__rejection__descriptor,
    &mintrace__v1__ledger_entry__descriptor,      &mintrace__v1__receipt__descriptor,
    &mintrace__v1__checkpoint__descriptor,        &mintrace__v1__provenance_record__descriptor,
    &mintrace__v1__facility_record__descriptor,   &mintrace__v1__registry__descriptor,
    &mintrace__v1__finding__descriptor,
};

#define ID_PREFIX "urn:mintrace:schema:"

static const char DESCRIPTION[] =
    "GENERATED from proto/mintrace/v1/*.proto by tests/tools/json_schema.c: do not edit by hand "
    "(run tests/lint.sh --fix). "
    "The JSON form is proto3's JSON mapping with the proto field names, as services/lib/codec.c "
    "reads and writes it: fields at their default value are omitted; unknown fields are refused; "
    "at most one member of each oneof is set; 64-bit integers are JSON numbers within +-2^53 or "
    "decimal strings (any value of the type; the codec writes strings only beyond 2^53); bytes are "
    "base64, standard or URL-safe, padded or not (the codec writes standard with padding); enums "
    "are the value's full name (as the codec writes it), its name without the enum's prefix, or "
    "its number. "
    "Where this schema is stricter than the codec's reader: null (read as the default) is refused, "
    "so omit the field; a name without the prefix must be spelled exactly (the codec ignores case "
    "and also takes any shorter '_'-separated tail of a name); "
    "32-bit integers must be JSON numbers (the codec also reads decimal strings). "
    "What it cannot see: the codec refuses integers written with a fraction or an exponent (1.0, "
    "1e3), and a validator that parses numbers as doubles reads 2^53+1 as 2^53, which the codec "
    "refuses as a number beyond 2^53.";

/* ------------------------------------------------------------------------------------------ */
/* decimal-string patterns                                                                      */

/* Appends to out an alternation matching the decimal strings of exactly strlen(max) digits
 * that are <= max (leading zeros allowed), plus every shorter digit string. */
static void append_le_alternation(char *out, size_t size, const char *max) {
    size_t n = strlen(max), len = strlen(out);
#define APPEND(...) (len += (size_t)snprintf(out + len, len < size ? size - len : 0, __VA_ARGS__))
    APPEND("[0-9]{1,%zu}", n - 1);
    for (size_t i = 0; i < n; i++) {
        char lo = i == 0 ? '1' : '0', hi = (char)(max[i] - 1); /* the digits below max[i] */
        if (hi < lo) continue;
        APPEND("|%.*s", (int)i, max);
        if (hi == lo)
            APPEND("%c", lo);
        else
            APPEND("[%c-%c]", lo, hi);
        if (n - i - 1 > 1)
            APPEND("[0-9]{%zu}", n - i - 1);
        else if (n - i - 1 == 1)
            APPEND("[0-9]");
    }
    APPEND("|%s", max);
#undef APPEND
}

/* The pattern of the decimal strings the codec accepts for a 64-bit field: strtoll/strtoull
 * syntax without sign '+' or spaces, leading zeros allowed, value within the type's range. */
static void int64_pattern(char *out, size_t size, int is_signed) {
    out[0] = '\0';
    if (is_signed) {
        strncat(out, "^(?:-0*(?:", size - strlen(out) - 1);
        append_le_alternation(out, size, "9223372036854775808");
        strncat(out, ")|0*(?:", size - strlen(out) - 1);
        append_le_alternation(out, size, "9223372036854775807");
        strncat(out, "))$", size - strlen(out) - 1);
    } else {
        strncat(out, "^0*(?:", size - strlen(out) - 1);
        append_le_alternation(out, size, "18446744073709551615");
        strncat(out, ")$", size - strlen(out) - 1);
    }
}

/* base64 as libsodium decodes it for the codec: one alphabet per string (standard or URL-safe),
 * padding all or nothing, and the unused low bits of the last character zero (libsodium refuses
 * "QR==" where "QQ==" is meant). The empty string is the empty bytes. */
#define B64(A)                                                                                     \
    "(?:[" A "]{4})*(?:[" A "][AQgw](?:==)?|[" A "]{2}[AEIMQUYcgkosw048]=?)?"
static const char BASE64_PATTERN[] = "^(?:" B64("A-Za-z0-9+/") "|" B64("A-Za-z0-9_-") ")$";

/* ------------------------------------------------------------------------------------------ */
/* collecting what a message references                                                        */

typedef struct refs {
    const ProtobufCMessageDescriptor *msgs[64];
    size_t n_msgs;
    const ProtobufCEnumDescriptor *enums[64];
    size_t n_enums;
    int int64, uint64, bytes; /* which shared scalar definitions are used */
} refs;

static void die(const char *what) {
    fprintf(stderr, "json_schema: %s\n", what);
    exit(1);
}

static void collect(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor *top,
                    refs *r) {
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64: r->int64 = 1; break;
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: r->uint64 = 1; break;
        case PROTOBUF_C_TYPE_BYTES: r->bytes = 1; break;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumDescriptor *e = f->descriptor;
            size_t k = 0;
            while (k < r->n_enums && r->enums[k] != e) k++;
            if (k == r->n_enums) {
                if (r->n_enums == sizeof(r->enums) / sizeof(r->enums[0])) die("too many enums");
                r->enums[r->n_enums++] = e;
            }
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessageDescriptor *m = f->descriptor;
            if (m == top) break;
            size_t k = 0;
            while (k < r->n_msgs && r->msgs[k] != m) k++;
            if (k == r->n_msgs) {
                if (r->n_msgs == sizeof(r->msgs) / sizeof(r->msgs[0])) die("too many messages");
                r->msgs[r->n_msgs++] = m;
                collect(m, top, r);
            }
            break;
        }
        default: break;
        }
    }
}

static int cmp_msg(const void *a, const void *b) {
    return strcmp((*(const ProtobufCMessageDescriptor *const *)a)->name,
                  (*(const ProtobufCMessageDescriptor *const *)b)->name);
}

static int cmp_enum(const void *a, const void *b) {
    return strcmp((*(const ProtobufCEnumDescriptor *const *)a)->name,
                  (*(const ProtobufCEnumDescriptor *const *)b)->name);
}

/* ------------------------------------------------------------------------------------------ */
/* building the schema                                                                          */

static json_t *must(json_t *j) {
    if (!j) die("out of memory");
    return j;
}

static void set(json_t *obj, const char *key, json_t *val) {
    if (json_object_set_new(obj, key, must(val))) die("out of memory");
}

static void push(json_t *arr, json_t *val) {
    if (json_array_append_new(arr, must(val))) die("out of memory");
}

static json_t *ref_to(const char *def) {
    char buf[256];
    snprintf(buf, sizeof(buf), "#/$defs/%s", def);
    json_t *o = must(json_object());
    set(o, "$ref", json_string(buf));
    return o;
}

/* The proto spelling of a field's type: "uint64", "ElementMass", "mintrace.v1.Site". */
static const char *type_name(const ProtobufCFieldDescriptor *f) {
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
        [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
        [PROTOBUF_C_TYPE_MESSAGE] = "message",
    };
    if (f->type == PROTOBUF_C_TYPE_ENUM) return ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return ((const ProtobufCMessageDescriptor *)f->descriptor)->name;
    if ((size_t)f->type < sizeof(names) / sizeof(names[0]) && names[f->type]) return names[f->type];
    die("unknown field type");
    return NULL;
}

/* The schema of one value of field f (an element when repeated). */
static json_t *value_schema(const ProtobufCFieldDescriptor *f, const ProtobufCMessageDescriptor *top) {
    json_t *s;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        s = must(json_object());
        set(s, "type", json_string("integer"));
        set(s, "minimum", json_integer(INT32_MIN));
        set(s, "maximum", json_integer(INT32_MAX));
        return s;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        s = must(json_object());
        set(s, "type", json_string("integer"));
        set(s, "minimum", json_integer(0));
        set(s, "maximum", json_integer(UINT32_MAX));
        return s;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return ref_to("int64");
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return ref_to("uint64");
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: /* the codec reads JSON numbers only (no "NaN"/"Infinity") */
        s = must(json_object());
        set(s, "type", json_string("number"));
        return s;
    case PROTOBUF_C_TYPE_BOOL:
        s = must(json_object());
        set(s, "type", json_string("boolean"));
        return s;
    case PROTOBUF_C_TYPE_STRING:
        s = must(json_object());
        set(s, "type", json_string("string"));
        return s;
    case PROTOBUF_C_TYPE_BYTES: return ref_to("bytes");
    case PROTOBUF_C_TYPE_ENUM: return ref_to(((const ProtobufCEnumDescriptor *)f->descriptor)->name);
    case PROTOBUF_C_TYPE_MESSAGE:
        if (f->descriptor == top) {
            s = must(json_object());
            set(s, "$ref", json_string("#"));
            return s;
        }
        return ref_to(((const ProtobufCMessageDescriptor *)f->descriptor)->name);
    }
    die("unknown field type");
    return NULL;
}

/* "repeated ElementMass elements = 4", "oneof member: ExtractDetail extract = 20" */
static json_t *field_description(const ProtobufCFieldDescriptor *f) {
    char buf[512];
    const char *t = type_name(f);
    const char *dot = strrchr(t, '.');
    if (dot) t = dot + 1; /* everything lives in one package: the short name reads better */
    snprintf(buf, sizeof(buf), "%s%s%s %s = %u", (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? "oneof member: " : "",
             f->label == PROTOBUF_C_LABEL_REPEATED ? "repeated " : "", t, f->name, f->id);
    return json_string(buf);
}

/* {"type": "object", "properties": ..., "additionalProperties": false, "allOf": oneof rules} */
static void add_message_body(json_t *s, const ProtobufCMessageDescriptor *d,
                             const ProtobufCMessageDescriptor *top) {
    set(s, "type", json_string("object"));
    json_t *props = must(json_object());
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *p;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            p = must(json_object());
            set(p, "description", field_description(f));
            set(p, "type", json_string("array"));
            set(p, "items", value_schema(f, top));
        } else {
            p = value_schema(f, top);
            /* description first: rebuild so the key order reads naturally */
            json_t *q = must(json_object());
            set(q, "description", field_description(f));
            if (json_object_update(q, p)) die("out of memory");
            json_decref(p);
            p = q;
        }
        set(props, f->name, p);
    }
    set(s, "properties", props);
    set(s, "additionalProperties", json_false());

    /* At most one member of each oneof: "dependentSchemas": {"a": {"properties": {"b": false,
     * "c": false}}, ...}, so a validator names the second member it finds. protobuf-c keeps no
     * oneof names: the members of one oneof share a quantifier_offset. */
    json_t *deps = must(json_object());
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) continue;
        char desc[1024];
        size_t len = (size_t)snprintf(desc, sizeof(desc), "oneof: at most one of");
        json_t *others = must(json_object());
        int n_members = 0;
        for (unsigned k = 0; k < d->n_fields; k++) {
            const ProtobufCFieldDescriptor *g = &d->fields[k];
            if (!(g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || g->quantifier_offset != f->quantifier_offset)
                continue;
            len += (size_t)snprintf(desc + len, len < sizeof(desc) ? sizeof(desc) - len : 0, "%s %s",
                                    n_members++ ? "," : "", g->name);
            if (k != i) set(others, g->name, json_false());
        }
        if (len >= sizeof(desc)) die("oneof description too long");
        json_t *dep = must(json_object());
        set(dep, "description", json_string(desc));
        set(dep, "properties", others);
        set(deps, f->name, dep);
    }
    if (json_object_size(deps))
        set(s, "dependentSchemas", deps);
    else
        json_decref(deps);
}

static json_t *message_def(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor *top) {
    json_t *s = must(json_object());
    set(s, "title", json_string(d->name));
    add_message_body(s, d, top);
    return s;
}

/* "EventKind" -> "EVENT_KIND_", the prefix buf lint's ENUM_VALUE_PREFIX demands. */
static void enum_prefix(const char *short_name, char *out, size_t size) {
    size_t n = 0;
    for (const char *c = short_name; *c && n + 3 < size; c++) {
        if (c != short_name && *c >= 'A' && *c <= 'Z' &&
            ((c[-1] >= 'a' && c[-1] <= 'z') || (c[-1] >= '0' && c[-1] <= '9') ||
             (c[1] >= 'a' && c[1] <= 'z')))
            out[n++] = '_';
        out[n++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    }
    out[n++] = '_';
    out[n] = '\0';
}

static json_t *enum_def(const ProtobufCEnumDescriptor *e) {
    char prefix[256], desc[512];
    enum_prefix(e->short_name, prefix, sizeof(prefix));
    size_t pl = strlen(prefix);

    json_t *full = must(json_array()), *shorts = must(json_array()), *nums = must(json_array());
    for (unsigned i = 0; i < e->n_values; i++) {
        const ProtobufCEnumValue *v = &e->values[i];
        push(full, json_string(v->name));
        if (strncmp(v->name, prefix, pl) == 0 && v->name[pl]) push(shorts, json_string(v->name + pl));
        push(nums, json_integer(v->value));
    }

    json_t *any = must(json_array());
    json_t *b = must(json_object());
    set(b, "description", json_string("the full name, as the codec writes it"));
    set(b, "type", json_string("string"));
    set(b, "enum", full);
    push(any, b);
    if (json_array_size(shorts)) {
        b = must(json_object());
        snprintf(desc, sizeof(desc), "the name without the %s prefix (read only)", prefix);
        set(b, "description", json_string(desc));
        set(b, "type", json_string("string"));
        set(b, "enum", shorts);
        push(any, b);
    } else {
        json_decref(shorts);
    }
    b = must(json_object());
    set(b, "description", json_string("the number (read only)"));
    set(b, "type", json_string("integer"));
    set(b, "enum", nums);
    push(any, b);

    json_t *s = must(json_object());
    set(s, "title", json_string(e->name));
    set(s, "anyOf", any);
    return s;
}

static json_t *int64_def(int is_signed) {
    char pattern[2048];
    int64_pattern(pattern, sizeof(pattern), is_signed);
    if (strlen(pattern) + 1 >= sizeof(pattern)) die("pattern too long");

    json_t *num = must(json_object());
    set(num, "type", json_string("integer"));
    set(num, "minimum", json_integer(is_signed ? -MT_JSON_MAX_SAFE_INT : 0));
    set(num, "maximum", json_integer(MT_JSON_MAX_SAFE_INT));
    json_t *str = must(json_object());
    set(str, "type", json_string("string"));
    set(str, "pattern", json_string(pattern));
    json_t *one = must(json_array());
    push(one, num);
    push(one, str);

    json_t *s = must(json_object());
    set(s, "description",
        json_string(is_signed ? "int64: a JSON number within -2^53..2^53 or a decimal string "
                                "within -2^63..2^63-1 (leading zeros allowed, no '+')"
                              : "uint64: a JSON number within 0..2^53 or a decimal string within "
                                "0..2^64-1 (leading zeros allowed, no sign)"));
    set(s, "oneOf", one);
    return s;
}

static json_t *bytes_def(void) {
    json_t *s = must(json_object());
    set(s, "description",
        json_string("bytes: base64, standard (+/) or URL-safe (-_), with or without padding; "
                    "the codec writes standard with padding"));
    set(s, "type", json_string("string"));
    set(s, "pattern", json_string(BASE64_PATTERN));
    return s;
}

static json_t *schema_for(const ProtobufCMessageDescriptor *top) {
    refs r;
    memset(&r, 0, sizeof(r));
    collect(top, top, &r);
    qsort(r.msgs, r.n_msgs, sizeof(r.msgs[0]), cmp_msg);
    qsort(r.enums, r.n_enums, sizeof(r.enums[0]), cmp_enum);

    char id[256];
    snprintf(id, sizeof(id), ID_PREFIX "%s", top->name);
    json_t *s = must(json_object());
    set(s, "$schema", json_string("https://json-schema.org/draft/2020-12/schema"));
    set(s, "$id", json_string(id));
    set(s, "title", json_string(top->name));
    set(s, "description", json_string(DESCRIPTION));
    add_message_body(s, top, top);

    json_t *defs = must(json_object());
    for (size_t i = 0; i < r.n_msgs; i++) set(defs, r.msgs[i]->name, message_def(r.msgs[i], top));
    for (size_t i = 0; i < r.n_enums; i++) set(defs, r.enums[i]->name, enum_def(r.enums[i]));
    if (r.bytes) set(defs, "bytes", bytes_def());
    if (r.int64) set(defs, "int64", int64_def(1));
    if (r.uint64) set(defs, "uint64", int64_def(0));
    if (json_object_size(defs))
        set(s, "$defs", defs);
    else
        json_decref(defs);
    return s;
}

/* --parse: 0 accepted (the codec's JSON on stdout), 1 refused (the reason on stderr), 2 usage
 * or I/O error. */
static int parse_file(const char *msg_name, const char *file) {
    const ProtobufCMessageDescriptor *d = NULL;
    for (size_t i = 0; !d && i < sizeof(TOP) / sizeof(TOP[0]); i++)
        if (!strcmp(TOP[i]->name, msg_name) || !strcmp(TOP[i]->short_name, msg_name)) d = TOP[i];
    if (!d) {
        fprintf(stderr, "json_schema: %s: not a top-level mintrace message\n", msg_name);
        return 2;
    }
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        fprintf(stderr, "json_schema: %s: %s\n", file, strerror(errno));
        return 2;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 > cap) {
            char *t = realloc(text, cap = cap * 2 + 4096);
            if (!t) die("out of memory");
            text = t;
        }
        n = fread(text + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr) {
        fprintf(stderr, "json_schema: %s: read error\n", file);
        free(text);
        return 2;
    }
    char err[512];
    ProtobufCMessage *m = mt_json_text_to_message(d, text, len, err, sizeof(err));
    free(text);
    if (!m) {
        fprintf(stderr, "%s: %s\n", file, err);
        return 1;
    }
    char *out = mt_message_to_json_text(m, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    if (!out) {
        fprintf(stderr, "%s: writing it back: %s\n", file, err);
        return 1;
    }
    puts(out);
    free(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--parse")) return parse_file(argv[2], argv[3]);
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: json_schema DIR              (writes DIR/<Message>.schema.json)\n"
                        "       json_schema --parse MSG FILE (reads FILE with the codec)\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(TOP) / sizeof(TOP[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.schema.json", argv[1], TOP[i]->short_name);
        json_t *s = schema_for(TOP[i]);
        char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(s);
        if (!text) die("out of memory");
        FILE *fp = fopen(path, "w");
        if (!fp) {
            fprintf(stderr, "json_schema: %s: %s\n", path, strerror(errno));
            return 1;
        }
        int bad = fputs(text, fp) < 0 || fputc('\n', fp) == EOF;
        bad |= fclose(fp) != 0;
        free(text);
        if (bad) {
            fprintf(stderr, "json_schema: %s: write failed\n", path);
            return 1;
        }
    }
    return 0;
}
