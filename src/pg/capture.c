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
 * The reader and filter are malloc'd by the decoder.  They are owned by a
 * reset callback on the SRF's multi-call memory context, which PostgreSQL
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

/* What one pcap_read call keeps between rows. */
typedef struct read_state
{
	char	   *path;
	mx_reader  *rd;
	mx_filter  *filter;
	int64		max_packets;	/* -1: no limit */
	int64		returned;
	uint64		filtered;
	uint64		skipped[MX_SKIP_NREASONS];
	uint64		packetno;		/* record being read, for errcontext */
	uint64		records;		/* records read */
	bool		done;
	bool		salvage;		/* on_error => 'skip' */
	uint64		damaged;		/* damaged regions stepped over */
	uint64		damaged_bytes;
	uint64		malformed;		/* packets with malformed headers skipped */
	int			npending;		/* damage reports not yet raised */
	mx_error	pending[4];
	uint64		pending_bytes[4];
	bool		track_linktypes;	/* pcap_file_info wants them */
	int			nlinktypes;
	uint32		linktypes[64];
	MemoryContextCallback cleanup;
} read_state;

/* Close what the decoder opened; runs when the SRF's context goes away. */
static void
read_state_cleanup(void *arg)
{
	read_state *st = (read_state *) arg;

	mx_reader_close(st->rd);
	st->rd = NULL;
	mx_filter_free(st->filter);
	st->filter = NULL;
}

/*
 * Raise a decoder error as an ERROR with the fitting SQLSTATE, naming the
 * file, the packet, the byte offset and the field.
 */
void
mirai_report_error(const char *path, const mx_error *err)
{
	int			sqlstate;
	char		where[256];

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
	mx_error_where(err, err->code != MX_ERR_FILTER, where, sizeof(where));
	if (err->code == MX_ERR_FILTER)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s", err->message),
				 err->packetno ? errdetail("%s", where) :
				 err->detail ? errdetail("%s", err->detail) : 0,
				 err->hint ? errhint("%s", err->hint) : 0));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid capture file \"%s\": %s", path, err->message),
			 errdetail("%s", where)));
}

/* How many damage reports are raised one by one before only counting. */
#define MAX_DAMAGE_WARNINGS 10

/*
 * Salvage mode callback, called by the decoder: keep the report, to be
 * raised once control is back in PostgreSQL code (never ereport from
 * inside the decoder).
 */
static void
note_damage(void *arg, const mx_error *err, uint64_t bytes)
{
	read_state *st = (read_state *) arg;

	st->damaged++;
	st->damaged_bytes += bytes;
	if (st->npending < (int) lengthof(st->pending))
	{
		st->pending[st->npending] = *err;
		st->pending_bytes[st->npending] = bytes;
		st->npending++;
	}
}

/* Raise the damage reports the decoder left, as WARNINGs. */
static void
raise_damage(read_state *st)
{
	int			i;

	for (i = 0; i < st->npending; i++)
	{
		const mx_error *e = &st->pending[i];

		if (st->damaged - st->npending + i + 1 > MAX_DAMAGE_WARNINGS)
			break;
		ereport(WARNING,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("skipped %llu damaged bytes of capture file \"%s\": %s",
						(unsigned long long) st->pending_bytes[i], st->path, e->message),
				 errdetail("At record %llu, byte offset %llu, field %s.",
						   (unsigned long long) e->packetno,
						   (unsigned long long) e->offset, e->field)));
	}
	st->npending = 0;
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
static mx_reader *
open_capture(const char *path)
{
	int			fd;
	int			flags;
	mx_reader  *rd;
	mx_error	err;
	mx_input_hooks hooks;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open capture file \"%s\": %m", path)));
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
	{
		int			save_errno = errno;

		close(fd);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open capture file \"%s\": %m", path)));
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.interrupted = read_interrupted;
	rd = mx_reader_open_fd_hooks(fd, &hooks, &err);	/* closes fd on failure */
	if (rd == NULL)
	{
		if (err.code == MX_ERR_IO && err.errnum == EINTR)
			CHECK_FOR_INTERRUPTS();
		mirai_report_error(path, &err);
	}
	return rd;
}

/* NOTICE with the frames that were not IP, if any; WARNING for damage. */
static void
report_skipped(read_state *st)
{
	StringInfoData buf;
	uint64		total = 0;
	int			r;

	if (st->damaged || st->malformed)
		ereport(WARNING,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("capture file \"%s\" is damaged: skipped %llu damaged regions (%llu bytes) and %llu malformed packets",
						st->path, (unsigned long long) st->damaged,
						(unsigned long long) st->damaged_bytes,
						(unsigned long long) st->malformed),
				 errdetail("The %lld packets around the damage were read.",
						   (long long) st->returned)));
	for (r = 1; r < MX_SKIP_NREASONS; r++)
		total += st->skipped[r];
	if (total == 0)
		return;
	initStringInfo(&buf);
	for (r = 1; r < MX_SKIP_NREASONS; r++)
		if (st->skipped[r])
			appendStringInfo(&buf, "%s%s %llu", buf.len ? ", " : "",
							 mx_skip_reason_name(r),
							 (unsigned long long) st->skipped[r]);
	ereport(NOTICE,
			(errmsg("skipped %llu frames of capture file \"%s\" that are not IP packets",
					(unsigned long long) total, st->path),
			 errdetail("By reason: %s.", buf.data)));
	pfree(buf.data);
}

/* The next packet, or false at the end; errors are raised. */
static bool
read_next(read_state *st, mx_packet *pkt)
{
	mx_record	rec;
	mx_error	err;
	mx_status	s;
	mx_skip_reason reason;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		st->packetno++;
		s = mx_reader_next(st->rd, &rec, &err);
		if (st->npending)
			raise_damage(st);
		if (s == MX_END)
		{
			if (mx_reader_truncated(st->rd))
				ereport(WARNING,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("capture file \"%s\" is cut short: %s", st->path, err.message),
						 errdetail("At record %llu, byte offset %llu, field %s. The %llu records before it are kept.",
								   (unsigned long long) err.packetno,
								   (unsigned long long) err.offset, err.field,
								   (unsigned long long) err.packetno - 1)));
			return false;
		}
		if (s != MX_OK)
			mirai_report_error(st->path, &err);
		st->packetno = rec.packetno;
		st->records = rec.packetno;
		if (mx_linktype_name(rec.linktype) == NULL)
		{
			/* a pcapng interface we do not decode: no filter applies */
			st->skipped[MX_SKIP_LINKTYPE]++;
			continue;
		}
		if (st->track_linktypes)
		{
			int			i;

			for (i = 0; i < st->nlinktypes; i++)
				if (st->linktypes[i] == rec.linktype)
					break;
			if (i == st->nlinktypes && i < (int) lengthof(st->linktypes))
				st->linktypes[st->nlinktypes++] = rec.linktype;
		}
		if (st->filter)
		{
			int			m = mx_filter_match(st->filter, &rec, &err);

			if (m < 0)
				mirai_report_error(st->path, &err);
			if (m == 0)
			{
				st->filtered++;
				continue;
			}
		}
		s = mx_decode_frame(&rec, pkt, &reason, &err);
		if (s == MX_OK)
			return true;
		if (s == MX_SKIP)
		{
			st->skipped[reason]++;
			continue;
		}
		if (st->salvage && s == MX_ERR_PACKET)
		{
			if (++st->malformed <= MAX_DAMAGE_WARNINGS)
				ereport(WARNING,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("skipped a malformed packet of capture file \"%s\": %s",
								st->path, err.message),
						 errdetail("At packet %llu, byte offset %llu, field %s.",
								   (unsigned long long) err.packetno,
								   (unsigned long long) err.offset, err.field)));
			continue;
		}
		mirai_report_error(st->path, &err);
	}
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
			st->rd = open_capture(st->path);
			if (st->salvage)
				mx_reader_set_salvage(st->rd, note_damage, st);
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
		report_skipped(st);
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
	Datum		lts[lengthof(st->linktypes)];
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
	st->rd = open_capture(st->path);
	st->track_linktypes = true;

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

	info = mx_reader_info(st->rd);
	initStringInfo(&reasons);
	appendStringInfoChar(&reasons, '{');
	for (r = 1; r < MX_SKIP_NREASONS; r++)
	{
		skipped += st->skipped[r];
		if (st->skipped[r])
			appendStringInfo(&reasons, "%s\"%s\": %llu", reasons.len > 1 ? ", " : "",
							 mx_skip_reason_name(r), (unsigned long long) st->skipped[r]);
	}
	appendStringInfoChar(&reasons, '}');
	for (r = 0; r < st->nlinktypes; r++)
		lts[r] = Int32GetDatum((int32) st->linktypes[r]);

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
	values[i++] = PointerGetDatum(construct_array(lts, st->nlinktypes, INT4OID,
												  4, true, TYPALIGN_INT));
	values[i++] = Int64GetDatum((int64) st->records);
	values[i++] = Int64GetDatum((int64) st->filtered);
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
	values[i++] = BoolGetDatum(mx_reader_truncated(st->rd));
	Assert(i == lengthof(values));
	read_state_cleanup(st);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
