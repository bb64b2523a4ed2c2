#!/usr/bin/env bash
# Linux one-folder build from the same spec as the macOS app: the smoke test of the packaging
# (tests/packaging/test_frozen.py runs it). The product is Backbench.app; see packaging/README.md.
#
#   packaging/build_linux.sh [--dist DIR] [--work DIR]     -> DIR/backbench/backbench (default dist/)
#
# PYTHON: the interpreter that has backbench and its `package` extra installed
#         (default: .venv/bin/python of this checkout, else python3).
set -euo pipefail

die() { echo "build_linux.sh: $*" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dist) [[ $# -ge 2 ]] || die "--dist needs a folder"; DIST="$2"; shift 2 ;;
        --work) [[ $# -ge 2 ]] || die "--work needs a folder"; WORK="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[[ "$(uname -s)" == Linux ]] || die "refusing to run on $(uname -s): this builds the Linux binary (on macOS use packaging/build_macos.sh)"

if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY=python3
fi
"$PY" -c "import PyInstaller, app, engine" 2>/dev/null \
    || die "$PY lacks PyInstaller or backbench: $PY -m pip install -e '${ROOT}[package]'"

start=$SECONDS
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$ROOT/packaging/backbench.spec"
BIN="$DIST/backbench/backbench"
[[ -x "$BIN" ]] || die "PyInstaller finished but $BIN is missing"
echo "built $BIN in $((SECONDS - start)) s; bundle $(du -sh "$DIST/backbench" | cut -f1)"
