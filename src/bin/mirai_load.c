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
 *	  rolls back when the connection drops).
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
 * src/bin/mirai_load.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "mx_decode.h"
#include "mx_scanner.h"

#define PROGNAME		"mirai_load"

#define EXIT_FAILED		1
#define EXIT_USAGE		2
#define EXIT_CONNECT	3

#define MAX_JOBS		64
#define HASH_LEN		32
#define COPY_CHUNK		(64 * 1024)	/* bytes of rows per PQputCopyData:
										 * ~1,400 rows; larger measured no faster */
#define ROW_MAX			(6 + MX_PACKED_MAX) /* int16 count, int32 len, value */
#define READ_CHUNK		(1024 * 1024)	/* pre-hash read size */
#define NSLOTS			16		/* COPY chunks between the two threads */
#define PROGRESS_NS		INT64_C(250000000)
#define MAX_DAMAGE_WARNINGS 10	/* per file and kind, as pcap_read */
#define MAX_SKIP_NOTES	10		/* "skipped" lines per run, without -v */
#define EMPTY_CHECK_MS	"1000"	/* statement_timeout of the emptiness check */

/* -w, -W or neither: when to ask for a password */
typedef enum prompt_mode
{
	PROMPT_IF_NEEDED,			/* when the server asks for one (default) */
	PROMPT_NEVER,				/* -w */
	PROMPT_ALWAYS				/* -W: before connecting */
} prompt_mode;

/* What the command line asked for. */
typedef struct options
{
	const char *conninfo;		/* -d: a name, conninfo string or URI */
	const char *host;
	const char *port;
	const char *username;
	char	   *password;		/* typed at the prompt, for every worker */
	prompt_mode prompt;
	const char *table;
	const char *column;
	const char *filter;
	const char *on_error;
	bool		mirai_only;
	uint32_t	scanners;		/* --scanner: a mask of the catalogue, or 0 */
	bool		force;
	bool		quiet;
	bool		verbose;
	bool		stop_on_error;
	bool		dry_run;
	bool		salvage;		/* --on-error=skip */
	int			jobs;
	char	  **files;
	int			nfiles;
} options;

/* The table, resolved once, and the SQL built for it. */
typedef struct target
{
	char	   *display;		/* schema.table as the server prints it */
	char	   *column;			/* the packet column's name */
	char		oid[16];		/* the table's OID, as a parameter */
	uint32_t	oidnum;
	char	   *copy_sql;
	char	   *lookup_sql;
	char	   *size_sql;
	char	   *record_sql;
	char	   *filter_text;	/* for the ledger: the options as given */
	char	   *options;		/* for the ledger: what decides the rows */
	char	   *options_skip;	/* the same, after --on-error=skip skipped
								 * damage */
	char	   *ledger;			/* the ledger's name, as the server prints it */
	char	   *exists_sql;		/* does the table have a row? */
	bool		can_check_empty;	/* ... and may the role tell, exactly */
} target;

/* Counts for the whole run, summed by every worker. */
typedef struct totals
{
	uint64_t	files_loaded;
	uint64_t	files_skipped;
	uint64_t	files_failed;
	uint64_t	packets;
	uint64_t	filtered;
	uint64_t	not_ip[MX_SKIP_NREASONS];
	uint64_t	bytes;			/* input bytes of finished files */
	uint64_t	files_damaged;	/* loaded files with damage skipped */
	uint64_t	damaged;		/* damaged regions skipped */
	uint64_t	damaged_bytes;
	uint64_t	malformed;		/* malformed packets skipped */
} totals;

/* The file a worker is on, for the progress line. */
typedef struct slot
{
	volatile uint64_t bytes;
	volatile uint64_t packets;
} slot;

/* Shared between the parent and the workers (an anonymous shared map). */
typedef struct shared
{
	volatile int next;			/* next index in the file list */
	volatile int stop;			/* --stop-on-error tripped, or connection lost */
	volatile int attempted;		/* files taken from the list */
	totals		tot;
	slot		slots[MAX_JOBS];
	volatile int skip_notes;	/* "skipped ... already loaded" lines printed */
	volatile int skip_notes_left_out;	/* and those left out (the cap) */
	volatile int skip_hinted;	/* the hint after the first such line */
	volatile int empty_hinted;	/* ... after the first "table is empty" */
	volatile int interrupted_files; /* files rolled back on a signal */
	volatile int gzip_hinted;	/* -v: how a gzip file is known, said once */
	volatile int pipe_hinted;	/* ... and a pipe */
} shared;

/* The result of one file. */
typedef enum result
{
	R_LOADED,
	R_SKIPPED,
	R_FAILED,
	R_CONNECTION				/* the connection is gone: stop this worker */
} result;

/* One file being loaded. */
typedef struct file_load
{
	const char *path;			/* as given; "-" for stdin */
	char	   *ledger_name;	/* what the ledger records */
	int			fd;
	bool		regular;		/* a regular file (its size is known) */
	bool		prehashed;		/* hashed before loading */
	struct stat st;
	uint8_t		hash[HASH_LEN];
	EVP_MD_CTX *md;				/* streaming hash (pipes), else NULL */
	uint64_t	size;			/* bytes hashed */
	uint64_t	in_bytes;		/* bytes the reader read */
	uint64_t	packets;
	uint64_t	filtered;
	uint64_t	not_ip[MX_SKIP_NREASONS];
	bool		truncated;
	uint64_t	damaged;		/* --on-error=skip: damaged regions skipped */
	uint64_t	damaged_bytes;
	uint64_t	malformed;		/* the ledger's column: 0, since malformed
								 * packets are skipped in either mode and
								 * counted with the frames that are not IP */
} file_load;

/*
 * A worker: one connection, and two threads while a file streams.  The
 * decoding thread reads, hashes, gunzips and decodes the file and packs
 * rows into COPY chunks (slots); the worker's own thread sends them.  The
 * slots form a ring: the decoder fills slot (qhead + qcount) % NSLOTS,
 * the sender sends slot qhead; the mutex guards qhead, qcount and the
 * flags.
 */
typedef struct worker
{
	int			id;
	const options *opt;
	const target *tg;
	shared	   *sh;
	PGconn	   *conn;
	mx_filter  *filter;
	uint8_t    *buf;			/* COPY rows being packed: a slot */
	size_t		len;
	uint8_t    *slots[NSLOTS];
	size_t		slot_len[NSLOTS];
	bool		threaded;		/* a decoding thread feeds the sender */
	pthread_mutex_t mu;
	pthread_cond_t filled;		/* a slot was queued, or decoding ended */
	pthread_cond_t freed;		/* a slot was sent, or sending stopped */
	int			qhead;
	int			qcount;
	bool		decoded;		/* the decoding thread is done: ce is set */
	bool		stopped;		/* the sender stopped: the COPY failed */
	int			ce;				/* the decoding thread's copy_end */
	file_load  *f;				/* for the decoding thread */
	mx_stream  *stream;
	uint8_t    *readbuf;		/* pre-hash reads */
	EVP_MD_CTX *md;
	char		host[256];
	bool		draw;			/* this process draws the progress line */
} worker;

/* Progress line state (drawn by the process that owns the terminal). */
typedef struct progress
{
	bool		on;
	bool		shown;
	int64_t		start_ns;
	int64_t		last_ns;
	uint64_t	total_bytes;	/* of the regular files */
	bool		sizes_known;	/* every input is a regular file */
	int			nfiles;
	int			jobs;
} progress;

static progress prog;

/* ----------------------------------------------------------------------
 * Messages
 * ----------------------------------------------------------------------
 */

/* Monotonic clock in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

/*
 * Write one message to stderr in a single write(2), so that messages of
 * parallel workers do not interleave; clears the progress line first.
 */
static void
emit(const char *fmt,...)
{
	char		buf[4096];
	int			n = 0;
	va_list		ap;

	if (prog.on)
		n = snprintf(buf, sizeof(buf), "\r\033[K");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int) sizeof(buf))
		n = sizeof(buf) - 1;
	if (write(STDERR_FILENO, buf, n) < 0)
	{
		/* nowhere left to report it */
	}
	prog.shown = false;
}

/*
 * A usage error: the message, a hint (by default, where the help is), exit 2.
 */
static void
usage_errorv(const char *hint, const char *fmt, va_list ap)
{
	char		buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (hint)
		emit("%s: error: %s\nHINT:  %s\n", PROGNAME, buf, hint);
	else
		emit("%s: error: %s\nHINT:  Try \"%s --help\" for more information.\n",
			 PROGNAME, buf, PROGNAME);
	exit(EXIT_USAGE);
}

static void
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	usage_errorv(NULL, fmt, ap);
	va_end(ap);
}

static void
usage_error_hint(const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	usage_errorv(hint, fmt, ap);
	va_end(ap);
}

/* A decoder error, in the stream's words: pcap_read's in SQL. */
static void
report_decode_error(const char *path, const mx_error *err)
{
	mx_message	m;

	mx_error_text(path, err, &m);
	emit("%s: error: %s\n%s%s%s", PROGNAME, m.text, m.detail[0] ? "DETAIL:  " : "",
		 m.detail, m.detail[0] ? "\n" : "");
}

/* The server's error, with its detail and hint, after the file's name. */
static void
report_server_error(const char *path, PGconn *conn, PGresult *res)
{
	const char *msg;
	const char *detail = NULL;
	const char *hint = NULL;
	char		buf[2048];
	size_t		n;

	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
	{
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	}
	else
		msg = PQerrorMessage(conn);
	snprintf(buf, sizeof(buf), "%s", msg);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	emit("%s: error: \"%s\": server: %s\n%s%s%s%s%s%s", PROGNAME, path, buf,
		 detail ? "DETAIL:  " : "", detail ? detail : "", detail ? "\n" : "",
		 hint ? "HINT:  " : "", hint ? hint : "", hint ? "\n" : "");
}

/* ----------------------------------------------------------------------
 * Progress line and summary
 * ----------------------------------------------------------------------
 */

/* "1.23 M" style counts. */
static void
human(char *out, size_t size, double v)
{
	if (v >= 1e9)
		snprintf(out, size, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, size, "%.2f M", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, size, "%.1f k", v / 1e3);
	else
		snprintf(out, size, "%.0f", v);
}

/* Draw the progress line from the shared counts, at most 4 times a second. */
static void
progress_draw(shared *sh, bool force)
{
	int64_t		t = now_ns();
	uint64_t	bytes = sh->tot.bytes;
	uint64_t	packets = sh->tot.packets;
	uint64_t	done;
	double		secs,
				rate;
	char		pk[32],
				eta[32] = "";
	char		line[160];
	int			i,
				n;

	if (!prog.on || (!force && t - prog.last_ns < PROGRESS_NS))
		return;
	prog.last_ns = t;
	for (i = 0; i < prog.jobs; i++)
	{
		bytes += sh->slots[i].bytes;
		packets += sh->slots[i].packets;
	}
	done = sh->tot.files_loaded + sh->tot.files_skipped + sh->tot.files_failed;
	secs = (t - prog.start_ns) / 1e9;
	rate = secs > 0 ? bytes / secs : 0;
	human(pk, sizeof(pk), (double) packets);
	if (prog.sizes_known && rate > 0 && bytes <= prog.total_bytes)
	{
		long		left = (long) ((prog.total_bytes - bytes) / rate + 0.5);

		snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", left / 60, left % 60);
	}
	n = snprintf(line, sizeof(line), "\r\033[K%s: files %llu/%d, %s packets, %.1f MB/s%s",
				 PROGNAME, (unsigned long long) done, prog.nfiles, pk,
				 rate / 1e6, eta);
	if (write(STDERR_FILENO, line, n) < 0)
	{
		/* a progress line is not worth an error */
	}
	prog.shown = true;
}

/* Clear the progress line before the summary. */
static void
progress_clear(void)
{
	if (prog.on && prog.shown && write(STDERR_FILENO, "\r\033[K", 4) < 0)
	{
		/* nothing to do */
	}
	prog.shown = false;
}

/* The one-line summary on stdout. */
static void
print_summary(const options *opt, shared *sh, int64_t elapsed_ns)
{
	const totals *t = &sh->tot;
	double		secs = elapsed_ns / 1e9;
	char		rate[32];
	char		left_text[48] = "";
	char		reasons[512] = "";
	char		damage[160] = "";
	size_t		n = 0;
	int			r;
	int			left = opt->nfiles - (int) (t->files_loaded + t->files_skipped + t->files_failed);

	human(rate, sizeof(rate), secs > 0 ? t->packets / secs : 0);
	if (left > 0)
		snprintf(left_text, sizeof(left_text), ", %d not attempted", left);
	if (t->filtered)
		n += snprintf(reasons + n, sizeof(reasons) - n, "%s%llu filtered",
					  n ? ", " : "", (unsigned long long) t->filtered);
	for (r = 1; r < MX_SKIP_NREASONS && n < sizeof(reasons); r++)
		if (t->not_ip[r])
			n += snprintf(reasons + n, sizeof(reasons) - n, "%s%llu %s",
						  n ? ", " : "", (unsigned long long) t->not_ip[r],
						  mx_skip_reason_name(r));
	if (t->files_damaged)
		snprintf(damage, sizeof(damage),
				 "; damaged: %llu file%s, %llu regions (%llu bytes) and %llu malformed packets skipped",
				 (unsigned long long) t->files_damaged, t->files_damaged == 1 ? "" : "s",
				 (unsigned long long) t->damaged, (unsigned long long) t->damaged_bytes,
				 (unsigned long long) t->malformed);
	printf("%s: %d file%s: %llu loaded, %llu already loaded, %llu failed%s; "
		   "%llu packets %s in %.2f s (%s packets/s, %.1f MB/s)%s%s%s\n",
		   PROGNAME, opt->nfiles, opt->nfiles == 1 ? "" : "s",
		   (unsigned long long) t->files_loaded,
		   (unsigned long long) t->files_skipped,
		   (unsigned long long) t->files_failed, left_text,
		   (unsigned long long) t->packets,
		   opt->dry_run ? "decoded (dry run)" : "loaded",
		   secs, rate, secs > 0 ? t->bytes / secs / 1e6 : 0.0,
		   n ? "; not loaded: " : "", reasons, damage);
	fflush(stdout);
}

/* ----------------------------------------------------------------------
 * Interruption: SIGINT and SIGTERM
 *
 * A loader interrupted in a file's transaction ends at once, in the signal
 * handler: it says which file was rolled back and exits with 128 + the
 * signal (130, 143).  Closing the connection is the rollback: the server
 * aborts a transaction whose client is gone, so nothing of the file stays.
 * Neither thread has to be reached (the decoding thread may be blocked on a
 * pipe that never delivers).  The handler only reads the state below,
 * writes, and calls _exit; COMMIT runs with the signals blocked, so that a
 * file reported as rolled back never committed.  With -j, the parent
 * forwards the signal to its workers, waits for them and exits the same
 * way; each worker reports its own file.
 * ----------------------------------------------------------------------
 */

static volatile sig_atomic_t sig_caught;	/* the signal, once caught */
static volatile sig_atomic_t sig_parent;	/* forward to the workers */
static volatile sig_atomic_t sig_worker;	/* a -j worker */
static pid_t sig_pids[MAX_JOBS];	/* the workers, for the parent */
static volatile sig_atomic_t sig_npids;
static const char *volatile sig_file;	/* the file being loaded */
static volatile sig_atomic_t sig_in_txn;	/* ... in its open transaction */
static shared *volatile sig_shared;
static volatile sig_atomic_t sig_tty = -1;	/* a password prompt's terminal */
static struct termios sig_tty_mode;	/* ... and its mode to restore */

/* Append s to buf, of the given size, at *n; async-signal-safe. */
static void
sig_append(char *buf, size_t size, size_t *n, const char *s)
{
	size_t		len = strlen(s);

	if (len > size - 1 - *n)
		len = size - 1 - *n;
	memcpy(buf + *n, s, len);
	*n += len;
}

/* The handler of SIGINT and SIGTERM. */
static void
on_interrupt(int sig)
{
	int			save_errno = errno;
	char		buf[PATH_MAX + 256];
	size_t		n = 0;
	int			i;

	if (sig_tty >= 0)
	{
		/* the password prompt had turned echo off */
		tcsetattr(sig_tty, TCSANOW, &sig_tty_mode);
		if (write(sig_tty, "\n", 1) < 0)
		{
			/* nothing to do */
		}
		sig_tty = -1;
	}
	if (sig_caught)
	{
		errno = save_errno;
		return;
	}
	sig_caught = sig;
	if (sig_parent)
	{
		/* main() waits for the workers, then exits */
		for (i = 0; i < sig_npids; i++)
			kill(sig_pids[i], sig);
		errno = save_errno;
		return;
	}
	if (prog.on)
		sig_append(buf, sizeof(buf), &n, "\r\033[K");
	if (sig_in_txn && sig_file)
	{
		sig_append(buf, sizeof(buf), &n, PROGNAME ": interrupted, rolled back \"");
		sig_append(buf, sizeof(buf), &n, sig_file);
		sig_append(buf, sizeof(buf), &n, "\": none of its packets were loaded\n");
		if (sig_shared)
			__sync_fetch_and_add(&sig_shared->interrupted_files, 1);
	}
	else if (!sig_worker)
		sig_append(buf, sizeof(buf), &n, PROGNAME ": interrupted\n");
	if (n > 0 && write(STDERR_FILENO, buf, n) < 0)
	{
		/* nowhere left to report it */
	}
	_exit(128 + sig);
}

/*
 * Catch SIGINT and SIGTERM, unless they were ignored when mirai_load started
 * (a background job of a shell without job control keeps ignoring SIGINT).
 */
static void
catch_interrupts(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct sigaction sa,
				old;
	int			i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 2; i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (i = 0; i < 2; i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* Block (or unblock) SIGINT and SIGTERM in the calling thread. */
static void
block_interrupts(bool block)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* ----------------------------------------------------------------------
 * Connection and target
 * ----------------------------------------------------------------------
 */

/* The effective connection options, without the password. */
static void
describe_conninfo(PGconn *conn, char *out, size_t size)
{
	PQconninfoOption *opts = conn ? PQconninfo(conn) : NULL;
	PQconninfoOption *o;
	size_t		n = 0;

	out[0] = '\0';
	if (opts == NULL)
		return;
	for (o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") != 0 && strcmp(o->keyword, "hostaddr") != 0 &&
			strcmp(o->keyword, "port") != 0 && strcmp(o->keyword, "dbname") != 0 &&
			strcmp(o->keyword, "user") != 0 && strcmp(o->keyword, "sslmode") != 0)
			continue;
		n += snprintf(out + n, size > n ? size - n : 0, "%s%s=%s", n ? " " : "",
					  o->keyword, o->val);
	}
	PQconninfoFree(opts);
}

/*
 * Ask for a password on the terminal, without echo, as psql does; but only
 * on /dev/tty, never on standard input, which may be the capture ("-").
 * Returns a malloc'd string, or NULL when there is no terminal.
 */
static char *
read_password(const char *prompt)
{
	char		buf[1024];
	size_t		n = 0;
	int			fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios mode,
				noecho;
	bool		restore = false;
	char	   *password;

	if (fd < 0)
		return NULL;
	if (tcgetattr(fd, &mode) == 0)
	{
		noecho = mode;
		noecho.c_lflag &= ~ECHO;
		sig_tty_mode = mode;
		sig_tty = fd;
		restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
	{
		/* the answer is read all the same */
	}
	for (;;)
	{
		char		c;
		ssize_t		r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n < sizeof(buf) - 1)
			buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &mode);
	sig_tty = -1;
	if (write(fd, "\n", 1) < 0)
	{
		/* only the terminal's cursor is wrong */
	}
	close(fd);
	password = strdup(buf);
	memset(buf, 0, sizeof(buf));
	if (password == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	return password;
}

/* Is there a terminal to ask for a password on? */
static bool
have_tty(void)
{
	int			fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Connect as psql does: -h, -p, -U, then -d (a name, or a conninfo string or
 * URI whose settings win over those), PG* environment variables and
 * ~/.pgpass through libpq.  With typed (the parent), a password is asked for
 * on the terminal with -W, or when the server wants one that libpq does not
 * have (unless -w), and kept in *typed; the workers of -j pass NULL and use
 * opt->password, the one typed.  NULL with a message on failure.
 */
static PGconn *
connect_db(const options *opt, char **typed)
{
	const char *keys[7];
	const char *vals[7];
	PGconn	   *conn;
	char		desc[512];
	char		msg[1024];
	const char *hint = NULL;
	size_t		n;

	if (typed && opt->prompt == PROMPT_ALWAYS && *typed == NULL)
	{
		*typed = read_password("Password: ");
		if (*typed == NULL)
		{
			emit("%s: error: could not connect to the database: cannot ask for the password: no terminal\n"
				 "HINT:  Without a terminal, give the password in ~/.pgpass or PGPASSWORD, and leave out -W.\n",
				 PROGNAME);
			return NULL;
		}
	}
	for (;;)
	{
		keys[0] = "host";
		vals[0] = opt->host;
		keys[1] = "port";
		vals[1] = opt->port;
		keys[2] = "user";
		vals[2] = opt->username;
		keys[3] = "password";
		vals[3] = typed ? *typed : opt->password;
		keys[4] = "dbname";
		vals[4] = opt->conninfo;
		keys[5] = "fallback_application_name";
		vals[5] = PROGNAME;
		keys[6] = NULL;
		vals[6] = NULL;
		conn = PQconnectdbParams(keys, vals, 1);
		if (conn && PQstatus(conn) == CONNECTION_OK)
			return conn;
		if (conn == NULL || !PQconnectionNeedsPassword(conn) || vals[3] != NULL)
			break;
		/* the server wants a password that libpq did not have */
		if (opt->prompt == PROMPT_NEVER)
			hint = "-w (--no-password) was given: give the password in ~/.pgpass or PGPASSWORD.";
		else if (typed == NULL)
			hint = "Give the password in ~/.pgpass or PGPASSWORD.";
		else if (!have_tty())
			hint = "There is no terminal to ask for it on: give the password in ~/.pgpass or PGPASSWORD.";
		else
		{
			char		prompt[128];
			const char *user = PQuser(conn);

			if (user && user[0])
				snprintf(prompt, sizeof(prompt), "Password for user %s: ", user);
			else
				snprintf(prompt, sizeof(prompt), "Password: ");
			PQfinish(conn);
			*typed = read_password(prompt);
			if (*typed == NULL)
				*typed = strdup("");
			continue;
		}
		break;
	}
	describe_conninfo(conn, desc, sizeof(desc));
	snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	emit("%s: error: could not connect to the database: %s\nDETAIL:  Connection: %s\n%s%s%s",
		 PROGNAME, msg, desc[0] ? desc : "(defaults)",
		 hint ? "HINT:  " : "", hint ? hint : "", hint ? "\n" : "");
	PQfinish(conn);
	return NULL;
}

/* Run a query with text parameters; returns the result (caller clears). */
static PGresult *
query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

/* Quote an identifier with the server's rules; exits on failure. */
static char *
quote_ident(PGconn *conn, const char *name)
{
	char	   *q = PQescapeIdentifier(conn, name, strlen(name));
	char	   *r;

	if (q == NULL)
	{
		emit("%s: error: %s", PROGNAME, PQerrorMessage(conn));
		exit(EXIT_USAGE);
	}
	r = strdup(q);
	PQfreemem(q);
	return r;
}

/* malloc'd printf. */
static char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = malloc(n + 1);
	if (s == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	va_start(ap, fmt);
	vsnprintf(s, n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Fail the run before loading anything: table, column or extension. */
static void
target_error(PGresult *res, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit("%s: error: %s\n", PROGNAME, buf);
	PQclear(res);
	exit(EXIT_USAGE);
}

/*
 * Resolve the table and its packet column with the server, check the
 * extension and the privilege, and build the SQL every file uses.
 */
static void
resolve_target(PGconn *conn, const options *opt, target *tg)
{
	PGresult   *res;
	const char *p[3];
	char	   *schema,
			   *qschema,
			   *qtable,
			   *qcol;
	char		typoid[16];
	int			i,
				row = -1;

	/* the extension: its schema and the packet type */
	res = PQexec(conn,
				 "SELECT n.nspname, t.oid, e.extversion, "
				 "  EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
				 "    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
				 "    WHERE c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace "
				 "      AND c.relname OPERATOR(pg_catalog.=) 'mirai_load_ledger' "
				 "      AND a.attname OPERATOR(pg_catalog.=) 'options' AND NOT a.attisdropped), "
				 "  pg_catalog.quote_ident(n.nspname) "
				 "FROM pg_catalog.pg_extension e "
				 "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
				 "JOIN pg_catalog.pg_type t ON t.typnamespace OPERATOR(pg_catalog.=) e.extnamespace "
				 "  AND t.typname OPERATOR(pg_catalog.=) 'packet' "
				 "WHERE e.extname OPERATOR(pg_catalog.=) 'mirai_ext'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "could not look up the extension: %s", PQerrorMessage(conn));
	if (PQntuples(res) != 1)
		target_error(res, "extension \"mirai_ext\" is not installed in database \"%s\"\n"
					 "HINT:  Run CREATE EXTENSION mirai_ext; in that database first.",
					 PQdb(conn));
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		target_error(res, "extension \"mirai_ext\" in database \"%s\" is version %s, older than this mirai_load\n"
					 "HINT:  Run ALTER EXTENSION mirai_ext UPDATE; in that database first.",
					 PQdb(conn), PQgetvalue(res, 0, 2));
	schema = strdup(PQgetvalue(res, 0, 0));
	tg->ledger = xasprintf("%s.mirai_load_ledger", PQgetvalue(res, 0, 4));
	snprintf(typoid, sizeof(typoid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	/* the table, named as in SQL: -t '"My.Table"' or -t 'public.capture' */
	p[0] = opt->table;
	res = query(conn,
				"SELECT c.oid, n.nspname, c.relname, c.relkind, "
				"  c.oid::pg_catalog.regclass::pg_catalog.text, "
				"  pg_catalog.has_table_privilege(c.oid, 'INSERT'), "
				"  c.relkind OPERATOR(pg_catalog.<>) 'f' "
				"    AND pg_catalog.has_table_privilege(c.oid, 'SELECT') "
				"    AND NOT pg_catalog.row_security_active(c.oid::pg_catalog.regclass) "
				"FROM pg_catalog.pg_class c "
				"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
				"WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)", 1, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "invalid table name \"%s\": %s", opt->table,
					 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	if (PQntuples(res) != 1)
	{
		bool		upper = false;

		for (i = 0; opt->table[i]; i++)
			if (opt->table[i] >= 'A' && opt->table[i] <= 'Z')
				upper = true;
		target_error(res, "table \"%s\" does not exist%s", opt->table,
					 upper && strchr(opt->table, '"') == NULL
					 ? "\nHINT:  Names are folded to lower case as in SQL; quote a name with capitals: -t '\"Name\"'."
					 : "");
	}
	if (strchr("rpf", PQgetvalue(res, 0, 3)[0]) == NULL)
		target_error(res, "\"%s\" is not a table", PQgetvalue(res, 0, 4));
	tg->oidnum = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(tg->oid, sizeof(tg->oid), "%s", PQgetvalue(res, 0, 0));
	tg->display = strdup(PQgetvalue(res, 0, 4));
	if (strcmp(PQgetvalue(res, 0, 5), "t") != 0 && !opt->dry_run)
		target_error(res, "permission denied: cannot insert into table %s", tg->display);
	qtable = xasprintf("%s.%s", quote_ident(conn, PQgetvalue(res, 0, 1)),
					   quote_ident(conn, PQgetvalue(res, 0, 2)));
	tg->can_check_empty = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	tg->exists_sql = xasprintf("SELECT EXISTS (SELECT FROM %s)", qtable);
	PQclear(res);

	/* its packet columns (or domains over packet) */
	p[0] = tg->oid;
	p[1] = typoid;
	p[2] = opt->column;
	res = query(conn,
				"SELECT a.attname, "
				"  $3::pg_catalog.text IS NOT NULL AND a.attname OPERATOR(pg_catalog.=) "
				"    (pg_catalog.parse_ident($3::pg_catalog.text))[1], "
				"  pg_catalog.quote_ident(a.attname) "
				"FROM pg_catalog.pg_attribute a "
				"JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
				"WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
				"  AND a.attnum OPERATOR(pg_catalog.>) 0 "
				"  AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) '' "
				"  AND (a.atttypid OPERATOR(pg_catalog.=) $2::pg_catalog.oid "
				"       OR (t.typtype OPERATOR(pg_catalog.=) 'd' "
				"           AND t.typbasetype OPERATOR(pg_catalog.=) $2::pg_catalog.oid)) "
				"ORDER BY a.attnum", 3, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "invalid column name \"%s\": %s", opt->column ? opt->column : "",
					 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	if (PQntuples(res) == 0)
		target_error(res, "table %s has no column of type packet\n"
					 "HINT:  mirai_load loads into a column of type %s.packet, e.g. CREATE TABLE capture (p %s.packet).",
					 tg->display, schema, schema);
	if (opt->column)
	{
		for (i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
				row = i;
		if (row < 0)
			target_error(res, "table %s has no column \"%s\" of type packet", tg->display,
						 opt->column);
	}
	else if (PQntuples(res) > 1)
	{
		char		names[512] = "";
		size_t		n = 0;

		for (i = 0; i < PQntuples(res) && n < sizeof(names); i++)
			n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
						  PQgetvalue(res, i, 0));
		target_error(res, "table %s has several columns of type packet (%s)\n"
					 "HINT:  Choose one with --column.", tg->display, names);
	}
	else
		row = 0;
	tg->column = strdup(PQgetvalue(res, row, 0));

	/*
	 * The options that decide which rows a file gives, as the ledger
	 * records them: the column as quote_ident spells it, the filter options
	 * as given, and --on-error=skip only when it skipped damage (otherwise
	 * the rows are those of a strict load).
	 */
	tg->options = xasprintf("--column=%s%s%s", PQgetvalue(res, row, 2),
							tg->filter_text ? " " : "",
							tg->filter_text ? tg->filter_text : "");
	tg->options_skip = xasprintf("%s --on-error=skip", tg->options);
	PQclear(res);

	qschema = quote_ident(conn, schema);
	qcol = quote_ident(conn, tg->column);
	tg->copy_sql = xasprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", qtable, qcol);

	/*
	 * The ledger's rows for the content (those row-level security lets the
	 * role see), the one that makes the file count as loaded first: by a
	 * trusted role (itself or the table's owner) with the same options.
	 */
	tg->lookup_sql = xasprintf(
							   "SELECT file_name, loaded_at, packets, loaded_by, options, owner, "
							   "  trusted, same, CURRENT_USER "
							   "FROM (SELECT l.file_name, l.loaded_at, l.packets, l.loaded_by, "
							   "    l.options, o.owner, "
							   "    l.loaded_by OPERATOR(pg_catalog.=) CURRENT_USER "
							   "      OR l.loaded_by OPERATOR(pg_catalog.=) o.owner AS trusted, "
							   "    l.options OPERATOR(pg_catalog.=) $3::pg_catalog.text "
							   "      OR l.options OPERATOR(pg_catalog.=) $4::pg_catalog.text AS same "
							   "  FROM %s.mirai_load_ledger l, "
							   "    (SELECT pg_catalog.pg_get_userbyid(c.relowner) AS owner "
							   "     FROM pg_catalog.pg_class c "
							   "     WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid) o "
							   "  WHERE l.table_name OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass "
							   "    AND l.content_hash OPERATOR(pg_catalog.=) $2::pg_catalog.bytea) s "
							   "ORDER BY (trusted AND same) DESC, trusted DESC, loaded_at LIMIT 1", qschema);
	tg->size_sql = xasprintf(
							 "SELECT 1 FROM %s.mirai_load_ledger "
							 "WHERE table_name OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass "
							 "  AND file_size OPERATOR(pg_catalog.=) $2::pg_catalog.int8 LIMIT 1", qschema);
	tg->record_sql = xasprintf(
							   "INSERT INTO %s.mirai_load_ledger (table_name, file_name, client_host, "
							   "  file_size, content_hash, packets, filtered, not_ip, truncated, "
							   "  damaged_regions, damaged_bytes, malformed, filter, forced, options) "
							   "VALUES ($1::pg_catalog.oid::pg_catalog.regclass, $2, $3, $4, "
							   "  $5::pg_catalog.bytea, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
							   "ON CONFLICT (table_name, content_hash, loaded_by, options) WHERE NOT forced "
							   "DO NOTHING",
							   qschema);
	free(schema);
}

/* ----------------------------------------------------------------------
 * Loading one file
 * ----------------------------------------------------------------------
 */

/* The reader's tap: count, and hash when the file is a pipe. */
static void
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

/*
 * Read what the reader left of the input through the tap, so that the hash
 * covers the whole file: salvage mode gives up at damage inside gzip data
 * (deflate cannot resume), before the end of the input.
 */
static bool
drain_input(worker *w, file_load *f)
{
	ssize_t		r;

	for (;;)
	{
		r = read(f->fd, w->readbuf, READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			emit("%s: error: could not read capture file \"%s\": %s\n", PROGNAME,
				 f->path, strerror(errno));
			return false;
		}
		if (r == 0)
			return true;
		tap(f, w->readbuf, (size_t) r);
	}
}

/* Hash a regular file from its current offset to its end, then rewind. */
static bool
prehash(worker *w, file_load *f)
{
	off_t		start = lseek(f->fd, 0, SEEK_CUR);
	ssize_t		r;
	unsigned int hl;

	if (start < 0)
		start = 0;
	EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
	f->size = 0;
	for (;;)
	{
		r = read(f->fd, w->readbuf, READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			emit("%s: error: could not read capture file \"%s\": %s\n", PROGNAME,
				 f->path, strerror(errno));
			return false;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(w->md, w->readbuf, r);
		f->size += r;
	}
	EVP_DigestFinal_ex(w->md, f->hash, &hl);
	if (lseek(f->fd, start, SEEK_SET) < 0)
	{
		emit("%s: error: could not rewind \"%s\": %s\n", PROGNAME, f->path, strerror(errno));
		return false;
	}
	return true;
}

/* Hash as "\x..." for a bytea parameter. */
static void
hash_hex(const uint8_t *h, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	out[0] = '\\';
	out[1] = 'x';
	for (i = 0; i < HASH_LEN; i++)
	{
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
	}
	out[2 + 2 * HASH_LEN] = '\0';
}

/* The connection is gone? */
static bool
conn_lost(worker *w)
{
	return w->conn == NULL || PQstatus(w->conn) == CONNECTION_BAD;
}

/* Run a command that returns no rows; false (reported) on error. */
static bool
command(worker *w, const char *path, const char *sql)
{
	PGresult   *res = PQexec(w->conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		report_server_error(path, w->conn, res);
	PQclear(res);
	return ok;
}

/* Roll the file's transaction back (errors ignored: the server does it). */
static void
rollback(worker *w)
{
	PGresult   *res;

	if (!conn_lost(w))
	{
		while ((res = PQgetResult(w->conn)) != NULL)
			PQclear(res);
		res = PQexec(w->conn, "ROLLBACK");
		PQclear(res);
	}
	sig_in_txn = 0;
}

/*
 * COMMIT with SIGINT and SIGTERM held back, so that a signal that comes
 * meanwhile is handled once the file is committed (and is then not
 * reported as rolled back).  The decoding thread has ended by then.
 */
static bool
commit(worker *w, const char *path)
{
	bool		ok;

	block_interrupts(true);
	ok = command(w, path, "COMMIT");
	if (ok)
		sig_in_txn = 0;
	block_interrupts(false);
	return ok;
}

/* The ledger row that made the last file count as loaded (ledger_lookup). */
static struct
{
	char		name[PATH_MAX + 1];
	char		at[64];
	char		packets[24];
	char		by[128];
} seen;

/*
 * Has the table no row (1), a row (0), or is it not known (-1)?  Asked when
 * a file is skipped, to say that the ledger has a load the table no longer
 * holds.  Asked only where the answer is exact and cheap: the role may
 * SELECT from the table, no row-level security hides rows from it, the
 * table is not foreign; and within EMPTY_CHECK_MS (statement_timeout: a
 * table emptied by DELETE is read up to its first live row, which may be
 * far until it is vacuumed).  It runs as the loading role, which runs the
 * table's triggers anyway, in a read-only transaction of its own after the
 * file's was rolled back (so that the file's rows are not counted), and
 * names no operator or function.  Once the table has a row, or once the
 * check timed out, it is not asked again.
 */
static int
table_empty(worker *w)
{
	static bool not_empty;
	static bool gave_up;
	PGresult   *res;
	int			empty = -1;

	if (!w->tg->can_check_empty || not_empty || gave_up || conn_lost(w))
		return not_empty ? 0 : -1;
	res = PQexec(w->conn, "BEGIN READ ONLY");
	PQclear(res);
	res = PQexec(w->conn, "SET LOCAL statement_timeout = " EMPTY_CHECK_MS);
	PQclear(res);
	res = PQexec(w->conn, w->tg->exists_sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		empty = strcmp(PQgetvalue(res, 0, 0), "f") == 0;
	PQclear(res);
	res = PQexec(w->conn, "ROLLBACK");
	PQclear(res);
	if (empty == 0)
		not_empty = true;
	else if (empty < 0)
		gave_up = true;
	return empty;
}

/*
 * Say why a file was skipped: which load the ledger has (table, role, time),
 * that the ledger keeps it when the table is emptied, and how to load the
 * file again; a warning when the table has no row at all.  Without -v, the
 * first MAX_SKIP_NOTES files of the run get a line (main() counts the
 * others); -q leaves out all but the warnings.  Called after the file's
 * transaction was rolled back.
 */
static void
report_skip(worker *w, const file_load *f)
{
	const options *opt = w->opt;
	const target *tg = w->tg;
	shared	   *sh = w->sh;
	int			empty;
	bool		hint;

	if (opt->quiet && !tg->can_check_empty)
		return;
	empty = table_empty(w);
	if (opt->quiet && empty != 1)
		return;
	if (!opt->verbose && __sync_add_and_fetch(&sh->skip_notes, 1) > MAX_SKIP_NOTES)
	{
		__sync_fetch_and_add(&sh->skip_notes_left_out, 1);
		return;
	}
	if (empty == 1)
	{
		char	   *lit = PQescapeLiteral(w->conn, tg->display, strlen(tg->display));

		hint = __sync_bool_compare_and_swap(&sh->empty_hinted, 0, 1);
		emit("%s: warning: skipped \"%s\": already loaded into %s as \"%s\" by %s at %s (%s packets), but table %s is empty\n"
			 "DETAIL:  The ledger %s still records that load: the table was emptied (TRUNCATE, DELETE) after it.\n"
			 "%s%s%s%s%s",
			 PROGNAME, f->path, tg->display, seen.name, seen.by, seen.at,
			 seen.packets, tg->display, tg->ledger,
			 hint ? "HINT:  To load the table's files again, use --force, or delete the table's ledger rows: DELETE FROM " : "",
			 hint ? tg->ledger : "",
			 hint ? " WHERE table_name = " : "",
			 hint && lit ? lit : "''",
			 hint ? "::regclass;\n" : "");
		PQfreemem(lit);
		return;
	}
	hint = __sync_bool_compare_and_swap(&sh->skip_hinted, 0, 1);
	emit("%s: skipped \"%s\": already loaded into %s as \"%s\" by %s at %s (%s packets)\n%s%s%s",
		 PROGNAME, f->path, tg->display, seen.name, seen.by, seen.at, seen.packets,
		 hint ? "HINT:  The ledger " : "", hint ? tg->ledger : "",
		 hint ? " records that load, and keeps it if the table was emptied since (TRUNCATE, DELETE); --force loads the file again, as does deleting its ledger row.\n" : "");
}

/*
 * -v, after a file is loaded: the ledger knows a file by the bytes read, so
 * the same capture read once compressed and once decompressed is loaded
 * twice.  A hint, once per run: for a gzip-compressed input, and for a pipe
 * (what zcat writes is decompressed).
 */
static const char *
identity_hint(worker *w, const file_load *f, mx_stream *stream)
{
	static char buf[PATH_MAX + 512];
	const mx_file_info *info = mx_stream_info(stream);

	if (info && info->gzip)
	{
		if (!__sync_bool_compare_and_swap(&w->sh->gzip_hinted, 0, 1))
			return "";
		snprintf(buf, sizeof(buf),
				 "HINT:  \"%s\" is gzip-compressed, and the ledger knows it by its compressed bytes: the same capture decompressed (zcat, gunzip) is another file to it and is loaded again. Load each capture in one form.\n",
				 f->path);
		return buf;
	}
	if (!f->regular)
	{
		if (!__sync_bool_compare_and_swap(&w->sh->pipe_hinted, 0, 1))
			return "";
		snprintf(buf, sizeof(buf),
				 "HINT:  The ledger knows \"%s\" by the bytes read from it: if they are a gzip file decompressed (zcat), that file given by name is another file to it and is loaded again. Load each capture in one form.\n",
				 f->path);
		return buf;
	}
	return "";
}

/*
 * Take the advisory lock for (table, hash) and look the content up in the
 * ledger.  1: already loaded (message printed when verbose), 0: not yet,
 * -1: error (reported).  The lock is held until the transaction ends.
 *
 * The file counts as loaded only for a row by the role itself or by the
 * table's owner, with the same options; --on-error=skip also matches a
 * strict load's row, which has the same rows.  When the ledger has the
 * content otherwise, the file is loaded and -v says why.
 */
static int
ledger_lookup(worker *w, file_load *f)
{
	const target *tg = w->tg;
	char		hex[2 + 2 * HASH_LEN + 1];
	char		key[32];
	const char *p[4];
	PGresult   *res;
	uint64_t	k = 0;
	int			i;
	int			found;

	for (i = 0; i < 8; i++)
		k = (k << 8) | f->hash[i];
	k ^= w->tg->oidnum;
	snprintf(key, sizeof(key), "%lld", (long long) (int64_t) k);
	p[0] = key;
	res = query(w->conn, "SELECT pg_catalog.pg_advisory_xact_lock($1::pg_catalog.int8)", 1, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	hash_hex(f->hash, hex);
	p[0] = tg->oid;
	p[1] = hex;
	p[2] = tg->options;
	p[3] = w->opt->salvage ? tg->options_skip : tg->options;
	/* a new statement: its snapshot sees what the lock holder committed */
	res = query(w->conn, tg->lookup_sql, 4, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 6), "t") == 0 &&
		strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	if (found)
	{
		/* for report_skip, once the transaction is rolled back */
		snprintf(seen.name, sizeof(seen.name), "%s", PQgetvalue(res, 0, 0));
		snprintf(seen.at, sizeof(seen.at), "%s", PQgetvalue(res, 0, 1));
		snprintf(seen.packets, sizeof(seen.packets), "%s", PQgetvalue(res, 0, 2));
		snprintf(seen.by, sizeof(seen.by), "%s", PQgetvalue(res, 0, 3));
	}
	if (PQntuples(res) > 0 && !found && !w->opt->force && w->opt->verbose)
	{
		const char *by = PQgetvalue(res, 0, 3);
		const char *owner = PQgetvalue(res, 0, 5);
		const char *me = PQgetvalue(res, 0, 8);

		if (strcmp(PQgetvalue(res, 0, 6), "t") == 0)
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s with other options (%s; this load: %s%s)\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 4), tg->options,
				 w->opt->salvage ? " --on-error=skip" : "");
		else if (strcmp(me, owner) == 0)
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s, and only loads by %s, the table's owner, count\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), owner);
		else
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s, and only loads by %s itself and by the table's owner %s count\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), me, owner);
	}
	PQclear(res);
	return found;
}

/*
 * Has the ledger a file of this size for the table?  1 yes, 0 no, -1 error.
 * Same content means same size, so "no" means "not loaded yet".
 */
static int
ledger_size_seen(worker *w, file_load *f)
{
	char		size[24];
	const char *p[2];
	PGresult   *res;
	int			found;

	snprintf(size, sizeof(size), "%lld", (long long) f->st.st_size);
	p[0] = w->tg->oid;
	p[1] = size;
	res = query(w->conn, w->tg->size_sql, 2, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/* Insert the file's ledger row.  1: inserted, 0: a concurrent load won. */
static int
ledger_record(worker *w, file_load *f)
{
	char		hex[2 + 2 * HASH_LEN + 1];
	char		size[24],
				packets[24],
				filtered[24],
				notip[24],
				damaged[24],
				damaged_bytes[24],
				malformed[24];
	const char *p[15];
	PGresult   *res;
	uint64_t	n = 0;
	int			r,
				inserted;

	for (r = 1; r < MX_SKIP_NREASONS; r++)
		n += f->not_ip[r];
	hash_hex(f->hash, hex);
	snprintf(size, sizeof(size), "%llu", (unsigned long long) f->size);
	snprintf(packets, sizeof(packets), "%llu", (unsigned long long) f->packets);
	snprintf(filtered, sizeof(filtered), "%llu", (unsigned long long) f->filtered);
	snprintf(notip, sizeof(notip), "%llu", (unsigned long long) n);
	snprintf(damaged, sizeof(damaged), "%llu", (unsigned long long) f->damaged);
	snprintf(damaged_bytes, sizeof(damaged_bytes), "%llu",
			 (unsigned long long) f->damaged_bytes);
	snprintf(malformed, sizeof(malformed), "%llu", (unsigned long long) f->malformed);
	p[0] = w->tg->oid;
	p[1] = f->ledger_name;
	p[2] = w->host[0] ? w->host : NULL;
	p[3] = size;
	p[4] = hex;
	p[5] = packets;
	p[6] = filtered;
	p[7] = notip;
	p[8] = f->truncated ? "t" : "f";
	p[9] = damaged;
	p[10] = damaged_bytes;
	p[11] = malformed;
	p[12] = w->tg->filter_text;
	p[13] = w->opt->force ? "t" : "f";
	p[14] = f->damaged || f->malformed ? w->tg->options_skip : w->tg->options;
	res = query(w->conn, w->tg->record_sql, 15, p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	inserted = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return inserted;
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

/* How a COPY ended. */
typedef enum copy_end
{
	COPY_DONE,					/* every packet sent */
	COPY_DECODE_ERROR,			/* the file is bad (reported) */
	COPY_SERVER_ERROR			/* the server refused (not yet reported) */
} copy_end;

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
	int			r;

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
	f->filtered = c->filtered;
	for (r = 0; r < MX_SKIP_NREASONS; r++)
		f->not_ip[r] = c->skipped[r];
	f->truncated = c->truncated;
	f->damaged = c->damaged;
	f->damaged_bytes = c->damaged_bytes;
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
static copy_end
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
	copy_end	ce = decode_all(w, w->f, w->stream);

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
static copy_end
decode_and_send(worker *w, file_load *f, mx_stream *stream)
{
	pthread_t	th;
	int			i;
	size_t		n;
	bool		sending = true;

	w->f = f;
	w->stream = stream;
	w->qhead = 0;
	w->qcount = 0;
	w->decoded = false;
	w->stopped = false;
	w->threaded = true;
	if (pthread_create(&th, NULL, decode_thread, w) != 0)
	{
		w->threaded = false;
		return decode_all(w, f, stream);
	}
	for (;;)
	{
		pthread_mutex_lock(&w->mu);
		while (w->qcount == 0 && !w->decoded)
			pthread_cond_wait(&w->filled, &w->mu);
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

/* Add a finished file's counts to the run's totals. */
static void
add_totals(worker *w, file_load *f, result r)
{
	totals	   *t = &w->sh->tot;
	slot	   *sl = &w->sh->slots[w->id];
	int			i;

	__sync_fetch_and_add(&t->bytes, f->in_bytes > f->size ? f->in_bytes : f->size);
	if (r == R_LOADED)
	{
		__sync_fetch_and_add(&t->files_loaded, 1);
		__sync_fetch_and_add(&t->packets, f->packets);
		__sync_fetch_and_add(&t->filtered, f->filtered);
		for (i = 0; i < MX_SKIP_NREASONS; i++)
			__sync_fetch_and_add(&t->not_ip[i], f->not_ip[i]);
		if (f->damaged || f->malformed)
		{
			__sync_fetch_and_add(&t->files_damaged, 1);
			__sync_fetch_and_add(&t->damaged, f->damaged);
			__sync_fetch_and_add(&t->damaged_bytes, f->damaged_bytes);
			__sync_fetch_and_add(&t->malformed, f->malformed);
		}
	}
	else if (r == R_SKIPPED)
		__sync_fetch_and_add(&t->files_skipped, 1);
	else
		__sync_fetch_and_add(&t->files_failed, 1);
	sl->bytes = 0;
	sl->packets = 0;
}

/* The file's name for the ledger: an absolute path for a regular file. */
static char *
ledger_name(const file_load *f)
{
	char		buf[PATH_MAX];

	if (strcmp(f->path, "-") != 0 && f->regular && realpath(f->path, buf) != NULL)
		return strdup(buf);
	return strdup(f->path);
}

/* Did a regular file change since it was hashed? */
static bool
changed_since_hash(file_load *f)
{
	struct stat now;

	if (fstat(f->fd, &now) != 0)
		return true;
	return f->in_bytes != f->size || now.st_size != f->st.st_size ||
		now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
		now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec;
}

/*
 * Load one file in one transaction.  Every error is reported here, with the
 * file's name; the transaction is rolled back on any error.
 */
static result
load_file(worker *w, const char *path)
{
	const options *opt = w->opt;
	file_load	f;
	mx_stream  *stream = NULL;
	mx_stream_options sopt;
	mx_input_hooks hooks;
	mx_error	err;
	PGresult   *res;
	copy_end	ce;
	result		r = R_FAILED;
	int64_t		t0 = now_ns();
	int			found;
	static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0,
	0, 0, 0, 0, 0, 0, 0, 0};
	unsigned int hl;

	memset(&f, 0, sizeof(f));
	f.path = path;
	sig_file = path;
	if (strcmp(path, "-") == 0)
		f.fd = dup(STDIN_FILENO);
	else
		f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0 || fstat(f.fd, &f.st) != 0)
	{
		emit("%s: error: could not open capture file \"%s\": %s\n", PROGNAME, path,
			 strerror(errno));
		if (f.fd >= 0)
			close(f.fd);
		add_totals(w, &f, R_FAILED);
		return R_FAILED;
	}
	f.regular = S_ISREG(f.st.st_mode);
	f.ledger_name = ledger_name(&f);

	/*
	 * Hash a regular file first when the ledger has a file of its size for
	 * the table (a rerun, most likely), so that it is skipped without
	 * sending anything.  Otherwise its content cannot be in the ledger yet:
	 * hash it as it streams, like a pipe, and look it up before COMMIT.
	 */
	if (!opt->dry_run && f.regular)
	{
		found = ledger_size_seen(w, &f);
		if (found < 0)
		{
			close(f.fd);
			goto fail;
		}
		if (found)
		{
			if (!prehash(w, &f))
			{
				close(f.fd);
				goto done;
			}
			f.prehashed = true;
		}
	}
	if (!opt->dry_run && !f.prehashed)
	{
		f.md = w->md;
		EVP_DigestInit_ex(f.md, EVP_sha256(), NULL);
	}

	memset(&hooks, 0, sizeof(hooks));
	hooks.tap = tap;
	hooks.tap_arg = &f;
	memset(&sopt, 0, sizeof(sopt));
	sopt.name = path;
	sopt.filter = w->filter;
	sopt.salvage = opt->salvage;
	sopt.mirai_only = opt->mirai_only;
	sopt.scanners = opt->scanners;
	sopt.hooks = &hooks;
	stream = mx_stream_open_fd(f.fd, &sopt, &err);
	if (stream == NULL)
	{
		report_decode_error(path, &err);	/* nothing was sent */
		goto done;
	}

	if (!opt->dry_run)
	{
		sig_in_txn = 1;
		if (!command(w, path, "BEGIN ISOLATION LEVEL READ COMMITTED"))
			goto fail;
		if (f.prehashed)
		{
			found = ledger_lookup(w, &f);
			if (found < 0)
				goto fail;
			if (found && !opt->force)
			{
				rollback(w);
				report_skip(w, &f);
				r = R_SKIPPED;
				goto done;
			}
		}
		res = PQexec(w->conn, w->tg->copy_sql);
		if (PQresultStatus(res) != PGRES_COPY_IN)
		{
			report_server_error(path, w->conn, res);
			PQclear(res);
			goto fail;
		}
		PQclear(res);
	}

	w->buf = w->slots[0];
	memcpy(w->buf, header, sizeof(header));
	w->len = sizeof(header);
	if (opt->dry_run)
		ce = decode_all(w, &f, stream);
	else
		ce = decode_and_send(w, &f, stream);
	if (opt->dry_run)
	{
		w->len = 0;
		if (ce != COPY_DONE)
			goto done;
		r = R_LOADED;
		goto done;
	}
	if (ce == COPY_DONE && f.prehashed && changed_since_hash(&f))
	{
		emit("%s: error: capture file \"%s\" changed while it was being loaded (%llu bytes hashed, %llu read)\n"
			 "HINT:  Load a file once its writer has closed it.\n",
			 PROGNAME, path, (unsigned long long) f.size,
			 (unsigned long long) f.in_bytes);
		ce = COPY_DECODE_ERROR;
	}
	w->len = 0;
	if (PQputCopyEnd(w->conn, ce == COPY_DONE ? NULL : "mirai_load: the capture file is invalid") != 1 &&
		ce == COPY_DONE)
		ce = COPY_SERVER_ERROR;
	res = PQgetResult(w->conn);
	if (ce == COPY_DONE || ce == COPY_SERVER_ERROR)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			report_server_error(path, w->conn, res);
			PQclear(res);
			goto fail;
		}
		if (ce == COPY_SERVER_ERROR)
		{
			emit("%s: error: \"%s\": %s", PROGNAME, path, PQerrorMessage(w->conn));
			PQclear(res);
			goto fail;
		}
		if (strtoull(PQcmdTuples(res), NULL, 10) != f.packets)
		{
			emit("%s: error: \"%s\": the server counted %s rows, %llu were sent\n",
				 PROGNAME, path, PQcmdTuples(res), (unsigned long long) f.packets);
			PQclear(res);
			goto fail;
		}
	}
	PQclear(res);
	while ((res = PQgetResult(w->conn)) != NULL)
		PQclear(res);
	if (ce != COPY_DONE)
		goto fail;

	/* hashed as it streamed: the hash is known now */
	if (!f.prehashed)
	{
		EVP_DigestFinal_ex(f.md, f.hash, &hl);
		f.size = f.in_bytes;
		found = ledger_lookup(w, &f);
		if (found < 0)
			goto fail;
		if (found && !opt->force)
		{
			rollback(w);
			report_skip(w, &f);
			r = R_SKIPPED;
			goto done;
		}
	}
	found = ledger_record(w, &f);
	if (found < 0)
		goto fail;
	if (found == 0)
	{
		/* another loader committed the same content first */
		if (opt->verbose)
			emit("%s: skipped \"%s\": loaded by a concurrent mirai_load\n", PROGNAME, path);
		rollback(w);
		r = R_SKIPPED;
		goto done;
	}
	if (!commit(w, path))
		goto fail;
	r = R_LOADED;
	if (opt->verbose)
		emit("%s: loaded \"%s\": %llu packets (%llu filtered) in %.2f s\n%s", PROGNAME, path,
			 (unsigned long long) f.packets, (unsigned long long) f.filtered,
			 (now_ns() - t0) / 1e9, identity_hint(w, &f, stream));
	goto done;

fail:
	/* a terminated backend's FATAL shows as lost only once libpq reads on */
	rollback(w);
	if (conn_lost(w))
	{
		r = R_CONNECTION;
		emit("%s: error: \"%s\": the connection to the server was lost\n", PROGNAME, path);
	}
	else
		r = R_FAILED;
	emit("%s: \"%s\" was rolled back: none of its packets were loaded\n", PROGNAME, path);

done:
	sig_in_txn = 0;
	sig_file = NULL;
	if (r == R_FAILED && opt->dry_run)
		emit("%s: \"%s\" failed\n", PROGNAME, path);
	/* the reader owns f.fd; a failed open or prehash has closed it */
	if (stream)
		mx_stream_close(stream);
	add_totals(w, &f, r);
	free(f.ledger_name);
	return r;
}

/* ----------------------------------------------------------------------
 * Workers
 * ----------------------------------------------------------------------
 */

/* Take files from the list until it is empty; returns the exit status. */
static int
run_worker(worker *w)
{
	int			status = 0;
	int			i;
	result		r;

	for (i = 0; i < NSLOTS; i++)
		if ((w->slots[i] = malloc(COPY_CHUNK + ROW_MAX + 64)) == NULL)
			break;
	w->buf = w->slots[0];
	w->readbuf = malloc(READ_CHUNK);
	w->md = EVP_MD_CTX_new();
	if (i < NSLOTS || w->readbuf == NULL || w->md == NULL ||
		pthread_mutex_init(&w->mu, NULL) != 0 ||
		pthread_cond_init(&w->filled, NULL) != 0 ||
		pthread_cond_init(&w->freed, NULL) != 0)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		return EXIT_FAILED;
	}
	if (gethostname(w->host, sizeof(w->host)) != 0)
		w->host[0] = '\0';
	w->host[sizeof(w->host) - 1] = '\0';
	if (!w->opt->dry_run && w->conn == NULL)
	{
		w->conn = connect_db(w->opt, NULL);
		if (w->conn == NULL)
			return EXIT_CONNECT;
	}
	for (;;)
	{
		if (w->sh->stop)
			break;
		i = __sync_fetch_and_add(&w->sh->next, 1);
		if (i >= w->opt->nfiles)
			break;
		__sync_fetch_and_add(&w->sh->attempted, 1);
		r = load_file(w, w->opt->files[i]);
		if (r == R_FAILED)
		{
			status = EXIT_FAILED;
			if (w->opt->stop_on_error)
				w->sh->stop = 1;
		}
		else if (r == R_CONNECTION)
		{
			status = EXIT_CONNECT;
			break;
		}
	}
	if (w->conn)
		PQfinish(w->conn);
	w->conn = NULL;
	EVP_MD_CTX_free(w->md);
	for (i = 0; i < NSLOTS; i++)
		free(w->slots[i]);
	free(w->readbuf);
	return status;
}

/* ----------------------------------------------------------------------
 * Command line
 * ----------------------------------------------------------------------
 */

/* --help */
static void
help(void)
{
	printf("%s loads packet capture files into a table of the mirai_ext extension,\n"
		   "decoding them on this machine and streaming the packets with COPY.\n\n", PROGNAME);
	printf("Usage:\n  %s [OPTION]... -t TABLE FILE...\n\n", PROGNAME);
	printf("FILE is a pcap or pcapng file, gzip-compressed or not (found by content);\n"
		   "\"-\" reads standard input (e.g. tcpdump -w - or zcat).\n\n");
	printf("Options:\n"
		   "  -t, --table=TABLE        table to load, named as in SQL (schema.table;\n"
		   "                           quote capitals, dots and quotes: -t '\"My.Table\"')\n"
		   "  -c, --column=NAME        the column of type packet, when the table has several\n"
		   "  -f, --filter=BPF         load only the frames this BPF expression matches\n"
		   "                           (tcpdump syntax; \"vlan and ...\" for tagged frames)\n"
		   "  -m, --mirai-only         load only Mirai scanner packets (is_mirai)\n"
		   "      --scanner=LIST       load only packets that match one of these scanner\n"
		   "                           rules (mirai,zmap,...; all: every checkable rule)\n"
		   "      --force              load files again even when the ledger has them\n"
		   "  -j, --jobs=N             load N files at once, on N connections (default 1)\n"
		   "  -s, --stop-on-error      stop at the first file that fails\n"
		   "      --on-error=MODE      error: a damaged record fails its file (default);\n"
		   "                           skip: skip damaged records and malformed packets,\n"
		   "                           load the rest, and report what was skipped\n"
		   "  -n, --dry-run            decode and count only, no database\n"
		   "  -q, --quiet              no progress line, no summary; errors and warnings only\n"
		   "  -v, --verbose            one line per file (loaded, skipped)\n"
		   "  -V, --version            show the version and exit\n"
		   "  -?, --help               show this help and exit\n\n");
	printf("Connection options (as in psql):\n"
		   "  -d, --dbname=DBNAME      database name, or a conninfo string or URI (whose\n"
		   "                           settings win over -h, -p and -U)\n"
		   "  -h, --host=HOSTNAME      database server host or socket directory\n"
		   "  -p, --port=PORT          database server port\n"
		   "  -U, --username=USERNAME  database user name\n"
		   "  -w, --no-password        never prompt for a password\n"
		   "  -W, --password           prompt for a password before connecting (else it is\n"
		   "                           asked for on the terminal when the server wants one)\n"
		   "PG* environment variables and ~/.pgpass apply; put the password there, not on\n"
		   "the command line.\n\n");
	printf("Each file is loaded in one transaction, with a row in the ledger table\n"
		   "mirai_load_ledger that names it by the SHA-256 of the bytes read: a gzip\n"
		   "file's compressed bytes, or what comes through \"-\" (zcat's output is\n"
		   "decompressed: \"zcat f.gz | mirai_load -\" and \"mirai_load f.gz\" are two\n"
		   "files to it).  A file whose content is already in the ledger for the table,\n"
		   "loaded with the same column and filter options by this role or by the\n"
		   "table's owner, is skipped, whatever its name, even if the table was emptied\n"
		   "since; --force loads it again.\n"
		   "A corrupt file is reported (file, packet, byte offset, field), rolled back,\n"
		   "and the next file is loaded; with --on-error=skip, its damaged records are\n"
		   "skipped with a warning each and the rest is loaded, as pcap_read(...,\n"
		   "on_error => 'skip') reads it.  A file that ends inside its last record is\n"
		   "loaded without that record, with a warning.\n\n");
	printf("Exit status:\n"
		   "  0    every file was loaded, or was already loaded\n"
		   "  1    some file failed (nothing of it was loaded)\n"
		   "  2    usage error, or the table, column or extension is wrong (nothing loaded)\n"
		   "  3    could not connect, or the connection was lost\n"
		   "  130  interrupted by SIGINT (143: SIGTERM); the file in progress was rolled back\n\n");
	printf("See also the manual page mirai_load(1).\n");
}

/*
 * Overwrite the bytes of a value in a conninfo string: "password=secret"
 * or "password='a \'quoted\' one'".  Mirrors libpq's conninfo_parse
 * (fe-connect.c): keyword, optional blanks, "=", optional blanks, then a
 * value up to a blank, or quoted with ' (a backslash escapes the next
 * character in both forms).  Stops at what libpq would reject.
 */
static void
mask_conninfo_password(char *s)
{
	char	   *p = s;

	while (*p)
	{
		const char *key;
		size_t		keylen;
		bool		secret;

		if (isspace((unsigned char) *p))
		{
			p++;
			continue;
		}
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		keylen = p - key;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			return;
		p++;
		while (isspace((unsigned char) *p))
			p++;
		secret = keylen == 8 && strncmp(key, "password", 8) == 0;
		if (*p == '\'')
		{
			for (p++; *p && *p != '\''; p++)
			{
				if (*p == '\\' && p[1])
				{
					if (secret)
						*p = 'x';
					p++;
				}
				if (secret)
					*p = 'x';
			}
			if (*p)
				p++;
		}
		else
		{
			for (; *p && !isspace((unsigned char) *p); p++)
			{
				if (*p == '\\' && p[1])
				{
					if (secret)
						*p = 'x';
					p++;
				}
				if (secret)
					*p = 'x';
			}
		}
	}
}

/* Is s[0..len) "password", percent-decoded as in a URI? */
static bool
uri_key_is_password(const char *s, size_t len)
{
	static const char word[] = "password";
	size_t		i,
				n = 0;

	for (i = 0; i < len; i++, n++)
	{
		int			c = (unsigned char) s[i];

		if (c == '%' && i + 2 < len && isxdigit((unsigned char) s[i + 1]) &&
			isxdigit((unsigned char) s[i + 2]))
		{
			char		hex[3] = {s[i + 1], s[i + 2], '\0'};

			c = (int) strtol(hex, NULL, 16);
			i += 2;
		}
		if (n >= sizeof(word) - 1 || c != word[n])
			return false;
	}
	return n == sizeof(word) - 1;
}

/*
 * Overwrite the password of a URI: "postgresql://user:secret@host/db" and
 * "...?password=secret".  Mirrors libpq's conninfo_uri_parse_options: the
 * user information ends at the first "@" met before any "/", the password
 * is what follows its first ":"; the query string starts at the first "?"
 * after it, its parameters are separated by "&", and keywords are
 * percent-decoded.
 */
static void
mask_uri_password(char *s)
{
	char	   *p = strstr(s, "://") + 3;
	char	   *q;

	for (q = p; *q && *q != '@' && *q != '/'; q++)
		;
	if (*q == '@')
	{
		char	   *colon = memchr(p, ':', q - p);

		if (colon)
			memset(colon + 1, 'x', q - colon - 1);
		p = q + 1;
	}
	p = strchr(p, '?');
	while (p && *p)
	{
		char	   *key = ++p;
		char	   *eq;

		while (*p && *p != '&')
			p++;
		eq = memchr(key, '=', p - key);
		if (eq && uri_key_is_password(key, eq - key))
			memset(eq + 1, 'x', p - eq - 1);
	}
}

/*
 * Hide the password of a -d DBNAME from ps and /proc/PID/cmdline: keep a
 * copy for libpq, then overwrite the password's bytes in argv, in place,
 * before any connection or worker (the workers are forked and share the
 * parent's arguments).  When the masked string would still give libpq the
 * password, or libpq cannot parse the string, the whole argument is
 * overwritten.  A plain database name is left alone.
 */
static char *
hide_password(char *arg)
{
	char	   *copy = strdup(arg);
	PQconninfoOption *before,
			   *after,
			   *o;
	const char *secret = NULL;
	bool		hidden = true;

	if (copy == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	if (strchr(arg, '=') == NULL && strncmp(arg, "postgresql://", 13) != 0 &&
		strncmp(arg, "postgres://", 11) != 0)
		return copy;
	before = PQconninfoParse(copy, NULL);
	if (before == NULL)
	{
		/* libpq will reject it and say why; show none of it meanwhile */
		memset(arg, 'x', strlen(arg));
		return copy;
	}
	for (o = before; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
			secret = o->val;
	if (secret == NULL)
	{
		PQconninfoFree(before);
		return copy;
	}
	if (strncmp(arg, "postgresql://", 13) == 0 || strncmp(arg, "postgres://", 11) == 0)
		mask_uri_password(arg);
	else
		mask_conninfo_password(arg);
	after = PQconninfoParse(arg, NULL);
	for (o = after; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && strcmp(o->val, secret) == 0)
			hidden = false;
	if (after == NULL || !hidden)
		memset(arg, 'x', strlen(arg));
	PQconninfoFree(after);
	PQconninfoFree(before);
	return copy;
}

/* A positive integer option value, or a usage error. */
static int
parse_jobs(const char *s)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 1 || v > MAX_JOBS)
		usage_error("invalid number of jobs \"%s\": must be 1 to %d", s, MAX_JOBS);
	return (int) v;
}

/*
 * --scanner=LIST: the catalogue's names (mx_scanner.h), "all" for every
 * checkable rule.  An unknown name or a rule that cannot be checked on a
 * decoded packet is a usage error in the catalogue's words.
 */
static void
parse_scanners(const char *list, options *opt)
{
	mx_error	err;

	if (mx_scanner_parse_list(list, &opt->scanners, &err) != MX_OK)
	{
		if (err.detail)
			usage_error_hint(err.detail, "%s", err.message);
		usage_error("%s", err.message);
	}
}

/*
 * Parse the command line into *opt; exits on --help, --version, errors.
 *
 * The short options follow PostgreSQL's clients: -d -h -p -U -w -W -V -?
 * as in psql and pg_dump, -t -j -v as in pg_dump.  -h is the host, never
 * the help; -F, --force's short form up to mirai_ext 0.1.1, is an error
 * with a hint, since every client that has -F gives it a value (psql's
 * field separator, pg_dump's format) and a stray one must not force a
 * load.
 */
static void
parse_options(int argc, char **argv, options *opt)
{
	static const struct option longopts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"no-password", no_argument, NULL, 'w'},
		{"password", no_argument, NULL, 'W'},
		{"table", required_argument, NULL, 't'},
		{"column", required_argument, NULL, 'c'},
		{"filter", required_argument, NULL, 'f'},
		{"mirai-only", no_argument, NULL, 'm'},
		{"force", no_argument, NULL, 1},
		{"jobs", required_argument, NULL, 'j'},
		{"stop-on-error", no_argument, NULL, 's'},
		{"on-error", required_argument, NULL, 'E'},
		{"dry-run", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 2},
		{"scanner", required_argument, NULL, 3},
		{NULL, 0, NULL, 0}
	};
	int			c;
	int			i,
				stdins = 0;

	memset(opt, 0, sizeof(*opt));
	opt->jobs = 1;
	opt->on_error = "error";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h:p:U:wWt:c:f:mj:snqvV?F", longopts, NULL)) != -1)
	{
		const char *arg = argv[optind - 1];
		bool		islong = strncmp(arg, "--", 2) == 0;

		switch (c)
		{
			case 'd':
				opt->conninfo = hide_password(optarg);
				break;
			case 'h':
				opt->host = optarg;
				break;
			case 'p':
				opt->port = optarg;
				break;
			case 'U':
				opt->username = optarg;
				break;
			case 'w':
				opt->prompt = PROMPT_NEVER;
				break;
			case 'W':
				opt->prompt = PROMPT_ALWAYS;
				break;
			case 't':
				opt->table = optarg;
				break;
			case 'c':
				opt->column = optarg;
				break;
			case 'f':
				opt->filter = optarg;
				break;
			case 'm':
				opt->mirai_only = true;
				break;
			case 1:
				opt->force = true;
				break;
			case 3:
				parse_scanners(optarg, opt);
				break;
			case 'F':
				usage_error_hint("To load files again, use --force; it has no short form (-F was --force up to mirai_ext 0.1.1).",
								 "invalid option \"-F\"");
				break;
			case 'j':
				opt->jobs = parse_jobs(optarg);
				break;
			case 's':
				opt->stop_on_error = true;
				break;
			case 'E':
				opt->on_error = optarg;
				break;
			case 'n':
				opt->dry_run = true;
				break;
			case 'q':
				opt->quiet = true;
				break;
			case 'v':
				opt->verbose = true;
				break;
			case 'V':
				printf("%s (mirai_ext) %s\n", PROGNAME, MX_VERSION_STRING);
				exit(0);
			case 2:
				help();
				exit(0);
			case ':':
				if (optopt == 'h' && !islong)
					usage_error_hint("-h is the database server's host (--host), as in psql; -? or --help shows the help.",
									 "option \"-h\" needs a value");
				if (islong)
					usage_error("option \"%s\" needs a value", arg);
				usage_error("option \"-%c\" needs a value", optopt);
				break;
			case '?':
				/* -? itself, or an option getopt does not know */
				if (optopt == 0 && !islong)
				{
					help();
					exit(0);
				}
				if (optopt > ' ' && optopt < 127 && !islong)
					usage_error("invalid option \"-%c\"", optopt);
				usage_error("invalid option \"%s\"", arg);
				break;
			default:
				usage_error("invalid option \"%s\"", arg);
		}
	}
	if (strcmp(opt->on_error, "skip") == 0)
		opt->salvage = true;
	else if (strcmp(opt->on_error, "error") != 0)
		usage_error("invalid value for --on-error: \"%s\" (valid: error, skip)", opt->on_error);
	if (opt->table == NULL && !opt->dry_run)
		usage_error("no table given (-t TABLE)");
	if (opt->quiet && opt->verbose)
		usage_error("--quiet and --verbose contradict each other");
	opt->files = argv + optind;
	opt->nfiles = argc - optind;
	if (opt->nfiles == 0)
		usage_error("no file given (use \"-\" for standard input)");
	for (i = 0; i < opt->nfiles; i++)
	{
		if (strcmp(opt->files[i], "-") == 0)
			stdins++;
		else if (opt->files[i][0] == '\0')
			usage_error("empty file name");
	}
	if (stdins > 1)
		usage_error("standard input (\"-\") can be read only once");
}

/* Fill the progress state: on a terminal, unless -q. */
static void
progress_init(const options *opt)
{
	int			i;
	struct stat st;

	memset(&prog, 0, sizeof(prog));
	prog.on = !opt->quiet && isatty(STDERR_FILENO);
	prog.start_ns = now_ns();
	prog.nfiles = opt->nfiles;
	prog.jobs = opt->jobs;
	prog.sizes_known = true;
	for (i = 0; i < opt->nfiles; i++)
	{
		if (strcmp(opt->files[i], "-") != 0 && stat(opt->files[i], &st) == 0 &&
			S_ISREG(st.st_mode))
			prog.total_bytes += (uint64_t) st.st_size;
		else
			prog.sizes_known = false;
	}
}

/*
 * The filter options as the ledger records them (its filter column, and
 * part of options): --filter as given, --mirai-only, and --scanner's rules
 * in catalogue order, so that the same rules named in another order are
 * the same options.  NULL when there are none.
 */
static char *
filter_text(const options *opt)
{
	char		scanners[256] = "";
	char	   *s;

	if (opt->scanners)
	{
		memcpy(scanners, " --scanner=", 11);
		mx_scanner_format_list(opt->scanners, ",", scanners + 11, sizeof(scanners) - 11);
	}
	if (!opt->filter && !opt->mirai_only && !opt->scanners)
		return NULL;
	s = xasprintf("%s%s%s%s", opt->filter ? " --filter=" : "",
				  opt->filter ? opt->filter : "",
				  opt->mirai_only ? " --mirai-only" : "", scanners);
	memmove(s, s + 1, strlen(s));	/* the first blank */
	return s;
}

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
	int			i;
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
		int			njobs = opt.jobs < opt.nfiles ? opt.jobs : opt.nfiles;
		int			running = 0;

		prog.jobs = njobs;
		PQfinish(conn);			/* each worker connects on its own */
		fflush(stdout);

		/*
		 * From here a signal is forwarded to the workers; each is forked
		 * with the signals blocked, so that it is a worker, or known to the
		 * handler, before one comes.
		 */
		sig_parent = 1;
		for (i = 0; i < njobs && !sig_caught; i++)
		{
			pid_t		pid;

			block_interrupts(true);
			pid = fork();
			if (pid < 0)
			{
				block_interrupts(false);
				emit("%s: error: could not fork: %s\n", PROGNAME, strerror(errno));
				status = EXIT_FAILED;
				break;
			}
			if (pid == 0)
			{
				sig_parent = 0;
				sig_worker = 1;
				sig_npids = 0;
				block_interrupts(false);
				w.id = i;
				_exit(run_worker(&w));
			}
			sig_pids[sig_npids] = pid;
			sig_npids++;
			block_interrupts(false);
			running++;
		}
		while (running > 0)
		{
			int			ws;
			/* without a progress line to draw, wait for a worker to end */
			pid_t		p = waitpid(-1, &ws, prog.on && !sig_caught ? WNOHANG : 0);

			if (p > 0)
			{
				int			code = WIFEXITED(ws) ? WEXITSTATUS(ws) : EXIT_FAILED;
				int			k;

				/* forward no signal to a pid that may be reused now */
				block_interrupts(true);
				for (k = 0; k < sig_npids; k++)
					if (sig_pids[k] == p)
					{
						sig_pids[k] = sig_pids[sig_npids - 1];
						sig_npids--;
						break;
					}
				block_interrupts(false);
				if (!WIFEXITED(ws))
					emit("%s: error: a worker died (signal %d)\n", PROGNAME,
						 WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
				if (code == 128 + SIGINT || code == 128 + SIGTERM)
				{
					/* a worker was interrupted on its own: start no file more */
					worker_signal = code - 128;
					sh->stop = 1;
				}
				else if (code == EXIT_CONNECT || (code == EXIT_FAILED && status == 0))
					status = code;
				running--;
				continue;
			}
			if (p < 0 && errno != EINTR)
				break;
			if (!sig_caught)
				progress_draw(sh, false);
			{
				struct timespec ts = {0, 50 * 1000 * 1000};

				nanosleep(&ts, NULL);
			}
		}
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
