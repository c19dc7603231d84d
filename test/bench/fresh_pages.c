/*
 * fresh_pages.c
 *		What touching fresh memory costs on this machine: MB of anonymous
 *		memory written once a page, in 4 kB pages and with transparent huge
 *		pages asked for (madvise), then written again; three rounds each.
 *
 *	cc -O2 -o /tmp/fresh_pages test/bench/fresh_pages.c && /tmp/fresh_pages 100
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE ((size_t) 2 << 20)

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	size_t		mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
	size_t		size = mb << 20;
	int			huge,
				round;

	for (huge = 0; huge <= 1; huge++)
		for (round = 0; round < 3; round++)
		{
			char	   *map = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE,
								   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char	   *p;
			double		t0,
						t1,
						t2;
			size_t		i;

			if (map == MAP_FAILED)
			{
				perror("mmap");
				return 1;
			}
			p = (char *) (((unsigned long) map + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
			if (huge)
				(void) madvise(p, size, MADV_HUGEPAGE);
			t0 = now_ms();
			for (i = 0; i < size; i += 4096)
				p[i] = 1;
			t1 = now_ms();
			memset(p, 2, size);
			t2 = now_ms();
			printf("%zu MB, %s: first touch %.1f ms, written again %.1f ms\n",
				   mb, huge ? "huge pages asked for" : "4 kB pages", t1 - t0, t2 - t1);
			munmap(map, size + HUGE_PAGE);
		}
	return 0;
}
