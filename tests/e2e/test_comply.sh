#!/usr/bin/env bash
# End to end on real Kafka: mintrace-comply judges the simulated chain (12 closed loops) by a
# policy that some lots fail and others pass, and its findings are exactly the ones computed
# here, independently in Python, from the provenance records and the journal read back with
# `mintrace inspect`: per finding key, the same verdicts in the same order, each once. A policy
# with an error never starts (exit 2, file and line), and a restarted comply writes nothing again.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="comply$$." MINTRACE_NETWORK_ID=comply-e2e
NET=$MT_TMP/net
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh
mkdir -p "$NET"

# the magnets of the first generation have no recycled Nd+Pr, the second are all recycled;
# loops through Baotou are refined in China; the iron and boron are bought outside; the
# simulator attaches no documents
cat >"$NET/policy.json" <<'EOF'
{"policy_id": "e2e", "description": "comply end to end",
 "rules": [
  {"id": "ndpr-recycled-10pct", "kind": "recycled_share", "severity": "error", "description": "Nd+Pr >= 10 % recycled",
   "materials": ["sintered-NdFeB-magnet"], "elements": ["Nd", "Pr"], "class": "any", "min_ppm": 100000},
  {"id": "ndpr-not-refined-cn", "kind": "country_share", "severity": "error", "description": "no Nd+Pr refined in CN",
   "materials": ["sintered-NdFeB-magnet", "NdPr-oxide"], "elements": ["Nd", "Pr"], "stage": "processed",
   "countries": ["CN"], "max_ppm": 0},
  {"id": "dy-mined-mm", "kind": "country_share", "severity": "warning", "description": "Dy mined in MM at most 5 %",
   "materials": ["NdPr-oxide", "concentrate"], "elements": ["Dy"], "stage": "mined", "countries": ["MM"], "max_ppm": 50000},
  {"id": "ndpr-traced", "kind": "chain_complete", "severity": "error", "description": "Nd+Pr all traced",
   "materials": ["sintered-NdFeB-magnet"], "elements": ["Nd", "Pr"], "max_ppm": 0},
  {"id": "all-traced", "kind": "chain_complete", "severity": "info", "description": "every element traced",
   "materials": ["sintered-NdFeB-magnet"], "max_ppm": 0},
  {"id": "extract-documents", "kind": "documents", "severity": "warning", "description": "due diligence on extraction",
   "materials": ["sintered-NdFeB-magnet", "magnet-grinding-swarf"], "event_kinds": ["EXTRACT"],
   "documents": ["due-diligence-report", "certificate"], "require": "any"}
 ]}
EOF

# a policy error: no start, exit 2, file and line
printf '{"policy_id": "bad", "description": "d",\n "rules": [\n  {"id": "r", "kind": "recycled_share", "severity": "error", "description": "d",\n   "elements": ["Nd"], "class": "any", "min_ppm": 0}]}\n' >"$NET/bad.json"
rc=0
"$MT_BIN/mintrace-comply" -p "$NET/bad.json" --idle-exit 1000 >"$NET/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: a bad policy exits $rc, not 2"; cat "$NET/bad.log"; exit 1; }
grep -q "$NET/bad.json:4: rules\[0\] \"r\": min_ppm" "$NET/bad.log" \
    || { echo "FAIL: the policy error names no file and line"; cat "$NET/bad.log"; exit 1; }
grep -q "assigned" "$NET/bad.log" && { echo "FAIL: started with a bad policy"; exit 1; }

"$MT_BIN/mintrace" simulate --seed 7 --chains 12 --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
COMPLY_POLICY=$NET/policy.json start_services 6000
"$MT_BIN/mintrace" simulate --seed 7 --chains 12 --emit >"$NET/emit.txt"
wait_services
grep -q "stopped: " "$NET/comply.log" || { echo "FAIL: comply did not stop cleanly"; tail "$NET/comply.log"; exit 1; }

"$MT_BIN/mintrace" inspect provenance -e >"$NET/provenance.jsonl"
"$MT_BIN/mintrace" inspect ledger -e >"$NET/ledger.jsonl"
"$MT_BIN/mintrace" inspect findings -e >"$NET/findings.jsonl"

# restarted on the same input: its committed offsets say everything was judged already
"$MT_BIN/mintrace-comply" -p "$NET/policy.json" --idle-exit 4000 >"$NET/comply2.log" 2>&1 \
    || { echo "FAIL: comply restart"; tail "$NET/comply2.log"; exit 1; }
grep -q "stopped: 0 PASS and 0 FAIL findings written" "$NET/comply2.log" \
    || { echo "FAIL: a restarted comply wrote findings again"; tail -3 "$NET/comply2.log"; exit 1; }
grep -q "documents state rebuilt from [1-9]" "$NET/comply2.log" \
    || { echo "FAIL: the restart did not rebuild its documents state"; tail -3 "$NET/comply2.log"; exit 1; }
"$MT_BIN/mintrace" inspect findings -e >"$NET/findings2.jsonl"
# (partitions interleave in any order: compare the sets of messages)
cmp -s <(sort "$NET/findings.jsonl") <(sort "$NET/findings2.jsonl") \
    || { echo "FAIL: findings changed after the restart"; exit 1; }

# the verdicts computed independently in Python (tests/interop/policy_eval.py, shared with the
# interop consumer) from the records and the journal's events, decoded there from the wire format
PYTHONPATH=$MT_ROOT/tests/interop python3 -B - "$NET" <<'PY'
import base64, json, sys
from collections import Counter, defaultdict
import policy_eval
net = sys.argv[1]
def fail(msg):
    print("FAIL:", msg); sys.exit(1)
policy = policy_eval.load_policy(net + "/policy.json")
def lines(name):
    return [json.loads(l) for l in open(net + "/" + name)]

records = [m["value"] for m in lines("provenance.jsonl")]
events = [policy_eval.event_from_envelope(int(e.get("index", 0)), base64.b64decode(e["event"]["envelope"]))
          for e in (m["value"] for m in lines("ledger.jsonl")) if "event" in e]
# expected verdicts, per finding key, in order: (status, measured, basis, ledger index)
expected = {k: [(v.status, v.measured_mg, v.basis_mg, v.ledger_index) for v in vs]
            for k, vs in policy_eval.expected_findings(policy, records, events).items()}

got = defaultdict(list)
n = 0
for msg in lines("findings.jsonl"):
    f = msg["value"]; n += 1
    key = f["batch_id"] + "#" + f["rule_id"]
    if msg["key"] != key: fail("finding key %s for %s" % (msg["key"], key))
    if f["policy_id"] != "e2e": fail("policy id " + f["policy_id"])
    got[key].append((f["status"].replace("FINDING_STATUS_", ""), int(f.get("measured_mg", 0)),
                     int(f.get("basis_mg", 0)), int(f.get("ledger_index", 0))))
if got != expected:
    for k in sorted(set(got) | set(expected)):
        if got.get(k) != expected.get(k):
            print("  %s: got %s, expected %s" % (k, got.get(k), expected.get(k)))
    fail("the findings differ from the ones computed from the records and the journal")

latest = {k: v[-1][0] for k, v in got.items()}
per_rule = Counter((k.split("#")[1], s) for k, s in latest.items())
for rid in ("ndpr-recycled-10pct", "ndpr-not-refined-cn"):
    if not per_rule[(rid, "PASS")] or not per_rule[(rid, "FAIL")]:
        fail("%s: expected lots that pass and lots that fail, got %s" % (rid, dict(per_rule)))
print("ok: %d provenance records -> %d findings on %d keys, exactly as computed; latest: %s" % (
    len(records), n, len(got), ", ".join("%s %s %d" % (r, s, c) for (r, s), c in sorted(per_rule.items()))))
PY
echo "ok: a bad policy never starts (file:line), a restart writes nothing twice"
