/*-------------------------------------------------------------------------
 *
 * load_follow.c
 *	  --follow: a file that is still being written (tcpdump -w FILE, with
 *	  -G or -C rotation too), read as it grows until it is done.
 *
 * A thread of its own reads the file and writes what it reads into a pipe
 * that the packet stream reads, as it would read tcpdump -w - : the
 * decoder is the same, a record is decoded only once it is whole, and the
 * reader's idle hook (every 100 ms while the pipe is empty) is where a
 * batch that is due by time is committed.  At the file's end the thread
 * looks again every FOLLOW_POLL_MS.
 *
 * The stop rule.  A file is done when it has stopped growing and either
 *	- a newer file of its rotation set is there: the writer closed this
 *	  file before it opened that one (tcpdump -C and -G do), so this one
 *	  is read to its end once more and the load goes on with that file; or
 *	- it has not grown for --follow-idle seconds (a writer that exited).
 * The rotation set of a file is the files of its directory whose names are
 * its name with other digits: "dump", "dump1", "dump2" (-C), or
 * "h-20240501-1000.pcap", "h-20240501-1100.pcap" (-G with strftime
 * digits).  A newer file of the set comes after this one's name in
 * natural order (runs of digits compared as numbers) and was modified no
 * earlier; the first such name is the next file.  A file that shrinks or
 * is replaced under its name ends what is read of it, with a warning.
 *
 * src/bin/load_follow.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

#include <dirent.h>

struct follower
{
	pthread_t	th;
	int			fd;				/* the file */
	int			wfd;			/* the pipe's end this thread writes */
	char	   *path;
	int64_t		idle_ns;
	uint8_t    *buf;
	volatile int stop;			/* the load ended: stop at once */
	char	   *next;			/* the next file of the rotation set */
};

/* The name with its runs of digits left out: the rotation set's key. */
static void
digitless(const char *s, char *out, size_t size)
{
	size_t		n = 0;

	for (; *s && n + 1 < size; s++)
		if (!isdigit((unsigned char) *s))
			out[n++] = *s;
	out[n] = '\0';
}

/* strcmp, but runs of digits compare as numbers ("dump2" < "dump10"). */
static int
natural_cmp(const char *a, const char *b)
{
	while (*a && *b)
	{
		if (isdigit((unsigned char) *a) && isdigit((unsigned char) *b))
		{
			const char *ea,
					   *eb;
			size_t		la,
						lb;
			int			c;

			while (*a == '0' && isdigit((unsigned char) a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char) b[1]))
				b++;
			for (ea = a; isdigit((unsigned char) *ea); ea++)
				;
			for (eb = b; isdigit((unsigned char) *eb); eb++)
				;
			la = (size_t) (ea - a);
			lb = (size_t) (eb - b);
			if (la != lb)
				return la < lb ? -1 : 1;
			if ((c = memcmp(a, b, la)) != 0)
				return c;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

/*
 * The next file of path's rotation set (see the stop rule), or NULL: a
 * regular file in the same directory, named as path but for its digits,
 * after it in natural order, modified no earlier than st.
 */
static char *
next_of_set(const char *path, const struct stat *st)
{
	char		dir[PATH_MAX];
	char		key[NAME_MAX + 1],
				other[NAME_MAX + 1];
	char		best[NAME_MAX + 1] = "";
	const char *base = strrchr(path, '/');
	DIR		   *d;
	struct dirent *e;

	if (base)
	{
		snprintf(dir, sizeof(dir), "%.*s", (int) (base - path), path);
		if (dir[0] == '\0')
			strcpy(dir, "/");
		base++;
	}
	else
	{
		strcpy(dir, ".");
		base = path;
	}
	digitless(base, key, sizeof(key));
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL)
	{
		char		full[PATH_MAX];
		struct stat est;

		digitless(e->d_name, other, sizeof(other));
		if (strcmp(other, key) != 0 || natural_cmp(e->d_name, base) <= 0 ||
			(best[0] && natural_cmp(e->d_name, best) >= 0))
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
		if (stat(full, &est) != 0 || !S_ISREG(est.st_mode) ||
			est.st_mtim.tv_sec < st->st_mtim.tv_sec ||
			(est.st_mtim.tv_sec == st->st_mtim.tv_sec &&
			 est.st_mtim.tv_nsec < st->st_mtim.tv_nsec))
			continue;
		snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (best[0] == '\0')
		return NULL;
	return xasprintf("%s%s%s", base == path ? "" : dir,
					 base == path ? "" : strcmp(dir, "/") == 0 ? "" : "/", best);
}

/*
 * Read the file from where it is to its end now, into the pipe.  1: read
 * something, 0: nothing new, -1: the pipe's reader is gone or a read
 * failed (reported).
 */
static int
pump(follower *fw)
{
	int			got = 0;

	for (;;)
	{
		ssize_t		r = read(fw->fd, fw->buf, READ_CHUNK);
		ssize_t		off = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			emit("%s: error: could not read capture file \"%s\": %s\n", PROGNAME,
				 fw->path, strerror(errno));
			return -1;
		}
		if (r == 0)
			return got;
		got = 1;
		while (off < r)
		{
			ssize_t		n = write(fw->wfd, fw->buf + off, (size_t) (r - off));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;		/* EPIPE: the load ended */
			off += n;
		}
		if (fw->stop)
			return -1;
	}
}

/* The thread: pump, and at the end, look again until the stop rule holds. */
static void *
follow_thread(void *arg)
{
	follower   *fw = (follower *) arg;
	int64_t		grown = now_ns();
	sigset_t	set;

	/* a write to a pipe whose reader is gone fails with EPIPE instead */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	/* and SIGINT and SIGTERM go to the worker's thread (see decode_thread) */
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!fw->stop)
	{
		struct stat st,
					named;
		struct timespec ts = {0, FOLLOW_POLL_MS * 1000 * 1000};
		int			got = pump(fw);
		off_t		at;

		if (got < 0)
			break;
		if (got)
		{
			grown = now_ns();
			continue;
		}
		at = lseek(fw->fd, 0, SEEK_CUR);
		if (fstat(fw->fd, &st) != 0)
			break;
		if (st.st_size < at || stat(fw->path, &named) != 0 ||
			named.st_ino != st.st_ino || named.st_dev != st.st_dev)
		{
			emit("%s: warning: stopped following \"%s\": the file was truncated, replaced or removed\n",
				 PROGNAME, fw->path);
			break;
		}
		if ((fw->next = next_of_set(fw->path, &st)) != NULL)
		{
			/* rotated: what was written before the next file was opened */
			pump(fw);
			break;
		}
		if (now_ns() - grown >= fw->idle_ns)
			break;
		nanosleep(&ts, NULL);
	}
	close(fw->wfd);
	fw->wfd = -1;
	return NULL;
}

/*
 * Start following f (its descriptor at offset 0): *read_fd is the pipe
 * the stream reads.  The follower owns f->fd from here.  NULL with errno
 * set when no pipe or thread could be had.
 */
follower *
follow_start(worker *w, file_load *f, int *read_fd)
{
	follower   *fw = calloc(1, sizeof(follower));
	int			p[2];

	if (fw == NULL || (fw->buf = malloc(READ_CHUNK)) == NULL || pipe(p) != 0)
	{
		if (fw)
			free(fw->buf);
		free(fw);
		return NULL;
	}
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	fw->fd = f->fd;
	fw->wfd = p[1];
	fw->path = strdup(f->path);
	fw->idle_ns = w->opt->follow_idle_ns;
	if (fw->path == NULL || pthread_create(&fw->th, NULL, follow_thread, fw) != 0)
	{
		close(p[0]);
		close(p[1]);
		free(fw->path);
		free(fw->buf);
		free(fw);
		return NULL;
	}
	*read_fd = p[0];
	return fw;
}

/*
 * Stop following (the stream was closed, so the thread's writes fail),
 * wait for the thread, and give the next file of the rotation set, if the
 * file was rotated (the caller frees it), else NULL.
 */
char *
follow_end(follower *fw)
{
	char	   *next;

	fw->stop = 1;
	pthread_join(fw->th, NULL);
	close(fw->fd);
	next = fw->next;
	free(fw->path);
	free(fw->buf);
	free(fw);
	return next;
}
