/*-------------------------------------------------------------------------
 *
 * load_workers.c
 *	  Workers: one connection each, taking files from the list in order;
 *	  -j N forks N of them and waits, forwarding signals.
 *
 * src/bin/load_workers.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* Take files from the list until it is empty; returns the exit status. */
int
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
	w->md_cut = EVP_MD_CTX_new();
	if (i < NSLOTS || w->readbuf == NULL || w->md == NULL || w->md_cut == NULL ||
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
		/* --follow: the files its rotation set goes on with, in turn */
		if (w->next_path)
		{
			char	   *prev = NULL;

			while (w->next_path && (r == R_LOADED || r == R_SKIPPED) && !w->sh->stop)
			{
				char	   *next = w->next_path;

				w->next_path = NULL;
				if (w->opt->verbose)
					emit("%s: \"%s\" was rotated: following \"%s\"\n", PROGNAME,
						 prev ? prev : w->opt->files[i], next);
				r = load_file(w, next);
				free(prev);
				prev = next;
			}
			free(prev);
			free(w->next_path);
			w->next_path = NULL;
		}
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
	EVP_MD_CTX_free(w->md_cut);
	for (i = 0; i < NSLOTS; i++)
		free(w->slots[i]);
	free(w->readbuf);
	return status;
}

/*
 * -j: fork njobs workers (each loads files with run_worker on its own
 * connection) and wait for them, drawing the progress line meanwhile.
 * Returns the exit status; *worker_signal is the signal of a worker
 * interrupted on its own, or unchanged.
 */
int
run_jobs(worker *w, int njobs, int *worker_signal)
{
	int			running = 0;
	int			status = 0;
	int			i;

	prog.jobs = njobs;
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
			w->id = i;
			_exit(run_worker(w));
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
				*worker_signal = code - 128;
				w->sh->stop = 1;
			}
			else if (code == EXIT_CONNECT || (code == EXIT_FAILED && status == 0))
				status = code;
			running--;
			continue;
		}
		if (p < 0 && errno != EINTR)
			break;
		if (!sig_caught)
			progress_draw(w->sh, false);
		{
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	return status;
}
