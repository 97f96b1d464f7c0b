/* producer — the facility side: number, chain, sign, write ahead, emit (the API in mintrace.h). */
#include "mintrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "kafka.h"
#include "log.h"
#include "wal.h"

struct mt_producer {
    mt_keypair kp;
    mt_wal *wal;
    rd_kafka_t *rk;
    char *topic, *facility_id, *network_id;
    uint64_t delivered;   /* highest seq Kafka confirmed in this run */
    uint64_t emitted;     /* highest seq handed to Kafka */
    int failed;           /* a delivery failed: the envelope stays in the WAL */
    int flush_timed_out;  /* the last flush gave up: do not wait again when closing */
    char failure[256];
    size_t resent;
    mt_kafka_dr_hook dr_hook; /* routes delivery reports to on_delivery() */
};

/* Delivery reports arrive in order: every event of a producer has one key, so one partition. */
static void on_delivery(void *opaque, const rd_kafka_message_t *rkm) {
    mt_producer *p = opaque;
    uint64_t seq = (uint64_t)(uintptr_t)rkm->_private;
    if (rkm->err) {
        if (!p->failed)
            snprintf(p->failure, sizeof(p->failure), "event seq %llu not delivered to %s: %s",
                     (unsigned long long)seq, p->topic, rd_kafka_err2str(rkm->err));
        p->failed = 1;
    } else if (seq > p->delivered && !p->failed) {
        p->delivered = seq;
    }
}

static int send_envelope(mt_producer *p, uint64_t seq, const void *env, size_t len, char *errstr, size_t errstr_size) {
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(p->facility_id, strlen(p->facility_id)),
            RD_KAFKA_V_VALUE((void *)env, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* let deliveries drain, then retry */
            rd_kafka_poll(p->rk, 100);
            continue;
        }
        if (err) {
            snprintf(errstr, errstr_size, "cannot produce to %s: %s", p->topic, rd_kafka_err2str(err));
            return -1;
        }
        p->emitted = seq;
        rd_kafka_poll(p->rk, 0);
        return 0;
    }
}

void mt_producer_destroy(mt_producer *p) {
    if (!p) return;
    if (p->rk) {
        char err[256];
        if (!p->flush_timed_out && mt_producer_flush(p, 10000, err, sizeof(err))) mt_log_warn("%s", err);
        rd_kafka_destroy(p->rk);
    }
    mt_wal_close(p->wal);
    mt_keypair_wipe(&p->kp);
    free(p->topic);
    free(p->facility_id);
    free(p->network_id);
    free(p);
}

mt_producer *mt_producer_new(const mt_producer_conf *conf, char *errstr, size_t errstr_size) {
    mt_producer *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    if (!conf->topic || !conf->facility_id || !conf->network_id || !conf->key_file || !conf->state_dir) {
        snprintf(errstr, errstr_size, "producer needs topic, facility id, network id, key file and state dir");
        goto fail;
    }
    p->topic = strdup(conf->topic);
    p->facility_id = strdup(conf->facility_id);
    p->network_id = strdup(conf->network_id);
    if (!p->topic || !p->facility_id || !p->network_id) goto fail;
    if (mt_keypair_load(&p->kp, conf->key_file, errstr, errstr_size)) goto fail;
    p->wal = mt_wal_open(conf->state_dir, p->kp.key_id, errstr, errstr_size);
    if (!p->wal) goto fail;
    p->delivered = mt_wal_acked(p->wal);

    rd_kafka_conf_t *kc = mt_kafka_conf_new(conf->brokers, conf->kafka_props, errstr, errstr_size);
    if (!kc) goto fail;
    p->dr_hook = (mt_kafka_dr_hook){on_delivery, p};
    rd_kafka_conf_set_opaque(kc, &p->dr_hook);
    p->rk = mt_kafka_producer_new(kc, NULL, -1, errstr, errstr_size); /* takes kc */
    if (!p->rk) goto fail;

    /* What an earlier run signed but Kafka never confirmed goes again, byte for byte. */
    size_t n;
    const mt_wal_record *recs = mt_wal_unacked(p->wal, &n);
    for (size_t i = 0; i < n; i++)
        if (send_envelope(p, recs[i].seq, recs[i].envelope, recs[i].len, errstr, errstr_size)) goto fail;
    p->resent = n;
    return p;
fail:
    if (errstr && errstr_size && !errstr[0]) snprintf(errstr, errstr_size, "out of memory");
    mt_producer_destroy(p);
    return NULL;
}

size_t mt_producer_resent(const mt_producer *p) {
    return p->resent;
}

int mt_producer_emit(mt_producer *p, Mintrace__V1__BatchEvent *ev, mt_emitted *out, char *errstr,
                     size_t errstr_size) {
    if (ev->facility_id && ev->facility_id[0] && strcmp(ev->facility_id, p->facility_id) != 0) {
        snprintf(errstr, errstr_size, "facility_id: the event names %s, this producer emits as %s", ev->facility_id,
                 p->facility_id);
        return -1;
    }
    if (ev->network_id && ev->network_id[0] && strcmp(ev->network_id, p->network_id) != 0) {
        snprintf(errstr, errstr_size, "network_id: the event names %s, this producer runs on %s", ev->network_id,
                 p->network_id);
        return -1;
    }
    unsigned char head[MT_HASH_LEN];
    uint64_t seq = mt_wal_head(p->wal, head) + 1;
    if (ev->seq && ev->seq != seq) {
        snprintf(errstr, errstr_size, "seq: the event says %llu, the chain of key %s is at %llu",
                 (unsigned long long)ev->seq, p->kp.key_id, (unsigned long long)(seq - 1));
        return -1;
    }

    /* The producer owns chaining: the caller's strings are put back before returning. */
    char *saved_facility = ev->facility_id, *saved_network = ev->network_id;
    ProtobufCBinaryData saved_prev = ev->prev;
    ev->facility_id = p->facility_id;
    ev->network_id = p->network_id;
    ev->seq = seq;
    ev->prev = seq == 1 ? (ProtobufCBinaryData){0, NULL} : (ProtobufCBinaryData){MT_HASH_LEN, head};
    if (!ev->time_ms) ev->time_ms = mt_now_ms();

    int rc = -1;
    uint8_t *payload = NULL, *env = NULL;
    size_t plen, elen;
    mt_verdict v = {0};
    if (mt_event_check_shape(ev, &v)) {
        snprintf(errstr, errstr_size, "%s: %s", mt_reason_name(v.code), v.detail);
        goto done;
    }
    payload = mt_message_pack(&ev->base, &plen);
    if (!payload) goto done;
    mt_hash(payload, plen, out->event_id);
    if (mt_envelope_seal(&p->kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen, &env,
                         &elen))
        goto done;
    if (mt_wal_append(p->wal, seq, out->event_id, env, elen, errstr, errstr_size)) goto done;
    if (send_envelope(p, seq, env, elen, errstr, errstr_size)) goto done;
    out->seq = seq;
    mt_hex_encode(out->event_id, MT_HASH_LEN, out->event_id_hex);
    rc = 0;
done:
    if (rc && errstr && errstr_size && !errstr[0]) snprintf(errstr, errstr_size, "out of memory");
    free(payload);
    free(env);
    ev->facility_id = saved_facility;
    ev->network_id = saved_network;
    ev->prev = saved_prev;
    return rc;
}

int mt_producer_emit_json(mt_producer *p, const char *json, size_t len, mt_emitted *out, char *errstr,
                          size_t errstr_size) {
    Mintrace__V1__BatchEvent *ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(
        &mintrace__v1__batch_event__descriptor, json, len, errstr, errstr_size);
    if (!ev) return -1;
    if (ev->prev.len) {
        snprintf(errstr, errstr_size, "prev: set by the producer, leave it out");
        protobuf_c_message_free_unpacked(&ev->base, NULL);
        return -1;
    }
    int rc = mt_producer_emit(p, ev, out, errstr, errstr_size);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    return rc;
}

int mt_producer_flush(mt_producer *p, int timeout_ms, char *errstr, size_t errstr_size) {
    rd_kafka_flush(p->rk, timeout_ms);
    if (p->delivered > mt_wal_acked(p->wal) && mt_wal_set_acked(p->wal, p->delivered, errstr, errstr_size))
        return -1;
    if (p->failed) {
        snprintf(errstr, errstr_size, "%s (kept in the write-ahead file; it is resent at the next start)", p->failure);
        return -1;
    }
    if (p->delivered < p->emitted) {
        p->flush_timed_out = 1;
        snprintf(errstr, errstr_size, "%llu event(s) not confirmed by Kafka within %d ms (kept; resent at the next start)",
                 (unsigned long long)(p->emitted - p->delivered), timeout_ms);
        return -1;
    }
    return 0;
}

uint64_t mt_producer_head(const mt_producer *p, unsigned char event_id[32]) {
    return mt_wal_head(p->wal, event_id);
}

int mt_producer_rewind(mt_producer *p, uint64_t rejected_seq, const unsigned char prev[32], char *errstr,
                       size_t errstr_size) {
    static const unsigned char none[MT_HASH_LEN];
    if (rejected_seq == 0) {
        snprintf(errstr, errstr_size, "seq 0 is never used");
        return -1;
    }
    return mt_wal_rewind(p->wal, rejected_seq - 1, rejected_seq == 1 ? none : prev, errstr, errstr_size);
}
