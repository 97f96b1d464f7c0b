#!/usr/bin/env bash
# make bench: speed as ratios against references measured in the same run on the same machine,
# so the figures mean something on a noisy 2-core box (docs/testing.md, "Benchmarks").
#   reference  raw libsodium Ed25519 verifications per second (tests/bench/bench_verify.c)
#   audit      mintrace audit --archive over a simulated history, in events per second, and as a
#              share of what the verify reference allows: every event costs three signature
#              checks (the facility's, the notary's, and the aggregator's on its receipt), so the
#              ceiling is verify / 3 events per second
#   audit mem  the auditor's own memory and peak RSS against the length of history, its state
#              spilled to disk and kept in memory (tests/bench/audit_mem.sh; no broker)
# Environment: MT_BIN, MT_BENCH_BIN (the Makefile sets them), BENCH_CHAINS (simulated loops,
# default 400: ~8,000 journal entries).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export MT_ROOT=$root
MT_BIN=$(cd "${MT_BIN:-build/bin}" && pwd)
MT_BENCH_BIN=$(cd "${MT_BENCH_BIN:-build/bench}" && pwd)
export MT_BIN
CHAINS=${BENCH_CHAINS:-400}

command -v java >/dev/null || { echo "bench: java not found: the benchmarks run on a real Kafka broker" >&2; exit 2; }
tests/kafka/kafka.sh fetch >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/mintrace-bench.XXXXXX")
trap 'stop_services >/dev/null 2>&1 || true; tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1; rm -rf "$work"' EXIT

# elapsed seconds of a command, to the millisecond; its output goes to $work/last.out
elapsed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$work/last.out" 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "bench: reference: raw libsodium verify (700-byte messages)"
"$MT_BENCH_BIN/bench_verify" 20000 >"$work/verify.out"
v1=$(awk '$1 == "verify_1" { print $2 }' "$work/verify.out")
vall=$(awk '$1 == "verify_all" { print $2 }' "$work/verify.out")
cores=$(awk '$1 == "cores" { print $2 }' "$work/verify.out")
printf '  %-34s %10.0f /s  (one core)\n' "Ed25519 verify" "$v1"
printf '  %-34s %10.0f /s  (%s cores)\n' "Ed25519 verify" "$vall" "$cores"

MT_BENCH_BIN=$MT_BENCH_BIN tests/bench/audit_mem.sh

echo "bench: a simulated history of $CHAINS loops on a real broker"
MINTRACE_BROKERS=$(tests/kafka/kafka.sh start "$work/kafka")
export MINTRACE_BROKERS MINTRACE_TOPIC_PREFIX=bench. MINTRACE_NETWORK_ID=bench
NET=$work/net
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh
"$MT_BIN/mintrace" simulate --seed 7 --chains "$CHAINS" --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
start_services 3000
t_emit=$(elapsed "$MT_BIN/mintrace" simulate --seed 7 --chains "$CHAINS" --emit)
wait_services # they exit 3 s after the last event: the journal is complete
"$MT_BIN/mintrace" archive "$work/bench.archive" >/dev/null 2>&1
entries=$("$MT_BIN/mintrace" journal | sed -n 's/^journal: \([0-9]*\) entries.*/\1/p')
echo "  $entries journal entries; emitting them took ${t_emit%.*} s (pipeline speed: the throughput issue)"

t_audit=$(elapsed "$MT_BIN/mintrace" audit --archive "$work/bench.archive")
grep -q '^verified: ' "$work/last.out" || { echo "bench: the audit did not verify:" >&2; cat "$work/last.out" >&2; exit 1; }
t_one=$(elapsed "$MT_BIN/mintrace" audit --threads 1 --archive "$work/bench.archive")
eps=$(ratio "$entries" "$t_audit")
eps1=$(ratio "$entries" "$t_one")
echo "bench: mintrace audit --archive (verifies every signature, replays the ledger and provenance, checks every checkpoint and receipt)"
printf '  %-34s %10.0f events/s = %.2f x the ceiling of %.0f/s (verify_all / 3)\n' "audit, all cores" "$eps" \
    "$(ratio "$eps" "$(ratio "$vall" 3)")" "$(ratio "$vall" 3)"
printf '  %-34s %10.0f events/s = %.2f x the ceiling of %.0f/s (verify_1 / 3)\n' "audit, one signature thread" "$eps1" \
    "$(ratio "$eps1" "$(ratio "$v1" 3)")" "$(ratio "$v1" 3)"
