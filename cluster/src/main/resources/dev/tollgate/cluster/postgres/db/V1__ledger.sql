-- Tollgate's cluster ledger, version 1 (applied by dev.tollgate.cluster.postgres.Schema, once, in
-- one transaction under an advisory lock).
--
-- ledger_record is the cluster chain: one row per record, in chain order (seq 1, 2, … without a
-- gap). The record itself is `line`, the sealed JSON text exactly as hashed (the local ledger's
-- format: seq, time, type, the record's members, prev, hash). It is kept as text, not jsonb,
-- because jsonb reorders members and drops duplicates: the hash is over bytes, and a verifier must
-- see the bytes that were hashed. The other columns repeat what the line says for indexes and
-- joins; verify() checks that they agree with the line.
--   node_id, local_seq, local_hash: the gateway whose local ledger the record came from, and its
--   place there. unique (node_id, local_seq) makes delivery idempotent; a final written by a claim
--   (ClusterLedger.claimDue) starts with local_seq NULL and gets it when the claimer's local copy
--   arrives.
CREATE TABLE ledger_record (
    seq         bigint      PRIMARY KEY,
    type        text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    node_id     text        NOT NULL,
    local_seq   bigint,
    local_hash  char(64),
    prev        char(64)    NOT NULL,
    hash        char(64)    NOT NULL UNIQUE,
    line        text        NOT NULL,
    CONSTRAINT ledger_record_node_local UNIQUE (node_id, local_seq)
);

-- The head of the chain, one row: every append takes it FOR UPDATE, which serializes appends
-- cluster-wide (the chain is one sequence) and gives the prev hash in the same read. A record
-- removed from the end of ledger_record no longer matches it (verify() says so).
CREATE TABLE ledger_head (
    id   int      PRIMARY KEY CHECK (id = 1),
    seq  bigint   NOT NULL,
    hash char(64) NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, repeat('0', 64));

-- The incidents projection: one row per incident (entity, sequence), kept by the same transaction
-- that appends the record it comes from. It is derived from the chain (each counted flag, provisional
-- and final record names its row; the chain alone is the evidence). It enforces what the chain cannot:
--   at most one open incident per entity (incidents_one_open): a second flag from anywhere (two
--   gateways flagging while Redis was down) finds the index taken and its record goes into the
--   chain as "superseded", which no report counts;
--   each incident finalized once: a claim locks the open row (FOR UPDATE SKIP LOCKED) and closes
--   it in the transaction that appends its final record.
-- Figures (period, posts, requests, amount) are those of the incident's latest counted record.
CREATE TABLE incidents (
    entity       text        NOT NULL,
    sequence     bigint      NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'final')),
    flagged_at   timestamptz NOT NULL,
    flag_count   bigint      NOT NULL,
    node_id      text        NOT NULL,
    flag_seq     bigint      REFERENCES ledger_record (seq) DEFERRABLE INITIALLY DEFERRED,
    period_start timestamptz,
    period_end   timestamptz,
    posts        bigint,
    requests     bigint,
    amount       numeric,
    currency     text,
    figures_seq  bigint      REFERENCES ledger_record (seq) DEFERRABLE INITIALLY DEFERRED,
    final_seq    bigint      REFERENCES ledger_record (seq) DEFERRABLE INITIALLY DEFERRED,
    finalized_by text,
    PRIMARY KEY (entity, sequence)
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (entity) WHERE status = 'open';
CREATE INDEX incidents_due ON incidents (flagged_at) WHERE status = 'open';
