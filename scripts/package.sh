#!/usr/bin/env bash
# Builds a preconfigured securesend installer from this checkout:
#
#   scripts/package.sh --profile profile.toml --key admin-key.asc --os linux [--out dist]
#   scripts/package.sh --profile profile.toml --key admin-key.asc --os windows \
#       --sign-cert codesign.pfx --sign-pass-stdin < pfx-password.txt
#
# It builds securesend, installs the fyne packaging tool if a Linux package is
# wanted and the tool is missing, and runs "securesend admin package" with the
# given flags (see docs/admin.md and "securesend admin package --help").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case " $* " in
  *" windows "*|*"--os=windows"*) ;;
  *)
    if ! command -v fyne >/dev/null && [ ! -x "$(go env GOPATH)/bin/fyne" ]; then
      echo "package.sh: installing the fyne packaging tool (fyne.io/tools v1.7.4)" >&2
      go install fyne.io/tools/cmd/fyne@v1.7.4
    fi
    ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -C "$root" -tags no_emoji -o "$tmp/securesend" ./cmd/securesend
"$tmp/securesend" admin package --src "$root" "$@"
