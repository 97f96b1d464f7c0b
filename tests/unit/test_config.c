/* test_config.c - unit tests of config.c: layering, config files, -X, secrets, option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

extern char **environ;

typedef struct fixture {
    mt_config *c;
    char path[64];      /* the config file written by write_config(), or "" */
    char errstr[512];
} fixture;

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

/* Removes every MINTRACE_* variable so the caller's environment cannot leak in. */
static void clear_mintrace_env(void)
{
    char **e, name[256];
    size_t len;

    for (e = environ; e && *e; ) {
        if (!strncmp(*e, "MINTRACE_", 9) && (len = strcspn(*e, "=")) < sizeof(name)) {
            memcpy(name, *e, len);
            name[len] = '\0';
            unsetenv(name);
            e = environ;  /* unsetenv shifts environ: start over */
        } else {
            e++;
        }
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    clear_mintrace_env();
    if (!(f->c = mt_config_new())) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    mt_config_destroy(f->c);
    if (f->path[0])
        unlink(f->path);
    free(f);
    clear_mintrace_env();
    return 0;
}

/* Writes content to a fresh temporary config file; its name is in f->path. */
static void write_config(fixture *f, const char *content)
{
    int fd;

    strcpy(f->path, "/tmp/mt_test_config_XXXXXX");
    fd = mkstemp(f->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

static int parse(fixture *f, const mt_option *opts, int argc, char **argv, int *argi)
{
    return mt_config_parse(f->c, "prog", "[options] FILE", opts, argc, argv, argi,
                           f->errstr, sizeof(f->errstr));
}

/* Runs parse with stdout captured; returns what it printed (caller frees). */
static char *parse_captured(fixture *f, const mt_option *opts, int argc, char **argv, int *rc)
{
    char tmpl[] = "/tmp/mt_test_stdout_XXXXXX", *out;
    int fd = mkstemp(tmpl), saved;
    long len;
    FILE *fp;

    assert_true(fd >= 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    *rc = parse(f, opts, argc, argv, NULL);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);

    assert_non_null(fp = fopen(tmpl, "r"));
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    assert_non_null(out = calloc(1, (size_t)len + 1));
    assert_int_equal(fread(out, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    unlink(tmpl);
    return out;
}

/* With no file, environment or options, every setting has its documented default. */
static void test_defaults(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", NULL };
    int argi = -1;

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, &argi), 0);
    assert_int_equal(argi, 1);
    assert_string_equal(mt_config_get(f->c, "topic.prefix"), "mintrace.");
    assert_string_equal(mt_config_get(f->c, "log.format"), "text");
    assert_string_equal(mt_config_get(f->c, "log.level"), "info");
    assert_string_equal(mt_config_get(f->c, "network.id"), "mintrace-dev");
    assert_string_equal(mt_config_get(f->c, "state.dir"), "mintrace-state");
    assert_string_equal(mt_config_get(f->c, "replication.factor"), "1");
    assert_null(mt_config_get(f->c, "brokers"));
    assert_null(mt_config_get(f->c, "group.id"));
    assert_null(mt_config_kafka_props(f->c)[0]);
}

/* A config file value replaces the default; comments, blank lines and spaces are ignored. */
static void test_file_overrides_default(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, NULL };

    write_config(f, "# a comment\n\n   topic.prefix =  test.  \n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "topic.prefix"), "test.");
}

/* MINTRACE_CONFIG names the config file when -c is not given. */
static void test_config_file_from_env(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", NULL };

    write_config(f, "network.id=from-file\n");
    setenv("MINTRACE_CONFIG", f->path, 1);
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "network.id"), "from-file");
}

/* An environment variable replaces the config file's value. */
static void test_env_overrides_file(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, NULL };

    write_config(f, "brokers=file:9092\n");
    setenv("MINTRACE_BROKERS", "env:9092", 1);
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "brokers"), "env:9092");
}

/* The command line replaces the environment. */
static void test_command_line_overrides_env(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-b", "cli:9092", "--topic-prefix", "cli.", NULL };

    setenv("MINTRACE_BROKERS", "env:9092", 1);
    setenv("MINTRACE_TOPIC_PREFIX", "env.", 1);
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "brokers"), "cli:9092");
    assert_string_equal(mt_config_get(f->c, "topic.prefix"), "cli.");
}

/* -X passes a librdkafka property through to mt_config_kafka_props. */
static void test_x_passes_kafka_property(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-X", "client.id=abc", NULL };
    const char *const *props;

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    props = mt_config_kafka_props(f->c);
    assert_string_equal(props[0], "client.id");
    assert_string_equal(props[1], "abc");
    assert_null(props[2]);
}

/* A property from -X replaces the one from the file, which keeps its place in the list. */
static void test_x_overrides_file_property(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, "-X", "linger.ms=10", NULL };
    const char *const *props;

    write_config(f, "linger.ms=5\nclient.id=abc\n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    props = mt_config_kafka_props(f->c);
    assert_string_equal(props[0], "linger.ms");
    assert_string_equal(props[1], "10");
    assert_string_equal(props[2], "client.id");
    assert_null(props[4]);
}

/* -X with a mintrace setting's name sets that setting, not a pass-through property. */
static void test_x_sets_known_setting(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-X", "group.id=g1", NULL };

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "group.id"), "g1");
    assert_null(mt_config_kafka_props(f->c)[0]);
}

/* An unknown property in a config file fails naming FILE:LINE and the property. */
static void test_unknown_file_property_names_line(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, NULL };
    char expect[128];

    write_config(f, "# typo below\nbootstrap.servrs=k:9092\n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    snprintf(expect, sizeof(expect), "%s:2: unknown property 'bootstrap.servrs'", f->path);
    assert_memory_equal(f->errstr, expect, strlen(expect));
}

/* A line without '=' fails naming FILE:LINE. */
static void test_line_without_equals_names_line(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, NULL };
    char expect[128];

    write_config(f, "linger.ms=5\nnonsense\n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    snprintf(expect, sizeof(expect), "%s:2: expected name=value", f->path);
    assert_string_equal(f->errstr, expect);
}

/* An unknown -X property fails. */
static void test_unknown_x_property_fails(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-X", "bootstrap.servrs=k:9092", NULL };

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    assert_non_null(strstr(f->errstr, "unknown property 'bootstrap.servrs'"));
}

/* A missing config file fails naming it. */
static void test_missing_config_file_named(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", "/nonexistent/mintrace.conf", NULL };

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    assert_non_null(strstr(f->errstr, "/nonexistent/mintrace.conf"));
}

/* mt_config_dump shows sasl.password and ssl.key.password as [redacted]. */
static void test_dump_redacts_passwords(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, "-X", "ssl.key.password=swordfish", NULL };
    char *out = NULL;
    size_t len = 0;
    FILE *fp;

    write_config(f, "sasl.password=hunter2\n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_non_null(fp = open_memstream(&out, &len));
    mt_config_dump(f->c, fp);
    fclose(fp);
    assert_non_null(strstr(out, "sasl.password=[redacted]"));
    assert_non_null(strstr(out, "ssl.key.password=[redacted]"));
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "swordfish"));
    free(out);
}

/* A program option sets its setting; a flag sets "true". */
static void test_program_options_set_settings(void **state)
{
    fixture *f = *state;
    static const mt_option opts[] = {
        { "wait", 'w', 0, "wait", "wait for delivery" },
        { "count", 0, 1, "emit.count", "events to emit" },
        { 0 }
    };
    char *argv[] = { "prog", "-w", "--count", "5", NULL };
    long count = 0;

    assert_int_equal(parse(f, opts, ARGC(argv), argv, NULL), 0);
    assert_true(mt_config_get_bool(f->c, "wait"));
    assert_int_equal(mt_config_get_int(f->c, "emit.count", &count, NULL, 0), 0);
    assert_int_equal(count, 5);
}

/* A registered setting has its default and is read from MINTRACE_<NAME>. */
static void test_registered_setting(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", NULL };

    assert_int_equal(mt_config_register(f->c, "emit.batch", "10", "events per batch"), 0);
    assert_string_equal(mt_config_get(f->c, "emit.batch"), "10");
    setenv("MINTRACE_EMIT_BATCH", "20", 1);
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "emit.batch"), "20");
}

/* --help prints usage, program options, common options and environment, and returns 1. */
static void test_help_returns_1(void **state)
{
    fixture *f = *state;
    static const mt_option opts[] = { { "wait", 'w', 0, "wait", "wait for delivery" }, { 0 } };
    char *argv[] = { "prog", "--help", NULL };
    char *out;
    int rc;

    out = parse_captured(f, opts, ARGC(argv), argv, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "Usage: prog [options] FILE"));
    assert_non_null(strstr(out, "-w, --wait"));
    assert_non_null(strstr(out, "--brokers"));
    assert_non_null(strstr(out, "MINTRACE_BROKERS"));
    free(out);
}

/* --version prints the program and librdkafka versions and returns 1. */
static void test_version_returns_1(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "--version", NULL };
    char *out;
    int rc;

    out = parse_captured(f, NULL, ARGC(argv), argv, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "prog "));
    assert_non_null(strstr(out, "librdkafka"));
    free(out);
}

/* An unknown option returns -1 naming it, without its argument. */
static void test_unknown_option_fails(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "--bogus=secret", NULL };

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    assert_string_equal(f->errstr, "unknown option --bogus");
}

/* A missing option argument returns -1 naming the option. */
static void test_missing_argument_fails(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-b", NULL };

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    assert_string_equal(f->errstr, "option -b needs an argument");
}

/* Parse runs afresh after an earlier one, even one that stopped inside "-zv". */
static void test_parse_twice(void **state)
{
    fixture *f = *state;
    char *bad[] = { "prog", "-zv", NULL };
    char *cli[] = { "mintrace", "emit", "-b", "k:9092", "file.json", NULL };
    mt_config *sub;
    int argi = -1;

    assert_int_equal(parse(f, NULL, ARGC(bad), bad, NULL), -1);
    assert_non_null(sub = mt_config_new());
    /* The CLI hands the subcommand its own argv: emit -b k:9092 file.json */
    assert_int_equal(mt_config_parse(sub, "mintrace emit", "[options] FILE", NULL,
                                     ARGC(cli) - 1, cli + 1, &argi, NULL, 0), 0);
    assert_string_equal(mt_config_get(sub, "brokers"), "k:9092");
    assert_int_equal(argi, 3);
    assert_string_equal(cli[1 + argi], "file.json");
    mt_config_destroy(sub);
}

/* Options after the arguments are parsed too; the arguments come last in argv. */
static void test_options_after_arguments(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "file.json", "-b", "k:9092", NULL };
    int argi = -1;

    assert_int_equal(parse(f, NULL, ARGC(argv), argv, &argi), 0);
    assert_string_equal(mt_config_get(f->c, "brokers"), "k:9092");
    assert_int_equal(argi, 3);
    assert_string_equal(argv[argi], "file.json");
}

/* Each -v makes log.level more verbose, each -q less. */
static void test_verbosity_steps_log_level(void **state)
{
    fixture *f = *state;
    char *verbose[] = { "prog", "-vv", NULL };
    char *quiet[] = { "prog", "-q", NULL };

    assert_int_equal(parse(f, NULL, ARGC(verbose), verbose, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "log.level"), "debug");
    mt_config_set(f->c, "log.level", "info", "test", NULL, 0);
    assert_int_equal(parse(f, NULL, ARGC(quiet), quiet, NULL), 0);
    assert_string_equal(mt_config_get(f->c, "log.level"), "warn");
}

/* A log.format other than text or json is an error naming where it came from. */
static void test_bad_log_format_fails(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", NULL };

    setenv("MINTRACE_LOG_FORMAT", "xml", 1);
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), -1);
    assert_non_null(strstr(f->errstr, "env MINTRACE_LOG_FORMAT"));
}

/* get_int on a non-number fails naming the setting and its origin. */
static void test_get_int_names_setting_and_origin(void **state)
{
    fixture *f = *state;
    char *argv[] = { "prog", "-c", f->path, NULL };
    char origin[96];
    long v;

    write_config(f, "replication.factor=three\n");
    assert_int_equal(parse(f, NULL, ARGC(argv), argv, NULL), 0);
    assert_int_equal(mt_config_get_int(f->c, "replication.factor", &v,
                                       f->errstr, sizeof(f->errstr)), -1);
    snprintf(origin, sizeof(origin), "%s:1", f->path);
    assert_non_null(strstr(f->errstr, "replication.factor"));
    assert_non_null(strstr(f->errstr, origin));
}

/* get_int's error leaves out the value of a secret-looking setting. */
static void test_get_int_hides_secret_value(void **state)
{
    fixture *f = *state;
    long v;

    assert_int_equal(mt_config_register(f->c, "api.token", NULL, "token"), 0);
    assert_int_equal(mt_config_set(f->c, "api.token", "hunter2", "test", NULL, 0), 0);
    assert_int_equal(mt_config_get_int(f->c, "api.token", &v, f->errstr, sizeof(f->errstr)), -1);
    assert_non_null(strstr(f->errstr, "api.token"));
    assert_null(strstr(f->errstr, "hunter2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_line_overrides_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x_passes_kafka_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x_overrides_file_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x_sets_known_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_file_property_names_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_without_equals_names_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_x_property_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_config_file_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_redacts_passwords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_options_set_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_returns_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_returns_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_option_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_argument_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_after_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbosity_steps_log_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_log_format_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_int_names_setting_and_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_int_hides_secret_value, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
