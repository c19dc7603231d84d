-- mirai_ext 0.1.1 -> 0.2.0
\echo Use "ALTER EXTENSION mirai_ext UPDATE TO '0.2.0'" to load this file. \quit

-- is_mirai under the name of the other packet_ functions
CREATE FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'is_mirai' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) IS
    'is_mirai under the name of the other packet_ functions';

-- the ledger's table under the name the views give it
ALTER TABLE @extschema@.mirai_load_ledger ADD COLUMN tbl regclass GENERATED ALWAYS AS (table_name) STORED;
COMMENT ON COLUMN @extschema@.mirai_load_ledger.tbl IS 'table_name under the name the views give the table';

-- shares: fractions rounded to 6 decimals, computed in one place
COMMENT ON FUNCTION @extschema@.mirai_share(bigint, bigint) IS
    'part / whole as a fraction rounded to 6 decimals (the views'' shares)';

CREATE OR REPLACE VIEW @extschema@.mirai_countries AS
SELECT c.tbl,
       c.country,
       c.packets,
       @extschema@.mirai_share(c.packets, (pg_catalog.sum(c.packets) OVER (PARTITION BY c.tbl))::bigint) AS share,
       pg_catalog.rank() OVER (PARTITION BY c.tbl ORDER BY c.packets DESC) AS rank
  FROM (SELECT dc.tbl, dc.country, pg_catalog.sum(dc.packets)::bigint AS packets
          FROM @extschema@.mirai_daily_countries dc
         GROUP BY dc.tbl, dc.country) c;
COMMENT ON VIEW @extschema@.mirai_countries IS
    'Mirai packets per source country over everything tracked, share (fraction) and rank; NULL country: no GeoIP answer';

CREATE OR REPLACE FUNCTION @extschema@.mirai_sources("from" timestamptz, "to" timestamptz,
                                          of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT src inet, OUT country text, OUT packets bigint,
    OUT share numeric, OUT first_seen timestamptz, OUT last_seen timestamptz,
    OUT days bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT s.tbl, s.src, (pg_catalog.array_agg(s.country ORDER BY s.day))[1],
               pg_catalog.sum(s.packets)::bigint,
               @extschema@.mirai_share(pg_catalog.sum(s.packets)::bigint,
                                       (pg_catalog.sum(pg_catalog.sum(s.packets)) OVER (PARTITION BY s.tbl))::bigint),
               pg_catalog.min(s.first_seen), pg_catalog.max(s.last_seen), pg_catalog.count(*)
          FROM @extschema@.mirai_sources s
         WHERE s."time" >= "from" AND s."time" < "to"
           AND (of_table IS NULL OR s.tbl = of_table)
         GROUP BY s.tbl, s.src
         ORDER BY s.tbl, 4 DESC, s.src;
    END;

CREATE OR REPLACE FUNCTION @extschema@.mirai_countries("from" timestamptz, "to" timestamptz,
                                            of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT country text, OUT packets bigint, OUT share numeric,
    OUT rank bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT c.tbl, c.country, c.packets,
               @extschema@.mirai_share(c.packets, (pg_catalog.sum(c.packets) OVER (PARTITION BY c.tbl))::bigint),
               pg_catalog.rank() OVER (PARTITION BY c.tbl ORDER BY c.packets DESC)
          FROM (SELECT dc.tbl, dc.country, pg_catalog.sum(dc.packets)::bigint AS packets
                  FROM @extschema@.mirai_daily_countries dc
                 WHERE dc."time" >= "from" AND dc."time" < "to"
                   AND (of_table IS NULL OR dc.tbl = of_table)
                 GROUP BY dc.tbl, dc.country) c
         ORDER BY c.tbl, 5, c.country;
    END;

-- days of a zone from UTC hours: exact, or an error
CREATE FUNCTION @extschema@.mirai_whole_hours(time_zone text, t timestamptz) RETURNS boolean
    AS 'MODULE_PATHNAME', 'mirai_whole_hours' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mirai_whole_hours(text, timestamptz) IS
    'true when time_zone is a whole number of hours from UTC at t, else an error (mirai_daily_packets); internal';

CREATE OR REPLACE FUNCTION @extschema@.mirai_daily_packets(time_zone text, "from" timestamptz, "to" timestamptz,
                                                of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT "time" timestamptz, OUT day date, OUT packets bigint,
    OUT all_packets bigint)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT h.tbl, (((h."time" AT TIME ZONE time_zone)::date)::timestamp AT TIME ZONE time_zone),
               (h."time" AT TIME ZONE time_zone)::date,
               pg_catalog.sum(h.packets)::bigint, pg_catalog.sum(h.all_packets)::bigint
          FROM @extschema@.mirai_hourly h
         WHERE h."time" >= "from" AND h."time" < "to"
           AND (of_table IS NULL OR h.tbl = of_table)
           AND @extschema@.mirai_whole_hours(time_zone, h."time")
         GROUP BY 1, 2, 3
         ORDER BY 1, 3;
    END;

COMMENT ON FUNCTION @extschema@.mirai_daily_packets(text, timestamptz, timestamptz, regclass) IS
    'Mirai packets and all packets per day of any time zone whose offset is a whole number of hours, from the hourly rollups (an error for other zones)';

-- ---------------------------------------------------------------------
-- The planner: estimates, costs, parallel plans
-- ---------------------------------------------------------------------

-- is_mirai, packet_is_mirai, packet_is_fragment: the rows they keep, from statistics
CREATE FUNCTION @extschema@.packet_predicate_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'packet_predicate_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.packet_predicate_support(internal) IS
    'planner support of is_mirai, packet_is_mirai and packet_is_fragment: the rows they keep, from statistics; internal';
ALTER FUNCTION @extschema@.is_mirai(@extschema@.packet) SUPPORT @extschema@.packet_predicate_support;
ALTER FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) SUPPORT @extschema@.packet_predicate_support;
ALTER FUNCTION @extschema@.packet_is_fragment(@extschema@.packet) SUPPORT @extschema@.packet_predicate_support;

-- the cost of a call in units of int4pl's, measured (test/bench/costs.sh)
ALTER FUNCTION @extschema@.packet_in(cstring) COST 70;
ALTER FUNCTION @extschema@.packet_out(@extschema@.packet) COST 150;
ALTER FUNCTION @extschema@.packet_time(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_time_ns(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_src(@extschema@.packet) COST 5;
ALTER FUNCTION @extschema@.packet_dst(@extschema@.packet) COST 5;
ALTER FUNCTION @extschema@.packet_sport(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_dport(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_seq(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_ack(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_flags(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_flags_text(@extschema@.packet) COST 6;
ALTER FUNCTION @extschema@.packet_window(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_proto(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_ipver(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_ttl(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_ipid(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_len(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_caplen(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_vlan(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_icmp_type(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_icmp_code(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.packet_is_fragment(@extschema@.packet) COST 3;
ALTER FUNCTION @extschema@.is_mirai(@extschema@.packet) COST 2;
ALTER FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) COST 2;
ALTER FUNCTION @extschema@.packet_fields(@extschema@.packet) COST 250;
