/*-------------------------------------------------------------------------
 *
 * gen_file.c
 *	  mirai_gen's file formats: pcap (microsecond, nanosecond, Kuznetzov's,
 *	  versions 2.0-2.4) and pcapng structures, plain or gzip-compressed.
 *
 * src/bin/gen_file.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "gen.h"

/* ---------------------------------------------------------------------
 * Growable byte buffer.
 * ---------------------------------------------------------------------
 */

/* Make room for n more bytes. */
static void
buf_reserve(Buf *b, size_t n)
{
	size_t		want;

	if (b->len + n <= b->cap)
		return;
	want = b->cap ? b->cap : 4096;
	while (want < b->len + n)
		want *= 2;
	b->data = realloc(b->data, want);
	if (b->data == NULL)
		die(1, "out of memory");
	b->cap = want;
}

/* Append raw bytes. */
static void
buf_put(Buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Append one byte. */
static void
buf_u8(Buf *b, uint8_t v)
{
	buf_reserve(b, 1);
	b->data[b->len++] = v;
}

/* Append a 16-bit value in the given byte order. */
static void
buf_u16(Buf *b, int big, uint16_t v)
{
	buf_reserve(b, 2);
	put_u16(b->data + b->len, big, v);
	b->len += 2;
}

/* Append a 32-bit value in the given byte order. */
static void
buf_u32(Buf *b, int big, uint32_t v)
{
	buf_reserve(b, 4);
	put_u32(b->data + b->len, big, v);
	b->len += 4;
}

/* Append a 64-bit value in the given byte order. */
static void
buf_u64(Buf *b, int big, uint64_t v)
{
	if (big)
	{
		buf_u32(b, 1, (uint32_t) (v >> 32));
		buf_u32(b, 1, (uint32_t) v);
	}
	else
	{
		buf_u32(b, 0, (uint32_t) v);
		buf_u32(b, 0, (uint32_t) (v >> 32));
	}
}

/* Append zero bytes up to a multiple of 4 in length. */
static void
buf_pad4(Buf *b)
{
	while (b->len % 4 != 0)
		buf_u8(b, 0);
}

/* ---------------------------------------------------------------------
 * Output (plain or gzip).
 * ---------------------------------------------------------------------
 */

/* Open the output file (or stdout) and set up compression. */
void
out_open(Out *o, const char *path, int gzip, int level)
{
	memset(o, 0, sizeof(*o));
	if (strcmp(path, "-") == 0)
	{
		o->fp = stdout;
		o->is_stdout = 1;
	}
	else
	{
		o->fp = fopen(path, "wb");
		if (o->fp == NULL)
			die(1, "could not open \"%s\" for writing: %s", path, strerror(errno));
	}
	o->gzip = gzip;
	if (gzip)
	{
		if (deflateInit2(&o->zs, level, Z_DEFLATED, 15 + 16, 8,
						 Z_DEFAULT_STRATEGY) != Z_OK)
			die(1, "could not initialize zlib");
		/* fixed header: no name, mtime 0, OS 3 (Unix), on every machine */
		o->gzh.os = 3;
		if (deflateSetHeader(&o->zs, &o->gzh) != Z_OK)
			die(1, "could not set the gzip header");
	}
}

/* Write the bytes out of the compressor until it has nothing more. */
static void
out_deflate(Out *o, int flush)
{
	int			rc;
	size_t		have;

	do
	{
		o->zs.next_out = o->zbuf;
		o->zs.avail_out = sizeof(o->zbuf);
		rc = deflate(&o->zs, flush);
		if (rc == Z_STREAM_ERROR)
			die(1, "zlib deflate failed");
		have = sizeof(o->zbuf) - o->zs.avail_out;
		if (have > 0 && fwrite(o->zbuf, 1, have, o->fp) != have)
			die(1, "write failed: %s", strerror(errno));
	} while (o->zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

/* Write bytes to the output. */
void
out_write(Out *o, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (!o->gzip)
	{
		if (fwrite(p, 1, n, o->fp) != n)
			die(1, "write failed: %s", strerror(errno));
		return;
	}
	o->zs.next_in = (Bytef *) p;
	o->zs.avail_in = (uInt) n;
	out_deflate(o, Z_NO_FLUSH);
}

/* Finish the compressed stream and close the output. */
void
out_close(Out *o)
{
	if (o->gzip)
	{
		o->zs.next_in = NULL;
		o->zs.avail_in = 0;
		out_deflate(o, Z_FINISH);
		deflateEnd(&o->zs);
	}
	if (o->is_stdout)
	{
		if (fflush(o->fp) != 0)
			die(1, "write failed: %s", strerror(errno));
	}
	else if (fclose(o->fp) != 0)
		die(1, "write failed: %s", strerror(errno));
}

/* ---------------------------------------------------------------------
 * Capture-file structures.
 * ---------------------------------------------------------------------
 */

/* The pcap file header (pcap and pcap-ns, Kuznetzov's or not). */
void
write_pcap_header(Buf *b, const Options *o)
{
	int			big = o->byte_order == BO_BIG;
	uint32_t	magic;

	if (o->kuznetzov)
		magic = UINT32_C(0xA1B2CD34);
	else if (o->format == FMT_PCAP_NS)
		magic = UINT32_C(0xA1B23C4D);
	else
		magic = UINT32_C(0xA1B2C3D4);
	buf_u32(b, big, magic);
	buf_u16(b, big, 2);
	buf_u16(b, big, (uint16_t) o->pcap_minor);
	buf_u32(b, big, 0);			/* thiszone */
	buf_u32(b, big, 0);			/* sigfigs */
	buf_u32(b, big, o->snaplen);
	buf_u32(b, big, linktypes[o->iface_lt[0]].code);
}

/* Start a pcapng block; returns its offset in the buffer. */
static size_t
block_begin(Buf *b, int big, uint32_t type)
{
	size_t		start = b->len;

	buf_u32(b, big, type);
	buf_u32(b, big, 0);			/* patched by block_end */
	return start;
}

/* Pad, append the trailing length and patch the leading one. */
static void
block_end(Buf *b, int big, size_t start)
{
	uint32_t	total;

	buf_pad4(b);
	total = (uint32_t) (b->len - start + 4);
	buf_u32(b, big, total);
	put_u32(b->data + start + 4, big, total);
}

/* Append a pcapng option (code, length, value padded to 4). */
static void
opt_put(Buf *b, int big, uint16_t code, const void *val, uint16_t len)
{
	buf_u16(b, big, code);
	buf_u16(b, big, len);
	buf_put(b, val, len);
	buf_pad4(b);
}

/* Section Header Block and one IDB per interface. */
void
write_section_header(Buf *b, const Options *o, int big)
{
	size_t		start;
	int			i;
	char		name[16];
	uint8_t		v8[8];

	start = block_begin(b, big, BT_SHB);
	buf_u32(b, big, UINT32_C(0x1A2B3C4D));
	buf_u16(b, big, 1);
	buf_u16(b, big, 0);
	buf_u64(b, big, UINT64_MAX);	/* section length not given */
	opt_put(b, big, 4, "mirai_gen", 9); /* shb_userappl */
	opt_put(b, big, 0, NULL, 0);
	block_end(b, big, start);

	for (i = 0; i < o->nifaces; i++)
	{
		start = block_begin(b, big, BT_IDB);
		buf_u16(b, big, (uint16_t) linktypes[o->iface_lt[i]].code);
		buf_u16(b, big, 0);
		buf_u32(b, big, o->snaplen);
		snprintf(name, sizeof(name), "mg%d", i);
		opt_put(b, big, 2, name, (uint16_t) strlen(name));	/* if_name */
		if (o->has_tsresol)
			opt_put(b, big, 9, &o->tsresol, 1);
		if (o->has_tsoffset)
		{
			uint64_t	u = (uint64_t) o->tsoffset;
			int			k;

			for (k = 0; k < 8; k++)
				v8[big ? k : 7 - k] = (uint8_t) (u >> (56 - 8 * k));
			opt_put(b, big, 14, v8, 8);
		}
		opt_put(b, big, 0, NULL, 0);
		block_end(b, big, start);
	}
}

/*
 * Convert a timestamp to pcapng units for the interfaces' if_tsresol and
 * if_tsoffset.  Exits if it cannot be represented.
 */
uint64_t
pcapng_units(const Options *o, uint64_t sec, uint32_t nsec)
{
	uint8_t		res = o->has_tsresol ? o->tsresol : 6;
	uint64_t	rel;
	uint64_t	hi;
	uint64_t	lo;
	uint64_t	p10;
	int			i;
	int			bits;

	if (o->tsoffset >= 0)
	{
		if (sec < (uint64_t) o->tsoffset)
			die(1, "timestamp %" PRIu64 " is earlier than --tsoffset", sec);
		rel = sec - (uint64_t) o->tsoffset;
	}
	else
		rel = sec + (uint64_t) (-(o->tsoffset + 1)) + 1;

	if (res & 0x80)
	{
		bits = res & 0x7F;
		if (bits > 0 && (rel >> (64 - bits)) != 0)
			die(1, "timestamp does not fit in 64 bits at --tsresol 0x%02x", res);
		hi = rel << bits;
		/* floor(nsec * 2^bits / 1e9) by binary long division */
		lo = 0;
		{
			uint64_t	rem = nsec;

			for (i = 0; i < bits; i++)
			{
				rem <<= 1;
				lo <<= 1;
				if (rem >= NSEC_PER_SEC)
				{
					rem -= NSEC_PER_SEC;
					lo |= 1;
				}
			}
		}
	}
	else
	{
		p10 = 1;
		for (i = 0; i < res; i++)
			p10 *= 10;
		if (rel > UINT64_MAX / p10)
			die(1, "timestamp does not fit in 64 bits at --tsresol %d", res);
		hi = rel * p10;
		if (res <= 9)
		{
			uint64_t	div = 1;

			for (i = res; i < 9; i++)
				div *= 10;
			lo = nsec / div;
		}
		else
		{
			uint64_t	mul = 1;

			for (i = 9; i < res; i++)
				mul *= 10;
			lo = (uint64_t) nsec * mul;
		}
	}
	if (hi > UINT64_MAX - lo)
		die(1, "timestamp does not fit in 64 bits");
	return hi + lo;
}

/* Name Resolution Block, Interface Statistics Block and an unknown block. */
void
write_extra_blocks(Buf *b, const Options *o, int big, uint64_t ts_units,
				   uint64_t received)
{
	size_t		start;
	static const char host[] = "honeypot.example";
	uint8_t		rec[4 + sizeof(host)];
	uint8_t		v8[8];
	int			k;

	/* unknown block type */
	start = block_begin(b, big, BT_UNKNOWN);
	buf_put(b, "MGEN\x01", 5);
	block_end(b, big, start);

	/* NRB: one IPv4 record, then nrb_record_end */
	start = block_begin(b, big, BT_NRB);
	put_be32(rec, o->dst);
	memcpy(rec + 4, host, sizeof(host));
	buf_u16(b, big, 1);
	buf_u16(b, big, (uint16_t) sizeof(rec));
	buf_put(b, rec, sizeof(rec));
	buf_pad4(b);
	buf_u16(b, big, 0);
	buf_u16(b, big, 0);
	block_end(b, big, start);

	/* ISB for interface 0: isb_ifrecv, isb_ifdrop */
	start = block_begin(b, big, BT_ISB);
	buf_u32(b, big, 0);
	buf_u32(b, big, (uint32_t) (ts_units >> 32));
	buf_u32(b, big, (uint32_t) ts_units);
	for (k = 0; k < 8; k++)
		v8[big ? k : 7 - k] = (uint8_t) (received >> (56 - 8 * k));
	opt_put(b, big, 4, v8, 8);
	memset(v8, 0, 8);
	opt_put(b, big, 5, v8, 8);
	opt_put(b, big, 0, NULL, 0);
	block_end(b, big, start);
}

/*
 * Serialize one packet record (pcap record or pcapng packet block); with
 * epb_flags, an EPB also carries an epb_flags option, as dumpcap writes.
 */
void
write_record(Buf *b, const Options *o, int big, BlockKind bk, uint32_t ifid,
			 uint64_t sec, uint32_t nsec, const uint8_t *frame,
			 uint32_t caplen, uint32_t wirelen, uint16_t kproto,
			 uint8_t kpkttype, int epb_flags)
{
	size_t		start;
	uint64_t	u;

	if (o->format != FMT_PCAPNG)
	{
		if (sec > UINT32_MAX)
			die(1, "timestamp beyond 2106 cannot be written in pcap");
		buf_u32(b, big, (uint32_t) sec);
		buf_u32(b, big, o->format == FMT_PCAP_NS ? nsec : nsec / 1000);
		if (o->pcap_minor < 3)
		{
			/* old writers swapped caplen and len */
			buf_u32(b, big, wirelen);
			buf_u32(b, big, caplen);
		}
		else
		{
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
		}
		if (o->kuznetzov)
		{
			buf_u32(b, big, 2);		/* ifindex */
			buf_u16(b, 1, kproto);	/* skb->protocol, network order */
			buf_u8(b, kpkttype);
			buf_u8(b, 0);
		}
		buf_put(b, frame, caplen);
		return;
	}

	switch (bk)
	{
		case BLK_SPB:
			start = block_begin(b, big, BT_SPB);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			block_end(b, big, start);
			break;
		case BLK_OPB:
			u = pcapng_units(o, sec, nsec);
			start = block_begin(b, big, BT_OPB);
			buf_u16(b, big, (uint16_t) ifid);
			buf_u16(b, big, 0);		/* drops count */
			buf_u32(b, big, (uint32_t) (u >> 32));
			buf_u32(b, big, (uint32_t) u);
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			block_end(b, big, start);
			break;
		case BLK_EPB:
			u = pcapng_units(o, sec, nsec);
			start = block_begin(b, big, BT_EPB);
			buf_u32(b, big, ifid);
			buf_u32(b, big, (uint32_t) (u >> 32));
			buf_u32(b, big, (uint32_t) u);
			buf_u32(b, big, caplen);
			buf_u32(b, big, wirelen);
			buf_put(b, frame, caplen);
			buf_pad4(b);
			if (epb_flags)
			{
				uint8_t		v4[4];

				/* epb_flags: inbound, unicast */
				put_u32(v4, big, UINT32_C(0x00000005));
				opt_put(b, big, 2, v4, 4);
				opt_put(b, big, 0, NULL, 0);
			}
			block_end(b, big, start);
			break;
	}
}
