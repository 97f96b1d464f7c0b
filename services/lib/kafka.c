/* kafka.c - librdkafka clients and the consume-process-produce stage loop (see kafka.h).
 * Each input's outputs commit together with its offset in one transaction, or not at all. */
#include "kafka.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Aborts in a row (no commit in between) after which the stage gives up: an input that fails
 * every time (a message the broker refuses, say) would otherwise loop forever. */
#define STAGE_MAX_ABORTS_IN_ROW 10
/* Retriable transactional errors in a row before a call counts as failed. */
#define TXN_MAX_RETRIES 10
/* Blocking offset look-ups and seeks; must stay below max.poll.interval.ms. */
#define OFFSETS_TIMEOUT_MS 10000

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    if (errstr == NULL || errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ---- */

/* librdkafka's own log lines, from its threads, into ours (syslog levels). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const char *name = rd_kafka_name(rk);

    if (level <= 3)
        mt_log_error("%s: %s: %s", name, fac, buf);
    else if (level == 4)
        mt_log_warn("%s: %s: %s", name, fac, buf);
    else if (level <= 6)
        mt_log_info("%s: %s: %s", name, fac, buf);
    else
        mt_log_debug("%s: %s: %s", name, fac, buf);
}

/* Client-level errors are informational (librdkafka recovers by itself) except __FATAL, which
 * callers find with rd_kafka_fatal_error(). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        mt_log_error("%s: fatal error: %s", rd_kafka_name(rk), reason);
    else
        mt_log_warn("%s: %s: %s", rd_kafka_name(rk),
                    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    char *errstr, size_t errstr_size)
{
    char why[512];

    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return 0;
    /* librdkafka's reason may quote the value: keep it out for secrets. */
    if (mt_log_is_secret_name(name))
        set_err(errstr, errstr_size, "kafka property %s: invalid or unknown (value not shown)",
                name);
    else
        set_err(errstr, errstr_size, "kafka property %s: %s", name, why);
    return -1;
}

rd_kafka_conf_t *mt_kafka_conf_new(const char *brokers, const char *const *props,
                                   char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t i;

    for (i = 0; props != NULL && props[i] != NULL; i += 2) {
        if (props[i + 1] == NULL) {
            set_err(errstr, errstr_size, "kafka property %s: no value", props[i]);
            goto fail;
        }
        if (conf_set(conf, props[i], props[i + 1], errstr, errstr_size) != 0)
            goto fail;
    }
    if (brokers != NULL &&
        conf_set(conf, "bootstrap.servers", brokers, errstr, errstr_size) != 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;

fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- producer ---- */

/* Waiter of mt_kafka_produce_sync(), the message's opaque. Heap-allocated: if the waiter
 * times out and leaves, the report that comes later frees it. */
struct sync_dr {
    int done;
    int abandoned;
    rd_kafka_resp_err_t err;
};

/* One report per message, on the application's thread (poll, flush, commit_transaction). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    struct sync_dr *w = rkm->_private;

    if (opaque != NULL) { /* a producer that tracks its own deliveries (mt_kafka_dr_hook) */
        const mt_kafka_dr_hook *hook = opaque;
        hook->fn(hook->arg, rkm);
        return;
    }
    if (w != NULL) {
        if (w->abandoned) {
            free(w);
            return;
        }
        w->done = 1;
        w->err = rkm->err;
        return;
    }
    /* A stage's message: a failure puts the transaction in the abortable state, which the
     * next transactional call reports; purges are the expected result of an abort. */
    if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        mt_log_debug("%s: delivery to %s purged by abort", rd_kafka_name(rk),
                     rd_kafka_topic_name(rkm->rkt));
    else if (rkm->err)
        mt_log_warn("%s: delivery to %s [%" PRId32 "] failed: %s", rd_kafka_name(rk),
                    rd_kafka_topic_name(rkm->rkt), rkm->partition, rd_kafka_err2str(rkm->err));
}

/* Gets the producer id and epoch for transactional_id: an older producer with the same id is
 * fenced from now on and its open transaction aborted. With timeout_ms < 0 and a run flag it
 * waits in 5 s slices, saying so, for as long as the brokers are unreachable and *run is set:
 * a service waits for its cluster, yet SIGTERM still stops it within seconds. */
static int init_txn(rd_kafka_t *rk, const char *transactional_id, int timeout_ms,
                    volatile sig_atomic_t *run, char *errstr, size_t errstr_size)
{
    int sliced = timeout_ms < 0 && run != NULL;

    for (int attempt = 1;; attempt++) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(rk, sliced ? 5000 : timeout_ms);
        if (error == NULL)
            return 0;
        if (sliced && *run && rd_kafka_error_is_retriable(error)) {
            mt_log_warn("kafka producer %s: waiting for the transaction coordinator (try %d): %s",
                        transactional_id, attempt, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            continue;
        }
        set_err(errstr, errstr_size, "kafka producer %s: init_transactions: %s%s: %s",
                transactional_id, rd_kafka_error_name(error),
                rd_kafka_error_is_retriable(error) ? " (retriable)" : "",
                rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
}

rd_kafka_t *mt_kafka_producer_new(rd_kafka_conf_t *conf, const char *transactional_id,
                                  int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk;
    char why[512];

    if (conf == NULL) {
        set_err(errstr, errstr_size, "kafka producer: no configuration");
        return NULL;
    }
    /* partitioner is a topic property: rd_kafka_conf_set() puts it on the default topic conf,
     * so it applies to every topic this producer writes. */
    if (conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) != 0 ||
        conf_set(conf, "acks", "all", errstr, errstr_size) != 0 ||
        conf_set(conf, "partitioner", "murmur2_random", errstr, errstr_size) != 0 ||
        (transactional_id != NULL &&
         conf_set(conf, "transactional.id", transactional_id, errstr, errstr_size) != 0)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);

    /* rd_kafka_new() takes ownership of conf on success only. */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        set_err(errstr, errstr_size, "kafka producer: %s", why);
        return NULL;
    }
    if (transactional_id == NULL)
        return rk;
    if (init_txn(rk, transactional_id, timeout_ms, NULL, errstr, errstr_size) != 0) {
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

int mt_kafka_produce_sync(rd_kafka_t *rk, const char *topic, const void *key, size_t klen,
                          const void *val, size_t vlen, int timeout_ms,
                          char *errstr, size_t errstr_size)
{
    struct sync_dr *w = calloc(1, sizeof(*w));
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    rd_kafka_resp_err_t err;

    /* librdkafka's macros take the length unparenthesized: compute it first. */
    klen = key != NULL ? klen : 0;
    vlen = val != NULL ? vlen : 0;
    if (w == NULL) {
        set_err(errstr, errstr_size, "produce to %s: out of memory", topic);
        return -1;
    }
    for (;;) {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                RD_KAFKA_V_KEY(key, klen),
                                RD_KAFKA_V_VALUE((void *)val, vlen),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
        /* A full queue empties as earlier messages are delivered. */
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_ms() >= deadline)
            break;
        rd_kafka_poll(rk, 100);
    }
    if (err) {
        free(w); /* never enqueued: no report will come */
        set_err(errstr, errstr_size, "produce to %s: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    while (!w->done && now_ms() < deadline)
        rd_kafka_poll(rk, (int)(deadline - now_ms() < 100 ? deadline - now_ms() : 100));
    if (!w->done) {
        w->abandoned = 1; /* dr_msg_cb frees it */
        set_err(errstr, errstr_size,
                "produce to %s: not acknowledged within %d ms (it may still be delivered)",
                topic, timeout_ms);
        return -1;
    }
    err = w->err;
    free(w);
    if (err) {
        set_err(errstr, errstr_size, "produce to %s: delivery failed: %s", topic,
                rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* ---- consumer ---- */

rd_kafka_t *mt_kafka_consumer_new(rd_kafka_conf_t *conf, const char *group_id,
                                  char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk;
    char why[512];

    if (conf == NULL || group_id == NULL) {
        set_err(errstr, errstr_size, "kafka consumer: no %s",
                conf == NULL ? "configuration" : "group id");
        if (conf != NULL) /* librdkafka's destructors do not accept NULL */
            rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* Offsets are committed only inside transactions (send_offsets_to_transaction), never
     * automatically; a new group starts at the beginning so no event is skipped. */
    if (conf_set(conf, "group.id", group_id, errstr, errstr_size) != 0 ||
        conf_set(conf, "isolation.level", "read_committed", errstr, errstr_size) != 0 ||
        conf_set(conf, "enable.auto.commit", "false", errstr, errstr_size) != 0 ||
        conf_set(conf, "enable.auto.offset.store", "false", errstr, errstr_size) != 0 ||
        conf_set(conf, "auto.offset.reset", "earliest", errstr, errstr_size) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* rd_kafka_new() takes ownership of conf on success only. */
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        set_err(errstr, errstr_size, "kafka consumer: %s", why);
        return NULL;
    }
    /* Rebalances, errors and messages all come from rd_kafka_consumer_poll(). */
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* ---- outbox ---- */

struct outbox_msg {
    char *topic; /* one allocation: topic, key, value */
    void *key;   /* NULL = null key */
    size_t klen;
    void *val;   /* NULL = tombstone */
    size_t vlen;
};

struct mt_outbox {
    struct outbox_msg *msgs;
    size_t cnt, cap;
};

mt_outbox *mt_outbox_new(void)
{
    return calloc(1, sizeof(mt_outbox));
}

int mt_outbox_add(mt_outbox *ob, const char *topic, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    size_t tlen = strlen(topic) + 1;
    struct outbox_msg *m;
    char *buf;

    if (key == NULL)
        klen = 0;
    if (val == NULL)
        vlen = 0;
    if (ob->cnt == ob->cap) {
        size_t cap = ob->cap ? ob->cap * 2 : 4;
        struct outbox_msg *msgs = realloc(ob->msgs, cap * sizeof(*msgs));

        if (msgs == NULL)
            return -1;
        ob->msgs = msgs;
        ob->cap = cap;
    }
    buf = malloc(tlen + klen + vlen);
    if (buf == NULL)
        return -1;
    m = &ob->msgs[ob->cnt++];
    m->topic = memcpy(buf, topic, tlen);
    m->key = key != NULL ? memcpy(buf + tlen, key, klen) : NULL;
    m->klen = klen;
    m->val = val != NULL ? memcpy(buf + tlen + klen, val, vlen) : NULL;
    m->vlen = vlen;
    return 0;
}

size_t mt_outbox_count(const mt_outbox *ob)
{
    return ob->cnt;
}

int mt_outbox_get(const mt_outbox *ob, size_t i, const char **topic, const void **key,
                  size_t *klen, const void **val, size_t *vlen)
{
    if (i >= ob->cnt)
        return -1;
    *topic = ob->msgs[i].topic;
    *key = ob->msgs[i].key;
    *klen = ob->msgs[i].klen;
    *val = ob->msgs[i].val;
    *vlen = ob->msgs[i].vlen;
    return 0;
}

void mt_outbox_clear(mt_outbox *ob)
{
    size_t i;

    for (i = 0; i < ob->cnt; i++)
        free(ob->msgs[i].topic);
    ob->cnt = 0;
}

void mt_outbox_destroy(mt_outbox *ob)
{
    if (ob == NULL)
        return;
    mt_outbox_clear(ob);
    free(ob->msgs);
    free(ob);
}

/* ---- the stage loop ---- */

struct stage {
    const mt_stage_conf *sc;
    const mt_stage_ops *ops;
    void *opaque;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    mt_outbox ob;
    /* The open transaction: next offset (last processed + 1) per input partition. */
    int in_txn;
    int closing; /* the loop is ending: before_commit() is told, to have its last word */
    int txn_msgs;
    int64_t txn_start_ms;
    rd_kafka_topic_partition_list_t *offsets;
    int aborts_in_row;
    int64_t last_activity_ms; /* last input or assignment, for idle_exit_ms */
    int failed;               /* set once; the reason is in errstr */
    char *errstr;
    size_t errstr_size;
};

static void stage_fail(struct stage *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first fatal reason; the loop stops at its next turn. */
static void stage_fail(struct stage *st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mt_log_error("%s: %s", st->sc->name, msg);
    if (!st->failed)
        set_err(st->errstr, st->errstr_size, "%s: %s", st->sc->name, msg);
    st->failed = 1;
}

static void txn_reset(struct stage *st)
{
    st->in_txn = 0;
    st->txn_msgs = 0;
    while (st->offsets->cnt > 0)
        rd_kafka_topic_partition_list_del_by_idx(st->offsets, st->offsets->cnt - 1);
}

static int txn_begin(struct stage *st)
{
    rd_kafka_error_t *error = rd_kafka_begin_transaction(st->producer);

    /* begin only fails on a fatal error or a state bug: both end the loop. */
    if (error != NULL) {
        stage_fail(st, "begin_transaction: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
    st->in_txn = 1;
    st->txn_start_ms = now_ms();
    if (st->ops->txn_begin != NULL)
        st->ops->txn_begin(st->opaque);
    return 0;
}

/* Moves the partitions processed in the aborted transaction back to their committed offsets,
 * so their messages come again. Other partitions have nothing uncommitted to redo. */
static int rewind_consumer(struct stage *st, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_resp_err_t err;
    rd_kafka_error_t *error;
    int i;

    /* Not knowing where to restart would lose or duplicate input: fatal. */
    err = rd_kafka_committed(st->consumer, parts, OFFSETS_TIMEOUT_MS);
    if (err) {
        stage_fail(st, "rewind: committed offsets: %s", rd_kafka_err2str(err));
        return -1;
    }
    for (i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            stage_fail(st, "rewind: committed offset of %s [%" PRId32 "]: %s",
                       parts->elems[i].topic, parts->elems[i].partition,
                       rd_kafka_err2str(parts->elems[i].err));
            return -1;
        }
        /* No commit yet: start where auto.offset.reset=earliest started. */
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    /* With a timeout the seek also drops messages prefetched from the old position. */
    error = rd_kafka_seek_partitions(st->consumer, parts, OFFSETS_TIMEOUT_MS);
    if (error != NULL) {
        stage_fail(st, "rewind: seek: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
    for (i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            stage_fail(st, "rewind: seek %s [%" PRId32 "]: %s", parts->elems[i].topic,
                       parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
            return -1;
        }
    }
    return 0;
}

/* Aborts the open transaction; with rewind, the consumer goes back to the committed offsets.
 * Returns 0, or -1 when the stage failed. */
static int txn_abort(struct stage *st, int rewind, const char *why)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_error_t *error;
    int tries = 0, ret = 0;

    mt_log_warn("%s: aborting transaction of %d input(s): %s", st->sc->name, st->txn_msgs, why);
    /* A retriable error (a timeout) means the abort goes on in the background: call again.
     * Any other error is fatal: a producer that cannot abort cannot be trusted to go on. */
    while ((error = rd_kafka_abort_transaction(st->producer, -1)) != NULL &&
           rd_kafka_error_is_retriable(error) && ++tries < TXN_MAX_RETRIES) {
        mt_log_warn("%s: abort_transaction: %s: retrying", st->sc->name,
                    rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (error != NULL) {
        stage_fail(st, "abort_transaction: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
    if (rewind && st->offsets->cnt > 0) {
        parts = rd_kafka_topic_partition_list_copy(st->offsets);
        if (parts == NULL) {
            stage_fail(st, "rewind: out of memory");
            return -1;
        }
    }
    txn_reset(st);
    if (st->ops->txn_aborted != NULL)
        st->ops->txn_aborted(st->opaque);
    if (parts != NULL) {
        ret = rewind_consumer(st, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (ret == 0 && ++st->aborts_in_row >= STAGE_MAX_ABORTS_IN_ROW) {
        stage_fail(st, "%d transactions aborted in a row, last: %s", st->aborts_in_row, why);
        ret = -1;
    }
    return ret;
}

/* Sends the processed offsets into the transaction and commits it. An abortable error aborts
 * it (rewinding if asked). Returns 0 when committed, 1 when aborted, -1 when the stage
 * failed. */
static int produce_outbox(struct stage *st);

static int txn_commit(struct stage *st, int rewind)
{
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_error_t *error = NULL;
    const char *call = "send_offsets_to_transaction";
    char why[512];
    int tries = 0;

    mt_log_debug("%s: committing %d input(s)", st->sc->name, st->txn_msgs);
    /* The stage's last words in this transaction (the aggregator's checkpoint). */
    if (st->ops->before_commit) {
        int r;
        mt_outbox_clear(&st->ob);
        if (st->ops->before_commit(st->opaque, &st->ob, st->closing) != MT_STAGE_OK) {
            stage_fail(st, "%s: before_commit() failed", st->sc->name);
            return -1;
        }
        r = produce_outbox(st);
        mt_outbox_clear(&st->ob);
        if (r != 0)
            return r; /* aborted and rewound (> 0), or fatal */
    }
    /* A stage holding inputs back (the aggregator's parking buffer) must have them read again
     * after a crash: never commit past the lowest one it holds. */
    for (int i = 0; st->ops->offset_floor && i < st->offsets->cnt; i++) {
        rd_kafka_topic_partition_t *p = &st->offsets->elems[i];
        int64_t floor = st->ops->offset_floor(st->opaque, p->topic, p->partition);
        if (floor >= 0 && floor < p->offset)
            p->offset = floor;
    }
    if (st->offsets->cnt > 0) {
        /* The group metadata lets the broker fence a zombie of an older generation
         * (KIP-447), so one producer serves every partition this instance is assigned. */
        cgmd = rd_kafka_consumer_group_metadata(st->consumer);
        while ((error = rd_kafka_send_offsets_to_transaction(st->producer, st->offsets, cgmd,
                                                             -1)) != NULL &&
               rd_kafka_error_is_retriable(error) && ++tries < TXN_MAX_RETRIES) {
            mt_log_warn("%s: %s: %s: retrying", st->sc->name, call,
                        rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    }
    if (error == NULL) {
        call = "commit_transaction";
        tries = 0;
        /* commit_transaction flushes the outputs first; a retriable error (a timeout) means
         * the commit goes on in the background and calling again resumes it. */
        while ((error = rd_kafka_commit_transaction(st->producer, -1)) != NULL &&
               rd_kafka_error_is_retriable(error) && ++tries < TXN_MAX_RETRIES) {
            mt_log_warn("%s: %s: %s: retrying", st->sc->name, call,
                        rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    }
    if (error == NULL) {
        txn_reset(st);
        st->aborts_in_row = 0;
        if (st->ops->txn_committed != NULL)
            st->ops->txn_committed(st->opaque);
        return 0;
    }
    snprintf(why, sizeof(why), "%s: %s: %s", call, rd_kafka_error_name(error),
             rd_kafka_error_string(error));
    /* An abortable error (an output the broker refused, a transaction timed out on the
     * coordinator): nothing of this transaction is visible; abort and do it again. */
    if (rd_kafka_error_txn_requires_abort(error)) {
        rd_kafka_error_destroy(error);
        return txn_abort(st, rewind, why) == 0 ? 1 : -1;
    }
    /* Fatal (fenced by a newer instance, unauthorized) or still failing after retries: the
     * coordinator aborts the transaction by itself; this instance must stop. */
    rd_kafka_error_destroy(error);
    stage_fail(st, "%s", why);
    return -1;
}

/* Commits the open transaction before partitions go, so a new owner starts exactly after what
 * was committed; aborts instead when the assignment was lost (another instance may already
 * own the partitions and our producer may be fenced). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct stage *st = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = 0;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        mt_log_info("%s: assigned %d partition(s)", st->sc->name, parts->cnt);
        st->last_activity_ms = now_ms();
        if (!st->failed && st->ops->assigned != NULL &&
            st->ops->assigned(st->opaque, st->producer, parts) != 0)
            stage_fail(st, "assigned() failed: cannot restore state");
        if (st->failed)
            return; /* the loop stops without consuming them */
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, parts);
    } else {
        mt_log_info("%s: %d partition(s) revoked%s", st->sc->name, parts->cnt,
                    rd_kafka_assignment_lost(rk) ? " (assignment lost)" : "");
        /* Eager revokes every partition: no rewind, the next assignment starts at the
         * committed offsets. Cooperative keeps some, which must be rewound after an abort. */
        if (!st->failed && st->in_txn) {
            if (rd_kafka_assignment_lost(rk))
                txn_abort(st, cooperative, "assignment lost");
            else
                txn_commit(st, cooperative);
        }
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            aerr = rd_kafka_assign(rk, NULL);
    }
    if (error != NULL) {
        stage_fail(st, "rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        stage_fail(st, "rebalance: %s", rd_kafka_err2str(aerr));
    }
}

/* Produces the outbox into the open transaction. Returns 0, 1 when the transaction was
 * aborted, -1 when the stage failed. */
static int produce_outbox(struct stage *st)
{
    char fatal[512];
    char why[512];
    size_t i;

    for (i = 0; i < st->ob.cnt; i++) {
        const struct outbox_msg *m = &st->ob.msgs[i];
        rd_kafka_resp_err_t err;

        /* A full queue empties as earlier messages are delivered. */
        while ((err = rd_kafka_producev(st->producer, RD_KAFKA_V_TOPIC(m->topic),
                                        RD_KAFKA_V_KEY(m->key, m->klen),
                                        RD_KAFKA_V_VALUE(m->val, m->vlen),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(st->producer, 100);
        if (!err)
            continue;
        if (rd_kafka_fatal_error(st->producer, fatal, sizeof(fatal))) {
            stage_fail(st, "produce to %s: fatal: %s", m->topic, fatal);
            return -1;
        }
        /* Anything else (the transaction already failed, a message too large): the
         * transaction cannot carry this input; abort and retry it from the committed offsets
         * (bounded by STAGE_MAX_ABORTS_IN_ROW). */
        snprintf(why, sizeof(why), "produce to %s: %s", m->topic, rd_kafka_err2str(err));
        return txn_abort(st, 1, why) == 0 ? 1 : -1;
    }
    return 0;
}

/* Notes that rkm was processed in the open transaction: its partition restarts after it. */
static int track_offset(struct stage *st, const rd_kafka_message_t *rkm)
{
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    rd_kafka_topic_partition_t *p;

    p = rd_kafka_topic_partition_list_find(st->offsets, topic, rkm->partition);
    if (p == NULL)
        p = rd_kafka_topic_partition_list_add(st->offsets, topic, rkm->partition);
    if (p == NULL) {
        stage_fail(st, "out of memory");
        return -1;
    }
    p->offset = rkm->offset + 1;
    return 0;
}

/* Processes one input inside the open transaction (beginning one if needed). */
static void handle_message(struct stage *st, const rd_kafka_message_t *rkm)
{
    mt_stage_result r;
    int ret;

    st->last_activity_ms = now_ms();
    if (!st->in_txn && txn_begin(st) != 0)
        return;
    r = st->ops->process(st->opaque, rkm, &st->ob);
    if (r != MT_STAGE_OK) {
        mt_outbox_clear(&st->ob);
        stage_fail(st, "process() failed on %s [%" PRId32 "] at offset %" PRId64,
                   rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
        return;
    }
    /* Tracked before producing: if producing aborts, this partition is among those rewound,
     * even when rkm is its first message in the transaction. */
    ret = track_offset(st, rkm);
    if (ret == 0)
        ret = produce_outbox(st);
    mt_outbox_clear(&st->ob);
    if (ret != 0)
        return; /* aborted and rewound (the message comes again), or failed */
    st->txn_msgs++;
}

/* Creates both clients: the producer first, so assigned() always has it. */
static int stage_start(struct stage *st)
{
    const mt_stage_conf *sc = st->sc;
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_conf_t *conf;
    rd_kafka_resp_err_t err;
    char why[512];
    int n;

    conf = mt_kafka_conf_new(sc->brokers, sc->props, why, sizeof(why));
    if (conf == NULL)
        goto fail;
    /* Takes conf. Idempotent only here; the transactional id is set on conf so that
     * init_txn() can wait for the coordinator while still heeding *run. */
    if (conf_set(conf, "transactional.id", sc->transactional_id, why, sizeof(why)) != 0) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    st->producer = mt_kafka_producer_new(conf, NULL, -1, why, sizeof(why));
    if (st->producer == NULL ||
        init_txn(st->producer, sc->transactional_id, -1, sc->run, why, sizeof(why)) != 0)
        goto fail;

    conf = mt_kafka_conf_new(sc->brokers, sc->props, why, sizeof(why));
    if (conf == NULL)
        goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, st);
    st->consumer = mt_kafka_consumer_new(conf, sc->group_id, why, sizeof(why)); /* takes conf */
    if (st->consumer == NULL)
        goto fail;

    for (n = 0; sc->input_topics[n] != NULL; n++)
        ;
    topics = rd_kafka_topic_partition_list_new(n);
    for (n = 0; sc->input_topics[n] != NULL; n++)
        rd_kafka_topic_partition_list_add(topics, sc->input_topics[n], RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(st->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(why, sizeof(why), "subscribe: %s", rd_kafka_err2str(err));
        goto fail;
    }
    return 0;

fail:
    stage_fail(st, "%s", why);
    return -1;
}

int mt_stage_run(const mt_stage_conf *sc_in, const mt_stage_ops *ops, void *opaque,
                 char *errstr, size_t errstr_size)
{
    mt_stage_conf sc;
    struct stage st = { 0 };
    char fatal[512];

    if (sc_in == NULL) {
        set_err(errstr, errstr_size, "stage: no configuration");
        return -1;
    }
    sc = *sc_in;
    if (sc.name == NULL)
        sc.name = "stage";
    if (sc.max_batch <= 0)
        sc.max_batch = 1000;
    if (sc.max_batch_ms <= 0)
        sc.max_batch_ms = 100;
    if (ops == NULL || ops->process == NULL || sc.group_id == NULL ||
        sc.transactional_id == NULL || sc.input_topics == NULL ||
        sc.input_topics[0] == NULL) {
        set_err(errstr, errstr_size,
                "%s: needs process(), a group id, a transactional id and input topics",
                sc.name);
        return -1;
    }
    st.sc = &sc;
    st.ops = ops;
    st.opaque = opaque;
    st.errstr = errstr;
    st.errstr_size = errstr_size;
    st.offsets = rd_kafka_topic_partition_list_new(8);

    if (stage_start(&st) != 0)
        goto cleanup;
    st.last_activity_ms = now_ms(); /* idle time counts from the subscription */
    mt_log_info("%s: running (group %s, transactional id %s)", sc.name, sc.group_id,
                sc.transactional_id);

    while (!st.failed && (sc.run == NULL || *sc.run)) {
        int64_t now = now_ms();
        int timeout = 100;
        rd_kafka_message_t *rkm;

        if (st.in_txn && (st.txn_msgs >= sc.max_batch ||
                          now - st.txn_start_ms >= sc.max_batch_ms)) {
            if (txn_commit(&st, 1) < 0)
                break;
            now = now_ms();
        }
        if (sc.idle_exit_ms > 0 && now - st.last_activity_ms >= sc.idle_exit_ms) {
            mt_log_info("%s: no input for %d ms: stopping", sc.name, sc.idle_exit_ms);
            break;
        }
        if (st.in_txn && st.txn_start_ms + sc.max_batch_ms - now < timeout)
            timeout = (int)(st.txn_start_ms + sc.max_batch_ms - now);

        rkm = rd_kafka_consumer_poll(st.consumer, timeout < 0 ? 0 : timeout);
        rd_kafka_poll(st.producer, 0); /* delivery reports, producer errors */

        /* A fatal producer error (fenced, idempotence broken) can come from its own threads;
         * rd_kafka_fatal_error() is how to see it. */
        if (rd_kafka_fatal_error(st.producer, fatal, sizeof(fatal)))
            stage_fail(&st, "producer: fatal: %s", fatal);
        else if (rd_kafka_fatal_error(st.consumer, fatal, sizeof(fatal)))
            stage_fail(&st, "consumer: fatal: %s", fatal);
        if (rkm == NULL) {
            if (st.ops->idle != NULL)
                st.ops->idle(st.opaque);
            continue;
        }
        if (rkm->err) {
            /* Consumer errors are informational (the client recovers by itself), except
             * __FATAL (e.g. fenced static membership). */
            if (rkm->err == RD_KAFKA_RESP_ERR__FATAL) {
                rd_kafka_fatal_error(st.consumer, fatal, sizeof(fatal));
                stage_fail(&st, "consumer: fatal: %s", fatal);
            } else if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                mt_log_debug("%s: consumer: %s", sc.name, rd_kafka_message_errstr(rkm));
            } else {
                mt_log_warn("%s: consumer: %s", sc.name, rd_kafka_message_errstr(rkm));
            }
        } else if (!st.failed) {
            handle_message(&st, rkm);
        }
        rd_kafka_message_destroy(rkm);
    }

    /* Leaving: commit what was processed, or abort it when the stage failed. A stage with
     * something to say at the end (the aggregator's last checkpoint) gets a transaction. */
    st.closing = 1;
    if (!st.in_txn && !st.failed && ops->before_commit != NULL && st.producer != NULL)
        txn_begin(&st);
    if (st.in_txn && !st.failed)
        txn_commit(&st, 0);
    else if (st.in_txn && !rd_kafka_fatal_error(st.producer, NULL, 0))
        txn_abort(&st, 0, "stopping after an error");
    if (st.in_txn) {
        /* Neither worked (the producer is fenced or broken): the coordinator aborts the
         * transaction at transaction.timeout.ms; the stage's pending state goes now. */
        txn_reset(&st);
        if (ops->txn_aborted != NULL)
            ops->txn_aborted(opaque);
    }

cleanup:
    /* Close order: consumer (its revoke sees no open transaction), then producer. */
    if (st.consumer != NULL) {
        rd_kafka_consumer_close(st.consumer);
        rd_kafka_destroy(st.consumer);
    }
    if (st.producer != NULL)
        rd_kafka_destroy(st.producer);
    mt_outbox_clear(&st.ob);
    free(st.ob.msgs);
    rd_kafka_topic_partition_list_destroy(st.offsets);
    if (st.failed)
        return -1;
    mt_log_info("%s: stopped", sc.name);
    return 0;
}
