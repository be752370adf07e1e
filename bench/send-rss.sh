#!/usr/bin/env bash
# Peak memory and wall time of `securesend send` with a large document,
# against curl uploading the same document over SMTP, both through the same
# private Postfix (internal/mailserver) on loopback with implicit TLS and
# SASL authentication. Needs root (Postfix), GNU time and curl:
#   scripts/install-deps.sh test && bench/send-rss.sh
# Environment: SIZE_MB (default 200), TARGET_MB (securesend's peak RSS
# target, default 48). Exits 1 if securesend fails or misses the target.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

size_mb=${SIZE_MB:-200}
target_mb=${TARGET_MB:-48}
out=bench/out
mkdir -p "$out"
work=$(mktemp -d /tmp/securesend-bench-XXXXXX)
msrv=
cleanup() {
	if [ -n "$msrv" ] && kill -0 "$msrv" 2>/dev/null; then
		kill -TERM "$msrv"
		wait "$msrv" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

for tool in /usr/bin/time curl; do
	command -v "$tool" >/dev/null || { echo "send-rss: $tool missing; run scripts/install-deps.sh test" >&2; exit 1; }
done

echo "building securesend and the mail server ..."
go build -o "$out/securesend" ./cmd/securesend
go build -o "$out/mailserver" ./bench/mailserver

echo "starting Postfix + Dovecot ..."
"$out/mailserver" -info "$work/info.json" 2>"$work/mailserver.log" &
msrv=$!
for _ in $(seq 1 240); do
	[ -s "$work/info.json" ] && break
	kill -0 "$msrv" 2>/dev/null || { cat "$work/mailserver.log" >&2; exit 1; }
	sleep 0.5
done
[ -s "$work/info.json" ] || { echo "send-rss: the mail server did not start" >&2; cat "$work/mailserver.log" >&2; exit 1; }

json() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$work/info.json"; }
smtps=$(json smtps)
ca=$(json ca_file)
password=$(json password)
from=$(sed -n 's/^    "\(doctor@[^"]*\)",\{0,1\}$/\1/p' "$work/info.json")
to=$(sed -n 's/^    "\(pharmacy@[^"]*\)",\{0,1\}$/\1/p' "$work/info.json")

doc="$work/document.bin"
echo "writing a ${size_mb} MB random document ..."
head -c "${size_mb}M" /dev/urandom >"$doc"

# The same document as a MIME message for curl (base64, CRLF line ends).
{
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: RSS bench (curl)\r\nMIME-Version: 1.0\r\n' "$from" "$to"
	printf 'Content-Type: multipart/mixed; boundary="b0undary"\r\n\r\n'
	printf -- '--b0undary\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbench\r\n'
	printf -- '--b0undary\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n'
	printf 'Content-Disposition: attachment; filename="document.bin"\r\n\r\n'
	base64 -w 76 "$doc" | sed 's/$/\r/'
	printf -- '--b0undary--\r\n'
} >"$work/message.eml"
printf 'machine 127.0.0.1 login %s password %s\n' "$from" "$password" >"$work/netrc"
chmod 600 "$work/netrc"

echo "sending with securesend ..."
set +e
printf '%s\n' "$password" | /usr/bin/time -v -o "$work/securesend.time" \
	"$out/securesend" send --server "127.0.0.1:$smtps" --security tls --ca-file "$ca" \
	--user "$from" --password-stdin --from "$from" --to "$to" --subject "RSS bench (securesend)" \
	--timeout 10m "$doc" >"$work/securesend.out" 2>&1
ss_rc=$?
echo "sending with curl ..."
/usr/bin/time -v -o "$work/curl.time" \
	curl -sS --ssl-reqd --url "smtps://127.0.0.1:$smtps" --cacert "$ca" --netrc-file "$work/netrc" \
	--mail-from "$from" --mail-rcpt "$to" --upload-file "$work/message.eml" >"$work/curl.out" 2>&1
curl_rc=$?
set -e

# What Postfix received, as proof that both uploads really happened.
dir=$(json dir)
echo
echo "Postfix accepted:"
grep -E 'qmgr.*from=.*size=' "$dir/logs/postfix.log" | sed 's/.*qmgr\[[0-9]*\]: /  /' || echo "  nothing"

rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }

echo
echo "Sending a ${size_mb} MB document through Postfix over implicit TLS on loopback"
printf '%-12s %15s %14s %6s\n' tool "peak RSS (MB)" "wall (m:ss)" exit
printf '%-12s %15s %14s %6s\n' securesend "$(rss_mb "$work/securesend.time")" "$(wall "$work/securesend.time")" "$ss_rc"
printf '%-12s %15s %14s %6s\n' curl "$(rss_mb "$work/curl.time")" "$(wall "$work/curl.time")" "$curl_rc"
echo "securesend target: peak RSS < ${target_mb} MB"

if [ "$ss_rc" -ne 0 ]; then
	echo "securesend send failed:" >&2
	cat "$work/securesend.out" >&2
	exit 1
fi
if [ "$curl_rc" -ne 0 ]; then
	echo "curl failed (the comparison is incomplete):" >&2
	cat "$work/curl.out" >&2
fi
ss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/securesend.time")
if [ "$ss_kb" -ge $((target_mb * 1024)) ]; then
	echo "OVER TARGET: securesend peaked at $((ss_kb / 1024)) MB" >&2
	exit 1
fi
echo "within target"
