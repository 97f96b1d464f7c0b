/* kafka.h - the one wrapper of librdkafka clients: configuration, producers, consumer, stage loop.
 * A stage's outputs and input offsets commit in one transaction, or neither and the input comes
 * again: every input is processed exactly once in what read_committed consumers see. */
#ifndef MT_KAFKA_H
#define MT_KAFKA_H

#include <signal.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* Returns a new configuration with bootstrap.servers = brokers (skipped when brokers is NULL,
 * e.g. when props carry test.mock.num.brokers) and every pass-through property of props, a
 * NULL-terminated list "name", "value", "name", "value", ..., NULL (from -X and config files;
 * props may be NULL). Properties are applied in order, so a later one wins; brokers is applied
 * last and wins over a bootstrap.servers in props. On error NULL is returned and errstr names
 * the property; the value of a property whose name mt_log_is_secret_name() flags (password,
 * secret, .pem, private, token, credential, ...) is never put in errstr. Nothing is printed. */
rd_kafka_conf_t *mt_kafka_conf_new(const char *brokers, const char *const *props,
                                   char *errstr, size_t errstr_size);

/* A producer that tracks its own deliveries (the producer API) sets a hook as its conf's opaque
 * (rd_kafka_conf_set_opaque) before mt_kafka_producer_new(): every delivery report then goes to
 * fn, on the thread that polls. The hook must outlive the producer. */
typedef struct mt_kafka_dr_hook {
    void (*fn)(void *arg, const rd_kafka_message_t *rkm);
    void *arg;
} mt_kafka_dr_hook;

/* Returns a producer: enable.idempotence=true, acks=all, partitioner=murmur2_random (Java's
 * default: every client puts a key in the same partition), linger.ms left at librdkafka's
 * default of 5 ms unless props set it. Takes ownership of conf, also on failure.
 * With a transactional_id (NULL = idempotent only) it sets transactional.id and calls
 * init_transactions() (timeout_ms, -1 = transaction.timeout.ms), which fences an older
 * producer with the same id and aborts its open transaction. On error NULL is returned. */
rd_kafka_t *mt_kafka_producer_new(rd_kafka_conf_t *conf, const char *transactional_id,
                                  int timeout_ms, char *errstr, size_t errstr_size);

/* Returns a consumer in group_id: isolation.level=read_committed, enable.auto.commit=false,
 * enable.auto.offset.store=false, auto.offset.reset=earliest (these win over props), with the
 * main queue redirected to rd_kafka_consumer_poll(). Takes ownership of conf, also on failure.
 * On error NULL is returned. */
rd_kafka_t *mt_kafka_consumer_new(rd_kafka_conf_t *conf, const char *group_id,
                                  char *errstr, size_t errstr_size);

/* Produces one message (key and val may be NULL: NULL key = random partition, NULL val = a
 * tombstone) and waits up to timeout_ms (-1 = no limit) for its delivery report; for CLI
 * tools. rk must come from mt_kafka_producer_new() without a transactional id. Returns 0 when
 * the broker acknowledged it, -1 with the delivery error otherwise. After a timeout the
 * message may still be delivered later. Serves rk's other callbacks while waiting. */
int mt_kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t klen,
                          const void *val, size_t vlen, int timeout_ms,
                          char *errstr, size_t errstr_size);

/* Reads the last committed message of topic/partition (read_committed, skipping transaction
 * markers and aborted messages): *found = 1 and a malloc'd copy in *val and *len, or *found = 0
 * when the partition holds none. Returns -1 with errstr on error. Cost: one short-lived
 * consumer. This is how a single writer (the aggregator) finds where its journal ends. */
int mt_kafka_last_message(const char *brokers, const char *const *props, const char *topic, int32_t partition,
                          int timeout_ms, void **val, size_t *len, int *found, char *errstr, size_t errstr_size);

/* Called for each message read; nonzero stops the reading. */
typedef int (*mt_kafka_read_fn)(void *arg, const rd_kafka_message_t *rkm);

/* Reads every partition of topic from offset (RD_KAFKA_OFFSET_BEGINNING, _END, or a number),
 * read_committed, outside any group (nothing is committed), calling fn for each message, until
 * count messages (-1 = no limit), the end of every partition (stop_at_end), *run cleared (run
 * may be NULL) or fn returns nonzero. Returns 0, or -1 with errstr (unknown topic, fatal
 * error). For inspect-like tools and auditors. */
int mt_kafka_read_topic(const char *brokers, const char *const *props, const char *topic, int64_t offset, long count,
                        int stop_at_end, volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *errstr,
                        size_t errstr_size);

/* Like mt_kafka_read_topic, from the first message of each partition written at or after
 * since_ms (message timestamps), never stopping by itself: fn returns nonzero to stop, or
 * *run clears. For waiting on replies (receipts) to what was just sent. */
int mt_kafka_read_topic_since(const char *brokers, const char *const *props, const char *topic, int64_t since_ms,
                              volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *errstr,
                              size_t errstr_size);

/* ---- The stage loop ---- */

/* Messages a stage emits for one input. */
typedef struct mt_outbox mt_outbox;

/* Appends a copy of the message (key/val NULL = null key / tombstone). Returns 0, or -1 on
 * OOM with ob unaltered. */
int mt_outbox_add(mt_outbox *ob, const char *topic, const void *key, size_t klen,
                  const void *val, size_t vlen);

/* For unit tests of a stage's process() without Kafka: new (NULL on OOM), number of
 * messages, the i-th message's fields (pointers valid until the next clear/destroy; -1 when
 * i is out of range), clear (frees the messages, keeps ob), destroy (accepts NULL). */
mt_outbox *mt_outbox_new(void);
size_t mt_outbox_count(const mt_outbox *ob);
int mt_outbox_get(const mt_outbox *ob, size_t i, const char **topic, const void **key,
                  size_t *klen, const void **val, size_t *vlen);
void mt_outbox_clear(mt_outbox *ob);
void mt_outbox_destroy(mt_outbox *ob);

typedef enum { MT_STAGE_OK = 0, MT_STAGE_FATAL = -1 } mt_stage_result;

typedef struct mt_stage_ops {
    /* Called for each input message, in partition order. Emits 0..n messages into ob. Must
     * not keep pointers into rkm. MT_STAGE_FATAL aborts the open transaction and ends the
     * loop with -1. */
    mt_stage_result (*process)(void *opaque, const rd_kafka_message_t *rkm, mt_outbox *ob);
    /* Transaction hooks for stateful stages (state follows commits): begin before the first
     * process() of a transaction, commit after commit_transaction succeeded, abort after an
     * abort (the loop then rewinds the consumer to the committed offsets and the same
     * messages come again) and when the loop stops with a transaction it could not end.
     * Any may be NULL. */
    void (*txn_begin)(void *opaque);
    void (*txn_committed)(void *opaque);
    void (*txn_aborted)(void *opaque);
    /* Called when the consumer is assigned partitions, after the producer exists and before
     * any message of them: a stateful stage restores state here. -1 ends the loop with -1.
     * May be NULL. */
    int (*assigned)(void *opaque, rd_kafka_t *producer,
                    const rd_kafka_topic_partition_list_t *parts);
    /* The lowest offset of topic/partition the stage still holds unfinished (-1: none); the
     * loop never commits an input offset above it, so a crash makes it come again. May be
     * NULL. */
    int64_t (*offset_floor)(void *opaque, const char *topic, int32_t partition);
    /* Called once per transaction just before it commits: messages put in ob join the
     * transaction (a checkpoint over what it journaled). closing is 1 when the loop is ending
     * (then it is called, in a transaction of its own if need be, even without new input).
     * MT_STAGE_FATAL ends the loop. May be NULL. */
    mt_stage_result (*before_commit)(void *opaque, mt_outbox *ob, int closing);
    /* Called when a poll brought no message (every 100 ms or so while the input is quiet):
     * work that must not wait for the next message (a stage picks up a new registry version).
     * May be NULL. */
    void (*idle)(void *opaque);
} mt_stage_ops;

typedef struct mt_stage_conf {
    const char *name;                /* for logs; NULL = "stage" */
    const char *brokers;             /* as for mt_kafka_conf_new() */
    const char *const *props;        /* as for mt_kafka_conf_new(); given to both clients */
    const char *group_id;
    const char *transactional_id;    /* one per deployment of a stage; fences zombies */
    const char *const *input_topics; /* NULL-terminated */
    int max_batch;                   /* messages per transaction; <= 0 = 1000 */
    int max_batch_ms;                /* commit at least this often; <= 0 = 100 */
    volatile sig_atomic_t *run;      /* cleared by a signal handler; NULL = run until idle */
    int idle_exit_ms;                /* 0 = run until *run clears; > 0 = return 0 after this
                                      * long with neither input nor a new assignment (tests,
                                      * demo; the mock's group join alone takes ~3 s) */
} mt_stage_conf;

/* Runs the consume-process-produce loop: one consumer and one transactional producer,
 * batches of up to max_batch inputs committed together with their input offsets
 * (send_offsets_to_transaction, KIP-447). Returns 0 when *run was cleared or the idle time
 * passed (the open transaction is committed first), -1 on a fatal error, a process() or
 * assigned() failure, or too many aborts in a row, with the reason in errstr. */
int mt_stage_run(const mt_stage_conf *sc, const mt_stage_ops *ops, void *opaque,
                 char *errstr, size_t errstr_size);

/* Like mt_kafka_read_topic from the beginning to the end, for several topics with one consumer
 * (messages of different topics interleave; each partition's stay in order): cheaper than one
 * client per topic when there are many (the per-facility receipts topics). */
int mt_kafka_read_topics(const char *brokers, const char *const *props, const char *const *topics, size_t n,
                         volatile sig_atomic_t *run, mt_kafka_read_fn fn, void *arg, char *errstr, size_t errstr_size);

#endif
