/* policy — a compliance policy file (JSON, schemas/policy.schema.json): load it whole or not at all. */
#ifndef MT_POLICY_H
#define MT_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of rule (docs/compliance.md); the numbers are RuleKind's in comply.proto. */
typedef enum {
    MT_RULE_RECYCLED_SHARE = 1, /* recycled / total >= min_ppm */
    MT_RULE_COUNTRY_SHARE = 2,  /* mined (or processed) in the countries / total <= max_ppm */
    MT_RULE_CHAIN_COMPLETE = 3, /* (unattributed + untracked) / total <= max_ppm */
    MT_RULE_DOCUMENTS = 4       /* every lineage event of the kinds carries the documents */
} mt_rule_kind;

/* Severity's numbers in comply.proto. */
enum { MT_SEVERITY_INFO = 1, MT_SEVERITY_WARNING = 2, MT_SEVERITY_ERROR = 3 };

/* Recycled classes a recycled-share rule counts (bits). */
enum { MT_CLASS_PRE = 1, MT_CLASS_POST = 2 };

/* One rule. Lists are NULL-free arrays of n strings; an empty materials list means every
 * material, an empty elements list (chain_complete only) every element. */
typedef struct mt_rule {
    char *id, *description;
    mt_rule_kind kind;
    int severity;
    char **materials;
    size_t n_materials;
    char **elements;
    size_t n_elements;
    uint32_t threshold_ppm; /* recycled_share: the minimum; the others: the maximum */
    int classes;            /* recycled_share: MT_CLASS_PRE | MT_CLASS_POST */
    int processed;          /* country_share: 0 = where mined (extraction), 1 = where processed */
    char **countries;       /* country_share */
    size_t n_countries;
    uint32_t event_kinds;   /* documents: bit k for EventKind k (1 EXTRACT ... 11 CORRECTION) */
    char **documents;       /* documents: Document.kind values */
    size_t n_documents;
    int require_all;        /* documents: 1 every listed kind, 0 at least one of them */
} mt_rule;

/* A whole policy. A zeroed struct is empty and may be released. */
typedef struct mt_policy {
    char *id, *description;
    mt_rule *rules;
    size_t n_rules;
} mt_policy;

/* Reads the policy file at path. Every rule is checked (unknown fields, types, ranges, ids
 * unique, element symbols, ISO 3166-1 alpha-2 codes, event kinds); on the first error -1 is
 * returned, p is left empty and errstr reads "FILE:LINE: what" (the line of the offending
 * rule or field; of the syntax error for bad JSON). */
int mt_policy_load(mt_policy *p, const char *path, char *errstr, size_t errstr_size);

/* The same from text of length len; name stands for the file in messages. */
int mt_policy_parse(mt_policy *p, const char *text, size_t len, const char *name, char *errstr,
                    size_t errstr_size);

/* The rule with this id, or NULL. */
const mt_rule *mt_policy_rule(const mt_policy *p, const char *id);

/* Frees the contents of p and leaves it empty. p may be NULL. */
void mt_policy_release(mt_policy *p);

/* The rule kind's name in the file ("recycled_share", ...). */
const char *mt_rule_kind_name(mt_rule_kind k);

#endif
