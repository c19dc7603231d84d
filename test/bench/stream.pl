#!/usr/bin/perl
# Benchmark of the packet stream (src/decode/mx_stream.c): counting Mirai
# packets in a capture file, against tcpdump's BPF pass over the same file,
# and, when given an older build, against that build.
#
#   perl test/bench/stream.pl [RECORDS]      (inside a cluster: run.sh, or
#                                            pg_virtualenv as in README.md)
#
# On a generated pcap of RECORDS records (default 2.1 million, 70% Mirai;
# BENCH_FILE reuses a file instead):
#   (t) tcpdump -r FILE -w /dev/null '<Mirai BPF>'     the baseline
#   (c) mirai_load --dry-run --mirai-only FILE          the stream, client side
#   (s) SELECT count(*) FROM (SELECT pcap_read(FILE) AS p) s WHERE is_mirai(p)
#                                                       the stream, in the server
# and, to compare two builds on the same file and in the same rounds:
#   BASE_LOAD=path/to/old/mirai_load        (c0) the old loader
#   BASE_DESTDIR=dir, NEW_DESTDIR=dir       (s0) the old extension library,
#        (s) the new one: each server session sets extension_destdir to its
#        tree (make install DESTDIR=dir) before the library loads
# Each measure is the median of ROUNDS (default 5) rounds, taken in
# alternation so that a busy machine slows every side alike.  With
# BASE_LOAD and valgrind installed, it also counts the instructions both
# loaders run (callgrind, on the first 200000 records: COUNT_RECORDS), a
# figure no other job on the machine changes.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);

my $records = shift // 2_100_000;
my $rounds = $ENV{ROUNDS} // 5;
my $gen = $ENV{MIRAI_GEN} // 'src/bin/mirai_gen';
my $load = $ENV{MIRAI_LOAD} // 'src/bin/mirai_load';
my $base_load = $ENV{BASE_LOAD};
my $base_dest = $ENV{BASE_DESTDIR};
my $new_dest = $ENV{NEW_DESTDIR};
my $bpf = 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535';

my $dir = tempdir('mirai_bench.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $file = $ENV{BENCH_FILE};
if (!defined $file)
{
	$file = "$dir/big.pcap";
	system($gen, '-s', '1', '-n', $records, '-o', $file) == 0 or die "mirai_gen failed\n";
	chmod 0644, $file;
}

sub median
{
	my @s = sort { $a <=> $b } @_;
	return $s[int(@s / 2)];
}

# wall time of a command, in ms; its stdout
sub timed
{
	my ($cmd) = @_;
	my $t0 = time;
	my $out = `$cmd`;
	die "failed: $cmd\n" if $?;
	return ((time - $t0) * 1000, $out);
}

# the server's time for the count, in a session whose library comes from
# $destdir (undef: the cluster's own setting); a first call loads it
sub server_count
{
	my ($destdir) = @_;
	my $set = defined $destdir ? "SET extension_destdir = '$destdir';\n" : '';
	my $sql = "$set"
	  . "SELECT count(*) FROM (SELECT pcap_read('$file', max_packets => 1)) s;\n"
	  . "\\timing on\n"
	  . "SELECT count(*) AS mirai FROM (SELECT pcap_read('$file') AS p) s WHERE is_mirai(p);\n";
	open(my $fh, '>', "$dir/count.sql") or die;
	print $fh $sql;
	close($fh);
	my $out = `psql -X -q -A -t -f '$dir/count.sql' 2>&1`;
	die "psql failed:\n$out" if $?;
	my ($ms) = $out =~ /^Time: ([0-9.]+) ms/m;
	my @n = $out =~ /^(\d+)$/mg;
	return ($ms, $n[-1]);
}

system("psql -X -q -c 'CREATE EXTENSION IF NOT EXISTS mirai_ext' >/dev/null") == 0
  or die "cannot create the extension\n";

my (%t, %n);
for my $r (1 .. $rounds)
{
	my ($ms, $out) = timed("tcpdump -r '$file' -w /dev/null '$bpf' 2>/dev/null");
	push @{ $t{t} }, $ms;
	($ms, $out) = timed("'$load' --dry-run --mirai-only '$file' 2>&1");
	push @{ $t{c} }, $ms;
	($n{c}) = $out =~ /(\d+) packets/;
	if ($base_load)
	{
		($ms, $out) = timed("'$base_load' --dry-run --mirai-only '$file' 2>&1");
		push @{ $t{c0} }, $ms;
		($n{c0}) = $out =~ /(\d+) packets/;
	}
	($ms, $n{s}) = server_count($new_dest);
	push @{ $t{s} }, $ms;
	if ($base_dest)
	{
		($ms, $n{s0}) = server_count($base_dest);
		push @{ $t{s0} }, $ms;
	}
}
my ($n_tcpdump) = `tcpdump -r '$file' '$bpf' 2>/dev/null | wc -l` =~ /(\d+)/;
my %m = map { $_ => median(@{ $t{$_} }) } keys %t;

printf "stream benchmark: %s, %d bytes, median of %d rounds\n", $file, -s $file, $rounds;
printf "  (t) tcpdump -w /dev/null '<Mirai BPF>'      %7.0f ms  (%d packets match)\n", $m{t}, $n_tcpdump;
printf "  (c) mirai_load --dry-run --mirai-only      %7.0f ms  (%d Mirai packets)  (c)/(t) %.2f (bar <= 1.5)\n",
  $m{c}, $n{c} // -1, $m{c} / $m{t};
printf "  (s) pcap_read + is_mirai in the server     %7.0f ms  (%d Mirai packets)  (s)/(t) %.2f (bar <= 1.5)\n",
  $m{s}, $n{s} // -1, $m{s} / $m{t};
printf "  (c0) the base build's mirai_load           %7.0f ms  (%d Mirai packets)  (c)/(c0) %.2f (bar <= 1.0)\n",
  $m{c0}, $n{c0} // -1, $m{c} / $m{c0}
  if $base_load;
printf "  (s0) the base build's pcap_read            %7.0f ms  (%d Mirai packets)  (s)/(s0) %.2f (bar <= 1.0)\n",
  $m{s0}, $n{s0} // -1, $m{s} / $m{s0}
  if $base_dest;

# instructions, the same loaders on the first records of the same file
if ($base_load && system('valgrind --version >/dev/null 2>&1') == 0)
{
	my $records = $ENV{COUNT_RECORDS} // 200000;
	my $small = "$dir/first.pcap";
	# the first records: the file header, then whole records
	open(my $in, '<:raw', $file) or die;
	open(my $out, '>:raw', $small) or die;
	read($in, my $hdr, 24);
	print $out $hdr;
	for (1 .. $records)
	{
		last unless read($in, my $rh, 16) == 16;
		my $caplen = unpack('V', substr($rh, 8, 4));
		read($in, my $data, $caplen);
		print $out $rh, $data;
	}
	close($out);
	my %ir;
	for my $which ([ 'c', $load ], [ 'c0', $base_load ])
	{
		my $log = `valgrind --tool=callgrind --callgrind-out-file=$dir/cg.out '$which->[1]' --dry-run --mirai-only '$small' 2>&1`;
		($ir{ $which->[0] }) = $log =~ /Collected : (\d+)/;
	}
	printf "  instructions, mirai_load --dry-run --mirai-only on %d records: %.1f M, the base build's %.1f M: %.3f (bar <= 1.0)\n",
	  $records, $ir{c} / 1e6, $ir{c0} / 1e6, $ir{c} / $ir{c0}
	  if $ir{c} && $ir{c0};
}
