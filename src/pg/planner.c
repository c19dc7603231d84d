/*-------------------------------------------------------------------------
 *
 * planner.c
 *		Planner support for the packet predicates (is_mirai, packet_is_mirai,
 *		packet_is_fragment): how many rows they keep.
 *
 * Without a support function the planner guesses that any boolean
 * function keeps a third of the rows (function_selectivity in plancat.c),
 * whatever ANALYZE found.  A capture is often four-fifths Mirai, or almost
 * none, so the guess misleads every estimate above the scan: the groups of
 * a GROUP BY, the rows a Gather must carry, the choice of a join.
 *
 * The estimate, in order of preference:
 *
 *	1. statistics on the call itself: an expression index on is_mirai(p) or
 *	   CREATE STATISTICS ... ON (is_mirai(p)) (PostgreSQL 14+), read as the
 *	   planner reads a boolean column (boolvarsel in selfuncs.c);
 *	2. the statistics ANALYZE keeps on the packet column anyway: the
 *	   predicate is evaluated on the column's most common values and
 *	   histogram entries, which are packets sampled across the table in time
 *	   order, and the fraction that satisfy it stands for the rest, as core's
 *	   generic_restriction_selectivity (selfuncs.c) does for operators it
 *	   knows nothing about: at least 10 histogram entries, blended with the
 *	   default below 100, clamped to [0.0001, 0.9999];
 *	3. with no statistics at all (never analyzed), or statistics the
 *	   current role may not see through a non-leakproof function: 0.5, the
 *	   planner's own guess for a boolean column it knows nothing about.
 *
 * The predicates' costs do not depend on their arguments, so they are COST
 * markings in SQL (measured against int4pl, see test/bench/README.md), not
 * a SupportRequestCost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"


/* What the planner assumes of a boolean it knows nothing about (boolvarsel). */
#define PREDICATE_DEFAULT_SEL	0.5

/* Histogram sizes: below MIN not used, below FULL blended with the default. */
#define PREDICATE_HIST_MIN		10
#define PREDICATE_HIST_FULL		100

/*
 * Evaluate the predicate on the values of a statistics slot, skipping `skip`
 * entries at each end (a histogram's first and last entries are the
 * extremes of the sample, not typical values).  Returns the weight of the
 * values for which it is true and sets *total to the weight of all: each
 * value weighs its frequency when the slot has them (MCVs), else 1.
 */
static double
slot_hits(FmgrInfo *pred, const AttStatsSlot *slot, int skip, double *total)
{
	bool		freqs = slot->nnumbers == slot->nvalues;
	double		hits = 0;
	int			i;

	*total = 0;
	for (i = skip; i < slot->nvalues - skip; i++)
	{
		double		w = freqs ? slot->numbers[i] : 1;

		if (DatumGetBool(FunctionCall1Coll(pred, InvalidOid, slot->values[i])))
			hits += w;
		*total += w;
	}
	return hits;
}

/*
 * Selectivity of pred(arg) from the statistics of arg, a packet column (or
 * -1 when there are none the current role may use): the predicate is
 * evaluated on the column's MCVs and histogram entries.
 */
static double
column_sample_selectivity(PlannerInfo *root, Oid funcid, Node *arg, int varRelid)
{
	VariableStatData vardata;
	AttStatsSlot mcv;
	AttStatsSlot hist;
	FmgrInfo	pred;
	double		mcvsel = 0;
	double		mcvsum = 0;
	double		histhits = 0;	/* histogram entries that satisfy it */
	double		histn = 0;		/* of these many (the ends skipped) */
	int			histsize = 0;
	double		nullfrac;
	double		selec;

	/* a column of type packet, or of a domain over it */
	examine_variable(root, arg, varRelid, &vardata);
	if (!HeapTupleIsValid(vardata.statsTuple) ||
		getBaseType(vardata.atttype) != exprType(arg) ||
		!statistic_proc_security_check(&vardata, funcid))
	{
		ReleaseVariableStats(vardata);
		return -1;
	}

	fmgr_info(funcid, &pred);
	nullfrac = ((Form_pg_statistic) GETSTRUCT(vardata.statsTuple))->stanullfrac;

	if (get_attstatsslot(&mcv, vardata.statsTuple, STATISTIC_KIND_MCV, InvalidOid,
						 ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS))
	{
		if (mcv.nnumbers == mcv.nvalues)
			mcvsel = slot_hits(&pred, &mcv, 0, &mcvsum);
		free_attstatsslot(&mcv);
	}
	if (get_attstatsslot(&hist, vardata.statsTuple, STATISTIC_KIND_HISTOGRAM, InvalidOid,
						 ATTSTATSSLOT_VALUES))
	{
		histsize = hist.nvalues;
		if (histsize >= PREDICATE_HIST_MIN)
			histhits = slot_hits(&pred, &hist, 1, &histn);
		free_attstatsslot(&hist);
	}
	ReleaseVariableStats(vardata);

	if (histn == 0 && mcvsum == 0)
		return -1;				/* nothing usable: the default */

	/* the histogram's fraction, or the default for the rows the MCVs miss */
	selec = histn > 0 ? histhits / histn : PREDICATE_DEFAULT_SEL;
	if (histn > 0 && histsize < PREDICATE_HIST_FULL)
	{
		double		w = (double) histsize / PREDICATE_HIST_FULL;

		selec = selec * w + PREDICATE_DEFAULT_SEL * (1 - w);
	}
	selec = Max(selec, 0.0001);
	selec = Min(selec, 0.9999);

	/* the histogram stands for the non-null values that are not MCVs */
	selec = selec * Max(1.0 - nullfrac - mcvsum, 0.0) + mcvsel;
	CLAMP_PROBABILITY(selec);
	return selec;
}

/*
 * Selectivity of a boolean packet predicate funcid(arg) in a restriction
 * clause.  See the file header for the order of the sources.
 */
static double
predicate_selectivity(PlannerInfo *root, Oid funcid, Node *arg,
					  Oid inputcollid, int varRelid)
{
	VariableStatData vardata;
	Node	   *call;
	double		selec;

	/* 1. statistics on the expression itself */
	call = (Node *) makeFuncExpr(funcid, BOOLOID, list_make1(arg),
								 InvalidOid, inputcollid, COERCE_EXPLICIT_CALL);
	examine_variable(root, call, varRelid, &vardata);
	if (HeapTupleIsValid(vardata.statsTuple))
	{
		selec = var_eq_const(&vardata, BooleanEqualOperator, InvalidOid,
							 BoolGetDatum(true), false, true, false);
		ReleaseVariableStats(vardata);
		return selec;
	}
	ReleaseVariableStats(vardata);

	/* 2. the packet column's statistics */
	selec = column_sample_selectivity(root, funcid, arg, varRelid);
	if (selec >= 0)
		return selec;

	/* 3. nothing known */
	return PREDICATE_DEFAULT_SEL;
}

/*
 * packet_predicate_support(internal): the planner support function of the
 * boolean packet predicates (SupportRequestSelectivity).
 */
PG_FUNCTION_INFO_V1(packet_predicate_support);
Datum
packet_predicate_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		/* a one-argument predicate is never a join clause; be safe anyway */
		if (req->is_join || list_length(req->args) != 1)
			PG_RETURN_POINTER(NULL);
		req->selectivity = predicate_selectivity(req->root, req->funcid,
												 linitial(req->args),
												 req->inputcollid,
												 req->varRelid);
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
