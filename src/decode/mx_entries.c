/*-------------------------------------------------------------------------
 *
 * mx_entries.c
 *		Pack and unpack the entries of a rollup day row (see mx_entries.h).
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "mx_bytes.h"
#include "mx_entries.h"

/* Append an unsigned LEB128 varint. */
static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/*
 * Read an unsigned LEB128 varint; false when it runs past end or does not
 * fit in 64 bits.  One byte, the common case, is read inline.
 */
static inline bool
get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t	r = 0;
	int			shift = 0;

	if (p < end && *p < 0x80)
	{
		*v = *p;
		*pp = p + 1;
		return true;
	}
	while (p < end && shift < 64)
	{
		uint8_t		b = *p++;

		if (shift == 63 && (b & 0x7E) != 0)
			return false;		/* bits beyond the 64th */
		r |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*v = r;
			*pp = p;
			return true;
		}
		shift += 7;
	}
	return false;
}

/*
 * Step over a varint, as get_varint would read it (the same bytes accepted
 * and refused), without its value: a lookup steps over most entries.
 */
static inline bool
skip_varint(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t		i;

	for (i = 0; i < 10 && p + i < end; i++)
	{
		if (i == 9 && (p[i] & 0x7E) != 0)
			return false;		/* bits beyond the 64th */
		if ((p[i] & 0x80) == 0)
		{
			*pp = p + i + 1;
			return true;
		}
	}
	return false;
}

bool
mx_country_valid(const char *code, size_t len)
{
	size_t		i = 0;

	while (i < len && code[i] != '\0')
	{
		if (code[i] < 0x21 || code[i] > 0x7E)
			return false;
		i++;
	}
	/* at most MX_COUNTRY_LEN - 1 bytes, NUL-padded to the end */
	if (i >= MX_COUNTRY_LEN)
		return false;
	for (; i < len; i++)
		if (code[i] != '\0')
			return false;
	return true;
}

/* floor(a / 1000) */
static int64_t
ns_to_us(int64_t ns)
{
	int64_t		q = ns / 1000;

	if (ns % 1000 != 0 && ns < 0)
		q--;
	return q;
}

mx_status
mx_entries_count(const uint8_t *buf, size_t len, size_t *count, mx_error *err)
{
	const uint8_t *p = buf + 1;
	uint64_t	n;

	if (len == 0)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.version", 0, 0, "empty entries");
	if (buf[0] == MX_ENTRIES_V1)
	{
		if (len < 8)
			return mx_fail_values(err, 8, len, MX_ERR_CORRUPT, "entries.count", 0, 0,
								  "version 1 entries shorter than their header");
		n = mx_be32(buf + 4);
		if ((len - 8) / MX_ENTRIES_V1_BYTES != n || (len - 8) % MX_ENTRIES_V1_BYTES != 0)
			return mx_fail_values(err, 8 + n * MX_ENTRIES_V1_BYTES, len, MX_ERR_CORRUPT,
								  "entries.count", 0, 4,
								  "length does not match the number of entries");
		*count = (size_t) n;
		return MX_OK;
	}
	if (buf[0] != MX_ENTRIES_V2)
		return mx_fail_values(err, MX_ENTRIES_V2, buf[0], MX_ERR_CORRUPT, "entries.version",
							  0, 0, "unknown entries version %u", buf[0]);
	/* each entry takes at least 6 bytes */
	if (!get_varint(&p, buf + len, &n) || n > (len - 1) / 6)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.count", 0, 1,
					   "number of entries missing or beyond the length");
	*count = (size_t) n;
	return MX_OK;
}

/*
 * Version 1: fixed 38-byte entries, times in nanoseconds.  Entry i, checked
 * but for its order; total: the packets of the entries before it, which it
 * adds to.
 */
static mx_status
v1_entry(const uint8_t *buf, size_t i, mx_day_entry *e, uint64_t *total, mx_error *err)
{
	const uint8_t *p = buf + 8 + i * MX_ENTRIES_V1_BYTES;
	uint64_t	off = (uint64_t) (p - buf);
	int64_t		first_ns = (int64_t) mx_be64(p + 14),
				last_ns = (int64_t) mx_be64(p + 22);

	memset(e, 0, sizeof(*e));
	e->src = mx_be32(p);
	e->dport = mx_be16(p + 4);
	e->packets = (int64_t) mx_be64(p + 6);
	if (e->packets < 1 || (uint64_t) e->packets > (uint64_t) INT64_MAX - *total)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.packets", i + 1, off + 6,
					   "packet count out of range");
	*total += (uint64_t) e->packets;
	if (last_ns < first_ns)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.last", i + 1, off + 22,
					   "last packet before the first");
	e->first_us = ns_to_us(first_ns);
	e->last_us = ns_to_us(last_ns);
	if (!mx_country_valid((const char *) p + 30, MX_COUNTRY_LEN))
		return mx_fail(err, MX_ERR_CORRUPT, "entries.country", i + 1, off + 30,
					   "country code is not printable ASCII of at most 7 bytes");
	memcpy(e->country, p + 30, MX_COUNTRY_LEN);
	return MX_OK;
}

static mx_status
unpack_v1(const uint8_t *buf, mx_day_entry *out, size_t count, mx_error *err)
{
	uint64_t	total = 0;
	size_t		i;
	mx_status	st;

	for (i = 0; i < count; i++)
	{
		mx_day_entry *e = &out[i];

		if ((st = v1_entry(buf, i, e, &total, err)) != MX_OK)
			return st;
		if (i > 0 && (e->src < out[i - 1].src ||
					  (e->src == out[i - 1].src && e->dport <= out[i - 1].dport)))
			return mx_fail(err, MX_ERR_CORRUPT, "entries.src", i + 1,
						   8 + i * MX_ENTRIES_V1_BYTES, "entries not in (source, port) order");
	}
	return MX_OK;
}

/*
 * The header of version 2 after the entry count (checked by
 * mx_entries_count): the row's country codes, numbered from 1, and the
 * base time; *pp is left at the first entry.
 */
static mx_status
read_header(const uint8_t *buf, size_t len, const uint8_t **pp,
			char (*names)[MX_COUNTRY_LEN], uint64_t *ncountries, int64_t *base,
			mx_error *err)
{
	const uint8_t *p = buf + 1,
			   *end = buf + len;
	uint64_t	n,
				i;

	(void) get_varint(&p, end, &n);
	if (!get_varint(&p, end, ncountries) || *ncountries > MX_MAX_COUNTRIES)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.countries", 0, (uint64_t) (p - buf),
					   "number of countries missing or above %d", MX_MAX_COUNTRIES);
	memset(names, 0, sizeof(char[MX_COUNTRY_LEN]) * (MX_MAX_COUNTRIES + 1));
	for (i = 1; i <= *ncountries; i++)
	{
		uint8_t		l;

		if (p >= end || (l = *p) == 0 || l >= MX_COUNTRY_LEN || l > end - p - 1 ||
			!mx_country_valid((const char *) p + 1, l))
			return mx_fail(err, MX_ERR_CORRUPT, "entries.country", 0, (uint64_t) (p - buf),
						   "country code is not printable ASCII of 1 to 7 bytes");
		memcpy(names[i], p + 1, l);
		p += 1 + l;
	}
	if (end - p < 8)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.base", 0, (uint64_t) (p - buf),
					   "entries end inside their header");
	*base = (int64_t) mx_be64(p);
	if (*base < MX_US_MIN || *base > MX_US_MAX)
		return mx_fail(err, MX_ERR_CORRUPT, "entries.base", 0, (uint64_t) (p - buf),
					   "base time out of range");
	*pp = p + 8;
	return MX_OK;
}

mx_status
mx_entries_unpack(const uint8_t *buf, size_t len, mx_day_entry *out, size_t count,
				  mx_error *err)
{
	const uint8_t *p = buf + 1,
			   *end = buf + len;
	char		names[MX_MAX_COUNTRIES + 1][MX_COUNTRY_LEN];
	uint64_t	ncountries,
				total = 0,
				i;
	int64_t		base;
	uint32_t	src = 0;
	mx_status	st;
	size_t		announced;

	if ((st = mx_entries_count(buf, len, &announced, err)) != MX_OK)
		return st;
	if (announced != count)
		return mx_fail_values(err, count, announced, MX_ERR_CORRUPT, "entries.count", 0, 1,
							  "number of entries changed");
	if (buf[0] == MX_ENTRIES_V1)
		return unpack_v1(buf, out, count, err);

	if ((st = read_header(buf, len, &p, names, &ncountries, &base, err)) != MX_OK)
		return st;
	for (i = 0; i < count; i++)
	{
		uint64_t	f[6];
		uint64_t	off = (uint64_t) (p - buf);
		mx_day_entry *e = &out[i];
		int			k;

		for (k = 0; k < 6; k++)
			if (!get_varint(&p, end, &f[k]))
				return mx_fail(err, MX_ERR_CORRUPT, "entries.entry", i + 1, off,
							   "entry cut short");
		memset(e, 0, sizeof(*e));
		if (f[0] > UINT32_MAX - src)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.src", i + 1, off,
						   "source address beyond 255.255.255.255");
		src += (uint32_t) f[0];
		if (f[1] > UINT16_MAX)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.dport", i + 1, off,
						   "port beyond 65535");
		if (i > 0 && f[0] == 0 && f[1] <= out[i - 1].dport)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.dport", i + 1, off,
						   "entries not in (source, port) order");
		if (f[2] < 1 || f[2] > (uint64_t) INT64_MAX - total)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.packets", i + 1, off,
						   "packet count out of range");
		total += f[2];
		/* base and both times lie in [MX_US_MIN, MX_US_MAX]: no overflow */
		if (f[3] > (uint64_t) (MX_US_MAX - base))
			return mx_fail(err, MX_ERR_CORRUPT, "entries.first", i + 1, off,
						   "first packet time out of range");
		e->first_us = base + (int64_t) f[3];
		if (f[4] > (uint64_t) (MX_US_MAX - e->first_us))
			return mx_fail(err, MX_ERR_CORRUPT, "entries.last", i + 1, off,
						   "last packet time out of range");
		e->last_us = e->first_us + (int64_t) f[4];
		if (f[5] > ncountries)
			return mx_fail_values(err, ncountries, f[5], MX_ERR_CORRUPT, "entries.country",
								  i + 1, off, "country beyond the row's countries");
		e->src = src;
		e->dport = (uint16_t) f[1];
		e->packets = (int64_t) f[2];
		memcpy(e->country, names[f[5]], MX_COUNTRY_LEN);
	}
	if (p != end)
		return mx_fail_values(err, (uint64_t) (p - buf), len, MX_ERR_CORRUPT,
							  "entries.length", 0, (uint64_t) (p - buf),
							  "bytes after the last entry");
	return MX_OK;
}

size_t
mx_entries_pack_bound(size_t n, size_t nnames)
{
	/* version, two varints, countries, base, entries of at most 6 varints */
	return 1 + 10 + 10 + nnames * MX_COUNTRY_LEN + 8 + n * (5 + 3 + 10 + 10 + 10 + 10);
}

size_t
mx_entries_pack(const mx_day_entry *e, size_t n, const char (*names)[MX_COUNTRY_LEN],
				size_t nnames, const uint32_t *index, uint8_t *out)
{
	uint8_t    *p = out;
	int64_t		base = 0;
	uint32_t	prev = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (i == 0 || e[i].first_us < base)
			base = e[i].first_us;
	*p++ = MX_ENTRIES_V2;
	p = put_varint(p, (uint64_t) n);
	p = put_varint(p, (uint64_t) (nnames - 1));
	for (i = 1; i < nnames; i++)
	{
		size_t		l = strnlen(names[i], MX_COUNTRY_LEN - 1);

		*p++ = (uint8_t) l;
		memcpy(p, names[i], l);
		p += l;
	}
	mx_put64(p, (uint64_t) base);
	p += 8;
	for (i = 0; i < n; i++)
	{
		p = put_varint(p, e[i].src - prev);
		prev = e[i].src;
		p = put_varint(p, e[i].dport);
		p = put_varint(p, (uint64_t) e[i].packets);
		p = put_varint(p, (uint64_t) (e[i].first_us - base));
		p = put_varint(p, (uint64_t) (e[i].last_us - e[i].first_us));
		p = put_varint(p, index[i]);
	}
	return (size_t) (p - out);
}

size_t
mx_entries_marks_bound(size_t count)
{
	return count / MX_MARK_EVERY + 1;
}

mx_status
mx_entries_marks(const uint8_t *buf, size_t len, mx_entries_mark *marks, size_t max_marks,
				 size_t *nmarks, mx_error *err)
{
	const uint8_t *p = buf + 1,
			   *end = buf + len;
	char		names[MX_MAX_COUNTRIES + 1][MX_COUNTRY_LEN];
	uint64_t	ncountries;
	uint32_t	cur = 0;
	int64_t		base;
	mx_status	st;
	size_t		count,
				i;

	*nmarks = 0;
	if ((st = mx_entries_count(buf, len, &count, err)) != MX_OK)
		return st;
	if (buf[0] != MX_ENTRIES_V2)
		return MX_OK;			/* version 1 is searched by halves */
	if ((st = read_header(buf, len, &p, names, &ncountries, &base, err)) != MX_OK)
		return st;
	for (i = 0; i < count; i++)
	{
		uint64_t	d,
					off = (uint64_t) (p - buf);
		bool		whole = get_varint(&p, end, &d);
		int			k;

		if (i % MX_MARK_EVERY == 0 && *nmarks < max_marks)
		{
			marks[*nmarks].before = cur;
			marks[*nmarks].entry = (uint32_t) i;
			marks[(*nmarks)++].offset = (uint32_t) off;
		}
		for (k = 1; k < 6 && whole; k++)
			whole = skip_varint(&p, end);
		if (!whole)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.entry", i + 1, off,
						   "entry cut short");
		if (d > UINT32_MAX - cur)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.src", i + 1, off,
						   "source address beyond 255.255.255.255");
		cur += (uint32_t) d;
	}
	return MX_OK;
}

mx_status
mx_entries_find(const uint8_t *buf, size_t len, uint32_t src, const mx_entries_mark *marks,
				size_t nmarks, mx_day_entry *sum, uint16_t *ports, size_t max_ports,
				size_t *nports, bool *found, mx_error *err)
{
	const uint8_t *p = buf + 1,
			   *end = buf + len;
	char		names[MX_MAX_COUNTRIES + 1][MX_COUNTRY_LEN];
	uint64_t	n = 0,
				ncountries,
				i;
	uint32_t	cur = 0;
	int64_t		base;
	mx_status	st;
	size_t		count;

	*found = false;
	*nports = 0;
	memset(sum, 0, sizeof(*sum));
	if ((st = mx_entries_count(buf, len, &count, err)) != MX_OK)
		return st;
	if (buf[0] == MX_ENTRIES_V1)
	{
		/* fixed width: a binary search */
		size_t		lo = 0,
					hi = count;

		while (lo < hi)
		{
			size_t		mid = (lo + hi) / 2;

			if (mx_be32(buf + 8 + mid * MX_ENTRIES_V1_BYTES) < src)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < count && mx_be32(buf + 8 + i * MX_ENTRIES_V1_BYTES) == src; i++)
		{
			mx_day_entry e;
			uint64_t	total = (uint64_t) sum->packets;

			if ((st = v1_entry(buf, i, &e, &total, err)) != MX_OK)
				return st;
			sum->packets = (int64_t) total;
			sum->first_us = *found ? (e.first_us < sum->first_us ? e.first_us : sum->first_us) : e.first_us;
			sum->last_us = *found ? (e.last_us > sum->last_us ? e.last_us : sum->last_us) : e.last_us;
			if (!*found)
				memcpy(sum->country, e.country, MX_COUNTRY_LEN);
			if (*nports < max_ports)
				ports[(*nports)++] = e.dport;
			*found = true;
		}
		sum->src = src;
		return MX_OK;
	}
	if ((st = read_header(buf, len, &p, names, &ncountries, &base, err)) != MX_OK)
		return st;
	n = count;
	i = 0;
	/* from the last mark before the source: every entry before it is of a lower address */
	if (nmarks > 0)
	{
		size_t		lo = 0,
					hi = nmarks;

		while (lo < hi)
		{
			size_t		mid = (lo + hi) / 2;

			if (marks[mid].before < src)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0 && marks[lo - 1].offset < len && marks[lo - 1].entry < n &&
			buf + marks[lo - 1].offset >= p)
		{
			p = buf + marks[lo - 1].offset;
			cur = marks[lo - 1].before;
			i = marks[lo - 1].entry;
		}
	}
	for (; i < n; i++)
	{
		uint64_t	f[6];
		uint64_t	off = (uint64_t) (p - buf);
		int			k;
		/* the address first; an entry of an earlier one is only stepped over */
		bool		whole = get_varint(&p, end, &f[0]);

		if (whole && f[0] <= UINT32_MAX - cur && cur + (uint32_t) f[0] < src)
		{
			for (k = 1; k < 6 && whole; k++)
				whole = skip_varint(&p, end);
			if (!whole)
				return mx_fail(err, MX_ERR_CORRUPT, "entries.entry", i + 1, off,
							   "entry cut short");
			cur += (uint32_t) f[0];
			continue;
		}
		for (k = 1; k < 6 && whole; k++)
			whole = get_varint(&p, end, &f[k]);
		if (!whole)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.entry", i + 1, off,
						   "entry cut short");
		if (f[0] > UINT32_MAX - cur)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.src", i + 1, off,
						   "source address beyond 255.255.255.255");
		cur += (uint32_t) f[0];
		if (cur > src)
			break;				/* sorted: no more of this source */
		if (f[2] < 1 || f[2] > (uint64_t) INT64_MAX - (uint64_t) sum->packets ||
			f[3] > (uint64_t) (MX_US_MAX - base) ||
			f[4] > (uint64_t) (MX_US_MAX - (base + (int64_t) f[3])) || f[5] > ncountries ||
			f[1] > UINT16_MAX)
			return mx_fail(err, MX_ERR_CORRUPT, "entries.entry", i + 1, off,
						   "entry out of range");
		{
			int64_t		first = base + (int64_t) f[3],
						last = first + (int64_t) f[4];

			sum->packets += (int64_t) f[2];
			sum->first_us = *found ? (first < sum->first_us ? first : sum->first_us) : first;
			sum->last_us = *found ? (last > sum->last_us ? last : sum->last_us) : last;
			if (!*found)
				memcpy(sum->country, names[f[5]], MX_COUNTRY_LEN);
			if (*nports < max_ports)
				ports[(*nports)++] = (uint16_t) f[1];
			*found = true;
		}
	}
	sum->src = src;
	return MX_OK;
}
