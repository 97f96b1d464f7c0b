/* test_log.c - line formats, level filtering, escaping and secret names of the log module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

#define TS_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

/* ---- fixture: the log stream is a temporary file the test reads back ---- */

static int stream_setup(void **state)
{
    FILE *fp = tmpfile();

    if (fp == NULL)
        return -1;
    if (mt_log_init("mintrace-test", "text", MT_LOG_INFO) != 0) {
        fclose(fp);
        return -1;
    }
    mt_log_set_stream(fp);
    *state = fp;
    return 0;
}

static int stream_teardown(void **state)
{
    mt_log_set_stream(NULL);
    fclose(*state);
    return 0;
}

/* captured returns everything written to the stream so far (free() it). */
static char *captured(void **state)
{
    FILE *fp = *state;
    long size;
    char *buf;

    assert_int_equal(fflush(fp), 0);
    size = ftell(fp);
    assert_true(size >= 0);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    rewind(fp);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    buf[size] = '\0';
    return buf;
}

/* count_lines counts '\n' in s. */
static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* assert_matches checks s against an extended regular expression. */
static void assert_matches(const char *s, const char *re)
{
    regex_t rx;
    int rc;

    assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    rc = regexec(&rx, s, 0, NULL, 0);
    regfree(&rx);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", s, re);
}

/* json_one_line parses the single JSON line captured so far; decref the result. */
static json_t *json_one_line(void **state)
{
    char *out = captured(state);
    json_error_t err;
    json_t *obj;

    assert_int_equal(count_lines(out), 1);
    assert_int_equal(out[strlen(out) - 1], '\n');
    obj = json_loads(out, 0, &err);
    if (obj == NULL)
        fail_msg("not JSON: %s: %s", err.text, out);
    assert_true(json_is_object(obj));
    free(out);
    return obj;
}

/* field returns obj[key] as a string, failing the test if it is not one. */
static const char *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("field %s missing or not a string", key);
    return json_string_value(v);
}

/* ---- JSON lines ---- */

/* A JSON line is one valid JSON object with ts, level, prog and msg, in that order. */
static void test_json_line_has_standard_fields(void **state)
{
    json_t *obj;
    const char *key;
    json_t *v;
    const char *order[] = { "ts", "level", "prog", "msg" };
    size_t i = 0;

    assert_int_equal(mt_log_init("mintrace-validate", "json", MT_LOG_INFO), 0);
    mt_log_info("started %d workers", 4);
    obj = json_one_line(state);
    assert_matches(field(obj, "ts"), "^" TS_RE "$");
    assert_string_equal(field(obj, "level"), "info");
    assert_string_equal(field(obj, "prog"), "mintrace-validate");
    assert_string_equal(field(obj, "msg"), "started 4 workers");
    assert_int_equal(json_object_size(obj), 4);
    json_object_foreach(obj, key, v) {
        (void)v;
        assert_string_equal(key, order[i++]);
    }
    json_decref(obj);
}

/* mt_log_kv adds each key/value pair as a string field; a NULL value becomes null. */
static void test_json_kv_fields(void **state)
{
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-validate", "json", MT_LOG_INFO), 0);
    mt_log_kv(MT_LOG_WARN, "event rejected", "topic", "mintrace.events", "partition", "3",
              "offset", "1234", "reason", "bad signature", "trace", NULL, NULL);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "level"), "warn");
    assert_string_equal(field(obj, "msg"), "event rejected");
    assert_string_equal(field(obj, "topic"), "mintrace.events");
    assert_string_equal(field(obj, "partition"), "3");
    assert_string_equal(field(obj, "offset"), "1234");
    assert_string_equal(field(obj, "reason"), "bad signature");
    assert_true(json_is_null(json_object_get(obj, "trace")));
    json_decref(obj);
}

/* Quotes, backslashes, newlines and control characters survive a JSON round trip on one line. */
static void test_json_escapes_quotes_and_newlines(void **state)
{
    static const char nasty[] = "say \"hi\"\\ \n{\"level\":\"error\"}\r\t\x01 end";
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    mt_log_info("%s", nasty);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "msg"), nasty);
    assert_string_equal(field(obj, "level"), "info");
    json_decref(obj);
}

/* Escaping applies to field values too. */
static void test_json_escapes_field_values(void **state)
{
    static const char nasty[] = "a\"b\nc\\d";
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    mt_log_kv(MT_LOG_INFO, "m", "reason", nasty, NULL);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "reason"), nasty);
    json_decref(obj);
}

/* Bytes that are not UTF-8 become U+FFFD and the line stays valid JSON. */
static void test_json_repairs_invalid_utf8(void **state)
{
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    mt_log_kv(MT_LOG_INFO, "bad \xff byte", "k\xc3", "v\xed\xa0\x80" "\xc3\xa9", NULL);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "msg"), "bad \xef\xbf\xbd byte");
    assert_string_equal(field(obj, "k\xef\xbf\xbd"), "v\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
    json_decref(obj);
}

/* A field named like a standard field is renamed with a leading underscore. */
static void test_json_reserved_field_names_are_prefixed(void **state)
{
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    mt_log_kv(MT_LOG_INFO, "real", "level", "fake", "msg", "fake msg", NULL);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "level"), "info");
    assert_string_equal(field(obj, "msg"), "real");
    assert_string_equal(field(obj, "_level"), "fake");
    assert_string_equal(field(obj, "_msg"), "fake msg");
    json_decref(obj);
}

/* The value of a field with a secret name is redacted in JSON lines. */
static void test_json_redacts_secret_fields(void **state)
{
    json_t *obj;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    mt_log_kv(MT_LOG_INFO, "config", "sasl.password", "hunter2", "bootstrap.servers", "k:9092",
              NULL);
    obj = json_one_line(state);
    assert_string_equal(field(obj, "sasl.password"), "[redacted]");
    assert_string_equal(field(obj, "bootstrap.servers"), "k:9092");
    json_decref(obj);
}

/* ---- text lines ---- */

/* A text line is "<ts> <prog> <level>: <message>". */
static void test_text_line_format(void **state)
{
    char *out;

    mt_log_warn("disk %d%% full", 91);
    out = captured(state);
    assert_matches(out, "^" TS_RE " mintrace-test warn: disk 91% full\n$");
    free(out);
}

/* NULL format means text, and the default program name is "mintrace". */
static void test_text_is_default_format(void **state)
{
    char *out;

    assert_int_equal(mt_log_init(NULL, NULL, MT_LOG_INFO), 0);
    mt_log_error("boom");
    out = captured(state);
    assert_matches(out, "^" TS_RE " mintrace error: boom\n$");
    free(out);
}

/* Text fields follow as key=value, quoted and escaped when needed, secrets redacted. */
static void test_text_kv_fields(void **state)
{
    char *out;

    mt_log_kv(MT_LOG_INFO, "event rejected", "topic", "mintrace.events", "reason",
              "bad \"sig\"", "ssl.key.password", "hunter2", "empty", "", "none", NULL, NULL);
    out = captured(state);
    assert_matches(out, "^" TS_RE " mintrace-test info: event rejected topic=mintrace.events "
                        "reason=\"bad \\\\\"sig\\\\\"\" ssl.key.password=\\[redacted\\] "
                        "empty=\"\" none=\\(null\\)\n$");
    assert_null(strstr(out, "hunter2"));
    free(out);
}

/* Newlines in a text message are escaped, so one record stays one line. */
static void test_text_escapes_newlines(void **state)
{
    char *out;

    mt_log_info("line one\nline two\r\x1b[31m");
    out = captured(state);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "info: line one\\nline two\\r\\x1b[31m\n"));
    free(out);
}

/* ---- levels ---- */

/* At level info, debug lines are dropped and info, warn and error lines are written. */
static void test_level_filters_below_minimum(void **state)
{
    char *out;

    mt_log_debug("hidden");
    mt_log_kv(MT_LOG_DEBUG, "hidden too", NULL);
    mt_log_info("i");
    mt_log_warn("w");
    mt_log_error("e");
    out = captured(state);
    assert_int_equal(count_lines(out), 3);
    assert_null(strstr(out, "hidden"));
    free(out);
}

/* mt_log_set_level changes the filter both ways; out-of-range levels are ignored. */
static void test_set_level_changes_filter(void **state)
{
    char *out;

    mt_log_set_level(MT_LOG_DEBUG);
    assert_int_equal(mt_log_get_level(), MT_LOG_DEBUG);
    mt_log_debug("shown");
    mt_log_set_level(MT_LOG_ERROR);
    mt_log_warn("hidden");
    mt_log_error("shown");
    mt_log_set_level((enum mt_log_level)42);
    assert_int_equal(mt_log_get_level(), MT_LOG_ERROR);
    out = captured(state);
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "hidden"));
    free(out);
}

/* mt_log_init refuses an unknown format or level and keeps the previous settings. */
static void test_init_rejects_unknown_format(void **state)
{
    char *out;

    assert_int_equal(mt_log_init("other", "xml", MT_LOG_DEBUG), -1);
    assert_int_equal(mt_log_init("other", "auto", MT_LOG_DEBUG), -1);
    assert_int_equal(mt_log_init("other", "json", (enum mt_log_level)7), -1);
    assert_int_equal(mt_log_get_level(), MT_LOG_INFO);
    mt_log_info("still text");
    out = captured(state);
    assert_matches(out, "^" TS_RE " mintrace-test info: still text\n$");
    free(out);
}

/* Level names parse in any case; anything else is refused. */
static void test_level_parse(void **state)
{
    enum mt_log_level lvl = MT_LOG_INFO;
    (void)state;

    assert_int_equal(mt_log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, MT_LOG_DEBUG);
    assert_int_equal(mt_log_level_parse("ERROR", &lvl), 0);
    assert_int_equal(lvl, MT_LOG_ERROR);
    assert_int_equal(mt_log_level_parse("Warn", &lvl), 0);
    assert_int_equal(lvl, MT_LOG_WARN);
    assert_int_equal(mt_log_level_parse("verbose", &lvl), -1);
    assert_int_equal(mt_log_level_parse(NULL, &lvl), -1);
    assert_int_equal(lvl, MT_LOG_WARN);
    assert_string_equal(mt_log_level_name(MT_LOG_INFO), "info");
}

/* ---- secret names ---- */

/* Names holding passwords, secrets, PEM keys, private keys, tokens or credentials are secret. */
static void test_secret_names_are_detected(void **state)
{
    static const char *const secret[] = {
        "password", "sasl.password", "ssl.key.password", "ssl.keystore.password",
        "ssl.key.pem", "sasl.oauthbearer.client.secret", "SASL.PASSWORD", "Client_Secret",
        "private_key", "signing.private", "api_token", "aws_credentials", "db_passwd",
        "key_passphrase", "sasl.oauthbearer.config", "SSL_KEY",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (mt_log_is_secret_name(secret[i]) != 1)
            fail_msg("%s should be secret", secret[i]);
}

/* Ordinary settings and field names, including a bare "key", are not secret. */
static void test_ordinary_names_are_not_secret(void **state)
{
    static const char *const plain[] = {
        "bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username",
        "ssl.key.location", "ssl.ca.location", "key", "topic", "partition", "offset",
        "reason", "key_id", "",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (mt_log_is_secret_name(plain[i]) != 0)
            fail_msg("%s should not be secret", plain[i]);
    assert_int_equal(mt_log_is_secret_name(NULL), 0);
}

/* ---- threads ---- */

#define THREADS 8
#define LINES 200

static void *log_lines(void *arg)
{
    int i;

    for (i = 0; i < LINES; i++)
        mt_log_kv(MT_LOG_INFO, "concurrent line with a longish message to widen the window",
                  "thread", (const char *)arg, NULL);
    return NULL;
}

/* Lines from concurrent threads never interleave: every line is whole, valid JSON. */
static void test_concurrent_lines_stay_whole(void **state)
{
    pthread_t t[THREADS];
    char names[THREADS][12];
    char *out, *line, *save = NULL;
    size_t n = 0;
    int i;

    assert_int_equal(mt_log_init("mintrace-test", "json", MT_LOG_INFO), 0);
    for (i = 0; i < THREADS; i++) {
        snprintf(names[i], sizeof(names[i]), "%d", i);
        assert_int_equal(pthread_create(&t[i], NULL, log_lines, names[i]), 0);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    out = captured(state);
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_t *obj = json_loads(line, 0, NULL);
        assert_non_null(obj);
        json_decref(obj);
        n++;
    }
    assert_int_equal(n, THREADS * LINES);
    free(out);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, stream_setup, stream_teardown)
    const struct CMUnitTest tests[] = {
        T(test_json_line_has_standard_fields),
        T(test_json_kv_fields),
        T(test_json_escapes_quotes_and_newlines),
        T(test_json_escapes_field_values),
        T(test_json_repairs_invalid_utf8),
        T(test_json_reserved_field_names_are_prefixed),
        T(test_json_redacts_secret_fields),
        T(test_text_line_format),
        T(test_text_is_default_format),
        T(test_text_kv_fields),
        T(test_text_escapes_newlines),
        T(test_level_filters_below_minimum),
        T(test_set_level_changes_filter),
        T(test_init_rejects_unknown_format),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_secret_names_are_detected),
        cmocka_unit_test(test_ordinary_names_are_not_secret),
        T(test_concurrent_lines_stay_whole),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
