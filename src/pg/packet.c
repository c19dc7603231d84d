/*-------------------------------------------------------------------------
 *
 * packet.c
 *		The `packet` base type: I/O, accessors, is_mirai, comparison.
 *
 * A packet is a varlena holding the decoder's stored form (see
 * src/decode/mx_packet.c for the layout).  It is STORAGE main with 1-byte
 * headers allowed, so an IPv4 TCP packet takes 40 bytes on disk.  Values
 * come in through packet_in (text), packet_recv (binary COPY) and the
 * capture readers; the first two validate every byte with the decoder's
 * mx_packet_unpack, so what is stored is always a well-formed packet.
 *
 * Ordering is by timestamp first, then by the stored bytes: ORDER BY p sorts
 * by time, and equal packets are byte-equal, so DISTINCT and hash joins work.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/hash.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"

/* Seconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define UNIX_TO_PG_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* Build a packet Datum from a decoded packet. */
Datum
mirai_packet_datum(const mx_packet *p)
{
	bytea	   *res = (bytea *) palloc(VARHDRSZ + MX_PACKED_MAX);

	SET_VARSIZE(res, VARHDRSZ + mx_packet_pack(p, (uint8 *) VARDATA(res)));
	return PointerGetDatum(res);
}

/*
 * Unpack a packet argument.  A stored value that fails validation means
 * on-disk corruption: report it as such.
 */
void
mirai_packet_unpack(Datum d, mx_packet *p)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	mx_error	err;

	if (mx_packet_unpack((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v),
						 p, &err) != MX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt packet value: %s", err.message)));
}

#define PG_GETARG_PACKET(n, p) mirai_packet_unpack(PG_GETARG_DATUM(n), (p))

/* ----------------------------------------------------------------------
 * I/O
 * ----------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(packet_in);
Datum
packet_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	mx_packet	p;
	mx_error	err;

	if (mx_packet_parse(str, &p, &err) != MX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "packet", str),
				 errdetail("At character %llu, field %s: %s.",
						   (unsigned long long) err.offset + 1, err.field,
						   err.message)));
	PG_RETURN_DATUM(mirai_packet_datum(&p));
}

PG_FUNCTION_INFO_V1(packet_out);
Datum
packet_out(PG_FUNCTION_ARGS)
{
	mx_packet	p;
	char	   *out = palloc(MX_TEXT_MAX);

	PG_GETARG_PACKET(0, &p);
	mx_packet_format(&p, out);
	PG_RETURN_CSTRING(out);
}

/*
 * Binary input: the stored form itself (big-endian fields, see
 * mx_packet.c), validated byte by byte like text input.
 */
PG_FUNCTION_INFO_V1(packet_recv);
Datum
packet_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const uint8 *bytes;
	mx_packet	p;
	mx_error	err;
	bytea	   *res;

	if (len > MX_PACKED_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary packet value"),
				 errdetail("A packet takes at most %d bytes, got %d.",
						   MX_PACKED_MAX, len)));
	bytes = (const uint8 *) pq_getmsgbytes(buf, len);
	if (mx_packet_unpack(bytes, (size_t) len, &p, &err) != MX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary packet value"),
				 errdetail("Field %s: %s.", err.field, err.message)));

	/*
	 * unpack accepts exactly the byte strings pack writes (the stored form
	 * is canonical), so the bytes are stored as they came, without packing
	 * them again: this is the hot path of COPY (FORMAT binary).
	 */
	res = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(res, VARHDRSZ + len);
	memcpy(VARDATA(res), bytes, len);
	PG_RETURN_BYTEA_P(res);
}

PG_FUNCTION_INFO_V1(packet_send);
Datum
packet_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ----------------------------------------------------------------------
 * Accessors
 * ----------------------------------------------------------------------
 */

/* A timestamptz from Unix nanoseconds, rounded down to microseconds. */
TimestampTz
mirai_ns_to_timestamptz(int64 ns)
{
	int64		us = ns / 1000;

	if (ns < 0 && ns % 1000 != 0)
		us -= 1;
	return (TimestampTz) (us - UNIX_TO_PG_SECS * USECS_PER_SEC);
}

/* An inet Datum of a packet's address. */
Datum
mirai_inet_datum(int ipver, const uint8 *addr)
{
	inet	   *res = (inet *) palloc0(sizeof(inet));

	ip_family(res) = ipver == 6 ? PGSQL_AF_INET6 : PGSQL_AF_INET;
	ip_bits(res) = ipver == 6 ? 128 : 32;
	memcpy(ip_addr(res), addr, ipver == 6 ? 16 : 4);
	SET_INET_VARSIZE(res);
	return InetPGetDatum(res);
}

static bool
has_ports(const mx_packet *p)
{
	return (p->present & MX_HAS_PORTS) &&
		p->proto != MX_PROTO_ICMP && p->proto != MX_PROTO_ICMPV6;
}

static bool
has_icmp(const mx_packet *p)
{
	return (p->present & MX_HAS_PORTS) &&
		(p->proto == MX_PROTO_ICMP || p->proto == MX_PROTO_ICMPV6);
}

PG_FUNCTION_INFO_V1(packet_time);
Datum
packet_time(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_TIMESTAMPTZ(mirai_ns_to_timestamptz(p.ts_ns));
}

PG_FUNCTION_INFO_V1(packet_time_ns);
Datum
packet_time_ns(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT64(p.ts_ns);
}

PG_FUNCTION_INFO_V1(packet_src);
Datum
packet_src(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_DATUM(mirai_inet_datum(p.ipver, p.src));
}

PG_FUNCTION_INFO_V1(packet_dst);
Datum
packet_dst(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_DATUM(mirai_inet_datum(p.ipver, p.dst));
}

PG_FUNCTION_INFO_V1(packet_sport);
Datum
packet_sport(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!has_ports(&p))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.sport);
}

PG_FUNCTION_INFO_V1(packet_dport);
Datum
packet_dport(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!has_ports(&p))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.dport);
}

PG_FUNCTION_INFO_V1(packet_seq);
Datum
packet_seq(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_SEQ))
		PG_RETURN_NULL();
	PG_RETURN_INT64(p.seq);
}

PG_FUNCTION_INFO_V1(packet_ack);
Datum
packet_ack(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_TCP))
		PG_RETURN_NULL();
	PG_RETURN_INT64(p.ack);
}

PG_FUNCTION_INFO_V1(packet_flags);
Datum
packet_flags(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_TCP))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.tcp_flags);
}

PG_FUNCTION_INFO_V1(packet_flags_text);
Datum
packet_flags_text(PG_FUNCTION_ARGS)
{
	mx_packet	p;
	char		buf[16];

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_TCP))
		PG_RETURN_NULL();
	mx_format_tcp_flags(p.tcp_flags, buf);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

PG_FUNCTION_INFO_V1(packet_window);
Datum
packet_window(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_TCP))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.window);
}

PG_FUNCTION_INFO_V1(packet_proto);
Datum
packet_proto(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT32(p.proto);
}

PG_FUNCTION_INFO_V1(packet_ipver);
Datum
packet_ipver(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT32(p.ipver);
}

PG_FUNCTION_INFO_V1(packet_ttl);
Datum
packet_ttl(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT32(p.ttl);
}

PG_FUNCTION_INFO_V1(packet_ipid);
Datum
packet_ipid(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (p.ipver != 4)
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.ipid);
}

PG_FUNCTION_INFO_V1(packet_len);
Datum
packet_len(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT64(p.wirelen);
}

PG_FUNCTION_INFO_V1(packet_caplen);
Datum
packet_caplen(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_INT64(p.caplen);
}

PG_FUNCTION_INFO_V1(packet_vlan);
Datum
packet_vlan(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!(p.present & MX_HAS_VLAN))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.vlan);
}

PG_FUNCTION_INFO_V1(packet_icmp_type);
Datum
packet_icmp_type(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!has_icmp(&p))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.sport);
}

PG_FUNCTION_INFO_V1(packet_icmp_code);
Datum
packet_icmp_code(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	if (!has_icmp(&p))
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.dport);
}

PG_FUNCTION_INFO_V1(packet_is_fragment);
Datum
packet_is_fragment(PG_FUNCTION_ARGS)
{
	mx_packet	p;

	PG_GETARG_PACKET(0, &p);
	PG_RETURN_BOOL((p.present & MX_IS_FRAGMENT) != 0);
}

PG_FUNCTION_INFO_V1(is_mirai);
Datum
is_mirai(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	int			r;
	mx_packet	p;

	/* the hot path of counting: no unpacking */
	r = mx_packed_is_mirai((const uint8 *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	if (r >= 0)
		PG_RETURN_BOOL(r == 1);
	PG_GETARG_PACKET(0, &p);	/* reports what is wrong */
	PG_RETURN_BOOL(mx_is_mirai(&p));
}

/*
 * packet_fields(packet): every field as one row, NULL where the packet has
 * no such field.  The column list is in the SQL definition (OUT params).
 */
PG_FUNCTION_INFO_V1(packet_fields);
Datum
packet_fields(PG_FUNCTION_ARGS)
{
	mx_packet	p;
	TupleDesc	tupdesc;
	Datum		values[20];
	bool		nulls[20];
	char		fl[16];
	int			i = 0;

	PG_GETARG_PACKET(0, &p);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != 20)
		elog(ERROR, "packet_fields: expected 20 columns, found %d", tupdesc->natts);
	memset(nulls, 0, sizeof(nulls));

	values[i++] = TimestampTzGetDatum(mirai_ns_to_timestamptz(p.ts_ns));
	values[i++] = Int64GetDatum(p.ts_ns);
	values[i++] = Int32GetDatum(p.ipver);
	values[i++] = mirai_inet_datum(p.ipver, p.src);
	values[i++] = mirai_inet_datum(p.ipver, p.dst);
	values[i++] = Int32GetDatum(p.proto);
	nulls[i] = !has_ports(&p);
	values[i++] = Int32GetDatum(p.sport);
	nulls[i] = !has_ports(&p);
	values[i++] = Int32GetDatum(p.dport);
	nulls[i] = !(p.present & MX_HAS_SEQ);
	values[i++] = Int64GetDatum(p.seq);
	nulls[i] = !(p.present & MX_HAS_TCP);
	values[i++] = Int64GetDatum(p.ack);
	nulls[i] = !(p.present & MX_HAS_TCP);
	values[i++] = Int32GetDatum(p.tcp_flags);
	mx_format_tcp_flags(p.tcp_flags, fl);
	nulls[i] = !(p.present & MX_HAS_TCP);
	values[i++] = CStringGetTextDatum(fl);
	nulls[i] = !(p.present & MX_HAS_TCP);
	values[i++] = Int32GetDatum(p.window);
	values[i++] = Int32GetDatum(p.ttl);
	nulls[i] = p.ipver != 4;
	values[i++] = Int32GetDatum(p.ipid);
	values[i++] = Int64GetDatum(p.wirelen);
	values[i++] = Int64GetDatum(p.caplen);
	nulls[i] = !(p.present & MX_HAS_VLAN);
	values[i++] = Int32GetDatum(p.vlan);
	values[i++] = BoolGetDatum((p.present & MX_IS_FRAGMENT) != 0);
	values[i++] = BoolGetDatum(mx_is_mirai(&p));
	Assert(i == 20);

	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ----------------------------------------------------------------------
 * Comparison, for btree and hash opclasses
 * ----------------------------------------------------------------------
 */

/* Time first, then the stored bytes, then the length. */
static int
packet_cmp_internal(struct varlena *a, struct varlena *b)
{
	const uint8 *ab = (const uint8 *) VARDATA_ANY(a);
	const uint8 *bb = (const uint8 *) VARDATA_ANY(b);
	size_t		al = VARSIZE_ANY_EXHDR(a);
	size_t		bl = VARSIZE_ANY_EXHDR(b);
	int			c;

	if (al >= 12 && bl >= 12)
	{
		int64		at = mx_packed_ts(ab);
		int64		bt = mx_packed_ts(bb);

		if (at != bt)
			return at < bt ? -1 : 1;
	}
	c = memcmp(ab, bb, Min(al, bl));
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (al != bl)
		return al < bl ? -1 : 1;
	return 0;
}

#define PACKET_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	struct varlena *a = PG_GETARG_VARLENA_PP(0); \
	struct varlena *b = PG_GETARG_VARLENA_PP(1); \
	int			c = packet_cmp_internal(a, b); \
\
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	expr; \
}

PACKET_CMP_FN(packet_cmp, PG_RETURN_INT32(c))
PACKET_CMP_FN(packet_eq, PG_RETURN_BOOL(c == 0))
PACKET_CMP_FN(packet_ne, PG_RETURN_BOOL(c != 0))
PACKET_CMP_FN(packet_lt, PG_RETURN_BOOL(c < 0))
PACKET_CMP_FN(packet_le, PG_RETURN_BOOL(c <= 0))
PACKET_CMP_FN(packet_gt, PG_RETURN_BOOL(c > 0))
PACKET_CMP_FN(packet_ge, PG_RETURN_BOOL(c >= 0))

PG_FUNCTION_INFO_V1(packet_hash);
Datum
packet_hash(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_DATUM(hash_any((const unsigned char *) VARDATA_ANY(v),
							 VARSIZE_ANY_EXHDR(v)));
}

PG_FUNCTION_INFO_V1(packet_hash_extended);
Datum
packet_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_DATUM(hash_any_extended((const unsigned char *) VARDATA_ANY(v),
									  VARSIZE_ANY_EXHDR(v),
									  PG_GETARG_INT64(1)));
}
