/* passport — a product passport for one batch: its proven provenance figures as JSON. */
#include "passport.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

static const struct {
    const char *symbol, *name;
} names[] = {
    {"Nd", "Neodymium"}, {"Pr", "Praseodymium"}, {"Dy", "Dysprosium"}, {"Tb", "Terbium"},  {"La", "Lanthanum"},
    {"Ce", "Cerium"},    {"Sm", "Samarium"},     {"Gd", "Gadolinium"}, {"Ho", "Holmium"},  {"Eu", "Europium"},
    {"Y", "Yttrium"},    {"Fe", "Iron"},         {"B", "Boron"},       {"Co", "Cobalt"},   {"Li", "Lithium"},
    {"Ni", "Nickel"},    {"Mn", "Manganese"},    {"Cu", "Copper"},     {"Al", "Aluminium"}, {"Pb", "Lead"},
    {"Th", "Thorium"},   {"U", "Uranium"},       {"Ti", "Titanium"},   {"Zr", "Zirconium"}, {"Nb", "Niobium"},
};

static const char *element_name(const char *symbol) {
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].symbol, symbol) == 0) return names[i].name;
    return symbol;
}

/* part / whole in percent, rounded half up to hundredths: exact from the integers, so a verifier
 * recomputes the same double. */
static json_t *percent(uint64_t part, uint64_t whole) {
    uint64_t h = whole ? (uint64_t)(((unsigned __int128)part * 20000 + whole) / (2 * (unsigned __int128)whole)) : 0;
    return json_real((double)h / 100.0);
}

static json_t *kg(uint64_t mg) {
    char buf[40];
    snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, mg / 1000000, mg % 1000000);
    return json_string(buf);
}

static json_t *hex(const ProtobufCBinaryData *b) {
    char buf[2 * 64 + 1];
    if (b->len > 64) return json_null();
    mt_hex_encode(b->data, b->len, buf);
    return json_string(buf);
}

static json_t *iso_time(int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[80];
    if (!gmtime_r(&t, &tm)) return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

static json_t *countries(Mintrace__V1__CountryMass **c, size_t n, uint64_t total) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:I, s:o}", "country", c[i]->country, "mass_mg", (json_int_t)c[i]->mass_mg,
                                           "share_percent", percent(c[i]->mass_mg, total)));
    return a;
}

json_t *mt_passport_new(const Mintrace__V1__ProvenanceRecord *rec, const Mintrace__V1__Checkpoint *cp, json_t *proof) {
    json_t *elements = json_array(), *recycled = json_array();
    for (size_t i = 0; elements && recycled && i < rec->n_elements; i++) {
        const Mintrace__V1__ElementProvenance *e = rec->elements[i];
        json_array_append_new(
            elements,
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "element", e->element, "name",
                      element_name(e->element), "mass_mg", (json_int_t)e->total_mg, "recycled_pre_consumer_mg",
                      (json_int_t)e->recycled_pre_consumer_mg, "recycled_post_consumer_mg",
                      (json_int_t)e->recycled_post_consumer_mg, "untracked_mg", (json_int_t)e->untracked_mg,
                      "unattributed_mg", (json_int_t)e->unattributed_mg, "extraction",
                      countries(e->extraction, e->n_extraction, e->total_mg), "processing",
                      countries(e->processing, e->n_processing, e->total_mg)));
        /* under mass balance the claim is the allocated credit (docs/accounting.md M5), stated as such */
        uint64_t pre = rec->mass_balance ? e->mass_balance_pre_consumer_mg : e->recycled_pre_consumer_mg;
        uint64_t post = rec->mass_balance ? e->mass_balance_post_consumer_mg : e->recycled_post_consumer_mg;
        if (rec->mass_balance)
            json_object_set_new(json_array_get(elements, json_array_size(elements) - 1), "mass_balance",
                                json_pack("{s:I, s:I}", "claimed_pre_consumer_mg", (json_int_t)pre,
                                          "claimed_post_consumer_mg", (json_int_t)post));
        if (e->total_mg)
            json_array_append_new(recycled, json_pack("{s:s, s:s, s:o, s:o}", "recycledMaterial", element_name(e->element),
                                                      "element", e->element, "preConsumerShare", percent(pre, e->total_mg),
                                                      "postConsumerShare", percent(post, e->total_mg)));
    }
    json_t *custody = rec->mass_balance
                          ? json_pack("{s:s, s:s, s:s}", "model", "mass balance", "standard", "ISO 22095:2020",
                                      "method", "recycledContent states allocated credits (a book-keeping claim); "
                                                "elements[].recycled_* are the physical figures (docs/accounting.md)")
                          : json_pack("{s:s, s:s, s:s}", "model", "controlled blending", "standard", "ISO 22095:2020",
                                      "method", "proportional: every output carries the shares of its inputs "
                                                "(docs/accounting.md)");
    json_t *p = json_pack(
        "{s:s, s:s, s:s, s:I, s:o, s:s, s:b, s:I, s:o, s:o, s:o, s:{s:s, s:I, s:o, s:o, s:o, s:I}}",
        "mintrace_passport", "1", "batch_id", rec->batch_id, "material", rec->material, "mass_mg",
        (json_int_t)rec->mass_mg, "mass_kg", kg(rec->mass_mg), "holder_facility_id", rec->holder_facility_id,
        "in_transit", (int)rec->in_transit, "ledger_index", (json_int_t)rec->ledger_index, "recycledContent", recycled,
        "elements", elements, "chain_of_custody", custody, "checkpoint",
        "network_id", cp->network_id, "tree_size", (json_int_t)cp->tree_size, "root", hex(&cp->root),
        "provenance_root", hex(&cp->provenance_root), "time", iso_time(cp->time_ms), "registry_version",
        (json_int_t)cp->registry_version);
    if (p && proof && json_object_set_new(p, "proof", proof)) {
        json_decref(p);
        return NULL;
    }
    if (!p) json_decref(proof);
    return p;
}

static int fail(char *errstr, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, n, fmt, ap);
    va_end(ap);
    return -1;
}

int mt_passport_check(const json_t *passport, const Mintrace__V1__ProvenanceRecord *rec,
                      const Mintrace__V1__Checkpoint *cp, char *errstr, size_t errstr_size) {
    json_t *want = mt_passport_new(rec, cp, NULL);
    const char *k;
    json_t *v;
    int rc = 0;
    if (!want) return fail(errstr, errstr_size, "out of memory");
    json_object_foreach(want, k, v) {
        if (!json_equal(v, json_object_get(passport, k))) {
            rc = fail(errstr, errstr_size, "the passport's \"%s\" is not what the proven record says", k);
            break;
        }
    }
    json_object_foreach((json_t *)passport, k, v) {
        if (!rc && strcmp(k, "proof") && !json_object_get(want, k))
            rc = fail(errstr, errstr_size, "the passport's \"%s\" is not part of a passport", k);
    }
    json_decref(want);
    return rc;
}
