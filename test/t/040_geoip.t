#!/usr/bin/perl
#
# 040_geoip.t
#	  GeoIP lookups beyond what pg_regress can show: a database file
#	  replaced during a session (renamed into place as geoipupdate does, and
#	  overwritten in place) is picked up by the next statement of the SAME
#	  backend; parallel workers give the answers a serial plan gives; every
#	  bad database is an ERROR with its SQLSTATE, in the leader and in
#	  parallel workers; a non-superuser cannot point the server at a file.
#
# Runs inside the test cluster (test/in_cluster.sh): PGHOST etc. are set,
# MIRAI_TOP is the repository, MIRAI_WORK a scratch directory.  The test
# databases are built here with test/geoip/build_mmdb.pl.
#
# test/t/040_geoip.t
#
use strict;
use warnings;
use File::Temp qw(tempfile);
use Test::More;

my $top  = $ENV{MIRAI_TOP}  or plan skip_all => 'MIRAI_TOP not set';
my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my $dir  = "$work/geoip040";
mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);
my $build = "$top/test/geoip/build_mmdb.pl";
my $ccsv  = "$top/test/geoip/country.csv";
my $acsv  = "$top/test/geoip/asn.csv";

# Build a test database; extra arguments go to build_mmdb.pl.
sub mmdb
{
	my ($out, @args) = @_;
	system('perl', $build, @args, '--out', $out) == 0
	  or die "build_mmdb.pl @args failed\n";
}

# Run SQL in one psql session; returns everything it printed (stdout and
# stderr), errors as "ERROR:  SQLSTATE: message".
sub psql
{
	my ($sql, @opts) = @_;
	my ($fh, $file) = tempfile(DIR => $work, SUFFIX => '.sql');
	print $fh "\\set VERBOSITY verbose\n\\set SHOW_CONTEXT never\n$sql\n";
	close($fh);
	my $out = `psql -X -q -A -t @opts -f '$file' 2>&1`;
	unlink($file);
	return $out;
}

# The SQLSTATEs of the errors in psql output, in order.
sub sqlstates
{
	my ($out) = @_;
	return join(' ', $out =~ /ERROR:\s+([0-9A-Z]{5}):/g);
}

mmdb("$dir/country.mmdb", '--csv', $ccsv);
mmdb("$dir/asn.mmdb", '--type', 'asn', '--csv', $acsv);

# a database of our own, with the extension
my $made = psql('CREATE DATABASE mirai_geoip_t;', '-d', 'postgres');
die "cannot create the test database: $made" if $made =~ /ERROR/;
$ENV{PGDATABASE} = 'mirai_geoip_t';
$made = psql('CREATE EXTENSION mirai_ext;');
die "cannot create the extension: $made" if $made =~ /ERROR/;
mmdb("$dir/swap.mmdb", '--csv', $ccsv);

# ---- the file replaced during a session --------------------------------
{
	my $ino1 = (stat("$dir/swap.mmdb"))[1];
	# build_mmdb.pl writes a temporary file in the same directory and
	# renames it over the old one, as geoipupdate does
	my $out = psql(<<"SQL");
SET mirai_ext.geoip_database = '$dir/swap.mmdb';
SELECT 'before', pg_backend_pid(), geoip_country('192.0.2.1'), geoip_country('2001:db8::1');
\\! perl '$build' --csv '$ccsv' --set 192.0.2.0/24=KR --set 2001:db8::/48=FR --out '$dir/swap.mmdb'
SELECT 'renamed', pg_backend_pid(), geoip_country('192.0.2.1'), geoip_country('2001:db8::1');
\\! perl '$build' --csv '$ccsv' --set 192.0.2.0/24=NZ --out '$dir/swap-next.mmdb'
\\! cat '$dir/swap-next.mmdb' > '$dir/swap.mmdb'
SELECT 'in place', pg_backend_pid(), geoip_country('192.0.2.1'), geoip_country('2001:db8::1');
SELECT 'same', pg_backend_pid(), geoip_country('192.0.2.1');
SQL
	my %r = map { my @f = split /\|/; ($f[0] => [ @f[ 1 .. $#f ] ]) } grep { /\|/ } split /\n/, $out;
	my $ino2 = (stat("$dir/swap.mmdb"))[1];
	isnt($ino1, $ino2, 'swap: the new file was renamed into place (new inode)');
	is_deeply([ @{ $r{before} || [] }[ 1, 2 ] ], [ 'JP', 'DE' ], 'swap: first version answers')
	  or diag($out);
	is_deeply([ @{ $r{renamed} || [] }[ 1, 2 ] ], [ 'KR', 'FR' ],
		'swap: a file renamed into place is used by the next statement')
	  or diag($out);
	is_deeply([ @{ $r{'in place'} || [] }[ 1, 2 ] ], [ 'NZ', 'DE' ],
		'swap: a file overwritten in place is used by the next statement')
	  or diag($out);
	ok(defined $r{before} && defined $r{same} && $r{before}[0] eq $r{renamed}[0]
		  && $r{before}[0] eq $r{'in place'}[0] && $r{before}[0] eq $r{same}[0],
		'swap: all in the same backend');
}

# ---- parallel workers -------------------------------------------------
{
	# the country file by a path relative to the data directory, which is
	# every backend's and worker's working directory (test/in_cluster.sh
	# links the fixtures there), the ASN file by an absolute path
	my $country = $ENV{MIRAI_FIXTURES_SQL} ? "$ENV{MIRAI_FIXTURES_SQL}/geoip-country.mmdb" : "$dir/country.mmdb";
	my $setup = <<"SQL";
SET mirai_ext.geoip_database = '$country';
SET mirai_ext.geoip_asn_database = '$dir/asn.mmdb';
SQL
	my $load = <<'SQL';
CREATE TABLE geoip_par AS
SELECT CASE i % 6
         WHEN 0 THEN ('192.0.2.' || (i % 256))::inet
         WHEN 1 THEN ('203.0.113.' || (i % 256))::inet
         WHEN 2 THEN ('::ffff:198.51.100.' || (i % 256))::inet
         WHEN 3 THEN ('2001:db8:' || (i % 4) || '::' || to_hex(i % 65536))::inet
         WHEN 4 THEN ('100.' || (i % 128) || '.0.1')::inet
         ELSE ((i * 2654435761::bigint) % 4294967296 / 16777216 || '.' || i % 256 || '.0.1')::inet
       END AS a
FROM generate_series(1, 200000) i;
ANALYZE geoip_par;
SQL
	my $q = 'SELECT geoip_country(a) AS cc, geoip_continent(a) AS cont, geoip_asn(a) AS asn, '
	  . "count(*), count(DISTINCT (geoip_lookup(a)).network) FROM geoip_par GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
	my $out = psql($setup . $load);
	is(sqlstates($out), '', 'parallel: test table made') or diag($out);

	my $serial = psql($setup . "SET max_parallel_workers_per_gather = 0;\n$q;");
	my $par_settings = <<'SQL';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SQL
	my $explain = psql($setup . $par_settings . "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $q;");
	my ($launched) = $explain =~ /Workers Launched: (\d+)/;
	ok(defined $launched && $launched > 0, 'parallel: workers were launched (leader not participating)')
	  or diag($explain);
	my $parallel = psql($setup . $par_settings . "$q;");
	ok($serial =~ /\|/ && $serial =~ /^JP\|AS\|2497\|/m, 'parallel: serial plan answers') or diag($serial);
	is($parallel, $serial, 'parallel: workers give the serial answer');

	my $forced = psql($setup . "SET force_parallel_mode = on;\nSELECT geoip_country('192.0.2.9'), geoip_as_org('192.0.2.9');");
	is($forced, "JP|Internet Initiative Japan Inc.\n", 'parallel: force_parallel_mode (one worker does it all)');

	# an unusable file is an error in workers too, never a crash
	my $bad = psql("SET mirai_ext.geoip_database = '$dir/missing.mmdb';\n"
		  . $par_settings . "SELECT count(geoip_country(a)) FROM geoip_par;\nSELECT 'alive';");
	is(sqlstates($bad), '58P01', 'parallel: a missing file is 58P01 from the workers');
	like($bad, qr/^alive$/m, 'parallel: the session goes on');
	psql('DROP TABLE geoip_par;');
}

# ---- bad databases: an ERROR with a fitting SQLSTATE, never NULLs -------
{
	open(my $fh, '>', "$dir/text.mmdb") or die;
	print $fh "not a MaxMind DB\n";
	close($fh);
	open($fh, '>', "$dir/empty.mmdb") or die;
	close($fh);
	mmdb("$dir/nocountry.mmdb", '--no-country', '--csv', $ccsv);
	mmdb("$dir/unreadable.mmdb", '--csv', $ccsv);
	chmod(0600, "$dir/unreadable.mmdb");
	mmdb("$dir/gone.mmdb", '--csv', $ccsv);
	chmod(0644, "$dir/text.mmdb", "$dir/empty.mmdb");
	# the server runs as postgres: a root-owned 0600 file is unreadable to it
	my $server_uid = (getpwnam('postgres'))[2];

	my @cases = (
		[ 'not configured',       "RESET mirai_ext.geoip_database",                          '55000' ],
		[ 'missing file',         "SET mirai_ext.geoip_database = '$dir/missing.mmdb'",      '58P01' ],
		[ 'directory',            "SET mirai_ext.geoip_database = '$dir'",                   '42809' ],
		[ 'not an mmdb',          "SET mirai_ext.geoip_database = '$dir/text.mmdb'",         'XX001' ],
		[ 'empty file',           "SET mirai_ext.geoip_database = '$dir/empty.mmdb'",        'XX001' ],
		[ 'no country field',     "SET mirai_ext.geoip_database = '$dir/nocountry.mmdb'",    '42809' ],
		[ 'ASN db as country db', "SET mirai_ext.geoip_database = '$dir/asn.mmdb'",          '42809' ],
	);
	push @cases, [ 'unreadable file', "SET mirai_ext.geoip_database = '$dir/unreadable.mmdb'", '42501' ]
	  if defined $server_uid && $< != $server_uid;
	for my $c (@cases)
	{
		my ($name, $set, $state) = @$c;
		# geoip_available() is false, not an error, when nothing is configured
		my $n = $state eq '55000' ? 3 : 4;
		my $out = psql(<<"SQL");
$set;
SELECT geoip_country('192.0.2.1');
SELECT geoip_country_name(a) FROM (VALUES ('192.0.2.1'::inet), ('8.8.8.8')) v(a);
SELECT * FROM geoip_lookup('192.0.2.1');
SELECT geoip_available();
SELECT 'alive';
SQL
		is(sqlstates($out), join(' ', ($state) x $n), "bad input: $name: $state from every function")
		  or diag($out);
		like($out, qr/HINT:/, "bad input: $name: with a hint");
		like($out, qr/^alive$/m, "bad input: $name: the session goes on");
	}

	my $out = psql(<<"SQL");
SET mirai_ext.geoip_asn_database = '$dir/country.mmdb';
SELECT geoip_asn('192.0.2.1');
SELECT geoip_available('asn');
SQL
	is(sqlstates($out), '42809 42809', 'bad input: a country db as the ASN db');

	# a file deleted while a session has it open: the next statement says so
	$out = psql(<<"SQL");
SET mirai_ext.geoip_database = '$dir/gone.mmdb';
SELECT geoip_country('192.0.2.1');
\\! rm '$dir/gone.mmdb'
SELECT geoip_country('192.0.2.1');
SQL
	like($out, qr/^JP$/m, 'deleted file: answers before');
	is(sqlstates($out), '58P01', 'deleted file: 58P01 after');
}

# ---- only superusers set the settings, even before the library loads ---
{
	my $pw = $ENV{PGPASSWORD} // '';
	$pw =~ s/'/''/g;
	psql("CREATE ROLE mirai_geoip_nosuper LOGIN PASSWORD '$pw';");
	my $out = psql(<<"SQL", '-U', 'mirai_geoip_nosuper');
SET mirai_ext.geoip_database = '$dir/asn.mmdb';
SELECT geoip_available();
SELECT geoip_country('192.0.2.1');
SHOW mirai_ext.geoip_database;
SQL
	unlike($out, qr/asn\.mmdb/, 'non-superuser: a placeholder value set before loading is not used')
	  or diag($out);
	like($out, qr/^f$/m, 'non-superuser: no database configured') or diag($out);
	psql('DROP ROLE mirai_geoip_nosuper;', '-d', 'postgres');
}

psql('DROP DATABASE mirai_geoip_t;', '-d', 'postgres');
done_testing();
