/*-------------------------------------------------------------------------
 *
 * gen_tools.c
 *	  mirai_gen's probes of other scanning tools (--scanners F): each built
 *	  as the tool's own packet-building code builds its SYN, so that the
 *	  scanner catalogue (src/decode/mx_scanner.c) can be checked against
 *	  packets it did not write.
 *
 * What each probe fixes, from the tool's source:
 *	zmap		up to 4.0: IP id 54321, window 65535, TTL 255, an MSS option
 *	zmap41		4.1 and later: a random IP id, window 65535, TTL 64, source
 *				ports 32768 to 61000, Windows-style options (MSS, NOP, window
 *				scale, NOP, NOP, SACK permitted); the catalogue lists it but
 *				cannot check it, so these probes must match no rule
 *	masscan		IP id = (destination ^ destination port ^ sequence number)
 *				& 0xffff, TTL 255, window 1024 (1.0.3 to 1.3.2, no options)
 *				or 1025 with an MSS option (its source since late 2023)
 *	nmap		-sS: window 1024, a TTL drawn from 37 to 59, a random IP id,
 *				an MSS option of 1460
 *	unicornscan	default fingerprint: window 4128, TTL 255, source ports
 *				4096 to 65534, an MSS option
 * Each arrives some hops away (its TTL lowered by 0 to 24).  The sources of
 * each tool are a pool of a few addresses, as scans come from few hosts.
 * Every probe is counted by tool in --counts' "scanners" (with the
 * backscatter gen_other4 writes), which test/t/085_scanner.t compares with
 * packet_scanners() of what the server reads.
 *
 * src/bin/gen_tools.c
 *
 *-------------------------------------------------------------------------
 */
#include "gen.h"

const char *const gen_scanner_names[GS_N] = {
	[GS_NONE] = "",
	[GS_ZMAP] = "zmap",
	[GS_ZMAP41] = "zmap41",
	[GS_MASSCAN] = "masscan",
	[GS_NMAP] = "nmap",
	[GS_UNICORNSCAN] = "unicornscan",
	[GS_BACKSCATTER] = "backscatter",
};

/* Ports scanners probe, as often as the study saw them. */
static const uint16_t tool_ports[] = {23, 23, 22, 80, 443, 2323, 8080, 445, 3389, 5555};
#define NTOOL_PORTS (sizeof(tool_ports) / sizeof(tool_ports[0]))

/* An MSS option of 1460. */
static size_t
mss_option(uint8_t *opt)
{
	put_be16(opt, 0x0204);
	put_be16(opt + 2, 1460);
	return 4;
}

/* ZMap 4.1's default options: MSS, NOP, window scale, NOP, NOP, SACK permitted. */
static size_t
zmap41_options(uint8_t *opt)
{
	static const uint8_t tail[] = {1, 3, 3, 0, 1, 1, 4, 2};

	mss_option(opt);
	memcpy(opt + 4, tail, sizeof(tail));
	return 12;
}

/* Draw each tool's pool of sources; only with --scanners, so that the
 * default output is what it was. */
void
gen_tools_init(Gen *g)
{
	int			t;
	int			i;

	for (t = 0; t < GS_N; t++)
		for (i = 0; i < TOOL_POOL; i++)
			g->tool_src[t][i] = gen_public_ip4(&g->rng, g->opt->dst);
}

/*
 * A probe of one of the tools, a fifth each (Masscan's two windows half
 * each); counted by tool in pk->scanner.
 */
int
gen_tool4(Gen *g, Packet *pk, Packet *second)
{
	Rng		   *r = &g->rng;
	Ip4Hdr		h;
	uint8_t		seg[64];
	uint8_t		opt[40];
	size_t		optlen = 0;
	size_t		len;
	uint16_t	sport;
	uint16_t	dport;
	uint16_t	win;
	uint32_t	seq;
	uint32_t	hops;
	GenScanner	tool = (GenScanner) (GS_ZMAP + rng_below(r, 5));

	h.src = g->tool_src[tool][rng_below(r, TOOL_POOL)];
	h.dst = g->opt->dst;
	h.proto = PROTO_TCP;
	h.tos = 0;
	h.df = 0;
	hops = rng_below(r, 25);
	dport = tool_ports[rng_below(r, NTOOL_PORTS)];
	seq = rng_u32(r);
	switch (tool)
	{
		case GS_ZMAP:
			h.id = 54321;
			h.ttl = (uint8_t) (255 - hops);
			sport = (uint16_t) rng_range(r, 32768, 61000);
			win = 65535;
			optlen = mss_option(opt);
			break;
		case GS_ZMAP41:
			h.id = (uint16_t) rng_u32(r);
			h.ttl = (uint8_t) (64 - hops);
			sport = (uint16_t) rng_range(r, 32768, 61000);
			win = 65535;
			optlen = zmap41_options(opt);
			break;
		case GS_MASSCAN:
			h.ttl = (uint8_t) (255 - hops);
			sport = (uint16_t) rng_range(r, 40000, 60999);
			win = 1024;
			if (rng_below(r, 2))
			{
				win = 1025;
				optlen = mss_option(opt);
			}
			h.id = (uint16_t) ((h.dst ^ dport ^ seq) & 0xffff);
			break;
		case GS_NMAP:
			h.id = (uint16_t) rng_u32(r);
			h.ttl = (uint8_t) (rng_range(r, 37, 59) - hops);
			sport = (uint16_t) rng_range(r, 1024, 65535);
			win = 1024;
			optlen = mss_option(opt);
			break;
		default:				/* GS_UNICORNSCAN */
			h.id = (uint16_t) rng_u32(r);
			h.ttl = (uint8_t) (255 - hops);
			sport = (uint16_t) rng_range(r, 4096, 65534);
			win = 4128;
			optlen = mss_option(opt);
			break;
	}
	len = tcp_build(seg, sport, dport, seq, 0, TH_SYN, win, opt, optlen,
					NULL, 0);
	l4_csum4(seg, len, h.src, h.dst, PROTO_TCP, 16);
	pk->scanner = (uint8_t) tool;
	return gen_emit_ip4(g, pk, second, &h, seg, len, 20 + optlen, 0, 0);
}
