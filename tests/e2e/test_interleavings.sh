#!/usr/bin/env bash
# End to end on real Kafka: the ledger's verdicts do not depend on how facilities' streams
# interleave. The scenario of test_ledger.sh (tests/e2e/ledger/scenario.sh: every kind of event,
# one attack per reason code, an exact resubmission; explicit times, so every event id is
# reproducible) runs twice, each on its own topic prefix with its own services:
#   A  facilities in chain order (mine, refiner, magnet maker, recycler), each one's messages
#      read by the pipeline before the next facility emits;
#   B  the same messages, byte for byte, downstream first (recycler, magnet maker, refiner, then
#      the mine), so every RECEIVE waits in the parking buffer for its TRANSFER.
# Both must journal the same accepted event ids, the same rejections by (event id, code), the
# same duplicates and the same inventories; only the ledger indexes may differ.
# The runs are one after the other: the stages' consumer groups and transactional ids do not
# depend on the topic prefix, so two aggregators at once would fence each other.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
cd "$MT_ROOT"
. deploy/pipeline.sh
. tests/e2e/ledger/scenario.sh
T0=$(( ($(date +%s) - 86400) * 1000 ))   # yesterday: every event is in the notary's past
NET=$MT_TMP/net
mkdir -p "$NET"
ledger_network interleavings-e2e
SERVICE_PIDS=()
trap 'stop_services >/dev/null 2>&1 || true' EXIT

# run_begin NAME: topics and services of run NAME (prefix, logs and files in MT_TMP/NAME)
run_begin() {
    export MINTRACE_TOPIC_PREFIX="e2eilv$$$1."
    NET=$MT_TMP/$1 OUT=$MT_TMP/$1 STATE=$MT_TMP/$1/state
    mkdir -p "$NET"
    ln -s ../net/keys "$NET/keys"
    "$MT_BIN/mintrace" topics create --registry "$MINTRACE_REGISTRY_FILE" >/dev/null
    start_services 8000
}
count() { "$MT_BIN/mintrace" inspect "$1" -e --shallow 2>/dev/null | wc -l; }
# decided: journal entries other than registry versions (one per submitted message)
decided() { "$MT_BIN/mintrace" inspect ledger -e --shallow 2>/dev/null | grep -vc '"registry_change"' || true; }
# wait_read N: until the pipeline has read N submitted messages (attested or rejected)
wait_read() {
    local end=$((SECONDS + 60))
    while [ $(($(count events.attested) + $(count rejected))) -lt "$1" ]; do
        [ "$SECONDS" -lt "$end" ] || { echo "FAIL: $MINTRACE_TOPIC_PREFIX: the pipeline did not read $1 messages in 60 s"; return 1; }
        sleep 0.25
    done
}
# run_end N: waits until N submitted messages are journaled, stops the services, keeps the journal and inventories
run_end() {
    local f end=$((SECONDS + 60))
    while [ "$(decided)" -lt "$1" ]; do
        [ "$SECONDS" -lt "$end" ] ||
            { echo "FAIL: $MINTRACE_TOPIC_PREFIX: $(decided) messages journaled after 60 s, $1 submitted"; return 1; }
        sleep 0.25
    done
    stop_services
    SERVICE_PIDS=()
    "$MT_BIN/mintrace" inspect ledger -e >"$OUT/ledger.jsonl"
    for f in "$MINE" "$REFINER" "$MAGNETS" "$RECYCLER"; do
        "$MT_BIN/mintrace" inventory "$f" >"$OUT/inventory.$f"
    done
}

# ---- A: chain order ----
run_begin a
: >"$OUT/PLAN"
: >"$OUT/EXPECTED"
scenario_mine
wait_read "$(plan_messages <"$OUT/PLAN")"
scenario_refiner
wait_read "$(plan_messages <"$OUT/PLAN")"
scenario_magnets
wait_read "$(plan_messages <"$OUT/PLAN")"
scenario_recycler
scenario_garbage
total=$(plan_messages <"$OUT/PLAN")
run_end "$total"
PLAN=$OUT/PLAN

# ---- B: the same messages, downstream first ----
run_begin b
n=0
for f in "$RECYCLER" "$MAGNETS" "$REFINER" "$MINE" nobody; do
    while read -r how fac file; do
        [ "$fac" = "$f" ] || continue
        n=$((n + $(echo "$how $fac $file" | plan_messages)))
        if [ "$how" = emit ]; then
            "$MT_BIN/mintrace" emit -k "$NET/keys/$fac" -f "$fac" --state-dir "$STATE" "$file" \
                >"$OUT/$(basename "$file").out"
        else
            produce "$fac" "$file"
        fi
    done <"$PLAN"
    wait_read "$n"   # read (and parked) before the next facility, upstream, emits
done
[ "$n" -eq "$total" ] || { echo "FAIL: run B submitted $n messages, run A $total"; exit 1; }
run_end "$total"

python3 - "$MT_TMP/a" "$MT_TMP/b" <<'PY'
import base64, glob, hashlib, json, os, sys
a, b = sys.argv[1], sys.argv[2]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)

def verdicts(run):
    ledger = [json.loads(l)["value"] for l in open(run + "/ledger.jsonl")]
    for i, v in enumerate(ledger):
        if v.get("index", 0) != i: fail("%s: entry %d has index %s" % (run, i, v.get("index")))
    accepted, rejected, duplicates, at = set(), [], [], {}
    for v in ledger:
        if "event" in v:
            eid = v["event"]["envelope_decoded"]["event_id"]
            accepted.add(eid)
            at[eid] = (v.get("index", 0), v.get("source_offset", 0), v["event"]["envelope_decoded"]["payload_decoded"])
        elif "duplicate" in v:
            duplicates.append(base64.b64decode(v["duplicate"]["event_id"]).hex())
        elif "registry_change" in v:
            pass  # the registry version, journaled before the events that need it
        else:
            r = v["rejection_decoded"]
            eid = base64.b64decode(r["event_id"]).hex() if r.get("event_id") else \
                "bytes:" + hashlib.sha256(base64.b64decode(r.get("original", ""))).hexdigest()
            rejected.append((eid, r["code"]))
    inv = {os.path.basename(f): open(f).read() for f in glob.glob(run + "/inventory.*")}
    return ledger, accepted, sorted(rejected), sorted(duplicates), inv, at

_, acc_a, rej_a, dup_a, inv_a, at_a = verdicts(a)
_, acc_b, rej_b, dup_b, inv_b, at_b = verdicts(b)

# the same events, byte for byte: emit numbered and chained them the same way in both runs
emitted = {}
for f in sorted(glob.glob(a + "/*.json.out")):
    ob = open(b + "/" + os.path.basename(f)).read()
    if open(f).read() != ob: fail("emit gave other ids in run B for %s" % os.path.basename(f))
    for line in ob.splitlines(): emitted[json.loads(line)["event_id"]] = f
expected = [l.split() for l in open(a + "/EXPECTED")]

if acc_a != set(emitted): fail("run A accepted %d events, %d were emitted" % (len(acc_a), len(emitted)))
if acc_a != acc_b:
    fail("accepted events differ: only A %s, only B %s" % (sorted(acc_a - acc_b), sorted(acc_b - acc_a)))
if len(rej_a) != sum(e[0] == "REJECT" for e in expected): fail("run A: %d rejections: %s" % (len(rej_a), rej_a))
if rej_a != rej_b:
    fail("rejections differ: only A %s, only B %s" % (sorted(set(rej_a) - set(rej_b)), sorted(set(rej_b) - set(rej_a))))
if dup_a != dup_b or len(dup_a) != 1: fail("duplicates: A %s, B %s" % (dup_a, dup_b))
if sorted(inv_a) != sorted(inv_b) or len(inv_a) != 4: fail("inventories: A %s, B %s" % (sorted(inv_a), sorted(inv_b)))
for f in inv_a:
    if inv_a[f] != inv_b[f]: fail("%s differs:\nA:\n%sB:\n%s" % (f, inv_a[f], inv_b[f]))

# the interleavings really differed: in B every RECEIVE reached the ledger before its TRANSFER
# (a lower offset on events.attested) and waited until the TRANSFER was journaled; in A none did
receives = [(eid, ev) for eid, (_, _, ev) in at_a.items() if ev["kind"] == "EVENT_KIND_RECEIVE"]
if len(receives) != 3: fail("%d RECEIVEs accepted, want 3" % len(receives))
for eid, ev in receives:
    tid = base64.b64decode(ev["receive"]["transfer_event_id"]).hex()
    for run, at, parked in (("A", at_a, False), ("B", at_b, True)):
        (ri, ro, _), (ti, to, _) = at[eid], at[tid]
        if ri < ti: fail("run %s: RECEIVE journaled at %d, before its TRANSFER at %d" % (run, ri, ti))
        if (ro < to) != parked:
            fail("run %s: RECEIVE of %s read at offset %d, its TRANSFER at %d" % (run, ev["facility_id"], ro, to))
moved = sum(1 for e in at_a if at_a[e][0] != at_b[e][0])
print("ok: %d accepted, %d rejections (%d codes), 1 duplicate and 4 inventories alike in two interleavings "
      "(%d accepted events at other indexes; 3 RECEIVEs parked in B)" %
      (len(acc_a), len(rej_a), len({c for _, c in rej_a}), moved))
PY
