/* config.h - layered settings of every mintrace program: defaults < config file < environment < command line. */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stdio.h>

#ifndef MT_VERSION
#define MT_VERSION "dev"
#endif

/* A config holds two kinds of settings:
 *  - mintrace settings: the names in the table at the top of config.c plus those a program
 *    registers; each also comes from MINTRACE_<NAME> ('.' -> '_', upper case).
 *  - librdkafka properties: any other name in a config file or given with -X, checked
 *    against librdkafka when it is set and handed to the Kafka module by
 *    mt_config_kafka_props(). A known mintrace name (brokers, group.id, transactional.id, ...)
 *    always sets the mintrace setting, even through -X; the Kafka module applies those after
 *    the pass-through properties.
 * Every value remembers where it came from ("default", "FILE:LINE", "env MINTRACE_X",
 * "command line"), so errors and mt_config_dump() can say so. */
typedef struct mt_config mt_config;

/* A program-specific command-line option. */
typedef struct mt_option {
    const char *long_name;   /* e.g. "wait"; NULL = none */
    int short_name;          /* e.g. 'w'; 0 = none */
    int has_arg;             /* 0 flag (sets "true"), 1 takes a required argument */
    const char *setting;     /* setting it sets; registered by mt_config_parse() if unknown */
    const char *help;        /* one line for --help */
} mt_option;

/* A new config holding the defaults, or NULL when out of memory. */
mt_config *mt_config_new(void);
void mt_config_destroy(mt_config *c);

/* Adds a program-specific setting (also read from MINTRACE_<NAME> and config files).
 * Call it before mt_config_parse() so that files and the environment can set it.
 * Registering a known name replaces its default (and its value, if still the default).
 * default_value and help may be NULL. Returns 0, or -1 (bad name, out of memory). */
int mt_config_register(mt_config *c, const char *name, const char *default_value,
                       const char *help);

/* Parses argv with getopt_long (the common options plus opts, NULL or ending with a zeroed
 * entry), then applies in order: the config file (-c, else MINTRACE_CONFIG, else none), the
 * environment, the command line; -v/-q then step log.level (error, warn, info, debug).
 * Options and arguments may be mixed (GNU getopt), "--" ends the options. It can be called
 * again in one process; a CLI with subcommands picks the subcommand from argv[1] and calls
 * mt_config_parse(c, ..., argc - 1, argv + 1, ...).
 * Returns 0 ok; 1 when --help, --version or -X list was handled (printed on stdout: the
 * caller exits 0); -1 on a usage or configuration error, errstr saying what (the caller
 * prints it with a hint to --help and exits 2). *argi (may be NULL) receives the index of
 * the first non-option argument. argv may be permuted. */
int mt_config_parse(mt_config *c, const char *prog, const char *usage_line,
                    const mt_option *opts, int argc, char **argv, int *argi,
                    char *errstr, size_t errstr_size);

/* The value of a mintrace setting or librdkafka property, or NULL if unset. */
const char *mt_config_get(const mt_config *c, const char *name);

/* The setting as a decimal integer into *out. Returns 0, or -1 when unset or not an
 * integer (errstr names the setting and where its value came from). */
int mt_config_get_int(const mt_config *c, const char *name, long *out,
                      char *errstr, size_t errstr_size);

/* 1 when the setting is true, yes, on or 1 (any case), else 0. */
int mt_config_get_bool(const mt_config *c, const char *name);

/* Sets a mintrace setting (value NULL unsets it) or a librdkafka property (checked with
 * rd_kafka_conf_set(); an error reads "ORIGIN: unknown property 'x': <librdkafka's reason>").
 * origin says where the value came from. Returns 0, or -1 with the setting unchanged. */
int mt_config_set(mt_config *c, const char *name, const char *value, const char *origin,
                  char *errstr, size_t errstr_size);

/* The librdkafka pass-through properties, NULL-terminated name, value, name, value, ...;
 * each name once (a later set replaces the value). Valid until the config changes. */
const char *const *mt_config_kafka_props(const mt_config *c);

/* Prints every setting and property with its origin, one per line; values of secret-looking
 * names (password, secret, .pem, private, token, credential, ...: mt_log_is_secret_name())
 * show as [redacted]. Errors never quote such values either. */
void mt_config_dump(const mt_config *c, FILE *fp);

#endif
