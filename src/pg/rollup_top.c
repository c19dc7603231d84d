/*-------------------------------------------------------------------------
 *
 * rollup_top.c
 *		The top sources of a day, kept in its row.
 *
 * A day row keeps its TOP_SOURCES sources with the most packets, in order
 * (packets descending, then address), with their first and last packet
 * and country, and rest_max: at least the packets of any other source of
 * the day.  So "the top N sources of a day" reads one row, for N up to
 * TOP_SOURCES, whenever the N-th source has more packets than rest_max;
 * and the top N over a range of days starts from these lists
 * (rollup_range.c).
 *
 * Kept exactly as loads add packets: a source whose day total passes the
 * last of the list takes its place, and the one it pushes out raises
 * rest_max.  Invariant: every source not in the list has at most rest_max
 * packets, and rest_max is at most the list's last.  When a deletion lowers
 * a source of the list, some other source may now rank above it: the list
 * is then built again from the day's entries (rollup_day.c does).
 *
 * Stored form (bytea; empty for a day with no list yet):
 *	byte 0		1 (the version)
 *	4 bytes		n, big-endian (at most TOP_SOURCES)
 *	8 bytes		rest_max
 *	n times 36 bytes: source 4, packets 8, first_us 8, last_us 8, country 8
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bswap.h"

#include "rollup.h"

#define TOP_VERSION		1
#define TOP_HEADER		13
#define TOP_ENTRY		36

static void
top_corrupt(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("corrupt list of the top sources of a rollup day: %s", what),
			 errhint("mirai_rebuild recomputes a table's rollups from its rows.")));
}

/* Order of the list: packets descending, then address ascending. */
static int
top_cmp(const void *a, const void *b)
{
	const TopSource *x = a;
	const TopSource *y = b;

	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return 0;
}

void
top_decode(bytea *b, TopList *t)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);
	Size		len = VARSIZE_ANY_EXHDR(b);
	uint32		n,
				v32;
	uint64		v64;
	int			i;

	t->n = 0;
	t->rest_max = 0;
	if (len == 0)
		return;
	if (len < TOP_HEADER || p[0] != TOP_VERSION)
		top_corrupt("bad header");
	memcpy(&v32, p + 1, 4);
	n = pg_ntoh32(v32);
	if (n > TOP_SOURCES || len != TOP_HEADER + (Size) n * TOP_ENTRY)
		top_corrupt("length does not match the number of sources");
	memcpy(&v64, p + 5, 8);
	t->rest_max = (int64) pg_ntoh64(v64);
	if (t->rest_max < 0)
		top_corrupt("negative rest");
	p += TOP_HEADER;
	for (i = 0; i < (int) n; i++, p += TOP_ENTRY)
	{
		TopSource  *s = &t->s[i];

		memcpy(&v32, p, 4);
		s->src = pg_ntoh32(v32);
		memcpy(&v64, p + 4, 8);
		s->packets = (int64) pg_ntoh64(v64);
		memcpy(&v64, p + 12, 8);
		s->first_us = (int64) pg_ntoh64(v64);
		memcpy(&v64, p + 20, 8);
		s->last_us = (int64) pg_ntoh64(v64);
		memcpy(s->country, p + 28, MX_COUNTRY_LEN);
		if (s->packets < 1 || s->packets < t->rest_max ||
			s->first_us < MX_US_MIN || s->last_us > MX_US_MAX || s->first_us > s->last_us ||
			!mx_country_valid(s->country, MX_COUNTRY_LEN) ||
			(i > 0 && top_cmp(&t->s[i - 1], s) >= 0))
			top_corrupt("a source out of range or out of order");
	}
	t->n = (int) n;
}

bytea *
top_encode(const TopList *t)
{
	bytea	   *b = palloc(VARHDRSZ + TOP_HEADER + (Size) t->n * TOP_ENTRY);
	uint8	   *p = (uint8 *) VARDATA(b);
	uint32		v32;
	uint64		v64;
	int			i;

	SET_VARSIZE(b, VARHDRSZ + TOP_HEADER + (Size) t->n * TOP_ENTRY);
	p[0] = TOP_VERSION;
	v32 = pg_hton32((uint32) t->n);
	memcpy(p + 1, &v32, 4);
	v64 = pg_hton64((uint64) t->rest_max);
	memcpy(p + 5, &v64, 8);
	p += TOP_HEADER;
	for (i = 0; i < t->n; i++, p += TOP_ENTRY)
	{
		const TopSource *s = &t->s[i];

		v32 = pg_hton32(s->src);
		memcpy(p, &v32, 4);
		v64 = pg_hton64((uint64) s->packets);
		memcpy(p + 4, &v64, 8);
		v64 = pg_hton64((uint64) s->first_us);
		memcpy(p + 12, &v64, 8);
		v64 = pg_hton64((uint64) s->last_us);
		memcpy(p + 20, &v64, 8);
		memcpy(p + 28, s->country, MX_COUNTRY_LEN);
	}
	return b;
}

/*
 * The sources of entries sorted by (src, dport): per source its packets,
 * first and last packet and country, into out (room for n); returns how
 * many.  With only (sorted, n_only), just those sources, with packets 0
 * for one that has no entries left.
 */
int
top_sources_of(const DayEntry *e, int n, const uint32 *only, int n_only, TopSource *out)
{
	int			i = 0,
				j = 0,
				k = 0;

	while (i < n || (only && j < n_only))
	{
		TopSource	s;

		if (only)
		{
			if (j >= n_only)
				break;
			while (i < n && e[i].src < only[j])
				i++;
			if (i >= n || e[i].src != only[j])
			{
				/* the source has no entry left that day */
				memset(&s, 0, sizeof(s));
				s.src = only[j++];
				out[k++] = s;
				continue;
			}
			j++;
		}
		{
			DaySource	ds;
			int			to = day_source_fold(e, i, n, &ds);

			s.src = ds.src;
			s.packets = ds.packets;
			s.first_us = ds.first_us;
			s.last_us = ds.last_us;
			memcpy(s.country, e[i].country, MX_COUNTRY_LEN);
			i = to;
		}
		out[k++] = s;
	}
	return k;
}

/*
 * The best TOP_SOURCES of what is offered, kept in a heap whose root is the
 * worst kept; whatever is not kept raises rest_max.
 */
typedef struct TopHeap
{
	int			n;
	TopSource	h[TOP_SOURCES];
	int64		rest_max;
} TopHeap;

static void
heap_sift_down(TopHeap *hp, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					w = i;
		TopSource	tmp;

		/* the root is the worst: the one that sorts last */
		if (l < hp->n && top_cmp(&hp->h[l], &hp->h[w]) > 0)
			w = l;
		if (r < hp->n && top_cmp(&hp->h[r], &hp->h[w]) > 0)
			w = r;
		if (w == i)
			return;
		tmp = hp->h[i];
		hp->h[i] = hp->h[w];
		hp->h[w] = tmp;
		i = w;
	}
}

static void
heap_offer(TopHeap *hp, const TopSource *s)
{
	if (hp->n < TOP_SOURCES)
	{
		int			i = hp->n++;

		hp->h[i] = *s;
		/* sift up */
		while (i > 0 && top_cmp(&hp->h[(i - 1) / 2], &hp->h[i]) < 0)
		{
			TopSource	tmp = hp->h[i];

			hp->h[i] = hp->h[(i - 1) / 2];
			hp->h[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
		return;
	}
	if (top_cmp(s, &hp->h[0]) < 0)
	{
		hp->rest_max = Max(hp->rest_max, hp->h[0].packets);
		hp->h[0] = *s;
		heap_sift_down(hp, 0);
	}
	else
		hp->rest_max = Max(hp->rest_max, s->packets);
}

/* The heap's sources as the list, in order. */
static void
heap_to_list(TopHeap *hp, TopList *t)
{
	t->n = hp->n;
	memcpy(t->s, hp->h, sizeof(TopSource) * hp->n);
	qsort(t->s, t->n, sizeof(TopSource), top_cmp);
	t->rest_max = hp->rest_max;
}

/* Build a day's list from the totals of all its sources (any order). */
void
top_build(TopList *t, const TopSource *all, int n)
{
	TopHeap    *hp = palloc0(sizeof(TopHeap));
	int			i;

	for (i = 0; i < n; i++)
		if (all[i].packets > 0)
			heap_offer(hp, &all[i]);
	heap_to_list(hp, t);
	pfree(hp);
}

static int
src_cmp(const void *a, const void *b)
{
	uint32		x = ((const TopSource *) a)->src;
	uint32		y = ((const TopSource *) b)->src;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Fold the new totals of the sources a statement touched (packets 0: none
 * left), in address order as top_sources_of gives them, into the list.
 * Returns false when a source of the list lost packets: the list must then
 * be built again from the day's entries.  The list, by address, is walked
 * beside the touched sources (a flooded part touches thousands).
 */
bool
top_update(TopList *t, const TopSource *changed, int n)
{
	TopSource	bysrc[TOP_SOURCES];
	bool		seen[TOP_SOURCES];
	TopHeap    *hp;
	int			i,
				j = 0;

	memcpy(bysrc, t->s, sizeof(TopSource) * t->n);
	qsort(bysrc, t->n, sizeof(TopSource), src_cmp);
	memset(seen, 0, sizeof(seen));
	hp = palloc(sizeof(TopHeap));
	hp->n = 0;
	hp->rest_max = t->rest_max;
	for (i = 0; i < n; i++)
	{
		Assert(i == 0 || changed[i - 1].src < changed[i].src);
		while (j < t->n && bysrc[j].src < changed[i].src)
			j++;
		if (j < t->n && bysrc[j].src == changed[i].src)
		{
			if (changed[i].packets < bysrc[j].packets)
			{
				pfree(hp);
				return false;
			}
			seen[j] = true;
		}
		if (changed[i].packets > 0)
			heap_offer(hp, &changed[i]);
	}
	/* the list's sources the statement did not touch keep their totals */
	for (i = 0; i < t->n; i++)
		if (!seen[i])
			heap_offer(hp, &bysrc[i]);
	heap_to_list(hp, t);
	pfree(hp);
	return true;
}
