/* mintrace-comply — judges batches by a policy: provenance + ledger -> findings (PASS or FAIL per
 * batch and rule). Every input's findings and its offset commit in one Kafka transaction, so
 * each input is judged exactly once in what read_committed consumers see; a batch is judged
 * again whenever its provenance record changes. The rules are in services/lib/comply.c, the
 * policy language in docs/compliance.md. The policy is loaded whole before anything else: an
 * error in it stops the program at start-up with the file and line. */
#include <stdlib.h>
#include <string.h>

#include "comply.h"
#include "log.h"
#include "policy.h"
#include "service.h"

static const mt_option options[] = {
    {"policy", 'p', 1, "policy.file", "the policy file (JSON, schemas/policy.schema.json)"},
    /* MT_STAGE_OPTIONS without the registry: nothing here needs it (docs/compliance.md) */
    {"group", 'G', 1, "group.id", "consumer group (default <topic prefix>comply)"},
    {"idle-exit", 0, 1, "idle.exit.ms", "exit after this many ms without input (tests, demo)"},
    {0},
};

typedef struct comply {
    mt_policy policy;
    mt_comply_docs *docs; /* documents rules: the lineage state, which follows commits */
    int has_docs;
    const char *brokers, *group_id;
    const char *const *props;
    char t_provenance[160], t_ledger[160], t_findings[160];
    mt_outbox *ob; /* where on_finding puts findings during one process() */
    int failed;
    uint64_t pass, fail, pending_pass, pending_fail, skipped;
} comply;

static void on_finding(void *arg, const mt_finding *f) {
    comply *c = arg;
    uint8_t *val;
    size_t vlen;
    char *key;
    if (!c->ob) return; /* replaying the ledger at assignment: state only */
    if (mt_finding_pack(&c->policy, f, &val, &vlen, &key) ||
        mt_outbox_add(c->ob, c->t_findings, key, strlen(key), val, vlen)) {
        c->failed = 1;
        return;
    }
    free(key);
    free(val);
    if (f->pass)
        c->pending_pass++;
    else
        c->pending_fail++;
}

static mt_stage_result process(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob) {
    comply *c = opaque;
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    c->ob = ob;
    c->failed = 0;
    if (strcmp(topic, c->t_ledger) == 0) {
        if (c->has_docs && mt_comply_docs_entry(c->docs, rkm->payload, rkm->len, on_finding, c) < 0) {
            mt_log_error("comply: %s @%lld: not a ledger entry, or out of memory", topic, (long long)rkm->offset);
            c->failed = 1;
        }
    } else if (rkm->payload) { /* a tombstone has no figures to judge */
        Mintrace__V1__ProvenanceRecord *rec = mintrace__v1__provenance_record__unpack(NULL, rkm->len, rkm->payload);
        if (rec) {
            mt_comply_record(&c->policy, rec, on_finding, c);
            mintrace__v1__provenance_record__free_unpacked(rec, NULL);
        } else { /* only the aggregator writes there: stop rather than judge around a gap */
            mt_log_error("comply: %s [%d] @%lld is not a ProvenanceRecord", topic, (int)rkm->partition,
                         (long long)rkm->offset);
            c->failed = 1;
        }
    }
    c->ob = NULL;
    return c->failed ? MT_STAGE_FATAL : MT_STAGE_OK;
}

static void txn_begin(void *opaque) {
    comply *c = opaque;
    c->pending_pass = c->pending_fail = 0;
    mt_comply_docs_begin(c->docs);
}

static void txn_committed(void *opaque) {
    comply *c = opaque;
    c->pass += c->pending_pass;
    c->fail += c->pending_fail;
    c->pending_pass = c->pending_fail = 0;
    mt_comply_docs_commit(c->docs);
}

static void txn_aborted(void *opaque) {
    comply *c = opaque;
    c->pending_pass = c->pending_fail = 0;
    mt_comply_docs_abort(c->docs);
}

typedef struct replay {
    comply *c;
    int64_t end; /* the group's committed offset: what lies below was judged already */
    uint64_t entries;
    int failed;
} replay;

static int replay_one(void *arg, const rd_kafka_message_t *rkm) {
    replay *r = arg;
    if (rkm->offset >= r->end) return 1;
    if (mt_comply_docs_entry(r->c->docs, rkm->payload, rkm->len, on_finding, r->c) < 0) {
        r->failed = 1;
        return 1;
    }
    r->entries++;
    return 0;
}

/* When given the ledger partition: the documents state is rebuilt from the journal's first
 * entry up to the group's committed offset (entries above it come through the consumer). */
static int assigned(void *opaque, rd_kafka_t *producer, const rd_kafka_topic_partition_list_t *parts) {
    comply *c = opaque;
    char err[512];
    (void)producer;
    if (!c->has_docs || !rd_kafka_topic_partition_list_find(parts, c->t_ledger, 0)) return 0;
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(committed, c->t_ledger, 0);
    rd_kafka_conf_t *conf = mt_kafka_conf_new(c->brokers, c->props, err, sizeof(err));
    rd_kafka_t *rk = conf ? mt_kafka_consumer_new(conf, c->group_id, err, sizeof(err)) : NULL;
    rd_kafka_resp_err_t kerr = rk ? rd_kafka_committed(rk, committed, 30000) : RD_KAFKA_RESP_ERR__FAIL;
    if (rk) rd_kafka_destroy(rk);
    int64_t end = committed->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(committed);
    if (kerr) {
        mt_log_error("comply: cannot read the committed offsets: %s", rk ? rd_kafka_err2str(kerr) : err);
        return -1;
    }
    mt_comply_docs_free(c->docs);
    if (!(c->docs = mt_comply_docs_new(&c->policy))) return -1;
    replay r = {.c = c, .end = end};
    if (end > 0 && mt_kafka_read_topic(c->brokers, c->props, c->t_ledger, RD_KAFKA_OFFSET_BEGINNING, -1, 1, NULL,
                                       replay_one, &r, err, sizeof(err))) {
        mt_log_error("comply: cannot read %s: %s", c->t_ledger, err);
        return -1;
    }
    if (r.failed) {
        mt_log_error("comply: %s holds an entry that is not a ledger entry", c->t_ledger);
        return -1;
    }
    mt_comply_docs_commit(c->docs);
    mt_log_info("comply: documents state rebuilt from %llu journal entries", (unsigned long long)r.entries);
    return 0;
}

int main(int argc, char **argv) {
    mt_service s;
    char err[1024], group[200];
    int rc = mt_service_init(&s, "mintrace-comply", "-p POLICY.json [options]", options, MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    comply c;
    memset(&c, 0, sizeof(c));
    const char *path = mt_config_get(s.cfg, "policy.file");
    if (!path) {
        mt_log_error("no policy: give -p FILE, MINTRACE_POLICY_FILE or policy.file= in a config file");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    if (mt_policy_load(&c.policy, path, err, sizeof(err))) {
        mt_log_error("policy not loaded, not starting: %s", err);
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    for (size_t i = 0; i < c.policy.n_rules; i++) c.has_docs |= c.policy.rules[i].kind == MT_RULE_DOCUMENTS;
    if (!(c.docs = mt_comply_docs_new(&c.policy))) {
        mt_log_error("out of memory");
        mt_policy_release(&c.policy);
        mt_service_release(&s);
        return MT_EXIT_FAIL;
    }
    mt_log_info("policy %s (%s): %zu rule(s)", c.policy.id, path, c.policy.n_rules);
    mt_service_topic(&s, "provenance", c.t_provenance, sizeof(c.t_provenance));
    mt_service_topic(&s, "ledger", c.t_ledger, sizeof(c.t_ledger));
    mt_service_topic(&s, "findings", c.t_findings, sizeof(c.t_findings));
    snprintf(group, sizeof(group), "%scomply", mt_config_get(s.cfg, "topic.prefix"));
    c.brokers = mt_config_get(s.cfg, "brokers");
    c.props = mt_config_kafka_props(s.cfg);
    c.group_id = mt_config_get(s.cfg, "group.id") ? mt_config_get(s.cfg, "group.id") : group; /* as run_stage names it */
    /* the ledger only when a rule needs it: documents are in the events, not in the records */
    const char *inputs[] = {"provenance", "ledger", NULL};
    if (!c.has_docs) inputs[1] = NULL;
    mt_stage_ops ops = {process, txn_begin, txn_committed, txn_aborted, assigned, NULL, NULL};
    rc = mt_service_run_stage(&s, "comply", inputs, 0, &ops, &c);
    mt_log_info("stopped: %llu PASS and %llu FAIL findings written", (unsigned long long)c.pass,
                (unsigned long long)c.fail);
    mt_comply_docs_free(c.docs);
    mt_policy_release(&c.policy);
    mt_service_release(&s);
    return rc;
}
