/* lineage — where a batch came from: the graph of events behind it, back to mines and recyclers. */
#ifndef MT_LINEAGE_H
#define MT_LINEAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger.h"

typedef struct mt_lineage mt_lineage;

/* An empty graph; NULL when out of memory. */
mt_lineage *mt_lineage_new(void);
void mt_lineage_free(mt_lineage *g);

/* Adds one journaled LedgerEntry: an accepted event's outputs (and, for RECEIVE, the batch it
 * took custody of) are linked to what went in. Other entries are ignored. -1 on bad bytes.
 * A RECYCLE whose evidence names an EXITed batch ("mintrace:exit/BATCH") is linked to that batch
 * as a claim: the ledger books such scrap as untracked post-consumer feedstock. */
int mt_lineage_add(mt_lineage *g, const void *entry, size_t len);

/* The same, with the ledger as it was just before this entry (a replay of the entries before
 * it): each edge also gets the recycled share of what it carried, computed exactly as the
 * ledger takes it (docs/accounting.md R2). before may be NULL. */
int mt_lineage_add_with(mt_lineage *g, const void *entry, size_t len, const mt_ledger *before);

/* The ancestry of batch as an indented text tree, newest first, each edge with its mass and
 * (when known) recycled share; -1 if the batch is unknown. */
int mt_lineage_text(const mt_lineage *g, const char *batch, FILE *fp);

/* The same as a Graphviz digraph (batches as boxes, events as edges labelled with kind,
 * facility, country, mass and recycled share); -1 if the batch is unknown. */
int mt_lineage_dot(const mt_lineage *g, const char *batch, FILE *fp);

#endif
