#!/usr/bin/env bash
# Creates (or reuses) the project's environment in .venv/ with Python 3.10, which
# lava-nc 0.10.0 requires, and installs latdeploy with everything it needs.
#
# Usage: bash tools/setup_env.sh [--test]
#   Installs the 'lava' and 'xylo' extras (Lava for loihi2-sim, SynSense's xylosim for xylo-sim).
#   --test   also install the test tools (pytest, hypothesis, ruff) and the SNN frameworks the
#            tests check latdeploy against (the 'frameworks' extra, docs/frameworks.md)
#            and Ray (the 'ray' extra: --executor ray, docs/executors.md).
# Set LATDEPLOY_PYTHON=/path/to/python3.10 to choose the interpreter yourself.
# Re-running is cheap: nothing is installed again while pyproject.toml and this
# script are unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extras="lava,xylo"
[ "${1:-}" = "--test" ] && extras="lava,xylo,test,frameworks,ray"

is_python310() {
    [ -n "$1" ] && [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
    "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1
}

find_python310() {
    local candidate
    for candidate in "${LATDEPLOY_PYTHON:-}" python3.10 \
        "$(command -v uv >/dev/null 2>&1 && uv python find 3.10 2>/dev/null || true)" \
        "$(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V | tail -n 1 || true)" \
        "$(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V | tail -n 1 || true)" \
        /usr/bin/python3.10 /usr/local/bin/python3.10 python3; do
        if [ -n "$candidate" ] && is_python310 "$candidate"; then
            command -v "$candidate" 2>/dev/null || echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$venv/bin/python" ] || ! is_python310 "$venv/bin/python"; then
    if ! python310="$(find_python310)"; then
        cat >&2 <<'MSG'
latdeploy setup: no Python 3.10 interpreter found (lava-nc 0.10.0 runs on Python 3.10 only).
Install one, then run this command again, for example:
  uv python install 3.10          (then it is found automatically), or
  pyenv install 3.10.13, or
  apt-get install python3.10 python3.10-venv
or point LATDEPLOY_PYTHON at an existing python3.10 executable.
MSG
        exit 3
    fi
    echo "latdeploy setup: creating .venv with $python310"
    rm -rf "$venv"
    "$python310" -m venv "$venv"
fi

stamp="$venv/.latdeploy-installed"
want="$(cat "$root/pyproject.toml" "$root/tools/setup_env.sh" | sha256sum | cut -d' ' -f1) $extras"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check)
# lava-dl 0.6.0 pins torch<2.4 and pytest<8; its netx/slayer imports need only what
# the "lava" extra lists, so it goes in without its own dependency pins.
"${pip[@]}" install --quiet --upgrade pip
"${pip[@]}" install --quiet -e "$root[$extras]"
"${pip[@]}" install --quiet --no-deps "lava-dl==0.6.0"
# sinabs 3.1.0 pins nir<=1.0.4 (we use nir 1.0.8) and samna (its Speck/DynapCNN hardware SDK);
# the layers and NIR reading/writing need only torch, numpy, pbr, nir and nirtorch, which the
# "frameworks" extra lists, so it goes in without its own dependency pins. (snntorch 1.0.0, norse
# 1.1.0 and spikingjelly 0.0.0.0.14 come with the extra itself, installed above.)
if [[ ",$extras," == *",frameworks,"* ]]; then
    "${pip[@]}" install --quiet --no-deps "sinabs==3.1.0"
fi
"${pip[@]}" check >/dev/null || true
echo "$want" > "$stamp"
echo "latdeploy setup: environment ready in .venv ($("$venv/bin/python" --version))"
