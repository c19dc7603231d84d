/*-------------------------------------------------------------------------
 *
 * rollup.c
 *		The statement trigger of tracked packet tables.
 *
 * A tracked table (mirai_track, rollup_admin.c) has AFTER ... FOR EACH
 * STATEMENT triggers with transition tables that call
 * mirai_rollup_trigger.  Each statement's new (or, when rollups follow
 * deletes, old) rows are scanned once, in C (rollup_agg.c), and folded
 * into the rollup rows (rollup_store.c) in the same transaction:
 *
 *	INSERT, COPY	the new rows are added;
 *	DELETE			the old rows are subtracted (rollups that follow
 *					deletes); a day whose first or last packet of a source
 *					may have gone is recomputed from the table;
 *	UPDATE			old rows subtracted, new rows added, in one pass over
 *					the days; an UPDATE that changes no packet changes
 *					nothing, and one that changes packets of a table whose
 *					rollups keep history is refused;
 *	TRUNCATE		the rollups start again from zero (rollups that follow
 *					deletes).
 *
 * The scanner dimension (rollup_scanner.c) takes the same rows: packets
 * per (day, scanner, source), the old rows' subtracted from the new rows'.
 *
 * The transition tables are read as stored bytes, so nothing of the
 * user's runs here; a day recomputed from the table is read as the table's
 * owner under SECURITY_RESTRICTED_OPERATION (agg_table); the rollup rows
 * are written as their owner (rollup_store.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "fleet.h"
#include "mirai_ext.h"
#include "rollup.h"

/* A statement's rows, aggregated; NULL when it has none. */
static RollupAgg *
aggregate(Tuplestorestate *ts, Relation rel, pg_tz *tz, AttrNumber attnum)
{
	RollupAgg  *agg;

	if (ts == NULL || tuplestore_tuple_count(ts) == 0)
		return NULL;
	agg = agg_create(tz, tuplestore_tuple_count(ts));
	agg_tuplestore(agg, ts, RelationGetDescr(rel), attnum);
	return agg;
}

/* Hourly counts a - b (both sorted by hour), zero hours dropped. */
static HourCount *
hours_diff(HourCount *a, int na, HourCount *b, int nb, int *n)
{
	HourCount  *out = palloc(sizeof(HourCount) * Max(na + nb, 1));
	int			i = 0,
				j = 0,
				k = 0;

	while (i < na || j < nb)
	{
		HourCount	h;

		if (j >= nb || (i < na && a[i].hour < b[j].hour))
			h = a[i++];
		else if (i >= na || b[j].hour < a[i].hour)
		{
			h = b[j++];
			h.mirai = -h.mirai;
			h.all = -h.all;
		}
		else
		{
			h = a[i++];
			h.mirai -= b[j].mirai;
			h.all -= b[j++].all;
		}
		if (h.mirai != 0 || h.all != 0)
			out[k++] = h;
	}
	*n = k;
	return out;
}

/* Order of entries by (day, src, dport). */
static int
entry_order(const DayEntry *x, const DayEntry *y)
{
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return 0;
}

/*
 * Drop the entries that are the same in both sorted arrays (an UPDATE's
 * rows whose packets did not change): adding and subtracting them would
 * change nothing but could make their day look stale.
 */
static void
cancel_equal(DayEntry *a, int *na, DayEntry *b, int *nb)
{
	int			i = 0,
				j = 0,
				ka = 0,
				kb = 0;

	while (i < *na || j < *nb)
	{
		int			c = i >= *na ? 1 : j >= *nb ? -1 : entry_order(&a[i], &b[j]);

		if (c == 0 && a[i].packets == b[j].packets &&
			a[i].first_us == b[j].first_us && a[i].last_us == b[j].last_us)
		{
			i++;
			j++;
			continue;
		}
		if (c <= 0)
			a[ka++] = a[i++];
		if (c >= 0)
			b[kb++] = b[j++];
	}
	*na = ka;
	*nb = kb;
}

/*
 * Recompute the given days (sorted) of a table from its rows, keeping the
 * countries already stored.  Their rows exist and are locked.
 */
static void
recompute_days(const ExtInfo *info, Tracked *t, pg_tz *tz, int32 *days, int ndays)
{
	RollupAgg  *agg;
	DayEntry   *e;
	int			n;

	if (ndays == 0)
		return;
	agg = agg_create(tz, 0);
	agg_only_days(agg, days, ndays);
	agg_table(agg, info, t->relid, t->attnum);
	e = agg_entries(agg, &n);
	replace_days(info, t->relid, days, ndays, e, n, NULL);
}

/*
 * Fold a statement's new rows (add) and old rows (sub) into the rollups;
 * either may be NULL.  Also what the row triggers of a fleet table's local
 * partitions fold at the end of a statement (fleet_trigger.c).
 */
void
rollup_fold(const ExtInfo *info, Tracked *t, pg_tz *tz, RollupAgg *add, RollupAgg *sub)
{
	DayEntry   *ea = NULL,
			   *es = NULL;
	HourCount  *ha = NULL,
			   *hs = NULL,
			   *h;
	ScanEntry  *sa = NULL,
			   *ss = NULL,
			   *sc;
	int			na = 0,
				ns = 0,
				nha = 0,
				nhs = 0,
				nh,
				nsa = 0,
				nss = 0,
				nsc,
				nstale,
				ngone;
	int32	   *stale;
	DictSource *gone;

	rollup_require_scanners(info);
	if (add)
	{
		ea = agg_entries(add, &na);
		ha = agg_hours(add, 1, &nha);
		sa = agg_scanners(add, &nsa);
	}
	if (sub)
	{
		es = agg_entries(sub, &ns);
		hs = agg_hours(sub, 1, &nhs);
		ss = agg_scanners(sub, &nss);
	}
	h = hours_diff(ha, nha, hs, nhs, &nh);
	sc = scanners_diff(sa, nsa, ss, nss, &nsc);
	if (add && sub)
	{
		cancel_equal(ea, &na, es, &ns);
		if (nh == 0 && na == 0 && ns == 0 && nsc == 0)
			return;				/* an UPDATE that changed no packet */
	}
	if (add && sub && !t->follow_deletes)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot update packets of table \"%s\"", get_rel_name(t->relid)),
				 errdetail("Its rollups keep every packet ever inserted (on_delete 'keep'), so changed packets cannot be counted."),
				 errhint("Update other columns only, or track the table with on_delete 'follow'.")));
	apply_days(info, t->relid, ea, na, es, ns, country_lookup(COUNTRIES_KEEP), &stale, &nstale,
			   &gone, &ngone);
	dict_add(info, t->relid, ea, na);
	write_hours(info, t->relid, h, nh);
	recompute_days(info, t, tz, stale, nstale);
	dict_forget(info, t->relid, gone, ngone);
	scanners_apply(info, t->relid, sc, nsc);
}

PG_FUNCTION_INFO_V1(mirai_rollup_trigger);
Datum
mirai_rollup_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trig = (TriggerData *) fcinfo->context;
	Relation	rel;
	ExtInfo		info;
	Tracked		t;
	Oid			relid;
	TriggerEvent ev;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trig->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trig->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger must be an AFTER ... FOR EACH STATEMENT trigger")));
	rel = trig->tg_relation;
	relid = RelationGetRelid(rel);
	ev = trig->tg_event & TRIGGER_EVENT_OPMASK;
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger fires on tables only")));
	if ((ev == TRIGGER_EVENT_INSERT && trig->tg_newtable == NULL) ||
		(ev == TRIGGER_EVENT_DELETE && trig->tg_oldtable == NULL) ||
		(ev == TRIGGER_EVENT_UPDATE && (trig->tg_oldtable == NULL || trig->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mirai_rollup_trigger needs transition tables"),
				 errhint("Create it with REFERENCING NEW TABLE (or OLD TABLE) AS ...; mirai_track does.")));
	if (ev != TRIGGER_EVENT_TRUNCATE &&
		(trig->tg_newtable == NULL || tuplestore_tuple_count(trig->tg_newtable) == 0) &&
		(trig->tg_oldtable == NULL || tuplestore_tuple_count(trig->tg_oldtable) == 0))
		return PointerGetDatum(NULL);

	rollup_ext_info(fcinfo->flinfo->fn_oid, &info);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (trigger_tracked(&info, trig->tg_trigger->tgoid, relid, &t))
	{
		pg_tz	   *tz = rollup_zone(t.time_zone);

		t.attnum = rollup_packet_column(RelationGetDescr(rel), info.packet_type, relid);
		switch (ev)
		{
			case TRIGGER_EVENT_INSERT:
				rollup_fold(&info, &t, tz, aggregate(trig->tg_newtable, rel, tz, t.attnum), NULL);
				break;
			case TRIGGER_EVENT_DELETE:
				if (t.follow_deletes)
					rollup_fold(&info, &t, tz, NULL, aggregate(trig->tg_oldtable, rel, tz, t.attnum));
				break;
			case TRIGGER_EVENT_UPDATE:
				{
					RollupAgg  *add = aggregate(trig->tg_newtable, rel, tz, t.attnum);
					RollupAgg  *sub = aggregate(trig->tg_oldtable, rel, tz, t.attnum);

					if (add && sub)
						rollup_fold(&info, &t, tz, add, sub);
					break;
				}
			case TRIGGER_EVENT_TRUNCATE:
				/* rollups that follow deletes start again from zero */
				if (t.follow_deletes)
				{
					clear_rollups(&info, relid, false, NULL, 0);
					fleet_forget_pending(relid);
				}
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						 errmsg("mirai_rollup_trigger fires on INSERT, UPDATE, DELETE or TRUNCATE only")));
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
