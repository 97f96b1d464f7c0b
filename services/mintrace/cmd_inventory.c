/* cmd_inventory — mintrace inventory FACILITY: what it holds now, from a replay of the journal. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafka.h"
#include "ledger.h"
#include "log.h"
#include "service.h"

typedef struct replay {
    mt_ledger *l;
    const mt_service *s;
    char err[512];
    int failed;
} replay;

static int replay_entry(void *arg, const rd_kafka_message_t *rkm) {
    replay *r = arg;
    if (mt_ledger_replay(r->l, r->s->reg, mt_config_get(r->s->cfg, "network.id"), rkm->payload, rkm->len, r->err,
                         sizeof(r->err))) {
        r->failed = 1;
        return 1;
    }
    return 0;
}

typedef struct holdings {
    mt_holding *v;
    size_t n, cap;
} holdings;

static void collect(void *arg, const mt_holding *h) {
    holdings *hs = arg;
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 32;
        mt_holding *nv = realloc(hs->v, cap * sizeof(*nv));
        if (!nv) return;
        hs->v = nv;
        hs->cap = cap;
    }
    hs->v[hs->n++] = *h; /* the strings live in the ledger, which outlives the list */
}

static int by_batch(const void *a, const void *b) {
    return strcmp(((const mt_holding *)a)->batch_id, ((const mt_holding *)b)->batch_id);
}

int cmd_inventory(int argc, char **argv) {
    static const mt_option opts[] = {
        {"registry", 'r', 1, "registry.file", "registry file (governance-signed)"},
        {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace inventory", "FACILITY   (replays the ledger topic)", opts,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    if (s.argi != argc - 1) {
        mt_log_error("give one FACILITY id");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    const char *facility = argv[s.argi];
    char topic[200], err[512];
    replay r = {.l = mt_ledger_new(NULL), .s = &s};
    holdings hs = {0};
    rc = MT_EXIT_FAIL;
    if (!r.l) goto out;
    mt_ledger_set_governance(r.l, s.gov_pk);
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "ledger", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1, 1,
                            &mt_run, replay_entry, &r, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (r.failed) {
        mt_log_error("%s: %s", topic, r.err);
        goto out;
    }
    mt_ledger_commit(r.l);
    mt_ledger_inventory(r.l, facility, collect, &hs);
    if (hs.n) qsort(hs.v, hs.n, sizeof(*hs.v), by_batch); /* hs.v is NULL when it holds nothing */
    uint64_t held = 0, transit = 0;
    for (size_t i = 0; i < hs.n; i++) {
        const mt_holding *h = &hs.v[i];
        char where[200];
        if (!h->in_transit_to)
            snprintf(where, sizeof(where), "held");
        else if (strcmp(h->in_transit_to, facility) == 0)
            snprintf(where, sizeof(where), "in transit from %s", h->holder);
        else
            snprintf(where, sizeof(where), "in transit to %s", h->in_transit_to);
        printf("%-24s %-26s %14" PRIu64 ".%03" PRIu64 " kg  %s\n", h->batch_id, h->material, h->mass_mg / 1000000,
               (h->mass_mg / 1000) % 1000, where);
        if (h->in_transit_to) transit += h->mass_mg; else held += h->mass_mg;
    }
    printf("%s: %zu batches, %" PRIu64 ".%03" PRIu64 " kg held, %" PRIu64 ".%03" PRIu64
           " kg in transit (journal at %" PRIu64 " entries)\n",
           facility, hs.n, held / 1000000, (held / 1000) % 1000, transit / 1000000, (transit / 1000) % 1000,
           mt_ledger_next_index(r.l));
    rc = MT_EXIT_OK;
out:
    free(hs.v);
    mt_ledger_free(r.l);
    mt_service_release(&s);
    return rc;
}
