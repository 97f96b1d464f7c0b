#!/usr/bin/env bash
# install-deps.sh — installs what building, testing and running mintrace need on Debian 12
# (bookworm), and nothing that is already there. As root it runs apt-get; otherwise it prints
# the one command to run. `--runtime` installs only what the demo needs to run (the JRE and
# Maven for the real broker are optional there: without them the demo uses the embedded one).
set -euo pipefail

build_pkgs=(make gcc pkg-config librdkafka-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev
            libcmocka-dev libjansson-dev)
test_pkgs=(kcat python3 python3-yaml python3-venv default-jre-headless maven valgrind shellcheck)
node_pkgs=(nodejs npm)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
command -v npm >/dev/null || want+=("${node_pkgs[@]}")   # a machine may have its own Node.js
[ "${1:-}" = "--runtime" ] && want=("${build_pkgs[@]}" kcat)
[ "${1:-}" = "--runtime" ] && ! command -v java >/dev/null && want+=(default-jre-headless maven)

# the compose check needs PyYAML in the python3 that runs it (which may not be Debian's)
yaml_ok() { [ "${1:-}" = "--runtime" ] || python3 -c 'import yaml' 2>/dev/null; }

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
    # a tool that is there without its Debian package (a JDK or Maven installed by hand) counts
    case $p in
        default-jre-headless) command -v java >/dev/null && continue ;;
        maven) command -v mvn >/dev/null && continue ;;
        python3) command -v python3 >/dev/null && continue ;;
        python3-venv) python3 -c 'import ensurepip, venv' 2>/dev/null && continue ;;   # tests/interop/setup.sh
        make|gcc) command -v "$p" >/dev/null && continue ;;
    esac
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    yaml_ok "${1:-}" || python3 -m pip install -q pyyaml || { echo "install-deps.sh: need PyYAML: python3 -m pip install pyyaml" >&2; exit 1; }
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "mintrace needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
yaml_ok "${1:-}" || python3 -m pip install -q pyyaml || { echo "install-deps.sh: need PyYAML: python3 -m pip install pyyaml" >&2; exit 1; }
