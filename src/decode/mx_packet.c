/*-------------------------------------------------------------------------
 *
 * mx_packet.c
 *		The packet type's stored form and its text form.
 *
 * Stored form (layout version 1; its flag bits and length are in
 * mx_packed.h, which mx_scanner.c reads too).  It is also the binary
 * send/recv form, so every field is big-endian and written a byte at a
 * time.  Optional parts are present only when a bit of byte 1 says so,
 * which keeps an IPv4 TCP packet at 39 bytes (40 with PostgreSQL's 1-byte
 * varlena header: a heap row of one packet is then 64 bytes, less than the
 * pcap record it came from).
 *
 *	byte  0		low 4 bits: layout version, 1; bit 0x10: TCP sequence number
 *				alone (the snaplen cut the TCP header between 8 and 16 bytes)
 *	byte  1		bits: 0x01 IPv6, 0x02 VLAN, 0x04 caplen differs from wirelen,
 *				0x08 lengths take 4 bytes, 0x10 ports, 0x20 TCP,
 *				0x40 TCP NS flag, 0x80 IP fragment
 *	byte  2		IP protocol
 *	byte  3		TTL / hop limit
 *	bytes 4-11	timestamp, signed nanoseconds since 1970-01-01 UTC
 *	4 or 16		source address
 *	4 or 16		destination address
 *	2			IPv4 only: identification
 *	2 or 4		wire length
 *	2 or 4		when 0x04: captured length
 *	2			when 0x02: VLAN id (0..4095)
 *	2 + 2		when 0x10: source and destination port (ICMP: type, code)
 *	4+4+1+2		when 0x20: sequence, acknowledgement, flags (low 8 bits),
 *				window
 *	4			when byte 0 has 0x10: sequence
 *
 * Every packet has exactly one stored form (lengths take 4 bytes only when
 * one exceeds 65535, caplen only when it differs, IPv4 address bytes beyond
 * the fourth are never stored): mx_packet_unpack refuses anything else, so
 * byte equality is value equality, and hashing the bytes is sound.
 *
 * Text form: one line of space-separated tokens, in the style of tcpdump:
 *	2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23
 *		flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54
 * then, when they apply, caplen=N vlan=N frag.  ICMP shows type=N code=N
 * instead of ports; IPv6 addresses with ports are bracketed.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_bytes.h"
#include "mx_packed.h"

#define NS_PER_SEC	INT64_C(1000000000)

/* Protocols whose header starts with two 16-bit ports. */
static bool
proto_has_ports(uint8_t proto)
{
	return proto == MX_PROTO_TCP || proto == MX_PROTO_UDP ||
		proto == 33 || proto == 132 || proto == 136;
}

static bool
proto_is_icmp(uint8_t proto)
{
	return proto == MX_PROTO_ICMP || proto == MX_PROTO_ICMPV6;
}

/* Pack p into out, which has room for MX_PACKED_MAX bytes. */
size_t
mx_packet_pack(const mx_packet *p, uint8_t *out)
{
	uint8_t		flags = 0;
	size_t		n = 12;
	size_t		alen = p->ipver == 6 ? 16 : 4;
	bool		longlen = p->wirelen > 0xFFFF || p->caplen > 0xFFFF;

	if (p->ipver == 6)
		flags |= F_IPV6;
	if (p->present & MX_HAS_VLAN)
		flags |= F_VLAN;
	if (p->caplen != p->wirelen)
		flags |= F_CAPLEN;
	if (longlen)
		flags |= F_LONGLEN;
	if (p->present & MX_HAS_PORTS)
		flags |= F_PORTS;
	if (p->present & MX_HAS_TCP)
		flags |= F_TCP;
	if ((p->present & MX_HAS_TCP) && (p->tcp_flags & MX_TCP_NS))
		flags |= F_TCPNS;
	if (p->present & MX_IS_FRAGMENT)
		flags |= F_FRAG;

	out[0] = MX_LAYOUT_VERSION;
	if ((p->present & (MX_HAS_SEQ | MX_HAS_TCP)) == MX_HAS_SEQ)
		out[0] |= F0_SEQ;
	out[1] = flags;
	out[2] = p->proto;
	out[3] = p->ttl;
	mx_put64(out + 4, (uint64_t) p->ts_ns);
	memcpy(out + n, p->src, alen);
	n += alen;
	memcpy(out + n, p->dst, alen);
	n += alen;
	if (p->ipver != 6)
	{
		mx_put16(out + n, p->ipid);
		n += 2;
	}
	if (longlen)
	{
		mx_put32(out + n, p->wirelen);
		n += 4;
		if (flags & F_CAPLEN)
		{
			mx_put32(out + n, p->caplen);
			n += 4;
		}
	}
	else
	{
		mx_put16(out + n, (uint16_t) p->wirelen);
		n += 2;
		if (flags & F_CAPLEN)
		{
			mx_put16(out + n, (uint16_t) p->caplen);
			n += 2;
		}
	}
	if (flags & F_VLAN)
	{
		mx_put16(out + n, p->vlan);
		n += 2;
	}
	if (flags & F_PORTS)
	{
		mx_put16(out + n, p->sport);
		mx_put16(out + n + 2, p->dport);
		n += 4;
	}
	if (flags & F_TCP)
	{
		mx_put32(out + n, p->seq);
		mx_put32(out + n + 4, p->ack);
		out[n + 8] = (uint8_t) p->tcp_flags;
		mx_put16(out + n + 9, p->window);
		n += 11;
	}
	else if (out[0] & F0_SEQ)
	{
		mx_put32(out + n, p->seq);
		n += 4;
	}
	return n;
}

/* Unpack and validate a stored form; see the header comment for the rules. */
mx_status
mx_packet_unpack(const uint8_t *buf, size_t len, mx_packet *p, mx_error *err)
{
	uint8_t		flags;
	size_t		n = 12;
	size_t		alen;

	memset(p, 0, sizeof(*p));
	if (len < 2)
		return mx_fail_values(err, 12, len, MX_ERR_CORRUPT, "packet.length", 0, 0,
									  "packet value is too short");
	if ((buf[0] & 0x0f) != MX_LAYOUT_VERSION || (buf[0] & ~(0x0f | F0_SEQ)) != 0)
		return mx_fail_values(err, MX_LAYOUT_VERSION, buf[0], MX_ERR_CORRUPT, "packet.version", 0, 0,
							  "unsupported packet layout version %u (byte 0x%02x)",
							  buf[0] & 0x0f, buf[0]);
	flags = buf[1];
	if (len != packed_length(buf[0], flags))
		return mx_fail_values(err, packed_length(buf[0], flags), len, MX_ERR_CORRUPT, "packet.length", 0, 1,
							  "packet value has %zu bytes where its flags 0x%02x%02x call for %zu",
							  len, buf[0], flags, packed_length(buf[0], flags));

	p->ipver = (flags & F_IPV6) ? 6 : 4;
	p->proto = buf[2];
	p->ttl = buf[3];
	p->ts_ns = (int64_t) mx_be64(buf + 4);
	alen = p->ipver == 6 ? 16 : 4;
	memcpy(p->src, buf + n, alen);
	n += alen;
	memcpy(p->dst, buf + n, alen);
	n += alen;
	if (p->ipver == 4)
	{
		p->ipid = mx_be16(buf + n);
		n += 2;
	}
	if (flags & F_LONGLEN)
	{
		p->wirelen = mx_be32(buf + n);
		n += 4;
		p->caplen = p->wirelen;
		if (flags & F_CAPLEN)
		{
			p->caplen = mx_be32(buf + n);
			n += 4;
		}
		if (p->wirelen <= 0xFFFF && p->caplen <= 0xFFFF)
			return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 1,
						   "packet value stores short lengths in 4 bytes");
	}
	else
	{
		p->wirelen = mx_be16(buf + n);
		n += 2;
		p->caplen = p->wirelen;
		if (flags & F_CAPLEN)
		{
			p->caplen = mx_be16(buf + n);
			n += 2;
		}
	}
	if ((flags & F_CAPLEN) && p->caplen == p->wirelen)
		return mx_fail(err, MX_ERR_CORRUPT, "packet.caplen", 0, n,
					   "packet value stores a captured length equal to its wire length");
	if (flags & F_VLAN)
	{
		p->present |= MX_HAS_VLAN;
		p->vlan = mx_be16(buf + n);
		if (p->vlan > 4095)
			return mx_fail_values(err, 4095, p->vlan, MX_ERR_CORRUPT, "packet.vlan", 0, n,
										  "VLAN id %u is out of range", p->vlan);
		n += 2;
	}
	if (flags & F_PORTS)
	{
		if (!proto_has_ports(p->proto) && !proto_is_icmp(p->proto))
			return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 1,
						   "packet value has ports for IP protocol %u", p->proto);
		p->present |= MX_HAS_PORTS;
		p->sport = mx_be16(buf + n);
		p->dport = mx_be16(buf + n + 2);
		if (proto_is_icmp(p->proto) && (p->sport > 255 || p->dport > 255))
			return mx_fail(err, MX_ERR_CORRUPT, "packet.icmp", 0, n,
						   "ICMP type %u or code %u is out of range",
						   p->sport, p->dport);
		n += 4;
	}
	if (flags & F_TCP)
	{
		if (p->proto != MX_PROTO_TCP || !(flags & F_PORTS))
			return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 1,
						   "packet value has TCP fields without TCP ports");
		if (buf[0] & F0_SEQ)
			return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 0,
						   "packet value has both all TCP fields and the sequence number alone");
		p->present |= MX_HAS_TCP | MX_HAS_SEQ;
		p->seq = mx_be32(buf + n);
		p->ack = mx_be32(buf + n + 4);
		p->tcp_flags = buf[n + 8];
		if (flags & F_TCPNS)
			p->tcp_flags |= MX_TCP_NS;
		p->window = mx_be16(buf + n + 9);
		n += 11;
	}
	else if (flags & F_TCPNS)
		return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 1,
					   "packet value has the TCP NS flag without TCP fields");
	else if (buf[0] & F0_SEQ)
	{
		if (p->proto != MX_PROTO_TCP || !(flags & F_PORTS))
			return mx_fail(err, MX_ERR_CORRUPT, "packet.flags", 0, 0,
						   "packet value has a TCP sequence number without TCP ports");
		p->present |= MX_HAS_SEQ;
		p->seq = mx_be32(buf + n);
		n += 4;
	}
	if (flags & F_FRAG)
		p->present |= MX_IS_FRAGMENT;
	return MX_OK;
}

/*
 * is_mirai on a stored form without unpacking it: the hot path of counting
 * Mirai packets.  Returns -1 when the bytes are not a well-formed layout 1
 * value, so that the caller unpacks them and reports the error.
 */
int
mx_packed_is_mirai(const uint8_t *buf, size_t len)
{
	return mx_packed_mirai_key(buf, len, NULL, NULL);
}

/*
 * What a Mirai rollup needs of a stored form, without unpacking it: -1 when
 * the bytes are not a well-formed layout 1 value; otherwise whether the
 * packet is Mirai's (1 or 0) and, for a Mirai packet, its IPv4 source
 * address (host order) in *src and destination port in *dport (either may
 * be NULL).
 */
int
mx_packed_mirai_key(const uint8_t *buf, size_t len, uint32_t *src, uint16_t *dport)
{
	uint8_t		flags;
	size_t		n;
	size_t		lenw;

	if (len < 12 || (buf[0] & ~F0_SEQ) != MX_LAYOUT_VERSION)
		return -1;
	flags = buf[1];
	if (len != packed_length(buf[0], flags))
		return -1;
	if ((flags & F_IPV6) || buf[2] != MX_PROTO_TCP || !(flags & F_PORTS) ||
		!((flags & F_TCP) || (buf[0] & F0_SEQ)))
		return 0;
	lenw = (flags & F_LONGLEN) ? 4 : 2;
	n = 12 + 8 + 2 + lenw;
	if (flags & F_CAPLEN)
		n += lenw;
	if (flags & F_VLAN)
		n += 2;
	/* sport at n, dport at n + 2, seq at n + 4; addresses at 12 and 16 */
	if (mx_be16(buf + n) <= 1024 || mx_be32(buf + n + 4) != mx_be32(buf + 16))
		return 0;
	if (src)
		*src = mx_be32(buf + 12);
	if (dport)
		*dport = mx_be16(buf + n + 2);
	return 1;
}

/* The timestamp of a validated stored form, without unpacking the rest. */
int64_t
mx_packed_ts(const uint8_t *buf)
{
	return (int64_t) mx_be64(buf + 4);
}

/* The source address of a stored form whose length was checked. */
int
mx_packed_src(const uint8_t *buf, uint8_t *addr)
{
	if (buf[1] & F_IPV6)
	{
		memcpy(addr, buf + 12, 16);
		return 6;
	}
	memcpy(addr, buf + 12, 4);
	return 4;
}

/* ----------------------------------------------------------------------
 * Calendar arithmetic (proleptic Gregorian, UTC), for the text form
 * ----------------------------------------------------------------------
 */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

/* The civil date of a day number since 1970-01-01. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t		era;
	unsigned	doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t) yoe + era * 400 + (*m <= 2);
}

/* RFC 3339 with nanoseconds: "2024-12-14T03:12:45.123456789Z". */
size_t
mx_format_time(int64_t ts_ns, char *out)
{
	int64_t		secs = ts_ns / NS_PER_SEC;
	int64_t		ns = ts_ns % NS_PER_SEC;
	int64_t		days,
				sod,
				y;
	unsigned	m,
				d;

	if (ns < 0)
	{
		ns += NS_PER_SEC;
		secs -= 1;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0)
	{
		sod += 86400;
		days -= 1;
	}
	civil_from_days(days, &y, &m, &d);
	return (size_t) sprintf(out, "%04lld-%02u-%02uT%02d:%02d:%02d.%09lldZ",
							(long long) y, m, d, (int) (sod / 3600),
							(int) (sod / 60 % 60), (int) (sod % 60),
							(long long) ns);
}

/* TCP flag letters, in bit order; "-" when none is set. */
size_t
mx_format_tcp_flags(uint16_t flags, char *out)
{
	static const char letters[] = "FSRPAUECN";
	size_t		n = 0;
	int			i;

	for (i = 0; i < 9; i++)
		if (flags & (1u << i))
			out[n++] = letters[i];
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
	return n;
}

static const char *
proto_name(uint8_t proto)
{
	switch (proto)
	{
		case MX_PROTO_ICMP:
			return "icmp";
		case MX_PROTO_TCP:
			return "tcp";
		case MX_PROTO_UDP:
			return "udp";
		case 33:
			return "dccp";
		case MX_PROTO_ICMPV6:
			return "icmp6";
		case 132:
			return "sctp";
		case 136:
			return "udplite";
	}
	return NULL;
}

/* An address, with its port when it has one ("[v6]:port" for IPv6). */
static size_t
format_endpoint(const mx_packet *p, const uint8_t *addr, uint16_t port,
				char *out)
{
	char		a[INET6_ADDRSTRLEN];
	bool		ports = (p->present & MX_HAS_PORTS) && !proto_is_icmp(p->proto);

	inet_ntop(p->ipver == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	if (!ports)
		return (size_t) sprintf(out, "%s", a);
	if (p->ipver == 6)
		return (size_t) sprintf(out, "[%s]:%u", a, port);
	return (size_t) sprintf(out, "%s:%u", a, port);
}

/* The canonical text form; out has room for MX_TEXT_MAX bytes. */
size_t
mx_packet_format(const mx_packet *p, char *out)
{
	size_t		n;
	const char *name = proto_name(p->proto);
	char		fl[16];

	n = mx_format_time(p->ts_ns, out);
	if (name)
		n += (size_t) sprintf(out + n, " %s ", name);
	else
		n += (size_t) sprintf(out + n, " %u ", p->proto);
	n += format_endpoint(p, p->src, p->sport, out + n);
	out[n++] = ' ';
	out[n++] = '>';
	out[n++] = ' ';
	n += format_endpoint(p, p->dst, p->dport, out + n);
	if ((p->present & MX_HAS_PORTS) && proto_is_icmp(p->proto))
		n += (size_t) sprintf(out + n, " type=%u code=%u", p->sport, p->dport);
	if (p->present & MX_HAS_TCP)
	{
		mx_format_tcp_flags(p->tcp_flags, fl);
		n += (size_t) sprintf(out + n, " flags=%s seq=%u ack=%u win=%u",
							  fl, p->seq, p->ack, p->window);
	}
	else if (p->present & MX_HAS_SEQ)
		n += (size_t) sprintf(out + n, " seq=%u", p->seq);
	n += (size_t) sprintf(out + n, " ttl=%u", p->ttl);
	if (p->ipver == 4)
		n += (size_t) sprintf(out + n, " id=%u", p->ipid);
	n += (size_t) sprintf(out + n, " len=%u", p->wirelen);
	if (p->caplen != p->wirelen)
		n += (size_t) sprintf(out + n, " caplen=%u", p->caplen);
	if (p->present & MX_HAS_VLAN)
		n += (size_t) sprintf(out + n, " vlan=%u", p->vlan);
	if (p->present & MX_IS_FRAGMENT)
		n += (size_t) sprintf(out + n, " frag");
	return n;
}

/* ----------------------------------------------------------------------
 * Parsing the text form
 * ----------------------------------------------------------------------
 */

typedef struct parser
{
	const char *text;
	const char *pos;
	mx_error   *err;
} parser;

static mx_status
syntax(parser *ps, const char *field, const char *fmt, const char *tok,
	   size_t toklen)
{
	char		shown[48];

	if (toklen >= sizeof(shown))
		toklen = sizeof(shown) - 1;
	memcpy(shown, tok, toklen);
	shown[toklen] = '\0';
	return mx_fail(ps->err, MX_ERR_SYNTAX, field, 0,
				   (uint64_t) (tok - ps->text), fmt, shown);
}

/* The next space-separated token; false at the end of the text. */
static bool
next_token(parser *ps, const char **tok, size_t *len)
{
	while (*ps->pos == ' ' || *ps->pos == '\t' || *ps->pos == '\n' ||
		   *ps->pos == '\r')
		ps->pos++;
	if (*ps->pos == '\0')
		return false;
	*tok = ps->pos;
	while (*ps->pos != '\0' && *ps->pos != ' ' && *ps->pos != '\t' &&
		   *ps->pos != '\n' && *ps->pos != '\r')
		ps->pos++;
	*len = (size_t) (ps->pos - *tok);
	return true;
}

/* An unsigned decimal of at most max, all of tok; false if not. */
static bool
parse_uint(const char *tok, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++)
	{
		if (tok[i] < '0' || tok[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t) (tok[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Digits at s[0..n), no sign; -1 if any is not a digit. */
static int64_t
digits(const char *s, size_t n)
{
	int64_t		v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * "YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM|+HHMM|+HH]": the date may
 * be followed by a space and the time as a second token.  A time with no
 * offset is UTC (the text form is immutable: it cannot depend on the
 * session's TimeZone); an offset is ISO 8601's, east of UTC positive.
 */
static mx_status
parse_time(parser *ps, int64_t *ts)
{
	const char *tok,
			   *t;
	size_t		len,
				tlen;
	int64_t		y,
				mo,
				d,
				h,
				mi,
				s,
				frac = 0,
				off = 0,
				days,
				secs;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t		fd = 0;

	if (!next_token(ps, &tok, &len))
		return mx_fail(ps->err, MX_ERR_SYNTAX, "time", 0, 0,
					   "packet text is empty");
	if (len < 10 || tok[4] != '-' || tok[7] != '-')
		return syntax(ps, "time", "invalid timestamp \"%s\"", tok, len);
	y = digits(tok, 4);
	mo = digits(tok + 5, 2);
	d = digits(tok + 8, 2);
	if (len == 10)
	{
		/* the time is the next token */
		if (!next_token(ps, &t, &tlen))
			return syntax(ps, "time", "timestamp \"%s\" has no time of day", tok, len);
	}
	else if (tok[10] == 'T')
	{
		t = tok + 11;
		tlen = len - 11;
	}
	else
		return syntax(ps, "time", "invalid timestamp \"%s\"", tok, len);
	if (tlen > 0 && t[tlen - 1] == 'Z')
		tlen--;
	else if (tlen > 8)
	{
		size_t		k = 8;

		while (k < tlen && t[k] != '+' && t[k] != '-')
			k++;
		if (k < tlen)
		{
			const char *o = t + k;
			size_t		olen = tlen - k;
			int64_t		oh = olen >= 3 ? digits(o + 1, 2) : -1,
						om = 0;

			if (olen == 5)
				om = digits(o + 3, 2);
			else if (olen == 6 && o[3] == ':')
				om = digits(o + 4, 2);
			else if (olen != 3)
				oh = -1;
			if (oh < 0 || oh > 15 || om < 0 || om > 59)
				return syntax(ps, "time", "invalid UTC offset \"%s\"", o, olen);
			off = (o[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
			tlen = k;
		}
	}
	if (tlen < 8 || t[2] != ':' || t[5] != ':')
		return syntax(ps, "time", "invalid time of day \"%s\"", t, tlen);
	h = digits(t, 2);
	mi = digits(t + 3, 2);
	s = digits(t + 6, 2);
	if (tlen > 8)
	{
		fd = tlen - 9;
		if (t[8] != '.' || fd < 1 || fd > 9 || (frac = digits(t + 9, fd)) < 0)
			return syntax(ps, "time", "invalid fraction of a second in \"%s\"", t, tlen);
		while (fd++ < 9)
			frac *= 10;
	}
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
		(mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
		h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
		return syntax(ps, "time", "timestamp \"%s\" is out of range", tok,
					  (size_t) (t + tlen - tok));
	days = days_from_civil(y, (unsigned) mo, (unsigned) d);
	secs = days * 86400 + h * 3600 + mi * 60 + s - off;
	/* int64 nanoseconds reach from 1677-09-21 to 2262-04-11 */
	if (secs == INT64_MIN / NS_PER_SEC - 1 &&
		frac >= NS_PER_SEC + INT64_MIN % NS_PER_SEC)
	{
		/* the last second before the range starts mid-second */
		*ts = (secs + 1) * NS_PER_SEC + (frac - NS_PER_SEC);
		return MX_OK;
	}
	if (secs < INT64_MIN / NS_PER_SEC || secs > INT64_MAX / NS_PER_SEC ||
		(secs == INT64_MAX / NS_PER_SEC && frac > INT64_MAX % NS_PER_SEC))
		return syntax(ps, "time", "timestamp \"%s\" is out of range", tok,
					  (size_t) (t + tlen - tok));
	*ts = secs * NS_PER_SEC + frac;
	return MX_OK;
}

/* "a.b.c.d[:port]", "v6addr" or "[v6addr]:port". */
static mx_status
parse_endpoint(parser *ps, const char *field, uint8_t *addr, int *family,
			   bool *has_port, uint16_t *port)
{
	const char *tok,
			   *a,
			   *colon = NULL;
	size_t		len,
				alen,
				i;
	char		buf[INET6_ADDRSTRLEN + 1];
	uint64_t	v;

	if (!next_token(ps, &tok, &len))
		return mx_fail(ps->err, MX_ERR_SYNTAX, field, 0,
					   (uint64_t) (ps->pos - ps->text),
					   "packet text ends before the %s address", field);
	*has_port = false;
	a = tok;
	alen = len;
	if (tok[0] == '[')
	{
		const char *close = memchr(tok, ']', len);

		if (close == NULL || close + 1 == tok + len || close[1] != ':')
			return syntax(ps, field, "invalid address \"%s\"", tok, len);
		a = tok + 1;
		alen = (size_t) (close - a);
		colon = close + 1;
		*family = AF_INET6;
	}
	else
	{
		size_t		ncolon = 0;

		for (i = 0; i < len; i++)
			if (tok[i] == ':')
			{
				ncolon++;
				colon = tok + i;
			}
		if (ncolon == 0)
			*family = AF_INET;
		else if (ncolon == 1)
		{
			*family = AF_INET;
			alen = (size_t) (colon - tok);
		}
		else
		{
			*family = AF_INET6;
			colon = NULL;
		}
	}
	if (colon)
	{
		if (!parse_uint(colon + 1, (size_t) (tok + len - colon - 1), 65535, &v))
			return syntax(ps, field, "invalid port in \"%s\"", tok, len);
		*has_port = true;
		*port = (uint16_t) v;
	}
	if (alen == 0 || alen > INET6_ADDRSTRLEN - 1)
		return syntax(ps, field, "invalid address \"%s\"", tok, len);
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inet_pton(*family, buf, addr) != 1)
		return syntax(ps, field, "invalid address \"%s\"", tok, len);
	return MX_OK;
}

/* Letters of mx_format_tcp_flags, in any order, or "-". */
static bool
parse_flags(const char *tok, size_t len, uint16_t *out)
{
	static const char letters[] = "FSRPAUECN";
	size_t		i;
	uint16_t	f = 0;

	if (len == 1 && tok[0] == '-')
	{
		*out = 0;
		return true;
	}
	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		const char *l = strchr(letters, tok[i]);
		uint16_t	bit;

		if (l == NULL || tok[i] == '\0')
			return false;
		bit = (uint16_t) (1u << (l - letters));
		if (f & bit)
			return false;
		f |= bit;
	}
	*out = f;
	return true;
}

/* Keys of the key=value part, and what they may hold. */
enum
{
	K_FLAGS, K_SEQ, K_ACK, K_WIN, K_TTL, K_ID, K_LEN, K_CAPLEN, K_VLAN,
	K_TYPE, K_CODE, K_FRAG, K_NKEYS
};

static const struct
{
	const char *name;
	uint64_t	max;
}			keys[K_NKEYS] =
{
	{"flags", 0}, {"seq", UINT32_MAX}, {"ack", UINT32_MAX},
	{"win", 65535}, {"ttl", 255}, {"id", 65535}, {"len", UINT32_MAX},
	{"caplen", UINT32_MAX}, {"vlan", 4095}, {"type", 255}, {"code", 255},
	{"frag", 0}
};

/* Parse text into *p; see the header comment for the form. */
mx_status
mx_packet_parse(const char *text, mx_packet *p, mx_error *err)
{
	parser		ps;
	const char *tok;
	size_t		len;
	uint64_t	v;
	uint64_t	val[K_NKEYS];
	bool		seen[K_NKEYS];
	int			sfam,
				dfam,
				k;
	bool		sport,
				dport,
				tcp;
	mx_status	st;

	memset(p, 0, sizeof(*p));
	memset(seen, 0, sizeof(seen));
	memset(val, 0, sizeof(val));
	ps.text = text;
	ps.pos = text;
	ps.err = err;

	if ((st = parse_time(&ps, &p->ts_ns)) != MX_OK)
		return st;

	/* protocol, by name or number */
	if (!next_token(&ps, &tok, &len))
		return mx_fail(err, MX_ERR_SYNTAX, "proto", 0, (uint64_t) (ps.pos - text),
					   "packet text ends before the protocol");
	for (k = 0; k < 256; k++)
	{
		const char *name = proto_name((uint8_t) k);

		if (name && strlen(name) == len && memcmp(name, tok, len) == 0)
			break;
	}
	if (k < 256)
		p->proto = (uint8_t) k;
	else if (parse_uint(tok, len, 255, &v))
		p->proto = (uint8_t) v;
	else
		return syntax(&ps, "proto", "invalid protocol \"%s\"", tok, len);

	if ((st = parse_endpoint(&ps, "src", p->src, &sfam, &sport, &p->sport)) != MX_OK)
		return st;
	if (!next_token(&ps, &tok, &len) || len != 1 || tok[0] != '>')
		return mx_fail(err, MX_ERR_SYNTAX, "dst", 0, (uint64_t) (ps.pos - text),
					   "expected \">\" between the source and destination");
	if ((st = parse_endpoint(&ps, "dst", p->dst, &dfam, &dport, &p->dport)) != MX_OK)
		return st;
	if (sfam != dfam)
		return mx_fail(err, MX_ERR_SYNTAX, "dst", 0, (uint64_t) (ps.pos - text),
					   "source and destination addresses are of different families");
	if (sport != dport)
		return mx_fail(err, MX_ERR_SYNTAX, "dst", 0, (uint64_t) (ps.pos - text),
					   "source and destination must both have ports, or neither");
	p->ipver = sfam == AF_INET6 ? 6 : 4;

	/* key=value pairs */
	while (next_token(&ps, &tok, &len))
	{
		const char *eq = memchr(tok, '=', len);
		size_t		klen = eq ? (size_t) (eq - tok) : len;

		for (k = 0; k < K_NKEYS; k++)
			if (strlen(keys[k].name) == klen && memcmp(keys[k].name, tok, klen) == 0)
				break;
		if (k == K_NKEYS)
			return syntax(&ps, "text", "unknown field \"%s\"", tok, len);
		if (seen[k])
			return syntax(&ps, keys[k].name, "field \"%s\" appears twice", tok, len);
		seen[k] = true;
		if (k == K_FRAG)
		{
			if (eq)
				return syntax(&ps, "frag", "\"frag\" takes no value: \"%s\"", tok, len);
			continue;
		}
		if (!eq)
			return syntax(&ps, keys[k].name, "field \"%s\" needs a value", tok, len);
		if (k == K_FLAGS)
		{
			uint16_t	f;

			if (!parse_flags(eq + 1, len - klen - 1, &f))
				return syntax(&ps, "flags", "invalid TCP flags \"%s\"", tok, len);
			val[k] = f;
		}
		else if (!parse_uint(eq + 1, len - klen - 1, keys[k].max, &val[k]))
			return syntax(&ps, keys[k].name, "invalid or out-of-range value \"%s\"", tok, len);
	}

	/* what must, may and may not appear together */
	if (!seen[K_TTL] || !seen[K_LEN])
		return mx_fail(err, MX_ERR_SYNTAX, seen[K_TTL] ? "len" : "ttl", 0,
					   (uint64_t) (ps.pos - text),
					   "packet text lacks the required field \"%s\"",
					   seen[K_TTL] ? "len" : "ttl");
	if (p->ipver == 4 && !seen[K_ID])
		return mx_fail(err, MX_ERR_SYNTAX, "id", 0, (uint64_t) (ps.pos - text),
					   "IPv4 packet text lacks the required field \"id\"");
	if (p->ipver == 6 && seen[K_ID])
		return mx_fail(err, MX_ERR_SYNTAX, "id", 0, (uint64_t) (ps.pos - text),
					   "IPv6 packet text cannot have the field \"id\"");
	tcp = seen[K_FLAGS] || seen[K_ACK] || seen[K_WIN];
	if (tcp && !(seen[K_FLAGS] && seen[K_SEQ] && seen[K_ACK] && seen[K_WIN]))
		return mx_fail(err, MX_ERR_SYNTAX, "flags", 0, (uint64_t) (ps.pos - text),
					   "TCP fields flags, ack and win need each other and seq");
	if ((tcp || seen[K_SEQ]) && (p->proto != MX_PROTO_TCP || !sport))
		return mx_fail(err, MX_ERR_SYNTAX, "flags", 0, (uint64_t) (ps.pos - text),
					   "TCP fields need protocol tcp and ports");
	if (seen[K_TYPE] != seen[K_CODE])
		return mx_fail(err, MX_ERR_SYNTAX, "type", 0, (uint64_t) (ps.pos - text),
					   "ICMP fields type and code must appear together");
	if (seen[K_TYPE] && !proto_is_icmp(p->proto))
		return mx_fail(err, MX_ERR_SYNTAX, "type", 0, (uint64_t) (ps.pos - text),
					   "ICMP fields need protocol icmp or icmp6");
	if (sport && !proto_has_ports(p->proto))
		return mx_fail(err, MX_ERR_SYNTAX, "src", 0, (uint64_t) (ps.pos - text),
					   "IP protocol %u has no ports", p->proto);

	if (sport || seen[K_TYPE])
		p->present |= MX_HAS_PORTS;
	if (seen[K_TYPE])
	{
		p->sport = (uint16_t) val[K_TYPE];
		p->dport = (uint16_t) val[K_CODE];
	}
	if (seen[K_SEQ])
	{
		p->present |= MX_HAS_SEQ;
		p->seq = (uint32_t) val[K_SEQ];
	}
	if (tcp)
	{
		p->present |= MX_HAS_TCP;
		p->tcp_flags = (uint16_t) val[K_FLAGS];
		p->ack = (uint32_t) val[K_ACK];
		p->window = (uint16_t) val[K_WIN];
	}
	p->ttl = (uint8_t) val[K_TTL];
	p->ipid = (uint16_t) val[K_ID];
	p->wirelen = (uint32_t) val[K_LEN];
	p->caplen = seen[K_CAPLEN] ? (uint32_t) val[K_CAPLEN] : p->wirelen;
	if (seen[K_VLAN])
	{
		p->present |= MX_HAS_VLAN;
		p->vlan = (uint16_t) val[K_VLAN];
	}
	if (seen[K_FRAG])
		p->present |= MX_IS_FRAGMENT;
	return MX_OK;
}
