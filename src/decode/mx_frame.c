/*-------------------------------------------------------------------------
 *
 * mx_frame.c
 *		From one captured frame to an mx_packet: link layer, IP, TCP/UDP/ICMP.
 *
 * Policy.  Nothing past rec->caplen is read.  A frame that the snaplen cut
 * (caplen < wirelen) is decoded as far as its bytes go: a TCP header cut
 * after the ports gives a packet with ports and no sequence number.  A frame
 * that was captured whole but whose IP headers contradict themselves (IPv4
 * header length below 5 words, an IPv6 extension chain running past the end
 * of the packet) cannot come from a network, so it is an error
 * (MX_ERR_PACKET) that names the field.  Frames that are not IP (ARP,
 * spanning tree, LLDP) and link types we do not read are skipped with a
 * reason, as tcpdump would show them but not count them as IP.
 *
 * Link layers and encapsulations are mx_link.c's: it finds where the IP
 * header starts (and the VLAN id), or why the frame has none; this file
 * decodes from there.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "mx_bytes.h"
#include "mx_link.h"

/* Context of one decode: the frame and where to report. */
typedef struct frame
{
	const mx_record *rec;
	const uint8_t *d;
	uint32_t	n;				/* bytes captured */
	bool		cut;			/* the snaplen cut the frame */
	mx_packet  *pkt;
	mx_skip_reason *reason;
	mx_error   *err;
} frame;

static mx_status
skip(frame *f, mx_skip_reason reason)
{
	*f->reason = reason;
	return MX_SKIP;
}

static mx_status
bad_packet(frame *f, const char *field, uint32_t off, const char *msg)
{
	return mx_fail(f->err, MX_ERR_PACKET, field, f->rec->packetno,
				   f->rec->offset, "%s (byte %u of the frame)", msg, off);
}

/* Ports, ICMP type/code or TCP fields from the transport header at off. */
static void
decode_transport(frame *f, uint32_t off, uint32_t end)
{
	mx_packet  *p = f->pkt;
	const uint8_t *d = f->d + off;
	uint32_t	avail = end > off ? end - off : 0;

	switch (p->proto)
	{
		case MX_PROTO_TCP:
			/* a snaplen may cut the header: keep what is there */
			if (avail >= 8)
			{
				p->seq = mx_be32(d + 4);
				p->present |= MX_HAS_SEQ;
			}
			if (avail >= 16)
			{
				p->ack = mx_be32(d + 8);
				p->tcp_flags = (uint16_t) (((d[12] & 1) << 8) | d[13]);
				p->window = mx_be16(d + 14);
				p->present |= MX_HAS_TCP;
			}
			/* FALLTHROUGH */
		case MX_PROTO_UDP:
		case 33:				/* DCCP */
		case 132:				/* SCTP */
		case 136:				/* UDP-Lite */
			if (avail >= 4)
			{
				p->sport = mx_be16(d);
				p->dport = mx_be16(d + 2);
				p->present |= MX_HAS_PORTS;
			}
			break;
		case MX_PROTO_ICMP:
		case MX_PROTO_ICMPV6:
			if (avail >= 2)
			{
				p->sport = d[0];
				p->dport = d[1];
				p->present |= MX_HAS_PORTS;
			}
			break;
		default:
			break;
	}
}

/* IPv4 (RFC 791) at off.  IHL counts 32-bit words. */
static mx_status
decode_ipv4(frame *f, uint32_t off)
{
	mx_packet  *p = f->pkt;
	const uint8_t *d = f->d + off;
	uint32_t	avail = f->n - off;
	uint32_t	hl,
				totlen,
				end;
	uint16_t	frag;

	if (avail < 20)
	{
		if (f->cut)
			return skip(f, MX_SKIP_SHORT);
		return bad_packet(f, "ipv4.header", off, "IPv4 header is cut short");
	}
	if ((d[0] >> 4) != 4)
		return bad_packet(f, "ipv4.version", off, "IPv4 header has the wrong version");
	hl = (uint32_t) (d[0] & 0x0f) * 4;
	if (hl < 20)
		return bad_packet(f, "ipv4.ihl", off, "IPv4 header length is below 5 words");
	totlen = mx_be16(d + 2);
	if (totlen != 0 && totlen < hl)
		return bad_packet(f, "ipv4.total_length", off,
						  "IPv4 total length is smaller than its header");
	if (hl > avail && !f->cut)
		return bad_packet(f, "ipv4.ihl", off,
						  "IPv4 header runs past the end of the packet");

	p->ipver = 4;
	p->ipid = mx_be16(d + 4);
	p->ttl = d[8];
	p->proto = d[9];
	memcpy(p->src, d + 12, 4);
	memcpy(p->dst, d + 16, 4);
	frag = mx_be16(d + 6);
	if (frag & 0x3fff)
		p->present |= MX_IS_FRAGMENT;
	if ((frag & 0x1fff) != 0 || hl > avail)
		return MX_OK;			/* not a first fragment, or options cut */

	/* Transport header: inside the IP packet (total length 0 = TSO). */
	end = f->n;
	if (totlen != 0 && off + totlen < end)
		end = off + totlen;
	decode_transport(f, off + hl, end);
	return MX_OK;
}

/* IPv6 (RFC 8200) at off, through its extension headers. */
static mx_status
decode_ipv6(frame *f, uint32_t off)
{
	mx_packet  *p = f->pkt;
	const uint8_t *d = f->d + off;
	uint32_t	avail = f->n - off;
	uint32_t	end,
				cur,
				plen;
	uint8_t		nh;
	int			hops;

	if (avail < 40)
	{
		if (f->cut)
			return skip(f, MX_SKIP_SHORT);
		return bad_packet(f, "ipv6.header", off, "IPv6 header is cut short");
	}
	if ((d[0] >> 4) != 6)
		return bad_packet(f, "ipv6.version", off, "IPv6 header has the wrong version");
	p->ipver = 6;
	p->ttl = d[7];
	memcpy(p->src, d + 8, 16);
	memcpy(p->dst, d + 24, 16);
	plen = mx_be16(d + 4);
	end = f->n;
	if (plen != 0 && off + 40 + plen < end)
		end = off + 40 + plen;

	nh = d[6];
	cur = off + 40;
	for (hops = 0;; hops++)
	{
		uint32_t	hlen;

		p->proto = nh;
		if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
			break;				/* an upper-layer header, or none (59) */
		if (hops >= 64)
			return bad_packet(f, "ipv6.next_header", cur,
							  "IPv6 extension header chain is longer than 64 headers");
		if (cur + 8 > end)
		{
			if (f->cut)
				return MX_OK;	/* the snaplen cut the chain: no transport */
			return bad_packet(f, "ipv6.extension", cur,
							  "IPv6 extension header chain runs past the end of the packet");
		}
		if (nh == 44)
		{
			/* fragment header: 8 bytes; offset in 8-byte units, M flag */
			uint16_t	fo = mx_be16(f->d + cur + 2);

			p->present |= MX_IS_FRAGMENT;
			if ((fo & 0xfff8) != 0)
			{
				p->proto = f->d[cur];
				return MX_OK;	/* not the first fragment */
			}
			hlen = 8;
		}
		else if (nh == 51)
			hlen = ((uint32_t) f->d[cur + 1] + 2) * 4;	/* AH: 4-byte units */
		else
			hlen = ((uint32_t) f->d[cur + 1] + 1) * 8;	/* 8-byte units */
		if (cur + hlen > end)
		{
			if (f->cut)
				return MX_OK;
			return bad_packet(f, "ipv6.extension", cur,
							  "IPv6 extension header chain runs past the end of the packet");
		}
		nh = f->d[cur];
		cur += hlen;
	}
	decode_transport(f, cur, end);
	return MX_OK;
}

/* Decode rec's frame into *pkt; see the header comment for the policy. */
mx_status
mx_decode_frame(const mx_record *rec, mx_packet *pkt, mx_skip_reason *reason,
				mx_error *err)
{
	frame		f;
	mx_link		link;

	memset(pkt, 0, sizeof(*pkt));
	pkt->ts_ns = rec->ts_ns;
	pkt->wirelen = rec->wirelen;
	pkt->caplen = rec->caplen;
	*reason = MX_SKIP_NONE;

	mx_link_decode(&link, rec);
	if (link.has_vlan)
	{
		pkt->vlan = link.vlan;
		pkt->present |= MX_HAS_VLAN;
	}

	f.rec = rec;
	f.d = link.d;
	f.n = link.n;
	f.cut = link.cut;
	f.pkt = pkt;
	f.reason = reason;
	f.err = err;

	switch (link.net)
	{
		case 4:
			return decode_ipv4(&f, link.off);
		case 6:
			return decode_ipv6(&f, link.off);
	}
	return skip(&f, link.reason);
}
