/* audit_report — an audit's outcome for people and programs: text, JSON, a self-contained HTML page. */
#ifndef MT_AUDIT_REPORT_H
#define MT_AUDIT_REPORT_H

#include <stdio.h>

#include "audit.h"

/* What the report says besides the auditor's own figures. */
typedef struct mt_audit_run {
    const char *network_id;
    const char *source;      /* "kafka <brokers> prefix <p>" or "archive <file>" */
    double seconds;          /* wall time of the audit */
} mt_audit_run;

/* The human summary: "verified: N events, checkpoint root R at tree size T" when clean, else
 * one line per finding. */
void mt_audit_report_text(FILE *fp, const mt_audit *a, const mt_audit_run *run);

/* The JSON report (schemas/audit-report.schema.json) as a new string (free()), NULL on OOM. */
char *mt_audit_report_json(const mt_audit *a, const mt_audit_run *run);

/* The HTML report: one page, no external resources (inline CSS and SVG). Returns 0, or -1
 * when writing fails. */
int mt_audit_report_html(FILE *fp, const mt_audit *a, const mt_audit_run *run);

#endif
