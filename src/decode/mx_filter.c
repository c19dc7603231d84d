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
	mx_filter  *f = calloc(1, sizeof(mx_filter));

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
