-- The planner's estimates of the packet predicates (packet_predicate_support)
-- and the functions' COST markings.  Tables under 30,000 rows are analyzed
-- whole, so the estimates below are exact repeatable numbers.
SET timezone = 'UTC';

-- the planner's row estimate of a query, and its fraction of the table's
CREATE FUNCTION pg_temp.est(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
    RETURN (j -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END $$;
CREATE FUNCTION pg_temp.sel(tbl text, clause text) RETURNS numeric LANGUAGE sql AS $$
    SELECT round(pg_temp.est(format('SELECT * FROM %s WHERE %s', tbl, clause))::numeric /
                 pg_temp.est(format('SELECT * FROM %s', tbl)), 3)
$$;

-- the support function and the costs (units of int4pl's, test/bench/costs.sh)
SELECT p.proname, p.procost, s.proname AS support
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
LEFT JOIN pg_proc s ON s.oid = p.prosupport
WHERE p.procost <> 1 OR p.prosupport <> 0
ORDER BY p.procost DESC, 1;

-- 1,000 packets over 10 days: 792 Mirai (sequence number = destination
-- address), 198 other TCP, 10 UDP fragments; no autovacuum, so the table has
-- statistics only when the test says ANALYZE
CREATE TABLE pl (p packet) WITH (autovacuum_enabled = off);
INSERT INTO pl
SELECT format('%s tcp 192.0.2.%s:%s > 203.0.113.7:23 flags=S seq=%s ack=0 win=1 ttl=50 id=1 len=54',
              to_char(timestamptz '2024-12-05' + g * interval '863 s', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
              g % 250, 1025 + g, CASE WHEN g % 5 = 0 THEN 1 ELSE 3405803783 END)::packet
FROM generate_series(1, 990) g
UNION ALL
SELECT format('%sT12:00:00Z udp 198.51.100.%s > 203.0.113.7 ttl=64 id=%s len=1500 frag',
              to_char(date '2024-12-05' + g % 10, 'YYYY-MM-DD'), g, g)::packet
FROM generate_series(1, 10) g;
SELECT count(*) FILTER (WHERE is_mirai(p)) AS mirai, count(*) FILTER (WHERE packet_is_fragment(p)) AS fragments,
       count(DISTINCT packet_time(p)::date) AS days
FROM pl;

-- never analyzed: 0.5, the planner's guess for a boolean it knows nothing about
SELECT pg_temp.sel('pl', 'is_mirai(p)') AS mirai, pg_temp.sel('pl', 'packet_is_fragment(p)') AS fragments;

-- analyzed: the predicate evaluated on the column's histogram, 100 packets
-- (the truth: 0.792 and 0.010; a histogram this size misses rare packets)
ANALYZE pl;
SELECT pg_temp.sel('pl', 'is_mirai(p)') AS mirai,
       pg_temp.sel('pl', 'packet_is_mirai(p)') AS packet_is_mirai,
       pg_temp.sel('pl', 'NOT is_mirai(p)') AS not_mirai,
       pg_temp.sel('pl', 'packet_is_fragment(p)') AS fragments;
-- in a join and in a subquery
SELECT pg_temp.est('SELECT * FROM pl a JOIN pl b USING (p) WHERE is_mirai(a.p)') AS joined,
       pg_temp.est('SELECT * FROM (SELECT p FROM pl OFFSET 0) s WHERE is_mirai(p)') AS subquery;

-- statistics on the call itself come first: the whole sample, not the histogram
CREATE STATISTICS pl_mirai ON (is_mirai(p)) FROM pl;
ANALYZE pl;
SELECT pg_temp.sel('pl', 'is_mirai(p)') AS mirai, pg_temp.sel('pl', 'NOT is_mirai(p)') AS not_mirai;

-- groups per day: every packet is distinct, so without statistics on the
-- expression the planner counts one group a row; with them, the days
SELECT pg_temp.est('SELECT packet_time(p)::date, count(*) FROM pl WHERE is_mirai(p) GROUP BY 1') AS groups;
CREATE STATISTICS pl_day ON (packet_time(p)::date) FROM pl;
CREATE STATISTICS pl_day_tokyo ON ((packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date) FROM pl;
ANALYZE pl;
SELECT pg_temp.est('SELECT packet_time(p)::date, count(*) FROM pl WHERE is_mirai(p) GROUP BY 1') AS groups,
       pg_temp.est($$SELECT (packet_time(p) AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM pl
                     WHERE is_mirai(p) GROUP BY 1$$) AS groups_tokyo;

-- most common values count with their frequencies: half the rows are one
-- Mirai packet, the other half distinct non-Mirai packets
CREATE TABLE pl_mcv (p packet) WITH (autovacuum_enabled = off);
INSERT INTO pl_mcv
SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54'
FROM generate_series(1, 500)
UNION ALL
SELECT format('2024-12-14T00:%s:%sZ tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=50 id=1 len=54',
              lpad((g / 60)::text, 2, '0'), lpad((g % 60)::text, 2, '0'))::packet
FROM generate_series(1, 500) g;
ANALYZE pl_mcv;
SELECT pg_temp.sel('pl_mcv', 'is_mirai(p)') AS mirai;

-- a column of a domain over packet has the same statistics
CREATE DOMAIN pl_packet AS packet;
CREATE TABLE pl_domain (p pl_packet) WITH (autovacuum_enabled = off);
INSERT INTO pl_domain SELECT p FROM pl;
ANALYZE pl_domain;
SELECT pg_temp.sel('pl_domain', 'is_mirai(p)') AS mirai;

-- NULLs are never Mirai's: a quarter of NULLs, three quarters of pl
CREATE TABLE pl_null (p packet) WITH (autovacuum_enabled = off);
INSERT INTO pl_null SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE p END
FROM (SELECT p, row_number() OVER (ORDER BY p) AS i FROM pl) s;
ANALYZE pl_null;
SELECT pg_temp.sel('pl_null', 'is_mirai(p)') AS mirai;

-- the column's values are read through is_mirai, which is not leakproof:
-- a role that sees the table through row-level security gets the default
CREATE ROLE regress_planner_rls;
ALTER TABLE pl ENABLE ROW LEVEL SECURITY;
CREATE POLICY pl_all ON pl FOR SELECT TO regress_planner_rls USING (true);
GRANT SELECT ON pl TO regress_planner_rls;
DROP STATISTICS pl_mirai;
ANALYZE pl;
SET ROLE regress_planner_rls;
SELECT pg_temp.est('SELECT * FROM pl WHERE is_mirai(p)') AS mirai_rows;
RESET ROLE;
SELECT pg_temp.est('SELECT * FROM pl WHERE is_mirai(p)') AS mirai_rows;

DROP TABLE pl, pl_mcv, pl_null, pl_domain;
DROP DOMAIN pl_packet;
DROP ROLE regress_planner_rls;
