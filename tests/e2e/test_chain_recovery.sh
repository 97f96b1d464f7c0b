#!/usr/bin/env bash
# End to end on real Kafka: a producer whose event the ledger rejects recovers its chain. With
# `emit --wait` the rejection's receipt moves the key's chain back, so the next event reuses the
# rejected seq and is accepted — no equivocation, no key bricked by one mistake.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="chain$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

make_registry chain-e2e "$(facility IN-MINE-1 MINE IN IN-KL 'a mine')"
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 6000

ore='{"kind":"EXTRACT","site":{"country":"IN"},"outputs":[{"batch_id":"ORE-1","material":"monazite","mass_mg":1000}]}'
too_much='{"kind":"LOSS","site":{"country":"IN"},"inputs":[{"batch_id":"ORE-1","mass_mg":5000}],"loss":{"reason":"spill"}}'
fine='{"kind":"LOSS","site":{"country":"IN"},"inputs":[{"batch_id":"ORE-1","mass_mg":100}],"loss":{"reason":"spill"}}'

echo "$ore" | emit IN-MINE-1 --wait 60 >"$NET/1.out"
grep -q '"status":"RECEIPT_STATUS_ACCEPTED"' "$NET/1.out" || { echo "FAIL: EXTRACT not accepted"; cat "$NET/1.out"; exit 1; }

rc=0; echo "$too_much" | emit IN-MINE-1 --wait 60 >"$NET/2.out" 2>"$NET/2.err" || rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: emit of an overdrawing LOSS exited $rc, expected 1"; exit 1; }
grep -q '"reason":"REASON_CODE_OVERDRAWN"' "$NET/2.out" || { echo "FAIL: no OVERDRAWN receipt"; cat "$NET/2.out"; exit 1; }
grep -q 'the chain is back at seq 1' "$NET/2.err" || { echo "FAIL: chain not rewound"; cat "$NET/2.err"; exit 1; }

echo "$fine" | emit IN-MINE-1 --wait 60 >"$NET/3.out"
grep -q '"seq":2,' "$NET/3.out" || { echo "FAIL: the next event did not reuse seq 2"; cat "$NET/3.out"; exit 1; }
grep -q '"status":"RECEIPT_STATUS_ACCEPTED"' "$NET/3.out" || { echo "FAIL: the re-issued seq 2 was not accepted"; cat "$NET/3.out"; exit 1; }

wait_services
"$MT_BIN/mintrace" journal >"$NET/journal.txt"
grep -q 'journal: 4 entries: 2 accepted, 1 rejected (OVERDRAWN 1), 1 registry version' "$NET/journal.txt" \
    || { echo "FAIL: journal:"; cat "$NET/journal.txt"; exit 1; }
echo "ok: a rejected seq 2 was re-issued and accepted; no equivocation"
