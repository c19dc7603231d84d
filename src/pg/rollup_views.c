/*-------------------------------------------------------------------------
 *
 * rollup_views.c
 *		The functions the rollup views call.
 *
 *	mirai_day_sources(entries bytea)
 *		-> (src inet, packets bigint, first_seen timestamptz,
 *			last_seen timestamptz, country text, ports integer[],
 *			port_count int), one row per source, in source order;
 *		any role may call it on any bytes: mx_entries_unpack checks every
 *		value, so whatever it returns can be stored, dumped and restored;
 *	mirai_share(part, whole), mirai_day_start(day, zone)
 *		small functions with a declared cost that lets the planner compute
 *		them after a sort and LIMIT: a dashboard's top ten of a day with
 *		tens of thousands of sources then computes ten shares.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/inet.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"
#include "rollup.h"



/* ports[] of entries e[from..to) (one source), at most PORTS_SHOWN, built in a. */
static Datum
ports_array(ArrayType *a, const DayEntry *e, int from, int to)
{
	int			n = Min(to - from, PORTS_SHOWN),
				i;
	int32	   *data;

	SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(1) + n * sizeof(int32));
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	data = (int32 *) ((char *) a + ARR_OVERHEAD_NONULLS(1));
	for (i = 0; i < n; i++)
		data[i] = e[from + i].dport;
	return PointerGetDatum(a);
}

/*
 * Fold the entries of one source of a day, e[from..to) of the sorted e[0..n):
 * its packets, first and last packet.  Returns to.  Its ports are the
 * dport of the first PORTS_SHOWN of those entries (the lowest).
 */
int
day_source_fold(const DayEntry *e, int from, int n, DaySource *out)
{
	int			to = from;

	out->src = e[from].src;
	out->packets = 0;
	out->first_us = PG_INT64_MAX;
	out->last_us = PG_INT64_MIN;
	/* no overflow: the entries' packets sum to at most PG_INT64_MAX */
	while (to < n && e[to].src == out->src)
	{
		out->packets += e[to].packets;
		out->first_us = Min(out->first_us, e[to].first_us);
		out->last_us = Max(out->last_us, e[to].last_us);
		to++;
	}
	return to;
}

/*
 * Materialize mode: the rows go straight into the tuplestore, built from
 * buffers reused row after row (a busy day has tens of thousands of
 * sources, and dashboards ask for its top ten every few seconds).
 */
PG_FUNCTION_INFO_V1(mirai_day_sources);
Datum
mirai_day_sources(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	DayEntry   *e;
	int			n,
				from = 0;
	inet		addr;
	union
	{
		ArrayType	a;
		char		b[sizeof(ArrayType) + 2 * sizeof(int) + PORTS_SHOWN * sizeof(int32) + MAXIMUM_ALIGNOF];
	}			ports;
	struct
	{
		int32		vl_len_;
		char		data[MX_COUNTRY_LEN];
	}			country;

	InitMaterializedSRF(fcinfo, 0);
	e = entries_unpack(bytes, 0, &n);
	memset(&addr, 0, sizeof(addr));
	while (from < n)
	{
		DaySource	ds;
		int			to = day_source_fold(e, from, n, &ds);
		Datum		values[7];
		bool		nulls[7] = {false};

		rollup_inet4(&addr, ds.src);
		values[0] = InetPGetDatum(&addr);
		values[1] = Int64GetDatum(ds.packets);
		values[2] = TimestampTzGetDatum(us_to_timestamptz(ds.first_us));
		values[3] = TimestampTzGetDatum(us_to_timestamptz(ds.last_us));
		if (e[from].country[0] == '\0')
			nulls[4] = true;
		else
		{
			size_t		l = strnlen(e[from].country, MX_COUNTRY_LEN);

			SET_VARSIZE(&country, VARHDRSZ + l);
			memcpy(country.data, e[from].country, l);
			values[4] = PointerGetDatum(&country);
		}
		values[5] = ports_array(&ports.a, e, from, to);
		values[6] = Int32GetDatum(to - from);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		from = to;
	}
	return (Datum) 0;
}

/*
 * part / whole as a fraction rounded to 6 decimals, as
 * round(part::numeric / whole, 6) gives it (0.410000; one packet in a
 * million still shows).  For 0 <= part <= whole <= 10^10 it is computed in
 * integers, rounded half up as numeric rounds: the same value, for
 * numeric's division keeps at least 16 digits, and a quotient of a whole
 * that small cannot come within 10^-16 of a half without being one (the
 * range functions make a share for each of millions of rows).
 */
Datum
rollup_share(int64 part, int64 whole)
{
	if (part >= 0 && whole > 0 && part <= whole && whole <= INT64CONST(10000000000))
	{
		int64		q = part * 1000000 / whole;
		int64		r = part * 1000000 % whole;

		if (2 * r >= whole)
			q++;
		return NumericGetDatum(int64_div_fast_to_numeric(q, 6));
	}
	return DirectFunctionCall2(numeric_round,
							   DirectFunctionCall2(numeric_div,
												   NumericGetDatum(int64_to_numeric(part)),
												   NumericGetDatum(int64_to_numeric(whole))),
							   Int32GetDatum(6));
}

/* mirai_share(part, whole): rollup_share, for the views. */
PG_FUNCTION_INFO_V1(mirai_share);
Datum
mirai_share(PG_FUNCTION_ARGS)
{
	return rollup_share(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
}

/*
 * mirai_whole_hours(zone, t): true when zone is a whole number of hours
 * from UTC at t; an error otherwise, since days of that zone cannot be
 * made of UTC hours (mirai_daily_packets).
 */
PG_FUNCTION_INFO_V1(mirai_whole_hours);
Datum
mirai_whole_hours(PG_FUNCTION_ARGS)
{
	char	   *zone = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(1);
	pg_tz	   *tz = pg_tzset(zone);
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", zone)));
	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, &offset, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	if (offset % SECS_PER_HOUR != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" is not a whole number of hours from UTC at %s",
						zone, timestamptz_to_str(t)),
				 errdetail("Its days do not start on a UTC hour, and the hourly rollups count UTC hours."),
				 errhint("Track the table in that zone (mirai_track(..., time_zone => '%s')) and read mirai_daily for its days.",
						 zone)));
	PG_RETURN_BOOL(true);
}

/* mirai_day_start(day, zone): day::timestamp AT TIME ZONE zone. */
PG_FUNCTION_INFO_V1(mirai_day_start);
Datum
mirai_day_start(PG_FUNCTION_ARGS)
{
	Datum		ts = DirectFunctionCall1(date_timestamp, PG_GETARG_DATUM(0));

	return DirectFunctionCall2(timestamp_zone, PG_GETARG_DATUM(1), ts);
}
