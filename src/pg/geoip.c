/*-------------------------------------------------------------------------
 *
 * geoip.c
 *		GeoIP lookups with libmaxminddb: country, continent, autonomous system.
 *
 * Two databases, each named by a superuser-only setting:
 *		mirai_ext.geoip_database		a country database (GeoLite2-Country,
 *										GeoLite2-City, DB-IP country, IPinfo lite)
 *		mirai_ext.geoip_asn_database	an ASN database (GeoLite2-ASN, DB-IP ASN,
 *										IPinfo lite)
 *
 * Handles.  Each backend (and each parallel worker) opens a database with
 * MMDB_open(MMDB_MODE_MMAP) on first use and keeps it open.  The MMDB_s
 * lives in static memory and what libmaxminddb allocates inside it is
 * malloc'd: it is released with MMDB_close only, never pfree.  Nothing is
 * allocated per lookup: MMDB_lookup_sockaddr and MMDB_aget_value only read
 * the mapping, so an ERROR raised mid-lookup leaks nothing.
 *
 * Reopening.  A database is reopened when its setting changes (the assign
 * hook raises a flag) and when the file is replaced on disk: geoipupdate
 * writes a new file and renames it into place, which gives a new inode.
 * The path is stat()ed at most once per statement (the check is keyed on the
 * statement start timestamp, which parallel workers inherit from their
 * leader), and the database is reopened when device, inode, size or mtime
 * differ.  So a statement sees one version of the data from start to end
 * (the functions are STABLE), and the next statement sees the new file.
 * A file overwritten in place (cp over it) instead of renamed is detected
 * too, but a mapped file that shrinks under a running lookup can fault:
 * README says to replace files by rename, as geoipupdate does.
 *
 * Record layouts.  GeoIP2 (MaxMind, DB-IP): country.iso_code,
 * country.names.en, continent.code, registered_country.iso_code,
 * autonomous_system_number, autonomous_system_organization.  IPinfo lite:
 * country_code, country, continent_code, asn ("AS13335"), as_name.  The
 * layout is found when the file is opened, from the first records of its
 * search tree; a database whose records have none of the fields a setting
 * needs (an ASN file given as the country database, say) is an ERROR, not a
 * NULL for every row.
 *
 * Addresses.  IPv4 addresses in an IPv6 tree are looked up under ::/96, as
 * libmaxminddb does (its ipv4_start_node).  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is looked up as the IPv4 address it carries, so it works
 * whether or not the database aliases ::ffff:0:0/96 and in IPv4-only
 * databases.  An IPv6 address in an IPv4-only database has no answer (NULL).
 * The netmask of an inet argument is ignored: '10.1.2.3/8' looks up
 * 10.1.2.3, and a cidr value looks up its network address.
 *
 * Speed.  geoip_country keeps the country codes it decoded in two small
 * direct-mapped caches, one keyed by the record's data-section offset (so a
 * lookup costs the tree walk and a probe) and one by IPv4 address (a repeated
 * source costs a probe).  Both are tied to the handle's generation and are
 * void after a reopen, so they never outlive the file they came from.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <maxminddb.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/timestamp.h"

#include "mirai_ext.h"

/* Which database a function reads. */
typedef enum geoip_which
{
	GEOIP_COUNTRY = 0,
	GEOIP_ASN = 1,
	GEOIP_NDB
} geoip_which;

/* The fields this file reads, one lookup path each per layout. */
typedef enum geoip_field
{
	F_COUNTRY = 0,
	F_COUNTRY_NAME,
	F_CONTINENT,
	F_REGISTERED,
	F_ASN,
	F_AS_ORG,
	F_NFIELDS
} geoip_field;

/* A record layout: the lookup path of each field, NULL where absent. */
typedef struct geoip_layout
{
	const char *name;
	const char *const *path[F_NFIELDS];
} geoip_layout;

static const char *const p_country[] = {"country", "iso_code", NULL};
static const char *const p_country_name[] = {"country", "names", "en", NULL};
static const char *const p_continent[] = {"continent", "code", NULL};
static const char *const p_registered[] = {"registered_country", "iso_code", NULL};
static const char *const p_asn[] = {"autonomous_system_number", NULL};
static const char *const p_as_org[] = {"autonomous_system_organization", NULL};
static const char *const pi_country[] = {"country_code", NULL};
static const char *const pi_country_name[] = {"country", NULL};
static const char *const pi_continent[] = {"continent_code", NULL};
static const char *const pi_asn[] = {"asn", NULL};
static const char *const pi_as_org[] = {"as_name", NULL};

/* Country layouts, tried in order; the key field is F_COUNTRY. */
static const geoip_layout country_layouts[] = {
	{"GeoIP2", {p_country, p_country_name, p_continent, p_registered, NULL, NULL}},
	{"IPinfo", {pi_country, pi_country_name, pi_continent, NULL, NULL, NULL}},
};

/* ASN layouts, tried in order; the key field is F_ASN. */
static const geoip_layout asn_layouts[] = {
	{"GeoIP2", {NULL, NULL, NULL, NULL, p_asn, p_as_org}},
	{"IPinfo", {NULL, NULL, NULL, NULL, pi_asn, pi_as_org}},
};

/* One database: its setting, its open handle and what identifies the file. */
typedef struct geoip_db
{
	const char *what;			/* "country" or "ASN", for messages */
	const char *guc_name;
	geoip_field key;			/* the field that makes it this kind */
	const geoip_layout *layouts;
	int			nlayouts;
	char	   *setting;		/* the GUC variable */
	bool		setting_changed;	/* set by the assign hook */
	bool		is_open;
	MMDB_s		mmdb;			/* malloc'd inside: MMDB_close only */
	const geoip_layout *layout;
	char		path[MAXPGPATH];	/* as opened (relative to the data dir) */
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	uint32		generation;		/* bumped at every open; 0 = never */
	TimestampTz checked_stmt;	/* statement start of the last check */
} geoip_db;

static geoip_db dbs[GEOIP_NDB] = {
	{.what = "country",.guc_name = "mirai_ext.geoip_database",.key = F_COUNTRY,
	.layouts = country_layouts,.nlayouts = lengthof(country_layouts)},
	{.what = "ASN",.guc_name = "mirai_ext.geoip_asn_database",.key = F_ASN,
	.layouts = asn_layouts,.nlayouts = lengthof(asn_layouts)},
};

static uint32 next_generation = 1;

/*
 * geoip_country's caches, valid while their generation is the handle's:
 * country codes by data-section offset (a few hundred distinct records in
 * a country database), and by IPv4 address (sources repeat: in a honeypot
 * capture a thousand addresses send most packets).  Direct-mapped.
 */
#define CC_CACHE_BITS 10
#define ADDR_CACHE_BITS 13
typedef struct cc_slot
{
	uint32		generation;
	uint32		offset;
	uint8		len;			/* 0: the record has no country */
	char		cc[7];			/* ISO 3166-1 alpha-2 is 2; room for odd files */
} cc_slot;
typedef struct addr_slot
{
	uint32		generation;
	uint32		addr;			/* IPv4, host order */
	uint8		len;			/* 0: no country */
	char		cc[7];
} addr_slot;
static cc_slot cc_cache[1 << CC_CACHE_BITS];
static addr_slot addr_cache[1 << ADDR_CACHE_BITS];

/* How far the layout probe walks the search tree at open. */
#define PROBE_MAX_NODES		20000
#define PROBE_MAX_RECORDS	256

/* The country setting changed: check the handle at its next use. */
static void
assign_country_db(const char *newval, void *extra)
{
	dbs[GEOIP_COUNTRY].setting_changed = true;
}

/* The ASN setting changed: check the handle at its next use. */
static void
assign_asn_db(const char *newval, void *extra)
{
	dbs[GEOIP_ASN].setting_changed = true;
}

/* Define the settings; called from _PG_init. */
void
mirai_geoip_init(void)
{
	DefineCustomStringVariable("mirai_ext.geoip_database",
							   "Path of the GeoIP country database (.mmdb) that geoip_country() and friends read.",
							   "A GeoLite2-Country, GeoLite2-City, DB-IP country or IPinfo lite file; "
							   "a relative path is relative to the data directory. Empty: none. "
							   "A file replaced on disk (renamed into place) is picked up by the next statement.",
							   &dbs[GEOIP_COUNTRY].setting,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, assign_country_db, NULL);
	DefineCustomStringVariable("mirai_ext.geoip_asn_database",
							   "Path of the GeoIP autonomous-system database (.mmdb) that geoip_asn() and geoip_as_org() read.",
							   "A GeoLite2-ASN, DB-IP ASN or IPinfo lite file; "
							   "a relative path is relative to the data directory. Empty: none.",
							   &dbs[GEOIP_ASN].setting,
							   "",
							   PGC_SUSET,
							   0,
							   NULL, assign_asn_db, NULL);
}

/* Is a database named in the setting? */
static inline bool
db_configured(const geoip_db *db)
{
	return db->setting != NULL && db->setting[0] != '\0';
}

/* Close the handle, if open. */
static void
db_close(geoip_db *db)
{
	if (db->is_open)
	{
		db->is_open = false;
		MMDB_close(&db->mmdb);
	}
	db->layout = NULL;
	db->path[0] = '\0';
}

/* ERROR: no database in the setting. */
static void
report_not_configured(const geoip_db *db)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("no GeoIP %s database is configured", db->what),
			 errhint("Set %s to the path of a %s .mmdb file, e.g. ALTER SYSTEM SET %s = '/var/lib/GeoIP/%s' and SELECT pg_reload_conf().",
					 db->guc_name,
					 db->key == F_COUNTRY ? "GeoLite2-Country, DB-IP or IPinfo lite" : "GeoLite2-ASN, DB-IP or IPinfo lite",
					 db->guc_name,
					 db->key == F_COUNTRY ? "GeoLite2-Country.mmdb" : "GeoLite2-ASN.mmdb")));
}

/* ERROR for a file that stat() or open() refused; errno is set. */
static void
report_file_error(const geoip_db *db, const char *path)
{
	ereport(ERROR,
			(errcode_for_file_access(),
			 errmsg("could not open GeoIP %s database \"%s\": %m", db->what, path),
			 errhint("Check %s: a relative path is relative to the data directory, and the file must be readable by the server's operating-system user.",
					 db->guc_name)));
}

/* Does this record have a usable value at path (right type)? */
static bool
record_has(MMDB_entry_s *entry, const char *const *path, geoip_field f)
{
	MMDB_entry_data_s data;

	if (path == NULL)
		return false;
	if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data)
		return false;
	if (f == F_ASN)
		return data.type == MMDB_DATA_TYPE_UINT16 ||
			data.type == MMDB_DATA_TYPE_UINT32 ||
			data.type == MMDB_DATA_TYPE_UINT64 ||
			data.type == MMDB_DATA_TYPE_INT32 ||
			data.type == MMDB_DATA_TYPE_UTF8_STRING;
	return data.type == MMDB_DATA_TYPE_UTF8_STRING;
}

/*
 * Find the layout of an open database: walk its search tree depth-first
 * from the root and test the first data records met (up to
 * PROBE_MAX_RECORDS, reading at most PROBE_MAX_NODES nodes) for the key
 * field of each layout.  Returns the first layout that any record matches,
 * or NULL; *nrecords is how many records were tested.
 */
static const geoip_layout *
probe_layout(geoip_db *db, MMDB_s *mmdb, int *nrecords)
{
	uint32		stack[2 * 130];
	int			top = 0;
	int			nodes = 0;
	int			records = 0;
	uint32		last_offset = UINT32_MAX;
	const geoip_layout *found = NULL;

	stack[top++] = 0;
	while (top > 0 && nodes < PROBE_MAX_NODES && records < PROBE_MAX_RECORDS && !found)
	{
		MMDB_search_node_s node;
		int			side;

		if (MMDB_read_node(mmdb, stack[--top], &node) != MMDB_SUCCESS)
			break;
		nodes++;
		/* push right first so that left (lower addresses) comes out first */
		for (side = 1; side >= 0; side--)
		{
			uint8		type = side ? node.right_record_type : node.left_record_type;
			uint64		rec = side ? node.right_record : node.left_record;

			if (type == MMDB_RECORD_TYPE_SEARCH_NODE)
			{
				if (top < (int) lengthof(stack))
					stack[top++] = (uint32) rec;
			}
			else if (type == MMDB_RECORD_TYPE_DATA && !found)
			{
				MMDB_entry_s entry = side ? node.right_record_entry : node.left_record_entry;
				int			i;

				if (entry.offset == last_offset)
					continue;
				last_offset = entry.offset;
				records++;
				for (i = 0; i < db->nlayouts && !found; i++)
					if (record_has(&entry, db->layouts[i].path[db->key], db->key))
						found = &db->layouts[i];
			}
		}
	}
	*nrecords = records;
	return found;
}

/* Open path as db's database, or raise the fitting ERROR. */
static void
db_open(geoip_db *db, const char *path)
{
	struct stat st;
	int			status;
	int			nrecords;
	const geoip_layout *layout;

	db_close(db);
	if (strlen(path) >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("path of the GeoIP %s database is too long", db->what),
				 errhint("Use a path shorter than %d bytes in %s.", MAXPGPATH, db->guc_name)));
	if (stat(path, &st) != 0)
		report_file_error(db, path);
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("GeoIP %s database \"%s\" is a directory", db->what, path),
				 errhint("Set %s to the path of the .mmdb file itself.", db->guc_name)));

	if (st.st_size == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("GeoIP %s database \"%s\" is not a valid MaxMind DB file", db->what, path),
				 errdetail("The file is empty."),
				 errhint("Set %s to a .mmdb file; if it is being downloaded, it should be renamed into place when complete.",
						 db->guc_name)));

	errno = 0;
	status = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (status != MMDB_SUCCESS)
	{
		int			save_errno = errno;

		/* open(), fstat(), mmap() refusing; EINVAL from mmap is not I/O */
		if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) &&
			save_errno != 0 && save_errno != EINVAL)
		{
			errno = save_errno;
			report_file_error(db, path);
		}
		if (status == MMDB_OUT_OF_MEMORY_ERROR)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory opening GeoIP %s database \"%s\"", db->what, path)));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("GeoIP %s database \"%s\" is not a valid MaxMind DB file", db->what, path),
				 errdetail("libmaxminddb: %s.", MMDB_strerror(status)),
				 errhint("Set %s to a .mmdb file; legacy GeoIP .dat files can be converted with src/demo/build_geoip.pl.",
						 db->guc_name)));
	}

	layout = probe_layout(db, &db->mmdb, &nrecords);
	if (layout == NULL)
	{
		char		dbtype[64];

		strlcpy(dbtype, db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "",
				sizeof(dbtype));
		MMDB_close(&db->mmdb);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a GeoIP %s database", path, db->what),
				 nrecords == 0 ?
				 errdetail("The database (type \"%s\") has no data records.", dbtype) :
				 errdetail("None of its first %d records has the field %s; its database type is \"%s\".",
						   nrecords,
						   db->key == F_COUNTRY ? "country.iso_code or country_code" :
						   "autonomous_system_number or asn",
						   dbtype),
				 db->key == F_COUNTRY ?
				 errhint("Set mirai_ext.geoip_database to a country database (GeoLite2-Country, GeoLite2-City, DB-IP country or IPinfo lite) and an ASN database in mirai_ext.geoip_asn_database.") :
				 errhint("Set mirai_ext.geoip_asn_database to an ASN database (GeoLite2-ASN, DB-IP ASN or IPinfo lite) and a country database in mirai_ext.geoip_database.")));
	}

	db->is_open = true;
	db->layout = layout;
	strlcpy(db->path, path, sizeof(db->path));
	db->dev = st.st_dev;
	db->ino = st.st_ino;
	db->size = st.st_size;
	db->mtime = st.st_mtim;
	db->generation = next_generation++;
}

/*
 * Make db usable for the current statement: open it, reopen it after a
 * change of setting or of the file, or raise the ERROR that says why not.
 * The file is stat()ed once per statement.
 */
static void
db_refresh(geoip_db *db, TimestampTz stmt)
{
	struct stat st;

	if (!db_configured(db))
	{
		db_close(db);
		db->setting_changed = false;
		report_not_configured(db);
	}
	if (db->setting_changed && db->is_open && strcmp(db->setting, db->path) != 0)
		db_close(db);
	db->setting_changed = false;

	if (db->is_open)
	{
		if (stat(db->path, &st) != 0)
		{
			int			save_errno = errno;

			db_close(db);
			errno = save_errno;
			report_file_error(db, db->setting);
		}
		if (st.st_dev != db->dev || st.st_ino != db->ino || st.st_size != db->size ||
			st.st_mtim.tv_sec != db->mtime.tv_sec || st.st_mtim.tv_nsec != db->mtime.tv_nsec)
			db_close(db);
	}
	if (!db->is_open)
		db_open(db, db->setting);
	db->checked_stmt = stmt;
}

/* The database, ready for this statement (or an ERROR). */
static inline geoip_db *
db_ready(geoip_which which)
{
	geoip_db   *db = &dbs[which];
	TimestampTz stmt = GetCurrentStatementStartTimestamp();

	if (unlikely(!db->is_open || db->setting_changed || db->checked_stmt != stmt))
		db_refresh(db, stmt);
	return db;
}

/*
 * Look an address up in db.  Returns false when the database has no record
 * for it.  *netmask is the record's prefix length in the address's own
 * family (an IPv4 lookup in an IPv6 tree reports 96 + the IPv4 length).
 */
static bool
db_lookup(geoip_db *db, int ipver, const uint8 *addr, MMDB_entry_s *entry, int *netmask)
{
	union
	{
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	}			u;
	MMDB_lookup_result_s res;
	int			mmdb_error = MMDB_SUCCESS;

	memset(&u, 0, sizeof(u));
	if (ipver == 4)
	{
		u.in4.sin_family = AF_INET;
		memcpy(&u.in4.sin_addr, addr, 4);
	}
	else
	{
		u.in6.sin6_family = AF_INET6;
		memcpy(&u.in6.sin6_addr, addr, 16);
	}
	res = MMDB_lookup_sockaddr(&db->mmdb, &u.sa, &mmdb_error);
	if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return false;
	if (mmdb_error != MMDB_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not look up an address in GeoIP %s database \"%s\"", db->what, db->path),
				 errdetail("libmaxminddb: %s.", MMDB_strerror(mmdb_error)),
				 errhint("Replace the file with a fresh copy.")));
	if (!res.found_entry)
		return false;
	*entry = res.entry;
	if (netmask)
	{
		int			bits = res.netmask;

		if (ipver == 4 && db->mmdb.metadata.ip_version == 6)
			bits = bits >= 96 ? bits - 96 : 0;
		*netmask = bits;
	}
	return true;
}

/* The field f of a record, or false when it has none; ERROR on bad data. */
static bool
record_get(geoip_db *db, MMDB_entry_s *entry, geoip_field f, MMDB_entry_data_s *data)
{
	const char *const *path = db->layout->path[f];
	int			status;

	if (path == NULL)
		return false;
	status = MMDB_aget_value(entry, data, path);
	if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return false;
	if (status != MMDB_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read a record of GeoIP %s database \"%s\"", db->what, db->path),
				 errdetail("libmaxminddb: %s.", MMDB_strerror(status)),
				 errhint("Replace the file with a fresh copy.")));
	return data->has_data;
}

/* A string field as text in the database encoding, or NULL. */
static text *
record_text(geoip_db *db, MMDB_entry_s *entry, geoip_field f)
{
	MMDB_entry_data_s data;
	char	   *conv;
	text	   *t;

	if (!record_get(db, entry, f, &data) || data.type != MMDB_DATA_TYPE_UTF8_STRING)
		return NULL;
	/* mmdb strings are UTF-8; NUL-terminate a copy for the converter */
	conv = pnstrdup(data.utf8_string, data.data_size);
	t = cstring_to_text(pg_any_to_server(conv, strlen(conv), PG_UTF8));
	return t;
}

/* The AS number of a record (uint or "AS123" string), or -1. */
static int64
record_asn(geoip_db *db, MMDB_entry_s *entry)
{
	MMDB_entry_data_s data;
	int64		v = 0;
	uint32		i;

	if (!record_get(db, entry, F_ASN, &data))
		return -1;
	switch (data.type)
	{
		case MMDB_DATA_TYPE_UINT16:
			return data.uint16;
		case MMDB_DATA_TYPE_UINT32:
			return data.uint32;
		case MMDB_DATA_TYPE_INT32:
			return data.int32 < 0 ? -1 : data.int32;
		case MMDB_DATA_TYPE_UINT64:
			return data.uint64 > (uint64) PG_INT64_MAX ? -1 : (int64) data.uint64;
		case MMDB_DATA_TYPE_UTF8_STRING:
			i = 0;
			if (data.data_size >= 2 && (data.utf8_string[0] == 'A' || data.utf8_string[0] == 'a') &&
				(data.utf8_string[1] == 'S' || data.utf8_string[1] == 's'))
				i = 2;
			if (i == data.data_size)
				return -1;
			for (; i < data.data_size; i++)
			{
				if (data.utf8_string[i] < '0' || data.utf8_string[i] > '9' || v > PG_INT32_MAX)
					return -1;
				v = v * 10 + (data.utf8_string[i] - '0');
			}
			return v;
		default:
			return -1;
	}
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address. */
static inline void
unmap_v4(int *ipver, const uint8 **addr)
{
	static const uint8 v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (*ipver == 6 && memcmp(*addr, v4mapped, 12) == 0)
	{
		*ipver = 4;
		*addr += 12;
	}
}

/* Are the n bytes printable ASCII? */
static bool
printable_ascii(const char *s, uint32 n)
{
	uint32		i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* The family and address bytes of an inet argument, unmapped. */
static inline const uint8 *
inet_bytes(inet *ip, int *ipver)
{
	const uint8 *addr = ip_addr(ip);

	*ipver = ip_family(ip) == PGSQL_AF_INET6 ? 6 : 4;
	unmap_v4(ipver, &addr);
	return addr;
}

/* The country code of the record at entry, through the offset cache. */
static const cc_slot *
record_country(geoip_db *db, MMDB_entry_s *entry)
{
	cc_slot    *slot;

	slot = &cc_cache[(uint32) (entry->offset * UINT64CONST(2654435761)) >> (32 - CC_CACHE_BITS)];
	if (slot->generation != db->generation || slot->offset != entry->offset)
	{
		MMDB_entry_data_s data;

		slot->generation = 0;
		slot->len = 0;
		/* codes are ASCII letters, the same bytes in every server encoding */
		if (record_get(db, entry, F_COUNTRY, &data) &&
			data.type == MMDB_DATA_TYPE_UTF8_STRING &&
			data.data_size > 0 && data.data_size < sizeof(slot->cc) &&
			printable_ascii(data.utf8_string, data.data_size))
		{
			memcpy(slot->cc, data.utf8_string, data.data_size);
			slot->len = data.data_size;
		}
		slot->cc[slot->len] = '\0';
		slot->offset = entry->offset;
		slot->generation = db->generation;
	}
	return slot;
}

/*
 * The country code of an address into cc (a buffer of at least 7 bytes:
 * the code, at most 6, and a NUL); returns its length, 0 when the database
 * has no country for it.
 * Raises the ERROR of an unconfigured or unusable database.  For C callers
 * (rollups) too.
 */
int
mirai_geoip_country_code(int ipver, const uint8 *addr, char *cc)
{
	geoip_db   *db = db_ready(GEOIP_COUNTRY);
	MMDB_entry_s entry;
	const cc_slot *rec;
	addr_slot  *aslot = NULL;
	uint32		a4 = 0;
	int			len = 0;

	unmap_v4(&ipver, &addr);
	if (ipver == 4)
	{
		a4 = ((uint32) addr[0] << 24) | ((uint32) addr[1] << 16) |
			((uint32) addr[2] << 8) | addr[3];
		aslot = &addr_cache[(uint32) (a4 * UINT64CONST(2654435761)) >> (32 - ADDR_CACHE_BITS)];
		if (aslot->generation == db->generation && aslot->addr == a4)
		{
			memcpy(cc, aslot->cc, aslot->len + 1);
			return aslot->len;
		}
	}
	if (db_lookup(db, ipver, addr, &entry, NULL))
	{
		rec = record_country(db, &entry);
		len = rec->len;
		memcpy(cc, rec->cc, len + 1);
	}
	else
		cc[0] = '\0';
	if (aslot)
	{
		aslot->addr = a4;
		aslot->generation = db->generation;
		aslot->len = len;
		memcpy(aslot->cc, cc, len + 1);
	}
	return len;
}

/*
 * Whether a database is configured: false when its setting is empty, true
 * when it opens and has the right fields; otherwise the ERROR that a lookup
 * would raise (a broken setting never passes for "no GeoIP").
 */
bool
mirai_geoip_available(bool asn)
{
	if (!db_configured(&dbs[asn ? GEOIP_ASN : GEOIP_COUNTRY]))
		return false;
	db_ready(asn ? GEOIP_ASN : GEOIP_COUNTRY);
	return true;
}

PG_FUNCTION_INFO_V1(geoip_country);
/* geoip_country(inet) -> ISO 3166-1 alpha-2 code, or NULL. */
Datum
geoip_country(PG_FUNCTION_ARGS)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	int			ipver;
	const uint8 *addr = inet_bytes(ip, &ipver);
	char		cc[8];
	int			len = mirai_geoip_country_code(ipver, addr, cc);

	if (len == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(cc, len));
}

/* A text field of the record for the argument, or NULL. */
static Datum
field_text(FunctionCallInfo fcinfo, geoip_which which, geoip_field f)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	int			ipver;
	const uint8 *addr = inet_bytes(ip, &ipver);
	geoip_db   *db = db_ready(which);
	MMDB_entry_s entry;
	text	   *t;

	if (!db_lookup(db, ipver, addr, &entry, NULL))
		PG_RETURN_NULL();
	t = record_text(db, &entry, f);
	if (t == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(t);
}

PG_FUNCTION_INFO_V1(geoip_country_name);
/* geoip_country_name(inet) -> English name of the country, or NULL. */
Datum
geoip_country_name(PG_FUNCTION_ARGS)
{
	return field_text(fcinfo, GEOIP_COUNTRY, F_COUNTRY_NAME);
}

PG_FUNCTION_INFO_V1(geoip_continent);
/* geoip_continent(inet) -> two-letter continent code, or NULL. */
Datum
geoip_continent(PG_FUNCTION_ARGS)
{
	return field_text(fcinfo, GEOIP_COUNTRY, F_CONTINENT);
}

PG_FUNCTION_INFO_V1(geoip_as_org);
/* geoip_as_org(inet) -> organisation of the autonomous system, or NULL. */
Datum
geoip_as_org(PG_FUNCTION_ARGS)
{
	return field_text(fcinfo, GEOIP_ASN, F_AS_ORG);
}

PG_FUNCTION_INFO_V1(geoip_asn);
/* geoip_asn(inet) -> autonomous system number, or NULL. */
Datum
geoip_asn(PG_FUNCTION_ARGS)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	int			ipver;
	const uint8 *addr = inet_bytes(ip, &ipver);
	geoip_db   *db = db_ready(GEOIP_ASN);
	MMDB_entry_s entry;
	int64		asn;

	if (!db_lookup(db, ipver, addr, &entry, NULL))
		PG_RETURN_NULL();
	asn = record_asn(db, &entry);
	if (asn < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(asn);
}

/* The network (address masked to bits) as a cidr Datum. */
static Datum
network_datum(int ipver, const uint8 *addr, int bits)
{
	inet	   *res = (inet *) palloc0(sizeof(inet));
	int			nbytes = ipver == 6 ? 16 : 4;
	int			i;

	ip_family(res) = ipver == 6 ? PGSQL_AF_INET6 : PGSQL_AF_INET;
	ip_bits(res) = bits;
	for (i = 0; i < nbytes; i++)
	{
		int			keep = bits - i * 8;

		if (keep >= 8)
			ip_addr(res)[i] = addr[i];
		else if (keep > 0)
			ip_addr(res)[i] = addr[i] & (uint8) (0xff << (8 - keep));
	}
	SET_INET_VARSIZE(res);
	return InetPGetDatum(res);
}

#define LOOKUP_NCOLS 7

PG_FUNCTION_INFO_V1(geoip_lookup);
/*
 * geoip_lookup(inet) -> (country, country_name, continent,
 * registered_country, network, asn, as_org): every field from whichever
 * databases are configured; ERROR when neither is.
 */
Datum
geoip_lookup(PG_FUNCTION_ARGS)
{
	inet	   *ip = PG_GETARG_INET_PP(0);
	int			ipver;
	const uint8 *addr = inet_bytes(ip, &ipver);
	TupleDesc	tupdesc;
	Datum		values[LOOKUP_NCOLS];
	bool		nulls[LOOKUP_NCOLS];
	MMDB_entry_s entry;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (i = 0; i < LOOKUP_NCOLS; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	if (!db_configured(&dbs[GEOIP_COUNTRY]) && !db_configured(&dbs[GEOIP_ASN]))
		report_not_configured(&dbs[GEOIP_COUNTRY]);

	if (db_configured(&dbs[GEOIP_COUNTRY]))
	{
		geoip_db   *db = db_ready(GEOIP_COUNTRY);
		int			bits;

		if (db_lookup(db, ipver, addr, &entry, &bits))
		{
			static const geoip_field cols[4] = {F_COUNTRY, F_COUNTRY_NAME, F_CONTINENT, F_REGISTERED};

			for (i = 0; i < 4; i++)
			{
				text	   *t = record_text(db, &entry, cols[i]);

				if (t)
				{
					values[i] = PointerGetDatum(t);
					nulls[i] = false;
				}
			}
			/* a mapped address was looked up, and is reported, as IPv4 */
			values[4] = network_datum(ipver, addr, bits);
			nulls[4] = false;
		}
	}
	if (db_configured(&dbs[GEOIP_ASN]))
	{
		geoip_db   *db = db_ready(GEOIP_ASN);

		if (db_lookup(db, ipver, addr, &entry, NULL))
		{
			int64		asn = record_asn(db, &entry);
			text	   *t = record_text(db, &entry, F_AS_ORG);

			if (asn >= 0)
			{
				values[5] = Int64GetDatum(asn);
				nulls[5] = false;
			}
			if (t)
			{
				values[6] = PointerGetDatum(t);
				nulls[6] = false;
			}
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(geoip_available);
/* geoip_available(database text) -> is that database configured (and usable)? */
Datum
geoip_available(PG_FUNCTION_ARGS)
{
	char	   *which = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		asn;

	if (pg_strcasecmp(which, "country") == 0)
		asn = false;
	else if (pg_strcasecmp(which, "asn") == 0)
		asn = true;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown GeoIP database \"%s\"", which),
				 errhint("Use 'country' or 'asn'.")));
	PG_RETURN_BOOL(mirai_geoip_available(asn));
}

PG_FUNCTION_INFO_V1(geoip_database_info);
/*
 * geoip_database_info() -> one row per database: setting, path opened,
 * database type, build time, IP version, record layout.
 */
Datum
geoip_database_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			w;

	InitMaterializedSRF(fcinfo, 0);
	for (w = 0; w < GEOIP_NDB; w++)
	{
		geoip_db   *db = &dbs[w];
		Datum		values[7];
		bool		nulls[7];
		int			i;

		for (i = 0; i < 7; i++)
			nulls[i] = true;
		values[0] = CStringGetTextDatum(w == GEOIP_COUNTRY ? "country" : "asn");
		nulls[0] = false;
		if (db_configured(db))
		{
			db_ready(w);
			values[1] = CStringGetTextDatum(db->path);
			values[2] = CStringGetTextDatum(db->mmdb.metadata.database_type ?
											db->mmdb.metadata.database_type : "");
			values[3] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) db->mmdb.metadata.build_epoch));
			values[4] = Int32GetDatum(db->mmdb.metadata.ip_version);
			values[5] = Int64GetDatum(db->mmdb.metadata.node_count);
			values[6] = CStringGetTextDatum(db->layout->name);
			for (i = 1; i < 7; i++)
				nulls[i] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
