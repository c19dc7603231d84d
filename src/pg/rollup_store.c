/*-------------------------------------------------------------------------
 *
 * rollup_store.c
 *		The rollup rows: day rows merged and written back, hourly counts.
 *
 *	mirai_rollup_hour	(tbl, hour) -> Mirai packets, all packets; UTC hours,
 *						upserted with ON CONFLICT in hour order;
 *	mirai_rollup_day	(tbl, day)	-> Mirai packets, distinct sources, packets
 *						per country, and "entries": one packed record per
 *						(source, destination port) seen that day with its
 *						packets, first and last time and country
 *						(src/decode/mx_entries.h).  Days are days of the
 *						table's time zone.
 *
 * Why a packed day row and not a row per (day, source): measured on the
 * study's shape (1.47 M Mirai packets, 306 k (day, source) pairs), COPY
 * loads the 1.84 M packets in about 0.75 s; upserting 306 k pairs costs
 * more than that on its own.  One UPDATE per day touched keeps the cost a
 * fraction of the load; the statements are prepared once per backend.
 *
 * Invariants:
 *	- every count is exactly the GROUP BY over the table's current rows
 *	  (rollups that follow deletes) or over every row ever inserted
 *	  (rollups kept as history);
 *	- a day row is changed only while locked (SELECT ... FOR UPDATE, days in
 *	  ascending order, then hours in ascending order), so concurrent loaders
 *	  neither lose nor double a count and cannot deadlock each other within
 *	  single-statement transactions;
 *	- the country of an entry is the GeoIP answer when the entry was first
 *	  made, and never changes afterwards.
 *
 * Every exported function runs its statements as the rollup tables' owner
 * (rollup_as_ext_owner): they touch the extension's tables only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"
#include "rollup.h"

typedef enum MergeMode
{
	MERGE_ADD,					/* rows inserted */
	MERGE_SUBTRACT,				/* rows deleted */
	MERGE_REPLACE				/* day recomputed from the table */
} MergeMode;

/*
 * The statements, prepared once per backend (and again when the
 * extension's schema is not the one they were made for).
 */
typedef struct RollupPlans
{
	bool		valid;
	char		nspname[2 * NAMEDATALEN + 3];
	SPIPlanPtr	tracked;		/* the table's settings */
	SPIPlanPtr	day_lock;		/* SELECT entries ... FOR UPDATE */
	SPIPlanPtr	day_insert;		/* a new day row, ON CONFLICT DO NOTHING */
	SPIPlanPtr	day_update;		/* a locked day row's new contents */
	SPIPlanPtr	hours_add;		/* upsert of hourly counts */
	SPIPlanPtr	hours_prune;	/* hours left with no packet */
} RollupPlans;

static RollupPlans plans;

/* SPI_prepare and SPI_keepplan, or an error. */
static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

	if (p == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(p) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return p;
}

/* Make the statements, unless they exist for this schema. */
static void
prepare_plans(const ExtInfo *info)
{
	Oid			t_oid[1] = {OIDOID};
	Oid			t_day[2] = {OIDOID, DATEOID};
	Oid			t_row[7] = {OIDOID, DATEOID, INT8OID, INT8OID, TEXTARRAYOID, INT8ARRAYOID, BYTEAOID};
	Oid			t_hours[4] = {OIDOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	const char *n = info->nspname;
	SPIPlanPtr *all[] = {&plans.tracked, &plans.day_lock, &plans.day_insert,
	&plans.day_update, &plans.hours_add, &plans.hours_prune};
	int			i;

	if (plans.valid && strcmp(plans.nspname, n) == 0)
		return;
	if (strlen(n) >= sizeof(plans.nspname))
		elog(ERROR, "schema name too long");
	plans.valid = false;
	for (i = 0; i < (int) lengthof(all); i++)
		if (*all[i])
			SPI_freeplan(*all[i]);
	memset(&plans, 0, sizeof(plans));

	plans.tracked = keep_plan(psprintf("SELECT time_zone, on_delete OPERATOR(pg_catalog.=) 'follow' "
									   "FROM %s.mirai_tracked WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid", n),
							  1, t_oid);
	plans.day_lock = keep_plan(psprintf("SELECT entries FROM %s.mirai_rollup_day "
										"WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										"AND day OPERATOR(pg_catalog.=) $2 FOR UPDATE", n),
							   2, t_day);
	plans.day_insert = keep_plan(psprintf("INSERT INTO %s.mirai_rollup_day (tbl, day, packets, sources, "
										  "countries, country_packets, entries) "
										  "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6, $7) "
										  "ON CONFLICT (tbl, day) DO NOTHING", n),
								 7, t_row);
	plans.day_update = keep_plan(psprintf("UPDATE %s.mirai_rollup_day SET packets = $3, sources = $4, "
										  "countries = $5, country_packets = $6, entries = $7 "
										  "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										  "AND day OPERATOR(pg_catalog.=) $2", n),
								 7, t_row);
	plans.hours_add = keep_plan(psprintf("INSERT INTO %s.mirai_rollup_hour AS h (tbl, hour, packets, all_packets) "
										 "SELECT $1::pg_catalog.oid, u.hour, u.m, u.a "
										 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), "
										 "pg_catalog.unnest($4)) AS u(hour, m, a) ORDER BY u.hour "
										 "ON CONFLICT (tbl, hour) DO UPDATE SET "
										 "packets = h.packets OPERATOR(pg_catalog.+) excluded.packets, "
										 "all_packets = h.all_packets OPERATOR(pg_catalog.+) excluded.all_packets", n),
								4, t_hours);
	plans.hours_prune = keep_plan(psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
										   "AND hour OPERATOR(pg_catalog.=) ANY ($2) AND all_packets OPERATOR(pg_catalog.=) 0", n),
								  2, t_hours);
	strlcpy(plans.nspname, n, sizeof(plans.nspname));
	plans.valid = true;
}

/* Run one statement as the extension's owner; error unless it returns expect. */
uint64
store_exec(const ExtInfo *info, const char *sql, int nargs, Oid *argtypes,
		   Datum *values, const char *nulls, int expect)
{
	RoleSwitch	saved;
	uint64		n;

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
	prepare_plans(info);
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

/* ----------------------------------------------------------------------
 * Countries
 * ----------------------------------------------------------------------
 */

/* A source's country, cached for one statement. */
typedef struct CountryHashElem
{
	uint32		src;
	char		status;
	char		country[MX_COUNTRY_LEN];
} CountryHashElem;

#define SH_PREFIX		countryhash
#define SH_ELEMENT_TYPE	CountryHashElem
#define SH_KEY_TYPE		uint32
#define SH_KEY			src
#define SH_HASH_KEY(tb, k)	murmurhash32(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct CountryLookup
{
	bool		enabled;
	countryhash_hash *cache;	/* made at the first lookup */
};

/* Lazy country lookups for one statement (when GeoIP is configured). */
CountryLookup *
country_lookup(void)
{
	const char *db = GetConfigOption("mirai_ext.geoip_database", true, false);
	CountryLookup *cl = palloc0(sizeof(CountryLookup));

	cl->enabled = db != NULL && db[0] != '\0';
	return cl;
}

/*
 * The country of a source: the GeoIP answer (geoip.c, as geoip_country
 * gives it) once per source and statement, "" when it has none or no
 * GeoIP database is configured.
 */
static void
country_of(CountryLookup *cl, uint32 src, char *out)
{
	CountryHashElem *c;
	bool		found;

	memset(out, 0, MX_COUNTRY_LEN);
	if (cl == NULL || !cl->enabled)
		return;
	if (cl->cache == NULL)
		cl->cache = countryhash_create(CurrentMemoryContext, 1024, NULL);
	c = countryhash_insert(cl->cache, src, &found);
	if (!found)
	{
		uint8		addr[4];

		StaticAssertStmt(MX_COUNTRY_LEN >= 7, "country codes take up to 6 bytes and a NUL");
		memset(c->country, 0, MX_COUNTRY_LEN);
		addr[0] = src >> 24;
		addr[1] = src >> 16;
		addr[2] = src >> 8;
		addr[3] = src;
		(void) mirai_geoip_country_code(4, addr, c->country);
		/* what the entries cannot store is stored as unknown */
		if (!mx_country_valid(c->country, MX_COUNTRY_LEN))
			memset(c->country, 0, MX_COUNTRY_LEN);
	}
	memcpy(out, c->country, MX_COUNTRY_LEN);
}

/* The countries of a day row, and which one each entry has. */
typedef struct CountryDict
{
	int			n;				/* countries; [0] is "" (unknown) */
	char		(*names)[MX_COUNTRY_LEN];
	int64	   *packets;		/* per country */
	uint32	   *index;			/* per entry */
} CountryDict;

/* Index of name in the dictionary, adding it when new. */
static int
dict_index(CountryDict *d, const char *name)
{
	int			i;

	/* a day's sources come from a few dozen countries: a scan is enough */
	for (i = 0; i < d->n; i++)
		if (memcmp(d->names[i], name, MX_COUNTRY_LEN) == 0)
			return i;
	if (d->n > MX_MAX_COUNTRIES)
		elog(ERROR, "more than %d countries in one rollup day", MX_MAX_COUNTRIES);
	memcpy(d->names[d->n], name, MX_COUNTRY_LEN);
	d->packets[d->n] = 0;
	return d->n++;
}

/* Build a day row's country dictionary, per-country packets included. */
static void
dict_build(CountryDict *d, const DayEntry *e, int n)
{
	static const char unknown[MX_COUNTRY_LEN] = {0};
	int			i,
				last = 0;

	d->n = 0;
	d->names = palloc(sizeof(*d->names) * (MX_MAX_COUNTRIES + 1));
	d->packets = palloc(sizeof(int64) * (MX_MAX_COUNTRIES + 1));
	d->index = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * Max(n, 1));
	(void) dict_index(d, unknown);
	for (i = 0; i < n; i++)
	{
		/* entries of one source are adjacent and share a country */
		if (i == 0 || memcmp(e[i].country, e[i - 1].country, MX_COUNTRY_LEN) != 0)
			last = dict_index(d, e[i].country);
		d->index[i] = last;
		d->packets[last] += e[i].packets;
	}
}

/* ----------------------------------------------------------------------
 * Day rows
 * ----------------------------------------------------------------------
 */

/*
 * Unpack a day row's entries (day copied into each), or an error saying
 * what is wrong and where.
 */
DayEntry *
entries_unpack(bytea *b, int32 day, int *n)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	size_t		count,
				i;
	DayEntry   *e;
	mx_error	err;

	if (mx_entries_count(p, len, &count, &err) == MX_OK)
	{
		e = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DayEntry) * Max(count, 1));
		if (mx_entries_unpack(p, len, e, count, &err) == MX_OK)
		{
			for (i = 0; i < count; i++)
				e[i].day = day;
			*n = (int) count;
			return e;
		}
	}
	{
		char		where[256];

		if (err.packetno > 0)
			snprintf(where, sizeof(where), "At entry %llu, byte offset %llu, field %s.",
					 (unsigned long long) err.packetno,
					 (unsigned long long) err.offset, err.field);
		else
			snprintf(where, sizeof(where), "In the header, at byte offset %llu, field %s.",
					 (unsigned long long) err.offset, err.field);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt rollup entries: %s", err.message),
				 errdetail("%s", where),
				 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
	}
	return NULL;				/* keep the compiler quiet */
}

/* The error of rollups that no longer match their table. */
static void
out_of_step(Oid relid, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("rollups of table \"%s\" are out of step with its rows",
					get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("Run SELECT mirai_rebuild('%s') to recompute them.",
					 get_rel_name(relid))));
}

/*
 * Merge the batch entries b[0..nb) of one day into the stored entries
 * s[0..ns); both sorted by (src, dport).  A new entry takes the country of
 * its source's other entries that day when there are any, else the GeoIP
 * answer (cl).  Sets *stale when a deletion may have removed an entry's
 * first or last packet (the day must be recomputed from the table).
 * Returns the merged entries.
 */
static DayEntry *
merge_day(DayEntry *s, int ns, DayEntry *b, int nb, MergeMode mode,
		  int *nout, bool *stale, Oid relid, CountryLookup *cl)
{
	DayEntry   *out = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(DayEntry) * Max((Size) ns + nb, 1));
	int			i = 0,
				j = 0,
				k = 0;

	while (i < ns || j < nb)
	{
		int			c;

		if (i >= ns)
			c = 1;
		else if (j >= nb)
			c = -1;
		else if (s[i].src != b[j].src)
			c = s[i].src < b[j].src ? -1 : 1;
		else if (s[i].dport != b[j].dport)
			c = s[i].dport < b[j].dport ? -1 : 1;
		else
			c = 0;

		if (c < 0)
		{
			/* stored only: unchanged, except on a replace where it is gone */
			if (mode != MERGE_REPLACE)
				out[k++] = s[i];
			i++;
		}
		else if (c > 0)
		{
			if (mode == MERGE_SUBTRACT)
				out_of_step(relid, "Deleted packets were never counted.");
			out[k] = b[j];
			if (k > 0 && out[k - 1].src == b[j].src)
				memcpy(out[k].country, out[k - 1].country, MX_COUNTRY_LEN);
			else if (i < ns && s[i].src == b[j].src)
				memcpy(out[k].country, s[i].country, MX_COUNTRY_LEN);
			else
				country_of(cl, b[j].src, out[k].country);
			k++;
			j++;
		}
		else
		{
			DayEntry	m = s[i];

			switch (mode)
			{
				case MERGE_ADD:
					m.packets += b[j].packets;
					m.first_us = Min(m.first_us, b[j].first_us);
					m.last_us = Max(m.last_us, b[j].last_us);
					break;
				case MERGE_SUBTRACT:
					m.packets -= b[j].packets;
					if (m.packets < 0)
						out_of_step(relid, "More packets were deleted than were counted.");
					if (m.packets > 0 &&
						(b[j].first_us <= m.first_us || b[j].last_us >= m.last_us))
						*stale = true;
					break;
				case MERGE_REPLACE:
					/* new counts, stored country */
					m = b[j];
					memcpy(m.country, s[i].country, MX_COUNTRY_LEN);
					break;
			}
			if (m.packets > 0)
				out[k++] = m;
			i++;
			j++;
		}
	}
	*nout = k;
	return out;
}

/*
 * The column values of a day row (tbl, day, packets, sources, countries,
 * country_packets, entries) from its sorted entries.
 */
static void
day_values(Oid relid, int32 day, const DayEntry *e, int n, Datum *values)
{
	CountryDict d;
	int64		packets = 0,
				sources = 0;
	int		   *order;
	Datum	   *cd,
			   *pd;
	bool	   *cnull;
	int			dims[1];
	int			lbs[1] = {1};
	int			i,
				c,
				nc;
	bytea	   *b;

	for (i = 0; i < n; i++)
	{
		packets += e[i].packets;
		if (i == 0 || e[i].src != e[i - 1].src)
			sources++;
	}
	dict_build(&d, e, n);

	/* countries by name, unknown last; only those with packets */
	order = palloc(sizeof(int) * d.n);
	nc = 0;
	for (c = 1; c < d.n; c++)
	{
		int			at = nc;

		while (at > 0 && strcmp(d.names[order[at - 1]], d.names[c]) > 0)
		{
			order[at] = order[at - 1];
			at--;
		}
		order[at] = c;
		nc++;
	}
	if (d.packets[0] > 0)
		order[nc++] = 0;
	cd = palloc(sizeof(Datum) * Max(nc, 1));
	cnull = palloc(sizeof(bool) * Max(nc, 1));
	pd = palloc(sizeof(Datum) * Max(nc, 1));
	for (i = 0; i < nc; i++)
	{
		c = order[i];
		cnull[i] = c == 0;
		cd[i] = c == 0 ? (Datum) 0 : CStringGetTextDatum(d.names[c]);
		pd[i] = Int64GetDatum(d.packets[c]);
	}
	dims[0] = nc;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(packets);
	values[3] = Int64GetDatum(sources);
	values[4] = PointerGetDatum(construct_md_array(cd, cnull, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(pd, nc, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	b = MemoryContextAllocHuge(CurrentMemoryContext,
							   VARHDRSZ + mx_entries_pack_bound(n, d.n));
	SET_VARSIZE(b, VARHDRSZ + mx_entries_pack(e, n, (const char (*)[MX_COUNTRY_LEN]) d.names,
											  d.n, d.index, (uint8 *) VARDATA(b)));
	values[6] = PointerGetDatum(b);
}

/*
 * Lock a day row and return its stored entries; false (and nothing locked)
 * when there is no row.
 */
static bool
lock_day(Oid relid, int32 day, DayEntry **s, int *n)
{
	Datum		values[2];
	bool		isnull;
	bytea	   *bytes;
	Datum		d;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	if (SPI_execute_plan(plans.day_lock, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking mirai_rollup_day failed");
	if (SPI_processed == 0)
	{
		*s = NULL;
		*n = 0;
		return false;
	}
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	bytes = DatumGetByteaPP(d);
	*s = entries_unpack(bytes, day, n);
	if ((Pointer) bytes != DatumGetPointer(d))
		pfree(bytes);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * Fold a batch's sorted entries of one day into its row: add (or, on a
 * replace, the day's new contents) and sub (deleted rows).  The row is
 * locked (days are taken in ascending order by every caller), merged and
 * written back, or made when the day is new.  Returns whether a deletion
 * left the day stale (see merge_day).
 */
static bool
store_day(Oid relid, int32 day, DayEntry *add, int nadd, DayEntry *sub, int nsub,
		  bool replace, CountryLookup *cl)
{
	DayEntry   *s,
			   *out;
	int			ns,
				nout;
	bool		stale = false;
	Datum		values[7];

	if (!lock_day(relid, day, &s, &ns))
	{
		if (nsub > 0)
			out_of_step(relid, "Packets of a day that was never counted were deleted.");
		if (nadd == 0)
			return false;
		/* a new day: one INSERT, unless a concurrent loader makes it first */
		out = merge_day(NULL, 0, add, nadd, MERGE_ADD, &nout, &stale, relid, cl);
		day_values(relid, day, out, nout, values);
		if (SPI_execute_plan(plans.day_insert, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inserting into mirai_rollup_day failed");
		pfree(DatumGetPointer(values[6]));
		pfree(out);
		if (SPI_processed == 1)
			return false;
		if (!lock_day(relid, day, &s, &ns))
			elog(ERROR, "rollup row of table %u, day %d neither inserted nor found", relid, day);
	}
	out = s;
	nout = ns;
	if (nadd > 0 || replace)
		out = merge_day(out, nout, add, nadd, replace ? MERGE_REPLACE : MERGE_ADD,
						&nout, &stale, relid, cl);
	if (nsub > 0)
		out = merge_day(out, nout, sub, nsub, MERGE_SUBTRACT, &nout, &stale, relid, cl);
	day_values(relid, day, out, nout, values);
	if (SPI_execute_plan(plans.day_update, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "updating mirai_rollup_day failed");
	return stale;
}

/*
 * Apply sorted batches to the day rows, every day of either in ascending
 * order: add (inserted rows), then sub (deleted rows).  Returns the days a
 * deletion left stale (palloc'd, sorted) in *stale_days.
 */
void
apply_days(const ExtInfo *info, Oid relid, DayEntry *add, int nadd,
		   DayEntry *sub, int nsub, CountryLookup *cl,
		   int32 **stale_days, int *n_stale)
{
	RoleSwitch	saved;
	int			i = 0,
				j = 0;

	*stale_days = palloc(sizeof(int32) * Max(nadd + nsub, 1));
	*n_stale = 0;
	rollup_as_ext_owner(info, &saved);
	prepare_plans(info);
	while (i < nadd || j < nsub)
	{
		int32		day;
		int			ie = i,
					je = j;

		if (j >= nsub || (i < nadd && add[i].day <= sub[j].day))
			day = add[i].day;
		else
			day = sub[j].day;
		while (ie < nadd && add[ie].day == day)
			ie++;
		while (je < nsub && sub[je].day == day)
			je++;
		if (store_day(relid, day, add + i, ie - i, sub + j, je - j, false, cl))
			(*stale_days)[(*n_stale)++] = day;
		i = ie;
		j = je;
		CHECK_FOR_INTERRUPTS();
	}
	rollup_role_end(&saved);
}

/*
 * Replace the given days (sorted) with the sorted entries e, which hold
 * those days only: the countries of entries already stored are kept, new
 * entries get theirs from cl.
 */
void
replace_days(const ExtInfo *info, Oid relid, const int32 *days, int ndays,
			 DayEntry *e, int n, CountryLookup *cl)
{
	RoleSwitch	saved;
	int			i,
				start = 0;

	rollup_as_ext_owner(info, &saved);
	prepare_plans(info);
	for (i = 0; i < ndays; i++)
	{
		int			end = start;

		while (end < n && e[end].day == days[i])
			end++;
		(void) store_day(relid, days[i], e + start, end - start, NULL, 0, true, cl);
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	rollup_role_end(&saved);
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
	prepare_plans(info);
	if (SPI_execute_plan(plans.hours_add, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "upserting mirai_rollup_hour failed");
	if (negative &&
		SPI_execute_plan(plans.hours_prune, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting from mirai_rollup_hour failed");
	rollup_role_end(&saved);
}

/*
 * Remove a table's rollups: every day row but keep_days (sorted; all when
 * nkeep is 0), and unless days_only every hour row.
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
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_day WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
									 "AND NOT (day OPERATOR(pg_catalog.=) ANY ($2))", info->nspname),
					  2, at, v, NULL, SPI_OK_DELETE);
	if (!days_only)
		(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_hour WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
										 info->nspname),
						  1, at, v, NULL, SPI_OK_DELETE);
}
