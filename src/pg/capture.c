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
#include "utils/builtins.h"
#include "utils/memutils.h"

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
	bool		done;
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
	char		where[160];
	char		values[96] = "";

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
	if (err->packetno == 0)
		snprintf(where, sizeof(where), "In the file header, at byte offset %llu, field %s.",
				 (unsigned long long) err->offset, err->field);
	else
		snprintf(where, sizeof(where), "At packet %llu, byte offset %llu, field %s.",
				 (unsigned long long) err->packetno,
				 (unsigned long long) err->offset, err->field);
	if (err->has_values)
		snprintf(values, sizeof(values), " Expected %llu, found %llu.",
				 (unsigned long long) err->expected,
				 (unsigned long long) err->actual);
	if (err->code == MX_ERR_FILTER)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s", err->message),
				 err->packetno ? errdetail("%s", where) : 0));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid capture file \"%s\": %s", path, err->message),
			 errdetail("%s%s", where, values)));
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

/* Open path for reading and start a decoder on it. */
static mx_reader *
open_capture(const char *path)
{
	int			fd;
	mx_reader  *rd;
	mx_error	err;

	fd = open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open capture file \"%s\": %m", path)));
	rd = mx_reader_open_fd(fd, &err);	/* closes fd on failure */
	if (rd == NULL)
		mirai_report_error(path, &err);
	return rd;
}

/* NOTICE with the frames that were not IP, if any. */
static void
report_skipped(read_state *st)
{
	StringInfoData buf;
	uint64		total = 0;
	int			r;

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
		if (s == MX_END)
		{
			if (mx_reader_truncated(st->rd))
				ereport(WARNING,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("capture file \"%s\" ends inside its last record", st->path),
						 errdetail("%s At byte offset %llu. The packets before it are kept.",
								   err.message, (unsigned long long) err.offset)));
			return false;
		}
		if (s != MX_OK)
			mirai_report_error(st->path, &err);
		st->packetno = rec.packetno;
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

				if (strcmp(mode, "error") != 0)
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

				st->filter = mx_filter_new(expr, &err);
				if (st->filter == NULL)
					mirai_report_error(st->path, &err);
			}
			st->rd = open_capture(st->path);
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
