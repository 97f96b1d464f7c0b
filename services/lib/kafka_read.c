/* kafka_read — reading topics outside a consumer group: a whole topic, or its last message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"

/* Reads [start, end-of-partition) with a read_committed consumer and keeps the last message. */
static int read_from(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t start, int timeout_ms,
                     void **val, size_t *len, int *found, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = start;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        snprintf(errstr, errstr_size, "%s [%d]: assign: %s", topic, (int)partition, rd_kafka_err2str(err));
        return -1;
    }
    for (int waited = 0; waited < timeout_ms;) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 200);
        if (!rkm) {
            waited += 200;
            continue;
        }
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(rkm);
            return 0;
        }
        if (rkm->err) {
            snprintf(errstr, errstr_size, "%s [%d]: %s", topic, (int)partition, rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            return -1;
        }
        free(*val);
        *val = malloc(rkm->len ? rkm->len : 1);
        if (!*val) {
            rd_kafka_message_destroy(rkm);
            return -1;
        }
        memcpy(*val, rkm->payload, rkm->len);
        *len = rkm->len;
        *found = 1;
        rd_kafka_message_destroy(rkm);
    }
    snprintf(errstr, errstr_size, "%s [%d]: no end of partition within %d ms", topic, (int)partition, timeout_ms);
    return -1;
}

int mt_kafka_last_message(const char *brokers, const char *const *props, const char *topic, int32_t partition,
                          int timeout_ms, void **val, size_t *len, int *found, char *errstr, size_t errstr_size) {
    *val = NULL;
    *len = 0;
    *found = 0;
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, props, errstr, errstr_size);
    if (!conf) return -1;
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    char group[64];
    snprintf(group, sizeof(group), "mintrace-tail-%d", (int)getpid()); /* assign() only; never commits */
    rd_kafka_t *rk = mt_kafka_consumer_new(conf, group, errstr, errstr_size);
    if (!rk) return -1;
    int64_t lo, hi;
    int rc = -1;
    rd_kafka_resp_err_t err;
    /* A topic created a moment ago may have no leader yet: those errors pass, so wait them out. */
    for (int waited = 0;; waited += 250) {
        err = rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, timeout_ms);
        if (waited >= timeout_ms ||
            (err != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION && err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
             err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && err != RD_KAFKA_RESP_ERR__TRANSPORT))
            break;
        usleep(250 * 1000);
    }
    if (err) {
        snprintf(errstr, errstr_size, "%s [%d]: watermarks: %s", topic, (int)partition, rd_kafka_err2str(err));
        goto out;
    }
    /* The last offsets may be transaction markers or aborted messages, which read_committed
     * skips: step back further until a message shows up or the partition's start is reached. */
    for (int64_t back = 1;; back *= 16) {
        int64_t start = hi - back > lo ? hi - back : lo;
        if (hi == lo) {
            rc = 0;
            break;
        }
        if (read_from(rk, topic, partition, start, timeout_ms, val, len, found, errstr, errstr_size)) break;
        if (*found || start == lo) {
            rc = 0;
            break;
        }
    }
out:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int read_topic(const char *brokers, const char *const *props, const char *topic, int64_t offset,
                      int64_t since_ms, long count, int stop_at_end, volatile sig_atomic_t *run, mt_kafka_read_fn fn,
                      void *arg, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, props, errstr, errstr_size);
    if (!conf) return -1;
    if (stop_at_end) rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    char group[64];
    snprintf(group, sizeof(group), "mintrace-read-%d", (int)getpid()); /* assign() only; never commits */
    rd_kafka_t *rk = mt_kafka_consumer_new(conf, group, errstr, errstr_size);
    if (!rk) return -1;

    /* all topics' metadata: asking for one by name would make a broker (or the mock) that
     * auto-creates topics create it */
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    const struct rd_kafka_metadata_topic *mt = NULL;
    for (int i = 0; !err && i < md->topic_cnt && !mt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0) mt = &md->topics[i];
    if (!err && (!mt || mt->err)) err = mt ? mt->err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (err) {
        snprintf(errstr, errstr_size, "%s: %s", topic, rd_kafka_err2str(err));
        goto out;
    }
    int nparts = mt->partition_cnt;
    parts = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) rd_kafka_topic_partition_list_add(parts, topic, p)->offset = offset;
    if (since_ms >= 0) { /* from the first message at or after since_ms in each partition */
        /* Where no message is that recent yet, start at the end as it is *now*, as a number:
         * a logical END resolved later would skip a message written in between. */
        int64_t *hi = calloc(nparts > 0 ? (size_t)nparts : 1, sizeof(*hi));
        for (int p = 0; hi && p < nparts; p++) {
            int64_t lo;
            if ((err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 10000))) break;
            parts->elems[p].offset = since_ms;
        }
        if (!hi || err || (err = rd_kafka_offsets_for_times(rk, parts, 10000))) {
            snprintf(errstr, errstr_size, "%s: offsets for time: %s", topic, rd_kafka_err2str(err));
            free(hi);
            goto out;
        }
        for (int p = 0; p < nparts; p++)
            if (parts->elems[p].offset < 0) parts->elems[p].offset = hi[p];
        free(hi);
    }
    if ((err = rd_kafka_assign(rk, parts))) {
        snprintf(errstr, errstr_size, "%s: assign: %s", topic, rd_kafka_err2str(err));
        goto out;
    }
    int at_end = 0;
    long seen = 0;
    while ((!run || *run) && (count < 0 || seen < count) && !(stop_at_end && at_end >= nparts)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 500);
        if (!rkm) continue;
        int stop = 0;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (rkm->err) {
            /* consumer errors are informational, unless the topic is gone or the client is dead */
            if (rkm->err == RD_KAFKA_RESP_ERR__FATAL || rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                snprintf(errstr, errstr_size, "%s [%d]: %s", topic, (int)rkm->partition, rd_kafka_message_errstr(rkm));
                rd_kafka_message_destroy(rkm);
                goto out;
            }
        } else {
            seen++;
            stop = fn(arg, rkm);
        }
        rd_kafka_message_destroy(rkm);
        if (stop) break;
    }
    rc = 0;
out:
    if (md) rd_kafka_metadata_destroy(md);
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

int mt_kafka_read_topic(const char *brokers, const char *const *props, const char *topic, int64_t offset, long count,
                        int stop_at_end, volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *errstr,
                        size_t errstr_size) {
    return read_topic(brokers, props, topic, offset, -1, count, stop_at_end, run, fn, arg, errstr, errstr_size);
}

int mt_kafka_read_topic_since(const char *brokers, const char *const *props, const char *topic, int64_t since_ms,
                              volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *errstr,
                              size_t errstr_size) {
    return read_topic(brokers, props, topic, RD_KAFKA_OFFSET_END, since_ms, -1, 0, run, fn, arg, errstr, errstr_size);
}

/* Reads every partition of the given topics from offset 0 with one consumer (read_committed,
 * assign only, nothing committed) until the end of each, calling fn for every message: one
 * client for the many receipts topics instead of one each. Returns 0, or -1 with err. */
int mt_kafka_read_topics(const char *brokers, const char *const *props, const char *const *topics, size_t n,
                         volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *err, size_t err_size) {
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, props, err, err_size);
    if (!conf) return -1;
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    char group[64];
    snprintf(group, sizeof(group), "mintrace-read-%d", (int)getpid()); /* assign() only; never commits */
    rd_kafka_t *rk = mt_kafka_consumer_new(conf, group, err, err_size);
    if (!rk) return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(16);
    int rc = -1, total = 0, at_end = 0;
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 1, NULL, &md, 30000);
    for (size_t t = 0; !kerr && t < n; t++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt && !mt; i++)
            if (strcmp(md->topics[i].topic, topics[t]) == 0) mt = &md->topics[i];
        if (!mt || mt->err) {
            snprintf(err, err_size, "%s: %s", topics[t],
                     rd_kafka_err2str(mt ? mt->err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
            goto out;
        }
        for (int p = 0; p < mt->partition_cnt; p++, total++)
            rd_kafka_topic_partition_list_add(parts, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (kerr || (kerr = rd_kafka_assign(rk, parts))) {
        snprintf(err, err_size, "%s: %s", topics[0], rd_kafka_err2str(kerr));
        goto out;
    }
    /* each partition counts once, however often its end is reached (messages may still come) */
    char *ended = calloc((size_t)total + 1, 1);
    if (!ended) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    while ((!run || *run) && at_end < total) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 500);
        if (!rkm) continue;
        int stop = 0;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            const char *name = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "";
            for (int i = 0; i < parts->cnt; i++)
                if (parts->elems[i].partition == rkm->partition && !strcmp(parts->elems[i].topic, name) && !ended[i]) {
                    ended[i] = 1;
                    at_end++;
                }
        } else if (rkm->err == RD_KAFKA_RESP_ERR__FATAL || rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            snprintf(err, err_size, "%s [%d]: %s", rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "?", (int)rkm->partition,
                     rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            free(ended);
            goto out;
        } else if (!rkm->err) {
            stop = fn(arg, rkm);
        } /* other consumer errors are informational */
        rd_kafka_message_destroy(rkm);
        if (stop) break;
    }
    free(ended);
    rc = 0;
out:
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

