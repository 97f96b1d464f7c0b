/* test_lineage — a batch's ancestry from the journal: every edge carries its mass and the
 * recycled share of what it carried, cut when the event was applied; returned end-of-life
 * magnets show as untracked post-consumer scrap with the EXITed lot their evidence names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixtures.h" /* fx_ledger_new(), fx_run_group_twice(): the same with spilled ledgers */
#include "journal.h"
#include "lineage.h"
#include "sim_pipeline.h"

#define NET "lineage-test"
#define T0 1600000000000LL

typedef struct journal {
    uint8_t *entry[512];
    size_t len[512], n;
    char mag2[64], mag3[64];
    int64_t now;
} journal;

static void keep(void *arg, const mt_decision *d) {
    journal *j = arg;
    unsigned char leaf[MT_HASH_LEN];
    assert_true(j->n < 512);
    assert_int_equal(mt_journal_entry(d, j->now, &j->entry[j->n], &j->len[j->n], leaf), 0);
    j->n++;
    for (size_t i = 0; i < d->n_changed; i++) {
        if (strstr(d->changed[i], "-MAG2-")) snprintf(j->mag2, sizeof(j->mag2), "%s", d->changed[i]);
        if (strstr(d->changed[i], "-MAG3-")) snprintf(j->mag3, sizeof(j->mag3), "%s", d->changed[i]);
    }
}

typedef struct fixture {
    journal j;
    mt_lineage *g;
    mt_registry *reg;
    char *text, *dot, *text3, *dot3;
} fixture;

/* One simulated loop whose magnets come back, journaled, then read back into a lineage graph
 * with a replaying ledger (as `mintrace lineage` does). */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    uint8_t *regb, *env;
    size_t regl, len, n = 0;
    mt_keypair gov, notary;
    char err[256];
    const char *fac;
    assert_int_equal(mt_sim_registry(9, NET, &regb, &regl), 0);
    assert_int_equal(mt_sim_key(9, "governance", &gov), 0);
    assert_int_equal(mt_sim_key(9, "NOTARY-1", &notary), 0);
    assert_non_null(f->reg = mt_registry_from_envelope(regb, regl, "sim", gov.pk, NET, err, sizeof(err)));
    mt_sim_opts o = {.chains = 1, .returns_pct = 100};
    mt_sim *s = mt_sim_new_opts(9, NET, &o, T0);
    assert_non_null(s);
    f->j.now = mt_sim_end_ms(s) + 60000;
    mt_ledger *l = fx_ledger_new(NULL), *replayed = fx_ledger_new(NULL);
    assert_non_null(l);
    assert_non_null(replayed);
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        assert_int_equal(pipe_offer(l, f->reg, &notary, NET, env, len, (int64_t)n++, f->j.now, keep, &f->j), 0);
        mt_ledger_commit(l); /* spilled: what is spent goes to disk before the next */
        free(env);
    }
    assert_true(f->j.mag2[0] && f->j.mag3[0]);
    assert_non_null(f->g = mt_lineage_new());
    for (size_t i = 0; i < f->j.n; i++) {
        assert_int_equal(mt_lineage_add_with(f->g, f->j.entry[i], f->j.len[i], replayed), 0);
        assert_int_equal(mt_ledger_replay(replayed, f->reg, NET, f->j.entry[i], f->j.len[i], err, sizeof(err)), 0);
        mt_ledger_commit(replayed);
    }
    size_t sz;
    FILE *fp = open_memstream(&f->text, &sz);
    assert_int_equal(mt_lineage_text(f->g, f->j.mag2, fp), 0);
    fclose(fp);
    fp = open_memstream(&f->dot, &sz);
    assert_int_equal(mt_lineage_dot(f->g, f->j.mag2, fp), 0);
    fclose(fp);
    fp = open_memstream(&f->text3, &sz);
    assert_int_equal(mt_lineage_text(f->g, f->j.mag3, fp), 0);
    fclose(fp);
    fp = open_memstream(&f->dot3, &sz);
    assert_int_equal(mt_lineage_dot(f->g, f->j.mag3, fp), 0);
    fclose(fp);
    mt_sim_free(s);
    mt_ledger_free(l);
    mt_ledger_free(replayed);
    free(regb);
    mt_keypair_wipe(&gov);
    mt_keypair_wipe(&notary);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    for (size_t i = 0; i < f->j.n; i++) free(f->j.entry[i]);
    mt_lineage_free(f->g);
    mt_registry_destroy(f->reg);
    free(f->text), free(f->dot), free(f->text3), free(f->dot3);
    free(f);
    return 0;
}

/* The line of the edge into `batch` (the first line naming it after "<- "). */
static const char *edge_line(const char *text, const char *batch_part, char *line, size_t size) {
    const char *p = text;
    while ((p = strstr(p, "<- "))) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n < size) {
            memcpy(line, p, n);
            line[n] = '\0';
            if (strstr(line, batch_part)) return line;
        }
        p += 3;
    }
    return NULL;
}

/* The second-generation magnet came from recovered oxide only: that edge is 100 % pre-consumer
 * Nd, cut before the MANUFACTURE consumed it; the edges back to the mine carry 0 %. */
static void test_text_edges_carry_mass_and_share(void **state) {
    fixture *f = *state;
    char line[512];
    assert_non_null(edge_line(f->text, "-REC-000000", line, sizeof(line)));
    assert_non_null(strstr(line, " kg, Nd recycled 100.0 % (pre 100.0 %, post 0.0 %)"));
    assert_non_null(edge_line(f->text, "-ORE-000000", line, sizeof(line)));
    assert_non_null(strstr(line, " kg, Nd recycled 0.0 % (pre 0.0 %, post 0.0 %)"));
    assert_non_null(strstr(f->text, "<- electrolytic-iron (untracked) "));
    assert_non_null(strstr(f->text, "not recycled"));
    assert_non_null(strstr(f->text, "EXTRACT by "));
}

/* The DOT edges carry the same labels. */
static void test_dot_edges_carry_mass_and_share(void **state) {
    fixture *f = *state;
    assert_non_null(strstr(f->dot, "digraph lineage"));
    const char *e = strstr(f->dot, "-REC-000000\" -> ");
    assert_non_null(e);
    const char *nl = strchr(e, '\n');
    assert_non_null(nl);
    char line[512];
    size_t n = (size_t)(nl - e) < sizeof(line) - 1 ? (size_t)(nl - e) : sizeof(line) - 1;
    memcpy(line, e, n);
    line[n] = '\0';
    assert_non_null(strstr(line, " kg, Nd recycled 100.0 % (pre 100.0 %, post 0.0 %)"));
}

/* Magnets made of returned end-of-life magnets: the recovered oxide's edge is 100 % post-consumer,
 * and the EXITed lot it returned (RecycleDetail.returns) is a real edge, its share of the return
 * post-consumer, with its own ancestry back to the mine. */
static void test_returned_scrap_is_post_consumer_and_linked(void **state) {
    fixture *f = *state;
    char line[512];
    assert_non_null(edge_line(f->text3, "-EOL-000000", line, sizeof(line)));
    assert_non_null(strstr(line, "Nd recycled 100.0 % (pre 0.0 %, post 100.0 %)"));
    assert_non_null(strstr(f->text3, "<- returned after EXIT (end of life, post-consumer):\n"));
    assert_non_null(edge_line(f->text3, "-MAG-000000", line, sizeof(line)));
    assert_non_null(strstr(line, "Nd recycled 100.0 % (pre 0.0 %, post 100.0 %); sintered-NdFeB-magnet, MANUFACTURE"));
    assert_null(strstr(f->text3, "untracked post-consumer scrap"));
    assert_non_null(strstr(f->text3, "-ORE-000000"));
    /* in DOT: a bold edge from the EXITed lot, labelled as a return */
    const char *e = strstr(f->dot3, "-MAG-000000\" -> \"");
    assert_non_null(e);
    assert_non_null(strstr(e, "[style=bold, label=\"RECYCLE "));
    assert_non_null(strstr(f->dot3, ", returned after EXIT\\n"));
    assert_null(strstr(f->dot3, "claimed return after EXIT"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_edges_carry_mass_and_share),
        cmocka_unit_test(test_dot_edges_carry_mass_and_share),
        cmocka_unit_test(test_returned_scrap_is_post_consumer_and_linked),
    };
    return fx_run_group_twice("lineage", tests, setup, teardown);
}
