#!/usr/bin/env bash
# End to end on real Kafka: `mintrace simulate` builds a deterministic network (keys, registry)
# and 25 closed loops mine -> separation -> magnets -> recycler -> second-generation magnets
# across India, Brazil, Australia, China, Myanmar, Malaysia and Japan; every one of its events
# is accepted, and two simulations with one seed produce the same bytes.
set -euo pipefail
: "${MT_BIN:?}" "${MT_TMP:?}" "${MT_ROOT:?}" "${MINTRACE_BROKERS:?}"
export MINTRACE_TOPIC_PREFIX="sim$$." MINTRACE_NETWORK_ID=sim-e2e
NET=$MT_TMP/net
cd "$MT_ROOT"
# shellcheck source=deploy/pipeline.sh
. deploy/pipeline.sh

"$MT_BIN/mintrace" simulate --seed 42 --chains 25 --out "$NET" >/dev/null
export MINTRACE_REGISTRY_FILE=$NET/registry.bin MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
"$MT_BIN/mintrace" topics create --registry "$NET/registry.bin" >/dev/null
trap 'stop_services >/dev/null 2>&1 || true' EXIT
start_services 6000
"$MT_BIN/mintrace" simulate --seed 42 --chains 25 --emit | tee "$NET/emit.txt"
wait_services
"$MT_BIN/mintrace" journal >"$NET/journal.txt"
grep -q '^journal: 351 entries: 350 accepted, 0 rejected, 1 registry version$' "$NET/journal.txt" \
    || { echo "FAIL:"; tail -3 "$NET/journal.txt"; exit 1; }
grep -q 'matches the journal' "$NET/journal.txt" || { echo "FAIL: checkpoint"; tail -2 "$NET/journal.txt"; exit 1; }
rm -rf "$NET/again" && "$MT_BIN/mintrace" simulate --seed 42 --chains 25 --out "$NET/again" >/dev/null
cmp -s "$NET/registry.bin" "$NET/again/registry.bin" || { echo "FAIL: one seed, two registries"; exit 1; }
echo "ok: 350 simulated events accepted, checkpoint matches, deterministic"
