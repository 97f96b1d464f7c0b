/* cmd_topics — mintrace topics create: every topic of the topics file, idempotently. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kafka.h"
#include "log.h"
#include "service.h"
#include "topics.h"

int cmd_topics(int argc, char **argv) {
    static const mt_option opts[] = {
        {"topics", 0, 1, "topics.file", "topic definitions (default schemas/topics.json)"},
        {"replication-factor", 0, 1, "replication.factor", "replicas of each topic (default 1)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace topics", "create [options]", opts, MT_NEED_BROKERS, argc,
                             argv);
    if (rc >= 0) return rc;
    char err[512];
    long rf = 1;
    mt_topics t = {0};
    rd_kafka_t *rk = NULL;
    const char *path = mt_config_get(s.cfg, "topics.file");
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1 || strcmp(argv[s.argi], "create")) {
        mt_log_error("usage: mintrace topics create (try --help)");
        goto out;
    }
    if (mt_config_get_int(s.cfg, "replication.factor", &rf, err, sizeof(err)) ||
        mt_topics_load(&t, path ? path : mt_topics_default_path(), mt_config_get(s.cfg, "topic.prefix"), err,
                       sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    rc = MT_EXIT_FAIL;
    rd_kafka_conf_t *conf = mt_kafka_conf_new(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg), err,
                                              sizeof(err));
    if (!conf || !(rk = mt_kafka_producer_new(conf, NULL, -1, err, sizeof(err))) ||
        mt_topics_create(rk, &t, (int)rf, 30000, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    for (size_t i = 0; i < t.cnt; i++) printf("%s\t%d\t%s\n", t.v[i].name, t.v[i].partitions, t.v[i].cleanup_policy);
    rc = MT_EXIT_OK;
out:
    if (rk) rd_kafka_destroy(rk);
    mt_topics_release(&t);
    mt_service_release(&s);
    return rc;
}
