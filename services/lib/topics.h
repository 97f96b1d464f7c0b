/* topics.h - the topic definitions of schemas/topics.json: load, look up, create on Kafka. */
#ifndef MT_TOPICS_H
#define MT_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#ifndef MT_DATADIR
#define MT_DATADIR "/usr/local/share/mintrace"
#endif

/* One topic as the topics file defines it. */
typedef struct mt_topic {
    char *name;           /* full name, with the prefix */
    int partitions;       /* >= 1 */
    char *cleanup_policy; /* "delete", "compact" or "compact,delete" */
    int64_t retention_ms; /* -1: keep forever */
} mt_topic;

/* Every topic of one topics file. A zeroed struct is empty and may be released. */
typedef struct mt_topics {
    mt_topic *v;
    size_t cnt;
    char *prefix; /* the prefix given to mt_topics_load(), for mt_topics_find() */
} mt_topics;

/* The topics file to use: $MINTRACE_TOPICS if set and not empty, else schemas/topics.json if
 * it exists relative to the working directory, else MT_DATADIR "/topics.json". */
const char *mt_topics_default_path(void);

/* Reads the topics file at path and puts prefix in front of every name.
 * Checks every entry: name of [a-zA-Z0-9._-] (prefix included, at most 249 characters, no
 * duplicates), partitions >= 1, cleanup_policy one of delete, compact, "compact,delete",
 * retention_ms >= -1; all four fields are required.
 * t is overwritten (release it first if it holds topics). On error -1 is returned, t is left
 * empty and errstr names the file and line, or the entry index and field. */
int mt_topics_load(mt_topics *t, const char *path, const char *prefix,
                   char *errstr, size_t errstr_size);

/* The topic whose name is the prefix followed by short_name ("ledger" finds
 * "mintrace.ledger"), or NULL. */
const mt_topic *mt_topics_find(const mt_topics *t, const char *short_name);

/* Frees the contents of t and leaves it empty. t may be NULL. */
void mt_topics_release(mt_topics *t);

/* Creates every topic of t on the cluster rk is connected to (CreateTopics, with the
 * cleanup.policy and retention.ms configs). A topic that already exists counts as created
 * only if it has the same partition count; its configs are left as they are. Idempotent.
 * replication_factor is >= 1, or -1 for the broker's default. timeout_ms bounds each of the
 * two requests (CreateTopics, then metadata if some topics existed); the broker gets half of it
 * to finish creating the topics.
 * On error -1 is returned and errstr names the topic; the other topics of the request may
 * have been created.
 * librdkafka's mock cluster does not serve CreateTopics: use mt_topics_create_mock() there. */
int mt_topics_create(rd_kafka_t *rk, const mt_topics *t, int replication_factor,
                     int timeout_ms, char *errstr, size_t errstr_size);

/* Creates every topic of t on librdkafka's mock cluster mc, asking for replication factor 1
 * (librdkafka 2.0.2's mock lists min(3, brokers) replicas whatever is asked).
 * The mock keeps no topic configs: cleanup_policy and retention_ms are not applied.
 * A topic that already exists is an error: its partition count cannot be checked there. */
int mt_topics_create_mock(rd_kafka_mock_cluster_t *mc, const mt_topics *t,
                          char *errstr, size_t errstr_size);

#endif
