#!/usr/bin/env bash
# End to end on real Kafka, the ledger rules: a mine, a refiner, a magnet maker and a recycler
# emit every kind of event (EXTRACT, SPLIT, TRANSFER, RECEIVE with a transit loss, LOSS,
# CORRECTION, PROCESS, MANUFACTURE with untracked iron and boron, EXIT, RECYCLE of tracked swarf
# and of untracked post-consumer feedstock, MERGE), then one adversarial message per reason code
# that can arise end to end (tests/e2e/ledger/scenario.sh) and an exact resubmission. Asserts
# from the journal: every emitted event accepted, each attack rejected with its code, facility
# and original bytes, the resubmission journaled as a duplicate of the original's index, indexes
# gap-free, submitted = accepted + rejected + duplicates exactly (message by message), and the
# facilities' inventories (transit loss applied, corrected outputs and exits gone).
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="e2eledger$$."
NET=$MT_TMP/net OUT=$MT_TMP/net/out STATE=$MT_TMP/net/state
mkdir -p "$NET" "$OUT"
cd "$MT_ROOT"
. deploy/pipeline.sh
. tests/e2e/ledger/scenario.sh
T0=$(( ($(date +%s) - 86400) * 1000 ))   # yesterday: every event is in the notary's past

ledger_network ledger-e2e
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 8000
ledger_scenario
expected=$(plan_messages <"$OUT/PLAN")

ledger_lines() { "$MT_BIN/mintrace" inspect ledger -e --registry "$NET/registry.bin" -g "$NET/keys/governance.pub"; }
decided() { ledger_lines | grep -vc '"registry_change"' || true; }   # entries other than registry versions
end=$((SECONDS + 60))
while [ "$(decided)" -lt "$expected" ]; do
    [ "$SECONDS" -lt "$end" ] ||
        { echo "FAIL: $(decided) messages journaled after 60 s, $expected submitted"; exit 1; }
    sleep 0.25
done
stop_services
ledger_lines >"$NET/ledger.jsonl"
kcat -C -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -e -q -f '%S\n%s\n' >"$NET/submitted.raw"
for f in "$MINE" "$REFINER" "$MAGNETS" "$RECYCLER"; do
    "$MT_BIN/mintrace" inventory "$f" >"$NET/inventory.$f"
done

python3 - "$NET" "$OUT" <<'PY'
import base64, glob, json, os, sys
net, out = sys.argv[1], sys.argv[2]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
def b64(b): return base64.b64encode(b).decode()

def fields(buf):
    """The length-delimited fields of a protobuf message: {number: bytes} (enough for AttestedEvent)."""
    i, f = 0, {}
    def varint():
        nonlocal i
        v = s = 0
        while True:
            c = buf[i]; i += 1; v |= (c & 0x7f) << s; s += 7
            if c < 0x80: return v
    while i < len(buf):
        key = varint()
        if key & 7 == 2:
            n = varint(); f[key >> 3] = buf[i:i + n]; i += n
        elif key & 7 == 0: varint()
        else: raise ValueError("wire type %d" % (key & 7))
    return f

ledger = [json.loads(l) for l in open(net + "/ledger.jsonl")]
raw = open(net + "/submitted.raw", "rb").read()
submitted = []
while raw:
    size, raw = raw.split(b"\n", 1)
    submitted.append(raw[:int(size)]); raw = raw[int(size) + 1:]

# gap-free indexes, and the Kafka key is the index
for i, l in enumerate(ledger):
    if l["value"].get("index", 0) != i or l["key"] != "%016x" % i:
        fail("entry %d has index %s, key %s" % (i, l["value"].get("index"), l["key"]))

# every entry, with the bytes that were submitted for it
accepted, rejected, duplicates, registries = [], [], [], []
for l in ledger:
    v = l["value"]
    if "registry_change" in v:  # the registry is journaled in order with the events
        registries.append(v["registry_change_decoded"]["payload_decoded"]["version"])
    elif "event" in v:
        accepted.append((v, base64.b64decode(v["event"]["envelope"])))
    elif "duplicate" in v:
        duplicates.append((v, fields(base64.b64decode(v["duplicate"]["attested"]))[1]))
    elif "rejection" in v:
        r = v["rejection_decoded"]
        orig = base64.b64decode(r.get("original", ""))
        if r["stage"] == "STAGE_AGGREGATE":
            orig = fields(orig)[1]   # the AttestedEvent the ledger judged: its envelope
        rejected.append((r, orig))
    else:
        fail("entry %d is neither event, rejection nor duplicate: %s" % (v.get("index", 0), v))

# the registry, journaled once, before anything it judges
if registries != [1] or "registry_change" not in ledger[0]["value"]:
    fail("registry versions journaled: %s, the first entry: %s" % (registries, sorted(ledger[0]["value"])))

# submitted = accepted + rejected + duplicates, exactly, message by message
journaled = sorted(b for _, b in accepted + rejected + duplicates)
if len(submitted) != len(journaled):
    fail("submitted %d != %d accepted + %d rejected + %d duplicates" %
         (len(submitted), len(accepted), len(rejected), len(duplicates)))
if sorted(submitted) != journaled:
    fail("the journal's original bytes are not the submitted messages")

# accepted: exactly the events emit emitted, every kind, both signatures valid
emitted = {}
for f in sorted(glob.glob(out + "/*.json.out")):
    for line in open(f):
        emitted[json.loads(line)["event_id"]] = f
ids = {}
for v, _ in accepted:
    e = v["event"]
    ids[e["envelope_decoded"]["event_id"]] = v.get("index", 0)
    if e["envelope_decoded"]["signatures_verified"] != [True]: fail("facility signature: %s" % e["envelope_decoded"])
    if e["attestation_decoded"]["signatures_verified"] != [True]: fail("notary signature: %s" % e["attestation_decoded"])
if set(ids) != set(emitted):
    fail("accepted %s, emitted %s" % (sorted(set(ids) - set(emitted)), sorted(set(emitted) - set(ids))))
events = [v["event"]["envelope_decoded"]["payload_decoded"] for v, _ in accepted]
kinds = {e["kind"][len("EVENT_KIND_"):] for e in events}
want = {"EXTRACT", "PROCESS", "MANUFACTURE", "RECYCLE", "SPLIT", "MERGE", "TRANSFER", "RECEIVE", "LOSS", "EXIT", "CORRECTION"}
if kinds != want: fail("accepted kinds %s, want %s" % (sorted(kinds), sorted(want)))
feedstocks = {e["recycle"]["feedstock"] for e in events if "recycle" in e}
if feedstocks != {"FEEDSTOCK_CLASS_TRACKED", "FEEDSTOCK_CLASS_UNTRACKED_POST_CONSUMER"}: fail("recycled %s" % feedstocks)

# rejections and the duplicate: exactly those expected, with their codes, facilities and bytes
validate_codes = {"BAD_SIGNATURE", "UNKNOWN_KEY", "KEY_FACILITY_MISMATCH", "ROLE_NOT_ALLOWED", "KEY_REVOKED",
                  "WRONG_NETWORK", "MALFORMED_EVENT", "UNDECODABLE_ENVELOPE"}
expected = [l.split() for l in open(out + "/EXPECTED")]
want_rej = [e for e in expected if e[0] == "REJECT"]
if len(rejected) != len(want_rej):
    fail("%d rejections, expected %d: %s" % (len(rejected), len(want_rej),
         sorted("%s %s" % (r["code"], r.get("detail", "")) for r, _ in rejected)))
for _, code, fac, path in want_rej:
    body = open(path, "rb").read()
    hits = [r for r, b in rejected if b == body]
    if len(hits) != 1: fail("%s (%s): %d rejections of its bytes, want 1" % (code, os.path.basename(path), len(hits)))
    r = hits[0]
    if r["code"] != "REASON_CODE_" + code:
        fail("%s: rejected as %s (%s)" % (os.path.basename(path), r["code"], r.get("detail")))
    if r.get("facility_id", "") != ("" if fac == "-" else fac):
        fail("%s: rejection names facility %r, want %s" % (code, r.get("facility_id"), fac))
    stage = "STAGE_VALIDATE" if code in validate_codes else "STAGE_AGGREGATE"
    if r["stage"] != stage: fail("%s: decided at %s, want %s" % (code, r["stage"], stage))
    if stage == "STAGE_VALIDATE" and not r.get("source_topic", "").endswith("events.submitted"):
        fail("%s: rejection does not say where it was read: %s" % (code, r))
want_dup = [e for e in expected if e[0] == "DUPLICATE"]
if len(duplicates) != len(want_dup): fail("%d duplicates, expected %d" % (len(duplicates), len(want_dup)))
for _, fac, path in want_dup:
    body = open(path, "rb").read()
    hits = [v for v, b in duplicates if b == body]
    if len(hits) != 1: fail("no duplicate entry holds the resubmitted bytes")
    d = hits[0]["duplicate"]
    eid = base64.b64decode(d["event_id"]).hex()
    if eid not in ids: fail("the duplicate names event %s, which was not accepted" % eid)
    if d.get("first_index", 0) != ids[eid]:
        fail("the duplicate names index %s, the original is at %d" % (d.get("first_index"), ids[eid]))
    if [b for v, b in accepted if v["event"]["envelope_decoded"]["event_id"] == eid] != [body]:
        fail("the duplicate's bytes are not the accepted envelope's")

# inventories
def inventory(fac):
    rows = {}
    for line in open("%s/inventory.%s" % (net, fac)).read().splitlines()[:-1]:
        batch, _material, kg, _unit, where = line.split(None, 4)
        rows[batch] = (kg, where)
    return rows
want_inv = {
    "IN-IREL-CHAVARA": {"CHV-MON-1B": ("395.000", "held")},   # 400 - 5 lost; CHV-MON-2 corrected away
    "IN-IREL-OSCOM": {"CHV-MON-1A": ("99.500", "held")},      # 600 shipped, 599.5 received, 500 processed
    "IN-MAG-HYD": {"MAG-N48-1": ("90.000", "held"),            # MAG-N52-1 exited, the swarf shipped
                   "REC-NDPR-3": ("18.400", "in transit from IN-REC-PUNE")},
    "IN-REC-PUNE": {"REC-NDPR-3": ("18.400", "in transit to IN-MAG-HYD")},
}
for fac, want in want_inv.items():
    got = inventory(fac)
    if got != want: fail("inventory of %s: %s, want %s" % (fac, got, want))

print("ok: %d submitted = %d accepted (%d kinds) + %d rejected (%d codes) + %d duplicate; indexes gap-free; 4 inventories" %
      (len(submitted), len(accepted), len(kinds), len(rejected), len({r["code"] for r, _ in rejected}), len(duplicates)))
PY
