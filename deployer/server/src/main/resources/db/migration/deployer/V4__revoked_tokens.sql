-- Revoked device tokens, by hash, so a device that still sends one is told it was revoked (not just "unknown"),
-- and when a device was cut off. A revoked device keeps its row and history; it takes part in no new rollout.
CREATE TABLE revoked_tokens (
    token_hash  CHAR(64)     PRIMARY KEY,
    device      VARCHAR(64)  NOT NULL REFERENCES devices (id),
    revoked_at  BIGINT       NOT NULL
);
ALTER TABLE devices ADD COLUMN revoked_at BIGINT;
