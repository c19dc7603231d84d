#!/usr/bin/perl
#
# 095_security.t
#	  An installation updated from 0.1.0 is exactly as safe as a fresh
#	  install of the current version, and one not yet updated is safe
#	  with the new library:
#	  1. a database made at 0.1.0, with tracked tables, leftovers of a
#	     dropped table and a view registered that mirai_track did not make,
#	     is updated; the leftovers are gone, the registration reset, UPDATE
#	     tracked, the rollups equal the rows, and sql/security.sql (the
#	     attacks of the pg_regress suite) gives exactly expected/security.out;
#	  2. a database still at 0.1.0 (its SQL functions, this library):
#	     both escalation routes fail through the 0.1.0 functions, and a
#	     role cannot register another role's view;
#	  3. pg_dump of both succeeds and restores into a new database whose
#	     views answer the same.
#
# Runs inside the test cluster (PGHOST, PGPORT, PGUSER set by
# test/in_cluster.sh); MIRAI_TOP is the repository.
#
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiOld qw(old_track);

my $top = $ENV{MIRAI_TOP} // '.';
my $work = $ENV{MIRAI_WORK} // '/tmp';
$ENV{PGOPTIONS} = '-c client_min_messages=warning';

sub shq
{
	my ($s) = @_;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

# Run SQL in a database: (exit status, output with errors).
sub psql
{
	my ($db, $sql) = @_;
	my $out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -d $db -c @{[shq($sql)]} 2>&1`;
	my $rc = $? >> 8;
	chomp $out;
	return wantarray ? ($rc, $out) : $out;
}

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "$f: $!\n";
	local $/;
	return <$fh>;
}

# A Mirai packet's text, and as a literal.
sub mpt
{
	my ($ts, $src, $dport) = @_;
	return "$ts tcp $src:40000 > 203.0.113.7:$dport flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54";
}

sub mp
{
	return "'" . mpt(@_) . "'";
}

# The differences between the views and the GROUP BY over a table.
my $DIFF = <<'SQL';
WITH raw AS (SELECT (packet_time(p) AT TIME ZONE 'UTC')::date AS day, packet_src(p) AS src,
                    count(*) AS n FROM %1$s WHERE is_mirai(p) GROUP BY 1, 2),
     v AS (SELECT day, src, packets AS n FROM mirai_sources WHERE tbl = '%1$s'::regclass)
SELECT count(*) FROM ((TABLE raw EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE raw)) x
SQL

sub diff
{
	my ($db, $t) = @_;
	return scalar psql($db, sprintf($DIFF, $t));
}

for my $d (qw(mirai_t095_upd mirai_t095_old mirai_t095_restored))
{
	system("dropdb --if-exists $d >/dev/null 2>&1");
}

# ---- 1. updated from 0.1.0 -------------------------------------------------
my $db = 'mirai_t095_upd';
system("createdb $db") == 0 or BAIL_OUT("createdb $db failed");
my ($rc, $out) = psql($db, "CREATE EXTENSION mirai_ext VERSION '0.1.0'");
is($rc, 0, 'install 0.1.0') or diag($out);
# rollups as the 0.1.0 library made them (test/lib/MiraiOld.pm): the library
# now installed refuses to write rollup tables older than itself
old_track(db => $db, table => 'old_cap', packets => [
		map { mpt(@$_) } (['2024-12-14T00:00:00Z', '192.0.2.1', 23], ['2024-12-14T01:00:00Z', '192.0.2.2', 23])]);
psql($db, "ALTER TABLE old_cap ADD COLUMN note text; UPDATE old_cap SET note = CASE WHEN packet_src(p) = '192.0.2.1' THEN 'a' ELSE 'b' END");
old_track(db => $db, table => 'gone', packets => [mpt('2024-12-14T00:00:00Z', '192.0.2.9', 23)]);
($rc, $out) = psql($db, "INSERT INTO mirai_load_ledger (table_name, file_name, file_size, content_hash, packets) "
	  . "VALUES ('gone', 'f.pcap', 1, decode(repeat('ab', 32), 'hex'), 1); SELECT 'gone'::regclass::oid");
is($rc, 0, '0.1.0: tables tracked and loaded') or diag($out);
my ($gone) = $out =~ /(\d+)\s*$/;
# 0.1.0 keeps the rows of a dropped table
psql($db, 'DROP TABLE gone CASCADE');
is(psql($db, "SELECT count(*) FROM mirai_rollup_day WHERE tbl::oid = $gone"), '1',
	'0.1.0 left the rollups of a dropped table behind');
# what the 0.1.0 hole allowed: another role's view registered as a handle
psql($db, "CREATE ROLE regress_t095_victim; CREATE TABLE victim (a int); CREATE VIEW victim_v AS SELECT * FROM victim; "
	  . "ALTER VIEW victim_v OWNER TO regress_t095_victim; "
	  . "UPDATE mirai_tracked SET daily_view = 'victim_v' WHERE tbl = 'old_cap'::regclass");

($rc, $out) = psql($db, 'ALTER EXTENSION mirai_ext UPDATE');
is($rc, 0, 'ALTER EXTENSION mirai_ext UPDATE') or diag($out);
my ($current) = `sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $top/mirai_ext.control` =~ /(\S+)/;
is(psql($db, "SELECT extversion FROM pg_extension WHERE extname = 'mirai_ext'"), $current, "now at $current");
is(psql($db, "SELECT (SELECT count(*) FROM mirai_rollup_day WHERE tbl::oid = $gone) + "
		. "(SELECT count(*) FROM mirai_rollup_hour WHERE tbl::oid = $gone) + "
		. "(SELECT count(*) FROM mirai_tracked WHERE tbl::oid = $gone) + "
		. "(SELECT count(*) FROM mirai_load_ledger WHERE table_name::oid = $gone)"),
	'0', 'the update removed the leftovers of the dropped table');
is(psql($db, "SELECT daily_view FROM mirai_tracked WHERE tbl = 'old_cap'::regclass"), 'old_cap',
	'a registered view mirai_track did not make is replaced by the table');
is(psql($db, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'old_cap'::regclass AND tgname = 'mirai_rollup_update'"),
	'1', 'the tracked table got the update trigger');
psql($db, "UPDATE old_cap SET p = " . mp('2024-12-15T00:00:00Z', '192.0.2.3', 23) . " WHERE note = 'a'");
is(diff($db, 'old_cap'), '0', 'an UPDATE of packets is followed by the rollups');
($rc, $out) = psql($db, 'SELECT mirai_untrack(\'old_cap\'); SELECT count(*) FROM pg_class WHERE relname = \'victim_v\'');
is((split /\n/, $out)[-1], '1', "mirai_untrack leaves another role's view alone");

# the attacks of the regression suite, with the same output
{
	local $ENV{PGOPTIONS} = '';
	local $ENV{PGTZ} = 'PST8PDT';
	local $ENV{PGDATESTYLE} = 'Postgres, MDY';
	my $got = `psql -X -a -q -d $db < $top/sql/security.sql 2>&1`;
	my $want = slurp("$top/expected/security.out");
	ok($got eq $want, 'sql/security.sql gives expected/security.out on the updated installation')
	  or do
	{
		open(my $fh, '>', "$work/095_security.out");
		print $fh $got;
		close($fh);
		diag(`diff -u $top/expected/security.out $work/095_security.out | head -40`);
	};
}

# ---- 2. still at 0.1.0, with this library ----------------------------------
my $old = 'mirai_t095_old';
system("createdb $old") == 0 or BAIL_OUT("createdb $old failed");
psql($old, "CREATE EXTENSION mirai_ext VERSION '0.1.0'");
psql($old, 'CREATE ROLE regress_t095_plain; CREATE ROLE regress_t095_owner; '
	  . 'GRANT CREATE ON SCHEMA public TO regress_t095_plain, regress_t095_owner');
my $evil = q{$$BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', session_user); RETURN NULL; END$$};
($rc, $out) = psql($old, "SET SESSION AUTHORIZATION regress_t095_plain; "
	  . "CREATE FUNCTION pg_temp.evil() RETURNS packet LANGUAGE plpgsql AS $evil; "
	  . "CREATE TEMP VIEW v AS SELECT pg_temp.evil() AS p; "
	  . "SELECT mirai_rollup_admin('v'::regclass, 'track', 'UTC', 'follow', 'v', 'v', 'v')");
like($out, qr/"pg_temp\.v" is not a table/, '0.1.0 SQL, route 1: the temporary view is refused');
is(psql($old, "SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_t095_plain'"), 'f',
	'0.1.0 SQL, route 1: the role is not superuser');

($rc, $out) = psql($old, "SET SESSION AUTHORIZATION regress_t095_owner; CREATE TABLE t (p packet)");
is($rc, 0, '0.1.0 SQL: the owner makes a table') or diag($out);
psql($old, 'VACUUM t');
($rc, $out) = psql($old, "SET SESSION AUTHORIZATION regress_t095_owner; "
	  . "CREATE FUNCTION evil2() RETURNS packet LANGUAGE plpgsql AS $evil; "
	  . "CREATE RULE \"_RETURN\" AS ON SELECT TO t DO INSTEAD SELECT evil2() AS p; "
	  . "SELECT mirai_rebuild('t')");
like($out, qr/"public\.t" is not a table/, '0.1.0 SQL, route 2: the table made a view is refused');
is(psql($old, "SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_t095_owner'"), 'f',
	'0.1.0 SQL, route 2: the role is not superuser');

# a tracked table of 0.1.0 takes no rows until the update: the error says so
old_track(db => $old, table => 'tracked_old', packets => [mpt('2024-12-14T00:00:00Z', '192.0.2.1', 23)]);
($rc, $out) = psql($old, "INSERT INTO tracked_old VALUES (" . mp('2024-12-14T02:00:00Z', '192.0.2.1', 23) . ")");
like($out, qr/rollup tables of mirai_ext are older than its library.*ALTER EXTENSION mirai_ext UPDATE/s,
	'0.1.0 SQL: a load into a tracked table asks for ALTER EXTENSION UPDATE');

# registering another role's view as a handle
psql($old, "CREATE TABLE victim (a int); CREATE VIEW victim_v AS SELECT * FROM victim; "
	  . "GRANT SELECT ON victim_v TO regress_t095_plain");
($rc, $out) = psql($old, "SET SESSION AUTHORIZATION regress_t095_plain; "
	  . "CREATE TABLE mine (p packet); "
	  . "SELECT mirai_rollup_admin('mine', 'track', 'UTC', 'follow', 'victim_v', 'victim_v', 'victim_v')");
like($out, qr/is not a daily view of table/, "0.1.0 SQL: another role's view cannot be registered");

# ---- 3. dumps ----------------------------------------------------------------
psql($db, "CREATE TABLE cap (p packet); SELECT mirai_track('cap'); INSERT INTO cap VALUES ("
	  . mp('2024-12-14T00:00:00Z', '192.0.2.1', 23) . "), (" . mp('2024-12-14T02:00:00Z', '192.0.2.7', 2323) . ")");
for my $d ($db, $old)
{
	my $dump = "$work/095_$d.sql";
	system("pg_dump -d $d -f $dump 2>$work/095_dump.err");
	is($? >> 8, 0, "pg_dump of $d") or diag(slurp("$work/095_dump.err"));
}
system("createdb mirai_t095_restored");
my $restore = `psql -X -q -v ON_ERROR_STOP=1 -d mirai_t095_restored -f $work/095_$db.sql 2>&1`;
is($? >> 8, 0, 'the dump of the updated database restores') or diag($restore);
is(psql('mirai_t095_restored', "SELECT string_agg(day || ' ' || src || ' ' || packets, ', ' ORDER BY src) FROM mirai_sources WHERE tbl = 'cap'::regclass"),
	psql($db, "SELECT string_agg(day || ' ' || src || ' ' || packets, ', ' ORDER BY src) FROM mirai_sources WHERE tbl = 'cap'::regclass"),
	'the restored views answer the same');
is(diff('mirai_t095_restored', 'cap'), '0', 'restored: the views equal the rows');

for my $d (qw(mirai_t095_upd mirai_t095_old mirai_t095_restored))
{
	system("dropdb --if-exists $d >/dev/null 2>&1");
}
psql('postgres', 'DROP ROLE IF EXISTS regress_t095_victim, regress_t095_plain, regress_t095_owner');
done_testing();
