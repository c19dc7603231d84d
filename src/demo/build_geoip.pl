#!/usr/bin/perl
#
# build_geoip.pl
#	  Convert Debian's legacy GeoIP country data (package geoip-database:
#	  /usr/share/GeoIP/GeoIP.dat and GeoIPv6.dat, MaxMind GeoLite Legacy data
#	  of December 2019) into a GeoLite2-Country-compatible MaxMind DB file
#	  (.mmdb) that mirai_ext.geoip_database can name.  Nothing is downloaded.
#
#	  build_geoip.pl [--out FILE] [--v4 GeoIP.dat] [--v6 GeoIPv6.dat] [--force]
#
# The output (default build/geoip/GeoIP-legacy-country.mmdb) is reused when
# it is newer than the inputs and this script: a second run costs nothing.
# It is written under a temporary name, renamed into place and left
# world-readable, so a server that has the old file open picks up the new
# one at its next statement.
#
# How: libgeoip (Debian's libgeo-ip-perl) cannot list its networks, but
# GeoIP_range_by_ip returns the whole run of addresses around an address
# that has the same country, so IPv4 is walked run by run from 0.0.0.0 to
# 255.255.255.255 (about 208,000 runs).  For IPv6 it gives no range, but
# after a lookup GeoIP_last_netmask is the prefix length of the tree leaf
# the address fell in, so IPv6 is walked leaf by leaf (about 100,000).  The
# IPv4-in-IPv6 areas of the IPv6 file (::/8, Teredo 2001::/32, 6to4
# 2002::/16) are jumped over: the writer aliases them to the IPv4 data, as
# MaxMind's files do.  About 6 s on one core.
#
# Records have GeoLite2-Country's layout: continent {code, names.en},
# country {iso_code, names.en}, registered_country {iso_code, names.en}.
# Legacy pseudo-countries follow GeoLite2: "EU" and "AP" become records with
# a continent only (Europe, Asia), "A1" (anonymous proxy), "A2" (satellite
# provider) and "O1" (other) records with no country (geoip_country() is
# NULL), as GeoLite2 has for them.  Country names are legacy GeoIP's,
# adjusted to GeoLite2's short English names where they differ.
#
# src/demo/build_geoip.pl
#
use strict;
use warnings;
use Getopt::Long;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Geo::IP;
use MaxMind::DB::Writer::Tree;
use Socket qw(inet_ntop AF_INET6);

my $out   = 'build/geoip/GeoIP-legacy-country.mmdb';
my $v4dat = '/usr/share/GeoIP/GeoIP.dat';
my $v6dat = '/usr/share/GeoIP/GeoIPv6.dat';
my $force = 0;
my $quiet = 0;
GetOptions(
	'out=s' => \$out,
	'v4=s'  => \$v4dat,
	'v6=s'  => \$v6dat,
	'force' => \$force,
	'quiet' => \$quiet) or die "usage: $0 [--out FILE] [--v4 GeoIP.dat] [--v6 GeoIPv6.dat] [--force]\n";

die "$0: $v4dat not found: install Debian's geoip-database package\n" unless -r $v4dat;
my $have_v6 = -r $v6dat;

# reuse a file newer than everything it is made from
if (!$force && -s $out)
{
	my $t = (stat($out))[9];
	my @inputs = ($v4dat, $0, $have_v6 ? ($v6dat) : ());
	if (!grep { (stat($_))[9] > $t } @inputs)
	{
		print "$out is up to date\n" unless $quiet;
		exit 0;
	}
}

my %continent_name = (
	AF => 'Africa',
	AN => 'Antarctica',
	AS => 'Asia',
	EU => 'Europe',
	NA => 'North America',
	OC => 'Oceania',
	SA => 'South America');

# GeoLite2's English names where legacy GeoIP's ISO-style names differ
my %name_fix = (
	BO => 'Bolivia',
	BN => 'Brunei',
	CD => 'DR Congo',
	CG => 'Congo Republic',
	CZ => 'Czechia',
	FM => 'Federated States of Micronesia',
	IR => 'Iran',
	KP => 'North Korea',
	KR => 'South Korea',
	LA => 'Laos',
	LY => 'Libya',
	MD => 'Moldova',
	MK => 'North Macedonia',
	PS => 'Palestine',
	RU => 'Russia',
	SY => 'Syria',
	TW => 'Taiwan',
	TZ => 'Tanzania',
	VA => 'Vatican City',
	VE => 'Venezuela',
	VN => 'Vietnam',
	SZ => 'Eswatini',
	CI => "Ivory Coast",
	MM => 'Myanmar',
	VG => 'British Virgin Islands',
	VI => 'U.S. Virgin Islands',
	UM => 'U.S. Minor Outlying Islands');

my $t0 = time;
my $gi4 = Geo::IP->open($v4dat, GEOIP_MEMORY_CACHE) or die "$0: cannot open $v4dat\n";
$gi4->set_charset(GEOIP_CHARSET_UTF8);
my $gi6;
if ($have_v6)
{
	$gi6 = Geo::IP->open($v6dat, GEOIP_MEMORY_CACHE) or die "$0: cannot open $v6dat\n";
	$gi6->set_charset(GEOIP_CHARSET_UTF8);
}
my $pkg = `dpkg-query -W -f '\${Version}' geoip-database 2>/dev/null` || 'unknown version';

my %types = (
	continent          => 'map',
	country            => 'map',
	registered_country => 'map',
	names              => 'map',
	en                 => 'utf8_string',
	code               => 'utf8_string',
	iso_code           => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version            => 6,
	record_size           => 24,
	database_type         => 'mirai_ext-GeoIP-Legacy-Country',
	languages             => ['en'],
	description           => { en => "Country data of Debian's geoip-database $pkg (MaxMind GeoLite Legacy country data of December 2019), converted by mirai_ext's src/demo/build_geoip.pl" },
	map_key_type_callback => sub { $types{ $_[0] } },
	alias_ipv6_to_ipv4    => 1,
	merge_strategy        => 'none');

# One record per legacy code, shared by every network of that code.
my %record;
sub record_for
{
	my ($cc, $name) = @_;
	return $record{$cc} if exists $record{$cc};
	my $r;
	if ($cc eq 'EU' || $cc eq 'AP')
	{
		my $cont = $cc eq 'EU' ? 'EU' : 'AS';
		$r = { continent => { code => $cont, names => { en => $continent_name{$cont} } } };
	}
	elsif ($cc eq 'A1' || $cc eq 'A2' || $cc eq 'O1' || $cc eq '--' || $cc !~ /^[A-Z]{2}$/)
	{
		$r = undef;
	}
	else
	{
		my $cont = Geo::IP->continent_code_by_country_code($cc);
		my $en = $name_fix{$cc} // $name // $cc;
		my $country = { iso_code => $cc, names => { en => $en } };
		$r = {
			country            => $country,
			registered_country => { %$country },
			(defined $cont && exists $continent_name{$cont}
				? (continent => { code => $cont, names => { en => $continent_name{$cont} } })
				: ()),
		};
	}
	return $record{$cc} = $r;
}

# IPv4: run by run
my ($n4, $n6) = (0, 0);
my $ip = 0;
while (1)
{
	my $s = join('.', unpack('C4', pack('N', $ip)));
	my (undef, $to) = $gi4->range_by_ip($s);
	my $end = defined $to ? unpack('N', pack('C4', split /\./, $to)) : $ip;
	$end = $ip if $end < $ip;	# never step backwards
	my $cc = $gi4->country_code_by_addr($s);
	if (defined $cc)
	{
		my $r = record_for($cc, $gi4->country_name_by_addr($s));
		if ($r)
		{
			$tree->insert_range($s, join('.', unpack('C4', pack('N', $end))), $r);
			$n4++;
		}
	}
	last if $end >= 0xffffffff;
	$ip = $end + 1;
}

# IPv6: leaf by leaf.  An address is four 32-bit words, most significant first.
if ($gi6)
{
	my @a = (0, 0, 0, 0);
	while (1)
	{
		# jump over the IPv4-in-IPv6 areas (they hold IPv4 data, leaf by
		# leaf: millions of them): ::/8, 2001::/32 (Teredo), 2002::/16 (6to4)
		if ($a[0] >> 24 == 0)
		{
			@a = (0x01000000, 0, 0, 0);
		}
		elsif ($a[0] == 0x20010000)
		{
			@a = (0x20010001, 0, 0, 0);
		}
		elsif ($a[0] >> 16 == 0x2002)
		{
			@a = (0x20030000, 0, 0, 0);
		}
		my $packed = pack('N4', @a);
		my $cc = $gi6->country_code_by_ipnum_v6($packed);
		my $nm = $gi6->last_netmask;
		$nm = 128 if !defined $nm || $nm > 128 || $nm < 1;
		if (defined $cc)
		{
			my $r = record_for($cc, $gi6->country_name_by_ipnum_v6($packed));
			if ($r)
			{
				$tree->insert_network(inet_ntop(AF_INET6, $packed) . "/$nm", $r);
				$n6++;
			}
		}
		# next address: set the host bits, add one
		for my $w (0 .. 3)
		{
			my $bits = $nm - 32 * $w;	# network bits in this word
			my $host = $bits >= 32 ? 0 : $bits <= 0 ? 0xffffffff : (1 << (32 - $bits)) - 1;
			$a[$w] |= $host;
		}
		my $carry = 1;
		for (my $w = 3; $w >= 0 && $carry; $w--)
		{
			$a[$w] = ($a[$w] + 1) & 0xffffffff;
			$carry = $a[$w] == 0 ? 1 : 0;
		}
		last if $carry;		# wrapped past ffff:...:ffff
	}
}

# The database's build time says how old the data is (geoip_database_info
# shows it): the date of the data, not of this conversion.  Debian's
# package version names it ("20230203+really20191224"); else the legacy
# file's own "GEO-106FREE YYYYMMDD" stamp.
my ($ymd) = $pkg =~ /really(\d{8})/;
($ymd) = ($gi4->database_info // '') =~ /\b(\d{8})\b/ unless defined $ymd;
if (defined $ymd && $ymd =~ /^(\d{4})(\d{2})(\d{2})$/)
{
	require Time::Local;
	$tree->_set_build_epoch(Time::Local::timegm(0, 0, 0, $3, $2 - 1, $1));
}

make_path(dirname($out)) unless -d dirname($out);
my $tmp = "$out.tmp$$";
open(my $fh, '>:raw', $tmp) or die "$0: cannot write $tmp: $!\n";
$tree->write_tree($fh);
close($fh) or die "$0: cannot write $tmp: $!\n";
chmod(0644, $tmp);
rename($tmp, $out) or die "$0: cannot rename $tmp to $out: $!\n";
printf "%s: %d IPv4 ranges, %d IPv6 networks from %s (geoip-database %s), %d s\n",
  $out, $n4, $n6, $v4dat, $pkg, time - $t0
  unless $quiet;
