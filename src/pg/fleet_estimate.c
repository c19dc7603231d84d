/*-------------------------------------------------------------------------
 *
 * fleet_estimate.c
 *		The planner's estimates of the views' fleet branches.
 *
 *	mirai_fleet_support(internal) -> internal
 *		the support function of mirai_is_fleet (its selectivity), of the
 *		fleet functions returning sets and of mirai_day_sources of a
 *		fleet's entries (their rows).
 *
 * Each rollup view is a union of a branch for plain tables and one for
 * fleet tables (fleet_views.c).  Without help the planner guesses the fleet
 * branch at the tracked tables it cannot count times each function's ROWS:
 * hundreds of thousands of rows, which cost more than the rest of the view.
 * That is enough to JIT-compile a lookup of a millisecond, or to sort every
 * source of mirai_bots for its top 10 rather than read them best first.
 *
 * A fleet table has a foreign table in its partition tree, so in a
 * database where no foreign table is a partition no table is a fleet: then
 * mirai_is_fleet keeps no row and each fleet function returns one.  With
 * any foreign partition the defaults (ROWS) stand.  The answer is kept per
 * backend until pg_class or pg_foreign_table changes (an attached or
 * detached partition, a new or dropped foreign table), which the
 * catalogs' invalidations say.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_foreign_table.h"
#include "fmgr.h"
#include "nodes/supportnodes.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/* foreign_partition_exists's answer: -1 unknown, else 0 or 1 */
static int	foreign_partition_known = -1;
static uint64 foreign_partition_invals = 0;

static void
forget_foreign_partition(Datum arg, int cacheid, uint32 hashvalue)
{
	foreign_partition_known = -1;
	foreign_partition_invals++;
}

/* Is a foreign table a partition?  Reads pg_foreign_table, once until it or pg_class changes. */
static bool
foreign_partition_exists(void)
{
	static bool registered = false;
	Relation	ft;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		any = false;
	uint64		invals;

	if (!registered)
	{
		CacheRegisterSyscacheCallback(FOREIGNTABLEREL, forget_foreign_partition, (Datum) 0);
		CacheRegisterSyscacheCallback(RELOID, forget_foreign_partition, (Datum) 0);
		registered = true;
	}
	if (foreign_partition_known >= 0)
		return foreign_partition_known == 1;
	invals = foreign_partition_invals;
	ft = table_open(ForeignTableRelationId, AccessShareLock);
	scan = systable_beginscan(ft, InvalidOid, false, NULL, 0, NULL);
	while (!any && HeapTupleIsValid(tup = systable_getnext(scan)))
		any = get_rel_relispartition(((Form_pg_foreign_table) GETSTRUCT(tup))->ftrelid);
	systable_endscan(scan);
	table_close(ft, AccessShareLock);
	/* kept only if no change arrived while the scan ran */
	if (invals == foreign_partition_invals)
		foreign_partition_known = any ? 1 : 0;
	return any;
}

/* Is e a call of mirai_fleet_entries of the namespace nsp? */
static bool
is_fleet_entries(Node *e, Oid nsp)
{
	char	   *name;

	if (!IsA(e, FuncExpr))
		return false;
	name = get_func_name(((FuncExpr *) e)->funcid);
	return name != NULL && strcmp(name, "mirai_fleet_entries") == 0 &&
		get_func_namespace(((FuncExpr *) e)->funcid) == nsp;
}

PG_FUNCTION_INFO_V1(mirai_fleet_support);
Datum
mirai_fleet_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);

	if (IsA(req, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *r = (SupportRequestSelectivity *) req;

		if (r->is_join || foreign_partition_exists())
			PG_RETURN_POINTER(NULL);
		r->selectivity = 0.0;
		PG_RETURN_POINTER(r);
	}
	if (IsA(req, SupportRequestRows))
	{
		SupportRequestRows *r = (SupportRequestRows *) req;
		FuncExpr   *call = (FuncExpr *) r->node;
		char	   *name = get_func_name(r->funcid);

		if (call == NULL || !IsA(call, FuncExpr) || name == NULL)
			PG_RETURN_POINTER(NULL);
		/* mirai_day_sources of a part's entries keeps its ROWS */
		if (strcmp(name, "mirai_day_sources") == 0 &&
			(list_length(call->args) != 1 ||
			 !is_fleet_entries(linitial(call->args), get_func_namespace(r->funcid))))
			PG_RETURN_POINTER(NULL);
		if (foreign_partition_exists())
			PG_RETURN_POINTER(NULL);
		r->rows = 1;
		PG_RETURN_POINTER(r);
	}
	PG_RETURN_POINTER(NULL);
}
