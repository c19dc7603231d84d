/*-------------------------------------------------------------------------
 *
 * rollup.h
 *		Declarations shared by the rollup files of the glue:
 *
 *	rollup.c		the statement trigger of tracked tables
 *	rollup_agg.c	folding packets (a transition table, a table scan) into
 *					(day, source, port) entries and hourly counts
 *	rollup_store.c	the rollup rows: day rows merged and written back,
 *					hourly counts, countries of new entries
 *	rollup_admin.c	mirai_track, mirai_untrack, mirai_rebuild, the per-table
 *					views, and who the code runs as
 *	rollup_views.c	the functions the views call (mirai_day_sources, ...)
 *	rollup_sources.c every source of a table over some of its days, folded
 *	rollup_partcache.c the parts' columns a backend read, by row version
 *					(mirai_bots_of, mirai_sources(from, to))
 *	rollup_scanner.c the scanner dimension: packets and distinct sources per
 *					day and scanner fingerprint
 *	fleet_*.c		fleets: a table whose partitions are on other servers
 *					(fleet.h)
 *
 * Who runs what (the rule every file follows): a user's table is read as
 * the table's owner under SECURITY_RESTRICTED_OPERATION, as VACUUM reads
 * it; the extension's own tables are written as their owner; nothing else
 * runs as the extension's owner.  Both switches pin search_path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROLLUP_H
#define ROLLUP_H

#include "postgres.h"

#include <sys/socket.h>

#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "pgtime.h"
#include "utils/inet.h"
#include "utils/tuplestore.h"

#include "mx_entries.h"

#define NS_PER_HOUR		INT64CONST(3600000000000)
#define US_PER_HOUR		INT64CONST(3600000000)
#define US_PER_QUARTER	INT64CONST(900000000)

typedef mx_day_entry DayEntry;

/* The version whose rollup tables this library writes. */
#define MIRAI_EXT_ROLLUP_VERSION "0.2.0"

/* Where the extension's objects are, and who owns the rollup tables. */
typedef struct ExtInfo
{
	Oid			nsp;
	char	   *nspname;		/* quoted */
	Oid			owner;
	Oid			packet_type;
	bool		current;		/* its SQL objects match this library */
	bool		scanners;		/* it has the scanner dimension's tables */
} ExtInfo;

/* A tracked table's settings, read from mirai_tracked. */
typedef struct Tracked
{
	Oid			relid;
	char	   *time_zone;
	bool		follow_deletes;
	AttrNumber	attnum;
} Tracked;

/* Hourly counts: hour = floor(ns / 1 hour); signed for deletions. */
typedef struct HourCount
{
	int64		hour;
	int64		mirai;
	int64		all;
} HourCount;

/* A timestamptz from Unix microseconds (within what int64 ns can say). */
static inline TimestampTz
us_to_timestamptz(int64 us)
{
	return (TimestampTz) (us - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
}

/* An IPv4 address (host order) as inet, in addr. */
static inline void
rollup_inet4(inet *addr, uint32 src)
{
	ip_family(addr) = PGSQL_AF_INET;
	ip_bits(addr) = 32;
	ip_addr(addr)[0] = src >> 24;
	ip_addr(addr)[1] = src >> 16;
	ip_addr(addr)[2] = src >> 8;
	ip_addr(addr)[3] = src;
	SET_INET_VARSIZE(addr);
}

/* The part of a day a source's entries are in, of parts (a power of two). */
static inline int
rollup_part_of(uint32 src, int parts)
{
	return (int) (murmurhash32(src) & (uint32) (parts - 1));
}

/* What one pass over a set of packets produced (rollup_agg.c). */
typedef struct RollupAgg RollupAgg;

/*
 * The scanner dimension's key: a day, the index of the first rule of the
 * catalogue that matched (SCANNER_NONE: none), a source address.  Padding
 * is zeroed: keys are hashed and compared as bytes.
 */
#define SCANNER_NONE	0xFF
typedef struct ScanKey
{
	int32		day;
	uint8		scanner;
	uint8		ipver;			/* 4 or 6 */
	uint8		addr[16];		/* network order; IPv4 in the first 4 */
	uint8		pad[2];
} ScanKey;

/* A key and its packets (signed: deletions subtract). */
typedef struct ScanEntry
{
	ScanKey		key;
	int64		packets;
} ScanEntry;

/* A source of a day's top list (rollup_top.c). */
#define TOP_SOURCES		128
typedef struct TopSource
{
	uint32		src;
	int64		packets;
	int64		first_us;
	int64		last_us;
	char		country[MX_COUNTRY_LEN];
} TopSource;

typedef struct TopList
{
	int			n;
	int64		rest_max;		/* at least the packets of any other source */
	TopSource	s[TOP_SOURCES];	/* packets descending, then address */
} TopList;

/* A source and its first day (rollup_dict.c). */
typedef struct DictSource
{
	uint32		src;
	int32		first_day;
} DictSource;

/* Countries of new entries, looked up once per source and statement. */
typedef struct CountryLookup CountryLookup;

/* Where the country of an entry comes from. */
typedef enum CountryMode
{
	COUNTRIES_KEEP,				/* stored ones kept, new ones looked up */
	COUNTRIES_GIVEN,			/* the entries carry theirs (conversion) */
	COUNTRIES_FRESH				/* every one looked up again (re-geolocation) */
} CountryMode;

/* The statements on the rollup tables (rollup_store.c). */
typedef struct RollupPlans
{
	bool		valid;
	char		nspname[2 * NAMEDATALEN + 3];
	SPIPlanPtr	tracked;		/* a table's settings */
	SPIPlanPtr	day_lock;		/* SELECT a day row ... FOR UPDATE */
	SPIPlanPtr	day_insert;		/* an empty day row, ON CONFLICT DO NOTHING */
	SPIPlanPtr	day_update;		/* a locked day row's new totals */
	SPIPlanPtr	part_lock;		/* SELECT a part's entries ... FOR UPDATE */
	SPIPlanPtr	part_upsert;	/* a part's new entries */
	SPIPlanPtr	part_delete;	/* a part left empty */
	SPIPlanPtr	parts_lock;		/* every part of a day, FOR UPDATE */
	SPIPlanPtr	part_read;		/* a part's entries, to read */
	SPIPlanPtr	bloom_read;		/* a part's Bloom filter, to read */
	SPIPlanPtr	parts_read;		/* every part of a day, to read */
	SPIPlanPtr	hours_add;		/* upsert of hourly counts */
	SPIPlanPtr	hours_prune;	/* hours left with no packet */
	SPIPlanPtr	range_tables;	/* the tracked tables, or one */
	SPIPlanPtr	range_days;		/* a table's day rows starting in a range */
	SPIPlanPtr	range_parts;	/* the versions of the parts of some days */
} RollupPlans;

/* What a role switch saved. */
typedef struct RoleSwitch
{
	Oid			userid;
	int			sec;
	int			nestlevel;
} RoleSwitch;

/* rollup_admin.c */
extern void rollup_ext_info(Oid fn_oid, ExtInfo *info);
extern void rollup_ext_info_in(Oid nsp, ExtInfo *info);
extern void rollup_require_current(const ExtInfo *info);
extern void rollup_as_ext_owner(const ExtInfo *info, RoleSwitch *saved);
extern void rollup_as_table_owner(Oid relid, RoleSwitch *saved);
extern void rollup_role_end(RoleSwitch *saved);
extern AttrNumber rollup_packet_column(TupleDesc desc, Oid packet_type, Oid relid);
extern pg_tz *rollup_zone(const char *name);

/* rollup_agg.c */
extern RollupAgg *agg_create(pg_tz *tz, int64 rows);
extern void agg_only_days(RollupAgg *agg, int32 *days, int ndays);
extern void agg_only_scanners(RollupAgg *agg, int32 from, int32 to);
extern void agg_tuplestore(RollupAgg *agg, Tuplestorestate *ts, TupleDesc desc,
						   AttrNumber attnum);
extern void agg_table(RollupAgg *agg, const ExtInfo *info, Oid relid, AttrNumber attnum);
extern void agg_add(RollupAgg *agg, Datum value);
extern void agg_finish(RollupAgg *agg);
extern DayEntry *agg_entries(RollupAgg *agg, int *n);
extern HourCount *agg_hours(RollupAgg *agg, int sign, int *n);
extern ScanEntry *agg_scanners(RollupAgg *agg, int *n);
extern uint64 *radix_sort_u64(uint64 *a, uint64 *tmp, int n, int nbytes);
/* palloc (huge) of the rollups' large arrays, backed by huge pages if allowed */
extern void *rollup_alloc(Size size);
extern void *rollup_realloc(void *p, Size size);
extern void *rollup_room(void **buf, Size *cap, Size n, Size size);

/*
 * rollup_store.c and rollup_day.c: each exported function runs its
 * statements as the extension's owner (the callers need not switch).
 */
extern const RollupPlans *rollup_plans(const ExtInfo *info);
extern bool read_tracked(const ExtInfo *info, Oid relid, Tracked *t);
extern bool trigger_tracked(const ExtInfo *info, Oid tgoid, Oid relid, Tracked *t);
extern void write_hours(const ExtInfo *info, Oid relid, HourCount *h, int n);
extern void clear_rollups(const ExtInfo *info, Oid relid, bool days_only,
						  const int32 *keep_days, int nkeep);
extern uint64 store_exec(const ExtInfo *info, const char *sql, int nargs,
						 Oid *argtypes, Datum *values, const char *nulls, int expect);

/* rollup_day.c */
extern CountryLookup *country_lookup(CountryMode mode);
extern void apply_days(const ExtInfo *info, Oid relid,
					   DayEntry *add, int nadd, DayEntry *sub, int nsub,
					   CountryLookup *cl, int32 **stale_days, int *n_stale,
					   DictSource **gone, int *n_gone);
extern void replace_days(const ExtInfo *info, Oid relid, const int32 *days, int ndays,
						 DayEntry *e, int n, CountryLookup *cl);
extern DayEntry *entries_unpack(bytea *b, int32 day, int *n);
extern DayEntry *entries_unpack_buf(const uint8 *p, size_t len, int32 day, int *n);
extern void entries_error(const mx_error *err) pg_attribute_noreturn();
extern bytea *entries_pack_value(const DayEntry *e, int n);

/* A part's sources as a Bloom filter (rollup_day.c). */
extern bytea *bloom_build(const DayEntry *e, int n, bytea **buf, Size *cap);
extern bool bloom_may_have(bytea *bloom, uint32 src);

/* rollup_views.c: a source's entries of a day, folded */
#define PORTS_SHOWN		32		/* ports listed per source and day, at most */
typedef struct DaySource
{
	uint32		src;
	int64		packets;
	int64		first_us;
	int64		last_us;
} DaySource;
extern int	day_source_fold(const DayEntry *e, int from, int n, DaySource *out);
extern Datum rollup_share(int64 part, int64 whole);

/* rollup_sources.c: every source of a table's days, folded */
typedef struct FoldedSource
{
	uint32		src;
	int32		first_day;
	int32		last_day;
	int64		days;
	int64		packets;
	int64		first_us;
	int64		last_us;
	const char *country;		/* of its first day; "" unknown */
	uint32		head;			/* its first pair, and its last */
	uint32		tail;
} FoldedSource;
typedef struct SourceFold SourceFold;
extern SourceFold *fold_open(const ExtInfo *info, Oid relid, const int32 *days, int ndays);
extern const FoldedSource *fold_next(SourceFold *f);
extern int	fold_ports(SourceFold *f, const FoldedSource *s, uint16 **ports);
extern int	ports_distinct(uint16 *ports, int n);

/* rollup_range.c: mirai_bots' rows of a table looked up (rollup_bots.c) */
typedef struct BotRow
{
	uint32		src;
	int32		first_day;
	int32		last_day;
	int64		days;
	int64		packets;
	int64		first_us;
	int64		last_us;
	char		country[MX_COUNTRY_LEN];	/* of its first day; "" unknown */
	uint16	   *ports;			/* distinct, ascending */
	int			nports;
} BotRow;
extern void bots_rows(const ExtInfo *info, Oid relid, const char *zone, const uint32 *src,
					  int n, BotRow *out);
extern int	bots_top(const ExtInfo *info, Oid relid, const char *zone, int n, uint32 *src,
					 int64 *packets);

/* rollup_partcache.c: the parts' columns a backend read, by row version */
typedef enum PartColumn
{
	PART_BLOOM,
	PART_ENTRIES_COLUMN,
	PART_ENTRIES_MARKS			/* made from the entries (rollup_range.c) */
} PartColumn;
extern void partcache_begin(void);
extern bytea *partcache_get(Oid relid, int32 day, int32 part, PartColumn column,
							TransactionId xmin, ItemPointer ctid);
extern bytea *partcache_put(Oid relid, int32 day, int32 part, PartColumn column,
							TransactionId xmin, ItemPointer ctid, bytea *value);
extern bool partcache_keeps(Size len);

/* rollup_scanner.c */
extern void rollup_require_scanners(const ExtInfo *info);
extern ScanEntry *scanners_diff(ScanEntry *a, int na, ScanEntry *b, int nb, int *n);
extern void scanners_apply(const ExtInfo *info, Oid relid, const ScanEntry *e, int n);
extern void scanners_clear(const ExtInfo *info, Oid relid, int32 from, int32 to);

/* rollup_store.c: every part of a table, in day order */
typedef void (*PartFn) (int32 day, DayEntry *e, int n, void *arg);
extern void parts_foreach(const ExtInfo *info, Oid relid, const int32 *days, int ndays,
						  bool read_only, PartFn fn, void *arg);

/* rollup_store.c: a statement prepared once per backend */
extern SPIPlanPtr rollup_keep_plan(const char *sql, int nargs, Oid *argtypes);

/* rollup.c */
extern void rollup_fold(const ExtInfo *info, Tracked *t, pg_tz *tz, RollupAgg *add,
						RollupAgg *sub);

/* rollup_dict.c */
extern void dict_add(const ExtInfo *info, Oid relid, const DayEntry *e, int n);
extern void dict_forget(const ExtInfo *info, Oid relid, const DictSource *gone, int n);
extern void dict_rebuild(const ExtInfo *info, Oid relid);

/* rollup_top.c */
extern void top_decode(bytea *b, TopList *t);
extern bytea *top_encode(const TopList *t);
extern int	top_sources_of(const DayEntry *e, int n, const uint32 *only, int n_only,
						   TopSource *out);
extern void top_build(TopList *t, const TopSource *all, int n);
extern bool top_update(TopList *t, const TopSource *changed, int n);

#endif							/* ROLLUP_H */
