#!/usr/bin/env bash
# End to end on real Kafka: the parking buffer's bounds and a forged attestation. With the
# aggregator's --park-max-age 3, an event whose chain predecessor never comes is rejected as
# CHAIN_GAP, and a RECEIVE whose TRANSFER never comes as PARK_EXPIRED, once three entries were
# journaled after them; an attested message whose notary signature was altered is BAD_ATTESTATION.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="park$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

make_registry park-e2e \
    "$(facility IN-MINE-1 MINE IN IN-KL 'mine one')" \
    "$(facility IN-MINE-2 MINE IN IN-OR 'mine two')" \
    "$(facility IN-REF-1 REFINER IN IN-OR 'refiner')"
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
AGGREGATE_ARGS="--park-max-age 3" start_services 6000

submit() { kcat -P -X topic.partitioner=murmur2_random -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}$1" -k "$2" "$3"; }
zero=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=   # 32 zero bytes: an id nothing has
now=$(( $(date +%s) * 1000 ))

echo '{"kind":"EXTRACT","site":{"country":"IN"},"outputs":[{"batch_id":"ORE-1","material":"monazite","mass_mg":1000}]}' \
    | emit IN-MINE-1 --wait 60 >/dev/null
# mine two's seq 2, whose seq 1 never comes: parked, then CHAIN_GAP
cat >"$NET/gap.json" <<JSON
{"network_id":"park-e2e","facility_id":"IN-MINE-2","seq":2,"prev":"$zero","time_ms":$now,"kind":"EXTRACT",
 "site":{"country":"IN"},"outputs":[{"batch_id":"ORE-2","material":"monazite","mass_mg":5}]}
JSON
"$MT_BIN/mintrace" seal -k "$NET/keys/IN-MINE-2" -o "$NET/gap.bin" "$NET/gap.json"
submit events.submitted IN-MINE-2 "$NET/gap.bin"
# a RECEIVE of a transfer that never happened: parked, then PARK_EXPIRED
echo "{\"kind\":\"RECEIVE\",\"site\":{\"country\":\"IN\"},\"inputs\":[{\"batch_id\":\"GHOST-1\",\"mass_mg\":5}],
 \"receive\":{\"transfer_event_id\":\"$zero\",\"origin_facility_id\":\"IN-MINE-1\"}}" | emit IN-REF-1 >/dev/null
# entries go by until both have expired: the parked events may reach the aggregator after any
# of these (validation runs in parallel), so keep journaling until the bound has passed for them
expired=
for i in $(seq 1 30); do
    echo "{\"kind\":\"LOSS\",\"site\":{\"country\":\"IN\"},\"inputs\":[{\"batch_id\":\"ORE-1\",\"mass_mg\":1}],\"loss\":{\"reason\":\"dust $i\"}}" \
        | emit IN-MINE-1 --wait 60 >/dev/null
    "$MT_BIN/mintrace" journal >"$NET/journal.txt" || true
    if grep -q 'CHAIN_GAP 1' "$NET/journal.txt" && grep -q 'PARK_EXPIRED 1' "$NET/journal.txt"; then expired=1; break; fi
done
[ -n "$expired" ] || { echo "FAIL: the parked events never expired:"; cat "$NET/journal.txt"; exit 1; }
# a forged attestation: the mine's EXTRACT as sign attested it, one byte of the notary's
# signature changed, written to events.attested as an attacker with write access would
kcat -C -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.attested" -o 0 -c 1 -e -f '%s' >"$NET/attested.bin" 2>/dev/null
python3 - "$NET/attested.bin" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-6] ^= 0x01   # inside the notary's 64-byte signature, at the end of the attestation
open(sys.argv[1], "wb").write(bytes(b))
PY
submit events.attested IN-MINE-1 "$NET/attested.bin"

wait_services
"$MT_BIN/mintrace" journal >"$NET/journal.txt"
for code in CHAIN_GAP PARK_EXPIRED BAD_ATTESTATION; do
    grep -q "$code 1" "$NET/journal.txt" || { echo "FAIL: no $code in the journal:"; cat "$NET/journal.txt"; exit 1; }
done
grep -q 'index gap' "$NET/journal.txt" && { echo "FAIL: index gap"; exit 1; }
grep -q 'accepted, 3 rejected (' "$NET/journal.txt" || { echo "FAIL: journal:"; cat "$NET/journal.txt"; exit 1; }
echo "ok: CHAIN_GAP and PARK_EXPIRED after the park bound, BAD_ATTESTATION for a forged notary signature"
