/* service — what every mintrace program does first: settings, logs, signals, registry, keys. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "registry_follow.h"

volatile sig_atomic_t mt_run = 1;

static void on_signal(int sig) {
    (void)sig;
    mt_run = 0;
}

int mt_service_init(mt_service *s, const char *prog, const char *usage, const mt_option *opts, int need,
                    int argc, char **argv) {
    char err[512] = "";
    memset(s, 0, sizeof(*s));
    s->prog = prog;
    s->cfg = mt_config_new();
    if (!s->cfg) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return MT_EXIT_FAIL;
    }
    int rc = mt_config_parse(s->cfg, prog, usage, opts, argc, argv, &s->argi, err, sizeof(err));
    if (rc == 1) return MT_EXIT_OK;
    if (rc < 0) {
        fprintf(stderr, "%s: %s (try --help)\n", prog, err);
        return MT_EXIT_USAGE;
    }
    enum mt_log_level lvl = MT_LOG_INFO;
    mt_log_level_parse(mt_config_get(s->cfg, "log.level"), &lvl);
    mt_log_init(prog, mt_config_get(s->cfg, "log.format"), lvl);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if ((need & MT_NEED_BROKERS) && !mt_config_get(s->cfg, "brokers")) {
        mt_log_error("no brokers: give -b host:port, MINTRACE_BROKERS or brokers= in a config file");
        return MT_EXIT_USAGE;
    }
    if ((need & MT_NEED_REGISTRY) && mt_service_load_registry(s)) return MT_EXIT_USAGE;
    if (need & MT_FOLLOW_REGISTRY) { /* newer registry versions take effect as they arrive */
        char topic[200];
        s->follow = mt_registry_follower_new(mt_config_get(s->cfg, "brokers"), mt_config_kafka_props(s->cfg),
                                             mt_service_topic(s, "registry", topic, sizeof(topic)), s->gov_pk,
                                             mt_config_get(s->cfg, "network.id"), s->reg, err, sizeof(err));
        if (!s->follow) {
            mt_log_error("%s", err);
            return MT_EXIT_FAIL;
        }
    }
    if (need & MT_NEED_KEY) {
        const char *path = mt_config_get(s->cfg, "key.file");
        if (!path) {
            mt_log_error("need a signing key: -k FILE, MINTRACE_KEY_FILE or key.file= in a config file");
            return MT_EXIT_USAGE;
        }
        if (mt_keypair_load(&s->key, path, err, sizeof(err))) {
            mt_log_error("%s", err);
            return MT_EXIT_USAGE;
        }
    }
    return -1;
}

int mt_service_load_registry(mt_service *s) {
    char err[512];
    const char *path = mt_config_get(s->cfg, "registry.file");
    const char *gov = mt_config_get(s->cfg, "governance.key");
    if (!path || !gov) {
        mt_log_error("need registry.file and governance.key (--registry, --governance-key, or their "
                     "MINTRACE_ variables)");
        return -1;
    }
    if (mt_pubkey_load(s->gov_pk, gov, err, sizeof(err))) {
        mt_log_error("%s", err);
        return -1;
    }
    s->reg = mt_registry_load(path, s->gov_pk, mt_config_get(s->cfg, "network.id"), err, sizeof(err));
    if (!s->reg) {
        mt_log_error("%s", err);
        return -1;
    }
    return 0;
}

const char *mt_service_topic(const mt_service *s, const char *short_name, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", mt_config_get(s->cfg, "topic.prefix"), short_name);
    return buf;
}

int mt_service_run_stage(mt_service *s, const char *name, const char *const *inputs, int shared_txid,
                         const mt_stage_ops *ops, void *opaque) {
    char err[512], group[128], txid[256], host[64] = "host";
    char topics[8][160];
    const char *in[9] = {0};
    long idle = 0;
    if (mt_config_get(s->cfg, "idle.exit.ms") && mt_config_get_int(s->cfg, "idle.exit.ms", &idle, err, sizeof(err))) {
        mt_log_error("%s", err);
        return MT_EXIT_USAGE;
    }
    for (int i = 0; inputs[i] && i < 8; i++) in[i] = mt_service_topic(s, inputs[i], topics[i], sizeof(topics[i]));
    /* Kafka identities carry the topic prefix, so networks sharing a cluster never fence or
     * rebalance each other: "mintrace.validate", "mintrace.aggregate". */
    const char *prefix = mt_config_get(s->cfg, "topic.prefix");
    snprintf(group, sizeof(group), "%s%s", prefix, name);
    gethostname(host, sizeof(host) - 1);
    if (shared_txid)
        snprintf(txid, sizeof(txid), "%s%s", prefix, name);
    else
        snprintf(txid, sizeof(txid), "%s%s-%s-%d", prefix, name, host, (int)getpid());
    const char *g = mt_config_get(s->cfg, "group.id"), *t = mt_config_get(s->cfg, "transactional.id");
    mt_stage_conf sc = {
        .name = name,
        .brokers = mt_config_get(s->cfg, "brokers"),
        .props = mt_config_kafka_props(s->cfg),
        .group_id = g ? g : group,
        .transactional_id = t ? t : txid,
        .input_topics = in,
        .run = &mt_run,
        .idle_exit_ms = (int)idle,
    };
    mt_log_info("%s: reading %s as group %s, transactional id %s", name, in[0], sc.group_id, sc.transactional_id);
    if (mt_stage_run(&sc, ops, opaque, err, sizeof(err))) {
        mt_log_error("%s", err);
        return MT_EXIT_FAIL;
    }
    return MT_EXIT_OK;
}

void mt_service_release(mt_service *s) {
    mt_registry_follower_free(s->follow);
    mt_registry_destroy(s->reg);
    mt_keypair_wipe(&s->key);
    mt_config_destroy(s->cfg);
    memset(s, 0, sizeof(*s));
}

char *mt_read_file(const char *path, size_t *len) {
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!fp) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + *len, 1, cap - *len, fp);
        *len += n;
        if (n == 0) break;
    }
    if (buf && ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    if (fp != stdin) fclose(fp);
    if (buf) buf[*len] = '\0';
    return buf;
}
