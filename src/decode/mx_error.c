/*-------------------------------------------------------------------------
 *
 * mx_error.c
 *		Names of statuses, link types and skip reasons; filling mx_error.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "mx_bytes.h"

/* Short name of a status, as the README's error table lists them. */
const char *
mx_status_name(mx_status code)
{
	switch (code)
	{
		case MX_OK:
			return "ok";
		case MX_END:
			return "end";
		case MX_SKIP:
			return "skip";
		case MX_ERR_IO:
			return "i/o error";
		case MX_ERR_FORMAT:
			return "not a capture file";
		case MX_ERR_TRUNCATED:
			return "truncated";
		case MX_ERR_CORRUPT:
			return "corrupt";
		case MX_ERR_LIMIT:
			return "limit exceeded";
		case MX_ERR_PACKET:
			return "malformed packet";
		case MX_ERR_SYNTAX:
			return "syntax error";
		case MX_ERR_FILTER:
			return "filter error";
		case MX_ERR_NOMEM:
			return "out of memory";
	}
	return "unknown";
}

/* libpcap's name for each link type we decode. */
const char *
mx_linktype_name(uint32_t linktype)
{
	switch (linktype)
	{
		case MX_LINKTYPE_NULL:
			return "NULL";
		case MX_LINKTYPE_ETHERNET:
			return "EN10MB";
		case MX_LINKTYPE_RAW12:
		case MX_LINKTYPE_RAW14:
		case MX_LINKTYPE_RAW:
			return "RAW";
		case MX_LINKTYPE_LOOP:
			return "LOOP";
		case MX_LINKTYPE_LINUX_SLL:
			return "LINUX_SLL";
		case MX_LINKTYPE_IPV4:
			return "IPV4";
		case MX_LINKTYPE_IPV6:
			return "IPV6";
		case MX_LINKTYPE_LINUX_SLL2:
			return "LINUX_SLL2";
		case MX_LINKTYPE_ARCNET_BSD:
			return "ARCNET";
		case MX_LINKTYPE_PPP:
			return "PPP";
		case MX_LINKTYPE_FDDI:
			return "FDDI";
		case MX_LINKTYPE_PPP_HDLC:
			return "PPP_SERIAL";
		case MX_LINKTYPE_C_HDLC:
			return "C_HDLC";
		case MX_LINKTYPE_FRELAY:
			return "FRELAY";
		case MX_LINKTYPE_IEEE802_11:
			return "IEEE802_11";
		case MX_LINKTYPE_RADIOTAP:
			return "IEEE802_11_RADIO";
		case MX_LINKTYPE_ARCNET_LINUX:
			return "ARCNET_LINUX";
		case MX_LINKTYPE_PPI:
			return "PPI";
		case MX_LINKTYPE_IPNET:
			return "IPNET";
		case MX_LINKTYPE_NFLOG:
			return "NFLOG";
		case MX_LINKTYPE_IPOIB:
			return "IPOIB";
		case MX_LINKTYPE_PKTAP:
			return "PKTAP";
	}
	return NULL;
}

/* Names used in skip counts, in NOTICEs and in the loader's summary. */
const char *
mx_skip_reason_name(mx_skip_reason reason)
{
	switch (reason)
	{
		case MX_SKIP_NONE:
			return "none";
		case MX_SKIP_LINKTYPE:
			return "link type";
		case MX_SKIP_ARP:
			return "arp";
		case MX_SKIP_LLC:
			return "llc";
		case MX_SKIP_LLDP:
			return "lldp";
		case MX_SKIP_OTHER:
			return "other";
		case MX_SKIP_SHORT:
			return "short";
		case MX_SKIP_CONTROL:
			return "control";
		case MX_SKIP_ENCRYPTED:
			return "encrypted";
		case MX_SKIP_MALFORMED:
			return "malformed";
		case MX_SKIP_NREASONS:
			break;
	}
	return "unknown";
}

/* Fill *err and return code, so callers can write `return mx_fail(...)`. */
mx_status
mx_fail(mx_error *err, mx_status code, const char *field, uint64_t packetno,
		uint64_t offset, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	err->field = field;
	err->packetno = packetno;
	err->offset = offset;
	err->has_values = false;
	err->expected = 0;
	err->actual = 0;
	err->errnum = 0;
	err->detail = NULL;
	err->hint = NULL;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

/* mx_fail, plus the expected and actual values of the field. */
mx_status
mx_fail_values(mx_error *err, uint64_t expected, uint64_t actual,
			   mx_status code, const char *field, uint64_t packetno,
			   uint64_t offset, const char *fmt,...)
{
	va_list		ap;

	mx_fail(err, code, field, packetno, offset, "%s", "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->has_values = true;
	err->expected = expected;
	err->actual = actual;
	return code;
}

/* The location of an error, in the words README documents. */
void
mx_error_where(const mx_error *err, bool with_values, char *out, size_t outlen)
{
	int			n;

	if (err->packetno == 0)
		n = snprintf(out, outlen, "In the file header, at byte offset %llu, field %s.",
					 (unsigned long long) err->offset, err->field);
	else
		n = snprintf(out, outlen, "At packet %llu, byte offset %llu, field %s.",
					 (unsigned long long) err->packetno,
					 (unsigned long long) err->offset, err->field);
	if (with_values && err->has_values && n >= 0 && (size_t) n < outlen)
		snprintf(out + n, outlen - (size_t) n, " Expected %llu, found %llu.",
				 (unsigned long long) err->expected,
				 (unsigned long long) err->actual);
}
