#!/usr/bin/env bash
# Prepares a Wine prefix for running securesend's Windows build in tests
# (e2e/windows). Test plumbing only: nothing here ships.
#
#   scripts/wine-prefix.sh DIR    # creates (or reuses) the 64-bit prefix DIR
#
# It boots the prefix without a display and without the Mono/Gecko
# installers, and, when this Wine lacks ProcessPrng (Go 1.22 and later
# need it; Debian 12's Wine 8.0 does not have it), builds the shim in
# e2e/windows/testdata/bcryptprimitives.c with mingw-w64 and copies it into
# the prefix's system32. Prints nothing on success but the prefix path.
set -euo pipefail

prefix=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
for tool in wine wineboot wineserver x86_64-w64-mingw32-gcc; do
	command -v "$tool" >/dev/null || {
		echo "wine-prefix: $tool is missing (scripts/install-deps.sh test installs wine, wine64 and gcc-mingw-w64-x86-64)" >&2
		exit 1
	}
done

export WINEPREFIX=$prefix WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
mkdir -p "$prefix"
if [ ! -f "$prefix/system.reg" ]; then
	wineboot --init >"$prefix/wineboot.log" 2>&1 || {
		cat "$prefix/wineboot.log" >&2
		exit 1
	}
	wineserver --wait
fi

sys32=$prefix/drive_c/windows/system32
# A Wine that has bcryptprimitives.dll with ProcessPrng (9.x) needs no
# shim; 8.0 has no such DLL. The export's name is in the DLL's export table.
for d in /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib/wine/x86_64-windows /opt/wine*/lib/wine/x86_64-windows; do
	if [ -f "$d/bcryptprimitives.dll" ] && grep -qa ProcessPrng "$d/bcryptprimitives.dll"; then
		echo "$prefix"
		exit 0
	fi
done
if ! { [ -f "$sys32/bcryptprimitives.dll" ] && grep -qa ProcessPrng "$sys32/bcryptprimitives.dll"; }; then
	src=$here/e2e/windows/testdata
	x86_64-w64-mingw32-gcc -O2 -shared -o "$prefix/bcryptprimitives.dll" \
		"$src/bcryptprimitives.c" "$src/bcryptprimitives.def" -ladvapi32
	cp "$prefix/bcryptprimitives.dll" "$sys32/bcryptprimitives.dll"
fi
echo "$prefix"
