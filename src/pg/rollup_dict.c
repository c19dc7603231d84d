/*-------------------------------------------------------------------------
 *
 * rollup_dict.c
 *		The sources of a tracked table and the day each was first seen.
 *
 * "How many new bots a day" needs, for every source, its first day: that
 * is what this dictionary keeps, in DICT_CHUNKS rows of mirai_rollup_dict
 * per table (the chunk of a source is a hash of its address), each with
 * its sources packed and the histogram of their first days beside them
 * (first_days, first_counts), so that mirai_new_sources sums a few hundred
 * short arrays instead of every source of every day.
 *
 * A chunk keeps its sources in two packed lists: state, and delta, the
 * sources new since state was last written.  A statement reads the chunks
 * its sources fall in without locking them (a backend keeps the chunks it
 * read, by row version, and unpacks only those that changed); only a chunk
 * that gains a source, or an earlier first day, is locked (SELECT ... FOR
 * UPDATE, in ascending order, after the day rows), read again and written:
 * new sources go to delta, a few kilobytes, while state, however large,
 * stays as it is; delta is folded into state when it passes DELTA_MAX, or
 * when a source of state gets an earlier first day.  Once a table's
 * sources are known, loads read the dictionary and write nothing; a source
 * new to a flooded day costs a short delta, not the chunk.  A deletion
 * that takes a source off its first day makes the dictionary be built
 * again from the parts.
 *
 * DICT_CHUNKS is fixed: 32 chunks hold a million sources in rows of about
 * 150 kB; past a few million, rows reach megabytes and
 * mirai_ext.rollup_part_limit guards them.
 *
 * Stored form of a chunk's state and of its delta (bytea each):
 *	byte 0		1 (the version)
 *	varint		number of sources
 *	4 bytes		base: the earliest first day, big-endian
 *	then per source, by address: varint address - previous address,
 *		varint first day - base
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "mirai_ext.h"
#include "rollup.h"

#define DICT_BITS		5
#define DICT_CHUNKS		(1 << DICT_BITS)
#define DICT_VERSION	1
#define DELTA_MAX		1024	/* sources of a delta before it joins state */
#define DICT_HISTOGRAM_SPAN	(1 << 16)	/* days counted in an array, not sorted */

static inline int
chunk_of(uint32 src)
{
	/* the high bits of the hash: parts use the low ones */
	return (int) (murmurhash32(src) >> (32 - DICT_BITS));
}

/*
 * Chunks as this backend last read or wrote them, by table and chunk, with
 * the row version they came from (xmin, ctid): a statement reads the
 * versions of its chunks, and unpacks only those that changed since (a
 * loader's backend loads file after file into one table).  A version of
 * an aborted write no longer matches the row, so it is read again.  At most
 * DICT_CACHE_SOURCES sources are kept.
 */
#define DICT_CACHE_SOURCES	(4 * 1024 * 1024)

typedef struct DictCacheKey
{
	Oid			relid;
	int32		chunk;
} DictCacheKey;

/* A chunk's two lists of sources, each sorted by address. */
typedef struct Chunk
{
	DictSource *s;				/* state */
	int			ns;
	DictSource *d;				/* delta */
	int			nd;
} Chunk;

/*
 * The working arrays of the chunks a statement writes, kept from one chunk
 * to the next (rollup_room), as rollup_day.c's PartWork for parts.
 */
typedef struct ChunkWork
{
	DictSource *fresh;			/* the batch's sources new to the chunk */
	Size		capfresh;
	DictSource *all;			/* state and delta, merged */
	Size		capall;
	DictSource *lists[2];		/* the new state, the new delta */
	Size		caplists[2];
	bytea	   *packed[2];		/* state and delta, packed */
	Size		cappacked[2];
} ChunkWork;

typedef struct DictCacheEntry
{
	DictCacheKey key;
	char		status;
	TransactionId xmin;
	ItemPointerData ctid;
	bool		valid;
	Chunk		ch;				/* copies in dict_cache_cxt */
} DictCacheEntry;

#define SH_PREFIX		dictcache
#define SH_ELEMENT_TYPE	DictCacheEntry
#define SH_KEY_TYPE		DictCacheKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_combine(murmurhash32((uint32) (k).relid), murmurhash32((uint32) (k).chunk))
#define SH_EQUAL(tb, a, b)	((a).relid == (b).relid && (a).chunk == (b).chunk)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static MemoryContext dict_cache_cxt;
static dictcache_hash *dict_cache;
static int64 dict_cache_sources;

static void
cache_drop_lists(DictCacheEntry *e)
{
	if (e->valid)
	{
		dict_cache_sources -= e->ch.ns + e->ch.nd;
		if (e->ch.s)
			pfree(e->ch.s);
		if (e->ch.d)
			pfree(e->ch.d);
	}
	e->valid = false;
}

static DictSource *
cache_copy(const DictSource *s, int n)
{
	DictSource *c = MemoryContextAllocHuge(dict_cache_cxt, sizeof(DictSource) * Max(n, 1));

	if (n > 0)
		memcpy(c, s, sizeof(DictSource) * n);
	return c;
}

/* Keep a copy of a chunk as of a row version (when there is room). */
static void
cache_put(Oid relid, int chunk, TransactionId xmin, ItemPointer ctid, const Chunk *ch)
{
	DictCacheKey k = {relid, chunk};
	DictCacheEntry *e;
	bool		found;

	if (dict_cache == NULL)
	{
		dict_cache_cxt = AllocSetContextCreate(TopMemoryContext, "mirai_ext source dictionary cache",
											   ALLOCSET_DEFAULT_SIZES);
		dict_cache = dictcache_create(dict_cache_cxt, 256, NULL);
	}
	e = dictcache_insert(dict_cache, k, &found);
	if (!found)
		e->valid = false;
	cache_drop_lists(e);
	e->xmin = xmin;
	e->ctid = *ctid;
	if (dict_cache_sources + ch->ns + ch->nd > DICT_CACHE_SOURCES)
	{
		dictcache_delete_item(dict_cache, e);
		return;
	}
	e->ch.s = cache_copy(ch->s, ch->ns);
	e->ch.ns = ch->ns;
	e->ch.d = cache_copy(ch->d, ch->nd);
	e->ch.nd = ch->nd;
	e->valid = true;
	dict_cache_sources += ch->ns + ch->nd;
}

/* A cached chunk of this row version, or NULL. */
static DictCacheEntry *
cache_get(Oid relid, int chunk, TransactionId xmin, ItemPointer ctid)
{
	DictCacheKey k = {relid, chunk};
	DictCacheEntry *e;

	if (dict_cache == NULL)
		return NULL;
	e = dictcache_lookup(dict_cache, k);
	if (e == NULL || !e->valid || e->xmin != xmin || !ItemPointerEquals(&e->ctid, ctid))
		return NULL;
	return e;
}

/* Forget a table's cached chunks. */
static void
cache_forget(Oid relid)
{
	int			c;

	for (c = 0; dict_cache != NULL && c < DICT_CHUNKS; c++)
	{
		DictCacheKey k = {relid, c};
		DictCacheEntry *e = dictcache_lookup(dict_cache, k);

		if (e != NULL)
		{
			cache_drop_lists(e);
			dictcache_delete_item(dict_cache, e);
		}
	}
}

/* ----------------------------------------------------------------------
 * The stored form
 * ----------------------------------------------------------------------
 */

static uint8 *
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

static bool
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

static void
dict_corrupt(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt source dictionary of a tracked table: %s", what),
			 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
}

/* Unpack a chunk's sources (sorted by address). */
static DictSource *
dict_unpack(bytea *b, int *n)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	const uint8 *end = p + VARSIZE_ANY_EXHDR(b);
	uint64		count,
				i;
	uint32		v32,
				src = 0;
	int32		base;
	DictSource *s;

	if (end == p)
	{
		*n = 0;
		return palloc(sizeof(DictSource));
	}
	if (*p++ != DICT_VERSION || !get_varint(&p, end, &count) ||
		count > (uint64) (end - p) / 2 || end - p < 4)
		dict_corrupt("bad header");
	memcpy(&v32, p, 4);
	base = (int32) pg_ntoh32(v32);
	p += 4;
	s = rollup_alloc(sizeof(DictSource) * Max(count, 1));
	for (i = 0; i < count; i++)
	{
		uint64		d,
					dd;

		if (!get_varint(&p, end, &d) || !get_varint(&p, end, &dd) ||
			d > PG_UINT32_MAX - src || (i > 0 && d == 0) || dd > PG_INT32_MAX ||
			(int64) base + (int64) dd > PG_INT32_MAX)
			dict_corrupt("a source out of range or out of order");
		src += (uint32) d;
		s[i].src = src;
		s[i].first_day = base + (int32) dd;
	}
	if (p != end)
		dict_corrupt("trailing bytes");
	*n = (int) count;
	return s;
}

/* Pack sources (sorted by address) into *buf (rollup_room). */
static bytea *
dict_pack(const DictSource *s, int n, bytea **buf, Size *cap)
{
	bytea	   *b = rollup_room((void **) buf, cap, VARHDRSZ + 1 + 10 + 4 + (Size) n * 10, 1);
	uint8	   *start = (uint8 *) VARDATA(b),
			   *p = start;
	int32		base = PG_INT32_MAX;
	uint32		v32,
				prev = 0;
	int			i;

	for (i = 0; i < n; i++)
		base = Min(base, s[i].first_day);
	if (n == 0)
		base = 0;
	*p++ = DICT_VERSION;
	p = put_varint(p, (uint64) n);
	v32 = pg_hton32((uint32) base);
	memcpy(p, &v32, 4);
	p += 4;
	for (i = 0; i < n; i++)
	{
		p = put_varint(p, s[i].src - prev);
		prev = s[i].src;
		p = put_varint(p, (uint64) ((int64) s[i].first_day - base));
	}
	SET_VARSIZE(b, VARHDRSZ + (p - start));
	if (VARSIZE(b) > (Size) mirai_rollup_part_limit * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a chunk of the source dictionary of a tracked table would take %zu bytes",
						(Size) VARSIZE(b)),
				 errdetail("The limit is mirai_ext.rollup_part_limit, %d kB; the chunk holds %d sources.",
						   mirai_rollup_part_limit, n)));
	return b;
}

static int
src_cmp(const void *a, const void *b)
{
	uint32		x = ((const DictSource *) a)->src;
	uint32		y = ((const DictSource *) b)->src;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
day_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Sort sources by address: an LSD radix sort, 8 bits a pass (a flooded
 * day brings a million sources); returns the sorted array (s or another).
 * The sources of a statement of one day come sorted already.
 */
static DictSource *
sort_by_src(DictSource *s, int n)
{
	DictSource *t;
	int			d,
				i;

	for (i = 1; i < n && s[i - 1].src <= s[i].src; i++)
		;
	if (i >= n)
		return s;
	if (n < 256)
	{
		qsort(s, n, sizeof(DictSource), src_cmp);
		return s;
	}
	t = rollup_alloc(sizeof(DictSource) * n);
	for (d = 0; d < 4; d++)
	{
		uint32		count[257];
		DictSource *swap;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[((s[i].src >> (8 * d)) & 0xFF) + 1]++;
		for (i = 0; i < 256; i++)
			count[i + 1] += count[i];
		for (i = 0; i < n; i++)
			t[count[(s[i].src >> (8 * d)) & 0xFF]++] = s[i];
		swap = s;
		s = t;
		t = swap;
	}
	pfree(t);
	return s;
}

/* Merge two lists by address (no address in both) into *buf (rollup_room). */
static DictSource *
merge_lists(const DictSource *a, int na, const DictSource *b, int nb, DictSource **buf, Size *cap)
{
	DictSource *out = rollup_room((void **) buf, cap, Max(na + nb, 1), sizeof(DictSource));
	int			i = 0,
				j = 0,
				k = 0;

	while (i < na || j < nb)
		out[k++] = (j >= nb || (i < na && a[i].src < b[j].src)) ? a[i++] : b[j++];
	return out;
}

/* The dictionary's statements, prepared once per backend and schema. */
typedef struct DictPlans
{
	bool		valid;
	char		nspname[2 * NAMEDATALEN + 3];
	SPIPlanPtr	delta_update;	/* a chunk's histogram and delta */
	SPIPlanPtr	upsert;			/* a chunk, state and delta */
	SPIPlanPtr	versions;		/* chunks' row versions */
	SPIPlanPtr	read;			/* chunks, to read */
	SPIPlanPtr	read_lock;		/* chunks, FOR UPDATE */
} DictPlans;

static DictPlans dplans;

static const DictPlans *
dict_plans(const ExtInfo *info)
{
	Oid			t_write[7] = {OIDOID, INT4OID, INT4OID, DATEARRAYOID, INT8ARRAYOID, BYTEAOID, BYTEAOID};
	Oid			t_read[2] = {OIDOID, INT4ARRAYOID};
	const char *n = info->nspname;
	const char *these = "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
		"AND chunk OPERATOR(pg_catalog.=) ANY ($2)";
	SPIPlanPtr *all[] = {&dplans.delta_update, &dplans.upsert, &dplans.versions, &dplans.read,
	&dplans.read_lock};
	int			i;

	if (dplans.valid && strcmp(dplans.nspname, n) == 0)
		return &dplans;
	if (strlen(n) >= sizeof(dplans.nspname))
		elog(ERROR, "schema name too long");
	for (i = 0; i < (int) lengthof(all); i++)
		if (*all[i])
			SPI_freeplan(*all[i]);
	memset(&dplans, 0, sizeof(dplans));
	dplans.delta_update = rollup_keep_plan(psprintf("UPDATE %s.mirai_rollup_dict SET sources = $3, first_days = $4, "
													"first_counts = $5, delta = $7 "
													"WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
													"AND chunk OPERATOR(pg_catalog.=) $2 "
													"RETURNING xmin, ctid", n),
										   7, t_write);
	dplans.upsert = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_dict AS d (tbl, chunk, sources, first_days, "
											  "first_counts, state, delta) "
											  "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6, $7) "
											  "ON CONFLICT (tbl, chunk) DO UPDATE SET sources = excluded.sources, "
											  "first_days = excluded.first_days, first_counts = excluded.first_counts, "
											  "state = excluded.state, delta = excluded.delta RETURNING xmin, ctid", n),
									 7, t_write);
	dplans.versions = rollup_keep_plan(psprintf("SELECT chunk, xmin, ctid FROM %s.mirai_rollup_dict %s", n, these),
									   2, t_read);
	dplans.read = rollup_keep_plan(psprintf("SELECT chunk, xmin, ctid, state, delta FROM %s.mirai_rollup_dict %s "
											"ORDER BY chunk", n, these),
								   2, t_read);
	dplans.read_lock = rollup_keep_plan(psprintf("SELECT chunk, xmin, ctid, state, delta FROM %s.mirai_rollup_dict %s "
												 "ORDER BY chunk FOR UPDATE", n, these),
										2, t_read);
	strlcpy(dplans.nspname, n, sizeof(dplans.nspname));
	dplans.valid = true;
	return &dplans;
}

/* The first day of a chunk's i-th source, of state then delta. */
static inline int32
chunk_day(const Chunk *ch, int i)
{
	return i < ch->ns ? ch->s[i].first_day : ch->d[i - ch->ns].first_day;
}

/*
 * Write a chunk: its state (unless keep_state: then its row keeps the
 * state it has, and only delta is written), its delta, and the histogram
 * of the first days of both; packed in w.
 */
static void
chunk_write(const ExtInfo *info, Oid relid, int chunk, const Chunk *ch, bool keep_state,
			ChunkWork *w)
{
	int			n = ch->ns + ch->nd;
	int32	   *days = NULL;
	Datum	   *dd,
			   *cd;
	const DictPlans *pl = dict_plans(info);
	Datum		v[7];
	int			i,
				nd = 0;
	bool		isnull;
	int32		lo = PG_INT32_MAX,
				hi = PG_INT32_MIN;

	for (i = 0; i < n; i++)
	{
		lo = Min(lo, chunk_day(ch, i));
		hi = Max(hi, chunk_day(ch, i));
	}
	if (n > 0 && (int64) hi - lo < DICT_HISTOGRAM_SPAN)
	{
		/* the histogram of first days by counting: a table's days are few */
		int64	   *count = palloc0(sizeof(int64) * ((int64) hi - lo + 1));
		int32		d;

		dd = palloc(sizeof(Datum) * ((int64) hi - lo + 1));
		cd = palloc(sizeof(Datum) * ((int64) hi - lo + 1));
		for (i = 0; i < n; i++)
			count[chunk_day(ch, i) - lo]++;
		for (d = lo; d <= hi; d++)
			if (count[d - lo] > 0)
			{
				dd[nd] = DateADTGetDatum(d);
				cd[nd++] = Int64GetDatum(count[d - lo]);
			}
		pfree(count);
	}
	else
	{
		days = palloc(sizeof(int32) * Max(n, 1));
		dd = palloc(sizeof(Datum) * Max(n, 1));
		cd = palloc(sizeof(Datum) * Max(n, 1));
		for (i = 0; i < n; i++)
			days[i] = chunk_day(ch, i);
		qsort(days, n, sizeof(int32), day_cmp);
		for (i = 0; i < n; i++)
		{
			if (nd == 0 || DatumGetDateADT(dd[nd - 1]) != days[i])
			{
				dd[nd] = DateADTGetDatum(days[i]);
				cd[nd++] = Int64GetDatum(0);
			}
			cd[nd - 1] = Int64GetDatum(DatumGetInt64(cd[nd - 1]) + 1);
		}
	}
	v[0] = ObjectIdGetDatum(relid);
	v[1] = Int32GetDatum(chunk);
	v[2] = Int32GetDatum(n);
	v[3] = PointerGetDatum(construct_array(dd, nd, DATEOID, 4, true, TYPALIGN_INT));
	v[4] = PointerGetDatum(construct_array(cd, nd, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	v[5] = PointerGetDatum(dict_pack(keep_state ? NULL : ch->s, keep_state ? 0 : ch->ns,
									 &w->packed[0], &w->cappacked[0]));
	v[6] = PointerGetDatum(dict_pack(ch->d, ch->nd, &w->packed[1], &w->cappacked[1]));
	if (keep_state)
	{
		/* the row exists (its delta is changing): state is not touched */
		if (SPI_execute_plan(pl->delta_update, v, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "writing mirai_rollup_dict failed");
	}
	else if (SPI_execute_plan(pl->upsert, v, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
			 SPI_processed != 1)
		elog(ERROR, "writing mirai_rollup_dict failed");
	cache_put(relid, chunk,
			  DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
			  (ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)),
			  ch);
	SPI_freetuptable(SPI_tuptable);
	pfree(dd);
	pfree(cd);
	if (days)
		pfree(days);
}

/*
 * Read chunks of a table (those in chunks[0..n), sorted) into ch[] (lists
 * not to be changed).  Locked: with FOR UPDATE, read as they are.
 * Unlocked: only their row versions, then the chunks not cached as of
 * those versions.  present[c] says whether chunk c has a row.
 */
static void
chunks_read(const ExtInfo *info, Oid relid, const int32 *chunks, int n, bool lock,
			Chunk *ch, bool *present)
{
	const DictPlans *pl = dict_plans(info);
	Datum		v[2];
	Datum	   *cd = palloc(sizeof(Datum) * Max(n, 1));
	int			nmiss = 0;
	uint64		r;
	int			i;

	for (i = 0; i < n; i++)
		cd[i] = Int32GetDatum(chunks[i]);
	v[0] = ObjectIdGetDatum(relid);
	v[1] = PointerGetDatum(construct_array(cd, n, INT4OID, 4, true, TYPALIGN_INT));
	if (!lock)
	{
		if (SPI_execute_plan(pl->versions, v, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading mirai_rollup_dict failed");
		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int			c = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			TransactionId xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
			ItemPointer ctid = (ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &isnull));
			DictCacheEntry *e;

			if (c < 0 || c >= DICT_CHUNKS)
				dict_corrupt("chunk out of range");
			present[c] = true;
			if ((e = cache_get(relid, c, xmin, ctid)) != NULL)
				ch[c] = e->ch;
			else
				cd[nmiss++] = Int32GetDatum(c);
		}
		SPI_freetuptable(SPI_tuptable);
		if (nmiss == 0)
			return;
		v[1] = PointerGetDatum(construct_array(cd, nmiss, INT4OID, 4, true, TYPALIGN_INT));
	}
	if (SPI_execute_plan(lock ? pl->read_lock : pl->read, v, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_dict failed");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			c = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));

		if (c < 0 || c >= DICT_CHUNKS)
			dict_corrupt("chunk out of range");
		present[c] = true;
		ch[c].s = dict_unpack(DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull)), &ch[c].ns);
		ch[c].d = dict_unpack(DatumGetByteaPP(SPI_getbinval(tup, desc, 5, &isnull)), &ch[c].nd);
		cache_put(relid, c, DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull)),
				  (ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 3, &isnull)), &ch[c]);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* A source in a chunk's lists, or NULL. */
static DictSource *
chunk_find(const Chunk *ch, const DictSource *key)
{
	DictSource *f = ch->ns > 0 ? bsearch(key, ch->s, ch->ns, sizeof(DictSource), src_cmp) : NULL;

	if (f == NULL && ch->nd > 0)
		f = bsearch(key, ch->d, ch->nd, sizeof(DictSource), src_cmp);
	return f;
}

/* What a batch does to a chunk. */
typedef enum ChunkChange
{
	CHANGE_NONE,				/* every source known, on that day or before */
	CHANGE_DELTA,				/* new sources only, and they fit in delta */
	CHANGE_STATE				/* state written again, delta folded in */
} ChunkChange;

/* Would sources b[0..nb) change a chunk (a new source, or an earlier day)? */
static bool
chunk_changes(const Chunk *ch, const DictSource *b, int nb)
{
	int			j;

	for (j = 0; j < nb; j++)
	{
		DictSource *f = chunk_find(ch, &b[j]);

		if (f == NULL || b[j].first_day < f->first_day)
			return true;
	}
	return false;
}

/*
 * Apply sources b[0..nb) (sorted by address, each once) to a chunk: *ch
 * becomes the chunk's new lists (w's arrays; the old ones are not
 * changed).  Returns what must be written.
 */
static ChunkChange
chunk_apply(Chunk *ch, const DictSource *b, int nb, ChunkWork *w)
{
	DictSource *fresh = rollup_room((void **) &w->fresh, &w->capfresh, Max(nb, 1), sizeof(DictSource)),
			   *all;
	int			nfresh = 0,
				j;
	bool		earlier = false;

	for (j = 0; j < nb; j++)
	{
		DictSource *f = chunk_find(ch, &b[j]);

		if (f == NULL)
			fresh[nfresh++] = b[j];
		else if (b[j].first_day < f->first_day)
			earlier = true;
	}
	if (nfresh == 0 && !earlier)
		return CHANGE_NONE;
	if (!earlier && ch->nd + nfresh <= DELTA_MAX && ch->ns > 0)
	{
		ch->d = merge_lists(ch->d, ch->nd, fresh, nfresh, &w->lists[1], &w->caplists[1]);
		ch->nd += nfresh;
		return CHANGE_DELTA;
	}
	/* state and delta as one list, with the batch's earlier days and new sources */
	all = merge_lists(ch->s, ch->ns, ch->d, ch->nd, &w->all, &w->capall);
	for (j = 0; earlier && j < nb; j++)
	{
		DictSource *f = bsearch(&b[j], all, ch->ns + ch->nd, sizeof(DictSource), src_cmp);

		if (f != NULL && b[j].first_day < f->first_day)
			f->first_day = b[j].first_day;
	}
	ch->s = merge_lists(all, ch->ns + ch->nd, fresh, nfresh, &w->lists[0], &w->caplists[0]);
	ch->ns += ch->nd + nfresh;
	ch->d = NULL;
	ch->nd = 0;
	return CHANGE_STATE;
}

/* ----------------------------------------------------------------------
 * What the rollups call
 * ----------------------------------------------------------------------
 */

/*
 * Count a statement's sources: entries e[0..n) sorted by (day, src,
 * dport); each source's earliest day among them may be its first.
 */
void
dict_add(const ExtInfo *info, Oid relid, const DayEntry *e, int n)
{
	DictSource *b = rollup_alloc(sizeof(DictSource) * Max(n, 1));
	Chunk	   *ch = palloc0(sizeof(Chunk) * DICT_CHUNKS);
	bool	   *present = palloc0(sizeof(bool) * DICT_CHUNKS);
	int		   *from = palloc0(sizeof(int) * (DICT_CHUNKS + 1));
	DictSource *bychunk;
	int32		chunks[DICT_CHUNKS];
	int			nb = 0,
				nchunks = 0,
				nchange = 0,
				i,
				c;
	RoleSwitch	saved;
	ChunkWork	w = {0};

	if (n == 0)
		return;
	/* each source once, with its earliest day */
	for (i = 0; i < n; i++)
	{
		b[nb].src = e[i].src;
		b[nb++].first_day = e[i].day;
	}
	b = sort_by_src(b, nb);
	for (i = 0, c = 0; i < nb; i++)
	{
		if (c > 0 && b[c - 1].src == b[i].src)
			b[c - 1].first_day = Min(b[c - 1].first_day, b[i].first_day);
		else
			b[c++] = b[i];
	}
	nb = c;
	/* by chunk, each chunk's sources by address */
	bychunk = rollup_alloc(sizeof(DictSource) * Max(nb, 1));
	for (i = 0; i < nb; i++)
		from[chunk_of(b[i].src) + 1]++;
	for (c = 0; c < DICT_CHUNKS; c++)
		from[c + 1] += from[c];
	{
		int		   *at = palloc(sizeof(int) * DICT_CHUNKS);

		memcpy(at, from, sizeof(int) * DICT_CHUNKS);
		for (i = 0; i < nb; i++)
			bychunk[at[chunk_of(b[i].src)]++] = b[i];
	}
	for (c = 0; c < DICT_CHUNKS; c++)
		if (from[c + 1] > from[c])
			chunks[nchunks++] = c;

	rollup_require_current(info);
	rollup_as_ext_owner(info, &saved);
	/* read without locks: which chunks change? */
	chunks_read(info, relid, chunks, nchunks, false, ch, present);
	for (i = 0; i < nchunks; i++)
	{
		c = chunks[i];
		if (chunk_changes(&ch[c], bychunk + from[c], from[c + 1] - from[c]))
			chunks[nchange++] = c;
	}
	/* lock those, read again (a concurrent load may have written them), write */
	if (nchange > 0)
	{
		memset(ch, 0, sizeof(Chunk) * DICT_CHUNKS);
		memset(present, 0, sizeof(bool) * DICT_CHUNKS);
		chunks_read(info, relid, chunks, nchange, true, ch, present);
		for (i = 0; i < nchange; i++)
		{
			ChunkChange change;

			c = chunks[i];
			change = chunk_apply(&ch[c], bychunk + from[c], from[c + 1] - from[c], &w);
			if (change != CHANGE_NONE)
				chunk_write(info, relid, c, &ch[c], change == CHANGE_DELTA && present[c], &w);
			CHECK_FOR_INTERRUPTS();
		}
	}
	rollup_role_end(&saved);
}

/* The sources of each chunk while the dictionary is built again. */
typedef struct RebuildArg
{
	DictSource **by;
	int		   *nby;
	Size	   *cap;
} RebuildArg;

/* A part's sources and their day (parts come in ascending day order). */
static void
rebuild_part(int32 day, DayEntry *e, int n, void *arg)
{
	RebuildArg *a = arg;
	int			i;

	/* days come in ascending order: a source's first is its first seen */
	for (i = 0; i < n; i++)
	{
		int			c;

		if (i > 0 && e[i].src == e[i - 1].src)
			continue;
		c = chunk_of(e[i].src);
		rollup_room((void **) &a->by[c], &a->cap[c], (Size) a->nby[c] + 1, sizeof(DictSource));
		a->by[c][a->nby[c]].src = e[i].src;
		a->by[c][a->nby[c]++].first_day = day;
	}
}

/*
 * The dictionary of a table again, from every part of every day (after a
 * deletion took sources off their first day, or a rebuild).
 */
void
dict_rebuild(const ExtInfo *info, Oid relid)
{
	RoleSwitch	saved;
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(relid)};
	DictSource **by = palloc0(sizeof(DictSource *) * DICT_CHUNKS);
	int		   *nby = palloc0(sizeof(int) * DICT_CHUNKS);
	Size	   *cap = palloc0(sizeof(Size) * DICT_CHUNKS);
	ChunkWork	w = {0};
	int			c;

	rollup_require_current(info);
	cache_forget(relid);
	rollup_as_ext_owner(info, &saved);
	if (SPI_execute_with_args(psprintf("DELETE FROM %s.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									   info->nspname), 1, at, v, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "clearing mirai_rollup_dict failed");
	{
		RebuildArg	a = {by, nby, cap};

		parts_foreach(info, relid, NULL, 0, false, rebuild_part, &a);
	}
	for (c = 0; c < DICT_CHUNKS; c++)
	{
		int			i,
					k = 0;

		if (nby[c] == 0)
			continue;
		/* a source once, with its earliest day */
		qsort(by[c], nby[c], sizeof(DictSource), src_cmp);
		for (i = 0; i < nby[c]; i++)
		{
			if (k > 0 && by[c][k - 1].src == by[c][i].src)
				by[c][k - 1].first_day = Min(by[c][k - 1].first_day, by[c][i].first_day);
			else
				by[c][k++] = by[c][i];
		}
		{
			Chunk		one = {by[c], k, NULL, 0};

			chunk_write(info, relid, c, &one, false, &w);
		}
	}
	rollup_role_end(&saved);
}

/*
 * Sources a deletion took off a day (gone[0..n)): when that day was one's
 * first, the dictionary is built again.
 */
void
dict_forget(const ExtInfo *info, Oid relid, const DictSource *gone, int n)
{
	Chunk	   *ch = palloc0(sizeof(Chunk) * DICT_CHUNKS);
	bool	   *present = palloc0(sizeof(bool) * DICT_CHUNKS);
	int32		chunks[DICT_CHUNKS];
	bool		want[DICT_CHUNKS];
	int			nchunks = 0,
				i,
				c;
	bool		first = false;
	RoleSwitch	saved;

	if (n == 0)
		return;
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++)
		want[chunk_of(gone[i].src)] = true;
	for (c = 0; c < DICT_CHUNKS; c++)
		if (want[c])
			chunks[nchunks++] = c;
	rollup_require_current(info);
	rollup_as_ext_owner(info, &saved);
	chunks_read(info, relid, chunks, nchunks, false, ch, present);
	rollup_role_end(&saved);
	for (i = 0; i < n && !first; i++)
	{
		DictSource *s = chunk_find(&ch[chunk_of(gone[i].src)], &gone[i]);

		if (s != NULL && s->first_day == gone[i].first_day)
			first = true;
	}
	if (first)
		dict_rebuild(info, relid);
}
