/*-------------------------------------------------------------------------
 *
 * mx_reader.c
 *		Capture containers: pcap, pcapng, and gzip of either, from a file
 *		descriptor (file, pipe, stdin) or from memory.
 *
 * The reader keeps one window of the decompressed stream, buf[start..end),
 * and hands out records that point into it, so a record costs no copy.  The
 * window grows only to hold the largest record or block it has to (limited
 * by MX_MAX_CAPLEN and MX_MAX_BLOCK), so memory stays bounded whatever the
 * file's size.  Input is read with read(2), never mapped: a capture file
 * truncated under a mapping would raise SIGBUS in the caller.
 *
 * What a capture file means follows libpcap 1.10 (sf-pcap.c, sf-pcapng.c),
 * and Wireshark where libpcap refuses what Wireshark reads:
 *	- pcap: either byte order; microsecond (0xa1b2c3d4), nanosecond
 *	  (0xa1b23c4d) and Kuznetzov's (0xa1b2cd34, 24-byte record headers)
 *	  magic; versions 2.0-2.2 and DG/UX 543.0 swap the captured and wire
 *	  lengths, 2.3 may; later 2.x versions read as 2.4 (Wireshark); a
 *	  snaplen of 0 or above MX_MAX_CAPLEN means MX_MAX_CAPLEN; a record
 *	  longer than the snaplen is cut to it, as libpcap cuts it; a fraction
 *	  of a second out of range is carried into the seconds.
 *	- pcapng: any number of sections, each in its own byte order, each with
 *	  its own interfaces, which may differ in link type (libpcap 1.10
 *	  refuses those files; we read them); if_tsresol and if_tsoffset;
 *	  enhanced, simple and obsolete packet blocks; other blocks skipped; a
 *	  section of a major version other than 1 ends what is read.
 *	- gzip: found by its magic bytes, not by the file name; several members
 *	  one after another are one stream, as gzip(1) reads them.
 *	- several captures one after another (cat a.pcap b.pcapng, zcat
 *	  *.pcap.gz): a file header where a record or block is expected starts
 *	  a new capture, as a section header starts a new pcapng section.
 * What the reader reads past (a record cut to the snaplen, a fraction out
 * of range, a section it stops at, a new capture) it tells through the
 * caller's event callback (mx_reader_set_events).  Every pcapng block length
 * is checked at both ends.
 *
 * A file that ends inside its last record is not an error: the reader
 * returns MX_END and mx_reader_truncated() says so, so the caller can keep
 * the packets before it and warn, as tcpdump does.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mx_bytes.h"

#define WINDOW_INITIAL		(1024 * 1024)
#define ZIN_SIZE			WINDOW_INITIAL	/* holds what sniffing read */
#define MAX_INTERFACES		65536

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_MAGIC_NS		0xa1b23c4du
#define PCAP_MAGIC_KUZ		0xa1b2cd34u
#define PCAPNG_SHB			0x0a0d0d0au
#define PCAPNG_BOM			0x1a2b3c4du
#define PCAPNG_IDB			1u
#define PCAPNG_PB			2u
#define PCAPNG_SPB			3u
#define PCAPNG_EPB			6u

#define NS_PER_SEC			UINT64_C(1000000000)

/* pcap versions before 2.3 wrote caplen and len the other way round */
typedef enum
{
	NOT_SWAPPED, MAYBE_SWAPPED, SWAPPED
} lengths_order;

/* A pcapng interface: what its packets need to be read. */
typedef struct interface
{
	uint32_t	linktype;
	uint32_t	snaplen;
	bool		tsres_pow2;		/* if_tsresol: 2^-exp instead of 10^-exp */
	uint8_t		tsres_exp;		/* 6 = microseconds, the default */
	int64_t		tsoffset;		/* if_tsoffset, seconds */
} interface;

struct mx_reader
{
	/* where bytes come from: a descriptor, or a caller's buffer */
	int			fd;
	const uint8_t *mem;
	size_t		memlen;
	bool		in_eof;			/* the input has no more bytes */

	/* gzip */
	bool		gz;
	z_stream	zs;
	bool		zs_live;		/* inflateInit2 succeeded */
	bool		z_member_done;	/* Z_STREAM_END seen for the current member */
	uint8_t    *zin;			/* input chunk, descriptor input only */
	uint64_t	in_total;		/* input bytes read */
	uint64_t	z_in_done;		/* compressed bytes of finished members */
	uint64_t	z_out_done;		/* and what they expanded to */
	bool		z_failed;		/* corrupt data met: z_err is the error */
	mx_error	z_err;

	/* the window of the (decompressed) stream */
	uint8_t    *buf;			/* NULL when reading memory uncompressed */
	const uint8_t *win;			/* buf, or mem */
	size_t		cap;
	size_t		start;
	size_t		end;
	bool		eof;			/* no byte after win[end] will come */
	uint64_t	win_offset;		/* stream offset of win[0] */

	/* the file */
	mx_file_info info;			/* of the first capture in the stream */
	mx_format	format;			/* of the capture being read */
	uint32_t	headers;		/* file and section headers read */
	bool		stopped;		/* a section it cannot read ended reading */
	uint64_t	packetno;		/* records handed out so far */
	bool		truncated;
	mx_error	trunc_err;

	/* pcap */
	bool		big;
	bool		nanosecond;
	uint32_t	frac_limit;		/* 10^9 or 10^6: a fraction must be below */
	size_t		rec_hdr_len;	/* 16, or 24 for Kuznetzov's */
	lengths_order lengths;
	uint32_t	snaplen;
	uint32_t	linktype;

	/* pcapng: the current section */
	interface  *ifs;
	uint32_t	nifs;
	uint32_t	ifs_cap;

	/* the caller's hooks on reading the descriptor */
	mx_input_callback tap;
	void	   *tap_arg;
	bool		(*interrupted) (void *arg);
	void	   *interrupted_arg;
	bool		pollable;		/* not a regular file: reads may wait */

	/* what is read past, and told */
	mx_event_callback event_cb;
	void	   *event_arg;

	/* salvage mode */
	mx_skip_callback salvage_cb;
	void	   *salvage_arg;
	bool		have_last_sec;	/* last_sec holds a good record's time */
	uint64_t	last_sec;
};

/* ----------------------------------------------------------------------
 * The window
 * ----------------------------------------------------------------------
 */

static uint64_t
cur_offset(const mx_reader *rd)
{
	return rd->win_offset + rd->start;
}

static size_t
avail(const mx_reader *rd)
{
	return rd->end - rd->start;
}

/* The caller's interrupted hook said so: MX_ERR_IO with errnum EINTR. */
static mx_status
fail_interrupted(mx_reader *rd, mx_error *err)
{
	mx_fail(err, MX_ERR_IO, "read", rd->packetno + 1, cur_offset(rd),
			"reading was interrupted");
	err->errnum = EINTR;
	return MX_ERR_IO;
}

/*
 * read(2) until n bytes or end of input; returns bytes read, -1 on error.
 *
 * The caller's interrupted hook is asked before every read, whatever the
 * descriptor: skipping non-packet pcapng blocks, salvage mode's scan for
 * the next record and gzip members that expand to nothing can each run
 * through a whole file without handing out a record, and a regular file
 * never waits in poll(), where the hook is otherwise asked.  They all read
 * on as they go, a chunk (1 MiB) at a time, and pass over a chunk in
 * milliseconds, so a cancel is seen that soon, for one call per chunk.
 * (need() asks too, for a gzip stream: one chunk may expand to a thousand.)
 */
static ssize_t
read_some(mx_reader *rd, uint8_t *dst, size_t n, mx_error *err)
{
	ssize_t		r;

	if (rd->interrupted && rd->interrupted(rd->interrupted_arg))
	{
		fail_interrupted(rd, err);
		return -1;
	}

	/*
	 * A stalled pipe must not block a caller that wants to cancel, nor must
	 * a FIFO that no writer has opened yet (the caller opened it with
	 * O_NONBLOCK: until a writer comes, poll() reports nothing on Linux).
	 */
	while (rd->interrupted && rd->pollable)
	{
		struct pollfd pfd;
		int			pr;

		pfd.fd = rd->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		pr = poll(&pfd, 1, 100);
		if (pr > 0 || (pr < 0 && errno != EINTR))
			break;				/* readable, closed, or an error read() reports */
		/* a timeout, or a signal (a cancel comes as one) */
		if (rd->interrupted(rd->interrupted_arg))
		{
			fail_interrupted(rd, err);
			return -1;
		}
	}
	for (;;)
	{
		r = read(rd->fd, dst, n);
		if (r >= 0)
			break;
		if (errno != EINTR)
		{
			mx_fail(err, MX_ERR_IO, "read", rd->packetno + 1, cur_offset(rd),
					"could not read the file: %s", strerror(errno));
			err->errnum = errno;
			return -1;
		}
	}
	if (r == 0)
		rd->in_eof = true;
	else if (rd->tap)
		rd->tap(rd->tap_arg, dst, (size_t) r);
	rd->in_total += (uint64_t) r;
	return r;
}

/* Inflate into buf[end..cap); sets eof and truncated at the stream's end. */
static mx_status
fill_gzip(mx_reader *rd, mx_error *err)
{
	int			zr;
	uint64_t	zin,
				zout;
	size_t		end0 = rd->end;

	if (rd->z_failed)
	{
		/* the data before the damage has been handed out: now the error */
		*err = rd->z_err;
		err->packetno = rd->packetno + 1;
		return err->code;
	}
	for (;;)
	{
		if (rd->z_member_done)
		{
			/* another member may follow (gzip -c a b > ab.gz) */
			if (rd->zs.avail_in < 2 && !rd->in_eof && rd->mem == NULL)
			{
				ssize_t		r;

				memmove(rd->zin, rd->zs.next_in, rd->zs.avail_in);
				r = read_some(rd, rd->zin + rd->zs.avail_in,
							  ZIN_SIZE - rd->zs.avail_in, err);
				if (r < 0)
					return MX_ERR_IO;
				rd->zs.next_in = rd->zin;
				rd->zs.avail_in += (uInt) r;
				continue;
			}
			if (rd->zs.avail_in == 0)
			{
				rd->eof = true;
				return MX_OK;
			}
			if (rd->zs.avail_in >= 2 && rd->zs.next_in[0] == 0x1f &&
				rd->zs.next_in[1] == 0x8b)
			{
				rd->z_in_done += rd->zs.total_in;
				rd->z_out_done += rd->zs.total_out;
				inflateReset(&rd->zs);
				rd->z_member_done = false;
				continue;
			}
			return mx_fail(err, MX_ERR_CORRUPT, "gzip.trailer", rd->packetno + 1,
						   rd->win_offset + rd->end,
						   "%u bytes of trailing garbage follow the gzip stream",
						   rd->zs.avail_in);
		}
		if (rd->zs.avail_in == 0 && !rd->in_eof && rd->mem == NULL)
		{
			ssize_t		r = read_some(rd, rd->zin, ZIN_SIZE, err);

			if (r < 0)
				return MX_ERR_IO;
			rd->zs.next_in = rd->zin;
			rd->zs.avail_in = (uInt) r;
		}
		if (rd->zs.avail_in == 0)
		{
			/* the compressed input ended before the member did */
			rd->eof = true;
			if (!rd->truncated)
			{
				rd->truncated = true;
				mx_fail(&rd->trunc_err, MX_ERR_TRUNCATED, "gzip.trailer",
						rd->packetno + 1, rd->win_offset + rd->end,
						"the gzip stream ends before its trailer");
			}
			return MX_OK;
		}
		rd->zs.next_out = rd->buf + rd->end;
		rd->zs.avail_out = (uInt) (rd->cap - rd->end);
		zr = inflate(&rd->zs, Z_NO_FLUSH);
		rd->end = rd->cap - rd->zs.avail_out;
		if (zr == Z_STREAM_END)
			rd->z_member_done = true;
		else if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_MEM_ERROR)
		{
			const char *field = "gzip.data";

			if (rd->zs.msg && strstr(rd->zs.msg, "check"))
				field = "gzip.trailer";
			else if (rd->zs.msg && strstr(rd->zs.msg, "header"))
				field = "gzip.header";
			mx_fail(err, zr == Z_MEM_ERROR ? MX_ERR_NOMEM : MX_ERR_CORRUPT,
					field, rd->packetno + 1, rd->win_offset + rd->end,
					"gzip data is corrupt: %s (compressed byte %llu)",
					rd->zs.msg ? rd->zs.msg : "unknown error",
					(unsigned long long) (rd->z_in_done + rd->zs.total_in));
			if (zr == Z_MEM_ERROR || rd->end == end0)
				return err->code;
			/*
			 * Bytes inflated before the damage are good: hand them out
			 * first, and fail at the next fill, at the record the damage
			 * cuts.
			 */
			rd->z_failed = true;
			rd->z_err = *err;
			return MX_OK;
		}
		zin = rd->z_in_done + rd->zs.total_in;
		zout = rd->z_out_done + rd->zs.total_out;
		if (zout > WINDOW_INITIAL && zout / MX_MAX_GZIP_RATIO > zin)
			return mx_fail_values(err, MX_MAX_GZIP_RATIO, zout / (zin ? zin : 1), MX_ERR_LIMIT, "gzip.ratio", rd->packetno + 1,
										  rd->win_offset + rd->end,
										  "gzip stream expands more than %d times: %llu bytes from %llu",
										  MX_MAX_GZIP_RATIO, (unsigned long long) zout,
										  (unsigned long long) zin);
		if (rd->end > rd->start && (rd->end == rd->cap || zr == Z_STREAM_END ||
									rd->zs.avail_in == 0))
			return MX_OK;
	}
}

/*
 * Make at least n bytes available at win[start], or as many as remain when
 * the stream ends first (then rd->eof is set).  Errors are input errors.
 *
 * For a gzip stream, every refill asks the caller's interrupted hook
 * first: a chunk of compressed input that read_some() asked about may
 * expand to a thousand windows of blocks to skip or garbage to scan.  (A
 * window is 1 MiB, up to MX_MAX_BLOCK once a large block has grown it.)
 */
static mx_status __attribute__((noinline))
need_more(mx_reader *rd, size_t n, mx_error *err)
{
	mx_status	st;

	while (avail(rd) < n && !rd->eof)
	{
		if (rd->buf == NULL)
		{
			rd->eof = true;		/* memory input: everything is there */
			break;
		}
		if (rd->gz && rd->interrupted && rd->interrupted(rd->interrupted_arg))
			return fail_interrupted(rd, err);
		/* room: slide the live bytes down, grow if n does not fit */
		if (rd->start > 0)
		{
			memmove(rd->buf, rd->buf + rd->start, avail(rd));
			rd->win_offset += rd->start;
			rd->end -= rd->start;
			rd->start = 0;
		}
		if (n > rd->cap)
		{
			size_t		ncap = rd->cap;
			uint8_t    *nb;

			while (ncap < n)
				ncap *= 2;
			nb = realloc(rd->buf, ncap);
			if (nb == NULL)
				return mx_fail(err, MX_ERR_NOMEM, "buffer", rd->packetno + 1,
							   cur_offset(rd), "out of memory for a %zu-byte buffer", ncap);
			rd->buf = nb;
			rd->win = nb;
			rd->cap = ncap;
		}
		if (rd->gz)
		{
			if ((st = fill_gzip(rd, err)) != MX_OK)
				return st;
		}
		else
		{
			ssize_t		r = read_some(rd, rd->buf + rd->end, rd->cap - rd->end, err);

			if (r < 0)
				return MX_ERR_IO;
			rd->end += (size_t) r;
			if (r == 0)
				rd->eof = true;
		}
	}
	return MX_OK;
}

/* need_more, when the window does not hold n bytes yet: for every record */
static inline mx_status
need(mx_reader *rd, size_t n, mx_error *err)
{
	if (avail(rd) >= n)
		return MX_OK;
	return need_more(rd, n, err);
}

/* Note that the stream ends inside a structure; the caller returns MX_END. */
static mx_status
truncated_at(mx_reader *rd, const char *field, size_t wanted)
{
	rd->truncated = true;
	mx_fail_values(&rd->trunc_err, wanted, avail(rd), MX_ERR_TRUNCATED, field,
				   rd->packetno + 1, cur_offset(rd),
				   "its last record has %zu of its %zu bytes", avail(rd), wanted);
	rd->start = rd->end;
	return MX_END;
}

/* ----------------------------------------------------------------------
 * pcap
 * ----------------------------------------------------------------------
 */

/*
 * Is a pcap file header valid for this version?  libpcap 1.10 reads 2.0 to
 * 2.4 and DG/UX's 543.0; Wireshark reads any later 2.x too, as 2.4.
 */
static bool
pcap_version_ok(uint16_t major, uint16_t minor)
{
	return major == 2 || (major == 543 && minor == 0);
}

/*
 * The 24-byte file header at the window's start, magic already matched: the
 * stream's first, or one that follows the records of another capture (off
 * is its offset, packetno the records read before it).
 */
static mx_status
open_pcap(mx_reader *rd, uint32_t magic, bool big, mx_error *err)
{
	const uint8_t *h;
	uint64_t	off = cur_offset(rd);
	uint16_t	major,
				minor;
	uint32_t	linktype;

	if (avail(rd) < 24)
		return mx_fail_values(err, 24, avail(rd), MX_ERR_TRUNCATED, "pcap.header",
							  rd->packetno ? rd->packetno + 1 : 0, off,
							  "the file ends inside its pcap header");
	h = rd->win + rd->start;
	major = mx_get16(h + 4, big);
	minor = mx_get16(h + 6, big);
	if (!pcap_version_ok(major, minor))
		return mx_fail(err, MX_ERR_FORMAT, "pcap.version",
					   rd->packetno ? rd->packetno + 1 : 0, off + 4,
					   "unsupported pcap version %u.%u", major, minor);
	rd->big = big;
	rd->format = MX_FORMAT_PCAP;
	rd->nanosecond = magic == PCAP_MAGIC_NS;
	rd->frac_limit = rd->nanosecond ? 1000000000u : 1000000u;
	rd->rec_hdr_len = magic == PCAP_MAGIC_KUZ ? 24 : 16;
	if (rd->headers == 0)
	{
		rd->info.format = MX_FORMAT_PCAP;
		rd->info.big_endian = big;
		rd->info.nanosecond = rd->nanosecond;
		rd->info.version_major = major;
		rd->info.version_minor = minor;
	}
	rd->headers++;
	if (major == 543 || minor < 3)
		rd->lengths = SWAPPED;
	else if (minor == 3)
		rd->lengths = MAYBE_SWAPPED;
	else
		rd->lengths = NOT_SWAPPED;
	rd->snaplen = mx_get32(h + 16, big);
	if (rd->snaplen == 0 || rd->snaplen > MX_MAX_CAPLEN)
		rd->snaplen = MX_MAX_CAPLEN;
	/* the upper 16 bits hold FCS length and other flags */
	linktype = mx_get32(h + 20, big) & 0xffff;
	/* Kuznetzov's cooked captures add a fake 14-byte Ethernet header */
	if (magic == PCAP_MAGIC_KUZ && rd->snaplen <= MX_MAX_CAPLEN - 14 &&
		linktype == MX_LINKTYPE_ETHERNET)
		rd->snaplen += 14;
	rd->linktype = linktype;
	/* a new capture's times start afresh: salvage's window follows them */
	rd->have_last_sec = false;
	rd->start += 24;
	return MX_OK;
}

/*
 * The magic number of a capture file at h (4 bytes): a pcap magic in either
 * byte order (*big set), the pcapng section header's block type, or 0.
 */
static uint32_t
file_magic(const uint8_t *h, bool *big)
{
	uint32_t	le = mx_le32(h);

	*big = false;
	switch (le)
	{
		case PCAP_MAGIC_US:
		case PCAP_MAGIC_NS:
		case PCAP_MAGIC_KUZ:
			*big = false;
			return le;
		case PCAPNG_SHB:
			return le;
		case 0xd4c3b2a1u:		/* the pcap magics, big-endian */
		case 0x4d3cb2a1u:
		case 0x34cdb2a1u:
			*big = true;
			return mx_be32(h);
	}
	return 0;
}

/*
 * A file header where a record or block was expected: a new capture in the
 * stream (cat a.pcap b.pcapng, zcat *.pcap.gz), read as a new pcapng
 * section is.  Returns MX_SKIP (go on reading) once the header is read, an
 * error, or MX_END for a pcap header the stream ends inside.  A pcap magic
 * counts only with a version it reads, a pcapng section header only with a
 * known byte-order magic, so that a record that merely starts with those
 * bytes stays a record.
 */
static mx_status __attribute__((noinline))
new_capture(mx_reader *rd, uint32_t magic, bool big, mx_error *err)
{
	mx_error	where;
	uint64_t	off = cur_offset(rd);

	if (magic == PCAPNG_SHB)
	{
		rd->format = MX_FORMAT_PCAPNG;	/* next_pcapng reads the section */
		rd->nifs = 0;
	}
	else
	{
		mx_status	st = open_pcap(rd, magic, big, err);

		if (st == MX_ERR_TRUNCATED)
		{
			rd->truncated = true;
			rd->trunc_err = *err;
			rd->start = rd->end;
			return MX_END;
		}
		if (st != MX_OK)
			return st;
	}
	if (rd->event_cb)
	{
		mx_fail(&where, MX_OK, magic == PCAPNG_SHB ? "pcapng.header" : "pcap.header",
				rd->packetno + 1, off, "a new capture begins");
		rd->event_cb(rd->event_arg, MX_EVENT_CAPTURE, &where, NULL);
	}
	return MX_SKIP;
}

/*
 * Could a record header whose first 32 bits (its seconds, in either byte
 * order) are w start a capture file header instead?  Every pcap magic,
 * read in either byte order, has 0xa1b2 in its high or 0xb2a1 in its low
 * half; the section header's block type is 0x0a0d0d0a both ways.  This
 * runs for every record: a time fails it at once.
 */
static inline bool
maybe_magic(uint32_t w)
{
	return (w >> 16) == 0xa1b2 || (w & 0xffff) == 0xb2a1 || w == PCAPNG_SHB;
}

/* Is there a capture file header at the window's start (24 bytes there)? */
static bool
at_capture_header(const mx_reader *rd, uint32_t *magic, bool *big)
{
	const uint8_t *h = rd->win + rd->start;

	if (avail(rd) < 12 || !maybe_magic(mx_le32(h)) || (*magic = file_magic(h, big)) == 0)
		return false;
	if (*magic == PCAPNG_SHB)
		return mx_le32(h + 8) == PCAPNG_BOM || mx_be32(h + 8) == PCAPNG_BOM;
	/* a pcap header the stream ends inside counts: it is reported so */
	return avail(rd) < 24 ||
		pcap_version_ok(mx_get16(h + 4, *big), mx_get16(h + 6, *big));
}

static bool plausible_pcap(const mx_reader *rd, const uint8_t *h, bool timed,
						   bool scan);

/*
 * Tell the caller what was read past (cut records, time fractions out of
 * range), once the record is filled in.
 */
static void
tell(mx_reader *rd, mx_reader_event ev, const mx_record *rec, const char *field,
	 uint64_t off, uint64_t expected, uint64_t actual, const char *fmt,...)
	__attribute__((format(printf, 8, 9)));

static void
tell(mx_reader *rd, mx_reader_event ev, const mx_record *rec, const char *field,
	 uint64_t off, uint64_t expected, uint64_t actual, const char *fmt,...)
{
	mx_error	where;
	va_list		ap;

	if (rd->event_cb == NULL)
		return;
	mx_fail_values(&where, expected, actual, MX_OK, field, rec->packetno, off, "%s", "");
	va_start(ap, fmt);
	vsnprintf(where.message, sizeof(where.message), fmt, ap);
	va_end(ap);
	rd->event_cb(rd->event_arg, ev, &where, rec);
}

/*
 * A pcap record read past a rule: cut it to the snaplen, tell the caller of
 * that and of a fraction out of range.  Out of line: the common path stays
 * short.
 */
static void __attribute__((noinline))
pcap_read_past(mx_reader *rd, mx_record *rec, uint32_t frac)
{
	if (rec->caplen > rd->snaplen)
	{
		uint32_t	caplen = rec->caplen;

		rec->caplen = rd->snaplen;
		tell(rd, MX_EVENT_CUT, rec, "pcap.caplen", rec->offset + 8, rd->snaplen, caplen,
			 "captured length %u is larger than the file's snapshot length %u",
			 caplen, rd->snaplen);
	}
	if (frac >= rd->frac_limit)
		tell(rd, MX_EVENT_TIME, rec, "pcap.ts_fraction", rec->offset + 4, rd->frac_limit, frac,
			 "its fraction of a second is %u %s", frac,
			 rd->nanosecond ? "nanoseconds" : "microseconds");
}

/*
 * The next pcap record, or MX_SKIP when a new capture's file header was read
 * in its place (the caller reads on).
 *
 * A captured length above the snapshot length (and within MX_MAX_CAPLEN) is
 * read as libpcap 1.10 reads it: the whole record is consumed and its first
 * snaplen bytes handed out.  In salvage mode such a record must be followed
 * by a plausible record header or the end of the input, or it is damage.
 * A fraction of a second out of range (microseconds >= 10^6, nanoseconds
 * >= 10^9) is carried into the seconds, as its value says.
 */
static mx_status
next_pcap(mx_reader *rd, mx_record *rec, mx_error *err)
{
	const uint8_t *h;
	uint32_t	sec,
				frac,
				caplen,
				len;
	mx_status	st;
	uint64_t	off;
	uint32_t	magic;
	bool		big;
	size_t		hl = rd->rec_hdr_len,
				have;

	if ((st = need(rd, 24, err)) != MX_OK)
		return st;
	have = avail(rd);
	if (have == 0)
		return MX_END;
	if (have < 4)
		return truncated_at(rd, "pcap.record", hl);
	h = rd->win + rd->start;
	sec = mx_get32(h, rd->big);
	if (maybe_magic(sec) && at_capture_header(rd, &magic, &big))
		return new_capture(rd, magic, big, err);
	if (have < hl)
		return truncated_at(rd, "pcap.record", hl);
	off = cur_offset(rd);
	frac = mx_get32(h + 4, rd->big);
	caplen = mx_get32(h + 8, rd->big);
	len = mx_get32(h + 12, rd->big);
	if (rd->lengths == SWAPPED ||
		(rd->lengths == MAYBE_SWAPPED && caplen > len))
	{
		uint32_t	t = caplen;

		caplen = len;
		len = t;
	}
	if (caplen > MX_MAX_CAPLEN)
		return mx_fail_values(err, MX_MAX_CAPLEN, caplen, MX_ERR_LIMIT, "pcap.caplen", rd->packetno + 1, off + 8,
							  "captured length %u is larger than the largest we accept (%u)",
							  caplen, MX_MAX_CAPLEN);
	if (rd->salvage_cb)
	{
		/* salvage mode reads only records that look right */
		if (caplen > rd->snaplen)
		{
			const uint8_t *next;
			bool		big2;

			if ((st = need(rd, 2 * hl + caplen, err)) != MX_OK)
				return st;
			h = rd->win + rd->start;	/* the window may have moved */
			next = h + hl + caplen;
			if (!(avail(rd) == hl + caplen && rd->eof) &&
				!(avail(rd) >= 2 * hl + caplen &&
				  (plausible_pcap(rd, next, true, true) || file_magic(next, &big2) != 0)))
				return mx_fail_values(err, rd->snaplen, caplen, MX_ERR_CORRUPT, "pcap.caplen",
									  rd->packetno + 1, off + 8,
									  "captured length %u is larger than the file's snapshot length %u",
									  caplen, rd->snaplen);
		}
		if (!plausible_pcap(rd, h, true, false))
			return mx_fail(err, MX_ERR_CORRUPT, "pcap.record", rd->packetno + 1, off,
						   "record header is implausible: its time or lengths are out of line");
	}
	if (have < hl + caplen)
	{
		if ((st = need_more(rd, hl + caplen, err)) != MX_OK)
			return st;
		if (avail(rd) < hl + caplen)
			return truncated_at(rd, "pcap.data", hl + caplen);
	}

	rd->packetno++;
	rd->have_last_sec = true;
	rd->last_sec = sec;
	rec->data = rd->win + rd->start + hl;
	rec->caplen = caplen;
	rec->wirelen = len;
	rec->ts_ns = (int64_t) ((uint64_t) sec * NS_PER_SEC +
							(rd->nanosecond ? frac : (uint64_t) frac * 1000));
	rec->linktype = rd->linktype;
	rec->snaplen = rd->snaplen;
	rec->interface = 0;
	rec->big_endian = rd->big;
	rec->packetno = rd->packetno;
	rec->offset = off;
	rd->start += hl + caplen;
	if (caplen > rd->snaplen || frac >= rd->frac_limit)
		pcap_read_past(rd, rec, frac);	/* rare */
	return MX_OK;
}

/* ----------------------------------------------------------------------
 * pcapng
 * ----------------------------------------------------------------------
 */

/*
 * Block timestamp units to nanoseconds, with the interface's resolution and
 * offset; false when the result does not fit in int64 nanoseconds.
 */
static bool
pcapng_time(const interface *ifc, uint64_t ts, int64_t *out)
{
	uint64_t	ns;
	int64_t		r;
	unsigned	e = ifc->tsres_exp;

	if (ifc->tsres_pow2)
	{
		uint64_t	secs = e >= 64 ? 0 : ts >> e;
		uint64_t	frac = e >= 64 ? ts : ts & ((UINT64_C(1) << e) - 1);

		if (secs > (uint64_t) INT64_MAX / NS_PER_SEC)
			return false;
		/* frac * 1e9 / 2^e without overflow: drop low bits first */
		if (e > 34)
		{
			/* 2^-98 and finer: every fraction is below a nanosecond */
			frac = e - 34 >= 64 ? 0 : frac >> (e - 34);
			e = 34;
		}
		ns = secs * NS_PER_SEC + ((frac * NS_PER_SEC) >> e);
	}
	else if (e <= 9)
	{
		uint64_t	mul = 1;
		unsigned	i;

		for (i = e; i < 9; i++)
			mul *= 10;
		if (ts > (uint64_t) INT64_MAX / mul)
			return false;
		ns = ts * mul;
	}
	else
	{
		uint64_t	div = 1;
		unsigned	i;

		for (i = 9; i < e; i++)
			div *= 10;
		ns = ts / div;
	}
	if (ns > (uint64_t) INT64_MAX)
		return false;
	r = (int64_t) ns;
	if (ifc->tsoffset != 0)
	{
		int64_t		off = ifc->tsoffset;

		if (off > INT64_MAX / (int64_t) NS_PER_SEC ||
			off < INT64_MIN / (int64_t) NS_PER_SEC)
			return false;
		off *= (int64_t) NS_PER_SEC;
		if ((off > 0 && r > INT64_MAX - off) || (off < 0 && r < INT64_MIN - off))
			return false;
		r += off;
	}
	*out = r;
	return true;
}

/*
 * Section Header Block b at the window's start, in byte order big (its
 * byte-order magic, already checked).  Major version 1 is read, whatever
 * the minor (libpcap reads 1.0 and 1.2, Wireshark 1.0; the minor versions
 * changed nothing a reader sees).  A section of another version ends the
 * readable part of the stream: MX_END, with the caller told, when headers
 * were read before it, else an error (the file is not one we read).
 */
static mx_status
pcapng_section(mx_reader *rd, const uint8_t *b, bool big, mx_error *err)
{
	uint64_t	off = cur_offset(rd);
	uint16_t	major = mx_get16(b + 12, big),
				minor = mx_get16(b + 14, big);

	if (major != 1)
	{
		mx_fail(err, MX_ERR_FORMAT, "pcapng.version", rd->packetno ? rd->packetno + 1 : 0,
				off + 12, "unsupported pcapng version %u.%u", major, minor);
		if (rd->headers == 0)
			return MX_ERR_FORMAT;
		rd->stopped = true;
		rd->start = rd->end;
		rd->eof = true;
		if (rd->event_cb)
			rd->event_cb(rd->event_arg, MX_EVENT_STOP, err, NULL);
		return MX_END;
	}
	rd->big = big;
	rd->format = MX_FORMAT_PCAPNG;
	if (rd->headers == 0)
	{
		rd->info.format = MX_FORMAT_PCAPNG;
		rd->info.big_endian = big;
		rd->info.version_major = major;
		rd->info.version_minor = minor;
	}
	rd->headers++;
	rd->info.sections++;
	rd->nifs = 0;				/* interfaces belong to their section */
	return MX_OK;
}

/* Interface Description Block body b (block of blen bytes). */
static mx_status
pcapng_interface(mx_reader *rd, const uint8_t *b, uint32_t blen, mx_error *err)
{
	uint64_t	off = cur_offset(rd);
	interface  *ifc;
	uint32_t	pos = 16;

	if (blen < 20)
		return mx_fail_values(err, 20, blen, MX_ERR_CORRUPT, "pcapng.block_length", rd->packetno + 1,
									  off + 4, "interface description block is too short");
	if (rd->nifs >= MAX_INTERFACES)
		return mx_fail(err, MX_ERR_LIMIT, "pcapng.interfaces", rd->packetno + 1, off,
					   "pcapng section has more than %d interfaces", MAX_INTERFACES);
	if (rd->nifs == rd->ifs_cap)
	{
		uint32_t	ncap = rd->ifs_cap ? rd->ifs_cap * 2 : 8;
		interface  *n = realloc(rd->ifs, ncap * sizeof(interface));

		if (n == NULL)
			return mx_fail(err, MX_ERR_NOMEM, "pcapng.interfaces", rd->packetno + 1, off,
						   "out of memory for interfaces");
		rd->ifs = n;
		rd->ifs_cap = ncap;
	}
	ifc = &rd->ifs[rd->nifs];
	ifc->linktype = mx_get16(b + 8, rd->big);
	ifc->snaplen = mx_get32(b + 12, rd->big);
	if (ifc->snaplen == 0 || ifc->snaplen > MX_MAX_CAPLEN)
		ifc->snaplen = MX_MAX_CAPLEN;
	ifc->tsres_pow2 = false;
	ifc->tsres_exp = 6;
	ifc->tsoffset = 0;

	/* options: code, length, value padded to 4; up to the trailing length */
	while (pos + 4 <= blen - 4)
	{
		uint16_t	code = mx_get16(b + pos, rd->big);
		uint16_t	olen = mx_get16(b + pos + 2, rd->big);
		uint32_t	padded = ((uint32_t) olen + 3) & ~3u;

		if (code == 0)
			break;
		if (pos + 4 + padded > blen - 4)
			return mx_fail(err, MX_ERR_CORRUPT, "pcapng.option", rd->packetno + 1, off + pos,
						   "interface option %u runs past the end of its block", code);
		if (code == 9 && olen == 1)
		{
			uint8_t		v = b[pos + 4];

			ifc->tsres_pow2 = (v & 0x80) != 0;
			ifc->tsres_exp = v & 0x7f;
			if (!ifc->tsres_pow2 && ifc->tsres_exp > 19)
				return mx_fail(err, MX_ERR_CORRUPT, "pcapng.if_tsresol", rd->packetno + 1,
							   off + pos + 4,
							   "interface time stamp resolution 10^-%u is out of range",
							   ifc->tsres_exp);
		}
		else if (code == 14 && olen == 8)
		{
			uint64_t	hi = mx_get32(b + pos + 4 + (rd->big ? 0 : 4), rd->big);
			uint64_t	lo = mx_get32(b + pos + 4 + (rd->big ? 4 : 0), rd->big);

			ifc->tsoffset = (int64_t) ((hi << 32) | lo);
		}
		pos += 4 + padded;
	}
	rd->nifs++;
	rd->info.interfaces++;
	return MX_OK;
}

/* The interface a packet block names, or an error. */
static mx_status
pcapng_lookup(mx_reader *rd, uint32_t id, uint64_t off, interface **ifc,
			  mx_error *err)
{
	if (id >= rd->nifs)
		return mx_fail_values(err, rd->nifs, id, MX_ERR_CORRUPT, "pcapng.interface_id", rd->packetno + 1,
									  off, "packet names interface %u, but its section has %u",
									  id, rd->nifs);
	*ifc = &rd->ifs[id];
	return MX_OK;
}

/*
 * The next pcapng packet, skipping blocks that are not packets; MX_SKIP
 * when a pcap file header was read in place of a block (the caller reads
 * on).
 *
 * A section header block is checked in its own byte order, and changes the
 * reader's byte order only once it is accepted.  A rejected one (in salvage
 * mode, reading goes on after it) still ends the section before it: the
 * blocks after it belong to a section whose header is lost, so their
 * packets are never resolved against the previous section's interfaces,
 * only against interfaces described after it, in the byte order of before.
 */
static mx_status
next_pcapng(mx_reader *rd, mx_record *rec, mx_error *err)
{
	for (;;)
	{
		const uint8_t *b;
		uint32_t	type,
					blen,
					trail,
					magic;
		uint64_t	off;
		mx_status	st;
		interface  *ifc = NULL;
		uint32_t	hdr = 0,
					caplen = 0,
					len = 0,
					id = 0;
		uint64_t	ts = 0;
		bool		packet = false;
		bool		big = rd->big,
					pbig;

		if ((st = need(rd, 12, err)) != MX_OK)
			return st;
		if (avail(rd) == 0)
			return MX_END;
		if (avail(rd) < 12)
			return truncated_at(rd, "pcapng.block", 12);
		b = rd->win + rd->start;
		off = cur_offset(rd);
		type = mx_get32(b, rd->big);
		if (type != PCAPNG_SHB && file_magic(b, &pbig) != 0)
		{
			/* a pcap file header: another capture follows this one */
			if ((st = need(rd, 24, err)) != MX_OK)
				return st;
			if (at_capture_header(rd, &magic, &pbig))
				return new_capture(rd, magic, pbig, err);
			b = rd->win + rd->start;
		}
		if (type == PCAPNG_SHB)
		{
			/* a new section may change the byte order: read it in its own */
			uint32_t	bom = mx_le32(b + 8);

			if (bom == PCAPNG_BOM)
				big = false;
			else if (mx_be32(b + 8) == PCAPNG_BOM)
				big = true;
			else
			{
				st = mx_fail_values(err, PCAPNG_BOM, bom, MX_ERR_CORRUPT, "pcapng.byte_order",
									rd->packetno + 1, off + 8,
									"pcapng section has an unknown byte-order magic 0x%08x",
									bom);
				goto fail;
			}
		}
		blen = mx_get32(b + 4, big);
		if (blen < 12)
		{
			st = mx_fail_values(err, 12, blen, MX_ERR_CORRUPT, "pcapng.block_length",
								rd->packetno + 1, off + 4,
								"block length %u is smaller than the smallest block", blen);
			goto fail;
		}
		if (blen % 4 != 0)
		{
			st = mx_fail_values(err, (blen + 3) & ~3u, blen, MX_ERR_CORRUPT, "pcapng.block_length",
								rd->packetno + 1, off + 4,
								"block length %u is not a multiple of 4", blen);
			goto fail;
		}
		if (blen > MX_MAX_BLOCK)
		{
			st = mx_fail_values(err, MX_MAX_BLOCK, blen, MX_ERR_LIMIT, "pcapng.block_length",
								rd->packetno + 1, off + 4,
								"block length %u is larger than the largest we accept (%u)",
								blen, MX_MAX_BLOCK);
			goto fail;
		}
		if ((st = need(rd, blen, err)) != MX_OK)
			return st;
		if (avail(rd) < blen)
			return truncated_at(rd, "pcapng.block", blen);
		b = rd->win + rd->start;
		trail = mx_get32(b + blen - 4, big);
		if (trail != blen)
		{
			st = mx_fail_values(err, blen, trail, MX_ERR_CORRUPT, "pcapng.block_length",
								rd->packetno + 1, off + blen - 4,
								"trailing block length %u differs from the leading one %u",
								trail, blen);
			goto fail;
		}

		switch (type)
		{
			case PCAPNG_SHB:
				if (blen < 28)
				{
					st = mx_fail_values(err, 28, blen, MX_ERR_CORRUPT, "pcapng.block_length",
										rd->packetno + 1, off + 4,
										"section header block is too short");
					goto fail;
				}
				if ((st = pcapng_section(rd, b, big, err)) != MX_OK)
				{
					if (st == MX_END)
						return st;	/* a version it cannot read: stopped */
					goto fail;
				}
				break;
			case PCAPNG_IDB:
				if ((st = pcapng_interface(rd, b, blen, err)) != MX_OK)
					return st;
				break;
			case PCAPNG_EPB:
			case PCAPNG_PB:
				if (blen < 32)
					return mx_fail_values(err, 32, blen, MX_ERR_CORRUPT, "pcapng.block_length",
												  rd->packetno + 1, off + 4,
												  "packet block is too short");
				if (type == PCAPNG_EPB)
					id = mx_get32(b + 8, rd->big);
				else
					id = mx_get16(b + 8, rd->big);
				if ((st = pcapng_lookup(rd, id, off + 8, &ifc, err)) != MX_OK)
					return st;
				ts = ((uint64_t) mx_get32(b + 12, rd->big) << 32) | mx_get32(b + 16, rd->big);
				caplen = mx_get32(b + 20, rd->big);
				len = mx_get32(b + 24, rd->big);
				hdr = 28;
				if (caplen > blen - 32)
					return mx_fail_values(err, blen - 32, caplen, MX_ERR_CORRUPT, "pcapng.caplen",
												  rd->packetno + 1, off + 20,
												  "captured length %u runs past the end of its block",
												  caplen);
				packet = true;
				break;
			case PCAPNG_SPB:
				if (blen < 16)
					return mx_fail_values(err, 16, blen, MX_ERR_CORRUPT, "pcapng.block_length",
												  rd->packetno + 1, off + 4,
												  "simple packet block is too short");
				if ((st = pcapng_lookup(rd, 0, off + 8, &ifc, err)) != MX_OK)
					return st;
				len = mx_get32(b + 8, rd->big);
				caplen = len;
				if (caplen > ifc->snaplen)
					caplen = ifc->snaplen;
				if (caplen > blen - 16)
					caplen = blen - 16;
				hdr = 12;
				packet = true;
				break;
			default:
				break;			/* statistics, names, custom blocks ... */
		}
		if (!packet)
		{
			rd->start += blen;
			continue;
		}
		if (!pcapng_time(ifc, ts, &rec->ts_ns))
			return mx_fail(err, MX_ERR_CORRUPT, "pcapng.timestamp", rd->packetno + 1, off + 12,
						   "time stamp %llu of interface %u is out of range",
						   (unsigned long long) ts, id);
		rd->packetno++;
		rec->data = b + hdr;
		rec->caplen = caplen > ifc->snaplen ? ifc->snaplen : caplen;
		rec->wirelen = len;
		rec->linktype = ifc->linktype;
		rec->snaplen = ifc->snaplen;
		rec->interface = id;
		rec->big_endian = rd->big;
		rec->packetno = rd->packetno;
		rec->offset = off;
		rd->start += blen;
		/* longer than the snapshot length: cut to it, as libpcap cuts pcap */
		if (caplen > ifc->snaplen)
			tell(rd, MX_EVENT_CUT, rec, "pcapng.caplen", off + 20, ifc->snaplen, caplen,
				 "captured length %u is larger than the interface's snapshot length %u",
				 caplen, ifc->snaplen);
		return MX_OK;

fail:
		/* a rejected section header ends the section before it */
		if (type == PCAPNG_SHB)
			rd->nifs = 0;
		return st;
	}
}

/* ----------------------------------------------------------------------
 * Salvage: finding the next good record after damage
 * ----------------------------------------------------------------------
 */

/*
 * Could h be a pcap record header?  Its captured length is at most the wire
 * length and MX_MAX_CAPLEN (a record longer than the snaplen is read, cut
 * to it), and its time is within a day before and 30 days after the last
 * good record's (when timed).  When scanning for a record after damage
 * (scan), its fraction of a second must also be in range: a record that
 * breaks that rule is read in place, with a warning, but is not what a
 * scan looks for.
 */
static bool
plausible_pcap(const mx_reader *rd, const uint8_t *h, bool timed, bool scan)
{
	uint32_t	sec = mx_get32(h, rd->big);
	uint32_t	frac = mx_get32(h + 4, rd->big);
	uint32_t	caplen = mx_get32(h + 8, rd->big);
	uint32_t	len = mx_get32(h + 12, rd->big);

	if (rd->lengths == SWAPPED || (rd->lengths == MAYBE_SWAPPED && caplen > len))
	{
		uint32_t	t = caplen;

		caplen = len;
		len = t;
	}
	if (caplen > len || caplen > MX_MAX_CAPLEN || len > MX_MAX_BLOCK)
		return false;
	if (scan && frac >= rd->frac_limit)
		return false;
	if (timed && rd->have_last_sec &&
		((uint64_t) sec + 86400 < rd->last_sec ||
		 (uint64_t) sec > rd->last_sec + 30 * 86400))
		return false;
	return true;
}

/*
 * Move rd->start to the next plausible pcap record: one whose header is
 * plausible and is followed by another plausible header, or by the end of
 * the file.  Scans a byte at a time; at the end of the file, skips it all.
 */
static mx_status
resync_pcap(mx_reader *rd, bool timed, mx_error *err)
{
	size_t		hl = rd->rec_hdr_len;
	mx_status	st;

	rd->start++;
	for (;; rd->start++)
	{
		const uint8_t *h;
		uint32_t	caplen,
					len,
					magic;
		bool		big;

		if ((st = need(rd, hl > 24 ? hl : 24, err)) != MX_OK)
			return st;
		if (avail(rd) < hl)
		{
			rd->start = rd->end;
			return MX_END;
		}
		if (at_capture_header(rd, &magic, &big) && avail(rd) >= 24)
			return MX_OK;		/* another capture begins here */
		if (!plausible_pcap(rd, rd->win + rd->start, timed, true))
			continue;
		h = rd->win + rd->start;
		caplen = mx_get32(h + 8, rd->big);
		len = mx_get32(h + 12, rd->big);
		if (rd->lengths == SWAPPED || (rd->lengths == MAYBE_SWAPPED && caplen > len))
			caplen = len;
		if ((st = need(rd, 2 * hl + caplen, err)) != MX_OK)
			return st;
		if (avail(rd) == hl + caplen && rd->eof)
			return MX_OK;		/* the last record */
		if (avail(rd) >= 2 * hl + caplen &&
			plausible_pcap(rd, rd->win + rd->start + hl + caplen, timed, true))
			return MX_OK;
	}
}

/* Block types of pcapng that we recognise when resynchronising. */
static bool
known_block(uint32_t type)
{
	switch (type)
	{
		case PCAPNG_SHB:
		case PCAPNG_IDB:
		case PCAPNG_PB:
		case PCAPNG_SPB:
		case 4:					/* name resolution */
		case 5:					/* interface statistics */
		case PCAPNG_EPB:
		case 9:					/* systemd journal export */
		case 10:				/* decryption secrets */
		case 0x00000bad:		/* custom, copiable */
		case 0x40000bad:		/* custom, not copiable */
			return true;
	}
	return false;
}

/*
 * Move rd->start to the next plausible pcapng block, at a multiple of 4
 * bytes from the damaged one: a known type, a sane length, the same length
 * at both ends, and for packet blocks an interface that exists.
 */
static mx_status
resync_pcapng(mx_reader *rd, mx_error *err)
{
	mx_status	st;

	rd->start += 4;
	for (;; rd->start += 4)
	{
		const uint8_t *b;
		uint32_t	type,
					blen;
		bool		big = rd->big,
					pbig;

		if ((st = need(rd, 12, err)) != MX_OK)
			return st;
		if (avail(rd) < 12)
		{
			rd->start = rd->end;
			return MX_OK;
		}
		b = rd->win + rd->start;
		type = mx_get32(b, big);
		if (type != PCAPNG_SHB && file_magic(b, &pbig) != 0)
		{
			uint32_t	magic;

			if ((st = need(rd, 24, err)) != MX_OK)
				return st;
			if (at_capture_header(rd, &magic, &pbig) && avail(rd) >= 24)
				return MX_OK;	/* a pcap capture begins here */
			continue;
		}
		if (!known_block(type))
			continue;
		if (type == PCAPNG_SHB)
		{
			if (mx_le32(b + 8) == PCAPNG_BOM)
				big = false;
			else if (mx_be32(b + 8) == PCAPNG_BOM)
				big = true;
			else
				continue;
		}
		blen = mx_get32(b + 4, big);
		if (blen < 12 || blen % 4 != 0 || blen > MX_MAX_BLOCK)
			continue;
		if ((type == PCAPNG_EPB && mx_get32(b + 8, big) >= rd->nifs) ||
			(type == PCAPNG_PB && mx_get16(b + 8, big) >= rd->nifs))
			continue;
		if ((st = need(rd, blen, err)) != MX_OK)
			return st;
		if (avail(rd) < blen)
			continue;
		b = rd->win + rd->start;
		if (mx_get32(b + blen - 4, big) == blen)
			return MX_OK;
	}
}

/*
 * After a damaged record at rd->start: report it through the callback and
 * move to the next good record.  Damage inside compressed data ends the
 * stream: deflate cannot be resumed in the middle.
 */
static mx_status
salvage(mx_reader *rd, mx_error *damage, mx_error *err)
{
	uint64_t	from = cur_offset(rd);
	mx_status	st;

	if (damage->field && strncmp(damage->field, "gzip", 4) == 0)
	{
		uint64_t	left = avail(rd);

		rd->start = rd->end;
		rd->eof = true;
		rd->salvage_cb(rd->salvage_arg, damage, left);
		return MX_OK;
	}
	if (rd->format == MX_FORMAT_PCAP)
	{
		/*
		 * Look for records near the last good one's time first; if there
		 * are none, the damage may have been in that time: look again
		 * without it.  The window still holds what was scanned unless the
		 * stream is compressed or piped and long; then what it slid past
		 * is lost, and that is what gets reported.
		 */
		size_t		mark = rd->start;
		uint64_t	mark_win = rd->win_offset;

		st = resync_pcap(rd, true, err);
		if (st == MX_END && rd->have_last_sec && rd->win_offset == mark_win)
		{
			rd->start = mark;
			rd->have_last_sec = false;
			st = resync_pcap(rd, false, err);
		}
		if (st == MX_END)
			st = MX_OK;
	}
	else
		st = resync_pcapng(rd, err);
	if (st != MX_OK && st != MX_ERR_IO && st != MX_ERR_NOMEM &&
		err->field && strncmp(err->field, "gzip", 4) == 0)
	{
		/* the scan ran into damaged compressed data: the stream ends there */
		mx_error	gz = *err;

		rd->salvage_cb(rd->salvage_arg, damage, cur_offset(rd) - from);
		return salvage(rd, &gz, err);
	}
	if (st != MX_OK)
		return st;
	rd->salvage_cb(rd->salvage_arg, damage, cur_offset(rd) - from);
	return MX_OK;
}

/* ----------------------------------------------------------------------
 * Opening and the public calls
 * ----------------------------------------------------------------------
 */

/* Find the container by its first bytes and read its header. */
static mx_status
open_container(mx_reader *rd, mx_error *err)
{
	mx_status	st;
	const uint8_t *h;
	uint32_t	le;

	if ((st = need(rd, 24, err)) != MX_OK)
		return st;
	if (avail(rd) >= 2 && !rd->gz && rd->win[rd->start] == 0x1f &&
		rd->win[rd->start + 1] == 0x8b)
	{
		/* gzip: what we read so far becomes compressed input */
		rd->gz = true;
		rd->info.gzip = true;
		memset(&rd->zs, 0, sizeof(rd->zs));
		if (inflateInit2(&rd->zs, 15 + 16) != Z_OK)
			return mx_fail(err, MX_ERR_NOMEM, "gzip", 0, 0, "could not start zlib");
		rd->zs_live = true;
		if (rd->mem)
		{
			rd->zs.next_in = (Bytef *) rd->mem;
			rd->zs.avail_in = (uInt) (rd->memlen > UINT32_MAX ? UINT32_MAX : rd->memlen);
			rd->in_total = rd->zs.avail_in;
			rd->buf = malloc(WINDOW_INITIAL);
			if (rd->buf == NULL)
				return mx_fail(err, MX_ERR_NOMEM, "buffer", 0, 0, "out of memory");
			rd->cap = WINDOW_INITIAL;
		}
		else
		{
			rd->zin = malloc(ZIN_SIZE);
			if (rd->zin == NULL)
				return mx_fail(err, MX_ERR_NOMEM, "buffer", 0, 0, "out of memory");
			memcpy(rd->zin, rd->buf + rd->start, avail(rd));
			rd->zs.next_in = rd->zin;
			rd->zs.avail_in = (uInt) avail(rd);
		}
		rd->win = rd->buf;
		rd->start = rd->end = 0;
		rd->eof = false;
		if ((st = need(rd, 24, err)) != MX_OK)
			return st;
	}
	if (avail(rd) == 0)
		return mx_fail(err, MX_ERR_FORMAT, "magic", 0, 0, "the file is empty");
	if (avail(rd) < 4)
		return mx_fail(err, MX_ERR_FORMAT, "magic", 0, 0,
					   "the file is too short to be a capture (%zu bytes)", avail(rd));
	h = rd->win + rd->start;
	le = mx_le32(h);
	if (le == PCAP_MAGIC_US || le == PCAP_MAGIC_NS || le == PCAP_MAGIC_KUZ)
		return open_pcap(rd, le, false, err);
	if (mx_be32(h) == PCAP_MAGIC_US || mx_be32(h) == PCAP_MAGIC_NS ||
		mx_be32(h) == PCAP_MAGIC_KUZ)
		return open_pcap(rd, mx_be32(h), true, err);
	if (le == PCAPNG_SHB)
	{
		rd->info.format = MX_FORMAT_PCAPNG;
		rd->format = MX_FORMAT_PCAPNG;
		if (avail(rd) < 12)
			return mx_fail(err, MX_ERR_TRUNCATED, "pcapng.header", 0, 0,
						   "the file ends inside its first pcapng block");
		if (mx_le32(h + 8) != PCAPNG_BOM && mx_be32(h + 8) != PCAPNG_BOM)
			return mx_fail_values(err, PCAPNG_BOM, mx_le32(h + 8), MX_ERR_CORRUPT, "pcapng.byte_order", 0, 8,
										  "pcapng section has an unknown byte-order magic 0x%08x",
										  mx_le32(h + 8));
		return MX_OK;			/* the SHB is read as the first block */
	}
	return mx_fail(err, MX_ERR_FORMAT, "magic", 0, 0,
								  "not a pcap or pcapng file: it starts with 0x%08x",
								  mx_be32(h));
}

/* A reader with nothing opened yet. */
static mx_reader *
reader_new(mx_error *err)
{
	mx_reader  *rd = calloc(1, sizeof(mx_reader));

	if (rd == NULL)
	{
		mx_fail(err, MX_ERR_NOMEM, "reader", 0, 0, "out of memory");
		return NULL;
	}
	rd->fd = -1;
	return rd;
}

/* Read the file header; on failure close everything and return NULL. */
static mx_reader *
reader_start(mx_reader *rd, mx_error *err)
{
	if (open_container(rd, err) != MX_OK)
	{
		mx_reader_close(rd);
		return NULL;
	}
	return rd;
}

mx_reader *
mx_reader_open_fd(int fd, mx_error *err)
{
	return mx_reader_open_fd_tap(fd, NULL, NULL, err);
}

mx_reader *
mx_reader_open_fd_tap(int fd, mx_input_callback cb, void *arg, mx_error *err)
{
	mx_input_hooks hooks;

	memset(&hooks, 0, sizeof(hooks));
	hooks.tap = cb;
	hooks.tap_arg = arg;
	return mx_reader_open_fd_hooks(fd, &hooks, err);
}

mx_reader *
mx_reader_open_fd_hooks(int fd, const mx_input_hooks *hooks, mx_error *err)
{
	mx_reader  *rd = reader_new(err);
	struct stat stbuf;

	if (rd == NULL)
	{
		close(fd);
		return NULL;
	}
	rd->fd = fd;
	if (hooks)
	{
		rd->tap = hooks->tap;
		rd->tap_arg = hooks->tap_arg;
		rd->interrupted = hooks->interrupted;
		rd->interrupted_arg = hooks->interrupted_arg;
	}
	rd->pollable = fstat(fd, &stbuf) != 0 || !S_ISREG(stbuf.st_mode);
	rd->buf = malloc(WINDOW_INITIAL);
	if (rd->buf == NULL)
	{
		mx_fail(err, MX_ERR_NOMEM, "buffer", 0, 0, "out of memory");
		mx_reader_close(rd);
		return NULL;
	}
	rd->win = rd->buf;
	rd->cap = WINDOW_INITIAL;
	return reader_start(rd, err);
}

mx_reader *
mx_reader_open_memory(const uint8_t *buf, size_t len, mx_error *err)
{
	mx_reader  *rd = reader_new(err);

	if (rd == NULL)
		return NULL;
	rd->mem = buf;
	rd->memlen = len;
	rd->in_eof = true;
	rd->win = buf;
	rd->end = len;
	rd->eof = true;
	rd->in_total = len;
	return reader_start(rd, err);
}

void
mx_reader_set_salvage(mx_reader *rd, mx_skip_callback cb, void *arg)
{
	rd->salvage_cb = cb;
	rd->salvage_arg = arg;
}

void
mx_reader_set_events(mx_reader *rd, mx_event_callback cb, void *arg)
{
	rd->event_cb = cb;
	rd->event_arg = arg;
}

mx_status
mx_reader_next(mx_reader *rd, mx_record *rec, mx_error *err)
{
	mx_status	st;

	for (;;)
	{
		if (rd->format == MX_FORMAT_PCAP)
			st = next_pcap(rd, rec, err);
		else
			st = next_pcapng(rd, rec, err);
		if (st == MX_SKIP)
			continue;			/* a new capture's header was read */
		if (st == MX_OK || st == MX_END || rd->salvage_cb == NULL ||
			st == MX_ERR_IO || st == MX_ERR_NOMEM)
			break;
		/* salvage mode: step over the damage and try again */
		{
			mx_error	damage = *err;

			if ((st = salvage(rd, &damage, err)) != MX_OK)
				break;
		}
	}
	if (st == MX_END && rd->truncated)
		*err = rd->trunc_err;
	return st;
}

bool
mx_reader_truncated(const mx_reader *rd)
{
	return rd->truncated;
}

const mx_file_info *
mx_reader_info(const mx_reader *rd)
{
	return &rd->info;
}

uint64_t
mx_reader_offset(const mx_reader *rd)
{
	return cur_offset(rd);
}

uint64_t
mx_reader_input_offset(const mx_reader *rd)
{
	if (rd->gz)
		return rd->z_in_done + rd->zs.total_in;
	return cur_offset(rd);
}

void
mx_reader_close(mx_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->zs_live)
		inflateEnd(&rd->zs);
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd->zin);
	free(rd->buf);
	free(rd->ifs);
	free(rd);
}
