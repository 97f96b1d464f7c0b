/* mintrace-devkafka - librdkafka's mock cluster as the demo's Kafka where there is no Java. */
/*
 * What the mock cluster does NOT do (never use it for exactly-once or durability tests):
 * - It keeps everything in memory: nothing survives this process.
 * - Each partition keeps about 5 MiB or 100,000 message sets, then silently drops the oldest.
 * - Transactions only go through the motions: no commit/abort markers are written and
 *   transactional offset commits (send_offsets_to_transaction) are not stored, so a
 *   read_committed consumer also sees aborted messages.
 * - Topic configs are not kept: compacted topics are never compacted, retention never applies.
 * - Consumer group joins take a fixed ~3 s; broker ports are random (not choosable in 2.0.2).
 * It is good for the demo and for API-flow and fault-injection tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "topics.h"

#ifndef MT_VERSION
#define MT_VERSION "dev"
#endif

#define PROG "mintrace-devkafka"

/* Every setting, from the command line. */
struct conf {
    const char *topics_path;    /* --topics: the topics file */
    const char *topic_prefix;   /* --topic-prefix: put in front of every topic name */
    int brokers_count;          /* --brokers-count: mock brokers to serve */
    const char *bootstrap_file; /* --bootstrap-file: where to write the bootstrap address */
};

static volatile sig_atomic_t run = 1;

static void stop(int sig) {
    (void)sig;
    run = 0;
}

/* All logging goes through here (stderr only; stdout carries the bootstrap address). */
static void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_msg(const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* librdkafka's log lines (the mock brokers log through the handle they were made from). */
static void rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_msg("librdkafka %d %s: %s", level, fac, buf);
}

static void usage(void) {
    printf("Usage: " PROG " [options]\n"
           "Serves librdkafka's mock Kafka cluster on loopback with every mintrace topic\n"
           "created, prints its bootstrap address and runs until SIGINT or SIGTERM.\n"
           "In memory only, no real transactions: for the demo, never for exactly-once tests.\n"
           "\n"
           "  --topics FILE           topics file (default: $MINTRACE_TOPICS, else\n"
           "                          schemas/topics.json, else " MT_DATADIR "/topics.json)\n"
           "  --topic-prefix P        prefix of every topic name (default: mintrace.)\n"
           "  --brokers-count N       number of mock brokers, 1-32 (default: 1)\n"
           "  --bootstrap-file FILE   also write the bootstrap address to FILE (atomically,\n"
           "                          once the topics exist; removed again on exit)\n"
           "  -h, --help              this help\n"
           "      --version           version\n"
           "\n"
           "Exit status: 0 stopped by a signal, 1 failure, 2 usage error.\n");
}

/* Writes "addr\n" to path through a temporary file and rename(), so that a reader sees the
 * whole address or no file. */
static int write_bootstrap_file(const char *path, const char *addr) {
    char *tmp = NULL;
    size_t len = strlen(path) + 32;
    FILE *fp = NULL;
    int fd = -1, ret = -1;

    if (!(tmp = malloc(len))) {
        log_msg("%s: out of memory", path);
        goto cleanup;
    }
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1) {
        log_msg("%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (!(fp = fdopen(fd, "w"))) {
        log_msg("%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1; /* fp owns it now */
    if (fprintf(fp, "%s\n", addr) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        log_msg("%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (fclose(fp) != 0) {
        fp = NULL;
        log_msg("%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fp = NULL;
    if (rename(tmp, path) == -1) {
        log_msg("rename %s to %s: %s", tmp, path, strerror(errno));
        goto cleanup;
    }
    ret = 0;

cleanup:
    if (fp)
        fclose(fp);
    if (fd != -1)
        close(fd);
    if (ret == -1 && tmp)
        unlink(tmp);
    free(tmp);
    return ret;
}

/* Serves the mock cluster until a signal clears run. Returns the exit status. */
static int serve(const struct conf *conf) {
    mt_topics topics = {0};
    rd_kafka_conf_t *rkconf;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    const char *bootstraps;
    sigset_t block, prev;
    char errstr[512];
    int wrote_file = 0, ret = 1;

    if (mt_topics_load(&topics, conf->topics_path, conf->topic_prefix,
                       errstr, sizeof(errstr)) == -1) {
        log_msg("%s", errstr);
        goto cleanup;
    }

    /* A stale file from an earlier run must not send clients to a dead address. */
    if (conf->bootstrap_file && unlink(conf->bootstrap_file) == -1 && errno != ENOENT) {
        log_msg("%s: %s", conf->bootstrap_file, strerror(errno));
        goto cleanup;
    }

    /* The mock cluster borrows a client handle for its threads and logging; it never
     * connects anywhere, so it needs no bootstrap.servers. */
    rkconf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(rkconf, rdkafka_log);
    /* Warnings and errors only: at notice level the handle would complain that it has no
     * bootstrap.servers, which is true and harmless here. */
    if (rd_kafka_conf_set(rkconf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(rkconf);
        log_msg("%s", errstr);
        goto cleanup;
    }
    /* rd_kafka_new() takes ownership of rkconf on success only */
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, rkconf, errstr, sizeof(errstr)))) {
        rd_kafka_conf_destroy(rkconf);
        log_msg("cannot create the client handle: %s", errstr);
        goto cleanup;
    }

    /* The mock cluster's thread inherits this thread's signal mask (librdkafka 2.0.2 does
     * not block signals there, unlike rd_kafka_new()); a SIGTERM delivered to it would
     * break its poll loop with EINTR. So it is born with SIGINT and SIGTERM blocked. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &prev);
    mc = rd_kafka_mock_cluster_new(rk, conf->brokers_count);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (!mc) {
        log_msg("cannot create the mock cluster (%d brokers)", conf->brokers_count);
        goto cleanup;
    }
    /* Before anything can connect, or a client's metadata request would auto-create a
     * topic with the mock's default of 4 partitions. */
    if (mt_topics_create_mock(mc, &topics, errstr, sizeof(errstr)) == -1) {
        log_msg("%s", errstr);
        goto cleanup;
    }

    bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (conf->bootstrap_file) {
        if (write_bootstrap_file(conf->bootstrap_file, bootstraps) == -1)
            goto cleanup;
        wrote_file = 1;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);
    log_msg("serving %d broker(s) at %s with %zu topics from %s; SIGINT or SIGTERM stops",
            conf->brokers_count, bootstraps, topics.cnt, conf->topics_path);

    while (run)
        rd_kafka_poll(rk, 200);

    log_msg("stopping");
    ret = 0;

cleanup:
    if (wrote_file && unlink(conf->bootstrap_file) == -1)
        log_msg("%s: %s", conf->bootstrap_file, strerror(errno));
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    mt_topics_release(&topics);
    return ret;
}

int main(int argc, char **argv) {
    enum { OPT_TOPICS = 256, OPT_PREFIX, OPT_BROKERS, OPT_BOOTSTRAP_FILE, OPT_VERSION };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"topics", required_argument, NULL, OPT_TOPICS},
        {"topic-prefix", required_argument, NULL, OPT_PREFIX},
        {"brokers-count", required_argument, NULL, OPT_BROKERS},
        {"bootstrap-file", required_argument, NULL, OPT_BOOTSTRAP_FILE},
        {NULL, 0, NULL, 0},
    };
    struct conf conf = {
        .topics_path = NULL,
        .topic_prefix = "mintrace.",
        .brokers_count = 1,
        .bootstrap_file = NULL,
    };
    struct sigaction sa;
    char *end;
    long n;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage();
            return 0;
        case OPT_VERSION:
            printf(PROG " %s (librdkafka %s)\n", MT_VERSION, rd_kafka_version_str());
            return 0;
        case OPT_TOPICS:
            conf.topics_path = optarg;
            break;
        case OPT_PREFIX:
            conf.topic_prefix = optarg;
            break;
        case OPT_BROKERS:
            errno = 0;
            n = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 1 || n > 32) {
                log_msg("--brokers-count: expected a number from 1 to 32, got \"%s\"", optarg);
                return 2;
            }
            conf.brokers_count = (int)n;
            break;
        case OPT_BOOTSTRAP_FILE:
            if (!*optarg) {
                log_msg("--bootstrap-file: empty file name");
                return 2;
            }
            conf.bootstrap_file = optarg;
            break;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (optind < argc) {
        log_msg("unexpected argument \"%s\"; try --help", argv[optind]);
        return 2;
    }
    if (!conf.topics_path)
        conf.topics_path = mt_topics_default_path();

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    return serve(&conf);
}
