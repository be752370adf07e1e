#!/bin/sh
# The inbox watch over a mailbox of N delivered messages of 1 MB each
# (default 1000; issue 20): messages per second and peak RSS of one
# 'watch --once --drop' through the real Postfix + Dovecot
# (internal/mailserver), with a smaller run beside it to show whether the
# peak grows with the number of messages.
#
#   bench/watch-1000.sh            # 1000 and 200 messages of 1 MB
#   N=1000 SMALL=0 bench/watch-1000.sh
#
# It runs desk's BenchmarkWatchDovecot (not a timed test) under
# scripts/with-keyring.sh and prints one line per run. The CPU time per
# message (this process's user + system time, getrusage) is steadier than
# the rate on a shared machine. SECURESEND_BENCH_CPUPROFILE=FILE writes a
# CPU profile of the watch alone (the last run's).
set -eu
cd "$(dirname "$0")/.."
N=${N:-1000}
SMALL=${SMALL:-200}
KB=${SECURESEND_BENCH_DOC_KB:-1024}
bin=$(mktemp "${TMPDIR:-/tmp}/securesend-desk-bench.XXXXXX")
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" ./desk/
for n in $N $SMALL; do
	[ "$n" -gt 0 ] || continue
	load=$(cut -d' ' -f1 /proc/loadavg)
	out=$(cd desk && SECURESEND_BENCH_DOC_KB=$KB ../scripts/with-keyring.sh "$bin" \
		-test.run '^$' -test.bench '^BenchmarkWatchDovecot$' -test.benchtime "${n}x" 2>&1) || { printf '%s\n' "$out"; exit 1; }
	line=$(printf '%s\n' "$out" | grep '^BenchmarkWatchDovecot')
	mps=$(printf '%s\n' "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) == "msgs/s") print $i}')
	rss=$(printf '%s\n' "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) == "peak-RSS-MB") print $i}')
	cpu=$(printf '%s\n' "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) == "cpu-ms/msg") print $i}')
	printf '%5d messages of %d KiB: %s messages/s, %s ms of CPU per message, peak RSS %s MB (load before %s, after %s)\n' \
		"$n" "$KB" "$mps" "$cpu" "$rss" "$load" "$(cut -d' ' -f1 /proc/loadavg)"
done
