/* cmd_export — mintrace export epcis: the journal, or one batch's lineage, as a GS1 EPCIS 2.0
 * JSON-LD document (services/lib/epcis.c, docs/epcis.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "epcis.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

typedef struct reading {
    mt_epcis *x;
    int failed;
    char err[512];
} reading;

static int add_entry(void *arg, const rd_kafka_message_t *rkm) {
    reading *r = arg;
    if (mt_epcis_add(r->x, rkm->payload, rkm->len, r->err, sizeof(r->err)) == 0) return 0;
    r->failed = 1;
    return 1; /* stop: an export with a hole would look complete */
}

/* Writes doc to path through path.tmp and a rename, so a reader never sees half a document. */
static int write_file(const json_t *doc, const char *path) {
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp) return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    int ok = fp && mt_epcis_dump(doc, fp) == 0;
    if (fp && fclose(fp)) ok = 0;
    if (ok && rename(tmp, path)) ok = 0;
    if (!ok) remove(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int cmd_export(int argc, char **argv) {
    static const mt_option opts[] = {
        {"batch", 0, 1, "export.batch", "only this batch's lineage (its ancestry back to mines and recyclers)"},
        {"out", 'o', 1, "export.out", "write the document to OUT (default stdout), through OUT.tmp and a rename"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace export", "epcis [--batch BATCH] [--out FILE]   (reads the ledger topic)",
                             opts, MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    char topic[200], err[512];
    reading r = {mt_epcis_new(), 0, ""};
    json_t *doc = NULL;
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1 || strcmp(argv[s.argi], "epcis")) {
        mt_log_error("give the format: epcis (the only one so far)");
        goto out;
    }
    rc = MT_EXIT_FAIL;
    if (!r.x) {
        mt_log_error("out of memory");
        goto out;
    }
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "ledger", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1, 1,
                            &mt_run, add_entry, &r, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (r.failed) {
        mt_log_error("%s: %s", topic, r.err);
        goto out;
    }
    if (!mt_run) {
        mt_log_error("interrupted: nothing written");
        goto out;
    }
    const char *batch = mt_config_get(s.cfg, "export.batch"), *path = mt_config_get(s.cfg, "export.out");
    if (!(doc = mt_epcis_document(r.x, batch, mt_now_ms(), err, sizeof(err)))) {
        mt_log_error("%s", err);
        goto out;
    }
    if (path ? write_file(doc, path) : mt_epcis_dump(doc, stdout) || fflush(stdout)) {
        mt_log_error("%s: cannot write", path ? path : "stdout");
        goto out;
    }
    if (path)
        mt_log_info("%s: %zu EPCIS events", path, json_array_size(json_object_get(json_object_get(doc, "epcisBody"),
                                                                                   "eventList")));
    rc = MT_EXIT_OK;
out:
    json_decref(doc);
    mt_epcis_free(r.x);
    mt_service_release(&s);
    return rc;
}
