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

-- every source of a range, summed in C from the parts
CREATE OR REPLACE FUNCTION @extschema@.mirai_sources("from" timestamptz, "to" timestamptz,
                                          of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT src inet, OUT country text, OUT packets bigint,
    OUT share numeric, OUT first_seen timestamptz, OUT last_seen timestamptz,
    OUT days bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_sources_range' LANGUAGE C STABLE;

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
-- Flat rollups: a day's entries split in parts, its top sources, the
-- source dictionary
-- ---------------------------------------------------------------------

-- A day's (source, port) entries, split by a hash of the source into
-- "parts" parts (a power of two that grows with the day), so that a
-- statement rewrites only the parts its sources fall in: kilobytes, even
-- on a day of millions of sources (src/pg/rollup_store.c).
CREATE TABLE @extschema@.mirai_rollup_part (
    tbl             regclass NOT NULL,
    day             date NOT NULL,
    part            integer NOT NULL CHECK (part >= 0),
    sources         integer NOT NULL,
    entries         bytea NOT NULL,
    bloom           bytea NOT NULL DEFAULT '',
    PRIMARY KEY (tbl, day, part)
) WITH (fillfactor = 80);
ALTER TABLE @extschema@.mirai_rollup_part ALTER COLUMN entries SET STORAGE EXTERNAL,
                                         ALTER COLUMN bloom SET STORAGE EXTERNAL;
COMMENT ON TABLE @extschema@.mirai_rollup_part IS
    'per tracked table, day and part: the packed (source, port) entries of the sources whose hash falls in the part, with packets, first and last time and country, and a Bloom filter of the sources (internal; read the views)';

-- pg_dump dumps their rows; the triggers and per-table views are ordinary
-- objects of the user's schema and are dumped as such.
-- Every source of a tracked table and its first day, in 32 chunks by a
-- hash of the address, with the histogram of first days beside each: what
-- mirai_new_sources sums (src/pg/rollup_dict.c).
CREATE TABLE @extschema@.mirai_rollup_dict (
    tbl             regclass NOT NULL,
    chunk           integer NOT NULL CHECK (chunk >= 0),
    sources         integer NOT NULL,
    first_days      date[] NOT NULL,
    first_counts    bigint[] NOT NULL,
    state           bytea NOT NULL,
    delta           bytea NOT NULL DEFAULT '',
    PRIMARY KEY (tbl, chunk)
) WITH (fillfactor = 80);
ALTER TABLE @extschema@.mirai_rollup_dict ALTER COLUMN state SET STORAGE EXTERNAL,
                                         ALTER COLUMN delta SET STORAGE EXTERNAL;
COMMENT ON TABLE @extschema@.mirai_rollup_dict IS
    'per tracked table and chunk: its sources with the day each was first seen (state, and delta: the sources new since state was written), and how many were first seen each day (internal; read mirai_new_sources)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_part', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_dict', '');
REVOKE ALL ON @extschema@.mirai_rollup_part, @extschema@.mirai_rollup_dict FROM PUBLIC;

ALTER TABLE @extschema@.mirai_rollup_day
    ADD COLUMN parts integer NOT NULL DEFAULT 1 CHECK (parts > 0),
    ADD COLUMN nentries bigint NOT NULL DEFAULT 0 CHECK (nentries >= 0),
    ADD COLUMN top bytea NOT NULL DEFAULT '';
ALTER TABLE @extschema@.mirai_rollup_day ALTER COLUMN top SET STORAGE EXTERNAL;

-- every day's packed entries become its parts and its top list, countries
-- as stored; then each table's source dictionary is made from them
CREATE FUNCTION @extschema@.mirai_rollup_split_days() RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rollup_split_days' LANGUAGE C;
SELECT @extschema@.mirai_rollup_split_days();
DROP FUNCTION @extschema@.mirai_rollup_split_days();

CREATE OR REPLACE VIEW @extschema@.mirai_sources_rows WITH (security_barrier) AS
SELECT d.tbl,
       d.day,
       t.time_zone,
       d.packets AS day_packets,
       s.src,
       s.country,
       s.packets,
       s.first_seen,
       s.last_seen,
       s.ports
  FROM @extschema@.mirai_rollup_day d
  JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
  JOIN @extschema@.mirai_rollup_part pt ON pt.tbl = d.tbl AND pt.day = d.day
 CROSS JOIN LATERAL @extschema@.mirai_day_sources(pt.entries) s
 WHERE d.packets > 0
   AND @extschema@.mirai_may_read(t.tbl, t.sources_view);
COMMENT ON VIEW @extschema@.mirai_sources_rows IS
    'internal to mirai_sources: the per-day sources a role may read';

CREATE OR REPLACE VIEW @extschema@.mirai_bots WITH (security_barrier) AS
SELECT b.tbl, b.src, b.country, b.first_seen, b.last_seen, b.first_day, b.last_day,
       b.days, b.packets,
       (SELECT pg_catalog.array_agg(DISTINCT p ORDER BY p) FROM pg_catalog.unnest(b.ports) AS p) AS ports
  FROM (SELECT d.tbl, s.src,
               (pg_catalog.array_agg(s.country ORDER BY d.day))[1] AS country,
               pg_catalog.min(s.first_seen) AS first_seen,
               pg_catalog.max(s.last_seen) AS last_seen,
               pg_catalog.min(d.day) AS first_day,
               pg_catalog.max(d.day) AS last_day,
               pg_catalog.count(*) AS days,
               pg_catalog.sum(s.packets)::bigint AS packets,
               @extschema@.mirai_ports_union(s.ports) AS ports
          FROM @extschema@.mirai_rollup_part d
          JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
         CROSS JOIN LATERAL @extschema@.mirai_day_sources(d.entries) s
         WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view)
         GROUP BY d.tbl, s.src) b;
COMMENT ON VIEW @extschema@.mirai_bots IS
    'per Mirai source over everything tracked: country when first seen, first and last packet, first and last day, days active, packets, ports probed';

CREATE OR REPLACE VIEW @extschema@.mirai_new_sources WITH (security_barrier) AS
SELECT c.tbl,
       @extschema@.mirai_day_start(u.day, t.time_zone) AS "time",
       u.day,
       pg_catalog.sum(u.count)::bigint AS new_sources
  FROM @extschema@.mirai_rollup_dict c
  JOIN @extschema@.mirai_tracked t ON t.tbl = c.tbl
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(c.first_days), pg_catalog.unnest(c.first_counts)) AS u(day, count)
 WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view)
 GROUP BY c.tbl, t.time_zone, u.day;
COMMENT ON VIEW @extschema@.mirai_new_sources IS
    'new bots per day: how many Mirai sources were first seen on each day (list them with mirai_bots WHERE first_day = ...)';

ALTER TABLE @extschema@.mirai_rollup_day DROP COLUMN entries;
COMMENT ON TABLE @extschema@.mirai_rollup_day IS
    'per tracked table and day of its time zone: Mirai packets, distinct sources, packets per country, the top sources; the day''s (source, port) entries are in mirai_rollup_part (internal; read the views)';

CREATE OR REPLACE FUNCTION @extschema@.mirai_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    gone pg_catalog.regclass[];
BEGIN
    SELECT pg_catalog.array_agg(d.objid::pg_catalog.regclass) INTO gone
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND d.object_type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'view']);
    IF gone IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM @extschema@.mirai_rollup_part WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_day WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_tracked WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_load_ledger WHERE table_name OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET daily_view = tbl WHERE daily_view OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET sources_view = tbl WHERE sources_view OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET countries_view = tbl WHERE countries_view OPERATOR(pg_catalog.=) ANY (gone);
END
$fn$;

-- The top n of mirai_sources(from, to), exactly, from the days' lists of
-- their top sources: milliseconds where mirai_sources(from, to) sums every
-- source of every day (src/pg/rollup_range.c).
CREATE FUNCTION @extschema@.mirai_top_sources("from" timestamptz, "to" timestamptz,
                                              n integer DEFAULT 10, of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT src inet, OUT country text, OUT packets bigint,
    OUT share numeric, OUT first_seen timestamptz, OUT last_seen timestamptz,
    OUT days bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_top_sources' LANGUAGE C STABLE ROWS 10;
COMMENT ON FUNCTION @extschema@.mirai_top_sources(timestamptz, timestamptz, integer, regclass) IS
    'the n (1 to 128) Mirai sources with the most packets over the days starting in [from, to), per table, as mirai_sources(from, to) gives them, in order';

-- One source of mirai_sources(from, to), looked up in the parts its
-- address hashes to (their Bloom filters skip the days it is absent):
-- milliseconds however many sources the days have (src/pg/rollup_range.c).
CREATE FUNCTION @extschema@.mirai_source(addr inet, "from" timestamptz DEFAULT '-infinity',
                                         "to" timestamptz DEFAULT 'infinity',
                                         of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT src inet, OUT country text, OUT packets bigint,
    OUT share numeric, OUT first_seen timestamptz, OUT last_seen timestamptz,
    OUT days bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_source' LANGUAGE C STABLE ROWS 1;
COMMENT ON FUNCTION @extschema@.mirai_source(inet, timestamptz, timestamptz, regclass) IS
    'one Mirai source over the days starting in [from, to) (all days by default), per table, as mirai_sources(from, to) gives it: a lookup';

-- re-geolocation: mirai_rebuild(tbl, countries => true); mirai_rebuild(tbl)
-- means what it meant
DROP FUNCTION @extschema@.mirai_rebuild(regclass);
CREATE FUNCTION @extschema@.mirai_rebuild(tbl regclass, countries boolean DEFAULT false) RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rebuild' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.mirai_rebuild(regclass, boolean) IS
    'recompute a tracked table''s rollups from its rows, stored countries kept, or with countries every source''s country from the GeoIP database configured now; returns the (day, source, port) entries';

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

-- ---------------------------------------------------------------------
-- Scanner fingerprints
-- ---------------------------------------------------------------------
-- COST in units of int4pl's, measured by test/bench/costs.sh: packet_scanner
-- reads the stored bytes in place as is_mirai does, and tests more; the
-- array of packet_scanners costs most of its time.
CREATE FUNCTION @extschema@.packet_scanner(@extschema@.packet) RETURNS text
    AS 'MODULE_PATHNAME', 'packet_scanner' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 4;
COMMENT ON FUNCTION @extschema@.packet_scanner(@extschema@.packet) IS
    'name of the first rule of mirai_scanner_rules, in its order, that the packet matches (mirai, zmap, masscan, nmap, unicornscan, backscatter); NULL if none';
CREATE FUNCTION @extschema@.packet_scanners(@extschema@.packet) RETURNS text[]
    AS 'MODULE_PATHNAME', 'packet_scanners' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10;
COMMENT ON FUNCTION @extschema@.packet_scanners(@extschema@.packet) IS
    'names of every rule of mirai_scanner_rules that the packet matches, in its order; empty if none';

CREATE FUNCTION @extschema@.mirai_scanner_rules(
    OUT "position" integer, OUT name text, OUT tool text, OUT versions text,
    OUT fields text[], OUT rule text, OUT source text, OUT fp_rate double precision,
    OUT fp_math text, OUT checkable boolean, OUT note text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_scanner_rules' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION @extschema@.mirai_scanner_rules() IS
    'the catalogue of scanner fingerprints that packet_scanner applies, in its order: the fields and values each rule checks, the tool''s code it comes from, its false-positive rate on random SYNs';

CREATE VIEW @extschema@.mirai_scanner_rules AS
SELECT r."position", r.name, r.tool, r.versions, r.fields, r.rule, r.source,
       r.fp_rate, r.fp_math, r.checkable, r.note
  FROM @extschema@.mirai_scanner_rules() r
 ORDER BY r."position";
COMMENT ON VIEW @extschema@.mirai_scanner_rules IS
    'the catalogue of scanner fingerprints: per rule, in packet_scanner''s order, the tool and versions, the fields read, the rule, its source, its false-positive rate on random SYNs and how it follows, whether stored packets can be checked';
GRANT SELECT ON @extschema@.mirai_scanner_rules TO PUBLIC;

-- ---------------------------------------------------------------------
-- Fleets: a coordinator reading its sensors' rollups
-- ---------------------------------------------------------------------

-- what the views call for a tracked table with foreign partitions
-- The planner's estimates of the fleet branches: none when no foreign
-- table is a partition (src/pg/fleet_estimate.c).
CREATE FUNCTION @extschema@.mirai_fleet_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'mirai_fleet_support' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mirai_fleet_support(internal) IS
    'planner support: the rows of the views'' fleet branches; internal';
REVOKE ALL ON FUNCTION @extschema@.mirai_fleet_support(internal) FROM PUBLIC;
ALTER FUNCTION @extschema@.mirai_day_sources(bytea) SUPPORT @extschema@.mirai_fleet_support;

CREATE FUNCTION @extschema@.mirai_is_fleet(tbl regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'mirai_is_fleet' LANGUAGE C STABLE STRICT PARALLEL SAFE
    SUPPORT @extschema@.mirai_fleet_support;
COMMENT ON FUNCTION @extschema@.mirai_is_fleet(regclass) IS
    'true when a partition of the table''s tree is a foreign table: its views read its servers'' rollups; internal';

CREATE FUNCTION @extschema@.mirai_fleet_days(tbl regclass, what text,
    OUT day date, OUT packets bigint, OUT sources bigint, OUT new_sources bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_fleet_days' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 100
    SUPPORT @extschema@.mirai_fleet_support;
COMMENT ON FUNCTION @extschema@.mirai_fleet_days(regclass, text) IS
    'a partitioned table''s days over its local and foreign partitions'' rollups: packets, and with what ''daily'' distinct sources, with ''new_sources'' also sources first seen; internal to the views';

CREATE FUNCTION @extschema@.mirai_fleet_countries(tbl regclass,
    OUT day date, OUT country text, OUT packets bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_fleet_countries' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000
    SUPPORT @extschema@.mirai_fleet_support;
COMMENT ON FUNCTION @extschema@.mirai_fleet_countries(regclass) IS
    'a partitioned table''s Mirai packets per day and source country over its local and foreign partitions'' rollups; internal to the views';

CREATE FUNCTION @extschema@.mirai_fleet_hours(tbl regclass,
    OUT "time" timestamptz, OUT packets bigint, OUT all_packets bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_fleet_hours' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 2000
    SUPPORT @extschema@.mirai_fleet_support;
COMMENT ON FUNCTION @extschema@.mirai_fleet_hours(regclass) IS
    'a partitioned table''s Mirai and all packets per UTC hour over its local and foreign partitions'' rollups; internal to the views';

CREATE FUNCTION @extschema@.mirai_fleet_entries(tbl regclass, day date) RETURNS bytea
    AS 'MODULE_PATHNAME', 'mirai_fleet_entries' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.mirai_fleet_entries(regclass, date) IS
    'a partitioned table''s (source, port) entries of a day merged over its local and foreign partitions'' rollups, packed (mirai_day_sources reads them); internal to the views';

-- the views: the rollup tables for other tables, those functions for these
CREATE OR REPLACE VIEW @extschema@.mirai_daily WITH (security_barrier) AS
SELECT d.tbl,
       @extschema@.mirai_day_start(d.day, t.time_zone) AS "time",
       d.day,
       d.packets,
       d.sources
  FROM @extschema@.mirai_rollup_day d
  JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
 WHERE d.packets > 0
   AND @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
UNION ALL
SELECT t.tbl,
       @extschema@.mirai_day_start(f.day, t.time_zone),
       f.day,
       f.packets,
       f.sources
  FROM @extschema@.mirai_tracked t
 CROSS JOIN LATERAL @extschema@.mirai_fleet_days(t.tbl, 'daily') f
 WHERE @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_daily IS
    'Mirai packets and distinct sources per day of the tracked table''s time zone';

CREATE OR REPLACE VIEW @extschema@.mirai_sources_rows WITH (security_barrier) AS
SELECT d.tbl,
       d.day,
       t.time_zone,
       d.packets AS day_packets,
       s.src,
       s.country,
       s.packets,
       s.first_seen,
       s.last_seen,
       s.ports
  FROM @extschema@.mirai_rollup_day d
  JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
  JOIN @extschema@.mirai_rollup_part pt ON pt.tbl = d.tbl AND pt.day = d.day
 CROSS JOIN LATERAL @extschema@.mirai_day_sources(pt.entries) s
 WHERE d.packets > 0
   AND @extschema@.mirai_may_read(t.tbl, t.sources_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
UNION ALL
SELECT t.tbl,
       f.day,
       t.time_zone,
       f.packets,
       s.src,
       s.country,
       s.packets,
       s.first_seen,
       s.last_seen,
       s.ports
  FROM @extschema@.mirai_tracked t
 CROSS JOIN LATERAL @extschema@.mirai_fleet_days(t.tbl, 'sources') f
 CROSS JOIN LATERAL @extschema@.mirai_day_sources(@extschema@.mirai_fleet_entries(t.tbl, f.day)) s
 WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view)
   AND @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_sources_rows IS
    'internal to mirai_sources: the per-day sources a role may read';

CREATE OR REPLACE VIEW @extschema@.mirai_daily_countries WITH (security_barrier) AS
SELECT d.tbl,
       @extschema@.mirai_day_start(d.day, t.time_zone) AS "time",
       d.day,
       u.country,
       u.packets
  FROM @extschema@.mirai_rollup_day d
  JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(d.countries), pg_catalog.unnest(d.country_packets)) AS u(country, packets)
 WHERE @extschema@.mirai_may_read(t.tbl, t.countries_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
UNION ALL
SELECT t.tbl,
       @extschema@.mirai_day_start(f.day, t.time_zone),
       f.day,
       f.country,
       f.packets
  FROM @extschema@.mirai_tracked t
 CROSS JOIN LATERAL @extschema@.mirai_fleet_countries(t.tbl) f
 WHERE @extschema@.mirai_may_read(t.tbl, t.countries_view)
   AND @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_daily_countries IS
    'Mirai packets per day and source country (NULL: no GeoIP answer)';

CREATE OR REPLACE VIEW @extschema@.mirai_hourly WITH (security_barrier) AS
SELECT h.tbl, h.hour AS "time", h.packets, h.all_packets
  FROM @extschema@.mirai_rollup_hour h
  JOIN @extschema@.mirai_tracked t ON t.tbl = h.tbl
 WHERE @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
UNION ALL
SELECT t.tbl, f."time", f.packets, f.all_packets
  FROM @extschema@.mirai_tracked t
 CROSS JOIN LATERAL @extschema@.mirai_fleet_hours(t.tbl) f
 WHERE @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_hourly IS
    'Mirai packets and all packets per UTC hour';

-- Every Mirai source of the tracked tables the role may read, over all
-- their days: a foreign table whose scan (rollup_bots.c) the planner
-- tells the query's conditions and wanted order, so that mirai_bots WHERE
-- src = ... is a lookup and ORDER BY packets DESC LIMIT n reads the days'
-- lists of their top sources.  The scan checks what the role may read, so
-- the view needs no barrier; the server has no options and no one but
-- the extension uses it.
CREATE FUNCTION @extschema@.mirai_bots_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'mirai_bots_handler' LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@.mirai_bots_handler() IS
    'the foreign-data wrapper under mirai_bots_scan; internal';
REVOKE ALL ON FUNCTION @extschema@.mirai_bots_handler() FROM PUBLIC;
CREATE FOREIGN DATA WRAPPER mirai_ext_bots HANDLER @extschema@.mirai_bots_handler;
COMMENT ON FOREIGN DATA WRAPPER mirai_ext_bots IS 'the scan under the mirai_bots view; internal';
CREATE SERVER mirai_ext_bots FOREIGN DATA WRAPPER mirai_ext_bots;
COMMENT ON SERVER mirai_ext_bots IS 'the scan under the mirai_bots view; internal';
CREATE FOREIGN TABLE @extschema@.mirai_bots_scan (
    tbl regclass, src inet, country text, first_seen timestamptz, last_seen timestamptz,
    first_day date, last_day date, days bigint, packets bigint, ports integer[])
    SERVER mirai_ext_bots;
COMMENT ON FOREIGN TABLE @extschema@.mirai_bots_scan IS
    'every Mirai source of the tracked tables the current role may read (none of a fleet table): what mirai_bots lists for them; internal to the view';

CREATE OR REPLACE VIEW @extschema@.mirai_bots AS
SELECT b.tbl, b.src, b.country, b.first_seen, b.last_seen, b.first_day, b.last_day, b.days,
       b.packets, b.ports
  FROM @extschema@.mirai_bots_scan b
UNION ALL
SELECT b.tbl, b.src, b.country, b.first_seen, b.last_seen, b.first_day, b.last_day,
       b.days, b.packets,
       (SELECT pg_catalog.array_agg(DISTINCT p ORDER BY p) FROM pg_catalog.unnest(b.ports) AS p) AS ports
  FROM (SELECT t.tbl, s.src,
               (pg_catalog.array_agg(s.country ORDER BY f.day))[1] AS country,
               pg_catalog.min(s.first_seen) AS first_seen,
               pg_catalog.max(s.last_seen) AS last_seen,
               pg_catalog.min(f.day) AS first_day,
               pg_catalog.max(f.day) AS last_day,
               pg_catalog.count(*) AS days,
               pg_catalog.sum(s.packets)::bigint AS packets,
               @extschema@.mirai_ports_union(s.ports) AS ports
          FROM @extschema@.mirai_tracked t
         CROSS JOIN LATERAL @extschema@.mirai_fleet_days(t.tbl, 'sources') f
         CROSS JOIN LATERAL @extschema@.mirai_day_sources(@extschema@.mirai_fleet_entries(t.tbl, f.day)) s
         WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view)
           AND @extschema@.mirai_is_fleet(t.tbl)
         GROUP BY t.tbl, s.src) b;
COMMENT ON VIEW @extschema@.mirai_bots IS
    'per Mirai source over everything tracked: country when first seen, first and last packet, first and last day, days active, packets, ports probed';

CREATE OR REPLACE VIEW @extschema@.mirai_new_sources WITH (security_barrier) AS
SELECT c.tbl,
       @extschema@.mirai_day_start(u.day, t.time_zone) AS "time",
       u.day,
       pg_catalog.sum(u.count)::bigint AS new_sources
  FROM @extschema@.mirai_rollup_dict c
  JOIN @extschema@.mirai_tracked t ON t.tbl = c.tbl
 CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(c.first_days), pg_catalog.unnest(c.first_counts)) AS u(day, count)
 WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
 GROUP BY c.tbl, t.time_zone, u.day
UNION ALL
SELECT t.tbl,
       @extschema@.mirai_day_start(f.day, t.time_zone),
       f.day,
       f.new_sources
  FROM @extschema@.mirai_tracked t
 CROSS JOIN LATERAL @extschema@.mirai_fleet_days(t.tbl, 'new_sources') f
 WHERE f.new_sources > 0
   AND @extschema@.mirai_may_read(t.tbl, t.sources_view)
   AND @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_new_sources IS
    'new bots per day: how many Mirai sources were first seen on each day (list them with mirai_bots WHERE first_day = ...)';

-- What a coordinator reads of a sensor: the packed entries of each part of
-- each day, for the tables the role of the user mapping may read the
-- sources of (SELECT on the table or its per-table sources view).  They hold
-- per (source, port) what mirai_sources shows per source.
CREATE VIEW @extschema@.mirai_fleet_parts WITH (security_barrier) AS
SELECT p.tbl,
       p.day,
       d.packets AS day_packets,
       p.part,
       p.entries
  FROM @extschema@.mirai_rollup_part p
  JOIN @extschema@.mirai_rollup_day d ON d.tbl = p.tbl AND d.day = p.day
  JOIN @extschema@.mirai_tracked t ON t.tbl = p.tbl
 WHERE @extschema@.mirai_may_read(t.tbl, t.sources_view);
COMMENT ON VIEW @extschema@.mirai_fleet_parts IS
    'per tracked table, day and part: the day''s Mirai packets and the part''s packed (source, port) entries (mirai_day_sources reads them): what a coordinator reads of a sensor';
GRANT SELECT ON @extschema@.mirai_fleet_parts TO PUBLIC;

-- The triggers of a tracked table with foreign partitions (made by
-- mirai_track, as the extension's owner; not executable by PUBLIC).
CREATE FUNCTION @extschema@.mirai_rollup_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'mirai_rollup_row' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.mirai_rollup_row() IS
    'row trigger of tracked tables with foreign partitions: gathers the packets of their local partitions (made by mirai_track)';

CREATE FUNCTION @extschema@.mirai_rollup_flush() RETURNS trigger
    AS 'MODULE_PATHNAME', 'mirai_rollup_flush' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.mirai_rollup_flush() IS
    'statement trigger of tracked tables with foreign partitions and of their local partitions: folds the gathered packets into the rollups (made by mirai_track)';

REVOKE ALL ON FUNCTION @extschema@.mirai_rollup_row(), @extschema@.mirai_rollup_flush() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Scanner dimension of the rollups
-- ---------------------------------------------------------------------

-- scanner is the rule's name, '' for packets no rule matches (NULL in the
-- view); parts as for the days' entries, sources split by a hash of the
-- address so that a statement rewrites only the parts its sources fall in.
CREATE TABLE @extschema@.mirai_rollup_scanner (
    tbl             regclass NOT NULL,
    day             date NOT NULL,
    scanner         text NOT NULL,
    packets         bigint NOT NULL CHECK (packets >= 0),
    sources         bigint NOT NULL CHECK (sources >= 0),
    parts           integer NOT NULL DEFAULT 1 CHECK (parts > 0),
    PRIMARY KEY (tbl, day, scanner)
) WITH (fillfactor = 80);
COMMENT ON TABLE @extschema@.mirai_rollup_scanner IS
    'per tracked table, day of its time zone and scanner (first matching rule; '''' for none): packets and distinct sources, the sources in mirai_rollup_scanner_part; not the rule mirai, whose counts are the day rows'''' (internal; read mirai_scanners_daily)';

CREATE TABLE @extschema@.mirai_rollup_scanner_part (
    tbl             regclass NOT NULL,
    day             date NOT NULL,
    scanner         text NOT NULL,
    part            integer NOT NULL CHECK (part >= 0),
    sources         integer NOT NULL,
    members         bytea NOT NULL,
    PRIMARY KEY (tbl, day, scanner, part)
) WITH (fillfactor = 80);
ALTER TABLE @extschema@.mirai_rollup_scanner_part ALTER COLUMN members SET STORAGE EXTERNAL;
COMMENT ON TABLE @extschema@.mirai_rollup_scanner_part IS
    'per tracked table, day, scanner and part: the packed source addresses whose hash falls in the part, each with its packets (internal; read mirai_scanners_daily)';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_scanner', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_scanner_part', '');
REVOKE ALL ON @extschema@.mirai_rollup_scanner, @extschema@.mirai_rollup_scanner_part FROM PUBLIC;

CREATE FUNCTION @extschema@.mirai_rebuild_scanners(tbl regclass, "from" date DEFAULT NULL,
                                                   "to" date DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rebuild_scanners' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.mirai_rebuild_scanners(regclass, date, date) IS
    'recompute the scanner dimension of a tracked table''s days from "from" to "to" (inclusive, days of its time zone; NULL: unbounded) from its rows, with the catalogue of this library (after a catalogue change); returns the (day, scanner) rows written (the rule mirai has none: the day rows count it)';

CREATE VIEW @extschema@.mirai_scanners_daily WITH (security_barrier) AS
SELECT s.tbl,
       @extschema@.mirai_day_start(s.day, t.time_zone) AS "time",
       s.day,
       NULLIF(s.scanner, '') AS scanner,
       s.packets,
       s.sources
  FROM @extschema@.mirai_rollup_scanner s
  JOIN @extschema@.mirai_tracked t ON t.tbl = s.tbl
 WHERE @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl)
UNION ALL
-- the rule "mirai" is is_mirai's: its packets and sources are the day rows'
SELECT d.tbl,
       @extschema@.mirai_day_start(d.day, t.time_zone),
       d.day,
       'mirai',
       d.packets,
       d.sources
  FROM @extschema@.mirai_rollup_day d
  JOIN @extschema@.mirai_tracked t ON t.tbl = d.tbl
 WHERE d.packets > 0
   AND @extschema@.mirai_may_read(t.tbl, t.daily_view)
   AND NOT @extschema@.mirai_is_fleet(t.tbl);
COMMENT ON VIEW @extschema@.mirai_scanners_daily IS
    'all packets and distinct sources per day of the tracked table''s time zone and scanner (packet_scanner: the first matching rule of mirai_scanner_rules; NULL: none); not for tables with foreign partitions';
GRANT SELECT ON @extschema@.mirai_scanners_daily TO PUBLIC;

-- a dropped table's scanner rollups go with its other rollups
CREATE OR REPLACE FUNCTION @extschema@.mirai_forget_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    gone pg_catalog.regclass[];
BEGIN
    SELECT pg_catalog.array_agg(d.objid::pg_catalog.regclass) INTO gone
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid OPERATOR(pg_catalog.=) 0
       AND d.object_type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'view']);
    IF gone IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM @extschema@.mirai_rollup_scanner_part WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_scanner WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_part WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_day WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_tracked WHERE tbl OPERATOR(pg_catalog.=) ANY (gone);
    DELETE FROM @extschema@.mirai_load_ledger WHERE table_name OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET daily_view = tbl WHERE daily_view OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET sources_view = tbl WHERE sources_view OPERATOR(pg_catalog.=) ANY (gone);
    UPDATE @extschema@.mirai_tracked SET countries_view = tbl WHERE countries_view OPERATOR(pg_catalog.=) ANY (gone);
END
$fn$;

-- the tracked tables' scanner dimension, from their rows (read as each
-- table's owner), with the catalogue of this library
SELECT @extschema@.mirai_rebuild_scanners(t.tbl) FROM @extschema@.mirai_tracked t ORDER BY t.tbl::pg_catalog.oid;

-- ---------------------------------------------------------------------
-- mirai_load: resumed and followed files
-- ---------------------------------------------------------------------
ALTER TABLE @extschema@.mirai_load_ledger ADD COLUMN records bigint CHECK (records >= 0);
ALTER TABLE @extschema@.mirai_load_ledger ADD COLUMN from_record bigint NOT NULL DEFAULT 0 CHECK (from_record >= 0);
ALTER TABLE @extschema@.mirai_load_ledger ADD COLUMN at_end boolean NOT NULL DEFAULT true;
DROP INDEX @extschema@.mirai_load_ledger_once;
CREATE UNIQUE INDEX mirai_load_ledger_once
    ON @extschema@.mirai_load_ledger (table_name, content_hash, loaded_by, options, from_record) WHERE NOT forced;
COMMENT ON TABLE @extschema@.mirai_load_ledger IS
    'capture files loaded by mirai_load: one row per file (or batch) and table, written in the same transaction as its packets';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filtered IS 'IP packets left out by --filter, --mirai-only or --scanner';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filter IS 'the BPF filter, --mirai-only and --scanner, as given (--scanner''s rules in catalogue order); NULL when none';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.options IS
    'what decides the rows a file gives: --column=(the packet column), then --filter, --mirai-only and --scanner as given, then --on-error=skip when it skipped damage; a rerun skips or resumes the file only with the same options';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.records IS
    'records of the file read up to the end of this load, counted from the file''s start (pcap records, pcapng packet blocks), whether loaded, filtered or skipped; a load that resumes this one starts after them; NULL for rows written before 0.2.0';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.from_record IS
    'records of the file before this load''s first: 0 for a load from the file''s start, else the records of the row it resumed or of the batch before it';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.at_end IS
    'the load read its input to the end (false: a batch of --commit-every or --follow committed before the end; such a row never makes a file count as loaded, only resumable)';
