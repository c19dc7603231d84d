-- ---------------------------------------------------------------------
-- The mirai_load ledger: which capture files were loaded into which table
-- ---------------------------------------------------------------------
--
-- mirai_load (the client-side COPY loader) writes one row here in the same
-- transaction as a file's packets, so a row exists exactly when the packets
-- are there.  A rerun skips a file when a row that read its input to the
-- end has its content hash for the same table, the same options (those
-- that decide which rows the file gives) and was written by a role the
-- loading role trusts: itself or the table's owner.  --force loads it again
-- and records a row with forced.
--
-- A load may cover part of a file: a batch of --commit-every or --follow
-- (at_end false), or a file still being written (truncated).  Such a row
-- names the first file_size bytes by their hash and says how many records
-- of the file were read (records).  When a file's first file_size bytes
-- hash to a trusted row's content_hash (same table and options), the file
-- extends that content, and mirai_load loads only the records after
-- records: each row covers the records after from_record up to records.
--
-- Who sees and writes what (row-level security): a role may insert rows
-- for tables it may INSERT into, as itself; see every row of tables it may
-- SELECT from, and of tables it may only INSERT into its own rows and the
-- table owner's (the rows it trusts); delete rows of tables it may DELETE
-- from or TRUNCATE (to load a file again after emptying a table).  Rows
-- are never updated.

CREATE TABLE @extschema@.mirai_load_ledger (
    table_name   regclass NOT NULL,
    file_name    text NOT NULL,
    client_host  text,
    file_size    bigint NOT NULL CHECK (file_size >= 0),
    content_hash bytea NOT NULL CHECK (pg_catalog.octet_length(content_hash) = 32),
    packets      bigint NOT NULL CHECK (packets >= 0),
    filtered     bigint NOT NULL DEFAULT 0 CHECK (filtered >= 0),
    not_ip       bigint NOT NULL DEFAULT 0 CHECK (not_ip >= 0),
    truncated    boolean NOT NULL DEFAULT false,
    damaged_regions bigint NOT NULL DEFAULT 0 CHECK (damaged_regions >= 0),
    damaged_bytes bigint NOT NULL DEFAULT 0 CHECK (damaged_bytes >= 0),
    malformed    bigint NOT NULL DEFAULT 0 CHECK (malformed >= 0),
    filter       text,
    forced       boolean NOT NULL DEFAULT false,
    loaded_by    name NOT NULL DEFAULT CURRENT_USER,
    loaded_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    options      text NOT NULL,
    tbl          regclass GENERATED ALWAYS AS (table_name) STORED,
    records      bigint CHECK (records >= 0),
    from_record  bigint NOT NULL DEFAULT 0 CHECK (from_record >= 0),
    at_end       boolean NOT NULL DEFAULT true
);

-- One regular load per (table, content, role, options, first record): the
-- second of two concurrent loaders of the same content by the same role
-- with the same options, from the same record, fails to insert and rolls
-- back.  Rows of other roles never block a load.
CREATE UNIQUE INDEX mirai_load_ledger_once
    ON @extschema@.mirai_load_ledger (table_name, content_hash, loaded_by, options, from_record) WHERE NOT forced;
-- mirai_load hashes a file before loading it only when a file of its size
-- was loaded into the table (same content, same size)
CREATE INDEX mirai_load_ledger_size
    ON @extschema@.mirai_load_ledger (table_name, file_size);

COMMENT ON TABLE @extschema@.mirai_load_ledger IS
    'capture files loaded by mirai_load: one row per file (or batch) and table, written in the same transaction as its packets';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.table_name IS 'table the packets went into';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.file_name IS
    'absolute path on the client for a regular file, the name as given for a pipe, - for stdin';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.client_host IS 'host name of the client that ran mirai_load';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.file_size IS 'bytes of the file as read (compressed size for gzip)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.content_hash IS
    'SHA-256 of the file''s bytes as read (before gunzip): the file''s identity, whatever its name';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.packets IS 'packets loaded';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filtered IS 'IP packets left out by --filter, --mirai-only or --scanner';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.not_ip IS 'frames that are not IP packets (ARP, STP, unknown link types ...)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.truncated IS 'the file ended inside its last record (that record was not loaded)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.damaged_regions IS
    'damaged regions of the file stepped over by --on-error=skip (0 in the default mode, where damage fails the file)';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.damaged_bytes IS
    'bytes of the (decompressed) stream in those damaged regions';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.malformed IS
    'frames skipped by --on-error=skip because their IP or transport headers are malformed';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.filter IS 'the BPF filter, --mirai-only and --scanner, as given (--scanner''s rules in catalogue order); NULL when none';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.forced IS 'loaded again on purpose with --force';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.loaded_by IS 'role that loaded the file';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.loaded_at IS 'start of the loading transaction';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.tbl IS 'table_name under the name the views give the table';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.options IS
    'what decides the rows a file gives: --column=(the packet column), then --filter, --mirai-only and --scanner as given, then --on-error=skip when it skipped damage; a rerun skips or resumes the file only with the same options';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.records IS
    'records of the file read up to the end of this load, counted from the file''s start (pcap records, pcapng packet blocks), whether loaded, filtered or skipped; a load that resumes this one starts after them; NULL for rows written before 0.2.0';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.from_record IS
    'records of the file before this load''s first: 0 for a load from the file''s start, else the records of the row it resumed or of the batch before it';
COMMENT ON COLUMN @extschema@.mirai_load_ledger.at_end IS
    'the load read its input to the end (false: a batch of --commit-every or --follow committed before the end; such a row never makes a file count as loaded, only resumable)';

-- pg_dump keeps the rows (the table belongs to the extension)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mirai_load_ledger', '');

ALTER TABLE @extschema@.mirai_load_ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY mirai_load_ledger_read ON @extschema@.mirai_load_ledger FOR SELECT
    USING (pg_catalog.has_table_privilege(table_name, 'SELECT')
           OR (pg_catalog.has_table_privilege(table_name, 'INSERT')
               AND (loaded_by OPERATOR(pg_catalog.=) CURRENT_USER
                    OR loaded_by OPERATOR(pg_catalog.=)
                       (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                        WHERE c.oid OPERATOR(pg_catalog.=) table_name))));
CREATE POLICY mirai_load_ledger_write ON @extschema@.mirai_load_ledger FOR INSERT
    WITH CHECK (loaded_by = CURRENT_USER
                AND pg_catalog.has_table_privilege(table_name, 'INSERT'));
CREATE POLICY mirai_load_ledger_forget ON @extschema@.mirai_load_ledger FOR DELETE
    USING (pg_catalog.has_table_privilege(table_name, 'DELETE')
           OR pg_catalog.has_table_privilege(table_name, 'TRUNCATE'));
GRANT SELECT, INSERT, DELETE ON @extschema@.mirai_load_ledger TO PUBLIC;
