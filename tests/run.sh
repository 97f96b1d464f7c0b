#!/usr/bin/env bash
# Runs the integration and end-to-end suites against a real Apache Kafka broker (KRaft) that it
# starts itself from the Maven Central jars (tests/kafka/kafka.sh) and stops at the end.
#   tests/run.sh integration e2e      (MT_BIN = the programs' folder, default build/bin)
# Each test is a script tests/<suite>/test_*.sh that gets MINTRACE_BROKERS, MT_BIN, MT_ROOT and
# its own scratch folder MT_TMP; it uses a topic prefix of its own, so tests do not interfere.
# Prints one closing line "N passed, N failed" (", N skipped" when a test exits 77: it cannot run here).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
export MT_ROOT=$root MT_BIN=${MT_BIN:-$root/build/bin}
MT_BIN=$(cd "$MT_BIN" && pwd)

command -v java >/dev/null || { echo "tests/run.sh: java not found: the tests need a real Kafka broker (apt-get install default-jre-headless maven)" >&2; exit 2; }
tests/kafka/kafka.sh fetch || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/mintrace-test.XXXXXX")
cleanup() { tests/kafka/kafka.sh stop "$work/kafka" >/dev/null 2>&1; [ -n "${KEEP_TEST_DIR:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$(date +%s)
MINTRACE_BROKERS=$(tests/kafka/kafka.sh start "$work/kafka") || exit 2
export MINTRACE_BROKERS
echo "kafka: broker at $MINTRACE_BROKERS ready in $(( $(date +%s) - start )) s"

pass=0 fail=0 skip=0
for suite in "$@"; do
    for t in tests/"$suite"/test_*.sh; do
        [ -e "$t" ] || continue
        name=$suite/$(basename "$t" .sh)
        export MT_TMP="$work/$name"
        mkdir -p "$MT_TMP"
        t0=$(date +%s)
        rc=0
        bash "$t" >"$MT_TMP/out.log" 2>&1 || rc=$?
        if [ "$rc" -eq 0 ]; then
            pass=$((pass + 1)); echo "  ok    $name ($(( $(date +%s) - t0 )) s)"
        elif [ "$rc" -eq 77 ]; then # a test that cannot run here says why (never under CI)
            skip=$((skip + 1)); echo "  SKIP  $name"; sed 's/^/        /' "$MT_TMP/out.log" | tail -10
        else
            fail=$((fail + 1)); echo "  FAIL  $name ($(( $(date +%s) - t0 )) s, exit status $rc)"
            sed 's/^/        /' "$MT_TMP/out.log" | tail -60
            # the services' own logs end with why they stopped: the last lines of each
            find "$MT_TMP" -name '*.log' ! -name out.log | sort | while read -r log; do
                echo "        -- ${log#"$MT_TMP"/}:"; tail -3 "$log" | sed 's/^/        /'
            done
        fi
    done
done
echo "kafka: $pass passed, $fail failed$([ "$skip" -eq 0 ] || echo ", $skip skipped")"
[ "$fail" -eq 0 ]
