/* mintrace-aggregate — the single writer of the journal: events.attested + rejected -> ledger.
 * All instances share one transactional id: the one that gets the attested partition fences
 * the others (init_transactions), rebuilds the ledger from the journal and goes on from there;
 * entries and input offsets commit in one Kafka transaction, so every input is decided once
 * and indexes stay gap-free. The rules are in services/lib/ledger.c. */
#include <stdio.h>

#include "ledger.h"
#include "registry.h"
#include "log.h"
#include "map.h"
#include "service.h"
#include "stages.h"

static const mt_option options[] = {
    {"key", 'k', 1, "key.file", "the aggregator's secret key (signs receipts and checkpoints)"},
    {"tolerance-ppm", 0, 1, "ledger.tolerance.ppm", "element measurement tolerance, ppm (default 5000)"},
    {"max-skew-ms", 0, 1, "ledger.max.skew.ms", "event time may run ahead of notary time by this (default 300000)"},
    {"park-max", 0, 1, "ledger.park.max", "events waiting for a dependency, at most (default 10000)"},
    {"park-max-age", 0, 1, "ledger.park.max.age", "journal entries one may wait, at most (default 100000)"},
    {"spill-dir", 0, 1, "ledger.spill.dir",
     "keep spent batches and decided events in unlinked files here, not in memory (default: all in memory)"},
    MT_STAGE_OPTIONS,
};

/* The ledger's bounds from the settings (0 = the ledger's default). -1 on a bad value. */
static int ledger_conf_from(const mt_config *cfg, mt_ledger_conf *lc) {
    char err[256];
    long v[4] = {0, 0, 0, 0};
    static const char *const names[] = {"ledger.tolerance.ppm", "ledger.max.skew.ms", "ledger.park.max",
                                        "ledger.park.max.age"};
    for (int i = 0; i < 4; i++)
        if (mt_config_get(cfg, names[i]) && (mt_config_get_int(cfg, names[i], &v[i], err, sizeof(err)) || v[i] < 0)) {
            mt_log_error("%s", v[i] < 0 ? "ledger bounds are never negative" : err);
            return -1;
        }
    *lc = (mt_ledger_conf){(uint32_t)v[0], v[1], (size_t)v[2], (uint64_t)v[3]};
    return 0;
}

int main(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace-aggregate", "-k AGGREGATOR_KEY [options]", options,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY | MT_NEED_KEY, argc, argv);
    if (rc >= 0) return rc;
    /* what it signs must be checkable by anyone holding the registry */
    const mt_registry_key *me = mt_registry_find_key(s.reg, s.key.key_id);
    if (!me || me->facility->role != MINTRACE__V1__FACILITY_ROLE__FACILITY_ROLE_AGGREGATOR) {
        mt_log_error("key %s is not an AGGREGATOR key of the registry: receipts and checkpoints signed with it "
                     "could not be verified", s.key.key_id);
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    mt_ledger_conf lconf;
    if (ledger_conf_from(s.cfg, &lconf)) {
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    const char *group = mt_config_get(s.cfg, "group.id");
    char default_group[200];
    snprintf(default_group, sizeof(default_group), "%saggregate", mt_config_get(s.cfg, "topic.prefix"));
    mt_stage_ctx ctx = {.reg = s.reg,
                        .network_id = mt_config_get(s.cfg, "network.id"),
                        .brokers = mt_config_get(s.cfg, "brokers"),
                        .props = mt_config_kafka_props(s.cfg),
                        .group_id = group ? group : default_group, /* as mt_service_run_stage names it */
                        .key = &s.key,
                        .ledger_conf = &lconf,
                        .spill_dir = mt_config_get(s.cfg, "ledger.spill.dir"),
                        .gov_pk = s.gov_pk};
    mt_stage_ctx_topics(&ctx, mt_config_get(s.cfg, "topic.prefix"));
    const char *inputs[] = {"events.attested", "rejected", "registry", NULL};
    mt_stage_ops ops = {mt_aggregate_process,     mt_aggregate_txn_begin, mt_aggregate_txn_committed,
                        mt_aggregate_txn_aborted, mt_aggregate_assigned,  mt_aggregate_offset_floor,
                        mt_aggregate_before_commit};
    rc = mt_service_run_stage(&s, "aggregate", inputs, 1, &ops, &ctx);
    mt_log_info("stopped: journal at %llu entries; this run: %llu accepted, %llu rejected, %llu duplicates, %zu parked",
                (unsigned long long)(ctx.ledger ? mt_ledger_next_index(ctx.ledger) : 0), (unsigned long long)ctx.passed,
                (unsigned long long)ctx.rejected, (unsigned long long)ctx.duplicates,
                ctx.ledger ? mt_ledger_parked(ctx.ledger) : 0);
    mt_ledger_free(ctx.ledger);
    mt_map_free(ctx.skip, NULL);
    mt_map_free(ctx.receipt_topics, NULL);
    mt_service_release(&s);
    return rc;
}
