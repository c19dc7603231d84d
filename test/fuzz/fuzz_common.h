/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *		Checks shared by the fuzz targets in test/fuzz/.
 *
 * Each target is one LLVMFuzzerTestOneInput over one untrusted input of the
 * extension.  The sanitizers (ASan, UBSan) catch memory and undefined
 * behaviour; these checks catch wrong answers: a decoded packet that does
 * not survive its own stored or text form, an error without a field or a
 * message.  A failed check prints what failed and aborts, which libFuzzer
 * and test/fuzz/replay.c both report as a crash.
 *
 * Invariants checked for every packet value p that the decoder produces or
 * accepts:
 *	- unpack(pack(p)) succeeds and packs to the same bytes;
 *	- format(p) fits in MX_TEXT_MAX, and parse(format(p)) packs to the same
 *	  bytes (so the text form is round-trip exact);
 *	- mx_packed_ts of the stored form is p's timestamp;
 *	- the scanner rules (mx_scanner.c) give the same answers on p, on its
 *	  stored form unpacked and on its stored form read in place, the first
 *	  rule is the lowest of those that match, and the mirai rule is
 *	  mx_is_mirai.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_decode.h"
#include "mx_scanner.h"

/* Report a failed check and abort. */
static inline void
fuzz_fail(const char *fmt,...)
	__attribute__((format(printf, 1, 2), noreturn));

static inline void
fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "fuzz check failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* An error must say what and where: a status that is an error, a field, a message. */
static inline void
fuzz_check_error(mx_status st, const mx_error *err)
{
	if (st < MX_ERR_IO || st > MX_ERR_NOMEM)
		fuzz_fail("status %d is not an error status", (int) st);
	if (err->code != st)
		fuzz_fail("mx_error.code %d differs from the status returned %d",
				  (int) err->code, (int) st);
	if (err->field == NULL || err->field[0] == '\0')
		fuzz_fail("error without a field: %s", err->message);
	if (memchr(err->message, '\0', sizeof(err->message)) == NULL ||
		err->message[0] == '\0')
		fuzz_fail("error %s without a terminated message", err->field);
}

/*
 * The round trips of one packet value; packed/npacked receive its stored
 * form when not NULL.
 */
static inline void
fuzz_check_packet(const mx_packet *p, uint8_t *packed, size_t *npacked)
{
	uint8_t		a[MX_PACKED_MAX],
				b[MX_PACKED_MAX],
				c[MX_PACKED_MAX];
	char		text[MX_TEXT_MAX],
				text2[MX_TEXT_MAX];
	size_t		na,
				nb,
				nc,
				nt;
	mx_packet	q,
				r;
	mx_error	err;
	mx_status	st;

	na = mx_packet_pack(p, a);
	if (na == 0 || na > MX_PACKED_MAX)
		fuzz_fail("pack gave %zu bytes", na);
	st = mx_packet_unpack(a, na, &q, &err);
	if (st != MX_OK)
		fuzz_fail("unpack(pack(p)) refused the value: %s: %s", err.field, err.message);
	nb = mx_packet_pack(&q, b);
	if (nb != na || memcmp(a, b, na) != 0)
		fuzz_fail("pack(unpack(pack(p))) differs from pack(p)");
	if (mx_packed_ts(a) != p->ts_ns)
		fuzz_fail("mx_packed_ts gives %lld, not %lld",
				  (long long) mx_packed_ts(a), (long long) p->ts_ns);

	nt = mx_packet_format(&q, text);
	if (nt >= MX_TEXT_MAX || strlen(text) != nt)
		fuzz_fail("format wrote %zu bytes (MX_TEXT_MAX %d)", nt, MX_TEXT_MAX);
	st = mx_packet_parse(text, &r, &err);
	if (st != MX_OK)
		fuzz_fail("parse(format(p)) refused \"%s\": %s: %s", text, err.field, err.message);
	nc = mx_packet_pack(&r, c);
	if (nc != na || memcmp(a, c, na) != 0)
	{
		mx_packet_format(&r, text2);
		fuzz_fail("parse(format(p)) is another packet:\n  %s\n  %s", text, text2);
	}
	mx_packet_format(&r, text2);
	if (strcmp(text, text2) != 0)
		fuzz_fail("format is not canonical:\n  %s\n  %s", text, text2);

	{
		uint32_t	m = mx_scanner_matches(p, UINT32_MAX);
		int			first = mx_scanner_first(p, UINT32_MAX);
		int			mirai = mx_scanner_find("mirai", 5);

		if (mx_scanner_matches(&q, UINT32_MAX) != m ||
			mx_scanner_first(&q, UINT32_MAX) != first ||
			mx_scanner_first_packed(a, na, UINT32_MAX) != first ||
			mx_scanner_matches_packed(a, na, UINT32_MAX) != (int64_t) m)
			fuzz_fail("the scanner rules answer differently on the stored form: %s", text);
		if (first < 0 ? m != 0 :
			((m >> first) & 1) == 0 || (m & ((UINT32_C(1) << first) - 1)) != 0)
			fuzz_fail("first scanner rule %d is not the lowest of 0x%x: %s", first, (unsigned) m, text);
		if (mirai < 0 || ((m >> mirai) & 1) != (uint32_t) mx_is_mirai(p))
			fuzz_fail("the mirai rule disagrees with mx_is_mirai: %s", text);
	}
	if (packed)
	{
		memcpy(packed, a, na);
		*npacked = na;
	}
}

#endif							/* FUZZ_COMMON_H */
