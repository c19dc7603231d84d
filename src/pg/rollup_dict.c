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
 * A statement reads the chunks its sources fall in without locking them;
 * only a chunk that gains a source, or an earlier first day, is locked
 * (SELECT ... FOR UPDATE, in ascending order, after the day rows), read
 * again and written.  Once a table's sources are known, loads read the
 * dictionary and write nothing.  A deletion that takes a source off its
 * first day makes the dictionary be built again from the parts.
 *
 * DICT_CHUNKS is fixed: 256 chunks hold a million sources in rows of about
 * 20 kB; past a few tens of millions, rows reach megabytes and
 * mirai_ext.rollup_part_limit guards them.
 *
 * Stored form of a chunk's sources (bytea):
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

typedef struct DictCacheEntry
{
	DictCacheKey key;
	char		status;
	TransactionId xmin;
	ItemPointerData ctid;
	DictSource *s;
	int			n;
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

/* Keep a copy of a chunk as of a row version (when there is room). */
static void
cache_put(Oid relid, int chunk, TransactionId xmin, ItemPointer ctid,
		  const DictSource *s, int n)
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
	if (found && e->s)
	{
		dict_cache_sources -= e->n;
		pfree(e->s);
	}
	e->s = NULL;
	e->n = 0;
	e->xmin = xmin;
	e->ctid = *ctid;
	if (dict_cache_sources + n > DICT_CACHE_SOURCES)
	{
		dictcache_delete_item(dict_cache, e);
		return;
	}
	e->s = MemoryContextAllocHuge(dict_cache_cxt, sizeof(DictSource) * Max(n, 1));
	memcpy(e->s, s, sizeof(DictSource) * n);
	e->n = n;
	dict_cache_sources += n;
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
	if (e == NULL || e->s == NULL || e->xmin != xmin || !ItemPointerEquals(&e->ctid, ctid))
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
			if (e->s)
			{
				dict_cache_sources -= e->n;
				pfree(e->s);
			}
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

	if (end - p < 1 || *p++ != DICT_VERSION || !get_varint(&p, end, &count) ||
		count > (uint64) (end - p) / 2 || end - p < 4)
		dict_corrupt("bad header");
	memcpy(&v32, p, 4);
	base = (int32) pg_ntoh32(v32);
	p += 4;
	s = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * Max(count, 1));
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

static bytea *
dict_pack(const DictSource *s, int n)
{
	bytea	   *b = MemoryContextAllocHuge(CurrentMemoryContext, VARHDRSZ + 1 + 10 + 4 + (Size) n * 10);
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
 */
static DictSource *
sort_by_src(DictSource *s, int n)
{
	DictSource *t;
	int			d,
				i;

	if (n < 256)
	{
		qsort(s, n, sizeof(DictSource), src_cmp);
		return s;
	}
	t = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * n);
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

/* Write a chunk: its sources and the histogram of their first days. */
static void
chunk_write(const ExtInfo *info, Oid relid, int chunk, const DictSource *s, int n)
{
	int32	   *days = palloc(sizeof(int32) * Max(n, 1));
	Datum	   *dd = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *cd = palloc(sizeof(Datum) * Max(n, 1));
	Oid			at[6] = {OIDOID, INT4OID, INT4OID, DATEARRAYOID, INT8ARRAYOID, BYTEAOID};
	Datum		v[6];
	int			i,
				nd = 0;

	for (i = 0; i < n; i++)
		days[i] = s[i].first_day;
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
	v[0] = ObjectIdGetDatum(relid);
	v[1] = Int32GetDatum(chunk);
	v[2] = Int32GetDatum(n);
	v[3] = PointerGetDatum(construct_array(dd, nd, DATEOID, 4, true, TYPALIGN_INT));
	v[4] = PointerGetDatum(construct_array(cd, nd, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	v[5] = PointerGetDatum(dict_pack(s, n));
	if (SPI_execute_with_args(psprintf("INSERT INTO %s.mirai_rollup_dict AS d (tbl, chunk, sources, first_days, first_counts, state) "
									   "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6) "
									   "ON CONFLICT (tbl, chunk) DO UPDATE SET sources = excluded.sources, "
									   "first_days = excluded.first_days, first_counts = excluded.first_counts, "
									   "state = excluded.state RETURNING xmin, ctid", info->nspname),
							  6, at, v, NULL, false, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "writing mirai_rollup_dict failed");
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		ItemPointer ctid = (ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		cache_put(relid, chunk, xmin, ctid, s, n);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Read chunks of a table (those in chunks[0..n), sorted) into per-chunk
 * arrays (not to be changed).  Locked: with FOR UPDATE, read as they are.
 * Unlocked: only their row versions, then the chunks not cached as of
 * those versions.
 */
static void
chunks_read(const ExtInfo *info, Oid relid, const int32 *chunks, int n, bool lock,
			DictSource **s, int *ns)
{
	Oid			at[2] = {OIDOID, INT4ARRAYOID};
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
		if (SPI_execute_with_args(psprintf("SELECT chunk, xmin, ctid FROM %s.mirai_rollup_dict "
										   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										   "AND chunk OPERATOR(pg_catalog.=) ANY ($2)", info->nspname),
								  2, at, v, NULL, false, 0) != SPI_OK_SELECT)
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
			if ((e = cache_get(relid, c, xmin, ctid)) != NULL)
			{
				s[c] = e->s;
				ns[c] = e->n;
			}
			else
				cd[nmiss++] = Int32GetDatum(c);
		}
		SPI_freetuptable(SPI_tuptable);
		if (nmiss == 0)
			return;
		v[1] = PointerGetDatum(construct_array(cd, nmiss, INT4OID, 4, true, TYPALIGN_INT));
	}
	if (SPI_execute_with_args(psprintf("SELECT chunk, xmin, ctid, state FROM %s.mirai_rollup_dict "
									   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
									   "AND chunk OPERATOR(pg_catalog.=) ANY ($2) ORDER BY chunk%s",
									   info->nspname, lock ? " FOR UPDATE" : ""),
							  2, at, v, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_dict failed");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			c = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));

		if (c < 0 || c >= DICT_CHUNKS)
			dict_corrupt("chunk out of range");
		s[c] = dict_unpack(DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull)), &ns[c]);
		cache_put(relid, c, DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull)),
				  (ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 3, &isnull)), s[c], ns[c]);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Merge sources (sorted by address, each once) into a chunk's; returns
 * whether it changed (a new source, or an earlier first day).
 */
static bool
chunk_merge(DictSource **s, int *ns, const DictSource *b, int nb)
{
	DictSource *out;
	int			i = 0,
				j = 0,
				k = 0;
	bool		changed = false;

	/* most loads bring sources already known, on later days: nothing to do */
	for (j = 0; j < nb; j++)
	{
		DictSource *f = *ns > 0 ? bsearch(&b[j], *s, *ns, sizeof(DictSource), src_cmp) : NULL;

		if (f == NULL || b[j].first_day < f->first_day)
			break;
	}
	if (j == nb)
		return false;
	j = 0;
	out = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * Max((Size) *ns + nb, 1));

	while (i < *ns || j < nb)
	{
		if (j >= nb || (i < *ns && (*s)[i].src < b[j].src))
			out[k++] = (*s)[i++];
		else if (i >= *ns || b[j].src < (*s)[i].src)
		{
			out[k++] = b[j++];
			changed = true;
		}
		else
		{
			out[k] = (*s)[i++];
			if (b[j].first_day < out[k].first_day)
			{
				out[k].first_day = b[j].first_day;
				changed = true;
			}
			k++;
			j++;
		}
	}
	*s = out;
	*ns = k;
	return changed;
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
	DictSource *b = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * Max(n, 1));
	DictSource **have = palloc0(sizeof(DictSource *) * DICT_CHUNKS);
	int		   *nhave = palloc0(sizeof(int) * DICT_CHUNKS);
	int		   *from = palloc0(sizeof(int) * (DICT_CHUNKS + 1));
	DictSource *bychunk;
	int32		chunks[DICT_CHUNKS];
	int			nb = 0,
				nchunks = 0,
				nchange = 0,
				i,
				c;
	bool		change[DICT_CHUNKS];
	RoleSwitch	saved;

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
	bychunk = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * Max(nb, 1));
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
	chunks_read(info, relid, chunks, nchunks, false, have, nhave);
	memset(change, 0, sizeof(change));
	for (i = 0; i < nchunks; i++)
	{
		c = chunks[i];
		if (chunk_merge(&have[c], &nhave[c], bychunk + from[c], from[c + 1] - from[c]))
		{
			change[c] = true;
			chunks[nchange++] = c;
		}
	}
	/* lock those, read again (a concurrent load may have written them) */
	if (nchange > 0)
	{
		memset(nhave, 0, sizeof(int) * DICT_CHUNKS);
		memset(have, 0, sizeof(DictSource *) * DICT_CHUNKS);
		chunks_read(info, relid, chunks, nchange, true, have, nhave);
		for (i = 0; i < nchange; i++)
		{
			c = chunks[i];
			if (chunk_merge(&have[c], &nhave[c], bychunk + from[c], from[c + 1] - from[c]))
				chunk_write(info, relid, c, have[c], nhave[c]);
			CHECK_FOR_INTERRUPTS();
		}
	}
	rollup_role_end(&saved);
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
	int		   *cap = palloc0(sizeof(int) * DICT_CHUNKS);
	Portal		portal;
	SPIPlanPtr	plan;
	int			c;

	rollup_require_current(info);
	cache_forget(relid);
	rollup_as_ext_owner(info, &saved);
	if (SPI_execute_with_args(psprintf("DELETE FROM %s.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									   info->nspname), 1, at, v, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "clearing mirai_rollup_dict failed");
	plan = SPI_prepare(psprintf("SELECT day, entries FROM %s.mirai_rollup_part "
								"WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid ORDER BY day, part",
								info->nspname), 1, at);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, v, NULL, false);
	for (;;)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, 64);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int32		day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			int			n,
						i;
			DayEntry   *e = entries_unpack(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r],
																		 SPI_tuptable->tupdesc, 2, &isnull)),
										   day, &n);

			/* days come in ascending order: a source's first is its first seen */
			for (i = 0; i < n; i++)
			{
				if (i > 0 && e[i].src == e[i - 1].src)
					continue;
				c = chunk_of(e[i].src);
				if (nby[c] == cap[c])
				{
					cap[c] = Max(64, cap[c] * 2);
					by[c] = by[c] ? repalloc_huge(by[c], sizeof(DictSource) * cap[c])
						: MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DictSource) * cap[c]);
				}
				by[c][nby[c]].src = e[i].src;
				by[c][nby[c]++].first_day = day;
			}
			pfree(e);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
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
		chunk_write(info, relid, c, by[c], k);
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
	DictSource **have = palloc0(sizeof(DictSource *) * DICT_CHUNKS);
	int		   *nhave = palloc0(sizeof(int) * DICT_CHUNKS);
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
	chunks_read(info, relid, chunks, nchunks, false, have, nhave);
	rollup_role_end(&saved);
	for (i = 0; i < n && !first; i++)
	{
		DictSource *s;

		c = chunk_of(gone[i].src);
		s = have[c] ? bsearch(&gone[i], have[c], nhave[c], sizeof(DictSource), src_cmp) : NULL;
		if (s != NULL && s->first_day == gone[i].first_day)
			first = true;
	}
	if (first)
		dict_rebuild(info, relid);
}
