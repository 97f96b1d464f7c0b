#!/usr/bin/env bash
# lint.sh — the static checks: what `make lint` runs, and the first step of `make check`.
#   tests/lint.sh          check everything, print "lint: N passed, N failed", exit 1 on a failure
#   tests/lint.sh --fix    regenerate schemas/*.schema.json from proto/ first (then check)
# Checks:
#   buf     `buf lint` and `buf format` on proto/ (config proto/buf.yaml)
#   schemas schemas/*.schema.json are what tests/tools/json_schema.c makes of the current
#           protos: they are the reviewed JSON contract, never edited by hand
#   ajv     every schema compiles; examples in tests/schemas/examples/ are valid and those in
#           tests/schemas/bad/ are not, for the schemas and for the C codec alike
#           (tests/schemas/validate.mjs)
#   shell   every shell script parses (bash -n), and passes shellcheck when it is installed
#   compose docker-compose.yml and deploy/Dockerfile agree with the Makefile, the programs'
#           --help, tests/kafka/ and schemas/topics.json (tests/compose_check.py; no Docker
#           needed); hadolint is not used
# buf and ajv are the exact versions of tests/package-lock.json, installed by `npm ci` into
# tests/node_modules (git-ignored) when that is missing or stale; nothing is installed globally.
# Runs from anywhere; builds what it needs (build/libmintrace.a, build/tools/json_schema, and
# build/bin/ for compose_check.py).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fix=0
case "${1:-}" in
    "") ;;
    --fix) fix=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: tests/lint.sh [--fix]" >&2; exit 2 ;;
esac

pass=0 fail=0
log=$(mktemp -d "${TMPDIR:-/tmp}/mintrace-lint.XXXXXX")
trap 'rm -rf "$log"' EXIT
ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
failed() { # failed WHAT [OUTPUT_FILE]
    fail=$((fail + 1))
    printf '  FAIL  %s\n' "$1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then sed 's/^/        /' "$2"; fi
}
# check WHAT CMD...: runs CMD with its output kept aside, shown only when it fails.
check() {
    local what=$1
    shift
    if "$@" >"$log/out" 2>&1; then ok "$what"; else failed "$what" "$log/out"; fi
}

# ---- tools: the pinned npm packages, and the C schema generator ----
tools_ok=1
lock_sum=$(sha256sum tests/package-lock.json tests/package.json | sha256sum | cut -d' ' -f1)
stamp=tests/node_modules/.mintrace-lock
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    # --ignore-scripts: buf's postinstall only swaps its Node.js launcher for the binary
    if command -v npm >/dev/null &&
       npm ci --prefix tests --no-audit --no-fund --ignore-scripts --loglevel=error >"$log/out" 2>&1; then
        echo "$lock_sum" >"$stamp"
        ok "npm ci: buf and ajv installed into tests/node_modules"
    else
        command -v npm >/dev/null || echo "npm not found (deploy/install-deps.sh installs it)" >"$log/out"
        head -n 30 "$log/out" >"$log/npm"   # npm appends its whole usage text to some errors
        failed "npm ci --prefix tests" "$log/npm"
        tools_ok=0
    fi
else
    ok "tests/node_modules matches tests/package-lock.json"
fi
buf=tests/node_modules/.bin/buf

gen=build/tools/json_schema
gen_ok=1
# The library through the project's own build graph (not a caller's SANITIZE or O).
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -j"$(nproc 2>/dev/null || echo 2)" SANITIZE= O=build \
        build/libmintrace.a >"$log/out" 2>&1; then
    failed "make build/libmintrace.a" "$log/out"
    gen_ok=0
elif [ ! -x "$gen" ] || [ tests/tools/json_schema.c -nt "$gen" ] || [ build/libmintrace.a -nt "$gen" ]; then
    mkdir -p build/tools
    # shellcheck disable=SC2046  # pkg-config prints several words on purpose
    if ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Ibuild/gen -Iservices/lib tests/tools/json_schema.c build/libmintrace.a \
            $(pkg-config --cflags --libs rdkafka libprotobuf-c libsodium jansson) -lpthread -lm \
            -o "$gen" >"$log/out" 2>&1; then
        ok "build $gen"
    else
        failed "build $gen" "$log/out"
        gen_ok=0
    fi
else
    ok "$gen is up to date"
fi

# ---- buf: the wire contract's style and comments ----
if [ "$tools_ok" = 1 ]; then
    check "buf lint proto" "$buf" lint proto
    check "buf format proto (run: $buf format -w proto)" "$buf" format --diff --exit-code proto
fi

# ---- schemas/: generated from proto/, committed, reviewed ----
if [ "$gen_ok" = 1 ]; then
    mkdir -p "$log/schemas"
    if ! "$gen" "$log/schemas" >"$log/out" 2>&1; then
        failed "$gen" "$log/out"
    else
        if [ "$fix" = 1 ]; then
            # drop the schemas of messages that are gone, then copy the current ones in
            for f in schemas/*.schema.json; do
                [ -e "$f" ] || continue
                case $f in schemas/topics.schema.json | schemas/policy.schema.json | schemas/audit-report.schema.json) continue ;; esac
                [ -e "$log/schemas/${f#schemas/}" ] || { rm -f "$f"; echo "lint: removed $f"; }
            done
            for f in "$log"/schemas/*.schema.json; do
                cmp -s "$f" "schemas/${f##*/}" || { cp "$f" schemas/; echo "lint: wrote schemas/${f##*/}"; }
            done
        fi
        # topics.json, its schema, the policy schema and the audit report's schema are written by hand
        if diff -r -u -x topics.json -x topics.schema.json -x policy.schema.json -x audit-report.schema.json \
            "$log/schemas" schemas >"$log/out" 2>&1; then
            ok "schemas/ is current with proto/"
        else
            head -n 40 "$log/out" >"$log/diff"
            failed "schemas/ is stale: run tests/lint.sh --fix" "$log/diff"
        fi
    fi
fi

# ---- ajv: schemas compile, examples pass, bad examples fail, the codec agrees ----
if [ "$tools_ok" = 1 ]; then
    codec=()
    [ "$gen_ok" = 1 ] && codec=(--codec "$gen")
    if node tests/schemas/validate.mjs "${codec[@]}" >"$log/out" 2>&1; then
        ok "$(tail -n 1 "$log/out") (tests/schemas/validate.mjs)"
    else
        failed "tests/schemas/validate.mjs" "$log/out"
    fi
fi

# ---- shell scripts: every *.sh and every file with a shell #! line ----
scripts=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    case $f in
        *.sh) scripts+=("$f") ;;
        *) head -n 1 "$f" 2>/dev/null | grep -Eq '^#!.*[/ ](ba)?sh( |$)' && scripts+=("$f") ;;
    esac
done < <(git ls-files -z --cached --others --exclude-standard 2>/dev/null ||
         find . -path ./build -prune -o -path '*/node_modules' -prune -o -name '*.sh' -print0)
have_shellcheck=0
command -v shellcheck >/dev/null && have_shellcheck=1
for f in "${scripts[@]}"; do
    f=${f#./}
    if ! bash -n "$f" >"$log/out" 2>&1; then
        failed "bash -n $f" "$log/out"
        continue
    fi
    if [ "$have_shellcheck" = 1 ]; then
        # a file without #! is sourced by bash scripts (deploy/pipeline.sh)
        sc=(shellcheck -x)
        head -c 2 "$f" | grep -q '^#!' || sc+=(--shell=bash)
        check "shellcheck $f" "${sc[@]}" "$f"
    else
        ok "bash -n $f"
    fi
done
[ "$have_shellcheck" = 1 ] || echo "  (shellcheck not installed: scripts only checked with bash -n)"

# ---- compose: docker-compose.yml and deploy/Dockerfile, checked without Docker ----
if python3 tests/compose_check.py >"$log/out" 2>&1; then
    ok "$(tail -n 1 "$log/out") (tests/compose_check.py)"
else
    failed "tests/compose_check.py" "$log/out"
fi

echo "lint: $pass passed, $fail failed"
[ "$fail" = 0 ]
