-- GeoIP lookups against small databases that test/fixtures.sh builds from
-- test/geoip/*.csv with MaxMind's writer.  The fixtures directory is linked
-- as mirai_fixtures in the data directory, and a relative path in the
-- settings is opened from there (a backend's working directory), so the
-- messages below do not depend on where the tests run.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- nothing configured: an error, not NULLs.  (SHOW knows the settings once
-- the library is loaded: by any mirai_ext function, as here, or when they
-- are set in postgresql.conf.)
SELECT geoip_available() AS country, geoip_available('asn') AS asn;
SHOW mirai_ext.geoip_database;
SHOW mirai_ext.geoip_asn_database;
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SELECT geoip_asn('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM geoip_lookup('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SELECT database, path FROM geoip_database_info();

SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-country.mmdb';
SET mirai_ext.geoip_asn_database = 'mirai_fixtures/geoip-asn.mmdb';
SHOW mirai_ext.geoip_database;
SELECT geoip_available() AS country, geoip_available('asn') AS asn;
SELECT database, path, database_type, ip_version, record_layout FROM geoip_database_info();

-- known networks (IPv4, IPv6, IPv4-mapped, 6to4, IPv4-compatible), the
-- edges of a network, a record with a continent but no country, addresses
-- in no network, an inet with a netmask (the address is looked up) and a
-- cidr (its network address is)
CREATE TEMP TABLE addrs (n serial, a inet);
INSERT INTO addrs (a) VALUES
    ('192.0.2.1'), ('192.0.2.0'), ('192.0.2.255'), ('192.0.3.0'), ('192.0.1.255'),
    ('198.51.100.77'), ('203.0.113.127'), ('203.0.113.128'), ('1.0.0.1'), ('100.64.0.1'),
    ('::ffff:192.0.2.1'), ('::ffff:203.0.113.200'), ('::192.0.2.1'), ('2002:c000:0201::1'),
    ('2001:db8::1'), ('2001:db8:0:ffff::1'), ('2001:db8:1:ffff::1'), ('2001:db8:2::1'),
    ('2001:db8:3::1'), ('8.8.8.8'), ('::1'), ('0.0.0.0'), ('255.255.255.255'),
    ('192.0.2.1/8'), ('2001:db8::1/16'), ('192.0.2.0/24'::cidr);
SELECT n, a, geoip_country(a) AS cc, geoip_country_name(a) AS name, geoip_continent(a) AS cont,
       geoip_asn(a) AS asn, geoip_as_org(a) AS org
FROM addrs ORDER BY n;
SELECT n, (geoip_lookup(a)).* FROM addrs ORDER BY n;

-- UTF-8 names come out as UTF-8 ("Côte d'Ivoire"; hex to stay encoding-proof)
SELECT encode(convert_to(geoip_country_name('198.18.0.1'), 'UTF8'), 'hex') AS name_utf8;

-- STRICT: NULL in, NULL out, without touching the database
SELECT geoip_country(NULL) IS NULL AS null_in;

-- through the packet type: the source of a packet
SELECT geoip_country(packet_src(p)) AS src_cc, geoip_country(packet_dst(p)) AS dst_cc
FROM (VALUES ('2024-12-14T03:12:45Z tcp 192.0.2.1:40512 > 198.51.100.7:23 flags=S seq=1 ack=0 win=1 ttl=52 id=1 len=54'::packet),
             ('2024-12-14T00:00:00Z tcp [2001:db8:1::9]:40000 > [2001:db8:2::7]:23 flags=S seq=1 ack=0 win=3 ttl=64 len=74'::packet)) v(p);

-- an IPv4-only database: IPv6 has no answer, IPv4-mapped addresses still do
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-country-v4.mmdb';
SELECT ip_version FROM geoip_database_info() WHERE database = 'country';
SELECT geoip_country('192.0.2.1') AS v4, geoip_country('::ffff:192.0.2.1') AS mapped,
       geoip_country('2001:db8::1') AS v6;
SELECT network FROM geoip_lookup('::ffff:203.0.113.1');

-- IPinfo lite (flat fields, "AS123" numbers) in both settings
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-ipinfo.mmdb';
SET mirai_ext.geoip_asn_database = 'mirai_fixtures/geoip-ipinfo.mmdb';
SELECT database, database_type, record_layout FROM geoip_database_info();
SELECT (geoip_lookup(a)).* FROM (VALUES ('192.0.2.1'::inet), ('2001:db8::5'), ('1.0.0.1')) v(a);

-- only one database configured: the other's columns are NULL
RESET mirai_ext.geoip_asn_database;
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-country.mmdb';
SELECT * FROM geoip_lookup('192.0.2.1');
RESET mirai_ext.geoip_database;
SET mirai_ext.geoip_asn_database = 'mirai_fixtures/geoip-asn.mmdb';
SELECT * FROM geoip_lookup('192.0.2.1');
RESET mirai_ext.geoip_asn_database;

-- bad input: each an ERROR with its SQLSTATE and a hint
SET mirai_ext.geoip_database = 'mirai_fixtures/no-such-file.mmdb';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SELECT geoip_available();
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_database = 'mirai_fixtures';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-not-mmdb.mmdb';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-truncated.mmdb';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-nocountry.mmdb';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-asn.mmdb';
SELECT geoip_country('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SET mirai_ext.geoip_asn_database = 'mirai_fixtures/geoip-country.mmdb';
SELECT geoip_asn('192.0.2.1');
\echo :LAST_ERROR_SQLSTATE
SELECT geoip_available('city');
\echo :LAST_ERROR_SQLSTATE

-- after errors the backend goes on: back to a good file
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-country.mmdb';
SET mirai_ext.geoip_asn_database = 'mirai_fixtures/geoip-asn.mmdb';
SELECT geoip_country('192.0.2.1'), geoip_asn('192.0.2.1');

-- a setting that a transaction rolls back is undone for lookups too
BEGIN;
SET LOCAL mirai_ext.geoip_database = 'mirai_fixtures/geoip-ipinfo.mmdb';
SELECT geoip_country('203.0.113.1') AS ipinfo_has_none;
ROLLBACK;
SELECT geoip_country('203.0.113.1') AS back_to_test_db;

-- the settings are superuser-only, and visible to everyone
CREATE ROLE regress_mirai_geoip;
SET ROLE regress_mirai_geoip;
SET mirai_ext.geoip_database = 'mirai_fixtures/geoip-asn.mmdb';
\echo :LAST_ERROR_SQLSTATE
SHOW mirai_ext.geoip_database;
SELECT geoip_country('192.0.2.1');
RESET ROLE;
DROP ROLE regress_mirai_geoip;

-- markings
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE p.proname LIKE 'geoip%' ORDER BY 1;
