#!/bin/sh
# `make asan-check`: the pg_regress suite against the extension built with
# AddressSanitizer and UndefinedBehaviorSanitizer.  Not part of `make test`
# (a sanitized server is several times slower).  Run from the top of the
# repository, under the install lock like every cluster run:
#
#     flock /tmp/mirai_ext.lock make asan-check
#
# How (the usual way to sanitize an extension without rebuilding
# PostgreSQL): the .so is built with -fsanitize=address,undefined (gcc, the
# compiler PGXS uses) and installed in a private tree, never over the system
# one; a throw-away cluster (pg_virtualenv) loads it from there through
# Debian's extension_destdir setting.  Its postmaster is restarted by hand
# with gcc's libasan preloaded (LD_PRELOAD), because the ASan runtime must be
# the first library of the process and postgres itself is not instrumented;
# every backend inherits it at fork.  Only the server gets the preload:
# psql and pg_ctl, preloaded, hang in glibc's locale locks at exit on Debian
# 12 (so do ps and free: llvm-project issue #49223), and the server itself
# hangs at start-up in bindtextdomain() unless the small shim of
# test/asan_nointl.c is preloaded after libasan (message catalogs off; the
# tests use lc_messages C anyway).  ASAN_OPTIONS: detect_leaks=0 (a backend
# frees by memory contexts and exits without freeing: not leaks),
# abort_on_error=1 (a finding kills the backend, so the test fails visibly),
# log_path (reports go to files, checked below).  JIT is off (its bitcode is
# of the normal build).
#
# Limits: memory that PostgreSQL hands out with palloc lives inside
# malloc'd blocks, so ASan sees overruns of the decoder's malloc'd buffers
# (the reader's window, interfaces, zlib state) and of the C stack, but not
# an overrun of one palloc chunk into the next (that would need a
# PostgreSQL built with ASan or Valgrind support).
set -u

top=$(pwd)
work=$(mktemp -d /tmp/mirai_asan.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

libasan=$(gcc -print-file-name=libasan.so)
libasan=$(readlink -f "$libasan")
if [ ! -f "$libasan" ]; then
	echo "asan-check: gcc's libasan not found (Debian: libasan8, a dependency of gcc-12)" >&2
	exit 1
fi

echo "== building the ASan/UBSan extension"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$work/asan_nointl.so" test/asan_nointl.c || exit 1
chmod 755 "$work/asan_nointl.so"
if ! make --no-print-directory -s asan-install ASAN_ROOT="$work/root" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	exit 1
fi
chmod -R a+rX "$work/root"

export MIRAI_TOP="$top" MIRAI_WORK="$work" MIRAI_GEN="$top/src/bin/mirai_gen"
export MIRAI_FIXTURES="$work/fixtures"
sh test/fixtures.sh "$MIRAI_FIXTURES" >"$work/fixtures.log" 2>&1 || {
	cat "$work/fixtures.log"
	exit 1
}

mkdir -p "$work/reports"
chmod 777 "$work/reports"
export MIRAI_ASAN_PRELOAD="$libasan $work/asan_nointl.so"
export MIRAI_ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$work/reports/asan"
export MIRAI_UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/reports/ubsan"

cat >"$work/inner.sh" <<'IN'
set -u
datadir=$(psql -X -A -t -c 'SHOW data_directory')
conf=$(psql -X -A -t -c 'SHOW config_file')
bindir=$(pg_config --bindir)
ln -sfn "$MIRAI_FIXTURES" "$datadir/mirai_fixtures"
# restart the postmaster with libasan preloaded (the server only)
pg_ctlcluster 15 regress stop
as_owner=""
[ "$(id -u)" = 0 ] && as_owner="runuser -u $(stat -c %U "$datadir") --"
$as_owner env LD_PRELOAD="$MIRAI_ASAN_PRELOAD" ASAN_OPTIONS="$MIRAI_ASAN_OPTIONS" \
	UBSAN_OPTIONS="$MIRAI_UBSAN_OPTIONS" \
	"$bindir/postgres" -D "$datadir" -c config_file="$conf" \
	>"$MIRAI_WORK/server.log" 2>&1 &
for i in $(seq 1 60); do
	pg_isready -q && break
	sleep 1
done
# the backend really is sanitized: libasan and the private .so are mapped
psql -X -A -t -c "CREATE EXTENSION IF NOT EXISTS mirai_ext" \
	-c "SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap')" \
	-c "SELECT pg_read_file('/proc/self/maps')" >"$MIRAI_WORK/maps" 2>&1
psql -X -q -c "DROP EXTENSION mirai_ext"
make -s installcheck >"$MIRAI_WORK/regress.log" 2>&1
echo $? >"$MIRAI_WORK/regress.rc"
# fast shutdown; pg_virtualenv drops the stopped cluster
kill -INT "$(head -n 1 "$datadir/postmaster.pid")"
for i in $(seq 1 60); do
	[ -f "$datadir/postmaster.pid" ] || break
	sleep 1
done
IN

echo "== pg_regress against it (libasan preloaded in the postmaster)"
# (a time limit, so that a hang cannot hold the install lock for ever)
timeout -k 10 1500 pg_virtualenv -t -v 15 -o "extension_destdir=$work/root" -o jit=off \
	sh "$work/inner.sh"
cat "$work/regress.log"

status=0
if grep -q "$work/root.*mirai_ext.so" "$work/maps" && grep -q libasan "$work/maps"; then
	echo "ok: backends run the sanitized mirai_ext.so with libasan"
else
	echo "FAILED: the backend did not load the sanitized build"
	head -n 20 "$work/maps"
	status=1
fi
if [ "$(cat "$work/regress.rc" 2>/dev/null)" != 0 ]; then
	echo "FAILED: pg_regress"
	[ -f regression.diffs ] && head -n 100 regression.diffs
	status=1
fi
# UBSan writes some reports to the server's stderr whatever log_path says
grep -h -B2 -A20 "runtime error:\|ERROR: AddressSanitizer" "$work/server.log" >"$work/reports/server-log" 2>/dev/null ||
	rm -f "$work/reports/server-log"
reports=$(ls "$work/reports")
if [ -n "$reports" ]; then
	echo "FAILED: sanitizer reports:"
	for r in "$work"/reports/*; do
		echo "--- $r"
		head -n 60 "$r"
	done
	status=1
else
	echo "ok: no AddressSanitizer or UBSan report"
fi
[ $status = 0 ] && echo "asan-check passed" || echo "asan-check FAILED"
exit $status
