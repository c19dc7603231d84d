/*-------------------------------------------------------------------------
 *
 * rollup_sources.c
 *		Every source of a tracked table over a set of its days, folded: what
 *		the mirai_bots view lists (rollup_bots.c, every day) and what
 *		mirai_sources(from, to) lists (rollup_range.c, the days of a range).
 *
 * A source folds its (day, source) pairs: the country of its first day,
 * its first and last packet, first and last day, days, packets, and the
 * union of the ports each day lists (a day lists a source's 32 lowest
 * ports, as mirai_day_sources does).
 *
 * One pass reads the days' parts in day order and keeps each (day, source)
 * pair as a short record; the records are then moved into buckets by a
 * hash of the source (stably, so that each source's records stay in day
 * order) and each bucket, a few dozen records that fit in the CPU's
 * cache, is folded with a small hash table when its sources are asked
 * for.  Moving the records, not an index of them, matters: folding through
 * an index read them in random order, and its cache misses were most of
 * the time.  The fold streams: under mirai_bots, an ORDER BY ... LIMIT
 * above it keeps only its best rows.
 *
 * The parts are read as the extension's owner, for a table the calling
 * role may read (its SELECT privilege or its per-table sources view); a
 * fleet table (fleet.h) gives no rows here: the view merges its members.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

#define BUCKET_RECORDS	64		/* records per bucket, on average */
#define FOLD_PAIR_BYTES	160		/* memory a pair takes while read and moved, at most */
#define FOLD_MAX_PASSES	1024

/* A (day, source) pair. */
typedef struct DayPair
{
	uint32		src;
	int32		day;
	int64		packets;
	int64		first_us;
	int64		last_us;
	uint32		ports_at;		/* its ports: ports[ports_at ...] */
	uint8		nports;
	uint16		country;		/* index into countries */
	uint32		next;			/* the source's next pair, while folding */
} DayPair;

/* A fold: the pairs read, moved into buckets, and the bucket being folded. */
struct SourceFold
{
	MemoryContext cxt;			/* where the fold lives */
	MemoryContext pass_cxt;		/* what one pass reads, below */
	ExtInfo		info;			/* what to read: a copy */
	Oid			relid;
	int32	   *days;			/* NULL: every day */
	int			ndays;
	int			pass;			/* sources whose pass_of() is pass, of npasses */
	int			npasses;
	DayPair	   *recs;
	uint32		nrecs;
	uint32		caprecs;
	uint16	   *ports;
	uint32		nports;
	uint32		capports;
	char		(*countries)[MX_COUNTRY_LEN];	/* in cxt, for every pass */
	int			ncountries;
	uint32	   *bucket_at;		/* nbuckets + 1 offsets into recs */
	uint32		nbuckets;
	uint32		next_bucket;
	FoldedSource *folded;		/* the current bucket's sources */
	int			nfolded;
	int			next_folded;
	uint32		slots_cap;
	int32	   *slots;			/* its hash table: index into folded, -1 free */
};

/* The index of a country code, added when new (a table has a few hundred). */
static uint16
country_index(SourceFold *st, const char *code, int *last)
{
	int			i;

	if (*last >= 0 && memcmp(st->countries[*last], code, MX_COUNTRY_LEN) == 0)
		return (uint16) *last;
	for (i = 0; i < st->ncountries; i++)
		if (memcmp(st->countries[i], code, MX_COUNTRY_LEN) == 0)
			return (uint16) (*last = i);
	if (st->ncountries >= PG_UINT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("rollups hold more than %d country codes", PG_UINT16_MAX)));
	if ((st->ncountries & (st->ncountries - 1)) == 0 && st->ncountries >= 16)
		st->countries = repalloc(st->countries, MX_COUNTRY_LEN * st->ncountries * 2);
	memcpy(st->countries[st->ncountries], code, MX_COUNTRY_LEN);
	return (uint16) (*last = st->ncountries++);
}

/* The pass of a source: a hash unrelated to the buckets' and the parts'. */
static inline int
pass_of(uint32 src, int npasses)
{
	return (int) (murmurhash32(src ^ 0x9E3779B9u) % (uint32) npasses);
}

/* Keep a part's entries (sorted by source, then port) as (day, source) pairs, of this pass. */
static void
add_part(int32 day, DayEntry *e, int n, void *arg)
{
	SourceFold *st = arg;
	int			i = 0,
				last = -1;

	if ((uint64) st->nrecs + n > PG_UINT32_MAX - 1 || (uint64) st->nports + n > PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many (day, source) pairs to list")));
	while (st->caprecs < st->nrecs + n)
	{
		st->caprecs *= 2;
		st->recs = rollup_realloc(st->recs, sizeof(DayPair) * st->caprecs);
	}
	while (st->capports < st->nports + n)
	{
		st->capports *= 2;
		st->ports = rollup_realloc(st->ports, sizeof(uint16) * st->capports);
	}
	while (i < n)
	{
		DayPair	   *r;
		DaySource	ds;
		int			to = day_source_fold(e, i, n, &ds),
					k;

		if (st->npasses > 1 && pass_of(ds.src, st->npasses) != st->pass)
		{
			i = to;
			continue;
		}
		r = &st->recs[st->nrecs++];
		r->src = ds.src;
		r->day = day;
		r->packets = ds.packets;
		r->first_us = ds.first_us;
		r->last_us = ds.last_us;
		r->ports_at = st->nports;
		r->nports = (uint8) Min(to - i, PORTS_SHOWN);
		r->country = country_index(st, e[i].country, &last);
		for (k = 0; k < r->nports; k++)
			st->ports[st->nports++] = e[i + k].dport;
		i = to;
	}
}

static inline uint32
bucket_of(uint32 src, uint32 nbuckets)
{
	/* the high bits of the hash: nbuckets is a power of two */
	return nbuckets == 1 ? 0 : murmurhash32(src) >> (32 - pg_leftmost_one_pos32(nbuckets));
}

/*
 * Read the parts of the days for the next pass, and move the pass's pairs
 * into buckets.  Connects to SPI for the reading (nested when the caller is
 * connected) and reads as the extension's owner.
 */
static void
next_pass(SourceFold *st)
{
	RoleSwitch	saved;
	uint32		i,
				b;
	uint32	   *count;
	DayPair    *sorted;
	MemoryContext old;

	MemoryContextReset(st->pass_cxt);
	st->pass++;
	st->recs = NULL;
	st->ports = NULL;
	st->folded = NULL;
	st->slots = NULL;
	st->slots_cap = 0;
	st->nrecs = st->nports = 0;
	st->nbuckets = st->next_bucket = 0;
	st->nfolded = st->next_folded = 0;
	/* arrays grown with repalloc stay in the pass's context */
	st->caprecs = st->capports = 1024;
	st->recs = MemoryContextAllocHuge(st->pass_cxt, sizeof(DayPair) * st->caprecs);
	st->ports = MemoryContextAllocHuge(st->pass_cxt, sizeof(uint16) * st->capports);
	old = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rollup_as_ext_owner(&st->info, &saved);
	parts_foreach(&st->info, st->relid, st->days, st->ndays, true, add_part, st);
	rollup_role_end(&saved);
	SPI_finish();
	MemoryContextSwitchTo(st->pass_cxt);

	/* buckets of about BUCKET_RECORDS pairs, each in day order */
	st->nbuckets = 1;
	while (st->nbuckets < st->nrecs / BUCKET_RECORDS && st->nbuckets < (1U << 24))
		st->nbuckets *= 2;
	count = palloc0(sizeof(uint32) * (st->nbuckets + 1));
	for (i = 0; i < st->nrecs; i++)
		count[bucket_of(st->recs[i].src, st->nbuckets) + 1]++;
	for (b = 0; b < st->nbuckets; b++)
		count[b + 1] += count[b];
	st->bucket_at = palloc(sizeof(uint32) * (st->nbuckets + 1));
	memcpy(st->bucket_at, count, sizeof(uint32) * (st->nbuckets + 1));
	/* the pairs themselves move: folding then reads them in sequence */
	sorted = MemoryContextAllocHuge(st->pass_cxt, sizeof(DayPair) * Max(st->nrecs, 1));
	for (i = 0; i < st->nrecs; i++)
		sorted[count[bucket_of(st->recs[i].src, st->nbuckets)]++] = st->recs[i];
	pfree(st->recs);
	st->recs = sorted;
	pfree(count);
	MemoryContextSwitchTo(old);
}

/*
 * A fold of relid's days (days[0..ndays), or every day when days is NULL),
 * in the current memory context, which must outlive it.  The caller checks
 * that the role may read the table.  Its memory stays within the hash
 * memory of a query (work_mem times hash_mem_multiplier): the day rows say
 * how many (day, source) pairs there are, and when they would not fit, the
 * sources are folded in as many passes over the parts as it takes, each
 * keeping the sources of one hash range.
 */
SourceFold *
fold_open(const ExtInfo *info, Oid relid, const int32 *days, int ndays)
{
	SourceFold *st = palloc0(sizeof(SourceFold));
	MemoryContext old = CurrentMemoryContext;
	Oid			at[2] = {OIDOID, DATEARRAYOID};
	Datum		v[2];
	RoleSwitch	saved;
	int64		pairs = 0;
	bool		isnull;

	st->cxt = CurrentMemoryContext;
	st->pass_cxt = AllocSetContextCreate(st->cxt, "mirai_ext fold pass", ALLOCSET_DEFAULT_SIZES);
	st->info = *info;
	st->info.nspname = pstrdup(info->nspname);
	st->relid = relid;
	st->ndays = ndays;
	if (days != NULL)
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(ndays, 1));
		int			i;

		st->days = palloc(sizeof(int32) * Max(ndays, 1));
		memcpy(st->days, days, sizeof(int32) * ndays);
		for (i = 0; i < ndays; i++)
			d[i] = DateADTGetDatum(days[i]);
		v[1] = PointerGetDatum(construct_array(d, ndays, DATEOID, 4, true, TYPALIGN_INT));
	}
	st->countries = palloc(MX_COUNTRY_LEN * 16);

	/* the pairs to fold: each day row counts its sources */
	v[0] = ObjectIdGetDatum(relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rollup_as_ext_owner(&st->info, &saved);
	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.sum(sources)::bigint FROM %s.mirai_rollup_day "
									   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid %s",
									   st->info.nspname,
									   days ? "AND day OPERATOR(pg_catalog.=) ANY ($2)" : ""),
							  days ? 2 : 1, at, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_day failed");
	if (SPI_processed == 1)
	{
		Datum		sum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			pairs = DatumGetInt64(sum);
	}
	rollup_role_end(&saved);
	SPI_finish();
	MemoryContextSwitchTo(old);
	st->npasses = (int) Min(Max((pairs * FOLD_PAIR_BYTES) / (int64) get_hash_memory_limit() + 1, 1),
							FOLD_MAX_PASSES);
	st->pass = -1;
	next_pass(st);
	return st;
}

/* Fold the next bucket's pairs into its sources. */
static void
fold_bucket(SourceFold *st)
{
	uint32		from = st->bucket_at[st->next_bucket],
				to = st->bucket_at[st->next_bucket + 1],
				n = to - from,
				cap = 16,
				mask,
				k;

	st->next_bucket++;
	st->nfolded = st->next_folded = 0;
	while (cap < 2 * n)
		cap *= 2;
	if (cap > st->slots_cap)
	{
		st->slots = st->slots ? rollup_realloc(st->slots, sizeof(int32) * cap)
			: MemoryContextAllocHuge(st->pass_cxt, sizeof(int32) * cap);
		st->folded = st->folded ? rollup_realloc(st->folded, sizeof(FoldedSource) * cap)
			: MemoryContextAllocHuge(st->pass_cxt, sizeof(FoldedSource) * cap);
		st->slots_cap = cap;
	}
	memset(st->slots, -1, sizeof(int32) * cap);
	mask = cap - 1;
	for (k = from; k < to; k++)
	{
		uint32		i = k;
		DayPair	   *r = &st->recs[i];
		uint32		h = murmurhash32(r->src) & mask;
		FoldedSource *s;

		while (st->slots[h] >= 0 && st->folded[st->slots[h]].src != r->src)
			h = (h + 1) & mask;
		r->next = PG_UINT32_MAX;
		if (st->slots[h] < 0)
		{
			/* its first day: pairs come in day order */
			st->slots[h] = st->nfolded;
			s = &st->folded[st->nfolded++];
			s->src = r->src;
			s->first_day = s->last_day = r->day;
			s->days = 1;
			s->packets = r->packets;
			s->first_us = r->first_us;
			s->last_us = r->last_us;
			s->country = st->countries[r->country];
			s->head = s->tail = i;
			continue;
		}
		s = &st->folded[st->slots[h]];
		s->last_day = r->day;
		s->days++;
		s->packets += r->packets;
		s->first_us = Min(s->first_us, r->first_us);
		s->last_us = Max(s->last_us, r->last_us);
		st->recs[s->tail].next = i;
		s->tail = i;
	}
}

/* The next source of a fold, or NULL after the last. */
const FoldedSource *
fold_next(SourceFold *st)
{
	while (st->next_folded >= st->nfolded)
	{
		if (st->next_bucket < st->nbuckets)
			fold_bucket(st);
		else if (st->pass + 1 < st->npasses)
			next_pass(st);
		else
			return NULL;
		CHECK_FOR_INTERRUPTS();
	}
	return &st->folded[st->next_folded++];
}

static int
port_cmp(const void *a, const void *b)
{
	return (int) *(const uint16 *) a - (int) *(const uint16 *) b;
}

/* Sort n ports and keep each once; how many are left. */
int
ports_distinct(uint16 *ports, int n)
{
	int			nd = 0,
				k;

	qsort(ports, n, sizeof(uint16), port_cmp);
	for (k = 0; k < n; k++)
		if (k == 0 || ports[k] != ports[nd - 1])
			ports[nd++] = ports[k];
	return nd;
}

/* The distinct ports a source's days list, ascending; how many. */
int
fold_ports(SourceFold *st, const FoldedSource *s, uint16 **ports)
{
	uint16	   *all;
	int			n = 0;
	uint32		i;

	for (i = s->head; i != PG_UINT32_MAX; i = st->recs[i].next)
		n += st->recs[i].nports;
	all = palloc(sizeof(uint16) * Max(n, 1));
	n = 0;
	for (i = s->head; i != PG_UINT32_MAX; i = st->recs[i].next)
	{
		memcpy(all + n, st->ports + st->recs[i].ports_at, sizeof(uint16) * st->recs[i].nports);
		n += st->recs[i].nports;
	}
	*ports = all;
	return s->head != s->tail ? ports_distinct(all, n) : n;
}
