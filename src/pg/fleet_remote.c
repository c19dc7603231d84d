/*-------------------------------------------------------------------------
 *
 * fleet_remote.c
 *		Where a fleet table's rows are, and reading its sensors' rollups.
 *
 * A tracked partitioned table is a fleet table when a partition of its
 * tree is a foreign table.  Its members are the coordinator itself (the
 * rollups of its local partitions, in its own rollup tables) and one per
 * foreign partition: the server of a postgres_fdw foreign table, whose
 * rollups of the remote table are read at each query.
 *
 * Reading a sensor goes through postgres_fdw's own connections
 * (GetConnection, found in postgres_fdw's library at the first read), with
 * the user mapping of the current role, as a scan of the foreign partition
 * would: postgres_fdw's rules apply (password, connection reuse, one remote
 * transaction per local one, REPEATABLE READ, so one statement sees one
 * snapshot of each sensor), and nothing connects as any other role.  The
 * statements are sent to every sensor before any answer is awaited, so the
 * sensors work at once; each names every object with the sensor's own
 * mirai_ext schema, asked of it first, and with pg_catalog operators (the
 * remote session's search_path is pg_catalog), and takes the remote table
 * as a parameter; answers come in binary and every value is checked
 * (sizes, ranges, country codes; packed entries by mx_entries_unpack when
 * they are merged).  Errors name the foreign partition and its server.
 *
 * What a sensor must have: mirai_ext 0.2.0 or later, the remote table
 * tracked in the same time zone as the coordinator's (days are merged as
 * days), and the role of the user mapping allowed to read its rollups
 * there (mirai_may_read): through mirai_fleet_parts for days and sources,
 * mirai_daily_countries for countries, mirai_hourly for hours.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"

#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/*
 * What postgres_fdw (PostgreSQL 15) exports and this file calls; its
 * connection state starts with the pending asynchronous request.
 */
typedef struct FdwConnState
{
	void	   *pendingAreq;
} FdwConnState;

typedef PGconn *(*GetConnection_t) (UserMapping *user, bool will_prep_stmt, FdwConnState **state);
typedef PGresult *(*GetResult_t) (PGconn *conn, const char *query);
typedef void (*ReportError_t) (int elevel, PGresult *res, PGconn *conn, bool clear, const char *sql);
typedef void (*ProcessPending_t) (void *areq);

static GetConnection_t fdw_get_connection;
static GetResult_t fdw_get_result;
static ReportError_t fdw_report_error;
static ProcessPending_t fdw_process_pending;

/* A member of a fleet: a foreign partition and its server (0: the coordinator). */
typedef struct FleetMember
{
	Oid			partition;
	char	   *partname;		/* qualified, for messages */
	char	   *server;
	char	   *remote;			/* the remote table, qualified: a regclass */
	PGconn	   *conn;
	FdwConnState *state;
	char	   *nsp;			/* its mirai_ext schema, quoted here */
	char	   *query;			/* the statement in flight */
	PGresult   *res;			/* the last answer */
} FleetMember;

struct Fleet
{
	const ExtInfo *info;
	Oid			relid;
	char	   *time_zone;
	FleetRead	read;
	int			nmembers;
	FleetMember *m;
	PGresult  **kept;			/* every answer, cleared together */
	int			nkept;
	int			capkept;
	MemoryContextCallback cb;
};

/*
 * The per-table view whose SELECT a read needs on the coordinator, and on
 * each sensor (where it reads mirai_fleet_parts, mirai_daily_countries or
 * mirai_hourly): a coordinator's distinct sources need the sensors'.
 */
static const char *const read_handles[] = {"daily", "sources", "countries", "daily"};
static const char *const sensor_handles[] = {"sources", "sources", "countries", "daily"};

/* ----------------------------------------------------------------------
 * The tree of a table
 * ----------------------------------------------------------------------
 */

/* Whether relid is a partitioned table with a foreign table in its tree. */
bool
fleet_is(Oid relid)
{
	List	   *tree;
	ListCell   *lc;

	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return false;
	tree = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, tree)
		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_FOREIGN_TABLE)
			return true;
	return false;
}

/*
 * The local relations of a table's tree: its plain tables (leaves_only),
 * or its plain and partitioned tables, the table itself included.
 */
List *
fleet_local_relations(Oid relid, bool leaves_only)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, find_all_inheritors(relid, NoLock, NULL))
	{
		char		kind = get_rel_relkind(lfirst_oid(lc));

		if (kind == RELKIND_RELATION ||
			(!leaves_only && kind == RELKIND_PARTITIONED_TABLE))
			out = lappend_oid(out, lfirst_oid(lc));
	}
	return out;
}

/* ----------------------------------------------------------------------
 * Talking to the sensors
 * ----------------------------------------------------------------------
 */

/* postgres_fdw's functions, from its library (loaded when it is not). */
static void
load_fdw(void)
{
	if (fdw_get_connection != NULL)
		return;
	fdw_get_result = (GetResult_t) (void (*) (void))
		load_external_function("$libdir/postgres_fdw", "pgfdw_get_result", true, NULL);
	fdw_report_error = (ReportError_t) (void (*) (void))
		load_external_function("$libdir/postgres_fdw", "pgfdw_report_error", true, NULL);
	fdw_process_pending = (ProcessPending_t) (void (*) (void))
		load_external_function("$libdir/postgres_fdw", "process_pending_request", true, NULL);
	fdw_get_connection = (GetConnection_t) (void (*) (void))
		load_external_function("$libdir/postgres_fdw", "GetConnection", true, NULL);
}

/* Clear every answer (also when the memory context goes on an error). */
void
fleet_release(Fleet *f)
{
	int			i;

	for (i = 0; i < f->nkept; i++)
		PQclear(f->kept[i]);
	f->nkept = 0;
	for (i = 0; i < f->nmembers; i++)
		f->m[i].res = NULL;
}

static void
fleet_reset_callback(void *arg)
{
	fleet_release((Fleet *) arg);
}

static void
fleet_context(void *arg)
{
	FleetMember *m = arg;

	if (m->server != NULL)
		errcontext("reading the rollups of foreign partition %s on server \"%s\"",
				   m->partname, m->server);
}

/* An error context naming member (pop it with error_context_stack = cb->previous). */
void
fleet_context_push(Fleet *f, int member, ErrorContextCallback *cb)
{
	cb->callback = fleet_context;
	cb->arg = &f->m[member];
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/* Await the answer of member i's statement in flight; an error unless rows. */
static void
collect(Fleet *f, int i)
{
	FleetMember *m = &f->m[i];
	ErrorContextCallback cb;
	PGresult   *res;

	fleet_context_push(f, i, &cb);
	res = fdw_get_result(m->conn, m->query);
	if (f->nkept == f->capkept)
	{
		f->capkept *= 2;
		f->kept = repalloc(f->kept, sizeof(PGresult *) * f->capkept);
	}
	f->kept[f->nkept++] = res;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fdw_report_error(ERROR, res, m->conn, false, m->query);
	m->res = res;
	m->query = NULL;
	error_context_stack = cb.previous;
}

/*
 * Send a statement to every sensor, then await each answer.  sql names the
 * sensor's schema as %1$s; with_table, $1 is the remote table, followed by
 * the nargs text arguments.
 */
static void
fleet_exec(Fleet *f, const char *sql, bool with_table, int nargs, const char *const *args)
{
	const char *values[4];
	int			i,
				j;

	Assert(nargs < 4);
	for (i = 1; i < f->nmembers; i++)
	{
		FleetMember *m = &f->m[i];
		ErrorContextCallback cb;

		/* one statement at a time on a connection (two partitions, one server) */
		for (j = 1; j < i; j++)
			if (f->m[j].conn == m->conn && f->m[j].query != NULL)
				collect(f, j);
		j = 0;
		if (with_table)
			values[j++] = m->remote;
		memcpy(values + j, args, sizeof(char *) * nargs);
		m->query = psprintf(sql, m->nsp ? m->nsp : "");
		fleet_context_push(f, i, &cb);
		if (m->state != NULL && m->state->pendingAreq != NULL)
			fdw_process_pending(m->state->pendingAreq);
		if (!PQsendQueryParams(m->conn, m->query, j + nargs, NULL, values, NULL, NULL, 1))
			fdw_report_error(ERROR, NULL, m->conn, false, m->query);
		error_context_stack = cb.previous;
	}
	for (i = 1; i < f->nmembers; i++)
		if (f->m[i].query != NULL)
			collect(f, i);
}

/* The error of an answer that is not what was asked. */
static void
bad_answer(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("a sensor answered with an invalid %s", what)));
}

/* A value of an answer, checked: not null, of the size asked for. */
static const char *
value_of(PGresult *r, int row, int col, int size, int *len)
{
	if (col >= PQnfields(r) || PQfformat(r, col) != 1)
		bad_answer("column");
	if (PQgetisnull(r, row, col))
	{
		if (size != -2)
			bad_answer("null");
		*len = -1;
		return NULL;
	}
	*len = PQgetlength(r, row, col);
	if (size >= 0 && *len != size)
		bad_answer("value size");
	return PQgetvalue(r, row, col);
}

static int64
get_int8(PGresult *r, int row, int col)
{
	int			len;
	uint64		v;

	memcpy(&v, value_of(r, row, col, 8, &len), 8);
	return (int64) pg_ntoh64(v);
}

static int64
get_count(PGresult *r, int row, int col)
{
	int64		v = get_int8(r, row, col);

	if (v < 0)
		bad_answer("count");
	return v;
}

static int32
get_day(PGresult *r, int row, int col)
{
	int			len;
	uint32		v;
	int32		day;

	memcpy(&v, value_of(r, row, col, 4, &len), 4);
	day = (int32) pg_ntoh32(v);
	if (DATE_NOT_FINITE(day) || !IS_VALID_DATE(day))
		bad_answer("day");
	return day;
}

static bool
get_bool(PGresult *r, int row, int col)
{
	int			len;

	return *value_of(r, row, col, 1, &len) != 0;
}

/* A text value as a C string (NULL for a null when nullable). */
static char *
get_text(PGresult *r, int row, int col, bool nullable)
{
	int			len;
	const char *v = value_of(r, row, col, nullable ? -2 : -1, &len);

	if (v == NULL)
		return NULL;
	if (memchr(v, '\0', len) != NULL || len > 1024)
		bad_answer("text");
	return pnstrdup(v, len);
}

/* A country code as the entries keep it: "" for a null (unknown). */
static void
get_country(PGresult *r, int row, int col, char *out)
{
	char	   *s = get_text(r, row, col, true);

	memset(out, 0, MX_COUNTRY_LEN);
	if (s == NULL)
		return;
	if (strlen(s) >= MX_COUNTRY_LEN)
		bad_answer("country code");
	memcpy(out, s, strlen(s));
	if (!mx_country_valid(out, MX_COUNTRY_LEN))
		bad_answer("country code");
}

/* ----------------------------------------------------------------------
 * Opening a fleet table
 * ----------------------------------------------------------------------
 */

/* A foreign partition as a member: its server, user mapping, connection. */
static void
open_member(FleetMember *m, Oid partition)
{
	ForeignTable *ft = GetForeignTable(partition);
	ForeignServer *server = GetForeignServer(ft->serverid);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	const char *schema = get_namespace_name(get_rel_namespace(partition));
	const char *table = get_rel_name(partition);
	ListCell   *lc;
	ErrorContextCallback cb;

	m->partition = partition;
	m->partname = quote_qualified_identifier(schema, table);
	m->server = server->servername;
	if (!OidIsValid(fdw->fdwhandler) ||
		strcmp(get_func_name(fdw->fdwhandler), "postgres_fdw_handler") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("foreign partition %s is on server \"%s\" of foreign-data wrapper \"%s\"",
						m->partname, m->server, fdw->fdwname),
				 errdetail("The rollups of a partitioned table are read from servers of postgres_fdw only.")));
	/* the remote table as postgres_fdw names it */
	foreach(lc, ft->options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, "schema_name") == 0)
			schema = defGetString(d);
		else if (strcmp(d->defname, "table_name") == 0)
			table = defGetString(d);
	}
	m->remote = quote_qualified_identifier(schema, table);
	cb.callback = fleet_context;
	cb.arg = m;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	m->conn = fdw_get_connection(GetUserMapping(GetUserId(), server->serverid), false, &m->state);
	error_context_stack = cb.previous;
}

/* Check a sensor's answer to the question of its mirai_ext: schema, version. */
static void
check_extension(Fleet *f, int i)
{
	FleetMember *m = &f->m[i];
	ErrorContextCallback cb;
	char	   *version;
	int			major,
				minor;

	fleet_context_push(f, i, &cb);
	if (PQntuples(m->res) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("server \"%s\" has no mirai_ext", m->server),
				 errhint("Run CREATE EXTENSION mirai_ext in the database the server connects to.")));
	m->nsp = (char *) quote_identifier(get_text(m->res, 0, 0, false));
	version = get_text(m->res, 0, 1, false);
	if (sscanf(version, "%d.%d", &major, &minor) != 2 || (major == 0 && minor < 2))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("server \"%s\" has mirai_ext %s, whose rollups a coordinator cannot read",
						m->server, version),
				 errhint("Run ALTER EXTENSION mirai_ext UPDATE on that server.")));
	error_context_stack = cb.previous;
}

/*
 * Check a sensor's answer to the question of its table: tracked, in the
 * coordinator's time zone, readable by the mapped role.
 */
static void
check_table(Fleet *f, int i)
{
	FleetMember *m = &f->m[i];
	ErrorContextCallback cb;
	char	   *zone;

	fleet_context_push(f, i, &cb);
	if (PQntuples(m->res) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s on server \"%s\" is not tracked", m->remote, m->server),
				 errhint("Run SELECT mirai_track('%s') on that server.", m->remote)));
	zone = get_text(m->res, 0, 0, false);
	if (f->read != FLEET_READ_HOURS && strcmp(zone, f->time_zone) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s on server \"%s\" counts days of time zone \"%s\", table \"%s\" here days of \"%s\"",
						m->remote, m->server, zone, get_rel_name(f->relid), f->time_zone),
				 errdetail("The days of a partitioned table and of its foreign partitions' tables are merged as days."),
				 errhint("Track them in the same time zone.")));
	if (!get_bool(m->res, 0, f->read == FLEET_READ_HOURS ? 1 : f->read == FLEET_READ_COUNTRIES ? 3 : 2))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the rollups of table %s on server \"%s\"",
						m->remote, m->server),
				 errdetail("The user mapping of role \"%s\" connects as role \"%s\", which may read neither the table nor its per-table view %s there.",
						   GetUserNameFromId(GetUserId(), false),
						   get_text(m->res, 0, 4, false), get_text(m->res, 0, 5, false)),
				 errhint("On server \"%s\", grant that role SELECT on the table or on that view.",
						 m->server)));
	error_context_stack = cb.previous;
}

/*
 * Open a fleet table for a read: NULL when the current role may not read
 * the table's rollups of that kind (the views show it nothing).  Otherwise
 * every sensor is connected to and checked.  The fleet lives in the
 * current memory context; the answers until fleet_release or the end of
 * that context (what the reads return, in SPI's context: until SPI_finish).
 */
Fleet *
fleet_open(const ExtInfo *info, Oid relid, FleetRead read)
{
	Fleet	   *f;
	char	   *zone;
	List	   *tree;
	ListCell   *lc;
	int			i;

	/* the table's zone, for a role that may read it */
	if (!rollup_may_read(info, relid, read_handles[read], &zone))
		return NULL;

	f = palloc0(sizeof(Fleet));
	f->info = info;
	f->relid = relid;
	f->read = read;
	f->time_zone = zone;
	f->capkept = 16;
	f->kept = palloc(sizeof(PGresult *) * f->capkept);
	f->cb.func = fleet_reset_callback;
	f->cb.arg = f;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &f->cb);

	tree = find_all_inheritors(relid, NoLock, NULL);
	f->m = palloc0(sizeof(FleetMember) * (list_length(tree) + 1));
	f->nmembers = 1;			/* [0]: this server */
	foreach(lc, tree)
		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_FOREIGN_TABLE)
		{
			LockRelationOid(lfirst_oid(lc), AccessShareLock);
			load_fdw();
			open_member(&f->m[f->nmembers++], lfirst_oid(lc));
		}

	fleet_exec(f, "SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e "
			   "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
			   "WHERE e.extname OPERATOR(pg_catalog.=) 'mirai_ext'", false, 0, NULL);
	for (i = 1; i < f->nmembers; i++)
		check_extension(f, i);
	fleet_exec(f, "SELECT t.time_zone, %1$s.mirai_may_read(t.tbl, t.daily_view), "
			   "%1$s.mirai_may_read(t.tbl, t.sources_view), "
			   "%1$s.mirai_may_read(t.tbl, t.countries_view), "
			   "CURRENT_USER::pg_catalog.text, "
			   "CASE $2 WHEN 'daily' THEN t.daily_view WHEN 'sources' THEN t.sources_view "
			   "ELSE t.countries_view END::pg_catalog.text "
			   "FROM %1$s.mirai_tracked t WHERE t.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
			   true, 1, &sensor_handles[read]);
	for (i = 1; i < f->nmembers; i++)
		check_table(f, i);
	return f;
}

int
fleet_members(Fleet *f)
{
	return f->nmembers;
}

const char *
fleet_time_zone(Fleet *f)
{
	return f->time_zone;
}

/* ----------------------------------------------------------------------
 * The reads
 * ----------------------------------------------------------------------
 */

/* A statement on this server's rollup tables of the fleet table, as their owner. */
static void
local_read(Fleet *f, const char *sql, int nargs, Oid *types, Datum *values)
{
	RoleSwitch	saved;

	rollup_as_ext_owner(f->info, &saved);
	if (SPI_execute_with_args(psprintf(sql, f->info->nspname), nargs, types, values, NULL,
							  true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the rollups failed");
	rollup_role_end(&saved);
}

/* An array of *cap elements of size each, grown to hold need. */
static void *
grow(void *a, int *cap, int need, Size each)
{
	if (need <= *cap)
		return a;
	*cap = need + 64;
	return repalloc_huge(a, each * *cap);
}

/* A day as ISO text (the remote session's DateStyle is ISO). */
static char *
day_text(int32 day)
{
	int			y,
				mo,
				d;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &mo, &d);
	return psprintf("%04d-%02d-%02d", y, mo, d);
}

static int
part_cmp(const void *a, const void *b)
{
	const FleetPart *x = a;
	const FleetPart *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->member < y->member ? -1 : (x->member > y->member);
}

/*
 * The packed entries of every member's parts of the days in [from_day,
 * to_day], sorted by day (checked when they are unpacked).
 */
FleetPart *
fleet_parts(Fleet *f, int32 from_day, int32 to_day, int *n)
{
	Oid			at[3] = {OIDOID, DATEOID, DATEOID};
	Datum		v[3] = {ObjectIdGetDatum(f->relid), DateADTGetDatum(from_day), DateADTGetDatum(to_day)};
	const char *args[2] = {day_text(from_day), day_text(to_day)};
	FleetPart  *out;
	int			k = 0,
				cap,
				i;
	uint64		r;

	local_read(f, "SELECT day, entries FROM %s.mirai_rollup_part "
			   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
			   "AND day OPERATOR(pg_catalog.>=) $2 AND day OPERATOR(pg_catalog.<=) $3", 3, at, v);
	cap = SPI_processed + 64;
	out = palloc(sizeof(FleetPart) * cap);
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		bytea	   *b = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		out[k].day = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		out[k].member = 0;
		out[k].data = (const uint8 *) VARDATA(b);
		out[k++].len = VARSIZE(b) - VARHDRSZ;
	}
	SPI_freetuptable(SPI_tuptable);

	fleet_exec(f, "SELECT p.day, p.entries FROM %1$s.mirai_fleet_parts p "
			   "WHERE p.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
			   "AND p.day OPERATOR(pg_catalog.>=) $2::pg_catalog.date "
			   "AND p.day OPERATOR(pg_catalog.<=) $3::pg_catalog.date", true, 2, args);
	for (i = 1; i < f->nmembers; i++)
	{
		PGresult   *res = f->m[i].res;
		int			row;
		ErrorContextCallback cb;

		fleet_context_push(f, i, &cb);
		out = grow(out, &cap, k + PQntuples(res), sizeof(FleetPart));
		for (row = 0; row < PQntuples(res); row++)
		{
			int			len;

			out[k].day = get_day(res, row, 0);
			if (out[k].day < from_day || out[k].day > to_day)
				bad_answer("day");
			out[k].member = i;
			out[k].data = (const uint8 *) value_of(res, row, 1, -1, &len);
			out[k++].len = len;
		}
		error_context_stack = cb.previous;
	}
	qsort(out, k, sizeof(FleetPart), part_cmp);
	*n = k;
	return out;
}

/* Rows of (day, packets) or (day, country, packets), remote ones checked. */
static FleetCount *
read_counts(Fleet *f, const char *local_sql, const char *remote_sql, bool by_country, int *n)
{
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(f->relid)};
	FleetCount *out;
	int			k = 0,
				cap,
				i;
	uint64		r;

	local_read(f, local_sql, 1, at, v);
	cap = SPI_processed + 64;
	out = palloc0(sizeof(FleetCount) * cap);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		out[k].day = DatumGetDateADT(SPI_getbinval(tup, desc, 1, &isnull));
		if (by_country)
		{
			char	   *c = SPI_getvalue(tup, desc, 2);

			if (c != NULL)
				strlcpy(out[k].country, c, MX_COUNTRY_LEN);
		}
		out[k++].packets = DatumGetInt64(SPI_getbinval(tup, desc, by_country ? 3 : 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	fleet_exec(f, remote_sql, true, 0, NULL);
	for (i = 1; i < f->nmembers; i++)
	{
		PGresult   *res = f->m[i].res;
		ErrorContextCallback cb;
		int			row;

		fleet_context_push(f, i, &cb);
		out = grow(out, &cap, k + PQntuples(res), sizeof(FleetCount));
		for (row = 0; row < PQntuples(res); row++)
		{
			memset(&out[k], 0, sizeof(FleetCount));
			out[k].day = get_day(res, row, 0);
			if (by_country)
				get_country(res, row, 1, out[k].country);
			out[k++].packets = get_count(res, row, by_country ? 2 : 1);
		}
		error_context_stack = cb.previous;
	}
	*n = k;
	return out;
}

/* Every member's Mirai packets per day (days with none left out). */
FleetCount *
fleet_day_packets(Fleet *f, int *n)
{
	return read_counts(f, "SELECT day, packets FROM %s.mirai_rollup_day "
					   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
					   "AND packets OPERATOR(pg_catalog.>) 0",
					   "SELECT DISTINCT p.day, p.day_packets FROM %1$s.mirai_fleet_parts p "
					   "WHERE p.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
					   false, n);
}

/* Every member's Mirai packets per day and country. */
FleetCount *
fleet_day_countries(Fleet *f, int *n)
{
	return read_counts(f, "SELECT d.day, u.country, u.packets FROM %s.mirai_rollup_day d "
					   "CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(d.countries), "
					   "pg_catalog.unnest(d.country_packets)) AS u(country, packets) "
					   "WHERE d.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
					   "SELECT c.day, c.country, c.packets FROM %1$s.mirai_daily_countries c "
					   "WHERE c.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
					   true, n);
}

/* Every member's Mirai and all packets per UTC hour. */
HourCount *
fleet_hours(Fleet *f, int *n)
{
	Oid			at[1] = {OIDOID};
	Datum		v[1] = {ObjectIdGetDatum(f->relid)};
	HourCount  *out;
	int			k = 0,
				cap,
				i;
	uint64		r;

	local_read(f, "SELECT hour, packets, all_packets FROM %s.mirai_rollup_hour "
			   "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid", 1, at, v);
	cap = SPI_processed + 64;
	out = palloc(sizeof(HourCount) * cap);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;

		out[k].hour = DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		out[k].mirai = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		out[k++].all = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	fleet_exec(f, "SELECT h.\"time\", h.packets, h.all_packets FROM %1$s.mirai_hourly h "
			   "WHERE h.tbl OPERATOR(pg_catalog.=) $1::pg_catalog.regclass", true, 0, NULL);
	for (i = 1; i < f->nmembers; i++)
	{
		PGresult   *res = f->m[i].res;
		ErrorContextCallback cb;
		int			row;

		fleet_context_push(f, i, &cb);
		out = grow(out, &cap, k + PQntuples(res), sizeof(HourCount));
		for (row = 0; row < PQntuples(res); row++)
		{
			TimestampTz t = get_int8(res, row, 0);

			/* whole UTC hours, as the rollups keep them */
			if (!IS_VALID_TIMESTAMP(t) || t % USECS_PER_HOUR != 0)
				bad_answer("hour");
			out[k].hour = t;
			out[k].mirai = get_count(res, row, 1);
			out[k].all = get_count(res, row, 2);
			if (out[k].mirai > out[k].all)
				bad_answer("count");
			k++;
		}
		error_context_stack = cb.previous;
	}
	*n = k;
	return out;
}
