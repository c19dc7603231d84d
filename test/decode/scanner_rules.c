/*-------------------------------------------------------------------------
 *
 * scanner_rules.c
 *		The scanner catalogue (src/decode/mx_scanner.c) measured, for
 *		test/t/085_scanner.t.
 *
 *		scanner_rules fp N SEED      false positives on N random SYNs
 *		scanner_rules tools N SEED   N packets per tool, built as its source does
 *		scanner_rules emit N SEED    packets of every kind for the SQL check
 *		scanner_rules parse LIST     mx_scanner_parse_list on LIST
 *
 * Random SYNs follow the catalogue's model: IPv4 TCP, SYN alone, ack 0,
 * every other header field uniform and independent (TTL 0 to 255).  The
 * PRNG is splitmix64, seeded: a run is reproducible.
 *
 * fp prints, per rule, the rate derived again from the rule's tests under
 * that model (as the product of each test's share of passing values,
 * summed over clauses), the rate the catalogue states, the expected count
 * n*p, sigma = sqrt(n*p*(1-p)), the bound n*p + 5*sigma and the measured
 * count; then, per test, its own measured pass rate against its derived
 * share (z, in sigmas); then whether every packet gets the same answer
 * from its stored form (packed and unpacked again, and read in place).
 *
 *	rule NAME derived=D stated=S n=N expected=E sigma=G bound=B measured=M
 *	factor NAME CLAUSE TEST share=P measured=Q z=Z
 *	stored agree=A disagree=D
 *
 * tools prints, per rule, how many of the tool's packets the rule matches
 * and how many the catalogue's first match names it:
 *
 *	tool NAME n=N matched=M first=F
 *
 * emit prints one packet a line for COPY: its text form, the first rule's
 * name (\N for none) and every matching rule as an array, tab-separated.
 * It also checks, on every packet it writes, that the mirai rule is
 * mx_is_mirai and mx_packed_is_mirai, and that the first rule and the
 * rules that match are the same on the packet, on its stored form unpacked
 * and on its stored form read in place (mx_scanner_first_packed,
 * mx_scanner_matches_packed); its last line, on stderr, says so, and the
 * exit status is 1 when any disagree.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_decode.h"
#include "mx_scanner.h"

/* ----------------------------------------------------------------------
 * splitmix64
 * ----------------------------------------------------------------------
 */
static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t	z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t
rnd(uint32_t n)					/* 0 .. n-1 */
{
	return (uint32_t) (rng() % n);
}

static uint32_t
r32(void)
{
	return (uint32_t) rng();
}

static uint16_t
r16(void)
{
	return (uint16_t) rng();
}

static void
put_v4(uint8_t *a, uint32_t v)
{
	memset(a, 0, 16);
	a[0] = (uint8_t) (v >> 24);
	a[1] = (uint8_t) (v >> 16);
	a[2] = (uint8_t) (v >> 8);
	a[3] = (uint8_t) v;
}

static uint32_t
get_v4(const uint8_t *a)
{
	return ((uint32_t) a[0] << 24) | ((uint32_t) a[1] << 16) |
		((uint32_t) a[2] << 8) | a[3];
}

/* ----------------------------------------------------------------------
 * Packets
 * ----------------------------------------------------------------------
 */

/* A random SYN of the catalogue's model. */
static void
random_syn(mx_packet *p)
{
	memset(p, 0, sizeof(*p));
	p->ts_ns = INT64_C(1734145965000000000) + (int64_t) rnd(86400000) * 1000000;
	p->wirelen = p->caplen = 54;
	p->ipver = 4;
	p->proto = MX_PROTO_TCP;
	p->present = MX_HAS_PORTS | MX_HAS_TCP | MX_HAS_SEQ;
	put_v4(p->src, r32());
	put_v4(p->dst, r32());
	p->sport = r16();
	p->dport = r16();
	p->seq = r32();
	p->ack = 0;
	p->tcp_flags = MX_TCP_SYN;
	p->window = r16();
	p->ttl = (uint8_t) rnd(256);
	p->ipid = r16();
}

/* Hops between a sender and the capture: 0 to 30. */
static uint8_t
after_hops(unsigned initial)
{
	unsigned	h = rnd(31);

	return (uint8_t) (initial > h ? initial - h : 1);
}

static uint16_t
masscan_id(const mx_packet *p)
{
	return (uint16_t) ((get_v4(p->dst) ^ p->dport ^ p->seq) & 0xffff);
}

/*
 * A packet of the tool a rule describes, its fields set as the tool's
 * source sets them (the catalogue's `source` says where), the rest random.
 * false when the rule has no generator here.
 */
static bool
tool_packet(const char *name, mx_packet *p)
{
	random_syn(p);
	if (strcmp(name, "mirai") == 0)
	{
		/* scanner_init: sport drawn until >= 1024 (the rule wants > 1024) */
		p->sport = (uint16_t) (1025 + rnd(65535 - 1024));
		p->dport = rnd(10) == 0 ? 2323 : 23;
		p->seq = get_v4(p->dst);
		p->ttl = after_hops(64);
	}
	else if (strcmp(name, "zmap") == 0)
	{
		p->ipid = 54321;
		p->window = 65535;
		if (rnd(4) == 0)
		{
			/* tcp_synackscan: SYN-ACK, ack from the validation bytes */
			p->tcp_flags = MX_TCP_SYN | MX_TCP_ACK;
			p->ack = r32();
		}
		p->sport = (uint16_t) (32768 + rnd(61000 - 32768 + 1));
		p->ttl = after_hops(255);
		p->wirelen = p->caplen = rnd(2) ? 54 : 58;
	}
	else if (strcmp(name, "zmap41") == 0)
	{
		p->window = 65535;
		p->sport = (uint16_t) (32768 + rnd(61000 - 32768 + 1));
		p->ttl = after_hops(64);
		p->wirelen = p->caplen = 66;
	}
	else if (strcmp(name, "masscan") == 0)
	{
		p->ttl = after_hops(255);
		switch (rnd(3))
		{
			case 0:				/* template_set_target_ipv4: a SYN probe */
			case 1:
				p->window = rnd(2) ? 1024 : 1025;
				break;
			default:			/* tcp_create_packet: its TCP stack */
				{
					static const uint16_t flags[] = {
						MX_TCP_ACK, MX_TCP_ACK | MX_TCP_PSH, MX_TCP_RST,
						MX_TCP_ACK | MX_TCP_FIN, MX_TCP_ACK | MX_TCP_RST
					};

					p->tcp_flags = flags[rnd(5)];
					p->ack = r32();
					p->window = rnd(4) ? 1200 : 600;
				}
				break;
		}
		p->ipid = masscan_id(p);
	}
	else if (strcmp(name, "nmap") == 0)
	{
		p->window = 1024;
		p->ttl = after_hops(37 + rnd(23));
		p->sport = (uint16_t) (1024 + rnd(64512));
	}
	else if (strcmp(name, "unicornscan") == 0)
	{
		uint16_t	port = (uint16_t) (r32() % 0xffff);

		if (port < 4096)
			port += 4096;
		p->sport = port;
		p->window = 4128;
		p->ttl = after_hops(255);
	}
	else if (strcmp(name, "backscatter") == 0)
	{
		switch (rnd(6))
		{
			case 0:				/* SYN-ACK from a listening port */
				p->tcp_flags = MX_TCP_SYN | MX_TCP_ACK;
				p->ack = r32();
				break;
			case 1:				/* RST-ACK from a closed port */
				p->tcp_flags = MX_TCP_RST | MX_TCP_ACK;
				p->ack = r32();
				p->window = 0;
				break;
			case 2:				/* RST to a stray ACK */
				p->tcp_flags = MX_TCP_RST;
				p->window = 0;
				break;
			case 3:				/* ICMP unreachable or time exceeded */
				p->proto = MX_PROTO_ICMP;
				p->present = MX_HAS_PORTS;
				p->sport = rnd(2) ? 3 : 11;
				p->dport = (uint16_t) rnd(p->sport == 3 ? 16 : 2);
				p->seq = 0;
				p->tcp_flags = 0;
				p->window = 0;
				p->wirelen = p->caplen = 70;
				break;
			default:			/* the same from IPv6 */
				p->ipver = 6;
				p->ipid = 0;
				p->src[0] = 0x20;
				p->src[1] = 0x01;
				p->dst[0] = 0x20;
				p->dst[1] = 0x01;
				p->wirelen = p->caplen = 100;
				if (rnd(2))
				{
					p->proto = MX_PROTO_ICMPV6;
					p->present = MX_HAS_PORTS;
					p->sport = rnd(2) ? 1 : 3;
					p->dport = (uint16_t) rnd(p->sport == 1 ? 7 : 2);
					p->seq = 0;
					p->tcp_flags = 0;
					p->window = 0;
				}
				else
				{
					p->tcp_flags = MX_TCP_SYN | MX_TCP_ACK;
					p->ack = r32();
				}
				break;
		}
	}
	else
		return false;
	return true;
}

/* A packet of any kind, often near a rule's values: for emit. */
static void
any_packet(mx_packet *p)
{
	static const uint16_t windows[] = {1023, 1024, 1025, 1026, 600, 1200, 4127, 4128, 65534, 65535};
	static const uint8_t ttls[] = {0, 1, 59, 60, 64, 65, 128, 129, 254, 255};
	static const uint16_t ports[] = {0, 1023, 1024, 1025, 4095, 4096, 32767, 32768, 61000, 61001, 65534, 65535};
	static const uint8_t protos[] = {MX_PROTO_TCP, MX_PROTO_TCP, MX_PROTO_TCP, MX_PROTO_UDP, MX_PROTO_ICMP, MX_PROTO_ICMPV6, 47, 132};

	random_syn(p);
	if (rnd(4) == 0)
	{
		p->ipver = 6;
		p->ipid = 0;
		p->src[4] = (uint8_t) rnd(256);
		p->dst[15] = (uint8_t) rnd(256);
	}
	p->proto = protos[rnd(sizeof(protos))];
	p->tcp_flags = (uint16_t) (rnd(3) ? rnd(512) : MX_TCP_SYN);
	if (rnd(2))
		p->ack = 0;
	else
		p->ack = r32();
	if (rnd(2))
		p->window = windows[rnd(sizeof(windows) / sizeof(windows[0]))];
	if (rnd(2))
		p->ttl = ttls[rnd(sizeof(ttls))];
	if (rnd(2))
		p->sport = ports[rnd(sizeof(ports) / sizeof(ports[0]))];
	switch (rnd(5))
	{
		case 0:
			p->seq = get_v4(p->dst);
			break;
		case 1:
			p->ipid = masscan_id(p);
			break;
		case 2:
			p->ipid = rnd(2) ? 54321 : masscan_id(p);
			break;
	}
	if (p->proto == MX_PROTO_TCP)
	{
		switch (rnd(8))
		{
			case 0:				/* the snaplen cut the TCP header after seq */
				p->present = MX_HAS_PORTS | MX_HAS_SEQ;
				p->ack = 0;
				p->tcp_flags = 0;
				p->window = 0;
				p->caplen = 42;
				break;
			case 1:				/* a later fragment: no ports */
				p->present = MX_IS_FRAGMENT;
				p->sport = p->dport = 0;
				p->seq = p->ack = 0;
				p->tcp_flags = 0;
				p->window = 0;
				break;
		}
	}
	else
	{
		p->seq = p->ack = 0;
		p->tcp_flags = 0;
		p->window = 0;
		if (p->proto == 47)
		{
			p->present = 0;
			p->sport = p->dport = 0;
		}
		else if (p->proto == MX_PROTO_ICMP || p->proto == MX_PROTO_ICMPV6)
		{
			p->present = MX_HAS_PORTS;
			p->sport = (uint16_t) rnd(16);
			p->dport = (uint16_t) rnd(4);
		}
		else
			p->present = MX_HAS_PORTS;
	}
	if (p->ipver == 6 && p->proto == MX_PROTO_ICMP)
		p->proto = MX_PROTO_ICMPV6;
	if (p->ipver == 4 && p->proto == MX_PROTO_ICMPV6)
		p->proto = MX_PROTO_ICMP;
}

/* The same packet through its stored form. */
static bool
stored(const mx_packet *p, mx_packet *q)
{
	uint8_t		buf[MX_PACKED_MAX];
	size_t		len = mx_packet_pack(p, buf);
	mx_error	err;

	return mx_packet_unpack(buf, len, q, &err) == MX_OK;
}

/* ----------------------------------------------------------------------
 * The model's share of values passing a test
 * ----------------------------------------------------------------------
 */

/* Which of the model's random draws a field depends on (0: a constant). */
static unsigned
draws(uint8_t field)
{
	enum
	{
		D_IPID = 1, D_SPORT = 2, D_DPORT = 4, D_SEQ = 8, D_WIN = 16, D_TTL = 32, D_DST = 64
	};

	switch (field)
	{
		case MX_SF_IPID:
			return D_IPID;
		case MX_SF_SPORT:
			return D_SPORT;
		case MX_SF_DPORT:
			return D_DPORT;
		case MX_SF_SEQ:
			return D_SEQ;
		case MX_SF_WINDOW:
			return D_WIN;
		case MX_SF_TTL:
			return D_TTL;
		case MX_SF_SEQ_XOR_DST:
			return D_SEQ | D_DST;
		case MX_SF_MASSCAN_ID:
			return D_IPID | D_DST | D_DPORT | D_SEQ;
	}
	return 0;
}

/* Bits of a uniform field (0: a constant of the model). */
static int
width(uint8_t field)
{
	switch (field)
	{
		case MX_SF_TTL:
			return 8;
		case MX_SF_IPID:
		case MX_SF_SPORT:
		case MX_SF_DPORT:
		case MX_SF_WINDOW:
		case MX_SF_MASSCAN_ID:
			return 16;
		case MX_SF_SEQ:
		case MX_SF_SEQ_XOR_DST:
			return 32;
	}
	return 0;
}

static bool
passes(uint32_t v, const mx_scanner_test *t)
{
	switch (t->op)
	{
		case MX_SO_EQ:
			return v == t->a;
		case MX_SO_RANGE:
			return v >= t->a && v <= t->b;
		case MX_SO_ONEOF:
			return v == t->a || v == t->b;
		case MX_SO_BITS:
			return (v & t->a) == t->b;
	}
	return false;
}

/* The model's share of packets passing test t; -1 for a field it lacks. */
static double
share(const mx_scanner_test *t)
{
	int			w = width(t->field);
	double		size,
				count;

	switch (t->field)
	{
		case MX_SF_IPVER:
			return passes(4, t) ? 1 : 0;
		case MX_SF_PROTO:
			return passes(MX_PROTO_TCP, t) ? 1 : 0;
		case MX_SF_FLAGS:
			return passes(MX_TCP_SYN, t) ? 1 : 0;
		case MX_SF_ACK:
			return passes(0, t) ? 1 : 0;
		case MX_SF_ICMP_TYPE:
		case MX_SF_ICMP_CODE:
			return 0;			/* a SYN has none */
	}
	if (w == 0)
		return -1;
	size = ldexp(1.0, w);
	switch (t->op)
	{
		case MX_SO_EQ:
			count = (double) t->a < size ? 1 : 0;
			break;
		case MX_SO_RANGE:
			count = t->b < t->a ? 0 : fmin((double) t->b, size - 1) - (double) t->a + 1;
			break;
		case MX_SO_ONEOF:
			count = ((double) t->a < size) + (t->b != t->a && (double) t->b < size);
			break;
		case MX_SO_BITS:
			{
				uint32_t	m = w == 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
				int			bits = 0;
				uint32_t	a = t->a & m;

				if ((t->b & ~a) != 0)
					return 0;
				while (a)
				{
					bits += a & 1;
					a >>= 1;
				}
				count = ldexp(1.0, w - bits);
			}
			break;
		default:
			return -1;
	}
	return count < 0 ? 0 : count / size;
}

/* A rule's rate under the model, from its tests; -1 if not derivable. */
static double
derive(const mx_scanner_rule *r)
{
	double		total = 0;
	int			c,
				i;

	for (c = 0; c < MX_SCANNER_MAX_CLAUSES && r->clauses[c].tests[0].field != MX_SF_NONE; c++)
	{
		double		prod = 1;
		unsigned	seen = 0;

		for (i = 0; i < MX_SCANNER_MAX_TESTS && r->clauses[c].tests[i].field != MX_SF_NONE; i++)
		{
			const mx_scanner_test *t = &r->clauses[c].tests[i];
			double		s = share(t);

			if (s < 0 || (draws(t->field) & seen) != 0)
				return -1;		/* a field outside the model, or two tests on one draw */
			seen |= draws(t->field);
			prod *= s;
		}
		total += prod;
	}
	return total;
}

/* Field values of a packet for one test, as mx_scanner.c reads them; false if absent. */
static bool
field_value(const mx_packet *p, uint8_t field, uint32_t *v)
{
	bool		icmp = p->proto == MX_PROTO_ICMP || p->proto == MX_PROTO_ICMPV6;
	bool		ports = (p->present & MX_HAS_PORTS) && !icmp;
	uint32_t	dst = get_v4(p->dst);

	switch (field)
	{
		case MX_SF_IPVER:
			*v = p->ipver;
			return true;
		case MX_SF_PROTO:
			*v = p->proto;
			return true;
		case MX_SF_TTL:
			*v = p->ttl;
			return true;
		case MX_SF_IPID:
			*v = p->ipid;
			return p->ipver == 4;
		case MX_SF_SPORT:
			*v = p->sport;
			return ports;
		case MX_SF_DPORT:
			*v = p->dport;
			return ports;
		case MX_SF_SEQ:
			*v = p->seq;
			return (p->present & MX_HAS_SEQ) != 0;
		case MX_SF_ACK:
			*v = p->ack;
			return (p->present & MX_HAS_TCP) != 0;
		case MX_SF_FLAGS:
			*v = p->tcp_flags;
			return (p->present & MX_HAS_TCP) != 0;
		case MX_SF_WINDOW:
			*v = p->window;
			return (p->present & MX_HAS_TCP) != 0;
		case MX_SF_ICMP_TYPE:
			*v = p->sport;
			return (p->present & MX_HAS_PORTS) && icmp;
		case MX_SF_ICMP_CODE:
			*v = p->dport;
			return (p->present & MX_HAS_PORTS) && icmp;
		case MX_SF_SEQ_XOR_DST:
			*v = p->seq ^ dst;
			return (p->present & MX_HAS_SEQ) && p->ipver == 4;
		case MX_SF_MASSCAN_ID:
			*v = (p->ipid ^ dst ^ p->dport ^ p->seq) & 0xffff;
			return (p->present & MX_HAS_SEQ) && p->ipver == 4 && ports;
	}
	return false;
}

/* ----------------------------------------------------------------------
 * Modes
 * ----------------------------------------------------------------------
 */

static int
mode_fp(unsigned long n)
{
	size_t		nr = mx_scanner_nrules();
	unsigned long counts[MX_SCANNER_MAX_RULES] = {0};
	/* per rule, clause and test: how many random SYNs passed the test alone */
	static unsigned long pass[MX_SCANNER_MAX_RULES][MX_SCANNER_MAX_CLAUSES][MX_SCANNER_MAX_TESTS];
	unsigned long agree = 0,
				disagree = 0;
	unsigned long k;
	size_t		i;
	int			c,
				t;

	for (k = 0; k < n; k++)
	{
		mx_packet	p,
					q;
		uint32_t	m;
		uint8_t		buf[MX_PACKED_MAX];
		size_t		len;

		random_syn(&p);
		m = mx_scanner_matches(&p, UINT32_MAX);
		for (i = 0; i < nr; i++)
		{
			const mx_scanner_rule *r = mx_scanner_rule_at(i);

			if (m & (UINT32_C(1) << i))
				counts[i]++;
			for (c = 0; c < MX_SCANNER_MAX_CLAUSES; c++)
				for (t = 0; t < MX_SCANNER_MAX_TESTS && r->clauses[c].tests[t].field != MX_SF_NONE; t++)
				{
					uint32_t	v;

					if (field_value(&p, r->clauses[c].tests[t].field, &v) &&
						passes(v, &r->clauses[c].tests[t]))
						pass[i][c][t]++;
				}
		}
		len = mx_packet_pack(&p, buf);
		if (stored(&p, &q) && mx_scanner_matches(&q, UINT32_MAX) == m &&
			mx_scanner_first(&q, UINT32_MAX) == mx_scanner_first(&p, UINT32_MAX) &&
			mx_scanner_first_packed(buf, len, UINT32_MAX) == mx_scanner_first(&p, UINT32_MAX))
			agree++;
		else
			disagree++;
	}
	for (i = 0; i < nr; i++)
	{
		const mx_scanner_rule *r = mx_scanner_rule_at(i);
		double		pr = r->fp_rate < 0 ? 0 : r->fp_rate;
		double		mean = (double) n * pr;
		double		sigma = sqrt((double) n * pr * (1 - pr));

		printf("rule %s derived=%.17g stated=%.17g n=%lu expected=%.6f sigma=%.6f bound=%.6f measured=%lu\n",
			   r->name, mx_scanner_checkable(r) ? derive(r) : -1.0, r->fp_rate, n,
			   mean, sigma, mean + 5 * sigma, counts[i]);
		for (c = 0; c < MX_SCANNER_MAX_CLAUSES; c++)
			for (t = 0; t < MX_SCANNER_MAX_TESTS && r->clauses[c].tests[t].field != MX_SF_NONE; t++)
			{
				double		s = share(&r->clauses[c].tests[t]);
				double		sd = sqrt((double) n * s * (1 - s));
				double		z = sd > 0 ? ((double) pass[i][c][t] - (double) n * s) / sd :
					((double) pass[i][c][t] == (double) n * s ? 0 : 1e9);

				printf("factor %s %d %d share=%.9f measured=%.9f z=%.3f\n", r->name, c, t,
					   s, (double) pass[i][c][t] / (double) n, z);
			}
	}
	printf("stored agree=%lu disagree=%lu\n", agree, disagree);
	return 0;
}

static int
mode_tools(unsigned long n)
{
	size_t		i;

	for (i = 0; i < mx_scanner_nrules(); i++)
	{
		const mx_scanner_rule *r = mx_scanner_rule_at(i);
		unsigned long matched = 0,
					first = 0,
					kept = 0;
		unsigned long k;
		mx_packet	p,
					q;

		if (!tool_packet(r->name, &p))
		{
			printf("tool %s n=0 matched=0 first=0 generator=none\n", r->name);
			continue;
		}
		for (k = 0; k < n; k++)
		{
			tool_packet(r->name, &p);
			if (!stored(&p, &q))
				continue;
			kept++;
			if (mx_scanner_matches(&q, UINT32_MAX) & (UINT32_C(1) << i))
				matched++;
			if (mx_scanner_first(&q, mx_scanner_all()) == (int) i)
				first++;
		}
		printf("tool %s n=%lu matched=%lu first=%lu\n", r->name, kept, matched, first);
	}
	return 0;
}

static int
mode_emit(unsigned long n)
{
	static const char *const kinds[] = {"mirai", "zmap", "zmap41", "masscan", "nmap", "unicornscan", "backscatter"};
	unsigned long k,
				mirai_disagree = 0,
				packed_disagree = 0;

	for (k = 0; k < n; k++)
	{
		mx_packet	p,
					q;
		char		text[MX_TEXT_MAX];
		char		list[256];
		uint8_t		buf[MX_PACKED_MAX];
		size_t		len;
		uint32_t	m;
		int			first;
		int			imirai = mx_scanner_find("mirai", 5);

		switch (rnd(3))
		{
			case 0:
				random_syn(&p);
				break;
			case 1:
				tool_packet(kinds[rnd(sizeof(kinds) / sizeof(kinds[0]))], &p);
				break;
			default:
				any_packet(&p);
				break;
		}
		if (!stored(&p, &q))
		{
			fprintf(stderr, "packet %lu does not pack\n", k);
			return 1;
		}
		len = mx_packet_pack(&q, buf);
		m = mx_scanner_matches(&q, mx_scanner_all());
		first = mx_scanner_first(&q, mx_scanner_all());
		if (((m >> imirai) & 1) != (uint32_t) mx_is_mirai(&q) ||
			mx_packed_is_mirai(buf, len) != (int) mx_is_mirai(&q))
			mirai_disagree++;
		if (mx_scanner_first_packed(buf, len, mx_scanner_all()) != first ||
			mx_scanner_first(&p, mx_scanner_all()) != first ||
			mx_scanner_matches_packed(buf, len, mx_scanner_all()) != (int64_t) m ||
			mx_scanner_matches(&p, mx_scanner_all()) != m)
			packed_disagree++;
		mx_packet_format(&q, text);
		mx_scanner_format_list(m, ",", list, sizeof(list));
		printf("%s\t%s\t{%s}\n", text, first < 0 ? "\\N" : mx_scanner_rule_at((size_t) first)->name, list);
	}
	fprintf(stderr, "mirai rule against is_mirai: %lu disagree; first rule, decoded, stored and read in place: %lu disagree\n",
			mirai_disagree, packed_disagree);
	return mirai_disagree == 0 && packed_disagree == 0 ? 0 : 1;
}

static int
mode_parse(const char *list)
{
	uint32_t	mask;
	mx_error	err;
	char		names[256];

	if (mx_scanner_parse_list(list, &mask, &err) != MX_OK)
	{
		printf("error offset=%llu: %s%s%s\n", (unsigned long long) err.offset, err.message,
			   err.detail ? " | " : "", err.detail ? err.detail : "");
		return 0;
	}
	mx_scanner_format_list(mask, ",", names, sizeof(names));
	printf("ok %s\n", names);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long n;

	if (argc == 3 && strcmp(argv[1], "parse") == 0)
		return mode_parse(argv[2]);
	if (argc != 4)
	{
		fprintf(stderr, "usage: scanner_rules fp|tools|emit N SEED | parse LIST\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	rng_state = strtoull(argv[3], NULL, 10);
	if (strcmp(argv[1], "fp") == 0)
		return mode_fp(n);
	if (strcmp(argv[1], "tools") == 0)
		return mode_tools(n);
	if (strcmp(argv[1], "emit") == 0)
		return mode_emit(n);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
