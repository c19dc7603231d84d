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

void		_PG_init(void);

/* Called once per backend, when the library is loaded. */
void
_PG_init(void)
{
	mirai_geoip_init();
	MarkGUCPrefixReserved("mirai_ext");
}
