/*-------------------------------------------------------------------------
 *
 * fuzz_reader.c
 *		Fuzz target: a whole capture file (pcap, pcapng, gzip of either)
 *		through the decoder, as pcap_read and mirai_load read it.
 *
 * The input bytes are one capture file.  They are read twice:
 *	1. from memory (mx_reader_open_memory), every record decoded with
 *	   mx_decode_frame and every packet checked by fuzz_check_packet
 *	   (pack/unpack and format/parse round trips);
 *	2. through a file descriptor (mx_reader_open_fd), the way pcap_read
 *	   reads a file or a FIFO, with read(2) replaced by fuzz_read below,
 *	   which hands the bytes out in small irregular chunks and now and then
 *	   fails with EINTR, so that the reader's window (sliding, growing,
 *	   gzip input refills) is exercised on small inputs.
 * Both reads must agree: the same records, the same packets, and the same
 * end (clean end, truncation warning, or error with the same status,
 * field, packet number and byte offset).  One difference is allowed: zlib
 * inflates as far ahead as its input and the window allow, so a gzip error
 * (corrupt data, bad trailer, trailing garbage, the bomb limit) is found
 * sooner when more compressed input is at hand, and may come before an
 * error in the records inflated before it.  Then the two reads must agree
 * on the records both handed out.
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
	uint64_t	records;
	uint64_t	packets;
	uint64_t	skipped;
	uint64_t	hash;			/* FNV-1a over records and packets */
	uint64_t   *hashes;			/* hash after each record */
	bool		capped;			/* stopped at MAX_RECORDS */
	mx_status	end;			/* MX_END or the error status */
	bool		truncated;
	mx_error	err;			/* the error, or the truncation */
	bool		opened;
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

/* Read every record of rd into *out, decoding and checking each. */
static void
read_all(mx_reader *rd, outcome *out)
{
	mx_record	rec;
	mx_packet	pkt;
	mx_skip_reason reason;
	mx_error	err;
	mx_status	st;
	uint8_t		packed[MX_PACKED_MAX];
	size_t		npacked;
	uint64_t	last_packetno = 0;

	out->hash = UINT64_C(14695981039346656037);
	for (;;)
	{
		if (out->records >= MAX_RECORDS)
		{
			out->end = MX_END;
			out->capped = true;
			return;
		}

		memset(&err, 0, sizeof(err));
		st = mx_reader_next(rd, &rec, &err);
		if (st == MX_END)
		{
			out->end = MX_END;
			out->truncated = mx_reader_truncated(rd);
			if (out->truncated)
			{
				fuzz_check_error(err.code, &err);
				out->err = err;
			}
			return;
		}
		if (st != MX_OK)
		{
			fuzz_check_error(st, &err);
			out->end = st;
			out->err = err;
			return;
		}
		out->records++;
		if (rec.packetno != last_packetno + 1)
			fuzz_fail("packet numbers jump from %llu to %llu",
					  (unsigned long long) last_packetno,
					  (unsigned long long) rec.packetno);
		last_packetno = rec.packetno;
		if (rec.caplen > MX_MAX_CAPLEN || rec.caplen > rec.snaplen)
			fuzz_fail("record %llu has caplen %u (snaplen %u)",
					  (unsigned long long) rec.packetno, rec.caplen, rec.snaplen);
		mix(&out->hash, &rec.caplen, sizeof(rec.caplen));
		mix(&out->hash, &rec.wirelen, sizeof(rec.wirelen));
		mix(&out->hash, &rec.ts_ns, sizeof(rec.ts_ns));
		mix(&out->hash, &rec.linktype, sizeof(rec.linktype));
		mix(&out->hash, &rec.interface, sizeof(rec.interface));
		mix(&out->hash, &rec.offset, sizeof(rec.offset));
		/* ASan checks that all caplen bytes are readable */
		mix(&out->hash, rec.data, rec.caplen);
		out->hashes[out->records - 1] = out->hash;

		st = mx_decode_frame(&rec, &pkt, &reason, &err);
		if (st == MX_SKIP)
		{
			if (reason <= MX_SKIP_NONE || reason >= MX_SKIP_NREASONS)
				fuzz_fail("skip without a reason");
			out->skipped++;
			mix(&out->hash, &reason, sizeof(reason));
			continue;
		}
		if (st != MX_OK)
		{
			fuzz_check_error(st, &err);
			if (st != MX_ERR_PACKET)
				fuzz_fail("mx_decode_frame returned %s", mx_status_name(st));
			if (err.packetno != rec.packetno)
				fuzz_fail("frame error names packet %llu, not %llu",
						  (unsigned long long) err.packetno,
						  (unsigned long long) rec.packetno);
			out->end = st;
			out->err = err;
			return;
		}
		if (pkt.ipver != 4 && pkt.ipver != 6)
			fuzz_fail("decoded packet has IP version %u", pkt.ipver);
		if (pkt.ts_ns != rec.ts_ns || pkt.caplen != rec.caplen ||
			pkt.wirelen != rec.wirelen)
			fuzz_fail("decoded packet lost the record's time or lengths");
		fuzz_check_packet(&pkt, packed, &npacked);
		out->packets++;
		mix(&out->hash, packed, npacked);
	}
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
		/* agree on the records both handed out */
		common = m->records < f->records ? m->records : f->records;
		if (common > 0 && m->hashes[common - 1] != f->hashes[common - 1])
			fuzz_fail("memory and descriptor reads differ within their first %llu records",
					  (unsigned long long) common);
		return;
	}
	if (m->opened != f->opened)
		fuzz_fail("memory reader %s (%s), descriptor reader %s (%s)",
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
	if (m->records != f->records || m->packets != f->packets ||
		m->skipped != f->skipped || m->hash != f->hash)
		fuzz_fail("memory and descriptor reads differ: %llu/%llu records, %llu/%llu packets",
				  (unsigned long long) m->records, (unsigned long long) f->records,
				  (unsigned long long) m->packets, (unsigned long long) f->packets);
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

/* Salvage mode callback: count what was stepped over. */
static void
note_skip(void *arg, const mx_error *err, uint64_t bytes)
{
	uint64_t   *n = (uint64_t *) arg;

	fuzz_check_error(err->code, err);
	(void) bytes;
	(*n)++;
}

/*
 * 3. Salvage mode (on_error => 'skip'): whatever the damage, the reader
 * ends with MX_END (never a format error once open), packet numbers rise by
 * one, and every record it hands out is decodable or skippable.
 */
static void
salvage_all(const uint8_t *data, size_t size)
{
	mx_reader  *rd;
	mx_error	err;
	mx_record	rec;
	mx_packet	pkt;
	mx_skip_reason reason;
	mx_status	st;
	uint64_t	skips = 0,
				records = 0,
				last = 0;

	memset(&err, 0, sizeof(err));
	rd = mx_reader_open_memory(data, size, &err);
	if (rd == NULL)
		return;
	mx_reader_set_salvage(rd, note_skip, &skips);
	while (records < MAX_RECORDS &&
		   (st = mx_reader_next(rd, &rec, &err)) == MX_OK)
	{
		records++;
		if (rec.packetno != last + 1)
			fuzz_fail("salvage: packet numbers jump from %llu to %llu",
					  (unsigned long long) last, (unsigned long long) rec.packetno);
		last = rec.packetno;
		if (rec.caplen > MX_MAX_CAPLEN || rec.caplen > rec.snaplen)
			fuzz_fail("salvage: record %llu has caplen %u", (unsigned long long) rec.packetno,
					  rec.caplen);
		st = mx_decode_frame(&rec, &pkt, &reason, &err);
		if (st != MX_OK && st != MX_SKIP && st != MX_ERR_PACKET)
			fuzz_fail("salvage: mx_decode_frame returned %s", mx_status_name(st));
	}
	if (records < MAX_RECORDS && st != MX_END && st != MX_ERR_NOMEM)
		fuzz_fail("salvage: reading ends with %s (%s: %s)", mx_status_name(st),
				  err.field ? err.field : "-", err.message);
	mx_reader_close(rd);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	outcome		m,
				f;
	mx_reader  *rd;
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
	rd = mx_reader_open_memory(data, size, &err);
	if (rd == NULL)
	{
		fuzz_check_error(err.code, &err);
		m.end = err.code;
		m.err = err;
	}
	else
	{
		m.opened = true;
		read_all(rd, &m);
		mx_reader_close(rd);
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
	rd = mx_reader_open_fd(fd, &err);	/* closes fd */
	if (rd == NULL)
	{
		fuzz_check_error(err.code, &err);
		f.end = err.code;
		f.err = err;
	}
	else
	{
		f.opened = true;
		read_all(rd, &f);
		mx_reader_close(rd);
	}
	shim_fd = -1;

	compare(&m, &f);
	salvage_all(data, size);
	return 0;
}
