/* provenance — where every milligram came from: exact integer accounting, proportional method. */
#ifndef MT_PROVENANCE_H
#define MT_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "mintrace/v1/event.pb-c.h"
#include "mintrace/v1/ledger.pb-c.h"

/*
 * A batch's provenance is a list of cells. A cell is a mass of one element that shares one
 * recycled class, one country of extraction and one country of processing:
 *
 *     Nd  pre-consumer  extracted IN  processed IN  80 mg
 *
 * Every figure published (mt_prov_record_new(): total, recycled pre/post, unattributed,
 * untracked, mass by country of extraction, mass by country of processing) is a sum over the
 * same cells, so the figures cannot contradict each other, and a batch cut into parts is cut
 * cell by cell, so the parts always add up to the whole, to the milligram.
 *
 * Pure and exact: no Kafka, no ledger, no clock, no floating point; 128-bit intermediate
 * products; one rounding rule (largest remainder, ties to the earlier cell in canonical order)
 * written out in docs/accounting.md with the decisions it implements. The same calls in the same
 * order give byte-identical results (padding is zero, cells are in canonical order).
 *
 * Invariants of every mt_prov any function here returns (mt_prov_check() tests them):
 *   I1 cells are in canonical order (element, recycled class, extraction, processing; bytewise),
 *      no two have the same key, none is 0 mg;
 *   I2 so per element, every list (extraction, processing) sums exactly to the element total;
 *   I3 recycled_pre + recycled_post + unattributed <= total (unattributed is never recycled);
 *   I4 unattributed cells are (not recycled, XA, XA); cells of no other kind use XA;
 *   I5 no cell is of O, H, C or N (mt_prov_element_tracked()).
 *
 * Functions that fail return -1 (or NULL) with a message in errstr (may be NULL), and change
 * nothing they were given.
 */

/* Codes that are not countries, from the ISO 3166-1 user-assigned range (never a country). */
#define MT_PROV_UNATTRIBUTED "XA" /* measurement tolerance: no origin, no processing, never recycled */
#define MT_PROV_UNTRACKED    "XU" /* declared untracked inputs: extraction always, processing until an
                                     in-system PROCESS or RECYCLE */
#define MT_PROV_RECOVERED    "XR" /* extraction of material recovered from untracked feedstock: a mine,
                                     but nobody knows which */

/* A cell's recycled class (ISO 14021 terms). Values match RecycledClass in event.proto. */
typedef enum {
    MT_PROV_NOT_RECYCLED = 0,
    MT_PROV_PRE_CONSUMER = 1,
    MT_PROV_POST_CONSUMER = 2,
} mt_prov_class;

/* What a RECYCLE does to the class of one tracked input (the caller decides, docs/accounting.md
 * D1/D2): PRE for tracked scrap that never left the system, POST for tracked material back from
 * end users after an EXIT, KEEP for the recycler's own in-process material (ISO 14021 excludes
 * reprocessing within the process that generated it). UNSET is refused. */
typedef enum {
    MT_PROV_RECYCLE_UNSET = 0,
    MT_PROV_RECYCLE_PRE = 1,
    MT_PROV_RECYCLE_POST = 2,
    MT_PROV_RECYCLE_KEEP = 3,
} mt_prov_recycle;

/* One cell: 24 bytes, the reserved bytes are always zero. */
typedef struct mt_prov_cell {
    uint64_t mg;
    char element[4];    /* "Nd", NUL-padded */
    char extraction[3]; /* ISO 3166-1 alpha-2 or MT_PROV_*, NUL-terminated */
    char processing[3];
    uint8_t recycled;   /* mt_prov_class */
    uint8_t reserved[5];
} mt_prov_cell;

/* A batch's provenance, or a part of one (a take, a pool, a loss). One malloc'd block starting
 * with its size, so a copy is one memcpy (the ledger's undo log keeps values that way). */
typedef struct mt_prov {
    size_t size;      /* bytes of the block: sizeof(mt_prov) + n * sizeof(mt_prov_cell) */
    uint64_t mass_mg; /* mass of the batch or part (all elements, O, H, C, N included) */
    size_t n;         /* cells */
    mt_prov_cell cell[];
} mt_prov;

/* 1 for an element whose provenance is kept; 0 for O, H, C and N, which come and go with
 * oxides, hydrides and carbonates (as in the ledger's conservation rule). */
int mt_prov_element_tracked(const char *element);

/* An empty provenance of mass_mg (no element). NULL when out of memory. */
mt_prov *mt_prov_new(uint64_t mass_mg);
void mt_prov_free(mt_prov *p);
mt_prov *mt_prov_clone(const mt_prov *p);
/* 1 when a and b are byte for byte the same (same mass, same cells). */
int mt_prov_equal(const mt_prov *a, const mt_prov *b);
/* 0 when p holds invariants I1-I5; else -1 naming the first broken one in errstr. */
int mt_prov_check(const mt_prov *p, char *errstr, size_t errstr_size);

/* The sum of p's cells that match: element NULL = any, recycled -1 = any class, extraction or
 * processing NULL = any code. mt_prov_sum(p, "Nd", -1, NULL, NULL) is the Nd total. */
uint64_t mt_prov_sum(const mt_prov *p, const char *element, int recycled, const char *extraction,
                     const char *processing);

/* ---- material entering the system: each returns a new mt_prov, or NULL with errstr ---- */

/* EXTRACT: every element of el (O, H, C, N skipped; an element listed twice is summed) was
 * extracted in country and, concentrated at the mine, is processed there; not recycled. */
mt_prov *mt_prov_extract(const char *country, uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el,
                         char *errstr, size_t errstr_size);

/* A declared untracked input: extraction XU, processing XU, not recycled (a supplier's claim of
 * recycled content is not something the ledger can check). */
mt_prov *mt_prov_untracked(uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el, char *errstr,
                           size_t errstr_size);

/* Untracked RECYCLE feedstock of class cls (PRE or POST): extraction XR, processing XR (the
 * RECYCLE that consumes it sets its processing country). */
mt_prov *mt_prov_feedstock(mt_prov_class cls, uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el,
                           char *errstr, size_t errstr_size);

/* ---- moving mass ---- */

/* The element content of a take of take_mg from a batch of mass_mg holding element_mg: the
 * exact share element_mg * take_mg / mass_mg rounded half up (largest remainder between the
 * take and what stays, ties to the take); the whole element_mg when take_mg == mass_mg.
 * Requires take_mg <= mass_mg. The ledger's conservation rule should use this number. */
uint64_t mt_prov_share(uint64_t element_mg, uint64_t take_mg, uint64_t mass_mg);

/* Takes take_mg from batch: *taken gets mass take_mg and, per element, mt_prov_share() of it cut
 * from the batch's cells by largest remainder; *left gets the rest. Per cell, taken + left ==
 * batch exactly, so a batch taken in parts, in any sizes, gives back exactly the whole. Either
 * output pointer may be NULL (that part is dropped: a LOSS, an EXIT, a transit loss). Returns 0,
 * or -1 (take_mg > batch mass, or out of memory) with both outputs untouched. */
int mt_prov_take(const mt_prov *batch, uint64_t take_mg, mt_prov **taken, mt_prov **left, char *errstr,
                 size_t errstr_size);

/* Adds part into *acc (mass and cells; *acc may be NULL for empty): builds a pool from takes,
 * untracked inputs and feedstock, and gives a CORRECTION's takes back to their batches.
 * Returns 0, or -1 (out of memory, a sum past 2^64) with *acc unchanged. */
int mt_prov_add(mt_prov **acc, const mt_prov *part, char *errstr, size_t errstr_size);

/* The reverse of mt_prov_add(): takes part out of *acc, cell by cell (a CORRECTION of an EXIT
 * takes back from the exited stock what the EXIT put there). Returns 0, or -1 (a cell of part
 * that *acc does not hold in full, more mass than *acc has, out of memory) with *acc unchanged. */
int mt_prov_sub(mt_prov **acc, const mt_prov *part, char *errstr, size_t errstr_size);

/* RECYCLE: every cell of p except unattributed ones becomes class cls (PRE or POST): the class
 * is the waste stream this recycling recovered the material from, whatever it was before
 * (docs/accounting.md D2). Extraction countries are kept. Cells that become equal are merged. */
void mt_prov_reclassify(mt_prov *p, mt_prov_class cls);

/* Mass balance (docs/accounting.md M4): relabels mg of element's not-recycled, tracked cells
 * (extraction neither XA nor XU) as class cls (PRE or POST), cut from them by largest remainder
 * (R1), so extraction and processing countries are untouched; *p is replaced by a new block.
 * Returns 0, or -1 (fewer such mg than asked, a bad class, out of memory) with *p unchanged. */
int mt_prov_relabel(mt_prov **p, const char *element, mt_prov_class cls, uint64_t mg, char *errstr,
                    size_t errstr_size);

/* PROCESS and RECYCLE: every cell except unattributed ones is now processed in country (the
 * country of the last processing step, docs/accounting.md D4). Returns 0, or -1 when country is
 * not two capital letters. */
int mt_prov_set_processing(mt_prov *p, const char *country, char *errstr, size_t errstr_size);

/* One output of a transforming or repacking event: its mass and declared element content. */
typedef struct mt_prov_output {
    uint64_t mass_mg;
    Mintrace__V1__ElementMass *const *elements;
    size_t n_elements;
} mt_prov_output;

/* Splits pool over the outputs by their declared element content, element by element:
 *   - outputs declare no more than the pool holds: output 1 cuts its declared mass from the
 *     pool by largest remainder, output 2 from what is left, and so on; what is left after the
 *     last output is the process loss (*loss, mass = pool mass - output masses, or 0);
 *   - outputs declare more (measurement tolerance): the pool is first apportioned over the
 *     outputs by largest remainder in proportion to what they declare, then cut as above, and
 *     each output's excess is booked unattributed (XA); nothing is lost.
 * parts[i] gets output i (mass out[i].mass_mg); loss may be NULL. Per element and per cell,
 * parts + loss == pool exactly, and each part's element total is what its output declares.
 * Returns 0, or -1 (bad element symbol, out of memory) with nothing allocated. */
int mt_prov_split(const mt_prov *pool, const mt_prov_output *out, size_t n_out, mt_prov **parts, mt_prov **loss,
                  char *errstr, size_t errstr_size);

/* ---- one whole event ---- */

/* A tracked input of an event, in the order of ev->inputs; for a RECYCLE, then one per
 * ev->recycle->returns: the returnable stock of that EXITed batch (docs/accounting.md D2). */
typedef struct mt_prov_input {
    const mt_prov *batch;    /* the batch's provenance before the event (a return: its exited stock) */
    mt_prov_recycle recycle; /* RECYCLE only: what it does to this input's class */
} mt_prov_input;

/* The provenance effects of one accepted event, in the proportional method:
 *   EXTRACT            outputs from mt_prov_extract(site country)
 *   PROCESS, RECYCLE   takes (+ RECYCLE reclassification) + untracked inputs (+ feedstock,
 *                      + takes of returned exited stock, post-consumer) pooled, processed in
 *                      the site's country, split over the outputs
 *   MANUFACTURE        the same without changing the processing country
 *   SPLIT, MERGE       takes pooled and split (no processing, no reclassification)
 *   LOSS, EXIT         the inputs lose what is taken
 *   TRANSFER           nothing changes (left[i] is a copy)
 *   RECEIVE            each batch loses, proportionally, what was sent but not received
 *                      (in[i].batch->mass_mg - ev->inputs[i]->mass_mg)
 *   BALANCE            nothing (it moves credits, not material: massbal.h)
 * left[i] gets input i after the event (n_inputs entries; a RECYCLE with returns: then each
 * return's exited stock after it, n_inputs + n_returns entries), out[o] output o (n_outputs
 * entries); both arrays are filled only on success. CORRECTION is not handled here: give the
 * voided event's takes back with mt_prov_add() and drop its outputs. Returns 0, or -1 with
 * errstr (an event the ledger should not have accepted, or out of memory). */
int mt_prov_apply(const Mintrace__V1__BatchEvent *ev, const mt_prov_input *in, mt_prov **left, mt_prov **out,
                  char *errstr, size_t errstr_size);

/* ---- publishing ---- */

/* What the record says besides the figures (strings are copied; NULL = empty). */
typedef struct mt_prov_meta {
    const char *batch_id;
    const char *material;
    const char *holder_facility_id;
    uint64_t ledger_index;
    uint64_t state_position;
    int in_transit;
    Mintrace__V1__FacilityRole holder_role;
} mt_prov_meta;

/* A new ProvenanceRecord of p: mass_mg from p, one ElementProvenance per element sorted by
 * symbol, countries sorted by code, no zero entries; every list sums to its total_mg. Free it
 * with mt_prov_record_free(). NULL when out of memory. */
Mintrace__V1__ProvenanceRecord *mt_prov_record_new(const mt_prov *p, const mt_prov_meta *meta);
void mt_prov_record_free(Mintrace__V1__ProvenanceRecord *rec);

/* The commitment to a record for the provenance state root: SHA-256 of its protobuf
 * serialization (protobuf-c writes fields in number order, so the same record gives the same
 * bytes). Returns 0, or -1 when out of memory. */
int mt_prov_record_commit(const Mintrace__V1__ProvenanceRecord *rec, unsigned char out[MT_HASH_LEN]);

/* A batch's leaf in the provenance state tree (RFC 9162 leaf hashing):
 *   SHA-256(0x00 | u32 big-endian length of id | id | commit)
 * where commit is SHA-256 of the record's serialization, as published on the provenance topic.
 * Returns 0, or -1 for an id longer than 255 bytes (never a batch's: ids are at most 127). */
int mt_prov_state_leaf(const char *batch_id, const unsigned char commit[MT_HASH_LEN], unsigned char leaf[MT_HASH_LEN]);

#endif
