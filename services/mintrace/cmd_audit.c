/* cmd_audit — mintrace audit: replay the topics (or an archive) from the start and verify them;
 * mintrace archive FILE: the same topics in one sealed file, so an audit needs no cluster. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "audit.h"
#include "audit_submitted.h"
#include "audit_submitted_read.h"
#include "audit_report.h"
#include "commands.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

/* The topics an audit reads, in the order it reads them: the commitments (checkpoints,
 * provenance), the journal, then every receipts topic. */
typedef struct topic_set {
    char checkpoints[200], provenance[200], ledger[200], receipts[200];
    char **per_facility; /* <prefix>receipts.<facility>, sorted */
    size_t n_per_facility;
    int64_t ledger_high; /* the ledger's high watermark (progress estimate), -1 unknown */
} topic_set;

static void topic_set_release(topic_set *ts) {
    for (size_t i = 0; i < ts->n_per_facility; i++) free(ts->per_facility[i]);
    free(ts->per_facility);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills the set from the prefix; lists the per-facility receipts topics on the cluster. */
static int topic_set_list(topic_set *ts, const mt_service *s, char *err, size_t err_size) {
    memset(ts, 0, sizeof(*ts));
    ts->ledger_high = -1;
    mt_service_topic(s, "checkpoints", ts->checkpoints, sizeof(ts->checkpoints));
    mt_service_topic(s, "provenance", ts->provenance, sizeof(ts->provenance));
    mt_service_topic(s, "ledger", ts->ledger, sizeof(ts->ledger));
    mt_service_topic(s, "receipts", ts->receipts, sizeof(ts->receipts));
    const char *brokers = mt_config_get(s->cfg, "brokers");
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, mt_config_kafka_props(s->cfg), err, err_size);
    rd_kafka_t *rk = conf ? mt_kafka_producer_new(conf, NULL, -1, err, err_size) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr = rk ? rd_kafka_metadata(rk, 1, NULL, &md, 30000) : RD_KAFKA_RESP_ERR__FAIL;
    if (kerr) {
        if (rk) snprintf(err, err_size, "cannot list topics: %s", rd_kafka_err2str(kerr));
        if (rk) rd_kafka_destroy(rk);
        return -1;
    }
    size_t plen = strlen(ts->receipts);
    ts->per_facility = calloc((size_t)md->topic_cnt + 1, sizeof(char *));
    for (int i = 0; ts->per_facility && i < md->topic_cnt; i++) {
        const char *t = md->topics[i].topic;
        if (strncmp(t, ts->receipts, plen) == 0 && t[plen] == '.')
            ts->per_facility[ts->n_per_facility++] = strdup(t);
    }
    rd_kafka_metadata_destroy(md);
    int64_t lo, hi;
    if (rd_kafka_query_watermark_offsets(rk, ts->ledger, 0, &lo, &hi, 10000) == 0) ts->ledger_high = hi;
    rd_kafka_destroy(rk);
    if (!ts->per_facility) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (ts->n_per_facility) qsort(ts->per_facility, ts->n_per_facility, sizeof(char *), by_name);
    return 0;
}


/* ---- reading: from Kafka or from an archive, the same callbacks ---- */

typedef enum { PART_CHECKPOINTS, PART_PROVENANCE, PART_LEDGER, PART_RECEIPTS } part;

typedef struct reading {
    mt_audit *a;
    part what;
    const topic_set *ts;
    int failed;
    /* progress */
    int tty;
    struct timespec start, last;
    uint64_t expected; /* entries expected (estimate), 0 unknown */
} reading;

static double since(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress(reading *r, int final) {
    if (!r->tty) return;
    if (!final && since(&r->last) < 0.2) return;
    if (final) r->expected = mt_audit_progress(r->a); /* the estimate counted transaction markers too */
    clock_gettime(CLOCK_MONOTONIC, &r->last);
    uint64_t done = mt_audit_progress(r->a);
    double el = since(&r->start), rate = el > 0 ? (double)done / el : 0;
    char eta[32] = "?";
    if (r->expected > done && rate > 0) snprintf(eta, sizeof(eta), "%.0f s", (double)(r->expected - done) / rate);
    else if (r->expected) snprintf(eta, sizeof(eta), "0 s");
    int width = 30, fill = r->expected ? (int)((double)width * (double)(done < r->expected ? done : r->expected) /
                                               (double)r->expected)
                                       : 0;
    fprintf(stderr, "\r[%.*s%*s] %" PRIu64 " entries, %.0f events/s, ETA %s   ", fill,
            "##############################", width - fill, "", done, rate, eta);
    if (final) fputc('\n', stderr);
}

static int feed(reading *r, const char *topic, int32_t partition, int64_t offset, const uint8_t *b, size_t len) {
    int rc = 0;
    switch (r->what) {
    case PART_CHECKPOINTS: rc = mt_audit_checkpoint(r->a, b, len, topic, partition, offset); break;
    case PART_PROVENANCE: rc = mt_audit_provenance(r->a, b, len, topic, partition, offset); break;
    case PART_LEDGER:
        rc = mt_audit_entry(r->a, b, len, topic, partition, offset);
        progress(r, 0);
        break;
    case PART_RECEIPTS: rc = mt_audit_receipt(r->a, b, len, topic, partition, offset, 0); break;
    }
    if (rc) {
        r->failed = 1;
        return 1;
    }
    return !mt_run;
}

static int feed_kafka(void *arg, const rd_kafka_message_t *rkm) {
    return feed(arg, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset, rkm->payload, rkm->len);
}

static int feed_archive(void *arg, const char *topic, int32_t partition, int64_t offset, const uint8_t *b,
                        size_t len) {
    return feed(arg, topic, partition, offset, b, len);
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Which part of the audit a topic of the archive belongs to, whatever prefix it was read with. */
static int topic_part(const char *topic) {
    if (ends_with(topic, "checkpoints")) return PART_CHECKPOINTS;
    if (ends_with(topic, "provenance")) return PART_PROVENANCE;
    if (ends_with(topic, "ledger")) return PART_LEDGER;
    const char *p = strstr(topic, "receipts");
    if (p && (p[8] == '\0' || p[8] == '.')) return PART_RECEIPTS;
    return -1;
}

static int want_part(void *arg, const char *topic) {
    reading *r = arg;
    return topic_part(topic) == (int)r->what;
}

/* The topics of one part: one, or every receipts topic. NULL-terminated, into v (n + 2 slots). */
static size_t part_topics(const topic_set *ts, part p, const char **v) {
    size_t n = 0;
    v[n++] = p == PART_CHECKPOINTS ? ts->checkpoints
             : p == PART_PROVENANCE ? ts->provenance
             : p == PART_LEDGER     ? ts->ledger
                                    : ts->receipts;
    for (size_t i = 0; p == PART_RECEIPTS && i < ts->n_per_facility; i++) v[n++] = ts->per_facility[i];
    v[n] = NULL;
    return n;
}

/* Every part in order, from the cluster or from the archive. */
static int read_all(reading *r, const mt_service *s, const char *archive, char *err, size_t err_size) {
    const topic_set *ts = r->ts;
    for (int p = PART_CHECKPOINTS; p <= PART_RECEIPTS && !r->failed && mt_run; p++) {
        r->what = (part)p;
        if (p == PART_LEDGER) clock_gettime(CLOCK_MONOTONIC, &r->start);
        if (archive) {
            if (mt_archive_read(archive, want_part, feed_archive, r, err, err_size)) return -1;
        } else {
            const char **v = malloc((ts->n_per_facility + 2) * sizeof(*v));
            int frc = !v || mt_kafka_read_topics(mt_config_get(s->cfg, "brokers"), mt_config_kafka_props(s->cfg), v,
                                                 part_topics(ts, (part)p, v), &mt_run, feed_kafka, r, err, err_size);
            free(v);
            if (frc) return -1;
        }
        if (p == PART_LEDGER) progress(r, 1);
    }
    if (!mt_run) {
        snprintf(err, err_size, "interrupted");
        return -1;
    }
    if (r->failed) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

/* Receipts a producer kept: every DIR/ *.receipt file (a receipt envelope as read from its topic),
 * in name order. */
static int read_kept_receipts(mt_audit *a, const char *dir, char *err, size_t err_size) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0, found = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t nl = strlen(name);
        if (!rc && nl > 8 && strcmp(name + nl - 8, ".receipt") == 0) {
            char path[4096];
            size_t len;
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            char *b = mt_read_file(path, &len);
            if (!b) {
                snprintf(err, err_size, "%.300s: %s", path, strerror(errno));
                rc = -1;
            } else if (mt_audit_receipt(a, (const uint8_t *)b, len, path, 0, -1, 1)) {
                snprintf(err, err_size, "out of memory");
                rc = -1;
            }
            free(b);
            found++;
        }
        free(names[i]);
    }
    free(names);
    if (!rc && !found) mt_log_warn("%s: no *.receipt files", dir);
    return rc;
}

/* Writes bytes to path through a temporary file and a rename: a reader sees the old or the new. */
static int write_file_atomic(const char *path, const void *bytes, size_t len, char *err, size_t err_size) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *fp = fopen(tmp, "wb");
    int ok = fp && fwrite(bytes, 1, len, fp) == len && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (fp && fclose(fp)) ok = 0;
    if (!ok || rename(tmp, path)) {
        snprintf(err, err_size, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const mt_option audit_opts[] = {
    {"archive", 'a', 1, "audit.archive", "audit this archive file (mintrace archive) instead of the cluster"},
    {"json", 'j', 1, "audit.json", "write the report as JSON here (schemas/audit-report.schema.json)"},
    {"html", 'H', 1, "audit.html", "write a self-contained HTML report here"},
    {"trusted-checkpoint", 't', 1, "audit.trusted_checkpoint",
     "the checkpoint trusted before: the history must extend it; a clean audit replaces it with the newest"},
    {"write-checkpoint", 'W', 1, "audit.write_checkpoint",
     "where a clean audit writes the newest verified checkpoint (default: the --trusted-checkpoint file)"},
    {"receipts", 'R', 1, "audit.receipts", "a directory of receipts producers kept (*.receipt): each must be included"},
    {"threads", 'T', 1, "audit.threads", "signature threads (default: every online core)"},
    {"registry", 'r', 1, "registry.file", "registry file, to judge events journaled before any registry version"},
    {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub): the trust root"},
    {"no-submitted", 0, 0, "audit.no_submitted",
     "do not read events.submitted and rejected (no check that every submitted message was judged)"},
    {0},
};

int cmd_audit(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace audit",
                             "[--archive FILE] [--json FILE] [--html FILE] [--trusted-checkpoint FILE] [--receipts DIR]",
                             audit_opts, 0, argc, argv);
    if (rc >= 0) return rc;
    rc = MT_EXIT_USAGE; /* 2: could not run */
    char err[512] = "";
    const char *archive = mt_config_get(s.cfg, "audit.archive");
    const char *gov = mt_config_get(s.cfg, "governance.key");
    const char *regf = mt_config_get(s.cfg, "registry.file");
    const char *trusted = mt_config_get(s.cfg, "audit.trusted_checkpoint");
    const char *write_cp = mt_config_get(s.cfg, "audit.write_checkpoint");
    const char *network = mt_config_get(s.cfg, "network.id");
    unsigned char gov_pk[MT_PK_LEN];
    mt_registry *reg = NULL;
    mt_audit *a = NULL;
    topic_set ts = {0};
    long threads = 0;
    if (!gov || mt_pubkey_load(gov_pk, gov, err, sizeof(err))) {
        mt_log_error("%s", gov ? err : "audit needs the governance public key (--governance-key or MINTRACE_GOVERNANCE_KEY)");
        goto out;
    }
    if (regf && !(reg = mt_registry_load(regf, gov_pk, network, err, sizeof(err)))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (mt_config_get(s.cfg, "audit.threads") && mt_config_get_int(s.cfg, "audit.threads", &threads, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    mt_audit_conf conf = {.network_id = network, .gov_pk = gov_pk, .registry = reg, .threads = (int)threads};
    if (!(a = mt_audit_new(&conf, err, sizeof(err)))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (trusted) {
        size_t len;
        char *b = mt_read_file(trusted, &len);
        if (!b) {
            mt_log_error("%s: %s", trusted, strerror(errno));
            goto out;
        }
        int frc = mt_audit_trusted_checkpoint(a, (const uint8_t *)b, len, trusted);
        free(b);
        if (frc) goto out;
    }
    /* events.submitted's account; MINTRACE_X_UNJUDGED_AFTER (tests only) lowers its bound */
    const char *no_sub = mt_config_get(s.cfg, "audit.no_submitted"), *x_after = getenv("MINTRACE_X_UNJUDGED_AFTER");
    int want_submitted = !no_sub || strcmp(no_sub, "true") != 0;
    if (mt_audit_submitted_conf(a, want_submitted, mt_config_get(s.cfg, "audit.spill_dir"),
                                x_after ? strtoull(x_after, NULL, 10) : 0)) {
        mt_log_error("out of memory");
        goto out;
    }
    ts.ledger_high = -1;
    if (archive) {
        /* the topics are the archive's, whatever prefix they were read with */
    } else if (topic_set_list(&ts, &s, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    reading r = {.a = a, .ts = &ts, .tty = isatty(2)};
    if (ts.ledger_high > 0) r.expected = (uint64_t)ts.ledger_high;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (read_all(&r, &s, archive, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    const char *kept = mt_config_get(s.cfg, "audit.receipts");
    if (kept && read_kept_receipts(a, kept, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (want_submitted && mt_audit_read_submitted(a, &s, archive, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    long findings = mt_audit_finish(a);
    if (findings < 0) {
        mt_log_error("out of memory");
        goto out;
    }
    char source[600];
    if (archive) snprintf(source, sizeof(source), "archive %s", archive);
    else snprintf(source, sizeof(source), "Kafka %s, topics %s*", mt_config_get(s.cfg, "brokers"),
                  mt_config_get(s.cfg, "topic.prefix"));
    mt_audit_run run = {.network_id = network, .source = source, .seconds = since(&t0)};
    mt_audit_report_text(stdout, a, &run);
    const char *json = mt_config_get(s.cfg, "audit.json"), *html = mt_config_get(s.cfg, "audit.html");
    if (json) {
        char *j = mt_audit_report_json(a, &run);
        if (!j || write_file_atomic(json, j, strlen(j), err, sizeof(err))) {
            mt_log_error("%s", j ? err : "out of memory");
            free(j);
            goto out;
        }
        free(j);
    }
    if (html) {
        FILE *fp = fopen(html, "w");
        if (!fp || mt_audit_report_html(fp, a, &run) || fclose(fp)) {
            mt_log_error("%s: cannot write: %s", html, strerror(errno));
            goto out;
        }
    }
    /* the next audit's trusted checkpoint: only from a clean audit */
    const char *cp_out = write_cp ? write_cp : trusted;
    size_t cplen;
    const uint8_t *cp = mt_audit_newest_checkpoint(a, &cplen);
    if (findings == 0 && cp_out && cp) {
        if (write_file_atomic(cp_out, cp, cplen, err, sizeof(err))) {
            mt_log_error("%s", err);
            goto out;
        }
        mt_log_info("trusted checkpoint at tree size %" PRIu64 " written to %s", mt_audit_get_totals(a)->checkpoint_size,
                    cp_out);
    } else if (findings && cp_out) {
        mt_log_warn("findings: %s is left as it was", cp_out);
    }
    rc = findings ? MT_EXIT_FAIL : MT_EXIT_OK;
out:
    mt_audit_free(a);
    mt_registry_destroy(reg);
    topic_set_release(&ts);
    mt_service_release(&s);
    return rc;
}

/* ---- mintrace archive FILE ---- */

typedef struct archiving {
    mt_archive_writer w;
    uint64_t n;
} archiving;

static int archive_one(void *arg, const rd_kafka_message_t *rkm) {
    archiving *ar = arg;
    if (mt_archive_add(&ar->w, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset, rkm->payload, rkm->len))
        return 1;
    ar->n++;
    return !mt_run;
}

int cmd_archive(int argc, char **argv) {
    mt_service s;
    static const mt_option opts[] = {{0}};
    int rc = mt_service_init(&s, "mintrace archive", "FILE   (every topic an audit reads, from offset 0)", opts,
                             MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    if (s.argi != argc - 1) {
        mt_log_error("give one FILE (it must not exist)");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    const char *path = argv[s.argi];
    char err[512];
    topic_set ts;
    archiving ar = {0};
    rc = MT_EXIT_FAIL;
    if (topic_set_list(&ts, &s, err, sizeof(err))) {
        mt_log_error("%s", err);
        topic_set_release(&ts);
        mt_service_release(&s);
        return rc;
    }
    if (mt_archive_create(&ar.w, path, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    int failed = 0;
    const char **v = malloc((ts.n_per_facility + 2) * sizeof(*v));
    for (int p = PART_CHECKPOINTS; p <= PART_RECEIPTS && !failed; p++) {
        size_t n = v ? part_topics(&ts, (part)p, v) : 0;
        const char *topic = v ? v[0] : "?";
        uint64_t before = ar.n;
        if (!v || mt_kafka_read_topics(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg), v, n, &mt_run,
                                       archive_one, &ar, err, sizeof(err))) {
            mt_log_error("%s", err);
            failed = 1;
        } else if (ar.w.failed || !mt_run) {
            mt_log_error("%s: %s", path, ar.w.failed ? "cannot write" : "interrupted");
            failed = 1;
        } else {
            mt_log_info("%s%s: %" PRIu64 " messages", topic, n > 1 ? " and the per-facility receipts topics" : "",
                        ar.n - before);
        }
    }
    free(v);
    uint64_t before = ar.n;
    if (!failed && mt_archive_add_submitted(&ar.w, &s, &ar.n, err, sizeof(err))) {
        mt_log_error("%s", err);
        failed = 1;
    } else if (!failed) {
        mt_log_info("events.submitted and rejected: %" PRIu64 " messages", ar.n - before);
    }
    if (mt_archive_close(&ar.w, err, sizeof(err))) {
        mt_log_error("%s: %s", path, err);
        failed = 1;
    }
    if (failed) {
        unlink(path); /* half an archive is no archive */
        goto out;
    }
    printf("archived %" PRIu64 " messages of %zu topics to %s\n", ar.n, 6 + ts.n_per_facility, path);
    rc = MT_EXIT_OK;
out:
    topic_set_release(&ts);
    mt_service_release(&s);
    return rc;
}
