/*-------------------------------------------------------------------------
 *
 * rollup_scanner.c
 *		The scanner dimension of the rollups: packets and distinct sources
 *		per day and scanner fingerprint.
 *
 *	mirai_rollup_scanner		(tbl, day, scanner) -> packets, distinct
 *								sources, parts;
 *	mirai_rollup_scanner_part	(tbl, day, scanner, part) -> the packed
 *								sources whose hash falls in the part, each
 *								with its packets.
 *
 * scanner is the name of the first rule of the decoder's catalogue that a
 * packet matches (mx_scanner_first_packed, what packet_scanner answers),
 * or '' for a packet no rule matches (NULL in the view).  The aggregation
 * (rollup_agg.c) gives a statement's packets per (day, scanner, source);
 * they are merged here into the parts, added or subtracted, so that the
 * distinct sources stay exact under deletes and updates without reading
 * the table: a source counts while it has packets in the part.
 *
 * A (day, scanner) splits its sources in "parts" parts (a power of two) by
 * a hash of the address, as a day of Mirai entries does (rollup_day.c):
 * a statement rewrites only the parts its sources fall in, a few thousand
 * sources each, even on a day of millions of backscatter sources.  When a
 * statement could take the row past SCAN_PART_TARGET sources a part, the
 * parts double and every part is written again (paid once per doubling).
 *
 * Locks: each (day, scanner) row in ascending order (day, then rule index
 * in catalogue order, no rule last), then its parts in ascending order,
 * after the days, parts, dictionary and hours of the same statement.
 *
 * The packed form of a part (version 1): one version byte, then per source
 * in ascending order of (IP version, address): the IP version (4 or 6),
 * the address (4 or 16 bytes, network order), the packets as an unsigned
 * LEB128 varint (at least 1).  It is checked when read; corrupt bytes are
 * an error (XX001) with a hint to mirai_rebuild.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "mx_scanner.h"
#include "rollup.h"

#define SCAN_PART_TARGET	4096	/* sources a part holds at most, about */
#define SCAN_MAX_PARTS		(1 << 20)
#define SCAN_PACK_VERSION	1

/* The statements on the scanner dimension's tables, made once per backend. */
typedef struct ScanPlans
{
	bool		valid;
	char		nspname[2 * NAMEDATALEN + 3];
	SPIPlanPtr	row_insert;		/* an empty row, ON CONFLICT DO NOTHING */
	SPIPlanPtr	row_lock;		/* SELECT a row ... FOR UPDATE */
	SPIPlanPtr	row_update;		/* a locked row's new totals */
	SPIPlanPtr	row_delete;		/* a row left with no packet */
	SPIPlanPtr	part_lock;		/* SELECT a part ... FOR UPDATE */
	SPIPlanPtr	part_upsert;	/* a part's new sources */
	SPIPlanPtr	part_delete;	/* a part left empty */
	SPIPlanPtr	parts_lock;		/* every part of a row, FOR UPDATE */
	SPIPlanPtr	parts_delete;	/* every part of a row */
} ScanPlans;

static ScanPlans splans;

/*
 * An error unless the database has the scanner dimension's tables: a
 * library installed over an older 0.2.0 development version writes them
 * only after ALTER EXTENSION mirai_ext UPDATE.
 */
void
rollup_require_scanners(const ExtInfo *info)
{
	rollup_require_current(info);
	if (!info->scanners)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the rollup tables of mirai_ext are older than its library"),
				 errdetail("The library installed writes the rollups of version %s with their scanner dimension; the database has no table mirai_rollup_scanner.",
						   MIRAI_EXT_ROLLUP_VERSION),
				 errhint("Run ALTER EXTENSION mirai_ext UPDATE in this database.")));
}

static const ScanPlans *
scan_plans(const ExtInfo *info)
{
	Oid			t_row[3] = {OIDOID, DATEOID, TEXTOID};
	Oid			t_rowupd[6] = {OIDOID, DATEOID, TEXTOID, INT8OID, INT8OID, INT4OID};
	Oid			t_part[4] = {OIDOID, DATEOID, TEXTOID, INT4OID};
	Oid			t_partrow[6] = {OIDOID, DATEOID, TEXTOID, INT4OID, INT4OID, BYTEAOID};
	const char *n = info->nspname;
	const char *key = "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
		"AND day OPERATOR(pg_catalog.=) $2 AND scanner OPERATOR(pg_catalog.=) $3";
	SPIPlanPtr *all[] = {&splans.row_insert, &splans.row_lock, &splans.row_update,
		&splans.row_delete, &splans.part_lock, &splans.part_upsert, &splans.part_delete,
	&splans.parts_lock, &splans.parts_delete};
	int			i;

	if (splans.valid && strcmp(splans.nspname, n) == 0)
		return &splans;
	rollup_require_scanners(info);
	if (strlen(n) >= sizeof(splans.nspname))
		elog(ERROR, "schema name too long");
	splans.valid = false;
	for (i = 0; i < (int) lengthof(all); i++)
		if (*all[i])
			SPI_freeplan(*all[i]);
	memset(&splans, 0, sizeof(splans));

	splans.row_insert = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_scanner (tbl, day, scanner, packets, sources, parts) "
												  "VALUES ($1::pg_catalog.oid, $2, $3, 0, 0, 1) "
												  "ON CONFLICT (tbl, day, scanner) DO NOTHING", n),
										 3, t_row);
	splans.row_lock = rollup_keep_plan(psprintf("SELECT packets, sources, parts FROM %s.mirai_rollup_scanner %s FOR UPDATE",
												n, key),
									   3, t_row);
	splans.row_update = rollup_keep_plan(psprintf("UPDATE %s.mirai_rollup_scanner SET packets = $4, sources = $5, parts = $6 %s",
												  n, key),
										 6, t_rowupd);
	splans.row_delete = rollup_keep_plan(psprintf("DELETE FROM %s.mirai_rollup_scanner %s", n, key),
										 3, t_row);
	splans.part_lock = rollup_keep_plan(psprintf("SELECT members FROM %s.mirai_rollup_scanner_part %s "
												 "AND part OPERATOR(pg_catalog.=) $4 FOR UPDATE", n, key),
										4, t_part);
	splans.part_upsert = rollup_keep_plan(psprintf("INSERT INTO %s.mirai_rollup_scanner_part (tbl, day, scanner, part, sources, members) "
												   "VALUES ($1::pg_catalog.oid, $2, $3, $4, $5, $6) "
												   "ON CONFLICT (tbl, day, scanner, part) DO UPDATE SET "
												   "sources = excluded.sources, members = excluded.members", n),
										  6, t_partrow);
	splans.part_delete = rollup_keep_plan(psprintf("DELETE FROM %s.mirai_rollup_scanner_part %s "
												   "AND part OPERATOR(pg_catalog.=) $4", n, key),
										  4, t_part);
	splans.parts_lock = rollup_keep_plan(psprintf("SELECT part, members FROM %s.mirai_rollup_scanner_part %s "
												  "ORDER BY part FOR UPDATE", n, key),
										 3, t_row);
	splans.parts_delete = rollup_keep_plan(psprintf("DELETE FROM %s.mirai_rollup_scanner_part %s", n, key),
										   3, t_row);
	strlcpy(splans.nspname, n, sizeof(splans.nspname));
	splans.valid = true;
	return &splans;
}

/* The name a rule index is stored under: '' for no rule. */
static const char *
scanner_name(uint8 scanner)
{
	const mx_scanner_rule *r;

	if (scanner == SCANNER_NONE)
		return "";
	r = mx_scanner_rule_at(scanner);
	if (r == NULL)
		elog(ERROR, "scanner rule %d out of range", scanner);
	return r->name;
}

/* The part of parts (a power of two) a source falls in. */
static inline int
scan_part_of(const ScanKey *k, int parts)
{
	uint32		h;

	if (k->ipver == 4)
		h = murmurhash32(((uint32) k->addr[0] << 24) | ((uint32) k->addr[1] << 16) |
						 ((uint32) k->addr[2] << 8) | k->addr[3]);
	else
		h = hash_bytes(k->addr, 16);
	return (int) (h & (uint32) (parts - 1));
}

/* Order of sources within a (day, scanner): IP version, then address. */
static inline int
src_cmp(const ScanKey *a, const ScanKey *b)
{
	if (a->ipver != b->ipver)
		return a->ipver < b->ipver ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

/* Whether two entries are of the same (day, scanner). */
static inline bool
same_row(const ScanEntry *a, const ScanEntry *b)
{
	return a->key.day == b->key.day && a->key.scanner == b->key.scanner;
}

/*
 * a - b, both sorted as agg_scanners sorts them: the signed packets per
 * (day, scanner, source), keys whose packets cancel left out.
 */
ScanEntry *
scanners_diff(ScanEntry *a, int na, ScanEntry *b, int nb, int *n)
{
	ScanEntry  *out;
	int			i = 0,
				j = 0,
				k = 0;

	if (nb == 0)
	{
		*n = na;
		return a;
	}
	out = rollup_alloc(sizeof(ScanEntry) * Max(na + nb, 1));
	while (i < na || j < nb)
	{
		int			c;

		if (i >= na)
			c = 1;
		else if (j >= nb)
			c = -1;
		else if (a[i].key.day != b[j].key.day)
			c = a[i].key.day < b[j].key.day ? -1 : 1;
		else if (a[i].key.scanner != b[j].key.scanner)
			c = a[i].key.scanner < b[j].key.scanner ? -1 : 1;
		else
			c = src_cmp(&a[i].key, &b[j].key);
		if (c < 0)
			out[k++] = a[i++];
		else if (c > 0)
		{
			out[k] = b[j++];
			out[k].packets = -out[k].packets;
			k++;
		}
		else
		{
			out[k] = a[i++];
			out[k].packets -= b[j++].packets;
			if (out[k].packets != 0)
				k++;
		}
	}
	*n = k;
	return out;
}

/* ----------------------------------------------------------------------
 * The packed form of a part
 * ----------------------------------------------------------------------
 */

/* Pack n sources (sorted, packets > 0) of a part. */
static bytea *
members_pack(const ScanEntry *e, int n)
{
	Size		cap = VARHDRSZ + 1 + (Size) n * (1 + 16 + 10);
	bytea	   *b = palloc(cap);
	uint8	   *p = (uint8 *) VARDATA(b);
	int			i;

	*p++ = SCAN_PACK_VERSION;
	for (i = 0; i < n; i++)
	{
		uint64		v = (uint64) e[i].packets;
		int			alen = e[i].key.ipver == 4 ? 4 : 16;

		*p++ = e[i].key.ipver;
		memcpy(p, e[i].key.addr, alen);
		p += alen;
		while (v >= 0x80)
		{
			*p++ = (uint8) (v | 0x80);
			v >>= 7;
		}
		*p++ = (uint8) v;
	}
	SET_VARSIZE(b, p - (uint8 *) b);
	return b;
}

/* A part's bytes are not what members_pack writes. */
static void pg_attribute_noreturn()
members_corrupt(Oid relid, int32 day, const char *scanner, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt scanner rollup of table \"%s\"", get_rel_name(relid)),
			 errdetail("The sources of scanner \"%s\" on %s: %s.", scanner,
					   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day))), what),
			 errhint("Run SELECT mirai_rebuild('%s') to compute its rollups again.", get_rel_name(relid))));
}

/*
 * Unpack a part's sources, appended to *out (rollup_room), keys carrying
 * day and scanner.
 */
static void
members_unpack(bytea *b, Oid relid, int32 day, uint8 scanner,
			   ScanEntry **out, int *n, Size *cap)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	const uint8 *end = p + VARSIZE_ANY_EXHDR(b);
	int			first = *n;
	const char *name = scanner_name(scanner);

	if (p >= end || *p != SCAN_PACK_VERSION)
		members_corrupt(relid, day, name, "unknown version");
	p++;
	while (p < end)
	{
		ScanEntry  *e;
		uint64		v = 0;
		int			shift = 0,
					alen;

		e = (ScanEntry *) rollup_room((void **) out, cap, (Size) *n + 1, sizeof(ScanEntry)) + *n;
		memset(e, 0, sizeof(ScanEntry));
		e->key.day = day;
		e->key.scanner = scanner;
		e->key.ipver = *p++;
		if (e->key.ipver != 4 && e->key.ipver != 6)
			members_corrupt(relid, day, name, "an IP version other than 4 or 6");
		alen = e->key.ipver == 4 ? 4 : 16;
		if (end - p < alen + 1)
			members_corrupt(relid, day, name, "truncated");
		memcpy(e->key.addr, p, alen);
		p += alen;
		for (;;)
		{
			if (p >= end || shift > 56)
				members_corrupt(relid, day, name, "a count of packets that does not end");
			v |= (uint64) (*p & 0x7F) << shift;
			shift += 7;
			if ((*p++ & 0x80) == 0)
				break;
		}
		if (v == 0 || v > (uint64) PG_INT64_MAX)
			members_corrupt(relid, day, name, "a count of packets out of range");
		e->packets = (int64) v;
		if (*n > first && src_cmp(&(*out)[*n - 1].key, &e->key) >= 0)
			members_corrupt(relid, day, name, "sources out of order");
		(*n)++;
	}
}

/* ----------------------------------------------------------------------
 * Writing
 * ----------------------------------------------------------------------
 */

/* A statement's change to a row and what it leaves. */
typedef struct RowChange
{
	int64		packets;
	int64		sources;
}			RowChange;

/*
 * Merge stored sources s (sorted) with the signed batch b (sorted) into
 * out (room for ns + nb): packets summed, sources left with none dropped.
 * A source subtracted below zero, or subtracted and not stored, means the
 * rollups are out of step with the table: an error.
 */
static int
members_merge(const ScanEntry *s, int ns, const ScanEntry *b, int nb, ScanEntry *out,
			  RowChange *ch, Oid relid)
{
	int			i = 0,
				j = 0,
				k = 0;

	while (i < ns || j < nb)
	{
		int			c = i >= ns ? 1 : j >= nb ? -1 : src_cmp(&s[i].key, &b[j].key);

		if (c < 0)
		{
			out[k++] = s[i++];
			continue;
		}
		if (c > 0)
		{
			out[k] = b[j++];
			ch->sources++;
		}
		else
		{
			out[k] = s[i++];
			out[k].packets += b[j++].packets;
		}
		ch->packets += b[j - 1].packets;
		if (out[k].packets < 0 || (c > 0 && out[k].packets == 0))
			members_corrupt(relid, out[k].key.day, scanner_name(out[k].key.scanner),
							"a source has fewer packets than a statement deletes");
		if (out[k].packets == 0)
		{
			ch->sources--;
			continue;
		}
		k++;
	}
	return k;
}

/* Write a part's sources, or delete the part when it has none. */
static void
part_write(const ScanPlans *pl, Datum *key, int part, const ScanEntry *e, int n)
{
	Datum		v[6];

	v[0] = key[0];
	v[1] = key[1];
	v[2] = key[2];
	v[3] = Int32GetDatum(part);
	if (n == 0)
	{
		if (SPI_execute_plan(pl->part_delete, v, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting from mirai_rollup_scanner_part failed");
		return;
	}
	v[4] = Int32GetDatum(n);
	v[5] = PointerGetDatum(members_pack(e, n));
	if (SPI_execute_plan(pl->part_upsert, v, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "upserting mirai_rollup_scanner_part failed");
	pfree(DatumGetPointer(v[5]));
}

/*
 * e[0..n) (sorted by source) into out by part of parts, a counting sort
 * that keeps their order within each part: part p's are out[start[p] ..
 * start[p + 1]).  start has room for parts + 1.
 */
static void
split_by_part(const ScanEntry *e, int n, int parts, ScanEntry *out, int *start)
{
	int		   *at = palloc0(sizeof(int) * parts);
	int			i,
				p;

	memset(start, 0, sizeof(int) * (parts + 1));
	for (i = 0; i < n; i++)
		start[scan_part_of(&e[i].key, parts) + 1]++;
	for (p = 0; p < parts; p++)
		start[p + 1] += start[p];
	for (i = 0; i < n; i++)
	{
		p = scan_part_of(&e[i].key, parts);
		out[start[p] + at[p]++] = e[i];
	}
	pfree(at);
}

/*
 * Every part of a row written again in newparts parts (more than it had),
 * the batch merged: the row grows past its parts.  A part's hash bits are
 * those of its parts before and one more, so each new part's sources come
 * from one stored part, in its order: split, they are sorted without a
 * sort (and checked).
 */
static void
row_resplit(const ScanPlans *pl, Oid relid, Datum *key, const ScanEntry *b, int nb,
			int newparts, RowChange *ch)
{
	ScanEntry  *s = NULL,
			   *ss,
			   *bs,
			   *m;
	int			ns = 0,
				i,
				p;
	Size		cap = 0;
	int		   *sat = palloc(sizeof(int) * (newparts + 1));
	int		   *bat = palloc(sizeof(int) * (newparts + 1));
	uint64		r;

	if (SPI_execute_plan(pl->parts_lock, key, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mirai_rollup_scanner_part failed");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		bytea	   *bb = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		members_unpack(bb, relid, b[0].key.day, b[0].key.scanner, &s, &ns, &cap);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(SPI_tuptable);
	if (SPI_execute_plan(pl->parts_delete, key, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting from mirai_rollup_scanner_part failed");
	ss = rollup_alloc(sizeof(ScanEntry) * Max(ns, 1));
	bs = rollup_alloc(sizeof(ScanEntry) * Max(nb, 1));
	m = rollup_alloc(sizeof(ScanEntry) * Max(ns + nb, 1));
	split_by_part(s, ns, newparts, ss, sat);
	split_by_part(b, nb, newparts, bs, bat);
	for (p = 0; p < newparts; p++)
	{
		int			nm;

		for (i = sat[p] + 1; i < sat[p + 1]; i++)
			if (src_cmp(&ss[i - 1].key, &ss[i].key) >= 0)
				members_corrupt(relid, b[0].key.day, scanner_name(b[0].key.scanner),
								"a source stored in another part than its hash's, or twice");
		nm = members_merge(ss + sat[p], sat[p + 1] - sat[p], bs + bat[p], bat[p + 1] - bat[p],
						   m, ch, relid);
		if (nm > 0)
			part_write(pl, key, p, m, nm);
		if ((p & 255) == 255)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(sat);
	pfree(bat);
	pfree(ss);
	pfree(bs);
	pfree(m);
	if (s)
		pfree(s);
}

/* Fold one (day, scanner)'s batch b[0..nb) (sorted by source) into its rows. */
static void
row_apply(const ScanPlans *pl, Oid relid, const ScanEntry *b, int nb)
{
	Datum		key[3];
	Datum		v[6];
	bool		isnull;
	int64		packets,
				sources,
				grow = 0;
	int			parts,
				newparts;
	RowChange	ch = {0, 0};
	int			i;

	key[0] = ObjectIdGetDatum(relid);
	key[1] = DateADTGetDatum(b[0].key.day);
	key[2] = CStringGetTextDatum(scanner_name(b[0].key.scanner));
	if (SPI_execute_plan(pl->row_lock, key, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "locking a row of mirai_rollup_scanner failed");
	if (SPI_processed == 0)
	{
		/* a new row: made empty, unless a concurrent loader makes it first */
		if (SPI_execute_plan(pl->row_insert, key, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inserting into mirai_rollup_scanner failed");
		if (SPI_execute_plan(pl->row_lock, key, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "locking a row of mirai_rollup_scanner failed");
		if (SPI_processed == 0)
			elog(ERROR, "scanner rollup row of table %u, day %d neither inserted nor found",
				 relid, b[0].key.day);
	}
	packets = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	sources = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	parts = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (parts < 1 || parts > SCAN_MAX_PARTS || (parts & (parts - 1)) != 0)
		members_corrupt(relid, b[0].key.day, scanner_name(b[0].key.scanner),
						"a number of parts that is not a power of two");

	/* at most this many sources after the statement: split before */
	for (i = 0; i < nb; i++)
		grow += b[i].packets > 0;
	newparts = parts;
	while (newparts < SCAN_MAX_PARTS &&
		   sources + grow > (int64) SCAN_PART_TARGET * newparts)
		newparts *= 2;

	if (newparts != parts)
		row_resplit(pl, relid, key, b, nb, newparts, &ch);
	else
	{
		ScanEntry  *sb = palloc(sizeof(ScanEntry) * nb);
		int		   *at = palloc(sizeof(int) * (parts + 1));
		int			p;

		split_by_part(b, nb, parts, sb, at);
		/* each part the batch falls in, ascending */
		for (p = 0; p < parts; p++)
		{
			ScanEntry  *s = NULL,
					   *m;
			int			ns = 0,
						nm,
						nb_p = at[p + 1] - at[p];
			Size		cap = 0;

			if (nb_p == 0)
				continue;
			v[0] = key[0];
			v[1] = key[1];
			v[2] = key[2];
			v[3] = Int32GetDatum(p);
			if (SPI_execute_plan(pl->part_lock, v, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "reading mirai_rollup_scanner_part failed");
			if (SPI_processed == 1)
				members_unpack(DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
							   relid, b[0].key.day, b[0].key.scanner, &s, &ns, &cap);
			SPI_freetuptable(SPI_tuptable);
			m = rollup_alloc(sizeof(ScanEntry) * (ns + nb_p));
			nm = members_merge(s, ns, sb + at[p], nb_p, m, &ch, relid);
			part_write(pl, key, p, m, nm);
			pfree(m);
			if (s)
				pfree(s);
			CHECK_FOR_INTERRUPTS();
		}
		pfree(at);
		pfree(sb);
	}

	packets += ch.packets;
	sources += ch.sources;
	if (packets < 0 || sources < 0 || (packets == 0) != (sources == 0))
		members_corrupt(relid, b[0].key.day, scanner_name(b[0].key.scanner),
						"totals out of step with the sources");
	if (packets == 0)
	{
		if (SPI_execute_plan(pl->row_delete, key, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting from mirai_rollup_scanner failed");
		return;
	}
	v[0] = key[0];
	v[1] = key[1];
	v[2] = key[2];
	v[3] = Int64GetDatum(packets);
	v[4] = Int64GetDatum(sources);
	v[5] = Int32GetDatum(newparts);
	if (SPI_execute_plan(pl->row_update, v, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "updating mirai_rollup_scanner failed");
}

/*
 * Fold signed packets per (day, scanner, source), sorted as agg_scanners
 * sorts them, into a table's scanner dimension, one (day, scanner) at a
 * time in that order.  Runs as the extension's owner.
 */
void
scanners_apply(const ExtInfo *info, Oid relid, const ScanEntry *e, int n)
{
	const ScanPlans *pl;
	RoleSwitch	saved;
	MemoryContext cxt,
				old;
	int			i,
				j;

	if (n == 0)
		return;
	rollup_as_ext_owner(info, &saved);
	pl = scan_plans(info);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "mirai scanner rollups", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < n; i = j)
	{
		for (j = i + 1; j < n && same_row(&e[i], &e[j]); j++)
			;
		old = MemoryContextSwitchTo(cxt);
		row_apply(pl, relid, e + i, j - i);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
	rollup_role_end(&saved);
}

/* Remove a table's scanner dimension on the days in [from, to]. */
void
scanners_clear(const ExtInfo *info, Oid relid, int32 from, int32 to)
{
	Oid			at[3] = {OIDOID, DATEOID, DATEOID};
	Datum		v[3];
	const char *range = "WHERE tbl OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
		"AND day OPERATOR(pg_catalog.>=) $2 AND day OPERATOR(pg_catalog.<=) $3";

	rollup_require_scanners(info);
	v[0] = ObjectIdGetDatum(relid);
	v[1] = DateADTGetDatum(from == PG_INT32_MIN ? DATEVAL_NOBEGIN : from);
	v[2] = DateADTGetDatum(to == PG_INT32_MAX ? DATEVAL_NOEND : to);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_scanner_part %s", info->nspname, range),
					  3, at, v, NULL, SPI_OK_DELETE);
	(void) store_exec(info, psprintf("DELETE FROM %s.mirai_rollup_scanner %s", info->nspname, range),
					  3, at, v, NULL, SPI_OK_DELETE);
}
