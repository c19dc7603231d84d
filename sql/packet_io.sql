-- The packet type: text input and output, round trips, errors.
\set VERBOSITY default

-- canonical forms read back unchanged
SELECT '2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'::packet;
SELECT '2024-12-14T03:12:45.000000000Z udp 192.0.2.1:53 > 203.0.113.7:5353 ttl=64 id=1 len=90 caplen=60 vlan=100'::packet;
SELECT '2024-12-14T03:12:45.5Z icmp 192.0.2.1 > 203.0.113.7 type=8 code=0 ttl=64 id=7 len=98'::packet;
SELECT '2024-12-14T00:00:00Z tcp [2001:db8::1]:40000 > [2001:db8::7]:23 flags=SA seq=1 ack=2 win=3 ttl=64 len=74'::packet;
SELECT '2024-12-14T00:00:00Z icmp6 2001:db8::1 > 2001:db8::7 type=128 code=0 ttl=64 len=70'::packet;
SELECT '2024-12-14T00:00:00Z 47 192.0.2.1 > 203.0.113.7 ttl=64 id=9 len=1500 frag'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 203.0.113.7:2 ttl=64 id=9 len=1500 caplen=38 frag'::packet;
SELECT '1970-01-01T00:00:00Z tcp 0.0.0.0:0 > 255.255.255.255:65535 flags=FSRPAUECN seq=4294967295 ack=4294967295 win=65535 ttl=255 id=65535 len=4294967295 caplen=0'::packet;

-- a TCP header cut by the snaplen after 8 bytes keeps its sequence number
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1025 > 192.0.2.2:2 seq=3221225986 ttl=1 id=1 len=54 caplen=42'::packet AS p \gset
SELECT :'p'::packet, packet_seq(:'p'), packet_ack(:'p'), packet_flags(:'p'), is_mirai(:'p');

-- what people type: a space instead of T, no Z, fewer digits, any flag order
SELECT '2024-12-14 03:12:45.25 tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=AS seq=1 ack=0 win=0 ttl=52 id=1 len=54'::packet;
SELECT '2024-12-14 03:12:45 tcp 192.0.2.1:40512 > 203.0.113.7:23 len=54 ttl=52 id=1 flags=- seq=1 ack=0 win=0'::packet;

-- round trips: text out, text in; binary send, recv
CREATE TEMP TABLE samples (p packet);
INSERT INTO samples VALUES
 ('2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'),
 ('2024-12-14T00:00:00Z tcp [2001:db8::1]:40000 > [2001:db8::7]:23 flags=SAN seq=1 ack=2 win=3 ttl=64 len=74 vlan=4095'),
 ('1677-09-21T00:12:43.145224192Z udp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=2 len=70000 caplen=65536'),
 ('2262-04-11T23:47:16.854775807Z icmp 192.0.2.1 > 192.0.2.2 type=3 code=1 ttl=1 id=2 len=70');
SELECT p::text::packet = p AS text_round_trip, p FROM samples ORDER BY p;
SELECT current_setting('data_directory') || '/mirai_regress_samples.bin' AS binfile \gset
COPY samples TO :'binfile' (FORMAT binary);
CREATE TEMP TABLE samples_back (p packet);
COPY samples_back FROM :'binfile' (FORMAT binary);
SELECT count(*) AS same FROM samples JOIN samples_back USING (p);
SELECT packet_send(p) FROM samples ORDER BY p LIMIT 1;

-- sizes: an IPv4 TCP packet takes 40 bytes on disk
CREATE TEMP TABLE sizes AS SELECT p FROM samples;
SELECT packet_ipver(p), packet_proto(p), pg_column_size(p) FROM sizes ORDER BY p;

-- ordering is by time; equality is identity
SELECT p < p, p = p, p <> p FROM samples ORDER BY p LIMIT 1;
SELECT count(DISTINCT p) FROM (SELECT p FROM samples UNION ALL SELECT p FROM samples) s;

-- errors: each names the field and where
SELECT ''::packet;
SELECT '2024-13-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-02-30T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2262-04-11T23:47:16.854775808Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcpx 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.300:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:65536 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > [2001:db8::1]:2 ttl=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=256 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54 seq=5 ack=6'::packet;
SELECT '2024-12-14T00:00:00Z udp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54 seq=5'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 flags=SS seq=1 ack=1 win=1 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z udp 192.0.2.1:1 > 192.0.2.2:2 flags=S seq=1 ack=1 win=1 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z 47 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54 len=55'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54 color=red'::packet;
SELECT '2024-12-14T00:00:00Z tcp [2001:db8::1]:1 > [2001:db8::2]:2 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 192.0.2.2:2 ttl=1 id=1 len=54 vlan=4096'::packet;

-- ISO 8601 offsets; a time without one is UTC
SELECT packet_time(p) AT TIME ZONE 'UTC' AS utc, p::text = q::text AS same
FROM (VALUES
    ('2024-12-14T12:12:45.5+09:00', '2024-12-14T03:12:45.5Z'),
    ('2024-12-14 03:12:45-0530', '2024-12-14T08:42:45Z'),
    ('2024-12-14T03:12:45+01', '2024-12-14T02:12:45'),
    ('2262-04-11T23:47:16.854775807-00:00', '2262-04-11T23:47:16.854775807Z')) AS v(a, b),
LATERAL (SELECT (a || ' tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54')::packet AS p,
                (b || ' tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54')::packet AS q) x;
SELECT '2024-12-14T03:12:45+1:00 tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54'::packet;
SELECT '2024-12-14T03:12:45+16:00 tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54'::packet;
SELECT '1677-09-21T00:12:43.145224192+00:01 tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54'::packet;
