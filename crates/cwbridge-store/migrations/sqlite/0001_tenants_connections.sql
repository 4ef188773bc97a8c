-- Tenants (the vendor's MSP customers), their API tokens (hashed), their ConnectWise
-- connection (private key sealed) and the results of checking it.
CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE tenant_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   BIGINT  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    label       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE connections (
    tenant_id           BIGINT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    site                TEXT   NOT NULL,
    company_id          TEXT   NOT NULL,
    public_key          TEXT   NOT NULL,
    private_key_sealed  TEXT   NOT NULL,
    client_id           TEXT   NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE connection_checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   BIGINT  NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    checked_at  BIGINT  NOT NULL,
    ok          BIGINT  NOT NULL,
    report      TEXT    NOT NULL
);
CREATE INDEX connection_checks_by_tenant ON connection_checks (tenant_id, id);
