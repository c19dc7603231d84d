#!/usr/bin/perl
#
# 041_geoip_legacy.t
#	  The demo's country database: src/demo/build_geoip.pl converts Debian's
#	  legacy GeoIP.dat/GeoIPv6.dat into a GeoLite2-Country-compatible mmdb.
#	  Check, through the server's geoip_country/geoip_continent, that the
#	  converted file answers what libgeoip (Geo::IP) answers from the .dat
#	  files, for seeded random IPv4 and IPv6 addresses, and that a second
#	  run reuses the file.
#
# Runs inside the test cluster (test/in_cluster.sh).  Needs Debian's
# geoip-database and libgeo-ip-perl.
#
# test/t/041_geoip_legacy.t
#
use strict;
use warnings;
use File::Temp qw(tempfile);
use Socket qw(inet_ntop AF_INET6);
use Test::More;

my $top  = $ENV{MIRAI_TOP}  or plan skip_all => 'MIRAI_TOP not set';
my $work = $ENV{MIRAI_WORK} or plan skip_all => 'MIRAI_WORK not set';
my ($v4dat, $v6dat) = ('/usr/share/GeoIP/GeoIP.dat', '/usr/share/GeoIP/GeoIPv6.dat');
plan skip_all => 'geoip-database not installed' unless -r $v4dat && -r $v6dat;
eval { require Geo::IP; 1 } or plan skip_all => 'libgeo-ip-perl not installed';

my $dir = "$work/geoip041";
mkdir($dir) or die "mkdir $dir: $!\n";
chmod(0755, $dir);
my $mmdb = "$dir/legacy-country.mmdb";

# Run SQL in one psql session; returns what it printed.
sub psql
{
	my ($sql, @opts) = @_;
	my ($fh, $file) = tempfile(DIR => $work, SUFFIX => '.sql');
	print $fh "\\set VERBOSITY verbose\n$sql\n";
	close($fh);
	my $out = `psql -X -q -A -t @opts -f '$file' 2>&1`;
	unlink($file);
	return $out;
}

my $out = `perl '$top/src/demo/build_geoip.pl' --out '$mmdb' 2>&1`;
is($?, 0, 'build_geoip.pl ran') or diag($out);
like($out, qr/(\d+) IPv4 ranges, (\d+) IPv6 networks/, 'build_geoip.pl reports what it converted');
ok(-s $mmdb > 1_000_000, 'a database of realistic size');
is((stat($mmdb))[2] & 0777, 0644, 'world-readable');
my $mtime = (stat($mmdb))[9];
$out = `perl '$top/src/demo/build_geoip.pl' --out '$mmdb' 2>&1`;
like($out, qr/up to date/, 'a second run reuses the file');
is((stat($mmdb))[9], $mtime, 'the file was not rewritten');

# legacy answers, with the converter's rules: pseudo-countries have no
# country; EU and AP have a continent only
my $g4 = Geo::IP->open($v4dat, Geo::IP::GEOIP_MEMORY_CACHE());
my $g6 = Geo::IP->open($v6dat, Geo::IP::GEOIP_MEMORY_CACHE());
sub expect
{
	my ($cc) = @_;
	return ('', '') if !defined $cc || $cc eq '--' || $cc =~ /^(A1|A2|O1)$/;
	return ('', 'EU') if $cc eq 'EU';
	return ('', 'AS') if $cc eq 'AP';
	my $cont = Geo::IP->continent_code_by_country_code($cc) // '';
	$cont = '' if $cont eq '--';
	return ($cc, $cont);
}

srand(20191224);
my (@addr, @want);
for (1 .. 20000)
{
	my $ip = join('.', map { int(rand(256)) } 1 .. 4);
	push @addr, $ip;
	push @want, join('|', $ip, expect($g4->country_code_by_addr($ip)));
}
for (1 .. 5000)
{
	# global unicast outside 6to4 and Teredo (aliased to IPv4 in the mmdb)
	my @w = (0x20000000 + int(rand(0x0c000000)), map { int(rand(2**32)) } 1 .. 3);
	next if $w[0] >> 16 == 0x2002 || $w[0] == 0x20010000;
	my $p  = pack('N4', @w);
	my $ip = inet_ntop(AF_INET6, $p);
	push @addr, $ip;
	push @want, join('|', $ip, expect($g6->country_code_by_ipnum_v6($p)));
}
my $nv4 = grep { !/:/ } @addr;
my $nv6 = @addr - $nv4;

my $list = "$dir/addrs.txt";
open(my $fh, '>', $list) or die;
print $fh "$_\n" for @addr;
close($fh);
chmod(0644, $list);

$out = psql('CREATE DATABASE mirai_geoip_legacy_t;', '-d', 'postgres');
$ENV{PGDATABASE} = 'mirai_geoip_legacy_t';
$out .= psql(<<"SQL");
CREATE EXTENSION mirai_ext;
ALTER DATABASE mirai_geoip_legacy_t SET mirai_ext.geoip_database = '$mmdb';
CREATE TABLE a (n serial, a inet);
COPY a (a) FROM '$list';
SQL
$out = psql(<<"SQL");
SELECT host(a) || '|' || coalesce(geoip_country(a), '') || '|' || coalesce(geoip_continent(a), '')
FROM a ORDER BY n;
SQL
my @got = grep { /\|/ } split /\n/, $out;
is(scalar(@got), scalar(@addr), "the server answered for all $nv4 IPv4 and $nv6 IPv6 addresses")
  or diag(substr($out, 0, 2000));

my ($bad4, $bad6, $with4, $with6) = (0, 0, 0, 0);
my @diffs;
for my $i (0 .. $#want)
{
	my $is6 = $addr[$i] =~ /:/;
	my $w = $want[$i];
	$with4++ if !$is6 && $w =~ /^[^|]+\|[A-Z]{2}\|/;
	$with6++ if $is6 && $w =~ /^[^|]+\|[A-Z]{2}\|/;
	next if defined $got[$i] && $got[$i] eq $w;
	$is6 ? $bad6++ : $bad4++;
	push @diffs, "want $w, got " . ($got[$i] // 'nothing') if @diffs < 10;
}
ok($with4 > $nv4 / 2, "most random IPv4 addresses have a country ($with4 of $nv4)");
ok($with6 > 0, "some random IPv6 addresses have a country ($with6 of $nv6)");
is($bad4, 0, 'IPv4: the converted file answers what GeoIP.dat answers') or diag(join("\n", @diffs));
is($bad6, 0, 'IPv6: the converted file answers what GeoIPv6.dat answers') or diag(join("\n", @diffs));

$out = psql(<<"SQL");
SELECT 'mapped differ', count(*) FROM a
WHERE family(a) = 4 AND geoip_country(('::ffff:' || host(a))::inet) IS DISTINCT FROM geoip_country(a);
SELECT country, country_name, continent, registered_country FROM geoip_lookup('133.0.0.1');
SELECT database_type, ip_version, record_layout FROM geoip_database_info() WHERE database = 'country';
SELECT 'built', to_char(build_time AT TIME ZONE 'UTC', 'YYYYMMDD') FROM geoip_database_info() WHERE database = 'country';
SQL
like($out, qr/^JP\|Japan\|AS\|JP$/m, 'GeoLite2-Country layout: country, name, continent, registered country');
like($out, qr/^mirai_ext-GeoIP-Legacy-Country\|6\|GeoIP2$/m, 'an IPv6 database with the GeoIP2 layout');
like($out, qr/^mapped differ\|0$/m, 'IPv4-mapped IPv6 addresses answer as their IPv4 addresses');
# the build time is the data's date (Debian's version says it), not today
my ($data_date) = `dpkg-query -W -f '\${Version}' geoip-database 2>/dev/null` =~ /really(\d{8})/;
SKIP:
{
	skip 'the package version does not name the data date', 1 unless defined $data_date;
	like($out, qr/^built\|$data_date$/m, "geoip_database_info's build time is the data's date, $data_date");
}

psql('DROP DATABASE mirai_geoip_legacy_t;', '-d', 'postgres');

done_testing();
