-- Which worker holds an alert (finishing it needs the claim), and which alert made a key's
-- ticket (so that alert, retried after a crash, is not delivered again as a note).
ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
ALTER TABLE alert_tickets ADD COLUMN created_by BIGINT;
