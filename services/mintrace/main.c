/* mintrace — the command line: keys, registry, emitting events, reading topics. Dispatch only. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"keygen", cmd_keygen, "make an Ed25519 key pair: FILE (mode 0600) and FILE.pub"},
    {"registry", cmd_registry, "sign a registry (JSON in, governance-signed envelope out), or show one"},
    {"topics", cmd_topics, "create every topic of schemas/topics.json on the brokers"},
    {"emit", cmd_emit, "sign JSON batch events and emit them to events.submitted"},
    {"inspect", cmd_inspect, "decode a topic (or a file) to JSON lines on stdout"},
    {"journal", cmd_journal, "the ledger for people: one line per entry, then a tally"},
    {"provenance", cmd_provenance, "recycled content and origin per element of batches, from the provenance topic"},
    {"lineage", cmd_lineage, "a batch's ancestry back to its mines and recyclers: text, and DOT/SVG with --dot"},
    {"inventory", cmd_inventory, "what a facility holds now (batches, masses, in transit), from the journal"},
    {"simulate", cmd_simulate, "a deterministic rare-earth chain: keys, registry and (--emit) its signed events"},
    {"prove", cmd_prove, "an inclusion proof of an event (or, --state, a batch's figures) against the newest checkpoint"},
    {"verify-proof", cmd_verify_proof, "check a proof or a passport offline, with the aggregator's public key alone"},
    {"passport", cmd_passport, "a batch's product passport: its recycled content and origin, proven"},
    {"seal", cmd_seal, "sign one JSON event exactly as written, seq and prev included (tests, tooling)"},
    {"export", cmd_export, "the journal, or one batch's lineage, as a GS1 EPCIS 2.0 JSON-LD document"},
    {"audit", cmd_audit, "replay the topics (or an archive) from offset 0: verified, or the exact findings"},
    {"archive", cmd_archive, "every topic an audit reads, in one sealed file (audit --archive FILE)"},
};

static void usage(FILE *fp) {
    fprintf(fp, "usage: mintrace COMMAND [options] [args]   (mintrace COMMAND --help for more)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("mintrace %s\n", MT_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    /* a test tool (tests/e2e/test_audit.sh), deliberately not in the list above */
    if (!strcmp(argv[1], "x-tamper")) return cmd_x_tamper(argc - 1, argv + 1);
    fprintf(stderr, "mintrace: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
