/*-------------------------------------------------------------------------
 *
 * mx_link.c
 *		Link layers and encapsulations: from a captured frame to the start
 *		of its IP header.
 *
 * Policy.  Nothing past the captured bytes is read.  A link header is read
 * only when the frame holds all of it; a frame that ends inside one, or
 * whose link header contradicts itself (a length below the header's own,
 * a PPI or PKTAP header longer than the frame), is skipped, never an
 * error: as "short" when the snaplen cut the frame, else as "other".
 * Frames of a known link type that carry no IP packet are skipped by
 * reason (ARP, LLC, LLDP, control, encrypted, other), as tcpdump shows
 * them but does not count them as IP.
 *
 * The walk is a loop over steps, not recursion: each step reads one header
 * at w->off and names the next one (a link type, an Ethernet type, a PPP
 * protocol, ...), so that a frame of nested encapsulations costs no stack.
 * VLAN tags and MPLS labels are read in loops of their own and do not count
 * against MX_LINK_MAX_NEST: a frame may have any number of them.
 *
 * What each link type and encapsulation is, and where it is defined (the
 * LINKTYPE_* numbers of capture files; libpcap's pcap/dlt.h, tcpdump's
 * printers named here, and the RFCs).  Multi-byte fields are big-endian
 * unless said otherwise.
 *
 *	EN10MB (1)			destination, source, type (print-ether.c); a type
 *						up to 1500 is an 802.3 length and 802.2 LLC follows
 *						(as after 0x8870, jumbo frames)
 *	LINUX_SLL (113)		16-byte cooked header, protocol at byte 14; protocol 4
 *						is 802.2 LLC, others up to 1500 are 802.3 framings
 *	LINUX_SLL2 (276)	20-byte cooked header, protocol at byte 0
 *	RAW (12, 14, 101), IPV4 (228), IPV6 (229): IP at byte 0, by its version
 *	NULL (0)			4-byte address family in the capturing host's byte
 *						order (we accept either); LOOP (108) big-endian
 *	PPP (9)				print-ppp.c ppp_print: optional address and control
 *						field (0xff 0x03, or pppd's direction 0x00 / 0x01 and
 *						0x03), then the protocol, one byte when its low bit
 *						is set (PFC, RFC 1661 6.5), else two
 *	PPP_SERIAL (50)		ppp_hdlc_if_print: 0xff 0x03 and a two-byte protocol,
 *						or Cisco HDLC when the first byte is 0x0f or 0x8f
 *	C_HDLC (104)		print-chdlc.c: address, control, an Ethernet type;
 *						SLARP (0x8035) and CDP (0x2000) are control frames
 *	FRELAY (107)		print-fr.c fr_print, RFC 2427: a Q.922 address of 2
 *						to 4 bytes (its last byte has the EA bit, 0x01), then
 *						control 0x03 (UI), an optional pad 0x00 and an NLPID:
 *						0xcc IPv4, 0x8e IPv6, 0x80 SNAP (OUI and Ethernet
 *						type), 0x08 Q.933 signalling (control); or, on a
 *						DLCI other than 0, Cisco's framing: a control byte
 *						other than 0x03 starts an Ethernet type
 *	FDDI (10)			print-fddi.c: frame control, destination, source (13
 *						bytes); asynchronous LLC frames (0x50-0x5f) carry LLC,
 *						SMT (0x40-0x4f) and MAC frames (0xc0-0xcf) are control
 *	ARCNET (7)			print-arcnet.c arcnet_if_print: source, destination,
 *						protocol id; RFC 1201's ids add a split flag and a
 *						sequence number (6 bytes), 10 bytes in an exception
 *						packet (flag 0xff); RFC 1051's (240, 241) and
 *						diagnostics (0x80) have 3; a fragment after the first
 *						(a non-zero even flag) holds no IP header
 *	ARCNET_LINUX (129)	arcnet_linux_if_print: a 2-byte offset after the
 *						addresses; 8 bytes, or 5 for RFC 1051's ids
 *	IEEE802_11 (105)	print-802_11.c: frame control (little-endian); data
 *						frames have 24 bytes of header, 30 with four
 *						addresses, +2 with QoS, +4 more with +HTC (order bit
 *						on a QoS frame); then LLC.  Management and control
 *						frames, and data frames without a body (null
 *						function), are control; a Protected frame is
 *						encrypted; an A-MSDU (QoS bit 7: several packets in
 *						one frame) is other
 *	IEEE802_11_RADIO (127)	radiotap.org: version, pad, length, presence words
 *						(little-endian); the Flags field (bit 1, after an
 *						8-aligned TSFT) says DATAPAD: the 802.11 header is
 *						padded to 4 bytes
 *	PPI (192)			print-ppi.c: version, flags, length (8 to 65532),
 *						DLT of what follows (little-endian)
 *	PKTAP (258)			print-pktap.c: header length (at least 108), record
 *						type (1: a packet follows), DLT (little-endian)
 *	IPNET (226)			print-ipnet.c: 24 bytes, family at byte 1 (2 IPv4,
 *						26 IPv6)
 *	NFLOG (239)			print-nflog.c: family, version 0, resource id, then
 *						TLVs whose length and type are in the capturing
 *						host's byte order, the file's (libpcap swaps them with
 *						the file); the payload TLV (9) holds the packet
 *	IPOIB (242)			print-ipoib.c: 44 bytes, the Ethernet type at byte
 *						40 (RFC 4391's 4-byte header, type and reserved,
 *						behind 40 bytes of addresses)
 *
 * Ethernet types (and the LLC / SNAP that leads to them):
 *	0x8100, 0x88a8, 0x9100	VLAN tags, any number; vlan = the outermost VID
 *	0x8863 / 0x8864		PPPoE discovery (control) / session (print-pppoe.c:
 *						version and type, code 0, session, length, then PPP)
 *	0x8847, 0x8848		MPLS (print-mpls.c): labels to the bottom of stack;
 *						label 0 is IPv4, 2 IPv6, else the first payload byte
 *						says (0x45-0x4f IPv4, 0x60-0x6f IPv6)
 *	0x88e7				802.1ah PBB: a 4-byte I-TAG, the customer's
 *						addresses, the customer's type
 *	0x8926				VN-Tag: 4 bytes, then a type
 *	0xd28b				Arista's vendor type (print-arista.c): subtype
 *						0x0001 (a time stamp), time scale, a format and
 *						hardware byte whose high nibble says a 64-bit (1) or
 *						48-bit (2) time stamp, the time stamp, then a type;
 *						other subtypes and formats are other
 *	0x88e5				802.1AE MACsec (print-macsec.c): the SecTAG, a
 *						TCI and AN byte (version bit 0x80 clear; SC 0x20:
 *						an 8-byte SCI follows the packet number; E 0x08 or
 *						C 0x04: the user data is encrypted), the short
 *						length (6 bits: the user data's length when under
 *						48, else 0), a 4-byte packet number; then, in the
 *						clear, a type and its payload, and a 16-byte ICV
 *						that ends the frame on the wire
 *	0x894f				NSH, RFC 8300 (print-nsh.c): version (0), O bit,
 *						TTL, length in 4-byte words (at least 2: the base
 *						and service path headers; 6 for MD type 1), MD
 *						type, next protocol (1 IPv4, 2 IPv6, 3 Ethernet,
 *						4 NSH, 5 MPLS; others are other), the service path
 *						header, context headers to the length
 *	802.2 LLC			print-llc.c: a UI frame to SAP 0xaa with SNAP's OUI
 *						0 or 0x0000f8 (802.1H) carries an Ethernet type, one
 *						to SAP 0x06 IPv4 (RFC 948); others are "llc"
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "mx_bytes.h"
#include "mx_link.h"

#define ETHERTYPE_IPV4		0x0800
#define ETHERTYPE_ARP		0x0806
#define ETHERTYPE_RARP		0x8035
#define ETHERTYPE_VLAN		0x8100
#define ETHERTYPE_QINQ		0x88a8
#define ETHERTYPE_QINQ_OLD	0x9100
#define ETHERTYPE_IPV6		0x86dd
#define ETHERTYPE_LLDP		0x88cc
#define ETHERTYPE_PPPOE_DISC 0x8863
#define ETHERTYPE_PPPOE_SESS 0x8864
#define ETHERTYPE_MPLS		0x8847
#define ETHERTYPE_MPLS_MULTI 0x8848
#define ETHERTYPE_PBB		0x88e7
#define ETHERTYPE_VNTAG		0x8926
#define ETHERTYPE_ARISTA	0xd28b
#define ETHERTYPE_MACSEC	0x88e5
#define ETHERTYPE_NSH		0x894f
#define ETHERTYPE_JUMBO		0x8870	/* 802.2 LLC in a jumbo frame */

/* What the next step reads. */
typedef enum step
{
	STEP_LINKTYPE,				/* value: a LINKTYPE_* header at off */
	STEP_ETHER,					/* an Ethernet header at off */
	STEP_ETHERTYPE,				/* value: an Ethernet type; its payload (or
								 * its first VLAN tag) at off */
	STEP_LLC,					/* 802.2 LLC at off */
	STEP_PPP,					/* a PPP frame at off: address and control
								 * (optional), protocol */
	STEP_PPP_PROTO,				/* value: a PPP protocol; its information
								 * field at off */
	STEP_CHDLC,					/* a Cisco HDLC header at off */
	STEP_MPLS,					/* an MPLS label stack at off */
	STEP_WLAN,					/* value: 1 if padded (DATAPAD); an 802.11
								 * frame at off */
	STEP_RAW,					/* IP, by its version nibble, at off */
	STEP_DONE					/* l->net / l->reason are set */
} step;

/* The state of one walk. */
typedef struct walk
{
	mx_link    *l;
	const mx_record *rec;
	step		step;
	uint32_t	value;
	uint32_t	off;
} walk;

/* The next step: read `value` at `off`. */
static void
next(walk *w, step s, uint32_t value, uint32_t off)
{
	w->step = s;
	w->value = value;
	w->off = off;
}

/* No IP packet in this frame, for reason: the walk ends. */
static void
skip(walk *w, mx_skip_reason reason)
{
	w->l->net = 0;
	w->l->reason = reason;
	w->step = STEP_DONE;
}

/* The frame ends inside a link header (or holds a malformed one). */
static void
ends(walk *w)
{
	skip(w, w->l->cut ? MX_SKIP_SHORT : MX_SKIP_OTHER);
}

/* An IPv4 (4) or IPv6 (6) header at off: the walk ends. */
static void
found(walk *w, uint8_t net, uint32_t off)
{
	if (off > w->l->n)
	{
		ends(w);
		return;
	}
	w->l->net = net;
	w->l->off = off;
	w->step = STEP_DONE;
}

/* Does the frame hold len bytes at off? */
static bool
has(const walk *w, uint32_t off, uint32_t len)
{
	return off <= w->l->n && len <= w->l->n - off;
}

/*
 * Arista's vendor header at off, after its Ethernet type (print-arista.c
 * arista_ethertype_print): subtype, then for a time stamp (subtype 1) the
 * time scale, a byte whose high nibble is the format (1: 32 bits of
 * seconds and 32 of nanoseconds; 2: 16 and 32), the time stamp, and the
 * Ethernet type of what follows.
 */
static void
arista(walk *w, uint32_t off)
{
	const uint8_t *d = w->l->d + off;
	uint32_t	len;

	if (!has(w, off, 4))
	{
		ends(w);
		return;
	}
	if (mx_be16(d) != 0x0001)
	{
		skip(w, MX_SKIP_OTHER);
		return;
	}
	switch (d[3] >> 4)
	{
		case 1:
			len = 4 + 8;
			break;
		case 2:
			len = 4 + 6;
			break;
		default:
			skip(w, MX_SKIP_OTHER);
			return;
	}
	if (!has(w, off, len + 2))
	{
		ends(w);
		return;
	}
	next(w, STEP_ETHERTYPE, mx_be16(d + len), off + len + 2);
}

/*
 * 802.1AE MACsec's SecTAG at off, after its Ethernet type (print-macsec.c
 * macsec_print).  Encrypted user data (E or C set, as tcpdump tests them)
 * is "encrypted".  Integrity-only user data is in the clear: its type and
 * payload follow the SecTAG, and the 16-byte ICV follows them, at the end
 * of the frame on the wire, or after the short length's bytes when it is
 * not 0.  The frame is ended before the ICV, so that the packet's bytes do
 * not run into it; a short length that leaves no room for the ICV is
 * other, as tcpdump finds it truncated.
 */
static void
macsec(walk *w, uint32_t off)
{
	mx_link    *l = w->l;
	const uint8_t *d = l->d + off;
	uint32_t	len = 6;
	uint32_t	wire = l->n;
	uint32_t	end;

	if (!has(w, off, len))
	{
		ends(w);
		return;
	}
	if ((d[0] & 0x80) != 0 || (d[1] & 0xc0) != 0)
	{
		skip(w, MX_SKIP_OTHER);	/* a version or short length beyond 6 bits */
		return;
	}
	if (d[0] & 0x20)
		len += 8;				/* the SCI */
	if (!has(w, off, len))
	{
		ends(w);
		return;
	}
	if (d[0] & 0x0c)
	{
		skip(w, MX_SKIP_ENCRYPTED);
		return;
	}
	/*
	 * The frame's end on the wire, in l->d's bytes: past the captured ones
	 * when the snaplen cut the record (an outer MACsec that ended the frame
	 * made it whole; un-escaped HDLC bytes have no wire length to go by).
	 */
	if (l->cut && l->d == w->rec->data && w->rec->wirelen > w->rec->caplen)
		wire += w->rec->wirelen - w->rec->caplen;
	off += len;
	if (wire - off < 16)
	{
		skip(w, MX_SKIP_OTHER);	/* no room for the ICV */
		return;
	}
	end = wire - 16;
	if (d[1] != 0)
	{
		if (d[1] > end - off)
		{
			skip(w, MX_SKIP_OTHER);
			return;
		}
		end = off + d[1];
	}
	if (end <= l->n)
	{
		l->n = end;				/* the user data is whole */
		l->cut = false;
	}
	if (!has(w, off, 2))
	{
		ends(w);
		return;
	}
	next(w, STEP_ETHERTYPE, mx_be16(l->d + off), off + 2);
}

/*
 * NSH's headers at off (RFC 8300; print-nsh.c nsh_print): the base header
 * (version, O bit, TTL, length, MD type, next protocol), the service path
 * header (SPI, service index) and the context headers, length 4-byte words
 * in all; then the packet of the next protocol.
 */
static void
nsh(walk *w, uint32_t off)
{
	const uint8_t *d = w->l->d + off;
	uint32_t	len;

	if (!has(w, off, 8))
	{
		ends(w);
		return;
	}
	len = (uint32_t) (d[1] & 0x3f) * 4;
	if ((d[0] >> 6) != 0 || len < 8 || ((d[2] & 0x0f) == 1 && len != 24))
	{
		skip(w, MX_SKIP_OTHER);
		return;
	}
	if (!has(w, off, len))
	{
		ends(w);
		return;
	}
	switch (d[3])
	{
		case 1:
			found(w, 4, off + len);
			return;
		case 2:
			found(w, 6, off + len);
			return;
		case 3:
			next(w, STEP_ETHER, 0, off + len);
			return;
		case 4:
			next(w, STEP_ETHERTYPE, ETHERTYPE_NSH, off + len);
			return;
		case 5:
			next(w, STEP_MPLS, 0, off + len);
			return;
		default:
			skip(w, MX_SKIP_OTHER);
			return;
	}
}

/*
 * Any VLAN tags at off (type already read), then the payload by its type.
 * There is no limit on the number of tags, as in tcpdump: each takes 4
 * bytes of the frame, so the loop ends within caplen / 4 steps, and a frame
 * that ends among its tags is skipped as "short" when the snaplen cut it,
 * as "other" when it was captured whole.
 */
static void
ethertype(walk *w)
{
	mx_link    *l = w->l;
	uint16_t	type = (uint16_t) w->value;
	uint32_t	off = w->off;

	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
		   type == ETHERTYPE_QINQ_OLD)
	{
		if (!has(w, off, 4))
		{
			ends(w);
			return;
		}
		if (!l->has_vlan)
		{
			l->has_vlan = true;
			l->vlan = mx_be16(l->d + off) & 0x0fff;
		}
		type = mx_be16(l->d + off + 2);
		off += 4;
	}

	switch (type)
	{
		case ETHERTYPE_IPV4:
			found(w, 4, off);
			return;
		case ETHERTYPE_IPV6:
			found(w, 6, off);
			return;
		case ETHERTYPE_ARP:
		case ETHERTYPE_RARP:
			skip(w, MX_SKIP_ARP);
			return;
		case ETHERTYPE_LLDP:
			skip(w, MX_SKIP_LLDP);
			return;
		case ETHERTYPE_PPPOE_DISC:
			skip(w, MX_SKIP_CONTROL);
			return;
		case ETHERTYPE_PPPOE_SESS:
			/* version/type, code, session id, length (RFC 2516) */
			if (!has(w, off, 6))
				break;
			if (l->d[off + 1] != 0)
			{
				skip(w, MX_SKIP_CONTROL);	/* a discovery code */
				return;
			}
			next(w, STEP_PPP, 0, off + 6);
			return;
		case ETHERTYPE_MPLS:
		case ETHERTYPE_MPLS_MULTI:
			next(w, STEP_MPLS, 0, off);
			return;
		case ETHERTYPE_PBB:
			/* I-TAG (4), customer destination and source, type */
			if (!has(w, off, 18))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(l->d + off + 16), off + 18);
			return;
		case ETHERTYPE_VNTAG:
			if (!has(w, off, 6))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(l->d + off + 4), off + 6);
			return;
		case ETHERTYPE_ARISTA:
			arista(w, off);
			return;
		case ETHERTYPE_MACSEC:
			macsec(w, off);
			return;
		case ETHERTYPE_NSH:
			nsh(w, off);
			return;
		case ETHERTYPE_JUMBO:
			next(w, STEP_LLC, 0, off);
			return;
		default:
			/* an 802.3 length (up to 1500): 802.2 LLC follows */
			if (type <= 1500)
				next(w, STEP_LLC, 0, off);
			else
				skip(w, MX_SKIP_OTHER);
			return;
	}
	ends(w);
}

/*
 * 802.2 LLC (print-llc.c llc_print): DSAP, SSAP, control.  A UI frame
 * (control 0x03) between SNAP SAPs (0xaa, group and response bits aside)
 * has SNAP's OUI and protocol id: OUI 0 (RFC 1042) and 0x0000f8 (802.1H,
 * bridge tunnel) carry an Ethernet type; a UI frame between SAPs 0x06 is
 * IPv4 (RFC 948).  Everything else (spanning tree, NetBIOS, IPX, XID and
 * TEST, I and S frames) is "llc".
 */
static void
llc(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	oui;
	uint16_t	pid;

	if (!has(w, w->off, 3))
	{
		ends(w);
		return;
	}
	if ((d[0] & 0xfe) == 0xaa && (d[1] & 0xfe) == 0xaa && d[2] == 0x03)
	{
		if (!has(w, w->off, 8))
		{
			ends(w);
			return;
		}
		oui = ((uint32_t) d[3] << 16) | ((uint32_t) d[4] << 8) | d[5];
		pid = mx_be16(d + 6);
		if ((oui == 0 || oui == 0x0000f8) && pid >= 0x0600)
			next(w, STEP_ETHERTYPE, pid, w->off + 8);
		else
			skip(w, MX_SKIP_LLC);
		return;
	}
	if ((d[0] & 0xfe) == 0x06 && (d[1] & 0xfe) == 0x06 && d[2] == 0x03)
	{
		found(w, 4, w->off + 3);
		return;
	}
	skip(w, MX_SKIP_LLC);
}

/*
 * RFC 1662's octet stuffing: a PPP frame captured with its 0x7e flag (as
 * tcpdump's ppp_hdlc finds one: a protocol whose high byte is 0x7e).  The
 * bytes after the flag are un-escaped (0x7d: the next byte XOR 0x20) into
 * l->hdlc, which the walk then reads, with tcpdump's guesses: a first byte
 * 0x21 is IPv4, 0x57 IPv6; 0xff 0x03 is address and control, a two-byte
 * protocol follows; else a two-byte protocol.
 */
static void
hdlc(walk *w, uint32_t start)
{
	mx_link    *l = w->l;
	uint32_t	i = start;
	uint32_t	n = 0;
	uint16_t	proto;

	if (l->d == l->hdlc)
	{
		skip(w, MX_SKIP_OTHER);	/* a flag inside an un-escaped frame */
		return;
	}
	while (i < l->n && n < MX_LINK_HDLC_MAX)
	{
		uint8_t		c = l->d[i++];

		if (c == 0x7d)
		{
			if (i >= l->n)
				break;
			c = l->d[i++] ^ 0x20;
		}
		l->hdlc[n++] = c;
	}
	if (i < l->n)
		l->cut = true;			/* decoded as far as the buffer goes */
	l->d = l->hdlc;
	l->n = n;

	if (!has(w, 0, 1))
	{
		ends(w);
		return;
	}
	if (l->d[0] == 0x21)
	{
		found(w, 4, 1);
		return;
	}
	if (l->d[0] == 0x57)
	{
		found(w, 6, 1);
		return;
	}
	if (!has(w, 0, 2))
	{
		ends(w);
		return;
	}
	if (mx_be16(l->d) == 0xff03)
	{
		if (!has(w, 0, 4))
		{
			ends(w);
			return;
		}
		proto = mx_be16(l->d + 2);
		start = 4;
	}
	else
	{
		proto = mx_be16(l->d);
		start = 2;
	}
	if ((proto & 0xff00) == 0x7e00)
		skip(w, MX_SKIP_OTHER);
	else
		next(w, STEP_PPP_PROTO, proto, start);
}

/*
 * A PPP protocol (print-ppp.c handle_ppp; RFC 1661 and the IANA registry):
 * IPv4 (0x0021, and the Ethernet type 0x0800 some writers use), IPv6
 * (0x0057, 0x86dd), MPLS (0x0281, 0x0283); network and link control
 * protocols (0x8000 and above: IPCP, IPV6CP, CCP, LCP, PAP, CHAP, ...) are
 * control frames; a high byte 0x7e is a flag, octet-stuffed framing.  Van
 * Jacobson compressed TCP/IP (0x002d, 0x002f) has no IP header to read
 * (0x002f's protocol byte holds a connection number): other, as is
 * everything else.
 */
static void
ppp_proto(walk *w)
{
	uint32_t	proto = w->value;

	if ((proto & 0xff00) == 0x7e00)
	{
		hdlc(w, w->off - 1);
		return;
	}
	switch (proto)
	{
		case 0x0021:
		case ETHERTYPE_IPV4:
			found(w, 4, w->off);
			return;
		case 0x0057:
		case ETHERTYPE_IPV6:
			found(w, 6, w->off);
			return;
		case 0x0281:
		case 0x0283:
			next(w, STEP_MPLS, 0, w->off);
			return;
	}
	if (proto >= 0x8000)
		skip(w, MX_SKIP_CONTROL);
	else
		skip(w, MX_SKIP_OTHER);
}

/*
 * A PPP frame (print-ppp.c ppp_print): address and control (0xff 0x03), or
 * pppd's direction byte and 0x03, when there; then the protocol, in one
 * byte when its low bit is set (PFC), else in two.
 */
static void
ppp(walk *w)
{
	const uint8_t *d;
	uint32_t	off = w->off;

	if (!has(w, off, 2))
	{
		ends(w);
		return;
	}
	d = w->l->d + off;
	if ((d[0] == 0xff || d[0] == 0x00 || d[0] == 0x01) && d[1] == 0x03)
	{
		off += 2;
		if (!has(w, off, 2))
		{
			ends(w);
			return;
		}
		d += 2;
	}
	if (d[0] & 1)
		next(w, STEP_PPP_PROTO, d[0], off + 1);
	else
		next(w, STEP_PPP_PROTO, mx_be16(d), off + 2);
}

/*
 * Cisco HDLC (print-chdlc.c chdlc_print): address, control, an Ethernet
 * type: IPv4, IPv6, MPLS; SLARP and CDP are control frames.
 */
static void
chdlc(walk *w)
{
	uint16_t	proto;

	if (!has(w, w->off, 4))
	{
		ends(w);
		return;
	}
	proto = mx_be16(w->l->d + w->off + 2);
	switch (proto)
	{
		case ETHERTYPE_IPV4:
			found(w, 4, w->off + 4);
			return;
		case ETHERTYPE_IPV6:
			found(w, 6, w->off + 4);
			return;
		case ETHERTYPE_MPLS:
		case ETHERTYPE_MPLS_MULTI:
			next(w, STEP_MPLS, 0, w->off + 4);
			return;
		case 0x8035:			/* SLARP */
		case 0x2000:			/* CDP */
			skip(w, MX_SKIP_CONTROL);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/*
 * An MPLS label stack (RFC 3032; print-mpls.c mpls_print): 4-byte entries
 * to the one with the bottom-of-stack bit, any number of them.  The bottom
 * label says what follows when it is a reserved one (0 IPv4 explicit null,
 * 3 implicit null, 2 IPv6 explicit null); otherwise the first byte of the
 * payload, as tcpdump guesses: 0x45-0x4f IPv4, 0x60-0x6f IPv6; anything
 * else (pseudowires, OSI) is other.
 */
static void
mpls(walk *w)
{
	uint32_t	off = w->off;
	uint32_t	e;
	uint8_t		first;

	do
	{
		if (!has(w, off, 4))
		{
			ends(w);
			return;
		}
		e = mx_be32(w->l->d + off);
		off += 4;
	} while ((e & 0x100) == 0);

	switch (e >> 12)
	{
		case 0:
		case 3:
			found(w, 4, off);
			return;
		case 2:
			found(w, 6, off);
			return;
	}
	if (!has(w, off, 1))
	{
		ends(w);
		return;
	}
	first = w->l->d[off];
	if (first >= 0x45 && first <= 0x4f)
		found(w, 4, off);
	else if (first >= 0x60 && first <= 0x6f)
		found(w, 6, off);
	else
		skip(w, MX_SKIP_OTHER);
}

/*
 * An 802.11 frame (print-802_11.c ieee802_11_print, IEEE 802.11-2020 9.2):
 * frame control (little-endian): type in bits 2-3, subtype in 4-7, To DS
 * and From DS in bits 8 and 9, Protected in 14, +HTC / Order in 15.
 */
static void
wlan(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint16_t	fc;
	uint32_t	hlen;
	unsigned	subtype;

	if (!has(w, w->off, 2))
	{
		ends(w);
		return;
	}
	fc = mx_le16(d);
	switch ((fc >> 2) & 3)
	{
		case 0:					/* management */
		case 1:					/* control */
			skip(w, MX_SKIP_CONTROL);
			return;
		case 2:					/* data */
			break;
		default:				/* extension (DMG beacons) */
			skip(w, MX_SKIP_OTHER);
			return;
	}
	subtype = (fc >> 4) & 0xf;
	hlen = (fc & 0x0300) == 0x0300 ? 30 : 24;
	if (subtype & 0x8)
	{
		hlen += 2;				/* QoS control */
		if (fc & 0x8000)
			hlen += 4;			/* HT control */
	}
	if (subtype & 0x4)
	{
		skip(w, MX_SKIP_CONTROL);	/* null function: no body */
		return;
	}
	if (!has(w, w->off, hlen))
	{
		ends(w);
		return;
	}
	if (fc & 0x4000)
	{
		skip(w, MX_SKIP_ENCRYPTED);
		return;
	}
	if ((subtype & 0x8) && (d[hlen - ((fc & 0x8000) ? 6 : 2)] & 0x80))
	{
		skip(w, MX_SKIP_OTHER);	/* an A-MSDU: several packets */
		return;
	}
	if (w->value)
		hlen = (hlen + 3) & ~(uint32_t) 3;	/* radiotap's DATAPAD */
	next(w, STEP_LLC, 0, w->off + hlen);
}

/*
 * A radiotap header (radiotap.org; print-802_11.c ieee802_11_radio_print):
 * version 0, pad, length, presence words while bit 31 is set, all
 * little-endian; fields aligned to their size from the header's start.
 * Only the Flags field matters here, for DATAPAD (0x20); the FCS (flag 0x10)
 * trails the frame, after the IP packet's end.
 */
static void
radiotap(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	len;
	uint32_t	present;
	uint32_t	p = 4;
	uint32_t	field;
	uint32_t	pad = 0;

	if (!has(w, w->off, 8))
	{
		ends(w);
		return;
	}
	len = mx_le16(d + 2);
	present = mx_le32(d + 4);
	if (d[0] != 0 || len < 8 || !has(w, w->off, len))
	{
		ends(w);
		return;
	}
	while (mx_le32(d + p) & 0x80000000)
	{
		p += 4;
		if (p + 4 > len)
		{
			ends(w);
			return;
		}
	}
	field = p + 4;
	if (present & 0x1)			/* TSFT: 8 bytes, 8-aligned */
		field = ((field + 7) & ~(uint32_t) 7) + 8;
	if (present & 0x2)			/* Flags: 1 byte */
	{
		if (field + 1 > len)
		{
			ends(w);
			return;
		}
		pad = (d[field] & 0x20) ? 1 : 0;
	}
	next(w, STEP_WLAN, pad, w->off + len);
}

/* ARCNET protocol ids (RFC 1201, RFC 1051, RFC 2497) */
#define ARCTYPE_IP_OLD		240
#define ARCTYPE_ARP_OLD		241
#define ARCTYPE_IP			212
#define ARCTYPE_ARP			213
#define ARCTYPE_REVARP		214
#define ARCTYPE_INET6		0xc4
#define ARCTYPE_DIAGNOSE	0x80

/*
 * ARCNET, BSD's header (is_linux false) or Linux's (a 2-byte offset after
 * the addresses); see the header comment.
 */
static void
arcnet(walk *w, bool is_linux)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	at = is_linux ? 4 : 2;	/* the protocol id */
	uint32_t	hlen;
	uint8_t		type;
	uint8_t		flag = 0;

	if (!has(w, w->off, at + 1))
	{
		ends(w);
		return;
	}
	type = d[at];
	if (type == ARCTYPE_IP_OLD || type == ARCTYPE_ARP_OLD ||
		type == ARCTYPE_DIAGNOSE)
		hlen = at + 1;
	else
	{
		hlen = at + 4;
		if (!has(w, w->off, hlen))
		{
			ends(w);
			return;
		}
		flag = d[at + 1];
		if (!is_linux && flag == 0xff)
		{
			/* an exception packet: the header again after 0xff 0xff */
			hlen = at + 8;
			if (!has(w, w->off, hlen))
			{
				ends(w);
				return;
			}
			flag = d[at + 5];
		}
		if (!is_linux && flag != 0 && (flag & 1) == 0)
		{
			skip(w, MX_SKIP_OTHER);	/* a fragment after the first */
			return;
		}
	}
	switch (type)
	{
		case ARCTYPE_IP:
		case ARCTYPE_IP_OLD:
			found(w, 4, w->off + hlen);
			return;
		case ARCTYPE_INET6:
			found(w, 6, w->off + hlen);
			return;
		case ARCTYPE_ARP:
		case ARCTYPE_ARP_OLD:
		case ARCTYPE_REVARP:
			skip(w, MX_SKIP_ARP);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/*
 * NFLOG (print-nflog.c; tcpdump.org's LINKTYPE_NFLOG page): family,
 * version 0, resource id; TLVs, each length (including its 4-byte
 * header, padded to 4) and type in the file's byte order; the payload TLV
 * (type 9) holds the packet, whose family the header gives (2 IPv4, 10
 * IPv6, 3 ARP).  A payload cut by the snaplen is decoded as far as it goes.
 */
static void
nflog(walk *w)
{
	const uint8_t *d = w->l->d;
	bool		big = w->rec->big_endian;
	uint32_t	off = w->off + 4;
	uint8_t		family;

	if (!has(w, w->off, 4))
	{
		ends(w);
		return;
	}
	family = d[w->off];
	if (d[w->off + 1] != 0)
	{
		skip(w, MX_SKIP_OTHER);	/* a version we do not know */
		return;
	}
	for (;;)
	{
		uint32_t	size;

		if (!has(w, off, 4))
		{
			ends(w);			/* no payload TLV */
			return;
		}
		size = mx_get16(d + off, big);
		if (size < 4)
		{
			ends(w);
			return;
		}
		if (mx_get16(d + off + 2, big) == 9)
			break;
		off += (size + 3) & ~(uint32_t) 3;
	}
	switch (family)
	{
		case 2:
			found(w, 4, off + 4);
			return;
		case 10:
			found(w, 6, off + 4);
			return;
		case 3:
			skip(w, MX_SKIP_ARP);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/*
 * Frame Relay (print-fr.c parse_q922_header and fr_print; RFC 2427 and
 * Q.922): see the header comment.  The DLCI matters only as zero or not:
 * tcpdump reads Cisco's framing on DLCIs other than 0 alone.
 */
static void
frelay(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	alen;
	uint32_t	at;
	bool		dlci;

	if (!has(w, w->off, 2))
	{
		ends(w);
		return;
	}
	if (d[0] & 0x01)
	{
		skip(w, MX_SKIP_OTHER);	/* an address of one byte: invalid */
		return;
	}
	dlci = (d[0] & 0xfc) != 0 || (d[1] & 0xf0) != 0;
	alen = 2;
	if ((d[1] & 0x01) == 0)
	{
		/* a 3- or 4-byte address: the last holds the EA bit */
		if (!has(w, w->off, 4))
		{
			ends(w);
			return;
		}
		alen = (d[2] & 0x01) ? 3 : 4;
		if (alen == 4 && (d[3] & 0x01) == 0)
		{
			skip(w, MX_SKIP_OTHER);	/* longer than 4 bytes */
			return;
		}
		if (alen == 4)
			dlci = dlci || (d[2] & 0xfe) != 0 || (d[3] & 0xfc) != 0;
		else
			dlci = dlci || (d[2] & 0xfc) != 0;
	}
	if (!has(w, w->off, alen + 2))
	{
		ends(w);
		return;
	}
	if (d[alen] != 0x03 && dlci)
	{
		/* Cisco's framing: an Ethernet type after the address */
		next(w, STEP_ETHERTYPE, mx_be16(d + alen), w->off + alen + 2);
		return;
	}
	at = d[alen + 1] == 0x00 ? alen + 2 : alen + 1;	/* a pad byte */
	if (!has(w, w->off, at + 1))
	{
		ends(w);
		return;
	}
	switch (d[at])
	{
		case 0xcc:
			found(w, 4, w->off + at + 1);
			return;
		case 0x8e:
			found(w, 6, w->off + at + 1);
			return;
		case 0x08:
			skip(w, MX_SKIP_CONTROL);	/* Q.933 signalling */
			return;
		case 0x80:
			/* SNAP: an OUI, and for OUI 0 an Ethernet type */
			if (!has(w, w->off, at + 6))
			{
				ends(w);
				return;
			}
			if (d[at + 1] == 0 && d[at + 2] == 0 && d[at + 3] == 0)
				next(w, STEP_ETHERTYPE, mx_be16(d + at + 4), w->off + at + 6);
			else
				skip(w, MX_SKIP_OTHER);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/* IP by its version nibble, for link types that carry bare IP. */
static void
raw(walk *w)
{
	if (!has(w, w->off, 1))
	{
		ends(w);
		return;
	}
	switch (w->l->d[w->off] >> 4)
	{
		case 4:
			found(w, 4, w->off);
			return;
		case 6:
			found(w, 6, w->off);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/* BSD loopback: the address family, AF_INET or one of the AF_INET6s. */
static void
family(walk *w, uint32_t af, uint32_t off)
{
	switch (af)
	{
		case 2:
			found(w, 4, off);
			return;
		case 10:				/* Linux */
		case 24:				/* NetBSD, OpenBSD, BSD/OS */
		case 28:				/* FreeBSD, DragonFly */
		case 30:				/* macOS */
			found(w, 6, off);
			return;
	}
	skip(w, MX_SKIP_OTHER);
}

/*
 * A Linux cooked capture's protocol (print-sll.c): an Ethernet type, or
 * up to 1500 one of Linux's own values: 4 is 802.2 LLC, the others are
 * 802.3 framings (raw IPX, ...).
 */
static void
cooked(walk *w, uint16_t proto, uint32_t off)
{
	if (proto == 0x0004)
		next(w, STEP_LLC, 0, off);
	else if (proto <= 1500)
		skip(w, MX_SKIP_LLC);
	else
		next(w, STEP_ETHERTYPE, proto, off);
}

/* The link-layer header of link type w->value at w->off. */
static void
linktype(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	off = w->off;
	uint32_t	af;
	uint32_t	len;

	switch (w->value)
	{
		case MX_LINKTYPE_ETHERNET:
			next(w, STEP_ETHER, 0, off);
			return;
		case MX_LINKTYPE_LINUX_SLL:
			if (!has(w, off, 16))
				break;
			cooked(w, mx_be16(d + 14), off + 16);
			return;
		case MX_LINKTYPE_LINUX_SLL2:
			if (!has(w, off, 20))
				break;
			cooked(w, mx_be16(d), off + 20);
			return;
		case MX_LINKTYPE_RAW12:
		case MX_LINKTYPE_RAW14:
		case MX_LINKTYPE_RAW:
		case MX_LINKTYPE_IPV4:
		case MX_LINKTYPE_IPV6:
			next(w, STEP_RAW, 0, off);
			return;
		case MX_LINKTYPE_NULL:
			if (!has(w, off, 4))
				break;
			/* host byte order of the capturing machine: try both */
			af = mx_le32(d);
			if (af > 0xffff)
				af = mx_be32(d);
			family(w, af, off + 4);
			return;
		case MX_LINKTYPE_LOOP:
			if (!has(w, off, 4))
				break;
			family(w, mx_be32(d), off + 4);
			return;
		case MX_LINKTYPE_PPP:
			next(w, STEP_PPP, 0, off);
			return;
		case MX_LINKTYPE_PPP_HDLC:
			if (!has(w, off, 1))
				break;
			if (d[0] == 0x0f || d[0] == 0x8f)
				next(w, STEP_CHDLC, 0, off);
			else if (d[0] == 0xff)
			{
				if (!has(w, off, 4))
					break;
				next(w, STEP_PPP_PROTO, mx_be16(d + 2), off + 4);
			}
			else
				skip(w, MX_SKIP_OTHER);
			return;
		case MX_LINKTYPE_C_HDLC:
			next(w, STEP_CHDLC, 0, off);
			return;
		case MX_LINKTYPE_FRELAY:
			frelay(w);
			return;
		case MX_LINKTYPE_FDDI:
			if (!has(w, off, 13))
				break;
			if ((d[0] & 0xf0) == 0x50)
				next(w, STEP_LLC, 0, off + 13);
			else if ((d[0] & 0xf0) == 0x40 || (d[0] & 0xf0) == 0xc0 ||
					 d[0] == 0x80)
				skip(w, MX_SKIP_CONTROL);	/* SMT, MAC, tokens */
			else
				skip(w, MX_SKIP_OTHER);
			return;
		case MX_LINKTYPE_ARCNET_BSD:
			arcnet(w, false);
			return;
		case MX_LINKTYPE_ARCNET_LINUX:
			arcnet(w, true);
			return;
		case MX_LINKTYPE_IEEE802_11:
			next(w, STEP_WLAN, 0, off);
			return;
		case MX_LINKTYPE_RADIOTAP:
			radiotap(w);
			return;
		case MX_LINKTYPE_PPI:
			if (!has(w, off, 8))
				break;
			len = mx_le16(d + 2);
			if (len < 8 || len > 65532 || !has(w, off, len))
				break;
			next(w, STEP_LINKTYPE, mx_le32(d + 4), off + len);
			return;
		case MX_LINKTYPE_PKTAP:
			if (!has(w, off, 108))
				break;
			len = mx_le32(d);
			if (len < 108 || !has(w, off, len))
				break;
			if (mx_le32(d + 4) != 1)
				skip(w, MX_SKIP_OTHER);	/* no packet follows */
			else
				next(w, STEP_LINKTYPE, mx_le32(d + 8), off + len);
			return;
		case MX_LINKTYPE_IPNET:
			if (!has(w, off, 24))
				break;
			if (d[1] == 2)
				found(w, 4, off + 24);
			else if (d[1] == 26)
				found(w, 6, off + 24);
			else
				skip(w, MX_SKIP_OTHER);
			return;
		case MX_LINKTYPE_NFLOG:
			nflog(w);
			return;
		case MX_LINKTYPE_IPOIB:
			if (!has(w, off, 44))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(d + 40), off + 44);
			return;
		default:
			skip(w, MX_SKIP_LINKTYPE);
			return;
	}
	ends(w);
}

/* Walk rec's frame to its IP header; see the header comment. */
void
mx_link_decode(mx_link *l, const mx_record *rec)
{
	walk		w;
	int			nest = 0;

	l->d = rec->data;
	l->n = rec->caplen;
	l->cut = rec->caplen < rec->wirelen;
	l->net = 0;
	l->off = 0;
	l->reason = MX_SKIP_NONE;
	l->has_vlan = false;
	l->vlan = 0;

	w.l = l;
	w.rec = rec;
	next(&w, STEP_LINKTYPE, rec->linktype, 0);
	while (w.step != STEP_DONE)
	{
		if (++nest > MX_LINK_MAX_NEST)
		{
			skip(&w, MX_SKIP_OTHER);
			break;
		}
		switch (w.step)
		{
			case STEP_LINKTYPE:
				linktype(&w);
				break;
			case STEP_ETHER:
				if (!has(&w, w.off, 14))
					ends(&w);
				else
					next(&w, STEP_ETHERTYPE, mx_be16(l->d + w.off + 12),
						 w.off + 14);
				break;
			case STEP_ETHERTYPE:
				ethertype(&w);
				break;
			case STEP_LLC:
				llc(&w);
				break;
			case STEP_PPP:
				ppp(&w);
				break;
			case STEP_PPP_PROTO:
				ppp_proto(&w);
				break;
			case STEP_CHDLC:
				chdlc(&w);
				break;
			case STEP_MPLS:
				mpls(&w);
				break;
			case STEP_WLAN:
				wlan(&w);
				break;
			case STEP_RAW:
				raw(&w);
				break;
			case STEP_DONE:
				break;
		}
	}
}
