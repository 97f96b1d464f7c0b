/* cmd_journal — mintrace journal: the ledger for people, one line per entry and a tally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "crypto.h"
#include "merkle.h"
#include "journal_text.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

typedef struct reading {
    mt_journal_tally t;
    unsigned char (*leaves)[32]; /* every leaf hash, to check checkpoints against */
    size_t n, cap;
    uint8_t *last_cp; /* the newest checkpoint envelope */
    size_t last_cp_len;
} reading;

static int on_entry(void *arg, const rd_kafka_message_t *rkm) {
    reading *r = arg;
    mt_journal_describe(stdout, rkm->payload, rkm->len, &r->t);
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, rkm->len, rkm->payload);
    if (e && e->leaf_hash.len == 32) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 1024;
            void *nv = realloc(r->leaves, cap * 32);
            if (nv) {
                r->leaves = nv;
                r->cap = cap;
            }
        }
        if (r->n < r->cap) memcpy(r->leaves[r->n++], e->leaf_hash.data, 32);
    }
    if (e) mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return 0;
}

static int on_checkpoint(void *arg, const rd_kafka_message_t *rkm) {
    reading *r = arg;
    free(r->last_cp);
    r->last_cp = malloc(rkm->len ? rkm->len : 1);
    if (r->last_cp) memcpy(r->last_cp, rkm->payload, rkm->len);
    r->last_cp_len = rkm->len;
    return 0;
}

/* One line on the newest checkpoint: does its root match the journal's leaves? (The auditor
 * also recomputes every leaf and checks the aggregator's signature.) Returns 0 when it does. */
static int describe_checkpoint(const reading *r) {
    if (!r->last_cp) {
        printf("checkpoint: none yet\n");
        return 0;
    }
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, r->last_cp_len, r->last_cp);
    Mintrace__V1__Checkpoint *cp =
        env ? mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    int rc = -1;
    if (!cp || cp->root.len != 32) {
        printf("checkpoint: the newest is not a decodable Checkpoint!\n");
    } else if (cp->tree_size > r->n) {
        printf("checkpoint: covers %llu entries, the journal has %zu!\n", (unsigned long long)cp->tree_size, r->n);
    } else {
        unsigned char root[32];
        char hex[65];
        mt_merkle_root((const unsigned char(*)[32])r->leaves, cp->tree_size, root);
        mt_hex_encode(cp->root.data, 32, hex);
        rc = memcmp(root, cp->root.data, 32) ? -1 : 0;
        printf("checkpoint: %llu entries, root %.16s…, signed by key %s: %s\n", (unsigned long long)cp->tree_size, hex,
               env->n_signatures ? env->signatures[0]->key_id : "(none)",
               rc ? "DOES NOT MATCH the journal!" : "matches the journal");
    }
    if (cp) mintrace__v1__checkpoint__free_unpacked(cp, NULL);
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

int cmd_journal(int argc, char **argv) {
    static const mt_option opts[] = {
        {"follow", 'F', 0, "journal.follow", "keep reading new entries (else stop at the end)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace journal", "[-F]   (reads the ledger topic)", opts,
                             MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    char topic[200], err[512];
    reading r = {0};
    rc = MT_EXIT_OK;
    if (mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "ledger", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1,
                            !mt_config_get_bool(s.cfg, "journal.follow"), &mt_run, on_entry, &r, err, sizeof(err)) ||
        mt_kafka_read_topic(mt_config_get(s.cfg, "brokers"), mt_config_kafka_props(s.cfg),
                            mt_service_topic(&s, "checkpoints", topic, sizeof(topic)), RD_KAFKA_OFFSET_BEGINNING, -1, 1,
                            &mt_run, on_checkpoint, &r, err, sizeof(err))) {
        mt_log_error("%s", err);
        rc = MT_EXIT_FAIL;
    }
    mt_journal_tally_print(stdout, &r.t);
    if (describe_checkpoint(&r)) rc = MT_EXIT_FAIL;
    if (r.t.gaps || r.t.undecodable) rc = MT_EXIT_FAIL;
    free(r.leaves);
    free(r.last_cp);
    mt_service_release(&s);
    return rc;
}
