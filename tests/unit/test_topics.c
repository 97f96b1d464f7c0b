/* test_topics.c - the topics file: the real one loads, bad ones are refused, topics get created. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "topics.h"

#define REAL_FILE "schemas/topics.json" /* tests run from the repository root */

/* Writes content to a new temporary file whose name goes to path. */
static void write_temp(char path[64], const char *content) {
    FILE *fp;
    int fd;

    snprintf(path, 64, "/tmp/mt_test_topics_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    assert_true(fputs(content, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
}

/* Loads content from a temporary file; returns mt_topics_load()'s result, errstr filled. */
static int load_string(const char *content, char path[64], char *errstr, size_t errstr_size) {
    mt_topics t = {0};
    int ret;

    write_temp(path, content);
    ret = mt_topics_load(&t, path, "mintrace.", errstr, errstr_size);
    unlink(path);
    if (ret == -1) {
        /* a failed load leaves t empty */
        assert_null(t.v);
        assert_int_equal(t.cnt, 0);
    }
    mt_topics_release(&t);
    return ret;
}

static int setup_real(void **state) {
    mt_topics *t = calloc(1, sizeof(*t));
    char errstr[512];

    if (!t)
        return -1;
    if (mt_topics_load(t, REAL_FILE, "mintrace.", errstr, sizeof(errstr)) == -1) {
        fprintf(stderr, "%s\n", errstr);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown_real(void **state) {
    mt_topics_release(*state);
    free(*state);
    return 0;
}

/* Every topic of the real file gets the prefix. */
static void test_real_file_has_prefix(void **state) {
    const mt_topics *t = *state;
    size_t i;

    assert_true(t->cnt >= 9);
    for (i = 0; i < t->cnt; i++)
        assert_int_equal(strncmp(t->v[i].name, "mintrace.", 9), 0);
}

/* The topics whose order matters have exactly one partition. */
static void test_real_file_single_partition_topics(void **state) {
    const char *names[] = {"ledger", "checkpoints", "events.attested", "rejected"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const mt_topic *tp = mt_topics_find(*state, names[i]);

        assert_non_null(tp);
        assert_int_equal(tp->partitions, 1);
    }
}

/* provenance and registry are compacted. */
static void test_real_file_compacted_topics(void **state) {
    assert_string_equal(mt_topics_find(*state, "provenance")->cleanup_policy, "compact");
    assert_string_equal(mt_topics_find(*state, "registry")->cleanup_policy, "compact");
}

/* find takes the short name; the full name or an unknown one finds nothing. */
static void test_find_by_short_name(void **state) {
    const mt_topic *tp = mt_topics_find(*state, "ledger");

    assert_non_null(tp);
    assert_string_equal(tp->name, "mintrace.ledger");
    assert_null(mt_topics_find(*state, "mintrace.ledger"));
    assert_null(mt_topics_find(*state, "nope"));
    assert_null(mt_topics_find(NULL, "ledger"));
}

/* Another prefix (or none) goes in front of every name. */
static void test_other_prefix(void **state) {
    mt_topics t = {0};
    char errstr[512];

    (void)state;
    assert_int_equal(mt_topics_load(&t, REAL_FILE, "test-1.", errstr, sizeof(errstr)), 0);
    assert_string_equal(mt_topics_find(&t, "ledger")->name, "test-1.ledger");
    mt_topics_release(&t);
    assert_int_equal(mt_topics_load(&t, REAL_FILE, "", errstr, sizeof(errstr)), 0);
    assert_string_equal(mt_topics_find(&t, "ledger")->name, "ledger");
    mt_topics_release(&t);
}

/* Malformed JSON: the error names the file and the line. */
static void test_malformed_json_names_line(void **state) {
    char path[64], errstr[512], want[128];

    (void)state;
    assert_int_equal(load_string("{\n  \"topics\": [\n    {\"name\": \"a\",, }\n  ]\n}\n",
                                 path, errstr, sizeof(errstr)),
                     -1);
    snprintf(want, sizeof(want), "%s:3:", path);
    assert_non_null(strstr(errstr, want));
}

/* A topics file of two entries: a valid one, then the one given (topics[1]). */
static const char *topic_json(char *buf, size_t size, const char *name, const char *partitions,
                              const char *policy) {
    snprintf(buf, size,
             "{\"topics\": [\n"
             "  {\"name\": \"ok\", \"partitions\": 1, \"cleanup_policy\": \"delete\",\n"
             "   \"retention_ms\": -1},\n"
             "  {\"name\": \"%s\", \"partitions\": %s, \"cleanup_policy\": \"%s\",\n"
             "   \"retention_ms\": 1000}]}\n",
             name, partitions, policy);
    return buf;
}

/* A well-formed entry loads (the baseline of the rejection tests below). */
static void test_valid_entry_loads(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "x_y-z.1", "3", "compact,delete"),
                                 path, errstr, sizeof(errstr)),
                     0);
}

/* partitions 0 is rejected, naming the entry and the field. */
static void test_zero_partitions_rejected(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "t", "0", "delete"),
                                 path, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "topics[1]"));
    assert_non_null(strstr(errstr, "partitions"));
}

/* A non-integer partition count is rejected. */
static void test_fractional_partitions_rejected(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "t", "1.5", "delete"),
                                 path, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "partitions"));
}

/* An unknown cleanup policy is rejected. */
static void test_unknown_cleanup_policy_rejected(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "t", "1", "forever"),
                                 path, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "topics[1]"));
    assert_non_null(strstr(errstr, "cleanup_policy"));
}

/* A name with a character Kafka does not allow is rejected. */
static void test_bad_name_rejected(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "led/ger", "1", "delete"),
                                 path, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "topics[1]"));
    assert_non_null(strstr(errstr, "name"));
}

/* The same name twice is rejected. */
static void test_duplicate_name_rejected(void **state) {
    char path[64], errstr[512], buf[512];

    (void)state;
    assert_int_equal(load_string(topic_json(buf, sizeof(buf), "ok", "1", "delete"),
                                 path, errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "already defined"));
}

/* A missing file and a bad prefix are errors; errstr may be NULL. */
static void test_missing_file_and_bad_prefix(void **state) {
    mt_topics t = {0};
    char errstr[512];

    (void)state;
    assert_int_equal(mt_topics_load(&t, "/nonexistent/topics.json", "mintrace.",
                                    errstr, sizeof(errstr)),
                     -1);
    assert_non_null(strstr(errstr, "/nonexistent/topics.json"));
    assert_int_equal(mt_topics_load(&t, REAL_FILE, "bad prefix", NULL, 0), -1);
    mt_topics_release(&t);
    mt_topics_release(NULL);
}

/* MINTRACE_TOPICS wins over the file in the working directory. */
static void test_default_path(void **state) {
    (void)state;
    setenv("MINTRACE_TOPICS", "/elsewhere/topics.json", 1);
    assert_string_equal(mt_topics_default_path(), "/elsewhere/topics.json");
    unsetenv("MINTRACE_TOPICS");
    assert_string_equal(mt_topics_default_path(), REAL_FILE);
}

static rd_kafka_t *new_producer(const char *bootstraps) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    rd_kafka_t *rk;

    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    if (bootstraps)
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps,
                                           errstr, sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
    /* rd_kafka_new() takes ownership of conf */
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    return rk;
}

/* Topics created on a mock cluster have the partition counts of the file; creating them
 * again is refused, naming the topic. */
static void test_create_on_mock_cluster(void **state) {
    const mt_topics *t = *state;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *mock_rk = new_producer(NULL), *rk;
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mock_rk, 3);
    char errstr[512];
    size_t i;
    int j;

    assert_non_null(mc);
    assert_int_equal(mt_topics_create_mock(mc, t, errstr, sizeof(errstr)), 0);

    rk = new_producer(rd_kafka_mock_cluster_bootstraps(mc));
    assert_int_equal(rd_kafka_metadata(rk, 1, NULL, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (i = 0; i < t->cnt; i++) {
        const struct rd_kafka_metadata_topic *mdt = NULL;

        for (j = 0; j < md->topic_cnt; j++) {
            if (!strcmp(md->topics[j].topic, t->v[i].name))
                mdt = &md->topics[j];
        }
        assert_non_null(mdt);
        assert_int_equal(mdt->err, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(mdt->partition_cnt, t->v[i].partitions);
    }
    rd_kafka_metadata_destroy(md);

    assert_int_equal(mt_topics_create_mock(mc, t, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, t->v[0].name));

    rd_kafka_destroy(rk);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mock_rk);
}

/* A test whose *state is the real topics file, loaded. */
#define REAL(f) cmocka_unit_test_setup_teardown(f, setup_real, teardown_real)

int main(void) {
    const struct CMUnitTest tests[] = {
        REAL(test_real_file_has_prefix),
        REAL(test_real_file_single_partition_topics),
        REAL(test_real_file_compacted_topics),
        REAL(test_find_by_short_name),
        cmocka_unit_test(test_other_prefix),
        cmocka_unit_test(test_malformed_json_names_line),
        cmocka_unit_test(test_valid_entry_loads),
        cmocka_unit_test(test_zero_partitions_rejected),
        cmocka_unit_test(test_fractional_partitions_rejected),
        cmocka_unit_test(test_unknown_cleanup_policy_rejected),
        cmocka_unit_test(test_bad_name_rejected),
        cmocka_unit_test(test_duplicate_name_rejected),
        cmocka_unit_test(test_missing_file_and_bad_prefix),
        cmocka_unit_test(test_default_path),
        REAL(test_create_on_mock_cluster),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
