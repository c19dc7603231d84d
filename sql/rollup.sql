-- Rollups: mirai_track, maintenance by INSERT, COPY, DELETE and TRUNCATE,
-- the views and the range functions.  Every check compares a rollup with
-- the same GROUP BY over the raw table.
\set VERBOSITY default

-- bots_looked_up(t): rows where mirai_bots' lookup (its scan's way for
-- WHERE src = value) differs from its rows listed whole: up to 100
-- sources, each looked up by its address
CREATE FUNCTION bots_looked_up(t regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r mirai_bots;
    d bigint;
    differ bigint := 0;
BEGIN
    FOR r IN SELECT * FROM mirai_bots b WHERE b.tbl = t ORDER BY b.src LIMIT 100 LOOP
        SELECT count(*) INTO d FROM (
            (SELECT * FROM mirai_bots b WHERE b.src = r.src AND b.tbl = t EXCEPT SELECT (r).*)
            UNION ALL
            (SELECT (r).* EXCEPT SELECT * FROM mirai_bots b WHERE b.src = r.src AND b.tbl = t)) x;
        differ := differ + d;
    END LOOP;
    RETURN differ;
END $$;

-- bots_way(q): the way EXPLAIN shows mirai_bots' scan reading for query q
CREATE FUNCTION bots_way(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN ' || q LOOP
        IF l LIKE '%Mirai Bots:%' THEN
            RETURN substring(l FROM 'Mirai Bots: (.*)$');
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- bots_best(t): rows where mirai_bots by packets descending (its scan's
-- best-first way, which the plans must show) differs from its rows listed
-- whole: the first 1, 10, 33 and 300 by packets and address; and the first
-- 5,000 through a cursor (planned for its first rows), which must be rows
-- of the whole listing with its packets in its order
CREATE TEMP TABLE bots_got (LIKE mirai_bots, n int);
CREATE FUNCTION bots_best(t regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    whole text := format('(SELECT * FROM mirai_bots w WHERE w.tbl = %s OFFSET 0)', t::oid);
    q text;
    k int;
    d bigint;
    differ bigint := 0;
    c refcursor;
    r mirai_bots;
BEGIN
    FOREACH k IN ARRAY ARRAY[1, 10, 33, 300] LOOP
        q := format('SELECT * FROM mirai_bots b WHERE b.tbl = %s ORDER BY b.packets DESC, b.src LIMIT %s', t::oid, k);
        IF bots_way(q) IS DISTINCT FROM 'best sources first' THEN
            RAISE EXCEPTION 'not read best first: %', q;
        END IF;
        EXECUTE format($q$SELECT count(*) FROM (((%1$s) EXCEPT ALL (SELECT * FROM %2$s w ORDER BY w.packets DESC, w.src LIMIT %3$s))
                   UNION ALL ((SELECT * FROM %2$s w ORDER BY w.packets DESC, w.src LIMIT %3$s) EXCEPT ALL (%1$s))) x$q$,
                       q, whole, k) INTO d;
        differ := differ + d;
    END LOOP;
    PERFORM set_config('cursor_tuple_fraction', '0.000001', true);
    q := format('SELECT * FROM mirai_bots b WHERE b.tbl = %s ORDER BY b.packets DESC', t::oid);
    IF bots_way('DECLARE c CURSOR FOR ' || q) IS DISTINCT FROM 'best sources first' THEN
        RAISE EXCEPTION 'not read best first: %', q;
    END IF;
    TRUNCATE bots_got;
    k := 0;
    OPEN c FOR EXECUTE q;
    LOOP
        FETCH c INTO r;
        EXIT WHEN NOT FOUND OR k = 5000;
        k := k + 1;
        INSERT INTO bots_got SELECT (r).*, k;
    END LOOP;
    CLOSE c;
    EXECUTE format($q$SELECT (SELECT count(*) FROM (SELECT tbl, src, country, first_seen, last_seen, first_day, last_day, days, packets, ports
                                                    FROM bots_got EXCEPT ALL SELECT * FROM %1$s w) x)
                           + (SELECT count(*) FROM (SELECT n, packets FROM bots_got
                                                    EXCEPT SELECT row_number() OVER (ORDER BY w.packets DESC), w.packets
                                                      FROM %1$s w ORDER BY 1 LIMIT 5000) x)
                           + (SELECT abs(count(*) - least((SELECT count(*) FROM %1$s w), 5000)) FROM bots_got)$q$,
                   whole) INTO d;
    RETURN differ + d;
END $$;

-- rollups_diff(t, zone): rows where a view and the GROUP BY over t differ;
-- 'bots by day': mirai_bots against the mirai_sources view summed by source
-- (country of the first day, the union of the days' ports)
CREATE FUNCTION rollups_diff(t regclass, zone text)
RETURNS TABLE (what text, n bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH raw AS (
            SELECT (packet_time(p) AT TIME ZONE %2$L)::date AS day, packet_src(p) AS src,
                   packet_dport(p) AS dport, packet_time(p) AS t
              FROM %1$s WHERE is_mirai(p)),
        rd AS (SELECT day, count(*) AS packets, count(DISTINCT src) AS sources FROM raw GROUP BY day),
        vd AS (SELECT day, packets, sources FROM mirai_daily WHERE tbl = %1$L::regclass),
        rs AS (SELECT day, src, count(*) AS packets, min(t) AS first_seen, max(t) AS last_seen,
                      array_agg(DISTINCT dport ORDER BY dport) AS ports,
                      round(count(*)::numeric / (SELECT packets FROM rd WHERE rd.day = raw.day), 6) AS share
                 FROM raw GROUP BY day, src),
        vs AS (SELECT day, src, packets, first_seen, last_seen, ports, share
                 FROM mirai_sources WHERE tbl = %1$L::regclass),
        rh AS (SELECT date_trunc('hour', packet_time(p), 'UTC') AS hour,
                      count(*) FILTER (WHERE is_mirai(p)) AS packets, count(*) AS all_packets
                 FROM %1$s GROUP BY 1),
        vh AS (SELECT "time" AS hour, packets, all_packets FROM mirai_hourly WHERE tbl = %1$L::regclass),
        rb AS (SELECT src, min(t) AS first_seen, max(t) AS last_seen, min(day) AS first_day,
                      count(DISTINCT day) AS days, count(*) AS packets FROM raw GROUP BY src),
        vb AS (SELECT src, first_seen, last_seen, first_day, days, packets
                 FROM mirai_bots WHERE tbl = %1$L::regclass),
        rn AS (SELECT first_day AS day, count(*) AS new_sources FROM (SELECT src, min(day) AS first_day FROM raw GROUP BY src) f GROUP BY 1),
        vn AS (SELECT day, new_sources FROM mirai_new_sources WHERE tbl = %1$L::regclass),
        ra AS (SELECT src, (array_agg(country ORDER BY day))[1] AS country, min(first_seen) AS first_seen,
                      max(last_seen) AS last_seen, min(day) AS first_day, max(day) AS last_day,
                      count(*) AS days, sum(packets)::bigint AS packets,
                      (SELECT array_agg(DISTINCT p ORDER BY p) FROM unnest(mirai_ports_union(ports)) p) AS ports
                 FROM mirai_sources WHERE tbl = %1$L::regclass GROUP BY src),
        va AS (SELECT src, country, first_seen, last_seen, first_day, last_day, days, packets, ports
                 FROM mirai_bots WHERE tbl = %1$L::regclass),
        rc AS (SELECT NULL::text AS country, count(*) AS packets FROM raw HAVING count(*) > 0),
        vc AS (SELECT country, packets FROM mirai_countries WHERE tbl = %1$L::regclass)
        SELECT 'daily', count(*) FROM ((TABLE rd EXCEPT TABLE vd) UNION ALL (TABLE vd EXCEPT TABLE rd)) x
        UNION ALL
        SELECT 'sources', count(*) FROM ((TABLE rs EXCEPT TABLE vs) UNION ALL (TABLE vs EXCEPT TABLE rs)) x
        UNION ALL
        SELECT 'hourly', count(*) FROM ((TABLE rh EXCEPT TABLE vh) UNION ALL (TABLE vh EXCEPT TABLE rh)) x
        UNION ALL
        SELECT 'bots', count(*) FROM ((TABLE rb EXCEPT TABLE vb) UNION ALL (TABLE vb EXCEPT TABLE rb)) x
        UNION ALL
        SELECT 'bots by day', count(*) FROM ((TABLE ra EXCEPT TABLE va) UNION ALL (TABLE va EXCEPT TABLE ra)) x
        UNION ALL
        SELECT 'new', count(*) FROM ((TABLE rn EXCEPT TABLE vn) UNION ALL (TABLE vn EXCEPT TABLE rn)) x
        UNION ALL
        SELECT 'countries', count(*) FROM ((TABLE rc EXCEPT TABLE vc) UNION ALL (TABLE vc EXCEPT TABLE rc)) x
        UNION ALL
        SELECT 'bots looked up', bots_looked_up(%1$L::regclass)
        UNION ALL
        SELECT 'bots best first', bots_best(%1$L::regclass)
    $q$, t, zone);
END $$;

-- a Mirai packet: seq = destination address (203.0.113.7 = 3405803783)
CREATE FUNCTION mp(ts text, src text, dport int) RETURNS packet LANGUAGE sql AS $$
    SELECT format('%s tcp %s:40000 > 203.0.113.7:%s flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54',
                  ts, src, dport)::packet $$;

CREATE TABLE cap (p packet);
CREATE TABLE cap_tokyo (p packet);

-- backfill from rows already there; no GeoIP configured: one NOTICE
INSERT INTO cap SELECT pcap_read('mirai_fixtures/ether.pcap');
SELECT mirai_track('cap');
SELECT mirai_track('cap_tokyo', time_zone => 'Asia/Tokyo', on_delete => 'keep');
SELECT tbl, time_zone, on_delete, daily_view, sources_view, countries_view FROM mirai_tracked ORDER BY tbl::text;
SELECT * FROM rollups_diff('cap', 'UTC');
SELECT day, packets, sources FROM mirai_daily WHERE tbl = 'cap'::regclass;

-- plain INSERT: a packet at 15:30 UTC is on the next day in Tokyo
INSERT INTO cap_tokyo VALUES
    (mp('2024-12-13T14:59:59.999999999Z', '192.0.2.1', 23)),
    (mp('2024-12-13T15:00:00Z', '192.0.2.1', 23)),
    (mp('2024-12-13T15:30:00Z', '192.0.2.1', 2323)),
    (mp('2024-12-13T15:31:00Z', '192.0.2.2', 23)),
    ('2024-12-13T15:32:00Z tcp 192.0.2.3:40000 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=50 id=1 len=54');
SELECT day, "time", packets, sources FROM mirai_daily WHERE tbl = 'cap_tokyo'::regclass ORDER BY day;
SELECT day, src, packets, share, first_seen, last_seen, ports, country
  FROM mirai_sources WHERE tbl = 'cap_tokyo'::regclass ORDER BY day, src;
SELECT "time", packets, all_packets FROM mirai_hourly WHERE tbl = 'cap_tokyo'::regclass ORDER BY 1;
SELECT * FROM rollups_diff('cap_tokyo', 'Asia/Tokyo');

-- INSERT ... SELECT pcap_read, and COPY in binary (the loader's path)
INSERT INTO cap_tokyo SELECT pcap_read('mirai_fixtures/big.pcap');
SELECT current_setting('data_directory') || '/mirai_regress_rollup.bin' AS binfile \gset
COPY (SELECT p FROM cap) TO :'binfile' (FORMAT binary);
COPY cap FROM :'binfile' (FORMAT binary);
COPY cap_tokyo FROM :'binfile' (FORMAT binary);
SELECT * FROM rollups_diff('cap', 'UTC');
SELECT * FROM rollups_diff('cap_tokyo', 'Asia/Tokyo');

-- deletes: cap follows them, cap_tokyo keeps its rollups as history
SELECT sum(packets) AS tokyo_before FROM mirai_daily WHERE tbl = 'cap_tokyo'::regclass;
DELETE FROM cap WHERE packet_src(p) << '128.0.0.0/1';
DELETE FROM cap WHERE packet_time(p) < (SELECT min(packet_time(p)) + interval '10 seconds' FROM cap);
DELETE FROM cap_tokyo WHERE packet_src(p) << '128.0.0.0/1';
SELECT * FROM rollups_diff('cap', 'UTC');
SELECT sum(packets) AS tokyo_after FROM mirai_daily WHERE tbl = 'cap_tokyo'::regclass;
TRUNCATE cap_tokyo;
SELECT count(*) > 0 AS tokyo_history_kept FROM mirai_daily WHERE tbl = 'cap_tokyo'::regclass;
TRUNCATE cap;
SELECT count(*) AS cap_rows_after_truncate FROM mirai_daily WHERE tbl = 'cap'::regclass;
INSERT INTO cap SELECT pcap_read('mirai_fixtures/ether.pcap');
SELECT * FROM rollups_diff('cap', 'UTC');

-- mirai_rebuild recomputes from the rows: history is gone for a 'keep' table
SELECT mirai_rebuild('cap_tokyo');
SELECT count(*) AS tokyo_rows_after_rebuild FROM mirai_daily WHERE tbl = 'cap_tokyo'::regclass;

-- range functions
INSERT INTO cap_tokyo VALUES
    (mp('2024-12-13T15:00:00Z', '192.0.2.1', 23)),
    (mp('2024-12-13T16:00:00Z', '192.0.2.1', 23)),
    (mp('2024-12-14T15:00:00Z', '192.0.2.2', 23));
SELECT day, packets, sources FROM mirai_daily('2024-12-14 00:00+09', '2024-12-16 00:00+09', 'cap_tokyo');
SELECT src, country, packets, share, first_seen, last_seen, days
  FROM mirai_sources('2024-12-14 00:00+09', '2024-12-16 00:00+09', 'cap_tokyo');
SELECT country, packets, share, rank FROM mirai_countries('2024-12-14 00:00+09', '2024-12-16 00:00+09', 'cap_tokyo');
SELECT day, packets FROM mirai_daily_packets('UTC', '2024-12-13', '2024-12-16', 'cap_tokyo');
-- days of a zone that is not a whole number of hours from UTC cannot be made of UTC hours
SELECT day, packets FROM mirai_daily_packets('Asia/Kolkata', '2024-12-13', '2024-12-16', 'cap_tokyo');
SELECT day, new_sources FROM mirai_new_sources WHERE tbl = 'cap_tokyo'::regclass ORDER BY day;
SELECT src, first_day, last_day, days, packets, ports FROM mirai_bots WHERE tbl = 'cap_tokyo'::regclass ORDER BY src;

-- a partitioned table: statement triggers on the parent see every partition
CREATE TABLE cap_part (p packet, day date) PARTITION BY RANGE (day);
CREATE TABLE cap_part_13 PARTITION OF cap_part FOR VALUES FROM ('2024-12-13') TO ('2024-12-14');
CREATE TABLE cap_part_14 PARTITION OF cap_part FOR VALUES FROM ('2024-12-14') TO ('2024-12-15');
SELECT mirai_track('cap_part');
INSERT INTO cap_part VALUES
    (mp('2024-12-13T10:00:00Z', '192.0.2.1', 23), '2024-12-13'),
    (mp('2024-12-14T10:00:00Z', '192.0.2.1', 23), '2024-12-14'),
    (mp('2024-12-14T11:00:00Z', '192.0.2.9', 23), '2024-12-14');
DELETE FROM cap_part WHERE day = '2024-12-13';
SELECT * FROM rollups_diff('cap_part', 'UTC');

-- a day recomputed after a delete (a source's first packet of the day
-- gone, the source still there) reads only the partitions of that day's
-- packet times, in a zone of one offset; around them, in a zone that
-- changed its offset (Tokyo had summer time in 1948-51)
CREATE TABLE cap_days (p packet) PARTITION BY RANGE (packet_time(p));
CREATE TABLE cap_days_12 PARTITION OF cap_days FOR VALUES FROM ('2024-12-12Z') TO ('2024-12-13Z');
CREATE TABLE cap_days_13 PARTITION OF cap_days FOR VALUES FROM ('2024-12-13Z') TO ('2024-12-14Z');
CREATE TABLE cap_days_14 PARTITION OF cap_days FOR VALUES FROM ('2024-12-14Z') TO ('2024-12-15Z');
CREATE TABLE cap_days_15 PARTITION OF cap_days FOR VALUES FROM ('2024-12-15Z') TO ('2024-12-16Z');
CREATE TABLE cap_days_16 PARTITION OF cap_days FOR VALUES FROM ('2024-12-16Z') TO ('2024-12-17Z');
CREATE TABLE cap_days_tokyo (LIKE cap_days) PARTITION BY RANGE (packet_time(p));
CREATE TABLE cap_days_tokyo_12 PARTITION OF cap_days_tokyo FOR VALUES FROM ('2024-12-12Z') TO ('2024-12-13Z');
CREATE TABLE cap_days_tokyo_13 PARTITION OF cap_days_tokyo FOR VALUES FROM ('2024-12-13Z') TO ('2024-12-14Z');
CREATE TABLE cap_days_tokyo_14 PARTITION OF cap_days_tokyo FOR VALUES FROM ('2024-12-14Z') TO ('2024-12-15Z');
CREATE TABLE cap_days_tokyo_15 PARTITION OF cap_days_tokyo FOR VALUES FROM ('2024-12-15Z') TO ('2024-12-16Z');
CREATE TABLE cap_days_tokyo_16 PARTITION OF cap_days_tokyo FOR VALUES FROM ('2024-12-16Z') TO ('2024-12-17Z');
SELECT mirai_track('cap_days'), mirai_track('cap_days_tokyo', time_zone => 'Asia/Tokyo');
INSERT INTO cap_days SELECT mp(format('2024-12-%sT%s:00:00Z', d, h), '192.0.2.' || (h % 3), 23)
  FROM generate_series(12, 16) d, generate_series(10, 20) h;
INSERT INTO cap_days_tokyo SELECT * FROM cap_days;
BEGIN;
CREATE TEMP TABLE scans_before AS
SELECT relname, pg_stat_get_xact_numscans(oid) AS n FROM pg_class WHERE relname LIKE 'cap\_days\_%' AND relkind = 'r';
DELETE FROM cap_days WHERE packet_time(p) >= '2024-12-14T10:00Z' AND packet_time(p) < '2024-12-14T12:00Z';
-- the last packet of 192.0.2.1 on the 14th in Tokyo (22:00)
DELETE FROM cap_days_tokyo WHERE packet_time(p) >= '2024-12-14T13:00Z' AND packet_time(p) < '2024-12-14T14:00Z';
-- the delete's scan and the recomputation's
SELECT c.relname, pg_stat_get_xact_numscans(c.oid) - b.n AS scans
  FROM pg_class c JOIN scans_before b USING (relname) WHERE c.relkind = 'r' ORDER BY c.relname;
COMMIT;
SELECT * FROM rollups_diff('cap_days', 'UTC');
SELECT * FROM rollups_diff('cap_days_tokyo', 'Asia/Tokyo');
SELECT mirai_untrack('cap_days'), mirai_untrack('cap_days_tokyo');

-- mirai_share (and the shares of the range functions) equal
-- round(part::numeric / whole, 6), text and all: computed in integers up to
-- wholes of 10^10, in numeric beyond
SELECT count(*) AS shares_differ
  FROM (SELECT p, w FROM generate_series(1, 1200) w, generate_series(0, w, 5) p
        UNION ALL
        SELECT w / 2000000 * k, w FROM generate_series(1, 20) k, (VALUES (2000000::bigint), (4000000000)) x(w)
        UNION ALL
        SELECT w - k, w FROM generate_series(0, 3) k,
               (VALUES (9999999999::bigint), (10000000000), (10000000001), (9223372036854775807)) x(w)
        UNION ALL
        SELECT 1, w FROM (VALUES (1999999::bigint), (2000000), (2000001), (10000000000), (10000000001)) x(w)
        UNION ALL
        SELECT 3, 2) x
 WHERE mirai_share(p, w)::text IS DISTINCT FROM round(p::numeric / w, 6)::text;
SELECT mirai_share(-1, 3) AS negative, mirai_share(0, 5) AS zero, mirai_share(1, 2000000) AS half_up;
SELECT mirai_share(1, 0);

-- errors
SELECT mirai_track('cap');
SELECT mirai_track('mirai_fixture_missing');
CREATE TABLE two (a packet, b packet);
SELECT mirai_track('two');
CREATE TABLE nopacket (a int);
SELECT mirai_track('nopacket');
CREATE TABLE cap_bad (p packet);
SELECT mirai_track('cap_bad', time_zone => 'Mars/Olympus');
SELECT mirai_track('cap_bad', on_delete => 'forget');
SELECT mirai_untrack('cap_bad');

-- untrack drops triggers, views and rollups
SELECT mirai_untrack('cap_part');
SELECT count(*) FROM mirai_daily WHERE tbl = 'cap_part'::regclass;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'cap_part'::regclass AND NOT tgisinternal;
SELECT to_regclass('cap_part_mirai_daily');

-- a day's entries in parts: a busy day splits as it grows, a statement
-- rewrites only the parts its sources fall in, and the views are the same
-- (loaded by a session that keeps the memory it frees: the C library's
-- thresholds, mirai_ext.keep_free_memory; up to 1 GB)
SET mirai_ext.keep_free_memory = '2GB';
SET mirai_ext.keep_free_memory = '256MB';
SHOW mirai_ext.keep_free_memory;
CREATE TABLE cap_big (p packet);
SELECT mirai_track('cap_big');
INSERT INTO cap_big
SELECT mp('2024-12-14T10:00:00Z', host(inet '10.0.0.0' + i), 23) FROM generate_series(1, 3000) i;
SELECT parts, nentries FROM mirai_rollup_day WHERE tbl = 'cap_big'::regclass;
INSERT INTO cap_big
SELECT mp('2024-12-14T11:00:00Z', host(inet '10.1.0.0' + i), 23 + i % 3) FROM generate_series(1, 20000) i;
SELECT parts, nentries, sources, packets FROM mirai_rollup_day WHERE tbl = 'cap_big'::regclass;
SELECT count(*) AS part_rows, sum(sources) AS sources, max(octet_length(entries)) < 65536 AS parts_small
  FROM mirai_rollup_part WHERE tbl = 'cap_big'::regclass;
SELECT * FROM rollups_diff('cap_big', 'UTC');
-- one more packet changes one part
CREATE TEMP TABLE parts_before AS SELECT part, entries FROM mirai_rollup_part WHERE tbl = 'cap_big'::regclass;
INSERT INTO cap_big VALUES (mp('2024-12-14T12:00:00Z', '10.0.0.7', 2323));
SELECT count(*) AS parts_changed FROM mirai_rollup_part p JOIN parts_before b USING (part)
 WHERE p.tbl = 'cap_big'::regclass AND p.entries <> b.entries;
DELETE FROM cap_big WHERE packet_src(p) << '10.1.0.0/16' AND packet_dport(p) = 24;
SELECT * FROM rollups_diff('cap_big', 'UTC');
RESET mirai_ext.keep_free_memory;
SHOW mirai_ext.keep_free_memory;
-- new sources on later days go to the dictionary's deltas, which join the
-- chunks' state as they grow; an earlier first day rewrites a chunk
INSERT INTO cap_big SELECT mp('2024-12-16T10:00:00Z', host(inet '10.2.0.0' + i), 23) FROM generate_series(1, 10000) i;
SELECT count(*) FILTER (WHERE octet_length(delta) > 20) AS chunks_with_delta FROM mirai_rollup_dict WHERE tbl = 'cap_big'::regclass;
INSERT INTO cap_big SELECT mp('2024-12-17T10:00:00Z', host(inet '10.3.0.0' + i), 23) FROM generate_series(1, 10000) i;
INSERT INTO cap_big SELECT mp('2024-12-18T10:00:00Z', host(inet '10.4.0.0' + i), 23) FROM generate_series(1, 10000) i;
INSERT INTO cap_big SELECT mp('2024-12-19T10:00:00Z', host(inet '10.5.0.0' + i), 23) FROM generate_series(1, 10000) i;
SELECT count(*) FILTER (WHERE octet_length(delta) > 20) < 32 AS some_deltas_joined_state FROM mirai_rollup_dict WHERE tbl = 'cap_big'::regclass;
INSERT INTO cap_big SELECT mp('2024-12-13T10:00:00Z', host(inet '10.5.0.0' + i), 23) FROM generate_series(1, 100) i;
SELECT * FROM rollups_diff('cap_big', 'UTC');
-- with little hash memory, mirai_bots and mirai_sources(from, to) fold
-- their sources in passes (56,433 pairs, 64 kB of work_mem: 69 passes),
-- and give the same rows
SELECT sum(sources) AS pairs FROM mirai_daily WHERE tbl = 'cap_big'::regclass;
SET work_mem = '64kB';
SELECT * FROM rollups_diff('cap_big', 'UTC');
WITH r AS (SELECT packet_src(p) AS src, count(*) AS packets, min(packet_time(p)) AS first_seen,
                  max(packet_time(p)) AS last_seen,
                  count(DISTINCT (packet_time(p) AT TIME ZONE 'UTC')::date) AS days
             FROM cap_big WHERE is_mirai(p) GROUP BY 1),
     v AS (SELECT src, packets, first_seen, last_seen, days
             FROM mirai_sources('2024-01-01', '2025-01-01', 'cap_big'))
SELECT count(*) AS range_differs FROM ((TABLE r EXCEPT TABLE v) UNION ALL (TABLE v EXCEPT TABLE r)) x;
RESET work_mem;
-- with a part cache of a few parts (mirai_ext.part_cache_size), which each
-- call fills and the next empties, and with none, the same answers
SET mirai_ext.part_cache_size = '64kB';
SELECT * FROM rollups_diff('cap_big', 'UTC');
SELECT * FROM rollups_diff('cap_tokyo', 'Asia/Tokyo');
SELECT * FROM rollups_diff('cap_big', 'UTC');
SET mirai_ext.part_cache_size = 0;
SELECT * FROM rollups_diff('cap_big', 'UTC');
RESET mirai_ext.part_cache_size;
SHOW mirai_ext.part_cache_size;
-- a part beyond mirai_ext.rollup_part_limit is an error, never written
SET mirai_ext.rollup_part_limit = '64kB';
INSERT INTO cap_big
SELECT mp('2024-12-15T10:00:00Z', '192.0.2.99', i) FROM generate_series(1, 20000) i;
RESET mirai_ext.rollup_part_limit;
SELECT count(*) AS rows_of_the_15th FROM mirai_rollup_day WHERE tbl = 'cap_big'::regclass AND day = '2024-12-15';
SELECT mirai_untrack('cap_big');

-- mirai_top_sources: the top n of mirai_sources(from, to), from the days'
-- lists of their top sources; the same rows whatever the range and n
CREATE TABLE cap_top (p packet);
SELECT mirai_track('cap_top');
INSERT INTO cap_top
SELECT mp(format('2024-12-%sT%s:00:00Z', 10 + d, 10 + (i % 12)), host(inet '10.0.0.0' + ((i * 7919 + d * 104729) % 400)), 23 + i % 2)
  FROM generate_series(1, 5) d, generate_series(1, 600 * d) i;
-- days 21 to 25: each day 150 sources of 3 packets and 150 of 1, new every
-- day, and one source of 2 packets a day: in no day's list (128 sources),
-- it leads the range
INSERT INTO cap_top
SELECT mp(format('2024-12-%sT08:00:00Z', 20 + d), host(inet '10.9.0.0' + d * 1000 + s), 23)
  FROM generate_series(1, 5) d, generate_series(1, 300) s, generate_series(1, 3) k
 WHERE k = 1 OR s <= 150;
INSERT INTO cap_top
SELECT mp(format('2024-12-%sT09:00:00Z', 20 + d), '192.0.2.200', 23) FROM generate_series(1, 5) d, generate_series(1, 2) i;
-- the same question asked of the per-day view, in SQL
CREATE FUNCTION range_sql(f timestamptz, t timestamptz)
RETURNS TABLE (src inet, country text, packets bigint, share numeric, first_seen timestamptz,
               last_seen timestamptz, days bigint) LANGUAGE sql AS $$
    SELECT src, (array_agg(country ORDER BY day))[1], sum(packets)::bigint,
           round(sum(packets) / sum(sum(packets)) OVER (), 6), min(first_seen), max(last_seen), count(*)
      FROM mirai_sources WHERE tbl = 'cap_top'::regclass AND "time" >= f AND "time" < t
     GROUP BY src ORDER BY 3 DESC, 1 $$;
CREATE FUNCTION top_differs(f timestamptz, t timestamptz, n int) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT src, country, packets, share, first_seen, last_seen, days FROM mirai_top_sources(f, t, n, 'cap_top')
         EXCEPT SELECT * FROM (SELECT * FROM range_sql(f, t) LIMIT n) a)
        UNION ALL
        (SELECT * FROM (SELECT * FROM range_sql(f, t) LIMIT n) b
         EXCEPT SELECT src, country, packets, share, first_seen, last_seen, days FROM mirai_top_sources(f, t, n, 'cap_top'))
        UNION ALL
        -- and mirai_sources(from, to): every source
        (SELECT src, country, packets, share, first_seen, last_seen, days FROM mirai_sources(f, t, 'cap_top')
         EXCEPT SELECT * FROM range_sql(f, t))
        UNION ALL
        (SELECT * FROM range_sql(f, t)
         EXCEPT SELECT src, country, packets, share, first_seen, last_seen, days FROM mirai_sources(f, t, 'cap_top'))) x $$;
SELECT f::date AS "from", t::date AS "to", n, top_differs(f, t, n) AS differs
  FROM (VALUES ('2024-12-11'::timestamptz, '2024-12-12'::timestamptz), ('2024-12-11', '2024-12-16'),
               ('2024-12-13', '2024-12-15'), ('2024-12-21', '2024-12-26'), ('2024-01-01', '2025-01-01')) r(f, t),
       (VALUES (1), (10), (128)) k(n)
 ORDER BY 1, 2, 3;
-- mirai_sources(from, to) lists by packets descending, then address
SELECT count(*) AS out_of_order
  FROM (SELECT src, packets, lag(packets) OVER w AS prev_packets, lag(src) OVER w AS prev_src
          FROM mirai_sources('2024-01-01', '2025-01-01', 'cap_top')
               WITH ORDINALITY AS m(tbl, src, country, packets, share, first_seen, last_seen, days, o)
        WINDOW w AS (ORDER BY o)) x
 WHERE prev_packets < packets OR (prev_packets = packets AND prev_src >= src);
-- mirai_source(addr, from, to): each source of the table looked up over a
-- range gives its row of mirai_sources(from, to), or none when it sent
-- nothing in the range
CREATE FUNCTION lookup_differs(f timestamptz, t timestamptz) RETURNS bigint LANGUAGE sql AS $$
    WITH every AS (SELECT src FROM mirai_sources('-infinity', 'infinity', 'cap_top')),
         looked AS (SELECT s.src, s.country, s.packets, s.share, s.first_seen, s.last_seen, s.days
                      FROM every e, mirai_source(e.src, f, t, 'cap_top') s)
    SELECT count(*) FROM ((SELECT * FROM looked EXCEPT ALL SELECT * FROM range_sql(f, t))
                          UNION ALL
                          (SELECT * FROM range_sql(f, t) EXCEPT ALL SELECT * FROM looked)) x $$;
SELECT f::date AS "from", t::date AS "to", lookup_differs(f, t) AS differs
  FROM (VALUES ('2024-12-11'::timestamptz, '2024-12-12'::timestamptz), ('2024-12-13', '2024-12-15'),
               ('2024-12-21', '2024-12-26'), ('2024-01-01', '2025-01-01')) r(f, t)
 ORDER BY 1, 2;
SELECT src, packets, days, tbl FROM mirai_source('192.0.2.200');
SELECT count(*) AS of_an_absent_source FROM mirai_source('192.0.2.201');
SELECT count(*) AS of_ipv6 FROM mirai_source('2001:db8::1');
SELECT count(*) AS of_null FROM mirai_source(NULL);
SELECT mirai_source('10.0.0.0/24');
SELECT src, packets, days FROM mirai_top_sources('2024-12-01', '2025-01-01', 3, 'cap_top');
SELECT src, packets, days FROM mirai_top_sources('2024-12-21', '2024-12-26', 2, 'cap_top');
-- after a delete that lowers the leaders of a day
DELETE FROM cap_top WHERE packet_src(p) = (SELECT src FROM mirai_top_sources('2024-12-15', '2024-12-16', 1, 'cap_top'));
SELECT top_differs('2024-12-11', '2024-12-16', 10) AS differs_after_delete,
       lookup_differs('2024-12-11', '2024-12-16') AS lookups_differ_after_delete;
SELECT mirai_top_sources('2024-12-01', '2025-01-01', 0);

-- mirai_bots asked for one source looks it up (its scan's lookup way):
-- the same rows as listing every source
SELECT bots_looked_up('cap_top') AS looked_up_differ;
SELECT bots_way($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) AS one_source,
       bots_way($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1' AND tbl = 'cap_top'::regclass$$) AS one_of_one_table,
       bots_way($$SELECT * FROM mirai_bots WHERE tbl = 'cap_top'::regclass$$) AS one_table,
       bots_way($$SELECT * FROM mirai_bots WHERE src << '10.0.0.0/24'$$) AS a_network,
       bots_way($$SELECT * FROM mirai_bots ORDER BY packets DESC LIMIT 10$$) AS top_ten,
       bots_way($$SELECT * FROM mirai_bots WHERE tbl = 'cap_top'::regclass ORDER BY packets DESC, src LIMIT 10$$) AS top_ten_of_one,
       bots_way($$SELECT * FROM mirai_bots ORDER BY packets DESC$$) AS all_by_packets,
       bots_way($$SELECT * FROM mirai_bots ORDER BY packets LIMIT 10$$) AS bottom_ten;
-- with no foreign table a partition, no table is a fleet and the planner
-- counts no row for the views' fleet branches (mirai_fleet_support): a
-- lookup's plan costs far less than JIT compiling is worth; with one, the
-- functions' ROWS stand
CREATE FUNCTION plan_cost(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    j json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
    RETURN (j->0->'Plan'->>'Total Cost')::float8;
END $$;
SELECT plan_cost($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) < 1000 AS lookup_cheap,
       plan_cost($$SELECT * FROM mirai_daily$$) < 1000 AS daily_cheap;
CREATE TABLE some_fleet (p packet) PARTITION BY RANGE (packet_time(p));
CREATE FOREIGN TABLE some_fleet_sensor PARTITION OF some_fleet
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') SERVER mirai_ext_bots;
SELECT plan_cost($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) > current_setting('jit_above_cost')::float8 AS lookup_guessed,
       bots_way($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) AS one_source_still;
-- (the answer is kept per backend until the catalogs change: a partition
-- detached, a table dropped)
ALTER TABLE some_fleet DETACH PARTITION some_fleet_sensor;
SELECT plan_cost($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) < 1000 AS lookup_cheap_again;
ALTER TABLE some_fleet ATTACH PARTITION some_fleet_sensor FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT plan_cost($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) > current_setting('jit_above_cost')::float8 AS lookup_guessed_again;
DROP TABLE some_fleet;
SELECT plan_cost($$SELECT * FROM mirai_bots WHERE src = '10.0.0.1'$$) < 1000 AS lookup_cheap_after_drop;
-- a parameter (a generic plan) is looked up as well; an address that is
-- not one IPv4 host equals no source
SET plan_cache_mode = force_generic_plan;
PREPARE bot(inet) AS SELECT tbl, src, packets, days FROM mirai_bots WHERE src = $1;
EXECUTE bot('192.0.2.200');
EXECUTE bot('192.0.2.200/24');
EXECUTE bot('::ffff:192.0.2.200');
EXECUTE bot(NULL);
DEALLOCATE bot;
RESET plan_cache_mode;
-- one source in two tables
CREATE TABLE cap_top2 (p packet);
SELECT mirai_track('cap_top2');
INSERT INTO cap_top2 SELECT mp('2024-12-22T08:00:00Z', '192.0.2.200', 23) FROM generate_series(1, 10);
SELECT tbl, src, packets, days, first_day, last_day, ports FROM mirai_bots WHERE src = '192.0.2.200' ORDER BY tbl::text;
SELECT mirai_untrack('cap_top2');
SELECT mirai_untrack('cap_top');
