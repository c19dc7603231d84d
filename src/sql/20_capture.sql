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
