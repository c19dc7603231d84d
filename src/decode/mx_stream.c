/*-------------------------------------------------------------------------
 *
 * mx_stream.c
 *		The packet stream: one capture file in, packets, counts and
 *		messages out.  Every reader of capture files reads through it:
 *		pcap_read and pcap_file_info in the server, mirai_load on a client,
 *		the fuzzers; so they give the same packets and say the same words
 *		about the same file.
 *
 * Per record, in this order, as tcpdump does: the reader hands out a record
 * (stepping over damage in salvage mode); a record of a link type the frame
 * decoder does not read is skipped ("link type"); the BPF filter runs on the
 * raw frame; the frame is decoded, or skipped with a reason (not IP, cut
 * before its IP header ends, malformed IP header); with mirai_only a packet
 * that is not Mirai's counts as filtered, and so does, with a mask of
 * scanner rules, a packet that matches none of them.  A resumed load reads
 * past the records loaded before (skip_records) without decoding them.
 *
 * Messages are queued, never printed: the caller drains them after each
 * call (mx_stream_message) and prints them its way.  Warnings of one kind
 * (damage, records cut to the snapshot length, time fractions out of
 * range) are queued for the first MAX_WARNINGS of a file only; the counts
 * go on.  At the end of the file come the summaries: the file cut short, a
 * section it could not read, the damage, the frames skipped (a notice).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_bytes.h"
#include "mx_scanner.h"

/* How many warnings of one kind per file, before only counting. */
#define MAX_WARNINGS	10
/* Messages queued between two calls; more are dropped (never expected). */
#define QUEUE_SIZE		32

typedef enum warning_kind
{
	W_DAMAGE,
	W_CUT,
	W_TIME,
	W_NKINDS
} warning_kind;

struct mx_stream
{
	mx_reader  *rd;
	mx_filter  *filter;
	bool		mirai_only;
	uint32_t	scanners;
	uint64_t	skip_records;
	uint64_t	max_records;
	char	   *name;
	mx_stream_counts counts;
	mx_record	rec;			/* the last record read */
	mx_error	frame_err;		/* why the last malformed frame was skipped */
	mx_skip_reason reason;		/* why the last frame was skipped (here, not
								 * on mx_stream_next's stack: no stack
								 * guard on the per-record path) */
	uint32_t	last_linktype;	/* of the last record (UINT32_MAX: none yet;
								 * no link type has that number) */
	bool		have_malformed; /* first_malformed holds the first one */
	mx_error	first_malformed;
	uint32_t	warned[W_NKINDS];
	bool		ended;			/* the end's messages are queued */
	mx_message	queue[QUEUE_SIZE];
	int			qhead;			/* counts.queued are queued from here */
};

/* ----------------------------------------------------------------------
 * Messages
 * ----------------------------------------------------------------------
 */

/* A new message at the queue's tail, or NULL when the queue is full. */
static mx_message *
queue_message(mx_stream *s, mx_level level, const char *field)
{
	mx_message *m;

	if (s->counts.queued == QUEUE_SIZE)
		return NULL;
	m = &s->queue[(s->qhead + s->counts.queued) % QUEUE_SIZE];
	s->counts.queued++;
	m->level = level;
	m->field = field;
	m->text[0] = '\0';
	m->detail[0] = '\0';
	return m;
}

/* "record 12, byte offset 1234, field pcap.caplen", as details say it */
static void
where_words(char *out, size_t len, const mx_error *e)
{
	snprintf(out, len, "At record %llu, byte offset %llu, field %s.",
			 (unsigned long long) e->packetno, (unsigned long long) e->offset,
			 e->field ? e->field : "-");
}

/* A warning of a kind that is told for the first MAX_WARNINGS only. */
static mx_message *
counted_warning(mx_stream *s, warning_kind kind, const char *field)
{
	if (++s->warned[kind] > MAX_WARNINGS)
		return NULL;
	return queue_message(s, MX_WARNING, field);
}

/* Salvage mode: the reader stepped over a damaged region. */
static void
on_damage(void *arg, const mx_error *err, uint64_t bytes)
{
	mx_stream  *s = (mx_stream *) arg;
	mx_message *m;
	char		where[160];

	s->counts.damaged++;
	s->counts.damaged_bytes += bytes;
	if ((m = counted_warning(s, W_DAMAGE, err->field)) == NULL)
		return;
	snprintf(m->text, sizeof(m->text), "skipped %llu damaged bytes of capture file \"%s\": %s",
			 (unsigned long long) bytes, s->name, err->message);
	where_words(where, sizeof(where), err);
	snprintf(m->detail, sizeof(m->detail), "%s", where);
}

/* What the reader read past: a record cut, a time, a section, a capture. */
static void
on_event(void *arg, mx_reader_event event, const mx_error *where,
		 const mx_record *rec)
{
	mx_stream  *s = (mx_stream *) arg;
	mx_message *m;
	char		w[160];
	char		when[MX_TEXT_MAX];

	/* a record a resumed load reads past: the load that read it said so */
	if ((event == MX_EVENT_CUT || event == MX_EVENT_TIME) && where->packetno <= s->skip_records)
		return;
	switch (event)
	{
		case MX_EVENT_CUT:
			s->counts.cut++;
			if ((m = counted_warning(s, W_CUT, where->field)) == NULL)
				return;
			snprintf(m->text, sizeof(m->text),
					 "cut a record of capture file \"%s\" to its snapshot length: %s",
					 s->name, where->message);
			where_words(w, sizeof(w), where);
			snprintf(m->detail, sizeof(m->detail),
					 "%s Its first %llu bytes are read, as libpcap reads such a record.",
					 w, (unsigned long long) where->expected);
			break;
		case MX_EVENT_TIME:
			s->counts.bad_times++;
			if ((m = counted_warning(s, W_TIME, where->field)) == NULL)
				return;
			snprintf(m->text, sizeof(m->text),
					 "time stamp of a record of capture file \"%s\" is out of range: %s",
					 s->name, where->message);
			where_words(w, sizeof(w), where);
			mx_format_time(rec->ts_ns, when);
			snprintf(m->detail, sizeof(m->detail),
					 "%s The fraction is carried into the seconds: the record's time is %s.",
					 w, when);
			break;
		case MX_EVENT_STOP:
			s->counts.stopped = true;
			if ((m = queue_message(s, MX_WARNING, where->field)) == NULL)
				return;
			snprintf(m->text, sizeof(m->text),
					 "stopped reading capture file \"%s\" at byte offset %llu: %s",
					 s->name, (unsigned long long) where->offset, where->message);
			snprintf(m->detail, sizeof(m->detail),
					 "At record %llu, byte offset %llu, field %s. The %llu records before it are kept; the file is not read past it.",
					 (unsigned long long) s->counts.records + 1,
					 (unsigned long long) where->offset, where->field,
					 (unsigned long long) s->counts.records);
			break;
		case MX_EVENT_CAPTURE:
			s->counts.captures++;
			break;
	}
}

/* The end of the file: its summaries, once. */
static void
queue_end(mx_stream *s, const mx_error *trunc)
{
	mx_stream_counts *c = &s->counts;
	mx_message *m;
	uint64_t	skipped = 0;
	char		reasons[320];
	size_t		n = 0;
	int			r;

	if (s->ended)
		return;
	s->ended = true;
	if (c->truncated && (m = queue_message(s, MX_WARNING, trunc->field)) != NULL)
	{
		snprintf(m->text, sizeof(m->text), "capture file \"%s\" is cut short: %s",
				 s->name, trunc->message);
		snprintf(m->detail, sizeof(m->detail),
				 "At record %llu, byte offset %llu, field %s. The %llu records before it are kept.",
				 (unsigned long long) trunc->packetno, (unsigned long long) trunc->offset,
				 trunc->field, (unsigned long long) trunc->packetno - 1);
	}
	if (c->damaged && (m = queue_message(s, MX_WARNING, NULL)) != NULL)
	{
		snprintf(m->text, sizeof(m->text),
				 "capture file \"%s\" is damaged: skipped %llu damaged region%s (%llu bytes)",
				 s->name, (unsigned long long) c->damaged, c->damaged == 1 ? "" : "s",
				 (unsigned long long) c->damaged_bytes);
		snprintf(m->detail, sizeof(m->detail),
				 "The %llu packets around the damage were read.",
				 (unsigned long long) c->packets);
	}
	reasons[0] = '\0';
	for (r = 1; r < MX_SKIP_NREASONS; r++)
	{
		if (c->skipped[r] == 0)
			continue;
		skipped += c->skipped[r];
		if (n < sizeof(reasons))
			n += (size_t) snprintf(reasons + n, sizeof(reasons) - n, "%s%s %llu",
								   n ? ", " : "", mx_skip_reason_name((mx_skip_reason) r),
								   (unsigned long long) c->skipped[r]);
	}
	if (skipped == 0 || (m = queue_message(s, MX_NOTICE, NULL)) == NULL)
		return;
	snprintf(m->text, sizeof(m->text), "skipped %llu %s of capture file \"%s\" that %s%s",
			 (unsigned long long) skipped, skipped == 1 ? "frame" : "frames", s->name,
			 skipped == 1 ? "is not an IP packet" : "are not IP packets",
			 s->have_malformed ? " or whose IP header is malformed" : "");
	if (!s->have_malformed)
		snprintf(m->detail, sizeof(m->detail), "By reason: %s.", reasons);
	else
		snprintf(m->detail, sizeof(m->detail),
				 "By reason: %s. The first malformed one is packet %llu, at byte offset %llu: %s, field %s.",
				 reasons, (unsigned long long) s->first_malformed.packetno,
				 (unsigned long long) s->first_malformed.offset,
				 s->first_malformed.message, s->first_malformed.field);
}

bool
mx_stream_message(mx_stream *s, mx_message *msg)
{
	if (s->counts.queued == 0)
		return false;
	*msg = s->queue[s->qhead];
	s->qhead = (s->qhead + 1) % QUEUE_SIZE;
	s->counts.queued--;
	return true;
}

void
mx_error_text(const char *name, const mx_error *err, mx_message *msg)
{
	char		where[256];

	msg->level = MX_WARNING;
	msg->field = err->field;
	msg->detail[0] = '\0';
	if (err->code == MX_ERR_IO)
	{
		snprintf(msg->text, sizeof(msg->text), "could not read capture file \"%s\": %s",
				 name, strerror(err->errnum));
		return;
	}
	mx_error_where(err, err->code != MX_ERR_FILTER, where, sizeof(where));
	if (err->code == MX_ERR_FILTER)
	{
		snprintf(msg->text, sizeof(msg->text), "%s", err->message);
		if (err->packetno)
			snprintf(msg->detail, sizeof(msg->detail), "%s", where);
		else if (err->detail)
			snprintf(msg->detail, sizeof(msg->detail), "%s", err->detail);
		return;
	}
	snprintf(msg->text, sizeof(msg->text), "invalid capture file \"%s\": %s",
			 name, err->message);
	snprintf(msg->detail, sizeof(msg->detail), "%s", where);
}

/* ----------------------------------------------------------------------
 * Opening, reading, closing
 * ----------------------------------------------------------------------
 */

/* A stream around a reader that opened (NULL rd: fails with *err). */
static mx_stream *
stream_new(mx_reader *rd, const mx_stream_options *opt, mx_error *err)
{
	mx_stream  *s;
	const char *name = opt && opt->name ? opt->name : "-";

	if (rd == NULL)
		return NULL;
	s = calloc(1, sizeof(mx_stream));
	if (s == NULL || (s->name = malloc(strlen(name) + 1)) == NULL)
	{
		free(s);
		mx_reader_close(rd);
		mx_fail(err, MX_ERR_NOMEM, "stream", 0, 0, "out of memory");
		return NULL;
	}
	strcpy(s->name, name);
	s->rd = rd;
	s->max_records = UINT64_MAX;	/* no limit */
	s->last_linktype = UINT32_MAX;
	if (opt)
	{
		s->filter = opt->filter;
		s->mirai_only = opt->mirai_only;
		s->scanners = opt->scanners;
		s->skip_records = opt->skip_records;
		if (opt->max_records)
			s->max_records = opt->max_records;
		if (opt->salvage)
			mx_reader_set_salvage(rd, on_damage, s);
	}
	mx_reader_set_events(rd, on_event, s);
	return s;
}

mx_stream *
mx_stream_open_fd(int fd, const mx_stream_options *opt, mx_error *err)
{
	return stream_new(mx_reader_open_fd_hooks(fd, opt ? opt->hooks : NULL, err),
					  opt, err);
}

mx_stream *
mx_stream_open_memory(const uint8_t *buf, size_t len,
					  const mx_stream_options *opt, mx_error *err)
{
	return stream_new(mx_reader_open_memory(buf, len, err), opt, err);
}

/* Note a record's link type among those seen. */
static void
note_linktype(mx_stream *s, uint32_t linktype)
{
	mx_stream_counts *c = &s->counts;
	int			i;

	s->last_linktype = linktype;
	for (i = 0; i < c->nlinktypes; i++)
		if (c->linktypes[i] == linktype)
			return;
	if (c->nlinktypes < (int) (sizeof(c->linktypes) / sizeof(c->linktypes[0])))
		c->linktypes[c->nlinktypes++] = linktype;
}

mx_status
mx_stream_next(mx_stream *s, mx_packet *pkt, mx_error *err)
{
	mx_stream_counts *c = &s->counts;
	mx_record  *rec = &s->rec;
	mx_status	st;

	/* after the end, the reader keeps returning MX_END: no test here */
	for (;;)
	{
		if (c->records >= s->max_records)
		{
			s->ended = true;	/* not the end of the file: no summaries */
			return MX_END;
		}
		st = mx_reader_next(s->rd, rec, err);
		if (st == MX_END)
		{
			c->truncated = mx_reader_truncated(s->rd);
			queue_end(s, err);
			return MX_END;
		}
		if (st != MX_OK)
			return st;
		c->records = rec->packetno;
		if (c->records <= s->skip_records)
			continue;			/* loaded before: a resumed load */
		if (rec->linktype != s->last_linktype)
		{
			if (mx_linktype_name(rec->linktype) == NULL)
			{
				/* an interface the frame decoder does not read: no filter */
				c->skipped[MX_SKIP_LINKTYPE]++;
				continue;
			}
			note_linktype(s, rec->linktype);
		}
		if (s->filter)
		{
			int			m = mx_filter_match(s->filter, rec, err);

			if (m < 0)
				return err->code;
			if (m == 0)
			{
				c->filtered++;
				continue;
			}
		}
		if (mx_decode_frame(rec, pkt, &s->reason, &s->frame_err) != MX_OK)
		{
			c->skipped[s->reason]++;
			if (s->reason == MX_SKIP_MALFORMED && !s->have_malformed)
			{
				s->have_malformed = true;
				s->first_malformed = s->frame_err;
			}
			continue;
		}
		if (s->mirai_only && !mx_is_mirai(pkt))
		{
			c->filtered++;
			continue;
		}
		if (s->scanners && !mx_scanner_match(pkt, s->scanners))
		{
			c->filtered++;
			continue;
		}
		c->packets++;
		return MX_OK;
	}
}

const mx_stream_counts *
mx_stream_get_counts(const mx_stream *s)
{
	return &s->counts;
}

const mx_file_info *
mx_stream_info(const mx_stream *s)
{
	return mx_reader_info(s->rd);
}

const mx_record *
mx_stream_record(const mx_stream *s)
{
	return &s->rec;
}

void
mx_stream_close(mx_stream *s)
{
	if (s == NULL)
		return;
	mx_reader_close(s->rd);
	free(s->name);
	free(s);
}
