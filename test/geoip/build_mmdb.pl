#!/usr/bin/perl
#
# build_mmdb.pl
#	  Build a small MaxMind DB (.mmdb) file for the tests from a CSV of
#	  networks, with MaxMind's own writer (Debian: libmaxmind-db-writer-perl).
#
#	  build_mmdb.pl --type country --csv test/geoip/country.csv --out F
#	  build_mmdb.pl --type asn --csv test/geoip/asn.csv --out F
#	  build_mmdb.pl --type ipinfo --csv test/geoip/ipinfo.csv --out F
#
# Options:
#	--type country|asn|ipinfo	record layout: GeoLite2-Country (continent,
#						country, registered_country maps), GeoLite2-ASN
#						(autonomous_system_number, _organization) or IPinfo
#						lite (flat: country_code, country, continent_code,
#						continent, asn "AS123", as_name)
#	--ip-version 4|6	search tree (default 6; IPv4 networks live at ::/96 and
#						::ffff:0:0/96, 2001::/32, 2002::/16 are aliased to them,
#						as in MaxMind's own databases)
#	--no-country		leave the "country" map out of every record (a database
#						without a country field, for the error tests)
#	--set NET=CC		override the country of one CSV network (repeatable):
#						a second version of the same database
#
# The CSV's first line names the columns.  Country CSV: network, country,
# country_name, continent, continent_name, registered_country (empty country:
# a record with a continent only, as GeoLite2 has).  ASN CSV: network, asn,
# organization.  IPinfo CSV: its own field names.  Fields may be double-quoted.  The output is written to a
# temporary name and renamed into place, and is world-readable.
#
# test/geoip/build_mmdb.pl
#
use strict;
use warnings;
use Getopt::Long;
use MaxMind::DB::Writer::Tree;

my ($type, $csv, $out, $ipver, $no_country, @set) = ('country', undef, undef, 6, 0);
GetOptions(
	'type=s'       => \$type,
	'csv=s'        => \$csv,
	'out=s'        => \$out,
	'ip-version=i' => \$ipver,
	'no-country'   => \$no_country,
	'set=s'        => \@set) or die "usage: $0 --type country|asn --csv FILE --out FILE\n";
die "$0: --csv and --out are required\n" unless defined $csv && defined $out;
die "$0: --type must be country, asn or ipinfo\n" unless $type =~ /^(country|asn|ipinfo)$/;
die "$0: --ip-version must be 4 or 6\n" unless $ipver == 4 || $ipver == 6;

my %override = map { split /=/, $_, 2 } @set;

# Split one CSV line: commas, double-quoted fields with "" for a quote.
sub csv_fields
{
	my ($line) = @_;
	my @f;
	while ($line =~ /\G(?:"((?:[^"]|"")*)"|([^,]*))(,|$)/g)
	{
		my $v = defined $1 ? $1 : $2;
		$v =~ s/""/"/g if defined $1;
		push @f, $v;
		last if $3 eq '';
	}
	return @f;
}

my %types = (
	continent                      => 'map',
	country                        => 'map',
	registered_country             => 'map',
	names                          => 'map',
	en                             => 'utf8_string',
	code                           => 'utf8_string',
	iso_code                       => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
	country_code                   => 'utf8_string',
	continent_code                 => 'utf8_string',
	asn                            => 'utf8_string',
	as_name                        => 'utf8_string',
);
# IPinfo lite's "country" and "continent" are names (strings), not maps
my %ipinfo_types = (%types, country => 'utf8_string', continent => 'utf8_string');
my $typemap = $type eq 'ipinfo' ? \%ipinfo_types : \%types;
my %dbtype = (
	country => 'mirai_ext-Test-Country',
	asn     => 'mirai_ext-Test-ASN',
	ipinfo  => 'mirai_ext-Test-IPinfo-Lite');

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version               => $ipver,
	record_size              => 24,
	database_type            => $dbtype{$type},
	languages                => ['en'],
	description              => { en => "mirai_ext test database built from $csv" },
	map_key_type_callback    => sub { $typemap->{ $_[0] } },
	alias_ipv6_to_ipv4       => $ipver == 6,
	remove_reserved_networks => 0,	# the tests use documentation prefixes
	merge_strategy           => 'none');

open(my $in, '<:encoding(UTF-8)', $csv) or die "$0: cannot read $csv: $!\n";
my $header = <$in>;
$header =~ s/\r?\n$//;
my @cols = csv_fields($header);
my $rows = 0;
while (my $line = <$in>)
{
	$line =~ s/\r?\n$//;
	next if $line eq '' || $line =~ /^#/;
	my %r;
	@r{@cols} = csv_fields($line);
	my $net = $r{network};
	next if $ipver == 4 && $net =~ /:/;
	my %data;
	if ($type eq 'ipinfo')
	{
		%data = map { $_ => $r{$_} } grep { $_ ne 'network' && $r{$_} ne '' } @cols;
	}
	elsif ($type eq 'asn')
	{
		$data{autonomous_system_number}       = 0 + $r{asn};
		$data{autonomous_system_organization} = $r{organization};
	}
	else
	{
		my $cc = exists $override{$net} ? $override{$net} : $r{country};
		$data{continent} = { code => $r{continent}, names => { en => $r{continent_name} } }
		  if $r{continent} ne '';
		$data{country} = { iso_code => $cc, names => { en => $r{country_name} } }
		  if $cc ne '' && !$no_country;
		$data{registered_country} = { iso_code => $r{registered_country} }
		  if $r{registered_country} ne '';
	}
	$tree->insert_network($net, \%data);
	$rows++;
}
close($in);
die "$0: no networks in $csv\n" if $rows == 0;

my $tmp = "$out.tmp$$";
open(my $fh, '>:raw', $tmp) or die "$0: cannot write $tmp: $!\n";
$tree->write_tree($fh);
close($fh) or die "$0: cannot write $tmp: $!\n";
chmod(0644, $tmp);
rename($tmp, $out) or die "$0: cannot rename $tmp to $out: $!\n";
