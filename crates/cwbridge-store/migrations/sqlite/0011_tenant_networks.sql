-- Networks beyond public addresses that one tenant's ConnectWise may be in (its on-premise
-- server over a private link), set by the operator for that tenant alone: a JSON array of
-- CIDRs, or NULL for none.
ALTER TABLE tenants ADD COLUMN allowed_networks TEXT;
