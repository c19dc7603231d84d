/*-------------------------------------------------------------------------
 *
 * gen_traffic.c
 *	  mirai_gen's traffic models: Mirai scanner SYNs (sequence number =
 *	  destination address), other scanners, near misses of the fingerprint,
 *	  backscatter, UDP, ICMP, IPv6, IPv4 options and fragments, and non-IP
 *	  frames (ARP, STP, LLDP).
 *
 * src/bin/gen_traffic.c
 *
 *-------------------------------------------------------------------------
 */
#include "gen.h"

/* A random public IPv4 address other than avoid. */
uint32_t
gen_public_ip4(Rng *r, uint32_t avoid)
{
	for (;;)
	{
		uint32_t	a = rng_u32(r);
		uint32_t	o1 = a >> 24;
		uint32_t	o2 = (a >> 16) & 0xFF;

		if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224 ||
			(o1 == 169 && o2 == 254) || (o1 == 172 && (o2 & 0xF0) == 16) ||
			(o1 == 192 && o2 == 168) || (o1 == 100 && (o2 & 0xC0) == 64) ||
			a == avoid)
			continue;
		return a;
	}
}

/* A random global unicast IPv6 address (2000::/3, not the doc prefix). */
static void
rand_ip6(Rng *r, uint8_t *a)
{
	rng_bytes(r, a, 16);
	a[0] = (uint8_t) (0x20 + rng_below(r, 12));
	if (a[0] == 0x20 && a[1] == 0x01)
		a[1] = 0x02;
}

/* Locally administered MAC derived from 4 address bytes. */
static void
mac_from_addr(uint8_t *mac, const uint8_t *a4)
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	memcpy(mac + 2, a4, 4);
}

/* Pick IPv4 options: NOPs+EOL (4), record route 1 slot (8) or 9 slots (40). */
static size_t
pick_ip_options(Rng *r, uint8_t *opt)
{
	switch (rng_below(r, 3))
	{
		case 0:
			opt[0] = 1;
			opt[1] = 1;
			opt[2] = 1;
			opt[3] = 0;
			return 4;
		case 1:
			memset(opt, 0, 8);
			opt[0] = 7;
			opt[1] = 7;
			opt[2] = 4;
			return 8;
		default:
			memset(opt, 0, 40);
			opt[0] = 7;
			opt[1] = 39;
			opt[2] = 4;
			return 40;
	}
}

/* Fill the link-level addressing of an IP packet received by the honeypot. */
static void
ip_macs(const Gen *g, Packet *pk, const uint8_t *src4)
{
	mac_from_addr(pk->src_mac, src4);
	memcpy(pk->dst_mac, g->honeypot_mac, 6);
	pk->sll_pkttype = 0;
}

/*
 * Turn an L4 segment (checksum already set) into one IPv4 packet, or into
 * two fragments when want_frag is set (the first carries the L4 header, at
 * least l4hdr bytes rounded up to 8, with MF; the second has offset > 0).
 * Returns the number of packets made (1 or 2).
 */
int
gen_emit_ip4(Gen *g, Packet *pk, Packet *second, const Ip4Hdr *h,
		 const uint8_t *l4, size_t l4len, size_t l4hdr, int want_opts,
		 int want_frag)
{
	uint8_t		opt[40];
	size_t		optlen = 0;
	size_t		split;
	uint8_t		src4[4];
	uint16_t	df = h->df ? 0x4000 : 0;

	put_be32(src4, h->src);
	if (want_opts)
		optlen = pick_ip_options(&g->rng, opt);
	pk->kind = PK_IP4;
	ip_macs(g, pk, src4);
	if (want_frag)
	{
		split = (l4len / 2) & ~(size_t) 7;
		if (split < ((l4hdr + 7) & ~(size_t) 7))
			split = (l4hdr + 7) & ~(size_t) 7;
		if (split < l4len)
		{
			pk->len = ip4_build(pk->l3, h, opt, optlen, 0x2000, l4, split);
			second->kind = PK_IP4;
			ip_macs(g, second, src4);
			/* NOP, EOL and RR have the copy bit clear: not repeated */
			second->len = ip4_build(second->l3, h, NULL, 0,
									(uint16_t) (split / 8), l4 + split,
									l4len - split);
			return 2;
		}
	}
	pk->len = ip4_build(pk->l3, h, opt, optlen, df, l4, l4len);
	return 1;
}

/* Mirai scanner SYN from src: seq == destination address, no TCP options. */
int
gen_mirai_from(Gen *g, Packet *pk, Packet *second, int want_opts, uint32_t src)
{
	Rng		   *r = &g->rng;
	Ip4Hdr		h;
	uint8_t		seg[64];
	size_t		len;
	uint16_t	sport;
	uint16_t	dport;
	uint16_t	win;

	h.src = src;
	h.dst = g->opt->dst;
	h.id = (uint16_t) rng_u32(r);
	h.ttl = (uint8_t) rng_range(r, 30, 64);
	h.proto = PROTO_TCP;
	h.tos = 0;
	h.df = 0;
	sport = (uint16_t) rng_range(r, 1025, 65535);
	dport = rng_below(r, 10) < 9 ? 23 : 2323;
	win = (uint16_t) rng_u32(r);
	len = tcp_build(seg, sport, dport, h.dst, 0, TH_SYN, win, NULL, 0,
					NULL, 0);
	l4_csum4(seg, len, h.src, h.dst, PROTO_TCP, 16);
	return gen_emit_ip4(g, pk, second, &h, seg, len, 20, want_opts, 0);
}

/* Mirai scanner SYN from a source of the scanner pool (most from a few). */
static int
gen_mirai(Gen *g, Packet *pk, Packet *second, int want_opts)
{
	Rng		   *r = &g->rng;
	uint32_t	src;

	src = g->scanners[rng_below(r, rng_below(r, SCANNER_POOL) + 1)];
	return gen_mirai_from(g, pk, second, want_opts, src);
}

/* SYN options of common stacks: Linux-like, Windows-like, MSS only. */
static size_t
syn_options(Rng *r, uint8_t *opt, uint16_t mss)
{
	switch (rng_below(r, 3))
	{
		case 0:
			put_be16(opt, 0x0204);
			put_be16(opt + 2, mss);
			opt[4] = 4;
			opt[5] = 2;
			opt[6] = 8;
			opt[7] = 10;
			put_be32(opt + 8, rng_u32(r));
			put_be32(opt + 12, 0);
			opt[16] = 1;
			opt[17] = 3;
			opt[18] = 3;
			opt[19] = 7;
			return 20;
		case 1:
			put_be16(opt, 0x0204);
			put_be16(opt + 2, mss);
			opt[4] = 1;
			opt[5] = 3;
			opt[6] = 3;
			opt[7] = 8;
			opt[8] = 1;
			opt[9] = 1;
			opt[10] = 4;
			opt[11] = 2;
			return 12;
		default:
			put_be16(opt, 0x0204);
			put_be16(opt + 2, mss);
			return 4;
	}
}

/* Ports that other scanners probe. */
static const uint16_t scan_ports[] = {
	22, 23, 80, 443, 445, 1433, 2323, 3389, 5555, 7547, 8080, 8443, 37215,
	52869, 6379, 5900
};

#define NSCAN_PORTS		(sizeof(scan_ports) / sizeof(scan_ports[0]))

/* Common service ports seen as backscatter sources. */
static const uint16_t service_ports[] = {80, 443, 53, 22, 25, 8080, 3306};

#define NSERVICE_PORTS	(sizeof(service_ports) / sizeof(service_ports[0]))

/* IoT discovery ports probed over UDP; none has a multi-line tcpdump printer. */
static const uint16_t probe_ports[] = {37810, 3702, 37020, 9999, 32414, 10001};

#define NPROBE_PORTS	(sizeof(probe_ports) / sizeof(probe_ports[0]))

/*
 * Non-Mirai IPv4 traffic.  If want_frag, generate a large datagram and
 * fragment it.  Returns the number of packets made.
 *
 * Note: every PRNG draw is a statement of its own, never one of several
 * function arguments, since C leaves the order in which arguments are
 * evaluated unspecified (gcc and clang differ), and that would break
 * reproducibility across compilers.
 */
int
gen_other4(Gen *g, Packet *pk, Packet *second, int want_opts, int want_frag)
{
	Rng		   *r = &g->rng;
	const Options *o = g->opt;
	Ip4Hdr		h;
	uint8_t		seg[MAX_L3];
	uint8_t		opt[40];
	uint8_t		payload[MAX_L3];
	size_t		optlen = 0;
	size_t		plen = 0;
	size_t		len;
	size_t		hdr;
	uint32_t	w;
	uint16_t	sport;
	uint16_t	dport;
	uint32_t	seq;
	uint32_t	ack;
	uint16_t	win;
	uint16_t	id16;
	uint16_t	seq16;
	uint8_t		flags;

	h.src = gen_public_ip4(r, o->dst);
	h.dst = o->dst;
	h.id = (uint16_t) rng_u32(r);
	h.ttl = (uint8_t) rng_range(r, 40, 128);
	h.tos = 0;
	h.df = 1;

	if (want_frag)
	{
		h.df = 0;
		w = rng_below(r, 10);
		plen = rng_range(r, 400, 1700);
		rng_bytes(r, payload, plen);
		if (w < 6)
		{
			/* oversized DNS response (reflection backscatter) */
			put_be16(payload + 2, 0x8180);
			put_be16(payload + 4, 0);
			put_be16(payload + 6, 0);
			put_be16(payload + 8, 0);
			put_be16(payload + 10, 0);
			h.proto = PROTO_UDP;
			dport = (uint16_t) rng_range(r, 1024, 65535);
			len = udp_build(seg, 53, dport, payload, plen);
			l4_csum4(seg, len, h.src, h.dst, PROTO_UDP, 6);
			hdr = 8;
		}
		else if (w < 8)
		{
			/* oversized ping */
			h.proto = PROTO_ICMP;
			id16 = (uint16_t) rng_u32(r);
			seq16 = (uint16_t) rng_below(r, 1000);
			len = echo_build(seg, 8, id16, seq16, payload, plen);
			put_be16(seg + 2, csum_buf(seg, len));
			hdr = 8;
		}
		else
		{
			/* TCP data */
			h.proto = PROTO_TCP;
			sport = (uint16_t) rng_range(r, 32768, 60999);
			seq = rng_u32(r);
			ack = rng_u32(r);
			len = tcp_build(seg, sport, 80, seq, ack, TH_PSH | TH_ACK, 502,
							NULL, 0, payload, plen);
			l4_csum4(seg, len, h.src, h.dst, PROTO_TCP, 16);
			hdr = 20;
		}
		return gen_emit_ip4(g, pk, second, &h, seg, len, hdr, want_opts, 1);
	}

	if (o->p_scanners && rng_chance(r, o->p_scanners))
		return gen_tool4(g, pk, second);
	w = rng_below(r, 100);
	if (w < 30)
	{
		/* another scanner: SYN with options, random sequence number */
		h.proto = PROTO_TCP;
		optlen = syn_options(r, opt, 1460);
		sport = (uint16_t) rng_range(r, 1024, 65535);
		dport = scan_ports[rng_below(r, NSCAN_PORTS)];
		seq = rng_u32(r);
		win = rng_below(r, 2) ? 64240 : 29200;
		len = tcp_build(seg, sport, dport, seq, 0, TH_SYN, win, opt, optlen,
						NULL, 0);
		hdr = 20 + optlen;
	}
	else if (w < 40)
	{
		/* near misses of the Mirai fingerprint */
		uint32_t	v = rng_below(r, 4);

		h.proto = PROTO_TCP;
		h.df = 0;
		h.ttl = (uint8_t) rng_range(r, 30, 64);
		seq = h.dst;
		if (v == 0)
		{
			seq = h.dst + 1;
			sport = (uint16_t) rng_range(r, 1025, 65535);
		}
		else if (v == 1)
		{
			seq = h.dst - 1;
			sport = (uint16_t) rng_range(r, 1025, 65535);
		}
		else if (v == 2)
			sport = 1024;
		else
			sport = (uint16_t) rng_range(r, 0, 1024);
		dport = rng_below(r, 10) < 9 ? 23 : 2323;
		win = (uint16_t) rng_u32(r);
		len = tcp_build(seg, sport, dport, seq, 0, TH_SYN, win, NULL, 0,
						NULL, 0);
		hdr = 20;
	}
	else if (w < 55)
	{
		/* backscatter: SYN-ACK, RST or RST-ACK with random numbers */
		uint32_t	v = rng_below(r, 3);

		flags = v == 0 ? (TH_SYN | TH_ACK) : v == 1 ? TH_RST : (TH_RST | TH_ACK);
		pk->scanner = GS_BACKSCATTER;
		h.proto = PROTO_TCP;
		if (v == 0)
		{
			put_be16(opt, 0x0204);
			put_be16(opt + 2, 1460);
			optlen = 4;
		}
		sport = service_ports[rng_below(r, NSERVICE_PORTS)];
		dport = (uint16_t) rng_range(r, 1024, 65535);
		seq = rng_u32(r);
		ack = rng_u32(r);
		len = tcp_build(seg, sport, dport, seq, ack, flags,
						v == 0 ? 65535 : 0, opt, optlen, NULL, 0);
		hdr = 20 + optlen;
	}
	else if (w < 75)
	{
		/* UDP: DNS query, NTP client, SSDP discovery, or an IoT probe */
		uint32_t	v = rng_below(r, 4);
		static const char *const names[] = {"\3www\7example\3com", "\3isc\3org", "\7example\3net"};
		static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
			"MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";

		h.proto = PROTO_UDP;
		if (v == 0)
		{
			const char *n = names[rng_below(r, 3)];
			size_t		nl = strlen(n) + 1;

			dport = 53;
			put_be16(payload, (uint16_t) rng_u32(r));
			put_be16(payload + 2, 0x0100);
			put_be16(payload + 4, 1);
			put_be16(payload + 6, 0);
			put_be16(payload + 8, 0);
			put_be16(payload + 10, 0);
			memcpy(payload + 12, n, nl);
			put_be16(payload + 12 + nl, rng_below(r, 2) ? 255 : 1);
			put_be16(payload + 14 + nl, 1);
			plen = 16 + nl;
		}
		else if (v == 1)
		{
			dport = 123;
			memset(payload, 0, 48);
			payload[0] = 0x23;
			put_be32(payload + 40, rng_u32(r));
			put_be32(payload + 44, rng_u32(r));
			plen = 48;
		}
		else if (v == 2)
		{
			dport = 1900;
			plen = sizeof(ssdp) - 1;
			memcpy(payload, ssdp, plen);
		}
		else
		{
			dport = probe_ports[rng_below(r, NPROBE_PORTS)];
			plen = rng_range(r, 8, 64);
			rng_bytes(r, payload, plen);
		}
		sport = (uint16_t) rng_range(r, 32768, 60999);
		len = udp_build(seg, sport, dport, payload, plen);
		l4_csum4(seg, len, h.src, h.dst, PROTO_UDP, 6);
		return gen_emit_ip4(g, pk, second, &h, seg, len, 8, want_opts, 0);
	}
	else if (w < 90)
	{
		/* ICMP echo request */
		size_t		i;

		h.proto = PROTO_ICMP;
		plen = rng_below(r, 2) ? 56 : 32;
		for (i = 0; i < plen; i++)
			payload[i] = (uint8_t) (0x10 + i);
		id16 = (uint16_t) rng_u32(r);
		seq16 = (uint16_t) rng_below(r, 100);
		len = echo_build(seg, 8, id16, seq16, payload, plen);
		put_be16(seg + 2, csum_buf(seg, len));
		return gen_emit_ip4(g, pk, second, &h, seg, len, 8, want_opts, 0);
	}
	else
	{
		/* TCP data: an HTTP request */
		static const char get[] = "GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n"
			"User-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n";

		h.proto = PROTO_TCP;
		plen = sizeof(get) - 1;
		memcpy(payload, get, plen);
		sport = (uint16_t) rng_range(r, 32768, 60999);
		seq = rng_u32(r);
		ack = rng_u32(r);
		len = tcp_build(seg, sport, 80, seq, ack, TH_PSH | TH_ACK, 502, NULL,
						0, payload, plen);
		hdr = 20;
	}
	l4_csum4(seg, len, h.src, h.dst, PROTO_TCP, 16);
	return gen_emit_ip4(g, pk, second, &h, seg, len, hdr, want_opts, 0);
}

/* IPv6 traffic to the honeypot: TCP SYN with options or ICMPv6 echo. */
void
gen_ip6(Gen *g, Packet *pk)
{
	Rng		   *r = &g->rng;
	uint8_t		src[16];
	uint8_t		seg[256];
	uint8_t		opt[20];
	uint8_t		payload[64];
	size_t		len;
	size_t		optlen;
	size_t		i;
	uint8_t		nxt;
	uint8_t		hlim;
	uint32_t	flow;

	rand_ip6(r, src);
	if (rng_below(r, 10) < 6)
	{
		uint16_t	sport;
		uint16_t	dport;
		uint32_t	seq;

		nxt = PROTO_TCP;
		optlen = syn_options(r, opt, 1440);
		sport = (uint16_t) rng_range(r, 1024, 65535);
		dport = scan_ports[rng_below(r, NSCAN_PORTS)];
		seq = rng_u32(r);
		len = tcp_build(seg, sport, dport, seq, 0, TH_SYN, 64800, opt, optlen,
						NULL, 0);
		l4_csum6(seg, len, src, g->dst6, nxt, 16);
	}
	else
	{
		uint16_t	id16;
		uint16_t	seq16;

		nxt = PROTO_ICMP6;
		for (i = 0; i < 56; i++)
			payload[i] = (uint8_t) (0x10 + i);
		id16 = (uint16_t) rng_u32(r);
		seq16 = (uint16_t) rng_below(r, 100);
		len = echo_build(seg, 128, id16, seq16, payload, 56);
		l4_csum6(seg, len, src, g->dst6, nxt, 2);
	}
	flow = rng_u32(r);
	hlim = (uint8_t) rng_range(r, 40, 64);
	pk->kind = PK_IP6;
	pk->len = ip6_build(pk->l3, flow, nxt, hlim, src, g->dst6, seg, len);
	mac_from_addr(pk->src_mac, src + 12);
	memcpy(pk->dst_mac, g->honeypot_mac, 6);
	pk->sll_pkttype = 0;
}

/* ARP request for the honeypot's address, from a neighbour. */
static void
gen_arp(Gen *g, Packet *pk)
{
	Rng		   *r = &g->rng;
	uint8_t    *p = pk->l3;
	uint32_t	spa = (g->opt->dst & UINT32_C(0xFFFFFF00)) | rng_range(r, 1, 254);

	if (spa == g->opt->dst)
		spa = (g->opt->dst & UINT32_C(0xFFFFFF00)) | ((g->opt->dst + 1) & 0xFF);
	pk->kind = PK_ARP;
	pk->src_mac[0] = 0x02;
	pk->src_mac[1] = 0x42;
	rng_bytes(r, pk->src_mac + 2, 4);
	memset(pk->dst_mac, 0xFF, 6);
	pk->sll_pkttype = 1;
	put_be16(p, 1);
	put_be16(p + 2, ETH_IP4);
	p[4] = 6;
	p[5] = 4;
	put_be16(p + 6, 1);
	memcpy(p + 8, pk->src_mac, 6);
	put_be32(p + 14, spa);
	memset(p + 18, 0, 6);
	put_be32(p + 24, g->opt->dst);
	pk->len = 28;
}

/* 802.2 LLC + STP configuration BPDU from the switch. */
static void
gen_stp(Gen *g, Packet *pk)
{
	uint8_t    *p = pk->l3;

	pk->kind = PK_STP;
	memcpy(pk->src_mac, g->bridge_mac, 6);
	pk->dst_mac[0] = 0x01;
	pk->dst_mac[1] = 0x80;
	pk->dst_mac[2] = 0xC2;
	pk->dst_mac[3] = pk->dst_mac[4] = pk->dst_mac[5] = 0;
	pk->sll_pkttype = 2;
	p[0] = 0x42;
	p[1] = 0x42;
	p[2] = 0x03;
	put_be16(p + 3, 0);		/* protocol id */
	p[5] = 0;				/* version */
	p[6] = 0;				/* config BPDU */
	p[7] = 0;				/* flags */
	put_be16(p + 8, 0x8000);	/* root id */
	memcpy(p + 10, g->bridge_mac, 6);
	put_be32(p + 16, 0);	/* root path cost */
	put_be16(p + 20, 0x8000);	/* bridge id */
	memcpy(p + 22, g->bridge_mac, 6);
	put_be16(p + 28, 0x8001);	/* port id */
	put_be16(p + 30, 0);	/* message age */
	put_be16(p + 32, 20 * 256); /* max age */
	put_be16(p + 34, 2 * 256);	/* hello time */
	put_be16(p + 36, 15 * 256); /* forward delay */
	pk->len = 38;
}

/* LLDP from the switch. */
static void
gen_lldp(Gen *g, Packet *pk)
{
	uint8_t    *p = pk->l3;

	pk->kind = PK_LLDP;
	memcpy(pk->src_mac, g->bridge_mac, 6);
	pk->dst_mac[0] = 0x01;
	pk->dst_mac[1] = 0x80;
	pk->dst_mac[2] = 0xC2;
	pk->dst_mac[3] = 0;
	pk->dst_mac[4] = 0;
	pk->dst_mac[5] = 0x0E;
	pk->sll_pkttype = 2;
	put_be16(p, (1 << 9) | 7);	/* chassis id: MAC */
	p[2] = 4;
	memcpy(p + 3, g->bridge_mac, 6);
	put_be16(p + 9, (2 << 9) | 5);	/* port id: interface name */
	p[11] = 5;
	memcpy(p + 12, "gi01", 4);
	put_be16(p + 16, (3 << 9) | 2); /* TTL */
	put_be16(p + 18, 120);
	put_be16(p + 20, (5 << 9) | 8); /* system name */
	memcpy(p + 22, "switch01", 8);
	put_be16(p + 30, 0);	/* end */
	pk->len = 32;
}

/*
 * A link's own control frame (PK_CTRL): which one, and some random bytes
 * for its body, are drawn here; gen_link.c writes it as the link type has
 * it (an LCP echo, a PPPoE discovery, a SLARP keepalive, an FDDI SMT frame,
 * an 802.11 beacon, ACK or encrypted data frame, ...).
 */
static void
gen_ctrl(Gen *g, Packet *pk)
{
	Rng		   *r = &g->rng;

	pk->kind = PK_CTRL;
	pk->ctrl = (uint8_t) rng_u32(r);
	pk->len = rng_range(r, 16, 48);
	rng_bytes(r, pk->l3, pk->len);
	memcpy(pk->src_mac, g->bridge_mac, 6);
	memset(pk->dst_mac, 0xFF, 6);
	pk->sll_pkttype = 1;
}

/*
 * Non-IP frame.  On Ethernet, Linux cooked and the unknown link type: an
 * ARP request for the honeypot, an STP BPDU or LLDP (always these draws,
 * so that those files stay as they were).  On the other link types, what
 * each can carry: link control frames (PPP, Cisco HDLC), those or the
 * three above (FDDI, 802.11, PPPoE sessions), ARP alone (ARCNET, NFLOG,
 * Frame Relay, IPoIB),
 * the three above (PKTAP, which wraps Ethernet).
 */
void
gen_non_ip(Gen *g, L2Kind l2, Packet *pk)
{
	Rng		   *r = &g->rng;
	uint32_t	v;

	switch (l2)
	{
		case L2_PPP:
		case L2_PPP_HDLC:
		case L2_CHDLC:
			gen_ctrl(g, pk);
			return;
		case L2_ARCNET_BSD:
		case L2_ARCNET_LINUX:
		case L2_NFLOG:
		case L2_FRELAY:
		case L2_IPOIB:
			gen_arp(g, pk);
			return;
		case L2_FDDI:
		case L2_WLAN:
		case L2_RADIOTAP:
		case L2_PPI:
			if (rng_below(r, 2) == 0)
			{
				gen_ctrl(g, pk);
				return;
			}
			break;
		case L2_ETHER:
			if (g->opt->has_pppoe && rng_below(r, 2) == 0)
			{
				gen_ctrl(g, pk);
				return;
			}
			break;
		default:
			break;
	}
	v = rng_below(r, 4);
	if (v < 2)
		gen_arp(g, pk);
	else if (v == 2)
		gen_stp(g, pk);
	else
		gen_lldp(g, pk);
}

/* Can this framing carry IPv4 / IPv6 / non-IP frames? */
int
l2_allows(L2Kind l2, PacketKind kind)
{
	switch (kind)
	{
		case PK_IP4:
			return l2 != L2_RAW6;
		case PK_IP6:
			return l2 != L2_RAW4;
		default:
			return l2 != L2_RAW && l2 != L2_RAW4 && l2 != L2_RAW6 &&
				l2 != L2_NULL && l2 != L2_LOOP && l2 != L2_IPNET;
	}
}

/*
 * Generate the next packet for a record on link type l2.  May produce a
 * second packet (a following fragment) in *second; returns 1 or 2.
 */
int
gen_packet(Gen *g, L2Kind l2, int can_frag, Packet *pk, Packet *second)
{
	Rng		   *r = &g->rng;
	const Options *o = g->opt;
	int			nonip = rng_chance(r, o->p_nonip);
	int			mirai = rng_chance(r, o->p_mirai);
	int			v6 = rng_chance(r, o->p_ipv6);
	int			frag = rng_chance(r, o->p_frag);
	int			opts = rng_chance(r, o->p_ipopt);

	if (nonip && l2_allows(l2, PK_ARP))
	{
		gen_non_ip(g, l2, pk);
		return 1;
	}
	if (!l2_allows(l2, PK_IP4) || (!mirai && v6 && l2_allows(l2, PK_IP6)))
	{
		gen_ip6(g, pk);
		return 1;
	}
	if (mirai)
		return gen_mirai(g, pk, second, opts);
	return gen_other4(g, pk, second, opts, frag && can_frag);
}

/* True if an IPv4 packet is a Mirai scanner packet, as tcpdump's filter says. */
int
ip4_is_mirai(const Packet *pk)
{
	const uint8_t *ip = pk->l3;
	size_t		ihl;

	if (pk->kind != PK_IP4 || ip[9] != PROTO_TCP)
		return 0;
	ihl = (size_t) (ip[0] & 0x0F) * 4;
	return (get_be16(ip + 6) & 0x1FFF) == 0 && pk->len >= ihl + 8 &&
		get_be32(ip + ihl + 4) == get_be32(ip + 16) &&
		get_be16(ip + ihl) >= 1025;
}

/* Set up the per-run constants drawn from the PRNG. */
void
gen_init(Gen *g, const Options *o)
{
	int			i;

	memset(g, 0, sizeof(*g));
	g->opt = o;
	rng_seed(&g->rng, o->seed);
	for (i = 0; i < SCANNER_POOL; i++)
		g->scanners[i] = gen_public_ip4(&g->rng, o->dst);
	g->honeypot_mac[0] = 0x00;
	g->honeypot_mac[1] = 0x16;
	g->honeypot_mac[2] = 0x3E;
	g->honeypot_mac[3] = 0x4D;
	g->honeypot_mac[4] = 0x49;
	g->honeypot_mac[5] = 0x52;
	g->bridge_mac[0] = 0x00;
	g->bridge_mac[1] = 0x1B;
	g->bridge_mac[2] = 0x54;
	rng_bytes(&g->rng, g->bridge_mac + 3, 3);
	/* 2001:db8::7 */
	g->dst6[0] = 0x20;
	g->dst6[1] = 0x01;
	g->dst6[2] = 0x0D;
	g->dst6[3] = 0xB8;
	g->dst6[15] = 0x07;
	if (o->p_scanners)
		gen_tools_init(g);
}
