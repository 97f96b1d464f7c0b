/* policy — a compliance policy file (JSON, schemas/policy.schema.json): load it whole or not at all. */
#include "policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "service.h"

#define ID_MAX 64

/* What is being parsed, for error messages. */
typedef struct parse {
    const char *name, *text;
    size_t len;
    char *err;
    size_t err_size;
} parse;

/* The line where rules[rule] starts (key NULL), where its member key is (rule >= 0), or where
 * the top-level member key is (rule < 0); 0 when not found. jansson keeps no positions for
 * decoded values, so this walks the text, which jansson has already accepted as JSON, only to
 * count lines: strings (with their escapes), nesting and commas; it decodes nothing. */
static int line_of(const char *t, size_t len, long rule, const char *key) {
    char stack[64];
    int depth = 0, line = 1, fresh = 0, in_rules = 0;
    long idx = -1;
    const char *top = NULL;
    size_t toplen = 0, klen = key ? strlen(key) : 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '\n') line++;
        if (c == '\n' || c == ' ' || c == '\t' || c == '\r' || c == ':') continue;
        if (c == ',') {
            fresh = 1;
            continue;
        }
        int in_obj = depth > 0 && depth <= 64 && stack[depth - 1] == '{';
        if (fresh && in_rules && depth == 2 && ++idx == rule && !key) return line;
        if (c == '"') {
            size_t s = ++i;
            while (i < len && t[i] != '"') i += t[i] == '\\' ? 2 : 1;
            if (in_obj && fresh) { /* a member name */
                size_t n = i - s;
                if (depth == 1) top = t + s, toplen = n;
                if (key && n == klen && memcmp(t + s, key, n) == 0 &&
                    ((depth == 1 && rule < 0) || (depth == 3 && in_rules && idx == rule)))
                    return line;
            }
            fresh = 0;
        } else if (c == '{' || c == '[') {
            if (depth < 64) stack[depth] = c;
            depth++;
            if (c == '[' && depth == 2 && toplen == 5 && memcmp(top, "rules", 5) == 0) in_rules = 1;
            fresh = 1;
        } else if (c == '}' || c == ']') {
            if (--depth < 2) in_rules = 0;
            fresh = 0;
        } else {
            fresh = 0;
        }
    }
    return 0;
}

/* "NAME:LINE: rules[i] "id": key: what" into the error buffer; returns -1. */
static int fail(const parse *ps, long rule, const char *id, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(const parse *ps, long rule, const char *id, const char *key, const char *fmt, ...) {
    char what[512], where[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int line = line_of(ps->text, ps->len, rule, key);
    if (!line && key) line = line_of(ps->text, ps->len, rule, NULL);
    if (rule >= 0) snprintf(where, sizeof(where), "rules[%ld]%s%s%s: ", rule, id ? " \"" : "", id ? id : "", id ? "\"" : "");
    if (ps->err && ps->err_size)
        snprintf(ps->err, ps->err_size, "%s:%d: %s%s%s%s", ps->name, line ? line : 1, where, key ? key : "",
                 key ? ": " : "", what);
    return -1;
}

static int id_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* An element symbol as the ledger tracks it: one capital and at most one small letter, not
 * O, H, C or N (docs/accounting.md: those come and go with oxides and are not tracked). */
static const char *element_problem(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 2 || s[0] < 'A' || s[0] > 'Z' || (n == 2 && (s[1] < 'a' || s[1] > 'z')))
        return "is not an element symbol (\"Nd\", \"Co\")";
    if (n == 1 && strchr("OHCN", s[0])) return "is not tracked (O, H, C and N never are: docs/accounting.md)";
    return NULL;
}

static const char *country_problem(const char *s) {
    if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
        return "is not an ISO 3166-1 alpha-2 code (\"IN\", \"CN\")";
    return NULL;
}

static const char *nonempty_problem(const char *s) { return *s ? NULL : "is empty"; }

/* rule[key] as a non-empty array of distinct strings, each passing check. *out is NULL and
 * *n 0 when the key is absent and not required. */
static int strings(const parse *ps, long ri, const char *id, const json_t *rule, const char *key, int required,
                   const char *(*check)(const char *), char ***out, size_t *n) {
    const json_t *a = json_object_get(rule, key);
    *out = NULL;
    *n = 0;
    if (!a) return required ? fail(ps, ri, id, key, "required") : 0;
    if (!json_is_array(a) || json_array_size(a) == 0) return fail(ps, ri, id, key, "expected a non-empty array of strings");
    size_t cnt = json_array_size(a);
    if (!(*out = calloc(cnt, sizeof(char *)))) return fail(ps, ri, id, key, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_string(v)) return fail(ps, ri, id, key, "[%zu]: expected a string", i);
        const char *s = json_string_value(v), *why = check(s);
        if (why) return fail(ps, ri, id, key, "[%zu]: \"%s\" %s", i, s, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp((*out)[j], s) == 0) return fail(ps, ri, id, key, "\"%s\" is listed twice", s);
        if (!((*out)[i] = strdup(s))) return fail(ps, ri, id, key, "out of memory");
        (*n)++;
    }
    return 0;
}

/* rule[key] as one of the names; returns its index, or -1 after an error. */
static int choice(const parse *ps, long ri, const char *id, const json_t *rule, const char *key,
                  const char *const *names, const char *expected) {
    const json_t *v = json_object_get(rule, key);
    if (!v) return fail(ps, ri, id, key, "required: %s", expected);
    for (int i = 0; json_is_string(v) && names[i]; i++)
        if (strcmp(json_string_value(v), names[i]) == 0) return i;
    return fail(ps, ri, id, key, "expected %s", expected);
}

/* rule[key] as parts per million, 0 to 1,000,000 (min: at least 1). */
static int ppm(const parse *ps, long ri, const char *id, const json_t *rule, const char *key, int min,
               uint32_t *out) {
    const json_t *v = json_object_get(rule, key);
    if (!v) return fail(ps, ri, id, key, "required: parts per million, e.g. 100000 for 10 %%");
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > 1000000)
        return fail(ps, ri, id, key, "expected an integer from %d to 1000000 (parts per million: 100000 = 10 %%)", min);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* Refuses a member the rule's kind does not have (a typo must not fall back to a default). */
static int only_members(const parse *ps, long ri, const char *id, const json_t *rule, const char *const *allowed) {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)rule, k, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(k, allowed[i]) == 0;
        if (!ok) return fail(ps, ri, id, k, "not a member of a rule of this kind");
    }
    return 0;
}

static int event_kinds(const parse *ps, long ri, const char *id, const json_t *rule, uint32_t *bits) {
    const json_t *a = json_object_get(rule, "event_kinds");
    if (!a) return fail(ps, ri, id, "event_kinds", "required, e.g. [\"EXTRACT\"]");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fail(ps, ri, id, "event_kinds", "expected a non-empty array of event kinds");
    *bits = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *v = json_array_get(a, i);
        char full[64];
        snprintf(full, sizeof(full), "EVENT_KIND_%s", json_is_string(v) ? json_string_value(v) : "");
        const ProtobufCEnumValue *ev =
            json_is_string(v) ? protobuf_c_enum_descriptor_get_value_by_name(&mintrace__v1__event_kind__descriptor, full)
                              : NULL;
        if (!ev || ev->value <= 0 || ev->value > 31)
            return fail(ps, ri, id, "event_kinds", "[%zu]: expected an event kind (EXTRACT, PROCESS, MANUFACTURE, "
                                                   "RECYCLE, SPLIT, MERGE, TRANSFER, RECEIVE, LOSS, EXIT, CORRECTION)", i);
        if (*bits & 1u << ev->value)
            return fail(ps, ri, id, "event_kinds", "\"%s\" is listed twice", json_string_value(v));
        *bits |= 1u << ev->value;
    }
    return 0;
}

static const char *const KIND_NAMES[] = {"recycled_share", "country_share", "chain_complete", "documents", NULL};

const char *mt_rule_kind_name(mt_rule_kind k) {
    return k >= MT_RULE_RECYCLED_SHARE && k <= MT_RULE_DOCUMENTS ? KIND_NAMES[k - 1] : "unknown";
}

static int rule_parse(const parse *ps, long ri, const json_t *j, mt_rule *r) {
    static const char *const severities[] = {"info", "warning", "error", NULL};
    static const char *const classes[] = {"pre_consumer", "post_consumer", "any", NULL};
    static const char *const stages[] = {"mined", "processed", NULL};
    static const char *const m_recycled[] = {"id", "kind", "severity", "description", "materials", "elements",
                                             "class", "min_ppm", NULL};
    static const char *const m_country[] = {"id", "kind", "severity", "description", "materials", "elements",
                                            "stage", "countries", "max_ppm", NULL};
    static const char *const m_complete[] = {"id", "kind", "severity", "description", "materials", "elements",
                                             "max_ppm", NULL};
    static const char *const m_documents[] = {"id",          "kind",      "severity", "description", "materials",
                                              "event_kinds", "documents", "require",  NULL};
    if (!json_is_object(j)) return fail(ps, ri, NULL, NULL, "expected an object");
    const json_t *id = json_object_get(j, "id"), *desc = json_object_get(j, "description");
    if (!json_is_string(id) || !id_ok(json_string_value(id)))
        return fail(ps, ri, NULL, "id", "expected 1 to %d characters of [A-Za-z0-9._-]", ID_MAX);
    const char *rid = json_string_value(id);
    if (!(r->id = strdup(rid))) return fail(ps, ri, rid, NULL, "out of memory");
    int k = choice(ps, ri, rid, j, "kind", KIND_NAMES,
                   "\"recycled_share\", \"country_share\", \"chain_complete\" or \"documents\"");
    if (k < 0) return -1;
    r->kind = (mt_rule_kind)(k + 1);
    int sev = choice(ps, ri, rid, j, "severity", severities, "\"info\", \"warning\" or \"error\"");
    if (sev < 0) return -1;
    r->severity = sev + 1;
    if (!json_is_string(desc) || json_string_length(desc) == 0)
        return fail(ps, ri, rid, "description", "required: a non-empty string saying what the rule asks");
    if (!(r->description = strdup(json_string_value(desc)))) return fail(ps, ri, rid, NULL, "out of memory");
    if (strings(ps, ri, rid, j, "materials", 0, nonempty_problem, &r->materials, &r->n_materials)) return -1;
    switch (r->kind) {
    case MT_RULE_RECYCLED_SHARE: {
        if (only_members(ps, ri, rid, j, m_recycled) ||
            strings(ps, ri, rid, j, "elements", 1, element_problem, &r->elements, &r->n_elements))
            return -1;
        int c = choice(ps, ri, rid, j, "class", classes, "\"pre_consumer\", \"post_consumer\" or \"any\"");
        if (c < 0) return -1;
        r->classes = c == 0 ? MT_CLASS_PRE : c == 1 ? MT_CLASS_POST : MT_CLASS_PRE | MT_CLASS_POST;
        return ppm(ps, ri, rid, j, "min_ppm", 1, &r->threshold_ppm);
    }
    case MT_RULE_COUNTRY_SHARE: {
        if (only_members(ps, ri, rid, j, m_country) ||
            strings(ps, ri, rid, j, "elements", 1, element_problem, &r->elements, &r->n_elements))
            return -1;
        int s = choice(ps, ri, rid, j, "stage", stages, "\"mined\" or \"processed\"");
        if (s < 0) return -1;
        r->processed = s;
        if (strings(ps, ri, rid, j, "countries", 1, country_problem, &r->countries, &r->n_countries)) return -1;
        return ppm(ps, ri, rid, j, "max_ppm", 0, &r->threshold_ppm);
    }
    case MT_RULE_CHAIN_COMPLETE:
        if (only_members(ps, ri, rid, j, m_complete) ||
            strings(ps, ri, rid, j, "elements", 0, element_problem, &r->elements, &r->n_elements))
            return -1;
        return ppm(ps, ri, rid, j, "max_ppm", 0, &r->threshold_ppm);
    case MT_RULE_DOCUMENTS: {
        static const char *const req[] = {"any", "all", NULL};
        if (only_members(ps, ri, rid, j, m_documents) || event_kinds(ps, ri, rid, j, &r->event_kinds) ||
            strings(ps, ri, rid, j, "documents", 1, nonempty_problem, &r->documents, &r->n_documents))
            return -1;
        int q = choice(ps, ri, rid, j, "require", req, "\"any\" (one of the documents) or \"all\"");
        if (q < 0) return -1;
        r->require_all = q;
        return 0;
    }
    }
    return -1;
}

int mt_policy_parse(mt_policy *p, const char *text, size_t len, const char *name, char *errstr,
                    size_t errstr_size) {
    parse ps = {name, text, len, errstr, errstr_size};
    json_error_t jerr;
    memset(p, 0, sizeof(*p));
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(errstr, errstr_size, "%s:%d: %s", name, jerr.line > 0 ? jerr.line : 1, jerr.text);
        return -1;
    }
    int rc = -1;
    const char *k;
    const json_t *v;
    if (!json_is_object(root)) {
        fail(&ps, -1, NULL, NULL, "expected an object with policy_id, description and rules");
        goto out;
    }
    json_object_foreach(root, k, v) {
        if (strcmp(k, "$schema") && strcmp(k, "policy_id") && strcmp(k, "description") && strcmp(k, "rules")) {
            fail(&ps, -1, NULL, k, "not a member of a policy (policy_id, description, rules)");
            goto out;
        }
    }
    v = json_object_get(root, "$schema");
    if (v && !json_is_string(v)) {
        fail(&ps, -1, NULL, "$schema", "expected a string (the schema's location)");
        goto out;
    }
    v = json_object_get(root, "policy_id");
    if (!json_is_string(v) || !id_ok(json_string_value(v))) {
        fail(&ps, -1, NULL, "policy_id", "required: 1 to %d characters of [A-Za-z0-9._-]", ID_MAX);
        goto out;
    }
    if (!(p->id = strdup(json_string_value(v)))) goto oom;
    v = json_object_get(root, "description");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fail(&ps, -1, NULL, "description", "required: a non-empty string");
        goto out;
    }
    if (!(p->description = strdup(json_string_value(v)))) goto oom;
    v = json_object_get(root, "rules");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        fail(&ps, -1, NULL, "rules", "required: a non-empty array of rules");
        goto out;
    }
    if (!(p->rules = calloc(json_array_size(v), sizeof(mt_rule)))) goto oom;
    for (size_t i = 0; i < json_array_size(v); i++) {
        p->n_rules++; /* a half-parsed rule is released with the rest */
        if (rule_parse(&ps, (long)i, json_array_get(v, i), &p->rules[i])) goto out;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->rules[j].id, p->rules[i].id) == 0) {
                fail(&ps, (long)i, p->rules[i].id, "id", "already used by rules[%zu]", j);
                goto out;
            }
    }
    rc = 0;
    goto out;
oom:
    snprintf(errstr, errstr_size, "%s: out of memory", name);
out:
    json_decref(root);
    if (rc) mt_policy_release(p);
    return rc;
}

int mt_policy_load(mt_policy *p, const char *path, char *errstr, size_t errstr_size) {
    size_t len;
    memset(p, 0, sizeof(*p));
    char *text = mt_read_file(path, &len);
    if (!text) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno ? errno : ENOMEM));
        return -1;
    }
    int rc = mt_policy_parse(p, text, len, path, errstr, errstr_size);
    free(text);
    return rc;
}

const mt_rule *mt_policy_rule(const mt_policy *p, const char *id) {
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rules[i].id, id) == 0) return &p->rules[i];
    return NULL;
}

static void free_strings(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

void mt_policy_release(mt_policy *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_rules; i++) {
        mt_rule *r = &p->rules[i];
        free(r->id);
        free(r->description);
        free_strings(r->materials, r->n_materials);
        free_strings(r->elements, r->n_elements);
        free_strings(r->countries, r->n_countries);
        free_strings(r->documents, r->n_documents);
    }
    free(p->rules);
    free(p->id);
    free(p->description);
    memset(p, 0, sizeof(*p));
}
