/*-------------------------------------------------------------------------
 *
 * replay.c
 *		Run a fuzz target's LLVMFuzzerTestOneInput over files, without
 *		libFuzzer, so that the default test run replays the committed
 *		corpora with any C compiler (test/t/070_fuzz.t builds it with gcc
 *		and AddressSanitizer).
 *
 * Usage: replay FILE|DIR...   (a directory: every regular file in it)
 *
 * Prints "ok N FILE" for each input and "replayed N inputs" at the end, on
 * stdout, flushed, so that when an input crashes the process the last
 * line names it.  Exits 0 when every input ran.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long ninputs;

/* Read a whole file into a buffer of exactly its size; exit on failure. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	struct stat sb;
	uint8_t    *buf;

	if (f == NULL || fstat(fileno(f), &sb) != 0)
	{
		perror(path);
		exit(2);
	}
	*len = (size_t) sb.st_size;
	buf = malloc(*len ? *len : 1);
	if (buf == NULL || fread(buf, 1, *len, f) != *len)
	{
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	return buf;
}

/* Run one file through the target. */
static void
run_file(const char *path)
{
	size_t		len;
	uint8_t    *buf = slurp(path, &len);

	printf("run %s\n", path);
	fflush(stdout);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	ninputs++;
	printf("ok %lu %s\n", ninputs, path);
	fflush(stdout);
}

/* Compare for qsort: directory entries in name order, for a stable log. */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A file, or every regular file of a directory. */
static void
run_path(const char *path)
{
	struct stat sb;
	DIR		   *d;
	struct dirent *e;
	char	  **names = NULL;
	size_t		n = 0,
				cap = 0,
				i;

	if (stat(path, &sb) != 0)
	{
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode))
	{
		run_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL)
	{
		perror(path);
		exit(2);
	}
	while ((e = readdir(d)) != NULL)
	{
		char	   *full;

		if (e->d_name[0] == '.')
			continue;
		full = malloc(strlen(path) + strlen(e->d_name) + 2);
		sprintf(full, "%s/%s", path, e->d_name);
		if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode))
		{
			free(full);
			continue;
		}
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(char *));
		}
		names[n++] = full;
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_names);
	for (i = 0; i < n; i++)
	{
		run_file(names[i]);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	int			i;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("replayed %lu inputs\n", ninputs);
	return 0;
}
