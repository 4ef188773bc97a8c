-- Undoing a billing run: a run may undo another (`undoes`); each change it records keeps
-- what it did to the addition (`effect`: JSON with the addition's state before and after),
-- and a change made by an undo names the change it reverts (`reverts`).
ALTER TABLE billing_runs ADD COLUMN undoes BIGINT;
ALTER TABLE billing_changes ADD COLUMN effect TEXT;
ALTER TABLE billing_changes ADD COLUMN reverts BIGINT;
