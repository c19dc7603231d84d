#!/usr/bin/perl
# Released versions are immutable and upgradable.
#
# test/upgrade/mirai_ext--V.sql is the frozen install script of each
# released version V.  The script the Makefile builds for the current
# version must equal its frozen copy once that version is released (a
# changed SQL object needs a new version and an upgrade script).  Every
# older frozen version is installed (the Makefile installs the frozen
# scripts of older versions), given data, updated with ALTER EXTENSION
# UPDATE, and must then read its stored packets back the same and have the
# same objects as a fresh install of the current version.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use MiraiOld qw(old_track);

my $top = $ENV{MIRAI_TOP} // '.';
my $work = $ENV{MIRAI_WORK} // '/tmp';
my ($current) = `sed -n "s/^default_version = '\\(.*\\)'/\\1/p" $top/mirai_ext.control` =~ /(\S+)/;
ok(defined $current, "current version: $current");

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	return <$fh>;
}

my %frozen = map { /--([^-]+)\.sql$/ ? ($1 => $_) : () } glob("$top/test/upgrade/mirai_ext--*.sql");
ok(exists $frozen{$current}, "the current version $current is frozen in test/upgrade/");
my $built = slurp("$top/sql/mirai_ext--$current.sql");
ok(defined $built && defined $frozen{$current} && $built eq slurp($frozen{$current}),
	"the install script built from src/sql/ equals the frozen $current script");

# objects of the extension, as pg_describe_object lists them, each with its
# grants, comment and definition; and the columns, indexes, constraints,
# policies and triggers of its tables: what "the same as a fresh install"
# means for safety as much as for shape
sub objects
{
	my ($db) = @_;
	my $sql = <<'SQL';
WITH m AS (
  SELECT d.classid, d.objid FROM pg_depend d
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mirai_ext'))
SELECT pg_describe_object(m.classid, m.objid, 0)
       || ' acl=' || COALESCE(
            (SELECT proacl::text FROM pg_proc WHERE m.classid = 'pg_proc'::regclass AND oid = m.objid),
            (SELECT relacl::text FROM pg_class WHERE m.classid = 'pg_class'::regclass AND oid = m.objid),
            (SELECT typacl::text FROM pg_type WHERE m.classid = 'pg_type'::regclass AND oid = m.objid), '-')
       || ' comment=' || COALESCE(obj_description(m.objid, (SELECT relname FROM pg_class WHERE oid = m.classid)), '-')
       || ' def=' || COALESCE(
            (SELECT md5(pg_get_functiondef(oid)) FROM pg_proc WHERE m.classid = 'pg_proc'::regclass AND oid = m.objid AND prokind IN ('f', 'p')),
            (SELECT md5(pg_get_viewdef(oid)) FROM pg_class WHERE m.classid = 'pg_class'::regclass AND oid = m.objid AND relkind = 'v'),
            (SELECT md5(evtevent || evtfoid::regproc::text || evtenabled::text) FROM pg_event_trigger WHERE m.classid = 'pg_event_trigger'::regclass AND oid = m.objid), '-')
  FROM m
UNION ALL
SELECT c.relname || ' column ' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) || ' ' || a.attname
       || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' ' || COALESCE(pg_get_expr(ad.adbin, ad.adrelid), '')
       || ' storage=' || a.attstorage::text
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'r'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
SELECT c.relname || ' ' || pg_get_indexdef(i.indexrelid)
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_index i ON i.indrelid = c.oid
UNION ALL
SELECT c.relname || ' constraint ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_constraint co ON co.conrelid = c.oid
UNION ALL
SELECT c.relname || ' policy ' || p.polname || ' ' || p.polcmd::text || ' ' || p.polroles::text || ' '
       || COALESCE(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '')
       || ' rls=' || c.relrowsecurity || c.relforcerowsecurity || ' options=' || COALESCE(c.reloptions::text, '')
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT c.relname || ' trigger ' || pg_get_triggerdef(t.oid)
  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
ORDER BY 1
SQL
	open(my $fh, '>', "$work/090_objects.sql") or die "$!\n";
	print $fh $sql;
	close($fh);
	my $out = `psql -X -A -t -v ON_ERROR_STOP=1 -d $db -f $work/090_objects.sql 2>&1`;
	die "listing the objects of $db failed: $out\n" if $? != 0 || $out !~ /\S/;
	return $out;
}

# views of every kind, shares as 0.2.0 rounds them
sub views
{
	my ($db) = @_;
	my $sql = <<'SQL';
SELECT 'daily', tbl, day, packets, sources FROM mirai_daily ORDER BY 2, 3;
SELECT 'sources', tbl, day, src, country, packets, round(share, 6), first_seen, last_seen, ports FROM mirai_sources ORDER BY 2, 3, 4;
SELECT 'countries', tbl, country, packets, round(share, 6), rank FROM mirai_countries ORDER BY 2, 3;
SELECT 'daily_countries', tbl, day, country, packets FROM mirai_daily_countries ORDER BY 2, 3, 4;
SELECT 'hourly', tbl, "time", packets, all_packets FROM mirai_hourly ORDER BY 2, 3;
SELECT 'bots', tbl, src, country, first_seen, last_seen, first_day, last_day, days, packets, ports FROM mirai_bots ORDER BY 2, 3;
SELECT 'new', tbl, day, new_sources FROM mirai_new_sources ORDER BY 2, 3;
SELECT 'range', tbl, src, country, packets, round(share, 6), days FROM mirai_sources('2024-12-01', '2025-01-01') ORDER BY 2, 3;
SQL
	open(my $fh, '>', "$work/090_views.sql") or die "$!\n";
	print $fh $sql;
	close($fh);
	my $out = `psql -X -A -t -v ON_ERROR_STOP=1 -d $db -f $work/090_views.sql 2>&1`;
	die "reading the views of $db failed: $out\n" if $? != 0;
	return $out;
}

# rows where a view and the same GROUP BY over the table cap differ (the
# scanner dimension: filled by the update from the rows)
sub rows_vs_views
{
	my ($db) = @_;
	my $sql = <<'SQL';
WITH raw AS (SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date AS day, packet_src(p) AS src,
                    packet_dport(p) AS dport, packet_time(p) AS t FROM cap WHERE is_mirai(p)),
     rs AS (SELECT day, src, count(*) AS packets, min(t) AS f, max(t) AS l, array_agg(DISTINCT dport ORDER BY dport) AS ports
              FROM raw GROUP BY 1, 2),
     vs AS (SELECT day, src, packets, first_seen, last_seen, ports FROM mirai_sources WHERE tbl = 'cap'::regclass),
     rd AS (SELECT day, count(*) AS packets, count(DISTINCT src) AS sources FROM raw GROUP BY 1),
     vd AS (SELECT day, packets, sources FROM mirai_daily WHERE tbl = 'cap'::regclass),
     rc AS (SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date AS day, packet_scanner(p) AS scanner,
                   count(*) AS packets, count(DISTINCT packet_src(p)) AS sources FROM cap GROUP BY 1, 2),
     vc AS (SELECT day, scanner, packets, sources FROM mirai_scanners_daily WHERE tbl = 'cap'::regclass)
SELECT (SELECT count(*) FROM ((TABLE rs EXCEPT TABLE vs) UNION ALL (TABLE vs EXCEPT TABLE rs)) x)
     + (SELECT count(*) FROM ((TABLE rd EXCEPT TABLE vd) UNION ALL (TABLE vd EXCEPT TABLE rd)) y)
     + (SELECT count(*) FROM ((TABLE rc EXCEPT TABLE vc) UNION ALL (TABLE vc EXCEPT TABLE rc)) z)
     + (SELECT count(*) FROM (SELECT 1 FROM cap HAVING count(*) > 0) c
         WHERE NOT EXISTS (SELECT FROM mirai_scanners_daily WHERE tbl = 'cap'::regclass))
SQL
	my $out = `psql -X -A -t -v ON_ERROR_STOP=1 -d $db -c @{[sq($sql)]} 2>&1`;
	chomp $out;
	return $out;
}

sub sq
{
	my ($s) = @_;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

# a few days of Mirai packets from a handful of sources, and other packets
my @study;
for my $i (0 .. 59)
{
	my $src = '192.0.2.' . (1 + $i % 7);
	my $ts = sprintf('2024-12-%02dT%02d:%02d:00Z', 13 + $i % 3, $i % 24, $i % 60);
	my $dport = $i % 5 == 0 ? 2323 : 23;
	push @study, "$ts tcp $src:40000 > 203.0.113.7:$dport flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54";
	push @study, "$ts tcp $src:40000 > 203.0.113.7:$dport flags=S seq=7 ack=0 win=1 ttl=50 id=1 len=54" if $i % 4 == 0;
}

my $sample = "'2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'";
system("dropdb --if-exists mirai_t090_fresh >/dev/null 2>&1; createdb mirai_t090_fresh");
system("psql -X -q -d mirai_t090_fresh -c 'CREATE EXTENSION mirai_ext'") == 0 or BAIL_OUT('CREATE EXTENSION failed');
my $fresh = objects('mirai_t090_fresh');

for my $v (sort grep { $_ ne $current } keys %frozen)
{
	my $db = "mirai_t090_$v";
	$db =~ s/\W/_/g;
	system("dropdb --if-exists $db >/dev/null 2>&1; createdb $db");
	is(system("psql -X -q -d $db -c \"CREATE EXTENSION mirai_ext VERSION '$v'\""), 0, "install $v");
	system("psql -X -q -d $db -c \"CREATE TABLE t (p packet); INSERT INTO t VALUES ($sample)\"");
	my $before = `psql -X -A -t -d $db -c 'SELECT p FROM t'`;
	# a tracked table with the rollups that version wrote
	old_track(db => $db, table => 'cap', zone => 'Asia/Tokyo', packets => \@study);
	my $views_before = views($db);
	is(system("psql -X -q -d $db -c 'ALTER EXTENSION mirai_ext UPDATE'"), 0, "update $v to $current");
	is(`psql -X -A -t -d $db -c 'SELECT p FROM t'`, $before, "$v: stored packets read back the same");
	is(views($db), $views_before, "$v: every view answers the same after the update");
	is(rows_vs_views($db), '0', "$v updated: the views equal the GROUP BY over the rows");
	system("psql -X -q -d $db -c \"INSERT INTO cap SELECT p FROM cap WHERE packet_dport(p) = 23; DELETE FROM cap WHERE packet_dport(p) = 2323\" 2>&1");
	is(rows_vs_views($db), '0', "$v updated: ... and after loads and deletes");
	my $updated = objects($db);
	is($updated, $fresh, "$v updated has the objects, grants, comments and definitions of a fresh $current")
	  or diag(join("\n", map { "fresh only: $_" } grep { my $l = $_; index($updated, "$l\n") < 0 } split(/\n/, $fresh)),
			  "\n", join("\n", map { "updated only: $_" } grep { my $l = $_; index($fresh, "$l\n") < 0 } split(/\n/, $updated)));
	system("dropdb $db");
}
system('dropdb mirai_t090_fresh');
done_testing();
