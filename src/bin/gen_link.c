/*-------------------------------------------------------------------------
 *
 * gen_link.c
 *	  mirai_gen's link-layer framing: one encoder per link type.
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
	{"unknown", 147, L2_UNKNOWN}
};

const int	nlinktypes = (int) (sizeof(linktypes) / sizeof(linktypes[0]));

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

/* Frame a packet for a link type; big = byte order of the file section. */
size_t
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
