/* audit_submitted_read — events.submitted and rejected for `mintrace audit` and `mintrace
 * archive`: from the cluster (with each partition's watermarks) or from an archive. */
#include "audit_submitted_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_submitted.h"
#include "kafka.h"

enum { T_SUBMITTED = 0, T_REJECTED = 1 };

typedef struct feeding {
    mt_audit *a;
    int which;
    mt_archive_writer *w;
    uint64_t *n;
    int failed;
} feeding;

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static int which_topic(const char *topic) {
    if (ends_with(topic, "events.submitted")) return T_SUBMITTED;
    if (ends_with(topic, "rejected")) return T_REJECTED;
    return -1;
}

static int feed(feeding *f, const char *topic, int32_t partition, int64_t offset, const uint8_t *b, size_t len) {
    int rc;
    if (f->w) {
        rc = mt_archive_add(f->w, topic, partition, offset, b, len);
        if (!rc) (*f->n)++;
    } else if (offset < 0) { /* an archive's watermarks: low and high */
        int64_t lo = -1, hi = -1;
        if (len == 16) {
            uint64_t l = 0, h = 0;
            for (int i = 0; i < 8; i++) {
                l = l << 8 | b[i];
                h = h << 8 | b[8 + i];
            }
            lo = (int64_t)l;
            hi = (int64_t)h;
        }
        rc = f->which == T_SUBMITTED ? mt_audit_submitted_partition(f->a, topic, partition, lo, hi)
                                     : mt_audit_rejected_partition(f->a, topic, partition, lo, hi);
    } else {
        rc = f->which == T_SUBMITTED ? mt_audit_submitted(f->a, b, len, topic, partition, offset)
                                     : mt_audit_rejected(f->a, b, len, topic, partition, offset);
    }
    if (rc) f->failed = 1;
    return rc || !mt_run;
}

static int feed_kafka(void *arg, const rd_kafka_message_t *rkm) {
    return feed(arg, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset, rkm->payload, rkm->len);
}

static int feed_archive(void *arg, const char *topic, int32_t partition, int64_t offset, const uint8_t *b,
                        size_t len) {
    return feed(arg, topic, partition, offset, b, len);
}

static int want(void *arg, const char *topic) {
    return which_topic(topic) == ((feeding *)arg)->which;
}

/* The watermarks of every partition of topic, after it was read (a start deleted during the
 * read shows), to the auditor or as archive records. */
static int watermarks(feeding *f, rd_kafka_t *rk, const char *topic, int partitions, char *err, size_t err_size) {
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (kerr) {
            snprintf(err, err_size, "%s [%d]: watermarks: %s", topic, p, rd_kafka_err2str(kerr));
            return -1;
        }
        unsigned char b[16];
        for (int i = 0; i < 8; i++) {
            b[7 - i] = (unsigned char)((uint64_t)lo >> (8 * i));
            b[15 - i] = (unsigned char)((uint64_t)hi >> (8 * i));
        }
        int rc;
        if (f->w) rc = mt_archive_add(f->w, topic, p, -1, b, sizeof(b));
        else rc = feed(f, topic, p, -1, b, sizeof(b));
        if (rc || f->failed) {
            snprintf(err, err_size, "%s", f->w ? "cannot write the archive" : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Both topics from the cluster, each whole, then its watermarks. */
static int from_cluster(feeding *f, const mt_service *s, char *err, size_t err_size) {
    const char *brokers = mt_config_get(s->cfg, "brokers");
    const char *const *props = mt_config_kafka_props(s->cfg);
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, props, err, err_size);
    rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, err_size) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr = rk ? rd_kafka_metadata(rk, 1, NULL, &md, 30000) : RD_KAFKA_RESP_ERR__FAIL;
    if (kerr) {
        if (rk) {
            snprintf(err, err_size, "cannot list topics: %s", rd_kafka_err2str(kerr));
            rd_kafka_destroy(rk);
        }
        return -1;
    }
    static const char *names[2] = {"events.submitted", "rejected"};
    int rc = 0;
    for (int t = 0; t < 2 && !rc; t++) {
        char topic[300];
        mt_service_topic(s, names[t], topic, sizeof(topic));
        int partitions = -1;
        for (int i = 0; i < md->topic_cnt; i++)
            if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err) partitions = md->topics[i].partition_cnt;
        if (partitions < 0) continue; /* not on this cluster */
        f->which = t;
        const char *one[] = {topic};
        rc = mt_kafka_read_topics(brokers, props, one, 1, &mt_run, feed_kafka, f, err, err_size);
        if (!rc && (f->failed || !mt_run)) {
            snprintf(err, err_size, "%s", !mt_run ? "interrupted" : f->w ? "cannot write the archive" : "out of memory");
            rc = -1;
        }
        if (!rc) rc = watermarks(f, rk, topic, partitions, err, err_size);
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int mt_audit_read_submitted(mt_audit *a, const mt_service *s, const char *archive, char *err, size_t err_size) {
    feeding f = {.a = a};
    if (!archive) return from_cluster(&f, s, err, err_size);
    for (f.which = T_SUBMITTED; f.which <= T_REJECTED; f.which++) {
        if (mt_archive_read(archive, want, feed_archive, &f, err, err_size)) return -1;
        if (f.failed) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    }
    return 0;
}

int mt_archive_add_submitted(mt_archive_writer *w, const mt_service *s, uint64_t *n, char *err, size_t err_size) {
    feeding f = {.w = w, .n = n};
    return from_cluster(&f, s, err, err_size);
}
