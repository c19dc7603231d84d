#!/bin/sh
# Build and run the libFuzzer targets of test/fuzz/.
#
#   sh test/fuzz/run.sh build    build the fuzzers and the replay programs
#   sh test/fuzz/run.sh smoke    build, then run each target FUZZ_SECONDS
#                                (default 8) from the committed corpus
#   sh test/fuzz/run.sh long     the same, FUZZ_SECONDS default 300
#                                (`make fuzz`); finds go to the work corpus
#   sh test/fuzz/run.sh replay   build the replay programs (gcc, ASan,
#                                UBSan, no libFuzzer) and replay the corpora
#
# Environment:
#   FUZZ_OUT      where binaries, work corpora, logs and crash files go
#                 (default build/fuzz; the test suite uses $MIRAI_WORK/fuzz)
#   FUZZ_SECONDS  seconds per target
#   FUZZ_TARGETS  which targets (default "reader text recv entries")
#   FUZZ_CC       the clang to build fuzzers with (default clang, then
#                 clang-14): Debian packages clang and libclang-rt-14-dev
#   REPLAY_CC     the compiler for the replay programs (default gcc)
#   FUZZ_NOBUILD  when set, smoke/long/replay use the binaries already in
#                 FUZZ_OUT (test/t/070_fuzz.t builds once, runs per target)
#
# Targets: reader (whole capture files, fuzz_reader.c), text (packet text
# input, fuzz_text.c), recv (packet binary input, fuzz_recv.c), entries
# (a rollup day row's packed entries, mirai_day_sources' input,
# fuzz_entries.c).  Run it
# from the top of the repository.  A crash leaves its input in
# $FUZZ_OUT/crash-<target>-*; the exit status is then not 0.
set -eu

mode=${1:-smoke}
top=$(pwd)
out=${FUZZ_OUT:-$top/build/fuzz}
targets=${FUZZ_TARGETS:-reader text recv entries}
case $mode in
	long) seconds=${FUZZ_SECONDS:-300} ;;
	*) seconds=${FUZZ_SECONDS:-8} ;;
esac
mkdir -p "$out"

src=$top/test/fuzz
dec=$top/src/decode
common="-std=c99 -D_DEFAULT_SOURCE -U_FORTIFY_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror -I$dec"

# What each target links besides its own file.
objs_for() {
	case $1 in
		reader) echo "mx_reader mx_link mx_frame mx_packet mx_scanner mx_error" ;;
		entries) echo "mx_entries mx_packet mx_scanner mx_error" ;;
		*) echo "mx_packet mx_scanner mx_error" ;;
	esac
}

# build CC FLAGS SUFFIX DRIVER: every target, as $out/<target><SUFFIX>
build_with() {
	cc=$1 flags=$2 suffix=$3 driver=$4
	odir=$out/obj$suffix
	mkdir -p "$odir"
	for f in mx_reader mx_link mx_frame mx_packet mx_scanner mx_error mx_entries; do
		extra=""
		# the reader target serves read(2) itself (see fuzz_reader.c)
		[ "$f" = mx_reader ] && extra="-Dread=fuzz_read"
		$cc $common $flags $extra -c -o "$odir/$f.o" "$dec/$f.c"
	done
	for t in $targets; do
		objs=""
		for f in $(objs_for "$t"); do objs="$objs $odir/$f.o"; done
		# shellcheck disable=SC2086
		$cc $common $flags -o "$out/$t$suffix" "$src/fuzz_$t.c" $driver $objs -lz
	done
}

find_clang() {
	for c in ${FUZZ_CC:-} clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then
			echo "$c"
			return
		fi
	done
	echo "run.sh: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
}

build_fuzzers() {
	cc=$(find_clang)
	build_with "$cc" "-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all" "" ""
}

build_replay() {
	cc=${REPLAY_CC:-gcc}
	build_with "$cc" "-fsanitize=address,undefined -fno-sanitize-recover=all" "_replay" "$src/replay.c"
}

# Options per target: input size bound and dictionary.
fuzz_opts() {
	case $1 in
		reader) echo "-max_len=65536 -dict=$src/reader.dict" ;;
		text) echo "-max_len=512 -dict=$src/text.dict" ;;
		recv) echo "-max_len=72" ;;
		entries) echo "-max_len=4096" ;;
	esac
}

# Run each target for $seconds from a work copy of its committed corpus.
run_fuzzers() {
	status=0
	for t in $targets; do
		work=$out/corpus/$t
		mkdir -p "$work"
		# the committed seeds (and, for the reader, the crafted corpus)
		cp -p "$src/corpus/$t/"* "$work/" 2>/dev/null || true
		[ "$t" = reader ] && cp -p "$top/test/corpus/"*.pcap* "$top/test/corpus/"*.gz "$work/" 2>/dev/null || true
		log=$out/$t.log
		echo "== fuzz $t for ${seconds}s (log $log)"
		# shellcheck disable=SC2046
		if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"$out/$t" $(fuzz_opts "$t") -max_total_time="$seconds" -timeout=20 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$out/crash-$t-" "$work" >"$log" 2>&1; then
			:
		else
			status=1
			echo "fuzz $t: FAILED, see $log and $out/crash-$t-*"
			tail -n 40 "$log"
		fi
		# the last status line: executions, coverage, features, corpus
		grep -E '^#[0-9]+' "$log" | tail -n 1 || true
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
	done
	return $status
}

replay() {
	status=0
	for t in $targets; do
		set -- "$src/corpus/$t"
		[ "$t" = reader ] && set -- "$@" "$top/test/corpus"
		if "$out/${t}_replay" "$@" >"$out/$t.replay.log" 2>&1; then
			tail -n 1 "$out/$t.replay.log"
		else
			status=1
			echo "replay $t: FAILED"
			tail -n 30 "$out/$t.replay.log"
		fi
	done
	return $status
}

case $mode in
	build)
		build_fuzzers
		build_replay
		;;
	smoke | long)
		[ -n "${FUZZ_NOBUILD:-}" ] || build_fuzzers
		run_fuzzers
		;;
	replay)
		[ -n "${FUZZ_NOBUILD:-}" ] || build_replay
		replay
		;;
	*)
		echo "usage: $0 build|smoke|long|replay" >&2
		exit 2
		;;
esac
