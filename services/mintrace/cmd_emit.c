/* cmd_emit — mintrace emit: JSON batch events in, signed envelopes out to events.submitted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crypto.h"
#include "log.h"
#include "mintrace.h"
#include "service.h"

static const mt_option opts[] = {
    {"key", 'k', 1, "key.file", "the facility's secret key file (mode 0600)"},
    {"facility", 'f', 1, "facility.id", "the facility's registry id"},
    {"state-dir", 's', 1, "state.dir", "where the write-ahead file of the key lives (default mintrace-state)"},
    {0},
};

/* Emits every JSON value of text (one event per object; objects may follow each other, as in
 * JSON lines); prints one JSON line per emitted event. Returns the number that failed. */
static int emit_all(mt_producer *p, const char *text, size_t len, const char *source) {
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
    for (int i = s.argi; i < argc || i == s.argi; i++) {
        const char *file = i < argc ? argv[i] : "-";
        size_t len;
        char *text = mt_read_file(file, &len);
        if (!text) {
            mt_log_error("%s: cannot read", file);
            failed++;
        } else {
            failed += emit_all(p, text, len, file);
            free(text);
        }
        if (i >= argc) break;
    }
    if (mt_producer_flush(p, 30000, err, sizeof(err))) {
        mt_log_error("%s", err);
        failed++;
    }
    mt_producer_destroy(p);
    mt_service_release(&s);
    return failed ? MT_EXIT_FAIL : MT_EXIT_OK;
}
