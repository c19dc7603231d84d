#!/usr/bin/perl
# Benchmark of reading and loading a capture file in the server, against
# baselines measured in the same run.
#
#   perl test/bench/capture.pl [PACKETS]     (inside pg_virtualenv; see run.sh)
#
# On a generated pcap of PACKETS records (default 2.1 million, 70% Mirai):
#   1. count Mirai packets from the file: pcap_read + is_mirai in the select
#      list, vs `tcpdump -r FILE -w /dev/null '<Mirai BPF>'`;
#   2. load: INSERT INTO capture SELECT pcap_read(...) vs COPY (FORMAT binary)
#      of the same packets, already decoded, into a table of 8 plain columns;
#   3. size: table bytes per packet vs pcap bytes per packet.
# Each measurement is repeated ROUNDS times, alternating with its baseline,
# and the median is kept, so that a noisy shared machine hurts both sides.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);

my $packets = shift // 2_100_000;
my $rounds = $ENV{ROUNDS} // 5;
my $gen = $ENV{MIRAI_GEN} // 'src/bin/mirai_gen';
my $bpf = 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535';

my $dir = tempdir('mirai_bench.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $file = "$dir/big.pcap";
system($gen, '-s', '1', '-n', $packets, '-o', $file) == 0 or die "mirai_gen failed";
chmod 0644, $file;
my $file_bytes = -s $file;

# Run SQL in one psql session and return the server-side time of each
# statement whose line starts with "--timed", in milliseconds.
sub timed_sql
{
	my ($sql) = @_;
	my $script = "$dir/script.sql";
	open(my $fh, '>', $script) or die;
	print $fh "\\set ON_ERROR_STOP 1\nSET client_min_messages = warning;\n";
	my @lines = split /\n/, $sql;
	for my $l (@lines)
	{
		if ($l =~ s/^--timed //)
		{
			print $fh "\\timing on\n$l\n\\timing off\n";
		}
		else
		{
			print $fh "$l\n";
		}
	}
	close($fh);
	my $out = `psql -X -q -f '$script' 2>&1`;
	die "psql failed:\n$out" if $?;
	return map { /^Time: ([0-9.]+) ms/ ? $1 : () } split /\n/, $out;
}

sub median
{
	my @s = sort { $a <=> $b } @_;
	return $s[int(@s / 2)];
}

# the columns a home-grown pipeline would COPY, from the same packets
timed_sql(<<"EOF");
CREATE EXTENSION IF NOT EXISTS mirai_ext;
DROP TABLE IF EXISTS capture, cols;
CREATE TABLE capture (p packet);
CREATE TABLE cols (ts timestamptz, src inet, dst inet, sport int, dport int,
                   seq bigint, flags int, ttl int);
INSERT INTO capture SELECT pcap_read('$file');
INSERT INTO cols SELECT packet_time(p), packet_src(p), packet_dst(p), packet_sport(p),
    packet_dport(p), packet_seq(p), packet_flags(p), packet_ttl(p) FROM capture;
SELECT current_setting('data_directory') || '/mirai_bench_cols.bin' AS binfile \\gset
COPY cols TO :'binfile' (FORMAT binary);
EOF
my ($ip_packets) = `psql -X -A -t -c 'SELECT count(*) FROM capture'` =~ /(\d+)/;

my (@tcpdump, @count, @insert, @copy);
for my $r (1 .. $rounds)
{
	my $t0 = time;
	system("tcpdump -r '$file' -w /dev/null '$bpf' 2>/dev/null") == 0 or die "tcpdump failed";
	push @tcpdump, (time - $t0) * 1000;

	my @t = timed_sql(<<"EOF");
--timed SELECT count(*) FROM (SELECT pcap_read('$file') AS p) s WHERE is_mirai(p);
TRUNCATE capture, cols;
CHECKPOINT;
--timed INSERT INTO capture SELECT pcap_read('$file');
SELECT current_setting('data_directory') || '/mirai_bench_cols.bin' AS binfile \\gset
CHECKPOINT;
--timed COPY cols FROM :'binfile' (FORMAT binary);
EOF
	push @count, $t[0];
	push @insert, $t[1];
	push @copy, $t[2];
}
my ($table_bytes) = `psql -X -A -t -c "SELECT pg_relation_size('capture')"` =~ /(\d+)/;

my ($tcpdump, $count, $insert, $copy) = map { median(@$_) } \@tcpdump, \@count, \@insert, \@copy;
printf "capture benchmark: %d records, %d IP packets, median of %d rounds\n",
  $packets, $ip_packets, $rounds;
printf "  count Mirai: pcap_read + is_mirai %.0f ms, tcpdump BPF %.0f ms: ratio %.2f (bar <= 1.5)\n",
  $count, $tcpdump, $count / $tcpdump;
printf "  load: INSERT ... SELECT pcap_read %.0f ms (%.2f M packets/s), COPY binary of 8 columns %.0f ms (%.2f M packets/s): ratio %.2f (bar >= 1.0)\n",
  $insert, $ip_packets / $insert / 1000, $copy, $ip_packets / $copy / 1000, $copy / $insert;
printf "  size: table %.1f bytes per packet, pcap file %.1f bytes per packet (bar: table <= file)\n",
  $table_bytes / $ip_packets, $file_bytes / $packets;
