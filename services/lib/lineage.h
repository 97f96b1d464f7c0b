/* lineage — where a batch came from: the graph of events behind it, back to mines and recyclers. */
#ifndef MT_LINEAGE_H
#define MT_LINEAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mt_lineage mt_lineage;

/* An empty graph; NULL when out of memory. */
mt_lineage *mt_lineage_new(void);
void mt_lineage_free(mt_lineage *g);

/* Adds one journaled LedgerEntry: an accepted event's outputs (and, for RECEIVE, the batch it
 * took custody of) are linked to what went in. Other entries are ignored. -1 on bad bytes. */
int mt_lineage_add(mt_lineage *g, const void *entry, size_t len);

/* The ancestry of batch as an indented text tree, newest first; -1 if the batch is unknown. */
int mt_lineage_text(const mt_lineage *g, const char *batch, FILE *fp);

/* The same as a Graphviz digraph (batches as boxes, events as edges labelled with kind,
 * facility, country and mass); -1 if the batch is unknown. */
int mt_lineage_dot(const mt_lineage *g, const char *batch, FILE *fp);

#endif
