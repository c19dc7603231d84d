package MiraiOld;

#
# Rollups as a 0.1.x library wrote them, for tests of ALTER EXTENSION
# UPDATE: in a database whose extension is still at 0.1.x, the current
# library refuses to write the rollup tables (they are older than it), so
# these helpers write them directly, as the superuser, from what the
# current version computes for the same rows in a scratch database.  The
# packed entries of a 0.1.x day row are the entries of the single part of
# a small day (same codec, version 2), so the result is what 0.1.x made.
#
#	old_track(db => DB, table => NAME, packets => [TEXT, ...],
#			  zone => 'UTC', on_delete => 'follow')
#		creates the table in DB with those packets, registers it in
#		mirai_tracked (its own name as the per-table views), writes its day
#		and hour rows, and makes the triggers 0.1.x made.
#
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(old_track);

sub q_lit
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

sub run_sql
{
	my ($db, $sql) = @_;
	my $f = "/tmp/mirai_old_$$.sql";
	open(my $fh, '>', $f) or die "$f: $!\n";
	print $fh $sql;
	close($fh);
	my $out = `psql -X -A -t -F '|' -q -v ON_ERROR_STOP=1 -d $db -f $f 2>&1`;
	my $rc = $?;
	unlink $f;
	die "psql -d $db failed: $out\n" if $rc != 0;
	chomp $out;
	return $out;
}

sub old_track
{
	my (%o) = @_;
	my ($db, $t) = @o{qw(db table)};
	my $zone = $o{zone} // 'UTC';
	my $on_delete = $o{on_delete} // 'follow';
	my $values = join(",\n", map { '(' . q_lit($_) . ')' } @{ $o{packets} });
	my $scratch = "${db}_old_scratch";

	system("dropdb --if-exists $scratch >/dev/null 2>&1; createdb $scratch") == 0
	  or die "createdb $scratch failed\n";
	my $rows = run_sql($scratch, <<"SQL");
SET client_min_messages = warning;
CREATE EXTENSION mirai_ext;
CREATE TABLE t (p packet);
INSERT INTO t VALUES $values;
SELECT mirai_track('t', time_zone => @{[q_lit($zone)]});
SELECT 'day', d.day, d.packets, d.sources, d.countries, d.country_packets, d.parts,
       (SELECT encode(entries, 'hex') FROM mirai_rollup_part p WHERE p.tbl = d.tbl AND p.day = d.day)
  FROM mirai_rollup_day d WHERE d.tbl = 't'::regclass;
SELECT 'hour', h.hour, h.packets, h.all_packets FROM mirai_rollup_hour h WHERE h.tbl = 't'::regclass;
SQL
	system("dropdb $scratch");

	my $sql = "SET client_min_messages = warning;\nCREATE TABLE $t (p packet);\nINSERT INTO $t VALUES $values;\n"
	  . "INSERT INTO mirai_tracked (tbl, time_zone, on_delete, daily_view, sources_view, countries_view) VALUES ("
	  . join(', ', map { q_lit($_) } $t, $zone, $on_delete, $t, $t, $t) . ");\n";
	for my $line (split /\n/, $rows)
	{
		my @f = split /\|/, $line;
		next unless @f;
		if ($f[0] eq 'day')
		{
			die "old_track: day $f[1] has $f[6] parts; keep test days small\n" if $f[6] != 1;
			$sql .= "INSERT INTO mirai_rollup_day (tbl, day, packets, sources, countries, country_packets, entries) VALUES ("
			  . join(', ', q_lit($t), q_lit($f[1]), $f[2], $f[3], q_lit($f[4]), q_lit($f[5]), "decode('$f[7]', 'hex')") . ");\n";
		}
		elsif ($f[0] eq 'hour')
		{
			$sql .= "INSERT INTO mirai_rollup_hour (tbl, hour, packets, all_packets) VALUES ("
			  . join(', ', q_lit($t), q_lit($f[1]), $f[2], $f[3]) . ");\n";
		}
	}
	$sql .= "CREATE TRIGGER mirai_rollup_insert AFTER INSERT ON $t REFERENCING NEW TABLE AS mirai_new "
	  . "FOR EACH STATEMENT EXECUTE FUNCTION mirai_rollup_trigger();\n";
	if ($on_delete eq 'follow')
	{
		$sql .= "CREATE TRIGGER mirai_rollup_delete AFTER DELETE ON $t REFERENCING OLD TABLE AS mirai_old "
		  . "FOR EACH STATEMENT EXECUTE FUNCTION mirai_rollup_trigger();\n"
		  . "CREATE TRIGGER mirai_rollup_truncate AFTER TRUNCATE ON $t "
		  . "FOR EACH STATEMENT EXECUTE FUNCTION mirai_rollup_trigger();\n";
	}
	run_sql($db, $sql);
}

1;
