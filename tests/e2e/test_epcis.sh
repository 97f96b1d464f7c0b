#!/usr/bin/env bash
# End to end on real Kafka: `mintrace export epcis` (docs/epcis.md). The simulator's chains go
# through the pipeline, then one mine extracts a lot by mistake and voids it with a CORRECTION.
# The export of the whole journal, and of one second-generation magnet lot's lineage, must be
# valid against GS1's EPCIS 2.0 JSON Schema (ajv + ajv-formats; the schema is read from
# ../shared/epcis or $MT_EPCIS_DIR, never copied into the project), and its quantities must be
# the journal's masses exactly (decimals parsed exactly, no floating point).
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="epcis$$." MINTRACE_NETWORK_ID=epcis-e2e
NET=$MT_TMP/net
CHAINS=3 EVENTS=$((3 * 14))
cd "$MT_ROOT"

# The schema stays in shared/: without it this test cannot say anything. Under CI that is a
# failure; on a developer's machine, a loud skip.
# The project's checkout sits beside shared/ (../shared); a clone one level deeper finds it too.
EPCIS_DIR=${MT_EPCIS_DIR:-}
if [ -z "$EPCIS_DIR" ]; then
    EPCIS_DIR=$MT_ROOT/../shared/epcis
    [ -r "$EPCIS_DIR/EPCIS-JSON-Schema.json" ] || [ ! -r "$MT_ROOT/../../shared/epcis/EPCIS-JSON-Schema.json" ] \
        || EPCIS_DIR=$MT_ROOT/../../shared/epcis
fi
SCHEMA=$EPCIS_DIR/EPCIS-JSON-Schema.json
if [ ! -r "$SCHEMA" ]; then
    if [ -n "${CI:-}" ]; then
        echo "FAIL: $SCHEMA is missing (set MT_EPCIS_DIR to the folder of GS1's EPCIS-JSON-Schema.json)"
        exit 1
    fi
    echo "########################################################################"
    echo "SKIP: test_epcis: $SCHEMA is missing: the EPCIS export is NOT validated."
    echo "      Set MT_EPCIS_DIR to the folder of GS1's EPCIS-JSON-Schema.json."
    echo "########################################################################"
    exit 77 # tests/run.sh: SKIP, with this message
fi
# ajv and ajv-formats, pinned in tests/package-lock.json; installed as tests/lint.sh does
lock_sum=$(sha256sum tests/package-lock.json tests/package.json | sha256sum | cut -d' ' -f1)
if [ "$(cat tests/node_modules/.mintrace-lock 2>/dev/null)" != "$lock_sum" ]; then
    npm ci --prefix tests --no-audit --no-fund --ignore-scripts --loglevel=error >"$MT_TMP/npm.log" 2>&1 \
        || { echo "FAIL: npm ci --prefix tests"; tail -20 "$MT_TMP/npm.log"; exit 1; }
    echo "$lock_sum" >tests/node_modules/.mintrace-lock
fi

# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh
"$MT_BIN/mintrace" simulate --seed 11 --chains "$CHAINS" --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 60000 # stopped below, once every event is journaled
"$MT_BIN/mintrace" simulate --seed 11 --chains "$CHAINS" --emit >"$NET/emit.txt"

# wait_accepted N: until the journal holds N accepted events (60 s at most)
wait_accepted() {
    for _ in $(seq 1 120); do
        "$MT_BIN/mintrace" journal >"$NET/journal.txt" 2>/dev/null || true
        grep -q "^journal: .* $1 accepted, 0 rejected" "$NET/journal.txt" && return 0
        sleep 0.5
    done
    echo "FAIL: the journal never reached $1 accepted events:"; tail -3 "$NET/journal.txt"
    return 1
}
wait_accepted "$EVENTS"

# A mine extracts a lot by mistake and voids it, then splits, merges and writes off part of
# another: sealed by hand at its key's head + 1, + 2, ... (the simulator keeps no chain state).
"$MT_BIN/mintrace" inspect ledger -e >"$NET/ledger.jsonl"
read -r MINE SEQ PREV COUNTRY < <(python3 - "$NET/ledger.jsonl" <<'PY'
import base64, json, sys
head = {}
for line in open(sys.argv[1]):
    ev = json.loads(line)["value"].get("event")
    if not ev: continue
    p = ev["envelope_decoded"]["payload_decoded"]
    if p["kind"] == "EVENT_KIND_EXTRACT" or p["facility_id"] in head:
        f = p["facility_id"]
        if int(p["seq"]) > head.get(f, (0,))[0]:
            head[f] = (int(p["seq"]), ev["envelope_decoded"]["event_id"], p["site"]["country"])
f = sorted(head)[0]
seq, eid, cc = head[f]
print(f, seq, base64.b64encode(bytes.fromhex(eid)).decode(), cc)
PY
)
# mine_event NAME FIELDS: seals the event FIELDS at the mine key's next seq, chained to its head,
# submits it keyed and partitioned as emit does, and makes it the head (PREV, base64 id)
T=$(($(date +%s%3N) - 60000))
mine_event() {
    SEQ=$((SEQ + 1)) T=$((T + 1000))
    printf '{"network_id":"%s","facility_id":"%s","seq":%d,"prev":"%s","time_ms":%d,"site":{"country":"%s"},%s}\n' \
        "$MINTRACE_NETWORK_ID" "$MINE" "$SEQ" "$PREV" "$T" "$COUNTRY" "$2" >"$NET/$1.json"
    "$MT_BIN/mintrace" seal -k "$NET/keys/$MINE" -o "$NET/$1.bin" "$NET/$1.json"
    PREV=$("$MT_BIN/mintrace" inspect --file "$NET/$1.bin" -t mintrace.v1.Envelope |
        python3 -c 'import base64,json,sys; print(base64.b64encode(bytes.fromhex(json.load(sys.stdin)["event_id"])).decode())')
    kcat -P -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -k "$MINE" \
        -X topic.partitioner=murmur2_random "$NET/$1.bin"
}
ND='"elements":[{"element":"Nd"'
mine_event oops '"kind":"EXTRACT","extract":{"deposit":"wrong pit","mineral":"monazite"},
 "outputs":[{"batch_id":"'"$MINE"'-OOPS-1","material":"concentrate","mass_mg":1234567891,'"$ND"',"mass_mg":111111111}]}]'
mine_event fix '"kind":"CORRECTION","correction":{"corrected_event_id":"'"$PREV"'","reason":"weighed the wrong pit"}'
# and the kinds the simulator does not make: SPLIT, MERGE, LOSS
mine_event lot '"kind":"EXTRACT","extract":{"deposit":"north pit","mineral":"monazite"},
 "outputs":[{"batch_id":"'"$MINE"'-LOT-1","material":"concentrate","mass_mg":10000000,'"$ND"',"mass_mg":1000000}]}]'
mine_event split '"kind":"SPLIT","inputs":[{"batch_id":"'"$MINE"'-LOT-1","mass_mg":10000000}],
 "outputs":[{"batch_id":"'"$MINE"'-LOT-1A","material":"concentrate","mass_mg":6000000,'"$ND"',"mass_mg":600000}]},
            {"batch_id":"'"$MINE"'-LOT-1B","material":"concentrate","mass_mg":4000000,'"$ND"',"mass_mg":400000}]}]'
mine_event merge '"kind":"MERGE","inputs":[{"batch_id":"'"$MINE"'-LOT-1A","mass_mg":6000000},{"batch_id":"'"$MINE"'-LOT-1B","mass_mg":4000000}],
 "outputs":[{"batch_id":"'"$MINE"'-LOT-1C","material":"concentrate","mass_mg":10000000,'"$ND"',"mass_mg":1000000}]}]'
mine_event loss '"kind":"LOSS","inputs":[{"batch_id":"'"$MINE"'-LOT-1C","mass_mg":1000001}],"loss":{"reason":"spilled at loading"}'
wait_accepted $((EVENTS + 6))
stop_services # they commit, checkpoint and exit
grep -q 'matches the journal' "$NET/journal.txt" || { echo "FAIL: checkpoint"; tail -2 "$NET/journal.txt"; exit 1; }

"$MT_BIN/mintrace" inspect ledger -e >"$NET/ledger.jsonl"
"$MT_BIN/mintrace" export epcis --out "$NET/journal.epcis.json" 2>"$NET/export.err" \
    || { echo "FAIL: export epcis"; cat "$NET/export.err"; exit 1; }
LOT=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    ev = json.loads(l)["value"].get("event")
    for o in (ev or {}).get("envelope_decoded", {}).get("payload_decoded", {}).get("outputs", []):
        if "-MAG2-" in o["batch_id"]: print(o["batch_id"]); sys.exit()' "$NET/ledger.jsonl")
"$MT_BIN/mintrace" export epcis --batch "$LOT" -o "$NET/lineage.epcis.json" 2>"$NET/export.err" \
    || { echo "FAIL: export epcis --batch $LOT"; cat "$NET/export.err"; exit 1; }
if "$MT_BIN/mintrace" export epcis --batch NO-SUCH-LOT >/dev/null 2>"$NET/export.err"; then
    echo "FAIL: export of an unknown batch succeeded"; exit 1
fi
grep -q "NO-SUCH-LOT: no event of the journal made this batch" "$NET/export.err" \
    || { echo "FAIL: unknown batch: $(cat "$NET/export.err")"; exit 1; }

# GS1's schema accepts both documents; a broken copy must fail, or the validator proves nothing
node tests/tools/epcis_validate.mjs "$SCHEMA" "$NET/journal.epcis.json" "$NET/lineage.epcis.json" \
    || { echo "FAIL: not valid EPCIS 2.0"; exit 1; }
python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
d["epcisBody"]["eventList"][0]["action"] = "MOVE"
del d["epcisBody"]["eventList"][1]["eventTimeZoneOffset"]
json.dump(d, open(sys.argv[2], "w"))' "$NET/journal.epcis.json" "$NET/broken.json"
if node tests/tools/epcis_validate.mjs "$SCHEMA" "$NET/broken.json" >"$NET/broken.out"; then
    echo "FAIL: the validator accepted a broken document"; exit 1
fi

python3 - "$NET" "$LOT" "$MINE" <<'PY'
import base64, json, sys
from decimal import Decimal
net, lot, mine = sys.argv[1:4]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)

# the journal, straight from the ledger topic
journal = []  # (index, event id hex, payload)
for line in open(net + "/ledger.jsonl"):
    v = json.loads(line)["value"]
    if "event" in v:
        env = v["event"]["envelope_decoded"]
        journal.append((int(v["index"]), env["event_id"], env["payload_decoded"]))
by_id = {eid: (i, p) for i, eid, p in journal}

def uuid_of(eid_hex):  # docs/epcis.md: RFC 9562 version 8 from the id's first 16 bytes
    b = bytearray(bytes.fromhex(eid_hex)[:16])
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return "urn:uuid:%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

def mg(q):  # a quantityElement in mg, exactly: KGM decimals parsed as Decimal, never float
    if q["uom"] == "KGM":
        v = q["quantity"] * 1000000
    elif q["uom"] == "MGM":
        v = Decimal(q["quantity"])
    else:
        fail("unit %s" % q["uom"])
    if v != v.to_integral_value(): fail("%s is not a whole number of mg" % q)
    return int(v)

def batch_of(urn):
    pre = "urn:mintrace:batch:epcis-e2e:"
    if not urn.startswith(pre): fail("epcClass %s" % urn)
    return urn[len(pre):]

def load(name):
    return json.load(open(net + "/" + name), parse_float=Decimal, parse_int=Decimal)["epcisBody"]["eventList"]

doc = load("journal.epcis.json")
if len(doc) != len(journal): fail("%d EPCIS events for %d accepted events" % (len(doc), len(journal)))
kinds = {"EVENT_KIND_" + k: k for k in ("EXTRACT", "PROCESS", "MANUFACTURE", "RECYCLE", "TRANSFER", "RECEIVE",
                                         "EXIT", "CORRECTION", "SPLIT", "MERGE", "LOSS")}
extract_doc = extract_journal = transformations = 0
declared, seen = None, set()
for e, (index, eid, p) in zip(doc, journal):
    kind = p["kind"]
    if int(e["mintrace:ledgerIndex"]) != index and kind != "EVENT_KIND_CORRECTION":
        fail("event %s at index %s, journal says %d" % (e["eventID"], e["mintrace:ledgerIndex"], index))
    if kind == "EVENT_KIND_CORRECTION":
        # a copy of the voided event, same eventID, carrying errorDeclaration
        oid = base64.b64decode(p["correction"]["corrected_event_id"]).hex()
        decl = e.get("errorDeclaration") or fail("correction without errorDeclaration: %s" % e)
        if e["eventID"] != uuid_of(oid) or e["mintrace:eventId"] != oid: fail("declaration names %s" % e["eventID"])
        if decl["mintrace:correctionEventID"] != uuid_of(eid): fail("correctionEventID %s" % decl)
        if decl["reason"] != "did_not_occur": fail("reason %s" % decl)
        declared = e
        p = by_id[oid][1]
    elif "errorDeclaration" in e:
        fail("errorDeclaration on %s" % e["eventID"])
    elif e["eventID"] != uuid_of(eid) or e["mintrace:eventId"] != eid:
        fail("eventID %s of %s" % (e["eventID"], eid))
    outs = {o["batch_id"]: int(o["mass_mg"]) for o in p.get("outputs", [])}
    ins = {i["batch_id"]: int(i["mass_mg"]) for i in p.get("inputs", [])}
    if p["kind"] == "EVENT_KIND_EXTRACT":
        if e["type"] != "ObjectEvent" or e["action"] != "ADD": fail("EXTRACT as %s" % e["type"])
        got = {batch_of(q["epcClass"]): mg(q) for q in e["quantityList"]}
        if got != outs: fail("EXTRACT quantities %s, journal %s" % (got, outs))
        if e["ilmd"]["cbvmda:countryOfOrigin"] != p["site"]["country"]: fail("ILMD %s" % e["ilmd"])
        if kind != "EVENT_KIND_CORRECTION":
            extract_doc += sum(got.values())
            extract_journal += sum(outs.values())
    elif p["kind"] in ("EVENT_KIND_PROCESS", "EVENT_KIND_MANUFACTURE", "EVENT_KIND_RECYCLE", "EVENT_KIND_SPLIT",
                       "EVENT_KIND_MERGE"):
        step = "repackaging" if p["kind"] in ("EVENT_KIND_SPLIT", "EVENT_KIND_MERGE") else "creating_class_instance"
        if e["type"] != "TransformationEvent" or e["bizStep"] != step: fail("%s as %s" % (p["kind"], e))
        got = {batch_of(q["epcClass"]): mg(q) for q in e["outputQuantityList"]}
        if got != outs: fail("%s outputs %s, journal %s" % (p["kind"], got, outs))
        gin = {batch_of(q["epcClass"]): mg(q) for q in e.get("inputQuantityList", [])
               if q["epcClass"].startswith("urn:mintrace:batch:")}
        if gin != ins: fail("%s inputs %s, journal %s" % (p["kind"], gin, ins))
        unt = sum(int(u["mass_mg"]) for u in p.get("untracked_inputs", [])) + \
            int(p.get("recycle", {}).get("untracked_feedstock_mass_mg", 0))
        gunt = sum(mg(q) for q in e.get("inputQuantityList", []) if q["epcClass"].startswith("urn:mintrace:untracked:"))
        if gunt != unt: fail("%s untracked inputs %d mg, journal %d" % (p["kind"], gunt, unt))
        transformations += 1
    else:  # TRANSFER, RECEIVE, LOSS, EXIT: the batches named, with the mass moved or taken
        action, step = {"EVENT_KIND_TRANSFER": ("OBSERVE", "shipping"), "EVENT_KIND_RECEIVE": ("OBSERVE", "receiving"),
                        "EVENT_KIND_LOSS": ("DELETE", "destroying"), "EVENT_KIND_EXIT": ("DELETE", "decommissioning")}[p["kind"]]
        if e["type"] != "ObjectEvent" or e["action"] != action or e["bizStep"] != step: fail("%s as %s" % (p["kind"], e))
        got = {batch_of(q["epcClass"]): mg(q) for q in e["quantityList"]}
        if got != ins: fail("%s quantities %s, journal %s" % (p["kind"], got, ins))
    if e["mintrace:kind"] != kinds[p["kind"]]: fail("mintrace:kind %s for %s" % (e["mintrace:kind"], p["kind"]))
    seen.add(kind)
if seen != set(kinds): fail("kinds exported: %s" % sorted(seen))
if declared is None: fail("no errorDeclaration for the CORRECTION")
if extract_doc != extract_journal: fail("EXTRACT total %d mg, journal %d mg" % (extract_doc, extract_journal))
oops = [q for q in declared["quantityList"]]
if [mg(q) for q in oops] != [1234567891] or str(oops[0]["quantity"]) != "1234.567891":
    fail("the voided lot's quantity %s" % oops)

# the lineage of one second-generation lot: 13 of its chain's 14 events (not the EXIT of the
# first magnets), every one also in the whole export, no other chain's batch
lin = load("lineage.epcis.json")
chain = lot.rsplit("-", 1)[1]
ids = {(e["eventID"], "errorDeclaration" in e) for e in doc}
if len(lin) != 13: fail("lineage of %s has %d events, want 13: %s" % (lot, len(lin), [e["mintrace:kind"] for e in lin]))
for e in lin:
    if (e["eventID"], "errorDeclaration" in e) not in ids: fail("lineage event %s not in the journal export" % e["eventID"])
    for key in ("quantityList", "inputQuantityList", "outputQuantityList"):
        for q in e.get(key, []):
            if q["epcClass"].startswith("urn:mintrace:batch:") and not batch_of(q["epcClass"]).endswith("-" + chain):
                fail("lineage of %s names %s" % (lot, q["epcClass"]))
if lin[-1]["mintrace:kind"] != "MANUFACTURE" or lot not in [batch_of(q["epcClass"]) for q in lin[-1]["outputQuantityList"]]:
    fail("lineage does not end with the making of %s" % lot)
if sorted({e["mintrace:kind"] for e in lin}) != ["EXTRACT", "MANUFACTURE", "PROCESS", "RECEIVE", "RECYCLE", "TRANSFER"]:
    fail("lineage kinds %s" % sorted({e["mintrace:kind"] for e in lin}))
print("ok: %d EPCIS events of every kind valid against GS1's schema; %d transformations and %d mg extracted equal the journal's; "
      "the CORRECTION is an errorDeclaration; %s's lineage is %d events" % (len(doc), transformations, extract_doc, lot, len(lin)))
PY
