/*-------------------------------------------------------------------------
 *
 * mx_packed.h
 *		The flag bits and the length of the packet type's stored form,
 *		private to the decoder: mx_packet.c writes, validates and reads the
 *		form (its header comment gives the layout); mx_scanner.c reads the
 *		header fields of a stored form in place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_PACKED_H
#define MX_PACKED_H

#include <stddef.h>
#include <stdint.h>

/* byte 1 */
#define F_IPV6		0x01
#define F_VLAN		0x02
#define F_CAPLEN	0x04
#define F_LONGLEN	0x08
#define F_PORTS		0x10
#define F_TCP		0x20
#define F_TCPNS		0x40
#define F_FRAG		0x80
/* byte 0, beside the layout version */
#define F0_SEQ		0x10

/* The length a stored form with these flag bits must have. */
static inline size_t
packed_length(uint8_t flags0, uint8_t flags)
{
	size_t		n = 12;
	size_t		lenw = (flags & F_LONGLEN) ? 4 : 2;

	n += (flags & F_IPV6) ? 32 : 8 + 2;
	n += lenw;
	if (flags & F_CAPLEN)
		n += lenw;
	if (flags & F_VLAN)
		n += 2;
	if (flags & F_PORTS)
		n += 4;
	if (flags & F_TCP)
		n += 11;
	if (flags0 & F0_SEQ)
		n += 4;
	return n;
}

#endif							/* MX_PACKED_H */
