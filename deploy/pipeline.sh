# pipeline.sh — shell functions that set up a mintrace network and run its services; sourced by
# deploy/demo.sh and the end-to-end tests, so both run the pipeline the same way.
# Needs: MT_BIN (the programs), MINTRACE_BROKERS, and a working folder NET (keys, registry, logs).

# new_key NAME: NET/keys/NAME (0600) and NAME.pub; prints the FacilityKey JSON.
new_key() {
    mkdir -p "$NET/keys"
    "$MT_BIN/mintrace" keygen "$NET/keys/$1"
}

# facility ID ROLE COUNTRY REGION NAME: a registry entry with a fresh key NET/keys/ID.
facility() {
    local key
    key=$(new_key "$1") || return 1
    printf '{"facility_id":"%s","version":1,"role":"%s","site":{"country":"%s","region":"%s","name":"%s"},"name":"%s","keys":[%s]}' \
        "$1" "$2" "$3" "$4" "$5" "$5" "$key"
}

# make_registry NETWORK FACILITY_JSON...: a governance key, the notary, the facilities given,
# signed into NET/registry.bin; exports what every service needs to find it.
make_registry() {
    local network=$1; shift
    new_key governance >/dev/null || return 1
    local notary aggregator entries
    notary=$(facility NOTARY-1 NOTARY IN IN-DL "mintrace notary") || return 1
    aggregator=$(facility AGGREGATOR-1 AGGREGATOR IN IN-DL "mintrace aggregator") || return 1
    entries=$(IFS=,; echo "$*")
    printf '{"network_id":"%s","version":1,"facilities":[%s,%s,%s]}\n' "$network" "$notary" "$aggregator" "$entries" \
        >"$NET/registry.json"
    "$MT_BIN/mintrace" registry sign -k "$NET/keys/governance" -o "$NET/registry.bin" "$NET/registry.json" || return 1
    export MINTRACE_NETWORK_ID=$network MINTRACE_REGISTRY_FILE=$NET/registry.bin \
        MINTRACE_GOVERNANCE_KEY=$NET/keys/governance.pub
}

declare -gA SERVICE_NAME=() # pid -> service, for messages

# start_services IDLE_MS: validate, sign, aggregate and comply in the background, logs in
# NET/*.log; they exit by themselves after IDLE_MS without input. Waits until all four are
# assigned. AGGREGATE_ARGS (optional) adds options to the aggregator (e.g. "--park-max-age 3");
# COMPLY_POLICY is comply's policy file (default deploy/policies/ndfeb-india.json, from the
# repository root).
start_services() {
    local idle=$1 s
    SERVICE_PIDS=()
    # the registry goes on its topic first: the aggregator journals it before any event
    "$MT_BIN/mintrace" registry publish -g "$MINTRACE_GOVERNANCE_KEY" "$MINTRACE_REGISTRY_FILE" || return 1
    "$MT_BIN/mintrace-validate" --idle-exit "$idle" >"$NET/validate.log" 2>&1 &
    SERVICE_PIDS+=($!) SERVICE_NAME[$!]=validate
    "$MT_BIN/mintrace-sign" -k "$NET/keys/NOTARY-1" --idle-exit "$idle" >"$NET/sign.log" 2>&1 &
    SERVICE_PIDS+=($!) SERVICE_NAME[$!]=sign
    local extra=()
    read -ra extra <<<"${AGGREGATE_ARGS:-}"
    "$MT_BIN/mintrace-aggregate" -k "$NET/keys/AGGREGATOR-1" --idle-exit "$idle" "${extra[@]}" >"$NET/aggregate.log" 2>&1 &
    SERVICE_PIDS+=($!) SERVICE_NAME[$!]=aggregate
    "$MT_BIN/mintrace-comply" -p "${COMPLY_POLICY:-deploy/policies/ndfeb-india.json}" --idle-exit "$idle" \
        >"$NET/comply.log" 2>&1 &
    SERVICE_PIDS+=($!) SERVICE_NAME[$!]=comply
    for _ in $(seq 1 120); do
        local ready=0
        for s in validate sign aggregate comply; do grep -q "assigned" "$NET/$s.log" 2>/dev/null && ready=$((ready + 1)); done
        [ "$ready" -eq 4 ] && return 0
        for pid in "${SERVICE_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || { tail -5 "$NET"/*.log >&2; return 1; }; done
        sleep 0.5
    done
    echo "pipeline.sh: services not assigned after 60 s" >&2
    return 1
}

# wait_log SERVICE TEXT: waits (up to 60 s) until NET/SERVICE.log has a line with TEXT.
wait_log() {
    local end=$((SECONDS + 60))
    until grep -qF -- "$2" "$NET/$1.log" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || { echo "pipeline.sh: $1 did not log '$2' in 60 s" >&2; return 1; }
        sleep 0.2
    done
}

# wait_services: waits for the services to exit by themselves; fails, naming it, if one failed.
wait_services() {
    local rc=0 pid s
    for pid in "${SERVICE_PIDS[@]}"; do
        wait "$pid" && continue
        s=$?
        rc=1
        echo "pipeline.sh: ${SERVICE_NAME[$pid]:-service $pid} failed: exit status $s (logs in $NET)" >&2
    done
    return $rc
}

# stop_services: asks them to stop (SIGTERM: they commit or abort and exit). A service that has
# already exited by itself (its --idle-exit) is not an error: wait_services reports its status.
stop_services() {
    local pid
    for pid in "${SERVICE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait_services
}

# emit FACILITY [FILE...]: signs and emits JSON events as FACILITY with its key.
emit() {
    local f=$1; shift
    "$MT_BIN/mintrace" emit -k "$NET/keys/$f" -f "$f" --state-dir "$NET/state" "$@"
}
