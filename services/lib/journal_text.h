/* journal_text — the journal for people: one line per entry, and a tally of the outcomes. */
#ifndef MT_JOURNAL_TEXT_H
#define MT_JOURNAL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Counts of a journal read so far. */
typedef struct mt_journal_tally {
    uint64_t entries, accepted, rejected, duplicates, registry, undecodable;
    uint64_t by_reason[64]; /* rejections by ReasonCode (codes >= 64 counted in [0]) */
    uint64_t next_index;    /* the index the next entry must have */
    uint64_t gaps;          /* entries whose index was not next_index */
} mt_journal_tally;

/* Writes one line describing the serialized LedgerEntry to fp and counts it in t. Returns 0, or
 * -1 if the bytes are not a LedgerEntry (a line saying so is written and counted). */
int mt_journal_describe(FILE *fp, const void *bytes, size_t len, mt_journal_tally *t);

/* Writes the tally as one line: "journal: N entries: A accepted, R rejected (REASON n, ...), D duplicates". */
void mt_journal_tally_print(FILE *fp, const mt_journal_tally *t);

#endif
