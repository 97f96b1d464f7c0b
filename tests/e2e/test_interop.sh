#!/usr/bin/env bash
# End to end on real Kafka: another language reads mintrace. The simulator's chains go through
# the pipeline; then tests/interop/consumer.py — Python, confluent-kafka and PyNaCl from PyPI,
# message classes generated from proto/ at run time, no mintrace code — reads the ledger,
# checkpoints, receipts and provenance topics, verifies every signature, checkpoint and
# inclusion proof and recomputes provenance figures from nothing but the documented formats
# (docs/wire-format.md); and it agrees with mintrace-comply: comply runs with
# tests/interop/policy.json (every rule kind; lots pass and lots fail), and the latest finding of
# every key is the verdict the consumer computes itself (tests/interop/policy_eval.py) from the
# records and the journal (docs/compliance.md).
# The venv (build/venv) is made once by tests/interop/setup.sh and reused.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="interop$$." MINTRACE_NETWORK_ID=interop-e2e
NET=$MT_TMP/net
CHAINS=8
POLICY=$MT_ROOT/tests/interop/policy.json
cd "$MT_ROOT"

PY=$(tests/interop/setup.sh) || { echo "FAIL: tests/interop/setup.sh"; exit 1; }

# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh
"$MT_BIN/mintrace" simulate --seed 23 --chains "$CHAINS" --returns 0 --corrections 0 --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
COMPLY_POLICY=$POLICY start_services 60000 # stopped below: they commit, write a final checkpoint and exit
"$MT_BIN/mintrace" simulate --seed 23 --chains "$CHAINS" --returns 0 --corrections 0 --emit >"$NET/emit.txt"
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
# validate, sign and aggregate stop now (the aggregator writes its final checkpoint); comply, the
# last of pipeline.sh's SERVICE_PIDS, goes on: the consumer waits until comply has committed
# past every provenance record and ledger entry, then comply stops too
COMPLY_PID=${SERVICE_PIDS[3]}
ps -o args= -p "$COMPLY_PID" | grep -q mintrace-comply || { echo "FAIL: SERVICE_PIDS[3] is not comply"; exit 1; }
SERVICE_PIDS=("${SERVICE_PIDS[@]:0:3}")
stop_services
SERVICE_PIDS=("$COMPLY_PID") # the EXIT trap stops comply on a failure below

"$PY" tests/interop/consumer.py --brokers "$MINTRACE_BROKERS" --prefix "$MINTRACE_TOPIC_PREFIX" \
    --governance-key "$NET/keys/governance.pub" --network "$MINTRACE_NETWORK_ID" \
    --expect-accepted "$EVENTS" --policy "$POLICY" | tee "$NET/interop.txt"
stop_services
trap - EXIT
grep -q "($EVENTS event, 1 rejection, 1 registry_change, 1 duplicate)" "$NET/interop.txt" \
    || { echo "FAIL: the Python consumer counted other entries"; exit 1; }
grep -q '^interop: 21 passed, 0 failed$' "$NET/interop.txt" || { echo "FAIL: the Python consumer disagrees"; exit 1; }
# the lots of docs/simulate.md, one loop per chain (seed 23, no returns, no corrections):
# first-generation magnets (no recycled Nd+Pr, exited into motors without documents) fail the
# 10 % rule, second-generation ones (recovered oxide blended with kept virgin oxide) pass it;
# of those, half of this seed's are made of recovered oxide alone (all of their Nd+Pr
# pre-consumer); none is post-consumer; Nd+Pr is traced, iron and boron are not; no event
# carries documents: the magnets and swarf of every loop fail by their EXTRACT, its ore, oxide,
# swarf and recovered oxide by a shipment
for want in "ndpr-recycled-10pct: $CHAINS PASS, $CHAINS FAIL" "ndpr-all-pre-consumer: $((CHAINS / 2)) PASS, $((CHAINS * 3 / 2)) FAIL" \
            "ndpr-post-consumer: 0 PASS, $((2 * CHAINS)) FAIL" "shipment-bill-of-lading: 0 PASS, $((4 * CHAINS)) FAIL" \
            "ndpr-traced: $((2 * CHAINS)) PASS, 0 FAIL" "all-traced: 0 PASS, $((2 * CHAINS)) FAIL" \
            "extract-due-diligence: 0 PASS, $((3 * CHAINS)) FAIL" "exit-conformity: $CHAINS PASS, $CHAINS FAIL"; do
    grep -q "^  rule $want$" "$NET/interop.txt" || { echo "FAIL: expected rule $want"; exit 1; }
done
# every finding comply says it committed, and no other, is what a read_committed consumer read
n=$(sed -n 's/^findings: \([0-9]*\) messages on .*/\1/p' "$NET/interop.txt")
pass_fail=$(sed -n 's/.*stopped: \([0-9]*\) PASS and \([0-9]*\) FAIL findings written.*/\1 \2/p' "$NET/comply.log")
read -r p f <<<"$pass_fail"
if [ -z "$n" ] || [ -z "$p" ] || [ "$((p + f))" != "$n" ]; then
    echo "FAIL: comply wrote ${p:-?} PASS and ${f:-?} FAIL findings, the consumer read ${n:-?}"; exit 1
fi
echo "ok: a Python consumer verified the journal, its checkpoints and provenance from the documented formats,"
echo "ok: and agrees with mintrace-comply's $n findings ($p PASS, $f FAIL)"
