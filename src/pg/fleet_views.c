/*-------------------------------------------------------------------------
 *
 * fleet_views.c
 *		What the rollup views call for a fleet table.
 *
 *	mirai_is_fleet(tbl) -> boolean
 *		whether a partition of tbl's tree is a foreign table: the views
 *		read such a table's rollups here and not from the rollup tables;
 *	mirai_fleet_days(tbl, what) -> (day, packets, sources, new_sources)
 *		what 'sources': the days and their packets, summed over the
 *		members (cheap: no entries move); 'daily': with the distinct
 *		sources of each day; 'new_sources': also how many were first seen
 *		that day;
 *	mirai_fleet_countries(tbl) -> (day, country, packets)
 *	mirai_fleet_hours(tbl) -> ("time", packets, all_packets)
 *	mirai_fleet_entries(tbl, day) -> bytea
 *		the day's entries merged over the members, packed as a part is
 *		(mirai_day_sources reads them).
 *
 * Each is callable by any role and shows what the views would: nothing of
 * a table whose rollups of that kind the role may not read (mirai_may_read
 * with the per-table view of the kind), and it reads the sensors with the
 * role's own user mappings (fleet_remote.c).  They are STABLE (one
 * statement sees one snapshot of each sensor) and PARALLEL RESTRICTED
 * (postgres_fdw's connections are the leader's).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/* The days a packet can be on (times are int64 nanoseconds since 1970). */
#define FLEET_FIRST_DAY		(-118000)	/* 1676-12-09 */
#define FLEET_LAST_DAY		96000		/* 2262-11-02 */

/* May the current role read the rollups of relid, through handle? (mirai_may_read) */
bool
fleet_may_read(Oid relid, Oid handle)
{
	Oid			user = GetUserId();

	return pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK ||
		(OidIsValid(handle) && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(handle)) &&
		 pg_class_aclcheck(handle, user, ACL_SELECT) == ACLCHECK_OK);
}

/*
 * May the current role read the rollups of the tracked table relid, through
 * its per-table view of kind handle ("daily", "sources" or "countries")?
 * Reads mirai_tracked as the extension's owner (SPI must be connected);
 * false when relid is not tracked.  *zone, when zone is not NULL, gets the
 * table's time zone, in the caller's memory context.
 */
bool
rollup_may_read(const ExtInfo *info, Oid relid, const char *handle, char **zone)
{
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(relid)};
	RoleSwitch	saved;
	MemoryContext cxt = CurrentMemoryContext;
	bool		isnull,
				may;

	rollup_as_ext_owner(info, &saved);
	if (SPI_execute_with_args(psprintf("SELECT time_zone, %s_view::pg_catalog.oid FROM %s.mirai_tracked "
									   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
									   handle, info->nspname),
							  1, at, v, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	rollup_role_end(&saved);
	/* SPI leaves its own context current */
	MemoryContextSwitchTo(cxt);
	if (SPI_processed == 0)
		return false;
	{
		Datum		h = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		may = fleet_may_read(relid, isnull ? InvalidOid : DatumGetObjectId(h));
	}
	if (may && zone != NULL)
		*zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return may;
}

PG_FUNCTION_INFO_V1(mirai_is_fleet);
Datum
mirai_is_fleet(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(fleet_is(PG_GETARG_OID(0)));
}

/* Connect SPI and open a fleet table (NULL: nothing to show). */
static Fleet *
open_read(FunctionCallInfo fcinfo, ExtInfo *info, FleetRead read)
{
	Oid			relid = PG_GETARG_OID(0);

	rollup_ext_info(fcinfo->flinfo->fn_oid, info);
	rollup_require_current(info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!fleet_is(relid))
		return NULL;
	return fleet_open(info, relid, read);
}

/* mirai_fleet_days(tbl regclass, what text) */
PG_FUNCTION_INFO_V1(mirai_fleet_days);
Datum
mirai_fleet_days(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *what = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ExtInfo		info;
	Fleet	   *f;
	FleetRead	read;
	int			i;

	if (strcmp(what, "daily") == 0)
		read = FLEET_READ_DAILY;
	else if (strcmp(what, "sources") == 0 || strcmp(what, "new_sources") == 0)
		read = FLEET_READ_SOURCES;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("what must be 'daily', 'sources' or 'new_sources', not %s",
						quote_literal_cstr(what))));
	InitMaterializedSRF(fcinfo, 0);
	f = open_read(fcinfo, &info, read);
	if (f != NULL && strcmp(what, "sources") == 0)
	{
		int			n;
		FleetCount *c = fleet_day_packets(f, &n);

		c = fleet_sum_counts(c, n, false, &n);
		for (i = 0; i < n; i++)
		{
			Datum		values[4] = {DateADTGetDatum(c[i].day), Int64GetDatum(c[i].packets)};
			bool		nulls[4] = {false, false, true, true};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	else if (f != NULL)
	{
		int			nparts,
					ndays;
		FleetPart  *parts = fleet_parts(f, FLEET_FIRST_DAY, FLEET_LAST_DAY, &nparts);
		FleetDay   *d = fleet_count_sources(f, parts, nparts, read == FLEET_READ_SOURCES, &ndays);

		for (i = 0; i < ndays; i++)
		{
			Datum		values[4] = {DateADTGetDatum(d[i].day), Int64GetDatum(d[i].packets),
			Int64GetDatum(d[i].sources), Int64GetDatum(d[i].new_sources)};
			bool		nulls[4] = {false, false, false, read != FLEET_READ_SOURCES};

			if (d[i].packets > 0)
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	if (f != NULL)
		fleet_release(f);
	SPI_finish();
	return (Datum) 0;
}

/* mirai_fleet_countries(tbl regclass) */
PG_FUNCTION_INFO_V1(mirai_fleet_countries);
Datum
mirai_fleet_countries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ExtInfo		info;
	Fleet	   *f;

	InitMaterializedSRF(fcinfo, 0);
	f = open_read(fcinfo, &info, FLEET_READ_COUNTRIES);
	if (f != NULL)
	{
		int			n,
					i;
		FleetCount *c = fleet_day_countries(f, &n);

		c = fleet_sum_counts(c, n, true, &n);
		for (i = 0; i < n; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, c[i].country[0] == '\0', false};

			values[0] = DateADTGetDatum(c[i].day);
			values[1] = nulls[1] ? (Datum) 0 : CStringGetTextDatum(c[i].country);
			values[2] = Int64GetDatum(c[i].packets);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		fleet_release(f);
	}
	SPI_finish();
	return (Datum) 0;
}

/* mirai_fleet_hours(tbl regclass) */
PG_FUNCTION_INFO_V1(mirai_fleet_hours);
Datum
mirai_fleet_hours(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ExtInfo		info;
	Fleet	   *f;

	InitMaterializedSRF(fcinfo, 0);
	f = open_read(fcinfo, &info, FLEET_READ_HOURS);
	if (f != NULL)
	{
		int			n,
					i;
		HourCount  *h = fleet_hours(f, &n);

		h = fleet_sum_hours(h, n, &n);
		for (i = 0; i < n; i++)
		{
			Datum		values[3] = {TimestampTzGetDatum(h[i].hour), Int64GetDatum(h[i].mirai),
			Int64GetDatum(h[i].all)};
			bool		nulls[3] = {false, false, false};

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		fleet_release(f);
	}
	SPI_finish();
	return (Datum) 0;
}

/* What mirai_fleet_entries keeps between calls of one statement. */
typedef struct EntriesCache
{
	Oid			relid;
	Fleet	   *fleet;			/* NULL: nothing to show */
} EntriesCache;

/*
 * mirai_fleet_entries(tbl regclass, day date): the day's merged entries,
 * NULL when it has none.  The views call it once per day: the sensors are
 * connected to and checked once per statement (the fleet is kept with the
 * call), and each call reads that day's parts.
 */
PG_FUNCTION_INFO_V1(mirai_fleet_entries);
Datum
mirai_fleet_entries(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int32		day = PG_GETARG_DATEADT(1);
	EntriesCache *cache = fcinfo->flinfo->fn_extra;
	MemoryContext caller = CurrentMemoryContext;
	bytea	   *result = NULL;
	ExtInfo		info;

	if (cache == NULL)
		cache = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(EntriesCache));
	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	rollup_require_current(&info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (cache->relid != relid)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		ExtInfo    *kept = palloc(sizeof(ExtInfo));

		if (cache->fleet != NULL)
			fleet_release(cache->fleet);
		*kept = info;
		kept->nspname = pstrdup(info.nspname);
		cache->fleet = fleet_is(relid) ? fleet_open(kept, relid, FLEET_READ_SOURCES) : NULL;
		if (cache->fleet != NULL)
			fleet_release(cache->fleet);
		cache->relid = relid;
		MemoryContextSwitchTo(old);
	}
	if (cache->fleet != NULL && day >= FLEET_FIRST_DAY && day <= FLEET_LAST_DAY)
	{
		int			nparts,
					n;
		FleetPart  *parts = fleet_parts(cache->fleet, day, day, &nparts);
		DayEntry   *e = fleet_merge_day(cache->fleet, parts, nparts, &n);

		if (n > 0)
		{
			bytea	   *b = entries_pack_value(e, n);
			MemoryContext old = MemoryContextSwitchTo(caller);

			result = palloc(VARSIZE(b));
			memcpy(result, b, VARSIZE(b));
			MemoryContextSwitchTo(old);
		}
		fleet_release(cache->fleet);
	}
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}
