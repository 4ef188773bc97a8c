-- ConnectWise's ticket changes sent back to the vendor, opted into per tenant by the
-- operator: how the bridge hears of them (a ConnectWise callback, or polling), where the
-- vendor's webhooks go (NULL: the service-wide URL and secret).
CREATE TABLE ticket_events (
    tenant_id      BIGINT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    receive        TEXT   NOT NULL,
    webhook_url    TEXT,
    -- Sealed with the keyring, bound to the tenant.
    webhook_secret TEXT,
    -- SHA-256 (hex) of the key in the callback's URL, which names the tenant.
    callback_key   TEXT,
    -- The callback's id in the tenant's ConnectWise.
    callback_id    BIGINT,
    -- Polling: ConnectWise's lastUpdated (Unix ms) read up to.
    polled_to      BIGINT,
    enabled_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX ticket_events_by_key ON ticket_events (callback_key);

-- The tickets the bridge made, as last seen: closed or not, the newest note seen. A change
-- is recorded once: the row's version is compared and bumped in the transaction that
-- queues its webhooks.
CREATE TABLE watched_tickets (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ticket_id    BIGINT NOT NULL,
    closed       BIGINT NOT NULL,
    last_note_id BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id)
);

-- Webhooks to the vendor, each sent until delivered or given up: one per change
-- (event_id is unique per tenant).
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id        TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    state           TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT
);
CREATE UNIQUE INDEX webhooks_once ON webhooks (tenant_id, event_id);
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE state = 'queued';
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);
