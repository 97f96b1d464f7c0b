#!/usr/bin/env bash
# End to end on real Kafka: `mintrace simulate` builds a deterministic network (keys, registry)
# and 34 closed loops mine -> separation -> magnets -> recycler -> second-generation magnets
# across India, Brazil, Australia, China, Myanmar, Malaysia and Japan, with cross-border transit
# losses, corrections, magnets that come back ten years later as end-of-life scrap, and an
# attack in every loop (every reason code a producer's event can meet, in turn). The journal's
# tally must be exactly what the simulation announced, code by code; two simulations with one
# seed produce the same registry and the same announcement.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="sim$$." MINTRACE_NETWORK_ID=sim-e2e
NET=$MT_TMP/net
mkdir -p "$NET"
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

SIM=(--seed 42 --chains 34 --returns 50 --corrections 10 --adversarial 100)
PARK_AGE=150   # CHAIN_GAP and PARK_EXPIRED are decided once this many entries went by
"$MT_BIN/mintrace" simulate "${SIM[@]}" --out "$NET" >"$NET/plan.txt"
tail=$(sed -n 's/.*--park-max-age below \([0-9]*\).*/\1/p' "$NET/plan.txt")
[ "${tail:-0}" -gt "$PARK_AGE" ] || { echo "FAIL: the stream after the parked attacks is too short:"; cat "$NET/plan.txt"; exit 1; }
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
AGGREGATE_ARGS="--park-max-age $PARK_AGE" start_services 6000
"$MT_BIN/mintrace" simulate "${SIM[@]}" --emit >"$NET/emit.txt"
cat "$NET/emit.txt"
wait_services
"$MT_BIN/mintrace" journal >"$NET/journal.txt"

# submitted = accepted + rejected (by reason) + duplicates, exactly as announced
submitted=$(sed -n 's/^simulated .*: \([0-9]*\) events.*/\1/p' "$NET/emit.txt")
expect=$(sed -n 's/^expect: //p' "$NET/emit.txt")
want="journal: $((submitted + 1)) entries: $expect, 1 registry version"
got=$(grep '^journal: ' "$NET/journal.txt")
[ "$got" = "$want" ] || { printf 'FAIL: the journal does not reconcile\n want: %s\n  got: %s\n' "$want" "$got"; exit 1; }
for code in UNDECODABLE_ENVELOPE WRONG_PAYLOAD_TYPE UNDECODABLE_PAYLOAD MISSING_SIGNATURE UNKNOWN_KEY BAD_SIGNATURE \
    KEY_FACILITY_MISMATCH KEY_REVOKED KEY_NOT_VALID WRONG_NETWORK MALFORMED_EVENT ROLE_NOT_ALLOWED CHAIN_GAP CHAIN_FORK \
    CHAIN_EQUIVOCATION CHAIN_BROKEN_BEFORE UNKNOWN_INPUT NOT_CUSTODIAN IN_TRANSIT OVERDRAWN DUPLICATE_BATCH_ID \
    PARK_EXPIRED ELEMENT_NOT_CONSERVED TIME_BEFORE_INPUTS TIME_IN_FUTURE INVALID_CORRECTION CREDIT_OVERDRAWN \
    ALLOCATION_EXCEEDS_OUTPUT MASS_BALANCE_WRONG_KEY BALANCE_MISMATCH NOT_UNDER_MASS_BALANCE; do
    grep -Eq "(\(|, )$code [0-9]" <<<"$got" || { echo "FAIL: no $code in: $got"; exit 1; }
done
grep -q ' duplicates\?,' <<<"$got" || { echo "FAIL: no duplicate in: $got"; exit 1; }
grep -q 'matches the journal' "$NET/journal.txt" || { echo "FAIL: checkpoint"; tail -2 "$NET/journal.txt"; exit 1; }

# a magnet made of returned end-of-life magnets is 100 % post-consumer recycled
mag3=$(grep -o '[A-Z-]*-MAG3-[0-9]*' "$NET/journal.txt" | head -1)
[ -n "$mag3" ] || { echo "FAIL: no magnets from returned scrap in the journal"; exit 1; }
"$MT_BIN/mintrace" provenance "$mag3" >"$NET/mag3.txt"
grep -q 'Nd .*recycled 100.0 % (pre-consumer 0.0 %, post-consumer 100.0 %)' "$NET/mag3.txt" \
    || { echo "FAIL: $mag3 is not post-consumer:"; cat "$NET/mag3.txt"; exit 1; }
# ... and it was mined where the EXITed lot's ore was: real mines' countries, never XR (the
# return is tracked: RecycleDetail.returns names the EXITed lot)
nd=$(grep -E '^  Nd ' "$NET/mag3.txt")
mined=$(sed -n 's/.*;  mined in \([^;]*\).*/\1/p' <<<"$nd")
[ -n "$mined" ] || { echo "FAIL: $mag3 has no mining countries:"; cat "$NET/mag3.txt"; exit 1; }
others=$(sed -E 's/(AU|BR|CN|IN|MM) [0-9]+\.[0-9] %(, )?//g' <<<"$mined")
[ -z "$others" ] || { echo "FAIL: $mag3 mined in '$mined' (not only mines' countries):"; cat "$NET/mag3.txt"; exit 1; }

rm -rf "$NET/again" && "$MT_BIN/mintrace" simulate "${SIM[@]}" --out "$NET/again" >"$NET/again.txt"
cmp -s "$NET/registry.bin" "$NET/again/registry.bin" || { echo "FAIL: one seed, two registries"; exit 1; }
cmp -s "$NET/plan.txt" "$NET/again.txt" || { echo "FAIL: one seed, two announcements"; exit 1; }
echo "ok: $submitted simulated events reconcile with the journal code by code ($expect); $mag3 is post-consumer, mined in $mined; deterministic"

# the auditor, replaying this history independently (attacks, corrections, returns, mass
# balance, parking), finds nothing: every rejection re-judged is a rejection, every figure and
# checkpoint recomputed is the published one
"$MT_BIN/mintrace" audit >"$NET/audit.txt" 2>&1 || { echo "FAIL: the audit of the simulated history:"; cat "$NET/audit.txt"; exit 1; }
grep -q '^verified: ' "$NET/audit.txt" || { echo "FAIL: audit:"; cat "$NET/audit.txt"; exit 1; }
echo "ok: $(grep '^verified: ' "$NET/audit.txt")"
