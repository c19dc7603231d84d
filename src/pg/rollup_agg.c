/*-------------------------------------------------------------------------
 *
 * rollup_agg.c
 *		Folding packets into (day, source, port) entries and hourly counts.
 *
 * One pass over a statement's transition table (or, to rebuild, over the
 * table itself) reads each packet's stored form in place: all and Mirai
 * packets are counted per UTC hour, and each Mirai packet is kept as a
 * (day of the table's zone, source, destination port, time) record.  The
 * records are radix-sorted and summed into entries, one per (day, source,
 * port) with its packets and first and last time, sorted as rollup_day.c
 * merges them into the days' parts.
 *
 * Sorting rather than hashing: a statement of a million distinct sources
 * (a flooded day) makes a million entries, and inserting them into a hash
 * misses the CPU's caches at every packet, where a radix sort streams
 * through memory (measured: about a quarter of a flooded load's time went
 * to the hash).  Records are sorted and summed in runs of AGG_RUN, merged
 * at the end, so memory stays bounded on any statement.  The day of a time
 * is cached per quarter hour.
 *
 * The same pass gives the scanner dimension (rollup_scanner.c): each
 * packet's first matching rule of the decoder's catalogue
 * (mx_scanner_first_packed, the rule packet_scanner answers with) and its
 * source address, counted per (day, scanner, source).  An IPv4 packet
 * within 32,767 days of the statement's first is a 64-bit key (day offset,
 * rule, address), radix-sorted and summed in runs as the Mirai records
 * are; other packets (IPv6) go to a hash.  Measured on a million packets
 * of 275,000 sources: a hash of every key cost about a fifth of the
 * statement, in cache misses, the sorted keys a few per cent.  The rule
 * "mirai" is is_mirai's: its packets and sources per day are the day rows'
 * (rollup_day.c), so they are not counted again here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "mx_scanner.h"
#include "rollup.h"

#define NS_PER_QUARTER	INT64CONST(900000000000)

typedef struct HourHashElem
{
	int64		hour;			/* floor(ns / 1 hour) */
	char		status;
	int64		mirai;
	int64		all;
} HourHashElem;

#define SH_PREFIX		hourhash
#define SH_ELEMENT_TYPE	HourHashElem
#define SH_KEY_TYPE		int64
#define SH_KEY			hour
#define SH_HASH_KEY(tb, k)	murmurhash32((uint32) ((k) ^ ((k) >> 32)))
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The hash of a scanner key: IPv4 keys, the common case, without hash_bytes. */
static inline uint32
scan_key_hash(const ScanKey *k)
{
	uint32		a;

	if (k->ipver != 4)
		return hash_bytes((const unsigned char *) k, sizeof(ScanKey));
	memcpy(&a, k->addr, 4);
	return murmurhash32(a ^ ((uint32) k->day * 0x9E3779B1u) ^ ((uint32) k->scanner << 24));
}

/* An IPv4 scanner key (day offset 16 bits, rule 8, address 32) and its packets. */
typedef struct ScanCount
{
	uint64		key;
	int64		packets;
} ScanCount;

/* A (day, scanner, source) key and its packets, for the scanner dimension. */
typedef struct ScanHashElem
{
	ScanKey		key;
	char		status;
	int64		packets;
} ScanHashElem;

#define SH_PREFIX		scanhash
#define SH_ELEMENT_TYPE	ScanHashElem
#define SH_KEY_TYPE		ScanKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	scan_key_hash(&(k))
#define SH_EQUAL(tb, a, b)	(memcmp(&(a), &(b), sizeof(ScanKey)) == 0)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Quarter hours -> day, cached: packets arrive mostly in time order. */
#define QCACHE_SIZE 256
typedef struct QCacheSlot
{
	int64		q;
	int32		day;			/* PG_INT32_MIN: the quarter spans midnight */
	bool		valid;
} QCacheSlot;

/* A Mirai packet as the aggregation keeps it until it sorts. */
typedef struct PacketRec
{
	int32		day;
	uint32		src;
	uint16		dport;
	int64		us;				/* Unix microseconds, rounded down */
} PacketRec;

#define AGG_RUN		(2 * 1024 * 1024)	/* records sorted and summed at once */

struct RollupAgg
{
	pg_tz	   *tz;
	PacketRec  *recs;			/* the current run */
	int			nrecs;
	int			caprecs;
	DayEntry  **runs;			/* runs summed into sorted entries */
	int		   *run_n;
	int			nruns;
	int			capruns;
	hourhash_hash *hours;
	/* the hour being counted, not yet in hours (packets come in runs) */
	int64		cur_hour;
	int64		cur_mirai;
	int64		cur_all;
	QCacheSlot	qcache[QCACHE_SIZE];
	/* when set, only packets of these days count (sorted) */
	int32	   *only_days;
	int			n_only_days;
	bool		count_hours;
	bool		want_mirai;		/* (day, source, port) records */
	/* the scanner dimension: packets per (day, scanner, source) */
	bool		want_scanners;
	int32		scan_from;		/* only days in [scan_from, scan_to] */
	int32		scan_to;
	int32		scan_base;		/* the day of key offset 0x8000 */
	bool		scan_base_set;
	uint64	   *skeys;			/* the current run of IPv4 keys */
	int			nskeys;
	int			capskeys;
	ScanCount **sruns;			/* runs summed into sorted counts */
	int		   *srun_n;
	int			nsruns;
	int			capsruns;
	scanhash_hash *scans;		/* the other keys */
};

/* floor(a / b) for b > 0 */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}


/* The date of a timestamp in zone tz. */
static int32
ts_day(TimestampTz ts, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("packet time out of range for rollups")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

/*
 * The day (in the aggregation's zone) of a packet time in nanoseconds.
 * Quarter hours are bounded in microseconds, which cannot overflow for any
 * int64 nanosecond time.
 */
static inline int32
agg_day(RollupAgg *agg, int64 ns)
{
	int64		q = floor_div(ns, NS_PER_QUARTER);
	QCacheSlot *slot = &agg->qcache[(uint64) q % QCACHE_SIZE];

	if (!slot->valid || slot->q != q)
	{
		int32		a = ts_day(us_to_timestamptz(q * US_PER_QUARTER), agg->tz);
		int32		b = ts_day(us_to_timestamptz((q + 1) * US_PER_QUARTER - 1), agg->tz);

		slot->q = q;
		slot->day = (a == b) ? a : PG_INT32_MIN;
		slot->valid = true;
	}
	if (slot->day != PG_INT32_MIN)
		return slot->day;
	/* a zone whose midnight is not on a quarter hour: exact, slower */
	return ts_day(mirai_ns_to_timestamptz(ns), agg->tz);
}

/* Start an aggregation; rows, when known, sizes the first run. */
RollupAgg *
agg_create(pg_tz *tz, int64 rows)
{
	RollupAgg  *agg = palloc0(sizeof(RollupAgg));

	agg->tz = tz;
	agg->caprecs = (int) Min(Max(rows, 1024), AGG_RUN);
	agg->recs = rollup_alloc(sizeof(PacketRec) * agg->caprecs);
	agg->hours = hourhash_create(CurrentMemoryContext, 64, NULL);
	agg->cur_hour = PG_INT64_MIN;
	agg->count_hours = true;
	agg->want_mirai = true;
	agg->want_scanners = true;
	agg->scan_from = PG_INT32_MIN;
	agg->scan_to = PG_INT32_MAX;
	agg->scans = scanhash_create(CurrentMemoryContext, 64, NULL);
	return agg;
}

/* Count only the Mirai packets of these days (sorted): no hours, no scanners. */
void
agg_only_days(RollupAgg *agg, int32 *days, int ndays)
{
	agg->only_days = days;
	agg->n_only_days = ndays;
	agg->count_hours = false;
	agg->want_scanners = false;
}

/*
 * Count only the scanner dimension, of the days in [from, to] (of the
 * aggregation's zone): no hours, no Mirai entries.
 */
void
agg_only_scanners(RollupAgg *agg, int32 from, int32 to)
{
	agg->count_hours = false;
	agg->want_mirai = false;
	agg->scan_from = from;
	agg->scan_to = to;
}

/*
 * The rollups' large arrays (records, entries, sources: up to hundreds of
 * MB in a statement of millions of packets) are allocated in the current
 * memory context as any other, and the kernel is asked to back them with
 * transparent huge pages where it allows it ("madvise" mode): a first
 * touch then costs one page fault per 2 MB instead of 512.  Page faults on
 * fresh memory were a quarter of a million-source load.
 */
#define ROLLUP_HUGE_PAGE	((Size) 2 * 1024 * 1024)

static void *
advise_huge(void *p, Size size)
{
#ifdef MADV_HUGEPAGE
	if (size >= ROLLUP_HUGE_PAGE)
	{
		uintptr_t	lo = TYPEALIGN(ROLLUP_HUGE_PAGE, (uintptr_t) p);
		uintptr_t	hi = TYPEALIGN_DOWN(ROLLUP_HUGE_PAGE, (uintptr_t) p + size);

		/* advice only: without huge pages the memory is the same */
		if (hi > lo)
			(void) madvise((void *) lo, hi - lo, MADV_HUGEPAGE);
	}
#endif
	return p;
}

void *
rollup_alloc(Size size)
{
	return advise_huge(MemoryContextAllocHuge(CurrentMemoryContext, size), size);
}

void *
rollup_realloc(void *p, Size size)
{
	return advise_huge(repalloc_huge(p, size), size);
}

/*
 * Room for n items of size bytes in *buf, an array appended to or kept
 * from one use to the next (the parts of a statement, rollup_day.c's
 * PartWork): grown to at least twice when too small, never shrunk.
 */
void *
rollup_room(void **buf, Size *cap, Size n, Size size)
{
	if (n > *cap)
	{
		*cap = Max(n, 2 * *cap);
		*buf = *buf ? rollup_realloc(*buf, size * *cap) : rollup_alloc(size * *cap);
	}
	return *buf;
}

/*
 * Sort 64-bit keys on their low nbytes bytes: an LSD radix sort that skips
 * the bytes every key shares, stable; returns a or tmp, whichever holds
 * the result.
 */
uint64 *
radix_sort_u64(uint64 *a, uint64 *tmp, int n, int nbytes)
{
	uint32		(*hist)[256] = palloc0(sizeof(uint32) * 256 * nbytes);
	int			i,
				d;

	for (i = 0; i < n; i++)
		for (d = 0; d < nbytes; d++)
			hist[d][(a[i] >> (8 * d)) & 0xFF]++;
	for (d = 0; d < nbytes && n > 0; d++)
	{
		uint32		sum = 0;
		int			b;
		uint64	   *swap;

		if (hist[d][(a[0] >> (8 * d)) & 0xFF] == (uint32) n)
			continue;
		for (b = 0; b < 256; b++)
		{
			uint32		c = hist[d][b];

			hist[d][b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[hist[d][(a[i] >> (8 * d)) & 0xFF]++] = a[i];
		swap = a;
		a = tmp;
		tmp = swap;
	}
	pfree(hist);
	return a;
}

/* Sort the current run of IPv4 scanner keys and count it. */
static void
agg_flush_scan(RollupAgg *agg)
{
	uint64	   *tmp,
			   *k;
	ScanCount  *c;
	int			i,
				n = 0;

	if (agg->nskeys == 0)
		return;
	tmp = rollup_alloc(sizeof(uint64) * agg->nskeys);
	k = radix_sort_u64(agg->skeys, tmp, agg->nskeys, 7);
	c = rollup_alloc(sizeof(ScanCount) * agg->nskeys);
	for (i = 0; i < agg->nskeys; i++)
	{
		if (n > 0 && c[n - 1].key == k[i])
			c[n - 1].packets++;
		else
		{
			c[n].key = k[i];
			c[n].packets = 1;
			n++;
		}
	}
	pfree(tmp == k ? agg->skeys : tmp);
	agg->skeys = rollup_alloc(sizeof(uint64) * agg->capskeys);
	if (agg->nsruns == agg->capsruns)
	{
		agg->capsruns = Max(4, agg->capsruns * 2);
		agg->sruns = agg->sruns ? repalloc(agg->sruns, sizeof(ScanCount *) * agg->capsruns)
			: palloc(sizeof(ScanCount *) * agg->capsruns);
		agg->srun_n = agg->srun_n ? repalloc(agg->srun_n, sizeof(int) * agg->capsruns)
			: palloc(sizeof(int) * agg->capsruns);
	}
	agg->sruns[agg->nsruns] = c;
	agg->srun_n[agg->nsruns++] = n;
	pfree(k);
	agg->nskeys = 0;
	CHECK_FOR_INTERRUPTS();
}

/* Count a packet (its stored form, length checked) in the scanner dimension. */
static inline void
agg_scanner(RollupAgg *agg, const uint8 *buf, size_t len, int32 day)
{
	ScanKey		k;
	ScanHashElem *e;
	bool		found;
	int			rule;

	if (day < agg->scan_from || day > agg->scan_to)
		return;
	rule = mx_scanner_first_packed(buf, len, UINT32_MAX);
	if (rule < -1)
		elog(ERROR, "packet value not understood by the rollups");
	/* Mirai's packets are the day rows' own: mirai_scanners_daily reads them there */
	if (rule == MX_SCANNER_MIRAI)
		return;
	memset(&k, 0, sizeof(k));
	k.day = day;
	k.scanner = rule < 0 ? SCANNER_NONE : (uint8) rule;
	k.ipver = (uint8) mx_packed_src(buf, k.addr);
	if (!agg->scan_base_set)
	{
		agg->scan_base = day;
		agg->scan_base_set = true;
	}
	if (k.ipver == 4 && (int64) day - agg->scan_base >= -0x8000 &&
		(int64) day - agg->scan_base < 0x8000)
	{
		if (agg->nskeys == agg->capskeys)
		{
			if (agg->capskeys < AGG_RUN)
			{
				agg->capskeys = agg->capskeys == 0 ? 1024 : Min(agg->capskeys * 2, AGG_RUN);
				agg->skeys = agg->skeys ? rollup_realloc(agg->skeys, sizeof(uint64) * agg->capskeys)
					: rollup_alloc(sizeof(uint64) * agg->capskeys);
			}
			else
				agg_flush_scan(agg);
		}
		agg->skeys[agg->nskeys++] =
			((uint64) (day - agg->scan_base + 0x8000) << 40) | ((uint64) k.scanner << 32) |
			((uint64) k.addr[0] << 24) | ((uint64) k.addr[1] << 16) |
			((uint64) k.addr[2] << 8) | k.addr[3];
		return;
	}
	e = scanhash_insert(agg->scans, k, &found);
	if (!found)
		e->packets = 0;
	e->packets++;
}

/* Move the hour being counted into the hash. */
static void
agg_flush_hour(RollupAgg *agg)
{
	HourHashElem *h;
	bool		found;

	if (agg->cur_all == 0)
		return;
	h = hourhash_insert(agg->hours, agg->cur_hour, &found);
	if (!found)
		h->mirai = h->all = 0;
	h->mirai += agg->cur_mirai;
	h->all += agg->cur_all;
	agg->cur_mirai = agg->cur_all = 0;
}

/* Whether day is one of agg->only_days (when that filter is set). */
static bool
agg_wants_day(RollupAgg *agg, int32 day)
{
	int			lo = 0,
				hi = agg->n_only_days - 1;

	if (agg->only_days == NULL)
		return true;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (agg->only_days[mid] == day)
			return true;
		if (agg->only_days[mid] < day)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

static void agg_flush_run(RollupAgg *agg);

/*
 * Count one packet value, read in place from its stored form (no
 * unpacking, no allocation): its hour, and for a Mirai packet on a day the
 * aggregation wants, a record.
 */
static inline void
agg_packet(RollupAgg *agg, Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	const uint8 *buf;
	size_t		len;
	int			mirai;
	uint32		src = 0;
	uint16		dport = 0;
	int64		ns;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		v = pg_detoast_datum_packed(v);
	buf = (const uint8 *) VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	mirai = mx_packed_mirai_key(buf, len, &src, &dport);
	if (mirai < 0)
	{
		mx_packet	p;
		mx_error	err;

		/* not a stored form: let the full check say why */
		if (mx_packet_unpack(buf, len, &p, &err) != MX_OK)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("corrupt packet value: %s", err.message)));
		elog(ERROR, "packet value not understood by the rollups");
	}
	ns = mx_packed_ts(buf);
	if (agg->count_hours)
	{
		int64		hour = floor_div(ns, NS_PER_HOUR);

		if (hour != agg->cur_hour)
		{
			agg_flush_hour(agg);
			agg->cur_hour = hour;
		}
		agg->cur_all++;
		agg->cur_mirai += mirai;
	}
	if (agg->want_scanners)
		agg_scanner(agg, buf, len, agg_day(agg, ns));
	if (mirai && agg->want_mirai)
	{
		int32		day = agg_day(agg, ns);
		PacketRec  *r;

		if (agg->only_days != NULL && !agg_wants_day(agg, day))
			return;
		if (agg->nrecs == agg->caprecs)
		{
			if (agg->caprecs < AGG_RUN)
			{
				agg->caprecs = Min(agg->caprecs * 2, AGG_RUN);
				agg->recs = rollup_realloc(agg->recs, sizeof(PacketRec) * agg->caprecs);
			}
			else
				agg_flush_run(agg);
		}
		r = &agg->recs[agg->nrecs++];
		r->day = day;
		r->src = src;
		r->dport = dport;
		r->us = floor_div(ns, 1000);
	}
}

/*
 * Fold every row of a transition table into the aggregation.  Only the
 * stored packets are read: no code of the table's runs.
 */
void
agg_tuplestore(RollupAgg *agg, Tuplestorestate *ts, TupleDesc desc, AttrNumber attnum)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	uint64		rows = 0;

	/* a new read pointer starts where pointer 0 is: rewind it */
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		MinimalTuple mt = ((MinimalTupleTableSlot *) slot)->mintuple;
		bool		isnull;
		Datum		d;

		if (attnum == 1 && mt != NULL)
		{
			/* the first column starts right after the header, aligned */
			isnull = (mt->t_infomask & HEAP_HASNULL) != 0 && att_isnull(0, mt->t_bits);
			d = PointerGetDatum((char *) mt + mt->t_hoff - MINIMAL_TUPLE_OFFSET);
		}
		else
			d = slot_getattr(slot, attnum, &isnull);
		if (!isnull)
			agg_packet(agg, d);
		if ((++rows & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
	agg_flush_hour(agg);
	tuplestore_select_read_pointer(ts, 0);
}

/*
 * The days the aggregation wants, [*first, *last] of its zone, when it
 * wants only some (a recomputation, a scanner rebuild): false when it
 * wants every day.  An unbounded side is PG_INT32_MIN or PG_INT32_MAX.
 */
static bool
agg_day_bounds(RollupAgg *agg, int32 *first, int32 *last)
{
	if (agg->only_days != NULL && agg->n_only_days > 0)
	{
		*first = agg->only_days[0];
		*last = agg->only_days[agg->n_only_days - 1];
		return true;
	}
	if (!agg->want_mirai && (agg->scan_from != PG_INT32_MIN || agg->scan_to != PG_INT32_MAX))
	{
		*first = agg->scan_from;
		*last = agg->scan_to;
		return true;
	}
	return false;
}

/*
 * The instant a day of the aggregation's zone starts, when the zone keeps
 * one offset from UTC (UTC itself, Etc/GMT-9); otherwise a bound on it:
 * the start of that date in UTC moved by a day (slack), for every offset a
 * zone ever had is less than a day.
 */
static TimestampTz
agg_day_start(RollupAgg *agg, int32 day, int slack)
{
	long int	gmtoff;

	if (pg_get_timezone_offset(agg->tz, &gmtoff))
		return (TimestampTz) day * USECS_PER_DAY - (TimestampTz) gmtoff * USECS_PER_SEC;
	return (TimestampTz) (day + slack) * USECS_PER_DAY;
}

/*
 * Fold the rows of one relation, read as its owner, into agg.  When agg
 * wants only some days, only the rows whose packet_time lies in or around
 * them are asked for, so that a table partitioned by packet_time (or
 * indexed on it) is read only there; agg's own day filter stays the exact
 * one.
 */
static void
agg_relation(RollupAgg *agg, Oid relid, const char *column, const char *nspname)
{
	StringInfoData sql;
	Portal		portal;
	SPIPlanPtr	plan;
	RoleSwitch	saved;
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];
	char		nulls[2] = {'n', 'n'};
	int32		first,
				last;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s%s",
					 quote_identifier(column),
					 get_rel_relkind(relid) == RELKIND_RELATION ? "ONLY " : "",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (agg_day_bounds(agg, &first, &last))
	{
		const char *col = quote_identifier(column);
		const char *and = " WHERE ";

		/* days of packets: far from the ends of what a date can say */
		if (first > -(1 << 24))
		{
			appendStringInfo(&sql, "%s%s.packet_time(%s) OPERATOR(pg_catalog.>=) $1",
							 and, nspname, col);
			values[0] = TimestampTzGetDatum(agg_day_start(agg, first, -1));
			nulls[0] = ' ';
			and = " AND ";
		}
		if (last < (1 << 24))
		{
			appendStringInfo(&sql, "%s%s.packet_time(%s) OPERATOR(pg_catalog.<) $2",
							 and, nspname, col);
			values[1] = TimestampTzGetDatum(agg_day_start(agg, last + 1, 1));
			nulls[1] = ' ';
		}
	}
	rollup_as_table_owner(relid, &saved);
	plan = SPI_prepare(sql.data, 2, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, values, nulls, false);
	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				agg_packet(agg, d);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	rollup_role_end(&saved);
}

/*
 * Fold the rows of the table itself into the aggregation: every row, or
 * those of the days it wants (agg_relation).  The table is read as its owner, under SECURITY_RESTRICTED_OPERATION
 * (whatever runs there, a policy or a foreign table's server, runs as the
 * owner and cannot change the session's role); a plain table is read
 * without its inheritance children, whose rows its triggers never see.
 * Of a fleet table (fleet_trigger.c) only the local partitions are read,
 * each as its owner: the rows of its foreign partitions are counted by
 * their servers.  The caller holds a lock on the table and has checked its
 * kind.
 */
void
agg_table(RollupAgg *agg, const ExtInfo *info, Oid relid, AttrNumber attnum)
{
	char	   *column = get_attname(relid, attnum, false);

	if (fleet_is(relid))
	{
		List	   *local = fleet_local_relations(relid, true);
		ListCell   *lc;

		foreach(lc, local)
			agg_relation(agg, lfirst_oid(lc), column, info->nspname);
	}
	else
		agg_relation(agg, relid, column, info->nspname);
	agg_flush_hour(agg);
}

/*
 * Fold one packet value (a row of a fleet table's local partition, given
 * to its row trigger) into the aggregation; agg_finish before its entries
 * and hours are read.
 */
void
agg_add(RollupAgg *agg, Datum value)
{
	agg_packet(agg, value);
}

/* Count the hour being counted: the packets added one by one are all in. */
void
agg_finish(RollupAgg *agg)
{
	agg_flush_hour(agg);
}

static int
rec_cmp(const void *a, const void *b)
{
	const PacketRec *x = a;
	const PacketRec *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return 0;
}

/* The sort key of a record: day offset 16 bits, source 32, port 16. */
static inline uint64
rec_key(const PacketRec *r, int32 dmin)
{
	return ((uint64) (r->day - dmin) << 48) | ((uint64) r->src << 16) | r->dport;
}

/*
 * Sort records by (day, src, dport): an LSD radix sort on their 64-bit
 * keys that skips the bytes every key shares; qsort when the days span
 * more than 16 bits.  Returns r, sorted.
 */
static PacketRec *
sort_recs(PacketRec *r, int n)
{
	PacketRec  *orig = r;
	int32		dmin = PG_INT32_MAX,
				dmax = PG_INT32_MIN;
	uint32		(*hist)[256];
	PacketRec  *t;
	int			i,
				d;

	for (i = 0; i < n; i++)
	{
		dmin = Min(dmin, r[i].day);
		dmax = Max(dmax, r[i].day);
	}
	if (n < 64 || (int64) dmax - dmin > 0xFFFF)
	{
		qsort(r, n, sizeof(PacketRec), rec_cmp);
		return r;
	}
	t = rollup_alloc(sizeof(PacketRec) * n);
	hist = palloc0(sizeof(uint32) * 256 * 8);
	for (i = 0; i < n; i++)
	{
		uint64		k = rec_key(&r[i], dmin);

		for (d = 0; d < 8; d++)
			hist[d][(k >> (8 * d)) & 0xFF]++;
	}
	for (d = 0; d < 8; d++)
	{
		uint32		sum = 0;
		int			b;
		PacketRec  *swap;

		/* a byte every key shares does not reorder anything */
		if (hist[d][(rec_key(&r[0], dmin) >> (8 * d)) & 0xFF] == (uint32) n)
			continue;
		for (b = 0; b < 256; b++)
		{
			uint32		c = hist[d][b];

			hist[d][b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			t[hist[d][(rec_key(&r[i], dmin) >> (8 * d)) & 0xFF]++] = r[i];
		swap = r;
		r = t;
		t = swap;
	}
	/* the sorted records in the caller's array */
	if (r != orig)
	{
		memcpy(orig, r, sizeof(PacketRec) * n);
		t = r;
	}
	pfree(t);
	pfree(hist);
	return orig;
}

/* Sort the current run of records and sum it into entries. */
static void
agg_flush_run(RollupAgg *agg)
{
	PacketRec  *r;
	DayEntry   *e;
	int			i,
				k = 0;

	if (agg->nrecs == 0)
		return;
	r = sort_recs(agg->recs, agg->nrecs);
	e = rollup_alloc(sizeof(DayEntry) * agg->nrecs);
	for (i = 0; i < agg->nrecs; i++)
	{
		if (k > 0 && e[k - 1].day == r[i].day && e[k - 1].src == r[i].src &&
			e[k - 1].dport == r[i].dport)
		{
			e[k - 1].packets++;
			e[k - 1].first_us = Min(e[k - 1].first_us, r[i].us);
			e[k - 1].last_us = Max(e[k - 1].last_us, r[i].us);
			continue;
		}
		memset(&e[k], 0, sizeof(DayEntry));
		e[k].day = r[i].day;
		e[k].src = r[i].src;
		e[k].dport = r[i].dport;
		e[k].packets = 1;
		e[k].first_us = e[k].last_us = r[i].us;
		k++;
	}
	if (agg->nruns == agg->capruns)
	{
		agg->capruns = Max(4, agg->capruns * 2);
		agg->runs = agg->runs ? repalloc(agg->runs, sizeof(DayEntry *) * agg->capruns)
			: palloc(sizeof(DayEntry *) * agg->capruns);
		agg->run_n = agg->run_n ? repalloc(agg->run_n, sizeof(int) * agg->capruns)
			: palloc(sizeof(int) * agg->capruns);
	}
	agg->runs[agg->nruns] = e;
	agg->run_n[agg->nruns++] = k;
	agg->nrecs = 0;
	CHECK_FOR_INTERRUPTS();
}

static inline int
entry_order(const DayEntry *x, const DayEntry *y)
{
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return 0;
}

/* Merge two sorted runs of entries, summing equal keys. */
static DayEntry *
merge_runs(DayEntry *a, int na, DayEntry *b, int nb, int *n)
{
	DayEntry   *out = rollup_alloc(sizeof(DayEntry) * Max(na + nb, 1));
	int			i = 0,
				j = 0,
				k = 0;

	while (i < na || j < nb)
	{
		int			c = i >= na ? 1 : j >= nb ? -1 : entry_order(&a[i], &b[j]);

		if (c < 0)
			out[k++] = a[i++];
		else if (c > 0)
			out[k++] = b[j++];
		else
		{
			out[k] = a[i++];
			out[k].packets += b[j].packets;
			out[k].first_us = Min(out[k].first_us, b[j].first_us);
			out[k].last_us = Max(out[k].last_us, b[j].last_us);
			k++;
			j++;
		}
	}
	*n = k;
	return out;
}

/* The aggregation's entries as an array sorted by (day, src, dport). */
DayEntry *
agg_entries(RollupAgg *agg, int *n)
{
	DayEntry   *e;
	int			i;

	agg_flush_run(agg);
	if (agg->nruns == 0)
	{
		*n = 0;
		return palloc(sizeof(DayEntry));
	}
	/* runs merged pairwise, in order */
	e = agg->runs[0];
	*n = agg->run_n[0];
	for (i = 1; i < agg->nruns; i++)
	{
		DayEntry   *m = merge_runs(e, *n, agg->runs[i], agg->run_n[i], n);

		pfree(e);
		pfree(agg->runs[i]);
		e = m;
	}
	agg->runs[0] = e;
	agg->run_n[0] = *n;
	agg->nruns = 1;
	return e;
}

static int
hour_cmp(const void *a, const void *b)
{
	int64		x = ((const HourCount *) a)->hour;
	int64		y = ((const HourCount *) b)->hour;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The aggregation's hourly counts, times sign, sorted by hour. */
HourCount *
agg_hours(RollupAgg *agg, int sign, int *n)
{
	hourhash_iterator it;
	HourHashElem *h;
	HourCount  *out = palloc(sizeof(HourCount) * Max(agg->hours->members, 1));
	int			i = 0;

	hourhash_start_iterate(agg->hours, &it);
	while ((h = hourhash_iterate(agg->hours, &it)) != NULL)
	{
		out[i].hour = h->hour;
		out[i].mirai = sign * h->mirai;
		out[i].all = sign * h->all;
		i++;
	}
	qsort(out, i, sizeof(HourCount), hour_cmp);
	*n = i;
	return out;
}

static int
scan_key_cmp(const void *a, const void *b)
{
	const ScanEntry *x = a;
	const ScanEntry *y = b;

	if (x->key.day != y->key.day)
		return x->key.day < y->key.day ? -1 : 1;
	if (x->key.scanner != y->key.scanner)
		return x->key.scanner < y->key.scanner ? -1 : 1;
	if (x->key.ipver != y->key.ipver)
		return x->key.ipver < y->key.ipver ? -1 : 1;
	return memcmp(x->key.addr, y->key.addr, sizeof(x->key.addr));
}

/*
 * The aggregation's packets per (day, scanner, source), sorted by day,
 * scanner (rule index, SCANNER_NONE last), IP version and address.
 */
ScanEntry *
agg_scanners(RollupAgg *agg, int *n)
{
	scanhash_iterator it;
	ScanHashElem *h;
	ScanEntry  *out;
	ScanCount  *c;
	int			nc,
				i = 0,
				r;

	/* the IPv4 runs merged pairwise, in order */
	agg_flush_scan(agg);
	c = agg->nsruns > 0 ? agg->sruns[0] : NULL;
	nc = agg->nsruns > 0 ? agg->srun_n[0] : 0;
	for (r = 1; r < agg->nsruns; r++)
	{
		ScanCount  *b = agg->sruns[r],
				   *m = MemoryContextAllocHuge(CurrentMemoryContext,
											   sizeof(ScanCount) * (nc + agg->srun_n[r]));
		int			x = 0,
					y = 0,
					k = 0;

		while (x < nc || y < agg->srun_n[r])
		{
			if (y >= agg->srun_n[r] || (x < nc && c[x].key < b[y].key))
				m[k++] = c[x++];
			else if (x >= nc || b[y].key < c[x].key)
				m[k++] = b[y++];
			else
			{
				m[k] = c[x++];
				m[k++].packets += b[y++].packets;
			}
		}
		pfree(c);
		pfree(b);
		c = m;
		nc = k;
		CHECK_FOR_INTERRUPTS();
	}
	agg->nsruns = 0;
	out = MemoryContextAllocHuge(CurrentMemoryContext,
								 sizeof(ScanEntry) * Max(nc + agg->scans->members, 1));
	for (i = 0; i < nc; i++)
	{
		ScanKey    *k = &out[i].key;
		uint32		a = (uint32) c[i].key;

		memset(k, 0, sizeof(ScanKey));
		k->day = (int32) ((c[i].key >> 40) & 0xFFFF) - 0x8000 + agg->scan_base;
		k->scanner = (uint8) (c[i].key >> 32);
		k->ipver = 4;
		k->addr[0] = a >> 24;
		k->addr[1] = a >> 16;
		k->addr[2] = a >> 8;
		k->addr[3] = a;
		out[i].packets = c[i].packets;
	}
	if (c)
		pfree(c);
	/* sorted as they are, unless other keys join them */
	if (agg->scans->members > 0)
	{
		scanhash_start_iterate(agg->scans, &it);
		while ((h = scanhash_iterate(agg->scans, &it)) != NULL)
		{
			out[i].key = h->key;
			out[i].packets = h->packets;
			i++;
		}
		scanhash_reset(agg->scans);
		qsort(out, i, sizeof(ScanEntry), scan_key_cmp);
	}
	*n = i;
	return out;
}
