/* epcis — the journal as a GS1 EPCIS 2.0 JSON-LD EPCISDocument (docs/epcis.md has the mapping). */
#include "epcis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "event.h"
#include "map.h"

#define NS MT_EPCIS_NS_PREFIX ":"
#define KIND(k) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##k

/* ---- numbers, identifiers, times ---- */

size_t mt_epcis_kg(uint64_t mg, char *buf, size_t size) {
    char frac[8];
    int n;
    uint64_t whole = mg / 1000000, part = mg % 1000000;
    if (!part) {
        n = snprintf(buf, size, "%" PRIu64, whole);
    } else {
        snprintf(frac, sizeof(frac), "%06" PRIu64, part);
        for (int i = 5; i > 0 && frac[i] == '0'; i--) frac[i] = '\0';
        n = snprintf(buf, size, "%" PRIu64 ".%s", whole, frac);
    }
    if (n < 0 || (size_t)n >= size) {
        if (size) buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

json_t *mt_epcis_quantity(uint64_t mg, const char **uom) {
    if (mg > MT_EPCIS_KGM_MAX_MG) { /* a double cannot carry it exactly: an integer can */
        *uom = "MGM";
        return json_integer((json_int_t)mg);
    }
    char kg[32];
    mt_epcis_kg(mg, kg, sizeof(kg));
    *uom = "KGM";
    /* at most 15 significant digits: the nearest double prints back as this very decimal at
     * JSON_REAL_PRECISION(15) (DBL_DIG), which mt_epcis_dump() uses */
    return json_real(strtod(kg, NULL));
}

void mt_epcis_event_id(const unsigned char id[MT_HASH_LEN], char out[46]) {
    unsigned char u[16];
    char hex[33];
    memcpy(u, id, 16);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x80); /* version 8: custom */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* variant 10 (RFC 9562) */
    mt_hex_encode(u, 16, hex);
    snprintf(out, 46, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Appends s percent-encoded to out (which has room for 3 * strlen(s) more). */
static char *pct(char *out, const char *s) {
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            *out++ = (char)*p;
        } else {
            *out++ = '%';
            *out++ = digits[*p >> 4];
            *out++ = digits[*p & 15];
        }
    }
    *out = '\0';
    return out;
}

json_t *mt_epcis_urn(const char *kind, const char *network, const char *id) {
    size_t need = strlen("urn:mintrace:::") + strlen(kind) + 3 * (strlen(network) + strlen(id)) + 1;
    char *buf = malloc(need), *p;
    if (!buf) return NULL;
    p = buf + sprintf(buf, "urn:mintrace:%s:", kind);
    p = pct(p, network);
    *p++ = ':';
    pct(p, id);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

int mt_epcis_time(int64_t ms, char out[32]) {
    int64_t s = ms / 1000, r = ms % 1000;
    if (r < 0) {
        r += 1000;
        s--;
    }
    time_t t = (time_t)s;
    struct tm tm;
    out[0] = '\0';
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) return -1;
    char buf[64]; /* the compiler cannot see that every field is in range */
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)r);
    if (n != 24) return -1;
    memcpy(out, buf, 25);
    return 0;
}

/* ---- the journal's accepted events ---- */

typedef struct rec {
    uint64_t index;
    Mintrace__V1__LedgerEntry *entry; /* owns the AttestedEvent bytes */
    Mintrace__V1__Envelope *env;      /* the facility envelope */
    Mintrace__V1__BatchEvent *ev;
    Mintrace__V1__Envelope *att_env;  /* the notary envelope */
    Mintrace__V1__Attestation *att;
    unsigned char id[MT_HASH_LEN];
} rec;

struct mt_epcis {
    rec *recs;
    size_t n, cap;
    uint64_t entries;    /* every entry read, exported or not */
    uint64_t last_index; /* of the last entry read */
};

mt_epcis *mt_epcis_new(void) { return calloc(1, sizeof(mt_epcis)); }

static void rec_release(rec *r) {
    if (r->att) mintrace__v1__attestation__free_unpacked(r->att, NULL);
    if (r->att_env) mintrace__v1__envelope__free_unpacked(r->att_env, NULL);
    if (r->ev) mintrace__v1__batch_event__free_unpacked(r->ev, NULL);
    if (r->env) mintrace__v1__envelope__free_unpacked(r->env, NULL);
    if (r->entry) mintrace__v1__ledger_entry__free_unpacked(r->entry, NULL);
}

void mt_epcis_free(mt_epcis *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n; i++) rec_release(&x->recs[i]);
    free(x->recs);
    free(x);
}

int mt_epcis_add(mt_epcis *x, const void *entry, size_t len, char *errstr, size_t errstr_size) {
    rec r = {0};
    r.entry = mintrace__v1__ledger_entry__unpack(NULL, len, entry);
    if (!r.entry) {
        snprintf(errstr, errstr_size, "journal entry %s%" PRIu64 ": %zu bytes that are not a LedgerEntry",
                 x->entries ? "after index " : "", x->entries ? x->last_index : 0, len);
        return -1;
    }
    x->entries++;
    r.index = x->last_index = r.entry->index;
    if (r.entry->entry_case != MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        rec_release(&r);
        return 0;
    }
    const Mintrace__V1__AttestedEvent *ae = r.entry->event;
    r.env = mintrace__v1__envelope__unpack(NULL, ae->envelope.len, ae->envelope.data);
    r.ev = r.env ? mintrace__v1__batch_event__unpack(NULL, r.env->payload.len, r.env->payload.data) : NULL;
    r.att_env = mintrace__v1__envelope__unpack(NULL, ae->attestation.len, ae->attestation.data);
    r.att = r.att_env ? mintrace__v1__attestation__unpack(NULL, r.att_env->payload.len, r.att_env->payload.data) : NULL;
    if (!r.ev || !r.att) {
        snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": the accepted event's %s does not decode", r.index,
                 !r.env ? "envelope" : !r.ev ? "BatchEvent" : !r.att_env ? "attestation envelope" : "Attestation");
        rec_release(&r);
        return -1;
    }
    mt_hash(r.env->payload.data, r.env->payload.len, r.id);
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 256;
        rec *nr = realloc(x->recs, cap * sizeof(*nr));
        if (!nr) {
            snprintf(errstr, errstr_size, "out of memory");
            rec_release(&r);
            return -1;
        }
        x->recs = nr;
        x->cap = cap;
    }
    x->recs[x->n++] = r;
    return 0;
}

/* ---- one event's EPCIS form ---- */

typedef struct ctx {
    const char *net;
    char *err;
    size_t err_size;
} ctx;

static const char *short_enum(const ProtobufCEnumDescriptor *d, int v, const char *prefix) {
    const char *name = mt_enum_name(d, v);
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) ? name : name + n;
}

static json_t *b64(const ProtobufCBinaryData *b) {
    size_t size = 4 * ((b->len + 2) / 3) + 1;
    char *buf = malloc(size);
    if (!buf) return NULL;
    mt_base64_encode(b->data, b->len, buf, size);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static json_t *hex(const void *data, size_t len) {
    char *buf = malloc(2 * len + 1);
    if (!buf) return NULL;
    mt_hex_encode(data, len, buf);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static json_t *quantity(const char *net, const char *kind, const char *id, uint64_t mg) {
    const char *uom;
    json_t *q = mt_epcis_quantity(mg, &uom);
    return json_pack("{s:o, s:o, s:s}", "epcClass", mt_epcis_urn(kind, net, id), "quantity", q, "uom", uom);
}


/* A mass in mg: a JSON integer (a decimal string in the impossible case it passes INT64_MAX). */
static json_t *mg_json(uint64_t mg) {
    if (mg <= INT64_MAX) return json_integer((json_int_t)mg);
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, mg);
    return json_string(buf);
}

static json_t *element_list(Mintrace__V1__ElementMass *const *e, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_pack("{s:s, s:o}", NS "element", e[i]->element, NS "massMg",
                                               mg_json(e[i]->mass_mg)))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *document(const Mintrace__V1__Document *d) {
    return json_pack("{s:s, s:s, s:o}", NS "kind", d->kind, NS "uri", d->uri, NS "sha256",
                     hex(d->sha256.data, d->sha256.len));
}

static json_t *document_list(Mintrace__V1__Document *const *d, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, document(d[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Appends every signature of env to a: key id, role, the signature in base64. */
static int signatures(json_t *a, const Mintrace__V1__Envelope *env) {
    for (size_t i = 0; i < env->n_signatures; i++) {
        const Mintrace__V1__Signature *s = env->signatures[i];
        if (json_array_append_new(a, json_pack("{s:s, s:s, s:o}", NS "keyId", s->key_id, NS "role",
                                               short_enum(&mintrace__v1__signer_role__descriptor, s->role,
                                                          "SIGNER_ROLE_"),
                                               NS "sig", b64(&s->sig))))
            return -1;
    }
    return 0;
}

/* set: json_object_set_new that remembers a failure (a NULL value is out of memory). */
static void set(json_t *o, const char *key, json_t *v, int *bad) {
    if (!v || json_object_set_new(o, key, v)) *bad = 1;
}

/* Sets key to s unless s is empty (proto3's unset string). */
static void set_text(json_t *o, const char *key, const char *s, int *bad) {
    if (s && s[0]) set(o, key, json_string(s), bad);
}

/* The mintrace extension: everything the ledger knows of the event that EPCIS has no field for. */
static int extension(json_t *o, const rec *r) {
    const Mintrace__V1__BatchEvent *ev = r->ev;
    int bad = 0;
    set(o, NS "eventId", hex(r->id, MT_HASH_LEN), &bad);
    set(o, NS "ledgerIndex", json_integer((json_int_t)r->index), &bad);
    set(o, NS "kind", json_string(short_enum(&mintrace__v1__event_kind__descriptor, ev->kind, "EVENT_KIND_")), &bad);
    set(o, NS "facility", json_string(ev->facility_id), &bad);
    set(o, NS "seq", json_integer((json_int_t)ev->seq), &bad);
    set(o, NS "registryVersion", json_integer((json_int_t)r->att->registry_version), &bad);
    if (ev->site) {
        json_t *site = json_object();
        set_text(site, NS "country", ev->site->country, &bad);
        set_text(site, NS "region", ev->site->region, &bad);
        set_text(site, NS "name", ev->site->name, &bad);
        set(o, NS "site", site, &bad);
    }
    if (ev->n_inputs) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < ev->n_inputs; i++)
            if (json_array_append_new(a, json_pack("{s:s, s:o}", NS "batch", ev->inputs[i]->batch_id, NS "massMg",
                                                   mg_json(ev->inputs[i]->mass_mg))))
                bad = 1;
        set(o, NS "inputs", a, &bad);
    }
    if (ev->n_outputs) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < ev->n_outputs; i++) {
            const Mintrace__V1__BatchOutput *out = ev->outputs[i];
            json_t *j = json_pack("{s:s, s:s, s:o, s:o}", NS "batch", out->batch_id, NS "material", out->material,
                                  NS "massMg", mg_json(out->mass_mg), NS "elements",
                                  element_list(out->elements, out->n_elements));
            if (j && out->recycled_class)
                set(j, NS "recycledClass",
                    json_string(short_enum(&mintrace__v1__recycled_class__descriptor, out->recycled_class,
                                           "RECYCLED_CLASS_")),
                    &bad);
            if (json_array_append_new(a, j)) bad = 1;
        }
        set(o, NS "outputs", a, &bad);
    }
    if (ev->n_untracked_inputs) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < ev->n_untracked_inputs; i++) {
            const Mintrace__V1__UntrackedInput *u = ev->untracked_inputs[i];
            json_t *j = json_pack("{s:s, s:o, s:o}", NS "material", u->material, NS "massMg", mg_json(u->mass_mg),
                                  NS "elements", element_list(u->elements, u->n_elements));
            if (j) set_text(j, NS "supplier", u->supplier, &bad);
            if (j && u->document) set(j, NS "document", document(u->document), &bad);
            if (json_array_append_new(a, j)) bad = 1;
        }
        set(o, NS "untrackedInputs", a, &bad);
    }
    if (ev->n_documents) set(o, NS "documents", document_list(ev->documents, ev->n_documents), &bad);
    switch (ev->detail_case) {
    case MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE:
        set(o, NS "recycle",
            json_pack("{s:s, s:o, s:o, s:o}", NS "feedstock",
                      short_enum(&mintrace__v1__feedstock_class__descriptor, ev->recycle->feedstock,
                                 "FEEDSTOCK_CLASS_"),
                      NS "untrackedFeedstockMassMg", mg_json(ev->recycle->untracked_feedstock_mass_mg),
                      NS "untrackedFeedstock",
                      element_list(ev->recycle->untracked_feedstock, ev->recycle->n_untracked_feedstock),
                      NS "evidence", document_list(ev->recycle->evidence, ev->recycle->n_evidence)),
            &bad);
        if (ev->recycle->n_returns) { /* EXITed batches back as end-of-life scrap (docs/accounting.md D2) */
            json_t *a = json_array(), *recy = json_object_get(o, NS "recycle");
            if (!a || !recy) bad = 1;
            for (size_t i = 0; a && i < ev->recycle->n_returns; i++)
                if (json_array_append_new(a, json_pack("{s:s, s:o}", NS "batch", ev->recycle->returns[i]->batch_id,
                                                       NS "massMg", mg_json(ev->recycle->returns[i]->mass_mg))))
                    bad = 1;
            if (recy) set(recy, NS "returns", a, &bad);
            else json_decref(a);
        }
        break;
    case MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER:
        set_text(o, NS "carrier", ev->transfer->carrier, &bad);
        break;
    case MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE:
        set(o, NS "transferEventId", hex(ev->receive->transfer_event_id.data, ev->receive->transfer_event_id.len),
            &bad);
        if (ev->receive->transfer_event_id.len == MT_HASH_LEN) {
            char eid[46];
            mt_epcis_event_id(ev->receive->transfer_event_id.data, eid);
            set(o, NS "transferEventID", json_string(eid), &bad);
        }
        break;
    case MINTRACE__V1__BATCH_EVENT__DETAIL_EXIT:
        set_text(o, NS "product", ev->exit->product, &bad);
        set_text(o, NS "buyer", ev->exit->buyer, &bad);
        break;
    case MINTRACE__V1__BATCH_EVENT__DETAIL_LOSS:
        set_text(o, NS "lossReason", ev->loss->reason, &bad);
        break;
    default:
        break;
    }
    json_t *sigs = json_array();
    if (!sigs || signatures(sigs, r->env) || signatures(sigs, r->att_env)) bad = 1;
    set(o, NS "signatures", sigs, &bad);
    set(o, NS "envelope", b64(&r->entry->event->envelope), &bad);
    set(o, NS "attestation", b64(&r->entry->event->attestation), &bad);
    return bad ? -1 : 0;
}

/* A quantityList of the event's tracked inputs (kind "batch") and, with untracked_too, its
 * untracked inputs and untracked recycling feedstock (kind "untracked"); may be empty. NULL when
 * out of memory. */
static json_t *input_quantities(const Mintrace__V1__BatchEvent *ev, const char *net, int untracked_too) {
    json_t *a = json_array();
    int bad = !a;
    for (size_t i = 0; a && i < ev->n_inputs; i++)
        if (json_array_append_new(a, quantity(net, "batch", ev->inputs[i]->batch_id, ev->inputs[i]->mass_mg))) bad = 1;
    for (size_t i = 0; a && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE && i < ev->recycle->n_returns; i++)
        if (json_array_append_new(a, quantity(net, "batch", ev->recycle->returns[i]->batch_id,
                                              ev->recycle->returns[i]->mass_mg)))
            bad = 1;
    for (size_t i = 0; a && untracked_too && i < ev->n_untracked_inputs; i++)
        if (json_array_append_new(a, quantity(net, "untracked", ev->untracked_inputs[i]->material,
                                              ev->untracked_inputs[i]->mass_mg)))
            bad = 1;
    if (a && untracked_too && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE &&
        ev->recycle->untracked_feedstock_mass_mg) {
        const char *what = ev->recycle->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_POST_CONSUMER
                               ? "post-consumer-scrap"
                               : "pre-consumer-scrap";
        if (json_array_append_new(a, quantity(net, "untracked", what, ev->recycle->untracked_feedstock_mass_mg)))
            bad = 1;
    }
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *output_quantities(const Mintrace__V1__BatchEvent *ev, const char *net) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < ev->n_outputs; i++)
        if (json_array_append_new(a, quantity(net, "batch", ev->outputs[i]->batch_id, ev->outputs[i]->mass_mg))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *party(const char *which, const char *net, const char *facility) {
    return json_pack("[{s:s, s:o}]", "type", "possessing_party", which, mt_epcis_urn("facility", net, facility));
}

/* The EPCIS event for r as it happened (never for a CORRECTION: see correction()). NULL with
 * the reason in c->err. */
static json_t *event_json(const rec *r, const ctx *c) {
    const Mintrace__V1__BatchEvent *ev = r->ev;
    char when[32], recorded[32], eid[46];
    if (mt_epcis_time(ev->time_ms, when) || mt_epcis_time(r->att->notary_time_ms, recorded)) {
        snprintf(c->err, c->err_size, "journal entry %" PRIu64 ": time out of range", r->index);
        return NULL;
    }
    mt_epcis_event_id(r->id, eid);
    const char *type = "ObjectEvent", *action = NULL, *step = NULL, *disposition = NULL;
    switch (ev->kind) {
    case KIND(EXTRACT): action = "ADD", step = "creating_class_instance", disposition = "active"; break;
    case KIND(PROCESS):
    case KIND(MANUFACTURE):
    case KIND(RECYCLE): type = "TransformationEvent", step = "creating_class_instance", disposition = "active"; break;
    case KIND(SPLIT):
    case KIND(MERGE): type = "TransformationEvent", step = "repackaging", disposition = "active"; break;
    case KIND(TRANSFER): action = "OBSERVE", step = "shipping", disposition = "in_transit"; break;
    case KIND(RECEIVE): action = "OBSERVE", step = "receiving", disposition = "active"; break;
    case KIND(LOSS): action = "DELETE", step = "destroying", disposition = "destroyed"; break;
    case KIND(EXIT): action = "DELETE", step = "decommissioning", disposition = "inactive"; break;
    default:
        snprintf(c->err, c->err_size, "journal entry %" PRIu64 ": event kind %d has no EPCIS mapping", r->index,
                 (int)ev->kind);
        return NULL;
    }
    int bad = 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", type, "eventTime", when, "eventTimeZoneOffset",
                          "+00:00", "recordTime", recorded, "eventID", eid);
    if (!o) goto oom;
    if (action) set(o, "action", json_string(action), &bad);
    set(o, "bizStep", json_string(step), &bad);
    set(o, "disposition", json_string(disposition), &bad);
    set(o, "readPoint", json_pack("{s:o}", "id", mt_epcis_urn("facility", c->net, ev->facility_id)), &bad);
    set(o, "bizLocation", json_pack("{s:o}", "id", mt_epcis_urn("facility", c->net, ev->facility_id)), &bad);
    if (!strcmp(type, "TransformationEvent")) {
        json_t *in = input_quantities(ev, c->net, 1);
        if (in && json_array_size(in))
            set(o, "inputQuantityList", in, &bad);
        else if (in)
            json_decref(in);
        else
            bad = 1;
        set(o, "outputQuantityList", output_quantities(ev, c->net), &bad);
        char h[2 * MT_HASH_LEN + 1];
        mt_hex_encode(r->id, MT_HASH_LEN, h);
        set(o, "transformationID", mt_epcis_urn("transformation", c->net, h), &bad);
    } else if (ev->kind == KIND(EXTRACT)) {
        set(o, "quantityList", output_quantities(ev, c->net), &bad);
        json_t *ilmd = json_pack("{s:s, s:s}", "cbvmda:countryOfOrigin", ev->site ? ev->site->country : "",
                                 NS "mine", ev->facility_id);
        if (ilmd && ev->site) set_text(ilmd, NS "region", ev->site->region, &bad);
        if (ilmd && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_EXTRACT) {
            set_text(ilmd, NS "deposit", ev->extract->deposit, &bad);
            set_text(ilmd, NS "licence", ev->extract->licence, &bad);
            set_text(ilmd, NS "mineral", ev->extract->mineral, &bad);
        }
        set(o, "ilmd", ilmd, &bad);
    } else {
        set(o, "quantityList", input_quantities(ev, c->net, 0), &bad);
        if (ev->kind == KIND(TRANSFER) && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER) {
            set(o, "sourceList", party("source", c->net, ev->facility_id), &bad);
            set(o, "destinationList", party("destination", c->net, ev->transfer->destination_facility_id), &bad);
        } else if (ev->kind == KIND(RECEIVE) && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECEIVE) {
            set(o, "sourceList", party("source", c->net, ev->receive->origin_facility_id), &bad);
            set(o, "destinationList", party("destination", c->net, ev->facility_id), &bad);
        }
    }
    if (!bad && !extension(o, r)) return o;
oom:
    json_decref(o);
    snprintf(c->err, c->err_size, "journal entry %" PRIu64 ": out of memory", r->index);
    return NULL;
}

/* A CORRECTION as EPCIS says to declare an error: a copy of the voided event (same eventID),
 * recorded at the correction's notary time, with errorDeclaration naming the correction. */
static json_t *correction(const rec *fix, const rec *orig, const ctx *c) {
    char when[32], recorded[32], eid[46];
    json_t *o = event_json(orig, c);
    if (!o) return NULL;
    if (mt_epcis_time(fix->ev->time_ms, when) || mt_epcis_time(fix->att->notary_time_ms, recorded)) {
        snprintf(c->err, c->err_size, "journal entry %" PRIu64 ": time out of range", fix->index);
        json_decref(o);
        return NULL;
    }
    mt_epcis_event_id(fix->id, eid);
    int bad = 0;
    json_t *sigs = json_array();
    if (!sigs || signatures(sigs, fix->env) || signatures(sigs, fix->att_env)) bad = 1;
    json_t *decl = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:o, s:o, s:o}", "declarationTime", when, "reason",
                             "did_not_occur", NS "correctionEventID", eid, NS "correctionEventId",
                             hex(fix->id, MT_HASH_LEN), NS "correctionLedgerIndex", (json_int_t)fix->index,
                             NS "correctionSeq", (json_int_t)fix->ev->seq, NS "reason", fix->ev->correction->reason,
                             NS "signatures", sigs, NS "envelope", b64(&fix->entry->event->envelope),
                             NS "attestation", b64(&fix->entry->event->attestation));
    set(o, "recordTime", json_string(recorded), &bad);
    set(o, "errorDeclaration", decl, &bad);
    if (bad) {
        snprintf(c->err, c->err_size, "journal entry %" PRIu64 ": out of memory", fix->index);
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- which events: all, or one batch's lineage ---- */

static const rec *find_event(const mt_map *by_id, const unsigned char *id, size_t len) {
    return len == MT_HASH_LEN ? mt_map_get(by_id, id, MT_HASH_LEN) : NULL;
}

/* Marks in sel the lineage of batch: for every batch in it, the event that made it and every
 * TRANSFER and RECEIVE of it; then the corrections of marked events. 0; -1 if nothing made it,
 * -2 when out of memory. */
static int lineage(const mt_epcis *x, const mt_map *by_id, const char *batch, char *sel) {
    mt_map *made = mt_map_new(), *seen = mt_map_new();
    const char **todo = NULL;
    size_t ntodo = 0, cap = 0;
    int rc = -2;
    if (!made || !seen) goto out;
    rc = -1;
    for (size_t i = 0; i < x->n; i++)
        for (size_t o = 0; o < x->recs[i].ev->n_outputs; o++) {
            const char *b = x->recs[i].ev->outputs[o]->batch_id;
            mt_map_put(made, b, strlen(b), &x->recs[i]);
        }
    if (!mt_map_get(made, batch, strlen(batch))) goto out;
    rc = 0;
    for (const char *b = batch; b; b = ntodo ? todo[--ntodo] : NULL) {
        if (mt_map_get(seen, b, strlen(b))) continue;
        mt_map_put(seen, b, strlen(b), (void *)b);
        const rec *maker = mt_map_get(made, b, strlen(b));
        for (size_t i = 0; i < x->n; i++) {
            const rec *r = &x->recs[i];
            if (r != maker) {
                if (r->ev->kind == KIND(TRANSFER) || r->ev->kind == KIND(RECEIVE))
                    for (size_t k = 0; k < r->ev->n_inputs; k++)
                        if (!strcmp(r->ev->inputs[k]->batch_id, b)) sel[i] = 1;
                continue;
            }
            sel[i] = 1;
            for (size_t k = 0; k < r->ev->n_inputs; k++) {
                if (ntodo == cap) {
                    size_t ncap = cap ? 2 * cap : 64;
                    const char **nt = realloc(todo, ncap * sizeof(*nt));
                    if (!nt) {
                        rc = -2;
                        goto out;
                    }
                    todo = nt;
                    cap = ncap;
                }
                todo[ntodo++] = r->ev->inputs[k]->batch_id;
            }
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        const rec *r = &x->recs[i];
        if (r->ev->kind != KIND(CORRECTION) || r->ev->detail_case != MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION)
            continue;
        const rec *orig = find_event(by_id, r->ev->correction->corrected_event_id.data,
                                     r->ev->correction->corrected_event_id.len);
        if (orig && sel[orig - x->recs]) sel[i] = 1;
    }
out:
    free(todo);
    mt_map_free(made, NULL);
    mt_map_free(seen, NULL);
    return rc;
}

json_t *mt_epcis_document(const mt_epcis *x, const char *batch, int64_t creation_ms, char *errstr,
                          size_t errstr_size) {
    ctx c = {x->n ? x->recs[0].ev->network_id : "", errstr, errstr_size};
    char created[32];
    json_t *doc = NULL, *list = NULL;
    char *sel = calloc(x->n ? x->n : 1, 1);
    mt_map *by_id = mt_map_new();
    if (!sel || !by_id) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (mt_epcis_time(creation_ms, created)) {
        snprintf(errstr, errstr_size, "creation time out of range");
        goto fail;
    }
    for (size_t i = 0; i < x->n; i++) mt_map_put(by_id, x->recs[i].id, MT_HASH_LEN, &x->recs[i]);
    if (batch) {
        int rc = lineage(x, by_id, batch, sel);
        if (rc) {
            snprintf(errstr, errstr_size, rc == -1 ? "%s: no event of the journal made this batch" : "out of memory",
                     batch);
            goto fail;
        }
    } else {
        memset(sel, 1, x->n);
    }
    list = json_array();
    for (size_t i = 0; list && i < x->n; i++) {
        if (!sel[i]) continue;
        const rec *r = &x->recs[i];
        json_t *e;
        if (r->ev->kind == KIND(CORRECTION)) {
            const rec *orig = r->ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_CORRECTION
                                  ? find_event(by_id, r->ev->correction->corrected_event_id.data,
                                               r->ev->correction->corrected_event_id.len)
                                  : NULL;
            if (!orig || orig->index >= r->index) {
                snprintf(errstr, errstr_size, "journal entry %" PRIu64 ": the CORRECTION names no earlier event of the journal",
                         r->index);
                goto fail;
            }
            e = correction(r, orig, &c);
        } else {
            e = event_json(r, &c);
        }
        if (!e) goto fail;
        if (json_array_append_new(list, e)) {
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
    }
    doc = json_pack("{s:[s, {s:s}], s:s, s:s, s:s, s:s, s:I, s:{s:o}}", "@context", MT_EPCIS_CONTEXT,
                    MT_EPCIS_NS_PREFIX, MT_EPCIS_NS_IRI, "type", "EPCISDocument", "schemaVersion", "2.0",
                    "creationDate", created, NS "network", c.net, NS "journalEntries", (json_int_t)x->entries,
                    "epcisBody", "eventList", list);
    list = NULL; /* json_pack took it, even on failure */
    if (doc && batch && json_object_set_new(doc, NS "lineageOf", json_string(batch))) {
        json_decref(doc);
        doc = NULL;
    }
    if (!doc) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    free(sel);
    mt_map_free(by_id, NULL);
    return doc;
fail:
    json_decref(list);
    free(sel);
    mt_map_free(by_id, NULL);
    return NULL;
}

int mt_epcis_dump(const json_t *doc, FILE *fp) {
    if (json_dumpf(doc, fp, JSON_INDENT(1) | JSON_REAL_PRECISION(15))) return -1;
    return fputc('\n', fp) == EOF ? -1 : 0;
}
