/*-------------------------------------------------------------------------
 *
 * fuzz_entries.c
 *		Fuzz target: the packed entries of a rollup day row
 *		(src/decode/mx_entries.c), which mirai_day_sources(bytea) reads
 *		from whatever bytes any role hands it.
 *
 * An accepted input must hold only values the server can return and
 * store: packets >= 1 summing to at most INT64_MAX, times in
 * [MX_US_MIN, MX_US_MAX] with first <= last, entries in strict (source,
 * port) order, printable country codes.  Packed again, its entries must
 * unpack to the very same entries.  A refusal must be "corrupt", name a
 * field and stay inside the input.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "fuzz_common.h"
#include "mx_entries.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check what mx_entries_unpack promises of accepted entries. */
static void
check_entries(const mx_day_entry *e, size_t n)
{
	uint64_t	total = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		if (e[i].packets < 1 || (uint64_t) e[i].packets > (uint64_t) INT64_MAX - total)
			fuzz_fail("entry %zu: packets %lld out of range", i, (long long) e[i].packets);
		total += (uint64_t) e[i].packets;
		if (e[i].first_us < MX_US_MIN || e[i].last_us > MX_US_MAX || e[i].first_us > e[i].last_us)
			fuzz_fail("entry %zu: times %lld..%lld out of range", i,
					  (long long) e[i].first_us, (long long) e[i].last_us);
		if (i > 0 && (e[i].src < e[i - 1].src ||
					  (e[i].src == e[i - 1].src && e[i].dport <= e[i - 1].dport)))
			fuzz_fail("entry %zu: not in (source, port) order", i);
		if (!mx_country_valid(e[i].country, MX_COUNTRY_LEN))
			fuzz_fail("entry %zu: country not valid", i);
	}
}

/* Pack the entries again (countries numbered in order of use) and unpack. */
static void
check_round_trip(const mx_day_entry *e, size_t n)
{
	char		(*names)[MX_COUNTRY_LEN] = calloc(MX_MAX_COUNTRIES + 1, MX_COUNTRY_LEN);
	uint32_t   *index = malloc(sizeof(uint32_t) * (n ? n : 1));
	size_t		nnames = 1,
				i,
				j,
				len,
				count;
	uint8_t    *buf;
	mx_day_entry *back;
	mx_error	err;

	if (names == NULL || index == NULL)
		fuzz_fail("out of memory");
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < nnames; j++)
			if (memcmp(names[j], e[i].country, MX_COUNTRY_LEN) == 0)
				break;
		if (j == nnames)
		{
			if (nnames > MX_MAX_COUNTRIES)
				fuzz_fail("more countries than a row holds");
			memcpy(names[nnames++], e[i].country, MX_COUNTRY_LEN);
		}
		index[i] = (uint32_t) j;
	}
	buf = malloc(mx_entries_pack_bound(n, nnames));
	back = malloc(sizeof(mx_day_entry) * (n ? n : 1));
	if (buf == NULL || back == NULL)
		fuzz_fail("out of memory");
	len = mx_entries_pack(e, n, (const char (*)[MX_COUNTRY_LEN]) names, nnames, index, buf);
	if (len > mx_entries_pack_bound(n, nnames))
		fuzz_fail("packed %zu bytes beyond the bound", len);
	memset(&err, 0, sizeof(err));
	if (mx_entries_count(buf, len, &count, &err) != MX_OK || count != n ||
		mx_entries_unpack(buf, len, back, count, &err) != MX_OK)
		fuzz_fail("packed entries do not unpack: %s", err.message);
	for (i = 0; i < n; i++)
		if (back[i].src != e[i].src || back[i].dport != e[i].dport ||
			back[i].packets != e[i].packets || back[i].first_us != e[i].first_us ||
			back[i].last_us != e[i].last_us ||
			memcmp(back[i].country, e[i].country, MX_COUNTRY_LEN) != 0)
			fuzz_fail("entry %zu changed on the round trip", i);
	free(names);
	free(index);
	free(buf);
	free(back);
}

/*
 * mx_entries_find of src from the start and, when mx_entries_marks accepts
 * the bytes, from its marks: the same status, error and answer both ways
 * (ports: at most 4).  The answer from the start goes to the caller.
 */
static mx_status
find_both(const uint8_t *buf, size_t len, uint32_t src, mx_day_entry *got, uint16_t *ports,
		  size_t max_ports, size_t *nports, bool *found, mx_error *err)
{
	mx_status	st = mx_entries_find(buf, len, src, NULL, 0, got, ports, max_ports, nports, found,
									 err);
	mx_entries_mark *marks;
	size_t		count,
				nmarks;
	mx_error	merr;

	memset(&merr, 0, sizeof(merr));
	if (mx_entries_count(buf, len, &count, &merr) != MX_OK)
		return st;
	marks = malloc(sizeof(mx_entries_mark) * mx_entries_marks_bound(count));
	if (marks == NULL)
		fuzz_fail("out of memory");
	if (mx_entries_marks(buf, len, marks, mx_entries_marks_bound(count), &nmarks, &merr) == MX_OK)
	{
		mx_day_entry got2;
		uint16_t	ports2[4];
		size_t		nports2;
		bool		found2;
		mx_error	err2;
		mx_status	st2;

		memset(&err2, 0, sizeof(err2));
		st2 = mx_entries_find(buf, len, src, marks, nmarks, &got2, ports2, max_ports, &nports2,
							  &found2, &err2);
		if (st2 != st || (st != MX_OK && err2.offset != err->offset) ||
			(st == MX_OK && (found2 != *found || got2.packets != got->packets ||
							 got2.first_us != got->first_us || got2.last_us != got->last_us ||
							 memcmp(got2.country, got->country, MX_COUNTRY_LEN) != 0 ||
							 nports2 != *nports ||
							 memcmp(ports2, ports, sizeof(uint16_t) * *nports) != 0)))
			fuzz_fail("source %u: a lookup from %zu marks disagrees with one from the start",
					  src, nmarks);
	}
	free(marks);
	return st;
}

/*
 * Look up the first, a middle and the last source as mx_entries_find
 * does, without unpacking: the same sums and lowest ports as the unpacked
 * entries say.
 */
static void
check_find(const uint8_t *buf, size_t len, const mx_day_entry *e, size_t n)
{
	size_t		which[3] = {0, n / 2, n - 1},
				w;

	for (w = 0; w < 3 && n > 0; w++)
	{
		uint32_t	src = e[which[w]].src;
		mx_day_entry want,
					got;
		uint16_t	ports[4];
		size_t		nports,
					k = 0,
					i;
		bool		found;
		mx_error	err;

		memset(&err, 0, sizeof(err));
		if (find_both(buf, len, src, &got, ports, 4, &nports, &found, &err) != MX_OK)
			fuzz_fail("an accepted source is not found: %s", err.message);
		memset(&want, 0, sizeof(want));
		for (i = 0; i < n; i++)
			if (e[i].src == src)
			{
				if (k == 0)
				{
					want = e[i];
					want.packets = 0;
				}
				want.packets += e[i].packets;
				want.first_us = e[i].first_us < want.first_us ? e[i].first_us : want.first_us;
				want.last_us = e[i].last_us > want.last_us ? e[i].last_us : want.last_us;
				if (k < 4 && (k >= nports || ports[k] != e[i].dport))
					fuzz_fail("source %u: port %zu is not %u", src, k, e[i].dport);
				k++;
			}
		if (!found || got.packets != want.packets || got.first_us != want.first_us ||
			got.last_us != want.last_us ||
			memcmp(got.country, want.country, MX_COUNTRY_LEN) != 0 ||
			nports != (k < 4 ? k : 4))
			fuzz_fail("source %u: the lookup disagrees with the entries", src);
	}
}

/* A lookup in bytes that may be refused: no read outside them, a named field. */
static void
check_find_any(const uint8_t *buf, size_t len)
{
	mx_day_entry got;
	uint16_t	ports[2];
	size_t		nports;
	bool		found;
	mx_error	err;
	mx_status	st;

	memset(&err, 0, sizeof(err));
	st = find_both(buf, len, len >= 12 ? ((uint32_t) buf[len - 4] << 24 | buf[len - 1]) : 0,
				   &got, ports, 2, &nports, &found, &err);
	if (st != MX_OK)
	{
		fuzz_check_error(st, &err);
		if (err.offset > len)
			fuzz_fail("lookup error at byte %llu of %zu", (unsigned long long) err.offset, len);
	}
	else if (nports > 2 || (nports > 0 && !found))
		fuzz_fail("lookup gave %zu ports", nports);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *copy;
	mx_day_entry *e = NULL;
	size_t		count = 0;
	mx_error	err;
	mx_status	st;

	/* an exact-size copy, so ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(&err, 0, sizeof(err));
	st = mx_entries_count(copy, size, &count, &err);
	if (st == MX_OK)
	{
		if (count > size)
			fuzz_fail("%zu entries announced in %zu bytes", count, size);
		e = malloc(sizeof(mx_day_entry) * (count ? count : 1));
		if (e == NULL)
			fuzz_fail("out of memory");
		st = mx_entries_unpack(copy, size, e, count, &err);
	}
	if (st == MX_OK)
	{
		check_entries(e, count);
		check_round_trip(e, count);
		check_find(copy, size, e, count);
	}
	else
	{
		fuzz_check_error(st, &err);
		if (st != MX_ERR_CORRUPT)
			fuzz_fail("entries refused as %s", mx_status_name(st));
		if (err.offset > size)
			fuzz_fail("error at byte %llu of %zu", (unsigned long long) err.offset, size);
	}
	check_find_any(copy, size);
	free(e);
	free(copy);
	return 0;
}
