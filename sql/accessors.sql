-- Accessors: each field, and NULL where a packet has no such field.
SET timezone = 'UTC';
CREATE TEMP TABLE k (name text, p packet);
INSERT INTO k VALUES
 ('mirai',   '2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54'),
 ('port1024','2024-12-14T03:12:45Z tcp 192.0.2.1:1024 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=1 len=54'),
 ('seq+1',   '2024-12-14T03:12:45Z tcp 192.0.2.1:40000 > 203.0.113.7:23 flags=S seq=3405803784 ack=0 win=14600 ttl=52 id=1 len=54'),
 ('v6',      '2024-12-14T00:00:00Z tcp [2001:db8::1]:40000 > [2001:db8::7]:23 flags=SAN seq=1 ack=2 win=3 ttl=64 len=74 vlan=7'),
 ('icmp',    '2024-12-14T00:00:00Z icmp 192.0.2.1 > 203.0.113.7 type=8 code=0 ttl=64 id=7 len=98'),
 ('frag',    '2024-12-14T00:00:00Z udp 192.0.2.1 > 203.0.113.7 ttl=64 id=9 len=1500 frag'),
 ('cut',     '2024-12-14T00:00:00Z tcp 192.0.2.1:5000 > 203.0.113.7:23 seq=3405803783 ttl=64 id=9 len=54 caplen=42'),
 ('gre',     '2024-12-14T00:00:00Z 47 192.0.2.1 > 203.0.113.7 ttl=64 id=9 len=100');
SELECT name, packet_time(p), packet_time_ns(p), packet_ipver(p), packet_src(p), packet_dst(p),
       packet_proto(p), packet_sport(p), packet_dport(p)
FROM k ORDER BY name;
SELECT name, packet_seq(p), packet_ack(p), packet_flags(p), packet_flags_text(p),
       packet_window(p), packet_ttl(p), packet_ipid(p), packet_len(p), packet_caplen(p),
       packet_vlan(p), packet_icmp_type(p), packet_icmp_code(p), packet_is_fragment(p), is_mirai(p)
FROM k ORDER BY name;
SELECT name, (packet_fields(p)).* FROM k WHERE name IN ('mirai', 'v6') ORDER BY name;

-- the markings every function has
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE p.proname LIKE 'packet%' OR p.proname IN ('is_mirai', 'pcap_read', 'pcap_file_info')
ORDER BY 1;
-- every object of the extension has a comment
SELECT count(*) AS functions_without_comment
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE obj_description(p.oid, 'pg_proc') IS NULL
  AND p.proname NOT IN ('packet_in', 'packet_out', 'packet_recv', 'packet_send', 'packet_cmp',
                        'packet_eq', 'packet_ne', 'packet_lt', 'packet_le', 'packet_gt',
                        'packet_ge', 'packet_hash', 'packet_hash_extended')
  AND p.prorettype <> 'trigger'::regtype;

-- the operator classes are valid
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname IN ('packet_ops', 'packet_hash_ops') ORDER BY opcname;
-- sorting and hashing use them
SELECT name FROM k ORDER BY p, name;
SELECT count(DISTINCT p), count(*) FROM (SELECT p FROM k UNION ALL SELECT p FROM k) s;
CREATE TEMP TABLE kb AS SELECT * FROM k;
CREATE INDEX ON kb (p);
SET enable_seqscan = off;
SELECT name FROM kb WHERE p = (SELECT p FROM k WHERE name = 'icmp');
RESET enable_seqscan;
