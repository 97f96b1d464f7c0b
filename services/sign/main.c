/* mintrace-sign — the notary: events.validated -> events.attested, with its time and key.
 * It holds the notary key and sees only what validate passed (separation of duties; easy to
 * put behind an HSM later); each input is decided exactly once (one Kafka transaction). */
#include "log.h"
#include "service.h"
#include "stages.h"

static const mt_option options[] = {
    {"key", 'k', 1, "key.file", "the notary's secret key file (mode 0600)"},
    MT_STAGE_OPTIONS,
};

int main(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace-sign", "-k NOTARY_KEY [options]", options,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY | MT_FOLLOW_REGISTRY | MT_NEED_KEY, argc, argv);
    if (rc >= 0) return rc;
    mt_stage_ctx ctx = {.reg = s.reg, .key = &s.key, .network_id = mt_config_get(s.cfg, "network.id")};
    mt_stage_ctx_topics(&ctx, mt_config_get(s.cfg, "topic.prefix"));
    ctx.follow = s.follow; /* newer registry versions, as they arrive */
    const char *inputs[] = {"events.validated", NULL};
    mt_stage_ops ops = {.process = mt_sign_process,
                        .txn_begin = mt_stage_txn_begin,
                        .txn_committed = mt_stage_txn_committed,
                        .txn_aborted = mt_stage_txn_aborted,
                        .idle = mt_stage_follow_registry};
    rc = mt_service_run_stage(&s, "sign", inputs, 0, &ops, &ctx);
    mt_log_info("stopped: %llu attested, %llu rejected", (unsigned long long)ctx.passed, (unsigned long long)ctx.rejected);
    mt_service_release(&s);
    return rc;
}
