-- One lane per alert key with queued alerts. Only a lane's oldest queued alert is due; the
-- others wait with next_attempt_at at the far future until it is finished, when the next is
-- made due. A claim is then one index range read per tenant — no look-ups by key — and
-- costs the same however long the queue is. A claimed alert's next_attempt_at is its lease's
-- end, so an alert whose worker died comes due again by itself.
CREATE TABLE alert_lanes (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alert_key  TEXT   NOT NULL,
    queued     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, alert_key)
);
INSERT INTO alert_lanes (tenant_id, alert_key, queued)
    SELECT tenant_id, alert_key, COUNT(*) FROM alerts WHERE state = 'queued'
    GROUP BY tenant_id, alert_key;
UPDATE alerts SET next_attempt_at = 9223372036854775807
    WHERE state = 'queued' AND id > (
        SELECT MIN(b.id) FROM alerts b
        WHERE b.tenant_id = alerts.tenant_id AND b.alert_key = alerts.alert_key AND b.state = 'queued');
UPDATE alerts SET next_attempt_at = claimed_until
    WHERE state = 'queued' AND claimed_until IS NOT NULL AND claimed_until > next_attempt_at
      AND next_attempt_at < 9223372036854775807;
-- The lease is next_attempt_at now; the separate lease column goes.
ALTER TABLE alerts DROP COLUMN claimed_until;
DROP INDEX alerts_due;
CREATE INDEX alerts_due ON alerts (tenant_id, next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX alerts_lane ON alerts (tenant_id, alert_key, id) WHERE state = 'queued';
-- Alerts claimed and not yet finished, counted per tenant against its in-flight limit.
CREATE INDEX alerts_in_flight ON alerts (tenant_id, next_attempt_at) WHERE state = 'queued' AND claimed_by IS NOT NULL;

-- The vendor's Idempotency-Key of an alert: a resend with the same key finds this alert
-- instead of storing another, for as long as the alert is kept.
ALTER TABLE alerts ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX alerts_idempotency ON alerts (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
