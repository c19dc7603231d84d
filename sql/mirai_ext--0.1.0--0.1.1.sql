-- mirai_ext 0.1.0 -> 0.1.1: the security release.
--
-- An installation updated with ALTER EXTENSION mirai_ext UPDATE has exactly
-- the objects, grants and guarantees of a fresh 0.1.1 (test/t/090_release.t).
\echo Use "ALTER EXTENSION mirai_ext UPDATE TO '0.1.1'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Rollups and tracking
-- ---------------------------------------------------------------------

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
