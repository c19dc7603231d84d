/*-------------------------------------------------------------------------
 *
 * hooks.c
 *		A look inside the reader for test/t/077_interrupts.t: does every
 *		loop that can run through a whole file without handing out a
 *		record ask the caller's interrupted hook, and does it ask cheaply?
 *
 *		hooks FILE N [skip]
 *
 * Reads FILE through mx_reader_open_fd_hooks with an interrupted hook that
 * answers yes from its Nth question on (0: never); "skip" turns salvage
 * mode on.  A regular file never waits in poll(), so the hook is asked only
 * as the reader reads on.  Prints one line:
 *
 *		records=R asked=K status=NAME errnum=E input=B
 *
 * (records handed out, questions asked, how reading ended, errno of an
 * I/O error, bytes of the file passed when it ended: compressed bytes for
 * gzip).
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_decode.h"

typedef struct answers
{
	unsigned long yes_from;		/* 0: never */
	unsigned long asked;
} answers;

static bool
interrupted(void *arg)
{
	answers    *a = (answers *) arg;

	a->asked++;
	return a->yes_from != 0 && a->asked >= a->yes_from;
}

static void
damage(void *arg, const mx_error *err, uint64_t bytes)
{
	(void) arg;
	(void) err;
	(void) bytes;
}

int
main(int argc, char **argv)
{
	answers		a = {0, 0};
	mx_input_hooks hooks;
	mx_reader  *rd;
	mx_record	rec;
	mx_error	err;
	mx_status	st;
	unsigned long records = 0;
	unsigned long long input = 0;
	int			fd;

	if (argc < 3)
	{
		fprintf(stderr, "usage: hooks FILE N [skip]\n");
		return 2;
	}
	a.yes_from = strtoul(argv[2], NULL, 10);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
	{
		perror(argv[1]);
		return 2;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.interrupted = interrupted;
	hooks.interrupted_arg = &a;
	memset(&err, 0, sizeof(err));
	rd = mx_reader_open_fd_hooks(fd, &hooks, &err);
	if (rd == NULL)
		st = err.code;
	else
	{
		if (argc > 3 && strcmp(argv[3], "skip") == 0)
			mx_reader_set_salvage(rd, damage, NULL);
		while ((st = mx_reader_next(rd, &rec, &err)) == MX_OK)
			records++;
		input = (unsigned long long) mx_reader_input_offset(rd);
		mx_reader_close(rd);
	}
	printf("records=%lu asked=%lu status=%s errnum=%d input=%llu\n", records,
		   a.asked, mx_status_name(st), st == MX_ERR_IO ? err.errnum : 0, input);
	return 0;
}
