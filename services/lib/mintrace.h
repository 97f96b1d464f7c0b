/* mintrace.h — the producer API: a facility's program builds, signs and emits batch events.
 *
 *   mt_producer *p = mt_producer_new(&conf, err, sizeof(err));
 *   mt_emitted e;
 *   if (mt_producer_emit_json(p, json, strlen(json), &e, err, sizeof(err)))
 *       fprintf(stderr, "%s\n", err);
 *   mt_producer_flush(p, 10000, err, sizeof(err));
 *   mt_producer_destroy(p);
 *
 * Guarantee: an event is on disk (the write-ahead file, fsync()ed) before it is handed to Kafka,
 * and a producer that restarts resends exactly the bytes Kafka did not confirm, so a crash
 * neither loses an event nor signs two different events with one seq.
 */
#ifndef MINTRACE_H
#define MINTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "mintrace/v1/event.pb-c.h"

typedef struct mt_producer mt_producer;

typedef struct mt_producer_conf {
    const char *brokers;             /* bootstrap servers */
    const char *const *kafka_props;  /* "name", "value", ..., NULL: any librdkafka property; may be NULL */
    const char *topic;               /* full name of events.submitted, e.g. "mintrace.events.submitted" */
    const char *key_file;            /* the facility's Ed25519 secret key file (mode 0600) */
    const char *facility_id;         /* the registry id the events are emitted as */
    const char *network_id;          /* the deployment */
    const char *state_dir;           /* where the write-ahead file of this key lives */
} mt_producer_conf;

/* What was emitted. */
typedef struct mt_emitted {
    uint64_t seq;
    unsigned char event_id[32];
    char event_id_hex[65];
} mt_emitted;

/* Opens the key and the write-ahead file, connects, and resends whatever an earlier run left
 * unconfirmed (see mt_producer_resent()). NULL on error with the reason in errstr. */
mt_producer *mt_producer_new(const mt_producer_conf *conf, char *errstr, size_t errstr_size);

/* How many envelopes mt_producer_new() resent from the write-ahead file. */
size_t mt_producer_resent(const mt_producer *p);

/* Emits one event given as JSON (the proto3 JSON form of mintrace.v1.BatchEvent). The producer
 * fills network_id, facility_id, seq and prev (the JSON must not set them differently) and
 * time_ms when absent; signs; writes the envelope to the write-ahead file; hands it to Kafka
 * (key: facility id). Returns 0 with *out filled, or -1 with the reason (a JSON path for bad
 * input). Delivery is confirmed by mt_producer_flush(). */
int mt_producer_emit_json(mt_producer *p, const char *json, size_t len, mt_emitted *out, char *errstr,
                          size_t errstr_size);

/* The same for an event built in C; ev's network_id, facility_id, seq, prev and (when 0)
 * time_ms are set by the producer (ev is modified; its strings stay the caller's). */
int mt_producer_emit(mt_producer *p, Mintrace__V1__BatchEvent *ev, mt_emitted *out, char *errstr,
                     size_t errstr_size);

/* Waits up to timeout_ms for Kafka to confirm every emitted envelope and records the
 * confirmation. Returns 0 when all are confirmed, -1 otherwise (errstr says why). */
int mt_producer_flush(mt_producer *p, int timeout_ms, char *errstr, size_t errstr_size);

/* The chain head of the producer's key: the last seq signed (0 before the first) and its id. */
uint64_t mt_producer_head(const mt_producer *p, unsigned char event_id[32]);

/* After the ledger rejected this key's event rejected_seq (its receipt says so), moves the
 * chain back so the next event reuses that seq, chained to prev (the rejected event's own prev:
 * the id of the last event before it). Events emitted after it were rejected too
 * (CHAIN_BROKEN_BEFORE) and must be emitted again. Call after mt_producer_flush(). Returns 0, or
 * -1 with errstr. */
int mt_producer_rewind(mt_producer *p, uint64_t rejected_seq, const unsigned char prev[32], char *errstr,
                       size_t errstr_size);

/* Flushes (up to 10 s), closes and frees. Accepts NULL. */
void mt_producer_destroy(mt_producer *p);

#endif
