/*-------------------------------------------------------------------------
 *
 * mirai_gen.c
 *	  Seeded, reproducible generator of packet capture files for testing
 *	  the mirai_ext decoder and for honeypot analysts' demos.
 *
 * The program writes pcap (microsecond or nanosecond), Kuznetzov's modified
 * pcap, or pcapng files, optionally gzip-compressed, containing Mirai
 * scanner SYNs (TCP sequence number equal to the destination address) mixed
 * with realistic background traffic: other scanners, near misses of the
 * Mirai fingerprint, backscatter, UDP, ICMP, IPv6, IPv4 options, IPv4
 * fragments and non-IP frames (ARP, STP, LLDP), over a choice of link-layer
 * types.  The same seed and options always give byte-identical output on any
 * machine: the PRNG (splitmix64 seeding xoshiro256**) is our own, the
 * exponential inter-arrival times are computed in integer fixed point, and
 * no clock is ever read.  (With --gzip, the compressed bytes are identical
 * for the same zlib version; the gzip header has mtime 0 and OS 3.)
 *
 * With --counts, one line of JSON on stderr gives the exact counts of what
 * was written, defined so that they agree with tcpdump/libpcap filters:
 *
 *	records			packet records readable in full (the record cut short by
 *					--truncate-last is not counted here nor anywhere below)
 *	ip4, ip6		records carrying an IPv4 / IPv6 packet (or fragment)
 *	ip4_tcp			IPv4 records whose protocol field is 6, fragments included,
 *					first or not: this is what BPF "ip and tcp" matches, since
 *					the "tcp" primitive only tests the protocol field
 *	ip4_udp, ip4_icmp	likewise for protocols 17 and 1
 *	ip6_tcp, ip6_icmp6	IPv6 records whose next header is 6 / 58
 *	mirai			IPv4 records with protocol 6, fragment offset 0 (first
 *					fragments, MF set or not, are included), TCP sequence
 *					number equal to the IPv4 destination address and TCP
 *					source port >= 1025: exactly what BPF
 *					"tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535"
 *					matches, because libpcap guards every tcp[] load and
 *					port test with a fragment-offset-zero check
 *	non_ip			ARP, STP and LLDP frames
 *	fragments		IPv4 records that are fragments (MF set or offset > 0)
 *	ip4_options		IPv4 records whose header length is more than 20 bytes
 *	skipped			records on the "unknown" link type (147); a decoder must
 *					skip them, so they are in none of the counts above except
 *					records and linktypes
 *	snapped			records whose captured length was cut by --snaplen (the
 *					counts above are about the packets as generated, before
 *					that cut)
 *	truncated_records	1 if the last record was cut by --truncate-last
 *	linktypes		object: records per link-type name of --linktype
 *
 * Build: cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror
 *		  -o src/bin/mirai_gen src/bin/mirai_gen.c -lz
 *
 * src/bin/mirai_gen.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define PROGNAME		"mirai_gen"
#define PROGVERSION		"1.0"

#define EXIT_USAGE		2

#define MAX_IFACES		16
#define MAX_BLOCKMIX	16
#define MAX_L3			2048
#define MAX_FRAME		(MAX_L3 + 64)
#define SCANNER_POOL	512
#define MAX_SNAPLEN		262144

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
	L2_UNKNOWN
} L2Kind;

typedef struct LinkTypeDef
{
	const char *name;
	uint32_t	code;
	L2Kind		l2;
} LinkTypeDef;

static const LinkTypeDef linktypes[] = {
	{"ether", 1, L2_ETHER},
	{"sll", 113, L2_SLL},
	{"sll2", 276, L2_SLL2},
	{"raw", 101, L2_RAW},
	{"raw12", 12, L2_RAW},
	{"raw14", 14, L2_RAW},
	{"ipv4", 228, L2_RAW4},
	{"ipv6", 229, L2_RAW6},
	{"null", 0, L2_NULL},
	{"loop", 108, L2_LOOP},
	{"unknown", 147, L2_UNKNOWN}
};

#define NLINKTYPES	((int) (sizeof(linktypes) / sizeof(linktypes[0])))

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
	PK_LLDP
} PacketKind;

typedef struct Packet
{
	PacketKind	kind;
	uint8_t		l3[MAX_L3];		/* IP packet, ARP, LLC+BPDU or LLDPDU */
	size_t		len;
	uint8_t		src_mac[6];
	uint8_t		dst_mac[6];
	uint8_t		sll_pkttype;	/* 0 host, 1 broadcast, 2 multicast */
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
	uint64_t	per_lt[NLINKTYPES];
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


/* Print an error message and exit with the given status. */
static void
die(int status, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (status == EXIT_USAGE)
		fprintf(stderr, "Try \"%s --help\" for more information.\n", PROGNAME);
	exit(status);
}

/* ---------------------------------------------------------------------
 * Byte-order helpers: every multi-byte field is written byte by byte.
 * ---------------------------------------------------------------------
 */

/* Store a 16-bit value big-endian. */
static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

/* Store a 32-bit value big-endian. */
static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* Store a 16-bit value little-endian. */
static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

/* Store a 32-bit value little-endian. */
static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Store a 16-bit value in the given byte order (big != 0: big-endian). */
static void
put_u16(uint8_t *p, int big, uint16_t v)
{
	if (big)
		put_be16(p, v);
	else
		put_le16(p, v);
}

/* Store a 32-bit value in the given byte order. */
static void
put_u32(uint8_t *p, int big, uint32_t v)
{
	if (big)
		put_be32(p, v);
	else
		put_le32(p, v);
}

/* Load a big-endian 16-bit value. */
static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t) (((uint16_t) p[0] << 8) | p[1]);
}

/* Load a big-endian 32-bit value. */
static uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

/* ---------------------------------------------------------------------
 * Growable byte buffer.
 * ---------------------------------------------------------------------
 */

/* Make room for n more bytes. */
static void
buf_reserve(Buf *b, size_t n)
{
	size_t		want;

	if (b->len + n <= b->cap)
		return;
	want = b->cap ? b->cap : 4096;
	while (want < b->len + n)
		want *= 2;
	b->data = realloc(b->data, want);
	if (b->data == NULL)
		die(1, "out of memory");
	b->cap = want;
}

/* Append raw bytes. */
static void
buf_put(Buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Append one byte. */
static void
buf_u8(Buf *b, uint8_t v)
{
	buf_reserve(b, 1);
	b->data[b->len++] = v;
}

/* Append a 16-bit value in the given byte order. */
static void
buf_u16(Buf *b, int big, uint16_t v)
{
	buf_reserve(b, 2);
	put_u16(b->data + b->len, big, v);
	b->len += 2;
}

/* Append a 32-bit value in the given byte order. */
static void
buf_u32(Buf *b, int big, uint32_t v)
{
	buf_reserve(b, 4);
	put_u32(b->data + b->len, big, v);
	b->len += 4;
}

/* Append a 64-bit value in the given byte order. */
static void
buf_u64(Buf *b, int big, uint64_t v)
{
	if (big)
	{
		buf_u32(b, 1, (uint32_t) (v >> 32));
		buf_u32(b, 1, (uint32_t) v);
	}
	else
	{
		buf_u32(b, 0, (uint32_t) v);
		buf_u32(b, 0, (uint32_t) (v >> 32));
	}
}

/* Append zero bytes up to a multiple of 4 in length. */
static void
buf_pad4(Buf *b)
{
	while (b->len % 4 != 0)
		buf_u8(b, 0);
}

/* ---------------------------------------------------------------------
 * PRNG: splitmix64 to seed xoshiro256**.
 * ---------------------------------------------------------------------
 */

/* One splitmix64 step. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z;

	*x += UINT64_C(0x9E3779B97F4A7C15);
	z = *x;
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Seed the generator state from a 64-bit seed. */
static void
rng_seed(Rng *r, uint64_t seed)
{
	uint64_t	x = seed;
	int			i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* Rotate left. */
static uint64_t
rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits (xoshiro256**). */
static uint64_t
rng_next(Rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	result = rotl64(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Next 32 random bits. */
static uint32_t
rng_u32(Rng *r)
{
	return (uint32_t) (rng_next(r) >> 32);
}

/* Uniform integer in [0, n), n >= 1, without bias (Lemire's method). */
static uint32_t
rng_below(Rng *r, uint32_t n)
{
	uint64_t	m;
	uint32_t	l;
	uint32_t	t;

	m = (uint64_t) rng_u32(r) * n;
	l = (uint32_t) m;
	if (l < n)
	{
		t = (uint32_t) (UINT32_C(0) - n) % n;
		while (l < t)
		{
			m = (uint64_t) rng_u32(r) * n;
			l = (uint32_t) m;
		}
	}
	return (uint32_t) (m >> 32);
}

/* Uniform integer in [lo, hi], inclusive. */
static uint32_t
rng_range(Rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* True with probability p / 2^32. */
static int
rng_chance(Rng *r, uint64_t p)
{
	return (uint64_t) rng_u32(r) < p;
}

/* Fill a buffer with random bytes. */
static void
rng_bytes(Rng *r, uint8_t *p, size_t n)
{
	size_t		i;
	uint64_t	v = 0;

	for (i = 0; i < n; i++)
	{
		if (i % 8 == 0)
			v = rng_next(r);
		p[i] = (uint8_t) (v >> (8 * (i % 8)));
	}
}

/* (a * b) >> 32 computed exactly in 64-bit pieces (result must fit). */
static uint64_t
mul_shr32(uint64_t a, uint64_t b)
{
	uint64_t	a_hi = a >> 32;
	uint64_t	a_lo = a & UINT64_C(0xFFFFFFFF);
	uint64_t	b_hi = b >> 32;
	uint64_t	b_lo = b & UINT64_C(0xFFFFFFFF);

	return ((a_hi * b_hi) << 32) + a_hi * b_lo + a_lo * b_hi +
		((a_lo * b_lo) >> 32);
}

/*
 * -ln(U) for U uniform in (0,1), in Q32 fixed point, using integers only so
 * that the result is identical on every machine.  U = x / 2^64 is written as
 * f * 2^-k with f in [0.5, 1); -ln U = k ln 2 - ln f, and -ln f is
 * 2 atanh(z) with z = (1 - f) / (1 + f) <= 1/3, summed as a series.
 */
static uint64_t
rng_neglog_q32(Rng *r)
{
	uint64_t	x;
	uint64_t	f32;
	uint64_t	z;
	uint64_t	z2;
	uint64_t	term;
	uint64_t	sum = 0;
	uint64_t	k = 0;
	uint64_t	i;

	do
	{
		x = rng_next(r);
	} while (x == 0);
	while ((x & UINT64_C(0x8000000000000000)) == 0)
	{
		x <<= 1;
		k++;
	}
	f32 = x >> 32;				/* f in Q32, in [2^31, 2^32) */
	z = ((UINT64_C(0x100000000) - f32) << 32) / (UINT64_C(0x100000000) + f32);
	z2 = (z * z) >> 32;
	term = z;
	for (i = 1; term != 0; i += 2)
	{
		sum += term / i;
		term = (term * z2) >> 32;
	}
	return k * LN2_Q32 + 2 * sum;
}

/* Exponentially distributed interval in nanoseconds with the given mean. */
static uint64_t
rng_exp_ns(Rng *r, uint64_t mean_ns)
{
	return mul_shr32(rng_neglog_q32(r), mean_ns);
}

/* ---------------------------------------------------------------------
 * Checksums.
 * ---------------------------------------------------------------------
 */

/* Add bytes to a ones' complement sum (big-endian 16-bit words). */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t		i;

	for (i = 0; i + 1 < n; i += 2)
		sum += ((uint32_t) p[i] << 8) | p[i + 1];
	if (n & 1)
		sum += (uint32_t) p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return sum;
}

/* Fold and complement a ones' complement sum. */
static uint16_t
csum_final(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t) (~sum & 0xFFFF);
}

/* Compute and store a TCP/UDP checksum over an IPv4 pseudo header. */
static void
l4_csum4(uint8_t *seg, size_t len, uint32_t src, uint32_t dst, uint8_t proto,
		 size_t csum_off)
{
	uint8_t		ph[12];
	uint32_t	sum;
	uint16_t	c;

	put_be32(ph, src);
	put_be32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put_be16(ph + 10, (uint16_t) len);
	put_be16(seg + csum_off, 0);
	sum = csum_add(0, ph, sizeof(ph));
	sum = csum_add(sum, seg, len);
	c = csum_final(sum);
	if (c == 0 && proto == PROTO_UDP)
		c = 0xFFFF;
	put_be16(seg + csum_off, c);
}

/* Compute and store an upper-layer checksum over an IPv6 pseudo header. */
static void
l4_csum6(uint8_t *seg, size_t len, const uint8_t *src, const uint8_t *dst,
		 uint8_t nxt, size_t csum_off)
{
	uint8_t		ph[40];
	uint32_t	sum;

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	put_be32(ph + 32, (uint32_t) len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = nxt;
	put_be16(seg + csum_off, 0);
	sum = csum_add(0, ph, sizeof(ph));
	sum = csum_add(sum, seg, len);
	put_be16(seg + csum_off, csum_final(sum));
}

/* Checksum of a plain buffer (ICMP, IPv4 header). */
static uint16_t
csum_buf(const uint8_t *p, size_t n)
{
	return csum_final(csum_add(0, p, n));
}

/* ---------------------------------------------------------------------
 * Packet builders.
 * ---------------------------------------------------------------------
 */

/* Build a TCP segment (checksum left zero); returns its length. */
static size_t
tcp_build(uint8_t *out, uint16_t sport, uint16_t dport, uint32_t seq,
		  uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opts,
		  size_t optlen, const uint8_t *payload, size_t plen)
{
	size_t		hlen = 20 + optlen;

	put_be16(out, sport);
	put_be16(out + 2, dport);
	put_be32(out + 4, seq);
	put_be32(out + 8, ack);
	out[12] = (uint8_t) ((hlen / 4) << 4);
	out[13] = flags;
	put_be16(out + 14, win);
	put_be16(out + 16, 0);
	put_be16(out + 18, 0);
	if (optlen > 0)
		memcpy(out + 20, opts, optlen);
	if (plen > 0)
		memcpy(out + hlen, payload, plen);
	return hlen + plen;
}

/* Build a UDP datagram (checksum left zero); returns its length. */
static size_t
udp_build(uint8_t *out, uint16_t sport, uint16_t dport,
		  const uint8_t *payload, size_t plen)
{
	put_be16(out, sport);
	put_be16(out + 2, dport);
	put_be16(out + 4, (uint16_t) (8 + plen));
	put_be16(out + 6, 0);
	if (plen > 0)
		memcpy(out + 8, payload, plen);
	return 8 + plen;
}

/* Build an ICMP/ICMPv6 echo request (checksum left zero). */
static size_t
echo_build(uint8_t *out, uint8_t type, uint16_t id, uint16_t seq,
		   const uint8_t *payload, size_t plen)
{
	out[0] = type;
	out[1] = 0;
	put_be16(out + 2, 0);
	put_be16(out + 4, id);
	put_be16(out + 6, seq);
	if (plen > 0)
		memcpy(out + 8, payload, plen);
	return 8 + plen;
}

/* Write an IPv4 header plus payload; returns the total length. */
static size_t
ip4_build(uint8_t *out, const Ip4Hdr *h, const uint8_t *opt, size_t optlen,
		  uint16_t fragfield, const uint8_t *payload, size_t plen)
{
	size_t		hlen = 20 + optlen;

	out[0] = (uint8_t) (0x40 | (hlen / 4));
	out[1] = h->tos;
	put_be16(out + 2, (uint16_t) (hlen + plen));
	put_be16(out + 4, h->id);
	put_be16(out + 6, fragfield);
	out[8] = h->ttl;
	out[9] = h->proto;
	put_be16(out + 10, 0);
	put_be32(out + 12, h->src);
	put_be32(out + 16, h->dst);
	if (optlen > 0)
		memcpy(out + 20, opt, optlen);
	put_be16(out + 10, csum_buf(out, hlen));
	if (plen > 0)
		memcpy(out + hlen, payload, plen);
	return hlen + plen;
}

/* Write an IPv6 header plus payload; returns the total length. */
static size_t
ip6_build(uint8_t *out, uint32_t flow, uint8_t nxt, uint8_t hlim,
		  const uint8_t *src, const uint8_t *dst, const uint8_t *payload,
		  size_t plen)
{
	put_be32(out, UINT32_C(0x60000000) | (flow & UINT32_C(0xFFFFF)));
	put_be16(out + 4, (uint16_t) plen);
	out[6] = nxt;
	out[7] = hlim;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	memcpy(out + 40, payload, plen);
	return 40 + plen;
}

/* A random public-looking unicast IPv4 address, never the honeypot. */
static uint32_t
rand_public_ip4(Rng *r, uint32_t avoid)
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
static int
emit_ip4(Gen *g, Packet *pk, Packet *second, const Ip4Hdr *h,
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
static int
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
	return emit_ip4(g, pk, second, &h, seg, len, 20, want_opts, 0);
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
static int
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

	h.src = rand_public_ip4(r, o->dst);
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
		return emit_ip4(g, pk, second, &h, seg, len, hdr, want_opts, 1);
	}

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
		return emit_ip4(g, pk, second, &h, seg, len, 8, want_opts, 0);
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
		return emit_ip4(g, pk, second, &h, seg, len, 8, want_opts, 0);
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
	return emit_ip4(g, pk, second, &h, seg, len, hdr, want_opts, 0);
}

/* IPv6 traffic to the honeypot: TCP SYN with options or ICMPv6 echo. */
static void
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

/* Non-IP frame: ARP request for the honeypot, STP BPDU, or LLDP. */
static void
gen_non_ip(Gen *g, Packet *pk)
{
	Rng		   *r = &g->rng;
	uint32_t	v = rng_below(r, 4);
	uint8_t    *p = pk->l3;

	if (v < 2)
	{
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
	else if (v == 2)
	{
		/* 802.2 LLC + configuration BPDU */
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
	else
	{
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
}

/* Can this framing carry IPv4 / IPv6 / non-IP frames? */
static int
l2_allows(L2Kind l2, PacketKind kind)
{
	switch (kind)
	{
		case PK_IP4:
			return l2 != L2_RAW6;
		case PK_IP6:
			return l2 != L2_RAW4;
		default:
			return l2 == L2_ETHER || l2 == L2_SLL || l2 == L2_SLL2 ||
				l2 == L2_UNKNOWN;
	}
}

/*
 * Generate the next packet for a record on link type l2.  May produce a
 * second packet (a following fragment) in *second; returns 1 or 2.
 */
static int
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
		gen_non_ip(g, pk);
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
static int
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

/* ---------------------------------------------------------------------
 * --schedule: time windows with exact record counts and exact Mirai
 * packets per source.
 *
 * The file has one "window START END RECORDS" line per window (Unix
 * seconds[.fraction], START < END, windows in time order and not
 * overlapping), each followed by "ADDRESS COUNT" lines: COUNT Mirai packets
 * from that IPv4 address in the window.  '#' starts a comment.  A window
 * holds exactly RECORDS records with times drawn uniformly from
 * [START, END) and sorted; exactly the listed Mirai packets are among them,
 * at random places and in random order; the rest is the usual non-Mirai
 * traffic (never Mirai by accident).
 * ---------------------------------------------------------------------
 */

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

/* Parse "SECONDS[.FRACTION]" exactly; returns 0 if malformed. */
static int
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
static int
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
static uint64_t
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

/* Uniform integer in [0, n), n >= 1, 64-bit, without bias. */
static uint64_t
rng_below64(Rng *r, uint64_t n)
{
	uint64_t	rem = (UINT64_MAX % n + 1) % n;	/* 2^64 mod n */
	uint64_t	x;

	do
	{
		x = rng_next(r);
	} while (rem != 0 && x > UINT64_MAX - rem);
	return x % n;
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
static void
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
static int
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

		if (nonip && l2_allows(l2, PK_ARP))
		{
			gen_non_ip(g, pk);
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

/* ---------------------------------------------------------------------
 * Link-layer framing.
 * ---------------------------------------------------------------------
 */

/* The ethertype of a packet (0 for STP, which uses an 802.3 length). */
static uint16_t
packet_ethertype(const Packet *pk)
{
	switch (pk->kind)
	{
		case PK_IP4:
			return ETH_IP4;
		case PK_IP6:
			return ETH_IP6;
		case PK_ARP:
			return ETH_ARP;
		case PK_LLDP:
			return ETH_LLDP;
		default:
			return 0;
	}
}

/* Frame a packet for a link type; big = byte order of the file section. */
static size_t
encap(const Options *o, L2Kind l2, uint32_t ifindex, const Packet *pk,
	  int big, uint8_t *f)
{
	size_t		n = 0;
	uint16_t	et = packet_ethertype(pk);
	uint16_t	proto = pk->kind == PK_STP ? ETH_P_802_2 : et;

	switch (l2)
	{
		case L2_ETHER:
		case L2_UNKNOWN:
			memcpy(f, pk->dst_mac, 6);
			memcpy(f + 6, pk->src_mac, 6);
			n = 12;
			if (o->has_qinq)
			{
				put_be16(f + n, ETH_8021AD);
				put_be16(f + n + 2, o->qinq_outer);
				put_be16(f + n + 4, ETH_8021Q);
				put_be16(f + n + 6, o->qinq_inner);
				n += 8;
			}
			else if (o->has_vlan)
			{
				put_be16(f + n, ETH_8021Q);
				put_be16(f + n + 2, o->vlan);
				n += 4;
			}
			put_be16(f + n, pk->kind == PK_STP ? (uint16_t) pk->len : et);
			n += 2;
			break;
		case L2_SLL:
			put_be16(f, pk->sll_pkttype);
			put_be16(f + 2, 1);		/* ARPHRD_ETHER */
			put_be16(f + 4, 6);
			memcpy(f + 6, pk->src_mac, 6);
			f[12] = f[13] = 0;
			put_be16(f + 14, proto);
			n = 16;
			break;
		case L2_SLL2:
			put_be16(f, proto);
			put_be16(f + 2, 0);
			put_be32(f + 4, ifindex);
			put_be16(f + 8, 1);		/* ARPHRD_ETHER */
			f[10] = pk->sll_pkttype;
			f[11] = 6;
			memcpy(f + 12, pk->src_mac, 6);
			f[18] = f[19] = 0;
			n = 20;
			break;
		case L2_RAW:
		case L2_RAW4:
		case L2_RAW6:
			n = 0;
			break;
		case L2_NULL:
			/* AF_ value in the capturing host's, i.e. the file's, order */
			put_u32(f, big, pk->kind == PK_IP6 ? 24 : 2);
			n = 4;
			break;
		case L2_LOOP:
			put_be32(f, pk->kind == PK_IP6 ? 24 : 2);
			n = 4;
			break;
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/* ---------------------------------------------------------------------
 * Output (plain or gzip).
 * ---------------------------------------------------------------------
 */

/* Open the output file (or stdout) and set up compression. */
static void
out_open(Out *o, const char *path, int gzip, int level)
{
	memset(o, 0, sizeof(*o));
	if (strcmp(path, "-") == 0)
	{
		o->fp = stdout;
		o->is_stdout = 1;
	}
	else
	{
		o->fp = fopen(path, "wb");
		if (o->fp == NULL)
			die(1, "could not open \"%s\" for writing: %s", path, strerror(errno));
	}
	o->gzip = gzip;
	if (gzip)
	{
		if (deflateInit2(&o->zs, level, Z_DEFLATED, 15 + 16, 8,
						 Z_DEFAULT_STRATEGY) != Z_OK)
			die(1, "could not initialize zlib");
		/* fixed header: no name, mtime 0, OS 3 (Unix), on every machine */
		o->gzh.os = 3;
		if (deflateSetHeader(&o->zs, &o->gzh) != Z_OK)
			die(1, "could not set the gzip header");
	}
}

/* Write the bytes out of the compressor until it has nothing more. */
static void
out_deflate(Out *o, int flush)
{
	int			rc;
	size_t		have;

	do
	{
		o->zs.next_out = o->zbuf;
		o->zs.avail_out = sizeof(o->zbuf);
		rc = deflate(&o->zs, flush);
		if (rc == Z_STREAM_ERROR)
			die(1, "zlib deflate failed");
		have = sizeof(o->zbuf) - o->zs.avail_out;
		if (have > 0 && fwrite(o->zbuf, 1, have, o->fp) != have)
			die(1, "write failed: %s", strerror(errno));
	} while (o->zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* Write bytes to the output. */
static void
out_write(Out *o, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (!o->gzip)
	{
		if (fwrite(p, 1, n, o->fp) != n)
			die(1, "write failed: %s", strerror(errno));
		return;
	}
	o->zs.next_in = (Bytef *) p;
	o->zs.avail_in = (uInt) n;
	out_deflate(o, Z_NO_FLUSH);
}

/* Finish the compressed stream and close the output. */
static void
out_close(Out *o)
{
	if (o->gzip)
	{
		o->zs.next_in = NULL;
		o->zs.avail_in = 0;
		out_deflate(o, Z_FINISH);
		deflateEnd(&o->zs);
	}
	if (o->is_stdout)
	{
		if (fflush(o->fp) != 0)
			die(1, "write failed: %s", strerror(errno));
	}
	else if (fclose(o->fp) != 0)
		die(1, "write failed: %s", strerror(errno));
}

/* ---------------------------------------------------------------------
 * Capture-file structures.
 * ---------------------------------------------------------------------
 */

/* Start a pcapng block; returns its offset in the buffer. */
static size_t
block_begin(Buf *b, int big, uint32_t type)
{
	size_t		start = b->len;

	buf_u32(b, big, type);
	buf_u32(b, big, 0);			/* patched by block_end */
	return start;
}

/* Pad, append the trailing length and patch the leading one. */
static void
block_end(Buf *b, int big, size_t start)
{
	uint32_t	total;

	buf_pad4(b);
	total = (uint32_t) (b->len - start + 4);
	buf_u32(b, big, total);
	put_u32(b->data + start + 4, big, total);
}

/* Append a pcapng option (code, length, value padded to 4). */
static void
opt_put(Buf *b, int big, uint16_t code, const void *val, uint16_t len)
{
	buf_u16(b, big, code);
	buf_u16(b, big, len);
	buf_put(b, val, len);
	buf_pad4(b);
}

/* Section Header Block and one IDB per interface. */
static void
write_section_header(Buf *b, const Options *o, int big)
{
	size_t		start;
	int			i;
	char		name[16];
	uint8_t		v8[8];

	start = block_begin(b, big, BT_SHB);
	buf_u32(b, big, UINT32_C(0x1A2B3C4D));
	buf_u16(b, big, 1);
	buf_u16(b, big, 0);
	buf_u64(b, big, UINT64_MAX);	/* section length not given */
	opt_put(b, big, 4, "mirai_gen", 9); /* shb_userappl */
	opt_put(b, big, 0, NULL, 0);
	block_end(b, big, start);

	for (i = 0; i < o->nifaces; i++)
	{
		start = block_begin(b, big, BT_IDB);
		buf_u16(b, big, (uint16_t) linktypes[o->iface_lt[i]].code);
		buf_u16(b, big, 0);
		buf_u32(b, big, o->snaplen);
		snprintf(name, sizeof(name), "mg%d", i);
		opt_put(b, big, 2, name, (uint16_t) strlen(name));	/* if_name */
		if (o->has_tsresol)
			opt_put(b, big, 9, &o->tsresol, 1);
		if (o->has_tsoffset)
		{
			uint64_t	u = (uint64_t) o->tsoffset;
			int			k;

			for (k = 0; k < 8; k++)
				v8[big ? k : 7 - k] = (uint8_t) (u >> (56 - 8 * k));
			opt_put(b, big, 14, v8, 8);
		}
		opt_put(b, big, 0, NULL, 0);
		block_end(b, big, start);
	}
}

/*
 * Convert a timestamp to pcapng units for the interfaces' if_tsresol and
 * if_tsoffset.  Exits if it cannot be represented.
 */
static uint64_t
pcapng_units(const Options *o, uint64_t sec, uint32_t nsec)
{
	uint8_t		res = o->has_tsresol ? o->tsresol : 6;
	uint64_t	rel;
	uint64_t	hi;
	uint64_t	lo;
	uint64_t	p10;
	int			i;
	int			bits;

	if (o->tsoffset >= 0)
	{
		if (sec < (uint64_t) o->tsoffset)
			die(1, "timestamp %" PRIu64 " is earlier than --tsoffset", sec);
		rel = sec - (uint64_t) o->tsoffset;
	}
	else
		rel = sec + (uint64_t) (-(o->tsoffset + 1)) + 1;

	if (res & 0x80)
	{
		bits = res & 0x7F;
		if (bits > 0 && (rel >> (64 - bits)) != 0)
			die(1, "timestamp does not fit in 64 bits at --tsresol 0x%02x", res);
		hi = rel << bits;
		/* floor(nsec * 2^bits / 1e9) by binary long division */
		lo = 0;
		{
			uint64_t	rem = nsec;

			for (i = 0; i < bits; i++)
			{
				rem <<= 1;
				lo <<= 1;
				if (rem >= NSEC_PER_SEC)
				{
					rem -= NSEC_PER_SEC;
					lo |= 1;
				}
			}
		}
	}
	else
	{
		p10 = 1;
		for (i = 0; i < res; i++)
			p10 *= 10;
		if (rel > UINT64_MAX / p10)
			die(1, "timestamp does not fit in 64 bits at --tsresol %d", res);
		hi = rel * p10;
		if (res <= 9)
		{
			uint64_t	div = 1;

			for (i = res; i < 9; i++)
				div *= 10;
			lo = nsec / div;
		}
		else
		{
			uint64_t	mul = 1;

			for (i = 9; i < res; i++)
				mul *= 10;
			lo = (uint64_t) nsec * mul;
		}
	}
	if (hi > UINT64_MAX - lo)
		die(1, "timestamp does not fit in 64 bits");
	return hi + lo;
}

/* Name Resolution Block, Interface Statistics Block and an unknown block. */
static void
write_extra_blocks(Buf *b, const Options *o, int big, uint64_t ts_units,
				   uint64_t received)
{
	size_t		start;
	static const char host[] = "honeypot.example";
	uint8_t		rec[4 + sizeof(host)];
	uint8_t		v8[8];
	int			k;

	/* unknown block type */
	start = block_begin(b, big, BT_UNKNOWN);
	buf_put(b, "MGEN\x01", 5);
	block_end(b, big, start);

	/* NRB: one IPv4 record, then nrb_record_end */
	start = block_begin(b, big, BT_NRB);
	put_be32(rec, o->dst);
	memcpy(rec + 4, host, sizeof(host));
	buf_u16(b, big, 1);
	buf_u16(b, big, (uint16_t) sizeof(rec));
	buf_put(b, rec, sizeof(rec));
	buf_pad4(b);
	buf_u16(b, big, 0);
	buf_u16(b, big, 0);
	block_end(b, big, start);

	/* ISB for interface 0: isb_ifrecv, isb_ifdrop */
	start = block_begin(b, big, BT_ISB);
	buf_u32(b, big, 0);
	buf_u32(b, big, (uint32_t) (ts_units >> 32));
	buf_u32(b, big, (uint32_t) ts_units);
	for (k = 0; k < 8; k++)
		v8[big ? k : 7 - k] = (uint8_t) (received >> (56 - 8 * k));
	opt_put(b, big, 4, v8, 8);
	memset(v8, 0, 8);
	opt_put(b, big, 5, v8, 8);
	opt_put(b, big, 0, NULL, 0);
	block_end(b, big, start);
}

/*
 * Serialize one packet record (pcap record or pcapng packet block); with
 * epb_flags, an EPB also carries an epb_flags option, as dumpcap writes.
 */
static void
write_record(Buf *b, const Options *o, int big, BlockKind bk, uint32_t ifid,
			 uint64_t sec, uint32_t nsec, const uint8_t *frame,
			 uint32_t caplen, uint32_t wirelen, uint16_t kproto,
			 uint8_t kpkttype, int epb_flags)
{
	size_t		start;
	uint64_t	u;

	if (o->format != FMT_PCAPNG)
	{
		if (sec > UINT32_MAX)
			die(1, "timestamp beyond 2106 cannot be written in pcap");
		buf_u32(b, big, (uint32_t) sec);
		buf_u32(b, big, o->format == FMT_PCAP_NS ? nsec : nsec / 1000);
		if (o->pcap_minor < 3)
		{
			/* old writers swapped caplen and len */
			buf_u32(b, big, wirelen);
			buf_u32(b, big, caplen);
		}
		else
		{
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
		}
		if (o->kuznetzov)
		{
			buf_u32(b, big, 2);		/* ifindex */
			buf_u16(b, 1, kproto);	/* skb->protocol, network order */
			buf_u8(b, kpkttype);
			buf_u8(b, 0);
		}
		buf_put(b, frame, caplen);
		return;
	}

	switch (bk)
	{
		case BLK_SPB:
			start = block_begin(b, big, BT_SPB);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			block_end(b, big, start);
			break;
		case BLK_OPB:
			u = pcapng_units(o, sec, nsec);
			start = block_begin(b, big, BT_OPB);
			buf_u16(b, big, (uint16_t) ifid);
			buf_u16(b, big, 0);		/* drops count */
			buf_u32(b, big, (uint32_t) (u >> 32));
			buf_u32(b, big, (uint32_t) u);
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			block_end(b, big, start);
			break;
		case BLK_EPB:
			u = pcapng_units(o, sec, nsec);
			start = block_begin(b, big, BT_EPB);
			buf_u32(b, big, ifid);
			buf_u32(b, big, (uint32_t) (u >> 32));
			buf_u32(b, big, (uint32_t) u);
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			buf_pad4(b);
			if (epb_flags)
			{
				uint8_t		v4[4];

				/* epb_flags: inbound, unicast */
				put_u32(v4, big, UINT32_C(0x00000005));
				opt_put(b, big, 2, v4, 4);
				opt_put(b, big, 0, NULL, 0);
			}
			block_end(b, big, start);
			break;
	}
}

/* Add one written packet to the counts. */
static void
count_packet(Counts *c, const Packet *pk, L2Kind l2)
{
	const uint8_t *ip = pk->l3;

	if (l2 == L2_UNKNOWN)
	{
		c->skipped++;
		return;
	}
	if (pk->kind == PK_IP4)
	{
		size_t		ihl = (size_t) (ip[0] & 0x0F) * 4;
		uint16_t	frag = get_be16(ip + 6);
		uint8_t		proto = ip[9];

		c->ip4++;
		if (ihl > 20)
			c->ip4_options++;
		if ((frag & 0x3FFF) != 0)
			c->fragments++;
		if (proto == PROTO_TCP)
		{
			c->ip4_tcp++;
			if ((frag & 0x1FFF) == 0 && pk->len >= ihl + 8 &&
				get_be32(ip + ihl + 4) == get_be32(ip + 16) &&
				get_be16(ip + ihl) >= 1025)
				c->mirai++;
		}
		else if (proto == PROTO_UDP)
			c->ip4_udp++;
		else if (proto == PROTO_ICMP)
			c->ip4_icmp++;
	}
	else if (pk->kind == PK_IP6)
	{
		c->ip6++;
		if (ip[6] == PROTO_TCP)
			c->ip6_tcp++;
		else if (ip[6] == PROTO_ICMP6)
			c->ip6_icmp6++;
	}
	else
		c->non_ip++;
}

/* Print the --counts JSON line. */
static void
print_counts(const Counts *c, const Options *o)
{
	int			i;
	int			j;
	int			first = 1;

	fprintf(stderr,
			"{\"records\":%" PRIu64 ",\"ip4\":%" PRIu64 ",\"ip6\":%" PRIu64
			",\"ip4_tcp\":%" PRIu64 ",\"ip4_udp\":%" PRIu64
			",\"ip4_icmp\":%" PRIu64 ",\"ip6_tcp\":%" PRIu64
			",\"ip6_icmp6\":%" PRIu64 ",\"mirai\":%" PRIu64
			",\"non_ip\":%" PRIu64 ",\"fragments\":%" PRIu64
			",\"ip4_options\":%" PRIu64 ",\"skipped\":%" PRIu64
			",\"snapped\":%" PRIu64 ",\"truncated_records\":%" PRIu64
			",\"linktypes\":{",
			c->records, c->ip4, c->ip6, c->ip4_tcp, c->ip4_udp, c->ip4_icmp,
			c->ip6_tcp, c->ip6_icmp6, c->mirai, c->non_ip, c->fragments,
			c->ip4_options, c->skipped, c->snapped, c->truncated);
	for (i = 0; i < NLINKTYPES; i++)
	{
		int			used = 0;

		for (j = 0; j < o->nifaces; j++)
			if (o->iface_lt[j] == i)
				used = 1;
		if (!used)
			continue;
		fprintf(stderr, "%s\"%s\":%" PRIu64, first ? "" : ",",
				linktypes[i].name, c->per_lt[i]);
		first = 0;
	}
	fprintf(stderr, "}}\n");
}

/* ---------------------------------------------------------------------
 * Command line.
 * ---------------------------------------------------------------------
 */

enum
{
	OPT_PACKETS = 1,
	OPT_SEED,
	OPT_FORMAT,
	OPT_GZIP,
	OPT_GZIP_LEVEL,
	OPT_BYTE_ORDER,
	OPT_LINKTYPE,
	OPT_VLAN,
	OPT_QINQ,
	OPT_SNAPLEN,
	OPT_START,
	OPT_RATE,
	OPT_DST,
	OPT_MIRAI,
	OPT_IPV6,
	OPT_FRAG,
	OPT_NONIP,
	OPT_IPOPT,
	OPT_BLOCKS,
	OPT_TSRESOL,
	OPT_TSOFFSET,
	OPT_SECTIONS,
	OPT_UNKNOWN_BLOCKS,
	OPT_PCAP_VERSION,
	OPT_KUZNETZOV,
	OPT_TRUNCATE_LAST,
	OPT_COUNTS,
	OPT_SCHEDULE,
	OPT_OUTPUT,
	OPT_HELP,
	OPT_VERSION
};

typedef struct OptDef
{
	const char *lng;
	char		shrt;
	int			has_arg;
	int			id;
} OptDef;

static const OptDef optdefs[] = {
	{"packets", 'n', 1, OPT_PACKETS},
	{"seed", 's', 1, OPT_SEED},
	{"format", 'f', 1, OPT_FORMAT},
	{"gzip", 'z', 0, OPT_GZIP},
	{"gzip-level", 0, 1, OPT_GZIP_LEVEL},
	{"byte-order", 0, 1, OPT_BYTE_ORDER},
	{"linktype", 'l', 1, OPT_LINKTYPE},
	{"vlan", 0, 1, OPT_VLAN},
	{"qinq", 0, 1, OPT_QINQ},
	{"snaplen", 0, 1, OPT_SNAPLEN},
	{"start", 0, 1, OPT_START},
	{"rate", 0, 1, OPT_RATE},
	{"dst", 0, 1, OPT_DST},
	{"mirai", 0, 1, OPT_MIRAI},
	{"ipv6", 0, 1, OPT_IPV6},
	{"frag", 0, 1, OPT_FRAG},
	{"non-ip", 0, 1, OPT_NONIP},
	{"ip-options", 0, 1, OPT_IPOPT},
	{"pcapng-blocks", 0, 1, OPT_BLOCKS},
	{"tsresol", 0, 1, OPT_TSRESOL},
	{"tsoffset", 0, 1, OPT_TSOFFSET},
	{"sections", 0, 1, OPT_SECTIONS},
	{"unknown-blocks", 0, 0, OPT_UNKNOWN_BLOCKS},
	{"pcap-version", 0, 1, OPT_PCAP_VERSION},
	{"kuznetzov", 0, 0, OPT_KUZNETZOV},
	{"truncate-last", 0, 1, OPT_TRUNCATE_LAST},
	{"counts", 0, 0, OPT_COUNTS},
	{"schedule", 0, 1, OPT_SCHEDULE},
	{"output", 'o', 1, OPT_OUTPUT},
	{"help", 'h', 0, OPT_HELP},
	{"version", 0, 0, OPT_VERSION}
};

#define NOPTDEFS	((int) (sizeof(optdefs) / sizeof(optdefs[0])))

/* Print the usage text. */
static void
usage(void)
{
	printf("%s generates reproducible pcap/pcapng files with Mirai scanner traffic.\n\n"
		   "Usage:\n  %s [OPTION]... -o FILE      (FILE \"-\" = stdout)\n\n"
		   "Options:\n"
		   "  -n, --packets N        number of records (default 1000)\n"
		   "  -s, --seed N           PRNG seed (default 1)\n"
		   "  -f, --format F         pcap | pcap-ns | pcapng (default pcap)\n"
		   "  -z, --gzip             gzip the output\n"
		   "      --gzip-level N     deflate level 0-9 (default 6; implies --gzip)\n"
		   "      --byte-order B     little | big | mixed (pcapng sections alternate)\n"
		   "  -l, --linktype LIST    ether,sll,sll2,raw,raw12,raw14,ipv4,ipv6,null,loop,unknown\n"
		   "      --vlan ID          one 802.1Q tag on Ethernet frames\n"
		   "      --qinq OUTER,INNER 802.1ad + 802.1Q tags on Ethernet frames\n"
		   "      --snaplen N        snapshot length (default 65535)\n"
		   "      --start T          first timestamp, Unix seconds[.fraction] (default 1734134400)\n"
		   "      --rate R           mean packets per second (default 100)\n"
		   "      --dst ADDR         honeypot IPv4 address (default 203.0.113.7)\n"
		   "      --mirai F          fraction of Mirai scanner packets (default 0.7)\n"
		   "      --ipv6 F           fraction of IPv6 among non-Mirai packets (default 0.05)\n"
		   "      --frag F           fraction of non-Mirai IPv4 packets fragmented (default 0.01)\n"
		   "      --non-ip F         fraction of ARP/STP/LLDP frames (default 0.02)\n"
		   "      --ip-options F     fraction of IPv4 packets with options (default 0.01)\n"
		   "      --pcapng-blocks M  pcapng: rotation of epb,spb,opb (default epb)\n"
		   "      --tsresol V        pcapng: if_tsresol byte (e.g. 6, 9, 0x8a)\n"
		   "      --tsoffset S       pcapng: if_tsoffset in seconds\n"
		   "      --sections K       pcapng: number of sections (default 1)\n"
		   "      --unknown-blocks   pcapng: add unknown, NRB and ISB blocks\n"
		   "      --pcap-version V   pcap: 2.4 (default), 2.3, 2.2, 2.1, 2.0\n"
		   "      --kuznetzov        pcap: Kuznetzov's modified format\n"
		   "      --truncate-last N  cut the last record short by N bytes\n"
		   "      --counts           print exact counts as JSON on stderr\n"
		   "      --schedule FILE    time windows with exact record counts and exact Mirai\n"
		   "                         packets per source (replaces -n, --start, --rate, --mirai)\n"
		   "  -o, --output FILE      output file\n"
		   "  -h, --help             show this help\n"
		   "      --version          show the version\n"
		   "\nSchedule file (--schedule): '#' starts a comment; each window is a line\n"
		   "  window START END RECORDS\n"
		   "followed by lines\n"
		   "  IPV4-ADDRESS COUNT\n"
		   "START and END are Unix seconds[.fraction], windows in time order, not\n"
		   "overlapping.  The window gets exactly RECORDS records, their times drawn\n"
		   "uniformly in [START, END) and sorted; exactly COUNT of them are Mirai\n"
		   "packets from each listed address, in random order; the others are\n"
		   "non-Mirai traffic (--ipv6, --frag, --non-ip, --ip-options apply).\n",
		   PROGNAME, PROGNAME);
}

/* Parse an unsigned decimal or 0x-hex number. */
static uint64_t
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	char	   *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		die(EXIT_USAGE, "invalid value \"%s\" for %s", s, opt);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		die(EXIT_USAGE, "invalid value \"%s\" for %s", s, opt);
	if ((uint64_t) v < min || (uint64_t) v > max)
		die(EXIT_USAGE, "value %s for %s is out of range (%" PRIu64 "..%" PRIu64 ")",
			s, opt, min, max);
	return (uint64_t) v;
}

/* Parse a fraction in [0,1] into a probability scaled by 2^32. */
static uint64_t
parse_fraction(const char *opt, const char *s)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || errno != 0 || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		die(EXIT_USAGE, "invalid fraction \"%s\" for %s (expected 0..1)", s, opt);
	return (uint64_t) (v * 4294967296.0);
}

/* Parse a dotted-quad IPv4 address for an option. */
static uint32_t
parse_ip4(const char *opt, const char *s)
{
	uint32_t	a;

	if (!parse_ip4_text(s, &a))
		die(EXIT_USAGE, "invalid IPv4 address \"%s\" for %s", s, opt);
	return a;
}

/* Parse --start's "SECONDS[.FRACTION]" exactly into seconds and nanoseconds. */
static void
parse_start(const char *s, uint64_t *sec, uint32_t *nsec)
{
	if (!parse_time(s, sec, nsec))
		die(EXIT_USAGE, "invalid --start \"%s\" (expected Unix seconds[.fraction], at most 4294967286)", s);
}

/* Parse the comma-separated link type list. */
static void
parse_linktypes(Options *o, const char *s)
{
	const char *p = s;

	o->nifaces = 0;
	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);
		int			i;
		int			found = -1;

		for (i = 0; i < NLINKTYPES; i++)
			if (strlen(linktypes[i].name) == len &&
				strncmp(linktypes[i].name, p, len) == 0)
				found = i;
		if (found < 0)
			die(EXIT_USAGE, "unknown link type \"%.*s\" in --linktype", (int) len, p);
		if (o->nifaces >= MAX_IFACES)
			die(EXIT_USAGE, "too many link types (at most %d)", MAX_IFACES);
		o->iface_lt[o->nifaces++] = found;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

/* Parse the pcapng block rotation. */
static void
parse_blocks(Options *o, const char *s)
{
	const char *p = s;

	o->nblocks = 0;
	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);
		BlockKind	bk = BLK_EPB;

		if (len == 3 && strncmp(p, "epb", 3) == 0)
			bk = BLK_EPB;
		else if (len == 3 && strncmp(p, "spb", 3) == 0)
			bk = BLK_SPB;
		else if (len == 3 && strncmp(p, "opb", 3) == 0)
			bk = BLK_OPB;
		else
			die(EXIT_USAGE, "unknown block type \"%.*s\" in --pcapng-blocks (epb, spb, opb)",
				(int) len, p);
		if (o->nblocks >= MAX_BLOCKMIX)
			die(EXIT_USAGE, "too many entries in --pcapng-blocks (at most %d)", MAX_BLOCKMIX);
		o->blocks[o->nblocks++] = bk;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

/* Apply one option with its argument (or NULL). */
static void
apply_option(Options *o, const OptDef *d, const char *arg)
{
	switch (d->id)
	{
		case OPT_PACKETS:
			o->npackets = parse_u64("--packets", arg, 0, UINT64_C(1) << 40);
			o->given_packets = 1;
			break;
		case OPT_SEED:
			o->seed = parse_u64("--seed", arg, 0, UINT64_MAX);
			break;
		case OPT_FORMAT:
			if (strcmp(arg, "pcap") == 0)
				o->format = FMT_PCAP;
			else if (strcmp(arg, "pcap-ns") == 0)
				o->format = FMT_PCAP_NS;
			else if (strcmp(arg, "pcapng") == 0)
				o->format = FMT_PCAPNG;
			else
				die(EXIT_USAGE, "unknown format \"%s\" (pcap, pcap-ns, pcapng)", arg);
			break;
		case OPT_GZIP:
			o->gzip = 1;
			break;
		case OPT_GZIP_LEVEL:
			o->gzip_level = (int) parse_u64("--gzip-level", arg, 0, 9);
			o->gzip = 1;
			break;
		case OPT_BYTE_ORDER:
			if (strcmp(arg, "little") == 0)
				o->byte_order = BO_LITTLE;
			else if (strcmp(arg, "big") == 0)
				o->byte_order = BO_BIG;
			else if (strcmp(arg, "mixed") == 0)
				o->byte_order = BO_MIXED;
			else
				die(EXIT_USAGE, "unknown byte order \"%s\" (little, big, mixed)", arg);
			break;
		case OPT_LINKTYPE:
			parse_linktypes(o, arg);
			break;
		case OPT_VLAN:
			o->has_vlan = 1;
			o->vlan = (uint16_t) parse_u64("--vlan", arg, 0, 4095);
			break;
		case OPT_QINQ:
			{
				const char *comma = strchr(arg, ',');
				char		outer[32];

				if (comma == NULL || (size_t) (comma - arg) >= sizeof(outer))
					die(EXIT_USAGE, "invalid --qinq \"%s\" (expected OUTER,INNER)", arg);
				memcpy(outer, arg, (size_t) (comma - arg));
				outer[comma - arg] = '\0';
				o->has_qinq = 1;
				o->qinq_outer = (uint16_t) parse_u64("--qinq", outer, 0, 4095);
				o->qinq_inner = (uint16_t) parse_u64("--qinq", comma + 1, 0, 4095);
			}
			break;
		case OPT_SNAPLEN:
			o->snaplen = (uint32_t) parse_u64("--snaplen", arg, 1, MAX_SNAPLEN);
			break;
		case OPT_START:
			parse_start(arg, &o->start_sec, &o->start_nsec);
			o->given_start = 1;
			break;
		case OPT_RATE:
			{
				char	   *end;
				double		v;

				errno = 0;
				v = strtod(arg, &end);
				if (*arg == '\0' || errno != 0 || *end != '\0' ||
					!(v >= 0.001 && v <= 1e9))
					die(EXIT_USAGE, "invalid --rate \"%s\" (expected 0.001..1e9)", arg);
				o->mean_ns = (uint64_t) (1e9 / v + 0.5);
				if (o->mean_ns == 0)
					o->mean_ns = 1;
				o->given_rate = 1;
			}
			break;
		case OPT_DST:
			o->dst = parse_ip4("--dst", arg);
			break;
		case OPT_MIRAI:
			o->p_mirai = parse_fraction("--mirai", arg);
			o->given_mirai = 1;
			break;
		case OPT_IPV6:
			o->p_ipv6 = parse_fraction("--ipv6", arg);
			break;
		case OPT_FRAG:
			o->p_frag = parse_fraction("--frag", arg);
			break;
		case OPT_NONIP:
			o->p_nonip = parse_fraction("--non-ip", arg);
			break;
		case OPT_IPOPT:
			o->p_ipopt = parse_fraction("--ip-options", arg);
			break;
		case OPT_BLOCKS:
			parse_blocks(o, arg);
			o->given_blocks = 1;
			break;
		case OPT_TSRESOL:
			{
				uint64_t	v = parse_u64("--tsresol", arg, 0, 255);

				if ((v & 0x80) == 0 && v > 19)
					die(EXIT_USAGE, "--tsresol %s: decimal resolution must be at most 19", arg);
				o->has_tsresol = 1;
				o->tsresol = (uint8_t) v;
			}
			break;
		case OPT_TSOFFSET:
			{
				char	   *end;
				long long	v;

				errno = 0;
				v = strtoll(arg, &end, 10);
				if (*arg == '\0' || errno != 0 || *end != '\0' ||
					v < -INT64_C(100000000000) || v > INT64_C(100000000000))
					die(EXIT_USAGE, "invalid --tsoffset \"%s\" (seconds, |S| <= 1e11)", arg);
				o->has_tsoffset = 1;
				o->tsoffset = (int64_t) v;
			}
			break;
		case OPT_SECTIONS:
			o->sections = parse_u64("--sections", arg, 1, 1000000);
			o->given_sections = 1;
			break;
		case OPT_UNKNOWN_BLOCKS:
			o->unknown_blocks = 1;
			break;
		case OPT_PCAP_VERSION:
			if (strlen(arg) == 3 && arg[0] == '2' && arg[1] == '.' &&
				arg[2] >= '0' && arg[2] <= '4')
				o->pcap_minor = arg[2] - '0';
			else
				die(EXIT_USAGE, "unsupported --pcap-version \"%s\" (2.0 .. 2.4)", arg);
			o->given_version = 1;
			break;
		case OPT_KUZNETZOV:
			o->kuznetzov = 1;
			break;
		case OPT_TRUNCATE_LAST:
			o->truncate_last = parse_u64("--truncate-last", arg, 0, UINT32_MAX);
			break;
		case OPT_COUNTS:
			o->counts = 1;
			break;
		case OPT_SCHEDULE:
			o->schedule = arg;
			break;
		case OPT_OUTPUT:
			o->outpath = arg;
			break;
		case OPT_HELP:
			usage();
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", PROGNAME, PROGVERSION);
			exit(0);
	}
}

/* Parse argv into the options, with defaults. */
static void
parse_args(Options *o, int argc, char **argv)
{
	int			i;
	int			k;

	memset(o, 0, sizeof(*o));
	o->npackets = 1000;
	o->seed = 1;
	o->format = FMT_PCAP;
	o->gzip_level = 6;
	o->byte_order = BO_LITTLE;
	o->nifaces = 1;
	o->iface_lt[0] = 0;
	o->snaplen = 65535;
	o->start_sec = UINT64_C(1734134400);
	o->start_nsec = 0;
	o->mean_ns = NSEC_PER_SEC / 100;
	o->dst = (UINT32_C(203) << 24) | (UINT32_C(0) << 16) | (UINT32_C(113) << 8) | 7;
	o->p_mirai = (uint64_t) (0.7 * 4294967296.0);
	o->p_ipv6 = (uint64_t) (0.05 * 4294967296.0);
	o->p_frag = (uint64_t) (0.01 * 4294967296.0);
	o->p_nonip = (uint64_t) (0.02 * 4294967296.0);
	o->p_ipopt = (uint64_t) (0.01 * 4294967296.0);
	o->nblocks = 1;
	o->blocks[0] = BLK_EPB;
	o->sections = 1;
	o->pcap_minor = 4;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
		{
			if (i + 1 < argc)
				die(EXIT_USAGE, "unexpected argument \"%s\"", argv[i + 1]);
			break;
		}
		if (a[0] == '-' && a[1] == '-')
		{
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t		nlen = eq ? (size_t) (eq - name) : strlen(name);
			const OptDef *d = NULL;

			for (k = 0; k < NOPTDEFS; k++)
				if (strlen(optdefs[k].lng) == nlen &&
					strncmp(optdefs[k].lng, name, nlen) == 0)
					d = &optdefs[k];
			if (d == NULL)
				die(EXIT_USAGE, "unknown option \"%s\"", a);
			if (d->has_arg)
			{
				if (eq)
					apply_option(o, d, eq + 1);
				else if (i + 1 < argc)
					apply_option(o, d, argv[++i]);
				else
					die(EXIT_USAGE, "option \"--%s\" requires a value", d->lng);
			}
			else
			{
				if (eq)
					die(EXIT_USAGE, "option \"--%s\" takes no value", d->lng);
				apply_option(o, d, NULL);
			}
		}
		else if (a[0] == '-' && a[1] != '\0')
		{
			const char *p = a + 1;

			while (*p)
			{
				const OptDef *d = NULL;

				for (k = 0; k < NOPTDEFS; k++)
					if (optdefs[k].shrt != 0 && optdefs[k].shrt == *p)
						d = &optdefs[k];
				if (d == NULL)
					die(EXIT_USAGE, "unknown option \"-%c\"", *p);
				if (d->has_arg)
				{
					if (p[1] != '\0')
						apply_option(o, d, p + 1);
					else if (i + 1 < argc)
						apply_option(o, d, argv[++i]);
					else
						die(EXIT_USAGE, "option \"-%c\" requires a value", *p);
					break;
				}
				apply_option(o, d, NULL);
				p++;
			}
		}
		else
			die(EXIT_USAGE, "unexpected argument \"%s\"", a);
	}
}

/* Check option combinations. */
static void
validate(const Options *o)
{
	int			i;
	int			has_ether = 0;

	if (o->outpath == NULL)
		die(EXIT_USAGE, "no output file given (use -o FILE, or -o - for stdout)");
	if (o->format != FMT_PCAPNG)
	{
		if (o->nifaces != 1)
			die(EXIT_USAGE, "pcap files have exactly one link type; got %d in --linktype",
				o->nifaces);
		if (o->byte_order == BO_MIXED)
			die(EXIT_USAGE, "--byte-order mixed is for pcapng only");
		if (o->given_blocks)
			die(EXIT_USAGE, "--pcapng-blocks is for pcapng only");
		if (o->has_tsresol)
			die(EXIT_USAGE, "--tsresol is for pcapng only");
		if (o->has_tsoffset)
			die(EXIT_USAGE, "--tsoffset is for pcapng only");
		if (o->given_sections)
			die(EXIT_USAGE, "--sections is for pcapng only");
		if (o->unknown_blocks)
			die(EXIT_USAGE, "--unknown-blocks is for pcapng only");
		if (o->kuznetzov && o->format == FMT_PCAP_NS)
			die(EXIT_USAGE, "--kuznetzov files have microsecond timestamps; use -f pcap");
	}
	else
	{
		if (o->given_version)
			die(EXIT_USAGE, "--pcap-version is for pcap only");
		if (o->kuznetzov)
			die(EXIT_USAGE, "--kuznetzov is for pcap only");
		for (i = 0; i < o->nblocks; i++)
			if (o->blocks[i] == BLK_SPB && o->nifaces != 1)
				die(EXIT_USAGE, "spb in --pcapng-blocks needs exactly one interface");
	}
	for (i = 0; i < o->nifaces; i++)
		if (linktypes[o->iface_lt[i]].l2 == L2_ETHER ||
			linktypes[o->iface_lt[i]].l2 == L2_UNKNOWN)
			has_ether = 1;
	if (o->has_vlan && o->has_qinq)
		die(EXIT_USAGE, "--vlan and --qinq are mutually exclusive");
	if ((o->has_vlan || o->has_qinq) && !has_ether)
		die(EXIT_USAGE, "--vlan and --qinq need an Ethernet link type (ether)");
	if (o->schedule != NULL)
	{
		if (o->given_packets || o->given_start || o->given_rate || o->given_mirai)
			die(EXIT_USAGE, "--schedule gives the records, their times and the Mirai packets; "
				"do not combine it with --packets, --start, --rate or --mirai");
		for (i = 0; i < o->nifaces; i++)
			if (!l2_allows(linktypes[o->iface_lt[i]].l2, PK_IP4) ||
				linktypes[o->iface_lt[i]].l2 == L2_UNKNOWN)
				die(EXIT_USAGE, "--schedule needs link types that carry IPv4 (not %s)",
					linktypes[o->iface_lt[i]].name);
	}
}

/* Set up the per-run constants drawn from the PRNG. */
static void
gen_init(Gen *g, const Options *o)
{
	int			i;

	memset(g, 0, sizeof(*g));
	g->opt = o;
	rng_seed(&g->rng, o->seed);
	for (i = 0; i < SCANNER_POOL; i++)
		g->scanners[i] = rand_public_ip4(&g->rng, o->dst);
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
}

/* Byte order of a section: 1 for big-endian. */
static int
section_big(const Options *o, uint64_t s)
{
	if (o->byte_order == BO_MIXED)
		return (int) (s & 1);
	return o->byte_order == BO_BIG;
}

/* Generate the capture file described by the command line. */
int
main(int argc, char **argv)
{
	Options		opt;
	Gen		   *g;
	Packet	   *pk;
	Packet	   *pending;
	int			have_pending = 0;
	Out		   *out;
	Buf			b = {NULL, 0, 0};
	Counts		c;
	Sched		sched;
	uint8_t    *frame;
	uint64_t	nsections;
	uint64_t	s;
	uint64_t	i;
	uint64_t	sec;
	uint32_t	nsec;

	parse_args(&opt, argc, argv);
	validate(&opt);

	g = malloc(sizeof(Gen));
	pk = malloc(sizeof(Packet));
	pending = malloc(sizeof(Packet));
	out = malloc(sizeof(Out));
	frame = malloc(MAX_FRAME);
	if (g == NULL || pk == NULL || pending == NULL || out == NULL || frame == NULL)
		die(1, "out of memory");
	memset(&c, 0, sizeof(c));
	memset(&sched, 0, sizeof(sched));
	if (opt.schedule != NULL)
		opt.npackets = sched_load(&sched, opt.schedule, opt.dst);
	gen_init(g, &opt);
	out_open(out, opt.outpath, opt.gzip, opt.gzip_level);

	if (opt.format != FMT_PCAPNG)
	{
		int			big = opt.byte_order == BO_BIG;
		uint32_t	magic;

		if (opt.kuznetzov)
			magic = UINT32_C(0xA1B2CD34);
		else if (opt.format == FMT_PCAP_NS)
			magic = UINT32_C(0xA1B23C4D);
		else
			magic = UINT32_C(0xA1B2C3D4);
		buf_u32(&b, big, magic);
		buf_u16(&b, big, 2);
		buf_u16(&b, big, (uint16_t) opt.pcap_minor);
		buf_u32(&b, big, 0);	/* thiszone */
		buf_u32(&b, big, 0);	/* sigfigs */
		buf_u32(&b, big, opt.snaplen);
		buf_u32(&b, big, linktypes[opt.iface_lt[0]].code);
		out_write(out, b.data, b.len);
		b.len = 0;
	}

	nsections = opt.format == FMT_PCAPNG ? opt.sections : 1;
	sec = opt.start_sec;
	nsec = opt.start_nsec;
	for (s = 0; s < nsections; s++)
	{
		uint64_t	per = opt.npackets / nsections;
		uint64_t	extra = opt.npackets % nsections;
		uint64_t	first = s * per + (s < extra ? s : extra);
		uint64_t	last = first + per + (s < extra ? 1 : 0);
		int			big = section_big(&opt, s);

		if (opt.format == FMT_PCAPNG)
		{
			write_section_header(&b, &opt, big);
			out_write(out, b.data, b.len);
			b.len = 0;
		}
		for (i = first; i < last; i++)
		{
			uint32_t	ifid = (uint32_t) (i % (uint64_t) opt.nifaces);
			int			lt = opt.iface_lt[ifid];
			L2Kind		l2 = linktypes[lt].l2;
			size_t		flen;
			uint32_t	caplen;
			uint64_t	delta;
			int			truncated = 0;

			if (opt.schedule != NULL)
				sched_next_time(g, &sched, &sec, &nsec);
			if (have_pending)
			{
				Packet	   *t = pk;

				pk = pending;
				pending = t;
				have_pending = 0;
			}
			else
			{
				int			can_frag = 0;

				if (i + 1 < opt.npackets)
				{
					int			nlt = opt.iface_lt[(i + 1) % (uint64_t) opt.nifaces];

					can_frag = l2_allows(linktypes[nlt].l2, PK_IP4);
				}
				if (opt.schedule != NULL)
				{
					if (gen_packet_sched(g, &sched, l2, can_frag, pk, pending) == 2)
						have_pending = 1;
				}
				else if (gen_packet(g, l2, can_frag, pk, pending) == 2)
					have_pending = 1;
			}

			flen = encap(&opt, l2, 2, pk, big, frame);
			caplen = flen > opt.snaplen ? opt.snaplen : (uint32_t) flen;
			write_record(&b, &opt, big, opt.blocks[i % (uint64_t) opt.nblocks],
						 ifid, sec, nsec, frame, caplen, (uint32_t) flen,
						 pk->kind == PK_STP ? ETH_P_802_2 : packet_ethertype(pk),
						 pk->sll_pkttype, i % 5 == 4);
			if (i + 1 == opt.npackets && opt.truncate_last > 0)
			{
				uint64_t	cut = opt.truncate_last;

				if (cut > b.len - 1)
					cut = b.len - 1;
				b.len -= (size_t) cut;
				truncated = 1;
			}
			out_write(out, b.data, b.len);
			b.len = 0;

			if (truncated)
				c.truncated++;
			else
			{
				c.records++;
				c.per_lt[lt]++;
				if (caplen < flen)
					c.snapped++;
				count_packet(&c, pk, l2);
			}

			if (opt.format == FMT_PCAPNG && opt.unknown_blocks &&
				i == first && i + 1 < last)
			{
				write_extra_blocks(&b, &opt, big, pcapng_units(&opt, sec, nsec),
								   i + 1);
				out_write(out, b.data, b.len);
				b.len = 0;
			}

			/* next timestamp */
			if (opt.schedule != NULL)
			{
				sched.done++;
				continue;
			}
			delta = rng_exp_ns(&g->rng, opt.mean_ns);
			sec += delta / NSEC_PER_SEC;
			nsec += (uint32_t) (delta % NSEC_PER_SEC);
			if (nsec >= NSEC_PER_SEC)
			{
				nsec -= (uint32_t) NSEC_PER_SEC;
				sec++;
			}
		}
	}

	out_close(out);
	if (opt.counts)
		print_counts(&c, &opt);
	free(sched.w);
	free(sched.src_addr);
	free(sched.src_count);
	free(sched.offs);
	free(sched.mirai_src);
	free(b.data);
	free(frame);
	free(out);
	free(pending);
	free(pk);
	free(g);
	return 0;
}
