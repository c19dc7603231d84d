#!/bin/sh
# Run every benchmark script test/bench/*.sh (each prints its own figures).
set -u
status=0
for s in "$(dirname "$0")"/*.sh; do
	[ "$(basename "$s")" = run.sh ] && continue
	echo "=== $s"
	sh "$s" || status=1
done
exit $status
