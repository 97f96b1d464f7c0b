/* cmd_prove — mintrace prove, verify-proof and passport: figures and events proven against a
 * checkpoint the aggregator signed (services/lib/proof.c, passport.c; docs/proofs.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "crypto.h"
#include "journal.h"
#include "kafka.h"
#include "ledger.h"
#include "log.h"
#include "passport.h"
#include "proof.h"
#include "service.h"

/* The journal up to the newest checkpoint, as read from the topics. */
typedef struct history {
    const mt_service *s;
    uint8_t *cp_env; /* the newest checkpoint envelope */
    size_t cp_len;
    Mintrace__V1__Checkpoint *cp;
    unsigned char (*leaves)[32]; /* leaf hashes recomputed from the entries, 0..cp->tree_size-1 */
    uint64_t n;
    mt_ledger *ledger; /* replayed up to the checkpoint, for state proofs */
    unsigned char event_id[MT_HASH_LEN];
    int by_event;
    uint64_t index;     /* the entry to prove (by_event: found by its event id) */
    uint8_t *entry;     /* its bytes */
    size_t entry_len;
    char err[512];
} history;

static int on_checkpoint(void *arg, const rd_kafka_message_t *rkm) {
    history *h = arg;
    uint8_t *copy = malloc(rkm->len ? rkm->len : 1);
    if (!copy) return 1;
    memcpy(copy, rkm->payload, rkm->len);
    free(h->cp_env);
    h->cp_env = copy;
    h->cp_len = rkm->len;
    return 0;
}

static int is_event(const Mintrace__V1__LedgerEntry *e, const unsigned char id[MT_HASH_LEN]) {
    if (e->entry_case != MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) return 0;
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    unsigned char have[MT_HASH_LEN];
    if (env) mt_hash(env->payload.data, env->payload.len, have);
    int yes = env && memcmp(have, id, MT_HASH_LEN) == 0;
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return yes;
}

static int on_entry(void *arg, const rd_kafka_message_t *rkm) {
    history *h = arg;
    Mintrace__V1__LedgerEntry *e = mintrace__v1__ledger_entry__unpack(NULL, rkm->len, rkm->payload);
    int stop = 0;
    if (!e || e->index != h->n) {
        snprintf(h->err, sizeof(h->err), "ledger offset %" PRId64 ": expected entry %" PRIu64 "%s", rkm->offset, h->n,
                 e ? ", found another (run mintrace audit)" : ", found undecodable bytes (run mintrace audit)");
        stop = 1;
    } else if (mt_journal_leaf_of(e, h->leaves[h->n]) || e->leaf_hash.len != MT_HASH_LEN ||
               memcmp(e->leaf_hash.data, h->leaves[h->n], MT_HASH_LEN)) {
        snprintf(h->err, sizeof(h->err), "entry %" PRIu64 ": its leaf hash is not that of its contents (run mintrace audit)",
                 h->n);
        stop = 1;
    } else {
        if (h->ledger && mt_ledger_replay(h->ledger, h->s->reg, mt_config_get(h->s->cfg, "network.id"), rkm->payload,
                                          rkm->len, h->err, sizeof(h->err)))
            stop = 1;
        if (!h->entry && (h->by_event ? is_event(e, h->event_id) : e->index == h->index)) {
            h->index = e->index;
            h->entry = malloc(rkm->len ? rkm->len : 1);
            if (h->entry) memcpy(h->entry, rkm->payload, rkm->len);
            h->entry_len = rkm->len;
        }
        h->n++;
    }
    if (e) mintrace__v1__ledger_entry__free_unpacked(e, NULL);
    return stop || h->n >= h->cp->tree_size; /* what the checkpoint covers, no more */
}

/* Reads the newest checkpoint and the journal it covers; checks the journal's root is the
 * checkpoint's. Returns 0, or -1 after logging why. */
static int load(history *h) {
    char topic[200], err[512];
    const char *brokers = mt_config_get(h->s->cfg, "brokers");
    const char *const *props = mt_config_kafka_props(h->s->cfg);
    if (mt_kafka_read_topic(brokers, props, mt_service_topic(h->s, "checkpoints", topic, sizeof(topic)),
                            RD_KAFKA_OFFSET_BEGINNING, -1, 1, &mt_run, on_checkpoint, h, err, sizeof(err))) {
        mt_log_error("%s", err);
        return -1;
    }
    Mintrace__V1__Envelope *env = h->cp_env ? mintrace__v1__envelope__unpack(NULL, h->cp_len, h->cp_env) : NULL;
    h->cp = env ? mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    if (!h->cp || h->cp->root.len != MT_HASH_LEN || !h->cp->tree_size) {
        mt_log_error("%s: %s", topic, h->cp_env ? "the newest checkpoint does not decode" : "no checkpoint yet");
        return -1;
    }
    h->leaves = malloc(h->cp->tree_size * MT_HASH_LEN);
    if (!h->leaves) {
        mt_log_error("out of memory for %" PRIu64 " leaves", h->cp->tree_size);
        return -1;
    }
    if (mt_kafka_read_topic(brokers, props, mt_service_topic(h->s, "ledger", topic, sizeof(topic)),
                            RD_KAFKA_OFFSET_BEGINNING, -1, 1, &mt_run, on_entry, h, err, sizeof(err))) {
        mt_log_error("%s", err);
        return -1;
    }
    if (h->err[0]) {
        mt_log_error("%s: %s", topic, h->err);
        return -1;
    }
    unsigned char root[MT_HASH_LEN];
    if (h->n == h->cp->tree_size) mt_merkle_root((const unsigned char(*)[32])h->leaves, h->n, root);
    if (h->n != h->cp->tree_size || memcmp(root, h->cp->root.data, MT_HASH_LEN)) {
        mt_log_error("%s: the journal (%" PRIu64 " entries) does not match the newest checkpoint (%" PRIu64
                     " entries): run mintrace audit",
                     topic, h->n, h->cp->tree_size);
        return -1;
    }
    if (h->ledger) mt_ledger_commit(h->ledger);
    return 0;
}

static void history_release(history *h) {
    free(h->cp_env);
    if (h->cp) mintrace__v1__checkpoint__free_unpacked(h->cp, NULL);
    free(h->leaves);
    free(h->entry);
    mt_ledger_free(h->ledger);
}

/* The state proof of batch at the checkpoint, into p. Returns 0, or -1 after logging why. */
static int prove_state(history *h, const char *batch, mt_proof *p) {
    unsigned char root[MT_HASH_LEN];
    if (mt_ledger_provenance_root(h->ledger, root) || h->cp->provenance_root.len != MT_HASH_LEN ||
        memcmp(root, h->cp->provenance_root.data, MT_HASH_LEN)) {
        mt_log_error("the provenance state replayed from the journal is not the one the checkpoint signed: run "
                     "mintrace audit");
        return -1;
    }
    int rc = mt_ledger_provenance_proof(h->ledger, batch, &p->leaf_index, &p->leaf_count, p->path, &p->path_len);
    if (rc) {
        mt_log_error(rc > 0 ? "%s: no such batch in the journal up to the checkpoint" : "%s: out of memory", batch);
        return -1;
    }
    Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(h->ledger, batch);
    p->item = rec ? mt_message_pack(&rec->base, &p->item_len) : NULL;
    if (rec) mt_prov_record_free(rec);
    p->kind = MT_PROOF_STATE;
    return p->item ? 0 : -1;
}

/* Takes the checkpoint envelope out of h into the proof. */
static void attach_checkpoint(history *h, mt_proof *p) {
    p->checkpoint = h->cp_env;
    p->checkpoint_len = h->cp_len;
    h->cp_env = NULL;
}

static int write_json(json_t *j, const char *out) {
    int rc = out ? json_dump_file(j, out, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))
                 : json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    if (!out && !rc) putchar('\n');
    if (rc) mt_log_error("%s: cannot write", out ? out : "stdout");
    return rc ? -1 : 0;
}

/* EVENT as 64 hex digits or base64 (as receipts print it). */
static int parse_event_id(const char *s, unsigned char id[MT_HASH_LEN]) {
    if (mt_hex_decode(s, id, MT_HASH_LEN) == 0) return 0;
    size_t len = 0;
    unsigned char *bin = mt_base64_decode(s, &len);
    int ok = bin && len == MT_HASH_LEN;
    if (ok) memcpy(id, bin, MT_HASH_LEN);
    free(bin);
    return ok ? 0 : -1;
}

int cmd_prove(int argc, char **argv) {
    static const mt_option opts[] = {
        {"state", 's', 0, "prove.state", "prove a batch's provenance record (ARG is a batch id)"},
        {"index", 'i', 0, "prove.index", "ARG is a ledger index (any entry: rejections too), not an event id"},
        {"out", 'o', 1, "prove.out", "write the proof to FILE (default stdout)"},
        {"registry", 'r', 1, "registry.file", "registry file (governance-signed; --state replays the journal)"},
        {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace prove", "EVENT_ID | --index N | --state BATCH   (newest checkpoint)", opts,
                             MT_NEED_BROKERS, argc, argv);
    if (rc >= 0) return rc;
    history h = {.s = &s};
    mt_proof p = {0};
    int state = mt_config_get_bool(s.cfg, "prove.state");
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1) {
        mt_log_error("give one EVENT_ID, ledger index (--index) or batch id (--state)");
        goto out;
    }
    const char *arg = argv[s.argi];
    if (state) {
        if (mt_service_load_registry(&s)) goto out;
        if (!(h.ledger = mt_ledger_new(NULL))) goto fail;
        mt_ledger_set_governance(h.ledger, s.gov_pk);
    } else if (mt_config_get_bool(s.cfg, "prove.index")) {
        char *end;
        h.index = strtoull(arg, &end, 10);
        if (*end || !*arg) {
            mt_log_error("%s: not a ledger index", arg);
            goto out;
        }
    } else if (parse_event_id(arg, h.event_id)) {
        mt_log_error("%s: not an event id (64 hex digits, or base64 as receipts show it)", arg);
        goto out;
    } else {
        h.by_event = 1;
    }
    if (load(&h)) goto fail;
    if (state) {
        if (prove_state(&h, arg, &p)) goto fail;
    } else {
        if (!h.entry) {
            mt_log_error("%s: not in the journal up to the newest checkpoint (%" PRIu64 " entries)", arg, h.n);
            goto fail;
        }
        p.kind = MT_PROOF_EVENT;
        p.item = h.entry;
        p.item_len = h.entry_len;
        h.entry = NULL;
        if (mt_merkle_inclusion_proof((const unsigned char(*)[32])h.leaves, h.n, h.index, p.path, &p.path_len)) goto fail;
    }
    attach_checkpoint(&h, &p);
    json_t *j = mt_proof_to_json(&p);
    rc = j && write_json(j, mt_config_get(s.cfg, "prove.out")) == 0 ? MT_EXIT_OK : MT_EXIT_FAIL;
    json_decref(j);
    goto out;
fail:
    rc = MT_EXIT_FAIL;
out:
    mt_proof_release(&p);
    history_release(&h);
    mt_service_release(&s);
    return rc;
}

int cmd_passport(int argc, char **argv) {
    static const mt_option opts[] = {
        {"out", 'o', 1, "passport.out", "write the passport to FILE (default stdout)"},
        {"registry", 'r', 1, "registry.file", "registry file (governance-signed)"},
        {"governance-key", 'g', 1, "governance.key", "governance public key file (.pub)"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace passport", "BATCH   (a product passport, proven against the newest checkpoint)",
                             opts, MT_NEED_BROKERS | MT_NEED_REGISTRY, argc, argv);
    if (rc >= 0) return rc;
    if (s.argi != argc - 1) {
        mt_log_error("give one BATCH id");
        mt_service_release(&s);
        return MT_EXIT_USAGE;
    }
    history h = {.s = &s, .ledger = mt_ledger_new(NULL)};
    mt_proof p = {0};
    json_t *passport = NULL;
    rc = MT_EXIT_FAIL;
    if (!h.ledger) goto out;
    mt_ledger_set_governance(h.ledger, s.gov_pk);
    if (load(&h) || prove_state(&h, argv[s.argi], &p)) goto out;
    attach_checkpoint(&h, &p);
    Mintrace__V1__ProvenanceRecord *rec = mintrace__v1__provenance_record__unpack(NULL, p.item_len, p.item);
    json_t *proof = mt_proof_to_json(&p);
    passport = rec && proof ? mt_passport_new(rec, h.cp, proof) : NULL;
    if (rec) mintrace__v1__provenance_record__free_unpacked(rec, NULL);
    if (!passport) {
        json_decref(proof);
        mt_log_error("out of memory");
        goto out;
    }
    if (write_json(passport, mt_config_get(s.cfg, "passport.out")) == 0) rc = MT_EXIT_OK;
out:
    json_decref(passport);
    mt_proof_release(&p);
    history_release(&h);
    mt_service_release(&s);
    return rc;
}

/* One line on what a proven entry journals: for an event, whose and what. */
static void describe_entry(const Mintrace__V1__LedgerEntry *e) {
    if (e->entry_case != MINTRACE__V1__LEDGER_ENTRY__ENTRY_EVENT) {
        printf("  entry: %s\n", e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_REJECTION ? "a rejection"
                               : e->entry_case == MINTRACE__V1__LEDGER_ENTRY__ENTRY_DUPLICATE ? "a duplicate"
                                                                                             : "a registry version");
        return;
    }
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, e->event->envelope.len, e->event->envelope.data);
    Mintrace__V1__BatchEvent *ev = env ? mintrace__v1__batch_event__unpack(NULL, env->payload.len, env->payload.data) : NULL;
    if (ev) {
        unsigned char id[MT_HASH_LEN];
        char hex[2 * MT_HASH_LEN + 1];
        const ProtobufCEnumValue *k = protobuf_c_enum_descriptor_get_value(&mintrace__v1__event_kind__descriptor, ev->kind);
        mt_hash(env->payload.data, env->payload.len, id);
        mt_hex_encode(id, MT_HASH_LEN, hex);
        const char *kind = k ? k->name : "?";
        if (strncmp(kind, "EVENT_KIND_", 11) == 0) kind += 11;
        printf("  event: %s, %s #%" PRIu64 " of facility %s\n", hex, kind, ev->seq, ev->facility_id);
        mintrace__v1__batch_event__free_unpacked(ev, NULL);
    }
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
}

int cmd_verify_proof(int argc, char **argv) {
    static const mt_option opts[] = {
        {"key", 'k', 1, "verify.key", "the aggregator's public key file (.pub): the only thing trusted"},
        {0},
    };
    mt_service s;
    int rc = mt_service_init(&s, "mintrace verify-proof",
                             "--key AGGREGATOR.pub FILE   (a proof of mintrace prove, or a passport)", opts, 0, argc, argv);
    if (rc >= 0) return rc;
    char err[512];
    unsigned char pk[MT_PK_LEN];
    const char *key = mt_config_get(s.cfg, "verify.key");
    json_error_t jerr;
    json_t *doc = NULL;
    mt_proof p = {0};
    mt_proof_result r = {0};
    rc = MT_EXIT_USAGE;
    if (s.argi != argc - 1 || !key) {
        mt_log_error("give --key AGGREGATOR.pub and one proof or passport FILE");
        goto out;
    }
    if (mt_pubkey_load(pk, key, err, sizeof(err))) {
        mt_log_error("%s", err);
        goto out;
    }
    doc = json_load_file(argv[s.argi], 0, &jerr);
    if (!doc) {
        mt_log_error("%s:%d: %s", argv[s.argi], jerr.line, jerr.text);
        goto out;
    }
    const json_t *pj = json_object_get(doc, "proof") ? json_object_get(doc, "proof") : doc; /* a passport carries one */
    rc = MT_EXIT_FAIL;
    if (mt_proof_from_json(pj, &p, err, sizeof(err)) || mt_proof_verify(&p, pk, &r, err, sizeof(err)) ||
        (pj != doc && mt_passport_check(doc, r.rec, r.cp, err, sizeof(err)))) {
        printf("NOT VERIFIED: %s\n", err);
        goto out;
    }
    char root[2 * MT_HASH_LEN + 1];
    mt_hex_encode(r.cp->root.data, MT_HASH_LEN, root);
    if (r.entry) {
        printf("verified: ledger entry %" PRIu64 " is in the journal of network %s", r.entry->index, r.cp->network_id);
    } else {
        printf("verified: the figures of batch %s as of ledger entry %" PRIu64 " are in the provenance state of network %s",
               r.rec->batch_id, r.rec->ledger_index, r.cp->network_id);
        if (pj != doc) printf(", and the passport shows exactly them");
    }
    printf("\n  checkpoint: tree size %" PRIu64 ", root %s, signed by aggregator key %s\n", r.cp->tree_size, root,
           r.key_id);
    if (r.entry) describe_entry(r.entry);
    rc = MT_EXIT_OK;
out:
    mt_proof_result_release(&r);
    mt_proof_release(&p);
    json_decref(doc);
    mt_service_release(&s);
    return rc;
}
