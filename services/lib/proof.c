/* proof — inclusion proofs anyone checks offline (docs/proofs.md). */
#include "proof.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "journal.h"
#include "provenance.h"

static int fail(char *errstr, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (errstr && n) vsnprintf(errstr, n, fmt, ap);
    va_end(ap);
    return -1;
}

static json_t *b64(const uint8_t *bin, size_t len) {
    size_t n = 4 * ((len + 2) / 3) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    mt_base64_encode(bin, len, s, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

json_t *mt_proof_to_json(const mt_proof *p) {
    json_t *path = json_array();
    for (size_t i = 0; path && i < p->path_len; i++) {
        char hex[2 * MT_MERKLE_HASH_LEN + 1];
        mt_hex_encode(p->path[i], MT_MERKLE_HASH_LEN, hex);
        if (json_array_append_new(path, json_string(hex))) {
            json_decref(path);
            return NULL;
        }
    }
    json_t *j = json_pack("{s:i, s:s, s:o*, s:o*}", "mintrace_proof", 1, "kind",
                          p->kind == MT_PROOF_EVENT ? "event" : "state", "checkpoint",
                          b64(p->checkpoint, p->checkpoint_len), "path", path);
    if (!j) return NULL;
    int bad;
    if (p->kind == MT_PROOF_EVENT)
        bad = json_object_set_new(j, "entry", b64(p->item, p->item_len));
    else
        bad = json_object_set_new(j, "record", b64(p->item, p->item_len)) ||
              json_object_set_new(j, "leaf_index", json_integer((json_int_t)p->leaf_index)) ||
              json_object_set_new(j, "leaf_count", json_integer((json_int_t)p->leaf_count));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int get_bytes(const json_t *j, const char *name, uint8_t **out, size_t *len, char *errstr, size_t n) {
    const json_t *v = json_object_get(j, name);
    if (!json_is_string(v)) return fail(errstr, n, "proof: \"%s\" is missing (a base64 string)", name);
    *out = mt_base64_decode(json_string_value(v), len);
    return *out ? 0 : fail(errstr, n, "proof: \"%s\" is not base64", name);
}

static int get_count(const json_t *j, const char *name, uint64_t *out, char *errstr, size_t n) {
    const json_t *v = json_object_get(j, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(errstr, n, "proof: \"%s\" is missing (a count)", name);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int mt_proof_from_json(const json_t *j, mt_proof *p, char *errstr, size_t errstr_size) {
    memset(p, 0, sizeof(*p));
    if (!json_is_object(j) || json_integer_value(json_object_get(j, "mintrace_proof")) != 1)
        return fail(errstr, errstr_size, "not a mintrace proof (no \"mintrace_proof\": 1)");
    const char *kind = json_string_value(json_object_get(j, "kind"));
    if (kind && strcmp(kind, "event") == 0)
        p->kind = MT_PROOF_EVENT;
    else if (kind && strcmp(kind, "state") == 0)
        p->kind = MT_PROOF_STATE;
    else
        return fail(errstr, errstr_size, "proof: \"kind\" must be \"event\" or \"state\"");
    if (get_bytes(j, "checkpoint", &p->checkpoint, &p->checkpoint_len, errstr, errstr_size)) return -1;
    if (p->kind == MT_PROOF_EVENT) {
        if (get_bytes(j, "entry", &p->item, &p->item_len, errstr, errstr_size)) return -1;
    } else if (get_bytes(j, "record", &p->item, &p->item_len, errstr, errstr_size) ||
               get_count(j, "leaf_index", &p->leaf_index, errstr, errstr_size) ||
               get_count(j, "leaf_count", &p->leaf_count, errstr, errstr_size)) {
        return -1;
    }
    const json_t *path = json_object_get(j, "path");
    if (!json_is_array(path) || json_array_size(path) > MT_MERKLE_MAX_INCLUSION)
        return fail(errstr, errstr_size, "proof: \"path\" must be an array of at most %d hashes",
                    MT_MERKLE_MAX_INCLUSION);
    for (size_t i = 0; i < json_array_size(path); i++) {
        const char *hex = json_string_value(json_array_get(path, i));
        if (!hex || mt_hex_decode(hex, p->path[i], MT_MERKLE_HASH_LEN))
            return fail(errstr, errstr_size, "proof: path[%zu] is not a 32-byte hex hash", i);
    }
    p->path_len = json_array_size(path);
    return 0;
}

/* The checkpoint envelope: an aggregator signature by agg_pk over a Checkpoint. */
static int open_checkpoint(const mt_proof *p, const unsigned char agg_pk[MT_PK_LEN], mt_proof_result *r, char *errstr,
                           size_t n) {
    Mintrace__V1__Envelope *env = mintrace__v1__envelope__unpack(NULL, p->checkpoint_len, p->checkpoint);
    int rc = -1;
    mt_key_id(agg_pk, r->key_id);
    if (!env || strcmp(env->payload_type, MT_PAYLOAD_CHECKPOINT) != 0) {
        fail(errstr, n, "the checkpoint is not a Checkpoint envelope");
        goto out;
    }
    for (size_t i = 0; i < env->n_signatures && rc; i++) {
        const Mintrace__V1__Signature *s = env->signatures[i];
        if (s->role == MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR && strcmp(s->key_id, r->key_id) == 0 &&
            s->sig.len == MT_SIG_LEN &&
            mt_verify(agg_pk, env->payload_type, env->payload.data, env->payload.len, s->sig.data) == 0)
            rc = 0;
    }
    if (rc) {
        fail(errstr, n, "the checkpoint is not signed by aggregator key %s", r->key_id);
        goto out;
    }
    r->cp = mintrace__v1__checkpoint__unpack(NULL, env->payload.len, env->payload.data);
    if (!r->cp || r->cp->root.len != MT_HASH_LEN) rc = fail(errstr, n, "the signed checkpoint does not decode");
out:
    if (env) mintrace__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

static int verify_event(const mt_proof *p, mt_proof_result *r, char *errstr, size_t n) {
    unsigned char leaf[MT_HASH_LEN];
    r->entry = mintrace__v1__ledger_entry__unpack(NULL, p->item_len, p->item);
    if (!r->entry || mt_journal_leaf_of(r->entry, leaf)) return fail(errstr, n, "the entry is not a LedgerEntry");
    if (r->entry->leaf_hash.len != MT_HASH_LEN || memcmp(leaf, r->entry->leaf_hash.data, MT_HASH_LEN))
        return fail(errstr, n, "entry %llu: its leaf_hash is not the hash of what it carries",
                    (unsigned long long)r->entry->index);
    if (r->entry->index >= r->cp->tree_size)
        return fail(errstr, n, "entry %llu is beyond the checkpoint (tree size %llu)",
                    (unsigned long long)r->entry->index, (unsigned long long)r->cp->tree_size);
    if (mt_merkle_verify_inclusion(leaf, r->entry->index, r->cp->tree_size, (const unsigned char(*)[32])p->path,
                                   p->path_len, r->cp->root.data))
        return fail(errstr, n, "entry %llu: the path does not lead to the checkpoint's root",
                    (unsigned long long)r->entry->index);
    return 0;
}

static int verify_state(const mt_proof *p, mt_proof_result *r, char *errstr, size_t n) {
    unsigned char commit[MT_HASH_LEN], leaf[MT_HASH_LEN];
    if (r->cp->provenance_root.len != MT_HASH_LEN) return fail(errstr, n, "the checkpoint has no provenance root");
    r->rec = mintrace__v1__provenance_record__unpack(NULL, p->item_len, p->item);
    if (!r->rec) return fail(errstr, n, "the record is not a ProvenanceRecord");
    mt_sha256(p->item, p->item_len, commit);
    if (mt_prov_state_leaf(r->rec->batch_id, commit, leaf)) return fail(errstr, n, "the record's batch id is too long");
    if (r->rec->ledger_index >= r->cp->tree_size)
        return fail(errstr, n, "%s: the record reflects entry %llu, beyond the checkpoint (tree size %llu)",
                    r->rec->batch_id, (unsigned long long)r->rec->ledger_index, (unsigned long long)r->cp->tree_size);
    if (r->rec->state_position != p->leaf_index)
        return fail(errstr, n, "%s: the record is leaf %llu of the state tree, the proof is for leaf %llu",
                    r->rec->batch_id, (unsigned long long)r->rec->state_position, (unsigned long long)p->leaf_index);
    if (mt_merkle_verify_inclusion(leaf, p->leaf_index, p->leaf_count, (const unsigned char(*)[32])p->path,
                                   p->path_len, r->cp->provenance_root.data))
        return fail(errstr, n, "%s: the record is not the one the checkpoint's provenance root commits to",
                    r->rec->batch_id);
    return 0;
}

int mt_proof_verify(const mt_proof *p, const unsigned char agg_pk[MT_PK_LEN], mt_proof_result *r, char *errstr,
                    size_t errstr_size) {
    memset(r, 0, sizeof(*r));
    if (open_checkpoint(p, agg_pk, r, errstr, errstr_size)) return -1;
    return p->kind == MT_PROOF_EVENT ? verify_event(p, r, errstr, errstr_size) : verify_state(p, r, errstr, errstr_size);
}

void mt_proof_release(mt_proof *p) {
    free(p->checkpoint);
    free(p->item);
    p->checkpoint = p->item = NULL;
}

void mt_proof_result_release(mt_proof_result *r) {
    if (r->cp) mintrace__v1__checkpoint__free_unpacked(r->cp, NULL);
    if (r->entry) mintrace__v1__ledger_entry__free_unpacked(r->entry, NULL);
    if (r->rec) mintrace__v1__provenance_record__free_unpacked(r->rec, NULL);
    memset(r, 0, sizeof(*r));
}
