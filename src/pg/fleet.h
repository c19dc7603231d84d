/*-------------------------------------------------------------------------
 *
 * fleet.h
 *		Fleets: a tracked partitioned table some of whose partitions are
 *		foreign tables on other servers (postgres_fdw), its sensors.
 *
 *	fleet_remote.c	which servers a fleet table's rows are on, and reading
 *					their rollups through postgres_fdw's connections (the
 *					current role's user mapping), validated
 *	fleet_merge.c	merging the days of several servers: packets summed,
 *					sources counted once, entries of one (source, port)
 *					combined
 *	fleet_views.c	the functions the views call for a fleet table
 *	fleet_trigger.c	the rows of its local partitions: row triggers that
 *					feed the rollups at the end of each statement
 *
 * A sensor keeps the rollups of its own rows, as any tracked table does;
 * the coordinator keeps those of its local partitions, and its views read
 * the sensors' rollups at each query and merge them with its own: nothing
 * is copied, so a sensor's load shows at once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FLEET_H
#define FLEET_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "rollup.h"

/*
 * What a read is for: on the coordinator, the per-table view whose SELECT
 * privilege (or the table's) it needs; on each sensor, what it reads there
 * (see fleet_remote.c).
 */
typedef enum FleetRead
{
	FLEET_READ_DAILY,			/* days, with their distinct sources */
	FLEET_READ_SOURCES,			/* days and their entries */
	FLEET_READ_COUNTRIES,		/* packets per day and country */
	FLEET_READ_HOURS			/* Mirai and all packets per UTC hour */
} FleetRead;

/* A fleet table, opened for one read (fleet_remote.c). */
typedef struct Fleet Fleet;

/* The packed entries of a part of a day, from member (0: the coordinator). */
typedef struct FleetPart
{
	int32		day;
	int			member;
	const uint8 *data;
	size_t		len;
} FleetPart;

/* Packets of a day, or of a day and country ("" unknown). */
typedef struct FleetCount
{
	int32		day;
	char		country[MX_COUNTRY_LEN];
	int64		packets;
} FleetCount;

/* A day of a fleet table with its distinct sources (fleet_merge.c). */
typedef struct FleetDay
{
	int32		day;
	int64		packets;
	int64		sources;
	int64		new_sources;	/* first seen that day, fleet-wide */
} FleetDay;

/* fleet_remote.c */
extern bool fleet_is(Oid relid);
extern List *fleet_local_relations(Oid relid, bool leaves_only);
extern Fleet *fleet_open(const ExtInfo *info, Oid relid, FleetRead read);
extern int	fleet_members(Fleet *f);
extern const char *fleet_time_zone(Fleet *f);
extern void fleet_context_push(Fleet *f, int member, ErrorContextCallback *cb);
extern FleetPart *fleet_parts(Fleet *f, int32 from_day, int32 to_day, int *n);
extern FleetCount *fleet_day_packets(Fleet *f, int *n);
extern FleetCount *fleet_day_countries(Fleet *f, int *n);
extern HourCount *fleet_hours(Fleet *f, int *n);
extern void fleet_release(Fleet *f);

/* fleet_merge.c */
extern FleetDay *fleet_count_sources(Fleet *f, const FleetPart *parts, int nparts,
									 bool new_sources, int *ndays);
extern DayEntry *fleet_merge_day(Fleet *f, const FleetPart *parts, int nparts, int *n);
extern FleetCount *fleet_sum_counts(FleetCount *c, int n, bool by_country, int *nout);
extern HourCount *fleet_sum_hours(HourCount *h, int n, int *nout);

/* fleet_trigger.c */
extern void fleet_forget_pending(Oid relid);
extern void fleet_make_triggers(const ExtInfo *info, Oid relid, bool follow_deletes);
extern void fleet_flush_triggers(const ExtInfo *info, Oid relid);
extern bool fleet_tracked_by_rows(Oid relid);
extern void fleet_drop_triggers(const ExtInfo *info, Oid relid);

/* fleet_views.c */
extern bool fleet_may_read(Oid relid, Oid handle);
extern bool rollup_may_read(const ExtInfo *info, Oid relid, const char *handle, char **zone);

#endif							/* FLEET_H */
