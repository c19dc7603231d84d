/*-------------------------------------------------------------------------
 *
 * mx_link.c
 *		Link layers and encapsulations: from a captured frame to the start
 *		of its IP header.
 *
 * Policy.  Nothing past the captured bytes is read.  A link header is read
 * only when the frame holds all of it; a frame that ends inside one, or
 * whose link header contradicts itself, is skipped, never an error: as
 * "short" when the snaplen cut the frame, else as "other".  Frames of a
 * known link type that carry no IP packet are skipped by reason (ARP, LLC,
 * LLDP, other), as tcpdump shows them but does not count them as IP.
 *
 * The walk is a loop over steps, not recursion: each step reads one header
 * at w->off and names the next one (a link type, an Ethernet type, ...), so
 * that a frame of nested encapsulations costs no stack.  VLAN tags are read
 * in a loop of their own and do not count against MX_LINK_MAX_NEST.
 *
 * Link types (LINKTYPE_* numbers, as in capture files; libpcap's
 * pcap/dlt.h and tcpdump's printers define the headers):
 *	EN10MB (1)			14-byte Ethernet header, then any number of 802.1Q /
 *						802.1ad / 0x9100 tags (QinQ); vlan = the outermost VID
 *	LINUX_SLL (113)		16-byte cooked header, protocol at byte 14
 *	LINUX_SLL2 (276)	20-byte cooked header, protocol at byte 0
 *	RAW (12, 14, 101), IPV4 (228), IPV6 (229): the IP header at byte 0
 *	NULL (0)			4-byte address family in the capturing host's byte
 *						order (we accept either); LOOP (108) big-endian
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

/* What the next step reads. */
typedef enum step
{
	STEP_LINKTYPE,				/* value: a LINKTYPE_* header at off */
	STEP_ETHERTYPE,				/* value: an Ethernet type; its payload (or
								 * its first VLAN tag) at off */
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

/* An IPv4 (4) or IPv6 (6) header at off: the walk ends. */
static void
found(walk *w, uint8_t net, uint32_t off)
{
	if (off > w->l->n)
	{
		skip(w, w->l->cut ? MX_SKIP_SHORT : MX_SKIP_OTHER);
		return;
	}
	w->l->net = net;
	w->l->off = off;
	w->step = STEP_DONE;
}

/* The frame ends inside a link header (or holds a malformed one). */
static void
ends(walk *w)
{
	skip(w, w->l->cut ? MX_SKIP_SHORT : MX_SKIP_OTHER);
}

/* Does the frame hold len bytes at off? */
static bool
has(const walk *w, uint32_t off, uint32_t len)
{
	return off <= w->l->n && len <= w->l->n - off;
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
	}
	if (type < 0x0600)
		skip(w, MX_SKIP_LLC);	/* 802.3 length, or Linux 802.2/802.3 */
	else
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

/* The link-layer header of link type w->value at w->off. */
static void
linktype(walk *w)
{
	const uint8_t *d = w->l->d + w->off;
	uint32_t	off = w->off;
	uint32_t	af;

	switch (w->value)
	{
		case MX_LINKTYPE_ETHERNET:
			if (!has(w, off, 14))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(d + 12), off + 14);
			return;
		case MX_LINKTYPE_LINUX_SLL:
			if (!has(w, off, 16))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(d + 14), off + 16);
			return;
		case MX_LINKTYPE_LINUX_SLL2:
			if (!has(w, off, 20))
				break;
			next(w, STEP_ETHERTYPE, mx_be16(d), off + 20);
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
			case STEP_ETHERTYPE:
				ethertype(&w);
				break;
			case STEP_RAW:
				raw(&w);
				break;
			case STEP_DONE:
				break;
		}
	}
}
