/*-------------------------------------------------------------------------
 *
 * rollup_partcache.c
 *		The parts' packed columns this backend read, by row version, for the
 *		range functions (rollup_range.c).
 *
 * A dashboard asks for the top sources of the same range every few
 * seconds; each time the threshold algorithm looks its candidates up in
 * the parts of the days they are not listed in, and detoasting those parts
 * (tens of kilobytes each, into fresh memory) was most of its time.  So a
 * backend keeps the Bloom filters and entries it read, keyed by table, day,
 * part and column, with the row version they came from (xmin, ctid): a
 * call reads the versions of its days' parts in one query and takes from
 * here those that did not change.  A version of an aborted write no longer
 * matches the row, so it is read again.
 *
 * At most mirai_ext.part_cache_size is kept (64 MB unless set).  Past
 * that, new columns are not kept, and the next call (partcache_begin)
 * empties the cache: no call ever sees a column it was given freed under
 * it, and a cache filled by other questions does not keep a new one from
 * being kept.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "common/hashfn.h"
#include "storage/itemptr.h"
#include "utils/memutils.h"

#include "mirai_ext.h"
#include "rollup.h"

/* mirai_ext.part_cache_size, in bytes */
#define PART_CACHE_BYTES	((Size) mirai_part_cache_size * 1024)

typedef struct PartCacheKey
{
	Oid			relid;
	int32		day;
	int32		part;
	int32		column;			/* PartColumn */
} PartCacheKey;

typedef struct PartCacheEntry
{
	PartCacheKey key;
	char		status;
	TransactionId xmin;
	ItemPointerData ctid;
	bytea	   *value;			/* in part_cache_cxt */
} PartCacheEntry;

#define SH_PREFIX		partcache
#define SH_ELEMENT_TYPE	PartCacheEntry
#define SH_KEY_TYPE		PartCacheKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) &(k), sizeof(PartCacheKey))
#define SH_EQUAL(tb, a, b)	(memcmp(&(a), &(b), sizeof(PartCacheKey)) == 0)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static MemoryContext part_cache_cxt;
static partcache_hash *part_cache;
static Size part_cache_bytes;
static bool part_cache_refused;	/* a column did not fit since the call began */
static bool part_cache_churns;	/* the last call filled it */

/*
 * At the start of a call: empty the cache when the last call found it full
 * (a column did not fit), so that what this call reads is kept, not what
 * earlier calls read.
 */
void
partcache_begin(void)
{
	if (part_cache_cxt == NULL)
		part_cache_cxt = AllocSetContextCreate(TopMemoryContext, "mirai_ext part cache",
											   ALLOCSET_DEFAULT_SIZES);
	part_cache_churns = part_cache != NULL && part_cache_refused;
	if (part_cache == NULL || part_cache_refused || part_cache_bytes > PART_CACHE_BYTES)
	{
		MemoryContextReset(part_cache_cxt);
		part_cache = partcache_create(part_cache_cxt, 256, NULL);
		part_cache_bytes = 0;
	}
	part_cache_refused = false;
}

/* A column of a part as this version of its row holds it, or NULL. */
bytea *
partcache_get(Oid relid, int32 day, int32 part, PartColumn column, TransactionId xmin,
			  ItemPointer ctid)
{
	PartCacheKey k;
	PartCacheEntry *e;

	memset(&k, 0, sizeof(k));
	k.relid = relid;
	k.day = day;
	k.part = part;
	k.column = (int32) column;
	e = part_cache ? partcache_lookup(part_cache, k) : NULL;
	if (e == NULL || e->xmin != xmin || !ItemPointerEquals(&e->ctid, ctid))
		return NULL;
	return e->value;
}

/*
 * Would the cache keep a column of len bytes for later calls?  Not when the
 * last call filled it: the parts the backend reads do not fit, and this
 * call's columns are likely emptied at the next.
 */
bool
partcache_keeps(Size len)
{
	return part_cache != NULL && !part_cache_churns &&
		part_cache_bytes + len <= PART_CACHE_BYTES;
}

/*
 * Keep a column read from this version of a part's row; returns the copy
 * kept, or value when the cache is full.
 */
bytea *
partcache_put(Oid relid, int32 day, int32 part, PartColumn column, TransactionId xmin,
			  ItemPointer ctid, bytea *value)
{
	PartCacheKey k;
	PartCacheEntry *e;
	bool		found;
	Size		len = VARSIZE_ANY(value);

	if (part_cache == NULL)
		return value;
	if (part_cache_bytes + len > PART_CACHE_BYTES)
	{
		part_cache_refused = true;
		return value;
	}
	memset(&k, 0, sizeof(k));
	k.relid = relid;
	k.day = day;
	k.part = part;
	k.column = (int32) column;
	e = partcache_insert(part_cache, k, &found);
	if (found)
	{
		part_cache_bytes -= VARSIZE_ANY(e->value);
		pfree(e->value);
	}
	e->xmin = xmin;
	e->ctid = *ctid;
	e->value = MemoryContextAlloc(part_cache_cxt, len);
	memcpy(e->value, value, len);
	part_cache_bytes += len;
	return e->value;
}
