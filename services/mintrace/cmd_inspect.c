/* cmd_inspect — mintrace inspect: any mintrace topic (or file) as JSON lines on stdout, like kcat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crypto.h"
#include "inspect.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

static const mt_option opts[] = {
    {"offset", 'o', 1, "inspect.offset", "beginning (default), end, or an offset"},
    {"count", 'n', 1, "inspect.count", "stop after this many messages"},
    {"exit", 'e', 0, "inspect.exit", "stop at the end of every partition (else wait for more)"},
    {"shallow", 0, 0, "inspect.shallow", "do not open nested envelopes"},
    {"type", 't', 1, "inspect.type", "message type, for --file or a topic of another name"},
    {"file", 0, 1, "inspect.file", "decode this file (one serialized message) instead of a topic"},
    {"registry", 'r', 1, "registry.file", "verify every signature with this registry..."},
    {"governance-key", 'g', 1, "governance.key", "...signed by this governance public key"},
    {0},
};

/* A Kafka key as JSON: text when it is printable, else hex. */
static json_t *key_json(const void *key, size_t len) {
    const unsigned char *k = key;
    int text = len > 0;
    for (size_t i = 0; i < len && text; i++) text = k[i] >= 0x20 && k[i] < 0x7f;
    if (!key) return json_null();
    if (text) return json_stringn(key, len);
    char *hex = malloc(2 * len + 1);
    mt_hex_encode(key, len, hex);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

static int print_message(const char *type, const rd_kafka_message_t *rkm, int deep, const mt_registry *reg) {
    char err[256];
    json_t *line = json_object();
    json_object_set_new(line, "topic", json_string(rd_kafka_topic_name(rkm->rkt)));
    json_object_set_new(line, "partition", json_integer(rkm->partition));
    json_object_set_new(line, "offset", json_integer(rkm->offset));
    json_object_set_new(line, "key", key_json(rkm->key, rkm->key_len));
    json_t *v = rkm->payload ? mt_inspect_decode(type, rkm->payload, rkm->len, deep, reg, err, sizeof(err)) : NULL;
    if (v)
        json_object_set_new(line, "value", v);
    else if (rkm->payload) /* undecodable: say so and keep going, the line names where it is */
        json_object_set_new(line, "error", json_string(err));
    char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!s) return -1;
    puts(s);
    free(s);
    return v ? 0 : 1;
}

struct printer {
    const char *type;
    int deep;
    const mt_registry *reg;
    int bad;
};

static int print_one(void *arg, const rd_kafka_message_t *rkm) {
    struct printer *pr = arg;
    pr->bad += print_message(pr->type, rkm, pr->deep, pr->reg) != 0;
    return 0;
}

static int inspect_file(const char *path, const char *type, int deep, const mt_registry *reg) {
    size_t len;
    char err[256], *buf = mt_read_file(path, &len);
    if (!buf) {
        mt_log_error("%s: cannot read", path);
        return MT_EXIT_FAIL;
    }
    json_t *v = mt_inspect_decode(type, buf, len, deep, reg, err, sizeof(err));
    free(buf);
    if (!v) {
        mt_log_error("%s: %s", path, err);
        return MT_EXIT_FAIL;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(v);
    return MT_EXIT_OK;
}

int cmd_inspect(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace inspect",
                             "[options] TOPIC   (a short name like ledger, or --file FILE -t TYPE)",
                             opts, 0, argc, argv);
    if (rc >= 0) return rc;
    rc = MT_EXIT_USAGE;
    int deep = !mt_config_get_bool(s.cfg, "inspect.shallow");
    const char *file = mt_config_get(s.cfg, "inspect.file"), *type = mt_config_get(s.cfg, "inspect.type");
    const char *topic_arg = s.argi < argc ? argv[s.argi] : NULL;
    char topic[200], err[512];
    long count = -1, offset = RD_KAFKA_OFFSET_BEGINNING;

    if (mt_config_get(s.cfg, "registry.file")) { /* optional here: only for --registry */
        unsigned char gov[MT_PK_LEN];
        const char *g = mt_config_get(s.cfg, "governance.key");
        if (!g || mt_pubkey_load(gov, g, err, sizeof(err))) {
            mt_log_error("%s", g ? err : "--registry needs --governance-key");
            goto out;
        }
        s.reg = mt_registry_load(mt_config_get(s.cfg, "registry.file"), gov, NULL, err, sizeof(err));
        if (!s.reg) {
            mt_log_error("%s", err);
            goto out;
        }
    }
    if (file) {
        if (!type) type = mt_descriptor_by_name("mintrace.v1.Envelope")->name;
        rc = inspect_file(file, type, deep, s.reg);
        goto out;
    }
    if (!topic_arg || s.argi != argc - 1) {
        mt_log_error("give one TOPIC (try --help)");
        goto out;
    }
    if (!type) type = mt_inspect_type_of_topic(topic_arg);
    if (!type) {
        mt_log_error("%s is not a mintrace topic: give its message type with -t", topic_arg);
        goto out;
    }
    if (!mt_config_get(s.cfg, "brokers")) {
        mt_log_error("no brokers: give -b host:port or MINTRACE_BROKERS");
        goto out;
    }
    mt_service_topic(&s, topic_arg, topic, sizeof(topic));
    const char *o = mt_config_get(s.cfg, "inspect.offset");
    if (o && !strcmp(o, "end"))
        offset = RD_KAFKA_OFFSET_END;
    else if (o && strcmp(o, "beginning") && mt_config_get_int(s.cfg, "inspect.offset", &offset, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (mt_config_get(s.cfg, "inspect.count") && mt_config_get_int(s.cfg, "inspect.count", &count, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }

    struct printer pr = {type, deep, s.reg, 0};
    rc = MT_EXIT_FAIL;
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg), topic, offset, count,
                            mt_config_get_bool(s.cfg, "inspect.exit"), &mt_run, print_one, &pr, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    fflush(stdout);
    rc = pr.bad ? MT_EXIT_FAIL : MT_EXIT_OK;
out:
    mt_service_release(&s);
    return rc;
}
