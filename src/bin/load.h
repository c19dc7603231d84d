/*-------------------------------------------------------------------------
 *
 * load.h
 *	  Declarations shared by the parts of mirai_load, the bulk loader: its
 *	  options, the table resolved, the counts, a file being loaded, a
 *	  worker, and the functions each part offers the others.
 *
 * The parts, one concern each:
 *	mirai_load.c	main: parse, connect, resolve the table, load, sum up
 *	load_options.c	the command line and --help
 *	load_output.c	messages, the progress line, the summary
 *	load_signals.c	SIGINT and SIGTERM
 *	load_db.c		the connection and the catalog queries
 *	load_ledger.c	the ledger: lock, lookup (the trust rule), row
 *	load_copy.c		the read loop (an adapter of mx_stream) and the COPY
 *					sender, in two threads
 *	load_file.c		one file, one transaction (or batches); resume
 *	load_follow.c	--follow: a file read as it grows, its rotation set
 *	load_workers.c	the workers and -j
 *
 * Nothing here parses capture bytes: the decoder in src/decode does.
 *
 * src/bin/load.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIRAI_LOAD_H
#define MIRAI_LOAD_H

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
#define NS_PER_S		INT64_C(1000000000)
#define FOLLOW_POLL_MS	100		/* --follow: how often a file at its end is
								 * looked at again */
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
	uint64_t	commit_packets; /* --commit-every=N: a batch every N packets */
	int64_t		commit_ns;		/* --commit-every=Ns: ... every N seconds */
	bool		follow;			/* --follow */
	int64_t		follow_idle_ns; /* --follow-idle */
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
	char	   *resume_sql;		/* rows a file may resume */
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
	uint64_t	files_resumed;	/* loaded after the records of an earlier load */
	uint64_t	resumed_from;	/* ... the record the last of them resumed from */
	uint64_t	batches;		/* batches committed before a file's end */
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

/* How a COPY ended. */
typedef enum copy_end
{
	COPY_DONE,					/* every packet sent */
	COPY_DECODE_ERROR,			/* the file is bad (reported) */
	COPY_SERVER_ERROR			/* the server refused (not yet reported) */
} copy_end;

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

	/*
	 * Resumed loads and batches.  Counts above are of the whole file (this
	 * run); a batch's row has the counts since base_*.  records is the
	 * stream's count of records read (set at a cut and at the end).
	 */
	uint64_t	resumed_from;	/* records loaded before, read past */
	uint64_t	from_record;	/* records before this batch */
	uint64_t	records;
	bool		batching;		/* --commit-every or --follow */
	int			batches;		/* batches committed */
	bool		batch_failed;	/* a batch's commit failed (reported) */
	int64_t		batch_ns;		/* when this batch began */
	uint64_t	base_packets;
	uint64_t	base_filtered;
	uint64_t	base_not_ip;
	uint64_t	base_damaged;
	uint64_t	base_damaged_bytes;
	char		resume_note[PATH_MAX + 256];	/* -v: the load resumed */
	bool		is_locked;		/* file_lock holds the lock keyed on locked */
	uint32_t	locked;
} file_load;

typedef struct follower follower;	/* load_follow.c */

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
	bool		cut;			/* the decoding thread asks for the batch
								 * queued so far to be committed, and waits */
	bool		stopped;		/* the sender stopped: the COPY failed */
	int			ce;				/* the decoding thread's copy_end */
	file_load  *f;				/* for the decoding thread */
	mx_stream  *stream;
	uint8_t    *readbuf;		/* pre-hash reads */
	EVP_MD_CTX *md;
	EVP_MD_CTX *md_cut;			/* a copy of the streaming hash, at a cut */
	char	   *next_path;		/* --follow: the next file of the rotation
								 * set, once the last one was rotated */
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

/* load_signals.c: what the handler reads (see there) */
extern volatile sig_atomic_t sig_caught;
extern volatile sig_atomic_t sig_parent;
extern volatile sig_atomic_t sig_worker;
extern pid_t sig_pids[MAX_JOBS];
extern volatile sig_atomic_t sig_npids;
extern const char *volatile sig_file;
extern volatile sig_atomic_t sig_in_txn;
extern volatile sig_atomic_t sig_batches;
extern shared *volatile sig_shared;
extern volatile sig_atomic_t sig_tty;
extern struct termios sig_tty_mode;

/* load_output.c: the progress line's state */
extern progress prog;

/* load_output.c: messages, progress, summary */
extern int64_t now_ns(void);
extern void emit(const char *fmt,...);
extern void usage_error(const char *fmt,...);
extern void usage_error_hint(const char *hint, const char *fmt,...);
extern void report_decode_error(const char *path, const mx_error *err);
extern void report_server_error(const char *path, PGconn *conn, PGresult *res);
extern void progress_draw(shared *sh, bool force);
extern void progress_clear(void);
extern void print_summary(const options *opt, shared *sh, int64_t elapsed_ns);
extern void progress_init(const options *opt);

/* load_signals.c: signals */
extern void catch_interrupts(void);
extern void block_interrupts(bool block);

/* load_db.c: connection and catalog */
extern PGconn *connect_db(const options *opt, char **typed);
extern PGresult *query(PGconn *conn, const char *sql, int n, const char *const *params);
extern char *xasprintf(const char *fmt,...);
extern void resolve_target(PGconn *conn, const options *opt, target *tg);

/* load_ledger.c: the ledger */
extern void report_skip(worker *w, const file_load *f);
extern const char *identity_hint(worker *w, const file_load *f, mx_stream *stream);
extern int ledger_lookup(worker *w, file_load *f);
extern int ledger_size_seen(worker *w, file_load *f);
extern int ledger_record(worker *w, file_load *f, bool at_end);
extern uint64_t not_ip_sum(const file_load *f);
extern PGresult *ledger_resumable(worker *w, file_load *f);
extern void hash_hex(const uint8_t *h, char *out);
extern int	file_lock(worker *w, file_load *f, bool wait);
extern void file_unlock(worker *w, file_load *f);

/* load_copy.c: the read loop and the COPY sender */
extern void tap(void *arg, const uint8_t *data, size_t len);
extern bool prehash(worker *w, file_load *f, const uint64_t *at, int nat,
					uint8_t (*hashes)[HASH_LEN], int *nhashed);
extern copy_end decode_all(worker *w, file_load *f, mx_stream *stream);
extern copy_end decode_and_send(worker *w, file_load *f, mx_stream *stream);
extern void start_rows(worker *w);
extern bool on_idle(void *arg);

/* load_file.c: one file */
extern bool conn_lost(worker *w);
extern result load_file(worker *w, const char *path);
extern bool batch_commit(worker *w, file_load *f);

/* load_follow.c: a file that grows */
extern follower *follow_start(worker *w, file_load *f, int *read_fd);
extern char *follow_end(follower *fw);

/* load_workers.c: workers */
extern int run_worker(worker *w);
extern int run_jobs(worker *w, int njobs, int *worker_signal);

/* load_options.c: the command line */
extern void parse_options(int argc, char **argv, options *opt);
extern char *filter_text(const options *opt);

#endif							/* MIRAI_LOAD_H */
