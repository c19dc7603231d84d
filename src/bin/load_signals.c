/*-------------------------------------------------------------------------
 *
 * load_signals.c
 *	  SIGINT and SIGTERM: the file being loaded is rolled back and named,
 *	  the exit status is 128 + the signal.
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
 *
 * src/bin/load_signals.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

volatile sig_atomic_t sig_caught;	/* the signal, once caught */
volatile sig_atomic_t sig_parent;	/* forward to the workers */
volatile sig_atomic_t sig_worker;	/* a -j worker */
pid_t sig_pids[MAX_JOBS];	/* the workers, for the parent */
volatile sig_atomic_t sig_npids;
const char *volatile sig_file;	/* the file being loaded */
volatile sig_atomic_t sig_in_txn;	/* ... in its open transaction */
volatile sig_atomic_t sig_batches;	/* ... after this many batches committed */
shared *volatile sig_shared;
volatile sig_atomic_t sig_tty = -1;	/* a password prompt's terminal */
struct termios sig_tty_mode;	/* ... and its mode to restore */

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
		if (sig_batches)
		{
			sig_append(buf, sizeof(buf), &n, PROGNAME ": interrupted, rolled back the open batch of \"");
			sig_append(buf, sizeof(buf), &n, sig_file);
			sig_append(buf, sizeof(buf), &n, "\": the batches committed before it stay loaded\n");
		}
		else
		{
			sig_append(buf, sizeof(buf), &n, PROGNAME ": interrupted, rolled back \"");
			sig_append(buf, sizeof(buf), &n, sig_file);
			sig_append(buf, sizeof(buf), &n, "\": none of its packets were loaded\n");
		}
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
void
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
void
block_interrupts(bool block)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}
