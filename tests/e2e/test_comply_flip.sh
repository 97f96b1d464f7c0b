#!/usr/bin/env bash
# End to end on real Kafka: a batch that fails a rule and later passes it gets a PASS finding
# under the same key, so the compacted findings topic ends with the PASS. A recycler recovers
# Nd 1 mg (pre-consumer) from untracked scrap with a reagent holding Nd 2 mg: REC-T holds Nd 3,
# 1 recycled = 333,333 ppm, below the rule's 400,000: FAIL. A LOSS of a third of REC-T takes
# Nd 1 mg, which R1 cuts from the not-recycled cell (remainder 2 > 1, docs/accounting.md): Nd 2,
# 1 recycled = 500,000 ppm: PASS.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="flip$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

make_registry flip-e2e "$(facility IN-RECYCLER RECYCLER IN IN-MH 'a recycler')"
cat >"$NET/policy.json" <<'EOF'
{"policy_id": "flip", "description": "a boundary a loss crosses",
 "rules": [{"id": "nd-recycled-40pct", "kind": "recycled_share", "severity": "error", "description": "Nd >= 40 % recycled",
            "materials": ["Nd-oxide"], "elements": ["Nd"], "class": "pre_consumer", "min_ppm": 400000}]}
EOF
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
COMPLY_POLICY=$NET/policy.json start_services 6000

ev() { # ev JSON: one event of the recycler, which must be accepted
    if ! echo "$1" | emit IN-RECYCLER --wait 60 >"$NET/ev.out" 2>&1 ||
        ! grep -q '"status":"RECEIPT_STATUS_ACCEPTED"' "$NET/ev.out"; then
        echo "FAIL: event not accepted:"
        cat "$NET/ev.out"
        exit 1
    fi
}
ev '{"kind":"RECYCLE","site":{"country":"IN"},
     "recycle":{"feedstock":"UNTRACKED_PRE_CONSUMER","untracked_feedstock":[{"element":"Nd","mass_mg":1}],"untracked_feedstock_mass_mg":100},
     "untracked_inputs":[{"material":"reagent","mass_mg":200,"elements":[{"element":"Nd","mass_mg":2}],"supplier":"a supplier"}],
     "outputs":[{"batch_id":"REC-T","material":"Nd-oxide","mass_mg":300,"elements":[{"element":"Nd","mass_mg":3}],"recycled_class":"PRE_CONSUMER"}]}'
ev '{"kind":"LOSS","site":{"country":"IN"},"inputs":[{"batch_id":"REC-T","mass_mg":100}],"loss":{"reason":"spill"}}'
wait_services

"$MT_BIN/mintrace" inspect provenance -e >"$NET/provenance.jsonl"
"$MT_BIN/mintrace" inspect findings -e >"$NET/findings.jsonl"
python3 - "$NET" <<'PY'
import json, sys
net = sys.argv[1]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
recs = [json.loads(l)["value"] for l in open(net + "/provenance.jsonl")]
nd = [[e for e in r["elements"] if e["element"] == "Nd"][0] for r in recs if r["batch_id"] == "REC-T"]
figures = [(int(e["total_mg"]), int(e.get("recycled_pre_consumer_mg", 0))) for e in nd]
if figures != [(3, 1), (2, 1)]: fail("REC-T's Nd records %s, expected [(3, 1), (2, 1)]" % figures)
got = [json.loads(l) for l in open(net + "/findings.jsonl")]
seq = [(m["key"], m["value"]["status"], int(m["value"].get("measured_mg", 0)), int(m["value"]["basis_mg"]),
        int(m["value"].get("measured_ppm", 0))) for m in got]
want = [("REC-T#nd-recycled-40pct", "FINDING_STATUS_FAIL", 1, 3, 333333),
        ("REC-T#nd-recycled-40pct", "FINDING_STATUS_PASS", 1, 2, 500000)]
if seq != want: fail("findings %s, expected %s" % (seq, want))
if int(got[1]["value"]["ledger_index"]) <= int(got[0]["value"].get("ledger_index", 0)):
    fail("the PASS does not name a later ledger index: %s" % got)
print("ok: REC-T failed (1 of 3 mg Nd recycled), then passed (1 of 2) under the same key")
PY
