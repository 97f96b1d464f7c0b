# scenario.sh — the ledger scenario of tests/e2e/test_ledger.sh and test_interleavings.sh, sourced
# after deploy/pipeline.sh. A mine ships monazite to a refiner, who ships NdPr oxide to a magnet
# maker, whose swarf a recycler turns back into oxide: every event kind once at least, then one
# adversarial message per reason code that can arise end to end.
#
# Every event has an explicit time_ms (T0 + minutes), so its id is the same in every run that
# uses the same network id, facility and chain position. Every ledger-stage attack is built so
# that its code does not depend on how the facilities' streams interleave: it sits in the chain
# of one facility (sealed at the chain's head + 1, so that facility's later events still chain,
# and the ledger judges it in chain order even when the chain waits in the parking buffer) and
# names only batches whose state is settled by the time that chain can be judged.
#
# Needs: NET (keys), MT_BIN, MINTRACE_BROKERS, MINTRACE_TOPIC_PREFIX, MINTRACE_NETWORK_ID, and
#   T0          the base time of the events, Unix ms
#   STATE       emit's state folder (write-ahead files: one chain per key)
#   OUT         where the event files, emit's outputs, PLAN and EXPECTED are written
# Writes:
#   OUT/PLAN      what was submitted, in order: "emit FACILITY FILE" (FILE: JSON events; emit's
#                 output, one line per event, in FILE.out) or "raw FACILITY FILE" (one message)
#   OUT/EXPECTED  one line per expected verdict other than acceptance:
#                 "REJECT CODE FACILITY FILE" (FILE: the submitted bytes) or "DUPLICATE FACILITY FILE"
# The ids of the accepted events are the emit outputs OUT/*.json.out.

MINE=IN-IREL-CHAVARA REFINER=IN-IREL-OSCOM MAGNETS=IN-MAG-HYD RECYCLER=IN-REC-PUNE

# ledger_network NETWORK: the four facilities, the refiner with a second, revoked key
# (NET/keys/IN-IREL-OSCOM-old), and an unregistered key NET/keys/rogue; signed registry.
ledger_network() {
    local old
    old=$(new_key IN-IREL-OSCOM-old | sed 's/}$/,"revoked_at_ms":1000000000000}/') || return 1
    "$MT_BIN/mintrace" keygen "$NET/keys/rogue" >/dev/null || return 1
    make_registry "$1" \
        "$(facility "$MINE" MINE IN IN-KL 'IREL Chavara (Kerala) beach-sand monazite')" \
        "$(facility "$REFINER" REFINER IN IN-OR 'IREL OSCOM (Odisha) rare-earth separation' | sed "s|]}\$|,$old]}|")" \
        "$(facility "$MAGNETS" MAGNET_MAKER IN IN-TG 'Sintered NdFeB magnets (Telangana)')" \
        "$(facility "$RECYCLER" RECYCLER IN IN-MH 'Magnet recycling (Maharashtra)')"
}

t() { echo $((T0 + $1 * 60000)); }                              # t MINUTES: T0 + minutes
id() { sed -n "${1}p" "$2" | sed 's/.*"event_id_base64":"\([^"]*\)".*/\1/'; } # id N EMIT_OUT
sealed_id() { # sealed_id FILE: the base64 event id of a sealed envelope
    "$MT_BIN/mintrace" inspect --file "$1" -t mintrace.v1.Envelope |
        python3 -c 'import base64,json,sys; print(base64.b64encode(bytes.fromhex(json.load(sys.stdin)["event_id"])).decode())'
}

# submit_emit FACILITY NAME: emits OUT/NAME.json (stdin) with the facility's key; ids in OUT/NAME.json.out
submit_emit() {
    cat >"$OUT/$2.json"
    echo "emit $1 $OUT/$2.json" >>"$OUT/PLAN"
    "$MT_BIN/mintrace" emit -k "$NET/keys/$1" -f "$1" --state-dir "$STATE" "$OUT/$2.json" >"$OUT/$2.json.out"
}
# produce FACILITY FILE: the bytes of FILE as one message, keyed and partitioned as emit does
produce() {
    kcat -P -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -k "$1" \
        -X topic.partitioner=murmur2_random "$2"
}
# plan_messages <PLAN: how many messages the plan's lines submitted
plan_messages() {
    local n=0 how file
    while read -r how _ file; do
        if [ "$how" = emit ]; then n=$((n + $(wc -l <"$file.out"))); else n=$((n + 1)); fi
    done
    echo "$n"
}
submit_raw() { # submit_raw FACILITY FILE
    echo "raw $1 $2" >>"$OUT/PLAN"
    produce "$1" "$2"
}
# attack CODE FACILITY KEY NAME: seals the event on stdin (exactly as written) with NET/keys/KEY
# into OUT/NAME.bin, submits it, and expects CODE for FACILITY
attack() {
    cat >"$OUT/$4.event.json"
    "$MT_BIN/mintrace" seal -k "$NET/keys/$3" -o "$OUT/$4.bin" "$OUT/$4.event.json" || return 1
    echo "REJECT $1 $2 $OUT/$4.bin" >>"$OUT/EXPECTED"
    submit_raw "$2" "$OUT/$4.bin"
}
# chain_fields FACILITY SEQ PREV: the chain fields of a sealed event
chain_fields() { printf '"network_id":"%s","facility_id":"%s","seq":%s,"prev":"%s"' "$MINTRACE_NETWORK_ID" "$1" "$2" "$3"; }
# submitted_bytes FACILITY SEQ FILE: the envelope emit produced for FACILITY's SEQ, from events.submitted
submitted_bytes() {
    kcat -C -b "$MINTRACE_BROKERS" -t "${MINTRACE_TOPIC_PREFIX}events.submitted" -e -q -f '%k %S\n%s\n' |
        python3 -c '
import json, subprocess, sys
fac, seq, out, mt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = sys.stdin.buffer.read()
while data:
    head, data = data.split(b"\n", 1)
    key, size = head.rsplit(b" ", 1)
    value, data = data[:int(size)], data[int(size) + 1:]
    if key.decode() != fac: continue
    open(out, "wb").write(value)
    e = json.loads(subprocess.run([mt, "inspect", "--file", out, "-t", "mintrace.v1.Envelope"],
                                  capture_output=True, check=True).stdout)
    if e["payload_decoded"].get("seq") == seq: sys.exit(0)
sys.exit("no envelope of %s with seq %d on events.submitted" % (fac, seq))
' "$1" "$2" "$3" "$MT_BIN/mintrace"
}

# ---- the mine ------------------------------------------------------------------------------
scenario_mine() {
    local m=$OUT/mine.json.out
    submit_emit "$MINE" mine <<JSON
{"kind":"EXTRACT","time_ms":$(t 1),"site":{"country":"IN","region":"IN-KL"},
 "extract":{"deposit":"Chavara beach sands","licence":"KL-ML-2019-07","mineral":"monazite"},
 "documents":[{"kind":"assay","uri":"https://lab.example/assays/CHV-2026-118"}],
 "outputs":[{"batch_id":"CHV-MON-1","material":"monazite-concentrate","mass_mg":1000000000,
   "elements":[{"element":"Nd","mass_mg":95000000},{"element":"Pr","mass_mg":26000000}]}]}
{"kind":"SPLIT","time_ms":$(t 2),"site":{"country":"IN","region":"IN-KL"},
 "inputs":[{"batch_id":"CHV-MON-1","mass_mg":1000000000}],
 "outputs":[{"batch_id":"CHV-MON-1A","material":"monazite-concentrate","mass_mg":600000000,
   "elements":[{"element":"Nd","mass_mg":57000000},{"element":"Pr","mass_mg":15600000}]},
  {"batch_id":"CHV-MON-1B","material":"monazite-concentrate","mass_mg":400000000,
   "elements":[{"element":"Nd","mass_mg":38000000},{"element":"Pr","mass_mg":10400000}]}]}
{"kind":"TRANSFER","time_ms":$(t 3),"site":{"country":"IN","region":"IN-KL"},
 "inputs":[{"batch_id":"CHV-MON-1A","mass_mg":600000000}],
 "transfer":{"destination_facility_id":"$REFINER","carrier":"rail, consignment KL-OD-5521"}}
{"kind":"LOSS","time_ms":$(t 4),"site":{"country":"IN","region":"IN-KL"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":5000000}],"loss":{"reason":"spilled at the loading bay"}}
{"kind":"EXTRACT","time_ms":$(t 5),"site":{"country":"IN","region":"IN-KL"},
 "extract":{"deposit":"Chavara beach sands","licence":"KL-ML-2019-07","mineral":"monazite"},
 "outputs":[{"batch_id":"CHV-MON-2","material":"monazite-concentrate","mass_mg":200000000,
   "elements":[{"element":"Nd","mass_mg":19000000},{"element":"Pr","mass_mg":5200000}]}]}
JSON
    submit_emit "$MINE" mine-correction <<JSON
{"kind":"CORRECTION","time_ms":$(t 6),"site":{"country":"IN","region":"IN-KL"},
 "correction":{"corrected_event_id":"$(id 5 "$m")","reason":"weighbridge ticket keyed twice"}}
JSON
    local h6 h4 h2
    h6=$(id 1 "$OUT/mine-correction.json.out") h4=$(id 4 "$m") h2=$(id 2 "$m")

    # an exact resubmission of the first EXTRACT, and a copy with one byte changed
    submitted_bytes "$MINE" 1 "$OUT/mine-extract.bin"
    echo "DUPLICATE $MINE $OUT/mine-extract.bin" >>"$OUT/EXPECTED"
    submit_raw "$MINE" "$OUT/mine-extract.bin"
    python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); assert b.count(b"Chavara") == 1
open(sys.argv[2], "wb").write(b.replace(b"Chavara", b"Chavarb"))' "$OUT/mine-extract.bin" "$OUT/tampered.bin"
    echo "REJECT BAD_SIGNATURE $MINE $OUT/tampered.bin" >>"$OUT/EXPECTED"
    submit_raw "$MINE" "$OUT/tampered.bin"

    # ledger-stage attacks in the mine's chain (head: seq 6); each is rejected, so the head stays
    attack CHAIN_FORK "$MINE" "$MINE" fork <<JSON
{$(chain_fields "$MINE" 7 "$h4"),"kind":"LOSS","time_ms":$(t 7),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":1000000}]}
JSON
    attack CHAIN_EQUIVOCATION "$MINE" "$MINE" equivocation <<JSON
{$(chain_fields "$MINE" 3 "$h2"),"kind":"TRANSFER","time_ms":$(t 3),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":400000000}],"transfer":{"destination_facility_id":"$REFINER"}}
JSON
    attack OVERDRAWN "$MINE" "$MINE" overdrawn <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"LOSS","time_ms":$(t 7),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":396000000}]}
JSON
    attack CHAIN_BROKEN_BEFORE "$MINE" "$MINE" broken-before <<JSON
{$(chain_fields "$MINE" 8 "$(sealed_id "$OUT/overdrawn.bin")"),"kind":"LOSS","time_ms":$(t 8),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":1000000}]}
JSON
    attack UNKNOWN_INPUT "$MINE" "$MINE" unknown-input <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"LOSS","time_ms":$(t 7),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-9999","mass_mg":1000000}]}
JSON
    attack DUPLICATE_BATCH_ID "$MINE" "$MINE" duplicate-batch-id <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"EXTRACT","time_ms":$(t 7),"site":{"country":"IN"},
 "outputs":[{"batch_id":"CHV-MON-1","material":"monazite-concentrate","mass_mg":1000000}]}
JSON
    attack ELEMENT_NOT_CONSERVED "$MINE" "$MINE" element-not-conserved <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"SPLIT","time_ms":$(t 7),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":100000000}],
 "outputs":[{"batch_id":"CHV-MON-1C","material":"monazite-concentrate","mass_mg":100000000,
   "elements":[{"element":"Nd","mass_mg":50000000}]}]}
JSON
    attack TIME_BEFORE_INPUTS "$MINE" "$MINE" time-before-inputs <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"LOSS","time_ms":$(t -60),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":1000000}]}
JSON
    attack TIME_IN_FUTURE "$MINE" "$MINE" time-in-future <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"LOSS","time_ms":$(( $(date +%s) * 1000 + 86400000 )),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":1000000}]}
JSON
    attack INVALID_CORRECTION "$MINE" "$MINE" invalid-correction <<JSON
{$(chain_fields "$MINE" 7 "$h6"),"kind":"CORRECTION","time_ms":$(t 7),"site":{"country":"IN"},
 "correction":{"corrected_event_id":"$h2","reason":"the split's outputs were shipped and lost already"}}
JSON
}

# ---- the refiner ---------------------------------------------------------------------------
scenario_refiner() {
    local r=$OUT/refiner.json.out
    submit_emit "$REFINER" refiner <<JSON
{"kind":"RECEIVE","time_ms":$(t 10),"site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"CHV-MON-1A","mass_mg":599500000}],
 "receive":{"transfer_event_id":"$(id 3 "$OUT/mine.json.out")","origin_facility_id":"$MINE"}}
{"kind":"PROCESS","time_ms":$(t 11),"site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"CHV-MON-1A","mass_mg":500000000}],
 "outputs":[{"batch_id":"OSC-NDPR-1","material":"NdPr-oxide","mass_mg":80000000,
   "elements":[{"element":"Nd","mass_mg":46000000},{"element":"Pr","mass_mg":12500000},{"element":"O","mass_mg":20000000}]}]}
{"kind":"TRANSFER","time_ms":$(t 12),"site":{"country":"IN","region":"IN-OR"},
 "inputs":[{"batch_id":"OSC-NDPR-1","mass_mg":80000000}],
 "transfer":{"destination_facility_id":"$MAGNETS","carrier":"road"}}
JSON
    local h3
    h3=$(id 3 "$r")
    # validate-stage attacks; validate rejects them before the ledger sees them
    attack ROLE_NOT_ALLOWED "$REFINER" "$REFINER" role <<JSON
{$(chain_fields "$REFINER" 4 "$h3"),"kind":"EXTRACT","time_ms":$(t 13),"site":{"country":"IN"},
 "outputs":[{"batch_id":"OSC-FAKE-ORE-1","material":"monazite-concentrate","mass_mg":5000000000}]}
JSON
    attack WRONG_NETWORK "$REFINER" "$REFINER" wrong-network <<JSON
{"network_id":"another-network","facility_id":"$REFINER","seq":4,"prev":"$h3","kind":"LOSS","time_ms":$(t 13),
 "site":{"country":"IN"},"inputs":[{"batch_id":"CHV-MON-1A","mass_mg":1000000}]}
JSON
    attack MALFORMED_EVENT "$REFINER" "$REFINER" malformed <<JSON
{$(chain_fields "$REFINER" 4 "$h3"),"kind":"PROCESS","time_ms":$(t 13),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1A","mass_mg":1000000}],
 "outputs":[{"batch_id":"OSC-NDPR-2","material":"NdPr-oxide","mass_mg":0}]}
JSON
    attack KEY_REVOKED "$REFINER" "$REFINER-old" revoked <<JSON
{"network_id":"$MINTRACE_NETWORK_ID","facility_id":"$REFINER","seq":1,"kind":"LOSS","time_ms":$(t 13),
 "site":{"country":"IN"},"inputs":[{"batch_id":"CHV-MON-1A","mass_mg":1000000}]}
JSON
    attack KEY_FACILITY_MISMATCH "$REFINER" "$MINE" key-facility-mismatch <<JSON
{"network_id":"$MINTRACE_NETWORK_ID","facility_id":"$REFINER","seq":1,"kind":"LOSS","time_ms":$(t 13),
 "site":{"country":"IN"},"inputs":[{"batch_id":"CHV-MON-1A","mass_mg":1000000}]}
JSON
    attack UNKNOWN_KEY "$REFINER" rogue unknown-key <<JSON
{"network_id":"$MINTRACE_NETWORK_ID","facility_id":"$REFINER","seq":1,"kind":"LOSS","time_ms":$(t 13),
 "site":{"country":"IN"},"inputs":[{"batch_id":"CHV-MON-1A","mass_mg":1000000}]}
JSON
}

# ---- the magnet maker ----------------------------------------------------------------------
scenario_magnets() {
    submit_emit "$MAGNETS" magnets <<JSON
{"kind":"RECEIVE","time_ms":$(t 20),"site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"OSC-NDPR-1","mass_mg":80000000}],
 "receive":{"transfer_event_id":"$(id 3 "$OUT/refiner.json.out")","origin_facility_id":"$REFINER"}}
{"kind":"MANUFACTURE","time_ms":$(t 21),"site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"OSC-NDPR-1","mass_mg":80000000}],
 "untracked_inputs":[
   {"material":"electrolytic-iron","mass_mg":160000000,"elements":[{"element":"Fe","mass_mg":160000000}],
    "supplier":"Steel Authority of India","document":{"kind":"invoice","uri":"https://erp.example/inv/SAIL-88231"}},
   {"material":"ferroboron","mass_mg":10000000,"elements":[{"element":"Fe","mass_mg":8000000},{"element":"B","mass_mg":2000000}],
    "supplier":"FeB Ltd"}],
 "outputs":[
   {"batch_id":"MAG-N52-1","material":"sintered-NdFeB-magnet","mass_mg":150000000,
    "elements":[{"element":"Nd","mass_mg":27000000},{"element":"Pr","mass_mg":7300000},{"element":"Fe","mass_mg":100000000},{"element":"B","mass_mg":1200000}]},
   {"batch_id":"MAG-N48-1","material":"sintered-NdFeB-magnet","mass_mg":90000000,
    "elements":[{"element":"Nd","mass_mg":16000000},{"element":"Pr","mass_mg":4400000},{"element":"Fe","mass_mg":60000000},{"element":"B","mass_mg":700000}]},
   {"batch_id":"MAG-SWARF-1","material":"magnet-grinding-swarf","mass_mg":10000000,
    "elements":[{"element":"Nd","mass_mg":2000000},{"element":"Pr","mass_mg":500000},{"element":"Fe","mass_mg":5000000},{"element":"B","mass_mg":100000}]}]}
{"kind":"TRANSFER","time_ms":$(t 22),"site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"MAG-SWARF-1","mass_mg":10000000}],
 "transfer":{"destination_facility_id":"$RECYCLER","carrier":"road"}}
{"kind":"EXIT","time_ms":$(t 23),"site":{"country":"IN","region":"IN-TG"},
 "inputs":[{"batch_id":"MAG-N52-1","mass_mg":150000000}],
 "exit":{"product":"EV traction motors","buyer":"an Indian two-wheeler maker"}}
JSON
}

# ---- the recycler --------------------------------------------------------------------------
scenario_recycler() {
    submit_emit "$RECYCLER" recycler <<JSON
{"kind":"RECEIVE","time_ms":$(t 30),"site":{"country":"IN","region":"IN-MH"},
 "inputs":[{"batch_id":"MAG-SWARF-1","mass_mg":10000000}],
 "receive":{"transfer_event_id":"$(id 3 "$OUT/magnets.json.out")","origin_facility_id":"$MAGNETS"}}
{"kind":"RECYCLE","time_ms":$(t 31),"site":{"country":"IN","region":"IN-MH"},
 "inputs":[{"batch_id":"MAG-SWARF-1","mass_mg":10000000}],"recycle":{"feedstock":"TRACKED"},
 "outputs":[{"batch_id":"REC-NDPR-1","material":"NdPr-oxide","mass_mg":2400000,"recycled_class":"PRE_CONSUMER",
   "elements":[{"element":"Nd","mass_mg":1900000},{"element":"Pr","mass_mg":450000}]}]}
{"kind":"RECYCLE","time_ms":$(t 32),"site":{"country":"IN","region":"IN-MH"},
 "recycle":{"feedstock":"UNTRACKED_POST_CONSUMER","untracked_feedstock_mass_mg":60000000,
   "untracked_feedstock":[{"element":"Nd","mass_mg":15000000},{"element":"Pr","mass_mg":4000000}],
   "evidence":[{"kind":"evidence","uri":"https://collect.example/eol-hdd-motors/2026-10"}]},
 "outputs":[{"batch_id":"REC-NDPR-2","material":"NdPr-oxide","mass_mg":16000000,"recycled_class":"POST_CONSUMER",
   "elements":[{"element":"Nd","mass_mg":11000000},{"element":"Pr","mass_mg":3000000}]}]}
{"kind":"MERGE","time_ms":$(t 33),"site":{"country":"IN","region":"IN-MH"},
 "inputs":[{"batch_id":"REC-NDPR-1","mass_mg":2400000},{"batch_id":"REC-NDPR-2","mass_mg":16000000}],
 "outputs":[{"batch_id":"REC-NDPR-3","material":"NdPr-oxide","mass_mg":18400000,
   "elements":[{"element":"Nd","mass_mg":12900000},{"element":"Pr","mass_mg":3450000}]}]}
{"kind":"TRANSFER","time_ms":$(t 34),"site":{"country":"IN","region":"IN-MH"},
 "inputs":[{"batch_id":"REC-NDPR-3","mass_mg":18400000}],
 "transfer":{"destination_facility_id":"$MAGNETS","carrier":"road"}}
JSON
    local h5
    h5=$(id 5 "$OUT/recycler.json.out")
    # REC-NDPR-3 stays in transit (the magnet maker never receives it); CHV-MON-1B stays at the
    # mine, which made it before it shipped what this chain depends on
    attack IN_TRANSIT "$RECYCLER" "$RECYCLER" in-transit <<JSON
{$(chain_fields "$RECYCLER" 6 "$h5"),"kind":"LOSS","time_ms":$(t 35),"site":{"country":"IN"},
 "inputs":[{"batch_id":"REC-NDPR-3","mass_mg":1000000}]}
JSON
    attack NOT_CUSTODIAN "$RECYCLER" "$RECYCLER" not-custodian <<JSON
{$(chain_fields "$RECYCLER" 6 "$h5"),"kind":"LOSS","time_ms":$(t 35),"site":{"country":"IN"},
 "inputs":[{"batch_id":"CHV-MON-1B","mass_mg":1000000}]}
JSON
}

# scenario_garbage: bytes that are no envelope at all
scenario_garbage() {
    printf 'not an envelope' >"$OUT/garbage.bin"
    echo "REJECT UNDECODABLE_ENVELOPE - $OUT/garbage.bin" >>"$OUT/EXPECTED"
    submit_raw nobody "$OUT/garbage.bin"
}

# ledger_scenario: all of it, the facilities in chain order
ledger_scenario() {
    : >"$OUT/PLAN"
    : >"$OUT/EXPECTED"
    scenario_mine && scenario_refiner && scenario_magnets && scenario_recycler && scenario_garbage
}
