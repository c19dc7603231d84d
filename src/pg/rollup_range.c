/*-------------------------------------------------------------------------
 *
 * rollup_range.c
 *		mirai_top_sources(from, to, n, of_table): the n sources with the most
 *		Mirai packets over the days starting in [from, to), exactly, without
 *		reading every source of every day.
 *
 * Each day row keeps its top sources and rest_max, a bound on any other
 * source of the day (rollup_top.c).  Over a range of days:
 *
 *	1. every source in some day's list is a candidate; its packets are at
 *	   least what the lists say (known) and at most that plus rest_max of
 *	   each day whose list it is not in (bound); a source in no list has at
 *	   most the sum of all rest_max (rest);
 *	2. candidates are taken by bound, largest first; each is resolved
 *	   exactly (its entries looked up in the parts of the days whose list
 *	   it is not in, each part read once per call) and kept when it ranks
 *	   among the best n so far; taking stops at the first candidate whose
 *	   bound is below the n-th best exact total;
 *	3. the answer is exact when the n-th best total is above rest; when it
 *	   is not (n beyond the lists, or sources too even), every part of the
 *	   range is read and summed: the same answer, the slow way.
 *
 * This is the threshold algorithm of Fagin, Lotem and Naor with the lists'
 * bounds instead of sorted access past their end.  A dashboard's top ten of
 * a day reads one day row and ten parts at most; of a quarter, the lists
 * of its days and the parts its top sources are not listed in.
 *
 * The rollup tables are read as the extension's owner, for the tables the
 * calling role may read (mirai_may_read): SELECT on the table or on its
 * per-table sources view.  A fleet table (fleet.h) is answered from its
 * members' days, merged, every source summed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inet.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/* A day of the range: its total, its parts and its list. */
typedef struct RangeDay
{
	int32		day;
	int64		packets;
	int			parts;
	TopList		top;
} RangeDay;

/* A source over the range. */
typedef struct RangeSource
{
	uint32		src;
	char		status;
	int64		known;			/* packets the lists say */
	int64		listed_rest;	/* sum of rest_max of the days it is listed in */
	int64		bound;			/* at most this many packets */
	/* exact, once resolved */
	bool		resolved;
	int64		packets;
	int64		first_us;
	int64		last_us;
	int32		first_day;		/* of the country */
	char		country[MX_COUNTRY_LEN];
	int64		days;
} RangeSource;

#define SH_PREFIX		srchash
#define SH_ELEMENT_TYPE	RangeSource
#define SH_KEY_TYPE		uint32
#define SH_KEY			src
#define SH_HASH_KEY(tb, k)	murmurhash32(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* A part read during the call, unpacked. */
typedef struct PartKey
{
	int32		day;
	int32		part;
} PartKey;

typedef struct CachedPart
{
	PartKey		key;
	char		status;
	TransactionId xmin;			/* the version of its row */
	ItemPointerData ctid;
	bool		have_bloom;
	bytea	   *bloom;			/* its Bloom filter, detoasted */
	bool		have_entries;
	bytea	   *entries;		/* packed, detoasted */
	bool		entries_kept;	/* from the part cache: an earlier call read them */
	bool		have_marks;
	bytea	   *marks;			/* mx_entries_mark[], or NULL */
	int			lookups;		/* in this call */
	bool		unmarked;		/* not to be marked in this call */
} CachedPart;

#define SH_PREFIX		parthash
#define SH_ELEMENT_TYPE	CachedPart
#define SH_KEY_TYPE		PartKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_combine(murmurhash32((uint32) (k).day), murmurhash32((uint32) (k).part))
#define SH_EQUAL(tb, a, b)	((a).day == (b).day && (a).part == (b).part)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* What one table's answer needs. */
typedef struct RangeCtx
{
	const ExtInfo *info;
	const RollupPlans *pl;
	Oid			relid;
	RangeDay   *days;
	int			ndays;
	parthash_hash *parts;
	bool		mark_parts;		/* make marks (mirai_bots' lookups) */
} RangeCtx;

/* Order of the answer: packets descending, then address. */
static int
result_cmp(const RangeSource *x, const RangeSource *y)
{
	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return 0;
}

static int
result_qsort_cmp(const void *a, const void *b)
{
	return result_cmp(*(RangeSource *const *) a, *(RangeSource *const *) b);
}

/* Candidates by what is known of them (exact once resolved), then address. */
static int
known_cmp(const void *a, const void *b)
{
	const RangeSource *x = *(RangeSource *const *) a;
	const RangeSource *y = *(RangeSource *const *) b;

	if (x->known != y->known)
		return x->known > y->known ? -1 : 1;
	return x->src < y->src ? -1 : (x->src > y->src);
}

/* A column of a part of a day, detoasted (NULL when there is no part). */
static bytea *
read_part_column(RangeCtx *c, SPIPlanPtr plan, int32 day, int part)
{
	Datum		values[3];
	bool		isnull;
	bytea	   *b = NULL;

	values[0] = ObjectIdGetDatum(c->relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int32GetDatum(part);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_part failed");
	if (SPI_processed > 0)
		b = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return b;
}

/*
 * The versions of the parts of the range's days: what exists, and what the
 * backend's part cache (rollup_partcache.c) may already hold.
 */
static void
read_versions(RangeCtx *c)
{
	Datum		v[2];
	Datum	   *d = palloc(sizeof(Datum) * Max(c->ndays, 1));
	uint64		r;
	int			i;

	for (i = 0; i < c->ndays; i++)
		d[i] = DateADTGetDatum(c->days[i].day);
	v[0] = ObjectIdGetDatum(c->relid);
	v[1] = PointerGetDatum(construct_array(d, c->ndays, DATEOID, 4, true, TYPALIGN_INT));
	if (SPI_execute_plan(c->pl->range_parts, v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_part failed");
	c->parts = parthash_create(CurrentMemoryContext, Max(SPI_processed, 64), NULL);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					found;
		PartKey		k;
		CachedPart *cp;

		k.day = DatumGetDateADT(SPI_getbinval(tup, desc, 1, &isnull));
		k.part = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		cp = parthash_insert(c->parts, k, &found);
		cp->xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 3, &isnull));
		cp->ctid = *(ItemPointer) DatumGetPointer(SPI_getbinval(tup, desc, 4, &isnull));
		cp->have_bloom = cp->have_entries = cp->entries_kept = cp->have_marks = false;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * A column of a part, from the part cache (*kept true, when kept is not
 * NULL) or read and kept there.
 */
static bytea *
part_column(RangeCtx *c, CachedPart *cp, PartColumn column, bool *kept)
{
	bytea	   *b = partcache_get(c->relid, cp->key.day, cp->key.part, column, cp->xmin, &cp->ctid);

	if (kept)
		*kept = b != NULL;
	if (b == NULL)
	{
		b = read_part_column(c, column == PART_BLOOM ? c->pl->bloom_read : c->pl->part_read,
							 cp->key.day, cp->key.part);
		if (b == NULL)
			elog(ERROR, "a part of mirai_rollup_part vanished while read");
		b = partcache_put(c->relid, cp->key.day, cp->key.part, column, cp->xmin, &cp->ctid, b);
	}
	return b;
}

/*
 * The part of a day that may hold src, its entries read, or NULL when there
 * is no such part or its Bloom filter says src is not there; each column
 * read once per call, or taken from the part cache.
 */
static CachedPart *
part_for(RangeCtx *c, int32 day, int part, uint32 src)
{
	PartKey		k = {day, part};
	CachedPart *cp;

	/* the versions, when a call first needs a part (a day's list often answers alone) */
	if (c->parts == NULL)
		read_versions(c);
	cp = parthash_lookup(c->parts, k);
	if (cp == NULL)
		return NULL;
	if (!cp->have_bloom)
	{
		cp->bloom = part_column(c, cp, PART_BLOOM, NULL);
		cp->have_bloom = true;
	}
	if (!bloom_may_have(cp->bloom, src))
		return NULL;
	if (!cp->have_entries)
	{
		cp->entries = part_column(c, cp, PART_ENTRIES_COLUMN, &cp->entries_kept);
		cp->have_entries = true;
	}
	return cp;
}

/*
 * The marks into a part's entries (mx_entries_marks), so that a lookup
 * decodes a few dozen entries instead of half the part: from the part
 * cache, or made when a batch of mirai_bots' lookups (c->mark_parts) looks
 * a third source up in the part, or looks one up in a part an earlier call
 * read (a dashboard asking again), and kept there for later calls.
 * Marking reads every entry, about two lookups' worth: not for a call's
 * first lookups of a part it reads first, nor when the cache would not
 * keep the marks (every call would make them again), nor for the threshold
 * algorithm's candidates (a call rarely looks up enough of them in one part
 * to pay for marking it).  None for version 1 entries (searched by halves) and
 * for entries that do not mark whole (a lookup from the start then says
 * what is wrong).
 */
static const mx_entries_mark *
part_marks(RangeCtx *c, CachedPart *cp, size_t *nmarks)
{
	if (!cp->have_marks)
	{
		cp->marks = partcache_get(c->relid, cp->key.day, cp->key.part, PART_ENTRIES_MARKS,
								  cp->xmin, &cp->ctid);
		cp->have_marks = true;
		cp->lookups = 0;
		cp->unmarked = false;
	}
	if (cp->marks == NULL && c->mark_parts && !cp->unmarked &&
		(++cp->lookups >= 3 || cp->entries_kept))
	{
		const uint8 *buf = (const uint8 *) VARDATA(cp->entries);
		size_t		len = VARSIZE(cp->entries) - VARHDRSZ,
					count,
					n = 0,
					bound;
		mx_error	err;
		bytea	   *m;

		if (mx_entries_count(buf, len, &count, &err) != MX_OK)
			count = 0;
		bound = mx_entries_marks_bound(count);
		/* marks the cache would not keep are made again by every call */
		if (!partcache_keeps(VARHDRSZ + sizeof(mx_entries_mark) * bound))
		{
			cp->unmarked = true;	/* not asked again in this call */
			*nmarks = 0;
			return NULL;
		}
		m = palloc(VARHDRSZ + sizeof(mx_entries_mark) * bound);
		if (mx_entries_marks(buf, len, (mx_entries_mark *) VARDATA(m), bound, &n, &err) != MX_OK)
			n = 0;
		SET_VARSIZE(m, VARHDRSZ + sizeof(mx_entries_mark) * n);
		cp->marks = partcache_put(c->relid, cp->key.day, cp->key.part, PART_ENTRIES_MARKS,
								  cp->xmin, &cp->ctid, m);
	}
	*nmarks = cp->marks ? (VARSIZE(cp->marks) - VARHDRSZ) / sizeof(mx_entries_mark) : 0;
	return cp->marks ? (const mx_entries_mark *) VARDATA(cp->marks) : NULL;
}

/*
 * A source's entries in a part, summed, and its lowest ports (at most
 * max_ports, *nports of them): false when the part has none of it.
 */
static bool
find_in_part(RangeCtx *c, CachedPart *cp, uint32 src, mx_day_entry *sum, uint16 *ports,
			 int max_ports, int *nports)
{
	mx_error	err;
	size_t		np,
				nmarks;
	const mx_entries_mark *marks = part_marks(c, cp, &nmarks);
	bool		found;

	if (mx_entries_find((const uint8 *) VARDATA(cp->entries), VARSIZE(cp->entries) - VARHDRSZ,
						src, marks, nmarks, sum, ports, max_ports, &np, &found, &err) != MX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt rollup entries: %s", err.message),
				 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
	*nports = (int) np;
	return found;
}

/* Add what a source had on a day to s. */
static void
add_day(RangeSource *s, int32 day, int64 packets, int64 first_us, int64 last_us,
		const char *country)
{
	if (packets <= 0)
		return;
	if (s->days == 0 || day < s->first_day)
	{
		s->first_day = day;
		memcpy(s->country, country, MX_COUNTRY_LEN);
	}
	s->packets += packets;
	s->first_us = s->days == 0 ? first_us : Min(s->first_us, first_us);
	s->last_us = s->days == 0 ? last_us : Max(s->last_us, last_us);
	s->days++;
}

/*
 * Add a day's entries (sorted by source) to the sources of h, each source's
 * summed: packets, earliest first and latest last packet, its country.
 */
static void
add_entries(srchash_hash *h, int32 day, const DayEntry *e, int n)
{
	int			i = 0;

	while (i < n)
	{
		bool		found;
		RangeSource *s = srchash_insert(h, e[i].src, &found);
		int64		p = 0,
					f = e[i].first_us,
					l = e[i].last_us;
		int			k;

		if (!found)
			memset(((char *) s) + offsetof(RangeSource, known), 0,
				   sizeof(RangeSource) - offsetof(RangeSource, known));
		for (k = i; k < n && e[k].src == e[i].src; k++)
		{
			p += e[k].packets;
			f = Min(f, e[k].first_us);
			l = Max(l, e[k].last_us);
		}
		add_day(s, day, p, f, l, e[i].country);
		s->resolved = true;
		i = k;
	}
}

/* Resolve a candidate exactly: its lists, and its entries on other days. */
static void
resolve(RangeCtx *c, RangeSource *s)
{
	int			d;

	s->packets = s->days = 0;
	for (d = 0; d < c->ndays; d++)
	{
		RangeDay   *rd = &c->days[d];
		int			i;
		bool		listed = false;

		for (i = 0; i < rd->top.n; i++)
			if (rd->top.s[i].src == s->src)
			{
				TopSource  *t = &rd->top.s[i];

				add_day(s, rd->day, t->packets, t->first_us, t->last_us, t->country);
				listed = true;
				break;
			}
		if (!listed && rd->top.rest_max > 0)
		{
			CachedPart *cp = part_for(c, rd->day, rollup_part_of(s->src, rd->parts), s->src);
			mx_day_entry sum;
			int			nports;

			if (cp != NULL && find_in_part(c, cp, s->src, &sum, NULL, 0, &nports))
				add_day(s, rd->day, sum.packets, sum.first_us, sum.last_us, sum.country);
		}
		CHECK_FOR_INTERRUPTS();
	}
	s->bound = s->known = s->packets;
	s->resolved = true;
}

/*
 * Sort results by packets descending, then address: two stable radix sorts
 * of 64-bit keys (a range's sources are millions, and qsort's comparisons
 * chase pointers), by address and then by packets; qsort when a source
 * has 2^32 packets or more.
 */
static void
sort_results(RangeSource **v, int n)
{
	uint64	   *a = rollup_alloc(sizeof(uint64) * Max(n, 1)),
			   *t = rollup_alloc(sizeof(uint64) * Max(n, 1)),
			   *by_src,
			   *by_packets;
	RangeSource **w;
	int			i;

	for (i = 0; i < n; i++)
		if (v[i]->packets > (int64) PG_UINT32_MAX)
		{
			qsort(v, n, sizeof(RangeSource *), result_qsort_cmp);
			return;
		}
	for (i = 0; i < n; i++)
		a[i] = ((uint64) v[i]->src << 32) | (uint32) i;
	by_src = radix_sort_u64(a, t, n, 8);
	/* then by packets, descending; the rank by address breaks ties */
	by_packets = by_src == a ? t : a;
	for (i = 0; i < n; i++)
		by_packets[i] = ((uint64) (PG_UINT32_MAX - (uint32) v[by_src[i] & PG_UINT32_MAX]->packets) << 32) |
			(uint32) i;
	w = rollup_alloc(sizeof(RangeSource *) * Max(n, 1));
	for (i = 0; i < n; i++)
		w[i] = v[by_src[i] & PG_UINT32_MAX];
	by_packets = radix_sort_u64(by_packets, by_src, n, 8);
	for (i = 0; i < n; i++)
		v[i] = w[by_packets[i] & PG_UINT32_MAX];
	pfree(a);
	pfree(t);
	pfree(w);
}

/*
 * Every source of the range's days, summed (rollup_sources.c) and sorted:
 * the slow, sure way when the lists cannot decide, and what
 * mirai_sources(from, to) lists.
 */
static RangeSource **
all_sources(RangeCtx *c, int *nout)
{
	int32	   *days = palloc(sizeof(int32) * Max(c->ndays, 1));
	SourceFold *f;
	const FoldedSource *fs;
	RangeSource *all;
	RangeSource **v;
	int			n = 0,
				cap = 1024,
				d;

	for (d = 0; d < c->ndays; d++)
		days[d] = c->days[d].day;
	f = fold_open(c->info, c->relid, days, c->ndays);
	all = rollup_alloc(sizeof(RangeSource) * cap);
	while ((fs = fold_next(f)) != NULL)
	{
		RangeSource *s;

		if (n == cap)
		{
			cap *= 2;
			all = rollup_realloc(all, sizeof(RangeSource) * cap);
		}
		s = &all[n++];
		memset(s, 0, sizeof(RangeSource));
		s->src = fs->src;
		s->resolved = true;
		s->packets = s->known = s->bound = fs->packets;
		s->first_us = fs->first_us;
		s->last_us = fs->last_us;
		s->first_day = fs->first_day;
		memcpy(s->country, fs->country, MX_COUNTRY_LEN);
		s->days = fs->days;
	}
	v = rollup_alloc(sizeof(RangeSource *) * Max(n, 1));
	for (d = 0; d < n; d++)
		v[d] = &all[d];
	sort_results(v, n);
	*nout = n;
	return v;
}

/*
 * The best n sources of one table over its days in the range (c->days),
 * sorted; *nout of them.
 */
static RangeSource **
top_of_table_n(RangeCtx *c, int n, int *nout)
{
	srchash_hash *h = srchash_create(CurrentMemoryContext, 1024, NULL);
	srchash_iterator it;
	RangeSource *s;
	RangeSource **cand,
			  **best;
	int64		rest = 0;
	int			ncand = 0,
				nbest = 0,
				d,
				i;
	bool		exact;

	/* 1. candidates from the lists, with what they are known and bound to */
	for (d = 0; d < c->ndays; d++)
	{
		RangeDay   *rd = &c->days[d];

		rest += rd->top.rest_max;
		for (i = 0; i < rd->top.n; i++)
		{
			bool		found;

			s = srchash_insert(h, rd->top.s[i].src, &found);
			if (!found)
				memset(((char *) s) + offsetof(RangeSource, known), 0,
					   sizeof(RangeSource) - offsetof(RangeSource, known));
			s->known += rd->top.s[i].packets;
			s->listed_rest += rd->top.rest_max;
		}
	}
	cand = palloc(sizeof(RangeSource *) * Max(h->members, 1));
	srchash_start_iterate(h, &it);
	while ((s = srchash_iterate(h, &it)) != NULL)
	{
		s->bound = s->known + (rest - s->listed_rest);
		cand[ncand++] = s;
	}

	/*
	 * 2. Rank by what is known (exact once resolved); resolve the first n
	 * (the answer needs them exact), then any other whose bound reaches
	 * the n-th, best bound first, until none does.
	 */
	best = palloc(sizeof(RangeSource *) * (n + 1));
	for (;;)
	{
		RangeSource *next = NULL;
		bool		changed = false;

		qsort(cand, ncand, sizeof(RangeSource *), known_cmp);
		nbest = Min(ncand, n);
		for (i = 0; i < nbest; i++)
			if (!cand[i]->resolved)
			{
				resolve(c, cand[i]);
				changed = true;
			}
		if (changed)
			continue;
		for (i = nbest; i < ncand; i++)
			if (!cand[i]->resolved && nbest == n &&
				cand[i]->bound >= cand[n - 1]->packets &&
				(next == NULL || cand[i]->bound > next->bound))
				next = cand[i];
		if (next == NULL)
			break;
		resolve(c, next);
	}
	memcpy(best, cand, sizeof(RangeSource *) * nbest);

	/* 3. exact when no source outside the lists can reach the n-th */
	exact = rest == 0 || (nbest == n && rest < best[n - 1]->packets);
	if (!exact)
	{
		int			nv;
		RangeSource **v = all_sources(c, &nv);

		nbest = Min(nv, n);
		memcpy(best, v, sizeof(RangeSource *) * nbest);
	}
	*nout = nbest;
	return best;
}

/*
 * One source of one table over its days in the range: what the days' lists
 * say of it, and the part of each other day its address hashes to, read
 * only when that part's Bloom filter may hold it.  *nout 0 when it sent
 * nothing in the range.
 */
static RangeSource **
one_of_table(RangeCtx *c, uint32 src, int *nout)
{
	RangeSource **v = palloc(sizeof(RangeSource *));

	v[0] = palloc0(sizeof(RangeSource));
	v[0]->src = src;
	resolve(c, v[0]);
	*nout = v[0]->days > 0 ? 1 : 0;
	return v;
}

static RangeSource **
top_of_table(RangeCtx *c, int n, const uint32 *only_src, int *nout)
{
	if (only_src != NULL)
		return one_of_table(c, *only_src, nout);
	/* every source: the sum of every part of the range */
	if (n <= 0)
		return all_sources(c, nout);
	return top_of_table_n(c, n, nout);
}

/*
 * Read a tracked table's day rows starting in [from, to) into c, as the
 * extension's owner (the caller has switched); *total: their packets.
 */
static void
range_open(RangeCtx *c, const ExtInfo *info, Oid relid, const char *zone, TimestampTz from,
		   TimestampTz to, int64 *total)
{
	Datum		v[4];
	bool		isnull;
	int			i;

	memset(c, 0, sizeof(*c));
	c->info = info;
	c->relid = relid;
	c->pl = rollup_plans(info);
	v[0] = ObjectIdGetDatum(relid);
	v[1] = CStringGetTextDatum(zone);
	v[2] = TimestampTzGetDatum(from);
	v[3] = TimestampTzGetDatum(to);
	if (SPI_execute_plan(c->pl->range_days, v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_day failed");
	c->ndays = (int) SPI_processed;
	c->days = palloc(sizeof(RangeDay) * Max(c->ndays, 1));
	for (i = 0; i < c->ndays; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		c->days[i].day = DatumGetDateADT(SPI_getbinval(tup, desc, 1, &isnull));
		c->days[i].packets = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		c->days[i].parts = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		top_decode(DatumGetByteaPP(SPI_getbinval(tup, desc, 4, &isnull)), &c->days[i].top);
		*total += c->days[i].packets;
	}
	SPI_freetuptable(SPI_tuptable);
	partcache_begin();
}

/*
 * The best n sources (every one when n is 0, only *only_src when it is not
 * NULL) of a tracked table over its days starting in [from, to), from its
 * day rows' lists and its parts.  *total: the packets of those days.
 */
static RangeSource **
top_of_tracked(const ExtInfo *info, Oid relid, const char *zone, TimestampTz from,
			   TimestampTz to, int n, const uint32 *only_src, int *nbest, int64 *total)
{
	RangeCtx	c;
	RangeSource **best;
	RoleSwitch	saved;

	rollup_as_ext_owner(info, &saved);
	range_open(&c, info, relid, zone, from, to, total);
	best = top_of_table(&c, n, only_src, nbest);
	rollup_role_end(&saved);
	return best;
}

/*
 * Every field mirai_bots shows of one source of c's days: the part of each
 * day it hashes to, where its Bloom filter may hold it, and the ports each
 * day lists of it.  Its days come in order, so the last one found is its
 * last day.
 */
static void
bot_resolve(RangeCtx *c, uint32 src, BotRow *out)
{
	RangeSource s;
	uint16	   *ports = palloc(sizeof(uint16) * PORTS_SHOWN * Max(c->ndays, 1));
	int			nports = 0,
				d;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	for (d = 0; d < c->ndays; d++)
	{
		RangeDay   *rd = &c->days[d];
		CachedPart *cp;
		mx_day_entry sum;
		int			np;

		if (rd->parts <= 0)
			continue;
		cp = part_for(c, rd->day, rollup_part_of(src, rd->parts), src);
		if (cp == NULL || !find_in_part(c, cp, src, &sum, ports + nports, PORTS_SHOWN, &np))
			continue;
		add_day(&s, rd->day, sum.packets, sum.first_us, sum.last_us, sum.country);
		nports += np;
		out->last_day = rd->day;
		CHECK_FOR_INTERRUPTS();
	}
	out->src = src;
	out->first_day = s.first_day;
	out->days = s.days;
	out->packets = s.packets;
	out->first_us = s.first_us;
	out->last_us = s.last_us;
	memcpy(out->country, s.country, MX_COUNTRY_LEN);
	out->ports = ports;
	out->nports = ports_distinct(ports, nports);
}

/*
 * mirai_bots' rows of sources src[0..n) of a tracked table over all its
 * days, into out[] (rollup_bots.c): out[i].days 0 when src[i] sent nothing.
 * The caller is connected to SPI and has checked the role may read the
 * table.  The rows' ports are in the caller's memory context, which is
 * current again on return (SPI leaves its own current, and frees it at
 * SPI_finish).
 */
void
bots_rows(const ExtInfo *info, Oid relid, const char *zone, const uint32 *src, int n,
		  BotRow *out)
{
	MemoryContext cxt = CurrentMemoryContext;
	RangeCtx	c;
	RoleSwitch	saved;
	int64		total = 0;
	int			i;

	rollup_as_ext_owner(info, &saved);
	range_open(&c, info, relid, zone, DT_NOBEGIN, DT_NOEND, &total);
	c.mark_parts = true;
	for (i = 0; i < n; i++)
	{
		MemoryContextSwitchTo(cxt);
		bot_resolve(&c, src[i], &out[i]);
	}
	rollup_role_end(&saved);
	MemoryContextSwitchTo(cxt);
}

/*
 * The best n sources of a tracked table over all its days, by packets
 * descending, then address (rollup_bots.c): their addresses and packets
 * into src[] and packets[]; how many (fewer than n: every source).  The
 * caller is connected to SPI and has checked the role may read the table.
 */
int
bots_top(const ExtInfo *info, Oid relid, const char *zone, int n, uint32 *src, int64 *packets)
{
	RangeSource **best;
	int64		total = 0;
	int			nbest,
				i;

	Assert(n > 0);
	best = top_of_tracked(info, relid, zone, DT_NOBEGIN, DT_NOEND, n, NULL, &nbest, &total);
	for (i = 0; i < nbest; i++)
	{
		src[i] = best[i]->src;
		packets[i] = best[i]->packets;
	}
	return nbest;
}

/*
 * The sources of a fleet table (fleet.h) over its days starting in [from,
 * to): each day merged over the table's members, every source summed (the
 * sure way; the days' lists of top sources are per member).  *total: the
 * packets of those days.
 */
static RangeSource **
top_of_fleet(const ExtInfo *info, Oid relid, TimestampTz from, TimestampTz to, int n,
			 int *nout, int64 *total)
{
	Fleet	   *f = fleet_open(info, relid, FLEET_READ_SOURCES);
	srchash_hash *all = srchash_create(CurrentMemoryContext, 4096, NULL);
	srchash_iterator it;
	RangeSource *s;
	RangeSource **v;
	FleetCount *days;
	FleetPart  *parts;
	Datum		zone;
	int32		first = PG_INT32_MAX,
				last = PG_INT32_MIN;
	int			ndays,
				nparts,
				nv = 0,
				i,
				j;

	*nout = 0;
	*total = 0;
	if (f == NULL)
		return NULL;
	zone = CStringGetTextDatum(fleet_time_zone(f));
	days = fleet_day_packets(f, &ndays);
	days = fleet_sum_counts(days, ndays, false, &ndays);
	for (i = 0, j = 0; i < ndays; i++)
	{
		TimestampTz start = DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, zone,
																	DirectFunctionCall1(date_timestamp, DateADTGetDatum(days[i].day))));

		if (start < from || start >= to)
			continue;
		days[j++] = days[i];
		*total += days[i].packets;
		first = Min(first, days[i].day);
		last = Max(last, days[i].day);
	}
	ndays = j;
	parts = ndays > 0 ? fleet_parts(f, first, last, &nparts) : NULL;
	for (i = 0, j = 0; ndays > 0 && i < nparts;)
	{
		int			to_part = i,
					ne;
		DayEntry   *e;

		while (to_part < nparts && parts[to_part].day == parts[i].day)
			to_part++;
		while (j < ndays && days[j].day < parts[i].day)
			j++;
		if (j < ndays && days[j].day == parts[i].day)
		{
			e = fleet_merge_day(f, parts + i, to_part - i, &ne);
			add_entries(all, parts[i].day, e, ne);
			pfree(e);
		}
		i = to_part;
		CHECK_FOR_INTERRUPTS();
	}
	fleet_release(f);
	v = palloc(sizeof(RangeSource *) * Max(all->members, 1));
	srchash_start_iterate(all, &it);
	while ((s = srchash_iterate(all, &it)) != NULL)
		v[nv++] = s;
	sort_results(v, nv);
	*nout = n > 0 ? Min(nv, n) : nv;
	return v;
}



/*
 * The sources of the days starting in [from, to) of the tracked tables
 * the role may read (or of only), per table by packets then address: the
 * best n, or every one when n is 0, or only *only_src when it is not NULL.
 */
static void
sources_of_range(FunctionCallInfo fcinfo, TimestampTz from, TimestampTz to, int n,
				 const uint32 *only_src, Oid only)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ExtInfo		info;
	RoleSwitch	saved;
	SPITupleTable *tables;
	uint64		ntables,
				t;
	MemoryContext cxt;

	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the tracked tables, as the extension's owner; which ones the role may read */
	{
		Datum		v[1] = {ObjectIdGetDatum(only)};
		char		nulls[1] = {OidIsValid(only) ? ' ' : 'n'};

		rollup_as_ext_owner(&info, &saved);
		if (SPI_execute_plan(rollup_plans(&info)->range_tables, v, nulls, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading mirai_tracked failed");
		rollup_role_end(&saved);
		tables = SPI_tuptable;
		ntables = SPI_processed;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "mirai_top_sources", ALLOCSET_DEFAULT_SIZES);
	for (t = 0; t < ntables; t++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tables->vals[t], tables->tupdesc, 1, &isnull));
		char	   *zone = SPI_getvalue(tables->vals[t], tables->tupdesc, 2);
		Oid			handle = DatumGetObjectId(SPI_getbinval(tables->vals[t], tables->tupdesc, 3, &isnull));
		RangeSource **best;
		int64		total = 0;
		int			nbest,
					i;
		MemoryContext old;

		if (!fleet_may_read(relid, handle))
			continue;
		old = MemoryContextSwitchTo(cxt);
		if (fleet_is(relid))
		{
			best = top_of_fleet(&info, relid, from, to, n, &nbest, &total);
			/* a fleet's days are merged and summed whole: the source taken from them */
			for (i = 0; only_src != NULL && i < nbest; i++)
				if (best[i]->src == *only_src)
					break;
			if (only_src != NULL)
			{
				best += i;
				nbest = i < nbest ? 1 : 0;
			}
		}
		else
			best = top_of_tracked(&info, relid, zone, from, to, n, only_src, &nbest, &total);
		for (i = 0; i < nbest; i++)
		{
			RangeSource *s = best[i];
			Datum		values[8];
			bool		nulls[8] = {false};
			inet	   *addr = palloc0(sizeof(inet));
			size_t		l = strnlen(s->country, MX_COUNTRY_LEN);

			rollup_inet4(addr, s->src);
			values[0] = ObjectIdGetDatum(relid);
			values[1] = InetPGetDatum(addr);
			if (l == 0)
				nulls[2] = true;
			else
				values[2] = PointerGetDatum(cstring_to_text_with_len(s->country, l));
			values[3] = Int64GetDatum(s->packets);
			values[4] = rollup_share(s->packets, total);
			values[5] = TimestampTzGetDatum(us_to_timestamptz(s->first_us));
			values[6] = TimestampTzGetDatum(us_to_timestamptz(s->last_us));
			values[7] = Int64GetDatum(s->days);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(mirai_top_sources);
Datum
mirai_top_sources(PG_FUNCTION_ARGS)
{
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return (Datum) 0;
	n = PG_GETARG_INT32(2);
	if (n < 1 || n > TOP_SOURCES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be between 1 and %d, not %d", TOP_SOURCES, n),
				 errhint("For every source of a range, use mirai_sources(from, to).")));
	sources_of_range(fcinfo, PG_GETARG_TIMESTAMPTZ(0), PG_GETARG_TIMESTAMPTZ(1), n, NULL,
					 PG_ARGISNULL(3) ? InvalidOid : PG_GETARG_OID(3));
	return (Datum) 0;
}

/*
 * mirai_sources(from, to, of_table): every source of the range, as
 * mirai_top_sources gives the best: one pass over the range's parts.
 */
PG_FUNCTION_INFO_V1(mirai_sources_range);
Datum
mirai_sources_range(PG_FUNCTION_ARGS)
{
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return (Datum) 0;
	sources_of_range(fcinfo, PG_GETARG_TIMESTAMPTZ(0), PG_GETARG_TIMESTAMPTZ(1), 0, NULL,
					 PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2));
	return (Datum) 0;
}

/*
 * mirai_source(addr, from, to, of_table): one source, as mirai_sources(from,
 * to) gives it; a lookup of the parts its address hashes to, whatever the
 * number of sources.  Sources are IPv4 addresses: an IPv6 address has no
 * rows, and a network is refused rather than compared as = would.
 */
PG_FUNCTION_INFO_V1(mirai_source);
Datum
mirai_source(PG_FUNCTION_ARGS)
{
	inet	   *addr;
	uint32		src = 0;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return (Datum) 0;
	addr = PG_GETARG_INET_PP(0);
	if (ip_bits(addr) != (ip_family(addr) == PGSQL_AF_INET ? 32 : 128))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mirai_source takes one address, not the network %s",
						DatumGetCString(DirectFunctionCall1(inet_out, InetPGetDatum(addr)))),
				 errhint("For the sources of a network, use mirai_sources(from, to) WHERE src << network.")));
	if (ip_family(addr) != PGSQL_AF_INET)
		return (Datum) 0;
	for (i = 0; i < 4; i++)
		src = (src << 8) | ip_addr(addr)[i];
	sources_of_range(fcinfo, PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TIMESTAMPTZ(2), 0, &src,
					 PG_ARGISNULL(3) ? InvalidOid : PG_GETARG_OID(3));
	return (Datum) 0;
}
