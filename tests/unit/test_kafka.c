/* test_kafka.c - API-flow tests of the Kafka module (kafka.h) on librdkafka's in-process mock
 * cluster: configuration errors, producer/consumer settings, synchronous produce, and the stage
 * loop committing, aborting and rewinding. The mock stores no transactional offsets and writes
 * no abort markers, so these tests check the calls and hooks, never exactly-once output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka.h"
#include "log.h"

/* Kafka protocol API keys (librdkafka keeps its table private). */
#define APIKEY_PRODUCE 0
#define APIKEY_END_TXN 26

#define N_INPUTS 40

struct cluster {
    rd_kafka_t *rk; /* owns the mock cluster's threads */
    rd_kafka_mock_cluster_t *mc;
    const char *brokers;
};

static int cluster_setup(void **state)
{
    struct cluster *c = calloc(1, sizeof(*c));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];

    if (c == NULL)
        return -1;
    mt_log_set_level(MT_LOG_WARN);
    /* This handle only hosts the mock: silence its "no bootstrap.servers" notice. */
    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (c->rk == NULL)
        return -1;
    c->mc = rd_kafka_mock_cluster_new(c->rk, 1);
    if (c->mc == NULL)
        return -1;
    c->brokers = rd_kafka_mock_cluster_bootstraps(c->mc);
    *state = c;
    return 0;
}

static int cluster_teardown(void **state)
{
    struct cluster *c = *state;

    rd_kafka_mock_cluster_destroy(c->mc);
    rd_kafka_destroy(c->rk);
    free(c);
    return 0;
}

/* ---- configuration ---- */

/* An unknown property is refused, and the error names it. */
static void test_conf_rejects_unknown_property(void **state)
{
    const char *props[] = { "linger.ms", "1", "no.such.property", "1", NULL };
    char errstr[512] = "";

    (void)state;
    assert_null(mt_kafka_conf_new("localhost:9092", props, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "no.such.property"));
}

/* An invalid value of an ordinary property is refused with librdkafka's reason. */
static void test_conf_rejects_invalid_value(void **state)
{
    const char *props[] = { "linger.ms", "soon", NULL };
    char errstr[512] = "";

    (void)state;
    assert_null(mt_kafka_conf_new(NULL, props, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "linger.ms"));
}

/* A property with a secret-looking name: the error names it, nothing shows its value, and
 * nothing is written to stderr or the log. */
static void test_conf_never_shows_secret_value(void **state)
{
    const char *props[] = { "my.client.secret", "hunter2-value", NULL };
    char errstr[512] = "";
    char printed[4096] = "";
    FILE *log_fp = tmpfile();
    FILE *err_fp = tmpfile();
    int saved_fd = dup(2);
    size_t n;

    (void)state;
    assert_non_null(log_fp);
    assert_non_null(err_fp);
    assert_true(saved_fd >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(err_fp), 2) >= 0);
    mt_log_set_stream(log_fp);

    assert_null(mt_kafka_conf_new(NULL, props, errstr, sizeof(errstr)));

    mt_log_set_stream(NULL);
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    assert_non_null(strstr(errstr, "my.client.secret"));
    assert_null(strstr(errstr, "hunter2"));
    rewind(err_fp);
    n = fread(printed, 1, sizeof(printed) - 1, err_fp);
    assert_int_equal(n, 0);
    rewind(log_fp);
    n = fread(printed, 1, sizeof(printed) - 1, log_fp);
    assert_int_equal(n, 0);
    fclose(err_fp);
    fclose(log_fp);
}

/* A property name without a value is refused. */
static void test_conf_rejects_missing_value(void **state)
{
    const char *props[] = { "linger.ms", NULL };
    char errstr[512] = "";

    (void)state;
    assert_null(mt_kafka_conf_new(NULL, props, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "linger.ms"));
}

static void assert_conf(rd_kafka_t *rk, const char *name, const char *want)
{
    char val[256];
    size_t size = sizeof(val);

    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), name, val, &size), RD_KAFKA_CONF_OK);
    if (strcmp(val, want) != 0)
        fail_msg("%s = %s, want %s", name, val, want);
}

/* The producer is idempotent, acks=all, Java-compatible partitioning, 5 ms linger. */
static void test_producer_settings(void **state)
{
    struct cluster *c = *state;
    char errstr[512] = "";
    rd_kafka_t *rk;

    rk = mt_kafka_producer_new(mt_kafka_conf_new(c->brokers, NULL, errstr, sizeof(errstr)),
                               NULL, 5000, errstr, sizeof(errstr));
    if (rk == NULL)
        fail_msg("%s", errstr);
    assert_conf(rk, "enable.idempotence", "true");
    assert_conf(rk, "acks", "-1");
    assert_conf(rk, "partitioner", "murmur2_random");
    assert_conf(rk, "linger.ms", "5");
    rd_kafka_destroy(rk);
}

/* The consumer reads committed data only and never commits by itself, even if props ask. */
static void test_consumer_settings(void **state)
{
    struct cluster *c = *state;
    const char *props[] = { "enable.auto.commit", "true", "isolation.level", "read_uncommitted",
                            NULL };
    char errstr[512] = "";
    rd_kafka_t *rk;

    rk = mt_kafka_consumer_new(mt_kafka_conf_new(c->brokers, props, errstr, sizeof(errstr)),
                               "settings-group", errstr, sizeof(errstr));
    if (rk == NULL)
        fail_msg("%s", errstr);
    assert_conf(rk, "group.id", "settings-group");
    assert_conf(rk, "isolation.level", "read_committed");
    assert_conf(rk, "enable.auto.commit", "false");
    assert_conf(rk, "enable.auto.offset.store", "false");
    assert_conf(rk, "auto.offset.reset", "smallest");
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* A NULL conf or group id is an error, not a crash. */
static void test_constructors_refuse_null(void **state)
{
    char errstr[512] = "";

    (void)state;
    assert_null(mt_kafka_producer_new(NULL, NULL, 0, errstr, sizeof(errstr)));
    assert_null(mt_kafka_consumer_new(NULL, "g", errstr, sizeof(errstr)));
    assert_null(mt_kafka_consumer_new(rd_kafka_conf_new(), NULL, errstr, sizeof(errstr)));
    assert_non_null(strstr(errstr, "group"));
}

/* ---- synchronous produce ---- */

static rd_kafka_t *new_producer(const struct cluster *c)
{
    char errstr[512] = "";
    rd_kafka_t *rk;

    rk = mt_kafka_producer_new(mt_kafka_conf_new(c->brokers, NULL, errstr, sizeof(errstr)),
                               NULL, 5000, errstr, sizeof(errstr));
    if (rk == NULL)
        fail_msg("%s", errstr);
    return rk;
}

/* produce_sync returns the broker's refusal, then succeeds once the broker accepts. */
static void test_produce_sync_reports_delivery_error(void **state)
{
    struct cluster *c = *state;
    char errstr[512] = "";
    rd_kafka_t *rk;

    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "sync", 1, 1), 0);
    rk = new_producer(c);
    rd_kafka_mock_push_request_errors(c->mc, APIKEY_PRODUCE, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    assert_int_equal(mt_kafka_produce_sync(rk, "sync", "k", 1, "v", 1, 5000, errstr,
                                           sizeof(errstr)), -1);
    assert_non_null(strstr(errstr,
                           rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)));
    if (mt_kafka_produce_sync(rk, "sync", "k", 1, "v", 1, 5000, errstr, sizeof(errstr)) != 0)
        fail_msg("%s", errstr);
    /* A NULL key and a tombstone are valid messages too. */
    if (mt_kafka_produce_sync(rk, "sync", NULL, 0, NULL, 0, 5000, errstr, sizeof(errstr)) != 0)
        fail_msg("%s", errstr);
    rd_kafka_destroy(rk);
}

/* ---- outbox ---- */

/* The outbox copies messages and keeps null keys and tombstones apart from empty ones. */
static void test_outbox_copies(void **state)
{
    mt_outbox *ob = mt_outbox_new();
    char key[] = "key";
    const char *topic;
    const void *k, *v;
    size_t klen, vlen;

    (void)state;
    assert_non_null(ob);
    assert_int_equal(mt_outbox_add(ob, "t1", key, 3, "value", 5), 0);
    assert_int_equal(mt_outbox_add(ob, "t2", NULL, 7, NULL, 9), 0);
    assert_int_equal(mt_outbox_add(ob, "t3", "", 0, "", 0), 0);
    key[0] = 'X';
    assert_int_equal(mt_outbox_count(ob), 3);
    assert_int_equal(mt_outbox_get(ob, 0, &topic, &k, &klen, &v, &vlen), 0);
    assert_string_equal(topic, "t1");
    assert_memory_equal(k, "key", 3);
    assert_int_equal(klen, 3);
    assert_memory_equal(v, "value", 5);
    assert_int_equal(mt_outbox_get(ob, 1, &topic, &k, &klen, &v, &vlen), 0);
    assert_null(k);
    assert_int_equal(klen, 0);
    assert_null(v);
    assert_int_equal(vlen, 0);
    assert_int_equal(mt_outbox_get(ob, 2, &topic, &k, &klen, &v, &vlen), 0);
    assert_non_null(k);
    assert_non_null(v);
    assert_int_equal(mt_outbox_get(ob, 3, &topic, &k, &klen, &v, &vlen), -1);
    mt_outbox_clear(ob);
    assert_int_equal(mt_outbox_count(ob), 0);
    mt_outbox_destroy(ob);
    mt_outbox_destroy(NULL);
}

/* ---- the stage loop ---- */

/* An upper-casing copy stage that counts its calls. */
struct upper {
    const char *out_topic;
    int process_calls;
    int begins, commits, aborts, assigns;
    int idles, calls_at_idle; /* idle() calls; process_calls at the last */
    int calls_at_begin;  /* process_calls when the open transaction began */
    int aborted_inputs;  /* inputs processed in transactions that were aborted */
    int seen[N_INPUTS]; /* times input i was processed */
    volatile sig_atomic_t *run; /* cleared after stop_after inputs, if set */
    int stop_after;
};

static mt_stage_result upper_process(void *opaque, const rd_kafka_message_t *rkm,
                                     mt_outbox *ob)
{
    struct upper *u = opaque;
    char val[64] = "";
    size_t i, n = rkm->len < sizeof(val) - 1 ? rkm->len : sizeof(val) - 1;
    int idx;

    if (++u->process_calls == u->stop_after)
        *u->run = 0; /* as a signal handler would */
    memcpy(val, rkm->payload, n);
    if (sscanf(val, "v%d", &idx) == 1 && idx >= 0 && idx < N_INPUTS)
        u->seen[idx]++;
    for (i = 0; i < n; i++)
        val[i] = (char)toupper((unsigned char)val[i]);
    if (mt_outbox_add(ob, u->out_topic, rkm->key, rkm->key_len, val, n) != 0)
        return MT_STAGE_FATAL;
    return MT_STAGE_OK;
}

static void upper_begin(void *opaque)
{
    struct upper *u = opaque;

    u->begins++;
    u->calls_at_begin = u->process_calls;
}

static void upper_committed(void *opaque)
{
    ((struct upper *)opaque)->commits++;
}

static void upper_aborted(void *opaque)
{
    struct upper *u = opaque;

    u->aborts++;
    u->aborted_inputs += u->process_calls - u->calls_at_begin;
}

static int upper_assigned(void *opaque, rd_kafka_t *producer,
                          const rd_kafka_topic_partition_list_t *parts)
{
    assert_non_null(producer);
    assert_true(parts->cnt > 0);
    ((struct upper *)opaque)->assigns++;
    return 0;
}

static void upper_idle(void *opaque)
{
    struct upper *u = opaque;

    u->idles++;
    u->calls_at_idle = u->process_calls;
}

static const mt_stage_ops upper_ops = { upper_process, upper_begin, upper_committed,
                                        upper_aborted, upper_assigned, NULL, NULL, upper_idle };

/* Produces N_INPUTS messages "v<i>" keyed "k<i>" to topic: all queued, then one flush (one
 * mt_kafka_produce_sync() per message would cost a linger and a round trip each). */
static void produce_inputs(const struct cluster *c, const char *topic)
{
    rd_kafka_t *rk = new_producer(c);
    char key[16], val[16];
    int i;

    for (i = 0; i < N_INPUTS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                           RD_KAFKA_V_KEY(key, strlen(key)),
                                           RD_KAFKA_V_VALUE(val, strlen(val)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(rk, 5000), 0);
    assert_int_equal(rd_kafka_outq_len(rk), 0);
    rd_kafka_destroy(rk);
}

/* Counts the messages of topic (nparts partitions) from the beginning; checks each value is
 * "V<i>". */
static int count_outputs(const struct cluster *c, const char *topic, int nparts)
{
    /* The mock holds an empty fetch for fetch.wait.max.ms (500) before reporting EOF. */
    const char *props[] = { "enable.partition.eof", "true", "fetch.wait.max.ms", "10", NULL };
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    char errstr[512] = "", group[64];
    int i, eofs = 0, count = 0, idx;
    rd_kafka_t *rk;

    snprintf(group, sizeof(group), "reader-%s", topic);
    rk = mt_kafka_consumer_new(mt_kafka_conf_new(c->brokers, props, errstr, sizeof(errstr)),
                               group, errstr, sizeof(errstr));
    if (rk == NULL)
        fail_msg("%s", errstr);
    for (i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    for (i = 0; i < 100 && eofs < nparts; i++) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);

        if (rkm == NULL)
            continue;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (rkm->err == 0) {
            char val[32] = "";

            memcpy(val, rkm->payload, rkm->len < sizeof(val) - 1 ? rkm->len : sizeof(val) - 1);
            assert_int_equal(sscanf(val, "V%d", &idx), 1);
            count++;
        }
        rd_kafka_message_destroy(rkm);
    }
    assert_int_equal(eofs, nparts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return count;
}

static void stage_conf_init(mt_stage_conf *sc, const struct cluster *c, const char *in_topic[],
                            const char *name, volatile sig_atomic_t *run)
{
    memset(sc, 0, sizeof(*sc));
    sc->name = name;
    sc->brokers = c->brokers;
    sc->group_id = name;
    sc->transactional_id = name;
    sc->input_topics = in_topic;
    sc->max_batch = 8;
    sc->max_batch_ms = 100;
    sc->run = run;
    sc->idle_exit_ms = 4000; /* > the mock's ~3 s group join */
}

/* The stage copies every input once, in transactions of at most max_batch inputs, and stops
 * when idle. */
static void test_stage_processes_all_inputs(void **state)
{
    struct cluster *c = *state;
    const char *in_topic[] = { "in1", NULL };
    volatile sig_atomic_t run = 1;
    struct upper u = { .out_topic = "out1" };
    mt_stage_conf sc;
    char errstr[512] = "";
    int i;

    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "in1", 2, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "out1", 2, 1), 0);
    produce_inputs(c, "in1");
    stage_conf_init(&sc, c, in_topic, "copy-ok", &run);

    if (mt_stage_run(&sc, &upper_ops, &u, errstr, sizeof(errstr)) != 0)
        fail_msg("%s", errstr);

    assert_int_equal(u.process_calls, N_INPUTS);
    for (i = 0; i < N_INPUTS; i++)
        assert_int_equal(u.seen[i], 1);
    assert_int_equal(u.aborts, 0);
    assert_true(u.commits >= N_INPUTS / sc.max_batch);
    assert_int_equal(u.begins, u.commits);
    assert_true(u.assigns >= 1);
    /* the idle time before it stopped was spent in idle() calls, after the last input */
    assert_true(u.idles >= 10);
    assert_int_equal(u.calls_at_idle, N_INPUTS);
    assert_int_equal(count_outputs(c, "out1", 2), N_INPUTS);
}

/* An abortable EndTxn error makes the loop abort, call txn_aborted, rewind, and still process
 * every input. (The mock keeps no transactional offsets, so the rewind goes to the beginning,
 * and it writes no abort markers, so the aborted outputs stay visible.) */
static void test_stage_aborts_and_rewinds(void **state)
{
    struct cluster *c = *state;
    const char *in_topic[] = { "in2", NULL };
    volatile sig_atomic_t run = 1;
    struct upper u = { .out_topic = "out2" };
    mt_stage_conf sc;
    char errstr[512] = "";
    int i;

    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "in2", 1, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "out2", 1, 1), 0);
    produce_inputs(c, "in2");
    stage_conf_init(&sc, c, in_topic, "copy-abort", &run);
    /* Abortable in librdkafka 2.0.2 (its test 0105 do_test_txn_endtxn_errors). */
    rd_kafka_mock_push_request_errors(c->mc, APIKEY_END_TXN, 1,
                                      RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);

    if (mt_stage_run(&sc, &upper_ops, &u, errstr, sizeof(errstr)) != 0)
        fail_msg("%s", errstr);

    assert_int_equal(u.aborts, 1);
    assert_true(u.commits >= 1);
    assert_int_equal(u.begins, u.commits + u.aborts);
    /* The aborted batch came again, exactly once: no message prefetched before the rewind
     * slipped through. */
    assert_true(u.aborted_inputs > 0);
    assert_int_equal(u.process_calls, N_INPUTS + u.aborted_inputs);
    for (i = 0; i < N_INPUTS; i++)
        assert_true(u.seen[i] >= 1);
    assert_true(count_outputs(c, "out2", 1) >= N_INPUTS);
}

/* A fatal error (the producer fenced by a newer instance) stops the loop with -1 and the
 * reason; nothing is committed. */
static void test_stage_stops_on_fatal_error(void **state)
{
    struct cluster *c = *state;
    const char *in_topic[] = { "in3", NULL };
    volatile sig_atomic_t run = 1;
    struct upper u = { .out_topic = "out3" };
    mt_stage_conf sc;
    char errstr[512] = "";

    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "in3", 1, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "out3", 1, 1), 0);
    produce_inputs(c, "in3");
    stage_conf_init(&sc, c, in_topic, "copy-fenced", &run);
    rd_kafka_mock_push_request_errors(c->mc, APIKEY_END_TXN, 1,
                                      RD_KAFKA_RESP_ERR_PRODUCER_FENCED);

    assert_int_equal(mt_stage_run(&sc, &upper_ops, &u, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "copy-fenced"));
    assert_non_null(strstr(errstr, "commit_transaction"));
    assert_int_equal(u.commits, 0);
    assert_int_equal(u.aborts, 1); /* the open transaction's state is dropped */
    assert_int_equal(u.aborted_inputs, u.process_calls);
}

/* Clearing *run ends the loop with 0 after committing the open transaction. */
static void test_stage_stops_when_run_cleared(void **state)
{
    struct cluster *c = *state;
    const char *in_topic[] = { "in4", NULL };
    volatile sig_atomic_t run = 1;
    struct upper u = { .out_topic = "out4", .run = &run, .stop_after = 5 };
    mt_stage_conf sc;
    char errstr[512] = "";

    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "in4", 1, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(c->mc, "out4", 1, 1), 0);
    produce_inputs(c, "in4");
    stage_conf_init(&sc, c, in_topic, "copy-stop", &run);
    sc.max_batch_ms = 60000; /* only the stop commits */
    sc.idle_exit_ms = 0;

    if (mt_stage_run(&sc, &upper_ops, &u, errstr, sizeof(errstr)) != 0)
        fail_msg("%s", errstr);
    assert_int_equal(u.process_calls, 5);
    assert_int_equal(u.begins, 1);
    assert_int_equal(u.commits, 1);
    assert_int_equal(u.aborts, 0);
    assert_int_equal(count_outputs(c, "out4", 1), 5);
}

/* A stage configuration without input topics is an error before any client exists. */
static void test_stage_refuses_bad_conf(void **state)
{
    struct cluster *c = *state;
    const char *no_topics[] = { NULL };
    struct upper u = { .out_topic = "x" };
    mt_stage_conf sc;
    char errstr[512] = "";

    stage_conf_init(&sc, c, no_topics, "bad", NULL);
    assert_int_equal(mt_stage_run(&sc, &upper_ops, &u, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "input topics"));
    assert_int_equal(mt_stage_run(NULL, &upper_ops, &u, errstr, sizeof(errstr)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_rejects_unknown_property),
        cmocka_unit_test(test_conf_rejects_invalid_value),
        cmocka_unit_test(test_conf_never_shows_secret_value),
        cmocka_unit_test(test_conf_rejects_missing_value),
        cmocka_unit_test(test_producer_settings),
        cmocka_unit_test(test_consumer_settings),
        cmocka_unit_test(test_constructors_refuse_null),
        cmocka_unit_test(test_produce_sync_reports_delivery_error),
        cmocka_unit_test(test_outbox_copies),
        cmocka_unit_test(test_stage_processes_all_inputs),
        cmocka_unit_test(test_stage_aborts_and_rewinds),
        cmocka_unit_test(test_stage_stops_on_fatal_error),
        cmocka_unit_test(test_stage_stops_when_run_cleared),
        cmocka_unit_test(test_stage_refuses_bad_conf),
    };

    return cmocka_run_group_tests(tests, cluster_setup, cluster_teardown);
}
