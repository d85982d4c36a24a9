-- Rollouts that never hang: the plan each was started with (rate, thresholds, device deadline) as JSON, why it
-- stopped, the release rate's credit, and when each device was released (its deadline counts from there).
ALTER TABLE deployments ADD COLUMN plan TEXT;
ALTER TABLE deployments ADD COLUMN reason TEXT;
ALTER TABLE deployments ADD COLUMN credit DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN credit_at BIGINT;
ALTER TABLE deployment_devices ADD COLUMN released_at BIGINT;
CREATE INDEX deployments_state ON deployments (state);
CREATE INDEX deployment_devices_state ON deployment_devices (deployment, state);
