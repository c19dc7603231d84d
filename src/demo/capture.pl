#!/usr/bin/perl
#
# capture.pl
#	  Write the demo's synthetic honeypot capture: one file per UTC day, as a
#	  collector rotates them, shaped after the study's published figures.
#
#	  capture.pl --mmdb FILE [--model DIR] [--out DIR] [--cache DIR]
#	             [--gen PATH] [--jobs N] [--quiet]
#
# Inputs (--model, default src/demo/model): study.conf (the study's
# figures), model.conf (the model's parameters), daily.tsv (Mirai and
# non-Mirai packets per Japanese day), countries.tsv (share of the distinct
# Mirai sources per country).  --mmdb is the GeoIP country database the
# server will use: every source address is drawn from networks it assigns
# to the source's country, so countries come out of the GeoIP lookup at
# load time; the capture files hold addresses only.
#
# The model, per Japanese day D (the study's days; UTC+9, no daylight
# saving):
#   - on the peak day, two sources with exactly the study's shares of it;
#   - a background of lone scanners: background_min..background_max
#     packets (all of a quiet day), about background_per_source packets
#     per source, each source new with chance background_new or else one
#     seen on an earlier day;
#   - on busier days the rest comes from a campaign: a pool of bots per
#     run of busy days, about campaign_per_source packets per (day, bot),
#     heavy-tailed;
#   - every day's counts are exact (daily.tsv); each source's packets of a
#     day are split between the two UTC files the day touches (9 hours in
#     the file of UTC day D-1, 15 hours in that of D);
#   - countries are dealt to the distinct sources exactly by the shares of
#     countries.tsv (largest remainder).
# Each UTC day's file is written by mirai_gen --schedule (its windows, their
# record counts and the Mirai packets per source), in the format of its
# period (model.conf), with its own seed.
#
# Output (--out, default build/demo/captures): the capture files, their
# schedules (*.sched), sources.tsv (address, country by the model, Mirai
# packets), and MANIFEST (the files, and a key over every input).  When
# MANIFEST's key matches and the files are there, nothing is written
# again.  The per-country network list of an mmdb is cached in --cache
# (default build/demo).  Deterministic: the same inputs give the same
# bytes.
#
# src/demo/capture.pl
#
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use Getopt::Long;
use POSIX qw(floor ceil);
use Time::HiRes qw(time);
use Time::Local qw(timegm);

my $top = dirname(dirname(dirname(__FILE__)));
my %opt = (
	model => "$top/src/demo/model",
	out   => "$top/build/demo/captures",
	cache => "$top/build/demo",
	gen   => "$top/src/bin/mirai_gen",
	jobs  => 2);
GetOptions(\%opt, 'mmdb=s', 'model=s', 'out=s', 'cache=s', 'gen=s', 'jobs=i', 'quiet')
  or die "usage: $0 --mmdb FILE [--model DIR] [--out DIR] [--cache DIR] [--gen PATH] [--jobs N] [--quiet]\n";
die "$0: --mmdb FILE is required (the GeoIP country database)\n" unless $opt{mmdb};
die "$0: $opt{mmdb}: $!\n" unless -r $opt{mmdb};
die "$0: generator $opt{gen} not found (make)\n" unless -x $opt{gen};

my $t_start = time;

# ---------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------

# Read a "key = value" file.
sub read_conf
{
	my ($file) = @_;
	my %c;
	open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
	while (<$fh>)
	{
		s/#.*//;
		next unless /\S/;
		/^\s*(\w+)\s*=\s*(.*?)\s*$/ or die "$0: $file:$.: expected key = value\n";
		$c{$1} = $2;
	}
	return \%c;
}

# Read a tab-separated file, skipping comments.
sub read_tsv
{
	my ($file) = @_;
	my @rows;
	open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
	while (<$fh>)
	{
		next if /^\s*(#|$)/;
		chomp;
		push @rows, [ split /\t/ ];
	}
	return \@rows;
}

my $study = read_conf("$opt{model}/study.conf");
my $model = read_conf("$opt{model}/model.conf");
my $daily = read_tsv("$opt{model}/daily.tsv");
my $ctab  = read_tsv("$opt{model}/countries.tsv");

for my $k (qw(total_packets peak_day peak_packets top1_share top1_country top2_share top2_country))
{
	die "$0: study.conf has no $k\n" unless defined $study->{$k};
}
for my $k (qw(honeypot background_min background_max background_per_source
			  campaign_per_source background_new campaign_pool pcapng_from
			  uncompressed_days other_scanners seed))
{
	die "$0: model.conf has no $k\n" unless defined $model->{$k};
}

# the daily series must have the study's total and peak
my $sum = 0;
my ($peak_i) = grep { $daily->[$_][0] eq $study->{peak_day} } 0 .. $#$daily;
$sum += $_->[1] for @$daily;
die "$0: daily.tsv sums to $sum Mirai packets, study.conf says $study->{total_packets}\n"
  if $sum != $study->{total_packets};
die "$0: daily.tsv has no row for the peak day $study->{peak_day}\n" unless defined $peak_i;
die "$0: daily.tsv gives $daily->[$peak_i][1] packets on $study->{peak_day}, study.conf $study->{peak_packets}\n"
  if $daily->[$peak_i][1] != $study->{peak_packets};
my $share_sum = 0;
$share_sum += $_->[1] for @$ctab;
die "$0: countries.tsv shares sum to $share_sum, not 100\n" if abs($share_sum - 100) > 1e-6;

# ---------------------------------------------------------------------
# The cache key: every input, the generator's source, this script
# ---------------------------------------------------------------------

# SHA-256 of a file's bytes.
sub file_sha
{
	my ($file) = @_;
	open(my $fh, '<:raw', $file) or die "$0: cannot read $file: $!\n";
	my $d = Digest::SHA->new(256);
	$d->addfile($fh);
	return $d->hexdigest;
}

my $mmdb_sha = file_sha($opt{mmdb});
# the generator's sources (mirai_gen.c and its parts), or the binary
my @gen_src = grep { -r $_ } ("$top/src/bin/mirai_gen.c", glob("$top/src/bin/gen*.[ch]"));
my $key = sha256_hex(join("\n",
	map { file_sha($_) } "$opt{model}/study.conf", "$opt{model}/model.conf",
	"$opt{model}/daily.tsv", "$opt{model}/countries.tsv", __FILE__,
	(@gen_src ? @gen_src : ($opt{gen}))), $mmdb_sha);

make_path($opt{out}) unless -d $opt{out};
if (open(my $mf, '<', "$opt{out}/MANIFEST"))
{
	my ($k, @files) = map { chomp; $_ } <$mf>;
	close($mf);
	if (defined $k && $k eq "key $key" && !grep { !-s "$opt{out}/$_" } @files)
	{
		printf "capture: reusing %d files in %s\n", scalar(@files), $opt{out} unless $opt{quiet};
		exit 0;
	}
}
unlink("$opt{out}/MANIFEST");

# ---------------------------------------------------------------------
# Networks per country, from the mmdb (cached)
# ---------------------------------------------------------------------

my %want = map { $_->[0] => 1 } @$ctab;
$want{$study->{top1_country}} = 1;
$want{$study->{top2_country}} = 1;
my %nets;				# country => [ [first address, size], ... ]
{
	make_path($opt{cache}) unless -d $opt{cache};
	my $file = "$opt{cache}/networks-" . substr($mmdb_sha, 0, 16) . '.tsv';
	if (!-s $file)
	{
		# the XS reader (libmaxminddb): the pure-Perl one takes minutes here
		eval { require MaxMind::DB::Reader::XS; 1 }
		  or die "$0: MaxMind::DB::Reader::XS is missing (Debian package libmaxmind-db-reader-xs-perl)\n";
		my $t0 = time;
		my $r = MaxMind::DB::Reader::XS->new(file => $opt{mmdb});
		my $v6 = $r->metadata->ip_version == 6;
		my @rows;
		# IPv4 networks: in an IPv6 tree, ::/96 (its aliases are skipped)
		$r->iterate_search_tree(
			sub {
				my ($ipnum, $depth, $rec) = @_;
				my $plen = $v6 ? $depth - 96 : $depth;
				return if $v6 && ($depth < 96 || $ipnum >= 4294967296);
				my $cc = ref $rec eq 'HASH' && $rec->{country} ? $rec->{country}{iso_code} : undef;
				return unless defined $cc && $plen <= 30;
				push @rows, sprintf("%s\t%d\t%d\n", $cc, "$ipnum", $plen);
			},
			sub { });
		open(my $fh, '>', "$file.tmp$$") or die "$0: cannot write $file: $!\n";
		print $fh @rows;
		close($fh) or die "$0: cannot write $file: $!\n";
		rename("$file.tmp$$", $file) or die "$0: cannot rename $file: $!\n";
		printf "capture: %d IPv4 networks of %s listed in %.1f s (%s)\n",
		  scalar(@rows), basename($opt{mmdb}), time - $t0, $file
		  unless $opt{quiet};
	}
	open(my $fh, '<', $file) or die "$0: cannot read $file: $!\n";
	while (<$fh>)
	{
		my ($cc, $start, $plen) = split /\t/;
		push @{ $nets{$cc} }, [ $start + 0, 2**(32 - $plen) ] if $want{$cc};
	}
	for my $cc (sort keys %want)
	{
		die "$0: the GeoIP database has no IPv4 network for country $cc\n" unless $nets{$cc};
	}
}

# ---------------------------------------------------------------------
# The activity model: (day, source) pairs with exact packet counts
# ---------------------------------------------------------------------

srand($model->{seed});

# Split $total into @$w parts of at least 1 each, in proportion to the
# weights (largest remainder): the sum is exact.
sub distribute
{
	my ($total, $w) = @_;
	my $n = @$w;
	die "$0: cannot give $total packets to $n sources\n" if $total < $n;
	my $extra = $total - $n;
	my $W = 0;
	$W += $_ for @$w;
	my @c;
	my @frac;
	my $given = 0;
	for my $i (0 .. $n - 1)
	{
		my $x = $W > 0 ? $extra * $w->[$i] / $W : 0;
		my $f = floor($x);
		$c[$i] = 1 + $f;
		$frac[$i] = $x - $f;
		$given += $f;
	}
	my @order = sort { $frac[$b] <=> $frac[$a] || $a <=> $b } 0 .. $n - 1;
	$c[ $order[ $_ % $n ] ]++ for 0 .. $extra - $given - 1;
	return \@c;
}

my $ndays = @$daily;
my @day_pairs;			# day index => [ [source id, packets], ... ]
my $next_id = 0;
my %special;			# source id => country (the peak day's two)
my @bg_seen;			# background sources seen so far

# background level and campaign share of each day
my (@bg, @camp);
for my $i (0 .. $ndays - 1)
{
	my $t = $daily->[$i][1];
	my $rest = $t;
	if ($i == $peak_i)
	{
		my $s1 = sprintf('%.0f', $study->{top1_share} / 100 * $t);
		my $s2 = sprintf('%.0f', $study->{top2_share} / 100 * $t);
		my $id1 = $next_id++;
		my $id2 = $next_id++;
		$special{$id1} = $study->{top1_country};
		$special{$id2} = $study->{top2_country};
		push @{ $day_pairs[$i] }, [ $id1, $s1 ], [ $id2, $s2 ];
		$rest -= $s1 + $s2;
	}
	my $level = $model->{background_min} +
	  int(rand($model->{background_max} - $model->{background_min} + 1));
	$bg[$i] = $rest < $level ? $rest : $level;
	$camp[$i] = $rest - $bg[$i];
}

# background: lone scanners, new or seen before
for my $i (0 .. $ndays - 1)
{
	next if $bg[$i] == 0;
	my $n = int($bg[$i] / $model->{background_per_source} + 0.5) || 1;
	$n = $bg[$i] if $n > $bg[$i];
	my %today;
	my @ids;
	for (1 .. $n)
	{
		my $id;
		if (@bg_seen && rand() >= $model->{background_new})
		{
			for (1 .. 4)
			{
				my $c = $bg_seen[ int(rand(@bg_seen)) ];
				if (!$today{$c})
				{
					$id = $c;
					last;
				}
			}
		}
		if (!defined $id)
		{
			$id = $next_id++;
			push @bg_seen, $id;
		}
		$today{$id} = 1;
		push @ids, $id;
	}
	my @w = map { -log(1 - rand()) } @ids;
	my $c = distribute($bg[$i], \@w);
	push @{ $day_pairs[$i] }, map { [ $ids[$_], $c->[$_] ] } 0 .. $#ids;
}

# campaigns: one pool of bots per run of days with campaign traffic
my $i = 0;
while ($i < $ndays)
{
	if ($camp[$i] == 0)
	{
		$i++;
		next;
	}
	my $j = $i;
	$j++ while $j + 1 < $ndays && $camp[ $j + 1 ] > 0;
	my @n = map { my $k = int($camp[$_] / $model->{campaign_per_source} + 0.5) || 1;
				  $k > $camp[$_] ? $camp[$_] : $k } $i .. $j;
	my $max = 0;
	$max = $_ > $max ? $_ : $max for @n;
	my $pool = ceil($max * $model->{campaign_pool});
	my @pool = map { $next_id++ } 1 .. $pool;
	for my $d ($i .. $j)
	{
		my $n = $n[ $d - $i ];
		# n distinct bots of the pool (partial Fisher-Yates)
		my @p = @pool;
		for my $k (0 .. $n - 1)
		{
			my $r = $k + int(rand(@p - $k));
			@p[ $k, $r ] = @p[ $r, $k ];
		}
		my @ids = @p[ 0 .. $n - 1 ];
		my @w = map { my $x = (1 - rand())**(-1 / 1.3); $x > 200 ? 200 : $x } @ids;
		my $c = distribute($camp[$d], \@w);
		push @{ $day_pairs[$d] }, map { [ $ids[$_], $c->[$_] ] } 0 .. $#ids;
	}
	$i = $j + 1;
}

# ---------------------------------------------------------------------
# Countries and addresses of the sources that sent packets
# ---------------------------------------------------------------------

my %used;
for my $d (0 .. $ndays - 1)
{
	$used{ $_->[0] } = 1 for @{ $day_pairs[$d] || [] };
}
my @ids = sort { $a <=> $b } keys %used;
my $nsrc = @ids;

# countries dealt exactly by share (largest remainder), the peak day's two
# sources counted in their countries
my %quota;
{
	my ($given, @frac) = (0);
	for my $row (@$ctab)
	{
		my $x = $row->[1] / 100 * $nsrc;
		$quota{ $row->[0] } = floor($x);
		$given += floor($x);
		push @frac, [ $row->[0], $x - floor($x) ];
	}
	my @o = sort { $b->[1] <=> $a->[1] || $a->[0] cmp $b->[0] } @frac;
	$quota{ $o[ $_ % @o ][0] }++ for 0 .. $nsrc - $given - 1;
	for my $id (sort { $a <=> $b } keys %special)
	{
		die "$0: countries.tsv has no share for $special{$id}\n" unless $quota{ $special{$id} };
		$quota{ $special{$id} }--;
	}
}
my @deck = map { ($_->[0]) x $quota{ $_->[0] } } @$ctab;
for my $k (reverse 1 .. $#deck)
{
	my $r = int(rand($k + 1));
	@deck[ $k, $r ] = @deck[ $r, $k ];
}
my (%country, %addr, %taken);
my $honeypot = unpack('N', pack('C4', split /\./, $model->{honeypot}));
for my $id (@ids)
{
	my $cc = $special{$id} // shift(@deck);
	my $a;
	do
	{
		my $net = $nets{$cc}[ int(rand(@{ $nets{$cc} })) ];
		$a = $net->[0] + 1 + int(rand($net->[1] - 2));
	} while ($taken{$a} || ($a & 0xff) == 0 || ($a & 0xff) == 255 || $a == $honeypot);
	$taken{$a} = 1;
	$country{$id} = $cc;
	$addr{$id} = join('.', unpack('C4', pack('N', $a)));
}

# ---------------------------------------------------------------------
# Files: one per UTC day, each with the windows of the two Japanese days
# it touches
# ---------------------------------------------------------------------

# Unix time of 00:00 UTC of a YYYY-MM-DD day.
sub day_utc
{
	my ($d) = @_;
	my ($y, $m, $dd) = split /-/, $d;
	return timegm(0, 0, 0, $dd, $m - 1, $y);
}

# YYYY-MM-DD of a Unix time (UTC).
sub ymd
{
	my @g = gmtime($_[0]);
	return sprintf('%04d-%02d-%02d', $g[5] + 1900, $g[4] + 1, $g[3]);
}

# each Japanese day D: [D-1 15:00 UTC, D 00:00 UTC) is 9 hours of file D-1,
# [D 00:00 UTC, D 15:00 UTC) 15 hours of file D
my %windows;			# UTC day => [ [start, end, other, {addr => packets}], ... ]
my %total_of;
for my $d (0 .. $ndays - 1)
{
	my $day0 = day_utc($daily->[$d][0]);
	my ($w1, $w2) = ({}, {});
	for my $p (sort { $a->[0] <=> $b->[0] } @{ $day_pairs[$d] || [] })
	{
		my ($id, $n) = @$p;
		my $k = 0;
		for (1 .. $n)
		{
			$k++ if rand() < 9 / 24;
		}
		$w1->{ $addr{$id} } += $k if $k;
		$w2->{ $addr{$id} } += $n - $k if $n - $k;
		$total_of{ $addr{$id} } += $n;
	}
	my $other = $daily->[$d][2] // 0;
	my $o1 = int($other * 9 / 24 + 0.5);
	push @{ $windows{ ymd($day0 - 86400) } }, [ $day0 - 9 * 3600, $day0, $o1, $w1 ];
	push @{ $windows{ ymd($day0) } }, [ $day0, $day0 + 15 * 3600, $other - $o1, $w2 ];
}

my @udays = sort keys %windows;
my $last_day = $udays[-1];
my @jobs;
for my $k (0 .. $#udays)
{
	my $u = $udays[$k];
	my $ng = $u ge $model->{pcapng_from};
	my $gz = $k < @udays - $model->{uncompressed_days};
	my $name = "honeypot-$u." . ($ng ? 'pcapng' : 'pcap') . ($gz ? '.gz' : '');
	my $sched = "$opt{out}/honeypot-$u.sched";
	open(my $fh, '>', $sched) or die "$0: cannot write $sched: $!\n";
	print $fh "# $name: Japanese-day windows of UTC day $u\n";
	for my $w (sort { $a->[0] <=> $b->[0] } @{ $windows{$u} })
	{
		my ($s, $e, $other, $src) = @$w;
		my $m = 0;
		$m += $_ for values %$src;
		print $fh "window $s $e ", $m + $other, "\n";
		print $fh "$_ $src->{$_}\n" for sort keys %$src;
	}
	close($fh) or die "$0: cannot write $sched: $!\n";
	push @jobs, [ $name, [ $opt{gen}, '--schedule', $sched, '--dst', $model->{honeypot},
						   '-s', $model->{seed} + $k, '-f', $ng ? 'pcapng' : 'pcap',
						   '--scanners', $model->{other_scanners},
						   $gz ? ('-z') : (), '-o', "$opt{out}/$name" ] ];
}

# sources.tsv: the model's truth about each source, for tests
{
	open(my $fh, '>', "$opt{out}/sources.tsv") or die "$0: cannot write sources.tsv: $!\n";
	print $fh "# address\tcountry (model)\tMirai packets\n";
	print $fh "$addr{$_}\t$country{$_}\t$total_of{ $addr{$_} }\n" for @ids;
	close($fh);
}
my $t_model = time - $t_start;

# run the generator, --jobs at once
my $t_gen0 = time;
my %running;
my $failed = 0;
my @queue = @jobs;
while (@queue || %running)
{
	while (@queue && keys %running < $opt{jobs})
	{
		my $job = shift @queue;
		my $pid = fork();
		die "$0: fork: $!\n" unless defined $pid;
		if ($pid == 0)
		{
			exec(@{ $job->[1] }) or die "$0: cannot run $opt{gen}: $!\n";
		}
		$running{$pid} = $job->[0];
	}
	my $pid = wait();
	last if $pid < 0;
	if ($? != 0)
	{
		warn "$0: mirai_gen failed for $running{$pid}\n";
		$failed++;
	}
	delete $running{$pid};
}
die "$0: $failed files failed\n" if $failed;
my $t_gen = time - $t_gen0;

my ($bytes, %formats) = (0);
for my $job (@jobs)
{
	$bytes += -s "$opt{out}/$job->[0]";
	(my $f = $job->[0]) =~ s/^honeypot-[\d-]+\.//;
	$formats{$f}++;
}
open(my $mf, '>', "$opt{out}/MANIFEST") or die "$0: cannot write MANIFEST: $!\n";
print $mf "key $key\n", map { "$_->[0]\n" } @jobs;
close($mf) or die "$0: cannot write MANIFEST: $!\n";
printf "capture: %d files (%s), %.1f MB, %d Mirai sources; model %.1f s, mirai_gen %.1f s (%d at once)\n",
  scalar(@jobs), join(', ', map { "$formats{$_} $_" } sort keys %formats), $bytes / 1e6,
  $nsrc, $t_model, $t_gen, $opt{jobs}
  unless $opt{quiet};
