/*-------------------------------------------------------------------------
 *
 * load_output.c
 *	  What mirai_load says: messages on standard error, one write each;
 *	  usage and server errors; the progress line and the summary.
 *
 * src/bin/load_output.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

progress	prog;

/* Monotonic clock in nanoseconds. */
int64_t
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
void
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

void
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	usage_errorv(NULL, fmt, ap);
	va_end(ap);
}

void
usage_error_hint(const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	usage_errorv(hint, fmt, ap);
	va_end(ap);
}

/* A decoder error, in the stream's words: pcap_read's in SQL. */
void
report_decode_error(const char *path, const mx_error *err)
{
	mx_message	m;

	mx_error_text(path, err, &m);
	emit("%s: error: %s\n%s%s%s", PROGNAME, m.text, m.detail[0] ? "DETAIL:  " : "",
		 m.detail, m.detail[0] ? "\n" : "");
}

/* The server's error, with its detail and hint, after the file's name. */
void
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
void
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
void
progress_clear(void)
{
	if (prog.on && prog.shown && write(STDERR_FILENO, "\r\033[K", 4) < 0)
	{
		/* nothing to do */
	}
	prog.shown = false;
}

/* The one-line summary on stdout. */
void
print_summary(const options *opt, shared *sh, int64_t elapsed_ns)
{
	const totals *t = &sh->tot;
	double		secs = elapsed_ns / 1e9;
	char		rate[32];
	char		left_text[48] = "";
	char		reasons[512] = "";
	char		damage[160] = "";
	char		resumed[64] = "";
	size_t		n = 0;
	int			r;
	int			done = (int) (t->files_loaded + t->files_skipped + t->files_failed);
	int			left = opt->nfiles - done;
	int			nfiles = left < 0 ? done : opt->nfiles; /* --follow: rotated files too */

	human(rate, sizeof(rate), secs > 0 ? t->packets / secs : 0);
	if (left > 0)
		snprintf(left_text, sizeof(left_text), ", %d not attempted", left);
	if (t->files_resumed == 1)
		snprintf(resumed, sizeof(resumed), " (1 resumed from record %llu)",
				 (unsigned long long) t->resumed_from);
	else if (t->files_resumed)
		snprintf(resumed, sizeof(resumed), " (%llu resumed)",
				 (unsigned long long) t->files_resumed);
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
	printf("%s: %d file%s: %llu loaded%s, %llu already loaded, %llu failed%s; "
		   "%llu packets %s in %.2f s (%s packets/s, %.1f MB/s)%s%s%s\n",
		   PROGNAME, nfiles, nfiles == 1 ? "" : "s",
		   (unsigned long long) t->files_loaded, resumed,
		   (unsigned long long) t->files_skipped,
		   (unsigned long long) t->files_failed, left_text,
		   (unsigned long long) t->packets,
		   opt->dry_run ? "decoded (dry run)" : "loaded",
		   secs, rate, secs > 0 ? t->bytes / secs / 1e6 : 0.0,
		   n ? "; not loaded: " : "", reasons, damage);
	fflush(stdout);
}

/* Fill the progress state: on a terminal, unless -q. */
void
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
