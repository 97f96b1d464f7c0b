/* audit_report — an audit's outcome for people and programs: text, JSON, a self-contained HTML page. */
#include "audit_report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit_submitted.h"
#include "codec.h"
#include "crypto.h"

static void hex32(const unsigned char b[32], char out[65]) {
    mt_hex_encode(b, 32, out);
}

/* events.submitted's account: submitted = judged + pending + unjudged, and why some are pending. */
static void submitted_text(FILE *fp, const mt_audit *a) {
    const mt_audit_sub_totals *s = mt_audit_submitted_totals(a);
    if (!s->read) return;
    fprintf(fp,
            "submitted: %" PRIu64 " messages of %s = %" PRIu64 " judged + %" PRIu64 " pending + %" PRIu64
            " unjudged\n",
            s->submitted, s->topic, s->judged, s->pending, s->unjudged);
    if (s->cut_partitions)
        fprintf(fp, "note: retention deleted the start of %d partitions of %s (partition@low watermark: %s): only "
                    "what is there is judged\n",
                s->cut_partitions, s->topic, s->cut);
    if (s->pending)
        fprintf(fp, "note: %" PRIu64 " submitted messages have no journal entry yet and may still be in flight "
                    "(pending%s%s)\n",
                s->pending, s->ambiguous ? ", some submitted more than once" : "",
                s->rejected_read ? "" : "; the rejected topic was not read from its start");
}

static const char *role_name(int role) {
    const char *n = mt_enum_name(&mintrace__v1__facility_role__descriptor, role);
    return strncmp(n, "FACILITY_ROLE_", 14) == 0 ? n + 14 : n;
}

/* ---- text ---- */

static double mb(uint64_t bytes) {
    return (double)bytes / (1024.0 * 1024.0);
}

/* One line: where the auditor's own state is, and how big (docs/auditing.md, "Cost, measured"). */
static void note_state(FILE *fp, const mt_audit *a) {
    mt_audit_mem m;
    mt_audit_memory(a, &m);
    uint64_t e = m.entries_ram + m.entries_disk, r = m.records_ram + m.records_disk,
             b = m.batches_ram + m.batches_disk;
    if (m.on_disk)
        fprintf(fp,
                "note: auditor state: %" PRIu64 " entries, %" PRIu64 " provenance records, %" PRIu64
                " batches: %.1f MB on disk (spill directory), %.1f MB in memory; the ledger replayed: %" PRIu64
                " live batches, %.1f MB in memory, %.1f MB on disk\n",
                e, r, b, mb(m.disk_bytes), mb(m.ram_bytes), m.live_batches, mb(m.ledger_ram_bytes),
                mb(m.ledger_disk_bytes));
    else
        fprintf(fp,
                "note: auditor state: %" PRIu64 " entries, %" PRIu64 " provenance records, %" PRIu64
                " batches: %.1f MB, all in memory (not spilled); the ledger replayed: %" PRIu64
                " batches, %.1f MB, all in memory\n",
                e, r, b, mb(m.ram_bytes), m.live_batches, mb(m.ledger_ram_bytes));
}

void mt_audit_report_text(FILE *fp, const mt_audit *a, const mt_audit_run *run) {
    const mt_audit_totals *t = mt_audit_get_totals(a);
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    char root[65];
    fprintf(fp,
            "journal: %" PRIu64 " entries (%" PRIu64 " accepted, %" PRIu64 " rejected, %" PRIu64 " duplicates, %" PRIu64
            " registry versions); %" PRIu64 " of %" PRIu64 " checkpoints, %" PRIu64 " provenance records, %" PRIu64
            " receipts (%" PRIu64 " kept); %" PRIu64 " signatures checked in %.2f s\n",
            t->entries, t->accepted, t->rejected, t->duplicates, t->registry_versions, t->checkpoints_verified,
            t->checkpoints, t->provenance_records, t->receipts, t->kept_receipts, t->signatures,
            run ? run->seconds : 0.0);
    submitted_text(fp, a);
    if (n == 0) {
        hex32(t->checkpoint_size ? t->checkpoint_root : t->root, root);
        fprintf(fp, "verified: %" PRIu64 " events, checkpoint root %s at tree size %" PRIu64 "\n", t->accepted, root,
                t->checkpoint_size ? t->checkpoint_size : t->tree_size);
        if (t->receipts_ahead)
            fprintf(fp, "note: %" PRIu64 " receipts are of entries written after the journal was read (not checked)\n",
                    t->receipts_ahead);
        if (t->checkpoint_size != t->tree_size)
            fprintf(fp, "note: %" PRIu64 " entries after the newest checkpoint are verified but not yet signed\n",
                    t->tree_size - t->checkpoint_size);
        note_state(fp, a);
        return;
    }
    fprintf(fp, "FINDINGS: %zu\n", n);
    size_t follows = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(f[i].kind, "FOLLOWS_FINDING")) { /* consequences: counted, listed in the reports */
            follows++;
            continue;
        }
        fprintf(fp, "%s", f[i].kind);
        if (f[i].index >= 0) fprintf(fp, " at index %" PRId64, f[i].index);
        if (f[i].event_id[0]) fprintf(fp, " event %.16s", f[i].event_id);
        if (f[i].facility[0]) fprintf(fp, " facility %s", f[i].facility);
        if (f[i].rule[0]) fprintf(fp, " rule %s", f[i].rule);
        if (f[i].topic[0] && f[i].offset >= 0)
            fprintf(fp, " (%s [%d] @%" PRId64 ")", f[i].topic, (int)f[i].partition, f[i].offset);
        else if (f[i].topic[0])
            fprintf(fp, " (%s)", f[i].topic);
        fprintf(fp, ": %s\n", f[i].detail);
    }
    if (follows)
        fprintf(fp, "FOLLOWS_FINDING: %zu later entries depend on the entries named above (each listed in the JSON "
                    "and HTML reports)\n",
                follows);
    note_state(fp, a);
}

/* ---- JSON ---- */

static json_t *jstr_or_null(const char *s) {
    return s && s[0] ? json_string(s) : json_null();
}

char *mt_audit_report_json(const mt_audit *a, const mt_audit_run *run) {
    const mt_audit_totals *t = mt_audit_get_totals(a);
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    char root[65], cproot[65];
    hex32(t->root, root);
    hex32(t->checkpoint_root, cproot);
    json_t *doc = json_object(), *tot = json_object(), *fs = json_array(), *ms = json_array(), *fl = json_array();
    json_object_set_new(doc, "report", json_string("mintrace-audit"));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "network_id", json_string(run && run->network_id ? run->network_id : ""));
    json_object_set_new(doc, "source", json_string(run && run->source ? run->source : ""));
    json_object_set_new(doc, "verified", json_boolean(n == 0));
    json_object_set_new(doc, "seconds", json_real(run ? run->seconds : 0));
    json_object_set_new(tot, "entries", json_integer((json_int_t)t->entries));
    json_object_set_new(tot, "accepted", json_integer((json_int_t)t->accepted));
    json_object_set_new(tot, "rejected", json_integer((json_int_t)t->rejected));
    json_object_set_new(tot, "duplicates", json_integer((json_int_t)t->duplicates));
    json_object_set_new(tot, "registry_versions", json_integer((json_int_t)t->registry_versions));
    json_object_set_new(tot, "checkpoints", json_integer((json_int_t)t->checkpoints));
    json_object_set_new(tot, "checkpoints_verified", json_integer((json_int_t)t->checkpoints_verified));
    json_object_set_new(tot, "provenance_records", json_integer((json_int_t)t->provenance_records));
    json_object_set_new(tot, "receipts", json_integer((json_int_t)t->receipts));
    json_object_set_new(tot, "kept_receipts", json_integer((json_int_t)t->kept_receipts));
    json_object_set_new(tot, "receipts_ahead", json_integer((json_int_t)t->receipts_ahead));
    json_object_set_new(tot, "signatures", json_integer((json_int_t)t->signatures));
    json_object_set_new(tot, "tree_size", json_integer((json_int_t)t->tree_size));
    json_object_set_new(tot, "root", json_string(root));
    json_object_set_new(tot, "checkpoint_size", json_integer((json_int_t)t->checkpoint_size));
    json_object_set_new(tot, "checkpoint_root", t->checkpoint_size ? json_string(cproot) : json_null());
    json_object_set_new(doc, "totals", tot);
    mt_audit_mem mm;
    mt_audit_memory(a, &mm);
    json_t *st = json_object();
    json_object_set_new(st, "on_disk", json_boolean(mm.on_disk));
    json_object_set_new(st, "entries_in_memory", json_integer((json_int_t)mm.entries_ram));
    json_object_set_new(st, "entries_on_disk", json_integer((json_int_t)mm.entries_disk));
    json_object_set_new(st, "records_in_memory", json_integer((json_int_t)mm.records_ram));
    json_object_set_new(st, "records_on_disk", json_integer((json_int_t)mm.records_disk));
    json_object_set_new(st, "batches_in_memory", json_integer((json_int_t)mm.batches_ram));
    json_object_set_new(st, "batches_on_disk", json_integer((json_int_t)mm.batches_disk));
    json_object_set_new(st, "checkpoints_in_memory", json_integer((json_int_t)mm.checkpoints_ram));
    json_object_set_new(st, "checkpoints_on_disk", json_integer((json_int_t)mm.checkpoints_disk));
    json_object_set_new(st, "keys", json_integer((json_int_t)mm.keys));
    json_object_set_new(st, "memory_bytes", json_integer((json_int_t)mm.ram_bytes));
    json_object_set_new(st, "disk_bytes", json_integer((json_int_t)mm.disk_bytes));
    json_object_set_new(st, "work_bytes", json_integer((json_int_t)mm.work_bytes));
    json_object_set_new(st, "ledger_batches_in_memory", json_integer((json_int_t)mm.live_batches));
    json_object_set_new(st, "ledger_memory_bytes", json_integer((json_int_t)mm.ledger_ram_bytes));
    json_object_set_new(st, "ledger_disk_bytes", json_integer((json_int_t)mm.ledger_disk_bytes));
    json_object_set_new(doc, "auditor_state", st);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(f[i].kind));
        json_object_set_new(o, "index", f[i].index >= 0 ? json_integer(f[i].index) : json_null());
        json_object_set_new(o, "event_id", jstr_or_null(f[i].event_id));
        json_object_set_new(o, "facility", jstr_or_null(f[i].facility));
        json_object_set_new(o, "rule", jstr_or_null(f[i].rule));
        json_object_set_new(o, "topic", jstr_or_null(f[i].topic));
        json_object_set_new(o, "partition", f[i].topic[0] ? json_integer(f[i].partition) : json_null());
        json_object_set_new(o, "offset", f[i].offset >= 0 ? json_integer(f[i].offset) : json_null());
        json_object_set_new(o, "detail", json_string(f[i].detail));
        json_array_append_new(fs, o);
    }
    json_object_set_new(doc, "findings", fs);
    const mt_audit_material *m;
    size_t nm = mt_audit_materials(a, &m);
    for (size_t i = 0; i < nm; i++) {
        json_t *o = json_object(), *els = json_array();
        json_object_set_new(o, "material", json_string(m[i].material));
        json_object_set_new(o, "batches", json_integer((json_int_t)m[i].batches));
        json_object_set_new(o, "mass_mg", json_integer((json_int_t)m[i].mass_mg));
        for (size_t j = 0; j < m[i].n_elements; j++) {
            const mt_audit_element *e = &m[i].elements[j];
            json_t *eo = json_object(), *ex = json_array();
            json_object_set_new(eo, "element", json_string(e->element));
            json_object_set_new(eo, "total_mg", json_integer((json_int_t)e->total_mg));
            json_object_set_new(eo, "recycled_pre_consumer_mg", json_integer((json_int_t)e->pre_mg));
            json_object_set_new(eo, "recycled_post_consumer_mg", json_integer((json_int_t)e->post_mg));
            json_object_set_new(eo, "untracked_mg", json_integer((json_int_t)e->untracked_mg));
            json_object_set_new(eo, "unattributed_mg", json_integer((json_int_t)e->unattributed_mg));
            for (size_t k = 0; k < e->n_extraction; k++) {
                json_t *c = json_object();
                json_object_set_new(c, "country", json_string(e->extraction[k].country));
                json_object_set_new(c, "mass_mg", json_integer((json_int_t)e->extraction[k].mg));
                json_array_append_new(ex, c);
            }
            json_object_set_new(eo, "extraction", ex);
            json_array_append_new(els, eo);
        }
        json_object_set_new(o, "elements", els);
        json_array_append_new(ms, o);
    }
    json_object_set_new(doc, "materials", ms);
    const mt_audit_flow *w;
    size_t nf = mt_audit_flows(a, &w);
    for (size_t i = 0; i < nf; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "from_role", json_string(role_name(w[i].from_role)));
        json_object_set_new(o, "to_role", json_string(role_name(w[i].to_role)));
        json_object_set_new(o, "transfers", json_integer((json_int_t)w[i].transfers));
        json_object_set_new(o, "mass_mg", json_integer((json_int_t)w[i].mass_mg));
        json_array_append_new(fl, o);
    }
    json_object_set_new(doc, "flows", fl);
    const mt_audit_sub_totals *sub = mt_audit_submitted_totals(a);
    if (sub->read) {
        json_t *so = json_object();
        json_object_set_new(so, "topic", json_string(sub->topic));
        json_object_set_new(so, "submitted", json_integer((json_int_t)sub->submitted));
        json_object_set_new(so, "judged", json_integer((json_int_t)sub->judged));
        json_object_set_new(so, "pending", json_integer((json_int_t)sub->pending));
        json_object_set_new(so, "unjudged", json_integer((json_int_t)sub->unjudged));
        json_object_set_new(so, "ambiguous", json_integer((json_int_t)sub->ambiguous));
        json_object_set_new(so, "unjudged_after", json_integer((json_int_t)sub->unjudged_after));
        json_object_set_new(so, "rejected_read", json_boolean(sub->rejected_read));
        json_object_set_new(so, "start_deleted", json_boolean(sub->cut_partitions > 0));
        json_object_set_new(so, "start_deleted_partitions", jstr_or_null(sub->cut));
        json_object_set_new(doc, "submitted", so);
    } else {
        json_object_set_new(doc, "submitted", json_null());
    }
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

/* ---- HTML ---- */

static void esc(FILE *fp, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

static void kg(FILE *fp, uint64_t mg) {
    fprintf(fp, "%" PRIu64 ".%03" PRIu64, mg / 1000000, (mg / 1000) % 1000);
}

/* percent with one decimal, from integers */
static void pct(FILE *fp, uint64_t part, uint64_t whole) {
    if (!whole) {
        fputs("–", fp);
        return;
    }
    unsigned long long permille = (unsigned long long)(((unsigned __int128)part * 1000 + whole / 2) / whole);
    fprintf(fp, "%llu.%llu %%", permille / 10, permille % 10);
}

static uint64_t flow_mass(const mt_audit *a, const char *from, const char *to, uint64_t *count) {
    const mt_audit_flow *w;
    size_t n = mt_audit_flows(a, &w);
    uint64_t mg = 0;
    *count = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(role_name(w[i].from_role), from) && !strcmp(role_name(w[i].to_role), to)) {
            mg += w[i].mass_mg;
            *count += w[i].transfers;
        }
    return mg;
}

/* mine -> refiner -> magnet maker -> recycler, and recycled material back to the magnet maker */
static void flow_svg(FILE *fp, const mt_audit *a) {
    static const char *roles[] = {"MINE", "REFINER", "MAGNET_MAKER", "RECYCLER"};
    static const char *labels[] = {"Mine", "Refiner", "Magnet maker", "Recycler"};
    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"230\" viewBox=\"0 0 860 230\" "
          "role=\"img\" aria-label=\"material flow\">\n"
          "<defs><marker id=\"arr\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\">"
          "<path d=\"M0,0 L10,4 L0,8 z\" fill=\"#345\"/></marker></defs>\n",
          fp);
    for (int i = 0; i < 4; i++) {
        int x = 10 + i * 220;
        fprintf(fp,
                "<rect x=\"%d\" y=\"60\" width=\"150\" height=\"60\" rx=\"8\" fill=\"#e8f0f8\" stroke=\"#345\"/>"
                "<text x=\"%d\" y=\"95\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
                x, x + 75, labels[i]);
        if (i == 3) break;
        uint64_t count, mg = flow_mass(a, roles[i], roles[i + 1], &count);
        fprintf(fp,
                "<line x1=\"%d\" y1=\"90\" x2=\"%d\" y2=\"90\" stroke=\"#345\" stroke-width=\"%d\" "
                "marker-end=\"url(#arr)\"/>\n<text x=\"%d\" y=\"50\" text-anchor=\"middle\" font-size=\"12\">",
                x + 152, x + 218, mg ? 3 : 1, x + 185);
        kg(fp, mg);
        fprintf(fp, " kg</text><text x=\"%d\" y=\"140\" text-anchor=\"middle\" font-size=\"11\">%" PRIu64
                    " transfers</text>\n",
                x + 185, count);
    }
    uint64_t count, back = flow_mass(a, "RECYCLER", "MAGNET_MAKER", &count);
    fprintf(fp,
            "<path d=\"M745,122 C745,200 525,200 525,124\" fill=\"none\" stroke=\"#2a7\" stroke-width=\"%d\" "
            "marker-end=\"url(#arr)\"/>\n<text x=\"635\" y=\"215\" text-anchor=\"middle\" font-size=\"12\" "
            "fill=\"#2a7\">recycled: ",
            back ? 3 : 1);
    kg(fp, back);
    fprintf(fp, " kg in %" PRIu64 " transfers</text>\n</svg>\n", count);
}

int mt_audit_report_html(FILE *fp, const mt_audit *a, const mt_audit_run *run) {
    const mt_audit_totals *t = mt_audit_get_totals(a);
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    char root[65];
    hex32(t->checkpoint_size ? t->checkpoint_root : t->root, root);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mintrace audit report</title>\n"
          "<style>body{font-family:sans-serif;margin:2em;color:#123}table{border-collapse:collapse;margin:1em 0}"
          "td,th{border:1px solid #bcd;padding:4px 8px;text-align:left}th{background:#e8f0f8}"
          ".ok{color:#fff;background:#2a7;padding:6px 12px;border-radius:6px}"
          ".bad{color:#fff;background:#c33;padding:6px 12px;border-radius:6px}"
          "td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:90%}</style></head><body>\n",
          fp);
    fputs("<h1>mintrace audit report</h1>\n<p>Network <b>", fp);
    esc(fp, run && run->network_id ? run->network_id : "");
    fputs("</b>, read from ", fp);
    esc(fp, run && run->source ? run->source : "");
    fprintf(fp, ", in %.2f s.</p>\n", run ? run->seconds : 0.0);
    if (n == 0)
        fprintf(fp,
                "<p><span class=\"ok\">VERIFIED</span> %" PRIu64 " events, checkpoint root <code>%s</code> at tree "
                "size %" PRIu64 "</p>\n",
                t->accepted, root, t->checkpoint_size ? t->checkpoint_size : t->tree_size);
    else
        fprintf(fp, "<p><span class=\"bad\">%zu FINDINGS</span> the history is not what the signatures and the "
                    "rules allow: see below.</p>\n",
                n);
    fputs("<h2>Totals</h2>\n<table>\n", fp);
    struct {
        const char *what;
        uint64_t v;
    } rows[] = {{"journal entries", t->entries},
                {"accepted events", t->accepted},
                {"rejections", t->rejected},
                {"duplicates", t->duplicates},
                {"registry versions", t->registry_versions},
                {"checkpoints verified", t->checkpoints_verified},
                {"checkpoints published", t->checkpoints},
                {"provenance records compared", t->provenance_records},
                {"receipts checked", t->receipts},
                {"of them kept by producers", t->kept_receipts},
                {"signatures verified", t->signatures}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        fprintf(fp, "<tr><td>%s</td><td class=\"n\">%" PRIu64 "</td></tr>\n", rows[i].what, rows[i].v);
    const mt_audit_sub_totals *sub = mt_audit_submitted_totals(a);
    if (sub->read) {
        fputs("<tr><td>submitted messages (", fp);
        esc(fp, sub->topic);
        fprintf(fp,
                ")</td><td class=\"n\">%" PRIu64 "</td></tr>\n<tr><td>of them judged in the journal</td>"
                "<td class=\"n\">%" PRIu64 "</td></tr>\n<tr><td>pending (may still be in flight)</td>"
                "<td class=\"n\">%" PRIu64 "</td></tr>\n<tr><td>unjudged (no stage's decision journaled)</td>"
                "<td class=\"n\">%" PRIu64 "</td></tr>\n",
                sub->submitted, sub->judged, sub->pending, sub->unjudged);
        if (sub->cut_partitions) {
            fputs("<tr><td>partitions whose start retention deleted (partition@low watermark)</td><td>", fp);
            esc(fp, sub->cut);
            fputs("</td></tr>\n", fp);
        }
    }
    fputs("</table>\n<h2>Findings</h2>\n", fp);
    if (n == 0) {
        fputs("<p>None.</p>\n", fp);
    } else {
        fputs("<table><tr><th>#</th><th>kind</th><th>ledger index</th><th>event</th><th>facility</th><th>rule</th>"
              "<th>where</th><th>detail</th></tr>\n",
              fp);
        for (size_t i = 0; i < n; i++) {
            fprintf(fp, "<tr><td>%zu</td><td><b>%s</b></td><td class=\"n\">", i + 1, f[i].kind);
            if (f[i].index >= 0) fprintf(fp, "%" PRId64, f[i].index);
            fprintf(fp, "</td><td><code>%.16s</code></td><td>", f[i].event_id);
            esc(fp, f[i].facility);
            fputs("</td><td>", fp);
            esc(fp, f[i].rule);
            fputs("</td><td>", fp);
            if (f[i].topic[0]) {
                esc(fp, f[i].topic);
                if (f[i].offset >= 0) fprintf(fp, " [%d] @%" PRId64, (int)f[i].partition, f[i].offset);
            }
            fputs("</td><td>", fp);
            esc(fp, f[i].detail);
            fputs("</td></tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    fputs("<h2>Material flow</h2>\n<p>Mass moved by accepted transfers between facility roles.</p>\n", fp);
    flow_svg(fp, a);
    fputs("<h2>Recycled content and origin per material</h2>\n<p>Summed over every batch made in the audited "
          "history, as made (integer milligrams; shares of each element's total).</p>\n",
          fp);
    const mt_audit_material *m;
    size_t nm = mt_audit_materials(a, &m);
    fputs("<table><tr><th>material</th><th>batches</th><th>mass (kg)</th><th>element</th><th>element mass (kg)</th>"
          "<th>recycled pre-consumer</th><th>recycled post-consumer</th><th>untracked inputs</th>"
          "<th>origin (country of extraction)</th></tr>\n",
          fp);
    for (size_t i = 0; i < nm; i++) {
        size_t rows_n = m[i].n_elements ? m[i].n_elements : 1;
        for (size_t j = 0; j < rows_n; j++) {
            fputs("<tr>", fp);
            if (j == 0) {
                fprintf(fp, "<td rowspan=\"%zu\">", rows_n);
                esc(fp, m[i].material);
                fprintf(fp, "</td><td rowspan=\"%zu\" class=\"n\">%" PRIu64 "</td><td rowspan=\"%zu\" class=\"n\">",
                        rows_n, m[i].batches, rows_n);
                kg(fp, m[i].mass_mg);
                fputs("</td>", fp);
            }
            if (!m[i].n_elements) {
                fputs("<td colspan=\"6\">no tracked elements</td></tr>\n", fp);
                continue;
            }
            const mt_audit_element *e = &m[i].elements[j];
            fprintf(fp, "<td>%s</td><td class=\"n\">", e->element);
            kg(fp, e->total_mg);
            fputs("</td><td class=\"n\">", fp);
            pct(fp, e->pre_mg, e->total_mg);
            fputs("</td><td class=\"n\">", fp);
            pct(fp, e->post_mg, e->total_mg);
            fputs("</td><td class=\"n\">", fp);
            pct(fp, e->untracked_mg, e->total_mg);
            fputs("</td><td>", fp);
            for (size_t k = 0; k < e->n_extraction; k++) {
                fprintf(fp, "%s%s ", k ? ", " : "", e->extraction[k].country);
                pct(fp, e->extraction[k].mg, e->total_mg);
            }
            fputs("</td></tr>\n", fp);
        }
    }
    fputs("</table>\n<p>Country codes XU (untracked inputs), XR (recovered from untracked feedstock) and XA "
          "(measurement tolerance) are not countries: docs/accounting.md.</p>\n</body></html>\n",
          fp);
    return ferror(fp) ? -1 : 0;
}
