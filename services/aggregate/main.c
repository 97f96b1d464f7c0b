/* mintrace-aggregate — the single writer of the journal: events.attested + rejected -> ledger.
 * All instances share one transactional id: the one that gets the attested partition fences
 * the others (init_transactions), reads the ledger's tail and goes on from there; entries
 * and input offsets commit in one Kafka transaction, so indexes stay gap-free and unique. */
#include "log.h"
#include "service.h"
#include "stages.h"

static const mt_option options[] = {MT_STAGE_OPTIONS};

int main(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace-aggregate", "[options]", options,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    mt_stage_ctx ctx = {.reg = s.reg,
                        .network_id = mt_config_get(s.cfg, "network.id"),
                        .brokers = mt_config_get(s.cfg, "brokers"),
                        .props = mt_config_kafka_props(s.cfg)};
    mt_stage_ctx_topics(&ctx, mt_config_get(s.cfg, "topic.prefix"));
    const char *inputs[] = {"events.attested", "rejected", NULL};
    mt_stage_ops ops = {mt_aggregate_process, mt_stage_txn_begin, mt_stage_txn_committed, mt_stage_txn_aborted,
                        mt_aggregate_assigned};
    rc = mt_service_run_stage(&s, "aggregate", inputs, 1, &ops, &ctx);
    mt_log_info("stopped: journal at %llu entries; this run journaled %llu events and %llu rejections",
                (unsigned long long)ctx.next_index, (unsigned long long)ctx.passed, (unsigned long long)ctx.rejected);
    mt_service_release(&s);
    return rc;
}
