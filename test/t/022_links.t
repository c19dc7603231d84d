#!/usr/bin/perl
#
# 022_links.t
#	  Link types and encapsulations, field by field against tshark: for
#	  every capture of test/fixtures.sh's link types (PPP, PPP in HDLC
#	  framing, Cisco HDLC, Frame Relay in every framing, FDDI, ARCNET,
#	  802.11, radiotap, PPI, PKTAP, IPNET, NFLOG in either byte order, IP
#	  over InfiniBand; PPPoE, under QinQ too, MPLS over Ethernet and PPP,
#	  802.1ah PBB, VN-Tag, Arista's time stamp, MACsec in the clear and
#	  encrypted, NSH with and without an inner Ethernet header; PPP in
#	  every framing; and a
#	  pcapng of every framing variant of the others), pcap_read gives exactly the packets tshark
#	  dissects as IP, in order, with the same time, addresses, protocol,
#	  ports (ICMP type and code), TCP sequence and acknowledgement numbers,
#	  flags and window, TTL, IPv4 id, lengths, outermost VLAN id and
#	  fragment bit; and pcap_file_info's skips by reason are what tshark
#	  says the other frames are (ARP, LLC, LLDP, link control, encrypted,
#	  other).  tshark 4.0 does not read octet-stuffed PPP frames (a 0x7e
#	  flag first) on LINKTYPE_PPP; for those, tcpdump (which does) is the
#	  oracle of the IP fields.
#
#	  tshark runs once, over all the pcap captures merged by mergecap,
#	  and once over the pcapng.
#
# Environment (test/in_cluster.sh): PGHOST etc., MIRAI_FIXTURES (the files),
# MIRAI_FIXTURES_SQL (the same directory as the server sees it), MIRAI_WORK.
#
use strict;
use warnings;
use JSON::PP;
use Test::More;

my $dir = $ENV{MIRAI_FIXTURES} or die "MIRAI_FIXTURES is not set";
my $sqldir = $ENV{MIRAI_FIXTURES_SQL} or die "MIRAI_FIXTURES_SQL is not set";
my $tmp = ($ENV{MIRAI_WORK} // '/tmp') . "/links.$$";
mkdir($tmp) or die "mkdir $tmp: $!\n";
END
{
	system('rm', '-rf', $tmp) if defined $tmp;
}

my @pcaps = qw(ppp.pcap ppp_variants.pcap ppp_hdlc.pcap chdlc.pcap frelay.pcap
  frelay_variants.pcap fddi.pcap arcnet.pcap arcnet_bsd.pcap wlan.pcap radiotap.pcap
  ppi.pcap pktap.pcap ipnet.pcap nflog.pcap nflog_be.pcap ipoib.pcap pppoe.pcap
  pppoe_qinq.pcap mpls.pcap mpls_ppp.pcap mpls_variants.pcap mpls_ppp_variants.pcap
  pbb.pcap vntag.pcap arista.pcap macsec.pcap macsec_encrypted.pcap nsh.pcap
  nsh_variants.pcap);
my $variants = 'links_variants.pcapng';
# captures with no IP packet to read (every frame is skipped, by reason)
my %no_ip = ('macsec_encrypted.pcap' => 1);

for my $tool ('tshark', 'mergecap', 'tcpdump')
{
	BAIL_OUT("$tool is not installed (test/deps.sh installs it)")
	  if system("command -v $tool >/dev/null 2>&1") != 0;
}

# The fields compared, in this order (ICMP's type and code as ports).
my @names = qw(time_ns ipver src dst proto sport dport seq ack flags window
  ttl ipid len caplen vlan frag);

# ---- what pcap_read and pcap_file_info say ----

# every file's packets (rows of @names, '|'-separated) and skips by reason
my (%sql_rows, %sql_skips);
{
	my $sql = "SET client_min_messages = warning;\nCREATE EXTENSION IF NOT EXISTS mirai_ext;\n";
	for my $f (@pcaps, $variants)
	{
		$sql .= "SELECT 'FILE $f';\n";
		$sql .= "SELECT packet_time_ns(p), packet_ipver(p), host(packet_src(p)), "
		  . "host(packet_dst(p)), packet_proto(p), "
		  . "coalesce(packet_sport(p), packet_icmp_type(p)), "
		  . "coalesce(packet_dport(p), packet_icmp_code(p)), packet_seq(p), packet_ack(p), "
		  . "packet_flags(p), packet_window(p), packet_ttl(p), packet_ipid(p), packet_len(p), "
		  . "packet_caplen(p), packet_vlan(p), CASE WHEN packet_is_fragment(p) THEN 1 ELSE 0 END "
		  . "FROM (SELECT pcap_read('$sqldir/$f') AS p) s;\n";
		$sql .= "SELECT 'SKIPS ' || skipped_by_reason::text FROM pcap_file_info('$sqldir/$f');\n";
	}
	open(my $fh, '>', "$tmp/q.sql") or die;
	print $fh $sql;
	close($fh);
	my @out = `psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' -f $tmp/q.sql 2>&1`;
	die "psql failed: @out" if $?;
	my $cur;
	for (@out)
	{
		chomp;
		if (/^FILE (\S+)$/)
		{
			$cur = $1;
			$sql_rows{$cur} = [];
		}
		elsif (/^SKIPS (.*)$/)
		{
			$sql_skips{$cur} = decode_json($1);
		}
		elsif ($_ ne '')
		{
			push @{ $sql_rows{$cur} }, $_;
		}
	}
}

# ---- what tshark says ----

my @tshark_fields = qw(frame.interface_id frame.time_epoch frame.len frame.cap_len
  frame.protocols ip.src ip.dst ip.proto ip.ttl ip.id ip.flags.mf ip.frag_offset
  ipv6.src ipv6.dst ipv6.nxt ipv6.hlim tcp.srcport tcp.dstport tcp.seq_raw
  tcp.ack_raw tcp.flags tcp.window_size_value udp.srcport udp.dstport
  icmp.type icmp.code icmpv6.type icmpv6.code vlan.id ieee8021ad.id
  ieee8021ah.etype wlan.fc.type wlan.fc.subtype wlan.fc.protected fddi.fc);

# One tshark run; returns a list of frames, each a hash of the fields.
sub tshark
{
	my ($file) = @_;
	my $cmd = "tshark -n -r '$file' -o tcp.desegment_tcp_streams:false "
	  . "-o ip.defragment:false -o ipv6.defragment:false -T fields -E separator=/t "
	  . "-E occurrence=f " . join(' ', map { "-e $_" } @tshark_fields) . " 2>/dev/null";
	my @frames;
	for my $line (`$cmd`)
	{
		chomp $line;
		my @v = split /\t/, $line, -1;
		my %h;
		@h{@tshark_fields} = @v;
		push @frames, \%h;
	}
	die "tshark failed on $file" if $? || !@frames;
	return @frames;
}

sub num
{
	my ($v) = @_;
	return '' if !defined $v || $v eq '';
	return $v =~ /^0x/i ? hex($v) : $v + 0;
}

# The outermost VLAN id: the first of 802.1ad and 802.1Q in the frame.
sub vlan
{
	my ($t) = @_;
	my $p = $t->{'frame.protocols'};
	my ($ad, $q) = (index($p, 'ieee8021ad'), index($p, ':vlan:'));
	return num($t->{'ieee8021ad.id'}) if $ad >= 0 && ($q < 0 || $ad < $q);
	return num($t->{'vlan.id'}) if $q >= 0;
	return '';
}

# A frame's time as integer nanoseconds (the fixtures' are after 1970).
sub time_ns
{
	my ($s) = @_;
	my ($sec, $frac) = $s =~ /^([1-9]\d*)\.(\d+)$/ or die "unexpected time $s";
	return $sec . substr($frac . '0' x 9, 0, 9);
}

# The row tshark's fields give for an IP frame, as pcap_read's rows read.
sub tshark_row
{
	my ($t) = @_;
	my $v4 = $t->{'ip.src'} ne '';
	my %r;
	$r{time_ns} = time_ns($t->{'frame.time_epoch'});
	$r{ipver} = $v4 ? 4 : 6;
	$r{src} = $v4 ? $t->{'ip.src'} : $t->{'ipv6.src'};
	$r{dst} = $v4 ? $t->{'ip.dst'} : $t->{'ipv6.dst'};
	$r{proto} = num($v4 ? $t->{'ip.proto'} : $t->{'ipv6.nxt'});
	$r{sport} = num($t->{'tcp.srcport'} || $t->{'udp.srcport'}
		  || ($v4 ? $t->{'icmp.type'} : $t->{'icmpv6.type'}));
	$r{dport} = num($t->{'tcp.dstport'} || $t->{'udp.dstport'}
		  || ($v4 ? $t->{'icmp.code'} : $t->{'icmpv6.code'}));
	$r{seq} = num($t->{'tcp.seq_raw'});
	$r{ack} = num($t->{'tcp.ack_raw'});
	$r{flags} = $t->{'tcp.flags'} eq '' ? '' : num($t->{'tcp.flags'}) & 0x1ff;
	$r{window} = num($t->{'tcp.window_size_value'});
	$r{ttl} = num($v4 ? $t->{'ip.ttl'} : $t->{'ipv6.hlim'});
	$r{ipid} = $v4 ? num($t->{'ip.id'}) : '';
	$r{len} = $t->{'frame.len'};
	$r{caplen} = $t->{'frame.cap_len'};
	$r{vlan} = vlan($t);
	$r{frag} = $v4 && (num($t->{'ip.flags.mf'}) || num($t->{'ip.frag_offset'})) ? 1 : 0;
	return \%r;
}

# Why a frame tshark does not dissect as IP has no packet, in pcap_read's
# words, from tshark's protocols and fields.
sub reason
{
	my ($t) = @_;
	my $p = $t->{'frame.protocols'};
	return 'arp' if $p =~ /:arp$/;
	return 'lldp' if $p =~ /:lldp$/;
	return 'llc' if $p =~ /:stp$/;
	return 'encrypted' if $p =~ /:macsec:data$/;
	return 'llc' if $t->{'ieee8021ah.etype'} ne '' && num($t->{'ieee8021ah.etype'}) < 0x600;
	return 'control' if $p =~ /:(lcp|ipcp|ipv6cp|pppoed|slarp|cdp)$/;
	if ($p =~ /(^|:)wlan(:|$)/)
	{
		my $type = num($t->{'wlan.fc.type'});
		return 'control' if $type == 0 || $type == 1;
		return 'control' if $type == 2 && (num($t->{'wlan.fc.subtype'}) & 4);
		return 'encrypted' if num($t->{'wlan.fc.protected'});
	}
	if ($p =~ /^fddi/ && $t->{'fddi.fc'} ne '')
	{
		my $fc = num($t->{'fddi.fc'}) & 0xf0;
		return 'control' if $fc == 0x40 || $fc == 0xc0;
	}
	return 'other';
}

# tcpdump's view of the frames tshark leaves undissected: frame number =>
# the IP fields tcpdump -v prints ('*' where it prints nothing to compare),
# or "control" for PPP's control protocols.  A frame's lines are its first
# line and the indented ones after it; MPLS labels come before the IP
# header's line.
sub tcpdump_rows
{
	my ($file) = @_;
	my %rows;
	my %flagbit = ('F' => 1, 'S' => 2, 'R' => 4, 'P' => 8, '.' => 16, 'U' => 32, 'E' => 64, 'W' => 128);
	my %text;
	my $cur;
	for (`tcpdump -# -nn -v -S -r '$file' 2>/dev/null`)
	{
		if (/^\s*(\d+)\s+\S+\s+(.*)$/ && !/^\s*\d+\.\d+\.\d+\.\d+\./)
		{
			$cur = $1;
			$text{$cur} = "$2\n";
		}
		elsif (defined $cur)
		{
			$text{$cur} .= $_;
		}
	}
	for my $n (keys %text)
	{
		my $t = $text{$n};
		my %r = map { $_ => '*' } @names;
		my $body;
		if ($t =~ /^(LCP|IPCP|IP6CP|CCP|PAP|CHAP)\b/)
		{
			$rows{$n} = 'control';
			next;
		}
		if ($t =~ /(?:^|\s)IP \(tos \S+, ttl (\d+), id (\d+), offset (\d+), flags \[([^\]]*)\], proto \S+ \((\d+)\), length \d+[,)][^\n]*\n\s*([^\n]*)/)
		{
			@r{qw(ipver ttl ipid proto body)} = (4, $1, $2, $5, $6);
			$r{frag} = ($3 > 0 || $4 =~ /\+/) ? 1 : 0;
		}
		elsif ($t =~ /(?:^|\s)IP6 \([^\n]*hlim (\d+), next-header \S+ \((\d+)\) payload length: \d+\) ([^\n]*)/)
		{
			@r{qw(ipver ttl ipid proto frag body)} = (6, $1, '', $2, 0, $3);
		}
		else
		{
			next;
		}
		$body = delete $r{body};
		my $addr = $r{ipver} == 4 ? qr/\d+(?:\.\d+){3}/ : qr/[0-9a-f:]+/;
		if ($body =~ /^($addr)\.(\d+) > ($addr)\.(\d+): (.*)$/ && $r{proto} != 1 && $r{proto} != 58)
		{
			@r{qw(src sport dst dport)} = ($1, $2, $3, $4);
			my $tail = $5;
			if ($r{proto} == 6)
			{
				if (my ($fl) = $tail =~ /Flags \[([^\]]*)\]/)
				{
					my $bits = 0;
					$bits |= $flagbit{$_} // 0 for split //, $fl;
					$r{flags} = $bits;
				}
				$r{seq} = $1 if $tail =~ /seq (\d+)/;
				$r{ack} = $1 if $tail =~ /ack (\d+)/;
				$r{window} = $1 if $tail =~ /win (\d+)/;
			}
			else
			{
				@r{qw(seq ack flags window)} = ('', '', '', '');
			}
		}
		elsif ($body =~ /^(\S+) > (\S+): (.*)$/)
		{
			@r{qw(src dst)} = ($1, $2);
			my $tail = $3;
			@r{qw(seq ack flags window)} = ('', '', '', '');
			if ($tail =~ /ICMP echo request/) { @r{qw(sport dport)} = (8, 0) }
			elsif ($tail =~ /ICMP6, echo request/) { @r{qw(sport dport)} = (128, 0) }
			elsif ($r{frag} && $tail =~ /ip-proto-/) { @r{qw(sport dport seq ack flags window)} = ('') x 6 }
		}
		$rows{$n} = \%r;
	}
	return \%rows;
}

# ---- compare ----

# Compare one file: its frames as tshark reads them (and tcpdump where
# tshark does not see IP), with pcap_read's rows and pcap_file_info's skips.
sub compare
{
	my ($f, $frames) = @_;
	my @want;
	my %skips;
	my $fallback;
	my $n = 0;
	my $undissected = 0;

	for my $t (@$frames)
	{
		$n++;
		if ($t->{'ip.src'} ne '' || $t->{'ipv6.src'} ne '')
		{
			push @want, tshark_row($t);
			next;
		}
		if ($t->{'frame.protocols'} =~ /^ppp:data$/)
		{
			# octet-stuffed PPP: what tcpdump makes of it
			$fallback //= tcpdump_rows("$dir/$f");
			my $r = $fallback->{$n};
			if (defined $r && !ref $r)
			{
				$skips{$r}++;
				next;
			}
			if ($r)
			{
				my %r = %$r;
				$r{time_ns} = time_ns($t->{'frame.time_epoch'});
				@r{qw(len caplen vlan)} = ($t->{'frame.len'}, $t->{'frame.cap_len'}, '');
				push @want, \%r;
				$undissected++;
				next;
			}
		}
		$skips{ reason($t) }++;
	}

	my @got = map {
		my %r;
		@r{@names} = split /\|/, $_, -1;
		\%r
	} @{ $sql_rows{$f} };
	my @bad;
	for my $i (0 .. ($#want > $#got ? $#want : $#got))
	{
		my ($w, $g) = ($want[$i], $got[$i]);
		if (!$w || !$g)
		{
			push @bad, "packet " . ($i + 1) . ': ' . ($w ? 'pcap_read has none' : 'tshark has none');
			last;
		}
		my @diff = grep { $w->{$_} ne '*' && "$w->{$_}" ne "$g->{$_}" } @names;
		push @bad, "packet " . ($i + 1) . " (time $w->{time_ns}): "
		  . join(', ', map { "$_ tshark '$w->{$_}' pcap_read '$g->{$_}'" } @diff)
		  if @diff;
	}
	ok((@want > 0 || $no_ip{$f}) && !@bad,
		"$f: pcap_read's " . scalar(@got) . " packets are tshark's " . scalar(@want)
		  . ($undissected ? " ($undissected of them tcpdump's)" : '') . ', field by field')
	  or diag(join("\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)]));
	is_deeply($sql_skips{$f}, \%skips, "$f: skipped frames by reason are what tshark says they are")
	  or diag(encode_json($sql_skips{$f}) . ' vs tshark ' . encode_json(\%skips));
	return $undissected;
}

# the pcap captures, merged into one pcapng (one interface each) for tshark
system('mergecap', '-a', '-I', 'none', '-w', "$tmp/all.pcapng", map { "$dir/$_" } @pcaps) == 0
  or BAIL_OUT('mergecap failed');
my %by_file;
for my $t (tshark("$tmp/all.pcapng"))
{
	push @{ $by_file{ $pcaps[ $t->{'frame.interface_id'} ] } }, $t;
}
my $stuffed = 0;
for my $f (@pcaps)
{
	$stuffed += compare($f, $by_file{$f} // []);
}
compare($variants, [ tshark("$dir/$variants") ]);
ok($stuffed > 0, "octet-stuffed PPP frames were compared with tcpdump's view ($stuffed)");

done_testing();
