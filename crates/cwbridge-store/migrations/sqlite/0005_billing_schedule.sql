-- A tenant's billing runs on its own: every N hours (0: on demand only).
ALTER TABLE billing_settings ADD COLUMN schedule_hours BIGINT NOT NULL DEFAULT 0;
