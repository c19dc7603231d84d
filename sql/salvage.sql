-- Salvage mode: on_error => 'skip' keeps every good packet of a damaged
-- file, steps over the damage to the next plausible record and reports what
-- it skipped.  The default stays strict: an error, nothing loaded.
\set VERBOSITY default
SET timezone = 'UTC';
\set d 'mirai_fixtures'

CREATE TABLE whole AS SELECT pcap_read(:'d' || '/ether.pcap') AS p;

-- strict: an error that says where, and nothing loaded
CREATE TABLE salvaged (f text, p packet);
INSERT INTO salvaged SELECT 'caplen', pcap_read(:'d' || '/damaged_caplen.pcap');
SELECT count(*) FROM salvaged;

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

-- an undamaged file reads the same in both modes
SELECT (SELECT count(*) FROM (SELECT pcap_read(:'d' || '/mixed.pcapng', on_error => 'skip')) s) =
       (SELECT count(*) FROM (SELECT pcap_read(:'d' || '/mixed.pcapng')) s) AS same;
DROP TABLE whole, salvaged;
