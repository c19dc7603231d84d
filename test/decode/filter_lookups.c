/*-------------------------------------------------------------------------
 *
 * filter_lookups.c
 *		Does compiling a filter look anything up?  For
 *		test/t/078_filter_names.t.
 *
 *		filter_lookups < EXPRESSIONS
 *
 * This program defines the resolver functions libpcap calls for names
 * (getaddrinfo, gethostbyname*, getnetbyname*, getservbyname*,
 * getprotobyname*, ether_hostton); a definition in the executable comes
 * before libc's for every library, so each call libpcap makes lands here.
 * Each one counts the call as a lookup and answers "not found", asking no
 * name service -- except getaddrinfo() of a numeric address (libpcap's way
 * to parse an IPv6 address), which is passed to libc's and not counted.
 *
 * For each line of input, the expression is compiled twice: as the loader
 * does (mx_filter_new) and as the server does (mx_filter_new_flags with
 * MX_FILTER_NO_NAMES).  One line of output each:
 *
 *	server=ok|refused|invalid lookups=N loader=ok|invalid lookups=N
 *		| server's message | server's hint | loader's message
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/ether.h>
#include <stdio.h>
#include <string.h>

#include "mx_decode.h"

static int	lookups;

/* a numeric address, which getaddrinfo parses without a name service */
static int
numeric(const char *node, const struct addrinfo *hints)
{
	unsigned char buf[16];

	if (node == NULL)
		return 0;
	if (hints != NULL && (hints->ai_flags & AI_NUMERICHOST))
		return 1;
	return inet_pton(AF_INET, node, buf) == 1 || inet_pton(AF_INET6, node, buf) == 1;
}

int
getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res)
{
	int			(*real) (const char *, const char *, const struct addrinfo *,
						 struct addrinfo **);

	if (numeric(node, hints) && service == NULL)
	{
		real = (int (*) (const char *, const char *, const struct addrinfo *,
						 struct addrinfo **)) dlsym(RTLD_NEXT, "getaddrinfo");
		return real(node, service, hints, res);
	}
	lookups++;
	*res = NULL;
	return EAI_NONAME;
}

struct hostent *
gethostbyname(const char *name)
{
	(void) name;
	lookups++;
	return NULL;
}

struct hostent *
gethostbyname2(const char *name, int af)
{
	(void) name;
	(void) af;
	lookups++;
	return NULL;
}

int
gethostbyname_r(const char *name, struct hostent *ret, char *buf,
				size_t buflen, struct hostent **result, int *h_errnop)
{
	(void) name;
	(void) ret;
	(void) buf;
	(void) buflen;
	lookups++;
	*result = NULL;
	*h_errnop = HOST_NOT_FOUND;
	return 0;
}

int
gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
				 size_t buflen, struct hostent **result, int *h_errnop)
{
	(void) af;
	return gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

struct netent *
getnetbyname(const char *name)
{
	(void) name;
	lookups++;
	return NULL;
}

int
getnetbyname_r(const char *name, struct netent *ret, char *buf, size_t buflen,
			   struct netent **result, int *h_errnop)
{
	(void) name;
	(void) ret;
	(void) buf;
	(void) buflen;
	lookups++;
	*result = NULL;
	*h_errnop = HOST_NOT_FOUND;
	return 0;
}

struct servent *
getservbyname(const char *name, const char *proto)
{
	(void) name;
	(void) proto;
	lookups++;
	return NULL;
}

int
getservbyname_r(const char *name, const char *proto, struct servent *ret,
				char *buf, size_t buflen, struct servent **result)
{
	(void) name;
	(void) proto;
	(void) ret;
	(void) buf;
	(void) buflen;
	lookups++;
	*result = NULL;
	return 0;
}

struct protoent *
getprotobyname(const char *name)
{
	(void) name;
	lookups++;
	return NULL;
}

int
getprotobyname_r(const char *name, struct protoent *ret, char *buf,
				 size_t buflen, struct protoent **result)
{
	(void) name;
	(void) ret;
	(void) buf;
	(void) buflen;
	lookups++;
	*result = NULL;
	return 0;
}

int
ether_hostton(const char *hostname, struct ether_addr *addr)
{
	(void) hostname;
	(void) addr;
	lookups++;
	return -1;
}

int
main(void)
{
	char		line[4096];

	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		mx_filter  *f;
		mx_error	err;
		int			server_lookups,
					loader_lookups;
		const char *server;
		char		message[sizeof(err.message)] = "";
		const char *hint = "";

		line[strcspn(line, "\n")] = '\0';
		lookups = 0;
		memset(&err, 0, sizeof(err));
		f = mx_filter_new_flags(line, MX_FILTER_NO_NAMES, &err);
		server = f ? "ok" : err.hint ? "refused" : "invalid";
		if (f == NULL)
		{
			strcpy(message, err.message);
			hint = err.hint ? err.hint : "";
		}
		mx_filter_free(f);
		server_lookups = lookups;
		lookups = 0;
		memset(&err, 0, sizeof(err));
		f = mx_filter_new(line, &err);
		loader_lookups = lookups;
		printf("server=%s lookups=%d loader=%s lookups=%d | %s | %s | %s\n", server,
			   server_lookups, f ? "ok" : "invalid", loader_lookups, message, hint,
			   f ? "" : err.message);
		mx_filter_free(f);
	}
	return 0;
}
