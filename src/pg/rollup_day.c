/*-------------------------------------------------------------------------
 *
 * rollup_day.c
 *		A day's rollups: its row of totals and its entries, split in parts.
 *
 * The (source, destination port) entries of a day are split by a hash of
 * the source into day.parts parts (a power of two), each a row of
 * mirai_rollup_part holding its packed entries (src/decode/mx_entries.h).
 * A statement locks the day row, then the parts its sources fall in, in
 * ascending order, merges its entries into each and writes back only those
 * parts: on a day of a million sources, a one-row insert rewrites one part
 * of a few thousand entries, not the day.  The day row keeps the totals
 * (packets, distinct sources, packets per country, entries), updated from
 * the difference each part made.
 *
 * A day splits when its entries would exceed PART_ENTRIES a part: the
 * parts are read and written again at twice (or more) the number, so the
 * cost of splitting is paid once per doubling.  A part's packed size is
 * checked against mirai_ext.rollup_part_limit before it is written: with
 * PART_ENTRIES and at most 65,536 entries a source (one a port), a part
 * stays within a few megabytes, and the check turns a fault into a clear
 * error long before PostgreSQL's 1 GB limit.
 *
 * Invariants:
 *	- every count is exactly the GROUP BY over the table's current rows
 *	  (rollups that follow deletes) or over every row ever inserted
 *	  (rollups kept as history);
 *	- a part is changed only while its day row is locked (SELECT ... FOR
 *	  UPDATE), days in ascending order, then hours in ascending order, so
 *	  concurrent loaders neither lose nor double a count and cannot
 *	  deadlock each other within single-statement transactions;
 *	- the country of an entry is the GeoIP answer when the entry was first
 *	  made, and never changes afterwards (except by mirai_rebuild with
 *	  countries);
 *	- the sources of a part are exactly those whose hash falls in it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "mirai_ext.h"
#include "rollup.h"

#define PART_ENTRIES	4096	/* entries of a part before its day splits */
#define MAX_PARTS		(1 << 20)
#define COUNTRY_SLOTS	4096	/* > 2 * (MX_MAX_COUNTRIES + 1), a power of 2 */

typedef enum MergeMode
{
	MERGE_ADD,					/* rows inserted */
	MERGE_SUBTRACT,				/* rows deleted */
	MERGE_REPLACE				/* day recomputed from the table */
} MergeMode;

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
	bool		enabled;		/* a GeoIP database is configured */
	CountryMode mode;
	countryhash_hash *cache;	/* made at the first lookup */
};

/*
 * Lazy country lookups for one statement (when GeoIP is configured), or,
 * COUNTRIES_GIVEN, none: the entries carry their countries (converting
 * stored rollups).
 */
CountryLookup *
country_lookup(CountryMode mode)
{
	const char *db = GetConfigOption("mirai_ext.geoip_database", true, false);
	CountryLookup *cl = palloc0(sizeof(CountryLookup));

	cl->enabled = db != NULL && db[0] != '\0';
	cl->mode = mode;
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

	if (cl != NULL && cl->mode == COUNTRIES_GIVEN)
		return;
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

/*
 * The countries of a set of entries: names[0] is "" (unknown), packets per
 * country, and for packing which country each entry has.
 */
typedef struct CountryDict
{
	int			n;
	char		(*names)[MX_COUNTRY_LEN];
	int64	   *packets;
	uint32	   *index;			/* per entry, when asked for */
	Size		capindex;
	int32	   *slots;			/* open addressing: code -> index + 1 */
} CountryDict;

/*
 * The working arrays of the parts a statement reads, merges and writes,
 * kept from one part (and day) to the next.  Arrays allocated and freed for
 * each part were given back to the system and faulted in again for the
 * next: on a flooded day of 256 parts, 12 thousand page faults and a third
 * of the day's time on a virtual machine, where a fresh page costs ~13 us.
 */
typedef struct PartWork
{
	DayEntry   *batch[2];		/* a part's entries of what was added, subtracted */
	Size		capbatch[2];
	DayEntry   *stored;			/* a part's entries as read */
	Size		capstored;
	DayEntry   *merged[2];		/* merged with what was added, subtracted */
	Size		capmerged[2];
	bytea	   *packed;			/* entries to write */
	Size		cappacked;
	bytea	   *bloom;			/* their Bloom filter */
	Size		capbloom;
	CountryDict dict;			/* their countries */
	uint32	   *touched;		/* the sources of a part a statement touched */
	Size		captouched;
	TopSource  *changed;		/* and their new totals */
	Size		capchanged;
} PartWork;

static inline uint32
country_slot(const char *name)
{
	uint64		k;

	memcpy(&k, name, 8);
	return (uint32) ((k * UINT64CONST(0x9E3779B97F4A7C15)) >> 40) & (COUNTRY_SLOTS - 1);
}

/* Index of name in the dictionary, adding it when new. */
static int
dict_index(CountryDict *d, const char *name)
{
	uint32		s = country_slot(name);

	StaticAssertStmt(COUNTRY_SLOTS > 2 * (MX_MAX_COUNTRIES + 1), "the slots stay at most half full");
	while (d->slots[s] != 0)
	{
		int			i = d->slots[s] - 1;

		if (memcmp(d->names[i], name, MX_COUNTRY_LEN) == 0)
			return i;
		s = (s + 1) & (COUNTRY_SLOTS - 1);
	}
	if (d->n > MX_MAX_COUNTRIES)
		elog(ERROR, "more than %d countries in one rollup day", MX_MAX_COUNTRIES);
	memcpy(d->names[d->n], name, MX_COUNTRY_LEN);
	d->packets[d->n] = 0;
	d->slots[s] = d->n + 1;
	return d->n++;
}

/*
 * The country dictionary of entries (index per entry when with_index), in
 * d's arrays when it has them (a dictionary built again), else new ones (d
 * zeroed).
 */
static void
dict_build(CountryDict *d, const DayEntry *e, int n, bool with_index)
{
	static const char unknown[MX_COUNTRY_LEN] = {0};
	int			i,
				last = 0;

	if (d->names == NULL)
	{
		d->names = palloc(sizeof(*d->names) * (MX_MAX_COUNTRIES + 1));
		d->packets = palloc(sizeof(int64) * (MX_MAX_COUNTRIES + 1));
		d->slots = palloc(sizeof(int32) * COUNTRY_SLOTS);
	}
	memset(d->slots, 0, sizeof(int32) * COUNTRY_SLOTS);
	d->n = 0;
	if (with_index)
		rollup_room((void **) &d->index, &d->capindex, Max(n, 1), sizeof(uint32));
	(void) dict_index(d, unknown);
	for (i = 0; i < n; i++)
	{
		/* entries of one source are adjacent and share a country */
		if (i == 0 || e[i].src != e[i - 1].src ||
			memcmp(e[i].country, e[i - 1].country, MX_COUNTRY_LEN) != 0)
			last = dict_index(d, e[i].country);
		if (with_index)
			d->index[i] = last;
		d->packets[last] += e[i].packets;
	}
}

/* ----------------------------------------------------------------------
 * Entries
 * ----------------------------------------------------------------------
 */

/*
 * Unpack packed entries of a day (day copied into each) into *buf, an
 * array kept from one use to the next (rollup_room), or an error saying
 * what is wrong and where.
 */
static DayEntry *
entries_unpack_into(const uint8 *p, size_t len, int32 day, int *n, DayEntry **buf, Size *cap)
{
	size_t		count,
				i;
	DayEntry   *e;
	mx_error	err;

	if (mx_entries_count(p, len, &count, &err) == MX_OK)
	{
		e = rollup_room((void **) buf, cap, Max(count, 1), sizeof(DayEntry));
		if (mx_entries_unpack(p, len, e, count, &err) == MX_OK)
		{
			for (i = 0; i < count; i++)
				e[i].day = day;
			*n = (int) count;
			return e;
		}
	}
	entries_error(&err);
	return NULL;				/* keep the compiler quiet */
}

/* Unpack packed entries into a new array (entries_unpack_into). */
DayEntry *
entries_unpack(bytea *b, int32 day, int *n)
{
	return entries_unpack_buf((const uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), day, n);
}

/* entries_unpack of bytes (a sensor's answer, fleet_merge.c). */
DayEntry *
entries_unpack_buf(const uint8 *p, size_t len, int32 day, int *n)
{
	DayEntry   *e = NULL;
	Size		cap = 0;

	return entries_unpack_into(p, len, day, n, &e, &cap);
}

/* The error of packed entries that mx_entries_* refused: what, and where. */
void
entries_error(const mx_error *err)
{
	char		where[256];

	if (err->packetno > 0)
		snprintf(where, sizeof(where), "At entry %llu, byte offset %llu, field %s.",
				 (unsigned long long) err->packetno,
				 (unsigned long long) err->offset, err->field);
	else
		snprintf(where, sizeof(where), "In the header, at byte offset %llu, field %s.",
				 (unsigned long long) err->offset, err->field);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt rollup entries: %s", err->message),
			 errdetail("%s", where),
			 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
}

/*
 * Pack sorted entries (their dictionary d built with the index), or an
 * error when the result would exceed mirai_ext.rollup_part_limit.
 */
static bytea *
entries_pack(Oid relid, int32 day, const DayEntry *e, int n, const CountryDict *d,
			 bytea **buf, Size *cap)
{
	Size		bound = VARHDRSZ + mx_entries_pack_bound(n, d->n);
	Size		limit = (Size) mirai_rollup_part_limit * 1024;
	bytea	   *b;
	Size		len;

	if (bound > MaxAllocHugeSize)
		elog(ERROR, "rollup part too large to pack");
	b = rollup_room((void **) buf, cap, bound, 1);
	len = mx_entries_pack(e, n, (const char (*)[MX_COUNTRY_LEN]) d->names, d->n, d->index,
						  (uint8 *) VARDATA(b));
	if (len > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rollup part of table \"%s\", day %s, would take %zu bytes",
						get_rel_name(relid),
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))), len),
				 errdetail("The limit is mirai_ext.rollup_part_limit, %d kB; the part holds %d (source, port) entries.",
						   mirai_rollup_part_limit, n),
				 errhint("Parts split as a day grows; a part this large holds the ports of few sources.")));
	SET_VARSIZE(b, VARHDRSZ + len);
	return b;
}

/*
 * Pack entries sorted by (src, dport), without repeats, into a value that
 * is not stored: a fleet's day merged from its servers' parts
 * (fleet_merge.c).  Bounded by what a bytea can hold, not by
 * mirai_ext.rollup_part_limit.
 */
bytea *
entries_pack_value(const DayEntry *e, int n)
{
	CountryDict d = {0};
	Size		bound;
	bytea	   *b;
	Size		len;

	dict_build(&d, e, n, true);
	bound = VARHDRSZ + mx_entries_pack_bound(n, d.n);
	if (bound > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the entries of a day are too many to return as one value"),
				 errdetail("The day has %d (source, port) entries.", n)));
	b = palloc(bound);
	len = mx_entries_pack(e, n, (const char (*)[MX_COUNTRY_LEN]) d.names, d.n, d.index,
						  (uint8 *) VARDATA(b));
	SET_VARSIZE(b, VARHDRSZ + len);
	return b;
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
 * Merge the batch entries b[0..nb) into the stored entries s[0..ns), both
 * sorted by (src, dport).  A new entry takes the country of its source's
 * other entries that day when there are any, else the GeoIP answer (cl).
 * Sets *stale when a deletion may have removed an entry's first or last
 * packet (the day must be recomputed from the table).  Returns the merged
 * entries: b itself when nothing is stored, else *buf (rollup_room).
 */
static DayEntry *
merge_entries(DayEntry *s, int ns, DayEntry *b, int nb, MergeMode mode,
			  int *nout, bool *stale, Oid relid, CountryLookup *cl,
			  DayEntry **buf, Size *cap)
{
	DayEntry   *out;
	int			i = 0,
				j = 0,
				k = 0;

	if (ns == 0 && mode != MERGE_SUBTRACT)
	{
		/* nothing stored: the batch, with the countries of its sources */
		for (j = 0; j < nb; j++)
			if (j > 0 && b[j].src == b[j - 1].src)
				memcpy(b[j].country, b[j - 1].country, MX_COUNTRY_LEN);
			else
				country_of(cl, b[j].src, b[j].country);
		*nout = nb;
		return b;
	}
	out = rollup_room((void **) buf, cap, Max((Size) ns + nb, 1), sizeof(DayEntry));

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

static int
entry_src_cmp(const void *a, const void *b)
{
	const DayEntry *x = a;
	const DayEntry *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	return 0;
}

/* ----------------------------------------------------------------------
 * Day rows and their parts
 * ----------------------------------------------------------------------
 */

/* A day row's totals, as read and as they will be written. */
typedef struct DayRow
{
	int64		packets;
	int64		sources;
	int64		nentries;
	int			parts;
	int			ncountries;		/* names[0] is "" (unknown) */
	char		(*names)[MX_COUNTRY_LEN];
	int64	   *cpackets;
	TopList		top;			/* the day's top sources (rollup_top.c) */
} DayRow;

/* The parts a day of n entries needs: a power of two. */
static int
parts_for(int64 n)
{
	int			p = 1;

	while (p < MAX_PARTS && (int64) p * PART_ENTRIES < n)
		p <<= 1;
	return p;
}

/* Add sign times the packets per country of d to the day's. */
static void
dayrow_add_countries(DayRow *r, const CountryDict *d, int sign)
{
	int			i,
				j;

	for (i = 0; i < d->n; i++)
	{
		if (d->packets[i] == 0)
			continue;
		for (j = 0; j < r->ncountries; j++)
			if (memcmp(r->names[j], d->names[i], MX_COUNTRY_LEN) == 0)
				break;
		if (j == r->ncountries)
		{
			if (r->ncountries > MX_MAX_COUNTRIES)
				elog(ERROR, "more than %d countries in one rollup day", MX_MAX_COUNTRIES);
			memcpy(r->names[j], d->names[i], MX_COUNTRY_LEN);
			r->cpackets[j] = 0;
			r->ncountries++;
		}
		r->cpackets[j] += sign * d->packets[i];
	}
}

/* Add sign times what entries e[0..n) hold to the day's totals (w's dictionary). */
static void
dayrow_add(DayRow *r, const DayEntry *e, int n, int sign, PartWork *w)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		r->packets += sign * e[i].packets;
		if (i == 0 || e[i].src != e[i - 1].src)
			r->sources += sign;
	}
	r->nentries += sign * n;
	dict_build(&w->dict, e, n, false);
	dayrow_add_countries(r, &w->dict, sign);
}

/*
 * Lock a day row and read its totals; false (and nothing locked) when
 * there is no row.
 */
static bool
dayrow_lock(const RollupPlans *pl, Oid relid, int32 day, DayRow *r)
{
	Datum		values[2];
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	Datum	   *cn,
			   *cp;
	bool	   *cnn;
	int			nn,
				np,
				i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	if (SPI_execute_plan(pl->day_lock, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking mirai_rollup_day failed");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	r->packets = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	r->sources = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)),
					  TEXTOID, -1, false, TYPALIGN_INT, &cn, &cnn, &nn);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
					  INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &cp, NULL, &np);
	r->parts = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	r->nentries = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	top_decode(DatumGetByteaPP(SPI_getbinval(tup, desc, 7, &isnull)), &r->top);
	if (nn != np || r->parts < 1 || r->parts > MAX_PARTS || (r->parts & (r->parts - 1)) != 0)
		elog(ERROR, "rollup day row of table %u, day %d is inconsistent", relid, day);
	r->names = palloc0(sizeof(*r->names) * (MX_MAX_COUNTRIES + 2));
	r->cpackets = palloc0(sizeof(int64) * (MX_MAX_COUNTRIES + 2));
	r->ncountries = 1;			/* [0]: unknown */
	for (i = 0; i < nn; i++)
	{
		int			j = 0;

		if (!cnn[i])
		{
			char	   *s = TextDatumGetCString(cn[i]);

			if (r->ncountries > MX_MAX_COUNTRIES)
				elog(ERROR, "more than %d countries in one rollup day", MX_MAX_COUNTRIES);
			j = r->ncountries++;
			strncpy(r->names[j], s, MX_COUNTRY_LEN - 1);
		}
		r->cpackets[j] += DatumGetInt64(cp[i]);
	}
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/* Write a locked day row's totals: countries by name, unknown last. */
static void
dayrow_write(const RollupPlans *pl, Oid relid, int32 day, const DayRow *r)
{
	int		   *order = palloc(sizeof(int) * r->ncountries);
	Datum	   *cd = palloc(sizeof(Datum) * r->ncountries);
	Datum	   *pd = palloc(sizeof(Datum) * r->ncountries);
	bool	   *cnull = palloc(sizeof(bool) * r->ncountries);
	Datum		values[9];
	int			dims[1];
	int			lbs[1] = {1};
	int			nc = 0,
				c,
				i;

	for (c = 1; c < r->ncountries; c++)
	{
		int			at = nc;

		if (r->cpackets[c] <= 0)
			continue;
		while (at > 0 && strcmp(r->names[order[at - 1]], r->names[c]) > 0)
		{
			order[at] = order[at - 1];
			at--;
		}
		order[at] = c;
		nc++;
	}
	if (r->cpackets[0] > 0)
		order[nc++] = 0;
	for (i = 0; i < nc; i++)
	{
		c = order[i];
		cnull[i] = c == 0;
		cd[i] = c == 0 ? (Datum) 0 : CStringGetTextDatum(r->names[c]);
		pd[i] = Int64GetDatum(r->cpackets[c]);
	}
	dims[0] = nc;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int64GetDatum(r->packets);
	values[3] = Int64GetDatum(r->sources);
	values[4] = PointerGetDatum(construct_md_array(cd, cnull, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(pd, nc, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[6] = Int32GetDatum(r->parts);
	values[7] = Int64GetDatum(r->nentries);
	values[8] = PointerGetDatum(top_encode(&r->top));
	if (SPI_execute_plan(pl->day_update, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "updating mirai_rollup_day failed");
}

/* Lock a day row, making it (empty) when there is none. */
static void
dayrow_lock_or_make(const RollupPlans *pl, Oid relid, int32 day, int parts, DayRow *r)
{
	Datum		values[3];

	if (dayrow_lock(pl, relid, day, r))
		return;
	/* a new day: made empty, unless a concurrent loader makes it first */
	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int32GetDatum(parts);
	if (SPI_execute_plan(pl->day_insert, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inserting into mirai_rollup_day failed");
	if (!dayrow_lock(pl, relid, day, r))
		elog(ERROR, "rollup row of table %u, day %d neither inserted nor found", relid, day);
}

/* Lock one part and unpack its entries into w (none when it has no row). */
static DayEntry *
part_lock(const RollupPlans *pl, Oid relid, int32 day, int part, int *n, PartWork *w)
{
	Datum		values[3];
	bool		isnull;
	Datum		d;
	bytea	   *bytes;
	DayEntry   *e;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int32GetDatum(part);
	if (SPI_execute_plan(pl->part_lock, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking mirai_rollup_part failed");
	*n = 0;
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	bytes = DatumGetByteaPP(d);
	e = entries_unpack_into((const uint8 *) VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), day, n,
							&w->stored, &w->capstored);
	if ((Pointer) bytes != DatumGetPointer(d))
		pfree(bytes);
	SPI_freetuptable(SPI_tuptable);
	return e;
}

/* ----------------------------------------------------------------------
 * Bloom filters of parts: "is this source in this part?" without reading
 * its entries (mirai_top_sources asks it of the days a source is not
 * listed in).  8 bits a source, 3 hashes: about 3% false positives, never
 * a false negative.
 *	byte 0		1 (the version)
 *	4 bytes		bits, big-endian (a multiple of 8, at least 64)
 *	the bits
 * ----------------------------------------------------------------------
 */
#define BLOOM_VERSION	1
#define BLOOM_HASHES	3

static inline uint32
bloom_bit(uint32 src, int i, uint32 nbits)
{
	uint32		h1 = murmurhash32(src),
				h2 = murmurhash32(src ^ 0x9E3779B9) | 1;

	return (h1 + (uint32) i * h2) % nbits;
}

/*
 * The Bloom filter of the sources of entries e[0..n) (sorted by source),
 * in *buf (rollup_room).
 */
bytea *
bloom_build(const DayEntry *e, int n, bytea **buf, Size *cap)
{
	uint32		nbits = Max(64, ((uint32) n * 8 + 7) & ~7U);
	bytea	   *b = rollup_room((void **) buf, cap, VARHDRSZ + 5 + nbits / 8, 1);
	uint8	   *bits = (uint8 *) VARDATA(b) + 5;
	uint32		v32 = pg_hton32(nbits);
	int			i,
				k;

	memset(b, 0, VARHDRSZ + 5 + nbits / 8);
	SET_VARSIZE(b, VARHDRSZ + 5 + nbits / 8);
	((uint8 *) VARDATA(b))[0] = BLOOM_VERSION;
	memcpy((uint8 *) VARDATA(b) + 1, &v32, 4);
	for (i = 0; i < n; i++)
	{
		if (i > 0 && e[i].src == e[i - 1].src)
			continue;
		for (k = 0; k < BLOOM_HASHES; k++)
		{
			uint32		bit = bloom_bit(e[i].src, k, nbits);

			bits[bit / 8] |= (uint8) (1 << (bit % 8));
		}
	}
	return b;
}

/* Whether the part of this filter may hold src (true when it cannot tell). */
bool
bloom_may_have(bytea *b, uint32 src)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	uint32		nbits,
				v32;
	int			k;

	if (len < 5 || p[0] != BLOOM_VERSION)
		return true;
	memcpy(&v32, p + 1, 4);
	nbits = pg_ntoh32(v32);
	if (nbits == 0 || nbits % 8 != 0 || len != 5 + (Size) nbits / 8)
		return true;
	for (k = 0; k < BLOOM_HASHES; k++)
	{
		uint32		bit = bloom_bit(src, k, nbits);

		if ((p[5 + bit / 8] & (1 << (bit % 8))) == 0)
			return false;
	}
	return true;
}

/* Write a part's sorted entries (packed in w), or remove the part when it has none. */
static void
part_write(const RollupPlans *pl, Oid relid, int32 day, int part, const DayEntry *e, int n,
		   PartWork *w)
{
	Datum		values[6];
	int			sources = 0,
				i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	values[2] = Int32GetDatum(part);
	if (n == 0)
	{
		if (SPI_execute_plan(pl->part_delete, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting from mirai_rollup_part failed");
		return;
	}
	for (i = 0; i < n; i++)
		if (i == 0 || e[i].src != e[i - 1].src)
			sources++;
	dict_build(&w->dict, e, n, true);
	values[3] = Int32GetDatum(sources);
	values[4] = PointerGetDatum(entries_pack(relid, day, e, n, &w->dict, &w->packed, &w->cappacked));
	values[5] = PointerGetDatum(bloom_build(e, n, &w->bloom, &w->capbloom));
	if (SPI_execute_plan(pl->part_upsert, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "writing mirai_rollup_part failed");
}

/*
 * Lock and unpack every part of a day (each unpacked in w), as one array
 * sorted by (src, dport).
 */
static DayEntry *
day_entries(const RollupPlans *pl, Oid relid, int32 day, int *n, PartWork *w)
{
	Datum		values[2];
	DayEntry   *all = NULL;
	int			nall = 0;
	Size		cap = 0;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DateADTGetDatum(day);
	if (SPI_execute_plan(pl->parts_lock, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "locking the parts of mirai_rollup_day failed");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		bytea	   *bytes = DatumGetByteaPP(d);
		int			ne;
		DayEntry   *e = entries_unpack_into((const uint8 *) VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes),
											day, &ne, &w->stored, &w->capstored);

		rollup_room((void **) &all, &cap, (Size) nall + ne, sizeof(DayEntry));
		if (ne > 0)
			memcpy(all + nall, e, sizeof(DayEntry) * ne);
		nall += ne;
		if ((Pointer) bytes != DatumGetPointer(d))
			pfree(bytes);
	}
	SPI_freetuptable(SPI_tuptable);
	if (nall > 1)
		qsort(all, nall, sizeof(DayEntry), entry_src_cmp);
	*n = nall;
	return all ? all : palloc(sizeof(DayEntry));
}

/*
 * Write all of a day's entries (sorted by (src, dport)) in parts parts,
 * over parts_before parts: each part is rewritten, those beyond the new
 * number removed.
 */
static void
day_write_all(const RollupPlans *pl, Oid relid, int32 day, DayEntry *e, int n,
			  int parts, int parts_before, PartWork *w)
{
	int		   *count = palloc0(sizeof(int) * (parts + 1));
	DayEntry   *by = rollup_alloc(sizeof(DayEntry) * Max(n, 1));
	int			i,
				p;

	/* a stable counting sort by part keeps each part in (src, dport) order */
	for (i = 0; i < n; i++)
		count[rollup_part_of(e[i].src, parts) + 1]++;
	for (p = 0; p < parts; p++)
		count[p + 1] += count[p];
	for (i = 0; i < n; i++)
		by[count[rollup_part_of(e[i].src, parts)]++] = e[i];
	/* count[p] is now where part p + 1 starts */
	for (p = 0; p < Max(parts, parts_before); p++)
	{
		int			from = p == 0 ? 0 : count[p - 1];
		int			to = p < parts ? count[p] : from;

		if (to > from || p < parts_before)
			part_write(pl, relid, day, p, by + from, to - from, w);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(by);
	pfree(count);
}

/*
 * Fold a batch's sorted entries of one day into its parts: add (inserted
 * rows) then sub (deleted rows).  The day row is locked first (days are
 * taken in ascending order by every caller), split when it grows past its
 * parts, and its totals written last.  Returns whether a deletion left the
 * day stale (see merge_entries).
 */
/*
 * The entries of a batch by part: at[p] .. at[p + 1] of order[] are the
 * indexes of part p's entries, in their sorted order (a stable counting
 * sort; the entries themselves stay where they are).
 */
typedef struct ByPart
{
	uint32	   *order;
	int		   *at;				/* parts + 1 */
} ByPart;

static void
by_part(const DayEntry *e, int n, int parts, ByPart *bp)
{
	int		   *next = palloc0(sizeof(int) * (parts + 1));
	int			k,
				p;

	bp->order = rollup_alloc(sizeof(uint32) * Max(n, 1));
	bp->at = palloc0(sizeof(int) * (parts + 1));
	for (k = 0; k < n; k++)
		bp->at[rollup_part_of(e[k].src, parts) + 1]++;
	for (p = 0; p < parts; p++)
		bp->at[p + 1] += bp->at[p];
	memcpy(next, bp->at, sizeof(int) * (parts + 1));
	for (k = 0; k < n; k++)
		bp->order[next[rollup_part_of(e[k].src, parts)]++] = (uint32) k;
	pfree(next);
}

static void
by_part_free(ByPart *bp)
{
	pfree(bp->order);
	pfree(bp->at);
}

/* A part's entries of a batch, copied into *buf (grown as needed); returns how many. */
static int
gather(const DayEntry *e, const ByPart *bp, int p, DayEntry **buf, Size *cap)
{
	int			n = bp->at[p + 1] - bp->at[p],
				k;

	rollup_room((void **) buf, cap, Max(n, 1), sizeof(DayEntry));
	for (k = 0; k < n; k++)
		(*buf)[k] = e[bp->order[bp->at[p] + k]];
	return n;
}


static bool
store_day(const RollupPlans *pl, Oid relid, int32 day, DayEntry *add, int nadd,
		  DayEntry *sub, int nsub, CountryLookup *cl, DictSource *gone, int *ngone,
		  PartWork *w)
{
	DayRow		r;
	bool		stale = false,
				list_ok = true;
	int			parts,
				p;
	ByPart		bpa,
				bps;

	if (nadd == 0)
	{
		if (!dayrow_lock(pl, relid, day, &r))
			out_of_step(relid, "Packets of a day that was never counted were deleted.");
	}
	else
		dayrow_lock_or_make(pl, relid, day, parts_for(nadd), &r);

	/* a growing day splits first: its parts are written again, more of them */
	parts = parts_for(r.nentries + nadd);
	if (parts > r.parts)
	{
		int			n;
		DayEntry   *all = day_entries(pl, relid, day, &n, w);

		day_write_all(pl, relid, day, all, n, parts, r.parts, w);
		r.parts = parts;
		pfree(all);
	}
	parts = r.parts;
	by_part(add, nadd, parts, &bpa);
	by_part(sub, nsub, parts, &bps);

	/* each part touched, in ascending order */
	for (p = 0; p < parts; p++)
	{
		int			na = gather(add, &bpa, p, &w->batch[0], &w->capbatch[0]),
					nb = gather(sub, &bps, p, &w->batch[1], &w->capbatch[1]),
					ns,
					nout,
					nt = 0,
					nch,
					x = 0,
					y = 0,
					k;
		DayEntry   *ba = w->batch[0],
				   *bs = w->batch[1],
				   *out;
		uint32	   *touched;
		TopSource  *changed;

		if (na == 0 && nb == 0)
			continue;
		out = part_lock(pl, relid, day, p, &ns, w);
		if (ns > 0)
			dayrow_add(&r, out, ns, -1, w);
		nout = ns;
		if (na > 0)
			out = merge_entries(out, nout, ba, na, MERGE_ADD, &nout, &stale, relid, cl,
								&w->merged[0], &w->capmerged[0]);
		if (nb > 0)
			out = merge_entries(out, nout, bs, nb, MERGE_SUBTRACT, &nout, &stale, relid, cl,
								&w->merged[1], &w->capmerged[1]);
		dayrow_add(&r, out, nout, 1, w);
		part_write(pl, relid, day, p, out, nout, w);

		/* the new totals of the part's touched sources, for the top list */
		if (ns == 0)
		{
			/* a new part: every source of it is new, none gone */
			changed = rollup_room((void **) &w->changed, &w->capchanged, Max(nout, 1), sizeof(TopSource));
			nch = top_sources_of(out, nout, NULL, 0, changed);
		}
		else
		{
			/* the part's touched sources, each once, in address order */
			touched = rollup_room((void **) &w->touched, &w->captouched, na + nb, sizeof(uint32));
			while (x < na || y < nb)
			{
				uint32		src = (y >= nb || (x < na && ba[x].src <= bs[y].src)) ? ba[x].src : bs[y].src;

				if (nt == 0 || touched[nt - 1] != src)
					touched[nt++] = src;
				if (x < na && ba[x].src == src)
					x++;
				else
					y++;
			}
			changed = rollup_room((void **) &w->changed, &w->capchanged, Max(nt, 1), sizeof(TopSource));
			nch = top_sources_of(out, nout, touched, nt, changed);
			/* the sources a deletion took off the day */
			for (k = 0; k < nch; k++)
				if (changed[k].packets == 0)
				{
					gone[*ngone].src = changed[k].src;
					gone[(*ngone)++].first_day = day;
				}
		}
		/* parts hold disjoint sources: the list takes them part by part */
		if (list_ok)
			list_ok = top_update(&r.top, changed, nch);
		CHECK_FOR_INTERRUPTS();
	}
	by_part_free(&bpa);
	by_part_free(&bps);
	if (!list_ok)
	{
		/* a source of the list lost packets: the list again, from every part */
		int			n;
		DayEntry   *all = day_entries(pl, relid, day, &n, w);
		TopSource  *ts = rollup_alloc(sizeof(TopSource) * Max(n, 1));

		top_build(&r.top, ts, top_sources_of(all, n, NULL, 0, ts));
		pfree(ts);
		pfree(all);
	}
	dayrow_write(pl, relid, day, &r);
	return stale;
}

/*
 * Replace a day with the sorted entries e[0..n): countries of entries
 * already stored are kept, new entries get theirs from cl (every entry,
 * with COUNTRIES_FRESH).
 */
static void
replace_day(const RollupPlans *pl, Oid relid, int32 day, DayEntry *e, int n,
			CountryLookup *cl, PartWork *w)
{
	DayRow		r;
	int			ns,
				nout,
				parts;
	bool		stale = false;
	DayEntry   *s,
			   *out;

	dayrow_lock_or_make(pl, relid, day, parts_for(n), &r);
	s = day_entries(pl, relid, day, &ns, w);
	/* re-geolocation: as if nothing were stored, every country looked up */
	if (cl != NULL && cl->mode == COUNTRIES_FRESH)
		ns = 0;
	out = merge_entries(s, ns, e, n, MERGE_REPLACE, &nout, &stale, relid, cl,
						&w->merged[0], &w->capmerged[0]);
	parts = parts_for(nout);
	day_write_all(pl, relid, day, out, nout, parts, r.parts, w);
	memset(r.cpackets, 0, sizeof(int64) * (MX_MAX_COUNTRIES + 2));
	r.ncountries = 1;
	r.packets = r.sources = r.nentries = 0;
	r.parts = parts;
	dayrow_add(&r, out, nout, 1, w);
	{
		TopSource  *ts = rollup_alloc(sizeof(TopSource) * Max(nout, 1));

		top_build(&r.top, ts, top_sources_of(out, nout, NULL, 0, ts));
		pfree(ts);
	}
	dayrow_write(pl, relid, day, &r);
}

/*
 * Apply sorted batches to the day rows, every day of either in ascending
 * order: add (inserted rows), then sub (deleted rows).  Returns the days a
 * deletion left stale (palloc'd, sorted) in *stale_days, and the sources
 * it took off a day in *gone.
 */
void
apply_days(const ExtInfo *info, Oid relid, DayEntry *add, int nadd,
		   DayEntry *sub, int nsub, CountryLookup *cl,
		   int32 **stale_days, int *n_stale, DictSource **gone, int *n_gone)
{
	RoleSwitch	saved;
	const RollupPlans *pl;
	PartWork	w = {0};
	int			i = 0,
				j = 0;

	*stale_days = palloc(sizeof(int32) * Max(nadd + nsub, 1));
	*n_stale = 0;
	*gone = rollup_alloc(sizeof(DictSource) * Max(nsub, 1));
	*n_gone = 0;
	rollup_as_ext_owner(info, &saved);
	pl = rollup_plans(info);
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
		if (store_day(pl, relid, day, add + i, ie - i, sub + j, je - j, cl, *gone, n_gone, &w))
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
	const RollupPlans *pl;
	PartWork	w = {0};
	int			i,
				start = 0;

	rollup_as_ext_owner(info, &saved);
	pl = rollup_plans(info);
	for (i = 0; i < ndays; i++)
	{
		int			end = start;

		while (end < n && e[end].day == days[i])
			end++;
		replace_day(pl, relid, days[i], e + start, end - start, cl, &w);
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	rollup_role_end(&saved);
}
