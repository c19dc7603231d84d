#!/bin/sh
# Before `make installcheck` against a running server: the pg_regress tests
# read capture files as "mirai_fixtures/NAME", relative to the server's data
# directory.  When that link is missing, make the files (test/fixtures.sh)
# in a directory the server can read and link it there, if this user may
# write the data directory (the server's own user, or root); else say what
# the file-reading tests need.  make test sets the link up itself.
set -u
datadir=$(psql -X -A -t -c 'SHOW data_directory' 2>/dev/null) || {
	echo "installcheck: cannot ask the server for its data directory (is it running? PGHOST, PGPORT, PGUSER?)" >&2
	exit 0
}
[ -e "$datadir/mirai_fixtures/ether.pcap" ] && exit 0
if [ ! -w "$datadir" ]; then
	echo "installcheck: $datadir/mirai_fixtures is missing and this user cannot make it:" >&2
	echo "  the tests that read capture files (capture, corpus, salvage, rollup, privileges) will fail;" >&2
	echo "  run as the server's user or root, or use make test (a throw-away cluster)" >&2
	exit 0
fi
dir=${MIRAI_FIXTURES:-/tmp/mirai_fixtures.$(id -u)}
if [ ! -e "$dir/ether.pcap" ]; then
	sh test/fixtures.sh "$dir" >/dev/null 2>&1 || {
		echo "installcheck: could not make the capture files in $dir" >&2
		exit 1
	}
fi
chmod -R a+rX "$dir"
ln -sfn "$dir" "$datadir/mirai_fixtures"
echo "installcheck: capture files in $dir, linked as $datadir/mirai_fixtures"
