#!/usr/bin/env bash
# End to end on real Kafka: another language reads mintrace. The simulator's chains go through
# the pipeline; then tests/interop/consumer.py — Python, confluent-kafka and PyNaCl from PyPI,
# message classes generated from proto/ at run time, no mintrace code — reads the ledger,
# checkpoints, receipts and provenance topics, verifies every signature, checkpoint and
# inclusion proof and recomputes
# provenance figures from nothing but the documented formats (docs/wire-format.md).
# The venv (build/venv) is made once by tests/interop/setup.sh and reused.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="interop$$." MINTRACE_NETWORK_ID=interop-e2e
NET=$MT_TMP/net
CHAINS=8
cd "$MT_ROOT"

PY=$(tests/interop/setup.sh) || { echo "FAIL: tests/interop/setup.sh"; exit 1; }

# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh
"$MT_BIN/mintrace" simulate --seed 23 --chains "$CHAINS" --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 60000 # stopped below: they commit, write a final checkpoint and exit
"$MT_BIN/mintrace" simulate --seed 23 --chains "$CHAINS" --emit >"$NET/emit.txt"
# wait_journal PATTERN: until `mintrace journal`'s tally matches (a minute at most)
wait_journal() {
    for _ in $(seq 1 60); do
        "$MT_BIN/mintrace" journal >"$NET/journal.txt" 2>/dev/null || true
        grep -q "$1" "$NET/journal.txt" && return 0
        sleep 0.5
    done
    echo "FAIL: the journal never showed '$1':"; tail -3 "$NET/journal.txt"
    return 1
}
EVENTS=$((CHAINS * 14))
wait_journal "^journal: .* $EVENTS accepted, 0 rejected"
# every kind of journal leaf: one submitted envelope again, byte for byte (a duplicate), and
# bytes that are no envelope (a rejection by validate)
SUBMITTED=${MINTRACE_TOPIC_PREFIX}events.submitted
for p in 0 1 2 3 4 5; do
    kcat -C -b "$MINTRACE_BROKERS" -t "$SUBMITTED" -p "$p" -o beginning -c 1 -e -q -f '%s' >"$NET/again.bin"
    [ -s "$NET/again.bin" ] && break
done
key=$(kcat -C -b "$MINTRACE_BROKERS" -t "$SUBMITTED" -p "$p" -o beginning -c 1 -e -q -f '%k')
kcat -P -b "$MINTRACE_BROKERS" -t "$SUBMITTED" -k "$key" -X topic.partitioner=murmur2_random "$NET/again.bin"
printf 'not an envelope' | kcat -P -b "$MINTRACE_BROKERS" -t "$SUBMITTED" -k NOBODY
wait_journal "^journal: .* $EVENTS accepted, 1 rejected (UNDECODABLE_ENVELOPE 1), 1 duplicate,"
stop_services
trap - EXIT

"$PY" tests/interop/consumer.py --brokers "$MINTRACE_BROKERS" --prefix "$MINTRACE_TOPIC_PREFIX" \
    --governance-key "$NET/keys/governance.pub" --network "$MINTRACE_NETWORK_ID" \
    --expect-accepted "$EVENTS" | tee "$NET/interop.txt"
grep -q "($EVENTS event, 1 rejection, 1 registry_change, 1 duplicate)" "$NET/interop.txt" \
    || { echo "FAIL: the Python consumer counted other entries"; exit 1; }
grep -q '^interop: 15 passed, 0 failed$' "$NET/interop.txt" || { echo "FAIL: the Python consumer disagrees"; exit 1; }
echo "ok: a Python consumer verified the journal, its checkpoints and provenance from the documented formats"
