#!/bin/sh
# `make bench`: every benchmark in test/bench, in one throw-away cluster
# sized for them.  Each prints its figures as ratios against a baseline
# measured in the same run.  BENCH_ONLY=loader runs only the benchmarks
# whose file name contains "loader".
set -eu
export BENCH_ONLY="${BENCH_ONLY:-}"
# growth.sh: the study's size only (by hand it runs 1x and 10x)
export BENCH_SCALES="${BENCH_SCALES:-1}"
export MIRAI_GEN="$(pwd)/src/bin/mirai_gen"
export MIRAI_LOAD="$(pwd)/src/bin/mirai_load"
exec pg_virtualenv -t -v 15 \
	-o shared_buffers=1GB -o max_wal_size=8GB -o checkpoint_timeout=30min \
	-o max_worker_processes=8 -o work_mem=64MB \
	sh -c 'for b in test/bench/*.pl test/bench/*.sh; do
		case "$b" in */run.sh | */common.sh) continue ;; esac
		[ -f "$b" ] || continue
		case "$b" in *"$BENCH_ONLY"*) ;; *) continue ;; esac
		echo "== $b"
		case "$b" in *.pl) perl "$b" ;; *) sh "$b" ;; esac
	done'
