-- Salvage mode: on_error => 'skip' keeps every good packet of a damaged
-- file, steps over the damage to the next plausible record and reports what
-- it skipped.  The default stays strict: an error, nothing loaded.
\set VERBOSITY default
SET timezone = 'UTC';
\set d 'mirai_fixtures'

CREATE TABLE whole AS SELECT pcap_read(:'d' || '/ether.pcap') AS p;

-- strict: an error that says where, and nothing loaded
CREATE TABLE salvaged (f text, p packet);
INSERT INTO salvaged SELECT 'header', pcap_read(:'d' || '/damaged_header.pcap');
SELECT count(*) FROM salvaged;
-- strict, a record header claiming 70000 bytes in a file whose snapshot
-- length is 65535: read as libpcap reads it (cut to 65535 bytes), it runs
-- past the end of the file, which is then cut short there
SELECT count(*) FROM pcap_read(:'d' || '/damaged_caplen.pcap');

-- skip: each damaged file loses exactly the damaged record
INSERT INTO salvaged SELECT 'caplen', pcap_read(:'d' || '/damaged_caplen.pcap', on_error => 'skip');
INSERT INTO salvaged SELECT 'header', pcap_read(:'d' || '/damaged_header.pcap', on_error => 'skip');
INSERT INTO salvaged SELECT 'block', pcap_read(:'d' || '/damaged_block.pcapng', on_error => 'skip');
INSERT INTO salvaged SELECT 'gzip', pcap_read(:'d' || '/damaged_caplen.pcap.gz', on_error => 'skip');
SELECT f, count(*) AS kept,
       (SELECT count(*) FROM whole) - count(*) AS lost,
       count(*) FILTER (WHERE p IN (SELECT p FROM whole)) AS all_genuine
FROM salvaged GROUP BY f ORDER BY f;
-- the packets before and after the damage are all there
SELECT f, w.p AS lost_packet
FROM (SELECT DISTINCT f FROM salvaged) fs CROSS JOIN whole w
WHERE NOT EXISTS (SELECT 1 FROM salvaged s WHERE s.f = fs.f AND s.p = w.p)
ORDER BY f;

-- a rejected section header: the blocks after it are read with the
-- interfaces described after it (not the first section's) and in the byte
-- order of before (not the one it names)
SELECT p FROM pcap_read(:'d' || '/corpus/pcapng_shb_lost_interfaces.pcapng', on_error => 'skip') AS p;
SELECT p FROM pcap_read(:'d' || '/corpus/pcapng_shb_lost_byte_order.pcapng', on_error => 'skip') AS p;

-- an undamaged file reads the same in both modes
SELECT (SELECT count(*) FROM (SELECT pcap_read(:'d' || '/mixed.pcapng', on_error => 'skip')) s) =
       (SELECT count(*) FROM (SELECT pcap_read(:'d' || '/mixed.pcapng')) s) AS same;
DROP TABLE whole, salvaged;
