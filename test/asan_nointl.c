/*-------------------------------------------------------------------------
 *
 * asan_nointl.c
 *		A preload shim for `make asan-check` (test/asan.sh): message
 *		catalogs off.
 *
 * With gcc's or clang's libasan preloaded, Debian 12's postgres hangs at
 * start-up in glibc's bindtextdomain(), on its internal _nl_state_lock,
 * before main() has done anything else (the same hang as
 * llvm-project issue #49223 with ps and free).  Preloaded after libasan,
 * this shim makes bindtextdomain, textdomain and bind_textdomain_codeset
 * no-ops: the server then starts, and its messages stay untranslated,
 * which the regression tests (lc_messages C) want anyway.  Nothing else
 * changes, and nothing of this is built into the extension.
 *
 *-------------------------------------------------------------------------
 */
char	   *bindtextdomain(const char *domain, const char *dir);
char	   *textdomain(const char *domain);
char	   *bind_textdomain_codeset(const char *domain, const char *codeset);

/* Pretend the binding was made. */
char *
bindtextdomain(const char *domain, const char *dir)
{
	(void) domain;
	return (char *) dir;
}

/* Pretend the domain was set. */
char *
textdomain(const char *domain)
{
	return (char *) (domain ? domain : "messages");
}

/* Pretend the codeset was set. */
char *
bind_textdomain_codeset(const char *domain, const char *codeset)
{
	(void) domain;
	return (char *) codeset;
}
