
-- ---------------------------------------------------------------------
-- Scanner fingerprints: the decoder's catalogue (src/decode/mx_scanner.c)
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
