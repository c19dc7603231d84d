#!/bin/sh
# Run every test against a throw-away PostgreSQL 15 cluster and end with the
# line "N passed, N failed".  Called by `make test` after the build and the
# install; run it from the top of the repository.
#
#   1. the extension is installed into a private tree in a temporary
#      directory, and test/fixtures.sh makes the capture files (mirai_gen,
#      seeded) there, readable by the server's user;
#   2. pg_virtualenv starts a cluster and runs test/in_cluster.sh in it, which
#      runs pg_regress (sql/, expected/) and every test/t/*.t (TAP);
#   3. each pg_regress test and each TAP assertion counts once.
set -u

top=$(pwd)
work=$(mktemp -d /tmp/mirai_test.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

export MIRAI_TOP="$top"
export MIRAI_WORK="$work"
export MIRAI_GEN="$top/src/bin/mirai_gen"
export MIRAI_LOAD="$top/src/bin/mirai_load"
export MIRAI_FIXTURES="$work/fixtures"

# the extension goes to a private tree that the test cluster reads through
# Debian's extension_destdir setting: the system's installation is left
# alone, and several runs (clones, branches) can test at once
if ! make --no-print-directory -s install DESTDIR="$work/root" >"$work/install.log" 2>&1; then
	cat "$work/install.log"
	echo "could not install the extension into $work/root"
	echo "0 passed, 1 failed"
	exit 1
fi
chmod -R a+rX "$work/root"

if ! sh test/fixtures.sh "$MIRAI_FIXTURES" >"$work/fixtures.log" 2>&1; then
	cat "$work/fixtures.log"
	echo "could not make the test capture files"
	echo "0 passed, 1 failed"
	exit 1
fi

# -t: a temporary cluster even as root (the server runs as postgres)
pg_virtualenv -t -v 15 -o 'max_worker_processes=8' -o "extension_destdir=$work/root" \
	sh test/in_cluster.sh 2>&1 |
	tee "$work/log"
status=$(tail -n 1 "$work/status" 2>/dev/null || echo "0 1")
passed=${status% *}
failed=${status#* }
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
