/* journal_text — the journal for people: one line per entry, and a tally of the outcomes. */
#include "journal_text.h"

#include <inttypes.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"

/* "1234.567 kg" from milligrams, exactly (no floating point). */
static void kg(char *buf, size_t size, uint64_t mg) {
    snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " kg", mg / 1000000, (mg / 1000) % 1000);
}

static void describe_event(FILE *fp, uint64_t index, const Mintrace__V1__AttestedEvent *ae, mt_journal_tally *t) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, ae->envelope.len, ae->envelope.data);
    Mintrace__V1__BatchEvent *ev = env ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    if (!ev) {
        fprintf(fp, "%8" PRIu64 "  accepted  (event not decodable)\n", index);
    } else {
        unsigned char id[MT_HASH_LEN];
        char hex[2 * MT_HASH_LEN + 1], mass[32];
        mt_hash(env->payload.data, env->payload.len, id);
        mt_hex_encode(id, 6, hex);
        const char *kind = mt_enum_name(&mintrace__v1__event_kind__descriptor, ev->kind);
        if (!strncmp(kind, "EVENT_KIND_", 11)) kind += 11; /* an unknown kind is "?" */
        fprintf(fp, "%8" PRIu64 "  accepted  %-18s %-11s seq %-4" PRIu64 " %s…", index, ev->facility_id, kind, ev->seq,
                hex);
        for (size_t i = 0; i < ev->n_inputs; i++) {
            kg(mass, sizeof(mass), ev->inputs[i]->mass_mg);
            fprintf(fp, "%s %s %s", i ? "," : "  in:", ev->inputs[i]->batch_id, mass);
        }
        for (size_t i = 0; i < ev->n_outputs; i++) {
            kg(mass, sizeof(mass), ev->outputs[i]->mass_mg);
            fprintf(fp, "%s %s %s %s", i ? "," : "  out:", ev->outputs[i]->batch_id, mass, ev->outputs[i]->material);
        }
        if (ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_TRANSFER)
            fprintf(fp, "  to %s", ev->transfer->destination_facility_id);
        fputc('\n', fp);
    }
    t->accepted++;
    if (ev) mintrace__v1__batch_event__free_unpacked(ev, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
}

static void describe_rejection(FILE *fp, uint64_t index, const ProtobufCBinaryData *bytes, mt_journal_tally *t) {
    Mintrace__V1__Rejection *r = mintrace__v1__rejection__unpack(NULL, bytes->len, bytes->data);
    t->rejected++;
    if (!r) {
        fprintf(fp, "%8" PRIu64 "  REJECTED  (rejection not decodable)\n", index);
        return;
    }
    t->by_reason[r->code > 0 && r->code < 64 ? r->code : 0]++;
    const char *stage = mt_enum_name(&mintrace__v1__stage__descriptor, r->stage);
    if (!strncmp(stage, "STAGE_", 6)) stage += 6;
    fprintf(fp, "%8" PRIu64 "  REJECTED  %-18s by %-9s  %s: %s  (%s [%d] @%" PRId64 ")\n", index,
            r->facility_id[0] ? r->facility_id : "?", stage, mt_reason_name(r->code), r->detail, r->source_topic,
            (int)r->source_partition, r->source_offset);
    mintrace__v1__rejection__free_unpacked(r, NULL);
}

int mt_journal_describe(FILE *fp, const void *bytes, size_t len, mt_journal_tally *t) {
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, len, bytes);
    t->entries++;
    if (!e) {
        t->undecodable++;
        fprintf(fp, "       ?  %zu bytes that are not a LedgerEntry\n", len);
        return -1;
    }
    if (e->index != t->next_index) t->gaps++;
    t->next_index = e->index + 1;
    if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT)
        describe_event(fp, e->index, e->event, t);
    else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION)
        describe_rejection(fp, e->index, &e->rejection, t);
    else if (e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE) {
        char hex[2 * MT_HASH_LEN + 1] = "?";
        if (e->duplicate->event_id.len == MT_HASH_LEN) mt_hex_encode(e->duplicate->event_id.data, 6, hex);
        fprintf(fp, "%8" PRIu64 "  duplicate %s… was decided at %" PRIu64 "\n", e->index, hex, e->duplicate->first_index);
        t->duplicates++;
    } else {
        Mintrace__V1__Envelope *env =
            mintrace__v1__envelope__unpack(NULL, e->registry_change.len, e->registry_change.data);
        Mintrace__V1__Registry *r = env ? mintrace__v1__registry__unpack(NULL, env->payload.len, env->payload.data) : NULL;
        if (r)
            fprintf(fp, "%8" PRIu64 "  registry  version %" PRIu64 " of %s: %zu facilities, signed by governance key %s\n",
                    e->index, r->version, r->network_id, r->n_facilities,
                    env->n_signatures ? env->signatures[0]->key_id : "(none)");
        else
            fprintf(fp, "%8" PRIu64 "  registry  (not decodable)\n", e->index);
        t->registry++;
        if (r) mintrace__v1__registry__free_unpacked(r, NULL);
        if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    }
    mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return 0;
}

void mt_journal_tally_print(FILE *fp, const mt_journal_tally *t) {
    fprintf(fp, "journal: %" PRIu64 " entries: %" PRIu64 " accepted, %" PRIu64 " rejected", t->entries, t->accepted,
            t->rejected);
    const char *sep = " (";
    for (int c = 0; c < 64; c++) {
        if (!t->by_reason[c]) continue;
        fprintf(fp, "%s%s %" PRIu64, sep, c ? mt_reason_name((mt_reason)c) : "OTHER", t->by_reason[c]);
        sep = ", ";
    }
    if (*sep == ',') fputc(')', fp);
    if (t->duplicates) fprintf(fp, ", %" PRIu64 " duplicate%s", t->duplicates, t->duplicates == 1 ? "" : "s");
    if (t->registry) fprintf(fp, ", %" PRIu64 " registry version%s", t->registry, t->registry == 1 ? "" : "s");
    if (t->gaps) fprintf(fp, "; %" PRIu64 " index gap(s)!", t->gaps);
    if (t->undecodable) fprintf(fp, "; %" PRIu64 " undecodable entr%s!", t->undecodable, t->undecodable == 1 ? "y" : "ies");
    fputc('\n', fp);
}
