-- What a device's outbox held at its last upload (TelemetryBatch.backlog), for the fleet console. Null from devices
-- that do not send it.
ALTER TABLE telemetry_sources ADD COLUMN backlog_entries BIGINT;
ALTER TABLE telemetry_sources ADD COLUMN backlog_bytes BIGINT;
ALTER TABLE telemetry_sources ADD COLUMN backlog_oldest_seconds BIGINT;
ALTER TABLE telemetry_sources ADD COLUMN backlog_dropped BIGINT;
