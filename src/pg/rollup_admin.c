/*-------------------------------------------------------------------------
 *
 * rollup_admin.c
 *		mirai_track, mirai_untrack, mirai_rebuild: which tables have
 *		rollups, their per-table views, and who each step runs as.
 *
 * These are the entry points any role may call, so each checks, in C and
 * with the table locked, that the relation is a table or a partitioned
 * table and that the caller owns it.  Then each step runs as the role it
 * needs, never as more:
 *
 *	reading the table		as the table's owner, under
 *							SECURITY_RESTRICTED_OPERATION (as VACUUM and
 *							REFRESH MATERIALIZED VIEW read it): its policies
 *							or a foreign partition's server run as the owner,
 *							who cannot change the session's role from there;
 *	the per-table views		made by the table's owner, under the same
 *							restriction, and owned by it;
 *	the triggers			made and dropped by the extension's owner (their
 *							function is not executable by PUBLIC, so only the
 *							extension attaches it to a table);
 *	the rollup tables		written by the extension's owner.
 *
 * search_path is pinned to pg_catalog, pg_temp for every step, and every
 * statement built here names its objects and operators with their schema.
 *
 * mirai_rollup_admin is what the 0.1.0 versions of mirai_track, mirai_untrack
 * and mirai_rebuild (SQL functions) called; it stays, not executable by
 * PUBLIC from 0.1.1 on, with the same checks, for databases whose extension
 * has not been updated yet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

#define SAFE_PATH	"pg_catalog, pg_temp"

/* The per-table views, in the order of mirai_tracked's columns. */
static const char *const view_kinds[3] = {"daily", "sources", "countries"};

/* The triggers mirai_track makes. */
static const char *const trigger_names[4] = {
	"mirai_rollup_insert", "mirai_rollup_update", "mirai_rollup_delete", "mirai_rollup_truncate"
};

/* ----------------------------------------------------------------------
 * Who runs what
 * ----------------------------------------------------------------------
 */

/* Find the extension's schema, the rollup tables' owner and the packet type. */
void
rollup_ext_info(Oid fn_oid, ExtInfo *info)
{
	rollup_ext_info_in(get_func_namespace(fn_oid), info);
}

/* The same, for the extension's schema nsp. */
void
rollup_ext_info_in(Oid nsp, ExtInfo *info)
{
	Oid			relid;
	HeapTuple	tup;

	info->nsp = nsp;
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
	/* the rollup tables of 0.2.0 on: days in parts */
	info->current = OidIsValid(get_relname_relid("mirai_rollup_part", info->nsp));
	/* and the scanner dimension, whose tables the update to 0.2.0 makes last */
	info->scanners = OidIsValid(get_relname_relid("mirai_rollup_scanner", info->nsp));
}

/*
 * An error unless the extension's SQL objects are those this library
 * writes: a library installed over an older version works on its rollups
 * only after ALTER EXTENSION mirai_ext UPDATE.
 */
void
rollup_require_current(const ExtInfo *info)
{
	if (!info->current)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the rollup tables of mirai_ext are older than its library"),
				 errdetail("The library installed writes the rollups of version %s; the database has the extension's SQL objects of an older version.",
						   MIRAI_EXT_ROLLUP_VERSION),
				 errhint("Run ALTER EXTENSION mirai_ext UPDATE in this database.")));
}

/* Become role, restricted, with a safe search_path (rollup_role_end undoes). */
static void
become(Oid role, RoleSwitch *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec);
	SetUserIdAndSecContext(role, saved->sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	saved->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", SAFE_PATH, PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* Become the rollup tables' owner, to write the extension's tables. */
void
rollup_as_ext_owner(const ExtInfo *info, RoleSwitch *saved)
{
	become(info->owner, saved);
}

/* The owner of a relation. */
static Oid
rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * A relation's name for messages, with its schema (as 0.1.0 said it);
 * pg_temp for a temporary schema.
 */
static char *
rel_display(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);

	return quote_qualified_identifier(isAnyTempNamespace(nsp) ? "pg_temp" : get_namespace_name(nsp),
									  get_rel_name(relid));
}

/* Become a table's owner, to read the table. */
void
rollup_as_table_owner(Oid relid, RoleSwitch *saved)
{
	become(rel_owner(relid), saved);
}

/* Go back to the role before (an error goes back by itself). */
void
rollup_role_end(RoleSwitch *saved)
{
	AtEOXact_GUC(false, saved->nestlevel);
	SetUserIdAndSecContext(saved->userid, saved->sec);
}

/* ----------------------------------------------------------------------
 * Checks
 * ----------------------------------------------------------------------
 */

/* The one column of type packet of a relation; error when not exactly one. */
AttrNumber
rollup_packet_column(TupleDesc desc, Oid packet_type, Oid relid)
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
							rel_display(relid)),
					 errdetail("A tracked table holds its packets in exactly one column.")));
		found = att->attnum;
	}
	if (found == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" has no column of type packet",
						rel_display(relid)),
				 errdetail("A tracked table holds its packets in exactly one column.")));
	return found;
}

/* A pg_tz for a zone name, or an error naming it. */
pg_tz *
rollup_zone(const char *name)
{
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name),
				 errhint("Use a name from pg_timezone_names, such as 'UTC' or 'Asia/Tokyo'.")));
	return tz;
}

/*
 * Open and lock the relation of a call, and check that the caller owns it
 * and, unless any_kind, that it is a table or a partitioned table: the
 * kinds whose rows the triggers see (a view, foreign table or materialized
 * view would run its owner's definition).
 */
static Relation
open_checked(Oid relid, LOCKMODE lock, bool any_kind)
{
	Relation	rel;
	char		kind;

	rel = try_table_open(relid, lock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	kind = rel->rd_rel->relkind;
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(kind),
					   RelationGetRelationName(rel));
	if (!any_kind && kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", rel_display(relid)),
				 errdetail("Only tables and partitioned tables have rollups.")));
	return rel;
}

/* The argument n of a call as text; an error naming what when it is NULL. */
static char *
text_arg(FunctionCallInfo fcinfo, int n, const char *what)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return TextDatumGetCString(PG_GETARG_DATUM(n));
}

/* Run a statement built here (the caller has switched roles). */
static void
exec_sql(const char *sql, int expect)
{
	if (SPI_execute(sql, false, 0) != expect)
		elog(ERROR, "statement failed: %s", sql);
}

/* ----------------------------------------------------------------------
 * The per-table views
 * ----------------------------------------------------------------------
 */

/*
 * Whether view is one mirai_track made for relid: a view whose rule
 * depends on the table and on the extension's shared view of that kind.
 */
static bool
view_is_ours(const ExtInfo *info, Oid view, Oid relid, int kind)
{
	Oid			shared = get_relname_relid(psprintf("mirai_%s", view_kinds[kind]), info->nsp);
	Oid			at[3] = {OIDOID, OIDOID, OIDOID};
	Datum		v[3];
	bool		isnull;

	if (get_rel_relkind(view) != RELKIND_VIEW || !OidIsValid(shared))
		return false;
	v[0] = ObjectIdGetDatum(view);
	v[1] = ObjectIdGetDatum(relid);
	v[2] = ObjectIdGetDatum(shared);
	if (SPI_execute_with_args("SELECT pg_catalog.count(DISTINCT d.refobjid) "
							  "FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d "
							  "ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass "
							  "AND d.objid OPERATOR(pg_catalog.=) r.oid "
							  "WHERE r.ev_class OPERATOR(pg_catalog.=) $1 "
							  "AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							  "AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[$2, $3])",
							  3, at, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading pg_depend failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									   &isnull)) == 2;
}

/*
 * Make the three per-table views of rel, as its owner: named prefix_mirai_
 * daily, _sources, _countries in the table's schema, commented, and given
 * the table's SELECT grants.  Their OIDs go to views[].
 */
static void
make_views(const ExtInfo *info, Relation rel, const char *prefix, Oid *views)
{
	Oid			relid = RelationGetRelid(rel);
	char	   *nsp = get_namespace_name(RelationGetNamespace(rel));
	char	   *qtable = quote_qualified_identifier(nsp, RelationGetRelationName(rel));
	RoleSwitch	saved;
	int			k;
	uint64		i;
	Oid			at[1] = {OIDOID};
	Datum		v[1];

	for (k = 0; k < 3; k++)
		if (strlen(prefix) + strlen("_mirai_") + strlen(view_kinds[k]) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("view name \"%s_mirai_%s\" is too long", prefix, view_kinds[k]),
					 errdetail("Names are at most %d bytes.", NAMEDATALEN - 1),
					 errhint("Give a shorter view_prefix.")));

	rollup_as_table_owner(relid, &saved);
	/* the table's SELECT grants, to give the views too */
	v[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("SELECT DISTINCT a.grantee FROM pg_catalog.pg_class c, "
							  "LATERAL pg_catalog.aclexplode(c.relacl) a "
							  "WHERE c.oid OPERATOR(pg_catalog.=) $1 "
							  "AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT' "
							  "AND a.grantee OPERATOR(pg_catalog.<>) c.relowner",
							  1, at, v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the table's grants failed");
	{
		SPITupleTable *grants = SPI_tuptable;
		uint64		ngrants = SPI_processed;

		for (k = 0; k < 3; k++)
		{
			char	   *name = psprintf("%s_mirai_%s", prefix, view_kinds[k]);
			char	   *qview = quote_qualified_identifier(nsp, name);

			/*
			 * No security barrier: the shared view shows a role only the
			 * tables it may read already, so this filter hides nothing more,
			 * and without one the planner can flatten it.
			 */
			exec_sql(psprintf("CREATE VIEW %s AS SELECT * FROM %s.%s "
							  "WHERE tbl OPERATOR(pg_catalog.=) %s::pg_catalog.regclass",
							  qview, info->nspname, quote_identifier(psprintf("mirai_%s", view_kinds[k])),
							  quote_literal_cstr(qtable)),
					 SPI_OK_UTILITY);
			exec_sql(psprintf("COMMENT ON VIEW %s IS %s", qview,
							  quote_literal_cstr(psprintf("mirai_%s of table %s (made by mirai_track; GRANT SELECT on it to show the rollups without the raw packets)",
														  view_kinds[k], qtable))),
					 SPI_OK_UTILITY);
			for (i = 0; i < ngrants; i++)
			{
				bool		isnull;
				Oid			grantee = DatumGetObjectId(SPI_getbinval(grants->vals[i], grants->tupdesc,
																	 1, &isnull));

				exec_sql(psprintf("GRANT SELECT ON %s TO %s", qview,
								  grantee == InvalidOid ? "PUBLIC" :
								  quote_identifier(GetUserNameFromId(grantee, false))),
						 SPI_OK_UTILITY);
			}
			views[k] = get_relname_relid(name, RelationGetNamespace(rel));
			if (!OidIsValid(views[k]))
				elog(ERROR, "view \"%s\" was not made", name);
		}
	}
	rollup_role_end(&saved);
}

/*
 * Drop the registered views of a table that mirai_track made for it;
 * whatever else is registered (a view not made for the table, or the table
 * itself, which stands for a view that was dropped) is left alone.
 */
static void
drop_views(const ExtInfo *info, Oid relid, Oid *views)
{
	RoleSwitch	saved;
	int			k;

	for (k = 0; k < 3; k++)
	{
		if (views[k] == relid || !view_is_ours(info, views[k], relid, k))
			continue;
		rollup_as_ext_owner(info, &saved);
		exec_sql(psprintf("DROP VIEW %s",
						  quote_qualified_identifier(get_namespace_name(get_rel_namespace(views[k])),
													 get_rel_name(views[k]))),
				 SPI_OK_UTILITY);
		rollup_role_end(&saved);
	}
}

/* ----------------------------------------------------------------------
 * Triggers, registration, rebuild
 * ----------------------------------------------------------------------
 */

/* Make the triggers of a tracked table (as the extension's owner). */
static void
make_triggers(const ExtInfo *info, Relation rel, bool follow_deletes)
{
	char	   *q = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
											   RelationGetRelationName(rel));
	char	   *fn = psprintf("%s.mirai_rollup_trigger()", info->nspname);
	RoleSwitch	saved;

	/* transition tables cannot be collected through foreign partitions */
	if (fleet_is(RelationGetRelid(rel)))
	{
		fleet_make_triggers(info, RelationGetRelid(rel), follow_deletes);
		return;
	}
	rollup_as_ext_owner(info, &saved);
	exec_sql(psprintf("CREATE TRIGGER mirai_rollup_insert AFTER INSERT ON %s "
					  "REFERENCING NEW TABLE AS mirai_new "
					  "FOR EACH STATEMENT EXECUTE FUNCTION %s", q, fn), SPI_OK_UTILITY);
	exec_sql(psprintf("CREATE TRIGGER mirai_rollup_update AFTER UPDATE ON %s "
					  "REFERENCING OLD TABLE AS mirai_old NEW TABLE AS mirai_new "
					  "FOR EACH STATEMENT EXECUTE FUNCTION %s", q, fn), SPI_OK_UTILITY);
	if (follow_deletes)
	{
		exec_sql(psprintf("CREATE TRIGGER mirai_rollup_delete AFTER DELETE ON %s "
						  "REFERENCING OLD TABLE AS mirai_old "
						  "FOR EACH STATEMENT EXECUTE FUNCTION %s", q, fn), SPI_OK_UTILITY);
		exec_sql(psprintf("CREATE TRIGGER mirai_rollup_truncate AFTER TRUNCATE ON %s "
						  "FOR EACH STATEMENT EXECUTE FUNCTION %s", q, fn), SPI_OK_UTILITY);
	}
	rollup_role_end(&saved);
}

/* Drop the triggers mirai_track made (as the extension's owner). */
static void
drop_triggers(const ExtInfo *info, Relation rel)
{
	char	   *q = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
											   RelationGetRelationName(rel));
	RoleSwitch	saved;
	int			k;

	rollup_as_ext_owner(info, &saved);
	for (k = 0; k < (int) lengthof(trigger_names); k++)
		if (OidIsValid(get_trigger_oid(RelationGetRelid(rel), trigger_names[k], true)))
			exec_sql(psprintf("DROP TRIGGER %s ON %s", trigger_names[k], q), SPI_OK_UTILITY);
	rollup_role_end(&saved);
	fleet_drop_triggers(info, RelationGetRelid(rel));
}

/* Register a table in mirai_tracked. */
static void
register_table(const ExtInfo *info, Oid relid, const char *zone, const char *on_delete,
			   const Oid *views)
{
	Oid			at[6] = {OIDOID, TEXTOID, TEXTOID, OIDOID, OIDOID, OIDOID};
	Datum		v[6];
	int			k;

	v[0] = ObjectIdGetDatum(relid);
	v[1] = CStringGetTextDatum(zone);
	v[2] = CStringGetTextDatum(on_delete);
	for (k = 0; k < 3; k++)
		v[3 + k] = ObjectIdGetDatum(views[k]);
	(void) store_exec(info, psprintf("INSERT INTO %s.mirai_tracked (tbl, time_zone, on_delete, daily_view, "
									 "sources_view, countries_view) VALUES ($1::pg_catalog.oid, $2, $3, "
									 "$4::pg_catalog.oid, $5::pg_catalog.oid, $6::pg_catalog.oid)",
									 info->nspname),
					  6, at, v, NULL, SPI_OK_INSERT);
}

/* Forget a table: its registration and its rollups. */
static uint64
forget_table(const ExtInfo *info, Oid relid)
{
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(relid)};
	uint64		days;

	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_part WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									 info->nspname), 1, at, v, NULL, SPI_OK_DELETE);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									 info->nspname), 1, at, v, NULL, SPI_OK_DELETE);
	days = store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									 info->nspname), 1, at, v, NULL, SPI_OK_DELETE);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									 info->nspname), 1, at, v, NULL, SPI_OK_DELETE);
	scanners_clear(info, relid, PG_INT32_MIN, PG_INT32_MAX);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_tracked WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									 info->nspname), 1, at, v, NULL, SPI_OK_DELETE);
	return days;
}

/* The registered views of a tracked table; false when it is not tracked. */
static bool
tracked_views(const ExtInfo *info, Oid relid, Oid *views)
{
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(relid)};
	RoleSwitch	saved;
	bool		found;
	int			k;

	rollup_as_ext_owner(info, &saved);
	if (SPI_execute_with_args(psprintf("SELECT daily_view, sources_view, countries_view FROM %s.mirai_tracked "
									   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid", info->nspname),
							  1, at, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	found = SPI_processed == 1;
	for (k = 0; found && k < 3; k++)
	{
		bool		isnull;

		views[k] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												  k + 1, &isnull));
	}
	rollup_role_end(&saved);
	return found;
}

static int
cmp_day(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Recompute a tracked table's rollups from its rows: days no longer there
 * go, the others are replaced (countries of entries already stored are
 * kept, new entries are looked up; every one looked up again with
 * countries), the hours and the scanner dimension are counted again.
 * Returns the number of (day, source, port) entries.
 */
static int64
rebuild(const ExtInfo *info, Relation rel, bool countries)
{
	Oid			relid = RelationGetRelid(rel);
	Tracked		t;
	RollupAgg  *agg;
	DayEntry   *e;
	HourCount  *h;
	ScanEntry  *sc;
	int32	   *days;
	int			n,
				nh,
				nsc,
				ndays = 0,
				i;

	if (!read_tracked(info, relid, &t))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not tracked", rel_display(relid)),
				 errhint("Use SELECT mirai_track('%s').", rel_display(relid))));
	t.attnum = rollup_packet_column(RelationGetDescr(rel), info->packet_type, relid);
	agg = agg_create(rollup_zone(t.time_zone), 0);
	agg_table(agg, info, relid, t.attnum);
	e = agg_entries(agg, &n);
	h = agg_hours(agg, 1, &nh);
	sc = agg_scanners(agg, &nsc);
	days = palloc(sizeof(int32) * Max(n, 1));
	for (i = 0; i < n; i++)
		if (i == 0 || e[i].day != e[i - 1].day)
			days[ndays++] = e[i].day;
	qsort(days, ndays, sizeof(int32), cmp_day);
	clear_rollups(info, relid, false, days, ndays);
	/* a fleet table's partitions made since it was tracked count their rows */
	if (fleet_tracked_by_rows(relid))
		fleet_flush_triggers(info, relid);
	replace_days(info, relid, days, ndays, e, n,
				 country_lookup(countries ? COUNTRIES_FRESH : COUNTRIES_KEEP));
	write_hours(info, relid, h, nh);
	dict_rebuild(info, relid);
	/* clear_rollups cleared the scanner dimension */
	scanners_apply(info, relid, sc, nsc);
	return n;
}

/* ----------------------------------------------------------------------
 * The SQL functions
 * ----------------------------------------------------------------------
 */

/*
 * mirai_track(tbl regclass, time_zone text = 'UTC', on_delete text =
 * 'follow', view_prefix text = NULL): register, make the views and the
 * triggers, backfill from the rows already there.
 */
PG_FUNCTION_INFO_V1(mirai_track);
Datum
mirai_track(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *zone,
			   *on_delete;
	const char *prefix;
	Relation	rel;
	ExtInfo		info;
	Oid			views[3];
	Oid			at[1] = {TEXTOID};
	Datum		v[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	relid = PG_GETARG_OID(0);
	zone = text_arg(fcinfo, 1, "time_zone");
	on_delete = text_arg(fcinfo, 2, "on_delete");
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	rel = open_checked(relid, ShareRowExclusiveLock, false);
	prefix = PG_ARGISNULL(3) ? RelationGetRelationName(rel) : text_to_cstring(PG_GETARG_TEXT_PP(3));
	(void) rollup_packet_column(RelationGetDescr(rel), info.packet_type, relid);
	if (strcmp(on_delete, "follow") != 0 && strcmp(on_delete, "keep") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("on_delete must be 'follow' or 'keep', not %s", quote_literal_cstr(on_delete)),
				 errhint("'follow': DELETE, UPDATE and TRUNCATE update the rollups; 'keep': rollups stay as history.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	v[0] = CStringGetTextDatum(zone);
	if (SPI_execute_with_args("SELECT FROM pg_catalog.pg_timezone_names z WHERE z.name OPERATOR(pg_catalog.=) $1",
							  1, at, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading pg_timezone_names failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone %s not recognized", quote_literal_cstr(zone)),
				 errhint("Use a name from pg_timezone_names, such as 'UTC' or 'Asia/Tokyo'.")));
	if (tracked_views(&info, relid, views))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already tracked", rel_display(relid)),
				 errhint("Use mirai_untrack first to change its settings.")));

	make_views(&info, rel, prefix, views);
	make_triggers(&info, rel, strcmp(on_delete, "follow") == 0);
	{
		const char *db = GetConfigOption("mirai_ext.geoip_database", true, false);

		if (db == NULL || db[0] == '\0')
			ereport(NOTICE,
					(errmsg("no GeoIP database configured: the country of the sources of \"%s\" is stored as NULL",
							rel_display(relid)),
					 errhint("Set mirai_ext.geoip_database before loading for countries; rollups keep the country a packet had when it arrived.")));
	}
	/* rows an earlier table of this OID left behind are not this table's */
	(void) forget_table(&info, relid);
	register_table(&info, relid, zone, on_delete, views);
	(void) rebuild(&info, rel, false);
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* mirai_untrack(tbl regclass): drop the triggers, the views, the rollups. */
PG_FUNCTION_INFO_V1(mirai_untrack);
Datum
mirai_untrack(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	ExtInfo		info;
	Oid			views[3];

	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	/* any kind: a table made into something else can still be untracked */
	rel = open_checked(relid, AccessExclusiveLock, true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!tracked_views(&info, relid, views))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table \"%s\" is not tracked", rel_display(relid))));
	drop_triggers(&info, rel);
	drop_views(&info, relid, views);
	(void) forget_table(&info, relid);
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * mirai_rebuild(tbl regclass [, countries boolean]): recompute the rollups
 * from the rows; with countries, the country of every source from the
 * GeoIP database configured now.
 */
PG_FUNCTION_INFO_V1(mirai_rebuild);
Datum
mirai_rebuild(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	bool		countries = PG_NARGS() > 1 && PG_GETARG_BOOL(1);
	Relation	rel;
	ExtInfo		info;
	int64		n;

	if (countries && !mirai_geoip_available(false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no GeoIP database is configured to take the countries from"),
				 errhint("Set mirai_ext.geoip_database first.")));
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	/* the same lock loaders take: wait for them, keep new ones out */
	rel = open_checked(relid, ShareRowExclusiveLock, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = rebuild(&info, rel, countries);
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_INT64(n);
}

/*
 * mirai_rebuild_scanners(tbl regclass, from date = NULL, to date = NULL):
 * recompute the scanner dimension of the days [from, to] of the table's
 * zone (NULL: unbounded) from the rows, as the catalogue compiled into the
 * library now classifies them: what a catalogue change asks for.  Only rows
 * whose packet_time lies in or around those days are read (agg_table); only
 * those days are written.  Returns the (day, scanner) rows written.
 */
PG_FUNCTION_INFO_V1(mirai_rebuild_scanners);
Datum
mirai_rebuild_scanners(PG_FUNCTION_ARGS)
{
	Oid			relid;
	int32		from = PG_ARGISNULL(1) ? PG_INT32_MIN : PG_GETARG_DATEADT(1);
	int32		to = PG_ARGISNULL(2) ? PG_INT32_MAX : PG_GETARG_DATEADT(2);
	Relation	rel;
	ExtInfo		info;
	Tracked		t;
	RollupAgg  *agg;
	ScanEntry  *sc;
	int			nsc,
				i;
	int64		rows = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	relid = PG_GETARG_OID(0);
	if (from > to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the range of days to rebuild is empty"),
				 errdetail("\"from\" is after \"to\".")));
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	/* the same lock loaders take: wait for them, keep new ones out */
	rel = open_checked(relid, ShareRowExclusiveLock, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rollup_require_scanners(&info);
	if (!read_tracked(&info, relid, &t))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not tracked", rel_display(relid)),
				 errhint("Use SELECT mirai_track('%s').", rel_display(relid))));
	t.attnum = rollup_packet_column(RelationGetDescr(rel), info.packet_type, relid);
	agg = agg_create(rollup_zone(t.time_zone), 0);
	agg_only_scanners(agg, from, to);
	agg_table(agg, &info, relid, t.attnum);
	sc = agg_scanners(agg, &nsc);
	scanners_clear(&info, relid, from, to);
	scanners_apply(&info, relid, sc, nsc);
	for (i = 0; i < nsc; i++)
		if (i == 0 || sc[i].key.day != sc[i - 1].key.day || sc[i].key.scanner != sc[i - 1].key.scanner)
			rows++;
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_INT64(rows);
}

/*
 * mirai_rollup_admin(tbl, action, time_zone, on_delete, daily_view,
 * sources_view, countries_view): what the 0.1.0 SQL functions call.
 * 'track' registers a table whose views and triggers the caller made (the
 * views must be views mirai_track would make: owned by the table's owner,
 * on the table and the shared view) and backfills; 'untrack' forgets it;
 * 'rebuild' recomputes; 'clear' removes the rollups.
 */
PG_FUNCTION_INFO_V1(mirai_rollup_admin);
Datum
mirai_rollup_admin(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *action;
	bool		tracking;
	Relation	rel;
	ExtInfo		info;
	int64		result = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and action must not be null")));
	relid = PG_GETARG_OID(0);
	action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	tracking = strcmp(action, "track") == 0;
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	rel = open_checked(relid, ShareRowExclusiveLock,
					   strcmp(action, "untrack") == 0 || strcmp(action, "clear") == 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (tracking)
	{
		Oid			views[3];
		char	   *zone,
				   *on_delete;
		int			k;

		if (PG_NARGS() < 7)
			elog(ERROR, "mirai_rollup_admin track needs 7 arguments");
		zone = text_arg(fcinfo, 2, "time_zone");
		on_delete = text_arg(fcinfo, 3, "on_delete");
		(void) rollup_zone(zone);
		(void) rollup_packet_column(RelationGetDescr(rel), info.packet_type, relid);
		if (strcmp(on_delete, "follow") != 0 && strcmp(on_delete, "keep") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("on_delete must be 'follow' or 'keep', not %s", quote_literal_cstr(on_delete))));
		for (k = 0; k < 3; k++)
		{
			if (PG_ARGISNULL(4 + k))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s_view must not be null", view_kinds[k])));
			views[k] = PG_GETARG_OID(4 + k);
			if (!view_is_ours(&info, views[k], relid, k) ||
				rel_owner(views[k]) != rel->rd_rel->relowner)
				ereport(ERROR,
						(errcode(ERRCODE_WRONG_OBJECT_TYPE),
						 errmsg("relation with OID %u is not a %s view of table \"%s\"",
								views[k], view_kinds[k], RelationGetRelationName(rel)),
						 errdetail("The views of a tracked table are made by mirai_track, owned by the table's owner.")));
		}
		(void) forget_table(&info, relid);
		register_table(&info, relid, zone, on_delete, views);
		result = rebuild(&info, rel, false);
	}
	else if (strcmp(action, "untrack") == 0)
		result = forget_table(&info, relid);
	else if (strcmp(action, "rebuild") == 0)
		result = rebuild(&info, rel, false);
	else if (strcmp(action, "clear") == 0)
		clear_rollups(&info, relid, false, NULL, 0);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rollup action \"%s\"", action)));
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_INT64(result);
}

/*
 * mirai_rollup_split_days(): what the update to 0.2.0 runs once, as the
 * extension's owner: every day row's packed entries (the entries column of
 * 0.1.x) are written as parts (mirai_rollup_part) with the countries they
 * have, and the day's totals recomputed from them.  Returns the days.
 */
PG_FUNCTION_INFO_V1(mirai_rollup_split_days);
Datum
mirai_rollup_split_days(PG_FUNCTION_ARGS)
{
	ExtInfo		info;
	Portal		portal;
	SPIPlanPtr	plan;
	int64		days = 0;
	MemoryContext cxt,
				old;

	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(psprintf("SELECT tbl::pg_catalog.oid, day, entries FROM %s.mirai_rollup_day "
								"ORDER BY tbl, day", info.nspname), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "mirai_rollup_split_days", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		isnull;
		Oid			relid;
		int32		day;
		bytea	   *b;
		DayEntry   *e;
		int			n;

		SPI_cursor_fetch(portal, true, 1);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(cxt);
		relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		b = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		e = entries_unpack(b, day, &n);
		SPI_freetuptable(SPI_tuptable);
		replace_days(&info, relid, &day, 1, e, n, country_lookup(COUNTRIES_GIVEN));
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
		days++;
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	/* each tracked table's source dictionary, from its parts */
	if (SPI_execute(psprintf("SELECT tbl::pg_catalog.oid FROM %s.mirai_tracked ORDER BY 1", info.nspname),
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		ntt = SPI_processed,
					r;

		for (r = 0; r < ntt; r++)
		{
			bool		isnull;

			dict_rebuild(&info, DatumGetObjectId(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull)));
		}
	}
	SPI_finish();
	PG_RETURN_INT64(days);
}
