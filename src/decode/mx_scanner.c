/*-------------------------------------------------------------------------
 *
 * mx_scanner.c
 *		The catalogue of scanner fingerprints, and the code that checks a
 *		decoded packet against it (see mx_scanner.h).
 *
 * The table `catalogue` below is the one place where rules live: the
 * server's packet_scanner, packet_scanners and mirai_scanner_rules, the
 * loader and the tests all read it.  Each rule cites the code that builds
 * the tool's packets (repository, file, function), says which versions and
 * settings it covers, and gives its false-positive rate on random SYNs:
 * IPv4 TCP packets with SYN alone and ack 0 whose other header fields are
 * uniform and independent (addresses, ports, sequence number, IP id,
 * window, TTL 0 to 255).  A rule's rate is then the product, over its
 * tests, of the share of values each test lets through (a sum over its
 * clauses, which are disjoint); test/decode/scanner_rules.c derives it
 * again from the tests and measures it.
 *
 * TTLs are tested as they arrive, after the hops: a tool's initial TTL
 * only bounds them from above (Nmap's 37 to 59: ttl <= 59), or places them
 * in the upper half (255: ttl >= 129, as the usual initial values are 32,
 * 64, 128 and 255).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "mx_bytes.h"
#include "mx_packed.h"
#include "mx_scanner.h"

/* A test, written short. */
#define T_EQ(f, v)			{MX_SF_##f, MX_SO_EQ, (v), 0}
#define T_RANGE(f, lo, hi)	{MX_SF_##f, MX_SO_RANGE, (lo), (hi)}
#define T_ONEOF(f, x, y)	{MX_SF_##f, MX_SO_ONEOF, (x), (y)}
#define T_BITS(f, m, v)		{MX_SF_##f, MX_SO_BITS, (m), (v)}

#define TCP4	T_EQ(IPVER, 4), T_EQ(PROTO, MX_PROTO_TCP)
#define SYN0	T_EQ(FLAGS, MX_TCP_SYN), T_EQ(ACK, 0)

static const mx_scanner_rule catalogue[] =
{
	{
		.name = "mirai",
		.tool = "Mirai",
		.versions = "the source published in September 2016, and the variants that keep its scanner",
		.source = "jgamblin/Mirai-Source-Code, mirai/bot/scanner.c, scanner_init: each SYN's sequence number is its destination address (tcph->seq = iph->daddr); the source port is drawn once, again while it is below 1024",
		.fp_math = "sport >= 1025: 64511/65536; seq = dst: 2^-32; together 64511/2^48",
		.note = "The rule of the study and of is_mirai: a source port above 1024.  Mirai's own loop keeps 1024 too, so its SYNs from port 1024 (one source port in 64,512) are left out.  Mirai also sends TTL 64, a random window and IP id, and destination port 23 (2323 one time in ten); the rule does not read them.",
		.fp_rate = 64511.0 / 281474976710656.0,
		.clauses = {
			{{T_EQ(SEQ_XOR_DST, 0), T_RANGE(SPORT, 1025, 65535), TCP4}},
		},
	},
	{
		.name = "zmap",
		.tool = "ZMap",
		.versions = "1.0.0 (2013) to 4.0.0-RC1, the last before 4.1.0: its TCP SYN scan (tcp_synscan, the default probe module) and, from 3.0, its SYN-ACK scan (tcp_synackscan); 4.1.0 and later draw the IP id at random (see zmap41)",
		.source = "zmap/zmap, src/probe_modules/packet.c, make_ip_header (IP id 54321) and make_tcp_header (ack 0, window 65535); src/probe_modules/module_tcp_synscan.c, synscan_make_packet (SYN; keeps that IP id up to 4.0, sets it from the probe's validation bytes from 4.1.0 on); src/probe_modules/module_tcp_synackscan.c, synackscan_init_perthread (SYN-ACK, its ack from the validation bytes)",
		.fp_math = "ipid = 54321: 2^-16; window = 65535: 2^-16; together 2^-32 (the SYN-ACK clause matches no SYN)",
		.note = "ZMap's TTL (255 before 4.1.0, --probe-ttl) and its MSS option (from 3.0) are not read: the options are not stored, and the IP id with the window already single out its probes.  Its SYN-ACK probes look like backscatter but for these two values, and zmap comes first.  Its ICMP and UDP probe modules share the IP id but not this rule.",
		.fp_rate = 1.0 / 4294967296.0,
		.clauses = {
			{{T_EQ(IPID, 54321), T_EQ(WINDOW, 65535), TCP4, SYN0}},
			{{T_EQ(IPID, 54321), T_EQ(WINDOW, 65535), TCP4, T_EQ(FLAGS, MX_TCP_SYN | MX_TCP_ACK)}},
		},
	},
	{
		.name = "masscan",
		.tool = "Masscan",
		.versions = "1.0.3 (2014) to 1.3.2 (window 1024), and its source since November 2023 (window 1025); IPv4",
		.source = "robertdavidgraham/masscan, src/templ-pkt.c, default_tcp_template (SYN, ack 0, TTL 255, the window), template_set_target_ipv4 (SYN probes) and tcp_create_packet (the packets of its own TCP stack, window 1200), both with ip_id = ip_them ^ port_them ^ seqno; src/stack-tcp-core.c, tcp_send_RST and the small-window case (tcp_set_window, 600)",
		.fp_math = "SYN probes: ipid = (dst ^ dport ^ seq) & 0xffff: 2^-16; window 1024 or 1025: 2/65536; together 2^-31.  Stack packets have ACK or RST set: none among SYNs",
		.note = "The sequence number is Masscan's SYN cookie (syn_cookie: a hash of addresses, ports and a secret), so it cannot be checked itself; the IP id ties it to the destination, of which only the low 16 bits reach the header.  TTL 255 (--ttl) and the MSS option are not read.  IPv6 has no IP id: the rule is IPv4 only.",
		.fp_rate = 2.0 / 4294967296.0,
		.clauses = {
			{{T_EQ(MASSCAN_ID, 0), TCP4, SYN0, T_ONEOF(WINDOW, 1024, 1025)}},
			{{T_EQ(MASSCAN_ID, 0), TCP4, T_BITS(FLAGS, MX_TCP_ACK, MX_TCP_ACK), T_ONEOF(WINDOW, 600, 1200)}},
			{{T_EQ(MASSCAN_ID, 0), TCP4, T_BITS(FLAGS, MX_TCP_ACK | MX_TCP_RST, MX_TCP_RST), T_ONEOF(WINDOW, 600, 1200)}},
		},
	},
	{
		.name = "nmap",
		.tool = "Nmap",
		.versions = "5.59BETA1 (2011) to 7.99, SYN scan (-sS) without --ttl, IPv4; before 5.59BETA1 the window was 1024 times (TTL mod 4 + 1)",
		.source = "nmap/nmap, scan_engine_raw.cc, sendIPScanProbe (SYN, ack 0, a random IP id, window 0, the MSS option TCP_SYN_PROBE_OPTIONS); tcpip.cc, build_tcp (window 0 becomes 1024) and build_ip_raw (a TTL drawn from 37 to 59 when --ttl is not given)",
		.fp_math = "window = 1024: 2^-16; ttl <= 59: 60/256; together 60/2^24",
		.note = "The TTL test allows any number of hops below the initial 37 to 59.  Masscan 1.0.3 to 1.3.2 also sends window 1024, with TTL 255 and its own IP id: Masscan comes first.  Nmap's other scan types, its host discovery probes and IPv6 are not covered.",
		.fp_rate = 60.0 / 16777216.0,
		.clauses = {
			{{T_EQ(WINDOW, 1024), T_RANGE(TTL, 0, 59), SYN0, TCP4}},
		},
	},
	{
		.name = "unicornscan",
		.tool = "Unicornscan",
		.versions = "0.4.7 (2007, the last release), TCP SYN scan with the default fingerprint (-W 0) and TTL, a random source port",
		.source = "dneufeld/unicornscan, src/scan_progs/init_packet.c, init_packet (fingerprint 0, after Cisco IOS 12.1: TTL 255, window 4128, MSS option); src/scan_progs/send_packet.c, _send_packet (a random source port from 4096 to 65534, ack 0, a random IP id); src/scan_progs/scanopts.c, scan_setprivdefaults (SYN scan)",
		.fp_math = "window = 4128: 2^-16; ttl >= 129: 127/256; sport 4096..65534: 61439/65536; together 127 * 61439/2^40",
		.note = "The default fingerprint imitates a Cisco IOS 12.1 router, whose own connections carry the same window and TTL.  The sequence number is a key drawn per scan xor the destination and ports (TCPHASHTRACK, src/scan_progs/tcphash.h): constant over one scan, so it shows across a source's packets but not in one.",
		.fp_rate = 127.0 * 61439.0 / 1099511627776.0,
		.clauses = {
			{{T_EQ(WINDOW, 4128), T_RANGE(TTL, 129, 255), T_RANGE(SPORT, 4096, 65534), SYN0, TCP4}},
		},
	},
	{
		.name = "backscatter",
		.tool = "replies of the victims of spoofed floods (any TCP/IP stack)",
		.versions = "any: SYN-ACK and RST (RFC 793), ICMP destination unreachable and time exceeded (RFC 792, RFC 4443)",
		.source = "torvalds/linux, net/ipv4/tcp_output.c, tcp_make_synack; net/ipv4/tcp_ipv4.c, tcp_v4_send_reset; net/ipv4/icmp.c, __icmp_send (and every stack that answers a SYN as RFC 793 says)",
		.fp_math = "0: a SYN without ACK or RST is no reply",
		.note = "A reply that reaches a dark address answers a packet the address never sent: a host answering a flood whose source addresses were forged, not a scanner.  Where the capturing host opens connections itself (a honeypot), the replies to those match too.  ICMP echo replies and source quench are left out.",
		.fp_rate = 0.0,
		.clauses = {
			{{T_BITS(FLAGS, MX_TCP_SYN | MX_TCP_ACK | MX_TCP_RST, MX_TCP_SYN | MX_TCP_ACK), T_EQ(PROTO, MX_PROTO_TCP)}},
			{{T_BITS(FLAGS, MX_TCP_RST, MX_TCP_RST), T_EQ(PROTO, MX_PROTO_TCP)}},
			{{T_ONEOF(ICMP_TYPE, 3, 11), T_EQ(PROTO, MX_PROTO_ICMP), T_EQ(IPVER, 4)}},
			{{T_ONEOF(ICMP_TYPE, 1, 3), T_EQ(PROTO, MX_PROTO_ICMPV6), T_EQ(IPVER, 6)}},
		},
	},
	{
		.name = "zmap41",
		.tool = "ZMap",
		.versions = "4.1.0 to 4.3, TCP SYN scan with the default --probe-args=windows, --probe-ttl and source ports",
		.source = "zmap/zmap, src/probe_modules/module_tcp_synscan.c, synscan_global_initialize (Windows-style options by default) and synscan_make_packet (the IP id from the validation bytes); src/probe_modules/packet.c, set_tcp_options and make_tcp_header (window 65535); src/zopt.ggo.in (probe-ttl 64); src/state.c (source ports 32768 to 61000)",
		.fp_math = "not checkable; on its stored fields alone it would be window = 65535: 2^-16, ttl <= 64: 65/256, sport 32768..61000: 28233/65536, about 1.7e-6 of random SYNs, and most SYNs of FreeBSD and macOS",
		.note = "What tells ZMap 4.1 and later apart is its TCP option layout (32-byte header: MSS 1460, NOP, window scale, NOP, NOP, SACK permitted) beside window 65535: the stored packet keeps neither the TCP header length nor the options, and its IP id is random.  Without them the rule is what FreeBSD and macOS send (window 65535, TTL 64, ports 49152 to 65535), so it is never applied.",
		.unstored = "tcp options = MSS, NOP, WS, NOP, NOP, SACK permitted (32-byte TCP header)",
		.fp_rate = -1.0,
		.clauses = {
			{{T_EQ(WINDOW, 65535), T_RANGE(TTL, 0, 64), T_RANGE(SPORT, 32768, 61000), SYN0, TCP4}},
		},
	},
};

#define NRULES (sizeof(catalogue) / sizeof(catalogue[0]))

/* A mask has a bit per rule. */
typedef char catalogue_fits_a_mask[NRULES <= MX_SCANNER_MAX_RULES ? 1 : -1];

size_t
mx_scanner_nrules(void)
{
	return NRULES;
}

const mx_scanner_rule *
mx_scanner_rule_at(size_t i)
{
	return i < NRULES ? &catalogue[i] : NULL;
}

int
mx_scanner_find(const char *name, size_t len)
{
	size_t		i;

	for (i = 0; i < NRULES; i++)
		if (strlen(catalogue[i].name) == len && memcmp(catalogue[i].name, name, len) == 0)
			return (int) i;
	return -1;
}

uint32_t
mx_scanner_all(void)
{
	uint32_t	mask = 0;
	size_t		i;

	for (i = 0; i < NRULES; i++)
		if (mx_scanner_checkable(&catalogue[i]))
			mask |= UINT32_C(1) << i;
	return mask;
}

/* ----------------------------------------------------------------------
 * Checking a packet
 * ----------------------------------------------------------------------
 */

/*
 * A packet's fields as the tests read them, widened to 64 bits so that a
 * field the packet lacks can hold a value no test lets through: ABSENT is
 * above every 32-bit constant (EQ, RANGE and ONEOF fail on it), and BITS
 * tests bit 32 as well, which only ABSENT has.
 */
#define ABSENT		UINT64_MAX
#define BIT32		(UINT64_C(1) << 32)

typedef struct scan_fields
{
	uint64_t	v[MX_SF_NFIELDS];
} scan_fields;

static void
load_fields(const mx_packet *p, scan_fields *f)
{
	uint32_t	dst = 0;
	bool		icmp = p->proto == MX_PROTO_ICMP || p->proto == MX_PROTO_ICMPV6;
	bool		ports = (p->present & MX_HAS_PORTS) != 0 && !icmp;
	int			i;

	for (i = 0; i < MX_SF_NFIELDS; i++)
		f->v[i] = ABSENT;
	f->v[MX_SF_IPVER] = p->ipver;
	f->v[MX_SF_PROTO] = p->proto;
	f->v[MX_SF_TTL] = p->ttl;
	if (p->ipver == 4)
	{
		dst = mx_be32(p->dst);
		f->v[MX_SF_IPID] = p->ipid;
	}
	if (ports)
	{
		f->v[MX_SF_SPORT] = p->sport;
		f->v[MX_SF_DPORT] = p->dport;
	}
	else if ((p->present & MX_HAS_PORTS) != 0)
	{
		f->v[MX_SF_ICMP_TYPE] = p->sport;
		f->v[MX_SF_ICMP_CODE] = p->dport;
	}
	if ((p->present & MX_HAS_SEQ) != 0)
	{
		f->v[MX_SF_SEQ] = p->seq;
		if (p->ipver == 4)
		{
			f->v[MX_SF_SEQ_XOR_DST] = p->seq ^ dst;
			if (ports)
				f->v[MX_SF_MASSCAN_ID] = (p->ipid ^ dst ^ p->dport ^ p->seq) & 0xffffu;
		}
	}
	if ((p->present & MX_HAS_TCP) != 0)
	{
		f->v[MX_SF_ACK] = p->ack;
		f->v[MX_SF_FLAGS] = p->tcp_flags;
		f->v[MX_SF_WINDOW] = p->window;
	}
}

/*
 * load_fields on a stored form, read in place (the layout is mx_packet.c's,
 * its flag bits and length mx_packed.h's): the same values, without
 * unpacking the time, the source, the lengths and the VLAN.  As
 * mx_packed_is_mirai, it checks only that the length fits the flags, so
 * that nothing is read past the bytes; false when it does not.
 */
static inline __attribute__((always_inline)) bool
load_packed(const uint8_t *buf, size_t len, scan_fields *f)
{
	uint8_t		flags;
	uint8_t		proto;
	size_t		n;
	uint32_t	dst = 0;
	bool		v4,
				icmp,
				ports = false,
				seq = false;
	int			i;

	if (len < 12 || (buf[0] & ~F0_SEQ) != MX_LAYOUT_VERSION)
		return false;
	flags = buf[1];
	if (len != packed_length(buf[0], flags))
		return false;
#pragma GCC unroll 16
	for (i = 0; i < MX_SF_NFIELDS; i++)
		f->v[i] = ABSENT;
	v4 = (flags & F_IPV6) == 0;
	proto = buf[2];
	icmp = proto == MX_PROTO_ICMP || proto == MX_PROTO_ICMPV6;
	f->v[MX_SF_IPVER] = v4 ? 4 : 6;
	f->v[MX_SF_PROTO] = proto;
	f->v[MX_SF_TTL] = buf[3];
	if (v4)
	{
		dst = mx_be32(buf + 16);
		f->v[MX_SF_IPID] = mx_be16(buf + 20);
		n = 22;
	}
	else
		n = 44;
	n += ((flags & F_LONGLEN) ? 4 : 2) * ((flags & F_CAPLEN) ? 2 : 1);
	if (flags & F_VLAN)
		n += 2;
	if (flags & F_PORTS)
	{
		uint64_t	a = mx_be16(buf + n),
					b = mx_be16(buf + n + 2);

		ports = !icmp;
		f->v[MX_SF_SPORT] = ports ? a : ABSENT;
		f->v[MX_SF_DPORT] = ports ? b : ABSENT;
		f->v[MX_SF_ICMP_TYPE] = icmp ? a : ABSENT;
		f->v[MX_SF_ICMP_CODE] = icmp ? b : ABSENT;
		n += 4;
	}
	if (flags & F_TCP)
	{
		seq = true;
		f->v[MX_SF_SEQ] = mx_be32(buf + n);
		f->v[MX_SF_ACK] = mx_be32(buf + n + 4);
		f->v[MX_SF_FLAGS] = buf[n + 8] | ((flags & F_TCPNS) ? MX_TCP_NS : 0);
		f->v[MX_SF_WINDOW] = mx_be16(buf + n + 9);
	}
	else if (buf[0] & F0_SEQ)
	{
		seq = true;
		f->v[MX_SF_SEQ] = mx_be32(buf + n);
	}
	if (seq && v4)
	{
		uint32_t	s = (uint32_t) f->v[MX_SF_SEQ];

		f->v[MX_SF_SEQ_XOR_DST] = s ^ dst;
		if (ports)
			f->v[MX_SF_MASSCAN_ID] = ((uint32_t) f->v[MX_SF_IPID] ^ dst ^
									  (uint32_t) f->v[MX_SF_DPORT] ^ s) & 0xffffu;
	}
	return true;
}

/*
 * The three loops below run over the constant bounds of the table and are
 * unrolled, so that the compiler reads the constant catalogue while it
 * compiles them and folds each rule into the few comparisons it makes: a
 * table that costs what the same tests written by hand cost (about half
 * the time of an interpreted walk over it).  Without the unrolling the
 * answers are the same.
 */

/* Whether every test of clause c passes (a clause with no test: false). */
static inline __attribute__((always_inline)) bool
clause_passes(const scan_fields *f, const mx_scanner_clause *c)
{
	int			k;

	if (c->tests[0].field == MX_SF_NONE)
		return false;
#pragma GCC unroll 8
	for (k = 0; k < MX_SCANNER_MAX_TESTS; k++)
	{
		const mx_scanner_test *t = &c->tests[k];
		uint64_t	v;

		if (t->field == MX_SF_NONE)
			break;
		v = f->v[t->field];
		switch ((mx_scanner_op) t->op)
		{
			case MX_SO_EQ:
				if (v != t->a)
					return false;
				break;
			case MX_SO_RANGE:
				if (v < t->a || v > t->b)
					return false;
				break;
			case MX_SO_ONEOF:
				if (v != t->a && v != t->b)
					return false;
				break;
			case MX_SO_BITS:
				if ((v & (t->a | BIT32)) != t->b)
					return false;
				break;
			default:
				return false;
		}
	}
	return true;
}

static inline __attribute__((always_inline)) bool
rule_matches(const scan_fields *f, const mx_scanner_rule *r)
{
	int			c;

	if (!mx_scanner_checkable(r))
		return false;
#pragma GCC unroll 4
	for (c = 0; c < MX_SCANNER_MAX_CLAUSES; c++)
	{
		if (r->clauses[c].tests[0].field == MX_SF_NONE)
			break;
		if (clause_passes(f, &r->clauses[c]))
			return true;
	}
	return false;
}

/* The first rule of mask that f matches, or -1. */
static inline __attribute__((always_inline)) int
first_match(const scan_fields *f, uint32_t mask)
{
	size_t		i;

#pragma GCC unroll 32
	for (i = 0; i < NRULES; i++)
		if ((mask & (UINT32_C(1) << i)) != 0 && rule_matches(f, &catalogue[i]))
			return (int) i;
	return -1;
}

uint32_t
mx_scanner_matches(const mx_packet *p, uint32_t mask)
{
	scan_fields f;
	uint32_t	out = 0;
	size_t		i;

	load_fields(p, &f);
#pragma GCC unroll 32
	for (i = 0; i < NRULES; i++)
		if ((mask & (UINT32_C(1) << i)) != 0 && rule_matches(&f, &catalogue[i]))
			out |= UINT32_C(1) << i;
	return out;
}

int
mx_scanner_first(const mx_packet *p, uint32_t mask)
{
	scan_fields f;

	load_fields(p, &f);
	return first_match(&f, mask);
}

int64_t
mx_scanner_matches_packed(const uint8_t *buf, size_t len, uint32_t mask)
{
	scan_fields f;
	uint32_t	out = 0;
	size_t		i;

	if (!load_packed(buf, len, &f))
		return -1;
#pragma GCC unroll 32
	for (i = 0; i < NRULES; i++)
		if ((mask & (UINT32_C(1) << i)) != 0 && rule_matches(&f, &catalogue[i]))
			out |= UINT32_C(1) << i;
	return out;
}

int
mx_scanner_first_packed(const uint8_t *buf, size_t len, uint32_t mask)
{
	scan_fields f;

	if (!load_packed(buf, len, &f))
		return -2;
	return first_match(&f, mask);
}

/* ----------------------------------------------------------------------
 * Names and texts
 * ----------------------------------------------------------------------
 */

mx_status
mx_scanner_parse_list(const char *list, uint32_t *mask, mx_error *err)
{
	const char *s = list;
	char		known[160];

	*mask = 0;
	mx_scanner_format_list(mx_scanner_all(), ", ", known, sizeof(known));
	for (;;)
	{
		const char *name,
				   *end;
		size_t		len;
		int			i;

		while (*s == ' ')
			s++;
		name = s;
		while (*s != '\0' && *s != ',')
			s++;
		end = s;
		while (end > name && end[-1] == ' ')
			end--;
		len = (size_t) (end - name);
		if (len == 0)
			return mx_fail(err, MX_ERR_SYNTAX, "scanner", 0, (uint64_t) (name - list),
						   "empty scanner rule name (rules: all, %s)", known);
		if (len == 3 && memcmp(name, "all", 3) == 0)
			*mask |= mx_scanner_all();
		else if ((i = mx_scanner_find(name, len)) < 0)
			return mx_fail(err, MX_ERR_SYNTAX, "scanner", 0, (uint64_t) (name - list),
						   "unknown scanner rule \"%.*s\" (rules: all, %s)",
						   len > 40 ? 40 : (int) len, name, known);
		else if (!mx_scanner_checkable(&catalogue[i]))
		{
			mx_fail(err, MX_ERR_SYNTAX, "scanner", 0, (uint64_t) (name - list),
					"scanner rule \"%s\" cannot be checked on decoded packets", catalogue[i].name);
			err->detail = "It reads header fields that the decoder does not keep (mirai_scanner_rules shows which).";
			return MX_ERR_SYNTAX;
		}
		else
			*mask |= UINT32_C(1) << i;
		if (*s == '\0')
			return MX_OK;
		s++;					/* the comma */
	}
}

/* Append to out, snprintf-style: *n counts what the whole text needs. */
static void
put(char *out, size_t outlen, size_t *n, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static void
put(char *out, size_t outlen, size_t *n, const char *fmt,...)
{
	va_list		ap;
	int			k;

	va_start(ap, fmt);
	k = vsnprintf(*n < outlen ? out + *n : NULL, *n < outlen ? outlen - *n : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += (size_t) k;
}

size_t
mx_scanner_format_list(uint32_t mask, const char *sep, char *out, size_t outlen)
{
	size_t		n = 0;
	size_t		i;

	if (outlen > 0)
		out[0] = '\0';
	for (i = 0; i < NRULES; i++)
		if ((mask & (UINT32_C(1) << i)) != 0)
			put(out, outlen, &n, "%s%s", n > 0 ? sep : "", catalogue[i].name);
	return n;
}

/* The field's name in rule texts, and its largest value. */
static const struct
{
	const char *name;
	uint32_t	max;
}			field_info[MX_SF_NFIELDS] =
{
	[MX_SF_NONE] = {"", 0},
	[MX_SF_IPVER] = {"ipver", 255},
	[MX_SF_PROTO] = {"proto", 255},
	[MX_SF_TTL] = {"ttl", 255},
	[MX_SF_IPID] = {"ipid", 65535},
	[MX_SF_SPORT] = {"sport", 65535},
	[MX_SF_DPORT] = {"dport", 65535},
	[MX_SF_SEQ] = {"seq", UINT32_MAX},
	[MX_SF_ACK] = {"ack", UINT32_MAX},
	[MX_SF_FLAGS] = {"flags", 0x1ff},
	[MX_SF_WINDOW] = {"window", 65535},
	[MX_SF_ICMP_TYPE] = {"icmp_type", 255},
	[MX_SF_ICMP_CODE] = {"icmp_code", 255},
	[MX_SF_SEQ_XOR_DST] = {"seq ^ dst", UINT32_MAX},
	[MX_SF_MASSCAN_ID] = {"(ipid ^ dst ^ dport ^ seq) & 0xffff", 65535},
};

/* A value of a field as rule texts show it: protocols and flags by name. */
static void
put_value(char *out, size_t outlen, size_t *n, uint8_t field, uint32_t v)
{
	char		fl[16];

	if (field == MX_SF_FLAGS)
	{
		mx_format_tcp_flags((uint16_t) v, fl);
		put(out, outlen, n, "%s", fl);
	}
	else if (field == MX_SF_PROTO && v == MX_PROTO_TCP)
		put(out, outlen, n, "tcp");
	else if (field == MX_SF_PROTO && v == MX_PROTO_UDP)
		put(out, outlen, n, "udp");
	else if (field == MX_SF_PROTO && v == MX_PROTO_ICMP)
		put(out, outlen, n, "icmp");
	else if (field == MX_SF_PROTO && v == MX_PROTO_ICMPV6)
		put(out, outlen, n, "icmp6");
	else
		put(out, outlen, n, "%u", (unsigned) v);
}

static void
put_test(char *out, size_t outlen, size_t *n, const mx_scanner_test *t)
{
	const char *name = field_info[t->field].name;

	switch ((mx_scanner_op) t->op)
	{
		case MX_SO_EQ:
			if (t->field == MX_SF_SEQ_XOR_DST && t->a == 0)
				put(out, outlen, n, "seq = dst");
			else if (t->field == MX_SF_MASSCAN_ID && t->a == 0)
				put(out, outlen, n, "ipid = (dst ^ dport ^ seq) & 0xffff");
			else
			{
				put(out, outlen, n, "%s = ", name);
				put_value(out, outlen, n, t->field, t->a);
			}
			break;
		case MX_SO_RANGE:
			if (t->a == 0)
				put(out, outlen, n, "%s <= %u", name, (unsigned) t->b);
			else if (t->b == field_info[t->field].max)
				put(out, outlen, n, "%s >= %u", name, (unsigned) t->a);
			else
				put(out, outlen, n, "%s in %u..%u", name, (unsigned) t->a, (unsigned) t->b);
			break;
		case MX_SO_ONEOF:
			put(out, outlen, n, "%s in (%u, %u)", name, (unsigned) t->a, (unsigned) t->b);
			break;
		case MX_SO_BITS:
			if (t->field == MX_SF_FLAGS)
			{
				put(out, outlen, n, "flags has ");
				put_value(out, outlen, n, t->field, t->b);
				if ((t->a & ~t->b) != 0)
				{
					put(out, outlen, n, ", not ");
					put_value(out, outlen, n, t->field, t->a & ~t->b);
				}
			}
			else
				put(out, outlen, n, "%s & %u = %u", name, (unsigned) t->a, (unsigned) t->b);
			break;
	}
}

static bool
same_test(const mx_scanner_test *x, const mx_scanner_test *y)
{
	return x->field == y->field && x->op == y->op && x->a == y->a && x->b == y->b;
}

/* The tests of clause c from the k-th on, joined by " and ". */
static void
put_tests(char *out, size_t outlen, size_t *n, const mx_scanner_clause *c, int k)
{
	int			i;

	for (i = k; i < MX_SCANNER_MAX_TESTS && c->tests[i].field != MX_SF_NONE; i++)
	{
		if (i > k)
			put(out, outlen, n, " and ");
		put_test(out, outlen, n, &c->tests[i]);
	}
}

size_t
mx_scanner_rule_text(const mx_scanner_rule *r, char *out, size_t outlen)
{
	size_t		n = 0;
	int			nclauses = 0;
	int			common = 0;
	int			c;

	if (outlen > 0)
		out[0] = '\0';
	while (nclauses < MX_SCANNER_MAX_CLAUSES &&
		   r->clauses[nclauses].tests[0].field != MX_SF_NONE)
		nclauses++;

	/* the leading tests every clause shares are written once */
	if (nclauses > 1)
	{
		for (; common < MX_SCANNER_MAX_TESTS - 1 &&
			 r->clauses[0].tests[common].field != MX_SF_NONE; common++)
		{
			for (c = 1; c < nclauses; c++)
				if (!same_test(&r->clauses[0].tests[common], &r->clauses[c].tests[common]))
					break;
			if (c < nclauses)
				break;
		}
		for (c = 0; c < nclauses; c++)
			if (r->clauses[c].tests[common].field == MX_SF_NONE)
				common = 0;		/* a clause would be left empty */
	}
	if (common > 0)
	{
		for (c = 0; c < common; c++)
		{
			if (c > 0)
				put(out, outlen, &n, " and ");
			put_test(out, outlen, &n, &r->clauses[0].tests[c]);
		}
		put(out, outlen, &n, " and (");
	}
	for (c = 0; c < nclauses; c++)
	{
		put(out, outlen, &n, "%s%s", c > 0 ? " or " : "", nclauses > 1 ? "(" : "");
		put_tests(out, outlen, &n, &r->clauses[c], common);
		if (nclauses > 1)
			put(out, outlen, &n, ")");
	}
	if (common > 0)
		put(out, outlen, &n, ")");
	if (r->unstored != NULL)
		put(out, outlen, &n, " and %s [not in the stored packet]", r->unstored);
	return n;
}

size_t
mx_scanner_rule_fields(const mx_scanner_rule *r, const char **names, size_t max)
{
	/* packet_fields' names, in its order; the bits each rule field sets */
	static const char *const base[] = {
		"ipver", "dst", "proto", "sport", "dport", "seq", "ack", "flags",
		"window", "ttl", "ipid", "icmp_type", "icmp_code"
	};
	static const uint16_t uses[MX_SF_NFIELDS] = {
		[MX_SF_IPVER] = 1 << 0,
		[MX_SF_PROTO] = 1 << 2,
		[MX_SF_TTL] = 1 << 9,
		[MX_SF_IPID] = 1 << 10,
		[MX_SF_SPORT] = 1 << 3,
		[MX_SF_DPORT] = 1 << 4,
		[MX_SF_SEQ] = 1 << 5,
		[MX_SF_ACK] = 1 << 6,
		[MX_SF_FLAGS] = 1 << 7,
		[MX_SF_WINDOW] = 1 << 8,
		[MX_SF_ICMP_TYPE] = 1 << 11,
		[MX_SF_ICMP_CODE] = 1 << 12,
		[MX_SF_SEQ_XOR_DST] = (1 << 5) | (1 << 1),
		[MX_SF_MASSCAN_ID] = (1 << 10) | (1 << 1) | (1 << 4) | (1 << 5),
	};
	unsigned	bits = 0;
	size_t		n = 0;
	size_t		k;
	int			c,
				i;

	for (c = 0; c < MX_SCANNER_MAX_CLAUSES; c++)
		for (i = 0; i < MX_SCANNER_MAX_TESTS; i++)
			if (r->clauses[c].tests[i].field < MX_SF_NFIELDS)
				bits |= uses[r->clauses[c].tests[i].field];
	for (k = 0; k < sizeof(base) / sizeof(base[0]); k++)
		if ((bits & (1u << k)) != 0)
		{
			if (n < max)
				names[n] = base[k];
			n++;
		}
	return n;
}
