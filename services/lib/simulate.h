/* simulate — a deterministic rare-earth supply chain: facilities, keys, and signed events. */
#ifndef MT_SIMULATE_H
#define MT_SIMULATE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/*
 * The same seed always gives the same facilities, keys, events and bytes, so a test or a
 * benchmark can run a chain of any size and know every figure in advance. Each chain is one
 * closed loop: a mine extracts monazite (or bastnaesite, or ionic clay) and ships it to a
 * separation plant, which makes NdPr oxide for a magnet maker; the maker alloys it with iron
 * and boron bought outside the system, sinters magnets that leave the system (EXIT), and sends
 * its grinding swarf to a recycler, whose recovered oxide goes back into a second generation of
 * magnets. Grades and yields are in the plausible ranges of docs/simulate.md. Optionally some
 * magnets come back years later as end-of-life scrap, some mines correct a double entry, and
 * some loops carry attacks whose rejections the simulation counts in advance.
 */

typedef struct mt_sim_facility {
    const char *id, *role, *country, *region, *name;
} mt_sim_facility;

/* The facilities of the simulated network, in a fixed order (notary and aggregator first). */
size_t mt_sim_facilities(const mt_sim_facility **out);

/* The key of a facility (or "governance") for a seed: derived, so nothing has to be stored. */
int mt_sim_key(uint64_t seed, const char *id, mt_keypair *kp);

/* The registry of the simulated network as a signed envelope (free()), version 1. */
int mt_sim_registry(uint64_t seed, const char *network_id, uint8_t **out, size_t *outlen);

typedef struct mt_sim mt_sim;

/* What to simulate besides the closed loops; all shares are whole percent of the loops. */
typedef struct mt_sim_opts {
    int chains;          /* closed loops */
    int returns_pct;     /* loops whose EXITed magnets come back as end-of-life scrap years later */
    int corrections_pct; /* loops whose mine keys an EXTRACT twice and voids it (CORRECTION) */
    int adversarial_pct; /* loops that carry one attack each (every reason code in turn) */
    int window;          /* loops interleaved at a time (0: all of them): a long history with few
                          * live batches, as for the audit's memory benchmark */
} mt_sim_opts;

#define MT_SIM_CODES 64
/* What the pipeline must decide for the simulated stream, exactly: submitted = accepted +
 * rejected + duplicates, and rejected = the sum of by_code. */
typedef struct mt_sim_counts {
    size_t submitted, accepted, rejected, duplicates;
    size_t by_code[MT_SIM_CODES]; /* rejections by reason code */
    size_t loops, returns, corrections, attacks;
    /* CHAIN_GAP and PARK_EXPIRED are decided only once the ledger's park bound has passed:
     * park_waiting events wait for it, and park_tail events are submitted after the last of
     * them (so an aggregator with --park-max-age below park_tail decides them all) */
    size_t park_waiting, park_tail;
} mt_sim_counts;

/* A simulation of `chains` closed loops, events dated from start_ms on, with no returns,
 * corrections or attacks: every event is accepted. NULL on OOM. */
mt_sim *mt_sim_new(uint64_t seed, const char *network_id, int chains, int64_t start_ms);

/* The same with returns, corrections and attacks (docs/simulate.md). The returns are dated
 * MT_SIM_LIFETIME_MS after the first part of the stream. NULL on OOM. */
#define MT_SIM_LIFETIME_MS (3652LL * 86400000LL)
mt_sim *mt_sim_new_opts(uint64_t seed, const char *network_id, const mt_sim_opts *o, int64_t start_ms);
void mt_sim_free(mt_sim *s);

/* The expected decisions of everything the simulation submits. */
void mt_sim_expected(const mt_sim *s, mt_sim_counts *c);

/* The time of its last event, Unix milliseconds. */
int64_t mt_sim_end_ms(const mt_sim *s);

/* The next submitted envelope, in causal order (chains interleaved): a new buffer (free()) and
 * the facility it is from (its Kafka key). Returns 1 with *out set, 0 when the simulation is
 * over, -1 on error. *expect (may be NULL) gets what the pipeline must decide for it: 0
 * accepted, -1 duplicate, else the reason code of its rejection. */
int mt_sim_next(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility);
int mt_sim_next_expect(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility, int *expect);

#endif
