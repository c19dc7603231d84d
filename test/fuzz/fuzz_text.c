/*-------------------------------------------------------------------------
 *
 * fuzz_text.c
 *		Fuzz target: the packet type's text input (packet_in ->
 *		mx_packet_parse).
 *
 * The input bytes, up to the first NUL (a cstring, as PostgreSQL hands it
 * to packet_in), are parsed.  A refusal must name a field and a character
 * position inside the text.  An accepted text must give a value that
 * survives its stored form and whose canonical text reads back as the same
 * value (fuzz_check_packet).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "fuzz_common.h"

/* Longer texts only repeat what shorter ones exercise. */
#define MAX_TEXT	4096

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text;
	mx_packet	p;
	mx_error	err;
	mx_status	st;
	size_t		len;

	if (size > MAX_TEXT)
		return 0;
	/* exactly size + 1 bytes, so ASan sees any read past the NUL */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);

	memset(&err, 0, sizeof(err));
	st = mx_packet_parse(text, &p, &err);
	if (st == MX_OK)
		fuzz_check_packet(&p, NULL, NULL);
	else
	{
		fuzz_check_error(st, &err);
		if (st != MX_ERR_SYNTAX)
			fuzz_fail("parse returned %s", mx_status_name(st));
		if (err.offset > len)
			fuzz_fail("error at character %llu of a %zu-character text",
					  (unsigned long long) err.offset, len);
	}
	free(text);
	return 0;
}
