/*-------------------------------------------------------------------------
 *
 * mirai_ext.c
 *		Module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * The type lives in packet.c, the capture readers in capture.c, GeoIP
 * lookups in geoip.c.  Settings (GUCs) are defined in _PG_init under the
 * reserved prefix "mirai_ext", before the prefix is reserved.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "mirai_ext.h"

PG_MODULE_MAGIC;

/* mirai_ext.rollup_part_limit, in kB (rollup_day.c) */
int			mirai_rollup_part_limit = 65536;

void		_PG_init(void);

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
	MarkGUCPrefixReserved("mirai_ext");
}
