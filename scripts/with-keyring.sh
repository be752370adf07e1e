#!/usr/bin/env bash
# Runs "$@" inside a private D-Bus session with an unlocked gnome-keyring
# (the real Secret Service), with its own XDG_DATA_HOME so no user keyring is
# touched. Used by the tests: secrets go only to a real OS keychain.
set -euo pipefail
if [ "${SECURESEND_IN_KEYRING:-}" = 1 ]; then exec "$@"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run" SECURESEND_IN_KEYRING=1
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
exec dbus-run-session -- bash -c '
  eval "$(printf test-keyring-password | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" >/dev/null
  export GNOME_KEYRING_CONTROL
  exec "$@"' bash "$@"
