-- ---------------------------------------------------------------------
-- Rollups of tracked packet tables and the views dashboards query
--
-- mirai_track('capture') registers a packet table: statement-level
-- triggers with transition tables (C: mirai_rollup_trigger, see
-- src/pg/rollup.c) fold every INSERT, COPY and INSERT ... SELECT pcap_read
-- into two rollup tables in the same transaction, and, when the table's
-- rollups follow deletes, every UPDATE, DELETE and TRUNCATE too (a table
-- whose rollups keep history refuses an UPDATE that changes packets).
--
-- Privileges (the choice, also in README): the rollups of every tracked
-- table live in shared extension tables that only the extension's owner may
-- read or write.  Users read them through the views below, which are
-- security barriers showing the rows of a tracked table to a role that may
-- SELECT from that table, or from the per-table view mirai_track made for
-- it.  Those per-table views (<table>_mirai_daily, _sources, _countries) are
-- owned by the table's owner, start with the table's SELECT grants, and are
-- the handle to give a dashboard role the rollups without the raw packets:
--     GRANT SELECT ON capture_mirai_daily TO grafana;
-- Shared tables keep one set of views for any number of tracked tables (a
-- dashboard filters on tbl) and are dumped by pg_dump as configuration
-- tables; per-table storage would need the shared views rebuilt, and owned
-- by someone, every time a table is tracked.
-- ---------------------------------------------------------------------

CREATE TABLE @extschema@.mirai_tracked (
    tbl             regclass PRIMARY KEY,
    time_zone       text NOT NULL,
    on_delete       text NOT NULL CHECK (on_delete IN ('follow', 'keep')),
    daily_view      regclass NOT NULL,
    sources_view    regclass NOT NULL,
    countries_view  regclass NOT NULL,
    tracked_since   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE @extschema@.mirai_tracked IS
    'packet tables whose rollups are maintained (mirai_track): time zone of their days, what deletes do, per-table views';

CREATE TABLE @extschema@.mirai_rollup_hour (
    tbl         regclass NOT NULL,
    hour        timestamptz NOT NULL,
    packets     bigint NOT NULL,
    all_packets bigint NOT NULL,
    PRIMARY KEY (tbl, hour)
) WITH (fillfactor = 80);
COMMENT ON TABLE @extschema@.mirai_rollup_hour IS
    'per tracked table and UTC hour: Mirai packets and all packets (internal; read mirai_hourly)';

CREATE TABLE @extschema@.mirai_rollup_day (
    tbl             regclass NOT NULL,
    day             date NOT NULL,
    packets         bigint NOT NULL,
    sources         bigint NOT NULL,
    countries       text[] NOT NULL,
    country_packets bigint[] NOT NULL,
    parts           integer NOT NULL DEFAULT 1 CHECK (parts > 0),
    nentries        bigint NOT NULL DEFAULT 0 CHECK (nentries >= 0),
    top             bytea NOT NULL DEFAULT '',
    PRIMARY KEY (tbl, day)
) WITH (fillfactor = 80);
ALTER TABLE @extschema@.mirai_rollup_day ALTER COLUMN top SET STORAGE EXTERNAL;
COMMENT ON TABLE @extschema@.mirai_rollup_day IS
    'per tracked table and day of its time zone: Mirai packets, distinct sources, packets per country, the top sources; the day''s (source, port) entries are in mirai_rollup_part (internal; read the views)';

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

SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_tracked', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_hour', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_day', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_part', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_rollup_dict', '');

REVOKE ALL ON @extschema@.mirai_tracked, @extschema@.mirai_rollup_hour,
              @extschema@.mirai_rollup_day, @extschema@.mirai_rollup_part,
              @extschema@.mirai_rollup_dict FROM PUBLIC;
GRANT SELECT ON @extschema@.mirai_tracked TO PUBLIC;

-- ---------------------------------------------------------------------
-- C parts
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.mirai_rollup_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'mirai_rollup_trigger' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.mirai_rollup_trigger() IS
    'statement trigger of tracked tables: folds the transition tables into the rollups (made by mirai_track)';

CREATE FUNCTION @extschema@.mirai_rollup_admin(tbl regclass, action text,
    time_zone text DEFAULT NULL, on_delete text DEFAULT NULL,
    daily_view regclass DEFAULT NULL, sources_view regclass DEFAULT NULL,
    countries_view regclass DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rollup_admin' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.mirai_rollup_admin(regclass, text, text, text, regclass, regclass, regclass) IS
    'internal: what mirai_track, mirai_untrack and mirai_rebuild of version 0.1.0 called; the caller must own the table';

-- Only the extension attaches the trigger to a table (mirai_track makes
-- the triggers as the extension's owner), and the 0.1.0 helper is internal.
REVOKE ALL ON FUNCTION @extschema@.mirai_rollup_trigger(),
    @extschema@.mirai_rollup_admin(regclass, text, text, text, regclass, regclass, regclass)
    FROM PUBLIC;

CREATE FUNCTION @extschema@.mirai_day_sources(entries bytea,
    OUT src inet, OUT packets bigint, OUT first_seen timestamptz,
    OUT last_seen timestamptz, OUT country text, OUT ports integer[],
    OUT port_count integer)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_day_sources' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 3000;
COMMENT ON FUNCTION @extschema@.mirai_day_sources(bytea) IS
    'the sources of a rollup day row''s packed entries: packets, first and last packet of the day, country, ports probed (first 32)';

-- The views' share and "time" columns.  Declared costly, so that a query
-- with ORDER BY ... LIMIT computes them for the rows it returns only, not
-- for every source of a busy day.
CREATE FUNCTION @extschema@.mirai_share(part bigint, whole bigint) RETURNS numeric
    AS 'MODULE_PATHNAME', 'mirai_share' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION @extschema@.mirai_share(bigint, bigint) IS
    'part / whole as a fraction rounded to 6 decimals (the views'' shares)';

CREATE FUNCTION @extschema@.mirai_whole_hours(time_zone text, t timestamptz) RETURNS boolean
    AS 'MODULE_PATHNAME', 'mirai_whole_hours' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mirai_whole_hours(text, timestamptz) IS
    'true when time_zone is a whole number of hours from UTC at t, else an error (mirai_daily_packets); internal';

CREATE FUNCTION @extschema@.mirai_day_start(day date, time_zone text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'mirai_day_start' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 50;
COMMENT ON FUNCTION @extschema@.mirai_day_start(date, text) IS
    'day::timestamp AT TIME ZONE time_zone: the start of a day of a zone (the views'' "time")';

-- ---------------------------------------------------------------------
-- Tracking
-- ---------------------------------------------------------------------

-- May the current role read the rollups of tbl (through the handle view)?
CREATE FUNCTION @extschema@.mirai_may_read(tbl regclass, handle regclass) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN COALESCE(pg_catalog.has_table_privilege(tbl::pg_catalog.oid, 'SELECT'), false)
        OR COALESCE(pg_catalog.has_table_privilege(handle::pg_catalog.oid, 'SELECT'), false);
COMMENT ON FUNCTION @extschema@.mirai_may_read(regclass, regclass) IS
    'true when the current role may SELECT from a tracked table or from its per-table rollup view';

-- mirai_track, mirai_untrack and mirai_rebuild are C (src/pg/rollup_admin.c):
-- they check the table's kind and the caller's ownership with the table
-- locked, read the table as its owner, and write the rollups as the
-- extension's owner.
CREATE FUNCTION @extschema@.mirai_track(tbl regclass, time_zone text DEFAULT 'UTC',
                                        on_delete text DEFAULT 'follow',
                                        view_prefix text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'mirai_track' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.mirai_track(regclass, text, text, text) IS
    'maintain Mirai rollups of a packet table (days of time_zone; on_delete ''follow'' or ''keep''), backfilled from its rows';

CREATE FUNCTION @extschema@.mirai_untrack(tbl regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'mirai_untrack' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.mirai_untrack(regclass) IS
    'stop maintaining a table''s rollups: drops its triggers, per-table views and rollups';

CREATE FUNCTION @extschema@.mirai_rebuild(tbl regclass, countries boolean DEFAULT false) RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rebuild' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.mirai_rebuild(regclass, boolean) IS
    'recompute a tracked table''s rollups from its rows, stored countries kept, or with countries every source''s country from the GeoIP database configured now; returns the (day, source, port) entries';

-- When a table goes, its rollups, its registration and its ledger rows go
-- with it, so that nothing is left for a later table of the same OID (or
-- a dump restored elsewhere) to pick up; when a per-table view goes, its
-- table's rollups are readable through the table only.  Runs as the
-- extension's owner: it deletes the extension's rows of the dropped OIDs
-- and nothing else.
CREATE FUNCTION @extschema@.mirai_forget_dropped() RETURNS event_trigger
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
COMMENT ON FUNCTION @extschema@.mirai_forget_dropped() IS
    'internal: forgets the rollups, registration and ledger rows of dropped tables (event trigger on sql_drop)';
REVOKE ALL ON FUNCTION @extschema@.mirai_forget_dropped() FROM PUBLIC;

CREATE EVENT TRIGGER mirai_forget_dropped ON sql_drop
    EXECUTE FUNCTION @extschema@.mirai_forget_dropped();
COMMENT ON EVENT TRIGGER mirai_forget_dropped IS
    'forgets the rollups, registration and ledger rows of dropped tables (mirai_ext)';

-- ---------------------------------------------------------------------
-- Fleets: a tracked partitioned table with foreign partitions (postgres_fdw)
-- keeps the rollups of its local partitions here; its views read its
-- sensors' rollups at each query and merge them (src/pg/fleet_*.c; the
-- other fleet objects are in 45_fleet.sql).  The views below call these for
-- such a table, and the rollup tables for the others.  Each shows what the
-- views would (nothing of a table the role may not read) and reads the
-- sensors through the role's own user mappings.
-- ---------------------------------------------------------------------

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

-- ---------------------------------------------------------------------
-- The views.  Each shows the tracked tables the current role may read (see
-- the top of this file), carries the table as tbl, and has a timestamptz
-- "time" column (start of the day in the table's zone) for time series.
-- ---------------------------------------------------------------------

CREATE VIEW @extschema@.mirai_daily WITH (security_barrier) AS
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

-- mirai_sources in two layers: the rows a role may read behind the security
-- barrier, and the computed columns outside it, where the planner can leave
-- them until after a sort and LIMIT (a barrier subquery computes its whole
-- target list for every row).
CREATE VIEW @extschema@.mirai_sources_rows WITH (security_barrier) AS
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

CREATE VIEW @extschema@.mirai_sources AS
SELECT r.tbl,
       @extschema@.mirai_day_start(r.day, r.time_zone) AS "time",
       r.day,
       r.src,
       r.country,
       r.packets,
       @extschema@.mirai_share(r.packets, r.day_packets) AS share,
       r.first_seen,
       r.last_seen,
       r.ports
  FROM @extschema@.mirai_sources_rows r;
COMMENT ON VIEW @extschema@.mirai_sources IS
    'per day and Mirai source: country (when the packets arrived), packets, share of the day (fraction), first and last packet that day, ports probed';

CREATE VIEW @extschema@.mirai_daily_countries WITH (security_barrier) AS
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

CREATE VIEW @extschema@.mirai_countries AS
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

CREATE VIEW @extschema@.mirai_hourly WITH (security_barrier) AS
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

CREATE AGGREGATE @extschema@.mirai_ports_union(integer[]) (
    SFUNC = pg_catalog.array_cat, STYPE = integer[], INITCOND = '{}');
COMMENT ON AGGREGATE @extschema@.mirai_ports_union(integer[]) IS
    'concatenation of port arrays (mirai_bots makes them distinct)';

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

CREATE VIEW @extschema@.mirai_bots AS
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

CREATE VIEW @extschema@.mirai_new_sources WITH (security_barrier) AS
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

GRANT SELECT ON @extschema@.mirai_daily, @extschema@.mirai_sources, @extschema@.mirai_countries,
                @extschema@.mirai_daily_countries,
                @extschema@.mirai_hourly, @extschema@.mirai_bots, @extschema@.mirai_new_sources
    TO PUBLIC;

-- ---------------------------------------------------------------------
-- Set-returning functions over a time range [from, to): whole days whose
-- start falls in the range; tbl NULL for every tracked table.
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.mirai_daily("from" timestamptz, "to" timestamptz,
                                        of_table regclass DEFAULT NULL)
    RETURNS SETOF @extschema@.mirai_daily
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT * FROM @extschema@.mirai_daily v
         WHERE v."time" >= "from" AND v."time" < "to"
           AND (of_table IS NULL OR v.tbl = of_table)
         ORDER BY v.tbl, v.day;
    END;
COMMENT ON FUNCTION @extschema@.mirai_daily(timestamptz, timestamptz, regclass) IS
    'mirai_daily for the days starting in [from, to), optionally of one table';

CREATE FUNCTION @extschema@.mirai_sources("from" timestamptz, "to" timestamptz,
                                          of_table regclass DEFAULT NULL,
    OUT tbl regclass, OUT src inet, OUT country text, OUT packets bigint,
    OUT share numeric, OUT first_seen timestamptz, OUT last_seen timestamptz,
    OUT days bigint)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'mirai_sources_range' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.mirai_sources(timestamptz, timestamptz, regclass) IS
    'Mirai sources over the days starting in [from, to): country when first seen in the range, packets, share (fraction), first and last seen, days active';

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

CREATE FUNCTION @extschema@.mirai_countries("from" timestamptz, "to" timestamptz,
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
COMMENT ON FUNCTION @extschema@.mirai_countries(timestamptz, timestamptz, regclass) IS
    'source countries ranked by Mirai packets over the days starting in [from, to)';

CREATE FUNCTION @extschema@.mirai_daily_packets(time_zone text, "from" timestamptz, "to" timestamptz,
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
