#!/usr/bin/env bash
# End to end on real Kafka: provenance as the aggregator computes and publishes it
# (docs/accounting.md). Ore mined in India and in Brazil is refined together in India, made into
# a magnet in Japan with untracked iron; the swarf goes to an Indian recycler and comes back as
# pre-consumer recycled metal, which the magnet maker makes into a second-generation magnet. Its
# record on the provenance topic must show the hand-computed figures below.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="prov$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

make_registry prov-e2e \
    "$(facility IN-MINE MINE IN IN-KL 'an Indian mine')" \
    "$(facility BR-MINE MINE BR BR-MG 'a Brazilian mine')" \
    "$(facility IN-REFINER REFINER IN IN-OR 'a refiner')" \
    "$(facility JP-MAGNET MAGNET_MAKER JP JP-13 'a magnet maker')" \
    "$(facility IN-RECYCLER RECYCLER IN IN-MH 'a recycler')"
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 60000 # stopped below, once every receipt came

# ev FACILITY JSON: emits one event and waits for its receipt, which must say ACCEPTED; prints
# the event id (base64) for a RECEIVE to name.
ev() {
    local n
    n=$(($(cat "$NET/count" 2>/dev/null || echo 0) + 1)) # ev runs in $(...) too: count in a file
    echo "$n" >"$NET/count"
    echo "$2" | emit "$1" --wait 60 >"$NET/$n.out" 2>"$NET/$n.err" \
        || { echo "FAIL: event $n of $1 not accepted:" >&2; cat "$NET/$n.out" "$NET/$n.err" >&2; return 1; }
    grep -q '"status":"RECEIPT_STATUS_ACCEPTED"' "$NET/$n.out" \
        || { echo "FAIL: event $n of $1: no ACCEPTED receipt" >&2; cat "$NET/$n.out" >&2; return 1; }
    python3 -c '
import base64, json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "event_id" in d:
        print(base64.b64encode(bytes.fromhex(d["event_id"])).decode()); break
' "$NET/$n.out"
}
# ship FROM FROM_COUNTRY TO TO_COUNTRY BATCH MASS: TRANSFER, then RECEIVE of all of it.
ship() {
    local id
    id=$(ev "$1" "{\"kind\":\"TRANSFER\",\"site\":{\"country\":\"$2\"},\"inputs\":[{\"batch_id\":\"$5\",\"mass_mg\":$6}],\"transfer\":{\"destination_facility_id\":\"$3\"}}")
    ev "$3" "{\"kind\":\"RECEIVE\",\"site\":{\"country\":\"$4\"},\"inputs\":[{\"batch_id\":\"$5\",\"mass_mg\":$6}],\"receive\":{\"transfer_event_id\":\"$id\",\"origin_facility_id\":\"$1\"}}" >/dev/null
}

ev IN-MINE '{"kind":"EXTRACT","site":{"country":"IN"},"outputs":[{"batch_id":"ORE-IN","material":"monazite","mass_mg":20000,"elements":[{"element":"Nd","mass_mg":2000}]}]}' >/dev/null
ev BR-MINE '{"kind":"EXTRACT","site":{"country":"BR"},"outputs":[{"batch_id":"ORE-BR","material":"monazite","mass_mg":10000,"elements":[{"element":"Nd","mass_mg":1000}]}]}' >/dev/null
ship IN-MINE IN IN-REFINER IN ORE-IN 20000
ship BR-MINE BR IN-REFINER IN ORE-BR 10000
ev IN-REFINER '{"kind":"PROCESS","site":{"country":"IN"},"inputs":[{"batch_id":"ORE-IN","mass_mg":20000},{"batch_id":"ORE-BR","mass_mg":10000}],"outputs":[{"batch_id":"OX-M1","material":"Nd-oxide","mass_mg":2100,"elements":[{"element":"Nd","mass_mg":1800}]},{"batch_id":"OX-M2","material":"Nd-oxide","mass_mg":1050,"elements":[{"element":"Nd","mass_mg":900}]}]}' >/dev/null
ship IN-REFINER IN JP-MAGNET JP OX-M1 2100
ev JP-MAGNET '{"kind":"MANUFACTURE","site":{"country":"JP"},"inputs":[{"batch_id":"OX-M1","mass_mg":1000}],"untracked_inputs":[{"material":"electrolytic-iron","mass_mg":1500,"elements":[{"element":"Fe","mass_mg":1500}],"supplier":"IronCo"}],"outputs":[{"batch_id":"MAG-1","material":"NdFeB","mass_mg":2000,"elements":[{"element":"Nd","mass_mg":600},{"element":"Fe","mass_mg":1300}]},{"batch_id":"SWARF-1","material":"swarf","mass_mg":400,"elements":[{"element":"Nd","mass_mg":200},{"element":"Fe","mass_mg":100}]}]}' >/dev/null
ship JP-MAGNET JP IN-RECYCLER IN SWARF-1 400
ev IN-RECYCLER '{"kind":"RECYCLE","site":{"country":"IN"},"inputs":[{"batch_id":"SWARF-1","mass_mg":400}],"recycle":{"feedstock":"TRACKED"},"outputs":[{"batch_id":"REC-1","material":"Nd-metal","mass_mg":200,"elements":[{"element":"Nd","mass_mg":180}]}]}' >/dev/null
ship IN-RECYCLER IN JP-MAGNET JP REC-1 200
ev JP-MAGNET '{"kind":"MANUFACTURE","site":{"country":"JP"},"inputs":[{"batch_id":"REC-1","mass_mg":200},{"batch_id":"OX-M1","mass_mg":1100}],"untracked_inputs":[{"material":"electrolytic-iron","mass_mg":1500,"elements":[{"element":"Fe","mass_mg":1500}],"supplier":"IronCo"}],"outputs":[{"batch_id":"MAG-2","material":"NdFeB","mass_mg":2500,"elements":[{"element":"Nd","mass_mg":1000},{"element":"Fe","mass_mg":1400}]}]}' >/dev/null

stop_services # they commit, checkpoint and exit
"$MT_BIN/mintrace" inspect provenance -e >"$NET/provenance.jsonl"
"$MT_BIN/mintrace" journal >"$NET/journal.txt"

python3 - "$NET" <<'PY'
import json, sys
net = sys.argv[1]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
latest = {}
for line in open(net + "/provenance.jsonl"):
    m = json.loads(line)
    v = m["value"]
    if m["key"] != v["batch_id"]: fail("record keyed %s is of %s" % (m["key"], v["batch_id"]))
    latest[v["batch_id"]] = v  # per partition in order; one batch is one key, one partition
def el(rec, sym):
    for e in rec.get("elements", []):
        if e["element"] == sym: return e
    fail("%s has no %s: %s" % (rec["batch_id"], sym, rec))
def countries(e, what):
    return {c["country"]: int(c["mass_mg"]) for c in e.get(what, [])}
def n(e, f):
    return int(e.get(f, 0))

# The hand computation (docs/accounting.md R1-R3):
#  PROCESS (IN) pools Nd BR 1000 + IN 2000; OX-M1 cuts 1800: BR 600, IN 1200.
#  MANUFACTURE 1 takes 1000 of OX-M1's 2100 mg: Nd round(1800*1000/2100) = 857 -> BR 286, IN 571;
#    MAG-1 cuts 600 of 857: BR 200.23 -> 200, IN 399.77 -> 400 (largest remainder);
#    SWARF-1 cuts 200 of the 257 left (BR 86, IN 171): BR 66.93 -> 67, IN 133.07 -> 133.
#  RECYCLE (IN), tracked scrap: pre-consumer; REC-1 cuts 180 of 200: BR 60.3 -> 60, IN 119.7 -> 120.
#  MANUFACTURE 2 pools OX-M1's rest (Nd 943: BR 314, IN 629, not recycled) and REC-1 (BR 60, IN
#    120, pre-consumer), P = 1123; MAG-2 cuts 1000: 279.6, 560.1, 53.4, 106.9 -> floors 998, the
#    2 mg go to the largest remainders (pre IN, then not-recycled BR): 280, 560, 53, 107.
mag2 = latest.get("MAG-2") or fail("no record of MAG-2")
nd, fe = el(mag2, "Nd"), el(mag2, "Fe")
want = {"total_mg": 1000, "recycled_pre_consumer_mg": 160, "recycled_post_consumer_mg": 0, "unattributed_mg": 0,
        "untracked_mg": 0}
for f, w in want.items():
    if n(nd, f) != w: fail("MAG-2 Nd %s = %d, want %d: %s" % (f, n(nd, f), w, nd))
if countries(nd, "extraction") != {"BR": 333, "IN": 667}: fail("MAG-2 Nd extraction %s" % countries(nd, "extraction"))
if countries(nd, "processing") != {"IN": 1000}: fail("MAG-2 Nd processing %s" % countries(nd, "processing"))
if n(fe, "total_mg") != 1400 or n(fe, "untracked_mg") != 1400 or n(fe, "recycled_pre_consumer_mg") != 0:
    fail("MAG-2 Fe %s" % fe)
if countries(fe, "extraction") != {"XU": 1400} or countries(fe, "processing") != {"XU": 1400}:
    fail("MAG-2 Fe countries %s" % fe)
if int(mag2["mass_mg"]) != 2500 or mag2["holder_facility_id"] != "JP-MAGNET" or mag2.get("in_transit"):
    fail("MAG-2 record %s" % mag2)
# REC-1: all pre-consumer, BR 60 + IN 120; consumed, its final record says 0 mg
rec1 = latest.get("REC-1") or fail("no record of REC-1")
if int(rec1.get("mass_mg", 0)) != 0 or rec1.get("elements"): fail("REC-1 final record %s" % rec1)
sw = el(latest["SWARF-1"], "Nd") if latest["SWARF-1"].get("elements") else None
if sw is not None: fail("SWARF-1 should be empty: %s" % latest["SWARF-1"])
mag1 = el(latest.get("MAG-1") or fail("no MAG-1"), "Nd")
if countries(mag1, "extraction") != {"BR": 200, "IN": 400} or n(mag1, "recycled_pre_consumer_mg"):
    fail("MAG-1 Nd %s" % mag1)
ox2 = el(latest.get("OX-M2") or fail("no OX-M2"), "Nd")
if countries(ox2, "extraction") != {"BR": 300, "IN": 600}: fail("OX-M2 Nd %s" % ox2)
# every record's lists sum to the element total
for b, r in latest.items():
    for e in r.get("elements", []):
        for what in ("extraction", "processing"):
            if sum(countries(e, what).values()) != n(e, "total_mg"): fail("%s %s %s does not sum" % (b, e["element"], what))
if "matches the journal" not in open(net + "/journal.txt").read(): fail("checkpoint does not match the journal")
print("ok: %d batches' provenance published; MAG-2 Nd 1000 mg, 160 pre-consumer, BR 333 + IN 667, refined in IN"
      % len(latest))
PY

# The passport of MAG-2 shows the same hand-computed figures, proven against the signed
# checkpoint: it verifies offline with the aggregator's public key alone, and an edited figure
# does not.
M=$MT_BIN/mintrace
"$M" passport MAG-2 -o "$NET/MAG-2.passport.json"
python3 - "$NET/MAG-2.passport.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
def fail(msg):
    print("FAIL: passport:", msg, json.dumps(p)[:2000]); sys.exit(1)
rc = {r["element"]: r for r in p["recycledContent"]}
if rc["Nd"]["recycledMaterial"] != "Neodymium" or rc["Nd"]["preConsumerShare"] != 16.0 or rc["Nd"]["postConsumerShare"] != 0:
    fail("Nd recycled content %s, want 16 %% pre-consumer (160 of 1000 mg)" % rc["Nd"])
if rc["Fe"]["preConsumerShare"] != 0: fail("Fe recycled %s" % rc["Fe"])
nd = [e for e in p["elements"] if e["element"] == "Nd"][0]
if {c["country"]: c["share_percent"] for c in nd["extraction"]} != {"BR": 33.3, "IN": 66.7}: fail("Nd origin %s" % nd)
if p["mass_kg"] != "0.002500" or p["batch_id"] != "MAG-2" or p["proof"]["kind"] != "state": fail("identity")
print("ok: passport of MAG-2: Nd 16 % pre-consumer recycled, mined BR 33.3 % / IN 66.7 %")
PY
"$M" verify-proof --key "$NET/keys/AGGREGATOR-1.pub" "$NET/MAG-2.passport.json" | tee "$NET/verify.out"
grep -q "passport shows exactly them" "$NET/verify.out"
sed 's/"preConsumerShare": 16.0/"preConsumerShare": 26.0/' "$NET/MAG-2.passport.json" >"$NET/forged.json"
cmp -s "$NET/MAG-2.passport.json" "$NET/forged.json" && { echo "FAIL: the forgery changed nothing" >&2; exit 1; }
if "$M" verify-proof --key "$NET/keys/AGGREGATOR-1.pub" "$NET/forged.json" >"$NET/forged.out"; then
    echo "FAIL: an edited passport verified" >&2; exit 1
fi
grep -q "NOT VERIFIED: the passport's \"recycledContent\"" "$NET/forged.out"
# the notary's key is not the aggregator's: the same passport does not verify against it
if "$M" verify-proof --key "$NET/keys/NOTARY-1.pub" "$NET/MAG-2.passport.json" >/dev/null; then
    echo "FAIL: verified with the wrong key" >&2; exit 1
fi
# an event proof: the second-generation MANUFACTURE (its id from the receipt), and entry 0 (the registry)
id=$(python3 -c 'import json,sys; print([json.loads(l)["event_id"] for l in open(sys.argv[1]) if "event_id" in l][0])' "$NET/$(cat "$NET/count").out")
"$M" prove "$id" -o "$NET/event.proof"
"$M" verify-proof --key "$NET/keys/AGGREGATOR-1.pub" "$NET/event.proof" | tee "$NET/verify-event.out"
grep -q "MANUFACTURE #.* of facility JP-MAGNET" "$NET/verify-event.out"
"$M" prove --index 0 | "$M" verify-proof --key "$NET/keys/AGGREGATOR-1.pub" /dev/stdin | grep -q "a registry version"
echo "ok: passport and event proofs verify offline; an edited passport and a wrong key do not"

