/*-------------------------------------------------------------------------
 *
 * load_copy.c
 *	  The COPY sender and the decoding thread: the read loop, an adapter
 *	  of the decoder's packet stream (src/decode/mx_stream.c), packs rows
 *	  into COPY chunks that the worker's thread sends.
 *
 * src/bin/load_copy.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* The reader's tap: count, and hash when the file is a pipe. */
void
tap(void *arg, const uint8_t *data, size_t len)
{
	file_load  *f = (file_load *) arg;

	f->in_bytes += len;
	if (f->md)
		EVP_DigestUpdate(f->md, data, len);
}

/*
 * Print what the stream has queued, in pcap_read's words: its warnings
 * (unless a worker's stderr is shared: every message is one write), and
 * its notices with -v, as pcap_read raises them at NOTICE.
 */
static void
print_messages(worker *w, mx_stream *stream)
{
	mx_message	m;

	while (mx_stream_message(stream, &m))
	{
		if (m.level == MX_NOTICE && (!w->opt->verbose || w->opt->quiet))
			continue;
		emit("%s: %s: %s\n%s%s%s", PROGNAME,
			 m.level == MX_WARNING ? "warning" : "notice", m.text,
			 m.detail[0] ? "DETAIL:  " : "", m.detail, m.detail[0] ? "\n" : "");
	}
}

/* Read up to READ_CHUNK bytes of the file into w->readbuf: -1 (reported) on an error. */
static ssize_t
read_chunk(worker *w, file_load *f)
{
	ssize_t		r;

	do
		r = read(f->fd, w->readbuf, READ_CHUNK);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		emit("%s: error: could not read capture file \"%s\": %s\n", PROGNAME,
			 f->path, strerror(errno));
	return r;
}

/*
 * Read what the reader left of the input through the tap, so that the hash
 * covers the whole file: salvage mode gives up at damage inside gzip data
 * (deflate cannot resume), before the end of the input.
 */
static bool
drain_input(worker *w, file_load *f)
{
	ssize_t		r;

	while ((r = read_chunk(w, f)) > 0)
		tap(f, w->readbuf, (size_t) r);
	return r == 0;
}

/*
 * Hash a regular file from its current offset to its end, then rewind;
 * and, on the way, its first at[k] bytes for each of the nat sizes in at
 * (ascending) into hashes[k]: the contents of earlier loads it may extend.
 * Sizes past the end get no hash: *nhashed says how many did.
 */
bool
prehash(worker *w, file_load *f, const uint64_t *at, int nat, uint8_t (*hashes)[HASH_LEN],
		int *nhashed)
{
	off_t		start = lseek(f->fd, 0, SEEK_CUR);
	ssize_t		r;
	unsigned int hl;
	int			k = 0;

	if (start < 0)
		start = 0;
	EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
	f->size = 0;
	for (;;)
	{
		size_t		done = 0;

		if ((r = read_chunk(w, f)) < 0)
			return false;
		/* a prefix that ends in this chunk (or at its start: size 0) */
		while (k < nat && at[k] <= f->size + (uint64_t) r)
		{
			size_t		part = (size_t) (at[k] - f->size) - done;

			EVP_DigestUpdate(w->md, w->readbuf + done, part);
			done += part;
			EVP_MD_CTX_copy_ex(w->md_cut, w->md);
			EVP_DigestFinal_ex(w->md_cut, hashes[k], &hl);
			k++;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(w->md, w->readbuf + done, (size_t) r - done);
		f->size += r;
	}
	EVP_DigestFinal_ex(w->md, f->hash, &hl);
	if (nhashed)
		*nhashed = k;
	if (lseek(f->fd, start, SEEK_SET) < 0)
	{
		emit("%s: error: could not rewind \"%s\": %s\n", PROGNAME, f->path, strerror(errno));
		return false;
	}
	return true;
}

/* Put 32 bits big-endian. */
static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/*
 * Send the buffered rows, or hand them to the sending thread and take the
 * next free slot; false when the server stopped the COPY.
 */
static bool
flush_rows(worker *w)
{
	bool		ok;
	int			i;

	if (w->len == 0)
		return true;
	if (!w->threaded)
	{
		if (w->conn && PQputCopyData(w->conn, (const char *) w->buf, (int) w->len) != 1)
			return false;
		w->len = 0;
		return true;
	}
	pthread_mutex_lock(&w->mu);
	i = (w->qhead + w->qcount) % NSLOTS;
	w->slot_len[i] = w->len;
	w->qcount++;
	pthread_cond_signal(&w->filled);
	while (w->qcount == NSLOTS && !w->stopped)
		pthread_cond_wait(&w->freed, &w->mu);
	ok = !w->stopped;
	w->buf = w->slots[(w->qhead + w->qcount) % NSLOTS];
	pthread_mutex_unlock(&w->mu);
	w->len = 0;
	return ok;
}

/* The binary COPY header: signature, flags, header extension length. */
static const uint8_t copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n',
0, 0, 0, 0, 0, 0, 0, 0, 0};

/* Start a COPY stream in w->buf: its header. */
void
start_rows(worker *w)
{
	memcpy(w->buf, copy_header, sizeof(copy_header));
	w->len = sizeof(copy_header);
}

/* Take the stream's counts into f: what a batch's or the file's row says. */
static void
take_counts(file_load *f, const mx_stream_counts *c)
{
	int			r;

	f->records = c->records;
	f->filtered = c->filtered;
	for (r = 0; r < MX_SKIP_NREASONS; r++)
		f->not_ip[r] = c->skipped[r];
	f->truncated = c->truncated;
	f->damaged = c->damaged;
	f->damaged_bytes = c->damaged_bytes;
}

/*
 * Is a batch due?  After commit_packets packets, or commit_ns after the
 * batch began if it has a packet.
 */
static bool
batch_due(worker *w, file_load *f)
{
	uint64_t	n = f->packets - f->base_packets;

	if (w->opt->commit_packets)
		return n >= w->opt->commit_packets;
	return n > 0 && now_ns() - f->batch_ns >= w->opt->commit_ns;
}

/*
 * Cut the COPY here (decoding thread): every packet handed out so far is
 * in the batch, every record read so far is counted, every byte read so far
 * is hashed, so the batch's row says exactly which records of the input it
 * holds.  The sender commits it (batch_commit) while this thread waits;
 * then the next batch's COPY starts.  False when the sender stopped.
 */
static bool
cut_batch(worker *w, file_load *f)
{
	unsigned int hl;
	bool		ok;

	take_counts(f, mx_stream_get_counts(w->stream));
	EVP_MD_CTX_copy_ex(w->md_cut, f->md);
	EVP_DigestFinal_ex(w->md_cut, f->hash, &hl);
	f->size = f->in_bytes;
	/* the trailer: field count -1 */
	w->buf[w->len++] = 0xff;
	w->buf[w->len++] = 0xff;
	if (!w->threaded)
	{
		if (!flush_rows(w))
			return false;
		ok = batch_commit(w, f);
		start_rows(w);
		return ok;
	}
	if (!flush_rows(w))
		return false;
	pthread_mutex_lock(&w->mu);
	w->cut = true;
	pthread_cond_signal(&w->filled);
	while (w->cut && !w->stopped)
		pthread_cond_wait(&w->freed, &w->mu);
	ok = !w->stopped;
	pthread_mutex_unlock(&w->mu);
	start_rows(w);
	return ok;
}

/*
 * The reader's hook, asked about every 100 ms while a pipe has no data
 * (and before each read of more input): the moment to commit a batch
 * that is due by time, so that a quiet pipe's packets are not held back.
 * Cancels the read only when a batch could not be committed.
 */
bool
on_idle(void *arg)
{
	worker	   *w = (worker *) arg;
	file_load  *f = w->f;

	if (f && f->batching && !f->batch_failed && w->stream && batch_due(w, f))
	{
		if (!cut_batch(w, f))
			f->batch_failed = true;
	}
	return f && f->batch_failed;
}

/*
 * Stream the file's packets into the COPY (or count them, on a dry run):
 * an adapter of the decoder's packet stream, which reads, filters, decodes,
 * skips and counts, and words the warnings (printed as they come).  Rows
 * are packed straight into the COPY buffer.
 */
static copy_end
stream_packets(worker *w, file_load *f, mx_stream *stream)
{
	slot	   *sl = &w->sh->slots[w->id];
	const mx_stream_counts *c = mx_stream_get_counts(stream);
	mx_packet	pkt;
	mx_error	err;
	mx_status	s;
	uint64_t	since = 0;

	for (;;)
	{
		uint8_t    *row;
		size_t		n;

		s = mx_stream_next(stream, &pkt, &err);
		if (c->queued)
			print_messages(w, stream);
		if (s != MX_OK)
			break;
		/* one row: field count 1, value length, the packet's binary form */
		row = w->buf + w->len;
		n = mx_packet_pack(&pkt, row + 6);
		row[0] = 0;
		row[1] = 1;
		put32(row + 2, (uint32_t) n);
		w->len += 6 + n;
		f->packets++;
		if (f->batching)
		{
			if (f->batch_failed)
				return COPY_SERVER_ERROR;
			/* by packets: after each; by time: every 64 packets */
			if ((w->opt->commit_packets || (f->packets & 63) == 0) && batch_due(w, f))
			{
				if (!cut_batch(w, f))
					return COPY_SERVER_ERROR;
				continue;
			}
		}
		if (w->len > COPY_CHUNK)
		{
			if (!flush_rows(w))
				return COPY_SERVER_ERROR;
			if (++since >= 4)
			{
				since = 0;
				sl->bytes = f->in_bytes;
				sl->packets = f->packets;
				if (w->draw)
					progress_draw(w->sh, false);
			}
		}
	}
	take_counts(f, c);
	if (s != MX_END && f->batch_failed)
		return COPY_SERVER_ERROR;	/* reported; on_idle cancelled the read */
	if (s != MX_END)
	{
		report_decode_error(f->path, &err);
		return COPY_DECODE_ERROR;
	}
	return COPY_DONE;
}

/*
 * Decode the whole file into COPY rows after the header in w->buf: the
 * packets, what is left of the input (through the hash), the trailer.
 */
copy_end
decode_all(worker *w, file_load *f, mx_stream *stream)
{
	copy_end	ce = stream_packets(w, f, stream);

	if (ce == COPY_DONE && !drain_input(w, f))
		ce = COPY_DECODE_ERROR;
	if (ce == COPY_DONE)
	{
		/* the trailer: field count -1 */
		w->buf[w->len++] = 0xff;
		w->buf[w->len++] = 0xff;
		if (!flush_rows(w))
			ce = COPY_SERVER_ERROR;
	}
	return ce;
}

/* The decoding thread: decode_all, then tell the sender it is done. */
static void *
decode_thread(void *arg)
{
	worker	   *w = (worker *) arg;
	copy_end	ce;

	/*
	 * SIGINT and SIGTERM are handled by the worker's own thread, where
	 * COMMIT holds them back: a batch's COMMIT runs while this thread waits.
	 */
	block_interrupts(true);
	ce = decode_all(w, w->f, w->stream);

	pthread_mutex_lock(&w->mu);
	w->ce = ce;
	w->decoded = true;
	pthread_cond_signal(&w->filled);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Stream the file into the COPY: decode in a second thread while this one
 * sends, so that neither waits for the other (gunzip and decoding go on
 * while a send blocks on a full socket).  Falls back to one thread when no
 * thread can be started.
 */
copy_end
decode_and_send(worker *w, file_load *f, mx_stream *stream)
{
	pthread_t	th;
	int			i;
	size_t		n;
	bool		sending = true;
	bool		ok;

	w->f = f;
	w->stream = stream;
	w->qhead = 0;
	w->qcount = 0;
	w->decoded = false;
	w->stopped = false;
	w->cut = false;
	w->threaded = true;
	if (pthread_create(&th, NULL, decode_thread, w) != 0)
	{
		w->threaded = false;
		return decode_all(w, f, stream);
	}
	for (;;)
	{
		pthread_mutex_lock(&w->mu);
		while (w->qcount == 0 && !w->decoded && !w->cut)
			pthread_cond_wait(&w->filled, &w->mu);
		if (w->qcount == 0 && w->cut)
		{
			/* the batch's rows are sent: commit it, open the next */
			pthread_mutex_unlock(&w->mu);
			ok = sending && batch_commit(w, f);
			pthread_mutex_lock(&w->mu);
			if (!ok)
			{
				sending = false;
				w->stopped = true;
			}
			w->cut = false;
			pthread_cond_signal(&w->freed);
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		if (w->qcount == 0)
		{
			pthread_mutex_unlock(&w->mu);
			break;
		}
		i = w->qhead;
		n = w->slot_len[i];
		pthread_mutex_unlock(&w->mu);

		if (sending && PQputCopyData(w->conn, (const char *) w->slots[i], (int) n) != 1)
		{
			/* the server ended the COPY: stop the decoder, drop the rest */
			sending = false;
			pthread_mutex_lock(&w->mu);
			w->stopped = true;
			pthread_mutex_unlock(&w->mu);
		}
		pthread_mutex_lock(&w->mu);
		w->qhead = (w->qhead + 1) % NSLOTS;
		w->qcount--;
		pthread_cond_signal(&w->freed);
		pthread_mutex_unlock(&w->mu);
	}
	pthread_join(th, NULL);
	w->threaded = false;
	w->buf = w->slots[0];
	if (!sending && w->ce == COPY_DONE)
		return COPY_SERVER_ERROR;
	return (copy_end) w->ce;
}
