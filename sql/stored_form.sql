-- The stored form carries its layout version in byte 0 (MX_LAYOUT_VERSION,
-- now 1).  Binary input (COPY ... FORMAT binary, a client's bind message)
-- and every read of a stored value check it: a version this build does not
-- know is refused with an error that says so, never misread.  Arbitrary
-- bytes reach packet_recv here through COPY: a bytea column's binary form
-- is its raw bytes, the same framing as a packet column's.
\set VERBOSITY default
CREATE TEMP TABLE raw (b bytea);
CREATE TEMP TABLE back (p packet);
SELECT current_setting('data_directory') || '/mirai_regress_stored.bin' AS binfile \gset
INSERT INTO raw SELECT packet_send('2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'::packet);
SELECT b AS stored_form, get_byte(b, 0) AS layout_version, length(b) FROM raw;

-- the good value reads back through binary COPY
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
SELECT p FROM back;

-- layout versions this build does not know
UPDATE raw SET b = set_byte(b, 0, 2);
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
\echo :LAST_ERROR_SQLSTATE
UPDATE raw SET b = set_byte(b, 0, 0);
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
UPDATE raw SET b = set_byte(b, 0, 255);
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);

-- other malformed binary values: each names its field
UPDATE raw SET b = '\x01';
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
UPDATE raw SET b = '\x01'::bytea || decode(repeat('00', 72), 'hex');
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
-- flags say "ports and TCP" (0x30) for a 30-byte value
UPDATE raw SET b = '\x01300601'::bytea || decode(repeat('00', 26), 'hex');
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
-- ports (0x10) on IP protocol 47 (GRE)
UPDATE raw SET b = '\x01102f40'::bytea || decode(repeat('00', 24), 'hex');
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
-- VLAN id 4096
UPDATE raw SET b = '\x01020640'::bytea || decode(repeat('00', 20), 'hex') || '\x1000'::bytea;
COPY raw TO :'binfile' (FORMAT binary);
COPY back FROM :'binfile' (FORMAT binary);
SELECT count(*) AS still_one FROM back;

-- a stored value of an unknown version (made here with a binary-coercible
-- cast, as a future release or a damaged page would leave it) is refused
-- by every function that reads it: XX001 data_corrupted
CREATE CAST (bytea AS packet) WITHOUT FUNCTION;
SELECT packet_src(packet_send(p)::packet) FROM back;
SELECT packet_src(set_byte(packet_send(p), 0, 2)::packet) FROM back;
\echo :LAST_ERROR_SQLSTATE
SELECT set_byte(packet_send(p), 0, 2)::packet FROM back;
SELECT is_mirai(set_byte(packet_send(p), 0, 9)::packet) FROM back;
DROP CAST (bytea AS packet);
