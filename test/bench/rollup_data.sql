-- Benchmark data for test/bench/rollup.sh: a 92-day honeypot capture shaped
-- after the study (Mirai packets per day: quiet days 2-3 thousand, busy days
-- about 50 thousand, a peak day with two dominant sources; a long tail of
-- sources sending a handful of packets), plus non-Mirai traffic.  Synthetic,
-- seeded, reproducible.  Fills table :"tbl" (one packet column).
--   psql -v tbl=staging -v seed=0.42 -v shift_days=0 -v scale=1 -f rollup_data.sql
-- shift_days moves every packet by that many days; scale multiplies the
-- daily packet counts (and the pool of sources); day_from and day_to keep
-- only some days.
SELECT setseed(:seed);
CREATE TEMP TABLE bench_days AS
SELECT i, (DATE '2024-11-16' + i + :shift_days) AS d,
       CASE WHEN i = 28 THEN 103217
            ELSE round(2200 + 46000 * power(random(), 2.2))::int END AS n
FROM generate_series(0, 91) AS i;
-- scale the 91 ordinary days so that the total is 1,473,544 (times scale)
UPDATE bench_days SET n = round(n * (1473544 - 103217)::numeric /
       (SELECT sum(n) FROM bench_days WHERE i <> 28)) WHERE i <> 28;
UPDATE bench_days SET n = round(n * :scale);
-- day_from and day_to (optional, with -v): only the days of those indexes
-- (0 to 91; 28 is the peak day)
\if :{?day_from}
DELETE FROM bench_days WHERE i < :day_from OR i > :day_to;
\endif

INSERT INTO :"tbl"
SELECT format('%sZ tcp %s:%s > 203.0.113.7:%s flags=S seq=3405803783 ack=0 win=%s ttl=%s id=%s len=54',
              to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
              host(src), 1025 + (r2 * 64510)::int,
              CASE WHEN r2 < 0.9 THEN 23 ELSE 2323 END,
              (r2 * 65535)::int, 30 + (r2 * 34)::int, (r2 * 65535)::int)::packet
FROM (
    SELECT ((b.d::timestamp AT TIME ZONE 'Asia/Tokyo') + random() * interval '1 day') AS ts,
           CASE
             -- the peak day: 41.0% and 38.5% from two addresses
             WHEN b.i = 28 AND r < 0.410 THEN inet '198.51.100.10'
             WHEN b.i = 28 AND r < 0.795 THEN inet '198.51.100.20'
             -- a few persistent heavy scanners on busy days
             WHEN b.n > 20000 AND r < 0.35 THEN inet '100.64.0.0' + (1 + (random() * 20)::int)
             -- the long tail: log-uniform over a pool of 15k * scale addresses
             ELSE inet '11.0.0.0' + ((hashint8((exp(random() * ln(15000 * :scale)))::bigint) & 2147483647)::bigint % 3000000000)
           END AS src,
           random() AS r2
    FROM bench_days b, LATERAL (SELECT random() AS r FROM generate_series(1, b.n)) g
) m;

-- non-Mirai traffic: 25% more packets, random sources and ports
INSERT INTO :"tbl"
SELECT format('%sZ tcp %s:%s > 203.0.113.7:%s flags=S seq=%s ack=0 win=1024 ttl=%s id=%s len=54',
              to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
              host(inet '11.0.0.0' + (random() * 3000000000)::bigint),
              (random() * 65535)::int, (random() * 65535)::int,
              (random() * 4294967295)::bigint, 30 + (random() * 200)::int,
              (random() * 65535)::int)::packet
FROM (
    SELECT ((b.d::timestamp AT TIME ZONE 'Asia/Tokyo') + random() * interval '1 day') AS ts
    FROM bench_days b, LATERAL generate_series(1, b.n / 4) g
) m;
DROP TABLE bench_days;
