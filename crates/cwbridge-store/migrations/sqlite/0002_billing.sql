-- The vendor's accounts (seed 004's domain groups) and their billable units (sending
-- domains), billing settings, the account → company mapping, the agreement additions the
-- bridge owns, and the audit of billing runs.
CREATE TABLE accounts (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    external_id  TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, external_id)
);

CREATE TABLE units (
    tenant_id    BIGINT NOT NULL,
    external_id  TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, external_id, name),
    FOREIGN KEY (tenant_id, external_id) REFERENCES accounts (tenant_id, external_id) ON DELETE CASCADE
);

CREATE TABLE billing_settings (
    tenant_id           BIGINT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    product_id          BIGINT NOT NULL,
    product_identifier  TEXT   NOT NULL,
    product_description TEXT   NOT NULL,
    unit_price          DOUBLE PRECISION NOT NULL,
    agreement_type_id   BIGINT NOT NULL,
    agreement_type_name TEXT   NOT NULL,
    mode                TEXT   NOT NULL,
    drift_policy        TEXT   NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE mappings (
    tenant_id     BIGINT NOT NULL,
    external_id   TEXT   NOT NULL,
    company_id    BIGINT NOT NULL,
    company_name  TEXT   NOT NULL,
    agreement_id  BIGINT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, external_id) REFERENCES accounts (tenant_id, external_id) ON DELETE CASCADE
);

CREATE TABLE billing_lines (
    tenant_id      BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    line_key       TEXT   NOT NULL,
    addition_id    BIGINT NOT NULL,
    agreement_id   BIGINT NOT NULL,
    company_id     BIGINT NOT NULL,
    quantity       DOUBLE PRECISION NOT NULL,
    description    TEXT   NOT NULL,
    bill_customer  TEXT   NOT NULL,
    cancelled      BIGINT NOT NULL,
    -- A hand edit the tenant chose to keep: the wanted state it stands in for.
    pinned         TEXT,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, line_key)
);

CREATE TABLE billing_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    status       TEXT   NOT NULL,
    summary      TEXT   NOT NULL
);
CREATE INDEX billing_runs_by_tenant ON billing_runs (tenant_id, id);
-- One running run per tenant, across every cwbridge instance sharing the database.
CREATE UNIQUE INDEX billing_runs_one_running ON billing_runs (tenant_id) WHERE status = 'running';

CREATE TABLE billing_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      BIGINT NOT NULL REFERENCES billing_runs (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    detail      TEXT   NOT NULL
);
CREATE INDEX billing_changes_by_run ON billing_changes (run_id, id);
