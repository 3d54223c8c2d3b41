#!/usr/bin/env bash
# Creates the two ntgcalls virtualenvs the interop tests use as "the other phone":
#   test/interop/.venv-2.2.5 and test/interop/.venv-3.0.5
# from the pinned requirement files beside them. Idempotent: a venv whose installed ntgcalls
# already reports the pinned version is left alone. Fails loudly on any error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
interop="$root/test/interop"
python="${PYTHON:-python3}"

command -v "$python" >/dev/null || { echo "interop-setup: $python not found" >&2; exit 1; }
"$python" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
  || { echo "interop-setup: ntgcalls needs Python >= 3.10" >&2; exit 1; }

for version in 2.2.5 3.0.5; do
  venv="$interop/.venv-$version"
  req="$interop/requirements-ntgcalls-$version.txt"
  [ -f "$req" ] || { echo "interop-setup: missing $req" >&2; exit 1; }
  if [ -x "$venv/bin/python" ] \
    && "$venv/bin/python" -c "import ntgcalls, sys; sys.exit(ntgcalls.__version__ != '$version')" 2>/dev/null; then
    echo "interop-setup: $venv already has ntgcalls $version"
    continue
  fi
  echo "interop-setup: creating $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$req"
  got="$("$venv/bin/python" -c 'import ntgcalls; print(ntgcalls.__version__); assert ntgcalls.NTgCalls.ping() == "pong"')"
  [ "$got" = "$version" ] || { echo "interop-setup: $venv imports ntgcalls $got, expected $version" >&2; exit 1; }
  echo "interop-setup: $venv ready (ntgcalls $got)"
done
