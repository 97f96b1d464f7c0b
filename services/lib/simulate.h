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
 * magnets. Grades and yields are in the plausible ranges of docs/simulate.md.
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

/* A simulation of `chains` closed loops, events dated from start_ms on. NULL on OOM. */
mt_sim *mt_sim_new(uint64_t seed, const char *network_id, int chains, int64_t start_ms);
void mt_sim_free(mt_sim *s);

/* The next submitted envelope, in causal order (chains interleaved): a new buffer (free()) and
 * the facility it is from. Returns 1 with *out set, 0 when the simulation is over, -1 on
 * error. */
int mt_sim_next(mt_sim *s, uint8_t **out, size_t *outlen, const char **facility);

#endif
