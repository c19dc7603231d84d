-- ---------------------------------------------------------------------
-- Fleets: a coordinator reading its sensors' rollups
--
-- A sensor tracks its own table (mirai_track) and keeps its rollups.  A
-- coordinator has a partitioned table with one postgres_fdw foreign
-- partition per sensor (and local partitions, maybe) and tracks it: its
-- views read the sensors' rollups at each query, through postgres_fdw's
-- connections with the user mapping of the role that queries, and merge
-- them with the rollups of its local partitions (src/pg/fleet_*.c, the
-- functions the views call are in 40_rollup.sql).
--
-- The coordinator's local partitions are counted by row triggers: a
-- statement that routes rows to a foreign partition cannot collect
-- transition tables, and those rows are counted by the sensor's own
-- triggers when they reach its table.
-- ---------------------------------------------------------------------

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
