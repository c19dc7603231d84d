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
