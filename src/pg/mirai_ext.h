/*-------------------------------------------------------------------------
 *
 * mirai_ext.h
 *		Declarations shared by the PostgreSQL glue files of mirai_ext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIRAI_EXT_H
#define MIRAI_EXT_H

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "mx_decode.h"

/* packet.c */
extern Datum mirai_packet_datum(const mx_packet *p);
extern void mirai_packet_unpack(Datum d, mx_packet *p);
extern TimestampTz mirai_ns_to_timestamptz(int64 ns);
extern Datum mirai_inet_datum(int ipver, const uint8 *addr);

/* mirai_ext.c */
extern int	mirai_rollup_part_limit;
extern int	mirai_part_cache_size;

/* capture.c */
extern void mirai_report_error(const char *path, const mx_error *err);

/* geoip.c (country code: cc must hold 7 bytes; returns its length, 0 = none) */
extern void mirai_geoip_init(void);
extern bool mirai_geoip_available(bool asn);
extern int	mirai_geoip_country_code(int ipver, const uint8 *addr, char *cc);

#endif							/* MIRAI_EXT_H */
