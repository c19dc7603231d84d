/*-------------------------------------------------------------------------
 *
 * load_file.c
 *	  One file in one transaction: open, hash, look up, COPY, ledger row,
 *	  COMMIT; every error reported with the file's name.  Or in batches
 *	  (--commit-every, --follow), each its own transaction and ledger row;
 *	  and from where an earlier load of the content it extends stopped
 *	  (resumed).
 *
 * Resume: a regular file whose first file_size bytes hash to the
 * content_hash of a row of the table by a trusted role (itself or the
 * table's owner) with the same options, of a load cut short (truncated,
 * a batch, or of the same file name), extends that load's content: its
 * first `records` records were loaded, and the stream reads past them
 * (mx_stream_options.skip_records), re-reading from the start what a
 * pcapng file's section and interface blocks say, and a gzip file's
 * deflate stream, so that what follows decodes as before.  The row with
 * the most records whose content the file extends wins: a resumed load
 * cut short again chains.  Standard input cannot be resumed: its bytes
 * cannot be read again.
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

/* Add a finished file's counts to the run's totals (batches committed too). */
static void
add_totals(worker *w, file_load *f, result r)
{
	totals	   *t = &w->sh->tot;
	slot	   *sl = &w->sh->slots[w->id];
	int			i;

	__sync_fetch_and_add(&t->bytes, f->in_bytes > f->size ? f->in_bytes : f->size);
	if (f->batches)
		__sync_fetch_and_add(&t->batches, f->batches);
	if (r == R_LOADED || (r != R_SKIPPED && f->batches))
	{
		if (f->resumed_from)
		{
			__sync_fetch_and_add(&t->files_resumed, 1);
			t->resumed_from = f->resumed_from;
		}
	}
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
 * End the COPY of the batch or file: with ce COPY_DONE, check that the
 * server took every row sent since the batch began; otherwise abort it.
 * False when it failed (reported, but for a decode error, reported
 * before); the transaction is then to be rolled back.
 */
static bool
end_copy(worker *w, file_load *f, copy_end ce)
{
	PGresult   *res;
	bool		ok = ce == COPY_DONE;
	uint64_t	sent = f->packets - f->base_packets;

	w->len = 0;
	if (PQputCopyEnd(w->conn, ce == COPY_DONE ? NULL : "mirai_load: the capture file is invalid") != 1 &&
		ce == COPY_DONE)
		ce = COPY_SERVER_ERROR;
	res = PQgetResult(w->conn);
	if (ce == COPY_DONE || ce == COPY_SERVER_ERROR)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			report_server_error(f->path, w->conn, res);
			ok = false;
		}
		else if (ce == COPY_SERVER_ERROR)
		{
			emit("%s: error: \"%s\": %s", PROGNAME, f->path, PQerrorMessage(w->conn));
			ok = false;
		}
		else if (strtoull(PQcmdTuples(res), NULL, 10) != sent)
		{
			emit("%s: error: \"%s\": the server counted %s rows, %llu were sent\n",
				 PROGNAME, f->path, PQcmdTuples(res), (unsigned long long) sent);
			ok = false;
		}
	}
	PQclear(res);
	while ((res = PQgetResult(w->conn)) != NULL)
		PQclear(res);
	return ok;
}

/* Open a transaction and its COPY: a batch after the first. */
static bool
begin_copy(worker *w, file_load *f)
{
	PGresult   *res;

	sig_in_txn = 1;
	if (!command(w, f->path, "BEGIN ISOLATION LEVEL READ COMMITTED"))
		return false;
	res = PQexec(w->conn, w->tg->copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		report_server_error(f->path, w->conn, res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/*
 * Look the file's content up in the ledger (under the advisory lock):
 * 1 when it is loaded already (rolled back, and said), 0 when it is not,
 * or with --force; -1 on an error (reported).
 */
static int
skip_if_loaded(worker *w, file_load *f)
{
	int			found = ledger_lookup(w, f);

	if (found <= 0 || w->opt->force)
		return found < 0 ? -1 : 0;
	rollback(w);
	report_skip(w, f);
	return 1;
}

/* The counts a batch's row starts from: the file's so far. */
static void
start_batch(file_load *f)
{
	f->from_record = f->records;
	f->base_packets = f->packets;
	f->base_filtered = f->filtered;
	f->base_not_ip = not_ip_sum(f);
	f->base_damaged = f->damaged;
	f->base_damaged_bytes = f->damaged_bytes;
	f->batch_ns = now_ns();
}

/*
 * Commit the batch whose rows are sent (the decoding thread waits at the
 * cut, cut_batch): end its COPY, write its row (at_end false), COMMIT, and
 * open the next batch's transaction and COPY.  A batch whose row is there
 * already (the same bytes read to the same record by this role with these
 * options: the same stream loaded again with the same batches) is rolled
 * back: its packets are in the table.  False on an error (reported): the
 * file fails, the batches committed before stay.
 */
bool
batch_commit(worker *w, file_load *f)
{
	int			ins;

	if (!end_copy(w, f, COPY_DONE))
		goto fail;
	ins = ledger_record(w, f, false);
	if (ins < 0)
		goto fail;
	if (ins == 0)
	{
		if (w->opt->verbose)
			emit("%s: rolled back a batch of \"%s\" (records %llu to %llu): the ledger has it already\n",
				 PROGNAME, f->path, (unsigned long long) f->from_record + 1,
				 (unsigned long long) f->records);
		rollback(w);
	}
	else
	{
		if (!commit(w, f->path))
			goto fail;
		f->batches++;
		sig_batches = f->batches;
		if (w->opt->verbose)
			emit("%s: committed a batch of \"%s\": %llu packets, records %llu to %llu\n",
				 PROGNAME, f->path, (unsigned long long) (f->packets - f->base_packets),
				 (unsigned long long) f->from_record + 1, (unsigned long long) f->records);
	}
	start_batch(f);
	if (!begin_copy(w, f))
		goto fail;
	return true;

fail:
	f->batch_failed = true;
	return false;
}

/*
 * Decide how to load a regular file (not with --force): skip it when the
 * ledger has its content (looked up under the lock in load_file), or
 * resume it after the records of the longest earlier load whose content it
 * extends.  Hashes the file first when the ledger has a file of its size
 * or a load it may resume; that pass also hashes the prefixes the rows
 * name.  1: decided; 0: the file could not be read, -1: the server failed
 * (both reported).
 */
static int
decide(worker *w, file_load *f)
{
	PGresult   *cands = NULL;
	uint64_t   *at = NULL;
	uint8_t		(*hashes)[HASH_LEN] = NULL;
	int			n = 0,
				nhashed = 0,
				i,
				k;
	int			found;
	int			ok = 0;

	found = ledger_size_seen(w, f);
	if (found < 0)
		return -1;
	if (!w->opt->force)
	{
		cands = ledger_resumable(w, f);
		if (cands == NULL)
			return -1;
		n = PQntuples(cands);
	}
	if (!found && n == 0)
	{
		PQclear(cands);
		return 1;
	}
	at = malloc(sizeof(uint64_t) * (n + 1));
	hashes = malloc(sizeof(*hashes) * (n + 1));
	if (at == NULL || hashes == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		goto done;
	}
	/* the sizes, ascending (the rows come by records) */
	for (i = 0; i < n; i++)
	{
		uint64_t	v = strtoull(PQgetvalue(cands, i, 0), NULL, 10);

		for (k = i; k > 0 && at[k - 1] > v; k--)
			at[k] = at[k - 1];
		at[k] = v;
	}
	if (!prehash(w, f, at, n, hashes, &nhashed))
		goto done;
	f->prehashed = true;

	/* the row with the most records whose content the file extends */
	for (i = 0; i < n; i++)
	{
		uint64_t	v = strtoull(PQgetvalue(cands, i, 0), NULL, 10);
		char		hex[2 + 2 * HASH_LEN + 1];

		for (k = 0; k < nhashed && at[k] != v; k++)
			;
		if (k == nhashed)
			continue;
		for (; k < nhashed && at[k] == v; k++)
		{
			hash_hex(hashes[k], hex);
			if (strcmp(hex + 2, PQgetvalue(cands, i, 1)) == 0)
				break;
		}
		if (k < nhashed && at[k] == v)
		{
			f->resumed_from = strtoull(PQgetvalue(cands, i, 2), NULL, 10);
			/* said with -v once the file is known not to be loaded whole */
			snprintf(f->resume_note, sizeof(f->resume_note),
					 "%s: resuming \"%s\" from record %llu: its first %s bytes are those loaded into %s as \"%s\" by %s at %s\n",
					 PROGNAME, f->path, (unsigned long long) f->resumed_from,
					 PQgetvalue(cands, i, 0), w->tg->display, PQgetvalue(cands, i, 3),
					 PQgetvalue(cands, i, 4), PQgetvalue(cands, i, 5));
			break;
		}
	}
	ok = 1;

done:
	free(at);
	free(hashes);
	PQclear(cands);
	return ok;
}

/*
 * Load one file: in one transaction, or in batches.  Every error is
 * reported here, with the file's name; the open transaction is rolled back
 * on any error.
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
	int			stream_fd;
	follower   *fw = NULL;
	unsigned int hl;

	memset(&f, 0, sizeof(f));
	f.path = path;
	sig_file = path;
	sig_batches = 0;
	w->f = NULL;
	w->stream = NULL;
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
	f.batching = !opt->dry_run && (opt->commit_packets || opt->commit_ns);
	if (opt->follow && !f.regular)
	{
		emit("%s: error: cannot follow \"%s\": not a regular file\n", PROGNAME, path);
		close(f.fd);
		goto done;
	}

	/*
	 * A regular file: skip it when the ledger has its content, resume it
	 * when it extends the content of a load cut short.  Otherwise (a new
	 * file, standard input, a pipe) hash it as it streams and look it up
	 * before COMMIT.  Batches need the hash as the stream goes, too.
	 */
	if (!opt->dry_run && f.regular && f.batching && (found = file_lock(w, &f, !opt->follow)) <= 0)
	{
		close(f.fd);
		if (found < 0)
			goto fail;
		emit("%s: error: \"%s\" is being loaded into %s in batches by another mirai_load\n"
			 "HINT:  One loader follows a file; stop the other one first.\n",
			 PROGNAME, path, w->tg->display);
		goto done;
	}
	if (!opt->dry_run && f.regular && (found = decide(w, &f)) <= 0)
	{
		close(f.fd);
		if (found < 0)
			goto fail;
		goto done;
	}
	if (!opt->dry_run && (!f.prehashed || f.batching))
	{
		f.md = w->md;
		EVP_DigestInit_ex(f.md, EVP_sha256(), NULL);
	}
	f.from_record = f.records = f.resumed_from;

	memset(&hooks, 0, sizeof(hooks));
	hooks.tap = tap;
	hooks.tap_arg = &f;
	hooks.interrupted = on_idle;
	hooks.interrupted_arg = w;
	memset(&sopt, 0, sizeof(sopt));
	sopt.name = path;
	sopt.filter = w->filter;
	sopt.salvage = opt->salvage;
	sopt.mirai_only = opt->mirai_only;
	sopt.scanners = opt->scanners;
	sopt.skip_records = f.resumed_from;
	sopt.hooks = &hooks;
	stream_fd = f.fd;
	if (opt->follow)
	{
		/* the file is read by a thread that waits for it to grow */
		if (lseek(f.fd, 0, SEEK_SET) < 0 || (fw = follow_start(w, &f, &stream_fd)) == NULL)
		{
			emit("%s: error: cannot follow \"%s\": %s\n", PROGNAME, path, strerror(errno));
			close(f.fd);
			goto done;
		}
	}
	stream = mx_stream_open_fd(stream_fd, &sopt, &err);
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
		if (f.prehashed && !opt->follow)
		{
			found = skip_if_loaded(w, &f);
			if (found < 0)
				goto fail;
			if (found)
			{
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
		if (opt->verbose && f.resume_note[0])
			emit("%s", f.resume_note);
	}

	w->buf = w->slots[0];
	start_rows(w);
	f.batch_ns = now_ns();
	if (opt->dry_run)
		ce = decode_all(w, &f, stream);
	else
		ce = decode_and_send(w, &f, stream);
	w->f = NULL;
	w->stream = NULL;
	if (opt->dry_run)
	{
		w->len = 0;
		if (ce != COPY_DONE)
			goto done;
		r = R_LOADED;
		goto done;
	}
	if (f.batch_failed)
		goto fail;				/* reported by batch_commit */
	if (ce == COPY_DONE && f.prehashed && !opt->follow && changed_since_hash(&f))
	{
		emit("%s: error: capture file \"%s\" changed while it was being loaded (%llu bytes hashed, %llu read)\n"
			 "HINT:  Load a file once its writer has closed it, or follow it as it grows with --follow.\n",
			 PROGNAME, path, (unsigned long long) f.size,
			 (unsigned long long) f.in_bytes);
		ce = COPY_DECODE_ERROR;
	}
	if (!end_copy(w, &f, ce))
		goto fail;

	/* hashed as it streamed: the hash is known now */
	if (f.md)
	{
		EVP_DigestFinal_ex(f.md, f.hash, &hl);
		f.size = f.in_bytes;
	}

	/*
	 * Resumed, and no record after those loaded before: nothing to add.
	 * (After batches, the last row is written all the same: it says that
	 * the file was read to its end.)
	 */
	if (f.resumed_from && !f.batches && f.records == f.from_record)
	{
		rollback(w);
		if (opt->verbose)
			emit("%s: skipped \"%s\": already loaded up to its last record (%llu)\n",
				 PROGNAME, path, (unsigned long long) f.records);
		r = R_SKIPPED;
		goto done;
	}
	if (!f.prehashed && !f.batches && !opt->follow)
	{
		found = skip_if_loaded(w, &f);
		if (found < 0)
			goto fail;
		if (found)
		{
			r = R_SKIPPED;
			goto done;
		}
	}
	found = ledger_record(w, &f, true);
	if (found < 0)
		goto fail;
	if (found == 0)
	{
		/* another loader committed the same content from the same record */
		if (opt->verbose)
			emit("%s: skipped \"%s\"%s: loaded by a concurrent mirai_load\n", PROGNAME, path,
				 f.batches ? " after its last batch" : "");
		rollback(w);
		r = f.batches ? R_LOADED : R_SKIPPED;
		goto done;
	}
	if (!commit(w, path))
		goto fail;
	r = R_LOADED;
	if (opt->verbose)
	{
		char		how[96] = "";

		if (f.resumed_from)
			snprintf(how, sizeof(how), ", resumed from record %llu",
					 (unsigned long long) f.resumed_from);
		if (f.batches)
			snprintf(how + strlen(how), sizeof(how) - strlen(how), ", in %d batches",
					 f.batches + 1);
		emit("%s: loaded \"%s\": %llu packets (%llu filtered)%s in %.2f s\n%s", PROGNAME, path,
			 (unsigned long long) f.packets, (unsigned long long) f.filtered, how,
			 (now_ns() - t0) / 1e9, identity_hint(w, &f, stream));
	}
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
	if (f.batches)
		emit("%s: \"%s\": its open batch was rolled back; the %d batches committed before it stay loaded (records %llu to %llu, %llu packets)\n",
			 PROGNAME, path, f.batches, (unsigned long long) f.resumed_from + 1,
			 (unsigned long long) f.from_record, (unsigned long long) f.base_packets);
	else
		emit("%s: \"%s\" was rolled back: none of its packets were loaded\n", PROGNAME, path);

done:
	sig_in_txn = 0;
	sig_file = NULL;
	w->f = NULL;
	w->stream = NULL;
	if (r == R_FAILED && opt->dry_run)
		emit("%s: \"%s\" failed\n", PROGNAME, path);
	/* the reader owns the descriptor it reads; a failed open or prehash has closed it */
	if (stream)
		mx_stream_close(stream);
	if (fw)
	{
		char	   *next = follow_end(fw);

		/* the next file of its rotation set, once this one is loaded */
		if (next && (r == R_LOADED || r == R_SKIPPED))
			w->next_path = next;
		else
			free(next);
	}
	file_unlock(w, &f);
	add_totals(w, &f, r);
	free(f.ledger_name);
	return r;
}
