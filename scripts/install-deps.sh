#!/usr/bin/env bash
# Installs what securesend needs on Debian/Ubuntu, and nothing that is
# already there.
#
#   scripts/install-deps.sh run    # build and run the app: Fyne's C headers, keychain,
#                                  # poppler-utils (pdftoppm: PDF first-page thumbnails)
#   scripts/install-deps.sh test   # also Postfix, Dovecot, gpg, Xvfb for the tests,
#                                  # and Wine + mingw-w64 for the Windows build's tests
#
# Idempotent: when every package is installed it does not touch apt at all.
# Works as root (CI) or with sudo. Go itself is not installed from apt (Debian's
# is too old); the script checks for Go 1.26 or later and says what to do.
set -euo pipefail

mode=${1:-run}
run_pkgs=(make gcc libc6-dev pkg-config libgl1-mesa-dev xorg-dev libxkbcommon-dev gnome-keyring dbus dbus-x11 libsecret-tools ca-certificates poppler-utils)
# cups (its socket backend) and cups-client (lp, lpadmin): the watch test prints
# through a private cupsd to a socket:// printer.
test_pkgs=(postfix dovecot-core dovecot-imapd dovecot-lmtpd xvfb gnupg time curl cups cups-client)
# e2e/windows: the mingw-w64 cross compiler builds securesend.exe (CGO for
# Fyne) and the ProcessPrng shim; Wine runs them (docs/testing.md).
test_pkgs+=(wine wine64 gcc-mingw-w64-x86-64)

case "$mode" in
run) pkgs=("${run_pkgs[@]}") ;;
test) pkgs=("${run_pkgs[@]}" "${test_pkgs[@]}" python3) ;; # python3: the relay tests' MFD-like SMTP client
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
# The installers and their tests (packaging/): wixl and msitools (the MSI,
# msiinfo), osslsigncode (Authenticode), dpkg-dev (dpkg-shlibdeps computes
# the .deb's Depends), lintian (checks the .deb), man-db (its manual page).
# strace: crypto/pgp's test that the demo's volatile key stores make no fsync.
if [ "$mode" = test ]; then
	pkgs+=(wixl msitools osslsigncode dpkg-dev lintian man-db strace)
fi

export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

# --- Go ---------------------------------------------------------------------
need_go="1.26"
if ! command -v go >/dev/null 2>&1; then
	cat >&2 <<MSG
install-deps: Go is not on PATH (looked in PATH and /usr/local/go/bin).
Install Go $need_go or later from https://go.dev/dl/ , for example:
  curl -fsSLO https://go.dev/dl/go1.26.0.linux-amd64.tar.gz
  sudo rm -rf /usr/local/go && sudo tar -C /usr/local -xzf go1.26.0.linux-amd64.tar.gz
then run this again.
MSG
	exit 1
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]; then
	echo "install-deps: Go $have_go is too old; securesend needs Go $need_go or later (https://go.dev/dl/)." >&2
	exit 1
fi

# --- apt packages -------------------------------------------------------------
missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != installed ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: missing packages (${missing[*]}) and no apt-get; install them by hand." >&2
		exit 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	# Postfix must install without asking questions and without configuring
	# a system mail service: the tests run their own private instance.
	echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
	echo "postfix postfix/mailname string localhost" | "${sudo[@]}" debconf-set-selections
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Go modules -----------------------------------------------------------------
cd "$(dirname "$0")/.."
go mod download

# --- Go tools for the tests -------------------------------------------------------
# staticcheck (lint) and the fyne packaging tool (the packaging test builds a
# real .tar.xz). Installed as tools, not module dependencies: fyne.io/tools
# would pull Fyne 2.8 into go.mod.
if [ "$mode" = test ]; then
	gobin=$(go env GOPATH)/bin
	[ -x "$gobin/staticcheck" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	[ -x "$gobin/fyne" ] || go install fyne.io/tools/cmd/fyne@v1.7.4
fi
echo "install-deps: ready for '$mode' (Go $have_go)"
