#!/bin/sh
# Benchmark of mirai_load, against baselines measured in the same
# run.  Runs inside pg_virtualenv (test/bench/run.sh; PG* are set):
#
#   sh test/bench/loader.sh [PACKETS]        (default 2100000, ~70% Mirai)
#
# On a generated pcap of PACKETS records, the rows per second of:
#   (a) mirai_load FILE
#   (b) INSERT INTO t SELECT pcap_read(FILE)           (select-list form)
#   (c) tcpdump -tt -n -r FILE | awk | psql -c "COPY cols(...) FROM STDIN"
#       into a table of plain columns (the pipeline mirai_load replaces)
#   (d) mirai_load FILE.gz  vs  zcat FILE.gz | mirai_load -
#       (and the same two with --dry-run: decoding alone, no database)
#   (e) mirai_load -j 2 on two files  vs  one file
#   (r) for reference: the server's own COPY t FROM 'server file'
#       (FORMAT binary) of the same rows, the ceiling of any COPY client
# and the ratios against the bars: a/b >= 1, a/c >= 4, d >= 2, e >= 1.6.
#
# For each, also the CPU seconds (median of the rounds) of: the client
# (every process of the command: mirai_load, zcat, tcpdump, awk, psql),
# the server's backends (what the postmaster reaped: the backends that ran
# the command), the server's background processes (WAL writer,
# checkpointer, ...), and the other processes of the machine (CPU time the
# kernel counted as busy, less the three before) -- the figures behind
# what limits a ratio.  Linux only (/proc).
#
# The machine is shared and noisy: every timing is the median of ROUNDS
# runs (default 5; the slow baseline (c): BASE_ROUNDS, default 1), taken
# in alternation with the others so that noise hurts every side alike.
set -eu

packets=${1:-2100000}
rounds=${ROUNDS:-5}
base_rounds=${BASE_ROUNDS:-1}
top=$(pwd)
gen=${MIRAI_GEN:-$top/src/bin/mirai_gen}
load=${MIRAI_LOAD:-$top/src/bin/mirai_load}
awkprog=$top/test/bench/tcpdump_to_copy.awk
db=mirai_bench_load

dir=$(mktemp -d /tmp/mirai_bench_load.XXXXXX)
chmod 755 "$dir"
trap 'rm -rf "$dir"; dropdb --if-exists $db >/dev/null 2>&1 || true' EXIT INT TERM
umask 022

"$gen" -s 1 -n "$packets" -o "$dir/one.pcap"
"$gen" -s 2 -n "$packets" -o "$dir/two.pcap"
"$gen" -s 1 -n "$packets" -z -o "$dir/one.pcap.gz"

dropdb --if-exists $db >/dev/null 2>&1 || true
createdb $db
q() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d $db -c "SET client_min_messages = warning" -c "$1"
}
q "CREATE EXTENSION mirai_ext"
# no autovacuum: a VACUUM or ANALYZE of one run's 2 M rows would otherwise
# land, at random, in the time and CPU of a later run
q "CREATE TABLE t (p packet) WITH (autovacuum_enabled = off)"
q "CREATE TABLE cols (ts timestamptz, src inet, dst inet, sport int, dport int, seq bigint, flags int, ttl int) WITH (autovacuum_enabled = off)"

# seconds since an arbitrary point, with nanoseconds
now() {
	date +%s.%N
}

# CPU accounting, in clock ticks: the reaped children of this shell (the
# client), of the postmaster (backends), the live children of the
# postmaster (background), and the machine's busy time
tck=$(getconf CLK_TCK)
pm=$(head -n 1 "$(q "SHOW data_directory")/postmaster.pid" 2>/dev/null || echo 0)
reaped() {
	awk '{ print $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
background() {
	for c in $(pgrep -P "$pm" 2>/dev/null); do
		awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}
busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# empty the tables and the ledger between runs, and settle
reset() {
	q "TRUNCATE t, cols; DELETE FROM mirai_load_ledger; CHECKPOINT" >/dev/null
}

# time_of NAME COMMAND...: run once after a reset, append "seconds" to
# $dir/NAME.times and remember the rows loaded in $dir/NAME.rows
time_of() {
	name=$1
	shift
	reset
	b0=$(reaped "$pm") g0=$(background) m0=$(busy) c0=$(reaped $$)
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	c1=$(reaped $$) m1=$(busy)
	sleep 0.2					# the postmaster reaps the backends
	b1=$(reaped "$pm") g1=$(background)
	echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }' >>"$dir/$name.times"
	# client, backends, background, others (seconds)
	echo "$c0 $c1 $b0 $b1 $g0 $g1 $m0 $m1 $tck" | awk '{
		c = $2 - $1; b = $4 - $3; g = $6 - $5; o = ($8 - $7) - c - b - g
		printf "%.2f %.2f %.2f %.2f\n", c / $9, b / $9, g / $9, (o > 0 ? o : 0) / $9 }' >>"$dir/$name.cpu"
	q "SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM cols)" >"$dir/$name.rows"
}

median() {
	sort -n "$dir/$1.times" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# cpu NAME COLUMN: the median of one CPU column over the rounds
cpu() {
	awk -v k="$2" '{ print $k }' "$dir/$1.cpu" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

run_a() { "$load" -q -d $db -t t "$dir/one.pcap"; }
run_b() { q "INSERT INTO t SELECT pcap_read('$dir/one.pcap')"; }
run_c() {
	tcpdump -tt -n -r "$dir/one.pcap" 2>/dev/null | awk -f "$awkprog" |
		psql -X -q -d $db -c "COPY cols(ts, src, dst, sport, dport, seq, flags, ttl) FROM STDIN"
}
run_dgz() { "$load" -q -d $db -t t "$dir/one.pcap.gz"; }
run_dzcat() { zcat "$dir/one.pcap.gz" | "$load" -q -d $db -t t -; }
run_dgz_dry() { "$load" -q -n "$dir/one.pcap.gz"; }
run_dzcat_dry() { zcat "$dir/one.pcap.gz" | "$load" -q -n -; }
run_e1() { "$load" -q -d $db -t t "$dir/one.pcap"; }
run_e2() { "$load" -q -j 2 -d $db -t t "$dir/one.pcap" "$dir/two.pcap"; }
run_r() { q "COPY t FROM '$rows' (FORMAT binary)"; }

# the rows of (a) as a binary COPY file in the server's data directory, for (r)
rows=$(q "SHOW data_directory")/mirai_bench_rows.bin
run_a
q "COPY t TO '$rows' (FORMAT binary)"

echo "loader benchmark: $packets records, $(stat -c %s "$dir/one.pcap") bytes (gzip: $(stat -c %s "$dir/one.pcap.gz")), median of $rounds rounds"
i=0
while [ $i -lt "$rounds" ]; do
	for m in a b dgz dzcat dgz_dry dzcat_dry e1 e2 r; do
		time_of $m run_$m
	done
	if [ $i -lt "$base_rounds" ]; then
		time_of c run_c
	fi
	i=$((i + 1))
done

# rate NAME: rows per second of the median run
rate() {
	echo "$(cat "$dir/$1.rows") $(median "$1")" | awk '{ printf "%.0f", $1 / $2 }'
}
line() {
	printf '  %-58s %9s rows %7.3f s %6.2f M rows/s\n' "$2" "$(cat "$dir/$1.rows")" "$(median "$1")" \
		"$(echo "$(rate "$1")" | awk '{ print $1 / 1e6 }')"
}
cpuline() {
	printf '  %-58s %7s %7s %7s %7s\n' "$2" "$(cpu "$1" 1)" "$(cpu "$1" 2)" "$(cpu "$1" 3)" "$(cpu "$1" 4)"
}
# dry runs count the packets decoded, not rows
for m in dgz_dry dzcat_dry; do
	cat "$dir/a.rows" >"$dir/$m.rows"
done

line a "(a) mirai_load FILE"
line b "(b) INSERT INTO t SELECT pcap_read(FILE)"
line c "(c) tcpdump -tt -n | awk | psql COPY (IPv4 TCP rows only)"
line dgz "(d) mirai_load FILE.gz"
line dzcat "(d) zcat FILE.gz | mirai_load -"
line dgz_dry "(d) mirai_load --dry-run FILE.gz (decode only)"
line dzcat_dry "(d) zcat FILE.gz | mirai_load --dry-run - (decode only)"
line e1 "(e) mirai_load, one file"
line e2 "(e) mirai_load -j 2, two files"
line r "(r) server-side COPY t FROM 'file' (FORMAT binary)"

echo "CPU seconds (median of the rounds):"
printf '  %-58s %7s %7s %7s %7s\n' "" client backend backgr others
cpuline a "(a) mirai_load FILE"
cpuline b "(b) INSERT INTO t SELECT pcap_read(FILE)"
cpuline c "(c) tcpdump | awk | psql COPY"
cpuline dgz "(d) mirai_load FILE.gz"
cpuline dzcat "(d) zcat FILE.gz | mirai_load -"
cpuline e1 "(e) mirai_load, one file"
cpuline e2 "(e) mirai_load -j 2, two files"
cpuline r "(r) server-side COPY FROM 'file'"

ratio() {
	awk -v x="$(rate "$1")" -v y="$(rate "$2")" -v bar="$3" -v label="$4" 'BEGIN {
		r = x / y
		printf "  %-44s %5.2f  (bar >= %s: %s)\n", label, r, bar, (r >= bar) ? "met" : "NOT MET"
	}'
}
echo "ratios (rows per second):"
ratio a b 1 "(a) mirai_load / (b) INSERT pcap_read"
ratio a c 4 "(a) mirai_load / (c) tcpdump|awk|psql"
ratio dgz dzcat 2 "(d) FILE.gz / zcat | mirai_load -"
ratio e2 e1 1.6 "(e) -j 2 on two files / one file"
echo "for reference (no bar):"
echo "$(rate dgz_dry) $(rate dzcat_dry)" | awk '{ printf "  %-44s %5.2f\n", "(d) the same, decoding only (--dry-run)", $1 / $2 }'
echo "$(rate a) $(rate r)" | awk '{ printf "  %-44s %5.2f\n", "(a) mirai_load / (r) server-side COPY", $1 / $2 }'
