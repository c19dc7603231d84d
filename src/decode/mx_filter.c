/*-------------------------------------------------------------------------
 *
 * mx_filter.c
 *		BPF filters on records, compiled by libpcap, one program per link
 *		type (a pcapng file may mix link types).
 *
 * The expression runs on the raw frame, exactly as tcpdump runs it, so a
 * filter means what it means to tcpdump ("vlan and tcp" for tagged
 * frames).  libpcap numbers link types as DLT_* for compiling; the few
 * LINKTYPE_* values that differ are mapped here.
 *
 * libpcap looks up the names a filter holds while it compiles (a host in
 * DNS, a service, a protocol, a network, a MAC address).  The server asks
 * for MX_FILTER_NO_NAMES, and mx_filter_check_names() refuses every name
 * before libpcap sees the expression; see "Names" below.
 *
 *-------------------------------------------------------------------------
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "mx_bytes.h"

#define MAX_PROGRAMS 16

/* One compiled program, or the reason it does not compile. */
typedef struct program
{
	uint32_t	linktype;
	bool		ok;
	struct bpf_program prog;
	char		error[PCAP_ERRBUF_SIZE];
} program;

struct mx_filter
{
	char	   *expr;
	uint8_t    *swapbuf;		/* DLT_NULL frames with their family swapped */
	int			nprogs;
	program		progs[MAX_PROGRAMS];
	int			last;			/* index of the last program used */
};

/* True on a big-endian machine. */
static bool
host_is_big_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *) &one == 0;
}

/* libpcap's DLT_* for a file's LINKTYPE_*. */
static int
linktype_to_dlt(uint32_t linktype)
{
	switch (linktype)
	{
		case MX_LINKTYPE_RAW:
		case MX_LINKTYPE_RAW12:
		case MX_LINKTYPE_RAW14:
			return DLT_RAW;
	}
	return (int) linktype;
}

/* Compile the expression for a link type into slot p. */
static void
compile(mx_filter *f, program *p, uint32_t linktype)
{
	pcap_t	   *pc = pcap_open_dead(linktype_to_dlt(linktype), MX_MAX_CAPLEN);

	p->linktype = linktype;
	p->ok = false;
	if (pc == NULL)
	{
		strcpy(p->error, "libpcap could not open a dead capture handle");
		return;
	}
	if (pcap_compile(pc, &p->prog, f->expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
		p->ok = true;
	else
	{
		strncpy(p->error, pcap_geterr(pc), sizeof(p->error) - 1);
		p->error[sizeof(p->error) - 1] = '\0';
	}
	pcap_close(pc);
}

mx_filter *
mx_filter_new(const char *expr, mx_error *err)
{
	return mx_filter_new_flags(expr, 0, err);
}

mx_filter *
mx_filter_new_flags(const char *expr, unsigned flags, mx_error *err)
{
	mx_filter  *f;

	if ((flags & MX_FILTER_NO_NAMES) && mx_filter_check_names(expr, err) != MX_OK)
		return NULL;
	f = calloc(1, sizeof(mx_filter));
	if (f == NULL || (f->expr = strdup(expr)) == NULL)
	{
		free(f);
		mx_fail(err, MX_ERR_NOMEM, "filter", 0, 0, "out of memory");
		return NULL;
	}
	compile(f, &f->progs[0], MX_LINKTYPE_ETHERNET);
	f->nprogs = 1;
	if (!f->progs[0].ok)
	{
		mx_fail(err, MX_ERR_FILTER, "filter", 0, 0, "invalid filter \"%s\": %s",
				expr, f->progs[0].error);
		mx_filter_free(f);
		return NULL;
	}
	return f;
}

int
mx_filter_match(mx_filter *f, const mx_record *rec, mx_error *err)
{
	program    *p = &f->progs[f->last];
	struct pcap_pkthdr h;
	int			i;

	if (p->linktype != rec->linktype)
	{
		for (i = 0; i < f->nprogs; i++)
			if (f->progs[i].linktype == rec->linktype)
				break;
		if (i == f->nprogs)
		{
			if (f->nprogs == MAX_PROGRAMS)
			{
				mx_fail(err, MX_ERR_FILTER, "filter", rec->packetno, rec->offset,
						"filter needs more than %d link types", MAX_PROGRAMS);
				return -1;
			}
			compile(f, &f->progs[i], rec->linktype);
			f->nprogs++;
		}
		f->last = i;
		p = &f->progs[i];
	}
	if (!p->ok)
	{
		mx_fail(err, MX_ERR_FILTER, "filter", rec->packetno, rec->offset,
				"filter \"%s\" cannot apply to link type %u: %s",
				f->expr, rec->linktype, p->error);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.caplen = rec->caplen;
	h.len = rec->wirelen;
	if (rec->linktype == MX_LINKTYPE_NULL && rec->caplen >= 4 &&
		rec->big_endian != host_is_big_endian())
	{
		/*
		 * DLT_NULL's family is in the capturing host's byte order, which
		 * libpcap takes to be the file's.  A program compiled without a
		 * file compares in our byte order, so show it the family swapped,
		 * as libpcap does for a swapped file.
		 */
		if (f->swapbuf == NULL && (f->swapbuf = malloc(MX_MAX_CAPLEN)) == NULL)
		{
			mx_fail(err, MX_ERR_NOMEM, "filter", rec->packetno, rec->offset,
					"out of memory");
			return -1;
		}
		memcpy(f->swapbuf, rec->data, rec->caplen);
		f->swapbuf[0] = rec->data[3];
		f->swapbuf[1] = rec->data[2];
		f->swapbuf[2] = rec->data[1];
		f->swapbuf[3] = rec->data[0];
		return pcap_offline_filter(&p->prog, &h, f->swapbuf) != 0;
	}
	return pcap_offline_filter(&p->prog, &h, rec->data) != 0;
}

void
mx_filter_free(mx_filter *f)
{
	int			i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nprogs; i++)
		if (f->progs[i].ok)
			pcap_freecode(&f->progs[i].prog);
	free(f->swapbuf);
	free(f->expr);
	free(f);
}

/* ----------------------------------------------------------------------
 * Names: what would make libpcap look something up
 * ----------------------------------------------------------------------
 *
 * pcap_compile() resolves every name a filter holds: a host with
 * getaddrinfo() (DNS, /etc/hosts), a network with getnetbyname(), a port
 * with getaddrinfo()'s service lookup, a protocol with getprotobyname(), a
 * MAC address with ether_hostton() (/etc/ethers, NIS).  In the server that
 * would let any caller of pcap_read make the backend wait on DNS and send
 * queries of the caller's choosing from the database host.  Numbers it
 * parses itself, without a lookup: IPv4 addresses with __pcap_atoin(),
 * IPv6 addresses with getaddrinfo(AI_NUMERICHOST) in the scanner (and
 * again without the flag in gen_mcode6(), which for a numeric address
 * parses it and asks no name service), MAC addresses with
 * pcap_ether_aton(), ports and protocols as plain numbers.  Nothing else
 * in compile() asks the network: pcap_open_dead() only allocates a handle,
 * the optimizer only computes, and with PCAP_NETMASK_UNKNOWN the one thing
 * that needs a netmask ("ip broadcast") fails instead of looking one up.
 * (Checked with strace on libpcap 1.10: no file of the name services is
 * opened and no socket made for any numeric filter;
 * test/t/078_filter_names.t checks it with the resolver functions
 * interposed.)
 *
 * Only one token of libpcap's scanner (scanner.l) reaches those lookups:
 * ID, a word such as "example.com", "http" or "\tcp" that is neither a
 * keyword nor a number (gen_scode() and the productions that call it in
 * grammar.y).  So mx_filter_check_names() splits the expression as
 * libpcap's scanner does -- flex's rule: the longest match wins, and of
 * equally long matches the rule written first -- and refuses every ID,
 * except two kinds that libpcap never looks up:
 *	- the word after a keyword that takes a word from libpcap's own tables
 *	  (type, subtype, dir, llc, on / ifname, rset, reason, action: 802.11,
 *	  LLC and pflog names, compared with str2tok() and strcmp());
 *	- a port range of two decimal numbers ("1025-65535") where the address
 *	  qualifier in force is portrange (pcap_nametoportrange() reads it
 *	  with sscanf() first).
 *
 * The keyword table and the token rules follow libpcap 1.10's scanner.l;
 * the rules are written out here, not taken from it.  Being stricter than
 * the scanner is safe (a filter is refused that libpcap would have
 * compiled without a lookup); being looser is not, so where a rule is
 * unsure it treats the word as a name.
 */

/* What a keyword does in the grammar, as far as names are concerned. */
typedef enum kw_class
{
	KW_OTHER,					/* no bearing on names */
	KW_PROTO,					/* a protocol qualifier: tcp, ip, ... */
	KW_LINK,					/* a link-layer protocol qualifier: ether */
	KW_DIR,						/* a direction qualifier: src, dst, ... */
	KW_HOST,					/* address qualifiers */
	KW_NET,
	KW_PORT,
	KW_PORTRANGE,
	KW_GATEWAY,
	KW_PROTOKW,					/* proto, protochain */
	KW_TAKES_WORD,				/* the next word is one of libpcap's own */
	KW_LOGIC,					/* and, or, not: the qualifiers carry on */
	KW_NUMBER					/* a named number: tcp-syn, icmptype */
} kw_class;

typedef struct keyword
{
	const char *word;
	kw_class	cls;
} keyword;

/*
 * libpcap 1.10's keywords (scanner.l), lower case as the scanner wants
 * them.  The named numbers come last, as in scanner.l, where they follow
 * the address rules.
 */
static const keyword keywords[] = {
	{"dst", KW_DIR}, {"src", KW_DIR},
	{"link", KW_LINK}, {"ether", KW_LINK}, {"ppp", KW_LINK}, {"slip", KW_LINK},
	{"fddi", KW_LINK}, {"tr", KW_LINK}, {"wlan", KW_LINK},
	{"arp", KW_PROTO}, {"rarp", KW_PROTO}, {"ip", KW_PROTO}, {"sctp", KW_PROTO},
	{"tcp", KW_PROTO}, {"udp", KW_PROTO}, {"icmp", KW_PROTO}, {"igmp", KW_PROTO},
	{"igrp", KW_PROTO}, {"pim", KW_PROTO}, {"vrrp", KW_PROTO}, {"carp", KW_PROTO},
	{"radio", KW_PROTO}, {"ip6", KW_PROTO}, {"icmp6", KW_PROTO}, {"ah", KW_PROTO},
	{"esp", KW_PROTO}, {"atalk", KW_PROTO}, {"aarp", KW_PROTO},
	{"decnet", KW_PROTO}, {"lat", KW_PROTO}, {"sca", KW_PROTO},
	{"moprc", KW_PROTO}, {"mopdl", KW_PROTO}, {"iso", KW_PROTO},
	{"esis", KW_PROTO}, {"es-is", KW_PROTO}, {"isis", KW_PROTO},
	{"is-is", KW_PROTO}, {"l1", KW_PROTO}, {"l2", KW_PROTO}, {"iih", KW_PROTO},
	{"lsp", KW_PROTO}, {"snp", KW_PROTO}, {"csnp", KW_PROTO}, {"psnp", KW_PROTO},
	{"clnp", KW_PROTO}, {"stp", KW_PROTO}, {"ipx", KW_PROTO},
	{"netbeui", KW_PROTO},
	{"host", KW_HOST}, {"net", KW_NET}, {"mask", KW_OTHER}, {"port", KW_PORT},
	{"portrange", KW_PORTRANGE}, {"proto", KW_PROTOKW},
	{"protochain", KW_PROTOKW}, {"gateway", KW_GATEWAY},
	{"type", KW_TAKES_WORD}, {"subtype", KW_TAKES_WORD},
	{"direction", KW_TAKES_WORD}, {"dir", KW_TAKES_WORD},
	{"address1", KW_DIR}, {"addr1", KW_DIR}, {"address2", KW_DIR},
	{"addr2", KW_DIR}, {"address3", KW_DIR}, {"addr3", KW_DIR},
	{"address4", KW_DIR}, {"addr4", KW_DIR}, {"ra", KW_DIR}, {"ta", KW_DIR},
	{"less", KW_OTHER}, {"greater", KW_OTHER}, {"byte", KW_OTHER},
	{"broadcast", KW_OTHER}, {"multicast", KW_OTHER},
	{"and", KW_LOGIC}, {"&&", KW_LOGIC}, {"or", KW_LOGIC}, {"||", KW_LOGIC},
	{"not", KW_LOGIC},
	{"len", KW_OTHER}, {"length", KW_OTHER}, {"inbound", KW_OTHER},
	{"outbound", KW_OTHER}, {"ifindex", KW_OTHER},
	{"vlan", KW_OTHER}, {"mpls", KW_OTHER}, {"pppoed", KW_OTHER},
	{"pppoes", KW_OTHER}, {"geneve", KW_OTHER},
	{"lane", KW_OTHER}, {"llc", KW_TAKES_WORD}, {"metac", KW_OTHER},
	{"bcc", KW_OTHER}, {"oam", KW_OTHER}, {"oamf4", KW_OTHER},
	{"oamf4ec", KW_OTHER}, {"oamf4sc", KW_OTHER}, {"sc", KW_OTHER},
	{"ilmic", KW_OTHER}, {"vpi", KW_OTHER}, {"vci", KW_OTHER},
	{"connectmsg", KW_OTHER}, {"metaconnect", KW_OTHER},
	{"on", KW_TAKES_WORD}, {"ifname", KW_TAKES_WORD},
	{"rset", KW_TAKES_WORD}, {"ruleset", KW_TAKES_WORD},
	{"rnr", KW_OTHER}, {"rulenum", KW_OTHER}, {"srnr", KW_OTHER},
	{"subrulenum", KW_OTHER}, {"reason", KW_TAKES_WORD},
	{"action", KW_TAKES_WORD},
	{"fisu", KW_OTHER}, {"lssu", KW_OTHER}, {"lsu", KW_OTHER},
	{"msu", KW_OTHER}, {"hfisu", KW_OTHER}, {"hlssu", KW_OTHER},
	{"hmsu", KW_OTHER}, {"sio", KW_OTHER}, {"opc", KW_OTHER},
	{"dpc", KW_OTHER}, {"sls", KW_OTHER}, {"hsio", KW_OTHER},
	{"hopc", KW_OTHER}, {"hdpc", KW_OTHER}, {"hsls", KW_OTHER},
	/* named numbers */
	{"icmptype", KW_NUMBER}, {"icmpcode", KW_NUMBER},
	{"icmp-echoreply", KW_NUMBER}, {"icmp-unreach", KW_NUMBER},
	{"icmp-sourcequench", KW_NUMBER}, {"icmp-redirect", KW_NUMBER},
	{"icmp-echo", KW_NUMBER}, {"icmp-routeradvert", KW_NUMBER},
	{"icmp-routersolicit", KW_NUMBER}, {"icmp-timxceed", KW_NUMBER},
	{"icmp-paramprob", KW_NUMBER}, {"icmp-tstamp", KW_NUMBER},
	{"icmp-tstampreply", KW_NUMBER}, {"icmp-ireq", KW_NUMBER},
	{"icmp-ireqreply", KW_NUMBER}, {"icmp-maskreq", KW_NUMBER},
	{"icmp-maskreply", KW_NUMBER},
	{"icmp6type", KW_NUMBER}, {"icmp6code", KW_NUMBER},
	{"icmp6-destinationunreach", KW_NUMBER}, {"icmp6-packettoobig", KW_NUMBER},
	{"icmp6-timeexceeded", KW_NUMBER}, {"icmp6-parameterproblem", KW_NUMBER},
	{"icmp6-echo", KW_NUMBER}, {"icmp6-echoreply", KW_NUMBER},
	{"icmp6-multicastlistenerquery", KW_NUMBER},
	{"icmp6-multicastlistenerreportv1", KW_NUMBER},
	{"icmp6-multicastlistenerdone", KW_NUMBER},
	{"icmp6-routersolicit", KW_NUMBER}, {"icmp6-routeradvert", KW_NUMBER},
	{"icmp6-neighborsolicit", KW_NUMBER}, {"icmp6-neighboradvert", KW_NUMBER},
	{"icmp6-redirect", KW_NUMBER}, {"icmp6-routerrenum", KW_NUMBER},
	{"icmp6-nodeinformationquery", KW_NUMBER},
	{"icmp6-nodeinformationresponse", KW_NUMBER},
	{"icmp6-ineighbordiscoverysolicit", KW_NUMBER},
	{"icmp6-ineighbordiscoveryadvert", KW_NUMBER},
	{"icmp6-multicastlistenerreportv2", KW_NUMBER},
	{"icmp6-homeagentdiscoveryrequest", KW_NUMBER},
	{"icmp6-homeagentdiscoveryreply", KW_NUMBER},
	{"icmp6-mobileprefixsolicit", KW_NUMBER},
	{"icmp6-mobileprefixadvert", KW_NUMBER},
	{"icmp6-certpathsolicit", KW_NUMBER}, {"icmp6-certpathadvert", KW_NUMBER},
	{"icmp6-multicastrouteradvert", KW_NUMBER},
	{"icmp6-multicastroutersolicit", KW_NUMBER},
	{"icmp6-multicastrouterterm", KW_NUMBER},
	{"tcpflags", KW_NUMBER}, {"tcp-fin", KW_NUMBER}, {"tcp-syn", KW_NUMBER},
	{"tcp-rst", KW_NUMBER}, {"tcp-push", KW_NUMBER}, {"tcp-ack", KW_NUMBER},
	{"tcp-urg", KW_NUMBER}, {"tcp-ece", KW_NUMBER}, {"tcp-cwr", KW_NUMBER},
};

#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

/* What the scanner makes of the text at a position. */
typedef enum tok_kind
{
	TK_KEYWORD,					/* kw says which */
	TK_NUMBER,					/* a number, an address, an operator */
	TK_WORD,					/* ID: a name, unless its context says not */
	TK_OTHER					/* a character the scanner refuses */
} tok_kind;

typedef struct token
{
	tok_kind	kind;
	const keyword *kw;
	size_t		len;
} token;

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t
hex_run(const char *s)
{
	size_t		n = 0;

	while (is_hex(s[n]))
		n++;
	return n;
}

/* {N}: decimal digits, or 0x / 0X and hex digits; 0 if none. */
static size_t
match_n(const char *s)
{
	size_t		n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex(s[2]))
		return 2 + hex_run(s + 2);
	while (is_digit(s[n]))
		n++;
	return n;
}

/* {N}.{N}, {N}.{N}.{N} or {N}.{N}.{N}.{N}: an IPv4 address (HID). */
static size_t
match_hid(const char *s)
{
	size_t		pos = match_n(s),
				best = 0,
				n;
	int			groups = 1;

	if (pos == 0)
		return 0;
	while (groups < 4 && s[pos] == '.' && (n = match_n(s + pos + 1)) > 0)
	{
		pos += 1 + n;
		groups++;
		best = pos;
	}
	return best;
}

/*
 * ngroups groups of min to max hex digits separated by sep, the last one
 * taking up to max digits (the scanner's {B} is 1 to 2, {B2} exactly 4);
 * 0 if they are not there.
 */
static size_t
match_groups(const char *s, int ngroups, char sep, size_t min, size_t max)
{
	size_t		pos = 0;
	int			g;

	for (g = 0; g < ngroups; g++)
	{
		size_t		r;

		if (g > 0)
		{
			if (s[pos] != sep)
				return 0;
			pos++;
		}
		r = hex_run(s + pos);
		if (r < min)
			return 0;
		if (g < ngroups - 1)
		{
			if (r > max)
				return 0;		/* a separator must follow the group */
			pos += r;
		}
		else
			pos += r < max ? r : max;
	}
	return pos;
}

/* {MAC}: an Ethernet address in one of five forms (EID). */
static size_t
match_mac(const char *s)
{
	size_t		best = 0,
				n;

	if ((n = match_groups(s, 6, ':', 1, 2)) > best)
		best = n;
	if ((n = match_groups(s, 6, '-', 1, 2)) > best)
		best = n;
	if ((n = match_groups(s, 6, '.', 1, 2)) > best)
		best = n;
	if ((n = match_groups(s, 3, '.', 4, 4)) > best)
		best = n;
	if (hex_run(s) >= 12 && best < 12)
		best = 12;
	return best;
}

/*
 * One of the scanner's IPv6 forms: pre groups, "::", post groups (pre +
 * post <= 7); or, with pre = 8, eight groups and no "::".  A group is 1 to
 * 4 hex digits ({W}); the last one of the form takes up to 4.
 */
static size_t
match_v6_form(const char *s, int pre, int post)
{
	size_t		pos = 0;
	int			g;
	bool		dc = pre < 8;

	for (g = 0; g < pre; g++)
	{
		size_t		r;
		bool		last = !dc && g == pre - 1;

		if (g > 0)
		{
			if (s[pos] != ':')
				return 0;
			pos++;
		}
		r = hex_run(s + pos);
		if (r == 0)
			return 0;
		if (last)
			return pos + (r < 4 ? r : 4);
		if (r > 4)
			return 0;
		pos += r;
	}
	if (!dc)
		return pos;
	if (s[pos] != ':' || s[pos + 1] != ':')
		return 0;
	pos += 2;
	for (g = 0; g < post; g++)
	{
		size_t		r;

		if (g > 0)
		{
			if (s[pos] != ':')
				return 0;
			pos++;
		}
		r = hex_run(s + pos);
		if (r == 0)
			return 0;
		if (g == post - 1)
			return pos + (r < 4 ? r : 4);
		if (r > 4)
			return 0;
		pos += r;
	}
	return pos;
}

/* {V6}: an IPv6 address (HID6), the longest of the scanner's forms. */
static size_t
match_v6(const char *s)
{
	size_t		best = match_v6_form(s, 8, 0),
				n;
	int			pre,
				post;

	for (pre = 0; pre <= 7; pre++)
		for (post = 0; pre + post <= 7; post++)
			if ((n = match_v6_form(s, pre, post)) > best)
				best = n;
	/* six groups and an IPv4 address: {W}:...:{W}:{N}.{N}.{N}.{N} */
	if ((n = match_groups(s, 6, ':', 1, 4)) > 0 && s[n] == ':')
	{
		size_t		v4 = match_n(s + n + 1);
		size_t		pos = n + 1 + v4;
		int			g;

		for (g = 1; v4 > 0 && g < 4; g++)
		{
			size_t		d;

			if (s[pos] != '.' || (d = match_n(s + pos + 1)) == 0)
				break;
			pos += 1 + d;
		}
		if (v4 > 0 && g == 4 && pos > best)
			best = pos;
	}
	return best;
}

/* {B}:+({B}:+)+ : what the scanner calls a bogus Ethernet address. */
static size_t
match_bogus_mac(const char *s)
{
	size_t		pos = 0;
	int			groups = 0;

	for (;;)
	{
		size_t		r = hex_run(s + pos);

		if (r == 0 || r > 2 || s[pos + r] != ':')
			break;
		pos += r;
		while (s[pos] == ':')
			pos++;
		groups++;
	}
	if (groups < 2)
		return 0;
	/* the match ends after the last group's colons */
	return pos;
}

/* [A-Za-z0-9]([-_.A-Za-z0-9]*[.A-Za-z0-9])? : a word (ID). */
static size_t
match_word(const char *s)
{
	size_t		n = 1,
				best = 1;

	if (!is_alnum(s[0]))
		return 0;
	while (is_alnum(s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.')
	{
		if (s[n] != '-' && s[n] != '_')
			best = n + 1;
		n++;
	}
	return best;
}

/* "\\"[^ !()\n\t]+ : a word written with a backslash (ID). */
static size_t
match_escaped(const char *s)
{
	size_t		n = 1;

	if (s[0] != '\\')
		return 0;
	while (s[n] != '\0' && strchr(" !()\n\t", s[n]) == NULL)
		n++;
	return n > 1 ? n : 0;
}

/* The longer of two matches; of equally long ones, the first (rule order). */
static void
longer(token *t, tok_kind kind, const keyword *kw, size_t len)
{
	if (len > t->len)
	{
		t->kind = kind;
		t->kw = kw;
		t->len = len;
	}
}

/*
 * The next token of the scanner at s (not at a space or the end): every
 * rule of scanner.l that can match, in its order, the longest match
 * winning and the first of equally long ones.
 */
static token
next_token(const char *s)
{
	token		t = {TK_OTHER, NULL, 0};
	size_t		n;
	unsigned	i;

	for (i = 0; i < NKEYWORDS; i++)
		if (keywords[i].cls != KW_NUMBER &&
			strncmp(s, keywords[i].word, strlen(keywords[i].word)) == 0)
			longer(&t, TK_KEYWORD, &keywords[i], strlen(keywords[i].word));
	if (strchr("+-*/%:[]!<>()&|^=", s[0]) != NULL)
		longer(&t, TK_NUMBER, NULL, 1);
	if ((strchr("<>!=", s[0]) != NULL && s[1] == '=') ||
		(s[0] == '<' && s[1] == '<') || (s[0] == '>' && s[1] == '>'))
		longer(&t, TK_NUMBER, NULL, 2);
	if (s[0] == '$' && (n = hex_run(s + 1)) > 0)
		longer(&t, TK_NUMBER, NULL, 1 + (n < 2 ? n : 2));	/* ARCnet */
	longer(&t, TK_NUMBER, NULL, match_mac(s));
	longer(&t, TK_NUMBER, NULL, match_n(s));
	longer(&t, TK_NUMBER, NULL, match_hid(s));
	longer(&t, TK_NUMBER, NULL, match_v6(s));
	longer(&t, TK_NUMBER, NULL, match_bogus_mac(s));
	for (i = 0; i < NKEYWORDS; i++)
		if (keywords[i].cls == KW_NUMBER &&
			strncmp(s, keywords[i].word, strlen(keywords[i].word)) == 0)
			longer(&t, TK_KEYWORD, &keywords[i], strlen(keywords[i].word));
	longer(&t, TK_WORD, NULL, match_word(s));
	longer(&t, TK_WORD, NULL, match_escaped(s));
	longer(&t, TK_OTHER, NULL, 1);	/* a character the scanner refuses */
	return t;
}

/* "1025-65535": two decimal numbers and a hyphen. */
static bool
is_port_range(const char *s, size_t len)
{
	size_t		i = 0,
				a,
				b;

	while (i < len && is_digit(s[i]))
		i++;
	a = i;
	if (a == 0 || i >= len || s[i] != '-')
		return false;
	i++;
	while (i < len && is_digit(s[i]))
		i++;
	b = i - a - 1;
	return b > 0 && i == len;
}

/* The keyword that word is when lower-cased, if any ("TCP": tcp). */
static const keyword *
keyword_ignoring_case(const char *s, size_t len)
{
	unsigned	i;

	for (i = 0; i < NKEYWORDS; i++)
	{
		const char *w = keywords[i].word;
		size_t		j;

		if (strlen(w) != len)
			continue;
		for (j = 0; j < len; j++)
		{
			char		c = s[j];

			if (c >= 'A' && c <= 'Z')
				c = (char) (c - 'A' + 'a');
			if (c != w[j])
				break;
		}
		if (j == len)
			return &keywords[i];
	}
	return NULL;
}

/* Advice for a name found where the qualifiers say what it names. */
static const char *
name_hint(kw_class aqual, bool link, const keyword *lower)
{
	if (lower != NULL)
		return "libpcap's keywords are written in lower case.";
	switch (aqual)
	{
		case KW_NET:
			return "Write the network as a number instead, as in \"net 192.0.2.0/24\" or \"net 2001:db8::/32\".";
		case KW_PORT:
			return "Write the port number instead, as in \"port 23\".";
		case KW_PORTRANGE:
			return "Write the port numbers instead, as in \"portrange 1025-65535\".";
		case KW_PROTOKW:
			return "Write the protocol number instead, as in \"ip proto 6\" or \"ether proto 0x0806\".";
		case KW_GATEWAY:
			return "\"gateway\" takes only a host name; write \"ether host 00:11:22:33:44:55 and not host 192.0.2.1\" instead.";
		default:
			break;
	}
	if (link)
		return "Write the MAC address instead, as in \"ether host 00:11:22:33:44:55\".";
	return "Write the address instead, as in \"host 192.0.2.1\" or \"host 2001:db8::1\".";
}

mx_status
mx_filter_check_names(const char *expr, mx_error *err)
{
	const char *s = expr;
	kw_class	aqual = KW_OTHER;	/* the address qualifier in force */
	bool		link = false;	/* and whether a link layer came with it */
	bool		in_quals = false;	/* the last token was a qualifier */
	const keyword *prev = NULL; /* the last token, when a keyword */

	for (;;)
	{
		token		t;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			return MX_OK;
		t = next_token(s);
		if (t.kind == TK_KEYWORD)
		{
			kw_class	c = t.kw->cls;
			bool		qual = c == KW_PROTO || c == KW_LINK || c == KW_DIR ||
				c == KW_HOST || c == KW_NET || c == KW_PORT ||
				c == KW_PORTRANGE || c == KW_GATEWAY || c == KW_PROTOKW;

			if (qual)
			{
				/* qualifiers in a row make one head: start a new one */
				if (!in_quals)
				{
					aqual = KW_OTHER;
					link = false;
				}
				if (c == KW_LINK)
					link = true;
				else if (c != KW_PROTO && c != KW_DIR)
					aqual = c;
			}
			in_quals = qual;
			prev = t.kw;
		}
		else if (t.kind == TK_WORD)
		{
			bool		ok = false;

			if (prev != NULL && prev->cls == KW_TAKES_WORD)
				ok = true;		/* one of libpcap's own words */
			else if (aqual == KW_PORTRANGE && is_port_range(s, t.len))
				ok = true;
			if (!ok)
			{
				char		word[64];
				const keyword *lower = keyword_ignoring_case(s, t.len);
				size_t		n = t.len < sizeof(word) - 4 ? t.len : sizeof(word) - 4;

				memcpy(word, s, n);
				strcpy(word + n, t.len > n ? "..." : "");
				if (strlen(expr) <= 64)
					mx_fail(err, MX_ERR_FILTER, "filter", 0, (uint64_t) (s - expr),
							"invalid filter \"%s\": \"%s\" is a name, which the server does not look up",
							expr, word);
				else
					mx_fail(err, MX_ERR_FILTER, "filter", 0, (uint64_t) (s - expr),
							"invalid filter: \"%s\" is a name, which the server does not look up",
							word);
				err->detail = "Filters read in the server take addresses, port and protocol numbers and libpcap's keywords, not names: a name would make the server ask DNS or another name service. mirai_load, on the client, takes names.";
				err->hint = name_hint(aqual, link, lower);
				return MX_ERR_FILTER;
			}
			in_quals = false;
			prev = NULL;
		}
		else
		{
			in_quals = false;
			prev = NULL;
		}
		s += t.len;
	}
}
