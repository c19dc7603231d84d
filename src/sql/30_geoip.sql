-- ---------------------------------------------------------------------
-- GeoIP: country, continent and autonomous system of an address, from
-- MaxMind DB (.mmdb) files named by the settings mirai_ext.geoip_database
-- (country) and mirai_ext.geoip_asn_database (ASN).  STABLE: the answer
-- depends on a file that may be replaced; within one statement it is not.
-- An IPv4-mapped IPv6 address is looked up as its IPv4 address; the
-- netmask of an inet is ignored (the address itself is looked up).
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.geoip_country(inet) RETURNS text
    AS 'MODULE_PATHNAME', 'geoip_country' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_country(inet) IS
    'ISO 3166-1 alpha-2 country code of an address from the database in mirai_ext.geoip_database; NULL where it has no answer';

CREATE FUNCTION @extschema@.geoip_country_name(inet) RETURNS text
    AS 'MODULE_PATHNAME', 'geoip_country_name' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_country_name(inet) IS
    'English name of the country of an address (mirai_ext.geoip_database); NULL where it has no answer';

CREATE FUNCTION @extschema@.geoip_continent(inet) RETURNS text
    AS 'MODULE_PATHNAME', 'geoip_continent' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_continent(inet) IS
    'continent code of an address (AF, AN, AS, EU, NA, OC, SA) from mirai_ext.geoip_database; NULL where it has no answer';

CREATE FUNCTION @extschema@.geoip_asn(inet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'geoip_asn' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_asn(inet) IS
    'autonomous system number of an address from the database in mirai_ext.geoip_asn_database; NULL where it has no answer';

CREATE FUNCTION @extschema@.geoip_as_org(inet) RETURNS text
    AS 'MODULE_PATHNAME', 'geoip_as_org' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_as_org(inet) IS
    'organisation of the autonomous system of an address (mirai_ext.geoip_asn_database); NULL where it has no answer';

CREATE FUNCTION @extschema@.geoip_lookup(inet,
    OUT country text, OUT country_name text, OUT continent text,
    OUT registered_country text, OUT network cidr,
    OUT asn bigint, OUT as_org text)
    AS 'MODULE_PATHNAME', 'geoip_lookup' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_lookup(inet) IS
    'every GeoIP field of an address as one row, from whichever of the two databases are configured (network: the country database''s block)';

CREATE FUNCTION @extschema@.geoip_available(database text DEFAULT 'country') RETURNS boolean
    AS 'MODULE_PATHNAME', 'geoip_available' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.geoip_available(text) IS
    'false when the ''country'' (or ''asn'') database setting is empty, true when the file is usable; a configured but unusable file raises its error';

CREATE FUNCTION @extschema@.geoip_database_info(
    OUT database text, OUT path text, OUT database_type text, OUT build_time timestamptz,
    OUT ip_version integer, OUT node_count bigint, OUT record_layout text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'geoip_database_info' LANGUAGE C STABLE PARALLEL SAFE ROWS 2;
COMMENT ON FUNCTION @extschema@.geoip_database_info() IS
    'the configured GeoIP databases: path, type, build time (how old the data is), IP version, record layout';
