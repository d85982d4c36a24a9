-- Telemetry from devices' outboxes. One row per (device, outbox): sequence numbers count within an outbox, and
-- acked_seq says up to where everything is stored.
CREATE TABLE telemetry_sources (
    id          ${id_column},
    device      VARCHAR(64)  NOT NULL REFERENCES devices (id),
    outbox_id   VARCHAR(64)  NOT NULL,
    acked_seq   BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    UNIQUE (device, outbox_id)
);

-- Log lines and gap records. UNIQUE (source, seq) makes a re-sent entry a no-op even when two replicas take the
-- same batch at once; id follows the device's order within a source.
CREATE TABLE telemetry_logs (
    id          ${id_column},
    source      BIGINT       NOT NULL REFERENCES telemetry_sources (id),
    seq         BIGINT       NOT NULL,
    device      VARCHAR(64)  NOT NULL,
    function    VARCHAR(128) NOT NULL,
    kind        VARCHAR(8)   NOT NULL,
    ts          BIGINT       NOT NULL,
    log_stream  VARCHAR(256),
    request_id  VARCHAR(64),
    message     TEXT,
    dropped     BIGINT       NOT NULL,
    received_at BIGINT       NOT NULL,
    UNIQUE (source, seq)
);
CREATE INDEX telemetry_logs_read ON telemetry_logs (device, function, id);
CREATE INDEX telemetry_logs_age ON telemetry_logs (received_at);

CREATE TABLE telemetry_metrics (
    id          ${id_column},
    source      BIGINT       NOT NULL REFERENCES telemetry_sources (id),
    seq         BIGINT       NOT NULL,
    device      VARCHAR(64)  NOT NULL,
    ts          BIGINT       NOT NULL,
    body        TEXT         NOT NULL,
    received_at BIGINT       NOT NULL,
    UNIQUE (source, seq)
);
CREATE INDEX telemetry_metrics_read ON telemetry_metrics (device, id);
CREATE INDEX telemetry_metrics_age ON telemetry_metrics (received_at);
