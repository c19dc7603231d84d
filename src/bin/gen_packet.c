/*-------------------------------------------------------------------------
 *
 * gen_packet.c
 *	  mirai_gen's packet writing: IPv4, IPv6, TCP, UDP and ICMP headers
 *	  and their checksums.
 *
 * src/bin/gen_packet.c
 *
 *-------------------------------------------------------------------------
 */
#include "gen.h"

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
void
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
void
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
uint16_t
csum_buf(const uint8_t *p, size_t n)
{
	return csum_final(csum_add(0, p, n));
}

/* ---------------------------------------------------------------------
 * Packet builders.
 * ---------------------------------------------------------------------
 */

/* Build a TCP segment (checksum left zero); returns its length. */
size_t
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
size_t
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
size_t
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
size_t
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
size_t
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

