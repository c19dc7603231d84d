#!/bin/sh
# Runs inside pg_virtualenv (PGHOST, PGPORT, PGUSER, PGPASSWORD are set):
# pg_regress, then the TAP tests, then writes "passed failed" to
# $MIRAI_WORK/status for test/run.sh.
set -u

passed=0
failed=0

# The server opens fixtures by a path relative to its data directory, so
# that error messages in expected/ do not depend on where the tests run.
datadir=$(psql -X -A -t -c 'SHOW data_directory')
ln -sfn "$MIRAI_FIXTURES" "$datadir/mirai_fixtures"
export MIRAI_FIXTURES_SQL=mirai_fixtures

echo "== pg_regress"
make -s installcheck >"$MIRAI_WORK/regress.log" 2>&1
cat "$MIRAI_WORK/regress.log"
ok=$(grep -Ec '^(test| )? *[a-z_0-9]+ +\.\.\. ok' "$MIRAI_WORK/regress.log")
bad=$(grep -Ec '\.\.\. FAILED|\.\.\. failed' "$MIRAI_WORK/regress.log")
if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
	bad=1						# pg_regress did not run at all
fi
passed=$((passed + ok))
failed=$((failed + bad))
if [ -f regression.diffs ] && [ "$bad" -gt 0 ]; then
	head -n 200 regression.diffs
fi

echo "== TAP tests"
for t in test/t/*.t; do
	[ -f "$t" ] || continue
	out="$MIRAI_WORK/$(basename "$t").tap"
	timeout 900 "./$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	ok=$(grep -c '^ok ' "$out")
	bad=$(grep -c '^not ok ' "$out")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	# a script that died or ran fewer tests than planned counts as a failure
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
	elif [ -n "$plan" ] && [ $((ok + bad)) -lt "$plan" ]; then
		bad=$((bad + plan - ok - bad))
	elif [ -z "$plan" ]; then
		bad=$((bad + 1))		# no plan line: the script stopped early
	fi
	echo "-- $t: $ok passed, $bad failed"
	passed=$((passed + ok))
	failed=$((failed + bad))
done

echo "$passed $failed" >"$MIRAI_WORK/status"
