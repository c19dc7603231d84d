/*-------------------------------------------------------------------------
 *
 * load_file.c
 *	  One file in one transaction: open, hash, look up, COPY, ledger row,
 *	  COMMIT; every error reported with the file's name.
 *
 * src/bin/load_file.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* The connection is gone? */
bool
conn_lost(worker *w)
{
	return w->conn == NULL || PQstatus(w->conn) == CONNECTION_BAD;
}

/* Run a command that returns no rows; false (reported) on error. */
static bool
command(worker *w, const char *path, const char *sql)
{
	PGresult   *res = PQexec(w->conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		report_server_error(path, w->conn, res);
	PQclear(res);
	return ok;
}

/* Roll the file's transaction back (errors ignored: the server does it). */
static void
rollback(worker *w)
{
	PGresult   *res;

	if (!conn_lost(w))
	{
		while ((res = PQgetResult(w->conn)) != NULL)
			PQclear(res);
		res = PQexec(w->conn, "ROLLBACK");
		PQclear(res);
	}
	sig_in_txn = 0;
}

/*
 * COMMIT with SIGINT and SIGTERM held back, so that a signal that comes
 * meanwhile is handled once the file is committed (and is then not
 * reported as rolled back).  The decoding thread has ended by then.
 */
static bool
commit(worker *w, const char *path)
{
	bool		ok;

	block_interrupts(true);
	ok = command(w, path, "COMMIT");
	if (ok)
		sig_in_txn = 0;
	block_interrupts(false);
	return ok;
}

/* Add a finished file's counts to the run's totals. */
static void
add_totals(worker *w, file_load *f, result r)
{
	totals	   *t = &w->sh->tot;
	slot	   *sl = &w->sh->slots[w->id];
	int			i;

	__sync_fetch_and_add(&t->bytes, f->in_bytes > f->size ? f->in_bytes : f->size);
	if (r == R_LOADED)
	{
		__sync_fetch_and_add(&t->files_loaded, 1);
		__sync_fetch_and_add(&t->packets, f->packets);
		__sync_fetch_and_add(&t->filtered, f->filtered);
		for (i = 0; i < MX_SKIP_NREASONS; i++)
			__sync_fetch_and_add(&t->not_ip[i], f->not_ip[i]);
		if (f->damaged || f->malformed)
		{
			__sync_fetch_and_add(&t->files_damaged, 1);
			__sync_fetch_and_add(&t->damaged, f->damaged);
			__sync_fetch_and_add(&t->damaged_bytes, f->damaged_bytes);
			__sync_fetch_and_add(&t->malformed, f->malformed);
		}
	}
	else if (r == R_SKIPPED)
		__sync_fetch_and_add(&t->files_skipped, 1);
	else
		__sync_fetch_and_add(&t->files_failed, 1);
	sl->bytes = 0;
	sl->packets = 0;
}

/* The file's name for the ledger: an absolute path for a regular file. */
static char *
ledger_name(const file_load *f)
{
	char		buf[PATH_MAX];

	if (strcmp(f->path, "-") != 0 && f->regular && realpath(f->path, buf) != NULL)
		return strdup(buf);
	return strdup(f->path);
}

/* Did a regular file change since it was hashed? */
static bool
changed_since_hash(file_load *f)
{
	struct stat now;

	if (fstat(f->fd, &now) != 0)
		return true;
	return f->in_bytes != f->size || now.st_size != f->st.st_size ||
		now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
		now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec;
}

/*
 * Load one file in one transaction.  Every error is reported here, with the
 * file's name; the transaction is rolled back on any error.
 */
result
load_file(worker *w, const char *path)
{
	const options *opt = w->opt;
	file_load	f;
	mx_stream  *stream = NULL;
	mx_stream_options sopt;
	mx_input_hooks hooks;
	mx_error	err;
	PGresult   *res;
	copy_end	ce;
	result		r = R_FAILED;
	int64_t		t0 = now_ns();
	int			found;
	static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0377, '\r', '\n', 0,
	0, 0, 0, 0, 0, 0, 0, 0};
	unsigned int hl;

	memset(&f, 0, sizeof(f));
	f.path = path;
	sig_file = path;
	if (strcmp(path, "-") == 0)
		f.fd = dup(STDIN_FILENO);
	else
		f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0 || fstat(f.fd, &f.st) != 0)
	{
		emit("%s: error: could not open capture file \"%s\": %s\n", PROGNAME, path,
			 strerror(errno));
		if (f.fd >= 0)
			close(f.fd);
		add_totals(w, &f, R_FAILED);
		return R_FAILED;
	}
	f.regular = S_ISREG(f.st.st_mode);
	f.ledger_name = ledger_name(&f);

	/*
	 * Hash a regular file first when the ledger has a file of its size for
	 * the table (a rerun, most likely), so that it is skipped without
	 * sending anything.  Otherwise its content cannot be in the ledger yet:
	 * hash it as it streams, like a pipe, and look it up before COMMIT.
	 */
	if (!opt->dry_run && f.regular)
	{
		found = ledger_size_seen(w, &f);
		if (found < 0)
		{
			close(f.fd);
			goto fail;
		}
		if (found)
		{
			if (!prehash(w, &f))
			{
				close(f.fd);
				goto done;
			}
			f.prehashed = true;
		}
	}
	if (!opt->dry_run && !f.prehashed)
	{
		f.md = w->md;
		EVP_DigestInit_ex(f.md, EVP_sha256(), NULL);
	}

	memset(&hooks, 0, sizeof(hooks));
	hooks.tap = tap;
	hooks.tap_arg = &f;
	memset(&sopt, 0, sizeof(sopt));
	sopt.name = path;
	sopt.filter = w->filter;
	sopt.salvage = opt->salvage;
	sopt.mirai_only = opt->mirai_only;
	sopt.scanners = opt->scanners;
	sopt.hooks = &hooks;
	stream = mx_stream_open_fd(f.fd, &sopt, &err);
	if (stream == NULL)
	{
		report_decode_error(path, &err);	/* nothing was sent */
		goto done;
	}

	if (!opt->dry_run)
	{
		sig_in_txn = 1;
		if (!command(w, path, "BEGIN ISOLATION LEVEL READ COMMITTED"))
			goto fail;
		if (f.prehashed)
		{
			found = ledger_lookup(w, &f);
			if (found < 0)
				goto fail;
			if (found && !opt->force)
			{
				rollback(w);
				report_skip(w, &f);
				r = R_SKIPPED;
				goto done;
			}
		}
		res = PQexec(w->conn, w->tg->copy_sql);
		if (PQresultStatus(res) != PGRES_COPY_IN)
		{
			report_server_error(path, w->conn, res);
			PQclear(res);
			goto fail;
		}
		PQclear(res);
	}

	w->buf = w->slots[0];
	memcpy(w->buf, header, sizeof(header));
	w->len = sizeof(header);
	if (opt->dry_run)
		ce = decode_all(w, &f, stream);
	else
		ce = decode_and_send(w, &f, stream);
	if (opt->dry_run)
	{
		w->len = 0;
		if (ce != COPY_DONE)
			goto done;
		r = R_LOADED;
		goto done;
	}
	if (ce == COPY_DONE && f.prehashed && changed_since_hash(&f))
	{
		emit("%s: error: capture file \"%s\" changed while it was being loaded (%llu bytes hashed, %llu read)\n"
			 "HINT:  Load a file once its writer has closed it.\n",
			 PROGNAME, path, (unsigned long long) f.size,
			 (unsigned long long) f.in_bytes);
		ce = COPY_DECODE_ERROR;
	}
	w->len = 0;
	if (PQputCopyEnd(w->conn, ce == COPY_DONE ? NULL : "mirai_load: the capture file is invalid") != 1 &&
		ce == COPY_DONE)
		ce = COPY_SERVER_ERROR;
	res = PQgetResult(w->conn);
	if (ce == COPY_DONE || ce == COPY_SERVER_ERROR)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			report_server_error(path, w->conn, res);
			PQclear(res);
			goto fail;
		}
		if (ce == COPY_SERVER_ERROR)
		{
			emit("%s: error: \"%s\": %s", PROGNAME, path, PQerrorMessage(w->conn));
			PQclear(res);
			goto fail;
		}
		if (strtoull(PQcmdTuples(res), NULL, 10) != f.packets)
		{
			emit("%s: error: \"%s\": the server counted %s rows, %llu were sent\n",
				 PROGNAME, path, PQcmdTuples(res), (unsigned long long) f.packets);
			PQclear(res);
			goto fail;
		}
	}
	PQclear(res);
	while ((res = PQgetResult(w->conn)) != NULL)
		PQclear(res);
	if (ce != COPY_DONE)
		goto fail;

	/* hashed as it streamed: the hash is known now */
	if (!f.prehashed)
	{
		EVP_DigestFinal_ex(f.md, f.hash, &hl);
		f.size = f.in_bytes;
		found = ledger_lookup(w, &f);
		if (found < 0)
			goto fail;
		if (found && !opt->force)
		{
			rollback(w);
			report_skip(w, &f);
			r = R_SKIPPED;
			goto done;
		}
	}
	found = ledger_record(w, &f);
	if (found < 0)
		goto fail;
	if (found == 0)
	{
		/* another loader committed the same content first */
		if (opt->verbose)
			emit("%s: skipped \"%s\": loaded by a concurrent mirai_load\n", PROGNAME, path);
		rollback(w);
		r = R_SKIPPED;
		goto done;
	}
	if (!commit(w, path))
		goto fail;
	r = R_LOADED;
	if (opt->verbose)
		emit("%s: loaded \"%s\": %llu packets (%llu filtered) in %.2f s\n%s", PROGNAME, path,
			 (unsigned long long) f.packets, (unsigned long long) f.filtered,
			 (now_ns() - t0) / 1e9, identity_hint(w, &f, stream));
	goto done;

fail:
	/* a terminated backend's FATAL shows as lost only once libpq reads on */
	rollback(w);
	if (conn_lost(w))
	{
		r = R_CONNECTION;
		emit("%s: error: \"%s\": the connection to the server was lost\n", PROGNAME, path);
	}
	else
		r = R_FAILED;
	emit("%s: \"%s\" was rolled back: none of its packets were loaded\n", PROGNAME, path);

done:
	sig_in_txn = 0;
	sig_file = NULL;
	if (r == R_FAILED && opt->dry_run)
		emit("%s: \"%s\" failed\n", PROGNAME, path);
	/* the reader owns f.fd; a failed open or prehash has closed it */
	if (stream)
		mx_stream_close(stream);
	add_totals(w, &f, r);
	free(f.ledger_name);
	return r;
}
