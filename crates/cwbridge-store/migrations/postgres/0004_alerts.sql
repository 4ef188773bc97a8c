-- Tickets & alerts (seed 004's step 4): ticket defaults, which alert types each account
-- forwards, per-type policies, the alerts themselves (stored before they are acknowledged,
-- then delivered by a worker), and which ticket each alert key has.
CREATE TABLE ticket_settings (
    tenant_id      BIGINT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    board_id       BIGINT NOT NULL,
    board_name     TEXT   NOT NULL,
    status_id      BIGINT NOT NULL,
    status_name    TEXT   NOT NULL,
    priority_id    BIGINT NOT NULL,
    priority_name  TEXT   NOT NULL,
    type_id        BIGINT,
    type_name      TEXT,
    signature      TEXT   NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE alert_routes (
    tenant_id    BIGINT NOT NULL,
    external_id  TEXT   NOT NULL,
    alert_types  TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, external_id) REFERENCES accounts (tenant_id, external_id) ON DELETE CASCADE
);

CREATE TABLE alert_policies (
    tenant_id          BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alert_type         TEXT   NOT NULL,
    note_on_resolve    BIGINT NOT NULL,
    recur_after_close  TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, alert_type)
);

CREATE TABLE alerts (
    id               BIGSERIAL PRIMARY KEY,
    tenant_id        BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    external_id      TEXT   NOT NULL,
    alert_type       TEXT   NOT NULL,
    alert_key        TEXT   NOT NULL,
    summary          TEXT   NOT NULL,
    description      TEXT   NOT NULL,
    resolved         BIGINT NOT NULL,
    state            TEXT   NOT NULL,
    ticket_id        BIGINT,
    action           TEXT,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    claimed_until    BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX alerts_due ON alerts (state, next_attempt_at);
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, id);

CREATE TABLE alert_tickets (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alert_key   TEXT   NOT NULL,
    generation  BIGINT NOT NULL,
    ticket_id   BIGINT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, alert_key)
);
