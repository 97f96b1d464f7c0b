#!/usr/bin/env bash
# End to end on real Kafka: a registry change reaches every service in order. Version 2 revokes
# the mine's key and gives it a new one; once it is published, validate refuses the old key
# (KEY_REVOKED), the new key's events are accepted (judged with version 2, which the notary
# attests and the aggregator journals before them), and the journal holds both versions.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="reg$$."
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

make_registry reg-e2e "$(facility IN-MINE-1 MINE IN IN-KL 'a mine')"
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 8000

ore() { echo "{\"kind\":\"EXTRACT\",\"site\":{\"country\":\"IN\"},\"outputs\":[{\"batch_id\":\"$1\",\"material\":\"monazite\",\"mass_mg\":1000}]}"; }
ore ORE-1 | emit IN-MINE-1 --wait 60 | grep -q RECEIPT_STATUS_ACCEPTED || { echo "FAIL: first event"; exit 1; }

# version 2: the old key revoked from now on, a new key added; signed and published
new_key=$(new_key IN-MINE-1-new)
python3 - "$NET/registry.json" "$NET/registry-v2.json" "$new_key" "$(( $(date +%s) * 1000 ))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["version"] = 2
for f in r["facilities"]:
    if f["facility_id"] == "IN-MINE-1":
        f["version"] = 2
        f["keys"][0]["revoked_at_ms"] = int(sys.argv[4])
        f["keys"].append(json.loads(sys.argv[3]))
json.dump(r, open(sys.argv[2], "w"))
PY
"$MT_BIN/mintrace" registry sign -k "$NET/keys/governance" -o "$NET/registry-v2.bin" "$NET/registry-v2.json"
"$MT_BIN/mintrace" registry publish -g "$NET/keys/governance.pub" "$NET/registry-v2.bin"
# in force at validate and the notary, journaled by the aggregator: before the next event
wait_log validate "registry version 2 in force"
wait_log sign "registry version 2 in force"
wait_log aggregate "registry version 2 journaled"

rc=0; ore ORE-2 | emit IN-MINE-1 --wait 60 >"$NET/old.out" 2>/dev/null || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q REASON_CODE_KEY_REVOKED "$NET/old.out"; then
    echo "FAIL: old key not refused:"; cat "$NET/old.out"; exit 1
fi
"$MT_BIN/mintrace" emit -k "$NET/keys/IN-MINE-1-new" -f IN-MINE-1 --state-dir "$NET/state" --wait 60 <<<"$(ore ORE-3)" \
    | grep -q RECEIPT_STATUS_ACCEPTED || { echo "FAIL: new key not accepted"; exit 1; }

wait_services
"$MT_BIN/mintrace" journal >"$NET/journal.txt"
if ! grep -q 'registry  version 2 of reg-e2e' "$NET/journal.txt" ||
    ! grep -q 'journal: 5 entries: 2 accepted, 1 rejected (KEY_REVOKED 1), 2 registry versions' "$NET/journal.txt"; then
    echo "FAIL: journal:"; cat "$NET/journal.txt"; exit 1
fi
echo "ok: registry version 2 revoked the old key everywhere and the new key's event was accepted"
# the auditor judges each event with the version in force at its place in the journal: the
# rotation audits clean, and the newest checkpoint names version 2
"$MT_BIN/mintrace" audit --json "$NET/audit.json" >"$NET/audit.txt" 2>&1 || { echo "FAIL: audit:"; cat "$NET/audit.txt"; exit 1; }
grep -q '^verified: 2 events, checkpoint root [0-9a-f]\{64\} at tree size 5$' "$NET/audit.txt" \
    || { echo "FAIL: audit:"; cat "$NET/audit.txt"; exit 1; }
"$MT_BIN/mintrace" inspect checkpoints -e | tail -1 | grep -q '"registry_version":2[,}]' \
    || { echo "FAIL: the newest checkpoint does not name registry version 2"; "$MT_BIN/mintrace" inspect checkpoints -e | tail -1; exit 1; }
echo "ok: the rotation audits clean; the newest checkpoint names registry version 2"
