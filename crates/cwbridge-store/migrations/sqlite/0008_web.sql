-- The wizard's sign-in sessions (only a hash of each session id is kept), and the alert
-- types the vendor has configured for each account (step 4 offers them per account).
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_tenant ON web_sessions (tenant_id);
ALTER TABLE accounts ADD COLUMN alert_types TEXT;
