/* cmd_provenance — mintrace provenance BATCH...: recycled content and origin, from the provenance topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "kafka.h"
#include "log.h"
#include "provenance_text.h"
#include "service.h"

typedef struct wanted {
    char **ids;
    int n;
    Mintrace__V1__ProvenanceRecord **latest; /* per id, the last record read */
} wanted;

static int on_record(void *arg, const rd_kafka_message_t *rkm) {
    wanted *w = arg;
    for (int i = 0; i < w->n; i++) {
        if (!rkm->key || rkm->key_len != strlen(w->ids[i]) || memcmp(rkm->key, w->ids[i], rkm->key_len)) continue;
        Mintrace__V1__ProvenanceRecord *r = mintrace__v1__provenance_record__unpack(NULL, rkm->len, rkm->payload);
        if (!r) continue;
        if (w->latest[i]) mintrace__v1__provenance_record__free_unpacked(w->latest[i], NULL);
        w->latest[i] = r;
    }
    return 0;
}

int cmd_provenance(int argc, char **argv) {
    static const mt_option opts[] = {
        {"json", 'j', 0, "provenance.json", "the records as JSON lines instead of text"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace provenance", "BATCH...   (reads the provenance topic)", opts, MT_NEED_BROKERS,
                             argc, argv);
    if (rc >= 0) return rc;
    char topic[200], err[512];
    wanted w = {argv + s.argi, argc - s.argi, calloc((size_t)(argc > 0 ? argc : 1), sizeof(*w.latest))};
    rc = MT_EXIT_USAGE;
    if (w.n < 1 || !w.latest) {
        mt_log_error("give one or more BATCH ids");
        goto out;
    }
    rc = MT_EXIT_FAIL;
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "provenance", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1, 1,
                            &mt_run, on_record, &w, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    rc = MT_EXIT_OK;
    for (int i = 0; i < w.n; i++) {
        if (!w.latest[i]) {
            mt_log_error("%s: no provenance record", w.ids[i]);
            rc = MT_EXIT_FAIL;
            continue;
        }
        if (mt_config_get_bool(s.cfg, "provenance.json")) {
            char *j = mt_message_to_json_text(&w.latest[i]->base, err, sizeof(err));
            printf("%s\n", j ? j : err);
            free(j);
        } else {
            mt_provenance_describe(stdout, w.latest[i]);
        }
    }
out:
    for (int i = 0; w.latest && i < w.n; i++)
        if (w.latest[i]) mintrace__v1__provenance_record__free_unpacked(w.latest[i], NULL);
    free(w.latest);
    mt_service_release(&s);
    return rc;
}
