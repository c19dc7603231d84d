-- Scanner fingerprints: packet_scanner, packet_scanners, mirai_scanner_rules.
SET timezone = 'UTC';
CREATE TEMP TABLE s (name text, p packet);
INSERT INTO s VALUES
 -- Mirai: seq = dst (203.0.113.7 = 3405803783) from a port above 1024
 ('mirai',         '2024-12-14T03:12:45Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=1 len=54'),
 ('mirai 1024',    '2024-12-14T03:12:45Z tcp 192.0.2.1:1024 > 203.0.113.7:23 flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=1 len=54'),
 ('mirai cut',     '2024-12-14T03:12:45Z tcp 192.0.2.1:5000 > 203.0.113.7:23 seq=3405803783 ttl=64 id=9 len=54 caplen=42'),
 -- ZMap up to 4.0: IP id 54321, window 65535, in its SYN scan and its SYN-ACK scan
 ('zmap',          '2024-12-14T03:12:45Z tcp 192.0.2.2:40000 > 203.0.113.7:443 flags=S seq=12345 ack=0 win=65535 ttl=250 id=54321 len=58'),
 ('zmap syn-ack',  '2024-12-14T03:12:45Z tcp 192.0.2.2:40000 > 203.0.113.7:443 flags=SA seq=12345 ack=1 win=65535 ttl=250 id=54321 len=58'),
 ('zmap 4.1',      '2024-12-14T03:12:45Z tcp 192.0.2.2:40000 > 203.0.113.7:443 flags=S seq=12345 ack=0 win=65535 ttl=60 id=777 len=66'),
 -- Masscan: id = (dst ^ dport ^ seq) & 0xffff: (0x7107 ^ 80 ^ 1) = 29014
 ('masscan',       '2024-12-14T03:12:45Z tcp 192.0.2.3:61000 > 203.0.113.7:80 flags=S seq=1 ack=0 win=1024 ttl=240 id=29014 len=58'),
 ('masscan 2023',  '2024-12-14T03:12:45Z tcp 192.0.2.3:61000 > 203.0.113.7:80 flags=S seq=1 ack=0 win=1025 ttl=240 id=29014 len=58'),
 ('masscan stack', '2024-12-14T03:12:45Z tcp 192.0.2.3:61000 > 203.0.113.7:80 flags=PA seq=1 ack=99 win=1200 ttl=240 id=29014 len=120'),
 ('masscan id+1',  '2024-12-14T03:12:45Z tcp 192.0.2.3:61000 > 203.0.113.7:80 flags=S seq=1 ack=0 win=1024 ttl=240 id=29015 len=58'),
 -- Nmap: window 1024, TTL 37 to 59 less the hops
 ('nmap',          '2024-12-14T03:12:45Z tcp 192.0.2.4:51234 > 203.0.113.7:22 flags=S seq=777 ack=0 win=1024 ttl=49 id=4242 len=58'),
 ('nmap ttl 60',   '2024-12-14T03:12:45Z tcp 192.0.2.4:51234 > 203.0.113.7:22 flags=S seq=777 ack=0 win=1024 ttl=60 id=4242 len=58'),
 -- Unicornscan: window 4128, TTL 255 less the hops, source port from 4096
 ('unicornscan',   '2024-12-14T03:12:45Z tcp 192.0.2.5:31337 > 203.0.113.7:139 flags=S seq=999 ack=0 win=4128 ttl=243 id=17 len=58'),
 ('unicorn 4095',  '2024-12-14T03:12:45Z tcp 192.0.2.5:4095 > 203.0.113.7:139 flags=S seq=999 ack=0 win=4128 ttl=243 id=17 len=58'),
 ('unicorn ttl 128','2024-12-14T03:12:45Z tcp 192.0.2.5:31337 > 203.0.113.7:139 flags=S seq=999 ack=0 win=4128 ttl=128 id=17 len=58'),
 -- backscatter: replies to packets the address never sent
 ('syn-ack',       '2024-12-14T03:12:45Z tcp 198.51.100.9:80 > 203.0.113.7:3000 flags=SA seq=5 ack=6 win=29200 ttl=50 id=0 len=60'),
 ('rst-ack',       '2024-12-14T03:12:45Z tcp 198.51.100.9:81 > 203.0.113.7:3000 flags=RA seq=0 ack=6 win=0 ttl=50 id=0 len=54'),
 ('unreachable',   '2024-12-14T03:12:45Z icmp 198.51.100.1 > 203.0.113.7 type=3 code=1 ttl=50 id=0 len=70'),
 ('time exceeded', '2024-12-14T03:12:45Z icmp 198.51.100.1 > 203.0.113.7 type=11 code=0 ttl=50 id=0 len=70'),
 ('v6 unreach',    '2024-12-14T03:12:45Z icmp6 2001:db8::1 > 2001:db8::7 type=1 code=4 ttl=50 len=118'),
 ('echo reply',    '2024-12-14T03:12:45Z icmp 198.51.100.1 > 203.0.113.7 type=0 code=0 ttl=50 id=0 len=98'),
 -- two rules at once: a SYN-ACK whose sequence number is the destination
 ('both',          '2024-12-14T03:12:45Z tcp 192.0.2.1:40512 > 203.0.113.7:23 flags=SA seq=3405803783 ack=1 win=14600 ttl=52 id=1 len=54'),
 -- nothing: an ordinary SYN, IPv6 with ZMap's values, UDP, a fragment
 ('plain syn',     '2024-12-14T03:12:45Z tcp 192.0.2.6:50000 > 203.0.113.7:80 flags=S seq=1234 ack=0 win=64240 ttl=119 id=5 len=66'),
 ('v6 zmap values','2024-12-14T03:12:45Z tcp [2001:db8::1]:40000 > [2001:db8::7]:443 flags=S seq=1 ack=0 win=65535 ttl=250 len=74'),
 ('udp',           '2024-12-14T03:12:45Z udp 192.0.2.7:5000 > 203.0.113.7:53 ttl=64 id=54321 len=60'),
 ('fragment',      '2024-12-14T03:12:45Z tcp 192.0.2.8 > 203.0.113.7 ttl=64 id=54321 len=1500 frag');
SELECT name, packet_scanner(p), packet_scanners(p) FROM s ORDER BY name;
SELECT packet_scanner(NULL), packet_scanners(NULL);

-- the mirai rule is is_mirai, on 20000 packets near its edges
SELECT setseed(0.85);
SELECT count(*) AS packets,
       count(*) FILTER (WHERE is_mirai(p)) AS mirai,
       count(*) FILTER (WHERE is_mirai(p) <> ('mirai' = ANY (packet_scanners(p)))) AS disagree,
       count(*) FILTER (WHERE is_mirai(p) AND packet_scanner(p) <> 'mirai') AS not_first
FROM (SELECT format('2024-12-14T00:00:00Z tcp 192.0.2.1:%s > 203.0.113.%s:23 flags=%s seq=%s ack=0 win=1 ttl=64 id=1 len=54',
                    (1020 + random() * 10)::int, d, f,
                    CASE WHEN random() < 0.5 THEN 3405803776 + d ELSE 3405803776 + (random() * 10)::int END)::packet AS p
        FROM (SELECT (random() * 9)::int AS d, (ARRAY['S', 'SA', 'R', 'A'])[1 + (random() * 3)::int] AS f
                FROM generate_series(1, 20000)) g) k;

-- the catalogue
SELECT position, name, tool, fields, checkable, fp_rate FROM mirai_scanner_rules ORDER BY position;
SELECT name, rule FROM mirai_scanner_rules ORDER BY position;
SELECT count(*) AS rules_without_source_or_math
  FROM mirai_scanner_rules
 WHERE source = '' OR fp_math = '' OR versions = '' OR note = '';
-- the markings
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel, p.procost, p.prorows
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mirai_ext'
WHERE p.proname IN ('packet_scanner', 'packet_scanners', 'mirai_scanner_rules')
ORDER BY 1;
