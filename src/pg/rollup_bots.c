/*-------------------------------------------------------------------------
 *
 * rollup_bots.c
 *		mirai_bots_of(tbl): every Mirai source of a tracked table over all its
 *		days, what the mirai_bots view lists.
 *
 * A source's row folds its (day, source) pairs: the country of its first
 * day, its first and last packet, first and last day, days, packets, and
 * the union of the ports each day lists (a day lists a source's 32 lowest
 * ports, as mirai_day_sources does).
 *
 * One pass reads the table's parts in day order and keeps each (day,
 * source) pair as a short record; the records are then scattered into
 * buckets by a hash of the source (stably, so that each source's records
 * stay in day order) and each bucket, a few dozen records that fit in the
 * CPU's cache, is folded with a small hash table when its rows are asked
 * for.  The function streams: called in a query's target list, as the view
 * calls it, an ORDER BY ... LIMIT above it keeps only its best rows, where
 * an aggregate over every day's sources (what the view did before) sorted
 * and grouped every pair.
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

/* A (day, source) pair. */
typedef struct BotDay
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
} BotDay;

/* A source, folded. */
typedef struct Bot
{
	uint32		src;
	int32		first_day;
	int32		last_day;
	int64		days;
	int64		packets;
	int64		first_us;
	int64		last_us;
	uint16		country;
	uint32		head;			/* its first pair */
	uint32		tail;
} Bot;

/* What one call keeps between rows. */
typedef struct BotsState
{
	MemoryContext cxt;			/* the call's: everything below */
	BotDay	   *recs;
	uint32		nrecs;
	uint32		caprecs;
	uint16	   *ports;
	uint32		nports;
	uint32		capports;
	char		(*countries)[MX_COUNTRY_LEN];
	int			ncountries;
	uint32	   *bucket_at;		/* nbuckets + 1 offsets into recs */
	uint32		nbuckets;
	uint32		next_bucket;
	Bot		   *bots;			/* the current bucket's sources */
	int			nbots;
	int			next_bot;
	uint32		slots_cap;
	int32	   *slots;			/* its hash table: index into bots, -1 free */
} BotsState;

/* The index of a country code, added when new (a table has a few hundred). */
static uint16
country_index(BotsState *st, const char *code, int *last)
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

/* Keep a part's entries (sorted by source, then port) as (day, source) pairs. */
static void
add_part(int32 day, DayEntry *e, int n, void *arg)
{
	BotsState  *st = arg;
	int			i = 0,
				last = -1;

	if ((uint64) st->nrecs + n > PG_UINT32_MAX - 1 || (uint64) st->nports + n > PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many (day, source) pairs to list")));
	while (st->caprecs < st->nrecs + n)
	{
		st->caprecs *= 2;
		st->recs = repalloc_huge(st->recs, sizeof(BotDay) * st->caprecs);
	}
	while (st->capports < st->nports + n)
	{
		st->capports *= 2;
		st->ports = repalloc_huge(st->ports, sizeof(uint16) * st->capports);
	}
	while (i < n)
	{
		BotDay	   *r = &st->recs[st->nrecs++];
		DaySource	ds;
		int			to = day_source_fold(e, i, n, &ds),
					k;

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

/* Read every part of relid, in day order, and scatter its pairs into buckets. */
static void
read_parts(BotsState *st, const ExtInfo *info, Oid relid)
{
	RoleSwitch	saved;
	uint32		i,
				b;
	uint32	   *count;
	BotDay	   *sorted;

	/* arrays grown with repalloc stay in the call's context */
	st->caprecs = st->capports = 1024;
	st->recs = MemoryContextAllocHuge(st->cxt, sizeof(BotDay) * st->caprecs);
	st->ports = MemoryContextAllocHuge(st->cxt, sizeof(uint16) * st->capports);
	st->countries = MemoryContextAlloc(st->cxt, MX_COUNTRY_LEN * 16);
	rollup_as_ext_owner(info, &saved);
	parts_foreach(info, relid, true, add_part, st);
	rollup_role_end(&saved);

	/* buckets of about BUCKET_RECORDS pairs, each in day order */
	st->nbuckets = 1;
	while (st->nbuckets < st->nrecs / BUCKET_RECORDS && st->nbuckets < (1U << 24))
		st->nbuckets *= 2;
	count = MemoryContextAllocZero(st->cxt, sizeof(uint32) * (st->nbuckets + 1));
	for (i = 0; i < st->nrecs; i++)
		count[bucket_of(st->recs[i].src, st->nbuckets) + 1]++;
	for (b = 0; b < st->nbuckets; b++)
		count[b + 1] += count[b];
	st->bucket_at = MemoryContextAlloc(st->cxt, sizeof(uint32) * (st->nbuckets + 1));
	memcpy(st->bucket_at, count, sizeof(uint32) * (st->nbuckets + 1));
	/* the pairs themselves move: folding then reads them in sequence */
	sorted = MemoryContextAllocHuge(st->cxt, sizeof(BotDay) * Max(st->nrecs, 1));
	for (i = 0; i < st->nrecs; i++)
		sorted[count[bucket_of(st->recs[i].src, st->nbuckets)]++] = st->recs[i];
	pfree(st->recs);
	st->recs = sorted;
	pfree(count);
}

/* Fold the next bucket's pairs into its sources. */
static void
fold_bucket(BotsState *st)
{
	uint32		from = st->bucket_at[st->next_bucket],
				to = st->bucket_at[st->next_bucket + 1],
				n = to - from,
				cap = 16,
				mask,
				k;

	st->next_bucket++;
	st->nbots = st->next_bot = 0;
	while (cap < 2 * n)
		cap *= 2;
	if (cap > st->slots_cap)
	{
		st->slots = st->slots ? repalloc_huge(st->slots, sizeof(int32) * cap)
			: MemoryContextAllocHuge(st->cxt, sizeof(int32) * cap);
		st->bots = st->bots ? repalloc_huge(st->bots, sizeof(Bot) * cap)
			: MemoryContextAllocHuge(st->cxt, sizeof(Bot) * cap);
		st->slots_cap = cap;
	}
	memset(st->slots, -1, sizeof(int32) * cap);
	mask = cap - 1;
	for (k = from; k < to; k++)
	{
		uint32		i = k;
		BotDay	   *r = &st->recs[i];
		uint32		h = murmurhash32(r->src) & mask;
		Bot		   *s;

		while (st->slots[h] >= 0 && st->bots[st->slots[h]].src != r->src)
			h = (h + 1) & mask;
		r->next = PG_UINT32_MAX;
		if (st->slots[h] < 0)
		{
			/* its first day: pairs come in day order */
			st->slots[h] = st->nbots;
			s = &st->bots[st->nbots++];
			s->src = r->src;
			s->first_day = s->last_day = r->day;
			s->days = 1;
			s->packets = r->packets;
			s->first_us = r->first_us;
			s->last_us = r->last_us;
			s->country = r->country;
			s->head = s->tail = i;
			continue;
		}
		s = &st->bots[st->slots[h]];
		s->last_day = r->day;
		s->days++;
		s->packets += r->packets;
		s->first_us = Min(s->first_us, r->first_us);
		s->last_us = Max(s->last_us, r->last_us);
		st->recs[s->tail].next = i;
		s->tail = i;
	}
}

static int
port_cmp(const void *a, const void *b)
{
	return (int) *(const uint16 *) a - (int) *(const uint16 *) b;
}

/* The distinct ports of a source's days, ascending. */
static Datum
bot_ports(BotsState *st, const Bot *s)
{
	uint16	   *all;
	Datum	   *d;
	int			n = 0,
				nd = 0,
				k;
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
	if (s->head != s->tail)
		qsort(all, n, sizeof(uint16), port_cmp);
	d = palloc(sizeof(Datum) * Max(n, 1));
	for (k = 0; k < n; k++)
		if (k == 0 || all[k] != all[k - 1])
			d[nd++] = Int32GetDatum(all[k]);
	pfree(all);
	return PointerGetDatum(construct_array(d, nd, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}


PG_FUNCTION_INFO_V1(mirai_bots_of);
Datum
mirai_bots_of(PG_FUNCTION_ARGS)
{
	FuncCallContext *fctx;
	BotsState  *st;

	if (SRF_IS_FIRSTCALL())
	{
		Oid			relid = PG_GETARG_OID(0);
		ExtInfo		info;
		TupleDesc	desc;
		MemoryContext old;
		bool		readable = false;

		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "mirai_bots_of must return a record");
		fctx->tuple_desc = BlessTupleDesc(desc);
		st = palloc0(sizeof(BotsState));
		st->cxt = fctx->multi_call_memory_ctx;
		fctx->user_fctx = st;

		rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
		rollup_require_current(&info);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (!fleet_is(relid))
		{
			Oid			at[1] = {OIDOID};
			Datum		v[1] = {ObjectIdGetDatum(relid)};
			RoleSwitch	saved;

			rollup_as_ext_owner(&info, &saved);
			if (SPI_execute_with_args(psprintf("SELECT sources_view::pg_catalog.oid FROM %s.mirai_tracked "
											   "WHERE tbl OPERATOR(pg_catalog.=) $1", info.nspname),
									  1, at, v, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "reading mirai_tracked failed");
			rollup_role_end(&saved);
			if (SPI_processed == 1)
			{
				bool		isnull;
				Datum		h = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

				readable = fleet_may_read(relid, isnull ? InvalidOid : DatumGetObjectId(h));
			}
		}
		if (readable)
			read_parts(st, &info, relid);
		SPI_finish();
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	st = fctx->user_fctx;
	while (st->next_bot >= st->nbots && st->next_bucket < st->nbuckets)
		fold_bucket(st);
	if (st->next_bot < st->nbots)
	{
		Bot		   *s = &st->bots[st->next_bot++];
		Datum		values[9];
		bool		nulls[9] = {false};
		inet	   *addr = palloc0(sizeof(inet));
		const char *c = st->countries[s->country];
		size_t		l = strnlen(c, MX_COUNTRY_LEN);

		rollup_inet4(addr, s->src);
		values[0] = InetPGetDatum(addr);
		if (l == 0)
			nulls[1] = true;
		else
			values[1] = PointerGetDatum(cstring_to_text_with_len(c, l));
		values[2] = TimestampTzGetDatum(us_to_timestamptz(s->first_us));
		values[3] = TimestampTzGetDatum(us_to_timestamptz(s->last_us));
		values[4] = DateADTGetDatum(s->first_day);
		values[5] = DateADTGetDatum(s->last_day);
		values[6] = Int64GetDatum(s->days);
		values[7] = Int64GetDatum(s->packets);
		values[8] = bot_ports(st, s);
		SRF_RETURN_NEXT(fctx, HeapTupleGetDatum(heap_form_tuple(fctx->tuple_desc, values, nulls)));
	}
	SRF_RETURN_DONE(fctx);
}
