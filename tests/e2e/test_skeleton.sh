#!/usr/bin/env bash
# End to end on real Kafka: a mine extracts and ships to a refiner, who receives and refines.
# Every event must land in the ledger with both signatures (facility, notary) valid; a tampered
# copy of a signed event and a message of garbage must be rejected with their reason codes and
# their original bytes; and submitted = journaled events + rejections, exactly.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="e2e$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
. deploy/pipeline.sh

make_registry e2e-net \
    "$(facility IN-IREL-CHAVARA MINE IN IN-KL 'IREL Chavara')" \
    "$(facility IN-IREL-OSCOM REFINER IN IN-OR 'IREL OSCOM')"
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 8000

cat >"$NET/mine.json" <<'JSON'
{"kind":"EXTRACT","site":{"country":"IN","region":"IN-KL"},
 "extract":{"deposit":"Chavara beach sands","licence":"KL-ML-2019-07","mineral":"monazite"},
 "outputs":[{"batch_id":"CHV-MON-0001","material":"monazite-concentrate","mass_mg":1000000000,
   "elements":[{"element":"Nd","mass_mg":100000000},{"element":"Pr","mass_mg":30000000}]}]}
{"kind":"TRANSFER","site":{"country":"IN","region":"IN-KL"},
 "inputs":[{"batch_id":"CHV-MON-0001","mass_mg":1000000000}],
 "transfer":{"destination_facility_id":"IN-IREL-OSCOM","carrier":"road"}}
JSON
emit IN-IREL-CHAVARA "$NET/mine.json" >"$NET/mine.out"
transfer_id=$(python3 -c 'import json,sys,base64; print(base64.b64encode(bytes.fromhex(json.loads(open(sys.argv[1]).read().splitlines()[1])["event_id"])).decode())' "$NET/mine.out")
cat >"$NET/refiner.json" <<JSON
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"CHV-MON-0001","mass_mg":999500000}],
 "receive":{"transfer_event_id":"$transfer_id","origin_facility_id":"IN-IREL-CHAVARA"}}
{"kind":"PROCESS","site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"CHV-MON-0001","mass_mg":999500000}],
 "outputs":[{"batch_id":"OSC-NDPR-0001","material":"NdPr-oxide","mass_mg":150000000,
   "elements":[{"element":"Nd","mass_mg":96000000},{"element":"Pr","mass_mg":28800000}]}]}
JSON
# the refiner waits for its receipts (emit --wait): accepted, with their ledger indexes
emit IN-IREL-OSCOM --wait 60 "$NET/refiner.json" >"$NET/refiner.out"
[ "$(grep -c '"status":"RECEIPT_STATUS_ACCEPTED"' "$NET/refiner.out")" -eq 2 ] \
    || { echo "FAIL: emit --wait printed no two ACCEPTED receipts:"; cat "$NET/refiner.out"; exit 1; }

# A wrong-role event: the refiner may not EXTRACT (validate rejects it: ROLE_NOT_ALLOWED).
echo '{"kind":"EXTRACT","site":{"country":"IN"},"outputs":[{"batch_id":"OSC-FAKE-1","material":"ore","mass_mg":5}]}' \
    | emit IN-IREL-OSCOM - >/dev/null

# ledger_lines: the ledger as JSON lines, every signature checked against the registry.
ledger_lines() { "$MT_BIN/mintrace" inspect ledger -e --registry "$NET/registry.bin" -g "$NET/keys/governance.pub"; }
wait_ledger() { # wait_ledger N: until the ledger holds N entries
    for _ in $(seq 1 60); do [ "$(ledger_lines | wc -l)" -ge "$1" ] && return 0; sleep 0.5; done
    echo "ledger has $(ledger_lines | wc -l) entries, expected $1" >&2; return 1
}
wait_ledger 5

# Tamper: the mine's first envelope exactly as journaled, one payload byte changed
# ("Chavara" -> "Chavarb"), produced as an attacker with write access would; then garbage.
ledger_lines >"$NET/ledger-before.jsonl"
python3 -c '
import base64, json, sys
for line in open(sys.argv[2]):
    e = json.loads(line)["value"].get("event")
    if e and e["envelope_decoded"]["payload_decoded"]["kind"] == "EVENT_KIND_EXTRACT":
        raw = base64.b64decode(e["envelope"])
        assert raw.count(b"Chavara") == 1
        open(sys.argv[1], "wb").write(raw.replace(b"Chavara", b"Chavarb"))
        break
' "$NET/tampered.bin" "$NET/ledger-before.jsonl"
printf 'not an envelope' >"$NET/garbage.bin"
kcat -P -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -k IN-IREL-CHAVARA "$NET/tampered.bin"
kcat -P -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -k nobody "$NET/garbage.bin"

wait_services   # they exit after 8 s without input, committing what they did
ledger_lines >"$NET/ledger.jsonl"
# inspect prints an "error" line for the garbage message and so exits 1
rc=0; "$MT_BIN/mintrace" inspect events.submitted -e --shallow >"$NET/submitted.jsonl" || rc=$?
# the mine's own receipts topic, every signature checked
"$MT_BIN/mintrace" inspect receipts.IN-IREL-CHAVARA -t mintrace.v1.Envelope -e --registry "$NET/registry.bin" \
    -g "$NET/keys/governance.pub" >"$NET/receipts.jsonl"
"$MT_BIN/mintrace" journal >"$NET/journal.txt"
# the oxide's lineage goes back through the refiner's RECEIVE to the mine's EXTRACT
"$MT_BIN/mintrace" lineage --dot "$NET/lineage.dot" OSC-NDPR-0001 >"$NET/lineage.txt"
if ! grep -q 'OSC-NDPR-0001 150.000 kg; NdPr-oxide, PROCESS by IN-IREL-OSCOM (IN)' "$NET/lineage.txt" ||
    ! grep -q '<- CHV-MON-0001 999.500 kg, Nd recycled 0.0 % (pre 0.0 %, post 0.0 %); monazite-concentrate, EXTRACT by IN-IREL-CHAVARA (IN)' "$NET/lineage.txt" ||
    ! grep -q 'digraph lineage' "$NET/lineage.dot"; then
    echo "FAIL: lineage:"; cat "$NET/lineage.txt"; exit 1
fi
[ "$rc" -eq 1 ] || { echo "inspect of events.submitted exited $rc, expected 1 (one undecodable message)"; exit 1; }

python3 - "$NET" <<'PY'
import base64, json, sys
net = sys.argv[1]
ledger = [json.loads(l) for l in open(net + "/ledger.jsonl")]
submitted = [json.loads(l) for l in open(net + "/submitted.jsonl")]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)

# gap-free indexes, and the Kafka key is the index
for i, l in enumerate(ledger):
    if l["value"].get("index", 0) != i or l["key"] != "%016x" % i:
        fail("entry %d has index %s, key %s" % (i, l["value"].get("index"), l["key"]))

events = [l["value"]["event"] for l in ledger if "event" in l["value"]]
rejections = [l["value"]["rejection_decoded"] for l in ledger if "rejection" in l["value"]]
kinds = [e["envelope_decoded"]["payload_decoded"]["kind"] for e in events]
want = ["EVENT_KIND_EXTRACT", "EVENT_KIND_TRANSFER", "EVENT_KIND_RECEIVE", "EVENT_KIND_PROCESS"]
if sorted(kinds) != sorted(want): fail("journaled kinds %s, want %s" % (kinds, want))
for e in events:
    if e["envelope_decoded"]["signatures_verified"] != [True]: fail("facility signature: %s" % e["envelope_decoded"])
    if e["attestation_decoded"]["signatures_verified"] != [True]: fail("notary signature: %s" % e["attestation_decoded"])
    att = e["attestation_decoded"]["payload_decoded"]
    if att["event_id"] != base64.b64encode(bytes.fromhex(e["envelope_decoded"]["event_id"])).decode():
        fail("attestation names another event")

codes = sorted(r["code"] for r in rejections)
want = sorted(["REASON_CODE_ROLE_NOT_ALLOWED", "REASON_CODE_BAD_SIGNATURE", "REASON_CODE_UNDECODABLE_ENVELOPE"])
if codes != want: fail("rejections %s, want %s" % (codes, want))
tampered = base64.b64encode(open(net + "/tampered.bin", "rb").read()).decode()
garbage = base64.b64encode(b"not an envelope").decode()
by_code = {r["code"]: r for r in rejections}
if by_code["REASON_CODE_BAD_SIGNATURE"]["original"] != tampered: fail("tampered original bytes not kept")
if by_code["REASON_CODE_BAD_SIGNATURE"]["facility_id"] != "IN-IREL-CHAVARA": fail("tampered: facility not named")
if by_code["REASON_CODE_UNDECODABLE_ENVELOPE"]["original"] != garbage: fail("garbage original bytes not kept")
for r in rejections:
    if r["stage"] != "STAGE_VALIDATE" or not r.get("source_topic", "").endswith("events.submitted"):
        fail("rejection does not say where it was read: %s" % r)

# receipts: the mine is told of its two accepted events and the tampered copy, signed by the
# aggregator, on its own topic
receipts = [json.loads(l)["value"] for l in open(net + "/receipts.jsonl")]
st = sorted(r["payload_decoded"]["status"] for r in receipts)
if st != ["RECEIPT_STATUS_ACCEPTED", "RECEIPT_STATUS_ACCEPTED", "RECEIPT_STATUS_REJECTED"]:
    fail("mine's receipts: %s" % st)
for r in receipts:
    if r["signatures_verified"] != [True] or r["signatures"][0]["role"] != "SIGNER_ROLE_AGGREGATOR":
        fail("receipt not signed by the aggregator: %s" % r)
# the newest checkpoint covers the whole journal and its root matches
if "matches the journal" not in open(net + "/journal.txt").read(): fail("checkpoint does not match the journal")

# nothing lost, nothing doubled: every submitted message is journaled exactly once
if len(submitted) != len(events) + len(rejections):
    fail("submitted %d != journaled %d events + %d rejections" % (len(submitted), len(events), len(rejections)))
print("ok: %d events with valid facility and notary signatures, %d rejections %s, %d submitted" %
      (len(events), len(rejections), codes, len(submitted)))
PY
