/*-------------------------------------------------------------------------
 *
 * load_ledger.c
 *	  The ledger: the advisory lock and the lookup that make a file count
 *	  as loaded (the trust rule), its row, and what is said of a file
 *	  skipped.
 *
 * src/bin/load_ledger.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* Hash as "\x..." for a bytea parameter. */
void
hash_hex(const uint8_t *h, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	out[0] = '\\';
	out[1] = 'x';
	for (i = 0; i < HASH_LEN; i++)
	{
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
	}
	out[2 + 2 * HASH_LEN] = '\0';
}

/* The ledger row that made the last file count as loaded (ledger_lookup). */
static struct
{
	char		name[PATH_MAX + 1];
	char		at[64];
	char		packets[24];
	char		by[128];
} seen;

/*
 * Has the table no row (1), a row (0), or is it not known (-1)?  Asked when
 * a file is skipped, to say that the ledger has a load the table no longer
 * holds.  Asked only where the answer is exact and cheap: the role may
 * SELECT from the table, no row-level security hides rows from it, the
 * table is not foreign; and within EMPTY_CHECK_MS (statement_timeout: a
 * table emptied by DELETE is read up to its first live row, which may be
 * far until it is vacuumed).  It runs as the loading role, which runs the
 * table's triggers anyway, in a read-only transaction of its own after the
 * file's was rolled back (so that the file's rows are not counted), and
 * names no operator or function.  Once the table has a row, or once the
 * check timed out, it is not asked again.
 */
static int
table_empty(worker *w)
{
	static bool not_empty;
	static bool gave_up;
	PGresult   *res;
	int			empty = -1;

	if (!w->tg->can_check_empty || not_empty || gave_up || conn_lost(w))
		return not_empty ? 0 : -1;
	res = PQexec(w->conn, "BEGIN READ ONLY");
	PQclear(res);
	res = PQexec(w->conn, "SET LOCAL statement_timeout = " EMPTY_CHECK_MS);
	PQclear(res);
	res = PQexec(w->conn, w->tg->exists_sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		empty = strcmp(PQgetvalue(res, 0, 0), "f") == 0;
	PQclear(res);
	res = PQexec(w->conn, "ROLLBACK");
	PQclear(res);
	if (empty == 0)
		not_empty = true;
	else if (empty < 0)
		gave_up = true;
	return empty;
}

/*
 * Say why a file was skipped: which load the ledger has (table, role, time),
 * that the ledger keeps it when the table is emptied, and how to load the
 * file again; a warning when the table has no row at all.  Without -v, the
 * first MAX_SKIP_NOTES files of the run get a line (main() counts the
 * others); -q leaves out all but the warnings.  Called after the file's
 * transaction was rolled back.
 */
void
report_skip(worker *w, const file_load *f)
{
	const options *opt = w->opt;
	const target *tg = w->tg;
	shared	   *sh = w->sh;
	int			empty;
	bool		hint;

	if (opt->quiet && !tg->can_check_empty)
		return;
	empty = table_empty(w);
	if (opt->quiet && empty != 1)
		return;
	if (!opt->verbose && __sync_add_and_fetch(&sh->skip_notes, 1) > MAX_SKIP_NOTES)
	{
		__sync_fetch_and_add(&sh->skip_notes_left_out, 1);
		return;
	}
	if (empty == 1)
	{
		char	   *lit = PQescapeLiteral(w->conn, tg->display, strlen(tg->display));

		hint = __sync_bool_compare_and_swap(&sh->empty_hinted, 0, 1);
		emit("%s: warning: skipped \"%s\": already loaded into %s as \"%s\" by %s at %s (%s packets), but table %s is empty\n"
			 "DETAIL:  The ledger %s still records that load: the table was emptied (TRUNCATE, DELETE) after it.\n"
			 "%s%s%s%s%s",
			 PROGNAME, f->path, tg->display, seen.name, seen.by, seen.at,
			 seen.packets, tg->display, tg->ledger,
			 hint ? "HINT:  To load the table's files again, use --force, or delete the table's ledger rows: DELETE FROM " : "",
			 hint ? tg->ledger : "",
			 hint ? " WHERE table_name = " : "",
			 hint && lit ? lit : "''",
			 hint ? "::regclass;\n" : "");
		PQfreemem(lit);
		return;
	}
	hint = __sync_bool_compare_and_swap(&sh->skip_hinted, 0, 1);
	emit("%s: skipped \"%s\": already loaded into %s as \"%s\" by %s at %s (%s packets)\n%s%s%s",
		 PROGNAME, f->path, tg->display, seen.name, seen.by, seen.at, seen.packets,
		 hint ? "HINT:  The ledger " : "", hint ? tg->ledger : "",
		 hint ? " records that load, and keeps it if the table was emptied since (TRUNCATE, DELETE); --force loads the file again, as does deleting its ledger row.\n" : "");
}

/*
 * -v, after a file is loaded: the ledger knows a file by the bytes read, so
 * the same capture read once compressed and once decompressed is loaded
 * twice.  A hint, once per run: for a gzip-compressed input, and for a pipe
 * (what zcat writes is decompressed).
 */
const char *
identity_hint(worker *w, const file_load *f, mx_stream *stream)
{
	static char buf[PATH_MAX + 512];
	const mx_file_info *info = mx_stream_info(stream);

	if (info && info->gzip)
	{
		if (!__sync_bool_compare_and_swap(&w->sh->gzip_hinted, 0, 1))
			return "";
		snprintf(buf, sizeof(buf),
				 "HINT:  \"%s\" is gzip-compressed, and the ledger knows it by its compressed bytes: the same capture decompressed (zcat, gunzip) is another file to it and is loaded again. Load each capture in one form.\n",
				 f->path);
		return buf;
	}
	if (!f->regular)
	{
		if (!__sync_bool_compare_and_swap(&w->sh->pipe_hinted, 0, 1))
			return "";
		snprintf(buf, sizeof(buf),
				 "HINT:  The ledger knows \"%s\" by the bytes read from it: if they are a gzip file decompressed (zcat), that file given by name is another file to it and is loaded again. Load each capture in one form.\n",
				 f->path);
		return buf;
	}
	return "";
}

/*
 * Take the advisory lock for (table, hash) and look the content up in the
 * ledger.  1: already loaded (message printed when verbose), 0: not yet,
 * -1: error (reported).  The lock is held until the transaction ends.
 *
 * The file counts as loaded only for a row by the role itself or by the
 * table's owner, with the same options; --on-error=skip also matches a
 * strict load's row, which has the same rows.  When the ledger has the
 * content otherwise, the file is loaded and -v says why.
 */
int
ledger_lookup(worker *w, file_load *f)
{
	const target *tg = w->tg;
	char		hex[2 + 2 * HASH_LEN + 1];
	char		key[32];
	const char *p[4];
	PGresult   *res;
	uint64_t	k = 0;
	int			i;
	int			found;

	for (i = 0; i < 8; i++)
		k = (k << 8) | f->hash[i];
	k ^= w->tg->oidnum;
	snprintf(key, sizeof(key), "%lld", (long long) (int64_t) k);
	p[0] = key;
	res = query(w->conn, "SELECT pg_catalog.pg_advisory_xact_lock($1::pg_catalog.int8)", 1, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	hash_hex(f->hash, hex);
	p[0] = tg->oid;
	p[1] = hex;
	p[2] = tg->options;
	p[3] = w->opt->salvage ? tg->options_skip : tg->options;
	/* a new statement: its snapshot sees what the lock holder committed */
	res = query(w->conn, tg->lookup_sql, 4, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 6), "t") == 0 &&
		strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	if (found)
	{
		/* for report_skip, once the transaction is rolled back */
		snprintf(seen.name, sizeof(seen.name), "%s", PQgetvalue(res, 0, 0));
		snprintf(seen.at, sizeof(seen.at), "%s", PQgetvalue(res, 0, 1));
		snprintf(seen.packets, sizeof(seen.packets), "%s", PQgetvalue(res, 0, 2));
		snprintf(seen.by, sizeof(seen.by), "%s", PQgetvalue(res, 0, 3));
	}
	if (PQntuples(res) > 0 && !found && !w->opt->force && w->opt->verbose)
	{
		const char *by = PQgetvalue(res, 0, 3);
		const char *owner = PQgetvalue(res, 0, 5);
		const char *me = PQgetvalue(res, 0, 8);

		if (strcmp(PQgetvalue(res, 0, 6), "t") == 0)
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s with other options (%s; this load: %s%s)\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 4), tg->options,
				 w->opt->salvage ? " --on-error=skip" : "");
		else if (strcmp(me, owner) == 0)
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s, and only loads by %s, the table's owner, count\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), owner);
		else
			emit("%s: loading \"%s\" although the ledger has it: loaded into %s as \"%s\" by %s at %s, and only loads by %s itself and by the table's owner %s count\n",
				 PROGNAME, f->path, tg->display, PQgetvalue(res, 0, 0), by,
				 PQgetvalue(res, 0, 1), me, owner);
	}
	PQclear(res);
	return found;
}

/*
 * Has the ledger a file of this size for the table?  1 yes, 0 no, -1 error.
 * Same content means same size, so "no" means "not loaded yet".
 */
int
ledger_size_seen(worker *w, file_load *f)
{
	char		size[24];
	const char *p[2];
	PGresult   *res;
	int			found;

	snprintf(size, sizeof(size), "%lld", (long long) f->st.st_size);
	p[0] = w->tg->oid;
	p[1] = size;
	res = query(w->conn, w->tg->size_sql, 2, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	found = PQntuples(res) > 0;
	PQclear(res);
	return found;
}

/* The not-IP frames of a file so far: the reasons but the first (none). */
uint64_t
not_ip_sum(const file_load *f)
{
	uint64_t	n = 0;
	int			r;

	for (r = 1; r < MX_SKIP_NREASONS; r++)
		n += f->not_ip[r];
	return n;
}

/*
 * Insert the row of the file, or of the batch that ends here (at_end
 * false): the counts since the batch began, the bytes read so far and
 * their hash, the records before the batch and at its end.  1: inserted,
 * 0: a row of the same content from the same record is there (a
 * concurrent load, or the same batch of the same stream loaded before).
 */
int
ledger_record(worker *w, file_load *f, bool at_end)
{
	char		hex[2 + 2 * HASH_LEN + 1];
	char		size[24],
				packets[24],
				filtered[24],
				notip[24],
				damaged[24],
				damaged_bytes[24],
				malformed[24],
				records[24],
				from[24];
	const char *p[18];
	PGresult   *res;
	int			inserted;

	hash_hex(f->hash, hex);
	snprintf(size, sizeof(size), "%llu", (unsigned long long) f->size);
	snprintf(packets, sizeof(packets), "%llu",
			 (unsigned long long) (f->packets - f->base_packets));
	snprintf(filtered, sizeof(filtered), "%llu",
			 (unsigned long long) (f->filtered - f->base_filtered));
	snprintf(notip, sizeof(notip), "%llu", (unsigned long long) (not_ip_sum(f) - f->base_not_ip));
	snprintf(damaged, sizeof(damaged), "%llu",
			 (unsigned long long) (f->damaged - f->base_damaged));
	snprintf(damaged_bytes, sizeof(damaged_bytes), "%llu",
			 (unsigned long long) (f->damaged_bytes - f->base_damaged_bytes));
	snprintf(malformed, sizeof(malformed), "%llu", (unsigned long long) f->malformed);
	snprintf(records, sizeof(records), "%llu", (unsigned long long) f->records);
	snprintf(from, sizeof(from), "%llu", (unsigned long long) f->from_record);
	p[0] = w->tg->oid;
	p[1] = f->ledger_name;
	p[2] = w->host[0] ? w->host : NULL;
	p[3] = size;
	p[4] = hex;
	p[5] = packets;
	p[6] = filtered;
	p[7] = notip;
	p[8] = at_end && f->truncated ? "t" : "f";
	p[9] = damaged;
	p[10] = damaged_bytes;
	p[11] = malformed;
	p[12] = w->tg->filter_text;
	p[13] = w->opt->force ? "t" : "f";
	p[14] = f->damaged || f->malformed ? w->tg->options_skip : w->tg->options;
	p[15] = records;
	p[16] = from;
	p[17] = at_end ? "t" : "f";
	res = query(w->conn, w->tg->record_sql, 18, p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	inserted = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return inserted;
}

/*
 * The rows this file may resume (tg->resume_sql): NULL on error
 * (reported).  Columns: file_size, hash as hex, records, file_name,
 * loaded_by, loaded_at.
 */
PGresult *
ledger_resumable(worker *w, file_load *f)
{
	char		size[24];
	const char *p[5];
	PGresult   *res;

	snprintf(size, sizeof(size), "%lld", (long long) f->st.st_size);
	p[0] = w->tg->oid;
	p[1] = size;
	p[2] = w->tg->options;
	p[3] = w->opt->salvage ? w->tg->options_skip : w->tg->options;
	p[4] = f->ledger_name;
	res = query(w->conn, w->tg->resume_sql, 5, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/*
 * Batches of a regular file (--commit-every, --follow) take a session lock
 * keyed on (table, file name), in the two-int4 space, apart from
 * ledger_lookup's int8 keys: a second loader that would load the same
 * file into the same table in batches waits for the first (--follow: gives
 * up at once) and then resumes after it, instead of loading the same
 * records in other batches.  1: held, 0: held by another (follow), -1:
 * error (reported).
 */
int
file_lock(worker *w, file_load *f, bool wait)
{
	char		key[16];
	const char *p[2];
	PGresult   *res;
	uint32_t	h = 2166136261u;	/* FNV-1a of the name */
	const char *c;
	int			held;

	for (c = f->ledger_name; *c; c++)
		h = (h ^ (uint8_t) *c) * 16777619u;
	snprintf(key, sizeof(key), "%d", (int) (int32_t) h);
	p[0] = w->tg->oid;
	p[1] = key;
	res = query(w->conn, wait
				? "SELECT pg_catalog.pg_advisory_lock($1::pg_catalog.oid::pg_catalog.int4, $2::pg_catalog.int4), true"
				: "SELECT true, pg_catalog.pg_try_advisory_lock($1::pg_catalog.oid::pg_catalog.int4, $2::pg_catalog.int4)",
				2, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return -1;
	}
	held = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (held)
		f->locked = h;
	f->is_locked = held;
	return held;
}

/* Release file_lock's lock (errors ignored: the session ends anyway). */
void
file_unlock(worker *w, file_load *f)
{
	char		key[16];
	const char *p[2];
	PGresult   *res;

	if (!f->is_locked || w->conn == NULL || PQstatus(w->conn) != CONNECTION_OK)
		return;
	snprintf(key, sizeof(key), "%d", (int) (int32_t) f->locked);
	p[0] = w->tg->oid;
	p[1] = key;
	res = query(w->conn, "SELECT pg_catalog.pg_advisory_unlock($1::pg_catalog.oid::pg_catalog.int4, $2::pg_catalog.int4)", 2, p);
	PQclear(res);
	f->is_locked = false;
}
