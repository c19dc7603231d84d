/*-------------------------------------------------------------------------
 *
 * mx_entries.h
 *		The packed (source, destination port) entries of a rollup day row.
 *
 * A row of mirai_rollup_day keeps one entry per (source, destination port)
 * seen that day, with its packets, first and last packet time and the
 * source's country, packed into a bytea.  The extension writes them
 * (src/pg/rollup.c) and reads them back, and mirai_day_sources(bytea)
 * reads whatever bytes any role hands it, so unpacking validates every
 * value: a version 2 value it accepts is one the packer writes, every time
 * is a time a packet can have, and no sum of its packets overflows.  Plain
 * C99, no PostgreSQL headers, so that test/fuzz/fuzz_entries.c runs it
 * under libFuzzer.
 *
 * Version 2 (written):
 *	byte 0		2
 *	varint		number of entries
 *	varint		number of countries, then each: 1 byte length (1-7), the code
 *				(printable ASCII)
 *	8 bytes		base: the earliest first_us of the row, big-endian, signed
 *	then per entry, sorted by (src, dport) without repeats, unsigned LEB128
 *	varints:
 *		src - previous src (the first: src), dport, packets (>= 1),
 *		first_us - base, last_us - first_us,
 *		country: 0 unknown, i: the i-th country above
 * About 15 bytes an entry: the row is read and written back whole by every
 * statement that touches its day, so its size is most of what tracking
 * costs.
 *
 * Version 1 (read, never written by a release): bytes 1-3 unused, bytes
 * 4-7 the number of entries, big-endian; then 38 bytes an entry: src 4,
 * dport 2, packets 8, first_ns 8, last_ns 8, country 8 (NUL-padded).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_ENTRIES_H
#define MX_ENTRIES_H

#include "mx_decode.h"

#define MX_ENTRIES_V1		1
#define MX_ENTRIES_V2		2
#define MX_ENTRIES_V1_BYTES	38		/* one version 1 entry */
#define MX_COUNTRY_LEN		8		/* NUL-padded; "" = unknown */
#define MX_MAX_COUNTRIES	1023	/* per day row (ISO 3166 has 249 codes) */

/*
 * Times are Unix microseconds, rounded down from the packets' nanoseconds,
 * so they lie in [MX_US_MIN, MX_US_MAX]: what int64 nanoseconds can say.
 */
#define MX_US_MIN			(-INT64_C(9223372036854775) - 1)
#define MX_US_MAX			INT64_C(9223372036854775)

/* One (source, destination port) of a day. */
typedef struct mx_day_entry
{
	int32_t		day;			/* the caller's day number; not stored */
	uint32_t	src;			/* IPv4 address, host order */
	uint16_t	dport;
	int64_t		packets;		/* >= 1 */
	int64_t		first_us;		/* first packet, Unix microseconds */
	int64_t		last_us;		/* last packet, >= first_us */
	char		country[MX_COUNTRY_LEN];	/* "" = unknown */
} mx_day_entry;

/*
 * The number of entries the packed bytes announce, checked against their
 * length (so that a caller may allocate that many before unpacking).
 */
extern mx_status mx_entries_count(const uint8_t *buf, size_t len, size_t *count,
								  mx_error *err);

/*
 * Unpack exactly count entries (as mx_entries_count said) into out, day
 * left 0.  Every value is checked: versions, lengths, order, times, packet
 * counts and their sum, country codes.  err->packetno is the entry (1-based,
 * 0 in the header), err->offset the byte offset.
 */
extern mx_status mx_entries_unpack(const uint8_t *buf, size_t len,
								   mx_day_entry *out, size_t count, mx_error *err);

/*
 * Packing.  The caller numbers the countries: names[0] is unknown (""),
 * names[1 .. nnames - 1] the codes of the row, index[i] entry i's.  The
 * entries must be sorted by (src, dport) without repeats, with packets >= 1
 * and times in range, as mx_entries_unpack demands.
 */
extern size_t mx_entries_pack_bound(size_t n, size_t nnames);
extern size_t mx_entries_pack(const mx_day_entry *e, size_t n,
							  const char (*names)[MX_COUNTRY_LEN], size_t nnames,
							  const uint32_t *index, uint8_t *out);

/*
 * Marks into version 2 entries, for lookups: every MX_MARK_EVERY-th entry's
 * index, byte offset and the address before it (the sum its delta adds
 * to).  Made in one pass that checks what a lookup checks of the entries
 * it steps over (their varints, the sum of the addresses); version 1 gets
 * none (a lookup searches its fixed-width entries by halves).  At most
 * mx_entries_marks_bound(count) marks.
 */
#define MX_MARK_EVERY		32
typedef struct mx_entries_mark
{
	uint32_t	before;			/* the address of the entry before; 0 */
	uint32_t	entry;			/* the entry's index */
	uint32_t	offset;			/* its first byte */
} mx_entries_mark;
extern size_t mx_entries_marks_bound(size_t count);
extern mx_status mx_entries_marks(const uint8_t *buf, size_t len, mx_entries_mark *marks,
								  size_t max_marks, size_t *nmarks, mx_error *err);

/*
 * The entries of one source, summed (packets, earliest first, latest last,
 * the country), without unpacking the rest: *found false when the source
 * has none.  Its lowest ports, ascending, go to ports: at most max_ports
 * of them, *nports how many (ports may be NULL when max_ports is 0).
 * Reads only as far as the source (entries are in address order),
 * checking what it reads; with the marks mx_entries_marks made of the same
 * bytes (nmarks 0: none), from the last mark before the source, with the
 * same result.
 */
extern mx_status mx_entries_find(const uint8_t *buf, size_t len, uint32_t src,
								 const mx_entries_mark *marks, size_t nmarks,
								 mx_day_entry *sum, uint16_t *ports, size_t max_ports,
								 size_t *nports, bool *found, mx_error *err);

/* Whether a NUL-padded country code is one the codec stores. */
extern bool mx_country_valid(const char *code, size_t len);

#endif							/* MX_ENTRIES_H */
