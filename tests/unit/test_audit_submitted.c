/* test_audit_submitted.c - the audit's account of events.submitted (audit_submitted.h): a
 * simulated pipeline's topics built in memory (submitted partitions keyed by facility, the
 * rejected topic, the journal) reconcile; a message a stage dropped is UNJUDGED, named by its
 * partition and offset, once the order of the pipeline shows it is not in flight, and pending
 * before; garbage that validate rejected is matched by the hash of its bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive.h"
#include "audit.h"
#include "audit_report.h"
#include "audit_submitted.h"
#include "codec.h"
#include "event.h"
#include "journal.h"
#include "ledger.h"
#include "notary.h"
#include "registry.h"
#include "simulate.h"
#include "validate.h"

#define NET    "audit-sub-test"
#define SEED   7
#define T0     1790000000000LL
#define NOW    (T0 + 86400000LL * 30)
#define NPART  3
#define CHAINS 6
#define PARK   5 /* the simulated aggregator's park_max_age: successors of a dropped event expire */

typedef struct msg {
    uint8_t *b;
    size_t len;
    int32_t partition;
    int64_t offset;
    int drop;        /* no stage judges it */
    char fac[64];
} msg;

typedef struct list {
    msg *v;
    size_t n, cap;
} list;

static msg *list_add(list *l, const uint8_t *b, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    msg *m = &l->v[l->n++];
    memset(m, 0, sizeof(*m));
    m->b = malloc(len ? len : 1);
    assert_non_null(m->b);
    memcpy(m->b, b, len);
    m->len = len;
    return m;
}

static void list_free(list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i].b);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

typedef struct world {
    mt_keypair gov, notary;
    uint8_t *reg_env;
    size_t reg_len;
    mt_registry *reg;
    list submitted, rejected, entries;
    int64_t next[NPART];
    mt_ledger *l;
} world;

static int setup(void **state) {
    world *w = calloc(1, sizeof(*w));
    char err[256];
    assert_non_null(w);
    assert_int_equal(mt_sim_key(SEED, "governance", &w->gov), 0);
    assert_int_equal(mt_sim_key(SEED, "NOTARY-1", &w->notary), 0);
    assert_int_equal(mt_sim_registry(SEED, NET, &w->reg_env, &w->reg_len), 0);
    w->reg = mt_registry_from_envelope(w->reg_env, w->reg_len, "sim", w->gov.pk, NET, err, sizeof(err));
    assert_non_null(w->reg);
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    list_free(&w->submitted);
    list_free(&w->rejected);
    list_free(&w->entries);
    mt_ledger_free(w->l);
    mt_registry_destroy(w->reg);
    free(w->reg_env);
    free(w);
    return 0;
}

/* ---- the pipeline, as the stages run it ---- */

static void on_decision(void *arg, const mt_decision *d) {
    world *w = arg;
    uint8_t *entry;
    size_t len;
    unsigned char leaf[32];
    assert_int_equal(mt_journal_entry(d, NOW, &entry, &len, leaf), 0);
    list_add(&w->entries, entry, len);
    free(entry);
}

static int32_t partition_of(const char *facility) {
    uint32_t h = 2166136261u;
    for (const char *c = facility; *c; c++) h = (h ^ (uint8_t)*c) * 16777619u;
    return (int32_t)(h % NPART);
}

/* A producer submits: the message lands in its facility's partition. */
static msg *submit(world *w, const uint8_t *b, size_t len, const char *facility) {
    msg *m = list_add(&w->submitted, b, len);
    m->partition = partition_of(facility);
    m->offset = w->next[m->partition]++;
    snprintf(m->fac, sizeof(m->fac), "%s", facility);
    return m;
}

/* validate, sign and the aggregator judge one submitted message (a stage's rejection goes
 * through the rejected topic); drop_rejection: the aggregator skips it there */
static void judge(world *w, const msg *m, int drop_rejection) {
    mt_verdict v;
    Mintrace__V1__Stage stage = MINTRACE__V1__STAGE__STAGE_VALIDATE;
    if (mt_validate_envelope(w->reg, NET, m->b, m->len, NOW, &v) == 0) {
        uint8_t *att;
        size_t alen;
        stage = MINTRACE__V1__STAGE__STAGE_SIGN;
        if (mt_notary_attest(&w->notary, w->reg, NET, m->b, m->len, NOW, &att, &alen, &v) == 0) {
            static int64_t attested;
            assert_int_equal(mt_ledger_offer(w->l, w->reg, NET, att, alen, "t.events.attested", 0, attested++,
                                             on_decision, w),
                             0);
            mt_ledger_commit(w->l);
            free(att);
            return;
        }
    }
    size_t rlen;
    uint8_t *rej = mt_rejection_pack(&v, stage, m->b, m->len, "t.events.submitted", m->partition, m->offset, NOW, &rlen);
    assert_non_null(rej);
    list_add(&w->rejected, rej, rlen);
    if (!drop_rejection) {
        assert_int_equal(mt_ledger_note_rejection(w->l, rej, rlen, "t.rejected", 0, (int64_t)w->rejected.n - 1,
                                                  on_decision, w),
                         0);
        mt_ledger_commit(w->l);
    }
    free(rej);
}

/* The simulated network's history: the registry journaled, every event submitted and judged in
 * order; the event number drop (0-based; -1 none) is submitted but no stage judges it; garbage
 * bytes after event number garbage_at (-1 none), judged unless garbage_drop (1: validate skips
 * it, 2: the aggregator skips its rejection). */
static void build(world *w, long drop, long garbage_at, int garbage_drop) {
    mt_ledger_conf lc = {.park_max_age = PARK};
    w->l = mt_ledger_new(&lc);
    assert_non_null(w->l);
    mt_ledger_set_governance(w->l, w->gov.pk);
    assert_int_equal(mt_ledger_note_registry(w->l, NET, w->reg_env, w->reg_len, "t.registry", 0, 0, on_decision, w), 0);
    mt_ledger_commit(w->l);
    mt_sim *s = mt_sim_new(SEED, NET, CHAINS, T0);
    uint8_t *env;
    size_t len;
    const char *fac;
    for (long i = 0; mt_sim_next(s, &env, &len, &fac) == 1; i++) {
        msg *m = submit(w, env, len, fac);
        m->drop = i == drop;
        if (!m->drop) judge(w, m, 0);
        free(env);
        if (i == garbage_at) {
            static const uint8_t junk[] = "\xff\xfe not an envelope";
            msg *g = submit(w, junk, sizeof(junk) - 1, fac);
            g->drop = garbage_drop == 1;
            if (!g->drop) judge(w, g, garbage_drop == 2);
        }
    }
    mt_sim_free(s);
}

static void reset(world *w) {
    list_free(&w->submitted);
    list_free(&w->rejected);
    list_free(&w->entries);
    memset(w->next, 0, sizeof(w->next));
    mt_ledger_free(w->l);
    w->l = NULL;
}

/* Whether the journal holds a CHAIN_GAP rejection of facility: the pipeline went on past a drop. */
static int chain_gap_of(const world *w, const char *facility) {
    int found = 0;
    for (size_t i = 0; i < w->entries.n && !found; i++) {
        Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, w->entries.v[i].len, w->entries.v[i].b);
        Mintrace__V1__Rejection *r = e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION
                                         ? mintrace__v1__rejection__unpack(NULL, e->rejection.len, e->rejection.data)
                                         : NULL;
        found = r && r->code == MINTRACE__V1__REASON_CODE__REASON_CODE_CHAIN_GAP && !strcmp(r->facility_id, facility) &&
                i + PARK < w->entries.n;
        if (r) mintrace__v1__rejection__free_unpacked(r, NULL);
        mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    }
    return found;
}

/* Builds the history with one event dropped: seq 2 or more, not a RECEIVE, whose facility's next
 * event on its partition waited for it, expired as CHAIN_GAP, and more entries followed (so the
 * rest of the network kept the journal going). Returns the dropped message's number. */
static long build_with_drop(world *w) {
    build(w, -1, -1, 0); /* a dry run to choose from */
    list all = {0};
    for (size_t i = 0; i < w->submitted.n; i++) {
        msg *m = list_add(&all, w->submitted.v[i].b, w->submitted.v[i].len);
        snprintf(m->fac, sizeof(m->fac), "%s", w->submitted.v[i].fac);
    }
    reset(w);
    for (size_t i = 0; i < all.n; i++) {
        Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, all.v[i].len, all.v[i].b);
        Mintrace__V1__BatchEvent *ev = mintrace__v1__batch_event__unpack(NULL, e->payload.len, e->payload.data);
        int ok = ev->seq >= 2 && ev->kind != MINTRACE__V1__EVENT_KIND__EVENT_KIND_RECEIVE;
        mintrace__v1__batch_event__free_unpacked(ev, NULL);
        mintrace__v1__envelope__free_unpacked(e, NULL);
        if (!ok) continue;
        build(w, (long)i, -1, 0);
        if (chain_gap_of(w, all.v[i].fac)) {
            list_free(&all);
            return (long)i;
        }
        reset(w);
    }
    list_free(&all);
    fail_msg("no event to drop");
    return -1;
}

/* ---- the audit ---- */

static mt_audit *audit(world *w, uint64_t unjudged_after) {
    char err[256];
    mt_ledger_conf lc = {.park_max_age = PARK};
    mt_audit_conf conf = {.network_id = NET, .gov_pk = w->gov.pk, .ledger_conf = &lc, .threads = 1};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(mt_audit_submitted_conf(a, 1, NULL, unjudged_after), 0);
    for (size_t i = 0; i < w->entries.n; i++)
        assert_int_equal(mt_audit_entry(a, w->entries.v[i].b, w->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    for (int32_t p = 0; p < NPART; p++) {
        assert_int_equal(mt_audit_submitted_partition(a, "t.events.submitted", p, 0, w->next[p]), 0);
        for (size_t i = 0; i < w->submitted.n; i++)
            if (w->submitted.v[i].partition == p)
                assert_int_equal(mt_audit_submitted(a, w->submitted.v[i].b, w->submitted.v[i].len, "t.events.submitted",
                                                    p, w->submitted.v[i].offset),
                                 0);
    }
    assert_int_equal(mt_audit_rejected_partition(a, "t.rejected", 0, 0, (int64_t)w->rejected.n), 0);
    for (size_t i = 0; i < w->rejected.n; i++)
        assert_int_equal(mt_audit_rejected(a, w->rejected.v[i].b, w->rejected.v[i].len, "t.rejected", 0, (int64_t)i), 0);
    assert_true(mt_audit_finish(a) >= 0);
    return a;
}

static void print_findings(const mt_audit *a) {
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    for (size_t i = 0; i < n && i < 8; i++)
        fprintf(stderr, "  finding %zu: %s index %lld rule %s (%s [%d] @%lld): %s\n", i, f[i].kind,
                (long long)f[i].index, f[i].rule, f[i].topic, (int)f[i].partition, (long long)f[i].offset,
                f[i].detail);
}

static void expect_counts(const mt_audit *a, uint64_t submitted, uint64_t judged, uint64_t pending,
                          uint64_t unjudged) {
    const mt_audit_sub_totals *t = mt_audit_submitted_totals(a);
    if (t->submitted != submitted || t->judged != judged || t->pending != pending || t->unjudged != unjudged) {
        print_findings(a);
        fail_msg("submitted %llu = %llu judged + %llu pending + %llu unjudged; want %llu = %llu + %llu + %llu",
                 (unsigned long long)t->submitted, (unsigned long long)t->judged, (unsigned long long)t->pending,
                 (unsigned long long)t->unjudged, (unsigned long long)submitted, (unsigned long long)judged,
                 (unsigned long long)pending, (unsigned long long)unjudged);
    }
    assert_int_equal(t->submitted, t->judged + t->pending + t->unjudged);
}

/* The only finding is UNJUDGED by rule, at m's partition and offset. */
static void expect_unjudged(const mt_audit *a, const msg *m, const char *rule) {
    const mt_finding *f;
    size_t n = mt_audit_findings(a, &f);
    if (n != 1 || strcmp(f[0].kind, "UNJUDGED") || strcmp(f[0].rule, rule) || f[0].partition != m->partition ||
        f[0].offset != m->offset || strcmp(f[0].topic, "t.events.submitted")) {
        print_findings(a);
        fail_msg("want one UNJUDGED (%s) at [%d] @%lld", rule, (int)m->partition, (long long)m->offset);
    }
}

/* ---- tests ---- */

/* Every submitted message judged: clean, and the counts reconcile. */
static void test_all_judged(void **state) {
    world *w = *state;
    build(w, -1, -1, 0);
    mt_audit *a = audit(w, 0);
    const mt_finding *f;
    if (mt_audit_findings(a, &f)) print_findings(a);
    assert_int_equal(mt_audit_findings(a, &f), 0);
    expect_counts(a, w->submitted.n, w->submitted.n, 0, 0);
    const mt_audit_sub_totals *t = mt_audit_submitted_totals(a);
    assert_true(t->read);
    assert_true(t->rejected_read);
    assert_int_equal(t->unjudged_after, PARK); /* the ledger's park_max_age */
    mt_audit_free(a);
}

/* One event dropped between submitted and the journal; its facility's next event, on the same
 * partition, reached the aggregator (it waited for the dropped one and expired as CHAIN_GAP)
 * and the journal went on: UNJUDGED, naming its partition and offset, event and facility. */
static void test_dropped_far_behind(void **state) {
    world *w = *state;
    long d = build_with_drop(w);
    const msg *m = &w->submitted.v[d];
    mt_audit *a = audit(w, 0);
    expect_unjudged(a, m, "submitted_not_journaled");
    const mt_finding *f;
    mt_audit_findings(a, &f);
    assert_string_equal(f[0].facility, m->fac);
    Mintrace__V1__Envelope *e = mintrace__v1__envelope__unpack(NULL, m->len, m->b);
    unsigned char id[32];
    char hex[65];
    mt_hash(e->payload.data, e->payload.len, id);
    mt_hex_encode(id, 32, hex);
    mintrace__v1__envelope__free_unpacked(e, NULL);
    assert_string_equal(f[0].event_id, hex);
    const mt_audit_sub_totals *t = mt_audit_submitted_totals(a);
    assert_int_equal(t->unjudged, 1);
    assert_int_equal(t->submitted, t->judged + t->pending + t->unjudged);
    mt_audit_free(a);
}

/* The same drop, but the journal has not gone on far enough past the later event (the bound is
 * the default 100,000 entries): pending, a note, not a finding. */
static void test_dropped_recent(void **state) {
    world *w = *state;
    build_with_drop(w);
    mt_audit *a = audit(w, 100000);
    const mt_finding *f;
    if (mt_audit_findings(a, &f)) print_findings(a);
    assert_int_equal(mt_audit_findings(a, &f), 0);
    const mt_audit_sub_totals *t = mt_audit_submitted_totals(a);
    assert_int_equal(t->unjudged, 0);
    assert_true(t->pending >= 1);
    assert_int_equal(t->submitted, t->judged + t->pending);
    mt_audit_free(a);
}

/* Without the rejected topic read from its start, a rejection of it could be where the audit
 * did not look: pending. */
static void test_dropped_rejected_unread(void **state) {
    world *w = *state;
    build_with_drop(w);
    char err[256];
    mt_ledger_conf lc = {.park_max_age = PARK};
    mt_audit_conf conf = {.network_id = NET, .gov_pk = w->gov.pk, .ledger_conf = &lc, .threads = 1};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    for (size_t i = 0; i < w->entries.n; i++)
        assert_int_equal(mt_audit_entry(a, w->entries.v[i].b, w->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    for (size_t i = 0; i < w->submitted.n; i++)
        assert_int_equal(mt_audit_submitted(a, w->submitted.v[i].b, w->submitted.v[i].len, "t.events.submitted",
                                            w->submitted.v[i].partition, w->submitted.v[i].offset),
                         0);
    assert_int_equal(mt_audit_rejected_partition(a, "t.rejected", 0, 3, (int64_t)w->rejected.n), 0); /* start deleted */
    assert_true(mt_audit_finish(a) >= 0);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    assert_int_equal(mt_audit_submitted_totals(a)->unjudged, 0);
    mt_audit_free(a);
}

/* Garbage submitted and rejected by validate: matched by the hash of its bytes. */
static void test_garbage_rejected(void **state) {
    world *w = *state;
    build(w, -1, 20, 0);
    mt_audit *a = audit(w, 0);
    const mt_finding *f;
    if (mt_audit_findings(a, &f)) print_findings(a);
    assert_int_equal(mt_audit_findings(a, &f), 0);
    expect_counts(a, w->submitted.n, w->submitted.n, 0, 0);
    mt_audit_free(a);
}

/* Garbage that validate passed over without a rejection, with later messages of its partition
 * judged: UNJUDGED at once (validate could only have rejected it). */
static void test_garbage_dropped(void **state) {
    world *w = *state;
    build(w, -1, 20, 1);
    const msg *g = NULL;
    for (size_t i = 0; i < w->submitted.n; i++)
        if (w->submitted.v[i].drop) g = &w->submitted.v[i];
    assert_non_null(g);
    mt_audit *a = audit(w, 100000);
    expect_unjudged(a, g, "submitted_not_journaled");
    expect_counts(a, w->submitted.n, w->submitted.n - 1, 0, 1);
    mt_audit_free(a);
}

/* A rejection the aggregator read past without journaling it: UNJUDGED. */
static void test_rejection_skipped(void **state) {
    world *w = *state;
    /* the garbage's rejection skipped; a later rejection is journaled: the dropped event's own */
    build(w, -1, 30, 2);
    const msg *g = NULL;
    for (size_t i = 0; i < w->submitted.n; i++)
        if (w->submitted.v[i].b[0] == 0xff) g = &w->submitted.v[i];
    assert_non_null(g);
    /* a later rejection, journaled: more garbage at the end */
    static const uint8_t junk2[] = "more garbage";
    msg *m2 = submit(w, junk2, sizeof(junk2) - 1, "X");
    judge(w, m2, 0);
    mt_audit *a = audit(w, 100000);
    expect_unjudged(a, g, "rejection_not_journaled");
    mt_audit_free(a);
}

/* The same bytes submitted twice (a producer's resend), in another partition: judged twice (the
 * second a duplicate), every copy is accounted for; with one copy not judged, which copy is missing
 * cannot be told: pending, never a finding. */
static void test_same_bytes_twice(void **state) {
    world *w = *state;
    build(w, -1, -1, 0);
    msg first = w->submitted.v[12];
    msg *copy = submit(w, first.b, first.len, first.fac);
    w->next[copy->partition]--;
    copy->partition = (first.partition + 1) % NPART;
    copy->offset = w->next[copy->partition]++;
    judge(w, copy, 0);
    mt_audit *a = audit(w, 0);
    const mt_finding *f;
    assert_int_equal(mt_audit_findings(a, &f), 0);
    expect_counts(a, w->submitted.n, w->submitted.n, 0, 0);
    mt_audit_free(a);
    /* a third copy, lost */
    msg *lost = submit(w, first.b, first.len, first.fac);
    (void)lost;
    a = audit(w, 0);
    if (mt_audit_findings(a, &f)) print_findings(a);
    assert_int_equal(mt_audit_findings(a, &f), 0);
    expect_counts(a, w->submitted.n, w->submitted.n - 1, 1, 0);
    assert_int_equal(mt_audit_submitted_totals(a)->ambiguous, 1);
    mt_audit_free(a);
}

/* Retention deleted the start of a partition: a note, and only what is there is judged. */
static void test_start_deleted(void **state) {
    world *w = *state;
    build(w, -1, -1, 0);
    char err[256];
    mt_ledger_conf lc = {.park_max_age = PARK};
    mt_audit_conf conf = {.network_id = NET, .gov_pk = w->gov.pk, .ledger_conf = &lc, .threads = 1};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    for (size_t i = 0; i < w->entries.n; i++)
        assert_int_equal(mt_audit_entry(a, w->entries.v[i].b, w->entries.v[i].len, "t.ledger", 0, (int64_t)i), 0);
    uint64_t there = 0;
    for (int32_t p = 0; p < NPART; p++) {
        int64_t low = p == 1 ? 2 : 0;
        assert_int_equal(mt_audit_submitted_partition(a, "t.events.submitted", p, low, w->next[p]), 0);
        for (size_t i = 0; i < w->submitted.n; i++)
            if (w->submitted.v[i].partition == p && w->submitted.v[i].offset >= low) {
                there++;
                assert_int_equal(mt_audit_submitted(a, w->submitted.v[i].b, w->submitted.v[i].len,
                                                    "t.events.submitted", p, w->submitted.v[i].offset),
                                 0);
            }
    }
    assert_int_equal(mt_audit_rejected_partition(a, "t.rejected", 0, 0, 0), 0);
    assert_true(mt_audit_finish(a) >= 0);
    expect_counts(a, there, there, 0, 0);
    const mt_audit_sub_totals *t = mt_audit_submitted_totals(a);
    assert_int_equal(t->cut_partitions, 1);
    assert_string_equal(t->cut, "1@2");
    char *text = NULL;
    size_t tlen = 0;
    FILE *fp = open_memstream(&text, &tlen);
    mt_audit_report_text(fp, a, NULL);
    fclose(fp);
    assert_non_null(strstr(text, "note: retention deleted the start of 1 partitions of t.events.submitted (partition@low "
                                 "watermark: 1@2)"));
    char want[200];
    snprintf(want, sizeof(want), "submitted: %llu messages of t.events.submitted = %llu judged + 0 pending + 0 unjudged\n",
             (unsigned long long)there, (unsigned long long)there);
    assert_non_null(strstr(text, want));
    free(text);
    char *json = mt_audit_report_json(a, NULL);
    assert_non_null(strstr(json, "\"start_deleted_partitions\": \"1@2\""));
    free(json);
    mt_audit_free(a);
}

/* An archive keeps a partition's watermarks as a record with offset -1 (what `mintrace archive`
 * writes for events.submitted and rejected), which reads back as written. */
static int got_record(void *arg, const char *topic, int32_t partition, int64_t offset, const uint8_t *b, size_t len) {
    (void)topic;
    int64_t *seen = arg;
    if (offset == -1 && partition == 4 && len == 16 && b[7] == 3 && b[15] == 9) seen[0]++;
    if (offset == 0) seen[1]++;
    return 0;
}

static void test_archive_watermarks(void **state) {
    (void)state;
    char path[] = "/tmp/mt-audit-sub-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    mt_archive_writer aw;
    char err[256];
    unsigned char wm[16] = {0};
    wm[7] = 3;
    wm[15] = 9;
    assert_int_equal(mt_archive_create(&aw, path, err, sizeof(err)), 0);
    assert_int_equal(mt_archive_add(&aw, "t.events.submitted", 0, 0, "x", 1), 0);
    assert_int_equal(mt_archive_add(&aw, "t.events.submitted", 4, -1, wm, sizeof(wm)), 0);
    assert_int_equal(mt_archive_close(&aw, err, sizeof(err)), 0);
    int64_t seen[2] = {0, 0};
    assert_int_equal(mt_archive_read(path, NULL, got_record, seen, err, sizeof(err)), 0);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_judged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_far_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_rejected_unread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejection_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_bytes_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_deleted, setup, teardown),
        cmocka_unit_test(test_archive_watermarks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
