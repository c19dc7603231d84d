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
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "mirai_ext.h"

#define NS_PER_HOUR		INT64CONST(3600000000000)
#define NS_PER_QUARTER	INT64CONST(900000000000)

#define ENTRIES_VERSION	1
#define ENTRY_BYTES		38		/* serialized DayEntry */
#define COUNTRY_LEN		8		/* NUL-padded; "" = unknown */
#define PORTS_SHOWN		32		/* ports listed per source, at most */

/* One (day, source, destination port) aggregate. */
typedef struct DayEntry
{
	int32		day;			/* DateADT in the table's zone */
	uint32		src;			/* IPv4 address, host order */
	uint16		dport;
	int64		packets;
	int64		first_ns;
	int64		last_ns;
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
	int64		first_ns;
	int64		last_ns;
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
	uint32		h = murmurhash32(k.src);

	h = hash_combine(h, murmurhash32((uint32) k.day));
	return hash_combine(h, murmurhash32(k.dport));
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

/* Everything one pass over a set of packets produces. */
typedef struct RollupAgg
{
	MemoryContext cxt;
	pg_tz	   *tz;
	entryhash_hash *entries;
	hourhash_hash *hours;
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
static int32
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
	char	   *sql;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];
	bool		isnull;

	values[0] = ObjectIdGetDatum(relid);
	sql = psprintf("SELECT time_zone, on_delete = 'follow' FROM %s.mirai_tracked "
				   "WHERE tbl = $1::pg_catalog.oid", info->nspname);
	if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	if (SPI_processed == 0)
		return false;
	t->relid = relid;
	t->time_zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	t->follow_deletes = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
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

static void
agg_init(RollupAgg *agg, pg_tz *tz)
{
	memset(agg, 0, sizeof(*agg));
	agg->cxt = CurrentMemoryContext;
	agg->tz = tz;
	agg->entries = entryhash_create(agg->cxt, 4096, NULL);
	agg->hours = hourhash_create(agg->cxt, 64, NULL);
	agg->count_hours = true;
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

/* Fold one packet value into the aggregation. */
static void
agg_add(RollupAgg *agg, Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	mx_packet	p;
	mx_error	err;
	bool		found;

	if (VARATT_IS_EXTENDED(v))
		v = pg_detoast_datum_packed(v);
	if (mx_packet_unpack((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
						 &p, &err) != MX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt packet value: %s", err.message)));

	if (agg->count_hours)
	{
		int64		hour = floor_div(p.ts_ns, NS_PER_HOUR);
		HourHashElem *h = hourhash_insert(agg->hours, hour, &found);

		if (!found)
			h->mirai = h->all = 0;
		h->all++;
		if (mx_is_mirai(&p))
			h->mirai++;
	}
	if (mx_is_mirai(&p))
	{
		EntryKey	k;
		EntryHashElem *e;

		k.day = agg_day(agg, p.ts_ns);
		if (!agg_wants_day(agg, k.day))
			return;
		k.src = ((uint32) p.src[0] << 24) | ((uint32) p.src[1] << 16) |
			((uint32) p.src[2] << 8) | p.src[3];
		k.dport = p.dport;
		e = entryhash_insert(agg->entries, k, &found);
		if (!found)
		{
			e->packets = 0;
			e->first_ns = p.ts_ns;
			e->last_ns = p.ts_ns;
		}
		e->packets++;
		if (p.ts_ns < e->first_ns)
			e->first_ns = p.ts_ns;
		if (p.ts_ns > e->last_ns)
			e->last_ns = p.ts_ns;
	}
}

/* Fold every row of a transition table into the aggregation. */
static void
agg_tuplestore(RollupAgg *agg, Tuplestorestate *ts, TupleDesc desc, AttrNumber attnum)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);

	/* a new read pointer starts where pointer 0 is: rewind it */
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, attnum, &isnull);

		if (!isnull)
			agg_add(agg, d);
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(slot);
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

			if (!isnull)
				agg_add(agg, d);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32		x = *(const uint32 *) a;
	uint32		y = *(const uint32 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
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
		out[i].first_ns = e->first_ns;
		out[i].last_ns = e->last_ns;
		memset(out[i].country, 0, COUNTRY_LEN);
		i++;
	}
	qsort(out, i, sizeof(DayEntry), entry_cmp);
	*n = i;
	return out;
}

/* ----------------------------------------------------------------------
 * The packed entries of a day row (bytea)
 *
 *	byte 0		version (1)
 *	bytes 1-3	zero
 *	bytes 4-7	number of entries, big-endian
 *	then per entry, sorted by (src, dport), 38 bytes, big-endian:
 *		src 4, dport 2, packets 8, first_ns 8, last_ns 8, country 8
 * ----------------------------------------------------------------------
 */

static bytea *
entries_pack(const DayEntry *e, int n)
{
	Size		len = VARHDRSZ + 8 + (Size) n * ENTRY_BYTES;
	bytea	   *b = palloc(len);
	char	   *p = VARDATA(b);
	int			i;
	uint32		v32;
	uint16		v16;
	uint64		v64;

	SET_VARSIZE(b, len);
	memset(p, 0, 8);
	p[0] = ENTRIES_VERSION;
	v32 = pg_hton32((uint32) n);
	memcpy(p + 4, &v32, 4);
	p += 8;
	for (i = 0; i < n; i++)
	{
		v32 = pg_hton32(e[i].src);
		memcpy(p, &v32, 4);
		v16 = pg_hton16(e[i].dport);
		memcpy(p + 4, &v16, 2);
		v64 = pg_hton64((uint64) e[i].packets);
		memcpy(p + 6, &v64, 8);
		v64 = pg_hton64((uint64) e[i].first_ns);
		memcpy(p + 14, &v64, 8);
		v64 = pg_hton64((uint64) e[i].last_ns);
		memcpy(p + 22, &v64, 8);
		memcpy(p + 30, e[i].country, COUNTRY_LEN);
		p += ENTRY_BYTES;
	}
	return b;
}

/* Unpack a day row's entries; day is copied into each. */
static DayEntry *
entries_unpack(bytea *b, int32 day, int *n)
{
	const char *p = VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	uint32		count,
				v32;
	uint16		v16;
	uint64		v64;
	DayEntry   *e;
	uint32		i;

	if (len < 8 || p[0] != ENTRIES_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt rollup entries: unknown version")));
	memcpy(&v32, p + 4, 4);
	count = pg_ntoh32(v32);
	if (len != 8 + (Size) count * ENTRY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt rollup entries: %zu bytes for %u entries", len, count)));
	p += 8;
	e = palloc(sizeof(DayEntry) * Max(count, 1));
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
		e[i].first_ns = (int64) pg_ntoh64(v64);
		memcpy(&v64, p + 22, 8);
		e[i].last_ns = (int64) pg_ntoh64(v64);
		memcpy(e[i].country, p + 30, COUNTRY_LEN);
		e[i].country[COUNTRY_LEN - 1] = '\0';
		p += ENTRY_BYTES;
	}
	*n = (int) count;
	return e;
}

/* ----------------------------------------------------------------------
 * Countries
 * ----------------------------------------------------------------------
 */

/*
 * Look up the country of every distinct source among entries (sorted by
 * source within each day) with geoip_country(inet), once per source.  Only
 * when mirai_ext.geoip_database is set: otherwise countries stay unknown.
 */
static void
lookup_countries(const ExtInfo *info, DayEntry *e, int n)
{
	const char *db = GetConfigOption("mirai_ext.geoip_database", true, false);
	Oid			argtypes[1] = {INETOID};
	Oid			fn;
	FmgrInfo	flinfo;
	uint32	   *srcs;
	char	  (*codes)[COUNTRY_LEN];
	int			nsrc = 0,
				i;

	if (db == NULL || db[0] == '\0' || n == 0)
		return;
	fn = LookupFuncName(list_make2(makeString(get_namespace_name(info->nsp)),
								   makeString("geoip_country")),
						1, argtypes, false);
	fmgr_info(fn, &flinfo);

	/* distinct sources of the batch, sorted */
	srcs = palloc(sizeof(uint32) * n);
	for (i = 0; i < n; i++)
		srcs[i] = e[i].src;
	qsort(srcs, n, sizeof(uint32), cmp_u32);
	for (i = 0; i < n; i++)
		if (nsrc == 0 || srcs[nsrc - 1] != srcs[i])
			srcs[nsrc++] = srcs[i];

	codes = palloc0(sizeof(*codes) * nsrc);
	for (i = 0; i < nsrc; i++)
	{
		uint8		addr[4];
		LOCAL_FCINFO(fcinfo, 1);
		Datum		r;

		addr[0] = srcs[i] >> 24;
		addr[1] = srcs[i] >> 16;
		addr[2] = srcs[i] >> 8;
		addr[3] = srcs[i];
		InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = mirai_inet_datum(4, addr);
		fcinfo->args[0].isnull = false;
		r = FunctionCallInvoke(fcinfo);
		if (!fcinfo->isnull)
		{
			char	   *s = TextDatumGetCString(r);

			if (strlen(s) >= COUNTRY_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("country code \"%s\" is longer than %d bytes", s, COUNTRY_LEN - 1),
						 errdetail("Rollups store the ISO 3166 code that geoip_country returns.")));
			strlcpy(codes[i], s, COUNTRY_LEN);
		}
	}
	for (i = 0; i < n; i++)
	{
		uint32	   *hit = bsearch(&e[i].src, srcs, nsrc, sizeof(uint32), cmp_u32);

		memcpy(e[i].country, codes[hit - srcs], COUNTRY_LEN);
	}
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

/*
 * Merge the batch entries b[0..nb) of one day into the stored entries
 * s[0..ns); both sorted by (src, dport).  Sets *stale when a deletion may
 * have removed an entry's first or last packet (the day must be recomputed
 * from the table).  Returns the merged entries.
 */
static DayEntry *
merge_day(DayEntry *s, int ns, DayEntry *b, int nb, MergeMode mode,
		  int *nout, bool *stale, Oid relid)
{
	DayEntry   *out = palloc(sizeof(DayEntry) * Max(ns + nb, 1));
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
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("rollups of table \"%s\" are out of step with its rows",
								get_rel_name(relid)),
						 errdetail("Deleted packets were never counted."),
						 errhint("Run SELECT mirai_rebuild('%s') to recompute them.",
								 get_rel_name(relid))));
			out[k++] = b[j];
			j++;
		}
		else
		{
			DayEntry	m = s[i];

			switch (mode)
			{
				case MERGE_ADD:
					m.packets += b[j].packets;
					m.first_ns = Min(m.first_ns, b[j].first_ns);
					m.last_ns = Max(m.last_ns, b[j].last_ns);
					break;
				case MERGE_SUBTRACT:
					m.packets -= b[j].packets;
					if (m.packets < 0)
						ereport(ERROR,
								(errcode(ERRCODE_DATA_EXCEPTION),
								 errmsg("rollups of table \"%s\" are out of step with its rows",
										get_rel_name(relid)),
								 errdetail("More packets were deleted than were counted."),
								 errhint("Run SELECT mirai_rebuild('%s') to recompute them.",
										 get_rel_name(relid))));
					if (m.packets > 0 &&
						(b[j].first_ns <= m.first_ns || b[j].last_ns >= m.last_ns))
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

/* Build text[] and int8[] of packets per country (unknown = NULL, last). */
static void
day_countries(DayEntry *e, int n, Datum *countries, Datum *cpackets)
{
	char	  (*names)[COUNTRY_LEN] = palloc(sizeof(*names) * Max(n, 1));
	int64	   *sums = palloc(sizeof(int64) * Max(n, 1));
	int			nc = 0,
				i,
				c;
	Datum	   *cd;
	bool	   *cnull;
	Datum	   *pd;
	int			dims[1];
	int			lbs[1] = {1};

	/* few countries per day: a linear search is fine */
	for (i = 0; i < n; i++)
	{
		for (c = 0; c < nc; c++)
			if (strcmp(names[c], e[i].country) == 0)
				break;
		if (c == nc)
		{
			memcpy(names[nc], e[i].country, COUNTRY_LEN);
			sums[nc++] = 0;
		}
		sums[c] += e[i].packets;
	}
	/* sort by name, unknown last (insertion sort: nc is small) */
	for (i = 1; i < nc; i++)
	{
		char		nm[COUNTRY_LEN];
		int64		sm = sums[i];

		memcpy(nm, names[i], COUNTRY_LEN);
		for (c = i - 1; c >= 0; c--)
		{
			bool		after = nm[0] == '\0' ? false :
				(names[c][0] == '\0' || strcmp(names[c], nm) > 0);

			if (!after)
				break;
			memcpy(names[c + 1], names[c], COUNTRY_LEN);
			sums[c + 1] = sums[c];
		}
		memcpy(names[c + 1], nm, COUNTRY_LEN);
		sums[c + 1] = sm;
	}
	cd = palloc(sizeof(Datum) * Max(nc, 1));
	cnull = palloc(sizeof(bool) * Max(nc, 1));
	pd = palloc(sizeof(Datum) * Max(nc, 1));
	for (c = 0; c < nc; c++)
	{
		cnull[c] = names[c][0] == '\0';
		cd[c] = cnull[c] ? (Datum) 0 : CStringGetTextDatum(names[c]);
		pd[c] = Int64GetDatum(sums[c]);
	}
	dims[0] = nc;
	*countries = PointerGetDatum(construct_md_array(cd, cnull, 1, dims, lbs,
													TEXTOID, -1, false, TYPALIGN_INT));
	*cpackets = PointerGetDatum(construct_array(pd, nc, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
}

/* Distinct sources and total packets of sorted entries. */
static void
day_totals(DayEntry *e, int n, int64 *packets, int64 *sources)
{
	int			i;

	*packets = 0;
	*sources = 0;
	for (i = 0; i < n; i++)
	{
		*packets += e[i].packets;
		if (i == 0 || e[i].src != e[i - 1].src)
			(*sources)++;
	}
}

/* Store a day row's new contents (the row exists and is locked). */
static void
write_day(const ExtInfo *info, Oid relid, int32 day, DayEntry *e, int n)
{
	Oid			argtypes[7] = {OIDOID, DATEOID, INT8OID, INT8OID, TEXTARRAYOID, INT8ARRAYOID, BYTEAOID};
	Datum		values[7];
	int64		packets,
				sources;
	char	   *sql;

	day_totals(e, n, &packets, &sources);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(packets);
	values[3] = Int64GetDatum(sources);
	day_countries(e, n, &values[4], &values[5]);
	values[6] = PointerGetDatum(entries_pack(e, n));
	sql = psprintf("UPDATE %s.mirai_rollup_day SET packets = $3, sources = $4, "
				   "countries = $5, country_packets = $6, entries = $7 "
				   "WHERE tbl = $1::pg_catalog.oid AND day = $2", info->nspname);
	if (SPI_execute_with_args(sql, 7, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "updating mirai_rollup_day failed");
}

/*
 * Lock the day row (making it first unless subtracting) and return its
 * stored entries; *exists is false when there is no row.
 */
static DayEntry *
lock_day(const ExtInfo *info, Oid relid, int32 day, bool create, int *n, bool *exists)
{
	Oid			argtypes[2] = {OIDOID, DATEOID};
	Datum		values[2];
	char	   *sql;
	bool		isnull;
	Datum		d;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	if (create)
	{
		sql = psprintf("INSERT INTO %s.mirai_rollup_day AS d (tbl, day, packets, sources, countries, "
					   "country_packets, entries) VALUES ($1::pg_catalog.oid, $2, 0, 0, '{}', '{}', "
					   "'\\x0100000000000000') ON CONFLICT (tbl, day) DO NOTHING",
					   info->nspname);
		if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inserting into mirai_rollup_day failed");
	}
	sql = psprintf("SELECT entries FROM %s.mirai_rollup_day "
				   "WHERE tbl = $1::pg_catalog.oid AND day = $2 FOR UPDATE", info->nspname);
	if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking mirai_rollup_day failed");
	if (SPI_processed == 0)
	{
		*exists = false;
		*n = 0;
		return NULL;
	}
	*exists = true;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return entries_unpack(DatumGetByteaPP(d), day, n);
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
	Oid			argtypes[4] = {OIDOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Datum		values[4];
	char	   *sql;
	int			j;

	if (n == 0)
		return;
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
	sql = psprintf("INSERT INTO %s.mirai_rollup_hour AS h (tbl, hour, packets, all_packets) "
				   "SELECT $1::pg_catalog.oid, u.hour, u.m, u.a "
				   "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(hour, m, a) ORDER BY u.hour "
				   "ON CONFLICT (tbl, hour) DO UPDATE SET "
				   "packets = h.packets OPERATOR(pg_catalog.+) excluded.packets, "
				   "all_packets = h.all_packets OPERATOR(pg_catalog.+) excluded.all_packets",
				   info->nspname);
	if (SPI_execute_with_args(sql, 4, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "upserting mirai_rollup_hour failed");
	if (sign < 0)
	{
		sql = psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl = $1::pg_catalog.oid "
					   "AND hour OPERATOR(pg_catalog.=) ANY ($2) AND all_packets = 0",
					   info->nspname);
		if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting from mirai_rollup_hour failed");
	}
}

/*
 * Apply an aggregation to the day rows: days in ascending order, each
 * locked, merged and written back.  Returns the days a deletion left stale
 * (palloc'd, sorted) in *stale_days.
 */
static void
apply_days(const ExtInfo *info, Oid relid, DayEntry *b, int nb, MergeMode mode,
		   int32 **stale_days, int *n_stale)
{
	int			start = 0;

	*stale_days = palloc(sizeof(int32) * Max(nb, 1));
	*n_stale = 0;
	while (start < nb)
	{
		int32		day = b[start].day;
		int			end = start;
		int			ns,
					nout;
		bool		exists,
					stale;
		DayEntry   *s,
				   *out;

		while (end < nb && b[end].day == day)
			end++;
		s = lock_day(info, relid, day, mode != MERGE_SUBTRACT, &ns, &exists);
		if (!exists)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("rollups of table \"%s\" are out of step with its rows",
							get_rel_name(relid)),
					 errdetail("Packets of a day that was never counted were deleted."),
					 errhint("Run SELECT mirai_rebuild('%s') to recompute them.",
							 get_rel_name(relid))));
		out = merge_day(s, ns, b + start, end - start, mode, &nout, &stale, relid);
		write_day(info, relid, day, out, nout);
		if (stale)
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
	RollupAgg			agg;
	DayEntry   *b;
	int			nb,
				i,
				start = 0;

	agg_init(&agg, tz);
	agg.only_days = days;
	agg.n_only_days = ndays;
	agg.count_hours = false;
	agg_table(&agg, t->relid, t->attnum);
	b = agg_entries(&agg, &nb);
	for (i = 0; i < ndays; i++)
	{
		int			end = start;
		int			ns,
					nout;
		bool		exists,
					stale;
		DayEntry   *s,
				   *out;

		while (end < nb && b[end].day == days[i])
			end++;
		s = lock_day(info, t->relid, days[i], false, &ns, &exists);
		if (exists)
		{
			out = merge_day(s, ns, b + start, end - start, MERGE_REPLACE, &nout, &stale, t->relid);
			write_day(info, t->relid, days[i], out, nout);
		}
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
			if (read_tracked(&info, relid, &t) && t.follow_deletes)
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
		else if (read_tracked(&info, relid, &t) && (sign > 0 || t.follow_deletes))
		{
			pg_tz	   *tz = zone_or_error(t.time_zone);
			RollupAgg			agg;
			DayEntry   *b;
			int			nb;
			int32	   *stale;
			int			nstale;

			t.attnum = packet_column(RelationGetDescr(trig->tg_relation), info.packet_type, relid);
			agg_init(&agg, tz);
			agg_tuplestore(&agg, ts, RelationGetDescr(trig->tg_relation), t.attnum);
			b = agg_entries(&agg, &nb);
			if (sign > 0)
				lookup_countries(&info, b, nb);
			apply_days(&info, relid, b, nb, sign > 0 ? MERGE_ADD : MERGE_SUBTRACT,
					   &stale, &nstale);
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
				RollupAgg			agg;
				DayEntry   *b;
				int			nb,
							start = 0;

				t.attnum = packet_column(RelationGetDescr(rel), info.packet_type, relid);
				agg_init(&agg, tz);
				agg_table(&agg, relid, t.attnum);
				b = agg_entries(&agg, &nb);
				lookup_countries(&info, b, nb);
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
				while (start < nb)
				{
					int32		day = b[start].day;
					int			end = start,
								ns,
								nout;
					bool		exists,
								stale;
					DayEntry   *s,
							   *out;

					while (end < nb && b[end].day == day)
						end++;
					s = lock_day(&info, relid, day, true, &ns, &exists);
					/* carry the countries of entries already there */
					out = merge_day(s, ns, b + start, end - start, MERGE_REPLACE, &nout, &stale, relid);
					write_day(&info, relid, day, out, nout);
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

typedef struct SourcesState
{
	DayEntry   *e;
	int			n;
	int			pos;
} SourcesState;

/* ports[] of entries e[from..to) (one source), at most PORTS_SHOWN */
static Datum
ports_array(DayEntry *e, int from, int to)
{
	Datum		d[PORTS_SHOWN];
	int			n = 0,
				i;

	for (i = from; i < to && n < PORTS_SHOWN; i++)
		d[n++] = Int32GetDatum(e[i].dport);
	return PointerGetDatum(construct_array(d, n, INT4OID, 4, true, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(mirai_day_sources);
Datum
mirai_day_sources(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SourcesState *st;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TupleDesc	desc;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "mirai_day_sources must return a row type");
		funcctx->tuple_desc = BlessTupleDesc(desc);
		st = palloc0(sizeof(SourcesState));
		st->e = entries_unpack(PG_GETARG_BYTEA_PP(0), 0, &st->n);
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;
	if (st->pos < st->n)
	{
		DayEntry   *e = st->e;
		int			from = st->pos,
					to = from;
		int64		packets = 0,
					first = PG_INT64_MAX,
					last = PG_INT64_MIN;
		Datum		values[7];
		bool		nulls[7] = {false};
		uint8		addr[4];

		while (to < st->n && e[to].src == e[from].src)
		{
			packets += e[to].packets;
			first = Min(first, e[to].first_ns);
			last = Max(last, e[to].last_ns);
			to++;
		}
		st->pos = to;
		addr[0] = e[from].src >> 24;
		addr[1] = e[from].src >> 16;
		addr[2] = e[from].src >> 8;
		addr[3] = e[from].src;
		values[0] = mirai_inet_datum(4, addr);
		values[1] = Int64GetDatum(packets);
		values[2] = TimestampTzGetDatum(mirai_ns_to_timestamptz(first));
		values[3] = TimestampTzGetDatum(mirai_ns_to_timestamptz(last));
		if (e[from].country[0] == '\0')
			nulls[4] = true;
		else
			values[4] = CStringGetTextDatum(e[from].country);
		values[5] = ports_array(e, from, to);
		values[6] = Int32GetDatum(to - from);
		SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(heap_form_tuple(funcctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(funcctx);
}
