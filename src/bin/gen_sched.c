/*-------------------------------------------------------------------------
 *
 * gen_sched.c
 *	  mirai_gen --schedule: time windows with exact record counts and exact
 *	  Mirai packets per source.
 *
 * The file has one "window START END RECORDS" line per window (Unix
 * seconds[.fraction], START < END, windows in time order and not
 * overlapping), each followed by "ADDRESS COUNT" lines: COUNT Mirai packets
 * from that IPv4 address in the window.  '#' starts a comment.  A window
 * holds exactly RECORDS records with times drawn uniformly from
 * [START, END) and sorted; exactly the listed Mirai packets are among them,
 * at random places and in random order; the rest is the usual non-Mirai
 * traffic (never Mirai by accident).
 *
 * src/bin/gen_sched.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "gen.h"

/* Parse "SECONDS[.FRACTION]" exactly; returns 0 if malformed. */
int
parse_time(const char *s, uint64_t *sec, uint32_t *nsec)
{
	const char *p = s;
	uint64_t	v = 0;
	uint32_t	ns = 0;
	int			digits = 0;
	int			fd = 0;

	while (*p >= '0' && *p <= '9')
	{
		if (v > (UINT64_C(0xFFFFFFFF) - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t) (*p - '0');
		p++;
		digits++;
	}
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
		{
			if (fd < 9)
			{
				ns = ns * 10 + (uint32_t) (*p - '0');
				fd++;
			}
			p++;
			digits++;
		}
		while (fd < 9)
		{
			ns *= 10;
			fd++;
		}
	}
	if (digits == 0 || *p != '\0')
		return 0;
	*sec = v;
	*nsec = ns;
	return 1;
}

/* Parse a dotted-quad IPv4 address; returns 0 if malformed. */
int
parse_ip4_text(const char *s, uint32_t *out)
{
	uint32_t	a = 0;
	int			parts = 0;
	const char *p = s;

	while (parts < 4)
	{
		uint32_t	v = 0;
		int			digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 4)
		{
			v = v * 10 + (uint32_t) (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return 0;
		a = (a << 8) | v;
		parts++;
		if (parts < 4)
		{
			if (*p != '.')
				return 0;
			p++;
		}
	}
	if (*p != '\0')
		return 0;
	*out = a;
	return 1;
}

/* Parse an unsigned decimal count; returns 0 if malformed or above max. */
static int
parse_count(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0')
		return 0;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9' || v > (max - (uint64_t) (*s - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t) (*s - '0');
	}
	*out = v;
	return 1;
}

/* Read the schedule file; returns the total number of records. */
uint64_t
sched_load(Sched *sc, const char *path, uint32_t dst)
{
	FILE	   *fp = fopen(path, "r");
	char		line[512];
	size_t		wcap = 0;
	size_t		scap = 0;
	unsigned long lineno = 0;
	uint64_t	total = 0;
	uint64_t	prev_end_sec = 0;
	uint32_t	prev_end_nsec = 0;

	memset(sc, 0, sizeof(*sc));
	if (fp == NULL)
		die(1, "could not open schedule \"%s\": %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL)
	{
		char	   *f[5];
		int			nf = 0;
		char	   *p;
		char	   *save = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp))
			die(1, "%s:%lu: line too long", path, lineno);
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL && nf < 5;
			 p = strtok_r(NULL, " \t\r\n", &save))
			f[nf++] = p;
		if (nf == 0)
			continue;
		if (strcmp(f[0], "window") == 0)
		{
			SchedWindow *w;
			uint64_t	es;
			uint32_t	ens;

			if (nf != 4)
				die(1, "%s:%lu: expected \"window START END RECORDS\"", path, lineno);
			if (sc->nw == wcap)
			{
				wcap = wcap ? wcap * 2 : 16;
				sc->w = realloc(sc->w, wcap * sizeof(SchedWindow));
				if (sc->w == NULL)
					die(1, "out of memory");
			}
			w = &sc->w[sc->nw];
			memset(w, 0, sizeof(*w));
			if (!parse_time(f[1], &w->start_sec, &w->start_nsec) ||
				!parse_time(f[2], &es, &ens))
				die(1, "%s:%lu: invalid time (expected Unix seconds[.fraction])", path, lineno);
			if (es < w->start_sec || (es == w->start_sec && ens <= w->start_nsec))
				die(1, "%s:%lu: the window ends before it starts", path, lineno);
			if (w->start_sec < prev_end_sec ||
				(w->start_sec == prev_end_sec && w->start_nsec < prev_end_nsec))
				die(1, "%s:%lu: windows must be in time order and not overlap", path, lineno);
			w->span_ns = (es - w->start_sec) * NSEC_PER_SEC + ens - w->start_nsec;
			if (!parse_count(f[3], SCHED_MAX_WINDOW, &w->records))
				die(1, "%s:%lu: invalid record count \"%s\" (0..%" PRIu64 ")",
					path, lineno, f[3], SCHED_MAX_WINDOW);
			w->first_src = sc->nsrc;
			prev_end_sec = es;
			prev_end_nsec = ens;
			total += w->records;
			sc->nw++;
		}
		else
		{
			SchedWindow *w;
			uint32_t	a;
			uint64_t	n;

			if (sc->nw == 0)
				die(1, "%s:%lu: a source before the first \"window\" line", path, lineno);
			w = &sc->w[sc->nw - 1];
			if (nf != 2 || !parse_ip4_text(f[0], &a) ||
				!parse_count(f[1], SCHED_MAX_WINDOW, &n))
				die(1, "%s:%lu: expected \"IPV4-ADDRESS COUNT\"", path, lineno);
			if (a == dst)
				die(1, "%s:%lu: source %s is the honeypot's own address (--dst)",
					path, lineno, f[0]);
			if (sc->nsrc == scap)
			{
				scap = scap ? scap * 2 : 1024;
				sc->src_addr = realloc(sc->src_addr, scap * sizeof(uint32_t));
				sc->src_count = realloc(sc->src_count, scap * sizeof(uint64_t));
				if (sc->src_addr == NULL || sc->src_count == NULL)
					die(1, "out of memory");
			}
			sc->src_addr[sc->nsrc] = a;
			sc->src_count[sc->nsrc] = n;
			sc->nsrc++;
			w->nsrc++;
			w->mirai += n;
			if (w->mirai > w->records)
				die(1, "%s:%lu: the window's Mirai packets outnumber its %" PRIu64 " records",
					path, lineno, w->records);
		}
	}
	if (ferror(fp))
		die(1, "could not read schedule \"%s\": %s", path, strerror(errno));
	fclose(fp);
	if (sc->nw == 0)
		die(1, "schedule \"%s\" has no window", path);
	sc->cur = 0;
	sc->done = 0;
	sc->offs = NULL;
	sc->mirai_src = NULL;
	return total;
}


/* Order of two 64-bit values, for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* Draw the record times and the Mirai sources' order of window cur. */
static void
sched_begin_window(Gen *g, Sched *sc)
{
	SchedWindow *w = &sc->w[sc->cur];
	uint64_t	i;
	uint64_t	k = 0;
	size_t		j;

	free(sc->offs);
	free(sc->mirai_src);
	sc->offs = malloc((w->records ? w->records : 1) * sizeof(uint64_t));
	sc->mirai_src = malloc((w->mirai ? w->mirai : 1) * sizeof(uint32_t));
	if (sc->offs == NULL || sc->mirai_src == NULL)
		die(1, "out of memory");
	for (i = 0; i < w->records; i++)
		sc->offs[i] = rng_below64(&g->rng, w->span_ns);
	qsort(sc->offs, w->records, sizeof(uint64_t), cmp_u64);
	for (j = 0; j < w->nsrc; j++)
		for (i = 0; i < sc->src_count[w->first_src + j]; i++)
			sc->mirai_src[k++] = sc->src_addr[w->first_src + j];
	/* Fisher-Yates */
	for (i = w->mirai; i > 1; i--)
	{
		uint64_t	t = rng_below64(&g->rng, i);
		uint32_t	v = sc->mirai_src[i - 1];

		sc->mirai_src[i - 1] = sc->mirai_src[t];
		sc->mirai_src[t] = v;
	}
	sc->done = 0;
	sc->mirai_done = 0;
}

/*
 * Move to the window of the next record and give its time; on the first
 * call, and whenever a window is used up, the next window with records
 * is begun.
 */
void
sched_next_time(Gen *g, Sched *sc, uint64_t *sec, uint32_t *nsec)
{
	SchedWindow *w;
	uint64_t	t;

	if (sc->offs == NULL)
	{
		sc->cur = 0;
		while (sc->w[sc->cur].records == 0)
			sc->cur++;
		sched_begin_window(g, sc);
	}
	while (sc->done == sc->w[sc->cur].records)
	{
		if (sc->cur + 1 >= sc->nw)
			die(1, "internal error: more records than the schedule has");
		sc->cur++;
		sc->done = 0;
		if (sc->w[sc->cur].records > 0)
			sched_begin_window(g, sc);
	}
	w = &sc->w[sc->cur];
	t = (uint64_t) w->start_nsec + sc->offs[sc->done];
	*sec = w->start_sec + t / NSEC_PER_SEC;
	*nsec = (uint32_t) (t % NSEC_PER_SEC);
}

/*
 * Generate the next packet of the schedule: a Mirai packet with
 * probability (Mirai packets left) / (records left) in the window, so that
 * the count is exact; otherwise non-Mirai traffic, fragmented only when
 * enough records are left for the Mirai packets.  Returns 1 or 2.
 */
int
gen_packet_sched(Gen *g, Sched *sc, L2Kind l2, int can_frag, Packet *pk,
				 Packet *second)
{
	Rng		   *r = &g->rng;
	const Options *o = g->opt;
	SchedWindow *w = &sc->w[sc->cur];
	uint64_t	left = w->records - sc->done;
	uint64_t	mirai_left = w->mirai - sc->mirai_done;
	int			n;

	if (mirai_left > 0 && rng_below64(r, left) < mirai_left)
	{
		int			opts = rng_chance(r, o->p_ipopt);

		return gen_mirai_from(g, pk, second, opts,
							  sc->mirai_src[sc->mirai_done++]);
	}
	can_frag = can_frag && mirai_left + 2 <= left;
	do
	{
		int			nonip = rng_chance(r, o->p_nonip);
		int			v6 = rng_chance(r, o->p_ipv6);
		int			frag = rng_chance(r, o->p_frag);
		int			opts = rng_chance(r, o->p_ipopt);

		pk->scanner = GS_NONE;
		if (nonip && l2_allows(l2, PK_ARP))
		{
			gen_non_ip(g, l2, pk);
			n = 1;
		}
		else if (v6 && l2_allows(l2, PK_IP6))
		{
			gen_ip6(g, pk);
			n = 1;
		}
		else
			n = gen_other4(g, pk, second, opts, frag && can_frag);
	} while (ip4_is_mirai(pk));
	return n;
}
