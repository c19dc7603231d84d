/*-------------------------------------------------------------------------
 *
 * rollup_bots.c
 *		mirai_bots_scan, the foreign table under the mirai_bots view: every
 *		Mirai source of the tracked tables the role may read, over all
 *		their days, found the cheapest way the query allows.
 *
 * A set-returning function cannot see the query around it: a view over
 * one folds every source before a WHERE src = ... keeps one.  A foreign
 * table's scan is planned with the query's conditions, so this one offers
 * three ways, and the planner takes the cheapest:
 *
 *	lookup		with a condition src = value (a constant or a parameter):
 *				each table's days looked up for that address, as
 *				mirai_source does (rollup_range.c);
 *	best first	when the query wants rows by packets descending (ORDER BY
 *				packets DESC, mostly with a LIMIT): rounds of each table's
 *				best k sources (the threshold algorithm of
 *				mirai_top_sources), k growing, their rows looked up in
 *				batches as they are returned; past the last round, every
 *				source not yet returned, sorted;
 *	every		each table's sources folded (rollup_sources.c), streamed.
 *
 * A condition tbl = value limits each way to that table.  Every condition
 * is also checked on the rows returned: a way only ever skips rows that
 * could not pass.
 *
 * The rollups are read as the extension's owner, for the tables the role
 * may read (mirai_may_read, checked here, so the view needs no barrier); a
 * fleet table gives no rows here: the view merges its members.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "commands/explain.h"
#include "executor/spi.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/* The foreign table's columns (40_rollup.sql), in order. */
enum
{
	BOTS_TBL = 1, BOTS_SRC, BOTS_COUNTRY, BOTS_FIRST_SEEN, BOTS_LAST_SEEN,
	BOTS_FIRST_DAY, BOTS_LAST_DAY, BOTS_DAYS, BOTS_PACKETS, BOTS_PORTS,
	BOTS_NATTS = BOTS_PORTS
};

typedef enum BotsWay
{
	BOTS_LOOKUP,
	BOTS_BEST,
	BOTS_EVERY
} BotsWay;

static const char *const way_names[] = {"lookup of one source", "best sources first", "every source"};

/*
 * Planner estimates: sources (a guess: nothing cheap counts them), and
 * costs in the planner's units, from the benchmarks' orders of magnitude
 * (a lookup of a few milliseconds; a fold of about a microsecond a source).
 */
#define BOTS_ROWS			10000
#define BOTS_LOOKUP_COST	100.0
#define BOTS_SOURCE_COST	1.0

/*
 * The best-first way's rounds: each table's best BOTS_FIRST_ROUND sources,
 * then eight times as many each round, up to BOTS_LAST_ROUND; then the
 * sort.  A round costs about a lookup per source it returns.
 */
#define BOTS_FIRST_ROUND	32
#define BOTS_LAST_ROUND		2048

/*
 * A round's rows are looked up in batches, one reading of each table's
 * days for all its rows of the batch: BOTS_FIRST_BATCH rows, twice as
 * many each batch, up to BOTS_LAST_BATCH.
 */
#define BOTS_FIRST_BATCH	16
#define BOTS_LAST_BATCH		256

/* What the planner found in the conditions. */
typedef struct BotsConds
{
	Expr	   *src;			/* src = this, or NULL */
	Expr	   *tbl;			/* tbl = this, or NULL */
} BotsConds;

/* A row looked up: a table's source. */
typedef struct FoundRow
{
	BotRow		row;
	Oid			relid;
} FoundRow;

/* A source of a round of the best-first way. */
typedef struct BestRow
{
	uint32		src;
	int			table;			/* in BotsScan.tables */
	int64		packets;
} BestRow;

/* The sources the best-first way returned, as table << 32 | address. */
#define SH_PREFIX		returned
#define SH_ELEMENT_TYPE	ReturnedEntry
#define SH_KEY_TYPE		uint64
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	murmurhash32((uint32) ((k) ^ ((k) >> 32)))
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
typedef struct ReturnedEntry
{
	uint64		key;
	char		status;
} ReturnedEntry;
#include "lib/simplehash.h"

typedef struct BotsScan
{
	BotsWay		way;
	List	   *exprs;			/* ExprStates: [src, tbl] */
	bool		has_src;
	bool		has_tbl;
	MemoryContext cxt;			/* one run of the scan, reset on rescan */
	MemoryContext fold_cxt;		/* a table's fold */
	bool		started;
	ExtInfo		info;
	Oid		   *tables;			/* the tables to read, in order */
	char	  **zones;
	int			ntables;
	uint32		src;			/* src = this, as a number */
	/* lookup: the rows found, rows[next .. nrows) to return */
	FoundRow   *rows;
	int			nrows;
	int			next;
	/* every: the table being folded */
	int			table_at;
	SourceFold *fold;
	/* best first: the round's rows to return, queue[qnext .. nqueue) */
	MemoryContext round_cxt;
	BestRow    *queue;
	int			nqueue;
	int			qnext;
	BotRow	   *found;			/* their rows, looked up up to resolved */
	int			resolved;
	int			batch;			/* the next batch's rows */
	int			round;			/* the next round's sources per table */
	bool		complete;		/* a round held every source */
	returned_hash *returned;
	Tuplesortstate *sort;		/* past the rounds: the rest, sorted */
	TupleTableSlot *sort_slot;
} BotsScan;

/* ----------------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------------
 */

/*
 * The other side of a condition column = value on column attno of rel, with
 * the equality function fn, when the value is the same for the whole scan
 * (no column of this query level, nothing volatile); else NULL.
 */
static Expr *
equal_to(RestrictInfo *ri, RelOptInfo *rel, AttrNumber attno, Oid fn)
{
	OpExpr	   *op = (OpExpr *) ri->clause;
	int			side;

	if (!IsA(op, OpExpr) || list_length(op->args) != 2 || get_opcode(op->opno) != fn)
		return NULL;
	for (side = 0; side < 2; side++)
	{
		Node	   *col = list_nth(op->args, side);
		Node	   *other = list_nth(op->args, 1 - side);

		/* regclass compares as oid: a relabeling, not a conversion */
		while (IsA(col, RelabelType))
			col = (Node *) ((RelabelType *) col)->arg;

		if (IsA(col, Var) && ((Var *) col)->varno == (int) rel->relid &&
			((Var *) col)->varattno == attno && ((Var *) col)->varlevelsup == 0 &&
			is_pseudo_constant_clause(other))
			return (Expr *) other;
	}
	return NULL;
}

static void
bots_rel_size(PlannerInfo *root, RelOptInfo *rel, Oid foreigntableid)
{
	BotsConds  *c = palloc0(sizeof(BotsConds));
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *e;

		if (c->src == NULL && (e = equal_to(ri, rel, BOTS_SRC, F_NETWORK_EQ)) != NULL)
			c->src = e;
		else if (c->tbl == NULL && (e = equal_to(ri, rel, BOTS_TBL, F_OIDEQ)) != NULL)
			c->tbl = e;
	}
	rel->rows = c->src != NULL ? 1 : BOTS_ROWS;
	rel->fdw_private = c;
}

static void
bots_add_path(PlannerInfo *root, RelOptInfo *rel, BotsWay way, Cost startup, Cost total,
			  List *pathkeys)
{
	add_path(rel, (Path *) create_foreignscan_path(root, rel, NULL, rel->rows, startup, total,
												   pathkeys, NULL, NULL,
												   list_make1(makeInteger(way))));
}

/*
 * The order packets descending, when the query wants its rows first in
 * that order (as the planner spells it for this table); else NIL.
 */
static List *
packets_first(PlannerInfo *root, RelOptInfo *rel)
{
	Var		   *packets;
	List	   *pk;

	if (root->query_pathkeys == NIL)
		return NIL;
	packets = makeVar(rel->relid, BOTS_PACKETS, INT8OID, -1, InvalidOid, 0);
	pk = build_expression_pathkey(root, (Expr *) packets, NULL, get_commutator(Int8LessOperator),
								  rel->relids, false);
	if (pk == NIL || linitial(pk) != linitial(root->query_pathkeys))
		return NIL;
	return pk;
}

static void
bots_paths(PlannerInfo *root, RelOptInfo *rel, Oid foreigntableid)
{
	BotsConds  *c = rel->fdw_private;
	Cost		every = BOTS_ROWS * BOTS_SOURCE_COST;
	List	   *pk = packets_first(root, rel);

	if (c->src != NULL)
		bots_add_path(root, rel, BOTS_LOOKUP, BOTS_LOOKUP_COST, BOTS_LOOKUP_COST, NIL);
	/* best first: a first round; every row, the rounds and a sort of the rest */
	if (pk != NIL)
		bots_add_path(root, rel, BOTS_BEST, BOTS_LOOKUP_COST * 2,
					  BOTS_LOOKUP_COST * BOTS_LAST_ROUND + every * 2 + BOTS_ROWS * cpu_tuple_cost,
					  pk);
	bots_add_path(root, rel, BOTS_EVERY, every, every + BOTS_ROWS * cpu_tuple_cost, NIL);
}

static ForeignScan *
bots_plan(PlannerInfo *root, RelOptInfo *rel, Oid foreigntableid, ForeignPath *best_path,
		  List *tlist, List *scan_clauses, Plan *outer_plan)
{
	BotsConds  *c = rel->fdw_private;
	BotsWay		way = intVal(linitial(best_path->fdw_private));
	Expr	   *src = way == BOTS_LOOKUP ? c->src : NULL;
	List	   *exprs,
			   *priv;

	exprs = list_make2(src ? src : (Expr *) makeNullConst(INETOID, -1, InvalidOid),
					   c->tbl ? c->tbl : (Expr *) makeNullConst(OIDOID, -1, InvalidOid));
	priv = list_make3(makeInteger(way), makeBoolean(src != NULL), makeBoolean(c->tbl != NULL));
	/* every condition is checked again on the rows */
	return make_foreignscan(tlist, extract_actual_clauses(scan_clauses, false), rel->relid,
							exprs, priv, NIL, NIL, outer_plan);
}

static void
bots_explain(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fs = (ForeignScan *) node->ss.ps.plan;

	ExplainPropertyText("Mirai Bots", way_names[intVal(linitial(fs->fdw_private))], es);
}

/* ----------------------------------------------------------------------
 * Execution
 * ----------------------------------------------------------------------
 */

/* The foreign table's column types, as the extension makes it. */
static const Oid bots_types[BOTS_NATTS] = {
	REGCLASSOID, INETOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	DATEOID, DATEOID, INT8OID, INT8OID, INT4ARRAYOID
};

/* A row into the slot: its Datums in the current memory context. */
static void
store_row(TupleTableSlot *slot, Oid relid, const BotRow *r)
{
	Datum	   *v = slot->tts_values;
	bool	   *isnull = slot->tts_isnull;
	inet	   *addr = palloc0(sizeof(inet));
	size_t		l = strnlen(r->country, MX_COUNTRY_LEN);
	Datum	   *ports = palloc(sizeof(Datum) * Max(r->nports, 1));
	int			i;

	ExecClearTuple(slot);
	memset(isnull, 0, sizeof(bool) * BOTS_NATTS);
	rollup_inet4(addr, r->src);
	for (i = 0; i < r->nports; i++)
		ports[i] = Int32GetDatum(r->ports[i]);
	v[BOTS_TBL - 1] = ObjectIdGetDatum(relid);
	v[BOTS_SRC - 1] = InetPGetDatum(addr);
	if (l == 0)
		isnull[BOTS_COUNTRY - 1] = true;
	else
		v[BOTS_COUNTRY - 1] = PointerGetDatum(cstring_to_text_with_len(r->country, l));
	v[BOTS_FIRST_SEEN - 1] = TimestampTzGetDatum(us_to_timestamptz(r->first_us));
	v[BOTS_LAST_SEEN - 1] = TimestampTzGetDatum(us_to_timestamptz(r->last_us));
	v[BOTS_FIRST_DAY - 1] = DateADTGetDatum(r->first_day);
	v[BOTS_LAST_DAY - 1] = DateADTGetDatum(r->last_day);
	v[BOTS_DAYS - 1] = Int64GetDatum(r->days);
	v[BOTS_PACKETS - 1] = Int64GetDatum(r->packets);
	v[BOTS_PORTS - 1] = PointerGetDatum(construct_array(ports, r->nports, INT4OID, sizeof(int32),
														true, TYPALIGN_INT));
	ExecStoreVirtualTuple(slot);
}

/*
 * The tracked tables to read (only, when valid), in order: not a fleet
 * table, and one the role may read.
 */
static void
read_tables(BotsScan *st, Oid only)
{
	Datum		v[1] = {ObjectIdGetDatum(only)};
	char		nulls[1] = {OidIsValid(only) ? ' ' : 'n'};
	RoleSwitch	saved;
	uint64		r;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rollup_as_ext_owner(&st->info, &saved);
	if (SPI_execute_plan(rollup_plans(&st->info)->range_tables, v, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	rollup_role_end(&saved);
	st->tables = MemoryContextAlloc(st->cxt, sizeof(Oid) * Max(SPI_processed, 1));
	st->zones = MemoryContextAlloc(st->cxt, sizeof(char *) * Max(SPI_processed, 1));
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		handle = SPI_getbinval(tup, desc, 3, &isnull);

		if (fleet_is(relid) || !fleet_may_read(relid, isnull ? InvalidOid : DatumGetObjectId(handle)))
			continue;
		st->tables[st->ntables] = relid;
		st->zones[st->ntables++] = MemoryContextStrdup(st->cxt, SPI_getvalue(tup, desc, 2));
	}
	SPI_finish();
}

/* The lookup way: st->src in each table, into st->rows. */
static void
lookup_rows(BotsScan *st)
{
	MemoryContext old = CurrentMemoryContext;
	int			t;

	st->rows = MemoryContextAlloc(st->cxt, sizeof(FoundRow) * Max(st->ntables, 1));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(st->cxt);
	for (t = 0; t < st->ntables; t++)
	{
		bots_rows(&st->info, st->tables[t], st->zones[t], &st->src, 1, &st->rows[st->nrows].row);
		if (st->rows[st->nrows].row.days > 0)
			st->rows[st->nrows++].relid = st->tables[t];
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
}

/* Has the best-first way returned this source of table t? */
static bool
was_returned(BotsScan *st, int t, uint32 src)
{
	return returned_lookup(st->returned, ((uint64) t << 32) | src) != NULL;
}

/*
 * The every way: the next source of the tables' folds into slot, or false;
 * those the best-first way returned skipped.
 */
static bool
every_next(BotsScan *st, TupleTableSlot *slot)
{
	for (;;)
	{
		const FoldedSource *s;

		if (st->fold == NULL)
		{
			MemoryContext old;

			if (st->table_at >= st->ntables)
				return false;
			MemoryContextReset(st->fold_cxt);
			old = MemoryContextSwitchTo(st->fold_cxt);
			st->fold = fold_open(&st->info, st->tables[st->table_at], NULL, 0);
			MemoryContextSwitchTo(old);
		}
		if ((s = fold_next(st->fold)) != NULL)
		{
			BotRow		r;

			if (st->returned != NULL && was_returned(st, st->table_at, s->src))
				continue;

			r.src = s->src;
			r.first_day = s->first_day;
			r.last_day = s->last_day;
			r.days = s->days;
			r.packets = s->packets;
			r.first_us = s->first_us;
			r.last_us = s->last_us;
			strncpy(r.country, s->country, MX_COUNTRY_LEN);
			r.nports = fold_ports(st->fold, s, &r.ports);
			store_row(slot, st->tables[st->table_at], &r);
			return true;
		}
		st->fold = NULL;
		st->table_at++;
	}
}

/* Order of a round's rows: packets descending, then table, then address. */
static int
best_cmp(const void *a, const void *b)
{
	const BestRow *x = a;
	const BestRow *y = b;

	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src ? 1 : 0;
}

/*
 * The best-first way's next round: each table's best st->round sources,
 * into st->queue those not yet returned that no source outside the round
 * can pass.  A table with fewer than st->round sources gave every one; a
 * table that gave st->round sources may have more, none with more packets
 * than its last: so the round's rows down to the largest such last
 * packets come before every other row.
 */
static void
best_round(BotsScan *st)
{
	MemoryContext old = CurrentMemoryContext;
	int			k = st->round;
	uint32	   *srcs;
	int64	   *packets;
	BestRow    *rows;
	int			nrows = 0,
				t,
				i;
	int64		bound = -1;

	MemoryContextReset(st->round_cxt);
	st->queue = NULL;
	st->nqueue = st->qnext = 0;
	st->round = k < BOTS_LAST_ROUND ? k * 8 : k + 1;
	rows = MemoryContextAlloc(st->round_cxt, sizeof(BestRow) * k * Max(st->ntables, 1));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(st->round_cxt);
	srcs = palloc(sizeof(uint32) * k);
	packets = palloc(sizeof(int64) * k);
	for (t = 0; t < st->ntables; t++)
	{
		int			n = bots_top(&st->info, st->tables[t], st->zones[t], k, srcs, packets);

		for (i = 0; i < n; i++)
		{
			rows[nrows].src = srcs[i];
			rows[nrows].table = t;
			rows[nrows++].packets = packets[i];
		}
		if (n == k)
			bound = Max(bound, packets[k - 1]);
	}
	SPI_finish();
	MemoryContextSwitchTo(old);

	st->complete = bound < 0;
	qsort(rows, nrows, sizeof(BestRow), best_cmp);
	st->queue = rows;
	for (i = 0; i < nrows && rows[i].packets >= bound; i++)
	{
		bool		found;

		returned_insert(st->returned, ((uint64) rows[i].table << 32) | rows[i].src, &found);
		if (!found)
			rows[st->nqueue++] = rows[i];
	}
	st->found = MemoryContextAlloc(st->round_cxt, sizeof(BotRow) * Max(st->nqueue, 1));
	st->resolved = 0;
}

/*
 * Look up the queue's next batch of rows (mirai_bots' every field), each
 * table's in one call.
 */
static void
best_resolve(BotsScan *st)
{
	MemoryContext old = CurrentMemoryContext;
	int			from = st->qnext,
				to = Min(st->nqueue, from + st->batch);
	uint32	   *srcs;
	int		   *at;
	BotRow	   *rows;
	int			t,
				i;

	st->batch = Min(st->batch * 2, BOTS_LAST_BATCH);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(st->round_cxt);
	srcs = palloc(sizeof(uint32) * (to - from));
	at = palloc(sizeof(int) * (to - from));
	rows = palloc(sizeof(BotRow) * (to - from));
	for (t = 0; t < st->ntables; t++)
	{
		int			n = 0;

		for (i = from; i < to; i++)
			if (st->queue[i].table == t)
			{
				srcs[n] = st->queue[i].src;
				at[n++] = i;
			}
		if (n == 0)
			continue;
		bots_rows(&st->info, st->tables[t], st->zones[t], srcs, n, rows);
		for (i = 0; i < n; i++)
			st->found[at[i]] = rows[i];
	}
	SPI_finish();
	MemoryContextSwitchTo(old);
	st->resolved = to;
}

/*
 * Past the last round: every source not yet returned, of every table, into
 * a sort by packets descending.
 */
static void
best_sort(BotsScan *st, TupleTableSlot *slot)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	AttrNumber	col = BOTS_PACKETS;
	Oid			op = get_commutator(Int8LessOperator);
	Oid			coll = InvalidOid;
	bool		nulls_first = true;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	MemoryContext row_cxt = AllocSetContextCreate(st->cxt, "mirai_bots_scan row",
												  ALLOCSET_DEFAULT_SIZES);

	st->sort = tuplesort_begin_heap(desc, 1, &col, &op, &coll, &nulls_first, work_mem, NULL,
									TUPLESORT_NONE);
	st->sort_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	st->table_at = 0;
	st->fold = NULL;
	for (;;)
	{
		bool		more;

		MemoryContextSwitchTo(row_cxt);
		more = every_next(st, slot);
		if (more)
			tuplesort_puttupleslot(st->sort, slot);
		ExecClearTuple(slot);
		MemoryContextSwitchTo(st->cxt);
		MemoryContextReset(row_cxt);
		if (!more)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(row_cxt);
	tuplesort_performsort(st->sort);
	MemoryContextSwitchTo(old);
}

/* The best-first way: the next row into slot, or false. */
static bool
best_next(BotsScan *st, TupleTableSlot *slot)
{
	for (;;)
	{
		if (st->sort != NULL)
		{
			/* the sort's own tuple, copied before the sort moves on */
			if (!tuplesort_gettupleslot(st->sort, true, false, st->sort_slot, NULL))
				return false;
			ExecCopySlot(slot, st->sort_slot);
			return true;
		}
		if (st->qnext < st->nqueue)
		{
			BestRow    *b;
			BotRow	   *r;

			if (st->qnext >= st->resolved)
				best_resolve(st);
			b = &st->queue[st->qnext];
			r = &st->found[st->qnext++];
			if (r->days == 0 || r->packets != b->packets)
				elog(ERROR, "mirai_bots: a source's packets differ between its table's list and its lookup");
			store_row(slot, st->tables[b->table], r);
			return true;
		}
		if (st->complete)
			return false;
		if (st->round > BOTS_LAST_ROUND)
			best_sort(st, slot);
		else
			best_round(st);
	}
}

/* The scan's first row: the values of its conditions, the tables to read. */
static void
bots_start(ForeignScanState *node, BotsScan *st)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	bool		src_null,
				tbl_null;
	Datum		src = ExecEvalExpr(linitial(st->exprs), econtext, &src_null);
	Datum		tbl = ExecEvalExpr(lsecond(st->exprs), econtext, &tbl_null);

	st->started = true;
	st->fold_cxt = AllocSetContextCreate(st->cxt, "mirai_bots_scan fold", ALLOCSET_DEFAULT_SIZES);
	if (st->has_src)
	{
		inet	   *a = src_null ? NULL : DatumGetInetPP(src);
		int			i;

		/* sources are IPv4 addresses: anything else equals none of them */
		if (a == NULL || ip_family(a) != PGSQL_AF_INET || ip_bits(a) != 32)
			return;
		for (i = 0; i < 4; i++)
			st->src = (st->src << 8) | ip_addr(a)[i];
	}
	if (st->has_tbl && tbl_null)
		return;
	read_tables(st, st->has_tbl ? DatumGetObjectId(tbl) : InvalidOid);
	if (st->way == BOTS_LOOKUP)
		lookup_rows(st);
	if (st->way == BOTS_BEST)
	{
		st->round_cxt = AllocSetContextCreate(st->cxt, "mirai_bots_scan round",
											  ALLOCSET_DEFAULT_SIZES);
		st->returned = returned_create(st->cxt, 1024, NULL);
		st->round = BOTS_FIRST_ROUND;
		st->batch = BOTS_FIRST_BATCH;
	}
}

static TupleTableSlot *
bots_iterate(ForeignScanState *node)
{
	BotsScan   *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (!st->started)
		bots_start(node, st);
	if (st->way == BOTS_EVERY || st->way == BOTS_BEST)
	{
		if (st->ntables == 0 ||
			!(st->way == BOTS_EVERY ? every_next(st, slot) : best_next(st, slot)))
			ExecClearTuple(slot);
		return slot;
	}
	if (st->rows == NULL || st->next >= st->nrows)
		return ExecClearTuple(slot);
	store_row(slot, st->rows[st->next].relid, &st->rows[st->next].row);
	st->next++;
	return slot;
}

/* Forget a run: the next row starts again. */
static void
bots_forget(BotsScan *st)
{
	if (st->sort != NULL)
		tuplesort_end(st->sort);
	if (st->sort_slot != NULL)
		ExecDropSingleTupleTableSlot(st->sort_slot);
	MemoryContextReset(st->cxt);
	st->started = false;
	st->tables = NULL;
	st->zones = NULL;
	st->ntables = 0;
	st->src = 0;
	st->rows = NULL;
	st->nrows = st->next = 0;
	st->table_at = 0;
	st->fold = NULL;
	st->fold_cxt = NULL;
	st->round_cxt = NULL;
	st->queue = NULL;
	st->nqueue = st->qnext = 0;
	st->found = NULL;
	st->resolved = 0;
	st->batch = 0;
	st->round = 0;
	st->complete = false;
	st->returned = NULL;
	st->sort = NULL;
	st->sort_slot = NULL;
}

static void
bots_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fs = (ForeignScan *) node->ss.ps.plan;
	TupleDesc	desc = RelationGetDescr(node->ss.ss_currentRelation);
	BotsScan   *st;
	int			i;

	if (desc->natts != BOTS_NATTS)
		elog(ERROR, "a mirai_ext bots table has %d columns, not %d", BOTS_NATTS, desc->natts);
	for (i = 0; i < BOTS_NATTS; i++)
		if (TupleDescAttr(desc, i)->atttypid != bots_types[i])
			elog(ERROR, "column %d of a mirai_ext bots table has the wrong type", i + 1);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	st = palloc0(sizeof(BotsScan));
	st->way = intVal(linitial(fs->fdw_private));
	st->has_src = boolVal(lsecond(fs->fdw_private));
	st->has_tbl = boolVal(lthird(fs->fdw_private));
	st->exprs = ExecInitExprList(fs->fdw_exprs, (PlanState *) node);
	st->cxt = AllocSetContextCreate(node->ss.ps.state->es_query_cxt, "mirai_bots_scan",
									ALLOCSET_DEFAULT_SIZES);
	rollup_ext_info_in(RelationGetNamespace(node->ss.ss_currentRelation), &st->info);
	rollup_require_current(&st->info);
	node->fdw_state = st;
}

static void
bots_rescan(ForeignScanState *node)
{
	bots_forget(node->fdw_state);
}

static void
bots_end(ForeignScanState *node)
{
	BotsScan   *st = node->fdw_state;

	if (st == NULL)
		return;
	bots_forget(st);
	MemoryContextDelete(st->cxt);
}

PG_FUNCTION_INFO_V1(mirai_bots_handler);
Datum
mirai_bots_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *r = makeNode(FdwRoutine);

	r->GetForeignRelSize = bots_rel_size;
	r->GetForeignPaths = bots_paths;
	r->GetForeignPlan = bots_plan;
	r->ExplainForeignScan = bots_explain;
	r->BeginForeignScan = bots_begin;
	r->IterateForeignScan = bots_iterate;
	r->ReScanForeignScan = bots_rescan;
	r->EndForeignScan = bots_end;
	PG_RETURN_POINTER(r);
}
