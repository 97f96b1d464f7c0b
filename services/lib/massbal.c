/* massbal — mass balance per facility (ISO 22095-2): recycled credits earned, allocated, closed by period. */
#include "massbal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R(name) MINTRACE__V1__REASON_CODE__REASON_CODE_##name
#define K(name) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##name
#define DAY_MS  86400000LL

static const char *cls_name(int c) {
    return c == 0 ? "pre-consumer" : "post-consumer";
}

/* ---- credit lists: sorted by element, growable ---- */

typedef struct clist {
    mt_massbal_credit *v;
    size_t n, cap;
} clist;

static void sym(char out[4], const char *element) {
    memset(out, 0, 4);
    memcpy(out, element, strnlen(element, 3));
}

/* The entry of element, created (zero) if absent; NULL when out of memory. */
static mt_massbal_credit *clist_at(clist *l, const char *element) {
    char s[4];
    sym(s, element);
    size_t i = 0;
    while (i < l->n && memcmp(l->v[i].element, s, 4) < 0) i++;
    if (i < l->n && memcmp(l->v[i].element, s, 4) == 0) return &l->v[i];
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        mt_massbal_credit *nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv) return NULL;
        l->v = nv;
        l->cap = cap;
    }
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
    memset(&l->v[i], 0, sizeof(l->v[i]));
    memcpy(l->v[i].element, s, 4);
    l->n++;
    return &l->v[i];
}

static uint64_t clist_get(const clist *l, const char *element, int c) {
    char s[4];
    sym(s, element);
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i].element, s, 4) == 0) return l->v[i].mg[c];
    return 0;
}

static int clist_load(clist *l, const mt_massbal_credit *v, size_t n) {
    memset(l, 0, sizeof(*l));
    if (!n) return 0;
    if (!(l->v = malloc(n * sizeof(*v)))) return -1;
    memcpy(l->v, v, n * sizeof(*v));
    l->n = l->cap = n;
    return 0;
}

/* Drops all-zero entries. */
static void clist_compact(clist *l) {
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].mg[0] || l->v[i].mg[1]) l->v[w++] = l->v[i];
    l->n = w;
}

/* ---- the result ---- */

static int reject(mt_massbal_result *res, mt_reason code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int reject(mt_massbal_result *res, mt_reason code, const char *fmt, ...) {
    va_list ap;
    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    return 0;
}

void mt_massbal_result_release(mt_massbal_result *res) {
    free(res->account);
    free(res->memo);
    res->account = NULL;
    res->memo = NULL;
}

/* ---- time: three calendar months, in integers (proleptic Gregorian, UTC) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

int64_t mt_massbal_deadline(int64_t start_ms) {
    int64_t days = start_ms / DAY_MS, ms = start_ms % DAY_MS;
    if (ms < 0) {
        ms += DAY_MS;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    m += 3;
    if (m > 12) {
        m -= 12;
        y++;
    }
    if (d > days_in_month(y, m)) d = days_in_month(y, m);
    return days_from_civil(y, m, d) * DAY_MS + ms;
}

/* ---- reading the registry and the event ---- */

const char *mt_massbal_key(const Mintrace__V1__FacilityRecord *f) {
    if (!f) return "";
    if (f->mass_balance_key_id && f->mass_balance_key_id[0]) return f->mass_balance_key_id;
    return f->n_keys ? f->keys[0]->key_id : "";
}

static int registered_mb(const Mintrace__V1__FacilityRecord *f) {
    return f && f->accounting_method == MINTRACE__V1__ACCOUNTING_METHOD__ACCOUNTING_METHOD_MASS_BALANCE;
}

static int transforming(int kind) {
    return kind == K(PROCESS) || kind == K(MANUFACTURE) || kind == K(RECYCLE);
}

/* Whether a period of the account is open for this event once the deadline rule has run: the
 * first event of the account's chain past the deadline closes it, and a new one opens at once
 * only if the registry still says mass balance. */
static int overdue(const mt_massbal_ctx *ctx) {
    const mt_massbal_account *a = ctx->account;
    return a && a->open && strcmp(ctx->key_id, a->key_id) == 0 && ctx->notary_time_ms >= a->deadline_ms;
}

int mt_massbal_covers(const mt_massbal_ctx *ctx) {
    if (!transforming(ctx->ev->kind)) return 0;
    int open = ctx->account && ctx->account->open && !overdue(ctx);
    return open || registered_mb(ctx->facility);
}

/* Whether an output is allocated any credit (an entry of 0 mg allocates nothing). */
static int has_allocations(const Mintrace__V1__BatchEvent *ev) {
    for (size_t j = 0; j < ev->n_outputs; j++)
        for (size_t k = 0; k < ev->outputs[j]->n_allocations; k++)
            if (ev->outputs[j]->allocations[k]->pre_consumer_mg || ev->outputs[j]->allocations[k]->post_consumer_mg)
                return 1;
    return 0;
}

/* ---- the account being changed ---- */

typedef struct acct {
    char key_id[MT_KEY_ID_LEN + 1];
    int open;
    int64_t start, deadline;
    uint64_t closed, forfeited;
    clist bal;
} acct;

static void open_period(acct *a, int64_t at, const char *key_id) {
    a->open = 1;
    a->start = at;
    a->deadline = mt_massbal_deadline(at);
    snprintf(a->key_id, sizeof(a->key_id), "%s", key_id);
}

static mt_massbal_account *acct_block(acct *a) {
    clist_compact(&a->bal);
    size_t size = sizeof(mt_massbal_account) + a->bal.n * sizeof(mt_massbal_credit);
    mt_massbal_account *b = calloc(1, size);
    if (!b) return NULL;
    b->size = size;
    memcpy(b->key_id, a->key_id, sizeof(b->key_id));
    b->open = a->open;
    b->period_start_ms = a->start;
    b->deadline_ms = a->deadline;
    b->periods_closed = a->closed;
    b->periods_forfeited = a->forfeited;
    b->n = a->bal.n;
    if (a->bal.n) memcpy(b->credit, a->bal.v, a->bal.n * sizeof(mt_massbal_credit));
    return b;
}

static mt_massbal_memo *memo_block(clist *earned, clist *allocated) {
    clist_compact(earned);
    clist_compact(allocated);
    if (!earned->n && !allocated->n) return NULL;
    size_t size = sizeof(mt_massbal_memo) + (earned->n + allocated->n) * sizeof(mt_massbal_credit);
    mt_massbal_memo *m = calloc(1, size);
    if (!m) return NULL;
    m->size = size;
    m->n_earned = earned->n;
    m->n_allocated = allocated->n;
    if (earned->n) memcpy(m->credit, earned->v, earned->n * sizeof(mt_massbal_credit));
    if (allocated->n) memcpy(m->credit + earned->n, allocated->v, allocated->n * sizeof(mt_massbal_credit));
    return m;
}

/* ---- the rules ---- */

/* M6: a BALANCE event closes the open period if it states the account's balance. */
static int balance_event(const mt_massbal_ctx *ctx, acct *a, mt_massbal_result *res) {
    const Mintrace__V1__BalanceDetail *bd =
        ctx->ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_BALANCE ? ctx->ev->balance : NULL;
    if (!a->open) return reject(res, R(NOT_UNDER_MASS_BALANCE), "%s has no open mass-balance period to close",
                                ctx->ev->facility_id);
    if (strcmp(ctx->key_id, a->key_id))
        return reject(res, R(MASS_BALANCE_WRONG_KEY), "the account of %s is kept by key %s, not %s",
                      ctx->ev->facility_id, a->key_id, ctx->key_id);
    if (!bd) return reject(res, R(MALFORMED_EVENT), "a BALANCE event needs its balance detail");
    if (bd->period_start_ms && bd->period_start_ms != a->start)
        return reject(res, R(BALANCE_MISMATCH), "the open period started at %" PRId64 ", not %" PRId64, a->start,
                      bd->period_start_ms);
    clist stated = {0};
    for (size_t i = 0; i < bd->n_closing; i++) {
        mt_massbal_credit *c = clist_at(&stated, bd->closing[i]->element);
        if (!c) {
            free(stated.v);
            return -1;
        }
        c->mg[0] = bd->closing[i]->pre_consumer_mg;
        c->mg[1] = bd->closing[i]->post_consumer_mg;
    }
    /* every element either side: stated == held */
    const clist *sides[2] = {&stated, &a->bal};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s]->n; i++) {
            char el[5] = {0};
            memcpy(el, sides[s]->v[i].element, 4);
            for (int c = 0; c < 2; c++) {
                uint64_t say = clist_get(&stated, el, c), have = clist_get(&a->bal, el, c);
                if (say != have) {
                    free(stated.v);
                    return reject(res, R(BALANCE_MISMATCH), "%s %s: stated %" PRIu64 " mg, the account holds %" PRIu64
                                  " mg", el, cls_name(c), say, have);
                }
            }
        }
    free(stated.v);
    a->open = 0;
    a->closed++;
    /* the positive balance is carried into the next period, which opens at the close (or when
     * the facility next transforms under mass balance, if the registry no longer says so) */
    if (registered_mb(ctx->facility)) open_period(a, ctx->notary_time_ms, mt_massbal_key(ctx->facility));
    return 1;
}

/* M7: a CORRECTION gives the voided event's allocations back and takes its earnings away. */
static int correction_event(const mt_massbal_ctx *ctx, acct *a, mt_massbal_result *res) {
    const mt_massbal_memo *m = ctx->voided;
    if (strcmp(ctx->key_id, a->key_id))
        return reject(res, R(MASS_BALANCE_WRONG_KEY), "the account of %s is kept by key %s, not %s",
                      ctx->ev->facility_id, a->key_id, ctx->key_id);
    for (size_t i = 0; i < m->n_allocated; i++) {
        const mt_massbal_credit *al = &m->credit[m->n_earned + i];
        mt_massbal_credit *c = clist_at(&a->bal, al->element);
        if (!c) return -1;
        for (int k = 0; k < 2; k++) {
            if (c->mg[k] + al->mg[k] < c->mg[k])
                return reject(res, R(INVALID_CORRECTION), "%.4s: credit past 2^64 mg", al->element);
            c->mg[k] += al->mg[k];
        }
    }
    for (size_t i = 0; i < m->n_earned; i++) {
        const mt_massbal_credit *e = &m->credit[i];
        mt_massbal_credit *c = clist_at(&a->bal, e->element);
        if (!c) return -1;
        for (int k = 0; k < 2; k++) {
            if (c->mg[k] < e->mg[k])
                return reject(res, R(INVALID_CORRECTION),
                              "%.4s %s: the voided event earned %" PRIu64 " mg of credit, the account holds %" PRIu64
                              " mg (void the events that allocated it first)",
                              e->element, cls_name(k), e->mg[k], c->mg[k]);
            c->mg[k] -= e->mg[k];
        }
    }
    return 1;
}

/* M2-M4: a transforming event under mass balance earns its outputs' recycled mass and allocates. */
static int transforming_event(const mt_massbal_ctx *ctx, acct *a, mt_prov **claim, clist *earned, clist *allocated,
                              mt_massbal_result *res) {
    const Mintrace__V1__BatchEvent *ev = ctx->ev;
    if (strcmp(ctx->key_id, a->key_id))
        return reject(res, R(MASS_BALANCE_WRONG_KEY), "the account of %s is kept by key %s, not %s", ev->facility_id,
                      a->key_id, ctx->key_id);
    /* earn: net of losses, because the split already left the lost share in the loss */
    for (size_t j = 0; j < ev->n_outputs; j++) {
        const mt_prov *p = claim[j];
        for (size_t i = 0; i < p->n; i++) {
            const mt_prov_cell *c = &p->cell[i];
            if (c->recycled == MT_PROV_NOT_RECYCLED) continue;
            char el[5] = {0};
            memcpy(el, c->element, 4);
            mt_massbal_credit *e = clist_at(earned, el);
            if (!e) return -1;
            e->mg[c->recycled - 1] += c->mg; /* bounded by the element's total: no wrap */
        }
        mt_prov_reclassify(claim[j], MT_PROV_NOT_RECYCLED);
    }
    for (size_t i = 0; i < earned->n; i++) {
        char el[5] = {0};
        memcpy(el, earned->v[i].element, 4);
        mt_massbal_credit *c = clist_at(&a->bal, el);
        if (!c) return -1;
        for (int k = 0; k < 2; k++) {
            if (c->mg[k] + earned->v[i].mg[k] < c->mg[k])
                return reject(res, R(CREDIT_OVERDRAWN), "%s: credit past 2^64 mg", el);
            c->mg[k] += earned->v[i].mg[k];
        }
    }
    /* allocate: at most the output's tracked mass, at most the balance */
    for (size_t j = 0; j < ev->n_outputs; j++) {
        const Mintrace__V1__BatchOutput *o = ev->outputs[j];
        for (size_t k = 0; k < o->n_allocations; k++) {
            const Mintrace__V1__RecycledCredit *rc = o->allocations[k];
            const char *el = rc->element;
            if (!rc->pre_consumer_mg && !rc->post_consumer_mg) continue;
            uint64_t total = mt_prov_sum(claim[j], el, -1, NULL, NULL);
            uint64_t off = mt_prov_sum(claim[j], el, -1, MT_PROV_UNATTRIBUTED, NULL) +
                           mt_prov_sum(claim[j], el, -1, MT_PROV_UNTRACKED, NULL);
            unsigned __int128 want = (unsigned __int128)rc->pre_consumer_mg + rc->post_consumer_mg;
            if (!mt_prov_element_tracked(el) || want > total - off)
                return reject(res, R(ALLOCATION_EXCEEDS_OUTPUT),
                              "outputs[%zu] %s: %" PRIu64 " + %" PRIu64 " mg allocated, it holds %" PRIu64
                              " mg of tracked %s", j, o->batch_id, rc->pre_consumer_mg, rc->post_consumer_mg,
                              total - off, el);
            mt_massbal_credit *c = clist_at(&a->bal, el), *al = clist_at(allocated, el);
            if (!c || !al) return -1;
            uint64_t mg[2] = {rc->pre_consumer_mg, rc->post_consumer_mg};
            for (int k2 = 0; k2 < 2; k2++) {
                if (mg[k2] > c->mg[k2])
                    return reject(res, R(CREDIT_OVERDRAWN),
                                  "outputs[%zu] %s: %" PRIu64 " mg of %s %s credit allocated, the account holds %" PRIu64
                                  " mg (this event earned %" PRIu64 " mg)",
                                  j, o->batch_id, mg[k2], el, cls_name(k2), c->mg[k2], clist_get(earned, el, k2));
                c->mg[k2] -= mg[k2];
                al->mg[k2] += mg[k2];
                char err[160];
                int cls = k2 == 0 ? MT_PROV_PRE_CONSUMER : MT_PROV_POST_CONSUMER;
                if (mt_prov_relabel(&claim[j], el, (mt_prov_class)cls, mg[k2], err, sizeof(err))) {
                    if (strstr(err, "out of memory")) return -1;
                    return reject(res, R(ALLOCATION_EXCEEDS_OUTPUT), "outputs[%zu] %s: %s", j, o->batch_id, err);
                }
            }
        }
    }
    return 1;
}

int mt_massbal_apply(const mt_massbal_ctx *ctx, mt_prov **claim_out, mt_massbal_result *res) {
    const Mintrace__V1__BatchEvent *ev = ctx->ev;
    const mt_massbal_account *in = ctx->account;
    int kind = ev->kind, changed = 0, rc = 0;
    memset(res, 0, sizeof(*res));
    acct a;
    memset(&a, 0, sizeof(a));
    clist earned = {0}, allocated = {0};
    if (in) {
        memcpy(a.key_id, in->key_id, sizeof(a.key_id));
        a.open = in->open;
        a.start = in->period_start_ms;
        a.deadline = in->deadline_ms;
        a.closed = in->periods_closed;
        a.forfeited = in->periods_forfeited;
        if (clist_load(&a.bal, in->credit, in->n)) return -1;
    }

    /* M6: the first event of the account's chain past the deadline closes the period first; the
     * balance was never attested, so it is forfeited */
    if (overdue(ctx)) {
        if (kind == K(BALANCE)) {
            reject(res, R(PERIOD_OVERDUE), "the period opened at %" PRId64 " had to close before %" PRId64
                   "; its balance is forfeited at the next event of key %s", a.start, a.deadline, a.key_id);
            goto out;
        }
        a.bal.n = 0;
        a.open = 0;
        a.forfeited++;
        changed = 1;
        if (registered_mb(ctx->facility)) open_period(&a, ctx->notary_time_ms, mt_massbal_key(ctx->facility));
    }

    if (kind == K(BALANCE)) {
        if (!in) {
            reject(res, R(NOT_UNDER_MASS_BALANCE), "%s has no mass-balance account", ev->facility_id);
            goto out;
        }
        rc = balance_event(ctx, &a, res);
    } else if (kind == K(CORRECTION) && ctx->voided) {
        if (!in) {
            reject(res, R(INVALID_CORRECTION), "the voided event moved credits, but %s has no account",
                   ev->facility_id);
            goto out;
        }
        rc = correction_event(ctx, &a, res);
    } else if (mt_massbal_covers(ctx)) {
        if (!claim_out) {
            reject(res, R(MALFORMED_EVENT), "mass balance: the outputs' claims were not given");
            goto out;
        }
        if (!a.open) open_period(&a, ctx->notary_time_ms, mt_massbal_key(ctx->facility));
        rc = transforming_event(ctx, &a, claim_out, &earned, &allocated, res);
    } else if (has_allocations(ev)) {
        reject(res, R(NOT_UNDER_MASS_BALANCE), "%s allocates recycled credits but is not under mass balance",
               ev->facility_id);
        goto out;
    }
    if (rc < 0) goto oom;
    if (res->code) goto out;
    if (rc > 0) changed = 1;
    if (changed && !(res->account = acct_block(&a))) goto oom;
    if (rc > 0 && transforming(kind)) {
        res->memo = memo_block(&earned, &allocated);
        if (!res->memo && (earned.n || allocated.n)) goto oom;
    }
    rc = 0;
    goto done;
oom:
    mt_massbal_result_release(res);
    rc = -1;
    goto done;
out:
    rc = 0;
done:
    if (res->code) mt_massbal_result_release(res);
    free(a.bal.v);
    free(earned.v);
    free(allocated.v);
    return rc;
}

uint64_t mt_massbal_balance(const mt_massbal_account *a, const char *element, mt_prov_class cls) {
    if (!a || (cls != MT_PROV_PRE_CONSUMER && cls != MT_PROV_POST_CONSUMER)) return 0;
    char s[4];
    sym(s, element);
    for (size_t i = 0; i < a->n; i++)
        if (memcmp(a->credit[i].element, s, 4) == 0) return a->credit[i].mg[cls - 1];
    return 0;
}

void mt_massbal_record(Mintrace__V1__ProvenanceRecord *rec, const mt_prov *claim) {
    rec->mass_balance = 1;
    for (size_t i = 0; i < rec->n_elements; i++) {
        Mintrace__V1__ElementProvenance *ep = rec->elements[i];
        ep->mass_balance_pre_consumer_mg = mt_prov_sum(claim, ep->element, MT_PROV_PRE_CONSUMER, NULL, NULL);
        ep->mass_balance_post_consumer_mg = mt_prov_sum(claim, ep->element, MT_PROV_POST_CONSUMER, NULL, NULL);
    }
}
