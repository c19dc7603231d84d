/*-------------------------------------------------------------------------
 *
 * load_options.c
 *	  The command line: options, --help, and a password in -d hidden from
 *	  ps as soon as it is parsed.
 *
 * src/bin/load_options.c
 *
 *-------------------------------------------------------------------------
 */
#include "load.h"

/* --help */
static void
help(void)
{
	printf("%s loads packet capture files into a table of the mirai_ext extension,\n"
		   "decoding them on this machine and streaming the packets with COPY.\n\n", PROGNAME);
	printf("Usage:\n  %s [OPTION]... -t TABLE FILE...\n\n", PROGNAME);
	printf("FILE is a pcap or pcapng file, gzip-compressed or not (found by content);\n"
		   "\"-\" reads standard input (e.g. tcpdump -w - or zcat).\n\n");
	printf("Options:\n"
		   "  -t, --table=TABLE        table to load, named as in SQL (schema.table;\n"
		   "                           quote capitals, dots and quotes: -t '\"My.Table\"')\n"
		   "  -c, --column=NAME        the column of type packet, when the table has several\n"
		   "  -f, --filter=BPF         load only the frames this BPF expression matches\n"
		   "                           (tcpdump syntax; \"vlan and ...\" for tagged frames)\n"
		   "  -m, --mirai-only         load only Mirai scanner packets (is_mirai)\n"
		   "      --scanner=LIST       load only packets that match one of these scanner\n"
		   "                           rules (mirai,zmap,...; all: every checkable rule)\n"
		   "      --force              load files again even when the ledger has them\n"
		   "      --commit-every=N[s]  commit a batch every N packets (Ns: N seconds), each\n"
		   "                           with its ledger row: for pipes that run for hours\n"
		   "      --follow             keep loading a file that is being written (tcpdump\n"
		   "                           -w FILE, -G and -C rotation too) until it is closed\n"
		   "                           or rotated, in batches (every 10 s by default)\n"
		   "      --follow-idle=SECS   --follow: end a file that has not grown for SECS\n"
		   "                           seconds and has no newer file (default 60)\n"
		   "  -j, --jobs=N             load N files at once, on N connections (default 1)\n"
		   "  -s, --stop-on-error      stop at the first file that fails\n"
		   "      --on-error=MODE      error: a damaged record fails its file (default);\n"
		   "                           skip: skip damaged records and malformed packets,\n"
		   "                           load the rest, and report what was skipped\n"
		   "  -n, --dry-run            decode and count only, no database\n"
		   "  -q, --quiet              no progress line, no summary; errors and warnings only\n"
		   "  -v, --verbose            one line per file (loaded, skipped)\n"
		   "  -V, --version            show the version and exit\n"
		   "  -?, --help               show this help and exit\n\n");
	printf("Connection options (as in psql):\n"
		   "  -d, --dbname=DBNAME      database name, or a conninfo string or URI (whose\n"
		   "                           settings win over -h, -p and -U)\n"
		   "  -h, --host=HOSTNAME      database server host or socket directory\n"
		   "  -p, --port=PORT          database server port\n"
		   "  -U, --username=USERNAME  database user name\n"
		   "  -w, --no-password        never prompt for a password\n"
		   "  -W, --password           prompt for a password before connecting (else it is\n"
		   "                           asked for on the terminal when the server wants one)\n"
		   "PG* environment variables and ~/.pgpass apply; put the password there, not on\n"
		   "the command line.\n\n");
	printf("Each file is loaded in one transaction, with a row in the ledger table\n"
		   "mirai_load_ledger that names it by the SHA-256 of the bytes read: a gzip\n"
		   "file's compressed bytes, or what comes through \"-\" (zcat's output is\n"
		   "decompressed: \"zcat f.gz | mirai_load -\" and \"mirai_load f.gz\" are two\n"
		   "files to it).  A file whose content is already in the ledger for the table,\n"
		   "loaded with the same column and filter options by this role or by the\n"
		   "table's owner, is skipped, whatever its name, even if the table was emptied\n"
		   "since; --force loads it again.  A file that extends the content of an earlier\n"
		   "load that was cut short (a file still being written, a batch) is loaded from\n"
		   "the record after those loaded (resumed).\n"
		   "A corrupt file is reported (file, packet, byte offset, field), rolled back,\n"
		   "and the next file is loaded; with --on-error=skip, its damaged records are\n"
		   "skipped with a warning each and the rest is loaded, as pcap_read(...,\n"
		   "on_error => 'skip') reads it.  A file that ends inside its last record is\n"
		   "loaded without that record, with a warning.\n\n");
	printf("Exit status:\n"
		   "  0    every file was loaded, or was already loaded\n"
		   "  1    some file failed (nothing of it was loaded)\n"
		   "  2    usage error, or the table, column or extension is wrong (nothing loaded)\n"
		   "  3    could not connect, or the connection was lost\n"
		   "  130  interrupted by SIGINT (143: SIGTERM); the file in progress was rolled back\n\n");
	printf("See also the manual page mirai_load(1).\n");
}

/*
 * Overwrite the bytes of a value in a conninfo string: "password=secret"
 * or "password='a \'quoted\' one'".  Mirrors libpq's conninfo_parse
 * (fe-connect.c): keyword, optional blanks, "=", optional blanks, then a
 * value up to a blank, or quoted with ' (a backslash escapes the next
 * character in both forms).  Stops at what libpq would reject.
 */
static void
mask_conninfo_password(char *s)
{
	char	   *p = s;

	while (*p)
	{
		const char *key;
		size_t		keylen;
		bool		secret;

		if (isspace((unsigned char) *p))
		{
			p++;
			continue;
		}
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char) *p))
			p++;
		keylen = p - key;
		while (isspace((unsigned char) *p))
			p++;
		if (*p != '=')
			return;
		p++;
		while (isspace((unsigned char) *p))
			p++;
		secret = keylen == 8 && strncmp(key, "password", 8) == 0;
		if (*p == '\'')
		{
			for (p++; *p && *p != '\''; p++)
			{
				if (*p == '\\' && p[1])
				{
					if (secret)
						*p = 'x';
					p++;
				}
				if (secret)
					*p = 'x';
			}
			if (*p)
				p++;
		}
		else
		{
			for (; *p && !isspace((unsigned char) *p); p++)
			{
				if (*p == '\\' && p[1])
				{
					if (secret)
						*p = 'x';
					p++;
				}
				if (secret)
					*p = 'x';
			}
		}
	}
}

/* Is s[0..len) "password", percent-decoded as in a URI? */
static bool
uri_key_is_password(const char *s, size_t len)
{
	static const char word[] = "password";
	size_t		i,
				n = 0;

	for (i = 0; i < len; i++, n++)
	{
		int			c = (unsigned char) s[i];

		if (c == '%' && i + 2 < len && isxdigit((unsigned char) s[i + 1]) &&
			isxdigit((unsigned char) s[i + 2]))
		{
			char		hex[3] = {s[i + 1], s[i + 2], '\0'};

			c = (int) strtol(hex, NULL, 16);
			i += 2;
		}
		if (n >= sizeof(word) - 1 || c != word[n])
			return false;
	}
	return n == sizeof(word) - 1;
}

/*
 * Overwrite the password of a URI: "postgresql://user:secret@host/db" and
 * "...?password=secret".  Mirrors libpq's conninfo_uri_parse_options: the
 * user information ends at the first "@" met before any "/", the password
 * is what follows its first ":"; the query string starts at the first "?"
 * after it, its parameters are separated by "&", and keywords are
 * percent-decoded.
 */
static void
mask_uri_password(char *s)
{
	char	   *p = strstr(s, "://") + 3;
	char	   *q;

	for (q = p; *q && *q != '@' && *q != '/'; q++)
		;
	if (*q == '@')
	{
		char	   *colon = memchr(p, ':', q - p);

		if (colon)
			memset(colon + 1, 'x', q - colon - 1);
		p = q + 1;
	}
	p = strchr(p, '?');
	while (p && *p)
	{
		char	   *key = ++p;
		char	   *eq;

		while (*p && *p != '&')
			p++;
		eq = memchr(key, '=', p - key);
		if (eq && uri_key_is_password(key, eq - key))
			memset(eq + 1, 'x', p - eq - 1);
	}
}

/*
 * Hide the password of a -d DBNAME from ps and /proc/PID/cmdline: keep a
 * copy for libpq, then overwrite the password's bytes in argv, in place,
 * before any connection or worker (the workers are forked and share the
 * parent's arguments).  When the masked string would still give libpq the
 * password, or libpq cannot parse the string, the whole argument is
 * overwritten.  A plain database name is left alone.
 */
static char *
hide_password(char *arg)
{
	char	   *copy = strdup(arg);
	PQconninfoOption *before,
			   *after,
			   *o;
	const char *secret = NULL;
	bool		hidden = true;

	if (copy == NULL)
	{
		emit("%s: error: out of memory\n", PROGNAME);
		exit(EXIT_FAILED);
	}
	if (strchr(arg, '=') == NULL && strncmp(arg, "postgresql://", 13) != 0 &&
		strncmp(arg, "postgres://", 11) != 0)
		return copy;
	before = PQconninfoParse(copy, NULL);
	if (before == NULL)
	{
		/* libpq will reject it and say why; show none of it meanwhile */
		memset(arg, 'x', strlen(arg));
		return copy;
	}
	for (o = before; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
			secret = o->val;
	if (secret == NULL)
	{
		PQconninfoFree(before);
		return copy;
	}
	if (strncmp(arg, "postgresql://", 13) == 0 || strncmp(arg, "postgres://", 11) == 0)
		mask_uri_password(arg);
	else
		mask_conninfo_password(arg);
	after = PQconninfoParse(arg, NULL);
	for (o = after; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && strcmp(o->val, secret) == 0)
			hidden = false;
	if (after == NULL || !hidden)
		memset(arg, 'x', strlen(arg));
	PQconninfoFree(after);
	PQconninfoFree(before);
	return copy;
}

/* A positive integer option value, or a usage error. */
static int
parse_jobs(const char *s)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 1 || v > MAX_JOBS)
		usage_error("invalid number of jobs \"%s\": must be 1 to %d", s, MAX_JOBS);
	return (int) v;
}

/* A whole number of seconds, 1 to a day, as nanoseconds. */
static int64_t
parse_seconds(const char *option, const char *s)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > 86400)
		usage_error("invalid value for %s: \"%s\" (whole seconds, 1 to 86400)", option, s);
	return (int64_t) v * NS_PER_S;
}

/*
 * --commit-every=N (packets, 1 to 10^12) or Ns (seconds, 1 to 86400): a
 * batch is committed, with its ledger row, after every N packets loaded,
 * or every N seconds that loaded packets.
 */
static void
parse_commit_every(const char *s, options *opt)
{
	char	   *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!errno && end != s && isdigit((unsigned char) s[0]) && strcmp(end, "s") == 0 &&
		v >= 1 && v <= 86400)
	{
		opt->commit_ns = (int64_t) v * NS_PER_S;
		opt->commit_packets = 0;
		return;
	}
	if (errno || end == s || !isdigit((unsigned char) s[0]) || *end != '\0' || v < 1 ||
		v > UINT64_C(1000000000000))
		usage_error("invalid value for --commit-every: \"%s\" (N packets, 1 to 10^12, or Ns seconds, 1 to 86400)", s);
	opt->commit_packets = v;
	opt->commit_ns = 0;
}

/*
 * --scanner=LIST: the catalogue's names (mx_scanner.h), "all" for every
 * checkable rule.  An unknown name or a rule that cannot be checked on a
 * decoded packet is a usage error in the catalogue's words.
 */
static void
parse_scanners(const char *list, options *opt)
{
	mx_error	err;

	if (mx_scanner_parse_list(list, &opt->scanners, &err) != MX_OK)
	{
		if (err.detail)
			usage_error_hint(err.detail, "%s", err.message);
		usage_error("%s", err.message);
	}
}

/*
 * Parse the command line into *opt; exits on --help, --version, errors.
 *
 * The short options follow PostgreSQL's clients: -d -h -p -U -w -W -V -?
 * as in psql and pg_dump, -t -j -v as in pg_dump.  -h is the host, never
 * the help; -F, --force's short form up to mirai_ext 0.1.1, is an error
 * with a hint, since every client that has -F gives it a value (psql's
 * field separator, pg_dump's format) and a stray one must not force a
 * load.
 */
void
parse_options(int argc, char **argv, options *opt)
{
	static const struct option longopts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"no-password", no_argument, NULL, 'w'},
		{"password", no_argument, NULL, 'W'},
		{"table", required_argument, NULL, 't'},
		{"column", required_argument, NULL, 'c'},
		{"filter", required_argument, NULL, 'f'},
		{"mirai-only", no_argument, NULL, 'm'},
		{"force", no_argument, NULL, 1},
		{"jobs", required_argument, NULL, 'j'},
		{"stop-on-error", no_argument, NULL, 's'},
		{"on-error", required_argument, NULL, 'E'},
		{"dry-run", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 2},
		{"scanner", required_argument, NULL, 3},
		{"commit-every", required_argument, NULL, 4},
		{"follow", no_argument, NULL, 5},
		{"follow-idle", required_argument, NULL, 6},
		{NULL, 0, NULL, 0}
	};
	int			c;
	int			i,
				stdins = 0;

	memset(opt, 0, sizeof(*opt));
	opt->jobs = 1;
	opt->on_error = "error";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:h:p:U:wWt:c:f:mj:snqvV?F", longopts, NULL)) != -1)
	{
		const char *arg = argv[optind - 1];
		bool		islong = strncmp(arg, "--", 2) == 0;

		switch (c)
		{
			case 'd':
				opt->conninfo = hide_password(optarg);
				break;
			case 'h':
				opt->host = optarg;
				break;
			case 'p':
				opt->port = optarg;
				break;
			case 'U':
				opt->username = optarg;
				break;
			case 'w':
				opt->prompt = PROMPT_NEVER;
				break;
			case 'W':
				opt->prompt = PROMPT_ALWAYS;
				break;
			case 't':
				opt->table = optarg;
				break;
			case 'c':
				opt->column = optarg;
				break;
			case 'f':
				opt->filter = optarg;
				break;
			case 'm':
				opt->mirai_only = true;
				break;
			case 1:
				opt->force = true;
				break;
			case 3:
				parse_scanners(optarg, opt);
				break;
			case 4:
				parse_commit_every(optarg, opt);
				break;
			case 5:
				opt->follow = true;
				break;
			case 6:
				opt->follow_idle_ns = parse_seconds("--follow-idle", optarg);
				break;
			case 'F':
				usage_error_hint("To load files again, use --force; it has no short form (-F was --force up to mirai_ext 0.1.1).",
								 "invalid option \"-F\"");
				break;
			case 'j':
				opt->jobs = parse_jobs(optarg);
				break;
			case 's':
				opt->stop_on_error = true;
				break;
			case 'E':
				opt->on_error = optarg;
				break;
			case 'n':
				opt->dry_run = true;
				break;
			case 'q':
				opt->quiet = true;
				break;
			case 'v':
				opt->verbose = true;
				break;
			case 'V':
				printf("%s (mirai_ext) %s\n", PROGNAME, MX_VERSION_STRING);
				exit(0);
			case 2:
				help();
				exit(0);
			case ':':
				if (optopt == 'h' && !islong)
					usage_error_hint("-h is the database server's host (--host), as in psql; -? or --help shows the help.",
									 "option \"-h\" needs a value");
				if (islong)
					usage_error("option \"%s\" needs a value", arg);
				usage_error("option \"-%c\" needs a value", optopt);
				break;
			case '?':
				/* -? itself, or an option getopt does not know */
				if (optopt == 0 && !islong)
				{
					help();
					exit(0);
				}
				if (optopt > ' ' && optopt < 127 && !islong)
					usage_error("invalid option \"-%c\"", optopt);
				usage_error("invalid option \"%s\"", arg);
				break;
			default:
				usage_error("invalid option \"%s\"", arg);
		}
	}
	if (strcmp(opt->on_error, "skip") == 0)
		opt->salvage = true;
	else if (strcmp(opt->on_error, "error") != 0)
		usage_error("invalid value for --on-error: \"%s\" (valid: error, skip)", opt->on_error);
	if (opt->table == NULL && !opt->dry_run)
		usage_error("no table given (-t TABLE)");
	if (opt->quiet && opt->verbose)
		usage_error("--quiet and --verbose contradict each other");
	opt->files = argv + optind;
	opt->nfiles = argc - optind;
	if (opt->nfiles == 0)
		usage_error("no file given (use \"-\" for standard input)");
	for (i = 0; i < opt->nfiles; i++)
	{
		if (strcmp(opt->files[i], "-") == 0)
			stdins++;
		else if (opt->files[i][0] == '\0')
			usage_error("empty file name");
	}
	if (stdins > 1)
		usage_error("standard input (\"-\") can be read only once");
	if (opt->follow_idle_ns && !opt->follow)
		usage_error("--follow-idle needs --follow");
	if (opt->follow)
	{
		if (opt->dry_run)
			usage_error("--follow and --dry-run cannot be used together");
		if (opt->nfiles != 1 || stdins)
			usage_error_hint("--follow loads one file as it grows, and the files that follow it in its rotation set.",
							 "--follow needs exactly one file, not standard input");
		if (opt->jobs > 1)
			usage_error("--follow and --jobs cannot be used together");
		if (opt->commit_packets == 0 && opt->commit_ns == 0)
			opt->commit_ns = INT64_C(10) * NS_PER_S;
		if (opt->follow_idle_ns == 0)
			opt->follow_idle_ns = INT64_C(60) * NS_PER_S;
	}
}

/*
 * The filter options as the ledger records them (its filter column, and
 * part of options): --filter as given, --mirai-only, and --scanner's rules
 * in catalogue order, so that the same rules named in another order are
 * the same options.  NULL when there are none.
 */
char *
filter_text(const options *opt)
{
	char		scanners[256] = "";
	char	   *s;

	if (opt->scanners)
	{
		memcpy(scanners, " --scanner=", 11);
		mx_scanner_format_list(opt->scanners, ",", scanners + 11, sizeof(scanners) - 11);
	}
	if (!opt->filter && !opt->mirai_only && !opt->scanners)
		return NULL;
	s = xasprintf("%s%s%s%s", opt->filter ? " --filter=" : "",
				  opt->filter ? opt->filter : "",
				  opt->mirai_only ? " --mirai-only" : "", scanners);
	memmove(s, s + 1, strlen(s));	/* the first blank */
	return s;
}
