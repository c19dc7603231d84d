/*-------------------------------------------------------------------------
 *
 * rollup_store.c
 *		The rollup tables: the statements that read and write them, the
 *		settings of tracked tables, hourly counts, clearing.
 *
 *	mirai_rollup_hour	(tbl, hour) -> Mirai packets, all packets; UTC hours,
 *						upserted with ON CONFLICT in hour order;
 *	mirai_rollup_day	(tbl, day)	-> Mirai packets, distinct sources, packets
 *						per country, and how the day's entries are split;
 *	mirai_rollup_part	(tbl, day, part) -> the packed (source, destination
 *						port) entries of the sources whose hash falls in the
 *						part (rollup_day.c).
 *
 * Every statement is prepared once per backend (and again when the
 * extension's schema is not the one it was made for), names its objects
 * and operators with their schema, and runs as the rollup tables' owner
 * (rollup_as_ext_owner): the exported functions switch themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"
#include "rollup.h"

static RollupPlans plans;

/* SPI_prepare and SPI_keepplan, or an error. */
SPIPlanPtr
rollup_keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

	if (p == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(p) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return p;
}

/* Make the statements, unless they exist for this schema; returns them. */
const RollupPlans *
rollup_plans(const ExtInfo *info)
{
	Oid			t_oid[1] = {OIDOID};
	Oid			t_day[2] = {OIDOID, DATEOID};
	Oid			t_dayins[3] = {OIDOID, DATEOID, INT4OID};
	Oid			t_dayrow[9] = {OIDOID, DATEOID, INT8OID, INT8OID, TEXTARRAYOID, INT8ARRAYOID, INT4OID, INT8OID, BYTEAOID};
	Oid			t_part[3] = {OIDOID, DATEOID, INT4OID};
	Oid			t_partrow[6] = {OIDOID, DATEOID, INT4OID, INT4OID, BYTEAOID, BYTEAOID};
	Oid			t_hours[4] = {OIDOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Oid			t_range[4] = {OIDOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			t_days[2] = {OIDOID, DATEARRAYOID};
	const char *n = info->nspname;
	SPIPlanPtr *all[] = {&plans.tracked, &plans.day_lock, &plans.day_insert,
		&plans.day_update, &plans.part_lock, &plans.part_upsert, &plans.part_delete,
		&plans.parts_lock, &plans.part_read, &plans.bloom_read, &plans.parts_read, &plans.hours_add,
		&plans.hours_prune, &plans.range_tables, &plans.range_days, &plans.range_parts};
	int			i;

	if (plans.valid && strcmp(plans.nspname, n) == 0)
		return &plans;
	rollup_require_current(info);
	if (strlen(n) >= sizeof(plans.nspname))
		elog(ERROR, "schema name too long");
	plans.valid = false;
	for (i = 0; i < (int) lengthof(all); i++)
		if (*all[i])
			SPI_freeplan(*all[i]);
	memset(&plans, 0, sizeof(plans));

	plans.tracked = rollup_keep_plan(psprintf("SELECT time_zone, on_delete OPERATOR(pg_catalog.=) 'follow' "
									   "FROM %s.mirai_tracked WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid", n),
							  1, t_oid);
	plans.day_lock = rollup_keep_plan(psprintf("SELECT packets, sources, countries, country_packets, parts, nentries, top "
										"FROM %s.mirai_rollup_day "
										"WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										"AND day OPERATOR(pg_catalog.=) $2 FOR UPDATE", n),
							   2, t_day);
	plans.day_insert = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_day (tbl, day, packets, sources, "
										  "countries, country_packets, parts, nentries) "
										  "VALUES ($1::pg_catalog.oid, $2, 0, 0, '{}', '{}', $3, 0) "
										  "ON CONFLICT (tbl, day) DO NOTHING", n),
								 3, t_dayins);
	plans.day_update = rollup_keep_plan(psprintf("UPDATE %s.mirai_rollup_day SET packets = $3, sources = $4, "
										  "countries = $5, country_packets = $6, parts = $7, nentries = $8, top = $9 "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.=) $2", n),
								 9, t_dayrow);
	plans.part_lock = rollup_keep_plan(psprintf("SELECT entries FROM %s.mirai_rollup_part "
										 "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										 "AND day OPERATOR(pg_catalog.=) $2 "
										 "AND part OPERATOR(pg_catalog.=) $3 FOR UPDATE", n),
								3, t_part);
	plans.part_upsert = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_part AS p (tbl, day, part, sources, entries, bloom) "
										   "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6) "
										   "ON CONFLICT (tbl, day, part) DO UPDATE SET "
										   "sources = excluded.sources, entries = excluded.entries, bloom = excluded.bloom", n),
								  6, t_partrow);
	plans.part_delete = rollup_keep_plan(psprintf("DELETE FROM %s.mirai_rollup_part "
										   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										   "AND day OPERATOR(pg_catalog.=) $2 "
										   "AND part OPERATOR(pg_catalog.=) $3", n),
								  3, t_part);
	plans.parts_lock = rollup_keep_plan(psprintf("SELECT part, entries FROM %s.mirai_rollup_part "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.=) $2 ORDER BY part FOR UPDATE", n),
								 2, t_day);
	plans.part_read = rollup_keep_plan(psprintf("SELECT entries FROM %s.mirai_rollup_part "
										 "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										 "AND day OPERATOR(pg_catalog.=) $2 "
										 "AND part OPERATOR(pg_catalog.=) $3", n),
								3, t_part);
	plans.bloom_read = rollup_keep_plan(psprintf("SELECT bloom FROM %s.mirai_rollup_part "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.=) $2 "
										  "AND part OPERATOR(pg_catalog.=) $3", n),
								 3, t_part);
	plans.parts_read = rollup_keep_plan(psprintf("SELECT entries FROM %s.mirai_rollup_part "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.=) $2", n),
								 2, t_day);
	plans.hours_add = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_hour AS h (tbl, hour, packets, all_packets) "
										 "SELECT $1::pg_catalog.oid, u.hour, u.m, u.a "
										 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), "
										 "pg_catalog.unnest($4)) AS u(hour, m, a) ORDER BY u.hour "
										 "ON CONFLICT (tbl, hour) DO UPDATE SET "
										 "packets = h.packets OPERATOR(pg_catalog.+) excluded.packets, "
										 "all_packets = h.all_packets OPERATOR(pg_catalog.+) excluded.all_packets", n),
								4, t_hours);
	plans.hours_prune = rollup_keep_plan(psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										   "AND hour OPERATOR(pg_catalog.=) ANY ($2) AND all_packets OPERATOR(pg_catalog.=) 0", n),
								  2, t_hours);
	plans.range_tables = rollup_keep_plan(psprintf("SELECT tbl::pg_catalog.oid, time_zone, sources_view::pg_catalog.oid "
											"FROM %s.mirai_tracked WHERE $1 IS NULL OR tbl OPERATOR(pg_catalog.=) $1 "
											"ORDER BY tbl", n),
								   1, t_oid);
	/* the days whose start is in [$3, $4) of zone $2 (the date bounds let the index narrow them) */
	plans.range_days = rollup_keep_plan(psprintf("SELECT day, packets, parts, top FROM %s.mirai_rollup_day "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.>=) (($3 AT TIME ZONE $2)::pg_catalog.date OPERATOR(pg_catalog.-) 1) "
										  "AND day OPERATOR(pg_catalog.<=) (($4 AT TIME ZONE $2)::pg_catalog.date OPERATOR(pg_catalog.+) 1) "
										  "AND %s.mirai_day_start(day, $2) OPERATOR(pg_catalog.>=) $3 "
										  "AND %s.mirai_day_start(day, $2) OPERATOR(pg_catalog.<) $4 "
										  "AND packets OPERATOR(pg_catalog.>) 0 ORDER BY day", n, n, n),
								 4, t_range);
	plans.range_parts = rollup_keep_plan(psprintf("SELECT day, part, xmin, ctid FROM %s.mirai_rollup_part "
										   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										   "AND day OPERATOR(pg_catalog.=) ANY ($2)", n),
								  2, t_days);
	strlcpy(plans.nspname, n, sizeof(plans.nspname));
	plans.valid = true;
	return &plans;
}

/* Run one statement as the extension's owner; error unless it returns expect. */
uint64
store_exec(const ExtInfo *info, const char *sql, int nargs, Oid *argtypes,
		   Datum *values, const char *nulls, int expect)
{
	RoleSwitch	saved;
	uint64		n;

	rollup_require_current(info);
	rollup_as_ext_owner(info, &saved);
	if (SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0) != expect)
		elog(ERROR, "statement failed: %s", sql);
	n = SPI_processed;
	rollup_role_end(&saved);
	return n;
}

/* Read the tracked table's settings; false when it is not tracked. */
bool
read_tracked(const ExtInfo *info, Oid relid, Tracked *t)
{
	Datum		values[1];
	bool		isnull;
	RoleSwitch	saved;
	bool		found;

	rollup_as_ext_owner(info, &saved);
	(void) rollup_plans(info);
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_plan(plans.tracked, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_tracked failed");
	found = SPI_processed > 0;
	if (found)
	{
		t->relid = relid;
		t->time_zone = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		t->follow_deletes = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 2, &isnull));
	}
	rollup_role_end(&saved);
	return found;
}

/*
 * The settings of tracked tables as their triggers last saw them, by the
 * trigger's OID: mirai_tracked changes only through mirai_track and
 * mirai_untrack, which make and drop the triggers, so a trigger's table
 * keeps the settings it had when the trigger was made.
 */
#define TRACKED_CACHE_SIZE 16
typedef struct TrackedCacheEntry
{
	Oid			tgoid;
	Oid			relid;
	bool		follow_deletes;
	char		time_zone[TZ_STRLEN_MAX + 1];
} TrackedCacheEntry;

static TrackedCacheEntry tracked_cache[TRACKED_CACHE_SIZE];
static int	tracked_cache_next;

/* read_tracked for the table of a trigger, cached per trigger. */
bool
trigger_tracked(const ExtInfo *info, Oid tgoid, Oid relid, Tracked *t)
{
	TrackedCacheEntry *c;
	int			i;

	for (i = 0; i < TRACKED_CACHE_SIZE; i++)
	{
		c = &tracked_cache[i];
		if (c->tgoid == tgoid && c->relid == relid && OidIsValid(tgoid))
		{
			t->relid = relid;
			t->time_zone = c->time_zone;
			t->follow_deletes = c->follow_deletes;
			return true;
		}
	}
	if (!read_tracked(info, relid, t))
		return false;
	if (strlen(t->time_zone) <= TZ_STRLEN_MAX)
	{
		c = &tracked_cache[tracked_cache_next];
		tracked_cache_next = (tracked_cache_next + 1) % TRACKED_CACHE_SIZE;
		c->tgoid = tgoid;
		c->relid = relid;
		c->follow_deletes = t->follow_deletes;
		strlcpy(c->time_zone, t->time_zone, sizeof(c->time_zone));
	}
	return true;
}

/*
 * Add signed hourly counts (sorted by hour); hours left with no packet are
 * removed.
 */
void
write_hours(const ExtInfo *info, Oid relid, HourCount *h, int n)
{
	Datum	   *hd,
			   *md,
			   *ad;
	Datum		values[4];
	bool		negative = false;
	RoleSwitch	saved;
	int			j;

	if (n == 0)
		return;
	hd = palloc(sizeof(Datum) * n);
	md = palloc(sizeof(Datum) * n);
	ad = palloc(sizeof(Datum) * n);
	for (j = 0; j < n; j++)
	{
		hd[j] = TimestampTzGetDatum((TimestampTz) (h[j].hour * US_PER_HOUR -
												   (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY));
		md[j] = Int64GetDatum(h[j].mirai);
		ad[j] = Int64GetDatum(h[j].all);
		negative |= h[j].all < 0;
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(construct_array(hd, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(md, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(ad, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	rollup_as_ext_owner(info, &saved);
	(void) rollup_plans(info);
	if (SPI_execute_plan(plans.hours_add, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "upserting mirai_rollup_hour failed");
	if (negative &&
		SPI_execute_plan(plans.hours_prune, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting from mirai_rollup_hour failed");
	rollup_role_end(&saved);
}

/*
 * Remove a table's rollups: every day (row and parts) but keep_days
 * (sorted; all when nkeep is 0), and unless days_only every hour row, the
 * source dictionary and the scanner dimension.
 */
void
clear_rollups(const ExtInfo *info, Oid relid, bool days_only,
			  const int32 *keep_days, int nkeep)
{
	Oid			at[2] = {OIDOID, DATEARRAYOID};
	Datum		v[2];
	Datum	   *dd = palloc(sizeof(Datum) * Max(nkeep, 1));
	int			i;

	for (i = 0; i < nkeep; i++)
		dd[i] = DateADTGetDatum(keep_days[i]);
	v[0] = ObjectIdGetDatum(relid);
	v[1] = PointerGetDatum(construct_array(dd, nkeep, DATEOID, 4, true, TYPALIGN_INT));
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_part WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
									 "AND NOT (day OPERATOR(pg_catalog.=) ANY ($2))", info->nspname),
					  2, at, v, NULL, SPI_OK_DELETE);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
									 "AND NOT (day OPERATOR(pg_catalog.=) ANY ($2))", info->nspname),
					  2, at, v, NULL, SPI_OK_DELETE);
	if (!days_only)
	{
		(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
										 info->nspname),
						  1, at, v, NULL, SPI_OK_DELETE);
		(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_dict WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
										 info->nspname),
						  1, at, v, NULL, SPI_OK_DELETE);
		scanners_clear(info, relid, PG_INT32_MIN, PG_INT32_MAX);
	}
}

/*
 * Call fn with the unpacked entries of every part of a table's days (of
 * days[0..ndays), or of every day when days is NULL), days in ascending
 * order (read_only: from the statement's snapshot, as a query does; else
 * after this transaction's latest writes).  Each part's entries are freed
 * after its call.  Runs as whoever calls it.
 */
void
parts_foreach(const ExtInfo *info, Oid relid, const int32 *days, int ndays, bool read_only,
			  PartFn fn, void *arg)
{
	Oid			at[2] = {OIDOID, DATEARRAYOID};
	Datum		v[2];
	MemoryContext caller = CurrentMemoryContext;	/* SPI calls leave their own */
	MemoryContext part_cxt = AllocSetContextCreate(caller, "mirai_ext part",
												   ALLOCSET_DEFAULT_SIZES);
	Portal		portal;

	v[0] = ObjectIdGetDatum(relid);
	if (days != NULL)
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(ndays, 1));
		int			i;

		for (i = 0; i < ndays; i++)
			d[i] = DateADTGetDatum(days[i]);
		v[1] = PointerGetDatum(construct_array(d, ndays, DATEOID, 4, true, TYPALIGN_INT));
	}
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT day, entries FROM %s.mirai_rollup_part "
												"WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid %s"
												"ORDER BY day, part", info->nspname,
												days ? "AND day OPERATOR(pg_catalog.=) ANY ($2) " : ""),
									   days ? 2 : 1, at, v, NULL, read_only, CURSOR_OPT_NO_SCROLL);
	for (;;)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, 64);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			HeapTuple	tup = SPI_tuptable->vals[r];
			int32		day = DatumGetDateADT(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			int			n;
			DayEntry   *e;

			MemoryContextSwitchTo(part_cxt);
			e = entries_unpack(DatumGetByteaPP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)),
							   day, &n);
			MemoryContextSwitchTo(caller);
			fn(day, e, n, arg);
			MemoryContextReset(part_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(part_cxt);
}
