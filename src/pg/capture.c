/*-------------------------------------------------------------------------
 *
 * capture.c
 *		pcap_read(): a capture file on the server, streamed as packets.
 *
 * pcap_read is a value-per-call set-returning function: called in a select
 * list (SELECT pcap_read(...)) it streams one packet at a time and memory
 * stays bounded whatever the file's size; called in FROM, PostgreSQL
 * materializes it into a tuplestore first (which spills to disk past
 * work_mem).  README recommends the select-list form.
 *
 * The file is read through the decoder's packet stream (mx_stream.c), which
 * also words every warning and notice; mirai_load reads through the same
 * stream and prints the same words.  The stream and the filter are
 * malloc'd by the decoder.  They are owned by a reset callback on the SRF's multi-call memory context, which PostgreSQL
 * deletes when the scan ends early (LIMIT), when the query ends, and on
 * error, so no file descriptor outlives the statement.
 *
 * Reading server files needs the privileges of pg_read_server_files, as
 * COPY FROM a file does (checked here, in C: EXECUTE stays granted).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"

/*
 * What one pcap_read (or pcap_file_info) call keeps between rows.  The
 * reading itself, the counts and the words of every warning and notice
 * are the decoder's packet stream's (mx_stream.c): this file only raises
 * what the stream says, as mirai_load prints it.
 */
typedef struct read_state
{
	char	   *path;
	mx_stream  *stream;
	const mx_stream_counts *counts;	/* the stream's, while it is open */
	mx_filter  *filter;
	int64		max_packets;	/* -1: no limit */
	int64		returned;
	uint64		packetno;		/* record being read, for errcontext */
	bool		done;
	bool		salvage;		/* on_error => 'skip' */
	bool		notices;		/* raise the stream's notices (pcap_read:
								 * pcap_file_info returns the counts) */
	MemoryContextCallback cleanup;
} read_state;

/* Close what the decoder opened; runs when the SRF's context goes away. */
static void
read_state_cleanup(void *arg)
{
	read_state *st = (read_state *) arg;

	mx_stream_close(st->stream);
	st->stream = NULL;
	mx_filter_free(st->filter);
	st->filter = NULL;
}

/*
 * Raise a decoder error as an ERROR with the fitting SQLSTATE, naming the
 * file, the packet, the byte offset and the field, in the stream's words.
 */
void
mirai_report_error(const char *path, const mx_error *err)
{
	int			sqlstate;
	mx_message	m;

	/* a read the decoder gave up because a cancel is pending */
	if (err->code == MX_ERR_IO && err->errnum == EINTR)
		CHECK_FOR_INTERRUPTS();

	switch (err->code)
	{
		case MX_ERR_IO:
			errno = err->errnum;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read capture file \"%s\": %m", path)));
			break;
		case MX_ERR_LIMIT:
			sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case MX_ERR_NOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			break;
		case MX_ERR_FILTER:
			sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		default:
			sqlstate = ERRCODE_BAD_COPY_FILE_FORMAT;
			break;
	}
	mx_error_text(path, err, &m);
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s", m.text),
			 m.detail[0] ? errdetail("%s", m.detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0));
}

/*
 * Raise what the stream has queued: its warnings as WARNING (a capture file
 * that is damaged, cut short, or read past a rule), its notices as NOTICE.
 */
static void
raise_messages(read_state *st)
{
	mx_message	m;

	while (mx_stream_message(st->stream, &m))
	{
		if (m.level == MX_WARNING)
			ereport(WARNING,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("%s", m.text),
					 m.detail[0] ? errdetail("%s", m.detail) : 0));
		else if (st->notices)
			ereport(NOTICE,
					(errmsg("%s", m.text),
					 m.detail[0] ? errdetail("%s", m.detail) : 0));
	}
}

/* errcontext for anything raised while a file is being read. */
static void
read_error_context(void *arg)
{
	read_state *st = (read_state *) arg;

	errcontext("reading capture file \"%s\", packet %llu", st->path,
			   (unsigned long long) st->packetno);
}

/* Refuse callers who may not read server files. */
static void
check_read_privilege(void)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read capture files on the server"),
				 errhint("Only superusers and roles with privileges of the \"%s\" role may read files on the server; use mirai_load to load files from a client.",
						 "pg_read_server_files")));
}

/*
 * Asked by the decoder while a pipe or FIFO has no data and before each
 * read of more input (so also while it skips blocks or scans garbage
 * without a record to hand out): is a cancel, a timeout or a terminate
 * pending?  The decoder then returns, and CHECK_FOR_INTERRUPTS raises it
 * here, in PostgreSQL code.
 */
static bool
read_interrupted(void *arg)
{
	return QueryCancelPending || ProcDiePending;
}

/*
 * Open path for reading and start a decoder on it.
 *
 * The file is opened with O_NONBLOCK: open(2) of a FIFO that no process
 * writes waits for a writer, and PostgreSQL's signal handlers restart the
 * call, so no cancel, timeout or terminate could end that wait.  Opened
 * so, the call returns at once; reads are made blocking again, and the
 * decoder waits for a FIFO's first bytes in poll(), asking
 * read_interrupted every 100 ms, as it waits for a writer that stalls.
 * (Linux reports neither data nor a hang-up on a FIFO opened so before any
 * writer came, so the wait lasts until a writer writes or closes: one that
 * closes without writing leaves an empty file, as before.)  O_NONBLOCK
 * changes nothing else for regular files.
 */
static mx_stream *
open_capture(read_state *st)
{
	int			fd;
	int			flags;
	mx_stream  *stream;
	mx_error	err;
	mx_input_hooks hooks;
	mx_stream_options opt;

	fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open capture file \"%s\": %m", st->path)));
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
	{
		int			save_errno = errno;

		close(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open capture file \"%s\": %m", st->path)));
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.interrupted = read_interrupted;
	memset(&opt, 0, sizeof(opt));
	opt.name = st->path;
	opt.filter = st->filter;
	opt.salvage = st->salvage;
	opt.hooks = &hooks;
	stream = mx_stream_open_fd(fd, &opt, &err);	/* closes fd on failure */
	if (stream == NULL)
	{
		if (err.code == MX_ERR_IO && err.errnum == EINTR)
			CHECK_FOR_INTERRUPTS();
		mirai_report_error(st->path, &err);
	}
	return stream;
}

/* The next packet, or false at the end; errors are raised. */
static bool
read_next(read_state *st, mx_packet *pkt)
{
	mx_error	err;
	mx_status	s;
	const mx_stream_counts *c = st->counts;

	CHECK_FOR_INTERRUPTS();
	s = mx_stream_next(st->stream, pkt, &err);
	/* the packet handed out, or the record that failed */
	if (s == MX_OK)
		st->packetno = c->records;
	else
		st->packetno = s != MX_END && err.packetno ? err.packetno : c->records + 1;
	if (c->queued)
		raise_messages(st);
	if (s == MX_OK)
		return true;
	if (s == MX_END)
		return false;
	mirai_report_error(st->path, &err);
	return false;				/* not reached */
}

/*
 * pcap_read(path text, filter text, max_packets bigint, on_error text)
 * RETURNS SETOF packet
 */
PG_FUNCTION_INFO_V1(pcap_read);
Datum
pcap_read(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	read_state *st;
	mx_packet	pkt;
	bool		got;
	ErrorContextCallback errcb;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;

		check_read_privilege();
		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(read_state));
		st->max_packets = -1;
		st->notices = true;
		if (PG_ARGISNULL(0))
		{
			/* like STRICT: no file, no rows */
			st->done = true;
		}
		else
		{
			st->path = text_to_cstring(PG_GETARG_TEXT_PP(0));
			if (!PG_ARGISNULL(2))
			{
				st->max_packets = PG_GETARG_INT64(2);
				if (st->max_packets < 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("max_packets must not be negative")));
			}
			if (!PG_ARGISNULL(3))
			{
				char	   *mode = text_to_cstring(PG_GETARG_TEXT_PP(3));

				if (strcmp(mode, "skip") == 0)
					st->salvage = true;
				else if (strcmp(mode, "error") != 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid value for on_error: \"%s\"", mode),
							 errhint("Valid values are \"error\" and \"skip\".")));
			}
			st->cleanup.func = read_state_cleanup;
			st->cleanup.arg = st;
			MemoryContextRegisterResetCallback(funcctx->multi_call_memory_ctx,
											   &st->cleanup);
			if (!PG_ARGISNULL(1))
			{
				char	   *expr = text_to_cstring(PG_GETARG_TEXT_PP(1));
				mx_error	err;

				/* names refused: libpcap would look them up (DNS) */
				st->filter = mx_filter_new_flags(expr, MX_FILTER_NO_NAMES, &err);
				if (st->filter == NULL)
					mirai_report_error(st->path, &err);
			}
			st->stream = open_capture(st);
			st->counts = mx_stream_get_counts(st->stream);
		}
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(oldcxt);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = (read_state *) funcctx->user_fctx;
	if (st->done || (st->max_packets >= 0 && st->returned >= st->max_packets))
		SRF_RETURN_DONE(funcctx);

	errcb.callback = read_error_context;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	got = read_next(st, &pkt);
	error_context_stack = errcb.previous;

	if (!got)
	{
		st->done = true;
		read_state_cleanup(st);
		SRF_RETURN_DONE(funcctx);
	}
	st->returned++;
	SRF_RETURN_NEXT(funcctx, mirai_packet_datum(&pkt));
}

/*
 * pcap_file_info(path text, filter text): one row describing a capture
 * file: its container, its link types, and counts of what it holds, read
 * with the same rules as pcap_read.
 */
PG_FUNCTION_INFO_V1(pcap_file_info);
Datum
pcap_file_info(PG_FUNCTION_ARGS)
{
	read_state *st;
	mx_packet	pkt;
	TupleDesc	tupdesc;
	Datum		values[19];
	bool		nulls[19];
	uint64		ip4 = 0,
				ip6 = 0,
				ip4_tcp = 0,
				mirai = 0,
				skipped = 0;
	int64		first_ns = 0,
				last_ns = 0;
	bool		any = false;
	const mx_file_info *info;
	StringInfoData reasons;
	ErrorContextCallback errcb;
	const mx_stream_counts *c;
	Datum		lts[lengthof(c->linktypes)];
	int			i = 0,
				r;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	check_read_privilege();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/*
	 * In the call's memory context, not on the stack: the reset callback
	 * that closes the file on error lives as long as that context.
	 */
	st = palloc0(sizeof(read_state));
	st->path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	st->max_packets = -1;
	st->cleanup.func = read_state_cleanup;
	st->cleanup.arg = st;
	/* the callback closes the file if anything below raises an error */
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &st->cleanup);
	if (!PG_ARGISNULL(1))
	{
		mx_error	err;

		st->filter = mx_filter_new_flags(text_to_cstring(PG_GETARG_TEXT_PP(1)),
										 MX_FILTER_NO_NAMES, &err);
		if (st->filter == NULL)
			mirai_report_error(st->path, &err);
	}
	st->stream = open_capture(st);
	st->counts = mx_stream_get_counts(st->stream);

	errcb.callback = read_error_context;
	errcb.arg = st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	while (read_next(st, &pkt))
	{
		if (pkt.ipver == 4)
			ip4++;
		else
			ip6++;
		if (pkt.ipver == 4 && pkt.proto == MX_PROTO_TCP)
			ip4_tcp++;
		if (mx_is_mirai(&pkt))
			mirai++;
		if (!any || pkt.ts_ns < first_ns)
			first_ns = pkt.ts_ns;
		if (!any || pkt.ts_ns > last_ns)
			last_ns = pkt.ts_ns;
		any = true;
	}
	error_context_stack = errcb.previous;

	info = mx_stream_info(st->stream);
	c = mx_stream_get_counts(st->stream);
	initStringInfo(&reasons);
	appendStringInfoChar(&reasons, '{');
	for (r = 1; r < MX_SKIP_NREASONS; r++)
	{
		skipped += c->skipped[r];
		if (c->skipped[r])
			appendStringInfo(&reasons, "%s\"%s\": %llu", reasons.len > 1 ? ", " : "",
							 mx_skip_reason_name(r), (unsigned long long) c->skipped[r]);
	}
	appendStringInfoChar(&reasons, '}');
	for (r = 0; r < c->nlinktypes; r++)
		lts[r] = Int32GetDatum((int32) c->linktypes[r]);

	memset(nulls, 0, sizeof(nulls));
	values[i++] = CStringGetTextDatum(info->format == MX_FORMAT_PCAP ? "pcap" : "pcapng");
	values[i++] = BoolGetDatum(info->gzip);
	values[i++] = CStringGetTextDatum(info->big_endian ? "big" : "little");
	values[i++] = CStringGetTextDatum(psprintf("%u.%u", info->version_major, info->version_minor));
	nulls[i] = info->format != MX_FORMAT_PCAP;
	values[i++] = CStringGetTextDatum(info->nanosecond ? "ns" : "us");
	nulls[i] = info->format != MX_FORMAT_PCAPNG;
	values[i++] = Int32GetDatum((int32) info->sections);
	nulls[i] = info->format != MX_FORMAT_PCAPNG;
	values[i++] = Int32GetDatum((int32) info->interfaces);
	values[i++] = PointerGetDatum(construct_array(lts, c->nlinktypes, INT4OID,
												  4, true, TYPALIGN_INT));
	values[i++] = Int64GetDatum((int64) c->records);
	values[i++] = Int64GetDatum((int64) c->filtered);
	values[i++] = Int64GetDatum((int64) ip4);
	values[i++] = Int64GetDatum((int64) ip6);
	values[i++] = Int64GetDatum((int64) ip4_tcp);
	values[i++] = Int64GetDatum((int64) mirai);
	values[i++] = Int64GetDatum((int64) skipped);
	values[i++] = DirectFunctionCall1(jsonb_in, CStringGetDatum(reasons.data));
	nulls[i] = !any;
	values[i++] = TimestampTzGetDatum(mirai_ns_to_timestamptz(first_ns));
	nulls[i] = !any;
	values[i++] = TimestampTzGetDatum(mirai_ns_to_timestamptz(last_ns));
	values[i++] = BoolGetDatum(c->truncated);
	Assert(i == lengthof(values));
	read_state_cleanup(st);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
