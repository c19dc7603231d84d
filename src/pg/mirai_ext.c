/*-------------------------------------------------------------------------
 *
 * mirai_ext.c
 *		Module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * The type lives in packet.c, the capture readers in capture.c, GeoIP
 * lookups in geoip.c.  Settings (GUCs) are defined in _PG_init under the
 * reserved prefix "mirai_ext", before the prefix is reserved.
 *
 * mirai_ext.keep_free_memory is the C library's, not the extension's: how
 * much memory the backend keeps ready for its next statements.  glibc gives
 * memory freed at the top of its heap back to the system past a threshold
 * that it adapts to the sizes freed; a session that loads file after file
 * into a tracked table then faults in the memory of each statement's
 * transition table again (the rows PostgreSQL collects for the trigger, up
 * to work_mem), about 10 thousand pages a million-packet statement.  The
 * setting fixes the thresholds instead (mallopt): blocks up to 32 MB from
 * the heap, and up to the setting kept free at its top.  It also takes
 * that memory at once, in transparent huge pages where the kernel gives
 * them: 256 MB then costs a few hundred page faults (about 15 ms on a
 * virtual machine, test/bench/fresh_pages.c; more when the kernel must
 * first compact memory), where 4 kB pages cost 65 thousand (0.7 s), so even a session's first statement
 * finds its transition table's memory ready.  It is per backend (ALTER
 * ROLE loader SET ..., or SET in the session) and does nothing where the C
 * library is not glibc.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/mman.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "mirai_ext.h"

PG_MODULE_MAGIC;

/* mirai_ext.rollup_part_limit, in kB (rollup_day.c) */
int			mirai_rollup_part_limit = 65536;

/* mirai_ext.part_cache_size, in kB (rollup_partcache.c) */
int			mirai_part_cache_size = 65536;

/* mirai_ext.keep_free_memory, in kB; 0: the C library decides */
static int	keep_free_memory = 0;

void		_PG_init(void);

/* memory prefault_heap made ready, in kB */
static int	prefaulted = 0;

/*
 * Take kb of memory from the system now, in huge pages: one block from the
 * heap (mapping disabled for the allocation), the kernel asked to back it
 * with transparent huge pages, written, and freed back to the heap's top,
 * where the trim threshold (just above it) keeps it for the statements.
 * Only in a client backend (not in the postmaster, whose children would
 * copy it, nor in parallel or background workers), only growing, and only
 * where the kernel gives huge pages when asked: in 4 kB pages the same
 * memory costs what faulting it in statement by statement would.
 */
static void
prefault_heap(int kb)
{
#if defined(__GLIBC__) && defined(M_MMAP_MAX) && defined(MADV_HUGEPAGE)
	const Size	huge = (Size) 2 * 1024 * 1024;
	Size		size;
	char	   *p;
	uintptr_t	lo,
				hi;
	FILE	   *f;
	char		mode[128] = "";

	if (!IsUnderPostmaster || MyBackendType != B_BACKEND || kb <= prefaulted + 4096)
		return;
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f == NULL)
		return;
	if (fgets(mode, sizeof(mode), f) == NULL)
		mode[0] = '\0';
	fclose(f);
	if (strstr(mode, "[always]") == NULL && strstr(mode, "[madvise]") == NULL)
		return;
	/* below the trim threshold, or free() would give it straight back */
	size = (Size) (kb - 2048) * 1024;
	mallopt(M_MMAP_MAX, 0);
	p = malloc(size);
	mallopt(M_MMAP_MAX, 65536);	/* glibc's default */
	if (p == NULL)
		return;
	lo = TYPEALIGN(huge, (uintptr_t) p);
	hi = TYPEALIGN_DOWN(huge, (uintptr_t) p + size);
	if (hi > lo && madvise((void *) lo, hi - lo, MADV_HUGEPAGE) == 0)
	{
		for (char *a = p; a < p + size; a += 4096)
			*(volatile char *) a = 0;
		prefaulted = kb;
	}
	free(p);
#endif
}

static void
assign_keep_free_memory(int newval, void *extra)
{
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	static bool changed = false;

	if (newval > 0)
	{
		/* glibc's largest adaptive threshold; larger blocks are mapped apart */
		mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
		mallopt(M_TRIM_THRESHOLD, (int) Min((int64) newval * 1024, PG_INT32_MAX));
		changed = true;
		if (newval < prefaulted)
			prefaulted = 0;		/* the heap may be trimmed below it */
		prefault_heap(newval);
	}
	else if (changed)
	{
		/* glibc's initial thresholds (fixed: it adapts them only until set) */
		mallopt(M_MMAP_THRESHOLD, 128 * 1024);
		mallopt(M_TRIM_THRESHOLD, 128 * 1024);
		prefaulted = 0;
	}
#endif
}

/*
 * Let glibc keep what a query frees, within bounds, as it would after a
 * large block: it raises its thresholds to the size of a mapped block
 * when one is freed (blocks up to that size from the heap since, twice as
 * much kept free at its top), unless they were fixed (mallopt, as
 * keep_free_memory does).  Without that, a range function over 100 M
 * packets works in about 2 MB of heap, gives it back to the system at the
 * end of the call (past the initial 128 kB), and the next call faults it
 * in again: 6.5 to 9.7 ms a call where it is 1.2 to 1.7 ms otherwise.  So
 * one block of 8 MB, never touched, is mapped and freed when the library
 * loads: up to 16 MB kept free a backend.
 */
static void
adapt_malloc_thresholds(void)
{
#ifdef __GLIBC__
	void	   *volatile p = malloc((Size) 8 * 1024 * 1024);

	free(p);
#endif
}

/* Called once per backend, when the library is loaded. */
void
_PG_init(void)
{
	adapt_malloc_thresholds();
	mirai_geoip_init();
	DefineCustomIntVariable("mirai_ext.rollup_part_limit",
							"Largest packed part of a rollup day that may be written.",
							"A guard far below the 1 GB value limit: a part beyond it is an error. Parts split as days grow, so normal parts are far smaller.",
							&mirai_rollup_part_limit, 65536, 64, 1048576,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("mirai_ext.part_cache_size",
							"Rollup parts a backend keeps between queries, read as they were stored.",
							"The range functions and mirai_bots take the parts they read again from here when their rows did not change. 0 keeps none.",
							&mirai_part_cache_size, 65536, 0, 4194304,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("mirai_ext.keep_free_memory",
							"Memory a backend keeps ready for its next statements instead of giving it back to the system.",
							"For sessions that load into tracked tables: taken at once, in huge pages where the kernel gives them, and kept when freed, so no statement's transition table is faulted in. 0 leaves it to the C library (glibc only).",
							&keep_free_memory, 0, 0, 1048576,
							PGC_USERSET, GUC_UNIT_KB, NULL, assign_keep_free_memory, NULL);
	MarkGUCPrefixReserved("mirai_ext");
}
