#!/usr/bin/env bash
# Build Backbench.app (Apple silicon, macOS 14+), sign it with the hardened runtime, notarize and staple it,
# and package it in a DMG. Run on an arm64 Mac with Xcode's command line tools.
#
#   packaging/build_macos.sh             # Developer ID signed + notarized: dist/Backbench-<version>-arm64.dmg
#   packaging/build_macos.sh --unsigned  # local build: ad hoc signature (same hardened runtime and
#                                        # entitlements), no notarization; runs on this Mac only
#
# Signed builds read their credentials from the environment (never from the repository):
#   BACKBENCH_SIGN_IDENTITY    codesign identity in a keychain, "Developer ID Application: Name (TEAMID)"
#   BACKBENCH_KEYCHAIN         optional: the keychain holding it (CI imports the certificate into one)
#   notary credentials, one of these sets:
#     BACKBENCH_NOTARY_PROFILE                                     `xcrun notarytool store-credentials` profile
#     BACKBENCH_NOTARY_KEY, BACKBENCH_NOTARY_KEY_ID, BACKBENCH_NOTARY_ISSUER   App Store Connect API key (.p8 path)
#     BACKBENCH_NOTARY_APPLE_ID, BACKBENCH_NOTARY_TEAM_ID, BACKBENCH_NOTARY_PASSWORD  Apple ID, app-specific password
# Also: PYTHON (interpreter with backbench[package]; default .venv/bin/python), BACKBENCH_BUILD_NUMBER
# (CFBundleVersion; default the version). Refuses with one line and exit 2 off macOS/arm64, without the
# tools, or (signed mode) without credentials. Steps and entitlements: packaging/README.md.
set -euo pipefail

die() { echo "build_macos.sh: $*" >&2; exit 2; }
step() { echo "==> $*"; }

UNSIGNED=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --unsigned) UNSIGNED=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) die "unknown option $1 (usage: build_macos.sh [--unsigned])" ;;
    esac
done

# ---------------------------------------------------------------- refuse early, in one line
OS="$(uname -s)"
[[ "$OS" == Darwin ]] || die "refusing to run on $OS: Backbench.app is built, signed and notarized on macOS (Apple silicon) only; on Linux use packaging/build_linux.sh"
ARCH="$(uname -m)"
[[ "$ARCH" == arm64 ]] || die "refusing to run on $ARCH: Backbench.app is arm64 only (numba ships no macOS x86-64 wheels); use an Apple silicon Mac"

NOTARY_ARGS=()
if [[ $UNSIGNED == 0 ]]; then
    missing=()
    [[ -n "${BACKBENCH_SIGN_IDENTITY:-}" ]] || missing+=(BACKBENCH_SIGN_IDENTITY)
    if [[ -n "${BACKBENCH_NOTARY_PROFILE:-}" ]]; then
        NOTARY_ARGS=(--keychain-profile "$BACKBENCH_NOTARY_PROFILE")
    elif [[ -n "${BACKBENCH_NOTARY_KEY:-}${BACKBENCH_NOTARY_KEY_ID:-}${BACKBENCH_NOTARY_ISSUER:-}" ]]; then
        for v in BACKBENCH_NOTARY_KEY BACKBENCH_NOTARY_KEY_ID BACKBENCH_NOTARY_ISSUER; do
            [[ -n "${!v:-}" ]] || missing+=("$v")
        done
        NOTARY_ARGS=(--key "${BACKBENCH_NOTARY_KEY:-}" --key-id "${BACKBENCH_NOTARY_KEY_ID:-}"
                     --issuer "${BACKBENCH_NOTARY_ISSUER:-}")
    elif [[ -n "${BACKBENCH_NOTARY_APPLE_ID:-}${BACKBENCH_NOTARY_TEAM_ID:-}${BACKBENCH_NOTARY_PASSWORD:-}" ]]; then
        for v in BACKBENCH_NOTARY_APPLE_ID BACKBENCH_NOTARY_TEAM_ID BACKBENCH_NOTARY_PASSWORD; do
            [[ -n "${!v:-}" ]] || missing+=("$v")
        done
        NOTARY_ARGS=(--apple-id "${BACKBENCH_NOTARY_APPLE_ID:-}" --team-id "${BACKBENCH_NOTARY_TEAM_ID:-}"
                     --password "${BACKBENCH_NOTARY_PASSWORD:-}")
    else
        missing+=("BACKBENCH_NOTARY_PROFILE (or BACKBENCH_NOTARY_KEY/_KEY_ID/_ISSUER, or BACKBENCH_NOTARY_APPLE_ID/_TEAM_ID/_PASSWORD)")
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        names="${missing[0]}"
        for ((i = 1; i < ${#missing[@]}; i++)); do names="$names, ${missing[i]}"; done
        die "refusing to sign: credentials not set: $names; use --unsigned for a local build"
    fi
fi

for tool in xcrun codesign hdiutil ditto plutil lipo spctl; do
    command -v "$tool" >/dev/null 2>&1 || die "refusing to run: $tool not found (install Xcode's command line tools: xcode-select --install)"
done
if [[ $UNSIGNED == 0 ]]; then
    if ! xcrun --find notarytool >/dev/null 2>&1 || ! xcrun --find stapler >/dev/null 2>&1; then
        die "refusing to run: xcrun notarytool/stapler not found (Xcode 13 or later required)"
    fi
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY=python3
fi
"$PY" -c "import PyInstaller, app, engine" 2>/dev/null \
    || die "$PY lacks PyInstaller or backbench: $PY -m pip install -e '${ROOT}[package]'"

DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller-macos"
APP="$DIST/Backbench.app"
ENTITLEMENTS="$ROOT/packaging/entitlements.plist"
VERSION="$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$ROOT/pyproject.toml")"
DMG="$DIST/Backbench-$VERSION-arm64.dmg"
if [[ $UNSIGNED == 1 ]]; then IDENTITY="-"; else IDENTITY="$BACKBENCH_SIGN_IDENTITY"; fi
# An ad hoc signature cannot carry a secure timestamp; a Developer ID one must (notarization requires it).
if [[ $UNSIGNED == 1 ]]; then TIMESTAMP=(--timestamp=none); else TIMESTAMP=(--timestamp); fi

# ---------------------------------------------------------------- build (and sign, inside out)
# PyInstaller signs every collected binary as it copies it into the bundle, then the bundle (--deep), after
# putting Qt's frameworks into the shape codesign demands. The spec passes it BACKBENCH_SIGN_IDENTITY and the
# entitlements: hardened runtime + secure timestamp. Without an identity (--unsigned) it signs ad hoc.
# The two PYINSTALLER_* switches turn a signing failure into a build failure and verify the result.
step "PyInstaller: $APP (version $VERSION)"
start=$SECONDS
if [[ $UNSIGNED == 1 ]]; then pyi_env=(env -u BACKBENCH_SIGN_IDENTITY); else pyi_env=(env); fi
"${pyi_env[@]}" PYINSTALLER_STRICT_BUNDLE_CODESIGN_ERROR=1 PYINSTALLER_VERIFY_BUNDLE_SIGNATURE=1 \
    "$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" \
    "$ROOT/packaging/backbench.spec"
[[ -d "$APP" ]] || die "PyInstaller finished but $APP is missing"
MAIN="$APP/Contents/MacOS/Backbench"
[[ "$(lipo -archs "$MAIN")" == arm64 ]] || die "$MAIN is '$(lipo -archs "$MAIN")', expected arm64 only"
[[ "$(plutil -extract LSMinimumSystemVersion raw "$APP/Contents/Info.plist")" == 14.0 ]] \
    || die "Info.plist LSMinimumSystemVersion is not 14.0"
echo "built in $((SECONDS - start)) s; $(du -sh "$APP" | cut -f1)"

# ---------------------------------------------------------------- the app's own signature
# Re-sign the outer bundle (not --deep: the nested code keeps PyInstaller's signatures) so that its main
# executable, the one process image that matters for entitlements, certainly has the hardened runtime and
# the entitlements, in both modes. An ad hoc signature has no Team ID for library validation to compare, so
# the local build also disables library validation (release builds do not; packaging/README.md).
step "codesign the app ($([[ $UNSIGNED == 1 ]] && echo "ad hoc" || echo "$IDENTITY"))"
SIGN_ENTITLEMENTS="$ENTITLEMENTS"
if [[ $UNSIGNED == 1 ]]; then
    SIGN_ENTITLEMENTS="$(mktemp -d)/entitlements-local.plist"
    cp "$ENTITLEMENTS" "$SIGN_ENTITLEMENTS"
    /usr/libexec/PlistBuddy -c "Add :com.apple.security.cs.disable-library-validation bool true" "$SIGN_ENTITLEMENTS"
fi
codesign --force --options runtime "${TIMESTAMP[@]}" ${BACKBENCH_KEYCHAIN:+--keychain "$BACKBENCH_KEYCHAIN"} \
    --entitlements "$SIGN_ENTITLEMENTS" --sign "$IDENTITY" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"
granted="$(codesign --display --entitlements - "$APP" 2>&1)"
[[ "$granted" == *allow-unsigned-executable-memory* ]] || die "the entitlements did not reach $MAIN"
flags="$(codesign --display --verbose=2 "$APP" 2>&1)"
[[ "$flags" == *"(runtime)"* ]] || die "$MAIN is not signed with the hardened runtime"

# ---------------------------------------------------------------- smoke test under the hardened runtime
# numba compiles in this process, so this is where a missing JIT entitlement shows (not at notarization).
step "smoke test: the signed binary compiles and runs the demo, and its sweep workers start"
SMOKE="$(mktemp -d)"
(
    export HOME="$SMOKE/home" NUMBA_CACHE_DIR="$SMOKE/numba" BACKBENCH_DB="$SMOKE/bars.duckdb" \
           BACKBENCH_CACHE_DIR="$SMOKE/results" BACKBENCH_CONFIG="$SMOKE/backbench.toml"
    mkdir -p "$HOME"
    "$MAIN" info
    "$MAIN" run --demo > /dev/null
    "$MAIN" sweep --demo --workers 2 --no-cache -g n1=5:30:5 -g n2=40:100:20 --top 3
)
rm -rf "$SMOKE"

notarize() {  # file: submit, wait, fail with Apple's log unless Accepted
    local out status id
    out="$(xcrun notarytool submit "$1" "${NOTARY_ARGS[@]}" --wait --timeout 45m --output-format json)" \
        || { echo "$out" >&2; die "notarytool submit $1 failed"; }
    read -r status id < <("$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d.get("status"), d.get("id"))' <<< "$out")
    if [[ "$status" != Accepted ]]; then
        xcrun notarytool log "$id" "${NOTARY_ARGS[@]}" >&2 || true
        die "notarization of $1 ended '$status' (submission $id; Apple's log above)"
    fi
    echo "notarized $1 (submission $id)"
}

if [[ $UNSIGNED == 0 ]]; then
    # The app is notarized and stapled on its own first, so the copy inside the DMG carries its ticket and
    # opens offline after it is dragged to /Applications.
    step "notarize the app"
    ZIP="$DIST/Backbench-$VERSION-arm64.zip"
    ditto -c -k --keepParent "$APP" "$ZIP"
    notarize "$ZIP"
    rm -f "$ZIP"
    xcrun stapler staple "$APP"
    xcrun stapler validate "$APP"
    spctl --assess --type execute --verbose=4 "$APP"
fi

# ---------------------------------------------------------------- DMG
step "DMG: $DMG"
STAGE="$(mktemp -d)"
ditto "$APP" "$STAGE/Backbench.app"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Backbench $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG" >/dev/null
rm -rf "$STAGE"

if [[ $UNSIGNED == 0 ]]; then
    step "sign and notarize the DMG"
    codesign --force --timestamp ${BACKBENCH_KEYCHAIN:+--keychain "$BACKBENCH_KEYCHAIN"} --sign "$IDENTITY" "$DMG"
    notarize "$DMG"
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose=4 "$DMG"
else
    echo "unsigned build: $APP runs on this Mac; Gatekeeper will reject the DMG elsewhere (not notarized)"
fi
echo "done: $DMG ($(du -h "$DMG" | cut -f1), sha256 $(shasum -a 256 "$DMG" | cut -d' ' -f1))"
