/* registry_follow — keeps a stage's registry current from the registry topic, outside any group. */
#include "registry_follow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"

struct mt_registry_follower {
    rd_kafka_t *rk;
    char *network_id;
    unsigned char gov_pk[MT_PK_LEN];
    const mt_registry *current;
    mt_registry **owned; /* versions read from the topic, freed with the follower */
    size_t n_owned, cap_owned;
};

/* The governance key the version after r is signed by. */
static void rotate(mt_registry_follower *f, const mt_registry *r) {
    const Mintrace__V1__Registry *snap = mt_registry_snapshot(r);
    if (snap->next_governance_public_key.len == MT_PK_LEN)
        memcpy(f->gov_pk, snap->next_governance_public_key.data, MT_PK_LEN);
}

mt_registry_follower *mt_registry_follower_new(const char *brokers, const char *const *props, const char *topic,
                                               const unsigned char gov_pk[MT_PK_LEN], const char *network_id,
                                               const mt_registry *initial, char *errstr, size_t errstr_size) {
    mt_registry_follower *f = calloc(1, sizeof(*f));
    if (!f || !(f->network_id = strdup(network_id))) {
        free(f);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    memcpy(f->gov_pk, gov_pk, MT_PK_LEN);
    f->current = initial;
    rotate(f, initial);
    rd_kafka_conf_t *conf = mt_kafka_conf_new(brokers, props, errstr, errstr_size);
    char group[64];
    snprintf(group, sizeof(group), "mintrace-registry-%d", (int)getpid()); /* assign() only; never commits */
    f->rk = conf ? mt_kafka_consumer_new(conf, group, errstr, errstr_size) : NULL;
    if (!f->rk) {
        mt_registry_follower_free(f);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t err = rd_kafka_assign(f->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        snprintf(errstr, errstr_size, "%s: assign: %s", topic, rd_kafka_err2str(err));
        mt_registry_follower_free(f);
        return NULL;
    }
    return f;
}

static void consider(mt_registry_follower *f, const rd_kafka_message_t *rkm) {
    char err[256];
    uint64_t have = mt_registry_version(f->current);
    mt_registry *r = mt_registry_from_envelope(rkm->payload, rkm->len, "registry topic", f->gov_pk, f->network_id, err,
                                               sizeof(err));
    if (!r) {
        /* an older version (the one loaded at start, or before) was signed by an older key */
        mt_log_debug("registry topic @%" PRId64 ": %s", rkm->offset, err);
        return;
    }
    uint64_t v = mt_registry_version(r);
    if (v <= have) { /* already in force */
        mt_registry_destroy(r);
        return;
    }
    if (v != have + 1) {
        mt_log_warn("registry topic @%" PRId64 ": version %" PRIu64 " does not follow %" PRIu64 ": ignored", rkm->offset,
                    v, have);
        mt_registry_destroy(r);
        return;
    }
    if (f->n_owned == f->cap_owned) {
        size_t cap = f->cap_owned ? f->cap_owned * 2 : 8;
        mt_registry **no = realloc(f->owned, cap * sizeof(*no));
        if (!no) {
            mt_registry_destroy(r);
            return;
        }
        f->owned = no;
        f->cap_owned = cap;
    }
    f->owned[f->n_owned++] = r;
    f->current = r;
    rotate(f, r);
    mt_log_info("registry version %" PRIu64 " in force", v);
}

const mt_registry *mt_registry_follower_poll(mt_registry_follower *f) {
    rd_kafka_message_t *rkm;
    while ((rkm = rd_kafka_consumer_poll(f->rk, 0)) != NULL) {
        if (!rkm->err) consider(f, rkm);
        rd_kafka_message_destroy(rkm);
    }
    return f->current;
}

void mt_registry_follower_free(mt_registry_follower *f) {
    if (!f) return;
    if (f->rk) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    for (size_t i = 0; i < f->n_owned; i++) mt_registry_destroy(f->owned[i]);
    free(f->owned);
    free(f->network_id);
    free(f);
}
