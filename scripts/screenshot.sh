#!/usr/bin/env bash
# Screenshots of the real securesend window under Xvfb, in demo mode.
#
# Builds the binary, starts Xvfb at 1280x800, runs the app with an empty
# home (so it opens in demo mode) and its hidden screenshot tour, which adds
# the sample documents, sends them, shows the confirmation, fetches the
# pharmacy's inbox and opens the Verified message, shows Settings, then the
# Sent tab with the job the outbox delivered. At each step the app
# waits; this script photographs the whole X screen with ImageMagick's
# `import -window root` and lets the app go on.
#
# Needs: xvfb, imagemagick (apt-get install -y xvfb imagemagick), Fyne's
# build dependencies. Output: docs/screenshots/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screenshots
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "${app_pid:-}" "${xvfb_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

command -v Xvfb >/dev/null || { echo "screenshot.sh: Xvfb is missing (apt-get install -y xvfb)" >&2; exit 1; }
if ! import -version 2>/dev/null | grep -q ImageMagick; then
	echo "screenshot.sh: ImageMagick's import is missing (apt-get install -y imagemagick)" >&2
	exit 1
fi

go build -tags no_emoji -o "$work/securesend" ./cmd/securesend

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do
	[ -e "/tmp/.X11-unix/X${display#:}" ] && break
	sleep 0.1
done

mkdir -p "$work/home" "$work/tour"
DISPLAY=$display SECURESEND_HOME="$work/home" SECURESEND_SCREENSHOT_TOUR="$work/tour" \
	LANG=en_NZ.UTF-8 "$work/securesend" >"$work/app.log" 2>&1 &
app_pid=$!

for step in 1-send-empty 2-send-documents 3a-check-before-sending 3-confirmation 4-inbox-verified 5-settings 6-sent; do
	for _ in $(seq 600); do
		[ -e "$work/tour/$step.ready" ] && break
		if ! kill -0 "$app_pid" 2>/dev/null; then
			echo "screenshot.sh: the app exited early:" >&2
			cat "$work/app.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	[ -e "$work/tour/$step.ready" ] || { echo "screenshot.sh: step $step never came" >&2; exit 1; }
	# The window (1024x720, the app's default size) sits at the top left of
	# the 1280x800 screen, with no window manager to decorate it.
	import -display "$display" -window root -crop 1024x720+0+0 +repage "$out/$step.png"
	echo "saved $out/$step.png"
	touch "$work/tour/$step.done"
done
wait "$app_pid" || true
