-- ---------------------------------------------------------------------
-- Reading capture files on the server
-- ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.pcap_read(path text, filter text DEFAULT NULL,
                                      max_packets bigint DEFAULT NULL,
                                      on_error text DEFAULT 'error')
    RETURNS SETOF @extschema@.packet
    AS 'MODULE_PATHNAME', 'pcap_read' LANGUAGE C VOLATILE PARALLEL SAFE ROWS 100000;
COMMENT ON FUNCTION @extschema@.pcap_read(text, text, bigint, text) IS
    'the IP packets of a pcap, pcapng or gzip capture file on the server; filter is a BPF expression';

CREATE FUNCTION @extschema@.pcap_file_info(path text, filter text DEFAULT NULL,
    OUT format text, OUT gzip boolean, OUT byte_order text, OUT version text,
    OUT time_resolution text, OUT sections integer, OUT interfaces integer,
    OUT linktypes integer[], OUT records bigint, OUT filtered_out bigint,
    OUT ipv4 bigint, OUT ipv6 bigint, OUT ipv4_tcp bigint, OUT mirai bigint,
    OUT skipped bigint, OUT skipped_by_reason jsonb,
    OUT first_time timestamptz, OUT last_time timestamptz, OUT truncated boolean)
    AS 'MODULE_PATHNAME', 'pcap_file_info' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.pcap_file_info(text, text) IS
    'what a capture file on the server holds: container, link types, and counts of records, IP packets, Mirai packets and skipped frames';
