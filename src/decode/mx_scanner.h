/*-------------------------------------------------------------------------
 *
 * mx_scanner.h
 *		The catalogue of scanner fingerprints: which tool sent a packet,
 *		told by the header fields its packet-building code fixes.
 *
 * Mirai's "sequence number = destination address" is one fingerprint among
 * many: ZMap's fixed IP id, Masscan's IP id computed from the destination,
 * Nmap's and Unicornscan's fixed windows and TTLs, and the replies of the
 * victims of spoofed floods (backscatter).  Each is a rule of the catalogue
 * in mx_scanner.c, written as data: a rule is one or more clauses (any may
 * match), a clause is a list of tests (all must pass), and a test compares
 * one field of a decoded packet (mx_packet) with constants.  A test on a
 * field the packet lacks fails (no ports on a fragment, no window when the
 * snaplen cut the TCP header).  Everything a rule reads is in the packet
 * type's stored form, so the rules give the same answer on a frame just
 * decoded (mirai_load, the fuzzers) and on a stored packet (the server).
 * A rule that needs what the stored form lacks (TCP options) stays in the
 * catalogue, marked not checkable, and never matches.
 *
 * Catalogue order matters: mx_scanner_first answers with the first rule
 * that matches.  Rule i is bit (1 << i) of a mask; there are at most 32.
 *
 * Adding a rule or a tool version is a change to the table in mx_scanner.c
 * (tests, sources, the false-positive rate and its derivation) and a test:
 * test/decode/scanner_rules.c builds the tool's packets as its source does
 * and measures the rate on random SYNs (test/t/085_scanner.t).
 *
 * Plain C99, no PostgreSQL headers, no state: the catalogue is constant.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_SCANNER_H
#define MX_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mx_decode.h"

/*
 * What a test reads.  The last two are computed from several fields, so
 * that a relation between fields is one test of equality with 0.
 */
typedef enum mx_scanner_field
{
	MX_SF_NONE = 0,				/* ends a clause's tests (zero-filled) */
	MX_SF_IPVER,				/* 4 or 6 */
	MX_SF_PROTO,				/* IP protocol */
	MX_SF_TTL,					/* TTL or hop limit, as it arrived */
	MX_SF_IPID,					/* IPv4 identification (IPv4 only) */
	MX_SF_SPORT,				/* source port (not ICMP) */
	MX_SF_DPORT,				/* destination port (not ICMP) */
	MX_SF_SEQ,					/* TCP sequence number */
	MX_SF_ACK,					/* TCP acknowledgement number */
	MX_SF_FLAGS,				/* TCP flags, MX_TCP_* bits */
	MX_SF_WINDOW,				/* TCP window */
	MX_SF_ICMP_TYPE,			/* ICMP or ICMPv6 type */
	MX_SF_ICMP_CODE,			/* ICMP or ICMPv6 code */
	MX_SF_SEQ_XOR_DST,			/* seq ^ IPv4 destination: 0 when seq = dst */
	MX_SF_MASSCAN_ID,			/* (ipid ^ dst ^ dport ^ seq) & 0xffff, IPv4
								 * destination: 0 when Masscan's IP id */
	MX_SF_NFIELDS
} mx_scanner_field;

typedef enum mx_scanner_op
{
	MX_SO_EQ = 0,				/* value = a */
	MX_SO_RANGE,				/* a <= value <= b */
	MX_SO_ONEOF,				/* value = a or value = b */
	MX_SO_BITS					/* (value & a) = b */
} mx_scanner_op;

typedef struct mx_scanner_test
{
	uint8_t		field;			/* mx_scanner_field */
	uint8_t		op;				/* mx_scanner_op */
	uint32_t	a;
	uint32_t	b;
} mx_scanner_test;

#define MX_SCANNER_MAX_TESTS	8
#define MX_SCANNER_MAX_CLAUSES	4
#define MX_SCANNER_MAX_RULES	32

/* The catalogue's first rule, "mirai": is_mirai's rule, so a packet is_mirai
 * answers true for matches it first, and no other packet matches it. */
#define MX_SCANNER_MIRAI		0

/* The tests of a clause end at the first whose field is MX_SF_NONE. */
typedef struct mx_scanner_clause
{
	mx_scanner_test tests[MX_SCANNER_MAX_TESTS];
} mx_scanner_clause;

/*
 * One rule of the catalogue.  The texts are what mirai_scanner_rules shows;
 * fp_rate is the share of random SYNs the rule matches, derived from its
 * tests under the model of README's "Scanner fingerprints" (IPv4 TCP, SYN
 * alone, ack 0, every other header field uniform and independent), and
 * fp_math says how.
 */
typedef struct mx_scanner_rule
{
	const char *name;			/* lower case: "mirai", "zmap", ... */
	const char *tool;			/* "ZMap" */
	const char *versions;		/* the versions and settings it covers */
	const char *source;			/* repository, file and function of the
								 * tool's packet-building code */
	const char *fp_math;		/* how fp_rate follows from the tests */
	const char *note;			/* what the rule leaves out, and why */
	const char *unstored;		/* what else the rule needs that the stored
								 * form lacks, or NULL: then not checkable */
	double		fp_rate;		/* share of random SYNs matched; < 0 when
								 * not checkable */
	mx_scanner_clause clauses[MX_SCANNER_MAX_CLAUSES];	/* end at the
															 * first with no
															 * test */
} mx_scanner_rule;

/* The catalogue: how many rules, and rule i in catalogue order (NULL past the end). */
extern size_t mx_scanner_nrules(void);
extern const mx_scanner_rule *mx_scanner_rule_at(size_t i);

/* The index of the rule called name[0..len), or -1. */
extern int	mx_scanner_find(const char *name, size_t len);

/* Whether rule r can be checked on decoded packets (unstored is NULL). */
static inline bool
mx_scanner_checkable(const mx_scanner_rule *r)
{
	return r->unstored == NULL;
}

/* The mask of every checkable rule: what "all" means. */
extern uint32_t mx_scanner_all(void);

/* The bits of the rules in mask that p matches (0: none). */
extern uint32_t mx_scanner_matches(const mx_packet *p, uint32_t mask);

/* The index of the first rule in mask, in catalogue order, that p matches; -1 if none. */
extern int	mx_scanner_first(const mx_packet *p, uint32_t mask);

/*
 * mx_scanner_first on a stored form, read in place: the server's hot path.
 * -2 when the bytes are not a well-formed stored value (mx_packet_unpack
 * says why).
 */
extern int	mx_scanner_first_packed(const uint8_t *buf, size_t len,
									uint32_t mask);

/* mx_scanner_matches on a stored form read in place; -1 when it is not well-formed. */
extern int64_t mx_scanner_matches_packed(const uint8_t *buf, size_t len,
										 uint32_t mask);

/* Whether p matches any rule of mask: a loader keeping only some scanners. */
static inline bool
mx_scanner_match(const mx_packet *p, uint32_t mask)
{
	return mx_scanner_first(p, mask) >= 0;
}

/*
 * Parse a comma-separated list of rule names ("mirai,masscan"; "all" for
 * every checkable rule; spaces around names allowed) into a mask.  An
 * unknown or empty name, or a rule that cannot be checked, is
 * MX_ERR_SYNTAX with *err saying which (field "scanner", offset: where the
 * name starts in list; the message lists the rules).
 */
extern mx_status mx_scanner_parse_list(const char *list, uint32_t *mask,
									   mx_error *err);

/*
 * The names of the rules in mask, in catalogue order, separated by sep,
 * into out (outlen bytes, always terminated); returns the length the whole
 * list needs, as snprintf does.
 */
extern size_t mx_scanner_format_list(uint32_t mask, const char *sep,
									 char *out, size_t outlen);

/*
 * The rule as text, written from its tests, e.g. "ipver = 4 and proto = tcp
 * and sport >= 1025 and seq = dst"; clauses joined by " or ", each in
 * parentheses when there are several; what the stored form lacks follows
 * in brackets.  Same return convention as mx_scanner_format_list.
 */
extern size_t mx_scanner_rule_text(const mx_scanner_rule *r, char *out,
								   size_t outlen);

/*
 * The packet fields a rule reads, as packet_fields names them ("ipver",
 * "seq", "dst", ...), each once, in a fixed order; at most max of them go
 * to names.  Returns how many there are.
 */
extern size_t mx_scanner_rule_fields(const mx_scanner_rule *r,
									 const char **names, size_t max);

#endif							/* MX_SCANNER_H */
