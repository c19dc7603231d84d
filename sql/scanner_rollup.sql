-- The scanner dimension of the rollups: mirai_scanners_daily against the
-- GROUP BY over the raw table (packet_scanner per packet, days of the
-- table's zone) after loads, COPY, a delete, updates, a range rebuild, a
-- rebuild and a truncate; the split of a day of many sources; who sees it.
SET timezone = 'UTC';

-- rows where mirai_scanners_daily and the GROUP BY over t differ
CREATE FUNCTION scanners_diff(t regclass, zone text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format($q$
        WITH r AS (SELECT (packet_time(p) AT TIME ZONE %2$L)::date AS day, packet_scanner(p) AS scanner,
                          count(*) AS packets, count(DISTINCT packet_src(p)) AS sources
                     FROM %1$s GROUP BY 1, 2),
             v AS (SELECT day, scanner, packets, sources FROM mirai_scanners_daily WHERE tbl = %1$L::regclass)
        SELECT count(*) FROM ((TABLE r EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE r)) x
    $q$, t, zone) INTO n;
    RETURN n;
END $$;

-- packet i: one of eight kinds (five scanners, backscatter over IPv4 and
-- IPv6, none), from one of 40 sources of its kind, 37 minutes after i - 1
CREATE FUNCTION sp(i int) RETURNS packet LANGUAGE sql AS $$
    SELECT format(CASE i % 8
        WHEN 0 THEN '%s tcp 192.0.%s:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=1 len=54'
        WHEN 1 THEN '%s tcp 192.0.%s:40000 > 203.0.113.7:443 flags=S seq=12345 ack=0 win=65535 ttl=250 id=54321 len=58'
        WHEN 2 THEN '%s tcp 192.0.%s:61000 > 203.0.113.7:80 flags=S seq=1 ack=0 win=1024 ttl=240 id=29014 len=58'
        WHEN 3 THEN '%s tcp 192.0.%s:51234 > 203.0.113.7:22 flags=S seq=777 ack=0 win=1024 ttl=49 id=4242 len=58'
        WHEN 4 THEN '%s tcp 192.0.%s:31337 > 203.0.113.7:139 flags=S seq=999 ack=0 win=4128 ttl=243 id=17 len=58'
        WHEN 5 THEN '%s tcp 192.0.%s:80 > 203.0.113.7:3000 flags=SA seq=5 ack=6 win=29200 ttl=50 id=0 len=60'
        WHEN 6 THEN '%s icmp6 2001:db8::%s > 2001:db8::7 type=1 code=4 ttl=50 len=118'
        ELSE        '%s tcp 192.0.%s:50000 > 203.0.113.7:80 flags=S seq=1234 ack=0 win=64240 ttl=119 id=5 len=66' END,
        to_char(timestamptz '2024-12-12 20:00Z' + i * interval '37 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        CASE WHEN i % 8 = 6 THEN to_hex(1 + i % 40) ELSE (i % 8) || '.' || (1 + i % 40) END)::packet $$;

CREATE TABLE scap (p packet, note text);
SELECT mirai_track('scap', time_zone => 'Asia/Kolkata');
CREATE TABLE skeep (p packet);
SELECT mirai_track('skeep', time_zone => 'Asia/Kolkata', on_delete => 'keep');

-- loads: INSERT ... SELECT, a one-row INSERT, COPY
INSERT INTO scap (p) SELECT sp(i) FROM generate_series(1, 400) i;
INSERT INTO scap (p) VALUES (sp(401));
COPY scap (p) FROM stdin;
2024-12-13T10:00:00Z tcp 192.0.2.99:40000 > 203.0.113.7:443 flags=S seq=12345 ack=0 win=65535 ttl=250 id=54321 len=58
2024-12-13T10:00:01Z udp 192.0.2.99:5000 > 203.0.113.7:53 ttl=64 id=54321 len=60
\.
INSERT INTO skeep SELECT p FROM scap;
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_loads, scanners_diff('skeep', 'Asia/Kolkata') AS keep;
SELECT day, scanner, packets, sources FROM mirai_scanners_daily
 WHERE tbl = 'scap'::regclass AND day = '2024-12-14' ORDER BY scanner NULLS LAST;
-- the view's time is the start of the day in the table's zone
SELECT DISTINCT "time" = (day::timestamp AT TIME ZONE 'Asia/Kolkata') AS day_start FROM mirai_scanners_daily
 WHERE tbl IN ('scap'::regclass, 'skeep'::regclass);

-- a delete that takes every packet of some sources and some of others
DELETE FROM scap WHERE packet_src(p) << inet '192.0.1.0/24' OR packet_ttl(p) = 50 AND packet_time(p) < '2024-12-14';
DELETE FROM skeep WHERE packet_ttl(p) = 50;
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_delete,
       (SELECT sum(packets) FROM mirai_scanners_daily WHERE tbl = 'skeep'::regclass) AS keep_packets;

-- updates: packets moved to another day and made another scanner's, and
-- one that changes no packet
UPDATE scap SET p = sp(i + 3) FROM generate_series(1, 400, 5) i WHERE p = sp(i);
UPDATE scap SET note = 'seen';
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_updates;

-- a catalogue change seen as rollups out of step: two days lost; a range
-- rebuild restores one of them, mirai_rebuild the rest
DELETE FROM mirai_rollup_scanner WHERE tbl = 'scap'::regclass AND day IN ('2024-12-14', '2024-12-16');
DELETE FROM mirai_rollup_scanner_part WHERE tbl = 'scap'::regclass AND day IN ('2024-12-14', '2024-12-16');
SELECT scanners_diff('scap', 'Asia/Kolkata') > 0 AS out_of_step;
SELECT mirai_rebuild_scanners('scap', '2024-12-14', '2024-12-15') AS rows_rebuilt;
SELECT DISTINCT day FROM (
    WITH r AS (SELECT (packet_time(p) AT TIME ZONE 'Asia/Kolkata')::date AS day, packet_scanner(p) AS scanner,
                      count(*) AS packets FROM scap GROUP BY 1, 2),
         v AS (SELECT day, scanner, packets FROM mirai_scanners_daily WHERE tbl = 'scap'::regclass)
    (TABLE r EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE r)) x ORDER BY day;
SELECT mirai_rebuild('scap') > 0 AS rebuilt;
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_rebuild;
SELECT mirai_rebuild_scanners('scap', '2024-12-15', '2024-12-14');

-- a day of many sources splits in parts; a one-row insert then writes one
INSERT INTO scap (p) SELECT format('2024-12-20T12:00:00Z tcp 10.%s.%s.%s:80 > 203.0.113.7:3000 flags=SA seq=5 ack=6 win=0 ttl=50 id=0 len=60',
                                   i / 65536, i / 256 % 256, i % 256)::packet
  FROM generate_series(1, 20000) i;
SELECT scanner, packets, sources, parts FROM mirai_rollup_scanner WHERE tbl = 'scap'::regclass AND day = '2024-12-20';
SELECT count(*) AS parts, sum(sources) AS sources FROM mirai_rollup_scanner_part
 WHERE tbl = 'scap'::regclass AND day = '2024-12-20' AND scanner = 'backscatter';
BEGIN;
INSERT INTO scap (p) VALUES ('2024-12-20T13:00:00Z tcp 10.9.9.9:80 > 203.0.113.7:3000 flags=SA seq=5 ack=6 win=0 ttl=50 id=0 len=60');
SELECT count(*) AS parts_written FROM mirai_rollup_scanner_part
 WHERE tbl = 'scap'::regclass AND xmin = pg_current_xact_id()::xid;
COMMIT;
-- as many more sources: the row's parts double, each new part made of one
-- stored part's sources and the statement's
INSERT INTO scap (p) SELECT format('2024-12-20T14:00:00Z tcp 10.%s.%s.%s:80 > 203.0.113.7:3000 flags=SA seq=5 ack=6 win=0 ttl=50 id=0 len=60',
                                   j / 65536, j / 256 % 256, j % 256)::packet
  FROM generate_series(20001, 40000) j;
SELECT scanner, packets, sources, parts FROM mirai_rollup_scanner WHERE tbl = 'scap'::regclass AND day = '2024-12-20';
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_parts_doubled;
DELETE FROM scap WHERE packet_src(p) << inet '10.0.0.0/16';
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_big_day;

-- who sees it: a role that may not read the table sees nothing; the
-- table's per-table daily view is a handle to it
CREATE ROLE scanner_reader;
SET ROLE scanner_reader;
SELECT count(*) AS rows_seen FROM mirai_scanners_daily WHERE tbl IN ('scap'::regclass, 'skeep'::regclass);
SELECT count(*) FROM mirai_rollup_scanner;
RESET ROLE;
GRANT SELECT ON scap_mirai_daily TO scanner_reader;
SET ROLE scanner_reader;
SELECT DISTINCT tbl FROM mirai_scanners_daily WHERE tbl IN ('scap'::regclass, 'skeep'::regclass);
-- a role that is not the owner rebuilds nothing, even of a table it reads
-- (and a view of its own is not a tracked table)
SELECT mirai_rebuild_scanners('scap');
CREATE TEMP VIEW scanner_trap AS SELECT p FROM scap;
SELECT mirai_rebuild_scanners('scanner_trap');
DROP VIEW scanner_trap;
RESET ROLE;

-- truncate: nothing left of the table; untrack and drop forget the rest
TRUNCATE scap;
SELECT count(*) AS after_truncate FROM mirai_scanners_daily WHERE tbl = 'scap'::regclass;
INSERT INTO scap (p) SELECT sp(i) FROM generate_series(1, 50) i;
SELECT scanners_diff('scap', 'Asia/Kolkata') AS after_reload;
SELECT 'scap'::regclass::oid AS scap, 'skeep'::regclass::oid AS skeep \gset
DROP TABLE skeep CASCADE;
SELECT mirai_untrack('scap');
SELECT count(*) AS left_behind FROM mirai_rollup_scanner WHERE tbl::oid IN (:scap, :skeep);
DROP TABLE scap CASCADE;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM scanner_reader;
DROP ROLE scanner_reader;
