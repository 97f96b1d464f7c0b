/* cmd_lineage — mintrace lineage BATCH: its ancestry back to mines and recyclers, as text and DOT,
 * each edge with its mass and recycled share (from a replay of the journal: the share is cut
 * from the input as the ledger cut it when the event was applied). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "kafka.h"
#include "lineage.h"
#include "log.h"
#include "service.h"

typedef struct replay {
    mt_lineage *g;
    mt_ledger *l;
    const mt_service *s;
    char err[512];
    int failed;
} replay;

/* The entry goes into the graph with the ledger as it was before it, then into the ledger. */
static int add_entry(void *arg, const rd_kafka_message_t *rkm) {
    replay *r = arg;
    mt_lineage_add_with(r->g, rkm->payload, rkm->len, r->l);
    if (mt_ledger_replay(r->l, r->s->reg, mt_config_get(r->s->cfg, "network.id"), rkm->payload, rkm->len, r->err,
                         sizeof(r->err))) {
        r->failed = 1;
        return 1;
    }
    mt_ledger_commit(r->l); /* nothing to undo: keeps the undo log empty */
    return 0;
}

/* Renders dot_path to svg_path with Graphviz when it is installed; 0 when it did. */
static int render_svg(const char *dot_path, const char *svg_path) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execlp("dot", "dot", "-Tsvg", "-o", svg_path, dot_path, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cmd_lineage(int argc, char **argv) {
    static const mt_option opts[] = {
        {"dot", 'd', 1, "lineage.dot", "also write the graph as Graphviz DOT to FILE (and FILE.svg if dot is installed)"},
        {"registry", 'r', 1, "registry.file", "registry file (governance-signed)"},
        {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace lineage", "[--dot FILE] BATCH   (replays the ledger topic)", opts,
                             MT_NEED_BROKERS | MT_NEED_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    char topic[200], err[512];
    mt_lineage *g = mt_lineage_new();
    replay r = {.g = g, .l = mt_ledger_new(NULL), .s = &s};
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1 || !g || !r.l) {
        mt_log_error("give one BATCH id");
        goto out;
    }
    rc = MT_EXIT_FAIL;
    mt_ledger_set_governance(r.l, s.gov_pk);
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
    if (mt_lineage_text(g, argv[s.argi], stdout)) {
        mt_log_error("%s: no such batch in the journal", argv[s.argi]);
        goto out;
    }
    const char *dot = mt_config_get(s.cfg, "lineage.dot");
    if (dot) {
        FILE *fp = fopen(dot, "w");
        int ok = fp && mt_lineage_dot(g, argv[s.argi], fp) == 0;
        if (fp && fclose(fp)) ok = 0;
        if (!ok) {
            mt_log_error("%s: cannot write", dot);
            goto out;
        }
        char svg[1024];
        snprintf(svg, sizeof(svg), "%s.svg", dot);
        if (render_svg(dot, svg) == 0)
            printf("lineage picture: %s (and %s)\n", svg, dot);
        else
            printf("lineage graph: %s (install graphviz to render it: dot -Tsvg)\n", dot);
    }
    rc = MT_EXIT_OK;
out:
    mt_lineage_free(g);
    mt_ledger_free(r.l);
    mt_service_release(&s);
    return rc;
}
