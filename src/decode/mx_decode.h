/*-------------------------------------------------------------------------
 *
 * mx_decode.h
 *		The mirai_ext decoder: capture files in, packet headers out.
 *
 * This library is plain C99 with no PostgreSQL headers.  The extension, the
 * mirai_load COPY loader, the capture tools and the fuzzers all link it, so
 * that every way into the database reads a capture file the same way.
 *
 * Policy, for every function here:
 *	- input bytes are untrusted: nothing is read past the bytes available, and
 *	  every length is checked before it is used;
 *	- errors are returned, never raised: a function returns an MX_* status
 *	  and fills a caller-owned mx_error that says what was wrong and where
 *	  (packet number, byte offset, field, expected and actual values);
 *	- no globals, no longjmp, no printing, no exit; memory is malloc'd only
 *	  by the reader and filter objects and freed by their close functions.
 *
 * The parts:
 *	mx_reader.c		pcap / pcapng / gzip containers from a file, fd or memory
 *	mx_link.c		link layers and encapsulations -> where the IP header is
 *	mx_frame.c		IPv4 / IPv6, TCP / UDP / ICMP -> mx_packet
 *	mx_packet.c		the packet type's stored (= binary) form and text form
 *	mx_filter.c		BPF filters, compiled by libpcap per link type
 *	mx_stream.c		the packet stream every reader of capture files uses:
 *					reader, filter, frames, counts and messages
 *
 *-------------------------------------------------------------------------
 */
#ifndef MX_DECODE_H
#define MX_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MX_VERSION_STRING "0.2.0"

/*
 * Status codes.  MX_OK and MX_END are not errors; everything from
 * MX_ERR_IO on is, and comes with a filled mx_error.
 */
typedef enum mx_status
{
	MX_OK = 0,					/* a record or packet was produced */
	MX_END,						/* no more records */
	MX_SKIP,					/* frame is not an IP packet we decode; see
								 * mx_skip_reason */
	MX_ERR_IO,					/* read() or open() failed; errnum is set */
	MX_ERR_FORMAT,				/* not a capture file at all (bad magic) */
	MX_ERR_TRUNCATED,			/* the data ends inside a structure */
	MX_ERR_CORRUPT,				/* a value contradicts the format */
	MX_ERR_LIMIT,				/* a size beyond what we accept */
	MX_ERR_PACKET,				/* a packet's own headers are malformed: the
								 * code of the error a malformed frame's
								 * skip fills, never returned */
	MX_ERR_SYNTAX,				/* text form: malformed input */
	MX_ERR_FILTER,				/* BPF expression rejected */
	MX_ERR_NOMEM				/* malloc failed */
} mx_status;

/*
 * Where and what.  `field` names the structure member that was wrong, in a
 * dotted form users can grep the README for ("pcap.caplen",
 * "pcapng.block_length", "ipv4.ihl", "gzip.trailer").  packetno is 1-based
 * and 0 when the error is in a file header.  offset is the byte offset in the
 * decompressed stream of the structure that failed.
 */
typedef struct mx_error
{
	mx_status	code;
	const char *field;
	uint64_t	packetno;
	uint64_t	offset;
	bool		has_values;		/* expected/actual are meaningful */
	uint64_t	expected;
	uint64_t	actual;
	int			errnum;			/* errno, for MX_ERR_IO */
	char		message[192];	/* what was wrong, lower case, no period */
	const char *detail;			/* why, as sentences for a DETAIL line, or
								 * NULL (a constant string) */
	const char *hint;			/* what to do instead, for a HINT line, or
								 * NULL (a constant string) */
} mx_error;

/* Short name of a status ("corrupt", "truncated", ...). */
extern const char *mx_status_name(mx_status code);

/*
 * Where an error is, as one or two sentences for a DETAIL line: "At packet
 * 12, byte offset 1234, field pcap.caplen." or "In the file header, at byte
 * offset 0, field magic.", followed by " Expected 65535, found 70000." when
 * with_values and the error has them.  Shared by the server and the loader
 * so that both say it in the same words.
 */
extern void mx_error_where(const mx_error *err, bool with_values, char *out,
						   size_t outlen);

/*
 * Link types, as pcap and pcapng files number them (LINKTYPE_*, not DLT_*).
 */
#define MX_LINKTYPE_NULL		0
#define MX_LINKTYPE_ETHERNET	1
#define MX_LINKTYPE_ARCNET_BSD	7	/* ARCNET, BSD header */
#define MX_LINKTYPE_PPP			9	/* PPP, address and control optional */
#define MX_LINKTYPE_FDDI		10
#define MX_LINKTYPE_RAW12		12	/* raw IP, as some systems wrote DLT_RAW */
#define MX_LINKTYPE_RAW14		14	/* raw IP, as OpenBSD / BSD/OS wrote it */
#define MX_LINKTYPE_PPP_HDLC	50	/* PPP in HDLC-like framing, or Cisco's */
#define MX_LINKTYPE_RAW			101
#define MX_LINKTYPE_C_HDLC		104 /* Cisco HDLC */
#define MX_LINKTYPE_FRELAY		107 /* Frame Relay */
#define MX_LINKTYPE_IEEE802_11	105 /* 802.11 */
#define MX_LINKTYPE_LOOP		108
#define MX_LINKTYPE_LINUX_SLL	113
#define MX_LINKTYPE_RADIOTAP	127 /* radiotap, then 802.11 */
#define MX_LINKTYPE_ARCNET_LINUX 129	/* ARCNET, Linux header */
#define MX_LINKTYPE_PPI			192 /* Per-Packet Information */
#define MX_LINKTYPE_IPNET		226 /* Solaris ipnet */
#define MX_LINKTYPE_IPV4		228
#define MX_LINKTYPE_IPV6		229
#define MX_LINKTYPE_NFLOG		239 /* Linux netfilter log */
#define MX_LINKTYPE_IPOIB		242 /* IP over InfiniBand */
#define MX_LINKTYPE_PKTAP		258 /* Apple PKTAP */
#define MX_LINKTYPE_LINUX_SLL2	276

/* Name of a link type ("EN10MB", "RAW", ...) or NULL when we don't read it. */
extern const char *mx_linktype_name(uint32_t linktype);

/* ----------------------------------------------------------------------
 * Reading capture files
 * ----------------------------------------------------------------------
 */

/* The largest captured length and pcapng block we accept. */
#define MX_MAX_CAPLEN			(256 * 1024)
#define MX_MAX_BLOCK			(16 * 1024 * 1024)
/* gzip: give up when the output exceeds this many times the input. */
#define MX_MAX_GZIP_RATIO		1000

typedef enum mx_format
{
	MX_FORMAT_UNKNOWN = 0,
	MX_FORMAT_PCAP,
	MX_FORMAT_PCAPNG
} mx_format;

/* One record of a capture file, as the reader hands it out. */
typedef struct mx_record
{
	const uint8_t *data;		/* caplen bytes; valid until the next call */
	uint32_t	caplen;			/* bytes captured */
	uint32_t	wirelen;		/* bytes on the wire */
	int64_t		ts_ns;			/* nanoseconds since 1970-01-01 00:00 UTC */
	uint32_t	linktype;		/* LINKTYPE_* of the record's interface */
	uint32_t	snaplen;		/* snapshot length of the record's interface */
	uint32_t	interface;		/* pcapng interface id; 0 in pcap */
	bool		big_endian;		/* byte order of the file or section */
	uint64_t	packetno;		/* 1-based, over the whole file */
	uint64_t	offset;			/* byte offset of the record header */
} mx_record;

/* What the reader tells about a file, once it has read the file header. */
typedef struct mx_file_info
{
	mx_format	format;
	bool		gzip;			/* gzip-compressed, found by content */
	bool		big_endian;		/* byte order of the first section */
	bool		nanosecond;		/* pcap: nanosecond magic */
	uint16_t	version_major;
	uint16_t	version_minor;
	uint32_t	sections;		/* pcapng sections seen so far */
	uint32_t	interfaces;		/* pcapng interfaces seen so far, all sections */
} mx_file_info;

/*
 * Salvage mode: instead of failing on a damaged record, skip to the next
 * plausible record and call this with what was skipped (err says why and
 * where the damage starts; bytes is how many bytes were passed over).
 */
typedef void (*mx_skip_callback) (void *arg, const mx_error *err,
								  uint64_t bytes);

typedef struct mx_reader mx_reader;

/*
 * Open a reader.  The fd variant takes ownership of fd (closed by
 * mx_reader_close, also on failure) and reads it with read(2) in large
 * chunks, a file, a pipe or a socket alike (never mapped: a file truncated
 * under a mapping would raise SIGBUS).  The memory variant reads a caller-owned buffer
 * that must outlive the reader.  Both return NULL with *err filled.
 *
 * The file header is read at once, so a file that is not a capture is
 * refused here.
 */
extern mx_reader *mx_reader_open_fd(int fd, mx_error *err);

/*
 * Called with every chunk of input bytes as the reader reads them from its
 * descriptor, before any gunzip, in order, each byte once: a caller hashes
 * or counts what came through a pipe without reading it twice.
 */
typedef void (*mx_input_callback) (void *arg, const uint8_t *data, size_t len);

/* mx_reader_open_fd, with cb (non-NULL) seeing every input byte. */
extern mx_reader *mx_reader_open_fd_tap(int fd, mx_input_callback cb,
										void *arg, mx_error *err);

/*
 * What a caller may hook into reading from a descriptor.  interrupted is
 * asked, about every 100 ms, while a pipe, FIFO or socket has no data (a
 * writer that stalls, or a FIFO opened with O_NONBLOCK that no writer has
 * opened yet); before each read of more input (about every MiB, whatever
 * the descriptor), so that reading that hands out no record for a long
 * time (non-packet pcapng blocks, salvage mode's scan for the next record)
 * still asks; and every 64 kB of gzip members that expand to nothing.
 * When it returns true the call fails with MX_ERR_IO and errnum EINTR, so
 * that a caller can cancel a read that would otherwise go on until a
 * writer writes or the file ends.  It must be cheap (a flag test).
 */
typedef struct mx_input_hooks
{
	mx_input_callback tap;
	void	   *tap_arg;
	bool		(*interrupted) (void *arg);
	void	   *interrupted_arg;
} mx_input_hooks;

/* mx_reader_open_fd with hooks (NULL or zeroed members: none). */
extern mx_reader *mx_reader_open_fd_hooks(int fd, const mx_input_hooks *hooks,
										  mx_error *err);
extern mx_reader *mx_reader_open_memory(const uint8_t *buf, size_t len,
										mx_error *err);

/* Turn salvage mode on (callback non-NULL) or off. */
extern void mx_reader_set_salvage(mx_reader *rd, mx_skip_callback cb,
								  void *arg);

/*
 * What the reader reads past rather than fail on, as libpcap or Wireshark
 * read it, and tells.  where says where (packetno, offset, field, message;
 * for MX_EVENT_CUT and MX_EVENT_TIME expected and actual too: the snapshot
 * length and the captured length, the fraction's unit and the fraction);
 * rec is the record as it is handed out, or NULL.
 */
typedef enum mx_reader_event
{
	MX_EVENT_CUT,				/* a record longer than the snapshot length,
								 * cut to it */
	MX_EVENT_TIME,				/* a fraction of a second out of range,
								 * carried into the seconds */
	MX_EVENT_STOP,				/* a pcapng section of a version it cannot
								 * read: reading ends before it */
	MX_EVENT_CAPTURE			/* a file header where a record was
								 * expected: a new capture begins */
} mx_reader_event;

typedef void (*mx_event_callback) (void *arg, mx_reader_event event,
								   const mx_error *where,
								   const mx_record *rec);

/* Be told of events (callback non-NULL), or not. */
extern void mx_reader_set_events(mx_reader *rd, mx_event_callback cb,
								 void *arg);

/*
 * The next packet record.  Returns MX_OK with *rec filled, MX_END at the end
 * of the file, or an error with *err filled.
 *
 * A file that ends inside its last record (a collector that died
 * mid-write) returns MX_END; mx_reader_truncated() then says so and *err
 * holds where.
 */
extern mx_status mx_reader_next(mx_reader *rd, mx_record *rec, mx_error *err);

extern bool mx_reader_truncated(const mx_reader *rd);
extern const mx_file_info *mx_reader_info(const mx_reader *rd);
/* Bytes of the (decompressed) stream consumed so far, and of the input. */
extern uint64_t mx_reader_offset(const mx_reader *rd);
extern uint64_t mx_reader_input_offset(const mx_reader *rd);

extern void mx_reader_close(mx_reader *rd);

/* ----------------------------------------------------------------------
 * Decoding frames
 * ----------------------------------------------------------------------
 */

/*
 * Why a frame produced no packet (MX_SKIP).  These are not errors: a
 * capture holds ARP and spanning tree frames, and a pcapng file may hold
 * interfaces of link types we do not read.
 */
typedef enum mx_skip_reason
{
	MX_SKIP_NONE = 0,
	MX_SKIP_LINKTYPE,			/* link type we do not decode */
	MX_SKIP_ARP,				/* ARP or RARP */
	MX_SKIP_LLC,				/* 802.3 length frame: STP, CDP, ... */
	MX_SKIP_LLDP,				/* LLDP */
	MX_SKIP_OTHER,				/* any other non-IP payload */
	MX_SKIP_SHORT,				/* cut by the snaplen before the IP header
								 * ends */
	MX_SKIP_CONTROL,			/* a link's own control frame: PPP LCP and
								 * NCPs, PPPoE discovery, Cisco SLARP and
								 * CDP, FDDI SMT and MAC frames, 802.11
								 * management, control and null data frames */
	MX_SKIP_ENCRYPTED,			/* an 802.11 data frame with its Protected
								 * bit set: its payload is ciphertext */
	MX_SKIP_MALFORMED,			/* an IP header that cannot be read: see
								 * mx_decode_frame */
	MX_SKIP_NREASONS
} mx_skip_reason;

extern const char *mx_skip_reason_name(mx_skip_reason reason);

/* Bits of mx_packet.present */
#define MX_HAS_VLAN		0x01	/* vlan holds the outermost VLAN id */
#define MX_HAS_PORTS	0x02	/* sport/dport hold ports (TCP, UDP, SCTP,
								 * UDP-Lite) or ICMP type/code */
#define MX_HAS_TCP		0x04	/* seq, ack, tcp_flags, window are set: the
								 * first 16 bytes of the TCP header were
								 * captured */
#define MX_IS_FRAGMENT	0x08	/* an IP fragment (more fragments, or offset >
								 * 0) */
#define MX_HAS_SEQ		0x10	/* seq is set: at least 8 bytes of the TCP
								 * header were captured (always with
								 * MX_HAS_TCP) */

/*
 * One packet's headers, decoded, in host byte order.  Addresses are in
 * network order (IPv4 in the first 4 bytes of src/dst, the rest zero).
 */
typedef struct mx_packet
{
	int64_t		ts_ns;			/* nanoseconds since the Unix epoch */
	uint32_t	wirelen;		/* frame length on the wire */
	uint32_t	caplen;			/* frame length captured */
	uint8_t		ipver;			/* 4 or 6 */
	uint8_t		proto;			/* IP protocol / IPv6 upper-layer header */
	uint8_t		ttl;			/* TTL or hop limit */
	uint8_t		present;		/* MX_HAS_* bits */
	uint16_t	ipid;			/* IPv4 identification; 0 for IPv6 */
	uint16_t	vlan;			/* 0..4095 when MX_HAS_VLAN */
	uint8_t		src[16];
	uint8_t		dst[16];
	uint16_t	sport;			/* source port, or ICMP type */
	uint16_t	dport;			/* destination port, or ICMP code */
	uint32_t	seq;
	uint32_t	ack;
	uint16_t	tcp_flags;		/* 9 bits: NS CWR ECE URG ACK PSH RST SYN FIN */
	uint16_t	window;
} mx_packet;

#define MX_TCP_FIN	0x001
#define MX_TCP_SYN	0x002
#define MX_TCP_RST	0x004
#define MX_TCP_PSH	0x008
#define MX_TCP_ACK	0x010
#define MX_TCP_URG	0x020
#define MX_TCP_ECE	0x040
#define MX_TCP_CWR	0x080
#define MX_TCP_NS	0x100

#define MX_PROTO_ICMP	1
#define MX_PROTO_TCP	6
#define MX_PROTO_UDP	17
#define MX_PROTO_ICMPV6 58

/*
 * Decode one record's frame.  Returns MX_OK with *pkt filled, or MX_SKIP
 * with *reason set; for MX_SKIP_MALFORMED (an IP header that no field can
 * be read from: a wrong version, a header length below 5 words, a total
 * length below the header, a frame captured whole that ends inside the
 * fixed header) *err says which field and why.  A packet whose headers are
 * malformed beyond that is kept with the fields that are valid (mx_frame.c
 * says which), as is a frame cut by the snaplen.
 */
extern mx_status mx_decode_frame(const mx_record *rec, mx_packet *pkt,
								 mx_skip_reason *reason, mx_error *err);

/*
 * Mirai's scanner: an IPv4 TCP packet whose sequence number equals its
 * destination address, from a source port above 1024.
 */
static inline bool
mx_is_mirai(const mx_packet *p)
{
	uint32_t	dst;

	if (p->ipver != 4 || p->proto != MX_PROTO_TCP ||
		(p->present & MX_HAS_SEQ) == 0 || p->sport <= 1024)
		return false;
	dst = ((uint32_t) p->dst[0] << 24) | ((uint32_t) p->dst[1] << 16) |
		((uint32_t) p->dst[2] << 8) | (uint32_t) p->dst[3];
	return p->seq == dst;
}

/* ----------------------------------------------------------------------
 * The packet type's stored form (also its binary send/recv form)
 * ----------------------------------------------------------------------
 */

/* The largest stored form: an IPv6 TCP packet with every option. */
#define MX_PACKED_MAX	72

/* Layout version, in the low 4 bits of byte 0 of every stored value. */
#define MX_LAYOUT_VERSION 1

/* Pack into out (MX_PACKED_MAX bytes); returns the length used. */
extern size_t mx_packet_pack(const mx_packet *p, uint8_t *out);

/*
 * Unpack and validate a stored form.  Every byte string that is not exactly
 * what mx_packet_pack writes for some packet is refused with MX_ERR_CORRUPT,
 * so that byte equality is value equality.
 */
extern mx_status mx_packet_unpack(const uint8_t *buf, size_t len,
								  mx_packet *p, mx_error *err);

/* mx_is_mirai on a stored form: 1, 0, or -1 if the form is malformed. */
extern int	mx_packed_is_mirai(const uint8_t *buf, size_t len);

/*
 * mx_packed_is_mirai that also gives a Mirai packet's IPv4 source (host
 * order) and destination port (either pointer may be NULL).
 */
extern int	mx_packed_mirai_key(const uint8_t *buf, size_t len,
								uint32_t *src, uint16_t *dport);

/* The timestamp alone, from a stored form that has been validated. */
extern int64_t mx_packed_ts(const uint8_t *buf);

/*
 * The source address alone, from a stored form whose length has been
 * checked (mx_packed_is_mirai or mx_scanner_first_packed did not refuse
 * it): copies 4 (IPv4) or 16 (IPv6) bytes, network order, to addr, and
 * returns the IP version, 4 or 6.
 */
extern int	mx_packed_src(const uint8_t *buf, uint8_t *addr);

/* ----------------------------------------------------------------------
 * The packet type's text form
 * ----------------------------------------------------------------------
 */

/* The longest text form, with its terminating zero. */
#define MX_TEXT_MAX		256

/*
 * Write the canonical text form, e.g.
 *	2024-12-14T03:12:45.123456789Z tcp 192.0.2.1:40512 > 203.0.113.7:23
 *		flags=S seq=3405803783 ack=0 win=14600 ttl=52 id=54321 len=54
 * (one line).  Returns the length written.
 */
extern size_t mx_packet_format(const mx_packet *p, char *out);

/* Parse a text form; accepts what mx_packet_format writes, and more. */
extern mx_status mx_packet_parse(const char *text, mx_packet *p,
								 mx_error *err);

/* A nanosecond UTC timestamp as RFC 3339, "2024-12-14T03:12:45.123456789Z". */
extern size_t mx_format_time(int64_t ts_ns, char *out);

/* TCP flags as letters in the order F S R P A U E C N, or "-" for none. */
extern size_t mx_format_tcp_flags(uint16_t flags, char *out);

/* ----------------------------------------------------------------------
 * BPF filters (libpcap)
 * ----------------------------------------------------------------------
 */

typedef struct mx_filter mx_filter;

/*
 * Compile expr for Ethernet to check its syntax at once; other link types
 * are compiled when a record of that type first comes.  NULL with *err on
 * failure (libpcap's message in err->message).  libpcap looks up the names
 * expr holds (hosts in DNS, services, protocols, networks, MAC addresses);
 * a caller on the user's own machine may want that, the server must not:
 * see mx_filter_new_flags.
 */
extern mx_filter *mx_filter_new(const char *expr, mx_error *err);

/* mx_filter_new_flags: refuse names, so that libpcap looks nothing up */
#define MX_FILTER_NO_NAMES	0x01

/*
 * mx_filter_new with flags (0: as mx_filter_new).  With MX_FILTER_NO_NAMES
 * the expression may hold only libpcap's keywords, operators and numbers:
 * addresses (192.0.2.1, 10.0.0.0/8, 2001:db8::1, 00:11:22:33:44:55),
 * ports, port ranges and protocol numbers; a name fails with MX_ERR_FILTER
 * before libpcap sees it, err->message naming it and err->hint saying how
 * to write it as a number.
 */
extern mx_filter *mx_filter_new_flags(const char *expr, unsigned flags,
									  mx_error *err);

/*
 * The check behind MX_FILTER_NO_NAMES: MX_OK when expr holds no name that
 * libpcap would look up, else MX_ERR_FILTER with *err filled (offset: the
 * name's byte offset in expr).  Syntax is libpcap's to check.
 */
extern mx_status mx_filter_check_names(const char *expr, mx_error *err);

/* 1 if the record matches, 0 if not, -1 with *err if expr cannot apply. */
extern int	mx_filter_match(mx_filter *f, const mx_record *rec, mx_error *err);

extern void mx_filter_free(mx_filter *f);

/* The BPF expression equivalent to mx_is_mirai, for tcpdump cross-checks. */
#define MX_MIRAI_BPF "tcp[4:4] = ip[16:4] and tcp src portrange 1025-65535"

/* ----------------------------------------------------------------------
 * The packet stream: a capture file in, packets and messages out
 * ----------------------------------------------------------------------
 */

/*
 * Every reader of capture files (pcap_read, pcap_file_info, mirai_load, the
 * fuzzers) reads through a stream, so that all of them read a file the same
 * way and say the same about it.  The stream owns the reader, the link
 * types, the BPF filter, frame decoding, skipping and salvage, the counts,
 * and the texts of the warnings and notices; an adapter only prints the
 * messages (the server as WARNING and NOTICE, mirai_load on stderr) and
 * uses the packets.
 *
 *	mx_stream_options opt = {.name = path, .salvage = skip};
 *	mx_stream *s = mx_stream_open_fd(fd, &opt, &err);
 *	while ((st = mx_stream_next(s, &pkt, &err)) == MX_OK)
 *	{
 *		drain mx_stream_message(); use pkt;
 *	}
 *	drain mx_stream_message(); st == MX_END, or report err (mx_error_text);
 *	mx_stream_close(s);
 */
typedef struct mx_stream mx_stream;

/* How to read: zeroed members mean none. */
typedef struct mx_stream_options
{
	const char *name;			/* the file's name in messages; copied */
	mx_filter  *filter;			/* BPF filter on each frame; borrowed */
	bool		salvage;		/* step over damaged records: on_error =>
								 * 'skip', --on-error=skip */
	bool		mirai_only;		/* hand out only mx_is_mirai packets (the
								 * others count as filtered) */
	uint32_t	scanners;		/* hand out only packets that match a rule
								 * of this mask of the scanner catalogue
								 * (mx_scanner.h; the others count as
								 * filtered); 0: no such test */
	uint64_t	skip_records;	/* read past the first this many records
								 * without decoding or counting them but in
								 * records: a load resumed after them */
	const mx_input_hooks *hooks;	/* descriptor input only */
	uint64_t	max_records;	/* read no record past this many (0: no
								 * limit); MX_END then, with no end
								 * messages: the file was not read to its
								 * end */
} mx_stream_options;

/* What a stream has read so far. */
typedef struct mx_stream_counts
{
	uint64_t	records;		/* records read */
	uint64_t	packets;		/* packets handed out */
	uint64_t	filtered;		/* records the filter (or mirai_only) left
								 * out */
	uint64_t	skipped[MX_SKIP_NREASONS];	/* frames skipped, by reason */
	uint64_t	damaged;		/* salvage: damaged regions stepped over */
	uint64_t	damaged_bytes;	/* and their bytes */
	uint64_t	cut;			/* records cut to the snapshot length */
	uint64_t	bad_times;		/* records whose fraction of a second was
								 * out of range */
	uint64_t	captures;		/* file headers after the first (cat a b) */
	bool		truncated;		/* the input ended inside its last record */
	bool		stopped;		/* a section it cannot read ended reading */
	int			nlinktypes;		/* distinct link types of records read, */
	uint32_t	linktypes[64];	/* in the order first seen (at most 64) */
	int			queued;			/* messages mx_stream_message has to give:
								 * a test that costs a caller nothing */
} mx_stream_counts;

/* A warning or notice, worded for users; the adapter prints it. */
typedef enum mx_level
{
	MX_NOTICE,
	MX_WARNING
} mx_level;

typedef struct mx_message
{
	mx_level	level;
	const char *field;			/* the field it is about, or NULL */
	char		text[384];		/* primary message: lower case, no period,
								 * the file's name in double quotes */
	char		detail[1024];	/* full sentences for a DETAIL line, or "" */
} mx_message;

/*
 * Open a stream on a descriptor (taking it over, as mx_reader_open_fd_hooks
 * does) or on a caller's buffer.  NULL with *err filled when the file cannot
 * be read at all (mx_error_text words it).
 */
extern mx_stream *mx_stream_open_fd(int fd, const mx_stream_options *opt,
									mx_error *err);
extern mx_stream *mx_stream_open_memory(const uint8_t *buf, size_t len,
										const mx_stream_options *opt,
										mx_error *err);

/*
 * The next packet: MX_OK with *pkt filled; MX_END when the file has no
 * more (the end's messages are then queued: cut short, damage, frames
 * skipped); or an error with *err filled, which ends the file (MX_ERR_FILTER
 * when the filter cannot apply to a record's link type).  Malformed packets
 * and frames that are not IP are skipped and counted, never errors.
 */
extern mx_status mx_stream_next(mx_stream *s, mx_packet *pkt, mx_error *err);

/*
 * The next queued message, oldest first: false when there is none.  Ask
 * after every mx_stream_next, before reporting its error, if any.
 */
extern bool mx_stream_message(mx_stream *s, mx_message *msg);

extern const mx_stream_counts *mx_stream_get_counts(const mx_stream *s);
extern const mx_file_info *mx_stream_info(const mx_stream *s);

/* The record behind the last packet handed out (valid until the next call). */
extern const mx_record *mx_stream_record(const mx_stream *s);

extern void mx_stream_close(mx_stream *s);

/*
 * An error of a stream (or of opening one) on the file `name`, worded as
 * both adapters print it: "invalid capture file "NAME": ..." with where it
 * is as the detail; "could not read capture file "NAME": ..." for
 * MX_ERR_IO; the filter's own words for MX_ERR_FILTER.  level is
 * MX_WARNING, meaningless here.
 */
extern void mx_error_text(const char *name, const mx_error *err,
						  mx_message *msg);

#endif							/* MX_DECODE_H */
