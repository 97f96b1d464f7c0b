/* bench_ledger_spill.c - the ledger's memory and speed over growing histories, with and without mt_ledger_spill(). */
/*
 * A mine extracts one batch per step and holds LIVE of them; from step LIVE on, each step also
 * ships its oldest batch to a refiner, which receives it and sells it out of the system (EXIT):
 * four events per batch made, a constant number of live batches, a history as long as asked.
 * The stream (signed and attested once, into a temporary file) is offered to a new ledger per
 * run, in a child process of its own, one committed transaction per event (the audit's and the
 * worst case for spilling), and the notary's signature is not checked again (as the audit
 * does: the ledger's own work shows). Prints one line per run:
 *
 *   batches mode events seconds events/s rss_kb rss_growth_kb ram_batches ram_events ram_bytes disk_bytes root_ms
 *
 * (root_ms: one mt_ledger_provenance_root() after the run, as a checkpoint computes it)
 *
 * Usage: bench_ledger_spill [--verify] LIVE N...   e.g. bench_ledger_spill 1000 10000 40000 160000
 *   --verify  check the notary's signature on every offer (as the aggregator does)
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "event.h"
#include "ledger.h"
#include "notary.h"
#include "registry.h"
#include "simulate.h"

#define NET     "bench"
#define SEED    7
#define T0      1600000000000LL
#define MINE    "IN-IREL-CHAVARA"
#define REFINER "IN-IREL-OSCOM"

typedef struct chain {
    mt_keypair kp;
    const char *facility;
    uint64_t seq;
    unsigned char prev[MT_HASH_LEN];
} chain;

typedef struct world {
    mt_registry *reg;
    mt_keypair notary;
    chain mine, refiner;
    FILE *out;
    uint64_t events;
} world;

static void die(const char *what) {
    fprintf(stderr, "bench_ledger_spill: %s\n", what);
    exit(2);
}

/* The next event of chain c from JSON, signed, attested and appended to the stream (u32 length,
 * bytes); ref is the RECEIVE's transfer. Its id goes to id (may be NULL). */
static void emit(world *w, chain *c, const unsigned char *ref, unsigned char *id, const char *fmt, ...) {
    char json[2048], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(json, sizeof(json), fmt, ap);
    va_end(ap);
    Mintrace__V1__BatchEvent *ev = (Mintrace__V1__BatchEvent *)mt_json_text_to_message(
        &mintrace__v1__batch_event__descriptor, json, strlen(json), err, sizeof(err));
    if (!ev) die(err);
    ProtobufCBinaryData prev0 = ev->prev, ref0 = {0, NULL};
    ev->seq = ++c->seq;
    ev->prev = c->seq > 1 ? (ProtobufCBinaryData){MT_HASH_LEN, c->prev} : (ProtobufCBinaryData){0, NULL};
    if (ref) {
        ref0 = ev->receive->transfer_event_id;
        ev->receive->transfer_event_id = (ProtobufCBinaryData){MT_HASH_LEN, (uint8_t *)ref};
    }
    size_t plen, elen, alen;
    uint8_t *payload = mt_message_pack(&ev->base, &plen), *env = NULL, *att = NULL;
    ev->prev = prev0;
    if (ref) ev->receive->transfer_event_id = ref0;
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    if (!payload) die("out of memory");
    mt_hash(payload, plen, c->prev);
    if (id) memcpy(id, c->prev, MT_HASH_LEN);
    mt_verdict v;
    if (mt_envelope_seal(&c->kp, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_FACILITY, MT_PAYLOAD_EVENT, payload, plen, &env,
                         &elen) ||
        mt_notary_attest(&w->notary, w->reg, NET, env, elen, T0 + 3600000, &att, &alen, &v)) {
        fprintf(stderr, "%s\n", json);
        die(v.detail);
    }
    uint32_t n = (uint32_t)alen;
    if (fwrite(&n, sizeof(n), 1, w->out) != 1 || fwrite(att, alen, 1, w->out) != 1) die("cannot write the stream");
    free(payload);
    free(env);
    free(att);
    w->events++;
}

#define SITE_IN "'site':{'country':'IN','region':'IN-KL','name':'Chavara'}"

/* The stream of `batches` steps with `live` batches held, into a temporary file. */
static FILE *make_stream(uint64_t live, uint64_t batches) {
    world w = {.mine.facility = MINE, .refiner.facility = REFINER};
    uint8_t *regb;
    size_t regl;
    mt_keypair gov;
    char err[256];
    if (mt_sim_registry(SEED, NET, &regb, &regl) || mt_sim_key(SEED, "governance", &gov) ||
        mt_sim_key(SEED, "NOTARY-1", &w.notary) || mt_sim_key(SEED, MINE, &w.mine.kp) ||
        mt_sim_key(SEED, REFINER, &w.refiner.kp))
        die("simulated keys");
    if (!(w.reg = mt_registry_from_envelope(regb, regl, "sim", gov.pk, NET, err, sizeof(err)))) die(err);
    free(regb);
    if (!(w.out = tmpfile())) die("tmpfile");
    for (uint64_t i = 0; i < batches; i++) {
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"kind\":\"EXTRACT\",\"network_id\":\"%s\",\"facility_id\":\"%s\",\"time_ms\":%lld,%s,"
                 "\"extract\":{\"deposit\":\"Chavara\"},\"outputs\":[{\"batch_id\":\"ORE-%llu\",\"material\":\"ore\","
                 "\"mass_mg\":1000000,\"elements\":[{\"element\":\"Nd\",\"mass_mg\":100000},{\"element\":\"Pr\","
                 "\"mass_mg\":30000}]}]}",
                 NET, MINE, T0, SITE_IN, (unsigned long long)i);
        for (char *p = json; *p; p++)
            if (*p == '\'') *p = '"';
        emit(&w, &w.mine, NULL, NULL, "%s", json);
        if (i < live) continue;
        unsigned long long old = (unsigned long long)(i - live);
        unsigned char tr[MT_HASH_LEN];
        emit(&w, &w.mine, NULL, tr,
             "{\"kind\":\"TRANSFER\",\"network_id\":\"%s\",\"facility_id\":\"%s\",\"time_ms\":%lld,"
             "\"inputs\":[{\"batch_id\":\"ORE-%llu\",\"mass_mg\":1000000}],"
             "\"transfer\":{\"destination_facility_id\":\"%s\"}}",
             NET, MINE, T0, old, REFINER);
        emit(&w, &w.refiner, tr, NULL,
             "{\"kind\":\"RECEIVE\",\"network_id\":\"%s\",\"facility_id\":\"%s\",\"time_ms\":%lld,"
             "\"inputs\":[{\"batch_id\":\"ORE-%llu\",\"mass_mg\":1000000}],\"receive\":{\"origin_facility_id\":\"%s\"}}",
             NET, REFINER, T0, old, MINE);
        emit(&w, &w.refiner, NULL, NULL,
             "{\"kind\":\"EXIT\",\"network_id\":\"%s\",\"facility_id\":\"%s\",\"time_ms\":%lld,"
             "\"inputs\":[{\"batch_id\":\"ORE-%llu\",\"mass_mg\":1000000}],\"exit\":{\"product\":\"oxide\"}}",
             NET, REFINER, T0, old);
    }
    fflush(w.out);
    fprintf(stderr, "stream: %llu batches made, %llu live, %llu events\n", (unsigned long long)batches,
            (unsigned long long)live, (unsigned long long)w.events);
    mt_registry_destroy(w.reg);
    mt_keypair_wipe(&gov);
    mt_keypair_wipe(&w.notary);
    mt_keypair_wipe(&w.mine.kp);
    mt_keypair_wipe(&w.refiner.kp);
    return w.out;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f && fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    if (f) fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void count(void *arg, const mt_decision *d) {
    if (d->kind != MT_DECIDED_ACCEPTED) {
        fprintf(stderr, "entry %llu not accepted: %s\n", (unsigned long long)d->index, d->verdict.detail);
        exit(3);
    }
    ++*(uint64_t *)arg;
}

/* One run in this (child) process: the events of the first `batches` steps. */
static void run(FILE *stream, uint64_t live, uint64_t batches, int spill, int verify) {
    uint8_t *regb;
    size_t regl;
    mt_keypair gov;
    char err[256];
    if (mt_sim_registry(SEED, NET, &regb, &regl) || mt_sim_key(SEED, "governance", &gov)) die("simulated keys");
    mt_registry *reg = mt_registry_from_envelope(regb, regl, "sim", gov.pk, NET, err, sizeof(err));
    if (!reg) die(err);
    free(regb);
    mt_ledger *l = mt_ledger_new(NULL);
    if (!l || (spill && mt_ledger_spill(l, NULL, err, sizeof(err)))) die(spill ? err : "out of memory");
    mt_ledger_set_caller_verifies_notary(l, !verify);
    uint64_t events = batches + (batches > live ? 3 * (batches - live) : 0), accepted = 0;
    uint8_t *buf = malloc(1 << 16);
    if (!buf) die("out of memory");
    rewind(stream);
    long rss0 = rss_kb();
    double secs = 0;
    for (uint64_t i = 0; i < events; i++) {
        uint32_t n;
        if (fread(&n, sizeof(n), 1, stream) != 1 || n > (1 << 16) || fread(buf, n, 1, stream) != 1) die("short stream");
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mt_ledger_begin(l);
        if (mt_ledger_offer(l, reg, NET, buf, n, "events.attested", 0, (int64_t)i, count, &accepted)) die("offer");
        mt_ledger_commit(l);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
    mt_ledger_stats_t st;
    mt_ledger_stats(l, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long growth = rss_kb() - rss0;
    struct timespec r0, r1; /* one provenance root over every batch made (a checkpoint) */
    unsigned char root[MT_HASH_LEN];
    clock_gettime(CLOCK_MONOTONIC, &r0);
    if (mt_ledger_provenance_root(l, root)) die("provenance root");
    clock_gettime(CLOCK_MONOTONIC, &r1);
    printf("%8llu %-7s %8llu %7.2f %8.0f %8ld %8ld %8zu %8zu %10llu %11llu %7.0f\n", (unsigned long long)batches,
           spill ? "spill" : "ram", (unsigned long long)events, secs, (double)events / secs, ru.ru_maxrss, growth,
           st.batches, st.events, (unsigned long long)st.ram_bytes, (unsigned long long)st.store_disk_bytes,
           (double)(r1.tv_sec - r0.tv_sec) * 1e3 + (double)(r1.tv_nsec - r0.tv_nsec) / 1e6);
    fflush(stdout);
    free(buf);
    mt_ledger_free(l);
    mt_registry_destroy(reg);
    mt_keypair_wipe(&gov);
}

int main(int argc, char **argv) {
    int verify = argc > 1 && strcmp(argv[1], "--verify") == 0;
    argv += verify;
    argc -= verify;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ledger_spill [--verify] LIVE N...\n");
        return 2;
    }
    uint64_t live = strtoull(argv[1], NULL, 10), most = 0;
    for (int i = 2; i < argc; i++)
        if (strtoull(argv[i], NULL, 10) > most) most = strtoull(argv[i], NULL, 10);
    if (mt_crypto_init()) die("libsodium");
    FILE *stream = make_stream(live, most);
    printf("# %llu live batches; the notary's signature %s\n", (unsigned long long)live,
           verify ? "checked on every offer" : "not checked again");
    printf("# batches mode      events seconds events/s  maxrss_kb growth_kb ram_batches ram_events ram_bytes "
           "disk_bytes root_ms\n");
    fflush(stdout);
    for (int i = 2; i < argc; i++)
        for (int spill = 0; spill < 2; spill++) {
            pid_t pid = fork();
            if (pid < 0) die("fork");
            if (pid == 0) {
                run(stream, live, strtoull(argv[i], NULL, 10), spill, verify);
                _exit(0);
            }
            int status;
            if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) die("a run failed");
        }
    fclose(stream);
    return 0;
}
