/* provenance — where every milligram came from: exact integer accounting, proportional method. */
#include "provenance.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mass-weighted shares multiply two 64-bit masses: the 128-bit product is exact where a double
 * would round (DESIGN: no floating point in accounting). */
typedef unsigned __int128 u128;

#define K(name) MINTRACE__V1__EVENT_KIND__EVENT_KIND_##name

static int fail(char *errstr, size_t errstr_size, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- names and codes ---- */

/* An element symbol: one capital letter, then at most two small ones ("Nd", "B", "Uue"). */
static int element_ok(const char *s) {
    if (!s || s[0] < 'A' || s[0] > 'Z') return 0;
    for (size_t i = 1; s[i]; i++)
        if (i > 2 || s[i] < 'a' || s[i] > 'z') return 0;
    return 1;
}

int mt_prov_element_tracked(const char *element) {
    return strcmp(element, "O") && strcmp(element, "H") && strcmp(element, "C") && strcmp(element, "N");
}

static int pseudo_code(const char *c) {
    return !strcmp(c, MT_PROV_UNATTRIBUTED) || !strcmp(c, MT_PROV_UNTRACKED) || !strcmp(c, MT_PROV_RECOVERED);
}

/* A country a facility can stand in: ISO 3166-1 alpha-2 shape, not one of our pseudo codes. */
static int country_ok(const char *c) {
    return c && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] == '\0' && !pseudo_code(c);
}

static int code_shape_ok(const char c[3]) {
    return c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] == '\0';
}

/* ---- cells ---- */

static void cell_set(mt_prov_cell *c, const char *element, uint8_t cls, const char *ext, const char *proc,
                     uint64_t mg) {
    memset(c, 0, sizeof(*c));
    c->mg = mg;
    memcpy(c->element, element, strlen(element)); /* element_ok(): at most 3 chars */
    memcpy(c->extraction, ext, 2);
    memcpy(c->processing, proc, 2);
    c->recycled = cls;
}

/* Canonical order: element, recycled class, extraction, processing (bytewise). */
static int key_cmp(const mt_prov_cell *a, const mt_prov_cell *b) {
    int r = memcmp(a->element, b->element, sizeof(a->element));
    if (r) return r;
    if (a->recycled != b->recycled) return a->recycled < b->recycled ? -1 : 1;
    r = memcmp(a->extraction, b->extraction, sizeof(a->extraction));
    if (r) return r;
    return memcmp(a->processing, b->processing, sizeof(a->processing));
}

static int key_cmp_q(const void *a, const void *b) {
    return key_cmp(a, b);
}

static int is_unattributed(const mt_prov_cell *c) {
    return memcmp(c->extraction, MT_PROV_UNATTRIBUTED, 3) == 0;
}

static size_t block_size(size_t n) {
    return sizeof(mt_prov) + n * sizeof(mt_prov_cell);
}

/* A zeroed block with room for cap cells (n = 0). */
static mt_prov *alloc_cells(size_t cap) {
    mt_prov *p = calloc(1, block_size(cap));
    if (p) p->size = block_size(0);
    return p;
}

static void push(mt_prov *p, const mt_prov_cell *c) {
    memcpy(&p->cell[p->n++], c, sizeof(*c));
    p->size = block_size(p->n);
}

/* Sorts, merges equal keys, drops 0 mg cells, zeroes the freed tail: I1. Sums of equal keys never
 * overflow here, because they are bounded by an element total, which fits (mt_prov_add). */
static void normalize(mt_prov *p) {
    if (p->n > 1) qsort(p->cell, p->n, sizeof(p->cell[0]), key_cmp_q);
    size_t w = 0;
    for (size_t r = 0; r < p->n; r++) {
        if (p->cell[r].mg == 0) continue;
        if (w && key_cmp(&p->cell[w - 1], &p->cell[r]) == 0)
            p->cell[w - 1].mg += p->cell[r].mg;
        else if (w != r)
            memcpy(&p->cell[w++], &p->cell[r], sizeof(p->cell[0]));
        else
            w++;
    }
    if (w < p->n) memset(&p->cell[w], 0, (p->n - w) * sizeof(p->cell[0]));
    p->n = w;
    p->size = block_size(w);
}

/* End of the run of cells of the same element as cell s. */
static size_t element_end(const mt_prov *p, size_t s) {
    size_t e = s + 1;
    while (e < p->n && memcmp(p->cell[e].element, p->cell[s].element, sizeof(p->cell[0].element)) == 0) e++;
    return e;
}

/* ---- the rounding rule ---- */

typedef struct lr_item {
    uint64_t rem;
    size_t idx;
} lr_item;

static int lr_cmp(const void *a, const void *b) {
    const lr_item *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Largest remainder: out[i] = floor(w[i] * t / total), then the t - sum(out) mg left over go one
 * each to the largest remainders w[i] * t mod total, ties to the lower index. total is sum(w), or
 * (apportioning a pool over declared outputs) any positive weight sum. sum(out) == t; out[i] <=
 * w[i] whenever t <= total. Returns 0, or -1 when out of memory. */
static int apportion(const uint64_t *w, size_t n, uint64_t total, uint64_t t, uint64_t *out) {
    if (total == 0 || t == 0) {
        memset(out, 0, n * sizeof(*out));
        return 0;
    }
    uint64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint64_t)((u128)w[i] * t / total);
        given += out[i];
    }
    uint64_t left = t - given; /* < n */
    if (left == 0) return 0;
    lr_item stack[32], *it = n <= 32 ? stack : malloc(n * sizeof(*it));
    if (!it) return -1;
    for (size_t i = 0; i < n; i++) it[i] = (lr_item){(uint64_t)((u128)w[i] * t % total), i};
    qsort(it, n, sizeof(*it), lr_cmp);
    for (size_t k = 0; k < left; k++) out[it[k].idx]++;
    if (it != stack) free(it);
    return 0;
}

uint64_t mt_prov_share(uint64_t element_mg, uint64_t take_mg, uint64_t mass_mg) {
    if (take_mg >= mass_mg) return element_mg;
    u128 prod = (u128)element_mg * take_mg;
    uint64_t q = (uint64_t)(prod / mass_mg), r = (uint64_t)(prod % mass_mg);
    return q + (r >= mass_mg - r); /* half up: the take wins a tie against what stays */
}

/* ---- life cycle ---- */

mt_prov *mt_prov_new(uint64_t mass_mg) {
    mt_prov *p = alloc_cells(0);
    if (p) p->mass_mg = mass_mg;
    return p;
}

void mt_prov_free(mt_prov *p) {
    free(p);
}

mt_prov *mt_prov_clone(const mt_prov *p) {
    mt_prov *c = malloc(p->size);
    if (c) memcpy(c, p, p->size);
    return c;
}

int mt_prov_equal(const mt_prov *a, const mt_prov *b) {
    return a->size == b->size && memcmp(a, b, a->size) == 0;
}

int mt_prov_check(const mt_prov *p, char *errstr, size_t errstr_size) {
    static const uint8_t zero[5];
    if (p->size != block_size(p->n))
        return fail(errstr, errstr_size, "size %zu does not match %zu cells", p->size, p->n);
    uint64_t el_total = 0;
    for (size_t i = 0; i < p->n; i++) {
        const mt_prov_cell *c = &p->cell[i];
        char el[5] = {0};
        memcpy(el, c->element, 4);
        if (!element_ok(el) || c->element[3] || (strlen(el) < 3 && c->element[strlen(el) + 1]))
            return fail(errstr, errstr_size, "cell %zu: bad element symbol", i);
        if (!mt_prov_element_tracked(el)) return fail(errstr, errstr_size, "cell %zu: %s is not kept (I5)", i, el);
        if (c->mg == 0) return fail(errstr, errstr_size, "cell %zu: 0 mg (I1)", i);
        if (c->recycled > MT_PROV_POST_CONSUMER) return fail(errstr, errstr_size, "cell %zu: class %u", i, c->recycled);
        if (!code_shape_ok(c->extraction) || !code_shape_ok(c->processing) || memcmp(c->reserved, zero, 5))
            return fail(errstr, errstr_size, "cell %zu: bad codes or reserved bytes", i);
        int xa_e = is_unattributed(c), xa_p = memcmp(c->processing, MT_PROV_UNATTRIBUTED, 3) == 0;
        if (xa_e != xa_p || (xa_e && c->recycled))
            return fail(errstr, errstr_size, "cell %zu: unattributed mass is (not recycled, XA, XA) (I4)", i);
        if (i && key_cmp(&p->cell[i - 1], c) >= 0)
            return fail(errstr, errstr_size, "cell %zu: out of canonical order or repeated (I1)", i);
        if (i && memcmp(p->cell[i - 1].element, c->element, 4)) el_total = 0;
        if (el_total + c->mg < el_total) return fail(errstr, errstr_size, "cell %zu: %s total past 2^64", i, el);
        el_total += c->mg;
    }
    return 0;
}

uint64_t mt_prov_sum(const mt_prov *p, const char *element, int recycled, const char *extraction,
                     const char *processing) {
    uint64_t s = 0;
    for (size_t i = 0; i < p->n; i++) {
        const mt_prov_cell *c = &p->cell[i];
        if (element && strncmp(c->element, element, sizeof(c->element))) continue;
        if (recycled >= 0 && c->recycled != recycled) continue;
        if (extraction && strncmp(c->extraction, extraction, 3)) continue;
        if (processing && strncmp(c->processing, processing, 3)) continue;
        s += c->mg;
    }
    return s;
}

/* ---- material entering the system ---- */

/* One cell per kept element of el, all with the same class and codes. */
static mt_prov *from_elements(uint8_t cls, const char *ext, const char *proc, uint64_t mass_mg,
                              Mintrace__V1__ElementMass *const *el, size_t n_el, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < n_el; i++)
        if (!element_ok(el[i]->element)) {
            fail(errstr, errstr_size, "'%s' is not an element symbol", el[i]->element);
            return NULL;
        }
    mt_prov *p = alloc_cells(n_el);
    if (!p) {
        fail(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->mass_mg = mass_mg;
    for (size_t i = 0; i < n_el; i++) {
        if (!mt_prov_element_tracked(el[i]->element) || el[i]->mass_mg == 0) continue;
        size_t k = 0;
        while (k < p->n && strncmp(p->cell[k].element, el[i]->element, sizeof(p->cell[k].element))) k++;
        if (k == p->n) {
            cell_set(&p->cell[p->n++], el[i]->element, cls, ext, proc, el[i]->mass_mg);
        } else if (p->cell[k].mg + el[i]->mass_mg < p->cell[k].mg) { /* listed twice: summed, if it fits */
            free(p);
            fail(errstr, errstr_size, "%s: more than 2^64 mg", el[i]->element);
            return NULL;
        } else {
            p->cell[k].mg += el[i]->mass_mg;
        }
    }
    normalize(p);
    return p;
}

mt_prov *mt_prov_extract(const char *country, uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el,
                         char *errstr, size_t errstr_size) {
    if (!country_ok(country)) {
        fail(errstr, errstr_size, "'%s' is not a country code", country ? country : "(null)");
        return NULL;
    }
    return from_elements(MT_PROV_NOT_RECYCLED, country, country, mass_mg, el, n_el, errstr, errstr_size);
}

mt_prov *mt_prov_untracked(uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el, char *errstr,
                           size_t errstr_size) {
    return from_elements(MT_PROV_NOT_RECYCLED, MT_PROV_UNTRACKED, MT_PROV_UNTRACKED, mass_mg, el, n_el, errstr,
                         errstr_size);
}

mt_prov *mt_prov_feedstock(mt_prov_class cls, uint64_t mass_mg, Mintrace__V1__ElementMass *const *el, size_t n_el,
                           char *errstr, size_t errstr_size) {
    if (cls != MT_PROV_PRE_CONSUMER && cls != MT_PROV_POST_CONSUMER) {
        fail(errstr, errstr_size, "untracked feedstock is pre- or post-consumer");
        return NULL;
    }
    return from_elements((uint8_t)cls, MT_PROV_RECOVERED, MT_PROV_RECOVERED, mass_mg, el, n_el, errstr, errstr_size);
}

/* ---- moving mass ---- */

int mt_prov_take(const mt_prov *batch, uint64_t take_mg, mt_prov **taken, mt_prov **left, char *errstr,
                 size_t errstr_size) {
    if (take_mg > batch->mass_mg)
        return fail(errstr, errstr_size, "%llu mg taken from %llu mg", (unsigned long long)take_mg,
                    (unsigned long long)batch->mass_mg);
    size_t n = batch->n;
    mt_prov *t = alloc_cells(n), *l = alloc_cells(n);
    uint64_t *w = malloc((2 * n + 1) * sizeof(*w));
    if (!t || !l || !w) goto oom;
    uint64_t *cut = w + n;
    for (size_t s = 0, e; s < n; s = e) {
        e = element_end(batch, s);
        uint64_t el = 0;
        for (size_t i = s; i < e; i++) el += (w[i - s] = batch->cell[i].mg);
        if (apportion(w, e - s, el, mt_prov_share(el, take_mg, batch->mass_mg), cut)) goto oom;
        for (size_t i = s; i < e; i++) {
            mt_prov_cell c;
            memcpy(&c, &batch->cell[i], sizeof(c));
            if ((c.mg = cut[i - s])) push(t, &c);
            if ((c.mg = batch->cell[i].mg - cut[i - s])) push(l, &c);
        }
    }
    free(w);
    t->mass_mg = take_mg;
    l->mass_mg = batch->mass_mg - take_mg;
    if (taken) *taken = t; else free(t);
    if (left) *left = l; else free(l);
    return 0;
oom:
    free(t);
    free(l);
    free(w);
    return fail(errstr, errstr_size, "out of memory");
}

int mt_prov_add(mt_prov **acc, const mt_prov *part, char *errstr, size_t errstr_size) {
    const mt_prov *a = *acc;
    size_t na = a ? a->n : 0;
    mt_prov *m = alloc_cells(na + part->n);
    if (!m) return fail(errstr, errstr_size, "out of memory");
    uint64_t mass = a ? a->mass_mg : 0;
    if (mass + part->mass_mg < mass) {
        free(m);
        return fail(errstr, errstr_size, "mass past 2^64 mg");
    }
    m->mass_mg = mass + part->mass_mg;
    size_t i = 0, j = 0;
    while (i < na || j < part->n) {
        int c = i == na ? 1 : j == part->n ? -1 : key_cmp(&a->cell[i], &part->cell[j]);
        const mt_prov_cell *x = c <= 0 ? &a->cell[i] : &part->cell[j];
        uint64_t mg = x->mg;
        if (c == 0) {
            mg += part->cell[j].mg;
            if (mg < x->mg) goto overflow;
        }
        push(m, x);
        m->cell[m->n - 1].mg = mg;
        if (c <= 0) i++;
        if (c >= 0) j++;
    }
    /* element totals must fit too (I2: every list sums to a uint64 total) */
    for (size_t s = 0, e; s < m->n; s = e) {
        e = element_end(m, s);
        uint64_t t = 0;
        for (size_t k = s; k < e; k++) {
            if (t + m->cell[k].mg < t) goto overflow;
            t += m->cell[k].mg;
        }
    }
    free(*acc);
    *acc = m;
    return 0;
overflow:
    free(m);
    return fail(errstr, errstr_size, "element mass past 2^64 mg");
}

int mt_prov_sub(mt_prov **acc, const mt_prov *part, char *errstr, size_t errstr_size) {
    const mt_prov *a = *acc;
    if (part->mass_mg > a->mass_mg) return fail(errstr, errstr_size, "%llu mg taken back from %llu mg",
                                                (unsigned long long)part->mass_mg, (unsigned long long)a->mass_mg);
    mt_prov *m = alloc_cells(a->n);
    if (!m) return fail(errstr, errstr_size, "out of memory");
    m->mass_mg = a->mass_mg - part->mass_mg;
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        mt_prov_cell c;
        memcpy(&c, &a->cell[i], sizeof(c));
        if (j < part->n && key_cmp(&a->cell[i], &part->cell[j]) > 0) break; /* a cell of part a lacks */
        if (j < part->n && key_cmp(&a->cell[i], &part->cell[j]) == 0) {
            if (part->cell[j].mg > c.mg) break;
            c.mg -= part->cell[j++].mg;
        }
        if (c.mg) push(m, &c);
    }
    if (j < part->n) {
        free(m);
        return fail(errstr, errstr_size, "a cell taken back is not all there");
    }
    free(*acc);
    *acc = m;
    return 0;
}

void mt_prov_reclassify(mt_prov *p, mt_prov_class cls) {
    for (size_t i = 0; i < p->n; i++)
        if (!is_unattributed(&p->cell[i])) p->cell[i].recycled = (uint8_t)cls;
    normalize(p);
}

int mt_prov_relabel(mt_prov **pp, const char *element, mt_prov_class cls, uint64_t mg, char *errstr,
                    size_t errstr_size) {
    const mt_prov *p = *pp;
    if (cls != MT_PROV_PRE_CONSUMER && cls != MT_PROV_POST_CONSUMER)
        return fail(errstr, errstr_size, "relabel: the class is pre- or post-consumer");
    if (mg == 0) return 0;
    uint64_t *w = malloc((2 * p->n + 1) * sizeof(*w));
    if (!w) return fail(errstr, errstr_size, "out of memory");
    uint64_t *cut = w + p->n, have = 0;
    for (size_t i = 0; i < p->n; i++) {
        const mt_prov_cell *c = &p->cell[i];
        int ok = !strncmp(c->element, element, sizeof(c->element)) && c->recycled == MT_PROV_NOT_RECYCLED &&
                 !is_unattributed(c) && memcmp(c->extraction, MT_PROV_UNTRACKED, 3) != 0;
        have += (w[i] = ok ? c->mg : 0);
    }
    if (have < mg) {
        free(w);
        return fail(errstr, errstr_size, "%s: %llu mg to relabel, %llu mg of tracked, not recycled mass", element,
                    (unsigned long long)mg, (unsigned long long)have);
    }
    mt_prov *q = alloc_cells(2 * p->n);
    if (!q || apportion(w, p->n, have, mg, cut)) {
        free(q);
        free(w);
        return fail(errstr, errstr_size, "out of memory");
    }
    q->mass_mg = p->mass_mg;
    for (size_t i = 0; i < p->n; i++) {
        mt_prov_cell c;
        memcpy(&c, &p->cell[i], sizeof(c));
        c.mg = p->cell[i].mg - cut[i];
        if (c.mg) push(q, &c);
        if (cut[i]) {
            c.mg = cut[i];
            c.recycled = (uint8_t)cls;
            push(q, &c);
        }
    }
    free(w);
    normalize(q);
    free(*pp);
    *pp = q;
    return 0;
}

int mt_prov_set_processing(mt_prov *p, const char *country, char *errstr, size_t errstr_size) {
    if (!country_ok(country))
        return fail(errstr, errstr_size, "'%s' is not a country code", country ? country : "(null)");
    for (size_t i = 0; i < p->n; i++)
        if (!is_unattributed(&p->cell[i])) memcpy(p->cell[i].processing, country, 2);
    normalize(p);
    return 0;
}

/* The elements of a split, sorted and unique: the pool's, and every kept one an output declares. */
typedef struct sym {
    char s[4];
} sym;

static int sym_cmp(const void *a, const void *b) {
    return memcmp(a, b, sizeof(sym));
}

/* An output's declared mass of element s (an element listed twice is summed); -1 past 2^64. */
static int declared(const mt_prov_output *o, const char *s, uint64_t *mg) {
    *mg = 0;
    for (size_t k = 0; k < o->n_elements; k++)
        if (strcmp(o->elements[k]->element, s) == 0) {
            if (*mg + o->elements[k]->mass_mg < *mg) return -1;
            *mg += o->elements[k]->mass_mg;
        }
    return 0;
}

int mt_prov_split(const mt_prov *pool, const mt_prov_output *out, size_t n_out, mt_prov **parts, mt_prov **loss,
                  char *errstr, size_t errstr_size) {
    size_t n_dec = 0;
    for (size_t j = 0; j < n_out; j++)
        for (size_t k = 0; k < out[j].n_elements; k++) {
            if (!element_ok(out[j].elements[k]->element))
                return fail(errstr, errstr_size, "outputs[%zu]: '%s' is not an element symbol", j,
                            out[j].elements[k]->element);
            n_dec++;
        }
    int rc = -1;
    size_t n_sym = 0, n = pool->n;
    sym *syms = calloc(n + n_dec + 1, sizeof(*syms));
    uint64_t *scratch = malloc((2 * n + 2 * n_out + 1) * sizeof(*scratch));
    mt_prov **tmp = calloc(n_out + 1, sizeof(*tmp)), *lost = NULL;
    if (!syms || !scratch || !tmp) goto oom;
    uint64_t *rem = scratch, *cut = scratch + n, *dec = cut + n, *give = dec + n_out;

    for (size_t i = 0; i < n; i++) memcpy(syms[n_sym++].s, pool->cell[i].element, 4);
    for (size_t j = 0; j < n_out; j++)
        for (size_t k = 0; k < out[j].n_elements; k++)
            if (mt_prov_element_tracked(out[j].elements[k]->element))
                memcpy(syms[n_sym++].s, out[j].elements[k]->element, strlen(out[j].elements[k]->element));
    qsort(syms, n_sym, sizeof(*syms), sym_cmp);
    size_t n_u = 0;
    for (size_t i = 0; i < n_sym; i++)
        if (n_u == 0 || memcmp(syms[n_u - 1].s, syms[i].s, 4)) syms[n_u++] = syms[i];

    for (size_t j = 0; j < n_out; j++)
        if (!(tmp[j] = alloc_cells(n + n_u))) goto oom;
    if (!(lost = alloc_cells(n))) goto oom;

    uint64_t out_mass = 0;
    size_t s = 0; /* the pool's cells of the current element are [s, e) */
    for (size_t u = 0; u < n_u; u++) {
        const char *el = syms[u].s;
        size_t e = s;
        if (s < n && memcmp(pool->cell[s].element, el, 4) == 0) e = element_end(pool, s);
        uint64_t have = 0, want = 0;
        for (size_t i = s; i < e; i++) have += (rem[i - s] = pool->cell[i].mg);
        for (size_t j = 0; j < n_out; j++) {
            char name[5] = {0};
            memcpy(name, el, 4);
            if (declared(&out[j], name, &dec[j]) || want + dec[j] < want) {
                fail(errstr, errstr_size, "%s: declared content past 2^64 mg", name);
                goto out;
            }
            want += dec[j];
        }
        if (want <= have)
            memcpy(give, dec, n_out * sizeof(*give));
        else if (apportion(dec, n_out, want, have, give)) /* the pool over the outputs */
            goto oom;
        uint64_t left = have;
        for (size_t j = 0; j < n_out; j++) {
            if (apportion(rem, e - s, left, give[j], cut)) goto oom;
            for (size_t i = s; i < e; i++)
                if (cut[i - s]) {
                    mt_prov_cell c;
                    memcpy(&c, &pool->cell[i], sizeof(c));
                    c.mg = cut[i - s];
                    rem[i - s] -= c.mg;
                    push(tmp[j], &c);
                }
            left -= give[j];
            if (dec[j] > give[j]) { /* within tolerance, or the ledger would have refused it */
                mt_prov_cell c;
                cell_set(&c, el, MT_PROV_NOT_RECYCLED, MT_PROV_UNATTRIBUTED, MT_PROV_UNATTRIBUTED, dec[j] - give[j]);
                push(tmp[j], &c);
            }
        }
        for (size_t i = s; i < e; i++)
            if (rem[i - s]) {
                mt_prov_cell c;
                memcpy(&c, &pool->cell[i], sizeof(c));
                c.mg = rem[i - s];
                push(lost, &c);
            }
        s = e;
    }
    for (size_t j = 0; j < n_out; j++) {
        tmp[j]->mass_mg = out[j].mass_mg;
        out_mass = out_mass + out[j].mass_mg < out_mass ? UINT64_MAX : out_mass + out[j].mass_mg;
        normalize(tmp[j]);
    }
    lost->mass_mg = pool->mass_mg > out_mass ? pool->mass_mg - out_mass : 0;
    for (size_t j = 0; j < n_out; j++) parts[j] = tmp[j];
    if (loss) *loss = lost; else free(lost);
    lost = NULL;
    n_out = 0; /* handed over */
    rc = 0;
    goto out;
oom:
    fail(errstr, errstr_size, "out of memory");
out:
    if (tmp)
        for (size_t j = 0; j < n_out; j++) free(tmp[j]);
    free(tmp);
    free(lost);
    free(syms);
    free(scratch);
    return rc;
}

/* ---- one whole event ---- */

static void free_all(mt_prov **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) {
        free(v[i]);
        v[i] = NULL;
    }
}

int mt_prov_apply(const Mintrace__V1__BatchEvent *ev, const mt_prov_input *in, mt_prov **left, mt_prov **out,
                  char *errstr, size_t errstr_size) {
    int kind = ev->kind, rc = -1;
    const char *country = ev->site ? ev->site->country : NULL;
    size_t ni = ev->n_inputs, no = ev->n_outputs;
    size_t nr = kind == K(RECYCLE) && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE
                    ? ev->recycle->n_returns
                    : 0;
    mt_prov **l = calloc(ni + nr + 1, sizeof(*l)), **o = calloc(no + 1, sizeof(*o)), *pool = NULL, *part = NULL;
    mt_prov_output *outs = calloc(no + 1, sizeof(*outs));
    if (!l || !o || !outs) {
        fail(errstr, errstr_size, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ni + nr; i++)
        if (!in[i].batch) {
            fail(errstr, errstr_size, i < ni ? "inputs[%zu]: no provenance given" : "returns[%zu]: no exited stock given",
                 i < ni ? i : i - ni);
            goto done;
        }

    switch (kind) {
    case K(EXTRACT):
        for (size_t j = 0; j < no; j++)
            if (!(o[j] = mt_prov_extract(country, ev->outputs[j]->mass_mg, ev->outputs[j]->elements,
                                         ev->outputs[j]->n_elements, errstr, errstr_size)))
                goto done;
        break;
    case K(TRANSFER):
        for (size_t i = 0; i < ni; i++)
            if (!(l[i] = mt_prov_clone(in[i].batch))) {
                fail(errstr, errstr_size, "out of memory");
                goto done;
            }
        break;
    case K(RECEIVE):
    case K(LOSS):
    case K(EXIT):
        for (size_t i = 0; i < ni; i++) {
            uint64_t m = ev->inputs[i]->mass_mg, had = in[i].batch->mass_mg;
            if (kind == K(RECEIVE)) {
                if (m > had) {
                    fail(errstr, errstr_size, "inputs[%zu]: %llu mg received of %llu mg sent", i, (unsigned long long)m,
                         (unsigned long long)had);
                    goto done;
                }
                m = had - m; /* lost in transit */
            }
            if (mt_prov_take(in[i].batch, m, NULL, &l[i], errstr, errstr_size)) goto done;
        }
        break;
    case K(PROCESS):
    case K(MANUFACTURE):
    case K(RECYCLE):
    case K(SPLIT):
    case K(MERGE):
        if (!(pool = mt_prov_new(0))) {
            fail(errstr, errstr_size, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ni; i++) {
            if (mt_prov_take(in[i].batch, ev->inputs[i]->mass_mg, &part, &l[i], errstr, errstr_size)) goto done;
            if (kind == K(RECYCLE)) {
                if (in[i].recycle == MT_PROV_RECYCLE_PRE)
                    mt_prov_reclassify(part, MT_PROV_PRE_CONSUMER);
                else if (in[i].recycle == MT_PROV_RECYCLE_POST)
                    mt_prov_reclassify(part, MT_PROV_POST_CONSUMER);
                else if (in[i].recycle != MT_PROV_RECYCLE_KEEP) {
                    fail(errstr, errstr_size, "inputs[%zu]: RECYCLE needs the class of this input decided", i);
                    goto done;
                }
            }
            if (mt_prov_add(&pool, part, errstr, errstr_size)) goto done;
            mt_prov_free(part);
            part = NULL;
        }
        /* returned EXITed material (RECYCLE only): a take of the batch's exited stock, now
         * post-consumer, extraction countries kept (docs/accounting.md D2) */
        for (size_t r = 0; r < nr; r++) {
            if (mt_prov_take(in[ni + r].batch, ev->recycle->returns[r]->mass_mg, &part, &l[ni + r], errstr,
                             errstr_size))
                goto done;
            mt_prov_reclassify(part, MT_PROV_POST_CONSUMER);
            if (mt_prov_add(&pool, part, errstr, errstr_size)) goto done;
            mt_prov_free(part);
            part = NULL;
        }
        for (size_t u = 0; u < ev->n_untracked_inputs; u++) {
            const Mintrace__V1__UntrackedInput *ui = ev->untracked_inputs[u];
            if (!(part = mt_prov_untracked(ui->mass_mg, ui->elements, ui->n_elements, errstr, errstr_size)) ||
                mt_prov_add(&pool, part, errstr, errstr_size))
                goto done;
            mt_prov_free(part);
            part = NULL;
        }
        if (kind == K(RECYCLE) && ev->detail_case == MINTRACE__V1__BATCH_EVENT__DETAIL_RECYCLE &&
            (ev->recycle->untracked_feedstock_mass_mg || ev->recycle->n_untracked_feedstock)) {
            const Mintrace__V1__RecycleDetail *r = ev->recycle;
            mt_prov_class cls = r->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_PRE_CONSUMER
                                    ? MT_PROV_PRE_CONSUMER
                                : r->feedstock == MINTRACE__V1__FEEDSTOCK_CLASS__FEEDSTOCK_CLASS_UNTRACKED_POST_CONSUMER
                                    ? MT_PROV_POST_CONSUMER
                                    : MT_PROV_NOT_RECYCLED;
            if (cls == MT_PROV_NOT_RECYCLED) {
                fail(errstr, errstr_size, "recycle: untracked feedstock needs an untracked feedstock class");
                goto done;
            }
            if (!(part = mt_prov_feedstock(cls, r->untracked_feedstock_mass_mg, r->untracked_feedstock,
                                           r->n_untracked_feedstock, errstr, errstr_size)) ||
                mt_prov_add(&pool, part, errstr, errstr_size))
                goto done;
            mt_prov_free(part);
            part = NULL;
        }
        if ((kind == K(PROCESS) || kind == K(RECYCLE)) && mt_prov_set_processing(pool, country, errstr, errstr_size))
            goto done;
        for (size_t j = 0; j < no; j++)
            outs[j] = (mt_prov_output){ev->outputs[j]->mass_mg, ev->outputs[j]->elements, ev->outputs[j]->n_elements};
        if (mt_prov_split(pool, outs, no, o, NULL, errstr, errstr_size)) goto done;
        break;
    case K(BALANCE): /* credits, not material */
        break;
    case K(CORRECTION):
        fail(errstr, errstr_size, "CORRECTION: give the voided event's takes back with mt_prov_add()");
        goto done;
    default:
        fail(errstr, errstr_size, "event kind %d has no provenance rule", kind);
        goto done;
    }
    for (size_t i = 0; i < ni + nr; i++) left[i] = l[i];
    for (size_t j = 0; j < no; j++) out[j] = o[j];
    ni = nr = no = 0; /* handed over */
    rc = 0;
done:
    free_all(l, ni + nr);
    free_all(o, no);
    free(l);
    free(o);
    free(outs);
    free(pool);
    free(part);
    return rc;
}

/* ---- publishing ---- */

typedef struct code_mg {
    char code[3];
    uint64_t mg;
} code_mg;

static int code_cmp(const void *a, const void *b) {
    return memcmp(((const code_mg *)a)->code, ((const code_mg *)b)->code, 3);
}

/* The countries of cells [s, e) (extraction or processing), summed by code, sorted. */
static int country_list(const mt_prov *p, size_t s, size_t e, int processing, Mintrace__V1__CountryMass ***list,
                        size_t *n_list) {
    code_mg *v = malloc((e - s) * sizeof(*v));
    if (!v) return -1;
    for (size_t i = s; i < e; i++) {
        memcpy(v[i - s].code, processing ? p->cell[i].processing : p->cell[i].extraction, 3);
        v[i - s].mg = p->cell[i].mg;
    }
    qsort(v, e - s, sizeof(*v), code_cmp);
    size_t n = 0;
    for (size_t i = 0; i < e - s; i++)
        if (n && memcmp(v[n - 1].code, v[i].code, 3) == 0)
            v[n - 1].mg += v[i].mg;
        else
            v[n++] = v[i];
    *list = calloc(n, sizeof(**list));
    if (!*list) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        Mintrace__V1__CountryMass *cm = malloc(sizeof(*cm));
        char *code = cm ? strdup(v[i].code) : NULL;
        if (!code) {
            free(cm);
            free(v);
            return -1;
        }
        mintrace__v1__country_mass__init(cm);
        cm->country = code;
        cm->mass_mg = v[i].mg;
        (*list)[(*n_list)++] = cm;
    }
    free(v);
    return 0;
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

Mintrace__V1__ProvenanceRecord *mt_prov_record_new(const mt_prov *p, const mt_prov_meta *meta) {
    static const mt_prov_meta none;
    if (!meta) meta = &none;
    Mintrace__V1__ProvenanceRecord *rec = malloc(sizeof(*rec));
    if (!rec) return NULL;
    mintrace__v1__provenance_record__init(rec);
    rec->batch_id = dup_or_empty(meta->batch_id);
    rec->material = dup_or_empty(meta->material);
    rec->holder_facility_id = dup_or_empty(meta->holder_facility_id);
    if (!rec->batch_id || !rec->material || !rec->holder_facility_id) goto oom;
    rec->ledger_index = meta->ledger_index;
    rec->state_position = meta->state_position;
    rec->mass_mg = p->mass_mg;
    rec->in_transit = meta->in_transit ? 1 : 0;
    rec->holder_role = meta->holder_role;
    size_t n_el = 0;
    for (size_t s = 0; s < p->n; s = element_end(p, s)) n_el++;
    if (n_el && !(rec->elements = calloc(n_el, sizeof(*rec->elements)))) goto oom;
    for (size_t s = 0, e; s < p->n; s = e) {
        e = element_end(p, s);
        Mintrace__V1__ElementProvenance *ep = malloc(sizeof(*ep));
        if (!ep) goto oom;
        mintrace__v1__element_provenance__init(ep);
        rec->elements[rec->n_elements++] = ep;
        char el[5] = {0};
        memcpy(el, p->cell[s].element, 4);
        if (!(ep->element = strdup(el))) goto oom;
        for (size_t i = s; i < e; i++) {
            const mt_prov_cell *c = &p->cell[i];
            ep->total_mg += c->mg;
            if (c->recycled == MT_PROV_PRE_CONSUMER) ep->recycled_pre_consumer_mg += c->mg;
            if (c->recycled == MT_PROV_POST_CONSUMER) ep->recycled_post_consumer_mg += c->mg;
            if (is_unattributed(c)) ep->unattributed_mg += c->mg;
            if (memcmp(c->extraction, MT_PROV_UNTRACKED, 3) == 0) ep->untracked_mg += c->mg;
        }
        if (country_list(p, s, e, 0, &ep->extraction, &ep->n_extraction) ||
            country_list(p, s, e, 1, &ep->processing, &ep->n_processing))
            goto oom;
    }
    return rec;
oom:
    mt_prov_record_free(rec);
    return NULL;
}

void mt_prov_record_free(Mintrace__V1__ProvenanceRecord *rec) {
    if (rec) protobuf_c_message_free_unpacked(&rec->base, NULL);
}

int mt_prov_record_commit(const Mintrace__V1__ProvenanceRecord *rec, unsigned char out[MT_HASH_LEN]) {
    size_t len = protobuf_c_message_get_packed_size(&rec->base);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return -1;
    protobuf_c_message_pack(&rec->base, buf);
    mt_sha256(buf, len, out);
    free(buf);
    return 0;
}

int mt_prov_state_leaf(const char *batch_id, const unsigned char commit[MT_HASH_LEN], unsigned char leaf[MT_HASH_LEN]) {
    unsigned char b[5 + 255 + MT_HASH_LEN];
    size_t len = strlen(batch_id);
    if (len > 255) return -1; /* ids are at most 127 bytes (event.c); a proof may say otherwise */
    b[0] = 0x00;
    b[1] = b[2] = 0;
    b[3] = (unsigned char)(len >> 8);
    b[4] = (unsigned char)len;
    memcpy(b + 5, batch_id, len);
    memcpy(b + 5 + len, commit, MT_HASH_LEN);
    mt_sha256(b, 5 + len + MT_HASH_LEN, leaf);
    return 0;
}
