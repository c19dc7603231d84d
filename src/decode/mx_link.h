/*-------------------------------------------------------------------------
 *
 * mx_link.h
 *		Link layers and encapsulations, private to the decoder: from a
 *		captured frame to the start of its IP header (mx_link.c), for
 *		mx_frame.c to decode from there.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_LINK_H
#define MX_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "mx_decode.h"

/*
 * PPP frames in HDLC-like framing with octet stuffing (RFC 1662: 0x7d
 * escapes, a frame starting at its 0x7e flag) are un-escaped into a buffer
 * of this many bytes; a frame longer than that is decoded as if the snaplen
 * had cut it there, which keeps every IPv4 header and all but absurd IPv6
 * extension chains.
 */
#define MX_LINK_HDLC_MAX	4096

/*
 * Encapsulations inside encapsulations (PPI in PKTAP, PPPoE in PBB in
 * 802.11, MPLS in PPP, ...) are followed this deep; a frame nested deeper
 * is skipped as "other".  VLAN tags and MPLS labels are not counted: a frame
 * may have any number of them, as in tcpdump.
 */
#define MX_LINK_MAX_NEST	64

/* Where a frame's IP header is, or why it has none. */
typedef struct mx_link
{
	const uint8_t *d;			/* the frame: the record's bytes, or hdlc */
	uint32_t	n;				/* bytes of d */
	bool		cut;			/* the frame is shorter than on the wire */
	uint8_t		net;			/* 4 or 6: an IPv4 / IPv6 header at off;
								 * 0: none, for reason */
	uint32_t	off;
	mx_skip_reason reason;
	bool		has_vlan;		/* vlan: the outermost VLAN id */
	uint16_t	vlan;
	uint8_t		hdlc[MX_LINK_HDLC_MAX];
} mx_link;

/*
 * Walk rec's link layers (rec->linktype) and encapsulations to the network
 * header.  Never fails: a link header that the frame does not hold whole is
 * a skip ("short" when the snaplen cut the frame, else "other").
 */
extern void mx_link_decode(mx_link *l, const mx_record *rec);

#endif							/* MX_LINK_H */
