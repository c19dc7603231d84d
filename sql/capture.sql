-- Reading capture files in the server: every container and link type,
-- filters, limits, errors.  Fixtures are made by test/fixtures.sh with
-- mirai_gen (seeded) and reached through "mirai_fixtures" in the data
-- directory.
\set VERBOSITY default
SET timezone = 'UTC';
\set d 'mirai_fixtures'

-- what each file is and holds
SELECT f, format, gzip, byte_order, version, time_resolution, sections, interfaces,
       linktypes, records, ipv4, ipv6, ipv4_tcp, mirai, skipped, skipped_by_reason,
       first_time, truncated
FROM unnest(ARRAY['ether.pcap', 'ether_ns_be.pcap', 'vlan.pcap', 'qinq.pcap', 'sll.pcap',
                  'sll2.pcap', 'raw.pcap', 'raw12.pcap', 'raw14.pcap', 'ipv4.pcap', 'ipv6.pcap',
                  'null.pcap', 'null_be.pcap', 'loop.pcap', 'v22.pcap', 'kuz.pcap', 'snap.pcap',
                  'frag.pcap', 'ether.pcapng', 'be.pcapng', 'mixed.pcapng', 'blocks.pcapng',
                  'tsresol.pcapng', 'tsres2.pcapng', 'ether.pcap.gz', 'mixed.pcapng.gz',
                  'gzip_no_suffix']) AS f,
     LATERAL pcap_file_info(:'d' || '/' || f)
ORDER BY f;

-- the same packets whatever the container
SELECT count(*) AS same_packets
FROM (SELECT pcap_read(:'d' || '/ether.pcap') AS p) a
JOIN (SELECT pcap_read(:'d' || '/ether.pcapng') AS p) b USING (p);
SELECT (SELECT array_agg(p ORDER BY p) FROM (SELECT pcap_read(:'d' || '/ether.pcap') AS p) a) =
       (SELECT array_agg(p ORDER BY p) FROM (SELECT pcap_read(:'d' || '/ether.pcap.gz') AS p) b)
       AS gzip_same;

-- a first look at packets
SELECT p FROM pcap_read(:'d' || '/ether.pcap') AS p LIMIT 5;
SELECT packet_time(p), packet_src(p), packet_sport(p), packet_dst(p), packet_seq(p), is_mirai(p)
FROM pcap_read(:'d' || '/ether.pcap') AS p WHERE packet_proto(p) = 6 LIMIT 5;
SELECT (packet_fields(p)).* FROM pcap_read(:'d' || '/vlan.pcap') AS p LIMIT 2;
SELECT p FROM pcap_read(:'d' || '/ipv6.pcap') AS p LIMIT 3;
SELECT p FROM pcap_read(:'d' || '/frag.pcap') AS p WHERE packet_is_fragment(p) LIMIT 4;
SELECT p FROM pcap_read(:'d' || '/snap.pcap') AS p WHERE packet_caplen(p) < packet_len(p) LIMIT 3;
-- nanosecond time stamps, if_tsresol and if_tsoffset
SELECT packet_time_ns(p) FROM pcap_read(:'d' || '/ether_ns_be.pcap') AS p LIMIT 2;
SELECT packet_time_ns(p) FROM pcap_read(:'d' || '/tsresol.pcapng') AS p LIMIT 2;
SELECT packet_time_ns(p) FROM pcap_read(:'d' || '/tsres2.pcapng') AS p LIMIT 2;

-- IPv6 is never Mirai and never an error
SELECT count(*), count(*) FILTER (WHERE is_mirai(p)) FROM (SELECT pcap_read(:'d' || '/ipv6.pcap') p) s;

-- max_packets and filter
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/big.pcap', max_packets => 1234)) s;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/big.pcap', max_packets => 0)) s;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/ether.pcap', 'tcp dst port 23')) s;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/vlan.pcap', 'vlan 100 and tcp')) s;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/mixed.pcapng', 'tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535')) s;
SELECT count(*) FROM (SELECT pcap_read(NULL)) s;

-- streaming: a LIMIT stops reading early, and the file is closed
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/big.pcap') p LIMIT 10) s;

-- load into a table, the form README recommends
CREATE TABLE capture (p packet);
INSERT INTO capture SELECT pcap_read(:'d' || '/ether.pcap.gz');
INSERT INTO capture SELECT pcap_read(:'d' || '/mixed.pcapng');
SELECT count(*), count(*) FILTER (WHERE is_mirai(p)) AS mirai FROM capture;
SELECT packet_ipver(p) AS v, packet_proto(p) AS proto, count(*) FROM capture GROUP BY 1, 2 ORDER BY 1, 2;

-- a file cut short in its last record: a warning, the packets before it kept
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/trunc.pcap')) s;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/trunc.pcapng')) s;

-- errors, each with the file, and nothing loaded
INSERT INTO capture SELECT pcap_read(:'d' || '/no_such_file.pcap');
INSERT INTO capture SELECT pcap_read(:'d' || '/not_a_capture.txt');
INSERT INTO capture SELECT pcap_read(:'d' || '/empty.pcap');
SELECT pcap_read(:'d' || '/ether.pcap', 'tcp port');
SELECT pcap_read(:'d' || '/ether.pcap', max_packets => -1);
SELECT pcap_read(:'d' || '/ether.pcap', on_error => 'ignore');
SELECT count(*) FROM capture;

-- only superusers and pg_read_server_files may read server files
CREATE ROLE mirai_reader_plain;
CREATE ROLE mirai_reader_files IN ROLE pg_read_server_files;
SET ROLE mirai_reader_plain;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/ether.pcap')) s;
SELECT records FROM pcap_file_info(:'d' || '/ether.pcap');
RESET ROLE;
SET ROLE mirai_reader_files;
SELECT count(*) FROM (SELECT pcap_read(:'d' || '/ether.pcap')) s;
RESET ROLE;
DROP ROLE mirai_reader_plain;
DROP ROLE mirai_reader_files;
DROP TABLE capture;
