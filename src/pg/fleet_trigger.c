/*-------------------------------------------------------------------------
 *
 * fleet_trigger.c
 *		The rows of a fleet table's local partitions.
 *
 * PostgreSQL does not collect transition tables through foreign partitions
 * (a statement that routes a row to one fails with "cannot collect
 * transition tuples from child foreign tables"), so mirai_track gives a
 * fleet table, instead of the statement triggers of other tables:
 *
 *	mirai_rollup_row	AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW on
 *						the table, which PostgreSQL clones onto every
 *						partition, present and future.  On a foreign
 *						partition it does nothing: the row went to the
 *						sensor's table, whose own triggers count it there
 *						(the coordinator reads it with that sensor's
 *						rollups).  On a local partition it folds the packet
 *						into an aggregation in memory (rollup_agg.c).
 *	mirai_rollup_flush	AFTER INSERT OR UPDATE OR DELETE FOR EACH STATEMENT
 *						on the table and on each of its local partitions
 *						(and partitioned sub-tables): folds what the row
 *						triggers gathered into the rollups, as the
 *						statement trigger of another table does.  A
 *						statement's row events fire before its statement
 *						event.
 *	mirai_rollup_truncate	as on other tables.
 *
 * Rows gathered in a subtransaction that aborts are dropped with it.  Rows
 * still not folded when the transaction commits (a statement on a
 * partition made after mirai_track, which has no flush trigger of its own)
 * make the commit fail, naming the partition: never a silent miscount.
 * mirai_rebuild gives such partitions their flush trigger.
 *
 * Rollups that keep history (on_delete 'keep') drop the rows of a DELETE
 * at the flush; an UPDATE that moves rows between partitions (a delete and
 * an insert to PostgreSQL) is folded as an update.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/* The rows gathered for a tracked table in a subtransaction. */
typedef struct Pending
{
	Oid			relid;			/* the tracked table */
	Oid			via;			/* the last partition rows came through */
	SubTransactionId subid;
	MemoryContext cxt;
	Tracked		t;
	pg_tz	   *tz;
	RollupAgg  *add;
	RollupAgg  *sub;
	struct Pending *next;
} Pending;

static Pending *pending;		/* in TopTransactionContext */
static bool callbacks_registered;

/* What a row trigger on a partition counts for, cached per trigger. */
typedef struct RowTarget
{
	Oid			tgoid;
	Oid			partition;
	Oid			relid;			/* the tracked table; invalid: none */
	AttrNumber	attnum;			/* the packet column of the partition */
	AttrNumber	root_attnum;	/* and of the tracked table */
	bool		follow_deletes;
	char		time_zone[TZ_STRLEN_MAX + 1];
} RowTarget;

#define TARGET_CACHE	16
static RowTarget targets[TARGET_CACHE];
static int	next_target;

/* ----------------------------------------------------------------------
 * Transactions
 * ----------------------------------------------------------------------
 */

static void
fleet_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		if (pending != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("rows of partition \"%s\" were not counted in the rollups of table \"%s\"",
							get_rel_name(pending->via), get_rel_name(pending->relid)),
					 errdetail("The partition was made after mirai_track: its rows are counted by statements on the table, or on a partition that was there."),
					 errhint("Load through table \"%s\", or run SELECT mirai_rebuild('%s') once.",
							 get_rel_name(pending->relid), get_rel_name(pending->relid))));
	}
	else if (event != XACT_EVENT_PARALLEL_PRE_COMMIT)
		pending = NULL;			/* its memory goes with the transaction */
}

static void
fleet_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	Pending   **pp = &pending;

	while (*pp != NULL)
	{
		Pending    *p = *pp;

		if (p->subid == mySubid && event == SUBXACT_EVENT_ABORT_SUB)
		{
			*pp = p->next;
			MemoryContextDelete(p->cxt);
			continue;
		}
		if (p->subid == mySubid && event == SUBXACT_EVENT_COMMIT_SUB)
			p->subid = parentSubid;
		pp = &p->next;
	}
}

/* Drop the rows gathered for relid (its rollups were emptied: TRUNCATE). */
void
fleet_forget_pending(Oid relid)
{
	Pending   **pp = &pending;

	while (*pp != NULL)
	{
		Pending    *p = *pp;

		if (p->relid == relid)
		{
			*pp = p->next;
			MemoryContextDelete(p->cxt);
		}
		else
			pp = &p->next;
	}
}

/* ----------------------------------------------------------------------
 * The row trigger
 * ----------------------------------------------------------------------
 */

/*
 * The tracked table a partition's rows count for: its nearest tracked
 * ancestor, with the partition's packet column.  Cached per trigger (a
 * partition detached loses its cloned trigger, a table tracked again gets
 * new ones).
 */
static RowTarget *
row_target(FunctionCallInfo fcinfo, TriggerData *trig)
{
	Oid			part = RelationGetRelid(trig->tg_relation);
	Oid			tgoid = trig->tg_trigger->tgoid;
	RowTarget  *rt;
	ExtInfo		info;
	ListCell   *lc;
	int			i;

	for (i = 0; i < TARGET_CACHE; i++)
		if (targets[i].tgoid == tgoid && targets[i].partition == part && OidIsValid(tgoid))
			return &targets[i];
	rt = &targets[next_target];
	next_target = (next_target + 1) % TARGET_CACHE;
	memset(rt, 0, sizeof(RowTarget));
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, get_partition_ancestors(part))
	{
		Tracked		t;

		if (read_tracked(&info, lfirst_oid(lc), &t))
		{
			if (strlen(t.time_zone) > TZ_STRLEN_MAX)
				elog(ERROR, "time zone name too long");
			rt->relid = lfirst_oid(lc);
			rt->follow_deletes = t.follow_deletes;
			strlcpy(rt->time_zone, t.time_zone, sizeof(rt->time_zone));
			rt->attnum = rollup_packet_column(RelationGetDescr(trig->tg_relation),
											  info.packet_type, part);
			rt->root_attnum = get_attnum(rt->relid, get_attname(part, rt->attnum, false));
			break;
		}
	}
	SPI_finish();
	rt->tgoid = tgoid;
	rt->partition = part;
	return rt;
}

/* The rows gathered for a tracked table in the current subtransaction. */
static Pending *
pending_for(RowTarget *rt)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	Pending    *p;

	for (p = pending; p != NULL; p = p->next)
		if (p->relid == rt->relid && p->subid == subid)
			return p;
	if (!callbacks_registered)
	{
		RegisterXactCallback(fleet_xact_callback, NULL);
		RegisterSubXactCallback(fleet_subxact_callback, NULL);
		callbacks_registered = true;
	}
	p = MemoryContextAllocZero(TopTransactionContext, sizeof(Pending));
	p->cxt = AllocSetContextCreate(TopTransactionContext, "mirai_ext fleet rows",
								   ALLOCSET_DEFAULT_SIZES);
	p->relid = rt->relid;
	p->subid = subid;
	p->t.relid = rt->relid;
	p->t.follow_deletes = rt->follow_deletes;
	p->t.attnum = rt->root_attnum;
	p->t.time_zone = MemoryContextStrdup(p->cxt, rt->time_zone);
	p->tz = rollup_zone(rt->time_zone);
	p->next = pending;
	pending = p;
	return p;
}

/* Fold the packet of a row into *agg (made when first needed). */
static void
gather(Pending *p, RollupAgg **agg, HeapTuple tuple, Relation rel, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
	MemoryContext old;

	if (isnull)
		return;
	old = MemoryContextSwitchTo(p->cxt);
	if (*agg == NULL)
		*agg = agg_create(p->tz, 0);
	agg_add(*agg, d);
	MemoryContextSwitchTo(old);
}

PG_FUNCTION_INFO_V1(mirai_rollup_row);
Datum
mirai_rollup_row(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	RowTarget  *rt;
	Pending    *p;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_row must be an AFTER ... FOR EACH ROW trigger")));
	rel = trig->tg_relation;
	/* a row of a foreign partition is counted by its server */
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		return PointerGetDatum(NULL);
	rt = row_target(fcinfo, trig);
	if (!OidIsValid(rt->relid))
		return PointerGetDatum(NULL);
	p = pending_for(rt);
	p->via = RelationGetRelid(rel);
	switch (trig->tg_event & TRIGGER_EVENT_OPMASK)
	{
		case TRIGGER_EVENT_INSERT:
			gather(p, &p->add, trig->tg_trigtuple, rel, rt->attnum);
			break;
		case TRIGGER_EVENT_DELETE:
			gather(p, &p->sub, trig->tg_trigtuple, rel, rt->attnum);
			break;
		case TRIGGER_EVENT_UPDATE:
			gather(p, &p->sub, trig->tg_trigtuple, rel, rt->attnum);
			gather(p, &p->add, trig->tg_newtuple, rel, rt->attnum);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("mirai_rollup_row fires on INSERT, UPDATE or DELETE only")));
	}
	return PointerGetDatum(NULL);
}

/* ----------------------------------------------------------------------
 * The statement trigger
 * ----------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(mirai_rollup_flush);
Datum
mirai_rollup_flush(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	TriggerEvent ev;
	ExtInfo		info;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_flush must be an AFTER ... FOR EACH STATEMENT trigger")));
	if (pending == NULL)
		return PointerGetDatum(NULL);
	ev = trig->tg_event & TRIGGER_EVENT_OPMASK;
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	while (pending != NULL)
	{
		Pending    *p = pending;

		pending = p->next;
		/* rollups kept as history do not lose the rows a DELETE removes */
		if (ev == TRIGGER_EVENT_DELETE && !p->t.follow_deletes)
			p->sub = NULL;
		if (p->add != NULL)
			agg_finish(p->add);
		if (p->sub != NULL)
			agg_finish(p->sub);
		if (p->add != NULL || p->sub != NULL)
			rollup_fold(&info, &p->t, p->tz, p->add, p->sub);
		MemoryContextDelete(p->cxt);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* ----------------------------------------------------------------------
 * Making and dropping the triggers (mirai_track, mirai_untrack,
 * mirai_rebuild), as the extension's owner
 * ----------------------------------------------------------------------
 */

static char *
qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static void
exec_utility(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "statement failed: %s", sql);
}

/*
 * Give every local relation of a fleet table's tree that has none its
 * flush trigger (mirai_track, and mirai_rebuild for partitions made since).
 */
void
fleet_flush_triggers(const ExtInfo *info, Oid relid)
{
	RoleSwitch	saved;
	ListCell   *lc;

	rollup_as_ext_owner(info, &saved);
	foreach(lc, fleet_local_relations(relid, false))
		if (!OidIsValid(get_trigger_oid(lfirst_oid(lc), "mirai_rollup_flush", true)))
			exec_utility(psprintf("CREATE TRIGGER mirai_rollup_flush AFTER INSERT OR UPDATE OR DELETE "
								  "ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s.mirai_rollup_flush()",
								  qualified(lfirst_oid(lc)), info->nspname));
	rollup_role_end(&saved);
}

/* The triggers of a fleet table (see the top of this file). */
void
fleet_make_triggers(const ExtInfo *info, Oid relid, bool follow_deletes)
{
	RoleSwitch	saved;

	/* the trigger functions are of 0.2.0 */
	rollup_require_current(info);
	rollup_as_ext_owner(info, &saved);
	exec_utility(psprintf("CREATE TRIGGER mirai_rollup_row AFTER INSERT OR UPDATE OR DELETE ON %s "
						  "FOR EACH ROW EXECUTE FUNCTION %s.mirai_rollup_row()",
						  qualified(relid), info->nspname));
	if (follow_deletes)
		exec_utility(psprintf("CREATE TRIGGER mirai_rollup_truncate AFTER TRUNCATE ON %s "
							  "FOR EACH STATEMENT EXECUTE FUNCTION %s.mirai_rollup_trigger()",
							  qualified(relid), info->nspname));
	rollup_role_end(&saved);
	fleet_flush_triggers(info, relid);
}

/* Whether a tracked table has the triggers of a fleet table. */
bool
fleet_tracked_by_rows(Oid relid)
{
	return OidIsValid(get_trigger_oid(relid, "mirai_rollup_row", true));
}

/*
 * Drop the triggers fleet_make_triggers made: the row trigger (its clones
 * go with it) and every flush trigger of the tree.
 */
void
fleet_drop_triggers(const ExtInfo *info, Oid relid)
{
	RoleSwitch	saved;
	ListCell   *lc;

	rollup_as_ext_owner(info, &saved);
	if (fleet_tracked_by_rows(relid))
		exec_utility(psprintf("DROP TRIGGER mirai_rollup_row ON %s", qualified(relid)));
	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
		if (OidIsValid(get_trigger_oid(lfirst_oid(lc), "mirai_rollup_flush", true)))
			exec_utility(psprintf("DROP TRIGGER mirai_rollup_flush ON %s", qualified(lfirst_oid(lc))));
	rollup_role_end(&saved);
}
