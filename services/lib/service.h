/* service — what every mintrace program does first: settings, logs, signals, registry, keys. */
#ifndef MT_SERVICE_H
#define MT_SERVICE_H

#include <signal.h>

#include "config.h"
#include "kafka.h"
#include "crypto.h"
#include "registry.h"

/* Exit codes of every program. */
enum { MT_EXIT_OK = 0, MT_EXIT_FAIL = 1, MT_EXIT_USAGE = 2 };

/* What a program asks mt_service_init() to load. */
enum { MT_NEED_BROKERS = 1, MT_NEED_REGISTRY = 2, MT_NEED_KEY = 4, MT_FOLLOW_REGISTRY = 8 };

typedef struct mt_service {
    const char *prog;
    mt_config *cfg;
    mt_registry *reg;  /* with MT_NEED_REGISTRY */
    unsigned char gov_pk[MT_PK_LEN]; /* with MT_NEED_REGISTRY: the governance key it is signed by */
    struct mt_registry_follower *follow; /* with MT_FOLLOW_REGISTRY: newer versions from the registry topic */
    mt_keypair key;    /* with MT_NEED_KEY */
    int argi;          /* first non-option argument */
} mt_service;

/* Cleared by SIGINT and SIGTERM (the handler does nothing else). */
extern volatile sig_atomic_t mt_run;

/* Parses the command line (see config.h), starts logging, installs the signal handler and
 * loads what `need` asks for. Returns -1 when the program should go on; otherwise the exit
 * code it should return at once (0 after --help, 2 on a usage or configuration error, which
 * has been printed as one line naming the file or setting). */
int mt_service_init(mt_service *s, const char *prog, const char *usage, const mt_option *opts, int need,
                    int argc, char **argv);

/* Loads the registry file and governance key named by the settings into s->reg and s->gov_pk
 * (what MT_NEED_REGISTRY does, for programs that need them only sometimes). Returns 0, or -1
 * after logging why. */
int mt_service_load_registry(mt_service *s);

/* The full name of a topic: the topic prefix + short ("ledger"). Valid until the next call
 * with the same buffer. */
const char *mt_service_topic(const mt_service *s, const char *short_name, char *buf, size_t size);

/* Runs a consume->process->produce stage until SIGINT/SIGTERM (or idle.exit.ms): consumer
 * group group.id (default "<topic prefix><name>"), transactional id transactional.id
 * (default "<prefix><name>" when shared_txid — one writer identity, so a new instance fences
 * the old — else "<prefix><name>-<host>-<pid>", one per instance). inputs are short topic names,
 * NULL-terminated. Logs the outcome; returns the program's exit code. */
int mt_service_run_stage(mt_service *s, const char *name, const char *const *inputs, int shared_txid,
                         const mt_stage_ops *ops, void *opaque);

/* The common options of stage programs (registry, governance key, group, idle exit), to put
 * at the end of a program's own table with MT_STAGE_OPTIONS. */
#define MT_STAGE_OPTIONS                                                                            \
    {"registry", 'r', 1, "registry.file", "registry file (governance-signed)"},                     \
    {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub)"},              \
    {"group", 'G', 1, "group.id", "consumer group (default <topic prefix><stage>)"},                \
    {"idle-exit", 0, 1, "idle.exit.ms", "exit after this many ms without input (tests, demo)"},     \
    {0}

/* Reads a whole file ("-" = stdin) into a new NUL-terminated buffer (free()); NULL on error
 * (errno says why). */
char *mt_read_file(const char *path, size_t *len);

void mt_service_release(mt_service *s);

#endif
