/*-------------------------------------------------------------------------
 *
 * fuzz_reader.c
 *		Fuzz target: a whole capture file (pcap, pcapng, gzip of either)
 *		through the decoder, as pcap_read and mirai_load read it.
 *
 * The input bytes are one capture file, read as every reader of capture
 * files reads one: through the packet stream (mx_stream.c).  It is read
 * twice:
 *	1. from memory (mx_stream_open_memory), every packet checked by
 *	   fuzz_check_packet (pack/unpack and format/parse round trips), every
 *	   message checked for a worded text, the counts checked to add up
 *	   (every record is a packet, filtered out, or skipped for a reason);
 *	2. through a file descriptor (mx_stream_open_fd), the way pcap_read
 *	   reads a file or a FIFO, with read(2) replaced by fuzz_read below,
 *	   which hands the bytes out in small irregular chunks and now and then
 *	   fails with EINTR, so that the reader's window (sliding, growing,
 *	   gzip input refills) is exercised on small inputs.
 * Both reads must agree: the same packets, the same records behind them,
 * the same messages and counts, and the same end (clean end, truncation
 * warning, or error with the same status, field, packet number and byte
 * offset).  One difference is allowed: zlib inflates as far ahead as its
 * input and the window allow, so a gzip error (corrupt data, bad trailer,
 * trailing garbage, the bomb limit) is found sooner when more compressed
 * input is at hand, and may come before an error in the records inflated
 * before it.  Then the two reads must agree on the packets both handed out.
 * A malformed packet is never an error of the stream.
 * 3. Salvage mode, from memory and through the descriptor: the stream
 *    always ends with MX_END once open.
 *
 * mx_reader.c is compiled for this target with -Dread=fuzz_read (see
 * test/fuzz/run.sh); nothing else in the decoder changes.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

#include "fuzz_common.h"

/* The most records one input may produce: keeps each run short. */
#define MAX_RECORDS		20000

/* The descriptor fuzz_read serves, and what it serves. */
static int	shim_fd = -1;
static const uint8_t *shim_data;
static size_t shim_len;
static size_t shim_pos;
static unsigned shim_calls;

ssize_t		fuzz_read(int fd, void *buf, size_t n);

/*
 * read(2) for mx_reader.c: the input in chunks of 1 to 65536 bytes, in a
 * fixed rotation, with an EINTR every seventh call.
 */
ssize_t
fuzz_read(int fd, void *buf, size_t n)
{
	static const size_t chunks[] = {1, 3, 24, 7, 4096, 13, 65536, 2, 517, 100000};
	size_t		k;

	if (fd != shim_fd)
		return read(fd, buf, n);
	shim_calls++;
	if (shim_calls % 7 == 0)
	{
		errno = EINTR;
		return -1;
	}
	k = chunks[shim_calls % (sizeof(chunks) / sizeof(chunks[0]))];
	if (k > n)
		k = n;
	if (k > shim_len - shim_pos)
		k = shim_len - shim_pos;
	memcpy(buf, shim_data + shim_pos, k);
	shim_pos += k;
	return (ssize_t) k;
}

/* What one read of the file gave, to compare the two reads. */
typedef struct outcome
{
	uint64_t	packets;
	uint64_t	hash;			/* FNV-1a over packets, records, messages */
	uint64_t   *hashes;			/* hash after each packet */
	bool		capped;			/* stopped at MAX_RECORDS */
	mx_status	end;			/* MX_END or the error status */
	bool		truncated;
	mx_error	err;			/* the error, or the truncation */
	bool		opened;
	mx_stream_counts counts;
} outcome;

/* FNV-1a over n bytes. */
static void
mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		*h ^= b[i];
		*h *= UINT64_C(1099511628211);
	}
}

/* Every message is worded: a terminated text, a terminated detail. */
static void
drain(mx_stream *s, uint64_t *h)
{
	mx_message	m;

	while (mx_stream_message(s, &m))
	{
		if (memchr(m.text, '\0', sizeof(m.text)) == NULL || m.text[0] == '\0' ||
			memchr(m.detail, '\0', sizeof(m.detail)) == NULL)
			fuzz_fail("a message without a terminated text or detail");
		if (m.level != MX_NOTICE && m.level != MX_WARNING)
			fuzz_fail("a message of level %d", (int) m.level);
		mix(h, m.text, strlen(m.text));
		mix(h, m.detail, strlen(m.detail));
	}
}

/* The stream's counts add up: every record is a packet, filtered or skipped. */
static void
check_counts(const mx_stream_counts *c)
{
	uint64_t	n = c->packets + c->filtered;
	int			r;

	for (r = 0; r < MX_SKIP_NREASONS; r++)
		n += c->skipped[r];
	if (n != c->records)
		fuzz_fail("%llu records, but %llu packets, filtered and skipped",
				  (unsigned long long) c->records, (unsigned long long) n);
	if (c->skipped[MX_SKIP_NONE] != 0)
		fuzz_fail("frames skipped without a reason");
}

/* Read every packet of stream s into *out, checking each. */
static void
read_all(mx_stream *s, outcome *out)
{
	mx_packet	pkt;
	mx_error	err;
	mx_status	st;
	uint8_t		packed[MX_PACKED_MAX];
	size_t		npacked;
	uint64_t	last_packetno = 0;

	out->hash = UINT64_C(14695981039346656037);
	for (;;)
	{
		const mx_record *rec;

		memset(&err, 0, sizeof(err));
		st = mx_stream_next(s, &pkt, &err);
		drain(s, &out->hash);
		if (st == MX_END && mx_stream_get_counts(s)->records >= MAX_RECORDS)
		{
			out->end = MX_END;
			out->capped = true;
			break;
		}
		if (st == MX_END)
		{
			out->end = MX_END;
			out->truncated = mx_stream_get_counts(s)->truncated;
			if (out->truncated)
			{
				fuzz_check_error(err.code, &err);
				out->err = err;
			}
			check_counts(mx_stream_get_counts(s));
			break;
		}
		if (st != MX_OK)
		{
			fuzz_check_error(st, &err);
			if (st == MX_ERR_PACKET || st == MX_ERR_FILTER)
				fuzz_fail("the stream failed with %s", mx_status_name(st));
			out->end = st;
			out->err = err;
			break;
		}
		rec = mx_stream_record(s);
		if (rec->packetno <= last_packetno)
			fuzz_fail("packet numbers go from %llu to %llu",
					  (unsigned long long) last_packetno,
					  (unsigned long long) rec->packetno);
		last_packetno = rec->packetno;
		if (rec->caplen > MX_MAX_CAPLEN || rec->caplen > rec->snaplen)
			fuzz_fail("record %llu has caplen %u (snaplen %u)",
					  (unsigned long long) rec->packetno, rec->caplen, rec->snaplen);
		mix(&out->hash, &rec->packetno, sizeof(rec->packetno));
		mix(&out->hash, &rec->linktype, sizeof(rec->linktype));
		mix(&out->hash, &rec->interface, sizeof(rec->interface));
		mix(&out->hash, &rec->offset, sizeof(rec->offset));
		/* ASan checks that all caplen bytes are readable */
		mix(&out->hash, rec->data, rec->caplen);
		if (pkt.ipver != 4 && pkt.ipver != 6)
			fuzz_fail("decoded packet has IP version %u", pkt.ipver);
		if (pkt.ts_ns != rec->ts_ns || pkt.caplen != rec->caplen ||
			pkt.wirelen != rec->wirelen)
			fuzz_fail("decoded packet lost the record's time or lengths");
		fuzz_check_packet(&pkt, packed, &npacked);
		mix(&out->hash, packed, npacked);
		out->hashes[out->packets++] = out->hash;
	}
	out->counts = *mx_stream_get_counts(s);
	mix(&out->hash, &out->counts.records, sizeof(out->counts.records));
	mix(&out->hash, out->counts.skipped, sizeof(out->counts.skipped));
}

/* Is this end a gzip error (found as soon as zlib reaches it)? */
static bool
gzip_error(const outcome *o)
{
	return o->end != MX_END && o->err.field != NULL &&
		strncmp(o->err.field, "gzip.", 5) == 0;
}

/* Do two reads of the same bytes end the same way? */
static void
compare(const outcome *m, const outcome *f)
{
	uint64_t	common;

	if (m->capped || f->capped || gzip_error(m) || gzip_error(f))
	{
		/* agree on the packets both handed out */
		common = m->packets < f->packets ? m->packets : f->packets;
		if (common > 0 && m->hashes[common - 1] != f->hashes[common - 1])
			fuzz_fail("memory and descriptor reads differ within their first %llu packets",
					  (unsigned long long) common);
		return;
	}
	if (m->opened != f->opened)
		fuzz_fail("memory stream %s (%s), descriptor stream %s (%s)",
				  m->opened ? "opened" : "refused", m->err.message,
				  f->opened ? "opened" : "refused", f->err.message);
	if (!m->opened)
	{
		if (m->end != f->end || strcmp(m->err.field, f->err.field) != 0)
			fuzz_fail("open errors differ: %s (%s) / %s (%s)",
					  m->err.field, m->err.message, f->err.field, f->err.message);
		return;
	}
	if (m->end != f->end || m->truncated != f->truncated)
		fuzz_fail("memory read ends with %s%s (%s: %s), descriptor read with %s%s (%s: %s)",
				  mx_status_name(m->end), m->truncated ? " truncated" : "",
				  m->err.field ? m->err.field : "-", m->err.message,
				  mx_status_name(f->end), f->truncated ? " truncated" : "",
				  f->err.field ? f->err.field : "-", f->err.message);
	if (m->packets != f->packets || m->hash != f->hash)
		fuzz_fail("memory and descriptor reads differ: %llu/%llu packets, %llu/%llu records",
				  (unsigned long long) m->packets, (unsigned long long) f->packets,
				  (unsigned long long) m->counts.records,
				  (unsigned long long) f->counts.records);
	if (m->end != MX_END || m->truncated)
	{
		if (strcmp(m->err.field, f->err.field) != 0 ||
			m->err.packetno != f->err.packetno ||
			m->err.offset != f->err.offset)
			fuzz_fail("errors differ: %s packet %llu offset %llu (%s) / %s packet %llu offset %llu (%s)",
					  m->err.field, (unsigned long long) m->err.packetno,
					  (unsigned long long) m->err.offset, m->err.message,
					  f->err.field, (unsigned long long) f->err.packetno,
					  (unsigned long long) f->err.offset, f->err.message);
	}
}

/*
 * 3. Salvage mode (on_error => 'skip'), from memory and through the
 * descriptor shim (whose small reads slide the window while the salvage
 * scanner looks ahead): whatever the damage, the stream ends with MX_END
 * (never a format error once open), packet numbers rise, and its counts add
 * up.  The two reads may differ: what the scanner slid past through a pipe
 * is not looked at again.
 */
static void
salvage_all(const uint8_t *data, size_t size, bool by_fd)
{
	mx_stream  *s;
	mx_stream_options opt;
	mx_error	err;
	mx_packet	pkt;
	mx_status	st = MX_END;
	uint64_t	last = 0,
				h = 0;

	memset(&err, 0, sizeof(err));
	memset(&opt, 0, sizeof(opt));
	opt.name = "fuzz";
	opt.salvage = true;
	opt.max_records = MAX_RECORDS;
	if (by_fd)
	{
		int			fd = open("/dev/null", O_RDONLY);

		if (fd < 0)
			fuzz_fail("cannot open /dev/null");
		shim_fd = fd;
		shim_data = data;
		shim_len = size;
		shim_pos = 0;
		shim_calls = 0;
		s = mx_stream_open_fd(fd, &opt, &err);	/* closes fd */
	}
	else
		s = mx_stream_open_memory(data, size, &opt, &err);
	if (s == NULL)
	{
		shim_fd = -1;
		return;
	}
	while ((st = mx_stream_next(s, &pkt, &err)) == MX_OK)
	{
		const mx_record *rec = mx_stream_record(s);

		drain(s, &h);
		if (rec->packetno <= last)
			fuzz_fail("salvage: packet numbers go from %llu to %llu",
					  (unsigned long long) last, (unsigned long long) rec->packetno);
		last = rec->packetno;
		if (rec->caplen > MX_MAX_CAPLEN || rec->caplen > rec->snaplen)
			fuzz_fail("salvage: record %llu has caplen %u", (unsigned long long) rec->packetno,
					  rec->caplen);
	}
	drain(s, &h);
	if (st != MX_END && st != MX_ERR_NOMEM)
		fuzz_fail("salvage: reading ends with %s (%s: %s)", mx_status_name(st),
				  err.field ? err.field : "-", err.message);
	if (st == MX_END)
		check_counts(mx_stream_get_counts(s));	/* capped or not */
	mx_stream_close(s);
	shim_fd = -1;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	outcome		m,
				f;
	mx_stream  *st;
	mx_stream_options opt;
	mx_error	err;
	int			fd;

	static uint64_t mhashes[MAX_RECORDS],
				fhashes[MAX_RECORDS];

	memset(&m, 0, sizeof(m));
	memset(&f, 0, sizeof(f));
	m.hashes = mhashes;
	f.hashes = fhashes;

	/* 1. from memory */
	memset(&err, 0, sizeof(err));
	memset(&opt, 0, sizeof(opt));
	opt.name = "fuzz";
	opt.max_records = MAX_RECORDS;
	st = mx_stream_open_memory(data, size, &opt, &err);
	if (st == NULL)
	{
		fuzz_check_error(err.code, &err);
		m.end = err.code;
		m.err = err;
	}
	else
	{
		m.opened = true;
		read_all(st, &m);
		mx_stream_close(st);
	}

	/* 2. through a descriptor, in chunks */
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		fuzz_fail("cannot open /dev/null");
	shim_fd = fd;
	shim_data = data;
	shim_len = size;
	shim_pos = 0;
	shim_calls = 0;
	memset(&err, 0, sizeof(err));
	st = mx_stream_open_fd(fd, &opt, &err);	/* closes fd */
	if (st == NULL)
	{
		fuzz_check_error(err.code, &err);
		f.end = err.code;
		f.err = err;
	}
	else
	{
		f.opened = true;
		read_all(st, &f);
		mx_stream_close(st);
	}
	shim_fd = -1;

	compare(&m, &f);
	salvage_all(data, size, false);
	salvage_all(data, size, true);
	return 0;
}
