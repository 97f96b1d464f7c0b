/* cmd_emit — mintrace emit: JSON batch events in, signed envelopes out to events.submitted. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "mintrace.h"
#include "service.h"

static const mt_option opts[] = {
    {"key", 'k', 1, "key.file", "the facility's secret key file (mode 0600)"},
    {"facility", 'f', 1, "facility.id", "the facility's registry id"},
    {"state-dir", 's', 1, "state.dir", "where the write-ahead file of the key lives (default mintrace-state)"},
    {"wait", 'w', 1, "emit.wait", "wait up to SECONDS for each event's receipt and print it (exit 1 if any is "
                                  "rejected or missing)"},
    {0},
};

/* Emits every JSON value of text (one event per object; objects may follow each other, as in
 * JSON lines); prints one JSON line per emitted event. Returns the number that failed. */
/* The events sent, for --wait: their ids (hex) until their receipts come. */
typedef struct sent {
    char id[65];
    uint64_t seq;
    unsigned char prev[32]; /* the id it was chained to */
    int rejected;
} sent;

typedef struct pending {
    sent *ids;
    size_t n, cap, open;
    int rejected;
    const char *facility;
    unsigned char last[32]; /* the chain head as this run goes */
    const char *receipts_dir; /* where signed receipts are kept for auditors (state dir/receipts) */
} pending;

static void remember(pending *pd, const mt_emitted *e) {
    if (pd->n == pd->cap) {
        size_t cap = pd->cap ? pd->cap * 2 : 64;
        void *nv = realloc(pd->ids, cap * sizeof(*pd->ids));
        if (!nv) return;
        pd->ids = nv;
        pd->cap = cap;
    }
    sent *s = &pd->ids[pd->n++];
    memcpy(s->id, e->event_id_hex, 65);
    s->seq = e->seq;
    memcpy(s->prev, pd->last, 32);
    s->rejected = 0;
    memcpy(pd->last, e->event_id, 32);
    pd->open++;
}

/* Keeps the signed receipt as received (the aggregator's envelope, byte for byte) in
 * <state dir>/receipts/<event id>.receipt: what `mintrace audit --receipts DIR` checks. */
static void keep_receipt(const pending *pd, const char *id_hex, const void *bytes, size_t len) {
    if (!pd->receipts_dir) return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.receipt", pd->receipts_dir, id_hex);
    FILE *fp = fopen(path, "wb");
    int ok = fp && fwrite(bytes, 1, len, fp) == len;
    if (fp && fclose(fp)) ok = 0;
    if (!ok) mt_log_warn("%s: cannot keep the receipt: %s", path, strerror(errno));
}

/* A receipt for one of ours: print it, keep it, and stop when all have come. */
static int on_receipt(void *arg, const rd_kafka_message_t *rkm) {
    pending *pd = arg;
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, rkm->len, rkm->payload);
    Mintrace__V1__Receipt *r = env ? mintrace__v1__receipt__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    if (r && r->event_id.len == MT_HASH_LEN && strcmp(r->facility_id, pd->facility) == 0) {
        char hex[65];
        mt_hex_encode(r->event_id.data, MT_HASH_LEN, hex);
        for (size_t i = 0; i < pd->n; i++) {
            if (strcmp(pd->ids[i].id, hex) != 0) continue;
            pd->ids[i].id[0] = '\0'; /* answered */
            pd->open--;
            if (r->status == MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_REJECTED) {
                pd->rejected++;
                pd->ids[i].rejected = 1;
            }
            keep_receipt(pd, hex, rkm->payload, rkm->len);
            char *j = mt_message_to_json_text(&r->base, hex, sizeof(hex));
            if (j) printf("%s\n", j);
            free(j);
            fflush(stdout);
            break;
        }
    }
    if (r) mintrace__v1__receipt__free_unpacked(r, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return pd->open == 0;
}

static void on_alarm(int sig) {
    (void)sig;
    mt_run = 0;
}

static int emit_all(mt_producer *p, const char *text, size_t len, const char *source, pending *pd) {
    size_t off = 0;
    int failed = 0, n = 0;
    while (off < len) {
        while (off < len && strchr(" \t\r\n", text[off])) off++;
        if (off == len) break;
        json_error_t jerr;
        json_t *j = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
            mt_log_error("%s: event %d: line %d: %s", source, n + 1, jerr.line, jerr.text);
            return failed + 1; /* cannot find where the next event starts */
        }
        off += (size_t)jerr.position;
        n++;
        char *one = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        char err[512] = "";
        mt_emitted e;
        if (!one || mt_producer_emit_json(p, one, strlen(one), &e, err, sizeof(err))) {
            mt_log_error("%s: event %d: %s", source, n, err);
            failed++;
        } else {
            /* the id in both forms: hex for people, base64 for pasting into the next event's JSON */
            char b64[64];
            mt_base64_encode(e.event_id, sizeof(e.event_id), b64, sizeof(b64));
            printf("{\"seq\":%llu,\"event_id\":\"%s\",\"event_id_base64\":\"%s\"}\n", (unsigned long long)e.seq,
                   e.event_id_hex, b64);
            remember(pd, &e);
        }
        free(one);
    }
    return failed;
}

int cmd_emit(int argc, char **argv) {
    mt_service s;
    int rc = mt_service_init(&s, "mintrace emit",
                             "-k KEY -f FACILITY [FILE...]   (JSON events; none or - = stdin)", opts,
                             MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    char topic[160], err[512] = "";
    mt_producer_conf pc = {
        .brokers = mt_config_get(s.cfg, "brokers"),
        .kafka_props = mt_config_kafka_props(s.cfg),
        .topic = mt_service_topic(&s, "events.submitted", topic, sizeof(topic)),
        .key_file = mt_config_get(s.cfg, "key.file"),
        .facility_id = mt_config_get(s.cfg, "facility.id"),
        .network_id = mt_config_get(s.cfg, "network.id"),
        .state_dir = mt_config_get(s.cfg, "state.dir"),
    };
    if (!pc.key_file || !pc.facility_id) {
        mt_log_error("emit needs -k KEY and -f FACILITY");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    mt_producer *p = mt_producer_new(&pc, err, sizeof(err));
    if (!p) {
        mt_log_error("%s", err);
        mt_service_release(&s);
        return MT_EXIT_FAIL;
    }
    if (mt_producer_resent(p)) mt_log_info("resent %zu unconfirmed event(s) from the write-ahead file", mt_producer_resent(p));
    int failed = 0;
    long wait_s = 0;
    pending pd = {.facility = pc.facility_id};
    if (mt_config_get(s.cfg, "emit.wait") && mt_config_get_int(s.cfg, "emit.wait", &wait_s, err, sizeof(err))) {
        mt_log_error("%s", err);
        mt_producer_destroy(p);
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    int64_t since = mt_now_ms() - 60000; /* receipts carry the aggregator's clock: allow for skew */
    mt_producer_head(p, pd.last);
    for (int i = s.argi; i < argc || i == s.argi; i++) {
        const char *file = i < argc ? argv[i] : "-";
        size_t len;
        char *text = mt_read_file(file, &len);
        if (!text) {
            mt_log_error("%s: cannot read", file);
            failed++;
        } else {
            failed += emit_all(p, text, len, file, &pd);
            free(text);
        }
        if (i >= argc) break;
    }
    if (mt_producer_flush(p, 30000, err, sizeof(err))) {
        mt_log_error("%s", err);
        failed++;
    }
    if (wait_s > 0 && pd.open && !failed) {
        /* the facility's own receipts topic, else the shared one; receipts are kept in the state dir */
        char rt[300], kept[4096];
        snprintf(kept, sizeof(kept), "%s/receipts", pc.state_dir);
        if (mkdir(kept, 0755) == 0 || errno == EEXIST) pd.receipts_dir = kept;
        else mt_log_warn("%s: %s: receipts are not kept", kept, strerror(errno));
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        alarm((unsigned)wait_s);
        snprintf(rt, sizeof(rt), "%sreceipts.%s", mt_config_get(s.cfg, "topic.prefix"), pc.facility_id);
        if (mt_kafka_read_topic_since(pc.brokers, pc.kafka_props, rt, since, &mt_run, on_receipt, &pd, err, sizeof(err)) &&
            mt_kafka_read_topic_since(pc.brokers, pc.kafka_props, mt_service_topic(&s, "receipts", rt, sizeof(rt)), since,
                                      &mt_run, on_receipt, &pd, err, sizeof(err)))
            mt_log_error("%s", err);
        alarm(0);
        if (pd.open) mt_log_error("%zu receipt(s) did not come within %ld s", pd.open, wait_s);
        if (pd.open || pd.rejected) failed++;
        /* A rejected event is not part of the chain: the chain goes back to just before the
         * first rejected one, so the next emit reuses its seq (those after it were rejected as
         * CHAIN_BROKEN_BEFORE and must be sent again). */
        for (size_t i = 0; i < pd.n; i++) {
            if (!pd.ids[i].rejected) continue;
            if (mt_producer_rewind(p, pd.ids[i].seq, pd.ids[i].prev, err, sizeof(err)))
                mt_log_error("cannot rewind the chain: %s", err);
            else
                mt_log_warn("seq %llu was rejected: the chain is back at seq %llu; emit it (and what followed) again",
                            (unsigned long long)pd.ids[i].seq, (unsigned long long)(pd.ids[i].seq - 1));
            break;
        }
    }
    free(pd.ids);
    mt_producer_destroy(p);
    mt_service_release(&s);
    return failed ? MT_EXIT_FAIL : MT_EXIT_OK;
}
