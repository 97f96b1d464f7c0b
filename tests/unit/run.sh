#!/usr/bin/env bash
# Runs every cmocka unit test binary given, from the repository root (tests read schemas/ and
# write only to temp dirs). Closes with one line "unit: N passed, N failed" counting test cases.
# VALGRIND=1 runs each under valgrind: any memory error or definite leak fails the binary.
# test_property checks MT_PROPERTY_EVENTS events (default 100,000, ~35 s); valgrind runs it
# ~30 times slower (5,000 events: 50 s), so under valgrind it checks 2,000 unless
# MT_PROPERTY_EVENTS says otherwise.
set -u
run=()
if [ -n "${VALGRIND:-}" ]; then
    run=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
    export MT_PROPERTY_EVENTS=${MT_PROPERTY_EVENTS:-2000}
fi
cd "$(dirname "$0")/../.." || exit 2
pass=0 fail=0 bad=0
for t in "$@"; do
    out=$("${run[@]}" "$t" 2>&1); rc=$?
    # a binary may run several groups (test_ledger runs its tests twice): add them up
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | awk '{s += $1} END {if (NR) print s}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | awk '{s += $1} END {if (NR) print s}')
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
    if [ "$rc" -eq 0 ] && [ -z "$f" ]; then
        printf '  ok    %-14s %3d tests\n' "$(basename "$t")" "${p:-0}"
    else
        bad=$((bad + 1)); [ -z "$f" ] && fail=$((fail + 1))   # a crash counts as a failure
        printf '  FAIL  %s (exit %d)\n%s\n' "$(basename "$t")" "$rc" "$out"
    fi
done
echo "unit${VALGRIND:+ (valgrind)}: $pass passed, $fail failed"
[ "$bad" -eq 0 ]
