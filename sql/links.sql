-- Link types and encapsulations: what pcap_file_info and pcap_read make of
-- a capture of each (test/fixtures.sh; test/t/022_links.t compares every
-- packet with tshark).  Frames that are not IP are skipped by reason.
\set VERBOSITY default
SET timezone = 'UTC';
\set d 'mirai_fixtures'

-- each link type and encapsulation: IP packets, Mirai packets, skips
SELECT f, linktypes, records, ipv4, ipv6, ipv4_tcp, mirai, skipped, skipped_by_reason
FROM unnest(ARRAY['ppp.pcap', 'ppp_variants.pcap', 'ppp_hdlc.pcap', 'chdlc.pcap',
                  'frelay.pcap', 'frelay_variants.pcap', 'ipoib.pcap',
                  'fddi.pcap', 'arcnet.pcap', 'arcnet_bsd.pcap', 'wlan.pcap',
                  'radiotap.pcap', 'ppi.pcap', 'pktap.pcap', 'ipnet.pcap', 'nflog.pcap',
                  'nflog_be.pcap', 'pppoe.pcap', 'pppoe_qinq.pcap', 'mpls.pcap',
                  'mpls_ppp.pcap', 'mpls_variants.pcap', 'mpls_ppp_variants.pcap', 'pbb.pcap',
                  'vntag.pcap', 'arista.pcap', 'macsec.pcap', 'macsec_encrypted.pcap',
                  'nsh.pcap', 'nsh_variants.pcap', 'links_variants.pcapng']) AS f,
     LATERAL pcap_file_info(:'d' || '/' || f)
ORDER BY f;

-- the first packet of each encapsulation: the outermost VLAN id is kept
SELECT f, p
FROM unnest(ARRAY['pppoe.pcap', 'pppoe_qinq.pcap', 'mpls.pcap', 'pbb.pcap', 'vntag.pcap',
                  'arista.pcap', 'macsec.pcap', 'nsh.pcap', 'nsh_variants.pcap']) AS f,
     LATERAL (SELECT pcap_read(:'d' || '/' || f, max_packets => 1) AS p) s
ORDER BY f;

-- a NOTICE says what was skipped
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/wlan.pcap')) s;

-- encrypted MACsec: no IP packet to read
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/macsec_encrypted.pcap')) s;

-- a filter: tcpdump's meaning, on 802.11 as on Ethernet
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/radiotap.pcap', filter => 'tcp dst port 23')) s;

-- libpcap cannot filter NFLOG (nor PKTAP) frames: neither can tcpdump
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/nflog.pcap', filter => 'tcp')) s;

-- nor IP over InfiniBand
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/ipoib.pcap', filter => 'tcp')) s;
