
-- ---------------------------------------------------------------------
-- Scanner dimension of the rollups: packets and distinct sources per day
-- and scanner fingerprint (the first rule of mirai_scanner_rules a packet
-- matches, as packet_scanner answers), kept by the same statement
-- triggers as the other rollups (src/pg/rollup_scanner.c)
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
