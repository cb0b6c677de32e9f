#!/usr/bin/env bash
# demo.sh — `sudo make demo`: start mapsvc in unsafe mode (races counted, not
# fatal) and watch it in mapwatch's live view until you press q; then stop
# the service. Without a terminal it prints 10 s of plain alerts instead.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "run as root: sudo make demo"
	exit 1
fi
for b in build/mapsvc build/mapwatch; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is missing; run make first"
		exit 1
	fi
done

log=build/demo-mapsvc.log
GOMAP_ONRACE=count build/mapsvc --mode unsafe >"$log" 2>&1 &
svc=$!
stop_svc() {
	kill "$svc" 2>/dev/null
	wait "$svc" 2>/dev/null
}
trap stop_svc EXIT
trap 'exit 130' INT TERM

# mapsvc's first line names its pid and the map: wait for it.
for _ in $(seq 50); do
	head -1 "$log" 2>/dev/null | grep -q '^mapsvc: pid' && break
	if ! kill -0 "$svc" 2>/dev/null; then
		echo "demo: mapsvc did not start:"
		cat "$log"
		exit 1
	fi
	sleep 0.1
done
echo "$(head -1 "$log")   (its output: $log)"

rc=0
if [ -t 1 ]; then
	build/mapwatch -p "$svc" || rc=$?
else
	build/mapwatch --plain -p "$svc" -d 10 || rc=$?
fi
stop_svc
trap - EXIT
tail -3 "$log"
exit "$rc"
