/* cmd_journal — mintrace journal: the ledger for people, one line per entry and a tally. */
#include <stdio.h>

#include "commands.h"
#include "journal_text.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

static int on_entry(void *arg, const rd_kafka_message_t *rkm) {
    mt_journal_describe(stdout, rkm->payload, rkm->len, arg);
    return 0;
}

int cmd_journal(int argc, char **argv) {
    static const mt_option opts[] = {
        {"follow", 'F', 0, "journal.follow", "keep reading new entries (else stop at the end)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace journal", "[-F]   (reads the ledger topic)", opts,
                             MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    char topic[200], err[512];
    mt_journal_tally t = {0};
    rc = MT_EXIT_OK;
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "ledger", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1,
                            !mt_config_get_bool(s.cfg, "journal.follow"), &mt_run, on_entry, &t, err, sizeof(err))) {
        mt_log_error("%s", err);
        rc = MT_EXIT_FAIL;
    }
    mt_journal_tally_print(stdout, &t);
    if (t.gaps || t.undecodable) rc = MT_EXIT_FAIL;
    mt_service_release(&s);
    return rc;
}
