-- Who may read server files, who may install the extension, and a hostile
-- search_path.
--
-- pcap_read opens files on the server as the server's user, like COPY FROM
-- a file: only superusers and roles with the privileges of
-- pg_read_server_files may call it (checked in C, so a GRANT EXECUTE cannot
-- widen it; SQLSTATE 42501 otherwise).  The extension is not trusted
-- (mirai_ext.control: trusted = false): it is C code that reads server
-- files and parses untrusted bytes, so only a superuser may create it.
\set VERBOSITY default
CREATE ROLE regress_mirai_plain LOGIN;
CREATE ROLE regress_mirai_reader LOGIN IN ROLE pg_read_server_files;
CREATE ROLE regress_mirai_noinherit LOGIN NOINHERIT IN ROLE pg_read_server_files;
CREATE ROLE regress_mirai_indirect LOGIN IN ROLE regress_mirai_reader;

-- a plain role: 42501, whatever EXECUTE says
SET ROLE regress_mirai_plain;
SELECT has_function_privilege('pcap_read(text, text, bigint, text)', 'EXECUTE') AS may_execute;
SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pcap_read('/etc/passwd');
\echo :LAST_ERROR_SQLSTATE
-- the type itself needs no privilege
SELECT packet_dst('2024-12-14T00:00:00Z tcp 192.0.2.1:1 > 203.0.113.7:23 flags=S seq=1 ack=0 win=1 ttl=1 id=1 len=54'::packet);
RESET ROLE;

-- members of pg_read_server_files, directly or through another role
SET ROLE regress_mirai_reader;
SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap');
RESET ROLE;
SET ROLE regress_mirai_indirect;
SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap');
RESET ROLE;
-- a NOINHERIT member has the privileges only after SET ROLE
SET ROLE regress_mirai_noinherit;
SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap');
SET ROLE pg_read_server_files;
SELECT count(*) FROM pcap_read('mirai_fixtures/ether.pcap');
RESET ROLE;

-- CREATE EXTENSION, in a database of its own
CREATE DATABASE regress_mirai_priv;
GRANT CREATE ON DATABASE regress_mirai_priv TO regress_mirai_plain;
\set regress_db :DBNAME
\c regress_mirai_priv
SELECT name, version, superuser, trusted FROM pg_catalog.pg_available_extension_versions
WHERE name = 'mirai_ext';
SET ROLE regress_mirai_plain;
CREATE SCHEMA plain_owned;
CREATE EXTENSION mirai_ext SCHEMA plain_owned;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a hostile search_path: a schema placed first that shadows what the
-- install script names (types, selectivity functions, operators) and the
-- functions' own names.  CREATE EXTENSION runs its script with
-- search_path = the target schema (pg_catalog first), and the script
-- qualifies everything with @extschema@ or pg_catalog, so none of it is
-- picked up.
CREATE SCHEMA hostile;
CREATE DOMAIN hostile.inet AS text;
CREATE DOMAIN hostile.timestamptz AS text;
-- (selectivity functions that compute something else: neqsel for eqsel)
CREATE FUNCTION hostile.eqsel(internal, oid, internal, integer) RETURNS float8
    LANGUAGE internal STABLE AS 'neqsel';
CREATE FUNCTION hostile.scalarltsel(internal, oid, internal, integer) RETURNS float8
    LANGUAGE internal STABLE AS 'scalargtsel';
CREATE FUNCTION hostile.text(hostile.inet) RETURNS text AS 'SELECT ''hijacked''' LANGUAGE sql;
CREATE FUNCTION hostile.is_mirai(anyelement) RETURNS boolean AS 'SELECT true' LANGUAGE sql;
CREATE FUNCTION hostile.pcap_read(text) RETURNS SETOF int AS 'SELECT 1' LANGUAGE sql;
SET search_path = hostile, pg_catalog, public;
CREATE SCHEMA mirai;
CREATE EXTENSION mirai_ext SCHEMA mirai;
-- nothing of the extension depends on anything in the hostile schema
SELECT pg_catalog.pg_describe_object(d2.refclassid, d2.refobjid, 0) AS hostile_dependency
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    AND d.refobjid = e.oid AND e.extname = 'mirai_ext'
JOIN pg_catalog.pg_depend d2 ON d2.classid = d.classid AND d2.objid = d.objid
WHERE (pg_catalog.pg_identify_object(d2.refclassid, d2.refobjid, 0)).schema = 'hostile';
SELECT pg_catalog.count(*) > 40 AS many_members,
       pg_catalog.bool_and((pg_catalog.pg_identify_object(d.classid, d.objid, 0)).schema = 'mirai') AS all_in_mirai
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
    AND d.refobjid = e.oid AND e.extname = 'mirai_ext'
WHERE d.deptype = 'e';
SELECT o.oprname, o.oprrest, o.oprjoin
FROM pg_catalog.pg_operator o
WHERE o.oprnamespace = 'mirai'::pg_catalog.regnamespace
ORDER BY o.oprname;
-- calls, qualified, with the hostile path still set, do the right thing
SELECT pg_catalog.pg_typeof(mirai.packet_dst(p)) AS dst_type,
       mirai.packet_dst(p)::pg_catalog.text AS dst, mirai.is_mirai(p)
FROM (SELECT '2024-12-14T00:00:00Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=1 ttl=1 id=1 len=54'::mirai.packet AS p) s;
SELECT pg_catalog.count(*) FROM mirai.pcap_read('mirai_fixtures/ether.pcap');
-- an object planted in the target schema under a name the script creates
-- makes CREATE EXTENSION fail, it is never taken over (no CREATE OR REPLACE)
DROP EXTENSION mirai_ext;
CREATE FUNCTION mirai.pcap_read(text, text, bigint, text) RETURNS SETOF int
    AS 'SELECT 1' LANGUAGE sql;
CREATE EXTENSION mirai_ext SCHEMA mirai;
RESET search_path;

\c :regress_db
DROP DATABASE regress_mirai_priv;
DROP ROLE regress_mirai_plain, regress_mirai_reader, regress_mirai_noinherit, regress_mirai_indirect;
