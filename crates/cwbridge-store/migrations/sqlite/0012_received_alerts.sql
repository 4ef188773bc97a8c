-- An accepted alert is first stored 'received': appended to the table and to the index
-- below, both growing at their end, so the commit synced before the 202 touches the same
-- few pages however many alerts are queued. A promoter then moves received alerts into
-- their lanes ('queued') in large batches, whose scattered index pages are shared by many
-- alerts and need no sync of their own.
CREATE INDEX alerts_received ON alerts (id) WHERE state = 'received';
-- A tenant's alerts by id leave the received ones out (they are read from the index above),
-- so receiving touches no page chosen by tenant.
DROP INDEX alerts_by_tenant;
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, id) WHERE state <> 'received';
