-- A lane is found, counted and removed by its key: kept in the key's own b-tree (no rowid
-- table beside an index of the key), so moving an alert into its lane and finishing one
-- each touch one scattered page of lanes instead of two.
CREATE TABLE alert_lanes_by_key (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alert_key  TEXT   NOT NULL,
    queued     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, alert_key)
) WITHOUT ROWID;
INSERT INTO alert_lanes_by_key (tenant_id, alert_key, queued)
    SELECT tenant_id, alert_key, queued FROM alert_lanes;
DROP TABLE alert_lanes;
ALTER TABLE alert_lanes_by_key RENAME TO alert_lanes;
