#!/usr/bin/perl
# Damage one record of an uncompressed little-endian capture file made by
# mirai_gen, in place, for the salvage tests:
#
#   perl test/damage.pl FILE N caplen     pcap: record N's captured length
#                                         becomes 70000 (> the snaplen, which
#                                         is no error by itself: libpcap reads
#                                         such a record, cut to the snaplen;
#                                         here it runs past the file's end)
#   perl test/damage.pl FILE N hugecaplen pcap: record N's captured length
#                                         becomes 300000 (> 262144, the
#                                         largest any reader accepts)
#   perl test/damage.pl FILE N garbage    pcap: 7 bytes of record N's header
#                                         overwritten with 0xff
#   perl test/damage.pl FILE N blocklen   pcapng: the Nth block's leading
#                                         length is off by 2 (not a multiple
#                                         of 4, differs from the trailing one)
#
# N counts from 1 (pcap: records; pcapng: blocks, the section header is 1).
use strict;
use warnings;

my ($file, $n, $mode) = @ARGV;
open(my $fh, '+<:raw', $file) or die "$file: $!";
my $buf = do { local $/; <$fh> };

my $off;
if ($mode eq 'blocklen')
{
	$off = 0;
	for (my $i = 1; $i < $n; $i++)
	{
		$off += unpack('V', substr($buf, $off + 4, 4));
	}
	my $len = unpack('V', substr($buf, $off + 4, 4));
	substr($buf, $off + 4, 4) = pack('V', $len + 2);
}
else
{
	$off = 24;
	for (my $i = 1; $i < $n; $i++)
	{
		$off += 16 + unpack('V', substr($buf, $off + 8, 4));
	}
	if ($mode eq 'caplen')
	{
		substr($buf, $off + 8, 4) = pack('V', 70000);
	}
	elsif ($mode eq 'hugecaplen')
	{
		substr($buf, $off + 8, 4) = pack('V', 300000);
	}
	else
	{
		substr($buf, $off + 2, 7) = "\xff" x 7;
	}
}
seek($fh, 0, 0);
print $fh $buf;
close($fh);
print "$off\n";
