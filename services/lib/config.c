/* config.c - every mintrace setting in one table, and the layers that set it: default, file, env, command line. */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>

/* Every setting mintrace itself knows. Each can be set, from weakest to strongest, by its
 * default, a config file line "name=value", the environment variable MINTRACE_<NAME>
 * (upper case, '.' -> '_'), and the command line (its option, or -X name=value).
 * Programs add their own with mt_config_register(). Any other name in a config file or
 * after -X is a librdkafka property (see librdkafka's CONFIGURATION.md, or -X list). */
static const struct {
    const char *name;
    const char *default_value;  /* NULL = unset */
    const char *help;
} known_settings[] = {
    { "brokers",            NULL,             "Kafka brokers, host:port,... (-b)" },
    { "topic.prefix",       "mintrace.",      "prefix of every topic name (--topic-prefix)" },
    { "log.format",         "text",           "log lines as text or json (--log-format)" },
    { "log.level",          "info",           "error, warn, info or debug (-v/-q step it)" },
    { "key.file",           NULL,             "this program's signing key file" },
    { "registry.file",      NULL,             "facility registry file" },
    { "governance.key",     NULL,             "public key file (.pub) the registry must be signed by" },
    { "network.id",         "mintrace-dev",   "network name signed into every message" },
    { "state.dir",          "mintrace-state", "directory of local state" },
    { "group.id",           NULL,             "Kafka consumer group" },
    { "transactional.id",   NULL,             "Kafka transactional producer id" },
    { "topics.file",        NULL,             "topic definitions (schemas/topics.json)" },
    { "replication.factor", "1",              "replication factor of created topics" },
};

/* Levels log.level takes, least verbose first; -v and -q step through them. */
static const char *const log_levels[] = { "error", "warn", "info", "debug" };

typedef struct mt_setting {
    char *name;
    char *env;            /* MINTRACE_<NAME> */
    char *default_value;  /* NULL = none */
    char *help;
    char *value;          /* NULL = unset */
    char *origin;         /* "default", "FILE:LINE", "env MINTRACE_X", "command line" */
} mt_setting;

struct mt_config {
    mt_setting *settings;
    size_t settings_cnt;
    char **kafka_props;     /* librdkafka properties: name, value, ..., NULL */
    char **kafka_origins;   /* the origin of each property */
    size_t kafka_cnt;
};

/* Long-only options get values outside the char range. */
enum {
    OPT_TOPIC_PREFIX = 1000,
    OPT_LOG_FORMAT,
    OPT_VERSION,
    OPT_PROGRAM = 2000  /* + index into the program's options */
};

#define COMMON_SHORT "b:c:X:vqh"

static const struct option common_long[] = {
    { "brokers",      required_argument, NULL, 'b' },
    { "config",       required_argument, NULL, 'c' },
    { "topic-prefix", required_argument, NULL, OPT_TOPIC_PREFIX },
    { "log-format",   required_argument, NULL, OPT_LOG_FORMAT },
    { "verbose",      no_argument,       NULL, 'v' },
    { "quiet",        no_argument,       NULL, 'q' },
    { "help",         no_argument,       NULL, 'h' },
    { "version",      no_argument,       NULL, OPT_VERSION },
};
#define COMMON_LONG_CNT (sizeof(common_long) / sizeof(common_long[0]))

static const char common_help[] =
    "  -b, --brokers LIST          Kafka brokers, host:port,...\n"
    "  -c, --config FILE           config file: name=value lines of mintrace settings\n"
    "                              and librdkafka properties, # comments\n"
    "  -X PROP=VALUE               set a librdkafka property (repeatable); -X list shows them\n"
    "      --topic-prefix PREFIX   prefix of every topic name\n"
    "      --log-format FORMAT     text or json\n"
    "  -v, --verbose               more verbose (repeatable)\n"
    "  -q, --quiet                 less verbose (repeatable)\n"
    "  -h, --help                  show this help\n"
    "      --version               show the version\n";

static void set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;

    if (!errstr || !errstr_size)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

/* Replaces *dst by a copy of src (NULL allowed). On error -1 and *dst is unaltered. */
static int replace_string(char **dst, const char *src)
{
    char *copy = NULL;

    if (src && !(copy = strdup(src)))
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

static const char *shown_value(const char *name, const char *value)
{
    return mt_log_is_secret_name(name) ? "[redacted]" : value;
}

static mt_setting *find_setting(const mt_config *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->settings_cnt; i++)
        if (!strcmp(c->settings[i].name, name))
            return &c->settings[i];
    return NULL;
}

/* Index of a librdkafka property, or -1. */
static long find_kafka_prop(const mt_config *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->kafka_cnt; i++)
        if (!strcmp(c->kafka_props[2 * i], name))
            return (long)i;
    return -1;
}

/* The value and origin of a setting or property; 0 if there is no such name. */
static int lookup(const mt_config *c, const char *name, const char **value, const char **origin)
{
    const mt_setting *s = find_setting(c, name);
    long i;

    if (s) {
        *value = s->value;
        *origin = s->origin;
        return 1;
    }
    if ((i = find_kafka_prop(c, name)) >= 0) {
        *value = c->kafka_props[2 * i + 1];
        *origin = c->kafka_origins[i];
        return 1;
    }
    return 0;
}

static int valid_name(const char *name)
{
    const char *p;

    if (!name || !*name)
        return 0;
    for (p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return 0;
    return 1;
}

static void setting_release(mt_setting *s)
{
    free(s->name);
    free(s->env);
    free(s->default_value);
    free(s->help);
    free(s->value);
    free(s->origin);
}

int mt_config_register(mt_config *c, const char *name, const char *default_value,
                       const char *help)
{
    mt_setting *s, *grown;
    size_t i;
    int still_default;

    if (!c || !valid_name(name))
        return -1;

    if ((s = find_setting(c, name))) {
        still_default = !strcmp(s->origin, "default");
        if (replace_string(&s->default_value, default_value))
            return -1;
        if (help && replace_string(&s->help, help))
            return -1;
        if (still_default && replace_string(&s->value, default_value))
            return -1;
        return 0;
    }

    grown = realloc(c->settings, (c->settings_cnt + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    c->settings = grown;
    s = &c->settings[c->settings_cnt];
    memset(s, 0, sizeof(*s));
    s->name = strdup(name);
    s->env = malloc(strlen("MINTRACE_") + strlen(name) + 1);
    s->help = strdup(help ? help : "");
    s->origin = strdup("default");
    if (!s->name || !s->env || !s->help || !s->origin ||
        replace_string(&s->default_value, default_value) ||
        replace_string(&s->value, default_value)) {
        setting_release(s);
        return -1;
    }
    strcpy(s->env, "MINTRACE_");
    for (i = 0; name[i]; i++)
        s->env[strlen("MINTRACE_") + i] =
            isalnum((unsigned char)name[i]) ? (char)toupper((unsigned char)name[i]) : '_';
    s->env[strlen("MINTRACE_") + i] = '\0';
    c->settings_cnt++;
    return 0;
}

mt_config *mt_config_new(void)
{
    mt_config *c = calloc(1, sizeof(*c));
    size_t i;

    if (!c)
        return NULL;
    if (!(c->kafka_props = calloc(1, sizeof(char *))))
        goto fail;
    for (i = 0; i < sizeof(known_settings) / sizeof(known_settings[0]); i++)
        if (mt_config_register(c, known_settings[i].name, known_settings[i].default_value,
                               known_settings[i].help))
            goto fail;
    return c;

fail:
    mt_config_destroy(c);
    return NULL;
}

void mt_config_destroy(mt_config *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->settings_cnt; i++)
        setting_release(&c->settings[i]);
    free(c->settings);
    for (i = 0; i < c->kafka_cnt; i++) {
        free(c->kafka_props[2 * i]);
        free(c->kafka_props[2 * i + 1]);
        free(c->kafka_origins[i]);
    }
    free(c->kafka_props);
    free(c->kafka_origins);
    free(c);
}

/* Checks a librdkafka property on a scratch conf, then records it. */
static int set_kafka_prop(mt_config *c, const char *name, const char *value,
                          const char *origin, char *errstr, size_t errstr_size)
{
    char reason[512];
    rd_kafka_conf_t *scratch;
    rd_kafka_conf_res_t res;
    char *name_copy = NULL, *value_copy = NULL, *origin_copy = NULL;
    char **props, **origins;
    long i;

    if (!(scratch = rd_kafka_conf_new())) {
        set_error(errstr, errstr_size, "out of memory");
        return -1;
    }
    res = rd_kafka_conf_set(scratch, name, value, reason, sizeof(reason));
    rd_kafka_conf_destroy(scratch);
    if (res == RD_KAFKA_CONF_UNKNOWN) {
        set_error(errstr, errstr_size, "%s: unknown property '%s': %s", origin, name, reason);
        return -1;
    }
    if (res != RD_KAFKA_CONF_OK) {
        /* librdkafka's reason may quote the value: leave it out for secrets. */
        if (mt_log_is_secret_name(name))
            set_error(errstr, errstr_size, "%s: invalid value for property '%s'", origin, name);
        else
            set_error(errstr, errstr_size, "%s: invalid value for property '%s': %s",
                      origin, name, reason);
        return -1;
    }

    value_copy = strdup(value);
    origin_copy = strdup(origin);
    if (!value_copy || !origin_copy)
        goto oom;

    if ((i = find_kafka_prop(c, name)) >= 0) {
        free(c->kafka_props[2 * i + 1]);
        free(c->kafka_origins[i]);
        c->kafka_props[2 * i + 1] = value_copy;
        c->kafka_origins[i] = origin_copy;
        return 0;
    }

    if (!(name_copy = strdup(name)))
        goto oom;
    if (!(props = realloc(c->kafka_props, (2 * c->kafka_cnt + 3) * sizeof(*props))))
        goto oom;
    c->kafka_props = props;
    if (!(origins = realloc(c->kafka_origins, (c->kafka_cnt + 1) * sizeof(*origins))))
        goto oom;
    c->kafka_origins = origins;
    props[2 * c->kafka_cnt] = name_copy;
    props[2 * c->kafka_cnt + 1] = value_copy;
    props[2 * c->kafka_cnt + 2] = NULL;
    origins[c->kafka_cnt] = origin_copy;
    c->kafka_cnt++;
    return 0;

oom:
    free(name_copy);
    free(value_copy);
    free(origin_copy);
    set_error(errstr, errstr_size, "out of memory");
    return -1;
}

int mt_config_set(mt_config *c, const char *name, const char *value, const char *origin,
                  char *errstr, size_t errstr_size)
{
    mt_setting *s;
    char *value_copy = NULL, *origin_copy;

    if (!origin)
        origin = "program";
    if (!c || !name || !*name) {
        set_error(errstr, errstr_size, "%s: empty setting name", origin);
        return -1;
    }

    if ((s = find_setting(c, name))) {
        origin_copy = strdup(origin);
        if (!origin_copy || (value && !(value_copy = strdup(value)))) {
            free(origin_copy);
            set_error(errstr, errstr_size, "out of memory");
            return -1;
        }
        free(s->value);
        free(s->origin);
        s->value = value_copy;
        s->origin = origin_copy;
        return 0;
    }

    if (!value) {
        set_error(errstr, errstr_size, "%s: property '%s' needs a value", origin, name);
        return -1;
    }
    return set_kafka_prop(c, name, value, origin, errstr, errstr_size);
}

const char *mt_config_get(const mt_config *c, const char *name)
{
    const char *value = NULL, *origin;

    if (!c || !name || !lookup(c, name, &value, &origin))
        return NULL;
    return value;
}

int mt_config_get_int(const mt_config *c, const char *name, long *out,
                      char *errstr, size_t errstr_size)
{
    const char *value = NULL, *origin = NULL;
    char *end;
    long v;

    if (!c || !name || !lookup(c, name, &value, &origin) || !value) {
        set_error(errstr, errstr_size, "setting '%s' is not set", name ? name : "(null)");
        return -1;
    }
    errno = 0;
    v = strtol(value, &end, 10);
    if (end == value || *end || errno) {
        if (mt_log_is_secret_name(name))
            set_error(errstr, errstr_size, "setting '%s' (from %s) is not an integer",
                      name, origin);
        else
            set_error(errstr, errstr_size, "setting '%s' (from %s): '%s' is not an integer",
                      name, origin, value);
        return -1;
    }
    *out = v;
    return 0;
}

int mt_config_get_bool(const mt_config *c, const char *name)
{
    const char *value = mt_config_get(c, name);

    return value && (!strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
                     !strcasecmp(value, "on") || !strcmp(value, "1"));
}

const char *const *mt_config_kafka_props(const mt_config *c)
{
    return c ? (const char *const *)c->kafka_props : NULL;
}

void mt_config_dump(const mt_config *c, FILE *fp)
{
    size_t i;

    if (!c || !fp)
        return;
    fprintf(fp, "# mintrace settings\n");
    for (i = 0; i < c->settings_cnt; i++) {
        const mt_setting *s = &c->settings[i];

        if (s->value)
            fprintf(fp, "%s=%s  (%s)\n", s->name, shown_value(s->name, s->value), s->origin);
        else
            fprintf(fp, "%s  (unset)\n", s->name);
    }
    if (c->kafka_cnt)
        fprintf(fp, "# librdkafka properties\n");
    for (i = 0; i < c->kafka_cnt; i++)
        fprintf(fp, "%s=%s  (%s)\n", c->kafka_props[2 * i],
                shown_value(c->kafka_props[2 * i], c->kafka_props[2 * i + 1]),
                c->kafka_origins[i]);
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Applies a config file of "name=value" lines; errors name FILE:LINE. */
static int load_file(mt_config *c, const char *path, char *errstr, size_t errstr_size)
{
    FILE *fp;
    char *line = NULL, *origin = NULL, *name, *eq;
    size_t cap = 0;
    long lineno = 0;
    int rc = -1;

    if (!(fp = fopen(path, "r"))) {
        set_error(errstr, errstr_size, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!(origin = malloc(strlen(path) + 24))) {
        set_error(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    while (getline(&line, &cap, fp) != -1) {
        lineno++;
        sprintf(origin, "%s:%ld", path, lineno);
        name = trim(line);
        if (!*name || *name == '#')
            continue;
        /* The line is not quoted back: it may hold a secret. */
        if (!(eq = strchr(name, '=')) || eq == name) {
            set_error(errstr, errstr_size, "%s: expected name=value", origin);
            goto cleanup;
        }
        *eq = '\0';
        if (mt_config_set(c, trim(name), trim(eq + 1), origin, errstr, errstr_size))
            goto cleanup;
    }
    if (ferror(fp)) {
        set_error(errstr, errstr_size, "config file %s: read error", path);
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(line);
    free(origin);
    fclose(fp);
    return rc;
}

/* Applies MINTRACE_<NAME> of every setting that is set and not empty. */
static int apply_env(mt_config *c, char *errstr, size_t errstr_size)
{
    char origin[256];
    const char *value;
    size_t i;

    for (i = 0; i < c->settings_cnt; i++) {
        if (!(value = getenv(c->settings[i].env)) || !*value)
            continue;
        snprintf(origin, sizeof(origin), "env %s", c->settings[i].env);
        if (mt_config_set(c, c->settings[i].name, value, origin, errstr, errstr_size))
            return -1;
    }
    return 0;
}

/* Checks log.format and log.level, then steps log.level by verbosity (-v minus -q). */
static int check_logging(mt_config *c, int verbosity, char *errstr, size_t errstr_size)
{
    const mt_setting *format = find_setting(c, "log.format");
    const mt_setting *level = find_setting(c, "log.level");
    long i, n = (long)(sizeof(log_levels) / sizeof(log_levels[0]));

    if (!format->value || (strcmp(format->value, "text") && strcmp(format->value, "json"))) {
        set_error(errstr, errstr_size, "log.format '%s' (from %s) is not text or json",
                  format->value ? format->value : "", format->origin);
        return -1;
    }
    for (i = 0; i < n; i++)
        if (level->value && !strcasecmp(level->value, log_levels[i]))
            break;
    if (i == n) {
        set_error(errstr, errstr_size,
                  "log.level '%s' (from %s) is not error, warn, info or debug",
                  level->value ? level->value : "", level->origin);
        return -1;
    }
    if (!verbosity)
        return 0;
    i += verbosity;
    i = i < 0 ? 0 : i >= n ? n - 1 : i;
    return mt_config_set(c, "log.level", log_levels[i], "command line", errstr, errstr_size);
}

static size_t count_options(const mt_option *opts)
{
    size_t n = 0;

    while (opts && (opts[n].long_name || opts[n].short_name))
        n++;
    return n;
}

/* Checks the program's option table and registers the settings its options set. */
static int register_options(mt_config *c, const mt_option *opts, size_t n,
                            char *errstr, size_t errstr_size)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        const mt_option *o = &opts[i];

        if (!o->setting || (o->has_arg != 0 && o->has_arg != 1) ||
            (o->short_name && (o->short_name < 0 || o->short_name > 127 ||
                               !isalnum(o->short_name) || strchr(COMMON_SHORT, o->short_name)))) {
            set_error(errstr, errstr_size, "option table: bad option %d (%s)", (int)i,
                      o->long_name ? o->long_name : "");
            return -1;
        }
        for (j = 0; o->long_name && j < COMMON_LONG_CNT; j++)
            if (!strcmp(o->long_name, common_long[j].name)) {
                set_error(errstr, errstr_size, "option table: --%s is a common option",
                          o->long_name);
                return -1;
            }
        if (!find_setting(c, o->setting) &&
            mt_config_register(c, o->setting, NULL, o->help)) {
            set_error(errstr, errstr_size, "option table: cannot register setting '%s'",
                      o->setting);
            return -1;
        }
    }
    return 0;
}

static void print_usage(FILE *fp, const mt_config *c, const char *prog, const char *usage_line,
                        const mt_option *opts, size_t n)
{
    char left[128], arg[64];
    const char *noun;
    size_t i, j;

    fprintf(fp, "Usage: %s %s\n", prog, usage_line ? usage_line : "[options]");
    if (n)
        fprintf(fp, "\nOptions:\n");
    for (i = 0; i < n; i++) {
        const mt_option *o = &opts[i];

        /* The argument is named by the setting's last word: registry.file -> FILE. */
        arg[0] = '\0';
        if (o->has_arg) {
            noun = strrchr(o->setting, '.') ? strrchr(o->setting, '.') + 1 : o->setting;
            for (j = 0; noun[j] && j + 2 < sizeof(arg); j++)
                arg[j + 1] = isalnum((unsigned char)noun[j]) ?
                    (char)toupper((unsigned char)noun[j]) : '_';
            arg[0] = ' ';
            arg[j + 1] = '\0';
        }
        if (o->short_name && o->long_name)
            snprintf(left, sizeof(left), "-%c, --%s%s", o->short_name, o->long_name, arg);
        else if (o->short_name)
            snprintf(left, sizeof(left), "-%c%s", o->short_name, arg);
        else
            snprintf(left, sizeof(left), "    --%s%s", o->long_name, arg);
        fprintf(fp, "  %-26s  %s\n", left, o->help ? o->help : "");
    }
    fprintf(fp, "\nCommon options:\n%s", common_help);
    fprintf(fp, "\nEnvironment (config file < environment < command line):\n");
    fprintf(fp, "  %-27s %s\n", "MINTRACE_CONFIG", "config file when -c is not given");
    for (i = 0; i < c->settings_cnt; i++) {
        const mt_setting *s = &c->settings[i];

        fprintf(fp, "  %-27s %s", s->env, s->help);
        if (s->default_value)
            fprintf(fp, " [%s]", s->default_value);
        fputc('\n', fp);
    }
}

/* Names the option getopt_long complained about; the argument after '=' is left out. */
static void describe_option(char *buf, size_t size, int argc, char **argv)
{
    const char *arg = optind >= 1 && optind <= argc ? argv[optind - 1] : NULL;

    if (optopt && optopt < 256 && !(arg && !strncmp(arg, "--", 2)))
        snprintf(buf, size, "-%c", optopt);
    else if (arg)
        snprintf(buf, size, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(buf, size, "?");
}

typedef struct assignment {
    char *name;
    char *value;
} assignment;

/* Remembers a command-line setting; they are applied after the file and the environment. */
static int push_assignment(assignment **list, size_t *cnt, const char *name, size_t name_len,
                           const char *value)
{
    assignment *grown = realloc(*list, (*cnt + 1) * sizeof(*grown));

    if (!grown)
        return -1;
    *list = grown;
    grown[*cnt].name = strndup(name, name_len);
    grown[*cnt].value = strdup(value);
    if (!grown[*cnt].name || !grown[*cnt].value) {
        free(grown[*cnt].name);
        free(grown[*cnt].value);
        return -1;
    }
    (*cnt)++;
    return 0;
}

int mt_config_parse(mt_config *c, const char *prog, const char *usage_line,
                    const mt_option *opts, int argc, char **argv, int *argi,
                    char *errstr, size_t errstr_size)
{
    size_t n = count_options(opts), i, assignments_cnt = 0;
    struct option *longopts = NULL, *lo;
    char *shortopts = NULL, *p, what[64];
    assignment *assignments = NULL;
    const char *config_file = NULL, *eq, *setting;
    int opt, verbosity = 0, rc = -1;

    if (!c || !prog || argc < 1 || !argv) {
        set_error(errstr, errstr_size, "mt_config_parse: bad arguments");
        return -1;
    }
    if (register_options(c, opts, n, errstr, errstr_size))
        return -1;

    /* ':' first: a missing argument returns ':' rather than '?'. */
    longopts = calloc(COMMON_LONG_CNT + n + 1, sizeof(*longopts));
    shortopts = malloc(1 + strlen(COMMON_SHORT) + 2 * n + 1);
    if (!longopts || !shortopts) {
        set_error(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    memcpy(longopts, common_long, sizeof(common_long));
    p = shortopts + sprintf(shortopts, ":%s", COMMON_SHORT);
    lo = &longopts[COMMON_LONG_CNT];
    for (i = 0; i < n; i++) {
        if (opts[i].long_name) {
            lo->name = opts[i].long_name;
            lo->has_arg = opts[i].has_arg ? required_argument : no_argument;
            lo->val = opts[i].short_name ? opts[i].short_name : OPT_PROGRAM + (int)i;
            lo++;
        }
        if (opts[i].short_name) {
            *p++ = (char)opts[i].short_name;
            if (opts[i].has_arg)
                *p++ = ':';
        }
    }
    *p = '\0';

    /* optind = 0 makes glibc start afresh, so parse can run again in one process. */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        setting = NULL;
        switch (opt) {
        case 'b':
            setting = "brokers";
            break;
        case 'c':
            config_file = optarg;
            break;
        case 'X':
            if (!strcmp(optarg, "list")) {
                rd_kafka_conf_properties_show(stdout);
                rc = 1;
                goto cleanup;
            }
            if (!(eq = strchr(optarg, '='))) {
                set_error(errstr, errstr_size, "-X %s: expected property=value", optarg);
                goto cleanup;
            }
            if (eq == optarg) {
                set_error(errstr, errstr_size, "-X: empty property name");
                goto cleanup;
            }
            if (push_assignment(&assignments, &assignments_cnt, optarg,
                                (size_t)(eq - optarg), eq + 1))
                goto oom;
            break;
        case OPT_TOPIC_PREFIX:
            setting = "topic.prefix";
            break;
        case OPT_LOG_FORMAT:
            setting = "log.format";
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity--;
            break;
        case 'h':
            print_usage(stdout, c, prog, usage_line, opts, n);
            rc = 1;
            goto cleanup;
        case OPT_VERSION:
            printf("%s %s (librdkafka %s)\n", prog, MT_VERSION, rd_kafka_version_str());
            rc = 1;
            goto cleanup;
        case ':':
            describe_option(what, sizeof(what), argc, argv);
            set_error(errstr, errstr_size, "option %s needs an argument", what);
            goto cleanup;
        case '?':
            describe_option(what, sizeof(what), argc, argv);
            if (optopt && !strncmp(what, "--", 2) && strchr(argv[optind - 1], '='))
                set_error(errstr, errstr_size, "option %s takes no argument", what);
            else
                set_error(errstr, errstr_size, "unknown option %s", what);
            goto cleanup;
        default:
            for (i = 0; i < n; i++)
                if (opt == (opts[i].short_name ? opts[i].short_name : OPT_PROGRAM + (int)i))
                    break;
            if (i == n) {
                set_error(errstr, errstr_size, "unexpected option %d", opt);
                goto cleanup;
            }
            if (push_assignment(&assignments, &assignments_cnt, opts[i].setting,
                                strlen(opts[i].setting), opts[i].has_arg ? optarg : "true"))
                goto oom;
            break;
        }
        if (setting && push_assignment(&assignments, &assignments_cnt, setting,
                                       strlen(setting), optarg))
            goto oom;
    }
    if (argi)
        *argi = optind;

    if (!config_file && (config_file = getenv("MINTRACE_CONFIG")) && !*config_file)
        config_file = NULL;
    if (config_file && load_file(c, config_file, errstr, errstr_size))
        goto cleanup;
    if (apply_env(c, errstr, errstr_size))
        goto cleanup;
    for (i = 0; i < assignments_cnt; i++)
        if (mt_config_set(c, assignments[i].name, assignments[i].value, "command line",
                          errstr, errstr_size))
            goto cleanup;
    if (check_logging(c, verbosity, errstr, errstr_size))
        goto cleanup;
    rc = 0;
    goto cleanup;

oom:
    set_error(errstr, errstr_size, "out of memory");
cleanup:
    for (i = 0; i < assignments_cnt; i++) {
        free(assignments[i].name);
        free(assignments[i].value);
    }
    free(assignments);
    free(longopts);
    free(shortopts);
    return rc;
}
