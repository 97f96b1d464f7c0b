/* mintrace-validate — checks facility signatures: events.submitted -> events.validated | rejected.
 * Stateless, so it scales out as a consumer group over the submitted partitions; each input is
 * decided exactly once (its output and its offset commit in one Kafka transaction). */
#include "log.h"
#include "service.h"
#include "stages.h"

static const mt_option options[] = {MT_STAGE_OPTIONS};

int main(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace-validate", "[options]", options,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY | MT_FOLLOW_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    mt_stage_ctx ctx = {.reg = s.reg, .network_id = mt_config_get(s.cfg, "network.id")};
    mt_stage_ctx_topics(&ctx, mt_config_get(s.cfg, "topic.prefix"));
    ctx.follow = s.follow; /* newer registry versions, as they arrive */
    const char *inputs[] = {"events.submitted", NULL};
    mt_stage_ops ops = {.process = mt_validate_process,
                        .txn_begin = mt_stage_txn_begin,
                        .txn_committed = mt_stage_txn_committed,
                        .txn_aborted = mt_stage_txn_aborted,
                        .idle = mt_stage_follow_registry};
    rc = mt_service_run_stage(&s, "validate", inputs, 0, &ops, &ctx);
    mt_log_info("stopped: %llu passed, %llu rejected", (unsigned long long)ctx.passed, (unsigned long long)ctx.rejected);
    mt_service_release(&s);
    return rc;
}
