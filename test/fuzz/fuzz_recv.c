/*-------------------------------------------------------------------------
 *
 * fuzz_recv.c
 *		Fuzz target: the packet type's binary receive (packet_recv ->
 *		mx_packet_unpack), which is also how every stored value is read.
 *
 * The input bytes are one binary value as COPY (FORMAT binary) or a
 * client's bind message delivers it (packet_recv refuses more than
 * MX_PACKED_MAX bytes before unpacking, and so does this target).  The
 * stored form is canonical: unpack accepts exactly the byte strings that
 * pack writes.  So an accepted input must pack back to the very same bytes,
 * and its text form must read back as the same value.  A refusal must name
 * a field and stay inside the input.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *copy;
	uint8_t		packed[MX_PACKED_MAX];
	size_t		npacked = 0;
	mx_packet	p;
	mx_error	err;
	mx_status	st;

	if (size > MX_PACKED_MAX)
		return 0;
	/* an exact-size copy, so ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);

	memset(&err, 0, sizeof(err));
	st = mx_packet_unpack(copy, size, &p, &err);
	if (st == MX_OK)
	{
		fuzz_check_packet(&p, packed, &npacked);
		if (npacked != size || memcmp(packed, copy, size) != 0)
			fuzz_fail("unpack accepted %zu bytes that pack writes differently (%zu bytes)",
					  size, npacked);
		/* the low 4 bits of byte 0 are the layout version */
		if ((copy[0] & 0x0f) != MX_LAYOUT_VERSION)
			fuzz_fail("unpack accepted layout version %u", copy[0] & 0x0f);
		/* and is_mirai on the stored bytes agrees with the unpacked one */
		if (mx_packed_is_mirai(copy, size) != (mx_is_mirai(&p) ? 1 : 0))
			fuzz_fail("mx_packed_is_mirai disagrees with mx_is_mirai");
	}
	else
	{
		fuzz_check_error(st, &err);
		if (st != MX_ERR_CORRUPT)
			fuzz_fail("unpack returned %s", mx_status_name(st));
		if (err.offset > size)
			fuzz_fail("error at byte %llu of a %zu-byte value",
					  (unsigned long long) err.offset, size);
	}
	free(copy);
	return 0;
}
