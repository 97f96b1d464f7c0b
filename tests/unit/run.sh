#!/usr/bin/env bash
# Runs every cmocka unit test binary given; prints one closing line "N passed, N failed".
# Tests run from the repository root (they read schemas/ and write only to temp dirs).
set -u
cd "$(dirname "$0")/../.." || exit 2
pass=0 fail=0 failed=()
for t in "$@"; do
    if out=$("$t" 2>&1); then
        pass=$((pass + 1))
        printf '  ok    %s (%s)\n' "$(basename "$t")" "$(grep -o '[0-9]* test(s) run' <<<"$out" | head -1)"
    else
        fail=$((fail + 1)); failed+=("$t")
        printf '  FAIL  %s\n%s\n' "$(basename "$t")" "$out"
    fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
