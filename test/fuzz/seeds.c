/*-------------------------------------------------------------------------
 *
 * seeds.c
 *		Seed inputs for the text and recv fuzz targets, from capture files:
 *		the canonical text form and the stored form of a few packets of each
 *		kind (IP version, protocol, which optional parts are present).
 *
 * Usage: seeds TEXT_DIR RECV_DIR CAPTURE...
 *
 * Used by test/fuzz/make_seeds.sh only; the seeds it writes are committed.
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx_decode.h"

#define PER_KIND	2

static unsigned seen[2][256][256];
static unsigned nwritten;

/* Write n bytes to DIR/NAME. */
static void
write_file(const char *dir, const char *prefix, unsigned k, const void *p,
		   size_t n)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s%04u", dir, prefix, k);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	int			i;

	if (argc < 4)
	{
		fprintf(stderr, "usage: seeds TEXT_DIR RECV_DIR CAPTURE...\n");
		return 2;
	}
	for (i = 3; i < argc; i++)
	{
		mx_error	err;
		mx_stream  *s;
		mx_packet	p;
		int			fd = open(argv[i], O_RDONLY);

		if (fd < 0 || (s = mx_stream_open_fd(fd, NULL, &err)) == NULL)
			continue;
		while (mx_stream_next(s, &p, &err) == MX_OK)
		{
			uint8_t		packed[MX_PACKED_MAX];
			char		text[MX_TEXT_MAX];
			unsigned	kind;
			size_t		n;

			kind = p.present | (p.caplen != p.wirelen ? 0x10 : 0) |
				(p.wirelen > 0xffff ? 0x20 : 0);
			if (seen[p.ipver == 6][p.proto][kind]++ >= PER_KIND)
				continue;
			nwritten++;
			n = mx_packet_format(&p, text);
			write_file(argv[1], "text-", nwritten, text, n);
			n = mx_packet_pack(&p, packed);
			write_file(argv[2], "recv-", nwritten, packed, n);
		}
		mx_stream_close(s);
	}
	printf("%u seeds each\n", nwritten);
	return 0;
}
