#!/usr/bin/env bash
# kafka.sh — a real Apache Kafka broker (KRaft, jars from Maven Central, the machine's Java 17)
# on 127.0.0.1 for mintrace's integration/e2e tests and the demo. No Docker, no Kafka install.
#
#   kafka.sh fetch                  copy the broker's jars into $KAFKA_LIBS (once per pom.xml)
#   kafka.sh start DIR [--nodes N]  start N=1 or 3 combined broker+controller nodes, data in DIR;
#                                   prints the bootstrap list (also in DIR/bootstrap) once ready
#   kafka.sh stop DIR               stop every node of DIR (TERM, then KILL); idempotent
#   kafka.sh status DIR             one line per node; exit 0 only if all are running
#
# start on a DIR that already holds a cluster restarts its stopped nodes with the same ports and
# data (--nodes is then ignored). Environment: KAFKA_LIBS (default <repo>/build/kafka/libs),
# KAFKA_HEAP (default "-Xmx1g -Xms256m": one test run creates a few thousand partitions, and a
# 512 MB heap ran out under the metadata of several runs sharing one broker), KAFKA_OPTS (more JVM flags), KAFKA_START_TIMEOUT
# (seconds, default 90). Settings, versions and timings: docs/kafka.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
pom=$here/pom.xml
KAFKA_LIBS=${KAFKA_LIBS:-$root/build/kafka/libs}
KAFKA_HEAP=${KAFKA_HEAP:--Xmx1g -Xms256m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

die() { echo "kafka.sh: $*" >&2; exit 1; }
usage() { sed -n '5,9s/^# //p' "$0" >&2; exit 2; }

# ---- fetch ---------------------------------------------------------------------------------
fetch() {
    local stamp=$KAFKA_LIBS/.pom.sha256 want
    want=$(sha256sum "$pom" | cut -d' ' -f1)
    [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    mkdir -p "$(dirname "$KAFKA_LIBS")"
    (   # one fetch at a time, e.g. under make -j
        flock 9
        [[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0
        echo "kafka.sh: fetching Kafka jars into $KAFKA_LIBS" >&2
        rm -rf "$KAFKA_LIBS"
        mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$KAFKA_LIBS" >"$KAFKA_LIBS.log" 2>&1 \
            || { cat "$KAFKA_LIBS.log" >&2; die "mvn dependency:copy-dependencies failed"; }
        echo "$want" >"$stamp"
    ) 9>"$KAFKA_LIBS.lock"
}

# ---- helpers -------------------------------------------------------------------------------
# exec_java NODEDIR MAINCLASS ARGS...: the JVM line every node and tool shares. It execs, so
# call it in a subshell or with &; the JVM then has the pid in $!.
exec_java() {
    local node=$1; shift
    # Kafka's own GC flags, plus C1 only (TieredStopAtLevel=1): 3 JVMs on 2 cores start in
    # 10 s instead of 14 s, with no loss of throughput in tests (docs/kafka.md).
    # shellcheck disable=SC2086  # KAFKA_HEAP and KAFKA_OPTS are lists of JVM flags
    exec java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        ${KAFKA_OPTS:-} \
        -Dlog4j2.configurationFile="$node/../log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"
}

# N free TCP ports on 127.0.0.1, below Linux's ephemeral range so that no client socket takes
# one between this probe and the broker's bind.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
want, got, held = int(sys.argv[1]), [], []
while len(got) < want:
    port = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    got.append(port)
print(" ".join(map(str, got)))
EOF
}

# A Kafka Uuid: 16 random bytes, URL-safe base64 without padding, never starting with '-'.
kafka_uuid() {
    python3 -c 'import base64, os
while True:
    u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not u.startswith("-"):
        print(u); break'
}

nodes_of() { local d; for d in "$1"/node[0-9]*; do [[ -f $d/server.properties ]] && echo "$d"; done; }

# The pid in NODE/pid, if that process is still this node's broker.
node_pid() {
    local pid
    pid=$(cat "$1/pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" \
        | grep -qF "kafka.Kafka $1/server.properties" && echo "$pid"
}

write_config() {   # write_config DIR N: server.properties per node, log4j2 config, formatted data
    local dir=$1 n=$2 k rf isr cid voters="" initial="" bootstrap=""
    local -a port dirid
    ((n == 1 || n == 3)) || die "--nodes must be 1 or 3"
    rf=$n; isr=$((n == 1 ? 1 : 2))
    read -ra port <<<"$(free_ports $((2 * n)))"   # node k: broker port[2k-2], controller port[2k-1]
    cid=$(kafka_uuid)
    for ((k = 1; k <= n; k++)); do
        dirid[k]=$(kafka_uuid)
        voters+="${voters:+,}127.0.0.1:${port[2*k-1]}"
        initial+="${initial:+,}$k@127.0.0.1:${port[2*k-1]}:${dirid[k]}"
        bootstrap+="${bootstrap:+,}127.0.0.1:${port[2*k-2]}"
    done
    mkdir -p "$dir"
    cat >"$dir/log4j2.properties" <<'EOF'
status = warn
# no log4j shutdown hook: it would race Kafka's own and cut the shutdown out of broker.log
shutdownHook = disable
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
    for ((k = 1; k <= n; k++)); do
        mkdir -p "$dir/node$k/data"
        cat >"$dir/node$k/server.properties" <<EOF
# Written by tests/kafka/kafka.sh; see docs/kafka.md.
process.roles=broker,controller
node.id=$k
controller.quorum.bootstrap.servers=$voters
listeners=PLAINTEXT://127.0.0.1:${port[2*k-2]},CONTROLLER://127.0.0.1:${port[2*k-1]}
advertised.listeners=PLAINTEXT://127.0.0.1:${port[2*k-2]},CONTROLLER://127.0.0.1:${port[2*k-1]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/node$k/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
share.coordinator.state.topic.num.partitions=1
EOF
    done
    # Format the nodes (one JVM each, in parallel): the 1-node cluster is its own quorum; the
    # 3-node one starts from a fixed voter set with each voter's metadata-directory id.
    local -a fmt
    for ((k = 1; k <= n; k++)); do
        if ((n == 1)); then fmt=(--standalone); else fmt=(--initial-controllers "$initial"); fi
        exec_java "$dir/node$k" kafka.tools.StorageTool format -t "$cid" \
            -c "$dir/node$k/server.properties" "${fmt[@]}" >"$dir/node$k/format.log" 2>&1 &
    done
    for ((k = 1; k <= n; k++)); do
        wait -n || { tail -n 3 "$dir"/node*/format.log >&2; die "formatting $dir failed"; }
    done
    echo "$bootstrap" >"$dir/bootstrap"
}

# Ready = (1) metadata lists every broker; (2) a transactional producer can init, begin and
# commit, which creates __transaction_state and waits for its leaders; (3) a group's committed
# offsets can be read, which creates __consumer_offsets (send_offsets_to_transaction needs it).
ready() {
    local bs=$1 n=$2 first=${1%%,*} brokers
    (: <"/dev/tcp/${first%:*}/${first##*:}") 2>/dev/null || return 1   # cheap until it listens
    brokers=$(kcat -L -b "$bs" -m 1 -t __none 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:$/\1/p')
    [[ $brokers == "$n" ]] || return 1
    kcat -P -b "$bs" -t __none -m 10 -X transactional.id=kafka.sh-ready </dev/null >/dev/null 2>&1 \
        || return 1
    kcat -C -b "$bs" -t __transaction_state -p 0 -o stored -e -q -m 10 -X group.id=kafka.sh-ready \
        -X fetch.wait.max.ms=10 -X fetch.error.backoff.ms=10 >/dev/null 2>&1
}

# ---- start / stop / status -----------------------------------------------------------------
start() {
    local dir="" n=1 node bs deadline
    while (($#)); do
        case $1 in
            --nodes) n=${2:-}; shift 2 || usage ;;
            --nodes=*) n=${1#*=}; shift ;;
            -*) usage ;;
            *) [[ -z $dir ]] || usage; dir=$1; shift ;;
        esac
    done
    [[ -n $dir ]] || usage
    command -v java >/dev/null || die "java not found (Kafka 4 needs Java 17+)"
    command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
    fetch
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    if [[ -z $(nodes_of "$dir") ]]; then write_config "$dir" "$n"; fi
    n=$(nodes_of "$dir" | wc -l)
    for node in $(nodes_of "$dir"); do
        node_pid "$node" >/dev/null && continue
        # like nohup: the broker ignores SIGHUP and outlives this script and its terminal
        (trap '' HUP; exec_java "$node" kafka.Kafka "$node/server.properties") \
            </dev/null >>"$node/broker.log" 2>&1 &
        echo $! >"$node/pid"
    done
    bs=$(cat "$dir/bootstrap")
    deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    until ready "$bs" "$n"; do
        for node in $(nodes_of "$dir"); do
            kill -0 "$(cat "$node/pid")" 2>/dev/null && continue
            echo "kafka.sh: $node exited during start-up; tail of its broker.log:" >&2
            tail -n 40 "$node/broker.log" >&2; stop "$dir"; exit 1
        done
        if ((SECONDS >= deadline)); then
            echo "kafka.sh: not ready after ${KAFKA_START_TIMEOUT}s ($bs)" >&2
            for node in $(nodes_of "$dir"); do
                echo "--- tail of $node/broker.log" >&2; tail -n 20 "$node/broker.log" >&2
            done
            stop "$dir"; exit 1
        fi
        sleep 0.2
    done
    echo "$bs"
}

stop() {
    local dir=$1 node pid left t
    [[ -d $dir ]] || return 0
    dir=$(cd "$dir" && pwd)
    # TERM every node at once. A 3-node stop takes ~6 s: the Raft leader waits up to 5 s to resign.
    for node in $(nodes_of "$dir"); do
        if pid=$(node_pid "$node"); then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for ((t = 0; t < 60; t++)); do   # 30 s for a clean shutdown
        left=0
        for node in $(nodes_of "$dir"); do node_pid "$node" >/dev/null && left=1; done
        ((left)) || break
        sleep 0.5
    done
    for node in $(nodes_of "$dir"); do
        if pid=$(node_pid "$node"); then
            echo "kafka.sh: $node (pid $pid) ignored SIGTERM for 30s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            while node_pid "$node" >/dev/null; do sleep 0.1; done
        fi
        rm -f "$node/pid"
    done
}

status() {
    local dir=$1 node pid rc=0 any=0
    [[ -d $dir ]] && dir=$(cd "$dir" && pwd)
    for node in $(nodes_of "$dir"); do
        any=1
        if pid=$(node_pid "$node"); then
            echo "${node##*/} running pid $pid $(grep -o 'PLAINTEXT://[^,]*' "$node/server.properties" | head -n 1)"
        else
            echo "${node##*/} stopped"; rc=1
        fi
    done
    ((any)) || { echo "no cluster in $dir"; return 1; }
    return $rc
}

case ${1:-} in
    fetch) [[ $# -eq 1 ]] || usage; fetch ;;
    start) shift; start "$@" ;;
    stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
    status) [[ $# -eq 2 ]] || usage; status "$2" ;;
    *) usage ;;
esac
