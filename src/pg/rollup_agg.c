/*-------------------------------------------------------------------------
 *
 * rollup_agg.c
 *		Folding packets into (day, source, port) entries and hourly counts.
 *
 * One pass over a statement's transition table (or, to rebuild, over the
 * table itself) reads each packet's stored form in place and counts it in
 * two hashes: Mirai packets per (day of the table's zone, source,
 * destination port) with their first and last time, and all and Mirai
 * packets per UTC hour.  The entries come out sorted for rollup_store.c,
 * which merges them into the day rows.
 *
 * Where the time goes (perf on a tracked COPY of the benchmark): capturing
 * the transition table (PostgreSQL's, per row), reading it back, and
 * folding each packet into the hash of entries are per row; so packets are
 * read in place in batches whose hash buckets are prefetched, the day of a
 * time is cached per quarter hour, and the batch is radix-sorted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"
#include "rollup.h"

#define NS_PER_QUARTER	INT64CONST(900000000000)

/* Key of the hash of entries. */
typedef struct EntryKey
{
	int32		day;
	uint32		src;
	uint16		dport;
} EntryKey;

typedef struct EntryHashElem
{
	EntryKey	key;
	char		status;
	int64		packets;
	int64		first_us;
	int64		last_us;
} EntryHashElem;

typedef struct HourHashElem
{
	int64		hour;			/* floor(ns / 1 hour) */
	char		status;
	int64		mirai;
	int64		all;
} HourHashElem;

static inline uint32
entry_key_hash(EntryKey k)
{
	uint32		h = murmurhash32(k.src ^ ((uint32) k.dport << 16) ^ (uint32) k.dport);

	return hash_combine(h, (uint32) k.day);
}

#define SH_PREFIX		entryhash
#define SH_ELEMENT_TYPE	EntryHashElem
#define SH_KEY_TYPE		EntryKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	entry_key_hash(k)
#define SH_EQUAL(tb, a, b)	((a).src == (b).src && (a).day == (b).day && (a).dport == (b).dport)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

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

/* Quarter hours -> day, cached: packets arrive mostly in time order. */
#define QCACHE_SIZE 256
typedef struct QCacheSlot
{
	int64		q;
	int32		day;			/* PG_INT32_MIN: the quarter spans midnight */
	bool		valid;
} QCacheSlot;

struct RollupAgg
{
	pg_tz	   *tz;
	entryhash_hash *entries;
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

/* A timestamptz from Unix microseconds (within what int64 ns can say). */
static inline TimestampTz
us_to_timestamptz(int64 us)
{
	return (TimestampTz) (us - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
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

/*
 * Start an aggregation; rows, when known, sizes the hash of entries (the
 * study's batches have one entry for every two to fifteen packets; a table
 * much bigger than its entries only costs cache misses, so it starts at an
 * eighth of the rows, at most 64 k, and grows when needed).
 */
RollupAgg *
agg_create(pg_tz *tz, int64 rows)
{
	RollupAgg  *agg = palloc0(sizeof(RollupAgg));

	agg->tz = tz;
	agg->entries = entryhash_create(CurrentMemoryContext,
									rows > 0 ? Min(Max(rows / 8, 256), 1 << 16) : 4096,
									NULL);
	agg->hours = hourhash_create(CurrentMemoryContext, 64, NULL);
	agg->cur_hour = PG_INT64_MIN;
	agg->count_hours = true;
	return agg;
}

/* Count only the packets of these days (sorted), and no hours. */
void
agg_only_days(RollupAgg *agg, int32 *days, int ndays)
{
	agg->only_days = days;
	agg->n_only_days = ndays;
	agg->count_hours = false;
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

/* What the rollups need of one packet, read from its stored form. */
typedef struct PacketKey
{
	int64		ns;
	EntryKey	key;			/* when entry is set */
	uint32		hash;
	bool		mirai;
	bool		entry;			/* Mirai, and on a day the aggregation wants */
} PacketKey;

#define AGG_BATCH	32

/*
 * Read one packet value into pk: time, Mirai test, source, port, read in
 * place (no unpacking, no allocation); for a Mirai packet also its day and
 * the hash of its entry, whose bucket is prefetched.
 */
static inline void
agg_read(RollupAgg *agg, Datum value, PacketKey *pk)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	const uint8 *buf;
	size_t		len;
	int			mirai;
	uint32		src = 0;
	uint16		dport = 0;

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
	pk->ns = mx_packed_ts(buf);
	pk->mirai = mirai;
	pk->entry = false;
	if (mirai)
	{
		pk->key.day = agg_day(agg, pk->ns);
		if (agg->only_days != NULL && !agg_wants_day(agg, pk->key.day))
			return;
		pk->entry = true;
		pk->key.src = src;
		pk->key.dport = dport;
		pk->hash = entry_key_hash(pk->key);
		__builtin_prefetch(&agg->entries->data[pk->hash & agg->entries->sizemask], 1);
	}
}

/* Count packets read by agg_read. */
static inline void
agg_count(RollupAgg *agg, const PacketKey *pk, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (agg->count_hours)
		{
			int64		hour = floor_div(pk[i].ns, NS_PER_HOUR);

			if (hour != agg->cur_hour)
			{
				agg_flush_hour(agg);
				agg->cur_hour = hour;
			}
			agg->cur_all++;
			agg->cur_mirai += pk[i].mirai;
		}
		if (pk[i].entry)
		{
			EntryHashElem *e;
			bool		found;
			int64		us = floor_div(pk[i].ns, 1000);

			e = entryhash_insert_hash(agg->entries, pk[i].key, pk[i].hash, &found);
			if (!found)
			{
				e->packets = 1;
				e->first_us = us;
				e->last_us = us;
				continue;
			}
			e->packets++;
			if (us < e->first_us)
				e->first_us = us;
			if (us > e->last_us)
				e->last_us = us;
		}
	}
}

/*
 * Fold every row of a transition table into the aggregation, AGG_BATCH
 * rows at a time: their hash buckets are fetched while the next rows are
 * read (the hash of a big statement does not fit in the CPU's caches).
 * Only the stored packets are read: no code of the table's runs.
 */
void
agg_tuplestore(RollupAgg *agg, Tuplestorestate *ts, TupleDesc desc, AttrNumber attnum)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	PacketKey	batch[AGG_BATCH];
	int			n = 0;
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
			agg_read(agg, d, &batch[n++]);
		if (n == AGG_BATCH)
		{
			agg_count(agg, batch, n);
			n = 0;
		}
		if ((++rows & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	agg_count(agg, batch, n);
	ExecDropSingleTupleTableSlot(slot);
	agg_flush_hour(agg);
	tuplestore_select_read_pointer(ts, 0);
}

/*
 * Fold every row of the table itself (a full scan) into the aggregation.
 * The table is read as its owner, under SECURITY_RESTRICTED_OPERATION
 * (whatever runs there, a policy or a foreign table's server, runs as the
 * owner and cannot change the session's role); a plain table is read
 * without its inheritance children, whose rows its triggers never see.
 * The caller holds a lock on the table and has checked its kind.
 */
void
agg_table(RollupAgg *agg, Oid relid, AttrNumber attnum)
{
	char	   *sql;
	Portal		portal;
	SPIPlanPtr	plan;
	RoleSwitch	saved;

	sql = psprintf("SELECT %s FROM %s%s",
				   quote_identifier(get_attname(relid, attnum, false)),
				   get_rel_relkind(relid) == RELKIND_RELATION ? "ONLY " : "",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
	rollup_as_table_owner(relid, &saved);
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
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
			PacketKey	pk;

			if (!isnull)
			{
				agg_read(agg, d, &pk);
				agg_count(agg, &pk, 1);
			}
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	rollup_role_end(&saved);
	agg_flush_hour(agg);
}

static int
entry_cmp(const void *a, const void *b)
{
	const DayEntry *x = a;
	const DayEntry *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return 0;
}

/* A sort key and where its entry is. */
typedef struct SortItem
{
	uint64		key;
	uint32		pos;
} SortItem;

/*
 * Sort entries by (day, src, dport): an LSD radix sort on 64-bit keys
 * (day offset 16 bits, source 32, port 16) that skips the bytes every key
 * shares; qsort when the days span more than 16 bits.
 */
static DayEntry *
sort_entries(DayEntry *e, int n)
{
	int32		dmin = PG_INT32_MAX,
				dmax = PG_INT32_MIN;
	SortItem   *a,
			   *t;
	uint32		(*hist)[256];
	DayEntry   *out;
	int			i,
				d;

	for (i = 0; i < n; i++)
	{
		dmin = Min(dmin, e[i].day);
		dmax = Max(dmax, e[i].day);
	}
	if (n < 64 || (int64) dmax - dmin > 0xFFFF)
	{
		qsort(e, n, sizeof(DayEntry), entry_cmp);
		return e;
	}
	a = palloc(sizeof(SortItem) * n);
	t = palloc(sizeof(SortItem) * n);
	hist = palloc0(sizeof(uint32) * 256 * 8);
	for (i = 0; i < n; i++)
	{
		uint64		k = ((uint64) (e[i].day - dmin) << 48) |
			((uint64) e[i].src << 16) | e[i].dport;

		a[i].key = k;
		a[i].pos = i;
		for (d = 0; d < 8; d++)
			hist[d][(k >> (8 * d)) & 0xFF]++;
	}
	for (d = 0; d < 8; d++)
	{
		uint32		sum = 0;
		int			b;
		SortItem   *swap;

		/* a byte every key shares does not reorder anything */
		if (hist[d][(a[0].key >> (8 * d)) & 0xFF] == (uint32) n)
			continue;
		for (b = 0; b < 256; b++)
		{
			uint32		c = hist[d][b];

			hist[d][b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			t[hist[d][(a[i].key >> (8 * d)) & 0xFF]++] = a[i];
		swap = a;
		a = t;
		t = swap;
	}
	out = palloc(sizeof(DayEntry) * n);
	for (i = 0; i < n; i++)
		out[i] = e[a[i].pos];
	pfree(a);
	pfree(t);
	pfree(hist);
	pfree(e);
	return out;
}

/* The aggregation's entries as an array sorted by (day, src, dport). */
DayEntry *
agg_entries(RollupAgg *agg, int *n)
{
	entryhash_iterator it;
	EntryHashElem *e;
	DayEntry   *out = palloc(sizeof(DayEntry) * Max(agg->entries->members, 1));
	int			i = 0;

	entryhash_start_iterate(agg->entries, &it);
	while ((e = entryhash_iterate(agg->entries, &it)) != NULL)
	{
		memset(&out[i], 0, sizeof(DayEntry));
		out[i].day = e->key.day;
		out[i].src = e->key.src;
		out[i].dport = e->key.dport;
		out[i].packets = e->packets;
		out[i].first_us = e->first_us;
		out[i].last_us = e->last_us;
		i++;
	}
	*n = i;
	return sort_entries(out, i);
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
