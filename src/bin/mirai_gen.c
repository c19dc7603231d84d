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
 *	skipped			records on the "unknown" link type (147) and Ethernet
 *					frames in encrypted MACsec (--macsec encrypted); a
 *					decoder must skip them, so they are in none of the
 *					counts above except records and linktypes
 *	snapped			records whose captured length was cut by --snaplen (the
 *					counts above are about the packets as generated, before
 *					that cut)
 *	truncated_records	1 if the last record was cut by --truncate-last
 *	linktypes		object: records per link-type name of --linktype
 *	scanners		object: records per tool that --scanners imitates
 *					(gen_tools.c), and backscatter: the SYN-ACK and RST
 *					replies among the other IPv4 traffic
 *
 * This file holds the command line, the counts and the main loop; gen.h
 * names the other parts (PRNG, packets, traffic models, schedule, link
 * layers, file formats).  Build: `make src/bin/mirai_gen`.
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

#include "gen.h"

/* Print an error message and exit with the given status. */
void
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

/* Add one written packet to the counts. */
static void
count_packet(Counts *c, const Options *o, const Packet *pk, L2Kind l2)
{
	const uint8_t *ip = pk->l3;

	if (l2 == L2_UNKNOWN ||
		(l2 == L2_ETHER && o->macsec == MACSEC_ENCRYPTED && pk->kind != PK_STP))
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
	c->scanners[pk->scanner]++;
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
	for (i = 0; i < nlinktypes; i++)
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
	fprintf(stderr, "},\"scanners\":{");
	for (i = GS_NONE + 1; i < GS_N; i++)
		fprintf(stderr, "%s\"%s\":%" PRIu64, i == GS_NONE + 1 ? "" : ",",
				gen_scanner_names[i], c->scanners[i]);
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
	OPT_PPPOE,
	OPT_MPLS,
	OPT_PBB,
	OPT_VNTAG,
	OPT_ARISTA,
	OPT_MACSEC,
	OPT_NSH,
	OPT_LINK_VARIANTS,
	OPT_SNAPLEN,
	OPT_START,
	OPT_RATE,
	OPT_DST,
	OPT_MIRAI,
	OPT_IPV6,
	OPT_FRAG,
	OPT_NONIP,
	OPT_IPOPT,
	OPT_SCANNERS,
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
	{"pppoe", 0, 1, OPT_PPPOE},
	{"mpls", 0, 1, OPT_MPLS},
	{"pbb", 0, 1, OPT_PBB},
	{"vntag", 0, 1, OPT_VNTAG},
	{"arista", 0, 0, OPT_ARISTA},
	{"macsec", 0, 1, OPT_MACSEC},
	{"nsh", 0, 0, OPT_NSH},
	{"link-variants", 0, 0, OPT_LINK_VARIANTS},
	{"snaplen", 0, 1, OPT_SNAPLEN},
	{"start", 0, 1, OPT_START},
	{"rate", 0, 1, OPT_RATE},
	{"dst", 0, 1, OPT_DST},
	{"mirai", 0, 1, OPT_MIRAI},
	{"ipv6", 0, 1, OPT_IPV6},
	{"frag", 0, 1, OPT_FRAG},
	{"non-ip", 0, 1, OPT_NONIP},
	{"ip-options", 0, 1, OPT_IPOPT},
	{"scanners", 0, 1, OPT_SCANNERS},
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
		   "  -l, --linktype LIST    ether,sll,sll2,raw,raw12,raw14,ipv4,ipv6,null,loop,\n"
		   "                         ppp,ppp-hdlc,chdlc,frelay,fddi,arcnet,arcnet-bsd,wlan,\n"
		   "                         radiotap,ppi,pktap,ipnet,nflog,ipoib,unknown\n"
		   "      --vlan ID          one 802.1Q tag on Ethernet frames\n"
		   "      --qinq OUTER,INNER 802.1ad + 802.1Q tags on Ethernet frames\n"
		   "      --pppoe SESSION    IP in PPPoE sessions on Ethernet (with discovery and LCP)\n"
		   "      --mpls L1[,L2...]  IP behind an MPLS label stack (Ethernet, PPP, Cisco HDLC)\n"
		   "      --pbb ISID         802.1ah: Ethernet frames inside a backbone frame\n"
		   "      --vntag VIF        a VN-Tag on Ethernet frames\n"
		   "      --arista           Arista's time-stamp header on Ethernet frames\n"
		   "      --macsec MODE      MACsec (802.1AE) on Ethernet frames: integ (in\n"
		   "                         the clear) or encrypted\n"
		   "      --nsh              NSH (RFC 8300) before IP packets on Ethernet\n"
		   "      --link-variants    also the framings libpcap's filters do not follow\n"
		   "                         (PPP compression and octet stuffing, ...)\n"
		   "      --snaplen N        snapshot length (default 65535)\n"
		   "      --start T          first timestamp, Unix seconds[.fraction] (default 1734134400)\n"
		   "      --rate R           mean packets per second (default 100)\n"
		   "      --dst ADDR         honeypot IPv4 address (default 203.0.113.7)\n"
		   "      --mirai F          fraction of Mirai scanner packets (default 0.7)\n"
		   "      --ipv6 F           fraction of IPv6 among non-Mirai packets (default 0.05)\n"
		   "      --frag F           fraction of non-Mirai IPv4 packets fragmented (default 0.01)\n"
		   "      --non-ip F         fraction of ARP/STP/LLDP frames (default 0.02)\n"
		   "      --ip-options F     fraction of IPv4 packets with options (default 0.01)\n"
		   "      --scanners F       fraction of non-Mirai IPv4 packets that are probes of\n"
		   "                         ZMap, ZMap 4.1, Masscan, Nmap, Unicornscan (default 0)\n"
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

		for (i = 0; i < nlinktypes; i++)
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
		case OPT_PPPOE:
			o->has_pppoe = 1;
			o->pppoe_session = (uint16_t) parse_u64("--pppoe", arg, 0, 65535);
			break;
		case OPT_MPLS:
			{
				const char *p = arg;

				o->nmpls = 0;
				for (;;)
				{
					const char *comma = strchr(p, ',');
					size_t		len = comma ? (size_t) (comma - p) : strlen(p);
					char		label[32];

					if (len == 0 || len >= sizeof(label))
						die(EXIT_USAGE, "invalid --mpls \"%s\" (expected LABEL[,LABEL...])", arg);
					if (o->nmpls >= MAX_MPLS)
						die(EXIT_USAGE, "too many labels in --mpls (at most %d)", MAX_MPLS);
					memcpy(label, p, len);
					label[len] = '\0';
					o->mpls[o->nmpls++] = (uint32_t) parse_u64("--mpls", label, 0, 1048575);
					if (comma == NULL)
						break;
					p = comma + 1;
				}
			}
			break;
		case OPT_PBB:
			o->has_pbb = 1;
			o->pbb_isid = (uint32_t) parse_u64("--pbb", arg, 0, 16777215);
			break;
		case OPT_VNTAG:
			o->has_vntag = 1;
			o->vntag_vif = (uint16_t) parse_u64("--vntag", arg, 0, 16383);
			break;
		case OPT_ARISTA:
			o->has_arista = 1;
			break;
		case OPT_MACSEC:
			if (strcmp(arg, "integ") == 0)
				o->macsec = MACSEC_INTEG;
			else if (strcmp(arg, "encrypted") == 0)
				o->macsec = MACSEC_ENCRYPTED;
			else
				die(EXIT_USAGE, "invalid value \"%s\" for --macsec (integ or encrypted)", arg);
			break;
		case OPT_NSH:
			o->has_nsh = 1;
			break;
		case OPT_LINK_VARIANTS:
			o->link_variants = 1;
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
		case OPT_SCANNERS:
			o->p_scanners = parse_fraction("--scanners", arg);
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
	if ((o->has_pppoe || o->has_pbb || o->has_vntag || o->has_arista ||
		 o->macsec || o->has_nsh) && !has_ether)
		die(EXIT_USAGE, "--pppoe, --pbb, --vntag, --arista, --macsec and --nsh need an Ethernet link type (ether)");
	if (o->nmpls > 0)
	{
		int			has_mpls_link = 0;

		for (i = 0; i < o->nifaces; i++)
		{
			L2Kind		l2 = linktypes[o->iface_lt[i]].l2;

			if (l2 == L2_ETHER || l2 == L2_PPP || l2 == L2_PPP_HDLC || l2 == L2_CHDLC)
				has_mpls_link = 1;
		}
		if (!has_mpls_link)
			die(EXIT_USAGE, "--mpls needs Ethernet, PPP or Cisco HDLC (ether, ppp, ppp-hdlc, chdlc)");
	}
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
		write_pcap_header(&b, &opt);
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

				pk->scanner = GS_NONE;
				pending->scanner = GS_NONE;
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

			flen = encap(&opt, l2, 2, pk, big, i, frame);
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
				count_packet(&c, &opt, pk, l2);
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
