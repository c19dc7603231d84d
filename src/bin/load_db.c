/*-------------------------------------------------------------------------
 *
 * load_db.c
 *	  The connection (psql's options, a password asked for on the
 *	  terminal only) and the catalog queries that resolve the table and
 *	  build the SQL every file uses.
 *
 * src/bin/load_db.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* The effective connection options, without the password. */
static void
describe_conninfo(PGconn *conn, char *out, size_t size)
{
	PQconninfoOption *opts = conn ? PQconninfo(conn) : NULL;
	PQconninfoOption *o;
	size_t		n = 0;

	out[0] = '\0';
	if (opts == NULL)
		return;
	for (o = opts; o->keyword; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") != 0 && strcmp(o->keyword, "hostaddr") != 0 &&
			strcmp(o->keyword, "port") != 0 && strcmp(o->keyword, "dbname") != 0 &&
			strcmp(o->keyword, "user") != 0 && strcmp(o->keyword, "sslmode") != 0)
			continue;
		n += snprintf(out + n, size > n ? size - n : 0, "%s%s=%s", n ? " " : "",
					  o->keyword, o->val);
	}
	PQconninfoFree(opts);
}

/*
 * Ask for a password on the terminal, without echo, as psql does; but only
 * on /dev/tty, never on standard input, which may be the capture ("-").
 * Returns a malloc'd string, or NULL when there is no terminal.
 */
static char *
read_password(const char *prompt)
{
	char		buf[1024];
	size_t		n = 0;
	int			fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	struct termios mode,
				noecho;
	bool		restore = false;
	char	   *password;

	if (fd < 0)
		return NULL;
	if (tcgetattr(fd, &mode) == 0)
	{
		noecho = mode;
		noecho.c_lflag &= ~ECHO;
		sig_tty_mode = mode;
		sig_tty = fd;
		restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
	{
		/* the answer is read all the same */
	}
	for (;;)
	{
		char		c;
		ssize_t		r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n < sizeof(buf) - 1)
			buf[n++] = c;
	}
	while (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &mode);
	sig_tty = -1;
	if (write(fd, "\n", 1) < 0)
	{
		/* only the terminal's cursor is wrong */
	}
	close(fd);
	password = strdup(buf);
	memset(buf, 0, sizeof(buf));
	if (password == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	return password;
}

/* Is there a terminal to ask for a password on? */
static bool
have_tty(void)
{
	int			fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Connect as psql does: -h, -p, -U, then -d (a name, or a conninfo string or
 * URI whose settings win over those), PG* environment variables and
 * ~/.pgpass through libpq.  With typed (the parent), a password is asked for
 * on the terminal with -W, or when the server wants one that libpq does not
 * have (unless -w), and kept in *typed; the workers of -j pass NULL and use
 * opt->password, the one typed.  NULL with a message on failure.
 */
/*
 * Ask the server to keep the memory each COPY frees for the next one
 * (mirai_ext.keep_free_memory), unless the session has a setting already
 * (ALTER ROLE ... SET, PGOPTIONS): otherwise a load into a tracked table
 * faults in its transition table again for every file.  Best effort: a
 * server that does not know the setting loads as before.
 */
static void
keep_free_memory(PGconn *conn)
{
	PQclear(PQexec(conn,
				   "SELECT pg_catalog.set_config('mirai_ext.keep_free_memory', '256MB', false) "
				   "WHERE pg_catalog.current_setting('mirai_ext.keep_free_memory', true) IS NULL "
				   "   OR EXISTS (SELECT FROM pg_catalog.pg_settings s "
				   "     WHERE s.name OPERATOR(pg_catalog.=) 'mirai_ext.keep_free_memory' "
				   "       AND s.source OPERATOR(pg_catalog.=) 'default')"));
}

/*
 * Raise work_mem to the memory the session keeps (keep_free_memory, set
 * just before), unless the role, the database or PGOPTIONS set work_mem
 * or it is higher already: a tracked table's transition table is kept in
 * memory up to work_mem and written to a temporary file past it, and with
 * that memory ready (the server takes it at once, in huge pages, and keeps
 * it), the file is the dearer of the two (a million-packet statement in a
 * session that loaded before: about 0.05 s less of it; files of 200,000
 * packets, ten times the study: the tracked load +48% over an untracked
 * one instead of +83%, test/bench/growth.sh).  A loader's sessions sort
 * and hash nothing else.  Best effort, like keep_free_memory.
 */
static void
transition_work_mem(PGconn *conn)
{
	PQclear(PQexec(conn,
				   "SELECT pg_catalog.set_config('work_mem', k.v, false) "
				   "FROM pg_catalog.pg_settings s, "
				   "  (SELECT pg_catalog.current_setting('mirai_ext.keep_free_memory', true) AS v) k "
				   "WHERE s.name OPERATOR(pg_catalog.=) 'work_mem' "
				   "  AND s.source OPERATOR(pg_catalog.=) ANY ('{default,configuration file}') "
				   "  AND pg_catalog.pg_size_bytes(k.v) OPERATOR(pg_catalog.>) "
				   "      (s.setting::pg_catalog.int8 OPERATOR(pg_catalog.*) 1024)"));
}

PGconn *
connect_db(const options *opt, char **typed)
{
	const char *keys[7];
	const char *vals[7];
	PGconn	   *conn;
	char		desc[512];
	char		msg[1024];
	const char *hint = NULL;
	size_t		n;

	if (typed && opt->prompt == PROMPT_ALWAYS && *typed == NULL)
	{
		*typed = read_password("Password: ");
		if (*typed == NULL)
		{
			emit("%s: error: could not connect to the database: cannot ask for the password: no terminal\n"
				 "HINT:  Without a terminal, give the password in ~/.pgpass or PGPASSWORD, and leave out -W.\n",
				 PROGNAME);
			return NULL;
		}
	}
	for (;;)
	{
		keys[0] = "host";
		vals[0] = opt->host;
		keys[1] = "port";
		vals[1] = opt->port;
		keys[2] = "user";
		vals[2] = opt->username;
		keys[3] = "password";
		vals[3] = typed ? *typed : opt->password;
		keys[4] = "dbname";
		vals[4] = opt->conninfo;
		keys[5] = "fallback_application_name";
		vals[5] = PROGNAME;
		keys[6] = NULL;
		vals[6] = NULL;
		conn = PQconnectdbParams(keys, vals, 1);
		if (conn && PQstatus(conn) == CONNECTION_OK)
		{
			keep_free_memory(conn);
			transition_work_mem(conn);
			return conn;
		}
		if (conn == NULL || !PQconnectionNeedsPassword(conn) || vals[3] != NULL)
			break;
		/* the server wants a password that libpq did not have */
		if (opt->prompt == PROMPT_NEVER)
			hint = "-w (--no-password) was given: give the password in ~/.pgpass or PGPASSWORD.";
		else if (typed == NULL)
			hint = "Give the password in ~/.pgpass or PGPASSWORD.";
		else if (!have_tty())
			hint = "There is no terminal to ask for it on: give the password in ~/.pgpass or PGPASSWORD.";
		else
		{
			char		prompt[128];
			const char *user = PQuser(conn);

			if (user && user[0])
				snprintf(prompt, sizeof(prompt), "Password for user %s: ", user);
			else
				snprintf(prompt, sizeof(prompt), "Password: ");
			PQfinish(conn);
			*typed = read_password(prompt);
			if (*typed == NULL)
				*typed = strdup("");
			continue;
		}
		break;
	}
	describe_conninfo(conn, desc, sizeof(desc));
	snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	emit("%s: error: could not connect to the database: %s\nDETAIL:  Connection: %s\n%s%s%s",
		 PROGNAME, msg, desc[0] ? desc : "(defaults)",
		 hint ? "HINT:  " : "", hint ? hint : "", hint ? "\n" : "");
	PQfinish(conn);
	return NULL;
}

/* Run a query with text parameters; returns the result (caller clears). */
PGresult *
query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

/* Quote an identifier with the server's rules; exits on failure. */
static char *
quote_ident(PGconn *conn, const char *name)
{
	char	   *q = PQescapeIdentifier(conn, name, strlen(name));
	char	   *r;

	if (q == NULL)
	{
		emit("%s: error: %s", PROGNAME, PQerrorMessage(conn));
		exit(EXIT_USAGE);
	}
	r = strdup(q);
	PQfreemem(q);
	return r;
}

/* malloc'd printf. */
char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = malloc(n + 1);
	if (s == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	va_start(ap, fmt);
	vsnprintf(s, n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Fail the run before loading anything: table, column or extension. */
static void
target_error(PGresult *res, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit("%s: error: %s\n", PROGNAME, buf);
	PQclear(res);
	exit(EXIT_USAGE);
}

/*
 * Resolve the table and its packet column with the server, check the
 * extension and the privilege, and build the SQL every file uses.
 */
void
resolve_target(PGconn *conn, const options *opt, target *tg)
{
	PGresult   *res;
	const char *p[3];
	char	   *schema,
			   *qschema,
			   *qtable,
			   *qcol;
	char		typoid[16];
	int			i,
				row = -1;

	/* the extension: its schema and the packet type */
	res = PQexec(conn,
				 "SELECT n.nspname, t.oid, e.extversion, "
				 "  EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
				 "    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
				 "    WHERE c.relnamespace OPERATOR(pg_catalog.=) e.extnamespace "
				 "      AND c.relname OPERATOR(pg_catalog.=) 'mirai_load_ledger' "
				 "      AND a.attname OPERATOR(pg_catalog.=) 'at_end' AND NOT a.attisdropped), "
				 "  pg_catalog.quote_ident(n.nspname) "
				 "FROM pg_catalog.pg_extension e "
				 "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
				 "JOIN pg_catalog.pg_type t ON t.typnamespace OPERATOR(pg_catalog.=) e.extnamespace "
				 "  AND t.typname OPERATOR(pg_catalog.=) 'packet' "
				 "WHERE e.extname OPERATOR(pg_catalog.=) 'mirai_ext'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "could not look up the extension: %s", PQerrorMessage(conn));
	if (PQntuples(res) != 1)
		target_error(res, "extension \"mirai_ext\" is not installed in database \"%s\"\n"
					 "HINT:  Run CREATE EXTENSION mirai_ext; in that database first.",
					 PQdb(conn));
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
		target_error(res, "extension \"mirai_ext\" in database \"%s\" is version %s, older than this mirai_load\n"
					 "HINT:  Run ALTER EXTENSION mirai_ext UPDATE; in that database first.",
					 PQdb(conn), PQgetvalue(res, 0, 2));
	schema = strdup(PQgetvalue(res, 0, 0));
	tg->ledger = xasprintf("%s.mirai_load_ledger", PQgetvalue(res, 0, 4));
	snprintf(typoid, sizeof(typoid), "%s", PQgetvalue(res, 0, 1));
	PQclear(res);

	/* the table, named as in SQL: -t '"My.Table"' or -t 'public.capture' */
	p[0] = opt->table;
	res = query(conn,
				"SELECT c.oid, n.nspname, c.relname, c.relkind, "
				"  c.oid::pg_catalog.regclass::pg_catalog.text, "
				"  pg_catalog.has_table_privilege(c.oid, 'INSERT'), "
				"  c.relkind OPERATOR(pg_catalog.<>) 'f' "
				"    AND pg_catalog.has_table_privilege(c.oid, 'SELECT') "
				"    AND NOT pg_catalog.row_security_active(c.oid::pg_catalog.regclass) "
				"FROM pg_catalog.pg_class c "
				"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
				"WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)", 1, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "invalid table name \"%s\": %s", opt->table,
					 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	if (PQntuples(res) != 1)
	{
		bool		upper = false;

		for (i = 0; opt->table[i]; i++)
			if (opt->table[i] >= 'A' && opt->table[i] <= 'Z')
				upper = true;
		target_error(res, "table \"%s\" does not exist%s", opt->table,
					 upper && strchr(opt->table, '"') == NULL
					 ? "\nHINT:  Names are folded to lower case as in SQL; quote a name with capitals: -t '\"Name\"'."
					 : "");
	}
	if (strchr("rpf", PQgetvalue(res, 0, 3)[0]) == NULL)
		target_error(res, "\"%s\" is not a table", PQgetvalue(res, 0, 4));
	tg->oidnum = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(tg->oid, sizeof(tg->oid), "%s", PQgetvalue(res, 0, 0));
	tg->display = strdup(PQgetvalue(res, 0, 4));
	if (strcmp(PQgetvalue(res, 0, 5), "t") != 0 && !opt->dry_run)
		target_error(res, "permission denied: cannot insert into table %s", tg->display);
	qtable = xasprintf("%s.%s", quote_ident(conn, PQgetvalue(res, 0, 1)),
					   quote_ident(conn, PQgetvalue(res, 0, 2)));
	tg->can_check_empty = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	tg->exists_sql = xasprintf("SELECT EXISTS (SELECT FROM %s)", qtable);
	PQclear(res);

	/* its packet columns (or domains over packet) */
	p[0] = tg->oid;
	p[1] = typoid;
	p[2] = opt->column;
	res = query(conn,
				"SELECT a.attname, "
				"  $3::pg_catalog.text IS NOT NULL AND a.attname OPERATOR(pg_catalog.=) "
				"    (pg_catalog.parse_ident($3::pg_catalog.text))[1], "
				"  pg_catalog.quote_ident(a.attname) "
				"FROM pg_catalog.pg_attribute a "
				"JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid "
				"WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid "
				"  AND a.attnum OPERATOR(pg_catalog.>) 0 "
				"  AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) '' "
				"  AND (a.atttypid OPERATOR(pg_catalog.=) $2::pg_catalog.oid "
				"       OR (t.typtype OPERATOR(pg_catalog.=) 'd' "
				"           AND t.typbasetype OPERATOR(pg_catalog.=) $2::pg_catalog.oid)) "
				"ORDER BY a.attnum", 3, p);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		target_error(res, "invalid column name \"%s\": %s", opt->column ? opt->column : "",
					 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	if (PQntuples(res) == 0)
		target_error(res, "table %s has no column of type packet\n"
					 "HINT:  mirai_load loads into a column of type %s.packet, e.g. CREATE TABLE capture (p %s.packet).",
					 tg->display, schema, schema);
	if (opt->column)
	{
		for (i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 1), "t") == 0)
				row = i;
		if (row < 0)
			target_error(res, "table %s has no column \"%s\" of type packet", tg->display,
						 opt->column);
	}
	else if (PQntuples(res) > 1)
	{
		char		names[512] = "";
		size_t		n = 0;

		for (i = 0; i < PQntuples(res) && n < sizeof(names); i++)
			n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
						  PQgetvalue(res, i, 0));
		target_error(res, "table %s has several columns of type packet (%s)\n"
					 "HINT:  Choose one with --column.", tg->display, names);
	}
	else
		row = 0;
	tg->column = strdup(PQgetvalue(res, row, 0));

	/*
	 * The options that decide which rows a file gives, as the ledger
	 * records them: the column as quote_ident spells it, the filter options
	 * as given, and --on-error=skip only when it skipped damage (otherwise
	 * the rows are those of a strict load).
	 */
	tg->options = xasprintf("--column=%s%s%s", PQgetvalue(res, row, 2),
							tg->filter_text ? " " : "",
							tg->filter_text ? tg->filter_text : "");
	tg->options_skip = xasprintf("%s --on-error=skip", tg->options);
	PQclear(res);

	qschema = quote_ident(conn, schema);
	qcol = quote_ident(conn, tg->column);
	tg->copy_sql = xasprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", qtable, qcol);

	/*
	 * The ledger's rows for the content (those row-level security lets the
	 * role see) that read their input to the end, the one that makes the
	 * file count as loaded first: by a trusted role (itself or the table's
	 * owner) with the same options.  A batch that ended before its input's
	 * end (at_end false) never makes a file count as loaded.
	 */
	tg->lookup_sql = xasprintf(
							   "SELECT file_name, loaded_at, packets, loaded_by, options, owner, "
							   "  trusted, same, CURRENT_USER "
							   "FROM (SELECT l.file_name, l.loaded_at, l.packets, l.loaded_by, "
							   "    l.options, o.owner, "
							   "    l.loaded_by OPERATOR(pg_catalog.=) CURRENT_USER "
							   "      OR l.loaded_by OPERATOR(pg_catalog.=) o.owner AS trusted, "
							   "    l.options OPERATOR(pg_catalog.=) $3::pg_catalog.text "
							   "      OR l.options OPERATOR(pg_catalog.=) $4::pg_catalog.text AS same "
							   "  FROM %s.mirai_load_ledger l, "
							   "    (SELECT pg_catalog.pg_get_userbyid(c.relowner) AS owner "
							   "     FROM pg_catalog.pg_class c "
							   "     WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid) o "
							   "  WHERE l.table_name OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass "
							   "    AND l.content_hash OPERATOR(pg_catalog.=) $2::pg_catalog.bytea "
							   "    AND l.at_end) s "
							   "ORDER BY (trusted AND same) DESC, trusted DESC, loaded_at LIMIT 1", qschema);
	tg->size_sql = xasprintf(
							 "SELECT 1 FROM %s.mirai_load_ledger "
							 "WHERE table_name OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass "
							 "  AND file_size OPERATOR(pg_catalog.=) $2::pg_catalog.int8 LIMIT 1", qschema);
	tg->record_sql = xasprintf(
							   "INSERT INTO %s.mirai_load_ledger (table_name, file_name, client_host, "
							   "  file_size, content_hash, packets, filtered, not_ip, truncated, "
							   "  damaged_regions, damaged_bytes, malformed, filter, forced, options, "
							   "  records, from_record, at_end) "
							   "VALUES ($1::pg_catalog.oid::pg_catalog.regclass, $2, $3, $4, "
							   "  $5::pg_catalog.bytea, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
							   "  $16, $17, $18) "
							   "ON CONFLICT (table_name, content_hash, loaded_by, options, from_record) "
							   "WHERE NOT forced DO NOTHING",
							   qschema);

	/*
	 * The rows a file of a given size may resume (ledger_resumable): of the
	 * table, by a trusted role, with the same options, no longer than the
	 * file, with their records counted (0.2.0 and later), without damage
	 * stepped over (salvage decides near a file's end by what follows), and
	 * cut short: truncated, a batch before the end, or of the same file
	 * name (a file written a record at a time ends on a record); or of the
	 * file's size (the same content: --follow goes on after it).  Most
	 * records first.
	 */
	tg->resume_sql = xasprintf(
							   "SELECT l.file_size, pg_catalog.encode(l.content_hash, 'hex'), l.records, l.file_name, "
							   "  l.loaded_by, l.loaded_at "
							   "FROM %s.mirai_load_ledger l, "
							   "  (SELECT pg_catalog.pg_get_userbyid(c.relowner) AS owner "
							   "   FROM pg_catalog.pg_class c "
							   "   WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid) o "
							   "WHERE l.table_name OPERATOR(pg_catalog.=) $1::pg_catalog.oid::pg_catalog.regclass "
							   "  AND l.file_size OPERATOR(pg_catalog.<=) $2::pg_catalog.int8 "
							   "  AND l.records IS NOT NULL AND l.records OPERATOR(pg_catalog.>) 0 "
							   "  AND (l.loaded_by OPERATOR(pg_catalog.=) CURRENT_USER "
							   "       OR l.loaded_by OPERATOR(pg_catalog.=) o.owner) "
							   "  AND (l.options OPERATOR(pg_catalog.=) $3::pg_catalog.text "
							   "       OR l.options OPERATOR(pg_catalog.=) $4::pg_catalog.text) "
							   "  AND l.damaged_regions OPERATOR(pg_catalog.=) 0 "
							   "  AND (l.truncated OR NOT l.at_end "
							   "       OR l.file_name OPERATOR(pg_catalog.=) $5::pg_catalog.text "
							   "       OR l.file_size OPERATOR(pg_catalog.=) $2::pg_catalog.int8) "
							   "ORDER BY l.records DESC, l.file_size DESC LIMIT 256",
							   qschema);
	free(schema);
}
