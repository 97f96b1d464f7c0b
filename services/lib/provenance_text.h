/* provenance_text — a batch's provenance for people: recycled content and origin per element. */
#ifndef MT_PROVENANCE_TEXT_H
#define MT_PROVENANCE_TEXT_H

#include <stdio.h>

#include "codec.h"

/* Writes a few lines about one ProvenanceRecord: the batch, then per element its mass, recycled
 * shares (pre- and post-consumer) and the countries it was mined and processed in, as
 * percentages of the element's mass (display only: the record's integer milligrams are the
 * figures of record). A record under mass balance gets, per element, a second line with the
 * recycled share that may be claimed (allocated credits), labelled apart from the physical one. */
void mt_provenance_describe(FILE *fp, const Mintrace__V1__ProvenanceRecord *r);

#endif
