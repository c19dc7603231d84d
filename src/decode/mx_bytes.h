/*-------------------------------------------------------------------------
 *
 * mx_bytes.h
 *		Byte-order helpers and error filling, private to the decoder.
 *
 * Wire and file structures are read and written a byte at a time through
 * these helpers, never by casting a buffer to a struct: buffers have no
 * alignment guarantee and fields come in either byte order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_BYTES_H
#define MX_BYTES_H

#include <stdarg.h>
#include <stdint.h>

#include "mx_decode.h"

static inline uint16_t
mx_be16(const uint8_t *p)
{
	return (uint16_t) (((uint16_t) p[0] << 8) | p[1]);
}

static inline uint32_t
mx_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline uint64_t
mx_be64(const uint8_t *p)
{
	return ((uint64_t) mx_be32(p) << 32) | mx_be32(p + 4);
}

static inline uint16_t
mx_le16(const uint8_t *p)
{
	return (uint16_t) (((uint16_t) p[1] << 8) | p[0]);
}

static inline uint32_t
mx_le32(const uint8_t *p)
{
	return ((uint32_t) p[3] << 24) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[1] << 8) | (uint32_t) p[0];
}

/* 16 or 32 bits in the byte order `big` says. */
static inline uint16_t
mx_get16(const uint8_t *p, int big)
{
	return big ? mx_be16(p) : mx_le16(p);
}

static inline uint32_t
mx_get32(const uint8_t *p, int big)
{
	return big ? mx_be32(p) : mx_le32(p);
}

static inline void
mx_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static inline void
mx_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static inline void
mx_put64(uint8_t *p, uint64_t v)
{
	mx_put32(p, (uint32_t) (v >> 32));
	mx_put32(p + 4, (uint32_t) v);
}

/*
 * Fill *err: code, field, where, and a printf-style message.  Defined in
 * mx_error.c.
 */
extern mx_status mx_fail(mx_error *err, mx_status code, const char *field,
						 uint64_t packetno, uint64_t offset,
						 const char *fmt,...)
			__attribute__((format(printf, 6, 7)));

/* The same, with the expected and the actual value of the field. */
extern mx_status mx_fail_values(mx_error *err, uint64_t expected,
								uint64_t actual, mx_status code,
								const char *field, uint64_t packetno,
								uint64_t offset, const char *fmt,...)
			__attribute__((format(printf, 8, 9)));

#endif							/* MX_BYTES_H */
