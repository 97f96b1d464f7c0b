/* bench_audit_mem — the auditor's memory against the length of history (docs/auditing.md,
 * "Cost, measured").
 *
 *   bench_audit_mem [-w WINDOW] [-c CP_EVERY] [-t THREADS] [-d DIR] [-m] LOOPS...
 *
 * Builds one simulated history of max(LOOPS) closed loops, WINDOW loops interleaved at a time
 * (default 50: a bounded number of live batches however long the history), exactly as the
 * aggregator writes it (tests/unit/test_audit.c's builder: journal entries, a checkpoint every
 * CP_EVERY entries, every provenance record, a receipt per accepted event) into files under DIR
 * (default $TMPDIR), in a child process so that its ledger does not count. Then, for each
 * LOOPS and each mode (the auditor's state spilled to DIR, and kept in memory; -m: in memory
 * only), a fresh child process audits the first LOOPS loops of it (every commitment up to that
 * point) with mt_audit_* and prints one line:
 *
 *   loops L entries N spill S seconds T events_per_s E rss_kb R growth_kb G state_ram_bytes A state_disk_bytes D live_batches B findings F
 *
 * rss_kb is the child's peak resident set (VmHWM); growth_kb its growth during the audit. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "codec.h"
#include "journal.h"
#include "ledger.h"
#include "merkle.h"
#include "notary.h"
#include "provenance.h"
#include "registry.h"
#include "simulate.h"
#include "stages.h"
#include "validate.h"

#define NET  "bench-audit-mem"
#define SEED 7
#define T0   1790000000000LL

static const char *dir = NULL;
static int cp_every = 1000;

static void die(const char *what) {
    fprintf(stderr, "bench_audit_mem: %s\n", what);
    exit(2);
}

/* ---- the history, as files: records of u64 key | u32 length | bytes ---- */

enum { F_ENTRIES, F_CHECKPOINTS, F_PROVENANCE, F_RECEIPTS, N_FILES };
static const char *file_names[N_FILES] = {"entries", "checkpoints", "provenance", "receipts"};

static void path_of(int f, char *out, size_t size) {
    snprintf(out, size, "%s/bench-audit-mem.%d.%s", dir, (int)getppid(), file_names[f]);
}

static void put_rec(FILE *fp, uint64_t key, const uint8_t *b, size_t len) {
    uint32_t l = (uint32_t)len;
    if (fwrite(&key, 8, 1, fp) != 1 || fwrite(&l, 4, 1, fp) != 1 || fwrite(b, 1, len, fp) != len) die("write");
}

/* ---- the builder (a small aggregator, as tests/unit/test_audit.c) ---- */

typedef struct builder {
    mt_keypair gov, notary, aggregator;
    uint8_t *reg_env;
    size_t reg_len;
    mt_registry *reg;
    mt_ledger *l;
    mt_merkle_frontier tree;
    uint64_t cp_size;
    int64_t offset, notary_ms;
    FILE *out[N_FILES];
} builder;

static void seal(builder *g, const ProtobufCMessage *m, const char *type, int f, uint64_t key) {
    size_t plen, elen;
    uint8_t *p = mt_message_pack(m, &plen), *env = NULL;
    if (!p || mt_envelope_seal(&g->aggregator, MINTRACE__V1__SIGNER_ROLE__SIGNER_ROLE_AGGREGATOR, type, p, plen, &env,
                               &elen))
        die("seal");
    put_rec(g->out[f], key, env, elen);
    free(p);
    free(env);
}

static void checkpoint(builder *g) {
    unsigned char root[32], proot[32];
    mt_merkle_frontier_root(&g->tree, root);
    if (mt_ledger_provenance_root(g->l, proot)) die("provenance root");
    Mintrace__V1__Checkpoint cp = MINTRACE__V1__CHECKPOINT__INIT;
    cp.network_id = NET;
    cp.tree_size = mt_merkle_frontier_size(&g->tree);
    cp.root = (ProtobufCBinaryData){32, root};
    cp.provenance_root = (ProtobufCBinaryData){32, proot};
    cp.time_ms = g->notary_ms;
    cp.registry_version = mt_ledger_registry_version(g->l);
    seal(g, &cp.base, MT_PAYLOAD_CHECKPOINT, F_CHECKPOINTS, cp.tree_size);
    g->cp_size = cp.tree_size;
}

static void on_decision(void *arg, const mt_decision *d) {
    builder *g = arg;
    uint8_t *entry;
    size_t len;
    unsigned char leaf[32], path[MT_MERKLE_MAX_INCLUSION][32];
    if (d->kind != MT_DECIDED_ACCEPTED && d->kind != MT_DECIDED_REGISTRY) die("the simulation was not accepted");
    if (mt_journal_entry(d, g->notary_ms, &entry, &len, leaf)) die("journal entry");
    put_rec(g->out[F_ENTRIES], d->index, entry, len);
    free(entry);
    size_t path_len = mt_merkle_newest_path(&g->tree, path);
    mt_merkle_frontier_append(&g->tree, leaf);
    if (d->kind == MT_DECIDED_ACCEPTED) {
        Mintrace__V1__Receipt r = MINTRACE__V1__RECEIPT__INIT;
        ProtobufCBinaryData proof[MT_MERKLE_MAX_INCLUSION];
        r.facility_id = (char *)d->verdict.facility_id;
        r.event_id = (ProtobufCBinaryData){32, (uint8_t *)d->verdict.event_id};
        r.status = MINTRACE__V1__RECEIPT_STATUS__RECEIPT_STATUS_ACCEPTED;
        r.ledger_index = d->index;
        r.time_ms = g->notary_ms;
        r.tree_size = d->index + 1;
        for (size_t i = 0; i < path_len; i++) proof[i] = (ProtobufCBinaryData){32, path[i]};
        r.n_inclusion_proof = path_len;
        r.inclusion_proof = proof;
        seal(g, &r.base, MT_PAYLOAD_RECEIPT, F_RECEIPTS, d->index);
    }
    for (size_t i = 0; i < d->n_changed; i++) {
        Mintrace__V1__ProvenanceRecord *rec = mt_ledger_provenance_record(g->l, d->changed[i]);
        size_t plen;
        uint8_t *p = rec ? mt_message_pack(&rec->base, &plen) : NULL;
        if (!p) die("provenance record");
        put_rec(g->out[F_PROVENANCE], rec->ledger_index, p, plen);
        free(p);
        mt_prov_record_free(rec);
    }
}

static void build(int loops, int window) {
    builder g;
    char err[256], path[4096];
    memset(&g, 0, sizeof(g));
    if (mt_sim_key(SEED, "governance", &g.gov) || mt_sim_key(SEED, "NOTARY-1", &g.notary) ||
        mt_sim_key(SEED, "AGGREGATOR-1", &g.aggregator) || mt_sim_registry(SEED, NET, &g.reg_env, &g.reg_len))
        die("keys");
    g.reg = mt_registry_from_envelope(g.reg_env, g.reg_len, "sim", g.gov.pk, NET, err, sizeof(err));
    if (!g.reg) die(err);
    for (int f = 0; f < N_FILES; f++) {
        path_of(f, path, sizeof(path));
        if (!(g.out[f] = fopen(path, "wb"))) die(path);
    }
    g.l = mt_ledger_new(NULL);
    if (!g.l) die("ledger");
    mt_ledger_set_governance(g.l, g.gov.pk);
    mt_merkle_frontier_init(&g.tree);
    mt_sim_opts o = {.chains = loops, .window = window};
    mt_sim *s = mt_sim_new_opts(SEED, NET, &o, T0);
    if (!s) die("simulation");
    g.notary_ms = mt_sim_end_ms(s) + 86400000LL; /* every event before the notary's time */
    if (mt_ledger_note_registry(g.l, NET, g.reg_env, g.reg_len, "t.registry", 0, 0, on_decision, &g)) die("registry");
    mt_ledger_commit(g.l);
    uint8_t *env;
    size_t len;
    const char *fac;
    while (mt_sim_next(s, &env, &len, &fac) == 1) {
        mt_verdict v;
        uint8_t *att;
        size_t alen;
        if (mt_validate_envelope(g.reg, NET, env, len, g.notary_ms, &v) ||
            mt_notary_attest(&g.notary, g.reg, NET, env, len, g.notary_ms, &att, &alen, &v))
            die(v.detail);
        if (mt_ledger_offer(g.l, g.reg, NET, att, alen, "t.events.attested", 0, g.offset++, on_decision, &g))
            die("offer");
        mt_ledger_commit(g.l);
        if (mt_merkle_frontier_size(&g.tree) - g.cp_size >= (uint64_t)cp_every) checkpoint(&g);
        free(att);
        free(env);
    }
    if (g.cp_size != mt_merkle_frontier_size(&g.tree)) checkpoint(&g);
    for (int f = 0; f < N_FILES; f++)
        if (fclose(g.out[f])) die("close");
    mt_sim_free(s);
    mt_ledger_free(g.l);
    mt_registry_destroy(g.reg);
    free(g.reg_env);
}

/* ---- an audit of the first `entries` entries, in a child ---- */

static long vm_hwm_kb(void) {
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (fp) fclose(fp);
    return kb;
}

/* Feeds every record of file f whose key is below limit (checkpoints: at most limit). */
static void feed(mt_audit *a, int f, uint64_t limit) {
    char path[4096];
    path_of(f, path, sizeof(path));
    FILE *fp = fopen(path, "rb");
    if (!fp) die(path);
    uint8_t *b = NULL;
    size_t cap = 0;
    uint64_t key;
    uint32_t len;
    int64_t off = 0;
    while (fread(&key, 8, 1, fp) == 1 && fread(&len, 4, 1, fp) == 1) {
        if (len > cap) {
            cap = len;
            b = realloc(b, cap);
            if (!b) die("out of memory");
        }
        if (fread(b, 1, len, fp) != len) die("short read");
        int rc = 0;
        if (f == F_CHECKPOINTS && key <= limit) rc = mt_audit_checkpoint(a, b, len, "b.checkpoints", 0, off);
        if (f == F_PROVENANCE && key < limit) rc = mt_audit_provenance(a, b, len, "b.provenance", 0, off);
        if (f == F_ENTRIES && key < limit) rc = mt_audit_entry(a, b, len, "b.ledger", 0, off);
        if (f == F_RECEIPTS && key < limit) rc = mt_audit_receipt(a, b, len, "b.receipts", 0, off, 0);
        if (rc) die("the audit failed (out of memory)");
        off++;
    }
    free(b);
    fclose(fp);
}

static void audit(int loops, uint64_t entries, int spill, int threads) {
    mt_keypair gov;
    char err[256];
    if (mt_sim_key(SEED, "governance", &gov)) die("keys");
    long before = vm_hwm_kb();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mt_audit_conf conf = {.network_id = NET, .gov_pk = gov.pk, .threads = threads, .spill = spill,
                          .spill_dir = dir};
    mt_audit *a = mt_audit_new(&conf, err, sizeof(err));
    if (!a) die(err);
    feed(a, F_CHECKPOINTS, entries);
    feed(a, F_PROVENANCE, entries);
    feed(a, F_ENTRIES, entries);
    feed(a, F_RECEIPTS, entries);
    long findings = mt_audit_finish(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    mt_audit_mem m;
    mt_audit_memory(a, &m);
    long hwm = vm_hwm_kb();
    const mt_audit_totals *t = mt_audit_get_totals(a);
    if (findings) {
        const mt_finding *fs;
        mt_audit_findings(a, &fs);
        fprintf(stderr, "bench_audit_mem: %ld findings, the first: %s at %" PRId64 ": %s\n", findings,
                findings > 0 ? fs[0].kind : "?", findings > 0 ? fs[0].index : -1, findings > 0 ? fs[0].detail : "");
    }
    printf("loops %d entries %" PRIu64 " spill %d seconds %.2f events_per_s %.0f rss_kb %ld growth_kb %ld "
           "state_ram_bytes %" PRIu64 " state_disk_bytes %" PRIu64 " live_batches %" PRIu64 " findings %ld\n",
           loops, t->entries, spill, sec, (double)t->accepted / sec, hwm, hwm - before, m.ram_bytes, m.disk_bytes,
           m.live_batches, findings);
    fflush(stdout);
    mt_audit_free(a);
    mt_keypair_wipe(&gov);
}

static int run_child(void (*fn)(void *), void *arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

typedef struct job {
    int loops, window, spill, threads;
    uint64_t entries;
} job;

static void build_job(void *p) {
    job *j = p;
    build(j->loops, j->window);
}

static void audit_job(void *p) {
    job *j = p;
    audit(j->loops, j->entries, j->spill, j->threads);
}

int main(int argc, char **argv) {
    int window = 50, threads = 0, memory_only = 0, opt;
    while ((opt = getopt(argc, argv, "w:c:t:d:m")) != -1) {
        switch (opt) {
        case 'w': window = atoi(optarg); break;
        case 'c': cp_every = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'm': memory_only = 1; break;
        default:
            fprintf(stderr, "usage: bench_audit_mem [-w WINDOW] [-c CP_EVERY] [-t THREADS] [-d DIR] [-m] LOOPS...\n");
            return 2;
        }
    }
    if (optind >= argc || cp_every < 1) die("give the history lengths in loops");
    if (!dir) dir = getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    int max = 0;
    for (int i = optind; i < argc; i++)
        if (atoi(argv[i]) > max) max = atoi(argv[i]);
    job b = {.loops = max, .window = window};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the builder's children inherit this pid as their parent's: the files are named by it */
    int rc = run_child(build_job, &b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "bench_audit_mem: built %d loops in %.1f s\n", max,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (int i = optind; rc == 0 && i < argc; i++) {
        /* a closed loop is 14 events, all accepted; the first entry is the registry */
        job j = {.loops = atoi(argv[i]), .threads = threads};
        j.entries = 1 + 14 * (uint64_t)j.loops;
        for (int spill = memory_only ? 0 : 1; rc == 0 && spill >= 0; spill--) {
            j.spill = spill;
            rc = run_child(audit_job, &j);
        }
    }
    char path[4096];
    for (int f = 0; f < N_FILES; f++) {
        snprintf(path, sizeof(path), "%s/bench-audit-mem.%d.%s", dir, (int)getpid(), file_names[f]);
        unlink(path);
    }
    return rc ? 1 : 0;
}
