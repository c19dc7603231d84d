-- Roles against the rollups: no role escalates through them, no role
-- fools another, and nothing any role can store breaks pg_dump.
--
-- Each block is an attack an ordinary role can try; a role "logs in" with
-- SET SESSION AUTHORIZATION, so that session_user is that role.
-- test/t/095_security.t runs this same file against an installation
-- updated from 0.1.0 and expects the same output.
\set VERBOSITY default
CREATE ROLE regress_sec_plain LOGIN;
CREATE ROLE regress_sec_owner LOGIN;
CREATE ROLE regress_sec_dash LOGIN;
CREATE SCHEMA sec;
GRANT CREATE, USAGE ON SCHEMA sec TO regress_sec_plain, regress_sec_owner;
GRANT USAGE ON SCHEMA sec TO regress_sec_dash;

-- the internal helpers are not executable by PUBLIC
SELECT p.proname, has_function_privilege('regress_sec_plain', p.oid, 'EXECUTE') AS plain_may_execute
  FROM pg_proc p JOIN pg_extension e ON e.extnamespace = p.pronamespace AND e.extname = 'mirai_ext'
 WHERE p.proname IN ('mirai_rollup_admin', 'mirai_rollup_trigger', 'mirai_forget_dropped',
                     'mirai_track', 'mirai_untrack', 'mirai_rebuild',
                     'mirai_bots_handler', 'mirai_fleet_support')
 ORDER BY 1;
-- nor may an ordinary role give the planner support function to a function
-- of its own (PostgreSQL asks a superuser for SUPPORT)
SET SESSION AUTHORIZATION regress_sec_plain;
CREATE FUNCTION sec.own_fleet(regclass) RETURNS boolean LANGUAGE sql
    SUPPORT mirai_fleet_support AS 'SELECT true';
RESET SESSION AUTHORIZATION;

-- route 1: a temporary view whose column calls a function that makes its
-- caller superuser, handed to the rollup functions
SET SESSION AUTHORIZATION regress_sec_plain;
CREATE FUNCTION pg_temp.evil() RETURNS packet LANGUAGE plpgsql AS
$$BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', session_user); RETURN NULL; END$$;
CREATE TEMP VIEW v AS SELECT pg_temp.evil() AS p;
SELECT mirai_rollup_admin('v'::regclass, 'track', 'UTC', 'follow', 'v', 'v', 'v');
SELECT mirai_track('v');
SELECT mirai_rebuild('v');
CREATE MATERIALIZED VIEW sec.mv AS SELECT NULL::packet AS p;
SELECT mirai_track('sec.mv');
-- ... and a table of the role's own whose policy runs a function:
-- mirai_track reads it as its owner, in a security-restricted operation
-- (as VACUUM does), where it cannot change role or leave objects behind
CREATE TABLE sec.plain_cap (p packet);
CREATE TABLE sec.plain_log (who name, tried text, outcome text);
CREATE FUNCTION sec.spy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        SET ROLE NONE;
        INSERT INTO sec.plain_log VALUES (current_user, 'SET ROLE', 'done');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO sec.plain_log VALUES (current_user, 'SET ROLE', SQLERRM);
    END;
    BEGIN
        CREATE TEMP TABLE spy_was_here ();
        INSERT INTO sec.plain_log VALUES (current_user, 'CREATE TEMP TABLE', 'done');
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO sec.plain_log VALUES (current_user, 'CREATE TEMP TABLE', SQLERRM);
    END;
    RETURN true;
END$$;
INSERT INTO sec.plain_cap VALUES
    ('2024-12-14T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54');
CREATE POLICY spy ON sec.plain_cap USING (sec.spy());
ALTER TABLE sec.plain_cap ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT mirai_track('sec.plain_cap');
SELECT DISTINCT who, tried, outcome FROM sec.plain_log ORDER BY tried;
SELECT day, packets, sources FROM mirai_daily WHERE tbl = 'sec.plain_cap'::regclass;
-- nor can it attach the rollup trigger itself
CREATE TABLE sec.plain_other (p packet);
CREATE TRIGGER t AFTER INSERT ON sec.plain_other REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION mirai_rollup_trigger();
RESET SESSION AUTHORIZATION;
SELECT rolname, rolsuper FROM pg_roles WHERE rolname = 'regress_sec_plain';

-- route 2: the owner of a tracked table turns it into a view whose column
-- makes its caller superuser, and asks for a rebuild
SET SESSION AUTHORIZATION regress_sec_owner;
CREATE TABLE sec.cap (p packet);
SELECT mirai_track('sec.cap');
DROP TRIGGER mirai_rollup_insert ON sec.cap;
DROP TRIGGER mirai_rollup_update ON sec.cap;
DROP TRIGGER mirai_rollup_delete ON sec.cap;
DROP TRIGGER mirai_rollup_truncate ON sec.cap;
RESET SESSION AUTHORIZATION;
VACUUM sec.cap;
SET SESSION AUTHORIZATION regress_sec_owner;
CREATE FUNCTION sec.evil2() RETURNS packet LANGUAGE plpgsql AS
$$BEGIN EXECUTE format('ALTER ROLE %I SUPERUSER', session_user); RETURN NULL; END$$;
CREATE RULE "_RETURN" AS ON SELECT TO sec.cap DO INSTEAD SELECT sec.evil2() AS p;
SELECT relkind FROM pg_class WHERE oid = 'sec.cap'::regclass;
SELECT mirai_rebuild('sec.cap');
-- untracking it still works, and drops only what mirai_track made
SELECT mirai_untrack('sec.cap');
SELECT count(*) AS registered FROM mirai_tracked WHERE tbl = 'sec.cap'::regclass;
RESET SESSION AUTHORIZATION;
SELECT rolname, rolsuper FROM pg_roles WHERE rolname = 'regress_sec_owner';

-- only the owner tracks, untracks or rebuilds a table
SET SESSION AUTHORIZATION regress_sec_owner;
CREATE TABLE sec.cap2 (p packet, note text);
SELECT mirai_track('sec.cap2', on_delete => 'follow');
GRANT SELECT ON sec.cap2 TO regress_sec_dash;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_sec_plain;
SELECT mirai_untrack('sec.cap2');
SELECT mirai_rebuild('sec.cap2');
RESET SESSION AUTHORIZATION;

-- per-table views: made by the extension, owned by the table's owner;
-- dropping one leaves the rollups readable through the table only, and
-- mirai_untrack drops the others
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner
  FROM mirai_tracked t, unnest(ARRAY[t.daily_view, t.sources_view, t.countries_view]) v
  JOIN pg_class c ON c.oid = v
 WHERE t.tbl = 'sec.cap2'::regclass ORDER BY 1;
SET SESSION AUTHORIZATION regress_sec_owner;
DROP VIEW sec.cap2_mirai_sources;
RESET SESSION AUTHORIZATION;
SELECT sources_view FROM mirai_tracked WHERE tbl = 'sec.cap2'::regclass;

-- UPDATE: rollups that follow deletes follow updates; other columns cost nothing
SET SESSION AUTHORIZATION regress_sec_owner;
INSERT INTO sec.cap2 VALUES
    ('2024-12-14T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54', 'a'),
    ('2024-12-14T01:00:00Z tcp 192.0.2.2:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54', 'b');
UPDATE sec.cap2 SET note = 'c';
UPDATE sec.cap2 SET p = '2024-12-15T00:00:00Z tcp 192.0.2.3:40000 > 203.0.113.7:2323 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54'
 WHERE note = 'c' AND packet_src(p) = '192.0.2.1';
SELECT day, src, packets, ports FROM mirai_sources WHERE tbl = 'sec.cap2'::regclass ORDER BY day, src;
SELECT "time", packets, all_packets FROM mirai_hourly WHERE tbl = 'sec.cap2'::regclass ORDER BY 1;
-- ... and a table whose rollups keep history refuses changed packets
CREATE TABLE sec.hist (p packet, note text);
SELECT mirai_track('sec.hist', on_delete => 'keep');
INSERT INTO sec.hist VALUES
    ('2024-12-14T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54', 'a');
UPDATE sec.hist SET note = 'b';
UPDATE sec.hist SET p = '2024-12-15T00:00:00Z tcp 192.0.2.3:40000 > 203.0.113.7:2323 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54';
SELECT day, packets FROM mirai_daily WHERE tbl = 'sec.hist'::regclass;
RESET SESSION AUTHORIZATION;

-- a packet near the earliest time a packet can have lands in its own hour
SET SESSION AUTHORIZATION regress_sec_owner;
INSERT INTO sec.cap2 VALUES
    ('1677-09-21T00:12:43.145224192Z tcp 192.0.2.4:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54', 'min');
SELECT "time" AT TIME ZONE 'UTC' AS utc_hour, packets FROM mirai_hourly WHERE tbl = 'sec.cap2'::regclass ORDER BY 1 LIMIT 1;
SELECT day, packets FROM mirai_daily WHERE tbl = 'sec.cap2'::regclass ORDER BY 1 LIMIT 1;
RESET SESSION AUTHORIZATION;

-- view names are at most 63 bytes, not characters
SET SESSION AUTHORIZATION regress_sec_owner;
CREATE TABLE sec.wide (p packet);
SELECT mirai_track('sec.wide', view_prefix => repeat('é', 25));
SELECT count(*) AS views_made FROM pg_class WHERE relname LIKE 'éé%';
RESET SESSION AUTHORIZATION;

-- crafted entries: any role may hand mirai_day_sources any bytes; what it
-- accepts it can return, and nothing it returns breaks a dump
SET SESSION AUTHORIZATION regress_sec_plain;
-- one valid entry: 192.0.2.1, port 23, 1 packet at the base time, no country
SELECT * FROM mirai_day_sources('\x0201000000000000000000818480800c1701000000');
-- times beyond what a packet can have: an entry's, the base, the last
SELECT * FROM mirai_day_sources('\x0201000000000000000000001701ffffffffffffffff7f0000');
SELECT * FROM mirai_day_sources('\x0201004000000000000000818480800c1701000000');
SELECT * FROM mirai_day_sources('\x0201000020c49ba5e353f7818480800c170100ffffffffffffffff7f00');
-- packets that sum beyond bigint
SELECT * FROM mirai_day_sources('\x020200000000000000000001178080808080808080400000000018808080808080808040000000');
-- zero packets, unsorted entries, a country that is not printable
SELECT * FROM mirai_day_sources('\x0201000000000000000000011700000000');
SELECT * FROM mirai_day_sources('\x0202000000000000000000011701000000001701000000');
SELECT * FROM mirai_day_sources('\x020101020a0d0000000000000000011701000001');
-- version 1 with a last time before the first
SELECT * FROM mirai_day_sources('\x0100000000000001c00002010017000000000000000100000000000007d000000000000003e80000000000000000');
CREATE TABLE sec.stolen AS SELECT * FROM mirai_day_sources('\x0201000000000000000000001701ffffffffffffffff7f0000');
RESET SESSION AUTHORIZATION;

-- mirai_bots (its scan, every way of it), the functions that fold every
-- source (mirai_sources(from, to), mirai_top_sources) and the lookup
-- mirai_source read the rollups as the extension's owner: a role that may
-- not read the table gets nothing, a view of its own is not a tracked
-- table, and its own operators and functions on search_path are never
-- called
SET SESSION AUTHORIZATION regress_sec_owner;
CREATE TABLE sec.bots_cap (p packet);
SELECT mirai_track('sec.bots_cap');
INSERT INTO sec.bots_cap VALUES
    ('2024-12-14T00:00:00Z tcp 192.0.2.8:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54'),
    ('2024-12-15T00:00:00Z tcp 192.0.2.9:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=50 id=1 len=54');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_sec_plain;
SELECT (SELECT count(*) FROM mirai_bots WHERE tbl = 'sec.bots_cap'::regclass) AS bots,
       (SELECT count(*) FROM mirai_bots WHERE src = '192.0.2.8') AS bots_lookup,
       (SELECT count(*) FROM (SELECT * FROM mirai_bots ORDER BY packets DESC LIMIT 1) b
         WHERE tbl = 'sec.bots_cap'::regclass) AS bots_best,
       (SELECT count(*) FROM mirai_sources('-infinity', 'infinity', 'sec.bots_cap')) AS sources,
       (SELECT count(*) FROM mirai_top_sources('-infinity', 'infinity', 10, 'sec.bots_cap')) AS top,
       (SELECT count(*) FROM mirai_source('192.0.2.8')) AS lookup,
       (SELECT count(*) FROM mirai_source('192.0.2.8', of_table => 'sec.bots_cap')) AS lookup_of_it;
CREATE TEMP VIEW bots_view AS SELECT p FROM sec.plain_cap;
SELECT count(*) AS of_a_view FROM mirai_bots WHERE tbl = 'bots_view'::regclass;
-- the view has no barrier: its scan returns only what the role may read, so
-- a cheap function of the role's own sees nothing else, in every way
CREATE FUNCTION sec.peek(regclass, inet) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$BEGIN INSERT INTO sec.plain_log VALUES (current_user, 'peek', $1::text); RETURN true; END$$;
SELECT count(*) AS peeked FROM mirai_bots WHERE sec.peek(tbl, src);
SELECT count(*) AS peeked_lookup FROM mirai_bots WHERE src = '192.0.2.8' AND sec.peek(tbl, src);
SELECT count(*) AS peeked_best
  FROM (SELECT * FROM mirai_bots WHERE sec.peek(tbl, src) ORDER BY packets DESC LIMIT 5) b;
SELECT count(*) AS peeks, count(*) FILTER (WHERE outcome = 'sec.bots_cap') AS of_bots_cap
  FROM sec.plain_log WHERE tried = 'peek';
SELECT count(*) AS lookup_of_a_view FROM mirai_source('192.0.2.1', of_table => 'bots_view');
CREATE FUNCTION sec.hijack_oid(oid, oid) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN INSERT INTO sec.plain_log VALUES (current_user, 'hijack', 'oid ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE FUNCTION sec.hijack_date(date, date) RETURNS boolean LANGUAGE plpgsql AS
$$BEGIN INSERT INTO sec.plain_log VALUES (current_user, 'hijack', 'date ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR sec.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = sec.hijack_oid);
CREATE OPERATOR sec.= (LEFTARG = date, RIGHTARG = date, FUNCTION = sec.hijack_date);
CREATE FUNCTION sec.sum(bigint) RETURNS bigint LANGUAGE plpgsql AS
$$BEGIN INSERT INTO sec.plain_log VALUES (current_user, 'hijack', 'sum'); RETURN $1; END$$;
SET search_path = sec, pg_catalog, public;
SELECT src, packets, days FROM mirai_bots WHERE tbl OPERATOR(pg_catalog.=) 'sec.plain_cap'::regclass ORDER BY src;
SELECT src, packets, days FROM mirai_bots WHERE tbl OPERATOR(pg_catalog.=) 'sec.plain_cap'::regclass ORDER BY packets DESC, src LIMIT 2;
SELECT src, packets, days FROM mirai_bots WHERE src = (SELECT min(src) FROM mirai_bots WHERE tbl OPERATOR(pg_catalog.=) 'sec.plain_cap'::regclass);
SELECT src, packets, days FROM mirai_sources('-infinity', 'infinity', 'sec.plain_cap');
SELECT src, packets, days FROM mirai_top_sources('-infinity', 'infinity', 1, 'sec.plain_cap');
SELECT src, packets, days FROM mirai_source((SELECT min(src) FROM mirai_bots WHERE tbl OPERATOR(pg_catalog.=) 'sec.plain_cap'::regclass));
RESET search_path;
SELECT count(*) AS hijacked FROM sec.plain_log WHERE tried = 'hijack';
RESET SESSION AUTHORIZATION;

-- a dropped table takes its rollups, registration and ledger rows along
SELECT 'sec.cap2'::regclass::oid AS cap2_oid \gset
INSERT INTO mirai_load_ledger (table_name, file_name, file_size, content_hash, packets, options)
    VALUES ('sec.cap2', 'f.pcap', 1, decode(repeat('ab', 32), 'hex'), 1, '--column=p');
SET SESSION AUTHORIZATION regress_sec_owner;
DROP TABLE sec.cap2 CASCADE;
RESET SESSION AUTHORIZATION;
SELECT (SELECT count(*) FROM mirai_tracked WHERE tbl::oid = :cap2_oid) AS tracked,
       (SELECT count(*) FROM mirai_rollup_day WHERE tbl::oid = :cap2_oid) AS days,
       (SELECT count(*) FROM mirai_rollup_hour WHERE tbl::oid = :cap2_oid) AS hours,
       (SELECT count(*) FROM mirai_load_ledger WHERE table_name::oid = :cap2_oid) AS ledger;

DROP SCHEMA sec CASCADE;
DROP OWNED BY regress_sec_plain, regress_sec_owner, regress_sec_dash;
DROP ROLE regress_sec_plain, regress_sec_owner, regress_sec_dash;
