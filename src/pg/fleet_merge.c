/*-------------------------------------------------------------------------
 *
 * fleet_merge.c
 *		Merging the days of a fleet's members, as one server holding all
 *		their rows would count them.
 *
 * A day of a fleet table is the union of its members' days: packets are
 * summed, a source seen by two sensors is one source, the entries of one
 * (source, port) are one entry (packets summed, the earliest first and the
 * latest last packet).  A member's day comes in parts, each with its
 * entries sorted by (source, port) (the parts of one member hold disjoint
 * sources; two members may split a day in different numbers of parts), so
 * the day is a k-way merge of sorted runs: no hash, no sort of the whole.
 *
 * Countries: on one server a source keeps, for the whole day, the country
 * GeoIP gave it when it was first seen that day.  Merged, a source takes
 * the country of its earliest packet of the day among the members (with
 * one GeoIP database on every server, they agree).
 *
 * Every member's packed entries are unpacked by mx_entries_unpack
 * (entries_unpack_buf), which checks every value; sums are checked for
 * overflow.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/int.h"
#include "miscadmin.h"

#include "fleet.h"
#include "rollup.h"

/* A sorted run of entries, being merged. */
typedef struct Run
{
	const DayEntry *e;
	int			i;
	int			n;
} Run;

/* A set of sources (the ones seen on earlier days). */
typedef struct SeenSource
{
	uint32		src;
	char		status;
} SeenSource;

#define SH_PREFIX		seenhash
#define SH_ELEMENT_TYPE	SeenSource
#define SH_KEY_TYPE		uint32
#define SH_KEY			src
#define SH_HASH_KEY(tb, k)	murmurhash32(k)
#define SH_EQUAL(tb, a, b)	((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static inline uint64
run_key(const Run *r)
{
	const DayEntry *e = &r->e[r->i];

	return ((uint64) e->src << 16) | e->dport;
}

/* Restore the heap below at. */
static void
sift_down(Run *runs, int *heap, int nheap, int at)
{
	for (;;)
	{
		int			l = 2 * at + 1,
					r = l + 1,
					m = at,
					t;

		if (l < nheap && run_key(&runs[heap[l]]) < run_key(&runs[heap[m]]))
			m = l;
		if (r < nheap && run_key(&runs[heap[r]]) < run_key(&runs[heap[m]]))
			m = r;
		if (m == at)
			return;
		t = heap[at];
		heap[at] = heap[m];
		heap[m] = t;
		at = m;
	}
}

/*
 * Unpack the parts of one day (parts[0..nparts), all of day) as runs, each
 * checked, a corrupt one named by its member; *total entries in all.
 */
static Run *
unpack_day(Fleet *f, const FleetPart *parts, int nparts, int *heap, int *nheap, int64 *total)
{
	Run		   *runs = palloc(sizeof(Run) * Max(nparts, 1));
	int			p;

	*nheap = 0;
	*total = 0;
	for (p = 0; p < nparts; p++)
	{
		ErrorContextCallback cb;
		int			n;

		fleet_context_push(f, parts[p].member, &cb);
		runs[p].e = entries_unpack_buf(parts[p].data, parts[p].len, parts[p].day, &n);
		error_context_stack = cb.previous;
		runs[p].i = 0;
		runs[p].n = n;
		*total += n;
		if (n > 0)
			heap[(*nheap)++] = p;
	}
	for (p = *nheap / 2 - 1; p >= 0; p--)
		sift_down(runs, heap, *nheap, p);
	return runs;
}

/* Advance the run at the top of the heap. */
static inline void
pop(Run *runs, int *heap, int *nheap)
{
	if (++runs[heap[0]].i == runs[heap[0]].n)
		heap[0] = heap[--(*nheap)];
	if (*nheap > 0)
		sift_down(runs, heap, *nheap, 0);
}

static void
overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("the packets of a day of the fleet's members add up past bigint")));
}

/* Sort n sources, radix by bytes, least significant first (tmp: room for n). */
static void
sort_sources(uint32 *a, uint32 *tmp, size_t n)
{
	int			shift;

	for (shift = 0; shift < 32; shift += 8)
	{
		size_t		count[257] = {0};
		size_t		i;
		uint32	   *t;

		for (i = 0; i < n; i++)
			count[((a[i] >> shift) & 0xFF) + 1]++;
		for (i = 1; i < 257; i++)
			count[i] += count[i - 1];
		for (i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0xFF]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	/* four passes: the sorted sources are back in a */
}

/* Make room for n elements of size each in *buf (of *cap). */
static void
reserve(void **buf, size_t *cap, size_t n, size_t each)
{
	if (n <= *cap)
		return;
	*cap = Max(n, *cap * 2);
	if (*buf == NULL)
		*buf = MemoryContextAllocHuge(CurrentMemoryContext, *cap * each);
	else
		*buf = repalloc_huge(*buf, *cap * each);
}

/*
 * Per day of parts (sorted by day): packets and distinct sources, and, when
 * asked, the sources first seen that day among every member's days given.
 * Each part is unpacked (and so checked) into one buffer; the day's
 * sources, distinct within each part, are sorted and counted once.
 */
FleetDay *
fleet_count_sources(Fleet *f, const FleetPart *parts, int nparts, bool new_sources, int *ndays)
{
	FleetDay   *out = palloc(sizeof(FleetDay) * Max(nparts, 1));
	seenhash_hash *seen = new_sources ? seenhash_create(CurrentMemoryContext, 4096, NULL) : NULL;
	DayEntry   *e = NULL;
	uint32	   *src = NULL,
			   *tmp = NULL;
	size_t		cap_e = 0,
				cap_src = 0,
				cap_tmp = 0;
	int			k = 0,
				from = 0;

	while (from < nparts)
	{
		int			to;
		size_t		nsrc = 0,
					i;
		FleetDay   *d = &out[k++];

		d->day = parts[from].day;
		d->packets = d->sources = d->new_sources = 0;
		for (to = from; to < nparts && parts[to].day == d->day; to++)
		{
			ErrorContextCallback cb;
			mx_error	err;
			size_t		n;

			fleet_context_push(f, parts[to].member, &cb);
			if (mx_entries_count(parts[to].data, parts[to].len, &n, &err) != MX_OK)
				entries_error(&err);
			reserve((void **) &e, &cap_e, n, sizeof(DayEntry));
			if (mx_entries_unpack(parts[to].data, parts[to].len, e, n, &err) != MX_OK)
				entries_error(&err);
			error_context_stack = cb.previous;
			reserve((void **) &src, &cap_src, nsrc + n, sizeof(uint32));
			for (i = 0; i < n; i++)
			{
				if (pg_add_s64_overflow(d->packets, e[i].packets, &d->packets))
					overflow();
				if (i == 0 || e[i].src != e[i - 1].src)
					src[nsrc++] = e[i].src;
			}
		}
		reserve((void **) &tmp, &cap_tmp, nsrc, sizeof(uint32));
		sort_sources(src, tmp, nsrc);
		for (i = 0; i < nsrc; i++)
		{
			if (i > 0 && src[i] == src[i - 1])
				continue;
			d->sources++;
			if (seen != NULL)
			{
				bool		found;

				(void) seenhash_insert(seen, src[i], &found);
				if (!found)
					d->new_sources++;
			}
		}
		from = to;
		CHECK_FOR_INTERRUPTS();
	}
	*ndays = k;
	return out;
}

/* Whether entry a's country is to be preferred to b's for their source. */
static inline bool
country_first(const DayEntry *a, const DayEntry *b)
{
	int			c;

	if (a->first_us != b->first_us)
		return a->first_us < b->first_us;
	if ((a->country[0] == '\0') != (b->country[0] == '\0'))
		return a->country[0] != '\0';
	c = memcmp(a->country, b->country, MX_COUNTRY_LEN);
	return c < 0;
}

/*
 * The entries of one day (every part of parts[0..nparts) is of that day),
 * merged: sorted by (source, port), one entry each, a source's entries
 * sharing one country.
 */
DayEntry *
fleet_merge_day(Fleet *f, const FleetPart *parts, int nparts, int *n)
{
	int		   *heap = palloc(sizeof(int) * Max(nparts, 1));
	int			nheap,
				k = 0,
				a;
	int64		total;
	Run		   *runs = unpack_day(f, parts, nparts, heap, &nheap, &total);
	DayEntry   *out = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DayEntry) * Max(total, 1));

	while (nheap > 0)
	{
		const DayEntry *e = &runs[heap[0]].e[runs[heap[0]].i];

		if (k > 0 && out[k - 1].src == e->src && out[k - 1].dport == e->dport)
		{
			DayEntry   *m = &out[k - 1];

			if (pg_add_s64_overflow(m->packets, e->packets, &m->packets))
				overflow();
			if (country_first(e, m))
				memcpy(m->country, e->country, MX_COUNTRY_LEN);
			m->first_us = Min(m->first_us, e->first_us);
			m->last_us = Max(m->last_us, e->last_us);
		}
		else
			out[k++] = *e;
		pop(runs, heap, &nheap);
	}
	/* a source's country: that of its earliest entry */
	for (a = 0; a < k;)
	{
		int			b = a + 1,
					best = a,
					i;

		while (b < k && out[b].src == out[a].src)
		{
			if (country_first(&out[b], &out[best]))
				best = b;
			b++;
		}
		for (i = a; i < b; i++)
			if (i != best)
				memcpy(out[i].country, out[best].country, MX_COUNTRY_LEN);
		a = b;
	}
	*n = k;
	return out;
}

static int
count_cmp(const void *a, const void *b)
{
	const FleetCount *x = a;
	const FleetCount *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return memcmp(x->country, y->country, MX_COUNTRY_LEN);
}

/*
 * Counts summed per day (by_country: per day and country), sorted; sums
 * of zero left out.
 */
FleetCount *
fleet_sum_counts(FleetCount *c, int n, bool by_country, int *nout)
{
	int			i,
				k = 0;

	if (!by_country)
		for (i = 0; i < n; i++)
			memset(c[i].country, 0, MX_COUNTRY_LEN);
	qsort(c, n, sizeof(FleetCount), count_cmp);
	for (i = 0; i < n; i++)
	{
		if (k > 0 && count_cmp(&c[k - 1], &c[i]) == 0)
		{
			if (pg_add_s64_overflow(c[k - 1].packets, c[i].packets, &c[k - 1].packets))
				overflow();
		}
		else
			c[k++] = c[i];
	}
	n = k;
	k = 0;
	for (i = 0; i < n; i++)
		if (c[i].packets > 0)
			c[k++] = c[i];
	*nout = k;
	return c;
}

static int
hour_cmp(const void *a, const void *b)
{
	int64		x = ((const HourCount *) a)->hour;
	int64		y = ((const HourCount *) b)->hour;

	return x < y ? -1 : (x > y);
}

/* Hourly counts summed per hour, sorted; hours of no packet left out. */
HourCount *
fleet_sum_hours(HourCount *h, int n, int *nout)
{
	int			i,
				k = 0;

	qsort(h, n, sizeof(HourCount), hour_cmp);
	for (i = 0; i < n; i++)
	{
		if (k > 0 && h[k - 1].hour == h[i].hour)
		{
			if (pg_add_s64_overflow(h[k - 1].mirai, h[i].mirai, &h[k - 1].mirai) ||
				pg_add_s64_overflow(h[k - 1].all, h[i].all, &h[k - 1].all))
				overflow();
		}
		else
			h[k++] = h[i];
	}
	n = k;
	k = 0;
	for (i = 0; i < n; i++)
		if (h[i].all > 0)
			h[k++] = h[i];
	*nout = k;
	return h;
}
