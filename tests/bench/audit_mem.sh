#!/usr/bin/env bash
# The auditor's memory against the length of history (docs/auditing.md, "Cost, measured"): one
# part of `make bench` (tests/bench/run.sh), no broker needed, ~45 s on 2 cores.
# bench_audit_mem builds one simulated history (50 loops live at a time, a checkpoint every 1,000
# entries) and audits prefixes of growing length in fresh processes, the auditor's state spilled
# to disk and kept in memory; printed here as ratios between the longest and the shortest.
# Environment: MT_BENCH_BIN (default build/bench), BENCH_MEM_LOOPS (default "250 1000 4000").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
MT_BENCH_BIN=$(cd "${MT_BENCH_BIN:-build/bench}" && pwd)
LOOPS=${BENCH_MEM_LOOPS:-250 1000 4000}
out=$(mktemp "${TMPDIR:-/tmp}/mintrace-bench-mem.XXXXXX")
trap 'rm -f "$out"' EXIT

echo "bench: the auditor's memory against the length of history (bench_audit_mem $LOOPS: 50 loops live at a time)"
# shellcheck disable=SC2086 # the lengths are separate arguments
"$MT_BENCH_BIN/bench_audit_mem" $LOOPS >"$out"
if awk '$1 == "loops" && $NF != 0 { bad = 1 } END { exit !bad }' "$out"; then
    echo "bench: an audit of the simulated history had findings:" >&2
    cat "$out" >&2
    exit 1
fi
awk '
$1 == "loops" {
    for (i = 1; i < NF; i += 2) v[$i] = $(i + 1)
    k = v["loops"] "/" v["spill"]
    eps[k] = v["events_per_s"]; rss[k] = v["rss_kb"]; ram[k] = v["state_ram_bytes"]; disk[k] = v["state_disk_bytes"]
    live[k] = v["live_batches"]
    ent[v["loops"]] = v["entries"]
    if (!(v["loops"] in seen)) { seen[v["loops"]] = 1; order[n++] = v["loops"] }
}
END {
    printf "  %6s %8s %7s | spilled: %8s %9s %11s %9s | in memory: %8s %9s %11s\n", "loops", "entries", "live",
        "events/s", "peak RSS", "auditor RAM", "on disk", "events/s", "peak RSS", "auditor RAM"
    for (i = 0; i < n; i++) {
        l = order[i]
        printf "  %6d %8d %7d | %17.0f %6.1f MB %8.2f MB %6.1f MB | %19.0f %6.1f MB %8.2f MB\n", l, ent[l], live[l "/1"],
            eps[l "/1"], rss[l "/1"] / 1024, ram[l "/1"] / 1048576, disk[l "/1"] / 1048576,
            eps[l "/0"], rss[l "/0"] / 1024, ram[l "/0"] / 1048576
    }
    a = order[0]; b = order[n - 1]
    printf "  %.0f x the history: the auditor'"'"'s own RAM %.2f x spilled (%.0f B per entry on disk), %.2f x in memory;\n",
        ent[b] / ent[a], ram[b "/1"] / ram[a "/1"], disk[b "/1"] / ent[b], ram[b "/0"] / ram[a "/0"]
    printf "  peak RSS %.2f x spilled, %.2f x in memory; the ledger replayed keeps %d live batches spilled against %d,\n",
        rss[b "/1"] / rss[a "/1"], rss[b "/0"] / rss[a "/0"], live[b "/1"], live[a "/1"]
    c = order[n > 1 ? n - 2 : 0] # the two longest: the shortest does not fill a batch of work (4,096 entries)
    printf "  so spilled the peak RSS grows by %.0f B per live batch added between the two longest (the history leaves stock:\n  docs/auditing.md)\n",
        (rss[b "/1"] - rss[c "/1"]) * 1024 / (live[b "/1"] - live[c "/1"] > 0 ? live[b "/1"] - live[c "/1"] : 1)
    printf "  events/s spilled %.2f x those in memory (the longest history)\n", eps[b "/1"] / eps[b "/0"]
}' "$out"
