/* massbal — mass balance per facility (ISO 22095-2): recycled credits earned, allocated, closed by period. */
#ifndef MT_MASSBAL_H
#define MT_MASSBAL_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "provenance.h"

/*
 * The rules of docs/accounting.md section 7, in one place. A facility under mass balance keeps
 * one credit account per element and class (pre-, post-consumer), in integer milligrams:
 *
 *   M2/M3  a PROCESS, MANUFACTURE or RECYCLE earns the recycled mass the proportional split gave
 *          its outputs (net of process losses); those outputs' own recycled share becomes "not
 *          recycled" in their claim — it is in the account now, not in the batch;
 *   M4     the event allocates credits to chosen outputs (BatchOutput.allocations): relabelled
 *          on their tracked, not-recycled mass; the account never goes negative;
 *   M6     a reconciliation period lasts at most three calendar months (UTC) and is closed by a
 *          BALANCE event that states the balance (carried forward); the first event of the
 *          account's chain past the deadline closes it instead, and the balance is forfeited;
 *   M7     a CORRECTION gives the voided event's allocations back and takes its earnings away,
 *          in the open period; refused if a balance would go negative.
 *
 * Only the recycled *claim* is mass-balanced. The ledger keeps, for every batch a facility under
 * mass balance made (or that descends from one), a second mt_prov, its *claim*: the same cells
 * as its physical provenance but with the recycled classes of the book-keeping. It propagates
 * downstream exactly like the physical one (M5); extraction and processing countries are never
 * moved. The physical (proportional) figures are published unchanged; the claim goes into the
 * ProvenanceRecord's mass_balance fields (mt_massbal_record()).
 *
 * Pure logic: no ledger, no clock. The ledger calls mt_massbal_apply() for every event its other
 * rules accepted and keeps the results (account, memo) in its undo log.
 */

/* One element's credit: [0] pre-consumer, [1] post-consumer milligrams. */
typedef struct mt_massbal_credit {
    char element[4]; /* NUL-padded symbol */
    uint64_t mg[2];
} mt_massbal_credit;

/* A facility's credit account: one malloc'd block starting with its size, like every value the
 * ledger's undo log keeps. */
typedef struct mt_massbal_account {
    size_t size;
    char key_id[MT_KEY_ID_LEN + 1]; /* the signing key whose chain keeps it (set when a period opens) */
    int open;                       /* a reconciliation period is open */
    int64_t period_start_ms;        /* notary time it opened */
    int64_t deadline_ms;            /* at or after this notary time the period is overdue */
    uint64_t periods_closed;        /* closed by a BALANCE event: balance carried */
    uint64_t periods_forfeited;     /* closed by the deadline: balance forfeited */
    size_t n;                       /* credits, sorted by element, none all zero */
    mt_massbal_credit credit[];
} mt_massbal_account;

/* What one accepted event earned and allocated, kept while a CORRECTION of it is possible. */
typedef struct mt_massbal_memo {
    size_t size;
    size_t n_earned, n_allocated;
    mt_massbal_credit credit[]; /* n_earned earned, then n_allocated allocated */
} mt_massbal_memo;

/* What the ledger knows of an event its other rules accepted. */
typedef struct mt_massbal_ctx {
    const Mintrace__V1__BatchEvent *ev;
    const char *key_id;                             /* the key that signed it */
    int64_t notary_time_ms;                         /* the clock of record */
    const Mintrace__V1__FacilityRecord *facility;   /* its registry record (NULL: proportional) */
    const mt_massbal_account *account;              /* the facility's account, or NULL */
    const mt_massbal_memo *voided;                  /* CORRECTION: the voided event's memo, or NULL */
} mt_massbal_ctx;

/* The outcome of mt_massbal_apply(). */
typedef struct mt_massbal_result {
    mt_reason code;               /* 0: accepted; else the rejection */
    char detail[200];
    mt_massbal_account *account;  /* accepted: the account after the event (new block), or NULL: unchanged */
    mt_massbal_memo *memo;        /* accepted: what the event earned and allocated, or NULL: nothing */
} mt_massbal_result;

/* 1 when the outputs of this event are accounted under mass balance (a PROCESS, MANUFACTURE or
 * RECYCLE of a facility with an open period, or registered under mass balance): the ledger must
 * then give mt_massbal_apply() the outputs' claims. */
int mt_massbal_covers(const mt_massbal_ctx *ctx);

/* Judges and computes the mass-balance effects of one event the other ledger rules accepted.
 * claim_out holds the claims of the event's outputs (ev->n_outputs of them) when
 * mt_massbal_covers(), else may be NULL; they are changed in place (earned classes reset,
 * allocations relabelled; a block may be replaced). Returns 0 with res->code 0 (accepted: keep
 * res->account and res->memo when not NULL) or a rejection code and detail (nothing allocated;
 * drop claim_out), or -1 when out of memory. mt_massbal_result_release() it in every case. */
int mt_massbal_apply(const mt_massbal_ctx *ctx, mt_prov **claim_out, mt_massbal_result *res);
void mt_massbal_result_release(mt_massbal_result *res);

/* The balance of element in class cls (PRE or POST) of account a (NULL: 0). */
uint64_t mt_massbal_balance(const mt_massbal_account *a, const char *element, mt_prov_class cls);

/* The deadline of a period opened at start_ms: three calendar months later (UTC), the day of the
 * month clamped to the month's last (opened 30 November 10:00: deadline 28 or 29 February 10:00). */
int64_t mt_massbal_deadline(int64_t start_ms);

/* The signing key that keeps a facility's account: mass_balance_key_id, or its first key. */
const char *mt_massbal_key(const Mintrace__V1__FacilityRecord *f);

/* Fills rec's mass-balance figures from a batch's claim: mass_balance = true and, per element,
 * the claim's pre- and post-consumer milligrams. Elements of rec the claim lacks get 0. */
void mt_massbal_record(Mintrace__V1__ProvenanceRecord *rec, const mt_prov *claim);

#endif
