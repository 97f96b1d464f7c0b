/* provenance_text — a batch's provenance for people: recycled content and origin per element. */
#include "provenance_text.h"

#include <inttypes.h>
#include <string.h>

/* "12.3 %" of part in whole, rounded half up to a tenth, in integers. */
static void pct(char *buf, size_t size, uint64_t part, uint64_t whole) {
    uint64_t tenths = whole ? (uint64_t)(((unsigned __int128)part * 2000 + whole) / (2 * whole)) : 0;
    snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %%", tenths / 10, tenths % 10);
}

static void kg(char *buf, size_t size, uint64_t mg) {
    snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " kg", mg / 1000000, (mg / 1000) % 1000);
}

/* The user-assigned codes of docs/accounting.md, in words. */
static const char *place(const char *code) {
    if (!strcmp(code, "XU")) return "untracked (bought outside the system)";
    if (!strcmp(code, "XR")) return "unknown (recovered from untracked scrap)";
    if (!strcmp(code, "XA")) return "unattributed (measurement tolerance)";
    return code;
}

static void countries(FILE *fp, const char *label, Mintrace__V1__CountryMass **c, size_t n, uint64_t total) {
    char p[32];
    fprintf(fp, "%s", label);
    for (size_t i = 0; i < n; i++) {
        pct(p, sizeof(p), c[i]->mass_mg, total);
        fprintf(fp, "%s%s %s", i ? ", " : " ", place(c[i]->country), p);
    }
}

void mt_provenance_describe(FILE *fp, const Mintrace__V1__ProvenanceRecord *r) {
    char m[32], p1[32], p2[32];
    kg(m, sizeof(m), r->mass_mg);
    fprintf(fp, "%s  %s %s, %s %s (as of ledger entry %" PRIu64 ")\n", r->batch_id, m, r->material,
            r->in_transit ? "in transit to" : "held by", r->holder_facility_id, r->ledger_index);
    for (size_t i = 0; i < r->n_elements; i++) {
        const Mintrace__V1__ElementProvenance *e = r->elements[i];
        if (!e->total_mg) continue;
        kg(m, sizeof(m), e->total_mg);
        pct(p1, sizeof(p1), e->recycled_pre_consumer_mg + e->recycled_post_consumer_mg, e->total_mg);
        fprintf(fp, "  %-3s %14s  recycled %s%s", e->element, m, r->mass_balance ? "(physical) " : "", p1);
        if (e->recycled_pre_consumer_mg || e->recycled_post_consumer_mg) {
            pct(p1, sizeof(p1), e->recycled_pre_consumer_mg, e->total_mg);
            pct(p2, sizeof(p2), e->recycled_post_consumer_mg, e->total_mg);
            fprintf(fp, " (pre-consumer %s, post-consumer %s)", p1, p2);
        }
        countries(fp, ";  mined in", e->extraction, e->n_extraction, e->total_mg);
        countries(fp, ";  processed in", e->processing, e->n_processing, e->total_mg);
        fputc('\n', fp);
        if (r->mass_balance) { /* the claim: allocated credits, a book-keeping figure (docs/accounting.md M5) */
            uint64_t pre = e->mass_balance_pre_consumer_mg, post = e->mass_balance_post_consumer_mg;
            pct(p1, sizeof(p1), pre + post, e->total_mg);
            fprintf(fp, "      %14s  recycled under mass balance %s (allocated credits, not physical", "", p1);
            if (pre || post) {
                pct(p1, sizeof(p1), pre, e->total_mg);
                pct(p2, sizeof(p2), post, e->total_mg);
                fprintf(fp, "; pre-consumer %s, post-consumer %s", p1, p2);
            }
            fprintf(fp, ")\n");
        }
    }
}
