-- mirai_ext install script.  Built from src/sql/*.sql by the Makefile.
\echo Use "CREATE EXTENSION mirai_ext" to load this file. \quit
-- ---------------------------------------------------------------------
-- The packet type
-- ---------------------------------------------------------------------

CREATE TYPE @extschema@.packet;

CREATE FUNCTION @extschema@.packet_in(cstring) RETURNS @extschema@.packet
    AS 'MODULE_PATHNAME', 'packet_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 70;
CREATE FUNCTION @extschema@.packet_out(@extschema@.packet) RETURNS cstring
    AS 'MODULE_PATHNAME', 'packet_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 150;
CREATE FUNCTION @extschema@.packet_recv(internal) RETURNS @extschema@.packet
    AS 'MODULE_PATHNAME', 'packet_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_send(@extschema@.packet) RETURNS bytea
    AS 'MODULE_PATHNAME', 'packet_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.packet (
    INPUT = @extschema@.packet_in,
    OUTPUT = @extschema@.packet_out,
    RECEIVE = @extschema@.packet_recv,
    SEND = @extschema@.packet_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = main
);
COMMENT ON TYPE @extschema@.packet IS
    'one captured packet''s headers: time (ns), addresses, protocol, ports, TCP fields, TTL, IP id, lengths, VLAN';

-- The planner's estimate of the rows a packet predicate keeps: from
-- statistics on the call, else from the packet column's own statistics
-- (README, "Parallel scans and the planner").
CREATE FUNCTION @extschema@.packet_predicate_support(internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'packet_predicate_support' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.packet_predicate_support(internal) IS
    'planner support of is_mirai, packet_is_mirai and packet_is_fragment: the rows they keep, from statistics; internal';

-- Accessors.  NULL where the packet has no such field (no ports on ICMP or
-- a non-first fragment, no sequence number outside TCP, no IP id in IPv6).
-- COST: the time of a call in units of int4pl's (which costs 1), measured by
-- test/bench/costs.sh (figures in test/bench/README.md), rounded.
CREATE FUNCTION @extschema@.packet_time(@extschema@.packet) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'packet_time' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_time(@extschema@.packet) IS
    'capture time, rounded down to the microsecond';
CREATE FUNCTION @extschema@.packet_time_ns(@extschema@.packet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_time_ns' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_time_ns(@extschema@.packet) IS
    'capture time in nanoseconds since 1970-01-01 00:00 UTC';
CREATE FUNCTION @extschema@.packet_src(@extschema@.packet) RETURNS inet
    AS 'MODULE_PATHNAME', 'packet_src' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5;
COMMENT ON FUNCTION @extschema@.packet_src(@extschema@.packet) IS 'source IP address';
CREATE FUNCTION @extschema@.packet_dst(@extschema@.packet) RETURNS inet
    AS 'MODULE_PATHNAME', 'packet_dst' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 5;
COMMENT ON FUNCTION @extschema@.packet_dst(@extschema@.packet) IS 'destination IP address';
CREATE FUNCTION @extschema@.packet_sport(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_sport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_sport(@extschema@.packet) IS
    'source port (TCP, UDP, SCTP, DCCP, UDP-Lite); NULL otherwise';
CREATE FUNCTION @extschema@.packet_dport(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_dport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_dport(@extschema@.packet) IS
    'destination port (TCP, UDP, SCTP, DCCP, UDP-Lite); NULL otherwise';
CREATE FUNCTION @extschema@.packet_seq(@extschema@.packet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_seq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_seq(@extschema@.packet) IS 'TCP sequence number, 0..4294967295';
CREATE FUNCTION @extschema@.packet_ack(@extschema@.packet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_ack' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_ack(@extschema@.packet) IS 'TCP acknowledgement number';
CREATE FUNCTION @extschema@.packet_flags(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_flags' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_flags(@extschema@.packet) IS
    'TCP flags as a 9-bit number: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128, NS 256';
CREATE FUNCTION @extschema@.packet_flags_text(@extschema@.packet) RETURNS text
    AS 'MODULE_PATHNAME', 'packet_flags_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 6;
COMMENT ON FUNCTION @extschema@.packet_flags_text(@extschema@.packet) IS
    'TCP flags as letters F S R P A U E C N, e.g. ''SA''; ''-'' for none';
CREATE FUNCTION @extschema@.packet_window(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_window' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_window(@extschema@.packet) IS 'TCP window';
CREATE FUNCTION @extschema@.packet_proto(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_proto' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_proto(@extschema@.packet) IS
    'IP protocol number (IPv6: the upper-layer header after extension headers): 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6';
CREATE FUNCTION @extschema@.packet_ipver(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_ipver' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_ipver(@extschema@.packet) IS 'IP version, 4 or 6';
CREATE FUNCTION @extschema@.packet_ttl(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_ttl' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_ttl(@extschema@.packet) IS 'IPv4 TTL or IPv6 hop limit';
CREATE FUNCTION @extschema@.packet_ipid(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_ipid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_ipid(@extschema@.packet) IS 'IPv4 identification; NULL for IPv6';
CREATE FUNCTION @extschema@.packet_len(@extschema@.packet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_len' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_len(@extschema@.packet) IS 'frame length on the wire, bytes';
CREATE FUNCTION @extschema@.packet_caplen(@extschema@.packet) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_caplen' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_caplen(@extschema@.packet) IS 'frame length captured, bytes';
CREATE FUNCTION @extschema@.packet_vlan(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_vlan' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_vlan(@extschema@.packet) IS 'outermost VLAN id; NULL when untagged';
CREATE FUNCTION @extschema@.packet_icmp_type(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_icmp_type' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_icmp_type(@extschema@.packet) IS 'ICMP or ICMPv6 type';
CREATE FUNCTION @extschema@.packet_icmp_code(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_icmp_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3;
COMMENT ON FUNCTION @extschema@.packet_icmp_code(@extschema@.packet) IS 'ICMP or ICMPv6 code';
CREATE FUNCTION @extschema@.packet_is_fragment(@extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_is_fragment' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 3
    SUPPORT @extschema@.packet_predicate_support;
COMMENT ON FUNCTION @extschema@.packet_is_fragment(@extschema@.packet) IS
    'true for an IP fragment (only a first fragment has ports)';

CREATE FUNCTION @extschema@.is_mirai(@extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'is_mirai' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 2
    SUPPORT @extschema@.packet_predicate_support;
COMMENT ON FUNCTION @extschema@.is_mirai(@extschema@.packet) IS
    'Mirai''s scanner: an IPv4 TCP packet whose sequence number equals its destination address, from a source port above 1024';
CREATE FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'is_mirai' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 2
    SUPPORT @extschema@.packet_predicate_support;
COMMENT ON FUNCTION @extschema@.packet_is_mirai(@extschema@.packet) IS
    'is_mirai under the name of the other packet_ functions';

CREATE FUNCTION @extschema@.packet_fields(@extschema@.packet,
    OUT "time" timestamptz, OUT time_ns bigint, OUT ipver integer,
    OUT src inet, OUT dst inet, OUT proto integer,
    OUT sport integer, OUT dport integer, OUT seq bigint, OUT ack bigint,
    OUT flags integer, OUT flags_text text, OUT "window" integer,
    OUT ttl integer, OUT ipid integer, OUT len bigint, OUT caplen bigint,
    OUT vlan integer, OUT is_fragment boolean, OUT is_mirai boolean)
    AS 'MODULE_PATHNAME', 'packet_fields' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 250;
COMMENT ON FUNCTION @extschema@.packet_fields(@extschema@.packet) IS
    'every field of a packet as one row: SELECT (packet_fields(p)).* FROM capture';

-- Comparison: by time, then by the stored bytes.  Equal means identical.
CREATE FUNCTION @extschema@.packet_cmp(@extschema@.packet, @extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_eq(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.packet_ne(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.packet_lt(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_le(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_gt(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_ge(@extschema@.packet, @extschema@.packet) RETURNS boolean
    AS 'MODULE_PATHNAME', 'packet_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_hash(@extschema@.packet) RETURNS integer
    AS 'MODULE_PATHNAME', 'packet_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.packet_hash_extended(@extschema@.packet, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'packet_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_eq, COMMUTATOR = OPERATOR(@extschema@.=),
    NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
    NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_lt, COMMUTATOR = OPERATOR(@extschema@.>),
    NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_le, COMMUTATOR = OPERATOR(@extschema@.>=),
    NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_gt, COMMUTATOR = OPERATOR(@extschema@.<),
    NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.packet, RIGHTARG = @extschema@.packet,
    PROCEDURE = @extschema@.packet_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
    NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.packet_ops
    DEFAULT FOR TYPE @extschema@.packet USING btree AS
        OPERATOR 1 @extschema@.<,
        OPERATOR 2 @extschema@.<=,
        OPERATOR 3 @extschema@.=,
        OPERATOR 4 @extschema@.>=,
        OPERATOR 5 @extschema@.>,
        FUNCTION 1 @extschema@.packet_cmp(@extschema@.packet, @extschema@.packet);
CREATE OPERATOR CLASS @extschema@.packet_hash_ops
    DEFAULT FOR TYPE @extschema@.packet USING hash AS
        OPERATOR 1 @extschema@.=,
        FUNCTION 1 @extschema@.packet_hash(@extschema@.packet),
        FUNCTION 2 @extschema@.packet_hash_extended(@extschema@.packet, bigint);

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
-- ---------------------------------------------------------------------
-- Reading capture files on the server
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.pcap_read(path text, filter text DEFAULT NULL,
                                      max_packets bigint DEFAULT NULL,
                                      on_error text DEFAULT 'error')
    RETURNS SETOF @extschema@.packet
    AS 'MODULE_PATHNAME', 'pcap_read' LANGUAGE C VOLATILE PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION @extschema@.pcap_read(text, text, bigint, text) IS
    'the IP packets of a pcap, pcapng or gzip capture file on the server; filter is a BPF expression';

CREATE FUNCTION @extschema@.pcap_file_info(path text, filter text DEFAULT NULL,
    OUT format text, OUT gzip boolean, OUT byte_order text, OUT version text,
    OUT time_resolution text, OUT sections integer, OUT interfaces integer,
    OUT linktypes integer[], OUT records bigint, OUT filtered_out bigint,
    OUT ipv4 bigint, OUT ipv6 bigint, OUT ipv4_tcp bigint, OUT mirai bigint,
    OUT skipped bigint, OUT skipped_by_reason jsonb,
    OUT first_time timestamptz, OUT last_time timestamptz, OUT truncated boolean)
    AS 'MODULE_PATHNAME', 'pcap_file_info' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pcap_file_info(text, text) IS
    'what a capture file on the server holds: container, link types, and counts of records, IP packets, Mirai packets and skipped frames';
-- ---------------------------------------------------------------------
-- The mirai_load ledger: which capture files were loaded into which table
-- ---------------------------------------------------------------------
--
-- mirai_load (the client-side COPY loader) writes one row here in the same
-- transaction as a file's packets, so a row exists exactly when the packets
-- are there.  A rerun skips a file when a row that read its input to the
-- end has its content hash for the same table, the same options (those
-- that decide which rows the file gives) and was written by a role the
-- loading role trusts: itself or the table's owner.  --force loads it again
-- and records a row with forced.
--
-- A load may cover part of a file: a batch of --commit-every or --follow
-- (at_end false), or a file still being written (truncated).  Such a row
-- names the first file_size bytes by their hash and says how many records
-- of the file were read (records).  When a file's first file_size bytes
-- hash to a trusted row's content_hash (same table and options), the file
-- extends that content, and mirai_load loads only the records after
-- records: each row covers the records after from_record up to records.
--
-- Who sees and writes what (row-level security): a role may insert rows
-- for tables it may INSERT into, as itself; see every row of tables it may
-- SELECT from, and of tables it may only INSERT into its own rows and the
-- table owner's (the rows it trusts); delete rows of tables it may DELETE
-- from or TRUNCATE (to load a file again after emptying a table).  Rows
-- are never updated.

CREATE TABLE @extschema@.mirai_load_ledger (
    table_name   regclass NOT NULL,
    file_name    text NOT NULL,
    client_host  text,
    file_size    bigint NOT NULL CHECK (file_size >= 0),
    content_hash bytea NOT NULL CHECK (pg_catalog.octet_length(content_hash) = 32),
    packets      bigint NOT NULL CHECK (packets >= 0),
    filtered     bigint NOT NULL DEFAULT 0 CHECK (filtered >= 0),
    not_ip       bigint NOT NULL DEFAULT 0 CHECK (not_ip >= 0),
    truncated    boolean NOT NULL DEFAULT false,
    damaged_regions bigint NOT NULL DEFAULT 0 CHECK (damaged_regions >= 0),
    damaged_bytes bigint NOT NULL DEFAULT 0 CHECK (damaged_bytes >= 0),
    malformed    bigint NOT NULL DEFAULT 0 CHECK (malformed >= 0),
    filter       text,
    forced       boolean NOT NULL DEFAULT false,
    loaded_by    name NOT NULL DEFAULT CURRENT_USER,
    loaded_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    options      text NOT NULL,
    tbl          regclass GENERATED ALWAYS AS (table_name) STORED,
    records      bigint CHECK (records >= 0),
    from_record  bigint NOT NULL DEFAULT 0 CHECK (from_record >= 0),
    at_end       boolean NOT NULL DEFAULT true
);

-- One regular load per (table, content, role, options, first record): the
-- second of two concurrent loaders of the same content by the same role
-- with the same options, from the same record, fails to insert and rolls
-- back.  Rows of other roles never block a load.
CREATE UNIQUE INDEX mirai_load_ledger_once
    ON @extschema@.mirai_load_ledger (table_name, content_hash, loaded_by, options, from_record) WHERE NOT forced;
-- mirai_load hashes a file before loading it only when a file of its size
-- was loaded into the table (same content, same size)
CREATE INDEX mirai_load_ledger_size
    ON @extschema@.mirai_load_ledger (table_name, file_size);

COMMENT ON TABLE @extschema@.mirai_load_ledger IS
    'capture files loaded by mirai_load: one row per file (or batch) and table, written in the same transaction as its packets';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.table_name IS 'table the packets went into';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.file_name IS
    'absolute path on the client for a regular file, the name as given for a pipe, - for stdin';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.client_host IS 'host name of the client that ran mirai_load';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.file_size IS 'bytes of the file as read (compressed size for gzip)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.content_hash IS
    'SHA-256 of the file''s bytes as read (before gunzip): the file''s identity, whatever its name';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.packets IS 'packets loaded';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filtered IS 'IP packets left out by --filter, --mirai-only or --scanner';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.not_ip IS 'frames that are not IP packets (ARP, STP, unknown link types ...)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.truncated IS 'the file ended inside its last record (that record was not loaded)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.damaged_regions IS
    'damaged regions of the file stepped over by --on-error=skip (0 in the default mode, where damage fails the file)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.damaged_bytes IS
    'bytes of the (decompressed) stream in those damaged regions';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.malformed IS
    'frames skipped by --on-error=skip because their IP or transport headers are malformed';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filter IS 'the BPF filter, --mirai-only and --scanner, as given (--scanner''s rules in catalogue order); NULL when none';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.forced IS 'loaded again on purpose with --force';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.loaded_by IS 'role that loaded the file';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.loaded_at IS 'start of the loading transaction';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.tbl IS 'table_name under the name the views give the table';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.options IS
    'what decides the rows a file gives: --column=(the packet column), then --filter, --mirai-only and --scanner as given, then --on-error=skip when it skipped damage; a rerun skips or resumes the file only with the same options';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.records IS
    'records of the file read up to the end of this load, counted from the file''s start (pcap records, pcapng packet blocks), whether loaded, filtered or skipped; a load that resumes this one starts after them; NULL for rows written before 0.2.0';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.from_record IS
    'records of the file before this load''s first: 0 for a load from the file''s start, else the records of the row it resumed or of the batch before it';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.at_end IS
    'the load read its input to the end (false: a batch of --commit-every or --follow committed before the end; such a row never makes a file count as loaded, only resumable)';

-- pg_dump keeps the rows (the table belongs to the extension)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_load_ledger', '');

ALTER TABLE @extschema@.mirai_load_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirai_load_ledger_read ON @extschema@.mirai_load_ledger FOR SELECT
    USING (pg_catalog.has_table_privilege(table_name, 'SELECT')
           OR (pg_catalog.has_table_privilege(table_name, 'INSERT')
               AND (loaded_by OPERATOR(pg_catalog.=) CURRENT_USER
                    OR loaded_by OPERATOR(pg_catalog.=)
                       (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                        WHERE c.oid OPERATOR(pg_catalog.=) table_name))));
CREATE POLICY mirai_load_ledger_write ON @extschema@.mirai_load_ledger FOR INSERT
    WITH CHECK (loaded_by = CURRENT_USER
                AND pg_catalog.has_table_privilege(table_name, 'INSERT'));
CREATE POLICY mirai_load_ledger_forget ON @extschema@.mirai_load_ledger FOR DELETE
    USING (pg_catalog.has_table_privilege(table_name, 'DELETE')
           OR pg_catalog.has_table_privilege(table_name, 'TRUNCATE'));
GRANT SELECT, INSERT, DELETE ON @extschema@.mirai_load_ledger TO PUBLIC;
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
