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
 * much freed memory the backend keeps for its next statements.  glibc gives
 * memory freed at the top of its heap back to the system past a threshold
 * that it adapts to the sizes freed; a session that loads file after file
 * into a tracked table then faults in the memory of each statement's
 * transition table again (the rows PostgreSQL collects for the trigger, up
 * to work_mem), about 10 thousand pages a million-packet statement.  The
 * setting fixes the thresholds instead (mallopt): blocks up to 32 MB from
 * the heap, and up to the setting kept free at its top.  It is per backend
 * (ALTER ROLE loader SET ..., or SET in the session) and does nothing
 * where the C library is not glibc.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fmgr.h"
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
	}
	else if (changed)
	{
		/* glibc's initial thresholds (fixed: it adapts them only until set) */
		mallopt(M_MMAP_THRESHOLD, 128 * 1024);
		mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	}
#endif
}

/* Called once per backend, when the library is loaded. */
void
_PG_init(void)
{
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
							"Freed memory a backend keeps for its next statements instead of giving it back to the system.",
							"For sessions that load into tracked tables: each statement's transition table is then not faulted in again. 0 leaves it to the C library (glibc only).",
							&keep_free_memory, 0, 0, 1048576,
							PGC_USERSET, GUC_UNIT_KB, NULL, assign_keep_free_memory, NULL);
	MarkGUCPrefixReserved("mirai_ext");
}
