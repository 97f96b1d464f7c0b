#!/usr/bin/env bash
# demo.sh — a rare-earth supply chain end to end: monazite from Kerala and from Rio de Janeiro's
# beach sands, separated into NdPr oxide in Odisha, made into sintered NdFeB magnets in
# Telangana, whose swarf and end-of-life magnets a recycler in Maharashtra turns back into
# oxide for a second generation of magnets. Plus three attacks (a tampered byte, a refinery
# pretending to mine, a stolen-looking key) and a producer's retry. Runs on the broker in
# MINTRACE_BROKERS when set (topics under a prefix of this run), else on a real Kafka broker it
# starts when Java is there, else on the embedded one (mintrace-devkafka). `make demo` runs it;
# everything it writes is under build/demo/ (or MINTRACE_DEMO_DIR; emptied first); it ends with a
# short summary.
# tests/e2e/test_demo.sh runs it on the test broker and checks that summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export MT_BIN=${MT_BIN:-$root/build/bin}
NET=${MINTRACE_DEMO_DIR:-$root/build/demo}
here=${NET#"$root"/} # as shown in messages
rm -rf "$NET"
mkdir -p "$NET"
. deploy/pipeline.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# ---- a broker ----------------------------------------------------------------------------
broker_pid=
cleanup() {
    [ ${#SERVICE_PIDS[@]} -gt 0 ] 2>/dev/null && stop_services >/dev/null 2>&1
    if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; fi
    [ -d "$NET/kafka" ] && tests/kafka/kafka.sh stop "$NET/kafka" >/dev/null 2>&1
    true
}
SERVICE_PIDS=()
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "${MINTRACE_BROKERS:-}" ]; then
    # a broker that is already running: topics of this run only, under a prefix of their own
    export MINTRACE_TOPIC_PREFIX=${MINTRACE_TOPIC_PREFIX:-demo$(date +%s).}
    say "using the Kafka broker at $MINTRACE_BROKERS (topics ${MINTRACE_TOPIC_PREFIX}*)"
    real_kafka=1
elif [ -z "${MINTRACE_DEMO_EMBEDDED:-}" ] && command -v java >/dev/null && command -v mvn >/dev/null; then
    say "starting Apache Kafka (KRaft, one node) from the Maven Central jars"
    tests/kafka/kafka.sh fetch
    MINTRACE_BROKERS=$(tests/kafka/kafka.sh start "$NET/kafka")
    export MINTRACE_BROKERS
    real_kafka=1
else
    say "starting the embedded broker (librdkafka's mock cluster; see docs/devkafka.md)"
    "$MT_BIN/mintrace-devkafka" --bootstrap-file "$NET/bootstrap" >"$NET/devkafka.log" 2>&1 &
    broker_pid=$!
    for _ in $(seq 1 50); do [ -s "$NET/bootstrap" ] && break; sleep 0.1; done
    MINTRACE_BROKERS=$(cat "$NET/bootstrap")
    export MINTRACE_BROKERS
fi
echo "brokers: $MINTRACE_BROKERS"

# ---- the network ---------------------------------------------------------------------------
say "registry: facilities, roles and keys, signed by the governance key"
make_registry mintrace-demo \
    "$(facility IN-IREL-CHAVARA MINE IN IN-KL 'IREL Chavara (Kerala) beach-sand monazite')" \
    "$(facility BR-INB-BUENA MINE BR BR-RJ 'INB Buena (Rio de Janeiro) monazite')" \
    "$(facility IN-IREL-OSCOM REFINER IN IN-OR 'IREL OSCOM (Odisha) rare-earth separation')" \
    "$(facility IN-MAG-HYD MAGNET_MAKER IN IN-TG 'Sintered NdFeB magnets (Telangana)')" \
    "$(facility IN-REC-PUNE RECYCLER IN IN-MH 'Magnet recycling (Maharashtra)')"
cat <<'EOF'
  IN-IREL-CHAVARA  mine           IN  Kerala          beach-sand monazite
  BR-INB-BUENA     mine           BR  Rio de Janeiro  beach-sand monazite
  IN-IREL-OSCOM    refiner        IN  Odisha          rare-earth separation
  IN-MAG-HYD       magnet maker   IN  Telangana       sintered NdFeB magnets
  IN-REC-PUNE      recycler       IN  Maharashtra     swarf and end-of-life magnets
  NOTARY-1         notary (mintrace-sign's key)
EOF

# the topics, and on a real broker a receipts topic per facility (ACLs keep them apart)
[ -n "${real_kafka:-}" ] && "$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null

say "services: validate (facility signatures) -> sign (notary) -> aggregate (journal) -> comply (findings)"
start_services 6000
echo "running; logs in $here/*.log"

# id N FILE: the base64 event id of the N-th event emitted into FILE's output
id() { sed -n "${1}p" "$2" | sed 's/.*"event_id_base64":"\([^"]*\)".*/\1/'; }
step() { printf '  %-16s %s\n' "$1" "$2"; }

say "mines extract monazite and ship it to the separation plant"
emit IN-IREL-CHAVARA >"$NET/chavara.out" <<'JSON'
{"kind":"EXTRACT","site":{"country":"IN","region":"IN-KL"},
 "extract":{"deposit":"Chavara beach sands","licence":"KL-ML-2019-07","mineral":"monazite"},
 "documents":[{"kind":"assay","uri":"https://lab.example/assays/CHV-2026-118"}],
 "outputs":[{"batch_id":"CHV-MON-2026-118","material":"monazite-concentrate","mass_mg":1000000000,
   "elements":[{"element":"Nd","mass_mg":95000000},{"element":"Pr","mass_mg":26000000}]}]}
{"kind":"TRANSFER","site":{"country":"IN","region":"IN-KL"},
 "inputs":[{"batch_id":"CHV-MON-2026-118","mass_mg":1000000000}],
 "transfer":{"destination_facility_id":"IN-IREL-OSCOM","carrier":"rail, consignment KL-OD-5521"}}
JSON
step IN-IREL-CHAVARA "EXTRACT 1000 kg monazite, TRANSFER to IN-IREL-OSCOM"
emit BR-INB-BUENA >"$NET/buena.out" <<'JSON'
{"kind":"EXTRACT","site":{"country":"BR","region":"BR-RJ"},
 "extract":{"deposit":"Buena beach sands","licence":"ANM-830.441/2021","mineral":"monazite"},
 "outputs":[{"batch_id":"BUE-MON-2026-031","material":"monazite-concentrate","mass_mg":600000000,
   "elements":[{"element":"Nd","mass_mg":57000000},{"element":"Pr","mass_mg":15600000}]}]}
{"kind":"TRANSFER","site":{"country":"BR","region":"BR-RJ"},
 "inputs":[{"batch_id":"BUE-MON-2026-031","mass_mg":600000000}],
 "transfer":{"destination_facility_id":"IN-IREL-OSCOM","carrier":"sea, B/L RIO-VTZ-20260914"}}
JSON
step BR-INB-BUENA "EXTRACT 600 kg monazite, TRANSFER to IN-IREL-OSCOM (by sea)"

say "the separation plant receives both lots and produces NdPr oxide"
emit IN-IREL-OSCOM >"$NET/oscom.out" <<JSON
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-OR"},"inputs":[{"batch_id":"CHV-MON-2026-118","mass_mg":999500000}],
 "receive":{"transfer_event_id":"$(id 2 "$NET/chavara.out")","origin_facility_id":"IN-IREL-CHAVARA"}}
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-OR"},"inputs":[{"batch_id":"BUE-MON-2026-031","mass_mg":598800000}],
 "receive":{"transfer_event_id":"$(id 2 "$NET/buena.out")","origin_facility_id":"BR-INB-BUENA"}}
{"kind":"PROCESS","site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"CHV-MON-2026-118","mass_mg":999500000},{"batch_id":"BUE-MON-2026-031","mass_mg":598800000}],
 "outputs":[{"batch_id":"OSC-NDPR-2026-077","material":"NdPr-oxide","mass_mg":170000000,
   "elements":[{"element":"Nd","mass_mg":120000000},{"element":"Pr","mass_mg":33000000}]}]}
{"kind":"TRANSFER","site":{"country":"IN","region":"IN-OR"},"inputs":[{"batch_id":"OSC-NDPR-2026-077","mass_mg":170000000}],
 "transfer":{"destination_facility_id":"IN-MAG-HYD","carrier":"road"}}
JSON
step IN-IREL-OSCOM "RECEIVE 999.5 kg + 598.8 kg (transit losses), PROCESS -> 170 kg NdPr oxide, TRANSFER"

say "the magnet maker alloys it with iron and boron and sinters magnets"
emit IN-MAG-HYD >"$NET/mag.out" <<JSON
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-TG"},"inputs":[{"batch_id":"OSC-NDPR-2026-077","mass_mg":170000000}],
 "receive":{"transfer_event_id":"$(id 4 "$NET/oscom.out")","origin_facility_id":"IN-IREL-OSCOM"}}
{"kind":"MANUFACTURE","site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"OSC-NDPR-2026-077","mass_mg":130000000}],
 "untracked_inputs":[
   {"material":"electrolytic-iron","mass_mg":260000000,"elements":[{"element":"Fe","mass_mg":260000000}],"supplier":"Steel Authority of India",
    "document":{"kind":"invoice","uri":"https://erp.example/inv/SAIL-88231"}},
   {"material":"ferroboron","mass_mg":25000000,"elements":[{"element":"Fe","mass_mg":20000000},{"element":"B","mass_mg":5000000}],"supplier":"FeB Ltd"}],
 "outputs":[
   {"batch_id":"MAG-N52-2026-0412","material":"sintered-NdFeB-magnet","mass_mg":298000000,
    "elements":[{"element":"Nd","mass_mg":70000000},{"element":"Pr","mass_mg":19300000},{"element":"Fe","mass_mg":205000000},{"element":"B","mass_mg":3000000}]},
   {"batch_id":"MAG-N45-2026-0414","material":"sintered-NdFeB-magnet","mass_mg":64000000,
    "elements":[{"element":"Nd","mass_mg":15000000},{"element":"Pr","mass_mg":4100000},{"element":"Fe","mass_mg":44000000},{"element":"B","mass_mg":640000}]},
   {"batch_id":"MAG-SWARF-2026-0412","material":"magnet-grinding-swarf","mass_mg":40000000,
    "elements":[{"element":"Nd","mass_mg":6000000},{"element":"Pr","mass_mg":1700000},{"element":"Fe","mass_mg":26000000},{"element":"B","mass_mg":400000}]}]}
{"kind":"TRANSFER","site":{"country":"IN","region":"IN-TG"},"inputs":[{"batch_id":"MAG-SWARF-2026-0412","mass_mg":40000000}],
 "transfer":{"destination_facility_id":"IN-REC-PUNE","carrier":"road"}}
{"kind":"EXIT","site":{"country":"IN","region":"IN-TG"},"inputs":[{"batch_id":"MAG-N52-2026-0412","mass_mg":298000000}],
 "exit":{"product":"EV traction motors","buyer":"an Indian two-wheeler maker"}}
JSON
step IN-MAG-HYD "RECEIVE 170 kg oxide; MANUFACTURE from 130 kg of it: 298 kg N52 magnets, 64 kg N45 magnets, 40 kg swarf"
step "" "swarf to the recycler, the N52 magnets EXIT into EV motors, the N45 lot stays in stock"

say "the recycler turns swarf and collected end-of-life magnets back into oxide"
emit IN-REC-PUNE >"$NET/rec.out" <<JSON
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-MH"},"inputs":[{"batch_id":"MAG-SWARF-2026-0412","mass_mg":40000000}],
 "receive":{"transfer_event_id":"$(id 3 "$NET/mag.out")","origin_facility_id":"IN-MAG-HYD"}}
{"kind":"RECYCLE","site":{"country":"IN","region":"IN-MH"},"inputs":[{"batch_id":"MAG-SWARF-2026-0412","mass_mg":40000000}],
 "recycle":{"feedstock":"TRACKED"},
 "outputs":[{"batch_id":"REC-NDPR-2026-019","material":"NdPr-oxide","mass_mg":8500000,"recycled_class":"PRE_CONSUMER",
   "elements":[{"element":"Nd","mass_mg":5700000},{"element":"Pr","mass_mg":1600000}]}]}
{"kind":"RECYCLE","site":{"country":"IN","region":"IN-MH"},
 "recycle":{"feedstock":"TRACKED","returns":[{"batch_id":"MAG-N52-2026-0412","mass_mg":120000000}],
   "evidence":[{"kind":"evidence","uri":"https://collect.example/eol-ev-motors/2036-10"}]},
 "outputs":[{"batch_id":"REC-NDPR-2026-020","material":"NdPr-oxide","mass_mg":40000000,"recycled_class":"POST_CONSUMER",
   "elements":[{"element":"Nd","mass_mg":27000000},{"element":"Pr","mass_mg":7500000}]}]}
{"kind":"MERGE","site":{"country":"IN","region":"IN-MH"},
 "inputs":[{"batch_id":"REC-NDPR-2026-019","mass_mg":8500000},{"batch_id":"REC-NDPR-2026-020","mass_mg":40000000}],
 "outputs":[{"batch_id":"REC-NDPR-2026-021","material":"NdPr-oxide","mass_mg":48500000,
   "elements":[{"element":"Nd","mass_mg":32700000},{"element":"Pr","mass_mg":9100000}]}]}
{"kind":"TRANSFER","site":{"country":"IN","region":"IN-MH"},"inputs":[{"batch_id":"REC-NDPR-2026-021","mass_mg":48500000}],
 "transfer":{"destination_facility_id":"IN-MAG-HYD","carrier":"road"}}
JSON
step IN-REC-PUNE "RECEIVE swarf, RECYCLE swarf (pre-consumer) and 120 kg of the N52 magnets back from scrapped EV motors (post-consumer, a tracked return: the demo compresses ten years into seconds), MERGE, TRANSFER"

say "second-generation magnets from recovered oxide and the rest of the virgin oxide"
emit IN-MAG-HYD --wait 60 >"$NET/mag2.out" <<JSON
{"kind":"RECEIVE","site":{"country":"IN","region":"IN-TG"},"inputs":[{"batch_id":"REC-NDPR-2026-021","mass_mg":48500000}],
 "receive":{"transfer_event_id":"$(id 5 "$NET/rec.out")","origin_facility_id":"IN-REC-PUNE"}}
{"kind":"MANUFACTURE","site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"REC-NDPR-2026-021","mass_mg":48500000},{"batch_id":"OSC-NDPR-2026-077","mass_mg":40000000}],
 "untracked_inputs":[{"material":"electrolytic-iron","mass_mg":165000000,"elements":[{"element":"Fe","mass_mg":165000000}],"supplier":"Steel Authority of India"},
   {"material":"ferroboron","mass_mg":15000000,"elements":[{"element":"Fe","mass_mg":12000000},{"element":"B","mass_mg":3000000}],"supplier":"FeB Ltd"}],
 "outputs":[{"batch_id":"MAG-N48-2026-0533","material":"sintered-NdFeB-magnet","mass_mg":245000000,
   "elements":[{"element":"Nd","mass_mg":57000000},{"element":"Pr","mass_mg":16000000},{"element":"Fe","mass_mg":169000000},{"element":"B","mass_mg":2450000}]}]}
JSON
step IN-MAG-HYD "RECEIVE 48.5 kg recovered oxide, MANUFACTURE it with 40 kg virgin oxide into 245 kg N48 magnets"
step "" "(emitted with --wait: the aggregator's signed receipts came back)"
grep -o '"status":"[A-Z_]*","ledger_index":[0-9]*' "$NET/mag2.out" | sed 's/^/                   /' || true

say "three attacks and a retry"
# 1. one byte of a signed event changed in flight ("Chavara" -> "Chavarb"), produced raw; the
#    signed bytes are taken from the journal's copy of Chavara's EXTRACT once it is there
rogue=$NET/keys/rogue
"$MT_BIN/mintrace" keygen "$rogue" >/dev/null
env_b64=
for _ in $(seq 1 60); do
    env_b64=$("$MT_BIN/mintrace" inspect ledger -e 2>/dev/null | grep '"facility_id":"IN-IREL-CHAVARA"' \
              | grep -m1 '"kind":"EVENT_KIND_EXTRACT"' | grep -o '"envelope":"[^"]*"' | head -1 | cut -d'"' -f4) || true
    [ -n "$env_b64" ] && break
    sleep 0.5
done
[ -n "$env_b64" ] || { echo "demo: Chavara's EXTRACT never reached the journal; see $here/*.log" >&2; exit 1; }
echo "$env_b64" | base64 -d | sed 's/Chavara/Chavarb/' >"$NET/tampered.bin"
kcat -P -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX:-mintrace.}events.submitted" -k IN-IREL-CHAVARA "$NET/tampered.bin"
step "tampered" "one byte of IN-IREL-CHAVARA's signed EXTRACT changed and replayed"
# 1b. the same EXTRACT again, byte for byte: a producer's retry, journaled as a duplicate
echo "$env_b64" | base64 -d >"$NET/resent.bin"
kcat -P -X topic.partitioner=murmur2_random -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX:-mintrace.}events.submitted" \
    -k IN-IREL-CHAVARA "$NET/resent.bin"
step "retry" "IN-IREL-CHAVARA's EXTRACT sent again unchanged: a duplicate, applied once"
# 2. a refinery claims to have mined something
echo '{"kind":"EXTRACT","site":{"country":"IN","region":"IN-OR"},"outputs":[{"batch_id":"OSC-FAKE-ORE-1","material":"monazite-concentrate","mass_mg":5000000000}]}' \
    | emit IN-IREL-OSCOM >/dev/null
step "wrong role" "IN-IREL-OSCOM (a refiner) emits an EXTRACT"
# 3. a key the registry never heard of signs as the Chavara mine
echo '{"kind":"EXTRACT","site":{"country":"IN","region":"IN-KL"},"outputs":[{"batch_id":"CHV-GHOST-1","material":"monazite-concentrate","mass_mg":9000000000}]}' \
    | "$MT_BIN/mintrace" emit -k "$rogue" -f IN-IREL-CHAVARA --state-dir "$NET/state" >/dev/null
step "unknown key" "an unregistered key signs an EXTRACT as IN-IREL-CHAVARA"

say "waiting for the services to drain (they stop after 6 s without input)"
wait_services
SERVICE_PIDS=()

say "the journal (mintrace journal)"
"$MT_BIN/mintrace" journal | tee "$NET/journal.txt"

say "recycled content and origin of the magnet lots in stock (mintrace provenance)"
"$MT_BIN/mintrace" provenance MAG-N45-2026-0414 MAG-N48-2026-0533 | tee "$NET/provenance.txt"

say "where the second-generation magnets came from (mintrace lineage)"
"$MT_BIN/mintrace" lineage --dot "$NET/lineage-MAG-N48-2026-0533.dot" MAG-N48-2026-0533 | tee "$NET/lineage.txt"

say "their findings by deploy/policies/ndfeb-india.json (mintrace-comply, latest per rule; docs/compliance.md)"
"$MT_BIN/mintrace" inspect findings -e \
    | sed -n 's/.*"key":"\([^"]*\)".*"status":"FINDING_STATUS_\([A-Z]*\)".*"detail":"\([^"]*\)".*/  \2  \1: \3/p' \
    | awk 'index($2, "MAG-N48-2026-0533#") == 1 { last[$2] = $0 } END { for (k in last) print last[k] }' | sort -k2

say "what the magnet maker holds now (mintrace inventory IN-MAG-HYD)"
"$MT_BIN/mintrace" inventory IN-MAG-HYD

say "the auditor replays every topic from offset 0 and re-derives everything (mintrace audit)"
"$MT_BIN/mintrace" audit --html "$NET/audit.html" --json "$NET/audit.json" 2>/dev/null | tee "$NET/audit.txt" || true

say "a passport for MAG-N48-2026-0533, checked offline with the aggregator's public key alone"
"$MT_BIN/mintrace" passport MAG-N48-2026-0533 -o "$NET/passport-MAG-N48-2026-0533.json"
"$MT_BIN/mintrace" verify-proof --key "$NET/keys/AGGREGATOR-1.pub" "$NET/passport-MAG-N48-2026-0533.json" || true

say "an attacker with write access adds one milligram to a journaled event (in a copy of the topics)"
prefix=${MINTRACE_TOPIC_PREFIX:-mintrace.}
tampered=${prefix%.}-tampered.
if "$MT_BIN/mintrace" x-tamper --from "$prefix" "$tampered:alter-payload:12" >"$NET/tamper.txt" 2>"$NET/tamper.err"; then
    sed -n 's/^tamper: /  what the attacker did: /p' "$NET/tamper.txt"
    "$MT_BIN/mintrace" audit --topic-prefix "$tampered" --json "$NET/audit-tampered.json" 2>/dev/null \
        | tee "$NET/audit-tampered.txt" | head -8 || true
else
    echo "  (could not copy the topics: $(tail -1 "$NET/tamper.err"))"
fi

say "what this demo shows"
cat <<EOF
  Every accepted event carries the facility's signature and the notary's attestation (check
  them: mintrace inspect ledger -e --registry $here/registry.bin -g $here/keys/governance.pub);
  every rejection keeps the original bytes. The ledger checked chains, custody, transit,
  balances and element conservation (docs/ledger.md); producers got signed receipts with
  Merkle inclusion proofs; checkpoints commit to the journal and to the provenance state;
  every batch's recycled content and origin per element is on the provenance topic
  (docs/accounting.md), and mintrace-comply judges every batch by a policy
  (docs/compliance.md). The auditor re-derived all of it from the topics alone and named the
  one milligram an attacker added (docs/auditing.md); a passport's figures verify offline
  (docs/proofs.md). The audit report for a compliance officer: $here/audit.html.
EOF

# ---- the summary: what the journal and the provenance topic say, in a few lines -------------
tally=$(grep '^journal: ' "$NET/journal.txt")
entries=$(sed -n 's/^journal: \([0-9]*\) entries.*/\1/p' <<<"$tally")
registry=$(sed -n 's/.*, \([0-9]*\) registry version.*/\1/p' <<<"$tally")
accepted=$(sed -n 's/.*entries: \([0-9]*\) accepted.*/\1/p' <<<"$tally")
rejected=$(sed -n 's/.* \([0-9]*\) rejected.*/\1/p' <<<"$tally")
reasons=$(sed -n 's/.* rejected (\([^)]*\)).*/\1/p' <<<"$tally")
duplicates=$(sed -n 's/.*, \([0-9]*\) duplicates\{0,1\}.*/\1/p' <<<"$tally")
picture=$(sed -n 's/^lineage \(picture\|graph\): \([^ ]*\).*/\2/p' "$NET/lineage.txt")
say "summary"
dup=duplicates
[ "${duplicates:-0}" = 1 ] && dup=duplicate
printf '  events     %s submitted = %s accepted + %s rejected + %s %s   (%s)\n' \
    "$((entries - ${registry:-0}))" "${accepted:-0}" "${rejected:-0}" "${duplicates:-0}" "$dup" "$here/journal.txt"
printf '  rejected   %s\n' "${reasons:-none}"
echo "  magnet lots, neodymium (the provenance topic; $here/provenance.txt has every element):"
awk '/^[A-Z]/ { lot = $1 } /^  Nd / { sub(/^  Nd +/, ""); gsub(/;  /, "\n" sprintf("%26s", "")); printf "    %-18s Nd %s\n", lot, $0 }' \
    "$NET/provenance.txt"
printf '  audit      %s\n' "$(grep -m1 '^verified: ' "$NET/audit.txt" || echo "NOT verified: see $here/audit.txt")"
printf '  tampered   %s\n' "$(grep -m1 -E '^ *(1\.|[A-Z_]+ )' "$NET/audit-tampered.txt" 2>/dev/null | sed 's/^ *//' || echo 'not run')"
case $picture in
*.svg) printf '  lineage    %s\n' "${picture#"$root"/}" ;;
?*) printf '  lineage    %s (Graphviz DOT; dot -Tsvg renders it)\n' "${picture#"$root"/}" ;;
*) echo "  lineage    not written" ;;
esac
