#!/usr/bin/env bash
# setup.sh — the Python environment of tests/interop: a venv in build/venv with the pinned
# packages of tests/interop/requirements.txt (from PyPI). Made once and kept: it is rebuilt only
# when requirements.txt or the python3 it was made with changes. Prints the venv's python.
#   tests/interop/setup.sh            (from anywhere)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=$root/build/venv
req=$root/tests/interop/requirements.txt
want=$( (sha256sum "$req"; python3 --version) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/.mintrace-requirements" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    mkdir -p "$root/build"
    python3 -m venv "$venv" >&2 || {
        echo "setup.sh: python3 -m venv failed (Debian: apt-get install python3-venv; deploy/install-deps.sh does)" >&2
        exit 1
    }
    "$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$req" >&2 || {
        echo "setup.sh: pip install -r $req failed" >&2
        rm -rf "$venv"
        exit 1
    }
    echo "$want" >"$venv/.mintrace-requirements"
fi
echo "$venv/bin/python"
