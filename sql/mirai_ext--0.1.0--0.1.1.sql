-- mirai_ext 0.1.0 -> 0.1.1: the security release.
--
-- An installation updated with ALTER EXTENSION mirai_ext UPDATE has exactly
-- the objects, grants and guarantees of a fresh 0.1.1 (test/t/090_release.t).
\echo Use "ALTER EXTENSION mirai_ext UPDATE TO '0.1.1'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Rollups and tracking
-- ---------------------------------------------------------------------

-- mirai_track, mirai_untrack and mirai_rebuild become C: each checks the
-- table's kind and the caller's ownership with the table locked, reads the
-- table as its owner under SECURITY_RESTRICTED_OPERATION and writes the
-- rollups as the extension's owner (src/pg/rollup_admin.c).
CREATE OR REPLACE FUNCTION @extschema@.mirai_track(tbl regclass, time_zone text DEFAULT 'UTC',
                                                   on_delete text DEFAULT 'follow',
                                                   view_prefix text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'mirai_track' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION @extschema@.mirai_untrack(tbl regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'mirai_untrack' LANGUAGE C VOLATILE STRICT;
CREATE OR REPLACE FUNCTION @extschema@.mirai_rebuild(tbl regclass) RETURNS bigint
    AS 'MODULE_PATHNAME', 'mirai_rebuild' LANGUAGE C VOLATILE STRICT;

-- Only the extension attaches the trigger to a table, and the helper the
-- 0.1.0 functions called is internal.
COMMENT ON FUNCTION @extschema@.mirai_rollup_trigger() IS
    'statement trigger of tracked tables: folds the transition tables into the rollups (made by mirai_track)';
COMMENT ON FUNCTION @extschema@.mirai_rollup_admin(regclass, text, text, text, regclass, regclass, regclass) IS
    'internal: what mirai_track, mirai_untrack and mirai_rebuild of version 0.1.0 called; the caller must own the table';
REVOKE ALL ON FUNCTION @extschema@.mirai_rollup_trigger(),
    @extschema@.mirai_rollup_admin(regclass, text, text, text, regclass, regclass, regclass)
    FROM PUBLIC;

-- Dropped tables take their rollups, registration and ledger rows along.
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

-- What 0.1.0 left behind: rows of tables dropped since ...
DELETE FROM @extschema@.mirai_rollup_day d
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) d.tbl);
DELETE FROM @extschema@.mirai_rollup_hour h
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) h.tbl);
DELETE FROM @extschema@.mirai_tracked t
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.tbl);
DELETE FROM @extschema@.mirai_load_ledger l
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) l.table_name);
-- ... and registered views that mirai_track did not make for their table
-- (its view of the same kind, on the table and the extension's shared
-- view): such a table's rollups are readable through the table only.
UPDATE @extschema@.mirai_tracked t SET daily_view = t.tbl
 WHERE t.daily_view OPERATOR(pg_catalog.<>) t.tbl AND (
       SELECT pg_catalog.count(DISTINCT d.refobjid)
         FROM pg_catalog.pg_rewrite r
         JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
          AND d.objid OPERATOR(pg_catalog.=) r.oid
        WHERE r.ev_class OPERATOR(pg_catalog.=) t.daily_view
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[t.tbl, '@extschema@.mirai_daily'::pg_catalog.regclass])
       ) OPERATOR(pg_catalog.<>) 2;
UPDATE @extschema@.mirai_tracked t SET sources_view = t.tbl
 WHERE t.sources_view OPERATOR(pg_catalog.<>) t.tbl AND (
       SELECT pg_catalog.count(DISTINCT d.refobjid)
         FROM pg_catalog.pg_rewrite r
         JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
          AND d.objid OPERATOR(pg_catalog.=) r.oid
        WHERE r.ev_class OPERATOR(pg_catalog.=) t.sources_view
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[t.tbl, '@extschema@.mirai_sources'::pg_catalog.regclass])
       ) OPERATOR(pg_catalog.<>) 2;
UPDATE @extschema@.mirai_tracked t SET countries_view = t.tbl
 WHERE t.countries_view OPERATOR(pg_catalog.<>) t.tbl AND (
       SELECT pg_catalog.count(DISTINCT d.refobjid)
         FROM pg_catalog.pg_rewrite r
         JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
          AND d.objid OPERATOR(pg_catalog.=) r.oid
        WHERE r.ev_class OPERATOR(pg_catalog.=) t.countries_view
          AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[t.tbl, '@extschema@.mirai_countries'::pg_catalog.regclass])
       ) OPERATOR(pg_catalog.<>) 2;

-- UPDATE is tracked from 0.1.1 on: every tracked table whose insert
-- trigger is in place gets the update trigger mirai_track now makes.
DO $do$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT t.tbl FROM @extschema@.mirai_tracked t
          JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tbl
         WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
           AND EXISTS (SELECT FROM pg_catalog.pg_trigger g
                        WHERE g.tgrelid OPERATOR(pg_catalog.=) t.tbl
                          AND g.tgname OPERATOR(pg_catalog.=) 'mirai_rollup_insert')
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger g
                            WHERE g.tgrelid OPERATOR(pg_catalog.=) t.tbl
                              AND g.tgname OPERATOR(pg_catalog.=) 'mirai_rollup_update')
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE TRIGGER mirai_rollup_update AFTER UPDATE ON %s '
            'REFERENCING OLD TABLE AS mirai_old NEW TABLE AS mirai_new '
            'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mirai_rollup_trigger()', r.tbl);
    END LOOP;
END
$do$;

-- ---------------------------------------------------------------------
-- The mirai_load ledger
-- ---------------------------------------------------------------------

-- A rerun skips a file only for a row with the same options, written by
-- the loading role itself or by the table's owner; roles that may only
-- INSERT into a table see those rows alone.  The new column comes last,
-- as in the install script.
ALTER TABLE @extschema@.mirai_load_ledger ADD COLUMN options text;

-- Rows of mirai_load 0.1.0 get the options it loaded with: its filter
-- column has --filter and --mirai-only as given; --on-error=skip changed
-- the rows only when it skipped damage, which the counts show; and 0.1.0
-- needed --column only for a table with several packet columns, so the
-- column is the table's one packet column, or "?" (unknown: a rerun loads
-- the file again) when it has several.
UPDATE @extschema@.mirai_load_ledger l
   SET options = '--column='
       OPERATOR(pg_catalog.||) COALESCE(
           (SELECT pg_catalog.quote_ident(pg_catalog.min(a.attname::pg_catalog.text))
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
             WHERE a.attrelid OPERATOR(pg_catalog.=) l.table_name
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
               AND a.attgenerated OPERATOR(pg_catalog.=) ''
               AND (a.atttypid OPERATOR(pg_catalog.=) '@extschema@.packet'::pg_catalog.regtype
                    OR (t.typtype OPERATOR(pg_catalog.=) 'd'
                        AND t.typbasetype OPERATOR(pg_catalog.=) '@extschema@.packet'::pg_catalog.regtype))
            HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=) 1),
           '?')
       OPERATOR(pg_catalog.||) COALESCE(' ' OPERATOR(pg_catalog.||) l.filter, '')
       OPERATOR(pg_catalog.||) CASE WHEN l.damaged_regions OPERATOR(pg_catalog.>) 0
                                      OR l.malformed OPERATOR(pg_catalog.>) 0
                                    THEN ' --on-error=skip' ELSE '' END;
ALTER TABLE @extschema@.mirai_load_ledger ALTER COLUMN options SET NOT NULL;
COMMENT ON COLUMN @extschema@.mirai_load_ledger.options IS
    'what decides the rows a file gives: --column=(the packet column), then --filter and --mirai-only as given, then --on-error=skip when it skipped damage; a rerun skips the file only with the same options';

DROP INDEX @extschema@.mirai_load_ledger_once;
CREATE UNIQUE INDEX mirai_load_ledger_once
    ON @extschema@.mirai_load_ledger (table_name, content_hash, loaded_by, options) WHERE NOT forced;

ALTER POLICY mirai_load_ledger_read ON @extschema@.mirai_load_ledger
    USING (pg_catalog.has_table_privilege(table_name, 'SELECT')
           OR (pg_catalog.has_table_privilege(table_name, 'INSERT')
               AND (loaded_by OPERATOR(pg_catalog.=) CURRENT_USER
                    OR loaded_by OPERATOR(pg_catalog.=)
                       (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                        WHERE c.oid OPERATOR(pg_catalog.=) table_name))));
