-- A running billing run beats while its process lives; one whose beat stops (the process
-- died, even by kill -9) is abandoned so the next run can go.
ALTER TABLE billing_runs ADD COLUMN heartbeat_at BIGINT;
