/*-------------------------------------------------------------------------
 *
 * gen_link.c
 *	  mirai_gen's link-layer framing: one encoder per link type, and the
 *	  encapsulations inside Ethernet (Arista's time stamp, VN-Tag, VLAN
 *	  tags, MACsec, 802.1ah PBB, PPPoE sessions, MPLS label stacks, NSH).
 *
 * A Packet (gen_traffic.c) is an IP packet, an ARP, STP or LLDP frame's
 * payload, or PK_CTRL: a link's own control frame, which the link type's
 * encoder writes here (PPP LCP and IPCP, PPPoE discovery, Cisco SLARP and
 * CDP, FDDI SMT, 802.11 management, control, null and encrypted data
 * frames).  What varies from record to record is chosen by the record's
 * number, not by the PRNG, so that a framing option changes no packet.
 *
 * By default every frame is one that libpcap's filters read right (so that
 * tcpdump's counts check the generator); --link-variants adds the framings
 * that libpcap's filters do not follow: PPP without address and control
 * field, with a one-byte protocol, in octet-stuffed HDLC framing; Cisco
 * framing in PPP_HDLC; ARCNET's RFC 1051 and exception headers; 802.11
 * +HTC and CF-Ack data frames, bridge-tunnel and RFC 948 LLC, radiotap's
 * data padding; PPI and PKTAP around other link types; more NFLOG TLVs;
 * MPLS's explicit null labels and multicast type; Frame Relay's Cisco
 * framing and IP behind SNAP.
 *
 * The headers follow libpcap's pcap/dlt.h and the linktypes pages of
 * tcpdump.org; tcpdump's and Wireshark's dissectors read every variant.
 *
 * src/bin/gen_link.c
 *
 *-------------------------------------------------------------------------
 */
#include "gen.h"

const LinkTypeDef linktypes[] = {
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
	{"ppp", 9, L2_PPP},
	{"ppp-hdlc", 50, L2_PPP_HDLC},
	{"chdlc", 104, L2_CHDLC},
	{"frelay", 107, L2_FRELAY},
	{"fddi", 10, L2_FDDI},
	{"arcnet-bsd", 7, L2_ARCNET_BSD},
	{"arcnet", 129, L2_ARCNET_LINUX},
	{"wlan", 105, L2_WLAN},
	{"radiotap", 127, L2_RADIOTAP},
	{"ppi", 192, L2_PPI},
	{"pktap", 258, L2_PKTAP},
	{"ipnet", 226, L2_IPNET},
	{"nflog", 239, L2_NFLOG},
	{"ipoib", 242, L2_IPOIB},
	{"unknown", 147, L2_UNKNOWN}
};

const int	nlinktypes = (int) (sizeof(linktypes) / sizeof(linktypes[0]));

/* Ethernet types and PPP protocols of the encapsulations */
#define ETH_PPPOE_DISC	0x8863
#define ETH_PPPOE_SESS	0x8864
#define ETH_MPLS		0x8847
#define ETH_PBB			0x88e7
#define ETH_VNTAG		0x8926
#define ETH_ARISTA		0xd28b
#define ETH_MACSEC		0x88e5
#define ETH_NSH			0x894f
#define PPP_IP			0x0021
#define PPP_IPV6		0x0057
#define PPP_MPLS		0x0281
#define PPP_MPLS_MULTI	0x0283
#define ETH_MPLS_MULTI	0x8848
#define PPP_IPCP		0x8021
#define PPP_LCP			0xc021

/* The wireless access point's and a WDS peer's addresses (802.11) */
static const uint8_t bssid[6] = {0x00, 0x1B, 0x54, 0x57, 0x4C, 0x01};
static const uint8_t wds_peer[6] = {0x00, 0x1B, 0x54, 0x57, 0x4C, 0x02};

/* The backbone's addresses (802.1ah) */
static const uint8_t backbone_dst[6] = {0x00, 0x1E, 0x49, 0x42, 0x42, 0x01};
static const uint8_t backbone_src[6] = {0x00, 0x1E, 0x49, 0x42, 0x42, 0x02};

/* ---------------------------------------------------------------------
 * Link-layer framing.
 * ---------------------------------------------------------------------
 */

/* The ethertype of a packet (0 for STP, which uses an 802.3 length). */
uint16_t
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

/* Is the packet an IP packet (which --mpls puts behind labels)? */
static int
is_ip(const Packet *pk)
{
	return pk->kind == PK_IP4 || pk->kind == PK_IP6;
}

/*
 * MPLS variants of record recno (--link-variants): 1, the bottom label is
 * the explicit null of the packet's IP version (0 IPv4, 2 IPv6); 2, the
 * multicast Ethernet type / PPP protocol.  0 otherwise.
 */
static int
mpls_variant(const Options *o, uint64_t recno)
{
	return o->link_variants ? (int) (recno % 3) : 0;
}

/*
 * The IP packet behind --mpls's labels (RFC 3032: label 20 bits, traffic
 * class 3, bottom of stack 1, TTL 8), or alone; returns the length.
 */
static size_t
mpls_payload(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	size_t		n = 0;
	int			i;

	for (i = 0; i < o->nmpls; i++)
	{
		uint32_t	label = o->mpls[i];
		uint32_t	e;

		if (i == o->nmpls - 1 && mpls_variant(o, recno) == 1)
			label = pk->kind == PK_IP6 ? 2 : 0;
		e = (label << 12) | (uint32_t) (64 - i);
		if (i == o->nmpls - 1)
			e |= 0x100;
		put_be32(f + n, e);
		n += 4;
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * A PPP control frame (PK_CTRL): an LCP Echo-Request (RFC 1661 5.8) or an
 * IPCP Configure-Request with an IP-Address option (RFC 1332); sets its
 * protocol and returns its length.
 */
static size_t
ppp_ctrl(const Packet *pk, uint8_t *f, uint16_t *proto)
{
	if (pk->ctrl & 1)
	{
		*proto = PPP_LCP;
		f[0] = 9;				/* Echo-Request */
		f[1] = pk->ctrl;
		put_be16(f + 2, 8);
		memcpy(f + 4, pk->l3, 4);	/* magic number */
		return 8;
	}
	*proto = PPP_IPCP;
	f[0] = 1;					/* Configure-Request */
	f[1] = pk->ctrl;
	put_be16(f + 2, 10);
	f[4] = 3;					/* IP-Address */
	f[5] = 6;
	memcpy(f + 6, pk->l3, 4);
	return 10;
}

/* A packet's PPP information field; sets its protocol, returns its length. */
static size_t
ppp_info(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f,
		 uint16_t *proto)
{
	if (pk->kind == PK_CTRL)
		return ppp_ctrl(pk, f, proto);
	if (o->nmpls > 0)
		*proto = mpls_variant(o, recno) == 2 ? PPP_MPLS_MULTI : PPP_MPLS;
	else
		*proto = pk->kind == PK_IP6 ? PPP_IPV6 : PPP_IP;
	return mpls_payload(o, pk, recno, f);
}

/* CRC-16 of RFC 1662's frame check sequence (reflected, 0x8408), final. */
static uint16_t
ppp_fcs16(const uint8_t *p, size_t n)
{
	uint16_t	fcs = 0xFFFF;
	size_t		i;
	int			k;

	for (i = 0; i < n; i++)
	{
		fcs ^= p[i];
		for (k = 0; k < 8; k++)
			fcs = (fcs & 1) ? (uint16_t) ((fcs >> 1) ^ 0x8408) : (uint16_t) (fcs >> 1);
	}
	return (uint16_t) ~fcs;
}

/* PPP framings (PPP link type, PPPoE with --link-variants) */
#define PPPF_STD		0		/* 0xff 0x03, two-byte protocol */
#define PPPF_ACFC		1		/* no address and control field */
#define PPPF_PFC		2		/* one-byte protocol where it fits */
#define PPPF_ACFC_PFC	3
#define PPPF_STUFFED	4		/* RFC 1662 octet-stuffed, with flags, FCS */

/*
 * A PPP frame (RFC 1661) in the given framing: address and control field
 * unless compressed (ACFC), the protocol in one byte when PFC may compress
 * it (its high byte is 0), the information field; or the whole frame with
 * its FCS-16 in RFC 1662's asynchronous framing: 0x7e flags, 0x7d escapes
 * for 0x7d, 0x7e and every byte below 0x20 (the default ACCM).
 */
static size_t
ppp_frame(const Options *o, const Packet *pk, uint64_t recno, int framing,
		  uint8_t *f)
{
	uint8_t		plain[MAX_FRAME];
	uint8_t    *out = framing == PPPF_STUFFED ? plain : f;
	size_t		n = 0;
	size_t		i;
	uint16_t	proto = 0;
	uint16_t	fcs;
	uint8_t		info[MAX_FRAME];
	size_t		ilen = ppp_info(o, pk, recno, info, &proto);

	if (framing != PPPF_ACFC && framing != PPPF_ACFC_PFC)
	{
		out[n++] = 0xFF;
		out[n++] = 0x03;
	}
	if ((framing == PPPF_PFC || framing == PPPF_ACFC_PFC) && proto < 0x100)
		out[n++] = (uint8_t) proto;
	else
	{
		put_be16(out + n, proto);
		n += 2;
	}
	memcpy(out + n, info, ilen);
	n += ilen;
	if (framing != PPPF_STUFFED)
		return n;

	fcs = ppp_fcs16(plain, n);
	plain[n++] = (uint8_t) fcs;		/* least significant byte first */
	plain[n++] = (uint8_t) (fcs >> 8);
	f[0] = 0x7E;
	for (i = 0, ilen = 1; i < n; i++)
	{
		if (plain[i] < 0x20 || plain[i] == 0x7D || plain[i] == 0x7E)
		{
			f[ilen++] = 0x7D;
			f[ilen++] = plain[i] ^ 0x20;
		}
		else
			f[ilen++] = plain[i];
	}
	f[ilen++] = 0x7E;
	return ilen;
}

/* The PPP framing of record recno: standard, or each in turn. */
static int
ppp_framing(const Options *o, uint64_t recno)
{
	return o->link_variants ? (int) (recno % 5) : PPPF_STD;
}

/*
 * Cisco HDLC (and Cisco framing in PPP_HDLC): address (0x0f unicast, 0x8f
 * broadcast), control 0, an Ethernet type; control frames are SLARP
 * keepalives and CDP announcements.
 */
static size_t
chdlc_frame(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	size_t		n = 4;

	f[0] = 0x0F;
	f[1] = 0;
	if (pk->kind == PK_CTRL)
	{
		f[0] = 0x8F;
		if (pk->ctrl & 1)
		{
			/* SLARP keepalive: code 2, my and your sequence, reliability */
			put_be16(f + 2, 0x8035);
			put_be32(f + 4, 2);
			put_be32(f + 8, pk->ctrl);
			put_be32(f + 12, (uint32_t) pk->ctrl + 1);
			put_be16(f + 16, 0xFFFF);
			return 18;
		}
		/* CDP version 2: version, TTL, checksum, a device-ID TLV */
		put_be16(f + 2, 0x2000);
		f[4] = 2;
		f[5] = 180;
		put_be16(f + 6, 0);
		put_be16(f + 8, 1);
		put_be16(f + 10, 12);
		memcpy(f + 12, "router01", 8);
		return 20;
	}
	if (o->nmpls > 0)
		put_be16(f + 2, mpls_variant(o, recno) == 2 ? ETH_MPLS_MULTI : ETH_MPLS);
	else
		put_be16(f + 2, packet_ethertype(pk));
	return n + mpls_payload(o, pk, recno, f + n);
}

/* 802.2 LLC with SNAP (RFC 1042) for an Ethernet type; returns 8. */
static size_t
snap(uint8_t *f, uint32_t oui, uint16_t et)
{
	f[0] = 0xAA;
	f[1] = 0xAA;
	f[2] = 0x03;
	f[3] = (uint8_t) (oui >> 16);
	f[4] = (uint8_t) (oui >> 8);
	f[5] = (uint8_t) oui;
	put_be16(f + 6, et);
	return 8;
}

/* A non-control packet behind 802.2 LLC: STP has its own, others SNAP. */
static size_t
llc_payload(const Packet *pk, uint8_t *f, uint32_t oui)
{
	size_t		n = 0;

	if (pk->kind != PK_STP)
		n = snap(f, oui, packet_ethertype(pk));
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * FDDI: frame control, destination, source, then 802.2 LLC: asynchronous
 * LLC frames (0x50, priority in the low bits with --link-variants), or SMT
 * frames (0x41, a NIF announcement) for control frames.
 */
static size_t
fddi_frame(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	f[0] = 0x50;
	if (o->link_variants)
		f[0] |= (uint8_t) (recno % 8);
	memcpy(f + 1, pk->dst_mac, 6);
	memcpy(f + 7, pk->src_mac, 6);
	if (pk->kind == PK_CTRL)
	{
		/* SMT: class NIF, type announcement, version, transaction, station */
		f[0] = 0x41;
		f[13] = 0x01;
		f[14] = 0x01;
		put_be16(f + 15, 1);
		memcpy(f + 17, pk->l3, 4);
		memset(f + 21, 0, 2);
		memcpy(f + 23, pk->src_mac, 6);
		put_be16(f + 29, 0);	/* pad */
		put_be16(f + 31, 0);	/* info field length */
		return 33;
	}
	return 13 + llc_payload(pk, f + 13, 0);
}

/* ARCNET protocol ids (RFC 1201, RFC 1051, RFC 2497) */
#define ARC_IP			212
#define ARC_ARP			213
#define ARC_IPV6		0xC4
#define ARC_IP_OLD		240

/*
 * ARCNET: source, destination, [Linux: 2-byte offset], protocol id, then
 * RFC 1201's split flag and sequence number; with --link-variants, some
 * IPv4 packets in RFC 1051's header (no flag, no sequence) and, on BSD,
 * exception packets (flag 0xff, then the header again).
 */
static size_t
arcnet_frame(const Options *o, const Packet *pk, uint64_t recno, int is_linux,
			 uint8_t *f)
{
	size_t		n = 0;
	uint8_t		type = pk->kind == PK_IP6 ? ARC_IPV6 :
		pk->kind == PK_ARP ? ARC_ARP : ARC_IP;
	int			variant = o->link_variants ? (int) (recno % 3) : 0;

	f[n++] = pk->src_mac[5] ? pk->src_mac[5] : 1;
	f[n++] = 0x07;
	if (is_linux)
	{
		f[n++] = 0;
		f[n++] = 0;
	}
	if (variant == 1 && pk->kind == PK_IP4)
	{
		f[n++] = ARC_IP_OLD;
		memcpy(f + n, pk->l3, pk->len);
		return n + pk->len;
	}
	f[n++] = type;
	if (variant == 2 && !is_linux)
	{
		f[n++] = 0xFF;
		f[n++] = 0xFF;
		f[n++] = 0xFF;
		f[n++] = type;
	}
	f[n++] = 0;					/* split flag: not split */
	put_be16(f + n, (uint16_t) recno);
	n += 2;
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * 802.11 management and control frames, and data frames without a
 * payload one can read (PK_CTRL): a beacon, a probe request, an ACK, an
 * RTS, a null data and a QoS null frame, and a CCMP-encrypted data frame.
 */
static size_t
wlan_ctrl(const Packet *pk, uint64_t recno, uint8_t *f)
{
	size_t		n;

	memset(f, 0, 24);
	put_le16(f + 2, 0x013A);	/* duration */
	switch (pk->ctrl % 7)
	{
		case 0:
		case 1:
			/* beacon (0x80) / probe request (0x40): management */
			f[0] = pk->ctrl % 7 == 0 ? 0x80 : 0x40;
			memset(f + 4, 0xFF, 6);
			memcpy(f + 10, pk->ctrl % 7 == 0 ? bssid : pk->src_mac, 6);
			memcpy(f + 16, pk->ctrl % 7 == 0 ? bssid : f + 4, 6);
			put_le16(f + 22, (uint16_t) ((recno & 0xFFF) << 4));
			n = 24;
			if (pk->ctrl % 7 == 0)
			{
				memcpy(f + n, pk->l3, 8);	/* timestamp */
				put_le16(f + n + 8, 100);	/* interval */
				put_le16(f + n + 10, 0x0411);	/* capabilities */
				n += 12;
			}
			f[n++] = 0;			/* SSID */
			f[n++] = pk->ctrl % 7 == 0 ? 8 : 0;
			if (pk->ctrl % 7 == 0)
			{
				memcpy(f + n, "honeypot", 8);
				n += 8;
			}
			f[n++] = 1;			/* supported rates */
			f[n++] = 4;
			f[n++] = 0x82;
			f[n++] = 0x84;
			f[n++] = 0x8B;
			f[n++] = 0x96;
			return n;
		case 2:
			/* ACK: frame control, duration, receiver */
			f[0] = 0xD4;
			put_le16(f + 2, 0);
			memcpy(f + 4, bssid, 6);
			return 10;
		case 3:
			/* RTS: receiver, transmitter */
			f[0] = 0xB4;
			memcpy(f + 4, bssid, 6);
			memcpy(f + 10, pk->src_mac, 6);
			return 16;
		case 4:
		case 5:
			/* null data (0x48) / QoS null (0xc8), to the AP, power save */
			f[0] = pk->ctrl % 7 == 4 ? 0x48 : 0xC8;
			f[1] = 0x11;
			memcpy(f + 4, bssid, 6);
			memcpy(f + 10, pk->src_mac, 6);
			memcpy(f + 16, bssid, 6);
			put_le16(f + 22, (uint16_t) ((recno & 0xFFF) << 4));
			n = 24;
			if (pk->ctrl % 7 == 5)
			{
				put_le16(f + n, 0);
				n += 2;
			}
			return n;
		default:
			/* protected data from the AP: CCMP header, ciphertext, MIC */
			f[0] = 0x08;
			f[1] = 0x42;
			memcpy(f + 4, pk->dst_mac, 6);
			memcpy(f + 10, bssid, 6);
			memcpy(f + 16, pk->src_mac, 6);
			put_le16(f + 22, (uint16_t) ((recno & 0xFFF) << 4));
			n = 24;
			f[n++] = (uint8_t) recno;	/* PN0, PN1, reserved, key id */
			f[n++] = (uint8_t) (recno >> 8);
			f[n++] = 0;
			f[n++] = 0x20;		/* ExtIV */
			memset(f + n, 0, 4);	/* PN2..PN5 */
			n += 4;
			memcpy(f + n, pk->l3, pk->len);
			return n + pk->len;
	}
}

/*
 * An 802.11 data frame carrying pk behind LLC/SNAP (802.1H / RFC 1042), or
 * a control frame for PK_CTRL.  The addressing turns with the record: from
 * the AP, from the AP with QoS, in an IBSS, to the AP with QoS; with
 * --link-variants also over WDS with QoS (four addresses, which libpcap's
 * filters do not skip), to the AP with QoS and +HTC (order bit, HT control
 * field), data + CF-Ack with the bridge-tunnel OUI, and IPv4 in RFC 948's
 * LLC (SAP 0x06).  pad rounds the MAC header up to 4 bytes (radiotap's
 * DATAPAD).
 */
static size_t
wlan_frame(const Options *o, const Packet *pk, uint64_t recno, int pad,
		   uint8_t *f)
{
	int			v = (int) (recno % (o->link_variants ? 8 : 4));
	size_t		n = 24;
	int			qos = v == 1 || v == 3 || v == 4 || v == 5 || v == 7;
	uint32_t	oui = 0;

	if (pk->kind == PK_CTRL)
		return wlan_ctrl(pk, recno, f);
	memset(f, 0, 24);
	f[0] = qos ? 0x88 : 0x08;
	put_le16(f + 2, 0x002C);
	switch (v)
	{
		case 0:
		case 1:
		case 6:
			/* from the AP: DA, BSSID, SA */
			f[1] = 0x02;
			memcpy(f + 4, pk->dst_mac, 6);
			memcpy(f + 10, bssid, 6);
			memcpy(f + 16, pk->src_mac, 6);
			break;
		case 2:
			/* IBSS: DA, SA, BSSID */
			memcpy(f + 4, pk->dst_mac, 6);
			memcpy(f + 10, pk->src_mac, 6);
			memcpy(f + 16, bssid, 6);
			break;
		case 4:
		case 7:
			/* WDS: RA, TA, DA, (sequence), SA */
			f[1] = 0x03;
			memcpy(f + 4, wds_peer, 6);
			memcpy(f + 10, bssid, 6);
			memcpy(f + 16, pk->dst_mac, 6);
			break;
		default:
			/* to the AP: BSSID, SA, DA; +HTC in variant 5 */
			f[1] = v == 5 ? 0x81 : 0x01;
			memcpy(f + 4, bssid, 6);
			memcpy(f + 10, pk->src_mac, 6);
			memcpy(f + 16, pk->dst_mac, 6);
			break;
	}
	if (v == 6)
	{
		f[0] = 0x18;			/* data + CF-Ack */
		oui = 0x0000F8;			/* 802.1H bridge tunnel */
	}
	put_le16(f + 22, (uint16_t) ((recno & 0xFFF) << 4));
	if ((f[1] & 0x03) == 0x03)
	{
		memcpy(f + n, pk->src_mac, 6);
		n += 6;
	}
	if (qos)
	{
		put_le16(f + n, (uint16_t) (recno % 8));	/* TID */
		n += 2;
		if (f[1] & 0x80)
		{
			put_le32(f + n, 0);	/* HT control */
			n += 4;
		}
	}
	if (pad)
		while (n % 4 != 0)
			f[n++] = 0;
	if (v == 7 && pk->kind == PK_IP4)
	{
		f[n++] = 0x06;			/* RFC 948: IP over 802.2 */
		f[n++] = 0x06;
		f[n++] = 0x03;
		memcpy(f + n, pk->l3, pk->len);
		return n + pk->len;
	}
	return n + llc_payload(pk, f + n, oui);
}

/* radiotap field bits (radiotap.org) */
#define RT_TSFT			0x00000001u
#define RT_FLAGS		0x00000002u
#define RT_RATE			0x00000004u
#define RT_CHANNEL		0x00000008u
#define RT_ANTSIGNAL	0x00000020u
#define RT_EXT			0x80000000u
#define RT_F_FCS		0x10
#define RT_F_DATAPAD	0x20

/*
 * A radiotap header (little-endian, fields aligned to their size from the
 * header's start) and the 802.11 frame.  It turns with the record: TSFT,
 * flags, rate, channel and signal; the same with the FCS at the end (flag
 * 0x10); a second presence word; rate and channel without flags; with
 * --link-variants also data padding after the MAC header (flag 0x20).
 */
static size_t
radiotap_frame(const Options *o, const Packet *pk, uint64_t recno,
			   uint8_t *f)
{
	int			v = (int) (recno % (o->link_variants ? 5 : 4));
	uint8_t		flags = v == 1 ? RT_F_FCS : v == 4 ? RT_F_DATAPAD : 0;
	size_t		n;
	size_t		w;

	f[0] = 0;					/* version */
	f[1] = 0;
	switch (v)
	{
		case 2:
			put_le32(f + 4, RT_FLAGS | RT_RATE | RT_EXT);
			put_le32(f + 8, 0);
			f[12] = flags;
			f[13] = 2;			/* 1 Mb/s */
			n = 14;
			break;
		case 3:
			put_le32(f + 4, RT_RATE | RT_CHANNEL);
			f[8] = 108;			/* 54 Mb/s */
			f[9] = 0;
			put_le16(f + 10, 2437);
			put_le16(f + 12, 0x00C0);
			n = 14;
			break;
		default:
			put_le32(f + 4, RT_TSFT | RT_FLAGS | RT_RATE | RT_CHANNEL | RT_ANTSIGNAL);
			put_le32(f + 8, (uint32_t) (recno * 1000));
			put_le32(f + 12, 0);
			f[16] = flags;
			f[17] = 108;
			put_le16(f + 18, 2437);
			put_le16(f + 20, 0x00C0);
			f[22] = (uint8_t) -42;	/* dBm */
			n = 23;
			break;
	}
	put_le16(f + 2, (uint16_t) n);
	w = wlan_frame(o, pk, recno, flags & RT_F_DATAPAD, f + n);
	if (flags & RT_F_FCS)
	{
		put_le32(f + n + w, (uint32_t) crc32(0L, f + n, (uInt) w));
		w += 4;
	}
	return n + w;
}

/*
 * PPI (Per-Packet Information): version 0, flags, length, the DLT of what
 * follows (little-endian), fields: an 802.11-common field before an 802.11
 * frame; with --link-variants every fourth record is Ethernet, with no
 * field.
 */
static size_t
ppi_frame(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	size_t		n = 8;

	f[0] = 0;
	f[1] = 0;
	if (o->link_variants && recno % 4 == 3 && pk->kind != PK_CTRL)
	{
		put_le16(f + 2, 8);
		put_le32(f + 4, 1);
		memcpy(f + 8, pk->dst_mac, 6);
		memcpy(f + 14, pk->src_mac, 6);
		put_be16(f + 20, pk->kind == PK_STP ? (uint16_t) pk->len : packet_ethertype(pk));
		memcpy(f + 22, pk->l3, pk->len);
		return 22 + pk->len;
	}
	put_le32(f + 4, 105);
	put_le16(f + n, 2);			/* 802.11-common */
	put_le16(f + n + 2, 20);
	memset(f + n + 4, 0, 20);
	put_le32(f + n + 4, (uint32_t) (recno * 1000));	/* TSF timer */
	put_le16(f + n + 14, 108);	/* rate, 500 kb/s units */
	put_le16(f + n + 16, 2437);	/* frequency */
	put_le16(f + n + 18, 0x00C0);	/* channel flags */
	f[n + 22] = (uint8_t) -42;	/* signal, dBm */
	f[n + 23] = (uint8_t) -95;	/* noise, dBm */
	n += 24;
	put_le16(f + 2, (uint16_t) n);
	return n + wlan_frame(o, pk, recno, 0, f + n);
}

/*
 * Apple's PKTAP header (108 bytes, little-endian as Apple writes it) and the
 * frame of the DLT it names: Ethernet; with --link-variants, IP packets of
 * every fourth record on a utun interface (DLT_NULL, family in the
 * capturing host's order) and of the next on DLT_RAW (12).
 */
static size_t
pktap_frame(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	uint32_t	dlt = 1;
	size_t		n = 108;

	if (o->link_variants && is_ip(pk) && recno % 4 >= 2)
		dlt = recno % 4 == 2 ? 0 : 12;
	memset(f, 0, 108);
	put_le32(f, 108);			/* header length */
	put_le32(f + 4, 1);			/* a packet follows */
	put_le32(f + 8, dlt);
	memcpy(f + 12, dlt == 1 ? "en0" : "utun3", dlt == 1 ? 3 : 5);
	put_le32(f + 36, 0);		/* flags */
	put_le32(f + 40, pk->kind == PK_IP6 ? 30 : 2);	/* protocol family */
	put_le32(f + 44, dlt == 1 ? 14 : dlt == 0 ? 4 : 0);	/* link header length */
	put_le32(f + 52, 4242);		/* process id */
	memcpy(f + 56, "honeypotd", 9);
	put_le16(f + 80, dlt == 1 ? 6 : 0xFF);	/* interface type */
	if (dlt == 1)
	{
		memcpy(f + n, pk->dst_mac, 6);
		memcpy(f + n + 6, pk->src_mac, 6);
		put_be16(f + n + 12, pk->kind == PK_STP ? (uint16_t) pk->len : packet_ethertype(pk));
		n += 14;
	}
	else if (dlt == 0)
	{
		put_le32(f + n, pk->kind == PK_IP6 ? 30 : 2);
		n += 4;
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * Solaris ipnet: version, family (2 AF_INET, 26 AF_INET6), hardware type,
 * the packet's length, interface and zone ids, all big-endian; 24 bytes.
 */
static size_t
ipnet_frame(const Packet *pk, uint8_t *f)
{
	f[0] = 1;
	f[1] = pk->kind == PK_IP6 ? 26 : 2;
	put_be16(f + 2, 0);
	put_be32(f + 4, (uint32_t) pk->len);
	put_be32(f + 8, 2);			/* interface */
	put_be32(f + 12, 0);		/* group interface */
	put_be32(f + 16, 0);		/* source zone: global */
	put_be32(f + 20, 0);		/* destination zone */
	memcpy(f + 24, pk->l3, pk->len);
	return 24 + pk->len;
}

/* One NFLOG TLV: length and type in the file's byte order, value, padding. */
static size_t
nflog_tlv(uint8_t *f, int big, uint16_t type, const void *val, size_t len)
{
	size_t		n = 4 + len;

	put_u16(f, big, (uint16_t) n);
	put_u16(f + 2, big, type);
	memcpy(f + 4, val, len);
	while (n % 4 != 0)
		f[n++] = 0;
	return n;
}

/*
 * Linux NFLOG: family (2 IPv4, 10 IPv6, 3 ARP), version 0, resource id
 * (big-endian), then TLVs whose length and type are in the capturing
 * host's byte order, which is the file's (libpcap swaps them with the
 * file): the packet header, the log prefix, the input interface; with
 * --link-variants also the hardware type, header and its length and the
 * time stamp, in turn; the payload last.
 */
static size_t
nflog_frame(const Options *o, const Packet *pk, uint64_t recno, int big,
			uint8_t *f)
{
	uint8_t		v[32];
	size_t		n = 4;

	f[0] = pk->kind == PK_IP6 ? 10 : pk->kind == PK_ARP ? 3 : 2;
	f[1] = 0;
	put_be16(f + 2, 1);
	put_be16(v, packet_ethertype(pk));
	v[2] = 1;					/* NF_INET_LOCAL_IN */
	v[3] = 0;
	n += nflog_tlv(f + n, big, 1, v, 4);
	if (!o->link_variants || recno % 3 != 1)
		n += nflog_tlv(f + n, big, 10, "honeypot: ", 11);
	put_be32(v, 2);
	n += nflog_tlv(f + n, big, 4, v, 4);
	if (o->link_variants && recno % 3 == 2)
	{
		put_be16(v, 1);			/* ARPHRD_ETHER */
		n += nflog_tlv(f + n, big, 15, v, 2);
		memcpy(v, pk->dst_mac, 6);
		memcpy(v + 6, pk->src_mac, 6);
		put_be16(v + 12, packet_ethertype(pk));
		n += nflog_tlv(f + n, big, 16, v, 14);
		put_be16(v, 14);
		n += nflog_tlv(f + n, big, 17, v, 2);
		memset(v, 0, 16);
		put_be32(v + 4, (uint32_t) (1734134400 + recno));
		n += nflog_tlv(f + n, big, 3, v, 16);
	}
	return n + nflog_tlv(f + n, big, 9, pk->l3, pk->len);
}

/*
 * Frame Relay (RFC 2427): a 2-byte Q.922 address (DLCI 100 to 103, the EA
 * bit in the second byte), control 0x03 (UI) and the NLPID of IPv4 (0xcc)
 * or IPv6 (0x8e); ARP behind SNAP (control, a pad byte, NLPID 0x80, OUI 0,
 * the Ethernet type).  With --link-variants, IP packets of every third
 * record in Cisco's framing (an Ethernet type after the address) and of
 * the next behind SNAP.
 */
static size_t
frelay_frame(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	uint16_t	dlci = (uint16_t) (100 + recno % 4);
	int			v = o->link_variants && is_ip(pk) ? (int) (recno % 3) : 0;
	size_t		n = 2;

	f[0] = (uint8_t) ((dlci >> 4) << 2);
	f[1] = (uint8_t) (((dlci & 0x0F) << 4) | 0x01);
	if (v == 1)
	{
		put_be16(f + n, packet_ethertype(pk));
		n += 2;
	}
	else if (v == 2 || !is_ip(pk))
	{
		f[n++] = 0x03;
		f[n++] = 0x00;			/* pad */
		f[n++] = 0x80;			/* SNAP: OUI, Ethernet type */
		f[n++] = 0;
		f[n++] = 0;
		f[n++] = 0;
		put_be16(f + n, packet_ethertype(pk));
		n += 2;
	}
	else
	{
		f[n++] = 0x03;
		f[n++] = pk->kind == PK_IP6 ? 0x8E : 0xCC;
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * IP over InfiniBand as tcpdump's print-ipoib.c reads it: 44 bytes, 40 of
 * addresses (20 of the source, zero here; the destination's flags and
 * queue pair number, and its GID), then RFC 4391's 4-byte header: the
 * Ethernet type, 2 reserved.
 */
static size_t
ipoib_frame(const Packet *pk, uint8_t *f)
{
	memset(f, 0, 44);
	f[20] = 0x80;
	f[21] = 0x00;
	f[22] = 0x05;
	f[23] = pk->dst_mac[5];		/* queue pair number */
	f[24] = 0xFE;				/* GID: fe80::, an interface id */
	f[25] = 0x80;
	memcpy(f + 34, pk->dst_mac, 6);
	put_be16(f + 40, packet_ethertype(pk));
	memcpy(f + 44, pk->l3, pk->len);
	return 44 + pk->len;
}

/*
 * Arista's time-stamp header (tcpdump's print-arista.c): its Ethernet
 * type, subtype 1, the time scale (TAI 0, UTC 1), the format (high nibble:
 * 1 a 64-bit time stamp, seconds and nanoseconds; 2 a 48-bit one, 16 bits
 * of seconds) and hardware (low nibble, 0), the time stamp.  Scale and
 * format turn with the record; returns the length.
 */
static size_t
arista_header(uint64_t recno, uint8_t *f)
{
	uint32_t	sec = (uint32_t) (1734134400 + recno);
	uint32_t	nsec = (uint32_t) ((recno * 7919u) % 1000000000u);
	size_t		n = 6;

	put_be16(f, ETH_ARISTA);
	put_be16(f + 2, 0x0001);
	f[4] = (uint8_t) (recno % 2);
	f[5] = recno % 4 < 2 ? 0x10 : 0x20;
	if (f[5] == 0x10)
	{
		put_be32(f + n, sec);
		n += 4;
	}
	else
	{
		put_be16(f + n, (uint16_t) sec);
		n += 2;
	}
	put_be32(f + n, nsec);
	return n + 4;
}

/*
 * NSH (RFC 8300) before an IP packet: version 0, TTL 63, MD type 1 (four
 * 4-byte context headers, length 6) on even records, MD type 2 with one
 * 4-byte TLV (length 4) on odd ones, the service path (SPI 0x000100 + the
 * record's number modulo 16, service index 255), the next protocol (1
 * IPv4, 2 IPv6).  With --link-variants, every third record's packet is
 * inside an Ethernet header (next protocol 3).  Returns the length.
 */
static size_t
nsh_payload(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	int			md2 = (int) (recno % 2);
	int			ether = o->link_variants && recno % 3 == 2;
	size_t		n = md2 ? 16 : 24;

	f[0] = 0x0F;				/* version 0, O 0, TTL 63 (high bits) */
	f[1] = (uint8_t) (0xC0 | (n / 4));	/* TTL (low bits), length */
	f[2] = md2 ? 0x02 : 0x01;
	f[3] = ether ? 3 : pk->kind == PK_IP6 ? 2 : 1;
	put_be32(f + 4, (uint32_t) ((0x000100 + recno % 16) << 8 | 0xFF));
	if (md2)
	{
		/* class 0x0000, type 1, length 4 */
		put_be32(f + 8, 0x00000104);
		put_be32(f + 12, (uint32_t) recno);
	}
	else
	{
		put_be32(f + 8, 1);
		put_be32(f + 12, 2);
		put_be32(f + 16, 3);
		put_be32(f + 20, (uint32_t) recno);
	}
	if (ether)
	{
		memcpy(f + n, pk->dst_mac, 6);
		memcpy(f + n + 6, pk->src_mac, 6);
		put_be16(f + n + 12, packet_ethertype(pk));
		n += 14;
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * Ethernet with any of the encapsulations: Arista's time stamp after the
 * addresses, then VN-Tag, then --vlan / --qinq's tags, then MACsec's
 * SecTAG (its place kept in *ms; not on STP), then 802.1ah's I-TAG and the customer's
 * addresses (the tags are the backbone's), then a PPPoE session header
 * and PPP's protocol (an LCP echo or a PPPoE discovery frame for PK_CTRL),
 * then --mpls's labels or NSH before an IP packet.
 */
static size_t
ether_inner(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f,
			size_t *ms)
{
	size_t		n;
	uint16_t	et = pk->kind == PK_STP ? (uint16_t) pk->len : packet_ethertype(pk);

	memcpy(f, o->has_pbb ? backbone_dst : pk->dst_mac, 6);
	memcpy(f + 6, o->has_pbb ? backbone_src : pk->src_mac, 6);
	n = 12;
	if (o->has_arista)
		n += arista_header(recno, f + n);
	if (o->has_vntag)
	{
		put_be16(f + n, ETH_VNTAG);
		/* direction 0, pointer 0, destination VIF; looped 0, source VIF */
		put_be16(f + n + 2, o->vntag_vif & 0x3FFF);
		put_be16(f + n + 4, (uint16_t) (recno % 4096));
		n += 6;
	}
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
	if (o->macsec && pk->kind != PK_STP)
	{
		/* not on spanning tree's frames, which stay out of MACsec */
		*ms = n;
		n += recno % 2 ? 16 : 8;	/* with the SCI on odd records */
	}
	if (o->has_pbb)
	{
		/* I-TAG: priority 0, DEI 0, UCA 0, the service instance (I-SID) */
		put_be16(f + n, ETH_PBB);
		put_be32(f + n + 2, o->pbb_isid & 0xFFFFFF);
		memcpy(f + n + 6, pk->dst_mac, 6);
		memcpy(f + n + 12, pk->src_mac, 6);
		n += 18;
	}
	if (o->has_pppoe && (is_ip(pk) || pk->kind == PK_CTRL))
	{
		size_t		start;
		uint16_t	proto = 0;
		int			framing = o->link_variants && recno % 2 ? PPPF_PFC : PPPF_STD;

		if (pk->kind == PK_CTRL && (pk->ctrl & 2))
		{
			/* discovery: a PADI with Service-Name and Host-Uniq (RFC 2516) */
			memset(f, 0xFF, 6);
			put_be16(f + n, ETH_PPPOE_DISC);
			f[n + 2] = 0x11;
			f[n + 3] = 0x09;
			put_be16(f + n + 4, 0);
			put_be16(f + n + 6, 12);
			put_be16(f + n + 8, 0x0101);
			put_be16(f + n + 10, 0);
			put_be16(f + n + 12, 0x0103);
			put_be16(f + n + 14, 4);
			memcpy(f + n + 16, pk->l3, 4);
			return n + 20;
		}
		put_be16(f + n, ETH_PPPOE_SESS);
		f[n + 2] = 0x11;		/* version 1, type 1 */
		f[n + 3] = 0;			/* session data */
		put_be16(f + n + 4, o->pppoe_session);
		n += 8;
		start = n;
		/* the protocol field only (no address and control: RFC 2516) */
		{
			uint8_t		info[MAX_FRAME];
			size_t		ilen = ppp_info(o, pk, recno, info, &proto);

			if (framing == PPPF_PFC && proto < 0x100)
				f[n++] = (uint8_t) proto;
			else
			{
				put_be16(f + n, proto);
				n += 2;
			}
			memcpy(f + n, info, ilen);
			n += ilen;
		}
		put_be16(f + start - 2, (uint16_t) (n - start));
		return n;
	}
	if (o->nmpls > 0 && is_ip(pk))
	{
		put_be16(f + n, mpls_variant(o, recno) == 2 ? ETH_MPLS_MULTI : ETH_MPLS);
		return n + 2 + mpls_payload(o, pk, recno, f + n + 2);
	}
	if (o->has_nsh && is_ip(pk))
	{
		put_be16(f + n, ETH_NSH);
		return n + 2 + nsh_payload(o, pk, recno, f + n + 2);
	}
	put_be16(f + n, et);
	n += 2;
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}

/*
 * MACsec's SecTAG (IEEE 802.1AE; tcpdump's print-macsec.c) at ms: its
 * Ethernet type, the TCI and association number (the SC bit and an SCI,
 * the source address and port 1, on odd records; E and C when
 * encrypted), the short length (the user data's length when under 48),
 * the packet number (the record's number + 1); a 16-byte ICV after the
 * user data.  Encrypted user data is scrambled.  Returns the length.
 */
static size_t
macsec_finish(const Options *o, uint64_t recno, uint8_t *f, size_t ms,
			  size_t n)
{
	int			sci = (int) (recno % 2);
	size_t		data = ms + (sci ? 16 : 8);
	size_t		i;

	put_be16(f + ms, ETH_MACSEC);
	f[ms + 2] = (uint8_t) ((sci ? 0x20 : 0) | (recno % 4));
	if (o->macsec == MACSEC_ENCRYPTED)
		f[ms + 2] |= 0x0C;
	f[ms + 3] = n - data < 48 ? (uint8_t) (n - data) : 0;
	put_be32(f + ms + 4, (uint32_t) (recno + 1));
	if (sci)
	{
		memcpy(f + ms + 8, f + 6, 6);
		put_be16(f + ms + 14, 1);
	}
	if (o->macsec == MACSEC_ENCRYPTED)
		for (i = data; i < n; i++)
			f[i] ^= (uint8_t) (0xA5 + i);
	for (i = 0; i < 16; i++)
		f[n + i] = (uint8_t) (recno * 31 + i * 17);
	return n + 16;
}

static size_t
ether_encap(const Options *o, const Packet *pk, uint64_t recno, uint8_t *f)
{
	size_t		ms = 0;
	size_t		n = ether_inner(o, pk, recno, f, &ms);

	return ms != 0 ? macsec_finish(o, recno, f, ms, n) : n;
}

/*
 * Frame a packet for a link type; big = byte order of the file section,
 * recno = the record's number (0-based), which turns the framing variants.
 */
size_t
encap(const Options *o, L2Kind l2, uint32_t ifindex, const Packet *pk,
	  int big, uint64_t recno, uint8_t *f)
{
	size_t		n = 0;
	uint16_t	et = packet_ethertype(pk);
	uint16_t	proto = pk->kind == PK_STP ? ETH_P_802_2 : et;

	switch (l2)
	{
		case L2_ETHER:
		case L2_UNKNOWN:
			if (o->has_pppoe || o->nmpls > 0 || o->has_pbb || o->has_vntag ||
				o->has_arista || o->macsec || o->has_nsh)
				return ether_encap(o, pk, recno, f);
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
		case L2_PPP:
			return ppp_frame(o, pk, recno, ppp_framing(o, recno), f);
		case L2_PPP_HDLC:
			if (o->link_variants && recno % 2 == 1)
				return chdlc_frame(o, pk, recno, f);
			return ppp_frame(o, pk, recno, PPPF_STD, f);
		case L2_CHDLC:
			return chdlc_frame(o, pk, recno, f);
		case L2_FRELAY:
			return frelay_frame(o, pk, recno, f);
		case L2_FDDI:
			return fddi_frame(o, pk, recno, f);
		case L2_ARCNET_BSD:
			return arcnet_frame(o, pk, recno, 0, f);
		case L2_ARCNET_LINUX:
			return arcnet_frame(o, pk, recno, 1, f);
		case L2_WLAN:
			return wlan_frame(o, pk, recno, 0, f);
		case L2_RADIOTAP:
			return radiotap_frame(o, pk, recno, f);
		case L2_PPI:
			return ppi_frame(o, pk, recno, f);
		case L2_PKTAP:
			return pktap_frame(o, pk, recno, f);
		case L2_IPNET:
			return ipnet_frame(pk, f);
		case L2_NFLOG:
			return nflog_frame(o, pk, recno, big, f);
		case L2_IPOIB:
			return ipoib_frame(pk, f);
	}
	memcpy(f + n, pk->l3, pk->len);
	return n + pk->len;
}
