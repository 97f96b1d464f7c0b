/* topics.c - the topics file (schemas/topics.json): load it, look topics up, create them. */
#include "topics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define TOPIC_NAME_MAX 249 /* Kafka's limit */

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) {
    va_list ap;

    if (!errstr || errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

const char *mt_topics_default_path(void) {
    const char *env = getenv("MINTRACE_TOPICS");

    if (env && *env)
        return env;
    if (access("schemas/topics.json", F_OK) == 0)
        return "schemas/topics.json";
    return MT_DATADIR "/topics.json";
}

/* 1 if every character of s is one Kafka allows in a topic name. */
static int name_chars_ok(const char *s) {
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return 0;
    }
    return 1;
}

static int cleanup_policy_ok(const char *s) {
    return !strcmp(s, "delete") || !strcmp(s, "compact") || !strcmp(s, "compact,delete");
}

/* Fills tp from entry e (topics[i] of the file at path). On error -1 is returned and tp may
 * hold allocations the caller frees. */
static int topic_parse(mt_topic *tp, const json_t *e, const char *path, size_t i,
                       const char *prefix, char *errstr, size_t errstr_size) {
    const json_t *name, *partitions, *policy, *retention;
    size_t prefix_len, name_len;
    json_int_t v;

    if (!json_is_object(e)) {
        set_err(errstr, errstr_size, "%s: topics[%zu]: expected an object", path, i);
        return -1;
    }

    name = json_object_get(e, "name");
    if (!json_is_string(name) || json_string_length(name) == 0) {
        set_err(errstr, errstr_size, "%s: topics[%zu]: name: expected a non-empty string",
                path, i);
        return -1;
    }
    prefix_len = strlen(prefix);
    name_len = json_string_length(name);
    if (!(tp->name = malloc(prefix_len + name_len + 1))) {
        set_err(errstr, errstr_size, "%s: out of memory", path);
        return -1;
    }
    memcpy(tp->name, prefix, prefix_len);
    memcpy(tp->name + prefix_len, json_string_value(name), name_len + 1);
    if (!name_chars_ok(tp->name) || prefix_len + name_len > TOPIC_NAME_MAX ||
        !strcmp(tp->name, ".") || !strcmp(tp->name, "..")) {
        set_err(errstr, errstr_size,
                "%s: topics[%zu]: name: \"%s\" is not a valid topic name "
                "(at most %d characters of [a-zA-Z0-9._-], prefix included)",
                path, i, json_string_value(name), TOPIC_NAME_MAX);
        return -1;
    }

    partitions = json_object_get(e, "partitions");
    if (!json_is_integer(partitions)) {
        set_err(errstr, errstr_size,
                "%s: topics[%zu] \"%s\": partitions: expected an integer >= 1",
                path, i, json_string_value(name));
        return -1;
    }
    v = json_integer_value(partitions);
    if (v < 1 || v > INT32_MAX) {
        set_err(errstr, errstr_size,
                "%s: topics[%zu] \"%s\": partitions: must be from 1 to %d, "
                "got %" JSON_INTEGER_FORMAT,
                path, i, json_string_value(name), INT32_MAX, v);
        return -1;
    }
    tp->partitions = (int)v;

    policy = json_object_get(e, "cleanup_policy");
    if (!json_is_string(policy) || !cleanup_policy_ok(json_string_value(policy))) {
        set_err(errstr, errstr_size,
                "%s: topics[%zu] \"%s\": cleanup_policy: expected \"delete\", \"compact\" or "
                "\"compact,delete\"%s%s%s",
                path, i, json_string_value(name),
                json_is_string(policy) ? ", got \"" : "",
                json_is_string(policy) ? json_string_value(policy) : "",
                json_is_string(policy) ? "\"" : "");
        return -1;
    }
    if (!(tp->cleanup_policy = strdup(json_string_value(policy)))) {
        set_err(errstr, errstr_size, "%s: out of memory", path);
        return -1;
    }

    retention = json_object_get(e, "retention_ms");
    if (!json_is_integer(retention) || json_integer_value(retention) < -1) {
        set_err(errstr, errstr_size,
                "%s: topics[%zu] \"%s\": retention_ms: expected an integer >= -1 "
                "(-1: keep forever)",
                path, i, json_string_value(name));
        return -1;
    }
    tp->retention_ms = (int64_t)json_integer_value(retention);
    return 0;
}

int mt_topics_load(mt_topics *t, const char *path, const char *prefix,
                   char *errstr, size_t errstr_size) {
    FILE *fp = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    const json_t *arr;
    size_t i, j, cnt;
    int ret = -1;

    memset(t, 0, sizeof(*t));
    if (!prefix)
        prefix = "";
    if (!name_chars_ok(prefix)) {
        set_err(errstr, errstr_size, "topic prefix \"%s\": only [a-zA-Z0-9._-] allowed", prefix);
        goto cleanup;
    }

    if (!(fp = fopen(path, "r"))) {
        set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!(root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr))) {
        if (jerr.line > 0)
            set_err(errstr, errstr_size, "%s:%d:%d: %s",
                    path, jerr.line, jerr.column, jerr.text);
        else
            set_err(errstr, errstr_size, "%s: %s", path, jerr.text);
        goto cleanup;
    }

    arr = json_object_get(root, "topics");
    if (!json_is_array(arr)) {
        set_err(errstr, errstr_size, "%s: expected an object with a \"topics\" array", path);
        goto cleanup;
    }
    if ((cnt = json_array_size(arr)) == 0) {
        set_err(errstr, errstr_size, "%s: \"topics\" is empty", path);
        goto cleanup;
    }

    t->v = calloc(cnt, sizeof(*t->v));
    t->prefix = strdup(prefix);
    if (!t->v || !t->prefix) {
        set_err(errstr, errstr_size, "%s: out of memory", path);
        goto cleanup;
    }
    t->cnt = cnt; /* zeroed entries release fine if parsing stops early */

    for (i = 0; i < cnt; i++) {
        if (topic_parse(&t->v[i], json_array_get(arr, i), path, i, prefix,
                        errstr, errstr_size) == -1)
            goto cleanup;
        for (j = 0; j < i; j++) {
            if (!strcmp(t->v[j].name, t->v[i].name)) {
                set_err(errstr, errstr_size,
                        "%s: topics[%zu]: name: \"%s\" is already defined by topics[%zu]",
                        path, i, t->v[i].name, j);
                goto cleanup;
            }
        }
    }
    ret = 0;

cleanup:
    json_decref(root);
    if (fp)
        fclose(fp);
    if (ret == -1)
        mt_topics_release(t);
    return ret;
}

const mt_topic *mt_topics_find(const mt_topics *t, const char *short_name) {
    size_t i, prefix_len;

    if (!t || !short_name)
        return NULL;
    prefix_len = t->prefix ? strlen(t->prefix) : 0;
    for (i = 0; i < t->cnt; i++) {
        if (!strncmp(t->v[i].name, t->prefix ? t->prefix : "", prefix_len) &&
            !strcmp(t->v[i].name + prefix_len, short_name))
            return &t->v[i];
    }
    return NULL;
}

void mt_topics_release(mt_topics *t) {
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->cnt; i++) {
        free(t->v[i].name);
        free(t->v[i].cleanup_policy);
    }
    free(t->v);
    free(t->prefix);
    memset(t, 0, sizeof(*t));
}

static const mt_topic *find_full(const mt_topics *t, const char *name) {
    size_t i;

    for (i = 0; i < t->cnt; i++) {
        if (!strcmp(t->v[i].name, name))
            return &t->v[i];
    }
    return NULL;
}

/* Checks, through metadata, that every topic CreateTopics reported as already existing has
 * the partition count the topics file asks for. */
static int check_existing(rd_kafka_t *rk, const mt_topics *t,
                          const rd_kafka_topic_result_t **results, size_t result_cnt,
                          int timeout_ms, char *errstr, size_t errstr_size) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    size_t i;
    int j, ret = -1;

    err = rd_kafka_metadata(rk, 1 /* all topics */, NULL, &md, timeout_ms);
    if (err) {
        set_err(errstr, errstr_size, "metadata of the existing topics: %s", rd_kafka_err2str(err));
        goto cleanup;
    }

    for (i = 0; i < result_cnt; i++) {
        const char *name = rd_kafka_topic_result_name(results[i]);
        const mt_topic *tp = find_full(t, name);
        const struct rd_kafka_metadata_topic *mdt = NULL;

        if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            continue;
        for (j = 0; j < md->topic_cnt; j++) {
            if (!strcmp(md->topics[j].topic, name)) {
                mdt = &md->topics[j];
                break;
            }
        }
        if (!tp || !mdt || mdt->err) {
            set_err(errstr, errstr_size,
                    "topic %s: the broker says it exists but its metadata is missing (%s)",
                    name, mdt ? rd_kafka_err2str(mdt->err) : "not listed");
            goto cleanup;
        }
        if (mdt->partition_cnt != tp->partitions) {
            set_err(errstr, errstr_size,
                    "topic %s already exists with %d partitions, the topics file says %d",
                    name, mdt->partition_cnt, tp->partitions);
            goto cleanup;
        }
    }
    ret = 0;

cleanup:
    if (md)
        rd_kafka_metadata_destroy(md);
    return ret;
}

int mt_topics_create(rd_kafka_t *rk, const mt_topics *t, int replication_factor,
                     int timeout_ms, char *errstr, size_t errstr_size) {
    rd_kafka_NewTopic_t **newt = NULL;
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *rkev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **results;
    size_t i, result_cnt;
    int exist_cnt = 0, ret = -1;
    char ebuf[512], retention[32];

    if (t->cnt == 0)
        return 0;

    if (!(newt = calloc(t->cnt, sizeof(*newt)))) {
        set_err(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    for (i = 0; i < t->cnt; i++) {
        const mt_topic *tp = &t->v[i];

        newt[i] = rd_kafka_NewTopic_new(tp->name, tp->partitions, replication_factor,
                                        ebuf, sizeof(ebuf));
        if (!newt[i]) {
            set_err(errstr, errstr_size, "topic %s: %s", tp->name, ebuf);
            goto cleanup;
        }
        snprintf(retention, sizeof(retention), "%" PRId64, tp->retention_ms);
        if (rd_kafka_NewTopic_set_config(newt[i], "cleanup.policy", tp->cleanup_policy) ||
            rd_kafka_NewTopic_set_config(newt[i], "retention.ms", retention)) {
            set_err(errstr, errstr_size, "topic %s: cannot set its configs", tp->name);
            goto cleanup;
        }
    }

    /* The whole request gets timeout_ms; the broker gets half of it to finish creating the
     * topics, so that "created" means the topics are usable when this returns. */
    options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (!options ||
        rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, ebuf, sizeof(ebuf)) ||
        rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms / 2, ebuf, sizeof(ebuf))) {
        set_err(errstr, errstr_size, "CreateTopics options: %s", options ? ebuf : "out of memory");
        goto cleanup;
    }

    queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, newt, t->cnt, options, queue);
    /* The admin API always delivers a result, a timeout at the latest. */
    rkev = rd_kafka_queue_poll(queue, -1);
    if (!rkev || rd_kafka_event_error(rkev)) {
        set_err(errstr, errstr_size, "CreateTopics: %s",
                rkev ? rd_kafka_event_error_string(rkev) : "no result");
        goto cleanup;
    }
    res = rd_kafka_event_CreateTopics_result(rkev);
    results = rd_kafka_CreateTopics_result_topics(res, &result_cnt);
    for (i = 0; i < result_cnt; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        const char *estr = rd_kafka_topic_result_error_string(results[i]);

        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            exist_cnt++;
        } else if (err) {
            set_err(errstr, errstr_size, "topic %s: %s",
                    rd_kafka_topic_result_name(results[i]),
                    estr ? estr : rd_kafka_err2str(err));
            goto cleanup;
        }
    }
    if (exist_cnt > 0 &&
        check_existing(rk, t, results, result_cnt, timeout_ms, errstr, errstr_size) == -1)
        goto cleanup;
    ret = 0;

cleanup:
    if (rkev)
        rd_kafka_event_destroy(rkev);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (options)
        rd_kafka_AdminOptions_destroy(options);
    if (newt) {
        for (i = 0; i < t->cnt; i++) {
            if (newt[i])
                rd_kafka_NewTopic_destroy(newt[i]);
        }
        free(newt);
    }
    return ret;
}

int mt_topics_create_mock(rd_kafka_mock_cluster_t *mc, const mt_topics *t,
                          char *errstr, size_t errstr_size) {
    size_t i;

    for (i = 0; i < t->cnt; i++) {
        rd_kafka_resp_err_t err =
                rd_kafka_mock_topic_create(mc, t->v[i].name, t->v[i].partitions, 1);

        if (err) {
            set_err(errstr, errstr_size, "topic %s on the mock cluster: %s",
                    t->v[i].name, rd_kafka_err2str(err));
            return -1;
        }
    }
    return 0;
}
