/*-------------------------------------------------------------------------
 *
 * rollup.c
 *		Incrementally maintained Mirai rollups of tracked packet tables.
 *
 * A tracked table (see mirai_track in src/sql/40_rollup.sql) has AFTER ...
 * FOR EACH STATEMENT triggers with transition tables that call
 * mirai_rollup_trigger.  Each statement's new (or, when rollups follow
 * deletes, old) rows are scanned once, in C, and folded into:
 *
 *	mirai_rollup_hour	(tbl, hour) -> Mirai packets, all packets; UTC hours,
 *						upserted with ON CONFLICT in hour order;
 *	mirai_rollup_day	(tbl, day)	-> Mirai packets, distinct sources, packets
 *						per country, and "entries": one packed record per
 *						(source, destination port) seen that day with its
 *						packets, first and last time and country.  Days are
 *						days of the table's time zone.
 *
 * Why a packed day row and not a row per (day, source): measured on the
 * study's shape (1.47 M Mirai packets, 306 k (day, source) pairs), COPY
 * loads the 1.84 M packets in about 0.75 s; upserting 306 k pairs costs
 * more than that on its own, and aggregating the transition table in SQL
 * took 1.5 s.  One C pass over the transition table plus one UPDATE per day
 * touched keeps the cost a fraction of the load (figures in README).
 *
 * Where the time goes (perf on a tracked COPY of the benchmark): capturing
 * the transition table (PostgreSQL's, per row), reading it back, and
 * folding each packet into a hash of (day, source, port) entries are per
 * row; per statement, each day touched is read, merged and written back
 * whole (TOAST), so the day row is kept small (entries version 2, about
 * 15 bytes an entry), the statements are prepared once per backend, the
 * batch is radix-sorted, and packets are read in place in batches whose
 * hash buckets are prefetched.
 *
 * Invariants:
 *	- every count is exactly the GROUP BY over the table's current rows
 *	  (rollups that follow deletes) or over every row ever inserted
 *	  (rollups kept as history);
 *	- a day row is changed only while locked (SELECT ... FOR UPDATE, days in
 *	  ascending order, then hours in ascending order), so concurrent loaders
 *	  neither lose nor double a count and cannot deadlock each other within
 *	  single-statement transactions;
 *	- the country of an entry is the GeoIP answer when the entry was first
 *	  made, and never changes afterwards.
 *
 * Privileges: the rollup tables belong to the extension's owner and nobody
 * else may write them.  The C entry points check what the caller may do
 * (the trigger fires only for tracked tables; mirai_rollup_admin demands
 * ownership of the table) and then switch to the rollup tables' owner for
 * their SPI statements, as a SECURITY DEFINER function would.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "port/pg_bswap.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "mirai_ext.h"

#define NS_PER_HOUR		INT64CONST(3600000000000)
#define NS_PER_QUARTER	INT64CONST(900000000000)

#define ENTRIES_V1		1		/* fixed 38-byte entries, times in ns (read only) */
#define ENTRIES_V2		2		/* varint entries, times in us (written) */
#define V1_ENTRY_BYTES	38
#define COUNTRY_LEN		8		/* NUL-padded; "" = unknown */
#define PORTS_SHOWN		32		/* ports listed per source, at most */

/* One (day, source, destination port) aggregate. */
typedef struct DayEntry
{
	int32		day;			/* DateADT in the table's zone */
	uint32		src;			/* IPv4 address, host order */
	uint16		dport;
	int64		packets;
	int64		first_us;		/* Unix microseconds, rounded down */
	int64		last_us;
	char		country[COUNTRY_LEN];
} DayEntry;

/* Key of the per-statement hash of entries. */
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

/* A source's country, cached for one statement. */
typedef struct CountryHashElem
{
	uint32		src;
	char		status;
	char		country[COUNTRY_LEN];
} CountryHashElem;

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

#define SH_PREFIX		countryhash
#define SH_ELEMENT_TYPE	CountryHashElem
#define SH_KEY_TYPE		uint32
#define SH_KEY			src
#define SH_HASH_KEY(tb, k)	murmurhash32(k)
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

/* Everything one pass over a set of packets produces. */
typedef struct RollupAgg
{
	MemoryContext cxt;
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
} RollupAgg;

/* The tracked table's settings, read from mirai_tracked. */
typedef struct Tracked
{
	Oid			relid;
	char	   *time_zone;
	bool		follow_deletes;
	AttrNumber	attnum;
} Tracked;

/* Where the extension's objects are, and who owns the rollup tables. */
typedef struct ExtInfo
{
	Oid			nsp;
	char	   *nspname;		/* quoted */
	Oid			owner;
	Oid			packet_type;
} ExtInfo;

/*
 * Countries of new entries, looked up lazily, once per source and
 * statement, and only when a GeoIP database is configured.
 */
typedef struct CountryLookup
{
	bool		enabled;
	bool		ready;
	countryhash_hash *cache;
} CountryLookup;

/*
 * The statements the trigger runs, prepared once per backend (and again
 * when the extension's schema is not the one they were made for).
 */
typedef struct RollupPlans
{
	bool		valid;
	char		nspname[2 * NAMEDATALEN + 3];
	SPIPlanPtr	tracked;		/* the table's settings */
	SPIPlanPtr	day_lock;		/* SELECT entries ... FOR UPDATE */
	SPIPlanPtr	day_insert;		/* a new day row, ON CONFLICT DO NOTHING */
	SPIPlanPtr	day_update;		/* a locked day row's new contents */
	SPIPlanPtr	hours_add;		/* upsert of hourly counts */
	SPIPlanPtr	hours_prune;	/* hours left with no packet */
} RollupPlans;

static RollupPlans plans;

/* ----------------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------------
 */

/* floor(a / b) for b > 0 */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

/* A timestamptz from Unix microseconds. */
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

/* The day (in the aggregation's zone) of a packet time in nanoseconds. */
static inline int32
agg_day(RollupAgg *agg, int64 ns)
{
	int64		q = floor_div(ns, NS_PER_QUARTER);
	QCacheSlot *slot = &agg->qcache[(uint64) q % QCACHE_SIZE];

	if (!slot->valid || slot->q != q)
	{
		int32		a = ts_day(mirai_ns_to_timestamptz(q * NS_PER_QUARTER), agg->tz);
		int32		b = ts_day(mirai_ns_to_timestamptz((q + 1) * NS_PER_QUARTER - 1), agg->tz);

		slot->q = q;
		slot->day = (a == b) ? a : PG_INT32_MIN;
		slot->valid = true;
	}
	if (slot->day != PG_INT32_MIN)
		return slot->day;
	/* a zone whose midnight is not on a quarter hour: exact, slower */
	return ts_day(mirai_ns_to_timestamptz(ns), agg->tz);
}

/* Find the extension's schema, the rollup tables' owner and the packet type. */
static void
ext_info(Oid fn_oid, ExtInfo *info)
{
	Oid			relid;
	HeapTuple	tup;

	info->nsp = get_func_namespace(fn_oid);
	info->nspname = (char *) quote_identifier(get_namespace_name(info->nsp));
	relid = get_relname_relid("mirai_rollup_day", info->nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "mirai_ext rollup tables are missing");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	info->owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	info->packet_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum("packet"),
										ObjectIdGetDatum(info->nsp));
	if (!OidIsValid(info->packet_type))
		elog(ERROR, "mirai_ext type packet is missing");
}

/* SPI_prepare and SPI_keepplan, or an error. */
static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

	if (p == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(p) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return p;
}

/* Make the trigger's statements, unless they exist for this schema. */
static void
prepare_plans(const ExtInfo *info)
{
	Oid			t_oid[1] = {OIDOID};
	Oid			t_day[2] = {OIDOID, DATEOID};
	Oid			t_row[7] = {OIDOID, DATEOID, INT8OID, INT8OID, TEXTARRAYOID, INT8ARRAYOID, BYTEAOID};
	Oid			t_hours[4] = {OIDOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	const char *n = info->nspname;

	if (plans.valid && strcmp(plans.nspname, n) == 0)
		return;
	if (strlen(n) >= sizeof(plans.nspname))
		elog(ERROR, "schema name too long");
	plans.valid = false;
	if (plans.tracked)
		SPI_freeplan(plans.tracked);
	if (plans.day_lock)
		SPI_freeplan(plans.day_lock);
	if (plans.day_insert)
		SPI_freeplan(plans.day_insert);
	if (plans.day_update)
		SPI_freeplan(plans.day_update);
	if (plans.hours_add)
		SPI_freeplan(plans.hours_add);
	if (plans.hours_prune)
		SPI_freeplan(plans.hours_prune);
	memset(&plans, 0, sizeof(plans));

	plans.tracked = keep_plan(psprintf("SELECT time_zone, on_delete OPERATOR(pg_catalog.=) 'follow' "
									   "FROM %s.mirai_tracked WHERE tbl = $1::pg_catalog.oid", n),
							  1, t_oid);
	plans.day_lock = keep_plan(psprintf("SELECT entries FROM %s.mirai_rollup_day "
										"WHERE tbl = $1::pg_catalog.oid AND day = $2 FOR UPDATE", n),
							   2, t_day);
	plans.day_insert = keep_plan(psprintf("INSERT INTO %s.mirai_rollup_day (tbl, day, packets, sources, "
										  "countries, country_packets, entries) "
										  "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6, $7) "
										  "ON CONFLICT (tbl, day) DO NOTHING", n),
								 7, t_row);
	plans.day_update = keep_plan(psprintf("UPDATE %s.mirai_rollup_day SET packets = $3, sources = $4, "
										  "countries = $5, country_packets = $6, entries = $7 "
										  "WHERE tbl = $1::pg_catalog.oid AND day = $2", n),
								 7, t_row);
	plans.hours_add = keep_plan(psprintf("INSERT INTO %s.mirai_rollup_hour AS h (tbl, hour, packets, all_packets) "
										 "SELECT $1::pg_catalog.oid, u.hour, u.m, u.a "
										 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), "
										 "pg_catalog.unnest($4)) AS u(hour, m, a) ORDER BY u.hour "
										 "ON CONFLICT (tbl, hour) DO UPDATE SET "
										 "packets = h.packets OPERATOR(pg_catalog.+) excluded.packets, "
										 "all_packets = h.all_packets OPERATOR(pg_catalog.+) excluded.all_packets", n),
								4, t_hours);
	plans.hours_prune = keep_plan(psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl = $1::pg_catalog.oid "
										   "AND hour OPERATOR(pg_catalog.=) ANY ($2) AND all_packets = 0", n),
								  2, t_hours);
	strlcpy(plans.nspname, n, sizeof(plans.nspname));
	plans.valid = true;
}

/* The one column of type packet of a relation; error when not exactly one. */
static AttrNumber
packet_column(TupleDesc desc, Oid packet_type, Oid relid)
{
	AttrNumber	found = InvalidAttrNumber;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != packet_type)
			continue;
		if (found != InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("table \"%s\" has more than one column of type packet",
							get_rel_name(relid)),
					 errdetail("A tracked table holds its packets in exactly one column.")));
		found = att->attnum;
	}
	if (found == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" has no column of type packet",
						get_rel_name(relid))));
	return found;
}

/* Read the tracked table's settings; false when it is not tracked. */
static bool
read_tracked(const ExtInfo *info, Oid relid, Tracked *t)
{
	Datum		values[1];
	bool		isnull;

	prepare_plans(info);
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_plan(plans.tracked, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	if (SPI_processed == 0)
		return false;
	t->relid = relid;
	t->time_zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	t->follow_deletes = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/*
 * The settings of tracked tables as their triggers last saw them, by the
 * trigger's OID: mirai_tracked changes only through mirai_track and
 * mirai_untrack, which make and drop the triggers, so a trigger's table
 * keeps the settings it had when the trigger was made.
 */
#define TRACKED_CACHE_SIZE 16
typedef struct TrackedCacheEntry
{
	Oid			tgoid;
	Oid			relid;
	bool		follow_deletes;
	char		time_zone[TZ_STRLEN_MAX + 1];
} TrackedCacheEntry;

static TrackedCacheEntry tracked_cache[TRACKED_CACHE_SIZE];
static int	tracked_cache_next;

/* read_tracked for the table of a trigger, cached per trigger. */
static bool
trigger_tracked(const ExtInfo *info, Oid tgoid, Oid relid, Tracked *t)
{
	TrackedCacheEntry *c;
	int			i;

	for (i = 0; i < TRACKED_CACHE_SIZE; i++)
	{
		c = &tracked_cache[i];
		if (c->tgoid == tgoid && c->relid == relid && OidIsValid(tgoid))
		{
			t->relid = relid;
			t->time_zone = c->time_zone;
			t->follow_deletes = c->follow_deletes;
			return true;
		}
	}
	if (!read_tracked(info, relid, t))
		return false;
	if (strlen(t->time_zone) <= TZ_STRLEN_MAX)
	{
		c = &tracked_cache[tracked_cache_next];
		tracked_cache_next = (tracked_cache_next + 1) % TRACKED_CACHE_SIZE;
		c->tgoid = tgoid;
		c->relid = relid;
		c->follow_deletes = t->follow_deletes;
		strlcpy(c->time_zone, t->time_zone, sizeof(c->time_zone));
	}
	return true;
}

/* A pg_tz for a zone name, or an error naming it. */
static pg_tz *
zone_or_error(const char *name)
{
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name),
				 errhint("Use a name from pg_timezone_names, such as 'UTC' or 'Asia/Tokyo'.")));
	return tz;
}

/* ----------------------------------------------------------------------
 * Aggregation of packets
 * ----------------------------------------------------------------------
 */

/*
 * Start an aggregation; rows, when known, sizes the hash of entries (the
 * study's batches have one entry for every two to fifteen packets; a table
 * much bigger than its entries only costs cache misses, so it starts at an
 * eighth of the rows, at most 64 k, and grows when needed).
 */
static void
agg_init(RollupAgg *agg, pg_tz *tz, int64 rows)
{
	memset(agg, 0, sizeof(*agg));
	agg->cxt = CurrentMemoryContext;
	agg->tz = tz;
	agg->entries = entryhash_create(agg->cxt,
									rows > 0 ? Min(Max(rows / 8, 256), 1 << 16) : 4096,
									NULL);
	agg->hours = hourhash_create(agg->cxt, 64, NULL);
	agg->cur_hour = PG_INT64_MIN;
	agg->count_hours = true;
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
 */
static void
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
}

/* Fold every row of the table itself (a full scan) into the aggregation. */
static void
agg_table(RollupAgg *agg, Oid relid, AttrNumber attnum)
{
	char	   *sql;
	Portal		portal;
	SPIPlanPtr	plan;

	sql = psprintf("SELECT %s FROM %s",
				   quote_identifier(get_attname(relid, attnum, false)),
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid)));
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
	agg_flush_hour(agg);
}

static int
cmp_s64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
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
static DayEntry *
agg_entries(RollupAgg *agg, int *n)
{
	entryhash_iterator it;
	EntryHashElem *e;
	DayEntry   *out = palloc(sizeof(DayEntry) * Max(agg->entries->members, 1));
	int			i = 0;

	entryhash_start_iterate(agg->entries, &it);
	while ((e = entryhash_iterate(agg->entries, &it)) != NULL)
	{
		out[i].day = e->key.day;
		out[i].src = e->key.src;
		out[i].dport = e->key.dport;
		out[i].packets = e->packets;
		out[i].first_us = e->first_us;
		out[i].last_us = e->last_us;
		memset(out[i].country, 0, COUNTRY_LEN);
		i++;
	}
	*n = i;
	return sort_entries(out, i);
}

/* ----------------------------------------------------------------------
 * The packed entries of a day row (bytea)
 *
 * Version 2 (written):
 *	byte 0		2
 *	varint		number of entries
 *	varint		number of countries, then each: 1 byte length (1-7), the code
 *	8 bytes		base: the earliest first_us of the row, big-endian, signed
 *	then per entry, sorted by (src, dport), unsigned LEB128 varints:
 *		src - previous src (the first: src), dport, packets,
 *		first_us - base, last_us - first_us,
 *		country: 0 unknown, i: the i-th country above
 * About 15 bytes an entry where version 1 took 38: the row is read and
 * written back whole by every statement that touches its day, so its size
 * is most of what tracking costs.
 *
 * Version 1 (still read): bytes 4-7 the number of entries, big-endian; then
 * 38 bytes an entry: src 4, dport 2, packets 8, first_ns 8, last_ns 8,
 * country 8.
 * ----------------------------------------------------------------------
 */

/* Append an unsigned LEB128 varint. */
static inline uint8 *
put_varint(uint8 *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8) v;
	return p;
}

/* Read an unsigned LEB128 varint; false when it runs past end. */
static inline bool
get_varint(const uint8 **pp, const uint8 *end, uint64 *v)
{
	const uint8 *p = *pp;
	uint64		r = 0;
	int			shift = 0;

	while (p < end && shift < 64)
	{
		uint8		b = *p++;

		r |= (uint64) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*v = r;
			*pp = p;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* The countries of a day row, and which one each entry has. */
typedef struct CountryDict
{
	int			n;				/* countries; [0] is "" (unknown) */
	int			cap;
	char		(*names)[COUNTRY_LEN];
	int64	   *packets;		/* per country */
	uint32	   *index;			/* per entry */
	int			nslots;			/* open addressing: code -> index + 1 */
	int32	   *slots;
} CountryDict;

static inline uint32
country_slot(const char *name, int nslots)
{
	uint64		k;

	memcpy(&k, name, 8);
	return (uint32) ((k * UINT64CONST(0x9E3779B97F4A7C15)) >> 40) & (nslots - 1);
}

/* Index of name in the dictionary, adding it when new. */
static int
dict_index(CountryDict *d, const char *name)
{
	uint32		s = country_slot(name, d->nslots);

	while (d->slots[s] != 0)
	{
		int			i = d->slots[s] - 1;

		if (memcmp(d->names[i], name, COUNTRY_LEN) == 0)
			return i;
		s = (s + 1) & (d->nslots - 1);
	}
	if (d->n == d->cap)
	{
		d->cap *= 2;
		d->names = repalloc(d->names, sizeof(*d->names) * d->cap);
		d->packets = repalloc(d->packets, sizeof(int64) * d->cap);
	}
	if (2 * (d->n + 1) > d->nslots)
	{
		int			i;

		/* keep the table at most half full */
		d->nslots *= 2;
		d->slots = repalloc(d->slots, sizeof(int32) * d->nslots);
		memset(d->slots, 0, sizeof(int32) * d->nslots);
		for (i = 0; i < d->n; i++)
		{
			uint32		t = country_slot(d->names[i], d->nslots);

			while (d->slots[t] != 0)
				t = (t + 1) & (d->nslots - 1);
			d->slots[t] = i + 1;
		}
		s = country_slot(name, d->nslots);
		while (d->slots[s] != 0)
			s = (s + 1) & (d->nslots - 1);
	}
	memcpy(d->names[d->n], name, COUNTRY_LEN);
	d->packets[d->n] = 0;
	d->slots[s] = d->n + 1;
	return d->n++;
}

/* Build a day row's country dictionary, per-country packets included. */
static void
dict_build(CountryDict *d, const DayEntry *e, int n)
{
	static const char unknown[COUNTRY_LEN] = {0};
	int			i,
				last = 0;

	d->n = 0;
	d->cap = 64;
	d->names = palloc(sizeof(*d->names) * d->cap);
	d->packets = palloc(sizeof(int64) * d->cap);
	d->nslots = 256;
	d->slots = palloc0(sizeof(int32) * d->nslots);
	d->index = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	(void) dict_index(d, unknown);
	for (i = 0; i < n; i++)
	{
		/* entries of one source are adjacent and share a country */
		if (i == 0 || memcmp(e[i].country, e[i - 1].country, COUNTRY_LEN) != 0)
			last = dict_index(d, e[i].country);
		d->index[i] = last;
		d->packets[last] += e[i].packets;
	}
}

/* Pack one day's sorted entries (version 2). */
static bytea *
entries_pack(const DayEntry *e, int n, const CountryDict *d)
{
	Size		cap = VARHDRSZ + 1 + 10 + 10 + (Size) d->n * 8 + 8 + (Size) n * 44;
	bytea	   *b = MemoryContextAllocHuge(CurrentMemoryContext, cap);
	uint8	   *start = (uint8 *) VARDATA(b);
	uint8	   *p = start;
	int64		base = PG_INT64_MAX;
	uint64		b64;
	uint32		prev = 0;
	int			i;

	for (i = 0; i < n; i++)
		base = Min(base, e[i].first_us);
	if (n == 0)
		base = 0;
	*p++ = ENTRIES_V2;
	p = put_varint(p, (uint64) n);
	p = put_varint(p, (uint64) (d->n - 1));
	for (i = 1; i < d->n; i++)
	{
		size_t		l = strnlen(d->names[i], COUNTRY_LEN - 1);

		*p++ = (uint8) l;
		memcpy(p, d->names[i], l);
		p += l;
	}
	b64 = pg_hton64((uint64) base);
	memcpy(p, &b64, 8);
	p += 8;
	for (i = 0; i < n; i++)
	{
		p = put_varint(p, e[i].src - prev);
		prev = e[i].src;
		p = put_varint(p, e[i].dport);
		p = put_varint(p, (uint64) e[i].packets);
		p = put_varint(p, (uint64) (e[i].first_us - base));
		p = put_varint(p, (uint64) (e[i].last_us - e[i].first_us));
		p = put_varint(p, d->index[i]);
	}
	SET_VARSIZE(b, VARHDRSZ + (p - start));
	return b;
}

static void
entries_corrupt(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt rollup entries: %s", what),
			 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
}

/* Unpack version 1 entries (after the version byte). */
static DayEntry *
entries_unpack_v1(const uint8 *p, Size len, int32 day, int *n)
{
	uint32		count,
				v32,
				i;
	uint16		v16;
	uint64		v64;
	DayEntry   *e;

	if (len < 8)
		entries_corrupt("short header");
	memcpy(&v32, p + 4, 4);
	count = pg_ntoh32(v32);
	if (len != 8 + (Size) count * V1_ENTRY_BYTES)
		entries_corrupt("length does not match the number of entries");
	p += 8;
	e = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DayEntry) * Max(count, 1));
	for (i = 0; i < count; i++)
	{
		e[i].day = day;
		memcpy(&v32, p, 4);
		e[i].src = pg_ntoh32(v32);
		memcpy(&v16, p + 4, 2);
		e[i].dport = pg_ntoh16(v16);
		memcpy(&v64, p + 6, 8);
		e[i].packets = (int64) pg_ntoh64(v64);
		memcpy(&v64, p + 14, 8);
		e[i].first_us = floor_div((int64) pg_ntoh64(v64), 1000);
		memcpy(&v64, p + 22, 8);
		e[i].last_us = floor_div((int64) pg_ntoh64(v64), 1000);
		memcpy(e[i].country, p + 30, COUNTRY_LEN);
		e[i].country[COUNTRY_LEN - 1] = '\0';
		p += V1_ENTRY_BYTES;
	}
	*n = (int) count;
	return e;
}

/* Unpack a day row's entries; day is copied into each. */
static DayEntry *
entries_unpack(bytea *b, int32 day, int *n)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	const uint8 *end = p + VARSIZE_ANY_EXHDR(b);
	uint64		count,
				ncountries;
	char		(*names)[COUNTRY_LEN];
	DayEntry   *e;
	int64		base;
	uint64		b64;
	uint32		src = 0;
	uint64		i;

	if (p >= end)
		entries_corrupt("empty");
	if (*p == ENTRIES_V1)
		return entries_unpack_v1(p, end - p, day, n);
	if (*p != ENTRIES_V2)
		entries_corrupt("unknown version");
	p++;
	if (!get_varint(&p, end, &count) || !get_varint(&p, end, &ncountries) ||
		count > (uint64) (end - p) / 6 || ncountries > (uint64) (end - p) / 2)
		entries_corrupt("bad header");
	names = palloc0(sizeof(*names) * (ncountries + 1));
	for (i = 1; i <= ncountries; i++)
	{
		uint8		l;

		if (p >= end || (l = *p++) == 0 || l >= COUNTRY_LEN || l > end - p)
			entries_corrupt("bad country");
		memcpy(names[i], p, l);
		p += l;
	}
	if (end - p < 8)
		entries_corrupt("short header");
	memcpy(&b64, p, 8);
	base = (int64) pg_ntoh64(b64);
	p += 8;
	e = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DayEntry) * Max(count, 1));
	for (i = 0; i < count; i++)
	{
		uint64		f[6];
		int			k;

		for (k = 0; k < 6; k++)
			if (!get_varint(&p, end, &f[k]))
				entries_corrupt("truncated entry");
		if (f[0] > PG_UINT32_MAX - src || f[1] > PG_UINT16_MAX || f[5] > ncountries)
			entries_corrupt("entry out of range");
		src += (uint32) f[0];
		e[i].day = day;
		e[i].src = src;
		e[i].dport = (uint16) f[1];
		e[i].packets = (int64) f[2];
		e[i].first_us = base + (int64) f[3];
		e[i].last_us = e[i].first_us + (int64) f[4];
		memcpy(e[i].country, names[f[5]], COUNTRY_LEN);
	}
	if (p != end)
		entries_corrupt("trailing bytes");
	*n = (int) count;
	return e;
}

/* ----------------------------------------------------------------------
 * Countries
 * ----------------------------------------------------------------------
 */

/* Set up lazy country lookups for one statement. */
static void
country_init(CountryLookup *cl, const ExtInfo *info)
{
	const char *db = GetConfigOption("mirai_ext.geoip_database", true, false);

	memset(cl, 0, sizeof(*cl));
	cl->enabled = db != NULL && db[0] != '\0';
}

/*
 * The country of a source: the GeoIP answer (geoip.c, as geoip_country
 * gives it) once per source and statement, "" when it has none or no
 * GeoIP database is configured.
 */
static void
country_of(CountryLookup *cl, uint32 src, char *out)
{
	CountryHashElem *c;
	bool		found;

	memset(out, 0, COUNTRY_LEN);
	if (cl == NULL || !cl->enabled)
		return;
	if (!cl->ready)
	{
		cl->cache = countryhash_create(CurrentMemoryContext, 1024, NULL);
		cl->ready = true;
	}
	c = countryhash_insert(cl->cache, src, &found);
	if (!found)
	{
		uint8		addr[4];

		StaticAssertStmt(COUNTRY_LEN >= 7, "country codes take up to 6 bytes and a NUL");
		memset(c->country, 0, COUNTRY_LEN);
		addr[0] = src >> 24;
		addr[1] = src >> 16;
		addr[2] = src >> 8;
		addr[3] = src;
		(void) mirai_geoip_country_code(4, addr, c->country);
	}
	memcpy(out, c->country, COUNTRY_LEN);
}

/* ----------------------------------------------------------------------
 * Writing a day row
 * ----------------------------------------------------------------------
 */

typedef enum MergeMode
{
	MERGE_ADD,					/* rows inserted */
	MERGE_SUBTRACT,				/* rows deleted */
	MERGE_REPLACE				/* day recomputed from the table */
} MergeMode;

/* The error of rollups that no longer match their table. */
static void
out_of_step(Oid relid, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("rollups of table \"%s\" are out of step with its rows",
					get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("Run SELECT mirai_rebuild('%s') to recompute them.",
					 get_rel_name(relid))));
}

/*
 * Merge the batch entries b[0..nb) of one day into the stored entries
 * s[0..ns); both sorted by (src, dport).  A new entry takes the country of
 * its source's other entries that day when there are any, else the GeoIP
 * answer (cl).  Sets *stale when a deletion may have removed an entry's
 * first or last packet (the day must be recomputed from the table).
 * Returns the merged entries.
 */
static DayEntry *
merge_day(DayEntry *s, int ns, DayEntry *b, int nb, MergeMode mode,
		  int *nout, bool *stale, Oid relid, CountryLookup *cl)
{
	DayEntry   *out = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(DayEntry) * Max((Size) ns + nb, 1));
	int			i = 0,
				j = 0,
				k = 0;

	*stale = false;
	while (i < ns || j < nb)
	{
		int			c;

		if (i >= ns)
			c = 1;
		else if (j >= nb)
			c = -1;
		else if (s[i].src != b[j].src)
			c = s[i].src < b[j].src ? -1 : 1;
		else if (s[i].dport != b[j].dport)
			c = s[i].dport < b[j].dport ? -1 : 1;
		else
			c = 0;

		if (c < 0)
		{
			/* stored only: unchanged, except on a replace where it is gone */
			if (mode != MERGE_REPLACE)
				out[k++] = s[i];
			i++;
		}
		else if (c > 0)
		{
			if (mode == MERGE_SUBTRACT)
				out_of_step(relid, "Deleted packets were never counted.");
			out[k] = b[j];
			if (k > 0 && out[k - 1].src == b[j].src)
				memcpy(out[k].country, out[k - 1].country, COUNTRY_LEN);
			else if (i < ns && s[i].src == b[j].src)
				memcpy(out[k].country, s[i].country, COUNTRY_LEN);
			else
				country_of(cl, b[j].src, out[k].country);
			k++;
			j++;
		}
		else
		{
			DayEntry	m = s[i];

			switch (mode)
			{
				case MERGE_ADD:
					m.packets += b[j].packets;
					m.first_us = Min(m.first_us, b[j].first_us);
					m.last_us = Max(m.last_us, b[j].last_us);
					break;
				case MERGE_SUBTRACT:
					m.packets -= b[j].packets;
					if (m.packets < 0)
						out_of_step(relid, "More packets were deleted than were counted.");
					if (m.packets > 0 &&
						(b[j].first_us <= m.first_us || b[j].last_us >= m.last_us))
						*stale = true;
					break;
				case MERGE_REPLACE:
					/* new counts, stored country */
					m = b[j];
					memcpy(m.country, s[i].country, COUNTRY_LEN);
					break;
			}
			if (m.packets > 0)
				out[k++] = m;
			i++;
			j++;
		}
	}
	*nout = k;
	return out;
}

/*
 * The column values of a day row (tbl, day, packets, sources, countries,
 * country_packets, entries) from its sorted entries.
 */
static void
day_values(Oid relid, int32 day, const DayEntry *e, int n, Datum *values)
{
	CountryDict d;
	int64		packets = 0,
				sources = 0;
	int		   *order;
	Datum	   *cd,
			   *pd;
	bool	   *cnull;
	int			dims[1];
	int			lbs[1] = {1};
	int			i,
				c,
				nc;

	for (i = 0; i < n; i++)
	{
		packets += e[i].packets;
		if (i == 0 || e[i].src != e[i - 1].src)
			sources++;
	}
	dict_build(&d, e, n);

	/* countries by name, unknown last; only those with packets */
	order = palloc(sizeof(int) * d.n);
	nc = 0;
	for (c = 1; c < d.n; c++)
	{
		int			at = nc;

		while (at > 0 && strcmp(d.names[order[at - 1]], d.names[c]) > 0)
		{
			order[at] = order[at - 1];
			at--;
		}
		order[at] = c;
		nc++;
	}
	if (d.packets[0] > 0)
		order[nc++] = 0;
	cd = palloc(sizeof(Datum) * Max(nc, 1));
	cnull = palloc(sizeof(bool) * Max(nc, 1));
	pd = palloc(sizeof(Datum) * Max(nc, 1));
	for (i = 0; i < nc; i++)
	{
		c = order[i];
		cnull[i] = c == 0;
		cd[i] = c == 0 ? (Datum) 0 : CStringGetTextDatum(d.names[c]);
		pd[i] = Int64GetDatum(d.packets[c]);
	}
	dims[0] = nc;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(packets);
	values[3] = Int64GetDatum(sources);
	values[4] = PointerGetDatum(construct_md_array(cd, cnull, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(pd, nc, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[6] = PointerGetDatum(entries_pack(e, n, &d));
}

/*
 * Lock a day row and return its stored entries; false (and nothing locked)
 * when there is no row.
 */
static bool
lock_day(const ExtInfo *info, Oid relid, int32 day, DayEntry **s, int *n)
{
	Datum		values[2];
	bool		isnull;
	Datum		d;

	prepare_plans(info);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	if (SPI_execute_plan(plans.day_lock, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking mirai_rollup_day failed");
	if (SPI_processed == 0)
	{
		*s = NULL;
		*n = 0;
		return false;
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	{
		bytea	   *bytes = DatumGetByteaPP(d);

		*s = entries_unpack(bytes, day, n);
		if ((Pointer) bytes != DatumGetPointer(d))
			pfree(bytes);
	}
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * Fold a batch's sorted entries of one day into its row: the row is locked
 * (days are taken in ascending order by every caller), merged and written
 * back, or made when the day is new.  Returns whether a deletion left the
 * day stale (see merge_day).
 */
static bool
store_day(const ExtInfo *info, Oid relid, int32 day, DayEntry *b, int nb,
		  MergeMode mode, CountryLookup *cl)
{
	DayEntry   *s,
			   *out;
	int			ns,
				nout;
	bool		stale;
	Datum		values[7];

	prepare_plans(info);
	if (!lock_day(info, relid, day, &s, &ns))
	{
		if (mode == MERGE_SUBTRACT)
			out_of_step(relid, "Packets of a day that was never counted were deleted.");
		/* a new day: one INSERT, unless a concurrent loader makes it first */
		out = merge_day(NULL, 0, b, nb, mode, &nout, &stale, relid, cl);
		day_values(relid, day, out, nout, values);
		if (SPI_execute_plan(plans.day_insert, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inserting into mirai_rollup_day failed");
		pfree(DatumGetPointer(values[6]));
		pfree(out);
		if (SPI_processed == 1)
			return false;
		if (!lock_day(info, relid, day, &s, &ns))
			elog(ERROR, "rollup row of table %u, day %d neither inserted nor found", relid, day);
	}
	out = merge_day(s, ns, b, nb, mode, &nout, &stale, relid, cl);
	day_values(relid, day, out, nout, values);
	if (SPI_execute_plan(plans.day_update, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "updating mirai_rollup_day failed");
	pfree(DatumGetPointer(values[6]));
	pfree(out);
	if (s)
		pfree(s);
	return stale;
}

/* Add (or subtract) the hourly counts; hours in ascending order. */
static void
write_hours(const ExtInfo *info, Oid relid, RollupAgg *agg, int sign)
{
	hourhash_iterator it;
	HourHashElem *h;
	int			n = agg->hours->members,
				i = 0;
	int64	   *hours;
	Datum	   *hd,
			   *md,
			   *ad;
	Datum		values[4];
	int			j;

	if (n == 0)
		return;
	prepare_plans(info);
	hours = palloc(sizeof(int64) * n);
	hourhash_start_iterate(agg->hours, &it);
	while ((h = hourhash_iterate(agg->hours, &it)) != NULL)
		hours[i++] = h->hour;
	qsort(hours, n, sizeof(int64), cmp_s64);
	hd = palloc(sizeof(Datum) * n);
	md = palloc(sizeof(Datum) * n);
	ad = palloc(sizeof(Datum) * n);
	for (j = 0; j < n; j++)
	{
		h = hourhash_lookup(agg->hours, hours[j]);
		hd[j] = TimestampTzGetDatum(mirai_ns_to_timestamptz(hours[j] * NS_PER_HOUR));
		md[j] = Int64GetDatum(sign * h->mirai);
		ad[j] = Int64GetDatum(sign * h->all);
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(construct_array(hd, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(md, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(ad, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(plans.hours_add, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "upserting mirai_rollup_hour failed");
	if (sign < 0 &&
		SPI_execute_plan(plans.hours_prune, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting from mirai_rollup_hour failed");
}

/*
 * Apply an aggregation to the day rows, days in ascending order.  Returns
 * the days a deletion left stale (palloc'd, sorted) in *stale_days.
 */
static void
apply_days(const ExtInfo *info, Oid relid, DayEntry *b, int nb, MergeMode mode,
		   CountryLookup *cl, int32 **stale_days, int *n_stale)
{
	int			start = 0;

	*stale_days = palloc(sizeof(int32) * Max(nb, 1));
	*n_stale = 0;
	while (start < nb)
	{
		int32		day = b[start].day;
		int			end = start;

		while (end < nb && b[end].day == day)
			end++;
		if (store_day(info, relid, day, b + start, end - start, mode, cl))
			(*stale_days)[(*n_stale)++] = day;
		start = end;
	}
}

/*
 * Recompute the given days (sorted) of a table from its rows, keeping the
 * countries already stored.  Their rows exist and are locked.
 */
static void
recompute_days(const ExtInfo *info, Tracked *t, pg_tz *tz, int32 *days, int ndays)
{
	RollupAgg	agg;
	DayEntry   *b;
	int			nb,
				i,
				start = 0;

	agg_init(&agg, tz, 0);
	agg.only_days = days;
	agg.n_only_days = ndays;
	agg.count_hours = false;
	agg_table(&agg, t->relid, t->attnum);
	b = agg_entries(&agg, &nb);
	for (i = 0; i < ndays; i++)
	{
		int			end = start;

		while (end < nb && b[end].day == days[i])
			end++;
		(void) store_day(info, t->relid, days[i], b + start, end - start, MERGE_REPLACE, NULL);
		start = end;
	}
}

/* What as_owner_begin saved. */
typedef struct SavedUser
{
	Oid			userid;
	int			sec;
	int			nestlevel;
} SavedUser;

/*
 * Become the rollup tables' owner, with a safe search_path, as a SECURITY
 * DEFINER function would; as_owner_end goes back (an error goes back by
 * itself: the transaction's abort restores both).
 */
static void
as_owner_begin(const ExtInfo *info, SavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec);
	SetUserIdAndSecContext(info->owner, saved->sec | SECURITY_LOCAL_USERID_CHANGE);
	saved->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

static void
as_owner_end(SavedUser *saved)
{
	AtEOXact_GUC(false, saved->nestlevel);
	SetUserIdAndSecContext(saved->userid, saved->sec);
}

/* ----------------------------------------------------------------------
 * The statement trigger
 * ----------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(mirai_rollup_trigger);
Datum
mirai_rollup_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	ExtInfo		info;
	Tracked		t;
	Tuplestorestate *ts;
	int			sign;
	Oid			relid;
	SavedUser	saved;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger must be an AFTER ... FOR EACH STATEMENT trigger")));
	if (TRIGGER_FIRED_BY_INSERT(trig->tg_event))
	{
		ts = trig->tg_newtable;
		sign = 1;
	}
	else if (TRIGGER_FIRED_BY_DELETE(trig->tg_event))
	{
		ts = trig->tg_oldtable;
		sign = -1;
	}
	else if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event))
	{
		ts = NULL;
		sign = 0;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger fires on INSERT, DELETE or TRUNCATE only")));
	if (sign != 0 && ts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger needs a transition table"),
				 errhint("Create it with REFERENCING NEW TABLE (or OLD TABLE) AS ...; mirai_track does.")));
	if (sign != 0 && tuplestore_tuple_count(ts) == 0)
		return PointerGetDatum(NULL);

	relid = RelationGetRelid(trig->tg_relation);
	ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	as_owner_begin(&info, &saved);
	{
		if (sign == 0)
		{
			/* TRUNCATE: rollups that follow deletes start again from zero */
			if (trigger_tracked(&info, trig->tg_trigger->tgoid, relid, &t) && t.follow_deletes)
			{
				Oid			argtypes[1] = {OIDOID};
				Datum		values[1];

				values[0] = ObjectIdGetDatum(relid);
				if (SPI_execute_with_args(psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl = $1::pg_catalog.oid", info.nspname),
										  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE ||
					SPI_execute_with_args(psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl = $1::pg_catalog.oid", info.nspname),
										  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
					elog(ERROR, "clearing rollups failed");
			}
		}
		else if (trigger_tracked(&info, trig->tg_trigger->tgoid, relid, &t) &&
				 (sign > 0 || t.follow_deletes))
		{
			pg_tz	   *tz = zone_or_error(t.time_zone);
			RollupAgg	agg;
			CountryLookup cl;
			DayEntry   *b;
			int			nb;
			int32	   *stale;
			int			nstale;

			t.attnum = packet_column(RelationGetDescr(trig->tg_relation), info.packet_type, relid);
			agg_init(&agg, tz, tuplestore_tuple_count(ts));
			agg_tuplestore(&agg, ts, RelationGetDescr(trig->tg_relation), t.attnum);
			b = agg_entries(&agg, &nb);
			country_init(&cl, &info);
			apply_days(&info, relid, b, nb, sign > 0 ? MERGE_ADD : MERGE_SUBTRACT,
					   &cl, &stale, &nstale);
			write_hours(&info, relid, &agg, sign);
			if (nstale > 0)
				recompute_days(&info, &t, tz, stale, nstale);
		}
	}
	as_owner_end(&saved);

	SPI_finish();
	return PointerGetDatum(NULL);
}

/* ----------------------------------------------------------------------
 * mirai_rollup_admin(tbl, action): 'rebuild' recomputes a table's rollups
 * from its rows (countries of existing entries kept, new ones looked up);
 * 'clear' removes them.  The caller must own the table.
 * ----------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(mirai_rollup_admin);
Datum
mirai_rollup_admin(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		tracking = strcmp(action, "track") == 0;
	ExtInfo		info;
	Tracked		t;
	Relation	rel;
	int64		result = 0;
	SavedUser	saved;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	ext_info(fcinfo->flinfo->fn_oid, &info);
	/* the same lock loaders take: wait for them, keep new ones out */
	rel = table_open(relid, ShareRowExclusiveLock);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	as_owner_begin(&info, &saved);
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1];
		char	   *sql;

		values[0] = ObjectIdGetDatum(relid);
		if (tracking)
		{
			/* register the table: time zone, deletes, per-table views */
			Oid			at[6] = {OIDOID, TEXTOID, TEXTOID, OIDOID, OIDOID, OIDOID};
			Datum		v[6];
			char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
			int			i;

			if (PG_NARGS() < 7)
				elog(ERROR, "mirai_rollup_admin track needs 7 arguments");
			for (i = 0; i < 6; i++)
			{
				if (PG_ARGISNULL(i == 0 ? 0 : i + 1))
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("mirai_rollup_admin track: argument %d is null", i + 1)));
				v[i] = PG_GETARG_DATUM(i == 0 ? 0 : i + 1);
			}
			(void) zone_or_error(TextDatumGetCString(v[1]));
			sql = psprintf("INSERT INTO %s.mirai_tracked (tbl, time_zone, on_delete, daily_view, "
						   "sources_view, countries_view) VALUES ($1::pg_catalog.oid, $2, $3, "
						   "$4::pg_catalog.oid, $5::pg_catalog.oid, $6::pg_catalog.oid)", info.nspname);
			if (SPI_execute_with_args(sql, 6, at, v, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "inserting into mirai_tracked failed");
			action = "rebuild";
		}
		else if (strcmp(action, "untrack") == 0)
		{
			sql = psprintf("DELETE FROM %s.mirai_tracked WHERE tbl = $1::pg_catalog.oid", info.nspname);
			if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "deleting from mirai_tracked failed");
			action = "clear";
		}
		sql = psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl = $1::pg_catalog.oid", info.nspname);
		if (strcmp(action, "rebuild") == 0)
		{
			/* keep the stored countries: read them before clearing */
			if (!read_tracked(&info, relid, &t))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("table \"%s\" is not tracked", get_rel_name(relid)),
						 errhint("Use SELECT mirai_track('%s').", get_rel_name(relid))));
			{
				pg_tz	   *tz = zone_or_error(t.time_zone);
				RollupAgg	agg;
				CountryLookup cl;
				DayEntry   *b;
				int			nb,
							start = 0;

				t.attnum = packet_column(RelationGetDescr(rel), info.packet_type, relid);
				agg_init(&agg, tz, 0);
				agg_table(&agg, relid, t.attnum);
				b = agg_entries(&agg, &nb);
				country_init(&cl, &info);
				/* days no longer in the table disappear */
				sql = psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl = $1::pg_catalog.oid "
							   "AND NOT (day = ANY ($2))", info.nspname);
				{
					Oid			at[2] = {OIDOID, DATEARRAYOID};
					Datum		v[2];
					Datum	   *dd = palloc(sizeof(Datum) * Max(nb, 1));
					int			nd = 0,
								i;

					for (i = 0; i < nb; i++)
						if (i == 0 || b[i].day != b[i - 1].day)
							dd[nd++] = DateADTGetDatum(b[i].day);
					v[0] = values[0];
					v[1] = PointerGetDatum(construct_array(dd, nd, DATEOID, 4, true, TYPALIGN_INT));
					if (SPI_execute_with_args(sql, 2, at, v, NULL, false, 0) != SPI_OK_DELETE)
						elog(ERROR, "clearing mirai_rollup_day failed");
				}
				/* each day recomputed; countries of entries already there kept */
				while (start < nb)
				{
					int			end = start;

					while (end < nb && b[end].day == b[start].day)
						end++;
					(void) store_day(&info, relid, b[start].day, b + start, end - start,
									 MERGE_REPLACE, &cl);
					start = end;
				}
				sql = psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl = $1::pg_catalog.oid", info.nspname);
				if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
					elog(ERROR, "clearing mirai_rollup_hour failed");
				write_hours(&info, relid, &agg, 1);
				result = nb;
			}
		}
		else if (strcmp(action, "clear") == 0)
		{
			if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "clearing mirai_rollup_day failed");
			result = SPI_processed;
			sql = psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl = $1::pg_catalog.oid", info.nspname);
			if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "clearing mirai_rollup_hour failed");
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown rollup action \"%s\"", action)));
	}
	as_owner_end(&saved);

	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_INT64(result);
}

/* ----------------------------------------------------------------------
 * Reading day entries: mirai_day_sources(entries bytea)
 *	-> (src inet, packets bigint, first_seen timestamptz,
 *		last_seen timestamptz, country text, ports integer[], port_count int)
 * one row per source, in source order.
 * ----------------------------------------------------------------------
 */

/* ports[] of entries e[from..to) (one source), at most PORTS_SHOWN, built in a. */
static Datum
ports_array(ArrayType *a, const DayEntry *e, int from, int to)
{
	int			n = Min(to - from, PORTS_SHOWN),
				i;
	int32	   *data;

	SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(1) + n * sizeof(int32));
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	data = (int32 *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
	for (i = 0; i < n; i++)
		data[i] = e[from + i].dport;
	return PointerGetDatum(a);
}

/*
 * Materialize mode: the rows go straight into the tuplestore, built from
 * buffers reused row after row (a busy day has tens of thousands of
 * sources, and dashboards ask for its top ten every few seconds).
 */
PG_FUNCTION_INFO_V1(mirai_day_sources);
Datum
mirai_day_sources(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	DayEntry   *e;
	int			n,
				from = 0;
	inet		addr;
	union
	{
		ArrayType	a;
		char		b[sizeof(ArrayType) + 2 * sizeof(int) + PORTS_SHOWN * sizeof(int32) + MAXIMUM_ALIGNOF];
	}			ports;
	struct
	{
		int32		vl_len_;
		char		data[COUNTRY_LEN];
	}			country;

	InitMaterializedSRF(fcinfo, 0);
	e = entries_unpack(bytes, 0, &n);
	memset(&addr, 0, sizeof(addr));
	ip_family(&addr) = PGSQL_AF_INET;
	ip_bits(&addr) = 32;
	SET_INET_VARSIZE(&addr);
	while (from < n)
	{
		int			to = from;
		int64		packets = 0,
					first = PG_INT64_MAX,
					last = PG_INT64_MIN;
		Datum		values[7];
		bool		nulls[7] = {false};
		uint32		src = e[from].src;

		while (to < n && e[to].src == src)
		{
			packets += e[to].packets;
			first = Min(first, e[to].first_us);
			last = Max(last, e[to].last_us);
			to++;
		}
		ip_addr(&addr)[0] = src >> 24;
		ip_addr(&addr)[1] = src >> 16;
		ip_addr(&addr)[2] = src >> 8;
		ip_addr(&addr)[3] = src;
		values[0] = InetPGetDatum(&addr);
		values[1] = Int64GetDatum(packets);
		values[2] = TimestampTzGetDatum(us_to_timestamptz(first));
		values[3] = TimestampTzGetDatum(us_to_timestamptz(last));
		if (e[from].country[0] == '\0')
			nulls[4] = true;
		else
		{
			size_t		l = strnlen(e[from].country, COUNTRY_LEN);

			SET_VARSIZE(&country, VARHDRSZ + l);
			memcpy(country.data, e[from].country, l);
			values[4] = PointerGetDatum(&country);
		}
		values[5] = ports_array(&ports.a, e, from, to);
		values[6] = Int32GetDatum(to - from);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		from = to;
	}
	return (Datum) 0;
}

/* ----------------------------------------------------------------------
 * Small functions of the views, in C and with a declared cost that lets
 * the planner compute them after a sort and LIMIT: a dashboard's top ten
 * of a day with tens of thousands of sources then computes ten shares.
 * ----------------------------------------------------------------------
 */

/* mirai_share(part, whole): part::numeric / whole, exactly. */
PG_FUNCTION_INFO_V1(mirai_share);
Datum
mirai_share(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(numeric_div,
							   NumericGetDatum(int64_to_numeric(PG_GETARG_INT64(0))),
							   NumericGetDatum(int64_to_numeric(PG_GETARG_INT64(1))));
}

/* mirai_day_start(day, zone): day::timestamp AT TIME ZONE zone. */
PG_FUNCTION_INFO_V1(mirai_day_start);
Datum
mirai_day_start(PG_FUNCTION_ARGS)
{
	Datum		ts = DirectFunctionCall1(date_timestamp, PG_GETARG_DATUM(0));

	return DirectFunctionCall2(timestamp_zone, PG_GETARG_DATUM(1), ts);
}
