/* cmd_topics — mintrace topics create: every topic of the topics file, idempotently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "kafka.h"
#include "log.h"
#include "service.h"
#include "registry.h"
#include "topics.h"

/* A receipts topic per facility ("<prefix>receipts.<facility>", the settings of "receipts"), so
 * ACLs can give each facility its own receipts and nobody else's. */
static int add_receipt_topics(mt_service *s, mt_topics *t) {
    char err[512];
    unsigned char gov[MT_PK_LEN];
    const char *g = mt_config_get(s->cfg, "governance.key");
    if (!g || mt_pubkey_load(gov, g, err, sizeof(err))) {
        mt_log_error("%s", g ? err : "--registry needs --governance-key");
        return -1;
    }
    s->reg = mt_registry_load(mt_config_get(s->cfg, "registry.file"), gov, mt_config_get(s->cfg, "network.id"), err,
                              sizeof(err));
    const mt_topic *base = mt_topics_find(t, "receipts");
    if (!s->reg || !base) {
        mt_log_error("%s", s->reg ? "the topics file has no receipts topic" : err);
        return -1;
    }
    mt_topic proto = *base;
    const Mintrace__V1__Registry *r = mt_registry_snapshot(s->reg);
    for (size_t i = 0; i < r->n_facilities; i++) {
        const char *id = r->facilities[i]->facility_id;
        if (strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(id)) {
            mt_log_warn("facility %s: its id is not a legal topic name; it gets its receipts on %s", id, proto.name);
            continue;
        }
        mt_topic *nv = realloc(t->v, (t->cnt + 1) * sizeof(*nv));
        if (!nv) return -1;
        t->v = nv;
        mt_topic *n = &t->v[t->cnt];
        *n = proto;
        if (asprintf(&n->name, "%s.%s", proto.name, id) < 0 || !(n->cleanup_policy = strdup(proto.cleanup_policy)))
            return -1;
        t->cnt++;
    }
    return 0;
}

int cmd_topics(int argc, char **argv) {
    static const mt_option opts[] = {
        {"topics", 0, 1, "topics.file", "topic definitions (default schemas/topics.json)"},
        {"replication-factor", 0, 1, "replication.factor", "replicas of each topic (default 1)"},
        {"registry", 'r', 1, "registry.file", "also a receipts.<facility> topic for every facility of it"},
        {"governance-key", 'g', 1, "governance.key", "the governance public key the registry is signed by"},
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
    if (mt_config_get(s.cfg, "registry.file") && add_receipt_topics(&s, &t)) goto out;
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
