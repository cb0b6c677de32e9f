#!/usr/bin/env bash
# demo-go.sh — `sudo make demo-go`: the Go demo service (target/gosvc, an
# unmodified Go program) in unsafe mode, run under mapwatch's live view.
# Go's runtime kills it within milliseconds to a second of the first race it
# notices (`fatal error: concurrent map iteration and map write`, exit 2);
# mapwatch flags the race first, with both goroutines' stacks, and the view
# stays on the final state until you press q. Throttled (-R) so the race
# builds up over a few seconds. Without a terminal: plain output instead.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "run as root: sudo make demo-go"
	exit 1
fi
for b in build/gosvc build/mapwatch; do
	if [ ! -x "$b" ]; then
		echo "demo-go: $b is missing; run make go first"
		exit 1
	fi
done
args=(--mode unsafe --writers 1 --iterators 2 --readers 0 --rate 2000 --duration 30)
if [ -t 1 ]; then
	exec build/mapwatch -- build/gosvc "${args[@]}"
else
	exec build/mapwatch --plain -d 10 -- build/gosvc "${args[@]}"
fi
