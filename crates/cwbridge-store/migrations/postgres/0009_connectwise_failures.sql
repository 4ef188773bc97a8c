-- ConnectWise's recent failed answers per tenant (the connection-health page), written by
-- whichever instance got them, so every instance's page shows them all. Pruned on insert.
CREATE TABLE connectwise_failures (
    id        BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    method    TEXT NOT NULL,
    path      TEXT NOT NULL,
    status    BIGINT,
    message   TEXT NOT NULL,
    retrying  BIGINT NOT NULL
);
CREATE INDEX connectwise_failures_tenant ON connectwise_failures (tenant_id, id);
