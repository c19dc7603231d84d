/*-------------------------------------------------------------------------
 *
 * mirai_load.c
 *	  Bulk loader: capture files on a client, decoded here with the shared
 *	  decoder, streamed into a table's packet column with
 *	  COPY ... FROM STDIN (FORMAT binary).
 *
 *		mirai_load -h db -d honeypot -t capture /spool/h00.pcapng.gz ...
 *		tcpdump -i eth0 -w - tcp | mirai_load -d honeypot -t capture -
 *
 * The server does no decoding: each row of the COPY stream is the packet
 * type's binary form (mx_packet_pack), which packet_recv validates.
 *
 * Invariants and policy:
 *	- One file, one transaction: BEGIN, COPY, one ledger row, COMMIT.  An
 *	  error, a crash or kill -9 leaves nothing of the file (the server
 *	  rolls back when the connection drops).  With --commit-every or
 *	  --follow, one batch, one transaction: the batches committed stay.
 *	- A regular file that extends the content of a load cut short (a row
 *	  of a trusted role with the same options: truncated, a batch, or of
 *	  the same name) is loaded after that load's records (resumed); the
 *	  records before are read past, never decoded twice into the table.
 *	- The ledger (@extschema@.mirai_load_ledger) names each file by the
 *	  SHA-256 of its bytes as read (before gunzip).  A file counts as
 *	  loaded only for a row of the same table and content, with the same
 *	  options (those that decide the rows: the column, --filter,
 *	  --mirai-only, --scanner, and --on-error=skip when it skipped damage),
 *	  written by
 *	  a role the loading role trusts: itself or the table's owner.  Rows of
 *	  other roles neither skip nor block a load.  A regular file whose size
 *	  the ledger has for the table is hashed before loading, so a file
 *	  already loaded is skipped without sending anything; the check holds
 *	  an advisory lock keyed on (table, hash) until COMMIT, so that a second
 *	  loader of the same content waits and then decides.  A pipe (stdin, a
 *	  fifo) is hashed as it streams and checked just before COMMIT (rolled
 *	  back when already loaded).  A partial unique index on (table, hash,
 *	  role, options) backs both.  --force loads again and records a row
 *	  marked forced.
 *	- A regular file that changes while it is loaded (size, mtime, or more
 *	  bytes than were hashed) is rolled back as an error.
 *	- --on-error=skip reads with the decoder's salvage mode, the rules and
 *	  words of pcap_read(..., on_error => 'skip'): damaged regions and
 *	  malformed packets are skipped, warned about and counted in the
 *	  ledger; the hash still covers every byte of the file (what the
 *	  reader gave up on is read through the hash after it).
 *	- Nothing the user types is spliced into SQL: the table is resolved by
 *	  the server (to_regclass, SQL quoting rules), the column by
 *	  parse_ident, and every identifier in the COPY command is quoted with
 *	  PQescapeIdentifier; values go as parameters.
 *	- The session keeps the role's search_path: the table name is resolved
 *	  with it, and the COPY runs the table's defaults and triggers as an
 *	  INSERT by that role would.  mirai_load's own queries (catalog and
 *	  ledger) depend on no search_path, so that objects another role may
 *	  create in a schema of that path (public) never run in them: every
 *	  operator is written OPERATOR(pg_catalog.=) and every function, type
 *	  and table is schema-qualified (CVE-2018-1058; vacuumdb's
 *	  appendQualifiedRelation resolves a user's table name the same way).
 *	- It connects as psql does: -h -p -U, then -d (a conninfo string or URI
 *	  in -d wins), PG* variables and ~/.pgpass through libpq; a password is
 *	  asked for on /dev/tty only (standard input may be the capture), and
 *	  the workers use the one typed.  A password in -d is overwritten in
 *	  argv as soon as the options are parsed (libpq gets a copy), so that
 *	  ps and /proc/PID/cmdline of mirai_load and of its forked workers do
 *	  not show it.
 *	- A file skipped as already loaded says which load the ledger has and
 *	  how to load it again, and warns when the table has no row at all.
 *	- SIGINT or SIGTERM ends the process in the handler: the connection
 *	  closes, so the server rolls the file's transaction back; the message
 *	  names that file.  COMMIT runs with both signals blocked.
 *	- No allocation per packet: rows are packed straight into 64 kB COPY
 *	  chunks that are sent with one PQputCopyData each.
 *	- Two threads per file: a decoding thread reads, hashes, gunzips and
 *	  decodes the file into a ring of chunks; the worker's thread sends
 *	  them (and alone uses libpq).  The decoding thread never talks to the
 *	  server; it stops when the sender says the COPY failed.
 *	- -j N forks N workers, each with its own connection, taking files
 *	  from the list in order through a counter in shared memory.
 *
 * Exit status: 0 every file loaded or already loaded; 1 some file failed;
 * 2 usage error (nothing loaded); 3 connection failed or was lost; 130 and
 * 143 interrupted by SIGINT and SIGTERM (the file in progress rolled back).
 *
 * The parts, one concern each, are listed in load.h; this file is main().
 *
 * src/bin/mirai_load.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* Parse, connect, resolve the table, load (here or in N workers), sum up. */
int
main(int argc, char **argv)
{
	options		opt;
	target		tg;
	shared	   *sh;
	PGconn	   *conn = NULL;
	mx_filter  *filter = NULL;
	mx_error	err;
	int			status = 0;
	int			worker_signal = 0;
	worker		w;

	parse_options(argc, argv, &opt);
	memset(&tg, 0, sizeof(tg));
	catch_interrupts();

	if (opt.filter)
	{
		filter = mx_filter_new(opt.filter, &err);
		if (filter == NULL)
			usage_error("%s", err.message);
	}
	tg.filter_text = filter_text(&opt);

	if (!opt.dry_run)
	{
		conn = connect_db(&opt, &opt.password);
		if (conn == NULL)
			return EXIT_CONNECT;
		resolve_target(conn, &opt, &tg);
	}

	sh = mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
	{
		emit("%s: error: could not map shared memory: %s\n", PROGNAME, strerror(errno));
		return EXIT_FAILED;
	}
	memset(sh, 0, sizeof(shared));
	sig_shared = sh;
	progress_init(&opt);

	memset(&w, 0, sizeof(w));
	w.opt = &opt;
	w.tg = &tg;
	w.sh = sh;
	w.filter = filter;
	if (opt.jobs == 1 || opt.nfiles == 1)
	{
		prog.jobs = 1;
		w.conn = conn;
		w.draw = true;
		status = run_worker(&w);
	}
	else
	{
		PQfinish(conn);			/* each worker connects on its own */
		status = run_jobs(&w, opt.jobs < opt.nfiles ? opt.jobs : opt.nfiles,
						  &worker_signal);
	}
	progress_clear();
	if (sig_caught)
	{
		/* the workers have said which files they rolled back */
		if (sh->interrupted_files == 0)
			emit("%s: interrupted\n", PROGNAME);
		return 128 + sig_caught;
	}
	if (sh->skip_notes_left_out > 0)
		emit("%s: %d more file%s skipped as already loaded (-v lists each)\n", PROGNAME,
			 sh->skip_notes_left_out, sh->skip_notes_left_out == 1 ? " was" : "s were");
	if (status == 0 && sh->tot.files_failed > 0)
		status = EXIT_FAILED;
	if (!opt.quiet)
		print_summary(&opt, sh, now_ns() - prog.start_ns);
	mx_filter_free(filter);
	if (worker_signal)
		return 128 + worker_signal;
	return status;
}
