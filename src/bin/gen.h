/*-------------------------------------------------------------------------
 *
 * gen.h
 *	  Declarations shared by the parts of mirai_gen, the capture generator:
 *	  its options, the PRNG, packets as built before framing, the counts,
 *	  and the functions each part offers the others.
 *
 * The parts, one concern each:
 *	mirai_gen.c		command line, --counts, the main loop
 *	gen_rng.c		the seeded PRNG (splitmix64 seeding xoshiro256**) and
 *					integer-only exponential intervals
 *	gen_packet.c	IPv4, IPv6, TCP, UDP and ICMP headers, checksums
 *	gen_traffic.c	traffic models: Mirai scanners, other scanners, near
 *					misses, backscatter, UDP, ICMP, IPv6, non-IP frames
 *	gen_tools.c		probes of other scanning tools (ZMap, Masscan, Nmap,
 *					Unicornscan), as their code builds them
 *	gen_sched.c		--schedule: windows with exact counts
 *	gen_link.c		link-layer framing, one encoder per link type
 *	gen_file.c		pcap and pcapng structures, gzip output
 *
 * Every multi-byte field is written byte by byte (put_be16 and friends), so
 * the output does not depend on the machine, and every PRNG draw is a
 * statement of its own, never one of several function arguments, since C
 * leaves their order of evaluation unspecified.
 *
 * src/bin/gen.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIRAI_GEN_H
#define MIRAI_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#define PROGNAME		"mirai_gen"
#define PROGVERSION		"1.0"

#define EXIT_USAGE		2

#define MAX_IFACES		16
#define MAX_BLOCKMIX	16
#define MAX_L3			2048
#define MAX_FRAME		(2 * MAX_L3 + 1024)	/* link headers; PPP octet stuffing
										 * doubles at most */
#define MAX_MPLS		16		/* labels of --mpls */
#define SCANNER_POOL	512
#define TOOL_POOL		8		/* sources per tool of --scanners */
#define MAX_SNAPLEN		262144
#define MAX_LINKTYPES	64		/* entries of linktypes[] */

#define NSEC_PER_SEC	UINT64_C(1000000000)
#define LN2_Q32			UINT64_C(2977044472)	/* ln(2) * 2^32, rounded */

/* ethertypes and IP protocol numbers */
#define ETH_IP4			0x0800
#define ETH_IP6			0x86dd
#define ETH_ARP			0x0806
#define ETH_LLDP		0x88cc
#define ETH_8021Q		0x8100
#define ETH_8021AD		0x88a8
#define ETH_P_802_2		0x0004
#define PROTO_ICMP		1
#define PROTO_TCP		6
#define PROTO_UDP		17
#define PROTO_ICMP6		58

/* TCP flags */
#define TH_FIN			0x01
#define TH_SYN			0x02
#define TH_RST			0x04
#define TH_PSH			0x08
#define TH_ACK			0x10

/* pcapng block types */
#define BT_SHB			0x0A0D0D0Au
#define BT_IDB			0x00000001u
#define BT_OPB			0x00000002u
#define BT_SPB			0x00000003u
#define BT_NRB			0x00000004u
#define BT_ISB			0x00000005u
#define BT_EPB			0x00000006u
#define BT_UNKNOWN		0x00000BADu

typedef enum
{
	FMT_PCAP,
	FMT_PCAP_NS,
	FMT_PCAPNG
} Format;

typedef enum
{
	BO_LITTLE,
	BO_BIG,
	BO_MIXED
} ByteOrder;

typedef enum
{
	BLK_EPB,
	BLK_SPB,
	BLK_OPB
} BlockKind;

/* link-layer framings */
typedef enum
{
	L2_ETHER,
	L2_SLL,
	L2_SLL2,
	L2_RAW,
	L2_RAW4,
	L2_RAW6,
	L2_NULL,
	L2_LOOP,
	L2_PPP,						/* 9: PPP, address and control optional */
	L2_PPP_HDLC,				/* 50: PPP in HDLC-like framing, or Cisco's */
	L2_CHDLC,					/* 104: Cisco HDLC */
	L2_FRELAY,					/* 107: Frame Relay */
	L2_FDDI,					/* 10: FDDI, 802.2 LLC / SNAP */
	L2_ARCNET_BSD,				/* 7: ARCNET, BSD header */
	L2_ARCNET_LINUX,			/* 129: ARCNET, Linux header */
	L2_WLAN,					/* 105: 802.11, LLC / SNAP */
	L2_RADIOTAP,				/* 127: radiotap, then 802.11 */
	L2_PPI,						/* 192: PPI, then 802.11 (or Ethernet) */
	L2_PKTAP,					/* 258: Apple PKTAP, then Ethernet (or loopback) */
	L2_IPNET,					/* 226: Solaris ipnet */
	L2_NFLOG,					/* 239: Linux NFLOG */
	L2_IPOIB,					/* 242: IP over InfiniBand */
	L2_UNKNOWN
} L2Kind;

typedef struct LinkTypeDef
{
	const char *name;
	uint32_t	code;
	L2Kind		l2;
} LinkTypeDef;


#define MACSEC_INTEG		1
#define MACSEC_ENCRYPTED	2

typedef struct Options
{
	uint64_t	npackets;
	uint64_t	seed;
	Format		format;
	int			gzip;
	int			gzip_level;
	ByteOrder	byte_order;
	int			nifaces;
	int			iface_lt[MAX_IFACES];	/* indexes into linktypes[] */
	int			has_vlan;
	uint16_t	vlan;
	int			has_qinq;
	/* encapsulations inside Ethernet (and MPLS inside PPP and Cisco HDLC) */
	int			has_pppoe;
	uint16_t	pppoe_session;
	int			nmpls;
	uint32_t	mpls[MAX_MPLS];	/* labels, outermost first */
	int			has_pbb;
	uint32_t	pbb_isid;
	int			has_vntag;
	uint16_t	vntag_vif;
	int			has_arista;		/* Arista's time-stamp header */
	int			macsec;			/* MACsec's SecTAG: 0 none, MACSEC_INTEG
								 * (in the clear), MACSEC_ENCRYPTED */
	int			has_nsh;		/* NSH before IP packets */
	int			link_variants;	/* vary the framing beyond libpcap's filters */
	uint16_t	qinq_outer;
	uint16_t	qinq_inner;
	uint32_t	snaplen;
	uint64_t	start_sec;
	uint32_t	start_nsec;
	uint64_t	mean_ns;
	uint32_t	dst;
	uint64_t	p_mirai;		/* probabilities, scaled by 2^32 */
	uint64_t	p_ipv6;
	uint64_t	p_frag;
	uint64_t	p_nonip;
	uint64_t	p_ipopt;
	uint64_t	p_scanners;		/* probes of other tools (gen_tools.c) */
	int			nblocks;
	BlockKind	blocks[MAX_BLOCKMIX];
	int			has_tsresol;
	uint8_t		tsresol;
	int			has_tsoffset;
	int64_t		tsoffset;
	uint64_t	sections;
	int			unknown_blocks;
	int			pcap_minor;
	int			kuznetzov;
	uint64_t	truncate_last;
	int			counts;
	const char *outpath;
	/* which pcapng-only / pcap-only options were given, for validation */
	int			given_blocks;
	int			given_sections;
	int			given_version;
	/* --schedule, and the options it replaces */
	const char *schedule;
	int			given_packets;
	int			given_start;
	int			given_rate;
	int			given_mirai;
} Options;

typedef struct Rng
{
	uint64_t	s[4];
} Rng;

typedef struct Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Buf;

typedef enum
{
	PK_IP4,
	PK_IP6,
	PK_ARP,
	PK_STP,
	PK_LLDP,
	PK_CTRL						/* a link's own control frame: PPP LCP,
								 * PPPoE discovery, SLARP, FDDI SMT, 802.11
								 * management, ... (gen_link.c writes it) */
} PacketKind;

/* Which tool a packet imitates (gen_tools.c); GS_NONE for the rest. */
typedef enum
{
	GS_NONE = 0,
	GS_ZMAP,
	GS_ZMAP41,
	GS_MASSCAN,
	GS_NMAP,
	GS_UNICORNSCAN,
	GS_BACKSCATTER,				/* a victim's reply (gen_other4) */
	GS_N
} GenScanner;

typedef struct Packet
{
	PacketKind	kind;
	uint8_t		l3[MAX_L3];		/* IP packet, ARP, LLC+BPDU or LLDPDU */
	size_t		len;
	uint8_t		src_mac[6];
	uint8_t		dst_mac[6];
	uint8_t		sll_pkttype;	/* 0 host, 1 broadcast, 2 multicast */
	uint8_t		ctrl;			/* PK_CTRL: which control frame (random) */
	uint8_t		scanner;		/* GenScanner, for --counts */
} Packet;

typedef struct Ip4Hdr
{
	uint32_t	src;
	uint32_t	dst;
	uint16_t	id;
	uint8_t		ttl;
	uint8_t		proto;
	uint8_t		tos;
	int			df;
} Ip4Hdr;

typedef struct Gen
{
	Rng			rng;
	const Options *opt;
	uint32_t	scanners[SCANNER_POOL];
	uint32_t	tool_src[GS_N][TOOL_POOL];	/* with --scanners */
	uint8_t		honeypot_mac[6];
	uint8_t		bridge_mac[6];
	uint8_t		dst6[16];
} Gen;

typedef struct Counts
{
	uint64_t	records;
	uint64_t	ip4;
	uint64_t	ip6;
	uint64_t	ip4_tcp;
	uint64_t	ip4_udp;
	uint64_t	ip4_icmp;
	uint64_t	ip6_tcp;
	uint64_t	ip6_icmp6;
	uint64_t	mirai;
	uint64_t	non_ip;
	uint64_t	fragments;
	uint64_t	ip4_options;
	uint64_t	skipped;
	uint64_t	snapped;
	uint64_t	truncated;
	uint64_t	per_lt[MAX_LINKTYPES];
	uint64_t	scanners[GS_N];
} Counts;

typedef struct Out
{
	FILE	   *fp;
	int			is_stdout;
	int			gzip;
	z_stream	zs;
	gz_header	gzh;
	uint8_t		zbuf[65536];
} Out;

typedef struct SchedWindow
{
	uint64_t	start_sec;
	uint32_t	start_nsec;
	uint64_t	span_ns;		/* END - START */
	uint64_t	records;
	uint64_t	mirai;			/* sum of the counts of its sources */
	size_t		first_src;		/* its sources in Sched.src_* */
	size_t		nsrc;
} SchedWindow;

typedef struct Sched
{
	SchedWindow *w;
	size_t		nw;
	uint32_t   *src_addr;
	uint64_t   *src_count;
	size_t		nsrc;
	/* progress through the current window */
	size_t		cur;
	uint64_t	done;			/* records of window cur already written */
	uint64_t   *offs;			/* sorted time offsets of its records */
	uint32_t   *mirai_src;		/* source of each of its Mirai packets */
	uint64_t	mirai_done;
} Sched;

#define SCHED_MAX_WINDOW	(UINT64_C(1) << 26)

/* Print an error message and exit with the given status (mirai_gen.c). */
extern void die(int status, const char *fmt,...)
			__attribute__((noreturn, format(printf, 2, 3)));

/* ---------------------------------------------------------------------
 * Byte-order helpers: every multi-byte field is written byte by byte.
 * ---------------------------------------------------------------------
 */

/* Store a 16-bit value big-endian. */
static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

/* Store a 32-bit value big-endian. */
static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* Store a 16-bit value little-endian. */
static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

/* Store a 32-bit value little-endian. */
static inline void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Store a 16-bit value in the given byte order (big != 0: big-endian). */
static inline void
put_u16(uint8_t *p, int big, uint16_t v)
{
	if (big)
		put_be16(p, v);
	else
		put_le16(p, v);
}

/* Store a 32-bit value in the given byte order. */
static inline void
put_u32(uint8_t *p, int big, uint32_t v)
{
	if (big)
		put_be32(p, v);
	else
		put_le32(p, v);
}

/* Load a big-endian 16-bit value. */
static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t) (((uint16_t) p[0] << 8) | p[1]);
}

/* Load a big-endian 32-bit value. */
static inline uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

/* gen_rng.c */
extern void rng_seed(Rng *r, uint64_t seed);
extern uint64_t rng_next(Rng *r);
extern uint32_t rng_u32(Rng *r);
extern uint32_t rng_below(Rng *r, uint32_t n);
extern uint64_t rng_below64(Rng *r, uint64_t n);
extern uint32_t rng_range(Rng *r, uint32_t lo, uint32_t hi);
extern int	rng_chance(Rng *r, uint64_t p);
extern void rng_bytes(Rng *r, uint8_t *p, size_t n);
extern uint64_t rng_exp_ns(Rng *r, uint64_t mean_ns);

/* gen_packet.c */
extern void l4_csum4(uint8_t *seg, size_t len, uint32_t src, uint32_t dst,
					 uint8_t proto, size_t csum_off);
extern void l4_csum6(uint8_t *seg, size_t len, const uint8_t *src,
					 const uint8_t *dst, uint8_t nxt, size_t csum_off);
extern uint16_t csum_buf(const uint8_t *p, size_t n);
extern size_t tcp_build(uint8_t *out, uint16_t sport, uint16_t dport,
						uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
						const uint8_t *opts, size_t optlen,
						const uint8_t *payload, size_t plen);
extern size_t udp_build(uint8_t *out, uint16_t sport, uint16_t dport,
						const uint8_t *payload, size_t plen);
extern size_t echo_build(uint8_t *out, uint8_t type, uint16_t id, uint16_t seq,
						 const uint8_t *payload, size_t plen);
extern size_t ip4_build(uint8_t *out, const Ip4Hdr *h, const uint8_t *opt,
						size_t optlen, uint16_t fragfield,
						const uint8_t *payload, size_t plen);
extern size_t ip6_build(uint8_t *out, uint32_t flow, uint8_t nxt, uint8_t hlim,
						const uint8_t *src, const uint8_t *dst,
						const uint8_t *payload, size_t plen);

/* gen_traffic.c */
extern void gen_init(Gen *g, const Options *o);
extern int	l2_allows(L2Kind l2, PacketKind kind);
extern int	gen_packet(Gen *g, L2Kind l2, int can_frag, Packet *pk,
					   Packet *second);
extern int	gen_mirai_from(Gen *g, Packet *pk, Packet *second, int want_opts,
						   uint32_t src);
extern int	gen_other4(Gen *g, Packet *pk, Packet *second, int want_opts,
					   int want_frag);
extern void gen_ip6(Gen *g, Packet *pk);
extern void gen_non_ip(Gen *g, L2Kind l2, Packet *pk);
extern int	ip4_is_mirai(const Packet *pk);
extern uint32_t gen_public_ip4(Rng *r, uint32_t avoid);
extern int	gen_emit_ip4(Gen *g, Packet *pk, Packet *second, const Ip4Hdr *h,
						 const uint8_t *l4, size_t l4len, size_t l4hdr,
						 int want_opts, int want_frag);

/* gen_tools.c */
extern const char *const gen_scanner_names[GS_N];
extern void gen_tools_init(Gen *g);
extern int	gen_tool4(Gen *g, Packet *pk, Packet *second);

/* gen_sched.c */
extern int	parse_time(const char *s, uint64_t *sec, uint32_t *nsec);
extern int	parse_ip4_text(const char *s, uint32_t *out);
extern uint64_t sched_load(Sched *sc, const char *path, uint32_t dst);
extern void sched_next_time(Gen *g, Sched *sc, uint64_t *sec, uint32_t *nsec);
extern int	gen_packet_sched(Gen *g, Sched *sc, L2Kind l2, int can_frag,
							 Packet *pk, Packet *second);

/* gen_link.c */
extern const LinkTypeDef linktypes[];
extern const int nlinktypes;
extern uint16_t packet_ethertype(const Packet *pk);
extern size_t encap(const Options *o, L2Kind l2, uint32_t ifindex,
					const Packet *pk, int big, uint64_t recno, uint8_t *f);

/* gen_file.c */
extern void out_open(Out *o, const char *path, int gzip, int level);
extern void out_write(Out *o, const uint8_t *p, size_t n);
extern void out_close(Out *o);
extern void write_pcap_header(Buf *b, const Options *o);
extern void write_section_header(Buf *b, const Options *o, int big);
extern uint64_t pcapng_units(const Options *o, uint64_t sec, uint32_t nsec);
extern void write_extra_blocks(Buf *b, const Options *o, int big,
							   uint64_t ts_units, uint64_t received);
extern void write_record(Buf *b, const Options *o, int big, BlockKind bk,
						 uint32_t ifid, uint64_t sec, uint32_t nsec,
						 const uint8_t *frame, uint32_t caplen,
						 uint32_t wirelen, uint16_t kproto, uint8_t kpkttype,
						 int epb_flags);

#endif							/* MIRAI_GEN_H */
