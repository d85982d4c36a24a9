-- Device tokens rotated without re-enrolment, in two phases: the device asks for a new token with its current one
-- (next_token_hash); both work until the new one is first used, which makes it the only one. rotate_requested is the
-- operator's ask (bramble devices rotate-token); token_issued_at dates the current token for tokens.rotate-after-days.
ALTER TABLE devices ADD COLUMN next_token_hash CHAR(64);
ALTER TABLE devices ADD COLUMN rotate_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN token_issued_at BIGINT;
UPDATE devices SET token_issued_at = created_at;
CREATE INDEX devices_next_token ON devices (next_token_hash);
